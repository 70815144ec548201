//! What the server keeps between two identical reads (a session's resolved names, an engine
//! connection's prepared plans) never answers a stale value: after each way a table can be
//! written, replaced, renamed or restored, the same text read twice answers the new data.
//!
//! The values jump from small to beyond 2^40 on purpose: DuckDB packs sort keys by the
//! statistics it planned with, so a plan kept across such a write answers wrong values.

use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::harness::TestServer;

const T: &str = r#""in.c-c"."t""#;
/// A full sort, where DuckDB compresses the sort keys by the columns' statistics.
const TOP: &str = r#"SELECT v, id FROM "in.c-c"."t" ORDER BY v DESC, id"#;
const ALL: &str = r#"SELECT * FROM "in.c-c"."t" ORDER BY id"#;

async fn rows(client: &Client, sql: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for message in client.simple_query(sql).await.unwrap() {
        if let SimpleQueryMessage::Row(row) = message {
            out.push((0..row.len()).map(|i| row.get(i).unwrap_or("NULL").to_owned()).collect());
        }
    }
    out
}

/// The table as the test wrote it: (id, v) pairs.
struct Model(Vec<(i64, i64)>);

impl Model {
    /// What `TOP` answers.
    fn top(&self) -> Vec<Vec<String>> {
        let mut sorted = self.0.clone();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sorted.iter().map(|(id, v)| vec![v.to_string(), id.to_string()]).collect()
    }
}

/// Reads the top rows until one read is answered from the result the session kept (a read
/// that begins while a write is still finishing is not kept), and looks each key up until the
/// table's key index answers, checking every answer.
async fn check(server: &TestServer, client: &Client, model: &Model, after: &str) {
    check_reads(server, client, model, after).await;
    check_lookups(server, client, model, after).await;
}

