//! The CSV side of a load: a source's options, its format sniffed from its first bytes, and
//! the engine's reader over it.

use super::*;

/// How a CSV source is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    pub delimiter: String,
    pub quote: String,
    pub escape: String,
    pub header: bool,
    /// The texts that mean NULL in every column; empty: an empty field is an empty string in
    /// text columns and NULL in the others (Keboola's convention).
    pub null_strings: Vec<String>,
    /// Lines skipped at the start of each file, before the header (Keboola's ignored lines
    /// beyond the header).
    pub skip_lines: u32,
    /// Text columns where an empty field is NULL rather than '' (with the default null
    /// convention only; Keboola's convertEmptyValuesToNullOnColumns).
    pub empty_as_null: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ",".into(),
            quote: "\"".into(),
            escape: "\"".into(),
            header: true,
            null_strings: vec![],
            skip_lines: 0,
            empty_as_null: vec![],
        }
    }
}

impl CsvOptions {
    pub fn validate(&self) -> Result<()> {
        let one_char = |name: &str, v: &str, may_be_empty: bool| {
            let n = v.chars().count();
            // Control characters other than tab cannot stand in a CSV option, and a NUL cannot
            // reach the engine at all (found by the csv_options fuzz target: delimiter '\0').
            if v.chars().any(|c| c.is_control() && c != '\t') {
                return Err(Error::invalid(format!("{name} cannot be a control character"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
            if n == 1 || (may_be_empty && n == 0) {
                Ok(())
            } else {
                Err(Error::invalid(format!("{name} must be a single character"))
                    .with_sqlstate(SqlState::InvalidParameterValue))
            }
        };
        one_char("the delimiter", &self.delimiter, false)?;
        one_char("the quote", &self.quote, true)?;
        one_char("the escape", &self.escape, true)?;
        if self.delimiter == self.quote {
            return Err(Error::invalid("the delimiter and the quote must differ")
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        if !self.empty_as_null.is_empty() && !self.null_strings.is_empty() {
            return Err(Error::invalid(
                "empty_as_null applies to the default null convention; with null_strings, list '' among them instead",
            )
            .with_sqlstate(SqlState::InvalidParameterValue));
        }
        if self.null_strings.iter().any(|s| s.contains('\0')) {
            return Err(Error::invalid("a null string cannot hold a NUL character")
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        Ok(())
    }
}

/// The file's format from its first bytes: Parquet's magic, gzip's, or text (CSV).
pub(crate) fn sniff(path: &std::path::Path) -> Result<(bool, bool)> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| Error::internal("opening a file", e))?;
    let n = file.read(&mut head).map_err(|e| Error::internal("reading a file", e))?;
    let parquet = n == 4 && &head == b"PAR1";
    let gzip = n >= 2 && head[..2] == [0x1f, 0x8b];
    Ok((parquet, gzip))
}

/// `read_csv(…)`/`read_parquet(…)` over the source, with the given (name, type) columns for CSV.
pub(crate) fn reader_sql(
    source: &LoadSource,
    csv_columns: Option<&[(String, String)]>,
    text_columns: &[String],
) -> String {
    let path = match source.paths.as_slice() {
        [one] => quote_literal(&one.to_string_lossy()),
        many => {
            format!("[{}]", many.iter().map(|p| quote_literal(&p.to_string_lossy())).collect::<Vec<_>>().join(", "))
        }
    };
    match &source.format {
        SourceFormat::Parquet => format!("read_parquet({path})"),
        SourceFormat::Csv(o) => {
            let mut sql = format!(
                "read_csv({path}, header = {}, delim = {}, quote = {}, escape = {}, compression = '{}', \
                 allow_quoted_nulls = false, strict_mode = true",
                o.header,
                quote_literal(&o.delimiter),
                quote_literal(&o.quote),
                quote_literal(&o.escape),
                if source.gzip { "gzip" } else { "none" }
            );
            if o.skip_lines > 0 {
                sql.push_str(&format!(", skip = {}", o.skip_lines));
            }
            match o.null_strings.as_slice() {
                [null] => sql.push_str(&format!(", nullstr = {}", quote_literal(null))),
                [_, _, ..] => {
                    let list: Vec<String> = o.null_strings.iter().map(|n| quote_literal(n)).collect();
                    sql.push_str(&format!(", nullstr = [{}]", list.join(", ")));
                }
                [] => {
                    sql.push_str(", nullstr = ''");
                    if !text_columns.is_empty() {
                        let list: Vec<String> = text_columns.iter().map(|c| quote_literal(c)).collect();
                        sql.push_str(&format!(", force_not_null = [{}]", list.join(", ")));
                    }
                }
            }
            match csv_columns {
                Some(columns) => {
                    let list: Vec<String> =
                        columns.iter().map(|(n, t)| format!("{}: {}", quote_literal(n), quote_literal(t))).collect();
                    sql.push_str(&format!(", auto_detect = false, columns = {{{}}}", list.join(", ")));
                }
                None => sql.push_str(", all_varchar = true, sample_size = 1"),
            }
            sql.push(')');
            sql
        }
    }
}
