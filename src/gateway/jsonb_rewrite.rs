//! jsonb's functions and operators DuckDB lacks or answers otherwise, written as the engine's
//! functions (engine::jsonb_functions) in both session kinds: `jsonb_set`, `#-`, `-`, `||`,
//! `jsonb_strip_nulls`, `jsonb_pretty`; and jsonb's canonical text where a jsonb value becomes
//! text (`::text`, `->>` of an object or array) or is compared (`=`, `<>`: key order, spacing
//! and a number's trailing zeros do not count).
//!
//! Operators are rewritten before their operands (the pre-visit): an operand written as jsonb
//! (`'…'::jsonb`, a jsonb function's call, a jsonb member) is a JSON to the engine afterwards,
//! which says nothing of json against jsonb. A path must be a literal (`'{a,b}'`).

use sqlparser::ast::{BinaryOperator, DataType, Expr};

use super::compat::{
    call, cast_to, expr_args, null, operand, parse_pg_array, pg_function_name, string_literal, text, with_operands,
};

/// The functions whose result is a jsonb.
const JSONB_FUNCTIONS: &[&str] = &[
    "jsonb_build_object",
    "jsonb_build_array",
    "jsonb_agg",
    "jsonb_object_agg",
    "to_jsonb",
    "jsonb_object",
    "jsonb_set",
    "jsonb_strip_nulls",
    "jsonb_extract_path",
];

/// How far down an operand's left side [`written_as_jsonb`] looks. A longer chain of operators
/// is not rewritten: each rewrite deepens the tree the rewriting pass then walks on the
/// connection's stack (a chain of 300 jsonb `-` overflowed it; a rewritten level is about ten
/// frames deep to copy), and no real query chains so many.
const MAX_CHAIN: usize = 8;

/// Whether `e` is written as a jsonb value, within [`MAX_CHAIN`] steps (a loop, not recursion:
/// `1 - 1 - … - 1` is a left spine as long as the statement).
pub(super) fn written_as_jsonb(e: &Expr) -> bool {
    let mut e = e;
    for _ in 0..MAX_CHAIN {
        match e {
            Expr::Nested(inner) => e = inner,
            Expr::Cast { data_type, expr, .. } => {
                // (a cast's operand counts against the chain too: `x::jsonb::text::jsonb…`)
                return super::query::postgres_type_name(data_type) == "jsonb" && chain_length(expr) < MAX_CHAIN;
            }
            Expr::BinaryOp {
                left,
                op:
                    BinaryOperator::Arrow
                    | BinaryOperator::HashArrow
                    | BinaryOperator::HashMinus
                    | BinaryOperator::Minus
                    | BinaryOperator::StringConcat,
                ..
            } => e = left,
            Expr::Function(f) => return pg_function_name(f).is_some_and(|n| JSONB_FUNCTIONS.contains(&n.as_str())),
            _ => return false,
        }
    }
    false
}

/// How many casts, parentheses and operators lie down `e`'s left side (counted to MAX_CHAIN).
fn chain_length(e: &Expr) -> usize {
    let mut e = e;
    for depth in 0..MAX_CHAIN {
        e = match e {
            Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => inner,
            Expr::BinaryOp { left, .. } => left,
            _ => return depth,
        };
    }
    MAX_CHAIN
}

fn take(e: &mut Expr) -> Expr {
    std::mem::replace(e, Expr::value(sqlparser::ast::Value::Null))
}

fn json(e: Expr) -> Expr {
    cast_to(e, DataType::JSON)
}

/// A path literal (`'{a,b,1}'`) as the JSON array of its texts the engine functions take.
fn path_json(e: &Expr) -> Option<Expr> {
    let steps: Vec<String> = parse_pg_array(string_literal(e)?)?.into_iter().collect::<Option<_>>()?;
    serde_json::to_string(&steps).ok().map(text)
}

