//! A session's state as the execution layer needs it: who it is, its settings, its engine
//! place and, for a workspace login, its sandbox connection. The wire front owns the
//! connection; this is everything a statement reads or changes of its session.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use crate::engine::Canceller;
use crate::error::Result;
use crate::gateway::CompatValues;
use crate::gateway::settings::SessionSettings;
use crate::storage::SessionContext;
use crate::storage::sessions::{BusyGuard, LiveSession};
use crate::storage::workspaces::WorkspaceSession;

/// A transaction block's view of the settings (see [`Session::begin_settings_block`]).
struct BlockSettings {
    at_begin: SessionSettings,
    /// Names set with `SET LOCAL`, with their values before the first such SET.
    local: Vec<(String, Option<String>)>,
}

/// One client session after login.
pub struct Session {
    pub id: u64,
    pub pid: i32,
    pub ctx: SessionContext,
    pub database: String,
    pub settings: Mutex<SessionSettings>,
    /// The reported parameters as the client was last told them (ParameterStatus).
    reported: Mutex<Vec<(String, String)>>,
    /// The settings as a transaction block found them, and those a `SET LOCAL` of the block
    /// changed, with their values before it (see [`Session::end_settings_block`]).
    block_settings: Mutex<Option<BlockSettings>>,
    /// What cancel requests, shutdown and a dropped workspace reach (see `storage::sessions`).
    pub live: Arc<LiveSession>,
    pub canceller: Canceller,
    /// The credential epoch this session's token was last checked at.
    pub checked_epoch: AtomicU64,
    /// Set when the running statement was cancelled by the statement timeout.
    pub timed_out: AtomicBool,
    /// The base of this session's relation handles (see `relation_handle`).
    relation_base: u64,
    /// Set by `ROLLBACK TO SAVEPOINT` in the extended protocol, whose generic transaction
    /// bookkeeping cannot leave the failed state by itself.
    pub restored: AtomicBool,
    /// A workspace session's open transaction has run something other than a read (see
    /// `exec::workspace`'s savepoints).
    pub wrote_in_transaction: AtomicBool,
    /// The open transaction block is READ ONLY (storage sessions).
    pub read_only_transaction: AtomicBool,
    /// A workspace login's connection to its sandbox (storage sessions have none).
    pub workspace: Option<WorkspaceSession>,
    /// Open cursors by name (see `exec::cursors`).
    pub cursors: Mutex<std::collections::HashMap<String, super::cursors::Cursor>>,
    /// A workspace session's prepared statements (DuckDB keeps them): name → (text bytes,
    /// expressions), for the bound and for DEALLOCATE's answer.
    workspace_prepared: Mutex<std::collections::HashMap<String, (usize, usize)>>,
    /// Statements `PREPARE` stored, by name (storage sessions; see `gateway::prepared`).
    sql_prepared: Mutex<std::collections::HashMap<String, crate::gateway::SqlPrepared>>,
    /// A workspace session's open cursors (see `exec::workspace_cursors`).
    pub workspace_cursors: Mutex<std::collections::HashMap<String, super::workspace_cursors::WorkspaceCursorState>>,
    /// The writes of the open transaction block, once it wrote (see `storage::transactions`).
    /// A statement takes it out while it runs; a connection that goes away drops it, which
    /// rolls it back.
    pub transaction: Mutex<Option<crate::storage::Transaction>>,
    /// Table names this session resolved, kept while the catalog is unchanged.
    resolved: Mutex<ResolvedReads>,
    /// Plans of statement texts, kept while the settings are unchanged.
    pub(super) kept_plans: Mutex<super::kept::KeptPlans>,
    /// Results of reads, kept while the catalog and the data they read are unchanged.
    pub(super) kept_results: Mutex<super::kept::KeptResults>,
}

/// What names a session's read used: (names, search path, transaction) → the table file
/// references and files they resolved to. Only resolutions to tables are kept; a view's
/// expansion depends on session settings too.
#[derive(Default)]
struct ResolvedReads {
    generation: u64,
    entries: std::collections::HashMap<ReadKey, ResolvedTables>,
}

