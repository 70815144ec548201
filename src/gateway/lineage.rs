//! Where a query's result columns come from, as PostgreSQL reports it in RowDescription: a
//! result column that is a bare reference to a relation's column (through aliases, derived
//! tables and CTEs) carries that relation and column, hence its declared type (`name`, `oid`,
//! `numeric(12,2)`, …), its table OID and its column number. Anything else is computed and
//! carries nothing.
//!
//! This only describes results to clients; it decides nothing about what runs (DuckDB's parse
//! does that), so a query it cannot follow simply gets no origins.

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, Value,
};

use super::query::{QueryPlan, ServerRelation, TABLE_SLOT};
use crate::engine::RELATION_FUNCTION;

/// The relation a result column is a column of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A catalog or system relation the server builds.
    Relation(ServerRelation),
    /// The plan's storage table slot.
    Table(usize),
}

/// A result column that is a column of a relation: its 0-based position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub source: Source,
    pub column: usize,
}

/// What RowDescription can say of a result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Described {
    /// A relation's column: its table, column number and declared type.
    Column(Origin),
    /// An expression of a relation column's declared type (a scalar subquery of it, a CASE
    /// of such columns): the type, but no table.
    TypeOf(Origin),
    /// A set operation's column: its first branch's type, without the typmod.
    TypeWithoutModifier(Origin),
    /// An expression of a known PostgreSQL type (a cast to `name`, `current_user`).
    Type(u32),
    /// A cast to a type with a modifier (`x::numeric(10,2)`, `x::varchar(5)`): type and typmod.
    TypeWithModifier(u32, i32),
}

/// A relation's column names, for `*` and for resolving names (None: unknown).
pub type ColumnsOf<'a> = dyn Fn(Source) -> Option<Vec<String>> + 'a;

/// A relation column's declared PostgreSQL type and typmod (None: unknown).
pub type TypeOf<'a> = dyn Fn(Origin) -> Option<(i64, i32)> + 'a;

/// One origin (or None) per result column of `plan`; None when the result cannot be followed.
pub fn result_origins(
    plan: &QueryPlan,
    columns_of: &ColumnsOf<'_>,
    type_of: &TypeOf<'_>,
) -> Option<Vec<Option<Described>>> {
    let Statement::Query(query) = plan.statement() else { return None };
    let tracer = Tracer { plan, columns_of, type_of };
    let columns = tracer.query(query, &[])?;
    Some(columns.into_iter().map(|c| c.origin).collect())
}

#[derive(Clone)]
struct Column {
    /// The name the column goes by (None: it has none a query could reference).
    name: Option<Ident>,
    origin: Option<Described>,
}

/// A relation in scope: its name and columns (None: unknown columns).
struct Scoped {
    alias: Ident,
    columns: Option<Vec<Column>>,
    /// Columns a join's `USING` merged into an earlier relation's: an unqualified name means
    /// that one.
    merged: Vec<Ident>,
}

struct Tracer<'a> {
    plan: &'a QueryPlan,
    columns_of: &'a ColumnsOf<'a>,
    type_of: &'a TypeOf<'a>,
}

/// The CTEs visible: (name, columns).
type Ctes = [(Ident, Vec<Column>)];

fn same(a: &Ident, b: &Ident) -> bool {
    match (a.quote_style, b.quote_style) {
        (None, None) => a.value.eq_ignore_ascii_case(&b.value),
        (None, Some(_)) => a.value.to_lowercase() == b.value,
        (Some(_), None) => a.value == b.value.to_lowercase(),
        (Some(_), Some(_)) => a.value == b.value,
    }
}

