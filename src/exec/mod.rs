//! The execution layer: describes and runs a gateway plan (or a workspace's DuckDB statement)
//! for one session, whatever front it came from. The wire adapter (`pg/`) only speaks the
//! protocol: it parses messages, asks this layer, and encodes what it answers. The gateway only
//! plans. See docs/adr/0011-execution-layer.md.

pub(crate) mod catalog;
mod catalog_cache;
mod catalog_static;
mod copy_in;
mod cursors;
mod kept;
mod key_index;
mod procedures;
mod reads;
pub mod result_columns;
mod session;
mod workspace;
mod workspace_catalog;
mod workspace_cursors;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

pub use catalog::macros_sql;
pub use copy_in::CopyIn;
pub use session::{Session, SessionStart};
pub use workspace::{
    SavepointStatement, savepoint_statement, session_statement, transaction_effect, workspace_catalog_query,
    workspace_view_expander,
};

use crate::engine::{Param, Query, QueryStream, SqlOrigin};
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::procedures::ArgKind;
use crate::gateway::{self, ParamType, Plan};
use crate::relation::{ColumnType, RelationBuilder};
use crate::storage::Storage;

/// Carries out plans; one per server, shared by every session.
#[derive(Clone)]
pub struct Executor {
    storage: Storage,
    /// The longest a storage-session statement may run, in milliseconds (0: no limit).
    statement_timeout_ms: u64,
    /// Built catalog relations, kept while what they show holds.
    catalog_cache: Arc<catalog_cache::CatalogCache>,
    /// Tables' key indexes, answering point lookups (see `key_index`).
    key_indexes: Arc<key_index::KeyIndexes>,
}

/// The types a statement takes and answers, worked out without running it.
pub struct Shape {
    pub params: Vec<ParamShape>,
    /// None: the statement answers no rows.
    pub schema: Option<SchemaRef>,
}

/// What is known of one parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamShape {
    /// The engine's type, when it could tell (`Null` when it could not), and what the gateway
    /// saw in the statement's text (a cast, a compared column) otherwise.
    Engine(DataType, ParamType),
    /// A procedure's argument.
    Argument(ArgKind),
}

/// A command's completion tag, as PostgreSQL words it (`INSERT 0 3`, `CREATE TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTag {
    pub command: String,
    pub oid: Option<u32>,
    pub rows: Option<usize>,
}

impl CommandTag {
    pub fn new(command: &str) -> CommandTag {
        CommandTag { command: command.to_owned(), oid: None, rows: None }
    }

    pub fn with_rows(mut self, rows: usize) -> CommandTag {
        self.rows = Some(rows);
        self
    }

    pub fn with_oid(mut self, oid: u32) -> CommandTag {
        self.oid = Some(oid);
        self
    }
}

/// Where a result's batches come from.
pub enum Rows {
    Engine(QueryStream),
    Ready(Option<RecordBatch>),
    /// Rows gathered already (a write's `RETURNING`, a kept result).
    Batches(std::collections::VecDeque<RecordBatch>),
    /// The engine's, kept for the session as they pass (see `kept`).
    Keeping(Box<kept::KeepingRows>),
}

impl Rows {
    pub async fn next(&mut self) -> Option<Result<RecordBatch>> {
        match self {
            Rows::Engine(stream) => stream.next_batch().await,
            Rows::Ready(batch) => batch.take().map(Ok),
            Rows::Batches(batches) => batches.pop_front().map(Ok),
            Rows::Keeping(rows) => rows.next().await,
        }
    }
}

