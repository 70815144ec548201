//! Dev branches with Keboola's semantics: creating one copies nothing; a session on a branch
//! reads the default branch's buckets and tables live until the branch writes to a table; the
//! first write of any kind copies that one table into the branch (into a bucket of the branch
//! that stands in for the default branch's bucket, a "mirror"), and from then on the two never
//! see each other's changes. Buckets and tables created in a branch exist only there; dropping
//! one of the default branch's objects in a branch hides it there only. `pull_table` drops the
//! branch's copy and returns to the live view. Data is never merged back.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::names;
use super::tables::{CatalogSnapshot, TableName, WriteGuard, require_write};
use super::{Inner, SessionContext, Storage};
use crate::catalog::{BranchRecord, BucketRecord, CatalogTx, NewBucket, Scope, TableRecord};
use crate::clock::now_micros;
use crate::engine::TableFile;
use crate::error::{Error, ErrorKind, Result, SqlState};

impl Inner {
    /// The project's default branch.
    pub(crate) fn main_branch(&self, tx: &CatalogTx<'_>, project_id: i64) -> Result<i64> {
        Ok(tx.default_branch(project_id)?.id)
    }

    /// The default branch's bucket of this name as a branch sees it (`None` when there is
    /// none, or the branch hid it).
    pub(crate) fn live_bucket(
        &self,
        tx: &CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        stage: &str,
        name: &str,
    ) -> Result<Option<BucketRecord>> {
        let main = self.main_branch(tx, project_id)?;
        if branch_id == main {
            return Ok(None);
        }
        match tx.bucket_by_name(project_id, main, stage, name)? {
            Some(b) if !tx.is_hidden(branch_id, "bucket", b.id)? => Ok(Some(b)),
            _ => Ok(None),
        }
    }

    /// A bucket a write in the session's branch may put a table into: the branch's own, or a
    /// new mirror of the default branch's bucket of that name.
    pub(crate) fn bucket_for_write(
        &self,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
        project_id: i64,
        branch_id: i64,
        full: &str,
    ) -> Result<BucketRecord> {
        let (stage, name) = names::parse_bucket(full).map_err(|_| {
            Error::not_found(format!("schema \"{full}\" does not exist")).with_sqlstate(SqlState::InvalidSchemaName)
        })?;
        if let Some(own) = tx.bucket_by_name(project_id, branch_id, &stage, &name)? {
            return Ok(own);
        }
        let main = self.live_bucket(tx, project_id, branch_id, &stage, &name)?.ok_or_else(|| {
            Error::not_found(format!("schema \"{full}\" does not exist")).with_sqlstate(SqlState::InvalidSchemaName)
        })?;
        if main.source_bucket_id.is_some() {
            return Err(Error::permission_denied(format!(
                "bucket \"{full}\" is linked from another project and read-only"
            )));
        }
        tx.insert_bucket(&NewBucket {
            project_id,
            branch_id,
            stage: &stage,
            name: &name,
            description: &main.description,
            source_bucket_id: None,
            created_at: now_micros(),
            created_by: &ctx.user,
            mirrors_bucket_id: Some(main.id),
        })
    }

