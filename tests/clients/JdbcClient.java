// pgjdbc against duckstore: connection, DatabaseMetaData, prepared statements past the
// server-prepare threshold, fetch-size paging, isValid. Run by tests/it/clients.rs with
// DS_HOST, DS_PORT, DS_USER, DS_PASSWORD; bucket "in.c-sales" with table "orders" exists.
import java.sql.*;
import java.util.*;

public class JdbcClient {
    static void check(boolean ok, String what) {
        if (!ok) { System.err.println("FAILED: " + what); System.exit(1); }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + System.getenv("DS_HOST") + ":" + System.getenv("DS_PORT") + "/main";
        try (Connection c = DriverManager.getConnection(url, System.getenv("DS_USER"), System.getenv("DS_PASSWORD"))) {
            DatabaseMetaData md = c.getMetaData();
            check(md.getDatabaseMajorVersion() == 15, "major version " + md.getDatabaseMajorVersion());

            List<String> schemas = new ArrayList<>();
            try (ResultSet rs = md.getSchemas()) { while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM")); }
            check(schemas.contains("in.c-sales"), "schemas " + schemas);

            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "in.c-sales", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            check(tables.equals(List.of("orders")), "tables " + tables);

            List<String> columns = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "in.c-sales", "orders", "%")) {
                while (rs.next()) columns.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
            }
            check(columns.equals(List.of("id:int4", "name:text", "amount:numeric", "day:date")), "columns " + columns);

            List<String> keys = new ArrayList<>();
            try (ResultSet rs = md.getPrimaryKeys(null, "in.c-sales", "orders")) {
                while (rs.next()) keys.add(rs.getString("COLUMN_NAME"));
            }
            check(keys.equals(List.of("id")), "primary key " + keys);

            try (ResultSet rs = md.getIndexInfo(null, "in.c-sales", "orders", false, false)) {
                check(rs.next() && "orders_pkey".equals(rs.getString("INDEX_NAME")), "index info");
            }

            // seven executions: the last ones run as a named server-side statement with binary results
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, name, amount FROM \"in.c-sales\".\"orders\" WHERE id >= ? ORDER BY id")) {
                for (int i = 0; i < 7; i++) {
                    ps.setInt(1, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == 2 && "b".equals(rs.getString(2)), "prepared row");
                        check(rs.getBigDecimal(3).compareTo(new java.math.BigDecimal("2.50")) == 0, "numeric");
                    }
                }
            }

            // paging with a fetch size inside a transaction (portal suspension)
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.setFetchSize(100);
                int n = 0;
                try (ResultSet rs = st.executeQuery("SELECT i FROM range(1000) t(i)")) { while (rs.next()) n++; }
                check(n == 1000, "paged rows " + n);
            }
            c.commit();
            c.setAutoCommit(true);

            check(c.isValid(2), "isValid");
            try (Statement st = c.createStatement()) {
                st.executeQuery("SELECT * FROM \"in.c-sales\".\"nope\"");
                check(false, "missing table accepted");
            } catch (SQLException e) {
                check("42P01".equals(e.getSQLState()), "SQLSTATE " + e.getSQLState());
            }
        }
        System.out.println("jdbc ok");
    }
}
