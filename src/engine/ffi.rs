//! A thin, safe layer over the DuckDB C API for what duckdb-rs does not offer: DuckDB's own
//! statement splitting and statement types, streaming data chunks out of one instance into
//! another, and table functions that know which connection calls them.
//!
//! Every callback DuckDB makes into this module is total: a panic is caught and reported to
//! DuckDB as an error, never unwound across the C boundary.

use std::ffi::{CStr, CString, c_char, c_void};
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::{Arc, Mutex};

use duckdb::ffi;

use super::Param;

/// An error DuckDB reported, as its text ("Parser Error: …").
pub type FfiResult<T> = std::result::Result<T, String>;

fn c_string(text: &str) -> FfiResult<CString> {
    CString::new(text).map_err(|_| "Parser Error: the statement contains a NUL character".to_owned())
}

/// Copies a C string DuckDB owns (NULL → `fallback`).
///
/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn text_of(p: *const c_char, fallback: &str) -> String {
    if p.is_null() { fallback.to_owned() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() }
}

/// A connection made through the C API. Closed when dropped.
pub struct RawConn {
    conn: ffi::duckdb_connection,
}

// SAFETY: a connection may move between threads; it is used by one thread at a time (&mut or
// the owner's exclusive use), as DuckDB requires.
unsafe impl Send for RawConn {}

impl RawConn {
    /// Connects to the instance `db`.
    ///
    /// # Safety
    /// `db` must be an open instance that outlives the connection.
    pub unsafe fn connect(db: ffi::duckdb_database) -> FfiResult<RawConn> {
        let mut conn: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: `db` is a live instance; `conn` receives a new handle.
        if unsafe { ffi::duckdb_connect(db, &mut conn) } != ffi::DuckDBSuccess {
            return Err("cannot connect to DuckDB".into());
        }
        Ok(RawConn { conn })
    }

    /// DuckDB's own split of `sql` into statements (its parser, not ours).
    pub fn extract(&self, sql: &str) -> FfiResult<Extracted<'_>> {
        let text = c_string(sql)?;
        let mut extracted: ffi::duckdb_extracted_statements = ptr::null_mut();
        // SAFETY: valid connection and NUL-terminated text; `extracted` is destroyed by Extracted.
        let count = unsafe { ffi::duckdb_extract_statements(self.conn, text.as_ptr(), &mut extracted) };
        let holder = Extracted { conn: self, extracted, count: count as usize };
        if count == 0 {
            // SAFETY: `extracted` was filled by the call above.
            let error = unsafe { ffi::duckdb_extract_statements_error(extracted) };
            if !error.is_null() {
                // SAFETY: a NUL-terminated message owned by `extracted`.
                return Err(unsafe { text_of(error, "Parser Error: cannot parse the statement") });
            }
        }
        Ok(holder)
    }

    /// Runs one statement that answers nothing the caller needs (server SQL).
    pub fn execute(&self, sql: &str) -> FfiResult<usize> {
        let extracted = self.extract(sql)?;
        if extracted.count() != 1 {
            return Err(format!("Invalid Input Error: expected one statement, found {}", extracted.count()));
        }
        extracted.prepare(0)?.execute(&[])
    }

    pub(super) fn handle(&self) -> ffi::duckdb_connection {
        self.conn
    }

    /// Stops whatever this connection runs (callable from any thread through the handle).
    pub fn interrupt_handle(&self) -> RawInterrupt {
        RawInterrupt { conn: self.conn }
    }

    /// The id DuckDB gives this connection (what `current_connection_id()` answers in it).
    pub fn connection_id(&self) -> u64 {
        let mut context: ffi::duckdb_client_context = ptr::null_mut();
        // SAFETY: valid connection; the context is destroyed right after reading its id.
        unsafe {
            ffi::duckdb_connection_get_client_context(self.conn, &mut context);
            let id = ffi::duckdb_client_context_get_connection_id(context);
            ffi::duckdb_destroy_client_context(&mut context);
            id
        }
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        // SAFETY: the handle came from duckdb_connect and is closed once.
        unsafe { ffi::duckdb_disconnect(&mut self.conn) }
    }
}

