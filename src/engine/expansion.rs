//! How much DuckDB multiplies a statement before it runs it.
//!
//! DuckDB copies parts of a statement: its parser copies a simple CASE's operand into every
//! WHEN arm; its binder copies a macro's argument wherever the macro's body names the
//! parameter (`nullif(a, b)` is `CASE WHEN a = b THEN NULL ELSE a END`), a BETWEEN's operand
//! into both comparisons, and a select item into every later item that names its alias. Nested,
//! the copies multiply: twenty nested `nullif`s are a million nodes. DuckDB's parser builds
//! them in memory until the process dies (a 21-deep simple CASE), and its binder plans them for
//! minutes on one core, past any `statement_timeout` (planning is not interruptible).
//!
//! So the copies are counted twice, and a statement that would grow by more than
//! [`MAX_COPIED_NODES`] is refused (`54001`) before DuckDB builds it:
//! - on the text's tokens, before DuckDB's parser sees it ([`copied_by_text`]): CASE operands,
//!   macro calls (as `f(…)` and as `x.f(…)`), BETWEEN; where the tokens cannot tell an operand's
//!   extent, the count takes everything it may be;
//! - on DuckDB's own parse tree of a query ([`copied_by_tree`]): macro calls with their exact
//!   copies, BETWEEN, and select aliases named by later items.
//!
//! Copies per macro parameter come from DuckDB itself: the parser instance's macros
//! (DuckDB's built-in ones and the server's own), their bodies parsed by DuckDB ([`Macros`]).

use std::collections::HashMap;

use serde_json::Value;

/// How many nodes DuckDB may add to a statement by copying its parts. A nested `nullif`
/// chain of this size binds in about 0.1 s, select aliases in about 1.5 s (debug build slower).
pub(super) const MAX_COPIED_NODES: u64 = 20_000;

/// The message of a refusal (mapped to `54001` by the engine's error mapping).
pub(super) fn too_complex(copied: u64) -> String {
    format!(
        "Parser Error: statement is too complex: DuckDB would bind {} more nodes than it holds, more than {MAX_COPIED_NODES} \
         (nested CASE operands, macros such as nullif, BETWEEN, select aliases named by later items, or views); \
         name the repeated part once, in a subquery or a common table expression",
        if copied == u64::MAX { "millions of".to_owned() } else { copied.to_string() }
    )
}

/// A macro's name and arity.
type MacroKey = (String, usize);

/// A macro's parameters, its body as DuckDB parsed it (if it did), and its body's text.
type MacroDefinition = (Vec<String>, Option<Value>, String);

/// How a macro copies its arguments: its body's own size, and how many times it names each
/// parameter.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MacroShape {
    body: u64,
    copies: Vec<u64>,
}

/// The macros a DuckDB instance resolves by name, with their shapes, by `(name, arity)`.
#[derive(Debug, Default, Clone)]
pub(super) struct Macros {
    by_arity: HashMap<(String, usize), MacroShape>,
    /// Per name, the most any overload adds and copies (what the tokens can tell).
    by_name: HashMap<String, MacroShape>,
}

impl Macros {
    /// Shapes of `(name, parameters, body tree)` macros, each body as DuckDB parsed
    /// `SELECT <body>` (None where it did not parse: then every parameter counts as named as
    /// often as its name appears in `text`).
    pub(super) fn from_definitions(defs: Vec<(String, Vec<String>, Option<Value>, String)>) -> Macros {
        let mut macros = Macros::default();
        let mut pending: HashMap<MacroKey, MacroDefinition> = HashMap::new();
        for (name, params, tree, text) in defs {
            pending.insert((name.to_lowercase(), params.len()), (params, tree, text));
        }
        let keys: Vec<(String, usize)> = pending.keys().cloned().collect();
        for key in keys {
            shape_of(&key, &pending, &mut macros, &mut Vec::new());
        }
        macros
    }

    fn record(&mut self, key: (String, usize), shape: MacroShape) {
        let entry = self.by_name.entry(key.0.clone()).or_insert(MacroShape { body: 0, copies: vec![0] });
        entry.body = entry.body.max(shape.body);
        entry.copies[0] = entry.copies[0].max(shape.copies.iter().copied().max().unwrap_or(0));
        self.by_arity.insert(key, shape);
    }

    #[cfg(test)]
    pub(super) fn by_name_shapes(&self) -> HashMap<String, (u64, u64)> {
        self.by_name.keys().filter_map(|n| Some((n.clone(), self.by_name(n)?))).collect()
    }

    /// The most a call of `name` (any overload) adds, and copies any one argument.
    fn by_name(&self, name: &str) -> Option<(u64, u64)> {
        self.by_name.get(name).map(|s| (s.body, s.copies.first().copied().unwrap_or(0)))
    }
}

fn shape_of(
    key: &(String, usize),
    pending: &HashMap<MacroKey, MacroDefinition>,
    macros: &mut Macros,
    in_progress: &mut Vec<(String, usize)>,
) -> Option<MacroShape> {
    if let Some(shape) = macros.by_arity.get(key) {
        return Some(shape.clone());
    }
    let (params, tree, text) = pending.get(key)?;
    if in_progress.contains(key) {
        return None;
    }
    in_progress.push(key.clone());
    // Macros the body calls are shaped first (their copies multiply these).
    let mut called = Vec::new();
    if let Some(tree) = tree {
        called_functions(tree, &mut called, 0);
    }
    for (name, arity) in called {
        let inner = (name, arity);
        if pending.contains_key(&inner) && !in_progress.contains(&inner) {
            shape_of(&inner, pending, macros, in_progress);
        }
    }
    in_progress.pop();
    let shape = match tree {
        Some(tree) => {
            let cost = |probe: Option<usize>| {
                let env: HashMap<String, u64> =
                    params.iter().enumerate().map(|(i, p)| (p.to_lowercase(), u64::from(probe == Some(i)))).collect();
                Costing { macros }.cost(tree, &env, 0)
            };
            let body = cost(None);
            MacroShape { body, copies: (0..params.len()).map(|i| cost(Some(i)).saturating_sub(body)).collect() }
        }
        None => {
            let words = words_of(text);
            MacroShape {
                body: words.len() as u64,
                copies: params
                    .iter()
                    .map(|p| words.iter().filter(|w| **w == p.to_lowercase()).count() as u64)
                    .collect(),
            }
        }
    };
    macros.record(key.clone(), shape.clone());
    Some(shape)
}

fn called_functions(v: &Value, out: &mut Vec<(String, usize)>, depth: usize) {
    if depth > 2_000 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| called_functions(i, out, depth + 1)),
        Value::Object(map) => {
            if map.get("class").and_then(Value::as_str) == Some("FUNCTION") {
                let name = map.get("function_name").and_then(Value::as_str).unwrap_or("").to_lowercase();
                let arity = map.get("children").and_then(Value::as_array).map_or(0, Vec::len);
                out.push((name, arity));
            }
            map.values().for_each(|c| called_functions(c, out, depth + 1));
        }
        _ => {}
    }
}

