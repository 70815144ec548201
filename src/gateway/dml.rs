//! DML on storage tables: `INSERT` (with `ON CONFLICT`), `UPDATE`, `DELETE`, `TRUNCATE`. Each
//! statement is one atomic write of one table; everything it reads passes the same checks as a
//! `SELECT`. The target is filled in once the storage layer has resolved and locked it.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Assignment, AssignmentTarget, Expr, FromTable, Ident, ObjectName, ObjectNamePart, OnConflictAction, OnInsert,
    Statement, TableAlias, TableFactor, TableObject, VisitMut, VisitorMut,
};

use super::compat::CompatValues;
use super::ddl::table_name;
use super::query::{self, QueryPlan, ident_name};
use crate::error::{Error, Result};
use crate::storage::TableName;
use crate::storage::names::TIMESTAMP_COLUMN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl WriteKind {
    pub fn label(self) -> &'static str {
        match self {
            WriteKind::Insert => "insert",
            WriteKind::Update => "update",
            WriteKind::Delete => "delete",
            WriteKind::Truncate => "truncate",
        }
    }
}

/// A validated write, waiting for its target.
#[derive(Debug, Clone)]
pub struct WritePlan {
    pub kind: WriteKind,
    pub target: TableName,
    /// The statement with the target as a placeholder; reads and views as in a [`QueryPlan`].
    pub body: QueryPlan,
    insert_has_columns: bool,
    /// `TRUNCATE`, or `DELETE` without `WHERE`.
    pub deletes_all: bool,
}

pub(crate) const TARGET: &str = "__duckstore_target";

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported on storage tables"))
}

fn placeholder() -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::new(TARGET))])
}

fn check_column(name: &str) -> Result<()> {
    if name.starts_with('_') {
        return Err(Error::not_found(format!("column \"{name}\" does not exist")).with_sqlstate("42703"));
    }
    Ok(())
}

fn check_assignments(assignments: &[Assignment]) -> Result<()> {
    for a in assignments {
        match &a.target {
            AssignmentTarget::ColumnName(name) => {
                let parts = query::name_parts(name).unwrap_or_default();
                check_column(parts.last().map(String::as_str).unwrap_or(""))?;
            }
            AssignmentTarget::Tuple(_) => return Err(unsupported("tuple assignment")),
        }
    }
    Ok(())
}

fn stamp() -> Assignment {
    Assignment {
        target: AssignmentTarget::ColumnName(ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
            '"',
            TIMESTAMP_COLUMN,
        ))])),
        value: Expr::Function(sqlparser::ast::Function {
            name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new("now"))]),
            uses_odbc_syntax: false,
            parameters: sqlparser::ast::FunctionArguments::None,
            args: sqlparser::ast::FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: vec![],
                clauses: vec![],
            }),
            within_group: vec![],
            filter: None,
            null_treatment: None,
            over: None,
        }),
    }
}

/// The target of an UPDATE or DELETE: a plain table reference, replaced by the placeholder.
fn take_target(factor: &mut TableFactor) -> Result<TableName> {
    match factor {
        TableFactor::Table { name, alias, args: None, .. } => {
            let target = table_name(name)?;
            let alias_name = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_else(|| target.name.clone());
            *name = placeholder();
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::with_quote('"', alias_name),
                columns: vec![],
                at: None,
            });
            Ok(target)
        }
        _ => Err(unsupported("this kind of target")),
    }
}