    /// Copies a default-branch table into the session's branch (its first write there).
    /// Call with the table's write lock held; answers the copy.
    fn copy_into_branch(
        &self,
        ctx: &SessionContext,
        main_bucket: &BucketRecord,
        table: &TableRecord,
        branch_id: i64,
    ) -> Result<TableRecord> {
        let started = std::time::Instant::now();
        let source = TableFile {
            project_id: main_bucket.project_id,
            branch_id: main_bucket.branch_id,
            table_id: table.id,
            version: table.version,
        };
        // One catalog transaction around the copy: a crash leaves either no copy (and an
        // orphan file recovery removes) or a complete one.
        let copy = self.catalog.write(|tx| {
            let mirror = self.bucket_for_write(tx, ctx, main_bucket.project_id, branch_id, &main_bucket.full_name())?;
            let now = now_micros();
            let copy = tx.insert_table(&TableRecord {
                id: 0,
                bucket_id: mirror.id,
                name: table.name.clone(),
                version: 1,
                primary_key: table.primary_key.clone(),
                row_count: table.row_count,
                byte_count: table.byte_count,
                description: table.description.clone(),
                created_at: table.created_at,
                created_by: table.created_by.clone(),
                changed_at: table.changed_at,
                version_since: now,
                columns: table.columns.clone(),
            })?;
            let target = TableFile { project_id: main_bucket.project_id, branch_id, table_id: copy.id, version: 1 };
            self.engine.copy_table_file(&source, &target)?;
            self.audit(
                tx,
                ctx,
                Some(main_bucket.project_id),
                "branch_copy_table",
                ("table", format!("{}.{}", main_bucket.full_name(), table.name)),
                json!({"branch": branch_id, "bytes": table.byte_count}),
            )?;
            Ok(copy)
        })?;
        metrics::counter!("duckstore_branch_copies_total").increment(1);
        metrics::counter!("duckstore_branch_copy_bytes_total").increment(table.byte_count.max(0) as u64);
        metrics::histogram!("duckstore_branch_copy_seconds").record(started.elapsed().as_secs_f64());
        Ok(copy)
    }

    /// Whether `bucket` (as resolved for a session on `branch_id`) belongs to another branch:
    /// a table in it is read live from the default branch.
    pub(crate) fn is_live(&self, bucket: &BucketRecord, branch_id: i64) -> bool {
        bucket.branch_id != branch_id && bucket.source_bucket_id.is_none()
    }
}