/// Interrupts a [`RawConn`]'s running query. Valid while the connection lives (the owner keeps
/// the connection alive while any handle can be used).
#[derive(Clone, Copy)]
pub struct RawInterrupt {
    conn: ffi::duckdb_connection,
}

// SAFETY: duckdb_interrupt only sets a flag in the connection's context; it may be called from
// any thread while the connection is open.
unsafe impl Send for RawInterrupt {}
unsafe impl Sync for RawInterrupt {}

impl RawInterrupt {
    pub fn interrupt(&self) {
        // SAFETY: see the type's comment.
        unsafe { ffi::duckdb_interrupt(self.conn) }
    }
}

/// The statements DuckDB found in a text.
pub struct Extracted<'c> {
    conn: &'c RawConn,
    extracted: ffi::duckdb_extracted_statements,
    count: usize,
}

impl<'c> Extracted<'c> {
    pub fn count(&self) -> usize {
        self.count
    }

    /// Prepares (parses and binds) statement `index`.
    pub fn prepare(&self, index: usize) -> FfiResult<RawStmt<'c>> {
        if index >= self.count {
            return Err("Invalid Input Error: no such statement".into());
        }
        let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: valid connection and extracted statements; `stmt` is destroyed by RawStmt even
        // when preparing failed (DuckDB requires that).
        let state =
            unsafe { ffi::duckdb_prepare_extracted_statement(self.conn.conn, self.extracted, index as u64, &mut stmt) };
        let prepared = RawStmt { stmt, _conn: PhantomData };
        if state != ffi::DuckDBSuccess {
            // SAFETY: the error text belongs to the statement and is copied before it is freed.
            return Err(unsafe { text_of(ffi::duckdb_prepare_error(stmt), "cannot prepare the statement") });
        }
        Ok(prepared)
    }
}

impl Drop for Extracted<'_> {
    fn drop(&mut self) {
        // SAFETY: filled by duckdb_extract_statements, destroyed once.
        unsafe { ffi::duckdb_destroy_extracted(&mut self.extracted) }
    }
}

/// What kind of statement DuckDB prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Explain,
    Call,
    Transaction,
    Other,
}

impl StatementKind {
    /// Whether the statement only reads (it cannot add data to a database).
    pub fn reads_only(self) -> bool {
        matches!(self, StatementKind::Select | StatementKind::Explain | StatementKind::Transaction)
    }
}

/// A prepared statement of a [`RawConn`].
pub struct RawStmt<'c> {
    stmt: ffi::duckdb_prepared_statement,
    _conn: PhantomData<&'c RawConn>,
}

impl<'c> RawStmt<'c> {
    pub fn kind(&self) -> StatementKind {
        // SAFETY: a prepared statement handle.
        match unsafe { ffi::duckdb_prepared_statement_type(self.stmt) } {
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SELECT => StatementKind::Select,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_INSERT => StatementKind::Insert,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_UPDATE => StatementKind::Update,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DELETE => StatementKind::Delete,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPLAIN => StatementKind::Explain,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CALL => StatementKind::Call,
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_TRANSACTION => StatementKind::Transaction,
            _ => StatementKind::Other,
        }
    }

    /// The names and types of the columns the statement answers (known once prepared).
    pub fn columns(&self) -> Vec<(String, LogicalType)> {
        // SAFETY: a prepared statement handle; names are copied and freed, types owned.
        unsafe {
            (0..ffi::duckdb_prepared_statement_column_count(self.stmt))
                .map(|i| {
                    let name_ptr = ffi::duckdb_prepared_statement_column_name(self.stmt, i);
                    let name = text_of(name_ptr, "?column?");
                    if !name_ptr.is_null() {
                        ffi::duckdb_free(name_ptr as *mut c_void);
                    }
                    (name, LogicalType(ffi::duckdb_prepared_statement_column_logical_type(self.stmt, i)))
                })
                .collect()
        }
    }

