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
        // another database, as PostgreSQL answers it
        ("SELECT * FROM other_catalog.main.t", "0A000"),
        ("ATTACH '/tmp/x.duckdb' AS x", "42501"),
        ("INSTALL httpfs", "42501"),
        ("LOAD httpfs", "42501"),
        ("PRAGMA database_list", "42501"),
        ("COPY (SELECT 1) TO '/tmp/out.csv'", "42501"),
        ("SET memory_limit = '100GB'", "42501"),
        ("SELECT 1 INTO newtable", "42501"),
        ("SELECT * FROM query('SELECT 1')", "42501"),
        ("CREATE MACRO m() AS 1", "0A000"),
        ("SELECT upper(read_text('/etc/passwd'))", "42501"),
        ("SELECT (SELECT content FROM read_text('/etc/passwd'))", "42501"),
        ("CALL no_such_procedure()", "42883"),
    ] {
        let got = match plan_one(sql) {
            Ok(Plan::Set { name, value, .. }) => {
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
    let sql = q.render(&[11, 22], &[]).unwrap();
    assert!(sql.contains("\"duckstore_relation\"(11) \"p\""), "{sql}");
    assert!(sql.contains("\"duckstore_relation\"(22) AS \"tokens\""), "{sql}");
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
    assert!(q.render(&[], &[]).unwrap().contains("upper('7-abc')"));
}

#[test]
fn parameter_types_come_from_casts() {
    let Plan::Query(q) = plan_one("SELECT $1::int + $2, $3::timestamptz").unwrap() else { panic!("not a query") };
    assert_eq!(q.param_types, vec![ParamType::Int4, ParamType::Unknown, ParamType::TimestampTz]);
}

#[test]
fn deep_statements_are_54001_and_never_overflow_the_server_stack() {
    // On the stack the server gives its threads, every shape just under the bound is parsed,
    // planned, rendered and dropped (in a debug build, whose frames are the larger); just over,
    // it is 54001.
    let under = nesting::MAX_NESTING - 10;
    let over = nesting::MAX_NESTING + 10;
    std::thread::Builder::new()
        .stack_size(crate::server::THREAD_STACK)
        .spawn(move || {
            let shapes: Vec<Box<dyn Fn(usize) -> String>> = vec![
                Box::new(|n| format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(n / 4))),
                Box::new(|n| format!("SELECT 1{}", " + 1".repeat(n))),
                Box::new(|n| format!("SELECT true{}", " AND true".repeat(n))),
                Box::new(|n| format!("SELECT 1{}", "::int".repeat(n))),
                Box::new(|n| format!("SELECT {}1", "- ".repeat(n))),
                Box::new(|n| format!("SELECT {}1 END", "CASE WHEN true THEN ".repeat(n))),
                Box::new(|n| format!("SELECT {}1{}", "(".repeat(n / 2), ")".repeat(n / 2))),
                Box::new(|n| format!("SELECT 1 FROM {}SELECT 1{} s", "(".repeat(n / 2), ") s".repeat(n / 2))),
                // the compat layer parses a template at the bottom of each (found by attack)
                Box::new(|n| format!("SELECT 1 FROM pg_class WHERE {}true", "pg_table_is_visible(oid) OR ".repeat(n))),
                Box::new(|n| format!("SELECT 1 FROM pg_class WHERE {}true", "oid::regclass IS NULL OR ".repeat(n / 2))),
                // casts the rewrite deepens (char(n) is `CAST(rpad(CAST(…)))`, varchar(n)[] a
                // macro's call; found by attack)
                Box::new(|n| format!("SELECT ['abc']{}", "::varchar(2)[]".repeat(n / 3))),
                Box::new(|n| {
                    format!("SELECT {}1{}", "json_object(ARRAY['k', ".repeat(n / 2), "::text])::text".repeat(n / 2))
                }),
                Box::new(|n| format!("SELECT {}1{}", "to_char(".repeat(n / 2), ", '999')".repeat(n / 2))),
                Box::new(|n| {
                    format!("SELECT {}1{}", "justify_hours(width_bucket(".repeat(n / 4), ", 0, 1, 2))".repeat(n / 4))
                }),
                Box::new(|n| format!("SELECT 'a'{}", "::char(2)".repeat(n / 3))),
                Box::new(|n| format!("SELECT 'a'{}", "::varchar(2)".repeat(n / 3))),
                Box::new(|n| format!("SELECT {}'a'{}", "CAST(".repeat(n / 4), " AS char(2))".repeat(n / 4))),
                Box::new(|n| format!("SELECT {}false", "'pg_catalog'::regnamespace = 1 OR ".repeat(n / 5))),
                Box::new(|n| format!("SELECT {}false", "'pg_class'::regclass::text = 'x' OR ".repeat(n / 8))),
                Box::new(|n| format!("SELECT {}false", "pg_relation_size('pg_class') = 1 OR ".repeat(n / 2))),
                Box::new(|n| {
                    format!("SELECT {}false", "pg_relation_size('pg_catalog.pg_class') = 1 OR ".repeat(n / 2))
                }),
                // operands the rewrite puts in parentheses, casts it rounds
                Box::new(|n| format!("SELECT {}false", "'{}'::json -> 'a' IS NULL OR ".repeat(n / 2))),
                Box::new(|n| format!("SELECT now(){}", "::timestamp(0)".repeat(n / 3))),
                Box::new(|n| format!("SELECT {}false", "now()::timestamp(2) IS NULL OR ".repeat(n / 2))),
                Box::new(|n| {
                    format!("SELECT 1 WHERE {}true", "EXISTS (SELECT 1 FROM generate_series(1, 2)) OR ".repeat(n))
                }),
            ];
            for shape in &shapes {
                let sql = shape(under);
                match plan_one(&sql) {
                    Ok(Plan::Query(q)) => {
                        let handles: Vec<u64> = (1..=q.relations.len() as u64).collect();
                        let _ = q.render_for_engine(&handles, &[]);
                    }
                    Ok(other) => panic!("{other:?}"),
                    // sqlparser's own recursion bound may come first: the same answer.
                    Err(e) => assert_eq!(e.sqlstate(), "54001", "{}…: {e:?}", &sql[..40]),
                }
                let sql = shape(over);
                assert_eq!(parse(&sql).err().map(|e| e.sqlstate()), Some("54001"), "{}…", &sql[..40]);
            }
        })
        .expect("thread starts")
        .join()
        .expect("no overflow");
}

#[test]
fn long_operator_chains_the_gate_admits_never_overflow_the_rewrites() {
    // Found by attack: chains of `-`, `||` and jsonb's operators that pass the nesting gate
    // overflowed the stack in the jsonb rewrite (its operand test, then the deeper tree). Each
    // is planned (storage) and rewritten (workspace) on the server's thread stack.
    std::thread::Builder::new()
        .stack_size(crate::server::THREAD_STACK)
        .spawn(|| {
            let shapes = [
                format!("SELECT 1{}", " - 1".repeat(3000)),
                format!("SELECT 1{}", " || 1".repeat(3000)),
                format!("SELECT 'x'{}", " - 'a'".repeat(1500)),
                format!("SELECT '{{}}'::json{}", " - 'a'".repeat(1500)),
                format!("SELECT '{{}}'::jsonb{}", " - 'a'".repeat(1500)),
                format!("SELECT '{{}}'::jsonb{}", " #- '{a}'".repeat(1500)),
                format!("SELECT '{{}}'::jsonb{}", " || '[1]'".repeat(1500)),
                format!("SELECT '{{}}'{}", "::jsonb::text".repeat(1000)),
                format!("SELECT '{{}}'::jsonb{}", " ->> 'a' ->> 'b'".repeat(500)),
                // casts the rewrite made several levels deep each (found by attack)
                format!("SELECT ['abc']{}", "::varchar(2)[]".repeat(1300)),
                format!("SELECT ['abc']{}", "::varchar(2)[]::text[]".repeat(660)),
                format!("PREPARE p(int) AS SELECT ['abc']{}", "::varchar(2)[]".repeat(1300)),
                format!("SELECT now(){}", "::timestamp(0)".repeat(1300)),
                format!("SELECT '12:00'{}", "::time(1)".repeat(1300)),
                format!("SELECT 1{}", "::text::date".repeat(650)),
            ];
            for sql in &shapes {
                if let Err(e) = plan_one(sql) {
                    assert!(["54001", "42501", "42883", "0A000"].contains(&e.sqlstate()), "{}…: {e:?}", &sql[..40]);
                }
                if let Ok(mut statements) = parse(sql) {
                    let _ = crate::gateway::compat::rewrite_semantics(&mut statements[0]);
                }
            }
        })
        .expect("thread starts")
        .join()
        .expect("no overflow");
}

#[test]
fn parameter_numbers_stop_where_bind_can_count() {
    // Found by the gateway fuzz target: a huge `$n` sized the parameter list and aborted.
    let Plan::Query(q) = plan_one("SELECT $65535").unwrap() else { panic!("not a query") };
    assert_eq!(q.param_types.len(), 65535);
    assert_eq!(refused("SELECT $65536"), "42P02");
    assert_eq!(refused("SELECT $9999999999999999::int"), "42P02");
    assert_eq!(refused("SELECT $99999999999999999999999"), "42P02");
    assert_eq!(refused("CALL create_project(name => $9999999999999999)"), "42P02");
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
    assert!(matches!(plan_one("BEGIN").unwrap(), Plan::Begin { read_only: None, .. }));
    assert!(matches!(plan_one("BEGIN READ ONLY").unwrap(), Plan::Begin { read_only: Some(true), .. }));
    assert!(matches!(
        plan_one("START TRANSACTION ISOLATION LEVEL READ COMMITTED").unwrap(),
        Plan::Begin { read_only: None, .. }
    ));
    assert!(matches!(plan_one("COMMIT").unwrap(), Plan::Commit));
    assert!(matches!(plan_one("ROLLBACK").unwrap(), Plan::Rollback));
    assert!(matches!(plan_one("SET extra_float_digits = 3").unwrap(), Plan::Set { .. }));
    assert!(matches!(plan_one("SET TIME ZONE 'UTC'").unwrap(), Plan::Set { .. }));
    assert!(matches!(plan_one("SHOW transaction isolation level").unwrap(), Plan::Show(_)));
    assert!(matches!(plan_one("DISCARD ALL").unwrap(), Plan::NoOp(_)));
    // pg_dump's scripts set parameters so
    assert!(matches!(
        plan_one("SELECT pg_catalog.set_config('search_path', '', false)").unwrap(),
        Plan::Set { ref name, value: Some(ref v), local: false, call: true } if name == "search_path" && v.is_empty()
    ));
    assert!(matches!(
        plan_one("SELECT set_config('Statement_Timeout', NULL, true)").unwrap(),
        Plan::Set { ref name, value: None, local: true, call: true } if name == "statement_timeout"
    ));
    // anything else is the function call it is
    for sql in [
        "SELECT set_config('a', 'b', false) FROM t",
        "SELECT set_config('a', 'b', false) HAVING false",
        "SELECT set_config('a', 'b', false) GROUP BY 1",
        "SELECT set_config('a', 'b', false) INTO t2",
        "SELECT set_config('a', 'b', false) FETCH FIRST 0 ROWS ONLY",
        "SELECT set_config('a', 'b', false), 1",
        "SELECT other.set_config('a', 'b', false)",
    ] {
        assert!(!matches!(plan_one(sql), Ok(Plan::Set { .. })), "{sql}");
    }
}

#[test]
fn syntax_errors_are_42601() {
    assert_eq!(parse("SELEC 1").unwrap_err().sqlstate(), "42601");
}

mod generated {
    //! Property tests over SQL text: whatever a client composes from safe and hostile pieces,
    //! the gateway answers with a plan or a clean refusal, and an accepted read reaches DuckDB
    //! only with the relations the server put there.

    use proptest::prelude::*;

    use super::*;

    const RELATIONS: &[&str] = &[
        r#""in.c-a"."t""#,
        "t",
        "main.t",
        "'/etc/passwd'",
        "'data.csv'",
        "read_csv('/etc/passwd')",
        "read_parquet('x.parquet')",
        "glob('*')",
        "query('SELECT 1')",
        "duckstore.tables",
        "duckstore.tokens",
        "pg_catalog.pg_class",
        "information_schema.tables",
        "duckstore_relation(1)",
        r#""t42v1".main.data"#,
        "other.main.t",
        "system.main.duckdb_settings()",
        "duckdb_settings()",
        "range(3)",
        "generate_series(1, 2)",
        "(SELECT 1 AS x)",
        "c",
    ];
    const EXPRESSIONS: &[&str] = &[
        "1",
        "x",
        "'a' || 'b'",
        "$1",
        "getenv('HOME')",
        "read_text('/etc/passwd')",
        "current_setting('allowed_directories')",
        "current_setting('search_path')",
        "pg_read_file('/etc/passwd')",
        "now()",
        "lower(name)",
        "sum(1)",
        "version()",
        "current_user",
        "'x'::regclass",
        "nextval('s')",
        "load_extension('x')",
    ];
    const FORBIDDEN: &[&str] = &[
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "read_json",
        "read_text",
        "read_blob",
        "glob",
        "getenv",
        "query",
        "query_table",
        "duckdb_settings",
        "pg_read_file",
        "load_extension",
        "sniff_csv",
    ];

    fn expression(depth: u32) -> BoxedStrategy<String> {
        let leaf = proptest::sample::select(EXPRESSIONS).prop_map(str::to_string);
        if depth == 0 {
            return leaf.boxed();
        }
        prop_oneof![
            3 => leaf,
            1 => relation(depth - 1).prop_map(|r| format!("(SELECT count(*) FROM {r})")),
            1 => (expression(depth - 1), expression(depth - 1)).prop_map(|(a, b)| format!("coalesce({a}, {b})")),
        ]
        .boxed()
    }

    fn relation(depth: u32) -> BoxedStrategy<String> {
        let leaf = proptest::sample::select(RELATIONS).prop_map(str::to_string);
        if depth == 0 {
            return leaf.boxed();
        }
        prop_oneof![
            3 => leaf,
            1 => (expression(depth - 1), relation(depth - 1)).prop_map(|(e, r)| format!("(SELECT {e} AS x FROM {r}) s")),
            1 => (relation(depth - 1), relation(depth - 1)).prop_map(|(a, b)| format!("{a} AS l JOIN {b} AS r ON true")),
        ]
        .boxed()
    }

    /// Pieces of SQL that sqlparser and DuckDB are known to read differently, or might.
    const TRICKY: &[&str] = &[
        "$1x$",
        "$a$",
        "$$",
        "$1",
        "$tag$ ; SELECT 1 $tag$",
        "$x$ $y$ $x$",
        "E'\\x2a/'",
        "E'\\''",
        "E'a\\\\'",
        "E'\\u0027'",
        "U&'\\0027'",
        "U&\"x\"",
        "N'n'",
        "'\\'",
        "'it''s'",
        "\"q\"\"q\"",
        "\"a\\\"",
        "%/*",
        "*/",
        "/* /* */",
        "/*",
        "--",
        "-- x\n",
        "\n",
        ";",
        ":",
        "::",
        "::int",
        "a:",
        "x -> x",
        "lambda x: x",
        "OPERATOR(pg_catalog.+)",
        "<->",
        "@@",
        "~~",
        "!!",
        "||/",
        "#",
        "^@",
        "1",
        "1e3",
        ".5",
        "0x10",
        "x",
        ",",
        "(",
        ")",
        "AS",
        "FROM",
        "WHERE",
        "\"in.c-a\".\"t\"",
        "t",
        "(SELECT max(name) FROM \"in.c-a\".\"t\")",
        "\"t42v1\".main.data",
        "sqlite_master",
        "duckdb_tables()",
        "read_text('/etc/passwd')",
        "[1, 2]",
        "{'a': 1}",
        "COLUMNS(*)",
        "*",
    ];

    fn tricky_token() -> impl Strategy<Value = String> {
        proptest::sample::select(TRICKY).prop_map(str::to_string)
    }

    fn statement() -> impl Strategy<Value = String> {
        (expression(2), relation(2), relation(1), 0..5usize).prop_map(|(e, r, r2, shape)| match shape {
            0 => format!("SELECT {e} FROM {r}"),
            1 => format!("WITH c AS (SELECT {e} AS x FROM {r}) SELECT * FROM c"),
            2 => format!("SELECT * FROM {r} WHERE {e} IN (SELECT {e} FROM {r2})"),
            3 => format!("SELECT {e} FROM {r} UNION ALL SELECT {e} FROM {r2}"),
            _ => format!("EXPLAIN SELECT {e} FROM {r}"),
        })
    }

    /// DuckDB's parser, shared by the generated cases.
    static PARSER: std::sync::LazyLock<crate::engine::DuckParser> =
        std::sync::LazyLock::new(|| crate::engine::DuckParser::open(&crate::exec::macros_sql()).unwrap());

    /// The oracle is DuckDB: what DuckDB reads in the rendered text (or in the query an
    /// EXPLAIN explains) must pass the judge with exactly the planned tables and relations.
    fn check_rendered(q: &crate::gateway::QueryPlan) -> Result<(), TestCaseError> {
        let handles: Vec<u64> = (1..=q.relations.len() as u64).collect();
        let files: Vec<crate::engine::TableFile> = (0..q.tables.len() as i64)
            .map(|i| crate::engine::TableFile { project_id: 1, branch_id: 1, table_id: i, version: 1 })
            .collect();
        let refs: Vec<String> = files.iter().map(|f| f.data_ref()).collect();
        let Ok(rendered) = q.render_for_engine(&handles, &refs) else { return Ok(()) };
        let own = [crate::engine::QueryCheck { sql: rendered.sql.clone(), select_items: None }];
        for check in rendered.checks.as_deref().unwrap_or(&own) {
            let read = PARSER
                .references(&check.sql)
                .map_err(|e| TestCaseError::fail(format!("DuckDB cannot read {}: {e}", check.sql)))?;
            let allowed = crate::engine::Allowed { tables: &files, handles: &handles };
            if let Err(e) = super::super::oracle::judge(&read, &allowed) {
                return Err(TestCaseError::fail(format!("{}: {e:?} ({read:?})", check.sql)));
            }
            for (_, f) in &read.functions {
                prop_assert!(!FORBIDDEN.contains(&f.as_str()), "{} calls {f}", check.sql);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn composed_sql_is_planned_or_refused_cleanly(sql in statement()) {
            match plan_one(&sql) {
                Err(e) => prop_assert!(e.sqlstate() != "XX000" && !e.sqlstate().is_empty(), "{sql}: {e:?}"),
                Ok(Plan::Query(q)) => check_rendered(&q)?,
                Ok(Plan::Constant(_)) => {}
                Ok(other) => prop_assert!(false, "{sql} planned as {other:?}"),
            }
        }

        /// Texts made of what two SQL parsers read differently (issue 15): dollar quotes with
        /// digit tags and nested, E-strings and their escapes, U& strings, custom operators,
        /// comments nested, unterminated and inside operators, prefix aliases, lambdas, `:` and
        /// `::`, semicolons anywhere — around real table references. DuckDB is the oracle of
        /// what the rendered text does (crate::fuzzing::gateway).
        #[test]
        fn differential_texts_are_read_by_duckdb_as_planned(parts in proptest::collection::vec(tricky_token(), 1..12)) {
            let sql = format!("SELECT {}", parts.join(" "));
            crate::fuzzing::gateway(&sql);
            crate::fuzzing::gateway(&format!("WITH c AS (SELECT 1 AS x) {sql}"));
            crate::fuzzing::gateway(&format!("INSERT INTO \"in.c-a\".\"t\" {sql}"));
            crate::fuzzing::gateway(&format!("UPDATE \"in.c-a\".\"t\" SET x = {}", parts.join(" ")));
        }

        #[test]
        fn arbitrary_text_never_panics(sql in "\\PC{0,200}") {
            if let Ok(statements) = parse(&sql) {
                let settings = SessionSettings::new("7-abc", &BTreeMap::new());
                let compat = CompatValues { settings: &settings, user: "7-abc", database: "main", backend_pid: 1 };
                for s in statements {
                    if let Err(e) = plan(s, &compat) {
                        prop_assert!(e.sqlstate() != "XX000", "{sql}: {e:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn statement_kinds_other_than_reads_are_never_queries() {
        // a guard for the check above: a DML or DDL statement is never planned as a plain read
        for sql in ["INSERT INTO t VALUES (1)", "CREATE TABLE \"in.c-a\".t (id INTEGER)", "DROP SCHEMA \"in.c-a\""] {
            assert!(!matches!(plan_one(sql), Ok(Plan::Query(_))), "{sql}");
        }
    }
}

/// Found by fuzzing: sqlparser reads `*f` as a wildcard with an alias and writes it back as
/// `* AS f`, which no parser reads. Such statements are refused, never handed on.
#[test]
fn statements_that_do_not_read_back_are_refused() {
    let err = plan_one(r#"SELECT *f FROM "in.c-a"."t""#).unwrap_err();
    assert_eq!(err.sqlstate(), "42601", "{err:?}");
}

#[test]
fn postgres_array_text_parses_into_its_elements() {
    use crate::gateway::compat::parse_pg_array;
    let some = |v: &str| Some(v.to_owned());
    assert_eq!(parse_pg_array("{r,p,f}").unwrap(), vec![some("r"), some("p"), some("f")]);
    assert_eq!(
        parse_pg_array(r#"{"a","b c",NULL,"NULL",""}"#).unwrap(),
        vec![some("a"), some("b c"), None, some("NULL"), some("")]
    );
    assert_eq!(parse_pg_array(r#"{"q\"x","s\\t"}"#).unwrap(), vec![some("q\"x"), some("s\\t")]);
    assert_eq!(parse_pg_array("{ 1 , 2 }").unwrap(), vec![some("1"), some("2")]);
    assert_eq!(parse_pg_array("{}").unwrap(), vec![]);
    for bad in ["{{1,2},{3,4}}", "{1,,2}", "{\"open}", "[1,2]", "{1} x", "{a\"b}"] {
        assert!(parse_pg_array(bad).is_none(), "{bad}");
    }
}

#[test]
fn workspace_statements_get_regtype_answered() {
    let settings = crate::gateway::settings::SessionSettings::new("u", &Default::default());
    let compat = CompatValues { settings: &settings, user: "u", database: "d", backend_pid: 1 };
    let mut statement =
        crate::gateway::parse("SELECT oid::regtype::text FROM pg_type WHERE oid = 'int4'::regtype").unwrap().remove(0);
    assert!(crate::gateway::compat::rewrite_session_functions(&mut statement, &compat).unwrap());
    let sql = statement.to_string();
    // a type of PostgreSQL's own is its OID at once; an alias is the session's macro's to find
    assert_eq!(sql, "SELECT duckstore_format_type(oid, NULL)::TEXT FROM pg_type WHERE oid = 23");
    let mut statement = crate::gateway::parse("select 'integer'::regtype").unwrap().remove(0);
    assert!(crate::gateway::compat::rewrite_session_functions(&mut statement, &compat).unwrap());
    // (a select item of a written name shows the type's name, as PostgreSQL prints a regtype)
    assert_eq!(statement.to_string(), "SELECT duckstore_format_type((duckstore_to_regtype('integer')), NULL)");
}

#[test]
fn names_qualified_by_the_sessions_database_are_its_own() {
    for sql in [
        r#"CREATE TABLE "main"."in.c-s"."t" (x INTEGER)"#,
        r#"INSERT INTO main."in.c-s"."t" VALUES (1)"#,
        r#"SELECT * FROM "main"."in.c-s"."t" JOIN "in.c-s"."u" USING (x)"#,
        r#"UPDATE "main"."in.c-s"."t" SET x = 2"#,
        r#"DELETE FROM "main"."in.c-s"."t""#,
        r#"DROP TABLE IF EXISTS "main"."in.c-s"."t""#,
        r#"ALTER TABLE "main"."in.c-s"."t" ADD COLUMN y INTEGER"#,
        r#"TRUNCATE "main"."in.c-s"."t""#,
        r#"CREATE VIEW "main"."in.c-s"."v" AS SELECT * FROM "main"."in.c-s"."t""#,
    ] {
        plan_one(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    match plan_one(r#"CREATE TABLE "main"."in.c-s"."t" (x INTEGER)"#).unwrap() {
        Plan::CreateTable { spec, .. } => assert_eq!((spec.bucket.as_str(), spec.name.as_str()), ("in.c-s", "t")),
        other => panic!("{other:?}"),
    }
    for sql in [r#"SELECT * FROM "other"."in.c-s"."t""#, r#"INSERT INTO other."in.c-s"."t" VALUES (1)"#] {
        assert_eq!(plan_one(sql).unwrap_err().state(), SqlState::FeatureNotSupported, "{sql}");
    }
}

#[test]
fn postgresql_names_duckdb_keeps_as_keywords_are_quoted_only_where_they_are_names() {
    use super::quote_duckdb_keywords;
    assert_eq!(
        quote_duckdb_keywords("CREATE TABLE t (id INT, at TIMESTAMP, Map text)").as_deref(),
        Some(r#"CREATE TABLE t (id INT, "at" TIMESTAMP, "Map" text)"#)
    );
    assert_eq!(
        quote_duckdb_keywords("INSERT INTO t (id, at) VALUES ($1, 'at')").as_deref(),
        Some(r#"INSERT INTO t (id, "at") VALUES ($1, 'at')"#),
        "a string's words are not names"
    );
    // names found by their offsets: after characters of several bytes, on later lines, and
    // far along one long line (each offset is found from the previous token's)
    assert_eq!(
        quote_duckdb_keywords("SELECT 'é€', at\n  FROM t WHERE 'ü' <> at").as_deref(),
        Some("SELECT 'é€', \"at\"\n  FROM t WHERE 'ü' <> \"at\"")
    );
    let long = format!("SELECT {}at FROM t", "'ß', ".repeat(20_000));
    assert_eq!(quote_duckdb_keywords(&long), Some(long.replace(", at FROM", ", \"at\" FROM")));
    for unchanged in [
        "SELECT ts AT TIME ZONE 'UTC', map(['a'], [1]), x::struct(a int), COLUMNS(*) FROM a ASOF JOIN b USING (k)",
        r#"SELECT "at", t."map" FROM t -- at"#,
    ] {
        assert_eq!(quote_duckdb_keywords(unchanged), None, "{unchanged}");
    }
}

fn query_plan(sql: &str) -> QueryPlan {
    match plan_one(sql) {
        Ok(Plan::Query(q)) => q,
        other => panic!("{sql}: {other:?}"),
    }
}

/// A lookup text planned from another's plan by replacing its literal is planned exactly as
/// the text itself is; texts where the literal would read as another token are not.
#[test]
fn a_lookup_text_with_another_key_plans_as_itself() {
    let patterns = [
        r#"SELECT * FROM "in.c-b"."t" WHERE id = {}"#,
        r#"select "name", id AS k from "in.c-b"."t" as x where "id" = {};"#,
        "SELECT *\nFROM \"in.c-b\".\"t\"\nWHERE id =\t{}\n",
        r#"SELECT * FROM "in.c-b"."t" WHERE id={}  ;  "#,
    ];
    let digits = ["5", "0", "007", "123456789012345678", "42"];
    let texts = ["'abc'", "''", "'ünï cödé ✓'", "'5'", "'a\"b'", "'--x'", "'/*'"];
    for pattern in patterns {
        for literals in [&digits[..], &texts[..]] {
            let first = pattern.replace("{}", literals[0]);
            let plan = query_plan(&first);
            let slot = lookup::literal_slot(&first, plan.lookup.as_ref().unwrap()).unwrap_or_else(|| panic!("{first}"));
            for literal in literals {
                let text = pattern.replace("{}", literal);
                let key = lookup::key_in(&slot, &text).unwrap_or_else(|| panic!("{text}"));
                let replaced = plan.with_key(&key).unwrap();
                let planned = query_plan(&text);
                // (spans aside: sqlparser's equality ignores them)
                assert_eq!(replaced.statement(), planned.statement(), "{text}");
                assert_eq!(replaced.statement().to_string(), planned.statement().to_string(), "{text}");
                assert_eq!(
                    (&replaced.lookup, &replaced.tables, &replaced.param_types, replaced.tag, &replaced.written_types),
                    (&planned.lookup, &planned.tables, &planned.param_types, planned.tag, &planned.written_types),
                    "{text}"
                );
                assert_eq!(format!("{:?}", replaced.relations), format!("{:?}", planned.relations), "{text}");
            }
        }
    }
    let first = r#"SELECT * FROM "in.c-b"."t" WHERE id = 5"#;
    let slot = lookup::literal_slot(first, query_plan(first).lookup.as_ref().unwrap()).unwrap();
    for other in [
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 5.0"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 1e3"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 0x1F"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = -5"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 1_000"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 1234567890123456789"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = $1"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = '5'"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 5 OR true"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = "#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 5; SELECT 1"#,
    ] {
        assert_eq!(lookup::key_in(&slot, other), None, "{other}");
    }
    let first = r#"SELECT * FROM "in.c-b"."t" WHERE id = 'a'"#;
    let slot = lookup::literal_slot(first, query_plan(first).lookup.as_ref().unwrap()).unwrap();
    for other in [
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 'a''b'"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 'a\'"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = E'a'"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 'a' OR id = 'b'"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 'a'::int"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 5"#,
    ] {
        assert_eq!(lookup::key_in(&slot, other), None, "{other}");
    }
    // no slot where the key is not the text's one literal, or is a parameter or negative
    for text in [
        r#"SELECT * FROM "in.c-b"."t5" AS "x1" WHERE id = 5"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = -5"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = $1"#,
        r#"SELECT * FROM "in.c-b"."t" WHERE id = 'it''s'"#,
    ] {
        let plan = query_plan(text);
        let slot = lookup::literal_slot(text, plan.lookup.as_ref().unwrap());
        if text.contains("t5") {
            // quoted names are words, not literals: this one has a slot
            assert!(slot.is_some(), "{text}");
        } else {
            assert_eq!(slot, None, "{text}");
        }
    }
}
