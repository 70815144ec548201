//! Workspace sandboxes: one DuckDB instance per workspace file (design.md R3), open while
//! something uses it, with no file system access at all, extensions off, its own memory,
//! thread and temp-disk limits, and its configuration locked before any user SQL runs.
//! Data crosses between the storage engine and a workspace as Arrow batches in memory.

use std::collections::{BTreeSet, HashMap};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use duckdb::Connection;
use tokio::sync::{mpsc, oneshot};

use super::errors::{self, SqlOrigin};
use super::raw::{Described, RawDatabase};
use super::storage_scan::{STORAGE_SCAN_FUNCTION, StorageAccess, StorageScanFunction, StorageSource};
use super::{Canceller, Engine, Param, Query, QueryStream, STREAM_BUFFER, to_duckdb_value};
use crate::error::{Error, ErrorKind, Result, SqlState};

/// Which workspace file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceFile {
    pub project_id: i64,
    pub branch_id: i64,
    pub workspace_id: i64,
}

impl WorkspaceFile {
    pub fn dir(&self, workspaces_dir: &Path) -> PathBuf {
        workspaces_dir
            .join(self.project_id.to_string())
            .join(self.branch_id.to_string())
            .join(format!("w{}", self.workspace_id))
    }
}

/// Limits every workspace instance runs with.
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    pub memory_limit: String,
    pub threads: usize,
    pub temp_limit: String,
    /// Bytes a single result may send before it is cut off.
    pub max_result_bytes: u64,
}

/// An open workspace instance. The connection closes before the database (see `Drop`).
pub(super) struct WorkspaceDb {
    root: ManuallyDrop<Mutex<Connection>>,
    storage: StorageAccess,
    /// Buckets exposed as attached in-memory catalogs of views (read_only_storage).
    exposed: Mutex<BTreeSet<String>>,
    _db: ManuallyDrop<RawDatabase>,
    file: WorkspaceFile,
    path: PathBuf,
    limits: SandboxLimits,
    registry: Arc<Registry>,
    /// Moves on after every statement that may change the catalog (any but a query), from any
    /// connection: a session's cached copy of the catalog is good while this has not moved.
    catalog_generation: AtomicU64,
    /// Moves on after every statement that may change the workspace's views or macros (any
    /// but a query or plain DML): the sessions' counts of them (`admit_on`) hold while it stays.
    definitions_generation: AtomicU64,
    /// The committed catalog as a session outside a transaction block last read it, with its
    /// generation: every such session sees the same, so one read serves them all (50 BI tools
    /// connecting at once read it once).
    committed_catalog: Mutex<Option<CachedCatalog>>,
    /// Where unqualified names are created and found first (see [`home_schema`]).
    home: &'static str,
}

#[cfg(test)]
mod length_check_tests {
    #[test]
    fn a_length_check_is_read_back_only_in_the_form_written() {
        assert_eq!(super::length_check("name", "(length(\"name\") <= 40)"), Some((40, false)));
        assert_eq!(super::length_check("c", "(char_length(c) <= 2)"), Some((2, true)));
        assert_eq!(super::length_check("a\"b", "(length(\"a\"\"b\") <= 3)"), Some((3, false)));
        assert_eq!(super::length_check("c", "(length(c || c) <= 2)"), None);
        assert_eq!(super::length_check("c", "(length(d) <= 2)"), None);
        assert_eq!(super::length_check("c", "(length(c) < 2)"), None);
    }
}

/// Moves the workspace's catalog generation on when dropped (after the statement it guards),
/// and, unless the statement only wrote rows, its definitions' generation.
struct CatalogChange(Arc<WorkspaceDb>, bool);

impl CatalogChange {
    /// For `sql`, which is not a query.
    fn of(db: &Arc<WorkspaceDb>, sql: &str) -> CatalogChange {
        let words = super::expansion::first_words(sql, 1);
        let rows_only = matches!(words.first().map(String::as_str), Some("insert" | "update" | "delete"));
        CatalogChange(Arc::clone(db), !rows_only)
    }
}

impl Drop for CatalogChange {
    fn drop(&mut self) {
        self.0.catalog_generation.fetch_add(1, Ordering::AcqRel);
        if self.1 {
            self.0.definitions_generation.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for WorkspaceDb {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, connection first; nothing uses them afterwards.
        unsafe {
            ManuallyDrop::drop(&mut self.root);
            ManuallyDrop::drop(&mut self._db);
        }
        // Only now is the file closed (checkpointed, its WAL gone): a new instance may open it.
        let mut state = self.registry.state.lock().unwrap_or_else(|p| p.into_inner());
        state.alive.remove(&self.file);
        self.registry.closed.notify_all();
    }
}

#[derive(Default)]
struct RegistryState {
    instances: HashMap<WorkspaceFile, Weak<WorkspaceDb>>,
    /// Files whose instance exists, including one that is closing (its last reference gone,
    /// its `Drop` still checkpointing): a file is never open in two instances (design.md R3).
    alive: std::collections::HashSet<WorkspaceFile>,
}

#[derive(Default)]
struct Registry {
    state: Mutex<RegistryState>,
    closed: std::sync::Condvar,
}

/// Which workspace instances are open, so a file is never opened twice.
pub(super) struct Workspaces {
    dir: PathBuf,
    registry: Arc<Registry>,
}

impl Workspaces {
    pub(super) fn new(dir: PathBuf) -> Workspaces {
        Workspaces { dir, registry: Arc::default() }
    }

    fn open(&self, file: WorkspaceFile, limits: &SandboxLimits) -> Result<Arc<WorkspaceDb>> {
        let mut state = self.registry.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(db) = state.instances.get(&file).and_then(Weak::upgrade) {
                return Ok(db);
            }
            if !state.alive.contains(&file) {
                break;
            }
            // The previous instance is closing: wait for it rather than open the file twice.
            state = self.registry.closed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let dir = file.dir(&self.dir);
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| Error::internal("creating a workspace directory", e))?;
        // The file is named after the workspace's login, so DuckDB names its catalog so too and
        // a name qualified with the database clients connect to (dbt's `"ws_1"."main"."t"`)
        // resolves. Workspaces made before were `workspace.duckdb`: renamed on first open.
        let path = dir.join(format!("ws_{}.duckdb", file.workspace_id));
        let before = dir.join("workspace.duckdb");
        if before.exists() && !path.exists() {
            let rename = |from: &Path, to: &Path| {
                std::fs::rename(from, to).map_err(|e| Error::internal("renaming a workspace's file", e))
            };
            let wal = before.with_extension("duckdb.wal");
            if wal.exists() {
                rename(&wal, &path.with_extension("duckdb.wal"))?;
            }
            rename(&before, &path)?;
        }
        let settings = [
            ("memory_limit", limits.memory_limit.clone()),
            ("threads", limits.threads.max(1).to_string()),
            ("temp_directory", tmp.to_string_lossy().into_owned()),
            ("max_temp_directory_size", limits.temp_limit.clone()),
            ("autoload_known_extensions", "false".into()),
            ("autoinstall_known_extensions", "false".into()),
            ("allow_community_extensions", "false".into()),
            ("enable_external_access", "false".into()),
            ("default_null_order", "nulls_last_on_asc_first_on_desc".into()),
            // a PIVOT's columns are the product of its value lists, found at run time when not
            // written (40 × 40 × 40 columns planned for 11 s): bounded here, see ADR 0010
            ("pivot_limit", "5000".into()),
        ];
        let db = RawDatabase::open_path(&path, &settings)
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("cannot open the workspace: {e}")))?;
        // SAFETY: `db` outlives every connection made from it (see `WorkspaceDb`'s field order).
        let root =
            unsafe { Connection::open_from_raw(db.handle()) }.map_err(|e| Error::internal("opening a workspace", e))?;
        let home = home_schema(&root).map_err(|e| Error::internal("opening a workspace", e))?;
        {
            // SAFETY: `db` is open and outlives this connection, closed at the end of the block.
            let registrar = unsafe { super::ffi::RawConn::connect(db.handle()) }
                .map_err(|e| Error::internal("opening a workspace", e))?;
            super::numeric::register(&registrar).map_err(|e| Error::internal("opening a workspace", e))?;
            super::clock::register(&registrar).map_err(|e| Error::internal("opening a workspace", e))?;
            super::jsonb_functions::register(&registrar).map_err(|e| Error::internal("opening a workspace", e))?;
            super::intervals::register(&registrar).map_err(|e| Error::internal("opening a workspace", e))?;
        }
        // (the spill limit again, on the live instance: see `Instance::open`)
        root.execute_batch(&format!(
            "SET GLOBAL TimeZone = 'UTC'; SET GLOBAL max_temp_directory_size = '{}'; {}; SET lock_configuration = true",
            limits.temp_limit.replace('\'', ""),
            super::POSTGRES_ARITHMETIC
        ))
        .map_err(|e| Error::internal("locking a workspace's configuration", e))?;
        let storage = StorageAccess::default();
        root.register_table_function_with_extra_info::<StorageScanFunction, _>(STORAGE_SCAN_FUNCTION, &storage)
            .map_err(|e| Error::internal("opening a workspace", e))?;
        let db = Arc::new(WorkspaceDb {
            root: ManuallyDrop::new(Mutex::new(root)),
            storage,
            exposed: Mutex::new(BTreeSet::new()),
            _db: ManuallyDrop::new(db),
            file,
            path,
            limits: limits.clone(),
            registry: Arc::clone(&self.registry),
            catalog_generation: AtomicU64::new(0),
            definitions_generation: AtomicU64::new(0),
            committed_catalog: Mutex::new(None),
            home,
        });
        state.instances.insert(file, Arc::downgrade(&db));
        state.instances.retain(|_, w| w.strong_count() > 0);
        state.alive.insert(file);
        Ok(db)
    }

    /// Whether anything holds the workspace open (or its instance is still closing).
    pub(super) fn is_open(&self, file: &WorkspaceFile) -> bool {
        self.registry.state.lock().unwrap_or_else(|p| p.into_inner()).alive.contains(file)
    }
}

