//! Types on the wire: Arrow result columns as PostgreSQL fields (with PostgreSQL's own OIDs),
//! and bound parameter values decoded from text or binary.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;

use crate::engine::Param;
use crate::error::{Error, Result, SqlState};
use crate::gateway::ParamType;

/// Whether the wire encoder handles `data_type` natively; anything else is sent as text.
fn encodable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
        | DataType::Date32
        | DataType::Date64
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Timestamp(_, _)
        | DataType::Interval(_)
        | DataType::Duration(_) => true,
        DataType::Decimal128(_, _) => true,
        DataType::List(f) | DataType::LargeList(f) => {
            encodable(f.data_type()) && !matches!(f.data_type(), DataType::List(_) | DataType::Struct(_))
        }
        DataType::Dictionary(_, value) => encodable(value),
        _ => false,
    }
}

/// The type a column is sent as: unencodable types become text, and time zones become a UTC
/// offset (values are UTC instants either way; the encoder only understands offsets).
fn wire_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Timestamp(unit, Some(tz)) if tz.as_ref() != UTC_OFFSET => {
            DataType::Timestamp(*unit, Some(UTC_OFFSET.into()))
        }
        t if encodable(t) => t.clone(),
        _ => DataType::Utf8,
    }
}

const UTC_OFFSET: &str = "+00:00";

