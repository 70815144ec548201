//! Workspace statements: any DuckDB SQL runs in the session's sandboxed workspace (no gateway:
//! the sandbox is the boundary), with the statement timeout, the size limit and the result
//! limit of workspaces.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{CommandTag, Executor, Outcome, ParamShape, Rows, Session, Shape};

use crate::engine::{Param, WorkspaceCatalog, WorkspaceOutcome, after_leading_comments, returns_rows};
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::settings::{self, SessionSettings};
use crate::gateway::{self, CompatValues, ParamType, Plan};
use crate::storage::ViewExpander;

/// The command tag PostgreSQL would answer for a statement without rows.
fn tag_for(sql: &str, changed: usize) -> CommandTag {
    let sql = after_leading_comments(sql);
    let words: Vec<String> = sql.split_whitespace().take(4).map(|w| w.to_ascii_uppercase()).collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    match first {
        "INSERT" => CommandTag::new("INSERT").with_oid(0).with_rows(changed),
        "UPDATE" | "DELETE" | "MERGE" => CommandTag::new(first).with_rows(changed),
        // CREATE TABLE … AS answers the rows it wrote, as SELECT does in PostgreSQL
        "CREATE" if creates_table_as(sql) => CommandTag::new("SELECT").with_rows(changed),
        "CREATE" | "DROP" | "ALTER" => {
            let mut object = words.get(1).cloned().unwrap_or_default();
            if object == "OR" {
                object = words.get(3).cloned().unwrap_or_else(|| "TABLE".into());
            }
            if ["TEMP", "TEMPORARY"].contains(&object.as_str()) {
                object = words.get(2).cloned().unwrap_or_else(|| "TABLE".into());
            }
            CommandTag::new(&format!("{first} {}", object.trim_matches(|c: char| !c.is_ascii_alphabetic())))
        }
        "BEGIN" => CommandTag::new("BEGIN"),
        "START" => CommandTag::new("START TRANSACTION"),
        "COMMIT" | "END" => CommandTag::new("COMMIT"),
        "ABORT" | "ROLLBACK" => CommandTag::new("ROLLBACK"),
        "" => CommandTag::new("EMPTY"),
        other => CommandTag::new(other.trim_matches(|c: char| !c.is_ascii_alphabetic())),
    }
}

/// Whether a statement is `CREATE [TEMP] TABLE … AS <query>` (by DuckDB's grammar when
/// sqlparser cannot read it: an `AS` before the query, not a generated column's).
fn creates_table_as(sql: &str) -> bool {
    table_created_as(sql).is_some()
}

/// `CREATE [TEMP] TABLE name … AS <query>`: `Some(Some(name))` when the gateway's parser reads
/// it, `Some(None)` when only DuckDB's grammar does (see [`creates_table_as`]).
fn table_created_as(sql: &str) -> Option<Option<String>> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains("CREATE") || !upper.contains("TABLE") || !upper.contains("AS") {
        return None;
    }
    if let Ok(statements) = gateway::parse(sql)
        && let [sqlparser::ast::Statement::CreateTable(create)] = statements.as_slice()
    {
        return create.query.is_some().then(|| Some(create.name.to_string()));
    }
    // the AS of a query comes before any parenthesis (a column list's `b AS (…)` is a
    // generated column)
    let head = upper.split('(').next().unwrap_or_default();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let creates_table = words.iter().take(5).any(|w| *w == "TABLE");
    let as_query = head.split_whitespace().any(|w| w == "AS");
    (creates_table && as_query).then_some(None)
}

/// The workspace table (or view) a name of a query means, as DuckDB resolves it: in its schema,
/// else in `main`.
fn workspace_table(catalog: &WorkspaceCatalog, name: &crate::storage::TableName) -> Option<super::reads::SlotTable> {
    let relation = catalog.find(name.schema.as_deref(), &name.name)?;
    let columns = relation.columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect();
    Some(super::reads::SlotTable { table_id: relation.oid, columns, file: None })
}

/// A statement's first word (after comments and opening parentheses).
fn first_word(sql: &str) -> &str {
    after_leading_comments(sql).trim_start_matches('(').split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("")
}

/// Whether a workspace statement only reads (a query without `RETURNING`, `SHOW`, `EXPLAIN`).
fn reads_only(sql: &str) -> bool {
    let first = first_word(sql).to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "FROM" | "SHOW" | "DESCRIBE" | "EXPLAIN" | "SUMMARIZE"
    ) && returns_rows(sql)
}

/// [`reads_only`], and a `WITH` that names no write (`WITH … DELETE` is one).
fn reads_only_surely(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    reads_only(sql)
        && (!after_leading_comments(&lower).starts_with("with")
            || !["insert", "update", "delete", "merge"].iter().any(|w| lower.contains(w)))
}

/// Whether a statement opens (`Some(true)`) or ends (`Some(false)`) a transaction block.
pub fn transaction_effect(sql: &str) -> Option<bool> {
    if savepoint_statement(sql).is_some() {
        return None;
    }
    match after_leading_comments(sql).split_whitespace().next().unwrap_or("").to_ascii_uppercase().trim_end_matches(';')
    {
        "BEGIN" | "START" => Some(true),
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" => Some(false),
        _ => None,
    }
}

/// How a `read_only_storage` workspace's scans expand a storage view: as the session reading
/// it, with the values its functions answer there (`current_user`, `pg_backend_pid()`, …).
pub fn workspace_view_expander(
    user: String,
    database: String,
    backend_pid: i32,
    startup: &BTreeMap<String, String>,
) -> ViewExpander {
    let settings = SessionSettings::new(&user, startup);
    Arc::new(move |resolve, names| {
        let compat = CompatValues { settings: &settings, user: &user, database: &database, backend_pid };
        gateway::views::expand(resolve, &compat, names, &[], None)
    })
}

/// A statement of a workspace session that never reaches DuckDB as written (whose parser may
/// not even read it): PostgreSQL's session statements (`SET search_path TO a, b` included),
/// savepoints, cursors, and a transaction's start (DuckDB gets a bare `BEGIN`).
fn answered_here(sql: &str) -> bool {
    savepoint_statement(sql).is_some()
        || session_statement(sql).is_some()
        || search_path_statement(sql).is_some()
        || gateway::workspace_cursor(sql).is_some()
        || begins_alone(sql)
}

/// One statement that starts a transaction (not a text of several that starts with one).
fn begins_alone(sql: &str) -> bool {
    transaction_effect(sql) == Some(true) && crate::engine::split_statements(sql).len() == 1
}

/// A workspace statement that reads PostgreSQL's catalog (`pg_catalog.*`,
/// `information_schema.*`) and nothing of the workspace's own: planned by the gateway as a
/// storage session's read, and answered by the same catalog emulation, from the workspace's
/// schemas, tables and views (see `exec::workspace_catalog`). It runs in the project's instance
/// (see `Session::home`) and reads no table there. Any other statement (one also reading a workspace table, or one the
/// gateway cannot read) goes to DuckDB as written. `declared`: parameter types the client named.
pub fn workspace_catalog_query(session: &Session, sql: &str, declared: &[Option<&str>]) -> Option<Plan> {
    let settings = session.settings().clone();
    catalog_query_plan(sql, declared, &session.compat(&settings))
}