impl Tracer<'_> {
    fn query(&self, query: &Query, outer: &Ctes) -> Option<Vec<Column>> {
        let mut ctes: Vec<(Ident, Vec<Column>)> = outer.to_vec();
        if let Some(with) = &query.with {
            if with.recursive {
                return None;
            }
            for cte in &with.cte_tables {
                let mut columns = self.query(&cte.query, &ctes)?;
                rename(&mut columns, &cte.alias.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
                ctes.push((cte.alias.name.clone(), columns));
            }
        }
        self.set_expr(&query.body, &ctes)
    }

    fn set_expr(&self, body: &SetExpr, ctes: &Ctes) -> Option<Vec<Column>> {
        match body {
            SetExpr::Select(select) => self.select(select, ctes),
            SetExpr::Query(query) => self.query(query, ctes),
            // a set operation's columns are no table's; their type is the first branch's
            // (the engine unifies the others to it), their typmod none
            SetExpr::SetOperation { left, .. } => {
                let columns = self.set_expr(left, ctes)?;
                let set_column =
                    |c: Column| Column { name: c.name, origin: c.origin.and_then(type_only).map(without_typmod) };
                Some(columns.into_iter().map(set_column).collect())
            }
            _ => None,
        }
    }

    fn select(&self, select: &Select, ctes: &Ctes) -> Option<Vec<Column>> {
        let mut scope = Vec::new();
        for from in &select.from {
            self.scope_of(from, ctes, &mut scope);
        }
        let mut out = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    out.push(Column { name: expr_name(expr), origin: self.describe(expr, &scope, ctes) })
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    out.push(Column { name: Some(alias.clone()), origin: self.describe(expr, &scope, ctes) })
                }
                SelectItem::Wildcard(options) => {
                    if options.opt_exclude.is_some() || options.opt_except.is_some() || options.opt_replace.is_some() {
                        return None;
                    }
                    for scoped in &scope {
                        out.extend(scoped.columns.clone()?);
                    }
                }
                SelectItem::QualifiedWildcard(kind, options) => {
                    if options.opt_exclude.is_some() || options.opt_except.is_some() || options.opt_replace.is_some() {
                        return None;
                    }
                    let sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind else { return None };
                    let alias = last_ident(name)?;
                    let scoped = scope.iter().find(|s| same(&s.alias, &alias))?;
                    out.extend(scoped.columns.clone()?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    fn scope_of(&self, from: &TableWithJoins, ctes: &Ctes, scope: &mut Vec<Scoped>) {
        self.factor(&from.relation, ctes, scope);
        for join in &from.joins {
            let before = scope.len();
            self.factor(&join.relation, ctes, scope);
            // an inner or left join's `USING` column is the left side's (a full or right
            // join's is a COALESCE of both: no one column)
            use sqlparser::ast::{JoinConstraint, JoinOperator as J};
            if let J::Join(JoinConstraint::Using(names))
            | J::Inner(JoinConstraint::Using(names))
            | J::Left(JoinConstraint::Using(names))
            | J::LeftOuter(JoinConstraint::Using(names)) = &join.join_operator
                && scope.len() == before + 1
                && let Some(joined) = scope.last_mut()
            {
                joined.merged = names.iter().filter_map(|n| n.0.last()?.as_ident().cloned()).collect();
            }
        }
    }

    fn factor(&self, factor: &TableFactor, ctes: &Ctes, scope: &mut Vec<Scoped>) {
        match factor {
            TableFactor::Table { name, args, alias, .. } => {
                let Some(alias_name) = alias.as_ref().map(|a| a.name.clone()).or_else(|| last_ident(name)) else {
                    return;
                };
                let mut columns = self.table(name, args.as_ref(), ctes);
                if let (Some(columns), Some(alias)) = (columns.as_mut(), alias) {
                    rename(columns, &alias.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
                }
                scope.push(Scoped { alias: alias_name, columns, merged: vec![] });
            }
            TableFactor::Derived { subquery, alias: Some(alias), .. } => {
                let mut columns = self.query(subquery, ctes);
                if let Some(columns) = columns.as_mut() {
                    rename(columns, &alias.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
                }
                scope.push(Scoped { alias: alias.name.clone(), columns, merged: vec![] });
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => self.scope_of(table_with_joins, ctes, scope),
            // anything else makes names ambiguous: an unknown relation in scope
            _ => scope.push(Scoped { alias: Ident::new(""), columns: None, merged: vec![] }),
        }
    }

    fn table(
        &self,
        name: &ObjectName,
        args: Option<&sqlparser::ast::TableFunctionArgs>,
        ctes: &Ctes,
    ) -> Option<Vec<Column>> {
        let single = match name.0.as_slice() {
            [part] => part.as_ident()?.clone(),
            _ => return None,
        };
        let source = if single.value == RELATION_FUNCTION {
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] = args?.args.as_slice() else {
                return None;
            };
            let Value::Number(slot, _) = &v.value else { return None };
            Source::Relation(*self.plan.relations.get(slot.parse::<usize>().ok()?)?)
        } else if let Some(slot) = single.value.strip_prefix(TABLE_SLOT) {
            Source::Table(slot.parse().ok()?)
        } else {
            return ctes.iter().rev().find(|(n, _)| same(n, &single)).map(|(_, c)| c.clone());
        };
        let names = (self.columns_of)(source)?;
        Some(
            names
                .into_iter()
                .enumerate()
                .map(|(column, name)| Column {
                    name: Some(Ident::with_quote('"', name)),
                    origin: Some(Described::Column(Origin { source, column })),
                })
                .collect(),
        )
    }
}

impl Tracer<'_> {
    /// The PostgreSQL type and typmod a description stands for.
    fn declared(&self, described: Described) -> Option<(i64, i32)> {
        match described {
            Described::Type(oid) => Some((i64::from(oid), -1)),
            Described::TypeWithModifier(oid, typmod) => Some((i64::from(oid), typmod)),
            Described::Column(origin) | Described::TypeOf(origin) => (self.type_of)(origin),
            Described::TypeWithoutModifier(origin) => (self.type_of)(origin).map(|(oid, _)| (oid, -1)),
        }
    }

    /// `sum(x)` of a smallint or integer column is a bigint in PostgreSQL (DuckDB's is a
    /// HUGEINT, which would go out as numeric).
    fn sum_type(&self, f: &sqlparser::ast::Function, scope: &[Scoped], ctes: &Ctes) -> Option<Described> {
        let sqlparser::ast::FunctionArguments::List(list) = &f.args else { return None };
        let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else { return None };
        let argument = self.describe(arg, scope, ctes)?;
        // (sum of int2 and int4 is a bigint, of a real a real, as in PostgreSQL)
        match self.declared(argument)?.0 {
            21 | 23 => Some(Described::Type(INT8_OID)),
            700 => Some(Described::Type(700)),
            _ => None,
        }
    }

    /// What a select item's expression is known to be.
    fn describe(&self, expr: &Expr, scope: &[Scoped], ctes: &Ctes) -> Option<Described> {
        match expr {
            Expr::Nested(inner) => self.describe(inner, scope, ctes),
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => lookup(expr, scope),
            // (not `cast_type`: this tree has the compat rewrites, where `::pg_catalog.text` is a
            // VARCHAR cast; the written types, read before them, say what the client wrote)
            Expr::Cast { data_type, expr: inner, .. } => {
                // a cast of a column to its own type, no modifier given, is the column
                // (PostgreSQL drops it)
                if let Some(oid) = plain_type_oid(data_type)
                    && let Some(Described::Column(origin)) = self.describe(inner, scope, ctes)
                    && self.declared(Described::Column(origin)).is_some_and(|(declared, _)| declared == i64::from(oid))
                {
                    return Some(Described::Column(origin));
                }
                known_type(data_type).map(Described::Type)
            }
            // a scalar subquery: its one column's type
            Expr::Subquery(query) => match self.query(query, ctes)?.as_slice() {
                [only] => only.origin.and_then(type_only),
                _ => None,
            },
            // a CASE whose results are all of one declared type (or NULL, or an untyped literal,
            // which takes that type): the type, with a typmod only when every branch, an ELSE
            // included, has that same one (PostgreSQL's rule)
            Expr::Case { conditions, else_result, .. } => {
                let results = conditions.iter().map(|c| &c.result).chain(else_result.as_deref());
                let mut found: Option<Described> = None;
                let mut one_typmod = else_result.is_some();
                let mut integer_literal = false;
                for result in results {
                    if matches!(result, Expr::Value(v) if matches!(v.value, Value::Null | Value::SingleQuotedString(_)))
                    {
                        one_typmod = false;
                        continue;
                    }
                    // an integer (int4) goes over to an oid, int8, numeric or float branch type
                    if matches!(result, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit())))
                    {
                        (one_typmod, integer_literal) = (false, true);
                        continue;
                    }
                    let this = self.describe(result, scope, ctes).and_then(type_only)?;
                    match found {
                        None => found = Some(this),
                        Some(seen) if seen == this => {}
                        Some(seen) => {
                            let (a, b) = (self.declared(seen)?, self.declared(this)?);
                            if a.0 != b.0 {
                                return None;
                            }
                            one_typmod &= a.1 == b.1;
                        }
                    }
                }
                let found = found?;
                if integer_literal && !matches!(self.declared(found)?.0, 26 | 20 | 23 | 1700 | 700 | 701) {
                    return None;
                }
                Some(if one_typmod { found } else { without_typmod(found) })
            }
            Expr::Function(f) => {
                let name = f.name.0.last()?.as_ident()?.value.to_lowercase();
                if name == "sum" {
                    return self.sum_type(f, scope, ctes);
                }
                // an array of names is a name[] (SQLAlchemy's index columns' operator classes)
                if name == "array_agg" {
                    let sqlparser::ast::FunctionArguments::List(list) = &f.args else { return None };
                    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else { return None };
                    let element = self.describe(arg, scope, ctes)?;
                    return (self.declared(element)?.0 == i64::from(NAME_OID))
                        .then_some(Described::Type(NAME_ARRAY_OID));
                }
                // ARRAY(SELECT name …) is a name[] (psql's `\du` memberof), and unnest of a
                // name[] a name (pgcli's foreign key columns)
                if name == "array"
                    && let sqlparser::ast::FunctionArguments::Subquery(query) = &f.args
                {
                    let items = self.query(query, ctes)?;
                    let [only] = items.as_slice() else { return None };
                    let element = only.origin.and_then(type_only)?;
                    return (self.declared(element)?.0 == i64::from(NAME_OID))
                        .then_some(Described::Type(NAME_ARRAY_OID));
                }
                if name == "unnest" {
                    let sqlparser::ast::FunctionArguments::List(list) = &f.args else { return None };
                    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else { return None };
                    let array = self.describe(arg, scope, ctes).and_then(type_only)?;
                    return (self.declared(array)?.0 == i64::from(NAME_ARRAY_OID)).then_some(Described::Type(NAME_OID));
                }
                // nullif(x, y) has x's type and typmod; min(x) and max(x) x's type without it,
                // but of a varchar text (PostgreSQL has min and max of text and bpchar only)
                if matches!(name.as_str(), "nullif" | "min" | "max") && f.over.is_none() {
                    let sqlparser::ast::FunctionArguments::List(list) = &f.args else { return None };
                    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first() else {
                        return None;
                    };
                    let described = self.describe(first, scope, ctes).and_then(type_only)?;
                    if name != "nullif" && self.declared(described).is_some_and(|(oid, _)| oid == 1043) {
                        return Some(Described::Type(TEXT_OID));
                    }
                    return Some(if name == "nullif" { described } else { without_typmod(described) });
                }
                name_function(&name).then_some(Described::Type(NAME_OID))
            }
            _ => None,
        }
    }
}

/// `name`, PostgreSQL's type of identifiers.
const NAME_OID: u32 = 19;

/// `name[]`.
const NAME_ARRAY_OID: u32 = 1003;

/// `text`.
const TEXT_OID: u32 = 25;

/// `uuid`.
const UUID_OID: u32 = 2950;

/// `bigint`.
const INT8_OID: u32 = 20;

/// `character varying[]`.
const VARCHAR_ARRAY_OID: u32 = 1015;

/// The typmod marking a written quotient (see [`written_type`]): never sent, PostgreSQL's
/// quotient has none.
pub const QUOTIENT_TYPMOD: i32 = i32::MIN;

/// `json`, and PostgreSQL's functions that answer it (DuckDB's JSON is text to the wire).
const JSON_OID: u32 = 114;
/// `jsonb`: JSON text to the engine, printed canonically on the wire (pg::jsonb).
const JSONB_OID: u32 = 3802;
const JSON_FUNCTIONS: [&str; 9] = [
    "json_strip_nulls",
    "json_build_object",
    "json_build_array",
    "json_object",
    "json_agg",
    "json_object_agg",
    "to_json",
    "row_to_json",
    "array_to_json",
];

/// PostgreSQL's functions that answer `jsonb` (the engine's JSON, printed as jsonb).
const JSONB_FUNCTIONS: [&str; 8] = [
    "jsonb_build_object",
    "jsonb_build_array",
    "jsonb_agg",
    "jsonb_object_agg",
    "to_jsonb",
    "jsonb_object",
    "jsonb_set",
    "jsonb_strip_nulls",
];

/// The PostgreSQL types a query's result columns have by the SQL as written, before the
/// session's compat rewrites replace what the engine lacks (`x::oid` becomes a BIGINT cast,
/// `x::regclass` a name lookup, `current_user` a literal): one entry per item of the outermost
/// select list, `None` where the text says nothing. Of a set operation, its first branch's,
/// where the other branch's agrees: PostgreSQL keeps a typmod only when every branch has it
/// (`varchar(3)` with `varchar(5)` is `varchar`), and two written types that differ are
/// resolved to a third one, which the engine's answer tells. Empty when the list has a
/// wildcard (items and columns would not line up).
pub fn written_types(statement: &Statement) -> Vec<Option<(u32, i32)>> {
    let Statement::Query(query) = statement else { return vec![] };
    body_written_types(query.body.as_ref())
}

fn body_written_types(body: &SetExpr) -> Vec<Option<(u32, i32)>> {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::Query(inner) => return body_written_types(inner.body.as_ref()),
        SetExpr::SetOperation { left, right, .. } => {
            let mut types = body_written_types(left);
            let others = body_written_types(right);
            if others.len() == types.len() {
                for (first, other) in types.iter_mut().zip(others) {
                    *first = match (*first, other) {
                        (Some(a), Some(b)) if a.0 != b.0 => None,
                        (Some(a), Some(b)) if a.1 != b.1 => Some((a.0, -1)),
                        (first, _) => first,
                    };
                }
            }
            return types;
        }
        // a VALUES column: its rows' type, with the typmod only when every row has it
        SetExpr::Values(values) => {
            let mut rows = values.rows.iter();
            let Some(first) = rows.next() else { return vec![] };
            let mut types: Vec<Option<(u32, i32)>> = first.content.iter().map(written_type).collect();
            for row in rows {
                if row.content.len() != types.len() {
                    return vec![];
                }
                for (seen, expr) in types.iter_mut().zip(&row.content) {
                    *seen = match (*seen, written_type(expr)) {
                        (Some(a), Some(b)) if a == b => Some(a),
                        (Some(a), Some(b)) if a.0 != b.0 => None,
                        (Some(a), _) => Some((a.0, -1)),
                        (None, _) => None,
                    };
                }
            }
            return types;
        }
        _ => return vec![],
    };
    // `SELECT * FROM (subquery)` (a VALUES list as the naming writes it): the subquery's types
    if let ([SelectItem::Wildcard(_)], [only]) = (select.projection.as_slice(), select.from.as_slice())
        && only.joins.is_empty()
        && let TableFactor::Derived { subquery, .. } = &only.relation
    {
        return body_written_types(&subquery.body);
    }
    // `SELECT * FROM unnest(current_schemas(…))`: the names
    if let ([SelectItem::Wildcard(_)], [only]) = (select.projection.as_slice(), select.from.as_slice())
        && only.joins.is_empty()
        && let TableFactor::Table { name, args: Some(args), .. } = &only.relation
        && name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case("unnest"))
        && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(inner)))] = args.args.as_slice()
        && inner
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.value.eq_ignore_ascii_case("current_schemas"))
    {
        return vec![Some((NAME_OID, -1))];
    }
    let from = json_set_columns(select);
    let mut types = Vec::with_capacity(select.projection.len());
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                types.push(written_type(expr).or_else(|| from_column_type(expr, &from)))
            }
            _ => return vec![],
        }
    }
    types
}

