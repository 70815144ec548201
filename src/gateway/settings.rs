//! Session settings as PostgreSQL clients know them (`SET`, `SHOW`, `current_setting`). They live
//! in duckstore, never in DuckDB: a client cannot reach an engine setting through them.

use std::collections::BTreeMap;

use crate::error::{Error, Result, SqlState};

pub const SERVER_VERSION: &str = concat!("15.0 (duckstore ", env!("CARGO_PKG_VERSION"), ")");
pub const SERVER_VERSION_NUM: &str = "150000";

/// Parameters a client may read; `true` marks those it may also change.
const PARAMETERS: &[(&str, &str, bool)] = &[
    ("application_name", "", true),
    ("bytea_output", "hex", true),
    ("client_encoding", "UTF8", true),
    ("client_min_messages", "notice", true),
    ("datestyle", "ISO, MDY", true),
    ("default_table_access_method", "heap", true),
    ("default_transaction_isolation", "read committed", true),
    ("default_transaction_read_only", "off", true),
    ("extra_float_digits", "1", true),
    ("idle_in_transaction_session_timeout", "0", true),
    ("in_hot_standby", "off", false),
    ("integer_datetimes", "on", false),
    ("intervalstyle", "postgres", true),
    ("is_superuser", "off", false),
    ("lc_collate", "C.UTF-8", false),
    ("lc_ctype", "C.UTF-8", false),
    ("lc_messages", "C.UTF-8", true),
    ("lc_monetary", "C.UTF-8", true),
    ("lc_numeric", "C.UTF-8", true),
    ("lc_time", "C.UTF-8", true),
    ("lock_timeout", "0", true),
    ("max_identifier_length", "63", false),
    ("max_index_keys", "32", false),
    ("search_path", "\"$user\", public", true),
    ("server_encoding", "UTF8", false),
    ("server_version", SERVER_VERSION, false),
    ("server_version_num", SERVER_VERSION_NUM, false),
    ("session_authorization", "", false),
    ("standard_conforming_strings", "on", true),
    ("statement_timeout", "0", true),
    ("timezone", "UTC", true),
    ("transaction_isolation", "read committed", true),
    ("transaction_read_only", "off", false),
    ("jit", "off", true),
    ("plan_cache_mode", "auto", true),
    ("geqo", "on", true),
    ("row_security", "on", true),
    ("synchronous_commit", "on", true),
];

/// Whether `name` is one of PostgreSQL's session parameters (as opposed to an engine setting or
/// a name nobody knows).
pub fn is_parameter(name: &str) -> bool {
    let key = name.to_ascii_lowercase();
    PARAMETERS.iter().any(|(n, _, _)| *n == key)
}

/// When the server started (first asked at startup), as a timestamptz's text in UTC: what
/// `pg_postmaster_start_time()` answers.
static SERVER_START: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let micros = i64::try_from(now.as_micros()).unwrap_or(0);
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
        .unwrap_or_else(|| "1970-01-01 00:00:00+00".to_owned())
});

pub fn server_start_text() -> String {
    SERVER_START.clone()
}

/// A parameter's default value, and whether a session may set it.
pub fn default_of(name: &str) -> Option<(&'static str, bool)> {
    let key = name.to_ascii_lowercase();
    PARAMETERS.iter().find(|(n, _, _)| *n == key).map(|(_, value, settable)| (*value, *settable))
}

/// The spelling PostgreSQL uses in ParameterStatus and SHOW.
pub fn display_name(name: &str) -> &str {
    match name {
        "datestyle" => "DateStyle",
        "intervalstyle" => "IntervalStyle",
        "timezone" => "TimeZone",
        other => other,
    }
}

/// Engine settings clients must never change; named here for a precise refusal.
const ENGINE_SETTINGS: &[&str] = &[
    "memory_limit",
    "max_memory",
    "threads",
    "worker_threads",
    "enable_external_access",
    "allowed_directories",
    "allowed_paths",
    "lock_configuration",
    "temp_directory",
    "max_temp_directory_size",
    "autoinstall_known_extensions",
    "autoload_known_extensions",
    "allow_community_extensions",
    "allow_unsigned_extensions",
    "extension_directory",
    "custom_extension_repository",
    "enable_http_metadata_cache",
    "home_directory",
    "secret_directory",
];

