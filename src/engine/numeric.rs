//! PostgreSQL's division, which DuckDB answers otherwise, as one engine function with an
//! overload per operand type: integers divide into a truncated integer of their own type,
//! numerics into an exact numeric (rounded half away from zero), floats into floats, an
//! interval by a number into an interval; a zero divisor is an error (DuckDB answers NULL, or a
//! double for numerics). The gateway writes `a / b` as `duckstore_div(a, b)`, and `avg(x)` as
//! the quotient of `sum(x)` and `count(x)` (gateway::compat); DuckDB, which alone knows the
//! operands' types, picks the overload.
//!
//! (No aggregate is registered through the C API: DuckDB calls a C API aggregate's update with
//! a single shared state for an aggregate's ORDER BY and for a window over the whole partition,
//! where the callback reads one state per row — an attacker review aborted the server so.)
//!
//! Every callback is total: a panic is caught and reported as an error, never unwound into
//! DuckDB.

use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

use duckdb::ffi;

use super::ffi::{FfiResult, RawConn};

/// The division's name, as the gateway writes `/`.
pub const DIVIDE: &str = "duckstore_div";

/// The scale of a numeric quotient: PostgreSQL's display scale for one between 0.0001 and 1
/// (`select_div_scale`: 16 significant decimals after the first base-10 000 digit); a result
/// column of quotients prints as PostgreSQL's, at the scale its value gives (pg::encode).
pub const QUOTIENT_SCALE: u8 = 20;
/// The scale numeric operands are read at (a wider one would leave fewer integer digits).
const OPERAND_SCALE: u8 = 10;
/// The largest magnitude a DECIMAL(38, s) holds, unscaled, plus one.
const DECIMAL_LIMIT: u128 = 10u128.pow(38);

const DIVISION_BY_ZERO: &str = "division by zero";
const NUMERIC_OUT_OF_RANGE: &str = "value overflows numeric format";
const FLOAT_OUT_OF_RANGE: &str = "value out of range: overflow";

