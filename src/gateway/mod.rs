//! The statement gateway: every statement of a storage session is parsed here, checked against
//! what storage sessions may do, and turned into a plan the Postgres front carries out. Nothing
//! reaches DuckDB that this module did not produce.

mod byte_functions;
mod canonical;
pub mod compat;
pub mod copy;
mod cursors;
mod datetime_format;
mod ddl;
pub mod dml;
mod functions;
mod jsonb_rewrite;
pub use functions::set_engine_functions;
pub mod lineage;
pub mod lookup;
pub mod nesting;
pub mod oracle;
pub mod pg_catalog;
pub mod pg_rules;
mod prepared;
pub mod procedures;
pub(crate) mod query;
pub mod settings;
pub mod time_zone;
pub mod viewdef;
pub mod views;

use std::ops::ControlFlow;

use sqlparser::ast::{DataType, Expr, ObjectName, Set, Statement, Value};
use sqlparser::dialect::{DuckDbDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

use crate::error::{Error, Result, SqlState};

pub use compat::CompatValues;
pub use cursors::{WorkspaceCursor, workspace_cursor};
pub use ddl::{TEMPORARY_BUCKET, plan_view_query};
pub use prepared::{
    MAX_PREPARED, MAX_PREPARED_BYTES, MAX_PREPARED_NODES, SqlPrepared, bind as bind_prepared, declared_types_as_casts,
    expression_count as statement_expressions, prepared_name, room_for as prepared_room_for,
};
pub use procedures::CallPlan;
pub use query::{ConstantRow, QueryPlan, RenderedQuery, ServerRelation, explain_options_as_engine};

/// A parameter type the gateway could infer from the statement (`$1::int`), for clients that
/// ask the server for parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Unknown,
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Date,
    Timestamp,
    TimestampTz,
    Bytea,
}

pub(crate) fn cast_param_type(data_type: &DataType) -> ParamType {
    let name = data_type.to_string().to_ascii_lowercase();
    let base = name.split('(').next().unwrap_or("").trim();
    match base {
        "bool" | "boolean" => ParamType::Bool,
        "smallint" | "int2" => ParamType::Int2,
        "int" | "integer" | "int4" => ParamType::Int4,
        "bigint" | "int8" => ParamType::Int8,
        "real" | "float4" => ParamType::Float4,
        "double" | "double precision" | "float8" | "float" => ParamType::Float8,
        "numeric" | "decimal" => ParamType::Numeric,
        "text" | "varchar" | "character varying" | "string" | "char" | "character" => ParamType::Text,
        "date" => ParamType::Date,
        "timestamp" | "timestamp without time zone" => ParamType::Timestamp,
        "timestamptz" | "timestamp with time zone" => ParamType::TimestampTz,
        "bytea" | "blob" => ParamType::Bytea,
        _ => ParamType::Unknown,
    }
}

