//! Reads in a storage session: validation against the allow-lists, and rewriting of names the
//! server answers itself (system views) into engine relations.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, Statement,
    TableAlias, TableFactor, TableFunctionArgs, Value, ValueWithSpan, VisitMut, VisitorMut,
};

use super::compat::CompatValues;
use super::functions;
use super::{ParamType, cast_param_type};
use crate::engine::RELATION_FUNCTION;
use crate::error::{Error, Result};
use crate::relation::{ColumnType, Value as RelValue};
use crate::storage::SystemView;

/// A validated read, ready to run once its relations are registered.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    template: Box<Statement>,
    /// The server-built relations the query reads, in slot order.
    pub views: Vec<SystemView>,
    pub param_types: Vec<ParamType>,
    /// Whether the statement returns rows in the usual way (all reads do).
    pub tag: &'static str,
}

impl QueryPlan {
    pub fn statement(&self) -> &Statement {
        &self.template
    }

    /// The SQL for DuckDB with each relation slot bound to its registered handle.
    pub fn render(&self, handles: &[u64]) -> String {
        let mut statement = self.template.clone();
        let _ = statement.visit(&mut BindHandles { handles });
        statement.to_string()
    }
}

/// A `SELECT` of literals only (`SELECT 1`, `SELECT version()` after the session functions are
/// answered): the server answers it without the engine. Drivers send these to check connections.
#[derive(Debug, Clone)]
pub struct ConstantRow {
    pub columns: Vec<(String, ColumnType)>,
    pub values: Vec<RelValue>,
}

fn literal(expr: &Expr) -> Option<(ColumnType, RelValue)> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, false) => {
                let i: i64 = n.parse().ok()?;
                Some((if i32::try_from(i).is_ok() { ColumnType::Int32 } else { ColumnType::Int64 }, RelValue::Int(i)))
            }
            Value::SingleQuotedString(s) => Some((ColumnType::Text, RelValue::Text(s.clone()))),
            Value::Boolean(b) => Some((ColumnType::Bool, RelValue::Bool(*b))),
            _ => None,
        },
        Expr::UnaryOp { op: sqlparser::ast::UnaryOperator::Minus, expr } => match literal(expr)? {
            (t, RelValue::Int(i)) => Some((t, RelValue::Int(i.checked_neg()?))),
            _ => None,
        },
        _ => None,
    }
}

/// The constant row `statement` is, if it is one.
pub fn constant_row(statement: &Statement) -> Option<ConstantRow> {
    let Statement::Query(query) = statement else { return None };
    if query.with.is_some() || query.order_by.is_some() || query.limit_clause.is_some() || query.fetch.is_some() {
        return None;
    }
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_ref() else { return None };
    let plain = select.from.is_empty()
        && select.selection.is_none()
        && select.having.is_none()
        && select.distinct.is_none()
        && select.qualify.is_none()
        && select.into.is_none()
        && matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if !plain {
        return None;
    }
    let mut row = ConstantRow { columns: vec![], values: vec![] };
    for item in &select.projection {
        let (name, expr) = match item {
            sqlparser::ast::SelectItem::UnnamedExpr(e) => ("?column?".to_owned(), e),
            sqlparser::ast::SelectItem::ExprWithAlias { expr, alias } => (ident_name(alias), expr),
            _ => return None,
        };
        let (ty, value) = literal(expr)?;
        row.columns.push((name, ty));
        row.values.push(value);
    }
    (!row.columns.is_empty()).then_some(row)
}

/// Validates a read statement and rewrites it for the engine.
pub fn plan_query(mut statement: Statement, compat: &CompatValues<'_>, tag: &'static str) -> Result<QueryPlan> {
    super::compat::rewrite_functions(&mut statement, compat)?;
    let mut checker = Checker::default();
    if let ControlFlow::Break(e) = statement.visit(&mut checker) {
        return Err(e);
    }
    let mut param_types = vec![ParamType::Unknown; checker.max_param];
    for (index, ty) in checker.param_casts {
        if let Some(slot) = param_types.get_mut(index) {
            *slot = ty;
        }
    }
    Ok(QueryPlan { template: Box::new(statement), views: checker.views, param_types, tag })
}

#[derive(Default)]
struct Checker {
    ctes: HashSet<String>,
    views: Vec<SystemView>,
    max_param: usize,
    param_casts: Vec<(usize, ParamType)>,
}

/// The lower-cased value of an unquoted identifier, the exact value of a quoted one.
pub(crate) fn ident_name(ident: &Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

pub(crate) fn name_parts(name: &ObjectName) -> Option<Vec<String>> {
    name.0.iter().map(|p| p.as_ident().map(ident_name)).collect()
}

fn unknown_relation(name: &ObjectName) -> Error {
    Error::not_found(format!("relation \"{name}\" does not exist")).with_sqlstate("42P01")
}

/// Placeholder number of `$n` (1-based), if `value` is one.
pub(crate) fn placeholder_index(value: &Value) -> Option<usize> {
    match value {
        Value::Placeholder(p) => p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0),
        _ => None,
    }
}

