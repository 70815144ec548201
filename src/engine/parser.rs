//! DuckDB's own parser, asked what a text says before the text runs. DuckDB decides what runs, so
//! DuckDB is the authority on it: how many statements a text holds, and, for a query, which
//! tables, table functions and functions its parse tree names. The engine runs no text of more
//! than one statement; the gateway compares what DuckDB read in a client's query with what it
//! planned (gateway/oracle.rs).
//!
//! The parser lives in an instance of its own: in memory, no tables, no file access, its
//! configuration locked. Parsing needs no catalog, so nothing else is reachable from here.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::expansion::{self, Macros};
use super::ffi::RawConn;
use super::raw::RawDatabase;
use crate::error::{Error, Result};

/// What DuckDB's parse tree of a query names.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct References {
    /// Statements in the text.
    pub statements: usize,
    /// `(catalog, schema, table)` of every table reference, as DuckDB read it (empty parts when
    /// the text did not name them).
    pub tables: Vec<(String, String, String)>,
    /// Table functions, with their arguments where those are constants.
    pub table_functions: Vec<Call>,
    /// Every scalar, aggregate and window function and operator: `(schema, name)`.
    pub functions: Vec<(String, String)>,
    /// Names the text defines as common table expressions.
    pub ctes: Vec<String>,
    /// Items in the select list of the first statement's outermost SELECT (0 if it has none).
    pub select_items: usize,
    /// String constants in the text (values bound as parameters are not constants).
    pub string_constants: usize,
    /// Constructs a client's query may never hold, named (DESCRIBE/SHOW, time travel, a
    /// catalog-qualified function, a node this walk does not know).
    pub refused: Vec<String>,
    /// The tree nests deeper than the walk follows (PostgreSQL's `54001`, not a refusal).
    pub too_deep: bool,
    /// Type names no DuckDB instance knows (PostgreSQL's `42704`, not a refusal).
    pub unknown_types: Vec<String>,
    /// Unqualified type names DuckDB's parser left unbound (sorted out by `DuckParser`).
    pub unbound_types: Vec<String>,
}

/// A table function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    /// Constant integer arguments in order (`None` where an argument is not one).
    pub int_args: Vec<Option<i64>>,
}

/// Expression classes of DuckDB's parse tree a query may contain.
const EXPRESSION_CLASSES: &[&str] = &[
    "CONSTANT",
    "COLUMN_REF",
    "FUNCTION",
    "OPERATOR",
    "COMPARISON",
    "CONJUNCTION",
    "CASE",
    "CAST",
    "SUBQUERY",
    "STAR",
    "WINDOW",
    "BETWEEN",
    "LAMBDA",
    "PARAMETER",
    "COLLATE",
    "POSITIONAL_REFERENCE",
    "DEFAULT",
    "LAMBDA_REF",
];

/// Other node kinds (query nodes, table references, modifiers, orders, type details).
const NODE_TYPES: &[&str] = &[
    "SELECT_NODE",
    "SET_OPERATION_NODE",
    "RECURSIVE_CTE_NODE",
    "CTE_NODE",
    "SUBQUERY",
    "JOIN",
    "EXPRESSION_LIST",
    "EMPTY",
    "PIVOT",
    "ORDER_MODIFIER",
    "LIMIT_MODIFIER",
    "LIMIT_PERCENT_MODIFIER",
    "DISTINCT_MODIFIER",
    "ORDER_DEFAULT",
    "ASCENDING",
    "DESCENDING",
    "DECIMAL_TYPE_INFO",
    "STRING_TYPE_INFO",
    "LIST_TYPE_INFO",
    "STRUCT_TYPE_INFO",
    "ARRAY_TYPE_INFO",
    "GENERIC_TYPE_INFO",
    "INTEGER_LITERAL_TYPE_INFO",
    "ANY_TYPE_INFO",
];