fn catalog_query_plan(sql: &str, declared: &[Option<&str>], compat: &CompatValues<'_>) -> Option<Plan> {
    if sql.len() > 64 * 1024 {
        return None;
    }
    let lower = sql.to_ascii_lowercase();
    // (`'x'::regclass` and friends are catalog lookups too)
    if !lower.contains("pg_") && !lower.contains("information_schema") && !lower.contains("reg") {
        return None;
    }
    let mut statements = gateway::parse(sql).ok()?;
    let [statement] = statements.as_mut_slice() else { return None };
    gateway::declare_parameter_types(statement, declared);
    match gateway::plan(statements.remove(0), compat).ok()? {
        Plan::Query(q)
            if q.tables.is_empty()
                && !q.relations.is_empty()
                && q.relations.iter().all(|r| matches!(r, gateway::ServerRelation::Catalog(_))) =>
        {
            Some(Plan::Query(q))
        }
        _ => None,
    }
}

/// Whether a text is one catalog query (see [`workspace_catalog_query`]), judged without a
/// session: for splitting texts DuckDB's parser cannot read.
fn is_catalog_query(sql: &str) -> bool {
    let settings = SessionSettings::new("", &Default::default());
    let compat = CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    catalog_query_plan(sql, &[], &compat).is_some()
}

/// A savepoint statement of a workspace session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavepointStatement {
    Create,
    Release,
    RollbackTo,
}

/// `SAVEPOINT x`, `RELEASE [SAVEPOINT] x`, `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] x`.
pub fn savepoint_statement(sql: &str) -> Option<SavepointStatement> {
    let words: Vec<String> = after_leading_comments(sql)
        .split_whitespace()
        .take(4)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    match words.first()?.as_str() {
        "SAVEPOINT" => Some(SavepointStatement::Create),
        "RELEASE" => Some(SavepointStatement::Release),
        "ROLLBACK" | "ABORT" => {
            let rest = if matches!(words.get(1).map(String::as_str), Some("WORK" | "TRANSACTION")) {
                words.get(2)
            } else {
                words.get(1)
            };
            (rest.map(String::as_str) == Some("TO")).then_some(SavepointStatement::RollbackTo)
        }
        _ => None,
    }
}

/// PostgreSQL's answer to `BEGIN` inside a transaction block, or `COMMIT`/`ROLLBACK` outside
/// one: a warning, and the statement's tag. DuckDB would refuse either, and dbt, for one, sends
/// `BEGIN` twice.
fn transaction_warning(sql: &str, in_transaction: bool) -> Option<Outcome> {
    let opens = transaction_effect(sql)?;
    let (state, message) = match (opens, in_transaction) {
        (true, true) => (SqlState::ActiveSqlTransaction, "there is already a transaction in progress"),
        (false, false) => (SqlState::NoActiveSqlTransaction, "there is no transaction in progress"),
        _ => return None,
    };
    Some(Outcome::Warning {
        tag: tag_for(sql, 0),
        warning: Error::new(ErrorKind::FailedPrecondition, message).with_sqlstate(state),
    })
}

/// The statement as DuckDB gets it, with PostgreSQL's answers where a storage session gives
/// them: session functions answered from the session (see
/// `gateway::compat::rewrite_session_functions`), and a query's result columns named as
/// PostgreSQL names them (`?column?`, `int4`, `count`; see
/// `gateway::query::name_columns_like_postgres`). A text the gateway's parser cannot read goes
/// as it is: the sandbox, not this rewrite, is what bounds a workspace statement.
///
/// Answers the rewritten text, and for a query also the gateway parser's reading of the text
/// unchanged, which DuckDB must read as it reads the text itself (see
/// `Executor::as_postgres`).
fn rewrite_for_postgres<'a>(session: &Session, sql: &'a str) -> Result<(Cow<'a, str>, Option<String>)> {
    let unchanged = Ok((Cow::Borrowed(sql), None));
    if sql.len() > 64 * 1024 {
        return unchanged;
    }
    let lower = sql.to_ascii_lowercase();
    let session_functions = gateway::compat::SESSION_FUNCTION_WORDS.iter().any(|w| lower.contains(w));
    let first = after_leading_comments(&lower).trim_start_matches('(').split(|c: char| !c.is_ascii_alphabetic()).next();
    let query = matches!(first, Some("select" | "with" | "values"));
    let declares_lengths = first == Some("create") && (lower.contains("char") || lower.contains("float"));
    let numeric = lower.contains("numeric") || lower.contains("decimal");
    let zone = session.time_zone().filter(|_| lower.contains("timestamptz") || lower.contains("time zone"));
    if !session_functions && !query && !declares_lengths && !numeric && zone.is_none() {
        return unchanged;
    }
    let Ok(mut statements) = gateway::parse(sql) else { return unchanged };
    let [statement] = statements.as_mut_slice() else { return unchanged };
    gateway::pg_rules::check(statement)?;
    let read_as = matches!(statement, sqlparser::ast::Statement::Query(_)).then(|| {
        let mut rendered = statement.clone();
        gateway::compat::extract_fields_in_lower_case(&mut rendered);
        rendered.to_string()
    });
    // (named first, as the client wrote the items: `current_schemas`, not what answers it)
    let mut changed = gateway::query::name_columns_like_postgres(statement);
    if session_functions {
        let settings = session.settings().clone();
        changed |= gateway::compat::rewrite_session_functions(statement, &session.compat(&settings))?;
    }
    changed |= gateway::compat::rewrite_semantics(statement);
    changed |= keep_declared_types(statement);
    changed |= keep_numeric_digits(statement);
    if let Some(zone) = zone {
        changed |= gateway::time_zone::read_written_timestamps(statement, zone);
    }
    if !changed {
        return unchanged;
    }
    Ok((Cow::Owned(statement.to_string()), read_as))
}

/// A text whose `EXPLAIN (options) …` DuckDB refuses, with PostgreSQL's options read and
/// dropped (see `gateway::explain_options_as_engine`); None unless one changes.
fn explain_options_as_engine(text: &str) -> Option<String> {
    let mut statements = gateway::parse(text).ok()?;
    let mut changed = false;
    for statement in &mut statements {
        changed |= gateway::explain_options_as_engine(statement).ok()?;
    }
    changed.then(|| statements.iter().map(ToString::to_string).collect::<Vec<_>>().join(";\n"))
}

/// A text whose `PREPARE name(types) AS …` DuckDB refuses for the declared types, with each
/// `$n` cast to its type instead (see `gateway::declared_types_as_casts`); None unless the
/// gateway's parser reads the text and one of its statements changes. DuckDB splits and checks
/// this rendering, which is all that runs.
fn prepare_types_as_casts(text: &str) -> Option<String> {
    let mut statements = gateway::parse(text).ok()?;
    let mut changed = false;
    for statement in &mut statements {
        changed |= gateway::declared_types_as_casts(statement);
    }
    changed.then(|| statements.iter().map(ToString::to_string).collect::<Vec<_>>().join(";\n"))
}

