//! The few DuckDB C API calls duckdb-rs does not wrap: opening an instance whose raw handle we
//! keep, and describing a prepared statement (parameter and result types) without running it.

use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use duckdb::ffi;

/// An open DuckDB database (instance). Closed when dropped, after every connection to it.
pub(super) struct RawDatabase {
    db: ffi::duckdb_database,
}

// SAFETY: a duckdb_database is a thread-safe handle to the instance; DuckDB synchronises access.
unsafe impl Send for RawDatabase {}
unsafe impl Sync for RawDatabase {}

impl RawDatabase {
    /// Opens an in-memory instance with the given settings.
    pub(super) fn open_in_memory(settings: &[(&str, String)]) -> Result<RawDatabase, String> {
        Self::open(None, settings)
    }

    /// Opens (creating if needed) the database file at `path` with the given settings.
    pub(super) fn open_path(path: &std::path::Path, settings: &[(&str, String)]) -> Result<RawDatabase, String> {
        Self::open(Some(path), settings)
    }

    fn open(path: Option<&std::path::Path>, settings: &[(&str, String)]) -> Result<RawDatabase, String> {
        let path = match path {
            Some(p) => Some(CString::new(p.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?),
            None => None,
        };
        // SAFETY: every pointer passed is valid for the call; the config is destroyed on all paths.
        unsafe {
            let mut config: ffi::duckdb_config = ptr::null_mut();
            if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
                return Err("cannot create a DuckDB configuration".into());
            }
            for (name, value) in settings {
                let (n, v) = (
                    CString::new(*name).map_err(|e| e.to_string())?,
                    CString::new(value.as_str()).map_err(|e| e.to_string())?,
                );
                if ffi::duckdb_set_config(config, n.as_ptr(), v.as_ptr()) != ffi::DuckDBSuccess {
                    ffi::duckdb_destroy_config(&mut config);
                    return Err(format!("invalid DuckDB setting {name} = {value}"));
                }
            }
            let mut db: ffi::duckdb_database = ptr::null_mut();
            let mut error: *mut c_char = ptr::null_mut();
            let path_ptr = path.as_ref().map_or(ptr::null(), |p| p.as_ptr());
            let state = ffi::duckdb_open_ext(path_ptr, &mut db, config, &mut error);
            ffi::duckdb_destroy_config(&mut config);
            if state != ffi::DuckDBSuccess {
                let message = if error.is_null() {
                    "cannot open DuckDB".to_owned()
                } else {
                    let m = CStr::from_ptr(error).to_string_lossy().into_owned();
                    ffi::duckdb_free(error.cast());
                    m
                };
                return Err(message);
            }
            Ok(RawDatabase { db })
        }
    }

    pub(super) fn handle(&self) -> ffi::duckdb_database {
        self.db
    }

    /// Parameter and result types of `sql`, from DuckDB's binder, on a connection of its own
    /// that resolves names along `search_path` (DuckDB's form; empty: its default). A path
    /// DuckDB no longer takes (a schema dropped since) leaves the default: the statement's own
    /// run answers for its names.
    pub(super) fn describe(&self, sql: &str, search_path: &str) -> Result<Described, String> {
        // SAFETY: the database outlives the connection, which is closed at the end of the call.
        let conn = unsafe { super::ffi::RawConn::connect(self.db) }?;
        if !search_path.is_empty() {
            let _ = conn.execute(&format!("SET search_path = '{}'", search_path.replace('\'', "''")));
        }
        describe_on(&conn, sql)
    }
}

impl Drop for RawDatabase {
    fn drop(&mut self) {
        // SAFETY: the handle came from duckdb_open_ext and is closed exactly once.
        unsafe { ffi::duckdb_close(&mut self.db) }
    }
}

