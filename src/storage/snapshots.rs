//! Snapshots, their settings, retention, and time travel.
//!
//! A snapshot keeps one version file of a table: taking one checkpoints the file and records
//! it, so it costs a catalog row, not a copy. From then on the version never changes: the next
//! write copies it to a new version first (copy-on-write), and versions a table stops using
//! (full loads, schema changes, restores) stay on disk while a snapshot keeps them.
//!
//! Time travel keeps history the same way: when a table moves to a new version, or is written
//! in place after its version has been current longer than the project's resolution, the old
//! version is kept for the time-travel window with the interval it was current. Its content is
//! the table's exact state from its last write until it stopped being current, which is what
//! `create_table_at` answers; an instant inside a stretch of in-place writes is refused with the
//! nearest instants that were kept (resolution 0 keeps every instant).

use std::collections::HashMap;

use serde_json::json;

use super::schema::Destruction;
use super::tables::{TableName, require_write, session_branch};
use super::{ColumnSpec, Inner, SessionContext, Storage};
use crate::catalog::{BucketRecord, CatalogTx, Scope, SnapshotRecord, TableRecord};
use crate::clock::{format_micros, now_micros};
use crate::engine::{Canceller, TableFile, WriteOutcome};
use crate::error::{Error, ErrorKind, Result, SqlState};

const DAY: i64 = 86_400_000_000;

/// A snapshot setting: its name, where it may be set, and its built-in value.
pub struct SettingSpec {
    pub key: &'static str,
    /// Days (an integer range) or a switch.
    pub days: Option<(i64, i64)>,
    pub default: i64,
    /// Only the project level (time travel is per project).
    pub project_only: bool,
    pub summary: &'static str,
}

pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: "auto_snapshot_drop_table",
        days: None,
        default: 1,
        project_only: false,
        summary: "snapshot a table before DROP TABLE (and DROP SCHEMA … CASCADE)",
    },
    SettingSpec {
        key: "auto_snapshot_drop_column",
        days: None,
        default: 0,
        project_only: false,
        summary: "snapshot before ALTER TABLE … DROP COLUMN",
    },
    SettingSpec {
        key: "auto_snapshot_delete_all",
        days: None,
        default: 0,
        project_only: false,
        summary: "snapshot before TRUNCATE and deleting every row",
    },
    SettingSpec {
        key: "auto_snapshot_full_load",
        days: None,
        default: 0,
        project_only: false,
        summary: "snapshot before a full load replaces the rows",
    },
    SettingSpec {
        key: "auto_snapshot_restore",
        days: None,
        default: 1,
        project_only: false,
        summary: "snapshot the current state before restore_snapshot replaces it",
    },
    SettingSpec {
        key: "manual_retention_days",
        days: Some((1, 3650)),
        default: 90,
        project_only: false,
        summary: "days a manual snapshot is kept",
    },
    SettingSpec {
        key: "auto_retention_days",
        days: Some((1, 3650)),
        default: 7,
        project_only: false,
        summary: "days an automatic snapshot is kept",
    },
    SettingSpec {
        key: "time_travel_days",
        days: Some((0, 90)),
        default: 7,
        project_only: true,
        summary: "days of history create_table_at can reach (0: none kept)",
    },
    SettingSpec {
        key: "time_travel_resolution_minutes",
        days: Some((0, 1440)),
        default: 60,
        project_only: true,
        summary: "in-place writes keep history at most this often per table (0: every write, exact at every instant)",
    },
];

fn spec(key: &str) -> Option<&'static SettingSpec> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// A setting's effective value for one table and the level it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub value: i64,
    pub local: Option<i64>,
    pub source: &'static str,
}

/// Stored settings of a project, by (level, target, key).
struct Stored(HashMap<(String, String, String), i64>);

impl Stored {
    fn load(tx: &CatalogTx<'_>, project_id: i64) -> Result<Stored> {
        Ok(Stored(
            tx.snapshot_settings(project_id)?
                .into_iter()
                .filter_map(|(level, target, key, value)| Some(((level, target, key), value.parse().ok()?)))
                .collect(),
        ))
    }

    fn get(&self, level: &str, target: &str, key: &str) -> Option<i64> {
        self.0.get(&(level.to_owned(), target.to_owned(), key.to_owned())).copied()
    }

    /// The value at `level` for `target`, inherited from the levels above (table → bucket →
    /// project → system).
    fn effective(&self, level: &str, bucket: &str, table: &str, key: &str) -> Effective {
        let spec = spec(key).expect("known key");
        let chain: Vec<(&'static str, &str)> = match level {
            "table" => vec![("table", table), ("bucket", bucket), ("project", "")],
            "bucket" => vec![("bucket", bucket), ("project", "")],
            _ => vec![("project", "")],
        };
        let local = self.get(level, chain[0].1, key);
        for (l, target) in chain {
            if let Some(v) = self.get(l, target, key) {
                return Effective { value: v, local, source: l };
            }
        }
        Effective { value: spec.default, local, source: "system" }
    }
}

impl Inner {
    fn table_setting(&self, tx: &CatalogTx<'_>, project_id: i64, bucket: &str, table: &str, key: &str) -> Result<i64> {
        Ok(Stored::load(tx, project_id)?.effective("table", bucket, &format!("{bucket}.{table}"), key).value)
    }

