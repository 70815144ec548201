//! The PostgreSQL catalog as clients see it (psql `\d`, JDBC metadata, psycopg, PDO): relations
//! built from the buckets and tables the session may see, with PostgreSQL's type OIDs and stable
//! object OIDs, plus the macros behind `format_type()` and `to_regtype()`.

use arrow::record_batch::RecordBatch;

use crate::catalog::{ColumnRecord, TableRecord};
use crate::error::Result;
use crate::gateway::pg_catalog::CatalogRelation as R;
use crate::gateway::settings::SessionSettings;
use crate::relation::{RelationBuilder, Value as V};
use crate::storage::CatalogSnapshot;

pub(super) const PG_CATALOG_OID: i64 = 11;
pub(super) const PUBLIC_OID: i64 = 2200;
pub(super) const INFORMATION_SCHEMA_OID: i64 = 13_000;
pub(super) const DUCKSTORE_SCHEMA_OID: i64 = 16_383;
const OWNER_OID: i64 = 10;
const PG_CLASS_OID: i64 = 1259;
const PG_NAMESPACE_OID: i64 = 2615;

fn bucket_oid(bucket_id: i64) -> i64 {
    1_000_000 + bucket_id
}

/// A schema the catalog relations show besides `pg_catalog` and `information_schema`.
pub(crate) struct SchemaEntry {
    pub oid: i64,
    pub name: String,
    pub description: String,
    /// Whether its tables take writes (`information_schema.tables.is_insertable_into`).
    pub writable: bool,
}

/// A table or view the catalog relations show, in the schema at index `schema`.
pub(crate) struct RelationEntry {
    pub schema: usize,
    /// Its columns, key and statistics; `table_oid(table.id)` is its oid.
    pub table: TableRecord,
    /// A view's query (`None`: a table).
    pub view_definition: Option<String>,
}

/// What the catalog relations are built from. One emulation, two sources: the buckets and
/// tables a storage session may see ([`CatalogContents::of_storage`]), or a workspace's own
/// DuckDB catalog (`exec::workspace_catalog`).
pub(crate) struct CatalogContents {
    pub schemas: Vec<SchemaEntry>,
    pub relations: Vec<RelationEntry>,
    /// The server's schemas of a storage session (`public`, `duckstore`) are shown too.
    pub server_schemas: bool,
}

impl CatalogContents {
    /// A storage session's catalog: its buckets as schemas, their tables, then their views.
    pub(crate) fn of_storage(snapshot: &CatalogSnapshot) -> CatalogContents {
        let buckets = &snapshot.buckets;
        let schemas = buckets
            .iter()
            .map(|b| SchemaEntry {
                oid: bucket_oid(b.id),
                name: b.full_name(),
                description: b.description.clone(),
                writable: b.source_bucket_id.is_none(),
            })
            .collect();
        let position = |bucket_id: i64| buckets.iter().position(|b| b.id == bucket_id);
        let tables = snapshot.tables.iter().filter_map(|(bucket_id, t)| {
            Some(RelationEntry { schema: position(*bucket_id)?, table: t.clone(), view_definition: None })
        });
        // Views are table-shaped records numbered apart from tables.
        let views = snapshot.views.iter().filter_map(|(bucket_id, v)| {
            let table = TableRecord {
                id: view_relation_id(v.id),
                bucket_id: *bucket_id,
                name: v.name.clone(),
                version: 0,
                primary_key: vec![],
                row_count: 0,
                byte_count: 0,
                description: v.description.clone(),
                created_at: v.created_at,
                created_by: v.created_by.clone(),
                changed_at: v.created_at,
                version_since: v.created_at,
                columns: v.columns.clone(),
            };
            Some(RelationEntry { schema: position(*bucket_id)?, table, view_definition: Some(v.definition.clone()) })
        });
        CatalogContents { schemas, relations: tables.chain(views).collect(), server_schemas: true }
    }
}

/// Views' records in the catalog relations are numbered from here: their oids (from
/// 1 100 000 000) stay clear of tables', indexes' and defaults' (up to 1 000 000 000 ids) and
/// within PostgreSQL's 32-bit oids.
const VIEW_ID_OFFSET: i64 = 1_000_000_000;

/// The row type of a table or view (its `pg_class.reltype`), and that type's array: above every
/// relation's oid, within 32 bits.
fn rowtype_oid(relation_oid: i64) -> i64 {
    2_000_000_000 + relation_oid
}
/// (tables' row types from 2.1e9, views' from 3.1e9; their arrays 5e8 above, clear of both for
/// fewer than 5e8 relations)
const ROWTYPE_ARRAY_OFFSET: i64 = 500_000_000;

/// A view's number among the catalog's relations (its oid is [`table_oid`] of it).
pub(super) fn view_relation_id(view_id: i64) -> i64 {
    VIEW_ID_OFFSET + view_id
}

pub(super) fn table_oid(table_id: i64) -> i64 {
    100_000_000 + table_id
}

fn pk_index_oid(t: &TableRecord) -> i64 {
    200_000_000 + t.id
}

fn pk_constraint_oid(t: &TableRecord) -> i64 {
    300_000_000 + t.id
}

fn attrdef_oid(t: &TableRecord, attnum: usize) -> i64 {
    400_000_000 + t.id * 1000 + attnum as i64
}

/// PostgreSQL's types: (oid, typname, format_type name, length, category, element, array).
pub(super) const TYPES: &[(i64, &str, &str, i16, &str, i64, i64)] = &[
    (16, "bool", "boolean", 1, "B", 0, 1000),
    (17, "bytea", "bytea", -1, "U", 0, 1001),
    (18, "char", "\"char\"", 1, "S", 0, 1002),
    (19, "name", "name", 64, "S", 0, 1003),
    (20, "int8", "bigint", 8, "N", 0, 1016),
    (21, "int2", "smallint", 2, "N", 0, 1005),
    (22, "int2vector", "int2vector", -1, "A", 21, 1006),
    (23, "int4", "integer", 4, "N", 0, 1007),
    (24, "regproc", "regproc", 4, "N", 0, 1008),
    (25, "text", "text", -1, "S", 0, 1009),
    (26, "oid", "oid", 4, "N", 0, 1028),
    (27, "tid", "tid", 6, "U", 0, 1010),
    (28, "xid", "xid", 4, "U", 0, 1011),
    (29, "cid", "cid", 4, "U", 0, 1012),
    (30, "oidvector", "oidvector", -1, "A", 26, 1013),
    (114, "json", "json", -1, "U", 0, 199),
    (700, "float4", "real", 4, "N", 0, 1021),
    (701, "float8", "double precision", 8, "N", 0, 1022),
    (705, "unknown", "unknown", -2, "X", 0, 0),
    (1042, "bpchar", "character", -1, "S", 0, 1014),
    (1043, "varchar", "character varying", -1, "S", 0, 1015),
    (1082, "date", "date", 4, "D", 0, 1182),
    (1083, "time", "time without time zone", 8, "D", 0, 1183),
    (1114, "timestamp", "timestamp without time zone", 8, "D", 0, 1115),
    (1184, "timestamptz", "timestamp with time zone", 8, "D", 0, 1185),
    (1186, "interval", "interval", 16, "T", 0, 1187),
    (1700, "numeric", "numeric", -1, "N", 0, 1231),
    (2249, "record", "record", -1, "P", 0, 2287),
    (2950, "uuid", "uuid", 16, "U", 0, 2951),
    (3802, "jsonb", "jsonb", -1, "U", 0, 3807),
    (1000, "_bool", "boolean[]", -1, "A", 16, 0),
    (1001, "_bytea", "bytea[]", -1, "A", 17, 0),
    (1005, "_int2", "smallint[]", -1, "A", 21, 0),
    (1007, "_int4", "integer[]", -1, "A", 23, 0),
    (1009, "_text", "text[]", -1, "A", 25, 0),
    (1015, "_varchar", "character varying[]", -1, "A", 1043, 0),
    (1016, "_int8", "bigint[]", -1, "A", 20, 0),
    (1021, "_float4", "real[]", -1, "A", 700, 0),
    (1022, "_float8", "double precision[]", -1, "A", 701, 0),
    (1028, "_oid", "oid[]", -1, "A", 26, 0),
    (1115, "_timestamp", "timestamp without time zone[]", -1, "A", 1114, 0),
    (1182, "_date", "date[]", -1, "A", 1082, 0),
    (1185, "_timestamptz", "timestamp with time zone[]", -1, "A", 1184, 0),
    (1231, "_numeric", "numeric[]", -1, "A", 1700, 0),
    (2951, "_uuid", "uuid[]", -1, "A", 2950, 0),
];

