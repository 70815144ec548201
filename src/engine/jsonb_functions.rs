//! PostgreSQL's jsonb functions and operators DuckDB lacks (`jsonb_set`, `#-`, `-`, `||`,
//! `jsonb_strip_nulls`, `jsonb_pretty`, the canonical text of `::text` and `->>`), as engine
//! functions over JSON text computed by `crate::jsonb`; the gateway writes the calls
//! (gateway::compat). A NULL argument answers NULL; a refusal is the engine's error.
//!
//! Every callback is total: a panic is caught and reported as an error, never unwound into
//! DuckDB, and a document over [`MAX_DOCUMENT_BYTES`] is refused rather than worked on.

use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

use duckdb::ffi;

use super::ffi::{FfiResult, RawConn};

/// The largest text these functions take (a document, a path, a key): bounded work per value.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// What a function computes from its arguments' texts (`None` arguments never reach it).
type Compute = fn(&[&str], bool) -> Result<Option<String>, String>;

/// (name, VARCHAR arguments, whether a BOOLEAN argument follows, computation).
const FUNCTIONS: &[(&str, usize, bool, Compute)] = &[
    // (a canonical text much longer than the engine's is not made: the engine's is kept)
    ("duckstore_jsonb_text", 1, false, |a, _| {
        Ok(Some(match crate::jsonb::canonical(a[0]) {
            Some(text) if crate::jsonb::within_bound(a[0].len(), text.len()) => text,
            _ => a[0].to_owned(),
        }))
    }),
    ("duckstore_jsonb_key", 1, false, |a, _| Ok(Some(crate::jsonb::equality_key(a[0])))),
    ("duckstore_jsonb_member_text", 1, false, |a, _| crate::jsonb::member_text(a[0])),
    ("duckstore_jsonb_set", 3, true, |a, create| crate::jsonb::set(a[0], a[1], a[2], create).map(Some)),
    ("duckstore_jsonb_delete_path", 2, false, |a, _| crate::jsonb::delete_path(a[0], a[1]).map(Some)),
    ("duckstore_jsonb_delete", 2, false, |a, _| crate::jsonb::delete(a[0], a[1]).map(Some)),
    ("duckstore_jsonb_concat", 2, false, |a, _| crate::jsonb::concat(a[0], a[1]).map(Some)),
    ("duckstore_jsonb_strip_nulls", 1, false, |a, _| crate::jsonb::strip_nulls(a[0]).map(Some)),
    ("duckstore_json_strip_nulls", 1, false, |a, _| crate::jsonb::strip_nulls_as_written(a[0]).map(Some)),
    ("duckstore_jsonb_pretty", 1, false, |a, _| crate::jsonb::pretty(a[0]).map(Some)),
    // (text functions of the same shape: PostgreSQL's number templates, crate::number_format)
    ("duckstore_to_char_number", 2, false, |a, _| crate::number_format::to_char(a[0], a[1]).map(Some)),
    ("duckstore_to_number", 2, false, |a, _| crate::number_format::to_number(a[0], a[1]).map(Some)),
];

/// The functions' names, for the gateway's judge.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.0)
}

/// Registers every function in the instance of `conn`.
pub fn register(conn: &RawConn) -> FfiResult<()> {
    for (index, (name, texts, flag, _)) in FUNCTIONS.iter().enumerate() {
        let c_name = CString::new(*name).map_err(|e| e.to_string())?;
        // SAFETY: the function object is configured, registered (DuckDB copies it) and
        // destroyed; each type is destroyed after the function copied it. The extra info is
        // the function's index, a plain integer DuckDB hands back to the callback.
        unsafe {
            let mut function = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(function, c_name.as_ptr());
            for _ in 0..*texts {
                let mut t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
                ffi::duckdb_scalar_function_add_parameter(function, t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            if *flag {
                let mut t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN);
                ffi::duckdb_scalar_function_add_parameter(function, t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            let mut t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
            ffi::duckdb_scalar_function_set_return_type(function, t);
            ffi::duckdb_destroy_logical_type(&mut t);
            ffi::duckdb_scalar_function_set_extra_info(function, index as *mut std::ffi::c_void, None);
            ffi::duckdb_scalar_function_set_function(function, Some(callback));
            let state = ffi::duckdb_register_scalar_function(conn.handle(), function);
            ffi::duckdb_destroy_scalar_function(&mut function);
            if state != ffi::DuckDBSuccess {
                return Err(format!("cannot register {name}"));
            }
        }
    }
    Ok(())
}

/// The text of a VARCHAR vector's row.
///
/// # Safety
/// `values` is a VARCHAR vector's data with at least `row + 1` entries.
unsafe fn text_at<'a>(values: *mut ffi::duckdb_string_t, row: usize) -> &'a [u8] {
    // SAFETY: per the caller; DuckDB keeps the string's bytes alive for the callback.
    unsafe {
        let value = values.add(row);
        let len = ffi::duckdb_string_t_length(*value) as usize;
        let data = ffi::duckdb_string_t_data(value) as *const u8;
        std::slice::from_raw_parts(data, len)
    }
}

unsafe extern "C" fn callback(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        // SAFETY: DuckDB hands the extra info set at registration (an index into FUNCTIONS),
        // a flattened chunk of the function's parameters (VARCHARs, then a BOOLEAN when it
        // takes one) and a VARCHAR output vector, each of the chunk's size.
        unsafe {
            let index = ffi::duckdb_scalar_function_get_extra_info(info) as usize;
            let (_, texts, flag, compute) = FUNCTIONS.get(index).ok_or("unknown jsonb function")?;
            let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
            let vectors: Vec<ffi::duckdb_vector> =
                (0..texts + usize::from(*flag)).map(|i| ffi::duckdb_data_chunk_get_vector(input, i as u64)).collect();
            let mut out_valid: *mut u64 = std::ptr::null_mut();
            let mut set_null = |row: usize| {
                if out_valid.is_null() {
                    ffi::duckdb_vector_ensure_validity_writable(output);
                    out_valid = ffi::duckdb_vector_get_validity(output);
                }
                ffi::duckdb_validity_set_row_invalid(out_valid, row as u64);
            };
            for row in 0..rows {
                let null = vectors
                    .iter()
                    .any(|v| !ffi::duckdb_validity_row_is_valid(ffi::duckdb_vector_get_validity(*v), row as u64));
                if null {
                    set_null(row);
                    continue;
                }
                let mut args: Vec<&str> = Vec::with_capacity(*texts);
                for vector in &vectors[..*texts] {
                    let bytes = text_at(ffi::duckdb_vector_get_data(*vector) as *mut ffi::duckdb_string_t, row);
                    if bytes.len() > MAX_DOCUMENT_BYTES {
                        return Err(format!("a jsonb value longer than {MAX_DOCUMENT_BYTES} bytes is not taken here"));
                    }
                    args.push(std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in a text".to_owned())?);
                }
                // (a BOOLEAN vector's bytes, read as bytes: any non-zero one is true)
                let create = *flag && *(ffi::duckdb_vector_get_data(vectors[*texts]) as *const u8).add(row) != 0;
                match compute(&args, create)? {
                    Some(text) => ffi::duckdb_vector_assign_string_element_len(
                        output,
                        row as u64,
                        text.as_ptr() as *const std::os::raw::c_char,
                        text.len() as u64,
                    ),
                    None => set_null(row),
                }
            }
            Ok(())
        }
    }));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "internal error in a duckstore function".to_owned(),
    };
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a live function info; DuckDB copies the message.
    unsafe { ffi::duckdb_scalar_function_set_error(info, message.as_ptr()) };
}