    fn bucket_of(&self, tx: &CatalogTx<'_>, table: &TableRecord) -> Result<BucketRecord> {
        tx.bucket(table.bucket_id)?.ok_or_else(|| Error::internal("locating a table's bucket", "bucket missing"))
    }

    /// Records a snapshot of `file` (checkpointed first: the file alone then holds the rows).
    fn take_snapshot(
        &self,
        ctx: &SessionContext,
        bucket: &BucketRecord,
        table: &TableRecord,
        file: &TableFile,
        trigger: Option<&str>,
        description: &str,
    ) -> Result<SnapshotRecord> {
        self.engine.checkpoint(file)?;
        let bytes = self.engine.file_bytes(file);
        let now = now_micros();
        self.catalog.write(|tx| {
            let key = if trigger.is_some() { "auto_retention_days" } else { "manual_retention_days" };
            let days = self.table_setting(tx, bucket.project_id, &bucket.full_name(), &table.name, key)?;
            let snapshot = tx.insert_snapshot(&SnapshotRecord {
                id: 0,
                project_id: bucket.project_id,
                branch_id: bucket.branch_id,
                table_id: table.id,
                version: file.version,
                bucket: bucket.full_name(),
                table_name: table.name.clone(),
                columns: table.columns.clone(),
                primary_key: table.primary_key.clone(),
                row_count: table.row_count,
                byte_count: bytes,
                description: description.to_owned(),
                trigger: trigger.map(str::to_owned),
                created_at: now,
                created_by: ctx.user.clone(),
                expires_at: Some(now + days * DAY),
                valid_from: None,
                valid_to: None,
                last_write_at: Some(table.changed_at),
            })?;
            self.audit(
                tx,
                ctx,
                Some(bucket.project_id),
                "create_snapshot",
                ("table", format!("{}.{}", bucket.full_name(), table.name)),
                json!({"snapshot": snapshot.id, "trigger": trigger}),
            )?;
            Ok(snapshot)
        })
        .inspect(|_| {
            metrics::counter!("duckstore_snapshots_created_total", "trigger" => trigger.unwrap_or("manual").to_owned())
                .increment(1)
        })
    }

    /// Takes an automatic snapshot of `file` when the table's settings ask for one before `why`.
    pub(crate) fn auto_snapshot(
        &self,
        ctx: &SessionContext,
        table: &TableRecord,
        file: &TableFile,
        why: Destruction,
    ) -> Result<()> {
        let key = match why {
            Destruction::DropTable => "auto_snapshot_drop_table",
            Destruction::DropColumn => "auto_snapshot_drop_column",
            Destruction::DeleteAll => "auto_snapshot_delete_all",
            Destruction::FullLoad => "auto_snapshot_full_load",
            Destruction::Restore => "auto_snapshot_restore",
        };
        let bucket = self.catalog.read(|tx| self.bucket_of(tx, table))?;
        let on =
            self.catalog.read(|tx| self.table_setting(tx, bucket.project_id, &bucket.full_name(), &table.name, key))?;
        if on != 0 {
            self.take_snapshot(ctx, &bucket, table, file, Some(why.label()), "")?;
        }
        Ok(())
    }

    /// Keeps `file` (the version `table` is leaving) as time-travel history when the project
    /// keeps any; answers whether it did.
    fn keep_history(&self, table: &TableRecord, file: &TableFile) -> Result<bool> {
        let bucket = self.catalog.read(|tx| self.bucket_of(tx, table))?;
        let days = self.catalog.read(|tx| {
            Ok(Stored::load(tx, bucket.project_id)?.effective("project", "", "", "time_travel_days").value)
        })?;
        if days == 0 {
            return Ok(false);
        }
        self.engine.checkpoint(file)?;
        let bytes = self.engine.file_bytes(file);
        let now = now_micros();
        self.catalog.write(|tx| {
            tx.insert_snapshot(&SnapshotRecord {
                id: 0,
                project_id: bucket.project_id,
                branch_id: bucket.branch_id,
                table_id: table.id,
                version: file.version,
                bucket: bucket.full_name(),
                table_name: table.name.clone(),
                columns: table.columns.clone(),
                primary_key: table.primary_key.clone(),
                row_count: table.row_count,
                byte_count: bytes,
                description: String::new(),
                trigger: Some("time_travel".into()),
                created_at: now,
                created_by: "duckstore".into(),
                expires_at: Some(now + days * DAY),
                valid_from: Some(table.version_since),
                valid_to: Some(now),
                last_write_at: Some(table.changed_at),
            })
        })?;
        Ok(true)
    }

    /// The file of a table that is gone: removed once its readers are done, unless a snapshot
    /// keeps it.
    pub(crate) fn discard_version(&self, table: &TableRecord, old: &TableFile) {
        let kept = self.catalog.read(|tx| tx.version_is_kept(table.id, old.version)).unwrap_or(true);
        if !kept
            && !self.read_snapshots.of(old.project_id).defer(table, old)
            && let Err(e) = self.engine.remove_table_file(old)
        {
            tracing::warn!(error = %e, table = table.id, "a dropped table's file could not be removed yet");
        }
    }

