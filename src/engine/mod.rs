//! The engine: the only code that touches DuckDB. Each project's table files live in a DuckDB
//! instance of that project's (ADR 0009), opened on demand and closed when idle; a system
//! instance holds no table; a file instance reads uploads and writes exports and never runs a
//! client's SQL. Every instance has explicit memory, thread and temp-disk limits, file access
//! only to its own directories, its configuration locked. Rows cross between instances as
//! DuckDB chunks (streams.rs); every DuckDB call runs on the bounded blocking pool.

pub mod clock;
mod descriptions;
mod errors;
mod expansion;
mod extensions;
pub mod ffi;
mod instance;
pub mod intervals;
pub mod jsonb_functions;
pub mod numeric;
mod parser;
mod pool;
mod raw;
mod relations;
pub mod storage_scan;
mod streams;
mod tables;
mod workspaces;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::{Connection, InterruptHandle};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result, SqlState};

pub use errors::SqlOrigin;
pub use instance::{DataEpoch, Place, STREAM_FUNCTION};
use instance::{Instance, InstanceSettings};
pub use parser::{Call, DuckParser, References};
pub use pool::BlockingPool;
pub use raw::Described;
pub use relations::{RELATION_FUNCTION, RelationGuard, RelationRegistry};
pub use tables::{Lease, TableFile};
pub(crate) use workspaces::split_statements;
pub use workspaces::{
    DeclaredColumn, DeclaredShape, SandboxLimits, WorkspaceCatalog, WorkspaceColumn, WorkspaceConn, WorkspaceFile,
    WorkspaceLoad, WorkspaceOutcome, WorkspaceRelation, WorkspaceSchema, WorkspaceStatement, after_leading_comments,
    returns_rows,
};

/// PostgreSQL's arithmetic where DuckDB's differs and a client would get another answer for
/// the same SQL: `7 / 2` is 3 (integer operands divide as integers), in storage and workspace
/// instances alike.
const POSTGRES_ARITHMETIC: &str = "SET GLOBAL integer_division = true";

/// Limits and places for the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// DuckDB `memory_limit`, e.g. "4GB".
    pub memory_limit: String,
    pub threads: usize,
    /// How many DuckDB jobs may run at once.
    pub max_concurrent_jobs: usize,
    /// Of those, the most one project may run at once.
    pub max_project_jobs: usize,
    /// DuckDB `memory_limit` of each project's instance (default: half of `memory_limit`).
    pub project_memory_limit: Option<String>,
    /// Project instances open at once; the least recently used idle one closes beyond this.
    pub max_open_projects: usize,
    /// Temp disk (spilled intermediate results) each instance may use, e.g. "10GB".
    pub temp_limit: String,
    /// Decides whether DuckDB's parse of a client-derived text names only what its plan
    /// allows (the gateway's policy; the engine runs it before every such text).
    pub judge: Judge,
    /// Server SQL every instance runs once it is open (the catalog macros clients' queries
    /// are rewritten to call), one statement each.
    pub instance_setup: Vec<String>,
}

/// What a client-derived statement may reference: the table files it leases and the handles
/// of the server-built relations registered for it.
pub struct Allowed<'a> {
    pub tables: &'a [TableFile],
    pub handles: &'a [u64],
}

/// How a [`Judge`] decides.
pub type JudgeFn = dyn Fn(&References, &Allowed<'_>) -> Result<()> + Send + Sync;

/// The policy that judges DuckDB's reading of client-derived SQL (gateway/oracle.rs).
#[derive(Clone)]
pub struct Judge(pub Arc<JudgeFn>);

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Judge")
    }
}

/// A query DuckDB parses before a client-derived statement runs: the statement itself for a
/// read, the pieces of a write (gateway/dml.rs). `select_items`: how many items its select
/// list must have (so that no piece ran into the next).
#[derive(Debug, Clone)]
pub struct QueryCheck {
    pub sql: String,
    pub select_items: Option<usize>,
}

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// An exact number: `digits` × 10^-`scale`, bound as DECIMAL(38, scale) (a NUMERIC
    /// parameter; as text it would be a string to DuckDB, ambiguous in arithmetic).
    Decimal {
        digits: i128,
        scale: u8,
    },
}

impl Param {
    /// A NUMERIC parameter's text (`-12.50`) as an exact decimal; `Text` when it has more than
    /// 38 digits, an exponent, or is `NaN` (DuckDB then casts the text where it can).
    pub fn numeric(text: &str) -> Param {
        let trimmed = text.trim();
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let significant = whole.trim_start_matches('0').len() + fraction.len();
        if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) || significant > 38 {
            return Param::Text(text.to_owned());
        }
        let joined = format!("{whole}{fraction}");
        let magnitude = joined.trim_start_matches('0');
        // at most 38 digits: fits an i128
        let magnitude = if magnitude.is_empty() { Ok(0) } else { magnitude.parse::<i128>() };
        let Ok(magnitude) = magnitude else { return Param::Text(text.to_owned()) };
        let digits = if negative { -magnitude } else { magnitude };
        Param::Decimal { digits, scale: fraction.len() as u8 }
    }
}

/// A query for DuckDB: SQL text, bound values, and the server-built relations it reads.
pub struct Query {
    /// The instance it runs in: the session's project, or the system instance.
    pub home: Place,
    pub sql: String,
    pub params: Vec<Param>,
    pub relations: Vec<RelationGuard>,
    /// Table files the statement reads; attached and leased while it runs.
    pub tables: Vec<TableFile>,
    /// `User`: the text derives from a client's and runs only once DuckDB's parse of it is
    /// judged (see [`Judge`]).
    pub origin: SqlOrigin,
    /// What DuckDB parses to judge a client-derived text that is not a query itself (a write's
    /// pieces); `None`: the text itself.
    pub checks: Option<Vec<QueryCheck>>,
    /// (table file alias, the name its client knows it by), for what DuckDB shows of a
    /// statement (EXPLAIN).
    pub labels: Vec<(String, String)>,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    /// Rows each statement changed, in order.
    pub affected: Vec<usize>,
    /// The table's rows and bytes after the write.
    pub row_count: i64,
    pub byte_count: i64,
    /// What a write with `RETURNING` answered (see [`Engine::write_returning`]).
    pub returned: Option<(SchemaRef, Vec<RecordBatch>)>,
}

/// The most a write's `RETURNING` rows may hold in memory (they are gathered inside the write's
/// transaction, before it commits).
pub const MAX_RETURNING_BYTES: usize = 256 << 20;

/// Cancels whatever query a session is running. Clones share the same target. A cancel that
/// comes while the statement still waits for an engine slot stays pending and interrupts the
/// query the moment it starts.
#[derive(Clone, Default)]
pub struct Canceller {
    current: Arc<Mutex<Option<Arc<InterruptHandle>>>>,
    pending: Arc<std::sync::atomic::AtomicBool>,
}

impl Canceller {
    pub fn cancel(&self) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        self.pending.store(true, std::sync::atomic::Ordering::Release);
        if let Some(handle) = current.as_ref() {
            handle.interrupt();
        }
    }

    /// A new statement starts: an earlier statement's cancel no longer applies.
    pub fn reset(&self) {
        let _current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        self.pending.store(false, std::sync::atomic::Ordering::Release);
    }

    /// Whether a cancel came since the last [`reset`](Self::reset).
    pub fn is_cancelled(&self) -> bool {
        self.pending.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Points cancels at the query about to run on `handle`; a cancel already pending ends
    /// the statement before it starts (57014).
    fn arm(&self, handle: Arc<InterruptHandle>) -> Result<ArmedCanceller> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if self.pending.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::cancelled());
        }
        *current = Some(Arc::clone(&handle));
        Ok(ArmedCanceller { canceller: self.clone(), handle })
    }
}

struct ArmedCanceller {
    canceller: Canceller,
    handle: Arc<InterruptHandle>,
}

impl Drop for ArmedCanceller {
    /// Disarms only if the canceller still points at this query: a statement's engine work can
    /// end after the session's next statement armed the canceller, and clearing that one would
    /// leave the next statement deaf to its timeout and to cancel requests.
    fn drop(&mut self) {
        let mut current = self.canceller.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &self.handle)) {
            *current = None;
        }
    }
}