/// The schema where a workspace's unqualified names are created and found first: `public`, as
/// in PostgreSQL, made when the workspace first opens. A workspace made before, whose objects
/// are in DuckDB's `main`, keeps `main` (its names, loads and unloads stay where they were).
fn home_schema(conn: &Connection) -> duckdb::Result<&'static str> {
    let (public, legacy): (bool, bool) = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM duckdb_schemas() WHERE database_name = current_database() \
           AND schema_name = 'public'), \
         EXISTS (SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() \
           AND schema_name = 'main' AND NOT internal UNION ALL SELECT 1 FROM duckdb_views() \
           WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if !public && legacy {
        return Ok("main");
    }
    if !public {
        conn.execute_batch("CREATE SCHEMA public")?;
    }
    Ok("public")
}

/// A connection to a workspace instance that keeps the instance alive: the instance (and its
/// file) cannot close while any of its connections is open.
pub(super) struct WsConnection {
    // Field order is drop order: the connection first.
    conn: Connection,
    _db: Arc<WorkspaceDb>,
}

impl std::ops::Deref for WsConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl WorkspaceDb {
    fn connect(self: &Arc<Self>) -> Result<WsConnection> {
        let conn = self
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_clone()
            .map_err(|e| Error::internal("connecting to a workspace", e))?;
        // DuckDB keeps `main` on the path after the ones set, so a name in it is still found.
        // A user may have dropped `public`: the connection then finds names in `main`, as
        // DuckDB does by default (the next open of the workspace makes `public` again).
        if self.home != "main" {
            let _ = conn.execute_batch(&format!("SET search_path = '{}'", self.home));
        }
        Ok(WsConnection { conn, _db: Arc::clone(self) })
    }

    /// Bytes the data takes: blocks in use (dropped objects free theirs) and the WAL.
    pub(super) fn bytes(&self) -> i64 {
        let wal = std::fs::metadata(self.path.with_extension("duckdb.wal")).map(|m| m.len() as i64).unwrap_or(0);
        let used = self
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .query_row("SELECT (used_blocks * block_size)::BIGINT FROM pragma_database_size() WHERE database_name = current_database()", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or_else(|_| std::fs::metadata(&self.path).map(|m| m.len() as i64).unwrap_or(0));
        used + wal
    }
}

/// A workspace's schemas, tables and views (see [`Engine::workspace_catalog`]).
#[derive(Debug, Clone, Default)]
pub struct WorkspaceCatalog {
    pub schemas: Vec<WorkspaceSchema>,
    pub relations: Vec<WorkspaceRelation>,
    /// The workspace's home schema (see [`home_schema`]).
    pub home: &'static str,
}

impl WorkspaceCatalog {
    /// The table or view `schema.name` (unqualified: in the home schema, else in `main`),
    /// matched as DuckDB matches names, without regard to case.
    pub fn find(&self, schema: Option<&str>, name: &str) -> Option<&WorkspaceRelation> {
        let in_schema = |schema: &str| {
            self.relations.iter().find(|r| {
                r.name.eq_ignore_ascii_case(name)
                    && self.schemas.iter().any(|s| s.oid == r.schema_oid && s.name.eq_ignore_ascii_case(schema))
            })
        };
        match schema {
            Some(schema) => in_schema(schema),
            None => in_schema(self.home).or_else(|| in_schema("main")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkspaceSchema {
    /// DuckDB's oid of the schema.
    pub oid: i64,
    pub name: String,
    pub comment: String,
}

#[derive(Debug, Clone)]
pub struct WorkspaceRelation {
    /// DuckDB's oid of the table or view: stable while the workspace is open.
    pub oid: i64,
    pub schema_oid: i64,
    pub name: String,
    /// A view's `CREATE VIEW` text; `None` for a table.
    pub view_sql: Option<String>,
    /// DuckDB's estimate of a table's rows.
    pub rows: i64,
    pub comment: String,
    pub columns: Vec<WorkspaceColumn>,
    pub primary_key: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WorkspaceColumn {
    pub name: String,
    /// DuckDB's type, e.g. `DECIMAL(12,2)`, `VARCHAR[]`.
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
}

/// The workspace's own schemas (`main`, marked internal by DuckDB, when it is the home schema or
/// holds objects), then each attached catalog's `main` under the catalog's name (read-only
/// storage). `?` is the home schema.
const WORKSPACE_SCHEMAS: &str = "SELECT oid, CASE WHEN database_name = current_database() THEN schema_name \
     ELSE database_name END, coalesce(comment, '') FROM duckdb_schemas() \
     WHERE (database_name = current_database() AND (NOT internal OR (schema_name = 'main' AND (? = 'main' \
           OR oid IN (SELECT schema_oid FROM duckdb_tables() UNION ALL SELECT schema_oid FROM duckdb_views() \
                      WHERE NOT internal))))) \
        OR (database_name NOT IN (current_database(), 'system', 'temp') AND schema_name = 'main') \
     ORDER BY 2";

const WORKSPACE_RELATIONS: &str = "SELECT table_oid, schema_oid, table_name, NULL::VARCHAR, estimated_size::BIGINT, \
     coalesce(comment, '') FROM duckdb_tables() WHERE NOT internal AND NOT temporary \
     UNION ALL SELECT view_oid, schema_oid, view_name, sql, 0, coalesce(comment, '') FROM duckdb_views() \
     WHERE NOT internal AND NOT temporary ORDER BY 3";

const WORKSPACE_COLUMNS: &str = "SELECT table_oid, column_name, data_type, is_nullable, column_default \
     FROM duckdb_columns() WHERE NOT internal ORDER BY table_oid, column_index";

const WORKSPACE_PRIMARY_KEYS: &str = "SELECT table_oid, array_to_string(constraint_column_names, chr(1)) \
     FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'";

const WORKSPACE_LENGTH_CHECKS: &str = "SELECT table_oid, constraint_column_names[1], expression \
     FROM duckdb_constraints() WHERE constraint_type = 'CHECK' AND len(constraint_column_names) = 1";

/// The declared length a CHECK of one column keeps, as DuckDB prints it: `(length(c) <= n)`
/// for `VARCHAR(n)`, `(char_length(c) <= n)` for `CHAR(n)` (whether fixed).
fn length_check(column: &str, expression: &str) -> Option<(u32, bool)> {
    let inner = expression.strip_prefix('(')?.strip_suffix(')')?;
    let (call, length) = inner.rsplit_once(") <= ")?;
    let length: u32 = length.trim().parse().ok()?;
    let (argument, fixed) = match call.strip_prefix("length(") {
        Some(argument) => (argument, false),
        None => (call.strip_prefix("char_length(")?, true),
    };
    let named = match argument.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => argument.to_owned(),
    };
    (named == column).then_some((length, fixed))
}

/// A catalog as read, with the catalog generation it was read at.
type CachedCatalog = (u64, Arc<WorkspaceCatalog>);

/// One client session's connection to a workspace: its own transaction state.
#[derive(Clone)]
pub struct WorkspaceConn {
    // Field order is drop order: the connection closes before the instance can.
    conn: Arc<Mutex<WsConnection>>,
    db: Arc<WorkspaceDb>,
    /// The catalog as this connection last read it, with the generation it was read at.
    catalog: Arc<Mutex<Option<CachedCatalog>>>,
    /// The session's statement runs inside a transaction block (where its own uncommitted
    /// objects are in its catalog, which it must then read itself).
    in_block: Arc<AtomicBool>,
    /// What the views this connection sees stand for where a statement names them, with the
    /// catalog generation they were read at (engine/expansion.rs).
    views: Arc<Mutex<Option<CachedViews>>>,
}

type CachedViews = (u64, Arc<super::parser::WorkspaceNames>);

/// Refuses a statement DuckDB would multiply past the bound when binding it on `conn`: the
/// views the connection sees (its temporary ones included) count for what they stand for,
/// read again when the workspace's catalog has changed. Runs on a blocking thread.
fn admit_on(
    parser: &super::DuckParser,
    conn: &WsConnection,
    db: &WorkspaceDb,
    views: &Mutex<Option<CachedViews>>,
    sql: &str,
) -> Result<()> {
    let generation = db.definitions_generation.load(Ordering::Acquire);
    let cached = views.lock().unwrap_or_else(|p| p.into_inner()).clone().filter(|(at, _)| *at == generation);
    let weights = match cached {
        Some((_, weights)) => weights,
        None => {
            let read = (|| {
                let mut stmt = conn.prepare("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal")?;
                let views = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<duckdb::Result<Vec<_>>>()?;
                // (a workspace's own macros: made before workspaces refused them; the server's
                // own, which copy nothing, are known already)
                let mut stmt = conn.prepare(
                    "SELECT function_name, CAST(parameters AS VARCHAR), macro_definition FROM duckdb_functions() \
                     WHERE function_type = 'macro' AND NOT internal AND macro_definition IS NOT NULL \
                     AND NOT starts_with(function_name, 'duckstore_') AND function_name NOT IN ('to_regtype', 'pg_get_userbyid')",
                )?;
                let macros = stmt
                    .query_map([], |r| {
                        let params: String = r.get(1)?;
                        let params = params
                            .trim_matches(|c| c == '[' || c == ']')
                            .split(',')
                            .map(|p| p.trim().to_owned())
                            .filter(|p| !p.is_empty())
                            .collect();
                        Ok((r.get::<_, String>(0)?, params, r.get::<_, String>(2)?))
                    })?
                    .collect::<duckdb::Result<Vec<_>>>()?;
                // (the columns of each table and view: what `*` over it answers)
                let mut stmt = conn.prepare(
                    "SELECT table_name, count(*)::BIGINT FROM duckdb_columns() WHERE NOT internal GROUP BY table_name",
                )?;
                let widths = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?.to_lowercase(), r.get::<_, i64>(1)?.max(1) as u64)))?
                    .collect::<duckdb::Result<HashMap<_, _>>>()?;
                Ok::<_, duckdb::Error>((views, macros, widths))
            })();
            match read {
                Ok((listed, macros, widths)) => {
                    let weights = Arc::new(parser.workspace_names(&listed, macros, widths)?);
                    *views.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, Arc::clone(&weights)));
                    weights
                }
                // A transaction an error aborted lists nothing, and binds nothing until it
                // ends (its ROLLBACK must run): the views as last listed stand.
                Err(_) => views.lock().unwrap_or_else(|p| p.into_inner()).clone().map(|(_, w)| w).unwrap_or_default(),
            }
        }
    };
    parser
        .admit_in(sql, &weights)
        .map_err(|m| errors::map_duckdb_message(&m, SqlOrigin::User, "parsing workspace SQL", ""))
}

