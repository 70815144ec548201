//! Wall-clock time as the catalog stores it: microseconds since the Unix epoch, UTC.

use chrono::{DateTime, Utc};

pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// RFC 3339 text for logs and JSON answers.
pub fn format_micros(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}
