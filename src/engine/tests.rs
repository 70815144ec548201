//! The engine's DuckDB: the linked library has ICU, Parquet and JSON built in (nothing is
//! downloaded), and its external access is locked to the data directory.

use super::*;

fn engine(dir: &Path) -> Engine {
    Engine::open(&EngineConfig {
        data_dir: dir.to_path_buf(),
        memory_limit: "512MB".into(),
        threads: 2,
        max_concurrent_jobs: 4,
        judge: crate::gateway::oracle::judge_fn(),
        instance_setup: crate::pg::catalog::macros_sql(),
    })
    .unwrap()
}

fn with_conn<T>(engine: &Engine, f: impl FnOnce(&Connection) -> T) -> T {
    let conn = engine.shared.checkout().unwrap();
    let out = f(&conn);
    engine.shared.checkin(conn);
    out
}

#[test]
fn icu_parquet_and_json_work_without_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(engine.duckdb_version(), "v1.5.6");
    with_conn(&engine, |conn| {
        // ICU: timestamptz arithmetic and casts (the crates.io bundled build lacks these)
        let ok: bool =
            conn.query_row("SELECT now() - INTERVAL 1 DAY < now() AND (TIMESTAMPTZ '2024-01-01 00:00:00+00')::DATE = DATE '2024-01-01'", [], |r| r.get(0)).unwrap();
        assert!(ok);
        // JSON
        let v: String =
            conn.query_row("SELECT json_extract_string('{\"a\": {\"b\": \"x\"}}', '$.a.b')", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "x");
        // Parquet, written and read back inside the data directory
        let file = dir.path().canonicalize().unwrap().join("tmp").join("probe.parquet");
        conn.execute_batch(&format!("COPY (SELECT 42 AS x) TO '{}' (FORMAT parquet)", file.display())).unwrap();
        let x: i32 =
            conn.query_row(&format!("SELECT x FROM read_parquet('{}')", file.display()), [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42);
        // nothing can be installed (no network, no extension directory)
        assert!(conn.execute_batch("INSTALL httpfs").is_err());
    });
}

#[test]
fn external_access_is_locked_to_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "a\n1\n").unwrap();
    let engine = engine(dir.path());
    with_conn(&engine, |conn| {
        for sql in [
            format!("SELECT * FROM read_csv('{}/secret.csv')", outside.path().display()),
            "SELECT * FROM read_text('/etc/passwd')".to_owned(),
            format!("COPY (SELECT 1) TO '{}/out.csv'", outside.path().display()),
            format!("ATTACH '{}/x.duckdb' AS x", outside.path().display()),
            format!("SELECT * FROM read_text('{}/tmp/../../secret.csv')", dir.path().display()),
            "SET enable_external_access = true".to_owned(),
            "SET allowed_directories = ['/']".to_owned(),
            "SET lock_configuration = false".to_owned(),
            "SET memory_limit = '100GB'".to_owned(),
        ] {
            assert!(conn.execute_batch(&sql).is_err(), "{sql} was allowed");
        }
        let limit: String = conn.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0)).unwrap();
        assert!(limit.contains("MiB") || limit.contains("MB"), "{limit}");
    });
}

#[test]
fn describe_reports_parameter_and_result_types() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let query = |sql: &str| Query {
        sql: sql.into(),
        params: vec![],
        relations: vec![],
        tables: vec![],
        origin: SqlOrigin::User,
        checks: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let described =
        rt.block_on(engine.describe(query("SELECT $1::INTEGER + 1 AS n, 'x' AS s, $2 AS unknown"))).unwrap();
    assert_eq!(described.params[0], arrow::datatypes::DataType::Int32);
    let names: Vec<_> = described.schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["n", "s", "unknown"]);
    assert_eq!(described.schema.field(1).data_type(), &arrow::datatypes::DataType::Utf8);
    assert_eq!(described.params[1], arrow::datatypes::DataType::Null);
    assert_eq!(rt.block_on(engine.describe(query("SELEC 1"))).unwrap_err().sqlstate(), "42601");
}
