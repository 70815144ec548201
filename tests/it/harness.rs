//! Starting a server for one test and connecting to it.

use std::net::SocketAddr;
use std::path::PathBuf;

use duckstore::config::ServeConfig;
use duckstore::server::RunningServer;
use tokio::net::TcpListener;
use tokio_postgres::{Client, NoTls};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub pg_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn config(dir: PathBuf) -> ServeConfig {
    let mut config = ServeConfig::defaults(dir);
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.memory_limit = Some("1GB".into());
    config.threads = Some(2);
    config.shutdown_timeout_secs = 5;
    config
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let mut config = config(data_dir.clone());
        adjust(&mut config);
        let pg = TcpListener::bind("127.0.0.1:0").await.expect("bind pg");
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let server = duckstore::server::start(config, pg, http).await.expect("server starts");
        TestServer { pg_addr: server.pg_addr, http_addr: server.http_addr, server: Some(server), data_dir, _dir: dir }
    }

    pub fn conn_string(&self, user: &str, password: &str, database: &str) -> String {
        let q = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        format!(
            "host={} port={} user={} password={} dbname={} sslmode=disable",
            self.pg_addr.ip(),
            self.pg_addr.port(),
            q(user),
            q(password),
            q(database)
        )
    }

    pub async fn try_connect(
        &self,
        user: &str,
        password: &str,
        database: &str,
    ) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&self.conn_string(user, password, database), NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    pub async fn connect(&self, user: &str, password: &str) -> Client {
        self.try_connect(user, password, "main").await.expect("connects")
    }

    pub async fn admin(&self) -> Client {
        self.connect("admin", ADMIN_TOKEN).await
    }

    /// Creates a project and answers (project id, user name, token).
    pub async fn project(&self, name: &str) -> (i64, String, String) {
        let admin = self.admin().await;
        let row = admin.query_one("CALL create_project(name => $1)", &[&name]).await.expect("create_project");
        (row.get("project_id"), row.get("user_name"), row.get("token"))
    }

    /// Stops the server but keeps its data directory for a look afterwards.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let empty = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self._dir, empty)
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// The server's message of a failed statement.
pub fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string())
}