/// What a statement answers.
pub enum Outcome {
    Rows {
        schema: SchemaRef,
        rows: Rows,
        tag: &'static str,
        /// Sent in binary even over the simple protocol (a `BINARY` cursor's `FETCH`); the
        /// extended protocol's Bind chooses for itself, as in PostgreSQL.
        binary: bool,
    },
    Command(CommandTag),
    Begin(&'static str),
    End(&'static str),
    /// `ROLLBACK TO SAVEPOINT`: the transaction is usable again.
    Restored,
    /// Done, with a warning for the client (PostgreSQL's `BEGIN` inside a transaction block).
    Warning {
        tag: CommandTag,
        warning: Error,
    },
    /// `COPY … FROM STDIN`: the client sends the data next.
    CopyIn {
        copy: Box<CopyIn>,
        columns: usize,
    },
    /// `COPY … TO STDOUT`: rows as text or CSV lines.
    CopyOut {
        schema: SchemaRef,
        rows: Rows,
        format: gateway::copy::CopyFormat,
    },
}

fn constant_batch(row: &gateway::ConstantRow) -> Result<RecordBatch> {
    let columns: Vec<(&str, ColumnType)> = row.columns.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let mut b = RelationBuilder::new(&columns);
    b.row(row.values.clone());
    let batch = b.finish()?;
    if row.written_types.iter().all(Option::is_none) {
        return Ok(batch);
    }
    let schema = result_columns::mark_written(batch.schema(), &row.written_types);
    RecordBatch::try_new(schema, batch.columns().to_vec()).map_err(|e| Error::internal("typing a constant row", e))
}

/// An EXPLAIN's answer as PostgreSQL shapes it: one text column, `QUERY PLAN`, a row a line of
/// a text plan, one row of a JSON one (the engine answers its plan in its last column).
async fn query_plan(mut rows: Rows) -> Result<RecordBatch> {
    let mut b = RelationBuilder::new(&[(QUERY_PLAN, ColumnType::Text)]);
    while let Some(batch) = rows.next().await {
        let batch = batch?;
        let Some(text) = batch.columns().last() else { continue };
        let text = arrow::compute::cast(text, &arrow::datatypes::DataType::Utf8)
            .map_err(|e| Error::internal("reading a plan", e))?;
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| Error::internal("reading a plan", "the plan is not text"))?;
        for value in text.iter().flatten() {
            // (a plan in JSON, as a workspace's `EXPLAIN (FORMAT JSON)` asks, is one value)
            if value.trim_start().starts_with(['[', '{']) {
                b.row(vec![value.into()]);
                continue;
            }
            for line in value.lines() {
                b.row(vec![line.into()]);
            }
        }
    }
    b.finish()
}

/// The column of an EXPLAIN's answer.
pub const QUERY_PLAN: &str = "QUERY PLAN";

fn one_column(name: &str, value: &str) -> Result<RecordBatch> {
    let mut b = RelationBuilder::new(&[(name, ColumnType::Text)]);
    b.row(vec![value.into()]);
    b.finish()
}

/// `SHOW ALL`: every parameter with its value, as PostgreSQL lists them.
fn all_settings(settings: &gateway::settings::SessionSettings) -> Result<RecordBatch> {
    let mut b = RelationBuilder::new(&[
        ("name", ColumnType::Text),
        ("setting", ColumnType::Text),
        ("description", ColumnType::Text),
    ]);
    let mut all: Vec<(&str, &str)> = settings.all().collect();
    all.sort_by_key(|(name, _)| name.to_ascii_lowercase());
    for (name, value) in all {
        b.row(vec![gateway::settings::display_name(name).into(), value.into(), "".into()]);
    }
    b.finish()
}

fn ready(batch: RecordBatch, tag: &'static str) -> Outcome {
    Outcome::Rows { schema: batch.schema(), rows: Rows::Ready(Some(batch)), tag, binary: false }
}

impl Executor {
    pub fn new(storage: Storage, statement_timeout_ms: u64) -> Executor {
        Executor { storage, statement_timeout_ms, catalog_cache: Default::default(), key_indexes: Default::default() }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Plans a statement; a refusal counts and logs as a failed statement of its kind.
    pub fn plan(&self, session: &Session, statement: sqlparser::ast::Statement) -> Result<Plan> {
        let started = Instant::now();
        let kind = gateway::statement_kind(&statement);
        let settings = session.settings().clone();
        let planned = gateway::plan(statement, &session.compat(&settings));
        if let Err(e) = &planned {
            self.observe(session, kind, started, Some(e));
        }
        planned
    }

    /// The plan kept for the whole `text` of a simple query, made with the session's settings
    /// as they are now (storage sessions; a workspace's statements are DuckDB's to plan).
    pub fn kept_plan(&self, session: &Session, text: &str) -> Option<Plan> {
        if session.workspace.is_some() {
            return None;
        }
        let changes = session.settings_changes();
        session.kept_plans.lock().unwrap_or_else(|p| p.into_inner()).get(text, changes)
    }

    /// Keeps `plan`, made of the whole `text` with the settings at `changes`.
    pub fn keep_plan(&self, session: &Session, text: &str, changes: u64, plan: &Plan) {
        if session.workspace.is_none() {
            session.kept_plans.lock().unwrap_or_else(|p| p.into_inner()).keep(text, changes, plan);
        }
    }

    /// The plan `EXECUTE name(arguments)` runs: the statement PREPARE stored, the arguments
    /// bound, planned as the session's statements are (26000 when no such name is prepared).
    fn prepared_plan(&self, session: &Session, name: &str, arguments: &[sqlparser::ast::Expr]) -> Result<Plan> {
        let statement = {
            let prepared = session.prepared_statements();
            let found = prepared.get(name).ok_or_else(|| no_prepared_statement(name))?;
            gateway::bind_prepared(name, found, arguments)?
        };
        self.plan(session, statement)
    }

    /// Parameter and result types of a plan, worked out without running it.
    pub async fn describe(&self, session: &Session, plan: &Plan) -> Result<Shape> {
        crate::catalog::as_transaction(session.transaction_id(), self.describe_as_session(session, plan)).await
    }

    async fn describe_as_session(&self, session: &Session, plan: &Plan) -> Result<Shape> {
        let bound;
        let plan = match plan {
            Plan::Execute { name, arguments } => {
                bound = self.prepared_plan(session, name, arguments)?;
                &bound
            }
            other => other,
        };
        match plan {
            Plan::Query(q) if q.tag == "EXPLAIN" => Ok(Shape {
                params: self.describe_query(session, q).await?.params,
                schema: Some(RelationBuilder::new(&[(QUERY_PLAN, ColumnType::Text)]).schema()),
            }),
            Plan::Query(q) => self.describe_query(session, q).await,
            // the query's parameters; the rows come with FETCH
            Plan::DeclareCursor { query, .. } => {
                Ok(Shape { params: self.describe_query(session, query).await?.params, schema: None })
            }
            Plan::Constant(row) => Ok(Shape { params: vec![], schema: Some(constant_batch(row)?.schema()) }),
            // the query's parameters; the command answers no rows
            Plan::CreateTableAs { query, .. } => {
                Ok(Shape { params: self.describe_query(session, query).await?.params, schema: None })
            }
            Plan::Write(write) => {
                let relations = self.register_relations(session, &write.body.relations, true).await?;
                let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
                let search_path = session.search_path();
                let mut target = self
                    .storage
                    .resolve_reads(session.ctx.clone(), vec![write.target.clone()], search_path.clone())
                    .await?
                    .remove(0);
                // a table the transaction wrote (or altered): its own version
                if let Some(private) = session.transaction_read_view().written.remove(&target.file.table_id) {
                    target.file = private;
                }
                let (reads, mut tables) =
                    self.expand_reads(session, write.body.tables.clone(), search_path, None).await?;
                let columns: Vec<String> = target.table.columns.iter().map(|c| c.name.clone()).collect();
                let rendered = write.render(&target.file.data_ref(), &columns, &handles, &reads)?;
                tables.push(target.file);
                let rendered =
                    gateway::RenderedQuery { sql: rendered.sql, checks: Some(rendered.checks), labels: vec![] };
                let query = client_query(session, rendered, vec![], relations, tables);
                let described = self.storage.engine().describe(query).await?;
                // a write answers rows only with RETURNING (DuckDB describes those; others, a count)
                let schema = write.returning.then_some(described.schema);
                Ok(Shape { params: engine_params(&described.params, &write.body.param_types), schema })
            }
            Plan::Call(call) => Ok(Shape {
                params: call.param_kinds.iter().map(|k| ParamShape::Argument(*k)).collect(),
                schema: Some(RelationBuilder::new(call.spec.columns).schema()),
            }),
            Plan::Fetch { name, only_move: false, .. } if session.workspace.is_some() => {
                Ok(Shape { params: vec![], schema: Some(self.workspace_cursor_schema(session, name).await?) })
            }
            Plan::Fetch { name, only_move: false, .. } => {
                Ok(Shape { params: vec![], schema: Some(self.cursor_schema(session, name)?) })
            }
            Plan::Show(name) if name == "all" => {
                Ok(Shape { params: vec![], schema: Some(all_settings(&session.settings())?.schema()) })
            }
            Plan::Show(name) => Ok(Shape {
                params: vec![],
                schema: Some(one_column(gateway::settings::display_name(name), "")?.schema()),
            }),
            Plan::Set { call: true, .. } => {
                Ok(Shape { params: vec![], schema: Some(one_column("set_config", "")?.schema()) })
            }
            _ => Ok(Shape { params: vec![], schema: None }),
        }
    }

    async fn describe_query(&self, session: &Session, q: &gateway::QueryPlan) -> Result<Shape> {
        let (rendered, relations, tables, slots) = self.prepare_read(session, q, true).await?;
        let query = client_query(session, rendered, vec![], relations, tables);
        let described = self.storage.engine().describe(query).await?;
        let schema = result_columns::mark(described.schema, q, &slots);
        Ok(Shape { params: engine_params(&described.params, &q.param_types), schema: Some(schema) })
    }

    /// Runs `plan` with the statement timeout, metrics and the statement log line.
    /// `in_transaction`: the session is inside a transaction block.
    pub async fn run(
        &self,
        session: &Arc<Session>,
        plan: &Plan,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        let started = Instant::now();
        // EXECUTE runs as the statement it binds, planned now
        let bound;
        let plan = match plan {
            Plan::Execute { name, arguments } => {
                bound = self.prepared_plan(session, name, arguments).inspect_err(|e| {
                    self.observe(session, plan.kind(), started, Some(e));
                })?;
                &bound
            }
            other => other,
        };
        if plan.is_write() && session.read_only(in_transaction) {
            let e = Error::new(
                ErrorKind::FailedPrecondition,
                format!("cannot execute {} in a read-only transaction", what_runs(plan)),
            )
            .with_sqlstate(SqlState::ReadOnlySqlTransaction);
            self.observe(session, plan.kind(), started, Some(&e));
            return Err(e);
        }
        let transactional = matches!(
            plan,
            Plan::Write(_)
                | Plan::Call(_)
                | Plan::CopyIn(_)
                | Plan::CreateTable { .. }
                | Plan::DropTables { .. }
                | Plan::CreateBucket { .. }
                | Plan::DropBuckets { .. }
                | Plan::CreateView { .. }
                | Plan::DropViews { .. }
                | Plan::RenameTable { .. }
                | Plan::AlterTable { .. }
                | Plan::CreateTableAs { .. }
        );
        if in_transaction && plan.is_write() && !transactional {
            let e = Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "{} cannot run inside a transaction block yet; INSERT, UPDATE, DELETE, TRUNCATE, COPY, \
                     CREATE and DROP SCHEMA, CREATE, ALTER and DROP TABLE, CREATE and DROP VIEW can",
                    what_runs(plan)
                ),
            )
            .with_sqlstate(SqlState::ActiveSqlTransaction)
            .with_hint("run it outside the transaction block (or COMMIT first)");
            self.observe(session, plan.kind(), started, Some(&e));
            return Err(e);
        }
        // (a workspace session's catalog queries run under the workspace's limit)
        let server_limit = match &session.workspace {
            Some(ws) => ws.statement_timeout_secs.saturating_mul(1000),
            None => self.statement_timeout_ms,
        };
        let timeout_ms = effective_timeout_ms(session.settings().statement_timeout_ms(), server_limit);
        let timer = start_statement_timer(session, timeout_ms);
        // inside a transaction, the catalog shows the tables it created to it alone (its writes
        // begin with its first write statement, which must see what that statement creates)
        if in_transaction && transactional {
            drop(session.open_transaction(&self.storage));
        }
        let transaction = session.transaction_id();
        let execute = self.execute(session, plan, params, in_transaction);
        let execute = crate::storage::as_statement(session.canceller.clone(), execute);
        let mut result = crate::catalog::as_transaction(transaction, execute).await;
        hold_timer_while_streaming(&mut result, timer);
        let result = result.map_err(|e| explain_cancel(session, e));
        self.observe(session, plan.kind(), started, result.as_ref().err());
        result
    }

