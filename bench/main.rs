//! duckstore benchmarks. Each compares against a baseline measured in the same run (a Debian
//! PostgreSQL 15 server started here, or raw DuckDB) and prints a table with the ratio.
//!
//!   cargo bench --bench duckstore -- [wire]        (default: all)

mod postgres;
mod stats;

use std::time::{Duration, Instant};

use duckstore::config::ServeConfig;
use stats::{Samples, Table};
use tokio::net::TcpListener;
use tokio_postgres::{Client, NoTls};

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";

struct Duckstore {
    server: Option<duckstore::server::RunningServer>,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Duckstore {
    async fn start() -> Duckstore {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::defaults(dir.path().join("data"));
        config.admin_token = Some(ADMIN_TOKEN.into());
        let pg = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = duckstore::server::start(config, pg, http).await.unwrap();
        Duckstore { port: server.pg_addr.port(), server: Some(server), _dir: dir }
    }

    fn conn_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=admin password={ADMIN_TOKEN} dbname=main", self.port)
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

async fn connect(conn: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(conn, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Connect (TCP + startup + SCRAM) and run `SELECT 1`, `n` times one after another.
async fn connect_and_query(conn: &str, n: usize) -> Samples {
    let mut samples = Samples::default();
    for _ in 0..n {
        let started = Instant::now();
        let client = connect(conn).await;
        client.simple_query("SELECT 1").await.unwrap();
        samples.push(started.elapsed());
        drop(client);
    }
    samples
}

/// `sessions` clients each running `sql` round trips for `duration`.
async fn concurrent(conn: &str, sql: &'static str, sessions: usize, duration: Duration) -> (Samples, f64) {
    let mut clients = Vec::new();
    for _ in 0..sessions {
        clients.push(connect(conn).await);
    }
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            tokio::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    client.simple_query(sql).await.unwrap();
                    samples.push(started.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let throughput = all.len() as f64 / duration.as_secs_f64();
    (all, throughput)
}

async fn wire(table: &mut Table) {
    let pg = postgres::Postgres::start();
    println!("baseline: {} on port {}", pg.version(), pg.port);
    let duck = Duckstore::start().await;
    let pg_conn = pg.conn_string();
    let duck_conn = duck.conn_string();

    // warm up both
    connect_and_query(&pg_conn, 20).await;
    connect_and_query(&duck_conn, 20).await;
    let p = connect_and_query(&pg_conn, 300).await;
    let d = connect_and_query(&duck_conn, 300).await;
    table.row_latency("connect + SCRAM + SELECT 1", &d, &p, "≤ 2× PostgreSQL");

    let window = Duration::from_secs(5);
    let (p, p_tps) = concurrent(&pg_conn, "SELECT 1", 32, window).await;
    let (d, d_tps) = concurrent(&duck_conn, "SELECT 1", 32, window).await;
    table.row_latency("SELECT 1, 32 sessions", &d, &p, "p99 ≤ PostgreSQL");
    table.row_throughput("SELECT 1, 32 sessions (queries/s)", d_tps, p_tps);
    // A small catalog query that runs in the engine: duckstore's system view vs pg_catalog.
    let (p, p_tps) =
        concurrent(&pg_conn, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname <> 'x'", 32, window).await;
    let (d, d_tps) =
        concurrent(&duck_conn, "SELECT count(*) FROM duckstore.projects WHERE name <> 'x'", 32, window).await;
    table.row_latency("small catalog query, 32 sessions", &d, &p, "p99 ≤ PostgreSQL");
    table.row_throughput("small catalog query, 32 sessions (queries/s)", d_tps, p_tps);
    duck.stop().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut table = Table::default();
    runtime.block_on(async {
        if wanted("wire") {
            wire(&mut table).await;
        }
    });
    table.print();
}