impl VisitorMut for Checker {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(ident_name(&cte.alias.name));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<Error> {
        if select.into.is_some() {
            return ControlFlow::Break(Error::permission_denied("SELECT … INTO is not allowed; use CREATE TABLE"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        match factor {
            TableFactor::Table { name, args: None, alias, .. } => {
                let Some(parts) = name_parts(name) else {
                    return ControlFlow::Break(unknown_relation(name));
                };
                match parts.as_slice() {
                    [single] if self.ctes.contains(single) => ControlFlow::Continue(()),
                    [schema, view] if schema == "duckstore" => match SystemView::from_name(view) {
                        Some(v) => {
                            let slot = self.views.len();
                            self.views.push(v);
                            if alias.is_none() {
                                *alias = Some(TableAlias {
                                    explicit: true,
                                    name: Ident::with_quote('"', v.name()),
                                    columns: vec![],
                                    at: None,
                                });
                            }
                            *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(RELATION_FUNCTION))]);
                            if let TableFactor::Table { args, .. } = factor {
                                *args = Some(TableFunctionArgs {
                                    args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(
                                        ValueWithSpan::from(Value::Number(slot.to_string(), false)),
                                    )))],
                                    settings: None,
                                });
                            }
                            ControlFlow::Continue(())
                        }
                        None => ControlFlow::Break(unknown_relation(name)),
                    },
                    _ => ControlFlow::Break(unknown_relation(name)),
                }
            }
            TableFactor::Table { name, args: Some(_), .. } => {
                let allowed = name_parts(name)
                    .is_some_and(|p| p.len() == 1 && functions::ALLOWED_TABLE_FUNCTIONS.contains(&p[0].as_str()));
                if allowed {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(Error::permission_denied(format!(
                        "table function \"{name}\" is not allowed in a storage session"
                    )))
                }
            }
            TableFactor::Function { name, .. } => ControlFlow::Break(Error::permission_denied(format!(
                "table function \"{name}\" is not allowed in a storage session"
            ))),
            TableFactor::TableFunction { .. }
            | TableFactor::JsonTable { .. }
            | TableFactor::OpenJsonTable { .. }
            | TableFactor::XmlTable { .. }
            | TableFactor::SemanticView { .. } => {
                ControlFlow::Break(Error::permission_denied("this kind of table function is not allowed"))
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        match expr {
            Expr::Function(f) => {
                let Some(parts) = name_parts(&f.name) else {
                    return ControlFlow::Break(Error::permission_denied("this function call form is not allowed"));
                };
                let (schema, name) = match parts.as_slice() {
                    [name] => (None, name.as_str()),
                    [schema, name] => (Some(schema.as_str()), name.as_str()),
                    _ => (Some(""), ""),
                };
                let schema_ok = matches!(schema, None | Some("pg_catalog") | Some("main"));
                if !schema_ok || !functions::is_allowed(name) {
                    return ControlFlow::Break(
                        Error::permission_denied(format!("function {}() is not allowed in a storage session", f.name))
                            .with_hint("duckstore allows a fixed list of pure functions; files, settings and extensions are off limits"),
                    );
                }
                if let FunctionArguments::Subquery(_) = f.args {
                    return ControlFlow::Continue(());
                }
                ControlFlow::Continue(())
            }
            Expr::Cast { expr: inner, data_type, .. } => {
                if let Expr::Value(v) = inner.as_ref()
                    && let Some(n) = placeholder_index(&v.value)
                {
                    self.param_casts.push((n - 1, cast_param_type(data_type)));
                }
                ControlFlow::Continue(())
            }
            Expr::Value(v) => {
                if let Some(n) = placeholder_index(&v.value) {
                    self.max_param = self.max_param.max(n);
                } else if matches!(v.value, Value::Placeholder(_)) {
                    return ControlFlow::Break(
                        Error::invalid("use numbered parameters ($1, $2, …)").with_sqlstate("42601"),
                    );
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Replaces relation slot numbers with registered handles.
struct BindHandles<'a> {
    handles: &'a [u64],
}

impl VisitorMut for BindHandles<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args: Some(args), .. } = factor
            && name.0.len() == 1
            && name.0[0].as_ident().is_some_and(|i| i.value == RELATION_FUNCTION)
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] = args.args.as_mut_slice()
            && let Value::Number(slot, _) = &v.value
            && let Some(handle) = slot.parse::<usize>().ok().and_then(|s| self.handles.get(s))
        {
            v.value = Value::Number(handle.to_string(), false);
        }
        ControlFlow::Continue(())
    }
}
