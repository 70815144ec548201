//! Reads in a storage session: validation against the allow-lists, and rewriting of names the
//! server answers itself (system views) into engine relations.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, Statement,
    TableAlias, TableFactor, TableFunctionArgs, Value, ValueWithSpan, VisitMut, VisitorMut,
};

use super::compat::CompatValues;
use super::functions;
use super::pg_catalog::CatalogRelation;
use super::{ParamType, cast_param_type};
use crate::engine::RELATION_FUNCTION;
use crate::error::{Error, Result, SqlState};
use crate::relation::{ColumnType, Value as RelValue};
use crate::storage::{SystemView, TableName};

/// A relation the server builds for a query: a `duckstore` system view or a PostgreSQL catalog
/// relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerRelation {
    System(SystemView),
    Catalog(CatalogRelation),
}

impl ServerRelation {
    pub fn columns(self) -> &'static [(&'static str, ColumnType)] {
        match self {
            ServerRelation::System(v) => v.columns(),
            ServerRelation::Catalog(c) => c.columns(),
        }
    }

    /// A small number naming the relation, stable across builds of the same version.
    pub fn code(self) -> u64 {
        match self {
            ServerRelation::System(v) => SystemView::ALL.iter().position(|x| *x == v).unwrap_or(0) as u64,
            ServerRelation::Catalog(c) => 1000 + CatalogRelation::ALL.iter().position(|x| *x == c).unwrap_or(0) as u64,
        }
    }

    fn alias(self) -> &'static str {
        match self {
            ServerRelation::System(v) => v.name(),
            ServerRelation::Catalog(c) => c.name(),
        }
    }
}

/// A validated read, ready to run once its relations are registered.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    template: Box<Statement>,
    /// The server-built relations the query reads, in slot order.
    pub relations: Vec<ServerRelation>,
    /// The storage tables the query reads, in slot order.
    pub tables: Vec<TableName>,
    pub param_types: Vec<ParamType>,
    /// Whether the statement returns rows in the usual way (all reads do).
    pub tag: &'static str,
    /// The PostgreSQL types the client's text gives the result columns (see
    /// `lineage::written_types`).
    pub written_types: Vec<Option<(u32, i32)>>,
    /// The point lookup the read is, if it is one (see `gateway::lookup`).
    pub lookup: Option<super::lookup::PointLookup>,
}

impl QueryPlan {
    pub fn statement(&self) -> &Statement {
        &self.template
    }

    /// This point lookup's plan with `value` as its key (see `lookup::LiteralSlot`): the plan
    /// of the same text with that literal in place of its own. Nothing else of the plan
    /// depends on the literal; its read-back check holds as well, since a literal of digits,
    /// or a string without quotes or backslashes, is written back as the same token.
    pub fn with_key(&self, value: &super::lookup::LookupValue) -> Option<QueryPlan> {
        let mut plan = self.clone();
        super::lookup::replace_key(&mut plan.template, value)?;
        plan.lookup = super::lookup::recognize(&plan.template).filter(|l| l.value == *value);
        plan.lookup.is_some().then_some(plan)
    }

    /// The SQL for DuckDB with each relation slot bound to its registered handle and each table
    /// slot to the engine's reference of the table (e.g. `"t42v1".main.data`), in canonical form
    /// (gateway/canonical.rs).
    pub fn render(&self, handles: &[u64], tables: &[String]) -> Result<String> {
        Ok(self.render_for_engine(handles, tables)?.sql)
    }

    /// `render`, with what DuckDB must parse to judge the text: the text itself for a query;
    /// for `EXPLAIN`, which DuckDB's serializer does not take, the query it explains (the text
    /// is then `EXPLAIN` and that query on lines of their own).
    pub fn render_for_engine(&self, handles: &[u64], tables: &[String]) -> Result<RenderedQuery> {
        let mut statement = self.bound(handles, tables);
        super::canonical::canonicalize(&mut statement)?;
        match &statement {
            Statement::Explain {
                analyze,
                verbose,
                statement: inner,
                format: None,
                options,
                estimate: false,
                query_plan: false,
                describe_alias: sqlparser::ast::DescribeAlias::Explain,
                ..
            } if !*verbose => {
                let inner = inner.to_string();
                let analyze = match options {
                    None => *analyze,
                    Some(options) => explain_analyzes(options)? || *analyze,
                };
                let keyword = if analyze { "EXPLAIN ANALYZE" } else { "EXPLAIN" };
                Ok(RenderedQuery {
                    sql: format!("{keyword}\n{inner}\n"),
                    checks: Some(vec![crate::engine::QueryCheck { sql: inner, select_items: None }]),
                    labels: vec![],
                })
            }
            Statement::Explain { .. } => Err(Error::unsupported("this form of EXPLAIN is not supported")),
            _ => Ok(RenderedQuery { sql: statement.to_string(), checks: None, labels: vec![] }),
        }
    }

