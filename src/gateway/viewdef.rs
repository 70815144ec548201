//! A view's query as PostgreSQL's `pg_get_viewdef` prints it (ruleutils, indented form): each
//! column qualified by its relation, one select item a line, `FROM`/`WHERE`/`ORDER BY` on lines
//! of their own, every operator parenthesized, and a constant compared with a column of another
//! type shown with the cast PostgreSQL's analysis adds (`(100)::numeric`).
//!
//! The pretty form (`pg_get_viewdef(v, true)`) leaves out the parentheses precedence does not
//! need (`WHERE orders.amount > 100::numeric`).
//!
//! Only the shapes whose printing is certain are followed: one relation, plain columns (not
//! `*`, which PostgreSQL expands when the view is made, into columns the table may since have
//! gained),
//! comparisons, AND/OR/NOT, IS NULL, ORDER BY and LIMIT; for anything else the caller shows the
//! query as stored.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::LazyLock;

use crate::storage::names::quote_literal;
use sqlparser::ast::{
    BinaryOperator, Expr, Ident, LimitClause, ObjectNamePart, OrderByKind, Query, Select, SelectItem, SetExpr,
    Statement, TableFactor, UnaryOperator, Value,
};

/// PostgreSQL's type OIDs this printer knows constants against.
mod oid {
    pub(super) const BOOL: i64 = 16;
    pub(super) const INT8: i64 = 20;
    pub(super) const INT2: i64 = 21;
    pub(super) const INT4: i64 = 23;
    pub(super) const TEXT: i64 = 25;
    pub(super) const FLOAT8: i64 = 701;
    pub(super) const BPCHAR: i64 = 1042;
    pub(super) const VARCHAR: i64 = 1043;
    pub(super) const DATE: i64 = 1082;
    pub(super) const NUMERIC: i64 = 1700;
}

/// The columns (name, PostgreSQL type OID) of the relation `schema.table` (None: the view's own
/// schema's), or None when the catalog has no such relation.
pub type Columns<'a> = dyn Fn(Option<&str>, &str) -> Option<Vec<(String, i64)>> + 'a;

/// `query` as PostgreSQL prints it (without the leading space and the closing semicolon
/// `pg_get_viewdef` adds), plain or `pretty`, or None for a shape this printer does not follow.
pub fn postgres_view_text(query: &str, columns: &Columns<'_>, pretty: bool) -> Option<String> {
    let statements = super::parse(query).ok()?;
    let [Statement::Query(query)] = statements.as_slice() else { return None };
    print_query(query, columns, pretty)
}

/// The one relation a query reads: how PostgreSQL names it in FROM and in column references,
/// and its columns.
struct Relation {
    from: String,
    reference: String,
    columns: Vec<(String, i64)>,
}

fn print_query(query: &Query, columns: &Columns<'_>, pretty: bool) -> Option<String> {
    if query.with.is_some() || query.fetch.is_some() || !query.locks.is_empty() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let relation = relation(select, columns)?;
    let mut out = String::from("SELECT ");
    let items = select_items(select, &relation)?;
    out.push_str(&items.join(",\n    "));
    let _ = write!(out, "\n   FROM {}", relation.from);
    if let Some(condition) = &select.selection {
        let condition =
            if pretty { pretty_condition(condition, &relation, None)? } else { condition_text(condition, &relation)? };
        let _ = write!(out, "\n  WHERE {condition}");
    }
    if let Some(order_by) = &query.order_by {
        let OrderByKind::Expressions(items) = &order_by.kind else { return None };
        if order_by.interpolate.is_some() {
            return None;
        }
        let mut keys = Vec::new();
        for item in items {
            let (column, _) = column(&item.expr, &relation)?;
            let mut key = column;
            // PostgreSQL names the nulls' place only where it is not the default (last ascending)
            let ascending = match item.options.sort {
                None | Some(sqlparser::ast::OrderBySort::Asc) => true,
                Some(sqlparser::ast::OrderBySort::Desc) => false,
                Some(_) => return None,
            };
            let nulls_first = item.options.nulls_first.unwrap_or(!ascending);
            if !ascending {
                key.push_str(" DESC");
            }
            match (ascending, nulls_first) {
                (true, true) => key.push_str(" NULLS FIRST"),
                (false, false) => key.push_str(" NULLS LAST"),
                _ => {}
            }
            keys.push(key);
        }
        let _ = write!(out, "\n  ORDER BY {}", keys.join(", "));
    }
    match &query.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset { limit, offset, limit_by }) if limit_by.is_empty() => {
            if let Some(offset) = offset {
                let _ = write!(out, "\n OFFSET {}", integer(&offset.value)?);
            }
            if let Some(limit) = limit {
                let _ = write!(out, "\n LIMIT {}", integer(limit)?);
            }
        }
        Some(_) => return None,
    }
    Some(out)
}

