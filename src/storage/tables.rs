//! Buckets and tables: creation, drops, and resolving names for reads, with their authorization.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::names::{self, ColumnType, TIMESTAMP_COLUMN, quote_ident};
use super::{Inner, Principal, SessionContext, Storage};
use crate::catalog::{BucketRecord, CatalogTx, ColumnRecord, NewBucket, Scope, TableRecord};
use crate::clock::now_micros;
use crate::engine::TableFile;
use crate::error::{Error, Result, SqlState};

/// A column as a client defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    /// The type as written (`STRING`, `DECIMAL(10,2)` …).
    pub type_name: String,
    pub not_null: bool,
    /// A validated default expression, as SQL.
    pub default_sql: Option<String>,
}

/// A table as a client defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub bucket: String,
    pub name: String,
    pub columns: Vec<ColumnSpec>,
    pub primary_key: Vec<String>,
    pub description: String,
}

/// A table name as written in a statement: `"in.c-sales"."orders"`, or `orders` (search path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// The qualified names this one may mean, in search order: itself when it names its
    /// bucket, else one per bucket of the search path.
    pub(crate) fn candidates(&self, search_path: &[String]) -> Vec<TableName> {
        match &self.schema {
            Some(_) => vec![self.clone()],
            None => search_path
                .iter()
                .map(|schema| TableName { schema: Some(schema.clone()), name: self.name.clone() })
                .collect(),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{}.{}", quote_ident(s), quote_ident(&self.name)),
            None => write!(f, "{}", quote_ident(&self.name)),
        }
    }
}

/// A table a statement may read: its file, and what it looks like.
#[derive(Debug, Clone)]
pub struct ReadableTable {
    pub file: TableFile,
    pub bucket: String,
    pub table: TableRecord,
}

/// The buckets and tables a session can see (for catalog views and client metadata queries).
#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    pub buckets: Vec<BucketRecord>,
    /// Tables by the id of the bucket the session sees them in (for links: the link's id).
    pub tables: Vec<(i64, TableRecord)>,
    /// In a dev branch: the tables read live from the default branch (not copied yet).
    pub live: HashSet<i64>,
    /// Views by the id of the bucket the session sees them in (links show none).
    pub views: Vec<(i64, crate::catalog::ViewRecord)>,
    /// In a dev branch: the ids of the default branch's views it shows.
    pub live_views: HashSet<i64>,
}

/// Per-table write locks: writers of one table queue, writers of different tables don't. The
/// lock is taken on the async side, before a blocking-pool slot: writers queued on one busy
/// table never hold slots that reads and logins need.
///
/// A transaction that writes holds its tables' locks until it ends (see `storage::transactions`),
/// so its waits are recorded: a transaction about to wait for a lock held, through a chain of
/// waits, by a transaction waiting for it is refused with `40P01` instead of waiting forever.
#[derive(Default)]
pub(crate) struct WriteLocks {
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    waits: Arc<Mutex<LockWaits>>,
}

pub(crate) type WriteGuard = tokio::sync::OwnedMutexGuard<()>;

/// Which transaction holds which table's lock, and which table each waiting transaction wants.
#[derive(Default)]
struct LockWaits {
    holders: HashMap<i64, u64>,
    waiting: HashMap<u64, i64>,
}

impl LockWaits {
    /// Whether `transaction` waiting for `table_id` would close a cycle of waits.
    fn would_deadlock(&self, transaction: u64, table_id: i64) -> bool {
        let mut table = table_id;
        for _ in 0..=self.waiting.len() {
            let Some(&holder) = self.holders.get(&table) else { return false };
            if holder == transaction {
                return true;
            }
            let Some(&next) = self.waiting.get(&holder) else { return false };
            table = next;
        }
        false
    }
}

/// A table's write lock held by a transaction until it ends.
pub(crate) struct TransactionLock {
    _guard: WriteGuard,
    table_id: i64,
    waits: Arc<Mutex<LockWaits>>,
}

impl Drop for TransactionLock {
    fn drop(&mut self) {
        self.waits.lock().unwrap_or_else(|p| p.into_inner()).holders.remove(&self.table_id);
    }
}

impl WriteLocks {
    fn lock_of(&self, table_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() > 4096 {
            // forget the locks nobody holds or waits for
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(locks.entry(table_id).or_default())
    }

    /// The lock of `table_id`, waiting in line; the wait ends with the running statement (see
    /// [`as_statement`]) when there is one.
    pub(super) async fn acquire(&self, table_id: i64) -> Result<WriteGuard> {
        if let Some(canceller) = statement_canceller() {
            return self.acquire_cancellable(table_id, None, &canceller).await;
        }
        let lock = self.lock_of(table_id);
        let waited = std::time::Instant::now();
        let guard = lock.lock_owned().await;
        metrics::histogram!("duckstore_write_wait_seconds").record(waited.elapsed().as_secs_f64());
        Ok(guard)
    }

    /// The lock of `table_id` for `transaction`, held until the answer drops (see
    /// [`Self::acquire_cancellable`]).
    pub(super) async fn acquire_for_transaction(
        &self,
        table_id: i64,
        transaction: u64,
        canceller: &crate::engine::Canceller,
    ) -> Result<TransactionLock> {
        let guard = self.acquire_cancellable(table_id, Some(transaction), canceller).await?;
        self.waits.lock().unwrap_or_else(|p| p.into_inner()).holders.insert(table_id, transaction);
        Ok(TransactionLock { _guard: guard, table_id, waits: Arc::clone(&self.waits) })
    }

    /// The lock of `table_id`, waiting in line with every other writer, for one statement or
    /// (`transaction`) for a transaction. The wait ends when the statement is cancelled
    /// (`57014`: a writer queued behind an idle transaction still has its statement timeout);
    /// a transaction's wait that would deadlock is refused (`40P01`).
    pub(super) async fn acquire_cancellable(
        &self,
        table_id: i64,
        transaction: Option<u64>,
        canceller: &crate::engine::Canceller,
    ) -> Result<WriteGuard> {
        let lock = self.lock_of(table_id);
        let waited = std::time::Instant::now();
        let guard = match Arc::clone(&lock).try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                let acquired = lock.lock_owned();
                tokio::pin!(acquired);
                let outcome = loop {
                    if let Some(transaction) = transaction {
                        let mut waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
                        if waits.would_deadlock(transaction, table_id) {
                            break Err(Error::new(
                                crate::error::ErrorKind::Conflict,
                                "deadlock detected: two transactions each wait for a table the other wrote",
                            )
                            .with_sqlstate(SqlState::DeadlockDetected)
                            .with_hint("retry the transaction"));
                        }
                        waits.waiting.insert(transaction, table_id);
                    }
                    if canceller.is_cancelled() {
                        break Err(Error::cancelled());
                    }
                    tokio::select! {
                        guard = &mut acquired => break Ok(guard),
                        _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                    }
                };
                if let Some(transaction) = transaction {
                    self.waits.lock().unwrap_or_else(|p| p.into_inner()).waiting.remove(&transaction);
                }
                outcome?
            }
        };
        metrics::histogram!("duckstore_write_wait_seconds").record(waited.elapsed().as_secs_f64());
        Ok(guard)
    }
}