/// Registers every overload of [`DIVIDE`] in the instance of `conn`.
pub fn register(conn: &RawConn) -> FfiResult<()> {
    use ffi::{
        DUCKDB_TYPE_DUCKDB_TYPE_BIGINT as BIGINT, DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE as DOUBLE,
        DUCKDB_TYPE_DUCKDB_TYPE_FLOAT as FLOAT, DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT as HUGEINT,
        DUCKDB_TYPE_DUCKDB_TYPE_INTEGER as INTEGER, DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL as INTERVAL,
        DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT as SMALLINT,
    };
    type Callback = unsafe extern "C" fn(ffi::duckdb_function_info, ffi::duckdb_data_chunk, ffi::duckdb_vector);
    let overloads: [(Type, Type, Type, Callback); 10] = [
        (Type::Plain(SMALLINT), Type::Plain(SMALLINT), Type::Plain(SMALLINT), divide::<i16, i16, i16>),
        (Type::Plain(INTEGER), Type::Plain(INTEGER), Type::Plain(INTEGER), divide::<i32, i32, i32>),
        (Type::Plain(BIGINT), Type::Plain(BIGINT), Type::Plain(BIGINT), divide::<i64, i64, i64>),
        (Type::Plain(HUGEINT), Type::Plain(HUGEINT), Type::Plain(HUGEINT), divide::<Huge, Huge, Huge>),
        (Type::Plain(FLOAT), Type::Plain(FLOAT), Type::Plain(FLOAT), divide::<f32, f32, f32>),
        (Type::Plain(DOUBLE), Type::Plain(DOUBLE), Type::Plain(DOUBLE), divide::<f64, f64, f64>),
        // a real and an integer divide as double precision, as PostgreSQL resolves them
        (Type::Plain(FLOAT), Type::Plain(BIGINT), Type::Plain(DOUBLE), divide::<f32, i64, f64>),
        (Type::Plain(BIGINT), Type::Plain(FLOAT), Type::Plain(DOUBLE), divide::<i64, f32, f64>),
        (
            Type::Decimal(OPERAND_SCALE),
            Type::Decimal(OPERAND_SCALE),
            Type::Decimal(QUOTIENT_SCALE),
            divide::<Numeric, Numeric, Quotient>,
        ),
        (Type::Plain(INTERVAL), Type::Plain(DOUBLE), Type::Plain(INTERVAL), divide::<Interval, f64, Interval>),
    ];
    let name = CString::new(DIVIDE).map_err(|e| e.to_string())?;
    // SAFETY: each function object is configured, added to the set (which copies it) and
    // destroyed; the set is registered (DuckDB copies it) and destroyed. Types are destroyed
    // after the objects that copied them.
    unsafe {
        let mut set = ffi::duckdb_create_scalar_function_set(name.as_ptr());
        for (left, right, result, callback) in overloads {
            let mut function = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(function, name.as_ptr());
            for t in [left, right] {
                let mut t = t.create();
                ffi::duckdb_scalar_function_add_parameter(function, t);
                ffi::duckdb_destroy_logical_type(&mut t);
            }
            let mut t = result.create();
            ffi::duckdb_scalar_function_set_return_type(function, t);
            ffi::duckdb_destroy_logical_type(&mut t);
            ffi::duckdb_scalar_function_set_function(function, Some(callback));
            let added = ffi::duckdb_add_scalar_function_to_set(set, function);
            ffi::duckdb_destroy_scalar_function(&mut function);
            if added != ffi::DuckDBSuccess {
                ffi::duckdb_destroy_scalar_function_set(&mut set);
                return Err("cannot add an overload of the division function".into());
            }
        }
        let state = ffi::duckdb_register_scalar_function_set(conn.handle(), set);
        ffi::duckdb_destroy_scalar_function_set(&mut set);
        if state != ffi::DuckDBSuccess {
            return Err("cannot register the division function".into());
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Type {
    Plain(ffi::DUCKDB_TYPE),
    Decimal(u8),
}

impl Type {
    /// A new logical type, for the caller to destroy.
    fn create(self) -> ffi::duckdb_logical_type {
        // SAFETY: creating a primitive or decimal type.
        unsafe {
            match self {
                Type::Plain(t) => ffi::duckdb_create_logical_type(t),
                Type::Decimal(scale) => ffi::duckdb_create_decimal_type(38, scale),
            }
        }
    }
}

/// A value as a vector stores it, and how it divides.
trait Operand: Sized {
    /// The vector's element type.
    type Raw: Copy;
    fn read(raw: Self::Raw) -> Self;
}

trait Dividend<D: Operand>: Operand {
    type Output: Answer;
    fn divide(self, divisor: D) -> Result<Self::Output, &'static str>;
}

trait Answer {
    type Raw: Copy;
    fn write(self) -> Self::Raw;
}

macro_rules! integer {
    ($t:ty, $out_of_range:literal) => {
        impl Operand for $t {
            type Raw = $t;
            fn read(raw: $t) -> $t {
                raw
            }
        }
        impl Answer for $t {
            type Raw = $t;
            fn write(self) -> $t {
                self
            }
        }
        impl Dividend<$t> for $t {
            type Output = $t;
            fn divide(self, divisor: $t) -> Result<$t, &'static str> {
                if divisor == 0 {
                    return Err(DIVISION_BY_ZERO);
                }
                // only MIN / -1 overflows
                self.checked_div(divisor).ok_or($out_of_range)
            }
        }
    };
}

integer!(i16, "smallint out of range");
integer!(i32, "integer out of range");
integer!(i64, "bigint out of range");

macro_rules! float {
    ($t:ty) => {
        impl Operand for $t {
            type Raw = $t;
            fn read(raw: $t) -> $t {
                raw
            }
        }
        impl Answer for $t {
            type Raw = $t;
            fn write(self) -> $t {
                self
            }
        }
        impl Dividend<$t> for $t {
            type Output = $t;
            fn divide(self, divisor: $t) -> Result<$t, &'static str> {
                if divisor == 0.0 {
                    return Err(DIVISION_BY_ZERO);
                }
                let quotient = self / divisor;
                if quotient.is_infinite() && self.is_finite() && divisor.is_finite() {
                    return Err(FLOAT_OUT_OF_RANGE);
                }
                Ok(quotient)
            }
        }
    };
}

float!(f32);
float!(f64);

impl Dividend<i64> for f32 {
    type Output = f64;
    fn divide(self, divisor: i64) -> Result<f64, &'static str> {
        f64::from(self).divide(divisor as f64)
    }
}

impl Dividend<f32> for i64 {
    type Output = f64;
    fn divide(self, divisor: f32) -> Result<f64, &'static str> {
        (self as f64).divide(f64::from(divisor))
    }
}

/// A HUGEINT (DuckDB's sums of integers).
struct Huge(i128);

fn from_hugeint(raw: ffi::duckdb_hugeint) -> i128 {
    (i128::from(raw.upper) << 64) | i128::from(raw.lower)
}

fn to_hugeint(value: i128) -> ffi::duckdb_hugeint {
    // the two halves of the two's complement value, as DuckDB keeps them
    ffi::duckdb_hugeint { lower: value as u64, upper: (value >> 64) as i64 }
}

impl Operand for Huge {
    type Raw = ffi::duckdb_hugeint;
    fn read(raw: ffi::duckdb_hugeint) -> Huge {
        Huge(from_hugeint(raw))
    }
}

