//! Rows crossing from one engine instance to another as DuckDB data chunks: another project's
//! table a session may read (a linked bucket), an upload read by the file instance into a
//! project's table, a project's rows written by the file instance into an export. The reading
//! instance sees them through `duckstore_stream(key)`, granted to one connection; the chunks'
//! vectors are referenced, not copied.

use std::sync::Arc;

use super::Param;
use super::ffi::{Chunk, ChunkSource, FfiResult, LogicalType, RawConn, RawResult, SourceFactory};
use super::instance::Instance;
use super::tables::{Lease, TableFile};

/// A running query of another instance, read chunk by chunk.
struct QuerySource {
    // Field order is drop order: the result before its connection; the instance last.
    result: RawResult<'static>,
    _conn: Box<RawConn>,
    _lease: Vec<Lease>,
    _instance: Arc<Instance>,
}

impl ChunkSource for QuerySource {
    fn next_chunk(&mut self) -> FfiResult<Option<Chunk>> {
        self.result.next_chunk()
    }
}

/// Starts `sql` (server SQL, one statement) with `params` in `instance`, holding `leases`.
pub(crate) fn start(
    instance: &Arc<Instance>,
    sql: &str,
    params: &[Param],
    leases: Vec<Lease>,
) -> FfiResult<Box<dyn ChunkSource>> {
    let conn = Box::new(instance.raw_connection()?);
    // SAFETY: the connection lives in a Box beside the result and is dropped after it (field
    // order of QuerySource), so the borrow the result carries stays valid.
    let conn_ref: &'static RawConn = unsafe { &*(conn.as_ref() as *const RawConn) };
    let extracted = conn_ref.extract(sql)?;
    if extracted.count() != 1 {
        return Err("Internal Error: a stream runs one statement".into());
    }
    let result = extracted.prepare(0)?.stream(params)?;
    Ok(Box::new(QuerySource { result, _conn: conn, _lease: leases, _instance: Arc::clone(instance) }))
}

/// The columns `sql` answers in `instance`, as the stream function declares them.
pub(crate) fn columns_of(instance: &Instance, sql: &str) -> FfiResult<Vec<(String, Arc<LogicalType>)>> {
    let conn = instance.raw_connection()?;
    let extracted = conn.extract(sql)?;
    let stmt = extracted.prepare(0)?;
    Ok(stmt.columns().into_iter().map(|(n, t)| (n, Arc::new(t))).collect())
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Another project's table file, read from that project's instance.
pub(crate) struct ForeignTable {
    pub instance: Arc<Instance>,
    pub file: TableFile,
    pub columns: Arc<Vec<(String, Arc<LogicalType>)>>,
}

impl ForeignTable {
    pub(super) fn new(instance: Arc<Instance>, file: TableFile) -> crate::error::Result<ForeignTable> {
        // Its columns, read with the file leased in its own instance.
        let _lease = instance.lease_local(&file, false)?;
        let columns = columns_of(&instance, &format!("SELECT * FROM {}", file.data_ref()))
            .map_err(|e| crate::error::Error::internal("reading another project's table", e))?;
        Ok(ForeignTable { instance, file, columns: Arc::new(columns) })
    }

    /// Starts a read of the projected columns (a row id DuckDB asks for is any BIGINT).
    pub(super) fn factory(&self) -> SourceFactory {
        let instance = Arc::clone(&self.instance);
        let file = self.file.clone();
        let columns = Arc::clone(&self.columns);
        Arc::new(move |projection: &[Option<usize>]| {
            let select: Vec<String> = projection
                .iter()
                .map(|c| match c.and_then(|i| columns.get(i)) {
                    Some((name, _)) => quote(name),
                    None => "CAST(0 AS BIGINT)".to_owned(),
                })
                .collect();
            let select = if select.is_empty() { vec!["CAST(0 AS BIGINT)".to_owned()] } else { select };
            let lease = instance.lease_local(&file, false).map_err(|e| e.message().to_owned())?;
            start(&instance, &format!("SELECT {} FROM {}", select.join(", "), file.data_ref()), &[], vec![lease])
        })
    }
}
