//! Keboola's filter language: structured filters, full-text search, change-time bounds and
//! typed ordering, as bound SQL conditions.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Filter {
    pub column: String,
    #[serde(default = "default_operator")]
    pub operator: String,
    pub values: Vec<String>,
    /// Compare as this type instead of the column's own (Keboola's dataType): `INTEGER`,
    /// `BIGINT`, `DOUBLE`, `REAL`, `DECIMAL`, `TIMESTAMP`; `STRING` or none: the column's type.
    /// A column value that does not convert matches nothing.
    #[serde(default)]
    pub data_type: Option<String>,
}

/// The SQL type a filter's `data_type` compares as (`None`: the column's own type).
pub(super) fn filter_cast(data_type: Option<&str>) -> Result<Option<&'static str>> {
    Ok(match data_type.map(str::to_ascii_uppercase).as_deref() {
        None | Some("STRING") => None,
        Some("INTEGER") => Some("INTEGER"),
        Some("BIGINT") => Some("BIGINT"),
        Some("DOUBLE") => Some("DOUBLE"),
        Some("REAL") => Some("REAL"),
        Some("DECIMAL") => Some("DECIMAL(38,9)"),
        Some("TIMESTAMP") => Some("TIMESTAMP"),
        Some(other) => {
            return Err(Error::invalid(format!(
                "unknown filter data_type '{other}': use STRING, INTEGER, BIGINT, DOUBLE, REAL, DECIMAL or TIMESTAMP"
            ))
            .with_sqlstate(SqlState::InvalidParameterValue));
        }
    })
}

/// `(col ILIKE '%text%' OR …)` over `columns` as text, the text bound: Keboola's fulltextSearch
/// (over every column of the table, exported or not).
pub(crate) fn fulltext_condition(columns: &[&ColumnRecord], text: &str, params: &mut Vec<Param>) -> Option<String> {
    if text.is_empty() || columns.is_empty() {
        return None;
    }
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '!' | '%' | '_' => vec!['!', c],
            c => vec![c],
        })
        .collect();
    params.push(Param::Text(format!("%{escaped}%")));
    let n = params.len();
    let matches: Vec<String> =
        columns.iter().map(|c| format!("CAST({} AS VARCHAR) ILIKE ${n} ESCAPE '!'", quote_ident(&c.name))).collect();
    Some(format!("({})", matches.join(" OR ")))
}

pub(super) fn default_operator() -> String {
    "eq".into()
}

/// Parses `where => '[{"column": …, "operator": …, "values": […]}]'`.
pub fn parse_filters(text: &str) -> Result<Vec<Filter>> {
    serde_json::from_str::<Vec<Filter>>(text).map_err(|e| {
        Error::invalid(format!("where must be a JSON list of {{\"column\", \"operator\", \"values\"}} filters: {e}"))
            .with_sqlstate(SqlState::InvalidParameterValue)
    })
}

/// One key of an export's order: a column, its direction, and the type to sort it as
/// (Keboola's ExportOrderBy.dataType; `None`: the column's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub column: String,
    pub descending: bool,
    pub cast: Option<&'static str>,
}

/// Parses `order_by => 'name DESC, id, code::INTEGER'` (`::TYPE` sorts the column as that type,
/// types as for a filter's `data_type`; a value that does not convert sorts as NULL).
pub fn parse_order_by(text: &str) -> Result<Vec<OrderBy>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| {
            let mut words = part.split_whitespace();
            let first = words.next().unwrap_or_default();
            let (column, cast) = match first.split_once("::") {
                Some((column, ty)) => (column, filter_cast(Some(ty))?),
                None => (first, None),
            };
            let column = column.trim_matches('"').to_owned();
            // a clear error for what cannot be a column (found by fuzzing: any text was taken
            // for a name, refused only later when no column matched)
            names::validate_column_name(&column)?;
            let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(Error::invalid(format!("order_by: '{other}' is neither ASC nor DESC"))
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
            };
            if let Some(extra) = words.next() {
                return Err(Error::invalid(format!("order_by: unexpected '{extra}' after the direction"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
            Ok(OrderBy { column, descending, cast })
        })
        .collect()
}

pub(super) fn column_named<'a>(table: &'a TableRecord, name: &str) -> Result<&'a ColumnRecord> {
    table.columns.iter().find(|c| c.name == name).ok_or_else(|| {
        Error::not_found(format!("column \"{name}\" of table \"{}\" does not exist", table.name))
            .with_sqlstate(SqlState::UndefinedColumn)
    })
}

/// SQL conditions for Keboola's structured filters and change-time bounds, with their values
/// appended to `params` (bound, never spliced).
pub(crate) fn filter_conditions(
    table: &TableRecord,
    filters: &[Filter],
    changed_since: Option<i64>,
    changed_until: Option<i64>,
    params: &mut Vec<Param>,
) -> Result<Vec<String>> {
    let mut conditions = Vec::new();
    for filter in filters {
        let c = column_named(table, &filter.column)?;
        if filter.values.is_empty() {
            return Err(Error::invalid(format!("the filter on \"{}\" has no values", c.name))
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        let cast = filter_cast(filter.data_type.as_deref())?;
        let placeholders: Vec<String> = filter
            .values
            .iter()
            .map(|v| {
                params.push(Param::Text(v.clone()));
                format!("CAST(${} AS {})", params.len(), cast.unwrap_or(&c.sql_type))
            })
            .collect();
        let q = match cast {
            Some(t) => format!("TRY_CAST({} AS {t})", quote_ident(&c.name)),
            None => quote_ident(&c.name),
        };
        let condition = match (filter.operator.to_ascii_lowercase().as_str(), placeholders.as_slice()) {
            ("eq", _) => format!("{q} IN ({})", placeholders.join(", ")),
            ("ne", _) => format!("{q} NOT IN ({})", placeholders.join(", ")),
            ("gt", [p]) => format!("{q} > {p}"),
            ("ge", [p]) => format!("{q} >= {p}"),
            ("lt", [p]) => format!("{q} < {p}"),
            ("le", [p]) => format!("{q} <= {p}"),
            (op @ ("gt" | "ge" | "lt" | "le"), _) => {
                return Err(Error::invalid(format!("the operator {op} takes exactly one value"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
            (other, _) => {
                return Err(Error::invalid(format!("unknown filter operator '{other}': use eq, ne, gt, ge, lt or le"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
        };
        conditions.push(condition);
    }
    let ts = quote_ident(TIMESTAMP_COLUMN);
    if let Some(since) = changed_since {
        params.push(Param::Int(since));
        conditions.push(format!("{ts} >= make_timestamptz(${})", params.len()));
    }
    if let Some(until) = changed_until {
        params.push(Param::Int(until));
        conditions.push(format!("{ts} < make_timestamptz(${})", params.len()));
    }
    Ok(conditions)
}
