//! The session's `TimeZone`, as PostgreSQL reads its value: the offset `timestamptz` values are
//! shown at, and the zone a written timestamp without an offset is read in. The engine itself
//! stays in UTC (its configuration is locked, so a session cannot move it; ADR 0004).

use std::str::FromStr;

use chrono::{Offset, TimeZone as _};

/// A zone a session may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// A zone of the IANA database (`Europe/Prague`, `UTC`, `EST5EDT`), its rules bundled with
    /// the server: nothing is read from the host.
    Named(chrono_tz::Tz),
    /// A fixed offset, in seconds east of UTC (`SET TIME ZONE 5`, `'+02'`, `'UTC+3'`).
    Fixed(i32),
}

/// Offsets beyond this are not zones (PostgreSQL's bound is 15 hours).
const MAX_OFFSET_SECONDS: i32 = 15 * 3600;

impl TimeZone {
    /// PostgreSQL's readings of a `TimeZone` value: a zone name in any case; a number of hours
    /// east (`5`, `-7`, `5.5`); an ISO offset east (`+02`, `-05:30`); a POSIX offset, west of
    /// UTC as POSIX counts (`UTC+3` is three hours west, `GMT-05:30` five and a half east).
    pub fn parse(value: &str) -> Option<TimeZone> {
        let value = value.trim();
        if let Ok(tz) = chrono_tz::Tz::from_str_insensitive(value) {
            return Some(TimeZone::Named(tz));
        }
        let fixed = |seconds: i32| (seconds.abs() <= MAX_OFFSET_SECONDS).then_some(TimeZone::Fixed(seconds));
        if let Ok(hours) = f64::from_str(value) {
            // (bounded before the conversion, which would saturate)
            let max_hours = f64::from(MAX_OFFSET_SECONDS / 3600);
            return (hours.is_finite() && hours.abs() <= max_hours).then(|| fixed((hours * 3600.0).round() as i32))?;
        }
        if value.starts_with(['+', '-']) {
            return fixed(iso_offset(value)?);
        }
        // PostgreSQL's own name of a fixed offset (see [`posix_name`]): the POSIX part counts
        if let Some(abbreviated) = value.strip_prefix('<') {
            let posix = &abbreviated[abbreviated.find('>')? + 1..];
            return fixed(-iso_offset(posix)?);
        }
        let upper = value.to_ascii_uppercase();
        // `SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE` (or `HOUR`): nothing else follows
        if let Some(interval) = upper.strip_prefix("INTERVAL") {
            let quoted = interval.trim_start().strip_prefix('\'')?;
            let end = quoted.find('\'')?;
            let (offset, unit) = (&quoted[..end], quoted[end + 1..].split_whitespace().collect::<Vec<_>>());
            if !matches!(unit.as_slice(), [] | ["HOUR"] | ["HOUR", "TO", "MINUTE"]) {
                return None;
            }
            return fixed(if offset.starts_with(['+', '-']) {
                iso_offset(offset)?
            } else {
                iso_offset(&format!("+{offset}"))?
            });
        }
        let posix = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT"))?;
        fixed(-iso_offset(posix)?)
    }

    /// Seconds east of UTC at the instant `micros` (since 1970, UTC).
    pub fn offset_at(&self, micros: i64) -> i32 {
        match self {
            TimeZone::Fixed(seconds) => *seconds,
            TimeZone::Named(tz) => {
                let seconds = micros.div_euclid(1_000_000);
                match chrono::DateTime::from_timestamp(seconds, 0) {
                    Some(at) => tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc(),
                    None => 0,
                }
            }
        }
    }

    /// Whether every instant is shown at offset zero (the engine's own zone).
    pub fn is_utc(&self) -> bool {
        match self {
            TimeZone::Fixed(seconds) => *seconds == 0,
            TimeZone::Named(tz) => matches!(
                tz,
                chrono_tz::Tz::UTC
                    | chrono_tz::Tz::Etc__UTC
                    | chrono_tz::Tz::Etc__UCT
                    | chrono_tz::Tz::UCT
                    | chrono_tz::Tz::Etc__Universal
                    | chrono_tz::Tz::Universal
                    | chrono_tz::Tz::Etc__Zulu
                    | chrono_tz::Tz::Zulu
                    | chrono_tz::Tz::Etc__GMT
                    | chrono_tz::Tz::GMT
                    | chrono_tz::Tz::Etc__Greenwich
                    | chrono_tz::Tz::Greenwich
            ),
        }
    }