/// Lower-case words of a text (identifiers, keywords), for a macro body DuckDB did not parse.
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The expanded size of DuckDB parse trees.
struct Costing<'a> {
    macros: &'a Macros,
}

impl Costing<'_> {
    /// Nodes `v` stands for once DuckDB has bound it: every object one node, a macro call its
    /// body and its arguments as often as the body names them, a BETWEEN's operand twice, a
    /// column naming a select alias (or, in a macro body, a parameter) what it names.
    fn cost(&self, v: &Value, env: &HashMap<String, u64>, depth: usize) -> u64 {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.cost_here(v, env, depth))
    }

    fn cost_here(&self, v: &Value, env: &HashMap<String, u64>, depth: usize) -> u64 {
        if depth > 20_000 {
            return u64::MAX;
        }
        let sum = |items: &mut dyn Iterator<Item = &Value>, env: &HashMap<String, u64>| -> u64 {
            items.fold(0u64, |acc, c| acc.saturating_add(self.cost(c, env, depth + 1)))
        };
        let map = match v {
            Value::Array(items) => return sum(&mut items.iter(), env),
            Value::Object(map) => map,
            _ => return 0,
        };
        let class = map.get("class").and_then(Value::as_str);
        let kind = map.get("type").and_then(Value::as_str);
        match (class, kind) {
            // `unnest` of a struct: DuckDB copies the struct once per field
            (Some("FUNCTION"), _)
                if matches!(
                    map.get("function_name").and_then(Value::as_str).map(str::to_lowercase).as_deref(),
                    Some("unnest" | "unlist")
                ) =>
            {
                let children: &[Value] = map.get("children").and_then(Value::as_array).map_or(&[], Vec::as_slice);
                let fields = children.iter().map(struct_fields).max().unwrap_or(0).max(1);
                sum(&mut map.values(), env).saturating_mul(fields).saturating_add(1)
            }
            (Some("FUNCTION"), _) => {
                let name = map.get("function_name").and_then(Value::as_str).unwrap_or("").to_lowercase();
                let children: &[Value] = map.get("children").and_then(Value::as_array).map_or(&[], Vec::as_slice);
                let rest = sum(&mut map.iter().filter(|(k, _)| *k != "children").map(|(_, v)| v), env);
                // (any overload's most copies of any argument: named arguments and defaults
                // may put an argument in another parameter's place)
                match self.macros.by_name(&name) {
                    Some((body, copies)) => sum(&mut children.iter(), env)
                        .saturating_mul(copies.max(1))
                        .saturating_add(body)
                        .saturating_add(rest),
                    None => sum(&mut children.iter(), env).saturating_add(rest).saturating_add(1),
                }
            }
            (Some("BETWEEN"), _) => {
                let input = map.get("input").map_or(0, |i| self.cost(i, env, depth + 1));
                let rest = sum(&mut map.iter().filter(|(k, _)| *k != "input").map(|(_, v)| v), env);
                input.saturating_mul(2).saturating_add(rest).saturating_add(1)
            }
            (Some("COLUMN_REF"), _) => {
                let names = map.get("column_names").and_then(Value::as_array);
                match names.map(Vec::as_slice) {
                    Some([Value::String(name)]) => env.get(&name.to_lowercase()).copied().unwrap_or(1),
                    _ => 1,
                }
            }
            (None, Some("SELECT_NODE")) => {
                // Later items (and WHERE, GROUP BY, …) may name an earlier item's alias:
                // DuckDB binds a copy of the aliased expression there.
                let mut scope = env.clone();
                let mut total = 1u64;
                if let Some(items) = map.get("select_list").and_then(Value::as_array) {
                    for item in items {
                        let c = self.cost(item, &scope, depth + 1);
                        total = total.saturating_add(c);
                        if let Some(alias) = item.get("alias").and_then(Value::as_str).filter(|a| !a.is_empty()) {
                            scope.insert(alias.to_lowercase(), c);
                        }
                    }
                }
                total.saturating_add(sum(&mut map.iter().filter(|(k, _)| *k != "select_list").map(|(_, v)| v), &scope))
            }
            _ => sum(&mut map.values(), env).saturating_add(1),
        }
    }
}

/// The fields of the widest struct an expression builds (`{…}`, `struct_pack`, `row`), 0 for
/// none.
fn struct_fields(v: &Value) -> u64 {
    let mut widest = 0u64;
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                let name = map.get("function_name").and_then(Value::as_str).map(str::to_lowercase);
                if matches!(name.as_deref(), Some("struct_pack" | "row")) {
                    widest = widest.max(map.get("children").and_then(Value::as_array).map_or(0, Vec::len) as u64);
                }
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    widest
}

/// Objects in a parse tree (its size as parsed).
fn nodes(v: &Value) -> u64 {
    let mut count = 0u64;
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                count += 1;
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    count
}

/// Nodes DuckDB's binder adds to the parse tree `tree` by copying (0 for a tree it copies
/// nothing of).
pub(super) fn copied_by_tree(tree: &Value, macros: &Macros) -> u64 {
    Costing { macros }.cost(tree, &HashMap::new(), 0).saturating_sub(nodes(tree))
}

/// A token of a text as DuckDB's scanner (PostgreSQL's) reads it, as far as copies go.
#[derive(Debug, PartialEq)]
enum Token {
    /// An unquoted word, in lower case.
    Word(String),
    /// A quoted identifier's name, in lower case (DuckDB resolves names case-insensitively).
    Quoted(String),
    /// A string, number or parameter.
    Literal,
    Open,
    /// `{`: a struct literal's (or a map's) opening.
    OpenBrace,
    Close,
    Comma,
    Semicolon,
    Dot,
    /// A single `:` (`name: expr` names an item; `::` is a cast, another token).
    Colon,
    /// `*`: every column, or a product.
    Star,
    /// An operator or other punctuation.
    Other,
}