tokio::task_local! {
    static STATEMENT_CANCELLER: crate::engine::Canceller;
}

/// Runs `future` as the statement `canceller` cancels: every lock wait of the storage
/// operations it calls ends when it fires.
pub async fn as_statement<F: std::future::Future>(canceller: crate::engine::Canceller, future: F) -> F::Output {
    STATEMENT_CANCELLER.scope(canceller, future).await
}

pub(super) fn statement_canceller() -> Option<crate::engine::Canceller> {
    STATEMENT_CANCELLER.try_with(Clone::clone).ok()
}

/// The project and branch a session works in; the admin has none.
pub(crate) fn session_branch(ctx: &SessionContext) -> Result<(i64, i64)> {
    match (&ctx.principal, ctx.branch_id) {
        (Principal::Token { project_id, .. }, Some(branch)) => Ok((*project_id, branch)),
        _ => Err(Error::permission_denied(
            "the admin manages projects and tokens; connect with a project token to work with buckets and tables",
        )),
    }
}

/// Where a read looks: a token's branch, or the branch of a workspace (whose sessions read
/// storage only through `read_only_storage`; every write path uses `session_branch`).
pub(crate) fn read_branch(ctx: &SessionContext) -> Result<(i64, i64)> {
    match (&ctx.principal, ctx.branch_id) {
        (Principal::Workspace { project_id, .. }, Some(branch)) => Ok((*project_id, branch)),
        _ => session_branch(ctx),
    }
}

/// Refuses writes to read-only sessions.
pub(crate) fn require_write(ctx: &SessionContext) -> Result<(i64, i64)> {
    let place = session_branch(ctx)?;
    if ctx.scope() == Some(Scope::BranchRead) {
        return Err(Error::permission_denied("this token is read-only (branch_read)"));
    }
    Ok(place)
}

fn bucket_not_found(full: &str) -> Error {
    Error::not_found(format!("schema \"{full}\" does not exist")).with_sqlstate(SqlState::InvalidSchemaName)
}

pub(crate) fn table_not_found(name: &TableName) -> Error {
    Error::not_found(format!("relation {name} does not exist")).with_sqlstate(SqlState::UndefinedTable)
}

impl Inner {
    pub(crate) fn bucket_named(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        full: &str,
    ) -> Result<BucketRecord> {
        let (stage, name) = names::parse_bucket(full).map_err(|_| bucket_not_found(full))?;
        tx.bucket_by_name(project_id, branch_id, &stage, &name)?.ok_or_else(|| bucket_not_found(full))
    }

    pub(crate) fn file_of(&self, tx: &CatalogTx<'_>, table: &TableRecord) -> Result<TableFile> {
        let bucket =
            tx.bucket(table.bucket_id)?.ok_or_else(|| Error::internal("locating a table", "bucket missing"))?;
        Ok(TableFile {
            project_id: bucket.project_id,
            branch_id: bucket.branch_id,
            table_id: table.id,
            version: table.version,
        })
    }

    /// The bucket whose tables a session sees under `bucket` (the source, for a link), checked
    /// for read access.
    pub(crate) fn readable_source(
        &self,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
        bucket: &BucketRecord,
    ) -> Result<BucketRecord> {
        if ctx.scope() == Some(Scope::BranchRead) && !bucket.read_grant {
            return Err(Error::permission_denied(format!(
                "read-only tokens may not read bucket \"{}\" (its read grant was revoked)",
                bucket.full_name()
            )));
        }
        match bucket.source_bucket_id {
            None => Ok(bucket.clone()),
            Some(source_id) => {
                let source = tx.bucket(source_id)?.ok_or_else(|| {
                    Error::sql(
                        SqlState::ObjectNotInPrerequisiteState,
                        format!("the source of linked bucket \"{}\" is gone", bucket.full_name()),
                    )
                })?;
                if !tx.is_shared_with(source.id, bucket.project_id)? {
                    return Err(Error::permission_denied(format!(
                        "bucket \"{}\" is no longer shared with this project",
                        bucket.full_name()
                    )));
                }
                Ok(source)
            }
        }
    }
}