    pub fn parameter_count(&self) -> usize {
        // SAFETY: a prepared statement handle.
        unsafe { ffi::duckdb_nparams(self.stmt) as usize }
    }

    pub fn bind(&mut self, params: &[Param]) -> FfiResult<()> {
        if params.len() != self.parameter_count() {
            return Err(format!(
                "Invalid Input Error: the statement has {} parameters but {} values were bound",
                self.parameter_count(),
                params.len()
            ));
        }
        for (i, p) in params.iter().enumerate() {
            let index = (i + 1) as u64;
            // SAFETY: valid statement; pointers and lengths describe live buffers for the call.
            let state = unsafe {
                match p {
                    Param::Null => ffi::duckdb_bind_null(self.stmt, index),
                    Param::Bool(v) => ffi::duckdb_bind_boolean(self.stmt, index, *v),
                    Param::Int(v) => ffi::duckdb_bind_int64(self.stmt, index, *v),
                    Param::Float(v) => ffi::duckdb_bind_double(self.stmt, index, *v),
                    Param::Text(v) => {
                        ffi::duckdb_bind_varchar_length(self.stmt, index, v.as_ptr().cast(), v.len() as u64)
                    }
                    Param::Bytes(v) => ffi::duckdb_bind_blob(self.stmt, index, v.as_ptr().cast(), v.len() as u64),
                    Param::Decimal { digits, scale } => {
                        let value = ffi::duckdb_hugeint { lower: *digits as u64, upper: (*digits >> 64) as i64 };
                        ffi::duckdb_bind_decimal(
                            self.stmt,
                            index,
                            ffi::duckdb_decimal { width: 38, scale: *scale, value },
                        )
                    }
                }
            };
            if state != ffi::DuckDBSuccess {
                return Err(format!("Conversion Error: parameter ${} cannot take this value", i + 1));
            }
        }
        Ok(())
    }

    /// Runs the statement with `params`; answers the rows it changed.
    pub fn execute(&mut self, params: &[Param]) -> FfiResult<usize> {
        self.bind(params)?;
        let mut result = RawResult::<'c>::empty();
        // SAFETY: valid statement; the result is destroyed by RawResult.
        let state = unsafe { ffi::duckdb_execute_prepared(self.stmt, &mut *result.result) };
        if state != ffi::DuckDBSuccess {
            return Err(result.error());
        }
        // SAFETY: a successful result.
        Ok(unsafe { ffi::duckdb_rows_changed(&mut *result.result) } as usize)
    }

    /// Runs the statement and answers the first column of its first row as text (NULL: `None`).
    pub fn query_text(&mut self, params: &[Param]) -> FfiResult<Option<String>> {
        self.bind(params)?;
        let mut result = RawResult::<'c>::empty();
        // SAFETY: valid statement; the result is destroyed by RawResult.
        let state = unsafe { ffi::duckdb_execute_prepared(self.stmt, &mut *result.result) };
        if state != ffi::DuckDBSuccess {
            return Err(result.error());
        }
        // SAFETY: a materialized result; the value (if any) is copied, then freed.
        unsafe {
            if ffi::duckdb_row_count(&mut *result.result) == 0 || ffi::duckdb_column_count(&mut *result.result) == 0 {
                return Ok(None);
            }
            let value = ffi::duckdb_value_varchar(&mut *result.result, 0, 0);
            if value.is_null() {
                return Ok(None);
            }
            let text = CStr::from_ptr(value).to_string_lossy().into_owned();
            ffi::duckdb_free(value.cast());
            Ok(Some(text))
        }
    }

    /// Starts the statement with `params`, its rows fetched chunk by chunk as they are asked for.
    /// The result may outlive the statement (the running query keeps what it needs), not the
    /// connection.
    pub fn stream(&mut self, params: &[Param]) -> FfiResult<RawResult<'c>> {
        self.bind(params)?;
        let mut result = RawResult::empty();
        // SAFETY: valid statement; the result is destroyed by RawResult.
        let state = unsafe { ffi::duckdb_execute_prepared_streaming(self.stmt, &mut *result.result) };
        if state != ffi::DuckDBSuccess {
            return Err(result.error());
        }
        Ok(result)
    }
}