/// A statement in PostgreSQL's operators that DuckDB has no syntax for (jsonb's `#>`, `?`,
/// `@>` of arrays, …) with those operators as the engine's functions, as a storage session runs
/// them (`gateway::compat::rewrite_semantics`); None unless the gateway's parser reads the text
/// as one statement the rewrite changes. Only for a text DuckDB cannot read: DuckDB then splits
/// and checks this rendering, which is all that runs.
fn postgres_operators_as_functions(text: &str) -> Option<String> {
    let mut statements = gateway::parse(text).ok()?;
    let [statement] = statements.as_mut_slice() else { return None };
    // (named first, as the operators stand: `?column?`, not the functions' names)
    gateway::query::name_columns_like_postgres(statement);
    gateway::compat::rewrite_semantics(statement).then(|| statement.to_string())
}

/// `VARCHAR(n)` and `CHAR(n)` columns of a workspace's `CREATE TABLE` keep their length, as
/// storage tables do (`storage::tables::table_ddl`): DuckDB ignores a declared length, so a
/// CHECK refuses a longer value (`22001`, as PostgreSQL) and the workspace's catalog reads the
/// length back from it (`engine::workspaces`, `length(c) <= n` for varchar, `char_length(c) <=
/// n` for char); a `float` column is double precision, as PostgreSQL's. Answers whether
/// anything changed.
fn keep_declared_types(statement: &mut sqlparser::ast::Statement) -> bool {
    use sqlparser::ast::{CharacterLength, CheckConstraint, ColumnOption, ColumnOptionDef, DataType, Statement};
    let Statement::CreateTable(create) = statement else { return false };
    let mut changed = false;
    for column in &mut create.columns {
        // PostgreSQL's float is double precision (DuckDB's FLOAT a real)
        if matches!(column.data_type, DataType::Float(_)) {
            column.data_type = gateway::compat::postgres_float(&column.data_type);
            changed = true;
        }
        let (length, function) = match &column.data_type {
            DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::CharacterVarying(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::CharVarying(Some(CharacterLength::IntegerLength { length, .. })) => (*length, "length"),
            DataType::Char(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::Character(Some(CharacterLength::IntegerLength { length, .. })) => (*length, "char_length"),
            _ => continue,
        };
        let check =
            format!("{function}({}) <= {length}", sqlparser::ast::Ident::with_quote('"', column.name.value.clone()));
        let Ok(expr) = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(&check)
            .and_then(|mut p| p.parse_expr())
        else {
            continue;
        };
        column.options.push(ColumnOptionDef {
            name: None,
            option: ColumnOption::Check(CheckConstraint {
                name: None,
                expr: Box::new(expr),
                no_inherit: false,
                enforced: None,
            }),
        });
        changed = true;
    }
    changed
}

/// A workspace table's unconstrained `numeric` columns as storage tables have them (see
/// `compat::NUMERIC_AS_STORED`): DuckDB's bare NUMERIC would round to 3 decimals. Answers
/// whether anything changed.
fn keep_numeric_digits(statement: &mut sqlparser::ast::Statement) -> bool {
    use gateway::compat::{NUMERIC_AS_STORED, is_unconstrained_numeric};
    use sqlparser::ast::{AlterTableOperation, Statement};
    let mut types = Vec::new();
    match statement {
        Statement::CreateTable(create) => types.extend(create.columns.iter_mut().map(|c| &mut c.data_type)),
        Statement::AlterTable(alter) => {
            for operation in &mut alter.operations {
                match operation {
                    AlterTableOperation::AddColumn { column_def, .. } => types.push(&mut column_def.data_type),
                    AlterTableOperation::AlterColumn {
                        op: sqlparser::ast::AlterColumnOperation::SetDataType { data_type, .. },
                        ..
                    } => types.push(data_type),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let mut changed = false;
    for data_type in types.into_iter().filter(|t| is_unconstrained_numeric(t)) {
        *data_type = NUMERIC_AS_STORED;
        changed = true;
    }
    changed
}

/// What a workspace query's result columns are marked from (see `Executor::result_marks`).
enum ResultMarks {
    Query {
        plan: gateway::QueryPlan,
        slots: Vec<Option<super::reads::SlotTable>>,
    },
    /// A constant row's: the types its text gives its columns (`SELECT current_user`).
    Written(Vec<Option<(u32, i32)>>),
}

impl ResultMarks {
    fn mark(&self, schema: arrow::datatypes::SchemaRef) -> arrow::datatypes::SchemaRef {
        match self {
            ResultMarks::Query { plan, slots } => super::result_columns::mark(schema, plan, slots),
            ResultMarks::Written(types) => super::result_columns::mark_written(schema, types),
        }
    }
}

/// PostgreSQL catalog functions DuckDB lacks and clients call at connect (psycopg's type lookup,
/// psql's `\d`), as temporary macros of the session's own connection: they exist for that
/// session only, hold no data, and list with no table.
fn personality_sql(user: &str) -> Vec<String> {
    let user = user.replace('\'', "''");
    // the storage instances' macros (PostgreSQL's type names by OID, …), for this session only
    let mut sql: Vec<String> = super::macros_sql()
        .into_iter()
        .map(|m| m.replacen("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO", 1))
        .collect();
    sql.push("CREATE OR REPLACE TEMP MACRO to_regtype(name) AS duckstore_to_regtype(CAST(name AS VARCHAR))".into());
    sql.push(format!("CREATE OR REPLACE TEMP MACRO pg_get_userbyid(id) AS '{user}'"));
    sql
}

impl Executor {
    /// A workspace statement as DuckDB gets it (see [`rewrite_for_postgres`]). DuckDB is the
    /// judge of the rewrite: a query is rewritten only when DuckDB reads the gateway parser's
    /// rendering of it as it reads the text (sqlparser reads `v isnull` as `v AS isnull` and
    /// `0x10` as `0 AS x10`); otherwise it runs as written.
    pub(super) async fn as_postgres<'a>(&self, session: &Session, sql: &'a str) -> Result<Cow<'a, str>> {
        match rewrite_for_postgres(session, sql)? {
            (Cow::Owned(rewritten), Some(read_as)) => {
                let alike = self.storage.engine().reads_alike(sql.to_owned(), read_as).await;
                Ok(if alike { Cow::Owned(rewritten) } else { Cow::Borrowed(sql) })
            }
            (rewritten, _) => Ok(rewritten),
        }
    }

    /// A prepared workspace query with its parameters typed as PostgreSQL types them (see
    /// `gateway::declare_parameter_types`): each `$n` cast to the type its Parse message
    /// declared, a select list's untyped `$n` as text. Only when DuckDB reads the gateway
    /// parser's rendering of the text as it reads the text; otherwise unchanged.
    pub async fn with_declared_parameters(&self, sql: String, declared: &[Option<&str>]) -> String {
        if !sql.contains('$') || sql.len() > 64 * 1024 {
            return sql;
        }
        let Ok(mut statements) = gateway::parse(&sql) else { return sql };
        let [statement] = statements.as_mut_slice() else { return sql };
        if !matches!(statement, sqlparser::ast::Statement::Query(_)) {
            // DML: DuckDB cannot show how it reads one; only the parameters are touched
            return match statement {
                sqlparser::ast::Statement::Insert(_)
                | sqlparser::ast::Statement::Update(_)
                | sqlparser::ast::Statement::Delete(_) => {
                    gateway::cast_declared_placeholders(&sql, declared).unwrap_or(sql)
                }
                _ => sql,
            };
        }
        let read_as = statement.to_string();
        gateway::declare_parameter_types(statement, declared);
        let typed = statement.to_string();
        if typed == read_as || !self.storage.engine().reads_alike(sql.clone(), read_as).await {
            return sql;
        }
        typed
    }

    /// A workspace text split by DuckDB into its statements (see
    /// `engine::Engine::workspace_statements`); a text DuckDB refuses as a syntax error is tried
    /// once more with PostgreSQL's plain names that DuckDB keeps as keywords quoted (a column
    /// `at`, see `gateway::quote_duckdb_keywords`), and fails with DuckDB's first error if that
    /// fails too.
    pub async fn split_workspace_text(&self, text: &str) -> Result<Vec<String>> {
        let engine = self.storage.engine();
        match engine.workspace_statements(text.to_owned()).await {
            Ok(statements) => Ok(statements.into_iter().map(|s| s.sql).collect()),
            // (a short text: the retry tokenizes it here, on the async thread)
            Err(e)
                if matches!(e.state(), SqlState::SyntaxError | SqlState::FeatureNotSupported)
                    && text.len() <= 64 * 1024 =>
            {
                let retries = [
                    gateway::quote_duckdb_keywords(text),
                    postgres_operators_as_functions(text),
                    prepare_types_as_casts(text),
                    explain_options_as_engine(text),
                ];
                for retry in retries.into_iter().flatten() {
                    if let Ok(statements) = engine.workspace_statements(retry).await {
                        return Ok(statements.into_iter().map(|s| s.sql).collect());
                    }
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A workspace text's statements, split where DuckDB splits them. PostgreSQL's own
    /// statements DuckDB cannot parse (`SET NAMES`, `SAVEPOINT`, …) never reach its splitter: a
    /// text that is one of them is that statement, and a text holding some (psycopg sends
    /// `BEGIN; SAVEPOINT "_pg3_1"`) is split around them, while DuckDB still splits, and checks,
    /// every other piece.
    pub async fn workspace_statements(&self, text: &str) -> Result<Vec<String>> {
        if answered_here(text) {
            return Ok(vec![text.to_owned()]);
        }
        let engine = self.storage.engine();
        let pieces = match self.split_workspace_text(text).await {
            Ok(statements) => return Ok(statements),
            // a catalog query DuckDB cannot parse (psql's `OPERATOR(pg_catalog.~)`) is ours
            Err(_) if is_catalog_query(text) => return Ok(vec![text.to_owned()]),
            Err(e) => {
                let pieces = crate::engine::split_statements(text);
                if !pieces.iter().any(|p| answered_here(p)) {
                    return Err(e);
                }
                pieces
            }
        };
        let mut statements = Vec::with_capacity(pieces.len());
        for piece in pieces {
            if answered_here(&piece) {
                statements.push(piece);
            } else {
                statements.extend(engine.workspace_statements(piece).await?.into_iter().map(|s| s.sql));
            }
        }
        Ok(statements)
    }

    /// Gives a new workspace session's connection what PostgreSQL clients expect to find
    /// there (see `personality_sql`). A failure is logged, not fatal: the session works without.
    pub async fn prepare_workspace_session(
        &self,
        ws: &crate::storage::workspaces::WorkspaceSession,
        user: &str,
        startup: &BTreeMap<String, String>,
    ) {
        // (the server's own statements: a client's are refused CREATE MACRO, see
        // engine::expansion)
        let engine = self.storage.engine();
        if let Err(e) = engine.workspace_session_setup(&ws.conn, personality_sql(user)).await {
            tracing::warn!(error = %e, "preparing a workspace session");
        }
        // a search path the client asked for at startup (`options=-c search_path=…`) is
        // DuckDB's too, as a SET of it would be (see `follow_search_path`), when the session's
        // settings take it; a schema DuckDB does not know leaves its path as it was
        let settings = SessionSettings::new(user, startup);
        if let Some(path) = startup.get("search_path").filter(|p| settings.get("search_path") == Some(p.trim()))
            && let Err(e) = engine.workspace_set_search_path(&ws.conn, duckdb_search_path(path)).await
        {
            tracing::debug!(error = %e, "a workspace session's startup search_path");
        }
    }

    /// Runs one statement of a workspace session with its timeout and limits.
    /// `in_transaction`: the session is inside a transaction block.
    pub async fn run_workspace(
        &self,
        session: &Arc<Session>,
        sql: &str,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        // DuckDB keeps a workspace's prepared statements: the session counts them against the
        // storage sessions' bound, and answers a DEALLOCATE of no such name as PostgreSQL does
        if matches!(first_word(sql).to_ascii_lowercase().as_str(), "prepare" | "deallocate") {
            return self.workspace_prepared(session, sql, params, in_transaction).await;
        }
        self.run_workspace_statement(session, sql, params, in_transaction).await
    }

    async fn run_workspace_statement(
        &self,
        session: &Arc<Session>,
        sql: &str,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        // (the catalog reads of this statement follow: see `engine::Engine::workspace_catalog`)
        if let Some(ws) = &session.workspace {
            ws.conn.set_in_block(in_transaction);
        }
        if let Some(plan) = session_statement(sql) {
            let reset = matches!(plan, Plan::ResetAll | Plan::NoOp("DISCARD ALL"));
            let outcome = self.execute(session, &plan, params, in_transaction).await?;
            if reset {
                self.follow_search_path(session, None, false).await?;
            }
            return Ok(outcome);
        }
        if let Some((path, local)) = search_path_statement(sql) {
            return self.follow_search_path(session, path.as_deref(), local).await;
        }
        if let Some(plan) = workspace_catalog_query(session, sql, &[]) {
            return self.run(session, &plan, params, in_transaction).await;
        }
        // COPY … TO STDOUT: the query's rows, run in the sandbox like any other, as COPY data
        if let Some(copy) = gateway::copy::workspace_copy_out(sql) {
            let (query, format, written) = copy?;
            if let Some(written) = written
                && !self.storage.engine().reads_alike(written, query.clone()).await
            {
                return Err(Error::unsupported(
                    "this COPY's query reads differently to the server's parsers; run the query without COPY",
                ));
            }
            return match Box::pin(self.run_workspace(session, &query, params, in_transaction)).await? {
                Outcome::Rows { schema, rows, .. } => Ok(Outcome::CopyOut { schema, rows, format }),
                _ => Err(Error::invalid("COPY … TO STDOUT copies a query's rows").with_sqlstate(SqlState::SyntaxError)),
            };
        }
        if let Some(warning) = transaction_warning(sql, in_transaction) {
            return Ok(warning);
        }
        // `START TRANSACTION ISOLATION LEVEL …`, `BEGIN READ WRITE`: DuckDB takes a bare BEGIN
        // (its transactions are snapshots); the level asked for is the session's to show
        let client_text = sql;
        let sql = match begins_alone(sql) {
            true => {
                session.begin_settings_block();
                let planned = gateway::parse(sql)
                    .ok()
                    .filter(|s| s.len() == 1)
                    .and_then(|mut s| gateway::plan(s.remove(0), &session.compat(&session.settings().clone())).ok());
                // (`READ ONLY`, or `default_transaction_read_only`: held below, as in storage)
                let read_only = match &planned {
                    Some(Plan::Begin { read_only: Some(read_only), .. }) => *read_only,
                    _ => session.read_only(false),
                };
                session.read_only_transaction.store(read_only, Ordering::Release);
                let mut settings = session.settings();
                let level = match planned {
                    Some(Plan::Begin { isolation: Some(level), .. }) => level.to_owned(),
                    _ => settings.get("default_transaction_isolation").unwrap_or("read committed").to_owned(),
                };
                settings.set("transaction_isolation", Some(&level))?;
                "BEGIN TRANSACTION"
            }
            false => sql,
        };
        if let Some(savepoint) = savepoint_statement(sql) {
            return self.workspace_savepoint(session, savepoint, in_transaction).await;
        }
        let cursor = gateway::workspace_cursor(sql).transpose()?;
        if in_transaction
            && session.read_only(true)
            && cursor.is_none()
            && transaction_effect(sql).is_none()
            && !reads_only_surely(sql)
        {
            return Err(Error::invalid("cannot execute a statement that writes in a read-only transaction")
                .with_sqlstate(SqlState::ReadOnlySqlTransaction));
        }
        match transaction_effect(sql) {
            Some(_) => session.wrote_in_transaction.store(false, Ordering::Release),
            // (a cursor's rows are the session's own temporary table: a restart only closes it)
            None if in_transaction && cursor.is_none() && !reads_only(sql) => {
                session.wrote_in_transaction.store(true, Ordering::Release)
            }
            None => {}
        }
        if let Some(copy) = gateway::copy::workspace_copy_in(sql) {
            return self.start_workspace_copy(session, copy?).await;
        }
        let written = sql;
        let sql = &*self.as_postgres(session, sql).await?;
        let started = Instant::now();
        let ws = session.workspace.as_ref().ok_or_else(|| Error::internal("running workspace SQL", "no workspace"))?;
        let renamed_view = self.view_rename(ws, sql).await?;
        let sql = renamed_view.as_deref().unwrap_or(sql);
        let timeout_ms = super::effective_timeout_ms(
            session.settings().statement_timeout_ms(),
            ws.statement_timeout_secs.saturating_mul(1000),
        );
        let timer = super::start_statement_timer(session, timeout_ms);
        if let Some(cursor) = cursor {
            // a cursor's query runs (at DECLARE) under the same timeout and limits as any other
            let mut result = self
                .workspace_cursor(session, cursor, params, in_transaction)
                .await
                .map_err(|e| super::explain_cancel(session, e));
            super::hold_timer_while_streaming(&mut result, timer);
            self.observe(session, "workspace", started, result.as_ref().err());
            return result;
        }
        let marks = self.result_marks(session, ws, written, sql).await;
        let result = self
            .storage
            .engine()
            .workspace_execute(&ws.conn, sql.to_owned(), params.to_vec(), ws.size_limit, &session.canceller)
            .await;
        let mut result = match result {
            // an EXPLAIN's plan as PostgreSQL shapes it (one `QUERY PLAN` column, a row a line)
            Ok(WorkspaceOutcome::Rows(stream)) if first_word(sql).eq_ignore_ascii_case("explain") => {
                super::query_plan(Rows::Engine(stream)).await.map(|batch| super::ready(batch, "EXPLAIN"))
            }
            Ok(WorkspaceOutcome::Rows(mut stream)) => {
                if let Some(marks) = &marks {
                    stream.schema = marks.mark(stream.schema);
                }
                Ok(Outcome::Rows {
                    schema: stream.schema.clone(),
                    rows: Rows::Engine(stream),
                    tag: "SELECT",
                    binary: false,
                })
            }
            Ok(WorkspaceOutcome::Done(changed)) => match table_created_as(sql) {
                // DuckDB reports no rows for CREATE TABLE AS; PostgreSQL's tag carries them
                Some(Some(table)) => {
                    let rows = self.count_rows(session, &table).await.map_or(changed, |n| n as usize);
                    Ok(Outcome::Command(tag_for(sql, rows)))
                }
                _ => Ok(Outcome::Command(tag_for(client_text, changed))),
            },
            Err(e) => {
                let engine = self.storage.engine();
                Err(super::explain_cancel(session, unknown_parameter(sql, e, |n| engine.is_engine_setting(n))))
            }
        };
        super::hold_timer_while_streaming(&mut result, timer);
        self.observe(session, "workspace", started, result.as_ref().err());
        if result.is_ok()
            && let Some(began) = transaction_effect(sql)
        {
            ws.conn.set_in_block(began);
        }
        if result.is_ok() && transaction_effect(sql) == Some(false) {
            session.end_isolation();
            session.read_only_transaction.store(false, Ordering::Release);
            let first = after_leading_comments(sql).split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let committed = matches!(first.trim_end_matches(';'), "COMMIT" | "END");
            self.end_workspace_cursors(session, committed).await;
            self.end_workspace_settings_block(session, committed).await?;
        }
        result
    }

    /// A workspace's transaction block ends (see `Session::end_settings_block`); a search path
    /// the block's end took back is DuckDB's again too (DuckDB's SET is not transactional).
    async fn end_workspace_settings_block(&self, session: &Session, committed: bool) -> Result<()> {
        let path = || session.settings().get("search_path").map(str::to_owned);
        let before = path();
        session.end_settings_block(committed);
        let after = path();
        if before != after
            && let Some(ws) = &session.workspace
        {
            let path = duckdb_path(&ws.conn, after.as_deref());
            self.storage.engine().workspace_set_search_path(&ws.conn, path).await?;
        }
        Ok(())
    }

    /// `SET search_path` in a workspace (`None`: back to the default): DuckDB's path, which
    /// resolves the statements' names, and the session's setting, from which the catalog
    /// emulation answers (`current_schema()`, what `pg_table_is_visible` sees), move together.
    /// The default is the workspace's home schema.
    /// `local`: `SET LOCAL`, until the block ends (outside one it does nothing).
    async fn follow_search_path(&self, session: &Session, path: Option<&str>, local: bool) -> Result<Outcome> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("setting the search path", "no workspace"))?;
        let tag = CommandTag::new(if path.is_some() { "SET" } else { "RESET" });
        if local && !session.in_settings_block() {
            return Ok(Outcome::Command(tag));
        }
        let home = ws.conn.home_schema();
        // (a workspace of the earlier layout has `main` for home: its default path says so)
        let value = path.or((home != "public").then_some(home));
        // the value is checked as the session's setting before DuckDB's path moves
        let mut settings = session.settings().clone();
        settings.set("search_path", value)?;
        self.storage.engine().workspace_set_search_path(&ws.conn, duckdb_path(&ws.conn, path)).await?;
        match local {
            true => session.set_local("search_path", value)?,
            false => *session.settings() = settings,
        }
        Ok(Outcome::Command(tag))
    }

    /// A workspace `COPY … FROM STDIN` begins: the table and columns must exist (PostgreSQL
    /// refuses before any data comes), then the data is staged as a storage session's is.
    async fn start_workspace_copy(&self, session: &Session, mut plan: gateway::copy::CopyInPlan) -> Result<Outcome> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("copying into a workspace", "no workspace"))?;
        let list = if plan.columns.is_empty() {
            "*".to_owned()
        } else {
            plan.columns.iter().map(|c| crate::storage::names::quote_ident(c)).collect::<Vec<_>>().join(", ")
        };
        let probe = format!("SELECT {list} FROM {} LIMIT 0", plan.table);
        let engine = self.storage.engine();
        let WorkspaceOutcome::Rows(stream) =
            engine.workspace_execute(&ws.conn, probe, vec![], ws.size_limit, &session.canceller).await?
        else {
            return Err(Error::internal("copying into a workspace", "the table probe answered no columns"));
        };
        plan.columns = stream.schema.fields().iter().map(|f| f.name().clone()).collect();
        let columns = plan.columns.len();
        let tmp = engine.data_dir().join("tmp");
        let copy = super::CopyIn::start(plan, vec![], &tmp, self.storage.max_copy_bytes()).await?;
        Ok(Outcome::CopyIn { copy: Box::new(copy), columns })
    }

    /// A workspace `COPY … FROM STDIN` ends: its staged rows go into the table in one INSERT.
    pub(super) async fn finish_workspace_copy(&self, session: &Session, copy: &mut super::CopyIn) -> Result<u64> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("copying into a workspace", "no workspace"))?;
        let source = copy.finish_staging().await?;
        let plan = copy.plan().clone();
        let text_columns: Vec<(String, String)> =
            (1..=plan.columns.len()).map(|i| (format!("c{i}"), "VARCHAR".to_owned())).collect();
        let reader = crate::engine::Query {
            home: crate::engine::Place::Files,
            sql: format!("SELECT * FROM {}", crate::storage::loads::reader_sql(&source, Some(&text_columns), &[])),
            params: vec![],
            relations: vec![],
            tables: vec![],
            origin: crate::engine::SqlOrigin::Server,
            checks: None,
            labels: vec![],
        };
        let rows = self
            .storage
            .engine()
            .workspace_copy_in(
                &ws.conn,
                plan.table.to_string(),
                plan.columns,
                reader,
                ws.size_limit,
                &session.canceller,
            )
            .await?;
        Ok(rows as u64)
    }

    /// A workspace query's result columns marked as a storage read's are (see
    /// `exec::result_columns`): a column of a workspace table carries the table's OID, its
    /// column number and its declared type, from the workspace's catalog. A query the gateway's
    /// planner cannot follow keeps DuckDB's description.
    ///
    /// Planned before the statement runs: the catalog is read on the session's connection,
    /// which a running statement's rows hold until they are all sent (reading it after would
    /// wait for them forever).
    async fn result_marks(
        &self,
        session: &Session,
        ws: &crate::storage::workspaces::WorkspaceSession,
        written: &str,
        sql: &str,
    ) -> Option<ResultMarks> {
        if sql.len() > 64 * 1024 || !reads_only(sql) {
            return None;
        }
        let settings = session.settings().clone();
        let plan = |text: &str| -> Option<Plan> {
            let mut statements = gateway::parse(text).ok()?;
            let [_] = statements.as_slice() else { return None };
            gateway::plan(statements.remove(0), &session.compat(&settings))
                .ok()
                .filter(|p| matches!(p, Plan::Query(_) | Plan::Constant(_)))
        };
        // the client's text says what it wrote (`x::jsonb`, which the rewrite made JSON for
        // DuckDB); the rewritten one, when only it plans
        let planned = match (written.len() <= 64 * 1024).then(|| plan(written)).flatten() {
            Some(planned) => planned,
            None => plan(sql)?,
        };
        let q = match planned {
            Plan::Query(q) => q,
            Plan::Constant(row) => return Some(ResultMarks::Written(row.written_types)),
            _ => return None,
        };
        let slots = if q.tables.is_empty() {
            vec![]
        } else {
            let catalog = self.storage.engine().workspace_catalog(&ws.conn).await.ok()?;
            q.tables.iter().map(|name| workspace_table(&catalog, name)).collect()
        };
        Some(ResultMarks::Query { plan: q, slots })
    }

    /// `ALTER TABLE v RENAME TO w` of a view, which PostgreSQL takes (dbt renames the views it
    /// builds so) and DuckDB refuses: the same rename as `ALTER VIEW`. `None`: any other
    /// statement, or a table.
    async fn view_rename(
        &self,
        ws: &crate::storage::workspaces::WorkspaceSession,
        sql: &str,
    ) -> Result<Option<String>> {
        let words: Vec<String> =
            after_leading_comments(sql).split_whitespace().take(2).map(|w| w.to_ascii_uppercase()).collect();
        if words != ["ALTER", "TABLE"] || !sql.to_ascii_uppercase().contains("RENAME") {
            return Ok(None);
        }
        let Ok(mut statements) = gateway::parse(sql) else { return Ok(None) };
        let [sqlparser::ast::Statement::AlterTable(alter)] = statements.as_mut_slice() else { return Ok(None) };
        let [
            sqlparser::ast::AlterTableOperation::RenameTable {
                table_name: sqlparser::ast::RenameTableNameKind::To(to),
            },
        ] = alter.operations.as_slice()
        else {
            return Ok(None);
        };
        let Some(parts) = gateway::query::name_parts(&alter.name) else { return Ok(None) };
        let Some((name, qualifiers)) = parts.split_last() else { return Ok(None) };
        let catalog = self.storage.engine().workspace_catalog(&ws.conn).await?;
        let is_view = catalog.find(qualifiers.last().map(String::as_str), name).is_some_and(|r| r.view_sql.is_some());
        if !is_view {
            return Ok(None);
        }
        let if_exists = if alter.if_exists { "IF EXISTS " } else { "" };
        Ok(Some(format!("ALTER VIEW {if_exists}{} RENAME TO {to}", alter.name)))
    }

    /// Savepoints in a workspace. DuckDB has none, and a failed statement aborts its whole
    /// transaction; what clients need of them is psycopg's and SQLAlchemy's pattern: a savepoint
    /// around a probe that may fail, rolled back to. A transaction that has only read so far
    /// loses nothing by starting over, so `ROLLBACK TO` restarts it; after a write it is refused
    /// rather than pretending to undo part of the transaction.
    async fn workspace_savepoint(
        &self,
        session: &Arc<Session>,
        savepoint: SavepointStatement,
        in_transaction: bool,
    ) -> Result<Outcome> {
        let what = if savepoint == SavepointStatement::Release { "RELEASE SAVEPOINT" } else { "SAVEPOINT" };
        super::outside_transaction(what, in_transaction)?;
        match savepoint {
            SavepointStatement::Create => Ok(Outcome::Command(CommandTag::new("SAVEPOINT"))),
            SavepointStatement::Release => Ok(Outcome::Command(CommandTag::new("RELEASE"))),
            SavepointStatement::RollbackTo if session.wrote_in_transaction.load(Ordering::Acquire) => {
                Err(Error::unsupported(
                    "a workspace cannot roll back to a savepoint after its transaction wrote; ROLLBACK the whole \
                     transaction",
                ))
            }
            SavepointStatement::RollbackTo => {
                let ws = session
                    .workspace
                    .as_ref()
                    .ok_or_else(|| Error::internal("rolling back to a savepoint", "no workspace"))?;
                let engine = self.storage.engine();
                for sql in ["ROLLBACK", "BEGIN"] {
                    engine.workspace_execute(&ws.conn, sql.into(), vec![], ws.size_limit, &session.canceller).await?;
                }
                // the restart took the temporary tables of cursors the block declared
                self.end_workspace_cursors(session, false).await;
                Ok(Outcome::Restored)
            }
        }
    }

    /// A workspace's PREPARE or DEALLOCATE, kept within the session's bound (see
    /// [`Executor::run_workspace`]). A PREPARE the gateway's parser cannot read is refused: its
    /// size could not be counted.
    async fn workspace_prepared(
        &self,
        session: &Arc<Session>,
        sql: &str,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        let parsed = gateway::parse(sql).ok();
        let Some([statement]) = parsed.as_deref() else {
            return Err(Error::unsupported("this PREPARE or DEALLOCATE is not supported in a workspace"));
        };
        let written = gateway::prepared_name(statement)
            .ok_or_else(|| Error::unsupported("this PREPARE or DEALLOCATE is not supported in a workspace"))?;
        let size = (sql.len(), gateway::statement_expressions(statement));
        {
            let held = session.workspace_prepared();
            match &written {
                Ok(_) => {
                    let sizes: Vec<(usize, usize)> = held.values().copied().collect();
                    if !gateway::prepared_room_for(&sizes, size) {
                        return Err(super::too_many_prepared());
                    }
                }
                Err(Some(name)) if !held.contains_key(name) => return Err(super::no_prepared_statement(name)),
                Err(_) => {}
            }
        }
        let outcome = self.run_workspace_statement(session, sql, params, in_transaction).await?;
        let mut held = session.workspace_prepared();
        match written {
            Ok(name) => {
                held.insert(name, size);
            }
            Err(Some(name)) => {
                held.remove(&name);
            }
            Err(None) => held.clear(),
        }
        Ok(outcome)
    }

    /// Parameter and result types of a workspace statement.
    pub async fn describe_workspace(&self, session: &Session, sql: &str) -> Result<Shape> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("describing workspace SQL", "no workspace"))?;
        match gateway::workspace_cursor(sql) {
            Some(Ok(gateway::WorkspaceCursor::Declare { query, .. })) => {
                let path = session_duckdb_path(session, &ws.conn);
                let described = self.storage.engine().workspace_describe(&ws.conn, query, path).await?;
                let params =
                    described.params.iter().map(|t| ParamShape::Engine(t.clone(), ParamType::Unknown)).collect();
                return Ok(Shape { params, schema: None });
            }
            Some(Ok(gateway::WorkspaceCursor::Fetch { name, only_move: false, .. })) => {
                return Ok(Shape { params: vec![], schema: Some(self.workspace_cursor_schema(session, &name).await?) });
            }
            _ => {}
        }
        // (a COPY answers CopyOutResponse, not rows: NoData)
        if answered_here(sql)
            || transaction_effect(sql).is_some()
            || gateway::copy::workspace_copy_out(sql).is_some()
            || gateway::copy::workspace_copy_in(sql).is_some()
        {
            return Ok(Shape { params: vec![], schema: None });
        }
        if let Some(plan) = workspace_catalog_query(session, sql, &[]) {
            return self.describe(session, &plan).await;
        }
        let written = sql;
        let sql = self.as_postgres(session, sql).await?.into_owned();
        let path = session_duckdb_path(session, &ws.conn);
        let described = self.storage.engine().workspace_describe(&ws.conn, sql.clone(), path).await?;
        // a parameter DuckDB leaves untyped has the type of its cast, as in PostgreSQL
        let casts = match gateway::parse(&sql).ok().as_deref() {
            Some([statement]) => gateway::parameter_casts(statement),
            _ => vec![],
        };
        let params = described
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| ParamShape::Engine(t.clone(), casts.get(i).copied().unwrap_or(ParamType::Unknown)))
            .collect();
        // DuckDB describes `INSERT` as a `Count` column; PostgreSQL answers NoData
        let schema = match !described.schema.fields().is_empty() && returns_rows(&sql) {
            true if first_word(&sql).eq_ignore_ascii_case("explain") => Some(
                crate::relation::RelationBuilder::new(&[(super::QUERY_PLAN, crate::relation::ColumnType::Text)])
                    .schema(),
            ),
            true => Some(match self.result_marks(session, ws, written, &sql).await {
                Some(marks) => marks.mark(described.schema),
                None => described.schema,
            }),
            false => None,
        };
        Ok(Shape { params, schema })
    }
}

