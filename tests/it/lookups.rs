//! Point lookups answered from a table's key index (exec/key_index.rs) answer exactly what the
//! engine answers for the same statement — columns, their names and types, values, and the
//! errors of values DuckDB refuses — for each shape of lookup the gateway recognizes. The
//! engine's answer is taken inside a transaction block, where no index answers.

use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, Statement};

use crate::caches::metric;
use crate::harness::TestServer;

const WIDE: &str = r#""in.c-l"."wide""#;
const SMALL: &str = r#""in.c-l"."small""#;
const NAMED: &str = r#""in.c-l"."named""#;
const UUIDS: &str = r#""in.c-l"."uuids""#;

/// A value as sent on the wire, whatever its type.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// What a statement answered: its columns (name, type) and rows, or its SQLSTATE.
type Answer = Result<(Vec<(String, Type)>, Vec<Vec<Option<Raw>>>), String>;

async fn answer(client: &Client, statement: &Statement, params: &[&(dyn ToSql + Sync)]) -> Answer {
    let rows = client.query(statement, params).await.map_err(|e| crate::harness::sqlstate(&e).to_owned())?;
    let columns = statement.columns().iter().map(|c| (c.name().to_owned(), c.type_().clone())).collect();
    let rows = rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, Option<Raw>>(i)).collect()).collect();
    Ok((columns, rows))
}

/// A simple query's answer: its rows as text, or its SQLSTATE.
async fn simple(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let messages = client.simple_query(sql).await.map_err(|e| crate::harness::sqlstate(&e).to_owned())?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect())
}

/// The answer outside a transaction block (the index's, once it is read) and inside one (the
/// engine's), through both protocols.
async fn compare(client: &Client, sql: &str, types: &[Type], params: &[&(dyn ToSql + Sync)]) {
    // (a statement the engine cannot describe fails alike in both: its simple query is compared)
    if let Ok(statement) = client.prepare_typed(sql, types).await {
        let indexed = answer(client, &statement, params).await;
        client.batch_execute("BEGIN").await.unwrap();
        let engine = answer(client, &statement, params).await;
        client.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(indexed, engine, "{sql} with {params:?}");
    }
    if params.is_empty() {
        let indexed = simple(client, sql).await;
        client.batch_execute("BEGIN").await.unwrap();
        // a text of its own, planned afresh: not the plan the session kept for the text, nor
        // the one it made of it as another key's lookup
        static TEXTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = TEXTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let engine = simple(client, &format!("{sql} -- planned afresh {n}")).await;
        client.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(indexed, engine, "{sql} (simple protocol)");
    }
}

