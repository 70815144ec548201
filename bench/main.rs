//! duckstore benchmarks. Each compares against a baseline measured in the same run (a Debian
//! PostgreSQL 15 server started here, or raw DuckDB) and prints a table with the ratio.
//!
//!   cargo bench --bench duckstore -- [wire] [storage] [catalog] [loads] [snapshots] [branches] [listing]
//!                                   [workspaces] [jdbc] [fairness] [transactions] [catalog5000]
//!                                   (default: all)

mod postgres;
mod stats;

use std::time::{Duration, Instant};

use duckstore::config::ServeConfig;
use stats::{Samples, Table};
use tokio::net::TcpListener;
use tokio_postgres::{Client, NoTls};

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";

/// A duckstore server on a runtime and threads of its own, as in its own process: the clients
/// the benchmarks drive run on the benchmark's runtime, as PostgreSQL's clients do, instead of
/// taking turns with the server on the same worker threads.
struct Duckstore {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    port: u16,
    http: std::net::SocketAddr,
}

impl Duckstore {
    async fn start() -> Duckstore {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Duckstore {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::defaults(dir.path().join("data"));
        config.admin_token = Some(ADMIN_TOKEN.into());
        adjust(&mut config);
        let (started, addresses) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("duckstore-server".into())
            .spawn(move || {
                // as the binary builds its runtime (src/main.rs)
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .thread_stack_size(duckstore::server::THREAD_STACK)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let pg = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let server = duckstore::server::start(config, pg, http).await.unwrap();
                    started.send((server.pg_addr.port(), server.http_addr)).unwrap();
                    let _ = stopped.await;
                    server.shutdown().await;
                });
            })
            .unwrap();
        let (port, http) = addresses.await.unwrap();
        Duckstore { stop: Some(stop), thread: Some(thread), _dir: dir, port, http }
    }

    fn http_addr(&self) -> std::net::SocketAddr {
        self.http
    }

    fn conn_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=admin password={ADMIN_TOKEN} dbname=main", self.port)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join().unwrap()).await.unwrap();
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

/// Creates a project with one bucket; answers a session of its project_admin token.
async fn project(duck: &Duckstore, name: &str) -> (Client, String) {
    let admin = connect(&duck.conn_string()).await;
    let row = admin.query_one("CALL create_project(name => $1)", &[&name]).await.unwrap();
    let (user, token): (String, String) = (row.get("user_name"), row.get("token"));
    let conn = format!("host=127.0.0.1 port={} user={user} password={token} dbname=main", duck.port);
    let client = connect(&conn).await;
    client.batch_execute(r#"CREATE SCHEMA "in.c-bench""#).await.unwrap();
    (client, conn)
}

/// `n` sequential runs of `sql`, timed one by one.
async fn latency(client: &Client, sql: &str, n: usize) -> Samples {
    let mut samples = Samples::default();
    for _ in 0..n {
        let started = Instant::now();
        client.simple_query(sql).await.unwrap();
        samples.push(started.elapsed());
    }
    samples
}

/// `n` sequential runs of `sql` with `{i}` replaced by a new number each run (a new text).
async fn varied(client: &Client, sql: &str, n: usize) -> Samples {
    let mut samples = Samples::default();
    let base = rand_base();
    for i in 0..n {
        let text = sql.replace("{i}", &(i + base).to_string());
        let started = Instant::now();
        client.simple_query(&text).await.unwrap();
        samples.push(started.elapsed());
    }
    samples
}

/// A base for `varied`'s numbers, new in each call, so no two calls repeat a text.
fn rand_base() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1_000_000, Ordering::Relaxed)
}

/// Point lookups of keys spread over the first million ids, the key spliced into the text (a
/// new statement each time); the first 100 are warm-up.
async fn lookups(client: &Client, sql: &str) -> Samples {
    let mut samples = Samples::default();
    for i in 0..600i64 {
        let started = Instant::now();
        client.simple_query(&sql.replace("$1", &((i * 7919) % 1_000_000).to_string())).await.unwrap();
        if i >= 100 {
            samples.push(started.elapsed());
        }
    }
    samples
}

/// The same lookups through one prepared statement (Bind/Execute each time).
async fn prepared(client: &Client, sql: &str) -> Samples {
    let statement = client.prepare(sql).await.unwrap();
    let mut samples = Samples::default();
    for i in 0..600i64 {
        let started = Instant::now();
        client.query(&statement, &[&((i * 7919) % 1_000_000)]).await.unwrap();
        if i >= 100 {
            samples.push(started.elapsed());
        }
    }
    samples
}

/// Streams a whole result through the wire and counts its rows.
async fn stream_rows(client: &Client, sql: &str) -> (Duration, u64) {
    use futures::StreamExt;
    let started = Instant::now();
    let stream = client.query_raw(sql, Vec::<i32>::new()).await.unwrap();
    futures::pin_mut!(stream);
    let mut n = 0u64;
    while let Some(row) = stream.next().await {
        row.unwrap();
        n += 1;
    }
    (started.elapsed(), n)
}

