//! Entry points for the cargo-fuzz targets in `fuzz/` (built with `--features fuzzing`). Each
//! takes untrusted input the way the server does and panics when an invariant breaks: a panic
//! is a finding.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::catalog::{ColumnRecord, TableRecord};
use crate::engine::{Allowed, DuckParser, QueryCheck, References, TableFile};
use crate::gateway::compat::CompatValues;
use crate::gateway::settings::SessionSettings;
use crate::gateway::{Plan, parse, plan};
use crate::storage::loads::{CsvOptions, LoadSource, SourceFormat, filter_conditions, parse_filters, parse_order_by};
use crate::storage::names;

/// Functions no rendered storage query may reach.
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
    "getvariable",
    "sniff_csv",
    "parquet_metadata",
    "parquet_schema",
    "duckdb_settings",
    "duckdb_secrets",
    "duckdb_extensions",
    "duckdb_databases",
    "duckdb_tables",
    "pragma_database_list",
    "current_setting",
    "arrow_scan",
    "enable_logging",
    "duckstore_storage_scan",
    "duckstore_stream",
];

/// DuckDB's parser: the oracle every target asks what a text really says.
static DUCKDB: LazyLock<DuckParser> =
    LazyLock::new(|| DuckParser::open(&crate::exec::macros_sql()).expect("DuckDB's parser opens"));

/// What DuckDB reads in `sql`, or `None` when it cannot parse it (such a text never runs).
fn duckdb_reads(sql: &str) -> Option<std::sync::Arc<References>> {
    DUCKDB.references(sql).ok()
}

/// The oracle's verdict on one rendered text against its plan: DuckDB must read exactly one
/// statement and exactly the planned table slots — no fewer (a slot swallowed into a string or
/// a comment is a differential) and no more — and nothing the judge refuses may be a table or
/// function on the forbidden list while being accepted.
fn check_against_duckdb(what: &str, check: &QueryCheck, files: &[TableFile], handles: &[u64], slots: Option<usize>) {
    let Some(read) = duckdb_reads(&check.sql) else { return };
    assert_eq!(read.statements, 1, "{what}: DuckDB reads {} statements in {}", read.statements, check.sql);
    if let Some(n) = check.select_items {
        assert_eq!(read.select_items, n, "{what}: DuckDB reads {} items in {}", read.select_items, check.sql);
    }
    let bound: Vec<&(String, String, String)> = read.tables.iter().filter(|t| !t.0.is_empty()).collect();
    if let Some(slots) = slots {
        assert_eq!(
            bound.len(),
            slots,
            "{what}: planned {slots} table reads, DuckDB reads {:?} in {}",
            read.tables,
            check.sql
        );
    }
    let verdict = crate::gateway::oracle::judge(&read, &Allowed { tables: files, handles });
    if verdict.is_ok() {
        for (_, f) in &read.functions {
            assert!(!FORBIDDEN.contains(&f.as_str()), "{what}: accepted {f}() in {}", check.sql);
        }
        for call in &read.table_functions {
            assert!(!FORBIDDEN.contains(&call.name.as_str()), "{what}: accepted {}() in {}", call.name, check.sql);
        }
    }
}

fn fake_files(n: usize) -> Vec<TableFile> {
    (0..n as i64).map(|i| TableFile { project_id: 1, branch_id: 1, table_id: i, version: 1 }).collect()
}

/// SQL text of a storage session's Query message, planned like the server plans it and
/// rendered for the engine; DuckDB is the oracle of what the rendered text does (see
/// `check_against_duckdb`). No statement may fail with XX000.
pub fn gateway(sql: &str) {
    let Ok(statements) = parse(sql) else { return };
    let settings = SessionSettings::new("7-abcdefghijkl", &BTreeMap::new());
    let compat = CompatValues { settings: &settings, user: "7-abcdefghijkl", database: "main", backend_pid: 1 };
    for statement in statements {
        match plan(statement, &compat) {
            Err(e) => assert!(e.sqlstate() != "XX000" && !e.sqlstate().is_empty(), "{sql}: {e:?}"),
            Ok(Plan::Query(q)) | Ok(Plan::CreateView { query: q, .. }) => {
                let handles: Vec<u64> = (1..=q.relations.len() as u64).collect();
                let files = fake_files(q.tables.len());
                let refs: Vec<String> = files.iter().map(|f| f.data_ref()).collect();
                let rendered = match q.render_for_engine(&handles, &refs) {
                    Ok(r) => r,
                    Err(e) => {
                        assert!(e.sqlstate() != "XX000", "{sql}: {e:?}");
                        continue;
                    }
                };
                let own = [QueryCheck { sql: rendered.sql.clone(), select_items: None }];
                for check in rendered.checks.as_deref().unwrap_or(&own) {
                    check_against_duckdb(sql, check, &files, &handles, Some(q.tables.len()));
                }
                if rendered.checks.is_some() {
                    assert_eq!(DUCKDB.statement_count(&rendered.sql).ok(), Some(1), "{sql}: {}", rendered.sql);
                }
            }
            Ok(Plan::Write(w)) => {
                let handles: Vec<u64> = (1..=w.body.relations.len() as u64).collect();
                let mut files = fake_files(w.body.tables.len() + 1);
                let target = files.pop().expect("one more");
                let refs: Vec<String> = files.iter().map(|f| f.data_ref()).collect();
                let columns = vec!["id".to_owned(), "name".to_owned()];
                let rendered = match w.render(&target.data_ref(), &columns, &handles, &refs) {
                    Ok(r) => r,
                    Err(e) => {
                        assert!(e.sqlstate() != "XX000", "{sql}: {e:?}");
                        continue;
                    }
                };
                files.push(target);
                if let Ok(n) = DUCKDB.statement_count(&rendered.sql) {
                    assert_eq!(n, 1, "{sql}: DuckDB reads {n} statements in {}", rendered.sql);
                }
                for check in &rendered.checks {
                    check_against_duckdb(sql, check, &files, &handles, None);
                }
            }
            Ok(_) => {}
        }
    }
}

