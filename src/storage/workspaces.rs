//! Workspaces: isolated DuckDB databases for transformations. A storage session creates one
//! (in its branch) and gets credentials; workspace sessions log in with them and run any
//! DuckDB SQL inside the sandbox (engine/workspaces.rs). Input mapping copies storage tables
//! in, output mapping imports workspace tables into storage, both as Arrow batches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::credentials;
use super::loads::{Dedup, Filter, filter_conditions};
use super::names::quote_ident;
use super::tables::{TableName, require_write, session_branch};
use super::{Inner, Principal, SessionContext, Storage, TextRows, ViewExpander};
use crate::catalog::{Scope, WorkspaceRecord};
use crate::clock::now_micros;
use crate::engine::{Query, SandboxLimits, SqlOrigin, WorkspaceConn, WorkspaceFile};
use crate::error::{Error, ErrorKind, Result, SqlState};

/// Limits for workspaces, from the server's configuration.
#[derive(Debug, Clone)]
pub struct WorkspaceSettings {
    pub sandbox: SandboxLimits,
    pub statement_timeout_secs: u64,
    pub max_sessions: usize,
    pub total_sessions: usize,
    pub default_size_limit: u64,
    /// Where clients reach the Postgres port (answered with new workspace credentials).
    pub pg_addr: std::net::SocketAddr,
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        WorkspaceSettings {
            sandbox: SandboxLimits {
                memory_limit: "1GB".into(),
                threads: 1,
                temp_limit: "10GB".into(),
                max_result_bytes: 1 << 30,
            },
            statement_timeout_secs: 300,
            max_sessions: 10,
            total_sessions: 200,
            default_size_limit: 10 << 30,
            pg_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 5433)),
        }
    }
}

/// Open workspace sessions, per workspace and in total.
#[derive(Default)]
pub(crate) struct SessionCounts {
    per_workspace: Mutex<HashMap<i64, usize>>,
    total: AtomicUsize,
}

/// A workspace session's slot in the session counts; given back when dropped.
pub(crate) struct SessionSlot {
    storage: Storage,
    workspace_id: i64,
}

impl SessionSlot {
    /// A slot within the per-workspace and server-wide session limits (`53300` past them).
    fn take(storage: &Storage, workspace_id: i64) -> Result<SessionSlot> {
        let settings = &storage.inner.workspace_settings;
        let counts = &storage.inner.workspace_sessions;
        let mut per = counts.per_workspace.lock().unwrap_or_else(|p| p.into_inner());
        let here = per.get(&workspace_id).copied().unwrap_or(0);
        if here >= settings.max_sessions {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!("workspace {workspace_id} already has {here} sessions, its maximum"),
            )
            .with_sqlstate(SqlState::TooManyConnections));
        }
        if counts.total.load(Ordering::Acquire) >= settings.total_sessions {
            return Err(Error::new(ErrorKind::ResourceExhausted, "too many workspace sessions on this server")
                .with_sqlstate(SqlState::TooManyConnections));
        }
        *per.entry(workspace_id).or_default() += 1;
        counts.total.fetch_add(1, Ordering::AcqRel);
        metrics::gauge!("duckstore_workspace_sessions").increment(1.0);
        Ok(SessionSlot { storage: storage.clone(), workspace_id })
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let counts = &self.storage.inner.workspace_sessions;
        let mut per = counts.per_workspace.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per.get_mut(&self.workspace_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per.remove(&self.workspace_id);
            }
        }
        counts.total.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("duckstore_workspace_sessions").decrement(1.0);
    }
}

/// A workspace session: its connection and limits, and its slot.
pub struct WorkspaceSession {
    _slot: SessionSlot,
    pub workspace_id: i64,
    pub conn: WorkspaceConn,
    pub size_limit: i64,
    pub statement_timeout_secs: u64,
}

/// A new workspace and its credentials (the password is shown only here).
pub struct WorkspaceCreated {
    pub record: WorkspaceRecord,
    pub user: String,
    pub password: String,
}

fn workspace_not_found(id: i64) -> Error {
    Error::not_found(format!("workspace {id} does not exist")).with_sqlstate(SqlState::UndefinedObject)
}