    /// A version a table no longer uses: kept as history, or while a snapshot keeps it;
    /// otherwise removed once its readers are done.
    pub(crate) fn retire_version(&self, table: &TableRecord, old: &TableFile) {
        let kept = match self.keep_history(table, old) {
            Ok(true) => true,
            Ok(false) => self.catalog.read(|tx| tx.version_is_kept(table.id, old.version)).unwrap_or(true),
            Err(e) => {
                tracing::warn!(error = %e, table = table.id, "keeping a table version as history failed");
                self.catalog.read(|tx| tx.version_is_kept(table.id, old.version)).unwrap_or(true)
            }
        };
        if !kept
            && !self.read_snapshots.of(old.project_id).defer(table, old)
            && let Err(e) = self.engine.remove_table_file(old)
        {
            tracing::warn!(error = %e, table = table.id, "a previous table version could not be removed yet");
        }
    }

    /// Versions read snapshots kept past their retirement, removed now that none reads them
    /// (unless a table snapshot or history took them meanwhile).
    pub(crate) fn remove_retired(&self, retired: Vec<super::read_snapshots::Retired>) {
        for r in retired {
            let kept = self.catalog.read(|tx| tx.version_is_kept(r.table.id, r.file.version)).unwrap_or(true);
            if !kept && let Err(e) = self.engine.remove_table_file(&r.file) {
                tracing::warn!(error = %e, table = r.table.id, "a previous table version could not be removed yet");
            }
        }
    }

    /// The file a write may change in place: the table's current version, unless a snapshot
    /// keeps it, time travel wants it kept or a transaction's read snapshot reads it, in which
    /// case it is first copied to the next version and the table switched to the copy. Call
    /// with the table's write lock held; hold the answered guard until the write has committed
    /// (read snapshots taken meanwhile know the file is changing).
    pub(crate) fn writable_file(
        &self,
        table: &TableRecord,
        file: TableFile,
    ) -> Result<(TableFile, super::read_snapshots::InPlaceWrite)> {
        let now = now_micros();
        let bucket = self.catalog.read(|tx| self.bucket_of(tx, table))?;
        let (kept, history) = self.catalog.read(|tx| {
            let stored = Stored::load(tx, bucket.project_id)?;
            let days = stored.effective("project", "", "", "time_travel_days").value;
            let minutes = stored.effective("project", "", "", "time_travel_resolution_minutes").value;
            let history = days > 0 && table.version_since + minutes * 60_000_000 <= now && table.changed_at > 0;
            Ok((tx.version_is_kept(table.id, file.version)?, history))
        })?;
        if !kept
            && !history
            && let Some(write) = self.read_snapshots.of(file.project_id).start_in_place(&file)
        {
            return Ok((file, write));
        }
        let pinned_only = !kept && !history;
        let next = TableFile { version: self.catalog.read(|tx| tx.next_version(table.id))?, ..file.clone() };
        // registered before the catalog points at it: a snapshot taken from then on finds it
        let write = self.read_snapshots.of(next.project_id).start_in_place_unchecked(&next);
        self.engine.copy_table_file(&file, &next)?;
        if history && let Err(e) = self.keep_history(table, &file) {
            let _ = self.engine.remove_table_file(&next);
            return Err(e);
        }
        let (rows, bytes) = (table.row_count, table.byte_count);
        if let Err(e) = self.catalog.write(|tx| tx.update_table_stats(table.id, next.version, rows, bytes, now)) {
            let _ = self.engine.remove_table_file(&next);
            return Err(e);
        }
        if pinned_only {
            // a read snapshot reads it: removed when the last one ends
            self.retire_version(table, &file);
        }
        let reason = if kept {
            "snapshot"
        } else if history {
            "time_travel"
        } else {
            "read_snapshot"
        };
        metrics::counter!("duckstore_copy_on_write_total", "reason" => reason).increment(1);
        Ok((next, write))
    }

    /// Removes a snapshot's file if nothing uses it any more.
    fn release_snapshot_file(&self, s: &SnapshotRecord) {
        let in_use = self
            .catalog
            .read(|tx| Ok(tx.version_is_kept(s.table_id, s.version)? || tx.version_is_current(s.table_id, s.version)?))
            .unwrap_or(true);
        if !in_use {
            let file = TableFile {
                project_id: s.project_id,
                branch_id: s.branch_id,
                table_id: s.table_id,
                version: s.version,
            };
            if let Err(e) = self.engine.remove_table_file(&file) {
                tracing::warn!(error = %e, snapshot = s.id, "a snapshot's file could not be removed yet");
            }
        }
    }
}

fn snapshot_not_found(id: i64) -> Error {
    Error::not_found(format!("snapshot {id} does not exist")).with_sqlstate(SqlState::UndefinedObject)
}

/// Where a restore puts the rows: back into the table they came from, or a new table.
#[derive(Debug, Clone)]
pub struct RestoreTarget {
    pub bucket: String,
    pub name: String,
}

impl Storage {
    /// `create_snapshot`: keeps the table's current version; answers the snapshot.
    pub async fn create_snapshot(
        &self,
        ctx: SessionContext,
        target: TableName,
        description: String,
    ) -> Result<SnapshotRecord> {
        let locked = self.lock_target(&ctx, &target, &[]).await?;
        self.blocking(move |inner| {
            let (project_id, branch_id) = require_write(&ctx)?;
            let (bucket, table) = locked.resolve(inner, &ctx)?;
            let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
            inner.take_snapshot(&ctx, &bucket, &table, &file, None, &description)
        })
        .await
    }