/// The tokens of `sql`: comments (nested, as DuckDB nests them) and whitespace skipped,
/// strings (`'…'`, `E'…'`, `$tag$…$tag$`) one token each.
fn tokens(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
    let ident_rest = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_ascii_whitespace() || c == 0x0b => i += 1,
            // (DuckDB reads a text with Unicode spaces again with them as spaces)
            _ if c >= 0x80 && unicode_space(sql, i).is_some() => i += unicode_space(sql, i).unwrap_or(1),
            // a line comment ends at either line break, as in PostgreSQL's scanner
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                i = string_end(b, i + 1, false);
                out.push(Token::Literal);
            }
            b'"' => {
                i += 1;
                let mut name = Vec::new();
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            name.push(b'"');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    name.push(b[i]);
                    i += 1;
                }
                i += 1;
                out.push(Token::Quoted(String::from_utf8_lossy(&name).to_lowercase()));
            }
            b'$' => {
                // `$1` is a parameter; `$tag$…$tag$` (tag not starting with a digit) a string.
                let mut j = i + 1;
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                    out.push(Token::Literal);
                    continue;
                }
                while j < b.len() && ident_rest(b[j]) && b[j] != b'$' {
                    j += 1;
                }
                if b.get(j) == Some(&b'$') && (j == i + 1 || ident_start(b[i + 1])) {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(at) => i = j + 1 + at + tag.len(),
                        None => i = b.len(),
                    }
                    out.push(Token::Literal);
                } else {
                    i += 1;
                    out.push(Token::Other);
                }
            }
            _ if ident_start(c) => {
                let start = i;
                while i < b.len() && ident_rest(b[i]) && !(b[i] >= 0x80 && unicode_space(sql, i).is_some()) {
                    i += 1;
                }
                let word = sql[start..i].to_lowercase();
                // `E'…'` takes backslash escapes; `B'…'`, `X'…'`, `N'…'` do not; `U&'…'` neither
                if b.get(i) == Some(&b'\'') && ["e", "b", "x", "n"].contains(&word.as_str()) {
                    i = string_end(b, i + 1, word == "e");
                    out.push(Token::Literal);
                    continue;
                }
                if word == "u" && b.get(i) == Some(&b'&') && b.get(i + 1) == Some(&b'\'') {
                    i = string_end(b, i + 2, false);
                    out.push(Token::Literal);
                    continue;
                }
                // after a dot a word is a name, whatever it spells (`t.end`, `t.case`)
                if out.last() == Some(&Token::Dot) {
                    out.push(Token::Quoted(word));
                } else {
                    out.push(Token::Word(word));
                }
            }
            b'0'..=b'9' => {
                // `12`, `1_000`, `1.5`, `1.`, `1e-3`, `0x1F`: a number, then whatever follows
                let radix = c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'b' | b'B' | b'o' | b'O'));
                i += if radix { 2 } else { 1 };
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_' || (radix && b[i].is_ascii_hexdigit())) {
                    i += 1;
                }
                if !radix && b.get(i) == Some(&b'.') && b.get(i + 1) != Some(&b'.') {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                        i += 1;
                    }
                }
                if !radix && matches!(b.get(i), Some(b'e' | b'E')) {
                    let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
                    if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
                        i += 1 + sign;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                out.push(Token::Literal);
            }
            b'(' | b'[' => {
                i += 1;
                out.push(Token::Open);
            }
            b'{' => {
                i += 1;
                out.push(Token::OpenBrace);
            }
            b')' | b']' | b'}' => {
                i += 1;
                out.push(Token::Close);
            }
            b',' => {
                i += 1;
                out.push(Token::Comma);
            }
            b'*' => {
                i += 1;
                out.push(Token::Star);
            }
            b';' => {
                i += 1;
                out.push(Token::Semicolon);
            }
            b'.' => {
                i += 1;
                out.push(Token::Dot);
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                out.push(Token::Other);
            }
            b':' if b.get(i + 1) != Some(&b'=') => {
                i += 1;
                out.push(Token::Colon);
            }
            _ => {
                i += 1;
                out.push(Token::Other);
            }
        }
    }
    out
}

/// The length of the Unicode space at byte `i` of `text`, if one starts there: DuckDB, when it
/// cannot parse a text, replaces such spaces and parses it again, so they separate tokens.
fn unicode_space(text: &str, i: usize) -> Option<usize> {
    if !text.is_char_boundary(i) {
        return None;
    }
    let c = text[i..].chars().next()?;
    (c.is_whitespace() || matches!(c, '\u{200b}' | '\u{180e}' | '\u{feff}')).then(|| c.len_utf8())
}