    /// Carries out one plan.
    async fn execute(
        &self,
        session: &Arc<Session>,
        plan: &Plan,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        let storage = &self.storage;
        // (a workspace session reads no storage snapshot: its queries here read its own catalog)
        if in_transaction
            && reads_a_snapshot(plan)
            && session.workspace.is_none()
            && session.repeatable_read()
            && !session.has_read_snapshot()
        {
            // REPEATABLE READ and SERIALIZABLE: the block reads one snapshot from its first query
            let snapshot = storage.take_read_snapshot(session.ctx.clone(), session.serializable()).await?;
            session.open_transaction(storage).set_read_snapshot(snapshot);
        }
        match plan {
            Plan::Query(q) if q.tag == "EXPLAIN" => {
                let stream = self.query(session, q, params).await?;
                Ok(ready(query_plan(Rows::Engine(stream)).await?, "EXPLAIN"))
            }
            Plan::Query(q) if !in_transaction => {
                let (schema, rows) = self.autocommit_read(session, q, params).await?;
                Ok(Outcome::Rows { schema, rows, tag: q.tag, binary: false })
            }
            Plan::Query(q) => {
                let stream = self.query(session, q, params).await?;
                Ok(Outcome::Rows {
                    schema: stream.schema.clone(),
                    rows: Rows::Engine(stream),
                    tag: q.tag,
                    binary: false,
                })
            }
            Plan::Constant(row) => Ok(ready(constant_batch(row)?, "SELECT")),
            Plan::Call(call) if in_transaction => {
                let mut transaction = session.open_transaction(storage);
                let canceller = &session.canceller;
                let batch =
                    procedures::call_in_transaction(storage, &session.ctx, &mut transaction, call, (params, canceller))
                        .await?;
                Ok(ready(batch, "CALL"))
            }
            Plan::Call(call) => Ok(ready(procedures::call(storage, &session.ctx, call, params).await?, "CALL")),
            Plan::Begin { read_only, isolation, tag } => {
                if !in_transaction {
                    session.begin_settings_block();
                    let read_only = read_only.unwrap_or_else(|| session.read_only(false));
                    session.read_only_transaction.store(read_only, Ordering::Release);
                    let mut settings = session.settings();
                    let level = match isolation {
                        Some(level) => (*level).to_owned(),
                        None => settings.get("default_transaction_isolation").unwrap_or("read committed").to_owned(),
                    };
                    settings.set("transaction_isolation", Some(&level))?;
                }
                Ok(Outcome::Begin(tag))
            }
            Plan::SetTransaction { read_only, isolation, session: true } => {
                let mut settings = session.settings();
                if let Some(read_only) = read_only {
                    let value = if *read_only { "on" } else { "off" };
                    settings.set("default_transaction_read_only", Some(value))?;
                }
                if let Some(level) = isolation {
                    settings.set("default_transaction_isolation", Some(level))?;
                    if !in_transaction {
                        settings.set("transaction_isolation", Some(level))?;
                    }
                }
                Ok(Outcome::Command(CommandTag::new("SET")))
            }
            Plan::SetTransaction { read_only, isolation, session: false } => {
                if !in_transaction {
                    let warning = outside_transaction("SET TRANSACTION", false).expect_err("outside a transaction");
                    return Ok(Outcome::Warning { tag: CommandTag::new("SET"), warning });
                }
                if let Some(level) = isolation {
                    isolation_still_settable(session, "transaction_isolation", in_transaction)?;
                    session.settings().set("transaction_isolation", Some(level))?;
                }
                if let Some(read_only) = read_only {
                    session.read_only_transaction.store(*read_only, Ordering::Release);
                }
                Ok(Outcome::Command(CommandTag::new("SET")))
            }
            Plan::Commit => {
                session.end_isolation();
                session.read_only_transaction.store(false, Ordering::Release);
                let committed = match session.take_transaction() {
                    Some(mut transaction) => {
                        match storage.drop_temporary(&mut transaction, session.ctx.clone(), &session.canceller).await {
                            Ok(()) => storage.commit(&session.ctx, transaction).await.map(|written| {
                                self.key_indexes_after_write(session, &written);
                            }),
                            Err(e) => {
                                storage.rollback(transaction).await;
                                Err(e)
                            }
                        }
                    }
                    None => Ok(()),
                };
                // a COMMIT that failed rolled back: held cursors the block declared close too
                cursors::end_of_transaction(session, committed.is_ok());
                session.end_settings_block(committed.is_ok());
                committed?;
                Ok(Outcome::End("COMMIT"))
            }
            Plan::Rollback => {
                cursors::end_of_transaction(session, false);
                session.end_isolation();
                session.end_settings_block(false);
                session.read_only_transaction.store(false, Ordering::Release);
                if let Some(transaction) = session.take_transaction() {
                    storage.rollback(transaction).await;
                }
                Ok(Outcome::End("ROLLBACK"))
            }
            Plan::DeclareCursor { name, query, hold, binary, statement } => {
                let declaration =
                    cursors::Declaration { name, hold: *hold, binary: *binary, statement, in_transaction };
                self.declare_cursor(session, declaration, query, params).await
            }
            Plan::Fetch { name, count, only_move: false } => self.fetch(session, name, *count).await,
            Plan::Fetch { name, count, only_move: true } => self.move_cursor(session, name, *count).await,
            Plan::CloseCursor(name) => self.close_cursor(session, name.as_deref()),
            Plan::Set { name, value, local, call } => {
                isolation_still_settable(session, name, in_transaction)?;
                if *local {
                    session.set_local(name, value.as_deref())?;
                } else {
                    session.settings().set(name, value.as_deref())?;
                }
                session.sync_isolation(in_transaction);
                if *call {
                    // set_config() answers the value as current_setting() now shows it (a
                    // local one outside a block lasts its statement: the value given)
                    let shown = match (local, session.in_settings_block()) {
                        (true, false) => value.clone().unwrap_or_default(),
                        _ => session.settings().get(name).unwrap_or_default().to_owned(),
                    };
                    return Ok(ready(one_column("set_config", &shown)?, "SELECT"));
                }
                Ok(Outcome::Command(CommandTag::new("SET")))
            }
            Plan::Reset(name) => {
                isolation_still_settable(session, name, in_transaction)?;
                session.settings().set(name, None)?;
                session.sync_isolation(in_transaction);
                Ok(Outcome::Command(CommandTag::new("RESET")))
            }
            Plan::ResetAll => {
                session.settings().reset_all();
                session.sync_isolation(in_transaction);
                Ok(Outcome::Command(CommandTag::new("RESET")))
            }
            Plan::Show(name) if name == "all" => Ok(ready(all_settings(&session.settings())?, "SHOW")),
            Plan::Show(name) => {
                let value = session.settings().get(name).map(str::to_owned);
                let value = value.ok_or_else(|| {
                    Error::not_found(format!("unrecognized configuration parameter \"{name}\""))
                        .with_sqlstate(SqlState::UndefinedObject)
                })?;
                Ok(ready(one_column(gateway::settings::display_name(name), &value)?, "SHOW"))
            }
            Plan::NoOp("DISCARD ALL") => {
                outside_transaction_block("DISCARD ALL", in_transaction)?;
                cursors::close_all(session);
                session.prepared_statements().clear();
                if session.workspace.is_some() {
                    self.workspace_cursor(session, gateway::WorkspaceCursor::Close(None), &[], false).await?;
                }
                Ok(Outcome::Command(CommandTag::new("DISCARD ALL")))
            }
            Plan::NoOp(tag) => Ok(Outcome::Command(CommandTag::new(tag))),
            Plan::Prepare { name, prepared, checked } => {
                // (a missing table is PREPARE's error, as in PostgreSQL)
                self.describe_as_session(session, checked).await?;
                let mut stored = session.prepared_statements();
                let held: Vec<(usize, usize)> = stored.values().map(|p| (p.bytes, p.nodes)).collect();
                if !gateway::prepared_room_for(&held, (prepared.bytes, prepared.nodes)) {
                    return Err(too_many_prepared());
                }
                if stored.contains_key(name) {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("prepared statement \"{name}\" already exists"),
                    )
                    .with_sqlstate(SqlState::DuplicatePreparedStatement));
                }
                stored.insert(name.clone(), (**prepared).clone());
                Ok(Outcome::Command(CommandTag::new("PREPARE")))
            }
            Plan::Deallocate(None) => {
                session.prepared_statements().clear();
                Ok(Outcome::Command(CommandTag::new("DEALLOCATE ALL")))
            }
            Plan::Deallocate(Some(name)) => match session.prepared_statements().remove(name) {
                Some(_) => Ok(Outcome::Command(CommandTag::new("DEALLOCATE"))),
                None => Err(no_prepared_statement(name)),
            },
            // (bound above)
            Plan::Execute { .. } => Err(Error::internal("EXECUTE", "a prepared statement was not bound")),
            Plan::Savepoint(name) => {
                outside_transaction("SAVEPOINT", in_transaction)?;
                let mut transaction = session.open_transaction(storage);
                transaction.savepoint(name.clone(), cursors::mark());
                Ok(Outcome::Command(CommandTag::new("SAVEPOINT")))
            }
            Plan::ReleaseSavepoint(name) => {
                outside_transaction("RELEASE SAVEPOINT", in_transaction)?;
                let mut transaction = session.open_transaction(storage);
                transaction.release_savepoint(name).await?;
                Ok(Outcome::Command(CommandTag::new("RELEASE")))
            }
            Plan::RollbackToSavepoint(name) => {
                outside_transaction("ROLLBACK TO SAVEPOINT", in_transaction)?;
                let mut transaction = session.open_transaction(storage);
                let mark = transaction.rollback_to_savepoint(name).await?;
                drop(transaction);
                // cursors declared since the savepoint close with what it undoes
                cursors::close_declared_since(session, mark);
                Ok(Outcome::Restored)
            }
            Plan::CreateBucket { bucket, if_not_exists } if in_transaction => {
                let (stage, name) = crate::storage::names::parse_bucket(bucket)?;
                crate::storage::names::refuse_reserved_bucket(&name)?;
                let mut transaction = session.open_transaction(storage);
                storage.create_bucket_in(&mut transaction, session.ctx.clone(), stage, name, *if_not_exists).await?;
                Ok(Outcome::Command(CommandTag::new("CREATE SCHEMA")))
            }
            Plan::CreateBucket { bucket, if_not_exists } => {
                let (stage, name) = crate::storage::names::parse_bucket(bucket)?;
                storage.create_bucket(session.ctx.clone(), stage, name, String::new(), *if_not_exists).await?;
                Ok(Outcome::Command(CommandTag::new("CREATE SCHEMA")))
            }
            Plan::DropBuckets { buckets, cascade, if_exists } if in_transaction => {
                let mut transaction = session.open_transaction(storage);
                for bucket in buckets {
                    let (ctx, canceller) = (session.ctx.clone(), &session.canceller);
                    let flags = (*cascade, *if_exists);
                    storage.drop_bucket_in(&mut transaction, ctx, bucket.clone(), flags, canceller).await?;
                }
                Ok(Outcome::Command(CommandTag::new("DROP SCHEMA")))
            }
            Plan::DropBuckets { buckets, cascade, if_exists } => {
                for bucket in buckets {
                    storage.drop_bucket(session.ctx.clone(), bucket.clone(), *cascade, *if_exists).await?;
                }
                Ok(Outcome::Command(CommandTag::new("DROP SCHEMA")))
            }
            Plan::CreateTable { spec, .. } | Plan::CreateTableAs { spec, .. }
                if spec.bucket == gateway::TEMPORARY_BUCKET && !in_transaction =>
            {
                Err(Error::unsupported(
                    "temporary tables live inside a transaction block here, and are dropped at its end",
                )
                .with_hint("BEGIN first; the table is gone after COMMIT or ROLLBACK"))
            }
            Plan::CreateTable { spec, if_not_exists } if in_transaction => {
                let spec = self.placed(session, spec).await?;
                let mut transaction = session.open_transaction(storage);
                let ctx = session.ctx.clone();
                storage.create_table_in(&mut transaction, ctx, spec, *if_not_exists, &session.canceller).await?;
                Ok(Outcome::Command(CommandTag::new("CREATE TABLE")))
            }
            Plan::CreateTable { spec, if_not_exists } => {
                storage.create_table(session.ctx.clone(), spec.clone(), *if_not_exists).await?;
                Ok(Outcome::Command(CommandTag::new("CREATE TABLE")))
            }
            Plan::Write(write) => self.write(session, write, params, in_transaction).await,
            Plan::CreateTableAs { spec, query, insert, if_not_exists } => {
                let insert = insert.as_deref();
                let spec = &self.placed(session, spec).await?;
                self.create_table_as(session, spec, query, (insert, params), *if_not_exists, in_transaction).await
            }
            Plan::RenameTable { table, to, if_exists } => {
                let search_path = session.search_path();
                let renamed = if in_transaction {
                    let mut transaction = session.open_transaction(storage);
                    storage
                        .rename_in(&mut transaction, session.ctx.clone(), table.clone(), search_path, to.clone())
                        .await
                } else {
                    storage.rename_table(session.ctx.clone(), table.clone(), search_path, to.clone()).await
                };
                match renamed {
                    Err(e) if *if_exists && e.state() == SqlState::UndefinedTable => {}
                    other => other?,
                }
                Ok(Outcome::Command(CommandTag::new("ALTER TABLE")))
            }
            Plan::AlterTable { table, changes, if_exists } => {
                let search_path = session.search_path();
                let (ctx, changes) = (session.ctx.clone(), changes.clone());
                let altered = if in_transaction {
                    let mut transaction = session.open_transaction(storage);
                    let canceller = &session.canceller;
                    storage.alter_table_in(&mut transaction, ctx, table.clone(), search_path, changes, canceller).await
                } else {
                    storage.alter_table(ctx, table.clone(), search_path, changes).await
                };
                match altered {
                    Err(e) if *if_exists && e.state() == SqlState::UndefinedTable => {}
                    other => other?,
                }
                Ok(Outcome::Command(CommandTag::new("ALTER TABLE")))
            }
            Plan::CopyIn(copy) => {
                let search_path = session.search_path();
                let columns = storage.copy_columns(&session.ctx, &copy.table, &search_path, &copy.columns).await?;
                let tmp = storage.engine().data_dir().join("tmp");
                let copy = CopyIn::start((**copy).clone(), search_path, &tmp, storage.max_copy_bytes()).await?;
                Ok(Outcome::CopyIn { copy: Box::new(copy), columns })
            }
            Plan::CopyOut(copy) => {
                let stream = self.query(session, &copy.query, params).await?;
                Ok(Outcome::CopyOut {
                    schema: stream.schema.clone(),
                    rows: Rows::Engine(stream),
                    format: copy.format.clone(),
                })
            }
            Plan::CreateView { spec, query } => {
                let creating = Some((spec.bucket.clone(), spec.name.clone()));
                let (refs, reads) =
                    self.expand_reads(session, query.tables.clone(), vec![spec.bucket.clone()], creating).await?;
                let expanded = crate::storage::ExpandedQuery { sql: query.render(&[], &refs)?, reads };
                if in_transaction {
                    let mut transaction = session.open_transaction(storage);
                    let id = transaction.id();
                    let replace = async {
                        if spec.or_replace {
                            // the view it replaces is set aside, as by DROP VIEW, until COMMIT
                            let name = crate::storage::TableName {
                                schema: Some(spec.bucket.clone()),
                                name: spec.name.clone(),
                            };
                            storage.drop_view_in(&mut transaction, session.ctx.clone(), name, vec![], true).await?;
                        }
                        storage.create_view_in(&mut transaction, session.ctx.clone(), spec.clone(), expanded).await
                    };
                    // the block's catalog reads (the view it set aside is gone for it), even when
                    // this statement opened the block's writes
                    crate::catalog::as_transaction(Some(id), replace).await?;
                    return Ok(Outcome::Command(CommandTag::new("CREATE VIEW")));
                }
                storage.create_view(session.ctx.clone(), spec.clone(), expanded).await?;
                Ok(Outcome::Command(CommandTag::new("CREATE VIEW")))
            }
            Plan::DropViews { views, if_exists } => {
                let search_path = session.search_path();
                self.all_exist(session, views, &search_path, *if_exists).await?;
                for view in views {
                    let (ctx, path) = (session.ctx.clone(), search_path.clone());
                    if in_transaction {
                        let mut transaction = session.open_transaction(storage);
                        storage.drop_view_in(&mut transaction, ctx, view.clone(), path, *if_exists).await?;
                    } else {
                        storage.drop_view(ctx, view.clone(), path, *if_exists).await?;
                    }
                }
                Ok(Outcome::Command(CommandTag::new("DROP VIEW")))
            }
            Plan::DropTables { tables, if_exists } if in_transaction => {
                let search_path = session.search_path();
                self.all_exist(session, tables, &search_path, *if_exists).await?;
                let mut transaction = session.open_transaction(storage);
                for table in tables {
                    let (ctx, path) = (session.ctx.clone(), search_path.clone());
                    let canceller = &session.canceller;
                    storage.drop_table_in(&mut transaction, ctx, table.clone(), path, *if_exists, canceller).await?;
                }
                Ok(Outcome::Command(CommandTag::new("DROP TABLE")))
            }
            Plan::DropTables { tables, if_exists } => {
                let search_path = session.search_path();
                self.all_exist(session, tables, &search_path, *if_exists).await?;
                for table in tables {
                    storage.drop_table(session.ctx.clone(), table.clone(), search_path.clone(), *if_exists).await?;
                }
                Ok(Outcome::Command(CommandTag::new("DROP TABLE")))
            }
        }
    }

    /// A new table's spec with its bucket where it goes: a `CREATE TEMPORARY TABLE`'s is the
    /// block's bucket of temporary tables (made on first use).
    async fn placed(&self, session: &Session, spec: &crate::storage::TableSpec) -> Result<crate::storage::TableSpec> {
        let mut spec = spec.clone();
        if spec.bucket == gateway::TEMPORARY_BUCKET {
            let mut transaction = session.open_transaction(&self.storage);
            spec.bucket = self.storage.temporary_bucket_of(&mut transaction, session.ctx.clone()).await?;
        }
        Ok(spec)
    }

    /// `DROP TABLE a, b` drops nothing when one of them is missing, as in PostgreSQL: every
    /// name is resolved before the first drop. (A drop racing another session's can still
    /// leave the list half done; one catalog transaction for the whole list comes with
    /// multi-statement transactions.)
    async fn all_exist(
        &self,
        session: &Session,
        names: &[crate::storage::TableName],
        search_path: &[String],
        if_exists: bool,
    ) -> Result<()> {
        if if_exists || names.len() < 2 {
            return Ok(());
        }
        self.storage.resolve_sources(session.ctx.clone(), names.to_vec(), search_path.to_vec()).await.map(|_| ())
    }

    /// Starts a read in the engine.
    async fn query(&self, session: &Session, q: &gateway::QueryPlan, params: &[Param]) -> Result<QueryStream> {
        let (rendered, relations, tables, slots) = self.prepare_read(session, q, false).await?;
        let query = client_query(session, rendered, params.to_vec(), relations, tables);
        let mut stream = self.storage.engine().query(query, &session.canceller).await?;
        stream.schema = result_columns::mark(stream.schema, q, &slots);
        // a workspace's catalog query has the workspace's result limit, as its sandbox does
        if let Some(ws) = &session.workspace {
            stream = stream.limited(ws.conn.max_result_bytes());
        }
        Ok(stream)
    }

    /// INSERT, UPDATE, DELETE, TRUNCATE: one atomic write of the storage layer.
    async fn write(
        &self,
        session: &Session,
        write: &gateway::dml::WritePlan,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        let relations = self.register_relations(session, &write.body.relations, false).await?;
        let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
        let search_path = session.search_path();
        let reads = self.write_reads(session, &write.body.tables, &search_path).await?;
        let request = crate::storage::WriteRequest {
            target: session.temporary_names(vec![write.target.clone()]).remove(0),
            reads,
            search_path,
            operation: write.kind.label(),
            deletes_all: write.deletes_all,
            handles: handles.clone(),
            returning: write.returning,
        };
        let plan = write.clone();
        let render = move |target: &crate::storage::WriteTarget, reads: &[String]| {
            plan.render(&target.data_ref, &target.columns, &handles, reads).map(|r| (r.sql, r.checks))
        };
        let (ctx, canceller) = (session.ctx.clone(), session.canceller.clone());
        let result = if in_transaction {
            let mut transaction = session.open_transaction(&self.storage);
            self.storage.write_table_in(&mut transaction, ctx, request, params.to_vec(), canceller, render).await?
        } else {
            self.storage.write_table(ctx, request, params.to_vec(), canceller, render).await?
        };
        drop(relations);
        if let Some(written) = &result.written {
            self.key_indexes_after_write(session, std::slice::from_ref(written));
        }
        if let Some((schema, batches)) = result.returned {
            let tag = match write.kind {
                gateway::dml::WriteKind::Insert => "INSERT 0",
                gateway::dml::WriteKind::Update => "UPDATE",
                gateway::dml::WriteKind::Delete | gateway::dml::WriteKind::Truncate => "DELETE",
            };
            return Ok(Outcome::Rows { schema, rows: Rows::Batches(batches.into()), tag, binary: false });
        }
        Ok(Outcome::Command(match write.kind {
            gateway::dml::WriteKind::Insert => CommandTag::new("INSERT").with_oid(0).with_rows(result.affected),
            gateway::dml::WriteKind::Update => CommandTag::new("UPDATE").with_rows(result.affected),
            gateway::dml::WriteKind::Delete => CommandTag::new("DELETE").with_rows(result.affected),
            gateway::dml::WriteKind::Truncate => CommandTag::new("TRUNCATE TABLE"),
        }))
    }

    /// `CREATE TABLE t AS query`: the table made with the query's columns and filled by it,
    /// in the session's transaction block or in one of its own (both or neither, as in
    /// PostgreSQL).
    async fn create_table_as(
        &self,
        session: &Session,
        spec: &crate::storage::TableSpec,
        query: &gateway::QueryPlan,
        (insert, params): (Option<&gateway::dml::WritePlan>, &[Param]),
        if_not_exists: bool,
        in_transaction: bool,
    ) -> Result<Outcome> {
        let storage = &self.storage;
        let search_path = session.search_path();
        let (refs, reads) = self.expand_reads(session, query.tables.clone(), search_path, None).await?;
        let expanded = crate::storage::ExpandedQuery { sql: query.render(&[], &refs)?, reads };
        let columns = storage.query_columns(&session.ctx, expanded, params.to_vec()).await?;
        let spec = crate::storage::TableSpec {
            columns: columns
                .into_iter()
                .map(|(name, type_name)| crate::storage::ColumnSpec {
                    name,
                    type_name,
                    not_null: false,
                    default_sql: None,
                })
                .collect(),
            ..spec.clone()
        };
        let filled = async {
            let id = {
                let mut transaction = session.open_transaction(storage);
                let ctx = session.ctx.clone();
                let created =
                    storage.create_table_in(&mut transaction, ctx, spec, if_not_exists, &session.canceller).await?;
                if !created {
                    // IF NOT EXISTS found the table: nothing is written, as in PostgreSQL
                    return Ok(Outcome::Command(CommandTag::new("SELECT").with_rows(0)));
                }
                transaction.id()
            };
            let Some(insert) = insert else { return Ok(Outcome::Command(CommandTag::new("SELECT").with_rows(0))) };
            // the new table is the transaction's alone: its INSERT resolves as the transaction
            crate::catalog::as_transaction(Some(id), self.write(session, insert, params, true)).await
        }
        .await;
        let rows = match filled {
            Ok(Outcome::Command(tag)) => tag.rows.unwrap_or(0),
            Ok(_) => 0,
            Err(e) => {
                if !in_transaction && let Some(transaction) = session.take_transaction() {
                    storage.rollback(transaction).await;
                }
                return Err(e);
            }
        };
        if !in_transaction && let Some(transaction) = session.take_transaction() {
            let written = storage.commit(&session.ctx, transaction).await?;
            self.key_indexes_after_write(session, &written);
        }
        Ok(Outcome::Command(CommandTag::new("SELECT").with_rows(rows)))
    }

    /// The end of a `COPY … FROM STDIN`: its rows written, as one atomic write or into the open
    /// transaction.
    pub async fn finish_copy_in(&self, session: &Session, copy: &mut CopyIn, in_transaction: bool) -> Result<u64> {
        if session.workspace.is_some() {
            return self.finish_workspace_copy(session, copy).await;
        }
        crate::catalog::as_transaction(
            session.transaction_id(),
            self.finish_copy_as_session(session, copy, in_transaction),
        )
        .await
        .map(|loaded| u64::try_from(loaded.imported_rows).unwrap_or(0))
    }

    async fn finish_copy_as_session(
        &self,
        session: &Session,
        copy: &mut CopyIn,
        in_transaction: bool,
    ) -> Result<crate::storage::loads::LoadResult> {
        let request = copy.finish().await?;
        // The data may have taken long to arrive: the token must still be valid when the rows
        // commit, not only when the COPY began.
        self.storage.revalidate(&session.ctx).await?;
        let (ctx, canceller) = (session.ctx.clone(), session.canceller.clone());
        if !in_transaction {
            let loaded = self.storage.load_table(ctx, request, canceller).await;
            self.key_indexes_after_write(session, &[]);
            return loaded;
        }
        let mut transaction = session.open_transaction(&self.storage);
        self.storage.load_table_in(&mut transaction, ctx, request, canceller).await
    }

    /// Counts and logs one statement.
    pub fn observe(&self, session: &Session, kind: &'static str, started: Instant, error: Option<&Error>) {
        let elapsed = started.elapsed();
        let outcome = match error {
            None => "ok",
            Some(e) => e.kind().label(),
        };
        metrics::counter!("duckstore_statements_total", "kind" => kind, "outcome" => outcome).increment(1);
        metrics::histogram!("duckstore_statement_duration_seconds", "kind" => kind).record(elapsed.as_secs_f64());
        match error {
            None => tracing::info!(
                target: "duckstore::statement",
                session = session.id,
                user = %session.ctx.user,
                kind,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                outcome,
            ),
            Some(e) => tracing::info!(
                target: "duckstore::statement",
                session = session.id,
                user = %session.ctx.user,
                kind,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                outcome,
                sqlstate = e.sqlstate(),
            ),
        }
    }
}