/// `SHOW name` of no parameter and no table: PostgreSQL's `42704` (DuckDB, which reads it as
/// `DESCRIBE name`, answers that no table has the name).
/// `SET name …` of a name that is neither PostgreSQL's parameter nor DuckDB's setting: `42704`
/// too (DuckDB answers that its configuration is locked, for any name; its own settings stay
/// refused so).
fn unknown_parameter(sql: &str, e: Error, is_engine_setting: impl Fn(&str) -> bool) -> Error {
    let words: Vec<&str> = after_leading_comments(sql).trim_end().trim_end_matches(';').split_whitespace().collect();
    let unrecognized = |name: &str| {
        Error::invalid(format!("unrecognized configuration parameter \"{name}\""))
            .with_sqlstate(SqlState::UndefinedObject)
    };
    match words.as_slice() {
        [show, name] if show.eq_ignore_ascii_case("show") && e.sqlstate() == "42P01" => {
            unrecognized(&name.trim_matches('"').to_lowercase())
        }
        [set, rest @ ..] if set.eq_ignore_ascii_case("set") && e.sqlstate() == "22023" => {
            let mut rest =
                rest.iter().skip_while(|w| ["session", "local", "global"].contains(&w.to_lowercase().as_str()));
            let name = rest.next().map(|w| w.split('=').next().unwrap_or("").trim_matches('"').to_lowercase());
            match name {
                Some(name) if !name.is_empty() && !is_engine_setting(&name) => unrecognized(&name),
                _ => e,
            }
        }
        _ => e,
    }
}

