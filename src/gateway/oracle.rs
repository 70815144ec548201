//! The judge of client-derived SQL: DuckDB's own parse of the exact text the engine is about to
//! run (engine/parser.rs) must name only what the plan resolved for the session — its table
//! files, its server-built relations by their handles, common table expressions under their
//! canonical names — and only functions on the allow-list. Anything else is refused (42501),
//! logged as a security event and counted in `duckstore_security_refusals_total`.
//!
//! The gateway's own checks (query.rs) decide with sqlparser; this one decides with the parser
//! that decides what runs, so a statement the two parsers read differently cannot pass both.

use crate::engine::{Allowed, References};
use crate::error::{Error, Result, SqlState};

use super::functions;
use super::query::CTE_PREFIX;

/// Names DuckDB's parser gives to operators and syntax (`a + b`, `x LIKE y`, `a[1]`, `[1, 2]`,
/// `{'a': 1}`, `count(*)`, `extract(…)`), which the gateway's allow-list spells differently or
/// not at all, and functions the server's own rewrites call.
const PARSER_FUNCTIONS: &[&str] = &[
    "+",
    "-",
    "*",
    "/",
    "%",
    "//",
    "**",
    "^",
    "||",
    "&",
    "|",
    "#",
    "~",
    "<<",
    ">>",
    "~~",
    "!~~",
    "~~*",
    "!~~*",
    "~~~",
    "!~~~",
    "^@",
    "->",
    "->>",
    "@",
    "array_extract",
    "array_slice",
    "list_value",
    "list_pack",
    "struct_pack",
    "struct_extract",
    "row",
    "map",
    "count_star",
    "date_part",
    "date_trunc",
    "substring",
    "position",
    "trim",
    "ltrim",
    "rtrim",
    "like_escape",
    "not_like_escape",
    "ilike_escape",
    "not_ilike_escape",
    "similar_to_escape",
    "regexp_full_match",
    "regexp_matches",
    "list_contains",
    "list_transform",
    "format_bytes",
    "json_object",
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "get_current_timestamp",
    "get_current_time",
    "today",
    "len",
    "replace",
    "lower",
    "upper",
    "timezone",
    "unnest",
    "range",
    "generate_series",
    "duckstore_format_type",
    "duckstore_to_regtype",
    "duckstore_divisor",
    crate::engine::numeric::DIVIDE,
    crate::engine::clock::CLOCK_TIMESTAMP,
    "duckstore_text",
    "duckstore_repeat",
    "duckstore_lpad",
    "duckstore_rpad",
    "duckstore_substring",
    "duckstore_json_keys",
    "duckstore_power",
    "duckstore_width_bucket",
    "duckstore_left_each",
    "duckstore_to_json",
    "duckstore_round_timestamp",
    "duckstore_round_time",
    "nullif",
    "coalesce",
    "greatest",
    "least",
    "grouping",
    "grouping_id",
    "make_interval",
    "to_days",
    "to_hours",
    "to_minutes",
    "to_seconds",
    "to_months",
    "to_years",
];

/// The table function that reads server-built relations (engine/relations.rs).
const RELATION_FUNCTION: &str = crate::engine::RELATION_FUNCTION;

fn function_allowed(schema: &str, name: &str) -> bool {
    matches!(schema, "" | "main" | "pg_catalog") && (functions::is_allowed(name) || PARSER_FUNCTIONS.contains(&name))
}

