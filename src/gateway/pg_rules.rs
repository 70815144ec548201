//! Rules PostgreSQL's parse analysis enforces and DuckDB does not, checked on the statement as
//! written in both session kinds, so a statement PostgreSQL refuses is refused with its SQLSTATE
//! instead of answered: `SELECT DISTINCT … ORDER BY` a column not selected (42P10), a WHERE or
//! HAVING that is a number (42804), a UNION of a number and a text (42804), a recursive query
//! reading itself twice (42P19), a clause's key word where a column goes (42601).
//!
//! Each rule refuses only what PostgreSQL surely refuses, read from the syntax alone; anything
//! it cannot decide so is left to the engine.

use std::ops::ControlFlow;

use sqlparser::ast::{
    DataType, Distinct, Expr, OrderByKind, Query, SelectItem, SetExpr, SetOperator, Statement, Value, Visit, Visitor,
};

use crate::error::{Error, Result, SqlState};

/// Refuses `statement` where PostgreSQL's analysis would.
pub fn check(statement: &Statement) -> Result<()> {
    struct Rules;
    impl Visitor for Rules {
        type Break = Error;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Error> {
            match check_query(query).and_then(|()| check_recursion(query)) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => ControlFlow::Break(e),
            }
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Error> {
            // (sqlparser and DuckDB read `SELECT select FROM t` as a column named `select`)
            if let Expr::Identifier(i) = expr
                && i.quote_style.is_none()
                && CLAUSE_WORDS.contains(&i.value.to_ascii_lowercase().as_str())
            {
                return ControlFlow::Break(Error::sql(
                    SqlState::SyntaxError,
                    format!("syntax error at or near \"{}\"", i.value),
                ));
            }
            ControlFlow::Continue(())
        }
    }
    match statement.visit(&mut Rules) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// PostgreSQL's reserved key words that begin or join a clause: never a column's name unquoted.
const CLAUSE_WORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "group",
    "order",
    "having",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "into",
    "table",
    "with",
    "on",
    "as",
    "and",
    "or",
    "when",
    "then",
    "else",
    "end",
];

/// A recursive query's recursive part may read the query once (42P19).
fn check_recursion(query: &Query) -> Result<()> {
    let Some(with) = query.with.as_ref().filter(|w| w.recursive) else { return Ok(()) };
    for cte in &with.cte_tables {
        let SetExpr::SetOperation { right, .. } = cte.query.body.as_ref() else { continue };
        let name = cte.alias.name.value.to_lowercase();
        let mut count = 0;
        let _ = sqlparser::ast::visit_relations(right.as_ref(), |relation| {
            if let [part] = relation.0.as_slice()
                && part.as_ident().is_some_and(|i| i.value.to_lowercase() == name)
            {
                count += 1;
            }
            ControlFlow::<()>::Continue(())
        });
        if count > 1 {
            return Err(Error::sql(
                SqlState::InvalidRecursion,
                format!("recursive reference to query \"{name}\" must not appear more than once"),
            ));
        }
    }
    Ok(())
}

