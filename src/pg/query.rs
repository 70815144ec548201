//! Simple and extended query protocol: each statement goes through the gateway, then its plan is
//! carried out (reads by the engine, procedures by the storage layer) and answered on the wire.

use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use futures::{Sink, SinkExt, Stream, StreamExt, stream};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{
    ExtendedQueryHandler, SimpleQueryHandler, send_execution_response, send_query_response, send_ready_for_query,
};
use pgwire::api::results::{
    CopyResponse, DescribePortalResponse, DescribeResponse, DescribeStatementResponse, FieldInfo, QueryResponse,
    Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::data::DataRow;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::simplequery::Query as SimpleQuery;

use super::Connection;
use super::errors::{error_info, fatal, to_pg};
use super::session::Session;
use super::types;
use crate::engine::{Param, Query, QueryStream, SqlOrigin};
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::{self, CompatValues, Plan};
use crate::relation::{ColumnType, RelationBuilder};

/// A parsed statement of the extended protocol.
#[derive(Clone)]
pub struct Prepared {
    plan: Option<Plan>,
    /// A workspace session's statement: DuckDB SQL for its sandbox, not planned.
    workspace_sql: Option<String>,
    /// Parameter and result types, worked out on the first Describe.
    described: Arc<Mutex<Option<Arc<Shape>>>>,
}

/// The types a statement takes and answers.
pub(super) struct Shape {
    pub(super) params: Vec<Type>,
    pub(super) schema: Option<SchemaRef>,
}

/// Where a result's batches come from.
pub(super) enum Rows {
    Engine(QueryStream),
    Ready(Option<RecordBatch>),
}

impl Rows {
    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        match self {
            Rows::Engine(stream) => stream.next_batch().await,
            Rows::Ready(batch) => batch.take().map(Ok),
        }
    }
}

