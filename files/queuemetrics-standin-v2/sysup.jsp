<%@ page contentType="application/json; charset=UTF-8" session="false" import="java.sql.*" %><%!
    // the schema change of "version 2", made once per webapp start, before the first QMUP
    private static final Object SCHEMA = new Object();
    private static boolean schemaChecked = false;

    private static void upgradeSchema(Connection connection, String node) throws SQLException {
        synchronized (SCHEMA) {
            if (schemaChecked) {
                return;
            }
            Statement statement = connection.createStatement();
            statement.execute("CREATE TABLE IF NOT EXISTS qmha_probe ("
                    + " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                    + " token VARCHAR(200) NOT NULL,"
                    + " app VARCHAR(100) NOT NULL,"
                    + " created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
                    + " KEY token_idx (token))");
            ResultSet rs = statement.executeQuery("SELECT COUNT(*) FROM information_schema.COLUMNS"
                    + " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'qmha_probe' AND COLUMN_NAME = 'v2_note'");
            rs.next();
            boolean present = rs.getLong(1) > 0;
            rs.close();
            if (!present) {
                statement.execute("CREATE TABLE IF NOT EXISTS qmha_schema_log ("
                        + " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                        + " node VARCHAR(100) NOT NULL,"
                        + " version INT NOT NULL,"
                        + " ran TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
                statement.execute("ALTER TABLE qmha_probe ADD COLUMN v2_note VARCHAR(100) NULL");
                PreparedStatement log = connection.prepareStatement(
                        "INSERT INTO qmha_schema_log (node, version) VALUES (?, 2)");
                log.setString(1, node);
                log.executeUpdate();
                log.close();
            }
            statement.close();
            schemaChecked = true;
        }
    }
%><%--
  Health page of the stand-in's "version 2": as version 1's, and on the first request after a start
  it adds the column qmha_probe.v2_note when the table lacks it (as QueueMetrics updates its schema
  when a new version first starts), recording in qmha_schema_log which node ran the change.
--%><%
    String state = "QMUP";
    String dbHost = "";
    String error = "";
    String node = java.net.InetAddress.getLocalHost().getHostName();
    Connection connection = null;
    try {
        String url = application.getInitParameter("JDBC_URL");
        if (url.startsWith("jdbc:mariadb:")) {
            Class.forName("org.mariadb.jdbc.Driver");
        } else if (url.startsWith("jdbc:mysql:")) {
            try { Class.forName("com.mysql.cj.jdbc.Driver"); } catch (ClassNotFoundException e) { Class.forName("com.mysql.jdbc.Driver"); }
        }
        connection = DriverManager.getConnection(url);
        upgradeSchema(connection, node);
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT @@hostname");
        rs.next();
        dbHost = rs.getString(1);
        rs.close();
        statement.close();
    } catch (Exception e) {
        state = "DBDOWN";
        error = String.valueOf(e.getMessage());
    } finally {
        if (connection != null) { try { connection.close(); } catch (SQLException ignored) { } }
    }
    if (!"QMUP".equals(state)) {
        response.setStatus(503);
    }
    error = error.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ").replace("\r", " ");
    out.print("{\"state\":\"" + state + "\",\"app\":\"" + node + "\",\"db\":\"" + dbHost
              + "\",\"version\":\"2\",\"error\":\"" + error + "\"}\n");
%>
