//! One DuckDB instance of the storage engine (ADR 0009): a project's, which attaches that
//! project's table files and nothing else and may open files only in the project's own table
//! directory; the system instance, which holds no table at all (sessions without a project);
//! the file instance, which reads uploads and writes exports and never runs a client's SQL.
//!
//! Every instance runs with external access off (but for its allowed directories), extensions
//! neither installed nor loaded, its configuration locked, and the server's table functions:
//! `duckstore_relation(handle)` for server-built relations and `duckstore_stream(key)` for rows
//! streamed from another instance to the connection they were granted to.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use duckdb::Connection;

use super::ffi::{self, FfiResult, RawConn, StreamGrant, StreamGrants};
use super::raw::RawDatabase;
use super::relations::{RELATION_FUNCTION, RelationRegistry};
use super::tables::{Attachments, Lease, TableFile};
use crate::error::{Error, Result};

/// The table function that reads rows streamed in from another instance.
pub const STREAM_FUNCTION: &str = "duckstore_stream";

/// Which instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// A project's instance: its table files, the SQL of its sessions.
    Project(i64),
    /// No table files: catalog queries of sessions without a project (the admin).
    System,
    /// Uploads and exports: reads and writes files, never a client's SQL.
    Files,
}

impl Place {
    /// The project whose instance this is, if any.
    pub fn project(self) -> Option<i64> {
        match self {
            Place::Project(p) => Some(p),
            Place::System | Place::Files => None,
        }
    }
}

/// Settings an instance opens with.
#[derive(Debug, Clone)]
pub(crate) struct InstanceSettings {
    pub memory_limit: String,
    pub threads: usize,
    pub temp_dir: PathBuf,
    pub max_temp_size: String,
    /// Directories the instance may open files in (with a trailing slash); empty: none.
    pub allowed_directories: Vec<PathBuf>,
    pub setup: Vec<String>,
}

/// Idle connections kept per instance.
const IDLE_CONNECTIONS: usize = 64;
/// Prepared statements kept per pooled connection.
const STATEMENT_CACHE: usize = 128;
/// How many table files may stay attached without a running statement.
const ATTACHED_FILES: usize = 256;

/// A pooled connection and the id DuckDB gives it (what stream grants are keyed by).
pub(crate) struct PooledConn {
    pub conn: Connection,
    pub id: u64,
    /// Checked out for statements that may write: the instance's writers, told when the
    /// connection is checked in or dropped (see [`Instance::checkout`]).
    writer: Option<Arc<WriteClock>>,
    /// The instance's data epoch when this connection's kept plans were made.
    plans_at: Option<DataEpoch>,
}

/// The writers of an instance's files, in one word so that each change is one step: the
/// high bits count moves (one when a writer starts, one when it ends), the low bits the
/// writers running. A read that finds no writer running, and the same moves as an earlier one
/// that found none, reads the same data: every write is made by a writer.
#[derive(Default)]
pub(crate) struct WriteClock(AtomicU64);

/// Bits of [`WriteClock`] that count running writers.
const RUNNING_BITS: u32 = 20;
const RUNNING: u64 = (1 << RUNNING_BITS) - 1;

impl WriteClock {
    fn start(&self) {
        self.0.fetch_add((1 << RUNNING_BITS) + 1, Ordering::SeqCst);
    }

    fn end(&self) {
        // (one running writer fewer, one move more: never borrows, a running writer is counted)
        self.0.fetch_add((1 << RUNNING_BITS) - 1, Ordering::SeqCst);
    }

    /// The moves while no writer runs, else `None`.
    fn stable(&self) -> Option<u64> {
        let state = self.0.load(Ordering::SeqCst);
        (state & RUNNING == 0).then_some(state >> RUNNING_BITS)
    }
}

/// Numbers instances as they open, so an epoch of a closed instance never names a new one.
static INCARNATIONS: AtomicU64 = AtomicU64::new(0);

/// An instance's data at one moment: equal tokens, taken while no writer ran, mean the same
/// data and statistics (see [`Instance::stable_epoch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataEpoch {
    incarnation: u64,
    writes: u64,
    detaches: u64,
}

pub(crate) struct Instance {
    // Field order is drop order: every connection closes before the database does.
    idle: Mutex<Vec<PooledConn>>,
    pub attachments: Arc<Attachments>,
    pub root: Arc<Mutex<Connection>>,
    root_id: u64,
    pub db: RawDatabase,
    pub place: Place,
    pub relations: Arc<RelationRegistry>,
    pub grants: Arc<StreamGrants>,
    /// When a statement last used the instance (seconds on the engine's clock).
    pub last_used: AtomicU64,
    /// Moves before and after every statement that may write one of the instance's files.
    writes: Arc<WriteClock>,
    incarnation: u64,
    /// What DuckDB's binder said of clients' reads, kept while the data epoch holds.
    pub descriptions: super::descriptions::Descriptions,
    /// The extensions loaded as the instance opened (none loads later: see `extensions`).
    pub extensions: Vec<super::extensions::Loaded>,
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(writes) = self.writer.take() {
            writes.end();
        }
    }
}

