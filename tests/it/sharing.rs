//! Sharing buckets between projects: share, link (read-only, live), unlink, unshare; and
//! idempotency keys on creating procedures.

use crate::harness::{TestServer, sqlstate};
use crate::tables::sales;

#[tokio::test]
async fn a_shared_bucket_is_linked_read_only_and_live() {
    let server = TestServer::start().await;
    let (source, source_user, _) = sales(&server).await;
    let source_project: i64 = source_user.split('-').next().unwrap().parse().unwrap();
    let (target_project, user, token) = server.project("target").await;
    let target = server.connect(&user, &token).await;
    // linking needs a share first
    let link = format!(
        "CALL link_bucket(source_project => {source_project}, source_bucket => 'in.c-sales', stage => 'in', name => 'shared')"
    );
    assert_eq!(sqlstate(&target.simple_query(&link).await.unwrap_err()), "42501");
    source.query_one("CALL share_bucket(bucket => 'in.c-sales', project => $1)", &[&target_project]).await.unwrap();
    target.simple_query(&link).await.unwrap();
    // reads see the source, live
    let n: i64 = target.query_one(r#"SELECT count(*) FROM "in.c-shared"."orders""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 3);
    source.batch_execute(r#"INSERT INTO "in.c-sales"."orders" (id) VALUES (100)"#).await.unwrap();
    let n: i64 = target.query_one(r#"SELECT count(*) FROM "in.c-shared"."orders""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 4);
    let linked: bool =
        target.query_one("SELECT is_linked FROM duckstore.buckets WHERE id = 'in.c-shared'", &[]).await.unwrap().get(0);
    assert!(linked);
    // writes through the link are refused
    for sql in [
        r#"INSERT INTO "in.c-shared"."orders" (id) VALUES (5)"#,
        r#"DELETE FROM "in.c-shared"."orders""#,
        r#"CREATE TABLE "in.c-shared"."t" (a INT)"#,
        r#"DROP TABLE "in.c-shared"."orders""#,
    ] {
        assert_eq!(sqlstate(&target.simple_query(sql).await.unwrap_err()), "42501", "{sql}");
    }
    // a profile of the linked table is answered, and never written into the source's catalog
    let profiles = r#"SELECT count(*) FROM duckstore.table_profiles WHERE table_id = 'in.c-sales.orders'"#;
    let before: i64 = source.query_one(profiles, &[]).await.unwrap().get(0);
    target.query_one("CALL profile_table(table => 'in.c-shared.orders')", &[]).await.unwrap();
    let after: i64 = source.query_one(profiles, &[]).await.unwrap().get(0);
    assert_eq!(before, after, "the linking project wrote into the source's catalog");
    // the source cannot drop or unshare while linked
    assert_eq!(sqlstate(&source.simple_query(r#"DROP SCHEMA "in.c-sales" CASCADE"#).await.unwrap_err()), "2BP01");
    let unshare = format!("CALL unshare_bucket(bucket => 'in.c-sales', project => {target_project})");
    let err = source.simple_query(&unshare).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01");
    assert!(err.as_db_error().unwrap().message().contains("in.c-shared"), "{err:?}");
    // after unlinking, unsharing and dropping work
    target.query_one("CALL unlink_bucket(bucket => 'in.c-shared')", &[]).await.unwrap();
    source.simple_query(&unshare).await.unwrap();
    source.simple_query(r#"DROP SCHEMA "in.c-sales" CASCADE"#).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn sharing_needs_a_project_admin_token() {
    let server = TestServer::start().await;
    let (source, _, _) = sales(&server).await;
    let (target_project, _, _) = server.project("target").await;
    let row = source.query_one("CALL create_token(scope => 'branch_admin')", &[]).await.unwrap();
    let limited = server.connect(&row.get::<_, String>("user_name"), &row.get::<_, String>("token")).await;
    let sql = format!("CALL share_bucket(bucket => 'in.c-sales', project => {target_project})");
    assert_eq!(sqlstate(&limited.simple_query(&sql).await.unwrap_err()), "42501");
    assert_eq!(sqlstate(&limited.simple_query("CALL revoke_bucket_read('in.c-sales')").await.unwrap_err()), "42501");
    server.stop().await;
}

#[tokio::test]
async fn idempotency_keys_answer_retries_with_the_first_result() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let first = admin.query_one("CALL create_project(name => 'once', idempotency_key => 'k-1')", &[]).await.unwrap();
    let again = admin.query_one("CALL create_project(name => 'once', idempotency_key => 'k-1')", &[]).await.unwrap();
    assert_eq!(first.get::<_, i64>("project_id"), again.get::<_, i64>("project_id"));
    assert_eq!(first.get::<_, String>("token_id"), again.get::<_, String>("token_id"));
    // the secret is shown once: a replay answers the token without it, and the catalog never holds it
    assert_eq!(again.get::<_, Option<String>>("token"), None);
    let secret: String = first.get("token");
    for file in ["catalog.sqlite", "catalog.sqlite-wal"] {
        let bytes = std::fs::read(server.data_dir.join(file)).unwrap_or_default();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{file} holds the token");
    }
    let n: i64 = admin.query_one("SELECT count(*) FROM duckstore.projects", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    let err = admin.query_one("CALL create_project(name => 'other', idempotency_key => 'k-1')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "23505");
    // keys are scoped to the caller: a project token's key k-1 is its own
    let user: String = first.get("user_name");
    let token: String = first.get("token");
    let client = server.connect(&user, &token).await;
    let a = client
        .query_one("CALL create_bucket(stage => 'in', name => 'b', idempotency_key => 'k-1')", &[])
        .await
        .unwrap();
    let b = client
        .query_one("CALL create_bucket(stage => 'in', name => 'b', idempotency_key => 'k-1')", &[])
        .await
        .unwrap();
    assert_eq!(a.get::<_, String>("id"), b.get::<_, String>("id"));
    let err = client.query_one("CALL create_bucket(stage => 'in', name => 'b')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P06", "without a key the second create is a duplicate");
    server.stop().await;
}

#[tokio::test]
async fn a_bucket_shared_with_every_project_is_linked_by_any() {
    let server = TestServer::start().await;
    let (source, source_user, _) = sales(&server).await;
    let source_project: i64 = source_user.split('-').next().unwrap().parse().unwrap();
    let (_, user, token) = server.project("anyone").await;
    let target = server.connect(&user, &token).await;
    source.batch_execute("CALL share_bucket(bucket => 'in.c-sales')").await.unwrap();
    let shared: String = source
        .query_one("SELECT shared_with FROM duckstore.buckets WHERE id = 'in.c-sales'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(shared.starts_with('*'), "{shared}");
    target
        .batch_execute(&format!(
            "CALL link_bucket(source_project => {source_project}, source_bucket => 'in.c-sales', stage => 'in', name => 'all')"
        ))
        .await
        .unwrap();
    let n: i64 = target.query_one(r#"SELECT count(*) FROM "in.c-all"."orders""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 3);
    // withdrawing it waits for the links to go
    let err = source.simple_query("CALL unshare_bucket(bucket => 'in.c-sales')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01");
    target.batch_execute("CALL unlink_bucket(bucket => 'in.c-all')").await.unwrap();
    source.batch_execute("CALL unshare_bucket(bucket => 'in.c-sales')").await.unwrap();
    let err = target
        .simple_query(&format!(
            "CALL link_bucket(source_project => {source_project}, source_bucket => 'in.c-sales', stage => 'in', name => 'all')"
        ))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    // only a project_admin token shares
    let ro = source.query_one("CALL create_token(scope => 'branch_admin')", &[]).await.unwrap();
    let branch_admin = server.connect(&ro.get::<_, String>("user_name"), &ro.get::<_, String>("token")).await;
    let err = branch_admin.simple_query("CALL share_bucket(bucket => 'in.c-sales')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    server.stop().await;
}