impl Drop for WorkspaceConn {
    fn drop(&mut self) {
        // Closing the connection (and, for the last user, checkpointing and closing the
        // instance) is DuckDB work: keep it off the async threads.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (db, conn) = (Arc::clone(&self.db), Arc::clone(&self.conn));
            handle.spawn_blocking(move || drop((conn, db)));
        }
    }
}

impl WorkspaceConn {
    /// The schema where unqualified names are created and found first (see [`home_schema`]).
    pub fn home_schema(&self) -> &'static str {
        self.db.home
    }

    /// The home schema as a DuckDB search path, qualified with the workspace's catalog (a bare
    /// name would be looked up in whatever catalog the session's path moved to).
    pub fn home_path(&self) -> String {
        let catalog = self.db.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        format!("{}.{}", quote(&catalog), quote(self.db.home))
    }

    /// Whether the statement the session runs now is inside a transaction block.
    pub fn set_in_block(&self, in_block: bool) {
        self.in_block.store(in_block, Ordering::Release);
    }

    pub fn file(&self) -> WorkspaceFile {
        self.db.file
    }

    /// Bytes a single result of this workspace may send.
    pub fn max_result_bytes(&self) -> u64 {
        self.db.limits.max_result_bytes
    }
}

/// A write to a workspace at its size limit.
fn size_limit_reached(size_limit: i64) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        format!("the workspace has reached its size limit ({size_limit} bytes); drop objects to write again"),
    )
    .with_sqlstate(SqlState::DiskFull)
}

/// A workspace's result past its limit.
pub(super) fn result_too_large(max_bytes: u64) -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        format!("the result is larger than a workspace may send ({max_bytes} bytes); add a LIMIT or aggregate"),
    )
    .with_sqlstate(SqlState::ProgramLimitExceeded)
}

/// What a workspace statement answered.
pub enum WorkspaceOutcome {
    Rows(QueryStream),
    /// A statement without rows: how many it changed (DML), if DuckDB says.
    Done(usize),
}

/// Splits SQL text into statements at semicolons outside quotes, dollar quotes and comments.
pub(crate) fn split_statements(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                // $tag$ … $tag$
                let tag_end = bytes[i + 1..].iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
                if let Some(len) = tag_end
                    && bytes.get(i + 1 + len) == Some(&b'$')
                {
                    let tag = &sql[i..i + len + 2];
                    if let Some(end) = sql[i + len + 2..].find(tag) {
                        i += len + 2 + end + tag.len() - 1;
                    }
                }
            }
            b';' => {
                let statement = sql[start..i].trim();
                if !statement.is_empty() {
                    out.push(statement.to_owned());
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let rest = sql[start.min(sql.len())..].trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// Table functions and pragmas that change an instance's logging, profiling or shutdown
/// behaviour, which `lock_configuration` does not cover: refused in a workspace (storage
/// sessions reach no such function at all). Matched in the statement's text, so no spelling
/// of a call gets past.
const CONFIGURING_FUNCTIONS: &[&str] = &[
    "enable_logging",
    "disable_logging",
    "truncate_duckdb_logs",
    "enable_profiling",
    "disable_profiling",
    "enable_profile",
    "disable_profile",
    "profiling_output",
    "profile_output",
    "enable_checkpoint_on_shutdown",
    "disable_checkpoint_on_shutdown",
    "copy_database",
    "import_database",
    "export_database",
];

/// Table functions that run SQL built at run time, past every check of the text
/// (`query('SELECT * FROM enable_' || 'logging(…)')` turned logging to a file on, and the
/// instance's close then aborted the process): refused in a workspace.
const DYNAMIC_SQL_FUNCTIONS: &[&str] = &["query", "query_table", "json_execute_serialized_sql"];

/// The first of `names` called in `lower` (lower-cased SQL): the name as a whole word, then
/// only spaces, comments or a closing quote before `(`. Strings are not told apart, so a
/// string holding such a call counts too: it errs on the side of refusing.
fn calls_any<'a>(lower: &str, names: &[&'a str]) -> Option<&'a str> {
    let bytes = lower.as_bytes();
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    for name in names {
        for (at, _) in lower.match_indices(name) {
            if at > 0 && word_byte(bytes[at - 1]) {
                continue;
            }
            let mut i = at + name.len();
            if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
            }
            loop {
                match bytes.get(i..) {
                    Some([b, ..]) if b.is_ascii_whitespace() => i += 1,
                    Some([b'/', b'*', ..]) => i = block_comment_end(bytes, i),
                    Some([b'-', b'-', ..]) => i = lower[i..].find('\n').map_or(bytes.len(), |e| i + e + 1),
                    Some([b'(', ..]) => return Some(name),
                    _ => break,
                }
            }
        }
    }
    None
}