impl Storage {
    /// `CREATE SCHEMA` / `create_bucket`.
    pub async fn create_bucket(
        &self,
        ctx: SessionContext,
        stage: String,
        name: String,
        description: String,
        if_not_exists: bool,
    ) -> Result<BucketRecord> {
        names::refuse_reserved_bucket(&name)?;
        self.create_bucket_for(ctx, stage, name, description, if_not_exists, None).await.map(|(bucket, _)| bucket)
    }

    /// [`Self::create_bucket`], or (`transaction`) a bucket that transaction alone sees until
    /// it commits, audited then. Answers the bucket and whether it is new.
    pub(super) async fn create_bucket_for(
        &self,
        ctx: SessionContext,
        stage: String,
        name: String,
        description: String,
        if_not_exists: bool,
        transaction: Option<u64>,
    ) -> Result<(BucketRecord, bool)> {
        let (project_id, branch_id) = require_write(&ctx)?;
        names::validate_stage(&stage)?;
        names::validate_bucket_name(&name)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                if let Some(existing) = tx.bucket_by_name(project_id, branch_id, &stage, &name)?
                    && if_not_exists
                {
                    return Ok((existing, false));
                }
                // in a dev branch, the default branch's buckets are there too
                if let Some(live) = inner.live_bucket(tx, project_id, branch_id, &stage, &name)?
                    && tx.bucket_by_name(project_id, branch_id, &stage, &name)?.is_none()
                {
                    if if_not_exists {
                        return Ok((live, false));
                    }
                    return Err(Error::already_exists(format!("schema \"{}\" already exists", live.full_name()))
                        .with_sqlstate(SqlState::DuplicateSchema));
                }
                let bucket = tx.insert_bucket(&NewBucket {
                    project_id,
                    branch_id,
                    stage: &stage,
                    name: &name,
                    description: &description,
                    source_bucket_id: None,
                    created_at: now_micros(),
                    created_by: &ctx.user,
                    mirrors_bucket_id: None,
                })?;
                if let Some(transaction) = transaction {
                    tx.mark_bucket_created_in(bucket.id, transaction)?;
                    return Ok((bucket, true));
                }
                inner.audit(tx, &ctx, Some(project_id), "create_bucket", ("bucket", bucket.full_name()), json!({}))?;
                Ok((bucket, true))
            })
        })
        .await
    }

    /// `DROP SCHEMA` / `drop_bucket`: refused with `2BP01` while it has tables unless `cascade`;
    /// a shared bucket cannot be dropped while other projects link it. Dropping a linked bucket
    /// unlinks it.
    pub async fn drop_bucket(&self, ctx: SessionContext, full: String, cascade: bool, if_exists: bool) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        self.blocking(move |inner| {
            // In a dev branch, dropping a bucket it reads live from the default branch hides it.
            let hidden = inner.catalog.write(|tx| {
                let Ok((stage, name)) = names::parse_bucket(&full) else { return Ok(false) };
                if tx.bucket_by_name(project_id, branch_id, &stage, &name)?.is_some() {
                    return Ok(false);
                }
                let Some(live) = inner.live_bucket(tx, project_id, branch_id, &stage, &name)? else { return Ok(false) };
                let mut visible = 0;
                for t in tx.tables_of(&[live.source_bucket_id.unwrap_or(live.id)])? {
                    if !tx.is_hidden(branch_id, "table", t.id)? {
                        visible += 1;
                    }
                }
                if visible > 0 && !cascade {
                    return Err(Error::failed_precondition(format!(
                        "cannot drop schema \"{full}\" because it has {visible} table(s); use DROP SCHEMA … CASCADE"
                    ))
                    .with_sqlstate(SqlState::DependentObjectsStillExist));
                }
                tx.hide(branch_id, "bucket", live.id)?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "drop_bucket",
                    ("bucket", full.clone()),
                    json!({"branch": branch_id, "hidden": true}),
                )?;
                Ok(true)
            })?;
            if hidden {
                return Ok(true);
            }
            // Each table passes the destruction hook first (outside the catalog transaction).
            let doomed = inner.catalog.read(|tx| match inner.bucket_named(tx, project_id, branch_id, &full) {
                Ok(b) if b.source_bucket_id.is_none() && cascade => {
                    let tables = tx.tables_of(&[b.id])?;
                    tables.into_iter().map(|t| Ok((inner.file_of(tx, &t)?, t))).collect::<Result<Vec<_>>>()
                }
                _ => Ok(vec![]),
            })?;
            for (file, table) in &doomed {
                inner.before_destruction(&ctx, table, file, super::schema::Destruction::DropTable)?;
            }
            let files = inner.catalog.write(|tx| {
                let bucket = match inner.bucket_named(tx, project_id, branch_id, &full) {
                    Ok(b) => b,
                    Err(_) if if_exists => return Ok(None),
                    Err(e) => return Err(e),
                };
                let links = tx.links_of(bucket.id)?;
                if !links.is_empty() {
                    let projects: Vec<String> = links.iter().map(|l| l.project_id.to_string()).collect();
                    return Err(Error::failed_precondition(format!(
                        "bucket \"{full}\" is linked by project(s) {}; they must unlink it first",
                        projects.join(", ")
                    ))
                    .with_sqlstate(SqlState::DependentObjectsStillExist));
                }
                let mut files = Vec::new();
                if bucket.source_bucket_id.is_none() {
                    let tables = tx.tables_of(&[bucket.id])?;
                    let views = tx.views_of(&[bucket.id])?.len();
                    if (!tables.is_empty() || views > 0) && !cascade {
                        return Err(Error::failed_precondition(format!(
                            "cannot drop schema \"{full}\" because it has {} table(s) and {views} view(s); use DROP SCHEMA … CASCADE",
                            tables.len()
                        ))
                        .with_sqlstate(SqlState::DependentObjectsStillExist));
                    }
                    for t in tables {
                        files.push((inner.file_of(tx, &t)?, t));
                    }
                }
                tx.delete_bucket(bucket.id)?;
                if let Some(mirrored) = bucket.mirrors_bucket_id {
                    tx.hide(branch_id, "bucket", mirrored)?;
                }
                let op = if bucket.source_bucket_id.is_some() { "unlink_bucket" } else { "drop_bucket" };
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    op,
                    ("bucket", full.clone()),
                    json!({"tables": files.len()}),
                )?;
                Ok(Some(files))
            })?;
            let Some(files) = files else { return Ok(false) };
            for (file, table) in files {
                inner.discard_version(&table, &file);
            }
            Ok(true)
        })
        .await
    }

    /// `CREATE TABLE` / `create_table`: one new DuckDB file and its catalog row, both or neither.
    pub async fn create_table(&self, ctx: SessionContext, spec: TableSpec, if_not_exists: bool) -> Result<TableRecord> {
        self.create_table_for(ctx, spec, if_not_exists, None).await.map(|(table, _)| table)
    }

    /// [`Self::create_table`], or (`transaction`) a table that transaction alone sees until it
    /// commits, audited then. Answers the table and whether it is new.
    pub(super) async fn create_table_for(
        &self,
        ctx: SessionContext,
        spec: TableSpec,
        if_not_exists: bool,
        transaction: Option<u64>,
    ) -> Result<(TableRecord, bool)> {
        let (project_id, branch_id) = require_write(&ctx)?;
        names::validate_table_name(&spec.name)?;
        if spec.columns.is_empty() {
            return Err(
                Error::invalid("a table needs at least one column").with_sqlstate(SqlState::InvalidTableDefinition)
            );
        }
        let mut seen = HashSet::new();
        let mut columns = Vec::with_capacity(spec.columns.len());
        for c in &spec.columns {
            names::validate_column_name(&c.name)?;
            if !seen.insert(c.name.to_ascii_lowercase()) {
                return Err(Error::already_exists(format!("column \"{}\" specified more than once", c.name))
                    .with_sqlstate(SqlState::DuplicateColumn));
            }
            let ColumnType { sql_type, base_type } = names::column_type(&c.type_name)?;
            columns.push(ColumnRecord {
                name: c.name.clone(),
                sql_type,
                base_type: base_type.to_owned(),
                nullable: !c.not_null && !spec.primary_key.contains(&c.name),
                default_sql: c.default_sql.clone(),
            });
        }
        let mut pk_seen = HashSet::new();
        for key in &spec.primary_key {
            if !columns.iter().any(|c| &c.name == key) {
                return Err(Error::not_found(format!("primary key column \"{key}\" is not a column of the table"))
                    .with_sqlstate(SqlState::UndefinedColumn));
            }
            if !pk_seen.insert(key) {
                return Err(Error::invalid(format!("column \"{key}\" appears twice in the primary key"))
                    .with_sqlstate(SqlState::DuplicateColumn));
            }
        }
        let columns_sql = table_ddl(&columns, &spec.primary_key);
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                // in a dev branch, a table the branch reads live from the default branch counts
                let visible = TableName { schema: Some(spec.bucket.clone()), name: spec.name.clone() };
                if let Some((_, existing)) = inner.find_table(tx, project_id, branch_id, &visible, &[])? {
                    if if_not_exists {
                        return Ok((existing, false));
                    }
                    return Err(Error::already_exists(format!("relation \"{}\" already exists", spec.name))
                        .with_sqlstate(SqlState::DuplicateTable));
                }
                if inner.find_view(tx, project_id, branch_id, &visible)?.is_some() {
                    return Err(Error::already_exists(format!("relation \"{}\" already exists (a view)", spec.name))
                        .with_sqlstate(SqlState::DuplicateTable));
                }
                let bucket = inner.bucket_for_write(tx, &ctx, project_id, branch_id, &spec.bucket)?;
                if bucket.source_bucket_id.is_some() {
                    return Err(Error::permission_denied(format!("bucket \"{}\" is a read-only link", spec.bucket)));
                }
                if let Some(existing) = tx.table_by_name(bucket.id, &spec.name)? {
                    if if_not_exists {
                        return Ok((existing, false));
                    }
                    return Err(Error::already_exists(format!("relation \"{}\" already exists", spec.name))
                        .with_sqlstate(SqlState::DuplicateTable));
                }
                if tx.table_name_taken(bucket.id, &spec.name)? {
                    return Err(Error::new(
                        crate::error::ErrorKind::Conflict,
                        format!("relation \"{}\" is being created by another transaction", spec.name),
                    )
                    .with_sqlstate(SqlState::SerializationFailure)
                    .with_hint("retry once that transaction ended"));
                }
                let now = now_micros();
                let table = tx.insert_table(&TableRecord {
                    id: 0,
                    bucket_id: bucket.id,
                    name: spec.name.clone(),
                    version: 1,
                    primary_key: spec.primary_key.clone(),
                    row_count: 0,
                    byte_count: 0,
                    description: spec.description.clone(),
                    created_at: now,
                    created_by: ctx.user.clone(),
                    changed_at: now,
                    version_since: now,
                    columns: columns.clone(),
                })?;
                // The file is written before the catalog commits; a crash in between leaves an
                // orphan file that start-up recovery deletes.
                let file = TableFile { project_id, branch_id, table_id: table.id, version: 1 };
                inner.engine.create_table_file(&file, &columns_sql)?;
                let (_, bytes) = inner.engine.table_stats(&file)?;
                tx.update_table_stats(table.id, 1, 0, bytes, now)?;
                if let Some(transaction) = transaction {
                    tx.mark_created_in(table.id, transaction)?;
                    return Ok((TableRecord { byte_count: bytes, ..table }, true));
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "create_table",
                    ("table", format!("{}.{}", spec.bucket, spec.name)),
                    json!({"columns": columns.len(), "primary_key": spec.primary_key}),
                )?;
                Ok((TableRecord { byte_count: bytes, ..table }, true))
            })
        })
        .await
    }

    /// `DROP TABLE`: the catalog row goes first, then the file.
    pub async fn drop_table(
        &self,
        ctx: SessionContext,
        name: TableName,
        search_path: Vec<String>,
        if_exists: bool,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        // In a dev branch, dropping a table it reads live from the default branch hides it there.
        let hidden = {
            let (ctx, name, search_path) = (ctx.clone(), name.clone(), search_path.clone());
            self.blocking(move |inner| {
                let found =
                    inner.catalog.read(|tx| inner.find_table(tx, project_id, branch_id, &name, &search_path))?;
                match found {
                    Some((bucket, table)) if inner.is_live(&bucket, branch_id) => {
                        inner.catalog.write(|tx| {
                            tx.hide(branch_id, "table", table.id)?;
                            inner.audit(
                                tx,
                                &ctx,
                                Some(project_id),
                                "drop_table",
                                ("table", format!("{}.{}", bucket.full_name(), table.name)),
                                json!({"branch": branch_id, "hidden": true}),
                            )
                        })?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            })
            .await?
        };
        if hidden {
            return Ok(true);
        }
        let locked = match self.lock_target(&ctx, &name, &search_path).await {
            Ok(locked) => Some(locked),
            Err(e) if if_exists && e.state() == SqlState::UndefinedTable => None,
            Err(e) => return Err(e),
        };
        self.blocking(move |inner| {
            let found =
                inner.catalog.read(|tx| match inner.find_table(tx, project_id, branch_id, &name, &search_path)? {
                    Some((bucket, table)) if bucket.source_bucket_id.is_none() => {
                        Ok(Some((inner.file_of(tx, &table)?, table)))
                    }
                    _ => Ok(None),
                })?;
            if let Some((file, table)) = &found {
                inner.before_destruction(&ctx, table, file, super::schema::Destruction::DropTable)?;
            }
            let file = inner.catalog.write(|tx| {
                let found = inner.find_table(tx, project_id, branch_id, &name, &search_path)?;
                let Some((bucket, table)) = found else {
                    return if if_exists { Ok(None) } else { Err(table_not_found(&name)) };
                };
                // the table locked, not one created under the same name while this waited
                if let Some(locked) = &locked {
                    locked.check(&table)?;
                }
                if bucket.source_bucket_id.is_some() {
                    return Err(Error::permission_denied(format!(
                        "bucket \"{}\" is a read-only link",
                        bucket.full_name()
                    )));
                }
                let file = (inner.file_of(tx, &table)?, table.clone());
                tx.delete_table(table.id)?;
                // a branch's copy: the default branch's table stays hidden in the branch
                if let Some(mirrored) = bucket.mirrors_bucket_id
                    && let Some(original) = tx.table_by_name(mirrored, &table.name)?
                {
                    tx.hide(branch_id, "table", original.id)?;
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "drop_table",
                    ("table", format!("{}.{}", bucket.full_name(), table.name)),
                    json!({}),
                )?;
                Ok(Some(file))
            })?;
            match file {
                Some((file, table)) => {
                    inner.discard_version(&table, &file);
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .await
    }

    /// Resolves the tables a read names, checking that the session may read each.
    pub async fn resolve_reads(
        &self,
        ctx: SessionContext,
        tables: Vec<TableName>,
        search_path: Vec<String>,
    ) -> Result<Vec<ReadableTable>> {
        if tables.is_empty() {
            return Ok(vec![]);
        }
        if ctx.is_admin() {
            return Err(table_not_found(&tables[0]).with_hint("the admin has no buckets; connect with a project token"));
        }
        self.blocking(move |inner| inner.resolve_reads_here(&ctx, &tables, &search_path)).await
    }

    /// Everything the session can see, for catalog views and metadata queries.
    /// The admin sees every project's buckets.
    pub async fn catalog_snapshot(&self, ctx: SessionContext) -> Result<CatalogSnapshot> {
        let place = if ctx.is_admin() { None } else { Some(read_branch(&ctx)?) };
        self.blocking(move |inner| inner.catalog.read(|tx| inner.catalog_snapshot_here(tx, &ctx, place))).await
    }
}

impl Inner {
    /// `Storage::catalog_snapshot` in a catalog read; `place`: the session's (project, branch),
    /// None for the admin.
    pub(crate) fn catalog_snapshot_here(
        &self,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
        place: Option<(i64, i64)>,
    ) -> Result<CatalogSnapshot> {
        if let Some((project_id, branch_id)) = place {
            return self.branch_snapshot(tx, ctx, project_id, branch_id);
        }
        let mut snapshot = CatalogSnapshot::default();
        let buckets = tx.buckets(None, None)?;
        for bucket in buckets {
            let Ok(source) = self.readable_source(tx, ctx, &bucket) else { continue };
            for table in tx.tables_of(&[source.id])? {
                snapshot.tables.push((bucket.id, table));
            }
            snapshot.buckets.push(bucket);
        }
        let ids: Vec<i64> = snapshot.buckets.iter().filter(|b| b.source_bucket_id.is_none()).map(|b| b.id).collect();
        snapshot.views.extend(tx.views_of(&ids)?.into_iter().map(|v| (v.bucket_id, v)));
        Ok(snapshot)
    }
}

impl Inner {
    /// `Storage::resolve_reads` on the calling (blocking) thread.
    pub(crate) fn resolve_reads_here(
        &self,
        ctx: &SessionContext,
        tables: &[TableName],
        search_path: &[String],
    ) -> Result<Vec<ReadableTable>> {
        let (project_id, branch_id) = read_branch(ctx)?;
        self.catalog.read(|tx| {
            tables
                .iter()
                .map(|name| {
                    let Some((bucket, table)) = self.find_table(tx, project_id, branch_id, name, search_path)? else {
                        return Err(self.not_a_table(tx, project_id, branch_id, name, search_path)?);
                    };
                    let source = self.readable_source(tx, ctx, &bucket)?;
                    let file = TableFile {
                        project_id: source.project_id,
                        branch_id: source.branch_id,
                        table_id: table.id,
                        version: table.version,
                    };
                    Ok(ReadableTable { file, bucket: bucket.full_name(), table })
                })
                .collect()
        })
    }

    /// Why a name that is no table cannot be used as one: it names a view, or nothing.
    pub(crate) fn not_a_table(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
        search_path: &[String],
    ) -> Result<Error> {
        if let Some((bucket, view)) = self.find_view_on_path(tx, project_id, branch_id, name, search_path)? {
            let qualified = TableName { schema: Some(bucket.full_name()), name: view.name };
            return Ok(Error::unsupported(format!("{qualified} is a view; this operation needs a table"))
                .with_sqlstate(SqlState::WrongObjectType)
                .with_hint("read the view with SELECT, or use its source table"));
        }
        Ok(table_not_found(name))
    }

    /// Finds a table by a possibly unqualified name: a schema names its bucket, otherwise the
    /// buckets of the search path are tried in order.
    pub(crate) fn find_table(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
        search_path: &[String],
    ) -> Result<Option<(BucketRecord, TableRecord)>> {
        let schemas: Vec<&String> = match &name.schema {
            Some(schema) => vec![schema],
            None => search_path.iter().collect(),
        };
        for schema in schemas {
            let Ok((stage, bucket_name)) = names::parse_bucket(schema) else { continue };
            if let Some(bucket) = tx.bucket_by_name(project_id, branch_id, &stage, &bucket_name)? {
                let source_id = bucket.source_bucket_id.unwrap_or(bucket.id);
                if let Some(table) = tx.table_by_name(source_id, &name.name)? {
                    return Ok(Some((bucket, table)));
                }
                if bucket.mirrors_bucket_id.is_none() {
                    continue;
                }
            }
            // a dev branch reads the default branch's tables it has not copied or hidden
            let Some(bucket) = self.live_bucket(tx, project_id, branch_id, &stage, &bucket_name)? else { continue };
            let source_id = bucket.source_bucket_id.unwrap_or(bucket.id);
            if let Some(table) = tx.table_by_name(source_id, &name.name)?
                && !tx.is_hidden(branch_id, "table", table.id)?
            {
                return Ok(Some((bucket, table)));
            }
        }
        Ok(None)
    }
}

/// The column definitions of a table file: the client's columns, the hidden change timestamp,
/// and the primary key, all from validated names and types.
pub(crate) fn table_ddl(columns: &[ColumnRecord], primary_key: &[String]) -> String {
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let mut def = format!("{} {}", quote_ident(&c.name), c.sql_type);
            if !c.nullable {
                def.push_str(" NOT NULL");
            }
            if let Some(default) = &c.default_sql {
                def.push_str(&format!(" DEFAULT {default}"));
            }
            // the engine ignores a declared length; PostgreSQL refuses a longer value (22001)
            if let Some((length, _)) = super::names::declared_length(&c.sql_type) {
                def.push_str(&format!(" CHECK (length({}) <= {length})", quote_ident(&c.name)));
            }
            def
        })
        .collect();
    parts.push(format!("{} TIMESTAMPTZ NOT NULL DEFAULT current_timestamp", quote_ident(TIMESTAMP_COLUMN)));
    if !primary_key.is_empty() {
        parts.push(format!(
            "PRIMARY KEY ({})",
            primary_key.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ")
        ));
    }
    parts.join(", ")
}

/// A write's target and the tables it reads, as written.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub target: TableName,
    /// What the statement reads, in slot order.
    pub reads: Vec<WriteRead>,
    pub search_path: Vec<String>,
    /// The audit operation (`insert`, `update`, `delete`, `truncate`).
    pub operation: &'static str,
    /// `TRUNCATE`, or `DELETE` without `WHERE`: the destruction hook runs first.
    pub deletes_all: bool,
    /// Server relations (catalog views) the statement reads, registered by the caller for the
    /// session's project.
    pub handles: Vec<u64>,
    /// The statement has `RETURNING`: its rows come back in [`WriteResult::returned`].
    pub returning: bool,
}

/// One relation a write reads: a table, resolved under the write's lock, or a view the caller
/// expanded (as the session) into engine SQL and the table files that SQL reads.
#[derive(Debug, Clone)]
pub enum WriteRead {
    Table(TableName),
    View { sql: String, files: Vec<TableFile> },
}

/// What the statement renderer needs to know about the resolved target.
pub struct WriteTarget {
    pub data_ref: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WriteResult {
    pub affected: usize,
    pub row_count: i64,
    /// The rows a write with `RETURNING` answered.
    pub returned: Option<(arrow::datatypes::SchemaRef, Vec<arrow::array::RecordBatch>)>,
    /// The table file a committed write changed; `None` for a write in a transaction block.
    pub written: Option<WrittenFile>,
}

/// A table file as a write left it, with its primary key's columns (name, DuckDB type).
#[derive(Debug, Clone)]
pub struct WrittenFile {
    pub file: TableFile,
    pub primary_key: Vec<(String, String)>,
}

impl WrittenFile {
    pub(crate) fn of(table: &TableRecord, file: TableFile) -> WrittenFile {
        let primary_key = table
            .primary_key
            .iter()
            .map(|key| {
                let sql_type = table.columns.iter().find(|c| c.name == *key).map(|c| c.sql_type.clone());
                (key.clone(), sql_type.unwrap_or_default())
            })
            .collect();
        WrittenFile { file, primary_key }
    }
}

pub(crate) fn table_replaced(name: &TableName) -> Error {
    Error::new(
        crate::error::ErrorKind::Conflict,
        format!("relation {name} was dropped and created again while this statement waited; run it again"),
    )
    .with_sqlstate(SqlState::SerializationFailure)
}

impl Inner {
    /// A table the session may write: found, and not in a read-only link.
    pub(crate) fn writable_table(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
        search_path: &[String],
    ) -> Result<(BucketRecord, TableRecord)> {
        let Some((bucket, table)) = self.find_table(tx, project_id, branch_id, name, search_path)? else {
            return Err(self.not_a_table(tx, project_id, branch_id, name, search_path)?);
        };
        if bucket.source_bucket_id.is_some() {
            return Err(Error::permission_denied(format!(
                "bucket \"{}\" is linked from another project and read-only",
                bucket.full_name()
            )));
        }
        Ok((bucket, table))
    }
}

/// A table held for writing: its write lock, taken by [`Storage::lock_target`], the one way
/// every write path starts. What a writer reads of the table it reads through [`Self::resolve`]
/// (or [`Self::check`]), under the lock: a writer that waited sees the table as it is now, and
/// one whose table was dropped and created again meanwhile is refused instead of writing a file
/// nobody reads (a lost update).
pub(super) struct LockedTable {
    held: HeldLock,
    id: i64,
    name: TableName,
    search_path: Vec<String>,
}

impl LockedTable {
    /// A table whose lock its transaction holds already (taken by an earlier statement).
    pub(super) fn already_held(
        lock: TransactionLock,
        id: i64,
        name: &TableName,
        search_path: &[String],
    ) -> LockedTable {
        LockedTable { held: HeldLock::Transaction(lock), id, name: name.clone(), search_path: search_path.to_vec() }
    }
}

/// A write lock for one statement, or for the rest of a transaction.
enum HeldLock {
    Statement(#[allow(dead_code)] WriteGuard),
    Transaction(TransactionLock),
}

impl LockedTable {
    /// The lock, for a transaction to keep until it ends.
    pub(super) fn into_transaction_lock(self) -> Option<TransactionLock> {
        match self.held {
            HeldLock::Transaction(lock) => Some(lock),
            HeldLock::Statement(_) => None,
        }
    }

    /// The table and its bucket as they are under the lock. Call on a blocking thread.
    pub(super) fn resolve(&self, inner: &Inner, ctx: &SessionContext) -> Result<(BucketRecord, TableRecord)> {
        inner.catalog.read(|tx| self.resolve_in(inner, tx, ctx))
    }

    /// [`Self::resolve`] inside a catalog read the caller holds.
    pub(super) fn resolve_in(
        &self,
        inner: &Inner,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
    ) -> Result<(BucketRecord, TableRecord)> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (bucket, table) = inner.writable_table(tx, project_id, branch_id, &self.name, &self.search_path)?;
        self.check(&table)?;
        Ok((bucket, table))
    }

    /// Refuses `table` unless it is the one locked.
    pub(super) fn check(&self, table: &TableRecord) -> Result<()> {
        if table.id == self.id { Ok(()) } else { Err(table_replaced(&self.name)) }
    }
}

impl Storage {
    /// Finds the table a write targets and takes its write lock (copying it into the session's
    /// branch first when the branch still reads it live).
    pub(super) async fn lock_target(
        &self,
        ctx: &SessionContext,
        name: &TableName,
        search_path: &[String],
    ) -> Result<LockedTable> {
        self.lock_target_cancellable(ctx, name, search_path, None).await
    }

    /// [`Self::lock_target`] whose wait ends when `canceller` fires.
    pub(super) async fn lock_target_cancellable(
        &self,
        ctx: &SessionContext,
        name: &TableName,
        search_path: &[String],
        canceller: Option<&crate::engine::Canceller>,
    ) -> Result<LockedTable> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (name2, path) = (name.clone(), search_path.to_vec());
        let (bucket, table) = self
            .blocking(move |inner| {
                inner.catalog.read(|tx| inner.writable_table(tx, project_id, branch_id, &name2, &path))
            })
            .await?;
        // a wait ends with the statement that waits (its timeout, a cancel request, a client
        // that went away), whichever storage operation it is
        let guard = match canceller {
            Some(canceller) => self.inner.write_locks.acquire_cancellable(table.id, None, canceller).await?,
            None => self.inner.write_locks.acquire(table.id).await?,
        };
        let (guard, id) = if self.inner.is_live(&bucket, branch_id) {
            // the branch's first write to a table it reads live: copy it in first
            self.branch_write_target(ctx, name, search_path, (bucket, table), guard).await?
        } else {
            (guard, table.id)
        };
        Ok(LockedTable { held: HeldLock::Statement(guard), id, name: name.clone(), search_path: search_path.to_vec() })
    }

    /// [`Self::lock_target`] for a transaction: the lock stays with the transaction until it
    /// ends; a wait that would deadlock, or is cancelled, is refused.
    pub(super) async fn lock_target_for_transaction(
        &self,
        ctx: &SessionContext,
        name: &TableName,
        search_path: &[String],
        transaction: u64,
        canceller: &crate::engine::Canceller,
    ) -> Result<LockedTable> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (name2, path) = (name.clone(), search_path.to_vec());
        let resolve = move |inner: &Inner| {
            inner.catalog.read(|tx| inner.writable_table(tx, project_id, branch_id, &name2, &path))
        };
        let (mut bucket, mut table) = self.blocking(resolve.clone()).await?;
        if self.inner.is_live(&bucket, branch_id) {
            // a dev branch's first write to a table it reads live: copied in (and committed)
            // first, as any write does; the transaction then writes the branch's copy
            drop(self.lock_target(ctx, name, search_path).await?);
            (bucket, table) = self.blocking(resolve).await?;
            if self.inner.is_live(&bucket, branch_id) {
                return Err(table_replaced(name));
            }
        }
        let lock = self.inner.write_locks.acquire_for_transaction(table.id, transaction, canceller).await?;
        Ok(LockedTable {
            held: HeldLock::Transaction(lock),
            id: table.id,
            name: name.clone(),
            search_path: search_path.to_vec(),
        })
    }
}

impl Storage {
    /// One atomic write of one table (design.md R1): the target is resolved and locked (writers
    /// of the same table queue), the statement runs in one engine transaction, and the table's
    /// statistics and an audit record are committed after it.
    pub async fn write_table<R>(
        &self,
        ctx: SessionContext,
        request: WriteRequest,
        params: Vec<crate::engine::Param>,
        canceller: crate::engine::Canceller,
        render: R,
    ) -> Result<WriteResult>
    where
        R: FnOnce(&WriteTarget, &[String]) -> Result<(String, Vec<crate::engine::QueryCheck>)> + Send + 'static,
    {
        let (project_id, branch_id) = require_write(&ctx)?;
        let locked =
            self.lock_target_cancellable(&ctx, &request.target, &request.search_path, Some(&canceller)).await?;
        self.blocking_for(project_id, move |inner| {
            // Resolved again under the lock: the file may have changed while we waited.
            let (bucket, table, reads) = inner.catalog.read(|tx| {
                let (bucket, table) = locked.resolve_in(inner, tx, &ctx)?;
                let reads = inner.write_reads(tx, &ctx, &request, &super::read_snapshots::ReadView::default())?;
                Ok((bucket, table, reads))
            })?;
            let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
            if request.deletes_all {
                inner.before_destruction(&ctx, &table, &file, super::schema::Destruction::DeleteAll)?;
            }
            let (file, in_place) = inner.writable_file(&table, file)?;
            let outcome = inner.run_write(&file, &table, &reads, &request, params, &canceller, render);
            drop(in_place);
            let outcome = outcome?;
            let affected = outcome.affected.first().copied().unwrap_or(0);
            inner.catalog.write(|tx| {
                tx.update_table_stats(table.id, file.version, outcome.row_count, outcome.byte_count, now_micros())?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    request.operation,
                    ("table", format!("{}.{}", bucket.full_name(), table.name)),
                    json!({"rows": affected}),
                )
            })?;
            metrics::counter!("duckstore_rows_written_total", "operation" => request.operation)
                .increment(affected as u64);
            let written = Some(WrittenFile::of(&table, file));
            Ok(WriteResult { affected, row_count: outcome.row_count, returned: outcome.returned, written })
        })
        .await
    }
}

