//! The engine's DuckDB: the linked library has ICU, Parquet and JSON built in (nothing is
//! downloaded), and its external access is locked to the data directory.

use super::*;

fn engine(dir: &Path) -> Engine {
    Engine::open(&EngineConfig {
        data_dir: dir.to_path_buf(),
        memory_limit: "512MB".into(),
        threads: 2,
        max_concurrent_jobs: 4,
        max_project_jobs: 4,
        project_memory_limit: None,
        max_open_projects: 4,
        temp_limit: "1GB".into(),
        judge: crate::gateway::oracle::judge_fn(),
        instance_setup: crate::exec::macros_sql(),
    })
    .unwrap()
}

/// Runs `f` on a connection of the file instance (the one allowed `files/` and `tmp/`).
fn with_conn<T>(engine: &Engine, f: impl FnOnce(&Connection) -> T) -> T {
    with_conn_in(engine, Place::Files, f)
}

fn with_conn_in<T>(engine: &Engine, place: Place, f: impl FnOnce(&Connection) -> T) -> T {
    let instance = engine.shared.instance(place).unwrap();
    let conn = instance.checkout().unwrap();
    let out = f(&conn.conn);
    instance.checkin(conn);
    out
}

/// Every extension an instance has loaded is built in (ICU, JSON, Parquet, core functions) or
/// one of the pinned files, loaded by path; unsigned extensions stay refused, and a pinned file
/// with one byte changed is refused twice: by the pin, and by DuckDB's signature check.
#[test]
fn every_loaded_extension_is_built_in_or_pinned_and_signed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let pinned = super::extensions::files().unwrap();
    assert_eq!(pinned.len(), super::extensions::LOADED.len());
    for place in [Place::System, Place::Files, Place::Project(1)] {
        let instance = engine.shared.instance(place).unwrap();
        let loaded = &instance.extensions;
        for extension in loaded {
            match super::extensions::LOADED.iter().find(|(pinned, _)| *pinned == extension.name) {
                // loaded by path (only `extensions::files`, checked against the pins, loads),
                // never from an installation
                Some(_) => assert_eq!(extension.mode, "NOT_INSTALLED", "{extension:?}"),
                None => assert_eq!(extension.mode, "STATICALLY_LINKED", "{extension:?} is neither built in nor pinned"),
            }
        }
        for (name, _) in super::extensions::LOADED {
            assert!(loaded.iter().any(|e| e.name == *name), "{name} is not loaded in {place:?}: {loaded:?}");
        }
        with_conn_in(&engine, place, |conn| {
            let unsigned: String = conn
                .query_row("SELECT current_setting('allow_unsigned_extensions')::VARCHAR", [], |r| r.get(0))
                .unwrap();
            assert_eq!(unsigned, "false");
            // nothing more loads once the instance is open (ducklake: fetched, signed, not loaded)
            let other = pinned[0].with_file_name("ducklake.duckdb_extension");
            assert!(other.exists());
            let refused = conn.execute_batch(&format!("LOAD '{}'", other.display())).unwrap_err().to_string();
            assert!(refused.contains("Loading external extensions is disabled"), "{refused}");
        });
    }
    // one changed byte
    let original = std::fs::read(&pinned[0]).unwrap();
    let mut changed = original.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    let copy = dir.path().join("changed.duckdb_extension");
    std::fs::write(&copy, &changed).unwrap();
    let (name, sha256) = super::extensions::LOADED[0];
    let pin = super::extensions::pinned(dir.path(), "changed", sha256).unwrap_err();
    assert!(pin.contains("is not the pinned build"), "{pin}");
    let db = super::raw::RawDatabase::open_in_memory(&[("autoload_known_extensions", "false".to_owned())]).unwrap();
    // SAFETY: `db` outlives the connection, dropped first at the end of the test.
    let conn = unsafe { Connection::open_from_raw(db.handle()) }.unwrap();
    let refused = conn.execute_batch(&format!("LOAD '{}'", copy.display())).unwrap_err().to_string();
    assert!(refused.contains("signature"), "{name} with a changed byte: {refused}");
    conn.execute_batch(&format!("LOAD '{}'", pinned[0].display())).unwrap();
    drop(conn);
}