fn is_canonical_cte(name: &str) -> bool {
    name.strip_prefix(CTE_PREFIX).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The judge as the engine takes it.
pub fn judge_fn() -> crate::engine::Judge {
    crate::engine::Judge(std::sync::Arc::new(judge))
}

/// Judges what DuckDB read in a client-derived text against what the plan allows. The engine
/// calls this before it runs any such text (see `engine::Judge`).
pub fn judge(refs: &References, allowed: &Allowed<'_>) -> Result<()> {
    let refuse = |what: String| -> Result<()> {
        metrics::counter!("duckstore_security_refusals_total", "check" => "duckdb_parse").increment(1);
        tracing::warn!(target: "duckstore::security", what = %what, "refused: DuckDB reads the statement differently from the plan");
        Err(Error::permission_denied(format!("the statement was refused: {what}"))
            .with_hint("DuckDB reads this statement differently from duckstore's gateway; write it plainly"))
    };
    if refs.too_deep {
        return Err(super::nesting::too_deep());
    }
    if refs.statements != 1 {
        return refuse(format!("it holds {} statements", refs.statements));
    }
    if let Some(what) = refs.refused.first() {
        return refuse(format!("{what} is not allowed"));
    }
    if let Some(name) = refs.unknown_types.first() {
        return Err(Error::sql(SqlState::UndefinedObject, format!("type \"{name}\" does not exist")));
    }
    let aliases: Vec<String> = allowed.tables.iter().map(|t| t.alias()).collect();
    for (catalog, schema, table) in &refs.tables {
        let bound = schema == "main" && table == "data" && aliases.iter().any(|a| a == catalog);
        let cte = catalog.is_empty() && schema.is_empty() && is_canonical_cte(table) && refs.ctes.contains(table);
        if !(bound || cte) {
            let name = [catalog.as_str(), schema.as_str(), table.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(".");
            return refuse(format!("relation \"{name}\" was not planned"));
        }
    }
    for call in &refs.table_functions {
        let plain = call.catalog.is_empty() && matches!(call.schema.as_str(), "" | "main");
        let ok = plain
            && if call.name == RELATION_FUNCTION {
                matches!(call.int_args.as_slice(), [Some(h)] if allowed.handles.iter().any(|a| *a as i64 == *h))
            } else {
                functions::ALLOWED_TABLE_FUNCTIONS.contains(&call.name.as_str())
            };
        if !ok {
            return refuse(format!("table function {}() was not planned", call.name));
        }
    }
    for (schema, name) in &refs.functions {
        if !function_allowed(schema, name) {
            return refuse(format!("function {name}() is not allowed"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Call, TableFile};

    fn file(id: i64) -> TableFile {
        TableFile { project_id: 1, branch_id: 1, table_id: id, version: 1 }
    }

    fn refs() -> References {
        References { statements: 1, ..References::default() }
    }

    #[test]
    fn only_planned_tables_relations_and_canonical_ctes_pass() {
        let files = [file(5)];
        let allowed = Allowed { tables: &files, handles: &[77] };
        let mut r = refs();
        r.tables.push(("t5v1".into(), "main".into(), "data".into()));
        r.tables.push(("".into(), "".into(), "__cte_0".into()));
        r.ctes.push("__cte_0".into());
        r.table_functions.push(Call {
            catalog: "".into(),
            schema: "".into(),
            name: RELATION_FUNCTION.into(),
            int_args: vec![Some(77)],
        });
        r.functions.push(("".into(), "sum".into()));
        r.functions.push(("".into(), "+".into()));
        judge(&r, &allowed).unwrap();

        for (catalog, schema, table) in
            [("t6v1", "main", "data"), ("", "", "sqlite_master"), ("", "", "__cte_1"), ("t5v1", "main", "other")]
        {
            let mut bad = r.clone();
            bad.tables.push((catalog.into(), schema.into(), table.into()));
            assert_eq!(judge(&bad, &allowed).unwrap_err().sqlstate(), "42501", "{catalog}.{schema}.{table}");
        }
        let mut bad = r.clone();
        bad.table_functions[0].int_args = vec![Some(78)];
        assert!(judge(&bad, &allowed).is_err());
        for f in ["read_text", "glob", "current_setting", "duckdb_databases", "query"] {
            let mut bad = r.clone();
            bad.functions.push(("".into(), f.into()));
            assert!(judge(&bad, &allowed).is_err(), "{f}");
            let mut bad = r.clone();
            bad.table_functions.push(Call { catalog: "".into(), schema: "".into(), name: f.into(), int_args: vec![] });
            assert!(judge(&bad, &allowed).is_err(), "{f}");
        }
        let mut bad = r.clone();
        bad.statements = 2;
        assert!(judge(&bad, &allowed).is_err());
    }
}
