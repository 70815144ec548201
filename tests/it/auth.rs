//! Logins with storage tokens (SCRAM-SHA-256), token scopes, revocation, rotation, expiry.

use crate::harness::{ADMIN_TOKEN, TestServer, message, sqlstate};

async fn login_error(server: &TestServer, user: &str, password: &str, database: &str) -> String {
    match server.try_connect(user, password, database).await {
        Ok(_) => panic!("{user} logged in with a bad credential"),
        Err(e) => sqlstate(&e),
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_with_28p01() {
    let server = TestServer::start().await;
    let (project, user, token) = server.project("p").await;
    assert_eq!(login_error(&server, "admin", "wrong-admin-token-xxxx", "main").await, "28P01");
    assert_eq!(login_error(&server, &user, &format!("{token}x"), "main").await, "28P01");
    assert_eq!(login_error(&server, &format!("{project}-nosuchtoken"), &token, "main").await, "28P01");
    assert_eq!(login_error(&server, "garbage user", "x", "main").await, "28P01");
    assert_eq!(login_error(&server, "9999-abc", "9999-abc-def", "main").await, "28P01");
    // the token of one user does not work for another user name
    let (_, other_user, _) = server.project("q").await;
    assert_eq!(login_error(&server, &other_user, &token, "main").await, "28P01");
    server.stop().await;
}

#[tokio::test]
async fn verifiers_are_stored_never_tokens() {
    let server = TestServer::start().await;
    let (_, _, token) = server.project("p").await;
    let secret = token.rsplit('-').next().unwrap().to_owned();
    let catalog = std::fs::read(server.data_dir.join("catalog.sqlite")).unwrap();
    let wal = std::fs::read(server.data_dir.join("catalog.sqlite-wal")).unwrap_or_default();
    for bytes in [&catalog, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&secret), "the token secret is stored in the catalog");
        assert!(!text.contains(ADMIN_TOKEN), "the admin token is stored in the catalog");
    }
    server.stop().await;
}

#[tokio::test]
async fn tokens_of_every_scope_work_at_once() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    let mut logins = vec![(user, token)];
    for scope in ["project_admin", "project_admin", "branch_admin", "branch_admin", "branch_read", "branch_read"] {
        let row = owner.query_one("CALL create_token(scope => $1)", &[&scope]).await.unwrap();
        assert_eq!(row.get::<_, String>("scope"), scope);
        logins.push((row.get("user_name"), row.get("token")));
    }
    let mut clients = Vec::new();
    for (user, token) in &logins {
        clients.push(server.connect(user, token).await);
    }
    for client in &clients {
        assert_eq!(client.query_one("SELECT 1::int4", &[]).await.unwrap().get::<_, i32>(0), 1);
    }
    let rows = owner.query("SELECT id, scope, active FROM duckstore.tokens", &[]).await.unwrap();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r.get::<_, bool>("active")));
    server.stop().await;
}