#[test]
fn icu_parquet_and_json_work_without_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(engine.duckdb_version(), "v1.5.5");
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
        home: Place::System,
        sql: sql.into(),
        params: vec![],
        relations: vec![],
        tables: vec![],
        origin: SqlOrigin::User,
        checks: None,
        labels: vec![],
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

/// Least privilege below the gateway (ADR 0009): SQL run in a project's instance, whatever it
/// says, reaches that project's table files and nothing else — no upload, no other project's
/// table, no file outside the project's own table directory.
#[test]
fn a_project_instance_reaches_only_its_own_tables() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let mine = TableFile { project_id: 1, branch_id: 1, table_id: 10, version: 1 };
    let theirs = TableFile { project_id: 2, branch_id: 3, table_id: 20, version: 1 };
    engine.create_table_file(&mine, "id INTEGER").unwrap();
    engine.create_table_file(&theirs, "secret VARCHAR").unwrap();
    let data = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(data.join("files/2")).unwrap();
    std::fs::write(data.join("files/2/1"), "upload of project 2").unwrap();
    // project 2's instance holds its file attached; project 1's instance must not reach it
    engine.table_stats(&theirs).unwrap();
    with_conn_in(&engine, Place::Project(1), |conn| {
        for sql in [
            format!("SELECT * FROM {}", theirs.data_ref()),
            format!("ATTACH '{}' AS x", theirs.path(&data.join("tables")).display()),
            format!("ATTACH '{}' AS y (READ_ONLY)", theirs.path(&data.join("tables")).display()),
            format!("SELECT * FROM read_text('{}/files/2/1')", data.display()),
            format!("SELECT * FROM glob('{}/files/*')", data.display()),
            format!("COPY (SELECT 1) TO '{}/files/2/1'", data.display()),
            format!("COPY (SELECT 1) TO '{}/tables/2/x.csv'", data.display()),
            format!("SELECT * FROM read_text('{}/tables/1/../2/3/t20/v1.duckdb')", data.display()),
            "SET enable_external_access = true".to_owned(),
            "SET lock_configuration = false".to_owned(),
            "SELECT * FROM duckstore_stream('t20v1')".to_owned(),
        ] {
            assert!(conn.execute_batch(&sql).is_err(), "{sql} was allowed in project 1's instance");
        }
        let names: Vec<String> = conn
            .prepare("SELECT database_name FROM duckdb_databases() ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<duckdb::Result<_>>()
            .unwrap();
        assert!(!names.iter().any(|n| n == "t20v1"), "{names:?}");
    });
    assert_eq!(std::fs::read_to_string(data.join("files/2/1")).unwrap(), "upload of project 2");
}

/// Another project's table (a linked bucket) is read in the session's instance as rows
/// streamed from its own instance, on the connection of the statement that was granted it.
#[test]
fn another_projects_table_streams_in_without_being_attached() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let theirs = TableFile { project_id: 2, branch_id: 3, table_id: 20, version: 1 };
    engine.create_table_file(&theirs, "id INTEGER, name VARCHAR").unwrap();
    engine
        .write(
            &theirs,
            &[],
            &[],
            &[(format!("INSERT INTO {} SELECT range, 'n' || range FROM range(5000)", theirs.data_ref()), vec![])],
            None,
            &Canceller::default(),
        )
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let query = |sql: String| Query {
        home: Place::Project(1),
        sql,
        params: vec![],
        relations: vec![],
        tables: vec![theirs.clone()],
        origin: SqlOrigin::Server,
        checks: None,
        labels: vec![],
    };
    let rows = rt.block_on(async {
        let mut stream = engine
            .query(
                query(format!("SELECT count(*), sum(id), max(name) FROM {}", theirs.data_ref())),
                &Canceller::default(),
            )
            .await
            .unwrap();
        let mut out = vec![];
        while let Some(batch) = stream.next_batch().await {
            out.push(batch.unwrap());
        }
        out
    });
    let batch = &rows[0];
    let count = batch.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0);
    assert_eq!(count, 5000);
    // project 1's instance did not attach the file: only a catalog in memory stands for it
    with_conn_in(&engine, Place::Project(1), |conn| {
        let path: Option<String> = conn
            .query_row("SELECT path FROM duckdb_databases() WHERE database_name = 't20v1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(path, None);
    });
}

