//! PostgreSQL's `justify_hours`, `justify_days` and `justify_interval`, which DuckDB lacks: an
//! interval's 24-hour spans as days, its 30-day spans as months, signs made to agree, as engine
//! functions over INTERVAL (the gateway names them so: gateway::compat). A NULL answers NULL;
//! a result past an interval's range is the engine's error (22008, "interval out of range").
//!
//! Every callback is total: a panic is caught and reported as an error, never unwound into
//! DuckDB.

use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

use duckdb::ffi;

use super::ffi::{FfiResult, RawConn};

const MICROS_PER_DAY: i64 = 86_400_000_000;
const DAYS_PER_MONTH: i32 = 30;

/// An interval as PostgreSQL and DuckDB keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// The refusal of a result past an interval's range.
pub const OUT_OF_RANGE: &str = "interval out of range";

type Justify = fn(Interval) -> Option<Interval>;

/// (engine name, computation); the gateway writes `justify_x(i)` as `duckstore_justify_x(i)`.
pub const FUNCTIONS: &[(&str, Justify)] = &[
    ("duckstore_justify_hours", justify_hours),
    ("duckstore_justify_days", justify_days),
    ("duckstore_justify_interval", justify_interval),
];

/// 24-hour spans of the time as days; the time takes the days' sign.
pub fn justify_hours(span: Interval) -> Option<Interval> {
    let mut r = span;
    let whole_days = r.micros / MICROS_PER_DAY;
    r.micros -= whole_days * MICROS_PER_DAY;
    r.days = r.days.checked_add(i32::try_from(whole_days).ok()?)?;
    if r.days > 0 && r.micros < 0 {
        r.micros += MICROS_PER_DAY;
        r.days -= 1;
    } else if r.days < 0 && r.micros > 0 {
        r.micros -= MICROS_PER_DAY;
        r.days += 1;
    }
    Some(r)
}

/// 30-day spans as months; the days take the months' sign.
pub fn justify_days(span: Interval) -> Option<Interval> {
    let mut r = span;
    let whole_months = r.days / DAYS_PER_MONTH;
    r.days -= whole_months * DAYS_PER_MONTH;
    r.months = r.months.checked_add(whole_months)?;
    if r.months > 0 && r.days < 0 {
        r.days += DAYS_PER_MONTH;
        r.months -= 1;
    } else if r.months < 0 && r.days > 0 {
        r.days -= DAYS_PER_MONTH;
        r.months += 1;
    }
    Some(r)
}

/// Both, with every part of one sign, as PostgreSQL 15's.
pub fn justify_interval(span: Interval) -> Option<Interval> {
    let mut r = span;
    // (days first where they and the time agree, so the time's days cannot overflow them)
    if (r.days > 0 && r.micros > 0) || (r.days < 0 && r.micros < 0) {
        let whole_months = r.days / DAYS_PER_MONTH;
        r.days -= whole_months * DAYS_PER_MONTH;
        r.months = r.months.checked_add(whole_months)?;
    }
    let whole_days = r.micros / MICROS_PER_DAY;
    r.micros -= whole_days * MICROS_PER_DAY;
    r.days = r.days.checked_add(i32::try_from(whole_days).ok()?)?;
    let whole_months = r.days / DAYS_PER_MONTH;
    r.days -= whole_months * DAYS_PER_MONTH;
    r.months = r.months.checked_add(whole_months)?;
    if r.months > 0 && (r.days < 0 || (r.days == 0 && r.micros < 0)) {
        r.days += DAYS_PER_MONTH;
        r.months -= 1;
    } else if r.months < 0 && (r.days > 0 || (r.days == 0 && r.micros > 0)) {
        r.days -= DAYS_PER_MONTH;
        r.months += 1;
    }
    if r.days > 0 && r.micros < 0 {
        r.micros += MICROS_PER_DAY;
        r.days -= 1;
    } else if r.days < 0 && r.micros > 0 {
        r.micros -= MICROS_PER_DAY;
        r.days += 1;
    }
    Some(r)
}

/// The functions' names, for the gateway's judge.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.0)
}

/// Registers every function in the instance of `conn`.
pub fn register(conn: &RawConn) -> FfiResult<()> {
    for (index, (name, _)) in FUNCTIONS.iter().enumerate() {
        let c_name = CString::new(*name).map_err(|e| e.to_string())?;
        // SAFETY: the function object is configured, registered (DuckDB copies it) and
        // destroyed; each type is destroyed after the function copied it. The extra info is
        // the function's index, a plain integer DuckDB hands back to the callback.
        unsafe {
            let mut function = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(function, c_name.as_ptr());
            let mut t = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL);
            ffi::duckdb_scalar_function_add_parameter(function, t);
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

unsafe extern "C" fn callback(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        // SAFETY: DuckDB hands the extra info set at registration (an index into FUNCTIONS),
        // a flattened chunk of one INTERVAL vector and an INTERVAL output vector, each of the
        // chunk's size.
        unsafe {
            let index = ffi::duckdb_scalar_function_get_extra_info(info) as usize;
            let (_, justify) = FUNCTIONS.get(index).ok_or("unknown interval function")?;
            let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
            let vector = ffi::duckdb_data_chunk_get_vector(input, 0);
            let validity = ffi::duckdb_vector_get_validity(vector);
            let values = ffi::duckdb_vector_get_data(vector) as *const ffi::duckdb_interval;
            let out = ffi::duckdb_vector_get_data(output) as *mut ffi::duckdb_interval;
            let mut out_valid: *mut u64 = std::ptr::null_mut();
            for row in 0..rows {
                if !ffi::duckdb_validity_row_is_valid(validity, row as u64) {
                    if out_valid.is_null() {
                        ffi::duckdb_vector_ensure_validity_writable(output);
                        out_valid = ffi::duckdb_vector_get_validity(output);
                    }
                    ffi::duckdb_validity_set_row_invalid(out_valid, row as u64);
                    continue;
                }
                let v = *values.add(row);
                let span = Interval { months: v.months, days: v.days, micros: v.micros };
                let r = justify(span).ok_or(OUT_OF_RANGE)?;
                *out.add(row) = ffi::duckdb_interval { months: r.months, days: r.days, micros: r.micros };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, hours: i64) -> Interval {
        Interval { months, days, micros: hours * 3_600_000_000 }
    }

    #[test]
    fn spans_move_up_and_signs_agree_as_in_postgresql() {
        // PostgreSQL 15's answers
        assert_eq!(justify_hours(iv(0, 0, 36)), Some(iv(0, 1, 12)));
        assert_eq!(justify_hours(iv(0, 1, -1)), Some(iv(0, 0, 23)));
        assert_eq!(justify_days(iv(0, 45, 0)), Some(iv(1, 15, 0)));
        assert_eq!(justify_days(iv(1, -1, 0)), Some(iv(0, 29, 0)));
        assert_eq!(justify_interval(iv(1, 0, -1)), Some(iv(0, 29, 23)));
        assert_eq!(justify_interval(iv(0, 0, -800)), Some(iv(-1, -3, -8)));
        assert_eq!(justify_hours(Interval { months: 0, days: i32::MAX, micros: MICROS_PER_DAY }), None);
        assert_eq!(justify_days(Interval { months: i32::MAX, days: 30, micros: 0 }), None);
    }
}
