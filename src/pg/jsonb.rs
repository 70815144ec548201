//! `jsonb`'s text form as PostgreSQL prints it. The engine keeps a jsonb value as JSON text, as
//! it was written; PostgreSQL stores it decomposed and prints it canonically: object keys once
//! (the last wins), shorter keys first then byte order, `": "` and `", "` between items, numbers
//! as their numeric value prints (`1e2` is `100`), strings re-escaped.

/// The canonical text of the JSON document `text`; `None` when it is not JSON (the engine
/// checked it; a value that is not is sent as it is).
pub(super) fn canonical(text: &str) -> Option<String> {
    let mut parser = Parser { text, bytes: text.as_bytes(), at: 0, depth: 0 };
    let value = parser.value()?;
    parser.blank();
    if parser.at != parser.bytes.len() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    write(&value, &mut out);
    Some(out)
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
pub(super) fn within_bound(original: usize, canonical: usize) -> bool {
    canonical <= original.saturating_mul(2).saturating_add(64)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
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
        u32::from_str_radix(digits, 16).ok()
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
        if exponent.abs() > MAX_EXPONENT {
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
    use super::canonical;

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