fn file_of(w: &WorkspaceRecord) -> WorkspaceFile {
    WorkspaceFile { project_id: w.project_id, branch_id: w.branch_id, workspace_id: w.id }
}

/// Parses a workspace user name: `ws_<id>` (the workspace's own login) or `ws_<id>_<number>`
/// (a further login from `create_workspace_user`).
pub fn workspace_user(user: &str) -> Option<(i64, Option<i64>)> {
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0'))
            .then(|| s.parse().ok())
            .flatten()
    };
    let rest = user.strip_prefix("ws_")?;
    match rest.split_once('_') {
        None => Some((number(rest)?, None)),
        Some((id, n)) => Some((number(id)?, Some(number(n)?))),
    }
}

impl Storage {
    /// Where clients reach the Postgres port.
    pub fn pg_addr(&self) -> std::net::SocketAddr {
        self.inner.workspace_settings.pg_addr
    }

    /// A workspace the session manages: of its project and branch, or of any branch of its
    /// project for a project_admin token (see `manages_every_branch`).
    fn own_workspace(inner: &Inner, ctx: &SessionContext, id: i64) -> Result<WorkspaceRecord> {
        let (project_id, branch_id) = session_branch(ctx)?;
        let every_branch = manages_every_branch(ctx);
        inner
            .catalog
            .read(|tx| tx.workspace(id))?
            .filter(|w| w.project_id == project_id && (w.branch_id == branch_id || every_branch))
            .ok_or_else(|| workspace_not_found(id))
    }

