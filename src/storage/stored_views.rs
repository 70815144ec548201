//! Views users create (`CREATE VIEW b.v AS SELECT …`): a stored query in a bucket, beside its
//! tables and in their namespace. A view holds no rights of its own: each read expands its query
//! and resolves the tables in it as the reading session, so a view never shows what its reader
//! could not read directly (ADR 0008).

use std::collections::HashSet;

use serde_json::json;

use super::names;
use super::tables::{read_branch, require_write, table_not_found};
use super::{ReadableTable, SessionContext, Storage, TableName};
use crate::catalog::{BucketRecord, CatalogTx, ColumnRecord, ViewRecord};
use crate::clock::now_micros;
use crate::engine::TableFile;
use crate::error::{Error, Result, SqlState};

/// What a name in a read stands for.
#[derive(Debug, Clone)]
pub enum ReadSource {
    Table(ReadableTable),
    /// A view, with its bucket's full name (unqualified names in its query mean that bucket).
    View {
        bucket: String,
        view: ViewRecord,
    },
}

/// Expands views as one session: given a resolver and the names, answers for each name a table
/// file's reference or a view's whole `SELECT`, and the table files they read. The storage
/// layer cannot expand a view itself (that is the gateway's SQL work); the session that opens a
/// `read_only_storage` workspace hands it one.
pub type ViewExpander = std::sync::Arc<
    dyn Fn(
            &dyn Fn(&[TableName], &[String]) -> Result<Vec<ReadSource>>,
            &[TableName],
        ) -> Result<(Vec<String>, Vec<TableFile>)>
        + Send
        + Sync,
>;

/// `CREATE [OR REPLACE] VIEW`.
#[derive(Debug, Clone)]
pub struct ViewSpec {
    pub bucket: String,
    pub name: String,
    /// The query as the client wrote it, after the gateway checked it.
    pub definition: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
}

/// The query of a view as the creating session expanded it: SQL for the engine and the table
/// files it reads (to learn the view's columns).
pub struct ExpandedQuery {
    pub sql: String,
    pub reads: Vec<TableFile>,
}

fn view_not_found(name: &TableName) -> Error {
    Error::not_found(format!("view {name} does not exist")).with_sqlstate(SqlState::UndefinedTable)
}

impl Storage {
    /// Resolves the names a read uses to tables or views, checking that the session may read
    /// each. Tables and views share a bucket's namespace; the search path is tried in order.
    pub async fn resolve_sources(
        &self,
        ctx: SessionContext,
        names: Vec<TableName>,
        search_path: Vec<String>,
    ) -> Result<Vec<ReadSource>> {
        self.blocking(move |inner| inner.resolve_sources_here(&ctx, &names, &search_path)).await
    }

    /// Runs `work` on a blocking thread with a resolver of names for the session (what view
    /// expansion needs: resolution, recursively, without returning to async code between).
    pub async fn with_resolver<T, F>(&self, ctx: SessionContext, work: F) -> Result<T>
    where
        F: FnOnce(&dyn Fn(&[TableName], &[String]) -> Result<Vec<ReadSource>>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.blocking(move |inner| work(&|names, search_path| inner.resolve_sources_here(&ctx, names, search_path)))
            .await
    }

    /// The (name, type) of each column an expanded query answers, in the session's project,
    /// without running it (`CREATE TABLE … AS`).
    pub async fn query_columns(
        &self,
        ctx: &SessionContext,
        query: ExpandedQuery,
        params: Vec<crate::engine::Param>,
    ) -> Result<Vec<(String, String)>> {
        let (project_id, _) = require_write(ctx)?;
        self.blocking(move |inner| {
            let home = crate::engine::Place::Project(project_id);
            inner.engine.describe_reading_with(home, &query.reads, &query.sql, &params)
        })
        .await
    }

    /// `CREATE VIEW`: checks the session may write in the bucket, learns the query's columns
    /// from the engine, and records the view. Answers false when `IF NOT EXISTS` found one.
    pub async fn create_view(&self, ctx: SessionContext, spec: ViewSpec, query: ExpandedQuery) -> Result<bool> {
        self.create_view_for(ctx, spec, query, None).await.map(|created| created.is_some())
    }