/// A column of a relation in FROM whose type the text tells: `(relation, column, type)`.
type FromColumn = (String, String, (u32, i32));

/// The document columns of PostgreSQL's json set functions in `select`'s FROM
/// (`jsonb_each(…)`'s `value` is a jsonb, `json_array_elements(…)`'s a json), under the names
/// the text gives them.
fn json_set_columns(select: &sqlparser::ast::Select) -> Vec<FromColumn> {
    let mut out = Vec::new();
    let factors =
        select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for factor in factors {
        let sqlparser::ast::TableFactor::Table { name, args: Some(_), alias, .. } = factor else { continue };
        let Some(function) = name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()) else { continue };
        let (oid, position) = match function.as_str() {
            "jsonb_each" => (JSONB_OID, 1),
            "json_each" => (JSON_OID, 1),
            "jsonb_array_elements" => (JSONB_OID, 0),
            "json_array_elements" => (JSON_OID, 0),
            _ => continue,
        };
        let relation = alias.as_ref().map_or(function.clone(), |a| a.name.value.to_lowercase());
        let column = match alias.as_ref().and_then(|a| a.columns.get(position)) {
            Some(c) => c.name.value.to_lowercase(),
            None => "value".to_owned(),
        };
        out.push((relation, column, (oid, -1)));
    }
    out
}

