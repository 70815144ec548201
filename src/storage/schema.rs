//! Schema operations (`ALTER TABLE`), row deletion by Keboola's filters, and the hook every
//! destructive operation passes through. A schema change rebuilds the table into its next
//! version file and switches the catalog to it in one step (the same path as a full load), so a
//! change that fails — a value that does not convert, a NULL under NOT NULL, a duplicate key —
//! leaves the table, its data and its schema exactly as before.

use serde_json::json;

use super::loads::{Filter, filter_conditions};
use super::names::{self, TIMESTAMP_COLUMN, quote_ident};
use super::read_snapshots::ReadView;
use super::tables::{LockedTable, TableName, require_write, table_ddl};
use super::{ColumnSpec, Inner, SessionContext, Storage};
use crate::catalog::{ColumnRecord, TableRecord};
use crate::clock::now_micros;
use crate::engine::{Canceller, Param, TableFile};
use crate::error::{Error, Result, SqlState};

/// A table's columns and primary key.
pub(crate) type TableSchema = (Vec<ColumnRecord>, Vec<String>);

/// One change of an `ALTER TABLE`; several apply together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddColumn {
        column: ColumnSpec,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    SetType {
        name: String,
        type_name: String,
    },
    SetNotNull(String),
    DropNotNull(String),
    SetDefault {
        name: String,
        default_sql: String,
    },
    DropDefault(String),
    AddPrimaryKey(Vec<String>),
    /// `DROP CONSTRAINT name` (the primary key's name is `{table}_pkey`), or any name with `None`.
    DropPrimaryKey {
        constraint: Option<String>,
        if_exists: bool,
    },
}

impl Change {
    fn label(&self) -> &'static str {
        match self {
            Change::AddColumn { .. } => "add_column",
            Change::DropColumn { .. } => "drop_column",
            Change::RenameColumn { .. } => "rename_column",
            Change::SetType { .. } => "alter_column_type",
            Change::SetNotNull(_) | Change::DropNotNull(_) => "alter_column_nullable",
            Change::SetDefault { .. } | Change::DropDefault(_) => "alter_column_default",
            Change::AddPrimaryKey(_) => "add_primary_key",
            Change::DropPrimaryKey { .. } => "drop_primary_key",
        }
    }
}

/// Why a destructive operation is about to run: the snapshot settings decide on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destruction {
    DropTable,
    DropColumn,
    DeleteAll,
    FullLoad,
    Restore,
}

impl Destruction {
    pub fn label(self) -> &'static str {
        match self {
            Destruction::DropTable => "drop_table",
            Destruction::DropColumn => "drop_column",
            Destruction::DeleteAll => "delete_all",
            Destruction::FullLoad => "full_load",
            Destruction::Restore => "restore",
        }
    }
}

impl Inner {
    /// The one place every destructive operation passes before it runs (DROP TABLE, DROP
    /// COLUMN, TRUNCATE and deleting every row, a full load's replace), whichever surface asked
    /// for it. The table's write lock is held and `file` is its current version. Automatic
    /// snapshots hang here.
    pub(crate) fn before_destruction(
        &self,
        ctx: &SessionContext,
        table: &TableRecord,
        file: &TableFile,
        why: Destruction,
    ) -> Result<()> {
        self.auto_snapshot(ctx, table, file, why)
    }
}

/// A column of the rebuilt table and the expression (over the old table) that fills it.
struct Planned {
    column: ColumnRecord,
    source: String,
}

fn find<'a>(columns: &'a mut [Planned], name: &str) -> Result<&'a mut Planned> {
    columns.iter_mut().find(|p| p.column.name == name).ok_or_else(|| missing(name))
}

fn missing(name: &str) -> Error {
    Error::not_found(format!("column \"{name}\" does not exist")).with_sqlstate(SqlState::UndefinedColumn)
}

