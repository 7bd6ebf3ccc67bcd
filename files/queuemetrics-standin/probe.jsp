<%@ page contentType="text/plain; charset=UTF-8" session="false" import="java.sql.*" %><%--
  Probe of the QueueMetrics stand-in (mapped to /probe in WEB-INF/web.xml).
    GET  /probe            app=<node that served>, db=<@@hostname of the database>, tls=<the database
                           connection's cipher, or none>, rows=<probe rows>
    GET  /probe?token=T    the same, plus token=T and found=<rows with that token>
    POST /probe?token=T    inserts a row with token T; answers app=, db=, id=<new row id>
  The probe table is created on first use.
--%><%
    String node = java.net.InetAddress.getLocalHost().getHostName();
    String token = request.getParameter("token");
    boolean write = "POST".equals(request.getMethod());
    Connection connection = null;
    try {
        if (write && (token == null || token.length() == 0 || token.length() > 200)) {
            response.setStatus(400);
            out.print("error=POST needs ?token=<1 to 200 characters>\n");
            return;
        }
        String url = application.getInitParameter("JDBC_URL");
        if (url.startsWith("jdbc:mariadb:")) {
            Class.forName("org.mariadb.jdbc.Driver");
        } else if (url.startsWith("jdbc:mysql:")) {
            try { Class.forName("com.mysql.cj.jdbc.Driver"); } catch (ClassNotFoundException e) { Class.forName("com.mysql.jdbc.Driver"); }
        }
        connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        statement.execute("CREATE TABLE IF NOT EXISTS qmha_probe ("
                + " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                + " token VARCHAR(200) NOT NULL,"
                + " app VARCHAR(100) NOT NULL,"
                + " created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
                + " KEY token_idx (token))");
        ResultSet rs = statement.executeQuery("SELECT @@hostname");
        rs.next();
        String dbHost = rs.getString(1);
        rs.close();
        out.print("app=" + node + "\n");
        out.print("db=" + dbHost + "\n");
        rs = statement.executeQuery("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        out.print("tls=" + (rs.next() && rs.getString(2).length() > 0 ? rs.getString(2) : "none") + "\n");
        rs.close();
        if (write) {
            PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO qmha_probe (token, app) VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS);
            insert.setString(1, token);
            insert.setString(2, node);
            insert.executeUpdate();
            ResultSet keys = insert.getGeneratedKeys();
            keys.next();
            out.print("id=" + keys.getLong(1) + "\n");
            keys.close();
            insert.close();
        } else {
            rs = statement.executeQuery("SELECT COUNT(*) FROM qmha_probe");
            rs.next();
            out.print("rows=" + rs.getLong(1) + "\n");
            rs.close();
            if (token != null) {
                PreparedStatement find = connection.prepareStatement("SELECT COUNT(*) FROM qmha_probe WHERE token = ?");
                find.setString(1, token);
                rs = find.executeQuery();
                rs.next();
                out.print("token=" + token + "\n");
                out.print("found=" + rs.getLong(1) + "\n");
                rs.close();
                find.close();
            }
        }
        statement.close();
    } catch (Exception e) {
        response.setStatus(503);
        out.print("app=" + node + "\n");
        out.print("error=" + String.valueOf(e.getMessage()).replace('\n', ' ') + "\n");
    } finally {
        if (connection != null) { try { connection.close(); } catch (SQLException ignored) { } }
    }
%>