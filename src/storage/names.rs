//! Names and types (design.md §6): every bucket, table and column name and every column type is
//! checked here before it reaches the catalog, a path or a statement.

use crate::error::{Error, Result, SqlState};

fn invalid_name(what: &str, name: &str, rule: &str) -> Error {
    Error::invalid(format!("invalid {what} \"{}\": {rule}", name.escape_debug())).with_sqlstate(SqlState::InvalidName)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A bucket id `{stage}.c-{name}`: stage `in` or `out`, name `[A-Za-z0-9_-]{1,96}`.
pub fn parse_bucket(full: &str) -> Result<(String, String)> {
    let rule = "use {in|out}.c-{name} with a name of 1 to 96 letters, digits, '_' or '-'";
    let (stage, rest) = full.split_once(".c-").ok_or_else(|| invalid_name("bucket", full, rule))?;
    if stage != "in" && stage != "out" {
        return Err(invalid_name("bucket", full, rule));
    }
    validate_bucket_name(rest).map_err(|_| invalid_name("bucket", full, rule))?;
    Ok((stage.to_owned(), rest.to_owned()))
}

/// Bucket names transaction blocks keep for their temporary tables (`in.c-pg_temp_<n>`): a
/// client cannot take one, or another block's temporary tables would find it taken.
pub fn refuse_reserved_bucket(name: &str) -> Result<()> {
    if name.to_ascii_lowercase().starts_with("pg_temp") {
        return Err(Error::invalid(format!(
            "unacceptable bucket name \"{}\": the prefix pg_temp is reserved for temporary tables",
            name.escape_debug()
        ))
        .with_sqlstate(SqlState::ReservedName));
    }
    Ok(())
}

pub fn validate_stage(stage: &str) -> Result<()> {
    if stage == "in" || stage == "out" {
        Ok(())
    } else {
        Err(Error::invalid(format!("invalid stage \"{}\": use in or out", stage.escape_debug()))
            .with_sqlstate(SqlState::InvalidParameterValue))
    }
}

pub fn validate_bucket_name(name: &str) -> Result<()> {
    if (1..=96).contains(&name.len()) && name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(invalid_name("bucket name", name, "use 1 to 96 letters, digits, '_' or '-'"))
    }
}

pub fn validate_table_name(name: &str) -> Result<()> {
    if (1..=96).contains(&name.len()) && name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(invalid_name("table name", name, "use 1 to 96 letters, digits, '_' or '-'"))
    }
}

/// Column names: `[A-Za-z0-9_]{1,64}`, not starting with `_` (`_timestamp` is the system column).
pub fn validate_column_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with('_');
    if ok {
        Ok(())
    } else {
        Err(invalid_name(
            "column name",
            name,
            "use 1 to 64 letters, digits or '_', not starting with '_' (names starting with '_' are reserved)",
        ))
    }
}

/// The hidden column every table keeps: when each row last changed.
pub const TIMESTAMP_COLUMN: &str = "_timestamp";

/// Whether a column's stored type is text (`VARCHAR`, or with a declared length).
pub fn is_text_type(sql_type: &str) -> bool {
    sql_type.eq_ignore_ascii_case("VARCHAR") || declared_length(sql_type).is_some()
}

/// The length a text column was declared with, and whether it is `CHAR(n)` (else `VARCHAR(n)`).
pub fn declared_length(sql_type: &str) -> Option<(u32, bool)> {
    let upper = sql_type.to_ascii_uppercase();
    let (rest, fixed) = match upper.strip_prefix("VARCHAR(") {
        Some(rest) => (rest, false),
        None => (upper.strip_prefix("CHAR(")?, true),
    };
    Some((rest.strip_suffix(')')?.trim().parse().ok()?, fixed))
}

/// A column type: the DuckDB type stored, and Keboola's base type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub sql_type: String,
    pub base_type: &'static str,
}