/// Type names a cast may name beyond DuckDB's built-in ones (`x::json`).
const USER_TYPES: &[&str] = &["json"];

/// How deep a parse tree may nest before the walk refuses it (the gateway's own depth limits
/// keep client statements far below this).
const MAX_DEPTH: usize = 10_000;

/// Texts DuckDB already split, and their statement counts (server SQL repeats verbatim).
const COUNT_CACHE: usize = 4096;

/// What DuckDB read in texts it already judged (client texts repeat: prepared statements,
/// catalog queries with stable relation handles).
const REFERENCE_CACHE: usize = 4096;

/// A parser connection with its serializer statement prepared.
struct ParserConn {
    // Field order is drop order: the statement before its connection.
    serialize: super::ffi::RawStmt<'static>,
    conn: Box<RawConn>,
}

// SAFETY: a parser connection is used by one thread at a time (taken out of the pool while
// used); neither the connection nor its statement has thread affinity.
unsafe impl Send for ParserConn {}

impl ParserConn {
    fn open(db: &RawDatabase) -> std::result::Result<ParserConn, String> {
        // SAFETY: the instance outlives its connections (field order of DuckParser).
        let conn = Box::new(unsafe { RawConn::connect(db.handle()) }?);
        // SAFETY: the connection lives in a Box beside the statement and is dropped after it
        // (field order), so the borrow stays valid.
        let conn_ref: &'static RawConn = unsafe { &*(conn.as_ref() as *const RawConn) };
        let serialize = conn_ref.extract("SELECT json_serialize_sql($1::VARCHAR)")?.prepare(0)?;
        Ok(ParserConn { serialize, conn })
    }
}

pub struct DuckParser {
    // Field order is drop order: connections close before the instance.
    conns: Mutex<Vec<ParserConn>>,
    /// The macros the engine's instances resolve, and how they copy their arguments.
    macros: Macros,
    /// Their definitions (a workspace's own macros are shaped with them).
    macro_defs: Vec<MacroDef>,
    /// The names of DuckDB's settings and types (lower case).
    settings: std::collections::HashSet<String>,
    types: std::collections::HashSet<String>,
    counts: Mutex<HashMap<String, usize>>,
    references: Mutex<HashMap<String, std::sync::Arc<References>>>,
    db: RawDatabase,
}