#[derive(Debug, Clone)]
pub struct SessionSettings {
    values: BTreeMap<&'static str, String>,
    /// Moves on with every change (see [`SessionSettings::changes`]).
    changes: u64,
}

impl SessionSettings {
    /// Defaults, overridden by the parameters the client sent at startup (unknown ones ignored,
    /// as PostgreSQL ignores nothing but we must never fail a login over an option).
    pub fn new(user: &str, startup: &BTreeMap<String, String>) -> SessionSettings {
        let mut settings =
            SessionSettings { values: PARAMETERS.iter().map(|(n, v, _)| (*n, (*v).to_owned())).collect(), changes: 0 };
        settings.values.insert("session_authorization", user.to_owned());
        for (name, value) in startup {
            let _ = settings.set(name, Some(value));
        }
        settings
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let key = name.to_ascii_lowercase();
        self.values.get(key.as_str()).map(String::as_str)
    }

    /// Applies `SET name = value` (`None` = `DEFAULT`/`RESET`).
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let key = name.to_ascii_lowercase();
        let Some((canonical, default, settable)) = PARAMETERS.iter().find(|(n, _, _)| *n == key) else {
            if ENGINE_SETTINGS.contains(&key.as_str()) {
                return Err(Error::permission_denied(format!(
                    "parameter \"{name}\" is an engine setting and cannot be changed by a client"
                )));
            }
            return Err(Error::not_found(format!("unrecognized configuration parameter \"{name}\""))
                .with_sqlstate(SqlState::UndefinedObject));
        };
        if !settable {
            return Err(Error::new(
                crate::error::ErrorKind::FailedPrecondition,
                format!("parameter \"{name}\" cannot be changed"),
            )
            .with_sqlstate(SqlState::CantChangeRuntimeParam));
        }
        let value = match value {
            None => (*default).to_owned(),
            Some(v) => validate(canonical, v)?,
        };
        self.values.insert(canonical, value);
        self.changes += 1;
        Ok(())
    }

    /// How many times a setting changed: a statement that moved it may have changed one the
    /// client is told of (see [`SessionSettings::reported`]).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Takes `other`'s values (a transaction block's end): a change, as any SET is.
    pub fn restore(&mut self, other: &SessionSettings) {
        self.values = other.values.clone();
        self.changes += 1;
    }

    pub fn reset_all(&mut self) {
        let user = self.values.get("session_authorization").cloned().unwrap_or_default();
        for (name, default, settable) in PARAMETERS {
            if *settable {
                self.values.insert(name, (*default).to_owned());
            }
        }
        self.values.insert("session_authorization", user);
        self.changes += 1;
    }

    /// The parameters reported to the client in ParameterStatus at startup.
    pub fn reported(&self) -> Vec<(String, String)> {
        [
            "application_name",
            "client_encoding",
            "datestyle",
            "default_transaction_read_only",
            "in_hot_standby",
            "integer_datetimes",
            "intervalstyle",
            "is_superuser",
            "server_encoding",
            "server_version",
            "session_authorization",
            "standard_conforming_strings",
            "timezone",
        ]
        .iter()
        .map(|n| (display_name(n).to_owned(), self.values.get(n).cloned().unwrap_or_default()))
        .collect()
    }

    /// Every parameter and its value.
    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The schemas of `search_path`, in order (`"$user"` and empty entries dropped).
    pub fn search_path(&self) -> Vec<String> {
        parse_search_path(self.get("search_path").unwrap_or(""))
    }

    /// The zone `timestamptz` values are shown and written times read in; `None` for UTC, the
    /// engine's own.
    pub fn time_zone(&self) -> Option<super::time_zone::TimeZone> {
        super::time_zone::TimeZone::parse(self.get("timezone")?).filter(|z| !z.is_utc())
    }

    /// The statement timeout in milliseconds (0 = none).
    pub fn statement_timeout_ms(&self) -> u64 {
        self.get("statement_timeout").and_then(|v| parse_duration_ms(v).ok()).unwrap_or(0)
    }
}

