//! Dev branches as Keboola has them: O(1) creation, the default branch read live until the
//! branch writes a table, copy-on-write on every write path, isolation both ways, dropping.

use bytes::Bytes;
use futures::SinkExt;
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

async fn count(client: &Client, table: &str) -> i64 {
    client.query_one(&format!(r#"SELECT count(*) FROM "in.c-s"."{table}""#), &[]).await.unwrap().get(0)
}

struct Setup {
    main: Client,
    branch: Client,
    branch_id: i64,
    user: String,
    token: String,
}

async fn setup(server: &TestServer, tables: &[&str]) -> Setup {
    let (_, user, token) = server.project("branches").await;
    let main = server.connect(&user, &token).await;
    main.batch_execute(r#"CREATE SCHEMA "in.c-s""#).await.unwrap();
    for t in tables {
        main.batch_execute(&format!(
            r#"CREATE TABLE "in.c-s"."{t}" (id INTEGER NOT NULL, v STRING, PRIMARY KEY (id));
               INSERT INTO "in.c-s"."{t}" VALUES (1, 'a'), (2, 'b');"#
        ))
        .await
        .unwrap();
    }
    let row = main.query_one("CALL create_branch(name => 'dev', description => 'trying things')", &[]).await.unwrap();
    let branch_id: i64 = row.get("id");
    let branch = server.try_connect(&user, &token, &branch_id.to_string()).await.unwrap();
    Setup { main, branch, branch_id, user, token }
}

#[tokio::test]
async fn a_branch_reads_main_live_until_it_writes() {
    let server = TestServer::start().await;
    let b = setup(&server, &["t"]).await;
    let branches = text_rows(&b.main, "SELECT name, is_default FROM duckstore.branches ORDER BY id").await;
    assert_eq!(branches, vec![vec![s("main"), s("t")], vec![s("dev"), s("f")]]);
    assert_eq!(count(&b.branch, "t").await, 2);
    // main's changes show in the branch while it has not written the table
    b.main.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (3, 'c')"#).await.unwrap();
    assert_eq!(count(&b.branch, "t").await, 3);
    assert_eq!(
        text_rows(&b.branch, "SELECT name, in_branch FROM duckstore.tables").await,
        vec![vec![s("t"), s("f")]],
        "listed, marked as read live"
    );
    // the branch's first write copies the table; from then on the two are apart
    b.branch.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (10, 'branch')"#).await.unwrap();
    assert_eq!(count(&b.branch, "t").await, 4);
    assert_eq!(count(&b.main, "t").await, 3, "main untouched");
    b.main.batch_execute(r#"DELETE FROM "in.c-s"."t" WHERE id = 1"#).await.unwrap();
    assert_eq!(count(&b.branch, "t").await, 4, "main's later changes stay out of the branch");
    assert_eq!(text_rows(&b.branch, "SELECT in_branch FROM duckstore.tables").await, vec![vec![s("t")]]);
    // pull_table: back to the live view
    b.branch.query_one("CALL pull_table(table => 'in.c-s.t')", &[]).await.unwrap();
    assert_eq!(count(&b.branch, "t").await, 2);
    b.main.batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (4, 'd')"#).await.unwrap();
    assert_eq!(count(&b.branch, "t").await, 3);
    server.stop().await;
}

#[tokio::test]
async fn every_write_path_copies_first_and_leaves_main_alone() {
    let server = TestServer::start().await;
    let names = ["insert", "update", "delete", "truncate", "copy", "import", "alter", "rows", "snapshot", "profile"];
    let b = setup(&server, &names).await;
    let file = reqwest::Client::new()
        .post(format!("http://{}/v1/files?name=x.csv", server.http_addr))
        .bearer_auth(&b.token)
        .body("id,v\n7,x\n")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let writes: Vec<(&str, String)> = vec![
        ("insert", r#"INSERT INTO "in.c-s"."insert" VALUES (9, 'z')"#.into()),
        ("update", r#"UPDATE "in.c-s"."update" SET v = 'z'"#.into()),
        ("delete", r#"DELETE FROM "in.c-s"."delete" WHERE id = 1"#.into()),
        ("truncate", r#"TRUNCATE "in.c-s"."truncate""#.into()),
        ("import", format!("CALL import_table(table => 'in.c-s.import', file_id => {file}, incremental => true)")),
        ("alter", r#"ALTER TABLE "in.c-s"."alter" ADD COLUMN extra STRING DEFAULT 'e'"#.into()),
        ("rows", "CALL delete_rows(table => 'in.c-s.rows', all => true)".into()),
        ("snapshot", "CALL create_snapshot(table => 'in.c-s.snapshot')".into()),
    ];
    let before = text_rows(&b.main, "SELECT name, rows, changed_at FROM duckstore.tables ORDER BY name").await;
    for (table, sql) in &writes {
        b.branch.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let in_branch: Vec<_> =
            text_rows(&b.branch, &format!("SELECT in_branch FROM duckstore.tables WHERE name = '{table}'")).await;
        assert_eq!(in_branch, vec![vec![s("t")]], "{table} was copied into the branch");
    }
    let sink = b.branch.copy_in::<_, Bytes>(r#"COPY "in.c-s"."copy" FROM STDIN (FORMAT csv)"#).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"8,y\n")).await.unwrap();
    sink.finish().await.unwrap();
    assert_eq!(count(&b.branch, "copy").await, 3);
    // reading (a profile) copies nothing
    b.branch.query_one("CALL profile_table(table => 'in.c-s.profile')", &[]).await.unwrap();
    assert_eq!(
        text_rows(&b.branch, "SELECT in_branch FROM duckstore.tables WHERE name = 'profile'").await,
        vec![vec![s("f")]]
    );
    // main: every table exactly as before
    let after = text_rows(&b.main, "SELECT name, rows, changed_at FROM duckstore.tables ORDER BY name").await;
    assert_eq!(before, after);
    for table in names {
        assert_eq!(count(&b.main, table).await, 2, "{table} in main");
    }
    assert_eq!(
        text_rows(&b.main, "SELECT count(*) FROM duckstore.columns WHERE table_name = 'alter'").await,
        vec![vec![s("2")]]
    );
    assert_eq!(text_rows(&b.main, "SELECT count(*) FROM duckstore.snapshots").await, vec![vec![s("0")]]);
    server.stop().await;
}

#[tokio::test]
async fn objects_made_or_dropped_in_a_branch_stay_there() {
    let server = TestServer::start().await;
    let b = setup(&server, &["t", "u"]).await;
    b.branch
        .batch_execute(
            r#"CREATE TABLE "in.c-s"."only_here" (id INTEGER); INSERT INTO "in.c-s"."only_here" VALUES (1);
               CREATE SCHEMA "out.c-new"; CREATE TABLE "out.c-new"."x" (id INTEGER);
               DROP TABLE "in.c-s"."u";"#,
        )
        .await
        .unwrap();
    let err = b.main.simple_query(r#"SELECT * FROM "in.c-s"."only_here""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = b.main.simple_query(r#"SELECT * FROM "out.c-new"."x""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    assert_eq!(count(&b.main, "u").await, 2, "dropping in the branch hides it there only");
    let err = b.branch.simple_query(r#"SELECT * FROM "in.c-s"."u""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let listed = text_rows(&b.branch, "SELECT id, in_branch FROM duckstore.tables ORDER BY id").await;
    assert_eq!(
        listed,
        vec![vec![s("in.c-s.only_here"), s("t")], vec![s("in.c-s.t"), s("f")], vec![s("out.c-new.x"), s("t")],]
    );
    // names main has count in the branch too
    let err = b.branch.batch_execute(r#"CREATE TABLE "in.c-s"."t" (id INTEGER)"#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P07");
    let err = b.branch.batch_execute(r#"CREATE SCHEMA "in.c-s""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P06");
    // a dropped table comes back with pull_table
    b.branch.query_one("CALL pull_table(table => 'in.c-s.u')", &[]).await.unwrap();
    assert_eq!(count(&b.branch, "u").await, 2);
    // dropping main's bucket in the branch hides it, and needs CASCADE while it has tables
    let err = b.branch.batch_execute(r#"DROP SCHEMA "in.c-s""#).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01");
    b.branch.batch_execute(r#"DROP SCHEMA "in.c-s" CASCADE"#).await.unwrap();
    assert_eq!(count(&b.main, "t").await, 2);
    let schemas = text_rows(&b.branch, "SELECT id FROM duckstore.buckets ORDER BY id").await;
    assert_eq!(schemas, vec![vec![s("out.c-new")]]);
    server.stop().await;
}

#[tokio::test]
async fn dropping_a_branch_removes_it_whole_and_ends_its_sessions() {
    let server = TestServer::start().await;
    let b = setup(&server, &["t"]).await;
    b.branch
        .batch_execute(r#"INSERT INTO "in.c-s"."t" VALUES (5, 'e'); CREATE TABLE "in.c-s"."n" (id INTEGER)"#)
        .await
        .unwrap();
    let token: String = b
        .main
        .query_one("CALL create_token(scope => 'branch_admin', branch => $1)", &[&b.branch_id.to_string()])
        .await
        .unwrap()
        .get("token");
    let branch_user = token.rsplit_once('-').unwrap().0.to_owned();
    // a branch token opens only its branch
    let on_branch = server.try_connect(&branch_user, &token, &b.branch_id.to_string()).await.unwrap();
    assert_eq!(count(&on_branch, "t").await, 3);
    let Err(err) = server.try_connect(&branch_user, &token, "main").await else { panic!("refused on main") };
    assert_eq!(sqlstate(&err), "42501");
    let branch_dir = server.data_dir.join("tables").join("1").join(b.branch_id.to_string());
    assert!(branch_dir.exists());
    // only a project_admin drops branches; never the default one
    let err = on_branch.query_one("CALL drop_branch(id => $1)", &[&b.branch_id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    let main_id: i64 =
        b.main.query_one("SELECT id FROM duckstore.branches WHERE is_default", &[]).await.unwrap().get(0);
    let err = b.main.query_one("CALL drop_branch(id => $1)", &[&main_id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "55000");
    b.main.query_one("CALL drop_branch(id => $1)", &[&b.branch_id]).await.unwrap();
    assert!(!branch_dir.exists(), "no files of the branch remain");
    // sessions on it end at their next statement
    let err = b.branch.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&err), "57P01", "{err}");
    assert!(on_branch.simple_query("SELECT 1").await.is_err());
    // its token went with it; main is untouched
    assert!(server.try_connect(&branch_user, &token, &b.branch_id.to_string()).await.is_err());
    assert_eq!(count(&b.main, "t").await, 2);
    assert_eq!(text_rows(&b.main, "SELECT count(*) FROM duckstore.branches").await, vec![vec![s("1")]]);
    assert!(server.try_connect(&b.user, &b.token, &b.branch_id.to_string()).await.is_err());
    server.stop().await;
}
