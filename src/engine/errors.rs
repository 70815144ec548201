//! DuckDB errors as duckstore errors: the category prefix DuckDB puts on every message decides
//! the SQLSTATE; paths of the data directory never reach a client.

use crate::error::{Error, ErrorKind, SqlState};

/// Who wrote the SQL that failed: a client's statement failing is the client's mistake (a clean
/// SQLSTATE); the server's own SQL failing is an internal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlOrigin {
    User,
    Server,
}

pub(super) fn map_duckdb_error(e: &duckdb::Error, origin: SqlOrigin, context: &str, data_dir: &str) -> Error {
    map_duckdb_message(&e.to_string(), origin, context, data_dir)
}

/// DuckDB's error categories, as its messages begin ("Conversion Error: …").
const KNOWN_CATEGORIES: &[&str] = &[
    "Parser",
    "Catalog",
    "Binder",
    "Conversion",
    "Out of Range",
    "Constraint",
    "Permission",
    "Not implemented",
    "Invalid Input",
    "TransactionContext",
    "Transaction",
    "IO",
    "INTERRUPT",
    "Out of Memory",
    "Internal",
];

pub(super) fn map_duckdb_message(raw: &str, origin: SqlOrigin, context: &str, data_dir: &str) -> Error {
    let raw = raw.to_owned();
    let message = if data_dir.is_empty() { raw.clone() } else { raw.replace(data_dir, "<data>") };
    let (mut category, mut text) = match message.split_once(" Error: ") {
        Some((category, text)) => (category.trim(), text.trim().to_owned()),
        None => ("", message.trim().to_owned()),
    };
    // An error a stream from another instance reported (engine/streams.rs) arrives wrapped by
    // the table function that read it: the inner error is the one that happened.
    while let Some((inner, rest)) = text.split_once(" Error: ")
        && KNOWN_CATEGORIES.contains(&inner.trim())
        && matches!(category, "Invalid Input" | "")
    {
        let rest = rest.trim().to_owned();
        category = KNOWN_CATEGORIES.iter().find(|c| **c == inner.trim()).copied().unwrap_or(category);
        text = rest;
    }
    if category == "INTERRUPT" {
        return Error::cancelled();
    }
    if let Some(e) = storage_scan_error(&message) {
        return e;
    }
    if category == "Out of Memory" {
        return Error::sql(SqlState::OutOfMemory, format!("out of memory: {text}"));
    }
    if let Some(e) = csv_error(&text) {
        return e;
    }
    // (the expansion bound's refusal is 54001 whoever built the text: engine/expansion.rs)
    if category == "Parser" && text.starts_with("statement is too complex") {
        return Error::sql(SqlState::StatementTooComplex, text);
    }
    if origin == SqlOrigin::Server && !matches!(category, "Constraint" | "Conversion" | "Out of Range") {
        return Error::internal(context, raw);
    }
    let text = scrub_internal_names(&first_line(&text));
    // no cast between two types in a client's statement: PostgreSQL's "operator does not
    // exist" where a comparison or an operator needed it (`date_column = 5`), the common case
    // (its answer to an explicit cast, 42846, is of the same class); a load's is its data's
    if origin == SqlOrigin::User && text.starts_with("Unimplemented type for cast") {
        return Error::sql(SqlState::UndefinedFunction, text);
    }
    if let Some(state) = state_by_message(category, &text) {
        return Error::sql(state, text);
    }
    let state = match category {
        "Parser" if text.contains("Max expression depth") || text.starts_with("statement is too complex") => {
            SqlState::StatementTooComplex
        }
        "Parser" => SqlState::SyntaxError,
        "Catalog" if text.contains("does not exist") && text.contains("unction") => SqlState::UndefinedFunction,
        "Catalog" if text.contains("does not exist") => SqlState::UndefinedTable,
        "Catalog" if text.contains("already exists") => SqlState::DuplicateTable,
        "Catalog" => SqlState::UndefinedObject,
        "Binder"
            if text.contains("Referenced column")
                || text.contains("not found in FROM clause")
                || text.contains("does not have a column") =>
        {
            SqlState::UndefinedColumn
        }
        "Binder" if text.contains("No function matches") => SqlState::UndefinedFunction,
        "Binder" => SqlState::IndeterminateDatatype,
        // a value the target type cannot hold (`40000::int2`, `'3000000000'::int`) is out of
        // range in PostgreSQL, not malformed text
        "Conversion" if text.contains("out of range") || integer_too_large(&text) => SqlState::NumericValueOutOfRange,
        "Conversion" => SqlState::InvalidTextRepresentation,
        "Out of Range" if text.contains("division by zero") || text.contains("Division by zero") => {
            SqlState::DivisionByZero
        }
        "Out of Range" => SqlState::NumericValueOutOfRange,
        "Constraint" if text.contains("NOT NULL") => SqlState::NotNullViolation,
        "Constraint" if text.to_ascii_lowercase().contains("duplicate key") || text.contains("unique") => {
            SqlState::UniqueViolation
        }
        // a declared length's check (storage::tables::table_ddl): PostgreSQL's own words
        "Constraint" if text.contains("CHECK constraint failed") && text.contains("length(") => {
            return Error::sql(
                SqlState::StringDataRightTruncation,
                "value too long for a column of a declared length (character varying(n) or character(n))",
            );
        }
        "Constraint" => SqlState::CheckViolation,
        "Permission" => SqlState::InsufficientPrivilege,
        "Not implemented" => SqlState::FeatureNotSupported,
        "Invalid Input" if text.ends_with("division by zero") => SqlState::DivisionByZero,
        // engine::numeric's words for a quotient its type cannot hold
        "Invalid Input"
            if text.ends_with(" out of range")
                || text.ends_with("out of range: overflow")
                || text.ends_with("overflows numeric format") =>
        {
            SqlState::NumericValueOutOfRange
        }
        "Invalid Input" => SqlState::InvalidParameterValue,
        "TransactionContext" | "Transaction" => SqlState::SerializationFailure,
        "IO" => SqlState::IoError,
        _ => SqlState::DataException,
    };
    Error::sql(state, text)
}

