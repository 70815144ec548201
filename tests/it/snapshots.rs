//! Snapshots as users' undo: manual and automatic, restored exactly; settings by level;
//! retention; time travel.

use std::time::Duration;

use tokio_postgres::Client;

use crate::harness::{TestServer, sqlstate};

async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

async fn setup(server: &TestServer, name: &str) -> (Client, String, String) {
    let (_, user, token) = server.project(name).await;
    let client = server.connect(&user, &token).await;
    client
        .batch_execute(
            r#"CREATE SCHEMA "in.c-s";
               CREATE TABLE "in.c-s"."t" (id INTEGER NOT NULL, name STRING DEFAULT 'none', PRIMARY KEY (id));
               INSERT INTO "in.c-s"."t" VALUES (1, 'a'), (2, 'b');"#,
        )
        .await
        .unwrap();
    (client, user, token)
}

async fn ids(client: &Client, table: &str) -> Vec<Vec<Option<String>>> {
    text_rows(client, &format!(r#"SELECT id, name FROM "in.c-s"."{table}" ORDER BY id"#)).await
}

#[tokio::test]
async fn a_snapshot_restores_rows_and_schema_exactly() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server, "snap").await;
    let row = c.query_one("CALL create_snapshot(table => 'in.c-s.t', description => 'before')", &[]).await.unwrap();
    let id: i64 = row.get("id");
    assert_eq!(row.get::<_, i64>("rows"), 2);
    assert!(row.get::<_, Option<chrono::DateTime<chrono::Utc>>>("expires").is_some());
    // writes after the snapshot never reach it (the next write copies the kept version)
    c.batch_execute(
        r#"INSERT INTO "in.c-s"."t" VALUES (3, 'c'); UPDATE "in.c-s"."t" SET name = 'A' WHERE id = 1;
           ALTER TABLE "in.c-s"."t" ADD COLUMN extra STRING, DROP CONSTRAINT t_pkey"#,
    )
    .await
    .unwrap();
    let second: i64 = c.query_one("CALL create_snapshot(table => 'in.c-s.t')", &[]).await.unwrap().get("id");
    c.batch_execute(r#"DELETE FROM "in.c-s"."t" WHERE id = 2"#).await.unwrap();
    let row = c.query_one("CALL restore_snapshot(id => $1)", &[&id]).await.unwrap();
    assert_eq!(row.get::<_, i64>("rows"), 2);
    assert_eq!(ids(&c, "t").await, vec![vec![s("1"), s("a")], vec![s("2"), s("b")]]);
    // the definition came back: columns, default, primary key
    assert_eq!(
        text_rows(
            &c,
            "SELECT name, \"default\", primary_key FROM duckstore.columns WHERE table_name = 't' ORDER BY position"
        )
        .await,
        vec![vec![s("id"), None, s("t")], vec![s("name"), s("'none'"), s("f")]]
    );
    let err = c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id) VALUES (1)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" (id) VALUES (5)"#).await.unwrap();
    // the second snapshot still holds its own state, as a new table
    let row =
        c.query_one("CALL restore_snapshot(id => $1, bucket => 'in.c-s', table => 'copy')", &[&second]).await.unwrap();
    assert_eq!(row.get::<_, String>("table"), "in.c-s.copy");
    assert_eq!(ids(&c, "copy").await, vec![vec![s("1"), s("A")], vec![s("2"), s("b")], vec![s("3"), s("c")]]);
    // restoring onto another existing table is refused
    let err = c
        .query_one("CALL restore_snapshot(id => $1, bucket => 'in.c-s', table => 'copy')", &[&second])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    c.query_one("CALL create_table_from_snapshot(id => $1, bucket => 'in.c-s', name => 'third')", &[&id])
        .await
        .unwrap();
    assert_eq!(ids(&c, "third").await.len(), 2);
    // restore_snapshot took an automatic snapshot of what it replaced (auto_snapshot_restore)
    let triggers = text_rows(&c, "SELECT trigger FROM duckstore.snapshots ORDER BY id").await;
    assert_eq!(triggers, vec![vec![None], vec![None], vec![s("restore")]]);
    c.query_one("CALL drop_snapshot(id => $1)", &[&second]).await.unwrap();
    let err = c.query_one("CALL drop_snapshot(id => $1)", &[&second]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42704");
    server.stop().await;
}

#[tokio::test]
async fn dropping_a_table_snapshots_it_first_and_it_comes_back() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server, "drops").await;
    c.batch_execute(r#"DROP TABLE "in.c-s"."t""#).await.unwrap();
    let row = text_rows(&c, "SELECT id, table_id, rows, trigger FROM duckstore.snapshots").await;
    assert_eq!(row.len(), 1);
    assert_eq!(row[0][1..], [s("in.c-s.t"), s("2"), s("drop_table")]);
    let id: i64 = row[0][0].as_ref().unwrap().parse().unwrap();
    // even the bucket may be gone: it comes back with the table
    c.batch_execute(r#"DROP SCHEMA "in.c-s""#).await.unwrap();
    c.query_one("CALL restore_snapshot(id => $1)", &[&id]).await.unwrap();
    assert_eq!(ids(&c, "t").await, vec![vec![s("1"), s("a")], vec![s("2"), s("b")]]);
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (3, 'c')"#).await.unwrap();
    // with the setting off, DROP TABLE keeps nothing
    c.query_one("CALL set_snapshot_settings(level => 'project', auto_snapshot_drop_table => false)", &[])
        .await
        .unwrap();
    c.batch_execute(r#"DROP TABLE "in.c-s"."t""#).await.unwrap();
    assert_eq!(text_rows(&c, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("1")]]);
    server.stop().await;
}

#[tokio::test]
async fn settings_inherit_from_project_to_bucket_to_table() {
    let server = TestServer::start().await;
    let (c, _, token) = setup(&server, "settings").await;
    c.batch_execute(r#"CREATE TABLE "in.c-s"."u" (id INTEGER)"#).await.unwrap();
    c.query_one(
        "CALL set_snapshot_settings(level => 'bucket', target => 'in.c-s', auto_snapshot_full_load => true, auto_retention_days => 14)",
        &[],
    )
    .await
    .unwrap();
    c.query_one(
        "CALL set_snapshot_settings(level => 'table', target => 'in.c-s.u', auto_snapshot_full_load => false)",
        &[],
    )
    .await
    .unwrap();
    let effective = text_rows(
        &c,
        "SELECT level, target, value, local_value, source FROM duckstore.snapshot_settings WHERE key = 'auto_snapshot_full_load' ORDER BY level, target",
    )
    .await;
    assert_eq!(
        effective,
        vec![
            vec![s("bucket"), s("in.c-s"), s("true"), s("true"), s("bucket")],
            vec![s("project"), s(""), s("false"), None, s("system")],
            vec![s("table"), s("in.c-s.t"), s("true"), None, s("bucket")],
            vec![s("table"), s("in.c-s.u"), s("false"), s("false"), s("table")],
        ]
    );
    // full loads: t snapshots first (bucket setting), u does not (its own setting)
    let upload = |body: &'static str| {
        let (addr, token) = (server.http_addr, token.clone());
        async move {
            let response = reqwest::Client::new()
                .post(format!("http://{addr}/v1/files?name=x.csv"))
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            response.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
        }
    };
    let file = upload("id,name\n9,z\n").await;
    c.execute("CALL import_table(table => 'in.c-s.t', file_id => $1)", &[&file]).await.unwrap();
    let file = upload("id\n9\n").await;
    c.execute("CALL import_table(table => 'in.c-s.u', file_id => $1)", &[&file]).await.unwrap();
    let snaps = text_rows(&c, "SELECT table_id, trigger, rows FROM duckstore.snapshots").await;
    assert_eq!(snaps, vec![vec![s("in.c-s.t"), s("full_load"), s("2")]]);
    let retention = text_rows(&c, "SELECT (expires_at - created_at) > INTERVAL 13 DAY FROM duckstore.snapshots").await;
    assert_eq!(retention, vec![vec![s("t")]]);
    // the snapshot taken before the full load has the old rows
    let id: i64 = c.query_one("SELECT id FROM duckstore.snapshots", &[]).await.unwrap().get(0);
    c.query_one("CALL restore_snapshot(id => $1)", &[&id]).await.unwrap();
    assert_eq!(ids(&c, "t").await.len(), 2);
    // bad settings are refused whole
    for (sql, state) in [
        ("CALL set_snapshot_settings(level => 'project', manual_retention_days => 0)", "22023"),
        ("CALL set_snapshot_settings(level => 'project', auto_retention_days => 4000)", "22023"),
        ("CALL set_snapshot_settings(level => 'project', no_such_key => 1)", "42883"),
        ("CALL set_snapshot_settings(level => 'bucket', target => 'in.c-s', time_travel_days => 3)", "22023"),
        ("CALL set_snapshot_settings(level => 'galaxy', manual_retention_days => 3)", "22023"),
        ("CALL set_snapshot_settings(level => 'project')", "22023"),
        // only targets that exist
        ("CALL set_snapshot_settings(level => 'bucket', target => 'in.c-nope', auto_retention_days => 3)", "3F000"),
        ("CALL set_snapshot_settings(level => 'table', target => 'in.c-s.nope', auto_retention_days => 3)", "42P01"),
        ("CALL set_snapshot_settings(level => 'table', target => 'in.c-nope.t', auto_retention_days => 3)", "42P01"),
    ] {
        let err = c.query_one(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&err), state, "{sql}");
    }
    let row = c
        .query_one(
            "CALL reset_snapshot_settings(level => 'bucket', target => 'in.c-s', keys => 'auto_snapshot_full_load')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("reset"), 1);
    let after = text_rows(
        &c,
        "SELECT value, source FROM duckstore.snapshot_settings WHERE key = 'auto_retention_days' AND target = 'in.c-s.t'",
    )
    .await;
    assert_eq!(after, vec![vec![s("14"), s("bucket")]]);
    server.stop().await;
}

#[tokio::test]
async fn snapshots_belong_to_their_project_and_need_write_access() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server, "owner").await;
    let id: i64 = c.query_one("CALL create_snapshot(table => 'in.c-s.t')", &[]).await.unwrap().get("id");
    let reader: String = c.query_one("CALL create_token(scope => 'branch_read')", &[]).await.unwrap().get("token");
    let ro = server.connect(reader.rsplit_once('-').unwrap().0, &reader).await;
    let err = ro.query_one("CALL create_snapshot(table => 'in.c-s.t')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    let err = ro.query_one("CALL restore_snapshot(id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    assert_eq!(text_rows(&ro, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("1")]]);
    let (stranger, _, _) = setup(&server, "stranger").await;
    for sql in ["CALL restore_snapshot(id => $1)", "CALL drop_snapshot(id => $1)"] {
        let err = stranger.query_one(sql, &[&id]).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42704", "{sql}");
    }
    assert_eq!(text_rows(&stranger, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("0")]]);
    let err = stranger.query_one("CALL set_snapshot_settings(level => 'table', target => 'in.c-s.t')", &[]).await;
    assert!(err.is_err());
    server.stop().await;
}