impl Answer for Huge {
    type Raw = ffi::duckdb_hugeint;
    fn write(self) -> ffi::duckdb_hugeint {
        to_hugeint(self.0)
    }
}

impl Dividend<Huge> for Huge {
    type Output = Huge;
    fn divide(self, divisor: Huge) -> Result<Huge, &'static str> {
        if divisor.0 == 0 {
            return Err(DIVISION_BY_ZERO);
        }
        self.0.checked_div(divisor.0).map(Huge).ok_or(NUMERIC_OUT_OF_RANGE)
    }
}

/// A numeric operand: a DECIMAL(38, OPERAND_SCALE), unscaled.
struct Numeric(i128);

/// A numeric quotient: a DECIMAL(38, QUOTIENT_SCALE), unscaled.
struct Quotient(i128);

impl Operand for Numeric {
    type Raw = ffi::duckdb_hugeint;
    fn read(raw: ffi::duckdb_hugeint) -> Numeric {
        Numeric(from_hugeint(raw))
    }
}

impl Answer for Quotient {
    type Raw = ffi::duckdb_hugeint;
    fn write(self) -> ffi::duckdb_hugeint {
        to_hugeint(self.0)
    }
}

impl Dividend<Numeric> for Numeric {
    type Output = Quotient;
    fn divide(self, divisor: Numeric) -> Result<Quotient, &'static str> {
        numeric_quotient(self.0, divisor.0).map(Quotient)
    }
}

/// `dividend / divisor` (both at one scale) at QUOTIENT_SCALE, rounded half away from zero, by
/// long division: the operands may be as large as 10^38, too large to scale up first.
fn numeric_quotient(dividend: i128, divisor: i128) -> Result<i128, &'static str> {
    if divisor == 0 {
        return Err(DIVISION_BY_ZERO);
    }
    let negative = (dividend < 0) != (divisor < 0);
    let (n, d) = (dividend.unsigned_abs(), divisor.unsigned_abs());
    let (mut quotient, mut remainder) = (n / d, n % d);
    for _ in 0..QUOTIENT_SCALE {
        let (digit, rest) = next_digit(remainder, d);
        quotient = quotient.checked_mul(10).and_then(|q| q.checked_add(digit)).ok_or(NUMERIC_OUT_OF_RANGE)?;
        remainder = rest;
    }
    if next_digit(remainder, d).0 >= 5 {
        quotient = quotient.checked_add(1).ok_or(NUMERIC_OUT_OF_RANGE)?;
    }
    if quotient >= DECIMAL_LIMIT {
        return Err(NUMERIC_OUT_OF_RANGE);
    }
    // below 10^38: fits an i128
    let quotient = quotient as i128;
    Ok(if negative { -quotient } else { quotient })
}

/// The next decimal of a long division and its remainder: `10 * remainder` divided by
/// `divisor` (with `remainder < divisor <= 10^38`), by ten additions, since `10 * remainder`
/// may not fit 128 bits while `2 * divisor` does.
fn next_digit(remainder: u128, divisor: u128) -> (u128, u128) {
    let (mut digit, mut rest) = (0, 0u128);
    for _ in 0..10 {
        rest += remainder;
        if rest >= divisor {
            rest -= divisor;
            digit += 1;
        }
    }
    (digit, rest)
}

/// An interval, divided as PostgreSQL's `interval_div` does: the fractions of months become
/// days (of 30), of days become time (of 24 hours).
struct Interval(ffi::duckdb_interval);

impl Operand for Interval {
    type Raw = ffi::duckdb_interval;
    fn read(raw: ffi::duckdb_interval) -> Interval {
        Interval(raw)
    }
}

impl Answer for Interval {
    type Raw = ffi::duckdb_interval;
    fn write(self) -> ffi::duckdb_interval {
        self.0
    }
}

impl Dividend<f64> for Interval {
    type Output = Interval;
    fn divide(self, factor: f64) -> Result<Interval, &'static str> {
        const DAYS_PER_MONTH: f64 = 30.0;
        const SECONDS_PER_DAY: f64 = 86_400.0;
        // PostgreSQL rounds intermediate fractions to microseconds
        let round = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        if factor == 0.0 {
            return Err(DIVISION_BY_ZERO);
        }
        let span = self.0;
        let in_range = |x: f64| x.is_finite() && x.abs() < 2_147_483_648.0;
        let months = f64::from(span.months) / factor;
        let days = f64::from(span.days) / factor;
        if !in_range(months) || !in_range(days) {
            return Err("interval out of range");
        }
        let mut result_days = days.trunc();
        let month_days = round((months - months.trunc()) * DAYS_PER_MONTH);
        let mut seconds = round((days - result_days + month_days - month_days.trunc()) * SECONDS_PER_DAY);
        if seconds.abs() >= SECONDS_PER_DAY {
            let whole = (seconds / SECONDS_PER_DAY).trunc();
            result_days += whole;
            seconds -= whole * SECONDS_PER_DAY;
        }
        result_days += month_days.trunc();
        let micros = (span.micros as f64 / factor + seconds * 1e6).round_ties_even();
        if !in_range(result_days) || !micros.is_finite() || micros.abs() >= 9.2e18 {
            return Err("interval out of range");
        }
        Ok(Interval(ffi::duckdb_interval {
            months: months.trunc() as i32,
            days: result_days as i32,
            micros: micros as i64,
        }))
    }
}