/// `pg_type.typlen` of one of PostgreSQL's types.
pub(crate) fn type_length(oid: u32) -> Option<i16> {
    TYPES.iter().find(|t| t.0 == i64::from(oid)).map(|t| t.3)
}

/// The PostgreSQL type OID and type modifier of a column's DuckDB type, matching what result
/// columns of that type carry on the wire.
pub(super) fn pg_type_of(sql_type: &str) -> (i64, i32) {
    // a declared length: varchar(n), char(n), with PostgreSQL's typmod n + 4
    if let Some((length, fixed)) = crate::storage::names::declared_length(sql_type) {
        // PostgreSQL's longest declared length is 10485760; a longer one (a workspace's CHECK)
        // has no typmod
        let typmod = if length <= 10_485_760 { length as i32 + 4 } else { -1 };
        return (if fixed { 1042 } else { 1043 }, typmod);
    }
    if let Some(args) = sql_type.strip_prefix("DECIMAL(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = args.split(',').map(|p| p.trim().parse::<i32>().unwrap_or(0));
        let (p, s) = (parts.next().unwrap_or(38), parts.next().unwrap_or(0));
        return (1700, ((p << 16) | s) + 4);
    }
    // a list: the array type of its element, where PostgreSQL has one
    if let Some(element) = sql_type.strip_suffix("[]") {
        let element = pg_type_of(element).0;
        let array = TYPES.iter().find(|t| t.0 == element && t.4 != "A").map_or(0, |t| t.6);
        return (if array == 0 { 1009 } else { array }, -1);
    }
    let oid = match sql_type {
        "INTEGER" | "INT4" => 23,
        "BIGINT" | "INT8" | "UINTEGER" => 20,
        "SMALLINT" | "TINYINT" | "UTINYINT" => 21,
        "USMALLINT" => 23,
        "HUGEINT" | "UBIGINT" | "UHUGEINT" => 1700,
        "DOUBLE" => 701,
        "REAL" | "FLOAT" => 700,
        "BOOLEAN" => 16,
        "DATE" => 1082,
        "TIMESTAMP" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" => 1114,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => 1184,
        "TIME" => 1083,
        "BLOB" => 17,
        "INTERVAL" => 1186,
        "UUID" => 2950,
        "JSON" => 114,
        _ => 25,
    };
    (oid, -1)
}

fn format_type(oid: i64, typmod: i32) -> String {
    if oid == 1700 && typmod >= 4 {
        return format!("numeric({},{})", (typmod - 4) >> 16, (typmod - 4) & 0xffff);
    }
    TYPES.iter().find(|t| t.0 == oid).map(|t| t.2.to_owned()).unwrap_or_else(|| "???".into())
}

/// The macros clients' catalog functions are rewritten to (created once in the engine).
/// A type's length, element and array type (None: not one of [`TYPES`]).
fn type_entry(oid: i64) -> Option<&'static (i64, &'static str, &'static str, i16, &'static str, i64, i64)> {
    TYPES.iter().find(|t| t.0 == oid)
}

/// PostgreSQL's `typstorage` of a type: fixed-length types are plain, variable-length ones
/// extended (compressible and moved out of line), numeric main.
fn type_storage(oid: i64) -> &'static str {
    match type_entry(oid).map_or(-1, |t| t.3) {
        -1 if oid == 1700 => "m",
        -1 => "x",
        _ => "p",
    }
}

/// PostgreSQL's `typalign` of a type: by its length (`name`, `uuid` and `"char"` are byte
/// aligned); an array's is its element's, at least int.
fn type_alignment(oid: i64) -> &'static str {
    let Some(&(_, _, _, len, category, element, _)) = type_entry(oid) else { return "i" };
    match (len, category) {
        (-1, "A") if type_alignment(element) == "d" => "d",
        (-1, _) | (4, _) => "i",
        (2, _) => "s",
        (8, _) => "d",
        (16, "T") => "d",
        _ => "c",
    }
}

/// information_schema's two domain checks: (oid, name, domain's type oid, definition, pretty).
const INFORMATION_SCHEMA_DOMAIN_CHECKS: [(i64, &str, i64, &str, &str); 2] = [
    (13_222, "cardinal_number_domain_check", 13_221, "CHECK ((VALUE >= 0))", "CHECK (VALUE >= 0)"),
    (
        13_235,
        "yes_or_no_check",
        13_234,
        "CHECK (((VALUE)::text = ANY ((ARRAY['YES'::character varying, 'NO'::character varying])::text[])))",
        "CHECK (VALUE::text = ANY (ARRAY['YES'::character varying, 'NO'::character varying]::text[]))",
    ),
];

/// The one extension PostgreSQL 15 has installed in every database, as its catalog shows it.
const PLPGSQL_EXTENSION_OID: i64 = 13_559;