/// Applies `changes` to the table's definition: the new columns with their fill expressions,
/// and the new primary key.
fn plan_changes(table: &TableRecord, changes: &[Change]) -> Result<(Vec<Planned>, Vec<String>)> {
    let mut columns: Vec<Planned> =
        table.columns.iter().map(|c| Planned { column: c.clone(), source: quote_ident(&c.name) }).collect();
    let mut primary_key = table.primary_key.clone();
    for change in changes {
        match change {
            Change::AddColumn { column, if_not_exists } => {
                names::validate_column_name(&column.name)?;
                if columns.iter().any(|p| p.column.name.eq_ignore_ascii_case(&column.name)) {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(Error::already_exists(format!(
                        "column \"{}\" of relation \"{}\" already exists",
                        column.name, table.name
                    ))
                    .with_sqlstate(SqlState::DuplicateColumn));
                }
                let kind = names::column_type(&column.type_name)?;
                let source = match &column.default_sql {
                    Some(default) => format!("CAST({default} AS {})", kind.sql_type),
                    None => format!("CAST(NULL AS {})", kind.sql_type),
                };
                columns.push(Planned {
                    column: ColumnRecord {
                        name: column.name.clone(),
                        sql_type: kind.sql_type,
                        base_type: kind.base_type.to_owned(),
                        nullable: !column.not_null,
                        default_sql: column.default_sql.clone(),
                    },
                    source,
                });
            }
            Change::DropColumn { name, if_exists } => {
                let Some(at) = columns.iter().position(|p| &p.column.name == name) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(missing(name));
                };
                if primary_key.contains(name) {
                    return Err(Error::failed_precondition(format!(
                        "cannot drop column \"{name}\": it is part of the primary key; drop the primary key first"
                    ))
                    .with_sqlstate(SqlState::DependentObjectsStillExist));
                }
                if columns.len() == 1 {
                    return Err(Error::invalid(format!(
                        "cannot drop column \"{name}\": it is the table's last column; drop the table instead"
                    ))
                    .with_sqlstate(SqlState::InvalidTableDefinition));
                }
                columns.remove(at);
            }
            Change::RenameColumn { from, to } => {
                names::validate_column_name(to)?;
                if columns.iter().any(|p| p.column.name.eq_ignore_ascii_case(to) && &p.column.name != from) {
                    return Err(Error::already_exists(format!("column \"{to}\" already exists"))
                        .with_sqlstate(SqlState::DuplicateColumn));
                }
                find(&mut columns, from)?.column.name = to.clone();
                for key in primary_key.iter_mut().filter(|k| *k == from) {
                    *key = to.clone();
                }
            }
            Change::SetType { name, type_name } => {
                let kind = names::column_type(type_name)?;
                let planned = find(&mut columns, name)?;
                planned.source = format!("CAST({} AS {})", planned.source, kind.sql_type);
                planned.column.sql_type = kind.sql_type;
                planned.column.base_type = kind.base_type.to_owned();
                if let Some(default) = &planned.column.default_sql {
                    // the default must still fit the column
                    planned.column.default_sql = Some(default.clone());
                }
            }
            Change::SetNotNull(name) => find(&mut columns, name)?.column.nullable = false,
            Change::DropNotNull(name) => {
                if primary_key.contains(name) {
                    return Err(Error::invalid(format!("column \"{name}\" is in a primary key"))
                        .with_sqlstate(SqlState::InvalidTableDefinition));
                }
                find(&mut columns, name)?.column.nullable = true;
            }
            Change::SetDefault { name, default_sql } => {
                find(&mut columns, name)?.column.default_sql = Some(default_sql.clone())
            }
            Change::DropDefault(name) => find(&mut columns, name)?.column.default_sql = None,
            Change::AddPrimaryKey(keys) => {
                if !primary_key.is_empty() {
                    return Err(Error::invalid(format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        table.name
                    ))
                    .with_sqlstate(SqlState::InvalidTableDefinition));
                }
                if keys.is_empty() {
                    return Err(Error::invalid("a primary key needs at least one column")
                        .with_sqlstate(SqlState::InvalidTableDefinition));
                }
                for key in keys {
                    if keys.iter().filter(|k| *k == key).count() > 1 {
                        return Err(Error::invalid(format!("column \"{key}\" appears twice in the primary key"))
                            .with_sqlstate(SqlState::DuplicateColumn));
                    }
                    find(&mut columns, key)?.column.nullable = false;
                }
                primary_key = keys.clone();
            }
            Change::DropPrimaryKey { constraint, if_exists } => {
                let own = format!("{}_pkey", table.name);
                if let Some(name) = constraint
                    && name != &own
                {
                    if *if_exists {
                        continue;
                    }
                    return Err(Error::not_found(format!(
                        "constraint \"{name}\" of relation \"{}\" does not exist (its primary key is \"{own}\")",
                        table.name
                    ))
                    .with_sqlstate(SqlState::UndefinedObject));
                }
                if primary_key.is_empty() {
                    if *if_exists {
                        continue;
                    }
                    return Err(Error::not_found(format!("table \"{}\" has no primary key", table.name))
                        .with_sqlstate(SqlState::UndefinedObject));
                }
                primary_key.clear();
            }
        }
    }
    Ok((columns, primary_key))
}