    /// The statement with its slots bound, for callers that rewrite it further.
    pub fn bound(&self, handles: &[u64], tables: &[String]) -> Statement {
        let mut statement = (*self.template).clone();
        let _ = statement.visit(&mut BindHandles { handles, tables });
        statement
    }
}

/// A planned read as the engine takes it (see [`QueryPlan::render_for_engine`]).
#[derive(Debug, Clone)]
pub struct RenderedQuery {
    pub sql: String,
    pub checks: Option<Vec<crate::engine::QueryCheck>>,
    /// (table file alias, the name the client wrote), filled by the caller that binds slots.
    pub labels: Vec<(String, String)>,
}

/// A `SELECT` of literals only (`SELECT 1`, `SELECT version()` after the session functions are
/// answered): the server answers it without the engine. Drivers send these to check connections.
#[derive(Debug, Clone)]
pub struct ConstantRow {
    pub columns: Vec<(String, ColumnType)>,
    pub values: Vec<RelValue>,
    /// The PostgreSQL types the client's text gives its columns (see `lineage::written_types`).
    pub written_types: Vec<Option<(u32, i32)>>,
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
pub(super) fn constant_row(statement: &Statement) -> Option<ConstantRow> {
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
    let mut row = ConstantRow { columns: vec![], values: vec![], written_types: vec![] };
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

/// The column name PostgreSQL gives an unaliased select item (DuckDB would name it after the
/// expression text, e.g. `count_star()`), as its `FigureColname` does; None for a bare column
/// reference, which keeps its own name.
pub(crate) fn postgres_column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
        other => Some(figure_column_name(other).1),
    }
}

