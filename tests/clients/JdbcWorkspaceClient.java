// pgjdbc in a workspace session: the connection's own SET statements, executeUpdate counts,
// autocommit off with commit and rollback. Run by tests/it/workspaces.rs with DS_URL, DS_USER,
// DS_PASSWORD.
import java.sql.*;

public class JdbcWorkspaceClient {
    static void check(boolean ok, String what) {
        if (!ok) { System.err.println("FAILED: " + what); System.exit(1); }
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(System.getenv("DS_URL"), System.getenv("DS_USER"), System.getenv("DS_PASSWORD"))) {
            DatabaseMetaData md = c.getMetaData();
            check(md.getDatabaseMajorVersion() == 15, "major version " + md.getDatabaseMajorVersion());
            try (Statement s = c.createStatement()) {
                check(s.executeUpdate("CREATE TABLE t (id INTEGER, name VARCHAR)") == 0, "create");
                check(s.executeUpdate("INSERT INTO t VALUES (1, 'a'), (2, 'b')") == 2, "insert count");
                check(s.executeUpdate("UPDATE t SET name = 'c' WHERE id = 2") == 1, "update count");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
                for (int i = 3; i < 10; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "x");
                    check(ps.executeUpdate() == 1, "prepared insert " + i);
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM t WHERE id > 2");
                c.rollback();
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                    check(rs.next() && rs.getLong(1) == 9, "rolled back");
                }
                s.executeUpdate("DELETE FROM t WHERE id > 2");
                c.commit();
                try (ResultSet rs = s.executeQuery("SELECT name FROM t ORDER BY id")) {
                    check(rs.next() && rs.getString(1).equals("a") && rs.next() && rs.getString(1).equals("c") && !rs.next(), "committed");
                }
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW extra_float_digits")) {
                check(rs.next() && rs.getString(1).equals("3"), "extra_float_digits");
            }
        }
        System.out.println("pgjdbc workspace ok");
    }
}
