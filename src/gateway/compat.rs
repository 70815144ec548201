//! PostgreSQL spellings clients send, rewritten into what the engine understands:
//!
//! - session functions (`version()`, `current_setting(…)`, `current_user` …) answered from the
//!   session (DuckDB's `version()` is "v1.5.5", which drivers cannot parse);
//! - catalog functions (`format_type`, `pg_get_indexdef`, `obj_description` …) as expressions or
//!   subqueries over the server's catalog relations;
//! - `::regclass`/`::regtype`/`::regnamespace` casts, `OPERATOR(pg_catalog.~)`, `~`/`!~`,
//!   `COLLATE pg_catalog.default`, `= ANY(array)`.
//!
//! Everything here runs after the client's statement passed the gateway's checks; the SQL it adds
//! is the server's own.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Statement,
    UnaryOperator, Value, ValueWithSpan, VisitMut, VisitorMut,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::query::name_parts;
use super::settings::{SERVER_VERSION, SessionSettings};
use crate::error::{Error, Result, SqlState};

/// What the session functions answer.
pub struct CompatValues<'a> {
    pub settings: &'a SessionSettings,
    pub user: &'a str,
    pub database: &'a str,
    pub backend_pid: i32,
}

pub fn version_string() -> String {
    format!("PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, compiled by rustc, 64-bit")
}

/// The PostgreSQL functions this module answers (so the gateway lets clients call them).
pub const COMPAT_FUNCTIONS: &[&str] = &[
    "version",
    "current_user",
    "session_user",
    "user",
    "current_role",
    "getpgusername",
    "current_database",
    "current_catalog",
    "current_schema",
    "current_schemas",
    "pg_backend_pid",
    "current_setting",
    "format_type",
    "pg_get_userbyid",
    "pg_table_is_visible",
    "pg_function_is_visible",
    "pg_type_is_visible",
    "pg_get_ruledef",
    "pg_collation_is_visible",
    "obj_description",
    "col_description",
    "shobj_description",
    "pg_get_expr",
    "pg_get_indexdef",
    "pg_get_constraintdef",
    "pg_encoding_to_char",
    "pg_size_pretty",
    "pg_table_size",
    "pg_total_relation_size",
    "pg_relation_size",
    "pg_get_function_result",
    "pg_get_function_arguments",
    "pg_get_function_identity_arguments",
    "pg_get_statisticsobjdef_columns",
    "pg_relation_is_publishable",
    "to_regtype",
    "to_regclass",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "has_column_privilege",
    "has_any_column_privilege",
    "has_function_privilege",
    "has_sequence_privilege",
    "has_type_privilege",
    "has_language_privilege",
    "pg_get_partkeydef",
    "pg_is_other_temp_schema",
    "pg_tablespace_location",
    "pg_stat_get_numscans",
    "pg_client_encoding",
    "pg_conf_load_time",
    "getdatabaseencoding",
    "pg_get_serial_sequence",
    "pg_is_in_recovery",
    "pg_get_viewdef",
    "array_upper",
    "array_lower",
    "quote_ident",
    "pg_postmaster_start_time",
    "txid_current",
    "json_build_object",
    "_pg_expandarray",
    "generate_subscripts",
    "array_dims",
    // gateway::jsonb_rewrite
    "jsonb_set",
    "jsonb_strip_nulls",
    "jsonb_pretty",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "array_remove",
    "array_replace",
    // gateway::byte_functions
    "decode",
    "convert_to",
    "convert_from",
    "get_byte",
    "regexp_match",
    "regexp_matches",
    "regexp_split_to_table",
    // number and json functions answered here and in gateway::jsonb_rewrite
    "width_bucket",
    "to_number",
    "justify_hours",
    "justify_days",
    "justify_interval",
    "json_strip_nulls",
    "jsonb_object",
];

pub fn is_compat_function(name: &str) -> bool {
    COMPAT_FUNCTIONS.contains(&name)
}

pub fn rewrite_functions(statement: &mut Statement, values: &CompatValues<'_>) -> Result<()> {
    let mut rewriter = Rewriter { values, seen_query: false };
    match statement.visit(&mut rewriter) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Rewriter<'a, 'b> {
    values: &'a CompatValues<'b>,
    /// The outermost query was visited (see `show_reg_items`).
    seen_query: bool,
}

/// Words whose presence in a text means it may call a session function (a cheap test before
/// parsing a workspace statement).
pub const SESSION_FUNCTION_WORDS: &[&str] = &[
    "version",
    "current_setting",
    "pg_backend_pid",
    "current_user",
    "session_user",
    "current_database",
    "current_catalog",
    "regtype",
    "regnamespace",
    "pg_client_encoding",
    "getdatabaseencoding",
    "pg_postmaster_start_time",
    "pg_conf_load_time",
    "pg_is_in_recovery",
    // (and `current_schemas`)
    "current_schema",
    "format_type",
];

/// A storage statement's select items that are session values (`current_user`,
/// `current_database()`, …) keep PostgreSQL's column name: the rewrite answers them as literals,
/// which DuckDB would name after their text. (Naming leaves them alone: DuckDB reads an alias of
/// such a name as the call itself.)
pub(super) fn name_session_values(statement: &mut Statement) {
    use sqlparser::ast::{SelectItem, SetExpr};
    let Statement::Query(query) = statement else { return };
    let SetExpr::Select(select) = query.body.as_mut() else { return };
    for item in &mut select.projection {
        let SelectItem::UnnamedExpr(expr) = item else { continue };
        let name = match &*expr {
            Expr::Identifier(i) if i.quote_style.is_none() => i.value.to_ascii_lowercase(),
            Expr::Function(f) if expr_args(&f.args).is_some_and(|a| a.is_empty()) => {
                match name_parts(&f.name).as_deref() {
                    Some([name]) | Some([_, name]) => name.to_owned(),
                    _ => continue,
                }
            }
            _ => continue,
        };
        if matches!(
            name.as_str(),
            "current_user"
                | "session_user"
                | "user"
                | "current_role"
                | "current_database"
                | "current_catalog"
                | "current_schema"
        ) {
            let expr = std::mem::replace(expr, Expr::value(Value::Null));
            *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', name) };
        }
    }
}

/// The column name PostgreSQL gives a session function's call.
fn session_function_name(e: &Expr) -> Option<String> {
    let name = match e {
        Expr::Identifier(i) if i.quote_style.is_none() => i.value.to_ascii_lowercase(),
        Expr::Function(f) => name_parts(&f.name)?.last()?.clone(),
        _ => return None,
    };
    SESSION_FUNCTION_WORDS.contains(&name.as_str()).then_some(name)
}

/// A workspace statement's session functions answered from the session, as in a storage session
/// (`version()`, `pg_catalog.version()`, `current_setting('…')`, `current_user`,
/// `current_database()`, `pg_backend_pid()`); DuckDB's own answers are other ones ("v1.5.5",
/// its catalog's name). `current_setting` of a name that is not one of PostgreSQL's parameters
/// stays DuckDB's. Nothing else is touched. Answers whether anything changed.
pub fn rewrite_session_functions(statement: &mut Statement, values: &CompatValues<'_>) -> Result<bool> {
    struct Session<'a, 'b> {
        rewriter: Rewriter<'a, 'b>,
        changed: bool,
    }
    impl VisitorMut for Session<'_, '_> {
        type Break = Error;
        fn pre_visit_query(&mut self, query: &mut sqlparser::ast::Query) -> ControlFlow<Error> {
            if !self.rewriter.seen_query {
                self.rewriter.seen_query = true;
                match self.rewriter.show_reg_items(query, true) {
                    Ok(changed) => self.changed |= changed,
                    Err(e) => return ControlFlow::Break(e),
                }
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
            let replacement = match expr {
                Expr::Identifier(ident) if ident.quote_style.is_none() => {
                    let name = ident.value.to_ascii_lowercase();
                    match name.as_str() {
                        "current_user" | "session_user" | "current_catalog" => self.rewriter.session_value(&name),
                        // (DuckDB reads the bare word as a column, then as the select item's alias)
                        "current_schema" => Some(call("current_schema", vec![])),
                        _ => None,
                    }
                }
                // a schema's written name that is no identifier (PostgreSQL's 42602)
                Expr::Cast { expr: inner, data_type, .. }
                    if data_type.to_string().to_lowercase().trim_start_matches("pg_catalog.") == "regnamespace"
                        && string_literal(inner).is_some_and(|name| identifier_text(name).is_none()) =>
                {
                    return ControlFlow::Break(
                        Error::invalid("invalid name syntax").with_sqlstate(SqlState::InvalidName),
                    );
                }
                // DuckDB has no regtype: `oid::regtype` is the type's name, `'int4'::regtype` its oid
                Expr::Cast { expr: inner, data_type, .. }
                    if data_type.to_string().to_lowercase().trim_start_matches("pg_catalog.") == "regtype" =>
                {
                    match string_literal(inner) {
                        Some(name) => Some(match super::functions::postgres_type_oid(name) {
                            Some(oid) => number(oid),
                            None => call("to_regtype", vec![(**inner).clone()]),
                        }),
                        None => Some(call("duckstore_format_type", vec![(**inner).clone(), null()])),
                    }
                }
                Expr::Function(f) => {
                    let Some(parts) = name_parts(&f.name) else { return ControlFlow::Continue(()) };
                    let name = match parts.as_slice() {
                        [name] => name.as_str(),
                        [schema, name] if schema == "pg_catalog" => name.as_str(),
                        _ => return ControlFlow::Continue(()),
                    };
                    let args = expr_args(&f.args);
                    match (name, args) {
                        ("current_user" | "session_user" | "current_database" | "current_catalog", Some(a))
                            if a.is_empty() =>
                        {
                            self.rewriter.session_value(name)
                        }
                        (
                            "version"
                            | "pg_backend_pid"
                            | "pg_client_encoding"
                            | "getdatabaseencoding"
                            | "pg_postmaster_start_time"
                            | "pg_conf_load_time"
                            | "pg_is_in_recovery",
                            Some(a),
                        ) if a.is_empty() => match self.rewriter.function(name, a) {
                            Ok(e) => e,
                            Err(e) => return ControlFlow::Break(e),
                        },
                        // DuckDB's path, without the schemas it searches implicitly (`main` of
                        // the temporary, the workspace's and the system catalog); PostgreSQL's
                        // only implicit one is pg_catalog
                        ("current_schemas", Some(a)) if a.len() == 1 => match template(
                            "list_concat(CASE WHEN __arg0 THEN ['pg_catalog'] ELSE [] END, current_schemas(false))",
                            &a,
                        ) {
                            Ok(e) => Some(e),
                            Err(e) => return ControlFlow::Break(e),
                        },
                        // PostgreSQL's type names (DuckDB's format_type knows its own types)
                        ("format_type", Some(a)) if a.len() == 2 => Some(call("duckstore_format_type", a)),
                        // a type of PostgreSQL's own by its written name (the session's
                        // to_regtype macro knows duckstore's column types only)
                        ("to_regtype", Some(a)) if a.len() == 1 => {
                            a.first().and_then(string_literal).and_then(super::functions::postgres_type_oid).map(number)
                        }
                        // DuckDB's own settings (`memory_limit`) stay readable as DuckDB answers;
                        // with `missing_ok` (PostgreSQL's second argument) any name is answered as
                        // a storage session answers it, NULL where PostgreSQL has no such setting
                        ("current_setting", Some(a))
                            if a.len() == 2
                                || a.first().and_then(string_literal).is_some_and(super::settings::is_parameter) =>
                        {
                            match self.rewriter.function(name, a) {
                                Ok(e) => e,
                                Err(e) => return ControlFlow::Break(e),
                            }
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(replacement) = replacement {
                *expr = replacement;
                self.changed = true;
            }
            ControlFlow::Continue(())
        }
    }
    // `SELECT version()` names its column "version", in PostgreSQL as before the rewrite
    if let Statement::Query(query) = &mut *statement
        && let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut()
    {
        for item in &mut select.projection {
            if let sqlparser::ast::SelectItem::UnnamedExpr(e) = item
                && let Some(name) = session_function_name(e)
            {
                *item = sqlparser::ast::SelectItem::ExprWithAlias { expr: e.clone(), alias: Ident::new(name) };
            }
        }
    }
    let mut visitor = Session { rewriter: Rewriter { values, seen_query: false }, changed: false };
    match statement.visit(&mut visitor) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(visitor.changed),
    }
}

pub(super) fn text(s: impl Into<String>) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(s.into())))
}

fn number(n: impl ToString) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Number(n.to_string(), false)))
}

fn boolean(b: bool) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Boolean(b)))
}

pub(super) fn null() -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Null))
}

/// `body` over `operands`, each evaluated once: `body` names them `duckstore_operands.a0`, … (see
/// [`operand`]). A template
/// that named an operand twice would copy it, and an operand nested in the same function
/// (`format(format(…))`) would grow the text the engine binds exponentially (nine levels of a
/// copying `concat` took 14 s). The operands ride in a one-element list of one struct. (Fixed
/// shapes are macros instead, see `exec::macros_sql`: a macro's body is not in the parse tree.)
pub(super) fn with_operands(body: &str, operands: Vec<Expr>) -> Result<Expr> {
    let fields: Vec<String> = (0..operands.len()).map(|i| format!("a{i} := __arg{i}")).collect();
    // (a column of the client's query named as the lambda's parameter would be read in its
    // place: the parameter has a name no client writes by accident)
    template(&format!("list_transform([struct_pack({})], {OPERANDS} -> {body})[1]", fields.join(", ")), &operands)
}

/// The lambda parameter of [`with_operands`].
const OPERANDS: &str = "duckstore_operands";

/// How a [`with_operands`] body names its operand `i`.
pub(super) fn operand(i: usize) -> String {
    format!("{OPERANDS}.a{i}")
}

/// A NULL of type text (a bare NULL is an integer to DuckDB).
fn text_null() -> Expr {
    cast_to(null(), DataType::Varchar(None))
}

/// The name an identifier written in a string means (`'"In.x"'` → `In.x`, `'Pg_Catalog'` →
/// `pg_catalog`), as PostgreSQL's reg* input reads one; None for anything else (a dotted or
/// otherwise improper name).
fn identifier_text(written: &str) -> Option<String> {
    let written = written.trim();
    if let Some(quoted) = written.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        let mut name = String::new();
        let mut chars = quoted.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                // inside, a quote is only ever doubled
                if chars.next() != Some('"') {
                    return None;
                }
            }
            name.push(c);
        }
        return (!name.is_empty()).then_some(name);
    }
    let plain = !written.is_empty()
        && !written.starts_with(|c: char| c.is_ascii_digit() || c == '$')
        && written.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    plain.then(|| written.to_lowercase())
}

pub(super) fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Parses a server-written SQL expression and puts `args[i]` where it says `__arg{i}`.
fn template(sql: &str, args: &[Expr]) -> Result<Expr> {
    struct Fill<'a>(&'a [Expr]);
    impl VisitorMut for Fill<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::Identifier(i) = expr
                && let Some(n) = i.value.strip_prefix("__arg").and_then(|n| n.parse::<usize>().ok())
                && let Some(arg) = self.0.get(n)
            {
                *expr = Expr::Nested(Box::new(arg.clone()));
            }
            ControlFlow::Continue(())
        }
    }
    let mut expr =
        with_stack_room(|| Parser::new(&DuckDbDialect {}).try_with_sql(sql).and_then(|mut p| p.parse_expr()))
            .map_err(|e| Error::internal("rewriting a catalog function", e))?;
    let _ = expr.visit(&mut Fill(args));
    Ok(expr)
}

/// Runs `f` (a template's parse, a rewrite's large frame) with stack to spare: the rewrite
/// reaches a template at the depth of the client's expression (an `OR` chain of `x::regclass`
/// is a thousand frames deep), where the parser's own recursion would overflow the thread's
/// stack between its checks.
fn with_stack_room<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(512 * 1024, 8 * 1024 * 1024, f)
}

pub(super) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(sqlparser::ast::Function {
        name: sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(sqlparser::ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a))).collect(),
            clauses: vec![],
        }),
        within_group: vec![],
        filter: None,
        null_treatment: None,
        over: None,
    })
}

pub(super) fn expr_args(args: &FunctionArguments) -> Option<Vec<Expr>> {
    match args {
        FunctionArguments::None => Some(vec![]),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        FunctionArguments::Subquery(_) => None,
    }
}

/// The elements of a one-dimensional array in PostgreSQL's text form (`{a,"b c",NULL}`); None
/// for text that is not one (or has more dimensions).
pub fn parse_pg_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    if inner.trim().is_empty() {
        return Some(items);
    }
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '{' | '}' | '"' => return None,
                    '\\' => {
                        chars.next();
                        value.push(chars.next()?);
                    }
                    c => {
                        value.push(c);
                        chars.next();
                    }
                }
            }
            let trimmed = value.trim_end().to_owned();
            if trimmed.is_empty() {
                return None;
            }
            value = trimmed;
        }
        items.push(if !quoted && value.eq_ignore_ascii_case("null") { None } else { Some(value) });
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// Whether a divisor is checked for zero. A non-zero number needs no check. Nor does one holding
/// an uncast `$n`: the check's `= 0` would make DuckDB infer the parameter as an integer
/// (`10.0 / $1` would refuse "2.5"), so such a division keeps DuckDB's NULL for zero.
fn checked_divisor(e: &Expr) -> bool {
    let nonzero = matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<f64>().is_ok_and(|f| f != 0.0)));
    !nonzero && !uncast_parameter(e)
}

/// Whether an expression holds a `$n` not cast to a type (whose type DuckDB infers from where
/// it stands).
fn uncast_parameter(e: &Expr) -> bool {
    !matches!(e, Expr::Cast { .. }) && !placeholders(e).is_empty()
}