fn quote_path(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "''"))
}

impl Instance {
    pub(super) fn open(place: Place, settings: &InstanceSettings, tables_dir: PathBuf) -> Result<Instance> {
        std::fs::create_dir_all(&settings.temp_dir).map_err(|e| Error::internal("creating a temp directory", e))?;
        let config = [
            ("threads", settings.threads.max(1).to_string()),
            ("memory_limit", settings.memory_limit.clone()),
            ("autoload_known_extensions", "false".to_owned()),
            ("autoinstall_known_extensions", "false".to_owned()),
            ("allow_community_extensions", "false".to_owned()),
            ("temp_directory", settings.temp_dir.to_string_lossy().into_owned()),
            ("max_temp_directory_size", settings.max_temp_size.clone()),
            // Rows come back in no particular order without ORDER BY (as in PostgreSQL); keeping
            // insertion order makes `LIMIT n` scans ten times slower and big results costlier.
            ("preserve_insertion_order", "false".to_owned()),
            // PostgreSQL's: NULL sorts as the largest value (last ascending, first descending)
            ("default_null_order", "nulls_last_on_asc_first_on_desc".to_owned()),
        ];
        let db = RawDatabase::open_in_memory(&config)
            .map_err(|e| Error::invalid(format!("cannot start the engine: {e}")))?;
        // SAFETY: `db` outlives every connection made from it (the struct's field order).
        let root = unsafe { Connection::open_from_raw(db.handle()) }
            .map_err(|e| Error::internal("opening the DuckDB instance", e))?;
        for load in super::extensions::load_statements(super::extensions::files()?) {
            root.execute_batch(&load).map_err(|e| Error::invalid(format!("cannot start the engine: {e}")))?;
        }
        // (read while the instance may still list extension directories)
        let extensions = super::extensions::loaded(&root)?;
        let relations = Arc::new(RelationRegistry::default());
        root.register_table_function_with_extra_info::<super::relations::RelationFunction, _>(
            RELATION_FUNCTION,
            &relations,
        )
        .map_err(|e| Error::internal("registering the relation function", e))?;
        let grants = Arc::new(StreamGrants::default());
        {
            // SAFETY: `db` is open and outlives this connection, closed at the end of the block.
            let registrar =
                unsafe { RawConn::connect(db.handle()) }.map_err(|e| Error::internal("connecting to DuckDB", e))?;
            ffi::register_stream_function(&registrar, STREAM_FUNCTION, Arc::clone(&grants))
                .map_err(|e| Error::internal("registering the stream function", e))?;
            super::numeric::register(&registrar)
                .map_err(|e| Error::internal("registering the division function", e))?;
            super::clock::register(&registrar).map_err(|e| Error::internal("registering the clock function", e))?;
            super::intervals::register(&registrar)
                .map_err(|e| Error::internal("registering the interval functions", e))?;
            super::jsonb_functions::register(&registrar)
                .map_err(|e| Error::internal("registering the jsonb functions", e))?;
        }
        for sql in &settings.setup {
            root.execute_batch(sql).map_err(|e| Error::internal("setting up the engine instance", e))?;
        }
        // Order matters: allowed directories can only be set while external access is still on,
        // and once the configuration is locked nothing (not even a client's SET) can loosen it.
        let allowed: Vec<String> = settings
            .allowed_directories
            .iter()
            .map(|d| {
                let _ = std::fs::create_dir_all(d);
                quote_path(&PathBuf::from(format!("{}/", d.to_string_lossy().trim_end_matches('/'))))
            })
            .collect();
        for sql in [
            "SET GLOBAL TimeZone = 'UTC'".to_owned(),
            // Set again on the live instance: in DuckDB 1.5 the value given at open is only
            // stored, never handed to the buffer manager, which then caps spilling at 90% of the
            // disk's free space (a 60-way cross join of catalog relations spilled 52 GB so)
            format!("SET GLOBAL max_temp_directory_size = '{}'", settings.max_temp_size.replace('\'', "")),
            super::POSTGRES_ARITHMETIC.to_owned(),
            format!("SET allowed_directories = [{}]", allowed.join(", ")),
            "SET enable_external_access = false".to_owned(),
            "SET lock_configuration = true".to_owned(),
        ] {
            root.execute_batch(&sql).map_err(|e| Error::internal("locking the engine configuration", e))?;
        }
        let root_id = connection_id(&root)?;
        Ok(Instance {
            idle: Mutex::new(Vec::new()),
            attachments: Arc::new(Attachments::new(tables_dir, ATTACHED_FILES)),
            root: Arc::new(Mutex::new(root)),
            root_id,
            db,
            place,
            relations,
            grants,
            last_used: AtomicU64::new(0),
            writes: Arc::new(WriteClock::default()),
            incarnation: INCARNATIONS.fetch_add(1, Ordering::Relaxed),
            descriptions: Default::default(),
            extensions,
        })
    }