/// Looks every key of the model up, and one that is not there, by a literal and by a
/// parameter, until the table's key index answers (it is read in the background once a table
/// has been looked up often enough), checking every answer.
async fn check_lookups(server: &TestServer, client: &Client, model: &Model, after: &str) {
    let by_param = client.prepare(r#"SELECT v, id FROM "in.c-c"."t" WHERE id = $1"#).await.unwrap();
    for round in 0..100 {
        let hits = metric(server, "duckstore_key_index_lookups_total", "hit").await;
        for &(id, v) in model.0.iter().chain(&[(-1, 0)]) {
            let expected: Vec<Vec<String>> = if id < 0 { vec![] } else { vec![vec![v.to_string(), id.to_string()]] };
            let sql = format!(r#"SELECT v, id FROM "in.c-c"."t" WHERE id = {id}"#);
            assert_eq!(rows(client, &sql).await, expected, "after {after}, lookup round {round}");
            let answered: Vec<Vec<String>> = client
                .query(&by_param, &[&id])
                .await
                .unwrap()
                .iter()
                .map(|r| vec![r.get::<_, i64>(0).to_string(), r.get::<_, i64>(1).to_string()])
                .collect();
            assert_eq!(answered, expected, "after {after}, lookup by parameter, round {round}");
        }
        if metric(server, "duckstore_key_index_lookups_total", "hit").await > hits {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("after {after}: no lookup was answered from the key index");
}

/// Reads the top rows until one read is answered from the result the session kept.
async fn check_reads(server: &TestServer, client: &Client, model: &Model, after: &str) {
    for round in 0..4 {
        let hits = kept_results(server, "hit").await;
        assert_eq!(rows(client, TOP).await, model.top(), "after {after}, read {round}");
        if round > 0 && kept_results(server, "hit").await > hits {
            return;
        }
    }
    panic!("after {after}: no read was answered from the kept result");
}

/// `duckstore_kept_results_total{outcome}` (each test runs in a process of its own).
pub(crate) async fn kept_results(server: &TestServer, outcome: &str) -> f64 {
    metric(server, "duckstore_kept_results_total", outcome).await
}

/// A counter's value by its `outcome` label.
pub(crate) async fn metric(server: &TestServer, name: &str, outcome: &str) -> f64 {
    let metrics = reqwest::get(format!("http://{}/metrics", server.http_addr)).await.unwrap().text().await.unwrap();
    let prefix = format!("{name}{{outcome=\"{outcome}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn identical_reads_see_every_write_path() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("caches").await;
    let c = server.connect(&user, &token).await;
    let other = server.connect(&user, &token).await;
    c.batch_execute(&format!(
        r#"CREATE SCHEMA "in.c-c";
           CREATE TABLE {T} (id BIGINT NOT NULL, v BIGINT, PRIMARY KEY (id));
           INSERT INTO {T} VALUES (1, 1), (2, 2), (3, 3), (4, 4);
           CREATE TABLE "in.c-c"."src" (id BIGINT NOT NULL, v BIGINT, PRIMARY KEY (id));
           INSERT INTO "in.c-c"."src" VALUES (1, 1099511627776), (50, 1099511627777);"#
    ))
    .await
    .unwrap();
    let mut model = Model(vec![(1, 1), (2, 2), (3, 3), (4, 4)]);
    check(&server, &c, &model, "the first load").await;

    // DML from another session of the project
    other.batch_execute(&format!("INSERT INTO {T} VALUES (5, 1099511627775)")).await.unwrap();
    model.0.push((5, 1_099_511_627_775));
    check(&server, &c, &model, "INSERT").await;
    other.batch_execute(&format!("UPDATE {T} SET v = v * 3 WHERE id = 2")).await.unwrap();
    model.0.iter_mut().filter(|r| r.0 == 2).for_each(|r| r.1 *= 3);
    check(&server, &c, &model, "UPDATE").await;
    other.batch_execute(&format!("DELETE FROM {T} WHERE id = 5")).await.unwrap();
    model.0.retain(|r| r.0 != 5);
    check(&server, &c, &model, "DELETE").await;

    // COPY FROM STDIN
    let sink = other.copy_in::<_, Bytes>(&format!("COPY {T} FROM STDIN (FORMAT csv)")).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"6,2199023255552\n7,-5\n")).await.unwrap();
    sink.finish().await.unwrap();
    model.0.extend([(6, 2_199_023_255_552), (7, -5)]);
    check(&server, &c, &model, "COPY").await;

    // a transaction block's COMMIT (private versions switched in)
    other
        .batch_execute(&format!(
            "BEGIN; INSERT INTO {T} VALUES (8, 4398046511104); DELETE FROM {T} WHERE id = 6; COMMIT"
        ))
        .await
        .unwrap();
    model.0.retain(|r| r.0 != 6);
    model.0.push((8, 4_398_046_511_104));
    check(&server, &c, &model, "COMMIT").await;

    // a snapshot, then writes, then its restore
    let snapshot: i64 = other.query_one("CALL create_snapshot(table => 'in.c-c.t')", &[]).await.unwrap().get("id");
    let at_snapshot = model.0.clone();
    other.batch_execute(&format!("TRUNCATE {T}")).await.unwrap();
    model.0.clear();
    check(&server, &c, &model, "TRUNCATE").await;
    other.batch_execute(&format!("INSERT INTO {T} VALUES (9, 9)")).await.unwrap();
    model.0.push((9, 9));
    check(&server, &c, &model, "INSERT after TRUNCATE").await;
    other.query_one("CALL restore_snapshot(id => $1)", &[&snapshot]).await.unwrap();
    model.0 = at_snapshot;
    check(&server, &c, &model, "restore_snapshot").await;

    // loads: incremental (upsert by the primary key), then a full load replacing every row
    other
        .batch_execute("CALL import_table_from_table(table => 'in.c-c.t', source => 'in.c-c.src', incremental => true)")
        .await
        .unwrap();
    model.0.retain(|r| r.0 != 1 && r.0 != 50);
    model.0.extend([(1, 1_099_511_627_776), (50, 1_099_511_627_777)]);
    check(&server, &c, &model, "an incremental load").await;
    other.batch_execute("CALL import_table_from_table(table => 'in.c-c.t', source => 'in.c-c.src')").await.unwrap();
    model.0 = vec![(1, 1_099_511_627_776), (50, 1_099_511_627_777)];
    check(&server, &c, &model, "a full load").await;
    other.batch_execute("CALL delete_rows(table => 'in.c-c.t', \"where\" => '[{\"column\": \"id\", \"operator\": \"eq\", \"values\": [\"50\"]}]')").await.unwrap();
    model.0.retain(|r| r.0 != 50);
    check(&server, &c, &model, "delete_rows").await;

    // the name comes to mean another table: dropped and created again, renamed over
    other
        .batch_execute(&format!(
            "DROP TABLE {T}; CREATE TABLE {T} (id BIGINT, v BIGINT); INSERT INTO {T} VALUES (20, 7)"
        ))
        .await
        .unwrap();
    model.0 = vec![(20, 7)];
    // (no primary key now: no key index)
    check_reads(&server, &c, &model, "DROP and CREATE").await;
    other
        .batch_execute(&format!(r#"ALTER TABLE {T} RENAME TO "old"; ALTER TABLE "in.c-c"."src" RENAME TO "t""#))
        .await
        .unwrap();
    model.0 = vec![(1, 1_099_511_627_776), (50, 1_099_511_627_777)];
    check(&server, &c, &model, "RENAME").await;

    // a schema change: `*` now answers the new column, and describes it (the engine keeps what
    // it described of a text: each Parse of one describes it)
    let described = |columns: &[tokio_postgres::Column]| -> Vec<(String, String)> {
        columns.iter().map(|c| (c.name().to_owned(), c.type_().name().to_owned())).collect()
    };
    assert_eq!(rows(&c, ALL).await[0].len(), 2);
    assert_eq!(rows(&c, ALL).await[0].len(), 2);
    for _ in 0..2 {
        let statement = c.prepare(ALL).await.unwrap();
        assert_eq!(described(statement.columns()), [("id".into(), "int8".into()), ("v".into(), "int8".into())]);
    }
    other.batch_execute(&format!("ALTER TABLE {T} ADD COLUMN note STRING")).await.unwrap();
    assert_eq!(rows(&c, ALL).await[0], ["1", "1099511627776", "NULL"]);
    let statement = c.prepare(ALL).await.unwrap();
    assert_eq!(
        described(statement.columns()),
        [("id".into(), "int8".into()), ("v".into(), "int8".into()), ("note".into(), "text".into())]
    );
    check(&server, &c, &model, "ADD COLUMN").await;

    // another session of another project reading its own table of the same name sees its own
    let (_, user2, token2) = server.project("caches-2").await;
    let stranger = server.connect(&user2, &token2).await;
    stranger
        .batch_execute(&format!(
            r#"CREATE SCHEMA "in.c-c"; CREATE TABLE {T} (id BIGINT, v BIGINT); INSERT INTO {T} VALUES (99, 99)"#
        ))
        .await
        .unwrap();
    assert_eq!(rows(&stranger, TOP).await, Model(vec![(99, 99)]).top());
    check(&server, &c, &model, "another project's write").await;
    server.stop().await;
}

#[tokio::test]
async fn a_kept_resolution_never_outlives_a_link_or_a_token() {
    let server = TestServer::start().await;
    let (source, source_user, _) = crate::tables::sales(&server).await;
    let source_project: i64 = source_user.split('-').next().unwrap().parse().unwrap();
    let (target_project, user, token) = server.project("target").await;
    let target = server.connect(&user, &token).await;
    source.query_one("CALL share_bucket(bucket => 'in.c-sales', project => $1)", &[&target_project]).await.unwrap();
    target
        .simple_query(&format!(
            "CALL link_bucket(source_project => {source_project}, source_bucket => 'in.c-sales', stage => 'in', name => 'shared')"
        ))
        .await
        .unwrap();
    let linked = r#"SELECT count(*), max(id) FROM "in.c-shared"."orders""#;
    for _ in 0..2 {
        assert_eq!(rows(&target, linked).await, [["3", "3"]]);
    }
    // the source's writes arrive live, in place and as a new version of the table
    source.batch_execute(r#"INSERT INTO "in.c-sales"."orders" (id) VALUES (2000000000)"#).await.unwrap();
    for _ in 0..2 {
        assert_eq!(rows(&target, linked).await, [["4", "2000000000"]]);
    }
    source.batch_execute(r#"ALTER TABLE "in.c-sales"."orders" ADD COLUMN note STRING"#).await.unwrap();
    source.batch_execute(r#"DELETE FROM "in.c-sales"."orders" WHERE id > 2"#).await.unwrap();
    for _ in 0..2 {
        assert_eq!(rows(&target, linked).await, [["2", "2"]]);
    }
    // unlinked, the same text names nothing
    target.query_one("CALL unlink_bucket(bucket => 'in.c-shared')", &[]).await.unwrap();
    let err = target.simple_query(linked).await.unwrap_err();
    assert_eq!(crate::harness::sqlstate(&err), "42P01", "{err}");

    // a token's session keeps nothing past the token's revocation
    let row = source.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap();
    let (id, reader_user, reader_token): (String, String, String) =
        (row.get("token_id"), row.get("user_name"), row.get("token"));
    let reader = server.connect(&reader_user, &reader_token).await;
    let own = r#"SELECT count(*) FROM "in.c-sales"."orders""#;
    for _ in 0..2 {
        assert_eq!(rows(&reader, own).await, [["2"]]);
    }
    source.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap();
    let err = reader.simple_query(own).await.unwrap_err();
    assert_eq!(crate::harness::sqlstate(&err), "28P01", "{err}");
    server.stop().await;
}

/// Every table and column the catalog shows of the schema `in.c-c` (pg_class, pg_attribute,
/// pg_namespace: the relations a BI tool's navigator and psql's `\d` read), with pg_class's
/// row estimate.
const COLUMNS: &str = "SELECT c.relname, c.relkind, a.attname, c.reltuples::bigint FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
     WHERE n.nspname = 'in.c-c' AND a.attnum > 0 AND c.relkind IN ('r', 'v') ORDER BY 1, 3";

/// `COLUMNS`, twice (the second read is the one a kept relation would answer).
async fn catalog_rows(client: &Client) -> Vec<Vec<String>> {
    let first = rows(client, COLUMNS).await;
    assert_eq!(rows(client, COLUMNS).await, first);
    first
}

fn named(rows: &[(&str, &str, &str, &str)]) -> Vec<Vec<String>> {
    rows.iter().map(|(a, b, c, d)| vec![a.to_string(), b.to_string(), c.to_string(), d.to_string()]).collect()
}

#[tokio::test]
async fn kept_catalog_relations_follow_every_change_and_stay_with_their_scope() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("kept").await;
    let (reader, writer) = (server.connect(&user, &token).await, server.connect(&user, &token).await);
    writer.batch_execute(r#"CREATE SCHEMA "in.c-c""#).await.unwrap();
    assert!(catalog_rows(&reader).await.is_empty());
    writer.batch_execute(&format!("CREATE TABLE {T} (id BIGINT)")).await.unwrap();
    assert_eq!(catalog_rows(&reader).await, named(&[("t", "r", "id", "0")]));
    writer.batch_execute(&format!("INSERT INTO {T} VALUES (1), (2)")).await.unwrap();
    assert_eq!(catalog_rows(&reader).await, named(&[("t", "r", "id", "2")]));
    writer.batch_execute(&format!("ALTER TABLE {T} ADD COLUMN v BIGINT")).await.unwrap();
    writer.batch_execute(r#"CREATE VIEW "in.c-c"."w" AS SELECT v FROM t"#).await.unwrap();
    let both = named(&[("t", "r", "id", "2"), ("t", "r", "v", "2"), ("w", "v", "v", "0")]);
    assert_eq!(catalog_rows(&reader).await, both);
    writer.batch_execute(r#"DROP VIEW "in.c-c"."w""#).await.unwrap();
    writer.batch_execute(&format!("ALTER TABLE {T} RENAME TO u")).await.unwrap();
    assert_eq!(catalog_rows(&reader).await, named(&[("u", "r", "id", "2"), ("u", "r", "v", "2")]));
    writer.batch_execute(r#"ALTER TABLE "in.c-c"."u" RENAME TO t"#).await.unwrap();
    // a transaction block's own tables are its alone, and go with its rollback
    writer.batch_execute(r#"BEGIN; CREATE TABLE "in.c-c"."x" (k INTEGER)"#).await.unwrap();
    assert_eq!(catalog_rows(&writer).await.len(), 3);
    assert_eq!(catalog_rows(&reader).await.len(), 2);
    writer.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(catalog_rows(&writer).await.len(), 2);
    // another project's session with a schema of the same name sees its own tables only
    let (_, other_user, other_token) = server.project("other").await;
    let other = server.connect(&other_user, &other_token).await;
    other.batch_execute(r#"CREATE SCHEMA "in.c-c"; CREATE TABLE "in.c-c"."mine" (m INTEGER)"#).await.unwrap();
    assert_eq!(catalog_rows(&other).await, named(&[("mine", "r", "m", "0")]));
    writer.batch_execute(&format!("DROP TABLE {T}")).await.unwrap();
    assert!(catalog_rows(&reader).await.is_empty());

    // two sessions of one workspace: each sees the other's committed changes, not its block's
    let ws = writer.query_one("CALL create_workspace(name => 'k')", &[]).await.unwrap();
    let (ws_user, ws_password): (String, String) = (ws.get("user"), ws.get("password"));
    let w1 = server.try_connect(&ws_user, &ws_password, &ws_user).await.unwrap();
    let w2 = server.try_connect(&ws_user, &ws_password, &ws_user).await.unwrap();
    let tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1";
    for _ in 0..2 {
        assert!(rows(&w1, tables).await.is_empty());
    }
    w2.batch_execute("CREATE TABLE a (i INTEGER)").await.unwrap();
    for _ in 0..2 {
        assert_eq!(rows(&w1, tables).await, [["a"]]);
    }
    w2.batch_execute("BEGIN; CREATE TABLE b (i INTEGER)").await.unwrap();
    assert_eq!(rows(&w2, tables).await, [["a"], ["b"]]);
    assert_eq!(rows(&w1, tables).await, [["a"]]);
    w2.batch_execute("ROLLBACK").await.unwrap();
    w2.batch_execute("ALTER TABLE a RENAME TO c").await.unwrap();
    for _ in 0..2 {
        assert_eq!(rows(&w1, tables).await, [["c"]]);
    }
    // rows a COPY adds show in the row estimate, as an INSERT's do
    let estimate = "SELECT reltuples::bigint FROM pg_catalog.pg_class WHERE relname = 'c'";
    assert_eq!(rows(&w1, estimate).await, [["0"]]);
    let sink = w2.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"1\n2\n3\n")).await.unwrap();
    sink.finish().await.unwrap();
    assert_ne!(rows(&w1, estimate).await, [["0"]]);
    server.stop().await;
}

/// What a read answers differently each time, or from what the catalog does not hold, is
/// never answered from a kept result: a volatile function, the session's settings, the
/// clock-dependent token list. And a kept result is its session's alone.
#[tokio::test]
async fn only_repeatable_reads_of_the_catalog_and_tables_are_kept() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("kept").await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(&format!(
        r#"CREATE SCHEMA "in.c-c";
           CREATE TABLE {T} (id BIGINT NOT NULL, v BIGINT, PRIMARY KEY (id));
           INSERT INTO {T} VALUES (1, 1), (2, 2), (3, 3);"#
    ))
    .await
    .unwrap();
    let hits = kept_results(&server, "hit").await;
    // random() and clock_timestamp(): DuckDB calls them volatile, so nothing is kept
    for sql in [
        format!("SELECT id, random() FROM {T} ORDER BY id"),
        format!("SELECT id, clock_timestamp()::text FROM {T} ORDER BY id"),
        format!("SELECT id, now()::text, v FROM {T} WHERE v > 0 ORDER BY id"),
        // DuckDB calls age() consistent, but with one argument it measures from the
        // transaction's start
        format!("SELECT id, age(TIMESTAMP '2000-01-01')::text FROM {T} ORDER BY id"),
        format!("SELECT count(*) FROM {T} TABLESAMPLE 50 PERCENT"),
        // SQL's clock keywords, which DuckDB's parser reads as column names
        format!("SELECT id, current_timestamp FROM {T} ORDER BY id"),
        format!("SELECT count(*) FROM {T} WHERE current_date > DATE '2000-01-01' AND localtimestamp IS NOT NULL"),
    ] {
        let first = rows(&c, &sql).await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        c.batch_execute("BEGIN; COMMIT").await.unwrap();
        let second = rows(&c, &sql).await;
        if sql.contains("random") || sql.contains("clock") || sql.contains("current_timestamp FROM") {
            assert_ne!(first, second, "{sql}");
        }
    }
    assert_eq!(kept_results(&server, "hit").await, hits, "a read calling a volatile function was kept");

    // the session's own settings (pg_settings) are read afresh
    let setting = "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'TimeZone'";
    assert_eq!(rows(&c, setting).await, vec![vec!["UTC".to_owned()]]);
    c.batch_execute("SET TimeZone = 'Europe/Prague'").await.unwrap();
    assert_eq!(rows(&c, setting).await, vec![vec!["Europe/Prague".to_owned()]]);

    // a catalog view follows a write to a table's rows
    let counted = r#"SELECT name, rows FROM duckstore.tables WHERE name = 't'"#;
    assert_eq!(rows(&c, counted).await, vec![vec!["t".to_owned(), "3".to_owned()]]);
    let before = kept_results(&server, "hit").await;
    assert_eq!(rows(&c, counted).await, vec![vec!["t".to_owned(), "3".to_owned()]]);
    assert_eq!(kept_results(&server, "hit").await, before + 1.0, "an unchanged catalog view is kept");
    let other = server.connect(&user, &token).await;
    other.batch_execute(&format!("INSERT INTO {T} VALUES (4, 4)")).await.unwrap();
    assert_eq!(rows(&c, counted).await, vec![vec!["t".to_owned(), "4".to_owned()]]);

    // texts DuckDB runs as the same SQL (json and jsonb are both its json) keep their own types
    for _ in 0..2 {
        for (sql, name) in [
            (format!(r#"SELECT '{{"a": 1}}'::json AS v FROM {T} WHERE id = 1"#), "json"),
            (format!(r#"SELECT '{{"a": 1}}'::jsonb AS v FROM {T} WHERE id = 1"#), "jsonb"),
        ] {
            let row = c.query_one(&sql, &[]).await.unwrap();
            assert_eq!(row.columns()[0].type_().name(), name, "{sql}");
        }
    }

    // another session of the same token reads afresh: nothing kept crosses sessions
    let before = kept_results(&server, "hit").await;
    assert_eq!(rows(&other, counted).await, vec![vec!["t".to_owned(), "4".to_owned()]]);
    assert_eq!(kept_results(&server, "hit").await, before, "a session answered from another's result");
    server.stop().await;
}
