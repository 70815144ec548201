//! The `duckstore` binary: `duckstore serve` runs the server until SIGTERM or SIGINT.

use clap::{Parser, Subcommand};
use duckstore::config::{LogFormat, ServeConfig};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "duckstore",
    version,
    about = "PostgreSQL wire-protocol server fronting DuckDB: Keboola storage on local disk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (Postgres port and REST sidecar).
    Serve(ServeConfig),
}

/// Log lines go to stdout through a thread of their own: a statement's line (one per
/// statement at `info`) costs the async thread that logs it a queue push, not a write to a
/// pipe that may be slow to drain (measured: 8–10 µs of a 100 µs point lookup). The queue
/// holds 128 000 lines; past that, loggers wait rather than lose lines. The guard flushes what
/// is queued when `main` ends.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_env("DUCKSTORE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let (stdout, guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    let logs = tracing_subscriber::fmt().with_writer(stdout).with_env_filter(filter);
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Pretty => logs.init(),
    }
    guard
}

async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let Command::Serve(config) = cli.command;
    let _logs = init_logging(config.log_format);
    // Parsing, visiting and expanding SQL (views over views) recurse; 2 MiB thread stacks are
    // too small for what the gateway's limits still allow, and a stack overflow aborts the
    // whole server. The stacks are virtual memory, committed only as deep as they are used.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(duckstore::server::THREAD_STACK)
        .enable_all()
        .build()
        .expect("starting the runtime");
    runtime.block_on(async move {
        let bind = |addr| async move { TcpListener::bind(addr).await };
        let pg = match bind(config.pg_addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("duckstore: cannot listen on {} (Postgres port): {e}", config.pg_addr);
                return std::process::ExitCode::FAILURE;
            }
        };
        let http = match bind(config.http_addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("duckstore: cannot listen on {} (HTTP sidecar): {e}", config.http_addr);
                return std::process::ExitCode::FAILURE;
            }
        };
        let server = match duckstore::server::start(config, pg, http).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("duckstore: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        if server.generated_admin_token {
            println!(
                "duckstore: generated the admin token (stored 0600 in the data directory as admin.token; shown only now):\n\n    {}\n\nConnect: psql \"host={} port={} user=admin password=<token> dbname=main\"",
                server.admin_token,
                server.pg_addr.ip(),
                server.pg_addr.port()
            );
        }
        terminated().await;
        server.shutdown().await;
        std::process::ExitCode::SUCCESS
    })
}
