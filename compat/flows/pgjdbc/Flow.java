// pgjdbc (Debian's /usr/share/java/postgresql.jar) as DBeaver, DataGrip and JDBC applications use
// it: connect, browse with DatabaseMetaData, read ResultSetMetaData, bind parameters of every
// common type, stream with setFetchSize, and run transactions. One JSON line per step on stdout
// (see compat/README.md); compat/flows/pgjdbc.sh compiles and runs this file.
//
// Values are what a JDBC user gets (getObject's class and text, metadata columns as the driver
// returns them). Normalised, because it necessarily differs between servers, and nothing else:
// - the server version: only the major version is reported (minor versions and build strings
//   differ between any two installations);
// - the connected database's name -> "<database>" and the connected user's name -> "<user>"
//   (each target is reached under its own names);
// - getFunctions' SPECIFIC_NAME (it embeds the function's OID) and getIndexInfo's CARDINALITY and
//   PAGES (statistics) are left out;
// - getTypeInfo's rows are sorted by name (the driver does not order them, so PostgreSQL returns
//   them in catalog order).
// The JVM runs in UTC (the wrapper passes -Duser.timezone=UTC) so Timestamp.toString is the same
// whatever the runner's zone; pgjdbc then sets the session TimeZone to UTC on every target.

import java.math.BigDecimal;
import java.sql.*;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.*;

public class Flow {
    static final String TARGET = env("COMPAT_TARGET", "postgres");
    static final String SCHEMA = env("COMPAT_SCHEMA", "in.c-compat");
    static final String DB = env("PGDATABASE", "postgres");
    static final String USER = env("PGUSER", "postgres");
    static final String QS = "\"" + SCHEMA.replace("\"", "\"\"") + "\"";
    static final String WRITE_TABLE = QS + ".jdbc_" + TARGET;

    static Connection shared;

    static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    static String url() {
        return "jdbc:postgresql://" + env("PGHOST", "127.0.0.1") + ":" + env("PGPORT", "5432") + "/" + DB
            + "?sslmode=disable&connectTimeout=10&socketTimeout=60&ApplicationName=compat-pgjdbc";
    }