fn relation(select: &Select, columns: &Columns<'_>) -> Option<Relation> {
    let plain = select.distinct.is_none()
        && select.top.is_none()
        && select.into.is_none()
        && select.lateral_views.is_empty()
        && select.prewhere.is_none()
        && matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        && select.having.is_none()
        && select.named_window.is_empty()
        && select.qualify.is_none()
        && select.connect_by.is_empty();
    let [from] = select.from.as_slice() else { return None };
    if !plain || !from.joins.is_empty() {
        return None;
    }
    let TableFactor::Table { name, alias, args: None, with_hints, version: None, partitions, .. } = &from.relation
    else {
        return None;
    };
    if !with_hints.is_empty() || !partitions.is_empty() || alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return None;
    }
    let parts: Vec<&Ident> = name.0.iter().map(ObjectNamePart::as_ident).collect::<Option<_>>()?;
    let (schema, table) = match parts.as_slice() {
        [table] => (None, *table),
        [schema, table] => (Some(*schema), *table),
        _ => return None,
    };
    let schema_name = schema.map(identifier_value);
    let table_name = identifier_value(table);
    let columns = columns(schema_name.as_deref(), &table_name)?;
    let mut from = match schema_name.as_deref() {
        // a relation of a schema on the default search path shows unqualified
        Some(s) if s != "public" => format!("{}.{}", quote_identifier(s), quote_identifier(&table_name)),
        _ => quote_identifier(&table_name),
    };
    let reference = match alias {
        Some(alias) => {
            let alias = identifier_value(&alias.name);
            let _ = write!(from, " {}", quote_identifier(&alias));
            alias
        }
        None => table_name,
    };
    Some(Relation { from, reference: quote_identifier(&reference), columns })
}

fn select_items(select: &Select, relation: &Relation) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(expr) => items.push(column(expr, relation)?.0),
            SelectItem::ExprWithAlias { expr, alias } => {
                let (text, name) = column(expr, relation)?;
                let alias = identifier_value(alias);
                items.push(if alias == name { text } else { format!("{text} AS {}", quote_identifier(&alias)) });
            }
            _ => return None,
        }
    }
    Some(items)
}

/// A column reference: its text (`relation.column`) and its name.
fn column(expr: &Expr, relation: &Relation) -> Option<(String, String)> {
    let name = match expr {
        Expr::Identifier(i) => identifier_value(i),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, column] if quote_identifier(&identifier_value(qualifier)) == relation.reference => {
                identifier_value(column)
            }
            _ => return None,
        },
        _ => return None,
    };
    relation.columns.iter().find(|(c, _)| *c == name)?;
    Some((format!("{}.{}", relation.reference, quote_identifier(&name)), name))
}

fn column_type(expr: &Expr, relation: &Relation) -> Option<i64> {
    let (_, name) = column(expr, relation)?;
    relation.columns.iter().find(|(c, _)| *c == name).map(|(_, t)| *t)
}

/// A WHERE condition: comparisons of a column with a column or a constant, IS [NOT] NULL, and
/// AND/OR/NOT over them, each parenthesized as PostgreSQL prints them.
fn condition_text(expr: &Expr, relation: &Relation) -> Option<String> {
    match expr {
        Expr::Nested(inner) => condition_text(inner, relation),
        Expr::BinaryOp { op: op @ (BinaryOperator::And | BinaryOperator::Or), .. } => {
            // PostgreSQL flattens a chain of one operator into one list
            let mut operands = Vec::new();
            flatten(expr, op, &mut operands);
            let word = if *op == BinaryOperator::And { " AND " } else { " OR " };
            let parts: Vec<String> =
                operands.into_iter().map(|e| condition_text(e, relation)).collect::<Option<_>>()?;
            Some(format!("({})", parts.join(word)))
        }
        Expr::UnaryOp { op: UnaryOperator::Not, expr } => Some(format!("(NOT {})", condition_text(expr, relation)?)),
        Expr::IsNull(inner) => Some(format!("({} IS NULL)", column(inner, relation)?.0)),
        Expr::IsNotNull(inner) => Some(format!("({} IS NOT NULL)", column(inner, relation)?.0)),
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => "=",
                BinaryOperator::NotEq => "<>",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                _ => return None,
            };
            let (left, right) = comparison_operands(left, right, relation, false)?;
            Some(format!("({left} {op} {right})"))
        }
        _ => None,
    }
}

