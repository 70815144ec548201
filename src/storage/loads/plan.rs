//! Load planning: which source column fills which table column, and the INSERT that does it.

use super::*;

/// Matches a source column name to a table column: exactly, else ignoring case when that is
/// unambiguous.
pub(super) fn match_column<'a>(columns: &'a [ColumnRecord], name: &str) -> Option<&'a ColumnRecord> {
    columns.iter().find(|c| c.name == name).or_else(|| {
        let mut found = columns.iter().filter(|c| c.name.eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    })
}

/// The INSERT of a load: source columns in file order bound to table columns.
pub(super) struct LoadPlan {
    /// Table columns the source fills, in source order.
    pub(super) targets: Vec<ColumnRecord>,
    /// The SELECT producing them (cast to the table's types) from the source.
    pub(super) select: String,
}

pub(super) fn plan_load(
    engine: &crate::engine::Engine,
    table: &TableRecord,
    request: &LoadRequest,
) -> Result<LoadPlan> {
    let source = &request.source;
    let columns = &table.columns;
    // Text columns keep an empty field as '' (Keboola's convention), except those the load
    // names in `empty_as_null`.
    let empty_as_null: &[String] = match &source.format {
        SourceFormat::Csv(o) => &o.empty_as_null,
        SourceFormat::Parquet => &[],
    };
    for name in empty_as_null {
        if !columns.iter().any(|c| &c.name == name) {
            return Err(Error::not_found(format!(
                "empty_as_null: column \"{name}\" is not a column of table \"{}\"",
                table.name
            ))
            .with_sqlstate(SqlState::UndefinedColumn));
        }
    }
    let text_columns = |targets: &[ColumnRecord], names: &[String]| -> Vec<String> {
        targets
            .iter()
            .zip(names)
            .filter(|(c, _)| names::is_text_type(&c.sql_type) && !empty_as_null.contains(&c.name))
            .map(|(_, n)| n.clone())
            .collect()
    };
    let unknown = |name: &str| {
        Error::not_found(format!("column \"{name}\" of {} is not a column of table \"{}\"", source.label, table.name))
            .with_sqlstate(SqlState::UndefinedColumn)
            .with_hint(format!(
                "the table has {}",
                columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
    };
    // Source column names (as the reader will call them) and the table columns they fill.
    let (source_names, targets): (Vec<String>, Vec<ColumnRecord>) = match (&request.columns, &source.format) {
        (ColumnBinding::ByName, format) => {
            let described = engine.describe_columns(&format!("SELECT * FROM {}", reader_sql(source, None, &[])))?;
            let mut seen = HashSet::new();
            let mut pairs = Vec::with_capacity(described.len());
            for (name, _) in described {
                if request.keep_timestamps && name == TIMESTAMP_COLUMN {
                    let reader_name = match format {
                        SourceFormat::Parquet => name,
                        SourceFormat::Csv(_) => format!("c{}", pairs.len()),
                    };
                    pairs.push((reader_name, timestamp_target()));
                    continue;
                }
                let column = match_column(columns, &name).ok_or_else(|| unknown(&name))?;
                if !seen.insert(column.name.clone()) {
                    return Err(Error::invalid(format!(
                        "column \"{}\" appears twice in {}",
                        column.name, source.label
                    ))
                    .with_sqlstate(SqlState::DuplicateColumn));
                }
                let reader_name = match format {
                    SourceFormat::Parquet => name,
                    SourceFormat::Csv(_) => format!("c{}", pairs.len()),
                };
                pairs.push((reader_name, column.clone()));
            }
            pairs.into_iter().unzip()
        }
        (ColumnBinding::Positional(names), _) => {
            let chosen: Vec<ColumnRecord> = if names.is_empty() {
                columns.clone()
            } else {
                let mut seen = HashSet::new();
                let mut chosen = Vec::with_capacity(names.len());
                for name in names {
                    let column = match_column(columns, name).ok_or_else(|| unknown(name))?;
                    if !seen.insert(column.name.clone()) {
                        return Err(Error::invalid(format!("column \"{}\" is named twice", column.name))
                            .with_sqlstate(SqlState::DuplicateColumn));
                    }
                    chosen.push(column.clone());
                }
                chosen
            };
            let names = (0..chosen.len()).map(|i| format!("c{i}")).collect();
            (names, chosen)
        }
    };
    if request.keep_timestamps && !targets.iter().any(|c| c.name == TIMESTAMP_COLUMN) {
        return Err(Error::not_found(format!(
            "{} has no \"{TIMESTAMP_COLUMN}\" column to keep the change times from (it needs a header, or Parquet)",
            source.label
        ))
        .with_sqlstate(SqlState::UndefinedColumn));
    }
    if targets.iter().all(|c| c.name == TIMESTAMP_COLUMN) {
        return Err(
            Error::invalid(format!("{} has no columns", source.label)).with_sqlstate(SqlState::BadCopyFileFormat)
        );
    }
    let reader = match &source.format {
        SourceFormat::Csv(_) => {
            let typed: Vec<(String, String)> =
                source_names.iter().zip(&targets).map(|(n, c)| (n.clone(), c.sql_type.clone())).collect();
            reader_sql(source, Some(&typed), &text_columns(&targets, &source_names))
        }
        SourceFormat::Parquet => reader_sql(source, None, &[]),
    };
    let projections: Vec<String> = source_names
        .iter()
        .zip(&targets)
        .map(|(n, c)| match source.format {
            SourceFormat::Csv(_) => quote_ident(n),
            SourceFormat::Parquet => format!("CAST({} AS {})", quote_ident(n), c.sql_type),
        })
        .collect();
    let mut select = format!("SELECT {} FROM {reader}", projections.join(", "));
    let filled: Vec<&str> = targets.iter().map(|c| c.name.as_str()).collect();
    if !table.primary_key.is_empty() {
        if let Some(missing) = table.primary_key.iter().find(|k| !filled.contains(&k.as_str())) {
            return Err(Error::invalid(format!(
                "{} lacks the primary key column \"{missing}\" of table \"{}\"",
                source.label, table.name
            ))
            .with_sqlstate(SqlState::NotNullViolation));
        }
        // Duplicates inside the source: keep the last (update) or the first (insert) row of
        // each key, in file order; `row_number() OVER ()` follows the reader's order.
        let order = match request.dedup {
            Dedup::Update => Some("DESC"),
            Dedup::Insert => Some("ASC"),
            Dedup::Fail => None,
        };
        if let Some(order) = order {
            let keys: Vec<String> = table
                .primary_key
                .iter()
                .map(|k| quote_ident(&format!("c{}", filled.iter().position(|f| f == k).unwrap_or(0))))
                .collect();
            let numbered: Vec<String> = projections
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{p} AS {}", quote_ident(&format!("c{i}"))))
                .collect();
            let plain: Vec<String> = (0..projections.len()).map(|i| quote_ident(&format!("c{i}"))).collect();
            select = format!(
                "SELECT {} FROM (SELECT {}, row_number() OVER () AS __line FROM {reader}) \
                 QUALIFY row_number() OVER (PARTITION BY {} ORDER BY __line {order}) = 1",
                plain.join(", "),
                numbered.join(", "),
                keys.join(", ")
            );
        }
    }
    Ok(LoadPlan { targets, select })
}

/// The hidden change-time column as a load target (a load that keeps the source's times).
pub(super) fn timestamp_target() -> ColumnRecord {
    ColumnRecord {
        name: TIMESTAMP_COLUMN.into(),
        sql_type: "TIMESTAMPTZ".into(),
        base_type: "TIMESTAMP".into(),
        nullable: false,
        default_sql: None,
    }
}

/// The INSERT statement of a load into `data_ref`.
pub(super) fn insert_sql(
    data_ref: &str,
    table: &TableRecord,
    plan: &LoadPlan,
    incremental: bool,
    dedup: Dedup,
) -> String {
    let mut names: Vec<String> = plan.targets.iter().map(|c| quote_ident(&c.name)).collect();
    let kept = plan.targets.iter().any(|c| c.name == TIMESTAMP_COLUMN);
    let mut sql = if kept {
        format!("INSERT INTO {data_ref} ({}) SELECT * FROM ({}) AS source", names.join(", "), plan.select)
    } else {
        names.push(quote_ident(TIMESTAMP_COLUMN));
        format!("INSERT INTO {data_ref} ({}) SELECT *, now() FROM ({}) AS source", names.join(", "), plan.select)
    };
    if incremental && !table.primary_key.is_empty() {
        let keys: Vec<String> = table.primary_key.iter().map(|k| quote_ident(k)).collect();
        let updates: Vec<String> = plan
            .targets
            .iter()
            .filter(|c| !table.primary_key.contains(&c.name) && c.name != TIMESTAMP_COLUMN)
            .map(|c| format!("{0} = excluded.{0}", quote_ident(&c.name)))
            .chain(std::iter::once(format!("{0} = excluded.{0}", quote_ident(TIMESTAMP_COLUMN))))
            .collect();
        match dedup {
            Dedup::Update => {
                sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET {}", keys.join(", "), updates.join(", ")))
            }
            Dedup::Insert => sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", "))),
            Dedup::Fail => {}
        }
    }
    sql
}

/// The storage type a column of Arrow data becomes in a table created for it.
pub(super) fn storage_type(t: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType as D;
    match t {
        D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16 => "INTEGER".into(),
        D::Int64 | D::UInt32 | D::UInt64 => "BIGINT".into(),
        D::Float16 | D::Float32 | D::Float64 => "DOUBLE".into(),
        D::Decimal128(p, s) if *p <= 38 && *s >= 0 => format!("DECIMAL({p},{s})"),
        D::Boolean => "BOOLEAN".into(),
        D::Date32 | D::Date64 => "DATE".into(),
        D::Timestamp(_, None) => "TIMESTAMP".into(),
        D::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
        _ => "STRING".into(),
    }
}