/// The `$n` parameters an expression uses.
fn placeholders(e: &Expr) -> Vec<String> {
    let mut found = Vec::new();
    let _ = sqlparser::ast::visit_expressions(e, |e| {
        if let Expr::Value(v) = e
            && let Value::Placeholder(p) = &v.value
        {
            found.push(p.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// A function's replacement that no longer uses an argument holding a `$n` parameter still
/// mentions it, in a branch that changes nothing: a client binds a value for every parameter
/// it wrote, and the engine counts the parameters of the statement it runs.
fn keep_parameters(replacement: Expr, args: &[Expr]) -> Expr {
    let kept = placeholders(&replacement);
    let dropped: Vec<&Expr> = args.iter().filter(|a| placeholders(a).iter().any(|p| !kept.contains(p))).collect();
    if dropped.is_empty() {
        return replacement;
    }
    let mut sql = String::from("coalesce(__arg0");
    for i in 1..=dropped.len() {
        sql.push_str(&format!(", CASE WHEN __arg{i} IS NULL THEN NULL END"));
    }
    sql.push(')');
    let mut fill = vec![replacement.clone()];
    fill.extend(dropped.into_iter().cloned());
    template(&sql, &fill).unwrap_or(replacement)
}

fn regex(left: Expr, right: Expr, insensitive: bool, negated: bool) -> Expr {
    let mut args = vec![left, right];
    if insensitive {
        args.push(text("i"));
    }
    let matches = call("regexp_matches", args);
    if negated {
        Expr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(matches))) }
    } else {
        matches
    }
}

impl Rewriter<'_, '_> {
    /// The schemas whose relations an unqualified name finds, in order: `pg_catalog`, the
    /// session's search path (`$user` is the session's user), then `main` (a workspace's
    /// schema, where DuckDB's own path resolves names; no storage schema has that name).
    fn visible_schemas(&self) -> Expr {
        let path = self.values.settings.get("search_path").unwrap_or_default();
        let mut schemas = vec!["pg_catalog".to_owned()];
        for schema in super::settings::parse_search_path(path) {
            schemas.push(if schema == "$user" { self.values.user.to_owned() } else { schema });
        }
        schemas.push("main".to_owned());
        Expr::Array(sqlparser::ast::Array { elem: schemas.into_iter().map(text).collect(), named: false })
    }

    fn session_value(&self, name: &str) -> Option<Expr> {
        Some(match name {
            "current_user" | "session_user" | "user" | "current_role" | "getpgusername" => text(self.values.user),
            "current_database" | "current_catalog" => text(self.values.database),
            // the first schema of the path (`$user`: no schema has a user's name)
            "current_schema" => match self.values.settings.search_path().into_iter().find(|s| s != "$user") {
                Some(schema) => text(schema),
                None => text_null(),
            },
            _ => return None,
        })
    }

    fn function(&self, name: &str, args: Vec<Expr>) -> Result<Option<Expr>> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_else(null);
        let expr = match name {
            "version" => text(version_string()),
            "pg_backend_pid" => number(self.values.backend_pid),
            "current_schemas" => {
                // `false`: without the schemas searched implicitly (pg_catalog)
                let implicit = !matches!(args.first(), Some(Expr::Value(v)) if v.value == Value::Boolean(false));
                let mut schemas = if implicit { vec![text("pg_catalog")] } else { vec![] };
                schemas.extend(self.values.settings.search_path().into_iter().map(text));
                Expr::Array(sqlparser::ast::Array { elem: schemas, named: false })
            }
            "current_setting" if args.first().and_then(string_literal).is_none() => {
                // A parameter or expression: every setting the session knows, as a CASE.
                let mut sql = String::from("CASE lower(CAST(__arg0 AS VARCHAR))");
                for (name, value) in self.values.settings.all() {
                    sql.push_str(&format!(" WHEN '{}' THEN '{}'", name.replace('\'', "''"), value.replace('\'', "''")));
                }
                sql.push_str(" END");
                template(&sql, &args)?
            }
            "current_setting" => {
                let setting = args.first().and_then(string_literal).expect("checked above");
                let missing_ok = matches!(args.get(1), Some(Expr::Value(v)) if v.value == Value::Boolean(true));
                match self.values.settings.get(setting) {
                    Some(v) => text(v),
                    None if missing_ok => text_null(),
                    None => {
                        return Err(Error::not_found(format!("unrecognized configuration parameter \"{setting}\""))
                            .with_sqlstate(SqlState::UndefinedObject));
                    }
                }
            }
            "format_type" => call("duckstore_format_type", vec![arg(0), arg(1)]),
            "to_regtype" => match args.first().and_then(string_literal).and_then(super::functions::postgres_type_oid) {
                Some(oid) => number(oid),
                None => call("duckstore_to_regtype", vec![arg(0)]),
            },
            "to_regclass" => match args.first().and_then(string_literal) {
                Some(name) => self.relation_oid(name)?,
                None => template(&lookup("oid", "relname", None, "pg_catalog.pg_class"), &args)?,
            },
            "pg_get_userbyid" => text("duckstore"),
            "pg_table_is_visible" => template(
                &format!("list_contains(__arg1, {})", lookup("n.nspname", "c.oid", None, CLASS_WITH_NAMESPACE)),
                &[arg(0), self.visible_schemas()],
            )?,
            "pg_type_is_visible" => template(
                &format!("list_contains(__arg1, {})", lookup("n.nspname", "t.oid", None, TYPE_WITH_NAMESPACE)),
                &[arg(0), self.visible_schemas()],
            )?,
            // a view's `_RETURN` rule (the only rules there are): its query, as PostgreSQL prints it
            "pg_get_ruledef" => {
                let pretty = matches!(args.get(1), Some(Expr::Value(v)) if v.value == Value::Boolean(true));
                let query = if pretty { "d.pretty" } else { "d.def" };
                let definition = format!(
                    "'CREATE RULE \"_RETURN\" AS' || chr(10) || '    ON SELECT TO ' || CASE WHEN list_contains(__arg1, n.nspname) \
                     THEN {QUOTED_RELNAME} ELSE {QUOTED_NSPNAME} || '.' || {QUOTED_RELNAME} END || ' DO INSTEAD ' || {query}"
                );
                template(
                    &lookup(
                        &definition,
                        "r.oid",
                        None,
                        "pg_catalog.pg_rewrite r JOIN pg_catalog.duckstore_view_defs d ON d.oid = r.ev_class \
                         JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
                    ),
                    &[arg(0), self.visible_schemas()],
                )?
            }
            "pg_function_is_visible"
            | "pg_collation_is_visible"
            | "has_table_privilege"
            | "has_schema_privilege"
            | "has_database_privilege"
            | "has_column_privilege"
            | "has_any_column_privilege"
            | "has_function_privilege"
            | "has_sequence_privilege"
            | "has_type_privilege"
            | "has_language_privilege" => boolean(true),
            // nothing is partitioned, temporary in another session, or in another tablespace;
            // scans of indexes are not counted
            "pg_get_partkeydef" => text_null(),
            "pg_is_other_temp_schema" => boolean(false),
            "pg_tablespace_location" => text(""),
            "pg_stat_get_numscans" => cast_to(number(0), DataType::BigInt(None)),
            "pg_client_encoding" | "getdatabaseencoding" => text("UTF8"),
            "pg_conf_load_time" | "pg_postmaster_start_time" => cast_to(
                text(crate::gateway::settings::server_start_text()),
                DataType::Timestamp(None, sqlparser::ast::TimezoneInfo::WithTimeZone),
            ),
            "pg_is_in_recovery" | "pg_relation_is_publishable" => boolean(false),
            "obj_description" | "shobj_description" => {
                template(&lookup("description", "objoid", Some("objsubid = 0"), "pg_catalog.pg_description"), &args)?
            }
            "col_description" => {
                template(&lookup("description", "objoid", Some("objsubid"), "pg_catalog.pg_description"), &args)?
            }
            // (`pg_get_viewdef(v, true)`: the pretty form)
            "pg_get_viewdef" => {
                let pretty = matches!(args.get(1), Some(Expr::Value(v)) if v.value == Value::Boolean(true));
                let column = if pretty { "pretty" } else { "def" };
                template(&lookup(column, "oid", None, "pg_catalog.duckstore_view_defs"), &args[..args.len().min(1)])?
            }
            "pg_get_expr" => Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(arg(0)),
                data_type: DataType::Varchar(None),
                format: None,
            },
            "pg_get_indexdef" => {
                let column = if args.len() > 1 { arg(1) } else { number(0) };
                template(&lookup("def", "oid", Some("colnum"), "pg_catalog.duckstore_index_defs"), &[arg(0), column])?
            }
            // (`pg_get_constraintdef(c, true)`: the pretty form; the flag may be a parameter)
            "pg_get_constraintdef" => match args.as_slice() {
                [_, _] => template(
                    &lookup(
                        "CASE WHEN __arg1 THEN pretty ELSE def END",
                        "oid",
                        None,
                        "pg_catalog.duckstore_constraint_defs",
                    ),
                    &args,
                )?,
                _ => template(&lookup("def", "oid", None, "pg_catalog.duckstore_constraint_defs"), &args)?,
            },
            // PostgreSQL's encoding names by number ('' for none)
            "pg_encoding_to_char" => {
                let names = Expr::Array(sqlparser::ast::Array {
                    elem: ENCODINGS.iter().map(|n| text(*n)).collect(),
                    named: false,
                });
                let code = cast_to(arg(0), DataType::BigInt(None));
                let plus_one =
                    Expr::BinaryOp { left: Box::new(code), op: BinaryOperator::Plus, right: Box::new(number(1)) };
                call("coalesce", vec![call("list_extract", vec![names, plus_one]), text("")])
            }
            "pg_size_pretty" => call("format_bytes", vec![arg(0)]),
            "pg_table_size" | "pg_total_relation_size" | "pg_relation_size" => {
                const SIZE: &str = "CAST(relpages AS BIGINT) * 8192";
                match args.first().and_then(string_literal) {
                    // a relation's name, as a regclass reads it (one look-up: no oid between)
                    Some(name) => {
                        let (schema, relation) = relation_name(name);
                        let (schema, relation) = (schema.as_deref(), relation.as_str());
                        let found = match schema {
                            Some(schema) => template(
                                &lookup(SIZE, "c.relname", Some("n.nspname"), CLASS_WITH_NAMESPACE),
                                &[text(relation), text(schema)],
                            )?,
                            None => template(
                                &lookup(
                                    SIZE,
                                    "c.relname",
                                    Some("list_contains(__arg1, n.nspname)"),
                                    CLASS_WITH_NAMESPACE,
                                ),
                                &[text(relation), self.visible_schemas()],
                            )?,
                        };
                        let missing = format!("relation \"{}\" does not exist", name.replace('"', ""));
                        call("coalesce", vec![found, call("error", vec![text(missing)])])
                    }
                    None => template(&lookup(SIZE, "oid", None, "pg_catalog.pg_class"), &args)?,
                }
            }
            "pg_get_function_result" | "pg_get_function_arguments" | "pg_get_function_identity_arguments" => text(""),
            "pg_get_statisticsobjdef_columns" | "pg_get_serial_sequence" => cast_to(null(), DataType::Text),
            "array_upper" => call("len", vec![arg(0)]),
            "array_lower" => number(1),
            "json_build_object" => call("json_object", args),
            // A set of (x = element, n = 1-based position), as information_schema._pg_expandarray.
            "_pg_expandarray" => template(
                "unnest(list_transform(range(len(__arg0)), duckstore_i -> struct_pack(x := __arg0[duckstore_i + 1], \
                 n := CAST(duckstore_i + 1 AS INTEGER))))",
                &args,
            )?,
            // a list has one dimension: other dimensions have no subscripts, as in PostgreSQL
            "generate_subscripts" => template(
                "unnest(CAST(range(1, CASE WHEN __arg1 = 1 THEN len(__arg0) + 1 ELSE 1 END) AS INTEGER[]))",
                &[arg(0), arg(1)],
            )?,
            "txid_current" => number(1),
            _ => return Ok(None),
        };
        Ok(Some(expr))
    }

    /// `x::regclass` and friends.
    /// The OID of the relation a written name (`s.t`, `"s".t`, `t`) names, NULL when none: in
    /// its schema, or the first schema of the search path holding it, as PostgreSQL finds it.
    fn relation_oid(&self, name: &str) -> Result<Expr> {
        let (schema, relation) = relation_name(name);
        let (schema, relation) = (schema.as_deref(), relation.as_str());
        match schema {
            Some(schema) => template(
                "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = __arg0 AND n.nspname = __arg1 LIMIT 1)",
                &[text(relation), text(schema)],
            ),
            None => template(
                "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = __arg0 AND list_contains(__arg1, n.nspname) \
                 ORDER BY list_position(__arg1, n.nspname) LIMIT 1)",
                &[text(relation), self.visible_schemas()],
            ),
        }
    }

    /// The outermost select list's reg* values of written names, shown (see
    /// [`Self::shown_reg_value`]).
    /// `types_only`: regtype values alone (a workspace's engine has no catalog relations).
    fn show_reg_items(&self, query: &mut sqlparser::ast::Query, types_only: bool) -> Result<bool> {
        let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return Ok(false) };
        let mut changed = false;
        for item in &mut select.projection {
            let (sqlparser::ast::SelectItem::UnnamedExpr(e)
            | sqlparser::ast::SelectItem::ExprWithAlias { expr: e, .. }) = item
            else {
                continue;
            };
            if let Some(shown) = self.shown_reg_value(e, types_only)? {
                *e = shown;
                changed = true;
            }
        }
        Ok(changed)
    }

    /// A select item that is a reg* value of a written name (`'int4'::regtype`,
    /// `'s.t'::regclass::text`, `to_regclass('s.t')`) as PostgreSQL prints it: the name, not the
    /// OID the engine compares (the cast elsewhere stays an OID).
    fn shown_reg_value(&self, item: &Expr, types_only: bool) -> Result<Option<Expr>> {
        let reg_type = |data_type: &DataType| {
            let written = data_type.to_string().to_lowercase();
            let target = written.strip_prefix("pg_catalog.").unwrap_or(&written).to_owned();
            matches!(target.as_str(), "regclass" | "regtype" | "regnamespace").then_some(target)
        };
        let value = match item {
            Expr::Cast { data_type: DataType::Text | DataType::Varchar(None), expr, .. } => expr.as_ref(),
            other => other,
        };
        let (target, oid) = match value {
            Expr::Cast { data_type, expr, .. } if string_literal(expr).is_some() => {
                let Some(target) = reg_type(data_type) else { return Ok(None) };
                let Some(oid) = self.cast(expr, data_type)? else { return Ok(None) };
                (target, oid)
            }
            Expr::Function(f) => {
                let target = match pg_function_name(f).as_deref() {
                    Some("to_regclass") => "regclass",
                    Some("to_regtype") => "regtype",
                    _ => return Ok(None),
                };
                let args = expr_args(&f.args).unwrap_or_default();
                let [name] = args.as_slice() else { return Ok(None) };
                if string_literal(name).is_none() {
                    return Ok(None);
                }
                let Some(oid) = self.function(&format!("to_{target}"), args.clone())? else { return Ok(None) };
                (target.to_owned(), oid)
            }
            _ => return Ok(None),
        };
        if types_only && target != "regtype" {
            return Ok(None);
        }
        let as_type = DataType::Custom(ObjectName::from(vec![Ident::new(&target)]), vec![]);
        // (the OID expression is no literal: the cast of it is the name's display)
        self.cast(&Expr::Nested(Box::new(oid)), &as_type)
    }

    fn cast(&self, inner: &Expr, data_type: &DataType) -> Result<Option<Expr>> {
        let written = data_type.to_string().to_lowercase();
        let target = written.strip_prefix("pg_catalog.").unwrap_or(&written).trim_matches('"');
        let literal = string_literal(inner);
        // an int2vector or oidvector as text is its numbers with spaces between (`1 2`)
        if matches!(target, "text" | "varchar") && counts_from_zero(inner) {
            return Ok(Some(call("array_to_string", vec![inner.clone(), text(" ")])));
        }
        // A bound parameter is text, as PostgreSQL casts it: a name to look up.
        let is_parameter = matches!(inner, Expr::Value(v) if matches!(v.value, Value::Placeholder(_)));
        // `'{r,p}'::"char"[]`: PostgreSQL's array text becomes a list of its elements
        if let (Some(text_form), DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(element, _))) =
            (literal, data_type)
            && text_form.trim_start().starts_with('{')
        {
            let items = parse_pg_array(text_form).ok_or_else(|| {
                Error::invalid(format!("malformed array literal: \"{text_form}\""))
                    .with_sqlstate(SqlState::InvalidTextRepresentation)
            })?;
            let element_name = element.to_string().to_lowercase();
            let element_name = element_name.strip_prefix("pg_catalog.").unwrap_or(&element_name).trim_matches('"');
            let element = if ["char", "name", "bpchar", "text", "varchar"].contains(&element_name) {
                DataType::Varchar(None)
            } else {
                (**element).clone()
            };
            let elem = items.into_iter().map(|i| i.map_or_else(null, text)).collect();
            return Ok(Some(Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(Expr::Array(sqlparser::ast::Array { elem, named: false })),
                data_type: DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(Box::new(element), None)),
                format: None,
            }));
        }
        // `proargtypes::regtype[]` (pgcli's function list): the types' names
        if target == "regtype[]" && literal.is_none() {
            return Ok(Some(template(
                &format!("list_transform(__arg0, {OPERANDS} -> duckstore_format_type({OPERANDS}, NULL))"),
                std::slice::from_ref(inner),
            )?));
        }
        let expr = match (target, literal) {
            ("regclass", None) if is_parameter => {
                template(&lookup("oid", "relname", None, "pg_catalog.pg_class"), std::slice::from_ref(inner))?
            }
            ("regtype", None) if is_parameter => call("duckstore_to_regtype", vec![inner.clone()]),
            ("regclass", Some(name)) => {
                // a name that finds nothing is an error (42P01), not a NULL
                let missing = format!("relation \"{}\" does not exist", name.replace('"', ""));
                call("coalesce", vec![self.relation_oid(name)?, call("error", vec![text(missing)])])
            }
            // a relation's name as PostgreSQL prints it: qualified when its schema is not on the
            // search path, quoted where needed; an OID that names nothing prints as the number
            ("regclass", None) => template(
                &format!(
                    "coalesce({}, CAST(__arg0 AS VARCHAR))",
                    lookup(
                        &format!(
                            "CASE WHEN list_contains(__arg1, n.nspname) THEN {QUOTED_RELNAME} \
                             ELSE {QUOTED_NSPNAME} || '.' || {QUOTED_RELNAME} END"
                        ),
                        "c.oid",
                        None,
                        CLASS_WITH_NAMESPACE,
                    )
                ),
                &[inner.clone(), self.visible_schemas()],
            )?,
            // a type of PostgreSQL's own is its OID; an alias (`integer`) the macro knows
            ("regtype", Some(name)) => match super::functions::postgres_type_oid(name) {
                Some(oid) => number(oid),
                None => call("duckstore_to_regtype", vec![inner.clone()]),
            },
            ("regtype", None) => call("duckstore_format_type", vec![inner.clone(), null()]),
            // a schema's name as PostgreSQL prints it, quoted where needed
            ("regnamespace", None) => template(
                &lookup(QUOTED_NSPNAME, "n.oid", None, "pg_catalog.pg_namespace n"),
                std::slice::from_ref(inner),
            )?,
            // a schema's name is its OID, as PostgreSQL reads it: an identifier (quoted or folded)
            ("regnamespace", Some(name)) => {
                let schema = identifier_text(name)
                    .ok_or_else(|| Error::invalid("invalid name syntax").with_sqlstate(SqlState::InvalidName))?;
                let missing = format!("schema \"{schema}\" does not exist");
                call(
                    "coalesce",
                    vec![
                        template(&lookup("oid", "nspname", None, "pg_catalog.pg_namespace"), &[text(&schema)])?,
                        call("error", vec![text(&missing)]),
                    ],
                )
            }
            ("regproc" | "regprocedure", Some(name)) => text(name.rsplit('.').next().unwrap_or(name)),
            ("regproc" | "regprocedure" | "regrole", _) => Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(inner.clone()),
                data_type: DataType::Varchar(None),
                format: None,
            },
            ("oid" | "xid", _) => Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(inner.clone()),
                data_type: DataType::BigInt(None),
                format: None,
            },
            ("text" | "name" | "char" | "varchar" | "bpchar", _)
                if written.starts_with("pg_catalog.") || target == "name" || target == "char" =>
            {
                Expr::Cast {
                    kind: sqlparser::ast::CastKind::DoubleColon,
                    expr: Box::new(inner.clone()),
                    data_type: DataType::Varchar(None),
                    format: None,
                }
            }
            ("int2vector" | "int2[]", _) => Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(inner.clone()),
                data_type: DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(
                    Box::new(DataType::SmallInt(None)),
                    None,
                )),
                format: None,
            },
            ("oidvector" | "oid[]", _) => Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(inner.clone()),
                data_type: DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(
                    Box::new(DataType::BigInt(None)),
                    None,
                )),
                format: None,
            },
            _ => return Ok(None),
        };
        Ok(Some(expr))
    }
}