/// Parameter and result types of `sql`, from DuckDB's binder, prepared on `conn`.
pub(super) fn describe_on(conn: &super::ffi::RawConn, sql: &str) -> Result<Described, String> {
    let sql = CString::new(sql).map_err(|_| "the statement contains a NUL byte".to_owned())?;
    // SAFETY: the connection is live; the statement is created and destroyed here; strings
    // DuckDB returns are copied before being freed.
    unsafe {
        let conn = conn.handle();
        let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
        let result = if ffi::duckdb_prepare(conn, sql.as_ptr(), &mut stmt) != ffi::DuckDBSuccess {
            let error = ffi::duckdb_prepare_error(stmt);
            Err(if error.is_null() {
                "cannot prepare".to_owned()
            } else {
                CStr::from_ptr(error).to_string_lossy().into_owned()
            })
        } else if ffi::duckdb_nparams(stmt) as usize > super::MAX_PARAMS {
            Err(format!("Binder Error: statements may have at most {} parameters", super::MAX_PARAMS))
        } else {
            let params = (1..=ffi::duckdb_nparams(stmt))
                .map(|i| {
                    let mut logical = ffi::duckdb_param_logical_type(stmt, i);
                    let t = arrow_type(logical);
                    ffi::duckdb_destroy_logical_type(&mut logical);
                    t
                })
                .collect();
            let fields: Vec<Field> = (0..ffi::duckdb_prepared_statement_column_count(stmt))
                .map(|i| {
                    let name_ptr = ffi::duckdb_prepared_statement_column_name(stmt, i);
                    let name = if name_ptr.is_null() {
                        format!("column{i}")
                    } else {
                        let n = CStr::from_ptr(name_ptr).to_string_lossy().into_owned();
                        ffi::duckdb_free(name_ptr as *mut _);
                        n
                    };
                    let mut logical = ffi::duckdb_prepared_statement_column_logical_type(stmt, i);
                    let t = arrow_type(logical);
                    ffi::duckdb_destroy_logical_type(&mut logical);
                    Field::new(name, t, true)
                })
                .collect();
            Ok(Described { params, schema: Arc::new(Schema::new(fields)) })
        };
        ffi::duckdb_destroy_prepare(&mut stmt);
        result
    }
}

/// What DuckDB's binder says about a statement before it runs.
#[derive(Debug, Clone)]
pub struct Described {
    /// Parameter types; `DataType::Null` where DuckDB could not infer one.
    pub params: Vec<DataType>,
    pub schema: SchemaRef,
}

/// The Arrow type DuckDB produces for a logical type, as far as the wire needs to know it;
/// anything exotic is described as text (and sent as text).
///
/// # Safety
/// `logical` must be a valid logical type handle.
unsafe fn arrow_type(logical: ffi::duckdb_logical_type) -> DataType {
    if logical.is_null() {
        return DataType::Null;
    }
    // SAFETY: the caller guarantees a valid handle; child handles are destroyed here.
    unsafe {
        match ffi::duckdb_get_type_id(logical) {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => DataType::Boolean,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT => DataType::Int8,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => DataType::Int16,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => DataType::Int32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => DataType::Int64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => DataType::UInt8,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => DataType::UInt16,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => DataType::UInt32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT => DataType::UInt64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => DataType::Float32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => DataType::Float64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => DataType::Utf8,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => DataType::Binary,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => DataType::Date32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => DataType::Time64(TimeUnit::Microsecond),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S => DataType::Timestamp(TimeUnit::Second, None),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS => DataType::Timestamp(TimeUnit::Millisecond, None),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => DataType::Timestamp(TimeUnit::Nanosecond, None),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT => DataType::Decimal128(38, 0),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => {
                DataType::Decimal128(ffi::duckdb_decimal_width(logical), ffi::duckdb_decimal_scale(logical) as i8)
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
                let mut child = ffi::duckdb_list_type_child_type(logical);
                let child_type = arrow_type(child);
                ffi::duckdb_destroy_logical_type(&mut child);
                match child_type {
                    DataType::List(_) | DataType::Null => DataType::Utf8,
                    t => DataType::List(Arc::new(Field::new("l", t, true))),
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INVALID
            | ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY
            | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => DataType::Null,
            _ => DataType::Utf8,
        }
    }
}