/// `SET`, `RESET` or `SHOW` of one of PostgreSQL's session parameters in a workspace
/// (`extra_float_digits`, `DateStyle`, `statement_timeout`, …): the session's own setting, as in
/// a storage session, never DuckDB's, whose configuration is locked. Any other name goes to
/// DuckDB, which refuses to change its settings as before. `search_path` stays DuckDB's: name
/// resolution in the sandbox follows DuckDB's path, and a setting kept here would not move it.
pub fn session_statement(sql: &str) -> Option<Plan> {
    // these statements are short; anything long goes the ordinary way (off the worker)
    if sql.len() > 4096 {
        return None;
    }
    let first = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next()?.to_ascii_lowercase();
    // `DEALLOCATE ALL` (psycopg after a rollback): the session's prepared statements are the
    // server's, not DuckDB's, whose DEALLOCATE takes a name only; a named one goes to DuckDB
    if first == "deallocate" {
        let words: Vec<String> = sql.split_whitespace().map(|w| w.trim_end_matches(';').to_ascii_uppercase()).collect();
        let all = matches!(words.as_slice(), [_, all] | [_, _, all] if all == "ALL")
            && words.get(1).is_some_and(|w| w == "ALL" || w == "PREPARE");
        return all.then_some(Plan::NoOp("DEALLOCATE ALL"));
    }
    if first == "select" {
        return set_config_statement(sql);
    }
    if !["set", "reset", "show", "discard", "unlisten"].contains(&first.as_str()) {
        return None;
    }
    let mut statements = gateway::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let settings = SessionSettings::new("", &Default::default());
    let compat = CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    let ours = |name: &str| settings::is_parameter(name) && !name.eq_ignore_ascii_case("search_path");
    match gateway::plan(statements.remove(0), &compat).ok()? {
        plan @ (Plan::ResetAll | Plan::NoOp("SET" | "RESET") | Plan::SetTransaction { .. }) => Some(plan),
        plan @ Plan::Set { .. } if matches!(&plan, Plan::Set { name, .. } if ours(name)) => Some(plan),
        Plan::Reset(name) if ours(&name) => Some(Plan::Reset(name)),
        // (the session's search_path shows as `current_setting` answers it)
        Plan::Show(name) if ours(&name) || name == "all" || name == "search_path" => Some(Plan::Show(name)),
        plan @ Plan::NoOp("DISCARD ALL" | "UNLISTEN") => Some(plan),
        _ => None,
    }
}