/// The operator rewrites (before the operands are rewritten); whether `expr` changed.
pub(super) fn jsonb_operators(expr: &mut Expr) -> bool {
    let replacement = match expr {
        Expr::Cast { expr: inner, data_type: DataType::Text | DataType::Varchar(None), .. }
            if written_as_jsonb(inner) =>
        {
            call("duckstore_jsonb_text", vec![take(inner)])
        }
        Expr::BinaryOp { left, op: BinaryOperator::LongArrow, right } if written_as_jsonb(left) => {
            let member =
                Expr::BinaryOp { left: Box::new(take(left)), op: BinaryOperator::Arrow, right: Box::new(take(right)) };
            call("duckstore_jsonb_member_text", vec![member])
        }
        Expr::BinaryOp { left, op: op @ (BinaryOperator::Eq | BinaryOperator::NotEq), right }
            if written_as_jsonb(left) && written_as_jsonb(right) =>
        {
            let op = op.clone();
            Expr::BinaryOp {
                left: Box::new(call("duckstore_jsonb_key", vec![take(left)])),
                op,
                right: Box::new(call("duckstore_jsonb_key", vec![take(right)])),
            }
        }
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right }
            if written_as_jsonb(left) || written_as_jsonb(right) =>
        {
            json(call("duckstore_jsonb_concat", vec![take(left), take(right)]))
        }
        Expr::BinaryOp { left, op: BinaryOperator::Minus, right } if written_as_jsonb(left) => {
            // (the key as JSON: a text removes a key, an integer an array's element)
            json(call("duckstore_jsonb_delete", vec![take(left), call("to_json", vec![take(right)])]))
        }
        Expr::BinaryOp { left, op: BinaryOperator::HashMinus, right } if written_as_jsonb(left) => {
            let Some(path) = path_json(right) else { return false };
            json(call("duckstore_jsonb_delete_path", vec![take(left), path]))
        }
        _ => return false,
    };
    *expr = replacement;
    true
}

/// `jsonb_set`, `jsonb_strip_nulls` and `jsonb_pretty` as the engine's functions.
pub(super) fn jsonb_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let name = pg_function_name(f)?;
    // (named first: the arguments are copied only for a call rewritten here)
    if !matches!(
        name.as_str(),
        "jsonb_set" | "jsonb_strip_nulls" | "json_strip_nulls" | "jsonb_pretty" | "json_object" | "jsonb_object"
    ) {
        return None;
    }
    let args = expr_args(&f.args)?;
    match (name.as_str(), args.as_slice()) {
        ("json_object" | "jsonb_object", _) => object_of_text_arrays(&args),
        ("jsonb_set", [target, path, new]) => {
            Some(json(call("duckstore_jsonb_set", vec![target.clone(), path_json(path)?, new.clone(), true_literal()])))
        }
        // (strict: a NULL create_missing answers NULL, as in PostgreSQL)
        ("jsonb_set", [target, path, new, create]) => {
            Some(json(call("duckstore_jsonb_set", vec![target.clone(), path_json(path)?, new.clone(), create.clone()])))
        }
        ("jsonb_strip_nulls", [value]) => Some(json(call("duckstore_jsonb_strip_nulls", vec![value.clone()]))),
        // (json keeps its members' order, repeated keys and numbers as written)
        ("json_strip_nulls", [value]) => Some(json(call("duckstore_json_strip_nulls", vec![value.clone()]))),
        ("jsonb_pretty", [value]) => Some(call("duckstore_jsonb_pretty", vec![value.clone()])),
        _ => None,
    }
}

/// PostgreSQL's `json_object(text[])` (keys and values alternating) and `json_object(keys text[],
/// values text[])`, and their jsonb twins: the object's text as json_object prints it (the wire
/// prints a jsonb canonically). Two arguments must be written as arrays (`'{a,1}'`, `ARRAY[…]`,
/// a cast to an array): any other pair is the engine's own json_object(key, value), left alone.
fn object_of_text_arrays(args: &[Expr]) -> Option<Expr> {
    let array = |e: &Expr| -> Option<Expr> {
        match e {
            Expr::Array(_) | Expr::Cast { data_type: DataType::Array(_), .. } => Some(e.clone()),
            _ => {
                let written = string_literal(e).filter(|w| w.trim_start().starts_with('{'))?;
                let items = parse_pg_array(written)?;
                let elem = items.into_iter().map(|i| i.map_or_else(null, text)).collect();
                Some(Expr::Array(sqlparser::ast::Array { elem, named: true }))
            }
        }
    };
    let member = |key: &str, value: &str| {
        format!(
            "to_json(CASE WHEN {key} IS NULL THEN error('null value not allowed for object key') \
             ELSE CAST({key} AS VARCHAR) END) || ' : ' || coalesce(to_json(CAST({value} AS VARCHAR)), 'null')"
        )
    };
    let (body, operands) = match args {
        [pairs] => {
            let a = operand(0);
            let body = format!(
                "CASE WHEN len({a}) % 2 <> 0 THEN error('array must have even number of elements') \
                 ELSE '{{' || array_to_string(list_transform(range(0, len({a}) // 2), duckstore_i -> {}), ', ') || '}}' END",
                member(&format!("{a}[2 * duckstore_i + 1]"), &format!("{a}[2 * duckstore_i + 2]"))
            );
            // (one argument is always an array: the engine's json_object takes pairs)
            (body, vec![array(pairs).unwrap_or_else(|| pairs.clone())])
        }
        [keys, values] => {
            let (k, v) = (operand(0), operand(1));
            let body = format!(
                "CASE WHEN len({k}) <> len({v}) THEN error('mismatched array dimensions') \
                 ELSE '{{' || array_to_string(list_transform(range(0, len({k})), duckstore_i -> {}), ', ') || '}}' END",
                member(&format!("{k}[duckstore_i + 1]"), &format!("{v}[duckstore_i + 1]"))
            );
            (body, vec![array(keys)?, array(values)?])
        }
        _ => return None,
    };
    with_operands(&body, operands).ok().map(json)
}

