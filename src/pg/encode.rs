//! Result rows on the wire, column by column. Streaming millions of rows is mostly this loop, so
//! the common types are encoded here directly from the Arrow arrays (one downcast per column and
//! batch, not per value, and one buffer per batch); anything else goes through arrow-pg.

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, IntervalMonthDayNanoArray, RecordBatch, Time64MicrosecondArray, TimestampMicrosecondArray,
    UInt8Array, UInt16Array, UInt32Array,
};
use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;

use crate::gateway::time_zone::TimeZone;

/// Days from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch for binary dates and timestamps).
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

enum Column<'a> {
    Bool(&'a BooleanArray),
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    /// An `oid` (or `xid`): unsigned, 4 bytes in binary.
    Oid(&'a UInt32Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Utf8(&'a dyn Array),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray, TimestampText),
    /// A time of day: microseconds from midnight (24:00:00 included).
    Time(&'a Time64MicrosecondArray),
    /// Text only (binary numeric goes through arrow-pg).
    Decimal(&'a Decimal128Array, u32, DecimalText),
    /// Both formats here: arrow-pg 0.15 encodes a NULL interval's slot as a value, sending
    /// whatever bytes the engine left there (heap memory) to the client.
    Interval(&'a IntervalMonthDayNanoArray),
}

/// How a timestamp prints as text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum TimestampText {
    /// `timestamp` (without time zone): as it is.
    Plain,
    /// `timestamptz` at UTC: `+00`.
    Utc,
    /// `timestamptz` at the session's zone: the wall-clock time there and its offset.
    At(TimeZone),
}

impl TimestampText {
    /// A column's form: `with_zone` for `timestamptz`, shown at `zone` (`None`: UTC).
    pub(super) fn of(with_zone: bool, zone: Option<TimeZone>) -> TimestampText {
        match (with_zone, zone) {
            (false, _) => TimestampText::Plain,
            (true, None) => TimestampText::Utc,
            (true, Some(zone)) => TimestampText::At(zone),
        }
    }
}

/// How a decimal column prints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DecimalText {
    /// At its type's scale.
    Fixed,
    /// The engine's stand-in for an unconstrained numeric: without its trailing zeros (see
    /// `types::unconstrained_numerics_as_text`).
    StandIn,
    /// A column of numeric quotients: at the scale PostgreSQL gives each value (see
    /// [`quotient_scale`]).
    Quotient,
}

/// Whether a result column (its arrow field) is marked as one of numeric quotients.
fn is_quotient(field: &arrow::datatypes::Field) -> bool {
    field.metadata().contains_key(crate::exec::result_columns::QUOTIENT)
}

fn column<'a>(
    array: &'a Arc<dyn Array>,
    field: &FieldInfo,
    quotient: bool,
    zone: Option<TimeZone>,
) -> Option<Column<'a>> {
    let binary = field.format() == FieldFormat::Binary;
    Some(match array.data_type() {
        DataType::UInt32 if matches!(*field.datatype(), Type::OID | Type::XID) => Column::Oid(array.as_primitive()),
        DataType::Boolean => Column::Bool(array.as_boolean()),
        DataType::Int8 => Column::I8(array.as_primitive()),
        DataType::Int16 => Column::I16(array.as_primitive()),
        DataType::Int32 => Column::I32(array.as_primitive()),
        DataType::Int64 => Column::I64(array.as_primitive()),
        DataType::UInt8 => Column::U8(array.as_primitive()),
        DataType::UInt16 => Column::U16(array.as_primitive()),
        DataType::UInt32 => Column::U32(array.as_primitive()),
        DataType::Float32 => Column::F32(array.as_primitive()),
        DataType::Float64 => Column::F64(array.as_primitive()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Utf8(array.as_ref()),
        DataType::Date32 => Column::Date(array.as_primitive()),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Column::Timestamp(array.as_primitive(), TimestampText::of(tz.is_some(), zone))
        }
        DataType::Time64(TimeUnit::Microsecond) => Column::Time(array.as_primitive()),
        DataType::Decimal128(precision, scale) if !binary && *scale >= 0 => {
            let text = if quotient && i32::from(*scale) == i32::from(crate::engine::numeric::QUOTIENT_SCALE) {
                DecimalText::Quotient
            } else if (*precision, *scale) == (38, 9) && field.type_modifier() == -1 {
                DecimalText::StandIn
            } else {
                DecimalText::Fixed
            };
            Column::Decimal(array.as_primitive(), *scale as u32, text)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => Column::Interval(array.as_primitive()),
        _ => return None,
    })
}

fn utf8_value(array: &dyn Array, row: usize) -> &str {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        _ => array.as_string_view().value(row),
    }
}

/// Writes a length-prefixed field: reserves the length, runs `write`, patches the length.
fn field(buf: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    let at = buf.len();
    buf.put_i32(0);
    write(buf);
    let len = (buf.len() - at - 4) as i32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn put_display(buf: &mut BytesMut, value: impl itoa::Integer) {
    let mut b = itoa::Buffer::new();
    buf.put_slice(b.format(value).as_bytes());
}

fn put_float(buf: &mut BytesMut, value: f64, single: bool) {
    buf.put_slice(float_text(value, single).as_bytes());
}

/// Ryu's text of a positive number (`33906952.0`, `1e-5`, `0.0001`) as its significant digits
/// and the decimal exponent of the first (`3390695`, 7).
fn digits_and_exponent(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{whole}{fraction}");
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0').to_owned();
    if digits.is_empty() {
        return ("0".into(), 0);
    }
    (digits, whole.len() as i32 - leading as i32 - 1 + exponent)
}

/// A float as PostgreSQL prints it with `extra_float_digits` above zero (its default since
/// 12): the shortest digits that read back as the same value, in plain notation for decimal
/// exponents from -4 up to 14 (`float4`: 5), otherwise as `1.5e+300`; `NaN`, `Infinity`.
pub(super) fn float_text(value: f64, single: bool) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    // Ryu's shortest round-tripping digits, as PostgreSQL's own (it uses Ryu too)
    let mut buffer = ryu::Buffer::new();
    let shortest = if single { buffer.format_finite(value as f32) } else { buffer.format_finite(value) };
    let (sign, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", shortest),
    };
    let (digits, exponent) = digits_and_exponent(unsigned);
    let most = if single { 6 } else { 15 };
    if exponent < -4 || exponent >= most {
        let mantissa = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits.clone() };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs());
    }
    let text = if exponent < 0 {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    } else {
        let point = exponent as usize + 1;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{text}")
}