/// Record batches of a running query, in order, fetched as the consumer asks for them.
pub struct QueryStream {
    pub schema: SchemaRef,
    pub(crate) batches: mpsc::Receiver<Result<RecordBatch>>,
    /// What must live exactly as long as the stream (a statement's timeout timer).
    held: Vec<Box<dyn std::any::Any + Send + Sync>>,
    /// The data a read of the instance's own table files saw, when no write ran as it began
    /// (see [`Engine::data_epoch`]).
    pub data_epoch: Option<DataEpoch>,
    /// Every function the query calls answers by its arguments alone, as DuckDB describes
    /// them: the same data gives the same answer (see [`Engine`]'s `consistent_functions`).
    pub repeatable: bool,
    /// Set once the engine has sent the last batch (a stream that ends without it was cut).
    completed: Arc<std::sync::atomic::AtomicBool>,
}

/// What a query's job knows of the read besides its rows (see [`QueryStream`]).
struct ReadFacts {
    data_epoch: Option<DataEpoch>,
    repeatable: bool,
    completed: Arc<std::sync::atomic::AtomicBool>,
}

/// What a query's job answers once the query runs: the result's columns, and what it knows.
type Began = (SchemaRef, ReadFacts);

fn began_stream((schema, facts): Began, batches: mpsc::Receiver<Result<RecordBatch>>) -> QueryStream {
    QueryStream {
        schema,
        batches,
        held: Vec::new(),
        data_epoch: facts.data_epoch,
        repeatable: facts.repeatable,
        completed: facts.completed,
    }
}

impl QueryStream {
    /// Keeps `guard` until the stream is dropped (read to its end, failed or abandoned).
    pub fn hold(&mut self, guard: Box<dyn std::any::Any + Send + Sync>) {
        self.held.push(guard);
    }

    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.batches.recv().await
    }

    /// Whether the engine sent the whole result (not a stream cut off by a failure).
    pub fn completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }

    /// The same rows, cut off with an error once more than `max_bytes` have passed (a
    /// workspace's result limit, for its statements that run outside its sandbox).
    pub fn limited(self, max_bytes: u64) -> QueryStream {
        let QueryStream { schema, mut batches, held, data_epoch, repeatable, completed } = self;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let mut sent = 0u64;
            while let Some(batch) = batches.recv().await {
                let batch = batch.and_then(|batch| {
                    sent += batch.get_array_memory_size() as u64;
                    if sent > max_bytes { Err(workspaces::result_too_large(max_bytes)) } else { Ok(batch) }
                });
                let failed = batch.is_err();
                if tx.send(batch).await.is_err() || failed {
                    return;
                }
            }
        });
        QueryStream { schema, batches: rx, held, data_epoch, repeatable, completed }
    }
}

struct Shared {
    data_dir: String,
    data_path: PathBuf,
    tables_dir: PathBuf,
    system: Arc<Instance>,
    files: Arc<Instance>,
    projects: Mutex<HashMap<i64, Arc<Instance>>>,
    project_settings: InstanceSettings,
    max_open_projects: usize,
    parser: Arc<DuckParser>,
    /// Functions (and operators, and macros of them) whose answer depends on their arguments
    /// alone, as DuckDB describes them (see [`consistent_functions`]).
    consistent_functions: std::collections::HashSet<String>,
    judge: Judge,
    started: std::time::Instant,
}

/// Project instances unused this long close (their memory returns), seconds.
const IDLE_PROJECT_SECS: u64 = 60;

#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    pool: BlockingPool,
    version: String,
    workspaces: Arc<workspaces::Workspaces>,
}

/// Batches buffered between DuckDB and the wire: enough to overlap work, small enough that a
/// huge result never sits in memory.
pub(crate) const STREAM_BUFFER: usize = 4;

/// Most parameters one statement may have: a Bind message counts them in an Int16, as
/// PostgreSQL's does. DuckDB accepts `$9999999999999999` and reports that many parameters;
/// sizing anything by it would abort the process.
pub const MAX_PARAMS: usize = u16::MAX as usize;

/// Halves a DuckDB memory size ("4GB" → "2048MB"); other forms are kept as they are.
fn half_of(limit: &str) -> String {
    let digits: String = limit.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = limit[digits.len()..].trim().to_ascii_uppercase();
    let mb = match (digits.parse::<u64>(), unit.as_str()) {
        (Ok(n), "GB" | "GIB" | "G") => n * 1024,
        (Ok(n), "MB" | "MIB" | "M") => n,
        _ => return limit.to_owned(),
    };
    format!("{}MB", (mb / 2).max(64))
}