/// Resolves a type as written in DDL or given to a procedure: Keboola's base types (STRING,
/// INTEGER, NUMERIC, FLOAT, BOOLEAN, DATE, TIMESTAMP) and an allow-list of DuckDB types.
pub fn column_type(written: &str) -> Result<ColumnType> {
    let normalized = written.trim().to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
    let (base, args) = match normalized.split_once('(') {
        Some((base, rest)) => {
            let args = rest.strip_suffix(')').ok_or_else(|| unknown_type(written))?;
            let args: Vec<u32> = args
                .split(',')
                .map(|a| a.trim().parse::<u32>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| unknown_type(written))?;
            (base.trim().to_owned(), args)
        }
        None => (normalized, vec![]),
    };
    let t = |sql: &str, base: &'static str| Ok(ColumnType { sql_type: sql.to_owned(), base_type: base });
    let no_args = |r: Result<ColumnType>| if args.is_empty() { r } else { Err(unknown_type(written)) };
    match base.as_str() {
        // A declared length is kept, for what clients are told of the column (PostgreSQL's
        // varchar(n) and char(n)); the engine stores every text as VARCHAR either way.
        // (a length given to these was always accepted and ignored; it still is)
        "STRING" | "TEXT" if args.len() <= 1 => t("VARCHAR", "STRING"),
        "VARCHAR" | "CHARACTER VARYING" => match args.as_slice() {
            [] => t("VARCHAR", "STRING"),
            [n] if (1..=10_485_760).contains(n) => t(&format!("VARCHAR({n})"), "STRING"),
            _ => Err(unknown_type(written)),
        },
        "CHAR" | "CHARACTER" | "BPCHAR" => match args.as_slice() {
            [] => t("CHAR(1)", "STRING"),
            [n] if (1..=10_485_760).contains(n) => t(&format!("CHAR({n})"), "STRING"),
            _ => Err(unknown_type(written)),
        },
        "INTEGER" | "INT" | "INT4" => no_args(t("INTEGER", "INTEGER")),
        "BIGINT" | "INT8" => no_args(t("BIGINT", "INTEGER")),
        "SMALLINT" | "INT2" => no_args(t("SMALLINT", "INTEGER")),
        "TINYINT" | "INT1" => no_args(t("TINYINT", "INTEGER")),
        "HUGEINT" | "INT128" => no_args(t("HUGEINT", "INTEGER")),
        "NUMERIC" | "DECIMAL" | "NUMBER" => match args.as_slice() {
            [] => t("DECIMAL(38,9)", "NUMERIC"),
            [p] if (1..=38).contains(p) => t(&format!("DECIMAL({p},0)"), "NUMERIC"),
            [p, s] if (1..=38).contains(p) && s <= p => t(&format!("DECIMAL({p},{s})"), "NUMERIC"),
            _ => Err(Error::invalid(format!("{written}: precision must be 1 to 38 and scale at most the precision"))
                .with_sqlstate(SqlState::InvalidParameterValue)),
        },
        // FLOAT(p) counts binary digits, as in PostgreSQL: up to 24 a REAL, up to 53 a DOUBLE
        "FLOAT" => match args.as_slice() {
            [] => t("DOUBLE", "FLOAT"),
            [p] if (1..=24).contains(p) => t("REAL", "FLOAT"),
            [p] if (25..=53).contains(p) => t("DOUBLE", "FLOAT"),
            _ => Err(Error::invalid(format!("{written}: the precision of a float must be 1 to 53 bits"))
                .with_sqlstate(SqlState::InvalidParameterValue)),
        },
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT8" => no_args(t("DOUBLE", "FLOAT")),
        "REAL" | "FLOAT4" => no_args(t("REAL", "FLOAT")),
        "BOOLEAN" | "BOOL" => no_args(t("BOOLEAN", "BOOLEAN")),
        "DATE" => no_args(t("DATE", "DATE")),
        "TIMESTAMP" | "TIMESTAMP WITHOUT TIME ZONE" | "DATETIME" => no_args(t("TIMESTAMP", "TIMESTAMP")),
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => no_args(t("TIMESTAMPTZ", "TIMESTAMP")),
        "TIME" | "TIME WITHOUT TIME ZONE" => no_args(t("TIME", "STRING")),
        "BLOB" | "BYTEA" => no_args(t("BLOB", "STRING")),
        "UUID" => no_args(t("UUID", "STRING")),
        "JSON" => no_args(t("JSON", "STRING")),
        "INTERVAL" => no_args(t("INTERVAL", "STRING")),
        _ => Err(unknown_type(written)),
    }
}