impl Storage {
    /// `ALTER TABLE`: every change at once, as one atomic rebuild of the table.
    pub async fn alter_table(
        &self,
        ctx: SessionContext,
        target: TableName,
        search_path: Vec<String>,
        changes: Vec<Change>,
    ) -> Result<()> {
        let locked = self.lock_target(&ctx, &target, &search_path).await?;
        self.blocking(move |inner| inner.alter_locked(&ctx, &locked, &changes)).await
    }
}

impl Storage {
    /// `ALTER TABLE t RENAME TO u`: the table's catalog name, under its lock (its files are named
    /// by id, so nothing on disk moves). In a dev branch, the default branch's table it copied
    /// stays hidden there, as after a drop. Views that name the table by its old name no longer
    /// find it (a view is stored as its text).
    pub async fn rename_table(
        &self,
        ctx: SessionContext,
        target: TableName,
        search_path: Vec<String>,
        to: String,
    ) -> Result<()> {
        super::names::validate_table_name(&to)?;
        let locked = self.lock_target(&ctx, &target, &search_path).await?;
        self.blocking(move |inner| {
            let (project_id, branch_id) = require_write(&ctx)?;
            inner.catalog.write(|tx| {
                let (bucket, table) = locked.resolve_in(inner, tx, &ctx)?;
                let renamed = TableName { schema: Some(bucket.full_name()), name: to.clone() };
                let taken = inner.find_table(tx, project_id, branch_id, &renamed, &[])?.is_some()
                    || inner.find_view(tx, project_id, branch_id, &renamed)?.is_some()
                    || tx.table_name_taken(bucket.id, &to)?;
                if taken {
                    return Err(Error::already_exists(format!("relation \"{to}\" already exists"))
                        .with_sqlstate(SqlState::DuplicateTable));
                }
                tx.rename_table(table.id, &to)?;
                if let Some(mirrored) = bucket.mirrors_bucket_id
                    && let Some(original) = tx.table_by_name(mirrored, &table.name)?
                {
                    tx.hide(branch_id, "table", original.id)?;
                }
                let from = format!("{}.{}", bucket.full_name(), table.name);
                inner.audit(tx, &ctx, Some(project_id), "rename_table", ("table", from), json!({"to": to}))
            })
        })
        .await
    }
}

