//! Server-built relations (system views, catalog compatibility tables) handed to DuckDB for one
//! query. The gateway rewrites a reference such as `duckstore.projects` into
//! `duckstore_relation(<handle>)`; the handle is random, lives only while its query runs, and the
//! function itself is never callable from user SQL (the gateway's function allow-list).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field,
};

use arrow::record_batch::RecordBatch;

pub const RELATION_FUNCTION: &str = "duckstore_relation";

#[derive(Default)]
pub struct RelationRegistry {
    batches: DashMap<u64, RecordBatch>,
}

impl RelationRegistry {
    /// Registers `batch` until the returned guard drops.
    pub fn register(self: &Arc<Self>, batch: RecordBatch) -> RelationGuard {
        loop {
            let handle = rand::random::<u64>() >> 1; // fits a BIGINT literal as well
            if let dashmap::Entry::Vacant(slot) = self.batches.entry(handle) {
                slot.insert(batch);
                return RelationGuard { registry: Arc::clone(self), handle };
            }
        }
    }

    fn get(&self, handle: u64) -> Option<RecordBatch> {
        self.batches.get(&handle).map(|b| b.clone())
    }
}

/// Keeps a relation registered; dropping it removes the relation.
pub struct RelationGuard {
    registry: Arc<RelationRegistry>,
    handle: u64,
}

impl RelationGuard {
    pub fn handle(&self) -> u64 {
        self.handle
    }
}

impl Drop for RelationGuard {
    fn drop(&mut self) {
        self.registry.batches.remove(&self.handle);
    }
}

pub struct RelationBind {
    batch: RecordBatch,
}

pub struct RelationScan {
    offset: AtomicUsize,
}

/// The DuckDB table function behind `duckstore_relation(handle)`.
pub struct RelationFunction;

impl VTab for RelationFunction {
    type BindData = RelationBind;
    type InitData = RelationScan;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        // SAFETY: the extra info is the Arc<RelationRegistry> given at registration; DuckDB keeps
        // it alive for as long as the function exists.
        let registry = unsafe { &*bind.get_extra_info::<Arc<RelationRegistry>>() };
        let handle = bind.get_parameter(0).to_int64();
        let batch = u64::try_from(handle).ok().and_then(|h| registry.get(h)).ok_or("no such relation")?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(RelationBind { batch })
    }

    fn init(_: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        Ok(RelationScan { offset: AtomicUsize::new(0) })
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), Box<dyn std::error::Error>> {
        let batch = &func.get_bind_data().batch;
        // SAFETY: duckdb_vector_size only reads a compile-time constant.
        let vector_size = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
        let offset = func.get_init_data().offset.fetch_add(vector_size, Ordering::Relaxed);
        if offset >= batch.num_rows() {
            output.set_len(0);
            return Ok(());
        }
        let len = (batch.num_rows() - offset).min(vector_size);
        record_batch_to_duckdb_data_chunk(&batch.slice(offset, len), output)?;
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Bigint)])
    }
}