    /// The snapshots the session may see (time-travel history not included).
    pub async fn snapshots(&self, ctx: SessionContext) -> Result<Vec<SnapshotRecord>> {
        let project = ctx.project_id();
        let branch = ctx.branch_id;
        self.blocking(move |inner| {
            let all = inner.catalog.read(|tx| tx.snapshots(project, false))?;
            Ok(all.into_iter().filter(|s| branch.is_none_or(|b| s.branch_id == b)).collect())
        })
        .await
    }

    fn own_snapshot(inner: &Inner, ctx: &SessionContext, id: i64) -> Result<SnapshotRecord> {
        let (project_id, branch_id) = require_write(ctx)?;
        inner
            .catalog
            .read(|tx| tx.snapshot(id))?
            .filter(|s| {
                s.project_id == project_id && s.branch_id == branch_id && s.trigger.as_deref() != Some("time_travel")
            })
            .ok_or_else(|| snapshot_not_found(id))
    }

    /// `drop_snapshot`: forgets it, and its file when nothing else uses it.
    pub async fn drop_snapshot(&self, ctx: SessionContext, id: i64) -> Result<()> {
        self.blocking(move |inner| {
            let snapshot = Self::own_snapshot(inner, &ctx, id)?;
            inner.catalog.write(|tx| {
                tx.delete_snapshot(id)?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(snapshot.project_id),
                    "drop_snapshot",
                    ("snapshot", id.to_string()),
                    json!({"table": format!("{}.{}", snapshot.bucket, snapshot.table_name)}),
                )
            })?;
            inner.release_snapshot_file(&snapshot);
            Ok(())
        })
        .await
    }

    /// `restore_snapshot`: back into its table (which comes back if it was dropped), or into a
    /// new table. Answers the restored table.
    pub async fn restore_snapshot(
        &self,
        ctx: SessionContext,
        id: i64,
        into: Option<RestoreTarget>,
    ) -> Result<(String, i64)> {
        let snapshot = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_snapshot(inner, &ctx, id)).await?
        };
        match into {
            Some(target) => self.restore_as_new(ctx, snapshot, target, "restore_snapshot").await,
            None => self.restore_in_place(ctx, snapshot).await,
        }
    }

    /// `restore_snapshot` / `create_table_from_snapshot` inside a transaction block: the table
    /// the block sees takes the snapshot's definition and a copy of its rows, or a new table is
    /// made from them, seen by the block alone until COMMIT. A table dropped since comes back
    /// outside a block only.
    pub async fn restore_snapshot_in(
        &self,
        transaction: &mut super::Transaction,
        ctx: SessionContext,
        (id, into): (i64, Option<RestoreTarget>),
        canceller: &Canceller,
    ) -> Result<(String, i64)> {
        let snapshot = {
            let ctx = ctx.clone();
            self.blocking(move |inner| Self::own_snapshot(inner, &ctx, id)).await?
        };
        match into {
            Some(target) => {
                self.restore_as_new_in(transaction, ctx, snapshot, target, "restore_snapshot", canceller).await
            }
            None => {
                let name = TableName { schema: Some(snapshot.bucket.clone()), name: snapshot.table_name.clone() };
                let full = format!("{}.{}", snapshot.bucket, snapshot.table_name);
                match self.table_id_named(&ctx, &name).await? {
                    Some(id) if id != snapshot.table_id => Err(another_table_named(&full)),
                    Some(_) => {
                        let (txn, session, rows) = (transaction.id(), ctx.clone(), snapshot.row_count);
                        let build = move |inner: &Inner, table: &TableRecord, r: &super::transactions::Rebuild| {
                            if !r.created && !r.altered {
                                let committed = TableFile { version: table.version, ..r.source.clone() };
                                inner.before_destruction(&session, table, &committed, Destruction::Restore)?;
                            }
                            let outcome = copy_kept_version(inner, &snapshot, &r.next)?;
                            let schema = (snapshot.columns.clone(), snapshot.primary_key.clone());
                            inner.catalog.write(|tx| tx.set_pending_schema(table.id, txn, &schema.0, &schema.1))?;
                            Ok((Some(schema), outcome))
                        };
                        self.rebuild_in(transaction, &ctx, (&name, &[]), "restore_snapshot", canceller, build).await?;
                        Ok((full, rows))
                    }
                    None => Err(Error::unsupported(format!(
                        "table \"{full}\" was dropped; restoring it under its old id runs outside a transaction block only"
                    ))
                    .with_sqlstate(SqlState::ActiveSqlTransaction)
                    .with_hint("restore it outside the block, or into a new name with bucket => …, table => …")),
                }
            }
        }
    }

    /// The id of the table `name` the session sees (its transaction's catalog included).
    async fn table_id_named(&self, ctx: &SessionContext, name: &TableName) -> Result<Option<i64>> {
        let (project_id, branch_id) = require_write(ctx)?;
        let name = name.clone();
        self.blocking(move |inner| {
            inner.catalog.read(|tx| Ok(inner.find_table(tx, project_id, branch_id, &name, &[])?.map(|(_, t)| t.id)))
        })
        .await
    }

    /// [`Storage::restore_as_new`] inside a transaction block.
    async fn restore_as_new_in(
        &self,
        transaction: &mut super::Transaction,
        ctx: SessionContext,
        snapshot: SnapshotRecord,
        target: RestoreTarget,
        operation: &'static str,
        canceller: &Canceller,
    ) -> Result<(String, i64)> {
        let spec = new_table_spec(&snapshot, &target);
        self.create_table_in(transaction, ctx.clone(), spec, false, canceller)
            .await
            .map_err(|e| name_taken(e, &target))?;
        let name = TableName { schema: Some(target.bucket.clone()), name: target.name.clone() };
        let build = move |inner: &Inner, _: &TableRecord, r: &super::transactions::Rebuild| {
            Ok((None, copy_kept_version(inner, &snapshot, &r.next)?))
        };
        let written = self.rebuild_in(transaction, &ctx, (&name, &[]), operation, canceller, build).await?;
        Ok((format!("{}.{}", target.bucket, target.name), written.row_count))
    }

    /// A new table from a kept version: its definition, and a copy of its file.
    async fn restore_as_new(
        &self,
        ctx: SessionContext,
        snapshot: SnapshotRecord,
        target: RestoreTarget,
        operation: &'static str,
    ) -> Result<(String, i64)> {
        let spec = new_table_spec(&snapshot, &target);
        let table = self.create_table(ctx.clone(), spec, false).await.map_err(|e| name_taken(e, &target))?;
        let name = TableName { schema: Some(target.bucket.clone()), name: target.name.clone() };
        let cleanup_ctx = ctx.clone();
        let locked = self.lock_target(&ctx, &name, &[]).await?;
        let result = self
            .blocking(move |inner| {
                let _locked = locked;
                let (project_id, branch_id) = require_write(&ctx)?;
                let current = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
                let next =
                    TableFile { version: inner.catalog.read(|tx| tx.next_version(table.id))?, ..current.clone() };
                let copied = copy_kept_version(inner, &snapshot, &next)?;
                let (rows, bytes) = (copied.row_count, copied.byte_count);
                inner.catalog.write(|tx| {
                    tx.update_table_stats(table.id, next.version, rows, bytes, now_micros())?;
                    inner.audit(
                        tx,
                        &ctx,
                        Some(project_id),
                        operation,
                        ("table", format!("{}.{}", target.bucket, target.name)),
                        json!({"snapshot": snapshot.id}),
                    )
                })?;
                let _ = inner.engine.remove_table_file(&current);
                Ok((format!("{}.{}", target.bucket, target.name), rows))
            })
            .await;
        if result.is_err() {
            let _ = self.drop_table(cleanup_ctx, name, vec![], true).await;
        }
        result
    }

    /// Restores into the table the snapshot came from: its definition comes back, and its
    /// current version becomes the kept one (the next write copies it). A dropped table comes
    /// back under its old id, in its bucket (created again if needed).
    async fn restore_in_place(&self, ctx: SessionContext, snapshot: SnapshotRecord) -> Result<(String, i64)> {
        let name = TableName { schema: Some(snapshot.bucket.clone()), name: snapshot.table_name.clone() };
        let full = format!("{}.{}", snapshot.bucket, snapshot.table_name);
        let exists = self.table_id_named(&ctx, &name).await?;
        match exists {
            Some(id) if id != snapshot.table_id => Err(another_table_named(&full)),
            Some(_) => {
                let locked = self.lock_target(&ctx, &name, &[]).await?;
                self.blocking(move |inner| {
                    let (project_id, branch_id) = require_write(&ctx)?;
                    let (_, table) = locked.resolve(inner, &ctx)?;
                    let current = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
                    inner.before_destruction(&ctx, &table, &current, Destruction::Restore)?;
                    inner.catalog.write(|tx| {
                        tx.replace_columns(table.id, &snapshot.columns)?;
                        tx.set_primary_key(table.id, &snapshot.primary_key)?;
                        tx.update_table_stats(
                            table.id,
                            snapshot.version,
                            snapshot.row_count,
                            snapshot.byte_count,
                            now_micros(),
                        )?;
                        inner.audit(
                            tx,
                            &ctx,
                            Some(project_id),
                            "restore_snapshot",
                            ("table", full.clone()),
                            json!({"snapshot": snapshot.id}),
                        )
                    })?;
                    if current.version != snapshot.version {
                        inner.retire_version(&table, &current);
                    }
                    Ok((full, snapshot.row_count))
                })
                .await
            }
            None => {
                let (stage, bucket_name) = super::names::parse_bucket(&snapshot.bucket)?;
                match self.create_bucket(ctx.clone(), stage, bucket_name, String::new(), true).await {
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
                self.blocking(move |inner| {
                    let (project_id, branch_id) = require_write(&ctx)?;
                    inner.catalog.write(|tx| {
                        let bucket = inner.bucket_named(tx, project_id, branch_id, &snapshot.bucket)?;
                        if tx.table(snapshot.table_id)?.is_some() {
                            return Err(
                                Error::already_exists("the table id is in use").with_sqlstate(SqlState::DuplicateTable)
                            );
                        }
                        let visible =
                            TableName { schema: Some(snapshot.bucket.clone()), name: snapshot.table_name.clone() };
                        if inner.find_view(tx, project_id, branch_id, &visible)?.is_some() {
                            return Err(Error::already_exists(format!(
                                "relation \"{}\" already exists (a view); drop it or restore under another name",
                                snapshot.table_name
                            ))
                            .with_sqlstate(SqlState::DuplicateTable));
                        }
                        let now = now_micros();
                        tx.insert_table(&TableRecord {
                            id: snapshot.table_id,
                            bucket_id: bucket.id,
                            name: snapshot.table_name.clone(),
                            version: snapshot.version,
                            primary_key: snapshot.primary_key.clone(),
                            row_count: snapshot.row_count,
                            byte_count: snapshot.byte_count,
                            description: String::new(),
                            created_at: now,
                            created_by: ctx.user.clone(),
                            changed_at: now,
                            version_since: now,
                            columns: snapshot.columns.clone(),
                        })?;
                        inner.audit(
                            tx,
                            &ctx,
                            Some(project_id),
                            "restore_snapshot",
                            ("table", full.clone()),
                            json!({"snapshot": snapshot.id}),
                        )
                    })?;
                    Ok((full, snapshot.row_count))
                })
                .await
            }
        }
    }

    /// `create_table_at`: a new table from another table's state at `at`, within the
    /// project's time-travel window.
    pub async fn create_table_at(
        &self,
        ctx: SessionContext,
        source: TableName,
        at: i64,
        target: RestoreTarget,
    ) -> Result<(String, i64)> {
        let state = self.state_at(&ctx, source, at, StateLock::Take).await?;
        self.restore_as_new(ctx, state, target, "create_table_at").await
    }

    /// `create_table_at` inside a transaction block: the new table is the block's until COMMIT.
    /// The state is the committed one at `at`, whatever the block wrote since.
    pub async fn create_table_at_in(
        &self,
        transaction: &mut super::Transaction,
        ctx: SessionContext,
        (source, at, target): (TableName, i64, RestoreTarget),
        canceller: &Canceller,
    ) -> Result<(String, i64)> {
        // a table the block wrote is locked by it already (and nobody else writes it); any
        // other's lock is waited for as the block's, so a deadlock is seen (40P01)
        let held = self.table_id_named(&ctx, &source).await?.is_some_and(|id| transaction.holds_lock(id));
        let lock = if held {
            StateLock::Held
        } else {
            StateLock::Taken(self.lock_target_for_transaction(&ctx, &source, &[], transaction.id(), canceller).await?)
        };
        let state = self.state_at(&ctx, source, at, lock).await?;
        self.restore_as_new_in(transaction, ctx, state, target, "create_table_at", canceller).await
    }

    /// The kept version that holds `source`'s state at `at`, within the project's time-travel
    /// window, read under the table's lock.
    async fn state_at(
        &self,
        ctx: &SessionContext,
        source: TableName,
        at: i64,
        lock: StateLock,
    ) -> Result<SnapshotRecord> {
        let (project_id, branch_id) = require_write(ctx)?;
        let now = now_micros();
        if at > now {
            return Err(Error::invalid(format!("{} is in the future", format_micros(at)))
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        let locked = match lock {
            StateLock::Take => Some(self.lock_target(ctx, &source, &[]).await?),
            StateLock::Taken(locked) => Some(locked),
            StateLock::Held => None,
        };
        let state = {
            let ctx2 = ctx.clone();
            self.blocking(move |inner| {
                let _locked = locked;
                let (bucket, table) = inner.catalog.read(|tx| {
                    inner.find_table(tx, project_id, branch_id, &source, &[])?.ok_or_else(|| {
                        Error::not_found(format!("relation {source} does not exist"))
                            .with_sqlstate(SqlState::UndefinedTable)
                    })
                })?;
                let _ = &ctx2;
                let (days, history) = inner.catalog.read(|tx| {
                    let days = Stored::load(tx, project_id)?.effective("project", "", "", "time_travel_days").value;
                    Ok((days, tx.table_history(table.id)?))
                })?;
                if at < now - days * DAY {
                    return Err(Error::new(
                        ErrorKind::FailedPrecondition,
                        format!("{} is outside the project's time-travel window of {days} days", format_micros(at)),
                    )
                    .with_sqlstate(SqlState::ObjectNotInPrerequisiteState));
                }
                if at < table.created_at {
                    return Err(Error::invalid(format!(
                        "table {}.{} did not exist at {}",
                        bucket.full_name(),
                        table.name,
                        format_micros(at)
                    ))
                    .with_sqlstate(SqlState::InvalidParameterValue));
                }
                // the version that was current at `at`, and whether it holds exactly that state
                let found =
                    history.iter().find(|h| h.valid_from.unwrap_or(0) <= at && at < h.valid_to.unwrap_or(i64::MAX));
                let exact = |h: &SnapshotRecord| h.last_write_at.unwrap_or(0) <= at;
                match found {
                    Some(h) if exact(h) => Ok(h.clone()),
                    Some(h) => Err(not_kept(at, h.last_write_at.unwrap_or(0), h.valid_to.unwrap_or(now))),
                    None if at >= table.version_since => {
                        if table.changed_at > at {
                            return Err(not_kept(at, table.changed_at, now));
                        }
                        // the current version still holds that state: keep it, then copy from it
                        let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
                        inner.engine.checkpoint(&file)?;
                        Ok(SnapshotRecord {
                            id: 0,
                            project_id,
                            branch_id,
                            table_id: table.id,
                            version: table.version,
                            bucket: bucket.full_name(),
                            table_name: table.name.clone(),
                            columns: table.columns.clone(),
                            primary_key: table.primary_key.clone(),
                            row_count: table.row_count,
                            byte_count: table.byte_count,
                            description: String::new(),
                            trigger: Some("time_travel".into()),
                            created_at: now,
                            created_by: String::new(),
                            expires_at: None,
                            valid_from: Some(table.version_since),
                            valid_to: None,
                            last_write_at: Some(table.changed_at),
                        })
                    }
                    None => Err(Error::new(
                        ErrorKind::FailedPrecondition,
                        format!("no history of this table reaches back to {}", format_micros(at)),
                    )
                    .with_sqlstate(SqlState::ObjectNotInPrerequisiteState)),
                }
            })
            .await?
        };
        Ok(state)
    }
}

fn not_kept(at: i64, from: i64, to: i64) -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        format!(
            "the state at {} was not kept: the table was changed in place until {}; states from then until {} are kept",
            format_micros(at),
            format_micros(from),
            format_micros(to)
        ),
    )
    .with_sqlstate(SqlState::ObjectNotInPrerequisiteState)
    .with_hint("time_travel_resolution_minutes => 0 keeps every state, at the cost of a copy per write")
}