/// A WHERE condition in the pretty form: an operand of AND or OR in parentheses only when it
/// is an OR inside an AND (`parent`: the chain's operator it stands in).
fn pretty_condition(expr: &Expr, relation: &Relation, parent: Option<&BinaryOperator>) -> Option<String> {
    match expr {
        Expr::Nested(inner) => pretty_condition(inner, relation, parent),
        Expr::BinaryOp { op: op @ (BinaryOperator::And | BinaryOperator::Or), .. } => {
            let mut operands = Vec::new();
            flatten(expr, op, &mut operands);
            let word = if *op == BinaryOperator::And { " AND " } else { " OR " };
            let parts: Vec<String> =
                operands.into_iter().map(|e| pretty_condition(e, relation, Some(op))).collect::<Option<_>>()?;
            let text = parts.join(word);
            Some(if *op == BinaryOperator::Or && parent == Some(&BinaryOperator::And) {
                format!("({text})")
            } else {
                text
            })
        }
        Expr::IsNull(inner) => Some(format!("{} IS NULL", column(inner, relation)?.0)),
        Expr::IsNotNull(inner) => Some(format!("{} IS NOT NULL", column(inner, relation)?.0)),
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => "=",
                BinaryOperator::NotEq => "<>",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                _ => return None,
            };
            let (left, right) = comparison_operands(left, right, relation, true)?;
            Some(format!("{left} {op} {right}"))
        }
        Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
            Some(format!("NOT {}", pretty_condition(expr, relation, None)?))
        }
        _ => None,
    }
}

fn flatten<'a>(expr: &'a Expr, op: &BinaryOperator, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryOp { left, op: o, right } if o == op => {
            flatten(left, op, out);
            flatten(right, op, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: o, .. } if o == op) => {
            flatten(inner, op, out)
        }
        other => out.push(other),
    }
}

/// Both sides of a comparison as PostgreSQL prints them after its analysis: of a column and a
/// constant, the constant takes the column's type (shown with a cast where the constant's own
/// type would differ); two columns of one type compare as they are.
fn comparison_operands(left: &Expr, right: &Expr, relation: &Relation, pretty: bool) -> Option<(String, String)> {
    match (column_type(left, relation), column_type(right, relation)) {
        (Some(l), Some(r)) if l == r && l != oid::VARCHAR => {
            Some((column(left, relation)?.0, column(right, relation)?.0))
        }
        (Some(t), None) => {
            let (column, constant) = typed_against(column(left, relation)?.0, t, right, pretty)?;
            Some((column, constant))
        }
        (None, Some(t)) => {
            let (column, constant) = typed_against(column(right, relation)?.0, t, left, pretty)?;
            Some((constant, column))
        }
        _ => None,
    }
}

/// A column of type `t` and a constant compared with it, as PostgreSQL shows the pair (a cast
/// of a number or a column in parentheses unless `pretty`).
fn typed_against(column: String, t: i64, constant: &Expr, pretty: bool) -> Option<(String, String)> {
    // (DuckDB keeps a boolean constant of a view as `CAST('t' AS BOOLEAN)`)
    if let Expr::Cast { expr, data_type: sqlparser::ast::DataType::Boolean | sqlparser::ast::DataType::Bool, .. } =
        constant
        && let Expr::Value(v) = expr.as_ref()
        && let Value::SingleQuotedString(s) = &v.value
        && t == oid::BOOL
        && (s == "t" || s == "f")
    {
        return Some((column, (s == "t").to_string()));
    }
    let Expr::Value(v) = constant else { return None };
    let cast = |operand: &str, to: &str| if pretty { format!("{operand}::{to}") } else { format!("({operand})::{to}") };
    match (&v.value, t) {
        (Value::Number(n, false), oid::INT2 | oid::INT4 | oid::INT8) if int4(n) => Some((column, n.clone())),
        (Value::Number(n, false), oid::NUMERIC) if int4(n) => Some((column, cast(n, "numeric"))),
        (Value::Number(n, false), oid::NUMERIC) if decimal(n) => Some((column, n.clone())),
        (Value::Number(n, false), oid::FLOAT8) if int4(n) || decimal(n) => Some((column, cast(n, "double precision"))),
        (Value::SingleQuotedString(s), oid::TEXT) => Some((column, format!("{}::text", quote_literal(s)))),
        (Value::SingleQuotedString(s), oid::VARCHAR) => {
            Some((cast(&column, "text"), format!("{}::text", quote_literal(s))))
        }
        (Value::SingleQuotedString(s), oid::BPCHAR) => Some((column, format!("{}::bpchar", quote_literal(s)))),
        (Value::SingleQuotedString(s), oid::DATE) if canonical_date(s) => {
            Some((column, format!("{}::date", quote_literal(s))))
        }
        (Value::Boolean(b), oid::BOOL) => Some((column, b.to_string())),
        _ => None,
    }
}