/// The SQLSTATE PostgreSQL gives the condition a DuckDB message names, where DuckDB's category
/// alone is too coarse (a binder error is a grouping error, an ambiguous name, a bad position …).
/// Checked against PostgreSQL 15 by the `errors` group of compat/corpus; an empty category
/// matches any.
fn state_by_message(category: &str, text: &str) -> Option<SqlState> {
    const BY_CATEGORY: &[(&str, &str, SqlState)] = &[
        // `Type with name x does not exist!`: PostgreSQL's "type x does not exist" (42704)
        ("Catalog", "Type with name", SqlState::UndefinedObject),
        ("Binder", "Ambiguous reference to column name", SqlState::AmbiguousColumn),
        ("Binder", "must appear in the GROUP BY clause", SqlState::GroupingError),
        ("Binder", "clause cannot contain aggregates", SqlState::GroupingError),
        ("Binder", "aggregate function calls cannot be nested", SqlState::GroupingError),
        ("Binder", "cannot contain window functions", SqlState::WindowingError),
        ("Binder", "Cannot mix values of type", SqlState::DatatypeMismatch),
        ("Binder", "ORDER term out of range", SqlState::InvalidColumnReference),
        ("Binder", "GROUP BY term out of range", SqlState::InvalidColumnReference),
        ("Binder", "columns - expected 1", SqlState::SyntaxError),
        ("Binder", "duplicate alias", SqlState::DuplicateAlias),
        ("Binder", "LIMIT/OFFSET cannot be negative", SqlState::InvalidRowCountInLimitClause),
        ("Binder", "Prepared statement", SqlState::InvalidSqlStatementName),
        ("Invalid Input", "Prepared statement", SqlState::InvalidSqlStatementName),
        ("Conversion", "invalid date field format", SqlState::InvalidDatetimeFormat),
        ("Conversion", "field value out of range", SqlState::DatetimeFieldOverflow),
        ("", "Invalid escape string", SqlState::InvalidEscapeSequence),
        ("Invalid Input", "More than one row returned by a subquery", SqlState::CardinalityViolation),
        ("Out of Range", "cannot take logarithm", SqlState::InvalidArgumentForLogarithm),
        ("Out of Range", "cannot take square root of a negative number", SqlState::InvalidArgumentForPowerFunction),
        // the bounded string builders' refusal (gateway::compat, `bounded_built_text`)
        ("Invalid Input", "would make a value longer than", SqlState::ProgramLimitExceeded),
        ("Invalid Input", "values a row; move it to FROM", SqlState::ProgramLimitExceeded),
        // substring() with a negative length (the compat rewrite's duckstore_substring)
        ("Invalid Input", "negative substring length not allowed", SqlState::SubstringError),
        // a power without a real answer (the compat rewrite's duckstore_power)
        ("Invalid Input", "zero raised to a negative power", SqlState::InvalidArgumentForPowerFunction),
        ("Invalid Input", "raised to a non-integer power", SqlState::InvalidArgumentForPowerFunction),
        // a jsonb path's step that is no array position (engine::jsonb_functions)
        ("Invalid Input", "is not an integer: ", SqlState::InvalidTextRepresentation),
        // width_bucket()'s arguments (the compat rewrite's duckstore_width_bucket)
        ("Invalid Input", "count must be greater than zero", SqlState::InvalidArgumentForWidthBucketFunction),
        ("Invalid Input", "lower bound cannot equal upper bound", SqlState::InvalidArgumentForWidthBucketFunction),
        ("Invalid Input", "upper bound cannot be NaN", SqlState::InvalidArgumentForWidthBucketFunction),
        ("Invalid Input", "integer out of range", SqlState::NumericValueOutOfRange),
        // a JSON value that is no number cast to one (`'{"a": 1}'::jsonb::int`)
        ("", "Failed to cast value to numerical", SqlState::InvalidParameterValue),
        // justify_*() past an interval's range (engine::intervals)
        ("", crate::engine::intervals::OUT_OF_RANGE, SqlState::DatetimeFieldOverflow),
        // json_object() of text arrays (gateway::jsonb_rewrite)
        ("Invalid Input", "array must have even number of elements", SqlState::ArraySubscriptError),
        ("Invalid Input", "mismatched array dimensions", SqlState::ArraySubscriptError),
        ("Invalid Input", "null value not allowed for object key", SqlState::NullValueNotAllowed),
        // get_byte() past the end (gateway::byte_functions)
        ("Invalid Input", "out of valid range, 0..", SqlState::ArraySubscriptError),
        // DuckDB's own depth bound, from its binder too
        ("", "Max expression depth limit", SqlState::StatementTooComplex),
        // PostgreSQL's integer input refusing a written text (the compat rewrite's `'4.2'::int`)
        ("Invalid Input", "invalid input syntax for type", SqlState::InvalidTextRepresentation),
    ];
    if let Some((_, _, state)) =
        BY_CATEGORY.iter().find(|(c, needle, _)| (c.is_empty() || *c == category) && text.contains(needle))
    {
        return Some(*state);
    }
    // the compat rewrite's `'x'::regclass` of a name that finds nothing (gateway::compat)
    if category == "Invalid Input" && text.starts_with("relation \"") && text.ends_with("\" does not exist") {
        return Some(SqlState::UndefinedTable);
    }
    if category == "Invalid Input" && text == crate::gateway::compat::NEGATIVE_OFFSET {
        return Some(SqlState::InvalidRowCountInResultOffsetClause);
    }
    // and `'x'::regnamespace` (3F000)
    if category == "Invalid Input" && text.starts_with("schema \"") && text.ends_with("\" does not exist") {
        return Some(SqlState::InvalidSchemaName);
    }
    // `Referenced table "x" not found!`: a FROM entry that is missing (PostgreSQL's 42P01)
    if category == "Binder" && text.starts_with("Referenced table") && text.contains("not found") {
        return Some(SqlState::UndefinedTable);
    }
    // a regular expression RE2 refuses: its messages, as DuckDB passes them on
    const RE2_ERRORS: &[&str] = &[
        "missing )",
        "missing ]",
        "unexpected )",
        "trailing \\",
        "invalid escape sequence",
        "invalid character class",
        "invalid character class range",
        "missing argument to repetition operator",
        "bad repetition operator",
        "invalid repetition size",
        "invalid named capture group",
        "invalid perl operator",
        "invalid UTF-8",
    ];
    if category == "Invalid Input" && RE2_ERRORS.iter().any(|e| text.starts_with(e)) {
        return Some(SqlState::InvalidRegularExpression);
    }
    None
}