pub fn macros_sql() -> Vec<String> {
    let limit = crate::gateway::compat::MAX_BUILT_TEXT;
    let refuse = format!("error('the function would make a value longer than {limit} characters')");
    let names: Vec<String> =
        TYPES.iter().map(|t| format!("WHEN duckstore_p.t = {} THEN '{}'", t.0, t.2.replace('\'', "''"))).collect();
    let by_name: Vec<String> = TYPES
        .iter()
        .flat_map(|t| {
            let mut arms = vec![format!("WHEN '{}' THEN {}", t.1, t.0)];
            if t.2 != t.1 && !t.2.contains('"') {
                arms.push(format!("WHEN '{}' THEN {}", t.2, t.0));
            }
            arms
        })
        .collect();
    // Every macro names each parameter once (through a lambda's parameter): DuckDB copies an
    // argument wherever the body names it, so nested calls would multiply (engine/expansion.rs
    // refuses statements that grow so; a test holds these macros to one copy).
    vec![
        format!(
            "CREATE OR REPLACE MACRO duckstore_format_type(t, m) AS list_transform([struct_pack(t := t, m := m)], duckstore_p -> CASE
            WHEN duckstore_p.t IS NULL THEN NULL
            WHEN duckstore_p.t = 1700 AND duckstore_p.m >= 4
                THEN 'numeric(' || ((duckstore_p.m - 4) // 65536) || ',' || ((duckstore_p.m - 4) % 65536) || ')'
            WHEN duckstore_p.t = 1043 AND duckstore_p.m >= 4 THEN 'character varying(' || (duckstore_p.m - 4) || ')'
            WHEN duckstore_p.t = 1042 AND duckstore_p.m >= 4 THEN 'character(' || (duckstore_p.m - 4) || ')'
            WHEN duckstore_p.t IN (1114, 1184, 1083, 1266) AND duckstore_p.m >= 0
                THEN CASE WHEN duckstore_p.t IN (1114, 1184) THEN 'timestamp(' ELSE 'time(' END || duckstore_p.m || ') with'
                || CASE WHEN duckstore_p.t IN (1114, 1083) THEN 'out' ELSE '' END || ' time zone'
            {} ELSE '???' END)[1]",
            names.join(" ")
        ),
        // a value's text as PostgreSQL's output functions print it where DuckDB's differ
        // (a boolean is `t` or `f`); a NULL stays NULL
        // (`x` once: a macro's parameter is copied wherever it is named, and `concat(concat(…))`
        // nests this macro)
        "CREATE OR REPLACE MACRO duckstore_text(x) AS list_transform([x], duckstore_v -> CASE WHEN duckstore_v IS NULL THEN NULL \
         WHEN typeof(duckstore_v) = 'BOOLEAN' THEN CASE WHEN CAST(duckstore_v AS VARCHAR) = 'true' THEN 't' ELSE 'f' END \
         ELSE CAST(duckstore_v AS VARCHAR) END)[1]"
            .to_owned(),
        // a divisor of zero is an error, as in PostgreSQL (see gateway::compat)
        "CREATE OR REPLACE MACRO duckstore_divisor(x) AS \
         list_transform([x], duckstore_v -> CASE WHEN duckstore_v = 0 THEN error('division by zero') ELSE duckstore_v END)[1]"
            .to_owned(),
        // repeat(), lpad(), rpad() refuse to build a value longer than the bound, before they
        // build it (gateway::compat::bounded_built_text); substring() as PostgreSQL counts a
        // start before the first character; the keys of a json object or the strings of an
        // array (jsonb's `?`). Each parameter named once (see duckstore_text).
        format!(
            "CREATE OR REPLACE MACRO duckstore_repeat(s, n) AS list_transform([struct_pack(t := s, k := n)], duckstore_p -> \
             repeat(duckstore_p.t, CASE WHEN CAST(duckstore_p.k AS HUGEINT) * greatest(coalesce(length(CAST(duckstore_p.t AS VARCHAR)), 1), 1) > {limit} \
             THEN {refuse} ELSE duckstore_p.k END))[1]"
        ),
        format!(
            "CREATE OR REPLACE MACRO duckstore_lpad(s, n, f) AS list_transform([struct_pack(t := s, k := n, f := f)], duckstore_p -> \
             lpad(duckstore_p.t, CASE WHEN duckstore_p.k > {limit} THEN {refuse} ELSE duckstore_p.k END, duckstore_p.f))[1]"
        ),
        format!(
            "CREATE OR REPLACE MACRO duckstore_rpad(s, n, f) AS list_transform([struct_pack(t := s, k := n, f := f)], duckstore_p -> \
             rpad(duckstore_p.t, CASE WHEN duckstore_p.k > {limit} THEN {refuse} ELSE duckstore_p.k END, duckstore_p.f))[1]"
        ),
        "CREATE OR REPLACE MACRO duckstore_substring(s, b, l) AS list_transform([struct_pack(t := s, b := b, l := l)], duckstore_p -> \
         CASE WHEN duckstore_p.l < 0 THEN error('negative substring length not allowed') \
         ELSE substring(duckstore_p.t, greatest(duckstore_p.b, 1), greatest(duckstore_p.b + duckstore_p.l - greatest(duckstore_p.b, 1), 0)) END)[1]"
            .to_owned(),
        // a power as PostgreSQL's: zero to a negative power, a negative number to a fraction and
        // an overflow are errors (DuckDB answers Infinity or NaN)
        "CREATE OR REPLACE MACRO duckstore_power(x, y) AS list_transform([struct_pack(x := x, y := y)], duckstore_p -> \
         CASE WHEN duckstore_p.x = 0 AND duckstore_p.y < 0 THEN error('zero raised to a negative power is undefined') \
         WHEN duckstore_p.x < 0 AND duckstore_p.y <> floor(duckstore_p.y) \
         THEN error('a negative number raised to a non-integer power yields a complex result') \
         ELSE list_transform([pow(duckstore_p.x, duckstore_p.y)], duckstore_r -> \
         CASE WHEN isinf(duckstore_r) AND NOT isinf(CAST(duckstore_p.x AS DOUBLE)) AND NOT isinf(CAST(duckstore_p.y AS DOUBLE)) \
         THEN error('value out of range: overflow') ELSE duckstore_r END)[1] END)[1]"
            .to_owned(),
        // width_bucket() as PostgreSQL's: the bucket of x among n equal ones from lo to hi (0
        // below, n + 1 past them; reversed bounds count down), NULL of any NULL argument
        "CREATE OR REPLACE MACRO duckstore_width_bucket(x, lo, hi, n) AS \
         list_transform([struct_pack(x := x, lo := lo, hi := hi, n := n)], duckstore_p -> CASE \
         WHEN duckstore_p.x IS NULL OR duckstore_p.lo IS NULL OR duckstore_p.hi IS NULL OR duckstore_p.n IS NULL THEN NULL \
         WHEN duckstore_p.n <= 0 THEN error('count must be greater than zero') \
         WHEN duckstore_p.n >= 2147483647 THEN error('integer out of range') \
         WHEN isnan(CAST(duckstore_p.x AS DOUBLE)) OR isnan(CAST(duckstore_p.lo AS DOUBLE)) OR isnan(CAST(duckstore_p.hi AS DOUBLE)) \
             THEN error('operand, lower bound, and upper bound cannot be NaN') \
         WHEN duckstore_p.lo = duckstore_p.hi THEN error('lower bound cannot equal upper bound') \
         WHEN duckstore_p.lo < duckstore_p.hi THEN CASE WHEN duckstore_p.x < duckstore_p.lo THEN 0 \
         WHEN duckstore_p.x >= duckstore_p.hi THEN CAST(duckstore_p.n AS INTEGER) + 1 \
         ELSE CAST(floor((duckstore_p.x - duckstore_p.lo) * duckstore_p.n / (duckstore_p.hi - duckstore_p.lo)) AS INTEGER) + 1 END \
         ELSE CASE WHEN duckstore_p.x > duckstore_p.lo THEN 0 \
         WHEN duckstore_p.x <= duckstore_p.hi THEN CAST(duckstore_p.n AS INTEGER) + 1 \
         ELSE CAST(floor((duckstore_p.lo - duckstore_p.x) * duckstore_p.n / (duckstore_p.lo - duckstore_p.hi)) AS INTEGER) + 1 END END)[1]"
            .to_owned(),
        // a time or timestamp rounded to a multiple of s microseconds as PostgreSQL's typmod
        // rounds it: half away from zero, a timestamp counted from PostgreSQL's epoch
        // (2000-01-01), a time from midnight (up to 24:00:00, as PostgreSQL's; gateway::compat)
        "CREATE OR REPLACE MACRO duckstore_round_timestamp(v, s) AS list_transform([struct_pack(v := v, s := s)], duckstore_p -> \
         list_transform([epoch_us(duckstore_p.v) - 946684800000000], duckstore_u -> duckstore_p.v + to_microseconds(CAST(\
         sign(duckstore_u) * ((abs(duckstore_u) + duckstore_p.s // 2) // duckstore_p.s) * duckstore_p.s - duckstore_u AS BIGINT)))[1])[1]"
            .to_owned(),
        "CREATE OR REPLACE MACRO duckstore_round_time(v, s) AS list_transform([struct_pack(v := v, s := s)], duckstore_p -> \
         list_transform([(hour(duckstore_p.v) * 60 + minute(duckstore_p.v)) * 60000000 + microsecond(duckstore_p.v)], duckstore_u -> \
         list_transform([(duckstore_u + duckstore_p.s // 2) // duckstore_p.s * duckstore_p.s], duckstore_r -> \
         CASE WHEN duckstore_r >= 86400000000 THEN TIME '24:00:00' \
         ELSE duckstore_p.v + to_microseconds(CAST(duckstore_r - duckstore_u AS BIGINT)) END)[1])[1])[1]"
            .to_owned(),
        // a value's JSON as PostgreSQL writes it: a timestamp in ISO 8601 (`T` between date and
        // time, a zone's offset with its minutes), a float's NaN and infinities as strings, a
        // numeric of a declared scale with it (DuckDB writes a space, `+00`, a bare NaN, which
        // is no JSON, and `1.5` of a numeric(3,2) `1.50`; the stand-in for an unconstrained
        // numeric, whose values' own scales are gone, keeps DuckDB's shortest form)
        // (no backslash in the text: the first space of a timestamp's JSON string is the one
        // between its date and time)
        "CREATE OR REPLACE MACRO duckstore_to_json(x) AS list_transform([x], duckstore_v -> \
         list_transform([CAST(to_json(duckstore_v) AS VARCHAR)], duckstore_s -> CASE \
         WHEN typeof(duckstore_v) = 'TIMESTAMP' THEN CAST(regexp_replace(duckstore_s, ' ', 'T') AS JSON) \
         WHEN typeof(duckstore_v) = 'TIMESTAMP WITH TIME ZONE' THEN CAST(regexp_replace(regexp_replace(duckstore_s, ' ', 'T'), \
             '([+-][0-9][0-9])\"$', '') || CASE WHEN regexp_matches(duckstore_s, '[+-][0-9][0-9]\"$') \
             THEN right(duckstore_s, 4)[1:3] || ':00\"' ELSE '' END AS JSON) \
         WHEN typeof(duckstore_v) IN ('DOUBLE', 'FLOAT') THEN CAST(CASE \
             WHEN duckstore_s IN ('inf', 'Infinity', 'infinity') THEN '\"Infinity\"' \
             WHEN duckstore_s IN ('-inf', '-Infinity', '-infinity') THEN '\"-Infinity\"' \
             WHEN lower(duckstore_s) IN ('nan', '-nan') THEN '\"NaN\"' ELSE duckstore_s END AS JSON) \
         WHEN typeof(duckstore_v) LIKE 'DECIMAL(%' AND typeof(duckstore_v) <> 'DECIMAL(38,9)' \
             THEN CAST(CAST(duckstore_v AS VARCHAR) AS JSON) \
         ELSE CAST(duckstore_s AS JSON) END)[1])[1]"
            .to_owned(),
        // each text of a list cut at n characters (a cast to varchar(n)[]; gateway::compat)
        "CREATE OR REPLACE MACRO duckstore_left_each(l, n) AS list_transform([struct_pack(l := l, n := n)], duckstore_p -> \
         list_transform(duckstore_p.l, duckstore_e -> left(duckstore_e, duckstore_p.n)))[1]"
            .to_owned(),
        // what jsonb's `?` finds: an object's keys, an array's string elements, a string itself
        "CREATE OR REPLACE MACRO duckstore_json_keys(j) AS list_transform([j], duckstore_v -> CASE json_type(duckstore_v) \
         WHEN 'OBJECT' THEN json_keys(duckstore_v) \
         WHEN 'ARRAY' THEN list_transform(list_filter(json_extract(duckstore_v, '$[*]'), duckstore_e -> json_type(duckstore_e) = 'VARCHAR'), \
         duckstore_e -> json_extract_string(duckstore_e, '$')) \
         WHEN 'VARCHAR' THEN [json_extract_string(duckstore_v, '$')] ELSE [] END)[1]"
            .to_owned(),
        format!(
            "CREATE OR REPLACE MACRO duckstore_to_regtype(n) AS \
             list_transform([lower(replace(n, 'pg_catalog.', ''))], duckstore_v -> CASE duckstore_v {} ELSE NULL END)[1]",
            by_name.join(" ")
        ),
    ]
}