impl Drop for RawStmt<'_> {
    fn drop(&mut self) {
        // SAFETY: created by duckdb_prepare_extracted_statement, destroyed once.
        unsafe { ffi::duckdb_destroy_prepare(&mut self.stmt) }
    }
}

/// A query result of a connection. Its chunks stay valid after the result is gone (each owns
/// its data).
pub struct RawResult<'c> {
    result: Box<ffi::duckdb_result>,
    _conn: PhantomData<&'c RawConn>,
}

// SAFETY: a result is used by one thread at a time; DuckDB results carry no thread affinity.
unsafe impl Send for RawResult<'_> {}

impl RawResult<'_> {
    fn empty() -> Self {
        // SAFETY: duckdb_result is a plain C struct; all-zero is its "no result" state.
        RawResult { result: Box::new(unsafe { std::mem::zeroed() }), _conn: PhantomData }
    }

    fn error(&mut self) -> String {
        // SAFETY: the message belongs to the result and is copied.
        unsafe { text_of(ffi::duckdb_result_error(&mut *self.result), "the statement failed") }
    }

    pub fn column_count(&mut self) -> usize {
        // SAFETY: a result handle.
        unsafe { ffi::duckdb_column_count(&mut *self.result) as usize }
    }

    pub fn column_name(&mut self, i: usize) -> String {
        // SAFETY: a result handle and a column index below column_count.
        unsafe { text_of(ffi::duckdb_column_name(&mut *self.result, i as u64), "?column?") }
    }

    pub fn column_type(&mut self, i: usize) -> LogicalType {
        // SAFETY: a result handle and a column index below column_count; the type is owned.
        LogicalType(unsafe { ffi::duckdb_column_logical_type(&mut *self.result, i as u64) })
    }

    /// The next chunk of rows, `None` at the end.
    pub fn next_chunk(&mut self) -> FfiResult<Option<Chunk>> {
        // SAFETY: a (streaming) result handle; a NULL chunk means the end or an error.
        let chunk = unsafe { ffi::duckdb_fetch_chunk(*self.result) };
        if chunk.is_null() {
            // SAFETY: reading the result's error text.
            let error = unsafe { ffi::duckdb_result_error(&mut *self.result) };
            if !error.is_null() {
                // SAFETY: as above.
                return Err(unsafe { text_of(error, "fetching rows failed") });
            }
            return Ok(None);
        }
        Ok(Some(Chunk { chunk }))
    }
}

impl Drop for RawResult<'_> {
    fn drop(&mut self) {
        // SAFETY: destroying a zeroed or filled result is allowed once.
        unsafe { ffi::duckdb_destroy_result(&mut *self.result) }
    }
}

/// A logical type (owned).
pub struct LogicalType(ffi::duckdb_logical_type);

// SAFETY: logical types are immutable values.
unsafe impl Send for LogicalType {}
unsafe impl Sync for LogicalType {}

impl LogicalType {
    pub fn varchar() -> LogicalType {
        // SAFETY: creating a primitive type.
        LogicalType(unsafe { ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR) })
    }

    pub(super) fn handle(&self) -> ffi::duckdb_logical_type {
        self.0
    }
}

impl Drop for LogicalType {
    fn drop(&mut self) {
        // SAFETY: owned handle, destroyed once.
        unsafe { ffi::duckdb_destroy_logical_type(&mut self.0) }
    }
}

/// A chunk of rows fetched from a result; its vectors hold their own data (reference counted
/// inside DuckDB), so it may move to another thread and be read there.
pub struct Chunk {
    chunk: ffi::duckdb_data_chunk,
}

// SAFETY: see the type's comment.
unsafe impl Send for Chunk {}

