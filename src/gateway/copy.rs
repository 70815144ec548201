//! `COPY`: `COPY t [(cols)] FROM STDIN` loads a table (one atomic write), `COPY t TO STDOUT` and
//! `COPY (SELECT …) TO STDOUT` stream rows out. Options in both PostgreSQL spellings (`WITH
//! (FORMAT csv, HEADER)` and psql's legacy `CSV HEADER`). Files on the server's disk and
//! programs are never read or written (`42501`).

use sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement};

use super::compat::CompatValues;
use super::ddl::table_name;
use super::query::{self, QueryPlan, ident_name};
use crate::error::{Error, Result, SqlState};
use crate::storage::TableName;
use crate::storage::names::quote_ident;

/// COPY's data format: PostgreSQL's text format, or CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
    /// The text that means NULL (`\N` in text format, an unquoted empty field in CSV).
    pub null: String,
    pub quote: char,
    pub escape: char,
    /// CSV output: quote every non-NULL value of these columns (`*`: all).
    pub force_quote: Vec<String>,
    pub force_quote_all: bool,
}

impl CopyFormat {
    fn text() -> CopyFormat {
        CopyFormat {
            csv: false,
            header: false,
            delimiter: '\t',
            null: "\\N".into(),
            quote: '"',
            escape: '"',
            force_quote: vec![],
            force_quote_all: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CopyInPlan {
    pub table: TableName,
    /// The table columns the data fills, in order (empty: all of them).
    pub columns: Vec<String>,
    pub format: CopyFormat,
}

#[derive(Debug, Clone)]
pub struct CopyOutPlan {
    pub query: QueryPlan,
    pub format: CopyFormat,
}

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("COPY {what} is not supported")).with_sqlstate(SqlState::FeatureNotSupported)
}

fn one_byte(c: char, what: &str) -> Result<char> {
    if c.is_ascii() && c != '\n' && c != '\r' {
        Ok(c)
    } else {
        Err(Error::invalid(format!("COPY {what} must be a single one-byte character"))
            .with_sqlstate(SqlState::InvalidParameterValue))
    }
}

fn format_of(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<CopyFormat> {
    let mut format = CopyFormat::text();
    let (mut delimiter, mut null, mut quote, mut escape) = (None, None, None, None);
    let mut csv_only = Vec::new();
    for option in options {
        match option {
            CopyOption::Format(name) => match name.value.to_ascii_lowercase().as_str() {
                "csv" => format.csv = true,
                "text" => format.csv = false,
                "binary" => return Err(unsupported("in binary format")),
                other => {
                    return Err(Error::invalid(format!("COPY format \"{other}\" not recognized"))
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
            },
            CopyOption::Header(h) => format.header = *h,
            CopyOption::Delimiter(c) => delimiter = Some(*c),
            CopyOption::Null(s) => null = Some(s.clone()),
            CopyOption::Quote(c) => {
                quote = Some(*c);
                csv_only.push("QUOTE");
            }
            CopyOption::Escape(c) => {
                escape = Some(*c);
                csv_only.push("ESCAPE");
            }
            CopyOption::ForceQuote(cols) => {
                format.force_quote.extend(cols.iter().map(ident_name));
                csv_only.push("FORCE_QUOTE");
            }
            CopyOption::ForceNotNull(_) | CopyOption::ForceNull(_) => {
                return Err(unsupported("FORCE_NOT_NULL/FORCE_NULL"));
            }
            CopyOption::Encoding(e) => {
                let e = e.to_ascii_uppercase().replace(['-', '_'], "");
                if e != "UTF8" {
                    return Err(unsupported("in an encoding other than UTF8"));
                }
            }
            CopyOption::Freeze(_) => {}
        }
    }
    for option in legacy {
        match option {
            CopyLegacyOption::Binary => return Err(unsupported("in binary format")),
            CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
            CopyLegacyOption::Null(s) => null = Some(s.clone()),
            CopyLegacyOption::Header => format.header = true,
            CopyLegacyOption::Csv(csv) => {
                format.csv = true;
                for o in csv {
                    match o {
                        CopyLegacyCsvOption::Header => format.header = true,
                        CopyLegacyCsvOption::Quote(c) => quote = Some(*c),
                        CopyLegacyCsvOption::Escape(c) => escape = Some(*c),
                        CopyLegacyCsvOption::ForceQuote(cols) if cols.is_empty() => format.force_quote_all = true,
                        CopyLegacyCsvOption::ForceQuote(cols) => format.force_quote.extend(cols.iter().map(ident_name)),
                        CopyLegacyCsvOption::ForceNotNull(_) => return Err(unsupported("FORCE NOT NULL")),
                    }
                }
            }
            other => return Err(unsupported(&format!("with option {other}"))),
        }
    }
    if format.force_quote.iter().any(|c| c == "*") {
        format.force_quote_all = true;
        format.force_quote.clear();
    }
    if !format.csv
        && let Some(option) = csv_only.first()
    {
        return Err(
            Error::invalid(format!("COPY {option} requires CSV mode")).with_sqlstate(SqlState::FeatureNotSupported)
        );
    }
    if format.csv {
        format.delimiter = ',';
        format.null = String::new();
    }
    if let Some(d) = delimiter {
        format.delimiter = one_byte(d, "delimiter")?;
    }
    if let Some(n) = null {
        format.null = n;
    }
    if let Some(q) = quote {
        format.quote = one_byte(q, "quote")?;
    }
    format.escape = match escape {
        Some(e) => one_byte(e, "escape")?,
        None => format.quote,
    };
    if format.csv && format.delimiter == format.quote {
        return Err(
            Error::invalid("COPY delimiter and quote must be different").with_sqlstate(SqlState::InvalidParameterValue)
        );
    }
    if !format.csv && format.delimiter == '\\' {
        return Err(
            Error::invalid("COPY delimiter cannot be a backslash").with_sqlstate(SqlState::InvalidParameterValue)
        );
    }
    Ok(format)
}

pub enum CopyPlan {
    In(CopyInPlan),
    Out(CopyOutPlan),
}

pub fn plan_copy(statement: Statement, compat: &CompatValues<'_>) -> Result<CopyPlan> {
    let Statement::Copy { source, to, target, options, legacy_options, .. } = statement else {
        return Err(Error::internal("planning COPY", "not a COPY statement"));
    };
    match &target {
        CopyTarget::Stdin | CopyTarget::Stdout => {}
        CopyTarget::File { .. } => {
            return Err(Error::permission_denied(
                "COPY to or from a file on the server is not allowed; use COPY … FROM STDIN / TO STDOUT (psql's \\copy) or the files API",
            ));
        }
        CopyTarget::Program { .. } => return Err(Error::permission_denied("COPY to or from a program is not allowed")),
    }
    let format = format_of(&options, &legacy_options)?;
    if !to {
        let CopySource::Table { table_name: name, columns } = source else {
            return Err(Error::invalid("COPY FROM loads a table, not a query").with_sqlstate(SqlState::SyntaxError));
        };
        return Ok(CopyPlan::In(CopyInPlan {
            table: table_name(&name)?,
            columns: columns.iter().map(ident_name).collect(),
            format,
        }));
    }
    // COPY … TO STDOUT is a read: the same checks as the SELECT it stands for.
    let select = match source {
        CopySource::Query(query) => Statement::Query(query),
        CopySource::Table { table_name: name, columns } => {
            let name = table_name(&name)?;
            let list = if columns.is_empty() {
                "*".to_owned()
            } else {
                columns.iter().map(|c| quote_ident(&ident_name(c))).collect::<Vec<_>>().join(", ")
            };
            let sql = format!("SELECT {list} FROM {name}");
            super::parse(&sql)?.into_iter().next().ok_or_else(|| Error::internal("planning COPY", "no statement"))?
        }
    };
    let query = query::plan_query(select, compat, "COPY")?;
    Ok(CopyPlan::Out(CopyOutPlan { query, format }))
}

/// A workspace text that is one COPY statement (after any leading comments), as parsed.
fn workspace_copy(sql: &str) -> Option<Statement> {
    let first = crate::engine::after_leading_comments(sql).get(..4)?;
    if !first.eq_ignore_ascii_case("copy") {
        return None;
    }
    let mut statements = super::parse(sql).ok()?;
    match statements.as_slice() {
        [Statement::Copy { .. }] => statements.pop(),
        _ => None,
    }
}

/// A workspace's `COPY table [(columns)] FROM STDIN`: the table (named as in the workspace), the
/// columns the data fills and the format. `None`: not such a COPY (one from a file goes to
/// DuckDB, whose sandbox refuses files).
pub fn workspace_copy_in(sql: &str) -> Option<Result<CopyInPlan>> {
    let Statement::Copy { source, options, legacy_options, to: false, target: CopyTarget::Stdin, .. } =
        workspace_copy(sql)?
    else {
        return None;
    };
    let CopySource::Table { table_name: name, columns } = source else {
        return Some(Err(Error::invalid("COPY FROM loads a table, not a query").with_sqlstate(SqlState::SyntaxError)));
    };
    Some((|| {
        Ok(CopyInPlan {
            table: table_name(&name)?,
            columns: columns.iter().map(ident_name).collect(),
            format: format_of(&options, &legacy_options)?,
        })
    })())
}

/// A workspace's `COPY … TO STDOUT`: the query it stands for, as workspace SQL (the table's
/// rows, or the query as this parser rendered it), the format, and for a query its text as the
/// client wrote it (between the parentheses), which DuckDB must read as it reads the rendering.
/// `None`: not such a COPY (a COPY from STDIN or to a file goes to DuckDB, whose sandbox
/// refuses files).
pub fn workspace_copy_out(sql: &str) -> Option<Result<(String, CopyFormat, Option<String>)>> {
    let Statement::Copy { source, options, legacy_options, to: true, target: CopyTarget::Stdout, .. } =
        workspace_copy(sql)?
    else {
        return None;
    };
    let format = match format_of(&options, &legacy_options) {
        Ok(format) => format,
        Err(e) => return Some(Err(e)),
    };
    let (query, written) = match source {
        CopySource::Query(query) => {
            let start = sql.find('(')? + 1;
            // the query's closing parenthesis is the last one before STDOUT
            let end = sql[..sql.to_ascii_lowercase().rfind("stdout")?].rfind(')')?;
            (query.to_string(), Some(sql.get(start..end)?.to_owned()))
        }
        CopySource::Table { table_name, columns } => {
            let list = if columns.is_empty() {
                "*".to_owned()
            } else {
                columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            (format!("SELECT {list} FROM {table_name}"), None)
        }
    };
    Some(Ok((query, format, written)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(sql: &str) -> Result<CopyFormat> {
        match super::super::parse(sql)?.remove(0) {
            Statement::Copy { options, legacy_options, .. } => format_of(&options, &legacy_options),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn options_in_both_spellings() {
        let f = format("COPY t FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NA')").unwrap();
        assert!(f.csv && f.header);
        assert_eq!((f.delimiter, f.null.as_str(), f.quote, f.escape), (';', "NA", '"', '"'));
        let f = format("COPY t FROM STDIN csv header").unwrap();
        assert!(f.csv && f.header);
        assert_eq!((f.delimiter, f.null.as_str()), (',', ""));
        let f = format("COPY t FROM STDIN").unwrap();
        assert!(!f.csv && !f.header);
        assert_eq!((f.delimiter, f.null.as_str()), ('\t', "\\N"));
        assert_eq!(format("COPY t FROM STDIN (FORMAT binary)").unwrap_err().sqlstate(), "0A000");
        assert_eq!(format("COPY t FROM STDIN (QUOTE '''')").unwrap_err().sqlstate(), "0A000");
        assert_eq!(format("COPY t FROM STDIN (FORMAT csv, DELIMITER '\"')").unwrap_err().sqlstate(), "22023");
    }
}
