//! PostgreSQL's `to_char(number, template)` and `to_number(text, template)`, which DuckDB
//! lacks: the template's digit positions (`9` blank-padded, `0` zero-padded), decimal point
//! (`.`, `D`), group separators (`,`, `G`), fill mode (`FM`), signs (`S`, `MI`, `PL`, `SG`,
//! `PR`) and literal text, in the C locale PostgreSQL's defaults use. The engine functions in
//! engine::jsonb_functions call these with the number's text; the gateway writes the calls.

/// A template's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `9`: a digit, blank where a leading zero would be.
    Nine,
    /// `0`: a digit, printed even as a leading zero (and so are the positions after it).
    Zero,
    Point,
    Group,
    /// `S`: `+` or `-` here.
    Sign,
    /// `MI`: `-` here for a negative number, else a blank.
    Minus,
    /// `PL`: `+` here for a positive number, else a blank.
    Plus,
    /// `SG`: `+` or `-` here.
    SignGroup,
    /// `PR`: a negative number in angle brackets.
    Brackets,
    Literal(char),
}

/// The longest template and the most digits a number may have here (bounded work).
const MAX_TEMPLATE: usize = 1000;
const MAX_DIGITS: usize = 1000;

struct Template {
    parts: Vec<Part>,
    fill_mode: bool,
}

fn parse_template(template: &str) -> Result<Template, String> {
    if template.len() > MAX_TEMPLATE {
        return Err(format!("a number template longer than {MAX_TEMPLATE} characters is not taken here"));
    }
    let mut parts = Vec::new();
    let mut fill_mode = false;
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect::<String>().to_ascii_uppercase();
        let (part, width) = match (two.as_str(), chars[i]) {
            ("FM", _) => {
                fill_mode = true;
                i += 2;
                continue;
            }
            ("MI", _) => (Part::Minus, 2),
            ("PL", _) => (Part::Plus, 2),
            ("SG", _) => (Part::SignGroup, 2),
            ("PR", _) => (Part::Brackets, 2),
            ("EE" | "RN" | "TH", _) => return Err(format!("the number template \"{two}\" is not supported")),
            (_, '9') => (Part::Nine, 1),
            (_, '0') => (Part::Zero, 1),
            (_, '.' | 'D' | 'd') => (Part::Point, 1),
            (_, ',' | 'G' | 'g') => (Part::Group, 1),
            (_, 'S' | 's') => (Part::Sign, 1),
            (_, 'V' | 'v' | 'L' | 'l') => return Err(format!("the number template \"{}\" is not supported", chars[i])),
            (_, c) => (Part::Literal(c), 1),
        };
        parts.push(part);
        i += width;
    }
    if parts.iter().filter(|p| **p == Part::Point).count() > 1 {
        return Err("multiple decimal points".to_owned());
    }
    Ok(Template { parts, fill_mode })
}

/// A number's sign and digits (`-1234.5` → negative, "1234", "5").
struct Digits {
    negative: bool,
    whole: Vec<u8>,
    fraction: Vec<u8>,
}

/// Reads a number's text (`-1234.50`, `1.5e+20`, `12`); None when it is none.
fn digits_of(text: &str) -> Option<Digits> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
        || exponent.unsigned_abs() > MAX_DIGITS as u64
    {
        return None;
    }
    let mut all: Vec<u8> = whole.bytes().chain(fraction.bytes()).map(|b| b - b'0').collect();
    let mut point = whole.len() as i64 + exponent;
    if point < 0 {
        let mut padded = vec![0; point.unsigned_abs() as usize];
        padded.extend(all);
        all = padded;
        point = 0;
    }
    let point = point as usize;
    if all.len() < point {
        all.resize(point, 0);
    }
    if all.len() > MAX_DIGITS {
        return None;
    }
    let fraction = all.split_off(point);
    let first = all.iter().position(|d| *d != 0).unwrap_or(all.len());
    Some(Digits { negative, whole: all[first..].to_vec(), fraction })
}

/// Rounds to `places` fractional digits, half away from zero.
fn round(digits: &mut Digits, places: usize) {
    if digits.fraction.len() <= places {
        digits.fraction.resize(places, 0);
        return;
    }
    let up = digits.fraction[places] >= 5;
    digits.fraction.truncate(places);
    if !up {
        return;
    }
    for d in digits.fraction.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    for d in digits.whole.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.whole.insert(0, 1);
}

