//! The engine: the only code that touches DuckDB. It owns one DuckDB instance with explicit
//! memory and thread limits, external access locked to the data directories, a pool of
//! connections to it, and runs every DuckDB call on the bounded blocking pool.

mod errors;
pub mod ffi;
mod parser;
mod pool;
mod raw;
mod relations;
pub mod storage_scan;
mod tables;
mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::{Connection, InterruptHandle};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

pub use errors::SqlOrigin;
pub use parser::{Call, DuckParser, References};
pub use pool::BlockingPool;
pub use raw::Described;
pub use relations::{RELATION_FUNCTION, RelationGuard, RelationRegistry};
pub use tables::{Lease, TableFile};
pub use workspaces::{SandboxLimits, WorkspaceConn, WorkspaceFile, WorkspaceLoad, WorkspaceOutcome};

/// Limits and places for the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// DuckDB `memory_limit`, e.g. "4GB".
    pub memory_limit: String,
    pub threads: usize,
    /// How many DuckDB jobs may run at once.
    pub max_concurrent_jobs: usize,
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
}

/// A query for DuckDB: SQL text, bound values, and the server-built relations it reads.
pub struct Query {
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
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Rows each statement changed, in order.
    pub affected: Vec<usize>,
    /// The table's rows and bytes after the write.
    pub row_count: i64,
    pub byte_count: i64,
}

/// Cancels whatever query a session is running. Clones share the same target.
#[derive(Clone, Default)]
pub struct Canceller {
    current: Arc<Mutex<Option<Arc<InterruptHandle>>>>,
}

impl Canceller {
    pub fn cancel(&self) {
        if let Some(handle) = self.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            handle.interrupt();
        }
    }

    fn arm(&self, handle: Arc<InterruptHandle>) -> ArmedCanceller {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        ArmedCanceller { canceller: self.clone() }
    }
}

struct ArmedCanceller {
    canceller: Canceller,
}

impl Drop for ArmedCanceller {
    fn drop(&mut self) {
        *self.canceller.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Record batches of a running query, in order, fetched as the consumer asks for them.
pub struct QueryStream {
    pub schema: SchemaRef,
    pub(crate) batches: mpsc::Receiver<Result<RecordBatch>>,
}

impl QueryStream {
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.batches.recv().await
    }
}

struct Shared {
    // Field order is drop order: every connection closes before the database does.
    idle: Mutex<Vec<Connection>>,
    attachments: Arc<tables::Attachments>,
    root: Arc<Mutex<Connection>>,
    db: raw::RawDatabase,
    data_dir: String,
    parser: Arc<DuckParser>,
    judge: Judge,
}

/// How many table files may stay attached without a running statement.
const ATTACHED_FILES: usize = 256;

#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    pool: BlockingPool,
    relations: Arc<RelationRegistry>,
    version: String,
    workspaces: Arc<workspaces::Workspaces>,
}

/// Batches buffered between DuckDB and the wire: enough to overlap work, small enough that a
/// huge result never sits in memory.
pub(crate) const STREAM_BUFFER: usize = 4;
const IDLE_CONNECTIONS: usize = 64;
/// Prepared statements kept per pooled connection.
const STATEMENT_CACHE: usize = 128;

