//! PostgreSQL's date/time templates (`to_char(ts, 'YYYY-MM-DD HH24:MI')`, `to_timestamp(text,
//! 'DD.MM.YYYY')`) as DuckDB's strftime/strptime formats. Only templates whose every pattern is
//! understood are translated; anything else is left for the engine to refuse.

/// One piece of a formatted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// strftime text: DuckDB's specifiers and literal text (`%` doubled).
    Format(String),
    /// A month or day name (`%B`, `%A`, `%b`, `%a`) in a case, padded to 9 characters (as
    /// PostgreSQL pads full names unless `FM` precedes them) or not.
    Name { specifier: &'static str, case: Case, padded: bool },
    /// `D`: the day of the week, Sunday 1 to Saturday 7.
    DayOfWeek,
    /// `Q`: the quarter.
    Quarter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Case {
    Upper,
    Lower,
    /// As DuckDB writes it (`January`, `Jan`).
    Capitalized,
}

/// The pieces of `template` for formatting (`to_char`), or `None` where a pattern is not
/// understood or no pattern is there at all (then it is not a date/time template: `to_char`
/// of a number).
pub(super) fn for_formatting(template: &str) -> Option<Vec<Piece>> {
    translate(template, false)
}

/// `template` as a strptime format for parsing (`to_timestamp`, `to_date`).
pub(super) fn for_parsing(template: &str) -> Option<String> {
    let pieces = translate(template, true)?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Format(f) => out.push_str(&f),
            Piece::Name { specifier, .. } => out.push_str(specifier),
            Piece::DayOfWeek | Piece::Quarter => return None,
        }
    }
    Some(out)
}

fn translate(template: &str, parsing: bool) -> Option<Vec<Piece>> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut patterns = 0;
    let mut rest = template;
    let push = |pieces: &mut Vec<Piece>, text: &str| match pieces.last_mut() {
        Some(Piece::Format(f)) => f.push_str(text),
        _ => pieces.push(Piece::Format(text.to_owned())),
    };
    while !rest.is_empty() {
        // `FM` suppresses the padding of the pattern after it
        let fill_mode = rest.starts_with("FM") || rest.starts_with("fm");
        if fill_mode {
            rest = &rest[2..];
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            push(&mut pieces, &quoted[..end].replace('%', "%%"));
            rest = &quoted[end + 1..];
            continue;
        }
        let name = |specifier: &'static str, case: Case, full: bool| Piece::Name {
            specifier,
            case,
            padded: full && !fill_mode && !parsing,
        };
        // longest patterns first
        let (len, piece): (usize, Piece) = match () {
            _ if rest.starts_with("HH24") => (4, Piece::Format(if fill_mode { "%-H" } else { "%H" }.into())),
            _ if rest.starts_with("HH12") => (4, Piece::Format(if fill_mode { "%-I" } else { "%I" }.into())),
            _ if rest.starts_with("HH") => (2, Piece::Format(if fill_mode { "%-I" } else { "%I" }.into())),
            _ if rest.starts_with("MI") => (2, Piece::Format(if fill_mode { "%-M" } else { "%M" }.into())),
            _ if rest.starts_with("SS") => (2, Piece::Format(if fill_mode { "%-S" } else { "%S" }.into())),
            _ if rest.starts_with("MS") => (2, Piece::Format("%g".into())),
            _ if rest.starts_with("US") => (2, Piece::Format("%f".into())),
            _ if rest.starts_with("AM") || rest.starts_with("PM") => (2, Piece::Format("%p".into())),
            _ if rest.starts_with("YYYY") => (4, Piece::Format("%Y".into())),
            _ if rest.starts_with("YY") => (2, Piece::Format("%y".into())),
            _ if rest.starts_with("IYYY") => (4, Piece::Format("%G".into())),
            _ if rest.starts_with("IW") => (2, Piece::Format("%V".into())),
            _ if rest.starts_with("MONTH") => (5, name("%B", Case::Upper, true)),
            _ if rest.starts_with("Month") => (5, name("%B", Case::Capitalized, true)),
            _ if rest.starts_with("month") => (5, name("%B", Case::Lower, true)),
            _ if rest.starts_with("MON") => (3, name("%b", Case::Upper, false)),
            _ if rest.starts_with("Mon") => (3, name("%b", Case::Capitalized, false)),
            _ if rest.starts_with("mon") => (3, name("%b", Case::Lower, false)),
            _ if rest.starts_with("MM") => (2, Piece::Format(if fill_mode { "%-m" } else { "%m" }.into())),
            _ if rest.starts_with("DAY") => (3, name("%A", Case::Upper, true)),
            _ if rest.starts_with("Day") => (3, name("%A", Case::Capitalized, true)),
            _ if rest.starts_with("day") => (3, name("%A", Case::Lower, true)),
            _ if rest.starts_with("DY") => (2, name("%a", Case::Upper, false)),
            _ if rest.starts_with("Dy") => (2, name("%a", Case::Capitalized, false)),
            _ if rest.starts_with("dy") => (2, name("%a", Case::Lower, false)),
            _ if rest.starts_with("DDD") => (3, Piece::Format(if fill_mode { "%-j" } else { "%j" }.into())),
            _ if rest.starts_with("DD") => (2, Piece::Format(if fill_mode { "%-d" } else { "%d" }.into())),
            _ if rest.starts_with('D') => (1, Piece::DayOfWeek),
            _ if rest.starts_with('Q') => (1, Piece::Quarter),
            _ => {
                let c = rest.chars().next()?;
                // a letter that starts no pattern here may start one PostgreSQL knows (`TZ`,
                // `J`, `th`, `A.M.`): not translated
                if c.is_ascii_alphabetic() {
                    return None;
                }
                if fill_mode {
                    return None;
                }
                let text = c.to_string();
                push(&mut pieces, if c == '%' { "%%" } else { &text });
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        patterns += 1;
        match piece {
            Piece::Format(f) => push(&mut pieces, &f),
            other => pieces.push(other),
        }
        rest = &rest[len..];
    }
    (patterns > 0).then_some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_strftime_pieces() {
        assert_eq!(
            for_formatting("YYYY-MM-DD HH24:MI:SS.MS"),
            Some(vec![Piece::Format("%Y-%m-%d %H:%M:%S.%g".into())])
        );
        assert_eq!(
            for_formatting("DD.MM.YYYY Mon"),
            Some(vec![
                Piece::Format("%d.%m.%Y ".into()),
                Piece::Name { specifier: "%b", case: Case::Capitalized, padded: false }
            ])
        );
        assert_eq!(
            for_formatting("FMMonth \"at\" 100%"),
            Some(vec![
                Piece::Name { specifier: "%B", case: Case::Capitalized, padded: false },
                Piece::Format(" at 100%%".into())
            ])
        );
        // a number's template, or a pattern not understood, is not translated
        assert_eq!(for_formatting("9,999.99"), None);
        assert_eq!(for_formatting("YYYY TZ"), None);
        assert_eq!(for_parsing("DD.MM.YYYY HH24:MI"), Some("%d.%m.%Y %H:%M".into()));
    }
}