/// `to_char(number, template)`: `number` is the number's text.
pub fn to_char(number: &str, template: &str) -> Result<String, String> {
    let template = parse_template(template)?;
    let mut digits = digits_of(number).ok_or_else(|| format!("invalid input syntax for type numeric: \"{number}\""))?;
    let point = template.parts.iter().position(|p| *p == Part::Point);
    let is_digit = |p: &Part| matches!(p, Part::Nine | Part::Zero);
    let (before, after) = match point {
        Some(at) => (&template.parts[..at], &template.parts[at + 1..]),
        None => (&template.parts[..], &template.parts[0..0]),
    };
    let places = after.iter().filter(|p| is_digit(p)).count();
    round(&mut digits, places);
    if digits.whole.is_empty() && digits.fraction.iter().all(|d| *d == 0) {
        digits.negative = false;
    }
    // (a number under one, rounded, prints its zero where no point follows)
    if digits.whole.is_empty() && point.is_none() {
        digits.whole.push(0);
    }
    let positions = before.iter().filter(|p| is_digit(p)).count();
    let overflow = digits.whole.len() > positions;
    // the sign anchored to the number, right before its first printed digit: PostgreSQL's
    // own blank-or-minus without a sign in the template, `S` written before the digits, or
    // PR's opening bracket
    let first_digit = template.parts.iter().position(is_digit).unwrap_or(usize::MAX);
    let leading_sign = template.parts.iter().position(|p| *p == Part::Sign).filter(|at| *at < first_digit);
    let brackets = template.parts.contains(&Part::Brackets);
    let explicit_sign = template
        .parts
        .iter()
        .any(|p| matches!(p, Part::Sign | Part::Minus | Part::Plus | Part::SignGroup | Part::Brackets));
    let anchor: Option<char> = if brackets {
        Some(if digits.negative { '<' } else { ' ' })
    } else if leading_sign.is_some() {
        Some(if digits.negative { '-' } else { '+' })
    } else if !explicit_sign {
        Some(if digits.negative { '-' } else { ' ' })
    } else {
        None
    };
    let sign_text = |p: Part| -> String {
        match p {
            Part::Sign | Part::SignGroup => if digits.negative { "-" } else { "+" }.to_owned(),
            Part::Minus if digits.negative => "-".to_owned(),
            Part::Plus if !digits.negative => "+".to_owned(),
            Part::Minus | Part::Plus if template.fill_mode => String::new(),
            Part::Minus | Part::Plus => " ".to_owned(),
            _ => String::new(),
        }
    };
    let mut out = String::new();
    // the whole part: digits right-aligned in its positions; zeros from the first `0` on
    let zero_from = before.iter().position(|p| *p == Part::Zero).unwrap_or(usize::MAX);
    let mut digit_index = 0usize;
    let mut printed = false;
    let mut sign_pending = anchor;
    let mut leading = String::new();
    for (i, part) in before.iter().enumerate() {
        match part {
            Part::Nine | Part::Zero => {
                let skip = positions - digits.whole.len().min(positions);
                let value = if overflow {
                    Some('#')
                } else if digit_index >= skip {
                    Some((b'0' + digits.whole[digit_index - skip]) as char)
                } else if i >= zero_from {
                    Some('0')
                } else {
                    None
                };
                digit_index += 1;
                match value {
                    Some(c) => {
                        if let Some(sign) = sign_pending.take() {
                            leading.push(sign);
                        }
                        out.push_str(&leading);
                        leading.clear();
                        out.push(c);
                        printed = true;
                    }
                    None => leading.push(' '),
                }
            }
            Part::Group if printed => out.push(','),
            Part::Group => leading.push(' '),
            Part::Brackets => {}
            // (`S` before the digits is the anchored sign)
            Part::Sign if Some(i) == leading_sign => {}
            Part::Literal(c) => {
                out.push_str(&leading);
                leading.clear();
                out.push(*c);
            }
            sign => {
                out.push_str(&leading);
                leading.clear();
                out.push_str(&sign_text(*sign));
            }
        }
    }
    // a number without whole digits printed (`.5` with `9.99`): its sign before the point
    if let Some(sign) = sign_pending {
        leading.push(sign);
    }
    out.push_str(&leading);
    if point.is_some() {
        out.push('.');
        let mut fraction = String::new();
        let mut digit_index = 0usize;
        // (in fill mode a `9` position's trailing zeros go, a `0` position's stay)
        let last_zero = after.iter().rposition(|p| *p == Part::Zero);
        let mut trailing = String::new();
        for (i, part) in after.iter().enumerate() {
            match part {
                Part::Nine | Part::Zero => {
                    let c = if overflow { '#' } else { (b'0' + digits.fraction[digit_index]) as char };
                    digit_index += 1;
                    let trimmable = template.fill_mode && *part == Part::Nine && last_zero.is_none_or(|z| i > z);
                    if c == '0' && trimmable {
                        trailing.push(c);
                    } else {
                        fraction.push_str(&trailing);
                        trailing.clear();
                        fraction.push(c);
                    }
                }
                Part::Group => trailing.push(','),
                Part::Literal(c) => {
                    fraction.push_str(&trailing);
                    trailing.clear();
                    fraction.push(*c);
                }
                Part::Brackets => {}
                sign => {
                    fraction.push_str(&trailing);
                    trailing.clear();
                    fraction.push_str(&sign_text(*sign));
                } // (the second point is refused when the template is read)
            }
        }
        if !template.fill_mode {
            fraction.push_str(&trailing);
        }
        // (in fill mode a number with no digit left prints its zero: `0.`)
        if template.fill_mode && !printed && fraction.is_empty() {
            out.insert(out.len() - 1, '0');
        }
        out.push_str(&fraction);
    }
    if brackets {
        out.push(if digits.negative { '>' } else { ' ' });
    }
    if template.fill_mode {
        out = out.trim_start().to_owned();
    }
    Ok(out)
}