/// What a statement answers.
pub(super) enum Outcome {
    Rows {
        schema: SchemaRef,
        rows: Rows,
        tag: &'static str,
    },
    Tag(Tag),
    Begin,
    End(&'static str),
    /// `ROLLBACK TO SAVEPOINT`: the transaction is usable again.
    Restored,
    /// `COPY … FROM STDIN`: the client sends the data next.
    CopyIn {
        copy: Box<super::copy::CopyIn>,
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
    b.finish()
}

fn one_column(name: &str, value: &str) -> Result<RecordBatch> {
    let mut b = RelationBuilder::new(&[(name, ColumnType::Text)]);
    b.row(vec![value.into()]);
    b.finish()
}

impl Connection {
    fn compat<'a>(&self, session: &'a Session, settings: &'a gateway::settings::SessionSettings) -> CompatValues<'a> {
        CompatValues { settings, user: &session.ctx.user, database: &session.database, backend_pid: session.pid }
    }

    /// Plans a statement; a refusal counts and logs as a failed statement of its kind.
    fn plan(&self, session: &Session, statement: sqlparser::ast::Statement) -> Result<Plan> {
        let started = Instant::now();
        let kind = gateway::statement_kind(&statement);
        let settings = session.settings().clone();
        let planned = gateway::plan(statement, &self.compat(session, &settings));
        if let Err(e) = &planned {
            self.observe(session, kind, started, Some(e));
        }
        planned
    }

    /// Re-checks the session's token when credentials changed anywhere since the last check,
    /// or when it expired.
    async fn check_credentials(&self, session: &Session) -> PgWireResult<()> {
        let epoch = self.shared.storage.credential_epoch();
        if session.checked_epoch.load(Ordering::Acquire) == epoch
            && !session.ctx.token_expired(crate::clock::now_micros())
        {
            return Ok(());
        }
        match self.shared.storage.revalidate(&session.ctx).await {
            Ok(()) => {
                session.checked_epoch.store(epoch, Ordering::Release);
                Ok(())
            }
            Err(e) => Err(fatal(&e)),
        }
    }

    /// Parameter and result types of a plan, worked out without running it.
    async fn describe(&self, session: &Session, plan: &Plan) -> Result<Shape> {
        match plan {
            Plan::Query(q) => {
                let engine = self.shared.storage.engine();
                let (rendered, relations, tables) = self.prepare_read(session, q, true).await?;
                let described = engine
                    .describe(Query {
                        home: session.home(),
                        sql: rendered.sql,
                        params: vec![],
                        relations,
                        tables,
                        origin: SqlOrigin::User,
                        checks: rendered.checks,
                        labels: rendered.labels,
                    })
                    .await?;
                let params = described
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| match types::arrow_param_type(t) {
                        Some(t) => t,
                        None => types::param_type(q.param_types.get(i).copied().unwrap_or(gateway::ParamType::Unknown)),
                    })
                    .collect();
                Ok(Shape { params, schema: Some(types::wire_schema(&described.schema)) })
            }
            Plan::Constant(row) => {
                Ok(Shape { params: vec![], schema: Some(types::wire_schema(&constant_batch(row)?.schema())) })
            }
            Plan::Write(write) => {
                let storage = &self.shared.storage;
                let engine = storage.engine();
                let relations = self.register_relations(session, &write.body.relations, true).await?;
                let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
                let search_path = session.settings().search_path();
                let target = storage
                    .resolve_reads(session.ctx.clone(), vec![write.target.clone()], search_path.clone())
                    .await?
                    .remove(0);
                let (reads, mut tables) =
                    self.expand_reads(session, write.body.tables.clone(), search_path, None).await?;
                let columns: Vec<String> = target.table.columns.iter().map(|c| c.name.clone()).collect();
                let rendered = write.render(&target.file.data_ref(), &columns, &handles, &reads)?;
                tables.push(target.file);
                let described = engine
                    .describe(Query {
                        home: session.home(),
                        sql: rendered.sql,
                        params: vec![],
                        relations,
                        tables,
                        origin: SqlOrigin::User,
                        checks: Some(rendered.checks),
                        labels: vec![],
                    })
                    .await?;
                let params = described
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        types::arrow_param_type(t).unwrap_or_else(|| {
                            types::param_type(
                                write.body.param_types.get(i).copied().unwrap_or(gateway::ParamType::Unknown),
                            )
                        })
                    })
                    .collect();
                Ok(Shape { params, schema: None })
            }
            Plan::Call(call) => Ok(Shape {
                params: call.param_kinds.iter().map(|k| types::arg_type(*k)).collect(),
                schema: Some(types::wire_schema(&RelationBuilder::new(call.spec.columns).schema())),
            }),
            Plan::Show(name) => Ok(Shape { params: vec![], schema: Some(one_column(name, "")?.schema()) }),
            _ => Ok(Shape { params: vec![], schema: None }),
        }
    }

    /// Carries out one plan.
    pub(super) async fn execute(&self, session: &Arc<Session>, plan: &Plan, params: &[Param]) -> Result<Outcome> {
        let storage = &self.shared.storage;
        match plan {
            Plan::Query(q) => {
                let (rendered, relations, tables) = self.prepare_read(session, q, false).await?;
                let stream = storage
                    .engine()
                    .query(
                        Query {
                            home: session.home(),
                            sql: rendered.sql,
                            params: params.to_vec(),
                            relations,
                            tables,
                            origin: SqlOrigin::User,
                            checks: rendered.checks,
                            labels: rendered.labels,
                        },
                        &session.canceller,
                    )
                    .await?;
                Ok(Outcome::Rows { schema: types::wire_schema(&stream.schema), rows: Rows::Engine(stream), tag: q.tag })
            }
            Plan::Constant(row) => {
                let batch = constant_batch(row)?;
                Ok(Outcome::Rows {
                    schema: types::wire_schema(&batch.schema()),
                    rows: Rows::Ready(Some(batch)),
                    tag: "SELECT",
                })
            }
            Plan::Call(call) => {
                let batch = call.execute(storage, &session.ctx, params).await?;
                Ok(Outcome::Rows { schema: batch.schema(), rows: Rows::Ready(Some(batch)), tag: "CALL" })
            }
            Plan::Begin => Ok(Outcome::Begin),
            Plan::Commit => Ok(Outcome::End("COMMIT")),
            Plan::Rollback => Ok(Outcome::End("ROLLBACK")),
            Plan::Set { name, value } => {
                session.settings().set(name, value.as_deref())?;
                Ok(Outcome::Tag(Tag::new("SET")))
            }
            Plan::ResetAll => {
                session.settings().reset_all();
                Ok(Outcome::Tag(Tag::new("RESET")))
            }
            Plan::Show(name) => {
                let value = match name.as_str() {
                    "transaction isolation level" => Some("read committed".to_owned()),
                    other => session.settings().get(other).map(str::to_owned),
                };
                let value = value.ok_or_else(|| {
                    Error::not_found(format!("unrecognized configuration parameter \"{name}\""))
                        .with_sqlstate(SqlState::UndefinedObject)
                })?;
                let batch = one_column(name, &value)?;
                Ok(Outcome::Rows { schema: batch.schema(), rows: Rows::Ready(Some(batch)), tag: "SHOW" })
            }
            Plan::NoOp(tag) | Plan::Savepoint(tag) => Ok(Outcome::Tag(Tag::new(tag))),
            Plan::RollbackToSavepoint => Ok(Outcome::Restored),
            Plan::CreateBucket { bucket, if_not_exists } => {
                let (stage, name) = crate::storage::names::parse_bucket(bucket)?;
                storage.create_bucket(session.ctx.clone(), stage, name, String::new(), *if_not_exists).await?;
                Ok(Outcome::Tag(Tag::new("CREATE SCHEMA")))
            }
            Plan::DropBuckets { buckets, cascade, if_exists } => {
                for bucket in buckets {
                    storage.drop_bucket(session.ctx.clone(), bucket.clone(), *cascade, *if_exists).await?;
                }
                Ok(Outcome::Tag(Tag::new("DROP SCHEMA")))
            }
            Plan::CreateTable { spec, if_not_exists } => {
                storage.create_table(session.ctx.clone(), spec.clone(), *if_not_exists).await?;
                Ok(Outcome::Tag(Tag::new("CREATE TABLE")))
            }
            Plan::Write(write) => {
                let relations = self.register_relations(session, &write.body.relations, false).await?;
                let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
                let search_path = session.settings().search_path();
                let reads = self.write_reads(session, &write.body.tables, &search_path).await?;
                let request = crate::storage::WriteRequest {
                    target: write.target.clone(),
                    reads,
                    search_path: session.settings().search_path(),
                    operation: write.kind.label(),
                    deletes_all: write.deletes_all,
                    handles: handles.clone(),
                };
                let plan = write.clone();
                let result = storage
                    .write_table(
                        session.ctx.clone(),
                        request,
                        params.to_vec(),
                        session.canceller.clone(),
                        move |target, reads| {
                            plan.render(&target.data_ref, &target.columns, &handles, reads).map(|r| (r.sql, r.checks))
                        },
                    )
                    .await?;
                drop(relations);
                Ok(Outcome::Tag(match write.kind {
                    gateway::dml::WriteKind::Insert => Tag::new("INSERT").with_oid(0).with_rows(result.affected),
                    gateway::dml::WriteKind::Update => Tag::new("UPDATE").with_rows(result.affected),
                    gateway::dml::WriteKind::Delete => Tag::new("DELETE").with_rows(result.affected),
                    gateway::dml::WriteKind::Truncate => Tag::new("TRUNCATE TABLE"),
                }))
            }
            Plan::AlterTable { table, changes, if_exists } => {
                let search_path = session.settings().search_path();
                match storage.alter_table(session.ctx.clone(), table.clone(), search_path, changes.clone()).await {
                    Err(e) if *if_exists && e.state() == SqlState::UndefinedTable => {}
                    other => other?,
                }
                Ok(Outcome::Tag(Tag::new("ALTER TABLE")))
            }
            Plan::CopyIn(copy) => {
                let search_path = session.settings().search_path();
                let columns = storage.copy_columns(&session.ctx, &copy.table, &search_path, &copy.columns).await?;
                let tmp = storage.engine().data_dir().join("tmp");
                let copy = super::copy::CopyIn::start((**copy).clone(), search_path, &tmp).await?;
                Ok(Outcome::CopyIn { copy: Box::new(copy), columns })
            }
            Plan::CopyOut(copy) => {
                let (rendered, relations, tables) = self.prepare_read(session, &copy.query, false).await?;
                let stream = storage
                    .engine()
                    .query(
                        Query {
                            home: session.home(),
                            sql: rendered.sql,
                            params: params.to_vec(),
                            relations,
                            tables,
                            origin: SqlOrigin::User,
                            checks: rendered.checks,
                            labels: rendered.labels,
                        },
                        &session.canceller,
                    )
                    .await?;
                Ok(Outcome::CopyOut {
                    schema: types::wire_schema(&stream.schema),
                    rows: Rows::Engine(stream),
                    format: copy.format.clone(),
                })
            }
            Plan::CreateView { spec, query } => {
                let creating = Some((spec.bucket.clone(), spec.name.clone()));
                let (refs, reads) =
                    self.expand_reads(session, query.tables.clone(), vec![spec.bucket.clone()], creating).await?;
                let expanded = crate::storage::ExpandedQuery { sql: query.render(&[], &refs)?, reads };
                storage.create_view(session.ctx.clone(), spec.clone(), expanded).await?;
                Ok(Outcome::Tag(Tag::new("CREATE VIEW")))
            }
            Plan::DropViews { views, if_exists } => {
                let search_path = session.settings().search_path();
                for view in views {
                    storage.drop_view(session.ctx.clone(), view.clone(), search_path.clone(), *if_exists).await?;
                }
                Ok(Outcome::Tag(Tag::new("DROP VIEW")))
            }
            Plan::DropTables { tables, if_exists } => {
                let search_path = session.settings().search_path();
                for table in tables {
                    storage.drop_table(session.ctx.clone(), table.clone(), search_path.clone(), *if_exists).await?;
                }
                Ok(Outcome::Tag(Tag::new("DROP TABLE")))
            }
        }
    }

    /// Builds and registers the server relations a statement reads (empty ones for a describe).
    async fn register_relations(
        &self,
        session: &Session,
        relations: &[gateway::ServerRelation],
        describe_only: bool,
    ) -> Result<Vec<crate::engine::RelationGuard>> {
        let storage = &self.shared.storage;
        let needs_snapshot =
            !describe_only && relations.iter().any(|r| matches!(r, gateway::ServerRelation::Catalog(_)));
        let snapshot = if needs_snapshot { Some(storage.catalog_snapshot(session.ctx.clone()).await?) } else { None };
        let mut guards = Vec::with_capacity(relations.len());
        for relation in relations {
            if describe_only {
                guards.push(
                    storage
                        .engine()
                        .register_relation(session.home(), RelationBuilder::new(relation.columns()).finish()?)?,
                );
                continue;
            }
            let batch = match (relation, &snapshot) {
                (gateway::ServerRelation::System(view), _) => storage.system_view(session.ctx.clone(), *view).await?,
                (gateway::ServerRelation::Catalog(c), Some(snapshot)) => {
                    super::catalog::build(*c, snapshot, &session.ctx, &session.database)?
                }
                (gateway::ServerRelation::Catalog(_), None) => {
                    unreachable!("a snapshot is taken when catalog relations are read")
                }
            };
            guards.push(storage.engine().register_relation_at(
                session.home(),
                session.relation_handle(relation.code()),
                batch,
            )?);
        }
        Ok(guards)
    }

    /// The SQL of a read with its server-built relations registered and its tables resolved
    /// (and authorized) by the storage layer. A describe sees empty relations.
    async fn prepare_read(
        &self,
        session: &Session,
        q: &gateway::QueryPlan,
        describe_only: bool,
    ) -> Result<(gateway::RenderedQuery, Vec<crate::engine::RelationGuard>, Vec<crate::engine::TableFile>)> {
        let relations = self.register_relations(session, &q.relations, describe_only).await?;
        let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
        let search_path = session.settings().search_path();
        let (refs, files) = self.expand_reads(session, q.tables.clone(), search_path, None).await?;
        let mut rendered = q.render_for_engine(&handles, &refs)?;
        // What an EXPLAIN shows of a table file: the name the client wrote.
        for (name, data_ref) in q.tables.iter().zip(&refs) {
            if let Some(file) = files.iter().find(|f| f.data_ref() == *data_ref) {
                rendered.labels.push((file.alias(), name.to_string()));
            }
        }
        Ok((rendered, relations, files))
    }

    /// The relations a write reads: tables by name (the storage layer resolves them under the
    /// write's lock), views expanded here as this session.
    async fn write_reads(
        &self,
        session: &Session,
        names: &[crate::storage::TableName],
        search_path: &[String],
    ) -> Result<Vec<crate::storage::WriteRead>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let sources =
            self.shared.storage.resolve_sources(session.ctx.clone(), names.to_vec(), search_path.to_vec()).await?;
        let mut reads = Vec::with_capacity(names.len());
        for (name, source) in names.iter().zip(sources) {
            reads.push(match source {
                crate::storage::ReadSource::Table(_) => crate::storage::WriteRead::Table(name.clone()),
                crate::storage::ReadSource::View { .. } => {
                    let (mut refs, files) =
                        self.expand_reads(session, vec![name.clone()], search_path.to_vec(), None).await?;
                    crate::storage::WriteRead::View { sql: refs.remove(0), files }
                }
            });
        }
        Ok(reads)
    }

    /// What each name a read uses stands for, for binding its table slots: a table file's
    /// reference, or a view's query expanded (as this session; see `gateway::views`). Answers
    /// the table files read. `creating`: the (bucket, view) a CREATE VIEW makes.
    async fn expand_reads(
        &self,
        session: &Session,
        names: Vec<crate::storage::TableName>,
        search_path: Vec<String>,
        creating: Option<(String, String)>,
    ) -> Result<(Vec<String>, Vec<crate::engine::TableFile>)> {
        if names.is_empty() {
            // catalog and constant reads: no trip to a blocking thread
            return Ok((vec![], vec![]));
        }
        let settings = session.settings().clone();
        let (user, database, pid) = (session.ctx.user.clone(), session.database.clone(), session.pid);
        self.shared
            .storage
            .with_resolver(session.ctx.clone(), move |resolve| {
                let compat = CompatValues { settings: &settings, user: &user, database: &database, backend_pid: pid };
                let creating = creating.as_ref().map(|(b, v)| (b.as_str(), v.as_str()));
                gateway::views::expand(resolve, &compat, &names, &search_path, creating)
            })
            .await
    }

    /// Runs `plan` with the statement timeout, metrics and the statement log line.
    async fn run(
        &self,
        session: &Arc<Session>,
        plan: &Plan,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        let started = Instant::now();
        if in_transaction && plan.is_write() {
            let e = Error::new(
                ErrorKind::FailedPrecondition,
                "storage writes cannot run inside a transaction block; each write is atomic on its own",
            )
            .with_sqlstate(SqlState::ActiveSqlTransaction)
            .with_hint("use autocommit (psycopg: connection.autocommit = True), or COMMIT first");
            self.observe(session, plan.kind(), started, Some(&e));
            return Err(e);
        }
        let timeout_ms =
            effective_timeout_ms(session.settings().statement_timeout_ms(), self.shared.statement_timeout_ms);
        let timer = start_statement_timer(session, timeout_ms);
        let mut result = self.execute(session, plan, params).await;
        hold_timer_while_streaming(&mut result, timer);
        let result = result.map_err(|e| self.explain_cancel(session, e));
        self.observe(session, plan.kind(), started, result.as_ref().err());
        result
    }

    pub(super) fn explain_cancel(&self, session: &Session, e: Error) -> Error {
        if e.kind() == ErrorKind::Cancelled && session.timed_out.load(Ordering::Acquire) {
            Error::new(ErrorKind::Cancelled, "canceling statement due to statement timeout")
        } else {
            e
        }
    }

    pub(super) fn observe(&self, session: &Session, kind: &'static str, started: Instant, error: Option<&Error>) {
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

/// Streams a result as DataRows, converting each batch to its wire form as it arrives.
fn row_stream(
    rows: Rows,
    wire: SchemaRef,
    fields: Arc<Vec<FieldInfo>>,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    stream::unfold(Some(rows), move |state| {
        let wire = Arc::clone(&wire);
        let fields = Arc::clone(&fields);
        async move {
            let mut rows = state?;
            match rows.next().await {
                None => None,
                Some(Err(e)) => Some((vec![Err(to_pg(&e))], None)),
                Some(Ok(batch)) => {
                    let encoded: Vec<PgWireResult<DataRow>> = match types::to_wire_batch(batch, &wire) {
                        Ok(batch) => super::encode::encode_batch(batch, fields),
                        Err(e) => vec![Err(to_pg(&e))],
                    };
                    Some((encoded, Some(rows)))
                }
            }
        }
    })
    .flat_map(stream::iter)
}

/// `COPY … TO STDOUT` as PostgreSQL sends it: CopyOutResponse, one CopyData per line, then
/// CopyDone; answers the command tag (`COPY n`, rows — a CSV header line is not one), which the
/// caller sends as CommandComplete in the same flush as CopyDone (clients such as
/// pg-copy-streams read the count from it as soon as the copy ends). A failure mid-stream is an
/// error the caller reports as an ErrorResponse: CopyFail is a client's message only.
async fn send_copy_out<C>(
    client: &mut C,
    schema: SchemaRef,
    mut rows: Rows,
    format: gateway::copy::CopyFormat,
) -> PgWireResult<Tag>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let columns = schema.fields().len();
    // text format, for the whole copy and each column
    let response = CopyOutResponse::new(0, columns as i16, vec![0; columns]);
    client.feed(PgWireBackendMessage::CopyOutResponse(response)).await?;
    if format.header {
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut line = names.join(&format.delimiter.to_string());
        line.push('\n');
        client.feed(PgWireBackendMessage::CopyData(CopyData::new(bytes::Bytes::from(line)))).await?;
    }
    let mut count = 0usize;
    while let Some(batch) = rows.next().await {
        let lines = batch
            .and_then(|batch| types::to_wire_batch(batch, &schema))
            .and_then(|batch| super::encode::copy_lines(&batch, &format))
            .map_err(|e| to_pg(&e))?;
        for line in lines {
            count += 1;
            client.feed(PgWireBackendMessage::CopyData(CopyData::new(line))).await?;
        }
    }
    client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
    Ok(Tag::new("COPY").with_rows(count))
}

