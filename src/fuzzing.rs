//! Entry points for the cargo-fuzz targets in `fuzz/` (built with `--features fuzzing`). Each
//! takes untrusted input the way the server does and panics when an invariant breaks: a panic
//! is a finding.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, TableFactor, Value, Visit, Visitor};

use crate::catalog::{ColumnRecord, TableRecord};
use crate::gateway::compat::CompatValues;
use crate::gateway::settings::SessionSettings;
use crate::gateway::{Plan, parse, plan};
use crate::storage::loads::{CsvOptions, LoadSource, SourceFormat, filter_conditions, parse_filters, parse_order_by};
use crate::storage::names;

/// Functions and relations no rendered storage query may reach.
const FORBIDDEN: &[&str] = &[
    "read_csv",
    "read_csv_auto",
    "read_text",
    "read_blob",
    "read_parquet",
    "parquet_scan",
    "read_json",
    "read_json_auto",
    "read_ndjson",
    "glob",
    "query",
    "query_table",
    "getenv",
    "sniff_csv",
    "parquet_metadata",
    "parquet_schema",
    "duckdb_settings",
    "duckdb_secrets",
    "duckdb_extensions",
    "duckdb_databases",
    "pragma_database_list",
    "current_setting",
    "duckstore_storage_scan",
];

#[derive(Default)]
struct Names {
    relations: Vec<String>,
    functions: Vec<String>,
    ctes: Vec<String>,
    string_literals: usize,
}

impl Visitor for Names {
    type Break = ();
    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.ctes.extend(with.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()));
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, .. } = factor {
            self.relations.push(name.to_string());
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(f) => self.functions.push(f.name.to_string().to_lowercase()),
            Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)) => self.string_literals += 1,
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// SQL text of a storage session's Query message: parsed and planned like the server does.
/// No statement may fail with XX000; a planned read, rendered, must read only server relations,
/// table files, CTEs and generators, and call no forbidden function.
pub fn gateway(sql: &str) {
    let Ok(statements) = parse(sql) else { return };
    let settings = SessionSettings::new("7-abcdefghijkl", &BTreeMap::new());
    let compat = CompatValues { settings: &settings, user: "7-abcdefghijkl", database: "main", backend_pid: 1 };
    for statement in statements {
        match plan(statement, &compat) {
            Err(e) => assert!(e.sqlstate() != "XX000" && !e.sqlstate().is_empty(), "{sql}: {e:?}"),
            Ok(Plan::Query(q)) | Ok(Plan::CreateView { query: q, .. }) => {
                let handles: Vec<u64> = (1..=q.relations.len() as u64).collect();
                let refs: Vec<String> = (0..q.tables.len()).map(|i| format!("\"t{i}v1\".main.data")).collect();
                let Ok(rendered) = q.render(&handles, &refs) else { continue };
                let reparsed =
                    parse(&rendered).unwrap_or_else(|e| panic!("rendered SQL does not parse: {rendered}: {e}"));
                let mut names = Names::default();
                for s in &reparsed {
                    let _ = s.visit(&mut names);
                }
                for relation in &names.relations {
                    let relation = &relation.replace('"', "");
                    let cte = names.ctes.contains(&relation.trim_matches('"').to_lowercase());
                    let server = relation == "duckstore_relation" || refs.contains(relation);
                    let generator =
                        ["range", "generate_series", "unnest", "generate_subscripts"].contains(&relation.as_str());
                    assert!(cte || server || generator, "{sql} → {rendered} reads the relation {relation}");
                }
                for f in &names.functions {
                    let bare = f.rsplit('.').next().unwrap_or(f).trim_matches('"');
                    assert!(!FORBIDDEN.contains(&bare), "{sql} → {rendered} calls {f}");
                }
            }
            Ok(_) => {}
        }
    }
}

/// Names and types as users write them: whatever validates has the documented shape, and a
/// validated type renders to SQL that parses as a column type.
pub fn names(text: &str) {
    let simple = |s: &str, max: usize, extra: &[u8]| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    if names::validate_table_name(text).is_ok() {
        assert!(simple(text, 96, b"_-"), "table name {text:?} accepted");
    }
    if names::validate_bucket_name(text).is_ok() {
        assert!(simple(text, 96, b"_-"), "bucket name {text:?} accepted");
    }
    if names::validate_column_name(text).is_ok() {
        assert!(simple(text, 64, b"_") && !text.starts_with('_'), "column name {text:?} accepted");
    }
    if let Ok((stage, name)) = names::parse_bucket(text) {
        assert!(stage == "in" || stage == "out", "{text:?} → stage {stage}");
        assert_eq!(text, format!("{stage}.c-{name}"));
        assert!(simple(&name, 96, b"_-"), "bucket {text:?} accepted");
    }
    if let Ok(t) = names::column_type(text) {
        let sql = format!("CREATE TABLE x (c {})", t.sql_type);
        assert!(parse(&sql).is_ok_and(|s| s.len() == 1), "type {text:?} renders as {sql}");
    }
    let quoted = names::quote_ident(text);
    assert!(parse(&format!("SELECT 1 AS {quoted}")).is_ok_and(|s| s.len() == 1) || text.contains('\0'));
}

