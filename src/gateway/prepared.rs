//! SQL-level prepared statements of a storage session: `PREPARE name [(types)] AS statement`,
//! `EXECUTE name[(arguments)]`, `DEALLOCATE [PREPARE] name | ALL`. The session keeps the
//! statement as parsed; each EXECUTE binds the arguments in place of its `$n` (cast to the
//! declared types, as PostgreSQL coerces them) and plans the result afresh, so authorization
//! and the catalog are those of the moment it runs.

use std::ops::ControlFlow;

use sqlparser::ast::{DataType, Expr, Ident, ObjectName, Statement, Value, VisitMut, VisitorMut};

use super::compat::CompatValues;
use super::{Plan, cursors::cursor_name};
use crate::error::{Error, Result, SqlState};

/// A statement `PREPARE` stored: what EXECUTE binds and plans.
#[derive(Debug, Clone)]
pub struct SqlPrepared {
    pub statement: Statement,
    /// The declared parameter types (may be fewer than the statement's parameters).
    pub types: Vec<DataType>,
    /// The statement's nesting (see gateway::nesting), which its arguments' add to.
    pub nesting: usize,
    /// The length of its text, counted against the session's bound.
    pub bytes: usize,
    /// Its expressions, counted against the session's bound: a parsed expression takes
    /// hundreds of times its text's bytes (`SELECT 1,1,1,…` of 500 KB held 200 MB).
    pub nodes: usize,
}

/// The most statements one session keeps prepared, the most text and the most expressions
/// they hold together.
pub const MAX_PREPARED: usize = 1000;
pub const MAX_PREPARED_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_PREPARED_NODES: usize = 50_000;

/// Whether a session holding prepared statements of these sizes (text bytes, expressions) may
/// keep one more of `size`, within the bounds above (both session kinds count so).
pub fn room_for(held: &[(usize, usize)], size: (usize, usize)) -> bool {
    let bytes: usize = held.iter().map(|(b, _)| b).sum();
    let nodes: usize = held.iter().map(|(_, n)| n).sum();
    held.len() < MAX_PREPARED
        && bytes.saturating_add(size.0) <= MAX_PREPARED_BYTES
        && nodes.saturating_add(size.1) <= MAX_PREPARED_NODES
}

/// The expressions of a statement.
pub fn expression_count(statement: &Statement) -> usize {
    let mut count = 0usize;
    let _ = sqlparser::ast::visit_expressions(statement, |_| {
        count += 1;
        ControlFlow::<()>::Continue(())
    });
    count
}

/// The most parameters one statement may have (as a Bind message may carry).
const MAX_PARAMETERS: usize = crate::engine::MAX_PARAMS;

/// Plans `PREPARE`: the statement is planned once now, its parameters cast to the declared
/// types, so an error in it (a missing table, a refused function) is PREPARE's, as in
/// PostgreSQL; the plan itself is not kept.
pub(super) fn plan_prepare(
    name: &Ident,
    types: Vec<DataType>,
    statement: Statement,
    compat: &CompatValues<'_>,
) -> Result<Plan> {
    if !matches!(statement, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)) {
        return Err(Error::invalid("PREPARE takes SELECT, VALUES, INSERT, UPDATE or DELETE")
            .with_sqlstate(SqlState::SyntaxError));
    }
    if types.len() > MAX_PARAMETERS {
        return Err(Error::invalid(format!("a prepared statement takes at most {MAX_PARAMETERS} parameters"))
            .with_sqlstate(SqlState::ProgramLimitExceeded));
    }
    if name.value.is_empty() {
        return Err(Error::invalid("zero-length delimited identifier").with_sqlstate(SqlState::SyntaxError));
    }
    let text = statement.to_string();
    let nodes = expression_count(&statement);
    let prepared = SqlPrepared { nesting: text_nesting(&text), bytes: text.len(), nodes, statement, types };
    let mut typed = prepared.statement.clone();
    cast_parameters(&mut typed, &prepared.types);
    let checked = super::plan(typed, compat)?;
    Ok(Plan::Prepare { name: cursor_name(name), prepared: Box::new(prepared), checked: Box::new(checked) })
}

