//! The wire protocol as clients use it: simple and extended queries, parameters, types in text and
//! binary, errors that leave the session usable, transactions, cancel and timeouts.

use std::time::Duration;

use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

use crate::harness::{TestServer, message, sqlstate};

fn simple_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn parameters_bind_in_the_extended_protocol() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let row = client.query_one("SELECT $1::int4 + 1 AS n, $2::text || '!' AS s", &[&41i32, &"hi"]).await.unwrap();
    assert_eq!(row.get::<_, i32>("n"), 42);
    assert_eq!(row.get::<_, String>("s"), "hi!");
    // the parameter type is inferred from its use, as PostgreSQL does
    let stmt = client.prepare("SELECT id FROM duckstore.projects WHERE id = $1").await.unwrap();
    assert_eq!(stmt.params(), &[Type::INT8]);
    assert!(client.query(&stmt, &[&7i64]).await.unwrap().is_empty());
    // a prepared statement runs many times
    let stmt = client.prepare("SELECT $1::int8 * 2").await.unwrap();
    for i in 0..10i64 {
        assert_eq!(client.query_one(&stmt, &[&i]).await.unwrap().get::<_, i64>(0), i * 2);
    }
    server.stop().await;
}

#[tokio::test]
async fn result_columns_carry_postgres_types_in_text_and_binary() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let sql = "SELECT 1::INTEGER AS i4, 2::BIGINT AS i8, 1.5::DOUBLE AS f8, 12.34::DECIMAL(10,2) AS num, \
               'x'::VARCHAR AS t, true AS b, DATE '2024-02-29' AS d, TIMESTAMP '2024-01-02 03:04:05' AS ts, \
               TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tz, 3::SMALLINT AS i2, NULL::INTEGER AS n";
    // binary (tokio-postgres' extended protocol)
    let stmt = client.prepare(sql).await.unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        [
            Type::INT4,
            Type::INT8,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::BOOL,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INT2,
            Type::INT4
        ]
    );
    let row = client.query_one(&stmt, &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>("i4"), 1);
    assert_eq!(row.get::<_, i64>("i8"), 2);
    assert_eq!(row.get::<_, f64>("f8"), 1.5);
    assert_eq!(row.get::<_, String>("t"), "x");
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, chrono::NaiveDate>("d"), chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    assert_eq!(row.get::<_, chrono::NaiveDateTime>("ts").to_string(), "2024-01-02 03:04:05");
    assert_eq!(row.get::<_, chrono::DateTime<chrono::Utc>>("tz").to_rfc3339(), "2024-01-02T03:04:05+00:00");
    assert_eq!(row.get::<_, i16>("i2"), 3);
    assert_eq!(row.get::<_, Option<i32>>("n"), None);
    // text (simple protocol)
    let rows = simple_rows(&client.simple_query(sql).await.unwrap());
    assert_eq!(
        rows[0],
        ["1", "2", "1.5", "12.34", "x", "t", "2024-02-29", "2024-01-02 03:04:05", "2024-01-02 03:04:05+00", "3"]
            .iter()
            .map(|s| Some(s.to_string()))
            .chain([None])
            .collect::<Vec<_>>()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_failed_statement_leaves_the_session_usable() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    for (sql, state) in [
        ("SELEC 1", "42601"),
        ("SELECT * FROM read_csv('/etc/passwd')", "42501"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM duckstore.projects", "42703"),
        ("SELECT 1/0::INTEGER + 'x'::INTEGER", "22P02"),
        ("ATTACH '/tmp/x.duckdb'", "42501"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "42501"),
        ("SET threads = 64", "42501"),
        ("SET no_such_setting = 1", "42704"),
        ("CALL no_such_procedure()", "42883"),
    ] {
        let err = client.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "{sql}: {}", message(&err));
        let err = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "extended {sql}: {}", message(&err));
        assert_eq!(client.query_one("SELECT 2::int4", &[]).await.unwrap().get::<_, i32>(0), 2, "after {sql}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_simple_query_runs_its_statements_in_order_and_stops_at_an_error() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let messages = client.simple_query("SELECT 1; SELECT 2, 3; SHOW server_version").await.unwrap();
    let rows = simple_rows(&messages);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1], [Some("2".into()), Some("3".into())]);
    assert!(rows[2][0].as_deref().unwrap().starts_with("15.0 (duckstore"));
    let err =
        client.simple_query("SELECT 1; SELECT * FROM nope; CALL create_project(name => 'never')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let count = client.query_one("SELECT count(*) FROM duckstore.projects", &[]).await.unwrap();
    assert_eq!(count.get::<_, i64>(0), 0, "statements after the failure must not run");
    // empty statements are fine
    assert!(simple_rows(&client.simple_query(";").await.unwrap()).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn transactions_follow_postgres_rules() {
    let server = TestServer::start().await;
    let mut client = server.admin().await;
    let tx = client.transaction().await.unwrap();
    assert_eq!(tx.query_one("SELECT 1::int4", &[]).await.unwrap().get::<_, i32>(0), 1);
    tx.commit().await.unwrap();
    client.simple_query("BEGIN").await.unwrap();
    let err = client.simple_query("SELECT * FROM nope").await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&err), "25P02");
    let messages = client.simple_query("COMMIT").await.unwrap();
    assert!(matches!(messages.last(), Some(SimpleQueryMessage::CommandComplete(_))));
    assert_eq!(client.query_one("SELECT 3::int4", &[]).await.unwrap().get::<_, i32>(0), 3);
    server.stop().await;
}

