//! The gateway's decisions on SQL text alone: what is refused, with which SQLSTATE, and what a
//! read turns into.

use std::collections::BTreeMap;

use super::settings::SessionSettings;
use super::*;

fn plan_one(sql: &str) -> Result<Plan> {
    let settings = SessionSettings::new("7-abc", &BTreeMap::new());
    let compat = CompatValues { settings: &settings, user: "7-abc", database: "main", backend_pid: 1234 };
    let mut statements = parse(sql)?;
    assert_eq!(statements.len(), 1, "{sql}");
    plan(statements.remove(0), &compat)
}

fn refused(sql: &str) -> &'static str {
    match plan_one(sql) {
        Ok(p) => panic!("{sql} was accepted as {p:?}"),
        Err(e) => e.sqlstate(),
    }
}

#[test]
fn escapes_are_refused_before_the_engine() {
    for (sql, state) in [
        ("SELECT * FROM read_csv('/etc/passwd')", "42501"),
        ("SELECT * FROM read_text('/etc/passwd')", "42501"),
        ("SELECT * FROM '/etc/passwd'", "42P01"),
        ("SELECT * FROM 'data.csv'", "42P01"),
        ("SELECT current_setting('allowed_directories')", "42704"),
        ("SELECT getenv('HOME')", "42501"),
        ("SELECT * FROM duckstore_relation(1)", "42501"),
        ("SELECT * FROM duckdb_settings()", "42501"),
        ("SELECT * FROM information_schema.no_such_thing", "42P01"),
        ("SELECT * FROM other_catalog.main.t", "42P01"),
        ("ATTACH '/tmp/x.duckdb' AS x", "42501"),
        ("INSTALL httpfs", "42501"),
        ("LOAD httpfs", "42501"),
        ("PRAGMA database_list", "42501"),
        ("COPY (SELECT 1) TO '/tmp/out.csv'", "0A000"),
        ("SET memory_limit = '100GB'", "42501"),
        ("SELECT 1 INTO newtable", "42501"),
        ("SELECT * FROM query('SELECT 1')", "42501"),
        ("CREATE MACRO m() AS 1", "0A000"),
        ("SELECT upper(read_text('/etc/passwd'))", "42501"),
        ("SELECT (SELECT content FROM read_text('/etc/passwd'))", "42501"),
        ("CALL no_such_procedure()", "42883"),
    ] {
        let got = match plan_one(sql) {
            Ok(Plan::Set { name, value }) => {
                let mut s = SessionSettings::new("u", &BTreeMap::new());
                s.set(&name, value.as_deref()).unwrap_err().sqlstate()
            }
            Ok(p) => panic!("{sql} was accepted as {p:?}"),
            Err(e) => e.sqlstate(),
        };
        assert_eq!(got, state, "{sql}");
    }
}

#[test]
fn system_views_become_engine_relations() {
    let Plan::Query(q) =
        plan_one("SELECT id, name FROM duckstore.projects p JOIN duckstore.tokens USING (id)").unwrap()
    else {
        panic!("not a query")
    };
    assert_eq!(
        q.relations,
        vec![
            ServerRelation::System(crate::storage::SystemView::Projects),
            ServerRelation::System(crate::storage::SystemView::Tokens)
        ]
    );
    let sql = q.render(&[11, 22], &[]);
    assert!(sql.contains("duckstore_relation(11) p"), "{sql}");
    assert!(sql.contains("duckstore_relation(22) AS \"tokens\""), "{sql}");
    assert_eq!(refused("SELECT * FROM duckstore.no_such_view"), "42P01");
}

#[test]
fn ctes_and_value_functions_are_allowed() {
    assert!(matches!(plan_one("WITH t AS (SELECT 1 AS x) SELECT sum(x) FROM t").unwrap(), Plan::Query(_)));
    assert!(matches!(plan_one("SELECT * FROM generate_series(1, 3)").unwrap(), Plan::Query(_)));
    assert!(matches!(plan_one("EXPLAIN SELECT 1").unwrap(), Plan::Query(_)));
}

#[test]
fn session_functions_are_answered_by_the_session() {
    let planned = plan_one("SELECT version(), current_user, current_setting('server_version_num')").unwrap();
    let Plan::Constant(row) = planned else { panic!("not a constant row: {planned:?}") };
    let text = |i: usize| match &row.values[i] {
        crate::relation::Value::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert!(text(0).starts_with("PostgreSQL 15.0 (duckstore"));
    assert_eq!(text(1), "7-abc");
    assert_eq!(text(2), "150000");
    // inside a larger query the answers become literals for the engine
    let planned = plan_one("SELECT upper(current_user) FROM generate_series(1, 2)").unwrap();
    let Plan::Query(q) = planned else { panic!("not a query: {planned:?}") };
    assert!(q.render(&[], &[]).contains("upper('7-abc')"));
}

#[test]
fn parameter_types_come_from_casts() {
    let Plan::Query(q) = plan_one("SELECT $1::int + $2, $3::timestamptz").unwrap() else { panic!("not a query") };
    assert_eq!(q.param_types, vec![ParamType::Int4, ParamType::Unknown, ParamType::TimestampTz]);
}

#[test]
fn calls_match_named_and_positional_arguments() {
    let Plan::Call(c) = plan_one("CALL create_project(name => 'acme', id => 42)").unwrap() else {
        panic!("not a call")
    };
    assert_eq!(c.spec.name, "create_project");
    let Plan::Call(c) = plan_one("CALL duckstore.create_token('branch_read', $1)").unwrap() else {
        panic!("not a call")
    };
    assert_eq!(c.param_kinds.len(), 1);
    assert_eq!(refused("CALL create_project(nam => 'x')"), "42883");
    assert_eq!(refused("CALL create_project()"), "22023");
    assert_eq!(refused("CALL create_project(name => (SELECT 'x'))"), "42601");
}

#[test]
fn transaction_control_and_settings_are_recognised() {
    assert!(matches!(plan_one("BEGIN").unwrap(), Plan::Begin));
    assert!(matches!(plan_one("START TRANSACTION ISOLATION LEVEL READ COMMITTED").unwrap(), Plan::Begin));
    assert!(matches!(plan_one("COMMIT").unwrap(), Plan::Commit));
    assert!(matches!(plan_one("ROLLBACK").unwrap(), Plan::Rollback));
    assert!(matches!(plan_one("SET extra_float_digits = 3").unwrap(), Plan::Set { .. }));
    assert!(matches!(plan_one("SET TIME ZONE 'UTC'").unwrap(), Plan::Set { .. }));
    assert!(matches!(plan_one("SHOW transaction isolation level").unwrap(), Plan::Show(_)));
    assert!(matches!(plan_one("DISCARD ALL").unwrap(), Plan::NoOp(_)));
}

#[test]
fn syntax_errors_are_42601() {
    assert_eq!(parse("SELEC 1").unwrap_err().sqlstate(), "42601");
}
