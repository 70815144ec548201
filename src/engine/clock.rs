//! PostgreSQL's `clock_timestamp()`: the wall clock when each row is computed, which no DuckDB
//! function gives (its `now()` and `get_current_timestamp()` are the transaction's start). One
//! volatile engine function; the gateway writes `clock_timestamp()` as it (gateway::compat).
//!
//! The callback is total: it reads no input and writes one value a row.

use std::ffi::CString;

use duckdb::ffi;

use super::ffi::{FfiResult, RawConn};

/// The function's name, as the gateway writes `clock_timestamp()`.
pub const CLOCK_TIMESTAMP: &str = "duckstore_clock_timestamp";

/// Registers [`CLOCK_TIMESTAMP`] in the instance of `conn`.
pub fn register(conn: &RawConn) -> FfiResult<()> {
    let name = CString::new(CLOCK_TIMESTAMP).map_err(|e| e.to_string())?;
    // SAFETY: the function object is configured, registered (DuckDB copies it) and destroyed;
    // its return type is destroyed after the function copied it.
    unsafe {
        let mut function = ffi::duckdb_create_scalar_function();
        ffi::duckdb_scalar_function_set_name(function, name.as_ptr());
        let mut t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ);
        ffi::duckdb_scalar_function_set_return_type(function, t);
        ffi::duckdb_destroy_logical_type(&mut t);
        // (never folded into a constant: each call reads the clock)
        ffi::duckdb_scalar_function_set_volatile(function);
        ffi::duckdb_scalar_function_set_function(function, Some(clock_timestamp));
        let state = ffi::duckdb_register_scalar_function(conn.handle(), function);
        ffi::duckdb_destroy_scalar_function(&mut function);
        if state != ffi::DuckDBSuccess {
            return Err("cannot register the clock function".into());
        }
    }
    Ok(())
}

/// Microseconds since 1970-01-01 UTC, as a TIMESTAMP WITH TIME ZONE stores them.
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

unsafe extern "C" fn clock_timestamp(
    _info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    // SAFETY: DuckDB hands a chunk whose size is the rows to answer and an output vector of
    // TIMESTAMP WITH TIME ZONE (i64 microseconds) of that size.
    unsafe {
        let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
        let out = ffi::duckdb_vector_get_data(output) as *mut i64;
        for row in 0..rows {
            *out.add(row) = now_micros();
        }
    }
}