fn true_literal() -> Expr {
    Expr::value(sqlparser::ast::Value::Boolean(true))
}

/// `json_to_record(j) AS r(a int, b text)` (and `jsonb_`, and `_recordset` of an array of
/// objects): a derived table whose columns are the object's members by name, each as the
/// alias's column definition says, as PostgreSQL's. A member's text (a string unquoted, any
/// other value its JSON) is cast to the column's type; a missing member is NULL. Answers
/// whether `factor` was one (without a column definition list it is left to the engine).
pub(super) fn json_to_record(factor: &mut sqlparser::ast::TableFactor) -> bool {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, Ident, SelectItem, TableFactor};
    let TableFactor::Table { name, args: Some(args), alias: Some(alias), with_ordinality: false, .. } = factor else {
        return false;
    };
    let Some(function) = super::query::name_parts(name).and_then(|p| match p.as_slice() {
        [f] => Some(f.clone()),
        [schema, f] if schema == "pg_catalog" => Some(f.clone()),
        _ => None,
    }) else {
        return false;
    };
    let set = match function.as_str() {
        "json_to_record" | "jsonb_to_record" => false,
        "json_to_recordset" | "jsonb_to_recordset" => true,
        _ => return false,
    };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(document))] = args.args.as_slice() else { return false };
    let Some(columns) = alias
        .columns
        .iter()
        .map(|c| c.data_type.clone().map(|t| (c.name.clone(), t)))
        .collect::<Option<Vec<_>>>()
        .filter(|c| !c.is_empty())
    else {
        return false;
    };
    // (the document's name inside: one no client column is named by accident)
    const RECORD: &str = "__duckstore_record";
    let source = if set {
        format!("SELECT unnest(CAST(CAST(__arg0 AS JSON) AS JSON[])) AS {RECORD}")
    } else {
        format!("SELECT CAST(__arg0 AS JSON) AS {RECORD}")
    };
    let sql = format!("SELECT 1 FROM ({source}) AS {RECORD}");
    let Ok(sqlparser::ast::Statement::Query(mut query)) =
        sqlparser::parser::Parser::new(&sqlparser::dialect::DuckDbDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_statement())
    else {
        return false;
    };
    let document = Expr::Nested(Box::new(document.clone()));
    let _ = sqlparser::ast::visit_expressions_mut(&mut *query, |e| {
        if matches!(e, Expr::Identifier(i) if i.value == "__arg0") {
            *e = document.clone();
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return false };
    select.projection = columns
        .iter()
        .map(|(column, data_type)| {
            // (a JSON pointer: `~` and `/` escaped, so any member name is one step)
            let pointer = format!("/{}", column.value.replace('~', "~0").replace('/', "~1"));
            let member = call("json_extract_string", vec![Expr::Identifier(Ident::new(RECORD)), text(pointer)]);
            SelectItem::ExprWithAlias { expr: cast_to(member, data_type.clone()), alias: column.clone() }
        })
        .collect();
    let mut new_alias = alias.clone();
    new_alias.columns =
        columns.into_iter().map(|(name, _)| sqlparser::ast::TableAliasColumnDef { name, data_type: None }).collect();
    *factor = TableFactor::Derived { lateral: false, subquery: query, alias: Some(new_alias), sample: None };
    true
}
