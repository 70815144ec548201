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

/// A parameter sent in text format, whatever its type, as node-postgres sends every value.
#[derive(Debug)]
struct TextParam(&'static str);

impl tokio_postgres::types::ToSql for TextParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> tokio_postgres::types::Format {
        tokio_postgres::types::Format::Text
    }

    tokio_postgres::types::to_sql_checked!();
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
    // a parameter inside a PostgreSQL function the server answers itself still counts (psycopg
    // 3 binds every parameter it wrote; SQLAlchemy's reflection puts one in generate_subscripts)
    let rows = client.query("SELECT generate_subscripts(ARRAY[10, 20, 30], $1::INTEGER) AS i", &[&1i32]).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>(), vec![1, 2, 3]);
    let rows = client.query("SELECT generate_subscripts(ARRAY[10], $1::INTEGER) AS i", &[&2i32]).await.unwrap();
    assert!(rows.is_empty());
    let row = client
        .query_one("SELECT pg_catalog.has_schema_privilege($1::text, 'USAGE') AS ok, $2::int4 AS n", &[&"x", &5i32])
        .await
        .unwrap();
    assert!(row.get::<_, bool>("ok"));
    assert_eq!(row.get::<_, i32>("n"), 5);
    // PostgreSQL's array text, as a literal (psql's \dt) and as a text parameter (node-postgres)
    let rows = client.simple_query(r#"SELECT x FROM unnest('{r,"p q",NULL}'::"char"[]) AS t(x)"#).await.unwrap();
    assert_eq!(simple_rows(&rows), vec![vec![Some("r".into())], vec![Some("p q".into())], vec![None]]);
    let stmt = client
        .prepare_typed(
            "SELECT 4 = ANY($1) AS hit, ($2::text[])[1] AS first, ($2::text[])[2] AS second",
            &[Type::INT8_ARRAY, Type::TEXT_ARRAY],
        )
        .await;
    let stmt = stmt.unwrap();
    let row = client.query_one(&stmt, &[&TextParam(r#"{"2","4",NULL}"#), &TextParam(r#"{"a\"b","c,d"}"#)]).await;
    let row = row.unwrap();
    assert!(row.get::<_, bool>("hit"));
    assert_eq!(row.get::<_, String>("first"), "a\"b");
    assert_eq!(row.get::<_, String>("second"), "c,d");
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
        ("SELECT 2 + 'x'::INTEGER", "22P02"),
        // PostgreSQL refuses a division by zero; DuckDB alone would answer NULL
        ("SELECT 1 / (2 - 2)", "22012"),
        ("SELECT 5 % 0", "22012"),
        ("SELECT 1.5 / 0", "22012"),
        ("SELECT count(*) / 0 FROM duckstore.projects", "22012"),
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
    // an unconstrained numeric cast keeps the digits (DuckDB's bare DECIMAL would round to 3)
    let row = client.query_one("SELECT '12345.6789'::numeric::text AS n, 2.5::numeric(4,1)::text AS m", &[]).await;
    let row = row.unwrap();
    assert_eq!(row.get::<_, String>("n").trim_end_matches('0'), "12345.6789");
    assert_eq!(row.get::<_, String>("m"), "2.5");
    // bytea in PostgreSQL's hex form
    let row = client.query_one(r"SELECT '\x01ff'::bytea AS b", &[]).await.unwrap();
    assert_eq!(row.get::<_, Vec<u8>>("b"), vec![0x01, 0xff]);
    assert_eq!(sqlstate(&client.query(r"SELECT '\x0'::bytea", &[]).await.unwrap_err()), "22P02");
    // a parameter as divisor keeps the type its use implies (the zero check must not make it an
    // integer); `$n` cast to a type is checked for zero
    let stmt = client.prepare("SELECT 10.0 / $1 AS q").await.unwrap();
    assert_ne!(stmt.params(), &[Type::INT4]);
    client.query_one(&stmt, &[&TextParam("2.5")]).await.unwrap();
    let err = client.query_one("SELECT 10 / $1::int4 AS q", &[&0i32]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22012");
    // integers divide as integers, truncating toward zero, as in PostgreSQL
    let row = client.query_one("SELECT 7 / 2 AS a, -7 / 2 AS b, 7 % 3 AS c", &[]).await.unwrap();
    assert_eq!((row.get::<_, i32>("a"), row.get::<_, i32>("b"), row.get::<_, i32>("c")), (3, -3, 1));
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
async fn the_server_statement_timeout_bounds_storage_sessions_which_may_only_lower_it() {
    let server = TestServer::start_with(|c| c.statement_timeout_secs = 1).await;
    let client = server.admin().await;
    let err = client.simple_query(SLOW_QUERY).await.unwrap_err();
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    // a longer session timeout does not lift the server's
    client.simple_query("SET statement_timeout = '10min'").await.unwrap();
    assert_eq!(sqlstate(&client.query(SLOW_QUERY, &[]).await.unwrap_err()), "57014");
    server.stop().await;
    // Under the default server limit (an hour), the session's lower one is what ends it.
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SET statement_timeout = '100ms'").await.unwrap();
    assert_eq!(sqlstate(&client.query(SLOW_QUERY, &[]).await.unwrap_err()), "57014");
    server.stop().await;
}

#[tokio::test]
async fn a_statement_whose_client_goes_away_is_cancelled_and_frees_its_slot() {
    // One engine job at a time: the abandoned statement holds the only slot until cancelled.
    let server = TestServer::start_with(|c| c.max_concurrent_jobs = 1).await;
    let (_, user, token) = server.project("abandoned").await;
    let (gone, connection) =
        tokio_postgres::connect(&server.conn_string(&user, &token, "main"), tokio_postgres::NoTls).await.unwrap();
    let connection = tokio::spawn(connection);
    let running = tokio::spawn(async move { gone.simple_query(SLOW_QUERY).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // the client goes away mid-statement: its socket closes
    running.abort();
    connection.abort();
    let bystander = server.admin().await;
    // SLOW_QUERY takes minutes uncancelled; the bystander's statement needs the slot.
    let answered = tokio::time::timeout(
        Duration::from_secs(20),
        bystander.query_one("SELECT count(*) FROM range(1000) t(x) WHERE x % 7 = 0", &[]),
    )
    .await
    .expect("the abandoned statement was cancelled and its slot freed")
    .unwrap();
    assert_eq!(answered.get::<_, i64>(0), 143);
    server.stop().await;
}

#[tokio::test]
async fn logins_health_and_metrics_never_wait_for_a_busy_engine() {
    let server = TestServer::start_with(|c| c.max_concurrent_jobs = 1).await;
    let (_, user, token) = server.project("hog").await;
    let (_, other_user, other_token) = server.project("other").await;
    let hog = server.connect(&user, &token).await;
    hog.simple_query("SET statement_timeout = '15s'").await.unwrap();
    let running = tokio::spawn(async move { hog.simple_query(SLOW_QUERY).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!running.is_finished(), "the slow statement holds the only engine slot");
    let base = format!("http://{}", server.http_addr);
    tokio::time::timeout(Duration::from_secs(5), server.try_connect(&other_user, &other_token, "main"))
        .await
        .expect("a login waited for the busy engine")
        .unwrap();
    let health = tokio::time::timeout(Duration::from_secs(5), reqwest::get(format!("{base}/health")))
        .await
        .expect("/health waited for the busy engine")
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = tokio::time::timeout(Duration::from_secs(5), reqwest::get(format!("{base}/metrics")))
        .await
        .expect("/metrics waited for the busy engine")
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(!running.is_finished(), "the slot was busy all along");
    running.abort();
    server.stop().await;
}

#[tokio::test]
async fn one_project_never_holds_every_engine_slot() {
    let server = TestServer::start_with(|c| {
        c.max_concurrent_jobs = 4;
        c.max_project_jobs = Some(2);
    })
    .await;
    let (_, user, token) = server.project("greedy").await;
    let (_, other_user, other_token) = server.project("bystander").await;
    let bystander = server.connect(&other_user, &other_token).await;
    let mut greedy = Vec::new();
    for _ in 0..4 {
        let client = server.connect(&user, &token).await;
        client.simple_query("SET statement_timeout = '20s'").await.unwrap();
        greedy.push(tokio::spawn(async move { client.simple_query(SLOW_QUERY).await.map(|_| ()) }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // four slow statements of one project: two run, two wait for the project's own slots
    let answered = tokio::time::timeout(
        Duration::from_secs(10),
        bystander.query_one("SELECT count(*) FROM range(1000) t(x) WHERE x % 7 = 0", &[]),
    )
    .await
    .expect("another project's statement waited for the greedy project's")
    .unwrap();
    assert_eq!(answered.get::<_, i64>(0), 143);
    assert!(greedy.iter().all(|g| !g.is_finished()), "the greedy statements were still running");
    for g in greedy {
        g.abort();
    }
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

/// A raw client: startup and SCRAM-SHA-256 by hand, so the test can then send bytes no driver
/// would (found by fuzzing: a Parse message shorter than its fields made the decoder panic).
async fn raw_session(server: &TestServer, user: &str, password: &str) -> tokio::net::TcpStream {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s = tokio::net::TcpStream::connect(server.pg_addr).await.unwrap();
    let mut body = vec![0, 3, 0, 0];
    for (k, v) in [("user", user), ("database", "main")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend(body);
    s.write_all(&packet).await.unwrap();
    async fn message(s: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
        let tag = s.read_u8().await.unwrap();
        let len = s.read_u32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        s.read_exact(&mut body).await.unwrap();
        (tag, body)
    }
    let (tag, _) = message(&mut s).await;
    assert_eq!(tag, b'R', "SASL offer");
    let nonce = "rawclientnonce0123456789";
    let first_bare = format!("n=,r={nonce}");
    let first = format!("n,,{first_bare}");
    let mut sasl = b"SCRAM-SHA-256\0".to_vec();
    sasl.extend((first.len() as u32).to_be_bytes());
    sasl.extend(first.as_bytes());
    let mut out = vec![b'p'];
    out.extend(((sasl.len() + 4) as u32).to_be_bytes());
    out.extend(sasl);
    s.write_all(&out).await.unwrap();
    let (_, body) = message(&mut s).await;
    let server_first = String::from_utf8(body[4..].to_vec()).unwrap();
    let field = |k: &str| server_first.split(',').find_map(|p| p.strip_prefix(k)).unwrap().to_owned();
    let (r, salt, iterations) = (field("r="), b64.decode(field("s=")).unwrap(), field("i=").parse::<u32>().unwrap());
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
    let hmac = |key: &[u8], data: &[u8]| {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let without_proof = format!("c=biws,r={r}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(signature).map(|(a, b)| a ^ b).collect();
    let last = format!("{without_proof},p={}", b64.encode(proof));
    let mut out = vec![b'p'];
    out.extend(((last.len() + 4) as u32).to_be_bytes());
    out.extend(last.as_bytes());
    s.write_all(&out).await.unwrap();
    loop {
        let (tag, body) = message(&mut s).await;
        assert_ne!(tag, b'E', "login failed: {}", String::from_utf8_lossy(&body));
        if tag == b'Z' {
            return s;
        }
    }
}

#[tokio::test]
async fn a_malformed_message_ends_only_its_own_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let sessions = || async {
        let text = reqwest::get(format!("http://{}/metrics", server.http_addr)).await.unwrap().text().await.unwrap();
        text.lines().find(|l| l.starts_with("duckstore_connections ")).map(str::to_owned).unwrap_or_default()
    };
    let before = sessions().await;
    for _ in 0..3 {
        let mut raw = raw_session(&server, "admin", crate::harness::ADMIN_TOKEN).await;
        // 'P' (Parse) whose body is only a query: no statement name, no parameter count
        raw.write_all(b"P\x00\x00\x00\x0dSELECT 1;\x00").await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut rest)).await;
    }
    // the server is up, other sessions work, and the broken ones are gone from the registry
    let one = admin.simple_query("SELECT 1").await.unwrap();
    assert!(one.iter().any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(0) == Some("1"))));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sessions().await, before, "the broken connections are not counted any more");
    server.stop().await;
}

#[tokio::test]
async fn back_to_back_statements_each_end_at_their_timeout_over_both_protocols() {
    // Each cancelled statement's engine work winds down while the next one starts on the same
    // session: the next must still hear its own timeout (once it did not, and the client waited
    // forever).
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SET statement_timeout = '150ms'").await.unwrap();
    for i in 0..12 {
        let answer = if i % 2 == 0 {
            tokio::time::timeout(Duration::from_secs(20), client.simple_query(SLOW_QUERY)).await.map(|r| r.map(|_| ()))
        } else {
            tokio::time::timeout(Duration::from_secs(20), client.query(SLOW_QUERY, &[])).await.map(|r| r.map(|_| ()))
        };
        let err = answer.unwrap_or_else(|_| panic!("statement {i} outlived its timeout")).unwrap_err();
        assert_eq!(sqlstate(&err), "57014", "statement {i}: {err:?}");
    }
    assert_eq!(client.query_one("SELECT 6::int4", &[]).await.unwrap().get::<_, i32>(0), 6);
    server.stop().await;
}

#[tokio::test]
async fn copy_to_stdout_counts_rows_not_lines_and_ends_as_postgresql_does() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let mut s = raw_session(&server, "admin", crate::harness::ADMIN_TOKEN).await;
    async fn send_query(s: &mut tokio::net::TcpStream, sql: &str) {
        let mut out = vec![b'Q'];
        out.extend(((sql.len() + 5) as u32).to_be_bytes());
        out.extend(sql.as_bytes());
        out.push(0);
        s.write_all(&out).await.unwrap();
    }
    async fn messages_until_ready(s: &mut tokio::net::TcpStream) -> Vec<(u8, Vec<u8>)> {
        let mut all = Vec::new();
        loop {
            let tag = s.read_u8().await.unwrap();
            let len = s.read_u32().await.unwrap() as usize;
            let mut body = vec![0; len - 4];
            s.read_exact(&mut body).await.unwrap();
            all.push((tag, body));
            if tag == b'Z' {
                return all;
            }
        }
    }
    send_query(&mut s, "COPY (SELECT x FROM range(3) t(x) ORDER BY x) TO STDOUT (FORMAT csv, HEADER)").await;
    let got = messages_until_ready(&mut s).await;
    let tags: Vec<u8> = got.iter().map(|(t, _)| *t).collect();
    // CopyOutResponse, the header and three rows, CopyDone, CommandComplete, ReadyForQuery
    assert_eq!(tags, b"HddddcCZ", "{:?}", String::from_utf8_lossy(&tags));
    let complete = &got.iter().find(|(t, _)| *t == b'C').unwrap().1;
    assert_eq!(complete.as_slice(), b"COPY 3\0", "the header line is not a row");
    // a failure while rows stream is an ErrorResponse (CopyFail is the client's message)
    send_query(
        &mut s,
        "COPY (SELECT CAST(CASE WHEN x = 150000 THEN 'x' ELSE '1' END AS INTEGER) FROM range(200000) t(x)) TO STDOUT",
    )
    .await;
    let got = messages_until_ready(&mut s).await;
    assert!(got.iter().all(|(t, _)| *t != b'f'), "no CopyFail from a server");
    assert!(got.iter().any(|(t, _)| *t == b'E'), "the failure is an ErrorResponse");
    server.stop().await;
}

#[tokio::test]
async fn the_statement_timeout_ends_a_copy_to_stdout_that_is_still_streaming() {
    use futures::StreamExt;
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SET statement_timeout = '300ms'").await.unwrap();
    // rows come at once and would keep coming for hours: the timer must outlive `execute`
    let out = client.copy_out("COPY (SELECT x FROM range(1000000000000) t(x)) TO STDOUT").await.unwrap();
    futures::pin_mut!(out);
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match out.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Some(e),
                None => return None,
            }
        }
    })
    .await
    .expect("the copy outlived its statement timeout")
    .expect("the copy ended with an error");
    assert_eq!(sqlstate(&ended), "57014", "{ended:?}");
    assert_eq!(client.query_one("SELECT 7::int4", &[]).await.unwrap().get::<_, i32>(0), 7);
    server.stop().await;
}

#[tokio::test]
async fn cursors_fetch_forward_within_their_transaction() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    let rows = |m: &[SimpleQueryMessage]| -> Vec<String> {
        simple_rows(m).into_iter().map(|r| r[0].clone().unwrap()).collect()
    };
    let tag = |m: &[SimpleQueryMessage]| -> u64 {
        m.iter().find_map(|m| if let SimpleQueryMessage::CommandComplete(n) = m { Some(*n) } else { None }).unwrap()
    };
    // outside a transaction block, as in PostgreSQL
    let err = client.simple_query("DECLARE c CURSOR FOR SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&err), "25P01");
    client.batch_execute("BEGIN; DECLARE c CURSOR FOR SELECT i FROM range(10) t(i) ORDER BY i").await.unwrap();
    let m = client.simple_query("FETCH 3 FROM c").await.unwrap();
    assert_eq!((rows(&m), tag(&m)), (vec!["0".into(), "1".into(), "2".into()], 3));
    assert_eq!(rows(&client.simple_query("FETCH FORWARD 4 IN c").await.unwrap()), ["3", "4", "5", "6"]);
    assert_eq!(rows(&client.simple_query("FETCH NEXT FROM c").await.unwrap()), ["7"]);
    assert_eq!(rows(&client.simple_query("FETCH ALL FROM c").await.unwrap()), ["8", "9"]);
    assert!(rows(&client.simple_query("FETCH 5 FROM c").await.unwrap()).is_empty());
    assert_eq!(sqlstate(&client.simple_query("DECLARE c CURSOR FOR SELECT 1").await.unwrap_err()), "42P03");
    client.batch_execute("ROLLBACK; BEGIN").await.unwrap();
    // the cursor closed with its transaction
    assert_eq!(sqlstate(&client.simple_query("FETCH 1 FROM c").await.unwrap_err()), "34000");
    client.batch_execute("ROLLBACK; BEGIN; DECLARE d CURSOR FOR SELECT 1 AS one").await.unwrap();
    assert_eq!(sqlstate(&client.simple_query("FETCH BACKWARD 1 FROM d").await.unwrap_err()), "55000");
    client.batch_execute("ROLLBACK; BEGIN; DECLARE d CURSOR FOR SELECT 1 AS one; CLOSE d").await.unwrap();
    assert_eq!(sqlstate(&client.simple_query("FETCH 1 FROM d").await.unwrap_err()), "34000");
    client.batch_execute("ROLLBACK").await.unwrap();
    // a session keeps a few cursors at most: each holds its query's engine work
    client.batch_execute("BEGIN").await.unwrap();
    for i in 0..4 {
        client.batch_execute(&format!("DECLARE k{i} CURSOR FOR SELECT {i}")).await.unwrap();
    }
    assert_eq!(sqlstate(&client.simple_query("DECLARE k9 CURSOR FOR SELECT 9").await.unwrap_err()), "54000");
    client.batch_execute("ROLLBACK; BEGIN; DECLARE k9 CURSOR FOR SELECT 9; CLOSE ALL; COMMIT").await.unwrap();
    // one FETCH gathers its rows before sending them: FETCH ALL of a large result is refused
    // rather than taking the server's memory
    client
        .batch_execute("BEGIN; DECLARE big CURSOR FOR SELECT i, repeat('x', 1000) AS s FROM range(400000) t(i)")
        .await
        .unwrap();
    assert_eq!(rows(&client.simple_query("FETCH 2 FROM big").await.unwrap()), ["0", "1"]);
    assert_eq!(sqlstate(&client.simple_query("FETCH ALL FROM big").await.unwrap_err()), "54000");
    client.batch_execute("ROLLBACK").await.unwrap();
    server.stop().await;
}