impl Inner {
    fn alter_locked(&self, ctx: &SessionContext, locked: &LockedTable, changes: &[Change]) -> Result<()> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (bucket, table) = locked.resolve(self, ctx)?;
        let (planned, primary_key) = plan_changes(&table, changes)?;
        let current = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
        if changes.iter().any(|c| matches!(c, Change::DropColumn { .. })) {
            self.before_destruction(ctx, &table, &current, Destruction::DropColumn)?;
        }
        let next = TableFile { version: self.catalog.read(|tx| tx.next_version(table.id))?, ..current.clone() };
        let (columns, outcome) =
            self.rebuild(&current, &next, (&planned, &primary_key), changes, &Canceller::default())?;
        let full_name = format!("{}.{}", bucket.full_name(), table.name);
        let labels: Vec<&str> = changes.iter().map(Change::label).collect();
        let committed = self.catalog.write(|tx| {
            tx.replace_columns(table.id, &columns)?;
            tx.set_primary_key(table.id, &primary_key)?;
            tx.update_table_stats(table.id, next.version, outcome.row_count, outcome.byte_count, now_micros())?;
            self.audit(
                tx,
                ctx,
                Some(project_id),
                "alter_table",
                ("table", full_name.clone()),
                json!({"changes": labels}),
            )
        });
        if let Err(e) = committed {
            let _ = self.engine.remove_table_file(&next);
            return Err(e);
        }
        self.retire_version(&table, &current);
        for label in labels {
            metrics::counter!("duckstore_schema_changes_total", "operation" => label).increment(1);
        }
        Ok(())
    }
}

impl Inner {
    /// Writes `source`'s rows, changed as `planned`, into the new file `next`; answers the new
    /// columns and the write's outcome. Nothing is left of `next` when it fails.
    fn rebuild(
        &self,
        source: &TableFile,
        next: &TableFile,
        (planned, primary_key): (&[Planned], &[String]),
        changes: &[Change],
        canceller: &Canceller,
    ) -> Result<(Vec<ColumnRecord>, crate::engine::WriteOutcome)> {
        let columns: Vec<ColumnRecord> = planned.iter().map(|p| p.column.clone()).collect();
        let _ = self.engine.remove_table_file(next);
        self.engine.create_table_file(next, &table_ddl(&columns, primary_key))?;
        let mut names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
        names.push(quote_ident(TIMESTAMP_COLUMN));
        let mut sources: Vec<String> = planned.iter().map(|p| p.source.clone()).collect();
        sources.push(quote_ident(TIMESTAMP_COLUMN));
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            next.data_ref(),
            names.join(", "),
            sources.join(", "),
            source.data_ref()
        );
        let written =
            self.engine.write(next, std::slice::from_ref(source), &[], &[(sql, Vec::<Param>::new())], None, canceller);
        match written {
            Ok(outcome) => Ok((columns, outcome)),
            Err(e) => {
                let _ = self.engine.remove_table_file(next);
                Err(explain_rebuild_error(e, changes))
            }
        }
    }

    /// `ALTER TABLE` inside a transaction block: `source` (the committed version, or the
    /// transaction's private one) rebuilt into the new private version `next`, the new
    /// columns and primary key kept for the transaction alone until COMMIT. Answers them with
    /// the write's outcome.
    pub(super) fn alter_into(
        &self,
        ctx: &SessionContext,
        table: &TableRecord,
        (source, next): (&TableFile, &TableFile),
        changes: &[Change],
        (transaction, destroys_committed): (u64, bool),
        canceller: &Canceller,
    ) -> Result<(TableSchema, crate::engine::WriteOutcome)> {
        let (planned, primary_key) = plan_changes(table, changes)?;
        if destroys_committed && changes.iter().any(|c| matches!(c, Change::DropColumn { .. })) {
            let committed = TableFile { version: table.version, ..source.clone() };
            self.before_destruction(ctx, table, &committed, Destruction::DropColumn)?;
        }
        let (columns, outcome) = self.rebuild(source, next, (&planned, &primary_key), changes, canceller)?;
        if let Err(e) = self.catalog.write(|tx| tx.set_pending_schema(table.id, transaction, &columns, &primary_key)) {
            let _ = self.engine.remove_table_file(next);
            return Err(e);
        }
        for change in changes {
            metrics::counter!("duckstore_schema_changes_total", "operation" => change.label()).increment(1);
        }
        Ok(((columns, primary_key), outcome))
    }
}