/// A client's statement, rendered by the gateway, for the engine to run in the session's place.
fn client_query(
    session: &Session,
    rendered: gateway::RenderedQuery,
    params: Vec<Param>,
    relations: Vec<crate::engine::RelationGuard>,
    tables: Vec<crate::engine::TableFile>,
) -> Query {
    Query {
        home: session.home(),
        sql: rendered.sql,
        params,
        relations,
        tables,
        origin: SqlOrigin::User,
        checks: rendered.checks,
        labels: rendered.labels,
    }
}

/// Parameter shapes from the engine's types, with the gateway's guesses behind them.
fn engine_params(engine: &[DataType], declared: &[ParamType]) -> Vec<ParamShape> {
    engine
        .iter()
        .enumerate()
        .map(|(i, t)| ParamShape::Engine(t.clone(), declared.get(i).copied().unwrap_or(ParamType::Unknown)))
        .collect()
}

/// A cancel caused by the statement timeout says so.
fn explain_cancel(session: &Session, e: Error) -> Error {
    if e.kind() == ErrorKind::Cancelled && session.timed_out.load(Ordering::Acquire) {
        Error::new(ErrorKind::Cancelled, "canceling statement due to statement timeout")
    } else {
        e
    }
}

/// The timeout a statement runs under: the session's `statement_timeout` may lower the
/// server's limit, never raise it (0 on either side: no limit from that side).
fn effective_timeout_ms(session_ms: u64, server_ms: u64) -> u64 {
    match (session_ms, server_ms) {
        (0, server) => server,
        (session, 0) => session,
        (session, server) => session.min(server),
    }
}

