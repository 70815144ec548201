//! `jsonb`'s text form as PostgreSQL prints it. The engine keeps a jsonb value as JSON text, as
//! it was written; PostgreSQL stores it decomposed and prints it canonically: object keys once
//! (the last wins), shorter keys first then byte order, `": "` and `", "` between items, numbers
//! as their numeric value prints (`1e2` is `100`), strings re-escaped.
//!
//! Also the jsonb functions and operators DuckDB lacks, on that reading (the engine's functions
//! in engine::jsonb_functions call these): `jsonb_set`, `#-`, `-`, `||`, `jsonb_strip_nulls`,
//! `jsonb_pretty`, and `->>`'s text of a member.

/// The canonical text of the JSON document `text`; `None` when it is not JSON (the engine
/// checked it; a value that is not is sent as it is).
pub fn canonical(text: &str) -> Option<String> {
    parse(text).map(|value| to_text(&value))
}

enum Json {
    Null,
    Bool(bool),
    /// A number's canonical text.
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Deeper documents are sent as the engine has them (no recursion without a bound).
const MAX_DEPTH: usize = 256;

/// Numbers with a larger exponent keep their written form.
const MAX_EXPONENT: i64 = 64;

/// A value's canonical text may be this much longer than the engine's (`,` becomes `, `);
/// beyond it the engine's text is sent: the wire never amplifies what the engine answered.
pub fn within_bound(original: usize, canonical: usize) -> bool {
    canonical <= original.saturating_mul(2).saturating_add(64)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
    /// json's reading: members in their order, repeated keys kept, numbers as written.
    as_written: bool,
}

impl Parser<'_> {
    fn blank(&mut self) {
        while self.at < self.bytes.len() && matches!(self.bytes[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.blank();
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self.bytes[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self) -> Option<Json> {
        self.blank();
        match *self.bytes.get(self.at)? {
            b'n' => self.word("null").then_some(Json::Null),
            b't' => self.word("true").then_some(Json::Bool(true)),
            b'f' => self.word("false").then_some(Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' => {
                self.enter()?;
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                self.depth -= 1;
                Some(Json::Array(items))
            }
            b'{' => {
                self.enter()?;
                self.at += 1;
                let mut members: Vec<(String, Json)> = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.blank();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let value = self.value()?;
                        members.push((key, value));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                if self.as_written {
                    self.depth -= 1;
                    return Some(Json::Object(members));
                }
                // PostgreSQL's order; a repeated key keeps its last value (the sort is stable,
                // so the last of equal keys is the last of its run): n log n, not n²
                members.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())));
                let mut unique: Vec<(String, Json)> = Vec::with_capacity(members.len());
                for member in members {
                    match unique.last_mut() {
                        Some(last) if last.0 == member.0 => *last = member,
                        _ => unique.push(member),
                    }
                }
                let members = unique;
                self.depth -= 1;
                Some(Json::Object(members))
            }
            _ => self.number().map(Json::Number),
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn string(&mut self) -> Option<String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            // (`at` is always on a character boundary: only whole characters are stepped over)
            let c = self.text.get(self.at..)?.chars().next()?;
            self.at += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => {
                    let escape = *self.bytes.get(self.at)?;
                    self.at += 1;
                    out.push(match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            if (0xD800..0xDC00).contains(&unit) && self.word("\\u") {
                                let low = self.hex4()?;
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low.checked_sub(0xDC00)?))?
                            } else {
                                char::from_u32(unit)?
                            }
                        }
                        _ => return None,
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
        self.at += 4;
        // (four hex digits: from_str_radix alone would take a sign)
        digits.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(digits, 16).ok())?
    }

    /// A number as PostgreSQL's numeric prints it: the exponent applied, the scale kept
    /// (`1.50` stays, `1e2` is `100`, `1.0e-2` is `0.010`).
    fn number(&mut self) -> Option<String> {
        let start = self.at;
        while self.at < self.bytes.len()
            && matches!(self.bytes[self.at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        if self.as_written {
            return valid_number(text).then(|| text.to_owned());
        }
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        // an exponent is written out only where the digits stay few (PostgreSQL writes out any:
        // `1e1000` would be a thousand digits from six bytes)
        // (unsigned: the smallest i64 has no absolute value of its own)
        if exponent.unsigned_abs() > MAX_EXPONENT.unsigned_abs() {
            return Some(text.to_owned());
        }
        // the digits with the decimal point moved by the exponent
        let digits: String = format!("{whole}{fraction}");
        let point = whole.len() as i64 + exponent;
        let scale = (fraction.len() as i64 - exponent).max(0) as usize;
        let (mut int_part, frac_part) = if point <= 0 {
            (String::from("0"), format!("{}{digits}", "0".repeat((-point) as usize)))
        } else if point as usize >= digits.len() {
            (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
        } else {
            (digits[..point as usize].to_owned(), digits[point as usize..].to_owned())
        };
        let trimmed = int_part.trim_start_matches('0');
        int_part = if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() };
        let mut frac_part: String = frac_part.chars().take(scale).collect();
        while frac_part.len() < scale {
            frac_part.push('0');
        }
        let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
        let sign = if negative && !zero { "-" } else { "" };
        Some(if scale == 0 { format!("{sign}{int_part}") } else { format!("{sign}{int_part}.{frac_part}") })
    }
}

fn write(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write(item, out);
            }
            out.push('}');
        }
    }
}