/// A workspace's `PREPARE name(types) AS statement` as DuckDB takes it (it refuses declared
/// types): each `$n` cast to its type in the statement instead. Answers whether it changed.
pub fn declared_types_as_casts(statement: &mut Statement) -> bool {
    let Statement::Prepare { data_types, statement: inner, .. } = statement else { return false };
    if data_types.is_empty() || data_types.len() > MAX_PARAMETERS {
        return false;
    }
    cast_parameters(inner, data_types);
    data_types.clear();
    true
}

/// Plans `EXECUTE name[(arguments)]`.
pub(super) fn plan_execute(name: &ObjectName, arguments: Vec<Expr>) -> Result<Plan> {
    let [part] = name.0.as_slice() else {
        return Err(
            Error::invalid("a prepared statement's name is one identifier").with_sqlstate(SqlState::SyntaxError)
        );
    };
    let Some(ident) = part.as_ident() else {
        return Err(
            Error::invalid("a prepared statement's name is one identifier").with_sqlstate(SqlState::SyntaxError)
        );
    };
    if arguments.len() > MAX_PARAMETERS {
        return Err(Error::invalid(format!("a prepared statement takes at most {MAX_PARAMETERS} parameters"))
            .with_sqlstate(SqlState::ProgramLimitExceeded));
    }
    Ok(Plan::Execute { name: cursor_name(ident), arguments })
}

/// What a workspace statement does to its session's prepared statements (DuckDB keeps them):
/// `Some(Ok(name))` for a PREPARE of that name, `Some(Err(Some(name)))` for a DEALLOCATE of it,
/// `Some(Err(None))` for DEALLOCATE ALL; None for any other statement.
pub fn prepared_name(statement: &Statement) -> Option<Result<String, Option<String>>> {
    match statement {
        Statement::Prepare { name, .. } => Some(Ok(cursor_name(name))),
        Statement::Deallocate { name, .. } => match plan_deallocate(name) {
            Plan::Deallocate(name) => Some(Err(name)),
            _ => None,
        },
        _ => None,
    }
}

/// `DEALLOCATE name` (None: `ALL`).
pub(super) fn plan_deallocate(name: &Ident) -> Plan {
    if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
        Plan::Deallocate(None)
    } else {
        Plan::Deallocate(Some(cursor_name(name)))
    }
}

/// The statement `EXECUTE name(arguments)` runs: `prepared`'s with each `$n` replaced by the
/// n-th argument, cast to its declared type where one was declared. As many arguments as the
/// statement has parameters (the highest `$n`, or the declared types if more), else 42601.
pub fn bind(name: &str, prepared: &SqlPrepared, arguments: &[Expr]) -> Result<Statement> {
    let expected = parameter_count(&prepared.statement).max(prepared.types.len());
    if arguments.len() != expected {
        return Err(Error::invalid(format!(
            "wrong number of parameters for prepared statement \"{name}\": expected {expected}, got {}",
            arguments.len()
        ))
        .with_sqlstate(SqlState::SyntaxError));
    }
    // (each text alone passed the bound; together they nest as deep as the statement and its
    // deepest argument)
    let deepest = arguments.iter().map(|a| text_nesting(&a.to_string())).max().unwrap_or(0);
    if prepared.nesting.saturating_add(deepest).saturating_add(2) > super::nesting::MAX_NESTING {
        return Err(super::nesting::too_deep());
    }
    let mut statement = prepared.statement.clone();
    let _ = statement.visit(&mut Substitute { arguments, types: &prepared.types });
    Ok(statement)
}

/// The nesting of a text the gateway parsed (within the bound: its rendering is safe to read).
fn text_nesting(sql: &str) -> usize {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    match sqlparser::tokenizer::Tokenizer::new(&dialect, sql).tokenize_with_location() {
        Ok(tokens) => super::nesting::nesting(&tokens),
        // (what the gateway rendered tokenizes; anything else counts as the bound)
        Err(_) => super::nesting::MAX_NESTING,
    }
}