impl Chunk {
    pub fn len(&self) -> usize {
        // SAFETY: a chunk handle.
        unsafe { ffi::duckdb_data_chunk_get_size(self.chunk) as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column_count(&self) -> usize {
        // SAFETY: a chunk handle.
        unsafe { ffi::duckdb_data_chunk_get_column_count(self.chunk) as usize }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: fetched chunk, destroyed once.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut self.chunk) }
    }
}

/// Rows a stream function hands to the instance that reads it, chunk by chunk.
pub trait ChunkSource: Send {
    /// The next chunk (its columns in the order the stream declared), `None` at the end.
    fn next_chunk(&mut self) -> FfiResult<Option<Chunk>>;
}

/// Starts a [`ChunkSource`] for the columns the reading query needs (projection pushdown:
/// indexes into the declared columns, in the order the source must answer them; `None` where
/// DuckDB asks for a row id, e.g. for `count(*)`, to be answered as any BIGINT).
pub type SourceFactory = Arc<dyn Fn(&[Option<usize>]) -> FfiResult<Box<dyn ChunkSource>> + Send + Sync>;

/// A stream a connection may read: its columns and how to start reading it.
#[derive(Clone)]
pub struct StreamGrant {
    pub columns: Arc<Vec<(String, Arc<LogicalType>)>>,
    pub open: SourceFactory,
}

/// The streams each connection may read right now, by (connection id, key). A table function
/// call from any other connection, or for a key nobody granted, finds nothing.
#[derive(Default)]
pub struct StreamGrants {
    grants: Mutex<std::collections::HashMap<(u64, String), StreamGrant>>,
}

impl StreamGrants {
    pub fn grant(&self, connection: u64, key: &str, grant: StreamGrant) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).insert((connection, key.to_owned()), grant);
    }

    pub fn revoke(&self, connection: u64, key: &str) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).remove(&(connection, key.to_owned()));
    }

    pub fn revoke_all(&self, connection: u64) {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).retain(|(c, _), _| *c != connection);
    }

    fn find(&self, connection: u64, key: &str) -> Option<StreamGrant> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).get(&(connection, key.to_owned())).cloned()
    }
}

/// Registers `name(key VARCHAR)` in the instance of `conn`: a table function answering the
/// stream granted to the calling connection under `key`.
pub fn register_stream_function(conn: &RawConn, name: &str, grants: Arc<StreamGrants>) -> FfiResult<()> {
    let name = c_string(name)?;
    // SAFETY: the function object is configured then registered (DuckDB copies it) and
    // destroyed; the extra info is a leaked Arc freed by `drop_grants` when DuckDB drops it.
    unsafe {
        let mut function = ffi::duckdb_create_table_function();
        ffi::duckdb_table_function_set_name(function, name.as_ptr());
        let varchar = LogicalType::varchar();
        ffi::duckdb_table_function_add_parameter(function, varchar.handle());
        let extra = Arc::into_raw(grants) as *mut c_void;
        ffi::duckdb_table_function_set_extra_info(function, extra, Some(drop_grants));
        ffi::duckdb_table_function_set_bind(function, Some(stream_bind));
        ffi::duckdb_table_function_set_init(function, Some(stream_init));
        ffi::duckdb_table_function_set_function(function, Some(stream_func));
        ffi::duckdb_table_function_supports_projection_pushdown(function, true);
        let state = ffi::duckdb_register_table_function(conn.conn, function);
        ffi::duckdb_destroy_table_function(&mut function);
        if state != ffi::DuckDBSuccess {
            return Err("cannot register the stream function".into());
        }
    }
    Ok(())
}

unsafe extern "C" fn drop_grants(p: *mut c_void) {
    // SAFETY: `p` is the Arc leaked at registration, released once by DuckDB.
    drop(unsafe { Arc::from_raw(p as *const StreamGrants) });
}

/// Threads of the reading instance that may pull from one stream at once.
const STREAM_THREADS: u64 = 4;

struct StreamBind {
    grant: StreamGrant,
}

struct StreamState {
    /// The source, `None` once it ended (a finished DuckDB result must not be fetched again
    /// by the other threads still reading).
    source: Mutex<Option<Box<dyn ChunkSource>>>,
    width: usize,
}