pub fn plan_write(mut statement: Statement, compat: &CompatValues<'_>) -> Result<WritePlan> {
    let mut deletes_all = false;
    let (kind, target, insert_has_columns) = match &mut statement {
        Statement::Insert(insert) => {
            if insert.returning.is_some() {
                return Err(unsupported("INSERT … RETURNING"));
            }
            if insert.or.is_some()
                || insert.ignore
                || insert.overwrite
                || insert.replace_into
                || !insert.assignments.is_empty()
            {
                return Err(unsupported("this form of INSERT"));
            }
            let TableObject::TableName(name) = &insert.table else { return Err(unsupported("INSERT into a function")) };
            let target = table_name(name)?;
            insert.table = TableObject::TableName(placeholder());
            insert.table_alias = None;
            for c in &insert.columns {
                check_column(query::name_parts(c).and_then(|p| p.last().cloned()).as_deref().unwrap_or(""))?;
            }
            match &mut insert.on {
                None => {}
                Some(OnInsert::OnConflict(conflict)) => {
                    if let OnConflictAction::DoUpdate(update) = &mut conflict.action {
                        check_assignments(&update.assignments)?;
                        update.assignments.push(stamp());
                    }
                }
                Some(_) => return Err(unsupported("ON DUPLICATE KEY")),
            }
            if insert.source.is_none() {
                return Err(unsupported("INSERT without VALUES or SELECT"));
            }
            let has_columns = !insert.columns.is_empty();
            (WriteKind::Insert, target, has_columns)
        }
        Statement::Update(update) => {
            if update.returning.is_some() {
                return Err(unsupported("UPDATE … RETURNING"));
            }
            if !update.table.joins.is_empty() {
                return Err(unsupported("UPDATE with a join in its target; use UPDATE … FROM"));
            }
            check_assignments(&update.assignments)?;
            update.assignments.push(stamp());
            (WriteKind::Update, take_target(&mut update.table.relation)?, false)
        }
        Statement::Delete(delete) => {
            if delete.returning.is_some() {
                return Err(unsupported("DELETE … RETURNING"));
            }
            if !delete.tables.is_empty() {
                return Err(unsupported("multi-table DELETE"));
            }
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &mut delete.from;
            let [only] = from.as_mut_slice() else { return Err(unsupported("DELETE from several tables")) };
            if !only.joins.is_empty() {
                return Err(unsupported("DELETE with a join; use DELETE … USING"));
            }
            deletes_all = delete.selection.is_none() && delete.using.is_none();
            (WriteKind::Delete, take_target(&mut only.relation)?, false)
        }
        Statement::Truncate(truncate) => {
            let [only] = truncate.table_names.as_slice() else { return Err(unsupported("TRUNCATE of several tables")) };
            let target = table_name(&only.name)?;
            // TRUNCATE becomes a DELETE of every row: one transaction like any other write.
            statement = sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::DuckDbDialect {},
                &format!("DELETE FROM {TARGET}"),
            )
            .map_err(|e| Error::internal("planning TRUNCATE", e))?
            .remove(0);
            (WriteKind::Truncate, target, false)
        }
        _ => return Err(Error::internal("planning a write", "not a write statement")),
    };
    let body = query::plan_query(statement, compat, "WRITE")?;
    let deletes_all = deletes_all || kind == WriteKind::Truncate;
    Ok(WritePlan { kind, target, body, insert_has_columns, deletes_all })
}

/// Puts the resolved target into the statement.
struct BindTarget<'a> {
    data_ref: &'a str,
    columns: &'a [String],
    fill_columns: bool,
}

fn data_ref_name(data_ref: &str) -> ObjectName {
    ObjectName(
        data_ref
            .split('.')
            .map(|p| {
                let p = p.trim_matches('"');
                ObjectNamePart::Identifier(Ident::with_quote('"', p))
            })
            .collect(),
    )
}

impl VisitorMut for BindTarget<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<()> {
        if let Statement::Insert(insert) = statement
            && matches!(&insert.table, TableObject::TableName(n) if *n == placeholder())
        {
            insert.table = TableObject::TableName(data_ref_name(self.data_ref));
            if self.fill_columns {
                insert.columns = self
                    .columns
                    .iter()
                    .map(|c| ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', c.clone()))]))
                    .collect();
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, .. } = factor
            && *name == placeholder()
        {
            *name = data_ref_name(self.data_ref);
        }
        ControlFlow::Continue(())
    }
}

impl WritePlan {
    /// The SQL for DuckDB, given the target's engine reference and column names, and the read
    /// slots' handles and references.
    pub fn render(&self, target_ref: &str, target_columns: &[String], handles: &[u64], reads: &[String]) -> String {
        let mut statement = self.body.bound(handles, reads);
        let _ = statement.visit(&mut BindTarget {
            data_ref: target_ref,
            columns: target_columns,
            fill_columns: self.kind == WriteKind::Insert && !self.insert_has_columns,
        });
        statement.to_string()
    }
}