impl Engine {
    /// Opens the engine's DuckDB instance and locks its configuration.
    pub fn open(config: &EngineConfig) -> Result<Engine> {
        let data_dir = canonical(&config.data_dir)?;
        let temp_dir = data_dir.join("tmp").join("duckdb");
        std::fs::create_dir_all(&temp_dir).map_err(|e| Error::internal("creating the DuckDB temp directory", e))?;
        let settings = [
            ("threads", config.threads.max(1).to_string()),
            ("memory_limit", config.memory_limit.clone()),
            ("autoload_known_extensions", "false".to_owned()),
            ("autoinstall_known_extensions", "false".to_owned()),
            ("temp_directory", temp_dir.to_string_lossy().into_owned()),
            // Rows come back in no particular order without ORDER BY (as in PostgreSQL); keeping
            // insertion order makes `LIMIT n` scans ten times slower and big results costlier.
            ("preserve_insertion_order", "false".to_owned()),
        ];
        let db = raw::RawDatabase::open_in_memory(&settings)
            .map_err(|e| Error::invalid(format!("cannot start the engine: {e}")))?;
        // SAFETY: `db` outlives every connection made from it (see `Shared`'s field order).
        let root = unsafe { Connection::open_from_raw(db.handle()) }
            .map_err(|e| Error::internal("opening the DuckDB instance", e))?;
        let relations = Arc::new(RelationRegistry::default());
        root.register_table_function_with_extra_info::<relations::RelationFunction, _>(RELATION_FUNCTION, &relations)
            .map_err(|e| Error::internal("registering the relation function", e))?;

        // Order matters: allowed directories can only be set while external access is still on,
        // and once the configuration is locked nothing (not even a client's SET) can loosen it.
        let allowed: Vec<String> = ["tables", "files", "snapshots", "tmp"]
            .iter()
            .map(|d| {
                let dir = data_dir.join(d);
                let _ = std::fs::create_dir_all(&dir);
                format!("'{}/'", dir.to_string_lossy().replace('\'', "''"))
            })
            .collect();
        root.execute_batch(&format!(
            "SET GLOBAL TimeZone = 'UTC';
             SET allowed_directories = [{}];
             SET enable_external_access = false;
             SET lock_configuration = true;",
            allowed.join(", ")
        ))
        .map_err(|e| Error::internal("locking the engine configuration", e))?;

        for sql in &config.instance_setup {
            root.execute_batch(sql).map_err(|e| Error::internal("setting up the engine instance", e))?;
        }
        let version: String = root
            .query_row("SELECT library_version FROM pragma_version()", [], |r| r.get(0))
            .map_err(|e| Error::internal("reading the DuckDB version", e))?;

        Ok(Engine {
            shared: Arc::new(Shared {
                idle: Mutex::new(Vec::new()),
                attachments: Arc::new(tables::Attachments::new(data_dir.join("tables"), ATTACHED_FILES)),
                root: Arc::new(Mutex::new(root)),
                db,
                data_dir: data_dir.to_string_lossy().into_owned(),
                parser: Arc::new(DuckParser::open()?),
                judge: config.judge.clone(),
            }),
            pool: BlockingPool::new(config.max_concurrent_jobs.max(1)),
            relations,
            version,
            workspaces: Arc::new(workspaces::Workspaces::new(data_dir.join("workspaces"))),
        })
    }

    /// The DuckDB library version, e.g. "v1.5.6".
    pub fn duckdb_version(&self) -> &str {
        &self.version
    }

    pub fn pool(&self) -> &BlockingPool {
        &self.pool
    }

    /// Makes `batch` readable as `duckstore_relation(<new random handle>)`.
    pub fn register_relation(&self, batch: RecordBatch) -> RelationGuard {
        self.relations.register(batch)
    }

    /// Makes `batch` readable as `duckstore_relation(handle)`, replacing what was there: a
    /// session reuses its handles so its statements repeat verbatim and stay prepared.
    pub fn register_relation_at(&self, handle: u64, batch: RecordBatch) -> RelationGuard {
        self.relations.register_at(handle, batch)
    }