impl DuckParser {
    /// The parser, with the macros `setup` creates (the engine's instances run the same
    /// statements) known by their shapes.
    pub fn open(setup: &[String]) -> Result<DuckParser> {
        let settings = [
            ("threads", "1".to_owned()),
            ("memory_limit", "64MB".to_owned()),
            ("autoload_known_extensions", "false".to_owned()),
            ("autoinstall_known_extensions", "false".to_owned()),
            ("enable_external_access", "false".to_owned()),
        ];
        let db = RawDatabase::open_in_memory(&settings)
            .map_err(|e| Error::internal("starting DuckDB's parser instance", e))?;
        let mut conn = ParserConn::open(&db).map_err(|e| Error::internal("connecting to the parser", e))?;
        for sql in setup {
            conn.conn.execute(sql).map_err(|e| Error::internal("creating the instances' macros in the parser", e))?;
        }
        conn.conn.execute("SET lock_configuration = true").map_err(|e| Error::internal("locking the parser", e))?;
        let macro_defs = macro_shapes(&mut conn).map_err(|e| Error::internal("reading the macros' shapes", e))?;
        let names = |sql: &str| -> Result<std::collections::HashSet<String>> {
            Ok(conn
                .conn
                .extract(sql)
                .and_then(|e| e.prepare(0))
                .and_then(|mut s| s.query_text(&[]))
                .map_err(|e| Error::internal("listing DuckDB's settings and types", e))?
                .unwrap_or_default()
                .split('\u{1}')
                .map(str::to_owned)
                .collect())
        };
        let settings = names("SELECT string_agg(lower(name), chr(1)) FROM duckdb_settings()")?;
        let types = names("SELECT string_agg(lower(type_name), chr(1)) FROM duckdb_types()")?;
        Ok(DuckParser {
            conns: Mutex::new(vec![conn]),
            macros: Macros::from_definitions(macro_defs.clone()),
            macro_defs,
            settings,
            types,
            counts: Mutex::new(HashMap::new()),
            references: Mutex::new(HashMap::new()),
            db,
        })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut ParserConn) -> T) -> Result<T> {
        let conn = self.conns.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => ParserConn::open(&self.db).map_err(|e| Error::internal("connecting to the parser", e))?,
        };
        let out = f(&mut conn);
        let mut idle = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < 16 {
            idle.push(conn);
        }
        Ok(out)
    }

    /// Refuses a text DuckDB's parser or binder would multiply past the bound (see
    /// engine/expansion.rs), before DuckDB's parser builds it.
    fn admit(&self, sql: &str) -> std::result::Result<(), String> {
        self.admit_naming(sql, &HashMap::new())
    }

    /// Whether `name` is one of DuckDB's settings (which a workspace may not change), not an
    /// unknown name.
    pub fn is_engine_setting(&self, name: &str) -> bool {
        self.settings.contains(&name.to_lowercase())
    }

    /// What each of `views` (`(name, CREATE VIEW text)`) stands for where a statement names it.
    pub fn view_weights(&self, views: &[(String, String)]) -> HashMap<String, u64> {
        expansion::view_weights(views, &self.macros)
    }

    /// What a workspace's `views` (`(name, CREATE VIEW text)`) and own `macros` (`(name,
    /// parameters, body)`) stand for.
    pub fn workspace_names(
        &self,
        views: &[(String, String)],
        macros: Vec<(String, Vec<String>, String)>,
        widths: HashMap<String, u64>,
    ) -> Result<WorkspaceNames> {
        let macros = match macros.is_empty() {
            true => None,
            false => {
                let mut defs = self.macro_defs.clone();
                for (name, params, body) in macros {
                    defs.push(self.with_conn(|conn| macro_def(conn, name, params, body))?);
                }
                Some(Macros::from_definitions(defs))
            }
        };
        let views = expansion::view_weights(views, macros.as_ref().unwrap_or(&self.macros));
        Ok(WorkspaceNames { views, widths, macros })
    }

    /// [`Self::admit`] in a workspace: its views and macros count for what they stand for.
    pub fn admit_in(&self, sql: &str, names: &WorkspaceNames) -> std::result::Result<(), String> {
        let names_in = expansion::Names { views: &names.views, widths: &names.widths };
        self.admit_with(sql, names.macros.as_ref().unwrap_or(&self.macros), names_in)
    }

    /// [`Self::admit`], with what names DuckDB binds anew at each mention stand for (a
    /// workspace's views).
    pub fn admit_naming(&self, sql: &str, named: &HashMap<String, u64>) -> std::result::Result<(), String> {
        self.admit_with(sql, &self.macros, expansion::Names { views: named, widths: &HashMap::new() })
    }

    fn admit_with(&self, sql: &str, macros: &Macros, names: expansion::Names<'_>) -> std::result::Result<(), String> {
        let grown = expansion::copied_by_text(sql, macros, names);
        if grown.copied > expansion::copy_budget(grown.tokens) || grown.viewed > expansion::MAX_VIEWED_NODES {
            return Err(expansion::too_complex(grown.copied.max(grown.viewed)));
        }
        Ok(())
    }

    /// How many statements DuckDB reads in `sql`. A text DuckDB cannot parse is an error with
    /// DuckDB's message.
    pub fn statement_count(&self, sql: &str) -> std::result::Result<usize, String> {
        if let Some(n) = self.counts.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return Ok(*n);
        }
        self.admit(sql)?;
        let count =
            self.with_conn(|conn| conn.conn.extract(sql).map(|e| e.count())).map_err(|e| e.message().to_owned())??;
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= COUNT_CACHE {
            counts.clear();
        }
        counts.insert(sql.to_owned(), count);
        Ok(count)
    }

    /// DuckDB's parse tree of `sql` (one or more SELECT statements), as JSON text. A text that
    /// is not a query, or that DuckDB cannot parse, is an error with DuckDB's message.
    pub fn query_tree(&self, sql: &str) -> std::result::Result<Value, String> {
        self.admit(sql)?;
        let json = self
            .with_conn(|conn| conn.serialize.query_text(&[super::Param::Text(sql.to_owned())]))
            .map_err(|e| e.message().to_owned())??
            .ok_or("DuckDB answered no parse tree")?;
        let tree = deserialize_deep(&json).map_err(|e| format!("DuckDB's parse tree is not JSON: {e}"))?;
        if tree.get("error").and_then(Value::as_bool) == Some(true) {
            let kind = tree.get("error_type").and_then(Value::as_str).unwrap_or("parser");
            let message = tree.get("error_message").and_then(Value::as_str).unwrap_or("cannot parse the statement");
            return Err(if kind == "parser" {
                format!("Parser Error: {message}")
            } else {
                format!("Not implemented Error: {message}")
            });
        }
        match expansion::copied_by_tree(&tree, &self.macros) {
            n if n > expansion::MAX_COPIED_NODES => {
                drop_flat(tree);
                Err(expansion::too_complex(n))
            }
            _ => Ok(tree),
        }
    }

    /// Whether DuckDB reads two query texts alike: the same parse trees once the positions
    /// of their parts in the text are set aside. Compared as JSON text, not as trees (a deep
    /// tree would recurse). A text DuckDB cannot read as a query reads like nothing.
    pub fn reads_alike(&self, a: &str, b: &str) -> bool {
        let json = |sql: &str| -> Option<String> {
            self.admit(sql).ok()?;
            let json = self
                .with_conn(|conn| conn.serialize.query_text(&[super::Param::Text(sql.to_owned())]))
                .ok()?
                .ok()??;
            (!json.contains("\"error\":true")).then(|| type_names_folded(&without_locations(&json)))
        };
        matches!((json(a), json(b)), (Some(x), Some(y)) if x == y)
    }

    /// What DuckDB's parse of the query `sql` references.
    pub fn references(&self, sql: &str) -> std::result::Result<std::sync::Arc<References>, String> {
        if let Some(refs) = self.references.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return Ok(std::sync::Arc::clone(refs));
        }
        let tree = self.query_tree(sql)?;
        let mut refs = references_of(&tree);
        // a type DuckDB has (an extension's, say) is not allowed; one it lacks does not exist
        for name in std::mem::take(&mut refs.unbound_types) {
            match self.types.contains(&name) {
                true => refs.refused.push(format!("type {name}")),
                false => refs.unknown_types.push(name),
            }
        }
        let refs = std::sync::Arc::new(refs);
        drop_flat(tree);
        let mut cache = self.references.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= REFERENCE_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), std::sync::Arc::clone(&refs));
        Ok(refs)
    }
}