/// A jsonb operation's refusal: PostgreSQL's SQLSTATE class words and its message.
pub type Refusal = String;

fn parse(text: &str) -> Option<Json> {
    parse_as(text, false)
}

fn parse_as(text: &str, as_written: bool) -> Option<Json> {
    let mut parser = Parser { text, bytes: text.as_bytes(), at: 0, depth: 0, as_written };
    let value = parser.value()?;
    parser.blank();
    (parser.at == parser.bytes.len()).then_some(value)
}

/// Whether `text` is a JSON number: `-`, digits without a leading zero, a fraction, an
/// exponent.
fn valid_number(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(digits)
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// A value's text with nothing between its items, as json's functions print what they build.
fn write_compact(value: &Json, out: &mut String) {
    match value {
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_compact(item, out);
            }
            out.push('}');
        }
        scalar => write(scalar, out),
    }
}

fn to_text(value: &Json) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn document(text: &str) -> Result<Json, Refusal> {
    parse(text).ok_or_else(|| "invalid input syntax for type json".to_owned())
}

/// Keeps an object's members in PostgreSQL's order, each key once (the last wins).
fn sort_members(members: &mut Vec<(String, Json)>) {
    members.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())));
    let mut unique: Vec<(String, Json)> = Vec::with_capacity(members.len());
    for member in members.drain(..) {
        match unique.last_mut() {
            Some(last) if last.0 == member.0 => *last = member,
            _ => unique.push(member),
        }
    }
    *members = unique;
}

/// A path (`'{a,b,1}'`, sent as a JSON array of strings) as its steps.
fn path_steps(path: &str) -> Result<Vec<String>, Refusal> {
    match parse(path) {
        Some(Json::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Json::String(s) => Ok(s),
                _ => Err("a path is an array of texts".to_owned()),
            })
            .collect(),
        _ => Err("a path is an array of texts".to_owned()),
    }
}

/// An array position a path step names (from the end when negative), as PostgreSQL reads it.
fn step_index(step: &str, level: usize) -> Result<i64, Refusal> {
    step.trim()
        .parse::<i64>()
        .map_err(|_| format!("path element at position {} is not an integer: \"{step}\"", level + 1))
}

/// `jsonb_set(target, path, new, create_missing)`.
pub fn set(target: &str, path: &str, new: &str, create_missing: bool) -> Result<String, Refusal> {
    let mut value = document(target)?;
    let steps = path_steps(path)?;
    let new = document(new)?;
    if matches!(value, Json::Array(_) | Json::Object(_)) {
        set_path(&mut value, &steps, new, create_missing, 0)?;
    } else if !steps.is_empty() {
        return Err("cannot set path in scalar".to_owned());
    }
    Ok(to_text(&value))
}