/// The schema as sent.
pub(super) fn wire_schema(schema: &SchemaRef) -> SchemaRef {
    // a select list of nothing: rows of no columns (see gateway::compat::NO_COLUMNS)
    if let [only] = schema.fields().as_ref()
        && only.name() == crate::gateway::compat::NO_COLUMNS
    {
        return Arc::new(Schema::empty());
    }
    if schema.fields().iter().all(|f| field_wire_type(f) == *f.data_type()) {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut metadata = f.metadata().clone();
            // a composite value is PostgreSQL's `record`
            if matches!(f.data_type(), DataType::Struct(_)) && declared_type(f).is_none() {
                metadata.insert(crate::exec::result_columns::TYPE_OID.to_owned(), "2249".to_owned());
            }
            Field::new(f.name(), field_wire_type(f), true).with_metadata(metadata)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A column's wire type: [`wire_type`], and an `oid` or `xid` column's 64-bit integers as the
/// unsigned 4 bytes those types have (see `exec::result_columns`).
fn field_wire_type(field: &Field) -> DataType {
    if field.data_type() == &DataType::Int64 && matches!(declared_type(field), Some((26 | 28, _))) {
        return DataType::UInt32;
    }
    if matches!(field.data_type(), DataType::Decimal128(_, 0)) && matches!(declared_type(field), Some((20, _))) {
        return DataType::Int64;
    }
    if field.data_type() == &DataType::Float64 && matches!(declared_type(field), Some((700, _))) {
        return DataType::Float32;
    }
    // an int2vector or oidvector goes as its text (`1 2`; in binary results it is described as text)
    if matches!(field.data_type(), DataType::List(_)) && matches!(declared_type(field), Some((22 | 30, _))) {
        return DataType::Utf8;
    }
    wire_type(field.data_type())
}

/// The PostgreSQL type and typmod a result column was marked with (`exec::result_columns`).
fn declared_type(field: &Field) -> Option<(u32, i32)> {
    let metadata = field.metadata();
    let type_oid = metadata.get(crate::exec::result_columns::TYPE_OID)?.parse().ok()?;
    let typmod = metadata.get(crate::exec::result_columns::TYPMOD).and_then(|t| t.parse().ok()).unwrap_or(-1);
    Some((type_oid, typmod))
}

/// The table OID and column number a result column was marked with.
fn table_column(field: &Field) -> Option<(i32, i16)> {
    let metadata = field.metadata();
    let table = metadata.get(crate::exec::result_columns::TABLE_OID)?.parse::<i64>().ok()?;
    let attnum = metadata.get(crate::exec::result_columns::ATTNUM)?.parse().ok()?;
    // OIDs are unsigned 32-bit; the protocol carries them as int32
    Some((table as u32 as i32, attnum))
}

/// Encodes a batch as DataRows, stopping at the first value that cannot be encoded.
pub(super) fn encode_rows(
    fields: Arc<Vec<FieldInfo>>,
    batch: RecordBatch,
) -> Vec<pgwire::error::PgWireResult<pgwire::messages::data::DataRow>> {
    let batch = unconstrained_numerics_as_text(&fields, batch);
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in arrow_pg::datatypes::encode_recordbatch(fields, batch) {
        let failed = row.is_err();
        rows.push(row);
        if failed {
            break;
        }
    }
    rows
}

/// The engine's stand-in for an unconstrained `numeric` (DECIMAL(38,9), see
/// `gateway::compat::NUMERIC_AS_STORED`) has nine decimals where PostgreSQL prints a value's own
/// digits (`3.14`, `1000`, not `3.140000000`): in text results those columns are printed without
/// the stand-in's trailing zeros; a column of quotients at the scale PostgreSQL gives each value
/// (`encode::quotient_scale`). (A binary result keeps the scale: the number is the same.)
fn unconstrained_numerics_as_text(fields: &[FieldInfo], batch: RecordBatch) -> RecordBatch {
    use arrow::array::{Array, AsArray, StringBuilder};
    let quotient_type = DataType::Decimal128(38, crate::engine::numeric::QUOTIENT_SCALE as i8);
    let quotient = |i: usize| {
        batch.schema().field(i).metadata().contains_key(crate::exec::result_columns::QUOTIENT)
            && batch.column(i).data_type() == &quotient_type
    };
    let stand_in = |i: usize, field: &FieldInfo| {
        field.format() == pgwire::api::results::FieldFormat::Text
            && *field.datatype() == Type::NUMERIC
            && field.type_modifier() == -1
            && (batch.column(i).data_type() == &DataType::Decimal128(38, 9) || quotient(i))
    };
    if !fields.iter().enumerate().any(|(i, f)| i < batch.num_columns() && stand_in(i, f)) {
        return batch;
    }
    let mut columns = batch.columns().to_vec();
    let mut schema_fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    for (i, field) in fields.iter().enumerate().take(columns.len()) {
        if !stand_in(i, field) {
            continue;
        }
        let decimals = columns[i].as_primitive::<arrow::datatypes::Decimal128Type>();
        let mut text = StringBuilder::with_capacity(decimals.len(), decimals.len() * 8);
        for row in 0..decimals.len() {
            if decimals.is_null(row) {
                text.append_null();
                continue;
            }
            let (value, scale) = if quotient(i) {
                super::encode::quotient_scale(decimals.value(row), u32::from(crate::engine::numeric::QUOTIENT_SCALE))
            } else {
                super::encode::without_trailing_zeros(decimals.value(row), 9)
            };
            text.append_value(super::encode::decimal_text(value, scale));
        }
        columns[i] = Arc::new(text.finish());
        schema_fields[i] = Field::new(schema_fields[i].name(), DataType::Utf8, true);
    }
    RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), columns).unwrap_or(batch)
}

