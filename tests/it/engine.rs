//! The engine's guarantees (design.md R1–R6) as clients observe them: concurrent writers of one
//! table serialize and lose nothing, writers of different tables do not wait for each other,
//! readers see a state before or after a write, failed writes change nothing, and start-up
//! recovers a data directory left in the middle of things.

use std::time::{Duration, Instant};

use crate::harness::{TestServer, config, sqlstate};

async fn project_with_tables(server: &TestServer, tables: &[&str]) -> (String, String) {
    let (_, user, token) = server.project("engine").await;
    let client = server.connect(&user, &token).await;
    client.batch_execute(r#"CREATE SCHEMA "in.c-e""#).await.unwrap();
    for t in tables {
        client
            .batch_execute(&format!(r#"CREATE TABLE "in.c-e"."{t}" (id BIGINT, writer INTEGER, PRIMARY KEY (id))"#))
            .await
            .unwrap();
    }
    (user, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_of_one_table_serialize_and_lose_nothing() {
    let server = TestServer::start().await;
    let (user, token) = project_with_tables(&server, &["t"]).await;
    let writers: i32 = 8;
    let per_writer: i32 = 25;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = server.connect(&user, &token).await;
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let id = i64::from(w * 1000 + i);
                client.execute(r#"INSERT INTO "in.c-e"."t" (id, writer) VALUES ($1, $2)"#, &[&id, &w]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let client = server.connect(&user, &token).await;
    let row = client.query_one(r#"SELECT count(*), count(DISTINCT writer) FROM "in.c-e"."t""#, &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), i64::from(writers * per_writer));
    assert_eq!(row.get::<_, i64>(1), i64::from(writers));
    let rows: i64 = client.query_one("SELECT rows FROM duckstore.tables", &[]).await.unwrap().get(0);
    assert_eq!(rows, i64::from(writers * per_writer), "the catalog's row count follows every write");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_of_different_tables_do_not_wait_for_each_other() {
    let server = TestServer::start().await;
    let (user, token) = project_with_tables(&server, &["slow", "fast"]).await;
    let slow_client = server.connect(&user, &token).await;
    let slow = tokio::spawn(async move {
        let started = Instant::now();
        slow_client
            .execute(
                r#"INSERT INTO "in.c-e"."slow" SELECT i, (SELECT count(*) FROM range(25000) a, range(25000) b WHERE (a + b) % 7 = i)::INTEGER FROM range(1) t(i)"#,
                &[],
            )
            .await
            .unwrap();
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fast_client = server.connect(&user, &token).await;
    let started = Instant::now();
    fast_client.execute(r#"INSERT INTO "in.c-e"."fast" VALUES (1, 1)"#, &[]).await.unwrap();
    let fast = started.elapsed();
    let slow = slow.await.unwrap();
    assert!(slow > Duration::from_millis(300), "the slow write was not slow enough to tell ({slow:?})");
    assert!(fast < slow, "a write to another table waited for the slow one: fast {fast:?}, slow {slow:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_during_writes_see_before_or_after_never_an_error() {
    let server = TestServer::start().await;
    let (user, token) = project_with_tables(&server, &["t"]).await;
    let writer = server.connect(&user, &token).await;
    let reader = server.connect(&user, &token).await;
    let batches = 20i64;
    let batch = 500i64;
    let write = tokio::spawn(async move {
        for b in 0..batches {
            writer
                .execute(
                    r#"INSERT INTO "in.c-e"."t" SELECT $1::BIGINT * 1000 + i, 0 FROM range($2::BIGINT) r(i)"#,
                    &[&b, &batch],
                )
                .await
                .unwrap();
        }
    });
    let mut seen = Vec::new();
    while !write.is_finished() {
        let n: i64 = reader.query_one(r#"SELECT count(*) FROM "in.c-e"."t""#, &[]).await.unwrap().get(0);
        assert_eq!(n % batch, 0, "a reader saw a half-written batch: {n}");
        seen.push(n);
    }
    write.await.unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "counts went backwards: {seen:?}");
    let n: i64 = reader.query_one(r#"SELECT count(*) FROM "in.c-e"."t""#, &[]).await.unwrap().get(0);
    assert_eq!(n, batches * batch);
    server.stop().await;
}

#[tokio::test]
async fn a_write_that_fails_half_way_changes_nothing() {
    let server = TestServer::start().await;
    let (user, token) = project_with_tables(&server, &["t"]).await;
    let client = server.connect(&user, &token).await;
    client.batch_execute(r#"INSERT INTO "in.c-e"."t" VALUES (1, 1), (2, 1)"#).await.unwrap();
    // the 100 000th row collides with an existing key: none of the rows before it may stay
    let err = client
        .simple_query(r#"INSERT INTO "in.c-e"."t" SELECT i + 3, 2 FROM range(99997) r(i) UNION ALL SELECT 1, 2"#)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    // a failing expression part-way through an UPDATE
    let err = client
        .simple_query(r#"UPDATE "in.c-e"."t" SET writer = CASE WHEN id = 2 THEN 1 / (id - 2) ELSE 9 END"#)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22012", "{err:?}");
    let rows = client.query(r#"SELECT id, writer FROM "in.c-e"."t" ORDER BY id"#, &[]).await.unwrap();
    let got: Vec<(i64, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, 1), (2, 1)]);
    let rows: i64 = client.query_one("SELECT rows FROM duckstore.tables", &[]).await.unwrap().get(0);
    assert_eq!(rows, 2);
    server.stop().await;
}

#[tokio::test]
async fn start_up_removes_files_the_catalog_does_not_know_and_keeps_the_rest() {
    let server = TestServer::start().await;
    let (user, token) = project_with_tables(&server, &["t"]).await;
    let client = server.connect(&user, &token).await;
    client.batch_execute(r#"INSERT INTO "in.c-e"."t" VALUES (1, 1), (2, 2)"#).await.unwrap();
    drop(client);
    let data = server.data_dir.clone();
    let dir = server.stop_keeping_data().await;
    // what a crash between writing a file and committing the catalog leaves behind
    let orphan_dir = data.join("tables/1/1/t999");
    std::fs::create_dir_all(&orphan_dir).unwrap();
    std::fs::write(orphan_dir.join("v1.duckdb"), b"not really a table").unwrap();
    std::fs::write(orphan_dir.join("v1.duckdb.wal"), b"").unwrap();
    std::fs::write(data.join("tmp/half-uploaded"), b"x").unwrap();
    let pg = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = duckstore::server::start(config(data.clone()), pg, http).await.unwrap();
    assert!(!orphan_dir.exists(), "the orphaned table file survived start-up");
    assert!(!data.join("tmp/half-uploaded").exists(), "staging was not emptied");
    let conn = format!("host=127.0.0.1 port={} user={user} password={token} dbname=main", server.pg_addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let n: i64 = client.query_one(r#"SELECT count(*) FROM "in.c-e"."t""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    drop(client);
    server.shutdown().await;
    drop(dir);
}

/// SIGKILL the real binary while it writes, restart it, and check that every table is in a
/// state it was in before or after a write, and that committed writes are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_committed_writes_intact() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spawn = |pg: u16, http: u16| {
        Command::new(env!("CARGO_BIN_EXE_duckstore"))
            .args(["serve", "--data-dir"])
            .arg(&data)
            .args(["--pg-addr", &format!("127.0.0.1:{pg}"), "--http-addr", &format!("127.0.0.1:{http}")])
            .args(["--memory-limit", "1GB", "--threads", "2"])
            .env("DUCKSTORE_ADMIN_TOKEN", crate::harness::ADMIN_TOKEN)
            .env("DUCKSTORE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let ports = || {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
    };
    async fn connect(port: u16, user: &str, password: &str) -> tokio_postgres::Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let conn = format!("host=127.0.0.1 port={port} user={user} password={password} dbname=main");
            match tokio_postgres::connect(&conn, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    return client;
                }
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("server did not come up: {e}"),
            }
        }
    }
    let (mut pg, http) = ports();
    let mut child = spawn(pg, http);
    let admin = connect(pg, "admin", crate::harness::ADMIN_TOKEN).await;
    let row = admin.query_one("CALL create_project(name => 'crash')", &[]).await.unwrap();
    let (user, token): (String, String) = (row.get("user_name"), row.get("token"));
    let setup = connect(pg, &user, &token).await;
    setup
        .batch_execute(r#"CREATE SCHEMA "in.c-c"; CREATE TABLE "in.c-c"."t" (id BIGINT, PRIMARY KEY (id))"#)
        .await
        .unwrap();
    let mut committed = 0i64;
    for round in 0..5u64 {
        let client = connect(pg, &user, &token).await;
        // acknowledged writes …
        for _ in 0..3 {
            client
                .execute(r#"INSERT INTO "in.c-c"."t" SELECT $1::BIGINT + i FROM range(1000) r(i)"#, &[&committed])
                .await
                .unwrap();
            committed += 1000;
        }
        // … and one in flight when the process dies
        let writer = connect(pg, &user, &token).await;
        let in_flight = tokio::spawn(async move {
            let _ =
                writer.execute(r#"INSERT INTO "in.c-c"."t" SELECT 1000000000 + i FROM range(2000000) r(i)"#, &[]).await;
        });
        tokio::time::sleep(Duration::from_millis(30 + 60 * round)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = in_flight.await;
        let (next_pg, next_http) = ports();
        pg = next_pg;
        child = spawn(pg, next_http);
        let check = connect(pg, &user, &token).await;
        let low: i64 =
            check.query_one(r#"SELECT count(*) FROM "in.c-c"."t" WHERE id < 1000000000"#, &[]).await.unwrap().get(0);
        let high: i64 =
            check.query_one(r#"SELECT count(*) FROM "in.c-c"."t" WHERE id >= 1000000000"#, &[]).await.unwrap().get(0);
        assert_eq!(low, committed, "acknowledged writes were lost after kill #{round}");
        assert!(high == 0 || high == 2_000_000, "a half-applied write survived kill #{round}: {high} rows");
        check.execute(r#"DELETE FROM "in.c-c"."t" WHERE id >= 1000000000"#, &[]).await.unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