/// The type of a column `expr` names, where FROM tells it.
fn from_column_type(expr: &Expr, from: &[FromColumn]) -> Option<(u32, i32)> {
    let (relation, column) = match expr {
        Expr::Nested(inner) => return from_column_type(inner, from),
        Expr::Identifier(i) => (None, i.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [r, c] => (Some(r.value.to_lowercase()), c.value.to_lowercase()),
            _ => return None,
        },
        _ => return None,
    };
    let mut matching = from.iter().filter(|(r, c, _)| *c == column && relation.as_ref().is_none_or(|want| want == r));
    match (matching.next(), matching.next()) {
        (Some((_, _, t)), None) => Some(*t),
        _ => None,
    }
}

/// The PostgreSQL type an expression has by its text alone (see [`written_types`]).
fn written_type(expr: &Expr) -> Option<(u32, i32)> {
    match expr {
        Expr::Nested(inner) => written_type(inner),
        Expr::Cast { data_type, .. } => cast_type(data_type),
        // a json or jsonb document's member (`->`, `#>`) is one of the same type
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Arrow | sqlparser::ast::BinaryOperator::HashArrow,
            ..
        } => written_type(left).filter(|(t, _)| matches!(*t, JSON_OID | JSONB_OID)),
        // jsonb's `||`, `-` and `#-` answer a jsonb
        Expr::BinaryOp {
            left,
            op:
                sqlparser::ast::BinaryOperator::StringConcat
                | sqlparser::ast::BinaryOperator::Minus
                | sqlparser::ast::BinaryOperator::HashMinus,
            ..
        } if written_type(left).is_some_and(|(t, _)| t == JSONB_OID) => Some((JSONB_OID, -1)),
        Expr::BinaryOp { right, op: sqlparser::ast::BinaryOperator::StringConcat, .. }
            if written_type(right).is_some_and(|(t, _)| t == JSONB_OID) =>
        {
            Some((JSONB_OID, -1))
        }
        // a quotient (or an average) the engine answers as a numeric prints as PostgreSQL's,
        // at the scale its value gives (engine::numeric; marked where it is one)
        Expr::BinaryOp { op: sqlparser::ast::BinaryOperator::Divide, .. } => Some((1700, QUOTIENT_TYPMOD)),
        Expr::Function(f) if f.name.0.last()?.as_ident()?.value.eq_ignore_ascii_case("avg") => {
            Some((1700, QUOTIENT_TYPMOD))
        }
        // a scalar subquery: its one item's
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.as_slice() {
                [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] => written_type(item),
                _ => None,
            },
            _ => None,
        },
        Expr::Function(f) => {
            let name = f.name.0.last()?.as_ident()?.value.to_lowercase();
            if JSON_FUNCTIONS.contains(&name.as_str()) {
                return Some((JSON_OID, -1));
            }
            if JSONB_FUNCTIONS.contains(&name.as_str()) {
                return Some((JSONB_OID, -1));
            }
            if name == "current_schemas" {
                return Some((NAME_ARRAY_OID, -1));
            }
            // (a written name's is shown as the name, see compat's `show_reg_items`)
            match name.as_str() {
                "to_regclass" => return Some((2205, -1)),
                "to_regtype" => return Some((2206, -1)),
                _ => {}
            }
            // unnest(current_schemas(…)) is a set of names (pgcli's search path)
            if name == "unnest"
                && let sqlparser::ast::FunctionArguments::List(list) = &f.args
                && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(inner)))] = list.args.as_slice()
                && inner.name.0.last()?.as_ident()?.value.eq_ignore_ascii_case("current_schemas")
            {
                return Some((NAME_OID, -1));
            }
            // (the engine's uuid reaches the wire as text)
            if name == "gen_random_uuid" {
                return Some((UUID_OID, -1));
            }
            name_function(&name).then_some((NAME_OID, -1))
        }
        Expr::Identifier(ident) if ident.quote_style.is_none() => {
            // the SQL-standard functions written without parentheses
            let name = ident.value.to_lowercase();
            (name_function(&name) && name != "pg_get_userbyid").then_some((NAME_OID, -1))
        }
        // a CASE whose results are all of one written type (or NULL)
        Expr::Case { conditions, else_result, .. } => {
            let mut found = None;
            for result in conditions.iter().map(|c| &c.result).chain(else_result.as_deref()) {
                if matches!(result, Expr::Value(v) if v.value == Value::Null) {
                    continue;
                }
                let this = written_type(result)?;
                if found.is_some_and(|seen| seen != this) {
                    return None;
                }
                found = Some(this);
            }
            found
        }
        _ => None,
    }
}