/// What to do with one statement.
#[derive(Debug, Clone)]
pub enum Plan {
    Query(QueryPlan),
    /// A row of literals, answered without the engine.
    Constant(ConstantRow),
    Call(CallPlan),
    /// `BEGIN` / `START TRANSACTION`; `read_only` when it names an access mode, `isolation`
    /// when it names a level (as `transaction_isolation` spells it); `tag` the command tag of
    /// how it was written.
    Begin {
        read_only: Option<bool>,
        isolation: Option<&'static str>,
        tag: &'static str,
    },
    /// `SET TRANSACTION …` (`session`: `SET SESSION CHARACTERISTICS AS TRANSACTION …`);
    /// `read_only` when it names an access mode, `isolation` a level.
    SetTransaction {
        read_only: Option<bool>,
        isolation: Option<&'static str>,
        session: bool,
    },
    Commit,
    Rollback,
    /// `SET [LOCAL] name = value`; `value` None: `SET name TO DEFAULT`. `local`: until the
    /// transaction block ends. `call`: written `SELECT set_config(name, value, local)`, which
    /// answers the new value as a row.
    Set {
        name: String,
        value: Option<String>,
        local: bool,
        call: bool,
    },
    /// `RESET name`.
    Reset(String),
    /// `DECLARE name CURSOR [WITH HOLD] FOR query`: the query starts; `FETCH` takes its rows.
    /// `statement`: the declaration as `pg_cursors` shows it.
    DeclareCursor {
        name: String,
        query: QueryPlan,
        hold: bool,
        /// `BINARY`: `FETCH` answers in binary over the simple protocol.
        binary: bool,
        statement: String,
    },
    /// `FETCH` / `MOVE [FORWARD] [n | ALL | NEXT] [FROM] name`; `count` None: every row left.
    /// A MOVE (`only_move`) skips the rows and answers their count.
    Fetch {
        name: String,
        count: Option<u64>,
        only_move: bool,
    },
    /// `CLOSE name`, or every cursor (`CLOSE ALL`).
    CloseCursor(Option<String>),
    ResetAll,
    Show(String),
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    ReleaseSavepoint(String),
    /// `ROLLBACK TO [SAVEPOINT] name`: undoes the writes since, and leaves a failed transaction
    /// usable again.
    RollbackToSavepoint(String),
    /// Accepted and answered with a tag, nothing else (`DISCARD ALL`, `UNLISTEN`).
    NoOp(&'static str),
    /// `PREPARE name [(types)] AS statement` (checked by planning it once).
    Prepare {
        name: String,
        prepared: Box<SqlPrepared>,
        /// The statement as planned then, its tables looked up when PREPARE runs.
        checked: Box<Plan>,
    },
    /// `EXECUTE name[(arguments)]`: the prepared statement with the arguments bound, planned
    /// when it runs.
    Execute {
        name: String,
        arguments: Vec<Expr>,
    },
    /// `DEALLOCATE [PREPARE] name` (None: `ALL`).
    Deallocate(Option<String>),
    CreateBucket {
        bucket: String,
        if_not_exists: bool,
    },
    DropBuckets {
        buckets: Vec<String>,
        cascade: bool,
        if_exists: bool,
    },
    CreateTable {
        spec: crate::storage::TableSpec,
        if_not_exists: bool,
    },
    DropTables {
        tables: Vec<crate::storage::TableName>,
        if_exists: bool,
    },
    /// `CREATE VIEW`: the query, checked now and expanded for the creator to learn its columns.
    CreateView {
        spec: crate::storage::ViewSpec,
        query: QueryPlan,
    },
    DropViews {
        views: Vec<crate::storage::TableName>,
        if_exists: bool,
    },
    /// `CREATE TABLE t AS query`: a table with the query's columns, filled by it, in one
    /// transaction (the session's, or one of its own).
    CreateTableAs {
        spec: crate::storage::TableSpec,
        /// The query, to learn its columns.
        query: query::QueryPlan,
        /// `INSERT INTO t query`; `None` for `WITH NO DATA`.
        insert: Option<Box<dml::WritePlan>>,
        if_not_exists: bool,
    },
    /// `ALTER TABLE t RENAME TO u` (catalog only: files are named by id).
    RenameTable {
        table: crate::storage::TableName,
        to: String,
        if_exists: bool,
    },
    /// `ALTER TABLE`: every change in one atomic rebuild.
    AlterTable {
        table: crate::storage::TableName,
        changes: Vec<crate::storage::schema::Change>,
        if_exists: bool,
    },
    Write(Box<dml::WritePlan>),
    /// `COPY … FROM STDIN`: the client streams rows into a table.
    CopyIn(Box<copy::CopyInPlan>),
    /// `COPY … TO STDOUT`: rows of a read, streamed as text or CSV.
    CopyOut(Box<copy::CopyOutPlan>),
}

impl Plan {
    /// Whether the plan changes storage (and so cannot run inside a transaction block).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Plan::Call(_)
                | Plan::CopyIn(_)
                | Plan::CreateBucket { .. }
                | Plan::DropBuckets { .. }
                | Plan::CreateTable { .. }
                | Plan::DropTables { .. }
                | Plan::CreateView { .. }
                | Plan::DropViews { .. }
                | Plan::AlterTable { .. }
                | Plan::RenameTable { .. }
                | Plan::CreateTableAs { .. }
                | Plan::Write(_)
        )
    }

    /// A bounded label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Plan::Query(q) if q.tag == "EXPLAIN" => "explain",
            Plan::Query(_) | Plan::Constant(_) => "select",
            Plan::Call(_) => "call",
            Plan::Begin { .. } | Plan::SetTransaction { .. } | Plan::Commit | Plan::Rollback => "transaction",
            Plan::Set { .. } | Plan::Reset(_) | Plan::ResetAll => "set",
            Plan::DeclareCursor { .. } | Plan::Fetch { .. } | Plan::CloseCursor(_) => "cursor",
            Plan::Show(_) => "show",
            Plan::Savepoint(_) | Plan::ReleaseSavepoint(_) | Plan::RollbackToSavepoint(_) => "transaction",
            Plan::NoOp(_) | Plan::Prepare { .. } | Plan::Deallocate(_) => "utility",
            Plan::Execute { .. } => "execute",
            Plan::CreateBucket { .. }
            | Plan::CreateTable { .. }
            | Plan::CreateView { .. }
            | Plan::CreateTableAs { .. } => "create",
            Plan::DropBuckets { .. } | Plan::DropTables { .. } | Plan::DropViews { .. } => "drop",
            Plan::AlterTable { .. } | Plan::RenameTable { .. } => "alter",
            Plan::Write(w) => w.kind.label(),
            Plan::CopyIn(_) => "copy_in",
            Plan::CopyOut(_) => "copy_out",
        }
    }
}