    /// The UTC instant (micros) of the wall-clock time `local_micros` in this zone. A time a
    /// clock change skips is read with the offset before the change, a repeated one as standard
    /// time (the later instant), as PostgreSQL reads them.
    pub fn instant_of_local(&self, local_micros: i64) -> i64 {
        let seconds = local_micros.div_euclid(1_000_000);
        let offset = match self {
            TimeZone::Fixed(seconds) => *seconds,
            TimeZone::Named(tz) => {
                let Some(local) = chrono::DateTime::from_timestamp(seconds, 0).map(|d| d.naive_utc()) else {
                    return local_micros;
                };
                match tz.offset_from_local_datetime(&local) {
                    chrono::LocalResult::Single(o) => o.fix().local_minus_utc(),
                    chrono::LocalResult::Ambiguous(a, b) => a.fix().local_minus_utc().min(b.fix().local_minus_utc()),
                    // in a gap: the offset in force a day before (clocks change at most so often)
                    chrono::LocalResult::None => self.offset_at(local_micros.saturating_sub(86_400 * 1_000_000)),
                }
            }
        };
        local_micros - i64::from(offset) * 1_000_000
    }
}

/// Written timestamps without an offset cast to `timestamptz` (`'2024-01-03 10:00'::timestamptz`,
/// `TIMESTAMPTZ '2024-01-03'`) read in `zone`, as PostgreSQL reads them; the engine, in UTC,
/// would read them there. Each becomes the instant, written with its `+00` offset. A text of
/// another form (`now`, `infinity`, one with an offset) is left to the engine. Answers whether
/// anything changed.
pub fn read_written_timestamps(statement: &mut sqlparser::ast::Statement, zone: TimeZone) -> bool {
    use sqlparser::ast::{DataType, Expr, TimezoneInfo, Value};
    let zoned = |t: &DataType| matches!(t, DataType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz));
    let mut changed = false;
    let _ = sqlparser::ast::visit_expressions_mut(statement, |e| {
        let written = match e {
            Expr::Cast { expr, data_type, .. } if zoned(data_type) => match expr.as_mut() {
                Expr::Value(v) => Some(&mut v.value),
                _ => None,
            },
            Expr::TypedString(typed) if zoned(&typed.data_type) => Some(&mut typed.value.value),
            _ => None,
        };
        if let Some(Value::SingleQuotedString(text)) = written
            && let Some(local) = wall_clock_micros(text)
            && let Some(instant) = chrono::DateTime::from_timestamp_micros(zone.instant_of_local(local))
            // (a year past 9999 would print as `+10000`, which no parser reads)
            && (1..=9999).contains(&chrono::Datelike::year(&instant))
        {
            *text = instant.format("%Y-%m-%d %H:%M:%S%.f+00").to_string();
            changed = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    changed
}

/// A written date and time without an offset (`2024-01-03`, `2024-01-03 10:00:05.5`, with `T`
/// or a space), as micros since 1970 on a clock at UTC.
fn wall_clock_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() > 64 {
        return None;
    }
    let at =
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN)).or_else(|_| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
                .ok_or(())
        });
    let at = at.ok()?;
    // (years before 1 are left to the engine, which reads PostgreSQL's `BC`)
    (chrono::Datelike::year(&at) >= 1).then(|| at.and_utc().timestamp_micros())
}

/// The name PostgreSQL gives a fixed offset east of UTC: `<+05:30>-05:30` (an abbreviation,
/// then the POSIX offset, west positive).
pub fn posix_name(east: i32) -> String {
    let mut name = String::from("<");
    write_offset(&mut name, east, true);
    name.push('>');
    write_offset(&mut name, east, false);
    name
}

/// An offset as PostgreSQL prints one: `+01`, `+05:30`, `-03:30:52`; `east_positive`: east of
/// UTC is `+` (ISO), else `-` (POSIX; zero too).
pub fn write_offset(out: &mut impl std::fmt::Write, east: i32, east_positive: bool) {
    let sign = match (east_positive, east < 0) {
        (true, false) | (false, true) => '+',
        _ => '-',
    };
    let s = east.unsigned_abs();
    let _ = write!(out, "{sign}{:02}", s / 3600);
    if !s.is_multiple_of(3600) {
        let _ = write!(out, ":{:02}", s / 60 % 60);
        if !s.is_multiple_of(60) {
            let _ = write!(out, ":{:02}", s % 60);
        }
    }
}