#[tokio::test]
async fn indexed_lookups_answer_what_the_engine_answers() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("lookups").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(&format!(
        r#"CREATE SCHEMA "in.c-l";
           CREATE TABLE {WIDE} (id BIGINT NOT NULL, s STRING, d DOUBLE, n NUMERIC(12,2), day DATE,
                                ts TIMESTAMP, b BOOLEAN, PRIMARY KEY (id));
           INSERT INTO {WIDE} SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'row ' || i END, i / 3,
                                     i * 1.25, DATE '2024-01-01' + i::INTEGER,
                                     TIMESTAMP '2024-01-01 10:00:00' + to_seconds(i), i % 2 = 0
                              FROM range(200) t(i);
           CREATE TABLE {SMALL} (k INTEGER NOT NULL, s STRING, PRIMARY KEY (k));
           INSERT INTO {SMALL} SELECT i, 'k' || i FROM range(100) t(i);
           CREATE TABLE {NAMED} (code STRING NOT NULL, v BIGINT, PRIMARY KEY (code));
           INSERT INTO {NAMED} SELECT 'c' || i, i FROM range(100) t(i);
           CREATE TABLE {UUIDS} (id UUID NOT NULL, v BIGINT, PRIMARY KEY (id));
           INSERT INTO {UUIDS} SELECT ('0a0eebc9-9c0b-4ef8-bb6d-6bb9bd38' || (1000 + i)::VARCHAR)::UUID, i
                               FROM range(100) t(i);"#
    ))
    .await
    .unwrap();
    // lookups of each table, then wait for the reads of their indexes
    for i in 0..20 {
        for sql in [
            format!("SELECT * FROM {WIDE} WHERE id = {i}"),
            format!("SELECT * FROM {SMALL} WHERE k = {i}"),
            format!("SELECT * FROM {NAMED} WHERE code = 'c{i}'"),
            format!("SELECT * FROM {UUIDS} WHERE id = '0a0eebc9-9c0b-4ef8-bb6d-6bb9bd38{}'", 1000 + i),
        ] {
            c.simple_query(&sql).await.unwrap();
        }
    }
    // (read after the statements' one implicit transaction committed, and again if a version
    // detached since moved the project's data epoch)
    for _ in 0..500 {
        if metric(&server, "duckstore_key_index_reads_total", "read").await >= 3.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(metric(&server, "duckstore_key_index_reads_total", "read").await >= 3.0);
    let hits = metric(&server, "duckstore_key_index_lookups_total", "hit").await;
    // the UUID table is never read into an index: its lookups are the engine's
    for i in 0..20 {
        let sql = format!("SELECT v FROM {UUIDS} WHERE id = '0a0eebc9-9c0b-4ef8-bb6d-6bb9bd38{}'", 1000 + i);
        assert_eq!(simple(&c, &sql).await.unwrap(), [[Some(i.to_string())]]);
    }
    assert_eq!(metric(&server, "duckstore_key_index_lookups_total", "hit").await, hits);

    for sql in [
        format!("SELECT * FROM {WIDE} WHERE id = 14"),
        format!("SELECT * FROM {WIDE} WHERE id = 15"),
        format!("SELECT s, id AS key, ts, day FROM {WIDE} WHERE id = 21"),
        format!(r#"SELECT "d", "d", n FROM {WIDE} WHERE "id" = 8"#),
        format!("SELECT ID, S FROM {WIDE} WHERE id = 3"),
        format!("SELECT * FROM {WIDE} WHERE id = -3"),
        format!("SELECT * FROM {WIDE} WHERE id = 1000"),
        format!("SELECT * FROM {WIDE} WHERE id = '12'"),
        format!("SELECT * FROM {WIDE} WHERE id = '012'"),
        format!("SELECT * FROM {WIDE} WHERE id = ' 12'"),
        format!("SELECT * FROM {WIDE} WHERE id = 'x'"),
        format!("SELECT * FROM {WIDE} WHERE id = 99999999999999999999"),
        format!("SELECT * FROM {WIDE} WHERE id = 999999999999999999999999999999999999999999"),
        format!("SELECT * FROM {WIDE} AS w WHERE id = 9"),
        format!("SELECT nope FROM {WIDE} WHERE id = 9"),
        format!("SELECT * FROM {SMALL} WHERE k = 3"),
        format!("SELECT * FROM {SMALL} WHERE k = 99999999999"),
        format!("SELECT * FROM {SMALL} WHERE k = '99999999999'"),
        format!("SELECT * FROM {SMALL} WHERE k = '-0'"),
        format!("SELECT * FROM {NAMED} WHERE code = 'c5'"),
        format!("SELECT * FROM {NAMED} WHERE code = 'C5'"),
        format!("SELECT * FROM {NAMED} WHERE code = 'c5 '"),
        format!("SELECT * FROM {NAMED} WHERE code = 5"),
        format!("SELECT v FROM {NAMED} WHERE code = 'it''s'"),
        // DuckDB casts what a UUID is compared with: never an index's byte comparison
        format!("SELECT v FROM {UUIDS} WHERE id = '0A0EEBC9-9C0B-4EF8-BB6D-6BB9BD381005'"),
        format!("SELECT v FROM {UUIDS} WHERE id = 'zzz'"),
    ] {
        compare(&c, &sql, &[], &[]).await;
    }
    let by_id = format!("SELECT * FROM {WIDE} WHERE id = $1");
    for id in [0i64, 7, 199, 200, -1, i64::MAX] {
        compare(&c, &by_id, &[], &[&id]).await;
    }
    for id in ["7", "-7", "x", "99999999999999999999"] {
        compare(&c, &by_id, &[Type::TEXT], &[&id]).await;
    }
    let by_k = format!("SELECT s FROM {SMALL} WHERE k = $1");
    for k in [3i32, 100, -5] {
        compare(&c, &by_k, &[], &[&k]).await;
    }
    for k in ["3", "99999999999", "3.0"] {
        compare(&c, &by_k, &[Type::TEXT], &[&k]).await;
    }
    let by_code = format!("SELECT v, code FROM {NAMED} WHERE code = $1");
    for code in ["c9", "c99", "c100", ""] {
        compare(&c, &by_code, &[], &[&code]).await;
    }
    let null: Option<i64> = None;
    compare(&c, &by_id, &[], &[&null]).await;
    let answered = metric(&server, "duckstore_key_index_lookups_total", "hit").await - hits;
    assert!(answered >= 20.0, "only {answered} lookups were answered from an index");
    server.stop().await;
}

/// A lookup answered from an index is still a read of the session's own project, under its
/// token: another project's table of the same name is its own, and a revoked token reads
/// nothing, however warm the index.
#[tokio::test]
async fn an_index_answers_only_who_may_read_the_table() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("owner").await;
    let owner = server.connect(&user, &token).await;
    owner
        .batch_execute(&format!(
            r#"CREATE SCHEMA "in.c-l"; CREATE TABLE {SMALL} (k INTEGER NOT NULL, s STRING, PRIMARY KEY (k));
               INSERT INTO {SMALL} SELECT i, 'secret ' || i FROM range(100) t(i);"#
        ))
        .await
        .unwrap();
    let row = owner.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let (id, reader_user, reader_token): (String, String, String) =
        (row.get("token_id"), row.get("user_name"), row.get("token"));
    let reader = server.connect(&reader_user, &reader_token).await;
    let lookup = format!("SELECT s FROM {SMALL} WHERE k = 5");
    for _ in 0..200 {
        assert_eq!(simple(&reader, &lookup).await.unwrap(), [[Some("secret 5".to_owned())]]);
        if metric(&server, "duckstore_key_index_lookups_total", "hit").await > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(metric(&server, "duckstore_key_index_lookups_total", "hit").await > 0.0);

    let (_, other_user, other_token) = server.project("stranger").await;
    let stranger = server.connect(&other_user, &other_token).await;
    assert_eq!(simple(&stranger, &lookup).await.unwrap_err(), "42P01");
    stranger
        .batch_execute(&format!(
            r#"CREATE SCHEMA "in.c-l"; CREATE TABLE {SMALL} (k INTEGER NOT NULL, s STRING, PRIMARY KEY (k));
               INSERT INTO {SMALL} VALUES (5, 'mine')"#
        ))
        .await
        .unwrap();
    for _ in 0..40 {
        assert_eq!(simple(&stranger, &lookup).await.unwrap(), [[Some("mine".to_owned())]]);
    }

    owner.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap();
    assert_eq!(simple(&reader, &lookup).await.unwrap_err(), "28P01");
    server.stop().await;
}

/// A table keyed by a type DuckDB compares otherwise than by value or bytes is never read
/// into an index, however often it is looked up.
#[tokio::test]
async fn a_key_of_another_type_is_never_indexed() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("refused").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-l";
           CREATE TABLE "in.c-l"."exact" (id DECIMAL(18, 0) NOT NULL, v BIGINT, PRIMARY KEY (id));
           INSERT INTO "in.c-l"."exact" VALUES (1, 1), (2, 2);"#,
    )
    .await
    .unwrap();
    for _ in 0..3 {
        for _ in 0..20 {
            let answer = simple(&c, r#"SELECT v FROM "in.c-l"."exact" WHERE id = 2"#).await.unwrap();
            assert_eq!(answer, [[Some("2".to_owned())]]);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for outcome in ["read", "unusable_keys", "unread", "too_large"] {
        assert_eq!(metric(&server, "duckstore_key_index_reads_total", outcome).await, 0.0, "{outcome}");
    }
    server.stop().await;
}

/// A session plans a lookup text with another key from the one it planned before (see
/// `gateway::lookup::LiteralSlot`): the plan follows the session's settings (an unqualified
/// name means the table of the schema first in `search_path`), and what a new key's text
/// answers is what the engine answers for it.
#[tokio::test]
async fn a_lookup_with_another_key_reads_what_its_text_says() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("slots").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-a"; CREATE SCHEMA "in.c-b";
           CREATE TABLE "in.c-a"."t" (id BIGINT NOT NULL, v STRING, PRIMARY KEY (id));
           CREATE TABLE "in.c-b"."t" (id BIGINT NOT NULL, v STRING, PRIMARY KEY (id));
           INSERT INTO "in.c-a"."t" SELECT i, 'a' || i FROM range(50) t(i);
           INSERT INTO "in.c-b"."t" SELECT i, 'b' || i FROM range(50) t(i);"#,
    )
    .await
    .unwrap();
    let v = |rows: Result<Vec<Vec<Option<String>>>, String>| rows.unwrap().first().and_then(|r| r[0].clone());
    c.batch_execute(r#"SET search_path = "in.c-a""#).await.unwrap();
    for i in 0..30 {
        assert_eq!(v(simple(&c, &format!("SELECT v FROM t WHERE id = {i}")).await), Some(format!("a{i}")));
    }
    c.batch_execute(r#"SET search_path = "in.c-b""#).await.unwrap();
    for i in 0..30 {
        assert_eq!(v(simple(&c, &format!("SELECT v FROM t WHERE id = {i}")).await), Some(format!("b{i}")));
    }
    // texts that look like the lookup with another key but are not one answer as in a session
    // that kept no plan
    for sql in [
        "SELECT v FROM t WHERE id = 7.0",
        "SELECT v FROM t WHERE id = 7 OR id = 8",
        "SELECT v FROM t WHERE id = 0x10",
        "SELECT v FROM t WHERE id = 1e1",
        "SELECT v FROM t WHERE id = 99",
        "SELECT v FROM t WHERE id = 12; SELECT 1",
        "SELECT v FROM t WHERE id = '12'",
        "SELECT v FROM t WHERE id = 12 -- x",
    ] {
        let fresh = server.connect(&user, &token).await;
        fresh.batch_execute(r#"SET search_path = "in.c-b""#).await.unwrap();
        let expected = simple(&fresh, sql).await;
        assert_eq!(simple(&c, sql).await, expected, "{sql}");
        assert!(
            matches!(&expected, Ok(rows) if !rows.is_empty()) || sql.contains("0x") || sql.contains("99"),
            "{sql}: {expected:?}"
        );
    }
    server.stop().await;
}

/// A table keyed by one column is read into its index when a write fills it, and an index
/// that answered lookups is read again after each write that ends it, so that lookups after a
/// write find an index as they would PostgreSQL's; an index no lookup used is not read again
/// for the next write. Each lookup answers what the last write left.
#[tokio::test]
async fn a_write_has_its_tables_index_read_again() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("eager").await;
    let c = server.connect(&user, &token).await;
    let at = &server;
    let reads = || metric(at, "duckstore_key_index_reads_total", "read");
    let hits = || metric(at, "duckstore_key_index_lookups_total", "hit");
    // waits for a read after `since` reads, with no lookup meanwhile
    let read_since = |since: f64| async move {
        for _ in 0..500 {
            if reads().await > since {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let unread = metric(at, "duckstore_key_index_reads_total", "unread").await;
        panic!("no index read after {since} ({unread} unread)");
    };
    let since = reads().await;
    c.batch_execute(&format!(
        r#"CREATE SCHEMA "in.c-l"; CREATE TABLE {SMALL} (k INTEGER NOT NULL, s STRING, PRIMARY KEY (k));
           INSERT INTO {SMALL} SELECT i, 'k' || i FROM range(100) t(i);"#
    ))
    .await
    .unwrap();
    // read after the write, before any lookup: the first lookup is the index's
    read_since(since).await;
    let before = hits().await;
    assert_eq!(simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 5")).await.unwrap(), [[Some("k5".to_owned())]]);
    assert_eq!(hits().await, before + 1.0);

    // the index answered: a write has it read again, and lookups see the write
    let since = reads().await;
    c.batch_execute(&format!("UPDATE {SMALL} SET s = 'changed' WHERE k = 5")).await.unwrap();
    read_since(since).await;
    let before = hits().await;
    assert_eq!(
        simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 5")).await.unwrap(),
        [[Some("changed".to_owned())]]
    );
    assert_eq!(hits().await, before + 1.0);

    // through COPY and a transaction block too
    let since = reads().await;
    let sink = c.copy_in::<_, bytes::Bytes>(&format!("COPY {SMALL} FROM STDIN")).await.unwrap();
    futures::pin_mut!(sink);
    futures::SinkExt::send(&mut sink, bytes::Bytes::from_static(b"500\tcopied\n")).await.unwrap();
    sink.finish().await.unwrap();
    read_since(since).await;
    assert_eq!(
        simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 500")).await.unwrap(),
        [[Some("copied".to_owned())]]
    );
    let since = reads().await;
    c.batch_execute(&format!("BEGIN; DELETE FROM {SMALL} WHERE k = 500; COMMIT")).await.unwrap();
    read_since(since).await;
    let before = hits().await;
    assert!(simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 500")).await.unwrap().is_empty());
    assert_eq!(hits().await, before + 1.0);

    // read after the last write, but not looked up before the next: not read again
    let since = reads().await;
    c.batch_execute(&format!("DELETE FROM {SMALL} WHERE k = 1")).await.unwrap();
    read_since(since).await;
    let since = reads().await;
    c.batch_execute(&format!("DELETE FROM {SMALL} WHERE k = 2")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(reads().await, since);
    assert!(simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 2")).await.unwrap().is_empty());
    server.stop().await;
}

/// A NULL interval reaches a binary-format client as NULL, in a computed column and in a table's
/// column, whatever the engine left in its slot (it was sent as 16 bytes of server memory).
#[tokio::test]
async fn a_null_interval_in_binary_is_null() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("intervals").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(
        r#"CREATE SCHEMA "in.c-l"; CREATE TABLE "in.c-l"."iv" (id BIGINT NOT NULL, iv INTERVAL, PRIMARY KEY (id));
           INSERT INTO "in.c-l"."iv" VALUES (1, NULL), (2, INTERVAL '1 day')"#,
    )
    .await
    .unwrap();
    // (tokio-postgres asks for every result column in binary)
    let rows = c
        .query("SELECT CASE WHEN i % 2 = 0 THEN NULL ELSE INTERVAL '1 day' END FROM range(0, 4000) t(i)", &[])
        .await
        .unwrap();
    let values: Vec<Option<Raw>> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(values.iter().filter(|v| v.is_none()).count(), 2000);
    let day = Raw([0i64.to_be_bytes().as_slice(), &1i32.to_be_bytes(), &0i32.to_be_bytes()].concat());
    assert!(values.iter().flatten().all(|v| *v == day));
    let rows = c.query(r#"SELECT id, iv FROM "in.c-l"."iv" ORDER BY id"#, &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, Option<Raw>>(1), None);
    assert_eq!(rows[1].get::<_, Option<Raw>>(1), Some(day));
    server.stop().await;
}

/// Writes alone never keep an index being read: a table written by transaction blocks (each
/// commit a new version of its file) and never looked up is read once; an index that served
/// lookups, then only sees writes (of another table), is read again at most once.
#[tokio::test]
async fn writes_without_lookups_cost_at_most_one_read() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("quiet").await;
    let c = server.connect(&user, &token).await;
    let reads = || metric(&server, "duckstore_key_index_reads_total", "read");
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(400));
    c.batch_execute(&format!(
        r#"CREATE SCHEMA "in.c-l"; CREATE TABLE {SMALL} (k INTEGER NOT NULL, s STRING, PRIMARY KEY (k));
           CREATE TABLE "in.c-l"."other" (k INTEGER, v INTEGER);"#
    ))
    .await
    .unwrap();
    let since = reads().await;
    c.batch_execute(&format!("INSERT INTO {SMALL} SELECT i, 'k' || i FROM range(100) t(i)")).await.unwrap();
    settle().await;
    assert_eq!(reads().await, since + 1.0, "a filled table is read once");
    for i in 0..5 {
        c.batch_execute(&format!("BEGIN; UPDATE {SMALL} SET s = 'c{i}' WHERE k = 1; COMMIT")).await.unwrap();
        settle().await;
    }
    assert_eq!(reads().await, since + 1.0, "commits of a table no lookup used read it again");

    // served, then only other writes: read again once, not at every write
    let before = metric(&server, "duckstore_key_index_lookups_total", "hit").await;
    for _ in 0..40 {
        assert_eq!(simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 1")).await.unwrap(), [[Some("c4".to_owned())]]);
    }
    assert!(metric(&server, "duckstore_key_index_lookups_total", "hit").await > before);
    settle().await;
    let since = reads().await;
    for i in 0..6 {
        c.batch_execute(&format!(r#"INSERT INTO "in.c-l"."other" VALUES ({i}, {i})"#)).await.unwrap();
        settle().await;
    }
    assert!(reads().await <= since + 1.0, "{} reads for writes of another table", reads().await - since);
    assert_eq!(simple(&c, &format!("SELECT s FROM {SMALL} WHERE k = 1")).await.unwrap(), [[Some("c4".to_owned())]]);

    server.stop().await;
}