    /// A connection for statements that may write the instance's files: plans kept for reads
    /// stop being reused from now until well after it is checked in.
    pub(super) fn checkout(&self) -> Result<PooledConn> {
        self.writes.start();
        let conn = self.checkout_any();
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                self.writes.end();
                return Err(e);
            }
        };
        conn.writer = Some(Arc::clone(&self.writes));
        Ok(conn)
    }

    /// A connection for statements that write none of the instance's files: a client's read
    /// (in a read-only transaction) and the server's own reads (statistics, descriptions,
    /// DuckDB's memory for /metrics), which must not throw kept plans away.
    pub(super) fn checkout_reader(&self) -> Result<PooledConn> {
        self.checkout_any()
    }

    /// The instance's data as of now, while no statement that may write its files runs:
    /// moves with every write (DuckDB plans with the statistics of the moment, compressed sort
    /// keys among them, and keeps them in the plan) and every detach (a plan names the
    /// database). `None` while a writer runs: it may commit at any moment, so nothing read
    /// now may be kept (a plan kept then could serve a read after the commit).
    pub(crate) fn stable_epoch(&self) -> Option<DataEpoch> {
        let detaches = self.attachments.detached();
        let writes = self.writes.stable()?;
        Some(DataEpoch { incarnation: self.incarnation, writes, detaches })
    }

    /// Makes `conn`'s kept plans current: drops them when the data epoch moved since they
    /// were made (once when a writer starts: while it runs, reads of table files keep no
    /// plan). Answers the epoch under which they may be kept and used, `None` while a writer
    /// runs. Call before preparing through the connection's statement cache.
    pub(super) fn refresh_plans(&self, conn: &mut PooledConn) -> Option<DataEpoch> {
        let epoch = self.stable_epoch();
        if conn.plans_at != epoch {
            conn.conn.flush_prepared_statement_cache();
            conn.plans_at = epoch;
        }
        epoch
    }

    fn checkout_any(&self) -> Result<PooledConn> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = self
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_clone()
            .map_err(|e| Error::internal("opening an engine connection", e))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let id = connection_id(&conn)?;
        Ok(PooledConn { conn, id, writer: None, plans_at: None })
    }

    pub(super) fn checkin(&self, mut conn: PooledConn) {
        if let Some(writes) = conn.writer.take() {
            writes.end();
        }
        // Streams granted to this connection end with the statement that used them.
        self.grants.revoke_all(conn.id);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_CONNECTIONS && conn.conn.is_autocommit() {
            idle.push(conn);
        }
    }

    /// Attaches (if needed) and leases this project's own table files. A file of another
    /// project is never attached here: see [`Instance::lease_foreign`].
    pub(super) fn lease_local(&self, file: &TableFile, create: bool) -> Result<Lease> {
        if self.place != Place::Project(file.project_id) {
            return Err(Error::internal(
                "leasing a table file",
                format!("project {}'s file asked of the {:?} instance", file.project_id, self.place),
            ));
        }
        self.attachments.lease(&self.root, file, create)
    }

    /// Makes another project's table file readable on connection `conn` for one statement:
    /// a catalog in memory named like the file's attachment, whose `main.data` is a view over
    /// `duckstore_stream('<alias>')`, streamed from `source`'s instance. Only `conn` may read it.
    pub(super) fn lease_foreign(
        &self,
        conn: u64,
        file: &TableFile,
        source: &super::streams::ForeignTable,
    ) -> Result<Lease> {
        let alias = file.alias();
        let grant = StreamGrant { columns: Arc::clone(&source.columns), open: source.factory() };
        let lease = self.attachments.lease_view(&self.root, file, || {
            // The view binds its columns when created: the root connection may read the
            // stream while it does.
            self.grants.grant(self.root_id, &alias, grant.clone());
            let created = self.root.lock().unwrap_or_else(|p| p.into_inner()).execute_batch(&format!(
                "CREATE OR REPLACE VIEW \"{alias}\".main.data AS SELECT * FROM {STREAM_FUNCTION}('{alias}')"
            ));
            self.grants.revoke(self.root_id, &alias);
            created.map_err(|e| Error::internal("exposing another project's table", e))
        })?;
        self.grants.grant(conn, &alias, grant);
        Ok(lease)
    }

    /// Grants connection `conn` the rows of `source` under `key` until it is checked in.
    pub(super) fn grant_stream(&self, conn: u64, key: &str, grant: StreamGrant) {
        self.grants.grant(conn, key, grant);
    }

    pub(super) fn touch(&self, now: u64) {
        self.last_used.store(now, Ordering::Relaxed);
    }

    /// A raw connection, for reading results chunk by chunk.
    pub(super) fn raw_connection(&self) -> FfiResult<RawConn> {
        // SAFETY: the instance outlives the connection: callers hold an Arc<Instance> beside it.
        unsafe { RawConn::connect(self.db.handle()) }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // DuckDB checkpoints each file as it detaches it.
        self.attachments.detach_all(&self.root);
    }
}

fn connection_id(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT current_connection_id()", [], |r| r.get::<_, i64>(0))
        .map(|id| id as u64)
        .map_err(|e| Error::internal("reading a connection's id", e))
}