fn set_path(value: &mut Json, steps: &[String], new: Json, create: bool, level: usize) -> Result<(), Refusal> {
    let Some((step, rest)) = steps.split_first() else { return Ok(()) };
    match value {
        Json::Object(members) => match members.iter_mut().find(|(k, _)| k == step) {
            Some((_, member)) if rest.is_empty() => *member = new,
            Some((_, member)) => set_path(member, rest, new, create, level + 1)?,
            None if rest.is_empty() && create => {
                members.push((step.clone(), new));
                sort_members(members);
            }
            None => {}
        },
        Json::Array(items) => {
            let index = step_index(step, level)?;
            let len = items.len() as i64;
            let at = if index < 0 { index + len } else { index };
            if (0..len).contains(&at) {
                if rest.is_empty() {
                    items[at as usize] = new;
                } else {
                    set_path(&mut items[at as usize], rest, new, create, level + 1)?;
                }
            } else if rest.is_empty() && create {
                if at < 0 { items.insert(0, new) } else { items.push(new) }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `target #- path`: the member at the path removed.
pub fn delete_path(target: &str, path: &str) -> Result<String, Refusal> {
    let mut value = document(target)?;
    let steps = path_steps(path)?;
    if !matches!(value, Json::Array(_) | Json::Object(_)) {
        return Err("cannot delete path in scalar".to_owned());
    }
    remove_path(&mut value, &steps, 0)?;
    Ok(to_text(&value))
}

fn remove_path(value: &mut Json, steps: &[String], level: usize) -> Result<(), Refusal> {
    let Some((step, rest)) = steps.split_first() else { return Ok(()) };
    match value {
        Json::Object(members) => {
            if let Some(i) = members.iter().position(|(k, _)| k == step) {
                if rest.is_empty() {
                    members.remove(i);
                } else {
                    remove_path(&mut members[i].1, rest, level + 1)?;
                }
            }
        }
        Json::Array(items) => {
            let index = step_index(step, level)?;
            let len = items.len() as i64;
            let at = if index < 0 { index + len } else { index };
            if (0..len).contains(&at) {
                if rest.is_empty() {
                    items.remove(at as usize);
                } else {
                    remove_path(&mut items[at as usize], rest, level + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `target - key` (`key` as JSON: a string removes that key, or an array's equal strings; an
/// integer removes an array's element at that position).
pub fn delete(target: &str, key: &str) -> Result<String, Refusal> {
    let mut value = document(target)?;
    match (&mut value, document(key)?) {
        (Json::Object(members), Json::String(k)) => members.retain(|(name, _)| *name != k),
        (Json::Array(items), Json::String(k)) => items.retain(|i| !matches!(i, Json::String(s) if *s == k)),
        (Json::Array(items), Json::Number(n)) => {
            let index: i64 = n.parse().map_err(|_| "an array position is an integer".to_owned())?;
            let len = items.len() as i64;
            let at = if index < 0 { index + len } else { index };
            if (0..len).contains(&at) {
                items.remove(at as usize);
            }
        }
        (Json::Object(_), Json::Number(_)) => return Err("cannot delete from object using integer index".to_owned()),
        (Json::Array(_) | Json::Object(_), _) => return Err("a key is a text or an integer".to_owned()),
        _ => return Err("cannot delete from scalar".to_owned()),
    }
    Ok(to_text(&value))
}

/// `left || right`: two objects merge (the right's members win), anything else concatenates
/// as arrays (a non-array as a one-element array).
pub fn concat(left: &str, right: &str) -> Result<String, Refusal> {
    let joined = match (document(left)?, document(right)?) {
        (Json::Object(mut a), Json::Object(b)) => {
            a.extend(b);
            sort_members(&mut a);
            Json::Object(a)
        }
        (a, b) => {
            let mut items = match a {
                Json::Array(items) => items,
                other => vec![other],
            };
            match b {
                Json::Array(more) => items.extend(more),
                other => items.push(other),
            }
            Json::Array(items)
        }
    };
    Ok(to_text(&joined))
}

/// `jsonb_strip_nulls`: object members whose value is null removed, at every depth.
pub fn strip_nulls(text: &str) -> Result<String, Refusal> {
    let mut value = document(text)?;
    without_null_members(&mut value);
    Ok(to_text(&value))
}

/// `value` without the object members whose value is null, at every depth (an array's nulls
/// stay; the depth is the parser's bound).
fn without_null_members(value: &mut Json) {
    match value {
        Json::Object(members) => {
            members.retain(|(_, v)| !matches!(v, Json::Null));
            members.iter_mut().for_each(|(_, v)| without_null_members(v));
        }
        Json::Array(items) => items.iter_mut().for_each(without_null_members),
        _ => {}
    }
}

/// `json_strip_nulls`: the object members whose value is null left out, at every depth (an
/// array's nulls stay); members in their order, repeated keys and numbers as written, printed
/// without spaces, as PostgreSQL's json version does.
pub fn strip_nulls_as_written(text: &str) -> Result<String, Refusal> {
    let mut value = parse_as(text, true).ok_or_else(|| "invalid input syntax for type json".to_owned())?;
    without_null_members(&mut value);
    let mut out = String::new();
    write_compact(&value, &mut out);
    Ok(out)
}

/// The longest `jsonb_pretty` answer: a bounded multiple of the document (indentation grows
/// with depth, up to 500 times a deep document's size), never more than 64 MB.
fn pretty_limit(input: usize) -> usize {
    input.saturating_mul(8).saturating_add(4096).min(64 * 1024 * 1024)
}

/// `jsonb_pretty`: one item a line, four spaces a level.
pub fn pretty(text: &str) -> Result<String, Refusal> {
    fn indent(out: &mut String, level: usize) {
        out.push('\n');
        out.push_str(&" ".repeat(level * 4));
    }
    fn pretty_value(value: &Json, level: usize, out: &mut String) {
        match value {
            // (an empty one too spans two lines, as PostgreSQL prints it)
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, level + 1);
                    pretty_value(item, level + 1, out);
                }
                indent(out, level);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    indent(out, level + 1);
                    write_string(key, out);
                    out.push_str(": ");
                    pretty_value(item, level + 1, out);
                }
                indent(out, level);
                out.push('}');
            }
            other => write(other, out),
        }
    }
    let value = document(text)?;
    // (measured before it is built: the indentation is what grows)
    let limit = pretty_limit(text.len());
    if pretty_length(&value, 0, limit) > limit {
        return Err(format!("jsonb_pretty would make a value longer than {limit} bytes"));
    }
    let mut out = String::new();
    pretty_value(&value, 0, &mut out);
    Ok(out)
}

/// The length of `value`'s pretty text at `level`, counted up to just past `limit`.
fn pretty_length(value: &Json, level: usize, limit: usize) -> usize {
    let line = |level: usize| 1 + level * 4;
    match value {
        Json::Array(items) => {
            let mut total = 2 + line(level);
            for item in items {
                total += 1 + line(level + 1) + pretty_length(item, level + 1, limit);
                if total > limit {
                    return total;
                }
            }
            total
        }
        Json::Object(members) => {
            let mut total = 2 + line(level);
            for (key, item) in members {
                total += 1 + line(level + 1) + escaped_length(key) + 2 + pretty_length(item, level + 1, limit);
                if total > limit {
                    return total;
                }
            }
            total
        }
        other => to_text(other).len(),
    }
}

/// What jsonb's `=` compares: the canonical text with each number at its value (`1.0` is `1`,
/// as PostgreSQL's numeric equality has it); a text that is not JSON is its own key.
pub fn equality_key(text: &str) -> String {
    fn normalize(value: &mut Json) {
        match value {
            // (a number kept as written, with its exponent, is compared as written)
            Json::Number(n) if n.contains('.') && !n.contains(['e', 'E']) => {
                let trimmed = n.trim_end_matches('0').trim_end_matches('.');
                *n = if trimmed == "-0" { "0".to_owned() } else { trimmed.to_owned() };
            }
            Json::Array(items) => items.iter_mut().for_each(normalize),
            Json::Object(members) => members.iter_mut().for_each(|(_, v)| normalize(v)),
            _ => {}
        }
    }
    match parse(text) {
        Some(mut value) => {
            normalize(&mut value);
            to_text(&value)
        }
        None => text.to_owned(),
    }
}

/// `->>`'s answer for a member (given as its JSON text): a string's own text, NULL for null,
/// any other value's canonical text.
pub fn member_text(text: &str) -> Result<Option<String>, Refusal> {
    Ok(match document(text)? {
        Json::Null => None,
        Json::String(s) => Some(s),
        other => Some(to_text(&other)),
    })
}

/// The length of a string's [`write_string`] text, quotes included.
fn escaped_length(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// PostgreSQL's `escape_json`.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_answer_as_postgresql_does() {
        // each expected text is PostgreSQL 15's answer to the same call
        assert_eq!(set(r#"{"a": {"b": 1}}"#, r#"["a","b"]"#, "5", true).unwrap(), r#"{"a": {"b": 5}}"#);
        assert_eq!(set(r#"{"a": 1}"#, r#"["c"]"#, "[1]", true).unwrap(), r#"{"a": 1, "c": [1]}"#);
        assert_eq!(set(r#"{"a": 1}"#, r#"["c"]"#, "2", false).unwrap(), r#"{"a": 1}"#);
        assert_eq!(set("[1, 2]", r#"["-1"]"#, "9", true).unwrap(), "[1, 9]");
        assert_eq!(set("[1, 2]", r#"["5"]"#, "9", true).unwrap(), "[1, 2, 9]");
        assert_eq!(set("[1, 2]", r#"["-5"]"#, "9", true).unwrap(), "[9, 1, 2]");
        assert!(set("[1]", r#"["x"]"#, "9", true).unwrap_err().contains("not an integer"));
        assert_eq!(set("1", r#"["a"]"#, "2", true).unwrap_err(), "cannot set path in scalar");
        assert_eq!(delete_path(r#"{"a": {"b": 1}}"#, r#"["a","b"]"#).unwrap(), r#"{"a": {}}"#);
        assert_eq!(delete(r#"{"a": 1, "b": 2}"#, r#""a""#).unwrap(), r#"{"b": 2}"#);
        assert_eq!(delete("[1, 2, 3]", "1").unwrap(), "[1, 3]");
        assert_eq!(delete(r#"["a", "b", "a"]"#, r#""a""#).unwrap(), r#"["b"]"#);
        assert_eq!(delete("3", r#""a""#).unwrap_err(), "cannot delete from scalar");
        assert_eq!(concat(r#"{"a": 1}"#, r#"{"b": 2, "a": 3}"#).unwrap(), r#"{"a": 3, "b": 2}"#);
        assert_eq!(concat("[1]", r#"{"a": 1}"#).unwrap(), r#"[1, {"a": 1}]"#);
        assert_eq!(concat("1", "2").unwrap(), "[1, 2]");
        assert_eq!(
            strip_nulls(r#"{"a": 1, "b": null, "c": {"d": null}, "e": [null]}"#).unwrap(),
            r#"{"a": 1, "c": {}, "e": [null]}"#
        );
        assert_eq!(
            pretty(r#"{"a": [1, {"b": 2}], "c": {}}"#).unwrap(),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": 2\n        }\n    ],\n    \"c\": {\n    }\n}"
        );
        assert_eq!(pretty(r#"{"a": [], "b": {}}"#).unwrap(), "{\n    \"a\": [\n    ],\n    \"b\": {\n    }\n}");
        assert_eq!(pretty("5").unwrap(), "5");
        let deep = format!("{}{}{}", "[".repeat(255), vec!["1"; 2000].join(","), "]".repeat(255));
        assert!(pretty(&deep).unwrap_err().contains("longer than"));
        assert_eq!(canonical("1e-9223372036854775808").as_deref(), Some("1e-9223372036854775808"));
        assert_eq!(equality_key("1.0e100"), "1.0e100");
        assert_eq!(equality_key(r#"{"b": 1.50, "a": [1.0, -0.0, 10]}"#), r#"{"a": [1, 0, 10], "b": 1.5}"#);
        assert_eq!(member_text(r#""x""#).unwrap().as_deref(), Some("x"));
        assert_eq!(member_text("[1,2]").unwrap().as_deref(), Some("[1, 2]"));
        assert_eq!(member_text("null").unwrap(), None);
    }

    #[test]
    fn jsonb_prints_as_postgresql_prints_it() {
        // each expected text is PostgreSQL 15's answer to `SELECT '<input>'::jsonb`
        for (input, postgres) in [
            (r#"{"b": 1,   "a": [1, 2.50, null], "b": 2}"#, r#"{"a": [1, 2.50, null], "b": 2}"#),
            ("1e2", "100"),
            ("1.50", "1.50"),
            ("1.0e-2", "0.010"),
            ("-0", "0"),
            ("1.5E+1", "15"),
            ("1e1000", "1e1000"),
            (r#"{"a": 1, "a": 2, "b": 0, "a": 3}"#, r#"{"a": 3, "b": 0}"#),
            (r#""x""#, r#""x""#),
            (" true ", "true"),
            ("[]", "[]"),
            ("{}", "{}"),
            (r#"{"aa": 1, "b": 2, "a": 3}"#, r#"{"a": 3, "b": 2, "aa": 1}"#),
            (r#""\u00e9\n\"q\"""#, r#""é\n\"q\"""#),
            (r#"{"a":{"b":[10,20]}}"#, r#"{"a": {"b": [10, 20]}}"#),
        ] {
            assert_eq!(canonical(input).as_deref(), Some(postgres), "{input}");
        }
        for not_json in ["{", "[1,", "tru", r#"{"a" 1}"#, "1 2"] {
            assert_eq!(canonical(not_json), None, "{not_json}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(canonical(&deep), None);
        // many keys: linear-ish, not quadratic (200 000 keys took minutes when it was)
        let wide = format!("{{{}}}", (0..200_000).map(|i| format!("\"k{i}\":1")).collect::<Vec<_>>().join(","));
        assert!(canonical(&wide).is_some_and(|c| c.starts_with("{\"k0\": 1, \"k1\": 1")));
    }
}