/// `SELECT set_config('name', 'value', local)` alone, as the SET it is (`search_path` stays
/// DuckDB's, see [`session_statement`]); None for any other SELECT, told from the text's start
/// before anything is parsed (this runs on the connection's task).
fn set_config_statement(sql: &str) -> Option<Plan> {
    let lower = after_leading_comments(sql).trim_start().to_ascii_lowercase();
    let call = lower.strip_prefix("select")?.trim_start();
    if !(call.starts_with("set_config") || call.starts_with("pg_catalog.set_config")) {
        return None;
    }
    let statements = gateway::parse(sql).ok()?;
    let [sqlparser::ast::Statement::Query(query)] = statements.as_slice() else { return None };
    let (name, value, local) = settings::set_config_call(query)?;
    (!name.eq_ignore_ascii_case("search_path")).then_some(Plan::Set { name, value, local, call: true })
}

/// DuckDB's search path for the session's `search_path` (see [`duckdb_path`]).
pub(super) fn session_duckdb_path(session: &Session, conn: &crate::engine::WorkspaceConn) -> String {
    let setting = session.settings().get("search_path").map(str::to_owned);
    duckdb_path(conn, setting.as_deref())
}

/// DuckDB's search path for a `search_path` setting: PostgreSQL's default (or none) is the
/// workspace's home schema, qualified with its catalog; any other, its schemas.
fn duckdb_path(conn: &crate::engine::WorkspaceConn, setting: Option<&str>) -> String {
    match setting {
        Some(path) if Some(path) != settings::default_value("search_path") => duckdb_search_path(path),
        _ => conn.home_path(),
    }
}