/// The tables and views a write reads, resolved for the engine.
pub(crate) struct ResolvedReads {
    /// The files leased for the write.
    pub files: Vec<TableFile>,
    /// What each name the write reads stands for (a file's reference, or a view's query).
    pub refs: Vec<String>,
}

impl Inner {
    /// Resolves the relations `request` reads, under the write's lock. `overlay`: the files a
    /// transaction wrote, read in place of the tables' committed versions.
    pub(crate) fn write_reads(
        &self,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
        request: &WriteRequest,
        overlay: &super::read_snapshots::ReadView,
    ) -> Result<ResolvedReads> {
        let (project_id, branch_id) = require_write(ctx)?;
        let mut files = Vec::with_capacity(request.reads.len());
        let mut refs = Vec::with_capacity(request.reads.len());
        for read in &request.reads {
            let name = match read {
                WriteRead::Table(name) => name,
                WriteRead::View { sql, files: view_files } => {
                    refs.push(sql.clone());
                    files.extend(view_files.iter().cloned());
                    continue;
                }
            };
            let Some((b, t)) = self.find_table(tx, project_id, branch_id, name, &request.search_path)? else {
                return Err(self.not_a_table(tx, project_id, branch_id, name, &request.search_path)?);
            };
            let source = self.readable_source(tx, ctx, &b)?;
            let file = overlay.file(TableFile {
                project_id: source.project_id,
                branch_id: source.branch_id,
                table_id: t.id,
                version: t.version,
            })?;
            refs.push(file.data_ref());
            files.push(file);
        }
        Ok(ResolvedReads { files, refs })
    }

    /// Renders a write of `file` (a version of `table`) and runs it in one engine transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_write<R>(
        &self,
        file: &TableFile,
        table: &TableRecord,
        reads: &ResolvedReads,
        request: &WriteRequest,
        params: Vec<crate::engine::Param>,
        canceller: &crate::engine::Canceller,
        render: R,
    ) -> Result<crate::engine::WriteOutcome>
    where
        R: FnOnce(&WriteTarget, &[String]) -> Result<(String, Vec<crate::engine::QueryCheck>)>,
    {
        let target =
            WriteTarget { data_ref: file.data_ref(), columns: table.columns.iter().map(|c| c.name.clone()).collect() };
        let (sql, checks) = render(&target, &reads.refs)?;
        if request.returning {
            return self.engine.write_returning(
                file,
                &reads.files,
                &request.handles,
                (sql, params),
                &checks,
                canceller,
            );
        }
        self.engine.write(file, &reads.files, &request.handles, &[(sql, params)], Some(&checks), canceller)
    }
}