impl Engine {
    /// Opens the system and file instances; project instances open when first used.
    pub fn open(config: &EngineConfig) -> Result<Engine> {
        let data_path = canonical(&config.data_dir)?;
        let data_dir = data_path.to_string_lossy().into_owned();
        let tables_dir = data_path.join("tables");
        let tmp = data_path.join("tmp");
        let settings = |name: &str, memory: String, allowed: Vec<PathBuf>| InstanceSettings {
            memory_limit: memory,
            threads: config.threads.max(1),
            temp_dir: tmp.join("duckdb").join(name),
            max_temp_size: config.temp_limit.clone(),
            allowed_directories: allowed,
            setup: config.instance_setup.clone(),
        };
        let system = Instance::open(Place::System, &settings("system", "256MB".into(), vec![]), tables_dir.clone())?;
        let files = Instance::open(
            Place::Files,
            &settings(
                "files",
                half_of(&config.memory_limit),
                // tables/: new table files a full load writes before any other instance has them
                vec![data_path.join("files"), tmp.clone(), tables_dir.clone()],
            ),
            tables_dir.clone(),
        )?;
        let loaded: Vec<String> = system.extensions.iter().map(|e| format!("{} ({})", e.name, e.mode)).collect();
        tracing::info!(extensions = ?loaded, "the engine's extensions");
        let version: String = system
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .query_row("SELECT library_version FROM pragma_version()", [], |r| r.get(0))
            .map_err(|e| Error::internal("reading the DuckDB version", e))?;
        let functions: Vec<String> = {
            let root = system.root.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = root
                .prepare("SELECT DISTINCT function_name FROM duckdb_functions()")
                .map_err(|e| Error::internal("listing the engine's functions", e))?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<duckdb::Result<Vec<String>>>())
                .map_err(|e| Error::internal("listing the engine's functions", e))?
        };
        crate::gateway::set_engine_functions(functions);
        let project_memory = config.project_memory_limit.clone().unwrap_or_else(|| half_of(&config.memory_limit));
        let parser = Arc::new(DuckParser::open(&config.instance_setup)?);
        let consistent_functions = {
            let root = system.root.lock().unwrap_or_else(|p| p.into_inner());
            consistent_functions(&root, &parser)?
        };
        Ok(Engine {
            shared: Arc::new(Shared {
                project_settings: settings("project", project_memory, vec![]),
                data_dir,
                data_path: data_path.clone(),
                tables_dir,
                system: Arc::new(system),
                files: Arc::new(files),
                projects: Mutex::new(HashMap::new()),
                max_open_projects: config.max_open_projects.max(1),
                parser,
                consistent_functions,
                judge: config.judge.clone(),
                started: std::time::Instant::now(),
            }),
            pool: BlockingPool::new(config.max_concurrent_jobs.max(1), config.max_project_jobs),
            version,
            workspaces: Arc::new(workspaces::Workspaces::new(data_path.join("workspaces"))),
        })
    }

    /// The DuckDB library version, e.g. "v1.5.5".
    pub fn duckdb_version(&self) -> &str {
        &self.version
    }

    pub fn pool(&self) -> &BlockingPool {
        &self.pool
    }

    /// Makes `batch` readable as `duckstore_relation(<new random handle>)` in `place`'s
    /// instance. Opening a project's instance blocks briefly the first time.
    pub fn register_relation(&self, place: Place, batch: RecordBatch) -> Result<RelationGuard> {
        Ok(self.shared.instance(place)?.relations.register(batch))
    }

    /// Makes `batch` readable as `duckstore_relation(handle)` in `place`'s instance, replacing
    /// what was there: a session reuses its handles so its statements repeat verbatim and stay
    /// prepared.
    pub fn register_relation_at(&self, place: Place, handle: u64, batch: RecordBatch) -> Result<RelationGuard> {
        Ok(self.shared.instance(place)?.relations.register_at(handle, batch))
    }

    /// Runs a query and streams its result. The returned stream yields batches as the consumer
    /// reads them; a consumer that stops reading stops the query.
    pub async fn query(&self, query: Query, canceller: &Canceller) -> Result<QueryStream> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        let project = query.home.project();
        self.pool.spawn_for(project, self.query_job(query, canceller.clone(), schema_tx, batch_tx)).await?;
        let began = schema_rx
            .await
            .map_err(|_| Error::internal("running a query", "the query worker stopped before answering"))??;
        Ok(began_stream(began, batch_rx))
    }

    /// `query` for work that already holds a pool slot and waits for this one (a workspace
    /// statement reading storage): taking a second slot could deadlock a full pool. Call on a
    /// blocking thread.
    pub fn query_nested(&self, runtime: &tokio::runtime::Handle, query: Query) -> Result<QueryStream> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        runtime.spawn_blocking(self.query_job(query, Canceller::default(), schema_tx, batch_tx));
        let began = schema_rx
            .blocking_recv()
            .map_err(|_| Error::internal("running a query", "the query worker stopped before answering"))??;
        Ok(began_stream(began, batch_rx))
    }

    /// The data epoch of `place`'s instance now, if it is open and no write runs in it: a
    /// read that answered with the same epoch read the same data.
    pub fn data_epoch(&self, place: Place) -> Option<DataEpoch> {
        let instance = match place {
            Place::System => Arc::clone(&self.shared.system),
            Place::Files => Arc::clone(&self.shared.files),
            Place::Project(p) => Arc::clone(self.shared.projects.lock().unwrap_or_else(|p| p.into_inner()).get(&p)?),
        };
        instance.stable_epoch()
    }

    fn query_job(
        &self,
        query: Query,
        canceller: Canceller,
        schema_tx: oneshot::Sender<Result<Began>>,
        batch_tx: mpsc::Sender<Result<RecordBatch>>,
    ) -> impl FnOnce() + Send + 'static {
        let shared = Arc::clone(&self.shared);
        move || {
            let handles: Vec<u64> = query.relations.iter().map(|r| r.handle()).collect();
            let prepared = (|| {
                shared.vet(&query.sql, query.origin, query.checks.as_deref(), &query.tables, &handles)?;
                let instance = shared.instance(query.home)?;
                // a client's read runs in a read-only transaction (see `stream_query`)
                let mut conn =
                    if query.origin == SqlOrigin::User { instance.checkout_reader()? } else { instance.checkout()? };
                match shared.lease_all(&instance, conn.id, &query.tables) {
                    Ok(leases) => {
                        // after leasing, whose evictions detach; before the read's transaction
                        // begins, so that what it reads is never older than the epoch
                        let epoch =
                            if reuses_plans(&query, &instance) { instance.refresh_plans(&mut conn) } else { None };
                        Ok((instance, conn, leases, epoch))
                    }
                    Err(e) => {
                        instance.checkin(conn);
                        Err(e)
                    }
                }
            })();
            let (instance, conn, leases, epoch) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
            };
            let armed = match canceller.arm(conn.conn.interrupt_handle()) {
                Ok(armed) => armed,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    drop(leases);
                    instance.checkin(conn);
                    return;
                }
            };
            let repeatable = query.origin == SqlOrigin::User && shared.repeatable(&query.sql);
            stream_query(
                &shared,
                &conn.conn,
                &query,
                ReadFacts { data_epoch: epoch, repeatable, completed: Default::default() },
                schema_tx,
                batch_tx,
            );
            drop(armed);
            drop(leases);
            drop(query.relations);
            instance.checkin(conn);
        }
    }

    /// Parameter and result types of a query, from DuckDB's binder, without running it.
    pub async fn describe(&self, query: Query) -> Result<Described> {
        // (a kept description costs no trip to a blocking thread)
        if let Some(described) = self.shared.kept_description(&query) {
            return Ok(described);
        }
        let shared = Arc::clone(&self.shared);
        let project = query.home.project();
        self.pool.run_for(project, move || describe_on(&shared, query)).await
    }

    /// `describe` for work that already holds a pool slot (see `query_nested`). Call on a
    /// blocking thread.
    pub fn describe_nested(&self, query: Query) -> Result<Described> {
        describe_on(&self.shared, query)
    }

    /// Runs one server-generated statement that returns nothing (DDL, maintenance) in `place`.
    pub async fn execute(&self, place: Place, sql: String) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        self.pool
            .run(move || {
                shared.vet(&sql, SqlOrigin::Server, None, &[], &[])?;
                let instance = shared.instance(place)?;
                let conn = instance.checkout()?;
                let result = conn.conn.execute_batch(&sql).map_err(|e| {
                    errors::map_duckdb_error(&e, SqlOrigin::Server, "running engine SQL", &shared.data_dir)
                });
                instance.checkin(conn);
                result
            })
            .await
    }

    /// Creates a table's file with one table `data` of the given column definitions (SQL the
    /// storage layer built from validated names and types). Call on a blocking thread.
    pub fn create_table_file(&self, file: &TableFile, columns_sql: &str) -> Result<()> {
        let instance = self.shared.owner(file)?;
        let lease = instance.lease_local(file, true)?;
        let conn = instance.checkout()?;
        let result =
            [format!("CREATE TABLE {} ({columns_sql})", file.data_ref()), format!("CHECKPOINT \"{}\"", file.alias())]
                .iter()
                .try_for_each(|sql| {
                    self.shared.vet(sql, SqlOrigin::Server, None, &[], &[])?;
                    conn.conn.execute_batch(sql).map_err(|e| {
                        errors::map_duckdb_error(&e, SqlOrigin::Server, "creating a table file", &self.shared.data_dir)
                    })
                });
        instance.checkin(conn);
        drop(lease);
        if result.is_err() {
            let _ = instance.attachments.remove(&instance.root, file);
        }
        result
    }

    /// Writes everything committed to `file` into the file itself (no WAL left), so the file
    /// alone holds the table's state. Call on a blocking thread.
    pub fn checkpoint(&self, file: &TableFile) -> Result<()> {
        let instance = self.shared.owner(file)?;
        let _lease = instance.lease_local(file, false)?;
        let conn = instance.checkout()?;
        let result = conn.conn.execute_batch(&format!("CHECKPOINT \"{}\"", file.alias())).map_err(|e| {
            errors::map_duckdb_error(&e, SqlOrigin::Server, "checkpointing a table file", &self.shared.data_dir)
        });
        instance.checkin(conn);
        result
    }

    /// A table file's size on disk (with its WAL).
    pub fn file_bytes(&self, file: &TableFile) -> i64 {
        file_bytes(&file.path(&self.shared.tables_dir))
    }

    /// Makes `to` a copy of `from` (checkpointed first, so the file alone holds every committed
    /// row): copy-on-write for a version a snapshot or a branch keeps. Both are files of one
    /// project. Call on a blocking thread.
    pub fn copy_table_file(&self, from: &TableFile, to: &TableFile) -> Result<()> {
        let instance = self.shared.owner(from)?;
        let lease = instance.lease_local(from, false)?;
        let conn = instance.checkout()?;
        let checkpointed = conn.conn.execute_batch(&format!("CHECKPOINT \"{}\"", from.alias())).map_err(|e| {
            errors::map_duckdb_error(&e, SqlOrigin::Server, "checkpointing a table file", &self.shared.data_dir)
        });
        instance.checkin(conn);
        checkpointed?;
        let target_owner = self.shared.owner(to)?;
        let _ = target_owner.attachments.remove(&target_owner.root, to);
        let tables_dir = &self.shared.tables_dir;
        let (source, target) = (from.path(tables_dir), to.path(tables_dir));
        let partial = target.with_extension("duckdb.copy");
        let copied = (|| {
            std::fs::create_dir_all(target.parent().expect("table files live in a directory"))?;
            std::fs::copy(&source, &partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, &target)
        })();
        drop(lease);
        copied.map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            Error::internal("copying a table file", e)
        })
    }

    /// Detaches and deletes a table's file. Call on a blocking thread.
    pub fn remove_table_file(&self, file: &TableFile) -> Result<()> {
        let instance = self.shared.owner(file)?;
        instance.attachments.remove(&instance.root, file)
    }

    /// Runs statements against one table in a single transaction: all of them or none.
    /// `client_checks`: the statements derive from a client's, and DuckDB's parse of these
    /// checks must name only `file`, `reads`, the server relations `handles` (registered for the
    /// file's project) and allowed functions (see [`QueryCheck`]). Call on a blocking thread.
    pub fn write(
        &self,
        file: &TableFile,
        reads: &[TableFile],
        handles: &[u64],
        statements: &[(String, Vec<Param>)],
        client_checks: Option<&[QueryCheck]>,
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        self.write_with(file, reads, handles, statements, client_checks, None, false, canceller)
    }

    /// `write` of server SQL that reads rows the file instance produces: `source` (server SQL
    /// reading an upload, run there) is `duckstore_stream('source')` to the statements. An
    /// import never runs where a client's SQL runs. Call on a blocking thread.
    pub fn write_from_files(
        &self,
        file: &TableFile,
        statements: &[(String, Vec<Param>)],
        source: &str,
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        self.write_with(file, &[], &[], statements, None, Some(source), false, canceller)
    }

    /// Creates `file` (a table version no instance has attached: not yet in the catalog) in the
    /// file instance, fills it with `insert` (server SQL reading an upload), checkpoints and
    /// closes it; the table's instance attaches it once the catalog points at it. A full load
    /// runs at the speed of DuckDB's own COPY, where no client SQL runs. Call on a blocking
    /// thread.
    pub fn load_new_file(
        &self,
        file: &TableFile,
        columns_sql: &str,
        insert: &str,
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        let shared = &self.shared;
        let files = &shared.files;
        let path = file.path(&shared.tables_dir);
        std::fs::create_dir_all(path.parent().expect("table files live in a directory"))
            .map_err(|e| Error::internal("creating a table directory", e))?;
        for stale in [path.clone(), path.with_extension("duckdb.wal")] {
            let _ = std::fs::remove_file(stale);
        }
        let alias = file.alias();
        let statements = [
            format!("ATTACH '{}' AS \"{alias}\"", path.to_string_lossy().replace('\'', "''")),
            format!("CREATE TABLE {} ({columns_sql})", file.data_ref()),
        ];
        for sql in statements.iter().chain(std::iter::once(&insert.to_owned())) {
            shared.vet(sql, SqlOrigin::Server, None, &[], &[])?;
        }
        let conn = files.checkout()?;
        let armed = canceller.arm(conn.conn.interrupt_handle())?;
        let c = &conn.conn;
        let map = |e: duckdb::Error, origin| errors::map_duckdb_error(&e, origin, "loading a table", &shared.data_dir);
        let result = (|| {
            for sql in &statements {
                c.execute_batch(sql).map_err(|e| map(e, SqlOrigin::Server))?;
            }
            let affected = c.execute(insert, []).map_err(|e| map(e, SqlOrigin::User))?;
            let row_count = count_rows(c, file).map_err(|e| map(e, SqlOrigin::Server))?;
            c.execute_batch(&format!("CHECKPOINT \"{alias}\"")).map_err(|e| map(e, SqlOrigin::Server))?;
            Ok((affected, row_count))
        })();
        drop(armed);
        let detached = c.execute_batch(&format!("DETACH DATABASE IF EXISTS \"{alias}\""));
        files.checkin(conn);
        match (result, detached) {
            (Ok((affected, row_count)), Ok(())) => {
                Ok(WriteOutcome { affected: vec![affected], row_count, byte_count: file_bytes(&path), returned: None })
            }
            (Err(e), _) => {
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
                Err(e)
            }
            (Ok(_), Err(e)) => Err(Error::internal("closing a loaded table file", e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::too_many_arguments)]
    fn write_with(
        &self,
        file: &TableFile,
        reads: &[TableFile],
        handles: &[u64],
        statements: &[(String, Vec<Param>)],
        client_checks: Option<&[QueryCheck]>,
        source: Option<&str>,
        returning: bool,
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        let shared = &self.shared;
        let mut allowed = reads.to_vec();
        allowed.push(file.clone());
        for (sql, _) in statements {
            match client_checks {
                Some(checks) => shared.vet(sql, SqlOrigin::User, Some(checks), &allowed, handles)?,
                None => shared.vet(sql, SqlOrigin::Server, None, &[], &[])?,
            }
        }
        let instance = shared.owner(file)?;
        let lease = instance.lease_local(file, false)?;
        let conn = instance.checkout()?;
        let read_leases = match shared.lease_all(&instance, conn.id, reads) {
            Ok(l) => l,
            Err(e) => {
                instance.checkin(conn);
                return Err(e);
            }
        };
        if let Some(source) = source
            && let Err(e) = shared.grant_files_query(&instance, conn.id, "source", source, &[])
        {
            instance.checkin(conn);
            return Err(e);
        }
        let _armed = canceller.arm(conn.conn.interrupt_handle())?;
        let origin = if client_checks.is_some() { SqlOrigin::User } else { SqlOrigin::Server };
        let map = |e: duckdb::Error| {
            let origin = if source.is_some() { SqlOrigin::User } else { origin };
            errors::map_duckdb_error(&e, origin, "writing a table", &shared.data_dir)
        };
        let c = &conn.conn;
        let result = (|| {
            c.execute_batch("BEGIN TRANSACTION").map_err(map)?;
            let mut affected = Vec::with_capacity(statements.len());
            let mut returned = None;
            for (sql, params) in statements {
                let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
                let outcome = if returning {
                    gather_returning(c, sql, values).map_err(|e| e.map_duckdb(map)).map(|(n, rows)| {
                        returned = Some(rows);
                        n
                    })
                } else {
                    c.execute(sql, duckdb::params_from_iter(values)).map_err(map)
                };
                match outcome {
                    Ok(n) => affected.push(n),
                    Err(e) => {
                        let _ = c.execute_batch("ROLLBACK");
                        return Err(e);
                    }
                }
            }
            if let Err(e) = c.execute_batch("COMMIT") {
                let _ = c.execute_batch("ROLLBACK");
                return Err(map(e));
            }
            let row_count = count_rows(c, file).map_err(map)?;
            let byte_count = file_bytes(&file.path(&shared.tables_dir));
            Ok(WriteOutcome { affected, row_count, byte_count, returned })
        })();
        drop(_armed);
        drop(read_leases);
        instance.checkin(conn);
        drop(lease);
        result
    }

    /// [`Self::write`] of one statement with `RETURNING`: its rows come back with the outcome
    /// (at most [`MAX_RETURNING_BYTES`]; more rolls the write back with `54000`).
    pub fn write_returning(
        &self,
        file: &TableFile,
        reads: &[TableFile],
        handles: &[u64],
        statement: (String, Vec<Param>),
        client_checks: &[QueryCheck],
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        self.write_with(file, reads, handles, &[statement], Some(client_checks), None, true, canceller)
    }

    /// The engine's data directory, canonical: paths in server SQL must start with it to pass
    /// DuckDB's `allowed_directories`.
    pub fn data_dir(&self) -> &Path {
        &self.shared.data_path
    }

    /// The (name, type) of each column `select` answers, without running it (a file's header
    /// or a Parquet schema), in the file instance. Errors are the client's (a file that is not
    /// what it claims to be). Call on a blocking thread.
    pub fn describe_columns(&self, select: &str) -> Result<Vec<(String, String)>> {
        self.describe_select(&self.shared.files, &[], select, SqlOrigin::Server, &[])
    }

    /// `describe_columns` of a client's query that reads table files (a view's query), in the
    /// session's instance, holding the files' leases. Call on a blocking thread.
    pub fn describe_reading(&self, home: Place, reads: &[TableFile], select: &str) -> Result<Vec<(String, String)>> {
        self.describe_reading_with(home, reads, select, &[])
    }

    /// [`Self::describe_reading`] of a query with parameters, bound to `params`.
    pub fn describe_reading_with(
        &self,
        home: Place,
        reads: &[TableFile],
        select: &str,
        params: &[Param],
    ) -> Result<Vec<(String, String)>> {
        let instance = self.shared.instance(home)?;
        self.describe_select(&instance, reads, select, SqlOrigin::User, params)
    }

    fn describe_select(
        &self,
        instance: &Arc<Instance>,
        reads: &[TableFile],
        select: &str,
        origin: SqlOrigin,
        params: &[Param],
    ) -> Result<Vec<(String, String)>> {
        let shared = &self.shared;
        shared.vet(select, origin, None, reads, &[])?;
        let described = format!("DESCRIBE\n{select}\n");
        shared.vet(&described, SqlOrigin::Server, None, &[], &[])?;
        let conn = instance.checkout_reader()?;
        let leases = match shared.lease_all(instance, conn.id, reads) {
            Ok(l) => l,
            Err(e) => {
                instance.checkin(conn);
                return Err(e);
            }
        };
        let result = (|| {
            let mut stmt = conn.conn.prepare(&described)?;
            let values = duckdb::params_from_iter(params.iter().map(to_duckdb_value));
            let rows = stmt.query_map(values, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.collect::<duckdb::Result<Vec<_>>>()
        })()
        .map_err(|e| errors::map_duckdb_error(&e, SqlOrigin::User, "describing a query's columns", &shared.data_dir));
        drop(leases);
        instance.checkin(conn);
        result
    }

    /// Writes the rows of `select` (server SQL over `file`, with `params`) into a file with the
    /// file instance's `COPY … TO <target> (<options>)`; answers the rows written. The rows
    /// stream from the table's project instance; the file is written where no client SQL runs.
    /// Call on a blocking thread.
    pub fn export(
        &self,
        file: &TableFile,
        select: &str,
        params: &[Param],
        target: &Path,
        options: &str,
        canceller: &Canceller,
    ) -> Result<usize> {
        let shared = &self.shared;
        shared.vet(select, SqlOrigin::Server, None, &[], &[])?;
        let owner = shared.owner(file)?;
        let files = &shared.files;
        let conn = files.checkout()?;
        let lease = match owner.lease_local(file, false) {
            Ok(l) => l,
            Err(e) => {
                files.checkin(conn);
                return Err(e);
            }
        };
        let columns = streams::columns_of(&owner, select)
            .map_err(|m| errors::map_duckdb_message(&m, SqlOrigin::User, "exporting a table", &shared.data_dir));
        let columns = match columns {
            Ok(c) => Arc::new(c),
            Err(e) => {
                files.checkin(conn);
                return Err(e);
            }
        };
        let (select, params, source_owner) = (select.to_owned(), params.to_vec(), Arc::clone(&owner));
        let source_file = file.clone();
        let open: ffi::SourceFactory = Arc::new(move |_projection: &[Option<usize>]| {
            let lease = source_owner.lease_local(&source_file, false).map_err(|e| e.message().to_owned())?;
            streams::start(&source_owner, &select, &params, vec![lease])
        });
        files.grant_stream(conn.id, "export", ffi::StreamGrant { columns, open });
        let sql = format!(
            "COPY (SELECT * FROM {}('export')) TO '{}' ({options})",
            instance::STREAM_FUNCTION,
            target.to_string_lossy().replace('\'', "''")
        );
        let result = shared.vet(&sql, SqlOrigin::Server, None, &[], &[]).and_then(|()| {
            let _armed = canceller.arm(conn.conn.interrupt_handle())?;
            conn.conn
                .execute(&sql, [])
                .map_err(|e| errors::map_duckdb_error(&e, SqlOrigin::User, "exporting a table", &shared.data_dir))
        });
        files.checkin(conn);
        drop(lease);
        result
    }

    /// Runs a small server query in `home` that reads `reads` and answers its rows as text
    /// (the SQL casts what it selects to VARCHAR): statistics, profiles. Call on a blocking
    /// thread.
    pub fn read_text_rows(
        &self,
        home: Place,
        reads: &[TableFile],
        sql: &str,
        params: &[Param],
    ) -> Result<Vec<Vec<Option<String>>>> {
        let shared = &self.shared;
        shared.vet(sql, SqlOrigin::Server, None, &[], &[])?;
        let instance = shared.instance(home)?;
        let conn = instance.checkout_reader()?;
        let leases = match shared.lease_all(&instance, conn.id, reads) {
            Ok(l) => l,
            Err(e) => {
                instance.checkin(conn);
                return Err(e);
            }
        };
        let result = (|| {
            let mut stmt = conn.conn.prepare(sql)?;
            let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
            let mut rows = stmt.query(duckdb::params_from_iter(values))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let width = row.as_ref().column_count();
                out.push((0..width).map(|i| row.get::<_, Option<String>>(i)).collect::<duckdb::Result<Vec<_>>>()?);
            }
            Ok(out)
        })()
        .map_err(|e: duckdb::Error| {
            errors::map_duckdb_error(&e, SqlOrigin::Server, "reading statistics", &shared.data_dir)
        });
        drop(leases);
        instance.checkin(conn);
        result
    }

    /// Rows and bytes of a table. Call on a blocking thread.
    pub fn table_stats(&self, file: &TableFile) -> Result<(i64, i64)> {
        let instance = self.shared.owner(file)?;
        let _lease = instance.lease_local(file, false)?;
        let conn = instance.checkout_reader()?;
        let rows = count_rows(&conn.conn, file).map_err(|e| Error::internal("counting rows", e));
        instance.checkin(conn);
        Ok((rows?, file_bytes(&file.path(&self.shared.tables_dir))))
    }

    /// Removes table files the catalog does not reference; answers what it removed and which
    /// referenced files are missing. Run at start-up, before serving.
    pub fn recover(&self, referenced: &std::collections::HashSet<TableFile>) -> Result<(Vec<PathBuf>, Vec<TableFile>)> {
        tables::recover(&self.shared.tables_dir, referenced)
    }

    /// Table files attached right now, over every instance.
    pub fn open_files(&self) -> usize {
        let projects = self.shared.projects.lock().unwrap_or_else(|p| p.into_inner());
        projects.values().map(|i| i.attachments.attached_files()).sum()
    }

    /// Project instances open right now.
    pub fn open_projects(&self) -> usize {
        self.shared.projects.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Closes project instances idle for a minute (their memory returns to the system). The
    /// server calls this periodically.
    pub fn close_idle(&self) {
        self.shared.close_idle(IDLE_PROJECT_SECS);
    }

    /// Closes a dropped project's instance: its table files are detached before they are
    /// removed, and nothing of the project stays open. Call on a blocking thread.
    pub fn close_project(&self, project: i64) {
        let instance = self.shared.projects.lock().unwrap_or_else(|p| p.into_inner()).remove(&project);
        if let Some(instance) = instance {
            instance.attachments.detach_all(&instance.root);
        }
    }

    /// Detaches every table file (each is checkpointed as it closes).
    pub fn close_tables(&self) {
        let projects: Vec<Arc<Instance>> =
            self.shared.projects.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for instance in projects {
            instance.attachments.detach_all(&instance.root);
        }
    }

    /// Bytes DuckDB holds in memory right now (from `duckdb_memory()`), over every instance.
    pub async fn memory_usage(&self) -> Result<i64> {
        let shared = Arc::clone(&self.shared);
        self.pool
            .run(move || {
                let mut instances: Vec<Arc<Instance>> =
                    shared.projects.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
                instances.push(Arc::clone(&shared.system));
                instances.push(Arc::clone(&shared.files));
                let mut total = 0;
                for instance in instances {
                    let conn = instance.checkout_reader()?;
                    let bytes = conn
                        .conn
                        .query_row(
                            "SELECT COALESCE(SUM(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()",
                            [],
                            |r| r.get::<_, i64>(0),
                        )
                        .map_err(|e| Error::internal("reading DuckDB memory", e));
                    instance.checkin(conn);
                    total += bytes?;
                }
                Ok(total)
            })
            .await
    }
}

/// The error for a text of several statements where one is expected.
fn several_statements(count: usize) -> Error {
    Error::invalid(format!("cannot run {count} statements in one call; send them one at a time"))
        .with_sqlstate(SqlState::SyntaxError)
}

impl Shared {
    fn now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The instance of `place`, opening a project's on first use. Beyond the open-instance
    /// limit the least recently used idle project instance closes first.
    fn instance(&self, place: Place) -> Result<Arc<Instance>> {
        let project = match place {
            Place::System => return Ok(Arc::clone(&self.system)),
            Place::Files => return Ok(Arc::clone(&self.files)),
            Place::Project(p) => p,
        };
        let now = self.now();
        let mut projects = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(instance) = projects.get(&project) {
            instance.touch(now);
            return Ok(Arc::clone(instance));
        }
        while projects.len() >= self.max_open_projects {
            // Idle: nothing but this map holds it.
            let victim = projects
                .iter()
                .filter(|(_, i)| Arc::strong_count(i) == 1)
                .min_by_key(|(_, i)| i.last_used.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            match victim {
                Some(id) => {
                    projects.remove(&id);
                }
                None => break, // all busy: open one more rather than wait
            }
        }
        let mut settings = self.project_settings.clone();
        settings.temp_dir = settings.temp_dir.with_file_name(format!("p{project}"));
        settings.allowed_directories = vec![self.tables_dir.join(project.to_string())];
        let instance = Arc::new(Instance::open(place, &settings, self.tables_dir.clone())?);
        instance.touch(now);
        projects.insert(project, Arc::clone(&instance));
        metrics::gauge!("duckstore_engine_project_instances").set(projects.len() as f64);
        Ok(instance)
    }

    /// The instance that owns (attaches, writes) `file`: its project's.
    fn owner(&self, file: &TableFile) -> Result<Arc<Instance>> {
        self.instance(Place::Project(file.project_id))
    }

    fn close_idle(&self, idle_secs: u64) {
        let now = self.now();
        let mut projects = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        projects.retain(|_, i| {
            Arc::strong_count(i) > 1 || now.saturating_sub(i.last_used.load(Ordering::Relaxed)) < idle_secs
        });
        metrics::gauge!("duckstore_engine_project_instances").set(projects.len() as f64);
    }

    /// Whether the client query `sql` answers the same whenever it reads the same data: its
    /// functions are all consistent, its table functions server relations or value
    /// generators. Asked of DuckDB's parse of it (cached since the query was judged).
    fn repeatable(&self, sql: &str) -> bool {
        // A sample without a seed draws other rows each time, and SQL's clock keywords
        // (`current_timestamp` without parentheses) are column references to DuckDB's parser,
        // bound to the transaction's clock only later. Judged on the words: a name or a
        // string holding one only costs the keeping.
        let reads_clock_or_samples = sql.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|word| {
            [
                "sample",
                "tablesample",
                "current_timestamp",
                "current_date",
                "current_time",
                "localtime",
                "localtimestamp",
            ]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
        });
        if reads_clock_or_samples {
            return false;
        }
        let Ok(refs) = self.parser.references(sql) else { return false };
        refs.refused.is_empty()
            && !refs.too_deep
            && refs.functions.iter().all(|(schema, name)| {
                matches!(schema.as_str(), "" | "main" | "pg_catalog") && self.consistent_functions.contains(name)
            })
            && refs.table_functions.iter().all(|call| {
                call.catalog.is_empty()
                    && matches!(call.schema.as_str(), "" | "main")
                    && [RELATION_FUNCTION, "range", "generate_series", "unnest"].contains(&call.name.as_str())
            })
    }

    /// What DuckDB described of `query` when its text was last described over the same files,
    /// if its instance is open and its data epoch has not moved since (see `descriptions`).
    /// Opens nothing: callable on an async thread.
    fn kept_description(&self, query: &Query) -> Option<Described> {
        let key = descriptions::Key::of(query)?;
        let Place::Project(project) = query.home else { return None };
        let instance = Arc::clone(self.projects.lock().unwrap_or_else(|p| p.into_inner()).get(&project)?);
        instance.descriptions.get(&key, instance.stable_epoch())
    }

    /// Runs before DuckDB sees any text: DuckDB's parser must read exactly one statement in it;
    /// for client-derived text (`origin` User), DuckDB's parse of it — or of `checks`, the
    /// queries that stand for a write's pieces — must name only `tables` and `handles` and
    /// functions the judge allows.
    fn vet(
        &self,
        sql: &str,
        origin: SqlOrigin,
        checks: Option<&[QueryCheck]>,
        tables: &[TableFile],
        handles: &[u64],
    ) -> Result<()> {
        // A client's query judged by itself: DuckDB's parse tree counts its statements (one
        // parse, not two).
        let judged_whole = origin == SqlOrigin::User && checks.is_none();
        if !judged_whole {
            match self.parser.statement_count(sql) {
                Ok(1) => {}
                Ok(n) => return Err(several_statements(n)),
                Err(message) => return Err(errors::map_duckdb_message(&message, origin, "parsing", &self.data_dir)),
            }
        }
        if origin == SqlOrigin::Server {
            return Ok(());
        }
        let own = [QueryCheck { sql: sql.to_owned(), select_items: None }];
        for check in checks.unwrap_or(&own) {
            let refs = match self.parser.references(&check.sql) {
                Ok(refs) => refs,
                Err(message) if message.starts_with("Parser Error") => {
                    return Err(errors::map_duckdb_message(&message, origin, "parsing", &self.data_dir));
                }
                Err(message) => {
                    metrics::counter!("duckstore_security_refusals_total", "check" => "duckdb_parse").increment(1);
                    tracing::warn!(target: "duckstore::security", %message, "refused: DuckDB does not read the statement as the query that was planned");
                    return Err(Error::permission_denied(
                        "the statement was refused: DuckDB does not read it as the query that was planned",
                    ));
                }
            };
            if let Some(n) = check.select_items
                && refs.select_items != n
            {
                metrics::counter!("duckstore_security_refusals_total", "check" => "duckdb_parse").increment(1);
                tracing::warn!(target: "duckstore::security", expected = n, found = refs.select_items, "refused: a write's pieces read differently");
                return Err(Error::permission_denied("the statement was refused: DuckDB reads its parts differently"));
            }
            (self.judge.0)(&refs, &Allowed { tables, handles })?;
        }
        Ok(())
    }

    /// Leases what a statement on connection `conn` of `instance` reads: the instance's own
    /// project's files attached, other projects' files (linked buckets) as streams from their
    /// instances, readable on `conn` alone.
    fn lease_all(&self, instance: &Arc<Instance>, conn: u64, files: &[TableFile]) -> Result<Vec<Lease>> {
        let mut leases = Vec::with_capacity(files.len());
        for file in files {
            if instance.place == Place::Project(file.project_id) {
                leases.push(instance.lease_local(file, false)?);
                continue;
            }
            if !matches!(instance.place, Place::Project(_)) {
                return Err(Error::internal("leasing a table file", "a table read outside a project instance"));
            }
            let foreign = streams::ForeignTable::new(self.owner(file)?, file.clone())?;
            leases.push(instance.lease_foreign(conn, file, &foreign)?);
        }
        Ok(leases)
    }

    /// Grants connection `conn` of `instance` the rows of `select` (server SQL, reading an
    /// upload) run in the file instance, as `duckstore_stream(key)`.
    fn grant_files_query(
        &self,
        instance: &Instance,
        conn: u64,
        key: &str,
        select: &str,
        params: &[Param],
    ) -> Result<()> {
        self.vet(select, SqlOrigin::Server, None, &[], &[])?;
        let files = Arc::clone(&self.files);
        let columns = streams::columns_of(&files, select)
            .map_err(|m| errors::map_duckdb_message(&m, SqlOrigin::User, "reading a file", &self.data_dir))?;
        let (select, params) = (select.to_owned(), params.to_vec());
        let open: ffi::SourceFactory =
            Arc::new(move |_projection: &[Option<usize>]| streams::start(&files, &select, &params, vec![]));
        instance.grant_stream(conn, key, ffi::StreamGrant { columns: Arc::new(columns), open });
        Ok(())
    }

    fn schema_of_empty_run(&self, instance: &Instance, sql: &str, params: usize) -> Result<SchemaRef> {
        let conn = instance.checkout_reader()?;
        let result = (|| {
            let mut stmt = conn.conn.prepare(&format!("SELECT * FROM ({sql}) AS described LIMIT 0"))?;
            let arrow = stmt.query_arrow(duckdb::params_from_iter(vec![duckdb::types::Value::Null; params]))?;
            Ok::<_, duckdb::Error>(arrow.get_schema())
        })()
        .map_err(|e| Error::internal("describing a query", e));
        instance.checkin(conn);
        result
    }
}

/// `digits` × 10^-`scale` as decimal text.
fn decimal_text(digits: i128, scale: u8) -> String {
    let magnitude = format!("{:0>width$}", digits.unsigned_abs(), width = scale as usize + 1);
    let (whole, fraction) = magnitude.split_at(magnitude.len() - scale as usize);
    let sign = if digits < 0 { "-" } else { "" };
    if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
}

/// Why gathering `RETURNING` rows failed: DuckDB's error, or too many rows.
enum ReturningError {
    Engine(duckdb::Error),
    TooLarge,
}

impl ReturningError {
    fn map_duckdb(self, map: impl Fn(duckdb::Error) -> Error) -> Error {
        match self {
            ReturningError::Engine(e) => map(e),
            ReturningError::TooLarge => Error::new(
                crate::error::ErrorKind::ResourceExhausted,
                format!("the rows RETURNING answers may hold at most {} MiB", MAX_RETURNING_BYTES >> 20),
            )
            .with_sqlstate(SqlState::ProgramLimitExceeded),
        }
    }
}

/// Runs a write with `RETURNING` and gathers its rows: (rows, (schema, batches)).
fn gather_returning(
    c: &duckdb::Connection,
    sql: &str,
    values: Vec<duckdb::types::Value>,
) -> std::result::Result<(usize, (SchemaRef, Vec<RecordBatch>)), ReturningError> {
    let mut statement = c.prepare(sql).map_err(ReturningError::Engine)?;
    let arrow = statement.query_arrow(duckdb::params_from_iter(values)).map_err(ReturningError::Engine)?;
    let schema = arrow.get_schema();
    let (mut rows, mut bytes, mut batches) = (0, 0, Vec::new());
    for batch in arrow {
        rows += batch.num_rows();
        bytes += batch.get_array_memory_size();
        if bytes > MAX_RETURNING_BYTES {
            return Err(ReturningError::TooLarge);
        }
        batches.push(batch);
    }
    Ok((rows, (schema, batches)))
}

pub(crate) fn to_duckdb_value(p: &Param) -> duckdb::types::Value {
    use duckdb::types::Value;
    match p {
        Param::Null => Value::Null,
        Param::Bool(v) => Value::Boolean(*v),
        Param::Int(v) => Value::BigInt(*v),
        Param::Float(v) => Value::Double(*v),
        Param::Text(v) => Value::Text(v.clone()),
        Param::Bytes(v) => Value::Blob(v.clone()),
        Param::Decimal { digits, scale } => Value::Text(decimal_text(*digits, *scale)),
    }
}

fn describe_on(shared: &Shared, query: Query) -> Result<Described> {
    if let Some(described) = shared.kept_description(&query) {
        return Ok(described);
    }
    let handles: Vec<u64> = query.relations.iter().map(|r| r.handle()).collect();
    shared.vet(&query.sql, query.origin, query.checks.as_deref(), &query.tables, &handles)?;
    let instance = shared.instance(query.home)?;
    // (before it is described: a write meanwhile leaves the description unused)
    let kept = descriptions::Key::of(&query).zip(instance.stable_epoch());
    // Preparing binds the statement on a raw connection, which must be able to read the other
    // projects' files the statement names: the grants go to that connection.
    let conn = RawDescriber::new(&instance)?;
    let leases = shared.lease_all(&instance, conn.id, &query.tables)?;
    let described = raw::describe_on(&conn.raw, &query.sql)
        .map_err(|message| errors::map_duckdb_message(&message, query.origin, "describing a query", &shared.data_dir));
    let mut described = described?;
    instance.grants.revoke_all(conn.id);
    // With a parameter DuckDB cannot type, its binder leaves the result unresolved; a read then
    // answers its schema when run over no rows with NULL parameters.
    if described.params.contains(&arrow::datatypes::DataType::Null)
        && let Ok(schema) = shared.schema_of_empty_run(&instance, &query.sql, described.params.len())
    {
        described.schema = with_names_of(schema, &described.schema);
    }
    drop(leases);
    drop(query.relations);
    if let Some((key, epoch)) = kept {
        instance.descriptions.keep(key, epoch, &described);
    }
    Ok(described)
}

/// `schema` with the column names of `named` where both have the same columns: an empty run
/// wraps the statement in a subquery, whose duplicate names DuckDB makes unique (`a`, `a_1`),
/// where the statement itself answers PostgreSQL's `a`, `a`.
pub(crate) fn with_names_of(schema: SchemaRef, named: &SchemaRef) -> SchemaRef {
    if schema.fields().len() != named.fields().len()
        || schema.fields().iter().zip(named.fields()).all(|(a, b)| a.name() == b.name())
    {
        return schema;
    }
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .zip(named.fields())
        .map(|(field, name)| field.as_ref().clone().with_name(name.name()))
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether an empty run's column names may be ones DuckDB made unique (`a_1` after `a`).
pub(crate) fn may_have_renamed_duplicates(schema: &SchemaRef) -> bool {
    let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
    names.iter().enumerate().any(|(i, name)| {
        name.rsplit_once('_').is_some_and(|(base, n)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && names[..i].iter().any(|earlier| *earlier == base)
        })
    })
}

/// Functions DuckDB marks `CONSISTENT` whose answer depends on more than their arguments.
const CONTEXT_FUNCTIONS: &[&str] = &[
    "age",
    "current_setting",
    "getvariable",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_catalog",
    "current_user",
    "user",
    "session_user",
    "current_role",
    "in_search_path",
    "pg_backend_pid",
];

/// The functions of an instance whose answer depends on their arguments alone: every
/// overload a scalar or aggregate function DuckDB calls `CONSISTENT` (not `now()`, whose answer
/// is the transaction's, nor `random()`), or a macro whose body, as DuckDB parses it, calls only
/// such functions. Names in lower case.
fn consistent_functions(conn: &Connection, parser: &DuckParser) -> Result<std::collections::HashSet<String>> {
    let failed = |e: duckdb::Error| Error::internal("listing the engine's functions", e);
    let mut stmt = conn
        .prepare("SELECT lower(function_name), function_type, coalesce(stability, ''), coalesce(macro_definition, '') FROM duckdb_functions()")
        .map_err(failed)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })
        .and_then(|rows| rows.collect::<duckdb::Result<Vec<_>>>())
        .map_err(failed)?;
    // name → the bodies of its macro overloads; None once an overload is not consistent
    let mut names: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for (name, kind, stability, body) in rows {
        // DuckDB calls these consistent, but they read the transaction's clock (`age(t)`
        // measures from its start) or the connection's settings and variables
        let reads_context = CONTEXT_FUNCTIONS.contains(&name.as_str());
        let entry = names.entry(name).or_insert_with(|| Some(Vec::new()));
        match (kind.as_str(), stability.as_str(), entry.as_mut()) {
            _ if reads_context => *entry = None,
            ("scalar" | "aggregate", "CONSISTENT", Some(_)) => {}
            ("macro", _, Some(bodies)) if !body.is_empty() => bodies.push(body),
            _ => *entry = None,
        }
    }
    let mut consistent: std::collections::HashSet<String> =
        names.iter().filter(|(_, b)| b.as_ref().is_some_and(Vec::is_empty)).map(|(n, _)| n.clone()).collect();
    // macros, as their bodies' functions are found consistent (a macro may call another)
    let mut pending: Vec<(String, Vec<String>)> =
        names.into_iter().filter_map(|(n, b)| b.filter(|b| !b.is_empty()).map(|b| (n, b))).collect();
    loop {
        let before = consistent.len();
        pending.retain(|(name, bodies)| {
            let calls_consistent = bodies.iter().all(|body| {
                parser.references(&format!("SELECT {body}")).is_ok_and(|refs| {
                    refs.table_functions.is_empty()
                        && refs.tables.is_empty()
                        && refs.refused.is_empty()
                        && !refs.too_deep
                        && refs.functions.iter().all(|(schema, f)| {
                            matches!(schema.as_str(), "" | "main" | "pg_catalog") && consistent.contains(f)
                        })
                })
            });
            if calls_consistent {
                consistent.insert(name.clone());
            }
            !calls_consistent
        });
        if consistent.len() == before {
            return Ok(consistent);
        }
    }
}