impl Storage {
    /// Resolves a write's target; when it is read live from the default branch, copies it into
    /// the session's branch first (under the default branch table's lock), then locks the copy.
    pub(crate) async fn branch_write_target(
        &self,
        ctx: &SessionContext,
        name: &TableName,
        search_path: &[String],
        resolved: (BucketRecord, TableRecord),
        main_guard: WriteGuard,
    ) -> Result<(WriteGuard, i64)> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (ctx2, name2, path) = (ctx.clone(), name.clone(), search_path.to_vec());
        let copy_id = self
            .blocking(move |inner| {
                let _main = main_guard;
                let (bucket, table) = inner.catalog.read(|tx| {
                    inner.find_table(tx, project_id, branch_id, &name2, &path)?.ok_or_else(|| {
                        Error::not_found(format!("relation {name2} does not exist"))
                            .with_sqlstate(SqlState::UndefinedTable)
                    })
                })?;
                if !inner.is_live(&bucket, branch_id) {
                    return Ok(table.id); // another writer of this branch copied it meanwhile
                }
                if table.id != resolved.1.id {
                    return Err(super::tables::table_replaced(&name2));
                }
                inner.copy_into_branch(&ctx2, &bucket, &table, branch_id).map(|t| t.id)
            })
            .await?;
        Ok((self.inner.write_locks.acquire(copy_id).await?, copy_id))
    }

    /// `create_branch`: a row in the catalog, nothing copied.
    pub async fn create_branch(&self, ctx: SessionContext, name: String, description: String) -> Result<BranchRecord> {
        let project_id = require_project_admin_scope(&ctx)?;
        let valid = !name.is_empty()
            && name.len() <= 100
            && !name.chars().any(char::is_control)
            && name.parse::<i64>().is_err()
            && !["main", "default"].contains(&name.as_str());
        if !valid {
            return Err(Error::invalid(format!(
                "invalid branch name {name:?}: 1 to 100 characters, not a number, not main or default"
            ))
            .with_sqlstate(SqlState::InvalidParameterValue));
        }
        let branch = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let branch = tx.insert_branch(project_id, &name, &description, now_micros())?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(project_id),
                        "create_branch",
                        ("branch", branch.id.to_string()),
                        json!({"name": name}),
                    )?;
                    Ok(branch)
                })
            })
            .await?;
        metrics::counter!("duckstore_branches_created_total").increment(1);
        Ok(branch)
    }

    /// `drop_branch`: its buckets, tables, snapshots, workspaces and branch tokens go, with
    /// every file of it; sessions on it end at their next statement.
    pub async fn drop_branch(&self, ctx: SessionContext, branch_id: i64) -> Result<()> {
        let project_id = require_project_admin_scope(&ctx)?;
        self.blocking(move |inner| {
            let branch = inner.catalog.read(|tx| tx.branch(project_id, branch_id))?.ok_or_else(|| {
                Error::not_found(format!("branch {branch_id} does not exist")).with_sqlstate(SqlState::UndefinedObject)
            })?;
            if branch.is_default {
                return Err(Error::new(ErrorKind::FailedPrecondition, "the default branch cannot be dropped")
                    .with_sqlstate(SqlState::ObjectNotInPrerequisiteState));
            }
            let files = inner.catalog.read(|tx| tx.branch_table_files(branch_id))?;
            inner.catalog.write(|tx| {
                tx.delete_branch(project_id, branch_id)?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "drop_branch",
                    ("branch", branch_id.to_string()),
                    json!({"name": branch.name}),
                )
            })?;
            inner.bump_credential_epoch();
            for (table_id, version) in files {
                let _ = inner.engine.remove_table_file(&TableFile { project_id, branch_id, table_id, version });
            }
            let dir = inner.engine.data_dir().join("tables").join(project_id.to_string()).join(branch_id.to_string());
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(&dir)
            {
                tracing::warn!(error = %e, branch = branch_id, "a dropped branch's directory could not be removed yet");
            }
            let workspaces =
                inner.engine.data_dir().join("workspaces").join(project_id.to_string()).join(branch_id.to_string());
            let _ = std::fs::remove_dir_all(workspaces);
            metrics::counter!("duckstore_branches_dropped_total").increment(1);
            Ok(())
        })
        .await
    }

    /// `pull_table`: in a branch, forget the branch's copy (or its drop) of a default-branch
    /// table and read it live again.
    pub async fn pull_table(&self, ctx: SessionContext, name: TableName) -> Result<()> {
        let (project_id, branch_id) = require_write(&ctx)?;
        let schema = name.schema.clone().ok_or_else(|| {
            Error::invalid("pull_table needs a table id like 'in.c-sales.orders'").with_sqlstate(SqlState::InvalidName)
        })?;
        let (stage, bucket_name) = names::parse_bucket(&schema)?;
        let found = {
            let (stage, bucket_name, table) = (stage.clone(), bucket_name.clone(), name.name.clone());
            self.blocking(move |inner| {
                inner.catalog.read(|tx| {
                    let main = inner.main_branch(tx, project_id)?;
                    if main == branch_id {
                        return Err(Error::invalid(
                            "pull_table works in a dev branch; this session is on the default branch",
                        )
                        .with_sqlstate(SqlState::InvalidParameterValue));
                    }
                    let main_bucket = tx.bucket_by_name(project_id, main, &stage, &bucket_name)?;
                    let main_table = match &main_bucket {
                        Some(b) => tx.table_by_name(b.id, &table)?,
                        None => None,
                    };
                    let copy = match tx.bucket_by_name(project_id, branch_id, &stage, &bucket_name)? {
                        Some(b) if b.mirrors_bucket_id.is_some() => tx.table_by_name(b.id, &table)?.map(|t| (b, t)),
                        _ => None,
                    };
                    Ok((main_bucket, main_table, copy))
                })
            })
            .await?
        };
        let (main_bucket, main_table, copy) = found;
        let (Some(main_bucket), Some(main_table)) = (main_bucket, main_table) else {
            return Err(Error::not_found(format!("the default branch has no table {name}"))
                .with_sqlstate(SqlState::UndefinedTable));
        };
        let guard = match &copy {
            Some((_, t)) => Some(self.inner.write_locks.acquire(t.id).await?),
            None => None,
        };
        self.blocking(move |inner| {
            let _guard = guard;
            let removed = inner.catalog.write(|tx| {
                tx.unhide(branch_id, "bucket", main_bucket.id)?;
                tx.unhide(branch_id, "table", main_table.id)?;
                let removed = match &copy {
                    Some((bucket, t)) => {
                        let file = TableFile { project_id, branch_id, table_id: t.id, version: t.version };
                        tx.delete_table(t.id)?;
                        let _ = bucket;
                        Some((file, t.clone()))
                    }
                    None => None,
                };
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "pull_table",
                    ("table", format!("{schema}.{}", name.name)),
                    json!({"branch": branch_id}),
                )?;
                Ok(removed)
            })?;
            if let Some((file, table)) = removed {
                inner.discard_version(&table, &file);
            }
            Ok(())
        })
        .await
    }
}