impl VisitorMut for Rewriter<'_, '_> {
    type Break = Error;

    fn pre_visit_query(&mut self, query: &mut sqlparser::ast::Query) -> ControlFlow<Error> {
        expand_set_returning_items(query);
        refuse_negative_offset(query);
        fetch_with_ties_as_qualify(query);
        nothing_selected_as_hidden_column(query);
        // (the outermost select list only: a subquery's reg* values are compared as OIDs)
        if !self.seen_query {
            self.seen_query = true;
            if let Err(e) = self.show_reg_items(query, false) {
                return ControlFlow::Break(e);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut sqlparser::ast::TableFactor) -> ControlFlow<Error> {
        semantic_table_factor(factor);
        ControlFlow::Continue(())
    }

    /// `p.prorettype::regtype != 'trigger'::regtype` (pgcli): PostgreSQL compares the types'
    /// OIDs, and the rewrite answers a column's `::regtype` with the type's name but a written
    /// name's with its OID; in a comparison with a regtype, a column's cast goes, leaving OIDs.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        super::jsonb_rewrite::jsonb_operators(expr);
        let regtype = |e: &Expr| {
            matches!(e, Expr::Cast { data_type, .. }
                if data_type.to_string().to_lowercase().trim_start_matches("pg_catalog.") == "regtype")
        };
        if let Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq,
            right,
        } = expr
            && regtype(left)
            && regtype(right)
        {
            for side in [left, right] {
                if let Expr::Cast { expr: inner, .. } = side.as_mut()
                    && string_literal(inner).is_none()
                {
                    let inner = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                    **side = inner;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        // PostgreSQL's semantics first (division by zero, = ANY), shared with workspaces
        arrow_operands_in_parentheses(expr);
        if with_stack_room(|| semantic_rewrite(expr)) {
            return ControlFlow::Continue(());
        }
        let replacement = match expr {
            // pg_index's int2vector and oidvector columns count from 0 in PostgreSQL (psqlODBC's
            // `i.indkey[ia.attnum - 1]`); the engine's lists count from 1
            Expr::CompoundFieldAccess { root, access_chain } if vector_subscript(root, access_chain) => {
                if let Some(sqlparser::ast::AccessExpr::Subscript(sqlparser::ast::Subscript::Index { index })) =
                    access_chain.last_mut()
                {
                    let zero_based = std::mem::replace(index, Expr::value(Value::Null));
                    *index = Expr::BinaryOp {
                        left: Box::new(Expr::Nested(Box::new(zero_based))),
                        op: BinaryOperator::Plus,
                        right: Box::new(Expr::value(Value::Number("1".into(), false))),
                    };
                }
                None
            }
            // `pg_catalog.pg_class.relname` → `pg_class.relname`: relations are known by their
            // (alias) name alone once they are slots.
            Expr::CompoundIdentifier(parts) if parts.len() == 3 => Some(Expr::CompoundIdentifier(parts[1..].to_vec())),
            // SQL-standard value keywords without parentheses parse as bare identifiers.
            Expr::Identifier(ident) if ident.quote_style.is_none() => {
                self.session_value(&ident.value.to_ascii_lowercase())
            }
            Expr::Function(f) => {
                let Some(parts) = name_parts(&f.name) else { return ControlFlow::Continue(()) };
                let name = match parts.as_slice() {
                    [name] => name.as_str(),
                    [schema, name] if schema == "pg_catalog" || schema == "information_schema" => name.as_str(),
                    _ => return ControlFlow::Continue(()),
                };
                if let Some(value) = self.session_value(name) {
                    Some(value)
                } else if !is_compat_function(name) {
                    // `pg_catalog.lower(x)` is plain `lower(x)` to the engine.
                    if parts.len() == 2 {
                        f.name = sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(
                            Ident::new(name),
                        )]);
                    }
                    None
                } else {
                    let Some(args) = expr_args(&f.args) else {
                        return ControlFlow::Break(Error::unsupported(format!("{name}() takes plain arguments here")));
                    };
                    match self.function(name, args.clone()) {
                        Ok(Some(e)) => Some(keep_parameters(e, &args)),
                        Ok(None) => {
                            return ControlFlow::Break(Error::unsupported(format!(
                                "function {name}() is not supported"
                            )));
                        }
                        Err(e) => return ControlFlow::Break(e),
                    }
                }
            }
            Expr::Cast { expr: inner, data_type, .. } => match self.cast(inner, data_type) {
                Ok(e) => e,
                Err(e) => return ControlFlow::Break(e),
            },
            Expr::Collate { expr: inner, collation } => {
                let default =
                    name_parts(collation).is_some_and(|p| p.last().is_some_and(|l| l == "default" || l == "c"));
                default.then(|| (**inner).clone())
            }
            Expr::BinaryOp { left, op: BinaryOperator::PGCustomBinaryOperator(parts), right } => {
                let (l, r) = ((**left).clone(), (**right).clone());
                match parts.last().map(String::as_str) {
                    Some("~") => Some(regex(l, r, false, false)),
                    Some("~*") => Some(regex(l, r, true, false)),
                    Some("!~") => Some(regex(l, r, false, true)),
                    Some("!~*") => Some(regex(l, r, true, true)),
                    Some(other) => {
                        let op = match other {
                            "=" => BinaryOperator::Eq,
                            "<>" | "!=" => BinaryOperator::NotEq,
                            "<" => BinaryOperator::Lt,
                            ">" => BinaryOperator::Gt,
                            "<=" => BinaryOperator::LtEq,
                            ">=" => BinaryOperator::GtEq,
                            _ => {
                                return ControlFlow::Break(Error::unsupported(format!(
                                    "operator {other} is not supported"
                                )));
                            }
                        };
                        Some(Expr::BinaryOp { left: Box::new(l), op, right: Box::new(r) })
                    }
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
        ControlFlow::Continue(())
    }
}

/// An expression DuckDB answers otherwise than PostgreSQL, rewritten in place to PostgreSQL's
/// answer: the one semantics layer of both session kinds (a storage session's rewrite includes
/// it; a workspace's statements get it through [`rewrite_semantics`]). Operands move into their
/// replacement, never copied: an expression may be as deep as the nesting bound allows.
/// Answers whether anything changed.
/// `->` and `->>` bind tighter than IS, the comparisons, AND and NOT in PostgreSQL; DuckDB
/// reads them looser (as its lambda arrow): as another operator's operand they reach it in
/// parentheses. Answers whether anything changed.
fn arrow_operands_in_parentheses(expr: &mut Expr) -> bool {
    fn wrap(operand: &mut Expr) -> bool {
        if !matches!(operand, Expr::BinaryOp { op: BinaryOperator::Arrow | BinaryOperator::LongArrow, .. }) {
            return false;
        }
        let arrow = std::mem::replace(operand, Expr::value(Value::Null));
        *operand = Expr::Nested(Box::new(arrow));
        true
    }
    match expr {
        Expr::IsNull(e)
        | Expr::IsNotNull(e)
        | Expr::IsTrue(e)
        | Expr::IsNotTrue(e)
        | Expr::IsFalse(e)
        | Expr::IsNotFalse(e)
        | Expr::IsUnknown(e)
        | Expr::IsNotUnknown(e)
        | Expr::UnaryOp { expr: e, .. }
        | Expr::In { expr: e, .. } => wrap(e),
        Expr::BinaryOp { left, op, right } if !matches!(op, BinaryOperator::Arrow | BinaryOperator::LongArrow) => {
            wrap(left) | wrap(right)
        }
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => wrap(a) | wrap(b),
        Expr::Between { expr: e, low, high, .. } => wrap(e) | wrap(low) | wrap(high),
        Expr::Like { expr: e, pattern, .. } | Expr::ILike { expr: e, pattern, .. } => wrap(e) | wrap(pattern),
        _ => false,
    }
}

fn semantic_rewrite(expr: &mut Expr) -> bool {
    let take = |e: &mut Expr| std::mem::replace(e, Expr::value(Value::Null));
    match expr {
        // PostgreSQL's `~` finds a match anywhere (DuckDB's matches the whole text)
        Expr::BinaryOp {
            left,
            op:
                op @ (BinaryOperator::PGRegexMatch
                | BinaryOperator::PGRegexIMatch
                | BinaryOperator::PGRegexNotMatch
                | BinaryOperator::PGRegexNotIMatch),
            right,
        } => {
            let insensitive = matches!(op, BinaryOperator::PGRegexIMatch | BinaryOperator::PGRegexNotIMatch);
            let negated = matches!(op, BinaryOperator::PGRegexNotMatch | BinaryOperator::PGRegexNotIMatch);
            *expr = regex(take(left), take(right), insensitive, negated);
            true
        }
        // PostgreSQL refuses a power without a real answer, or too large, where DuckDB answers
        // Infinity or NaN (`^` is the gateway parser's XOR, which DuckDB reads as a power)
        Expr::BinaryOp { left, op: BinaryOperator::BitwiseXor | BinaryOperator::PGExp, right } => {
            *expr = call("duckstore_power", vec![take(left), take(right)]);
            true
        }
        // jsonb's containment, key and path operators as the engine's JSON functions; `@>`,
        // `<@` and `&&` of arrays as list containment and overlap
        Expr::BinaryOp {
            left,
            op:
                op @ (BinaryOperator::AtArrow
                | BinaryOperator::ArrowAt
                | BinaryOperator::Question
                | BinaryOperator::QuestionPipe
                | BinaryOperator::QuestionAnd
                | BinaryOperator::PGOverlap
                | BinaryOperator::HashArrow
                | BinaryOperator::HashLongArrow),
            right,
        } => {
            let json = is_json(left) || is_json(right);
            let (l, r) = (take(left), take(right));
            let as_json = |e: Expr| cast_to(e, DataType::JSON);
            let replacement = match op {
                BinaryOperator::AtArrow if json => call("json_contains", vec![as_json(l), as_json(r)]),
                BinaryOperator::ArrowAt if json => call("json_contains", vec![as_json(r), as_json(l)]),
                BinaryOperator::AtArrow => call("list_has_all", vec![l, r]),
                BinaryOperator::ArrowAt => call("list_has_all", vec![r, l]),
                BinaryOperator::PGOverlap => call("list_has_any", vec![l, r]),
                BinaryOperator::Question => {
                    call("list_contains", vec![call("duckstore_json_keys", vec![as_json(l)]), r])
                }
                BinaryOperator::QuestionPipe => {
                    call("list_has_any", vec![call("duckstore_json_keys", vec![as_json(l)]), r])
                }
                BinaryOperator::QuestionAnd => {
                    call("list_has_all", vec![call("duckstore_json_keys", vec![as_json(l)]), r])
                }
                _ => {
                    let long = matches!(op, BinaryOperator::HashLongArrow);
                    match string_literal(&r).and_then(json_path) {
                        Some(path) => call(
                            if long { "json_extract_string" } else { "json_extract" },
                            vec![as_json(l), text(&path)],
                        ),
                        None => {
                            *expr = Expr::BinaryOp { left: Box::new(l), op: op.clone(), right: Box::new(r) };
                            return false;
                        }
                    }
                }
            };
            *expr = replacement;
            true
        }
        // a char(n) value's trailing spaces do not count in `||` or in a comparison with another
        // one or a string, as in PostgreSQL
        Expr::BinaryOp { left, op, right }
            if (written_as_bpchar(left) || written_as_bpchar(right))
                && (matches!(op, BinaryOperator::StringConcat)
                    || (comparison(op)
                        && [&**left, &**right]
                            .iter()
                            .all(|e| written_as_bpchar(e) || string_literal(e).is_some()))) =>
        {
            for side in [left, right] {
                if written_as_bpchar(side) || !matches!(op, BinaryOperator::StringConcat) {
                    **side = call("rtrim", vec![take(side)]);
                }
            }
            true
        }
        // `'a' || NULL` is a text NULL, as PostgreSQL resolves it (DuckDB's is an integer's)
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right }
            if (is_null_literal(left) && string_literal(right).is_some())
                || (is_null_literal(right) && string_literal(left).is_some()) =>
        {
            *expr = text_null();
            true
        }
        // `-2147483648` is the smallest int4 (DuckDB negates a BIGINT)
        Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } if matches!(&**inner, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n == "2147483648")) =>
        {
            *expr = cast_to(take(expr), DataType::Integer(None));
            true
        }
        // `||` of arrays is PostgreSQL's array_cat (a NULL array counts as empty), or with an
        // element written beside an array its array_append/array_prepend; DuckDB's `||`
        // answers NULL for a NULL operand and refuses an element
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right }
            if written_as_array(left) || written_as_array(right) =>
        {
            let (l, r) = (take(left), take(right));
            *expr = match (written_as_array(&l), written_as_array(&r)) {
                (true, false) if written_as_element(&r) => call("list_append", vec![l, r]),
                (false, true) if written_as_element(&l) => call("list_prepend", vec![l, r]),
                _ => call("list_concat", vec![l, r]),
            };
            true
        }
        // a real with anything but a real is double precision arithmetic in PostgreSQL (it has
        // no operators of float4 with integers or numerics); DuckDB's stays real
        Expr::BinaryOp { left, op, right }
            if arithmetic(op)
                && ((written_as_real(left) && written_as_other_number(right))
                    || (written_as_real(right) && written_as_other_number(left))) =>
        {
            for side in [left, right] {
                if written_as_real(side) {
                    **side = cast_to(take(side), DataType::Float8);
                }
            }
            true
        }
        Expr::BinaryOp { left, op, right } => {
            let mut changed = false;
            // an integer literal is an int4 in PostgreSQL (`smallint_column + 1` is an
            // integer); DuckDB's integer literal takes the other side's type, smallint included
            if arithmetic(op) {
                if int4_literal(left) && !is_literal(right) {
                    **left = cast_to(take(left), DataType::Integer(None));
                    changed = true;
                } else if int4_literal(right) && !is_literal(left) {
                    **right = cast_to(take(right), DataType::Integer(None));
                    changed = true;
                }
            }
            // PostgreSQL's quotient, by the operands' types only the engine knows (see
            // engine::numeric): of integers a truncated integer, of numerics an exact numeric,
            // a zero divisor refused. An uncast `$n` keeps DuckDB's operator, whose overloads
            // can type it.
            if matches!(op, BinaryOperator::Divide) && !uncast_parameter(left) && !uncast_parameter(right) {
                *expr = call(crate::engine::numeric::DIVIDE, vec![take(left), take(right)]);
                return true;
            }
            // PostgreSQL refuses a division by zero (22012); DuckDB answers NULL
            if matches!(op, BinaryOperator::Divide | BinaryOperator::Modulo) && checked_divisor(divisor(right)) {
                **right = call("duckstore_divisor", vec![take(right)]);
                changed = true;
            }
            // time - time is an interval (DuckDB has no such operator): both on one day
            if matches!(op, BinaryOperator::Minus) && is_time(left) && is_time(right) {
                let on_a_day = |t: Expr| {
                    Expr::Nested(Box::new(Expr::BinaryOp {
                        left: Box::new(cast_to(text("2000-01-01"), DataType::Date)),
                        op: BinaryOperator::Plus,
                        right: Box::new(t),
                    }))
                };
                let (l, r) = (take(left), take(right));
                *expr = Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(on_a_day(l)),
                    op: BinaryOperator::Minus,
                    right: Box::new(on_a_day(r)),
                }));
                return true;
            }
            // date - date is a number of days, an integer (DuckDB's is a BIGINT)
            if matches!(op, BinaryOperator::Minus) && is_date(left) && is_date(right) {
                *expr = cast_to(take(expr), DataType::Integer(None));
                changed = true;
            }
            changed
        }
        Expr::Function(f) => {
            if let Some(replacement) = super::jsonb_rewrite::jsonb_function(f) {
                *expr = replacement;
                return true;
            }
            if let Some(replacement) = super::byte_functions::byte_function(f) {
                *expr = replacement;
                return true;
            }
            // a built text's length is bounded before the engine builds it; PostgreSQL's string
            // functions DuckDB lacks or answers otherwise
            if let Some(Ok(replacement)) = bounded_built_text(f).or_else(|| string_function(f)) {
                *expr = replacement;
                return true;
            }
            if let Some(replacement) = json_function(f) {
                *expr = replacement;
                return true;
            }
            if let Some(renamed) = jsonb_engine_name(f) {
                // each value's JSON as PostgreSQL writes it (a timestamp's `T`), not the engine's
                let values_from = usize::from(renamed == "json_object");
                let step = if renamed == "json_object" { 2 } else { 1 };
                let renamed = if renamed == "to_json" { JSON_VALUE } else { renamed };
                if matches!(renamed, "json_object" | "json_array" | JSON_VALUE)
                    && let FunctionArguments::List(list) = &mut f.args
                {
                    for arg in list.args.iter_mut().skip(values_from).step_by(step) {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg
                            && renamed != JSON_VALUE
                        {
                            let taken = std::mem::replace(value, Expr::value(Value::Null));
                            *value = call(JSON_VALUE, vec![taken]);
                        }
                    }
                }
                f.name = ObjectName::from(vec![Ident::new(renamed)]);
                return true;
            }
            if let Some(replacement) = number_template_function(f) {
                *expr = replacement;
                return true;
            }
            if let Some(replacement) = datetime_function(f) {
                *expr = replacement;
                return true;
            }
            if let Some(replacement) = array_function(f) {
                *expr = replacement;
                return true;
            }
            if integer_literals_beside_values(f) || continuous_percentile_of_doubles(f) {
                return true;
            }
            if let Some(replacement) = number_function(f) {
                *expr = replacement;
                return true;
            }
            if let Some(replacement) = average(f) {
                *expr = replacement;
                return true;
            }
            // PostgreSQL's lengths and positions are integers (DuckDB's BIGINTs)
            if int4_function(f) {
                *expr = cast_to(take(expr), DataType::Integer(None));
                return true;
            }
            false
        }
        // EXTRACT answers a numeric in PostgreSQL (DuckDB: a BIGINT, or a double for epoch), its
        // seconds with their fraction (DuckDB's are whole)
        Expr::Extract { field, expr: inner, .. } => {
            let decimal = |scale| DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale));
            let unit = |digits: i64| {
                cast_to(
                    Expr::value(Value::Number(format!("0.{}1", "0".repeat(digits as usize - 1)), false)),
                    decimal(digits),
                )
            };
            let name = field.to_string().to_lowercase();
            let micros = |inner: Expr| Expr::Extract {
                field: sqlparser::ast::DateTimeField::Microseconds,
                syntax: sqlparser::ast::ExtractSyntax::From,
                expr: Box::new(inner),
            };
            *expr = match name.as_str() {
                "epoch" if is_date(inner) => cast_to(take(expr), decimal(0)),
                "epoch" => cast_to(take(expr), decimal(6)),
                "second" | "seconds" | "millisecond" | "milliseconds" => {
                    let scale = if name.starts_with("second") { 6 } else { 3 };
                    let whole = cast_to(micros(take(inner)), decimal(0));
                    Expr::BinaryOp { left: Box::new(whole), op: BinaryOperator::Multiply, right: Box::new(unit(scale)) }
                }
                "julian" => return false,
                _ => cast_to(take(expr), decimal(0)),
            };
            true
        }
        // a row IS NULL when every field is, IS NOT NULL when none is (DuckDB tests the row)
        Expr::IsNull(row) | Expr::IsNotNull(row) if row_fields(row).is_some() => {
            let null = matches!(expr, Expr::IsNull(_));
            let fields = match expr {
                Expr::IsNull(row) | Expr::IsNotNull(row) => row_fields(row).unwrap_or_default(),
                _ => return false,
            };
            let tests =
                fields.into_iter().map(|f| if null { Expr::IsNull(Box::new(f)) } else { Expr::IsNotNull(Box::new(f)) });
            let Some(all) =
                tests.reduce(|a, b| Expr::BinaryOp { left: Box::new(a), op: BinaryOperator::And, right: Box::new(b) })
            else {
                return false;
            };
            *expr = Expr::Nested(Box::new(all));
            true
        }
        // DuckDB has no overlay()
        Expr::Overlay { expr: string, overlay_what, overlay_from, overlay_for } => {
            match super::byte_functions::overlay(string, overlay_what, overlay_from, overlay_for.as_deref()) {
                Some(replacement) => {
                    *expr = replacement;
                    true
                }
                None => false,
            }
        }
        Expr::Position { .. } => {
            *expr = cast_to(take(expr), DataType::Integer(None));
            true
        }
        // a backslash escapes in a LIKE pattern unless another escape is named (PostgreSQL's
        // default; DuckDB's LIKE has none). A written pattern without one reads the same either
        // way and stays a plain LIKE, which DuckDB turns into a prefix, suffix or contains
        // test (with the escape, a 10 M-row filter took 285 ms instead of 160)
        Expr::Like { escape_char: escape @ None, pattern, .. }
        | Expr::ILike { escape_char: escape @ None, pattern, .. } => {
            if string_literal(pattern).is_some_and(|p| !p.contains('\\')) {
                return false;
            }
            *escape = Some(Box::new(text("\\")));
            true
        }
        // SIMILAR TO with a written pattern: the regular expression PostgreSQL makes of it
        Expr::SimilarTo { negated, expr: inner, pattern, escape_char: None } => {
            let Some(regex) = string_literal(pattern).and_then(similar_to_regex) else { return false };
            let matched = call("regexp_full_match", vec![take(inner), text(&regex)]);
            *expr = if *negated {
                Expr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(matched))) }
            } else {
                matched
            };
            true
        }
        // `substring(s FROM 'regex')`: the first match (its first group, if it has one), NULL
        // when nothing matches
        Expr::Substring { expr: inner, substring_from: Some(from), substring_for: None, .. }
            if string_literal(from).is_some() =>
        {
            let pattern = string_literal(from).unwrap_or_default().to_owned();
            let group = i64::from(pattern.replace("(?", "").contains('('));
            // (the pattern is a literal: naming it twice copies only its text)
            *expr = with_operands(
                &format!(
                    "CASE WHEN regexp_matches({v}, __arg1) THEN regexp_extract({v}, __arg1, {group}) END",
                    v = operand(0)
                ),
                vec![take(inner), text(&pattern)],
            )
            .unwrap_or_else(|_| null());
            true
        }
        // a start before the first character counts toward the length, as in PostgreSQL
        // (DuckDB counts a negative start from the end); a negative length is an error
        Expr::Substring { expr: inner, substring_from: Some(from), substring_for: None, .. } => {
            *expr = call("substring", vec![take(inner), call("greatest", vec![take(from), number(1)])]);
            true
        }
        Expr::Substring { expr: inner, substring_from: Some(from), substring_for: Some(length), .. } => {
            *expr = call("duckstore_substring", vec![take(inner), take(from), take(length)]);
            true
        }
        // `x = ANY(array)`: DuckDB reads ANY of a list as a subquery it cannot plan here; an
        // array written as PostgreSQL's text (`ANY('{r,p}')`, pgcli's inlined parameters) is
        // that array's elements
        Expr::AnyOp { left, compare_op: BinaryOperator::Eq, right, .. } if !matches!(**right, Expr::Subquery(_)) => {
            let list = match string_literal(right).and_then(parse_pg_array) {
                Some(elements) => Expr::Array(sqlparser::ast::Array {
                    elem: elements.into_iter().map(|e| e.map_or_else(null, text)).collect(),
                    named: true,
                }),
                None => take(right),
            };
            *expr = call("list_contains", vec![list, take(left)]);
            true
        }
        // PostgreSQL's hex form of bytea (`'\x01ff'`); DuckDB would read `\x01` as one byte and
        // `ff` as two characters. Malformed hex stays for DuckDB to refuse.
        Expr::Cast { expr: inner, data_type, .. }
            if matches!(data_type.to_string().to_lowercase().as_str(), "bytea" | "blob" | "pg_catalog.bytea") =>
        {
            let Some(written) = string_literal(inner) else { return false };
            let hex = match written.strip_prefix("\\x") {
                Some(hex) if hex.len() % 2 == 0 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => hex.to_owned(),
                Some(_) => return false,
                // the escape format: `\001` an octal byte, `\\` a backslash
                None => match super::byte_functions::escaped_bytea_hex(written) {
                    Some(hex) => hex,
                    None => return false,
                },
            };
            *expr = call("unhex", vec![text(hex)]);
            true
        }
        // a date of the era before Christ as PostgreSQL writes it (`'0044-03-15 BC'`), which
        // DuckDB reads as `(BC)` (and would take as the year 44 of ours)
        Expr::Cast { expr: inner, data_type: DataType::Date, .. }
            if string_literal(inner).and_then(bc_date).is_some() =>
        {
            let written = string_literal(inner).and_then(bc_date).unwrap_or_default();
            **inner = text(written);
            true
        }
        Expr::TypedString(typed)
            if matches!(typed.data_type, DataType::Date)
                && matches!(&typed.value.value, Value::SingleQuotedString(t) if bc_date(t).is_some()) =>
        {
            let Value::SingleQuotedString(written) = &typed.value.value else { return false };
            let written = bc_date(written).unwrap_or_default();
            *expr = cast_to(text(written), DataType::Date);
            true
        }
        // PostgreSQL's spellings of a boolean (`'on'`, `'yes'`, `'1'`, `'N'`, any case, spaces
        // around), which DuckDB's cast does not all take
        Expr::Cast { expr: inner, data_type: DataType::Bool | DataType::Boolean, .. }
            if string_literal(inner).and_then(postgres_bool).is_some() =>
        {
            let value = string_literal(inner).and_then(postgres_bool).unwrap_or_default();
            *expr = Expr::Value(ValueWithSpan::from(Value::Boolean(value)));
            true
        }
        // an explicit cast to varchar(n) cuts the text at n characters, as PostgreSQL's does
        // (DuckDB ignores the length)
        Expr::Cast {
            expr: inner, data_type: DataType::Varchar(length) | DataType::CharacterVarying(length), ..
        } if !matches!(&**inner, Expr::Function(f) if f.name.to_string() == "left") => {
            let Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. }) = *length else { return false };
            let text = cast_to(take(inner), DataType::Varchar(None));
            **inner = call("left", vec![text, number(length)]);
            true
        }
        // time(p), timestamp(p) and timestamptz(p) round to p fractional digits, half away from
        // zero on PostgreSQL's clock (microseconds from 2000-01-01); DuckDB takes no precision
        Expr::Cast {
            expr: inner,
            data_type: data_type @ (DataType::Timestamp(Some(_), _) | DataType::Time(Some(_), _)),
            ..
        } if !matches!(
            data_type,
            DataType::Time(_, sqlparser::ast::TimezoneInfo::WithTimeZone | sqlparser::ast::TimezoneInfo::Tz)
        ) =>
        {
            let (DataType::Timestamp(precision, _) | DataType::Time(precision, _)) = data_type else { return false };
            let digits = precision.take().unwrap_or(6);
            let time = matches!(data_type, DataType::Time(..));
            if digits >= 6 {
                return true;
            }
            let cast = take(expr);
            *expr = round_time_to_digits(cast, digits, time).unwrap_or_else(null);
            true
        }
        // and a cast to varchar(n)[] cuts each element so
        Expr::Cast {
            expr: inner,
            data_type: DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(element, _)),
            ..
        } if matches!(
            element.as_ref(),
            DataType::Varchar(Some(sqlparser::ast::CharacterLength::IntegerLength { .. }))
                | DataType::CharacterVarying(Some(sqlparser::ast::CharacterLength::IntegerLength { .. }))
        ) =>
        {
            let (DataType::Varchar(Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. }))
            | DataType::CharacterVarying(Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. }))) =
                element.as_ref()
            else {
                return false;
            };
            let length = *length;
            let texts = cast_to(
                take(inner),
                DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(
                    Box::new(DataType::Varchar(None)),
                    None,
                )),
            );
            // (one call level, an engine macro: a chain of these casts stays as deep as written)
            *expr = call("duckstore_left_each", vec![texts, number(length)]);
            true
        }
        // jsonb is JSON text to the engine; the wire prints it as PostgreSQL does (pg::jsonb,
        // the column marked by its written type)
        Expr::Cast { data_type, .. } if super::query::postgres_type_name(data_type) == "jsonb" => {
            *data_type = DataType::JSON;
            true
        }
        // `name` and the one-byte `"char"` (the text's first character) are text to the engine;
        // the column keeps the written type's OID, as jsonb's
        Expr::Cast { data_type: data_type @ DataType::Custom(..), .. }
            if matches!(super::query::postgres_type_name(data_type).as_str(), "name" | "char") =>
        {
            let one_byte = super::query::postgres_type_name(data_type) == "char";
            *data_type = DataType::Varchar(None);
            if one_byte {
                let cast = take(expr);
                *expr = call("left", vec![cast, number(1)]);
            }
            true
        }
        // an explicit cast to char(n) pads the text to n characters with spaces, or cuts it
        // there, as PostgreSQL's does; `char` alone is char(1) (DuckDB ignores both)
        Expr::Cast { expr: inner, data_type: DataType::Char(length) | DataType::Character(length), .. } if !matches!(&**inner, Expr::Function(f) if f.name.to_string() == "rpad") =>
        {
            let length = match *length {
                // (PostgreSQL's longest char(n); a longer one is left unpadded, never built)
                Some(sqlparser::ast::CharacterLength::IntegerLength { length, .. }) if length <= 10_485_760 => length,
                None => 1,
                Some(_) => return false,
            };
            let value = cast_to(take(inner), DataType::Varchar(None));
            **inner = call("rpad", vec![value, number(length), text(" ")]);
            true
        }
        // a number written with an exponent is a numeric in PostgreSQL (`1e3` is 1000, `1.0e-3`
        // 0.0010); DuckDB reads a double
        Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.contains(['e', 'E'])) => {
            let Value::Number(n, _) = &v.value else { return false };
            let Some((plain, scale)) = plain_decimal(n) else { return false };
            *expr = cast_to(
                Expr::value(Value::Number(plain, false)),
                DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale)),
            );
            true
        }
        // `'4.2'::int`: PostgreSQL's integer input takes digits only (DuckDB's rounds)
        Expr::Cast { expr: inner, data_type, .. }
            if integer_type(data_type) && string_literal(inner).is_some_and(|t| !integer_text(t)) =>
        {
            let written = string_literal(inner).unwrap_or_default();
            let type_name = match data_type {
                DataType::SmallInt(_) | DataType::Int2(_) => "smallint",
                DataType::BigInt(_) | DataType::Int8(_) => "bigint",
                _ => "integer",
            };
            let message = format!("invalid input syntax for type {type_name}: \"{written}\"");
            **inner = call("error", vec![text(&message)]);
            true
        }
        // a decimal literal's float is the nearest float to its text, as PostgreSQL reads it
        // (DuckDB divides a decimal's integer by a power of ten, off in the last digit)
        Expr::Cast { expr: inner, data_type, .. }
            if matches!(
                postgres_float(data_type),
                DataType::Float8 | DataType::Real | DataType::Float4 | DataType::Double(_) | DataType::DoublePrecision
            ) && matches!(&**inner, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.contains('.'))) =>
        {
            let Expr::Value(v) = &**inner else { return false };
            let Value::Number(n, _) = &v.value else { return false };
            **inner = text(n.as_str());
            *data_type = postgres_float(data_type);
            true
        }
        // a float's text spells the infinities and NaN as PostgreSQL does (DuckDB: inf, nan)
        Expr::Cast { expr: inner, data_type, .. }
            if matches!(data_type, DataType::Text | DataType::Varchar(None) | DataType::String(None))
                && written_number_kind(inner).is_some_and(|k| matches!(k, NumberKind::Float)) =>
        {
            let shown = cast_to(take(inner), DataType::Varchar(None));
            let shown = call(
                "replace",
                vec![call("replace", vec![shown, text("inf"), text("Infinity")]), text("nan"), text("NaN")],
            );
            *expr = cast_to(shown, data_type.clone());
            true
        }
        // PostgreSQL's float is double precision, as is float(p) past 24 bits (DuckDB's FLOAT is
        // a real)
        Expr::Cast { data_type: data_type @ DataType::Float(_), .. } => {
            *data_type = postgres_float(data_type);
            true
        }
        // a literal keeps its own scale, as PostgreSQL's numeric does (`'3.14'::numeric` is 3.14)
        Expr::Cast { expr: inner, data_type, .. } if is_unconstrained_numeric(data_type) => {
            *data_type = literal_scale(inner).map_or(NUMERIC_AS_STORED, |scale| {
                DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale))
            });
            true
        }
        _ => false,
    }
}