/// Casts a batch to its wire schema (a no-op when nothing needs converting).
pub(super) fn to_wire_batch(batch: RecordBatch, wire: &SchemaRef) -> Result<RecordBatch> {
    if wire.fields().is_empty() && batch.num_columns() > 0 {
        let rows = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        return RecordBatch::try_new_with_options(Arc::clone(wire), vec![], &rows)
            .map_err(|e| crate::error::Error::internal("a result of no columns", e));
    }
    let jsonb = |field: &Field| matches!(declared_type(field), Some((3802, _)));
    // (a column of quotients needs its mark, on the wire schema, where it is encoded)
    let quotient = |field: &Field| field.metadata().contains_key(crate::exec::result_columns::QUOTIENT);
    if batch.schema().fields().iter().zip(wire.fields()).all(|(a, b)| a.data_type() == b.data_type())
        && !wire.fields().iter().any(|f| jsonb(f) || quotient(f))
    {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(wire.fields())
        .map(|(col, field)| {
            if jsonb(field) && col.data_type() == &DataType::Utf8 {
                Ok(jsonb_text(col))
            } else if col.data_type() == field.data_type() {
                Ok(Arc::clone(col))
            } else if matches!(col.data_type(), DataType::List(_)) && matches!(declared_type(field), Some((22 | 30, _)))
            {
                Ok(vector_text(col))
            } else if matches!(col.data_type(), DataType::Struct(_)) {
                super::encode::record_texts(col.as_ref())
            } else {
                // a value the wire type cannot hold is an error, never a NULL
                let options = arrow::compute::CastOptions { safe: false, ..Default::default() };
                arrow::compute::cast_with_options(col, field.data_type(), &options).map_err(|e| {
                    Error::unsupported(format!("column \"{}\" has a type that cannot be sent: {e}", field.name()))
                })
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(Arc::clone(wire), columns).map_err(|e| Error::internal("converting a result", e))
}

/// The jsonb reformatting runs where rows are encoded (an async worker): a batch's column over
/// this goes as the engine wrote it, so one tenant's huge documents cannot hold a worker for
/// seconds (found by attack: 2 M-key objects delayed other projects' logins and /health).
const MAX_JSONB_REFORMAT_BYTES: usize = 16 * 1024 * 1024;

/// A `jsonb` column's values as PostgreSQL prints them (see `pg::jsonb`).
fn jsonb_text(column: &ArrayRef) -> ArrayRef {
    use arrow::array::{Array, AsArray, StringBuilder};
    let texts = column.as_string::<i32>();
    // a column this large goes as the engine wrote it (see MAX_JSONB_REFORMAT_BYTES)
    if texts.value_data().len() > MAX_JSONB_REFORMAT_BYTES {
        return Arc::clone(column);
    }
    let mut out = StringBuilder::with_capacity(texts.len(), texts.value_data().len() + texts.len() * 4);
    for row in 0..texts.len() {
        if texts.is_null(row) {
            out.append_null();
            continue;
        }
        let text = texts.value(row);
        match crate::jsonb::canonical(text) {
            Some(canonical) if crate::jsonb::within_bound(text.len(), canonical.len()) => out.append_value(canonical),
            _ => out.append_value(text),
        }
    }
    Arc::new(out.finish())
}

/// A list of integers as PostgreSQL prints an `int2vector` or `oidvector`: `1 2`.
fn vector_text(list: &ArrayRef) -> ArrayRef {
    use arrow::array::{Array, AsArray, StringBuilder};
    let list = list.as_list::<i32>();
    let mut out = StringBuilder::new();
    for row in 0..list.len() {
        if list.is_null(row) {
            out.append_null();
            continue;
        }
        let items = list.value(row);
        let text = arrow::compute::cast(&items, &DataType::Utf8).ok();
        let joined = text.as_ref().map(|t| {
            let t = t.as_string::<i32>();
            (0..t.len()).filter(|&i| !t.is_null(i)).map(|i| t.value(i)).collect::<Vec<_>>().join(" ")
        });
        out.append_option(joined);
    }
    Arc::new(out.finish())
}

/// Timestamps sent as text the way PostgreSQL prints them: fractional seconds only when there
/// are any, and a `+00` offset for `timestamptz`.
pub(super) fn render_text_timestamps(
    batch: RecordBatch,
    fields: &[FieldInfo],
    zone: Option<crate::gateway::time_zone::TimeZone>,
) -> Result<RecordBatch> {
    use arrow::array::{Array, AsArray, StringBuilder};
    use arrow::datatypes::TimestampMicrosecondType;
    let needs = |i: usize, t: &DataType| {
        fields.get(i).is_some_and(|f| f.format() == pgwire::api::results::FieldFormat::Text)
            && matches!(t, DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _))
    };
    if !batch.schema().fields().iter().enumerate().any(|(i, f)| needs(i, f.data_type())) {
        return Ok(batch);
    }
    let mut columns = Vec::with_capacity(batch.num_columns());
    let mut new_fields = Vec::with_capacity(batch.num_columns());
    for (i, (column, field)) in batch.columns().iter().zip(batch.schema().fields()).enumerate() {
        let DataType::Timestamp(_, tz) = field.data_type() else {
            columns.push(Arc::clone(column));
            new_fields.push(field.as_ref().clone());
            continue;
        };
        if !needs(i, field.data_type()) {
            columns.push(Arc::clone(column));
            new_fields.push(field.as_ref().clone());
            continue;
        }
        let values = column.as_primitive::<TimestampMicrosecondType>();
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 26);
        for row in 0..values.len() {
            if values.is_null(row) {
                out.append_null();
                continue;
            }
            let mut text = bytes::BytesMut::with_capacity(32);
            let form = super::encode::TimestampText::of(tz.is_some(), zone);
            super::encode::put_timestamp(&mut text, values.value(row), form);
            out.append_value(String::from_utf8_lossy(&text));
        }
        columns.push(Arc::new(out.finish()) as ArrayRef);
        new_fields.push(Field::new(field.name(), DataType::Utf8, true));
    }
    RecordBatch::try_new(Arc::new(Schema::new(new_fields)), columns)
        .map_err(|e| Error::internal("rendering timestamps", e))
}

/// PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN − 1), a column's name
/// included: cut there, at a character's boundary.
fn identifier_length(name: &str) -> &str {
    const MAX_IDENTIFIER_BYTES: usize = 63;
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    let mut end = MAX_IDENTIFIER_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Field descriptions for a wire schema with the client's requested formats.
pub(super) fn fields(wire: &SchemaRef, format: &Format) -> Result<Vec<FieldInfo>> {
    arrow_pg::datatypes::arrow_schema_to_pg_fields(wire, format, None)
        .map_err(|e| Error::internal("describing result columns", e))
        .map(|fields| {
            fields
                .into_iter()
                .zip(wire.fields())
                .map(|(f, arrow)| {
                    // DuckDB reports an untyped NULL column; PostgreSQL calls that text.
                    let (mut datatype, mut typmod, mut size) = match f.datatype() {
                        &Type::UNKNOWN => (Type::TEXT, -1, -1),
                        t => (t.clone(), f.type_modifier(), f.type_size()),
                    };
                    // (in binary, an int2vector would be an array, a reg* type an oid, a json or
                    // uuid is encoded from text, and a name[] carries text elements: those are
                    // described as what is sent)
                    let binary_vector = f.format() == pgwire::api::results::FieldFormat::Binary
                        && declared_type(arrow).is_some_and(|d| {
                            matches!(
                                d.0,
                                22 | 30
                                    | 24
                                    | 114
                                    | 3802
                                    | 1002
                                    | 1003
                                    | 1028
                                    | 1034
                                    | 2205
                                    | 2206
                                    | 2249
                                    | 2277
                                    | 2950
                            )
                        });
                    if let Some((oid, declared_typmod)) = declared_type(arrow)
                        && !binary_vector
                        && let Some(declared) = Type::from_oid(oid)
                    {
                        size = crate::exec::catalog::type_length(oid).unwrap_or(size);
                        (datatype, typmod) = (declared, declared_typmod);
                    }
                    let (table, column) = table_column(arrow).unzip();
                    FieldInfo::new(identifier_length(f.name()).to_owned(), table, column, datatype, f.format())
                        .with_format_options(f.format_options().clone())
                        .with_type_size(size)
                        .with_type_modifier(typmod)
                })
                .collect()
        })
}

/// The PostgreSQL type of a parameter whose Arrow type DuckDB inferred (`None`: not inferred).
pub(super) fn arrow_param_type(t: &DataType) -> Option<Type> {
    match t {
        DataType::Null => None,
        t => Some(arrow_pg::datatypes::into_pg_type(&wire_type(t)).unwrap_or(Type::TEXT)),
    }
}

/// The wire type of a parameter.
pub(super) fn param_shape_type(shape: &crate::exec::ParamShape) -> Type {
    match shape {
        crate::exec::ParamShape::Engine(t, declared) => arrow_param_type(t).unwrap_or_else(|| param_type(*declared)),
        crate::exec::ParamShape::Argument(kind) => arg_type(*kind),
    }
}

/// The wire type of a procedure argument.
pub(super) fn arg_type(kind: crate::gateway::procedures::ArgKind) -> Type {
    use crate::gateway::procedures::ArgKind;
    match kind {
        ArgKind::Int => Type::INT8,
        ArgKind::Bool => Type::BOOL,
        ArgKind::Text | ArgKind::Moment => Type::TEXT,
    }
}

pub(super) fn param_type(t: ParamType) -> Type {
    match t {
        ParamType::Unknown | ParamType::Text => Type::TEXT,
        ParamType::Bool => Type::BOOL,
        ParamType::Int2 => Type::INT2,
        ParamType::Int4 => Type::INT4,
        ParamType::Int8 => Type::INT8,
        ParamType::Float4 => Type::FLOAT4,
        ParamType::Float8 => Type::FLOAT8,
        ParamType::Numeric => Type::NUMERIC,
        ParamType::Date => Type::DATE,
        ParamType::Timestamp => Type::TIMESTAMP,
        ParamType::TimestampTz => Type::TIMESTAMPTZ,
        ParamType::Bytea => Type::BYTEA,
    }
}

fn bad_param(index: usize, what: &str) -> Error {
    Error::invalid(format!("parameter ${}: {what}", index + 1)).with_sqlstate(SqlState::InvalidTextRepresentation)
}

/// Decodes one bound parameter. Text values of numeric or boolean types are parsed, so the
/// engine binds them with their real type; other text stays text for the engine to cast.
pub(super) fn decode_param(index: usize, value: Option<&[u8]>, ty: &Type, binary: bool) -> Result<Param> {
    let Some(bytes) = value else { return Ok(Param::Null) };
    if !binary {
        let text = std::str::from_utf8(bytes).map_err(|_| bad_param(index, "not valid UTF-8"))?;
        // array types are named with a leading underscore (_int4)
        if ty.name().starts_with('_') && text.trim_start().starts_with('{') {
            return Ok(Param::Text(
                duckdb_list_text(text)
                    .ok_or_else(|| bad_param(index, &format!("malformed array literal: \"{text}\"")))?,
            ));
        }
        return Ok(match *ty {
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
                Param::Int(text.trim().parse().map_err(|_| bad_param(index, &format!("invalid integer \"{text}\"")))?)
            }
            Type::FLOAT4 | Type::FLOAT8 => {
                Param::Float(text.trim().parse().map_err(|_| bad_param(index, &format!("invalid number \"{text}\"")))?)
            }
            Type::NUMERIC => Param::numeric(text),
            Type::BOOL => Param::Bool(match text.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "on" | "yes" | "1" => true,
                "f" | "false" | "off" | "no" | "0" => false,
                _ => return Err(bad_param(index, &format!("invalid boolean \"{text}\""))),
            }),
            _ => Param::Text(text.to_owned()),
        });
    }
    let fixed = |n: usize| -> Result<&[u8]> {
        if bytes.len() == n { Ok(bytes) } else { Err(bad_param(index, "wrong binary length")) }
    };
    Ok(match *ty {
        Type::BOOL => Param::Bool(fixed(1)?[0] != 0),
        Type::INT2 => Param::Int(i16::from_be_bytes(fixed(2)?.try_into().expect("length checked")) as i64),
        Type::INT4 => Param::Int(i32::from_be_bytes(fixed(4)?.try_into().expect("length checked")) as i64),
        Type::INT8 => Param::Int(i64::from_be_bytes(fixed(8)?.try_into().expect("length checked"))),
        Type::OID => Param::Int(u32::from_be_bytes(fixed(4)?.try_into().expect("length checked")) as i64),
        Type::FLOAT4 => Param::Float(f32::from_be_bytes(fixed(4)?.try_into().expect("length checked")) as f64),
        Type::FLOAT8 => Param::Float(f64::from_be_bytes(fixed(8)?.try_into().expect("length checked"))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            Param::Text(String::from_utf8(bytes.to_vec()).map_err(|_| bad_param(index, "not valid UTF-8"))?)
        }
        Type::BYTEA => Param::Bytes(bytes.to_vec()),
        Type::DATE => {
            let days = i32::from_be_bytes(fixed(4)?.try_into().expect("length checked"));
            let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
            let date = epoch
                .checked_add_signed(chrono::Duration::days(days as i64))
                .ok_or_else(|| bad_param(index, "date out of range"))?;
            Param::Text(date.format("%Y-%m-%d").to_string())
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(fixed(8)?.try_into().expect("length checked"));
            const PG_EPOCH_OFFSET: i64 = 946_684_800_000_000;
            let t = chrono::DateTime::from_timestamp_micros(micros.saturating_add(PG_EPOCH_OFFSET))
                .ok_or_else(|| bad_param(index, "timestamp out of range"))?;
            let text = t.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
            Param::Text(if *ty == Type::TIMESTAMPTZ { format!("{text}+00") } else { text })
        }
        Type::NUMERIC => {
            Param::numeric(&numeric_text(bytes).ok_or_else(|| bad_param(index, "invalid binary numeric"))?)
        }
        Type::UUID => {
            let b = fixed(16)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Param::Text(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
        }
        Type::TIME => {
            let micros = i64::from_be_bytes(fixed(8)?.try_into().expect("length checked"));
            if !(0..=86_400_000_000).contains(&micros) {
                return Err(bad_param(index, "time out of range"));
            }
            let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
            Param::Text(format!("{:02}:{:02}:{:02}.{frac:06}", secs / 3600, secs / 60 % 60, secs % 60))
        }
        // the binary form of jsonb is a version byte (1), then the text
        Type::JSONB => match bytes.split_first() {
            Some((1, text)) => {
                Param::Text(String::from_utf8(text.to_vec()).map_err(|_| bad_param(index, "not valid UTF-8"))?)
            }
            _ => return Err(bad_param(index, "unsupported jsonb version")),
        },
        // (array types are named with a leading underscore: _int4)
        _ if ty.name().starts_with('_') => array_param(index, bytes)?,
        _ => {
            return Err(Error::unsupported(format!(
                "parameter ${}: binary values of type {} are not supported; send it as text",
                index + 1,
                ty.name()
            )));
        }
    })
}

/// A one-dimensional array in PostgreSQL's binary form (dimensions, a null flag, the element
/// type, each dimension's length and lower bound, then each element's length, -1 for NULL, and
/// bytes) as DuckDB reads a list from text, like [`duckdb_list_text`] (pgjdbc's `setArray`).
fn array_param(index: usize, bytes: &[u8]) -> Result<Param> {
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8]> {
        if rest.len() < n {
            return Err(bad_param(index, "truncated binary array"));
        }
        let (taken, left) = rest.split_at(n);
        rest = left;
        Ok(taken)
    };
    let int = |word: &[u8]| i32::from_be_bytes(word.try_into().expect("4 bytes"));
    let dimensions = int(take(4)?);
    let _has_nulls = take(4)?;
    let element_oid = int(take(4)?);
    let element_type = Type::from_oid(element_oid as u32)
        .ok_or_else(|| bad_param(index, &format!("unknown array element type {element_oid}")))?;
    // (more dimensions are a header's count, never arrays as elements: an array of arrays
    // would nest the decoder as deep as the bytes allow)
    if element_type.name().starts_with('_') {
        return Err(bad_param(index, "an array's elements cannot be arrays"));
    }
    let count = match dimensions {
        0 => 0,
        1 => {
            let length = int(take(4)?);
            let _lower_bound = take(4)?;
            usize::try_from(length).map_err(|_| bad_param(index, "negative array length"))?
        }
        _ => {
            return Err(Error::unsupported(format!(
                "parameter ${}: arrays of more than one dimension are not supported",
                index + 1
            )));
        }
    };
    let mut items = Vec::with_capacity(count.min(bytes.len() / 4));
    for _ in 0..count {
        let Ok(length) = usize::try_from(int(take(4)?)) else {
            items.push("NULL".to_owned());
            continue;
        };
        let element = take(length)?;
        items.push(match decode_param(index, Some(element), &element_type, true)? {
            Param::Null => "NULL".to_owned(),
            Param::Bool(b) => b.to_string(),
            Param::Int(i) => i.to_string(),
            Param::Float(f) => format!("{f:?}"),
            Param::Text(t) => list_item_text(&t),
            Param::Decimal { .. } | Param::Bytes(_) => {
                return Err(Error::unsupported(format!(
                    "parameter ${}: binary arrays of {} are not supported; send it as text",
                    index + 1,
                    element_type.name()
                )));
            }
        });
    }
    if !rest.is_empty() {
        return Err(bad_param(index, "trailing bytes after a binary array"));
    }
    Ok(Param::Text(format!("[{}]", items.join(", "))))
}

/// A text list element as DuckDB reads it inside `[…]`: quoted, its quotes and backslashes
/// escaped.
fn list_item_text(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// PostgreSQL's array text (`{1,2,NULL}`, `{"a","b c"}`) as DuckDB reads a list from text
/// (`["1", "2", NULL]`): a text parameter bound where the statement takes an array.
fn duckdb_list_text(text: &str) -> Option<String> {
    let items = crate::gateway::compat::parse_pg_array(text)?;
    let items: Vec<String> = items
        .into_iter()
        .map(|item| match item {
            None => "NULL".to_owned(),
            Some(v) => list_item_text(&v),
        })
        .collect();
    Some(format!("[{}]", items.join(", ")))
}

/// PostgreSQL's binary numeric (digit count, weight, sign, display scale, then base-10 000
/// digits, most significant first) as decimal text: `12.34`, `-0.001`, `NaN`.
fn numeric_text(bytes: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?])) };
    let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(2)? as i16 as i64, word(4)?, word(6)? as usize);
    if bytes.len() != 8 + 2 * ndigits || dscale > 0x3fff {
        return None;
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return None,
    };
    let digits: Vec<u16> = (0..ndigits).map(|i| word(8 + 2 * i)).collect::<Option<_>>()?;
    if digits.iter().any(|d| *d >= 10_000) {
        return None;
    }
    // digit i stands for digits[i] × 10000^(weight − i)
    let group = |exponent: i64| -> u16 {
        usize::try_from(weight - exponent).ok().and_then(|i| digits.get(i).copied()).unwrap_or(0)
    };
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&group(weight).to_string());
        for exponent in (0..weight).rev() {
            text.push_str(&format!("{:04}", group(exponent)));
        }
    }
    if dscale > 0 {
        let mut fraction = String::with_capacity(dscale + 4);
        let mut exponent = -1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", group(exponent)));
            exponent -= 1;
        }
        fraction.truncate(dscale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b
    }

    #[test]
    fn column_names_keep_postgresql_s_63_bytes() {
        let long = "abcdefghij".repeat(8);
        assert_eq!(identifier_length(&long), &long[..63]);
        assert_eq!(identifier_length("short"), "short");
        // a character is never cut in two: 62 ASCII bytes then a two-byte letter
        let accented = format!("{}é", "a".repeat(62));
        assert_eq!(identifier_length(&accented), &accented[..62]);
    }

    #[test]
    fn binary_arrays_decode_one_dimension_and_refuse_arrays_of_arrays() {
        let header = |element_oid: u32, count: i32| -> Vec<u8> {
            [1i32, 0, element_oid as i32, count, 1].iter().flat_map(|w| w.to_be_bytes()).collect()
        };
        let mut ints = header(23, 2);
        for v in [7i32, -1] {
            ints.extend_from_slice(&4i32.to_be_bytes());
            ints.extend_from_slice(&v.to_be_bytes());
        }
        ints.extend_from_slice(&(-1i32).to_be_bytes());
        // (three elements claimed, two and a NULL sent: the count is the header's 2, so the
        // NULL's length word is left over)
        assert!(decode_param(0, Some(&ints), &Type::INT4_ARRAY, true).is_err());
        ints.truncate(ints.len() - 4);
        assert_eq!(decode_param(0, Some(&ints), &Type::INT4_ARRAY, true).unwrap(), Param::Text("[7, -1]".into()));
        // an array whose elements claim to be arrays, nested as deep as the bytes allow
        let mut nested = Vec::new();
        for _ in 0..10_000 {
            let mut outer = header(1007, 1);
            outer.extend_from_slice(&(nested.len() as i32).to_be_bytes());
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        assert!(decode_param(0, Some(&nested), &Type::INT4_ARRAY, true).is_err());
    }

    #[test]
    fn binary_numerics_decode_as_postgresql_writes_them() {
        assert_eq!(numeric_text(&numeric(2, 0, 0, 2, &[12, 3400])).unwrap(), "12.34");
        assert_eq!(numeric_text(&numeric(1, -1, 0x4000, 3, &[10])).unwrap(), "-0.001");
        assert_eq!(numeric_text(&numeric(2, 1, 0, 0, &[1, 0])).unwrap(), "10000");
        assert_eq!(numeric_text(&numeric(1, 2, 0, 0, &[5])).unwrap(), "500000000");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert_eq!(numeric_text(&numeric(1, -2, 0, 8, &[1234])).unwrap(), "0.00001234");
        assert!(numeric_text(&numeric(1, 0, 0, 0, &[10_000])).is_none());
        assert!(numeric_text(&numeric(2, 0, 0, 0, &[1])).is_none());
        assert!(numeric_text(&[0, 1]).is_none());
        let uuid = decode_param(0, Some(&[0xab; 16]), &Type::UUID, true).unwrap();
        assert_eq!(uuid, Param::Text("abababab-abab-abab-abab-abababababab".into()));
    }

    #[test]
    fn text_parameters_of_numeric_types_are_parsed() {
        assert_eq!(decode_param(0, Some(b"42"), &Type::INT4, false).unwrap(), Param::Int(42));
        assert_eq!(decode_param(0, Some(b"x"), &Type::INT4, false).unwrap_err().sqlstate(), "22P02");
        assert_eq!(decode_param(0, None, &Type::INT4, false).unwrap(), Param::Null);
        assert_eq!(decode_param(0, Some(b"hi"), &Type::TEXT, false).unwrap(), Param::Text("hi".into()));
    }

    #[test]
    fn binary_parameters_decode_by_type() {
        assert_eq!(decode_param(0, Some(&7i32.to_be_bytes()), &Type::INT4, true).unwrap(), Param::Int(7));
        assert_eq!(decode_param(0, Some(&[1, 2]), &Type::INT4, true).unwrap_err().sqlstate(), "22P02");
        assert_eq!(
            decode_param(0, Some(&0i64.to_be_bytes()), &Type::TIMESTAMPTZ, true).unwrap(),
            Param::Text("2000-01-01 00:00:00.000000+00".into())
        );
    }

    #[test]
    fn unencodable_columns_become_text() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("m", DataType::Struct(vec![Field::new("x", DataType::Int32, true)].into()), true),
        ]));
        let wire = wire_schema(&schema);
        assert_eq!(wire.field(0).data_type(), &DataType::Int64);
        assert_eq!(wire.field(1).data_type(), &DataType::Utf8);
    }

    #[test]
    fn timestamps_with_time_zones_encode() {
        let mut b = crate::relation::RelationBuilder::new(&[("at", crate::relation::ColumnType::Timestamp)]);
        b.row(vec![crate::relation::Value::Timestamp(1_700_000_000_000_000)]);
        let batch = b.finish().unwrap();
        let wire = wire_schema(&batch.schema());
        let batch = to_wire_batch(batch, &wire).unwrap();
        let fields = Arc::new(fields(&wire, &Format::UnifiedText).unwrap());
        assert_eq!(*fields[0].datatype(), Type::TIMESTAMPTZ);
        let rows = encode_rows(fields, batch);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].is_ok(), "{:?}", rows[0]);
    }
}