#[tokio::test]
async fn expired_snapshots_go_with_their_files() {
    let server = TestServer::start().await;
    let (c, user, token) = setup(&server, "expiry").await;
    c.query_one("CALL create_snapshot(table => 'in.c-s.t')", &[]).await.unwrap();
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (3, 'c')"#).await.unwrap();
    let data = server.data_dir.clone();
    let files = |data: &std::path::Path| {
        walk(&data.join("tables")).into_iter().filter(|p| p.extension().is_some_and(|e| e == "duckdb")).count()
    };
    assert_eq!(files(&data), 2, "the kept version and the current one");
    let keep = server.stop_keeping_data().await;
    {
        let catalog = rusqlite::Connection::open(data.join("catalog.sqlite")).unwrap();
        catalog.execute("UPDATE snapshots SET expires_at = 1", []).unwrap();
    }
    let (pg, http) = (
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    );
    let restarted = duckstore::server::start(crate::harness::config(data.clone()), pg, http).await.unwrap();
    assert_eq!(files(&data), 1, "the expired snapshot's file is gone");
    let conn = format!("host=127.0.0.1 port={} user={user} password={token} dbname=main", restarted.pg_addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    assert_eq!(text_rows(&client, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("0")]]);
    assert_eq!(ids(&client, "t").await.len(), 3);
    restarted.shutdown().await;
    drop(keep);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn time_travel_answers_kept_states_and_refuses_others() {
    let server = TestServer::start().await;
    let (c, _, _) = setup(&server, "travel").await;
    let now = || chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let after_first = now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    // with the default resolution an in-place write keeps no history: that instant is refused
    c.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (3, 'c')"#).await.unwrap();
    let err = c
        .query_one(
            "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'then')",
            &[&after_first],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "55000", "{err}");
    // a full load always keeps the version it replaces
    c.query_one("CALL set_snapshot_settings(level => 'project', time_travel_resolution_minutes => 0)", &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let three_rows = now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    c.batch_execute(r#"DELETE FROM "in.c-s"."t" WHERE id = 1"#).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let two_rows = now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    c.batch_execute(r#"ALTER TABLE "in.c-s"."t" ADD COLUMN x STRING"#).await.unwrap();
    c.batch_execute(r#"UPDATE "in.c-s"."t" SET name = 'changed'"#).await.unwrap();
    let row = c
        .query_one(
            "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'three')",
            &[&three_rows],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("rows"), 3);
    assert_eq!(ids(&c, "three").await, vec![vec![s("1"), s("a")], vec![s("2"), s("b")], vec![s("3"), s("c")]]);
    c.query_one(
        "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'two')",
        &[&two_rows],
    )
    .await
    .unwrap();
    assert_eq!(ids(&c, "two").await, vec![vec![s("2"), s("b")], vec![s("3"), s("c")]]);
    let columns = text_rows(&c, "SELECT count(*) FROM duckstore.columns WHERE table_name = 'two'").await;
    assert_eq!(columns, vec![vec![s("2")]], "the schema of that moment, before ADD COLUMN");
    // the current state, too
    c.query_one(
        "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'latest')",
        &[&now()],
    )
    .await
    .unwrap();
    assert_eq!(text_rows(&c, r#"SELECT DISTINCT name FROM "in.c-s"."latest""#).await, vec![vec![s("changed")]]);
    // outside the window, in the future, onto an existing name
    for (at, state) in [("8 days", "55000"), ("2099-01-01T00:00:00Z", "22023")] {
        let err = c
            .query_one(
                "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'nope')",
                &[&at],
            )
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&err), state, "{at}");
    }
    let err = c
        .query_one(
            "CALL create_table_at(source => 'in.c-s.t', at => $1, bucket => 'in.c-s', name => 'two')",
            &[&two_rows],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    // history is not listed among the snapshots
    assert_eq!(text_rows(&c, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("0")]]);
    server.stop().await;
}
