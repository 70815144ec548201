//! `duckstore serve` configuration: flags, each also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Where catalog, tables, files, snapshots and workspaces live.
    #[arg(long, env = "DUCKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Postgres wire-protocol listen address (5433, so it never collides with a local PostgreSQL).
    #[arg(long, env = "DUCKSTORE_PG_ADDR", default_value = "127.0.0.1:5433")]
    pub pg_addr: SocketAddr,
    /// REST sidecar listen address (health, metrics, files).
    #[arg(long, env = "DUCKSTORE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// PEM certificate chain for TLS on the Postgres port.
    #[arg(long, env = "DUCKSTORE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, env = "DUCKSTORE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse plaintext Postgres connections.
    #[arg(long, env = "DUCKSTORE_TLS_REQUIRED", requires = "tls_cert")]
    pub tls_required: bool,
    /// The admin token; generated on first start (and kept in <data-dir>/admin.token) when unset.
    #[arg(long, env = "DUCKSTORE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log lines as human-readable text or JSON.
    #[arg(long, env = "DUCKSTORE_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// DuckDB memory limit for all storage work, e.g. "8GB" (default: half the machine's memory).
    #[arg(long, env = "DUCKSTORE_MEMORY_LIMIT")]
    pub memory_limit: Option<String>,
    /// DuckDB worker threads for all storage work (default: the number of cores).
    #[arg(long, env = "DUCKSTORE_THREADS")]
    pub threads: Option<usize>,
    /// DuckDB memory limit of each project's engine instance (default: half of --memory-limit).
    #[arg(long, env = "DUCKSTORE_PROJECT_MEMORY_LIMIT")]
    pub project_memory_limit: Option<String>,
    /// Project engine instances open at once; the least recently used idle one closes beyond
    /// this (instances idle for a minute close anyway).
    #[arg(long, env = "DUCKSTORE_MAX_OPEN_PROJECTS", default_value_t = 4)]
    pub max_open_projects: usize,
    /// Temporary disk (spilled intermediate results) each storage engine instance may use.
    #[arg(long, env = "DUCKSTORE_ENGINE_TEMP_LIMIT", default_value = "20GB")]
    pub engine_temp_limit: String,
    /// DuckDB jobs (queries, imports) that may run at once; more wait in a queue.
    #[arg(long, env = "DUCKSTORE_MAX_CONCURRENT_JOBS", default_value_t = 64)]
    pub max_concurrent_jobs: usize,
    /// Of those, the most one project may run at once (default: a quarter), so one project's
    /// statements never hold every slot; its further ones wait for its own to finish.
    #[arg(long, env = "DUCKSTORE_MAX_PROJECT_JOBS")]
    pub max_project_jobs: Option<usize>,
    /// Seconds running statements get to finish on shutdown before they are cancelled.
    #[arg(long, env = "DUCKSTORE_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,
    /// Largest file the sidecar accepts, in bytes (larger uploads answer 413).
    #[arg(long, env = "DUCKSTORE_MAX_FILE_SIZE", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Files a project may keep at once (uploads and exports).
    #[arg(long, env = "DUCKSTORE_PROJECT_MAX_FILES", default_value_t = 100_000)]
    pub project_max_files: u64,
    /// Bytes of files a project may keep at once.
    #[arg(long, env = "DUCKSTORE_PROJECT_MAX_FILE_BYTES", default_value_t = 1024 * 1024 * 1024 * 1024)]
    pub project_max_file_bytes: u64,
    /// DuckDB memory each open workspace may use.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_MEMORY_LIMIT", default_value = "1GB")]
    pub workspace_memory_limit: String,
    /// DuckDB threads each open workspace may use.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_THREADS", default_value_t = 1)]
    pub workspace_threads: usize,
    /// Temporary disk (spilling) each open workspace may use.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_TEMP_LIMIT", default_value = "10GB")]
    pub workspace_temp_limit: String,
    /// Seconds a new connection has to log in (TLS, startup and password included) before it
    /// is closed.
    #[arg(long, env = "DUCKSTORE_STARTUP_TIMEOUT", default_value_t = 30)]
    pub startup_timeout_secs: u64,
    /// Seconds a storage-session statement may run (`57014` past it; a session may set a
    /// shorter statement_timeout). 0: no limit.
    #[arg(long, env = "DUCKSTORE_STATEMENT_TIMEOUT", default_value_t = 3600)]
    pub statement_timeout_secs: u64,
    /// Seconds a workspace statement may run (its session may set a shorter statement_timeout).
    #[arg(long, env = "DUCKSTORE_WORKSPACE_STATEMENT_TIMEOUT", default_value_t = 300)]
    pub workspace_statement_timeout_secs: u64,
    /// Bytes one workspace result may send.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_MAX_RESULT_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub workspace_max_result_bytes: u64,
    /// Sessions one workspace may have at once.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_MAX_SESSIONS", default_value_t = 10)]
    pub workspace_max_sessions: usize,
    /// Workspace sessions the server accepts at once.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_TOTAL_SESSIONS", default_value_t = 200)]
    pub workspace_total_sessions: usize,
    /// A workspace's size limit when create_workspace names none, in bytes.
    #[arg(long, env = "DUCKSTORE_WORKSPACE_SIZE_LIMIT", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub workspace_size_limit: u64,
}

impl ServeConfig {
    /// The embedded defaults, for tests and tools.
    pub fn defaults(data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            data_dir,
            pg_addr: "127.0.0.1:5433".parse().expect("valid address"),
            http_addr: "127.0.0.1:8080".parse().expect("valid address"),
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            admin_token: None,
            log_format: LogFormat::Pretty,
            memory_limit: None,
            threads: None,
            project_memory_limit: None,
            max_open_projects: 4,
            engine_temp_limit: "20GB".into(),
            max_concurrent_jobs: 64,
            max_project_jobs: None,
            shutdown_timeout_secs: 30,
            max_file_size: 10 * 1024 * 1024 * 1024,
            project_max_files: 100_000,
            project_max_file_bytes: 1024 * 1024 * 1024 * 1024,
            workspace_memory_limit: "1GB".into(),
            workspace_threads: 1,
            workspace_temp_limit: "10GB".into(),
            statement_timeout_secs: 3600,
            startup_timeout_secs: 30,
            workspace_statement_timeout_secs: 300,
            workspace_max_result_bytes: 1024 * 1024 * 1024,
            workspace_max_sessions: 10,
            workspace_total_sessions: 200,
            workspace_size_limit: 10 * 1024 * 1024 * 1024,
        }
    }
}