/// A session's connection for one of its statements. Rows a statement has not finished sending
/// (a portal suspended at its row limit, a result the client stopped reading) hold it; waiting
/// for them without a bound would hold a job slot of the shared pool forever, so after a short
/// wait the statement is refused instead.
fn lock_session(conn: &Mutex<WsConnection>) -> Result<std::sync::MutexGuard<'_, WsConnection>> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    loop {
        match conn.try_lock() {
            Ok(guard) => return Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if started.elapsed() < PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    "this session's previous result is still open; read it to its end or close it first",
                )
                .with_sqlstate(SqlState::ObjectNotInPrerequisiteState));
            }
        }
    }
}

/// Where the block comment that opens at `start` ends (past its `*/`; the text's end when it
/// does not): block comments nest, as in DuckDB's (PostgreSQL's) grammar, so `/* /* */ */` is
/// one comment.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Splits `text` into statements, checked against DuckDB's own split, and classifies each.
fn classify_statements(parser: &super::DuckParser, text: &str) -> Result<Vec<WorkspaceStatement>> {
    let refuse_split = || {
        metrics::counter!("duckstore_security_refusals_total", "check" => "statement_split").increment(1);
        Error::invalid("the statements of this text cannot be told apart unambiguously; send them one at a time")
            .with_sqlstate(SqlState::SyntaxError)
    };
    let pieces = split_statements(text);
    if pieces.is_empty() {
        return Ok(vec![]);
    }
    let parse_error = |m: String| errors::map_duckdb_message(&m, SqlOrigin::User, "parsing workspace SQL", "");
    if parser.statement_count(text).map_err(parse_error)? != pieces.len() {
        return Err(refuse_split());
    }
    let lower = text.to_ascii_lowercase();
    if let Some(f) = CONFIGURING_FUNCTIONS.iter().find(|f| lower.contains(*f)) {
        return Err(Error::permission_denied(format!("{f} is not allowed in a workspace")));
    }
    if let Some(f) = calls_any(&lower, DYNAMIC_SQL_FUNCTIONS) {
        metrics::counter!("duckstore_security_refusals_total", "check" => "dynamic_sql").increment(1);
        return Err(Error::permission_denied(format!(
            "{f}() is not allowed in a workspace: it runs SQL built at run time; write the statement itself"
        )));
    }
    pieces
        .into_iter()
        .map(|sql| {
            if parser.statement_count(&sql).map_err(parse_error)? != 1 {
                return Err(refuse_split());
            }
            if creates_macro(&sql) {
                return Err(Error::invalid(
                    "CREATE MACRO and CREATE FUNCTION are not available in a workspace: DuckDB copies a macro's body \
                     and arguments into every call, which lets a statement grow without bound; use a view or a \
                     common table expression",
                )
                .with_sqlstate(SqlState::FeatureNotSupported));
            }
            // DuckDB serializes queries only: a text it serializes only reads.
            let reads = match parser.query_tree(&sql) {
                Ok(tree) => {
                    super::parser::drop_flat(tree);
                    true
                }
                Err(m) if m.contains("statement is too complex") => return Err(parse_error(m)),
                Err(_) => false,
            };
            let first = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let frees = ["DROP", "DELETE", "TRUNCATE", "ROLLBACK", "ABORT", "COMMIT", "END", "CHECKPOINT", "VACUUM"]
                .contains(&first.trim_end_matches(';'));
            Ok(WorkspaceStatement { sql, frees_or_reads: reads || frees, reads })
        })
        .collect()
}

/// Whether a statement creates a DuckDB macro (`CREATE [OR REPLACE] [TEMP] MACRO|FUNCTION`).
fn creates_macro(sql: &str) -> bool {
    let words = super::expansion::first_words(sql, 6);
    let mut rest = words.iter().map(String::as_str).skip_while(|w| *w == "create");
    words.first().map(String::as_str) == Some("create")
        && rest
            .find(|w| !["or", "replace", "temp", "temporary"].contains(w))
            .is_some_and(|w| w == "macro" || w == "function")
}

/// One statement of a workspace text, as DuckDB split it.
#[derive(Debug, Clone)]
pub struct WorkspaceStatement {
    pub sql: String,
    /// DuckDB reads it as a query, or it only frees space: it may run over the size limit.
    pub frees_or_reads: bool,
    /// DuckDB reads it as a query: it changes no catalog.
    pub reads: bool,
}