async fn storage(table: &mut Table) {
    const ROWS: i64 = 10_000_000;
    let pg = postgres::Postgres::start();
    let duck = Duckstore::start().await;
    let (client, _) = project(&duck, "bench").await;
    let pg_client = connect(&pg.conn_string()).await;

    let create = Instant::now();
    client
        .batch_execute(&format!(
            r#"CREATE TABLE "in.c-bench"."big" (id BIGINT, name STRING, amount DOUBLE, day DATE);
               INSERT INTO "in.c-bench"."big" SELECT i, 'name ' || i, i * 0.5, DATE '2024-01-01' + (i % 365)::INTEGER FROM range({ROWS}) t(i)"#
        ))
        .await
        .unwrap();
    println!("duckstore: 10M-row table in {:?}", create.elapsed());
    let create = Instant::now();
    pg_client
        .batch_execute(&format!(
            "CREATE TABLE big (id BIGINT, name TEXT, amount DOUBLE PRECISION, day DATE);
             INSERT INTO big SELECT i, 'name ' || i, i * 0.5, DATE '2024-01-01' + (i % 365) FROM generate_series(0, {ROWS} - 1) i;"
        ))
        .await
        .unwrap();
    pg_client.batch_execute("VACUUM ANALYZE big").await.unwrap();
    println!("postgres: 10M-row table in {:?}", create.elapsed());

    latency(&client, r#"SELECT * FROM "in.c-bench"."big" LIMIT 100"#, 50).await;
    latency(&pg_client, "SELECT * FROM big LIMIT 100", 50).await;
    let d = latency(&client, r#"SELECT * FROM "in.c-bench"."big" LIMIT 100"#, 500).await;
    let p = latency(&pg_client, "SELECT * FROM big LIMIT 100", 500).await;
    table.row_latency("SELECT * LIMIT 100 on 10M rows", &d, &p, "p50 ≤ 1.5×, p99 ≤ 2× PostgreSQL");
    // the same read as a new text each time (a constant that folds away): what the engine
    // costs when the session has no kept result of it
    let d = varied(&client, r#"SELECT * FROM "in.c-bench"."big" WHERE {i} >= 0 LIMIT 100"#, 500).await;
    let p = varied(&pg_client, "SELECT * FROM big WHERE {i} >= 0 LIMIT 100", 500).await;
    table.row_latency("SELECT * LIMIT 100, a new text each time", &d, &p, "—");

    // A view's read costs its expansion (one more plan, catalog lookups) on top of the table's.
    client
        .batch_execute(r#"CREATE VIEW "in.c-bench"."cheap" AS SELECT id, amount FROM big WHERE amount < 1000"#)
        .await
        .unwrap();
    pg_client.batch_execute("CREATE VIEW cheap AS SELECT id, amount FROM big WHERE amount < 1000").await.unwrap();
    let view = r#"SELECT * FROM "in.c-bench"."cheap" LIMIT 100"#;
    latency(&client, view, 50).await;
    latency(&pg_client, "SELECT * FROM cheap LIMIT 100", 50).await;
    let d = latency(&client, view, 500).await;
    let p = latency(&pg_client, "SELECT * FROM cheap LIMIT 100", 500).await;
    table.row_latency("SELECT * LIMIT 100 through a filtered view", &d, &p, "—");
    let direct =
        latency(&client, r#"SELECT id, amount FROM "in.c-bench"."big" WHERE amount < 1000 LIMIT 100"#, 500).await;
    table.row_latency("same view vs its query on the table (duckstore both)", &d, &direct, "expansion < 1 ms");

    // Point lookups by primary key, unprepared (simple protocol) and prepared (one Parse, many
    // Executes), against PostgreSQL with the same key.
    client
        .batch_execute(
            r#"CREATE TABLE "in.c-bench"."keyed" (id BIGINT NOT NULL, name STRING, amount DOUBLE, PRIMARY KEY (id))"#,
        )
        .await
        .unwrap();
    client
        .batch_execute(
            r#"INSERT INTO "in.c-bench"."keyed" SELECT id, name, amount FROM "in.c-bench"."big" WHERE id < 1000000"#,
        )
        .await
        .unwrap();
    pg_client
        .batch_execute("CREATE TABLE keyed (id BIGINT PRIMARY KEY, name TEXT, amount DOUBLE PRECISION); INSERT INTO keyed SELECT id, name, amount FROM big WHERE id < 1000000")
        .await
        .unwrap();
    pg_client.batch_execute("VACUUM ANALYZE keyed").await.unwrap();
    let d = lookups(&client, r#"SELECT * FROM "in.c-bench"."keyed" WHERE id = $1"#).await;
    let p = lookups(&pg_client, "SELECT * FROM keyed WHERE id = $1").await;
    table.row_latency("point lookup by primary key, unprepared", &d, &p, "p50 ≤ 1.5×, p99 ≤ 2× PostgreSQL");
    let d = prepared(&client, r#"SELECT * FROM "in.c-bench"."keyed" WHERE id = $1"#).await;
    let p = prepared(&pg_client, "SELECT * FROM keyed WHERE id = $1").await;
    table.row_latency("point lookup by primary key, prepared", &d, &p, "p50 ≤ 1.5×, p99 ≤ 2× PostgreSQL");
    // unprepared again, the table's key index read by now (the first run's p99 holds the
    // lookups answered by the engine while it was read)
    let d = lookups(&client, r#"SELECT * FROM "in.c-bench"."keyed" WHERE id = $1"#).await;
    let p = lookups(&pg_client, "SELECT * FROM keyed WHERE id = $1").await;
    table.row_latency("point lookup by primary key, unprepared, index read", &d, &p, "—");
    // the same lookups as a shape the key index does not answer: what the engine costs
    let d = lookups(&client, r#"SELECT * FROM "in.c-bench"."keyed" WHERE id = $1 LIMIT 1"#).await;
    let p = lookups(&pg_client, "SELECT * FROM keyed WHERE id = $1 LIMIT 1").await;
    table.row_latency("point lookup, LIMIT 1 (through the engine)", &d, &p, "—");

    // Analytics over the 10M rows: the same GROUP BY and filtered aggregate on both.
    // (a new text each run, `{i} >= 0` folding away: a session's kept result would answer
    // the same text again without running it)
    for (what, duck_sql, pg_sql) in [
        (
            "GROUP BY day over 10M rows",
            r#"SELECT day, count(*), sum(amount), avg(amount) FROM "in.c-bench"."big" WHERE {i} >= 0 GROUP BY day ORDER BY day"#,
            "SELECT day, count(*), sum(amount), avg(amount) FROM big WHERE {i} >= 0 GROUP BY day ORDER BY day",
        ),
        (
            "filtered count over 10M rows",
            r#"SELECT count(*), max(amount) FROM "in.c-bench"."big" WHERE name LIKE '%99%' AND amount > 1000 AND {i} >= 0"#,
            "SELECT count(*), max(amount) FROM big WHERE name LIKE '%99%' AND amount > 1000 AND {i} >= 0",
        ),
    ] {
        varied(&client, duck_sql, 2).await;
        varied(&pg_client, pg_sql, 1).await;
        let d = varied(&client, duck_sql, 7).await;
        let p = varied(&pg_client, pg_sql, 3).await;
        table.row_latency(what, &d, &p, "≥ 10× faster than PostgreSQL");
    }

    let (d_time, d_rows) = stream_rows(&client, r#"SELECT * FROM "in.c-bench"."big""#).await;
    let (p_time, p_rows) = stream_rows(&pg_client, "SELECT * FROM big").await;
    assert_eq!((d_rows, p_rows), (ROWS as u64, ROWS as u64));
    table.row_throughput(
        "stream 10M rows (rows/s)",
        d_rows as f64 / d_time.as_secs_f64(),
        p_rows as f64 / p_time.as_secs_f64(),
    );

    duck.stop().await;
}

/// Runs `statements` as one transaction block `n` times (after one warm-up), timing each whole
/// transaction and its COMMIT alone.
async fn transaction_runs(client: &Client, statements: &[String], n: usize) -> (Samples, Samples) {
    let (mut whole, mut commits) = (Samples::default(), Samples::default());
    for run in 0..=n {
        let started = Instant::now();
        client.simple_query("BEGIN").await.unwrap();
        for sql in statements {
            client.simple_query(&sql.replace("{run}", &run.to_string())).await.unwrap();
        }
        let committing = Instant::now();
        client.simple_query("COMMIT").await.unwrap();
        if run > 0 {
            commits.push(committing.elapsed());
            whole.push(started.elapsed());
        }
    }
    (whole, commits)
}

/// Transactions that write (issue 21), side by side with PostgreSQL 15: many small writes of
/// one table, one row into each of ten tables, one row of a large table.
async fn transactions(table: &mut Table) {
    const BIG: i64 = 10_000_000;
    let pg = postgres::Postgres::start();
    let duck = Duckstore::start().await;
    let (client, conn) = project(&duck, "tx").await;
    let pg_client = connect(&pg.conn_string()).await;
    let duck_table = |i: usize| format!(r#""in.c-bench"."t{i}""#);
    for i in 0..10 {
        client.batch_execute(&format!("CREATE TABLE {} (id BIGINT, name STRING)", duck_table(i))).await.unwrap();
        pg_client.batch_execute(&format!("CREATE TABLE t{i} (id BIGINT, name TEXT)")).await.unwrap();
    }
    // 100 single-row INSERTs into one table
    let inserts = |t: &str| -> Vec<String> {
        (0..100).map(|i| format!("INSERT INTO {t} VALUES ({{run}}{i:03}, 'row {i}')")).collect()
    };
    let (d, d_commit) = transaction_runs(&client, &inserts(&duck_table(0)), 20).await;
    let (p, p_commit) = transaction_runs(&pg_client, &inserts("t0"), 20).await;
    table.row_latency("transaction of 100 single-row INSERTs, one table", &d, &p, "—");
    table.row_latency("  its COMMIT", &d_commit, &p_commit, "—");
    // one row into each of ten tables
    let spread = |name: &dyn Fn(usize) -> String| -> Vec<String> {
        (0..10).map(|i| format!("INSERT INTO {} VALUES ({{run}}, 'spread')", name(i))).collect()
    };
    let (d, d_commit) = transaction_runs(&client, &spread(&duck_table), 20).await;
    let (p, p_commit) = transaction_runs(&pg_client, &spread(&|i| format!("t{i}")), 20).await;
    table.row_latency("transaction writing 1 row into each of 10 tables", &d, &p, "—");
    table.row_latency("  its COMMIT", &d_commit, &p_commit, "—");
    // a 1-row UPDATE of a 10M-row table
    client
        .batch_execute(&format!(
            r#"CREATE TABLE "in.c-bench"."big" (id BIGINT, name STRING, amount DOUBLE);
               INSERT INTO "in.c-bench"."big" SELECT i, 'name ' || i, i * 0.5 FROM range({BIG}) t(i)"#
        ))
        .await
        .unwrap();
    pg_client
        .batch_execute(&format!(
            "CREATE TABLE big (id BIGINT, name TEXT, amount DOUBLE PRECISION);
             INSERT INTO big SELECT i, 'name ' || i, i * 0.5 FROM generate_series(0, {BIG} - 1) i;
             CREATE INDEX ON big (id)"
        ))
        .await
        .unwrap();
    pg_client.batch_execute("VACUUM ANALYZE big").await.unwrap();
    let update = |t: &str| vec![format!("UPDATE {t} SET amount = amount + 1 WHERE id = 4242{{run}}")];
    let (d, d_commit) = transaction_runs(&client, &update(r#""in.c-bench"."big""#), 5).await;
    let (p, p_commit) = transaction_runs(&pg_client, &update("big"), 5).await;
    table.row_latency("1-row UPDATE of a 10M-row table in a transaction", &d, &p, "—");
    table.row_latency("  its COMMIT", &d_commit, &p_commit, "—");
    let d = latency(&client, r#"UPDATE "in.c-bench"."big" SET amount = amount + 1 WHERE id = 4242"#, 5).await;
    let p = latency(&pg_client, "UPDATE big SET amount = amount + 1 WHERE id = 4242", 5).await;
    table.row_latency("the same UPDATE in autocommit", &d, &p, "—");
    // REPEATABLE READ: taking the snapshot (the block's first query), and what an autocommit
    // write of a table the snapshot pinned then costs (a copy of the table's file)
    let (rr, rr_pg) = (connect(&conn).await, connect(&pg.conn_string()).await);
    let (mut first, mut first_pg, mut pinned, mut pinned_pg) =
        (Samples::default(), Samples::default(), Samples::default(), Samples::default());
    for _ in 0..5 {
        let small = duck_table(1);
        for (reader, writer, first, pinned, (small, big)) in [
            (&rr, &client, &mut first, &mut pinned, (small.as_str(), r#""in.c-bench"."big""#)),
            (&rr_pg, &pg_client, &mut first_pg, &mut pinned_pg, ("t1", "big")),
        ] {
            reader.simple_query("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
            let started = Instant::now();
            reader.simple_query(&format!("SELECT count(*) FROM {small}")).await.unwrap();
            first.push(started.elapsed());
            let started = Instant::now();
            writer.simple_query(&format!("UPDATE {big} SET amount = amount + 1 WHERE id = 4242")).await.unwrap();
            pinned.push(started.elapsed());
            reader.simple_query("COMMIT").await.unwrap();
        }
    }
    table.row_latency("REPEATABLE READ block's first query (takes the snapshot)", &first, &first_pg, "—");
    table.row_latency("autocommit 1-row UPDATE of a 10M-row table a snapshot pinned", &pinned, &pinned_pg, "—");
    duck.stop().await;
}

/// A small catalog query under 32 sessions, against the same kind of query on PostgreSQL.
async fn catalog(table: &mut Table) {
    let pg = postgres::Postgres::start();
    let duck = Duckstore::start().await;
    let (client, conn) = project(&duck, "catalog").await;
    client.batch_execute(r#"CREATE TABLE "in.c-bench"."big" (id BIGINT, name STRING)"#).await.unwrap();
    connect(&pg.conn_string()).await.batch_execute("CREATE TABLE big (id BIGINT, name TEXT)").await.unwrap();
    let window = Duration::from_secs(5);
    let (p, _) =
        concurrent(&pg.conn_string(), "SELECT relname FROM pg_catalog.pg_class WHERE relname = 'big'", 32, window)
            .await;
    let (d, _) = concurrent(&conn, "SELECT name, rows FROM duckstore.tables WHERE name = 'big'", 32, window).await;
    table.row_latency("catalog query (table by name), 32 sessions", &d, &p, "p99 ≤ PostgreSQL");
    // the same pg_catalog lookup on both (duckstore's pg_class holds PostgreSQL's system
    // relations too, as PostgreSQL's does)
    let by_name = "SELECT relname FROM pg_catalog.pg_class WHERE relname = 'big'";
    let (d, _) = concurrent(&conn, by_name, 32, window).await;
    table.row_latency("pg_class lookup (table by name), 32 sessions", &d, &p, "p99 ≤ PostgreSQL");
    let types = "SELECT oid, typname FROM pg_catalog.pg_type WHERE typname = 'hstore'";
    let (p, _) = concurrent(&pg.conn_string(), types, 32, window).await;
    let (d, _) = concurrent(&conn, types, 32, window).await;
    table.row_latency("pg_type lookup (a driver's type probe), 32 sessions", &d, &p, "p99 ≤ PostgreSQL");
    duck.stop().await;
}

async fn listing(table: &mut Table) {
    const TABLES: usize = 5000;
    let duck = Duckstore::start().await;
    let (client, _) = project(&duck, "wide").await;
    let started = Instant::now();
    for i in 0..TABLES {
        client.batch_execute(&format!(r#"CREATE TABLE "in.c-bench"."t{i}" (id BIGINT, name STRING)"#)).await.unwrap();
    }
    println!("duckstore: {TABLES} tables created in {:?}", started.elapsed());
    let samples = latency(&client, "SELECT id, rows, bytes FROM duckstore.tables", 20).await;
    let n = client.query("SELECT id FROM duckstore.tables", &[]).await.unwrap().len();
    assert_eq!(n, TABLES);
    table.row_absolute("SELECT FROM duckstore.tables, 5 000 tables", &samples, "< 200 ms");
    duck.stop().await;
}

/// A statement of the compatibility corpus (compat/corpus/GROUP.sql), as captured from a
/// client, for the schema `schema`.
fn corpus_statement(group: &str, name: &str, schema: &str) -> String {
    let path = format!("{}/compat/corpus/{group}.sql", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let entry = text
        .split("\n-- @ ")
        .find(|e| e.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} in {path}"));
    let sql: Vec<&str> = entry.lines().skip(1).filter(|l| !l.starts_with("--")).collect();
    sql.join("\n")
        .trim()
        .replace("{schema_name}", schema)
        .replace("{schema}", &format!("\"{schema}\""))
        .replace("in\\\\.c-compat", &schema.replace('.', "\\\\."))
}

/// A BI tool's and psql's catalog queries in a project of 5 000 tables, side by side with
/// PostgreSQL 15 holding the same 5 000 tables: pgjdbc's getTables of the schema (extended
/// protocol, as pgjdbc sends it) and psql's `\d customers` (its nine queries, simple protocol).
async fn catalog_5000(table: &mut Table) {
    const TABLES: usize = 5000;
    const SCHEMA: &str = "in.c-bench";
    let pg = postgres::Postgres::start();
    let pg_client = connect(&pg.conn_string()).await;
    let duck = Duckstore::start().await;
    let (client, _) = project(&duck, "wide").await;
    pg_client.batch_execute(&format!(r#"CREATE SCHEMA "{SCHEMA}""#)).await.unwrap();
    let started = Instant::now();
    for i in 0..TABLES {
        let create = format!(r#"CREATE TABLE "{SCHEMA}"."t{i}" (id BIGINT, name VARCHAR(40))"#);
        client.batch_execute(&create).await.unwrap();
        pg_client.batch_execute(&create).await.unwrap();
    }
    let customers = format!(
        r#"CREATE TABLE "{SCHEMA}".customers (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, country CHAR(2))"#
    );
    client.batch_execute(&customers).await.unwrap();
    pg_client.batch_execute(&customers).await.unwrap();
    println!("{TABLES} tables created in both in {:?}", started.elapsed());

    let get_tables = corpus_statement("pgjdbc", "get-tables-all", SCHEMA);
    let describe: Vec<String> = [
        "d-lookup-customers",
        "d-relinfo-customers",
        "d-attrs-customers",
        "d-indexes-customers",
        "d-policies-customers",
        "d-statistics-customers",
        "d-publications-customers",
        "d-inherits-customers",
        "d-partitions-customers",
    ]
    .iter()
    .map(|name| corpus_statement("psql", name, SCHEMA))
    .collect();
    async fn list(client: &Client, sql: &str, n: usize) -> Samples {
        let mut samples = Samples::default();
        for _ in 0..n {
            let started = Instant::now();
            let rows = client.query(sql, &[]).await.unwrap();
            assert!(rows.len() > TABLES, "{} rows", rows.len());
            samples.push(started.elapsed());
        }
        samples
    }
    async fn describe_table(client: &Client, statements: &[String], n: usize) -> Samples {
        let mut samples = Samples::default();
        for _ in 0..n {
            let started = Instant::now();
            for sql in statements {
                client.simple_query(sql).await.unwrap();
            }
            samples.push(started.elapsed());
        }
        samples
    }
    list(&client, &get_tables, 3).await;
    list(&pg_client, &get_tables, 3).await;
    let d = list(&client, &get_tables, 30).await;
    let p = list(&pg_client, &get_tables, 30).await;
    table.row_latency("pgjdbc getTables of a schema of 5 000 tables", &d, &p, "measured");
    describe_table(&client, &describe, 5).await;
    describe_table(&pg_client, &describe, 5).await;
    let d = describe_table(&client, &describe, 50).await;
    let p = describe_table(&pg_client, &describe, 50).await;
    table.row_latency("psql \\d of one table among 5 000 (9 queries)", &d, &p, "measured");
    duck.stop().await;
}

/// MB/s of `bytes` moved in `elapsed`.
fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

/// Streams a file through `COPY … FROM STDIN` in 1 MB chunks; answers the rows copied.
async fn copy_file_in(client: &Client, sql: &str, path: &std::path::Path) -> u64 {
    use futures::SinkExt;
    use tokio::io::AsyncReadExt;
    let sink = client.copy_in::<_, bytes::Bytes>(sql).await.unwrap();
    futures::pin_mut!(sink);
    let mut file = tokio::fs::File::open(path).await.unwrap();
    loop {
        let mut buf = vec![0u8; 1 << 20];
        let n = file.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        buf.truncate(n);
        sink.send(bytes::Bytes::from(buf)).await.unwrap();
    }
    sink.finish().await.unwrap()
}

async fn upload(duck: &Duckstore, token: &str, path: &std::path::Path) -> i64 {
    let file = tokio::fs::File::open(path).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/files?name=data.csv", duck.http_addr()))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    response.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Bulk loads against raw DuckDB and PostgreSQL on the same generated CSV
/// (DUCKSTORE_BENCH_CSV_MB, default 1024).
async fn loads(table: &mut Table) {
    let mb: u64 = std::env::var("DUCKSTORE_BENCH_CSV_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let rows = mb * 1_000_000 / 75;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("data.csv");
    let upsert_csv = dir.path().join("upsert.csv");
    let columns = "id BIGINT, name VARCHAR, amount DOUBLE, day DATE, note VARCHAR";
    let raw = duckdb::Connection::open(dir.path().join("raw.duckdb")).unwrap();
    raw.execute_batch("SET threads = 2; SET preserve_insertion_order = false;").unwrap();
    let generate = |path: &std::path::Path, from: u64, to: u64| {
        raw.execute_batch(&format!(
            "COPY (SELECT i AS id, 'customer ' || (i % 100000) AS name, round(i * 0.37 % 1000, 2) AS amount,
                    DATE '2020-01-01' + (i % 1500)::INTEGER AS day, md5(i::VARCHAR) AS note
                  FROM range({from}, {to}) t(i)) TO '{}' (HEADER)",
            path.display()
        ))
        .unwrap();
    };
    generate(&csv, 0, rows);
    // the upsert: a fifth of the rows, half of them new keys
    generate(&upsert_csv, rows - rows / 10, rows + rows / 10);
    let size = std::fs::metadata(&csv).unwrap().len();
    let upsert_size = std::fs::metadata(&upsert_csv).unwrap().len();
    println!("loads: {rows} rows, {:.0} MB CSV; upsert file {:.0} MB", size as f64 / 1e6, upsert_size as f64 / 1e6);

    // raw DuckDB: COPY FROM the file into a table of a DuckDB file; INSERT … ON CONFLICT
    raw.execute_batch(&format!("CREATE TABLE t ({columns}); CREATE TABLE k ({columns}, PRIMARY KEY (id));")).unwrap();
    let started = Instant::now();
    raw.execute_batch(&format!("COPY t FROM '{}' (HEADER); CHECKPOINT;", csv.display())).unwrap();
    let raw_copy = started.elapsed();
    raw.execute_batch(&format!("COPY k FROM '{}' (HEADER); CHECKPOINT;", csv.display())).unwrap();
    let started = Instant::now();
    raw.execute_batch(&format!(
        "INSERT INTO k SELECT * FROM read_csv('{}', header = true, columns = {{'id': 'BIGINT', 'name': 'VARCHAR', 'amount': 'DOUBLE', 'day': 'DATE', 'note': 'VARCHAR'}})
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, amount = excluded.amount, day = excluded.day, note = excluded.note;
         CHECKPOINT;",
        upsert_csv.display()
    ))
    .unwrap();
    let raw_upsert = started.elapsed();
    drop(raw);
    println!("raw DuckDB: COPY {raw_copy:?}, upsert {raw_upsert:?}");

    let duck = Duckstore::start().await;
    let (client, conn) = project(&duck, "loads").await;
    let token = conn.split("password=").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    for name in ["a", "b", "c", "s"] {
        client.batch_execute(&format!(r#"CREATE TABLE "in.c-bench"."{name}" ({columns})"#)).await.unwrap();
    }
    client.batch_execute(&format!(r#"CREATE TABLE "in.c-bench"."k" ({columns}, PRIMARY KEY (id))"#)).await.unwrap();
    let started = Instant::now();
    let file_id = upload(&duck, &token, &csv).await;
    let upload_time = started.elapsed();
    let upsert_id = upload(&duck, &token, &upsert_csv).await;
    let import = |table: &'static str, file: i64, incremental: bool| {
        let conn = conn.clone();
        async move {
            let client = connect(&conn).await;
            let started = Instant::now();
            client
                .execute(
                    &format!("CALL import_table(table => 'in.c-bench.{table}', file_id => $1, incremental => $2)"),
                    &[&file, &incremental],
                )
                .await
                .unwrap();
            started.elapsed()
        }
    };
    let one = import("a", file_id, false).await;
    println!("duckstore: upload {upload_time:?}, import_table {one:?}");
    table.row_throughput("import_table of the CSV, full load (MB/s)", mb_per_s(size, one), mb_per_s(size, raw_copy));
    table.row_throughput("sidecar upload of the CSV (MB/s)", mb_per_s(size, upload_time), mb_per_s(size, raw_copy));

    let started = Instant::now();
    let (x, y) = tokio::join!(import("b", file_id, false), import("c", file_id, false));
    let both = started.elapsed();
    println!("duckstore: two imports at once {both:?} ({x:?}, {y:?})");
    table.row_throughput(
        "two imports into two tables at once (MB/s, vs one import)",
        mb_per_s(2 * size, both),
        mb_per_s(size, one),
    );
    {
        // One import already keeps both cores busy; with one engine thread the same pair shows
        // whether imports into different tables wait for each other.
        let narrow = Duckstore::start_with(|c| c.threads = Some(1)).await;
        let (narrow_client, narrow_conn) = project(&narrow, "narrow").await;
        let narrow_token = narrow_conn.split("password=").nth(1).unwrap().split(' ').next().unwrap().to_owned();
        for name in ["a", "b", "c"] {
            narrow_client.batch_execute(&format!(r#"CREATE TABLE "in.c-bench"."{name}" ({columns})"#)).await.unwrap();
        }
        let id = upload(&narrow, &narrow_token, &csv).await;
        let run = |table: &'static str| {
            let conn = narrow_conn.clone();
            async move {
                let client = connect(&conn).await;
                let started = Instant::now();
                client
                    .execute(&format!("CALL import_table(table => 'in.c-bench.{table}', file_id => $1)"), &[&id])
                    .await
                    .unwrap();
                started.elapsed()
            }
        };
        let single = run("a").await;
        let started = Instant::now();
        tokio::join!(run("b"), run("c"));
        let pair = started.elapsed();
        table.row_throughput(
            "two imports at once, engine threads = 1 (MB/s, vs one import)",
            mb_per_s(2 * size, pair),
            mb_per_s(size, single),
        );
        narrow.stop().await;
    }

    let started = Instant::now();
    let copied = copy_file_in(&client, r#"COPY "in.c-bench"."s" FROM STDIN (FORMAT csv, HEADER)"#, &csv).await;
    let duck_stdin = started.elapsed();
    assert_eq!(copied, rows);
    let pg = postgres::Postgres::start();
    let pg_client = connect(&pg.conn_string()).await;
    pg_client
        .batch_execute("CREATE TABLE s (id BIGINT, name TEXT, amount DOUBLE PRECISION, day DATE, note TEXT)")
        .await
        .unwrap();
    let started = Instant::now();
    let pg_copied = copy_file_in(&pg_client, "COPY s FROM STDIN (FORMAT csv, HEADER)", &csv).await;
    let pg_stdin = started.elapsed();
    assert_eq!(pg_copied, rows);
    println!("COPY FROM STDIN: duckstore {duck_stdin:?}, PostgreSQL {pg_stdin:?}");
    table.row_throughput(
        "COPY FROM STDIN of the CSV (MB/s) vs raw DuckDB COPY FROM file",
        mb_per_s(size, duck_stdin),
        mb_per_s(size, raw_copy),
    );
    table.row_throughput(
        "COPY FROM STDIN of the CSV (MB/s) vs PostgreSQL COPY FROM STDIN",
        mb_per_s(size, duck_stdin),
        mb_per_s(size, pg_stdin),
    );

    import("k", file_id, false).await;
    let duck_upsert = import("k", upsert_id, true).await;
    println!("duckstore: upsert {duck_upsert:?}");
    table.row_throughput(
        "incremental upsert with a primary key (MB/s)",
        mb_per_s(upsert_size, duck_upsert),
        mb_per_s(upsert_size, raw_upsert),
    );
    duck.stop().await;
}

/// Snapshot and restore of a table of about 1 GB on disk, against copying its file.
async fn snapshots(table: &mut Table) {
    let duck = Duckstore::start().await;
    let (client, _) = project(&duck, "snapshots").await;
    let rows: i64 =
        std::env::var("DUCKSTORE_BENCH_SNAPSHOT_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000_000);
    let started = Instant::now();
    client
        .batch_execute(&format!(
            r#"CREATE TABLE "in.c-bench"."big" (id BIGINT NOT NULL, name STRING, note STRING, amount DOUBLE, PRIMARY KEY (id));
               INSERT INTO "in.c-bench"."big" SELECT i, 'customer ' || (i % 100000), md5(i::VARCHAR), i * 0.5 FROM range({rows}) t(i)"#
        ))
        .await
        .unwrap();
    let bytes: i64 =
        client.query_one("SELECT bytes FROM duckstore.tables WHERE name = 'big'", &[]).await.unwrap().get(0);
    println!("snapshots: {rows} rows, {:.0} MB table in {:?}", bytes as f64 / 1e6, started.elapsed());
    let timed = |sql: String| {
        let client = &client;
        async move {
            let started = Instant::now();
            let row = client.query_one(&sql, &[]).await.unwrap();
            (started.elapsed(), row)
        }
    };
    let (snap, row) = timed("CALL create_snapshot(table => 'in.c-bench.big')".into()).await;
    let id: i64 = row.get("id");
    // the first write after a snapshot copies the kept version
    let started = Instant::now();
    client.batch_execute(r#"UPDATE "in.c-bench"."big" SET name = 'x' WHERE id = 1"#).await.unwrap();
    let first_write = started.elapsed();
    let started = Instant::now();
    client.batch_execute(r#"UPDATE "in.c-bench"."big" SET name = 'y' WHERE id = 2"#).await.unwrap();
    let second_write = started.elapsed();
    let (restore, _) = timed(format!("CALL restore_snapshot(id => {id})")).await;
    let (restore_new, _) =
        timed(format!("CALL restore_snapshot(id => {id}, bucket => 'in.c-bench', table => 'copy')")).await;
    let n: i64 = client.query_one(r#"SELECT count(*) FROM "in.c-bench"."copy""#, &[]).await.unwrap().get(0);
    assert_eq!(n, rows);
    // baseline: copying a file of the same size
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, vec![7u8; bytes as usize]).unwrap();
    let started = Instant::now();
    std::fs::copy(&a, &b).unwrap();
    std::fs::File::open(&b).unwrap().sync_all().unwrap();
    let copy = started.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "create_snapshot {snap:?}, first write after {first_write:?} (then {second_write:?}), restore in place {restore:?}, restore as new {restore_new:?}, file copy {copy:?}"
    );
    table.row_throughput("create_snapshot of the table (ms, vs copying its file)", ms(snap), ms(copy));
    table.row_throughput("first UPDATE after a snapshot (ms, copy-on-write, vs file copy)", ms(first_write), ms(copy));
    table.row_throughput("next UPDATE (ms, vs file copy)", ms(second_write), ms(copy));
    table.row_throughput("restore_snapshot in place (ms, vs file copy)", ms(restore), ms(copy));
    table.row_throughput("restore_snapshot into a new table (ms, vs file copy)", ms(restore_new), ms(copy));
    duck.stop().await;
}

/// `create_branch` in a project of 1 000 tables, and a branch's first write to a table.
async fn branches(table: &mut Table) {
    const TABLES: usize = 1000;
    let duck = Duckstore::start().await;
    let (client, conn) = project(&duck, "branches").await;
    for i in 0..TABLES {
        client
            .batch_execute(&format!(
                r#"CREATE TABLE "in.c-bench"."t{i}" (id BIGINT, name STRING); INSERT INTO "in.c-bench"."t{i}" VALUES ({i}, 'x')"#
            ))
            .await
            .unwrap();
    }
    let mut samples = Samples::default();
    let mut last = 0i64;
    for n in 0..50 {
        let started = Instant::now();
        last = client.query_one(&format!("CALL create_branch(name => 'b{n}')"), &[]).await.unwrap().get("id");
        samples.push(started.elapsed());
    }
    table.row_absolute("CALL create_branch, 1 000-table project", &samples, "< 20 ms");
    let branch = connect(&conn.replace("dbname=main", &format!("dbname={last}"))).await;
    let mut first = Samples::default();
    for i in 0..50 {
        let started = Instant::now();
        branch.batch_execute(&format!(r#"INSERT INTO "in.c-bench"."t{i}" VALUES (-1, 'branch')"#)).await.unwrap();
        first.push(started.elapsed());
    }
    table.row_absolute("a branch's first INSERT into a small table (copy included)", &first, "—");
    duck.stop().await;
}

/// 50 workspace sessions running a simple query, and loading a 10M-row table into a workspace
/// against raw DuckDB's `CREATE TABLE AS` from one attached file into another.
async fn workspaces(table: &mut Table) {
    const ROWS: i64 = 10_000_000;
    const SESSIONS: usize = 50;
    let duck = Duckstore::start_with(|c| {
        c.workspace_max_sessions = SESSIONS + 10;
    })
    .await;
    let (client, _) = project(&duck, "workspaces").await;
    client
        .batch_execute(&format!(
            r#"CREATE TABLE "in.c-bench"."big" (id BIGINT, name STRING, amount DOUBLE, day DATE);
               INSERT INTO "in.c-bench"."big" SELECT i, 'name ' || i, i * 0.5, DATE '2024-01-01' + (i % 365)::INTEGER FROM range({ROWS}) t(i)"#
        ))
        .await
        .unwrap();
    let ws = client.query_one("CALL create_workspace(name => 'bench')", &[]).await.unwrap();
    let (id, user, password, database): (i64, String, String, String) =
        (ws.get("id"), ws.get("user"), ws.get("password"), ws.get("database"));
    let ws_conn = format!("host=127.0.0.1 port={} user={user} password={password} dbname={database}", duck.port);
    connect(&ws_conn).await.batch_execute("CREATE TABLE small AS SELECT range AS i FROM range(1000)").await.unwrap();
    let (samples, tps) =
        concurrent(&ws_conn, "SELECT count(*), sum(i) FROM small WHERE i % 7 = 3", SESSIONS, Duration::from_secs(10))
            .await;
    table.row_absolute("workspace: simple query, 50 sessions", &samples, "p95 < 50 ms");
    println!("workspace: {tps:.0} queries/s over {SESSIONS} sessions");

    let mut loads = Samples::default();
    for n in 0..3 {
        let started = Instant::now();
        client
            .execute(
                &format!("CALL load_workspace(workspace => $1, source => 'in.c-bench.big', destination => 'big{n}')"),
                &[&id],
            )
            .await
            .unwrap();
        loads.push(started.elapsed());
    }
    client.batch_execute(r#"CREATE SCHEMA "out.c-bench""#).await.unwrap();
    let mut unloads = Samples::default();
    for n in 0..3 {
        let started = Instant::now();
        client
            .execute(
                &format!("CALL unload_workspace(workspace => $1, object => 'big{n}', table => 'out.c-bench.back{n}')"),
                &[&id],
            )
            .await
            .unwrap();
        unloads.push(started.elapsed());
    }
    duck.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let raw = duckdb::Connection::open_in_memory().unwrap();
    raw.execute_batch(&format!(
        "SET threads = 2; SET preserve_insertion_order = false;
         ATTACH '{src}' AS src; ATTACH '{dst}' AS dst;
         CREATE TABLE src.big AS SELECT i AS id, 'name ' || i AS name, i * 0.5 AS amount, DATE '2024-01-01' + (i % 365)::INTEGER AS day FROM range({ROWS}) t(i);
         CHECKPOINT src;",
        src = dir.path().join("src.duckdb").display(),
        dst = dir.path().join("dst.duckdb").display(),
    ))
    .unwrap();
    let mut raw_loads = Samples::default();
    for n in 0..3 {
        let started = Instant::now();
        raw.execute_batch(&format!("CREATE TABLE dst.big{n} AS SELECT * FROM src.big; CHECKPOINT dst;")).unwrap();
        raw_loads.push(started.elapsed());
    }
    table.row_latency("load_workspace of a 10M-row table vs raw CREATE TABLE AS", &loads, &raw_loads, "—");
    table.row_latency("unload_workspace of a 10M-row table vs raw CREATE TABLE AS", &unloads, &raw_loads, "—");
}

/// 50 pgjdbc sessions at once, each connecting to a workspace and listing its tables as a BI
/// tool's navigator does (DatabaseMetaData.getTables), against the same on PostgreSQL 15 holding
/// the same tables. Needs javac and Debian's pgjdbc (`scripts/test-deps.sh` installs both).
async fn jdbc(table: &mut Table) {
    const SESSIONS: usize = 50;
    const TABLES: usize = 20;
    let jar = "/usr/share/java/postgresql.jar";
    let classes = tempfile::tempdir().unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/jdbc/JdbcListing.java");
    let compiled = std::process::Command::new("javac")
        .args(["-nowarn", "-d"])
        .arg(classes.path())
        .args(["-cp", jar, source])
        .status()
        .expect("javac (Debian's default-jdk-headless) runs");
    assert!(compiled.success(), "compiling {source}");
    let classpath = format!("{}:{jar}", classes.path().display());
    // One JVM per target; its first round warms the JVM and the server up and is left out.
    let run = |url: String, user: String, password: String| {
        let classpath = classpath.clone();
        async move {
            let output = tokio::process::Command::new("java")
                .args(["-XX:+UseSerialGC", "-cp", &classpath, "JdbcListing", &url, &user, &password])
                .args([SESSIONS.to_string(), "5".to_owned()])
                .output()
                .await
                .expect("java runs");
            assert!(output.status.success(), "JdbcListing: {}", String::from_utf8_lossy(&output.stderr));
            let mut samples = Samples::default();
            for line in String::from_utf8_lossy(&output.stdout).lines().skip(SESSIONS) {
                samples.push(Duration::from_micros(line.trim().parse().unwrap()));
            }
            samples
        }
    };
    let create: Vec<String> = (0..TABLES)
        .map(|i| format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name VARCHAR(40), amount NUMERIC(12,2))"))
        .collect();

    let pg = postgres::Postgres::start();
    connect(&pg.conn_string()).await.batch_execute(&create.join(";")).await.unwrap();
    let pg_samples =
        run(format!("jdbc:postgresql://127.0.0.1:{}/postgres", pg.port), pg.user.clone(), pg.password.clone()).await;
    drop(pg);

    let duck = Duckstore::start_with(|c| c.workspace_max_sessions = SESSIONS + 10).await;
    let (client, _) = project(&duck, "jdbc").await;
    let ws = client.query_one("CALL create_workspace(name => 'bi')", &[]).await.unwrap();
    let (user, password, database): (String, String, String) = (ws.get("user"), ws.get("password"), ws.get("database"));
    let ws_conn = format!("host=127.0.0.1 port={} user={user} password={password} dbname={database}", duck.port);
    connect(&ws_conn).await.batch_execute(&create.join(";")).await.unwrap();
    let duck_samples = run(format!("jdbc:postgresql://127.0.0.1:{}/{database}", duck.port), user, password).await;
    duck.stop().await;
    table.row_latency_at(
        "pgjdbc: 50 workspace sessions connect and list tables (base: PostgreSQL 15)",
        &duck_samples,
        &pg_samples,
        &[50.0, 95.0],
        "measured",
    );
}

/// A bystander project's small query while another project runs 64 abusive statements (each
/// would scan for minutes), against the same query on the idle server.
async fn fairness(table: &mut Table) {
    const BYSTANDER: &str = "SELECT count(*) FROM range(10000) t(x) WHERE x % 7 = 0";
    const ABUSE: &str = "SELECT x FROM range(1000000000000) t(x) WHERE x = 0 OR x = 999999999999";
    let duck = Duckstore::start().await;
    let (bystander, _) = project(&duck, "bystander").await;
    let (_, abuser_conn) = project(&duck, "abuser").await;
    latency(&bystander, BYSTANDER, 50).await;
    let idle = latency(&bystander, BYSTANDER, 300).await;
    let mut abusers = Vec::new();
    for _ in 0..64 {
        let client = connect(&abuser_conn).await;
        client.simple_query("SET statement_timeout = '300s'").await.unwrap();
        abusers.push(tokio::spawn(async move {
            let _ = client.simple_query(ABUSE).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = latency(&bystander, BYSTANDER, 300).await;
    table.row_latency("bystander SELECT, 64 abusive statements running (base: idle server)", &busy, &idle, "bounded");
    // the abusers disconnect: their statements are cancelled
    for a in abusers {
        a.abort();
    }
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
        if wanted("storage") {
            storage(&mut table).await;
        }
        if wanted("catalog") {
            catalog(&mut table).await;
        }
        if wanted("loads") {
            loads(&mut table).await;
        }
        if wanted("branches") {
            branches(&mut table).await;
        }
        if wanted("snapshots") {
            snapshots(&mut table).await;
        }
        if wanted("listing") {
            listing(&mut table).await;
        }
        if wanted("catalog5000") {
            catalog_5000(&mut table).await;
        }
        if wanted("workspaces") {
            workspaces(&mut table).await;
        }
        if wanted("jdbc") {
            jdbc(&mut table).await;
        }
        if wanted("fairness") {
            fairness(&mut table).await;
        }
        if wanted("transactions") {
            transactions(&mut table).await;
        }
    });
    table.print();
}
