//! `import_table_from_table`: one storage table's rows loaded into another.

use super::filters::column_named;
use super::*;
use crate::storage::ReadView;

/// `import_table_from_table`: rows of one storage table (mapped columns, filters, a limit)
/// loaded into another with the semantics of `import_table`.
#[derive(Debug, Clone)]
pub struct TableCopyRequest {
    pub target: TableName,
    pub source: TableName,
    /// (source column, destination column); empty: every column under its own name.
    pub columns: Vec<(String, String)>,
    pub filters: Vec<Filter>,
    pub limit: Option<i64>,
    pub changed_since: Option<i64>,
    pub changed_until: Option<i64>,
    pub incremental: bool,
    pub dedup: Dedup,
    /// Keep the source rows' change times (Keboola's timestampMode FROM_SOURCE).
    pub keep_timestamps: bool,
}

impl Storage {
    pub async fn import_table_from_table(&self, ctx: SessionContext, request: TableCopyRequest) -> Result<LoadResult> {
        let (stream, how, label) = self.table_copy_source(&ctx, &request, &ReadView::default()).await?;
        self.load_stream(ctx, request.target, stream, how, label, (None, &Canceller::default())).await
    }

    /// `import_table_from_table` inside a transaction block: the source as the block sees it,
    /// the target written (or created) there.
    pub async fn import_table_from_table_in(
        &self,
        transaction: &mut crate::storage::Transaction,
        ctx: SessionContext,
        request: TableCopyRequest,
        canceller: &Canceller,
    ) -> Result<LoadResult> {
        let view = transaction.read_view();
        let (stream, how, label) = self.table_copy_source(&ctx, &request, &view).await?;
        self.load_stream(ctx, request.target, stream, how, label, (Some(transaction), canceller)).await
    }

    /// The rows `request` copies, as a stream read from the version of the source `view` sees.
    async fn table_copy_source(
        &self,
        ctx: &SessionContext,
        request: &TableCopyRequest,
        view: &ReadView,
    ) -> Result<(crate::engine::QueryStream, StreamLoad, String)> {
        let mut readable = self.resolve_reads(ctx.clone(), vec![request.source.clone()], vec![]).await?.remove(0);
        readable.file = view.file(readable.file)?;
        let table = &readable.table;
        let mut seen = HashSet::new();
        if let Some((_, twice)) = request.columns.iter().find(|(_, to)| !seen.insert(to.as_str())) {
            return Err(Error::invalid(format!("column \"{twice}\" is named twice in columns"))
                .with_sqlstate(SqlState::DuplicateColumn));
        }
        let select: Vec<String> = if request.columns.is_empty() {
            table.columns.iter().map(|c| quote_ident(&c.name)).collect()
        } else {
            request
                .columns
                .iter()
                .map(|(from, to)| {
                    let c = column_named(table, from)?;
                    names::validate_column_name(to)?;
                    Ok(format!("{} AS {}", quote_ident(&c.name), quote_ident(to)))
                })
                .collect::<Result<_>>()?
        };
        let mut select = select;
        if request.keep_timestamps {
            select.push(quote_ident(TIMESTAMP_COLUMN));
        }
        let mut params = Vec::new();
        let conditions =
            filter_conditions(table, &request.filters, request.changed_since, request.changed_until, &mut params)?;
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), readable.file.data_ref());
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        if let Some(limit) = request.limit {
            sql.push_str(&format!(" LIMIT {}", limit.max(0)));
        }
        let query = crate::engine::Query {
            home: crate::engine::Place::Project(readable.file.project_id),
            sql,
            params,
            relations: vec![],
            tables: vec![readable.file.clone()],
            origin: crate::engine::SqlOrigin::Server,
            checks: None,
            labels: vec![],
        };
        // The read feeds the staging writes, which take pool slots of their own: it takes none,
        // so a full pool of such loads cannot wait on itself.
        let engine = self.engine().clone();
        let runtime = tokio::runtime::Handle::current();
        let stream = tokio::task::spawn_blocking(move || engine.query_nested(&runtime, query))
            .await
            .map_err(|e| Error::internal("reading a table", e))??;
        let label = format!("table {}", request.source);
        let how = StreamLoad {
            incremental: request.incremental,
            dedup: request.dedup,
            keep_timestamps: request.keep_timestamps,
        };
        Ok((stream, how, label))
    }
}
