<%@ page contentType="application/json; charset=UTF-8" session="false" import="java.sql.*" %><%--
  Health page of the QueueMetrics stand-in, shaped like QueueMetrics' own sysup.jsp:
  "state":"QMUP" (HTTP 200) when the database answers a query, "DBDOWN" (HTTP 503) when not.
--%><%
    String state = "QMUP";
    String dbHost = "";
    String error = "";
    Connection connection = null;
    try {
        String url = application.getInitParameter("JDBC_URL");
        if (url.startsWith("jdbc:mariadb:")) {
            Class.forName("org.mariadb.jdbc.Driver");
        } else if (url.startsWith("jdbc:mysql:")) {
            try { Class.forName("com.mysql.cj.jdbc.Driver"); } catch (ClassNotFoundException e) { Class.forName("com.mysql.jdbc.Driver"); }
        }
        connection = DriverManager.getConnection(url);
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
    String node = java.net.InetAddress.getLocalHost().getHostName();
    error = error.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ").replace("\r", " ");
    out.print("{\"state\":\"" + state + "\",\"app\":\"" + node + "\",\"db\":\"" + dbHost
              + "\",\"error\":\"" + error + "\"}\n");
%>