//! Wiring: opens the data directory, catalog, engine and storage layer, then serves the
//! Postgres port and the REST sidecar until told to stop.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::catalog::Catalog;
use crate::config::ServeConfig;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::pg::PgShared;
use crate::storage::{Storage, StorageConfig};

const ADMIN_TOKEN_FILE: &str = "admin.token";

/// A server that is up: its addresses, and how to stop it.
pub struct RunningServer {
    pub pg_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub admin_token: String,
    /// Set when this start generated the admin token (so it can be shown once).
    pub generated_admin_token: bool,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets running statements finish (cancelling them after the shutdown
    /// timeout), closes every session and the engine.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Resolves when the server stopped by itself (it never does unless it fails).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Stack size of the runtime's threads (workers and the blocking pool that runs DuckDB). The
/// gateway's nesting bound (`gateway::nesting`) is measured against it.
pub const THREAD_STACK: usize = 32 * 1024 * 1024;

/// The process-wide Prometheus recorder (one per process, shared by every server in it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ])
                .expect("static buckets are valid")
                .install_recorder()
                .expect("the metrics recorder is installed once");
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .expect("spawning the metrics upkeep thread");
            handle
        })
        .clone()
}

/// Creates the data directory layout and empties its staging area.
fn prepare_data_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid(format!("cannot create the data directory {}: {e}", dir.display())))?;
    let dir = dir.canonicalize().map_err(|e| Error::invalid(format!("cannot open {}: {e}", dir.display())))?;
    for sub in ["tables", "files", "snapshots", "workspaces"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::internal("creating the data layout", e))?;
    }
    let tmp = dir.join("tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::internal("emptying the staging directory", e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::internal("creating the staging directory", e))?;
    Ok(dir)
}

/// The admin token: configured, or read from the data directory, or generated there (0600).
fn admin_token(config: &ServeConfig, data_dir: &Path) -> Result<(String, bool)> {
    if let Some(token) = config.admin_token.as_ref().filter(|t| !t.is_empty()) {
        if token.len() < 16 {
            return Err(Error::invalid("the admin token must be at least 16 characters long"));
        }
        return Ok((token.clone(), false));
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if path.exists() {
        let token = std::fs::read_to_string(&path).map_err(|e| Error::internal("reading the admin token", e))?;
        return Ok((token.trim().to_owned(), false));
    }
    let token = crate::storage::credentials::new_secret();
    write_private(&path, &token)?;
    Ok((token, true))
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::internal("writing the admin token", e))?;
    file.write_all(content.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::internal("writing the admin token", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::internal("writing the admin token", e))
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<pgwire::tokio::TlsAcceptor> {
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(BufReader::new)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut open(cert)?)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("bad certificate file {}: {e}", cert.display())))?;
    let key = rustls_pemfile::private_key(&mut open(key)?)
        .map_err(|e| Error::invalid(format!("bad key file {}: {e}", key.display())))?
        .ok_or_else(|| Error::invalid(format!("no private key in {}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid(format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::invalid(format!("certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(config)))
}

fn total_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(4 << 30)
}