    /// Runs a query and streams its result. The returned stream yields batches as the consumer
    /// reads them; a consumer that stops reading stops the query.
    pub async fn query(&self, query: Query, canceller: &Canceller) -> Result<QueryStream> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        self.pool.spawn(self.query_job(query, canceller.clone(), schema_tx, batch_tx)).await?;
        let schema = schema_rx
            .await
            .map_err(|_| Error::internal("running a query", "the query worker stopped before answering"))??;
        Ok(QueryStream { schema, batches: batch_rx })
    }

    /// `query` for work that already holds a pool slot and waits for this one (a workspace
    /// statement reading storage): taking a second slot could deadlock a full pool. Call on a
    /// blocking thread.
    pub fn query_nested(&self, runtime: &tokio::runtime::Handle, query: Query) -> Result<QueryStream> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        runtime.spawn_blocking(self.query_job(query, Canceller::default(), schema_tx, batch_tx));
        let schema = schema_rx
            .blocking_recv()
            .map_err(|_| Error::internal("running a query", "the query worker stopped before answering"))??;
        Ok(QueryStream { schema, batches: batch_rx })
    }

    fn query_job(
        &self,
        query: Query,
        canceller: Canceller,
        schema_tx: oneshot::Sender<Result<SchemaRef>>,
        batch_tx: mpsc::Sender<Result<RecordBatch>>,
    ) -> impl FnOnce() + Send + 'static {
        let shared = Arc::clone(&self.shared);
        move || {
            let handles: Vec<u64> = query.relations.iter().map(|r| r.handle()).collect();
            if let Err(e) = shared.vet(&query.sql, query.origin, query.checks.as_deref(), &query.tables, &handles) {
                let _ = schema_tx.send(Err(e));
                return;
            }
            let conn = match shared.checkout() {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
            };
            let leases = match shared.lease_all(&query.tables) {
                Ok(leases) => leases,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    shared.checkin(conn);
                    return;
                }
            };
            let _armed = canceller.arm(conn.interrupt_handle());
            stream_query(&shared, &conn, &query, schema_tx, batch_tx);
            drop(leases);
            drop(_armed);
            drop(query.relations);
            shared.checkin(conn);
        }
    }

    /// Parameter and result types of a query, from DuckDB's binder, without running it.
    pub async fn describe(&self, query: Query) -> Result<Described> {
        let shared = Arc::clone(&self.shared);
        self.pool.run(move || describe_on(&shared, query)).await
    }

    /// `describe` for work that already holds a pool slot (see `query_nested`). Call on a
    /// blocking thread.
    pub fn describe_nested(&self, query: Query) -> Result<Described> {
        describe_on(&self.shared, query)
    }

    /// Runs one server-generated statement that returns nothing (DDL, maintenance).
    pub async fn execute(&self, sql: String) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        self.pool
            .run(move || {
                shared.vet(&sql, SqlOrigin::Server, None, &[], &[])?;
                let conn = shared.checkout()?;
                let result = conn.execute_batch(&sql).map_err(|e| {
                    errors::map_duckdb_error(&e, SqlOrigin::Server, "running engine SQL", &shared.data_dir)
                });
                shared.checkin(conn);
                result
            })
            .await
    }

    /// Creates a table's file with one table `data` of the given column definitions (SQL the
    /// storage layer built from validated names and types). Call on a blocking thread.
    pub fn create_table_file(&self, file: &TableFile, columns_sql: &str) -> Result<()> {
        let shared = &self.shared;
        let lease = shared.attachments.lease(&shared.root, file, true)?;
        let conn = shared.checkout()?;
        let result = conn
            .execute_batch(&format!(
                "CREATE TABLE {} ({columns_sql}); CHECKPOINT \"{}\";",
                file.data_ref(),
                file.alias()
            ))
            .map_err(|e| errors::map_duckdb_error(&e, SqlOrigin::Server, "creating a table file", &shared.data_dir));
        shared.checkin(conn);
        drop(lease);
        if result.is_err() {
            let _ = shared.attachments.remove(&shared.root, file);
        }
        result
    }

    /// Writes everything committed to `file` into the file itself (no WAL left), so the file
    /// alone holds the table's state. Call on a blocking thread.
    pub fn checkpoint(&self, file: &TableFile) -> Result<()> {
        let shared = &self.shared;
        let _lease = shared.attachments.lease(&shared.root, file, false)?;
        let conn = shared.checkout()?;
        let result = conn.execute_batch(&format!("CHECKPOINT \"{}\"", file.alias())).map_err(|e| {
            errors::map_duckdb_error(&e, SqlOrigin::Server, "checkpointing a table file", &shared.data_dir)
        });
        shared.checkin(conn);
        result
    }

    /// A table file's size on disk (with its WAL).
    pub fn file_bytes(&self, file: &TableFile) -> i64 {
        file_bytes(&file.path(self.shared.attachments.tables_dir()))
    }

    /// Makes `to` a copy of `from` (checkpointed first, so the file alone holds every committed
    /// row): copy-on-write for a version a snapshot or a branch keeps. Call on a blocking thread.
    pub fn copy_table_file(&self, from: &TableFile, to: &TableFile) -> Result<()> {
        let shared = &self.shared;
        let lease = shared.attachments.lease(&shared.root, from, false)?;
        let conn = shared.checkout()?;
        let checkpointed = conn.execute_batch(&format!("CHECKPOINT \"{}\"", from.alias())).map_err(|e| {
            errors::map_duckdb_error(&e, SqlOrigin::Server, "checkpointing a table file", &shared.data_dir)
        });
        shared.checkin(conn);
        checkpointed?;
        let _ = shared.attachments.remove(&shared.root, to);
        let tables_dir = shared.attachments.tables_dir();
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
        self.shared.attachments.remove(&self.shared.root, file)
    }

    /// Runs statements against one table in a single transaction: all of them or none.
    /// `client_checks`: the statements derive from a client's, and DuckDB's parse of these
    /// checks must name only `file`, `reads` and allowed functions (see [`QueryCheck`]).
    /// Call on a blocking thread.
    pub fn write(
        &self,
        file: &TableFile,
        reads: &[TableFile],
        statements: &[(String, Vec<Param>)],
        client_checks: Option<&[QueryCheck]>,
        canceller: &Canceller,
    ) -> Result<WriteOutcome> {
        let shared = &self.shared;
        let mut allowed = reads.to_vec();
        allowed.push(file.clone());
        for (sql, _) in statements {
            match client_checks {
                Some(checks) => shared.vet(sql, SqlOrigin::User, Some(checks), &allowed, &[])?,
                None => shared.vet(sql, SqlOrigin::Server, None, &[], &[])?,
            }
        }
        let lease = shared.attachments.lease(&shared.root, file, false)?;
        let _read_leases = shared.lease_all(reads)?;
        let conn = shared.checkout()?;
        let _armed = canceller.arm(conn.interrupt_handle());
        let map = |e: duckdb::Error| errors::map_duckdb_error(&e, SqlOrigin::User, "writing a table", &shared.data_dir);
        let result = (|| {
            conn.execute_batch("BEGIN TRANSACTION").map_err(map)?;
            let mut affected = Vec::with_capacity(statements.len());
            for (sql, params) in statements {
                let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
                match conn.execute(sql, duckdb::params_from_iter(values)) {
                    Ok(n) => affected.push(n),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        return Err(map(e));
                    }
                }
            }
            if let Err(e) = conn.execute_batch("COMMIT") {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(map(e));
            }
            let row_count = count_rows(&conn, file).map_err(map)?;
            Ok(WriteOutcome {
                affected,
                row_count,
                byte_count: file_bytes(&file.path(shared.attachments.tables_dir())),
            })
        })();
        drop(_armed);
        shared.checkin(conn);
        drop(lease);
        result
    }

    /// The engine's data directory, canonical: paths in server SQL must start with it to pass
    /// DuckDB's `allowed_directories`.
    pub fn data_dir(&self) -> &Path {
        Path::new(&self.shared.data_dir)
    }

    /// The (name, type) of each column `select` answers, without running it (a file's header
    /// or a Parquet schema). Errors are the client's (a file that is not what it claims to be).
    /// Call on a blocking thread.
    pub fn describe_columns(&self, select: &str) -> Result<Vec<(String, String)>> {
        self.describe_select(&[], select, SqlOrigin::Server)
    }

    /// `describe_columns` of a query that reads table files (a view's query), holding their
    /// leases. Errors are the client's: the query is theirs. Call on a blocking thread.
    pub fn describe_reading(&self, reads: &[TableFile], select: &str) -> Result<Vec<(String, String)>> {
        self.describe_select(reads, select, SqlOrigin::User)
    }

    fn describe_select(&self, reads: &[TableFile], select: &str, origin: SqlOrigin) -> Result<Vec<(String, String)>> {
        let shared = &self.shared;
        shared.vet(select, origin, None, reads, &[])?;
        let described = format!("DESCRIBE\n{select}\n");
        shared.vet(&described, SqlOrigin::Server, None, &[], &[])?;
        let _leases = shared.lease_all(reads)?;
        let conn = shared.checkout()?;
        let result = (|| {
            let mut stmt = conn.prepare(&described)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            rows.collect::<duckdb::Result<Vec<_>>>()
        })()
        .map_err(|e| errors::map_duckdb_error(&e, SqlOrigin::User, "describing a query's columns", &shared.data_dir));
        shared.checkin(conn);
        result
    }

    /// Runs one statement of server SQL that reads `reads` (an export's `COPY … TO`), holding
    /// their leases; answers the statement's row count. Call on a blocking thread.
    pub fn run_reading(
        &self,
        reads: &[TableFile],
        sql: &str,
        params: &[Param],
        canceller: &Canceller,
    ) -> Result<usize> {
        let shared = &self.shared;
        shared.vet(sql, SqlOrigin::Server, None, &[], &[])?;
        let _leases = shared.lease_all(reads)?;
        let conn = shared.checkout()?;
        let armed = canceller.arm(conn.interrupt_handle());
        let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
        let result = conn
            .execute(sql, duckdb::params_from_iter(values))
            .map_err(|e| errors::map_duckdb_error(&e, SqlOrigin::User, "exporting a table", &shared.data_dir));
        drop(armed);
        shared.checkin(conn);
        result
    }

    /// Runs a small server query that reads `reads` and answers its rows as text (the SQL casts
    /// what it selects to VARCHAR): statistics, profiles. Call on a blocking thread.
    pub fn read_text_rows(&self, reads: &[TableFile], sql: &str, params: &[Param]) -> Result<Vec<Vec<Option<String>>>> {
        let shared = &self.shared;
        shared.vet(sql, SqlOrigin::Server, None, &[], &[])?;
        let _leases = shared.lease_all(reads)?;
        let conn = shared.checkout()?;
        let result = (|| {
            let mut stmt = conn.prepare(sql)?;
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
        shared.checkin(conn);
        result
    }

    /// Rows and bytes of a table. Call on a blocking thread.
    pub fn table_stats(&self, file: &TableFile) -> Result<(i64, i64)> {
        let shared = &self.shared;
        let _lease = shared.attachments.lease(&shared.root, file, false)?;
        let conn = shared.checkout()?;
        let rows = count_rows(&conn, file).map_err(|e| Error::internal("counting rows", e));
        shared.checkin(conn);
        Ok((rows?, file_bytes(&file.path(shared.attachments.tables_dir()))))
    }

    /// Removes table files the catalog does not reference; answers what it removed and which
    /// referenced files are missing. Run at start-up, before serving.
    pub fn recover(&self, referenced: &std::collections::HashSet<TableFile>) -> Result<(Vec<PathBuf>, Vec<TableFile>)> {
        self.shared.attachments.recover(referenced)
    }

    /// Table files attached right now.
    pub fn open_files(&self) -> usize {
        self.shared.attachments.open_count()
    }

    /// Detaches every table file (each is checkpointed as it closes).
    pub fn close_tables(&self) {
        self.shared.attachments.detach_all(&self.shared.root);
    }

    /// Bytes DuckDB holds in memory right now (from `duckdb_memory()`).
    pub async fn memory_usage(&self) -> Result<i64> {
        let shared = Arc::clone(&self.shared);
        self.pool
            .run(move || {
                let conn = shared.checkout()?;
                let result = conn
                    .query_row("SELECT COALESCE(SUM(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(|e| Error::internal("reading DuckDB memory", e));
                shared.checkin(conn);
                result
            })
            .await
    }
}

/// The error for a text of several statements where one is expected.
fn several_statements(count: usize) -> Error {
    Error::invalid(format!("cannot run {count} statements in one call; send them one at a time")).with_sqlstate("42601")
}

impl Shared {
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
        match self.parser.statement_count(sql) {
            Ok(1) => {}
            Ok(n) => return Err(several_statements(n)),
            Err(message) => return Err(errors::map_duckdb_message(&message, origin, "parsing", &self.data_dir)),
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

    fn lease_all(&self, files: &[TableFile]) -> Result<Vec<Lease>> {
        files.iter().map(|f| self.attachments.lease(&self.root, f, false)).collect()
    }

    fn schema_of_empty_run(&self, sql: &str, params: usize) -> Result<SchemaRef> {
        let conn = self.checkout()?;
        let result = (|| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM ({sql}) AS described LIMIT 0"))?;
            let arrow = stmt.query_arrow(duckdb::params_from_iter(vec![duckdb::types::Value::Null; params]))?;
            Ok::<_, duckdb::Error>(arrow.get_schema())
        })()
        .map_err(|e| Error::internal("describing a query", e));
        self.checkin(conn);
        result
    }

    fn checkout(&self) -> Result<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        self.root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_clone()
            .inspect(|conn| conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE))
            .map_err(|e| Error::internal("opening an engine connection", e))
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_CONNECTIONS && conn.is_autocommit() {
            idle.push(conn);
        }
    }
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
    }
}

