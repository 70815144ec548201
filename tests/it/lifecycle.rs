//! The server as operators see it: first start, restart, shutdown, health and metrics, TLS, psql.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::harness::{ADMIN_TOKEN, TestServer, config, sqlstate};

async fn listeners() -> (TcpListener, TcpListener) {
    (TcpListener::bind("127.0.0.1:0").await.unwrap(), TcpListener::bind("127.0.0.1:0").await.unwrap())
}

#[tokio::test]
async fn first_start_generates_a_private_admin_token_and_restarts_keep_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cfg = config(data.clone());
    cfg.admin_token = None;
    let (pg, http) = listeners().await;
    let server = duckstore::server::start(cfg.clone(), pg, http).await.unwrap();
    assert!(server.generated_admin_token);
    let token = server.admin_token.clone();
    let file = data.join("admin.token");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let conn = format!("host=127.0.0.1 port={} user=admin password={token} dbname=main", server.pg_addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client.query_one("CALL create_project(name => 'kept')", &[]).await.unwrap();
    let project: i64 = row.get("project_id");
    drop(client);
    server.shutdown().await;

    let (pg, http) = listeners().await;
    let server = duckstore::server::start(cfg, pg, http).await.unwrap();
    assert!(!server.generated_admin_token, "the token is generated once");
    assert_eq!(server.admin_token, token);
    let conn = format!("host=127.0.0.1 port={} user=admin password={token} dbname=main", server.pg_addr.port());
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client.query_one("SELECT name FROM duckstore.projects WHERE id = $1", &[&project]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "kept");
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_catalog_from_a_newer_version_is_refused() {
    let server = TestServer::start().await;
    let data = server.data_dir.clone();
    let _dir = server.stop_keeping_data().await;
    // set the schema version by hand: SQLite keeps user_version at byte offset 60
    let path = data.join("catalog.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[60..64].copy_from_slice(&999u32.to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
    let _ = std::fs::remove_file(data.join("catalog.sqlite-wal"));
    let (pg, http) = listeners().await;
    let err = duckstore::server::start(config(data), pg, http).await.err().expect("refused");
    assert!(err.to_string().contains("newer duckstore"), "{err}");
}

#[tokio::test]
async fn health_and_metrics_answer_over_http() {
    let server = TestServer::start().await;
    let client = server.admin().await;
    client.simple_query("SELECT 1").await.unwrap();
    let _ = client.simple_query("SELECT * FROM nope").await;
    let (_, user, token) = server.project("metered").await;
    let project = server.connect(&user, &token).await;
    project.batch_execute(r#"CREATE SCHEMA "in.c-m"; CREATE TABLE "in.c-m"."t" (id INTEGER)"#).await.unwrap();
    let base = format!("http://{}", server.http_addr);
    let health: serde_json::Value = reqwest::get(format!("{base}/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["duckdb_version"], "v1.5.5");
    assert_eq!(health["data_dir_writable"], true);
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    for name in [
        "duckstore_connections",
        "duckstore_statements_total{kind=\"select\",outcome=\"ok\"}",
        "duckstore_statements_total{kind=\"select\",outcome=\"not_found\"}",
        "duckstore_statement_duration_seconds_bucket",
        "duckstore_build_info{version=",
        "duckdb_version=\"v1.5.5\"",
        "duckstore_process_resident_memory_bytes",
        "duckstore_duckdb_memory_bytes",
        "duckstore_blocking_pool_queue_depth",
        "\nduckstore_projects 1\n",
        "\nduckstore_buckets 1\n",
        "\nduckstore_tables 1\n",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}:\n{metrics}");
    }
    // labels are bounded: no ids (no numeric label values, no id-carrying label names)
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line.split_once('{').and_then(|(_, rest)| rest.split_once('}')).map(|(l, _)| l) else {
            continue;
        };
        for pair in labels.split(',') {
            let (name, value) = pair.split_once('=').unwrap();
            let value = value.trim_matches('"');
            assert!(!["session", "user", "project_id", "token_id", "pid", "id"].contains(&name), "{line}");
            assert!(name == "le" || name == "quantile" || !value.chars().all(|c| c.is_ascii_digit()), "{line}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn health_reports_an_unwritable_data_dir() {
    let server = TestServer::start().await;
    let tmp = server.data_dir.join("tmp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o500)).unwrap();
    let running_as_root = std::fs::write(tmp.join("probe"), b"x").is_ok();
    let response = reqwest::get(format!("http://{}/health", server.http_addr)).await.unwrap();
    if !running_as_root {
        assert_eq!(response.status(), 503);
    } else {
        // root ignores permission bits; remove the directory instead
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::write(&tmp, b"not a directory").unwrap();
        let response = reqwest::get(format!("http://{}/health", server.http_addr)).await.unwrap();
        assert_eq!(response.status(), 503);
        std::fs::remove_file(&tmp).unwrap();
        std::fs::create_dir(&tmp).unwrap();
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700)).unwrap();
    server.stop().await;
}

#[tokio::test]
async fn shutdown_waits_for_running_statements_then_cancels_them() {
    let server = TestServer::start_with(|c| c.shutdown_timeout_secs = 1).await;
    let client = server.admin().await;
    let running =
        tokio::spawn(
            async move { client.simple_query("SELECT count(*) FROM range(100000000) a, range(100000) b").await },
        );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(15), "shutdown took {:?}", started.elapsed());
    let result = running.await.unwrap();
    let err = result.unwrap_err();
    assert!(err.code().is_none_or(|c| c.code() == "57014"), "{err}");
}

/// The real binary: starts with no configuration but a data dir, answers psql, stops on SIGTERM
/// with exit status 0.
#[tokio::test]
async fn the_binary_serves_psql_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (pg_port, http_port) = free_ports();
    let mut child = Command::new(env!("CARGO_BIN_EXE_duckstore"))
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--pg-addr", &format!("127.0.0.1:{pg_port}"), "--http-addr", &format!("127.0.0.1:{http_port}")])
        .args(["--memory-limit", "1GB", "--threads", "2", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let token_file = dir.path().join("data/admin.token");
    let deadline = Instant::now() + Duration::from_secs(30);
    let output = loop {
        assert!(Instant::now() < deadline, "the server did not come up");
        if token_file.exists() {
            let out = Command::new("psql")
                .env("PGPASSWORD", std::fs::read_to_string(&token_file).unwrap().trim())
                .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &pg_port.to_string(), "-U", "admin", "-d", "main"])
                .args(["-c", "SELECT 40 + 2"])
                .output()
                .unwrap();
            if out.status.success() {
                break out;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "42");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(stdout.contains("generated the admin token"), "{stdout}");
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut logs).unwrap();
    let logs = format!("{stdout}{logs}");
    let statement = logs.lines().find(|l| l.contains("\"kind\":\"select\"")).expect("a statement log line");
    let line: serde_json::Value = serde_json::from_str(statement).unwrap();
    for field in ["session", "user", "kind", "duration_ms", "outcome"] {
        assert!(line.get(field).is_some(), "log line lacks {field}: {statement}");
    }
    assert!(!statement.contains("40 + 2"), "statement text must not be logged");
}

fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

fn make_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let status = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/make-dev-certs.sh"))
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "certs/make-dev-certs.sh failed");
    (dir.join("server.crt"), dir.join("server.key"))
}

async fn psql(server: &TestServer, sslmode: &str, sql: &str) -> std::process::Output {
    tokio::process::Command::new("psql")
        .env("PGPASSWORD", ADMIN_TOKEN)
        .env("PGSSLMODE", sslmode)
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &server.pg_addr.port().to_string(),
            "-U",
            "admin",
            "-d",
            "main",
        ])
        .args(["-c", sql])
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn tls_is_negotiated_and_can_be_required() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = make_certificate(certs.path());
    let server = TestServer::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
        c.tls_required = true;
    })
    .await;
    let out = psql(&server, "require", "SELECT 'secure'").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "secure");
    let out = psql(&server, "disable", "SELECT 1").await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SSL connection"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // tokio-postgres without TLS is refused with 28000 as well
    let err = server.try_connect("admin", ADMIN_TOKEN, "main").await.unwrap_err();
    assert_eq!(sqlstate(&err), "28000");
    server.stop().await;
}

