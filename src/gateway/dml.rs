//! DML on storage tables: `INSERT` (with `ON CONFLICT`), `UPDATE`, `DELETE`, `TRUNCATE`. Each
//! statement is one atomic write of one table; everything it reads passes the same checks as a
//! `SELECT`. The target is filled in once the storage layer has resolved and locked it.

use sqlparser::ast::{
    Assignment, AssignmentTarget, ConflictTarget, Expr, FromTable, Ident, ObjectName, ObjectNamePart, OnConflictAction,
    OnInsert, SelectItem, Statement, TableAlias, TableFactor, TableObject, UpdateTableFromKind,
};

use std::ops::ControlFlow;

use super::compat::CompatValues;
use super::ddl::table_name;
use super::query::{self, QueryPlan, ident_name};
use crate::engine::QueryCheck;
use crate::error::{Error, Result, SqlState};
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
    /// It has `RETURNING`: it answers rows.
    pub returning: bool,
}

/// A write rendered for the engine: the statement, and the queries DuckDB must read first to
/// confirm what its parts reference (see [`WritePlan::render`]).
#[derive(Debug, Clone)]
pub struct RenderedWrite {
    pub sql: String,
    pub checks: Vec<QueryCheck>,
}

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported on storage tables"))
}

fn placeholder_name() -> String {
    format!("__duckstore_target_{:016x}", rand::random::<u64>())
}

fn placeholder(name: &str) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))])
}