/// A decimal's digits without the zeros ending its fraction (`3.140000000` is `3.14`).
pub(super) fn without_trailing_zeros(mut value: i128, mut scale: u32) -> (i128, u32) {
    while scale > 0 && value % 10 == 0 {
        (value, scale) = (value / 10, scale - 1);
    }
    (value, scale)
}

/// A quotient (`value` × 10^-`scale`) at the scale PostgreSQL's division gives it, rounded half
/// away from zero: 16 significant decimals after its first base-10 000 digit (`select_div_scale`,
/// by the quotient's own weight where PostgreSQL estimates it from the operands'), no more than
/// the engine kept.
pub(super) fn quotient_scale(value: i128, scale: u32) -> (i128, u32) {
    let magnitude = value.unsigned_abs();
    // the weight of the first base-10 000 digit: digits before the point, or zeros after it
    let weight = if magnitude == 0 {
        -1
    } else {
        let digits = magnitude.ilog10() as i64 + 1 - i64::from(scale);
        if digits > 0 { (digits - 1) / 4 } else { -((-digits) / 4) - 1 }
    };
    let wanted = (16 - 4 * weight).clamp(0, i64::from(scale)) as u32;
    let drop = scale - wanted;
    if drop == 0 {
        return (value, scale);
    }
    let unit = 10u128.pow(drop);
    let (kept, rest) = (magnitude / unit, magnitude % unit);
    let rounded = (kept + u128::from(rest * 2 >= unit)) as i128;
    (if value < 0 { -rounded } else { rounded }, wanted)
}

/// An interval as PostgreSQL prints it (IntervalStyle `postgres`): `1 year 2 mons -3 days
/// +04:05:06.5`; each part with its own sign, a `+` on a positive one after a negative one,
/// fractional seconds only when there are any, `00:00:00` when all is zero.
fn put_interval(buf: &mut BytesMut, months: i32, days: i32, micros: i64) {
    use std::fmt::Write;
    let mut text = String::new();
    let mut after_negative = false;
    for (value, unit) in [(i64::from(months / 12), "year"), (i64::from(months % 12), "mon"), (i64::from(days), "day")] {
        if value == 0 {
            continue;
        }
        let space = if text.is_empty() { "" } else { " " };
        let plus = if after_negative && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        let _ = write!(text, "{space}{plus}{value} {unit}{plural}");
        after_negative = value < 0;
    }
    if text.is_empty() || micros != 0 {
        let space = if text.is_empty() { "" } else { " " };
        let sign = if micros < 0 {
            "-"
        } else if after_negative {
            "+"
        } else {
            ""
        };
        let magnitude = micros.unsigned_abs();
        let (hours, minutes) = (magnitude / 3_600_000_000, magnitude / 60_000_000 % 60);
        let (seconds, fraction) = (magnitude / 1_000_000 % 60, magnitude % 1_000_000);
        let _ = write!(text, "{space}{sign}{hours:02}:{minutes:02}:{seconds:02}");
        if fraction != 0 {
            text.push_str(format!(".{fraction:06}").trim_end_matches('0'));
        }
    }
    buf.put_slice(text.as_bytes());
}

/// A decimal's text (`value` × 10^-`scale`).
pub(super) fn decimal_text(value: i128, scale: u32) -> String {
    let mut buf = BytesMut::new();
    put_decimal(&mut buf, value, scale);
    String::from_utf8_lossy(&buf).into_owned()
}