/// PostgreSQL's encodings, by number (`pg_encoding_to_char`).
const ENCODINGS: [&str; 42] = [
    "SQL_ASCII",
    "EUC_JP",
    "EUC_CN",
    "EUC_KR",
    "EUC_TW",
    "EUC_JIS_2004",
    "UTF8",
    "MULE_INTERNAL",
    "LATIN1",
    "LATIN2",
    "LATIN3",
    "LATIN4",
    "LATIN5",
    "LATIN6",
    "LATIN7",
    "LATIN8",
    "LATIN9",
    "LATIN10",
    "WIN1256",
    "WIN1258",
    "WIN866",
    "WIN874",
    "KOI8R",
    "WIN1251",
    "WIN1252",
    "ISO_8859_5",
    "ISO_8859_6",
    "ISO_8859_7",
    "ISO_8859_8",
    "WIN1250",
    "WIN1253",
    "WIN1254",
    "WIN1255",
    "WIN1257",
    "KOI8U",
    "SJIS",
    "BIG5",
    "GBK",
    "UHC",
    "GB18030",
    "JOHAB",
    "SHIFT_JIS_2004",
];

/// A PostgreSQL string function as DuckDB computes it: `btrim`, `initcap`, `quote_literal`,
/// `quote_nullable`, `quote_ident`, and `lpad`/`rpad` without a fill (a space). `None`: not one
/// of them (or not with these arguments).
/// A function's name as written plainly or in `pg_catalog` (`pg_catalog.lower` is `lower`);
/// None for a name in another schema.
pub(super) fn pg_function_name(f: &sqlparser::ast::Function) -> Option<String> {
    match name_parts(&f.name)?.as_mut_slice() {
        [name] => Some(std::mem::take(name)),
        [schema, name] if schema == "pg_catalog" => Some(std::mem::take(name)),
        _ => None,
    }
}

fn string_function(f: &sqlparser::ast::Function) -> Option<Result<Expr>> {
    let name = pg_function_name(f)?;
    let name = name.as_str();
    let args = expr_args(&f.args)?;
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    // (chr(39) is the quote: no escaped quotes for any reading of the template to differ on)
    const QUOTE_LITERAL: &str = "chr(39) || replace(CAST(__arg0 AS VARCHAR), chr(39), chr(39) || chr(39)) || chr(39)";
    const QUOTE_IDENT: &str = "CASE WHEN regexp_full_match(__arg0, '[a-z_][a-z0-9_$]*') THEN __arg0 \
         ELSE '\"' || replace(__arg0, '\"', '\"\"') || '\"' END";
    Some(match (name, args.len()) {
        ("btrim", 1 | 2) => Ok(call("trim", args)),
        // PostgreSQL's upper() leaves ß as it is (DuckDB's makes it ẞ)
        ("upper", 1) => Ok(call("replace", vec![call("upper", args), text("\u{1e9e}"), text("\u{df}")])),
        // a char(n) value's length leaves out its trailing spaces, as PostgreSQL's
        ("length" | "char_length" | "character_length", 1) if written_as_bpchar(&args[0]) => {
            Ok(cast_to(call("length", vec![call("rtrim", args)]), DataType::Integer(None)))
        }
        // a text's length in bytes (the engine's octet_length takes a blob); a written string
        // is text, as PostgreSQL resolves it
        ("octet_length", 1) if written_as_text(&args[0]) => Ok(cast_to(call("strlen", args), DataType::Integer(None))),
        // the SQL standard's name of bool_and
        ("every", 1) => Ok(call("bool_and", args)),
        // words (runs of letters and digits) start upper case, the rest is lower case
        ("initcap", 1) => template(
            "array_to_string(list_transform(regexp_extract_all(lower(CAST(__arg0 AS VARCHAR)),              '[a-z0-9]+|[^a-z0-9]+'), duckstore_w -> upper(duckstore_w[1]) || duckstore_w[2:]), '')",
            &args,
        ),
        ("quote_literal", 1) => template(QUOTE_LITERAL, &args),
        // PostgreSQL's format string (`%s`, `%I`, `%L`, positions, widths), written out; each
        // value once (`operand(n)`, see `with_operands`), the texts between them as operands too
        ("format", n) if n >= 1 && string_literal(&args[0]).is_some() => {
            let pieces = format_pieces(string_literal(&args[0]).unwrap_or_default(), n - 1)?;
            let mut operands: Vec<Expr> = args[1..].to_vec();
            let parts: Vec<String> = pieces
                .into_iter()
                .map(|piece| match piece {
                    FormatPiece::Text(t) => {
                        operands.push(text(&t));
                        operand(operands.len() - 1)
                    }
                    FormatPiece::Value { index, kind, width, left } => {
                        let value = operand(index);
                        let shown = match kind {
                            'I' => QUOTE_IDENT.replace("__arg0", &value),
                            'L' => format!("coalesce({}, 'NULL')", QUOTE_LITERAL.replace("__arg0", &value)),
                            _ => format!("coalesce(duckstore_text({value}), '')"),
                        };
                        match width {
                            None => shown,
                            Some(w) => {
                                let pad = format!("repeat(' ', greatest({w} - length({shown}), 0))");
                                if left { format!("({shown}) || {pad}") } else { format!("{pad} || ({shown})") }
                            }
                        }
                    }
                })
                .collect();
            let body = if parts.is_empty() { "''".to_owned() } else { format!("concat({})", parts.join(", ")) };
            return Some(with_operands(&body, operands));
        }
        // each value as its text; a boolean's is `t` or `f`
        ("concat", _) | ("concat_ws", _) if !args.iter().any(is_text_of_value) => {
            let skip = usize::from(name == "concat_ws");
            let args = args
                .into_iter()
                .enumerate()
                .map(|(i, a)| if i < skip { a } else { call("duckstore_text", vec![a]) })
                .collect();
            Ok(call(name, args))
        }
        ("quote_nullable", 1) => template(&format!("coalesce({QUOTE_LITERAL}, 'NULL')"), &args),
        ("quote_ident", 1) => template(QUOTE_IDENT, &args),
        _ => return None,
    })
}

