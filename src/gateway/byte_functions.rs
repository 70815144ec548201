//! PostgreSQL's bytea, encoding and regular-expression functions that DuckDB lacks or answers
//! otherwise, written as the engine's (both session kinds, through `compat::semantic_rewrite`):
//!
//! - `encode`/`decode` in `hex` and `base64` (DuckDB's `encode`/`decode` convert text and
//!   UTF-8 bytes), `convert_to`/`convert_from` in UTF-8, `sha256` as PostgreSQL types it,
//!   `get_byte`, `length` of a bytea, `to_hex` in lower case;
//! - `regexp_match`, the set-returning `regexp_matches` and `regexp_split_to_table` (DuckDB's
//!   `regexp_matches` is a boolean test), `overlay(… PLACING …)`;
//! - bytea's escape input format (`'\001abc'::bytea`).
//!
//! A form not followed here (a pattern that is not a literal, another encoding, more than the
//! engine's nine capture groups, a global match of more than one group) is left for the engine
//! to refuse. Each rewrite names the value and the pattern a bounded number of times and does
//! linear work in the value: a pattern of many groups or a long value cannot grow the statement
//! or the work per row beyond that.

use sqlparser::ast::{DataType, Expr, Function, FunctionArg, FunctionArgExpr, TableFactor};

use super::compat::{call, cast_to, expr_args, operand, pg_function_name, string_literal, text, with_operands};

/// The error a malformed hex text gets, as PostgreSQL words it.
const ODD_HEX: &str = "error('invalid hexadecimal data: odd number of digits')";

/// A call of one of these functions rewritten, or None.
pub(super) fn byte_function(f: &Function) -> Option<Expr> {
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let name = pg_function_name(f)?;
    // (named first: the arguments are copied only for a call rewritten here)
    const NAMES: &[&str] = &[
        "encode",
        "decode",
        "convert_to",
        "convert_from",
        "sha256",
        "to_hex",
        "length",
        "octet_length",
        "get_byte",
        "regexp_match",
        "regexp_matches",
        "regexp_split_to_table",
    ];
    if !NAMES.contains(&name.as_str()) {
        return None;
    }
    let args = expr_args(&f.args)?;
    let format = |i: usize| args.get(i).and_then(string_literal).map(|s| s.trim().to_ascii_lowercase());
    Some(match (name.as_str(), args.len()) {
        ("encode", 2) => match format(1)?.as_str() {
            "hex" => call("lower", vec![call("hex", vec![args[0].clone()])]),
            // a line break after every 76 characters, the last line's too when it is full
            "base64" => call(
                "regexp_replace",
                vec![call("to_base64", vec![args[0].clone()]), text("(.{76})"), text("\\1\n"), text("g")],
            ),
            _ => return None,
        },
        ("decode", 2) => match format(1)?.as_str() {
            "hex" => call(
                "unhex",
                vec![
                    with_operands(
                        &format!("CASE WHEN length({v}) % 2 = 1 THEN {ODD_HEX} ELSE {v} END", v = operand(0)),
                        vec![args[0].clone()],
                    )
                    .ok()?,
                ],
            ),
            "base64" => call("from_base64", vec![call("replace", vec![args[0].clone(), text("\n"), text("")])]),
            _ => return None,
        },
        ("convert_to", 2) if utf8(&format(1)?) => call("encode", vec![args[0].clone()]),
        ("convert_from", 2) if utf8(&format(1)?) => call("decode", vec![args[0].clone()]),
        // PostgreSQL's SHA-2 functions answer bytea (DuckDB's sha256 a hex text)
        ("sha256", 1) => call("unhex", vec![call("sha256", vec![args[0].clone()])]),
        ("to_hex", 1) => call("lower", vec![call("to_hex", vec![args[0].clone()])]),
        ("length" | "octet_length", 1) if written_as_bytea(&args[0]) => {
            cast_to(call("octet_length", vec![args[0].clone()]), DataType::Integer(None))
        }
        // the byte at offset n (from 0) as an integer; out of range is PostgreSQL's 2202E
        ("get_byte", 2) => with_operands(
            &format!(
                "CASE WHEN {n} < 0 OR {n} >= octet_length({b}) \
                 THEN error('index ' || {n} || ' out of valid range, 0..' || (octet_length({b}) - 1)) \
                 ELSE CAST((instr('0123456789ABCDEF', substr(hex({b}), 2 * {n} + 1, 1)) - 1) * 16 \
                 + instr('0123456789ABCDEF', substr(hex({b}), 2 * {n} + 2, 1)) - 1 AS INTEGER) END",
                b = operand(0),
                n = operand(1)
            ),
            args.clone(),
        )
        .ok()?,
        ("regexp_match", 2 | 3) => {
            let pattern = Pattern::of(&args[1], args.get(2))?;
            if pattern.global {
                return None;
            }
            let groups = pattern.groups_sql(&operand(0));
            with_operands(
                &format!("CASE WHEN regexp_matches({}, {}) THEN {groups} END", operand(0), pattern.literal()),
                pattern.operands(&args[0]),
            )
            .ok()?
        }
        // a row per match (`g`) or for the first: each the array of its groups (one pass over
        // the value: of a global match, the one group's or the whole match's texts)
        ("regexp_matches", 2 | 3) => {
            let pattern = Pattern::of(&args[1], args.get(2))?;
            let matches = if pattern.global {
                if pattern.groups > 1 {
                    return None;
                }
                format!(
                    "list_transform(regexp_extract_all({}, {}, {}), duckstore_m -> [duckstore_m])",
                    operand(0),
                    pattern.literal(),
                    pattern.groups
                )
            } else {
                let groups = pattern.groups_sql(&operand(0));
                format!("CASE WHEN regexp_matches({}, {}) THEN [{groups}] ELSE [] END", operand(0), pattern.literal())
            };
            call("unnest", vec![with_operands(&matches, pattern.operands(&args[0])).ok()?])
        }
        ("regexp_split_to_table", 2) => call("unnest", vec![call("regexp_split_to_array", args)]),
        _ => return None,
    })
}