#[test]
fn a_statement_that_ends_late_does_not_disarm_the_next_one() {
    // One session's canceller, two statements' connections: the first statement's engine work
    // ends after the second armed the canceller.
    let first = duckdb::Connection::open_in_memory().unwrap();
    let second = duckdb::Connection::open_in_memory().unwrap();
    let canceller = Canceller::default();
    let armed_first = canceller.arm(first.interrupt_handle()).unwrap();
    canceller.reset();
    let second_handle = second.interrupt_handle();
    let armed_second = canceller.arm(Arc::clone(&second_handle)).unwrap();
    drop(armed_first);
    let current = canceller.current.lock().unwrap().clone();
    assert!(current.is_some_and(|c| Arc::ptr_eq(&c, &second_handle)), "the second statement stays armed");
    drop(armed_second);
    assert!(canceller.current.lock().unwrap().is_none());
}

#[test]
fn numeric_parameters_bind_as_exact_decimals() {
    assert_eq!(Param::numeric("1.50"), Param::Decimal { digits: 150, scale: 2 });
    assert_eq!(Param::numeric(" -0.05"), Param::Decimal { digits: -5, scale: 2 });
    assert_eq!(Param::numeric("+42"), Param::Decimal { digits: 42, scale: 0 });
    assert_eq!(Param::numeric("0"), Param::Decimal { digits: 0, scale: 0 });
    assert_eq!(
        Param::numeric("12345678901234567890123456789012345678"),
        Param::Decimal { digits: 12345678901234567890123456789012345678, scale: 0 }
    );
    for text in ["1E+3", "NaN", "", ".", "1.2.3", "123456789012345678901234567890123456789"] {
        assert_eq!(Param::numeric(text), Param::Text(text.to_owned()), "{text}");
    }
    assert_eq!(super::decimal_text(-5, 2), "-0.05");
    assert_eq!(super::decimal_text(150, 2), "1.50");
    assert_eq!(super::decimal_text(7, 0), "7");
}

#[test]
fn kept_plans_hold_no_rows_after_their_statement() {
    // A materialized CTE keeps its rows in the plan; kept plans would hold them in the
    // instance every project shares until the connection went away.
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rows = "SELECT range AS i, repeat('x', 40) || range AS s FROM range(1000000)";
    let statements = (0..4).flat_map(|k| {
        [
            format!("WITH x AS MATERIALIZED ({rows}) SELECT count(*) + {k} FROM x"),
            // the same subquery twice: the common-subplan optimizer would materialize it
            format!("SELECT count(*) + {k} FROM ({rows}) a JOIN ({rows}) b USING (i, s)"),
        ]
    });
    for sql in statements {
        let query = Query {
            home: Place::System,
            sql,
            params: vec![],
            relations: vec![],
            tables: vec![],
            origin: SqlOrigin::Server,
            checks: None,
            labels: vec![],
        };
        rt.block_on(async {
            let mut stream = engine.query(query, &Canceller::default()).await.unwrap();
            while let Some(batch) = stream.next_batch().await {
                batch.unwrap();
            }
        });
    }
    let held: i64 = with_conn_in(&engine, Place::System, |conn| {
        conn.query_row("SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()", [], |r| r.get(0)).unwrap()
    });
    assert!(held < 16 << 20, "{held} bytes held after the statements ended");
}

#[test]
fn plans_kept_are_of_short_texts_without_materialization() {
    assert!(!may_materialize("SELECT id, name FROM t WHERE id = 1"));
    assert!(may_materialize("WITH x AS (SELECT 1) SELECT * FROM x"));
    assert!(may_materialize("SELECT 1 UNION SELECT 2"));
    assert!(may_materialize("SELECT (SELECT 1), (SELECT 2)"));
    // a long text keeps its literals in the plan
    assert!(may_materialize(&format!("SELECT '{}'", "x".repeat(MAX_KEPT_PLAN_TEXT))));
}
