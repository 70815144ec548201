//! `export_table` and `preview_table`: selected, filtered and ordered rows out of a table.

use super::filters::column_named;
use super::*;

/// `export_table`: which rows and columns, and how the file is written.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub target: TableName,
    pub search_path: Vec<String>,
    pub parquet: bool,
    /// `none`, `gzip` or `zstd`.
    pub compression: String,
    pub columns: Vec<String>,
    /// Structured filters: `[{"column": "id", "operator": "eq", "values": ["1", "2"]}]`.
    pub filters: Vec<Filter>,
    pub order_by: Vec<OrderBy>,
    pub limit: Option<i64>,
    pub changed_since: Option<i64>,
    pub changed_until: Option<i64>,
    /// The exported file's name on the sidecar (default `<bucket>.<table>.<extension>`).
    pub file_name: Option<String>,
    /// Tags of the exported file besides `export`.
    pub tags: Vec<String>,
    /// Rows where any column, as text, contains this (case-insensitive).
    pub fulltext: Option<String>,
}

/// The SELECT of an export over `data_ref` with its bound values.
pub(super) fn export_select(
    data_ref: &str,
    table: &TableRecord,
    request: &ExportRequest,
) -> Result<(String, Vec<Param>)> {
    let column = |name: &str| column_named(table, name);
    let selected: Vec<&ColumnRecord> = if request.columns.is_empty() {
        table.columns.iter().collect()
    } else {
        request.columns.iter().map(|c| column(c)).collect::<Result<_>>()?
    };
    let mut params = Vec::new();
    let mut conditions =
        filter_conditions(table, &request.filters, request.changed_since, request.changed_until, &mut params)?;
    if let Some(text) = &request.fulltext {
        let all: Vec<&ColumnRecord> = table.columns.iter().collect();
        conditions.extend(fulltext_condition(&all, text, &mut params));
    }
    let mut sql = format!(
        "SELECT {} FROM {data_ref}",
        selected.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
    );
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    if !request.order_by.is_empty() {
        let order: Vec<String> = request
            .order_by
            .iter()
            .map(|o| {
                column(&o.column).map(|c| {
                    let key = match o.cast {
                        Some(t) => format!("TRY_CAST({} AS {t})", quote_ident(&c.name)),
                        None => quote_ident(&c.name),
                    };
                    // a value that does not convert (NULL) sorts last either way
                    format!("{key}{} NULLS LAST", if o.descending { " DESC" } else { "" })
                })
            })
            .collect::<Result<_>>()?;
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(limit) = request.limit {
        if limit < 0 {
            return Err(Error::invalid("limit must not be negative").with_sqlstate(SqlState::InvalidParameterValue));
        }
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok((sql, params))
}

impl Storage {
    /// `export_table`: writes the selected rows to a new sidecar file of the project.
    pub async fn export_table(&self, ctx: SessionContext, request: ExportRequest) -> Result<(FileRecord, i64)> {
        if let Some(name) = &request.file_name {
            crate::storage::files::validate_file_name(name)
                .map_err(|e| e.with_sqlstate(SqlState::InvalidParameterValue))?;
        }
        crate::storage::files::validate_tags(&request.tags)
            .map_err(|e| e.with_sqlstate(SqlState::InvalidParameterValue))?;
        let (project_id, branch_id) = crate::storage::tables::session_branch(&ctx)?;
        let compression = match request.compression.to_ascii_lowercase().as_str() {
            "" | "none" => "none",
            "gzip" | "gz" => "gzip",
            "zstd" => "zstd",
            other => {
                return Err(Error::invalid(format!("compression must be none, gzip or zstd, not '{other}'"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
        };
        let storage = self.clone();
        let started = Instant::now();
        self.blocking(move |inner| {
            let (bucket, table, file) = inner.catalog.read(|tx| {
                let Some((bucket, table)) =
                    inner.find_table(tx, project_id, branch_id, &request.target, &request.search_path)?
                else {
                    return Err(inner.not_a_table(tx, project_id, branch_id, &request.target, &request.search_path)?);
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
            let (select, params) = export_select(&file.data_ref(), &table, &request)?;
            let extension = match (request.parquet, compression) {
                (true, _) => "parquet".to_owned(),
                (false, "none") => "csv".to_owned(),
                (false, "gzip") => "csv.gz".to_owned(),
                (false, other) => format!("csv.{other}"),
            };
            let name =
                request.file_name.clone().unwrap_or_else(|| format!("{}.{}.{extension}", bucket.full_name(), table.name));
            let tags: Vec<String> = std::iter::once("export".to_owned())
                .chain(request.tags.iter().filter(|t| t.as_str() != "export").cloned())
                .collect();
            let (id, part) =
                inner.catalog.write(|tx| storage.begin_server_file(tx, project_id, &name, &tags, &ctx.user))?;
            let options = if request.parquet {
                format!("FORMAT parquet, COMPRESSION {}", if compression == "none" { "snappy" } else { compression })
            } else {
                format!("FORMAT csv, HEADER true, COMPRESSION {compression}")
            };
            let rows = match inner.engine.export(&file, &select, &params, &part, &options, &Canceller::default()) {
                Ok(rows) => rows as i64,
                Err(e) => {
                    storage.abandon_server_file(project_id, id);
                    metrics::counter!("duckstore_exports_total", "format" => if request.parquet { "parquet" } else { "csv" }, "outcome" => "error").increment(1);
                    return Err(e);
                }
            };
            let record = match storage.finish_server_file(project_id, id) {
                Ok(r) => r,
                Err(e) => {
                    storage.abandon_server_file(project_id, id);
                    return Err(e);
                }
            };
            inner.catalog.write(|tx| {
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "export",
                    ("table", format!("{}.{}", bucket.full_name(), table.name)),
                    json!({"file_id": record.id, "rows": rows}),
                )
            })?;
            metrics::counter!("duckstore_exports_total", "format" => if request.parquet { "parquet" } else { "csv" }, "outcome" => "ok").increment(1);
            metrics::counter!("duckstore_rows_exported_total").increment(rows as u64);
            metrics::histogram!("duckstore_export_duration_seconds").record(started.elapsed().as_secs_f64());
            Ok((record, rows))
        })
        .await
    }
}

impl Storage {
    /// `preview_table`: at most 1 000 rows of a table (100 unless `limit` says), selected,
    /// filtered and ordered as `export_table` does, the change-time bounds included, as text.
    pub async fn preview_table(
        &self,
        ctx: SessionContext,
        mut request: ExportRequest,
    ) -> Result<crate::storage::TextRows> {
        let limit = request.limit.unwrap_or(100);
        if !(0..=1000).contains(&limit) {
            return Err(
                Error::invalid("limit must be between 0 and 1000").with_sqlstate(SqlState::InvalidParameterValue)
            );
        }
        request.limit = Some(limit);
        let readable =
            self.resolve_reads(ctx, vec![request.target.clone()], request.search_path.clone()).await?.remove(0);
        let (sql, params) = export_select(&readable.file.data_ref(), &readable.table, &request)?;
        let query = crate::engine::Query {
            home: crate::engine::Place::Project(readable.file.project_id),
            sql,
            params,
            relations: vec![],
            tables: vec![readable.file],
            origin: crate::engine::SqlOrigin::Server,
            checks: None,
            labels: vec![],
        };
        let stream = self.engine().query(query, &Canceller::default()).await?;
        crate::storage::TextRows::collect(stream).await
    }
}