/// Where a quoted string that starts at `i` (after its quote) ends: past its closing quote.
/// `''` is a quote; with `escapes`, so is `\'`.
fn string_end(b: &[u8], mut i: usize, escapes: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if escapes => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Words after which a new operand starts (a BETWEEN or `.f()` call copies at most what came
/// after the last of them, within its brackets).
const OPERAND_BOUNDARIES: &[&str] = &[
    // (not `NOT`, `IN`, `IS`, `LIKE`: `x NOT BETWEEN …` and `x IN (…) BETWEEN …` copy `x`)
    "and",
    "or",
    "when",
    "then",
    "else",
    "end",
    "select",
    "from",
    "where",
    "having",
    "on",
    "using",
    "join",
    "by",
    "as",
    "qualify",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "returning",
    "set",
    "values",
];

/// Words that end a FROM clause (those that are not operand boundaries already).
const FROM_ENDS: &[&str] = &[
    "where",
    "group",
    "having",
    "qualify",
    "window",
    "order",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "returning",
];

/// Words after which a name is a table's or a clause's, not an alias of what came before.
const CLAUSE_WORDS: &[&str] = &[
    "not",
    "in",
    "is",
    "like",
    "ilike",
    "similar",
    "glob",
    "case",
    "between",
    "distinct",
    "all",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "positional",
    "asof",
    "anti",
    "semi",
    "lateral",
    "group",
    "order",
    "window",
    "fetch",
    "into",
    "table",
    "view",
    "with",
    "recursive",
    "create",
    "insert",
    "update",
    "delete",
    "partition",
    "over",
    "filter",
    "rows",
    "range",
    "groups",
    "desc",
    "asc",
    "nulls",
    "escape",
    "collate",
    "at",
    "zone",
    "interval",
    "cast",
    "exists",
    "any",
    "some",
    "array",
    "drop",
    "alter",
    "rename",
    "to",
    "replace",
    "temp",
    "temporary",
    "schema",
    "if",
    "cursor",
    "for",
    "declare",
    "copy",
];

#[derive(Debug)]
enum FrameKind {
    /// Brackets.
    Group,
    /// A bracketed argument list of a macro: its arguments copied up to `copies` times, its
    /// body `body` nodes.
    Call { body: u64, copies: u64 },
    /// `CASE … END`: the operand is copied once per WHEN.
    Case { operand: Option<u64>, whens: u64 },
    /// A struct's fields (`{…}`, `struct_pack(…)`, `row(…)`), counted by their commas.
    Struct { fields: u64 },
    /// `unnest(…)`: a struct argument is copied once per field (`widest`: the most fields of a
    /// struct in it).
    Unnest { widest: u64 },
    /// `COLUMNS(…)`: its item is bound once per column of what the SELECT reads.
    Columns,
}

/// What a frame's SELECT answers, as far as `*` and `COLUMNS(…)` go: each `*` item is every
/// column of what FROM reads, and an item with `COLUMNS(…)` is bound once per such column.
#[derive(Debug, Default)]
struct Select {
    /// A SELECT began in the frame.
    selects: bool,
    /// Its items (commas + 1) and how many are `*`.
    items: u64,
    stars: u64,
    /// What the items holding `COLUMNS(…)` cost (each once per `COLUMNS` in it); where the
    /// item being read began, and the `COLUMNS` calls in it so far.
    columns_cost: u64,
    item_start: u64,
    item_columns: u64,
    /// FROM is being read, and the columns of what it reads (a table its known width, or one;
    /// a subquery its own answer's).
    in_from: bool,
    from_width: u64,
    /// The width of each relation FROM names, by name and alias, and of the one just read
    /// (for the alias that may follow it).
    relations: HashMap<String, u64>,
    last_relation: Option<u64>,
    /// `q.*` items: each answers its relation's columns.
    qualified: Vec<String>,
}

impl Select {
    /// The columns the frame answers.
    fn width(&self) -> u64 {
        match self.selects {
            true => self
                .items
                .saturating_sub(self.stars)
                .saturating_sub(self.qualified.len() as u64)
                .saturating_add(self.stars_width())
                .max(1),
            false => 1,
        }
    }

    /// The columns the `*` and `q.*` items answer.
    fn stars_width(&self) -> u64 {
        let width = self.from_width.max(1);
        self.qualified
            .iter()
            .map(|q| self.relations.get(q).copied().unwrap_or(width))
            .fold(self.stars.saturating_mul(width), u64::saturating_add)
    }

    /// Nodes the frame's `*` and `COLUMNS(…)` add.
    fn expanded(&self) -> u64 {
        let width = self.from_width.max(1);
        self.stars_width().saturating_add(self.columns_cost.saturating_mul(width - 1))
    }
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    select: Select,
    /// Names the frame gave to operands (undone when it closes).
    defined: Vec<String>,
    /// `name:` began the item being read: its operand is the name's.
    pending_alias: Option<String>,
    /// Cost of what is complete in the frame.
    done: u64,
    /// Cost of the operand being read (since the last boundary).
    operand: u64,
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame { kind, select: Select::default(), defined: Vec::new(), pending_alias: None, done: 0, operand: 0 }
    }

    fn add(&mut self, cost: u64) {
        self.operand = self.operand.saturating_add(cost);
    }

    fn boundary(&mut self) {
        self.done = self.done.saturating_add(std::mem::take(&mut self.operand));
    }

    fn total(&self) -> u64 {
        self.done.saturating_add(self.operand)
    }

    /// What the frame stands for once closed.
    fn folded(mut self) -> u64 {
        let expanded = self.select.expanded();
        self.add(expanded);
        match self.kind {
            FrameKind::Group | FrameKind::Struct { .. } | FrameKind::Columns => self.total().saturating_add(1),
            FrameKind::Unnest { widest } => self.total().saturating_mul(widest.max(1)).saturating_add(1),
            FrameKind::Call { body, copies } => self.total().saturating_mul(copies.max(1)).saturating_add(body),
            FrameKind::Case { operand, whens } => {
                let operand = match operand {
                    Some(o) => o,
                    None => {
                        // no WHEN came: all of it was the operand
                        self.boundary();
                        std::mem::take(&mut self.done)
                    }
                };
                operand.saturating_mul(whens.max(1)).saturating_add(self.total()).saturating_add(1)
            }
        }
    }
}

/// The names given to operands, visible in the frame that gave them and the frames inside it
/// (DuckDB resolves a select alias in a subquery of a later item too): per name, the frames
/// (by depth) that gave it and the operand's cost, innermost last.
#[derive(Default)]
struct Aliases(HashMap<String, Vec<(usize, u64)>>);

impl Aliases {
    fn define(&mut self, frame: &mut Frame, depth: usize, name: &str, cost: u64) {
        let entries = self.0.entry(name.to_owned()).or_default();
        match entries.last_mut() {
            Some(last) if last.0 == depth => last.1 = cost,
            _ => {
                entries.push((depth, cost));
                frame.defined.push(name.to_owned());
            }
        }
    }

    fn get(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(|e| e.last()).map(|(_, c)| *c)
    }

    /// Forgets the names `frame` (at `depth`) gave.
    fn forget(&mut self, frame: &mut Frame, depth: usize) {
        for name in frame.defined.drain(..) {
            if let Some(entries) = self.0.get_mut(&name)
                && entries.last().is_some_and(|(d, _)| *d == depth)
            {
                entries.pop();
            }
        }
    }
}

/// What a workspace's names stand for: its views (what DuckDB binds at each mention) and the
/// columns of its tables and views (what `*` over one answers; one where not known).
#[derive(Clone, Copy)]
pub(super) struct Names<'a> {
    pub views: &'a HashMap<String, u64>,
    pub widths: &'a HashMap<String, u64>,
}

/// How many nodes copying may add to a statement of `tokens` tokens: [`MAX_COPIED_NODES`], or
/// three times its own size for a long one (a 1 500-column dbt model of `nullif(trim(c), '')` items,
/// a simple CASE of 3 000 arms copy that much, linearly).
pub(super) fn copy_budget(tokens: u64) -> u64 {
    MAX_COPIED_NODES.max(tokens.saturating_mul(3))
}

/// What DuckDB may add to a statement, as its tokens tell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct TextExpansion {
    /// The statement's own tokens.
    pub tokens: u64,
    /// Nodes added by copying parts of the statement.
    pub copied: u64,
    /// Nodes of the views it names, each counted at its first mention (a later mention is a
    /// copy).
    pub viewed: u64,
}

/// How many nodes of views a statement may bind (their first mentions; see
/// [`TextExpansion::viewed`]): a wide dbt model joining thirty staging views of a hundred
/// columns is a tenth of it.
pub(super) const MAX_VIEWED_NODES: u64 = 400_000;