/// The callback of one overload: each row's quotient, NULL where an operand is NULL; the first
/// failing row fails the statement.
unsafe extern "C" fn divide<L, R, O>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) where
    L: Dividend<R, Output = O>,
    R: Operand,
    O: Answer,
{
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: DuckDB hands a flattened chunk of two vectors of the overload's parameter
        // types (L::Raw, R::Raw) and an output vector of its return type (O::Raw), each of the
        // chunk's size.
        unsafe {
            let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
            let (left, right) =
                (ffi::duckdb_data_chunk_get_vector(input, 0), ffi::duckdb_data_chunk_get_vector(input, 1));
            let (left_values, right_values) = (
                ffi::duckdb_vector_get_data(left) as *const L::Raw,
                ffi::duckdb_vector_get_data(right) as *const R::Raw,
            );
            let (left_valid, right_valid) =
                (ffi::duckdb_vector_get_validity(left), ffi::duckdb_vector_get_validity(right));
            let out = ffi::duckdb_vector_get_data(output) as *mut O::Raw;
            let mut out_valid: *mut u64 = std::ptr::null_mut();
            for row in 0..rows {
                let idx = row as u64;
                if !ffi::duckdb_validity_row_is_valid(left_valid, idx)
                    || !ffi::duckdb_validity_row_is_valid(right_valid, idx)
                {
                    if out_valid.is_null() {
                        ffi::duckdb_vector_ensure_validity_writable(output);
                        out_valid = ffi::duckdb_vector_get_validity(output);
                    }
                    ffi::duckdb_validity_set_row_invalid(out_valid, idx);
                    continue;
                }
                let quotient = L::read(*left_values.add(row)).divide(R::read(*right_values.add(row)))?;
                *out.add(row) = quotient.write();
            }
            Ok(())
        }
    }));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "internal error in a duckstore function",
    };
    let message = CString::new(message).unwrap_or_default();
    // SAFETY: a live function info; DuckDB copies the message.
    unsafe { ffi::duckdb_scalar_function_set_error(info, message.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotient(a: &str, b: &str) -> String {
        let unscaled = |s: &str| {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let digits = format!("{whole}{fraction:0<10}");
            digits.parse::<i128>().unwrap()
        };
        let q = numeric_quotient(unscaled(a), unscaled(b)).unwrap();
        let text = format!("{:021}", q.unsigned_abs());
        let (whole, fraction) = text.split_at(text.len() - 20);
        format!("{}{whole}.{fraction}", if q < 0 { "-" } else { "" })
    }

    #[test]
    fn numeric_quotients_are_exact_and_rounded_half_away_from_zero() {
        assert_eq!(quotient("7.0", "2"), "3.50000000000000000000");
        assert_eq!(quotient("1", "3"), "0.33333333333333333333");
        assert_eq!(quotient("2", "3"), "0.66666666666666666667");
        assert_eq!(quotient("-2", "3"), "-0.66666666666666666667");
        assert_eq!(quotient("120.5", "3"), "40.16666666666666666667");
        // operands at the largest magnitude do not overflow the long division
        let big = 10i128.pow(37) * 9;
        assert_eq!(numeric_quotient(big, big), Ok(10i128.pow(20)));
        assert_eq!(numeric_quotient(1, big).map(|q| q >= 0), Ok(true));
        assert_eq!(numeric_quotient(big, 1), Err(NUMERIC_OUT_OF_RANGE));
        assert_eq!(numeric_quotient(1, 0), Err(DIVISION_BY_ZERO));
    }

    #[test]
    fn integers_divide_truncated_and_refuse_what_overflows() {
        assert_eq!(7i32.divide(2), Ok(3));
        assert_eq!((-7i32).divide(2), Ok(-3));
        assert_eq!(i32::MIN.divide(-1), Err("integer out of range"));
        assert_eq!(1i16.divide(0), Err(DIVISION_BY_ZERO));
        assert_eq!(1.0f64.divide(0.0), Err(DIVISION_BY_ZERO));
        assert_eq!(f64::MAX.divide(0.5), Err(FLOAT_OUT_OF_RANGE));
    }
}