#[tokio::test]
async fn tls_is_optional_unless_required() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = make_certificate(certs.path());
    let server = TestServer::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    for mode in ["require", "disable", "prefer"] {
        let out = psql(&server, mode, "SELECT 1").await;
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
    }
    server.stop().await;
}

async fn connections_gauge(server: &TestServer) -> f64 {
    let metrics = reqwest::get(format!("http://{}/metrics", server.http_addr)).await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("duckstore_connections "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn sessions_are_freed_when_clients_disconnect() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(server.admin().await);
    }
    assert_eq!(connections_gauge(&server).await, 3.0);
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections_gauge(&server).await != 0.0 {
        assert!(Instant::now() < deadline, "sessions were not freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// Reads until the server closes the connection or `wait` passes; answers the bytes read and
/// whether it closed.
async fn read_until_closed(socket: &mut tokio::net::TcpStream, wait: std::time::Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(wait, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (got, closed)
}

#[tokio::test]
async fn connections_that_do_not_log_in_in_time_are_closed() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_with(|c| c.startup_timeout_secs = 1).await;
    // silent, and a slow sender that dribbles its startup packet
    let mut silent = tokio::net::TcpStream::connect(server.pg_addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(server.pg_addr).await.unwrap();
    slow.write_all(&[0, 0, 0]).await.unwrap();
    let ((_, silent_closed), (_, slow_closed)) = tokio::join!(
        read_until_closed(&mut silent, std::time::Duration::from_secs(10)),
        read_until_closed(&mut slow, std::time::Duration::from_secs(10))
    );
    assert!(silent_closed && slow_closed, "silent {silent_closed}, slow {slow_closed}");
    // a login in time is unaffected, and its session outlives the startup bound
    let client = server.admin().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(client.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
    server.stop().await;
}

#[tokio::test]
async fn plaintext_bytes_behind_an_ssl_request_close_the_connection() {
    use tokio::io::AsyncWriteExt;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = make_certificate(certs.path());
    let server = TestServer::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
        c.tls_required = true;
    })
    .await;
    // SSLRequest and a plaintext startup packet in one segment (CVE-2021-23214's pattern)
    let mut startup = Vec::new();
    let body = b"\x00\x03\x00\x00user\x00admin\x00database\x00main\x00\x00";
    startup.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    startup.extend_from_slice(body);
    let mut socket = tokio::net::TcpStream::connect(server.pg_addr).await.unwrap();
    socket.write_all(&[&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f][..], &startup].concat()).await.unwrap();
    let (got, closed) = read_until_closed(&mut socket, std::time::Duration::from_secs(10)).await;
    assert!(closed && got.is_empty(), "the server answered {got:?} instead of closing");
    // an honest TLS client still connects
    let out = psql(&server, "require", "SELECT 1").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.stop().await;
}