/// A rebuild's failure in the words of the change that caused it.
fn explain_rebuild_error(e: Error, changes: &[Change]) -> Error {
    let adding_key = changes.iter().any(|c| matches!(c, Change::AddPrimaryKey(_)));
    match e.state() {
        SqlState::UniqueViolation if adding_key => Error::sql(
            SqlState::UniqueViolation,
            format!("could not create the primary key: the table has duplicate keys ({})", e.message()),
        ),
        SqlState::NotNullViolation => {
            Error::sql(SqlState::NotNullViolation, format!("column contains null values ({})", e.message()))
        }
        _ => e,
    }
}

/// A filter on the rows of another table (Keboola's whereRefTableFilters): the column's value
/// is (`in`) or is not (`not_in`) among the non-NULL values of `ref_column` in `table`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RefFilter {
    pub column: String,
    #[serde(default = "in_operator")]
    pub operator: String,
    /// `bucket.table`, read with the session's rights.
    pub table: String,
    pub ref_column: String,
}

fn in_operator() -> String {
    "in".into()
}

/// Parses `ref_filters => '[{"column", "operator", "table", "ref_column"}]'`.
pub fn parse_ref_filters(text: &str) -> Result<Vec<RefFilter>> {
    serde_json::from_str::<Vec<RefFilter>>(text).map_err(|e| {
        Error::invalid(format!(
            "ref_filters must be a JSON list of {{\"column\", \"operator\", \"table\", \"ref_column\"}}: {e}"
        ))
        .with_sqlstate(SqlState::InvalidParameterValue)
    })
}

/// What `delete_rows` deletes.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub target: TableName,
    pub filters: Vec<Filter>,
    pub ref_filters: Vec<RefFilter>,
    pub changed_since: Option<i64>,
    pub changed_until: Option<i64>,
    /// Deleting every row must be asked for.
    pub all: bool,
}

impl Storage {
    /// `delete_rows`: deletes the rows matching Keboola's structured filters (and change-time
    /// bounds, and filters on other tables' values). Deleting every row needs `all`, and passes
    /// the destruction hook.
    pub async fn delete_rows(&self, ctx: SessionContext, request: DeleteRequest) -> Result<(i64, i64, i64)> {
        request.check()?;
        let locked = self.lock_target(&ctx, &request.target, &[]).await?;
        self.blocking(move |inner| {
            let (project_id, branch_id) = require_write(&ctx)?;
            let (bucket, table) = locked.resolve(inner, &ctx)?;
            let file = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
            let planned = inner.plan_delete(&ctx, &table, &request, &ReadView::default())?;
            if planned.deletes_all() {
                inner.before_destruction(&ctx, &table, &file, Destruction::DeleteAll)?;
            }
            // (an in-place write until this closure ends)
            let (file, _in_place) = inner.writable_file(&table, file)?;
            let (sql, params, reads) = planned.render(&file);
            let outcome = inner.engine.write(&file, &reads, &[], &[(sql, params)], None, &Canceller::default())?;
            let deleted = outcome.affected.first().copied().unwrap_or(0) as i64;
            inner.catalog.write(|tx| {
                tx.update_table_stats(table.id, file.version, outcome.row_count, outcome.byte_count, now_micros())?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "delete_rows",
                    ("table", format!("{}.{}", bucket.full_name(), table.name)),
                    json!({"rows": deleted, "filters": request.filters.len(), "ref_filters": request.ref_filters.len()}),
                )
            })?;
            metrics::counter!("duckstore_rows_deleted_total").increment(deleted as u64);
            Ok((deleted, outcome.row_count, outcome.byte_count))
        })
        .await
    }

    /// `delete_rows` inside a transaction block: the rows go from the block's version of the
    /// table (and other tables are read as the block reads them). Answers the rows deleted and
    /// the table's rows after.
    pub async fn delete_rows_in(
        &self,
        transaction: &mut super::Transaction,
        ctx: SessionContext,
        request: DeleteRequest,
        canceller: Canceller,
    ) -> Result<(i64, i64)> {
        request.check()?;
        let (target, deletes_all) = (request.target.clone(), request.deletes_all());
        let (session, statement_canceller) = (ctx.clone(), canceller.clone());
        let work = move |inner: &Inner, table: &TableRecord, file: &TableFile, overlay: &ReadView| {
            let planned = inner.plan_delete(&session, table, &request, overlay)?;
            let (sql, params, reads) = planned.render(file);
            inner.engine.write(file, &reads, &[], &[(sql, params)], None, &statement_canceller)
        };
        let written = self
            .write_in_transaction(transaction, &ctx, &target, &[], "delete_rows", deletes_all, &canceller, work)
            .await?;
        metrics::counter!("duckstore_rows_deleted_total").increment(written.affected as u64);
        Ok((written.affected as i64, written.row_count))
    }
}