unsafe extern "C" fn drop_boxed<T>(p: *mut c_void) {
    // SAFETY: `p` is a Box<T> leaked by this module, released once by DuckDB.
    drop(unsafe { Box::from_raw(p as *mut T) });
}

/// Runs `f`, turning a panic into an error message: nothing unwinds into DuckDB.
fn guarded<T>(f: impl FnOnce() -> FfiResult<T>) -> FfiResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err("internal error in a duckstore table function".into()),
    }
}

fn error_text(message: &str) -> CString {
    CString::new(message.replace('\0', " ")).unwrap_or_default()
}

unsafe extern "C" fn stream_bind(info: ffi::duckdb_bind_info) {
    let outcome = guarded(|| {
        // SAFETY: DuckDB hands a live bind info; the extra info is our Arc<StreamGrants>.
        unsafe {
            let grants = &*(ffi::duckdb_bind_get_extra_info(info) as *const StreamGrants);
            let mut value = ffi::duckdb_bind_get_parameter(info, 0);
            let key = if value.is_null() {
                None
            } else {
                let text = ffi::duckdb_get_varchar(value);
                let key = (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned());
                if !text.is_null() {
                    ffi::duckdb_free(text.cast());
                }
                ffi::duckdb_destroy_value(&mut value);
                key
            };
            let key = key.ok_or("Permission Error: no such stream")?;
            let mut context: ffi::duckdb_client_context = ptr::null_mut();
            ffi::duckdb_table_function_get_client_context(info, &mut context);
            let connection = ffi::duckdb_client_context_get_connection_id(context);
            ffi::duckdb_destroy_client_context(&mut context);
            let grant = grants.find(connection, &key).ok_or("Permission Error: no such stream")?;
            for (name, ty) in grant.columns.iter() {
                let name = error_text(name);
                ffi::duckdb_bind_add_result_column(info, name.as_ptr(), ty.handle());
            }
            let bind = Box::new(StreamBind { grant });
            ffi::duckdb_bind_set_bind_data(info, Box::into_raw(bind).cast(), Some(drop_boxed::<StreamBind>));
            Ok(())
        }
    });
    if let Err(message) = outcome {
        let message = error_text(&message);
        // SAFETY: a live bind info; DuckDB copies the message.
        unsafe { ffi::duckdb_bind_set_error(info, message.as_ptr()) };
    }
}

unsafe extern "C" fn stream_init(info: ffi::duckdb_init_info) {
    let outcome = guarded(|| {
        // SAFETY: a live init info whose bind data is our StreamBind.
        unsafe {
            let bind = &*(ffi::duckdb_init_get_bind_data(info) as *const StreamBind);
            let count = ffi::duckdb_init_get_column_count(info) as usize;
            let width = bind.grant.columns.len();
            let projection: Vec<Option<usize>> = (0..count)
                .map(|i| Some(ffi::duckdb_init_get_column_index(info, i as u64) as usize).filter(|c| *c < width))
                .collect();
            let source = (bind.grant.open)(&projection)?;
            let state = Box::new(StreamState { source: Mutex::new(Some(source)), width: projection.len() });
            ffi::duckdb_init_set_init_data(info, Box::into_raw(state).cast(), Some(drop_boxed::<StreamState>));
            // Several of the reading instance's threads may pull chunks (each takes the next
            // one in turn) and work on them at once: an import's inserts run in parallel.
            ffi::duckdb_init_set_max_threads(info, STREAM_THREADS);
            Ok(())
        }
    });
    if let Err(message) = outcome {
        let message = error_text(&message);
        // SAFETY: a live init info; DuckDB copies the message.
        unsafe { ffi::duckdb_init_set_error(info, message.as_ptr()) };
    }
}