fn pk_attnums(t: &TableRecord) -> Vec<V> {
    t.primary_key
        .iter()
        .filter_map(|k| t.columns.iter().position(|c| &c.name == k).map(|i| V::Int(i as i64 + 1)))
        .collect()
}

fn quote_if_needed(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { name.to_owned() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

fn information_type(c: &ColumnRecord) -> (String, Option<i64>, Option<i64>) {
    let (oid, typmod) = pg_type_of(&c.sql_type);
    match oid {
        1700 if typmod >= 4 => {
            ("numeric".into(), Some(((typmod - 4) >> 16) as i64), Some(((typmod - 4) & 0xffff) as i64))
        }
        1700 => ("numeric".into(), Some(38), Some(0)),
        20 => ("bigint".into(), Some(64), Some(0)),
        23 => ("integer".into(), Some(32), Some(0)),
        21 => ("smallint".into(), Some(16), Some(0)),
        701 => ("double precision".into(), Some(53), None),
        700 => ("real".into(), Some(24), None),
        // PostgreSQL's information_schema calls every array type ARRAY (its udt_name says which)
        other if TYPES.iter().any(|t| t.0 == other && t.4 == "A" && t.5 != 0 && t.0 != 22 && t.0 != 30) => {
            ("ARRAY".into(), None, None)
        }
        other => (format_type(other, -1), None, None),
    }
}

/// Builds one catalog relation for a session from what it may see.
pub(crate) fn build(
    relation: R,
    contents: &CatalogContents,
    user: &str,
    database: &str,
    settings: &SessionSettings,
) -> Result<RecordBatch> {
    let mut out = RelationBuilder::new(relation.columns());
    let schemas = &contents.schemas;
    // (schema, table or view, whether a view)
    let relations: Vec<(&SchemaEntry, &TableRecord, bool)> =
        contents.relations.iter().map(|r| (&schemas[r.schema], &r.table, r.view_definition.is_some())).collect();
    let tables: Vec<(&SchemaEntry, &TableRecord)> =
        relations.iter().filter(|(_, _, view)| !view).map(|(b, t, _)| (*b, *t)).collect();
    let mut system_schemas: Vec<(i64, &str)> = vec![(PG_CATALOG_OID, "pg_catalog")];
    if contents.server_schemas {
        system_schemas.push((PUBLIC_OID, "public"));
    }
    system_schemas.push((INFORMATION_SCHEMA_OID, "information_schema"));
    if contents.server_schemas {
        system_schemas.push((DUCKSTORE_SCHEMA_OID, "duckstore"));
    }
    match relation {
        R::Namespace => {
            for (oid, name) in &system_schemas {
                out.row(vec![(*oid).into(), (*name).into(), OWNER_OID.into(), V::Null]);
            }
            for b in schemas {
                out.row(vec![b.oid.into(), b.name.clone().into(), OWNER_OID.into(), V::Null]);
            }
        }
        R::Class => {
            for (b, t, is_view) in &relations {
                let class = |oid: i64, name: String, kind: &str, natts: usize, has_index: bool, am: i64| {
                    // a table's or view's row type; an index has none
                    let row_type = if kind == "i" { 0 } else { rowtype_oid(oid) };
                    vec![
                        oid.into(),
                        name.into(),
                        b.oid.into(),
                        row_type.into(),
                        V::Int(0),
                        OWNER_OID.into(),
                        am.into(),
                        // (a view has no file)
                        (if kind == "v" { 0 } else { oid }).into(),
                        V::Int(0),
                        V::Int(t.byte_count / 8192),
                        // (an index is counted by ANALYZE, which never runs here: 0)
                        V::Float(if kind == "i" { 0.0 } else { t.row_count as f64 }),
                        V::Int(0),
                        V::Int(0),
                        has_index.into(),
                        false.into(),
                        "p".into(),
                        kind.into(),
                        V::Int(natts as i64),
                        V::Int(0),
                        // a view is its `_RETURN` rule
                        (kind == "v").into(),
                        false.into(),
                        false.into(),
                        false.into(),
                        false.into(),
                        true.into(),
                        // only a table has a replica identity
                        (if kind == "r" { "d" } else { "n" }).into(),
                        false.into(),
                        V::Int(0),
                        V::Int(0),
                        V::Int(0),
                        V::Null,
                        V::Null,
                        V::Null,
                    ]
                };
                if *is_view {
                    out.row(class(table_oid(t.id), t.name.clone(), "v", t.columns.len(), false, 0));
                    continue;
                }
                out.row(class(table_oid(t.id), t.name.clone(), "r", t.columns.len(), !t.primary_key.is_empty(), 2));
                if !t.primary_key.is_empty() {
                    out.row(class(pk_index_oid(t), format!("{}_pkey", t.name), "i", t.primary_key.len(), false, 403));
                }
            }
        }
        R::Attribute => {
            // (relation, column, attnum, whether it is the table's own: an index's are not
            // NOT NULL and have no default)
            let mut attribute = |relation: i64, c: &ColumnRecord, attnum: usize, own: bool| {
                let (oid, typmod) = pg_type_of(&c.sql_type);
                let len = TYPES.iter().find(|x| x.0 == oid).map_or(-1, |x| x.3);
                out.row(vec![
                    relation.into(),
                    c.name.clone().into(),
                    oid.into(),
                    V::Int(-1),
                    V::Int(len as i64),
                    V::Int(attnum as i64),
                    V::Int(0),
                    V::Int(-1),
                    V::Int(typmod as i64),
                    (len > 0).into(),
                    type_alignment(oid).into(),
                    type_storage(oid).into(),
                    "".into(),
                    (own && !c.nullable).into(),
                    (own && c.default_sql.is_some()).into(),
                    false.into(),
                    "".into(),
                    "".into(),
                    false.into(),
                    true.into(),
                    V::Int(0),
                    V::Int(if oid == 25 { 100 } else { 0 }),
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                ]);
            };
            for (_, t, _) in &relations {
                for (i, c) in t.columns.iter().enumerate() {
                    attribute(table_oid(t.id), c, i + 1, true);
                }
                // the primary key's index has the key's columns as its own (psqlODBC's
                // SQLPrimaryKeys joins them to pg_index.indkey)
                let keys = t.primary_key.iter().filter_map(|k| t.columns.iter().find(|c| c.name == *k));
                for (i, c) in keys.enumerate() {
                    attribute(pk_index_oid(t), c, i + 1, false);
                }
            }
            for (_, t, view) in &relations {
                // a table's system columns, as every PostgreSQL table has them
                if !view {
                    for (attnum, name, type_oid, len) in SYSTEM_COLUMNS {
                        out.row(vec![
                            table_oid(t.id).into(),
                            (*name).into(),
                            V::Int(*type_oid),
                            V::Int(0),
                            V::Int(*len),
                            V::Int(*attnum),
                            V::Int(0),
                            V::Int(-1),
                            V::Int(-1),
                            (*len == 4).into(),
                            if *len == 4 { "i" } else { "s" }.into(),
                            "p".into(),
                            "".into(),
                            true.into(),
                            false.into(),
                            false.into(),
                            "".into(),
                            "".into(),
                            false.into(),
                            true.into(),
                            V::Int(0),
                            V::Int(0),
                            V::Null,
                            V::Null,
                            V::Null,
                            V::Null,
                        ]);
                    }
                }
            }
        }
        R::Index => {
            for (_, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                let keys = pk_attnums(t);
                let n = keys.len() as i64;
                out.row(vec![
                    pk_index_oid(t).into(),
                    table_oid(t.id).into(),
                    n.into(),
                    n.into(),
                    true.into(),
                    false.into(),
                    true.into(),
                    false.into(),
                    true.into(),
                    false.into(),
                    true.into(),
                    false.into(),
                    true.into(),
                    true.into(),
                    false.into(),
                    V::List(keys),
                    V::List(vec![V::Int(0); n as usize]),
                    V::List(vec![V::Int(0); n as usize]),
                    V::List(vec![V::Int(0); n as usize]),
                    V::Null,
                    V::Null,
                ]);
            }
        }
        R::Constraint => {
            // information_schema's domains' checks, as every PostgreSQL 15 database has them
            for (oid, name, domain, _, _) in INFORMATION_SCHEMA_DOMAIN_CHECKS {
                out.named(vec![
                    ("oid", V::Int(oid)),
                    ("conname", name.into()),
                    ("connamespace", V::Int(INFORMATION_SCHEMA_OID)),
                    ("contype", "c".into()),
                    ("condeferrable", false.into()),
                    ("condeferred", false.into()),
                    ("convalidated", true.into()),
                    ("conrelid", V::Int(0)),
                    ("contypid", V::Int(domain)),
                    ("conindid", V::Int(0)),
                    ("conparentid", V::Int(0)),
                    ("confrelid", V::Int(0)),
                    ("confupdtype", " ".into()),
                    ("confdeltype", " ".into()),
                    ("confmatchtype", " ".into()),
                    ("conislocal", true.into()),
                    ("coninhcount", V::Int(0)),
                    ("connoinherit", false.into()),
                ]);
            }
            for (b, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                out.row(vec![
                    pk_constraint_oid(t).into(),
                    format!("{}_pkey", t.name).into(),
                    b.oid.into(),
                    "p".into(),
                    false.into(),
                    false.into(),
                    true.into(),
                    table_oid(t.id).into(),
                    V::Int(0),
                    pk_index_oid(t).into(),
                    V::Int(0),
                    V::Int(0),
                    " ".into(),
                    " ".into(),
                    " ".into(),
                    true.into(),
                    V::Int(0),
                    true.into(),
                    V::List(pk_attnums(t)),
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                    V::Null,
                ]);
            }
        }
        R::Attrdef => {
            for (_, t) in &tables {
                for (i, c) in t.columns.iter().enumerate() {
                    if let Some(default) = &c.default_sql {
                        out.row(vec![
                            attrdef_oid(t, i + 1).into(),
                            table_oid(t.id).into(),
                            V::Int(i as i64 + 1),
                            default.clone().into(),
                        ]);
                    }
                }
            }
        }
        R::Description => {
            // (psql's `\dx` shows it; 3079 is pg_extension's oid)
            out.row(vec![
                V::Int(PLPGSQL_EXTENSION_OID),
                V::Int(3079),
                V::Int(0),
                "PL/pgSQL procedural language".into(),
            ]);
            for (_, t) in tables.iter().filter(|(_, t)| !t.description.is_empty()) {
                out.row(vec![table_oid(t.id).into(), PG_CLASS_OID.into(), V::Int(0), t.description.clone().into()]);
            }
            for b in schemas.iter().filter(|b| !b.description.is_empty()) {
                out.row(vec![b.oid.into(), PG_NAMESPACE_OID.into(), V::Int(0), b.description.clone().into()]);
            }
        }
        R::Collation => {
            out.row(vec![
                V::Int(100),
                "default".into(),
                PG_CATALOG_OID.into(),
                OWNER_OID.into(),
                "d".into(),
                true.into(),
                V::Int(-1),
                V::Null,
                V::Null,
                V::Null,
                V::Null,
            ]);
            out.row(vec![
                V::Int(950),
                "C".into(),
                PG_CATALOG_OID.into(),
                OWNER_OID.into(),
                "c".into(),
                true.into(),
                V::Int(-1),
                "C".into(),
                "C".into(),
                V::Null,
                V::Null,
            ]);
        }
        R::Database => {
            out.named(vec![
                ("oid", V::Int(16_384)),
                ("datname", database.into()),
                ("datdba", OWNER_OID.into()),
                ("encoding", V::Int(6)),
                ("datlocprovider", "c".into()),
                ("datistemplate", false.into()),
                ("datallowconn", true.into()),
                ("datconnlimit", V::Int(-1)),
                ("datfrozenxid", V::Int(716)),
                ("datminmxid", V::Int(1)),
                ("dattablespace", V::Int(1663)),
                // byte order, as DuckDB compares text: Debian's PostgreSQL default
                ("datcollate", "C.UTF-8".into()),
                ("datctype", "C.UTF-8".into()),
            ]);
        }
        R::Roles => {
            out.named(vec![
                ("rolname", user.into()),
                ("rolsuper", false.into()),
                ("rolinherit", true.into()),
                ("rolcreaterole", false.into()),
                ("rolcreatedb", false.into()),
                ("rolcanlogin", true.into()),
                ("rolreplication", false.into()),
                ("rolconnlimit", V::Int(-1)),
                // (PostgreSQL shows every role's password so)
                ("rolpassword", "********".into()),
                ("rolbypassrls", false.into()),
                ("oid", OWNER_OID.into()),
            ]);
        }
        R::User => {
            out.row(vec![user.into(), OWNER_OID.into(), false.into(), false.into()]);
        }
        // the session's own cursors (see `exec::cursors::pg_cursors`)
        R::Cursors => {}
        R::Keywords => {
            for (word, catcode, barelabel, catdesc, baredesc) in crate::gateway::pg_catalog::keywords() {
                out.row(vec![word.into(), catcode.into(), barelabel.into(), catdesc.into(), baredesc.into()]);
            }
        }
        // statistics: the rows each table holds; scan and maintenance counters are not kept
        R::StatUserTables => {
            for (b, t) in &tables {
                let mut row: Vec<V> = vec![table_oid(t.id).into(), b.name.clone().into(), t.name.clone().into()];
                row.extend([0i64, 0, 0, 0, 0, 0, 0, 0].map(V::Int));
                row.extend([V::Int(t.row_count), V::Int(0), V::Int(0), V::Int(0)]);
                row.extend([V::Null, V::Null, V::Null, V::Null]);
                row.extend([0i64, 0, 0, 0].map(V::Int));
                out.row(row);
            }
        }
        // every parameter a session has, with this session's value
        R::Settings => {
            let mut parameters: Vec<(&str, &str)> = settings.all().collect();
            parameters.sort_by_key(|(name, _)| name.to_ascii_lowercase());
            for (name, value) in parameters {
                let (default, user_set) = crate::gateway::settings::default_of(name).unwrap_or((value, false));
                let vartype = if matches!(value, "on" | "off") {
                    "bool"
                } else if value.parse::<i64>().is_ok() {
                    "integer"
                } else {
                    "string"
                };
                out.named(vec![
                    ("name", crate::gateway::settings::display_name(name).into()),
                    ("setting", value.into()),
                    ("category", (if user_set { "Client Connection Defaults" } else { "Preset Options" }).into()),
                    ("short_desc", "".into()),
                    ("context", (if user_set { "user" } else { "internal" }).into()),
                    ("vartype", vartype.into()),
                    ("source", (if value == default { "default" } else { "session" }).into()),
                    ("boot_val", default.into()),
                    ("reset_val", default.into()),
                    ("pending_restart", false.into()),
                ]);
            }
        }
        R::Tables => {
            for (b, t) in &tables {
                out.row(vec![
                    b.name.clone().into(),
                    t.name.clone().into(),
                    "duckstore".into(),
                    V::Null,
                    (!t.primary_key.is_empty()).into(),
                    false.into(),
                    false.into(),
                    false.into(),
                ]);
            }
        }
        R::Indexes => {
            for (b, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                out.row(vec![
                    b.name.clone().into(),
                    t.name.clone().into(),
                    format!("{}_pkey", t.name).into(),
                    V::Null,
                    index_def(b, t).into(),
                ]);
            }
        }
        R::IndexDefs => {
            for (b, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                out.row(vec![pk_index_oid(t).into(), V::Int(0), index_def(b, t).into()]);
                for (k, key) in t.primary_key.iter().enumerate() {
                    out.row(vec![pk_index_oid(t).into(), V::Int(k as i64 + 1), quote_if_needed(key).into()]);
                }
            }
        }
        R::ConstraintDefs => {
            for (_, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                let keys: Vec<String> = t.primary_key.iter().map(|k| quote_if_needed(k)).collect();
                let def = format!("PRIMARY KEY ({})", keys.join(", "));
                out.row(vec![pk_constraint_oid(t).into(), def.clone().into(), def.into()]);
            }
            for (oid, _, _, def, pretty) in INFORMATION_SCHEMA_DOMAIN_CHECKS {
                out.row(vec![V::Int(oid), def.into(), pretty.into()]);
            }
        }
        R::Schemata => {
            for (_, name) in &system_schemas {
                out.row(vec![database.into(), (*name).into(), "duckstore".into()]);
            }
            for b in schemas {
                out.row(vec![database.into(), b.name.clone().into(), "duckstore".into()]);
            }
        }
        R::IsTables => {
            for (b, t, is_view) in &relations {
                let insertable = if !b.writable || *is_view { "NO" } else { "YES" };
                out.named(vec![
                    ("table_catalog", database.into()),
                    ("table_schema", b.name.clone().into()),
                    ("table_name", t.name.clone().into()),
                    ("table_type", (if *is_view { "VIEW" } else { "BASE TABLE" }).into()),
                    ("is_insertable_into", insertable.into()),
                    ("is_typed", "NO".into()),
                ]);
            }
        }
        R::IsColumns => {
            for (b, t, is_view) in &relations {
                for (i, c) in t.columns.iter().enumerate() {
                    let (data_type, precision, scale) = information_type(c);
                    let (oid, typmod) = pg_type_of(&c.sql_type);
                    let udt = TYPES.iter().find(|x| x.0 == oid).map_or("text", |x| x.1);
                    let length = (matches!(oid, 1042 | 1043) && typmod >= 4).then(|| i64::from(typmod - 4));
                    // a string's longest form in bytes: four per character (UTF8), or PostgreSQL's
                    // 1 GB for text without a length
                    let octets = match (oid, length) {
                        (1042 | 1043, Some(n)) => Some(n * 4),
                        (25 | 1042 | 1043, _) => Some(1_073_741_824),
                        _ => None,
                    };
                    // timestamps, times and intervals keep microseconds (6), dates none (0)
                    let datetime_precision = match oid {
                        1082 => Some(0),
                        1083 | 1114 | 1184 | 1266 | 1186 => Some(6),
                        _ => None,
                    };
                    let radix = match oid {
                        20 | 21 | 23 | 700 | 701 => Some(2),
                        1700 => Some(10),
                        _ => None,
                    };
                    out.named(vec![
                        ("table_catalog", database.into()),
                        ("table_schema", b.name.clone().into()),
                        ("table_name", t.name.clone().into()),
                        ("column_name", c.name.clone().into()),
                        ("ordinal_position", V::Int(i as i64 + 1)),
                        ("column_default", c.default_sql.clone().into()),
                        ("is_nullable", (if c.nullable { "YES" } else { "NO" }).into()),
                        ("data_type", data_type.into()),
                        ("character_maximum_length", length.map_or(V::Null, V::Int)),
                        ("character_octet_length", octets.map_or(V::Null, V::Int)),
                        ("numeric_precision", precision.map_or(V::Null, V::Int)),
                        ("numeric_precision_radix", radix.map_or(V::Null, V::Int)),
                        ("numeric_scale", scale.map_or(V::Null, V::Int)),
                        ("datetime_precision", datetime_precision.map_or(V::Null, V::Int)),
                        ("udt_catalog", database.into()),
                        ("udt_schema", "pg_catalog".into()),
                        ("udt_name", udt.into()),
                        ("dtd_identifier", (i + 1).to_string().into()),
                        ("is_self_referencing", "NO".into()),
                        ("is_identity", "NO".into()),
                        ("identity_cycle", "NO".into()),
                        ("is_generated", "NEVER".into()),
                        ("is_updatable", (if *is_view || !b.writable { "NO" } else { "YES" }).into()),
                    ]);
                }
            }
        }
        R::IsTableConstraints => {
            for (b, t) in &tables {
                let mut constraint = |name: String, kind: &str| {
                    out.named(vec![
                        ("constraint_catalog", database.into()),
                        ("constraint_schema", b.name.clone().into()),
                        ("constraint_name", name.into()),
                        ("table_catalog", database.into()),
                        ("table_schema", b.name.clone().into()),
                        ("table_name", t.name.clone().into()),
                        ("constraint_type", kind.into()),
                        ("is_deferrable", "NO".into()),
                        ("initially_deferred", "NO".into()),
                        ("enforced", "YES".into()),
                        ("nulls_distinct", (if kind == "PRIMARY KEY" { V::from("YES") } else { V::Null })),
                    ]);
                };
                if !t.primary_key.is_empty() {
                    constraint(format!("{}_pkey", t.name), "PRIMARY KEY");
                }
                // a NOT NULL column is a CHECK constraint here, named as PostgreSQL names it
                for (i, _) in t.columns.iter().enumerate().filter(|(_, c)| !c.nullable) {
                    constraint(format!("{}_{}_{}_not_null", b.oid, table_oid(t.id), i + 1), "CHECK");
                }
            }
        }
        R::IsKeyColumnUsage => {
            for (b, t) in tables.iter().filter(|(_, t)| !t.primary_key.is_empty()) {
                for (k, key) in t.primary_key.iter().enumerate() {
                    out.named(vec![
                        ("constraint_catalog", database.into()),
                        ("constraint_schema", b.name.clone().into()),
                        ("constraint_name", format!("{}_pkey", t.name).into()),
                        ("table_catalog", database.into()),
                        ("table_schema", b.name.clone().into()),
                        ("table_name", t.name.clone().into()),
                        ("column_name", key.clone().into()),
                        ("ordinal_position", V::Int(k as i64 + 1)),
                    ]);
                }
            }
        }
        // PostgreSQL's own rows only (catalog_static)
        // PostgreSQL's own types (catalog_static), then each table's and view's row type and
        // its array, as PostgreSQL creates them (pgjdbc's getUDTs lists a schema's row types)
        R::Type => {
            for (b, t, _) in &relations {
                let relation = table_oid(t.id);
                let (row, array) = (rowtype_oid(relation), rowtype_oid(relation) + ROWTYPE_ARRAY_OFFSET);
                let mut rows = [
                    (row, t.name.clone(), "c", "C", relation, "-", 0, array, "record"),
                    (array, format!("_{}", t.name), "b", "A", 0, "array_subscript_handler", row, 0, "array"),
                ];
                for (oid, name, kind, category, relid, subscript, element, array_of, io) in rows.iter_mut() {
                    out.row(vec![
                        (*oid).into(),
                        std::mem::take(name).into(),
                        b.oid.into(),
                        OWNER_OID.into(),
                        V::Int(-1),
                        false.into(),
                        (*kind).into(),
                        (*category).into(),
                        false.into(),
                        true.into(),
                        ",".into(),
                        (*relid).into(),
                        (*subscript).into(),
                        (*element).into(),
                        (*array_of).into(),
                        format!("{io}_in").into(),
                        format!("{io}_out").into(),
                        format!("{io}_recv").into(),
                        format!("{io}_send").into(),
                        "-".into(),
                        "-".into(),
                        (if *kind == "b" { "array_typanalyze" } else { "-" }).into(),
                        "d".into(),
                        "x".into(),
                        false.into(),
                        V::Int(0),
                        V::Int(-1),
                        V::Int(0),
                        V::Int(0),
                        V::Null,
                        V::Null,
                        V::Null,
                    ]);
                }
            }
        }
        R::Am | R::Language | R::Aggregate => {}
        // Relations that exist so clients' queries bind, and are empty here.
        R::Inherits
        | R::AuthMembers
        | R::Proc
        | R::Policy
        | R::StatisticExt
        | R::Publication
        | R::PublicationNamespace
        | R::PublicationRel
        | R::Sequence
        | R::Opclass
        | R::Trigger
        | R::Enum
        | R::Range
        | R::Matviews
        | R::Sequences
        | R::EventTrigger
        | R::DefaultAcl
        | R::AvailableExtensions
        | R::Shdescription
        | R::IsRoutines
        | R::IsReferentialConstraints
        | R::Conversion
        // no operator families but PostgreSQL's built-in ones, which no index here names
        | R::Opfamily => {}
        // the session's privileges on each relation it sees: what PostgreSQL grants a table's
        // owner where the session may write it, reading alone where it may not (all of them
        // granted to the session's own role)
        R::IsTablePrivileges | R::IsRoleTableGrants => {
            const ALL: [&str; 7] = ["INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];
            for (b, t, _) in &relations {
                let privileges: &[&str] = if b.writable { &ALL } else { &["SELECT"] };
                for privilege in privileges {
                    out.named(vec![
                        ("grantor", "duckstore".into()),
                        ("grantee", user.into()),
                        ("table_catalog", database.into()),
                        ("table_schema", b.name.clone().into()),
                        ("table_name", t.name.clone().into()),
                        ("privilege_type", (*privilege).into()),
                        ("is_grantable", "YES".into()),
                        ("with_hierarchy", (if *privilege == "SELECT" { "YES" } else { "NO" }).into()),
                    ]);
                }
            }
        }
        // PostgreSQL's two tablespaces and its one built-in extension (its language is in
        // pg_language), as every PostgreSQL 15 database has them
        R::Tablespace => {
            for (oid, name) in [(1663, "pg_default"), (1664, "pg_global")] {
                out.named(vec![("oid", V::Int(oid)), ("spcname", name.into()), ("spcowner", OWNER_OID.into())]);
            }
        }
        R::Extension => {
            out.named(vec![
                ("oid", V::Int(PLPGSQL_EXTENSION_OID)),
                ("extname", "plpgsql".into()),
                ("extowner", OWNER_OID.into()),
                ("extnamespace", PG_CATALOG_OID.into()),
                ("extrelocatable", false.into()),
                ("extversion", "1.0".into()),
            ]);
        }
        // a view's query is its `_RETURN` rule, which depends on the view (internally) and
        // on each relation the query reads
        R::Rewrite | R::Depend | R::IsViewTableUsage => {
            for (view, read) in view_dependencies(contents) {
                let rule = view_rule_oid(view);
                let view_oid = table_oid(view.table.id);
                match relation {
                    R::Rewrite => {
                        out.named(vec![
                            ("oid", rule.into()),
                            ("rulename", "_RETURN".into()),
                            ("ev_class", view_oid.into()),
                            // (on SELECT, always enabled, instead of the view's scan)
                            ("ev_type", "1".into()),
                            ("ev_enabled", "O".into()),
                            ("is_instead", true.into()),
                        ]);
                    }
                    R::Depend => {
                        let reads = read.iter().map(|r| (table_oid(r.table.id), "n"));
                        for (on, kind) in std::iter::once((view_oid, "i")).chain(reads) {
                            out.named(vec![
                                ("classid", PG_REWRITE_OID.into()),
                                ("objid", rule.into()),
                                ("objsubid", V::Int(0)),
                                ("refclassid", PG_CLASS_OID.into()),
                                ("refobjid", on.into()),
                                ("refobjsubid", V::Int(0)),
                                ("deptype", kind.into()),
                            ]);
                        }
                    }
                    _ => {
                        for r in read {
                            out.named(vec![
                                ("view_catalog", database.into()),
                                ("view_schema", schemas[view.schema].name.clone().into()),
                                ("view_name", view.table.name.clone().into()),
                                ("table_catalog", database.into()),
                                ("table_schema", schemas[r.schema].name.clone().into()),
                                ("table_name", r.table.name.clone().into()),
                            ]);
                        }
                    }
                }
            }
        }
        R::Views | R::IsViews | R::ViewDefs => {
            for view in &contents.relations {
                let Some(query) = &view.view_definition else { continue };
                let (b, v) = (&schemas[view.schema], &view.table);
                let columns = |schema: Option<&str>, table: &str| {
                    let schema = schema.unwrap_or(&b.name);
                    let read = contents
                        .relations
                        .iter()
                        .find(|r| schemas[r.schema].name == schema && r.table.name == table)?;
                    Some(read.table.columns.iter().map(|c| (c.name.clone(), pg_type_of(&c.sql_type).0)).collect())
                };
                let printed = |pretty| {
                    let text = crate::gateway::viewdef::postgres_view_text(query, &columns, pretty);
                    // PostgreSQL shows a view's query ending with a semicolon
                    format!(" {};", text.as_deref().unwrap_or(query))
                };
                let definition = printed(false);
                out.row(match relation {
                    R::Views => {
                        vec![b.name.clone().into(), v.name.clone().into(), "duckstore".into(), definition.into()]
                    }
                    R::IsViews => {
                        let mut row =
                            vec![database.into(), b.name.clone().into(), v.name.clone().into(), definition.into()];
                        row.extend(["NONE", "NO", "NO", "NO", "NO", "NO"].map(V::from));
                        row
                    }
                    _ => vec![table_oid(v.id).into(), definition.into(), printed(true).into()],
                });
            }
        }
    }
    let own = out.finish()?;
    // PostgreSQL's own rows (its types, functions, system relations …) come first
    match super::catalog_static::rows(relation) {
        Some(postgres) => arrow::compute::concat_batches(&own.schema(), [postgres, &own])
            .map_err(|e| crate::error::Error::internal("reading the catalog", e)),
        None => Ok(own),
    }
}

/// pg_rewrite's own oid (a `classid` of pg_depend).
const PG_REWRITE_OID: i64 = 2618;

/// A view's `_RETURN` rule: above the row types' arrays, within 32 bits.
fn view_rule_oid(view: &RelationEntry) -> i64 {
    4_000_000_000 + view.table.id - VIEW_ID_OFFSET
}

/// Each view with the relations of the catalog its query reads (once each, in the order the
/// query names them): a name without a schema is of the view's own schema, a CTE's name is no
/// relation, and a name the catalog does not hold is left out.
fn view_dependencies(contents: &CatalogContents) -> Vec<(&RelationEntry, Vec<&RelationEntry>)> {
    use sqlparser::ast::{Visit, Visitor};
    #[derive(Default)]
    struct Names(Vec<Vec<String>>, Vec<String>);
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            if let Some(with) = &query.with {
                self.1.extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, name: &sqlparser::ast::ObjectName) -> std::ops::ControlFlow<()> {
            let parts = name.0.iter().filter_map(|p| p.as_ident()).map(|i| match i.quote_style {
                Some(_) => i.value.clone(),
                None => i.value.to_lowercase(),
            });
            self.0.push(parts.collect());
            std::ops::ControlFlow::Continue(())
        }
    }
    let schemas = &contents.schemas;
    let mut out = Vec::new();
    for view in &contents.relations {
        let Some(query) = &view.view_definition else { continue };
        let Ok(statements) = crate::gateway::parse(query) else { continue };
        let mut names = Names::default();
        for statement in &statements {
            let _ = statement.visit(&mut names);
        }
        let mut read: Vec<&RelationEntry> = Vec::new();
        for name in &names.0 {
            let (schema, table) = match name.as_slice() {
                [table] if names.1.contains(table) => continue,
                [table] => (&schemas[view.schema].name, table),
                [.., schema, table] => (schema, table),
                [] => continue,
            };
            let found = contents.relations.iter().find(|r| &schemas[r.schema].name == schema && &r.table.name == table);
            if let Some(r) = found
                && !read.iter().any(|x| std::ptr::eq(*x, r))
            {
                read.push(r);
            }
        }
        out.push((view, read));
    }
    out
}

/// PostgreSQL's system columns of a table: (attnum, name, type OID, length).
const SYSTEM_COLUMNS: &[(i64, &str, i64, i64)] = &[
    (-6, "tableoid", 26, 4),
    (-5, "cmax", 29, 4),
    (-4, "xmax", 28, 4),
    (-3, "cmin", 29, 4),
    (-2, "xmin", 28, 4),
    (-1, "ctid", 27, 6),
];

fn index_def(b: &SchemaEntry, t: &TableRecord) -> String {
    let keys: Vec<String> = t.primary_key.iter().map(|k| quote_if_needed(k)).collect();
    format!(
        "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
        quote_if_needed(&format!("{}_pkey", t.name)),
        quote_if_needed(&b.name),
        quote_if_needed(&t.name),
        keys.join(", ")
    )
}