/// A raw connection for describing statements, with its id for stream grants.
struct RawDescriber {
    raw: ffi::RawConn,
    id: u64,
}

impl RawDescriber {
    fn new(instance: &Instance) -> Result<RawDescriber> {
        let raw = instance.raw_connection().map_err(|e| Error::internal("connecting to DuckDB", e))?;
        let id = raw.connection_id();
        Ok(RawDescriber { raw, id })
    }
}

/// Whether a read of table files may run a plan kept from an earlier run of the same text:
/// a client's read (in a read-only transaction, so on a connection that writes nothing) of
/// this instance's own files, whose writes move its plan epoch. Another project's file
/// arrives as a stream from its own instance, whose writes this one does not see. Not with
/// parameters: a plan made for no particular value cannot use the table's index or skip
/// row groups by their ranges, so a point lookup by `$1` kept ran slower than planned afresh.
fn reuses_plans(query: &Query, instance: &Instance) -> bool {
    query.origin == SqlOrigin::User
        && query.params.is_empty()
        && !query.tables.is_empty()
        && query.tables.iter().all(|f| instance.place == Place::Project(f.project_id))
}

fn stream_query(
    shared: &Shared,
    conn: &Connection,
    query: &Query,
    facts: ReadFacts,
    schema_tx: oneshot::Sender<Result<Began>>,
    batch_tx: mpsc::Sender<Result<RecordBatch>>,
) {
    let map = |e: duckdb::Error| errors::map_duckdb_error(&e, query.origin, "running a query", &shared.data_dir);
    // A client's read runs in a read-only transaction: whatever its text, it cannot change a
    // database (the gateway and DuckDB's parse already said it is a query).
    let read_only = query.origin == SqlOrigin::User;
    if read_only && let Err(e) = run_prepared(conn, "BEGIN TRANSACTION READ ONLY") {
        let _ = schema_tx.send(Err(map(e)));
        return;
    }
    stream_statement(conn, query, facts, &map, schema_tx, batch_tx);
    if read_only {
        let _ = run_prepared(conn, "COMMIT");
    }
}