/// Functions that answer `name` in PostgreSQL (where the engine answers text).
fn name_function(name: &str) -> bool {
    matches!(
        name,
        "current_user"
            | "session_user"
            | "user"
            | "current_role"
            | "current_schema"
            | "current_database"
            | "current_catalog"
            | "pg_get_userbyid"
            | "pg_encoding_to_char"
            | "getdatabaseencoding"
            | "pg_client_encoding"
    )
}

/// The PostgreSQL type of a cast whose engine type stands in for another (`x::oid` is a BIGINT
/// to DuckDB, `x::varchar`, `x::json` and `x::jsonb` its VARCHAR).
fn cast_type(data_type: &sqlparser::ast::DataType) -> Option<(u32, i32)> {
    use sqlparser::ast::{CharacterLength, DataType, ExactNumberInfo};
    let length = |l: &Option<CharacterLength>| match l {
        Some(CharacterLength::IntegerLength { length, .. }) => i32::try_from(*length).ok().map(|n| n.saturating_add(4)),
        _ => None,
    };
    // a modifier as PostgreSQL keeps it in the typmod: numeric's ((p << 16) | s) + 4, a
    // length's n + 4
    match data_type {
        DataType::Numeric(info) | DataType::Decimal(info) | DataType::Dec(info) => {
            let (precision, scale) = match info {
                // the stand-in for an unconstrained numeric (a parameter declared numeric is cast
                // to it): numeric without a modifier
                ExactNumberInfo::PrecisionAndScale(38, 9) => return Some((1700, -1)),
                ExactNumberInfo::PrecisionAndScale(p, s) => (*p, u64::try_from(*s).ok()?),
                ExactNumberInfo::Precision(p) => (*p, 0),
                ExactNumberInfo::None => return None,
            };
            let typmod = i32::try_from((precision << 16) | scale).ok()?.checked_add(4)?;
            return Some((1700, typmod));
        }
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::CharVarying(l) if l.is_some() => {
            return length(l).map(|m| (1043, m));
        }
        // `char` alone is char(1)
        DataType::Char(l) | DataType::Character(l) => return Some((1042, length(l).unwrap_or(5))),
        // time(p), timestamp(p), timestamptz(p): the precision is the typmod (at most 6)
        DataType::Timestamp(Some(p), zone) => {
            let zoned = matches!(zone, sqlparser::ast::TimezoneInfo::WithTimeZone | sqlparser::ast::TimezoneInfo::Tz);
            return Some((if zoned { 1184 } else { 1114 }, i32::try_from((*p).min(6)).ok()?));
        }
        DataType::Time(Some(p), sqlparser::ast::TimezoneInfo::None | sqlparser::ast::TimezoneInfo::WithoutTimeZone) => {
            return Some((1083, i32::try_from((*p).min(6)).ok()?));
        }
        // varchar(n)[]: the element's length is the array's typmod
        DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(element, _)) => {
            if let DataType::Varchar(l) | DataType::CharacterVarying(l) = element.as_ref() {
                return Some((VARCHAR_ARRAY_OID, length(l).unwrap_or(-1)));
            }
        }
        _ => {}
    }
    let oid = match super::query::postgres_type_name(data_type).as_str() {
        "name" => NAME_OID,
        "oid" => 26,
        "regproc" => 24,
        "regclass" => 2205,
        "regtype" => 2206,
        "varchar" => 1043,
        "bpchar" => 1042,
        "char" => 18,
        "json" => JSON_OID,
        "jsonb" => JSONB_OID,
        "uuid" => 2950,
        _ => return None,
    };
    Some((oid, -1))
}