impl DeleteRequest {
    /// Deleting every row must be asked for.
    fn check(&self) -> Result<()> {
        if self.deletes_all() && !self.all {
            return Err(Error::invalid(
                "delete_rows without filters would delete every row: pass all => true (or use TRUNCATE)",
            )
            .with_sqlstate(SqlState::InvalidParameterValue));
        }
        Ok(())
    }

    fn deletes_all(&self) -> bool {
        self.filters.is_empty()
            && self.ref_filters.is_empty()
            && self.changed_since.is_none()
            && self.changed_until.is_none()
    }
}

/// A `delete_rows` checked against its table: conditions on the table's own values, and the
/// other tables' filters (column, negated, the other table's file — None: the table itself —,
/// its column).
struct PlannedDelete {
    params: Vec<Param>,
    conditions: Vec<String>,
    refs: Vec<(String, bool, Option<TableFile>, String)>,
}

impl PlannedDelete {
    fn deletes_all(&self) -> bool {
        self.conditions.is_empty() && self.refs.is_empty()
    }

    /// The DELETE of `file` (a version of the table), its parameters and the files it reads.
    fn render(self, file: &TableFile) -> (String, Vec<Param>, Vec<TableFile>) {
        let PlannedDelete { params, mut conditions, refs } = self;
        let mut reads = Vec::new();
        for (column, negated, other, ref_column) in refs {
            // the table itself is read as the version being written
            let data_ref = match other {
                Some(other) => {
                    let data_ref = other.data_ref();
                    reads.push(other);
                    data_ref
                }
                None => file.data_ref(),
            };
            let ref_column = quote_ident(&ref_column);
            conditions.push(format!(
                "{} {}IN (SELECT {ref_column} FROM {data_ref} WHERE {ref_column} IS NOT NULL)",
                quote_ident(&column),
                if negated { "NOT " } else { "" }
            ));
        }
        let mut sql = format!("DELETE FROM {}", file.data_ref());
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        (sql, params, reads)
    }
}