/// Runs on a blocking thread: executes `query`, sends its schema, then its batches until the
/// result ends, fails, or the receiver goes away.
fn describe_on(shared: &Shared, query: Query) -> Result<Described> {
    let handles: Vec<u64> = query.relations.iter().map(|r| r.handle()).collect();
    shared.vet(&query.sql, query.origin, query.checks.as_deref(), &query.tables, &handles)?;
    let _leases = shared.lease_all(&query.tables)?;
    let mut described = shared.db.describe(&query.sql).map_err(|message| {
        errors::map_duckdb_message(&message, query.origin, "describing a query", &shared.data_dir)
    })?;
    // With a parameter DuckDB cannot type, its binder leaves the result unresolved; a read then
    // answers its schema when run over no rows with NULL parameters.
    if described.params.contains(&arrow::datatypes::DataType::Null)
        && let Ok(schema) = shared.schema_of_empty_run(&query.sql, described.params.len())
    {
        described.schema = schema;
    }
    drop(query.relations);
    Ok(described)
}

fn stream_query(
    shared: &Shared,
    conn: &Connection,
    query: &Query,
    schema_tx: oneshot::Sender<Result<SchemaRef>>,
    batch_tx: mpsc::Sender<Result<RecordBatch>>,
) {
    let map = |e: duckdb::Error| errors::map_duckdb_error(&e, query.origin, "running a query", &shared.data_dir);
    // Catalog queries repeat verbatim (sessions reuse relation handles) and DuckDB's prepare is
    // their costly step, so their prepared statements are kept per connection. Reads of table
    // files are prepared afresh: DuckDB plans with the statistics of the moment (compressed
    // sort keys among them), and a plan kept across another connection's write to the file can
    // return wrong values.
    let (mut cached, mut fresh);
    let stmt: &mut duckdb::Statement<'_> = if query.tables.is_empty() {
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
        .with_sqlstate("08P01")));
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
    if schema_tx.send(Ok(schema)).is_err() {
        return;
    }
    loop {
        match stmt.step() {
            Ok(Some(array)) => {
                if batch_tx.blocking_send(Ok(RecordBatch::from(&array))).is_err() {
                    return; // the client went away or stopped reading
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = batch_tx.blocking_send(Err(map(e)));
                return;
            }
        }
    }
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