#[tokio::test]
async fn the_tokens_view_never_shows_secrets() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let client = server.connect(&user, &token).await;
    let secret = token.rsplit('-').next().unwrap();
    for row in client.simple_query("SELECT * FROM duckstore.tokens").await.unwrap() {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = row {
            for i in 0..row.len() {
                assert!(!row.get(i).unwrap_or("").contains(secret), "column {i} shows the secret");
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn revoked_tokens_cannot_log_in_and_their_sessions_end() {
    let server = TestServer::start().await;
    let (project, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    let row = owner.query_one("CALL create_token(scope => 'branch_admin', description => 'ci')", &[]).await.unwrap();
    let (id, other_user, other_token): (String, String, String) =
        (row.get("token_id"), row.get("user_name"), row.get("token"));
    let other = server.connect(&other_user, &other_token).await;
    owner.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap();
    assert_eq!(login_error(&server, &other_user, &other_token, "main").await, "28P01");
    // the session opened before the revocation is refused its next statement
    let err = other.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&err), "28P01");
    assert!(message(&err).contains("revoked"), "{err}");
    // revoking again is a clear precondition failure
    let err = owner.query_one("CALL revoke_token($1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "55000");
    let events = owner
        .query("SELECT operation FROM duckstore.events WHERE project_id = $1 ORDER BY id", &[&project])
        .await
        .unwrap();
    let ops: Vec<String> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(ops, ["create_project", "create_token", "revoke_token"]);
    server.stop().await;
}

#[tokio::test]
async fn the_last_project_admin_token_cannot_be_revoked() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    let id = token.split('-').nth(1).unwrap().to_owned();
    let err = owner.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "55000");
    assert!(err.as_db_error().unwrap().message().contains("last active project_admin"));
    // with a second admin token it can go
    owner.query_one("CALL create_token(scope => 'project_admin')", &[]).await.unwrap();
    owner.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn rotation_replaces_the_secret() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    let id = token.split('-').nth(1).unwrap().to_owned();
    let row = owner.query_one("CALL rotate_token(token_id => $1)", &[&id]).await.unwrap();
    let new_token: String = row.get("token");
    assert_ne!(new_token, token);
    assert_eq!(row.get::<_, String>("user_name"), user);
    assert_eq!(login_error(&server, &user, &token, "main").await, "28P01");
    server.connect(&user, &new_token).await;
    server.stop().await;
}

#[tokio::test]
async fn expired_tokens_cannot_log_in() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    let row = owner.query_one("CALL create_token(scope => 'branch_read', expires => '1 second')", &[]).await.unwrap();
    let (short_user, short_token): (String, String) = (row.get("user_name"), row.get("token"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let err = server.try_connect(&short_user, &short_token, "main").await.unwrap_err();
    assert_eq!(sqlstate(&err), "28P01");
    assert!(message(&err).contains("expired"), "{err}");
    let err = owner.query_one("CALL create_token(expires => '2001-01-01')", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22023");
    server.stop().await;
}

#[tokio::test]
async fn a_project_cannot_see_or_touch_another() {
    let server = TestServer::start().await;
    let (a, a_user, a_token) = server.project("a").await;
    let (b, _, b_token) = server.project("b").await;
    let client = server.connect(&a_user, &a_token).await;
    let ids: Vec<i64> =
        client.query("SELECT id FROM duckstore.projects", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [a]);
    let projects: Vec<i64> = client
        .query("SELECT DISTINCT project_id FROM duckstore.tokens", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(projects, [a]);
    let b_id = b_token.split('-').nth(1).unwrap().to_owned();
    for sql in [
        format!("CALL create_token(project => {b})"),
        format!("CALL revoke_token(token_id => '{b_id}', project => {b})"),
        format!("CALL rotate_token(token_id => '{b_id}', project => {b})"),
        format!("CALL drop_project(id => {b})"),
        "CALL create_project(name => 'x')".to_owned(),
    ] {
        let err = client.simple_query(&sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }
    let events: Vec<Option<i64>> =
        client.query("SELECT project_id FROM duckstore.events", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert!(events.iter().all(|p| *p == Some(a)), "{events:?}");
    server.stop().await;
}

#[tokio::test]
async fn branch_tokens_are_refused_project_administration() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    for scope in ["branch_read", "branch_admin"] {
        let row = owner.query_one("CALL create_token(scope => $1)", &[&scope]).await.unwrap();
        let limited = server.connect(&row.get::<_, String>("user_name"), &row.get::<_, String>("token")).await;
        for sql in ["CALL create_token(scope => 'project_admin')", "CALL create_token(scope => 'branch_read')"] {
            let err = limited.simple_query(sql).await.unwrap_err();
            assert_eq!(sqlstate(&err), "42501", "{scope}: {sql}");
        }
        // a branch token sees itself only
        let rows = limited.query("SELECT id FROM duckstore.tokens", &[]).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<_, String>(0), row.get::<_, String>("token_id"));
        // and may rotate itself
        limited.query_one("CALL rotate_token($1)", &[&row.get::<_, String>("token_id")]).await.unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn the_database_selects_a_branch() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    for database in ["main", "", &user] {
        server.try_connect(&user, &token, database).await.unwrap_or_else(|e| panic!("{database:?}: {e}"));
    }
    assert_eq!(login_error(&server, &user, &token, "no_such_branch").await, "3D000");
    assert_eq!(login_error(&server, &user, &token, "424242").await, "3D000");
    server.stop().await;
}

#[tokio::test]
async fn the_admin_manages_projects() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let row = admin.query_one("CALL create_project(name => 'fixed', id => 4242)", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>("project_id"), 4242);
    let err = admin.query_one("CALL create_project(name => 'again', id => 4242)", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42710");
    let err = admin.query_one("CALL create_token()", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "22023", "the admin must name the project");
    let token = admin.query_one("CALL create_token(project => 4242, scope => 'branch_read')", &[]).await.unwrap();
    assert_eq!(token.get::<_, i64>("project_id"), 4242);
    let user: String = row.get("user_name");
    let project_token: String = row.get("token");
    admin.query_one("CALL drop_project(id => 4242)", &[]).await.unwrap();
    assert_eq!(login_error(&server, &user, &project_token, "main").await, "28P01");
    assert!(!server.data_dir.join("tables/4242").exists());
    let err = admin.query_one("CALL drop_project(4242)", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42704");
    let ops: Vec<String> = admin
        .query("SELECT operation FROM duckstore.events WHERE project_id = 4242 ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ops, ["create_project", "create_token", "drop_project"]);
    // a dropped project's id is never given again, named or chosen
    let err = admin.query_one("CALL create_project(name => 'reuse', id => 4242)", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42710", "{err:?}");
    let next: i64 = admin.query_one("CALL create_project(name => 'next')", &[]).await.unwrap().get("project_id");
    assert!(next > 4242, "{next}");
    server.stop().await;
}

#[tokio::test]
async fn a_project_whose_buckets_are_linked_is_not_dropped_until_they_are_unlinked() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (source_id, source_user, source_token) = server.project("source").await;
    let (target_id, target_user, target_token) = server.project("target").await;
    let source = server.connect(&source_user, &source_token).await;
    let target = server.connect(&target_user, &target_token).await;
    source
        .batch_execute(
            r#"CREATE SCHEMA "in.c-s"; CREATE TABLE "in.c-s"."t" (id INTEGER); INSERT INTO "in.c-s"."t" VALUES (1)"#,
        )
        .await
        .unwrap();
    source.query_one("CALL share_bucket(bucket => 'in.c-s', project => $1)", &[&target_id]).await.unwrap();
    target
        .batch_execute(&format!(
            "CALL link_bucket(source_project => {source_id}, source_bucket => 'in.c-s', stage => 'in', name => 'l')"
        ))
        .await
        .unwrap();
    let err = admin.query_one("CALL drop_project(id => $1)", &[&source_id]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "2BP01", "{err:?}");
    assert!(message(&err).contains("in.c-l"), "{}", message(&err));
    // nothing was dropped: the link still reads
    let n: i64 = target.query_one(r#"SELECT count(*) FROM "in.c-l"."t""#, &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    target.batch_execute("CALL unlink_bucket(bucket => 'in.c-l')").await.unwrap();
    admin.query_one("CALL drop_project(id => $1)", &[&source_id]).await.unwrap();
    assert!(!server.data_dir.join(format!("tables/{source_id}")).exists());
    assert_eq!(target.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
    server.stop().await;
}

#[tokio::test]
async fn open_sessions_and_copies_end_when_their_token_stops_being_valid() {
    use bytes::Bytes;
    use futures::SinkExt;
    let server = TestServer::start().await;
    let (_, user, token) = server.project("p").await;
    let owner = server.connect(&user, &token).await;
    owner.batch_execute(r#"CREATE SCHEMA "in.c-s"; CREATE TABLE "in.c-s"."t" (id INTEGER)"#).await.unwrap();
    let new_token = |scope: &'static str, expires: Option<&'static str>| {
        let owner = &owner;
        async move {
            let sql = match expires {
                Some(e) => format!("CALL create_token(scope => '{scope}', expires => '{e}')"),
                None => format!("CALL create_token(scope => '{scope}')"),
            };
            let row = owner.query_one(&sql, &[]).await.unwrap();
            (row.get::<_, String>("user_name"), row.get::<_, String>("token"), row.get::<_, String>("token_id"))
        }
    };
    let insert = r#"INSERT INTO "in.c-s"."t" VALUES (1)"#;
    // expiry: a session opened before it ends at its next statement after it
    let (u, t, _) = new_token("branch_admin", Some("2 seconds")).await;
    let expiring = server.connect(&u, &t).await;
    expiring.batch_execute(insert).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let err = expiring.batch_execute(insert).await.unwrap_err();
    assert_eq!(sqlstate(&err), "28P01", "{err:?}");
    assert!(expiring.is_closed() || expiring.simple_query("SELECT 1").await.is_err(), "the session ended");
    // rotation: the old secret's session ends; the new secret logs in
    let (u, t, id) = new_token("branch_admin", None).await;
    let old = server.connect(&u, &t).await;
    old.batch_execute(insert).await.unwrap();
    let rotated: String = owner.query_one("CALL rotate_token(token_id => $1)", &[&id]).await.unwrap().get("token");
    assert_eq!(sqlstate(&old.batch_execute(insert).await.unwrap_err()), "28P01");
    server.connect(&u, &rotated).await.batch_execute(insert).await.unwrap();
    // revocation during a COPY: the rows never commit
    let (u, t, id) = new_token("branch_admin", None).await;
    let copier = server.connect(&u, &t).await;
    let before: i64 = owner.query_one(r#"SELECT count(*) FROM "in.c-s"."t""#, &[]).await.unwrap().get(0);
    let sink = copier.copy_in::<_, Bytes>(r#"COPY "in.c-s"."t" FROM STDIN (FORMAT csv)"#).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(Bytes::from_static(b"7\n8\n")).await.unwrap();
    owner.query_one("CALL revoke_token(token_id => $1)", &[&id]).await.unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(sqlstate(&err), "28P01", "{err:?}");
    let after: i64 = owner.query_one(r#"SELECT count(*) FROM "in.c-s"."t""#, &[]).await.unwrap().get(0);
    assert_eq!(before, after, "a revoked token's COPY committed rows");
    server.stop().await;
}
