//! What RowDescription says of a read's result columns beyond their engine types: a column
//! that is a relation's column (see `gateway::lineage`) carries that relation's OID, its column
//! number, and its declared PostgreSQL type where the engine's type is a stand-in for it (a
//! catalog's `name` and `oid` columns, a table's `numeric(12,2)`). The wire adapter reads the
//! marks from the result schema's field metadata.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::reads::SlotTable;
use crate::gateway::lineage::{self, Described, Source};
use crate::gateway::{QueryPlan, ServerRelation};

/// Field metadata keys (values are decimal numbers).
pub const TABLE_OID: &str = "duckstore.pg.table_oid";
pub const ATTNUM: &str = "duckstore.pg.attnum";
pub const TYPE_OID: &str = "duckstore.pg.type_oid";
pub const TYPMOD: &str = "duckstore.pg.typmod";
/// Present on a column of numeric quotients (`a / b`, `avg(x)` as written), which prints at the
/// scale each value gives, as PostgreSQL's (see `engine::numeric`).
pub const QUOTIENT: &str = "duckstore.pg.quotient";

/// `schema` with each column a relation's column marked; unchanged when the query cannot be
/// followed or answers other columns than the plan says.
pub(super) fn mark(schema: SchemaRef, plan: &QueryPlan, slots: &[Option<SlotTable>]) -> SchemaRef {
    let columns_of = |source: Source| -> Option<Vec<String>> {
        match source {
            Source::Relation(r) => Some(r.columns().iter().map(|(name, _)| (*name).to_owned()).collect()),
            Source::Table(slot) => {
                Some(slots.get(slot)?.as_ref()?.columns.iter().map(|(name, _)| name.clone()).collect())
            }
        }
    };
    let type_of = |origin: lineage::Origin| declared(origin, slots).map(|(_, _, declared)| declared);
    let width = schema.fields().len();
    let mut origins =
        lineage::result_origins(plan, &columns_of, &type_of).filter(|o| o.len() == width).unwrap_or_default();
    // a type the client's text gives a column (`x::oid`, `current_user`) is its type
    if plan.written_types.len() == width {
        origins.resize(width, None);
        for (origin, written) in origins.iter_mut().zip(&plan.written_types) {
            if let Some(described) = written_described(*written) {
                *origin = Some(described);
            }
        }
    }
    if origins.len() != width || origins.iter().all(Option::is_none) {
        return schema;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&origins)
        .map(|(field, origin)| match origin.and_then(|o| marks(o, field.data_type(), slots)) {
            Some(metadata) => field.as_ref().clone().with_metadata(metadata),
            None => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `schema` with the types a statement's text gives its columns (`written`, one per column)
/// marked: a constant row's (`SELECT current_user`), which no relation describes.
pub(super) fn mark_written(schema: SchemaRef, written: &[Option<(u32, i32)>]) -> SchemaRef {
    if written.len() != schema.fields().len() {
        return schema;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(written)
        .map(|(field, written)| match written_described(*written).and_then(|d| marks(d, field.data_type(), &[])) {
            Some(metadata) => field.as_ref().clone().with_metadata(metadata),
            None => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A type the client's text gives a column, as a description.
fn written_described(written: Option<(u32, i32)>) -> Option<Described> {
    Some(match written? {
        (oid, -1) => Described::Type(oid),
        (oid, typmod) => Described::TypeWithModifier(oid, typmod),
    })
}

/// The marks of a result column described as `described`.
fn marks(described: Described, engine_type: &DataType, slots: &[Option<SlotTable>]) -> Option<HashMap<String, String>> {
    let origin = match described {
        Described::Column(origin) | Described::TypeOf(origin) | Described::TypeWithoutModifier(origin) => origin,
        Described::TypeWithModifier(1700, lineage::QUOTIENT_TYPMOD) => {
            let quotient = DataType::Decimal128(38, crate::engine::numeric::QUOTIENT_SCALE as i8);
            return (*engine_type == quotient).then(|| {
                HashMap::from([
                    (TYPE_OID.to_owned(), "1700".to_owned()),
                    (TYPMOD.to_owned(), "-1".to_owned()),
                    (QUOTIENT.to_owned(), "1".to_owned()),
                ])
            });
        }
        Described::Type(oid) | Described::TypeWithModifier(oid, _) => {
            let typmod = if let Described::TypeWithModifier(_, typmod) = described { typmod } else { -1 };
            let oid = i64::from(oid);
            return stands_for(engine_type, oid).then(|| {
                HashMap::from([(TYPE_OID.to_owned(), oid.to_string()), (TYPMOD.to_owned(), typmod.to_string())])
            });
        }
    };
    let (table_oid, attnum, declared) = declared(origin, slots)?;
    let declared = Some(declared);
    let mut marks = HashMap::new();
    if matches!(described, Described::Column(_)) {
        marks.insert(TABLE_OID.to_owned(), table_oid.to_string());
        marks.insert(ATTNUM.to_owned(), attnum.to_string());
    }
    if let Some((type_oid, typmod)) = declared
        && stands_for(engine_type, type_oid)
    {
        marks.insert(TYPE_OID.to_owned(), type_oid.to_string());
        let typmod = if matches!(described, Described::TypeWithoutModifier(_)) { -1 } else { typmod };
        marks.insert(TYPMOD.to_owned(), typmod.to_string());
    }
    (!marks.is_empty()).then_some(marks)
}

/// A relation column's table OID, column number, and declared type and typmod.
fn declared(origin: lineage::Origin, slots: &[Option<SlotTable>]) -> Option<(i64, i16, (i64, i32))> {
    match origin.source {
        Source::Relation(ServerRelation::Catalog(relation)) => {
            let (name, _) = relation.columns().get(origin.column)?;
            let pg = relation.pg_column(name)?;
            Some((i64::from(pg.relation_oid), pg.attnum, (i64::from(pg.type_oid), pg.typmod)))
        }
        Source::Relation(ServerRelation::System(_)) => None,
        Source::Table(slot) => {
            let table = slots.get(slot)?.as_ref()?;
            let (_, sql_type) = table.columns.get(origin.column)?;
            let attnum = i16::try_from(origin.column + 1).ok()?;
            Some((super::catalog::table_oid(table.table_id), attnum, super::catalog::pg_type_of(sql_type)))
        }
    }
}

/// Whether values of the engine's type go on the wire as the declared type's unchanged (the
/// wire adapter narrows an `oid`'s 64-bit integers to its 4 bytes).
fn stands_for(engine_type: &DataType, type_oid: i64) -> bool {
    match engine_type {
        // text, name, varchar, bpchar, "char", pg_node_tree, json, jsonb (their binary form is
        // their text, jsonb's after a version byte: described as text in binary); regproc, regclass, regtype as the compat rewrites answer them, names (in
        // binary those are oids: the wire describes them as text there)
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            matches!(type_oid, 25 | 19 | 1043 | 1042 | 18 | 194 | 114 | 3802 | 24 | 2205 | 2206 | 2950)
        }
        // oid, xid, int8
        DataType::Int64 => matches!(type_oid, 26 | 28 | 20),
        DataType::Int32 => type_oid == 23,
        DataType::Int16 => type_oid == 21,
        // (scale 0: also a HUGEINT sum of integers, which PostgreSQL answers as a bigint; the
        // wire narrows it)
        DataType::Decimal128(_, scale) => type_oid == 1700 || (*scale == 0 && type_oid == 20),
        // int2vector (sent as its text, `1 2`)
        DataType::List(element) if element.data_type() == &DataType::Int16 => type_oid == 22,
        // name[], "char"[], aclitem[], varchar[] (lists of text: their text forms are the same)
        DataType::List(element)
            if matches!(element.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
        {
            matches!(type_oid, 1003 | 1002 | 1034 | 2277 | 1015)
        }
        // a time or timestamp of a given precision (its typmod)
        DataType::Timestamp(_, None) => type_oid == 1114,
        DataType::Timestamp(_, Some(_)) => type_oid == 1184,
        DataType::Time64(_) => type_oid == 1083,
        // a catalog's real (float4) column, held as a double: the wire narrows it
        DataType::Float64 => type_oid == 700,
        // oidvector (`pg_proc.proargtypes`), sent as its text too; oid[] (a bigint[]'s text)
        DataType::List(element) if element.data_type() == &DataType::Int64 => matches!(type_oid, 30 | 1028),
        _ => false,
    }
}