pub(super) type ReadKey = (Vec<crate::storage::TableName>, Vec<String>, Option<u64>);
pub(super) type ResolvedTables = (Vec<String>, Vec<crate::engine::TableFile>, Arc<TableColumns>);

/// What RowDescription reports of a result column that is a column of a relation the read
/// names: the columns (name, DuckDB type) of the tables it resolved, by table id, and of each
/// view it names itself, by the view's place among the names.
#[derive(Default, Clone)]
pub(super) struct TableColumns {
    pub tables: std::collections::HashMap<i64, ColumnTypes>,
    /// (the view's relation id as the catalog numbers it, its columns), per name read
    pub views: Vec<Option<(i64, ColumnTypes)>>,
    /// The primary key of each table resolved, by table id.
    pub primary_keys: std::collections::HashMap<i64, Vec<String>>,
}

/// A relation's columns: (name, DuckDB type).
pub(super) type ColumnTypes = Vec<(String, String)>;

/// Resolutions one session keeps (a dashboard's statements use a few dozen names).
const RESOLVED_READS: usize = 64;

/// Who a session is when it starts.
pub struct SessionStart<'a> {
    pub id: u64,
    pub ctx: SessionContext,
    pub database: String,
    pub startup: &'a BTreeMap<String, String>,
    pub epoch: u64,
    pub workspace: Option<WorkspaceSession>,
    pub live: Arc<LiveSession>,
}

impl Session {
    pub fn new(start: SessionStart<'_>) -> Session {
        let mut settings = SessionSettings::new(&start.ctx.user, start.startup);
        // a workspace of the earlier layout resolves names in `main` (see `exec::workspace`)
        if let Some(ws) = &start.workspace
            && ws.conn.home_schema() != "public"
            && !start.startup.contains_key("search_path")
        {
            let _ = settings.set("search_path", Some(ws.conn.home_schema()));
        }
        let reported = Mutex::new(settings.reported());
        Session {
            reported,
            block_settings: Mutex::new(None),
            id: start.id,
            pid: start.live.pid,
            ctx: start.ctx,
            database: start.database,
            settings: Mutex::new(settings),
            canceller: start.live.canceller.clone(),
            live: start.live,
            checked_epoch: AtomicU64::new(start.epoch),
            timed_out: AtomicBool::new(false),
            restored: AtomicBool::new(false),
            wrote_in_transaction: AtomicBool::new(false),
            read_only_transaction: AtomicBool::new(false),
            relation_base: rand::random::<u64>() & ((1 << 47) - 1),
            workspace: start.workspace,
            cursors: Mutex::new(Default::default()),
            sql_prepared: Mutex::new(Default::default()),
            workspace_prepared: Mutex::new(Default::default()),
            workspace_cursors: Mutex::new(Default::default()),
            transaction: Mutex::new(None),
            resolved: Mutex::new(ResolvedReads::default()),
            kept_plans: Mutex::new(Default::default()),
            kept_results: Mutex::new(Default::default()),
        }
    }

    /// What `key` resolved to when the catalog was last at `generation`, if it still is.
    pub(super) fn resolved_reads(&self, generation: u64, key: &ReadKey) -> Option<ResolvedTables> {
        let resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if resolved.generation != generation {
            return None;
        }
        resolved.entries.get(key).cloned()
    }

    /// Keeps what `key` resolved to from catalog reads begun at `generation`.
    pub(super) fn remember_reads(&self, generation: u64, key: ReadKey, tables: ResolvedTables) {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if resolved.generation != generation || resolved.entries.len() >= RESOLVED_READS {
            resolved.entries.clear();
            resolved.generation = generation;
        }
        resolved.entries.insert(key, tables);
    }

    /// The engine instance this session's SQL runs in: its project's, or (the admin) the
    /// system instance, which holds no table. A workspace session's catalog queries (the only
    /// SQL of its that the gateway plans) run in its project's instance too: the memory a
    /// heavy one takes is its project's, never the instance every project shares.
    pub fn home(&self) -> crate::engine::Place {
        match self.ctx.project_id() {
            Some(p) => crate::engine::Place::Project(p),
            None => crate::engine::Place::System,
        }
    }