/// The text after any leading whitespace and comments (`-- …` and `/* … */`, nested as DuckDB
/// nests them): where a statement's first word is.
pub fn after_leading_comments(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    loop {
        if let Some(line) = rest.strip_prefix("--") {
            rest = line.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if rest.starts_with("/*") {
            let mut depth = 0usize;
            let mut end = rest.len();
            let bytes = rest.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                if bytes[i] == b'/' && bytes[i + 1] == b'*' {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            rest = rest[end..].trim_start();
        } else {
            return rest;
        }
    }
}

/// Whether a workspace statement answers rows (a query, `… RETURNING`) rather than a count, from
/// its first keyword (workspace SQL is any DuckDB SQL, so it is not parsed here).
pub fn returns_rows(sql: &str) -> bool {
    let sql = after_leading_comments(sql);
    let word: String = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    let upper = sql.to_ascii_uppercase();
    match word.as_str() {
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => upper.contains("RETURNING"),
        "SELECT" | "WITH" | "FROM" | "VALUES" | "TABLE" | "SHOW" | "DESCRIBE" | "EXPLAIN" | "SUMMARIZE" | "PIVOT"
        | "UNPIVOT" | "PRAGMA" | "CALL" => true,
        _ => false,
    }
}

/// DDL for a table with the Arrow schema's columns (workspace loads).
fn column_type(t: &DataType) -> Result<String> {
    Ok(match t {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BLOB".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => "TIMESTAMPTZ".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Interval(_) => "INTERVAL".into(),
        DataType::FixedSizeBinary(16) => "UUID".into(),
        other => {
            return Err(Error::unsupported(format!("a column of type {other} cannot be loaded into a workspace")));
        }
    })
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Engine {
    fn workspace_map(&self, e: duckdb::Error, context: &str) -> Error {
        errors::map_duckdb_error(&e, SqlOrigin::User, context, "")
    }

    /// A session's connection to a workspace (its instance opened if needed).
    pub async fn workspace_connect(&self, file: WorkspaceFile, limits: SandboxLimits) -> Result<WorkspaceConn> {
        let workspaces = Arc::clone(&self.workspaces);
        self.pool
            .run(move || {
                let db = workspaces.open(file, &limits)?;
                let conn = db.connect()?;
                Ok(WorkspaceConn {
                    db,
                    conn: Arc::new(Mutex::new(conn)),
                    catalog: Arc::default(),
                    in_block: Arc::default(),
                    views: Arc::default(),
                })
            })
            .await
    }

    /// DuckDB's search path of a session (`path` in DuckDB's form): a setting of the session,
    /// not a write, so a workspace at its size limit takes it too; its errors are the client's.
    pub async fn workspace_set_search_path(&self, ws: &WorkspaceConn, path: String) -> Result<()> {
        let conn = Arc::clone(&ws.conn);
        let engine = self.clone();
        self.pool
            .run(move || {
                let conn = lock_session(&conn)?;
                conn.execute_batch(&format!("SET search_path = '{}'", path.replace('\'', "''")))
                    .map_err(|e| engine.workspace_map(e, "setting the search path"))
            })
            .await
    }

    /// Runs the server's own statements on a session's connection (its temporary macros, which
    /// take no space in the workspace's file and change no catalog other sessions read).
    pub async fn workspace_session_setup(&self, ws: &WorkspaceConn, statements: Vec<String>) -> Result<()> {
        let conn = Arc::clone(&ws.conn);
        self.pool
            .run(move || {
                let conn = lock_session(&conn)?;
                for sql in &statements {
                    conn.execute_batch(sql).map_err(|e| Error::internal("preparing a workspace session", e))?;
                }
                Ok(())
            })
            .await
    }

    /// Gives a workspace read-only access to storage: `source` answers its scans, and each
    /// bucket becomes an attached in-memory catalog of views, so `"in.c-sales"."orders"` reads
    /// the table's rows at query time. The list of tables is the one of this call (a session's
    /// start); buckets and tables gone since are removed.
    pub async fn workspace_expose_storage(
        &self,
        ws: &WorkspaceConn,
        source: Arc<dyn StorageSource>,
        tables: Vec<(String, Vec<String>)>,
    ) -> Result<()> {
        let db = Arc::clone(&ws.db);
        let engine = self.clone();
        self.pool
            .run(move || {
                db.storage.install(source);
                let _change = CatalogChange(Arc::clone(&db), true);
                let map = |e: duckdb::Error| engine.workspace_map(e, "exposing storage to a workspace");
                let conn = db.connect()?;
                let mut exposed = db.exposed.lock().unwrap_or_else(|p| p.into_inner());
                let wanted: BTreeSet<String> = tables.iter().map(|(b, _)| b.clone()).collect();
                for gone in exposed.difference(&wanted) {
                    conn.execute_batch(&format!("DETACH DATABASE IF EXISTS {}", quote(gone))).map_err(map)?;
                }
                for (bucket, names) in &tables {
                    conn.execute_batch(&format!("ATTACH IF NOT EXISTS ':memory:' AS {}", quote(bucket)))
                        .map_err(map)?;
                    let mut stmt = conn
                        .prepare("SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal")
                        .map_err(map)?;
                    let present: BTreeSet<String> = stmt
                        .query_map([bucket], |r| r.get(0))
                        .map_err(map)?
                        .collect::<duckdb::Result<_>>()
                        .map_err(map)?;
                    for old in present.iter().filter(|v| !names.contains(v)) {
                        conn.execute_batch(&format!("DROP VIEW IF EXISTS {}.main.{}", quote(bucket), quote(old)))
                            .map_err(map)?;
                    }
                    // A view is (re)created at every session start: its columns follow the
                    // table's schema as of then.
                    for name in names {
                        let created = conn.execute_batch(&format!(
                            "CREATE OR REPLACE VIEW {}.main.{} AS SELECT * FROM {STORAGE_SCAN_FUNCTION}({}, {})",
                            quote(bucket),
                            quote(name),
                            literal(bucket),
                            literal(name)
                        ));
                        // One table the scan cannot pass (a storage view of a MAP column) must
                        // not end the login: its view answers why when it is read.
                        if let Err(e) = created {
                            let why = map(e);
                            conn.execute_batch(&format!(
                                "CREATE OR REPLACE VIEW {}.main.{} AS SELECT error({}) AS unreadable",
                                quote(bucket),
                                quote(name),
                                literal(why.message())
                            ))
                            .map_err(map)?;
                        }
                    }
                }
                *exposed = wanted;
                Ok(())
            })
            .await
    }

    /// Whether `name` is one of DuckDB's settings (see `DuckParser::is_engine_setting`).
    pub fn is_engine_setting(&self, name: &str) -> bool {
        self.shared.parser.is_engine_setting(name)
    }

    /// Whether DuckDB reads two query texts alike (see `DuckParser::reads_alike`).
    pub async fn reads_alike(&self, a: String, b: String) -> bool {
        let parser = Arc::clone(&self.shared.parser);
        self.pool.run(move || Ok(parser.reads_alike(&a, &b))).await.unwrap_or(false)
    }

    /// A workspace text's statements, split where DuckDB splits it: each piece must be exactly
    /// one statement to DuckDB and DuckDB must read as many in the whole text, or the text is
    /// refused (the split cannot be trusted). Statements that change DuckDB's logging or
    /// profiling are refused.
    pub async fn workspace_statements(&self, text: String) -> Result<Vec<WorkspaceStatement>> {
        let parser = Arc::clone(&self.shared.parser);
        self.pool.run(move || classify_statements(&parser, &text)).await
    }

    /// Runs one statement of workspace SQL on the session's connection; rows stream back.
    pub async fn workspace_execute(
        &self,
        ws: &WorkspaceConn,
        sql: String,
        params: Vec<Param>,
        size_limit: i64,
        canceller: &Canceller,
    ) -> Result<WorkspaceOutcome> {
        let parser = Arc::clone(&self.shared.parser);
        let text = sql.clone();
        let mut statements = self.pool.run(move || classify_statements(&parser, &text)).await?;
        if statements.len() != 1 {
            return Err(Error::invalid("cannot insert multiple commands into a prepared statement")
                .with_sqlstate(SqlState::SyntaxError));
        }
        let statement = statements.remove(0);
        if !statement.frees_or_reads {
            let db = Arc::clone(&ws.db);
            let used = self.pool.run(move || Ok(db.bytes())).await?;
            if used >= size_limit {
                return Err(size_limit_reached(size_limit));
            }
        }
        let conn = Arc::clone(&ws.conn);
        let canceller = canceller.clone();
        let max_bytes = ws.db.limits.max_result_bytes;
        // anything but a query may change the catalog: sessions' copies go stale when it ends
        let change = (!statement.reads).then(|| CatalogChange::of(&ws.db, &sql));
        let (parser, db, views) = (Arc::clone(&self.shared.parser), Arc::clone(&ws.db), Arc::clone(&ws.views));
        if !returns_rows(&sql) {
            let engine = self.clone();
            return self
                .pool
                .run_for(Some(ws.db.file.project_id), move || {
                    let _change = change;
                    let conn = lock_session(&conn)?;
                    admit_on(&parser, &conn, &db, &views, &sql)?;
                    let _armed = canceller.arm(conn.interrupt_handle())?;
                    let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
                    let changed = conn.execute(&sql, duckdb::params_from_iter(values));
                    changed.map(WorkspaceOutcome::Done).map_err(|e| engine.workspace_map(e, "running workspace SQL"))
                })
                .await;
        }
        let (schema_tx, schema_rx) = oneshot::channel::<Result<SchemaRef>>();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        let engine = self.clone();
        self.pool
            .spawn_for(Some(ws.db.file.project_id), move || {
                let _change = change;
                let conn = match lock_session(&conn) {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = schema_tx.send(Err(e));
                        return;
                    }
                };
                if let Err(e) = admit_on(&parser, &conn, &db, &views, &sql) {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
                let _armed = match canceller.arm(conn.interrupt_handle()) {
                    Ok(armed) => armed,
                    Err(e) => {
                        let _ = schema_tx.send(Err(e));
                        return;
                    }
                };
                let map = |e: duckdb::Error| engine.workspace_map(e, "running workspace SQL");
                let mut stmt = match conn.prepare(&sql) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = schema_tx.send(Err(map(e)));
                        return;
                    }
                };
                let values: Vec<_> = params.iter().map(to_duckdb_value).collect();
                let schema = match stmt.stream_arrow(duckdb::params_from_iter(values)) {
                    Ok(arrow) => arrow.get_schema(),
                    Err(e) => {
                        let _ = schema_tx.send(Err(map(e)));
                        return;
                    }
                };
                if schema_tx.send(Ok(schema)).is_err() {
                    return;
                }
                let mut sent = 0u64;
                loop {
                    match stmt.step() {
                        Ok(Some(array)) => {
                            let batch = RecordBatch::from(&array);
                            sent += batch.get_array_memory_size() as u64;
                            if sent > max_bytes {
                                let _ = batch_tx.blocking_send(Err(result_too_large(max_bytes)));
                                return;
                            }
                            if batch_tx.blocking_send(Ok(batch)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = batch_tx.blocking_send(Err(map(e)));
                            return;
                        }
                    }
                }
            })
            .await?;
        let schema = schema_rx
            .await
            .map_err(|_| Error::internal("running workspace SQL", "the worker stopped before answering"))??;
        Ok(WorkspaceOutcome::Rows(QueryStream {
            schema,
            batches: batch_rx,
            held: Vec::new(),
            data_epoch: None,
            repeatable: false,
            completed: Default::default(),
        }))
    }

    /// Parameter and result types of a workspace statement, without running it. Queries are
    /// described on the session's own connection (they may read tables its open transaction
    /// made), as an empty run; other statements by DuckDB's binder.
    /// `search_path`: the session's, in DuckDB's form (a connection of the instance's own
    /// resolves the names of statements that are not queries).
    pub async fn workspace_describe(&self, ws: &WorkspaceConn, sql: String, search_path: String) -> Result<Described> {
        let db = Arc::clone(&ws.db);
        let conn = Arc::clone(&ws.conn);
        let (parser, views) = (Arc::clone(&self.shared.parser), Arc::clone(&ws.views));
        self.pool
            .run_for(Some(ws.db.file.project_id), move || {
                admit_on(&parser, &*lock_session(&conn)?, &db, &views, &sql)?;
                let first = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(').to_ascii_uppercase();
                let plain_query = ["SELECT", "WITH", "FROM", "VALUES", "TABLE"].iter().any(|k| first.starts_with(k));
                // (a query is judged on DuckDB's own tree too, as when it runs)
                if plain_query
                    && let Err(m) = parser.query_tree(&sql).map(super::parser::drop_flat)
                    && m.contains("statement is too complex")
                {
                    return Err(errors::map_duckdb_message(&m, SqlOrigin::User, "parsing workspace SQL", ""));
                }
                if plain_query {
                    let conn = lock_session(&conn)?;
                    let described = (|| {
                        let mut stmt = conn.prepare(&format!("SELECT * FROM ({sql}) AS described LIMIT 0"))?;
                        let n = stmt.parameter_count().min(super::MAX_PARAMS);
                        let arrow = stmt.query_arrow(duckdb::params_from_iter(vec![duckdb::types::Value::Null; n]))?;
                        Ok::<_, duckdb::Error>((n, arrow.get_schema()))
                    })();
                    if let Ok((n, schema)) = described {
                        drop(conn);
                        if n == 0 {
                            // (the statement's own names, where the subquery renamed duplicates)
                            let schema = match super::may_have_renamed_duplicates(&schema) {
                                true => match (*db._db).describe(&sql, &search_path) {
                                    Ok(d) => super::with_names_of(schema, &d.schema),
                                    Err(_) => schema,
                                },
                                false => schema,
                            };
                            return Ok(Described { params: vec![], schema });
                        }
                        // With parameters, DuckDB's own prepare (on a connection that sees
                        // committed objects only) tells the parameters' types (`id = ANY($1)`
                        // takes a BIGINT[]) and the columns' as they will run: the NULLs bound
                        // above fold some expressions to another type (`$1::TEXT || 'a'` came
                        // out INTEGER). Where it cannot tell, the above stands.
                        return Ok(match (*db._db).describe(&sql, &search_path) {
                            Ok(d) if d.params.len() == n && d.schema.fields().len() == schema.fields().len() => {
                                let fields: Vec<arrow::datatypes::Field> = schema
                                    .fields()
                                    .iter()
                                    .zip(d.schema.fields())
                                    .map(|(bound, prepared)| {
                                        match prepared.data_type() {
                                            DataType::Null => bound.as_ref().clone(),
                                            t => bound.as_ref().clone().with_data_type(t.clone()),
                                        }
                                        // (the statement's own names: the subquery made duplicates unique)
                                        .with_name(prepared.name())
                                    })
                                    .collect();
                                Described { params: d.params, schema: Arc::new(arrow::datatypes::Schema::new(fields)) }
                            }
                            _ => Described { params: vec![DataType::Null; n], schema },
                        });
                    }
                }
                let described = (*db._db)
                    .describe(&sql, &search_path)
                    .map_err(|m| errors::map_duckdb_message(&m, SqlOrigin::User, "describing workspace SQL", ""));
                match described {
                    // That connection sees committed objects only: a statement on a table the
                    // session's open block made is prepared on the session's own connection,
                    // which tells how many parameters it takes but not their types.
                    Err(e)
                        if (e.state() == SqlState::UndefinedTable || e.state() == SqlState::UndefinedColumn)
                            && !returns_rows(&sql) =>
                    {
                        let conn = lock_session(&conn)?;
                        let n = conn.prepare(&sql).map_err(|_| e)?.parameter_count().min(super::MAX_PARAMS);
                        Ok(Described {
                            params: vec![DataType::Null; n],
                            schema: Arc::new(arrow::datatypes::Schema::empty()),
                        })
                    }
                    other => other,
                }
            })
            .await
    }

    /// The schemas, tables and views a workspace session sees, read from DuckDB's catalog on
    /// the session's own connection (so a table its open transaction made is there): the
    /// workspace's schemas (`main` and those it created) and, with read-only storage, each
    /// exposed bucket (an attached catalog) as a schema of its name. Temporary objects and
    /// DuckDB's own are left out.
    /// Read once per catalog generation: a statement of any session that may change the
    /// catalog (any but a query) makes every session read it again.
    pub async fn workspace_catalog(&self, ws: &WorkspaceConn) -> Result<Arc<WorkspaceCatalog>> {
        // the generation before reading: a change that lands while reading invalidates this read
        let generation = ws.db.catalog_generation.load(Ordering::Acquire);
        if let Some((read_at, catalog)) = &*ws.catalog.lock().unwrap_or_else(|p| p.into_inner())
            && *read_at == generation
        {
            return Ok(Arc::clone(catalog));
        }
        let committed = !ws.in_block.load(Ordering::Acquire);
        let shared = committed
            .then(|| ws.db.committed_catalog.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .flatten()
            .filter(|(read_at, _)| *read_at == generation);
        let catalog = match shared {
            Some((_, catalog)) => catalog,
            None => {
                let catalog = Arc::new(self.read_workspace_catalog(ws).await?);
                if committed {
                    *ws.db.committed_catalog.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((generation, Arc::clone(&catalog)));
                }
                catalog
            }
        };
        *ws.catalog.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, Arc::clone(&catalog)));
        Ok(catalog)
    }

    async fn read_workspace_catalog(&self, ws: &WorkspaceConn) -> Result<WorkspaceCatalog> {
        let conn = Arc::clone(&ws.conn);
        let home = ws.db.home;
        let engine = self.clone();
        self.pool
            .run_for(Some(ws.db.file.project_id), move || {
                let conn = lock_session(&conn)?;
                let map = |e: duckdb::Error| engine.workspace_map(e, "reading a workspace's catalog");
                let mut stmt = conn.prepare(WORKSPACE_SCHEMAS).map_err(map)?;
                let schemas = stmt
                    .query_map([home], |r| Ok(WorkspaceSchema { oid: r.get(0)?, name: r.get(1)?, comment: r.get(2)? }))
                    .map_err(map)?
                    .collect::<duckdb::Result<Vec<_>>>()
                    .map_err(map)?;
                let mut stmt = conn.prepare(WORKSPACE_RELATIONS).map_err(map)?;
                let mut relations = stmt
                    .query_map([], |r| {
                        Ok(WorkspaceRelation {
                            oid: r.get(0)?,
                            schema_oid: r.get(1)?,
                            name: r.get(2)?,
                            view_sql: r.get(3)?,
                            rows: r.get(4)?,
                            comment: r.get(5)?,
                            columns: vec![],
                            primary_key: vec![],
                        })
                    })
                    .map_err(map)?
                    .collect::<duckdb::Result<Vec<_>>>()
                    .map_err(map)?;
                relations.retain(|r| schemas.iter().any(|s| s.oid == r.schema_oid));
                let index: HashMap<i64, usize> = relations.iter().enumerate().map(|(i, r)| (r.oid, i)).collect();
                let mut stmt = conn.prepare(WORKSPACE_COLUMNS).map_err(map)?;
                let mut rows = stmt.query([]).map_err(map)?;
                while let Some(row) = rows.next().map_err(map)? {
                    let Some(&i) = index.get(&row.get::<_, i64>(0).map_err(map)?) else { continue };
                    relations[i].columns.push(WorkspaceColumn {
                        name: row.get(1).map_err(map)?,
                        data_type: row.get(2).map_err(map)?,
                        nullable: row.get(3).map_err(map)?,
                        default: row.get(4).map_err(map)?,
                    });
                }
                let mut stmt = conn.prepare(WORKSPACE_PRIMARY_KEYS).map_err(map)?;
                let mut rows = stmt.query([]).map_err(map)?;
                while let Some(row) = rows.next().map_err(map)? {
                    let Some(&i) = index.get(&row.get::<_, i64>(0).map_err(map)?) else { continue };
                    relations[i].primary_key =
                        row.get::<_, String>(1).map_err(map)?.split('\u{1}').map(str::to_owned).collect();
                }
                // a declared length, kept as a CHECK (see `exec::workspace`): the column's type
                let mut stmt = conn.prepare(WORKSPACE_LENGTH_CHECKS).map_err(map)?;
                let mut rows = stmt.query([]).map_err(map)?;
                while let Some(row) = rows.next().map_err(map)? {
                    let Some(&i) = index.get(&row.get::<_, i64>(0).map_err(map)?) else { continue };
                    let (column, expression): (String, String) = (row.get(1).map_err(map)?, row.get(2).map_err(map)?);
                    let Some((length, fixed)) = length_check(&column, &expression) else { continue };
                    if let Some(c) =
                        relations[i].columns.iter_mut().find(|c| c.name == column && c.data_type == "VARCHAR")
                    {
                        c.data_type = format!("{}({length})", if fixed { "CHAR" } else { "VARCHAR" });
                    }
                }
                Ok(WorkspaceCatalog { schemas, relations, home })
            })
            .await
    }

    /// Runs `work` on a fresh connection to the workspace (maintenance: loads, unloads, listing).
    async fn with_workspace<T, F>(&self, file: WorkspaceFile, limits: SandboxLimits, work: F) -> Result<T>
    where
        F: FnOnce(&Connection, &WorkspaceDb) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let workspaces = Arc::clone(&self.workspaces);
        self.pool
            .run(move || {
                let db = workspaces.open(file, &limits)?;
                let _change = CatalogChange(Arc::clone(&db), true);
                let conn = db.connect()?;
                work(&conn, &db)
            })
            .await
    }

    /// Copies storage reads into workspace tables in one workspace transaction: each
    /// destination is replaced, or (incremental, when it exists) appended to by column name.
    pub async fn workspace_load(
        &self,
        file: WorkspaceFile,
        limits: SandboxLimits,
        tables: Vec<WorkspaceLoad>,
    ) -> Result<Vec<usize>> {
        let engine = self.clone();
        let runtime = tokio::runtime::Handle::current();
        self.with_workspace(file, limits, move |conn, _| {
            let map = |e: duckdb::Error| engine.workspace_map(e, "loading a workspace");
            // where an unqualified CREATE puts the table (the home schema, or `main` when its
            // user dropped that): the appender names it
            let schema: String = conn.query_row("SELECT current_schema()", [], |r| r.get(0)).map_err(map)?;
            conn.execute_batch("BEGIN TRANSACTION").map_err(map)?;
            let result = (|| {
                let mut counts = Vec::with_capacity(tables.len());
                for WorkspaceLoad { destination, query, incremental, declared } in tables {
                    // Rows stream from the storage instance a few batches at a time; this job
                    // already holds a pool slot, so the read takes none.
                    let mut stream = engine.query_nested(&runtime, query)?;
                    let columns = declared.definitions(stream.schema.fields())?;
                    // An incremental load into an existing table appends by column name
                    // through a staging table; otherwise the destination is (re)created.
                    let exists = incremental
                        && conn
                            .query_row(
                                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() \
                                 AND schema_name = current_schema() AND lower(table_name) = lower(?)",
                                [&destination],
                                |r| r.get::<_, i64>(0),
                            )
                            .map_err(map)?
                            > 0;
                    let target = if exists { STAGING_TABLE.to_owned() } else { destination.clone() };
                    let create = if exists { "CREATE OR REPLACE TEMP TABLE" } else { "CREATE OR REPLACE TABLE" };
                    conn.execute_batch(&format!("{create} {} ({})", quote(&target), columns.join(", ")))
                        .map_err(map)?;
                    let mut appender = if exists {
                        conn.appender_to_catalog_and_db(&target, "temp", "main")
                    } else {
                        conn.appender_to_db(&target, &schema)
                    }
                    .map_err(map)?;
                    let mut rows = 0;
                    while let Some(batch) = stream.batches.blocking_recv() {
                        let batch = batch?;
                        rows += batch.num_rows();
                        appender.append_record_batch(batch).map_err(map)?;
                    }
                    appender.flush().map_err(map)?;
                    drop(appender);
                    if exists {
                        conn.execute_batch(&format!(
                            "INSERT INTO {} BY NAME SELECT * FROM temp.main.{}; DROP TABLE temp.main.{}",
                            quote(&destination),
                            quote(STAGING_TABLE),
                            quote(STAGING_TABLE)
                        ))
                        .map_err(map)?;
                    }
                    counts.push(rows);
                }
                Ok(counts)
            })();
            match result {
                Ok(counts) => {
                    conn.execute_batch("COMMIT").map_err(map)?;
                    Ok(counts)
                }
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(e)
                }
            }
        })
        .await
    }

    /// A `COPY … FROM STDIN` of a workspace session, once its data is staged: `reader` (a read
    /// of the staged file, every column text, in the files instance, which may read it) streams
    /// into a temporary table of the session's connection, and one INSERT moves the rows into
    /// `table` (`columns`: the ones the data fills), DuckDB casting text to each column's type
    /// as it casts any insert's. The sandbox is never given the file. Answers the rows copied.
    pub async fn workspace_copy_in(
        &self,
        ws: &WorkspaceConn,
        table: String,
        columns: Vec<String>,
        reader: Query,
        size_limit: i64,
        canceller: &Canceller,
    ) -> Result<usize> {
        let conn = Arc::clone(&ws.conn);
        let db = Arc::clone(&ws.db);
        let canceller = canceller.clone();
        let engine = self.clone();
        let runtime = tokio::runtime::Handle::current();
        self.pool
            .run_for(Some(ws.db.file.project_id), move || {
                if db.bytes() >= size_limit {
                    return Err(size_limit_reached(size_limit));
                }
                // rows change the catalog's row estimates, as an INSERT's do
                let _change = CatalogChange(Arc::clone(&db), false);
                let map = |e: duckdb::Error| engine.workspace_map(e, "copying into a workspace table");
                let mut stream = engine.query_nested(&runtime, reader)?;
                let conn = lock_session(&conn)?;
                let _armed = canceller.arm(conn.interrupt_handle())?;
                let staging: Vec<String> =
                    stream.schema.fields().iter().map(|f| format!("{} VARCHAR", quote(f.name()))).collect();
                let staging_table = format!("temp.main.{}", quote(STAGING_TABLE));
                conn.execute_batch(&format!(
                    "CREATE OR REPLACE TEMP TABLE {} ({})",
                    quote(STAGING_TABLE),
                    staging.join(", ")
                ))
                .map_err(map)?;
                let copied = (|| {
                    let mut appender = conn.appender_to_catalog_and_db(STAGING_TABLE, "temp", "main").map_err(map)?;
                    while let Some(batch) = stream.batches.blocking_recv() {
                        appender.append_record_batch(batch?).map_err(map)?;
                    }
                    appender.flush().map_err(map)?;
                    drop(appender);
                    let list = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
                    conn.execute(&format!("INSERT INTO {table} ({list}) SELECT * FROM {staging_table}"), [])
                        .map_err(map)
                })();
                let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {staging_table}"));
                copied
            })
            .await
    }

    /// Streams a workspace table as Arrow batches (an unload into storage). The scan takes no
    /// pool slot: the storage writes that consume its batches take theirs, and a scan waiting
    /// on them must not hold one.
    pub async fn workspace_scan(
        &self,
        file: WorkspaceFile,
        limits: SandboxLimits,
        table: String,
    ) -> Result<QueryStream> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(STREAM_BUFFER);
        let workspaces = Arc::clone(&self.workspaces);
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let map = |e: duckdb::Error| engine.workspace_map(e, "reading a workspace table");
            let opened = workspaces.open(file, &limits).and_then(|db| Ok((db.connect()?, db)));
            let (conn, _db) = match opened {
                Ok(opened) => opened,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
            };
            let mut stmt = match conn.prepare(&format!("SELECT * FROM {}", quote(&table))).map_err(map) {
                Ok(stmt) => stmt,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
            };
            let arrow = match stmt.query_arrow([]).map_err(map) {
                Ok(arrow) => arrow,
                Err(e) => {
                    let _ = schema_tx.send(Err(e));
                    return;
                }
            };
            let _ = schema_tx.send(Ok(arrow.get_schema()));
            for batch in arrow {
                if batch_tx.blocking_send(Ok(batch)).is_err() {
                    break;
                }
            }
        });
        let schema = schema_rx
            .await
            .map_err(|_| Error::internal("reading a workspace table", "the reader stopped before answering"))??;
        Ok(QueryStream {
            schema,
            batches: batch_rx,
            held: Vec::new(),
            data_epoch: None,
            repeatable: false,
            completed: Default::default(),
        })
    }

    /// The workspace's tables and views: (name, kind, rows).
    pub async fn workspace_objects(
        &self,
        file: WorkspaceFile,
        limits: SandboxLimits,
    ) -> Result<Vec<(String, String, i64)>> {
        let engine = self.clone();
        self.with_workspace(file, limits, move |conn, _| {
            let map = |e: duckdb::Error| engine.workspace_map(e, "listing a workspace");
            let mut stmt = conn
                .prepare(
                    "SELECT table_name, 'table', estimated_size FROM duckdb_tables()
                       WHERE NOT internal AND schema_name = current_schema() AND database_name = current_database()
                     UNION ALL SELECT view_name, 'view', 0 FROM duckdb_views()
                       WHERE NOT internal AND schema_name = current_schema() AND database_name = current_database()
                     ORDER BY 1",
                )
                .map_err(map)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(map)?;
            rows.collect::<duckdb::Result<Vec<_>>>().map_err(map)
        })
        .await
    }

    /// Drops objects of a workspace: those named, or with `keep` every object not kept.
    pub async fn workspace_drop_objects(
        &self,
        file: WorkspaceFile,
        limits: SandboxLimits,
        names: Option<Vec<String>>,
        keep: Vec<String>,
    ) -> Result<usize> {
        let objects = self.workspace_objects(file, limits.clone()).await?;
        let engine = self.clone();
        self.with_workspace(file, limits, move |conn, _| {
            let map = |e: duckdb::Error| engine.workspace_map(e, "clearing a workspace");
            let doomed: Vec<&(String, String, i64)> = objects
                .iter()
                .filter(|(name, _, _)| match &names {
                    Some(names) => names.contains(name),
                    None => !keep.contains(name),
                })
                .collect();
            if let Some(names) = &names
                && let Some(missing) = names.iter().find(|n| !objects.iter().any(|(o, _, _)| o == *n))
            {
                return Err(Error::not_found(format!("workspace object \"{missing}\" does not exist"))
                    .with_sqlstate(SqlState::UndefinedTable));
            }
            conn.execute_batch("BEGIN TRANSACTION").map_err(map)?;
            for (name, kind, _) in &doomed {
                let what = if kind == "view" { "VIEW" } else { "TABLE" };
                if let Err(e) = conn.execute_batch(&format!("DROP {what} IF EXISTS {} CASCADE", quote(name))) {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(map(e));
                }
            }
            conn.execute_batch("COMMIT").map_err(map)?;
            Ok(doomed.len())
        })
        .await
    }

    /// Whether a workspace instance is open (sessions or maintenance use it).
    pub fn workspace_is_open(&self, file: &WorkspaceFile) -> bool {
        self.workspaces.is_open(file)
    }

    /// Deletes a workspace's files (its instance must be closed).
    pub fn remove_workspace_files(&self, file: &WorkspaceFile) -> Result<()> {
        let dir = file.dir(&self.workspaces.dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal("removing a workspace", e)),
        }
    }

    /// Bytes a workspace's files take on disk.
    pub fn workspace_bytes(&self, file: &WorkspaceFile) -> i64 {
        fn walk(dir: &Path) -> i64 {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { std::fs::metadata(&p).map(|m| m.len() as i64).unwrap_or(0) }
                })
                .sum()
        }
        walk(&file.dir(&self.workspaces.dir))
    }
}