/// The type a cast gives a column of the rewritten tree: `name`, and the integers (the engine's
/// casts to them are PostgreSQL's: a series of int4s, a length).
fn known_type(data_type: &sqlparser::ast::DataType) -> Option<u32> {
    match super::query::postgres_type_name(data_type).as_str() {
        "name" => Some(NAME_OID),
        "int2" => Some(21),
        "int4" => Some(23),
        _ => None,
    }
}

/// The OID of a type written without a modifier, for the common scalar types.
fn plain_type_oid(data_type: &sqlparser::ast::DataType) -> Option<u32> {
    if data_type.to_string().contains('(') {
        return None;
    }
    Some(match super::query::postgres_type_name(data_type).as_str() {
        "int2" => 21,
        "int4" => 23,
        "int8" => 20,
        "float4" => 700,
        "float8" => 701,
        "numeric" => 1700,
        "bool" => 16,
        "text" => 25,
        "varchar" => 1043,
        "date" => 1082,
        "timestamp" => 1114,
        "timestamptz" => 1184,
        "name" => NAME_OID,
        _ => return None,
    })
}

/// A set operation's column: its first branch's type, but no typmod (PostgreSQL keeps one only
/// when every branch has it).
fn without_typmod(described: Described) -> Described {
    match described {
        Described::Column(origin) | Described::TypeOf(origin) | Described::TypeWithoutModifier(origin) => {
            Described::TypeWithoutModifier(origin)
        }
        Described::TypeWithModifier(oid, _) => Described::Type(oid),
        other => other,
    }
}