/// PostgreSQL's `FigureColnameInternal`: a name and how strongly the expression gives it (2: a
/// column, function or keyword-like construct; 1: a cast's type or `case`; 0: `?column?`).
fn figure_column_name(expr: &Expr) -> (u8, String) {
    let unnamed = (0, "?column?".to_owned());
    match expr {
        Expr::Identifier(ident) => (2, folded(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map_or(unnamed, |i| (2, folded(i))),
        Expr::CompoundFieldAccess { access_chain, root } => match access_chain.last() {
            Some(sqlparser::ast::AccessExpr::Dot(Expr::Identifier(field))) => (2, folded(field)),
            _ => figure_column_name(root),
        },
        Expr::Function(f) => match name_parts(&f.name).and_then(|p| p.last().cloned()) {
            Some(name) => (2, name.to_lowercase()),
            None => unnamed,
        },
        Expr::Cast { expr, data_type, .. } => match figure_column_name(expr) {
            (2, name) => (2, name),
            _ => (1, postgres_type_name(data_type)),
        },
        Expr::TypedString(typed) => (1, postgres_type_name(&typed.data_type)),
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => figure_column_name(inner),
        Expr::Case { else_result, .. } => match else_result.as_deref().map(figure_column_name) {
            Some((2, name)) => (2, name),
            _ => (1, "case".into()),
        },
        Expr::Exists { negated: false, .. } => (2, "exists".into()),
        Expr::Array(_) => (2, "array".into()),
        // a scalar subquery: its one column's name, however weak (PostgreSQL's EXPR_SUBLINK)
        Expr::Subquery(query) => match query.body.as_ref() {
            sqlparser::ast::SetExpr::Select(select) => match select.projection.as_slice() {
                [sqlparser::ast::SelectItem::ExprWithAlias { alias, .. }] => (2, folded(alias)),
                [sqlparser::ast::SelectItem::UnnamedExpr(inner)] => (2, figure_column_name(inner).1),
                _ => (2, "?column?".into()),
            },
            _ => (2, "?column?".into()),
        },
        Expr::Tuple(_) => (2, "row".into()),
        Expr::Substring { shorthand: true, .. } => (2, "substr".into()),
        Expr::Substring { .. } => (2, "substring".into()),
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(sqlparser::ast::TrimWhereField::Leading) => (2, "ltrim".into()),
            Some(sqlparser::ast::TrimWhereField::Trailing) => (2, "rtrim".into()),
            _ => (2, "btrim".into()),
        },
        Expr::Position { .. } => (2, "position".into()),
        Expr::Overlay { .. } => (2, "overlay".into()),
        Expr::Extract { .. } => (2, "extract".into()),
        Expr::Interval(_) => (1, "interval".into()),
        Expr::AtTimeZone { .. } => (2, "timezone".into()),
        Expr::Ceil { .. } => (2, "ceil".into()),
        Expr::Floor { .. } => (2, "floor".into()),
        _ => unnamed,
    }
}

/// An identifier as PostgreSQL keeps it: unquoted ones fold to lower case.
fn folded(ident: &Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

/// The type name PostgreSQL's grammar gives a cast's type (`int` is `int4`, `double precision`
/// `float8`, `varchar(10)` `varchar`); other names as written, without their schema.
pub(super) fn postgres_type_name(data_type: &sqlparser::ast::DataType) -> String {
    let written = super::compat::postgres_float(data_type).to_string().to_lowercase();
    // the quoted name is the one-byte type "char", not char(n)
    if written.trim_start_matches("pg_catalog.") == "\"char\"" {
        return "char".to_owned();
    }
    let base = written.split('(').next().unwrap_or_default().trim();
    let base = base.rsplit('.').next().unwrap_or(base).trim_matches('"');
    match base {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "double" => "float8",
        "float" => "float8",
        "decimal" | "numeric" => "numeric",
        "boolean" | "bool" => "bool",
        "varchar" | "character varying" => "varchar",
        "char" | "character" | "bpchar" => "bpchar",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp without time zone" | "timestamp" => "timestamp",
        "time with time zone" | "timetz" => "timetz",
        "time without time zone" | "time" => "time",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// Gives the outermost select list (of a set operation: its first) PostgreSQL's column names:
/// every unaliased item gets the name PostgreSQL gives it, and unquoted aliases fold to lower
/// case. Answers whether anything changed. (Storage reads, and workspace queries: one naming
/// for both session kinds.)
pub(crate) fn name_columns_like_postgres(statement: &mut Statement) -> bool {
    let Statement::Query(query) = statement else { return false };
    // derived tables' and CTEs' bare NULL columns are text too, as PostgreSQL resolves them
    let mut nulls = TextNulls { changed: false };
    let _ = query.visit(&mut nulls);
    let mut changed = nulls.changed;
    // a bare VALUES list's columns are column1, column2, … (DuckDB's: col0, col1, …)
    if let sqlparser::ast::SetExpr::Values(values) = query.body.as_mut()
        && let Some(width) = values.rows.first().map(|row| row.len())
        && width > 0
    {
        let names: Vec<String> = (1..=width).map(|i| format!("column{i}")).collect();
        let template = format!("SELECT * FROM (VALUES (NULL)) AS \"*VALUES*\"({})", names.join(", "));
        if let Ok(mut parsed) = super::parse(&template)
            && let Some(Statement::Query(mut outer)) = parsed.pop()
            && let sqlparser::ast::SetExpr::Select(select) = outer.body.as_mut()
            && let Some(sqlparser::ast::TableFactor::Derived { subquery, .. }) =
                select.from.first_mut().map(|f| &mut f.relation)
        {
            std::mem::swap(&mut subquery.body, &mut query.body);
            std::mem::swap(&mut query.body, &mut outer.body);
            changed = true;
        }
    }
    // a bare NULL column is text in PostgreSQL (DuckDB answers integer), unless a set
    // operation's other branches decide its type
    let plain = matches!(query.body.as_ref(), sqlparser::ast::SetExpr::Select(_));
    let mut body = query.body.as_mut();
    let select = loop {
        match body {
            sqlparser::ast::SetExpr::Select(select) => break select,
            sqlparser::ast::SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            sqlparser::ast::SetExpr::Query(inner) => body = inner.body.as_mut(),
            _ => return false,
        }
    };
    for item in &mut select.projection {
        if plain
            && let sqlparser::ast::SelectItem::UnnamedExpr(expr)
            | sqlparser::ast::SelectItem::ExprWithAlias { expr, .. } = item
            && matches!(expr, Expr::Value(v) if v.value == sqlparser::ast::Value::Null)
        {
            changed = true;
            let null = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
            *expr = Expr::Cast {
                kind: sqlparser::ast::CastKind::Cast,
                expr: Box::new(null),
                data_type: sqlparser::ast::DataType::Text,
                format: None,
            };
            if let sqlparser::ast::SelectItem::UnnamedExpr(expr) = item {
                let expr = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
                *item = sqlparser::ast::SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', "?column?") };
            }
        }
        match item {
            sqlparser::ast::SelectItem::UnnamedExpr(expr) => {
                let name = figure_column_name(expr).1;
                // a column keeps its name unless PostgreSQL folds it (DuckDB keeps the case)
                let bare = match &*expr {
                    Expr::Identifier(ident) => Some(ident),
                    Expr::CompoundIdentifier(parts) => parts.last(),
                    _ => None,
                };
                if bare.is_some_and(|ident| ident.value == name) {
                    continue;
                }
                // `current_date`, `localtimestamp`: DuckDB names them so, and reads an alias of
                // that name as a reference to the column itself
                if matches!(&*expr, Expr::Function(f) if matches!(f.args, FunctionArguments::None)) {
                    continue;
                }
                // Moved, not cloned: a clone of a deep expression recurses as deep.
                let expr = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
                *item = sqlparser::ast::SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', name) };
                changed = true;
            }
            sqlparser::ast::SelectItem::ExprWithAlias { alias, .. } if alias.quote_style.is_none() => {
                *alias = Ident::with_quote('"', alias.value.to_lowercase());
                changed = true;
            }
            _ => {}
        }
    }
    changed
}

/// Casts a bare `NULL` select item of a derived table or a CTE (a plain SELECT, not a set
/// operation's branch, whose siblings decide its type) to text: PostgreSQL resolves such an
/// unknown-typed column to text, DuckDB to integer (pgjdbc's `SELECT NULL AS TABLE_CAT` inside
/// its metadata queries).
struct TextNulls {
    changed: bool,
}

impl TextNulls {
    fn cast(&mut self, query: &mut Query) {
        let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return };
        for item in &mut select.projection {
            if let sqlparser::ast::SelectItem::UnnamedExpr(expr)
            | sqlparser::ast::SelectItem::ExprWithAlias { expr, .. } = item
                && matches!(expr, Expr::Value(v) if v.value == sqlparser::ast::Value::Null)
            {
                let null = std::mem::replace(expr, Expr::value(sqlparser::ast::Value::Null));
                *expr = Expr::Cast {
                    kind: sqlparser::ast::CastKind::Cast,
                    expr: Box::new(null),
                    data_type: sqlparser::ast::DataType::Text,
                    format: None,
                };
                self.changed = true;
            }
        }
    }
}

impl VisitorMut for TextNulls {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                self.cast(&mut cte.query);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { subquery, .. } = factor {
            self.cast(subquery);
        }
        ControlFlow::Continue(())
    }
}

/// Whether PostgreSQL's EXPLAIN options (`(ANALYZE, COSTS OFF, …)`) ask to run the query. Those
/// shaping PostgreSQL's own plan text (costs, buffers, timing, …) have none here to shape and
/// are taken as written; a format other than text is not supported (0A000).
fn explain_analyzes(options: &[sqlparser::ast::UtilityOption]) -> Result<bool> {
    let mut analyze = false;
    for option in options {
        let on = match &option.arg {
            None => true,
            Some(Expr::Value(v)) => match &v.value {
                Value::Boolean(b) => *b,
                Value::Number(n, _) => n != "0",
                Value::SingleQuotedString(s) => super::compat::postgres_bool(s).unwrap_or(true),
                _ => true,
            },
            Some(Expr::Identifier(i)) => super::compat::postgres_bool(&i.value).unwrap_or(true),
            Some(_) => true,
        };
        match option.name.value.to_ascii_lowercase().as_str() {
            "analyze" => analyze = on,
            "costs" | "verbose" | "summary" | "buffers" | "timing" | "settings" | "wal" | "generic_plan" => {}
            "format" if matches!(&option.arg, Some(Expr::Identifier(i)) if i.value.eq_ignore_ascii_case("text")) => {}
            other => return Err(Error::unsupported(format!("EXPLAIN option {other} is not supported"))),
        }
    }
    Ok(analyze)
}

/// A workspace's `EXPLAIN (options) statement` as DuckDB takes it: the options read (see
/// [`explain_analyzes`]) and dropped, `ANALYZE` kept. Answers whether it changed.
pub fn explain_options_as_engine(statement: &mut Statement) -> Result<bool> {
    let Statement::Explain { options: options @ Some(_), analyze, .. } = statement else { return Ok(false) };
    let asked = explain_analyzes(options.as_deref().unwrap_or_default())?;
    *analyze |= asked;
    *options = None;
    Ok(true)
}

/// Validates a read statement and rewrites it for the engine.
pub(super) fn plan_query(statement: Statement, compat: &CompatValues<'_>, tag: &'static str) -> Result<QueryPlan> {
    plan_query_with_target(statement, compat, tag, None)
}

/// `plan_query` for a write's statement: `target` is the placeholder name the write planner put
/// where its target table goes (unguessable, so a client cannot name it).
pub(crate) fn plan_query_with_target(
    mut statement: Statement,
    compat: &CompatValues<'_>,
    tag: &'static str,
    target: Option<&str>,
) -> Result<QueryPlan> {
    let _ = name_columns_like_postgres(&mut statement);
    super::compat::name_session_values(&mut statement);
    let written_types = super::lineage::written_types(&statement);
    // First the client's statement is checked as written; then the session and catalog
    // functions are answered (which may add catalog subqueries), and those — the server's own —
    // get their relation slots in a trusted pass.
    super::pg_rules::check(&statement)?;
    let mut checker = Checker { target: target.map(str::to_owned), ..Checker::default() };
    if let ControlFlow::Break(e) = statement.visit(&mut checker) {
        return Err(e);
    }
    super::compat::rewrite_functions(&mut statement, compat)?;
    if let Some(zone) = compat.settings.time_zone() {
        super::time_zone::read_written_timestamps(&mut statement, zone);
    }
    checker.trusted = true;
    if let ControlFlow::Break(e) = statement.visit(&mut checker) {
        return Err(e);
    }
    let mut param_types = vec![ParamType::Unknown; checker.max_param];
    for (index, ty) in checker.param_casts {
        if let Some(slot) = param_types.get_mut(index) {
            *slot = ty;
        }
    }
    let lookup = match (&target, checker.relations.is_empty(), checker.tables.len()) {
        (None, true, 1) => super::lookup::recognize(&statement),
        _ => None,
    };
    let plan = QueryPlan {
        lookup,
        template: Box::new(statement),
        relations: checker.relations,
        tables: checker.tables,
        param_types,
        tag,
        written_types,
    };
    // What reaches DuckDB must be SQL this gateway parses back: a statement the parser only
    // half understood (found by fuzzing: `SELECT *f FROM t` rendered as `SELECT * AS f …`)
    // is refused rather than handed on.
    let handles: Vec<u64> = (1..=plan.relations.len() as u64).collect();
    let refs: Vec<String> = (0..plan.tables.len()).map(|i| format!("\"t{i}v1\".main.data")).collect();
    match super::parse(&plan.render(&handles, &refs)?).map(|s| s.len()) {
        Ok(1) => {}
        // the rewrites deepened a statement near the bound past it (each `1` of `1 + 1 + …`
        // became `CAST(1 AS INTEGER)`): too complex, as DuckDB would find it
        Err(e) if e.state() == SqlState::StatementTooComplex => return Err(e),
        _ => {
            return Err(Error::invalid("syntax error: the statement cannot be read back unambiguously")
                .with_sqlstate(SqlState::SyntaxError));
        }
    }
    Ok(plan)
}

#[derive(Default)]
struct Checker {
    /// The second pass over server-added SQL: no allow-list, existing slots kept.
    trusted: bool,
    /// Common table expressions in scope, innermost last. Canonical names (`__cte_<n>`) name
    /// nothing in any engine catalog, so a reference DuckDB scopes differently fails instead of
    /// reading something.
    scopes: Vec<CteScope>,
    /// For each query being visited: whether it opened a scope.
    opened: Vec<bool>,
    ctes_defined: usize,
    /// A write's target placeholder, the one name besides slots that may stay as written.
    target: Option<String>,
    relations: Vec<ServerRelation>,
    tables: Vec<TableName>,
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
    Error::not_found(format!("relation \"{name}\" does not exist")).with_sqlstate(SqlState::UndefinedTable)
}

/// Placeholder number of `$n` (1-based), if `value` is one. A number past what a Bind message
/// can carry is PostgreSQL's `42P02` (found by fuzzing: `$9999999999999999` sized a vector).
pub(crate) fn placeholder_index(value: &Value) -> Result<Option<usize>> {
    let Value::Placeholder(p) = value else { return Ok(None) };
    match p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0) {
        Some(n) if n <= crate::engine::MAX_PARAMS => Ok(Some(n)),
        Some(_) => {
            Err(Error::invalid(format!("there is no parameter {p}")).with_sqlstate(SqlState::UndefinedParameter))
        }
        None if p.strip_prefix('$').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => {
            Err(Error::invalid(format!("there is no parameter {p}")).with_sqlstate(SqlState::UndefinedParameter))
        }
        None => Ok(None),
    }
}

impl VisitorMut for Checker {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        let this = &*query as *const Query;
        // Entering a definition of the innermost WITH: as in PostgreSQL, it sees the ones
        // before it (all of them, itself included, under WITH RECURSIVE).
        if let Some(scope) = self.scopes.last_mut()
            && let Some(i) = scope.bodies.iter().position(|b| *b == this)
        {
            scope.visible = if scope.recursive { scope.names.len() } else { i };
        }
        let opened = match &mut query.with {
            Some(with) if !self.trusted => {
                let mut scope = CteScope { recursive: with.recursive, ..CteScope::default() };
                for cte in &mut with.cte_tables {
                    let canonical = format!("{CTE_PREFIX}{}", self.ctes_defined);
                    self.ctes_defined += 1;
                    scope.names.push((ident_name(&cte.alias.name), canonical.clone()));
                    scope.bodies.push(&*cte.query as *const Query);
                    cte.alias.name = Ident::new(canonical);
                }
                self.scopes.push(scope);
                true
            }
            _ => false,
        };
        self.opened.push(opened);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        if self.opened.pop() == Some(true) {
            self.scopes.pop();
        }
        // After the last definition of a WITH, its query body sees every definition.
        let this = &*query as *const Query;
        if let Some(scope) = self.scopes.last_mut()
            && scope.bodies.last() == Some(&this)
        {
            scope.visible = scope.names.len();
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
            // a table's rows have no ordinality in PostgreSQL (a syntax error there); the table's
            // reference is replaced below, which would drop the clause unseen
            TableFactor::Table { args: None, with_ordinality: true, .. } => ControlFlow::Break(
                Error::invalid("syntax error at or near \"WITH\": WITH ORDINALITY numbers a function's rows")
                    .with_sqlstate(SqlState::SyntaxError),
            ),
            TableFactor::Table { name, args: None, alias, .. } => {
                let Some(parts) = name_parts(name) else {
                    return ControlFlow::Break(unknown_relation(name));
                };
                match parts.as_slice() {
                    [single] if !self.trusted && self.cte_in_scope(single).is_some() => {
                        let canonical = self.cte_in_scope(single).expect("checked");
                        if alias.is_none() {
                            *alias = Some(TableAlias {
                                explicit: true,
                                name: Ident::with_quote('"', single.clone()),
                                columns: vec![],
                                at: None,
                            });
                        }
                        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(canonical))]);
                        ControlFlow::Continue(())
                    }
                    [single] if self.trusted && single.starts_with(CTE_PREFIX) => ControlFlow::Continue(()),
                    [single]
                        if self.target.as_deref() == Some(single.as_str())
                            && name.0[0].as_ident().is_some_and(|i| i.quote_style.is_none()) =>
                    {
                        ControlFlow::Continue(())
                    }
                    [single]
                        if single.starts_with(TABLE_SLOT)
                            && name.0[0].as_ident().is_some_and(|i| i.quote_style.is_none()) =>
                    {
                        if self.trusted {
                            ControlFlow::Continue(())
                        } else {
                            ControlFlow::Break(unknown_relation(name))
                        }
                    }
                    [schema, relation] if schema == "pg_catalog" || schema == "information_schema" => {
                        match CatalogRelation::find(Some(schema), relation) {
                            Some(r) => self.slot_relation(factor, ServerRelation::Catalog(r)),
                            None => ControlFlow::Break(unknown_relation(name)),
                        }
                    }
                    [schema, view] if schema == "duckstore" => match SystemView::from_name(view) {
                        Some(v) => self.slot_relation(factor, ServerRelation::System(v)),
                        None => ControlFlow::Break(unknown_relation(name)),
                    },
                    [single] if CatalogRelation::find(None, single).is_some() => {
                        let r = CatalogRelation::find(None, single).expect("checked");
                        self.slot_relation(factor, ServerRelation::Catalog(r))
                    }
                    [_, _] | [_] => {
                        let (schema, table) = match parts.as_slice() {
                            [schema, table] => (Some(schema.clone()), table.clone()),
                            [table] => (None, table.clone()),
                            _ => unreachable!("matched above"),
                        };
                        // Only names a table could have go further (no paths, no files).
                        // (`pg_temp`: the transaction block's temporary tables)
                        let plausible = crate::storage::names::validate_table_name(&table).is_ok()
                            && schema.as_deref().is_none_or(|s| {
                                s == super::ddl::TEMPORARY_BUCKET || crate::storage::names::parse_bucket(s).is_ok()
                            });
                        if !plausible {
                            return ControlFlow::Break(unknown_relation(name));
                        }
                        let slot = self.tables.len();
                        if alias.is_none() {
                            *alias = Some(TableAlias {
                                explicit: true,
                                name: Ident::with_quote('"', table.clone()),
                                columns: vec![],
                                at: None,
                            });
                        }
                        self.tables.push(TableName { schema, name: table });
                        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(format!("{TABLE_SLOT}{slot}")))]);
                        ControlFlow::Continue(())
                    }
                    _ => ControlFlow::Break(unknown_relation(name)),
                }
            }
            TableFactor::Table { name, args: Some(_), .. }
                if self.trusted && name_parts(name).is_some_and(|p| p == [RELATION_FUNCTION]) =>
            {
                ControlFlow::Continue(())
            }
            // `pg_get_keywords()`: PostgreSQL's key words, a catalog relation here
            TableFactor::Table { name, args: Some(args), .. }
                if args.args.is_empty()
                    && name_parts(name).is_some_and(|p| {
                        matches!(p.as_slice(), [f] | [_, f] if f == "pg_get_keywords")
                            && (p.len() == 1 || p[0] == "pg_catalog")
                    }) =>
            {
                self.slot_relation(factor, ServerRelation::Catalog(CatalogRelation::Keywords))
            }
            TableFactor::Table { name, args: Some(_), .. } => {
                let allowed = name_parts(name).is_some_and(|p| match p.as_slice() {
                    [f] => functions::ALLOWED_TABLE_FUNCTIONS.contains(&f.as_str()),
                    [schema, f] => schema == "pg_catalog" && functions::ALLOWED_TABLE_FUNCTIONS.contains(&f.as_str()),
                    _ => false,
                });
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
            Expr::Function(_) if self.trusted => ControlFlow::Continue(()),
            Expr::Function(f) => {
                let Some(parts) = name_parts(&f.name) else {
                    return ControlFlow::Break(Error::permission_denied("this function call form is not allowed"));
                };
                let (schema, name) = match parts.as_slice() {
                    [name] => (None, name.as_str()),
                    [schema, name] => (Some(schema.as_str()), name.as_str()),
                    _ => (Some(""), ""),
                };
                let compat = super::compat::is_compat_function(name);
                let schema_ok = match schema {
                    None | Some("pg_catalog") | Some("main") => true,
                    Some("information_schema") => compat,
                    Some(_) => false,
                };
                if !schema_ok || !(functions::is_allowed(name) || compat) {
                    if functions::is_unknown_function(name) {
                        return ControlFlow::Break(
                            Error::not_found(format!("function {}() does not exist", f.name))
                                .with_sqlstate(SqlState::UndefinedFunction),
                        );
                    }
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
                if let Expr::Value(v) = inner.as_ref() {
                    match placeholder_index(&v.value) {
                        Ok(Some(n)) => self.param_casts.push((n - 1, cast_param_type(data_type))),
                        Ok(None) => {}
                        Err(e) => return ControlFlow::Break(e),
                    }
                }
                ControlFlow::Continue(())
            }
            Expr::Value(v) => {
                let index = match placeholder_index(&v.value) {
                    Ok(index) => index,
                    Err(e) => return ControlFlow::Break(e),
                };
                if let Some(n) = index {
                    self.max_param = self.max_param.max(n);
                } else if matches!(v.value, Value::Placeholder(_)) {
                    return ControlFlow::Break(
                        Error::invalid("use numbered parameters ($1, $2, …)").with_sqlstate(SqlState::SyntaxError),
                    );
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// The name of a table slot in a plan's template (an identifier clients cannot produce from a
/// table name: `__` is not a valid start of a bucket or table name… but it is of a CTE, so the
/// checker never turns CTE references into slots and the binder only rewrites its own slots).
pub(super) const TABLE_SLOT: &str = "__duckstore_table_";

/// The definitions of one WITH clause while its query is checked.
#[derive(Default)]
struct CteScope {
    /// (the client's name, the canonical name), in order of definition.
    names: Vec<(String, String)>,
    /// Each definition's query, to know when the walk enters it (compared by address only).
    bodies: Vec<*const Query>,
    /// How many of `names` the part being walked sees.
    visible: usize,
    recursive: bool,
}

/// The canonical name of a common table expression (see `Checker::scopes`).
pub(crate) const CTE_PREFIX: &str = "__cte_";

impl Checker {
    /// The canonical name `name` has as a common table expression in scope, innermost first.
    fn cte_in_scope(&self, name: &str) -> Option<String> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.names[..s.visible].iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
    }

    /// Turns a relation reference into `duckstore_relation(<slot>)`, keeping its name as alias.
    fn slot_relation(&mut self, factor: &mut TableFactor, relation: ServerRelation) -> ControlFlow<Error> {
        let TableFactor::Table { name, args, alias, .. } = factor else { return ControlFlow::Continue(()) };
        let slot = self.relations.len();
        self.relations.push(relation);
        if alias.is_none() {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::with_quote('"', relation.alias()),
                columns: vec![],
                at: None,
            });
        }
        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(RELATION_FUNCTION))]);
        *args = Some(TableFunctionArgs {
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan::from(Value::Number(
                slot.to_string(),
                false,
            )))))],
            settings: None,
        });
        ControlFlow::Continue(())
    }
}