fn put_decimal(buf: &mut BytesMut, value: i128, scale: u32) {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    if negative {
        buf.put_u8(b'-');
    }
    let scale = scale as usize;
    if scale == 0 {
        buf.put_slice(digits.as_bytes());
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        buf.put_slice(int.as_bytes());
        buf.put_u8(b'.');
        buf.put_slice(frac.as_bytes());
    } else {
        buf.put_slice(b"0.");
        for _ in 0..scale - digits.len() {
            buf.put_u8(b'0');
        }
        buf.put_slice(digits.as_bytes());
    }
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn put_padded(buf: &mut BytesMut, value: u32, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(value);
    for _ in digits.len()..width {
        buf.put_u8(b'0');
    }
    buf.put_slice(digits.as_bytes());
}

/// A date as PostgreSQL prints it; whether it is before Christ (PostgreSQL prints the year
/// `1 - y` and ends the whole value with ` BC`).
fn put_civil_date(buf: &mut BytesMut, days: i64) -> bool {
    let (year, month, day) = civil(days);
    let bc = year <= 0;
    let shown = if bc { 1 - year } else { year };
    let digits = shown.to_string();
    for _ in digits.len()..4 {
        buf.put_u8(b'0');
    }
    buf.put_slice(digits.as_bytes());
    buf.put_u8(b'-');
    put_padded(buf, month, 2);
    buf.put_u8(b'-');
    put_padded(buf, day, 2);
    bc
}

// DuckDB's infinities: the extreme values (its `-infinity` is one above the minimum).
const DATE_INFINITY: i32 = i32::MAX;
const DATE_MINUS_INFINITY: i32 = -i32::MAX;
const TIMESTAMP_INFINITY: i64 = i64::MAX;
const TIMESTAMP_MINUS_INFINITY: i64 = -i64::MAX;

fn put_date(buf: &mut BytesMut, days: i32) {
    match days {
        DATE_INFINITY => buf.put_slice(b"infinity"),
        i32::MIN | DATE_MINUS_INFINITY => buf.put_slice(b"-infinity"),
        _ => {
            if put_civil_date(buf, i64::from(days)) {
                buf.put_slice(b" BC");
            }
        }
    }
}

/// A fraction of a second (microseconds) as PostgreSQL prints it: nothing when zero, else a
/// point and its digits without trailing zeros.
fn put_fraction(buf: &mut BytesMut, frac: u32) {
    if frac == 0 {
        return;
    }
    let mut digits = [b'0'; 6];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    let end = digits.iter().rposition(|d| *d != b'0').map_or(0, |p| p + 1);
    buf.put_u8(b'.');
    buf.put_slice(&digits[..end]);
}

/// A time of day as PostgreSQL prints it (`12:00:00`, `09:30:00.5`, `24:00:00`).
fn put_time(buf: &mut BytesMut, micros: i64) {
    let seconds = micros.div_euclid(1_000_000);
    put_padded(buf, u32::try_from(seconds / 3600).unwrap_or(0), 2);
    buf.put_u8(b':');
    put_padded(buf, (seconds / 60 % 60) as u32, 2);
    buf.put_u8(b':');
    put_padded(buf, (seconds % 60) as u32, 2);
    put_fraction(buf, micros.rem_euclid(1_000_000) as u32);
}

pub(super) fn put_timestamp(buf: &mut BytesMut, micros: i64, text: TimestampText) {
    match micros {
        TIMESTAMP_INFINITY => return buf.put_slice(b"infinity"),
        i64::MIN | TIMESTAMP_MINUS_INFINITY => return buf.put_slice(b"-infinity"),
        _ => {}
    }
    // (an instant the offset would carry past the last timestamp is shown at UTC)
    let (offset, micros) = match text {
        TimestampText::At(zone) => {
            let offset = zone.offset_at(micros);
            match micros.checked_add(i64::from(offset) * 1_000_000) {
                Some(local) => (offset, local),
                None => (0, micros),
            }
        }
        _ => (0, micros),
    };
    let seconds = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000) as u32;
    let (days, secs_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400) as u32);
    let bc = put_civil_date(buf, days);
    buf.put_u8(b' ');
    put_padded(buf, secs_of_day / 3600, 2);
    buf.put_u8(b':');
    put_padded(buf, secs_of_day / 60 % 60, 2);
    buf.put_u8(b':');
    put_padded(buf, secs_of_day % 60, 2);
    put_fraction(buf, frac);
    if text != TimestampText::Plain {
        crate::gateway::time_zone::write_offset(buf, offset, true);
    }
    if bc {
        buf.put_slice(b" BC");
    }
}

impl Column<'_> {
    fn is_null(&self, row: usize) -> bool {
        match self {
            Column::Bool(a) => a.is_null(row),
            Column::I8(a) => a.is_null(row),
            Column::I16(a) => a.is_null(row),
            Column::I32(a) => a.is_null(row),
            Column::I64(a) => a.is_null(row),
            Column::U8(a) => a.is_null(row),
            Column::U16(a) => a.is_null(row),
            Column::U32(a) | Column::Oid(a) => a.is_null(row),
            Column::F32(a) => a.is_null(row),
            Column::F64(a) => a.is_null(row),
            Column::Utf8(a) => a.is_null(row),
            Column::Date(a) => a.is_null(row),
            Column::Timestamp(a, _) => a.is_null(row),
            Column::Time(a) => a.is_null(row),
            Column::Decimal(a, ..) => a.is_null(row),
            Column::Interval(a) => a.is_null(row),
        }
    }

    fn text(&self, buf: &mut BytesMut, row: usize) {
        match self {
            Column::Bool(a) => buf.put_u8(if a.value(row) { b't' } else { b'f' }),
            Column::I8(a) => put_display(buf, a.value(row)),
            Column::I16(a) => put_display(buf, a.value(row)),
            Column::I32(a) => put_display(buf, a.value(row)),
            Column::I64(a) => put_display(buf, a.value(row)),
            Column::U8(a) => put_display(buf, a.value(row)),
            Column::U16(a) => put_display(buf, a.value(row)),
            Column::U32(a) | Column::Oid(a) => put_display(buf, a.value(row)),
            Column::F32(a) => put_float(buf, a.value(row) as f64, true),
            Column::F64(a) => put_float(buf, a.value(row), false),
            Column::Utf8(a) => buf.put_slice(utf8_value(*a, row).as_bytes()),
            Column::Date(a) => put_date(buf, a.value(row)),
            Column::Timestamp(a, zone) => put_timestamp(buf, a.value(row), *zone),
            Column::Time(a) => put_time(buf, a.value(row)),
            Column::Decimal(a, scale, DecimalText::Fixed) => put_decimal(buf, a.value(row), *scale),
            Column::Decimal(a, scale, DecimalText::StandIn) => {
                let (value, scale) = without_trailing_zeros(a.value(row), *scale);
                put_decimal(buf, value, scale)
            }
            Column::Decimal(a, scale, DecimalText::Quotient) => {
                let (value, scale) = quotient_scale(a.value(row), *scale);
                put_decimal(buf, value, scale)
            }
            Column::Interval(a) => {
                let v = a.value(row);
                put_interval(buf, v.months, v.days, v.nanoseconds / 1000)
            }
        }
    }

    /// The binary form of the PostgreSQL type arrow-pg describes the column as.
    fn binary(&self, buf: &mut BytesMut, row: usize) {
        match self {
            Column::Bool(a) => buf.put_u8(a.value(row) as u8),
            Column::I8(a) => buf.put_i16(a.value(row) as i16),
            Column::I16(a) => buf.put_i16(a.value(row)),
            Column::I32(a) => buf.put_i32(a.value(row)),
            Column::I64(a) => buf.put_i64(a.value(row)),
            Column::U8(a) => buf.put_i16(a.value(row) as i16),
            Column::U16(a) => buf.put_i32(a.value(row) as i32),
            Column::U32(a) => buf.put_i64(a.value(row) as i64),
            Column::Oid(a) => buf.put_u32(a.value(row)),
            Column::F32(a) => buf.put_f32(a.value(row)),
            Column::F64(a) => buf.put_f64(a.value(row)),
            Column::Utf8(a) => buf.put_slice(utf8_value(*a, row).as_bytes()),
            // (±infinity stays the extreme value PostgreSQL sends for it)
            Column::Date(a) => buf.put_i32(match a.value(row) {
                DATE_INFINITY => i32::MAX,
                i32::MIN | DATE_MINUS_INFINITY => i32::MIN,
                days => days.saturating_sub(PG_EPOCH_DAYS),
            }),
            Column::Timestamp(a, _) => buf.put_i64(match a.value(row) {
                TIMESTAMP_INFINITY => i64::MAX,
                i64::MIN | TIMESTAMP_MINUS_INFINITY => i64::MIN,
                micros => micros.saturating_sub(PG_EPOCH_MICROS),
            }),
            // (microseconds from midnight, as PostgreSQL sends a time)
            Column::Time(a) => buf.put_i64(a.value(row)),
            Column::Decimal(..) => unreachable!("binary numeric is not on the fast path"),
            // (as PostgreSQL sends an interval: microseconds, days, months)
            Column::Interval(a) => {
                let v = a.value(row);
                buf.put_i64(v.nanoseconds / 1000);
                buf.put_i32(v.days);
                buf.put_i32(v.months);
            }
        }
    }
}