/// One table of a workspace load (an input mapping).
pub struct WorkspaceLoad {
    pub destination: String,
    pub query: Query,
    /// Append to an existing destination (by column name) instead of replacing it.
    pub incremental: bool,
    /// What a new destination keeps of its source table's declarations.
    pub declared: DeclaredShape,
}

/// A storage table's declarations under the workspace's column names, and its primary key
/// (empty: none, or not every key column loaded).
#[derive(Debug, Clone, Default)]
pub struct DeclaredShape {
    pub columns: Vec<DeclaredColumn>,
    pub primary_key: Vec<String>,
}

/// What a loaded column keeps beyond its Arrow type.
#[derive(Debug, Clone)]
pub struct DeclaredColumn {
    pub name: String,
    pub json: bool,
    /// A declared length: (n, whether `CHAR(n)` rather than `VARCHAR(n)`).
    pub length: Option<(u32, bool)>,
    pub nullable: bool,
}

impl DeclaredShape {
    /// The column definitions and key of a new workspace table for `fields`: the Arrow type's
    /// DuckDB type, except that json stays `JSON` and a declared length stays, as a CHECK the
    /// workspace's catalog reads back (as `exec::workspace` writes it for CREATE TABLE).
    fn definitions(&self, fields: &arrow::datatypes::Fields) -> Result<Vec<String>> {
        let mut definitions = fields
            .iter()
            .map(|f| {
                let name = quote(f.name());
                let declared = self.columns.iter().find(|c| c.name == *f.name());
                let text = matches!(f.data_type(), DataType::Utf8);
                let mut definition = match declared {
                    Some(c) if c.json && text => format!("{name} JSON"),
                    Some(DeclaredColumn { length: Some((length, fixed)), .. }) if text => {
                        let function = if *fixed { "char_length" } else { "length" };
                        format!("{name} VARCHAR CHECK ({function}({name}) <= {length})")
                    }
                    _ => format!("{name} {}", column_type(f.data_type())?),
                };
                if declared.is_some_and(|c| !c.nullable) {
                    definition.push_str(" NOT NULL");
                }
                Ok(definition)
            })
            .collect::<Result<Vec<_>>>()?;
        if !self.primary_key.is_empty() && self.primary_key.iter().all(|k| fields.iter().any(|f| f.name() == k)) {
            let keys: Vec<String> = self.primary_key.iter().map(|k| quote(k)).collect();
            definitions.push(format!("PRIMARY KEY ({})", keys.join(", ")));
        }
        Ok(definitions)
    }
}

