//! Server-built relations (system views, catalog compatibility tables) handed to DuckDB. The
//! gateway rewrites a reference such as `duckstore.projects` into `duckstore_relation(<handle>)`;
//! the function is never callable from user SQL (the gateway's function allow-list).
//!
//! A session uses the same handle for the same relation every time, and the rows are read when
//! a statement starts running, not when it is prepared: so the statement text repeats and DuckDB
//! prepares it once, while every run sees the rows registered for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk, to_duckdb_logical_type_for_field,
};

use arrow::record_batch::RecordBatch;

pub const RELATION_FUNCTION: &str = "duckstore_relation";

#[derive(Default)]
pub struct RelationRegistry {
    batches: DashMap<u64, (u64, RecordBatch)>,
    generation: AtomicU64,
}

impl RelationRegistry {
    /// Registers `batch` under a fresh random handle until the guard drops.
    pub fn register(self: &Arc<Self>, batch: RecordBatch) -> RelationGuard {
        loop {
            let handle = rand::random::<u64>() >> 1; // fits a BIGINT literal
            if !self.batches.contains_key(&handle) {
                return self.register_at(handle, batch);
            }
        }
    }

    /// Registers `batch` under `handle` (replacing what was there) until the guard drops.
    pub fn register_at(self: &Arc<Self>, handle: u64, batch: RecordBatch) -> RelationGuard {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        self.batches.insert(handle, (generation, batch));
        RelationGuard { registry: Arc::clone(self), handle, generation }
    }

    fn get(&self, handle: u64) -> Option<RecordBatch> {
        self.batches.get(&handle).map(|b| b.1.clone())
    }
}

/// Keeps a relation registered; dropping it removes the relation unless it was replaced since.
pub struct RelationGuard {
    registry: Arc<RelationRegistry>,
    handle: u64,
    generation: u64,
}

impl RelationGuard {
    pub fn handle(&self) -> u64 {
        self.handle
    }
}

impl Drop for RelationGuard {
    fn drop(&mut self) {
        self.registry.batches.remove_if(&self.handle, |_, (generation, _)| *generation == self.generation);
    }
}

fn registry<'a>(extra: *const Arc<RelationRegistry>) -> &'a RelationRegistry {
    // SAFETY: the extra info is the Arc<RelationRegistry> given at registration; DuckDB keeps
    // it alive for as long as the function exists.
    unsafe { &*extra }
}

pub(super) struct RelationBind {
    handle: u64,
}

pub(super) struct RelationScan {
    batch: RecordBatch,
    offset: AtomicUsize,
}

/// The DuckDB table function behind `duckstore_relation(handle)`.
pub(super) struct RelationFunction;

impl VTab for RelationFunction {
    type BindData = RelationBind;
    type InitData = RelationScan;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let handle = u64::try_from(bind.get_parameter(0).to_int64()).map_err(|_| "no such relation")?;
        let batch = registry(bind.get_extra_info::<Arc<RelationRegistry>>()).get(handle).ok_or("no such relation")?;
        for field in batch.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(RelationBind { handle })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB hands the bind data this function's bind produced.
        let bind = unsafe { &*init.get_bind_data::<RelationBind>() };
        let batch =
            registry(init.get_extra_info::<Arc<RelationRegistry>>()).get(bind.handle).ok_or("no such relation")?;
        // Only the columns the query reads are handed over (a catalog relation has dozens, of
        // thousands of rows, and a query reads a few).
        let columns: Vec<usize> = init.get_column_indices().into_iter().map(|c| c as usize).collect();
        Ok(RelationScan { batch: projected(&batch, &columns)?, offset: AtomicUsize::new(0) })
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), Box<dyn std::error::Error>> {
        let scan = func.get_init_data();
        let batch = &scan.batch;
        // SAFETY: duckdb_vector_size only reads a compile-time constant.
        let vector_size = unsafe { duckdb::ffi::duckdb_vector_size() } as usize;
        let offset = scan.offset.fetch_add(vector_size, Ordering::Relaxed);
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

    fn supports_pushdown() -> bool {
        true
    }
}

/// `batch`'s columns at `columns`, in that order; an index past its columns is DuckDB's row id
/// (asked for when a query reads no column, as `count(*)` does), answered with row numbers.
fn projected(batch: &RecordBatch, columns: &[usize]) -> Result<RecordBatch, arrow::error::ArrowError> {
    if columns.iter().all(|&c| c < batch.num_columns()) {
        return batch.project(columns);
    }
    let rows = batch.num_rows();
    let (fields, arrays): (Vec<arrow::datatypes::FieldRef>, Vec<arrow::array::ArrayRef>) = columns
        .iter()
        .map(|&c| match c < batch.num_columns() {
            true => (batch.schema().fields()[c].clone(), Arc::clone(batch.column(c))),
            false => (
                Arc::new(arrow::datatypes::Field::new("rowid", arrow::datatypes::DataType::Int64, false)),
                Arc::new(arrow::array::Int64Array::from_iter_values(0..rows as i64)) as arrow::array::ArrayRef,
            ),
        })
        .unzip();
    RecordBatch::try_new_with_options(
        Arc::new(arrow::datatypes::Schema::new(fields)),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}