/// The shapes of the macros the parser's instance resolves: DuckDB's list of them, each body
/// parsed by DuckDB.
fn macro_shapes(conn: &mut ParserConn) -> std::result::Result<Vec<MacroDef>, String> {
    let list = conn
        .conn
        .extract(
            "SELECT CAST(json_group_array(json_object('name', function_name, 'params', parameters, 'body', macro_definition)) AS VARCHAR) \
             FROM duckdb_functions() WHERE function_type = 'macro'",
        )?
        .prepare(0)?
        .query_text(&[])?
        .ok_or("no macros")?;
    let list: Vec<Value> = serde_json::from_str(&list).map_err(|e| e.to_string())?;
    let mut defs = Vec::with_capacity(list.len());
    for m in list {
        let params: Vec<String> = m
            .get("params")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        defs.push(macro_def(conn, text(&m, "name"), params, text(&m, "body")));
    }
    Ok(defs)
}

/// A macro's name, parameters, body as DuckDB parses it (if it does) and body text.
type MacroDef = (String, Vec<String>, Option<Value>, String);

fn macro_def(conn: &mut ParserConn, name: String, params: Vec<String>, body: String) -> MacroDef {
    let tree = conn
        .serialize
        .query_text(&[super::Param::Text(format!("SELECT {body}"))])
        .ok()
        .flatten()
        .and_then(|json| deserialize_deep(&json).ok())
        .filter(|t: &Value| t.get("error").and_then(Value::as_bool) != Some(true));
    (name, params, tree, body)
}