/// `+02`, `-05:30`, `+5:45:10`: seconds east (as written).
fn iso_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let mut parts = rest.split(':');
    let mut seconds = 0i32;
    for (i, unit) in [3600, 60, 1].into_iter().enumerate() {
        let Some(part) = parts.next() else { break };
        let digits = part.len();
        if digits == 0 || digits > 2 || !part.bytes().all(|b| b.is_ascii_digit()) || (i > 0 && digits != 2) {
            return None;
        }
        let n = part.parse::<i32>().ok()?;
        // minutes and seconds below 60
        if i > 0 && n >= 60 {
            return None;
        }
        seconds += n * unit;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_read_as_postgresql_reads_them() {
        let east = |v: &str| TimeZone::parse(v).map(|z| z.offset_at(1_720_000_800_000_000));
        // 2024-07-03, summer time in Prague and New York
        assert_eq!(east("Europe/Prague"), Some(7200));
        assert_eq!(east("europe/prague"), Some(7200));
        assert_eq!(east("EST5EDT"), Some(-4 * 3600));
        assert_eq!(east("Etc/GMT+2"), Some(-7200));
        assert_eq!(east("UTC"), Some(0));
        assert_eq!(east("5"), Some(5 * 3600));
        assert_eq!(east("-7"), Some(-7 * 3600));
        assert_eq!(east("5.5"), Some(19800));
        assert_eq!(east("+02"), Some(7200));
        assert_eq!(east("UTC+3"), Some(-3 * 3600));
        assert_eq!(east("GMT-05:30"), Some(19800));
        assert_eq!(east("INTERVAL '+05:30' HOUR TO MINUTE"), Some(19800));
        assert_eq!(east("INTERVAL '-03:00' HOUR TO MINUTE"), Some(-3 * 3600));
        for bad in [
            "Z",
            "Nowhere/Foo",
            "",
            "+2:3",
            "99",
            "UTC+",
            "+02:00:00:00",
            "NaN",
            "inf",
            "-1e10",
            "-596524",
            "-1e300",
            "+14:60",
            "INTERVAL '1' DAY",
            "INTERVAL '+01' xxxxxxxx",
        ] {
            assert_eq!(TimeZone::parse(bad), None, "{bad}");
        }
        // 1900: local mean time, to the second
        assert_eq!(TimeZone::parse("Asia/Kolkata").unwrap().offset_at(-2_208_988_800_000_000), 5 * 3600 + 21 * 60 + 10);
    }

    #[test]
    fn written_timestamps_without_an_offset_are_read_in_the_zone() {
        let zone = TimeZone::parse("Europe/Prague").unwrap();
        let rewrite = |sql: &str| {
            let mut statement = crate::gateway::parse(sql).unwrap().remove(0);
            read_written_timestamps(&mut statement, zone);
            statement.to_string()
        };
        assert_eq!(
            rewrite(
                "SELECT '2024-01-03 10:00'::timestamptz, TIMESTAMPTZ '2024-07-03', '2024-01-03T10:00:00.5'::TIMESTAMP WITH TIME ZONE"
            ),
            "SELECT '2024-01-03 09:00:00+00'::TIMESTAMPTZ, TIMESTAMPTZ '2024-07-02 22:00:00+00', \
             '2024-01-03 09:00:00.500+00'::TIMESTAMP WITH TIME ZONE"
        );
        for kept in [
            "SELECT '2024-01-03 10:00+05'::TIMESTAMPTZ",
            "SELECT 'now'::TIMESTAMPTZ",
            "SELECT '2024-01-03 10:00'::TIMESTAMP",
            "SELECT x::TIMESTAMPTZ FROM t",
        ] {
            assert_eq!(rewrite(kept), kept);
        }
    }

    #[test]
    fn fixed_offsets_are_named_as_postgresql_names_them() {
        assert_eq!(posix_name(5 * 3600), "<+05>-05");
        assert_eq!(posix_name(-7 * 3600), "<-07>+07");
        assert_eq!(posix_name(19800), "<+05:30>-05:30");
        assert_eq!(posix_name(0), "<+00>-00");
        // and read back as the same offset (the session keeps the name)
        for east in [5 * 3600, -7 * 3600, 19800, -(3 * 3600 + 30 * 60 + 52)] {
            assert_eq!(TimeZone::parse(&posix_name(east)), Some(TimeZone::Fixed(east)));
        }
    }

    #[test]
    fn a_wall_clock_time_is_read_in_the_zone() {
        let prague = TimeZone::parse("Europe/Prague").unwrap();
        // 2024-01-03 10:00 in Prague is 09:00 UTC
        let local = 1_704_276_000_000_000;
        assert_eq!(prague.instant_of_local(local), local - 3600 * 1_000_000);
        // 2024-03-31 02:30 does not exist there (clocks jump 02:00 → 03:00): read at +01
        let gap = 1_711_852_200_000_000;
        assert_eq!(prague.instant_of_local(gap), gap - 3600 * 1_000_000);
        // 2024-10-27 02:30 happens twice: read as standard time, at +01
        let twice = 1_729_996_200_000_000;
        assert_eq!(prague.instant_of_local(twice), twice - 3600 * 1_000_000);
    }
}