/// A new statement of `session` starts: earlier cancels no longer apply, and after `timeout_ms`
/// (0: never) the statement is cancelled — again every 100 ms until it ends (the caller aborts
/// the timer then, see `hold_timer_while_streaming`), since an interrupt that lands just before
/// DuckDB starts the query is cleared by it.
fn start_statement_timer(session: &Arc<Session>, timeout_ms: u64) -> Option<tokio::task::JoinHandle<()>> {
    session.timed_out.store(false, Ordering::Release);
    session.canceller.reset();
    (timeout_ms > 0).then(|| {
        let session = Arc::clone(session);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
            session.timed_out.store(true, Ordering::Release);
            loop {
                session.canceller.cancel();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    })
}

/// Aborts a statement's timeout timer when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The timeout covers a statement until its last row is sent: rows still streaming from the
/// engine (a query's or a `COPY … TO STDOUT`'s) keep the timer, anything else ends it now.
fn hold_timer_while_streaming(result: &mut Result<Outcome>, timer: Option<tokio::task::JoinHandle<()>>) {
    let Some(timer) = timer else { return };
    let guard = AbortOnDrop(timer);
    match result {
        Ok(Outcome::Rows { rows: Rows::Engine(stream), .. } | Outcome::CopyOut { rows: Rows::Engine(stream), .. }) => {
            stream.hold(Box::new(guard))
        }
        Ok(Outcome::Rows { rows: Rows::Keeping(rows), .. }) => rows.stream_mut().hold(Box::new(guard)),
        _ => {}
    }
}

/// The statement a plan runs, for messages (`CREATE SCHEMA`, `ALTER TABLE`, `CALL`, …).
fn what_runs(plan: &Plan) -> &'static str {
    match plan {
        Plan::Call(_) => "CALL",
        Plan::CreateBucket { .. } => "CREATE SCHEMA",
        Plan::DropBuckets { .. } => "DROP SCHEMA",
        Plan::CreateView { .. } => "CREATE VIEW",
        Plan::DropViews { .. } => "DROP VIEW",
        Plan::AlterTable { .. } | Plan::RenameTable { .. } => "ALTER TABLE",
        Plan::CreateTable { .. } => "CREATE TABLE",
        Plan::DropTables { .. } => "DROP TABLE",
        Plan::CopyIn(_) => "COPY FROM",
        Plan::Write(write) => match write.kind {
            gateway::dml::WriteKind::Insert => "INSERT",
            gateway::dml::WriteKind::Update => "UPDATE",
            gateway::dml::WriteKind::Delete => "DELETE",
            gateway::dml::WriteKind::Truncate => "TRUNCATE TABLE",
        },
        _ => "this statement",
    }
}