fn unknown_type(written: &str) -> Error {
    Error::unsupported(format!(
        "type \"{}\" is not supported; use STRING, INTEGER, NUMERIC, FLOAT, BOOLEAN, DATE, TIMESTAMP or one of \
         VARCHAR, BIGINT, SMALLINT, DOUBLE, REAL, DECIMAL(p,s), TIMESTAMPTZ, TIME, BLOB, UUID, JSON, INTERVAL",
        written.escape_debug()
    ))
    .with_sqlstate(SqlState::UndefinedObject)
}

/// Quotes an identifier for DuckDB (names are validated already; this is the second belt).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for DuckDB.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A table's full id as Keboola writes it: `in.c-sales.orders` (bucket, a dot, the table).
pub fn parse_table_id(id: &str) -> Result<super::TableName> {
    let (bucket, table) = id.rsplit_once('.').ok_or_else(|| {
        Error::invalid(format!("'{id}' is not a table id like 'in.c-sales.orders'"))
            .with_sqlstate(SqlState::InvalidName)
    })?;
    parse_bucket(bucket)?;
    Ok(super::TableName { schema: Some(bucket.to_owned()), name: table.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bucket_ids_parse() {
        assert_eq!(parse_bucket("in.c-sales").unwrap(), ("in".into(), "sales".into()));
        assert_eq!(parse_bucket("out.c-a_b-9").unwrap(), ("out".into(), "a_b-9".into()));
        for bad in ["sales", "in.sales", "up.c-x", "in.c-", "in.c-a/b", "in.c-..", "in.c-a b", "IN.c-x", "in.c-a.c-b"] {
            assert_eq!(parse_bucket(bad).unwrap_err().sqlstate(), "42602", "{bad}");
        }
    }

    #[test]
    fn types_resolve_to_the_allow_list() {
        assert_eq!(column_type("string").unwrap(), ColumnType { sql_type: "VARCHAR".into(), base_type: "STRING" });
        assert_eq!(column_type("NUMERIC").unwrap().sql_type, "DECIMAL(38,9)");
        assert_eq!(column_type("numeric(10, 2)").unwrap().sql_type, "DECIMAL(10,2)");
        assert_eq!(column_type("timestamp with time zone").unwrap().sql_type, "TIMESTAMPTZ");
        // a declared length is kept for clients (the engine ignores it)
        assert_eq!(column_type("VARCHAR(255)").unwrap().sql_type, "VARCHAR(255)");
        assert_eq!(column_type("character(2)").unwrap().sql_type, "CHAR(2)");
        assert_eq!(column_type("char").unwrap().sql_type, "CHAR(1)");
        assert!(column_type("VARCHAR(0)").is_err() && column_type("VARCHAR(1,2)").is_err());
        assert_eq!(column_type("STRING(5)").unwrap().sql_type, "VARCHAR");
        // what SQLAlchemy writes for a pandas float column, and the other FLOAT(p)
        assert_eq!(column_type("FLOAT(53)").unwrap().sql_type, "DOUBLE");
        assert_eq!(column_type("float(24)").unwrap().sql_type, "REAL");
        assert_eq!(column_type("FLOAT(54)").unwrap_err().state(), SqlState::InvalidParameterValue);
        for bad in [
            "MAP(INT, INT)",
            "STRUCT(a INT)",
            "INT[]",
            "GEOMETRY",
            "DECIMAL(40,2)",
            "INTEGER(3)",
            "x); DROP TABLE t; --",
        ] {
            assert!(column_type(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        // Whatever a client sends as a name, an accepted one is a safe path component and
        // identifier: no separators, no dots, no quotes, no traversal.
        #[test]
        fn accepted_names_are_safe(name in ".{0,120}") {
            for accepted in [validate_table_name(&name).is_ok(), validate_bucket_name(&name).is_ok(), validate_column_name(&name).is_ok()] {
                if accepted {
                    prop_assert!(!name.is_empty() && name.len() <= 96);
                    prop_assert!(!name.contains('/') && !name.contains('.') && !name.contains('"') && !name.contains('\''));
                    prop_assert!(!name.contains('\0') && !name.contains(' '));
                }
            }
        }

        #[test]
        fn accepted_bucket_ids_round_trip(stage in "(in|out)", name in "[A-Za-z0-9_-]{1,96}") {
            let full = format!("{stage}.c-{name}");
            prop_assert_eq!(parse_bucket(&full).unwrap(), (stage, name));
        }
    }
}
