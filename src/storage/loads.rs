//! Bulk loads into tables and exports out of them: `COPY … FROM STDIN` (staged to a file
//! first), `import_table` and `create_table_from_file` from sidecar files, `export_table` to a
//! sidecar file. Every load is one atomic write (design.md R1): an incremental load is one
//! engine transaction on the table's file; a full load writes the next version of the file and
//! switches the catalog to it in one step, so readers see the old rows or the new, never none.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;

use super::names::{self, TIMESTAMP_COLUMN, quote_ident, quote_literal};
use super::tables::{LockedTable, TableName, require_write, table_ddl};
use super::{SessionContext, Storage};
use crate::catalog::{ColumnRecord, FileRecord, TableRecord};
use crate::clock::now_micros;
use crate::engine::{Canceller, Param, TableFile};
use crate::error::{Error, Result, SqlState};

/// What a load does with rows whose primary key is already there (in the table or earlier in
/// the same file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// The last row wins (Keboola's incremental load).
    Update,
    /// The first row wins; rows whose key exists are skipped.
    Insert,
    /// A duplicate key fails the load (`23505`).
    Fail,
}

impl std::str::FromStr for Dedup {
    type Err = Error;
    fn from_str(s: &str) -> Result<Dedup> {
        match s.to_ascii_lowercase().as_str() {
            "update" => Ok(Dedup::Update),
            "insert" => Ok(Dedup::Insert),
            "fail" => Ok(Dedup::Fail),
            other => Err(Error::invalid(format!("dedup must be 'update', 'insert' or 'fail', not '{other}'"))),
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFormat {
    Csv(CsvOptions),
    Parquet,
}

/// Which table column each source column fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnBinding {
    /// By the names in the file (a CSV header, Parquet's schema), in any order.
    ByName,
    /// Positionally: these table columns, in file order (all of the table's when empty).
    Positional(Vec<String>),
}

/// The files to load (one, or the slices of one sliced file, read as one), on the engine's
/// side of the data directory.
#[derive(Debug, Clone)]
pub struct LoadSource {
    pub paths: Vec<PathBuf>,
    pub format: SourceFormat,
    pub gzip: bool,
    /// How errors name the source ("COPY", "file 12").
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct LoadRequest {
    pub target: TableName,
    pub search_path: Vec<String>,
    pub source: LoadSource,
    pub columns: ColumnBinding,
    pub incremental: bool,
    pub dedup: Dedup,
    /// Take each row's change time from the source's `_timestamp` column (Keboola's
    /// timestampMode FROM_SOURCE) instead of the time of the load.
    pub keep_timestamps: bool,
    /// The audit operation and metric label (`copy`, `import`).
    pub operation: &'static str,
}

/// How a stream of rows is loaded into a table (`load_stream`).
#[derive(Debug, Clone, Copy)]
pub struct StreamLoad {
    pub incremental: bool,
    pub dedup: Dedup,
    /// The stream carries `_timestamp`, to keep rather than set to now.
    pub keep_timestamps: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadResult {
    pub imported_rows: i64,
    pub table_rows: i64,
    pub table_bytes: i64,
    pub seconds: f64,
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

/// Matches a source column name to a table column: exactly, else ignoring case when that is
/// unambiguous.
fn match_column<'a>(columns: &'a [ColumnRecord], name: &str) -> Option<&'a ColumnRecord> {
    columns.iter().find(|c| c.name == name).or_else(|| {
        let mut found = columns.iter().filter(|c| c.name.eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    })
}

/// The INSERT of a load: source columns in file order bound to table columns.
struct LoadPlan {
    /// Table columns the source fills, in source order.
    targets: Vec<ColumnRecord>,
    /// The SELECT producing them (cast to the table's types) from the source.
    select: String,
}

fn plan_load(engine: &crate::engine::Engine, table: &TableRecord, request: &LoadRequest) -> Result<LoadPlan> {
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
            .filter(|(c, _)| c.sql_type == "VARCHAR" && !empty_as_null.contains(&c.name))
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
fn timestamp_target() -> ColumnRecord {
    ColumnRecord {
        name: TIMESTAMP_COLUMN.into(),
        sql_type: "TIMESTAMPTZ".into(),
        base_type: "TIMESTAMP".into(),
        nullable: false,
        default_sql: None,
    }
}

/// The INSERT statement of a load into `data_ref`.
fn insert_sql(data_ref: &str, table: &TableRecord, plan: &LoadPlan, incremental: bool, dedup: Dedup) -> String {
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
fn storage_type(t: &arrow::datatypes::DataType) -> String {
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
                    Ok(super::ColumnSpec {
                        name: f.name().clone(),
                        type_name: storage_type(f.data_type()),
                        not_null: false,
                        default_sql: None,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let spec = super::TableSpec {
                bucket,
                name: target.name.clone(),
                columns,
                primary_key: vec![],
                description: String::new(),
            };
            // a table another session created meanwhile is loaded, and kept if the load fails
            match self.create_table(ctx.clone(), spec, false).await {
                Ok(_) => created = true,
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
        let result = self.load_table(ctx.clone(), request, Canceller::default()).await;
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
        let locked = self.lock_target(&ctx, &request.target, &request.search_path).await?;
        let storage = self.clone();
        let project = ctx.project_id();
        self.blocking_in(project, move |inner| storage.load_locked(inner, &ctx, &locked, &request, &canceller)).await
    }

    fn load_locked(
        &self,
        inner: &super::Inner,
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
            let direct = plan_load(&inner.engine, &table, request)?;
            // The file instance reads the source (an import never runs where a client's SQL
            // runs): it writes a full load's new file itself; an incremental load's rows it
            // streams to the table's instance, which inserts them.
            let source = direct.select.clone();
            let plan = LoadPlan {
                select: format!("SELECT * FROM {}('source')", crate::engine::STREAM_FUNCTION),
                targets: direct.targets.clone(),
            };
            let current = TableFile { project_id, branch_id, table_id: table.id, version: table.version };
            if request.incremental {
                let current = inner.writable_file(&table, current)?;
                let sql = insert_sql(&current.data_ref(), &table, &plan, true, request.dedup);
                let outcome =
                    inner.engine.write_from_files(&current, &[(sql, Vec::<Param>::new())], &source, canceller)?;
                return Ok((outcome, current.version));
            }
            // Full load: the next version of the file, filled, then switched to.
            inner.before_destruction(ctx, &table, &current, super::schema::Destruction::FullLoad)?;
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
        require_write(&ctx)?;
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
            specs.push(super::ColumnSpec {
                name: column,
                type_name: "STRING".into(),
                not_null: false,
                default_sql: None,
            });
        }
        let spec = super::TableSpec {
            bucket: bucket.clone(),
            name: name.clone(),
            columns: specs,
            primary_key,
            description: String::new(),
        };
        let table = self.create_table(ctx.clone(), spec, false).await?;
        let request = LoadRequest {
            target: TableName { schema: Some(bucket), name },
            search_path: vec![],
            source,
            columns: ColumnBinding::ByName,
            incremental: false,
            dedup: Dedup::Fail,
            keep_timestamps: false,
            operation: "import",
        };
        match self.load_table(ctx.clone(), request.clone(), Canceller::default()).await {
            Ok(result) => Ok((table, result)),
            Err(e) => {
                // Nothing half-made stays behind: the table goes with the failed load.
                let _ = self.drop_table(ctx, request.target, vec![], true).await;
                Err(e)
            }
        }
    }
}

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
fn filter_cast(data_type: Option<&str>) -> Result<Option<&'static str>> {
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

fn default_operator() -> String {
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

fn column_named<'a>(table: &'a TableRecord, name: &str) -> Result<&'a ColumnRecord> {
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

/// The SELECT of an export over `data_ref` with its bound values.
fn export_select(data_ref: &str, table: &TableRecord, request: &ExportRequest) -> Result<(String, Vec<Param>)> {
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
                    format!("{key}{}", if o.descending { " DESC" } else { "" })
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
            super::files::validate_file_name(name).map_err(|e| e.with_sqlstate(SqlState::InvalidParameterValue))?;
        }
        super::files::validate_tags(&request.tags).map_err(|e| e.with_sqlstate(SqlState::InvalidParameterValue))?;
        let (project_id, branch_id) = super::tables::session_branch(&ctx)?;
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
    pub async fn preview_table(&self, ctx: SessionContext, mut request: ExportRequest) -> Result<super::TextRows> {
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
        super::TextRows::collect(stream).await
    }
}

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
        let readable = self.resolve_reads(ctx.clone(), vec![request.source.clone()], vec![]).await?.remove(0);
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
        self.load_stream(ctx, request.target, stream, how, label).await
    }
}

/// A staging directory under `tmp/`, removed with what it holds when dropped (start-up empties
/// `tmp/` after a crash).
struct StagingDir {
    path: std::path::PathBuf,
}

impl StagingDir {
    fn create(path: std::path::PathBuf) -> Result<StagingDir> {
        std::fs::create_dir_all(&path).map_err(|e| Error::internal("creating a staging directory", e))?;
        Ok(StagingDir { path })
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::{CsvOptions, OrderBy, parse_order_by};

    #[test]
    fn csv_options_refuse_control_characters_tab_aside() {
        let with = |delimiter: &str, quote: &str, null: &str| {
            let options = CsvOptions {
                delimiter: delimiter.into(),
                quote: quote.into(),
                null_strings: vec![null.into()],
                ..CsvOptions::default()
            };
            options.validate().map_err(|e| e.sqlstate())
        };
        assert_eq!(with("\t", "\"", ""), Ok(()));
        assert_eq!(with(";", "'", "NULL"), Ok(()));
        // found by fuzzing: a NUL delimiter made reader SQL the engine cannot take
        for bad in ["\0", "\n", "\r", "\x01", "\x7f"] {
            assert_eq!(with(bad, "\"", ""), Err("22023"), "{bad:?}");
            assert_eq!(with(",", bad, ""), Err("22023"), "{bad:?}");
        }
        assert_eq!(with(",", "\"", "a\0b"), Err("22023"));
    }

    fn key(column: &str, descending: bool, cast: Option<&'static str>) -> OrderBy {
        OrderBy { column: column.into(), descending, cast }
    }

    #[test]
    fn order_by_takes_column_names_directions_and_sort_types_only() {
        assert_eq!(parse_order_by("id DESC, name").unwrap(), vec![key("id", true, None), key("name", false, None)]);
        assert_eq!(parse_order_by(r#""id" asc"#).unwrap(), vec![key("id", false, None)]);
        assert_eq!(
            parse_order_by("code::integer DESC, n::DECIMAL, s::STRING").unwrap(),
            vec![key("code", true, Some("INTEGER")), key("n", false, Some("DECIMAL(38,9)")), key("s", false, None)]
        );
        // found by fuzzing: any text was taken for a column name
        for bad in [
            r#""values", ["2", "2"]}: ["2"#,
            "id; DROP TABLE t",
            "id DESC NULLS",
            "_timestamp",
            "id::VARCHAR(3)",
            "id::INTEGER); DROP",
        ] {
            assert!(parse_order_by(bad).is_err(), "{bad}");
        }
    }
}
