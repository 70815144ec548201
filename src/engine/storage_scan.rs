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
use crate::error::{Error, Result};

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
        let source = access(bind.get_extra_info::<StorageAccess>()).source()?;
        let bucket = bind.get_parameter(0).to_string();
        let table = bind.get_parameter(1).to_string();
        let schema = source.schema(&bucket, &table).map_err(|e| tagged(&e))?;
        for field in schema.fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(ScanBind { bucket, table, source })
    }

    fn init(init: &InitInfo) -> std::result::Result<Self::InitData, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB hands the bind data this function's bind produced.
        let bind = unsafe { &*init.get_bind_data::<ScanBind>() };
        let stream = bind.source.scan(&bind.bucket, &bind.table).map_err(|e| tagged(&e))?;
        Ok(ScanState { inner: Mutex::new(Cursor { stream, batch: None, offset: 0 }) })
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
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

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Varchar), LogicalTypeHandle::from(LogicalTypeId::Varchar)])
    }
}