fn check_query(query: &Query) -> Result<()> {
    check_set_expr(&query.body)?;
    if let SetExpr::Select(select) = query.body.as_ref()
        && matches!(select.distinct, Some(Distinct::Distinct))
        && let Some(order_by) = &query.order_by
        && let OrderByKind::Expressions(items) = &order_by.kind
    {
        for item in items {
            if !in_distinct_select_list(&item.expr, &select.projection) {
                return Err(Error::sql(
                    SqlState::InvalidColumnReference,
                    "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                ));
            }
        }
    }
    Ok(())
}

fn check_set_expr(body: &SetExpr) -> Result<()> {
    match body {
        SetExpr::Select(select) => {
            for (clause, condition) in [("WHERE", &select.selection), ("HAVING", &select.having)] {
                if let Some(kind) = condition.as_ref().and_then(number_kind) {
                    return Err(Error::sql(
                        SqlState::DatatypeMismatch,
                        format!("argument of {clause} must be type boolean, not type {kind}"),
                    ));
                }
            }
            Ok(())
        }
        SetExpr::SetOperation { op, left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)?;
            let (Some(left), Some(right)) = (first_select_items(left), first_select_items(right)) else {
                return Ok(());
            };
            for (l, r) in left.iter().zip(right.iter()) {
                let (l, r) = (item_expr(l), item_expr(r));
                let clash = match (l.and_then(number_kind), r.and_then(number_kind)) {
                    (Some(kind), None) if r.is_some_and(written_as_text) => Some((kind, "text")),
                    (None, Some(kind)) if l.is_some_and(written_as_text) => Some(("text", kind)),
                    _ => None,
                };
                if let Some((left, right)) = clash {
                    let op = match op {
                        SetOperator::Union => "UNION",
                        SetOperator::Intersect => "INTERSECT",
                        SetOperator::Except | SetOperator::Minus => "EXCEPT",
                    };
                    return Err(Error::sql(
                        SqlState::DatatypeMismatch,
                        format!("{op} types {left} and {right} cannot be matched"),
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The select list a set operation's branch contributes (its leftmost SELECT's).
fn first_select_items(body: &SetExpr) -> Option<&[SelectItem]> {
    match body {
        SetExpr::Select(select) => Some(&select.projection),
        SetExpr::SetOperation { left, .. } => first_select_items(left),
        _ => None,
    }
}

fn item_expr(item: &SelectItem) -> Option<&Expr> {
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// PostgreSQL's type of a written number: `integer` (fits in 32 bits), `bigint`, `numeric`.
fn number_kind(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Nested(inner) => number_kind(inner),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit()) => Some(if n.parse::<i32>().is_ok() {
                "integer"
            } else if n.parse::<i64>().is_ok() {
                "bigint"
            } else {
                "numeric"
            }),
            Value::Number(_, _) => Some("numeric"),
            _ => None,
        },
        _ => None,
    }
}

fn written_as_text(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => written_as_text(inner),
        Expr::Cast { data_type, .. } => {
            matches!(data_type, DataType::Text | DataType::Varchar(_) | DataType::String(_))
        }
        _ => false,
    }
}

/// Whether an ORDER BY expression of a `SELECT DISTINCT` may stand: a position, an output
/// column's name, or a column named among the selected expressions; anything but a plain
/// column reference is taken to stand (the engine decides).
fn in_distinct_select_list(expr: &Expr, items: &[SelectItem]) -> bool {
    let column = match expr {
        Expr::Identifier(i) => &i.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => &last.value,
            None => return true,
        },
        _ => return true,
    };
    let same = |name: &str| name.eq_ignore_ascii_case(column);
    items.iter().any(|item| match item {
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => true,
        SelectItem::ExprWithAlias { alias, expr } => same(&alias.value) || names_column(expr, &same),
        SelectItem::UnnamedExpr(expr) => names_column(expr, &same),
        SelectItem::ExprWithAliases { .. } => true,
    })
}

/// Whether `expr` is a reference to a column `same` accepts.
fn names_column(expr: &Expr, same: &dyn Fn(&str) -> bool) -> bool {
    match expr {
        Expr::Nested(inner) => names_column(inner, same),
        Expr::Identifier(i) => same(&i.value),
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| same(&p.value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(sql: &str) -> Option<String> {
        let statements = crate::gateway::parse(sql).unwrap();
        check(&statements[0]).err().map(|e| e.sqlstate().to_owned())
    }

    #[test]
    fn refuses_what_postgresql_refuses() {
        assert_eq!(state("SELECT DISTINCT country FROM t ORDER BY name").as_deref(), Some("42P10"));
        assert_eq!(state("SELECT DISTINCT upper(name) FROM t ORDER BY name").as_deref(), Some("42P10"));
        assert_eq!(state("SELECT id FROM t WHERE 1").as_deref(), Some("42804"));
        assert_eq!(state("SELECT 1 UNION SELECT 'a'::text").as_deref(), Some("42804"));
        assert_eq!(state("SELECT x FROM (SELECT DISTINCT a FROM t ORDER BY b) s").as_deref(), Some("42P10"));
        assert_eq!(state("SELECT select FROM t").as_deref(), Some("42601"));
        assert_eq!(
            state("WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n FROM r, r AS r2) SELECT * FROM r").as_deref(),
            Some("42P19")
        );
    }

    #[test]
    fn lets_the_rest_pass() {
        for sql in [
            "SELECT DISTINCT country FROM t ORDER BY country",
            "SELECT DISTINCT t.country FROM t ORDER BY country",
            "SELECT DISTINCT country FROM t ORDER BY t.country",
            "SELECT DISTINCT country AS c FROM t ORDER BY c",
            "SELECT DISTINCT country FROM t ORDER BY 1",
            "SELECT DISTINCT * FROM t ORDER BY name",
            "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b",
            "SELECT DISTINCT lower(name) FROM t ORDER BY lower(name)",
            "SELECT country FROM t ORDER BY name",
            "SELECT id FROM t WHERE true",
            "SELECT 1 UNION SELECT 2",
            "SELECT 'a' UNION SELECT 'b'::text",
            "SELECT \"select\", current_user, \"from\" FROM t",
            "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r, r AS r2",
        ] {
            assert_eq!(state(sql), None, "{sql}");
        }
    }
}