/// A level and target of a settings call, checked against the session.
fn settings_target(ctx: &SessionContext, level: &str, target: &str) -> Result<(i64, String, String)> {
    let (project_id, _) = require_write(ctx)?;
    match level {
        "project" => {
            if ctx.scope() != Some(Scope::ProjectAdmin) {
                return Err(Error::permission_denied("project-level snapshot settings need a project_admin token"));
            }
            Ok((project_id, "project".into(), String::new()))
        }
        "bucket" => {
            super::names::parse_bucket(target)?;
            Ok((project_id, "bucket".into(), target.to_owned()))
        }
        "table" => {
            let (bucket, _) = target.rsplit_once('.').ok_or_else(|| {
                Error::invalid(format!("'{target}' is not a table id like 'in.c-sales.orders'"))
                    .with_sqlstate(SqlState::InvalidName)
            })?;
            super::names::parse_bucket(bucket)?;
            Ok((project_id, "table".into(), target.to_owned()))
        }
        other => Err(Error::invalid(format!("level must be 'project', 'bucket' or 'table', not '{other}'"))
            .with_sqlstate(SqlState::InvalidParameterValue)),
    }
}

impl Inner {
    /// Settings are kept only for a bucket or table that exists (in the session's branch, or
    /// the default branch's it sees): a typo must not store settings nothing ever reads.
    fn settings_target_exists(
        &self,
        tx: &crate::catalog::CatalogTx<'_>,
        project_id: i64,
        branch_id: i64,
        level: &str,
        target: &str,
    ) -> Result<()> {
        match level {
            "bucket" => {
                let (stage, name) = super::names::parse_bucket(target)?;
                if tx.bucket_by_name(project_id, branch_id, &stage, &name)?.is_none()
                    && self.live_bucket(tx, project_id, branch_id, &stage, &name)?.is_none()
                {
                    return Err(Error::not_found(format!("bucket \"{target}\" does not exist"))
                        .with_sqlstate(SqlState::InvalidSchemaName));
                }
            }
            "table" => {
                let (bucket, table) = target.rsplit_once('.').unwrap_or(("", target));
                let name = super::TableName { schema: Some(bucket.to_owned()), name: table.to_owned() };
                if self.find_table(tx, project_id, branch_id, &name, &[])?.is_none() {
                    return Err(Error::not_found(format!("table \"{target}\" does not exist"))
                        .with_sqlstate(SqlState::UndefinedTable));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Storage {
    /// `set_snapshot_settings`: stores values at one level; unknown keys and values out of
    /// range are refused before anything is stored.
    pub async fn set_snapshot_settings(
        &self,
        ctx: SessionContext,
        level: String,
        target: String,
        values: Vec<(String, i64)>,
    ) -> Result<usize> {
        let (project_id, level, target) = settings_target(&ctx, &level, &target)?;
        if values.is_empty() {
            return Err(
                Error::invalid("name at least one setting to change").with_sqlstate(SqlState::InvalidParameterValue)
            );
        }
        for (key, value) in &values {
            let spec = spec(key).ok_or_else(|| {
                Error::invalid(format!(
                    "unknown snapshot setting \"{key}\"; known: {}",
                    SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
                ))
                .with_sqlstate(SqlState::InvalidParameterValue)
            })?;
            if spec.project_only && level != "project" {
                return Err(Error::invalid(format!("{key} is set for the whole project (level => 'project')"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
            match spec.days {
                Some((low, high)) if !(low..=high).contains(value) => {
                    return Err(Error::invalid(format!("{key} must be between {low} and {high}, not {value}"))
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
                None if !(0..=1).contains(value) => {
                    return Err(Error::invalid(format!("{key} is true or false"))
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
                _ => {}
            }
        }
        let (_, branch_id) = require_write(&ctx)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                inner.settings_target_exists(tx, project_id, branch_id, &level, &target)?;
                for (key, value) in &values {
                    tx.set_snapshot_setting(
                        project_id,
                        &level,
                        &target,
                        (key, &value.to_string()),
                        (now_micros(), &ctx.user),
                    )?;
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "set_snapshot_settings",
                    (level.as_str(), target.clone()),
                    json!({"keys": values.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()}),
                )?;
                Ok(values.len())
            })
        })
        .await
    }

    /// `reset_snapshot_settings`: back to the inherited values (all keys, or those named).
    pub async fn reset_snapshot_settings(
        &self,
        ctx: SessionContext,
        level: String,
        target: String,
        keys: Vec<String>,
    ) -> Result<usize> {
        let (project_id, level, target) = settings_target(&ctx, &level, &target)?;
        if let Some(unknown) = keys.iter().find(|k| spec(k).is_none()) {
            return Err(Error::invalid(format!("unknown snapshot setting \"{unknown}\""))
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let mut removed = 0;
                if keys.is_empty() {
                    removed += tx.reset_snapshot_settings(project_id, &level, &target, None)?;
                } else {
                    for key in &keys {
                        removed += tx.reset_snapshot_settings(project_id, &level, &target, Some(key))?;
                    }
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "reset_snapshot_settings",
                    (level.as_str(), target.clone()),
                    json!({}),
                )?;
                Ok(removed)
            })
        })
        .await
    }

    /// Rows of `duckstore.snapshot_settings`: every key at the project, each bucket and each
    /// table the session sees, with its effective value, local value and source level.
    pub async fn snapshot_settings_rows(
        &self,
        ctx: SessionContext,
    ) -> Result<Vec<(String, String, String, Effective)>> {
        let (project_id, _) = session_branch(&ctx)?;
        let snapshot = self.catalog_snapshot(ctx).await?;
        self.blocking(move |inner| {
            let stored = inner.catalog.read(|tx| Stored::load(tx, project_id))?;
            let mut rows = Vec::new();
            for s in SETTINGS {
                rows.push((
                    "project".to_owned(),
                    String::new(),
                    s.key.to_owned(),
                    stored.effective("project", "", "", s.key),
                ));
            }
            for b in snapshot.buckets.iter().filter(|b| b.project_id == project_id) {
                let bucket = b.full_name();
                for s in SETTINGS.iter().filter(|s| !s.project_only) {
                    rows.push((
                        "bucket".into(),
                        bucket.clone(),
                        s.key.to_owned(),
                        stored.effective("bucket", &bucket, "", s.key),
                    ));
                }
                for (_, t) in snapshot.tables.iter().filter(|(id, _)| *id == b.id) {
                    let table = format!("{bucket}.{}", t.name);
                    for s in SETTINGS.iter().filter(|s| !s.project_only) {
                        rows.push((
                            "table".into(),
                            table.clone(),
                            s.key.to_owned(),
                            stored.effective("table", &bucket, &table, s.key),
                        ));
                    }
                }
            }
            Ok(rows)
        })
        .await
    }

    /// Drops snapshots past their retention, with their files when nothing else uses them.
    pub async fn expire_snapshots(&self) -> Result<usize> {
        self.blocking(|inner| {
            let expired = inner.catalog.read(|tx| tx.expired_snapshots(now_micros()))?;
            for s in &expired {
                inner.catalog.write(|tx| tx.delete_snapshot(s.id))?;
                inner.release_snapshot_file(s);
                metrics::counter!("duckstore_snapshots_expired_total").increment(1);
            }
            Ok(expired.len())
        })
        .await
    }

    /// (count, bytes) of snapshots, for metrics.
    pub async fn snapshot_totals(&self) -> Result<(i64, i64)> {
        self.catalog_blocking(|inner| inner.catalog.read(|tx| tx.snapshot_totals())).await
    }
}

/// How [`Storage::state_at`] holds the source table still.
enum StateLock {
    /// Take its lock (outside a block).
    Take,
    /// The caller took it (as its block's).
    Taken(super::tables::LockedTable),
    /// The caller's block holds it already.
    Held,
}

/// The definition of a new table made from a kept version.
fn new_table_spec(snapshot: &SnapshotRecord, target: &RestoreTarget) -> super::TableSpec {
    super::TableSpec {
        bucket: target.bucket.clone(),
        name: target.name.clone(),
        columns: snapshot
            .columns
            .iter()
            .map(|c| ColumnSpec {
                name: c.name.clone(),
                type_name: c.sql_type.clone(),
                not_null: !c.nullable,
                default_sql: c.default_sql.clone(),
            })
            .collect(),
        primary_key: snapshot.primary_key.clone(),
        description: String::new(),
    }
}

/// A restore's new table name is taken.
fn name_taken(e: Error, target: &RestoreTarget) -> Error {
    if e.state() != SqlState::DuplicateTable {
        return e;
    }
    Error::already_exists(format!(
        "table \"{}.{}\" exists; restore into a new name, or restore_snapshot(id) into the original",
        target.bucket, target.name
    ))
    .with_sqlstate(SqlState::DuplicateTable)
}

fn another_table_named(full: &str) -> Error {
    Error::already_exists(format!(
        "another table named \"{full}\" exists now; restore into a new name with bucket => …, table => …"
    ))
    .with_sqlstate(SqlState::DuplicateTable)
}

/// A kept version's file copied to `next`; answers the copy's rows and bytes.
fn copy_kept_version(inner: &Inner, snapshot: &SnapshotRecord, next: &TableFile) -> Result<WriteOutcome> {
    let source = TableFile {
        project_id: snapshot.project_id,
        branch_id: snapshot.branch_id,
        table_id: snapshot.table_id,
        version: snapshot.version,
    };
    inner.engine.copy_table_file(&source, next)?;
    let (row_count, byte_count) = inner.engine.table_stats(next)?;
    Ok(WriteOutcome { affected: vec![row_count as usize], row_count, byte_count, returned: None })
}
