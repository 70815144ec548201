//! Read-only storage access from a workspace (created with `read_only_storage => true`).
//!
//! A workspace instance never opens a table file (design.md R3: a writable file lives in one
//! instance). Instead the table function `duckstore_storage_scan(bucket, table)` asks the storage
//! layer, which resolves and authorizes the name as the workspace's principal, for the table's
//! current rows; they are read in the storage instance and cross over as Arrow batches, a few at
//! a time. Each scan reads the state committed when it starts; writers are never blocked.

use std::sync::{Arc, Mutex, RwLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field,
};

use super::QueryStream;
use crate::error::{Error, Result, SqlState};

pub const STORAGE_SCAN_FUNCTION: &str = "duckstore_storage_scan";

/// What a workspace reads storage tables through. The storage layer implements it; every call
/// resolves and authorizes the name anew. Called on a thread that may block.
pub trait StorageSource: Send + Sync {
    /// The table's visible columns.
    fn schema(&self, bucket: &str, table: &str) -> Result<SchemaRef>;
    /// Starts reading the table's current rows.
    fn scan(&self, bucket: &str, table: &str) -> Result<QueryStream>;
}

/// A workspace instance's access to storage: none until a session of a workspace with
/// `read_only_storage` installs its source.
#[derive(Clone, Default)]
pub struct StorageAccess(Arc<RwLock<Option<Arc<dyn StorageSource>>>>);

impl StorageAccess {
    pub fn install(&self, source: Arc<dyn StorageSource>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    fn source(&self) -> std::result::Result<Arc<dyn StorageSource>, Box<dyn std::error::Error>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            tagged(&Error::permission_denied(
                "this workspace has no access to storage tables (create it with read_only_storage => true)",
            ))
        })
    }
}

/// Carries an error's SQLSTATE through DuckDB, whose table-function errors are plain text;
/// `errors::map_duckdb_message` reads it back.
fn tagged(e: &Error) -> Box<dyn std::error::Error> {
    format!("{}{}]: {}", STORAGE_ERROR_TAG, e.sqlstate(), e.message()).into()
}

pub const STORAGE_ERROR_TAG: &str = "duckstore[";

fn access<'a>(extra: *const StorageAccess) -> &'a StorageAccess {
    // SAFETY: the extra info is the StorageAccess given at registration; DuckDB keeps it alive
    // for as long as the function exists.
    unsafe { &*extra }
}

pub struct ScanBind {
    bucket: String,
    table: String,
    source: Arc<dyn StorageSource>,
    /// The column types declared to DuckDB; every batch must carry exactly these.
    types: Vec<arrow::datatypes::DataType>,
}

pub struct ScanState {
    inner: Mutex<Cursor>,
}

struct Cursor {
    stream: QueryStream,
    batch: Option<RecordBatch>,
    offset: usize,
}

pub struct StorageScanFunction;

impl VTab for StorageScanFunction {
    type BindData = ScanBind;
    type InitData = ScanState;

    fn bind(bind: &BindInfo) -> std::result::Result<Self::BindData, Box<dyn std::error::Error>> {
        contained(|| {
            let source = access(bind.get_extra_info::<StorageAccess>()).source()?;
            // A NULL argument must be refused before anything reads it as text: DuckDB's
            // conversion of a NULL value throws a C++ exception, which aborts the process.
            let (bucket, table) = (bind.get_parameter(0), bind.get_parameter(1));
            if bucket.is_null() || table.is_null() {
                return Err(tagged(
                    &Error::invalid(format!("{STORAGE_SCAN_FUNCTION}(bucket, table) needs both names"))
                        .with_sqlstate(SqlState::NullValueNotAllowed),
                ));
            }
            let (bucket, table) = (bucket.to_string(), table.to_string());
            let schema = source.schema(&bucket, &table).map_err(|e| tagged(&e))?;
            for field in schema.fields() {
                if !passes(field.data_type()) {
                    return Err(tagged(&Error::unsupported(format!(
                        "column \"{}\" has type {}, which {STORAGE_SCAN_FUNCTION} cannot pass; cast it in a view",
                        field.name(),
                        field.data_type()
                    ))));
                }
                bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
            }
            let types = schema.fields().iter().map(|f| f.data_type().clone()).collect();
            Ok(ScanBind { bucket, table, source, types })
        })
    }