fn fuzz_table() -> TableRecord {
    let column = |name: &str, sql_type: &str| ColumnRecord {
        name: name.into(),
        sql_type: sql_type.into(),
        base_type: "STRING".into(),
        nullable: true,
        default_sql: None,
    };
    TableRecord {
        id: 1,
        bucket_id: 1,
        name: "t".into(),
        version: 1,
        primary_key: vec!["id".into()],
        row_count: 0,
        byte_count: 0,
        description: String::new(),
        created_at: 0,
        created_by: String::new(),
        changed_at: 0,
        version_since: 0,
        columns: vec![column("id", "INTEGER"), column("name", "VARCHAR"), column("amount", "DECIMAL(10,2)")],
    }
}

/// Keboola's structured filters and order-by: values are always bound, never spliced, and
/// every condition parses as SQL on its own.
pub fn filters(json: &str, order_by: &str) {
    if let Ok(filters) = parse_filters(json) {
        let mut params = Vec::new();
        if let Ok(conditions) = filter_conditions(&fuzz_table(), &filters, None, None, &mut params) {
            let values: usize = filters.iter().map(|f| f.values.len()).sum();
            assert_eq!(params.len(), values, "{json}: every value bound once");
            for c in &conditions {
                let sql = format!("SELECT 1 FROM t WHERE {c}");
                let parsed = parse(&sql).unwrap_or_else(|e| panic!("{json}: condition {c} does not parse: {e}"));
                assert_eq!(parsed.len(), 1, "{json}: {c}");
                let mut names = Names::default();
                let _ = parsed[0].visit(&mut names);
                assert_eq!(names.string_literals, 0, "{json}: a value spliced into {c}");
            }
        }
    }
    if let Ok(order) = parse_order_by(order_by) {
        for key in order {
            assert!(names::validate_column_name(&key.column).is_ok(), "{order_by}: {}", key.column);
        }
    }
}

/// CSV options of `import_table`/`COPY`: once validated, the reader SQL is one `read_csv` call
/// over the given path, whatever the options hold.
pub fn csv_options(delimiter: &str, quote: &str, escape: &str, null: Option<&str>, header: bool) {
    let options = CsvOptions {
        delimiter: delimiter.into(),
        quote: quote.into(),
        escape: escape.into(),
        header,
        null_strings: null.map(str::to_owned).into_iter().collect(),
        skip_lines: 0,
        empty_as_null: vec![],
    };
    if options.validate().is_err() {
        return;
    }
    let source = LoadSource {
        paths: vec!["/data/files/1/2".into()],
        format: SourceFormat::Csv(options),
        gzip: false,
        label: "fuzz".into(),
    };
    let columns = vec![("id".to_owned(), "INTEGER".to_owned()), ("name".to_owned(), "VARCHAR".to_owned())];
    for (typed, text) in [(Some(columns.as_slice()), vec![]), (None, vec!["name".to_owned()])] {
        let reader = crate::storage::loads::reader_sql(&source, typed, &text);
        let sql = format!("SELECT * FROM {reader}");
        let parsed = parse(&sql).unwrap_or_else(|e| panic!("{sql} does not parse: {e}"));
        assert_eq!(parsed.len(), 1, "{sql}");
        let mut names = Names::default();
        let _ = parsed[0].visit(&mut names);
        assert!(names.relations.iter().all(|r| r == "read_csv"), "{sql} reads {:?}", names.relations);
        assert!(names.functions.iter().all(|f| f == "read_csv"), "{sql} calls {:?}", names.functions);
    }
}

/// Frontend messages as they arrive: a startup packet's parameters feed the session settings
/// and the login's user name parsing; a Query message's text feeds the gateway and the
/// workspace statement splitter.
pub fn pg_message(bytes: &[u8]) {
    use pgwire::messages::{DecodeContext, PgWireFrontendMessage, ProtocolVersion};
    for startup in [true, false] {
        let mut buf = bytes::BytesMut::from(bytes);
        let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        ctx.awaiting_frontend_ssl = false;
        ctx.awaiting_frontend_startup = startup;
        // pgwire's own decoder may panic on malformed input; the server contains that panic in
        // the connection's task (pg/mod.rs), so here it is not a finding. Our code below is.
        // libFuzzer's panic hook aborts before any unwinding; silence it around pgwire's call.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let decoded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| PgWireFrontendMessage::decode(&mut buf, &ctx)));
        std::panic::set_hook(hook);
        let Ok(Ok(Some(message))) = decoded else { continue };
        match message {
            PgWireFrontendMessage::Startup(s) => {
                let params = s.parameters;
                let user = params.get("user").cloned().unwrap_or_default();
                let _ = SessionSettings::new(&user, &params);
                let _ = crate::storage::credentials::UserName::parse(&user);
                let _ = crate::storage::workspaces::workspace_user(&user);
            }
            PgWireFrontendMessage::Query(q) => {
                gateway(&q.query);
                let pieces = crate::pg::workspace::split_statements(&q.query);
                for p in &pieces {
                    assert!(q.query.contains(p.trim()), "a piece of the split is not in the text: {p:?}");
                }
            }
            _ => {}
        }
    }
}