/// Replaces relation slot numbers with registered handles, and table slots with the table.
struct BindHandles<'a> {
    handles: &'a [u64],
    tables: &'a [String],
}

/// The rows a table slot stands for: a table file's client columns, or (when the server bound
/// the slot to a whole `SELECT`) an expanded view. Both are server-made text, never a client's.
fn table_subquery(data_ref: &str) -> Box<sqlparser::ast::Query> {
    /// A table file's subquery, parsed once (every read of a table renders it).
    static PARSED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Box<Query>>>> =
        std::sync::LazyLock::new(Default::default);
    const PARSED_TABLES: usize = 4096;
    if data_ref.starts_with("SELECT ") {
        return parse_subquery(data_ref);
    }
    let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(query) = parsed.get(data_ref) {
        return query.clone();
    }
    let sql = format!("SELECT * EXCLUDE (\"{}\") FROM {data_ref}", crate::storage::names::TIMESTAMP_COLUMN);
    let query = parse_subquery(&sql);
    if parsed.len() >= PARSED_TABLES {
        parsed.clear();
    }
    parsed.insert(data_ref.to_owned(), query.clone());
    query
}

fn parse_subquery(sql: &str) -> Box<sqlparser::ast::Query> {
    // The gateway's own parse (DuckDB's dialect, then PostgreSQL's): an expanded view is text
    // the gateway parsed that way, and the expansion checked it reads back as one query.
    match super::parse(sql) {
        Ok(mut statements) => match statements.pop() {
            Some(Statement::Query(q)) => q,
            _ => unreachable!("a SELECT parses as a query"),
        },
        Err(e) => unreachable!("the table subquery was checked to parse: {e}"),
    }
}

impl VisitorMut for BindHandles<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args: None, alias, sample, .. } = factor
            && name.0.len() == 1
            && let Some(slot) = name.0[0]
                .as_ident()
                .and_then(|i| i.value.strip_prefix(TABLE_SLOT))
                .and_then(|n| n.parse::<usize>().ok())
            && let Some(data_ref) = self.tables.get(slot)
        {
            let alias = alias.take();
            // (a TABLESAMPLE samples the table's rows, as written)
            let sample = sample.take();
            *factor = TableFactor::Derived { lateral: false, subquery: table_subquery(data_ref), alias, sample };
            return ControlFlow::Continue(());
        }
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