/// A piece of a `format()` string: text, or the value at `index` (0-based among the values)
/// as `s`, `I` or `L`, padded to `width` (on the right when `left`).
enum FormatPiece {
    Text(String),
    Value { index: usize, kind: char, width: Option<usize>, left: bool },
}

/// The pieces of PostgreSQL's format string over `count` values; `None`: a form PostgreSQL
/// would refuse, or one not followed here (a `*` width), left for the engine to refuse.
fn format_pieces(fmt: &str, count: usize) -> Option<Vec<FormatPiece>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            literal.push('%');
            continue;
        }
        let mut spec = String::new();
        let kind = loop {
            let c = chars.next()?;
            if matches!(c, 's' | 'I' | 'L') {
                break c;
            }
            if !(c.is_ascii_digit() || c == '$' || c == '-') {
                return None;
            }
            spec.push(c);
        };
        let (position, rest) = match spec.split_once('$') {
            Some((p, rest)) => (Some(p.parse::<usize>().ok().filter(|p| *p >= 1)?), rest),
            None => (None, spec.as_str()),
        };
        let left = rest.starts_with('-');
        let width = rest.trim_start_matches('-');
        let width = if width.is_empty() { None } else { Some(width.parse::<usize>().ok()?.min(10_000)) };
        let index = position.map_or(next, |p| p - 1);
        if index >= count {
            return None;
        }
        next = index + 1;
        if !literal.is_empty() {
            pieces.push(FormatPiece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(FormatPiece::Value { index, kind, width, left });
    }
    if !literal.is_empty() {
        pieces.push(FormatPiece::Text(literal));
    }
    Some(pieces)
}

/// The longest text (in characters) `repeat`, `lpad` and `rpad` may build. DuckDB does not
/// count the strings a statement builds against its instance's `memory_limit`: one
/// `repeat('x', 200000000)` over a few rows took the whole machine's memory. 64 Ki characters
/// per value keeps a vector of them (2048 rows) under a few hundred MB.
pub const MAX_BUILT_TEXT: u64 = 65_536;

/// `repeat(s, n)`, `lpad(s, n[, f])`, `rpad(s, n[, f])` (a pad's fill is a space unless
/// given) with their count or length checked against [`MAX_BUILT_TEXT`] before the engine
/// builds the value (54000 past it). `None`: not one of them.
fn bounded_built_text(f: &sqlparser::ast::Function) -> Option<Result<Expr>> {
    let name = match name_parts(&f.name)?.as_slice() {
        [name] => name.clone(),
        [schema, name] if schema == "pg_catalog" || schema == "main" => name.clone(),
        _ => return None,
    };
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let mut args = expr_args(&f.args)?;
    let bounded = match (name.as_str(), args.len()) {
        ("repeat", 2) => "duckstore_repeat",
        ("lpad", 2 | 3) => "duckstore_lpad",
        ("rpad", 2 | 3) => "duckstore_rpad",
        _ => return None,
    };
    if args.len() == 2 && bounded != "duckstore_repeat" {
        args.push(text(" "));
    }
    Some(Ok(call(bounded, args)))
}

/// Whether an argument is already a value's text (the rewrite ran).
fn is_text_of_value(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if f.name.to_string() == "duckstore_text")
}

/// The regular expression PostgreSQL makes of a SIMILAR TO pattern (`%` any text, `_` any
/// character, `\` the escape; `|`, `*`, `+`, `?`, `{…}`, `(…)` and `[…]` as in a regular
/// expression; the rest literal). `None`: a pattern it would refuse.
fn similar_to_regex(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                out.push('\\');
                out.push(next);
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ if in_class => out.push(c),
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '|' | '*' | '+' | '?' | '{' | '}' | '(' | ')' => out.push(c),
            c if c.is_alphanumeric() || c == ' ' => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    (!in_class).then_some(out)
}

/// The divisor as written: an int4 literal the semantics layer cast is still that literal.
fn divisor(right: &Expr) -> &Expr {
    match right {
        Expr::Cast { expr, .. } if int4_literal(expr) => expr,
        other => other,
    }
}

/// PostgreSQL expands a set-returning function of a select list into rows (`SELECT
/// generate_series(1, 3)` is three rows; psqlODBC's SQLForeignKeys numbers key columns so);
/// DuckDB's `generate_series` there is one list. A select item that is such a call becomes
/// DuckDB's `unnest` of it, keeping PostgreSQL's column name. Answers whether anything changed.
/// A written negative OFFSET is PostgreSQL's 2201X (DuckDB's one refusal of a negative LIMIT or
/// OFFSET is LIMIT's 2201W); the refusal is the engine's, when it binds the query.
/// `… ORDER BY x FETCH FIRST n ROWS WITH TIES`, which DuckDB lacks, as the rows whose rank by
/// that order is at most n (`QUALIFY rank() OVER (ORDER BY x) <= n`, then the order). Only a
/// plain SELECT without DISTINCT or OFFSET. Answers whether it changed.
fn fetch_with_ties_as_qualify(query: &mut sqlparser::ast::Query) -> bool {
    use sqlparser::ast::{OrderByKind, SelectItem, SetExpr};
    let Some(fetch) = &query.fetch else { return false };
    let (Some(quantity), false, true) = (&fetch.quantity, fetch.percent, fetch.with_ties) else { return false };
    let Some(OrderByKind::Expressions(order)) = query.order_by.as_ref().map(|o| &o.kind) else { return false };
    if query.limit_clause.is_some() || order.is_empty() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    if select.distinct.is_some() || select.qualify.is_some() {
        return false;
    }
    // the window orders by what ORDER BY names: a select item's alias or position is that
    // item's expression (a star's position is not followed)
    let item_expr = |e: &Expr| -> Option<Expr> {
        let at = match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse::<usize>().ok()?.checked_sub(1)?,
                _ => return None,
            },
            Expr::Identifier(name) => {
                return Some(
                    select
                        .projection
                        .iter()
                        .find_map(|i| match i {
                            SelectItem::ExprWithAlias { expr, alias } if same_name(alias, name) => Some(expr.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(|| e.clone()),
                );
            }
            other => return Some(other.clone()),
        };
        if select
            .projection
            .iter()
            .take(at + 1)
            .any(|i| !matches!(i, SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }))
        {
            return None;
        }
        match select.projection.get(at)? {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => Some(expr.clone()),
            _ => None,
        }
    };
    let Some(window_order) = order
        .iter()
        .map(|o| item_expr(&o.expr).map(|expr| sqlparser::ast::OrderByExpr { expr, ..o.clone() }))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    let Ok(Statement::Query(template)) = Parser::new(&DuckDbDialect {})
        .try_with_sql("SELECT 1 FROM t QUALIFY rank() OVER (ORDER BY 1) <= 1")
        .and_then(|mut p| p.parse_statement())
    else {
        return false;
    };
    let SetExpr::Select(template) = *template.body else { return false };
    let Some(Expr::BinaryOp { left, op, .. }) = template.qualify else { return false };
    let Expr::Function(mut rank) = *left else { return false };
    let Some(sqlparser::ast::WindowType::WindowSpec(spec)) = rank.over.as_mut() else { return false };
    spec.order_by = window_order;
    let condition = Expr::BinaryOp {
        left: Box::new(Expr::Function(rank)),
        op,
        right: Box::new(Expr::Nested(Box::new(quantity.clone()))),
    };
    let SetExpr::Select(select) = query.body.as_mut() else { return false };
    select.qualify = Some(condition);
    query.fetch = None;
    true
}

/// The name of the column a select list of nothing gets (`SELECT FROM t`, `SELECT`), which
/// DuckDB refuses: the wire sends a result of that one column as rows of no columns
/// (pg::types::wire_schema), as PostgreSQL answers.
pub const NO_COLUMNS: &str = "__duckstore_no_columns";

/// A select list of nothing as a NULL column named [`NO_COLUMNS`]. Answers whether it changed.
fn nothing_selected_as_hidden_column(query: &mut sqlparser::ast::Query) -> bool {
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return false };
    if !select.projection.is_empty() {
        return false;
    }
    select.projection = vec![sqlparser::ast::SelectItem::ExprWithAlias {
        expr: Expr::value(Value::Null),
        alias: Ident::with_quote('"', NO_COLUMNS),
    }];
    true
}

/// Whether two identifiers name the same thing (an unquoted one folded to lower case).
fn same_name(a: &Ident, b: &Ident) -> bool {
    let folded = |i: &Ident| if i.quote_style.is_some() { i.value.clone() } else { i.value.to_lowercase() };
    folded(a) == folded(b)
}

fn refuse_negative_offset(query: &mut sqlparser::ast::Query) -> bool {
    let Some(sqlparser::ast::LimitClause::LimitOffset { offset: Some(offset), .. }) = &mut query.limit_clause else {
        return false;
    };
    let negative = matches!(&offset.value, Expr::UnaryOp { op: UnaryOperator::Minus, expr }
        if matches!(&**expr, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if !n.trim_start_matches(['0', '.']).is_empty())));
    if negative {
        offset.value = call("error", vec![text(NEGATIVE_OFFSET)]);
    }
    negative
}

/// The fields of a row written as one: `ROW(a, b)` or `(a, b)`.
fn row_fields(e: &Expr) -> Option<Vec<Expr>> {
    match e {
        Expr::Tuple(items) if items.len() > 1 => Some(items.clone()),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("row") => {
            expr_args(&f.args).filter(|a| !a.is_empty())
        }
        _ => None,
    }
}

/// The engine's message for [`refuse_negative_offset`] (engine::errors maps it to 2201X).
pub const NEGATIVE_OFFSET: &str = "OFFSET must not be negative";

fn expand_set_returning_items(query: &mut sqlparser::ast::Query) -> bool {
    use sqlparser::ast::{SelectItem, SetExpr};
    fn expand(body: &mut SetExpr) -> bool {
        match body {
            // the one series of a select without FROM streams from FROM (the engine's list of
            // it would be built whole: 100 million numbers took 9 GB)
            SetExpr::Select(select) if select.from.is_empty() && series_items(select) == 1 => {
                let Some(item) = select.projection.iter_mut().find(|i| series_item(i).is_some()) else { return false };
                let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item else {
                    return false;
                };
                let Expr::Function(f) = expr else { return false };
                let Some(from) = series_from(f) else { return false };
                *expr = Expr::CompoundIdentifier(vec![Ident::new(SERIES_ALIAS), Ident::new("generate_series")]);
                if let SelectItem::UnnamedExpr(expr) = item {
                    let expr = std::mem::replace(expr, Expr::value(Value::Null));
                    *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', "generate_series") };
                }
                select.from = vec![from];
                true
            }
            SetExpr::Select(select) => {
                let mut changed = false;
                for item in &mut select.projection {
                    let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item else {
                        continue;
                    };
                    let Expr::Function(f) = expr else { continue };
                    if !is_generate_series(&f.name) {
                        continue;
                    }
                    // each row's series is built whole: a long one is refused (one that is not
                    // written as numbers cannot be measured here, and runs)
                    let too_long = series_length(f).is_some_and(|n| n > MAX_ROW_SERIES);
                    let series = std::mem::replace(expr, Expr::value(Value::Null));
                    *expr = if too_long {
                        call(
                            "error",
                            vec![text(format!(
                                "a generate_series() in the select list of a query with FROM makes at most \
                                 {MAX_ROW_SERIES} values a row; move it to FROM"
                            ))],
                        )
                    } else {
                        call("unnest", vec![series])
                    };
                    if let SelectItem::UnnamedExpr(expr) = item {
                        let expr = std::mem::replace(expr, Expr::value(Value::Null));
                        *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', "generate_series") };
                    }
                    changed = true;
                }
                changed
            }
            // (a nested query is visited as a query of its own)
            SetExpr::SetOperation { left, right, .. } => expand(left) | expand(right),
            _ => false,
        }
    }
    expand(&mut query.body)
}

/// A boolean as PostgreSQL reads its text: a prefix of true/false/yes/no, on/off, 1/0.
pub(super) fn postgres_bool(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !t.is_empty() && word.starts_with(t.as_str());
    match t.as_str() {
        "on" | "1" => Some(true),
        "off" | "of" | "0" => Some(false),
        "o" => None,
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

/// Whether an expression is a json or jsonb value as written: a cast to either, or a call of a
/// json function.
fn is_json(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_json(inner),
        Expr::Cast { data_type, .. } => {
            matches!(
                data_type.to_string().to_lowercase().trim_start_matches("pg_catalog.").trim_matches('"'),
                "json" | "jsonb"
            )
        }
        Expr::Function(f) => name_parts(&f.name)
            .and_then(|p| p.last().cloned())
            .is_some_and(|n| n.starts_with("json") || n.starts_with("to_json")),
        Expr::BinaryOp { op: BinaryOperator::Arrow | BinaryOperator::HashArrow, .. } => true,
        _ => false,
    }
}

/// PostgreSQL's text-array path (`'{a,b,1}'`) as a JSON path (`$."a"."b"[1]`): a number is an
/// array index.
fn json_path(text_array: &str) -> Option<String> {
    let elements = parse_pg_array(text_array)?;
    let mut path = String::from("$");
    for element in elements {
        let element = element?;
        if !element.is_empty() && element.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{element}]"));
        } else {
            path.push_str(&format!(".\"{}\"", element.replace('\\', "\\\\").replace('"', "\\\"")));
        }
    }
    Some(path)
}

/// The most values a select item's `generate_series` makes per row of a query with FROM.
const MAX_ROW_SERIES: i128 = 1_000_000;

/// How many values a `generate_series` of written integers makes.
fn series_length(f: &sqlparser::ast::Function) -> Option<i128> {
    let args = expr_args(&f.args)?;
    let number = |e: &Expr| -> Option<i128> {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse().ok(),
                _ => None,
            },
            Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match &**expr {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<i128>().ok().map(|n| -n),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    };
    let (start, stop) = (number(args.first()?)?, number(args.get(1)?)?);
    let step = match args.get(2) {
        Some(s) => number(s)?,
        None => 1,
    };
    if step == 0 {
        return None;
    }
    // (an overflow is a series past any bound)
    let span = stop.checked_sub(start).and_then(|d| d.checked_div(step)).unwrap_or(i128::MAX);
    Some(span.saturating_add(1).max(0))
}

/// The alias of a select item's series moved to FROM.
const SERIES_ALIAS: &str = "__duckstore_series";

/// The call of a select item that is a `generate_series`.
fn series_item(item: &sqlparser::ast::SelectItem) -> Option<&sqlparser::ast::Function> {
    use sqlparser::ast::SelectItem;
    match item {
        SelectItem::UnnamedExpr(Expr::Function(f)) | SelectItem::ExprWithAlias { expr: Expr::Function(f), .. }
            if is_generate_series(&f.name) && f.over.is_none() =>
        {
            Some(f)
        }
        _ => None,
    }
}

/// How many select items are a `generate_series`.
fn series_items(select: &sqlparser::ast::Select) -> usize {
    select.projection.iter().filter(|i| series_item(i).is_some()).count()
}

/// `FROM generate_series(<the call's arguments>) AS __duckstore_series(generate_series)`.
fn series_from(f: &sqlparser::ast::Function) -> Option<sqlparser::ast::TableWithJoins> {
    let args = expr_args(&f.args)?;
    let template = format!("SELECT 1 FROM generate_series(NULL) AS {SERIES_ALIAS}(generate_series)");
    let mut parsed = Parser::parse_sql(&DuckDbDialect {}, &template).ok()?;
    let Some(Statement::Query(mut query)) = parsed.pop() else { return None };
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return None };
    let mut from = select.from.pop()?;
    let sqlparser::ast::TableFactor::Table { args: Some(table_args), .. } = &mut from.relation else { return None };
    table_args.args = args.into_iter().map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a))).collect();
    Some(from)
}

/// `generate_series` or `pg_catalog.generate_series`.
fn is_generate_series(name: &sqlparser::ast::ObjectName) -> bool {
    name_parts(name).is_some_and(|p| {
        matches!(
            p.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            ["generate_series"] | ["pg_catalog", "generate_series"]
        )
    })
}

/// A FROM item as PostgreSQL reads it (both session kinds): `pg_catalog.generate_series(…)` is
/// the engine's `generate_series(…)`, a series of int4 literals int4 values, a scalar function a
/// one-row relation, and the alias of a set-returning function the name of its value (in
/// PostgreSQL `FROM generate_series(…) s` makes `s` the value; in DuckDB the row). Answers
/// whether anything changed.
fn semantic_table_factor(factor: &mut sqlparser::ast::TableFactor) -> bool {
    let mut changed = sample_in_percent(factor);
    if let sqlparser::ast::TableFactor::Table { name, args: Some(_), .. } = factor {
        if let Some(parts) = name_parts(name)
            && parts.len() == 2
            && parts[0] == "pg_catalog"
        {
            *name = sqlparser::ast::ObjectName(vec![sqlparser::ast::ObjectNamePart::Identifier(Ident::new(&parts[1]))]);
            changed = true;
        }
        if let Some(replacement) = semantic_table_replacement(factor) {
            *factor = replacement;
            return true;
        }
        if scalar_in_from(factor)
            || zipped_unnest(factor)
            || json_set_function(factor)
            || super::jsonb_rewrite::json_to_record(factor)
            || super::byte_functions::byte_table_function(factor)
        {
            return true;
        }
    }
    if let sqlparser::ast::TableFactor::Table { name, args: Some(_), alias, .. } = factor {
        let value_function = name_parts(name)
            .and_then(|p| p.last().cloned())
            .is_some_and(|f| matches!(f.as_str(), "generate_series" | "unnest" | "range" | "generate_subscripts"));
        if value_function
            && let Some(alias) = alias
            && alias.columns.is_empty()
        {
            alias.columns = vec![sqlparser::ast::TableAliasColumnDef::from_name(alias.name.value.clone())];
            changed = true;
        }
    }
    changed
}