/// What a workspace's own names stand for where a statement names them: its views, and the
/// macros it holds (made before workspaces refused them), with DuckDB's and the server's.
#[derive(Default)]
pub struct WorkspaceNames {
    views: HashMap<String, u64>,
    /// The columns of each table and view (what `*` over it answers).
    widths: HashMap<String, u64>,
    macros: Option<Macros>,
}

/// A serialized parse tree with the names of the types it has not bound in lower case: DuckDB
/// reads type names case-insensitively (`::jsonb` and sqlparser's rendering `::JSONB` are one
/// type), but keeps them as written.
fn type_names_folded(json: &str) -> String {
    const MARK: &str = "\"UNBOUND_TYPE_INFO\"";
    const NAME: &str = "\"name\":\"";
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find(MARK) {
        let after = at + MARK.len();
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        let Some(name_at) = rest.find(NAME) else { break };
        let start = name_at + NAME.len();
        let Some(len) = rest[start..].find('"') else { break };
        out.push_str(&rest[..start]);
        out.push_str(&rest[start..start + len].to_lowercase());
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Walks a parse tree as `json_serialize_sql` answers it.
pub(super) fn references_of(tree: &Value) -> References {
    let mut refs = References::default();
    match tree.get("statements").and_then(Value::as_array) {
        Some(statements) => {
            refs.statements = statements.len();
            refs.select_items = statements
                .first()
                .and_then(|s| s.get("node"))
                .filter(|n| n.get("type").and_then(Value::as_str) == Some("SELECT_NODE"))
                .and_then(|n| n.get("select_list"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for s in statements {
                walk(s, &mut refs, 0);
            }
        }
        None => refs.refused.push("a parse tree without statements".into()),
    }
    refs
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn constant_int(v: &Value) -> Option<i64> {
    if v.get("class").and_then(Value::as_str) != Some("CONSTANT") {
        return None;
    }
    let value = v.get("value")?;
    if value.get("is_null").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    match value.get("value")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// JSON as deep as DuckDB's parse trees get (three levels per expression level, and DuckDB
/// allows a thousand), on a stack that grows rather than overflows.
fn deserialize_deep(json: &str) -> serde_json::Result<Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let value = Value::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Drops a parse tree without recursing: a deep tree's recursive drop could overflow.
/// JSON text with every `"query_location":<n>` member taken out.
fn without_locations(json: &str) -> String {
    const KEY: &str = "\"query_location\":";
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at]);
        let after = &rest[at + KEY.len()..];
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

pub(crate) fn drop_flat(tree: Value) {
    let mut pending = vec![tree];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// The walk recurses once per JSON level; past [`MAX_DEPTH`] it refuses.
fn walk(v: &Value, refs: &mut References, depth: usize) {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_here(v, refs, depth))
}

fn walk_here(v: &Value, refs: &mut References, depth: usize) {
    if depth > MAX_DEPTH {
        refs.too_deep = true;
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| walk(i, refs, depth + 1)),
        Value::Object(map) => {
            if let Some(class) = map.get("class").and_then(Value::as_str) {
                if class == "CONSTANT"
                    && map.get("value").and_then(|v| v.get("type")).and_then(|t| t.get("id")).and_then(Value::as_str)
                        == Some("VARCHAR")
                {
                    refs.string_constants += 1;
                }
                if !EXPRESSION_CLASSES.contains(&class) {
                    refs.refused.push(format!("expression class {class}"));
                }
                if map.contains_key("function_name") {
                    if !text(v, "catalog").is_empty() {
                        refs.refused.push(format!("a catalog-qualified function {}", text(v, "function_name")));
                    }
                    refs.functions.push((text(v, "schema").to_lowercase(), text(v, "function_name").to_lowercase()));
                }
            } else if let Some(kind) = map.get("type").and_then(Value::as_str) {
                match kind {
                    "BASE_TABLE" => {
                        if map.get("at_clause").is_some_and(|a| !a.is_null()) {
                            refs.refused.push("a table read at another version (AT …)".into());
                        }
                        refs.tables.push((text(v, "catalog_name"), text(v, "schema_name"), text(v, "table_name")));
                    }
                    "TABLE_FUNCTION" => {
                        let function = map.get("function").cloned().unwrap_or(Value::Null);
                        let args = function.get("children").and_then(Value::as_array).cloned().unwrap_or_default();
                        refs.table_functions.push(Call {
                            catalog: text(&function, "catalog"),
                            schema: text(&function, "schema").to_lowercase(),
                            name: text(&function, "function_name").to_lowercase(),
                            int_args: args.iter().map(constant_int).collect(),
                        });
                        // The arguments are expressions like any other; the call itself is
                        // recorded above, not as a scalar function.
                        for arg in &args {
                            walk(arg, refs, depth + 1);
                        }
                        for (key, child) in map {
                            if key != "function" {
                                walk(child, refs, depth + 1);
                            }
                        }
                        return;
                    }
                    "USER_TYPE_INFO" | "UNBOUND_TYPE_INFO" => {
                        let name = if kind == "USER_TYPE_INFO" { text(v, "user_type_name") } else { text(v, "name") };
                        let name = name.to_lowercase();
                        let qualified = !text(v, "catalog").is_empty() || !text(v, "schema").is_empty();
                        if qualified {
                            refs.refused.push(format!("type {name}"));
                        } else if !USER_TYPES.contains(&name.as_str()) {
                            refs.unbound_types.push(name);
                        }
                    }
                    other if NODE_TYPES.contains(&other) => {}
                    other => refs.refused.push(format!("node {other}")),
                }
            }
            if let Some(entries) = map.get("cte_map").and_then(|m| m.get("map")).and_then(Value::as_array) {
                for entry in entries {
                    refs.ctes.push(text(entry, "key"));
                }
            }
            for child in map.values() {
                walk(child, refs, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(sql: &str) -> References {
        let parser = DuckParser::open(&[]).unwrap();
        (*parser.references(sql).unwrap()).clone()
    }

    #[test]
    fn statements_duckdb_would_copy_past_the_bound_are_refused_before_it_builds_them() {
        let parser = DuckParser::open(&crate::exec::macros_sql()).unwrap();
        // DuckDB's own macros, shaped from their bodies: nullif copies its first argument.
        let nested =
            |n: usize, open: &str, close: &str| format!("SELECT {}x{} FROM t", open.repeat(n), close.repeat(n));
        let too_complex = |sql: &str| {
            let by_count = parser.statement_count(sql).err().unwrap_or_default();
            let by_tree = parser.query_tree(sql).err().unwrap_or_default();
            by_count.contains("statement is too complex") || by_tree.contains("statement is too complex")
        };
        for (open, close) in [
            ("nullif(", ", 2)"),
            ("CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"),
            ("((", " BETWEEN 0 AND 5)::int)"),
            ("fmod(", ", 3)"),
            ("split_part(", ", ',', 1)"),
        ] {
            assert!(!too_complex(&nested(4, open, close)), "{open}");
            assert!(too_complex(&nested(20, open, close)), "{open}");
        }
        // select aliases named by later items: DuckDB binds a copy of the aliased expression
        let aliases = |n: usize| {
            format!(
                "SELECT x AS a0{} FROM t",
                (1..=n).map(|i| format!(", a{0} + a{0} AS a{i}", i - 1)).collect::<String>()
            )
        };
        assert!(!too_complex(&aliases(6)));
        assert!(too_complex(&aliases(20)));
        let implicit =
            format!("SELECT x a0{} FROM t", (1..=20).map(|i| format!(", a{0} * a{0} a{i}", i - 1)).collect::<String>());
        assert!(too_complex(&implicit));
        // The server's own macros name each parameter once, so they never multiply a query.
        for (name, shape) in &parser.macros.by_name_shapes() {
            if name.starts_with("duckstore_") || name == "to_regtype" {
                assert!(shape.1 <= 1, "{name} copies an argument {} times", shape.1);
            }
        }
        assert_eq!(parser.macros.by_name_shapes().get("nullif").map(|s| s.1), Some(2));
    }

    #[test]
    fn type_names_read_alike_in_any_case() {
        let parser = DuckParser::open(&[]).unwrap();
        assert!(parser.reads_alike("SELECT '1'::jsonb", "SELECT '1'::JSONB"));
        assert!(!parser.reads_alike("SELECT 'a'::jsonb", "SELECT 'A'::jsonb"));
        assert!(!parser.reads_alike("SELECT '1'::jsonb", "SELECT '1'::json"));
    }

    #[test]
    fn duckdb_reads_the_known_escapes_its_own_way() {
        let parser = DuckParser::open(&[]).unwrap();
        // sqlparser read a dollar-quoted string here; DuckDB reads a parameter and a table.
        let r = parser.references("SELECT $1x$, * FROM \"t1v1\".main.data LIMIT 3 --$1x$ AS s, $1::int AS p").unwrap();
        assert_eq!(r.tables, vec![("t1v1".into(), "main".into(), "data".into())]);
        assert_eq!(parser.statement_count("SELECT 1; SELECT 2").unwrap(), 2);
        assert!(parser.statement_count("SELECT 1 %/* E'\\x2a/ 2").is_err());
        assert!(parser.query_tree("INSERT INTO t VALUES (1)").unwrap_err().starts_with("Not implemented"));
    }

    #[test]
    fn the_walk_finds_tables_functions_ctes_and_refuses_catalog_tricks() {
        let r = refs(
            "WITH x AS (SELECT 1 AS a) SELECT sum(a), t.b FROM x, s.t AS t JOIN range(3) r ON true \
             WHERE upper(t.c) = 'A' AND t.d IN (SELECT max(e) FROM u)",
        );
        assert_eq!(r.statements, 1);
        assert_eq!(r.ctes, vec!["x".to_owned()]);
        let tables: Vec<&str> = r.tables.iter().map(|t| t.2.as_str()).collect();
        assert!(tables.contains(&"x") && tables.contains(&"t") && tables.contains(&"u"));
        assert_eq!(r.table_functions[0].name, "range");
        assert_eq!(r.table_functions[0].int_args, vec![Some(3)]);
        let names: Vec<&str> = r.functions.iter().map(|f| f.1.as_str()).collect();
        assert!(names.contains(&"sum") && names.contains(&"upper") && names.contains(&"max"));
        assert!(r.refused.is_empty(), "{:?}", r.refused);
        assert!(!refs("SELECT * FROM (DESCRIBE t)").refused.is_empty());
        assert!(!refs("SELECT * FROM t AT (VERSION => 1)").refused.is_empty());
        // a type no instance has does not exist (42704); one DuckDB has is not allowed
        assert_eq!(refs("SELECT x::my_type").unknown_types, vec!["my_type".to_owned()]);
        assert!(!refs("SELECT x::main.my_type").refused.is_empty());
        assert!(refs("SELECT '{}'::json").refused.is_empty());
    }
}
