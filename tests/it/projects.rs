use crate::harness::{TestServer, sqlstate};

#[tokio::test]
async fn admin_creates_a_project_whose_token_logs_in() {
    let server = TestServer::start().await;
    let (project_id, user, token) = server.project("acme").await;
    assert!(project_id > 0);
    assert_eq!(user, format!("{project_id}-{}", token.split('-').nth(1).unwrap()));
    let client = server.connect(&user, &token).await;
    let rows = client.query("SELECT id, name FROM duckstore.projects", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>("id"), project_id);
    assert_eq!(rows[0].get::<_, String>("name"), "acme");
    server.stop().await;
}

#[tokio::test]
async fn a_project_token_cannot_create_projects() {
    let server = TestServer::start().await;
    let (_, user, token) = server.project("acme").await;
    let client = server.connect(&user, &token).await;
    let err = client.simple_query("CALL create_project(name => 'evil')").await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501");
    // the session survives the refusal
    assert_eq!(client.query_one("SELECT 1::int4", &[]).await.unwrap().get::<_, i32>(0), 1);
    server.stop().await;
}