/// `batch` with each binary `oid` column (UInt32) as the Int32 of the same bits.
fn oids_as_int32(batch: &RecordBatch, fields: &[FieldInfo]) -> crate::error::Result<RecordBatch> {
    let binary_oid = |array: &Arc<dyn Array>, field: &FieldInfo| {
        array.data_type() == &DataType::UInt32
            && field.format() == FieldFormat::Binary
            && matches!(*field.datatype(), Type::OID | Type::XID)
    };
    if !batch.columns().iter().zip(fields).any(|(a, f)| binary_oid(a, f)) {
        return Ok(batch.clone());
    }
    let mut schema_fields = Vec::with_capacity(fields.len());
    let mut columns = Vec::with_capacity(fields.len());
    for ((array, field), arrow_field) in batch.columns().iter().zip(fields).zip(batch.schema().fields()) {
        if binary_oid(array, field) {
            let bits: Int32Array = array.as_primitive::<arrow::datatypes::UInt32Type>().unary(|v| v as i32);
            columns.push(Arc::new(bits) as Arc<dyn Array>);
            schema_fields.push(arrow::datatypes::Field::new(arrow_field.name(), DataType::Int32, true));
        } else {
            columns.push(Arc::clone(array));
            schema_fields.push(arrow_field.as_ref().clone());
        }
    }
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(schema_fields)), columns)
        .map_err(|e| crate::error::Error::internal("encoding oids", e))
}

/// Encodes a batch (already in its wire form) as DataRows.
/// `zone`: the session's time zone (`None`: UTC), where `timestamptz` values are shown.
pub(super) fn encode_batch(
    batch: RecordBatch,
    fields: Arc<Vec<FieldInfo>>,
    zone: Option<TimeZone>,
) -> Vec<PgWireResult<DataRow>> {
    let schema = batch.schema();
    let columns: Option<Vec<(Column<'_>, FieldFormat)>> = batch
        .columns()
        .iter()
        .zip(fields.iter())
        .zip(schema.fields())
        .map(|((array, field), arrow)| column(array, field, is_quotient(arrow), zone).map(|c| (c, field.format())))
        .collect();
    let Some(columns) = columns else {
        // (the columns this encoder prints go as its text: arrow-pg prints 8::float8 as `8.0`)
        let batch = known_columns_as_text(batch, &fields, zone);
        // arrow-pg sends a UInt32 as 8 bytes: a binary oid goes as the Int32 of its bits
        let batch = match oids_as_int32(&batch, &fields) {
            Ok(batch) => batch,
            Err(e) => return vec![Err(super::errors::to_pg(&e))],
        };
        return match super::types::render_text_timestamps(batch, &fields, zone) {
            Ok(batch) => super::types::encode_rows(fields, batch),
            Err(e) => vec![Err(super::errors::to_pg(&e))],
        };
    };
    let rows = batch.num_rows();
    let mut buf = BytesMut::with_capacity(rows * (columns.len() * 12 + 8));
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        for (column, format) in &columns {
            if column.is_null(row) {
                buf.put_i32(-1);
            } else if *format == FieldFormat::Binary {
                field(&mut buf, |b| column.binary(b, row));
            } else {
                field(&mut buf, |b| column.text(b, row));
            }
        }
        let data = buf.split();
        out.push(Ok(DataRow::new(data, columns.len() as i16)));
    }
    out
}