    fn init(init: &InitInfo) -> std::result::Result<Self::InitData, Box<dyn std::error::Error>> {
        contained(|| {
            // SAFETY: DuckDB hands the bind data this function's bind produced.
            let bind = unsafe { &*init.get_bind_data::<ScanBind>() };
            let stream = bind.source.scan(&bind.bucket, &bind.table).map_err(|e| tagged(&e))?;
            Ok(ScanState { inner: Mutex::new(Cursor { stream, batch: None, offset: 0 }) })
        })
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        contained(|| scan_chunk(func, output))
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Varchar), LogicalTypeHandle::from(LogicalTypeId::Varchar)])
    }
}

/// Runs a callback DuckDB makes into Rust so that nothing unwinds across the C boundary (which
/// aborts the process): a panic becomes the statement's error.
fn contained<T>(
    f: impl FnOnce() -> std::result::Result<T, Box<dyn std::error::Error>>,
) -> std::result::Result<T, Box<dyn std::error::Error>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(tagged(&Error::internal("reading a storage table", "the scan failed"))))
}

/// Arrow types the scan hands to DuckDB: scalars, and lists and structs of them. MAP, UNION and
/// the rest are refused (a MAP column's conversion threw inside DuckDB and aborted the process).
fn passes(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as T;
    if let T::List(f) | T::LargeList(f) | T::FixedSizeList(f, _) = t {
        return passes(f.data_type());
    }
    if let T::Struct(fields) = t {
        return fields.iter().all(|f| passes(f.data_type()));
    }
    matches!(
        t,
        T::Boolean
            | T::Int8
            | T::Int16
            | T::Int32
            | T::Int64
            | T::UInt8
            | T::UInt16
            | T::UInt32
            | T::UInt64
            | T::Float32
            | T::Float64
            | T::Decimal128(..)
            | T::Utf8
            | T::LargeUtf8
            | T::Binary
            | T::LargeBinary
            | T::Date32
            | T::Time64(_)
            | T::Timestamp(..)
    )
}

fn scan_chunk(
    func: &TableFunctionInfo<StorageScanFunction>,
    output: &mut DataChunkHandle,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    {
        let mut cursor = func.get_init_data().inner.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: duckdb_vector_size only reads a compile-time constant.
        let vector_size = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
        loop {
            if let Some(batch) = &cursor.batch
                && cursor.offset < batch.num_rows()
            {
                let len = (batch.num_rows() - cursor.offset).min(vector_size);
                let slice = batch.slice(cursor.offset, len);
                cursor.offset += len;
                record_batch_to_duckdb_data_chunk(&slice, output)?;
                return Ok(());
            }
            // DuckDB calls this on its own threads, never on an async one.
            match cursor.stream.batches.blocking_recv() {
                // Writing a batch into vectors of other types throws inside DuckDB (a MAP
                // column described one way and streamed another aborted the process).
                Some(Ok(batch))
                    if batch.schema().fields().len() != func.get_bind_data().types.len()
                        || batch
                            .schema()
                            .fields()
                            .iter()
                            .zip(&func.get_bind_data().types)
                            .any(|(f, t)| f.data_type() != t) =>
                {
                    return Err(tagged(&Error::unsupported(format!(
                        "{STORAGE_SCAN_FUNCTION} cannot pass these columns as described; cast them in a view"
                    ))));
                }
                Some(Ok(batch)) => {
                    cursor.batch = Some(batch);
                    cursor.offset = 0;
                }
                Some(Err(e)) => return Err(tagged(&e)),
                None => {
                    output.set_len(0);
                    return Ok(());
                }
            }
        }
    }
}