/// Runs a statement without results through the connection's cache of prepared statements:
/// for the BEGIN and COMMIT around every read, parsing them each time was a tenth of a point
/// lookup's cost.
fn run_prepared(conn: &Connection, sql: &str) -> duckdb::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn stream_statement(
    conn: &Connection,
    query: &Query,
    facts: ReadFacts,
    map: &dyn Fn(duckdb::Error) -> Error,
    schema_tx: oneshot::Sender<Result<Began>>,
    batch_tx: mpsc::Sender<Result<RecordBatch>>,
) {
    // Statements repeat verbatim (sessions reuse relation handles; table files keep their
    // aliases) and DuckDB's prepare is the costly step of a small one, so prepared statements
    // are kept per connection: catalog queries, reads of table files while the instance's
    // data epoch holds (`epoch`; DuckDB plans with the statistics of the moment, and a
    // plan kept across a write to the file can return wrong values), and neither when the
    // plan may hold rows (`may_materialize`). Other statements are prepared afresh.
    let (mut cached, mut fresh);
    let stmt: &mut duckdb::Statement<'_> =
        if (query.tables.is_empty() || facts.data_epoch.is_some()) && !may_materialize(&query.sql) {
            match conn.prepare_cached(&query.sql) {
                Ok(s) => {
                    cached = s;
                    &mut cached
                }
                Err(e) => {
                    let _ = schema_tx.send(Err(map(e)));
                    return;
                }
            }
        } else {
            match conn.prepare(&query.sql) {
                Ok(s) => {
                    fresh = s;
                    &mut fresh
                }
                Err(e) => {
                    let _ = schema_tx.send(Err(map(e)));
                    return;
                }
            }
        };
    if stmt.parameter_count() != query.params.len() {
        let _ = schema_tx.send(Err(Error::invalid(format!(
            "the statement has {} parameters but {} values were bound",
            stmt.parameter_count(),
            query.params.len()
        ))
        .with_sqlstate(SqlState::ProtocolViolation)));
        return;
    }
    let params: Vec<_> = query.params.iter().map(to_duckdb_value).collect();
    let schema = match stmt.stream_arrow(duckdb::params_from_iter(params)) {
        // The Arrow iterator panics on a failed fetch, so read batches with `step` instead.
        Ok(arrow) => arrow.get_schema(),
        Err(e) => {
            let _ = schema_tx.send(Err(map(e)));
            return;
        }
    };
    let completed = Arc::clone(&facts.completed);
    if schema_tx.send(Ok((schema, facts))).is_err() {
        return;
    }
    // EXPLAIN shows the statement DuckDB ran and its tables by their engine names: the client
    // sees neither (its own names stand for them, or "table").
    let explain = query.sql.starts_with("EXPLAIN");
    loop {
        match stmt.step() {
            Ok(Some(array)) => {
                let mut batch = RecordBatch::from(&array);
                if explain {
                    batch = scrub_batch(&batch, &query.labels);
                }
                if batch_tx.blocking_send(Ok(batch)).is_err() {
                    return; // the client went away or stopped reading
                }
            }
            Ok(None) => {
                completed.store(true, Ordering::Release);
                return;
            }
            Err(e) => {
                let _ = batch_tx.blocking_send(Err(map(e)));
                return;
            }
        }
    }
}