/// `TABLESAMPLE SYSTEM (n)` / `BERNOULLI (n)` without a unit: n percent, as PostgreSQL reads it
/// (DuckDB reads n rows, and refuses SYSTEM of a count). Answers whether it changed.
fn sample_in_percent(factor: &mut sqlparser::ast::TableFactor) -> bool {
    use sqlparser::ast::{TableSampleKind, TableSampleMethod, TableSampleUnit};
    let sqlparser::ast::TableFactor::Table { sample: Some(kind), .. } = factor else { return false };
    let (TableSampleKind::BeforeTableAlias(sample) | TableSampleKind::AfterTableAlias(sample)) = kind;
    if !matches!(sample.name, Some(TableSampleMethod::System | TableSampleMethod::Bernoulli)) {
        return false;
    }
    match sample.quantity.as_mut() {
        Some(quantity) if quantity.unit.is_none() => {
            quantity.unit = Some(TableSampleUnit::Percent);
            true
        }
        _ => false,
    }
}

/// A FROM item PostgreSQL answers differently: `generate_series` of int4 literals is a set of
/// integers (DuckDB's is BIGINT): a subquery casting the series, with the alias's value column.
fn semantic_table_replacement(factor: &sqlparser::ast::TableFactor) -> Option<sqlparser::ast::TableFactor> {
    let sqlparser::ast::TableFactor::Table { name, args: Some(args), alias, with_ordinality: false, .. } = factor
    else {
        return None;
    };
    if !is_generate_series(name) {
        return None;
    }
    // (more column names than the one column is PostgreSQL's error, DuckDB's to give)
    if alias.as_ref().is_some_and(|a| a.columns.len() > 1) {
        return None;
    }
    let bounds: Vec<String> = args
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if int4_literal(e) => Some(e.to_string()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if !(2..=3).contains(&bounds.len()) {
        return None;
    }
    // the bounds are integer literals (checked above): nothing of the client's text but digits.
    // The series still streams (a list would be built whole); its bounds are BIGINT casts,
    // which this replacement does not match again.
    let bounds: Vec<String> = bounds.iter().map(|b| format!("CAST({b} AS BIGINT)")).collect();
    let sql = format!(
        "SELECT * FROM (SELECT CAST(generate_series AS INTEGER) AS s FROM generate_series({})) AS s(s)",
        bounds.join(", ")
    );
    let statement =
        with_stack_room(|| Parser::new(&DuckDbDialect {}).try_with_sql(&sql).and_then(|mut p| p.parse_statement()))
            .ok()?;
    let Statement::Query(query) = statement else { return None };
    let sqlparser::ast::SetExpr::Select(select) = *query.body else { return None };
    let mut relation = select.from.into_iter().next()?.relation;
    if let sqlparser::ast::TableFactor::Derived { alias: Some(new_alias), .. } = &mut relation {
        let name = alias.as_ref().map_or_else(|| Ident::new("generate_series"), |a| a.name.clone());
        let column = alias.as_ref().and_then(|a| a.columns.first()).map_or_else(|| name.clone(), |c| c.name.clone());
        new_alias.name = name;
        new_alias.columns = vec![sqlparser::ast::TableAliasColumnDef::from_name(column.value.clone())];
        if let Some(c) = new_alias.columns.first_mut() {
            c.name = column;
        }
    }
    Some(relation)
}

/// `(SELECT value FROM relation WHERE key = __arg0 [AND second = __arg1] LIMIT 1)`, with the
/// relation's columns renamed inside a derived table first: an argument naming a column of the
/// client's query (`pg_get_viewdef(oid)`, `pg_table_is_visible(c.oid)`) then finds the client's
/// relation, never the one the lookup reads. `second`: a column compared with `__arg1`, or a
/// condition of its own (`objsubid = 0`).
fn lookup(value: &str, key: &str, second: Option<&str>, relation: &str) -> String {
    let (second_column, second_condition) = match second {
        None => (String::new(), ""),
        Some(condition) if condition.contains(' ') => {
            (format!(", {condition} AS __duckstore_lookup_second"), " AND __duckstore_lookup_second")
        }
        Some(column) => (format!(", {column} AS __duckstore_lookup_second"), " AND __duckstore_lookup_second = __arg1"),
    };
    format!(
        "(SELECT __duckstore_lookup_value FROM (SELECT {value} AS __duckstore_lookup_value, {key} AS __duckstore_lookup_key{second_column} \
         FROM {relation}) AS __duckstore_lookup WHERE __duckstore_lookup_key = __arg0{second_condition} LIMIT 1)"
    )
}

/// A relation's written name (`s.t`, `"S".T`, `t`) as its schema and name: read as an
/// identifier (quotes kept, other names folded to lower case), or, where no identifier reads
/// it (`in.c-x.t`), split at its last dot as written.
fn relation_name(name: &str) -> (Option<String>, String) {
    match parse_identifier(name).as_deref() {
        Some([relation]) => (None, relation.clone()),
        Some([.., schema, relation]) => (Some(schema.clone()), relation.clone()),
        _ => match name.rsplit_once('.') {
            Some((s, r)) => (Some(s.trim_matches('"').to_owned()), r.trim_matches('"').to_owned()),
            None => (None, name.trim_matches('"').to_owned()),
        },
    }
}

/// `pg_class c` with its namespace `n`, for [`lookup`].
const CLASS_WITH_NAMESPACE: &str = "pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";
const TYPE_WITH_NAMESPACE: &str = "pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace";

/// An identifier as `quote_ident` prints it (quoted unless a plain lower-case name), for a
/// relation's and a schema's name in catalog templates.
const QUOTED_RELNAME: &str = "CASE WHEN regexp_full_match(c.relname, '[a-z_][a-z0-9_$]*') THEN c.relname \
     ELSE '\"' || replace(c.relname, '\"', '\"\"') || '\"' END";
const QUOTED_NSPNAME: &str = "CASE WHEN regexp_full_match(n.nspname, '[a-z_][a-z0-9_$]*') THEN n.nspname \
     ELSE '\"' || replace(n.nspname, '\"', '\"\"') || '\"' END";

fn arithmetic(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
    )
}

/// An integer literal PostgreSQL types as int4 (`7`, `-2147483648`).
/// PostgreSQL's number functions DuckDB lacks or types otherwise: round() and sign() of a
/// value written as a float or an integer are of double precision (an integer is taken as
/// one), and that round rounds half to even; div() is the truncated quotient, a numeric;
/// gcd() and lcm() of int4s are int4s.
fn number_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    let name = pg_function_name(f)?;
    let name = name.as_str();
    let args = expr_args(&f.args)?;
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    match (name, args.as_slice()) {
        // (as `^`: the engine's macro refuses what PostgreSQL refuses)
        ("power" | "pow", [_, _]) => return Some(call("duckstore_power", args)),
        ("div", [a, b]) => {
            let quotient = call("trunc", vec![call(crate::engine::numeric::DIVIDE, vec![a.clone(), b.clone()])]);
            return Some(cast_to(
                quotient,
                DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, 0)),
            ));
        }
        ("gcd" | "lcm", [a, b]) if [a, b].iter().all(|e| written_as_int4(e)) => {
            return Some(cast_to(call(name, args.clone()), DataType::Integer(None)));
        }
        ("width_bucket", [_, _, _, _]) => return Some(call("duckstore_width_bucket", args)),
        ("justify_hours" | "justify_days" | "justify_interval", [_]) => {
            return Some(call(&format!("duckstore_{name}"), args));
        }
        // sign() of a numeric is a numeric (DuckDB's a TINYINT)
        ("sign", [arg]) if written_as_numeric(arg) => {
            return Some(cast_to(
                call("sign", args.clone()),
                DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, 0)),
            ));
        }
        _ => {}
    }
    let [arg] = args.as_slice() else { return None };
    if !matches!(name, "round" | "sign") {
        return None;
    }
    let float = match written_number_kind(arg)? {
        NumberKind::Float => arg.clone(),
        NumberKind::Integer => cast_to(arg.clone(), DataType::Float8),
    };
    let double = DataType::Double(sqlparser::ast::ExactNumberInfo::None);
    Some(match name {
        // (DuckDB's round_even rounds a negative half away from zero; the value is named once)
        "round" => {
            let x = operand(0);
            with_operands(&format!("sign({x}) * round_even(abs({x}), 0)"), vec![float]).ok()?
        }
        _ => cast_to(call("sign", vec![float]), double),
    })
}

enum NumberKind {
    Integer,
    Float,
}

/// A numeric by how it is written: a literal with a decimal point, or a cast to numeric.
fn written_as_numeric(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) | Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => {
            written_as_numeric(inner)
        }
        Expr::Value(v) => matches!(&v.value, Value::Number(n, _) if n.contains('.')),
        Expr::Cast { data_type: DataType::Decimal(_) | DataType::Numeric(_), .. } => true,
        _ => false,
    }
}

/// percentile_cont() orders its values as double precision, as PostgreSQL's (DuckDB's keeps a
/// numeric's scale and rounds its answer to it): each WITHIN GROUP value times a double one,
/// which leaves an interval an interval. Answers whether anything changed.
fn continuous_percentile_of_doubles(f: &mut sqlparser::ast::Function) -> bool {
    if f.within_group.is_empty() || pg_function_name(f).as_deref() != Some("percentile_cont") {
        return false;
    }
    for order in &mut f.within_group {
        let value = std::mem::replace(&mut order.expr, Expr::value(Value::Null));
        order.expr = Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(value))),
            op: BinaryOperator::Multiply,
            right: Box::new(cast_to(number(1), DataType::Float8)),
        };
    }
    true
}

/// Whether `e` is written as an integer (a literal or a cast to an integer type) or as a float
/// (a cast to one).
fn written_number_kind(e: &Expr) -> Option<NumberKind> {
    match e {
        _ if int4_literal(e) => Some(NumberKind::Integer),
        Expr::Nested(inner) | Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => {
            written_number_kind(inner)
        }
        Expr::Cast { data_type, .. } if integer_type(data_type) => Some(NumberKind::Integer),
        Expr::Cast {
            data_type:
                DataType::Double(_)
                | DataType::DoublePrecision
                | DataType::Float8
                | DataType::Float4
                | DataType::Real
                | DataType::Float(_),
            ..
        } => Some(NumberKind::Float),
        _ => None,
    }
}

/// A number other than a real by how it is written: a numeric literal, or a cast to an integer,
/// numeric or double precision type.
fn written_as_other_number(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => written_as_other_number(inner),
        Expr::Value(v) => matches!(v.value, Value::Number(..)),
        Expr::Cast { data_type: DataType::Decimal(_) | DataType::Numeric(_), .. } => true,
        _ => !written_as_real(e) && written_number_kind(e).is_some(),
    }
}

/// An int4 by how it is written: an integer literal in its range, or a cast to integer.
fn written_as_int4(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => written_as_int4(inner),
        Expr::Cast { data_type: DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_), .. } => true,
        _ => int4_literal(e),
    }
}

/// smallint, integer or bigint, however written.
fn integer_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::SmallInt(_)
            | DataType::Int(_)
            | DataType::Integer(_)
            | DataType::BigInt(_)
            | DataType::Int2(_)
            | DataType::Int4(_)
            | DataType::Int8(_)
    )
}

/// A real by how it is written: a cast to float4.
fn written_as_real(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => written_as_real(inner),
        Expr::Cast { data_type, .. } => matches!(postgres_float(data_type), DataType::Float4 | DataType::Real),
        _ => false,
    }
}

fn int4_literal(e: &Expr) -> bool {
    let (negative, inner) = match e {
        Expr::UnaryOp { op: sqlparser::ast::UnaryOperator::Minus, expr } => (true, &**expr),
        other => (false, other),
    };
    let Expr::Value(v) = inner else { return false };
    let Value::Number(n, _) = &v.value else { return false };
    n.bytes().all(|b| b.is_ascii_digit())
        && n.parse::<i64>().is_ok_and(|i| i32::try_from(if negative { -i } else { i }).is_ok())
}

/// `value` (a time, or a timestamp with or without a zone) rounded to `digits` (0–5) fractional
/// digits, as PostgreSQL's typmod rounds it (the engine's macros, see exec::catalog).
fn round_time_to_digits(value: Expr, digits: u64, time: bool) -> Option<Expr> {
    let scale = 10_i64.pow(u32::try_from(6 - digits).ok()?);
    let macro_name = if time { "duckstore_round_time" } else { "duckstore_round_timestamp" };
    Some(call(macro_name, vec![value, number(scale)]))
}

/// DuckDB's form of a date written with PostgreSQL's ` BC` (`0044-03-15 (BC)`); None for any
/// other text.
fn bc_date(written: &str) -> Option<String> {
    let trimmed = written.trim();
    let date = trimmed.len().checked_sub(3).and_then(|at| {
        let (date, era) = trimmed.split_at_checked(at)?;
        era.eq_ignore_ascii_case(" bc").then_some(date.trim_end())
    })?;
    let fields: Vec<&str> = date.split('-').collect();
    let plain = matches!(fields.as_slice(), [y, m, d]
        if (1..=7).contains(&y.len()) && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()))
        && fields.iter().all(|f| f.bytes().all(|b| b.is_ascii_digit()));
    plain.then(|| format!("{date} (BC)"))
}

fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => is_literal(expr),
        Expr::Value(_) => true,
        _ => false,
    }
}

/// `CAST(x AS TIME)`, `x::time`, `TIME '…'` (without a zone).
fn is_time(e: &Expr) -> bool {
    use sqlparser::ast::TimezoneInfo;
    let plain = |t: &DataType| matches!(t, DataType::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone));
    match e {
        Expr::Nested(inner) => is_time(inner),
        Expr::Cast { data_type, .. } => plain(data_type),
        Expr::TypedString(typed) => plain(&typed.data_type),
        _ => false,
    }
}

/// `CAST(x AS DATE)`, `x::date`, `DATE '…'`.
fn is_date(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_date(inner),
        Expr::Cast { data_type, .. } => matches!(data_type, DataType::Date),
        Expr::TypedString(typed) => matches!(typed.data_type, DataType::Date),
        _ => false,
    }
}

/// The engine's function a jsonb function is (the engine's JSON is printed as jsonb on the wire,
/// see `pg::jsonb`); renamed in place, its ORDER BY, FILTER and OVER kept.
fn jsonb_engine_name(f: &sqlparser::ast::Function) -> Option<&'static str> {
    let name = pg_function_name(f)?;
    let name = name.as_str();
    Some(match name {
        "jsonb_build_object" => "json_object",
        "jsonb_build_array" => "json_array",
        "jsonb_object_agg" => "json_group_object",
        "to_jsonb" => "to_json",
        _ => return None,
    })
}

/// A value's json text as PostgreSQL's json builders write it: a number as written, NULL as
/// `null`, anything else as the engine's JSON of it (SQL text over `__argN`).
/// The engine's macro for a value's JSON as PostgreSQL writes it (exec::catalog).
const JSON_VALUE: &str = "duckstore_to_json";

fn json_text_sql(value: &Expr, n: usize) -> String {
    match value {
        Expr::Value(v) if matches!(&v.value, Value::Number(..)) => format!("'{}'", v.value),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } if matches!(&**expr, Expr::Value(v) if matches!(&v.value, Value::Number(..))) =>
        {
            format!("'{value}'")
        }
        _ => format!("coalesce(CAST({JSON_VALUE}(__arg{n}) AS VARCHAR), 'null')"),
    }
}

/// PostgreSQL's json functions, as the text PostgreSQL writes (`{"a" : 1, "b" : [1,2]}`,
/// `["x", "y"]`, `{ "k" : 1 }`) and its json type functions: `json_build_object`,
/// `json_build_array`, `json_agg` and `json_object_agg` (their ORDER BY, FILTER and OVER kept),
/// `json(b)_typeof`, `json(b)_array_length`. Each operand named once. `None`: not one of them.
fn json_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    let name = pg_function_name(f)?;
    let name = name.as_str();
    let as_json = |sql: String, args: &[Expr]| template(&format!("CAST({sql} AS JSON)"), args).ok();
    match name {
        "json_build_object" => {
            let args = expr_args(&f.args)?;
            if args.len() % 2 != 0 {
                return None;
            }
            if args.is_empty() {
                return as_json("'{}'".into(), &[]);
            }
            let pairs: Vec<String> = (0..args.len() / 2)
                .map(|i| {
                    let (k, v) = (2 * i, 2 * i + 1);
                    format!(
                        "CAST(to_json(CAST(__arg{k} AS VARCHAR)) AS VARCHAR) || ' : ' || {}",
                        json_text_sql(&args[v], v)
                    )
                })
                .collect();
            as_json(format!("'{{' || concat_ws(', ', {}) || '}}'", pairs.join(", ")), &args)
        }
        "json_build_array" => {
            let args = expr_args(&f.args)?;
            if args.is_empty() {
                return as_json("'[]'".into(), &[]);
            }
            let items: Vec<String> = args.iter().enumerate().map(|(i, a)| json_text_sql(a, i)).collect();
            as_json(format!("'[' || concat_ws(', ', {}) || ']'", items.join(", ")), &args)
        }
        "json_agg" | "json_object_agg" => {
            let FunctionArguments::List(list) = &f.args else { return None };
            let values: Vec<Expr> = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let (element, open, close) = match values.as_slice() {
                [value] if name == "json_agg" => (template(&json_text_sql(value, 0), &values).ok()?, "'['", "']'"),
                [key, value] if name == "json_object_agg" => (
                    template(
                        &format!(
                            "CAST(to_json(CAST(__arg0 AS VARCHAR)) AS VARCHAR) || ' : ' || {}",
                            json_text_sql(value, 1)
                        ),
                        &[key.clone(), value.clone()],
                    )
                    .ok()?,
                    "'{ '",
                    "' }'",
                ),
                _ => return None,
            };
            let mut aggregate = f.clone();
            aggregate.name = ObjectName::from(vec![Ident::new("string_agg")]);
            let FunctionArguments::List(list) = &mut aggregate.args else { return None };
            list.args = vec![
                FunctionArg::Unnamed(FunctionArgExpr::Expr(element)),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(text(", "))),
            ];
            as_json(format!("{open} || __arg0 || {close}"), &[Expr::Function(aggregate)])
        }
        // a value's JSON as PostgreSQL writes it (a timestamp's `T`, a float's "NaN")
        "to_json" => {
            let [value] = expr_args(&f.args)?.try_into().ok()?;
            Some(call(JSON_VALUE, vec![value]))
        }
        // (the engine's json_group_array is a macro, which takes no ORDER BY)
        "jsonb_agg" => {
            let mut aggregate = f.clone();
            aggregate.name = ObjectName::from(vec![Ident::new("list")]);
            Some(call("to_json", vec![Expr::Function(aggregate)]))
        }
        "json_typeof" | "jsonb_typeof" => {
            let [value] = expr_args(&f.args)?.try_into().ok()?;
            with_operands(
                &format!(
                    "CASE json_type(CAST({} AS JSON)) WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' \
                 WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' \
                 WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' WHEN 'DOUBLE' THEN 'number' END",
                    operand(0)
                ),
                vec![value],
            )
            .ok()
        }
        "json_array_length" | "jsonb_array_length" => {
            let [value] = expr_args(&f.args)?.try_into().ok()?;
            Some(cast_to(call("json_array_length", vec![cast_to(value, DataType::JSON)]), DataType::Integer(None)))
        }
        _ => None,
    }
}

