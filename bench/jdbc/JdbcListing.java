// 50 (args[3]) concurrent sessions, each as a BI tool's navigator starts: connect with pgjdbc,
// list the tables (DatabaseMetaData.getTables), disconnect. Prints one line per session: the
// microseconds from connect to the last table listed. Run by bench/main.rs
// (`jdbc`), against duckstore and PostgreSQL 15 in the same run.
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;

public class JdbcListing {
    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2];
        int sessions = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        for (int round = 0; round < rounds; round++) {
            List<Future<Long>> runs = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                runs.add(pool.submit(() -> {
                    long started = System.nanoTime();
                    int tables = 0;
                    try (Connection c = DriverManager.getConnection(url, user, password)) {
                        try (ResultSet rs = c.getMetaData().getTables(null, null, "%", new String[] {"TABLE"})) {
                            while (rs.next()) {
                                tables++;
                            }
                        }
                    }
                    if (tables == 0) {
                        throw new IllegalStateException("no tables listed");
                    }
                    return (System.nanoTime() - started) / 1000;
                }));
            }
            for (Future<Long> run : runs) {
                System.out.println(run.get());
            }
        }
        pool.shutdown();
    }
}