/// Bucket, table and column names and column types as users write them: only the simple
/// forms pass, and what the server renders from them DuckDB reads as one statement.
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
        assert_eq!(DUCKDB.statement_count(&sql).ok(), Some(1), "type {text:?} renders as {sql}");
    }
    // An empty name is never valid (every name is validated first); DuckDB refuses `""`.
    if !text.is_empty() && !text.contains('\0') {
        let sql = format!("SELECT 1 AS {}", names::quote_ident(text));
        let read = duckdb_reads(&sql).unwrap_or_else(|| panic!("DuckDB cannot read {sql}"));
        assert_eq!((read.statements, read.select_items), (1, 1), "{sql}");
        assert!(read.tables.is_empty() && read.table_functions.is_empty(), "{sql}");
    }
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
                let read = duckdb_reads(&sql).unwrap_or_else(|| panic!("{json}: DuckDB cannot read {sql}"));
                assert_eq!(read.statements, 1, "{json}: {c}");
                assert_eq!(read.string_constants, 0, "{json}: a value spliced into {c}");
                assert!(read.tables.iter().all(|t| t.2 == "t"), "{json}: {c} reads {:?}", read.tables);
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
        let read = duckdb_reads(&sql).unwrap_or_else(|| panic!("DuckDB cannot read {sql}"));
        assert_eq!(read.statements, 1, "{sql}");
        assert!(read.tables.is_empty(), "{sql} reads {:?}", read.tables);
        let calls: Vec<&str> = read.table_functions.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(calls, ["read_csv"], "{sql}");
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
                let pieces = crate::engine::split_statements(&q.query);
                for p in &pieces {
                    assert!(q.query.contains(p.trim()), "a piece of the split is not in the text: {p:?}");
                }
            }
            _ => {}
        }
    }
}

/// Pieces a deep statement is grown from: every construct that nests.
const DEEP_PIECES: &[(&str, &str)] = &[
    (" + 1", ""),
    (" UNION ALL SELECT 1", ""),
    (" AND true", ""),
    ("::int", ""),
    (" OR x = 1", ""),
    ("(", ")"),
    ("[", "]"),
    ("abs(", ")"),
    ("CASE WHEN true THEN ", " END"),
    ("- ", ""),
    ("NOT ", ""),
    ("(SELECT ", ")"),
    (" IS NULL", ""),
    ("x -> ", ""),
    (" || 'a'", ""),
    ("{'a': ", "}"),
];

/// Statements grown from the input: pairs of (piece, repetitions up to 65 535), the openers
/// before `1` and the closers after it. On the server's thread stack, the gateway and the
/// workspace bound must answer (a plan or an error, never XX000) and never overflow.
pub fn deep(bytes: &[u8]) {
    let (mut head, mut infix, mut tail) = (String::from("SELECT "), String::new(), String::new());
    for chunk in bytes.chunks(3).take(8) {
        let [piece, lo, hi] = chunk else { break };
        let (open, close) = DEEP_PIECES[*piece as usize % DEEP_PIECES.len()];
        let times = u16::from_le_bytes([*lo, *hi]) as usize;
        if close.is_empty() && !open.ends_with(' ') {
            infix.push_str(&open.repeat(times));
        } else {
            head.push_str(&open.repeat(times));
            tail = close.repeat(times) + &tail;
        }
    }
    let sql = format!("{head}1{infix}{tail}");
    std::thread::Builder::new()
        .stack_size(crate::server::THREAD_STACK)
        .spawn(move || {
            let _ = crate::gateway::nesting::check_text(&sql);
            gateway(&sql);
        })
        .expect("a thread starts")
        .join()
        .expect("no panic");
}