/// Whether a conversion error is DuckDB's "Could not convert string '…' to INT…" of a text
/// that is an integer (too large for the type; anything else is malformed).
fn integer_too_large(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("Could not convert string '") else { return false };
    let Some((value, target)) = rest.split_once("' to ") else { return false };
    let digits = value.trim().trim_start_matches(['-', '+']);
    matches!(target.trim(), "INT8" | "INT16" | "INT32" | "INT64" | "UINT8" | "UINT16" | "UINT32" | "UINT64")
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An error of a workspace's storage scan, tagged with its SQLSTATE (engine/storage_scan.rs).
fn storage_scan_error(message: &str) -> Option<Error> {
    let tagged = &message[message.find(super::storage_scan::STORAGE_ERROR_TAG)?..];
    let rest = &tagged[super::storage_scan::STORAGE_ERROR_TAG.len()..];
    let (code, text) = rest.split_once("]: ")?;
    let text = first_line(text);
    // every SQLSTATE a storage read can answer (resolution, checks, limits)
    let known = [
        SqlState::InsufficientPrivilege,
        SqlState::UndefinedTable,
        SqlState::InvalidSchemaName,
        SqlState::UndefinedColumn,
        SqlState::UndefinedObject,
        SqlState::InvalidName,
        SqlState::InvalidParameterValue,
        SqlState::OutOfMemory,
        SqlState::TooManyConnections,
        SqlState::AdminShutdown,
        SqlState::IoError,
    ];
    if code == SqlState::QueryCanceled.code() {
        return Some(Error::cancelled());
    }
    Some(match SqlState::from_code(code).filter(|s| known.contains(s)) {
        Some(state) => Error::sql(state, text),
        None => Error::new(ErrorKind::Unavailable, format!("reading a storage table: {text}")),
    })
}

/// DuckDB's CSV reader reports a bad row as "CSV Error on Line: N" followed by the row, the
/// reason and its own options (paths among them). Clients get the reason and the line.
fn csv_error(text: &str) -> Option<Error> {
    let first = text.lines().next()?;
    let line = first.trim().strip_prefix("CSV Error on Line: ")?.trim();
    let reason = text
        .lines()
        .map(str::trim)
        .find(|l| {
            l.starts_with("Error when converting column")
                || l.starts_with("Expected Number of Columns")
                || l.starts_with("Value with unterminated quote")
                || l.starts_with("Invalid unicode")
                || l.contains("could not be converted")
        })
        .unwrap_or("the row does not match the table");
    let conversion = reason.starts_with("Error when converting") || reason.contains("could not be converted");
    let state = if conversion { SqlState::InvalidTextRepresentation } else { SqlState::BadCopyFileFormat };
    Some(Error::sql(state, format!("{reason} (line {line})")))
}

/// `text` without the engine's internal names: table file aliases (`t12v3`, with their
/// `.main.data`), canonical CTE names, the server's placeholders and table functions. What a
/// client sees names its own objects or says "table".
pub(super) fn scrub_internal_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let word_start = |i: usize| i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
    let digits = |from: usize| chars[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    while i < chars.len() {
        // t<digits>v<digits>, a table file's alias, with an optional .main.data
        if chars[i] == 't' && word_start(i) {
            let d1 = digits(i + 1);
            if d1 > 0 && chars.get(i + 1 + d1) == Some(&'v') {
                let d2 = digits(i + 2 + d1);
                let end = i + 2 + d1 + d2;
                let word_end = chars.get(end).is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == '_'));
                if d2 > 0 && word_end {
                    out.push_str("table");
                    i = end;
                    // `"t1v1".main.data`, `t1v1.main."data"`, `"t1v1"."main"."data"`: the
                    // closing quote and the suffix go too
                    let mut j = i;
                    let quote = |j: &mut usize| {
                        if chars.get(*j) == Some(&'"') {
                            *j += 1;
                        }
                    };
                    let word = |j: &mut usize, w: &str| {
                        let len = w.chars().count();
                        if chars.get(*j..*j + len).is_some_and(|c| c.iter().copied().eq(w.chars())) {
                            *j += len;
                            true
                        } else {
                            false
                        }
                    };
                    quote(&mut j);
                    let after_alias = j;
                    let mut k = j;
                    let suffix = word(&mut k, ".")
                        && {
                            quote(&mut k);
                            word(&mut k, "main")
                        }
                        && {
                            quote(&mut k);
                            word(&mut k, ".")
                        }
                        && {
                            quote(&mut k);
                            word(&mut k, "data")
                        };
                    if suffix {
                        quote(&mut k);
                        i = k;
                    } else {
                        i = after_alias;
                    }
                    continue;
                }
            }
        }
        let rest: String = chars[i..].iter().take(24).collect::<String>().to_ascii_lowercase();
        if word_start(i) && rest.starts_with("__cte_") {
            out.push_str("cte");
            i += 6 + digits(i + 6);
            continue;
        }
        // also in EXPLAIN's upper-case operator names (DUCKSTORE_RELATION, DUCKSTORE_STREAM)
        if word_start(i)
            && ["__duckstore_", "duckstore_stream", "duckstore_relation"].iter().any(|p| rest.starts_with(p))
        {
            out.push_str("relation");
            i += chars[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').count();
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    // the opening quote of a scrubbed `"t1v1"` is left alone: "table stays readable
    out.replace("\"table", "table")
}

fn first_line(text: &str) -> String {
    // DuckDB appends multi-line context (LINE 1: … with a caret); keep the sentence.
    text.lines().next().unwrap_or(text).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names_never_reach_a_client() {
        assert_eq!(
            scrub_internal_names(r#"Table "t3v1".main.data has no column x; see t3v1.main."data" and __cte_12"#),
            "Table table has no column x; see table and cte"
        );
        assert_eq!(scrub_internal_names("SEQ_SCAN t12v3 at2v1 t5v"), "SEQ_SCAN table at2v1 t5v");
        assert_eq!(scrub_internal_names("FROM __duckstore_target_00ff AS x"), "FROM relation AS x");
        assert_eq!(scrub_internal_names("│ DUCKSTORE_RELATION │ DUCKSTORE_STREAM"), "│ relation │ relation");
        let e = map_duckdb_message(
            "Catalog Error: Table with name __cte_0 does not exist!",
            SqlOrigin::User,
            "running a query",
            "/data",
        );
        assert_eq!(e.message(), "Table with name cte does not exist!");
    }

    #[test]
    fn values_a_type_cannot_hold_are_out_of_range_and_malformed_text_is_not() {
        let state = |message: &str| map_duckdb_message(message, SqlOrigin::User, "running a query", "/d").state();
        for out_of_range in [
            "Conversion Error: Type INT32 with value 40000 can't be cast because the value is out of range for the destination type INT16",
            "Conversion Error: Could not convert string '3000000000' to INT32",
            "Conversion Error: Casting value \"12345.678\" to type DECIMAL(5,2) failed: value is out of range!",
        ] {
            assert_eq!(state(out_of_range), SqlState::NumericValueOutOfRange, "{out_of_range}");
        }
        for malformed in [
            "Conversion Error: Could not convert string 'seven' to INT32",
            "Conversion Error: Could not convert string '1.5x' to INT64",
        ] {
            assert_eq!(state(malformed), SqlState::InvalidTextRepresentation, "{malformed}");
        }
    }
}