/// `what` outside a transaction block is refused, as in PostgreSQL (`25P01`).
fn outside_transaction(what: &str, in_transaction: bool) -> Result<()> {
    if in_transaction {
        return Ok(());
    }
    Err(Error::new(ErrorKind::FailedPrecondition, format!("{what} can only be used in transaction blocks"))
        .with_sqlstate(SqlState::NoActiveSqlTransaction))
}

/// `transaction_isolation` changes before a block's first query only, as in PostgreSQL.
fn isolation_still_settable(session: &Session, name: &str, in_transaction: bool) -> Result<()> {
    if in_transaction && name.eq_ignore_ascii_case("transaction_isolation") && session.has_read_snapshot() {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
        )
        .with_sqlstate(SqlState::ActiveSqlTransaction));
    }
    Ok(())
}

/// `what` may not run inside a transaction block (`25001`), as in PostgreSQL.
fn outside_transaction_block(what: &str, in_transaction: bool) -> Result<()> {
    if !in_transaction {
        return Ok(());
    }
    Err(Error::new(ErrorKind::FailedPrecondition, format!("{what} cannot run inside a transaction block"))
        .with_sqlstate(SqlState::ActiveSqlTransaction))
}

/// The refusal of a PREPARE past a session's bound on prepared statements (both session kinds).
pub(crate) fn too_many_prepared() -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        format!(
            "a session keeps at most {} prepared statements, of {} MB and {} expressions together; DEALLOCATE some first",
            gateway::MAX_PREPARED,
            gateway::MAX_PREPARED_BYTES / (1024 * 1024),
            gateway::MAX_PREPARED_NODES
        ),
    )
    .with_sqlstate(SqlState::ProgramLimitExceeded)
}