/// `$n` → `CAST((argument n) AS type n)`, or the argument alone where no type was declared.
struct Substitute<'a> {
    arguments: &'a [Expr],
    types: &'a [DataType],
}

impl VisitorMut for Substitute<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Some(index) = placeholder_index(expr) else { return ControlFlow::Continue(()) };
        let Some(argument) = self.arguments.get(index) else { return ControlFlow::Continue(()) };
        let argument = Expr::Nested(Box::new(argument.clone()));
        *expr = match self.types.get(index) {
            Some(data_type) => Expr::Cast {
                kind: sqlparser::ast::CastKind::Cast,
                expr: Box::new(argument),
                data_type: data_type.clone(),
                format: None,
            },
            None => argument,
        };
        ControlFlow::Continue(())
    }
}

/// `$n` of a statement PREPARE planned: cast to its declared type, as EXECUTE binds it.
fn cast_parameters(statement: &mut Statement, types: &[DataType]) {
    let _ = sqlparser::ast::visit_expressions_mut(statement, |expr| {
        if let Some(data_type) = placeholder_index(expr).and_then(|i| types.get(i)) {
            let placeholder = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = Expr::Cast {
                kind: sqlparser::ast::CastKind::Cast,
                expr: Box::new(placeholder),
                data_type: data_type.clone(),
                format: None,
            };
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The 0-based index of a `$n` placeholder.
fn placeholder_index(expr: &Expr) -> Option<usize> {
    let Expr::Value(v) = expr else { return None };
    let Value::Placeholder(p) = &v.value else { return None };
    let n = p.strip_prefix('$')?.parse::<usize>().ok()?;
    (1..=MAX_PARAMETERS).contains(&n).then(|| n - 1)
}

/// The highest `$n` of a statement.
fn parameter_count(statement: &Statement) -> usize {
    let mut highest = 0;
    let _ = sqlparser::ast::visit_expressions(statement, |expr| {
        if let Some(index) = placeholder_index(expr) {
            highest = highest.max(index + 1);
        }
        ControlFlow::<()>::Continue(())
    });
    highest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(sql: &str, types: &[&str]) -> SqlPrepared {
        let statement = crate::gateway::parse(sql).unwrap().remove(0);
        let types = types
            .iter()
            .map(|t| {
                sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                    .try_with_sql(t)
                    .unwrap()
                    .parse_data_type()
                    .unwrap()
            })
            .collect();
        let text = statement.to_string();
        let nodes = expression_count(&statement);
        SqlPrepared { nesting: text_nesting(&text), bytes: text.len(), nodes, statement, types }
    }

    fn argument(sql: &str) -> Expr {
        sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(sql)
            .unwrap()
            .parse_expr()
            .unwrap()
    }

    #[test]
    fn arguments_take_the_place_of_parameters_cast_to_the_declared_types() {
        let p = prepared("SELECT name FROM t WHERE id = $1 AND note = $2", &["int"]);
        let bound = bind("q", &p, &[argument("1 + 1"), argument("'x'")]).unwrap();
        assert_eq!(bound.to_string(), "SELECT name FROM t WHERE id = CAST((1 + 1) AS INT) AND note = ('x')");
        // a declared type counts as a parameter even where the statement names none
        let p = prepared("SELECT 1", &["int"]);
        assert!(bind("q", &p, &[argument("1")]).is_ok());
        for wrong in [vec![], vec![argument("1"), argument("2")]] {
            assert_eq!(bind("q", &p, &wrong).unwrap_err().sqlstate(), "42601");
        }
    }

    #[test]
    fn a_statement_and_its_arguments_nest_within_the_bound_together() {
        // found by attack: each text under the bound, together past it, overflowed the stack
        let half = crate::gateway::nesting::MAX_NESTING * 3 / 4;
        let deep = format!("true{}", " AND true".repeat(half));
        let p = prepared(&format!("SELECT $1{}", " AND true".repeat(half)), &[]);
        assert_eq!(bind("q", &p, &[argument(&deep)]).unwrap_err().sqlstate(), "54001");
        assert!(bind("q", &p, &[argument("true")]).is_ok());
    }
}