/// A batch (in its wire form) as `COPY … TO STDOUT` lines, one per row: PostgreSQL's text
/// format or CSV, each value as it prints in a result.
pub(super) fn copy_lines(
    batch: &RecordBatch,
    format: &crate::gateway::copy::CopyFormat,
    zone: Option<TimeZone>,
) -> crate::error::Result<Vec<bytes::Bytes>> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let names = batch.schema();
    let columns: Vec<(Option<Column<'_>>, Option<ArrayFormatter<'_>>, bool)> = batch
        .columns()
        .iter()
        .zip(names.fields())
        .map(|(array, f)| {
            let forced = format.force_quote_all || format.force_quote.iter().any(|c| c == f.name());
            let text = FieldInfo::new(f.name().clone(), None, None, Type::TEXT, FieldFormat::Text);
            match column(array, &text, is_quotient(f), zone) {
                Some(c) => Ok((Some(c), None, forced)),
                None => ArrayFormatter::try_new(array.as_ref(), &options)
                    .map(|fmt| (None, Some(fmt), forced))
                    .map_err(|e| crate::error::Error::internal("formatting COPY output", e)),
            }
        })
        .collect::<crate::error::Result<_>>()?;
    let mut value = BytesMut::new();
    let mut line = BytesMut::with_capacity(batch.num_rows() * (columns.len() * 12 + 2));
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (i, (fast, slow, forced)) in columns.iter().enumerate() {
            if i > 0 {
                line.put_u8(format.delimiter as u8);
            }
            let is_null = match (fast, slow) {
                (Some(c), _) => c.is_null(row),
                _ => batch.column(i).is_null(row),
            };
            if is_null {
                line.put_slice(format.null.as_bytes());
                continue;
            }
            value.clear();
            match (fast, slow) {
                (Some(c), _) => c.text(&mut value, row),
                (None, Some(f)) => {
                    use std::fmt::Write;
                    let mut text = String::new();
                    let _ = write!(text, "{}", f.value(row));
                    value.put_slice(text.as_bytes());
                }
                (None, None) => {}
            }
            if format.csv {
                put_csv_value(&mut line, &value, format, *forced);
            } else {
                put_text_value(&mut line, &value, format.delimiter as u8);
            }
        }
        line.put_u8(b'\n');
        out.push(line.split().freeze());
    }
    Ok(out)
}

/// A value in COPY's text format: backslash escapes for the delimiter and control characters.
fn put_text_value(line: &mut BytesMut, value: &[u8], delimiter: u8) {
    for &b in value {
        match b {
            b'\\' => line.put_slice(b"\\\\"),
            b'\n' => line.put_slice(b"\\n"),
            b'\r' => line.put_slice(b"\\r"),
            b'\t' if delimiter == b'\t' => line.put_slice(b"\\t"),
            b if b == delimiter => {
                line.put_u8(b'\\');
                line.put_u8(b);
            }
            b => line.put_u8(b),
        }
    }
}

/// A value in CSV: quoted when it holds the delimiter, a quote, a line break, or would read
/// back as NULL.
fn put_csv_value(line: &mut BytesMut, value: &[u8], format: &crate::gateway::copy::CopyFormat, forced: bool) {
    let (delimiter, quote, escape) = (format.delimiter as u8, format.quote as u8, format.escape as u8);
    let needs_quotes = forced
        || value == format.null.as_bytes()
        || value.iter().any(|&b| b == delimiter || b == quote || b == b'\n' || b == b'\r')
        || (value.first() == Some(&b'\\') && value.get(1) == Some(&b'.'));
    if !needs_quotes {
        line.put_slice(value);
        return;
    }
    line.put_u8(quote);
    for &b in value {
        if b == quote || b == escape {
            line.put_u8(escape);
        }
        line.put_u8(b);
    }
    line.put_u8(quote);
}

/// A batch that goes through arrow-pg (a column of a type this encoder does not print, such as
/// an array) with every text-format column this encoder prints replaced by its text, so those
/// columns read as they do in any other batch.
fn known_columns_as_text(batch: RecordBatch, fields: &[FieldInfo], zone: Option<TimeZone>) -> RecordBatch {
    let schema = batch.schema();
    let mut changed = false;
    let columns: Vec<arrow::array::ArrayRef> = batch
        .columns()
        .iter()
        .zip(fields)
        .zip(schema.fields())
        .map(|((array, field), arrow)| {
            let text = field.format() == FieldFormat::Text
                && !matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
            let Some(c) = column(array, field, is_quotient(arrow), zone).filter(|_| text) else {
                return Arc::clone(array);
            };
            changed = true;
            let mut out = arrow::array::StringBuilder::new();
            let mut buf = BytesMut::new();
            for row in 0..array.len() {
                if c.is_null(row) {
                    out.append_null();
                } else {
                    buf.clear();
                    c.text(&mut buf, row);
                    out.append_value(String::from_utf8_lossy(&buf));
                }
            }
            Arc::new(out.finish()) as arrow::array::ArrayRef
        })
        .collect();
    if !changed {
        return batch;
    }
    let texts: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| {
            arrow::datatypes::Field::new(f.name(), c.data_type().clone(), true).with_metadata(f.metadata().clone())
        })
        .collect();
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(texts)), columns).unwrap_or(batch)
}

/// The longest composite value's text sent (PostgreSQL's limit for any value is 1 GB; each
/// nesting level of a record can double its quoting, so nesting is bounded by this too).
pub(super) const MAX_RECORD_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// A composite column (DuckDB's STRUCT: `ROW(1, 'a')`, a whole-row reference) as PostgreSQL's
/// record text, `(1,a,)`: each field as its own type prints (a bytea as `\x…`, an array as
/// `{…}`, a record as its text), a NULL as nothing, a value quoted when it is empty or holds a
/// quote, a backslash, a parenthesis, a comma or white space. A field of another type, or a
/// value longer than [`MAX_RECORD_TEXT_BYTES`], is refused rather than sent garbled.
pub(super) fn record_texts(array: &dyn Array) -> crate::error::Result<arrow::array::ArrayRef> {
    let texts = value_texts(array)?;
    let mut out = arrow::array::StringBuilder::new();
    let mut total = 0usize;
    for text in texts {
        total += text.as_ref().map_or(0, Vec::len);
        if total > 4 * MAX_RECORD_TEXT_BYTES {
            return Err(too_long());
        }
        out.append_option(text.map(|t| String::from_utf8_lossy(&t).into_owned()));
    }
    Ok(Arc::new(out.finish()))
}