/// A parameter's default value.
/// `SELECT set_config('name', 'value' | NULL, local)` written alone (pg_dump's scripts, ORMs
/// setting a parameter), as the SET it is: (name, value, local).
pub fn set_config_call(query: &sqlparser::ast::Query) -> Option<(String, Option<String>, bool)> {
    use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem, SetExpr, Value};
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
        || !query.locks.is_empty()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let grouped =
        !matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if !select.from.is_empty()
        || select.selection.is_some()
        || select.distinct.is_some()
        || select.having.is_some()
        || select.into.is_some()
        || select.qualify.is_some()
        || grouped
    {
        return None;
    }
    let [SelectItem::UnnamedExpr(Expr::Function(f))] = select.projection.as_slice() else { return None };
    let name = super::query::name_parts(&f.name)?;
    if !matches!(name.as_slice(), [n] | [_, n] if n == "set_config") || (name.len() == 2 && name[0] != "pg_catalog") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else { return None };
    let values: Vec<&Value> = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => Some(&v.value),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match values.as_slice() {
        [Value::SingleQuotedString(name), value, Value::Boolean(local)] => {
            let value = match value {
                Value::SingleQuotedString(v) => Some(v.clone()),
                Value::Null => None,
                _ => return None,
            };
            Some((name.to_ascii_lowercase(), value, *local))
        }
        _ => None,
    }
}

pub fn default_value(name: &str) -> Option<&'static str> {
    let key = name.to_ascii_lowercase();
    PARAMETERS.iter().find(|(n, _, _)| *n == key).map(|(_, v, _)| *v)
}

/// Splits a search path, honouring double quotes: `"in.c-a", public` → [in.c-a, public].
pub fn parse_search_path(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c if quoted || !c.is_whitespace() => current.push(if quoted { c } else { c.to_ascii_lowercase() }),
            _ => {}
        }
    }
    out.push(current);
    out.into_iter().filter(|s| !s.is_empty() && s != "$user").collect()
}

fn bad_value(name: &str, value: &str) -> Error {
    // (a long value is shown by its start: the message goes back to the client)
    let shown: String = value.chars().take(200).collect();
    let more = if shown.len() < value.len() { "…" } else { "" };
    Error::invalid(format!("invalid value for parameter \"{name}\": \"{shown}{more}\""))
        .with_sqlstate(SqlState::InvalidParameterValue)
}

fn validate(name: &str, value: &str) -> Result<String> {
    let lower = value.trim().to_ascii_lowercase();
    match name {
        "client_encoding" | "server_encoding" => match lower.replace(['-', '_'], "").as_str() {
            "utf8" | "unicode" => Ok("UTF8".into()),
            _ => Err(Error::unsupported(format!("encoding \"{value}\" is not supported; duckstore speaks UTF8"))),
        },
        "standard_conforming_strings" => match lower.as_str() {
            "on" | "true" | "1" => Ok("on".into()),
            _ => Err(Error::unsupported("standard_conforming_strings can only be on")),
        },
        "datestyle" => {
            if lower.split(',').any(|p| p.trim() == "iso") || lower.is_empty() {
                Ok("ISO, MDY".into())
            } else {
                Err(Error::unsupported(format!("DateStyle \"{value}\" is not supported; use ISO")))
            }
        }
        "intervalstyle" => match lower.as_str() {
            "postgres" => Ok("postgres".into()),
            _ => Err(Error::unsupported(format!("IntervalStyle \"{value}\" is not supported; use postgres"))),
        },
        "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
            parse_duration_ms(value).map_err(|_| bad_value(name, value))?;
            Ok(value.trim().to_owned())
        }
        // PostgreSQL refuses a zone it does not know (22023); `LOCAL` is the default (UTC)
        "timezone" if lower == "local" => Ok("UTC".into()),
        // a zone's name as the zone database spells it (`utc` shows as `UTC`), as PostgreSQL
        "timezone" if value.len() > 256 || value.chars().any(char::is_control) => Err(bad_value("TimeZone", value)),
        "timezone" => match super::time_zone::TimeZone::parse(value) {
            Some(super::time_zone::TimeZone::Named(tz)) => Ok(tz.name().to_owned()),
            // a POSIX form (`UTC+3`) shows as written; hours and ISO offsets as PostgreSQL
            // spells the zone it makes of them (`5` is `<+05>-05`)
            Some(super::time_zone::TimeZone::Fixed(_)) if lower.starts_with("utc") || lower.starts_with("gmt") => {
                Ok(value.trim().to_owned())
            }
            Some(super::time_zone::TimeZone::Fixed(east)) => Ok(super::time_zone::posix_name(east)),
            None => Err(bad_value("TimeZone", value)),
        },
        "extra_float_digits" => {
            let n: i32 = value.trim().parse().map_err(|_| bad_value(name, value))?;
            if (-15..=3).contains(&n) { Ok(n.to_string()) } else { Err(bad_value(name, value)) }
        }
        "transaction_isolation" | "default_transaction_isolation" => match lower.as_str() {
            "read uncommitted" | "read committed" | "repeatable read" | "serializable" => Ok(lower),
            _ => Err(bad_value(name, value)),
        },
        "application_name" => {
            if value.len() > 64 || value.chars().any(char::is_control) {
                Err(bad_value(name, value))
            } else {
                Ok(value.to_owned())
            }
        }
        _ => {
            if value.len() > 256 || value.chars().any(char::is_control) {
                Err(bad_value(name, value))
            } else {
                Ok(value.trim().to_owned())
            }
        }
    }
}