pub(super) fn query_response(schema: SchemaRef, rows: Rows, tag: &str, format: &Format) -> Result<QueryResponse> {
    let fields = Arc::new(types::fields(&schema, format)?);
    let mut response = QueryResponse::new(Arc::clone(&fields), row_stream(rows, schema, fields));
    response.set_command_tag(tag);
    Ok(response)
}

fn aborted_transaction() -> Error {
    Error::new(
        ErrorKind::FailedPrecondition,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
    .with_sqlstate(SqlState::InFailedSqlTransaction)
}

/// The next transaction status after a statement.
fn transaction_after(status: TransactionStatus, outcome: &Result<Outcome>) -> TransactionStatus {
    match outcome {
        Ok(Outcome::Begin) => TransactionStatus::Transaction,
        Ok(Outcome::End(_)) => TransactionStatus::Idle,
        Ok(Outcome::Restored) if status == TransactionStatus::Error => TransactionStatus::Transaction,
        Ok(_) => status,
        Err(_) if status == TransactionStatus::Idle => TransactionStatus::Idle,
        Err(_) => TransactionStatus::Error,
    }
}

/// COMMIT of a failed transaction rolls back, as in PostgreSQL.
fn end_tag(tag: &'static str, status: TransactionStatus) -> &'static str {
    if tag == "COMMIT" && status == TransactionStatus::Error { "ROLLBACK" } else { tag }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: SimpleQuery) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let session = self.session()?;
        self.check_credentials(&session).await?;
        let _busy = session.begin_statement();
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut status = client.transaction_status();
        if session.workspace.is_some() {
            return self.workspace_simple_query(client, &session, &query.query, status).await;
        }

        let statements = if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
            Ok(vec![])
        } else {
            super::on_text(&query.query, gateway::parse).await
        };
        let mut failure: Option<ErrorInfo> = None;
        match statements {
            Err(e) => {
                self.observe(&session, "invalid", Instant::now(), Some(&e));
                failure = Some(error_info(&e, "ERROR"));
            }
            Ok(statements) => {
                for statement in statements {
                    let outcome = match self.plan(&session, statement) {
                        Err(e) => Err(e),
                        Ok(plan)
                            if status == TransactionStatus::Error
                                && !matches!(plan, Plan::Commit | Plan::Rollback | Plan::RollbackToSavepoint) =>
                        {
                            Err(aborted_transaction())
                        }
                        Ok(plan) => self.run(&session, &plan, &[], status != TransactionStatus::Idle).await,
                    };
                    let next = transaction_after(status, &outcome);
                    match outcome {
                        Ok(Outcome::Rows { schema, rows, tag }) => {
                            let response =
                                query_response(schema, rows, tag, &Format::UnifiedText).map_err(|e| to_pg(&e))?;
                            match send_query_response(client, response, true).await {
                                Ok(()) => {}
                                // Rows already sent stay sent; the error ends the statement.
                                Err(PgWireError::UserError(info)) => {
                                    failure = Some(*info);
                                    break;
                                }
                                Err(other) => return Err(other),
                            }
                        }
                        Ok(Outcome::Tag(tag)) => send_execution_response(client, tag).await?,
                        Ok(Outcome::CopyIn { copy, columns }) => {
                            *session.copy_in.lock().await = Some(*copy);
                            let response = CopyResponse::new(0, columns, stream::empty());
                            pgwire::api::copy::send_copy_in_response(client, response).await?;
                            // The rest comes as CopyData; ReadyForQuery follows the CopyDone.
                            client.set_state(PgWireConnectionState::CopyInProgress(false));
                            return Ok(());
                        }
                        Ok(Outcome::CopyOut { schema, rows, format }) => {
                            match send_copy_out(client, schema, rows, format).await {
                                Ok(tag) => send_execution_response(client, tag).await?,
                                Err(PgWireError::UserError(info)) => {
                                    failure = Some(*info);
                                    break;
                                }
                                Err(other) => return Err(other),
                            }
                        }
                        Ok(Outcome::Begin) => send_execution_response(client, Tag::new("BEGIN")).await?,
                        Ok(Outcome::Restored) => send_execution_response(client, Tag::new("ROLLBACK")).await?,
                        Ok(Outcome::End(tag)) => {
                            send_execution_response(client, Tag::new(end_tag(tag, status))).await?
                        }
                        Err(e) => {
                            failure = Some(error_info(&e, "ERROR"));
                            break;
                        }
                    }
                    status = next;
                }
            }
        }
        if let Some(info) = failure {
            client.feed(PgWireBackendMessage::ErrorResponse(info.into())).await?;
            if status == TransactionStatus::Transaction {
                status = TransactionStatus::Error;
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        send_ready_for_query(client, status).await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        unreachable!("on_query is implemented directly")
    }
}

/// Parses statements for the extended protocol.
pub struct StatementParser {
    connection: Connection,
}

impl StatementParser {
    pub fn new(connection: Connection) -> StatementParser {
        StatementParser { connection }
    }
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(&self, _client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Prepared>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = self.connection.session()?;
        if session.workspace.is_some() {
            if let Some(plan) = super::workspace::session_timeout_statement(sql) {
                return Ok(Prepared { plan: Some(plan), workspace_sql: None, described: Arc::new(Mutex::new(None)) });
            }
            // One statement per Parse, as PostgreSQL has it, split where DuckDB splits.
            super::on_text(sql, crate::gateway::nesting::check_text).await.map_err(|e| to_pg(&e))?;
            let mut statements = self
                .connection
                .shared
                .storage
                .engine()
                .workspace_statements(sql.to_owned())
                .await
                .map_err(|e| to_pg(&e))?;
            let workspace_sql = match statements.len() {
                0 => None,
                1 => Some(statements.remove(0).sql),
                _ => {
                    return Err(to_pg(
                        &Error::invalid("cannot insert multiple commands into a prepared statement")
                            .with_sqlstate(SqlState::SyntaxError),
                    ));
                }
            };
            return Ok(Prepared { plan: None, workspace_sql, described: Arc::new(Mutex::new(None)) });
        }
        let mut statements = super::on_text(sql, gateway::parse).await.map_err(|e| to_pg(&e))?;
        let plan = match statements.len() {
            0 => None,
            1 => Some(self.connection.plan(&session, statements.remove(0)).map_err(|e| to_pg(&e))?),
            _ => {
                return Err(to_pg(
                    &Error::invalid("cannot insert multiple commands into a prepared statement")
                        .with_sqlstate(SqlState::SyntaxError),
                ));
            }
        };
        Ok(Prepared { plan, workspace_sql: None, described: Arc::new(Mutex::new(None)) })
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(match &stmt.plan {
            Some(Plan::Query(q)) => q.param_types.iter().map(|t| types::param_type(*t)).collect(),
            Some(Plan::Call(c)) => c.param_kinds.iter().map(|k| types::arg_type(*k)).collect(),
            _ => vec![],
        })
    }

    fn get_result_schema(&self, _stmt: &Prepared, _format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        // Answered by the handler's describe methods, which can ask the engine.
        Ok(vec![])
    }
}

impl Connection {
    async fn shape(&self, stmt: &Prepared) -> PgWireResult<Option<Arc<Shape>>> {
        if stmt.plan.is_none() && stmt.workspace_sql.is_none() {
            return Ok(None);
        }
        if let Some(shape) = stmt.described.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(Some(shape));
        }
        let session = self.session()?;
        let described = match (&stmt.plan, &stmt.workspace_sql) {
            (Some(plan), _) => self.describe(&session, plan).await,
            (None, Some(sql)) => self.describe_workspace(&session, sql).await,
            (None, None) => return Ok(None),
        };
        let shape = Arc::new(described.map_err(|e| to_pg(&e))?);
        *stmt.described.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&shape));
        Ok(Some(shape))
    }

    fn bound_params(&self, portal: &Portal<Prepared>) -> Result<Vec<Param>> {
        let declared = &portal.statement.parameter_types;
        let described = portal.statement.statement.described.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let inferred: Vec<Type> = match (&described, &portal.statement.statement.plan) {
            (Some(shape), _) => shape.params.clone(),
            (None, Some(Plan::Query(q))) => q.param_types.iter().map(|t| types::param_type(*t)).collect(),
            _ => vec![],
        };
        portal
            .parameters
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let ty = declared.get(i).cloned().flatten().or_else(|| inferred.get(i).cloned()).unwrap_or(Type::TEXT);
                types::decode_param(i, value.as_deref(), &ty, portal.parameter_format.is_binary(i))
            })
            .collect()
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(StatementParser::new(self.clone()))
    }

    async fn on_execute<C>(&self, client: &mut C, message: pgwire::messages::extendedquery::Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self._on_execute(client, message).await?;
        if let Ok(session) = self.session()
            && session.restored.swap(false, Ordering::AcqRel)
        {
            client.set_transaction_status(TransactionStatus::Transaction);
        }
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let shape = self.shape(&target.statement).await?;
        let inferred = shape.as_ref().map(|s| s.params.clone()).unwrap_or_default();
        let count = inferred.len().max(target.parameter_types.len());
        let params = (0..count)
            .map(|i| {
                target
                    .parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| inferred.get(i).cloned())
                    .unwrap_or(Type::TEXT)
            })
            .collect();
        let fields = match shape.and_then(|s| s.schema.clone()) {
            Some(schema) => types::fields(&schema, &Format::UnifiedText).map_err(|e| to_pg(&e))?,
            None => vec![],
        };
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self.shape(&portal.statement.statement).await?.and_then(|s| s.schema.clone()) {
            Some(schema) => Ok(DescribePortalResponse::new(
                types::fields(&schema, &portal.result_column_format).map_err(|e| to_pg(&e))?,
            )),
            None => Ok(DescribePortalResponse::no_data()),
        }
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        self.check_credentials(&session).await?;
        let _busy = session.begin_statement();
        if let Some(sql) = &portal.statement.statement.workspace_sql {
            let params = self.bound_params(portal).map_err(|e| to_pg(&e))?;
            return match self.run_workspace(&session, sql, &params).await.map_err(|e| to_pg(&e))? {
                Outcome::Rows { schema, rows, tag } => Ok(Response::Query(
                    query_response(schema, rows, tag, &portal.result_column_format).map_err(|e| to_pg(&e))?,
                )),
                Outcome::Tag(tag) => Ok(match super::workspace::transaction_effect(sql) {
                    Some(true) => Response::TransactionStart(tag),
                    Some(false) => Response::TransactionEnd(tag),
                    None => Response::Execution(tag),
                }),
                _ => Err(to_pg(&Error::internal("running workspace SQL", "unexpected outcome"))),
            };
        }
        let Some(plan) = &portal.statement.statement.plan else { return Ok(Response::EmptyQuery) };
        let status = client.transaction_status();
        if status == TransactionStatus::Error
            && !matches!(plan, Plan::Commit | Plan::Rollback | Plan::RollbackToSavepoint)
        {
            return Err(to_pg(&aborted_transaction()));
        }
        let outcome = match self.bound_params(portal) {
            Ok(params) => self.run(&session, plan, &params, status != TransactionStatus::Idle).await,
            Err(e) => Err(e),
        };
        Ok(match outcome {
            Ok(Outcome::Rows { schema, rows, tag }) => {
                let described = portal.statement.statement.described.lock().unwrap_or_else(|p| p.into_inner()).clone();
                // Keep the columns the client was told about in Describe.
                let schema = described
                    .and_then(|d| d.schema.clone())
                    .filter(|d| d.fields().len() == schema.fields().len())
                    .unwrap_or(schema);
                Response::Query(query_response(schema, rows, tag, &portal.result_column_format).map_err(|e| to_pg(&e))?)
            }
            Ok(Outcome::Tag(tag)) => Response::Execution(tag),
            Ok(Outcome::CopyIn { copy, columns }) => {
                *session.copy_in.lock().await = Some(*copy);
                Response::CopyIn(CopyResponse::new(0, columns, stream::empty()))
            }
            Ok(Outcome::CopyOut { schema, rows, format }) => {
                Response::Execution(send_copy_out(client, schema, rows, format).await?)
            }
            Ok(Outcome::Begin) => Response::TransactionStart(Tag::new("BEGIN")),
            Ok(Outcome::End(tag)) => Response::TransactionEnd(Tag::new(end_tag(tag, status))),
            Ok(Outcome::Restored) => {
                session.restored.store(true, Ordering::Release);
                Response::TransactionStart(Tag::new("ROLLBACK"))
            }
            Err(e) => return Err(to_pg(&e)),
        })
    }
}

/// The timeout a statement runs under: the session's `statement_timeout` may lower the
/// server's limit, never raise it (0 on either side: no limit from that side).
pub(super) fn effective_timeout_ms(session_ms: u64, server_ms: u64) -> u64 {
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
pub(super) fn start_statement_timer(session: &Arc<Session>, timeout_ms: u64) -> Option<tokio::task::JoinHandle<()>> {
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
pub(super) fn hold_timer_while_streaming(result: &mut Result<Outcome>, timer: Option<tokio::task::JoinHandle<()>>) {
    let Some(timer) = timer else { return };
    let guard = AbortOnDrop(timer);
    if let Ok(Outcome::Rows { rows: Rows::Engine(stream), .. } | Outcome::CopyOut { rows: Rows::Engine(stream), .. }) =
        result
    {
        stream.hold(Box::new(guard));
    }
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