/// Starts a server on already-bound listeners (tests pass port-0 listeners).
pub async fn start(config: ServeConfig, pg_listener: TcpListener, http_listener: TcpListener) -> Result<RunningServer> {
    // the instant pg_postmaster_start_time() answers
    let _ = crate::gateway::settings::server_start_text();
    let metrics = metrics_handle();
    let data_dir = prepare_data_dir(&config.data_dir)?;
    let (admin_token, generated_admin_token) = admin_token(&config, &data_dir)?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    if config.tls_required && tls.is_none() {
        return Err(Error::invalid("--tls-required needs --tls-cert and --tls-key"));
    }

    let catalog_path = data_dir.join("catalog.sqlite");
    let catalog = tokio::task::spawn_blocking(move || Catalog::open(&catalog_path))
        .await
        .map_err(|e| Error::internal("opening the catalog", e))??;
    let threads = config.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let memory_limit =
        config.memory_limit.clone().unwrap_or_else(|| format!("{}MB", total_memory_bytes() / 2 / (1 << 20)));
    let engine_config = EngineConfig {
        data_dir: data_dir.clone(),
        memory_limit,
        threads,
        max_concurrent_jobs: config.max_concurrent_jobs,
        max_project_jobs: config.max_project_jobs.unwrap_or((config.max_concurrent_jobs / 4).max(1)),
        project_memory_limit: config.project_memory_limit.clone(),
        max_open_projects: config.max_open_projects,
        temp_limit: config.engine_temp_limit.clone(),
        judge: crate::gateway::oracle::judge_fn(),
        instance_setup: crate::exec::macros_sql(),
    };
    let engine = tokio::task::spawn_blocking(move || Engine::open(&engine_config))
        .await
        .map_err(|e| Error::internal("opening the engine", e))??;
    metrics::gauge!(
        "duckstore_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "duckdb_version" => engine.duckdb_version().to_owned()
    )
    .set(1.0);
    let pg_addr = pg_listener.local_addr().map_err(|e| Error::internal("reading the Postgres address", e))?;
    let storage = Storage::open(
        StorageConfig {
            data_dir: data_dir.clone(),
            admin_token: admin_token.clone(),
            file_limits: crate::storage::files::FileLimits {
                max_file_size: config.max_file_size,
                project_max_files: config.project_max_files,
                project_max_bytes: config.project_max_file_bytes,
            },
            workspace_settings: crate::storage::workspaces::WorkspaceSettings {
                sandbox: crate::engine::SandboxLimits {
                    memory_limit: config.workspace_memory_limit.clone(),
                    threads: config.workspace_threads,
                    temp_limit: config.workspace_temp_limit.clone(),
                    max_result_bytes: config.workspace_max_result_bytes,
                },
                statement_timeout_secs: config.workspace_statement_timeout_secs,
                max_sessions: config.workspace_max_sessions,
                total_sessions: config.workspace_total_sessions,
                default_size_limit: config.workspace_size_limit,
                pg_addr,
            },
        },
        catalog,
        engine,
    )?;

    // Uploads that never finished and files the catalog does not know go before serving.
    let removed = storage.clean_files().await?;
    if removed > 0 {
        tracing::warn!(removed, "removed unfinished uploads and unreferenced files");
    }
    storage.fail_unfinished_jobs().await?;
    storage.expire_snapshots().await?;
    storage.expire_workspaces().await?;

    let http_addr = http_listener.local_addr().map_err(|e| Error::internal("reading the HTTP address", e))?;
    let (stop, stop_rx) = watch::channel(false);
    let shared = PgShared::new(
        storage.clone(),
        config.tls_required,
        crate::pg::PgLimits {
            statement_timeout_ms: config.statement_timeout_secs.saturating_mul(1000),
            startup_timeout_ms: config.startup_timeout_secs.max(1).saturating_mul(1000),
        },
    );
    let tracker = TaskTracker::new();
    let pg_task =
        tokio::spawn(crate::pg::serve(pg_listener, tls, Arc::clone(&shared), stop_rx.clone(), tracker.clone()));
    let router = crate::http::router(crate::http::HttpState { storage: storage.clone(), metrics });
    let mut http_stop = stop_rx.clone();
    let http_task = tokio::spawn(async move {
        let served = axum::serve(http_listener, router)
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the HTTP sidecar stopped");
        }
    });
    let janitor_task = tokio::spawn(janitor(storage.clone(), stop_rx.clone()));
    tracing::info!(%pg_addr, %http_addr, data_dir = %data_dir.display(), "duckstore is up");

    let grace = Duration::from_secs(config.shutdown_timeout_secs);
    let mut stop_wait = stop_rx;
    let task = tokio::spawn(async move {
        let _ = stop_wait.wait_for(|s| *s).await;
        tracing::info!(
            sessions = shared.storage.sessions().len(),
            busy = shared.storage.sessions().busy_count(),
            "shutting down"
        );
        shared.begin_shutdown();
        let _ = pg_task.await;
        tracker.close();
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::warn!(
                busy = shared.storage.sessions().busy_count(),
                "cancelling statements still running after the shutdown timeout"
            );
            shared.storage.sessions().cancel_all();
            let _ = tokio::time::timeout(Duration::from_secs(10), tracker.wait()).await;
        }
        let _ = http_task.await;
        let _ = janitor_task.await;
        drop(shared);
        drop(storage);
        tracing::info!("duckstore stopped");
    });

    Ok(RunningServer { pg_addr, http_addr, admin_token, generated_admin_token, stop, task })
}

/// DuckDB's memory, for /metrics, which never asks the engine itself (a scrape must answer
/// while every engine slot is busy).
async fn measure_engine_memory(storage: &Storage) {
    let measured = tokio::time::timeout(Duration::from_secs(10), storage.engine().memory_usage()).await;
    if let Ok(Ok(bytes)) = measured {
        metrics::gauge!("duckstore_duckdb_memory_bytes").set(bytes as f64);
    }
}

/// Periodic housekeeping until the server stops: uploads abandoned by their clients, expired
/// idempotency answers; every 30 s, project engine instances idle for a minute close.
async fn janitor(storage: Storage, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    every.tick().await;
    let mut instances = tokio::time::interval(Duration::from_secs(30));
    instances.tick().await;
    measure_engine_memory(&storage).await;
    loop {
        tokio::select! {
            _ = instances.tick() => {
                let engine = storage.engine().clone();
                let _ = tokio::task::spawn_blocking(move || engine.close_idle()).await;
                measure_engine_memory(&storage).await;
            }
            _ = every.tick() => {
                if let Err(e) = storage.clean_files().await {
                    tracing::warn!(error = %e, "cleaning files failed");
                }
                if let Err(e) = storage.expire_workspaces().await {
                    tracing::warn!(error = %e, "expiring workspaces failed");
                }
                if let Err(e) = storage.expire_snapshots().await {
                    tracing::warn!(error = %e, "expiring snapshots failed");
                }
                if let Err(e) = storage.purge_idempotency().await {
                    tracing::warn!(error = %e, "purging idempotency answers failed");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}