fn too_long() -> crate::error::Error {
    crate::error::Error::sql(
        crate::error::SqlState::ProgramLimitExceeded,
        format!("a composite or array value longer than {MAX_RECORD_TEXT_BYTES} bytes cannot be sent"),
    )
}

fn unsupported_field(data_type: &DataType) -> crate::error::Error {
    crate::error::Error::unsupported(format!("a composite value with a field of type {data_type} cannot be sent"))
}

/// Each value of `array` as PostgreSQL's text of it (None: NULL), for a record's or an array's
/// element.
fn value_texts(array: &dyn Array) -> crate::error::Result<Vec<Option<Vec<u8>>>> {
    let text_field = FieldInfo::new(String::new(), None, None, Type::TEXT, FieldFormat::Text);
    let rows = 0..array.len();
    if let Some(record) = array.as_struct_opt() {
        let fields: Vec<Vec<Option<Vec<u8>>>> =
            record.columns().iter().map(|c| value_texts(c.as_ref())).collect::<crate::error::Result<_>>()?;
        return rows
            .map(|row| {
                if record.is_null(row) {
                    return Ok(None);
                }
                let items = fields.iter().map(|f| f[row].as_deref());
                composite(b'(', b')', items, |v| v.is_empty(), false).map(Some)
            })
            .collect();
    }
    if let Some(list) = array.as_list_opt::<i32>() {
        return rows
            .map(|row| {
                if list.is_null(row) {
                    return Ok(None);
                }
                let items = value_texts(list.value(row).as_ref())?;
                // an element is quoted when empty or spelled NULL, and a NULL one is NULL
                let quote = |v: &[u8]| v.is_empty() || v.eq_ignore_ascii_case(b"null");
                composite(b'{', b'}', items.iter().map(|i| i.as_deref()), quote, true).map(Some)
            })
            .collect();
    }
    if let Some(bytes) = array.as_binary_opt::<i32>() {
        return Ok(rows
            .map(|row| {
                (!bytes.is_null(row)).then(|| {
                    let value = bytes.value(row);
                    let mut text = Vec::with_capacity(2 + value.len() * 2);
                    text.extend_from_slice(b"\\x");
                    for b in value {
                        text.extend_from_slice(format!("{b:02x}").as_bytes());
                    }
                    text
                })
            })
            .collect());
    }
    if matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Ok(rows.map(|row| (!array.is_null(row)).then(|| utf8_value(array, row).as_bytes().to_vec())).collect());
    }
    let arrow_ref: arrow::array::ArrayRef = arrow::array::make_array(array.to_data());
    let Some(c) = column(&arrow_ref, &text_field, false, None) else {
        return Err(unsupported_field(array.data_type()));
    };
    Ok(rows
        .map(|row| {
            (!c.is_null(row)).then(|| {
                let mut buf = BytesMut::new();
                c.text(&mut buf, row);
                buf.to_vec()
            })
        })
        .collect())
}

