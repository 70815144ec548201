//! Transactions that write (ADR 0012): atomic at COMMIT across tables, invisible before it,
//! read-your-own-writes, rollback in every way a transaction can end, and writers of one table
//! waiting for each other instead of losing rows.

use std::time::Duration;

use futures::SinkExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::harness::{TestServer, message, sqlstate};
use crate::tables::sales;

async fn ids(client: &Client, table: &str) -> Vec<i32> {
    let rows = client.query(&format!("SELECT id FROM {table} ORDER BY id"), &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// The files of every version of a table on disk (`tables/<project>/<branch>/t<id>/v<n>.duckdb`).
fn version_files(server: &TestServer) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![server.data_dir.join("tables")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "duckdb") {
                found.push(path.strip_prefix(&server.data_dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

const ORDERS: &str = r#""in.c-sales"."orders""#;
const ITEMS: &str = r#""in.c-sales"."items""#;

async fn with_items(server: &TestServer) -> (Client, Client, String, String) {
    let (a, user, token) = sales(server).await;
    a.batch_execute(r#"CREATE TABLE "in.c-sales"."items" (order_id INTEGER, sku STRING)"#).await.unwrap();
    let b = server.connect(&user, &token).await;
    (a, b, user, token)
}

#[tokio::test]
async fn a_transaction_over_two_tables_commits_at_once_and_reads_its_own_writes() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(a.execute(&format!("INSERT INTO {ORDERS} (id, name) VALUES (10, 'x')"), &[]).await.unwrap(), 1);
    assert_eq!(a.execute(&format!("UPDATE {ORDERS} SET name = 'B' WHERE id = 2"), &[]).await.unwrap(), 1);
    assert_eq!(a.execute(&format!("DELETE FROM {ORDERS} WHERE id = 3"), &[]).await.unwrap(), 1);
    a.batch_execute(&format!("INSERT INTO {ITEMS} SELECT id, 'sku-' || id FROM {ORDERS} WHERE id >= 2")).await.unwrap();
    // its own writes, joins included
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 10]);
    let joined = a
        .query(&format!("SELECT o.name, i.sku FROM {ORDERS} o JOIN {ITEMS} i ON i.order_id = o.id ORDER BY o.id"), &[])
        .await
        .unwrap();
    let joined: Vec<(String, String)> = joined.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(joined, [("B".into(), "sku-2".into()), ("x".into(), "sku-10".into())]);
    // nobody else sees any of it yet
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    assert_eq!(ids(&b, r#"(SELECT order_id AS id FROM "in.c-sales"."items") i"#).await, Vec::<i32>::new());
    a.batch_execute("COMMIT").await.unwrap();
    // and then all of it
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 10]);
    let name: String = b.query_one(&format!("SELECT name FROM {ORDERS} WHERE id = 2"), &[]).await.unwrap().get(0);
    assert_eq!(name, "B");
    assert_eq!(ids(&b, r#"(SELECT order_id AS id FROM "in.c-sales"."items") i"#).await, [2, 10]);
    // statistics and the audit trail count the commit as one write per table
    let rows: i64 =
        b.query_one("SELECT rows FROM duckstore.tables WHERE id = 'in.c-sales.orders'", &[]).await.unwrap().get(0);
    assert_eq!(rows, 3);
    let events = b
        .query("SELECT object_id FROM duckstore.events WHERE operation = 'commit' ORDER BY object_id", &[])
        .await
        .unwrap();
    let events: Vec<String> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(events, ["in.c-sales.items", "in.c-sales.orders"]);
    // the versions the tables left are kept as time-travel history (one per table), nothing
    // more; without time travel they are deleted
    assert_eq!(version_files(&server).len(), 4, "{:?}", version_files(&server));
    b.query_one("CALL set_snapshot_settings(level => 'project', time_travel_days => 0)", &[]).await.unwrap();
    b.batch_execute(&format!("BEGIN; DELETE FROM {ORDERS} WHERE id = 10; COMMIT")).await.unwrap();
    let files = version_files(&server);
    assert!(
        files.contains(&"tables/1/1/t1/v3.duckdb".to_owned()) && !files.contains(&"tables/1/1/t1/v2.duckdb".to_owned()),
        "{files:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn rollback_a_failed_statement_and_a_dropped_connection_leave_tables_as_they_were() {
    let server = TestServer::start().await;
    let (a, b, user, token) = with_items(&server).await;
    let files = version_files(&server);
    // ROLLBACK
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (20); INSERT INTO {ITEMS} VALUES (20, 'x')"))
        .await
        .unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3, 20]);
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3]);
    // a failed statement aborts the transaction; its COMMIT rolls back
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (21)")).await.unwrap();
    let err = a.simple_query(&format!("INSERT INTO {ORDERS} (id) VALUES (1)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505", "{}", message(&err));
    let err = a.simple_query(&format!("SELECT * FROM {ORDERS}")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "25P02");
    let messages = a.simple_query("COMMIT").await.unwrap();
    assert!(matches!(&messages[0], SimpleQueryMessage::CommandComplete(_)));
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    // a connection that goes away mid-transaction
    let c = server.connect(&user, &token).await;
    c.batch_execute(&format!("BEGIN; DELETE FROM {ORDERS}; INSERT INTO {ITEMS} VALUES (1, 'gone')")).await.unwrap();
    drop(c);
    // its lock goes with it: the next writer of the table is not kept waiting
    let insert = format!("INSERT INTO {ORDERS} (id) VALUES (30)");
    let write = b.execute(&insert, &[]);
    assert_eq!(tokio::time::timeout(Duration::from_secs(20), write).await.expect("the lock was released").unwrap(), 1);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 30]);
    assert_eq!(ids(&b, r#"(SELECT order_id AS id FROM "in.c-sales"."items") i"#).await, Vec::<i32>::new());
    // no private version is left behind
    for _ in 0..100 {
        if version_files(&server) == files {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(version_files(&server), files);
    server.stop().await;
}

#[tokio::test]
async fn writers_of_one_table_wait_for_the_transaction_and_lose_nothing() {
    let server = TestServer::start().await;
    let (a, b, user, token) = with_items(&server).await;
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (40)")).await.unwrap();
    // an autocommit writer of the same table waits for the transaction to end
    let waiting = tokio::spawn(async move { b.execute(&format!("INSERT INTO {ORDERS} (id) VALUES (41)"), &[]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the second writer did not wait");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), 1);
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3, 40, 41]);
    // a wait has the statement timeout of the one waiting
    let c = server.connect(&user, &token).await;
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (42)")).await.unwrap();
    c.batch_execute("SET statement_timeout = 300").await.unwrap();
    for sql in [
        format!("DELETE FROM {ORDERS}"),
        format!("DROP TABLE {ORDERS}"),
        format!("ALTER TABLE {ORDERS} ADD COLUMN extra INTEGER"),
    ] {
        let err = c.simple_query(&sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "57014", "{sql}: {}", message(&err));
    }
    a.batch_execute("COMMIT").await.unwrap();
    c.batch_execute("SET statement_timeout = 0").await.unwrap();
    // two transactions each waiting for the other's table: one is refused with 40P01
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (50)")).await.unwrap();
    c.batch_execute(&format!("BEGIN; INSERT INTO {ITEMS} VALUES (50, 'c')")).await.unwrap();
    let a_waits =
        tokio::spawn(async move { a.execute(&format!("INSERT INTO {ITEMS} VALUES (50, 'a')"), &[]).await.map(|_| a) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = c.simple_query(&format!("INSERT INTO {ORDERS} (id) VALUES (51)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40P01", "{}", message(&err));
    c.batch_execute("ROLLBACK").await.unwrap();
    let a = a_waits.await.unwrap().unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&c, ORDERS).await, [1, 2, 3, 40, 41, 42, 50]);
    let skus = c.query(&format!("SELECT sku FROM {ITEMS}"), &[]).await.unwrap();
    assert_eq!(skus.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), ["a"]);
    server.stop().await;
}

#[tokio::test]
async fn copy_and_prepared_writes_join_the_transaction() {
    let server = TestServer::start().await;
    let (mut a, b, _, _) = with_items(&server).await;
    let tx = a.transaction().await.unwrap();
    let insert = tx.prepare(&format!("INSERT INTO {ITEMS} VALUES ($1, $2)")).await.unwrap();
    for i in 0..5 {
        tx.execute(&insert, &[&i, &format!("s{i}")]).await.unwrap();
    }
    let sink = tx.copy_in(&format!("COPY {ORDERS} (id, name) FROM STDIN")).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"60\tsixty\n61\tsixty-one\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
    tx.commit().await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 60, 61]);
    let n: i64 = b.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
    // rolled back, COPY included
    let tx = a.transaction().await.unwrap();
    let sink = tx.copy_in(&format!("COPY {ORDERS} (id) FROM STDIN")).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"62\n")).await.unwrap();
    sink.finish().await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 60, 61]);
    // what cannot run in a transaction yet says so
    a.batch_execute("BEGIN").await.unwrap();
    let err = a.simple_query("CALL create_snapshot(table => 'in.c-sales.orders')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "25001", "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn savepoints_undo_the_writes_made_since() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    let files = version_files(&server);
    let err = a.simple_query("SAVEPOINT outside").await.unwrap_err();
    assert_eq!(sqlstate(&err), "25P01");
    a.batch_execute(&format!(
        "BEGIN; INSERT INTO {ORDERS} (id) VALUES (70); SAVEPOINT one; \
         INSERT INTO {ORDERS} (id) VALUES (71); INSERT INTO {ITEMS} VALUES (71, 'x'); SAVEPOINT two; \
         DELETE FROM {ORDERS} WHERE id < 70"
    ))
    .await
    .unwrap();
    assert_eq!(ids(&a, ORDERS).await, [70, 71]);
    a.batch_execute("ROLLBACK TO SAVEPOINT two").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3, 70, 71]);
    a.batch_execute("ROLLBACK TO one").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3, 70]);
    let n: i64 = a.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
    // the savepoint stays after ROLLBACK TO; a failed statement is undone by it too
    a.batch_execute(&format!("INSERT INTO {ORDERS} (id) VALUES (72)")).await.unwrap();
    let err = a.simple_query(&format!("INSERT INTO {ORDERS} (id) VALUES (1)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    a.batch_execute("ROLLBACK TO one").await.unwrap();
    a.batch_execute(&format!("INSERT INTO {ORDERS} (id) VALUES (73); RELEASE one")).await.unwrap();
    let err = a.simple_query("ROLLBACK TO one").await.unwrap_err();
    assert_eq!(sqlstate(&err), "3B001");
    a.batch_execute("ROLLBACK").await.unwrap();
    a.batch_execute(&format!("BEGIN; INSERT INTO {ORDERS} (id) VALUES (74); SAVEPOINT s; INSERT INTO {ORDERS} (id) VALUES (75); RELEASE s; COMMIT"))
        .await
        .unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 74, 75]);
    // every private version is gone: one file per table, plus the history of the commit
    b.query_one("CALL set_snapshot_settings(level => 'project', time_travel_days => 0)", &[]).await.unwrap();
    b.batch_execute(&format!("BEGIN; SAVEPOINT s; DELETE FROM {ORDERS} WHERE id = 75; SAVEPOINT t; DELETE FROM {ORDERS} WHERE id = 74; COMMIT")).await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    for _ in 0..100 {
        if version_files(&server).len() <= files.len() + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // orders: its current version and the history the first COMMIT kept; items: unchanged
    assert_eq!(version_files(&server).len(), files.len() + 1, "{:?}", version_files(&server));
    server.stop().await;
}

