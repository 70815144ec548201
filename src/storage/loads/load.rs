//! Running a load: `COPY … FROM STDIN`, `import_table`, `create_table_from_file`, and the
//! staged and streamed writes behind them.

use super::plan::{LoadPlan, insert_sql, match_column, plan_load, storage_type};
use super::*;
use crate::storage::schema::Destruction;
use crate::storage::transactions::Rebuild;

impl Storage {
    /// Loads a stream of Arrow batches into a table (created from their schema when missing),
    /// with the semantics of `import_table`: a full load replaces, incremental appends or
    /// upserts. The rows are staged as Parquet parts of about a million rows under `tmp/`, so
    /// a large source never sits whole in memory, then loaded like an imported file.
    pub async fn load_stream(
        &self,
        ctx: SessionContext,
        target: TableName,
        mut stream: crate::engine::QueryStream,
        how: StreamLoad,
        label: String,
        (mut transaction, canceller): (Option<&mut crate::storage::Transaction>, &Canceller),
    ) -> Result<LoadResult> {
        const PART_ROWS: usize = 1 << 20;
        let schema = stream.schema.clone();
        let staging = StagingDir::create(
            self.engine().data_dir().join("tmp").join(format!("load-{:016x}", rand::random::<u64>())),
        )?;
        let mut pending = Vec::new();
        let mut pending_rows = 0;
        let mut parts = 0;
        loop {
            let next = stream.next_batch().await.transpose()?;
            if let Some(batch) = next.as_ref() {
                pending_rows += batch.num_rows();
                pending.push(batch.clone());
            }
            let last = next.is_none();
            if pending_rows >= PART_ROWS || (last && (parts == 0 || !pending.is_empty())) {
                let batch = arrow::compute::concat_batches(&schema, &pending)
                    .map_err(|e| Error::internal("gathering rows", e))?;
                let relation = self.engine().register_relation(crate::engine::Place::Files, batch)?;
                let part = staging.path.join(format!("part-{parts:06}.parquet"));
                self.engine()
                    .execute(
                        crate::engine::Place::Files,
                        format!(
                            "COPY (SELECT * FROM {}({})) TO {} (FORMAT parquet)",
                            crate::engine::RELATION_FUNCTION,
                            relation.handle(),
                            quote_literal(&part.to_string_lossy())
                        ),
                    )
                    .await?;
                drop(relation);
                pending.clear();
                pending_rows = 0;
                parts += 1;
            }
            if last {
                break;
            }
        }
        let exists = !self
            .resolve_reads(ctx.clone(), vec![target.clone()], vec![])
            .await
            .is_err_and(|e| e.state() == SqlState::UndefinedTable);
        let mut created = false;
        if !exists {
            let bucket = target.schema.clone().ok_or_else(|| {
                Error::invalid("name the table with its bucket, like 'out.c-x.t'").with_sqlstate(SqlState::InvalidName)
            })?;
            let columns = schema
                .fields()
                .iter()
                .filter(|f| !(how.keep_timestamps && f.name() == TIMESTAMP_COLUMN))
                .map(|f| {
                    names::validate_column_name(f.name())?;
                    Ok(crate::storage::ColumnSpec {
                        name: f.name().clone(),
                        type_name: storage_type(f.data_type()),
                        not_null: false,
                        default_sql: None,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let spec = crate::storage::TableSpec {
                bucket,
                name: target.name.clone(),
                columns,
                primary_key: vec![],
                description: String::new(),
            };
            // a table another session created meanwhile is loaded, and kept if the load fails
            let made = match transaction.as_deref_mut() {
                // in a block, a failure aborts it and its ROLLBACK takes the table
                Some(transaction) => {
                    self.create_table_in(transaction, ctx.clone(), spec, false, canceller).await.map(|_| false)
                }
                None => self.create_table(ctx.clone(), spec, false).await.map(|_| true),
            };
            match made {
                Ok(made) => created = made,
                Err(e) if e.state() == SqlState::DuplicateTable => {}
                Err(e) => return Err(e),
            }
        }
        let request = LoadRequest {
            target: target.clone(),
            search_path: vec![],
            source: LoadSource {
                paths: vec![staging.path.join("part-*.parquet")],
                format: SourceFormat::Parquet,
                gzip: false,
                label,
            },
            columns: ColumnBinding::ByName,
            incremental: how.incremental,
            dedup: how.dedup,
            keep_timestamps: how.keep_timestamps,
            operation: "unload",
        };
        let result = match transaction {
            Some(transaction) => self.load_table_in(transaction, ctx.clone(), request, canceller.clone()).await,
            None => self.load_table(ctx.clone(), request, canceller.clone()).await,
        };
        drop(staging);
        if result.is_err() && created {
            // nothing half-made stays behind: the table made for the load goes with it
            let _ = self.drop_table(ctx, target, vec![], true).await;
        }
        result
    }

    /// Checks a `COPY … FROM STDIN` before any data flows: the table exists, the session may
    /// write it, the named columns are its own. Answers how many columns the data has.
    pub async fn copy_columns(
        &self,
        ctx: &SessionContext,
        target: &TableName,
        search_path: &[String],
        columns: &[String],
    ) -> Result<usize> {
        let (project_id, branch_id) = require_write(ctx)?;
        let (target, path, columns) = (target.clone(), search_path.to_vec(), columns.to_vec());
        self.blocking(move |inner| {
            let (_, table) =
                inner.catalog.read(|tx| inner.writable_table(tx, project_id, branch_id, &target, &path))?;
            for c in &columns {
                match_column(&table.columns, c).ok_or_else(|| {
                    Error::not_found(format!("column \"{c}\" of relation \"{}\" does not exist", table.name))
                        .with_sqlstate(SqlState::UndefinedColumn)
                })?;
            }
            Ok(if columns.is_empty() { table.columns.len() } else { columns.len() })
        })
        .await
    }

    /// Loads a file into a table as one atomic write; see the module documentation.
    pub async fn load_table(
        &self,
        ctx: SessionContext,
        request: LoadRequest,
        canceller: Canceller,
    ) -> Result<LoadResult> {
        let locked =
            self.lock_target_cancellable(&ctx, &request.target, &request.search_path, Some(&canceller)).await?;
        let storage = self.clone();
        let project = ctx.project_id();
        self.blocking_in(project, move |inner| storage.load_locked(inner, &ctx, &locked, &request, &canceller)).await
    }

    fn load_locked(
        &self,
        inner: &crate::storage::Inner,
        ctx: &SessionContext,
        locked: &LockedTable,
        request: &LoadRequest,
        canceller: &Canceller,
    ) -> Result<LoadResult> {
        let started = Instant::now();
        let (project_id, branch_id) = require_write(ctx)?;
        let (bucket, table) = locked.resolve(inner, ctx)?;
        let format_label = match request.source.format {
            SourceFormat::Csv(_) => "csv",
            SourceFormat::Parquet => "parquet",
        };
        let outcome = (|| {
            let current = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
            if request.incremental {
                let (current, in_place) = inner.writable_file(&table, current)?;
                let outcome = append_rows(inner, &table, &current, request, canceller);
                drop(in_place);
                let outcome = outcome?;
                return Ok((outcome, current.version));
            }
            let direct = plan_load(&inner.engine, &table, request)?;
            // Full load: the next version of the file, filled, then switched to.
            inner.before_destruction(ctx, &table, &current, crate::storage::schema::Destruction::FullLoad)?;
            let next = TableFile { version: inner.catalog.read(|tx| tx.next_version(table.id))?, ..current };
            inner.engine.remove_table_file(&next).ok();
            let sql = insert_sql(&next.data_ref(), &table, &direct, false, request.dedup);
            let ddl = table_ddl(&table.columns, &table.primary_key);
            match inner.engine.load_new_file(&next, &ddl, &sql, canceller) {
                Ok(outcome) => Ok((outcome, next.version)),
                Err(e) => {
                    let _ = inner.engine.remove_table_file(&next);
                    Err(e)
                }
            }
        })();
        let replaced = !request.incremental;
        let (outcome, version) = match outcome {
            Ok(done) => done,
            Err(e) => {
                metrics::counter!("duckstore_loads_total", "operation" => request.operation, "format" => format_label, "outcome" => "error").increment(1);
                return Err(e);
            }
        };
        let imported = outcome.affected.first().copied().unwrap_or(0) as i64;
        let full_name = format!("{}.{}", bucket.full_name(), table.name);
        let committed = inner.catalog.write(|tx| {
            tx.update_table_stats(table.id, version, outcome.row_count, outcome.byte_count, now_micros())?;
            inner.audit(
                tx,
                ctx,
                Some(project_id),
                request.operation,
                ("table", full_name.clone()),
                json!({
                    "source": request.source.label,
                    "format": format_label,
                    "incremental": request.incremental,
                    "rows": imported,
                }),
            )
        });
        if let Err(e) = committed {
            if replaced {
                let _ =
                    inner.engine.remove_table_file(&TableFile { project_id, branch_id, table_id: table.id, version });
            }
            return Err(e);
        }
        if replaced {
            // The old version goes once its readers are done, unless a snapshot keeps it.
            inner.retire_version(
                &table,
                &TableFile { project_id, branch_id, table_id: table.id, version: table.version },
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        metrics::counter!("duckstore_loads_total", "operation" => request.operation, "format" => format_label, "outcome" => "ok").increment(1);
        metrics::counter!("duckstore_rows_written_total", "operation" => request.operation).increment(imported as u64);
        metrics::histogram!("duckstore_load_duration_seconds", "operation" => request.operation).record(seconds);
        Ok(LoadResult {
            imported_rows: imported,
            table_rows: outcome.row_count,
            table_bytes: outcome.byte_count,
            seconds,
        })
    }

    /// `COPY … FROM STDIN` inside a transaction: the rows go to the transaction's version of
    /// the table (see `storage::transactions`).
    pub async fn load_table_in(
        &self,
        transaction: &mut crate::storage::Transaction,
        ctx: SessionContext,
        request: LoadRequest,
        canceller: Canceller,
    ) -> Result<LoadResult> {
        let started = Instant::now();
        let (target, path, operation) = (request.target.clone(), request.search_path.clone(), request.operation);
        let statement_canceller = canceller.clone();
        if !request.incremental {
            // the whole table replaced: a new private version filled as a full load fills one
            let (session, target) = (ctx.clone(), target.clone());
            let build = move |inner: &crate::storage::Inner, table: &TableRecord, r: &Rebuild| {
                let committed = TableFile { version: table.version, ..r.source.clone() };
                // (an automatic snapshot keeps the committed version with its committed schema)
                if !r.created && !r.altered {
                    inner.before_destruction(&session, table, &committed, Destruction::FullLoad)?;
                }
                let direct = plan_load(&inner.engine, table, &request)?;
                let sql = insert_sql(&r.next.data_ref(), table, &direct, false, request.dedup);
                let ddl = table_ddl(&table.columns, &table.primary_key);
                Ok((None, inner.engine.load_new_file(&r.next, &ddl, &sql, &statement_canceller)?))
            };
            let written = self.rebuild_in(transaction, &ctx, (&target, &path), operation, &canceller, build).await?;
            return Ok(LoadResult {
                imported_rows: written.affected as i64,
                table_rows: written.row_count,
                table_bytes: 0,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        let work = move |inner: &crate::storage::Inner, table: &TableRecord, file: &TableFile, _: &_| {
            append_rows(inner, table, file, &request, &statement_canceller)
        };
        let written =
            self.write_in_transaction(transaction, &ctx, &target, &path, operation, false, &canceller, work).await?;
        Ok(LoadResult {
            imported_rows: written.affected as i64,
            table_rows: written.row_count,
            table_bytes: 0,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Sidecar files of the session's project as one load source: one file, or the slices of a
    /// sliced file (read as one; they must share a format and compression).
    pub async fn file_source(
        &self,
        ctx: &SessionContext,
        file_ids: &[i64],
        format: Option<SourceFormat>,
    ) -> Result<LoadSource> {
        const MAX_SLICES: usize = 1000;
        if file_ids.is_empty() {
            return Err(Error::invalid("name the file to load (file_id, or file_ids for slices)")
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        if file_ids.len() > MAX_SLICES {
            return Err(Error::invalid(format!("a load reads at most {MAX_SLICES} slices"))
                .with_sqlstate(SqlState::InvalidParameterValue));
        }
        if file_ids.iter().collect::<HashSet<_>>().len() != file_ids.len() {
            return Err(Error::invalid("file_ids names a file twice").with_sqlstate(SqlState::InvalidParameterValue));
        }
        let mut paths = Vec::with_capacity(file_ids.len());
        let mut kind = None;
        for &file_id in file_ids {
            let stored = self.file(ctx.clone(), file_id).await?;
            let path = crate::storage::files::file_path(self.engine().data_dir(), stored.record.project_id, file_id);
            let sniff_path = path.clone();
            let this = self.blocking(move |_| sniff(&sniff_path)).await?;
            if kind.is_some_and(|k| k != this) {
                return Err(Error::invalid(format!(
                    "file {file_id} differs in format or compression from the other slices"
                ))
                .with_sqlstate(SqlState::InvalidParameterValue));
            }
            kind = Some(this);
            paths.push(path);
        }
        let (parquet, gzip) = kind.unwrap_or((false, false));
        let format = match format {
            Some(f) => f,
            None if parquet => SourceFormat::Parquet,
            None => SourceFormat::Csv(CsvOptions::default()),
        };
        let label = match file_ids {
            [one] => format!("file {one}"),
            many => format!("files {}", many.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
        };
        Ok(LoadSource { paths, format, gzip, label })
    }

    /// `create_table_from_file`: a table whose STRING columns come from the CSV header (or the
    /// Parquet schema's names), then a full load of the file.
    pub async fn create_table_from_file(
        &self,
        ctx: SessionContext,
        bucket: String,
        name: String,
        source: LoadSource,
        primary_key: Vec<String>,
    ) -> Result<(TableRecord, LoadResult)> {
        let spec = self.file_table_spec(&ctx, bucket.clone(), name.clone(), &source, primary_key).await?;
        let table = self.create_table(ctx.clone(), spec, false).await?;
        let request = file_load_request(bucket, name, source);
        match self.load_table(ctx.clone(), request.clone(), Canceller::default()).await {
            Ok(result) => Ok((table, result)),
            Err(e) => {
                // Nothing half-made stays behind: the table goes with the failed load.
                let _ = self.drop_table(ctx, request.target, vec![], true).await;
                Err(e)
            }
        }
    }

    /// `create_table_from_file` inside a transaction block: the table is created and loaded
    /// there (a failure aborts the block, whose ROLLBACK takes the table).
    pub async fn create_table_from_file_in(
        &self,
        transaction: &mut crate::storage::Transaction,
        ctx: SessionContext,
        (bucket, name): (String, String),
        source: LoadSource,
        primary_key: Vec<String>,
        canceller: Canceller,
    ) -> Result<LoadResult> {
        let spec = self.file_table_spec(&ctx, bucket.clone(), name.clone(), &source, primary_key).await?;
        self.create_table_in(transaction, ctx.clone(), spec, false, &canceller).await?;
        self.load_table_in(transaction, ctx, file_load_request(bucket, name, source), canceller).await
    }

    /// The table `create_table_from_file` makes: STRING columns named as the file's.
    async fn file_table_spec(
        &self,
        ctx: &SessionContext,
        bucket: String,
        name: String,
        source: &LoadSource,
        primary_key: Vec<String>,
    ) -> Result<crate::storage::TableSpec> {
        require_write(ctx)?;
        let probe = source.clone();
        let columns = self
            .blocking(move |inner| {
                inner.engine.describe_columns(&format!("SELECT * FROM {}", reader_sql(&probe, None, &[])))
            })
            .await?;
        let mut specs = Vec::with_capacity(columns.len());
        for (column, _) in columns {
            names::validate_column_name(&column).map_err(|e| {
                Error::invalid(format!("the file's column \"{column}\" cannot be a column name: {}", e.message()))
                    .with_sqlstate(SqlState::InvalidName)
            })?;
            specs.push(crate::storage::ColumnSpec {
                name: column,
                type_name: "STRING".into(),
                not_null: false,
                default_sql: None,
            });
        }
        Ok(crate::storage::TableSpec { bucket, name, columns: specs, primary_key, description: String::new() })
    }
}

/// The full load of `create_table_from_file`.
fn file_load_request(bucket: String, name: String, source: LoadSource) -> LoadRequest {
    LoadRequest {
        target: TableName { schema: Some(bucket), name },
        search_path: vec![],
        source,
        columns: ColumnBinding::ByName,
        incremental: false,
        dedup: Dedup::Fail,
        keep_timestamps: false,
        operation: "import",
    }
}

/// An incremental load's rows appended to (or upserted into) `file`, a version of `table`. The
/// file instance reads the source (an import never runs where a client's SQL runs) and streams
/// its rows to the table's instance, which inserts them.
fn append_rows(
    inner: &crate::storage::Inner,
    table: &TableRecord,
    file: &TableFile,
    request: &LoadRequest,
    canceller: &Canceller,
) -> Result<crate::engine::WriteOutcome> {
    let direct = plan_load(&inner.engine, table, request)?;
    let plan = LoadPlan {
        select: format!("SELECT * FROM {}('source')", crate::engine::STREAM_FUNCTION),
        targets: direct.targets.clone(),
    };
    let sql = insert_sql(&file.data_ref(), table, &plan, true, request.dedup);
    inner.engine.write_from_files(file, &[(sql, Vec::<Param>::new())], &direct.select, canceller)
}