/// `regexp_split_to_table(…)` in FROM: the engine's `unnest` of the split array (ordinality
/// and the alias's columns keep working as for any `unnest`).
pub(super) fn byte_table_function(factor: &mut TableFactor) -> bool {
    let TableFactor::Table { name, args: Some(args), .. } = factor else { return false };
    let is_split = match super::query::name_parts(name).as_deref() {
        Some([f]) => f == "regexp_split_to_table",
        Some([schema, f]) => schema == "pg_catalog" && f == "regexp_split_to_table",
        _ => false,
    };
    if !is_split || args.args.len() != 2 {
        return false;
    }
    let Some(values) = args
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    *name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new("unnest")]);
    args.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(call("regexp_split_to_array", values)))];
    true
}

/// `overlay(s PLACING r FROM n [FOR m])`: s with m characters (r's length unless given) from
/// position n replaced by r.
pub(super) fn overlay(string: &Expr, placing: &Expr, from: &Expr, count: Option<&Expr>) -> Option<Expr> {
    let mut operands = vec![string.clone(), placing.clone(), from.clone()];
    let count = match count {
        Some(c) => {
            operands.push(c.clone());
            operand(3)
        }
        None => format!("length({})", operand(1)),
    };
    let (s, r, n) = (operand(0), operand(1), operand(2));
    with_operands(&format!("substring({s}, 1, {n} - 1) || {r} || substring({s}, {n} + {count})"), operands).ok()
}

/// A bytea literal in PostgreSQL's escape input format (`\001`, `\\`, other characters as their
/// UTF-8 bytes) as the hex text of its bytes; None for a malformed one (left for the engine).
pub(super) fn escaped_bytea_hex(written: &str) -> Option<String> {
    let bytes = written.as_bytes();
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut i = 0;
    while i < bytes.len() {
        let byte = if bytes[i] != b'\\' {
            i += 1;
            bytes[i - 1]
        } else if bytes.get(i + 1) == Some(&b'\\') {
            i += 2;
            b'\\'
        } else {
            let digits = bytes.get(i + 1..i + 4)?;
            if !(b'0'..=b'3').contains(&digits[0]) || !digits[1..].iter().all(|d| (b'0'..=b'7').contains(d)) {
                return None;
            }
            i += 4;
            digits.iter().fold(0u8, |acc, d| acc * 8 + (d - b'0'))
        };
        out.push_str(&format!("{byte:02x}"));
    }
    Some(out)
}