impl Inner {
    /// Checks a `delete_rows` against `table` and resolves the other tables its filters read,
    /// as the session reads them (`overlay`: a transaction block's view), before anything is
    /// written: a bad filter leaves the table untouched.
    fn plan_delete(
        &self,
        ctx: &SessionContext,
        table: &TableRecord,
        request: &DeleteRequest,
        overlay: &ReadView,
    ) -> Result<PlannedDelete> {
        let mut params = Vec::new();
        let conditions =
            filter_conditions(table, &request.filters, request.changed_since, request.changed_until, &mut params)?;
        let mut refs = Vec::with_capacity(request.ref_filters.len());
        for r in &request.ref_filters {
            let column = table.columns.iter().find(|c| c.name == r.column).ok_or_else(|| {
                Error::not_found(format!("column \"{}\" of table \"{}\" does not exist", r.column, table.name))
                    .with_sqlstate(SqlState::UndefinedColumn)
            })?;
            let negated = match r.operator.to_ascii_lowercase().as_str() {
                "in" => false,
                "not_in" => true,
                other => {
                    return Err(Error::invalid(format!("unknown ref filter operator '{other}': use in or not_in"))
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
            };
            let name = names::parse_table_id(&r.table)?;
            let source = self.resolve_reads_here(ctx, std::slice::from_ref(&name), &[])?.remove(0);
            if !source.table.columns.iter().any(|c| c.name == r.ref_column) {
                return Err(Error::not_found(format!(
                    "column \"{}\" of table \"{}\" does not exist",
                    r.ref_column, source.table.name
                ))
                .with_sqlstate(SqlState::UndefinedColumn));
            }
            let other = match source.table.id != table.id {
                true => Some(overlay.file(source.file)?),
                false => None,
            };
            refs.push((column.name.clone(), negated, other, r.ref_column.clone()));
        }
        Ok(PlannedDelete { params, conditions, refs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TableRecord {
        let column = |name: &str, sql_type: &str| ColumnRecord {
            name: name.into(),
            sql_type: sql_type.into(),
            base_type: "STRING".into(),
            nullable: true,
            default_sql: None,
        };
        TableRecord {
            id: 1,
            bucket_id: 1,
            name: "orders".into(),
            version: 1,
            primary_key: vec!["id".into()],
            row_count: 0,
            byte_count: 0,
            description: String::new(),
            created_at: 0,
            created_by: String::new(),
            changed_at: 0,
            version_since: 0,
            columns: vec![column("id", "INTEGER"), column("name", "VARCHAR")],
        }
    }

    #[test]
    fn changes_apply_in_order_and_keep_the_rest() {
        let t = table();
        let (columns, key) = plan_changes(
            &t,
            &[
                Change::AddColumn {
                    column: ColumnSpec {
                        name: "n".into(),
                        type_name: "INTEGER".into(),
                        not_null: true,
                        default_sql: Some("0".into()),
                    },
                    if_not_exists: false,
                },
                Change::RenameColumn { from: "id".into(), to: "key".into() },
                Change::SetType { name: "name".into(), type_name: "BIGINT".into() },
            ],
        )
        .unwrap();
        let names: Vec<_> = columns.iter().map(|p| p.column.name.as_str()).collect();
        assert_eq!(names, ["key", "name", "n"]);
        assert_eq!(key, ["key"]);
        assert_eq!(columns[1].source, "CAST(\"name\" AS BIGINT)");
        assert_eq!(columns[2].source, "CAST(0 AS INTEGER)");
    }

    #[test]
    fn refusals_name_the_problem() {
        let t = table();
        let state = |changes: &[Change]| plan_changes(&t, changes).err().unwrap().sqlstate();
        assert_eq!(state(&[Change::DropColumn { name: "id".into(), if_exists: false }]), "2BP01");
        assert_eq!(state(&[Change::DropColumn { name: "nope".into(), if_exists: false }]), "42703");
        assert_eq!(
            state(&[
                Change::DropPrimaryKey { constraint: None, if_exists: false },
                Change::DropColumn { name: "id".into(), if_exists: false },
                Change::DropColumn { name: "name".into(), if_exists: false },
            ]),
            "42P16"
        );
        assert_eq!(state(&[Change::AddPrimaryKey(vec!["name".into()])]), "42P16");
        assert_eq!(state(&[Change::RenameColumn { from: "name".into(), to: "ID".into() }]), "42701");
        assert_eq!(state(&[Change::DropPrimaryKey { constraint: Some("x".into()), if_exists: false }]), "42704");
        assert!(
            plan_changes(&t, &[Change::DropPrimaryKey { constraint: Some("orders_pkey".into()), if_exists: false }])
                .is_ok()
        );
    }
}