unsafe extern "C" fn stream_func(info: ffi::duckdb_function_info, output: ffi::duckdb_data_chunk) {
    let outcome = guarded(|| {
        // SAFETY: a live function info whose init data is our StreamState; `output` has the
        // projected columns, whose types are the source's (the source answers exactly them).
        unsafe {
            let state = &*(ffi::duckdb_function_get_init_data(info) as *const StreamState);
            loop {
                let next = {
                    let mut source = state.source.lock().unwrap_or_else(|p| p.into_inner());
                    match source.as_mut() {
                        None => None,
                        Some(s) => match s.next_chunk() {
                            Ok(None) => {
                                *source = None;
                                None
                            }
                            Ok(Some(chunk)) => Some(chunk),
                            Err(e) => {
                                *source = None;
                                return Err(e);
                            }
                        },
                    }
                };
                match next {
                    None => {
                        ffi::duckdb_data_chunk_set_size(output, 0);
                        return Ok(());
                    }
                    Some(chunk) if chunk.is_empty() => continue,
                    Some(chunk) => {
                        // No columns asked for (`count(*)`): the chunk's size is all that counts.
                        if state.width > 0 && chunk.column_count() != state.width {
                            return Err("Internal Error: a stream answered the wrong columns".into());
                        }
                        for i in 0..state.width {
                            let to = ffi::duckdb_data_chunk_get_vector(output, i as u64);
                            let from = ffi::duckdb_data_chunk_get_vector(chunk.chunk, i as u64);
                            // Referencing a vector of another type would misread its memory.
                            if vector_signature(to) != vector_signature(from) {
                                return Err("Internal Error: a stream answered a column of another type".into());
                            }
                            ffi::duckdb_vector_reference_vector(to, from);
                        }
                        ffi::duckdb_data_chunk_set_size(output, chunk.len() as u64);
                        // The output's vectors hold references to the chunk's buffers (counted
                        // inside DuckDB): the chunk itself may go.
                        drop(chunk);
                        return Ok(());
                    }
                }
            }
        }
    });
    if let Err(message) = outcome {
        let message = error_text(&message);
        // SAFETY: a live function info; DuckDB copies the message.
        unsafe { ffi::duckdb_function_set_error(info, message.as_ptr()) };
    }
}

/// A vector's type, down to decimal scales and nested children, as comparable text.
///
/// # Safety
/// `vector` must be a live vector.
unsafe fn vector_signature(vector: ffi::duckdb_vector) -> String {
    // SAFETY: the caller's guarantee; the type handle is owned and destroyed by LogicalType.
    let ty = LogicalType(unsafe { ffi::duckdb_vector_get_column_type(vector) });
    let mut out = String::new();
    // SAFETY: a live type handle.
    unsafe { type_signature(ty.0, &mut out) };
    out
}

/// # Safety
/// `ty` must be a live logical type.
unsafe fn type_signature(ty: ffi::duckdb_logical_type, out: &mut String) {
    use std::fmt::Write;
    // SAFETY: the caller's guarantee; child handles are owned and destroyed as they go.
    unsafe {
        let id = ffi::duckdb_get_type_id(ty);
        let _ = write!(out, "{id}");
        let child = |handle: ffi::duckdb_logical_type, out: &mut String| {
            let owned = LogicalType(handle);
            out.push('(');
            type_signature(owned.0, out);
            out.push(')');
        };
        match id {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => {
                let _ = write!(out, "({},{})", ffi::duckdb_decimal_width(ty), ffi::duckdb_decimal_scale(ty));
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => child(ffi::duckdb_list_type_child_type(ty), out),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => child(ffi::duckdb_array_type_child_type(ty), out),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => {
                child(ffi::duckdb_map_type_key_type(ty), out);
                child(ffi::duckdb_map_type_value_type(ty), out);
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => {
                for i in 0..ffi::duckdb_struct_type_child_count(ty) {
                    child(ffi::duckdb_struct_type_child_type(ty, i), out);
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UNION => {
                for i in 0..ffi::duckdb_union_type_member_count(ty) {
                    child(ffi::duckdb_union_type_member_type(ty, i), out);
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM => {
                let _ = write!(out, "({})", ffi::duckdb_enum_dictionary_size(ty));
            }
            _ => {}
        }
    }
}