fn utf8(encoding: &str) -> bool {
    matches!(encoding, "utf8" | "utf-8" | "unicode")
}

/// Whether `e` is written as a bytea: a cast to it, or a call answering one (as written, or as
/// rewritten: the arguments are rewritten before the call).
fn written_as_bytea(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => written_as_bytea(inner),
        Expr::Cast { data_type, .. } => {
            matches!(data_type.to_string().to_lowercase().as_str(), "bytea" | "blob" | "pg_catalog.bytea")
        }
        Expr::Function(f) => matches!(
            (pg_function_name(f).as_deref(), expr_args(&f.args).as_deref()),
            (Some("decode" | "convert_to"), Some([_, _]))
                | (Some("sha256" | "unhex" | "from_base64" | "encode"), Some([_]))
        ),
        _ => false,
    }
}

/// The most capture groups a rewritten pattern may have (the engine's own limit).
const MAX_GROUPS: usize = 9;

/// A literal regular expression with PostgreSQL's flags (`g`, `i`), and its capture groups.
struct Pattern {
    /// The pattern as the engine takes it (`(?i)` for `i`).
    regex: String,
    groups: usize,
    global: bool,
}

impl Pattern {
    fn of(pattern: &Expr, flags: Option<&Expr>) -> Option<Pattern> {
        let written = string_literal(pattern)?;
        let flags = match flags {
            Some(f) => string_literal(f)?,
            None => "",
        };
        if !flags.chars().all(|c| matches!(c, 'g' | 'i')) {
            return None;
        }
        let regex = if flags.contains('i') { format!("(?i){written}") } else { written.to_owned() };
        // (the engine takes at most nine groups; more would also copy the pattern as often)
        let groups = capture_groups(written).filter(|g| *g <= MAX_GROUPS)?;
        Some(Pattern { groups, regex, global: flags.contains('g') })
    }

    /// How a body names the pattern: the template puts the literal itself there (a constant to
    /// the engine, and never the client's text inside the server's SQL).
    fn literal(&self) -> String {
        "__arg1".to_owned()
    }

    /// The operands of a body over `value` and this pattern.
    fn operands(&self, value: &Expr) -> Vec<Expr> {
        vec![value.clone(), text(&self.regex)]
    }

    /// The array of the first match's groups of `value` (the whole match without groups).
    fn groups_sql(&self, value: &str) -> String {
        let items: Vec<String> = match self.groups {
            0 => vec![format!("regexp_extract({value}, {}, 0)", self.literal())],
            n => (1..=n).map(|g| format!("regexp_extract({value}, {}, {g})", self.literal())).collect(),
        };
        format!("[{}]", items.join(", "))
    }
}

/// How many capturing groups a pattern has (an unescaped `(` not followed by `?`, outside a
/// bracket expression); None when unsure (a bracket never closed).
fn capture_groups(pattern: &str) -> Option<usize> {
    let mut count = 0;
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '[' if !in_class => {
                in_class = true;
                // a `]` first in the class is a character of it
                if chars.peek() == Some(&'^') {
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                }
            }
            ']' if in_class => in_class = false,
            '(' if !in_class && chars.peek() != Some(&'?') => count += 1,
            _ => {}
        }
    }
    (!in_class).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_bytea_reads_as_postgresql_does() {
        assert_eq!(escaped_bytea_hex("\\001abc").as_deref(), Some("01616263"));
        assert_eq!(escaped_bytea_hex("a\\\\b").as_deref(), Some("615c62"));
        assert_eq!(escaped_bytea_hex("ž").as_deref(), Some("c5be"));
        for bad in ["\\", "\\9", "\\01", "\\400", "\\x"] {
            assert_eq!(escaped_bytea_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn capture_groups_are_counted() {
        assert_eq!(capture_groups("(\\w+)=(\\w+)"), Some(2));
        assert_eq!(capture_groups("[0-9]"), Some(0));
        assert_eq!(capture_groups("(?:a)(b)\\(c\\)"), Some(1));
        assert_eq!(capture_groups("[()](x)"), Some(1));
        assert_eq!(capture_groups("[](]"), Some(0));
        assert_eq!(capture_groups("[abc"), None);
    }
}