    /// The handle this session uses for a server relation: the same one every time, so its
    /// statements repeat verbatim and stay prepared in the engine.
    pub fn relation_handle(&self, code: u64) -> u64 {
        (self.relation_base << 16) | (code & 0xffff)
    }

    /// The open transaction's writes, taken out to end it (COMMIT, ROLLBACK).
    pub fn take_transaction(&self) -> Option<crate::storage::Transaction> {
        self.transaction.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The open transaction (begun if it had none) for one statement to change; it returns
    /// to the session when the statement ends, however it ends.
    pub fn open_transaction<'a>(&'a self, storage: &crate::storage::Storage) -> OpenTransaction<'a> {
        let transaction = self.take_transaction().unwrap_or_else(|| storage.begin_transaction());
        OpenTransaction { session: self, transaction: Some(transaction) }
    }

    /// Whether a write now runs in a read-only transaction: the open block's mode, or outside
    /// one, `default_transaction_read_only`.
    pub fn read_only(&self, in_transaction: bool) -> bool {
        if in_transaction {
            return self.read_only_transaction.load(std::sync::atomic::Ordering::Acquire);
        }
        let default = self.settings().get("default_transaction_read_only").map(str::to_ascii_lowercase);
        matches!(default.as_deref(), Some("on" | "true" | "yes" | "1" | "t" | "y"))
    }

    /// The catalog's id of the open transaction, once it wrote or set a savepoint.
    pub fn transaction_id(&self) -> Option<u64> {
        self.transaction.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|t| t.id())
    }

    /// Where unqualified names resolve: the open block's temporary tables first (as PostgreSQL
    /// searches `pg_temp` first), then the session's `search_path`.
    pub fn search_path(&self) -> Vec<String> {
        let mut path = self.settings().search_path();
        let transaction = self.transaction.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = transaction.as_ref().and_then(|t| t.temporary_bucket()) {
            path.insert(0, bucket.to_owned());
        }
        path
    }

    /// Names in `pg_temp` as the open block's bucket of temporary tables names them.
    pub fn temporary_names(&self, names: Vec<crate::storage::TableName>) -> Vec<crate::storage::TableName> {
        if !names.iter().any(|n| n.schema.as_deref() == Some(crate::gateway::TEMPORARY_BUCKET)) {
            return names;
        }
        let transaction = self.transaction.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = transaction.as_ref().and_then(|t| t.temporary_bucket()) else { return names };
        names
            .into_iter()
            .map(|mut n| {
                if n.schema.as_deref() == Some(crate::gateway::TEMPORARY_BUCKET) {
                    n.schema = Some(bucket.to_owned());
                }
                n
            })
            .collect()
    }

    /// Whether the open block reads one snapshot (REPEATABLE READ or SERIALIZABLE).
    pub fn repeatable_read(&self) -> bool {
        matches!(self.settings().get("transaction_isolation"), Some("repeatable read" | "serializable"))
    }

    /// Whether blocks detect read/write conflicts at COMMIT (see `ReadSnapshot::reads_to_validate`).
    pub fn serializable(&self) -> bool {
        self.settings().get("transaction_isolation") == Some("serializable")
    }

    /// Whether the open block took its snapshot already.
    pub fn has_read_snapshot(&self) -> bool {
        let transaction = self.transaction.lock().unwrap_or_else(|p| p.into_inner());
        transaction.as_ref().is_some_and(|t| t.has_read_snapshot())
    }

    /// A block ended: `transaction_isolation` shows the default again.
    pub fn end_isolation(&self) {
        self.sync_isolation(false);
    }

    /// Outside a block, `transaction_isolation` is the level the next block gets: the default.
    pub fn sync_isolation(&self, in_transaction: bool) {
        if in_transaction {
            return;
        }
        let mut settings = self.settings();
        let default = settings.get("default_transaction_isolation").unwrap_or("read committed").to_owned();
        let _ = settings.set("transaction_isolation", Some(&default));
    }

    /// What the open transaction's reads see in place of the latest commits: the versions it
    /// wrote, and its snapshot's (REPEATABLE READ).
    pub fn transaction_read_view(&self) -> crate::storage::ReadView {
        let transaction = self.transaction.lock().unwrap_or_else(|p| p.into_inner());
        transaction.as_ref().map(|t| t.read_view()).unwrap_or_default()
    }

    pub fn settings(&self) -> std::sync::MutexGuard<'_, SessionSettings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A workspace session's prepared statements, by name: (text bytes, expressions).
    pub fn workspace_prepared(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (usize, usize)>> {
        self.workspace_prepared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The statements PREPARE stored, by name.
    pub fn prepared_statements(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, crate::gateway::SqlPrepared>> {
        self.sql_prepared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A transaction block begins: its settings are kept, for its end.
    pub fn begin_settings_block(&self) {
        let settings = self.settings().clone();
        *self.block_settings.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(BlockSettings { at_begin: settings, local: Vec::new() });
    }

    /// Whether a transaction block is open (its settings kept for its end).
    pub fn in_settings_block(&self) -> bool {
        self.block_settings.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// `SET LOCAL name = value` in a block: the value lasts until the block ends (outside one
    /// it does nothing, as in PostgreSQL, which warns).
    pub fn set_local(&self, name: &str, value: Option<&str>) -> Result<()> {
        let mut block = self.block_settings.lock().unwrap_or_else(|p| p.into_inner());
        let Some(block) = block.as_mut() else { return Ok(()) };
        let mut settings = self.settings();
        let before = settings.get(name).map(str::to_owned);
        settings.set(name, value)?;
        if !block.local.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            block.local.push((name.to_owned(), before));
        }
        Ok(())
    }

    /// A transaction block ends: rolled back, every setting it made goes back to what the
    /// block found; committed, those made with `SET LOCAL` do. As PostgreSQL's.
    pub fn end_settings_block(&self, committed: bool) {
        let Some(block) = self.block_settings.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        let mut settings = self.settings();
        if !committed {
            settings.restore(&block.at_begin);
            return;
        }
        for (name, before) in block.local {
            let _ = settings.set(&name, before.as_deref());
        }
    }

    /// How many times the session's settings changed (see [`Session::reported_changes`]).
    pub fn settings_changes(&self) -> u64 {
        self.settings().changes()
    }

    /// The reported parameters (`TimeZone`, `application_name`, …) whose value changed since the
    /// client was last told, as PostgreSQL reports them after the statement that changed them
    /// (psycopg shows `timestamptz` values in the zone it was told).
    pub fn reported_changes(&self) -> Vec<(String, String)> {
        let now = self.settings().reported();
        let mut told = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let changed = now.iter().filter(|p| !told.contains(p)).cloned().collect();
        *told = now;
        changed
    }

    /// The session's time zone, where `timestamptz` values are shown (`None`: UTC).
    pub fn time_zone(&self) -> Option<crate::gateway::time_zone::TimeZone> {
        self.settings().time_zone()
    }

    /// What PostgreSQL's functions answer in this session (`current_user`, `pg_backend_pid()`, …).
    pub fn compat<'a>(&'a self, settings: &'a SessionSettings) -> CompatValues<'a> {
        CompatValues { settings, user: &self.ctx.user, database: &self.database, backend_pid: self.pid }
    }

    /// Marks a statement as running until the guard drops.
    pub fn begin_statement(&self) -> BusyGuard {
        self.live.begin_statement()
    }

    pub fn is_busy(&self) -> bool {
        self.live.is_busy()
    }

    /// Resolves once no statement is running.
    pub async fn wait_idle(&self) {
        self.live.wait_idle().await
    }
}

/// A session's transaction lent to one statement (see [`Session::open_transaction`]).
pub struct OpenTransaction<'a> {
    session: &'a Session,
    transaction: Option<crate::storage::Transaction>,
}

impl std::ops::Deref for OpenTransaction<'_> {
    type Target = crate::storage::Transaction;

    fn deref(&self) -> &Self::Target {
        self.transaction.as_ref().expect("lent until dropped")
    }
}

impl std::ops::DerefMut for OpenTransaction<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.transaction.as_mut().expect("lent until dropped")
    }
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        let transaction = self.transaction.take();
        *self.session.transaction.lock().unwrap_or_else(|p| p.into_inner()) = transaction;
    }
}