/// `to_number(text, template)`: the number the text writes, read by the template's digits,
/// point and sign (group separators, blanks and literal text skipped). Answers the number's
/// text, its scale the template's fractional digit positions.
pub fn to_number(text: &str, template: &str) -> Result<String, String> {
    let template = parse_template(template)?;
    let places = match template.parts.iter().position(|p| *p == Part::Point) {
        Some(at) => template.parts[at + 1..].iter().filter(|p| matches!(p, Part::Nine | Part::Zero)).count(),
        None => 0,
    };
    if text.len() > MAX_DIGITS {
        return Err(format!("a text longer than {MAX_DIGITS} characters is not read as a number here"));
    }
    let negative = text.contains('-') || (template.parts.contains(&Part::Brackets) && text.trim().starts_with('<'));
    let mut whole = String::new();
    let mut fraction = String::new();
    let mut in_fraction = false;
    for c in text.chars() {
        match c {
            '0'..='9' if in_fraction => fraction.push(c),
            '0'..='9' => whole.push(c),
            '.' => in_fraction = true,
            _ => {}
        }
    }
    if whole.is_empty() && fraction.is_empty() {
        return Err(format!("invalid input syntax for type numeric: \"{text}\""));
    }
    let mut digits = digits_of(&format!("{}.{}", if whole.is_empty() { "0" } else { &whole }, fraction))
        .ok_or_else(|| format!("invalid input syntax for type numeric: \"{text}\""))?;
    digits.negative = negative;
    round(&mut digits, places);
    let whole: String = if digits.whole.is_empty() {
        "0".to_owned()
    } else {
        digits.whole.iter().map(|d| (b'0' + d) as char).collect()
    };
    let fraction: String = digits.fraction.iter().map(|d| (b'0' + d) as char).collect();
    let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    let sign = if digits.negative && !zero { "-" } else { "" };
    Ok(if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") })
}

/// The number of fractional digit positions of a template (the scale of `to_number`'s answer);
/// None when it is no number template.
pub fn template_scale(template: &str) -> Option<u8> {
    let template = parse_template(template).ok()?;
    let at = template.parts.iter().position(|p| *p == Part::Point);
    let places =
        at.map_or(0, |at| template.parts[at + 1..].iter().filter(|p| matches!(p, Part::Nine | Part::Zero)).count());
    u8::try_from(places).ok().filter(|p| *p <= 38)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_postgresql_prints_them() {
        // PostgreSQL 15's answers
        for (number, template, expected) in [
            ("1234.5", "9,999.99", " 1,234.50"),
            ("-0.5", "FM990.00", "-0.50"),
            ("42", "000", " 042"),
            ("1234567.891", "FM9G999G999D00", "1,234,567.89"),
            ("-5", "999", "  -5"),
            ("5", "FM999", "5"),
            ("5", "9099", "  005"),
            ("12345", "999", " ###"),
            ("0.5", "9.99", "  .50"),
            ("5", "FM9.99", "5."),
            ("-12.3", "S999.9", " -12.3"),
            ("12.3", "999.9MI", " 12.3 "),
            ("-12.3", "999.9PR", " <12.3>"),
            ("12.3", "999.9PR", "  12.3 "),
            ("-1234.5", "9G999D9S", "1,234.5-"),
            ("12345.678", "FM99,999.9", "12,345.7"),
            ("-5", "FM999", "-5"),
            ("1.5e3", "9999", " 1500"),
            ("0.125", "0.99", " 0.13"),
            ("0", "999", "   0"),
            ("-0.001", "9.99", "  .00"),
            ("0", "999.99", "    .00"),
            ("0", "FM999", "0"),
            ("0.4", "999", "   0"),
            ("0", "FM9.99", "0."),
        ] {
            assert_eq!(to_char(number, template).as_deref(), Ok(expected), "to_char({number}, '{template}')");
        }
        assert!(to_char("1", "9.9.9").is_err());
        assert!(to_char("x", "999").is_err());
    }

    #[test]
    fn texts_read_as_numbers_by_the_template() {
        assert_eq!(to_number("1,234.50", "9G999D99").as_deref(), Ok("1234.50"));
        assert_eq!(to_number("-12", "999").as_deref(), Ok("-12"));
        assert_eq!(to_number("<12.5>", "99.9PR").as_deref(), Ok("-12.5"));
        assert_eq!(template_scale("9G999D99"), Some(2));
        assert!(to_number("abc", "999").is_err());
    }
}