fn int4(n: &str) -> bool {
    n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<i32>().is_ok()
}

/// A plain decimal PostgreSQL prints as written (`2.5`; not `2.`, `.5` or an exponent).
fn decimal(n: &str) -> bool {
    let Some((whole, fraction)) = n.split_once('.') else { return false };
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (whole == "0" || !whole.starts_with('0'))
}

fn canonical_date(s: &str) -> bool {
    s.len() == 10
        && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok_and(|d| d.format("%Y-%m-%d").to_string() == s)
}

fn integer(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, false) if n.bytes().all(|b| b.is_ascii_digit()) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The name an identifier means: a quoted one as written, a bare one in lower case.
fn identifier_value(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

/// PostgreSQL's key words that need quoting as a name (all but the unreserved ones).
static QUOTED_KEYWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| super::pg_catalog::keywords().filter(|k| k.1 != "U").map(|k| k.0).collect());

/// A name as PostgreSQL's `quote_identifier` writes it.
fn quote_identifier(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !QUOTED_KEYWORDS.contains(name);
    if plain { name.to_owned() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(schema: Option<&str>, table: &str) -> Option<Vec<(String, i64)>> {
        (matches!(schema, None | Some("in.c-compat")) && table == "orders").then(|| {
            [("id", oid::INT4), ("note", oid::VARCHAR), ("amount", oid::NUMERIC), ("country", oid::BPCHAR)]
                .iter()
                .map(|(n, t)| (n.to_string(), *t))
                .collect()
        })
    }

    fn text(sql: &str) -> Option<String> {
        postgres_view_text(sql, &orders, false)
    }

    #[test]
    fn pretty_leaves_out_needless_parentheses() {
        let pretty = |sql: &str| postgres_view_text(sql, &orders, true);
        assert_eq!(
            pretty("SELECT id FROM orders WHERE amount > 100").unwrap(),
            "SELECT orders.id\n   FROM orders\n  WHERE orders.amount > 100::numeric"
        );
        assert_eq!(
            pretty("SELECT id FROM orders WHERE (note = 'a' OR id = 1) AND amount IS NULL OR id = 2").unwrap(),
            "SELECT orders.id\n   FROM orders\n  WHERE (orders.note::text = 'a'::text OR orders.id = 1) AND orders.amount IS NULL OR orders.id = 2"
        );
        // (each checked against PostgreSQL 15's pg_get_viewdef of the same view)
        assert_eq!(
            pretty("SELECT id FROM orders WHERE NOT amount IS NULL OR amount >= 2.50").unwrap(),
            "SELECT orders.id\n   FROM orders\n  WHERE NOT orders.amount IS NULL OR orders.amount >= 2.50"
        );
    }

    #[test]
    fn prints_as_postgresql_does() {
        assert_eq!(
            text(r#"SELECT id, customer_id, amount FROM "in.c-compat".orders WHERE amount > 100"#),
            None,
            "an unknown column is not followed"
        );
        assert_eq!(
            text(r#"SELECT id, amount FROM "in.c-compat".orders WHERE (amount > 100)"#).unwrap(),
            "SELECT orders.id,\n    orders.amount\n   FROM \"in.c-compat\".orders\n  WHERE (orders.amount > (100)::numeric)"
        );
        assert_eq!(
            text("SELECT o.id AS \"Key\", o.note FROM orders o WHERE o.note = 'x' AND id > 2 AND country = 'US' ORDER BY id DESC LIMIT 5").unwrap(),
            "SELECT o.id AS \"Key\",\n    o.note\n   FROM orders o\n  WHERE (((o.note)::text = 'x'::text) AND (o.id > 2) AND (o.country = 'US'::bpchar))\n  ORDER BY o.id DESC\n LIMIT 5"
        );
        assert_eq!(
            text("SELECT id FROM orders WHERE NOT amount IS NULL OR amount >= 2.50").unwrap(),
            "SELECT orders.id\n   FROM orders\n  WHERE ((NOT (orders.amount IS NULL)) OR (orders.amount >= 2.50))"
        );
    }

    #[test]
    fn leaves_other_shapes_alone() {
        for sql in [
            "SELECT id + 1 FROM orders",
            "SELECT id FROM orders JOIN orders o2 ON true",
            "SELECT id FROM orders WHERE amount > -1",
            "SELECT * FROM orders",
            "SELECT id FROM orders WHERE id > 1.5",
            "WITH x AS (SELECT 1) SELECT id FROM orders",
            "SELECT count(*) FROM orders GROUP BY id",
            "SELECT id FROM other",
        ] {
            assert_eq!(text(sql), None, "{sql}");
        }
    }
}