    /// [`Self::create_view`], or (`transaction`) a view that transaction alone sees until it
    /// commits, audited then (replacing an existing view is not done inside a transaction yet).
    /// Answers the new view, or `None` when `IF NOT EXISTS` found one.
    pub(super) async fn create_view_for(
        &self,
        ctx: SessionContext,
        spec: ViewSpec,
        query: ExpandedQuery,
        transaction: Option<u64>,
    ) -> Result<Option<ViewRecord>> {
        let (project_id, branch_id) = require_write(&ctx)?;
        names::validate_table_name(&spec.name)?;
        self.blocking(move |inner| {
            let described =
                inner.engine.describe_reading(crate::engine::Place::Project(project_id), &query.reads, &query.sql)?;
            let mut seen = HashSet::new();
            let mut columns = Vec::with_capacity(described.len());
            for (name, sql_type) in described {
                if !seen.insert(name.to_ascii_lowercase()) {
                    return Err(Error::already_exists(format!(
                        "column \"{name}\" specified more than once; name the view's columns with AS"
                    ))
                    .with_sqlstate(SqlState::DuplicateColumn));
                }
                let base_type = names::column_type(&sql_type).map_or("STRING", |t| t.base_type).to_owned();
                columns.push(ColumnRecord { name, sql_type, base_type, nullable: true, default_sql: None });
            }
            inner.catalog.write(|tx| {
                let qualified = TableName { schema: Some(spec.bucket.clone()), name: spec.name.clone() };
                if inner.find_table(tx, project_id, branch_id, &qualified, &[])?.is_some() {
                    return Err(Error::already_exists(format!("relation \"{}\" already exists", spec.name))
                        .with_sqlstate(SqlState::DuplicateTable));
                }
                let bucket = inner.bucket_for_write(tx, &ctx, project_id, branch_id, &spec.bucket)?;
                if bucket.source_bucket_id.is_some() {
                    return Err(Error::permission_denied(format!("bucket \"{}\" is a read-only link", spec.bucket)));
                }
                let replacing_in_transaction = || {
                    Error::unsupported(
                        "CREATE OR REPLACE of an existing view cannot run inside a transaction block yet",
                    )
                    .with_sqlstate(SqlState::ActiveSqlTransaction)
                };
                if let Some(existing) = tx.view_by_name(bucket.id, &spec.name)? {
                    if spec.if_not_exists {
                        return Ok(None);
                    }
                    if !spec.or_replace {
                        return Err(Error::already_exists(format!("relation \"{}\" already exists", spec.name))
                            .with_sqlstate(SqlState::DuplicateTable));
                    }
                    if transaction.is_some() {
                        return Err(replacing_in_transaction());
                    }
                    tx.delete_view(existing.id)?;
                } else if let Some((_, live)) = inner.find_view(tx, project_id, branch_id, &qualified)? {
                    // a default-branch view seen from a dev branch: the branch's own replaces
                    // it, and it stays hidden in the branch (dropping the replacement does not
                    // bring it back)
                    if spec.if_not_exists {
                        return Ok(None);
                    }
                    if !spec.or_replace {
                        return Err(Error::already_exists(format!("relation \"{}\" already exists", live.name))
                            .with_sqlstate(SqlState::DuplicateTable));
                    }
                    if transaction.is_some() {
                        return Err(replacing_in_transaction());
                    }
                    tx.hide(branch_id, "view", live.id)?;
                }
                // a name another transaction took and has not committed yet (a table or view)
                if tx.view_by_name(bucket.id, &spec.name)?.is_none() && tx.table_name_taken(bucket.id, &spec.name)? {
                    return Err(Error::new(
                        crate::error::ErrorKind::Conflict,
                        format!("relation \"{}\" is being created by another transaction", spec.name),
                    )
                    .with_sqlstate(SqlState::SerializationFailure)
                    .with_hint("retry once that transaction ended"));
                }
                let now = now_micros();
                let view = tx.insert_view(&ViewRecord {
                    id: 0,
                    bucket_id: bucket.id,
                    name: spec.name.clone(),
                    definition: spec.definition.clone(),
                    columns: columns.clone(),
                    description: String::new(),
                    created_at: now,
                    created_by: ctx.user.clone(),
                })?;
                if let Some(transaction) = transaction {
                    tx.mark_view_created_in(view.id, transaction)?;
                    return Ok(Some(view));
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    if spec.or_replace { "replace_view" } else { "create_view" },
                    ("view", format!("{}.{}", spec.bucket, spec.name)),
                    json!({"columns": columns.len()}),
                )?;
                Ok(Some(view))
            })
        })
        .await
    }