/// What a column says of its type alone (a table's column loses its table).
fn type_only(described: Described) -> Option<Described> {
    match described {
        Described::Column(origin) | Described::TypeOf(origin) => Some(Described::TypeOf(origin)),
        Described::TypeWithoutModifier(origin) => Some(Described::TypeWithoutModifier(origin)),
        Described::Type(oid) => Some(Described::Type(oid)),
        Described::TypeWithModifier(oid, typmod) => Some(Described::TypeWithModifier(oid, typmod)),
    }
}

fn rename(columns: &mut [Column], names: &[Ident]) {
    for (column, name) in columns.iter_mut().zip(names) {
        column.name = Some(name.clone());
    }
}

fn last_ident(name: &ObjectName) -> Option<Ident> {
    name.0.last()?.as_ident().cloned()
}

/// The name PostgreSQL gives an unaliased result column, where a query could reference it.
fn expr_name(expr: &Expr) -> Option<Ident> {
    match expr {
        Expr::Identifier(ident) => Some(ident.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().cloned(),
        Expr::Nested(inner) => expr_name(inner),
        _ => None,
    }
}

/// The origin of a bare column reference among the relations in scope.
fn lookup(expr: &Expr, scope: &[Scoped]) -> Option<Described> {
    match expr {
        Expr::Nested(inner) => lookup(inner, scope),
        Expr::Identifier(column) => {
            // the one relation in scope with that column; unknown relations make it ambiguous
            let mut found = None;
            for scoped in scope {
                if scoped.merged.iter().any(|m| same(m, column)) {
                    continue;
                }
                let columns = scoped.columns.as_ref()?;
                for c in columns.iter().filter(|c| c.name.as_ref().is_some_and(|n| same(n, column))) {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(c.origin);
                }
            }
            found.flatten()
        }
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            let (alias, column) = (&parts[parts.len() - 2], &parts[parts.len() - 1]);
            let mut matching = scope.iter().filter(|s| same(&s.alias, alias));
            let scoped = matching.next()?;
            if matching.next().is_some() {
                return None;
            }
            let columns = scoped.columns.as_ref()?;
            let mut hits = columns.iter().filter(|c| c.name.as_ref().is_some_and(|n| same(n, column)));
            let hit = hits.next()?;
            if hits.next().is_some() {
                return None;
            }
            hit.origin
        }
        _ => None,
    }
}
