//! `profile_table`: statistics of a table's columns with quality hints, stored in the catalog
//! and shown by `duckstore.table_profiles`.

use serde_json::{Value, json};

use super::names::quote_ident;
use super::tables::{TableName, session_branch};
use super::{SessionContext, Storage};
use crate::catalog::{ColumnRecord, TableRecord};
use crate::clock::now_micros;
use crate::engine::TableFile;
use crate::error::Result;

/// How many most frequent values a profile keeps per column.
const TOP_VALUES: usize = 5;

fn is_numeric(c: &ColumnRecord) -> bool {
    let t = c.sql_type.to_ascii_uppercase();
    ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "REAL", "FLOAT"].contains(&t.as_str())
        || t.starts_with("DECIMAL")
}

fn is_text(c: &ColumnRecord) -> bool {
    super::names::is_text_type(&c.sql_type)
}

fn number(v: &Option<String>) -> Value {
    v.as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The one-scan statistics query: `count(*)`, then per column a fixed set of text values.
const PER_COLUMN: usize = 11;

fn statistics_sql(table: &TableRecord, data_ref: &str) -> String {
    let mut parts = vec!["count(*)::VARCHAR".to_owned()];
    for c in &table.columns {
        let q = quote_ident(&c.name);
        parts.push(format!("count({q})::VARCHAR"));
        parts.push(format!("count(DISTINCT {q})::VARCHAR"));
        parts.push(format!("min({q})::VARCHAR"));
        parts.push(format!("max({q})::VARCHAR"));
        if is_numeric(c) {
            parts.push(format!("avg({q})::VARCHAR"));
            parts.push(format!("stddev_samp({q})::VARCHAR"));
            for q_at in ["0.25", "0.5", "0.75"] {
                parts.push(format!("quantile_cont({q}, {q_at})::VARCHAR"));
            }
        } else {
            parts.extend(std::iter::repeat_n("NULL".to_owned(), 5));
        }
        if is_text(c) {
            parts.push(format!("min(length({q}))::VARCHAR"));
            parts.push(format!("max(length({q}))::VARCHAR"));
        } else {
            parts.extend(std::iter::repeat_n("NULL".to_owned(), 2));
        }
    }
    format!("SELECT {} FROM {data_ref}", parts.join(", "))
}

impl Storage {
    /// Computes, stores and answers a profile of the table (any token that may read it; a
    /// linked table's profile is answered, not stored).
    pub async fn profile_table(&self, ctx: SessionContext, target: TableName) -> Result<Value> {
        let (project_id, branch_id) = session_branch(&ctx)?;
        self.blocking(move |inner| {
            let (bucket, table, file) = inner.catalog.read(|tx| {
                let Some((bucket, table)) = inner.find_table(tx, project_id, branch_id, &target, &[])? else {
                    return Err(inner.not_a_table(tx, project_id, branch_id, &target, &[])?);
                };
                let source = inner.readable_source(tx, &ctx, &bucket)?;
                let file = TableFile {
                    project_id: source.project_id,
                    branch_id: source.branch_id,
                    table_id: table.id,
                    version: table.version,
                };
                Ok((bucket, table, file))
            })?;
            let reads = std::slice::from_ref(&file);
            let home = crate::engine::Place::Project(file.project_id);
            let stats = inner.engine.read_text_rows(home, reads, &statistics_sql(&table, &file.data_ref()), &[])?;
            let row = stats.into_iter().next().unwrap_or_default();
            let rows = int(row.first().unwrap_or(&None));
            let mut columns = Vec::with_capacity(table.columns.len());
            let mut candidate_keys = Vec::new();
            for (i, c) in table.columns.iter().enumerate() {
                let at = |k: usize| row.get(1 + i * PER_COLUMN + k).cloned().unwrap_or(None);
                let (count, distinct) = (int(&at(0)), int(&at(1)));
                let nulls = rows - count;
                let mut hints = Vec::new();
                if rows > 0 && nulls * 10 >= rows * 9 {
                    hints.push("mostly_null");
                }
                if count > 0 && distinct == 1 {
                    hints.push("constant");
                }
                if rows > 0 && nulls == 0 && distinct == rows {
                    hints.push("candidate_key");
                    candidate_keys.push(c.name.clone());
                }
                let mut top = Vec::new();
                if is_text(c) || c.sql_type.eq_ignore_ascii_case("BOOLEAN") {
                    let q = quote_ident(&c.name);
                    let sql = format!(
                        "SELECT {q}::VARCHAR, count(*)::VARCHAR FROM {} WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT {TOP_VALUES}",
                        file.data_ref()
                    );
                    for r in inner.engine.read_text_rows(home, reads, &sql, &[])? {
                        top.push(json!({"value": r.first().cloned().flatten(), "count": int(r.get(1).unwrap_or(&None))}));
                    }
                }
                columns.push(json!({
                    "name": c.name,
                    "type": c.sql_type,
                    "base_type": c.base_type,
                    "count": count,
                    "nulls": nulls,
                    "distinct": distinct,
                    "min": at(2),
                    "max": at(3),
                    "mean": number(&at(4)),
                    "stddev": number(&at(5)),
                    "q25": number(&at(6)),
                    "q50": number(&at(7)),
                    "q75": number(&at(8)),
                    "min_length": at(9).as_deref().and_then(|s| s.parse::<i64>().ok()),
                    "max_length": at(10).as_deref().and_then(|s| s.parse::<i64>().ok()),
                    "top_values": top,
                    "hints": hints,
                }));
            }
            let mut hints = Vec::new();
            if table.primary_key.is_empty() {
                hints.push(if candidate_keys.is_empty() {
                    "no_primary_key".to_owned()
                } else {
                    format!("no_primary_key; candidate keys: {}", candidate_keys.join(", "))
                });
            }
            if rows == 0 {
                hints.push("empty".to_owned());
            }
            let profiled_at = now_micros();
            let profile = json!({
                "table": format!("{}.{}", bucket.full_name(), table.name),
                "rows": rows,
                "bytes": table.byte_count,
                "primary_key": table.primary_key,
                "profiled_at": crate::clock::format_micros(profiled_at),
                "hints": hints,
                "columns": columns,
            });
            // Kept only in the table's own project: a table another project shares is profiled
            // for the asker, never written into its owner's catalog.
            if file.project_id == project_id {
                inner.catalog.write(|tx| tx.save_profile(table.id, profiled_at, &ctx.user, &profile.to_string()))?;
            }
            metrics::counter!("duckstore_profiles_total").increment(1);
            Ok(profile)
        })
        .await
    }
}