    /// `create_workspace`: an empty isolated database in the session's branch.
    pub async fn create_workspace(
        &self,
        ctx: SessionContext,
        name: String,
        ttl_hours: Option<i64>,
        size_limit: Option<i64>,
        read_only_storage: bool,
    ) -> Result<WorkspaceCreated> {
        let (project_id, branch_id) = require_write(&ctx)?;
        super::names::validate_table_name(&name).map_err(|_| {
            Error::invalid(format!("invalid workspace name {name:?}: [A-Za-z0-9_-]{{1,96}}"))
                .with_sqlstate(SqlState::InvalidName)
        })?;
        if ttl_hours.is_some_and(|h| !(1..=24 * 365).contains(&h)) {
            return Err(
                Error::invalid("ttl_hours must be between 1 and 8760").with_sqlstate(SqlState::InvalidParameterValue)
            );
        }
        if size_limit.is_some_and(|s| s < 1 << 20) {
            return Err(Error::invalid("size_limit is in bytes and at least 1 MiB")
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        let password = credentials::new_secret();
        let scram = credentials::scram_verifier(&password);
        let default_size = self.inner.workspace_settings.default_size_limit as i64;
        let record = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let now = now_micros();
                    let record = tx.insert_workspace(&WorkspaceRecord {
                        id: 0,
                        project_id,
                        branch_id,
                        name: name.clone(),
                        scram,
                        size_limit: size_limit.unwrap_or(default_size),
                        read_only_storage,
                        created_at: now,
                        created_by: ctx.user.clone(),
                        expires_at: ttl_hours.map(|h| now + h * 3_600_000_000),
                        password_reset_at: None,
                    })?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(project_id),
                        "create_workspace",
                        ("workspace", record.id.to_string()),
                        json!({"name": name}),
                    )?;
                    Ok(record)
                })
            })
            .await?;
        metrics::counter!("duckstore_workspaces_created_total").increment(1);
        Ok(WorkspaceCreated { user: record.user(), record, password })
    }

    /// `drop_workspace`: its sessions are closed and its files removed.
    pub async fn drop_workspace(&self, ctx: SessionContext, id: i64) -> Result<()> {
        require_write(&ctx)?;
        let record = {
            let ctx = ctx.clone();
            self.blocking(move |inner| {
                let record = Self::own_workspace(inner, &ctx, id)?;
                inner.catalog.write(|tx| {
                    tx.delete_workspace(id)?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(record.project_id),
                        "drop_workspace",
                        ("workspace", id.to_string()),
                        json!({}),
                    )
                })?;
                Ok(record)
            })
            .await?
        };
        self.inner.bump_credential_epoch();
        self.inner.sessions.close_workspace(id);
        self.remove_workspace_files(&record).await;
        Ok(())
    }

    /// Removes a dropped workspace's files once its instance has closed.
    async fn remove_workspace_files(&self, record: &WorkspaceRecord) {
        let file = file_of(record);
        for _ in 0..100 {
            if !self.engine().workspace_is_open(&file) {
                if let Err(e) = self.engine().remove_workspace_files(&file) {
                    tracing::warn!(error = %e, workspace = record.id, "a dropped workspace's files could not be removed");
                }
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tracing::warn!(workspace = record.id, "a dropped workspace is still open; its files go at the next start");
    }

    /// `reset_workspace_password`: a new password; the old one stops working.
    pub async fn reset_workspace_password(&self, ctx: SessionContext, id: i64) -> Result<WorkspaceCreated> {
        require_write(&ctx)?;
        let password = credentials::new_secret();
        let scram = credentials::scram_verifier(&password);
        let record = self
            .blocking(move |inner| {
                let record = Self::own_workspace(inner, &ctx, id)?;
                inner.catalog.write(|tx| {
                    tx.reset_workspace_password(id, &scram, now_micros())?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(record.project_id),
                        "reset_workspace_password",
                        ("workspace", id.to_string()),
                        json!({}),
                    )
                })?;
                Ok(record)
            })
            .await?;
        Ok(WorkspaceCreated { user: record.user(), record, password })
    }

    /// `create_workspace_user`: a further login of a workspace (`ws_<id>_<number>`) with its
    /// own password, shown only here.
    pub async fn create_workspace_user(&self, ctx: SessionContext, id: i64) -> Result<(String, String)> {
        require_write(&ctx)?;
        let password = credentials::new_secret();
        let scram = credentials::scram_verifier(&password);
        let user = self
            .blocking(move |inner| {
                let record = Self::own_workspace(inner, &ctx, id)?;
                inner.catalog.write(|tx| {
                    let number = tx.insert_workspace_user(id, &scram, now_micros(), &ctx.user)?;
                    let user = format!("{}_{number}", record.user());
                    inner.audit(
                        tx,
                        &ctx,
                        Some(record.project_id),
                        "create_workspace_user",
                        ("workspace", id.to_string()),
                        json!({"user": user}),
                    )?;
                    Ok(user)
                })
            })
            .await?;
        Ok((user, password))
    }

    /// `drop_workspace_user`: the login stops working; its sessions end at their next statement.
    pub async fn drop_workspace_user(&self, ctx: SessionContext, user: String) -> Result<()> {
        require_write(&ctx)?;
        let Some((id, Some(number))) = workspace_user(&user) else {
            return Err(Error::invalid(format!(
                "\"{user}\" is not a workspace user from create_workspace_user (ws_<workspace>_<number>)"
            ))
            .with_sqlstate(SqlState::InvalidParameterValue));
        };
        self.blocking(move |inner| {
            let record = Self::own_workspace(inner, &ctx, id)?;
            inner.catalog.write(|tx| {
                if !tx.delete_workspace_user(id, number)? {
                    return Err(Error::not_found(format!("workspace user \"{user}\" does not exist"))
                        .with_sqlstate(SqlState::UndefinedObject));
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(record.project_id),
                    "drop_workspace_user",
                    ("workspace", id.to_string()),
                    json!({"user": user}),
                )
            })?;
            inner.bump_credential_epoch();
            Ok(())
        })
        .await
    }

    /// Logging in to a workspace: the verifier, and the session it opens.
    pub(super) fn plan_workspace_login(
        inner: &Inner,
        (id, number): (i64, Option<i64>),
        user: &str,
        database: &str,
    ) -> Result<Option<(crate::catalog::ScramVerifier, Result<SessionContext>)>> {
        let Some(w) = inner.catalog.read(|tx| tx.workspace(id))? else { return Ok(None) };
        let verifier = match number {
            None => w.scram.clone(),
            Some(n) => match inner.catalog.read(|tx| tx.workspace_user_verifier(id, n))? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        let session = if w.expires_at.is_some_and(|at| at <= now_micros()) {
            Err(Error::unauthenticated(format!(
                "password authentication failed for user \"{user}\": the workspace has expired"
            ))
            .with_sqlstate(SqlState::InvalidPassword))
        } else if !(database.is_empty() || database == user || database == w.user() || database == w.name) {
            Err(Error::not_found(format!(
                "database \"{database}\" does not exist: workspace {id} is \"{user}\" or \"{}\"",
                w.name
            ))
            .with_sqlstate(SqlState::InvalidCatalogName))
        } else {
            Ok(SessionContext {
                principal: Principal::Workspace { project_id: w.project_id, workspace_id: w.id },
                branch_id: Some(w.branch_id),
                user: user.to_owned(),
            })
        };
        Ok(Some((verifier, session)))
    }

    /// Opens a workspace session's connection, within the session limits.
    /// `expander` expands a view read through a `read_only_storage` scan, as this session.
    pub async fn start_workspace_session(
        &self,
        ctx: &SessionContext,
        expander: ViewExpander,
    ) -> Result<WorkspaceSession> {
        let Principal::Workspace { workspace_id, .. } = ctx.principal else {
            return Err(Error::internal("opening a workspace session", "not a workspace login"));
        };
        let record = self
            .blocking(move |inner| inner.catalog.read(|tx| tx.workspace(workspace_id)))
            .await?
            .ok_or_else(|| workspace_not_found(workspace_id))?;
        let settings = self.inner.workspace_settings.clone();
        let slot = SessionSlot::take(self, workspace_id)?;
        let conn = self.engine().workspace_connect(file_of(&record), settings.sandbox.clone()).await?;
        if record.read_only_storage {
            self.expose_storage(ctx, &conn, expander).await?;
        }
        Ok(WorkspaceSession {
            _slot: slot,
            workspace_id,
            conn,
            size_limit: record.size_limit,
            statement_timeout_secs: settings.statement_timeout_secs,
        })
    }

    /// read_only_storage: the branch's tables (linked buckets included) as views in the
    /// workspace, listed now, read at query time through the storage layer's checks.
    async fn expose_storage(&self, ctx: &SessionContext, conn: &WorkspaceConn, expander: ViewExpander) -> Result<()> {
        let snapshot = self.catalog_snapshot(ctx.clone()).await?;
        // tables and views alike: a view is read through the same scan, expanded as the session
        let tables: Vec<(String, Vec<String>)> = snapshot
            .buckets
            .iter()
            .map(|b| {
                let tables = snapshot.tables.iter().filter(|(id, _)| *id == b.id).map(|(_, t)| t.name.clone());
                let views = snapshot.views.iter().filter(|(id, _)| *id == b.id).map(|(_, v)| v.name.clone());
                (b.full_name(), tables.chain(views).collect())
            })
            .collect();
        let source = Arc::new(WorkspaceStorageSource {
            inner: Arc::clone(&self.inner),
            ctx: ctx.clone(),
            expander,
            runtime: tokio::runtime::Handle::current(),
        });
        self.engine().workspace_expose_storage(conn, source, tables).await
    }

    /// `load_workspace`: copies storage tables (or parts of them) of the workspace's branch into
    /// the workspace, all of them or none.
    pub async fn load_workspace(
        &self,
        ctx: SessionContext,
        id: i64,
        mappings: Vec<InputMapping>,
    ) -> Result<Vec<usize>> {
        let record = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_workspace(inner, &ctx, id)).await?
        };
        if mappings.is_empty() {
            return Err(
                Error::invalid("name at least one table to load").with_sqlstate(SqlState::InvalidParameterValue)
            );
        }
        let in_branch = in_workspace_branch(&ctx, &record);
        let mut tables = Vec::with_capacity(mappings.len());
        for m in mappings {
            let (query, declared) = self.read_for_workspace(&in_branch, &m).await?;
            tables.push(crate::engine::WorkspaceLoad {
                destination: m.destination.clone(),
                query,
                incremental: m.incremental,
                declared,
            });
        }
        let counts = self
            .engine()
            .workspace_load(file_of(&record), self.inner.workspace_settings.sandbox.clone(), tables)
            .await?;
        let rows: usize = counts.iter().sum();
        metrics::counter!("duckstore_workspace_loaded_rows_total").increment(rows as u64);
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                inner.audit(
                    tx,
                    &ctx,
                    Some(record.project_id),
                    "load_workspace",
                    ("workspace", id.to_string()),
                    json!({"rows": rows}),
                )
            })
        })
        .await?;
        Ok(counts)
    }

    /// The read of a storage table for an input mapping (columns, filters, limit), resolved and
    /// authorized for the session now; it runs while the workspace load consumes it.
    async fn read_for_workspace(
        &self,
        ctx: &SessionContext,
        m: &InputMapping,
    ) -> Result<(Query, crate::engine::DeclaredShape)> {
        let readable = self.resolve_reads(ctx.clone(), vec![m.source.clone()], vec![]).await?.remove(0);
        let table = &readable.table;
        // what the workspace table keeps of the storage table: types, NOT NULL, the key (when
        // every key column is loaded), under the workspace's column names
        let workspace_name = |from: &str| -> Option<String> {
            if m.columns.is_empty() {
                return Some(from.to_owned());
            }
            m.columns.iter().find(|(source, _)| source == from).map(|(_, to)| to.clone())
        };
        let declared = crate::engine::DeclaredShape {
            columns: table
                .columns
                .iter()
                .filter_map(|c| {
                    Some(crate::engine::DeclaredColumn {
                        name: workspace_name(&c.name)?,
                        json: c.sql_type == "JSON",
                        length: super::names::declared_length(&c.sql_type),
                        nullable: c.nullable,
                    })
                })
                .collect(),
            primary_key: table
                .primary_key
                .iter()
                .map(|k| workspace_name(k))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default(),
        };
        let columns: Vec<String> = if m.columns.is_empty() {
            table.columns.iter().map(|c| quote_ident(&c.name)).collect()
        } else {
            let mut seen = std::collections::HashSet::new();
            m.columns
                .iter()
                .map(|(from, to)| {
                    let column = table.columns.iter().find(|t| &t.name == from).ok_or_else(|| {
                        Error::not_found(format!("column \"{from}\" of table {} does not exist", m.source))
                            .with_sqlstate(SqlState::UndefinedColumn)
                    })?;
                    super::names::validate_column_name(to)?;
                    if !seen.insert(to.to_ascii_lowercase()) {
                        return Err(Error::already_exists(format!("workspace column \"{to}\" is named twice"))
                            .with_sqlstate(SqlState::DuplicateColumn));
                    }
                    Ok(if &column.name == to {
                        quote_ident(to)
                    } else {
                        format!("{} AS {}", quote_ident(&column.name), quote_ident(to))
                    })
                })
                .collect::<Result<_>>()?
        };
        let mut params = Vec::new();
        let conditions = filter_conditions(table, &m.filters, None, None, &mut params)?;
        let mut sql = format!("SELECT {} FROM {}", columns.join(", "), readable.file.data_ref());
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if let Some(limit) = m.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let query = Query {
            home: crate::engine::Place::Project(readable.file.project_id),
            sql,
            params,
            relations: vec![],
            tables: vec![readable.file.clone()],
            origin: SqlOrigin::Server,
            checks: None,
            labels: vec![],
        };
        Ok((query, declared))
    }

    /// `unload_workspace`: a workspace table into a storage table (created when missing), with
    /// the semantics of `import_table`.
    pub async fn unload_workspace(
        &self,
        ctx: SessionContext,
        id: i64,
        object: String,
        target: TableName,
        incremental: bool,
        dedup: Dedup,
    ) -> Result<super::loads::LoadResult> {
        require_write(&ctx)?;
        let record = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_workspace(inner, &ctx, id)).await?
        };
        let stream = self
            .engine()
            .workspace_scan(file_of(&record), self.inner.workspace_settings.sandbox.clone(), object.clone())
            .await?;
        let in_branch = in_workspace_branch(&ctx, &record);
        let how = super::loads::StreamLoad { incremental, dedup, keep_timestamps: false };
        self.load_stream(
            in_branch,
            target,
            stream,
            how,
            format!("workspace {id} object {object}"),
            (None, &crate::engine::Canceller::default()),
        )
        .await
    }

    /// `execute_workspace_query`: one statement of workspace SQL run for a storage session (a
    /// driver's ExecuteQuery), inside the workspace's sandbox and limits; the rows come back as
    /// text. The timeout is the shorter of the caller's and the server's.
    pub async fn execute_workspace_query(
        &self,
        ctx: SessionContext,
        id: i64,
        sql: String,
        timeout_secs: Option<i64>,
    ) -> Result<TextRows> {
        require_write(&ctx)?;
        if timeout_secs.is_some_and(|t| t < 1) {
            return Err(
                Error::invalid("timeout must be at least one second").with_sqlstate(SqlState::InvalidParameterValue)
            );
        }
        let record = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_workspace(inner, &ctx, id)).await?
        };
        let settings = &self.inner.workspace_settings;
        let limit = settings.statement_timeout_secs.max(1);
        let timeout = std::time::Duration::from_secs(timeout_secs.map_or(limit, |t| (t as u64).min(limit)));
        // a query from a storage session counts as a workspace session while it runs
        let _slot = SessionSlot::take(self, id)?;
        let conn = self.engine().workspace_connect(file_of(&record), settings.sandbox.clone()).await?;
        let canceller = crate::engine::Canceller::default();
        let run = async {
            let outcome = self.engine().workspace_execute(&conn, sql, vec![], record.size_limit, &canceller).await?;
            let crate::engine::WorkspaceOutcome::Rows(stream) = outcome else { return Ok(TextRows::default()) };
            TextRows::collect(stream).await
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => {
                canceller.cancel();
                Err(Error::new(ErrorKind::Cancelled, "canceling statement due to statement timeout"))
            }
        }
    }

    /// `clear_workspace` / `drop_workspace_object`.
    pub async fn drop_workspace_objects(
        &self,
        ctx: SessionContext,
        id: i64,
        names: Option<Vec<String>>,
        preserve: Vec<String>,
    ) -> Result<usize> {
        require_write(&ctx)?;
        let record = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_workspace(inner, &ctx, id)).await?
        };
        self.engine()
            .workspace_drop_objects(file_of(&record), self.inner.workspace_settings.sandbox.clone(), names, preserve)
            .await
    }

    /// Rows of `duckstore.workspaces` for the session.
    pub async fn workspace_rows(&self, ctx: SessionContext) -> Result<Vec<(WorkspaceRecord, i64, usize)>> {
        let place = if ctx.is_admin() { None } else { Some(session_branch(&ctx)?) };
        let every_branch = manages_every_branch(&ctx);
        let records = self
            .blocking(move |inner| {
                inner.catalog.read(|tx| match place {
                    Some((project, _)) if every_branch => tx.workspaces(Some(project), None),
                    Some((project, branch)) => tx.workspaces(Some(project), Some(branch)),
                    None => tx.workspaces(None, None),
                })
            })
            .await?;
        let per = self.inner.workspace_sessions.per_workspace.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(records
            .into_iter()
            .map(|w| {
                let bytes = self.engine().workspace_bytes(&file_of(&w));
                let sessions = per.get(&w.id).copied().unwrap_or(0);
                (w, bytes, sessions)
            })
            .collect())
    }

    /// Objects of one workspace (for the view).
    pub async fn workspace_object_count(&self, w: &WorkspaceRecord) -> usize {
        if !self.engine().workspace_is_open(&file_of(w)) && self.engine().workspace_bytes(&file_of(w)) == 0 {
            return 0;
        }
        self.engine()
            .workspace_objects(file_of(w), self.inner.workspace_settings.sandbox.clone())
            .await
            .map(|o| o.len())
            .unwrap_or(0)
    }

    /// Drops workspaces whose time ran out (the janitor).
    pub async fn expire_workspaces(&self) -> Result<usize> {
        let expired = self.blocking(|inner| inner.catalog.read(|tx| tx.expired_workspaces(now_micros()))).await?;
        for w in &expired {
            let id = w.id;
            self.blocking(move |inner| inner.catalog.write(|tx| tx.delete_workspace(id))).await?;
            self.inner.bump_credential_epoch();
            self.inner.sessions.close_workspace(w.id);
            self.remove_workspace_files(w).await;
            metrics::counter!("duckstore_workspaces_expired_total").increment(1);
        }
        Ok(expired.len())
    }
}

