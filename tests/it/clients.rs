//! Real client libraries against the real server: psycopg 3, PHP PDO pgsql, pgjdbc. Each client
//! program (tests/clients/) asserts what it reads and exits non-zero on the first wrong answer.

use std::path::Path;

use crate::harness::TestServer;
use crate::tables::sales;

const CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients");

async fn run(server: &TestServer, user: &str, token: &str, program: &str, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .env("DS_HOST", "127.0.0.1")
        .env("DS_PORT", server.pg_addr.port().to_string())
        .env("DS_USER", user)
        .env("DS_PASSWORD", token)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_reads_writes_and_browses() {
    let server = TestServer::start().await;
    let (_, user, token) = sales(&server).await;
    // Debian's python3 carries python3-psycopg (a pyenv python on PATH may not).
    let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    run(&server, &user, &token, python, &[&format!("{CLIENTS}/psycopg_client.py")]).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_pdo_reads_writes_and_looks_up_types() {
    let server = TestServer::start().await;
    let (_, user, token) = sales(&server).await;
    run(&server, &user, &token, "php", &[&format!("{CLIENTS}/pdo_client.php")]).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_reads_metadata_and_pages() {
    let server = TestServer::start().await;
    let (_, user, token) = sales(&server).await;
    let classes = tempfile::tempdir().unwrap();
    let jar = "/usr/share/java/postgresql.jar";
    let status = tokio::process::Command::new("javac")
        .args(["-d"])
        .arg(classes.path())
        .arg(format!("{CLIENTS}/JdbcClient.java"))
        .status()
        .await
        .unwrap();
    assert!(status.success(), "javac failed");
    let classpath = format!("{}:{jar}", classes.path().display());
    run(&server, &user, &token, "java", &["-cp", &classpath, "JdbcClient"]).await;
    server.stop().await;
}