#[tokio::test]
async fn settings_are_per_session_and_engine_settings_are_out_of_reach() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SET application_name = 'report'").await.unwrap();
    let row = client.query_one("SELECT current_setting('application_name')", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "report");
    let rows = simple_rows(&client.simple_query("SHOW application_name").await.unwrap());
    assert_eq!(rows[0][0].as_deref(), Some("report"));
    let row = client.query_one("SELECT version()", &[]).await.unwrap();
    assert!(row.get::<_, String>(0).starts_with("PostgreSQL 15.0"));
    let other = server.admin().await;
    let row = other.query_one("SELECT current_setting('application_name')", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "");
    for sql in ["SET enable_external_access = true", "SET memory_limit = '100GB'", "SET allowed_directories = ['/']"] {
        assert_eq!(sqlstate(&client.simple_query(sql).await.unwrap_err()), "42501", "{sql}");
    }
    server.stop().await;
}

const SLOW_QUERY: &str = "SELECT count(*) FROM range(100000000) a, range(100000) b";

#[tokio::test]
async fn a_cancel_request_stops_a_running_query() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let cancel = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let started = std::time::Instant::now();
    let err = client.simple_query(SLOW_QUERY).await.unwrap_err();
    assert_eq!(sqlstate(&err), "57014", "{}", message(&err));
    assert!(started.elapsed() < Duration::from_secs(20));
    canceller.await.unwrap();
    assert_eq!(client.query_one("SELECT 4::int4", &[]).await.unwrap().get::<_, i32>(0), 4);
    server.stop().await;
}

#[tokio::test]
async fn the_statement_timeout_cancels_long_statements() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SET statement_timeout = '200ms'").await.unwrap();
    let err = client.query(SLOW_QUERY, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "57014");
    assert!(message(&err).contains("statement timeout"), "{}", message(&err));
    client.simple_query("SET statement_timeout = 0").await.unwrap();
    assert_eq!(client.query_one("SELECT 5::int4", &[]).await.unwrap().get::<_, i32>(0), 5);
    server.stop().await;
}

#[tokio::test]
async fn large_results_stream() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let rows = client.query("SELECT i, i::VARCHAR AS s FROM range(250000) t(i)", &[]).await.unwrap();
    assert_eq!(rows.len(), 250_000);
    assert_eq!(rows[249_999].get::<_, i64>(0), 249_999);
    server.stop().await;
}

#[tokio::test]
async fn constant_selects_are_answered_without_the_engine_but_alike() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let stmt = client.prepare("SELECT 1, 'a' AS s, true AS b, -2147483649 AS big").await.unwrap();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, [Type::INT4, Type::TEXT, Type::BOOL, Type::INT8]);
    assert_eq!(stmt.columns()[0].name(), "?column?");
    let row = client.query_one(&stmt, &[]).await.unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, String>(1), row.get::<_, bool>(2)), (1, "a".into(), true));
    assert_eq!(row.get::<_, i64>(3), -2_147_483_649);
    // the same through the engine (an expression) agrees on the value and type
    let row = client.query_one("SELECT 0 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    // and refusals still apply to anything that is not a literal
    let err = client.simple_query("SELECT getenv('HOME')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    server.stop().await;
}