/// DuckDB's search path for PostgreSQL's `path` (`"$user"` left out: no schema has a user's
/// name).
fn duckdb_search_path(path: &str) -> String {
    let schemas: Vec<String> = settings::parse_search_path(path)
        .into_iter()
        .filter(|s| s != "$user")
        .map(|s| crate::storage::names::quote_ident(&s))
        .collect();
    schemas.join(",")
}

/// `SET [LOCAL] search_path …` (`Some((Some(path), local))`, PostgreSQL's form) or `RESET
/// search_path`, `SET search_path TO DEFAULT` (`Some((None, _))`) in a workspace.
fn search_path_statement(sql: &str) -> Option<(Option<String>, bool)> {
    if sql.len() > 4096 || !sql.to_ascii_lowercase().contains("search_path") {
        return None;
    }
    let first = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next()?.to_ascii_lowercase();
    if first != "set" && first != "reset" {
        return None;
    }
    let mut statements = gateway::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let settings = SessionSettings::new("", &Default::default());
    let compat = CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    match gateway::plan(statements.remove(0), &compat).ok()? {
        Plan::Set { name, value, local, call: false } if name.eq_ignore_ascii_case("search_path") => {
            Some((value, local))
        }
        Plan::Reset(name) if name.eq_ignore_ascii_case("search_path") => Some((None, false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_parameters_are_the_sessions_and_engine_settings_stay_duckdbs() {
        for sql in [
            "SET extra_float_digits = 3",
            "SET DateStyle = 'ISO'",
            "set application_name to 'x'",
            "SET SESSION TIME ZONE 'UTC'",
            "SHOW TimeZone",
            "SHOW transaction isolation level",
            "RESET ALL",
            "RESET statement_timeout",
            "SET statement_timeout = 100",
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET NAMES 'UTF8'",
            "SHOW ALL",
            "SHOW TIME ZONE",
            "DISCARD ALL",
            "DEALLOCATE ALL",
            "deallocate prepare all;",
        ] {
            assert!(session_statement(sql).is_some(), "{sql}");
        }
        for sql in [
            "SET memory_limit = '100GB'",
            "SET threads = 64",
            "SET enable_external_access = true",
            "SET search_path = 'x'",
            "SELECT 1",
            "SET x = 1; SET threads = 1",
            "SHOW TABLES",
            "DEALLOCATE x",
            "DEALLOCATE PREPARE x",
            "DEALLOCATE ALL x",
        ] {
            assert!(session_statement(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn leading_comments_do_not_hide_the_statement() {
        assert_eq!(tag_for("-- a model\n/* x /* nested */ */ insert into t values (1)", 1).command, "INSERT");
        assert_eq!(transaction_effect("/* dbt */ BEGIN"), Some(true));
        assert!(returns_rows("-- q\nSELECT 1"));
        assert!(!returns_rows("-- q\nINSERT INTO t VALUES (1)"));
        assert!(transaction_warning("BEGIN", true).is_some());
        assert!(transaction_warning("BEGIN", false).is_none());
        assert!(transaction_warning("COMMIT", false).is_some());
        assert!(transaction_warning("COMMIT", true).is_none());
        assert_eq!(savepoint_statement("ROLLBACK TO SAVEPOINT _pg3_1"), Some(SavepointStatement::RollbackTo));
        assert_eq!(savepoint_statement("rollback work to x"), Some(SavepointStatement::RollbackTo));
        assert_eq!(savepoint_statement("RELEASE _pg3_1"), Some(SavepointStatement::Release));
        assert_eq!(savepoint_statement("ROLLBACK"), None);
        assert_eq!(transaction_effect("ROLLBACK TO SAVEPOINT x"), None);
        assert!(reads_only("-- q\n(SELECT 1)") && !reads_only("INSERT INTO t VALUES (1) RETURNING *"));
    }

    #[test]
    fn a_sessions_macros_are_temporary_never_written_to_the_workspace_file() {
        for sql in personality_sql("ws_1") {
            assert!(sql.starts_with("CREATE OR REPLACE TEMP MACRO"), "{sql}");
        }
    }

    #[test]
    fn tags_follow_postgres() {
        assert_eq!(tag_for("create table t (a int)", 0), CommandTag::new("CREATE TABLE"));
        assert_eq!(tag_for("CREATE OR REPLACE TABLE t AS SELECT 1", 1), CommandTag::new("SELECT").with_rows(1));
        assert_eq!(
            tag_for("create temp table t as (select 1) with no data", 0),
            CommandTag::new("SELECT").with_rows(0)
        );
        assert_eq!(tag_for("CREATE TABLE t AS FROM x", 2), CommandTag::new("SELECT").with_rows(2));
        assert_eq!(
            tag_for("CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS (a + 1))", 0),
            CommandTag::new("CREATE TABLE")
        );
        assert_eq!(tag_for("insert into t values (1)", 3), CommandTag::new("INSERT").with_oid(0).with_rows(3));
        assert_eq!(tag_for("drop view v", 0), CommandTag::new("DROP VIEW"));
        assert_eq!(tag_for("begin", 0), CommandTag::new("BEGIN"));
    }
}