/// Parses a PostgreSQL duration setting ("0", "5000", "5s", "2min", "1h") into milliseconds.
fn parse_duration_ms(value: &str) -> std::result::Result<u64, ()> {
    let v = value.trim().trim_matches('\'').to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().map_err(|_| ())?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(()),
    };
    n.checked_mul(factor).ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_settings_are_refused_and_unknown_ones_named() {
        let mut s = SessionSettings::new("u", &BTreeMap::new());
        assert_eq!(s.set("memory_limit", Some("100GB")).unwrap_err().sqlstate(), "42501");
        assert_eq!(s.set("enable_external_access", Some("true")).unwrap_err().sqlstate(), "42501");
        assert_eq!(s.set("no_such_thing", Some("1")).unwrap_err().sqlstate(), "42704");
        assert_eq!(s.set("server_version", Some("1")).unwrap_err().sqlstate(), "55P02");
    }

    #[test]
    fn harmless_settings_apply_and_reset() {
        let mut s = SessionSettings::new("u", &BTreeMap::new());
        s.set("Application_Name", Some("bi")).unwrap();
        assert_eq!(s.get("application_name"), Some("bi"));
        s.set("statement_timeout", Some("2s")).unwrap();
        assert_eq!(s.statement_timeout_ms(), 2000);
        s.set("statement_timeout", None).unwrap();
        assert_eq!(s.statement_timeout_ms(), 0);
        assert!(s.set("client_encoding", Some("LATIN1")).is_err());
    }

    #[test]
    fn search_paths_split_on_unquoted_commas() {
        assert_eq!(parse_search_path("\"$user\", public"), ["public"]);
        assert_eq!(parse_search_path("\"in.c-a,b\", \"out.c-x\""), ["in.c-a,b", "out.c-x"]);
        assert_eq!(parse_search_path("MySchema"), ["myschema"]);
    }

    #[test]
    fn startup_parameters_never_fail_a_login() {
        let startup = BTreeMap::from([
            ("client_encoding".to_owned(), "UTF8".to_owned()),
            ("DateStyle".to_owned(), "ISO".to_owned()),
            ("TimeZone".to_owned(), "Europe/Prague".to_owned()),
            ("bogus".to_owned(), "x".to_owned()),
        ]);
        let s = SessionSettings::new("u", &startup);
        assert_eq!(s.get("TimeZone"), Some("Europe/Prague"));
        assert!(s.reported().iter().any(|(k, v)| k == "server_version" && v.starts_with("15.")));
    }
}