/// Where an incremental load stages its rows before appending them by name.
const STAGING_TABLE: &str = "__duckstore_incoming";

#[cfg(test)]
mod tests {
    #[test]
    fn statements_split_outside_quotes_and_comments() {
        assert_eq!(
            split_statements("SELECT 'a;b'; SELECT \"x;y\" -- c;\n FROM t; /* ; */ SELECT $$;$$;;"),
            vec!["SELECT 'a;b'", "SELECT \"x;y\" -- c;\n FROM t", "/* ; */ SELECT $$;$$"]
        );
        assert_eq!(split_statements("  "), Vec::<String>::new());
        assert_eq!(split_statements("select 1"), vec!["select 1"]);
    }

    use super::{DYNAMIC_SQL_FUNCTIONS, calls_any, returns_rows, split_statements};

    #[test]
    fn every_spelling_duckdb_reads_as_dynamic_sql_is_caught() {
        // DuckDB is the oracle: each text it reads as calling a dynamic-SQL table function
        // must be caught; a column or string that only looks alike need not pass.
        let parser = crate::engine::DuckParser::open(&crate::exec::macros_sql()).unwrap();
        let (mut read_as_call, mut caught) = (0, 0);
        for name in ["query", "QUERY", "Query", "\"query\"", "main.query", "system.main.query", "query_table"] {
            // (block comments nest: the attacker review's `query/* /* */ */(` got past)
            for gap in [
                "",
                " ",
                "\n\t ",
                "/* x */",
                " -- c\n ",
                "/**/ /* y */",
                "/* /* */ */",
                "/*/**/*/",
                "/* a /* b */ c */ ",
            ] {
                let sql = format!("SELECT * FROM {name}{gap}('SELECT 1')");
                let lower = sql.to_ascii_lowercase();
                let tree = parser.references(&sql);
                if tree.is_ok_and(|r| r.table_functions.iter().any(|c| c.name == "query" || c.name == "query_table")) {
                    read_as_call += 1;
                    assert!(calls_any(&lower, DYNAMIC_SQL_FUNCTIONS).is_some(), "{sql} gets past");
                    caught += 1;
                }
            }
        }
        assert!(read_as_call >= 45, "DuckDB read {read_as_call} of the spellings as calls");
        assert_eq!(caught, read_as_call);
        for harmless in ["SELECT query FROM t", "SELECT my_query(1)", "SELECT t.query, subquery FROM t"] {
            assert_eq!(calls_any(&harmless.to_ascii_lowercase(), DYNAMIC_SQL_FUNCTIONS), None, "{harmless}");
        }
    }

    #[test]
    fn statements_with_rows_are_told_apart() {
        for sql in
            ["SELECT 1", " with x as (select 1) select * from x", "FROM t", "(SELECT 1)", "SHOW TABLES", "DESCRIBE t"]
        {
            assert!(returns_rows(sql), "{sql}");
        }
        for sql in ["CREATE TABLE t (a INT)", "INSERT INTO t VALUES (1)", "DROP TABLE t", "BEGIN", "SET x = 1"] {
            assert!(!returns_rows(sql), "{sql}");
        }
        assert!(returns_rows("INSERT INTO t VALUES (1) RETURNING a"));
    }
}