fn require_project_admin_scope(ctx: &SessionContext) -> Result<i64> {
    let (project_id, _) = require_write(ctx)?;
    if ctx.scope() != Some(Scope::ProjectAdmin) {
        return Err(Error::permission_denied("branches are created and dropped with a project_admin token"));
    }
    Ok(project_id)
}

impl Inner {
    /// The buckets and tables a session on a dev branch sees: the branch's own, and the
    /// default branch's that it has not copied or hidden, read live. Answers the snapshot and
    /// the ids of the tables read live.
    pub(crate) fn branch_snapshot(
        &self,
        tx: &CatalogTx<'_>,
        ctx: &SessionContext,
        project_id: i64,
        branch_id: i64,
    ) -> Result<CatalogSnapshot> {
        let mut snapshot = CatalogSnapshot::default();
        let own = tx.buckets(Some(project_id), Some(branch_id))?;
        let main = self.main_branch(tx, project_id)?;
        let mirrors: HashMap<i64, &BucketRecord> =
            own.iter().filter_map(|b| b.mirrors_bucket_id.map(|m| (m, b))).collect();
        for bucket in &own {
            let Ok(source) = self.readable_source(tx, ctx, bucket) else { continue };
            for table in tx.tables_of(&[source.id])? {
                snapshot.tables.push((bucket.id, table));
            }
            snapshot.buckets.push(bucket.clone());
        }
        // views of the branch's own buckets (links show none), in one query
        let own_ids: Vec<i64> =
            snapshot.buckets.iter().filter(|b| b.source_bucket_id.is_none()).map(|b| b.id).collect();
        snapshot.views.extend(tx.views_of(&own_ids)?.into_iter().map(|v| (v.bucket_id, v)));
        if main == branch_id {
            return Ok(snapshot);
        }
        for bucket in tx.buckets(Some(project_id), Some(main))? {
            if tx.is_hidden(branch_id, "bucket", bucket.id)? {
                continue;
            }
            if own.iter().any(|b| b.mirrors_bucket_id.is_none() && b.full_name() == bucket.full_name()) {
                continue;
            }
            let Ok(source) = self.readable_source(tx, ctx, &bucket) else { continue };
            let shown = match mirrors.get(&bucket.id) {
                Some(mirror) => mirror.id,
                None => {
                    snapshot.buckets.push(bucket.clone());
                    bucket.id
                }
            };
            let copied: HashSet<String> =
                snapshot.tables.iter().filter(|(b, _)| *b == shown).map(|(_, t)| t.name.clone()).collect();
            for table in tx.tables_of(&[source.id])? {
                if copied.contains(&table.name) || tx.is_hidden(branch_id, "table", table.id)? {
                    continue;
                }
                snapshot.live.insert(table.id);
                snapshot.tables.push((shown, table));
            }
            if bucket.source_bucket_id.is_none() {
                let own_views: HashSet<String> =
                    snapshot.views.iter().filter(|(b, _)| *b == shown).map(|(_, v)| v.name.clone()).collect();
                for view in tx.views_of(&[bucket.id])? {
                    if own_views.contains(&view.name) || tx.is_hidden(branch_id, "view", view.id)? {
                        continue;
                    }
                    snapshot.live_views.insert(view.id);
                    snapshot.views.push((shown, view));
                }
            }
        }
        Ok(snapshot)
    }
}