/// One table of an input mapping.
#[derive(Debug, Clone)]
pub struct InputMapping {
    pub source: TableName,
    pub destination: String,
    /// (source column, workspace column); empty: every column under its own name.
    pub columns: Vec<(String, String)>,
    pub filters: Vec<Filter>,
    pub limit: Option<i64>,
    /// Append to the workspace table (by column name) when it exists, instead of replacing it.
    pub incremental: bool,
}

/// How a workspace with `read_only_storage` reads storage tables: as its own principal, through
/// the same resolution and checks as a storage session's reads, at the time each scan starts.
struct WorkspaceStorageSource {
    inner: Arc<Inner>,
    ctx: SessionContext,
    expander: ViewExpander,
    runtime: tokio::runtime::Handle,
}

impl WorkspaceStorageSource {
    fn query(&self, bucket: &str, table: &str) -> Result<Query> {
        let name = TableName { schema: Some(bucket.to_owned()), name: table.to_owned() };
        let source = self.inner.resolve_sources_here(&self.ctx, std::slice::from_ref(&name), &[])?.remove(0);
        let readable = match source {
            super::ReadSource::Table(readable) => readable,
            super::ReadSource::View { .. } => {
                let resolve =
                    |names: &[TableName], path: &[String]| self.inner.resolve_sources_here(&self.ctx, names, path);
                let (mut sql, tables) = (self.expander)(&resolve, std::slice::from_ref(&name))?;
                // a view's query is the client's SQL: its errors are the client's
                return Ok(Query {
                    home: crate::engine::Place::Project(self.ctx.project_id().unwrap_or_default()),
                    sql: sql.remove(0),
                    params: vec![],
                    relations: vec![],
                    tables,
                    origin: SqlOrigin::User,
                    checks: None,
                    labels: vec![],
                });
            }
        };
        let columns: Vec<String> = readable.table.columns.iter().map(|c| quote_ident(&c.name)).collect();
        Ok(Query {
            home: crate::engine::Place::Project(readable.file.project_id),
            sql: format!("SELECT {} FROM {}", columns.join(", "), readable.file.data_ref()),
            params: vec![],
            relations: vec![],
            tables: vec![readable.file],
            origin: SqlOrigin::Server,
            checks: None,
            labels: vec![],
        })
    }
}

impl crate::engine::storage_scan::StorageSource for WorkspaceStorageSource {
    fn schema(&self, bucket: &str, table: &str) -> Result<arrow::datatypes::SchemaRef> {
        Ok(self.inner.engine.describe_nested(self.query(bucket, table)?)?.schema)
    }

    fn scan(&self, bucket: &str, table: &str) -> Result<crate::engine::QueryStream> {
        self.inner.engine.query_nested(&self.runtime, self.query(bucket, table)?)
    }
}

/// Whether the session manages the workspaces of every branch of its project: a project_admin
/// token not bound to a branch. Keboola Connection manages a dev branch's workspaces with the
/// project's credentials; branch tokens keep to their branch.
fn manages_every_branch(ctx: &SessionContext) -> bool {
    matches!(&ctx.principal, Principal::Token { scope: Scope::ProjectAdmin, token_branch_id: None, .. })
}

/// The session as it works on the workspace's branch: input and output mappings read and
/// write the tables of the branch the workspace belongs to.
fn in_workspace_branch(ctx: &SessionContext, workspace: &WorkspaceRecord) -> SessionContext {
    SessionContext { branch_id: Some(workspace.branch_id), ..ctx.clone() }
}