    /// `DROP VIEW`. In a dev branch, a view of the default branch is hidden in the branch only.
    pub async fn drop_view(
        &self,
        ctx: SessionContext,
        name: TableName,
        search_path: Vec<String>,
        if_exists: bool,
    ) -> Result<bool> {
        let (project_id, branch_id) = require_write(&ctx)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let Some((bucket, view)) =
                    inner.view_to_drop(tx, project_id, branch_id, &name, &search_path, if_exists)?
                else {
                    return Ok(false);
                };
                if bucket.branch_id == branch_id {
                    tx.delete_view(view.id)?;
                } else {
                    tx.hide(branch_id, "view", view.id)?;
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "drop_view",
                    ("view", format!("{}.{}", bucket.full_name(), view.name)),
                    json!({}),
                )?;
                Ok(true)
            })
        })
        .await
    }
}

impl super::Inner {
    /// The view `DROP VIEW name` drops: `None` when `if_exists` found none; a table of that
    /// name is `42809`, nothing at all `42P01`.
    pub(crate) fn view_to_drop(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
        search_path: &[String],
        if_exists: bool,
    ) -> Result<Option<(BucketRecord, ViewRecord)>> {
        if let Some(found) = self.find_view_on_path(tx, project_id, branch_id, name, search_path)? {
            return Ok(Some(found));
        }
        if if_exists {
            return Ok(None);
        }
        if self.find_table(tx, project_id, branch_id, name, search_path)?.is_some() {
            return Err(Error::unsupported(format!("{name} is not a view"))
                .with_sqlstate(SqlState::WrongObjectType)
                .with_hint("use DROP TABLE to remove a table"));
        }
        Err(view_not_found(name))
    }

    /// `Storage::resolve_sources` on the calling (blocking) thread.
    pub(crate) fn resolve_sources_here(
        &self,
        ctx: &SessionContext,
        names: &[TableName],
        search_path: &[String],
    ) -> Result<Vec<ReadSource>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        if ctx.is_admin() {
            return Err(table_not_found(&names[0]).with_hint("the admin has no buckets; connect with a project token"));
        }
        let (project_id, branch_id) = read_branch(ctx)?;
        let mut sources = Vec::with_capacity(names.len());
        for name in names {
            let mut found = None;
            for qualified in name.candidates(search_path) {
                let in_bucket = self.catalog.read(|tx| {
                    if self.find_table(tx, project_id, branch_id, &qualified, &[])?.is_some() {
                        return Ok(Some(None));
                    }
                    match self.find_view(tx, project_id, branch_id, &qualified)? {
                        Some((bucket, view)) => {
                            self.readable_source(tx, ctx, &bucket)?;
                            Ok(Some(Some(ReadSource::View { bucket: bucket.full_name(), view })))
                        }
                        None => Ok(None),
                    }
                })?;
                match in_bucket {
                    Some(Some(view)) => found = Some(view),
                    Some(None) => {
                        let table = self.resolve_reads_here(ctx, std::slice::from_ref(&qualified), &[])?;
                        found = table.into_iter().next().map(ReadSource::Table);
                    }
                    None => continue,
                }
                break;
            }
            sources.push(found.ok_or_else(|| table_not_found(name))?);
        }
        Ok(sources)
    }

    /// The first view a possibly unqualified name means along the search path.
    pub(crate) fn find_view_on_path(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
        search_path: &[String],
    ) -> Result<Option<(BucketRecord, ViewRecord)>> {
        for qualified in name.candidates(search_path) {
            if let Some(found) = self.find_view(tx, project_id, branch_id, &qualified)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The view a qualified name means in a branch: the branch's own bucket first, then (in a
    /// dev branch) the default branch's bucket of that name unless the branch dropped the view.
    /// Linked buckets show tables only: a view's query names buckets of its own project.
    pub(crate) fn find_view(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        name: &TableName,
    ) -> Result<Option<(BucketRecord, ViewRecord)>> {
        let Some(schema) = &name.schema else { return Ok(None) };
        let Ok((stage, bucket_name)) = names::parse_bucket(schema) else { return Ok(None) };
        if let Some(bucket) = tx.bucket_by_name(project_id, branch_id, &stage, &bucket_name)? {
            if bucket.source_bucket_id.is_some() {
                return Ok(None);
            }
            if let Some(view) = tx.view_by_name(bucket.id, &name.name)? {
                return Ok(Some((bucket, view)));
            }
            if bucket.mirrors_bucket_id.is_none() {
                return Ok(None);
            }
        }
        let Some(bucket) = self.live_bucket(tx, project_id, branch_id, &stage, &bucket_name)? else {
            return Ok(None);
        };
        if bucket.source_bucket_id.is_some() {
            return Ok(None);
        }
        match tx.view_by_name(bucket.id, &name.name)? {
            Some(view) if !tx.is_hidden(branch_id, "view", view.id)? => Ok(Some((bucket, view))),
            _ => Ok(None),
        }
    }
}