/// `open item,item,… close` with record_out's (or array_out's) quoting; a NULL item is nothing
/// in a record and `NULL` in an array.
fn composite<'a>(
    open: u8,
    close: u8,
    items: impl Iterator<Item = Option<&'a [u8]>>,
    also_quote: impl Fn(&[u8]) -> bool,
    array: bool,
) -> crate::error::Result<Vec<u8>> {
    let mut text = vec![open];
    for (i, item) in items.enumerate() {
        if i > 0 {
            text.push(b',');
        }
        match item {
            None if array => text.extend_from_slice(b"NULL"),
            None => {}
            Some(value) => {
                let special = |b: &u8| {
                    matches!(b, b'"' | b'\\' | b',')
                        || b.is_ascii_whitespace()
                        || if array { matches!(b, b'{' | b'}') } else { matches!(b, b'(' | b')') }
                };
                if also_quote(value) || value.iter().any(special) {
                    text.push(b'"');
                    // (record_out doubles a quote or backslash, array_out escapes it)
                    for &b in value {
                        if b == b'"' || b == b'\\' {
                            text.push(if array { b'\\' } else { b });
                        }
                        text.push(b);
                    }
                    text.push(b'"');
                } else {
                    text.extend_from_slice(value);
                }
            }
        }
        if text.len() > MAX_RECORD_TEXT_BYTES {
            return Err(too_long());
        }
    }
    text.push(close);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use pgwire::api::portal::Format;

    #[test]
    fn floats_print_as_postgresql_15_prints_them() {
        // each pair as `SELECT x::float8` answers in PostgreSQL 15 (extra_float_digits 1)
        let doubles = [
            (10.0, "10"),
            (1e300, "1e+300"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (1.5e-7, "1.5e-07"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1.2345678901234567, "1.2345678901234567"),
            (-0.0, "-0"),
        ];
        for (value, text) in doubles {
            assert_eq!(float_text(value, false), text, "{value}");
        }
        let singles =
            [(0.1f32, "0.1"), (1e20, "1e+20"), (3.4e38, "3.4e+38"), (100.0, "100"), (1234567.0, "1.234567e+06")];
        for (value, text) in singles {
            assert_eq!(float_text(f64::from(value), true), text, "{value}");
        }
    }

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Boolean, true),
            Field::new("i2", DataType::Int16, true),
            Field::new("i4", DataType::Int32, true),
            Field::new("i8", DataType::Int64, true),
            Field::new("f4", DataType::Float32, true),
            Field::new("f8", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("tz", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), true),
            Field::new("u1", DataType::UInt8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                Arc::new(Int16Array::from(vec![Some(-3), Some(i16::MAX), None])),
                Arc::new(Int32Array::from(vec![Some(0), None, Some(i32::MIN)])),
                Arc::new(Int64Array::from(vec![Some(i64::MAX), Some(-1), None])),
                Arc::new(Float32Array::from(vec![Some(1.5), Some(-0.1), None])),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(1e20), Some(f64::NAN)])),
                Arc::new(arrow::array::StringArray::from(vec![Some("héllo"), Some(""), None])),
                Arc::new(Date32Array::from(vec![Some(19_000), Some(-1), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), Some(-5), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_000), None, Some(0)])
                        .with_timezone("+00:00"),
                ),
                Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn intervals_print_as_postgresql_prints_them() {
        let text = |months, days, micros| {
            let mut buf = BytesMut::new();
            put_interval(&mut buf, months, days, micros);
            String::from_utf8(buf.to_vec()).unwrap()
        };
        // each expected text is PostgreSQL 15's for the same interval
        assert_eq!(text(14, -3, 14_706_500_000), "1 year 2 mons -3 days +04:05:06.5");
        assert_eq!(text(0, -1, 7_200_000_000), "-1 days +02:00:00");
        assert_eq!(text(0, 0, 0), "00:00:00");
        assert_eq!(text(0, 0, -1_250_000), "-00:00:01.25");
        assert_eq!(text(1, 0, 0), "1 mon");
        assert_eq!(text(0, 2, 0), "2 days");
        assert_eq!(text(0, 0, 360_000_000_000), "100:00:00");
        assert_eq!(text(-14, 3, 0), "-1 years -2 mons +3 days");
        assert_eq!(text(-14, -3, -3_600_000_000), "-1 years -2 mons -3 days -01:00:00");
        assert_eq!(text(0, 1, -3_600_000_000), "1 day -01:00:00");
    }

    /// A NULL interval is sent as NULL in both formats, whatever its slot holds (DuckDB leaves
    /// memory there; arrow-pg 0.15 sent it as a value).
    #[test]
    fn a_null_interval_is_null_whatever_its_slot_holds() {
        use arrow::datatypes::IntervalMonthDayNano;
        let garbage = IntervalMonthDayNano::new(0x7f00_a83f, 0x122a_0000, 0x7f07_583d_cc60);
        let values = arrow::buffer::ScalarBuffer::from(vec![IntervalMonthDayNano::new(14, 3, 5_000), garbage]);
        let nulls = arrow::buffer::NullBuffer::from(vec![true, false]);
        let array = IntervalMonthDayNanoArray::new(values, Some(nulls));
        let schema = Arc::new(Schema::new(vec![Field::new("iv", array.data_type().clone(), true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(array)]).unwrap();
        for format in [Format::UnifiedBinary, Format::UnifiedText] {
            let fields = Arc::new(crate::pg::types::fields(&batch.schema(), &format).unwrap());
            let rows: Vec<DataRow> =
                encode_batch(batch.clone(), fields, None).into_iter().map(Result::unwrap).collect();
            assert_eq!(rows.len(), 2);
            // a NULL field is its length, -1, alone
            assert_eq!(rows[1].data.as_ref(), (-1i32).to_be_bytes(), "{format:?}");
            let expected: Vec<u8> = match format {
                Format::UnifiedBinary => {
                    [16i32.to_be_bytes().as_slice(), &5i64.to_be_bytes(), &3i32.to_be_bytes(), &14i32.to_be_bytes()]
                        .concat()
                }
                _ => {
                    let text = b"1 year 2 mons 3 days 00:00:00.000005";
                    [(text.len() as i32).to_be_bytes().as_slice(), text].concat()
                }
            };
            assert_eq!(rows[0].data.as_ref(), expected.as_slice(), "{format:?}");
        }
    }

    #[test]
    fn binary_rows_match_arrow_pg_byte_for_byte() {
        let batch = sample();
        let fields = Arc::new(crate::pg::types::fields(&batch.schema(), &Format::UnifiedBinary).unwrap());
        let fast: Vec<DataRow> =
            encode_batch(batch.clone(), Arc::clone(&fields), None).into_iter().map(Result::unwrap).collect();
        let reference: Vec<DataRow> =
            arrow_pg::datatypes::encode_recordbatch(fields, batch).map(Result::unwrap).collect();
        assert_eq!(fast, reference);
    }

    #[test]
    fn text_rows_match_arrow_pg_except_postgres_timestamp_and_float_style() {
        // (floats print as PostgreSQL's do, unlike arrow-pg's: see the test above)
        let sample = sample();
        let keep: Vec<usize> =
            (0..sample.num_columns()).filter(|&i| !sample.schema().field(i).data_type().is_floating()).collect();
        let batch = sample.project(&keep).unwrap();
        let fields = Arc::new(crate::pg::types::fields(&batch.schema(), &Format::UnifiedText).unwrap());
        let fast: Vec<DataRow> =
            encode_batch(batch.clone(), Arc::clone(&fields), None).into_iter().map(Result::unwrap).collect();
        let styled = crate::pg::types::render_text_timestamps(batch, &fields, None).unwrap();
        let reference: Vec<DataRow> =
            arrow_pg::datatypes::encode_recordbatch(fields, styled).map(Result::unwrap).collect();
        assert_eq!(fast, reference);
    }

    #[test]
    fn a_batch_with_an_array_prints_its_other_columns_as_any_batch_does() {
        // (PostgreSQL 15: SELECT 8::float8, ARRAY[1], 1.5::float4 answers 8, {1}, 1.5)
        use arrow::array::{ArrayRef, ListArray};
        use arrow::datatypes::{Field, Int32Type, Schema};
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![Some(8.0), None]));
        let reals: ArrayRef = Arc::new(Float32Array::from(vec![Some(1.5), Some(0.1)]));
        let lists: ArrayRef =
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]), Some(vec![])]));
        let schema = Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("a", lists.data_type().clone(), true),
            Field::new("r", DataType::Float32, true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![floats, lists, reals]).unwrap();
        let fields = Arc::new(crate::pg::types::fields(&batch.schema(), &Format::UnifiedText).unwrap());
        let rows: Vec<DataRow> = encode_batch(batch, fields, None).into_iter().map(Result::unwrap).collect();
        let text = |row: &DataRow| String::from_utf8_lossy(&row.data).into_owned();
        assert!(text(&rows[0]).contains('8') && !text(&rows[0]).contains("8.0"), "{:?}", text(&rows[0]));
        assert!(text(&rows[1]).contains("0.1") && !text(&rows[1]).contains("0.100"), "{:?}", text(&rows[1]));
    }

    #[test]
    fn dates_and_timestamps_print_like_chrono_over_the_whole_range() {
        for days in (-700_000..2_900_000).step_by(997) {
            let mut buf = BytesMut::new();
            put_civil_date(&mut buf, days);
            let want = chrono::DateTime::from_timestamp(days * 86_400, 0).unwrap().format("%Y-%m-%d").to_string();
            assert_eq!(std::str::from_utf8(&buf).unwrap(), want, "{days}");
        }
        // PostgreSQL's own answers: years before 1 are BC, years past 9999 print whole, the
        // infinities by name
        for (days, want) in [
            (-719_162, "0001-01-01"),
            (-719_163, "0001-12-31 BC"),
            (-735_160, "0044-03-15 BC"),
            (2_932_897, "10000-01-01"),
            (i32::MAX, "infinity"),
            (-i32::MAX, "-infinity"),
        ] {
            let mut buf = BytesMut::new();
            put_date(&mut buf, days);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), want, "{days}");
        }
        let mut buf = BytesMut::new();
        put_timestamp(&mut buf, -719_163 * 86_400_000_000 + 3_600_000_000, TimestampText::Utc);
        assert_eq!(&buf[..], b"0001-12-31 01:00:00+00 BC");
        for (micros, want) in [(i64::MAX, "infinity"), (-i64::MAX, "-infinity"), (i64::MIN, "-infinity")] {
            buf.clear();
            put_timestamp(&mut buf, micros, TimestampText::Plain);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), want);
        }
        buf.clear();
        put_timestamp(&mut buf, -1, TimestampText::Utc);
        assert_eq!(&buf[..], b"1969-12-31 23:59:59.999999+00");
        buf.clear();
        put_timestamp(&mut buf, 1_700_000_000_120_000, TimestampText::Plain);
        assert_eq!(&buf[..], b"2023-11-14 22:13:20.12");
    }

    #[test]
    fn records_print_as_postgresql_prints_them() {
        use arrow::array::{ArrayRef, BooleanArray, Int32Array, StringArray, StructArray};
        use arrow::datatypes::Field;
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3)]));
        let texts: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some(""), Some("x \"y\", (z)")]));
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]));
        let record = StructArray::from(vec![
            (Arc::new(Field::new("i", DataType::Int32, true)), ints),
            (Arc::new(Field::new("t", DataType::Utf8, true)), texts),
            (Arc::new(Field::new("b", DataType::Boolean, true)), flags),
        ]);
        let texts = record_texts(&record).unwrap();
        let texts = texts.as_string::<i32>();
        // (PostgreSQL 15: SELECT ROW(1, 'a', true), ROW(NULL::int, '', false), ROW(3, 'x "y", (z)', NULL))
        assert_eq!(texts.value(0), "(1,a,t)");
        assert_eq!(texts.value(1), "(,\"\",f)");
        assert_eq!(texts.value(2), "(3,\"x \"\"y\"\", (z)\",)");
        // (PostgreSQL 15: SELECT ROW('\x00ff'::bytea, ARRAY['a,b', NULL, '', 'x']))
        use arrow::array::{BinaryArray, ListArray};
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&[0u8, 255][..])]));
        let items = StringArray::from(vec![Some("a,b"), None, Some(""), Some("x")]);
        let list: ArrayRef = Arc::new(ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            arrow::buffer::OffsetBuffer::new(vec![0, 4].into()),
            Arc::new(items),
            None,
        ));
        let record = StructArray::from(vec![
            (Arc::new(Field::new("b", DataType::Binary, true)), bytes),
            (Arc::new(Field::new("l", list.data_type().clone(), true)), list),
        ]);
        let texts = record_texts(&record).unwrap();
        assert_eq!(texts.as_string::<i32>().value(0), r#"("\\x00ff","{""a,b"",NULL,"""",x}")"#);

        // each level of nesting doubles the quoting: bounded, refused, never a panic
        let mut nested: ArrayRef = Arc::new(StringArray::from(vec![Some("x \"y\"")]));
        for _ in 0..40 {
            let field = Arc::new(Field::new("r", nested.data_type().clone(), true));
            nested = Arc::new(StructArray::from(vec![(field, nested)]));
        }
        assert_eq!(record_texts(nested.as_ref()).unwrap_err().sqlstate(), "54000");
    }

    #[test]
    fn decimals_print_with_their_scale() {
        let mut buf = BytesMut::new();
        for (v, s, want) in [(150, 2, "1.50"), (-5, 3, "-0.005"), (0, 2, "0.00"), (12345, 0, "12345")] {
            buf.clear();
            put_decimal(&mut buf, v, s);
            assert_eq!(&buf[..], want.as_bytes());
        }
    }
}