#[tokio::test]
async fn tables_created_and_dropped_in_a_transaction_change_at_commit_only() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    let files = version_files(&server);
    const NEW: &str = r#""in.c-sales"."new""#;
    a.batch_execute(&format!(
        "BEGIN; CREATE TABLE {NEW} (id INTEGER NOT NULL, note STRING, PRIMARY KEY (id)); \
         INSERT INTO {NEW} VALUES (1, 'one'), (2, 'two'); DROP TABLE {ITEMS}"
    ))
    .await
    .unwrap();
    assert_eq!(ids(&a, NEW).await, [1, 2]);
    let names = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    let listing = "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'in.c-sales' ORDER BY 1";
    assert_eq!(names(a.query(listing, &[]).await.unwrap()), ["new", "orders"]);
    // others see neither change, and cannot take the new name meanwhile
    assert_eq!(names(b.query(listing, &[]).await.unwrap()), ["items", "orders"]);
    let err = b.simple_query(&format!("SELECT * FROM {NEW}")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = b.simple_query(&format!("CREATE TABLE {NEW} (x INTEGER)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    let err = a.simple_query(&format!("SELECT * FROM {ITEMS}")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // the dropped table is still there for others, with its committed rows
    b.batch_execute(&format!("SELECT * FROM {ITEMS}")).await.unwrap();
    a.batch_execute("ROLLBACK").await.unwrap();
    // rolled back: the new table is gone, the dropped one is back
    assert_eq!(names(a.query(listing, &[]).await.unwrap()), ["items", "orders"]);
    assert_eq!(version_files(&server), files);
    // DROP and CREATE of one name in one transaction (pandas' to_sql with replace), then commit
    a.batch_execute(&format!(
        "INSERT INTO {ITEMS} VALUES (1, 'kept'); \
         BEGIN; DROP TABLE {ITEMS}; CREATE TABLE {ITEMS} (order_id INTEGER, sku STRING, qty INTEGER); \
         INSERT INTO {ITEMS} VALUES (9, 'new', 3)"
    ))
    .await
    .unwrap();
    let skus = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    assert_eq!(skus(b.query(&format!("SELECT sku FROM {ITEMS}"), &[]).await.unwrap()), ["kept"]);
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(skus(b.query(&format!("SELECT sku FROM {ITEMS}"), &[]).await.unwrap()), ["kept"]);
    a.batch_execute(&format!(
        "BEGIN; DROP TABLE {ITEMS}; CREATE TABLE {ITEMS} (order_id INTEGER, sku STRING, qty INTEGER); \
         INSERT INTO {ITEMS} VALUES (9, 'new', 3); CREATE TABLE {NEW} (id INTEGER); COMMIT"
    ))
    .await
    .unwrap();
    assert_eq!(skus(b.query(&format!("SELECT sku FROM {ITEMS}"), &[]).await.unwrap()), ["new"]);
    let qty: i32 = b.query_one(&format!("SELECT qty FROM {ITEMS}"), &[]).await.unwrap().get(0);
    assert_eq!(qty, 3);
    assert_eq!(names(b.query(listing, &[]).await.unwrap()), ["items", "new", "orders"]);
    let ops = b
        .query(
            "SELECT operation FROM duckstore.events WHERE object_id = 'in.c-sales.items' ORDER BY id DESC LIMIT 2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(names(ops), ["create_table", "drop_table"]);
    // a savepoint undoes a CREATE and a DROP made after it
    a.batch_execute(&format!(
        "BEGIN; SAVEPOINT s; DROP TABLE {NEW}; CREATE TABLE \"in.c-sales\".\"later\" (x INTEGER); ROLLBACK TO s; COMMIT"
    ))
    .await
    .unwrap();
    assert_eq!(names(b.query(listing, &[]).await.unwrap()), ["items", "new", "orders"]);
    server.stop().await;
}

#[tokio::test]
async fn a_read_only_transaction_refuses_writes_as_postgresql_does() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    for begin in [
        "BEGIN READ ONLY",
        "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
        "BEGIN; SET TRANSACTION READ ONLY",
    ] {
        a.batch_execute(begin).await.unwrap();
        a.batch_execute(&format!("SELECT * FROM {ORDERS}")).await.unwrap();
        let err = a.simple_query(&format!("INSERT INTO {ORDERS} (id) VALUES (80)")).await.unwrap_err();
        assert_eq!(sqlstate(&err), "25006", "{begin}: {}", message(&err));
        a.batch_execute("ROLLBACK").await.unwrap();
    }
    a.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").await.unwrap();
    let err = a.simple_query(&format!("DELETE FROM {ORDERS}")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "25006");
    a.batch_execute(&format!("BEGIN READ WRITE; INSERT INTO {ORDERS} (id) VALUES (81); COMMIT")).await.unwrap();
    a.batch_execute("SET default_transaction_read_only = off").await.unwrap();
    a.batch_execute(&format!("BEGIN ISOLATION LEVEL REPEATABLE READ; DELETE FROM {ORDERS} WHERE id = 81; COMMIT"))
        .await
        .unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    server.stop().await;
}

#[tokio::test]
async fn a_schema_created_in_a_transaction_appears_with_its_tables_at_commit() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    let schemas = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    let listing = "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname LIKE 'out.%' ORDER BY 1";
    for end in ["ROLLBACK", "COMMIT"] {
        a.batch_execute(
            r#"BEGIN; CREATE SCHEMA IF NOT EXISTS "out.c-tx"; CREATE TABLE "out.c-tx"."t" (x INTEGER);
               INSERT INTO "out.c-tx"."t" VALUES (1), (2)"#,
        )
        .await
        .unwrap();
        assert_eq!(schemas(a.query(listing, &[]).await.unwrap()), ["out.c-tx"]);
        assert_eq!(schemas(b.query(listing, &[]).await.unwrap()), Vec::<String>::new());
        let err = b.simple_query(r#"CREATE SCHEMA "out.c-tx""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P06", "{}", message(&err));
        a.batch_execute(end).await.unwrap();
    }
    assert_eq!(schemas(b.query(listing, &[]).await.unwrap()), ["out.c-tx"]);
    let n: i64 = b.query_one(r#"SELECT count(*) FROM "out.c-tx"."t""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    server.stop().await;
}

#[tokio::test]
async fn views_created_and_dropped_in_a_transaction_change_at_commit_only() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    a.batch_execute(r#"CREATE VIEW "in.c-sales"."old" AS SELECT id FROM "in.c-sales"."orders""#).await.unwrap();
    let views = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    let listing = "SELECT table_name::text FROM information_schema.views WHERE table_schema = 'in.c-sales' ORDER BY 1";
    for end in ["ROLLBACK", "COMMIT"] {
        a.batch_execute(
            r#"BEGIN; CREATE VIEW "in.c-sales"."big" AS SELECT id FROM "in.c-sales"."orders" WHERE id > 1;
               DROP VIEW "in.c-sales"."old""#,
        )
        .await
        .unwrap();
        assert_eq!(ids(&a, r#""in.c-sales"."big""#).await, [2, 3]);
        assert_eq!(views(a.query(listing, &[]).await.unwrap()), ["big"]);
        // others: the old view, not the new one
        assert_eq!(views(b.query(listing, &[]).await.unwrap()), ["old"]);
        assert_eq!(ids(&b, r#""in.c-sales"."old""#).await, [1, 2, 3]);
        let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."big""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01");
        a.batch_execute(end).await.unwrap();
    }
    // replacing an existing view (dbt's views): the block sees the new one, others the old
    // one until COMMIT; ROLLBACK keeps the old one
    for end in ["ROLLBACK", "COMMIT"] {
        a.batch_execute(r#"BEGIN; CREATE OR REPLACE VIEW "in.c-sales"."big" AS SELECT 1 AS id"#).await.unwrap();
        assert_eq!(ids(&a, r#""in.c-sales"."big""#).await, [1]);
        assert_eq!(views(b.query(listing, &[]).await.unwrap()), ["big"]);
        assert_eq!(ids(&b, r#""in.c-sales"."big""#).await, [2, 3]);
        // replaced twice in one block
        a.batch_execute(r#"CREATE OR REPLACE VIEW "in.c-sales"."big" AS SELECT 7 AS id"#).await.unwrap();
        assert_eq!(ids(&a, r#""in.c-sales"."big""#).await, [7]);
        a.batch_execute(end).await.unwrap();
    }
    assert_eq!(views(b.query(listing, &[]).await.unwrap()), ["big"]);
    assert_eq!(ids(&b, r#""in.c-sales"."big""#).await, [7]);
    server.stop().await;
}

#[tokio::test]
async fn what_a_transaction_created_it_may_rename_as_dbt_does() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    // dbt's view and table materializations: build under a temporary name, rename, commit
    a.batch_execute(
        r#"BEGIN;
           CREATE VIEW "main"."in.c-sales"."v__dbt_tmp" AS SELECT id FROM "main"."in.c-sales"."orders";
           ALTER TABLE "main"."in.c-sales"."v__dbt_tmp" RENAME TO "v";
           CREATE TABLE "in.c-sales"."t__dbt_tmp" (id INTEGER);
           INSERT INTO "in.c-sales"."t__dbt_tmp" VALUES (7);
           ALTER TABLE "in.c-sales"."t__dbt_tmp" RENAME TO "t""#,
    )
    .await
    .unwrap();
    assert_eq!(ids(&a, r#""in.c-sales"."v""#).await, [1, 2, 3]);
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."t""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&b, r#""in.c-sales"."v""#).await, [1, 2, 3]);
    assert_eq!(ids(&b, r#""in.c-sales"."t""#).await, [7]);
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."t__dbt_tmp""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // the next run: the committed view and table move aside, the new ones take their names;
    // others see the old ones until COMMIT
    for end in ["ROLLBACK", "COMMIT"] {
        a.batch_execute(
            r#"BEGIN;
               CREATE VIEW "in.c-sales"."v__dbt_tmp" AS SELECT id FROM "in.c-sales"."orders" WHERE id = 1;
               ALTER TABLE "in.c-sales"."v" RENAME TO "v__dbt_backup";
               ALTER TABLE "in.c-sales"."v__dbt_tmp" RENAME TO "v";
               ALTER TABLE "in.c-sales"."t" RENAME TO "t__dbt_backup";
               CREATE TABLE "in.c-sales"."t" AS SELECT 8 AS id"#,
        )
        .await
        .unwrap();
        assert_eq!(ids(&a, r#""in.c-sales"."v""#).await, [1]);
        assert_eq!(ids(&a, r#""in.c-sales"."v__dbt_backup""#).await, [1, 2, 3]);
        assert_eq!(ids(&a, r#""in.c-sales"."t""#).await, [8]);
        assert_eq!(ids(&b, r#""in.c-sales"."v""#).await, [1, 2, 3]);
        assert_eq!(ids(&b, r#""in.c-sales"."t""#).await, [7]);
        let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."t__dbt_backup""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01");
        a.batch_execute(end).await.unwrap();
    }
    assert_eq!(ids(&b, r#""in.c-sales"."v""#).await, [1]);
    assert_eq!(ids(&b, r#""in.c-sales"."t""#).await, [8]);
    assert_eq!(ids(&b, r#""in.c-sales"."t__dbt_backup""#).await, [7]);
    b.batch_execute(r#"DROP VIEW "in.c-sales"."v__dbt_backup"; DROP TABLE "in.c-sales"."t__dbt_backup""#)
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn create_table_as_makes_and_fills_a_table_in_one_transaction() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    let messages = a
        .simple_query(
            r#"CREATE TABLE "in.c-sales"."copy" AS SELECT id, upper(name) AS name, amount * 2 AS doubled FROM "in.c-sales"."orders" WHERE id < 3"#,
        )
        .await
        .unwrap();
    assert!(matches!(messages.last(), Some(SimpleQueryMessage::CommandComplete(2))), "{messages:?}");
    let rows = b.query(r#"SELECT id, name, doubled::TEXT FROM "in.c-sales"."copy" ORDER BY id"#, &[]).await.unwrap();
    let got: Vec<(i32, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got, [(1, "A".into(), "3.00".into()), (2, "B".into(), "5.00".into())]);
    // a failure while filling leaves no table behind
    let err = a
        .simple_query(r#"CREATE TABLE "in.c-sales"."bad" AS SELECT id / (id - 1) AS x FROM "in.c-sales"."orders""#)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "22012", "{}", message(&err));
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."bad""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // inside a block, seen at COMMIT
    a.batch_execute(r#"BEGIN; CREATE TABLE "in.c-sales"."later" AS SELECT id FROM "in.c-sales"."orders""#)
        .await
        .unwrap();
    assert_eq!(ids(&a, r#""in.c-sales"."later""#).await, [1, 2, 3]);
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."later""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&b, r#""in.c-sales"."later""#).await, [1, 2, 3]);
    // IF NOT EXISTS on a table that exists writes nothing
    a.batch_execute(r#"CREATE TABLE IF NOT EXISTS "in.c-sales"."later" AS SELECT 9 AS id"#).await.unwrap();
    assert_eq!(ids(&b, r#""in.c-sales"."later""#).await, [1, 2, 3]);
    // WITH NO DATA: the columns only; parameters bind as in any query
    a.batch_execute(r#"CREATE TABLE "in.c-sales"."empty" AS SELECT id FROM "in.c-sales"."orders" WITH NO DATA"#)
        .await
        .unwrap();
    assert_eq!(ids(&b, r#""in.c-sales"."empty""#).await, Vec::<i32>::new());
    let n = a.execute(r#"CREATE TABLE "in.c-sales"."param" AS SELECT $1::INTEGER AS id"#, &[&5i32]).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(ids(&b, r#""in.c-sales"."param""#).await, [5]);
    // tables and views share a bucket's names, uncommitted ones included
    a.batch_execute(r#"BEGIN; CREATE VIEW "in.c-sales"."pending" AS SELECT 1 AS id"#).await.unwrap();
    let err = b.simple_query(r#"CREATE TABLE "in.c-sales"."pending" (id INTEGER)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    a.batch_execute(r#"ALTER TABLE "in.c-sales"."param" RENAME TO "moved""#).await.unwrap();
    let err = b.simple_query(r#"CREATE VIEW "in.c-sales"."moved" AS SELECT 1 AS id"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    a.batch_execute("COMMIT").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_table_renamed_in_a_transaction_can_be_written_renamed_again_and_dropped() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    a.batch_execute(
        r#"BEGIN;
           ALTER TABLE "in.c-sales"."orders" RENAME TO "o2";
           INSERT INTO "in.c-sales"."o2" (id) VALUES (90);
           ALTER TABLE "in.c-sales"."o2" RENAME TO "o3";
           UPDATE "in.c-sales"."o3" SET name = 'x' WHERE id = 90"#,
    )
    .await
    .unwrap();
    assert_eq!(ids(&a, r#""in.c-sales"."o3""#).await, [1, 2, 3, 90]);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    a.batch_execute(
        r#"BEGIN; ALTER TABLE "in.c-sales"."orders" RENAME TO "o2"; INSERT INTO "in.c-sales"."o2" (id) VALUES (91); COMMIT"#,
    )
    .await
    .unwrap();
    assert_eq!(ids(&b, r#""in.c-sales"."o2""#).await, [1, 2, 3, 91]);
    a.batch_execute(r#"BEGIN; ALTER TABLE "in.c-sales"."items" RENAME TO "i2"; DROP TABLE "in.c-sales"."i2"; COMMIT"#)
        .await
        .unwrap();
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."items""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = b.simple_query(r#"SELECT * FROM "in.c-sales"."i2""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    server.stop().await;
}

/// Rows of a simple query's first column, and its command tag's count.
fn column_and_count(messages: &[SimpleQueryMessage]) -> (Vec<String>, u64) {
    let mut rows = Vec::new();
    let mut count = 0;
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => rows.push(row.get(0).unwrap_or("NULL").to_owned()),
            SimpleQueryMessage::CommandComplete(n) => count = *n,
            _ => {}
        }
    }
    (rows, count)
}

#[tokio::test]
async fn cursors_move_outlive_their_commit_when_held_and_list_themselves() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    let run = |sql: &'static str| {
        let a = &a;
        async move { column_and_count(&a.simple_query(sql).await.unwrap()) }
    };
    // MOVE skips rows and answers how many, in PostgreSQL's spellings (FROM/IN and the
    // direction optional)
    a.batch_execute(&format!("BEGIN; DECLARE c CURSOR FOR SELECT id FROM {ORDERS} ORDER BY id")).await.unwrap();
    assert_eq!(run("MOVE c").await, (vec![], 1));
    assert_eq!(run("FETCH c").await, (vec!["2".into()], 1));
    assert_eq!(run("MOVE FORWARD ALL IN c").await, (vec![], 1));
    assert_eq!(run("MOVE NEXT FROM c").await, (vec![], 0));
    assert_eq!(sqlstate(&a.simple_query("MOVE BACKWARD 1 FROM c").await.unwrap_err()), "55000");
    a.batch_execute("ROLLBACK").await.unwrap();

    // WITH HOLD: the cursor outlives COMMIT, reading the rows of its start — the transaction's
    // own writes included — while others write after it
    a.batch_execute(&format!(
        "BEGIN; INSERT INTO {ORDERS} (id, name) VALUES (4, 'd');
         DECLARE held CURSOR WITH HOLD FOR SELECT id FROM {ORDERS} ORDER BY id;
         DECLARE plain CURSOR FOR SELECT 1"
    ))
    .await
    .unwrap();
    let listed = a
        .query("SELECT name, is_holdable, is_binary, is_scrollable, statement FROM pg_cursors ORDER BY name", &[])
        .await
        .unwrap();
    let listed: Vec<(String, bool, bool, bool)> =
        listed.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert_eq!(listed, [("held".into(), true, false, false), ("plain".into(), false, false, false)]);
    let statement: String =
        a.query_one("SELECT statement FROM pg_cursors WHERE name = 'held'", &[]).await.unwrap().get(0);
    assert!(statement.starts_with("DECLARE held CURSOR WITH HOLD FOR SELECT id"), "{statement}");
    assert_eq!(run("FETCH 1 FROM held").await, (vec!["1".into()], 1));
    a.batch_execute("COMMIT").await.unwrap();
    b.batch_execute(&format!("DELETE FROM {ORDERS} WHERE id = 2; INSERT INTO {ORDERS} (id) VALUES (5)")).await.unwrap();
    let names: Vec<String> =
        a.query("SELECT name FROM pg_cursors", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["held"]);
    assert_eq!(sqlstate(&a.simple_query("FETCH plain").await.unwrap_err()), "34000");
    // a ROLLBACK leaves a held cursor declared before it, moved inside it or not
    a.batch_execute("BEGIN; MOVE 1 FROM held; ROLLBACK").await.unwrap();
    assert_eq!(run("FETCH ALL FROM held").await, (vec!["3".into(), "4".into()], 2));
    assert_eq!(run("CLOSE held").await.1, 0);

    // outside a block only a held cursor may be declared; a ROLLBACK closes one its block
    // declared; DISCARD ALL closes every one
    assert_eq!(sqlstate(&a.simple_query("DECLARE d CURSOR FOR SELECT 1").await.unwrap_err()), "25P01");
    a.batch_execute(
        "DECLARE h1 CURSOR WITH HOLD FOR SELECT 1; BEGIN; DECLARE h2 CURSOR WITH HOLD FOR SELECT 2; ROLLBACK",
    )
    .await
    .unwrap();
    let names: Vec<String> =
        a.query("SELECT name FROM pg_cursors", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["h1"]);
    a.batch_execute("DISCARD ALL").await.unwrap();
    assert_eq!(a.query_one("SELECT count(*) FROM pg_cursors", &[]).await.unwrap().get::<_, i64>(0), 0);
    // a BINARY cursor answers the simple protocol in binary (258 as int4: 00 00 01 02), as
    // PostgreSQL's does; the extended protocol's Bind chooses for itself
    a.batch_execute("DECLARE bin BINARY CURSOR WITH HOLD FOR SELECT 258::INTEGER AS n UNION ALL SELECT 3")
        .await
        .unwrap();
    let binary: bool = a.query_one("SELECT is_binary FROM pg_cursors WHERE name = 'bin'", &[]).await.unwrap().get(0);
    assert!(binary);
    assert_eq!(run("FETCH 1 FROM bin").await, (vec!["\0\0\u{1}\u{2}".into()], 1));
    assert_eq!(a.query_one("FETCH 1 FROM bin", &[]).await.unwrap().get::<_, i32>(0), 3);
    a.batch_execute("CLOSE bin").await.unwrap();
    // SCROLL cursors are refused clearly
    let err = a.simple_query("DECLARE x SCROLL CURSOR WITH HOLD FOR SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&err), "0A000");
    // another session's cursors are its own
    b.batch_execute("DECLARE theirs CURSOR WITH HOLD FOR SELECT 1").await.unwrap();
    assert_eq!(a.query_one("SELECT count(*) FROM pg_cursors", &[]).await.unwrap().get::<_, i64>(0), 0);
    server.stop().await;
}

/// The columns of a table as the catalog shows a session.
async fn columns(client: &Client, table: &str) -> Vec<String> {
    let rows = client
        .query("SELECT name FROM duckstore.columns WHERE table_id = $1 ORDER BY position", &[&table])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn alter_table_in_a_transaction_changes_the_schema_at_commit_only() {
    let server = TestServer::start().await;
    let (a, b, user, token) = with_items(&server).await;
    let files = version_files(&server);
    let original = ["id", "name", "amount", "day"];
    // the transaction sees its new column at once, written and read; others see the table as
    // it was, and write it only after the transaction ends
    a.batch_execute(&format!(
        "BEGIN; ALTER TABLE {ORDERS} ADD COLUMN note STRING, ALTER COLUMN name SET NOT NULL;
         UPDATE {ORDERS} SET note = 'n' || id"
    ))
    .await
    .unwrap();
    // (prepared, as drivers send it: described against the transaction's version)
    let insert = format!("INSERT INTO {ORDERS} VALUES ($1, 'd', NULL, NULL, $2)");
    assert_eq!(a.execute(&insert, &[&4i32, &"n4"]).await.unwrap(), 1);
    assert_eq!(columns(&a, "in.c-sales.orders").await, ["id", "name", "amount", "day", "note"]);
    let notes = a.query(&format!("SELECT note FROM {ORDERS} ORDER BY id"), &[]).await.unwrap();
    assert_eq!(notes.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), ["n1", "n2", "n3", "n4"]);
    let err = a.simple_query(&format!("SAVEPOINT s; INSERT INTO {ORDERS} (id) VALUES (5)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "{}", message(&err));
    a.batch_execute("ROLLBACK TO s").await.unwrap();
    assert_eq!(columns(&b, "in.c-sales.orders").await, original);
    let row = b.query_one(&format!("SELECT * FROM {ORDERS} WHERE id = 1"), &[]).await.unwrap();
    assert_eq!(row.len(), 4);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    let described =
        b.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'", &[]).await.unwrap();
    assert_eq!(described.len(), 4);
    // a savepoint brings back the schema it saw, with the rows
    a.batch_execute(&format!(
        "SAVEPOINT before_drop; ALTER TABLE {ORDERS} DROP COLUMN amount, RENAME COLUMN day TO at"
    ))
    .await
    .unwrap();
    assert_eq!(columns(&a, "in.c-sales.orders").await, ["id", "name", "at", "note"]);
    a.batch_execute("ROLLBACK TO before_drop").await.unwrap();
    assert_eq!(columns(&a, "in.c-sales.orders").await, ["id", "name", "amount", "day", "note"]);
    let amount: String =
        a.query_one(&format!("SELECT amount::TEXT FROM {ORDERS} WHERE id = 2"), &[]).await.unwrap().get(0);
    assert_eq!(amount, "2.50");
    // COMMIT: every session sees the new schema and the rows written under it
    let insert = format!("INSERT INTO {ORDERS} (id, name) VALUES (6, 'f')");
    let waiting = b.execute(&insert, &[]);
    let commit = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
    };
    let (inserted, ()) = tokio::join!(waiting, commit);
    assert_eq!(inserted.unwrap(), 1);
    assert_eq!(columns(&b, "in.c-sales.orders").await, ["id", "name", "amount", "day", "note"]);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 4, 6]);
    let err = b.simple_query(&format!("INSERT INTO {ORDERS} (id) VALUES (7)")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23502", "the committed NOT NULL holds: {}", message(&err));

    // ROLLBACK and a connection that goes away leave schema, rows and files as they were
    let files_now = version_files(&server);
    a.batch_execute(&format!(
        "BEGIN; ALTER TABLE {ITEMS} ADD COLUMN qty INTEGER; ALTER TABLE {ORDERS} DROP COLUMN note"
    ))
    .await
    .unwrap();
    a.batch_execute("ROLLBACK").await.unwrap();
    let c = server.connect(&user, &token).await;
    c.batch_execute(&format!("BEGIN; ALTER TABLE {ITEMS} ADD COLUMN gone INTEGER")).await.unwrap();
    drop(c);
    // no private version is left behind
    for _ in 0..100 {
        if version_files(&server) == files_now {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(version_files(&server), files_now, "(at the start: {files:?})");
    // the dropped connection's lock goes with it; its schema never shows
    let alter_items = format!("ALTER TABLE {ITEMS} ADD COLUMN kept INTEGER");
    let alter = b.batch_execute(&alter_items);
    tokio::time::timeout(Duration::from_secs(20), alter).await.expect("the lock was released").unwrap();
    assert_eq!(columns(&b, "in.c-sales.items").await, ["order_id", "sku", "kept"]);
    assert_eq!(columns(&b, "in.c-sales.orders").await, ["id", "name", "amount", "day", "note"]);
    // a table created in the block is created with its altered schema
    a.batch_execute(
        r#"BEGIN; CREATE TABLE "in.c-sales"."made" (k INTEGER); INSERT INTO "in.c-sales"."made" VALUES (1);
           ALTER TABLE "in.c-sales"."made" ADD COLUMN note STRING DEFAULT 'x'; COMMIT"#,
    )
    .await
    .unwrap();
    assert_eq!(columns(&b, "in.c-sales.made").await, ["k", "note"]);
    let made = b.query_one(r#"SELECT k, note FROM "in.c-sales"."made""#, &[]).await.unwrap();
    assert_eq!((made.get::<_, i32>(0), made.get::<_, String>(1)), (1, "x".into()));
    server.stop().await;
}

async fn show_isolation(client: &Client) -> String {
    client.query_one("SHOW transaction_isolation", &[]).await.unwrap().get(0)
}

/// Waits for the table files on disk to be `expected` many (versions removed in the background).
async fn settle_files(server: &TestServer, expected: usize) -> Vec<String> {
    for _ in 0..100 {
        if version_files(server).len() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    version_files(server)
}

#[tokio::test]
async fn repeatable_read_blocks_read_one_snapshot_of_every_table() {
    let server = TestServer::start().await;
    let (a, b, user, token) = with_items(&server).await;
    // no time-travel history: a version nobody uses is removed at once
    b.query_one("CALL set_snapshot_settings(level => 'project', time_travel_days => 0)", &[]).await.unwrap();
    b.batch_execute(&format!("INSERT INTO {ITEMS} VALUES (1, 'a'), (2, 'b')")).await.unwrap();
    let sku_count = format!("SELECT count(*) FROM {ITEMS}");

    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(show_isolation(&a).await, "repeatable read");
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3]);
    // every kind of write after the block's first query: in place, all rows, a transaction over
    // both tables, a table created
    b.batch_execute(&format!("INSERT INTO {ORDERS} (id) VALUES (10)")).await.unwrap();
    b.batch_execute(&format!("TRUNCATE {ITEMS}")).await.unwrap();
    b.batch_execute(&format!("BEGIN; DELETE FROM {ORDERS} WHERE id = 1; INSERT INTO {ITEMS} VALUES (3, 'c'); COMMIT"))
        .await
        .unwrap();
    b.batch_execute(r#"CREATE TABLE "in.c-sales"."late" (k INTEGER); INSERT INTO "in.c-sales"."late" VALUES (1)"#)
        .await
        .unwrap();
    assert_eq!(ids(&b, ORDERS).await, [2, 3, 10]);
    // the block reads every table as of its snapshot, joins included, a table it reads for the
    // first time too
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3]);
    assert_eq!(a.query_one(&sku_count, &[]).await.unwrap().get::<_, i64>(0), 2);
    let joined: i64 = a
        .query_one(&format!("SELECT count(*) FROM {ORDERS} o JOIN {ITEMS} i ON i.order_id = o.id"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(joined, 2);
    // a table created since cannot be read as of the snapshot
    let err = a.simple_query(r#"SELECT * FROM "in.c-sales"."late""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    // the versions the snapshot kept are gone with it: one file per table
    assert_eq!(settle_files(&server, 3).await.len(), 3, "{:?}", version_files(&server));
    assert_eq!(show_isolation(&a).await, "read committed");

    // writing a table changed since the snapshot fails as PostgreSQL's first-updater rule
    // does; one unchanged since is written and committed
    a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [2, 3, 10]);
    b.batch_execute(&format!("INSERT INTO {ITEMS} VALUES (4, 'd')")).await.unwrap();
    let err = a.simple_query(&format!("UPDATE {ITEMS} SET sku = 'x'")).await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    a.batch_execute("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [2, 3, 10]);
    for sql in ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET transaction_isolation = 'read committed'"] {
        let err = a.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "25001", "{sql}: {}", message(&err));
        a.batch_execute("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
        assert_eq!(ids(&a, ORDERS).await, [2, 3, 10]);
    }
    a.batch_execute(&format!("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 FROM {ORDERS} LIMIT 1"))
        .await
        .unwrap();
    a.batch_execute(&format!("UPDATE {ORDERS} SET name = 'rr' WHERE id = 2; COMMIT")).await.unwrap();
    let name: String = b.query_one(&format!("SELECT name FROM {ORDERS} WHERE id = 2"), &[]).await.unwrap().get(0);
    assert_eq!(name, "rr");

    // the session's default level, as SQLAlchemy and pgjdbc set it
    a.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(show_isolation(&a).await, "repeatable read");
    a.batch_execute(&format!("BEGIN; SELECT count(*) FROM {ITEMS}")).await.unwrap();
    b.batch_execute(&format!("INSERT INTO {ITEMS} VALUES (5, 'e')")).await.unwrap();
    assert_eq!(a.query_one(&sku_count, &[]).await.unwrap().get::<_, i64>(0), 2);
    a.batch_execute("COMMIT; RESET default_transaction_isolation").await.unwrap();
    assert_eq!(show_isolation(&a).await, "read committed");
    // READ COMMITTED sees each commit as it comes
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(a.query_one(&sku_count, &[]).await.unwrap().get::<_, i64>(0), 3);
    b.batch_execute(&format!("INSERT INTO {ITEMS} VALUES (6, 'f')")).await.unwrap();
    assert_eq!(a.query_one(&sku_count, &[]).await.unwrap().get::<_, i64>(0), 4);
    a.batch_execute("COMMIT").await.unwrap();

    // a connection that goes away with its snapshot leaves no version behind
    let files = settle_files(&server, 3).await;
    let c = server.connect(&user, &token).await;
    c.batch_execute(&format!("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM {ITEMS}")).await.unwrap();
    b.batch_execute(&format!("INSERT INTO {ITEMS} VALUES (7, 'g')")).await.unwrap();
    assert_eq!(version_files(&server).len(), 4, "the pinned version is kept while the block lives");
    drop(c);
    assert_eq!(settle_files(&server, 3).await.len(), 3, "{files:?}");
    server.stop().await;
}

#[tokio::test]
async fn drop_schema_in_a_transaction_takes_its_tables_at_commit_only() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    a.batch_execute(
        r#"CREATE SCHEMA "in.c-gone"; CREATE TABLE "in.c-gone"."t" (k INTEGER); INSERT INTO "in.c-gone"."t" VALUES (1);
           CREATE VIEW "in.c-gone"."v" AS SELECT k FROM "in.c-gone"."t""#,
    )
    .await
    .unwrap();
    let files = version_files(&server);
    let listing = "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name = 'in.c-gone'";
    // not empty: CASCADE is needed, as in PostgreSQL
    a.batch_execute("BEGIN").await.unwrap();
    let err = a.simple_query(r#"DROP SCHEMA "in.c-gone""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01", "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    for end in ["ROLLBACK", "COMMIT"] {
        a.batch_execute(r#"BEGIN; DROP SCHEMA "in.c-gone" CASCADE"#).await.unwrap();
        // gone for the block; there for everyone else until COMMIT
        assert!(a.query(listing, &[]).await.unwrap().is_empty());
        let err = a.simple_query(r#"SAVEPOINT q; SELECT * FROM "in.c-gone"."t""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01", "{}", message(&err));
        a.batch_execute("ROLLBACK TO q").await.unwrap();
        assert_eq!(b.query(listing, &[]).await.unwrap().len(), 1);
        assert_eq!(ids(&b, r#"(SELECT k AS id FROM "in.c-gone"."v") v"#).await, [1]);
        a.batch_execute(end).await.unwrap();
        let expected = if end == "ROLLBACK" { 1 } else { 0 };
        assert_eq!(b.query(listing, &[]).await.unwrap().len(), expected, "after {end}");
        assert_eq!(a.query(listing, &[]).await.unwrap().len(), expected, "after {end}");
    }
    let err = b.simple_query(r#"SELECT * FROM "in.c-gone"."t""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    // the dropped table's file is kept only by the automatic snapshot DROP TABLE takes
    let kept: i64 =
        b.query_one("SELECT count(*) FROM duckstore.snapshots WHERE trigger = 'drop_table'", &[]).await.unwrap().get(0);
    assert!(kept >= 1);
    assert_eq!(version_files(&server).len(), files.len(), "{files:?}");

    // a table another session puts into the schema meanwhile is not dropped with it unseen:
    // the COMMIT fails and rolls back
    a.batch_execute(r#"CREATE SCHEMA "in.c-busy"; BEGIN; DROP SCHEMA "in.c-busy" CASCADE"#).await.unwrap();
    b.batch_execute(r#"CREATE TABLE "in.c-busy"."new" (k INTEGER); INSERT INTO "in.c-busy"."new" VALUES (5)"#)
        .await
        .unwrap();
    let err = a.simple_query("COMMIT").await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    assert_eq!(ids(&a, r#"(SELECT k AS id FROM "in.c-busy"."new") n"#).await, [5]);
    // savepoints bring a dropped schema back
    a.batch_execute(r#"BEGIN; SAVEPOINT s; DROP SCHEMA "in.c-busy" CASCADE; ROLLBACK TO s"#).await.unwrap();
    assert_eq!(ids(&a, r#"(SELECT k AS id FROM "in.c-busy"."new") n"#).await, [5]);
    a.batch_execute("COMMIT").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn cursors_close_with_a_rolled_back_savepoint_or_a_failed_fetch() {
    let server = TestServer::start().await;
    let (a, _, _, _) = with_items(&server).await;
    // a cursor declared after a savepoint reads rows the ROLLBACK TO undid: it closes with them,
    // held or not
    a.batch_execute(&format!(
        "BEGIN; SAVEPOINT s; INSERT INTO {ORDERS} (id) VALUES (200);
         DECLARE h CURSOR WITH HOLD FOR SELECT id FROM {ORDERS} ORDER BY id;
         DECLARE c CURSOR FOR SELECT id FROM {ORDERS} ORDER BY id;
         ROLLBACK TO s; COMMIT"
    ))
    .await
    .unwrap();
    for name in ["h", "c"] {
        let err = a.simple_query(&format!("FETCH ALL FROM {name}")).await.unwrap_err();
        assert_eq!(sqlstate(&err), "34000", "{name}: {}", message(&err));
    }
    // one declared before the savepoint stays
    a.batch_execute(&format!(
        "BEGIN; DECLARE kept CURSOR WITH HOLD FOR SELECT id FROM {ORDERS} ORDER BY id; SAVEPOINT s; ROLLBACK TO s; COMMIT"
    ))
    .await
    .unwrap();
    let names: Vec<String> =
        a.query("SELECT name FROM pg_cursors", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["kept"]);
    // a FETCH or MOVE that fails (here, cancelled by the statement timeout) closes the cursor:
    // its position is unknown, and a later FETCH must not answer an empty end of rows
    a.batch_execute(
        "SET statement_timeout = '1s';
         DECLARE endless CURSOR WITH HOLD FOR SELECT i FROM range(100000000000) t(i) WHERE i % 7 = 0",
    )
    .await
    .unwrap();
    let err = a.simple_query("MOVE ALL FROM endless").await.unwrap_err();
    assert_eq!(sqlstate(&err), "57014", "{}", message(&err));
    let err = a.simple_query("FETCH 2 FROM endless").await.unwrap_err();
    assert_eq!(sqlstate(&err), "34000", "{}", message(&err));
    a.batch_execute("RESET statement_timeout").await.unwrap();
    // DISCARD ALL belongs outside a block, as in PostgreSQL
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(sqlstate(&a.simple_query("DISCARD ALL").await.unwrap_err()), "25001");
    a.batch_execute("ROLLBACK").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_repeatable_read_block_never_pins_another_projects_linked_tables() {
    let server = TestServer::start().await;
    let (source, source_user, _) = crate::tables::sales(&server).await;
    source.query_one("CALL set_snapshot_settings(level => 'project', time_travel_days => 0)", &[]).await.unwrap();
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
    let files = version_files(&server);
    target.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").await.unwrap();
    // the source project's writes copy nothing for the other project's block
    source.batch_execute(&format!("INSERT INTO {ORDERS} (id) VALUES (100)")).await.unwrap();
    assert_eq!(version_files(&server), files);
    // which reads the linked table at its latest commit
    assert_eq!(ids(&target, r#""in.c-shared"."orders""#).await, [1, 2, 3, 100]);
    target.batch_execute("COMMIT").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn temporary_tables_live_in_their_block_as_dbt_incremental_models_use_them() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    b.query_one("CALL set_snapshot_settings(level => 'project', time_travel_days => 0)", &[]).await.unwrap();
    let files = version_files(&server);
    // outside a block they would vanish at once: refused, saying why
    let err = a.simple_query("CREATE TEMP TABLE t (k INTEGER)").await.unwrap_err();
    assert_eq!(sqlstate(&err), "0A000", "{}", message(&err));
    // their buckets' names are kept for them
    for sql in [
        r#"CREATE SCHEMA "in.c-pg_temp_1""#,
        "CALL create_bucket(stage => 'in', name => 'pg_temp_2')",
        "CALL link_bucket(source_project => 1, source_bucket => 'in.c-sales', stage => 'in', name => 'pg_temp_3')",
    ] {
        let err = a.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42939", "{sql}: {}", message(&err));
    }
    for end in ["COMMIT", "ROLLBACK"] {
        // what dbt-postgres sends for an incremental model with a unique key
        a.batch_execute(&format!(
            r#"BEGIN;
               create temporary table "orders__dbt_tmp" as (select id, name from {ORDERS} where id >= 2);
               delete from {ITEMS} where (order_id) in (select (id) from "orders__dbt_tmp");
               insert into {ITEMS} ("order_id", "sku") (select "id", "name" from "orders__dbt_tmp")"#
        ))
        .await
        .unwrap();
        // the block finds it by its bare name, in pg_temp, and in information_schema
        assert_eq!(ids(&a, r#""orders__dbt_tmp""#).await, [2, 3]);
        assert_eq!(ids(&a, r#"pg_temp."orders__dbt_tmp""#).await, [2, 3]);
        let columns: Vec<String> = a
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'orders__dbt_tmp' ORDER BY ordinal_position",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(columns, ["id", "name"]);
        a.batch_execute("CREATE TEMPORARY TABLE keys (k INTEGER PRIMARY KEY); INSERT INTO keys VALUES (1)")
            .await
            .unwrap();
        // nobody else sees them
        let err = b.simple_query(r#"SELECT * FROM "orders__dbt_tmp""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01");
        a.batch_execute(end).await.unwrap();
        // gone with the block, whichever way it ended; the block's other writes as it ended
        let err = a.simple_query(r#"SELECT * FROM "orders__dbt_tmp""#).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01");
        let schemas: i64 = a
            .query_one("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '%pg_temp%'", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(schemas, 0);
    }
    assert_eq!(ids(&b, r#"(SELECT order_id AS id FROM "in.c-sales"."items") i"#).await, [2, 3]);
    // no table file is left of them
    for _ in 0..100 {
        if version_files(&server).len() == files.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(version_files(&server).len(), files.len(), "{files:?}");
    server.stop().await;
}

#[tokio::test]
async fn procedures_that_write_one_table_join_the_block() {
    let server = TestServer::start().await;
    let (a, b, _, token) = with_items(&server).await;
    let file =
        crate::loads::upload_id(&server, &token, "more.csv", "id,name,amount,day\n50,fifty,5.00,2024-02-01\n").await;
    a.batch_execute("BEGIN").await.unwrap();
    let imported: i64 = a
        .query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1, incremental => true)", &[&file])
        .await
        .unwrap()
        .get("imported_rows");
    assert_eq!(imported, 1);
    let deleted: i64 = a
        .query_one(r#"CALL delete_rows(table => 'in.c-sales.orders', "where" => '[{"column": "id", "operator": "eq", "values": ["1"]}]')"#, &[])
        .await
        .unwrap()
        .get(1);
    assert_eq!(deleted, 1);
    a.query_one("CALL drop_primary_key(table => 'in.c-sales.orders')", &[]).await.unwrap();
    // the block sees its writes; others see none of them until COMMIT
    assert_eq!(ids(&a, ORDERS).await, [2, 3, 50]);
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    let key = "SELECT count(*) FROM duckstore.columns WHERE table_id = 'in.c-sales.orders' AND primary_key";
    assert_eq!(b.query_one(key, &[]).await.unwrap().get::<_, i64>(0), 1);
    // what would change the store outside the block is refused, and says what can run
    let err = a.simple_query("CALL create_snapshot(table => 'in.c-sales.orders')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "25001", "{}", message(&err));
    assert!(message(&err).contains("delete_rows"), "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    // and committed, every one of them at once
    a.batch_execute("BEGIN").await.unwrap();
    a.query_one(r#"CALL delete_rows(table => 'in.c-sales.orders', "where" => '[{"column": "id", "operator": "eq", "values": ["3"]}]')"#, &[]).await.unwrap();
    a.query_one("CALL drop_primary_key(table => 'in.c-sales.orders')", &[]).await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2]);
    assert_eq!(b.query_one(key, &[]).await.unwrap().get::<_, i64>(0), 0);
    server.stop().await;
}

#[tokio::test]
async fn full_loads_restores_and_table_copies_join_the_block() {
    let server = TestServer::start().await;
    let (a, b, _, token) = with_items(&server).await;
    let one =
        crate::loads::upload_id(&server, &token, "one.csv", "id,name,amount,day\n50,fifty,5.00,2024-02-01\n").await;
    let two =
        crate::loads::upload_id(&server, &token, "two.csv", "id,name,amount,day\n60,sixty,6.00,2024-02-02\n").await;
    let kept: i64 = a.query_one("CALL create_snapshot(table => 'in.c-sales.orders')", &[]).await.unwrap().get("id");
    let before = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let files = settle_files(&server, version_files(&server).len()).await;

    // a full load replaces the block's version; a savepoint brings the one before back
    a.batch_execute("BEGIN").await.unwrap();
    a.query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&one]).await.unwrap();
    a.batch_execute(r#"INSERT INTO "in.c-sales"."orders" (id) VALUES (51); SAVEPOINT s"#).await.unwrap();
    let loaded = a.query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&two]).await.unwrap();
    assert_eq!((loaded.get::<_, i64>("imported_rows"), loaded.get::<_, i64>("table_rows")), (1, 1));
    assert_eq!(ids(&a, ORDERS).await, [60]);
    a.batch_execute("ROLLBACK TO SAVEPOINT s").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [50, 51]);
    // a table made from a file, and one copied from what the block sees, for the block alone
    a.query_one("CALL create_table_from_file(bucket => 'in.c-sales', name => 'fromfile', file_id => $1)", &[&two])
        .await
        .unwrap();
    let copied = a
        .query_one("CALL import_table_from_table(table => 'in.c-sales.copy', source => 'in.c-sales.orders')", &[])
        .await
        .unwrap();
    assert_eq!(copied.get::<_, i64>("imported_rows"), 2);
    assert_eq!(ids(&a, r#""in.c-sales"."copy""#).await, [50, 51]);
    // a snapshot into a new table, and a past instant into another
    a.query_one("CALL create_table_from_snapshot(id => $1, bucket => 'in.c-sales', name => 'kept')", &[&kept])
        .await
        .unwrap();
    a.query_one(
        "CALL create_table_at(source => 'in.c-sales.orders', at => $1, bucket => 'in.c-sales', name => 'then')",
        &[&before],
    )
    .await
    .unwrap();
    assert_eq!(ids(&a, r#""in.c-sales"."kept""#).await, [1, 2, 3]);
    assert_eq!(ids(&a, r#""in.c-sales"."then""#).await, [1, 2, 3]);
    // nobody else sees any of it
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    for made in ["fromfile", "copy", "kept", "then"] {
        let err = b.simple_query(&format!(r#"SELECT * FROM "in.c-sales"."{made}""#)).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42P01", "{made}: {}", message(&err));
    }
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3]);
    let err = a.simple_query(r#"SELECT * FROM "in.c-sales"."copy""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01", "{}", message(&err));
    // nothing the rolled-back block made stays on disk
    assert_eq!(settle_files(&server, files.len()).await, files);

    // committed: a load, a restore in place of the table, and a new table, all at once
    let bad = crate::loads::upload_id(&server, &token, "bad.csv", "id,name,amount,day\nx,y,1,2024-01-01\n").await;
    a.batch_execute("BEGIN").await.unwrap();
    a.query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&one]).await.unwrap();
    let err = a.query_one("CALL import_table(table => 'in.c-sales.orders', file_id => $1)", &[&bad]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22P02", "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(settle_files(&server, files.len()).await, files, "a failed load leaves nothing behind");
    a.batch_execute("BEGIN").await.unwrap();
    a.batch_execute(r#"DELETE FROM "in.c-sales"."orders"; ALTER TABLE "in.c-sales"."orders" DROP COLUMN day"#)
        .await
        .unwrap();
    let restored = a.query_one("CALL restore_snapshot(id => $1)", &[&kept]).await.unwrap();
    assert_eq!(restored.get::<_, i64>(1), 3);
    let restored_columns = columns(&a, "in.c-sales.orders").await;
    assert!(restored_columns.contains(&"day".to_owned()), "the snapshot's definition: {restored_columns:?}");
    a.query_one("CALL create_table_from_file(bucket => 'in.c-sales', name => 'fromfile', file_id => $1)", &[&one])
        .await
        .unwrap();
    a.query_one("CALL import_table(table => 'in.c-sales.fromfile', file_id => $1)", &[&two]).await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3]);
    let rows = b.query(r#"SELECT id FROM "in.c-sales"."fromfile""#, &[]).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), ["60"]);
    let audit = b
        .query_one(
            "SELECT count(*) FROM duckstore.events WHERE object_id = 'in.c-sales.fromfile' AND operation = 'create_table'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, i64>(0), 1, "one write for the table the block made and loaded twice");
    // what the block cannot take back stays outside it
    a.batch_execute("BEGIN").await.unwrap();
    let err = a
        .simple_query("CALL import_table(table => 'in.c-sales.orders', file_id => 1, async => true)")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "25001", "{}", message(&err));
    a.batch_execute("ROLLBACK").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn serializable_blocks_refuse_write_skew_that_repeatable_read_allows() {
    let server = TestServer::start().await;
    let (a, b, _, _) = with_items(&server).await;
    // each block reads one table and writes the other: no serial order gives both outcomes
    let skew = |level: &'static str| {
        let (a, b) = (&a, &b);
        async move {
            for client in [a, b] {
                client.batch_execute(&format!("BEGIN ISOLATION LEVEL {level}")).await.unwrap();
            }
            let orders: i64 = a.query_one(&format!("SELECT count(*) FROM {ORDERS}"), &[]).await.unwrap().get(0);
            let items: i64 = b.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap().get(0);
            a.execute(&format!("INSERT INTO {ITEMS} VALUES ($1, 'seen orders')"), &[&(orders as i32)]).await.unwrap();
            b.execute(&format!("INSERT INTO {ORDERS} (id) VALUES ($1)"), &[&(100 + items as i32)]).await.unwrap();
            a.batch_execute("COMMIT").await.unwrap();
            b.batch_execute("COMMIT").await
        }
    };
    skew("REPEATABLE READ").await.unwrap();
    let err = skew("SERIALIZABLE").await.unwrap_err();
    assert_eq!(sqlstate(&err), "40001", "{}", message(&err));
    assert!(message(&err).contains("read/write dependencies"), "{}", message(&err));
    // the refused block wrote nothing; the session goes on
    assert_eq!(ids(&b, ORDERS).await, [1, 2, 3, 100]);
    assert_eq!(show_isolation(&b).await, "read committed");
    // a SERIALIZABLE block whose reads nobody changed commits, as does one that only reads
    b.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
    b.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap();
    b.execute(&format!("INSERT INTO {ORDERS} (id) VALUES (200)"), &[]).await.unwrap();
    b.batch_execute("COMMIT").await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
    b.query_one(&format!("SELECT count(*) FROM {ITEMS}"), &[]).await.unwrap();
    a.execute(&format!("INSERT INTO {ITEMS} VALUES (9, 'x')"), &[]).await.unwrap();
    b.batch_execute("COMMIT").await.unwrap();
    assert_eq!(ids(&a, ORDERS).await, [1, 2, 3, 100, 200]);
    server.stop().await;
}