/// The json set functions [`json_set_function`] replaces. Never `json_each`: the replacements
/// read the engine's, and the visitor descends into them (replacing it there recursed until the
/// stack overflowed and the server aborted). The engine's own `json_each` answers PostgreSQL's
/// `key` and `value` columns (and more of its own).
const JSON_SET_FUNCTIONS: &[&str] = &[
    "json_each_text",
    "jsonb_each_text",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
    "jsonb_each",
    "json_array_elements",
    "jsonb_array_elements",
];

/// PostgreSQL's json set functions in FROM as derived tables over the engine's `json_each`,
/// with PostgreSQL's columns: `json(b)_each` (key, value), `json(b)_array_elements` (value),
/// `json(b)_each_text` (key, value as text),
/// `json(b)_array_elements_text` (value as text, WITH ORDINALITY its position),
/// `json(b)_object_keys` (one column, named by the alias). Answers whether it replaced `factor`.
fn json_set_function(factor: &mut sqlparser::ast::TableFactor) -> bool {
    const TEXT: &str =
        "CASE WHEN type = 'VARCHAR' THEN value ->> '$' WHEN type = 'NULL' THEN NULL ELSE CAST(value AS VARCHAR) END";
    let sqlparser::ast::TableFactor::Table { name, args: Some(args), alias, with_ordinality, .. } = factor else {
        return false;
    };
    let Some(parts) = name_parts(name) else { return false };
    let function = match parts.as_slice() {
        [f] => f.clone(),
        [schema, f] if schema == "pg_catalog" => f.clone(),
        _ => return false,
    };
    if !JSON_SET_FUNCTIONS.contains(&function.as_str()) {
        return false;
    }
    let (select, scalar) = match function.as_str() {
        "json_each_text" | "jsonb_each_text" => (format!("key, {TEXT} AS value"), false),
        "json_array_elements_text" | "jsonb_array_elements_text" => (format!("{TEXT} AS value"), false),
        "json_object_keys" | "jsonb_object_keys" => (format!("key AS \"{function}\""), true),
        // (the value a json or jsonb document: lineage::written_types types it by the call)
        "jsonb_each" => ("key, value".to_owned(), false),
        "json_array_elements" | "jsonb_array_elements" => ("value".to_owned(), false),
        _ => return false,
    };
    // (the replacement reads the engine's `json_each`, which is none of these: the visitor that
    // descends into it must not meet a name it replaces, or it would replace forever)
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(document))] = args.args.as_slice() else { return false };
    // a jsonb object's keys come shortest (in bytes) first, then in byte order, as jsonb keeps
    // them; a json document's, and any array's elements, in the document's order, which the
    // engine's node ids follow. WITH ORDINALITY numbers the rows in that order.
    let order = match function.as_str() {
        "jsonb_each" | "jsonb_each_text" | "jsonb_object_keys" => "strlen(key), key",
        _ => "id",
    };
    let ordinality =
        if *with_ordinality { format!(", row_number() OVER (ORDER BY {order}) AS ordinality") } else { String::new() };
    let sql = format!("SELECT {select}{ordinality} FROM json_each(CAST(__arg0 AS JSON)) ORDER BY {order}");
    let Ok(Statement::Query(mut query)) =
        with_stack_room(|| Parser::new(&DuckDbDialect {}).try_with_sql(&sql).and_then(|mut p| p.parse_statement()))
    else {
        return false;
    };
    let document = document.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut *query, |e| {
        if matches!(e, Expr::Identifier(i) if i.value == "__arg0") {
            *e = Expr::Nested(Box::new(document.clone()));
        }
        ControlFlow::<()>::Continue(())
    });
    let mut new_alias = alias.clone().unwrap_or_else(|| sqlparser::ast::TableAlias {
        explicit: true,
        name: Ident::new(&function),
        columns: vec![],
        at: None,
    });
    // a function of one unnamed column: the alias names it
    if scalar && new_alias.columns.is_empty() {
        new_alias.columns = vec![sqlparser::ast::TableAliasColumnDef::from_name(new_alias.name.value.clone())];
    }
    *factor =
        sqlparser::ast::TableFactor::Derived { lateral: false, subquery: query, alias: Some(new_alias), sample: None };
    true
}

/// PostgreSQL's date/time functions DuckDB lacks or answers otherwise: `to_char` of a date or
/// timestamp by a written template, `to_timestamp` and `to_date` of a text by one (see
/// [`super::datetime_format`]), `date_part` as double precision (its seconds with their
/// fraction), `make_interval`, and `date_trunc` of a date as a timestamp with time zone. Each
/// operand is named once. `None`: not one of them, or not with such arguments.
fn datetime_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    use super::datetime_format::{Case, Piece};
    let name = pg_function_name(f)?;
    let name = name.as_str();
    let quoted = |s: &str| s.replace('\'', "''");
    if name == "make_interval" {
        return make_interval(f);
    }
    let args = expr_args(&f.args)?;
    match (name, args.as_slice()) {
        // the wall clock at each call; the transaction's start (a statement's start is not kept:
        // within a transaction block statement_timestamp() answers the block's start)
        ("clock_timestamp", []) => Some(call(crate::engine::clock::CLOCK_TIMESTAMP, vec![])),
        ("transaction_timestamp" | "statement_timestamp", []) => Some(call("now", vec![])),
        ("to_char", [value, template]) if !matches!(value, Expr::Value(_)) => {
            let pieces = super::datetime_format::for_formatting(string_literal(template)?)?;
            let sql: Vec<String> = pieces
                .iter()
                .map(|piece| match piece {
                    Piece::Format(f) => format!("strftime({}, '{}')", operand(0), quoted(f)),
                    Piece::Name { specifier, case, padded } => {
                        let mut name = format!("strftime({}, '{specifier}')", operand(0));
                        if *padded {
                            name = format!("rpad({name}, 9, ' ')");
                        }
                        match case {
                            Case::Upper => format!("upper({name})"),
                            Case::Lower => format!("lower({name})"),
                            Case::Capitalized => name,
                        }
                    }
                    Piece::DayOfWeek => format!("CAST(dayofweek({}) + 1 AS VARCHAR)", operand(0)),
                    Piece::Quarter => format!("CAST(quarter({}) AS VARCHAR)", operand(0)),
                })
                .collect();
            with_operands(&sql.join(" || "), vec![value.clone()]).ok()
        }
        ("to_timestamp" | "to_date", [text, template]) => {
            let format = super::datetime_format::for_parsing(string_literal(template)?)?;
            let parsed = template_once(&format!("strptime(__arg0, '{}')", quoted(&format)), text)?;
            Some(cast_to(
                parsed,
                if name == "to_date" {
                    DataType::Date
                } else {
                    DataType::Timestamp(None, sqlparser::ast::TimezoneInfo::WithTimeZone)
                },
            ))
        }
        ("date_part" | "datepart", [field, value]) => {
            let field = string_literal(field)?.to_ascii_lowercase();
            let sql = match field.as_str() {
                "second" | "seconds" => "CAST(date_part('microseconds', __arg0) AS DOUBLE) / 1000000",
                "millisecond" | "milliseconds" => "CAST(date_part('microseconds', __arg0) AS DOUBLE) / 1000",
                "julian" | "timezone" | "timezone_hour" | "timezone_minute" => return None,
                other => {
                    return Some(cast_to(
                        call("date_part", vec![text(other), value.clone()]),
                        DataType::Double(sqlparser::ast::ExactNumberInfo::None),
                    ));
                }
            };
            template_once(sql, value)
        }
        ("date_trunc", [field, value]) if is_date(value) => Some(cast_to(
            call("date_trunc", vec![field.clone(), value.clone()]),
            DataType::Timestamp(None, sqlparser::ast::TimezoneInfo::WithTimeZone),
        )),
        _ => None,
    }
}

/// Whether a written template is a number's (`9,999.99`, `FM990D00`): digit positions, and no
/// letter of a date's or time's fields.
fn is_number_template(template: &str) -> bool {
    let upper = template.to_ascii_uppercase();
    upper.contains(['9', '0'])
        && !upper.contains(['Y', 'H', 'W', 'Q', 'J', 'T', 'A', 'U', 'C', 'B', 'K', 'O', 'X', 'Z'])
        && !["MM", "DD", "SS", "MON"].iter().any(|field| upper.contains(field))
}

/// `to_char(number, template)` and `to_number(text, template)` with a written number template,
/// as the engine's functions over PostgreSQL's templates (crate::number_format): to_char of
/// the number's text, to_number's answer a numeric of the template's scale.
fn number_template_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let name = pg_function_name(f)?;
    if !matches!(name.as_str(), "to_char" | "to_number") {
        return None;
    }
    let [value, template] = expr_args(&f.args)?.try_into().ok()?;
    let written = string_literal(&template)?;
    if !is_number_template(written) {
        return None;
    }
    Some(match name.as_str() {
        "to_char" => call("duckstore_to_char_number", vec![cast_to(value, DataType::Varchar(None)), template]),
        _ => {
            let scale = crate::number_format::template_scale(written)?;
            cast_to(
                call("duckstore_to_number", vec![cast_to(value, DataType::Varchar(None)), template]),
                DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, i64::from(scale))),
            )
        }
    })
}

/// `sql` with its one `__arg0` (named once) replaced by `operand`.
fn template_once(sql: &str, operand: &Expr) -> Option<Expr> {
    template(sql, std::slice::from_ref(operand)).ok()
}

/// `make_interval(years => …, months => …, weeks => …, days => …, hours => …, mins => …, secs =>
/// …)`, by name or position, as a sum of the engine's intervals; each argument named once.
fn make_interval(f: &sqlparser::ast::Function) -> Option<Expr> {
    const FIELDS: [(&str, &str); 7] = [
        ("years", "to_years(CAST(__arg0 AS INTEGER))"),
        ("months", "to_months(CAST(__arg0 AS INTEGER))"),
        ("weeks", "to_days(CAST(__arg0 AS INTEGER) * 7)"),
        ("days", "to_days(CAST(__arg0 AS INTEGER))"),
        ("hours", "to_hours(CAST(__arg0 AS BIGINT))"),
        ("mins", "to_minutes(CAST(__arg0 AS BIGINT))"),
        ("secs", "to_microseconds(CAST(round(CAST(__arg0 AS DOUBLE) * 1000000) AS BIGINT))"),
    ];
    let FunctionArguments::List(list) = &f.args else { return None };
    let mut sum: Option<Expr> = None;
    for (position, arg) in list.args.iter().enumerate() {
        let (field, value) = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) => (FIELDS.get(position)?.0.to_owned(), value),
            FunctionArg::Named { name, arg: FunctionArgExpr::Expr(value), .. }
            | FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(value), .. } => {
                (name.value.to_ascii_lowercase(), value)
            }
            _ => return None,
        };
        let (_, sql) = FIELDS.iter().find(|(n, _)| *n == field)?;
        let part = template_once(sql, value)?;
        sum = Some(match sum {
            None => part,
            Some(left) => Expr::BinaryOp { left: Box::new(left), op: BinaryOperator::Plus, right: Box::new(part) },
        });
    }
    Some(sum.unwrap_or_else(|| template_once("to_seconds(0)", &null()).unwrap_or_else(null)))
}

/// PostgreSQL's array functions DuckDB lacks: `array_lower(a, 1)` and `array_upper(a, 1)` (an
/// array here is one-dimensional, from 1), `parse_ident('written.name')` (of a written name: its
/// parts as PostgreSQL reads them). `None`: not one of them, or not with such arguments.
fn array_function(f: &sqlparser::ast::Function) -> Option<Expr> {
    let name = pg_function_name(f)?;
    let name = name.as_str();
    let args = expr_args(&f.args)?;
    // (a lambda's parameter has a name no client writes by accident)
    let each = |body: &str, args: &[Expr]| template(body, args).ok();
    match (name, args.as_slice()) {
        // an empty array has no dimensions: its length is NULL
        ("array_length", [array, dimension]) => {
            let first = matches!(dimension, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n == "1"));
            let length = if first {
                with_operands(&format!("CASE WHEN len({v}) > 0 THEN len({v}) END", v = operand(0)), vec![array.clone()])
                    .ok()?
            } else {
                null()
            };
            Some(cast_to(length, DataType::Integer(None)))
        }
        ("cardinality", [array]) => Some(cast_to(call("len", vec![array.clone()]), DataType::Integer(None))),
        ("array_dims", [array]) => with_operands(
            &format!("CASE WHEN len({v}) > 0 THEN '[1:' || len({v}) || ']' END", v = operand(0)),
            vec![array.clone()],
        )
        .ok(),
        // NULL elements as the third argument's text (the engine's skips them, as two arguments do)
        ("array_to_string", [array, delimiter, null_text]) => each(
            "array_to_string(list_transform(__arg0, duckstore_x -> coalesce(CAST(duckstore_x AS VARCHAR), __arg2)), __arg1)",
            &[array.clone(), delimiter.clone(), null_text.clone()],
        ),
        // fields equal to the third argument are NULL
        ("string_to_array", [text_value, delimiter, null_text]) => each(
            "list_transform(string_to_array(__arg0, __arg1), duckstore_x -> CASE WHEN duckstore_x = __arg2 THEN NULL ELSE duckstore_x END)",
            &[text_value.clone(), delimiter.clone(), null_text.clone()],
        ),
        // (NULL removes and replaces NULLs, as IS NOT DISTINCT FROM)
        ("array_remove", [array, value]) => each(
            "list_filter(__arg0, duckstore_x -> duckstore_x IS DISTINCT FROM __arg1)",
            &[array.clone(), value.clone()],
        ),
        ("array_replace", [array, from, to]) => each(
            "list_transform(__arg0, duckstore_x -> CASE WHEN duckstore_x IS NOT DISTINCT FROM __arg1 THEN __arg2 ELSE duckstore_x END)",
            &[array.clone(), from.clone(), to.clone()],
        ),
        ("array_lower" | "array_upper", [array, dimension]) => {
            let first = matches!(dimension, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n == "1"));
            let bound = if !first {
                null()
            } else if name == "array_lower" {
                with_operands(&format!("CASE WHEN len({}) > 0 THEN 1 END", operand(0)), vec![array.clone()]).ok()?
            } else {
                // (not nullif(len(a), 0): the engine's nullif copies its first operand)
                with_operands(&format!("CASE WHEN len({v}) > 0 THEN len({v}) END", v = operand(0)), vec![array.clone()])
                    .ok()?
            };
            Some(cast_to(bound, DataType::Integer(None)))
        }
        ("parse_ident", [written]) => {
            let parts = parse_identifier(string_literal(written)?)?;
            Some(cast_to(
                Expr::Array(sqlparser::ast::Array { elem: parts.into_iter().map(text).collect(), named: true }),
                DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(Box::new(DataType::Text), None)),
            ))
        }
        _ => None,
    }
}

/// A qualified name's parts as PostgreSQL's `parse_ident` reads them: dot-separated, a quoted
/// part as written (`""` one quote), an unquoted one in lower case, spaces around parts ignored.
/// `None` where PostgreSQL would refuse it.
fn parse_identifier(written: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut chars = written.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
            if part.is_empty() {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() {
                    break;
                }
                if !(c.is_alphanumeric() || c == '_' || c == '$') {
                    return None;
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
            if part.is_empty() {
                return None;
            }
        }
        parts.push(part);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(parts),
            Some('.') => {}
            Some(_) => return None,
        }
    }
}

/// A scalar function PostgreSQL lets stand in FROM as a one-row relation of its value, the
/// column named by the alias (Grafana's `FROM string_to_array(current_setting('search_path'),
/// ',') s`): a derived table of that one row. Answers whether it replaced `factor`.
/// `unnest(a, b, …) AS t(x, y, …)` in FROM, which the engine's unnest does not take: the arrays
/// side by side, the shorter padded with NULLs, as PostgreSQL's (the engine's select-list
/// unnests zip so). Without names for every column, left to the engine.
fn zipped_unnest(factor: &mut sqlparser::ast::TableFactor) -> bool {
    use sqlparser::ast::{SelectItem, TableFactor};
    let TableFactor::Table { name, args: Some(args), alias: Some(alias), with_ordinality: false, .. } = factor else {
        return false;
    };
    let Some(parts) = name_parts(name) else { return false };
    if !matches!(parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice(), ["unnest"] | ["pg_catalog", "unnest"])
    {
        return false;
    }
    let Some(arrays) = args
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect::<Option<Vec<Expr>>>()
    else {
        return false;
    };
    if arrays.len() < 2 || alias.columns.len() != arrays.len() {
        return false;
    }
    let Ok(Statement::Query(mut query)) = with_stack_room(|| {
        Parser::new(&DuckDbDialect {}).try_with_sql("SELECT 1").and_then(|mut p| p.parse_statement())
    }) else {
        return false;
    };
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return false };
    select.projection = arrays
        .into_iter()
        .zip(&alias.columns)
        .map(|(array, column)| SelectItem::ExprWithAlias {
            expr: call("unnest", vec![array]),
            alias: column.name.clone(),
        })
        .collect();
    let mut new_alias = alias.clone();
    for column in &mut new_alias.columns {
        column.data_type = None;
    }
    *factor = TableFactor::Derived { lateral: false, subquery: query, alias: Some(new_alias), sample: None };
    true
}

fn scalar_in_from(factor: &mut sqlparser::ast::TableFactor) -> bool {
    let sqlparser::ast::TableFactor::Table { name, args: Some(args), alias, with_ordinality: false, .. } = factor
    else {
        return false;
    };
    let Some(parts) = name_parts(name) else { return false };
    if !matches!(
        parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["string_to_array"] | ["pg_catalog", "string_to_array"]
    ) {
        return false;
    }
    let relation = alias.as_ref().map_or_else(|| Ident::new("string_to_array"), |a| a.name.clone());
    let column = alias.as_ref().and_then(|a| a.columns.first()).map_or_else(|| relation.clone(), |c| c.name.clone());
    let Ok(Statement::Query(mut query)) = with_stack_room(|| {
        Parser::new(&DuckDbDialect {})
            .try_with_sql("SELECT string_to_array(NULL, NULL) AS c")
            .and_then(|mut p| p.parse_statement())
    }) else {
        return false;
    };
    let sqlparser::ast::SetExpr::Select(select) = query.body.as_mut() else { return false };
    let Some(sqlparser::ast::SelectItem::ExprWithAlias { expr: Expr::Function(call), alias: item }) =
        select.projection.first_mut()
    else {
        return false;
    };
    let FunctionArguments::List(list) = &mut call.args else { return false };
    list.args = std::mem::take(&mut args.args);
    *item = column;
    *factor = sqlparser::ast::TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(sqlparser::ast::TableAlias { explicit: true, name: relation, columns: vec![], at: None }),
        sample: None,
    };
    true
}

