//! A workspace's own DuckDB catalog as the source of the PostgreSQL catalog relations: the
//! same emulation storage sessions use (`exec::catalog`), fed with the workspace's schemas,
//! tables and views instead of buckets.

use super::catalog::{CatalogContents, RelationEntry, SchemaEntry};
use crate::catalog::{ColumnRecord, TableRecord};
use crate::engine::WorkspaceCatalog;

/// Schemas are numbered like buckets are in storage sessions, clear of PostgreSQL's own oids.
const SCHEMA_OID_OFFSET: i64 = 1_000_000;

/// The catalog contents of a workspace session.
pub(super) fn contents(catalog: &WorkspaceCatalog) -> CatalogContents {
    let schemas: Vec<SchemaEntry> = catalog
        .schemas
        .iter()
        .map(|s| SchemaEntry {
            oid: SCHEMA_OID_OFFSET + s.oid,
            name: s.name.clone(),
            description: s.comment.clone(),
            writable: true,
        })
        .collect();
    let relations = catalog
        .relations
        .iter()
        .filter_map(|r| {
            let schema = catalog.schemas.iter().position(|s| s.oid == r.schema_oid)?;
            let columns = r
                .columns
                .iter()
                .map(|c| ColumnRecord {
                    name: c.name.clone(),
                    sql_type: c.data_type.clone(),
                    base_type: String::new(),
                    nullable: c.nullable,
                    default_sql: c.default.clone(),
                })
                .collect();
            let table = TableRecord {
                id: r.oid,
                bucket_id: r.schema_oid,
                name: r.name.clone(),
                version: 0,
                primary_key: r.primary_key.clone(),
                row_count: r.rows,
                byte_count: 0,
                description: r.comment.clone(),
                created_at: 0,
                created_by: String::new(),
                changed_at: 0,
                version_since: 0,
                columns,
            };
            Some(RelationEntry { schema, table, view_definition: r.view_sql.as_deref().map(view_query) })
        })
        .collect();
    CatalogContents { schemas, relations, server_schemas: false }
}

/// The query of a view from DuckDB's `CREATE VIEW … AS <query>;` text, as `pg_get_viewdef`
/// shows it. A text of another shape is shown whole.
fn view_query(create: &str) -> String {
    let text = create.trim().trim_end_matches(';').trim_end();
    let upper = text.to_ascii_uppercase();
    // the first ` AS ` outside quotes after `VIEW`
    let Some(view) = upper.find("VIEW") else { return text.to_owned() };
    let bytes = upper.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = view;
    while i + 4 <= bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if bytes[i].is_ascii_whitespace()
                && upper[i + 1..].starts_with("AS")
                && upper[i + 3..].starts_with(|c: char| c.is_ascii_whitespace() || c == '(') =>
            {
                return text[i + 3..].trim().to_owned();
            }
            None => {}
        }
        i += 1;
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_views_query_is_what_follows_its_name() {
        assert_eq!(view_query("CREATE VIEW v AS SELECT 1;"), "SELECT 1");
        assert_eq!(view_query("CREATE VIEW \"in.c-x\".\"a as b\" AS\nSELECT * FROM t;"), "SELECT * FROM t");
        assert_eq!(view_query("create or replace view v(a) as (select 1)"), "(select 1)");
        assert_eq!(view_query("something else"), "something else");
    }
}