/// Nodes DuckDB's parser and binder may add to `sql` by copying, as its tokens tell (an upper
/// bound where they cannot tell an operand's extent). `named` holds what a name stands for
/// when DuckDB binds it anew at each mention (a workspace's views: their own size and what
/// they name).
pub(super) fn copied_by_text(sql: &str, macros: &Macros, names: Names<'_>) -> TextExpansion {
    let named = names.views;
    let tokens = tokens(sql);
    let windows = named_windows(&tokens);
    let mut frames = vec![Frame::new(FrameKind::Group)];
    let mut aliases = Aliases::default();
    let mut viewed = 0u64;
    let mut mentioned: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let close = |frames: &mut Vec<Frame>, aliases: &mut Aliases| {
        let depth = frames.len() - 1;
        let mut frame = frames.pop().expect("a frame to close");
        aliases.forget(&mut frame, depth);
        let fields = match frame.kind {
            FrameKind::Struct { fields } => fields,
            _ => 0,
        };
        let (width, is_columns) = (frame.select.width(), matches!(frame.kind, FrameKind::Columns));
        let cost = frame.folded();
        let parent = frames.last_mut().expect("the outermost frame stays");
        parent.add(cost);
        if parent.select.in_from {
            parent.select.from_width = parent.select.from_width.saturating_add(width);
            parent.select.last_relation = Some(width);
        } else if is_columns {
            parent.select.item_columns += 1;
        }
        // (a struct anywhere in an unnest's argument: the whole argument copied per field)
        if let FrameKind::Unnest { widest } = &mut parent.kind {
            *widest = (*widest).max(fields);
        }
    };
    // ends the item being read: a `name:` that began it names its operand
    let end_item = |frames: &mut Vec<Frame>, aliases: &mut Aliases| {
        let depth = frames.len() - 1;
        let frame = frames.last_mut().expect("the outermost frame stays");
        if let Some(name) = frame.pending_alias.take() {
            let cost = frame.operand;
            aliases.define(frame, depth, &name, cost);
        }
        frame.boundary();
    };
    let ends_operand = |t: Option<&Token>| match t {
        Some(Token::Word(w)) => !OPERAND_BOUNDARIES.contains(&w.as_str()) && !CLAUSE_WORDS.contains(&w.as_str()),
        Some(Token::Quoted(_) | Token::Literal | Token::Close) => true,
        _ => false,
    };
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        let previous = i.checked_sub(1).map(|p| &tokens[p]);
        match token {
            Token::OpenBrace => frames.push(Frame::new(FrameKind::Struct { fields: 1 })),
            Token::Open => {
                let name = match previous {
                    Some(Token::Word(name) | Token::Quoted(name)) => Some(name.as_str()),
                    _ => None,
                };
                let kind = match (name, name.and_then(|n| macros.by_name(n))) {
                    (_, Some((body, copies))) => FrameKind::Call { body, copies },
                    (Some("unnest" | "unlist"), None) => FrameKind::Unnest { widest: 0 },
                    (Some("columns"), None) => FrameKind::Columns,
                    (Some("struct_pack" | "row"), None) => FrameKind::Struct { fields: 1 },
                    _ => FrameKind::Group,
                };
                frames.push(Frame::new(kind));
            }
            Token::Close => {
                // A CASE left open inside brackets ends with them.
                while frames.len() > 1 && matches!(frames.last().map(|f| &f.kind), Some(FrameKind::Case { .. })) {
                    close(&mut frames, &mut aliases);
                }
                if frames.len() > 1 {
                    close(&mut frames, &mut aliases);
                }
            }
            Token::Word(w) if w == "case" => frames.push(Frame::new(FrameKind::Case { operand: None, whens: 0 })),
            Token::Word(w) if w == "end" && matches!(frames.last().map(|f| &f.kind), Some(FrameKind::Case { .. })) => {
                close(&mut frames, &mut aliases);
            }
            Token::Word(w) if w == "when" => {
                let frame = frames.last_mut().expect("the outermost frame stays");
                if let FrameKind::Case { operand, whens } = &mut frame.kind {
                    if operand.is_none() {
                        // all before the first WHEN is the operand
                        frame.done = frame.done.saturating_add(std::mem::take(&mut frame.operand));
                        *operand = Some(std::mem::take(&mut frame.done));
                    }
                    *whens += 1;
                }
                frame.add(1);
                frame.boundary();
            }
            Token::Word(w) if w == "between" => {
                // `BETWEEN SYMMETRIC` compares both ways: four copies
                let copies = if next == Some(&Token::Word("symmetric".into())) { 4 } else { 2 };
                let frame = frames.last_mut().expect("the outermost frame stays");
                frame.operand = frame.operand.saturating_mul(copies).saturating_add(1);
                frame.boundary();
            }
            Token::Word(w) if w == "as" => {
                // `… AS name`: a later item naming `name` binds a copy of the operand
                let operand = frames.last().map_or(0, |f| f.operand);
                end_item(&mut frames, &mut aliases);
                let depth = frames.len() - 1;
                let frame = frames.last_mut().expect("the outermost frame stays");
                if let Some(Token::Word(name) | Token::Quoted(name)) = next {
                    aliases.define(frame, depth, name, operand);
                }
                frame.add(1);
            }
            Token::Word(w) if OPERAND_BOUNDARIES.contains(&w.as_str()) || FROM_ENDS.contains(&w.as_str()) => {
                end_item(&mut frames, &mut aliases);
                {
                    let frame = frames.last_mut().expect("the outermost frame stays");
                    let select = &mut frame.select;
                    match w.as_str() {
                        "select" => {
                            select.selects = true;
                            select.items = 1;
                            select.in_from = false;
                            select.item_start = frame.done;
                            select.item_columns = 0;
                        }
                        "from" if select.selects && !select.in_from => {
                            select.in_from = true;
                            let item = frame.done.saturating_sub(select.item_start);
                            select.columns_cost = select
                                .columns_cost
                                .saturating_add(item.saturating_mul(std::mem::take(&mut select.item_columns)));
                        }
                        w if FROM_ENDS.contains(&w) => select.in_from = false,
                        _ => {}
                    }
                }
                // a new SELECT (a set operation's next branch, a CTE's body) names anew
                if ["select", "union", "intersect", "except"].contains(&w.as_str()) {
                    let depth = frames.len() - 1;
                    let frame = frames.last_mut().expect("the outermost frame stays");
                    aliases.forget(frame, depth);
                }
                frames.last_mut().expect("the outermost frame stays").add(1);
            }
            Token::Word(w) | Token::Quoted(w) => {
                let calls = next == Some(&Token::Open);
                let qualifies = next == Some(&Token::Dot);
                let qualified = previous == Some(&Token::Dot);
                if qualified && calls && macros.by_name(w).is_some() {
                    // `x.f(…)` is `f(x, …)`: the operand before the dot is copied too.
                    let (body, copies) = macros.by_name(w).unwrap_or((0, 1));
                    let frame = frames.last_mut().expect("the outermost frame stays");
                    frame.operand = frame.operand.saturating_mul(copies.max(1)).saturating_add(body);
                    continue;
                }
                let depth = frames.len() - 1;
                // `name: expr` names the item it begins
                if next == Some(&Token::Colon) && !ends_operand(previous) && !qualified {
                    let frame = frames.last_mut().expect("the outermost frame stays");
                    frame.pending_alias = Some(w.clone());
                    frame.add(1);
                    continue;
                }
                // `expr name` (an alias without AS) is followed by what may follow an item
                let follows_item = match next {
                    None | Some(Token::Comma | Token::Semicolon | Token::Close) => true,
                    Some(Token::Word(n)) => {
                        OPERAND_BOUNDARIES.contains(&n.as_str()) || CLAUSE_WORDS.contains(&n.as_str())
                    }
                    _ => false,
                };
                let defines = !qualified && !qualifies && !calls && ends_operand(previous) && follows_item;
                let mut cost = 1u64;
                if !calls && !qualifies && !defines && previous != Some(&Token::Word("as".into())) {
                    // a select alias and a view of one name: both may be what DuckDB binds
                    if !qualified && let Some(alias) = aliases.get(w) {
                        cost = cost.max(alias);
                    }
                    // `OVER w` (or `OVER (w …)`): DuckDB copies the named window's definition
                    let over =
                        |back: usize| i.checked_sub(back).map(|p| &tokens[p]) == Some(&Token::Word("over".into()));
                    if (over(1) || (previous == Some(&Token::Open) && over(2)))
                        && let Some(size) = windows.get(w)
                    {
                        cost = cost.saturating_add(*size);
                    }
                    if let Some(weight) = named.get(w) {
                        if mentioned.insert(w.as_str()) {
                            viewed = viewed.saturating_add(*weight);
                        } else {
                            cost = cost.saturating_add(*weight);
                        }
                    }
                }
                let frame = frames.last_mut().expect("the outermost frame stays");
                if defines {
                    let operand = frame.operand;
                    aliases.define(frame, depth, w, operand);
                }
                // a table read in FROM (its width unknown here: one column)
                let names_table = qualified
                    || matches!(previous, Some(Token::Comma))
                    || matches!(previous, Some(Token::Word(p)) if p == "from" || p == "join");
                if frame.select.in_from && names_table && !qualifies && !calls {
                    let width = names.widths.get(w).copied().unwrap_or(1);
                    frame.select.from_width = frame.select.from_width.saturating_add(width);
                    frame.select.relations.insert(w.clone(), width);
                    frame.select.last_relation = Some(width);
                } else if frame.select.in_from
                    && (defines || previous == Some(&Token::Word("as".into())))
                    && let Some(width) = frame.select.last_relation.take()
                {
                    // the alias of the relation just read
                    frame.select.relations.insert(w.clone(), width);
                }
                frame.add(cost);
            }
            Token::Comma | Token::Semicolon => {
                end_item(&mut frames, &mut aliases);
                let depth = frames.len() - 1;
                let frame = frames.last_mut().expect("the outermost frame stays");
                if let FrameKind::Struct { fields } = &mut frame.kind {
                    *fields += 1;
                }
                if frame.select.selects && !frame.select.in_from {
                    frame.select.items += 1;
                    let select = &mut frame.select;
                    let item = frame.done.saturating_sub(select.item_start);
                    select.columns_cost = select
                        .columns_cost
                        .saturating_add(item.saturating_mul(std::mem::take(&mut select.item_columns)));
                    select.item_start = frame.done;
                }
                frame.add(1);
                if token == &Token::Semicolon {
                    aliases.forget(frame, depth);
                }
            }
            Token::Star => {
                let frame = frames.last_mut().expect("the outermost frame stays");
                let item = matches!(previous, Some(Token::Comma | Token::Dot))
                    || matches!(previous, Some(Token::Word(w)) if ["select", "distinct", "all"].contains(&w.as_str()));
                if item && frame.select.selects && !frame.select.in_from {
                    match (previous, i.checked_sub(2).map(|p| &tokens[p])) {
                        (Some(Token::Dot), Some(Token::Word(q) | Token::Quoted(q))) => {
                            frame.select.qualified.push(q.clone())
                        }
                        _ => frame.select.stars += 1,
                    }
                }
                frame.add(1);
            }
            _ => frames.last_mut().expect("the outermost frame stays").add(1),
        }
    }
    while frames.len() > 1 {
        close(&mut frames, &mut aliases);
    }
    let total = frames.pop().map_or(0, |f| f.total().saturating_add(f.select.expanded()));
    TextExpansion { tokens: tokens.len() as u64, copied: total.saturating_sub(tokens.len() as u64), viewed }
}