/// A bounded label for a statement that failed before it had a plan.
pub fn statement_kind(statement: &Statement) -> &'static str {
    match statement {
        Statement::Query(_) => "select",
        Statement::Explain { .. } => "explain",
        Statement::Call(_) => "call",
        Statement::StartTransaction { .. } | Statement::Commit { .. } | Statement::Rollback { .. } => "transaction",
        Statement::Set(_) | Statement::Reset(_) => "set",
        Statement::ShowVariable { .. } => "show",
        Statement::CreateSchema { .. } | Statement::CreateTable(_) | Statement::CreateView(_) => "create",
        Statement::Drop { .. } => "drop",
        Statement::AlterTable(_) => "alter",
        Statement::Insert(_) => "insert",
        Statement::Update(_) => "update",
        Statement::Delete(_) => "delete",
        Statement::Truncate(_) => "truncate",
        Statement::Copy { .. } => "copy",
        _ => "other",
    }
}

/// `database.schema.table` names the session's own database the way dbt writes every name:
/// the database part goes (another database's is refused with `0A000`, as PostgreSQL refuses
/// cross-database references).
fn own_database_names(statement: &mut Statement, database: &str) -> Result<()> {
    let own = |name: &mut ObjectName| -> Result<()> {
        if name.0.len() != 3 {
            return Ok(());
        }
        let Some(first) = name.0[0].as_ident() else { return Ok(()) };
        let named = if first.quote_style.is_some() { first.value.clone() } else { first.value.to_lowercase() };
        if named != database {
            return Err(Error::unsupported(format!("cross-database references are not implemented: {name}"))
                .with_sqlstate(SqlState::FeatureNotSupported));
        }
        name.0.remove(0);
        Ok(())
    };
    // names the visitor does not count as relations
    match statement {
        Statement::Drop { names, .. } => names.iter_mut().try_for_each(own)?,
        Statement::AlterTable(alter) => own(&mut alter.name)?,
        _ => {}
    }
    match sqlparser::ast::visit_relations_mut(statement, |name| match own(name) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    }) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Casts each `$n` of a prepared statement to the type its Parse message declared for it (by
/// PostgreSQL type name: `numeric`, `int4`, …), as PostgreSQL types such a parameter. DuckDB
/// would otherwise prepare `amount * $1` without knowing `$1`'s type, and refuse it as
/// ambiguous. Text types and undeclared parameters stay as they are: DuckDB infers those from
/// where they stand. Only queries and DML take casts (a procedure's arguments do not).
pub fn declare_parameter_types(statement: &mut Statement, declared: &[Option<&str>]) {
    if !matches!(statement, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)) {
        return;
    }
    let sql_type = |pg_name: &str| -> Option<DataType> {
        Parser::new(&PostgreSqlDialect {}).try_with_sql(declared_sql_type(pg_name)?).ok()?.parse_data_type().ok()
    };
    untyped_select_parameters_as_text(statement, declared);
    let types: Vec<Option<DataType>> = declared.iter().map(|d| d.and_then(sql_type)).collect();
    if types.iter().all(Option::is_none) {
        return;
    }
    let _ = sqlparser::ast::visit_expressions_mut(statement, |expr| {
        if let Expr::Value(v) = expr
            && let Value::Placeholder(p) = &v.value
            && let Some(Some(data_type)) = parameter_position(p).and_then(|i| types.get(i))
        {
            let placeholder = std::mem::replace(expr, Expr::Value(Value::Null.into()));
            *expr = Expr::Cast {
                kind: sqlparser::ast::CastKind::DoubleColon,
                expr: Box::new(placeholder),
                data_type: data_type.clone(),
                format: None,
            };
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The 0-based position of the parameter a placeholder (`$3`) names, within the parameters a
/// statement may have.
fn parameter_position(placeholder: &str) -> Option<usize> {
    let n = placeholder.strip_prefix('$')?.parse::<usize>().ok()?;
    (1..=crate::engine::MAX_PARAMS).contains(&n).then(|| n - 1)
}

/// The engine's type for a parameter a Parse message declared as `pg_name` (None: text types
/// and types DuckDB infers better from where the parameter stands).
fn declared_sql_type(pg_name: &str) -> Option<&'static str> {
    Some(match pg_name {
        "numeric" => "DECIMAL(38,9)",
        "int2" => "SMALLINT",
        "int4" => "INTEGER",
        "int8" => "BIGINT",
        "float4" => "REAL",
        "float8" => "DOUBLE PRECISION",
        "bool" => "BOOLEAN",
        "date" => "DATE",
        "time" => "TIME",
        "timestamp" => "TIMESTAMP",
        "timestamptz" => "TIMESTAMP WITH TIME ZONE",
        "uuid" => "UUID",
        _ => return None,
    })
}

/// A workspace statement's text with each `$n` whose type its Parse message declared cast to
/// that type (see [`declare_parameter_types`]), edited token by token so that nothing else of
/// the text changes (DuckDB's reading of a DML statement cannot be compared with the gateway
/// parser's). None: nothing to cast, or the text does not tokenize.
pub fn cast_declared_placeholders(sql: &str, declared: &[Option<&str>]) -> Option<String> {
    use sqlparser::tokenizer::Token;
    let types: Vec<Option<&'static str>> = declared.iter().map(|d| d.and_then(declared_sql_type)).collect();
    if types.iter().all(Option::is_none) {
        return None;
    }
    let mut edits = Vec::new();
    for (token, start) in located_tokens(sql)? {
        let Token::Placeholder(placeholder) = &token else { continue };
        let Some(data_type) = parameter_position(placeholder).and_then(|i| types.get(i).copied().flatten()) else {
            continue;
        };
        edits.push((start, placeholder.len(), format!("CAST({placeholder} AS {data_type})")));
    }
    edit_text(sql, &edits)
}

/// The significant tokens of `sql` (no whitespace or comments) with the byte offset each
/// starts at (None: the text does not tokenize).
fn located_tokens(sql: &str) -> Option<Vec<(sqlparser::tokenizer::Token, usize)>> {
    use sqlparser::tokenizer::Token;
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let line_starts: Vec<usize> = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let mut located = Vec::with_capacity(tokens.len());
    // (line, column, byte offset) of the previous token: tokens come in order, so each offset
    // is found from the previous one, not from its line's start (quadratic on one long line:
    // 42 s for a 65 KB line)
    let mut at = (usize::MAX, 0usize, 0usize);
    for token in tokens {
        if matches!(token.token, Token::Whitespace(_) | Token::EOF) {
            continue;
        }
        let line = usize::try_from(token.span.start.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(token.span.start.column).ok()?.checked_sub(1)?;
        if line != at.0 || column < at.1 {
            at = (line, 0, *line_starts.get(line)?);
        }
        let skip = column - at.1;
        let offset = if skip == 0 { 0 } else { sql.get(at.2..)?.char_indices().nth(skip)?.0 };
        at = (line, column, at.2 + offset);
        located.push((token.token, at.2));
    }
    Some(located)
}

/// `sql` with each (start, length, replacement) applied, checked to replace what they say;
/// None when there are none or one does not fit.
fn edit_text(sql: &str, edits: &[(usize, usize, String)]) -> Option<String> {
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16 * edits.len());
    let mut copied = 0;
    for (start, length, replacement) in edits {
        if *start < copied || sql.get(*start..start + length).is_none() {
            return None;
        }
        out.push_str(&sql[copied..*start]);
        out.push_str(replacement);
        copied = start + length;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// `sql` with the words PostgreSQL takes as plain names but DuckDB's grammar keeps for types
/// and functions (`at`, `map`, `struct`, `columns`, …: pandas writes a column `at` unquoted)
/// quoted where they stand as names: not as `AT TIME ZONE`, a function call, a type after
/// `::`, or a join kind. For a workspace text DuckDB refused as a syntax error; DuckDB then
/// judges the result like any other text. None: no such word.
pub fn quote_duckdb_keywords(sql: &str) -> Option<String> {
    use sqlparser::tokenizer::Token;
    let tokens = located_tokens(sql)?;
    let word = |i: usize| match tokens.get(i) {
        Some((Token::Word(w), _)) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
        _ => None,
    };
    let mut edits = Vec::new();
    for (i, (token, start)) in tokens.iter().enumerate() {
        let Token::Word(w) = token else { continue };
        if w.quote_style.is_some() {
            continue;
        }
        let lower = w.value.to_ascii_lowercase();
        let next = tokens.get(i + 1).map(|(t, _)| t);
        let next_word = word(i + 1);
        let after_cast = i > 0 && matches!(tokens.get(i - 1), Some((Token::DoubleColon, _)));
        let name = match lower.as_str() {
            "at" => !matches!(next_word.as_deref(), Some("time" | "local")),
            "map" | "struct" | "columns" | "try_cast" | "unpack" => {
                !after_cast && !matches!(next, Some(Token::LParen | Token::LBrace | Token::LBracket))
            }
            "semi" | "anti" | "asof" | "positional" => next_word.as_deref() != Some("join"),
            _ => false,
        };
        if name {
            edits.push((*start, w.value.len(), format!("\"{}\"", w.value)));
        }
    }
    edit_text(sql, &edits)
}

/// The type each `$n` of a statement is cast to, as PostgreSQL infers a parameter's type from
/// its cast (`$1::int` is an int4): one entry per parameter up to the highest cast one.
pub fn parameter_casts(statement: &Statement) -> Vec<ParamType> {
    let mut types = Vec::new();
    let _ = sqlparser::ast::visit_expressions(statement, |expr| {
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && let Expr::Value(v) = inner.as_ref()
            && let Value::Placeholder(p) = &v.value
            && let Some(index) = parameter_position(p)
        {
            if types.len() <= index {
                types.resize(index + 1, ParamType::Unknown);
            }
            types[index] = cast_param_type(data_type);
        }
        ControlFlow::<()>::Continue(())
    });
    types
}

/// A parameter the client sent untyped (or as text) where PostgreSQL resolves it as text is
/// text: a select list's `$n` (of any query level: a derived table's, a CTE's, a set
/// operation's branch) and an operand of `||`. DuckDB would guess INTEGER there and describe a
/// column the value then does not fit. A select item keeps PostgreSQL's name for it, `?column?`.
fn untyped_select_parameters_as_text(statement: &mut Statement, declared: &[Option<&str>]) {
    use sqlparser::ast::{BinaryOperator, Query, SelectItem, SetExpr, VisitMut, VisitorMut};
    /// The text type an untyped or text-declared `$n` (possibly parenthesized) becomes.
    fn text_type(expr: &Expr, declared: &[Option<&str>]) -> Option<DataType> {
        let mut inner = expr;
        while let Expr::Nested(nested) = inner {
            inner = nested;
        }
        let Expr::Value(v) = inner else { return None };
        let Value::Placeholder(p) = &v.value else { return None };
        let index = parameter_position(p)?;
        match declared.get(index).copied().flatten() {
            None | Some("text" | "unknown") => Some(DataType::Text),
            Some("varchar") => Some(DataType::Varchar(None)),
            Some(_) => None,
        }
    }
    fn as_text(expr: &Expr, data_type: DataType) -> Expr {
        Expr::Cast {
            kind: sqlparser::ast::CastKind::DoubleColon,
            expr: Box::new(expr.clone()),
            data_type,
            format: None,
        }
    }
    fn body(set: &mut SetExpr, declared: &[Option<&str>]) {
        match set {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    let (expr, alias) = match item {
                        SelectItem::UnnamedExpr(expr) => (expr, None),
                        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.clone())),
                        _ => continue,
                    };
                    let Some(data_type) = text_type(expr, declared) else { continue };
                    *item = SelectItem::ExprWithAlias {
                        expr: as_text(expr, data_type),
                        alias: alias.unwrap_or_else(|| sqlparser::ast::Ident::with_quote('"', "?column?")),
                    };
                }
            }
            // (a nested query is visited as a query of its own)
            SetExpr::SetOperation { left, right, .. } => {
                body(left, declared);
                body(right, declared);
            }
            _ => {}
        }
    }
    struct Untyped<'a>(&'a [Option<&'a str>]);
    impl VisitorMut for Untyped<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            body(&mut query.body, self.0);
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if let Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } = expr {
                for operand in [left, right] {
                    if let Some(data_type) = text_type(operand, self.0) {
                        **operand = as_text(operand, data_type);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    if let Statement::Query(_) = statement {
        let _ = statement.visit(&mut Untyped(declared));
    }
}

/// Splits and parses SQL text. DuckDB's dialect first (the engine's language); PostgreSQL's
/// when that fails, since clients send PostgreSQL spellings (`E'…'`, `OPERATOR(…)`).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    // Tokens first: a text that may nest too deeply never becomes a tree (see `nesting`).
    let parse_with =
        |dialect: &dyn sqlparser::dialect::Dialect| -> Result<std::result::Result<Vec<Statement>, String>> {
            let tokens = match Tokenizer::new(dialect, sql).tokenize_with_location() {
                Ok(tokens) => tokens,
                Err(e) => return Ok(Err(e.to_string())),
            };
            nesting::check_nesting(&tokens)?;
            let mut tokens = tokens;
            cursors::normalize_short_forms(&mut tokens);
            Ok(Parser::new(dialect).with_tokens_with_locations(tokens).parse_statements().map_err(|e| e.to_string()))
        };
    let syntax_error = |message: String| {
        let message = message.trim_start_matches("sql parser error: ").to_owned();
        if message.contains("recursion limit exceeded") {
            return nesting::too_deep();
        }
        Error::invalid(format!("syntax error: {message}")).with_sqlstate(SqlState::SyntaxError)
    };
    match parse_with(&DuckDbDialect {})? {
        Ok(statements) => Ok(statements),
        Err(duck_err) => match parse_with(&PostgreSqlDialect {})? {
            Ok(statements) => Ok(statements),
            Err(_) => Err(syntax_error(duck_err)),
        },
    }
}

fn object_name_text(name: &ObjectName) -> String {
    query::name_parts(name).map(|p| p.join(".")).unwrap_or_else(|| name.to_string())
}

fn setting_value(values: &[Expr]) -> Result<Option<String>> {
    let render = |e: &Expr| -> String {
        match e {
            Expr::Value(v) => match &v.value {
                sqlparser::ast::Value::SingleQuotedString(s) | sqlparser::ast::Value::EscapedStringLiteral(s) => {
                    s.clone()
                }
                other => other.to_string(),
            },
            Expr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        }
    };
    match values {
        [] => Ok(None),
        [Expr::Identifier(i)] if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") => Ok(None),
        _ => Ok(Some(values.iter().map(render).collect::<Vec<_>>().join(", "))),
    }
}

fn refused(statement: &Statement) -> Error {
    let text = statement.to_string();
    let verb: String = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    Error::unsupported(format!("{verb} is not supported in a storage session"))
}

/// Plans one statement of a storage session.
pub fn plan(mut statement: Statement, compat: &CompatValues<'_>) -> Result<Plan> {
    own_database_names(&mut statement, compat.database)?;
    if let Statement::CreateTable(create) = &statement
        && create.query.is_some()
    {
        return ddl::create_table_as(create, compat);
    }
    if let Some(planned) = ddl::plan(&statement, &compat.settings.search_path()) {
        return planned;
    }
    match statement {
        Statement::Query(ref query) if settings::set_config_call(query).is_some() => {
            let (name, value, local) = settings::set_config_call(query).unwrap_or_default();
            Ok(Plan::Set { name, value, local, call: true })
        }
        Statement::Query(_) => {
            let plan = query::plan_query(statement, compat, "SELECT")?;
            Ok(match query::constant_row(plan.statement()) {
                // (with the types its text gives columns: `current_user` is a name)
                Some(mut row) => {
                    row.written_types = plan.written_types.clone();
                    Plan::Constant(row)
                }
                None => Plan::Query(plan),
            })
        }
        Statement::Explain { statement: ref inner, .. } if matches!(inner.as_ref(), Statement::Query(_)) => {
            query::plan_query(statement, compat, "EXPLAIN").map(Plan::Query)
        }
        Statement::CreateView(ref view) => ddl::create_view(view, compat),
        Statement::Call(ref function) => procedures::plan_call(function).map(Plan::Call),
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Truncate(_) => {
            dml::plan_write(statement, compat).map(|w| Plan::Write(Box::new(w)))
        }
        Statement::Copy { .. } => Ok(match copy::plan_copy(statement, compat)? {
            copy::CopyPlan::In(plan) => Plan::CopyIn(Box::new(plan)),
            copy::CopyPlan::Out(plan) => Plan::CopyOut(Box::new(plan)),
        }),
        Statement::StartTransaction { ref modes, begin, .. } => Ok(Plan::Begin {
            read_only: access_mode(modes),
            isolation: isolation_level(modes),
            tag: if begin { "BEGIN" } else { "START TRANSACTION" },
        }),
        Statement::Commit { .. } => Ok(Plan::Commit),
        Statement::Rollback { savepoint: None, .. } => Ok(Plan::Rollback),
        Statement::Rollback { savepoint: Some(ref name), .. } => {
            Ok(Plan::RollbackToSavepoint(cursors::cursor_name(name)))
        }
        Statement::Savepoint { ref name } => Ok(Plan::Savepoint(cursors::cursor_name(name))),
        Statement::ReleaseSavepoint { ref name } => Ok(Plan::ReleaseSavepoint(cursors::cursor_name(name))),
        Statement::Set(Set::SingleAssignment { scope, variable, values, .. }) => {
            let local = matches!(scope, Some(sqlparser::ast::ContextModifier::Local));
            let name = object_name_text(&variable);
            // a path's quoted names keep their quotes (`"In.c-x"`: case and punctuation)
            let value = if name.eq_ignore_ascii_case("search_path") {
                let quoted: Vec<Expr> = values
                    .iter()
                    .map(|v| match v {
                        Expr::Identifier(i) if i.quote_style.is_some() => Expr::value(
                            sqlparser::ast::Value::SingleQuotedString(format!("\"{}\"", i.value.replace('"', "\"\""))),
                        ),
                        other => other.clone(),
                    })
                    .collect();
                setting_value(&quoted)?
            } else {
                setting_value(&values)?
            };
            Ok(Plan::Set { name, value, local, call: false })
        }
        Statement::Set(Set::SetTimeZone { value, local }) => Ok(Plan::Set {
            name: "timezone".into(),
            value: setting_value(std::slice::from_ref(&value))?,
            local,
            call: false,
        }),
        Statement::Set(Set::SetNames { .. }) => Ok(Plan::NoOp("SET")),
        Statement::Set(Set::SetTransaction { ref modes, session, .. }) => {
            Ok(Plan::SetTransaction { read_only: access_mode(modes), isolation: isolation_level(modes), session })
        }
        Statement::ShowVariable { variable } => {
            let words = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
            // the SQL-standard spellings PostgreSQL also takes
            Ok(Plan::Show(match words.as_str() {
                "time zone" => "timezone".into(),
                "transaction isolation level" => "transaction_isolation".into(),
                "session authorization" => "session_authorization".into(),
                _ => words,
            }))
        }
        Statement::Reset(reset) => match reset.reset {
            sqlparser::ast::Reset::ALL => Ok(Plan::ResetAll),
            sqlparser::ast::Reset::ConfigurationParameter(name) => Ok(Plan::Reset(object_name_text(&name))),
            sqlparser::ast::Reset::SessionAuthorization => Ok(Plan::NoOp("RESET")),
        },
        Statement::Discard { .. } => Ok(Plan::NoOp("DISCARD ALL")),
        Statement::Prepare { name, data_types, statement } => {
            prepared::plan_prepare(&name, data_types, *statement, compat)
        }
        Statement::Execute { name: Some(name), parameters, immediate: false, into, using, .. }
            if into.is_empty() && using.is_empty() =>
        {
            prepared::plan_execute(&name, parameters)
        }
        Statement::Deallocate { name, .. } => Ok(prepared::plan_deallocate(&name)),
        // nothing is ever listened to (LISTEN is refused): connection pools reset with it
        Statement::UNLISTEN { .. } => Ok(Plan::NoOp("UNLISTEN")),
        Statement::Close { cursor } => Ok(Plan::CloseCursor(cursors::closed(cursor))),
        Statement::Declare { mut stmts, .. } if stmts.len() == 1 && stmts[0].for_query.is_some() => {
            cursors::plan_declare(stmts.remove(0), compat)
        }
        Statement::Fetch { name, direction, into, .. } if into.is_none() || cursors::is_move(&into) => {
            cursors::plan_fetch(cursors::cursor_name(&name), direction, into.is_some())
        }
        Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. }
        | Statement::DetachDuckDBDatabase { .. }
        | Statement::Install { .. }
        | Statement::Load { .. }
        | Statement::LoadData { .. }
        | Statement::Pragma { .. } => Err(Error::permission_denied(format!(
            "{} is not allowed in a storage session",
            statement.to_string().split_whitespace().next().unwrap_or("this statement")
        ))),
        other => Err(refused(&other)),
    }
}

#[cfg(test)]
mod tests;

/// The access mode a list of transaction modes names, if any (the last one wins, as in
/// PostgreSQL).
/// The isolation level `modes` name last, spelled as `transaction_isolation` shows it.
fn isolation_level(modes: &[sqlparser::ast::TransactionMode]) -> Option<&'static str> {
    use sqlparser::ast::{TransactionIsolationLevel as L, TransactionMode};
    modes.iter().rev().find_map(|m| match m {
        TransactionMode::IsolationLevel(L::ReadUncommitted) => Some("read uncommitted"),
        TransactionMode::IsolationLevel(L::ReadCommitted) => Some("read committed"),
        TransactionMode::IsolationLevel(L::RepeatableRead) => Some("repeatable read"),
        TransactionMode::IsolationLevel(L::Serializable) | TransactionMode::IsolationLevel(L::Snapshot) => {
            Some("serializable")
        }
        TransactionMode::AccessMode(_) => None,
    })
}

fn access_mode(modes: &[sqlparser::ast::TransactionMode]) -> Option<bool> {
    use sqlparser::ast::{TransactionAccessMode, TransactionMode};
    modes.iter().rev().find_map(|m| match m {
        TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => Some(true),
        TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => Some(false),
        TransactionMode::IsolationLevel(_) => None,
    })
}