/// PostgreSQL's answer to a name no PREPARE stored.
pub(crate) fn no_prepared_statement(name: &str) -> Error {
    Error::not_found(format!("prepared statement \"{name}\" does not exist"))
        .with_sqlstate(SqlState::InvalidSqlStatementName)
}

/// Whether a statement takes a transaction's snapshot, as PostgreSQL's first query of a
/// REPEATABLE READ block does (transaction control, settings and cursor moves do not).
fn reads_a_snapshot(plan: &Plan) -> bool {
    !matches!(
        plan,
        Plan::Begin { .. }
            | Plan::SetTransaction { .. }
            | Plan::Commit
            | Plan::Rollback
            | Plan::Set { .. }
            | Plan::Reset(_)
            | Plan::ResetAll
            | Plan::Show(_)
            | Plan::NoOp(_)
            | Plan::Prepare { .. }
            | Plan::Deallocate(_)
            | Plan::Savepoint(_)
            | Plan::ReleaseSavepoint(_)
            | Plan::RollbackToSavepoint(_)
            | Plan::Fetch { .. }
            | Plan::CloseCursor(_)
    )
}

#[cfg(test)]
mod timeout_tests {
    use super::effective_timeout_ms;

    #[test]
    fn a_session_may_lower_the_server_timeout_never_raise_it() {
        assert_eq!(effective_timeout_ms(100, 1_000), 100);
        assert_eq!(effective_timeout_ms(600_000, 1_000), 1_000);
        assert_eq!(effective_timeout_ms(0, 1_000), 1_000);
        assert_eq!(effective_timeout_ms(250, 0), 250);
        assert_eq!(effective_timeout_ms(0, 0), 0);
    }
}