fn check_column(name: &str) -> Result<()> {
    if name.starts_with('_') {
        return Err(
            Error::not_found(format!("column \"{name}\" does not exist")).with_sqlstate(SqlState::UndefinedColumn)
        );
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
fn take_target(factor: &mut TableFactor, placeholder_name: &str) -> Result<TableName> {
    match factor {
        TableFactor::Table { name, alias, args: None, .. } => {
            let target = table_name(name)?;
            let alias_name = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_else(|| target.name.clone());
            *name = placeholder(placeholder_name);
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
    let target_name = placeholder_name();
    let (kind, target, insert_has_columns) = match &mut statement {
        Statement::Insert(insert) => {
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
            insert.table = TableObject::TableName(placeholder(&target_name));
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
            if !update.table.joins.is_empty() {
                return Err(unsupported("UPDATE with a join in its target; use UPDATE … FROM"));
            }
            check_assignments(&update.assignments)?;
            update.assignments.push(stamp());
            (WriteKind::Update, take_target(&mut update.table.relation, &target_name)?, false)
        }
        Statement::Delete(delete) => {
            if !delete.tables.is_empty() {
                return Err(unsupported("multi-table DELETE"));
            }
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &mut delete.from;
            let [only] = from.as_mut_slice() else { return Err(unsupported("DELETE from several tables")) };
            if !only.joins.is_empty() {
                return Err(unsupported("DELETE with a join; use DELETE … USING"));
            }
            deletes_all = delete.selection.is_none() && delete.using.is_none();
            (WriteKind::Delete, take_target(&mut only.relation, &target_name)?, false)
        }
        Statement::Truncate(truncate) => {
            let [only] = truncate.table_names.as_slice() else { return Err(unsupported("TRUNCATE of several tables")) };
            let target = table_name(&only.name)?;
            // TRUNCATE becomes a DELETE of every row: one transaction like any other write.
            statement = sqlparser::parser::Parser::parse_sql(
                &sqlparser::dialect::DuckDbDialect {},
                &format!("DELETE FROM {target_name}"),
            )
            .map_err(|e| Error::internal("planning TRUNCATE", e))?
            .remove(0);
            (WriteKind::Truncate, target, false)
        }
        _ => return Err(Error::internal("planning a write", "not a write statement")),
    };
    let returning = match returning_items(&mut statement) {
        Some(items) => {
            name_returning(items)?;
            true
        }
        None => false,
    };
    let body = query::plan_query_with_target(statement, compat, "WRITE", Some(&target_name))?;
    let deletes_all = deletes_all || kind == WriteKind::Truncate;
    Ok(WritePlan { kind, target, body, insert_has_columns, deletes_all, returning })
}

fn returning_items(statement: &mut Statement) -> Option<&mut Vec<SelectItem>> {
    match statement {
        Statement::Insert(insert) => insert.returning.as_mut(),
        Statement::Update(update) => update.returning.as_mut(),
        Statement::Delete(delete) => delete.returning.as_mut(),
        _ => None,
    }
}

/// Refuses a reference to the target's whole row in what a write stores or answers: DuckDB's
/// row of the table file holds the hidden change timestamp (`to_json(t)`, `t::VARCHAR`,
/// `t['_timestamp']`). `row_names`: the names the target's row goes by in the rendered write
/// (its alias; DuckDB's own `data`; `excluded`), unless a column of the table has that name
/// (DuckDB binds a column first).
fn refuse_whole_row<'e>(
    exprs: impl IntoIterator<Item = &'e Expr>,
    row_names: &[&str],
    columns: &[String],
) -> Result<()> {
    let row = |name: &str| {
        row_names.iter().any(|n| n.eq_ignore_ascii_case(name)) && !columns.iter().any(|c| c.eq_ignore_ascii_case(name))
    };
    let whole_row = exprs.into_iter().any(|expr| {
        sqlparser::ast::visit_expressions(expr, |e| match e {
            Expr::Identifier(i) if row(&i.value) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    });
    if whole_row {
        return Err(unsupported("a reference to the whole row of the target"));
    }
    Ok(())
}

/// `RETURNING` items named as PostgreSQL names them (an expression's column is `?column?`, a
/// function's its name, a column its own); `*` stays, to become the table's columns. The hidden
/// change timestamp cannot be returned.
fn name_returning(items: &mut [SelectItem]) -> Result<()> {
    for item in items.iter_mut() {
        let expr = match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            SelectItem::Wildcard(options) if options.opt_exclude.is_none() && options.opt_replace.is_none() => continue,
            _ => return Err(unsupported("this RETURNING item")),
        };
        // DuckDB cannot prepare a RETURNING list with parameters
        let parameter = sqlparser::ast::visit_expressions(expr, |e| match e {
            Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Placeholder(_)) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        });
        if parameter.is_break() {
            return Err(unsupported("a parameter in RETURNING"));
        }
        let hidden = sqlparser::ast::visit_expressions(expr, |e| match e {
            Expr::Identifier(i) if i.value.eq_ignore_ascii_case(TIMESTAMP_COLUMN) => ControlFlow::Break(()),
            Expr::CompoundIdentifier(parts)
                if parts.last().is_some_and(|i| i.value.eq_ignore_ascii_case(TIMESTAMP_COLUMN)) =>
            {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        if hidden.is_break() {
            check_column(TIMESTAMP_COLUMN)?;
        }
        if let SelectItem::ExprWithAlias { alias, .. } = item
            && alias.value.chars().any(|c| c == '"' || c.is_control())
        {
            return Err(Error::invalid(format!("invalid column name {alias}")).with_sqlstate(SqlState::InvalidName));
        }
        if let SelectItem::UnnamedExpr(expr) = item {
            let name = match &*expr {
                Expr::Identifier(i) => i.value.clone(),
                Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()).unwrap_or_default(),
                other => query::postgres_column_name(other).unwrap_or_else(|| "?column?".into()),
            };
            if name.chars().any(|c| c == '"' || c.is_control()) {
                return Err(
                    Error::invalid(format!("invalid column name {name:?}")).with_sqlstate(SqlState::InvalidName)
                );
            }
            let expr = std::mem::replace(expr, Expr::Value(sqlparser::ast::Value::Null.into()));
            *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', name) };
        }
    }
    Ok(())
}

/// An expression as a piece of a write: on lines of its own, in parentheses, so that nothing
/// before or after it can join its tokens (DuckDB read the same text alone to check it).
fn piece(expr: &Expr) -> String {
    format!("(\n{expr}\n)")
}

fn assignment_column(assignment: &Assignment) -> Result<String> {
    match &assignment.target {
        AssignmentTarget::ColumnName(name) => match name.0.last().and_then(|p| p.as_ident()) {
            Some(column) if name.0.len() == 1 => Ok(column.to_string()),
            _ => Err(unsupported("a qualified column in SET")),
        },
        AssignmentTarget::Tuple(_) => Err(unsupported("tuple assignment")),
    }
}

/// `"c" = (…), …` and the expressions, for a SET list.
fn assignments(list: &[Assignment]) -> Result<(String, Vec<String>)> {
    let mut set = Vec::with_capacity(list.len());
    let mut values = Vec::with_capacity(list.len());
    for a in list {
        let value = piece(&a.value);
        set.push(format!("{} = {value}", assignment_column(a)?));
        values.push(value);
    }
    Ok((set.join(", "), values))
}

/// A SELECT DuckDB parses to confirm the expressions (and the FROM list) of a write.
fn expression_check(values: &[String], from: Option<&str>, selection: Option<&String>) -> QueryCheck {
    let items = if values.is_empty() { vec!["1".to_owned()] } else { values.to_vec() };
    let mut sql = format!("SELECT {}", items.join(", "));
    if let Some(from) = from {
        sql.push_str(&format!(" FROM\n{from}\n"));
    }
    if let Some(selection) = selection {
        sql.push_str(&format!(" WHERE {selection}"));
    }
    QueryCheck { sql, select_items: Some(items.len()) }
}

/// ` RETURNING (…) AS "name", …` for a write of `target` (with `alias`, and the FROM or USING
/// list `from`), `*` as the table's columns, and the SELECT DuckDB parses to confirm the items.
fn returning_clause(
    items: Option<&Vec<SelectItem>>,
    (target, alias): (&str, &str),
    from: Option<&str>,
    columns: &[String],
) -> Result<Option<(String, QueryCheck)>> {
    let Some(items) = items else { return Ok(None) };
    let mut pieces = Vec::with_capacity(items.len());
    for item in items {
        match item {
            SelectItem::ExprWithAlias { expr, alias } => pieces.push(format!("{} AS {alias}", piece(expr))),
            SelectItem::Wildcard(_) => pieces.extend(columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\"")))),
            _ => return Err(unsupported("this RETURNING item")),
        }
    }
    let list = pieces.join(", ");
    let mut check = format!("SELECT {list} FROM {target}{alias}");
    if let Some(from) = from {
        check.push_str(&format!(",\n{from}\n"));
    }
    Ok(Some((format!("\nRETURNING {list}"), QueryCheck { sql: check, select_items: Some(pieces.len()) })))
}

/// The engine's reference of a target (`"t5v1".main.data`) as quoted SQL, from its parts.
fn target_sql(data_ref: &str) -> Result<String> {
    let parts: Vec<&str> = data_ref.split('.').map(|p| p.trim_matches('"')).collect();
    let plain = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if parts.len() != 3 || !parts.iter().all(plain) {
        return Err(Error::internal("rendering a write", format!("unexpected target reference {data_ref}")));
    }
    Ok(parts.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join("."))
}

impl WritePlan {
    /// The write for DuckDB, given the target's engine reference and column names, and the read
    /// slots' handles and references.
    ///
    /// The statement is a fixed template around canonical pieces (the source query, each
    /// expression, the FROM or USING list), each on lines of its own and, where the grammar
    /// allows, in parentheses. DuckDB's parser serializes queries only, so it checks the
    /// pieces: each check is a query made of the same pieces, whose parse must reference only
    /// what the plan allows.
    pub fn render(
        &self,
        target_ref: &str,
        target_columns: &[String],
        handles: &[u64],
        reads: &[String],
    ) -> Result<RenderedWrite> {
        let mut statement = self.body.bound(handles, reads);
        super::canonical::canonicalize(&mut statement)?;
        let target = target_sql(target_ref)?;
        let alias_of = |factor: &TableFactor| -> Result<String> {
            match factor {
                TableFactor::Table { alias: Some(alias), .. } if alias.columns.is_empty() => {
                    Ok(format!(" AS {}", alias.name))
                }
                TableFactor::Table { alias: None, .. } => Ok(String::new()),
                _ => Err(unsupported("column aliases on the target")),
            }
        };
        let returned = |items: Option<&Vec<SelectItem>>| -> Vec<Expr> {
            items
                .into_iter()
                .flatten()
                .filter_map(|i| match i {
                    SelectItem::ExprWithAlias { expr, .. } | SelectItem::UnnamedExpr(expr) => Some(expr.clone()),
                    _ => None,
                })
                .collect()
        };
        match &statement {
            Statement::Insert(insert) => {
                let mut stored = returned(insert.returning.as_ref());
                if let Some(OnInsert::OnConflict(conflict)) = &insert.on
                    && let OnConflictAction::DoUpdate(update) = &conflict.action
                {
                    stored.extend(update.assignments.iter().map(|a| a.value.clone()));
                }
                refuse_whole_row(&stored, &["data", "excluded"], target_columns)?;
                let Some(source) = &insert.source else { return Err(unsupported("INSERT without VALUES or SELECT")) };
                let source_sql = format!("(\n{source}\n)");
                let columns: Vec<String> = if self.insert_has_columns {
                    insert.columns.iter().map(|c| c.to_string()).collect()
                } else {
                    // fewer values than columns fill the first ones, as in PostgreSQL
                    let width = source_width(&insert.source).unwrap_or(target_columns.len());
                    if width > target_columns.len() && !insert.by_name {
                        return Err(Error::invalid("INSERT has more expressions than target columns")
                            .with_sqlstate(SqlState::SyntaxError));
                    }
                    target_columns.iter().take(width).map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect()
                };
                let mut sql = if insert.by_name {
                    format!("INSERT INTO {target} BY NAME\n{source_sql}\n")
                } else {
                    format!("INSERT INTO {target} ({})\n{source_sql}\n", columns.join(", "))
                };
                let mut checks = vec![QueryCheck { sql: source_sql, select_items: None }];
                match &insert.on {
                    None => {}
                    Some(OnInsert::OnConflict(conflict)) => {
                        sql.push_str("ON CONFLICT");
                        match &conflict.conflict_target {
                            None => {}
                            Some(ConflictTarget::Columns { columns, predicate: None }) => {
                                let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
                                sql.push_str(&format!(" ({})", names.join(", ")));
                            }
                            Some(_) => return Err(unsupported("this ON CONFLICT target")),
                        }
                        match &conflict.action {
                            OnConflictAction::DoNothing => sql.push_str(" DO NOTHING"),
                            OnConflictAction::DoUpdate(update) => {
                                let (set, values) = assignments(&update.assignments)?;
                                sql.push_str(&format!(" DO UPDATE SET {set}"));
                                let selection = update.selection.as_ref().map(piece);
                                if let Some(w) = &selection {
                                    sql.push_str(&format!(" WHERE {w}"));
                                }
                                checks.push(expression_check(&values, None, selection.as_ref()));
                            }
                        }
                    }
                    Some(_) => return Err(unsupported("ON DUPLICATE KEY")),
                }
                if let Some((clause, check)) =
                    returning_clause(insert.returning.as_ref(), (&target, ""), None, target_columns)?
                {
                    sql.push_str(&clause);
                    checks.push(check);
                }
                Ok(RenderedWrite { sql, checks })
            }
            Statement::Update(update) => {
                if update.or.is_some()
                    || !update.order_by.is_empty()
                    || update.limit.is_some()
                    || update.on_cluster.is_some()
                    || update.output.is_some()
                    || update.settings.is_some()
                    || !update.optimizer_hints.is_empty()
                {
                    return Err(unsupported("this form of UPDATE"));
                }
                let alias = alias_of(&update.table.relation)?;
                let mut stored = returned(update.returning.as_ref());
                stored.extend(update.assignments.iter().map(|a| a.value.clone()));
                refuse_whole_row(
                    &stored,
                    &["data", alias.trim_start_matches(" AS ").trim_matches('"')],
                    target_columns,
                )?;
                let (set, values) = assignments(&update.assignments)?;
                let from = match &update.from {
                    None => None,
                    Some(UpdateTableFromKind::AfterSet(list)) => {
                        Some(list.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "))
                    }
                    Some(UpdateTableFromKind::BeforeSet(_)) => return Err(unsupported("UPDATE FROM before SET")),
                };
                let selection = update.selection.as_ref().map(piece);
                let mut sql = format!("UPDATE {target}{alias} SET {set}");
                if let Some(from) = &from {
                    sql.push_str(&format!(" FROM\n{from}\n"));
                }
                if let Some(w) = &selection {
                    sql.push_str(&format!(" WHERE {w}"));
                }
                let mut checks = vec![expression_check(&values, from.as_deref(), selection.as_ref())];
                if let Some((clause, check)) =
                    returning_clause(update.returning.as_ref(), (&target, &alias), from.as_deref(), target_columns)?
                {
                    sql.push_str(&clause);
                    checks.push(check);
                }
                Ok(RenderedWrite { sql, checks })
            }
            Statement::Delete(delete) => {
                if !delete.order_by.is_empty()
                    || delete.limit.is_some()
                    || delete.on_cluster.is_some()
                    || delete.output.is_some()
                    || delete.settings.is_some()
                    || !delete.optimizer_hints.is_empty()
                {
                    return Err(unsupported("this form of DELETE"));
                }
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
                let [only] = from.as_slice() else { return Err(unsupported("DELETE from several tables")) };
                let alias = alias_of(&only.relation)?;
                let stored = returned(delete.returning.as_ref());
                refuse_whole_row(
                    &stored,
                    &["data", alias.trim_start_matches(" AS ").trim_matches('"')],
                    target_columns,
                )?;
                let using =
                    delete.using.as_ref().map(|list| list.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "));
                let selection = delete.selection.as_ref().map(piece);
                let mut sql = format!("DELETE FROM {target}{alias}");
                if let Some(using) = &using {
                    sql.push_str(&format!(" USING\n{using}\n"));
                }
                if let Some(w) = &selection {
                    sql.push_str(&format!(" WHERE {w}"));
                }
                let mut checks = if using.is_some() || selection.is_some() {
                    vec![expression_check(&[], using.as_deref(), selection.as_ref())]
                } else {
                    vec![]
                };
                if let Some((clause, check)) =
                    returning_clause(delete.returning.as_ref(), (&target, &alias), using.as_deref(), target_columns)?
                {
                    sql.push_str(&clause);
                    checks.push(check);
                }
                Ok(RenderedWrite { sql, checks })
            }
            _ => Err(Error::internal("rendering a write", "not a write statement")),
        }
    }
}

/// How many values each row of an INSERT's source has, when the text says it: a VALUES list's
/// first row, or a SELECT's list without `*` (through parentheses, WITH and set operations).
fn source_width(source: &Option<Box<sqlparser::ast::Query>>) -> Option<usize> {
    fn width(body: &sqlparser::ast::SetExpr) -> Option<usize> {
        use sqlparser::ast::SetExpr;
        match body {
            SetExpr::Values(values) => values.rows.first().map(|row| row.content.len()),
            SetExpr::Select(select)
                if select
                    .projection
                    .iter()
                    .all(|i| matches!(i, SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. })) =>
            {
                Some(select.projection.len())
            }
            SetExpr::Query(query) => width(&query.body),
            SetExpr::SetOperation { left, .. } => width(left),
            _ => None,
        }
    }
    width(&source.as_ref()?.body)
}
