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
        "Parser Error: statement is too complex: DuckDB would copy its parts into {} more nodes, more than {MAX_COPIED_NODES} \
         (nested CASE operands, macros such as nullif, BETWEEN, or select aliases named by later items); \
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
    Close,
    Comma,
    Semicolon,
    Dot,
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
            _ if c.is_ascii_whitespace() => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
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
                while i < b.len() && ident_rest(b[i]) {
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
                out.push(Token::Word(word));
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
            b'(' | b'[' | b'{' => {
                i += 1;
                out.push(Token::Open);
            }
            b')' | b']' | b'}' => {
                i += 1;
                out.push(Token::Close);
            }
            b',' => {
                i += 1;
                out.push(Token::Comma);
            }
            b';' => {
                i += 1;
                out.push(Token::Semicolon);
            }
            b'.' => {
                i += 1;
                out.push(Token::Dot);
            }
            _ => {
                i += 1;
                out.push(Token::Other);
            }
        }
    }
    out
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
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Names given to operands in the frame (`AS name`, or a name right after an operand), and
    /// the operand's cost.
    aliases: HashMap<String, u64>,
    /// Cost of what is complete in the frame.
    done: u64,
    /// Cost of the operand being read (since the last boundary).
    operand: u64,
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame { kind, aliases: HashMap::new(), done: 0, operand: 0 }
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
        match self.kind {
            FrameKind::Group => self.total().saturating_add(1),
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

/// Nodes DuckDB's parser and binder may add to `sql` by copying, as its tokens tell (an upper
/// bound where they cannot tell an operand's extent). `named` holds what a name stands for
/// when DuckDB binds it anew at each mention (a workspace's views: their own size and what
/// they name).
pub(super) fn copied_by_text(sql: &str, macros: &Macros, named: &HashMap<String, u64>) -> u64 {
    let tokens = tokens(sql);
    let mut frames = vec![Frame::new(FrameKind::Group)];
    let close = |frames: &mut Vec<Frame>| {
        let frame = frames.pop().expect("a frame to close");
        let cost = frame.folded();
        frames.last_mut().expect("the outermost frame stays").add(cost);
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
            Token::Open => {
                let call = match previous {
                    Some(Token::Word(name) | Token::Quoted(name)) => macros.by_name(name),
                    _ => None,
                };
                let kind = match call {
                    Some((body, copies)) => FrameKind::Call { body, copies },
                    None => FrameKind::Group,
                };
                frames.push(Frame::new(kind));
            }
            Token::Close => {
                // A CASE left open inside brackets ends with them.
                while frames.len() > 1 && matches!(frames.last().map(|f| &f.kind), Some(FrameKind::Case { .. })) {
                    close(&mut frames);
                }
                if frames.len() > 1 {
                    close(&mut frames);
                }
            }
            Token::Word(w) if w == "case" => frames.push(Frame::new(FrameKind::Case { operand: None, whens: 0 })),
            Token::Word(w) if w == "end" && matches!(frames.last().map(|f| &f.kind), Some(FrameKind::Case { .. })) => {
                close(&mut frames);
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
                let frame = frames.last_mut().expect("the outermost frame stays");
                if let Some(Token::Word(name) | Token::Quoted(name)) = next {
                    frame.aliases.insert(name.clone(), frame.operand);
                }
                frame.boundary();
                frame.add(1);
            }
            Token::Word(w) if OPERAND_BOUNDARIES.contains(&w.as_str()) => {
                let frame = frames.last_mut().expect("the outermost frame stays");
                frame.boundary();
                frame.add(1);
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
                // `expr name` (an alias without AS) is followed by what may follow an item
                let follows_item = match next {
                    None | Some(Token::Comma | Token::Semicolon | Token::Close) => true,
                    Some(Token::Word(n)) => {
                        OPERAND_BOUNDARIES.contains(&n.as_str()) || CLAUSE_WORDS.contains(&n.as_str())
                    }
                    _ => false,
                };
                let defines = !qualified && !qualifies && !calls && ends_operand(previous) && follows_item;
                let mut cost = 1;
                if !calls && !qualifies && !defines && previous != Some(&Token::Word("as".into())) {
                    let alias = (!qualified).then(|| frames.iter().rev().find_map(|f| f.aliases.get(w))).flatten();
                    cost = alias.or_else(|| named.get(w)).copied().unwrap_or(1).max(1);
                }
                let frame = frames.last_mut().expect("the outermost frame stays");
                if defines {
                    frame.aliases.insert(w.clone(), frame.operand);
                }
                frame.add(cost);
            }
            Token::Comma | Token::Semicolon => {
                let frame = frames.last_mut().expect("the outermost frame stays");
                frame.add(1);
                frame.boundary();
                if token == &Token::Semicolon {
                    frame.aliases.clear();
                }
            }
            _ => frames.last_mut().expect("the outermost frame stays").add(1),
        }
    }
    while frames.len() > 1 {
        close(&mut frames);
    }
    let total = frames.pop().map_or(0, |f| f.total());
    total.saturating_sub(tokens.len() as u64)
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
        let this = (tokens.len() as u64).saturating_add(copied_by_text(sql, macros, &named));
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
        let small = copied_by_text(&nested(3, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"), &m, &HashMap::new());
        let large = copied_by_text(&nested(20, "CASE ", " WHEN 1 THEN 1 WHEN 2 THEN 2 END"), &m, &HashMap::new());
        assert!(small < 100, "{small}");
        assert!(large > 1_000_000, "{large}");
        assert!(copied_by_text(&nested(20, "nullif(", ", 2)"), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&nested(20, "\"NULLIF\" /* c */ (", ", 2)"), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&format!("SELECT (1){}", ".nullif(2)".repeat(20)), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&nested(20, "((", " BETWEEN 0 AND 5)::int)"), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&nested(20, "((", " NOT BETWEEN 0 AND 5)::int)"), &m, &HashMap::new()) > 1_000_000);
        assert!(
            copied_by_text(&nested(20, "((", " IN (1) BETWEEN false AND true)::int)"), &m, &HashMap::new()) > 1_000_000
        );
        // What strings and comments hold is not code; what they end is.
        let hidden = format!("SELECT '{}' /* CASE x WHEN */ $a$ end $a$", "CASE x WHEN 1 THEN 1 END ".repeat(50));
        assert!(copied_by_text(&hidden, &m, &HashMap::new()) < 10);
        let e_string = format!("SELECT E'\\' {}'", nested(20, "nullif(", ", 2)"));
        assert!(copied_by_text(&e_string, &m, &HashMap::new()) < 10, "inside an E string");
        let not_a_string = format!("SELECT '' {}", &nested(20, "nullif(", ", 2)")[7..]);
        assert!(copied_by_text(&not_a_string, &m, &HashMap::new()) > 1_000_000, "after a string's doubled quote");
        // An END inside brackets does not close the CASE outside them.
        let bracketed_end =
            format!("SELECT CASE (x /* */ end) || {} WHEN 1 THEN 1 WHEN 2 THEN 2 END", nested(15, "nullif(", ", 2)"));
        assert!(copied_by_text(&bracketed_end, &m, &HashMap::new()) > 100_000);
        // Select aliases named by later items, with AS or without; qualified names are not
        // aliases.
        let aliases = |n: usize, join: &str| {
            format!(
                "SELECT x{join}a0{} FROM t",
                (1..=n).map(|i| format!(", a{0} + a{0}{join}a{i}", i - 1)).collect::<String>()
            )
        };
        assert!(copied_by_text(&aliases(20, " AS "), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&aliases(20, " "), &m, &HashMap::new()) > 1_000_000);
        assert!(copied_by_text(&aliases(20, " AS \""), &m, &HashMap::new()) > 0);
        let joins = format!(
            "SELECT t0.id FROM x t0 {}",
            (1..40).map(|i| format!("JOIN x t{i} USING (id)")).collect::<String>()
        );
        assert!(copied_by_text(&joins, &m, &HashMap::new()) < 1_000, "{joins}");
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
        assert!(copied_by_text(&outer, &m, &HashMap::new()) < 1_000);
        let subquery = format!("SELECT {} FROM ({}) AS s", vec!["s.a"; 2000].join(" + "), nested(200, "(", " + 1)"));
        assert!(copied_by_text(&subquery, &m, &HashMap::new()) < 1_000, "{subquery}");
        // Names bound anew at each mention (a workspace's views) cost what they stand for.
        let views = HashMap::from([("v".to_owned(), 5_000)]);
        assert!(copied_by_text("SELECT * FROM v a, main.v b, \"V\" c", &m, &views) >= 14_900);
        assert!(copied_by_text("SELECT v.x, v(1) FROM t AS v", &m, &views) < 5_000);
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
        assert!(copied_by_text("SELECT * FROM v29", &m, &weights) > 1_000_000);
        assert_eq!(
            first_words("/* x */ CREATE -- y\n OR replace Macro m(x) AS x", 4),
            ["create", "or", "replace", "macro"]
        );
        // Siblings are not copies: long flat texts add nothing.
        let flat = format!(
            "SELECT {} FROM t WHERE {}",
            (0..2000).map(|i| format!("CASE c{i} WHEN 1 THEN 'a' WHEN 2 THEN 'b' END")).collect::<Vec<_>>().join(", "),
            (0..500).map(|i| format!("d{i} BETWEEN {i} AND {}", i + 1)).collect::<Vec<_>>().join(" AND ")
        );
        assert!(copied_by_text(&flat, &m, &HashMap::new()) < 10_000, "{}", copied_by_text(&flat, &m, &HashMap::new()));
        let values = (0..5000).map(|i| format!("({i}, nullif('x', 'y'))")).collect::<Vec<_>>().join(", ");
        assert!(copied_by_text(&format!("INSERT INTO t VALUES {values}"), &m, &HashMap::new()) < 50_000);
    }
}