/// PostgreSQL's average of integers or numerics is an exact numeric (DuckDB's is a double):
/// `avg(x)` as the engine's division (engine::numeric) of `sum(x)`, made a decimal, by
/// `count(x)`, with the call's DISTINCT, ORDER BY, FILTER and OVER on both; a float's stays a
/// float. (An interval's is refused: the engine has no sum of intervals.) The call is copied,
/// so only a small one without subqueries is rewritten: an average nested in its own FILTER,
/// ORDER BY or operand could otherwise double the text at each level.
fn average(f: &sqlparser::ast::Function) -> Option<Expr> {
    const LARGEST_COPIED: usize = 64;
    let parts = name_parts(&f.name)?;
    if !matches!(parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice(), ["avg"] | ["pg_catalog", "avg"]) {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else { return None };
    if !matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Expr(_))]) || !f.within_group.is_empty() {
        return None;
    }
    // (the whole call is copied: its FILTER, ORDER BY and OVER as much as its operand)
    let (mut size, mut subquery) = (0, false);
    let _ = sqlparser::ast::visit_expressions(f, |e| {
        size += 1;
        subquery |= matches!(
            e,
            Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::In {
                    target: sqlparser::ast::InTarget::Subquery(_) | sqlparser::ast::InTarget::Table { .. },
                    ..
                }
        );
        ControlFlow::<()>::Continue(())
    });
    if size > LARGEST_COPIED || subquery {
        return None;
    }
    let renamed = |name: &str| {
        let mut call = f.clone();
        call.name = ObjectName::from(vec![Ident::new(name)]);
        Expr::Function(call)
    };
    let decimal = DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(1, 0));
    let sum = Expr::BinaryOp {
        left: Box::new(renamed("sum")),
        op: BinaryOperator::Multiply,
        right: Box::new(cast_to(number(1), decimal)),
    };
    Some(call(crate::engine::numeric::DIVIDE, vec![sum, renamed("count")]))
}

/// coalesce(), greatest() and least() with an integer literal beside other values: the literal
/// is an int4 in PostgreSQL, so `coalesce(smallint_column, 0)` is an integer (DuckDB's literal
/// takes the other values' type). Answers whether anything changed.
fn integer_literals_beside_values(f: &mut sqlparser::ast::Function) -> bool {
    let Some(name) = pg_function_name(f) else { return false };
    let name = name.as_str();
    if !matches!(name, "coalesce" | "greatest" | "least") {
        return false;
    }
    let FunctionArguments::List(list) = &mut f.args else { return false };
    let values = list.args.iter_mut().filter_map(|a| match a {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    });
    int4_literals_typed(values.collect())
}

/// Casts the int4 literals among `values` to INTEGER when some value is not a literal. Answers
/// whether anything changed.
fn int4_literals_typed(values: Vec<&mut Expr>) -> bool {
    if !values.iter().any(|v| !is_literal(v)) {
        return false;
    }
    let mut changed = false;
    for value in values {
        if int4_literal(value) {
            *value = cast_to(std::mem::replace(value, Expr::value(Value::Null)), DataType::Integer(None));
            changed = true;
        }
    }
    changed
}

/// PostgreSQL functions answering an integer where DuckDB's namesake answers a BIGINT.
fn int4_function(f: &sqlparser::ast::Function) -> bool {
    let Some(name) = pg_function_name(f) else { return false };
    let name = name.as_str();
    matches!(
        name,
        "length"
            | "char_length"
            | "character_length"
            | "octet_length"
            | "bit_length"
            | "strpos"
            | "array_length"
            | "array_position"
            | "cardinality"
            | "ntile"
            | "grouping"
    )
}

pub(super) fn cast_to(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast { kind: sqlparser::ast::CastKind::Cast, expr: Box::new(expr), data_type, format: None }
}

/// An unconstrained numeric keeps its digits in PostgreSQL; DuckDB's bare `DECIMAL`/`NUMERIC`
/// is DECIMAL(18,3) and would round '12.3456' to 12.346 silently. Tables' NUMERIC is
/// DECIMAL(38,9) (README); casts and a workspace's column definitions are the same.
pub const NUMERIC_AS_STORED: DataType = DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, 9));

/// The scale of a decimal literal (`'12.50'`, `-3.1`) when its digits fit DECIMAL(38, scale).
fn literal_scale(expr: &Expr) -> Option<i64> {
    // (a number written with an exponent, already a decimal of its scale)
    if let Expr::Cast {
        expr: inner,
        data_type: DataType::Decimal(sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale)),
        ..
    } = expr
        && matches!(&**inner, Expr::Value(v) if matches!(v.value, Value::Number(..)))
    {
        return Some(*scale);
    }
    let written = match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.as_str(),
            Value::SingleQuotedString(s) => s.as_str(),
            _ => return None,
        },
        _ => return None,
    };
    let digits = written.trim().trim_start_matches(['-', '+']);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole_digits = whole.trim_start_matches('0').len();
    (whole_digits + fraction.len() <= 38).then_some(fraction.len() as i64)
}

/// Whether `data_type` is `numeric` or `decimal` without precision (`pg_catalog.numeric` too).
pub fn is_unconstrained_numeric(data_type: &DataType) -> bool {
    use sqlparser::ast::ExactNumberInfo;
    match data_type {
        DataType::Numeric(ExactNumberInfo::None)
        | DataType::Decimal(ExactNumberInfo::None)
        | DataType::Dec(ExactNumberInfo::None) => true,
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            let written = name.to_string().to_lowercase();
            matches!(written.strip_prefix("pg_catalog.").unwrap_or(&written).trim_matches('"'), "numeric" | "decimal")
        }
        _ => false,
    }
}

/// The type PostgreSQL means by `float` or `float(p)`: real up to 24 bits, else double
/// precision; any other type as it is.
pub fn postgres_float(data_type: &DataType) -> DataType {
    use sqlparser::ast::ExactNumberInfo::{Precision, PrecisionAndScale};
    match data_type {
        DataType::Float(Precision(p) | PrecisionAndScale(p, _)) if *p <= 24 => DataType::Real,
        DataType::Float(_) => DataType::Float8,
        other => other.clone(),
    }
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if v.value == Value::Null)
}

/// A number literal with an exponent as a plain decimal and its scale (`1.5e-3` → `0.0015`,
/// 4); None past 38 digits.
fn plain_decimal(written: &str) -> Option<(String, i64)> {
    let (mantissa, exponent) = written.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok().filter(|e: &i64| e.abs() <= 38)?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) || whole.len() + fraction.len() == 0 {
        return None;
    }
    let mut digits = format!("{whole}{fraction}");
    let mut scale = fraction.len() as i64 - exponent;
    if scale < 0 {
        digits.push_str(&"0".repeat(-scale as usize));
        scale = 0;
    }
    let scale = scale as usize;
    let digits = digits.trim_start_matches('0');
    let digits = format!("{}{digits}", "0".repeat((scale + 1).saturating_sub(digits.len())));
    if digits.len() > 38 {
        return None;
    }
    let (int_part, frac_part) = digits.split_at(digits.len() - scale);
    let plain = if scale == 0 { int_part.to_owned() } else { format!("{int_part}.{frac_part}") };
    Some((plain, scale as i64))
}

/// Whether PostgreSQL's integer input reads `text` (spaces around, a sign, digits).
fn integer_text(text: &str) -> bool {
    let t = text.trim_matches([' ', '\t', '\n', '\r']);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A char(n) value by how it is written: a cast to char.
fn written_as_bpchar(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => written_as_bpchar(inner),
        Expr::Cast { data_type, .. } => matches!(data_type, DataType::Char(_) | DataType::Character(_)),
        _ => false,
    }
}

fn comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

/// A text by how it is written: a string, or a cast to a character type.
fn written_as_text(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::SingleQuotedString(_)),
        Expr::Nested(inner) => written_as_text(inner),
        Expr::Cast { data_type, .. } => matches!(
            data_type,
            DataType::Text
                | DataType::Varchar(_)
                | DataType::CharacterVarying(_)
                | DataType::CharVarying(_)
                | DataType::Char(_)
                | DataType::Character(_)
                | DataType::String(_)
        ),
        _ => false,
    }
}

/// An array by how it is written: `ARRAY[…]`, `ARRAY(SELECT …)` or a cast to an array type.
fn written_as_array(e: &Expr) -> bool {
    match e {
        Expr::Array(_) => true,
        Expr::Nested(inner) => written_as_array(inner),
        Expr::Cast { data_type: DataType::Array(_), .. } => true,
        Expr::Function(f) => {
            matches!(f.args, FunctionArguments::Subquery(_))
                && name_parts(&f.name).is_some_and(|p| p.last().is_some_and(|n| n == "array"))
        }
        _ => false,
    }
}

/// A single value by how it is written: a number (PostgreSQL reads a string beside an array
/// as an array's text).
fn written_as_element(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Number(..)),
        Expr::UnaryOp { expr, .. } => written_as_element(expr),
        Expr::Nested(inner) => written_as_element(inner),
        _ => false,
    }
}

/// [`semantic_rewrite`] over a whole statement (a workspace's, which gets no other
/// rewrite of the storage gateway's). Answers whether anything changed.
pub fn rewrite_semantics(statement: &mut Statement) -> bool {
    struct Semantics(bool);
    impl VisitorMut for Semantics {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 |= expand_set_returning_items(query);
            self.0 |= refuse_negative_offset(query);
            self.0 |= fetch_with_ties_as_qualify(query);
            self.0 |= nothing_selected_as_hidden_column(query);
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &mut sqlparser::ast::TableFactor) -> ControlFlow<()> {
            self.0 |= semantic_table_factor(factor);
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            self.0 |= super::jsonb_rewrite::jsonb_operators(expr);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            self.0 |= arrow_operands_in_parentheses(expr);
            self.0 |= with_stack_room(|| semantic_rewrite(expr));
            ControlFlow::Continue(())
        }
    }
    let mut semantics = Semantics(false);
    let _ = statement.visit(&mut semantics);
    semantics.0
}

/// EXTRACT's fields in lower case (`EXTRACT(epoch FROM x)`), as clients write them: DuckDB keeps
/// a field that is not one of its key words as written (`epoch`, `dow`, `quarter`), where the
/// gateway's parser renders it in upper case, so the two readings of a text would differ.
pub fn extract_fields_in_lower_case(statement: &mut Statement) {
    let _ = sqlparser::ast::visit_expressions_mut(statement, |e| {
        if let Expr::Extract { field, .. } = e
            && !matches!(
                field,
                sqlparser::ast::DateTimeField::Year
                    | sqlparser::ast::DateTimeField::Month
                    | sqlparser::ast::DateTimeField::Day
                    | sqlparser::ast::DateTimeField::Hour
                    | sqlparser::ast::DateTimeField::Minute
                    | sqlparser::ast::DateTimeField::Second
            )
        {
            *field = sqlparser::ast::DateTimeField::Custom(Ident::new(field.to_string().to_lowercase()));
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Whether `root` and `chain` subscript one of pg_index's vectors once: `indkey[n]`, or
/// `i.indkey[n]` (the parser's `i` then `.indkey`, `[n]`).
fn vector_subscript(root: &Expr, chain: &[sqlparser::ast::AccessExpr]) -> bool {
    use sqlparser::ast::{AccessExpr, Subscript};
    match chain {
        [AccessExpr::Subscript(Subscript::Index { .. })] => counts_from_zero(root),
        [AccessExpr::Dot(column), AccessExpr::Subscript(Subscript::Index { .. })] => counts_from_zero(column),
        _ => false,
    }
}

/// Whether `expr` names one of pg_index's vectors (`int2vector`, `oidvector`), whose subscripts
/// start at 0.
fn counts_from_zero(expr: &Expr) -> bool {
    let column = match expr {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => last,
            None => return false,
        },
        _ => return false,
    };
    ["indkey", "indclass", "indoption", "indcollation"].contains(&column.value.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_to_patterns_become_postgresql_s_regular_expressions() {
        assert_eq!(similar_to_regex("(a|x)%").as_deref(), Some("(a|x).*"));
        assert_eq!(similar_to_regex("a_c.d").as_deref(), Some("a.c\\.d"));
        assert_eq!(similar_to_regex("[%_]x").as_deref(), Some("[%_]x"));
        assert_eq!(similar_to_regex("50\\%").as_deref(), Some("50\\%"));
        // a dangling escape or an open class is refused, as PostgreSQL refuses them
        assert_eq!(similar_to_regex("a\\"), None);
        assert_eq!(similar_to_regex("[ab"), None);
    }

    #[test]
    fn a_rewrite_names_each_operand_once() {
        // nested calls must not copy their operands (the engine's text would grow
        // exponentially with the depth)
        let nested = |call: &str, depth: usize| {
            let mut sql = "'a'".to_owned();
            for _ in 0..depth {
                sql = call.replace('X', &sql);
            }
            let mut statements = crate::gateway::parse(&format!("SELECT {sql}")).unwrap();
            rewrite_semantics(&mut statements[0]);
            statements[0].to_string().len()
        };
        for call in [
            "concat(X, 'b')",
            "repeat(X, 2)",
            "lpad(X, 3)",
            "substring(X, 1, 2)",
            "substring(X FROM 'a+')",
            "format('%1$s %1$s %5s', X)",
            "(X)::jsonb ? 'k'",
            "to_char(X, 'YYYY Mon Day')",
            "json_build_object('k', X)",
            "json_build_array(X, 1)",
            "json_typeof(X)",
            "date_part('second', X)",
            "make_interval(secs => X)",
            "array_upper(X, 1)",
            "(X) / 2",
            "avg(1) FILTER (WHERE (X) IS NULL)",
            "avg(1) OVER (ORDER BY X)",
        ] {
            let (shallow, deep) = (nested(call, 10), nested(call, 20));
            assert!(deep < shallow * 3, "{call}: {shallow} bytes at depth 10, {deep} at 20");
        }
    }

    #[test]
    fn from_item_rewrites_end_and_are_not_rewritten_again() {
        // a replacement the visitor descends into must hold nothing it would replace again (a
        // derived json_each over json_each overflowed the stack and aborted the server)
        let json: Vec<String> = JSON_SET_FUNCTIONS
            .iter()
            .flat_map(|f| [format!("{f}('[1]')"), format!("pg_catalog.{f}('{{}}') WITH ORDINALITY AS t(v, n)")])
            .collect();
        for item in
            ["string_to_array('a,b', ',') s", "generate_series(1, 3) g", "pg_catalog.generate_series(1, 3, 1) AS g(x)"]
                .into_iter()
                .chain(json.iter().map(String::as_str))
        {
            let mut statements = crate::gateway::parse(&format!("SELECT * FROM {item}")).unwrap();
            assert!(rewrite_semantics(&mut statements[0]), "{item}");
            let once = statements[0].to_string();
            rewrite_semantics(&mut statements[0]);
            assert_eq!(statements[0].to_string(), once, "{item}");
        }
    }

    #[test]
    fn series_lengths_of_written_numbers() {
        let length = |sql: &str| {
            let Ok(mut statements) = crate::gateway::parse(&format!("SELECT {sql}")) else { panic!("{sql}") };
            let sqlparser::ast::Statement::Query(q) = statements.remove(0) else { panic!() };
            let sqlparser::ast::SetExpr::Select(select) = *q.body else { panic!() };
            let sqlparser::ast::SelectItem::UnnamedExpr(Expr::Function(f)) = &select.projection[0] else { panic!() };
            series_length(f)
        };
        assert_eq!(length("generate_series(1, 10)"), Some(10));
        assert_eq!(length("generate_series(10, 1, -3)"), Some(4));
        assert_eq!(length("generate_series(5, 1)"), Some(0));
        assert_eq!(length("generate_series(1, 10, 0)"), None);
        assert_eq!(length("generate_series(1, x)"), None);
        // past i128 in the difference: past any bound, no overflow
        let huge = "170141183460469231731687303715884105727";
        assert_eq!(length(&format!("generate_series(-{huge}, {huge})")), Some(i128::MAX));
    }

    #[test]
    fn booleans_read_as_postgresql_reads_them() {
        for (text, value) in [("on", Some(true)), (" YES ", Some(true)), ("t", Some(true)), ("1", Some(true))] {
            assert_eq!(postgres_bool(text), value, "{text}");
        }
        for (text, value) in [("off", Some(false)), ("N", Some(false)), ("f", Some(false)), ("0", Some(false))] {
            assert_eq!(postgres_bool(text), value, "{text}");
        }
        for text in ["o", "", "2", "yesno", "maybe"] {
            assert_eq!(postgres_bool(text), None, "{text}");
        }
    }

    #[test]
    fn text_array_paths_become_json_paths() {
        assert_eq!(json_path("{a,b,1}").as_deref(), Some("$.\"a\".\"b\"[1]"));
        assert_eq!(json_path("{\"x y\",0}").as_deref(), Some("$.\"x y\"[0]"));
        assert_eq!(json_path(r#"{"q\"uote"}"#).as_deref(), Some(r#"$."q\"uote""#));
        assert_eq!(json_path("not an array"), None);
    }

    #[test]
    fn format_strings_split_into_text_and_values() {
        let shape = |fmt: &str, count: usize| {
            format_pieces(fmt, count).map(|pieces| {
                pieces
                    .iter()
                    .map(|p| match p {
                        FormatPiece::Text(t) => t.clone(),
                        FormatPiece::Value { index, kind, width, left } => {
                            format!(
                                "<{index}{kind}{}{}>",
                                width.map(|w| w.to_string()).unwrap_or_default(),
                                if *left { "-" } else { "" }
                            )
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("")
            })
        };
        assert_eq!(shape("%s, %s!", 2).as_deref(), Some("<0s>, <1s>!"));
        assert_eq!(shape("%2$s %1$s %s", 2).as_deref(), Some("<1s> <0s> <1s>"));
        assert_eq!(shape("%5s|%-5L|100%%", 2).as_deref(), Some("<0s5>|<1L5->|100%"));
        assert_eq!(shape("%I.%I", 2).as_deref(), Some("<0I>.<1I>"));
        // too few values, a position 0, an unknown conversion, a `*` width: not followed
        for fmt in ["%s %s", "%0$s", "%d", "%*s", "%"] {
            assert!(shape(fmt, 1).is_none(), "{fmt}");
        }
    }
}