    static Connection open() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", env("PGPASSWORD", ""));
        return DriverManager.getConnection(url(), p);
    }

    static Connection conn() throws SQLException {
        if (shared == null) shared = open();
        return shared;
    }

    // After a failed step the next one starts on a fresh connection, so that a step left half
    // done (an open or aborted transaction, autocommit off, a broken connection) decides nothing
    // about the steps after it.
    static void dropShared() {
        if (shared != null) {
            try { shared.close(); } catch (Throwable t) { /* already broken */ }
            shared = null;
        }
    }

    interface Body { Object run() throws Exception; }

    static void step(String name, Body body) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", name);
        try {
            Object value = body.run();
            rec.put("ok", true);
            rec.put("value", value);
        } catch (Throwable t) {
            rec.put("ok", false);
            rec.put("error", describe(t));
            dropShared();
        }
        System.out.println(Json.write(rec));
        System.out.flush();
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        String msg = t.getMessage();
        sb.append(msg == null ? t.getClass().getName() : msg);
        if (t instanceof SQLException) {
            String state = ((SQLException) t).getSQLState();
            if (state != null) sb.append(" (").append(state).append(")");
        } else {
            sb.insert(0, t.getClass().getSimpleName() + ": ");
        }
        return sb.toString();
    }

    // ---- value helpers ----------------------------------------------------------------------

    static String db(String s) { return DB.equals(s) ? "<database>" : s; }

    /** The metadata columns named, one map per row, in the order the driver returns them. */
    static List<Object> rows(ResultSet rs, String... cols) throws SQLException {
        List<Object> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (String c : cols) {
                    Object v = rs.getObject(c);
                    if (c.endsWith("_CAT") || c.equals("TABLE_CATALOG")) v = v == null ? null : db(v.toString());
                    row.put(c, plain(v));
                }
                out.add(row);
            }
        }
        return out;
    }

    static Object plain(Object v) {
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Integer
            || v instanceof Long || v instanceof Short) return v;
        if (v instanceof Number) return v.toString();
        return typed(v);
    }

    /** A value as the JDBC user sees it: getObject's class and its text. */
    static Object typed(Object v) {
        if (v == null) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class", v.getClass().getName());
        if (v instanceof byte[]) {
            StringBuilder sb = new StringBuilder("\\x");
            for (byte b : (byte[]) v) sb.append(String.format("%02x", b));
            m.put("value", sb.toString());
        } else if (v instanceof Array) {
            try {
                Object arr = ((Array) v).getArray();
                List<Object> items = new ArrayList<>();
                for (Object o : (Object[]) arr) items.add(typed(o));
                m.put("value", items);
            } catch (SQLException e) {
                m.put("value", "getArray failed: " + describe(e));
            }
        } else {
            m.put("value", v.toString());
        }
        return m;
    }

    static List<Object> readAll(ResultSet rs) throws SQLException {
        List<Object> out = new ArrayList<>();
        try (rs) {
            ResultSetMetaData md = rs.getMetaData();
            int n = md.getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) row.add(typed(rs.getObject(i)));
                out.add(row);
            }
        }
        return out;
    }

    static Object single(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            ResultSetMetaData md = rs.getMetaData();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("columnTypeName", md.getColumnTypeName(1));
            m.put("columnType", md.getColumnType(1));
            List<Object> vals = new ArrayList<>();
            while (rs.next()) vals.add(typed(rs.getObject(1)));
            m.put("rows", vals);
            return m;
        }
    }

    interface Binder { void bind(PreparedStatement ps) throws SQLException; }

    static void param(String name, String sql, Binder binder) {
        step(name, () -> {
            try (PreparedStatement ps = conn().prepareStatement(sql)) {
                binder.bind(ps);
                return single(ps);
            }
        });
    }

    static void where(String name, String sql, Binder binder) {
        step(name, () -> {
            try (PreparedStatement ps = conn().prepareStatement(sql)) {
                binder.bind(ps);
                return readAll(ps.executeQuery());
            }
        });
    }

    static Object update(String sql) throws SQLException {
        try (Statement st = conn().createStatement()) {
            return st.executeUpdate(sql);
        }
    }

    // ---- the flow ---------------------------------------------------------------------------

    public static void main(String[] args) {
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));

        step("connect", () -> {
            Connection c = conn();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("valid", c.isValid(10));
            m.put("autoCommit", c.getAutoCommit());
            m.put("catalog", db(c.getCatalog()));
            m.put("schema", c.getSchema());
            m.put("transactionIsolation", c.getTransactionIsolation());
            return m;
        });

        metadata();
        resultSetMetadata();
        parameters();
        fetchSize();
        transactions();
        writes();
        errors();

        dropShared();
        System.exit(0);
    }

    static void metadata() {
        step("meta.product", () -> {
            DatabaseMetaData md = conn().getMetaData();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("productName", md.getDatabaseProductName());
            String v = md.getDatabaseProductVersion();
            m.put("productVersionMajor", v == null ? null : v.split("[.\\s]")[0]);
            m.put("majorVersion", md.getDatabaseMajorVersion());
            m.put("userName", USER.equals(md.getUserName()) ? "<user>" : md.getUserName());
            m.put("identifierQuoteString", md.getIdentifierQuoteString());
            return m;
        });
        step("meta.sql_keywords", () -> Arrays.asList(conn().getMetaData().getSQLKeywords().split(",")));
        step("meta.max_name_length", () -> {
            DatabaseMetaData md = conn().getMetaData();
            return Arrays.asList(md.getMaxColumnNameLength(), md.getMaxTableNameLength(), md.getMaxSchemaNameLength());
        });
        step("meta.catalogs", () -> rows(conn().getMetaData().getCatalogs(), "TABLE_CAT"));
        step("meta.schemas", () -> rows(conn().getMetaData().getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
        step("meta.schemas_pattern", () -> rows(conn().getMetaData().getSchemas(null, "in.c%"), "TABLE_SCHEM", "TABLE_CATALOG"));
        step("meta.table_types", () -> rows(conn().getMetaData().getTableTypes(), "TABLE_TYPE"));

        String[] tableCols = {"TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS"};
        step("meta.tables.all_types", () -> rows(conn().getMetaData().getTables(null, SCHEMA, "%", null), tableCols));
        for (String type : new String[] {"TABLE", "VIEW", "INDEX", "SEQUENCE", "MATERIALIZED VIEW", "FOREIGN TABLE",
                                         "PARTITIONED TABLE", "TYPE"}) {
            step("meta.tables." + type.toLowerCase().replace(' ', '_'),
                () -> rows(conn().getMetaData().getTables(null, SCHEMA, "%", new String[] {type}), tableCols));
        }
        // System objects: what a browser shows under pg_catalog / information_schema.
        for (String[] sys : new String[][] {{"SYSTEM TABLE", "pg_catalog"}, {"SYSTEM VIEW", "pg_catalog"},
                                            {"SYSTEM VIEW", "information_schema"}, {"SYSTEM TABLE", "information_schema"}}) {
            step("meta.tables." + sys[0].toLowerCase().replace(' ', '_') + "." + sys[1], () -> {
                List<Object> names = new ArrayList<>();
                try (ResultSet rs = conn().getMetaData().getTables(null, sys[1], "%", new String[] {sys[0]})) {
                    while (rs.next()) names.add(rs.getString("TABLE_NAME"));
                }
                return names;
            });
        }

        String[] columnCols = {"TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
            "DECIMAL_DIGITS", "NUM_PREC_RADIX", "NULLABLE", "IS_NULLABLE", "COLUMN_DEF", "ORDINAL_POSITION",
            "IS_AUTOINCREMENT", "IS_GENERATEDCOLUMN", "REMARKS"};
        for (String t : new String[] {"orders", "customers", "big_orders"}) {
            step("meta.columns." + t, () -> rows(conn().getMetaData().getColumns(null, SCHEMA, t, "%"), columnCols));
        }
        step("meta.columns.pattern", () -> rows(conn().getMetaData().getColumns(null, SCHEMA, "%", "%i%"),
            "TABLE_NAME", "COLUMN_NAME", "TYPE_NAME"));

        for (String t : new String[] {"orders", "customers", "events"}) {
            step("meta.primary_keys." + t, () -> rows(conn().getMetaData().getPrimaryKeys(null, SCHEMA, t),
                "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
        }
        String[] keyCols = {"PKTABLE_SCHEM", "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_SCHEM", "FKTABLE_NAME",
            "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY"};
        step("meta.imported_keys.orders", () -> rows(conn().getMetaData().getImportedKeys(null, SCHEMA, "orders"), keyCols));
        step("meta.exported_keys.customers", () -> rows(conn().getMetaData().getExportedKeys(null, SCHEMA, "customers"), keyCols));
        for (String t : new String[] {"orders", "customers"}) {
            step("meta.index_info." + t, () -> rows(conn().getMetaData().getIndexInfo(null, SCHEMA, t, false, true),
                "TABLE_SCHEM", "TABLE_NAME", "NON_UNIQUE", "INDEX_QUALIFIER", "INDEX_NAME", "TYPE",
                "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC", "FILTER_CONDITION"));
        }
        step("meta.functions.schema", () -> rows(conn().getMetaData().getFunctions(null, SCHEMA, "%"),
            "FUNCTION_SCHEM", "FUNCTION_NAME", "FUNCTION_TYPE", "REMARKS"));
        step("meta.functions.pg_catalog_lower", () -> rows(conn().getMetaData().getFunctions(null, "pg_catalog", "lower"),
            "FUNCTION_SCHEM", "FUNCTION_NAME", "FUNCTION_TYPE"));
        step("meta.function_columns.pg_catalog_upper", () -> rows(
            conn().getMetaData().getFunctionColumns(null, "pg_catalog", "upper", "%"),
            "FUNCTION_NAME", "COLUMN_NAME", "COLUMN_TYPE", "DATA_TYPE", "TYPE_NAME"));
        step("meta.procedures.schema", () -> rows(conn().getMetaData().getProcedures(null, SCHEMA, "%"),
            "PROCEDURE_SCHEM", "PROCEDURE_NAME", "PROCEDURE_TYPE", "REMARKS"));
        step("meta.type_info", () -> {
            List<Object> list = rows(conn().getMetaData().getTypeInfo(), "TYPE_NAME", "DATA_TYPE", "PRECISION");
            list.sort(Comparator.comparing(o -> String.valueOf(((Map<?, ?>) o).get("TYPE_NAME"))));
            return list;
        });
        step("meta.udts", () -> rows(conn().getMetaData().getUDTs(null, SCHEMA, "%", null),
            "TYPE_SCHEM", "TYPE_NAME", "CLASS_NAME", "DATA_TYPE"));
    }

    static void resultSetMetadata() {
        String[] queries = {
            "SELECT * FROM " + QS + ".orders ORDER BY id",
            "SELECT o.id, c.name, o.amount * 2 AS doubled, o.ordered_at FROM " + QS + ".orders o JOIN "
                + QS + ".customers c ON c.id = o.customer_id ORDER BY o.id",
            "SELECT * FROM " + QS + ".customers ORDER BY id",
        };
        String[] names = {"rsmd.orders", "rsmd.join_expression", "rsmd.customers"};
        for (int q = 0; q < queries.length; q++) {
            String sql = queries[q];
            step(names[q], () -> {
                try (Statement st = conn().createStatement(); ResultSet rs = st.executeQuery(sql)) {
                    ResultSetMetaData md = rs.getMetaData();
                    List<Object> cols = new ArrayList<>();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("label", md.getColumnLabel(i));
                        m.put("name", md.getColumnName(i));
                        m.put("typeName", md.getColumnTypeName(i));
                        m.put("type", md.getColumnType(i));
                        m.put("className", md.getColumnClassName(i));
                        m.put("precision", md.getPrecision(i));
                        m.put("scale", md.getScale(i));
                        m.put("displaySize", md.getColumnDisplaySize(i));
                        m.put("tableName", md.getTableName(i));
                        m.put("schemaName", md.getSchemaName(i));
                        m.put("nullable", md.isNullable(i));
                        m.put("autoIncrement", md.isAutoIncrement(i));
                        m.put("signed", md.isSigned(i));
                        cols.add(m);
                    }
                    Map<String, Object> out = new LinkedHashMap<>();
                    out.put("columns", cols);
                    out.put("rows", readAll(rs));
                    return out;
                }
            });
        }
    }

    static void parameters() {
        param("param.setInt", "SELECT ?::int4 AS v", ps -> ps.setInt(1, -2147483648));
        param("param.setLong", "SELECT ?::int8 AS v", ps -> ps.setLong(1, 9007199254740993L));
        param("param.setShort", "SELECT ?::int2 AS v", ps -> ps.setShort(1, (short) -32768));
        param("param.setString", "SELECT ?::text AS v", ps -> ps.setString(1, "héllo 'x' \\ \"y\""));
        param("param.setString_varchar", "SELECT ?::varchar(20) AS v", ps -> ps.setString(1, "abc"));
        param("param.setBigDecimal", "SELECT ?::numeric AS v", ps -> ps.setBigDecimal(1, new BigDecimal("-12345678901234.5678")));
        param("param.setBigDecimal_typmod", "SELECT ?::numeric(12,2) AS v", ps -> ps.setBigDecimal(1, new BigDecimal("1.005")));
        param("param.setDouble", "SELECT ?::float8 AS v", ps -> ps.setDouble(1, 0.1));
        param("param.setFloat", "SELECT ?::float4 AS v", ps -> ps.setFloat(1, 1.25f));
        param("param.setBoolean", "SELECT ?::bool AS v", ps -> ps.setBoolean(1, true));
        param("param.setDate", "SELECT ?::date AS v", ps -> ps.setDate(1, java.sql.Date.valueOf("2024-02-29")));
        param("param.setTimestamp", "SELECT ?::timestamp AS v",
            ps -> ps.setTimestamp(1, Timestamp.valueOf("2024-01-02 03:04:05.123456")));
        param("param.setTimestamp_tz", "SELECT ?::timestamptz AS v",
            ps -> ps.setTimestamp(1, Timestamp.valueOf("2024-01-02 03:04:05")));
        param("param.setNull_int", "SELECT ?::int4 AS v", ps -> ps.setNull(1, Types.INTEGER));
        param("param.setNull_varchar", "SELECT ?::text AS v", ps -> ps.setNull(1, Types.VARCHAR));
        param("param.setObject_Integer", "SELECT ?::int4 AS v", ps -> ps.setObject(1, 42));
        param("param.setObject_String", "SELECT ?::text AS v", ps -> ps.setObject(1, "forty-two"));
        param("param.setObject_BigDecimal", "SELECT ?::numeric AS v", ps -> ps.setObject(1, new BigDecimal("3.14")));
        param("param.setObject_LocalDate", "SELECT ?::date AS v", ps -> ps.setObject(1, LocalDate.of(2023, 12, 31)));
        param("param.setObject_LocalDateTime", "SELECT ?::timestamp AS v",
            ps -> ps.setObject(1, LocalDateTime.of(2024, 6, 15, 8, 30, 0)));
        param("param.setObject_OffsetDateTime", "SELECT ?::timestamptz AS v",
            ps -> ps.setObject(1, OffsetDateTime.of(2024, 6, 16, 9, 0, 0, 0, ZoneOffset.ofHours(2))));
        param("param.setObject_UUID", "SELECT ?::uuid AS v",
            ps -> ps.setObject(1, UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")));
        param("param.setObject_other_json", "SELECT ?::json AS v", ps -> ps.setObject(1, "{\"a\": [1, 2]}", Types.OTHER));
        param("param.setBytes", "SELECT ?::bytea AS v", ps -> ps.setBytes(1, new byte[] {0, 1, (byte) 0xff}));
        param("param.setArray_int", "SELECT ?::int4[] AS v",
            ps -> ps.setArray(1, ps.getConnection().createArrayOf("int4", new Integer[] {1, null, 3})));
        param("param.untyped_setInt", "SELECT ? AS v", ps -> ps.setInt(1, 7));
        param("param.untyped_setString", "SELECT ? AS v", ps -> ps.setString(1, "seven"));
        param("param.two_params_arithmetic", "SELECT ?::int4 + ?::int8 AS v", ps -> { ps.setInt(1, 1); ps.setLong(2, 2L); });

        String o = QS + ".orders";
        String c = QS + ".customers";
        where("where.setInt", "SELECT id, amount FROM " + o + " WHERE customer_id = ? ORDER BY id", ps -> ps.setInt(1, 1));
        where("where.setLong", "SELECT id, note FROM " + o + " WHERE id = ?", ps -> ps.setLong(1, 3L));
        where("where.setShort", "SELECT id FROM " + o + " WHERE quantity = ? ORDER BY id", ps -> ps.setShort(1, (short) 1));
        where("where.setString", "SELECT id FROM " + o + " WHERE note = ?", ps -> ps.setString(1, "rush"));
        where("where.setBigDecimal", "SELECT id, amount FROM " + o + " WHERE amount > ? ORDER BY id",
            ps -> ps.setBigDecimal(1, new BigDecimal("99.99")));
        where("where.setDouble", "SELECT id FROM " + o + " WHERE weight > ? ORDER BY id", ps -> ps.setDouble(1, 2.0));
        where("where.setFloat", "SELECT id FROM " + o + " WHERE discount = ? ORDER BY id", ps -> ps.setFloat(1, 0.25f));
        where("where.setBoolean", "SELECT id, name FROM " + c + " WHERE active = ? ORDER BY id", ps -> ps.setBoolean(1, true));
        where("where.setDate", "SELECT id, created FROM " + c + " WHERE created < ? ORDER BY id",
            ps -> ps.setDate(1, java.sql.Date.valueOf("2022-01-01")));
        where("where.setTimestamp", "SELECT id, ordered_at FROM " + o + " WHERE ordered_at >= ? ORDER BY id",
            ps -> ps.setTimestamp(1, Timestamp.valueOf("2024-03-01 00:00:00")));
        where("where.setTimestamp_tz", "SELECT id, shipped_at FROM " + o + " WHERE shipped_at < ? ORDER BY id",
            ps -> ps.setTimestamp(1, Timestamp.valueOf("2024-05-01 00:00:00")));
        where("where.setNull_coalesce", "SELECT id FROM " + c + " WHERE email IS NOT DISTINCT FROM ? ORDER BY id",
            ps -> ps.setNull(1, Types.VARCHAR));
        where("where.setObject_mixed", "SELECT id FROM " + o + " WHERE customer_id = ? AND ordered_at < ? ORDER BY id",
            ps -> { ps.setObject(1, 2); ps.setObject(2, LocalDateTime.of(2024, 6, 1, 0, 0)); });
        where("where.like", "SELECT id FROM " + c + " WHERE email LIKE ? ORDER BY id", ps -> ps.setString(1, "%.example"));
        // pgjdbc switches to a named server-side statement after prepareThreshold (5) executions.
        step("where.reuse_server_prepared", () -> {
            List<Object> out = new ArrayList<>();
            try (PreparedStatement ps = conn().prepareStatement("SELECT count(*) FROM " + o + " WHERE customer_id <= ?")) {
                for (int i = 0; i < 8; i++) {
                    ps.setInt(1, i % 5);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        out.add(rs.getLong(1));
                    }
                }
            }
            return out;
        });
        step("where.parameter_metadata", () -> {
            try (PreparedStatement ps = conn().prepareStatement(
                    "SELECT id FROM " + o + " WHERE customer_id = ? AND amount > ? AND note = ?")) {
                ParameterMetaData pmd = ps.getParameterMetaData();
                List<Object> out = new ArrayList<>();
                for (int i = 1; i <= pmd.getParameterCount(); i++) {
                    out.add(Arrays.asList(pmd.getParameterTypeName(i), pmd.getParameterType(i)));
                }
                return out;
            }
        });
    }

    static void fetchSize() {
        String[] queries = {
            "SELECT * FROM generate_series(1, 5000) AS g(n)",
            "SELECT a.id * 1000 + b.id * 100 + c.id * 10 + d.id AS n FROM " + QS + ".orders a CROSS JOIN " + QS
                + ".orders b CROSS JOIN " + QS + ".orders c CROSS JOIN " + QS + ".customers d",
        };
        String[] names = {"fetch_size.generate_series", "fetch_size.cross_join"};
        for (int q = 0; q < queries.length; q++) {
            String sql = queries[q];
            step(names[q], () -> {
                Connection c = conn();
                c.setAutoCommit(false);
                long count = 0, sum = 0;
                try (Statement st = c.createStatement()) {
                    st.setFetchSize(500);
                    try (ResultSet rs = st.executeQuery(sql)) {
                        while (rs.next()) {
                            count++;
                            sum += rs.getLong(1);
                        }
                    }
                }
                c.commit();
                c.setAutoCommit(true);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("rows", count);
                m.put("sum", sum);
                return m;
            });
        }
    }

    static void transactions() {
        step("tx.read_commit", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            List<Object> out = new ArrayList<>();
            try (Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), sum(amount) FROM " + QS + ".orders")) {
                    rs.next();
                    out.add(rs.getLong(1));
                    out.add(rs.getBigDecimal(2).toString());
                }
                try (ResultSet rs = st.executeQuery("SELECT name FROM " + QS + ".customers WHERE id = 2")) {
                    rs.next();
                    out.add(rs.getString(1));
                }
            }
            c.commit();
            c.setAutoCommit(true);
            return out;
        });
        step("tx.read_rollback", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            Object v;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT max(id) FROM " + QS + ".orders")) {
                rs.next();
                v = rs.getLong(1);
            }
            c.rollback();
            c.setAutoCommit(true);
            return v;
        });
        step("tx.isolation_serializable", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            int level = c.getTransactionIsolation();
            long n;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + QS + ".events")) {
                rs.next();
                n = rs.getLong(1);
            }
            c.commit();
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            c.setAutoCommit(true);
            return Arrays.asList(level, n);
        });
        step("tx.read_only", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            c.setReadOnly(true);
            long n;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + QS + ".customers")) {
                rs.next();
                n = rs.getLong(1);
            }
            c.commit();
            c.setReadOnly(false);
            c.setAutoCommit(true);
            return n;
        });
        step("tx.savepoint", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            Savepoint sp = c.setSavepoint("compat_sp");
            List<Object> out = new ArrayList<>();
            try (Statement st = c.createStatement()) {
                try {
                    st.executeQuery("SELECT nosuch FROM " + QS + ".orders");
                    out.add("no error");
                } catch (SQLException e) {
                    out.add(e.getSQLState());
                }
                c.rollback(sp);
                try (ResultSet rs = st.executeQuery("SELECT 1")) {
                    rs.next();
                    out.add(rs.getInt(1));
                }
            }
            c.commit();
            c.setAutoCommit(true);
            return out;
        });
    }

    static void writes() {
        try (Statement st = conn().createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + WRITE_TABLE); // leftovers of an aborted run; not a step
        } catch (Throwable t) {
            dropShared();
        }
        step("write.create_table", () -> update("CREATE TABLE " + WRITE_TABLE
            + " (id INTEGER PRIMARY KEY, label VARCHAR(20), amount NUMERIC(10,2), seen TIMESTAMP, flag BOOLEAN)"));
        step("write.batch_insert_commit", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            int[] counts;
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + WRITE_TABLE + " VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "row " + i);
                    ps.setBigDecimal(3, new BigDecimal(i + ".50"));
                    ps.setTimestamp(4, Timestamp.valueOf("2024-01-0" + i + " 12:00:00"));
                    if (i == 2) ps.setNull(5, Types.BOOLEAN); else ps.setBoolean(5, i == 1);
                    ps.addBatch();
                }
                counts = ps.executeBatch();
            }
            int updated;
            try (PreparedStatement ps = c.prepareStatement("UPDATE " + WRITE_TABLE + " SET amount = amount * ? WHERE id >= ?")) {
                ps.setBigDecimal(1, new BigDecimal("2"));
                ps.setInt(2, 2);
                updated = ps.executeUpdate();
            }
            c.commit();
            c.setAutoCommit(true);
            List<Object> out = new ArrayList<>();
            for (int n : counts) out.add(n);
            out.add(updated);
            return out;
        });
        step("write.read_back", () -> {
            try (Statement st = conn().createStatement()) {
                return readAll(st.executeQuery("SELECT * FROM " + WRITE_TABLE + " ORDER BY id"));
            }
        });
        step("write.rollback", () -> {
            Connection c = conn();
            c.setAutoCommit(false);
            int inserted, deleted;
            long inside;
            try (Statement st = c.createStatement()) {
                inserted = st.executeUpdate("INSERT INTO " + WRITE_TABLE + " (id, label) VALUES (4, 'rolled back')");
                deleted = st.executeUpdate("DELETE FROM " + WRITE_TABLE + " WHERE id = 1");
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + WRITE_TABLE)) {
                    rs.next();
                    inside = rs.getLong(1);
                }
            }
            c.rollback();
            c.setAutoCommit(true);
            return Arrays.asList(inserted, deleted, inside);
        });
        step("write.read_after_rollback", () -> {
            try (Statement st = conn().createStatement()) {
                return readAll(st.executeQuery("SELECT id, label FROM " + WRITE_TABLE + " ORDER BY id"));
            }
        });
        step("write.generated_keys", () -> {
            try (PreparedStatement ps = conn().prepareStatement(
                    "INSERT INTO " + WRITE_TABLE + " (id, label) VALUES (?, ?)", new String[] {"id", "label"})) {
                ps.setInt(1, 10);
                ps.setString(2, "ten");
                int n = ps.executeUpdate();
                List<Object> out = new ArrayList<>();
                out.add(n);
                out.add(readAll(ps.getGeneratedKeys()));
                return out;
            }
        });
        step("write.unique_violation", () -> {
            Connection c = conn(); // failing to connect is not the error this step expects
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO " + WRITE_TABLE + " (id, label) VALUES (1, 'duplicate')");
                throw new IllegalStateException("expected a unique violation, the insert succeeded");
            } catch (SQLException e) {
                return e.getSQLState();
            }
        });
        step("write.drop_table", () -> update("DROP TABLE " + WRITE_TABLE));
    }

    // Steps that must end in a server error: the value is its SQLSTATE; succeeding is a failure.
    static void expectError(String name, String sql, Binder binder) {
        step(name, () -> {
            Connection c = conn(); // failing to connect is not the error this step expects
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                if (binder != null) binder.bind(ps);
                ps.execute();
            } catch (SQLException e) {
                if (e.getSQLState() == null || e.getSQLState().startsWith("08")) throw e; // connection trouble
                return e.getSQLState();
            }
            throw new IllegalStateException("expected an error, the statement succeeded");
        });
    }

    static void errors() {
        expectError("error.bad_column", "SELECT nosuch FROM " + QS + ".orders", null);
        expectError("error.bad_table", "SELECT * FROM " + QS + ".nosuch", null);
        expectError("error.syntax", "SELEC 1", null);
        expectError("error.division_by_zero", "SELECT 1 / 0", null);
        expectError("error.bad_cast_param", "SELECT ?::int4", ps -> ps.setString(1, "abc"));
        step("error.connection_still_usable", () -> {
            try (Statement st = conn().createStatement(); ResultSet rs = st.executeQuery("SELECT 2")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    // ---- a minimal JSON writer (the JDK has none) --------------------------------------------

    static final class Json {
        static String write(Object v) {
            StringBuilder sb = new StringBuilder();
            write(sb, v);
            return sb.toString();
        }

        static void write(StringBuilder sb, Object v) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
                sb.append(v);
            } else if (v instanceof Map) {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            } else if (v instanceof Collection) {
                sb.append('[');
                boolean first = true;
                for (Object o : (Collection<?>) v) {
                    if (!first) sb.append(',');
                    first = false;
                    write(sb, o);
                }
                sb.append(']');
            } else {
                string(sb, v.toString());
            }
        }

        static void string(StringBuilder sb, String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char ch = s.charAt(i);
                switch (ch) {
                    case '"': sb.append("\\\""); break;
                    case '\\': sb.append("\\\\"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\r': sb.append("\\r"); break;
                    case '\t': sb.append("\\t"); break;
                    default:
                        if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
                        else sb.append(ch);
                }
            }
            sb.append('"');
        }
    }
}