/// The named windows of a text (`WINDOW w AS (…), v AS (…)`) and their definitions' tokens.
fn named_windows(tokens: &[Token]) -> HashMap<String, u64> {
    let mut windows = HashMap::new();
    for (i, token) in tokens.iter().enumerate() {
        if token != &Token::Word("window".into()) {
            continue;
        }
        let mut j = i + 1;
        while let (Some(Token::Word(name) | Token::Quoted(name)), Some(Token::Word(as_)), Some(Token::Open)) =
            (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
        {
            if as_ != "as" {
                break;
            }
            let (mut depth, mut k) = (0usize, j + 2);
            while k < tokens.len() {
                match tokens[k] {
                    Token::Open | Token::OpenBrace => depth += 1,
                    Token::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            // a window defined over another (`w2 AS (w1 …)`) holds that one's definition
            let base = match tokens.get(j + 3) {
                Some(Token::Word(b) | Token::Quoted(b)) => windows.get(b).copied().unwrap_or(0),
                _ => 0,
            };
            windows.insert(name.clone(), ((k - (j + 2)) as u64).saturating_add(base));
            j = k + 1;
            if tokens.get(j) != Some(&Token::Comma) {
                break;
            }
            j += 1;
        }
    }
    windows
}

/// What each view stands for where a statement names it: DuckDB binds a view's query anew at
/// every mention, so a view is its own text's nodes and copies plus what the views it names
/// stand for (a chain of views each naming the one before twice doubles at every link).
/// `views` are `(name, CREATE VIEW text)`; names are matched without schema or case, the
/// largest view of a name counting for all.
pub(super) fn view_weights(views: &[(String, String)], macros: &Macros) -> HashMap<String, u64> {
    let by_name: HashMap<String, Vec<&str>> = views.iter().fold(HashMap::new(), |mut acc, (name, sql)| {
        acc.entry(name.to_lowercase()).or_default().push(sql.as_str());
        acc
    });
    let mut weights: HashMap<String, u64> = HashMap::new();
    let mut in_progress: Vec<String> = Vec::new();
    for name in by_name.keys() {
        weigh(name, &by_name, macros, &mut weights, &mut in_progress);
    }
    weights
}

fn weigh(
    name: &str,
    views: &HashMap<String, Vec<&str>>,
    macros: &Macros,
    weights: &mut HashMap<String, u64>,
    in_progress: &mut Vec<String>,
) -> u64 {
    if let Some(w) = weights.get(name) {
        return *w;
    }
    // (DuckDB refuses a view that names itself; a cycle counts once)
    if in_progress.iter().any(|n| n == name) || in_progress.len() > 1_000 {
        return 1;
    }
    in_progress.push(name.to_owned());
    let mut weight = 0u64;
    for sql in views.get(name).into_iter().flatten() {
        let tokens = tokens(sql);
        let mut named = HashMap::new();
        for t in &tokens {
            if let Token::Word(w) | Token::Quoted(w) = t
                && w != name
                && views.contains_key(w)
                && !named.contains_key(w)
            {
                let inner = weigh(w, views, macros, weights, in_progress);
                named.insert(w.clone(), inner);
            }
        }
        let grown = copied_by_text(sql, macros, Names { views: &named, widths: &HashMap::new() });
        let this = (tokens.len() as u64).saturating_add(grown.copied).saturating_add(grown.viewed);
        weight = weight.max(this);
    }
    in_progress.pop();
    weights.insert(name.to_owned(), weight);
    weight
}

/// The first `n` words of a statement, in lower case, comments skipped.
pub(super) fn first_words(sql: &str, n: usize) -> Vec<String> {
    tokens(sql)
        .into_iter()
        .take(n)
        .map(|t| match t {
            Token::Word(w) => w,
            _ => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Names<'static> {
        static EMPTY: std::sync::LazyLock<HashMap<String, u64>> = std::sync::LazyLock::new(HashMap::new);
        Names { views: &EMPTY, widths: &EMPTY }
    }

    fn nullif_only() -> Macros {
        let mut macros = Macros::default();
        macros.record(("nullif".into(), 2), MacroShape { body: 4, copies: vec![2, 1] });
        macros
    }

    fn nested(n: usize, open: &str, close: &str) -> String {
        format!("SELECT {}1{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn the_tokens_count_case_operands_macros_and_between() {
        let m = nullif_only();
        let small = copied_by_text(&nested(3, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"), &m, none()).copied;
        let large = copied_by_text(&nested(20, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"), &m, none()).copied;
        assert!(small < 100, "{small}");
        assert!(large > 1_000_000, "{large}");
        assert!(copied_by_text(&nested(20, "nullif(", ", 2)"), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&nested(20, "\"NULLIF\" /* c */ (", ", 2)"), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&format!("SELECT (1){}", ".nullif(2)".repeat(20)), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&nested(20, "((", " BETWEEN 0 AND 5)::int)"), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&nested(20, "((", " NOT BETWEEN 0 AND 5)::int)"), &m, none()).copied > 1_000_000);
        assert!(
            copied_by_text(&nested(20, "((", " IN (1) BETWEEN false AND true)::int)"), &m, none()).copied > 1_000_000
        );
        // What strings and comments hold is not code; what they end is.
        let hidden = format!("SELECT '{}' /* CASE x WHEN */ $a$ end $a$", "CASE x WHEN 1 THEN 1 END ".repeat(50));
        assert!(copied_by_text(&hidden, &m, none()).copied < 10);
        let e_string = format!("SELECT E'\\' {}'", nested(20, "nullif(", ", 2)"));
        assert!(copied_by_text(&e_string, &m, none()).copied < 10, "inside an E string");
        let not_a_string = format!("SELECT '' {}", &nested(20, "nullif(", ", 2)")[7..]);
        assert!(copied_by_text(&not_a_string, &m, none()).copied > 1_000_000, "after a string's doubled quote");
        // An END inside brackets does not close the CASE outside them.
        let bracketed_end =
            format!("SELECT CASE (x /* */ end) || {} WHEN 1 THEN 1 WHEN 2 THEN 2 END", nested(15, "nullif(", ", 2)"));
        assert!(copied_by_text(&bracketed_end, &m, none()).copied > 100_000);
        // Select aliases named by later items, with AS or without; qualified names are not
        // aliases.
        let aliases = |n: usize, join: &str| {
            format!(
                "SELECT x{join}a0{} FROM t",
                (1..=n).map(|i| format!(", a{0} + a{0}{join}a{i}", i - 1)).collect::<String>()
            )
        };
        assert!(copied_by_text(&aliases(20, " AS "), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&aliases(20, " "), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&aliases(20, " AS \""), &m, none()).copied > 0);
        let joins = format!(
            "SELECT t0.id FROM x t0 {}",
            (1..40).map(|i| format!("JOIN x t{i} USING (id)")).collect::<String>()
        );
        assert!(copied_by_text(&joins, &m, none()).copied < 1_000, "{joins}");
        // an inner alias named like an outer one is defined, not copied
        let inner = |n: usize| {
            format!("(SELECT t0.id FROM {} t0 JOIN {} t1 USING (id))", nested(n, "(", ")"), nested(n, "(", ")"))
        };
        let outer = format!(
            "SELECT t0.id FROM {} t0 JOIN {} t1 USING (id) JOIN {} t2 USING (id)",
            inner(300),
            inner(300),
            inner(300)
        );
        assert!(copied_by_text(&outer, &m, none()).copied < 1_000);
        let subquery = format!("SELECT {} FROM ({}) AS s", vec!["s.a"; 2000].join(" + "), nested(200, "(", " + 1)"));
        assert!(copied_by_text(&subquery, &m, none()).copied < 1_000, "{subquery}");
        // Names bound anew at each mention (a workspace's views) cost what they stand for.
        let views = HashMap::from([("v".to_owned(), 5_000)]);
        assert!(
            copied_by_text(
                "SELECT * FROM v a, main.v b, \"V\" c",
                &m,
                Names { views: &views, widths: &HashMap::new() }
            )
            .copied
                >= 9_900
        );
        assert!(
            copied_by_text("SELECT v.x, v(1) FROM t AS v", &m, Names { views: &views, widths: &HashMap::new() }).copied
                < 5_000
        );
        // Views chained, each naming the one before twice, double at each link.
        let chain: Vec<(String, String)> = (0..30)
            .map(|i| {
                let sql = if i == 0 {
                    "CREATE VIEW v0 AS SELECT 1 AS x".to_owned()
                } else {
                    format!("CREATE VIEW \"V{i}\" AS SELECT a.x + b.x AS x FROM v{0} a, main.v{0} b", i - 1)
                };
                (format!("v{i}"), sql)
            })
            .collect();
        let weights = view_weights(&chain, &m);
        assert!(weights["v3"] < 300 && weights["v20"] > 1_000_000, "{weights:?}");
        assert!(
            copied_by_text("SELECT * FROM v29", &m, Names { views: &weights, widths: &HashMap::new() }).viewed
                > 1_000_000
        );
        assert_eq!(
            first_words("/* x */ CREATE -- y\n OR replace Macro m(x) AS x", 4),
            ["create", "or", "replace", "macro"]
        );
        // What DuckDB's scanner reads as code is code here: a line comment ends at `\r` too,
        // Unicode spaces separate tokens (an attacker review hid a 20-deep CASE behind each)
        let case = nested(20, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END");
        assert!(copied_by_text(&format!("SELECT 1 --\r, {}", &case[7..]), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&case.replace(' ', "\u{a0}"), &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&case.replace(' ', "\u{3000}"), &m, none()).copied > 1_000_000);
        assert_eq!(first_words("CREATE --\r MACRO m(a) AS a", 2), ["create", "macro"]);
        assert_eq!(first_words("CREATE\u{a0}TEMP\u{a0}MACRO m(a) AS a", 3), ["create", "temp", "macro"]);
        // `name: expr` names an item as `expr AS name` does
        let prefixed = format!(
            "SELECT a0: x{} FROM t",
            (1..=20).map(|i| format!(", a{i}: a{0} + a{0}", i - 1)).collect::<String>()
        );
        assert!(copied_by_text(&prefixed, &m, none()).copied > 1_000_000);
        assert!(copied_by_text(&format!("INSERT INTO t {prefixed}"), &m, none()).copied > 1_000_000);
        // a select alias named like a view does not hide the view
        let shadowed: Vec<(String, String)> = (0..20)
            .map(|i| {
                let sql = if i == 0 {
                    "CREATE VIEW s0 AS SELECT 1 AS x".to_owned()
                } else {
                    format!("CREATE VIEW s{i} AS SELECT a.x + b.x AS x, 0 AS s{0} FROM s{0} a, s{0} b", i - 1)
                };
                (format!("s{i}"), sql)
            })
            .collect();
        assert!(view_weights(&shadowed, &m)["s19"] > 1_000_000);
        // A set operation's branches name their items anew; a view named once is bound once.
        let bucket =
            format!("CASE {} END AS bucket", (0..60).map(|i| format!("WHEN v < {i} THEN 'b{i}'")).collect::<String>());
        let union = format!(
            "SELECT 'src0' AS src, {bucket}, count(*) FROM t GROUP BY 1, 2{} ORDER BY src, bucket",
            (1..30).map(|i| format!(" UNION ALL SELECT 'src{i}' AS src, bucket, count(*) FROM t{i} WHERE bucket IS NOT NULL GROUP BY src, bucket")).collect::<String>()
        );
        assert!(copied_by_text(&union, &m, none()).copied < 1_000, "{union}");
        let staging: HashMap<String, u64> = (0..30).map(|i| (format!("stg_{i}"), 1_500)).collect();
        let wide = format!(
            "SELECT * FROM stg_0 {}",
            (1..30).map(|i| format!("LEFT JOIN stg_{i} USING (id) ")).collect::<String>()
        );
        let grown = copied_by_text(&wide, &m, Names { views: &staging, widths: &HashMap::new() });
        assert!(grown.copied < 1_000 && grown.viewed == 45_000, "{grown:?}");
        // `unnest` of a struct copies it once per field (quadratic in the struct's width)
        let fields = (0..1400).map(|i| format!("'f{i}': x + {i}")).collect::<Vec<_>>().join(", ");
        assert!(copied_by_text(&format!("SELECT unnest({{{fields}}}) FROM t"), &m, none()).copied > 1_000_000);
        let list = (0..2000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        assert!(copied_by_text(&format!("SELECT unnest([{list}]), {{'a': 1, 'b': 2}}"), &m, none()).copied < 100);
        // `*` answers every column of what FROM reads, `COLUMNS(…)` binds its item once per
        // column: doubling `SELECT *, *` and wide COLUMNS sums grow with them
        let mut stars = "SELECT 1 AS x".to_owned();
        for _ in 0..20 {
            stars = format!("SELECT *, * FROM ({stars}) s");
        }
        assert!(copied_by_text(&stars, &m, none()).copied > 1_000_000);
        let mut ten = "SELECT 1 AS x".to_owned();
        for _ in 0..10 {
            ten = format!("SELECT t.*, * FROM ({ten}) t");
        }
        let terms = vec!["COLUMNS(*)"; 500].join(" + ");
        assert!(copied_by_text(&format!("SELECT {terms} FROM ({ten}) w"), &m, none()).copied > 1_000_000);
        assert!(
            copied_by_text("SELECT *, a * b, count(*) FROM t, u JOIN v ON a = b WHERE c * 2 > 1", &m, none()).copied
                < 10
        );
        // a named window is copied into every function over it
        let spec = vec!["x"; 300].join(" + ");
        let over = vec!["sum(x) OVER w"; 300].join(", ");
        let windowed = format!("SELECT {over} FROM t WINDOW w AS (PARTITION BY {spec} ORDER BY {spec})");
        assert!(copied_by_text(&windowed, &m, none()).copied > 100_000);
        assert!(
            copied_by_text(
                "SELECT sum(x) OVER w, avg(x) OVER (w ROWS 1 PRECEDING) FROM t WINDOW w AS (ORDER BY x)",
                &m,
                none()
            )
            .copied
                < 20
        );
        // (attacker review 2) a word after a dot is a name: `t.end` does not close a CASE
        let mut hidden = "1".to_owned();
        for _ in 0..20 {
            hidden = format!("(CASE {hidden} || t.end WHEN 1 THEN 1 WHEN 2 THEN 2 END)");
        }
        assert!(copied_by_text(&format!("SELECT {hidden} FROM t"), &m, none()).copied > 1_000_000);
        // a window defined over another holds its definition
        let spec = vec!["x"; 300].join(" + ");
        let inherited = format!(
            "SELECT {} FROM t WINDOW w1 AS (PARTITION BY {spec}), w2 AS (w1)",
            vec!["sum(x) OVER w2"; 300].join(", ")
        );
        assert!(copied_by_text(&inherited, &m, none()).copied > 80_000);
        // `*` over a table answers its columns, when they are known
        let widths = HashMap::from([("wide".to_owned(), 1_000)]);
        let wide = Names { views: &HashMap::new(), widths: &widths };
        assert!(copied_by_text(&format!("SELECT {} FROM wide", vec!["*"; 100].join(", ")), &m, wide).copied > 90_000);
        let cross = (0..100).map(|i| format!("main.wide w{i}")).collect::<Vec<_>>().join(", ");
        assert!(copied_by_text(&format!("SELECT * FROM {cross}"), &m, wide).copied > 90_000);
        assert!(copied_by_text("SELECT * FROM wide", &m, wide).copied <= 1_000);
        // what copies linearly is within a budget twice the statement's size
        let staging = (0..1500)
            .map(|i| format!("coalesce(nullif(trim(c{i}), ''), 'n/a') AS c{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let grown = copied_by_text(&format!("SELECT {staging} FROM raw"), &m, none());
        assert!(grown.copied <= copy_budget(grown.tokens), "{grown:?}");
        let arms = (0..3000).map(|i| format!(" WHEN 'v{i}' THEN {i}")).collect::<String>();
        let grown =
            copied_by_text(&format!("SELECT CASE lower(trim(CAST(x AS varchar))){arms} END FROM t"), &m, none());
        assert!(grown.copied <= copy_budget(grown.tokens), "{grown:?}");
        // a COLUMNS item after a long list is bound per column, not the list
        let plain = (0..600).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ");
        let sub = (0..300).map(|i| format!("1 AS s0_{i}")).collect::<Vec<_>>().join(", ");
        let grown = copied_by_text(&format!("SELECT id, {plain}, COLUMNS('s0_.*') FROM (SELECT {sub}) s"), &m, none());
        assert!(grown.copied <= copy_budget(grown.tokens), "{grown:?}");
        // a qualified star answers its own relation's columns, not all FROM reads
        let sub = format!("(SELECT id, {})", (0..300).map(|i| format!("1 AS c{i}")).collect::<Vec<_>>().join(", "));
        let joined = (1..10).map(|i| format!(" JOIN {sub} a{i} USING (id)")).collect::<String>();
        let items = (0..10).map(|i| format!("a{i}.*")).collect::<Vec<_>>().join(", ");
        let grown = copied_by_text(&format!("SELECT {items} FROM {sub} a0{joined}"), &m, none());
        assert!(grown.copied <= copy_budget(grown.tokens), "{grown:?}");
        let qualified = format!("SELECT {} FROM wide w", vec!["w.*"; 100].join(", "));
        assert!(copied_by_text(&qualified, &m, wide).copied > 90_000);
        // Siblings are not copies: long flat texts add nothing.
        let flat = format!(
            "SELECT {} FROM t WHERE {}",
            (0..2000).map(|i| format!("CASE c{i} WHEN 1 THEN 'a' WHEN 2 THEN 'b' END")).collect::<Vec<_>>().join(", "),
            (0..500).map(|i| format!("d{i} BETWEEN {i} AND {}", i + 1)).collect::<Vec<_>>().join(" AND ")
        );
        assert!(copied_by_text(&flat, &m, none()).copied < 10_000, "{}", copied_by_text(&flat, &m, none()).copied);
        let values = (0..5000).map(|i| format!("({i}, nullif('x', 'y'))")).collect::<Vec<_>>().join(", ");
        assert!(copied_by_text(&format!("INSERT INTO t VALUES {values}"), &m, none()).copied < 50_000);
    }
}