/// The longest statement text whose plan a connection keeps (a catalog query of a BI tool is
/// a few KB).
const MAX_KEPT_PLAN_TEXT: usize = 32 * 1024;

/// Whether a statement's plan may keep rows after it ran: a materialized CTE's working table
/// lives in the plan, so a kept prepared statement would hold its rows until it ran again (a
/// catalog query naming 400 subqueries left 244 MB held in a 256 MB instance). CTEs come from
/// a `WITH` and from DuckDB's common-subplan optimizer, which materializes a subplan that
/// occurs twice: that needs two nested queries or a set operation. Judged on the words of the
/// text: a word in a literal or a name only costs a fresh prepare.
fn may_materialize(sql: &str) -> bool {
    // a long text's constants (literals, and what DuckDB folds them into) stay in its plan too
    if sql.len() > MAX_KEPT_PLAN_TEXT {
        return true;
    }
    let mut selects = 0;
    sql.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|word| {
        if word.eq_ignore_ascii_case("select") {
            selects += 1;
        }
        selects > 1 || ["with", "union", "except", "intersect"].iter().any(|w| word.eq_ignore_ascii_case(w))
    })
}

/// An EXPLAIN result without the engine's internals: the echoed statement removed, table file
/// aliases replaced by the names `labels` gives them (or "table").
fn scrub_batch(batch: &RecordBatch, labels: &[(String, String)]) -> RecordBatch {
    use arrow::array::{Array, ArrayRef, StringArray};
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.as_any().downcast_ref::<StringArray>() {
            Some(strings) => {
                let scrubbed: StringArray = strings
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            // DuckDB echoes the statement it ran on a line of its own.
                            let mut text: String = v
                                .lines()
                                .filter(|l| !l.trim_start().starts_with("EXPLAIN"))
                                .collect::<Vec<_>>()
                                .join("\n");
                            for (alias, label) in labels {
                                for form in [
                                    format!("{alias}.main.\"data\""),
                                    format!("\"{alias}\".main.data"),
                                    format!("\"{alias}\".\"main\".\"data\""),
                                ] {
                                    text = text.replace(&form, label);
                                }
                            }
                            errors::scrub_internal_names(&text)
                        })
                    })
                    .collect();
                Arc::new(scrubbed) as ArrayRef
            }
            None => Arc::clone(c),
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns).unwrap_or_else(|_| batch.clone())
}

fn count_rows(conn: &Connection, file: &TableFile) -> duckdb::Result<i64> {
    conn.query_row(&format!("SELECT count(*)::BIGINT FROM {}", file.data_ref()), [], |r| r.get(0))
}

/// A table file's size on disk, its write-ahead log included.
fn file_bytes(path: &Path) -> i64 {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as i64).unwrap_or(0);
    size(path) + size(&path.with_extension("duckdb.wal"))
}

fn canonical(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::internal("creating the data directory", e))?;
    dir.canonicalize().map_err(|e| Error::internal("resolving the data directory", e))
}

#[cfg(test)]
mod tests;
