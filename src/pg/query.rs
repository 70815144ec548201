//! Simple and extended query protocol: each statement is parsed, planned and run by the
//! execution layer (`exec`); this module only turns its answers into protocol messages.

use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::datatypes::SchemaRef;
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
use super::types;
use crate::engine::Param;
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::exec::{CommandTag, Outcome, Rows, Session};
use crate::gateway::time_zone::TimeZone;
use crate::gateway::{self, Plan};

/// A parsed statement of the extended protocol.
#[derive(Clone)]
pub struct Prepared {
    plan: Option<Plan>,
    /// A workspace session's statement: DuckDB SQL for its sandbox, not planned.
    workspace_sql: Option<String>,
    /// Parameter and result types, worked out on the first Describe.
    described: Arc<Mutex<Option<Arc<Shape>>>>,
}

/// The types a statement takes and answers, as sent on the wire.
pub(super) struct Shape {
    params: Vec<Type>,
    schema: Option<SchemaRef>,
}

impl Shape {
    fn of(shape: crate::exec::Shape) -> Shape {
        Shape {
            params: shape.params.iter().map(types::param_shape_type).collect(),
            schema: shape.schema.as_ref().map(types::wire_schema),
        }
    }
}

/// Whether a described statement answers another number of columns than its Describe said (a
/// table altered, a prepared statement replaced in between): the client would misread its rows.
fn changed_result_type(described: &Mutex<Option<Arc<Shape>>>, schema: &SchemaRef) -> bool {
    let described = described.lock().unwrap_or_else(|p| p.into_inner()).clone();
    described
        .and_then(|shape| shape.schema.clone())
        .is_some_and(|before| before.fields().len() != types::wire_schema(schema).fields().len())
}

/// PostgreSQL's answer to [`changed_result_type`].
fn cached_result_changed() -> Error {
    Error::unsupported("cached plan must not change result type")
}

/// A command tag as pgwire sends it.
pub(super) fn wire_tag(tag: CommandTag) -> Tag {
    let mut wire = Tag::new(&tag.command);
    if let Some(oid) = tag.oid {
        wire = wire.with_oid(oid);
    }
    if let Some(rows) = tag.rows {
        wire = wire.with_rows(rows);
    }
    wire
}

impl Connection {
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
}

/// Streams a result as DataRows, converting each batch to its wire form as it arrives.
fn row_stream(
    rows: Rows,
    wire: SchemaRef,
    fields: Arc<Vec<FieldInfo>>,
    zone: Option<TimeZone>,
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
                        Ok(batch) => super::encode::encode_batch(batch, fields, zone),
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
pub(super) async fn send_copy_out<C>(
    client: &mut C,
    schema: SchemaRef,
    mut rows: Rows,
    format: gateway::copy::CopyFormat,
    zone: Option<TimeZone>,
) -> PgWireResult<Tag>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let schema = types::wire_schema(&schema);
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
            .and_then(|batch| super::encode::copy_lines(&batch, &format, zone))
            .map_err(|e| to_pg(&e))?;
        for line in lines {
            count += 1;
            client.feed(PgWireBackendMessage::CopyData(CopyData::new(line))).await?;
        }
    }
    client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
    Ok(Tag::new("COPY").with_rows(count))
}

/// A simple query's rows as PostgreSQL sends them: RowDescription, DataRows, then
/// CommandComplete, whose tag counts rows only for the commands PostgreSQL counts (`SELECT 3`,
/// but `SHOW` and `CALL`).
pub(super) async fn send_rows<C>(client: &mut C, mut response: QueryResponse) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let counted =
        matches!(response.command_tag(), "SELECT" | "FETCH" | "MOVE" | "COPY" | "INSERT 0" | "UPDATE" | "DELETE");
    if counted {
        return send_query_response(client, response, true).await;
    }
    let tag = Tag::new(response.command_tag());
    let description =
        pgwire::messages::data::RowDescription::new(response.row_schema().iter().map(Into::into).collect());
    client.feed(PgWireBackendMessage::RowDescription(description)).await?;
    let rows = response.data_rows();
    while let Some(row) = rows.next().await {
        client.feed(PgWireBackendMessage::DataRow(row?)).await?;
    }
    client.feed(PgWireBackendMessage::CommandComplete(tag.into())).await?;
    Ok(())
}

/// A ParameterStatus for each reported parameter (`TimeZone`, `application_name`, …) the
/// statement changed, sent before its CommandComplete as PostgreSQL does. `changes`: the
/// settings' count of changes before the statement (nothing is compared when it held).
pub(super) async fn report_changed_parameters<C>(client: &mut C, session: &Session, changes: u64) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if session.settings_changes() == changes {
        return Ok(());
    }
    for (name, value) in session.reported_changes() {
        let status = pgwire::messages::startup::ParameterStatus::new(name, value);
        client.feed(PgWireBackendMessage::ParameterStatus(status)).await?;
    }
    Ok(())
}

/// The format of rows answered over the simple protocol: text, but for a `BINARY` cursor's.
pub(super) fn simple_format(binary: bool) -> Format {
    if binary { Format::UnifiedBinary } else { Format::UnifiedText }
}

/// `zone`: the session's time zone (`None`: UTC), where `timestamptz` values are shown.
pub(super) fn query_response(
    schema: SchemaRef,
    rows: Rows,
    tag: &str,
    format: &Format,
    zone: Option<TimeZone>,
) -> Result<QueryResponse> {
    let schema = types::wire_schema(&schema);
    let fields = Arc::new(types::fields(&schema, format)?);
    let mut response = QueryResponse::new(Arc::clone(&fields), row_stream(rows, schema, fields, zone));
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

/// A cursor declared through the extended protocol is also a portal of its name, as in
/// PostgreSQL: psycopg describes it with Describe Portal to learn its columns.
fn register_cursor_portal<C>(client: &C, name: &str)
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore<Statement = Prepared>,
{
    let prepared = Prepared {
        plan: Some(Plan::Fetch { name: name.to_owned(), count: None, only_move: false }),
        workspace_sql: None,
        described: Arc::new(Mutex::new(None)),
    };
    let statement = StoredStatement::new(String::new(), prepared, vec![]);
    client.portal_store().put_portal(Arc::new(Portal::new_cursor(name.to_owned(), Arc::new(statement))));
}

/// The next transaction status after a statement.
fn transaction_after(status: TransactionStatus, outcome: &Result<Outcome>) -> TransactionStatus {
    match outcome {
        Ok(Outcome::Begin(_)) => TransactionStatus::Transaction,
        Ok(Outcome::End(_)) => TransactionStatus::Idle,
        Ok(Outcome::Restored) if status == TransactionStatus::Error => TransactionStatus::Transaction,
        Ok(_) => status,
        Err(_) if status == TransactionStatus::Idle => TransactionStatus::Idle,
        Err(_) => TransactionStatus::Error,
    }
}

/// A statement of a simple query: parsed from its text, or the plan kept for the whole text.
enum Planned {
    Parsed(Box<sqlparser::ast::Statement>),
    Kept(Box<Plan>),
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

        // a text this session planned before, with the same settings, is not parsed again
        let statements = if let Some(plan) = self.shared.exec.kept_plan(&session, &query.query) {
            Ok(vec![Planned::Kept(Box::new(plan))])
        } else if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
            Ok(vec![])
        } else {
            super::on_text(&query.query, gateway::parse)
                .await
                .map(|statements| statements.into_iter().map(|s| Planned::Parsed(Box::new(s))).collect::<Vec<_>>())
        };
        let whole_text = matches!(&statements, Ok(s) if s.len() == 1);
        let mut failure: Option<ErrorInfo> = None;
        match statements {
            Err(e) => {
                self.shared.exec.observe(&session, "invalid", Instant::now(), Some(&e));
                failure = Some(error_info(&e, "ERROR"));
            }
            Ok(statements) => {
                for statement in statements {
                    let mut ends_transaction = false;
                    let changes = session.settings_changes();
                    let planned = match statement {
                        Planned::Kept(plan) => Ok(*plan),
                        Planned::Parsed(statement) => {
                            let planned = self.shared.exec.plan(&session, *statement);
                            if let (true, Ok(plan)) = (whole_text, &planned) {
                                self.shared.exec.keep_plan(&session, &query.query, changes, plan);
                            }
                            planned
                        }
                    };
                    let outcome = match planned {
                        Err(e) => Err(e),
                        Ok(plan)
                            if status == TransactionStatus::Error
                                && !matches!(plan, Plan::Commit | Plan::Rollback | Plan::RollbackToSavepoint(_)) =>
                        {
                            Err(aborted_transaction())
                        }
                        // a statement the protocol prepared (Parse) is one PREPARE's too, as
                        // in PostgreSQL: psycopg deallocates its own so
                        Ok(Plan::Deallocate(Some(name))) if client.portal_store().get_statement(&name).is_some() => {
                            client.portal_store().rm_statement(&name);
                            Ok(Outcome::Command(crate::exec::CommandTag::new("DEALLOCATE")))
                        }
                        Ok(plan) => {
                            ends_transaction = matches!(plan, Plan::Commit | Plan::Rollback);
                            let plan = match plan {
                                // COMMIT of a failed transaction rolls it back, as in PostgreSQL
                                Plan::Commit if status == TransactionStatus::Error => Plan::Rollback,
                                plan => plan,
                            };
                            self.shared.exec.run(&session, &plan, &[], status != TransactionStatus::Idle).await
                        }
                    };
                    // a COMMIT that fails has ended the transaction all the same
                    let next =
                        if ends_transaction { TransactionStatus::Idle } else { transaction_after(status, &outcome) };
                    // (a SET, or a block's end that took settings back)
                    report_changed_parameters(client, &session, changes).await?;
                    match outcome {
                        Ok(Outcome::Rows { schema, rows, tag, binary }) => {
                            let response =
                                query_response(schema, rows, tag, &simple_format(binary), session.time_zone())
                                    .map_err(|e| to_pg(&e))?;
                            match send_rows(client, response).await {
                                Ok(()) => {}
                                // Rows already sent stay sent; the error ends the statement.
                                Err(PgWireError::UserError(info)) => {
                                    failure = Some(*info);
                                    break;
                                }
                                Err(other) => return Err(other),
                            }
                        }
                        Ok(Outcome::Command(tag)) => send_execution_response(client, wire_tag(tag)).await?,
                        Ok(Outcome::CopyIn { copy, columns }) => {
                            return self.begin_simple_copy_in(client, *copy, columns).await;
                        }
                        Ok(Outcome::CopyOut { schema, rows, format }) => {
                            match send_copy_out(client, schema, rows, format, session.time_zone()).await {
                                Ok(tag) => send_execution_response(client, tag).await?,
                                Err(PgWireError::UserError(info)) => {
                                    failure = Some(*info);
                                    break;
                                }
                                Err(other) => return Err(other),
                            }
                        }
                        Ok(Outcome::Begin(tag)) => send_execution_response(client, Tag::new(tag)).await?,
                        Ok(Outcome::Restored) => send_execution_response(client, Tag::new("ROLLBACK")).await?,
                        Ok(Outcome::Warning { tag, warning }) => {
                            let notice = error_info(&warning, "WARNING");
                            client.feed(PgWireBackendMessage::NoticeResponse(notice.into())).await?;
                            send_execution_response(client, wire_tag(tag)).await?
                        }
                        Ok(Outcome::End(tag)) => {
                            send_execution_response(client, Tag::new(end_tag(tag, status))).await?
                        }
                        Err(e) => {
                            failure = Some(error_info(&e, "ERROR"));
                            status = next;
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

    async fn parse_sql<C>(&self, _client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Prepared>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = self.connection.session()?;
        if session.workspace.is_some() {
            if let Some(plan) = crate::exec::session_statement(sql) {
                return Ok(Prepared { plan: Some(plan), workspace_sql: None, described: Arc::new(Mutex::new(None)) });
            }
            let declared: Vec<Option<&str>> = types.iter().map(|t| t.as_ref().map(Type::name)).collect();
            if let Some(plan) = crate::exec::workspace_catalog_query(&session, sql, &declared) {
                return Ok(Prepared { plan: Some(plan), workspace_sql: None, described: Arc::new(Mutex::new(None)) });
            }
            if crate::exec::savepoint_statement(sql).is_some() || gateway::workspace_cursor(sql).is_some() {
                let workspace_sql = Some(sql.to_owned());
                return Ok(Prepared { plan: None, workspace_sql, described: Arc::new(Mutex::new(None)) });
            }
            // One statement per Parse, as PostgreSQL has it, split where DuckDB splits.
            super::on_text(sql, crate::gateway::nesting::check_text).await.map_err(|e| to_pg(&e))?;
            let mut statements = self.connection.shared.exec.split_workspace_text(sql).await.map_err(|e| to_pg(&e))?;
            let workspace_sql = match statements.len() {
                0 => None,
                1 => Some(self.connection.shared.exec.with_declared_parameters(statements.remove(0), &declared).await),
                _ => {
                    return Err(to_pg(
                        &Error::invalid("cannot insert multiple commands into a prepared statement")
                            .with_sqlstate(SqlState::SyntaxError),
                    ));
                }
            };
            return Ok(Prepared { plan: None, workspace_sql, described: Arc::new(Mutex::new(None)) });
        }
        let declared: Vec<Option<&str>> = types.iter().map(|t| t.as_ref().map(Type::name)).collect();
        // a text (with the same declared types) this session planned before is not parsed again:
        // drivers that do not keep their statements send the same Parse for each execution
        let kept_as = if declared.iter().all(Option::is_none) {
            std::borrow::Cow::Borrowed(sql)
        } else {
            // (a client's text holds no NUL: the protocol ends its strings with one)
            let declared: Vec<&str> = declared.iter().map(|t| t.unwrap_or("")).collect();
            std::borrow::Cow::Owned(format!("{sql}\0{}", declared.join(",")))
        };
        if let Some(plan) = self.connection.shared.exec.kept_plan(&session, &kept_as) {
            return Ok(Prepared { plan: Some(plan), workspace_sql: None, described: Arc::new(Mutex::new(None)) });
        }
        let changes = session.settings_changes();
        let mut statements = super::on_text(sql, gateway::parse).await.map_err(|e| to_pg(&e))?;
        if let [statement] = statements.as_mut_slice() {
            gateway::declare_parameter_types(statement, &declared);
        }
        let plan = match statements.len() {
            0 => None,
            1 => {
                let plan = self.connection.shared.exec.plan(&session, statements.remove(0)).map_err(|e| to_pg(&e))?;
                self.connection.shared.exec.keep_plan(&session, &kept_as, changes, &plan);
                Some(plan)
            }
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
            (Some(plan), _) => self.shared.exec.describe(&session, plan).await.map(Shape::of),
            (None, Some(sql)) => self.shared.exec.describe_workspace(&session, sql).await.map(Shape::of),
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

    /// As in PostgreSQL, a named statement is closed (or deallocated) before its name is used
    /// again: pgwire replaced it silently.
    async fn on_parse<C>(&self, client: &mut C, message: pgwire::messages::extendedquery::Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(name) = message.name.as_deref().filter(|n| !n.is_empty())
            && client.portal_store().get_statement(name).is_some()
        {
            let message = format!("prepared statement \"{name}\" already exists");
            return Err(PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), "42P05".into(), message))));
        }
        let statement = StoredStatement::parse(client, &message, self.query_parser()).await?;
        client.portal_store().put_statement(Arc::new(statement));
        client.feed(PgWireBackendMessage::ParseComplete(pgwire::messages::extendedquery::ParseComplete::new())).await?;
        Ok(())
    }

    /// A statement that answers no rows is described as PostgreSQL does: ParameterDescription,
    /// then NoData. (pgwire sends NoData only when there are no parameters either, and a
    /// RowDescription of no columns otherwise, which pgjdbc takes for a statement returning rows:
    /// its batched INSERTs then count 0 rows each.)
    async fn on_describe<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Describe,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type != pgwire::messages::extendedquery::TARGET_TYPE_BYTE_STATEMENT {
            return self._on_describe(client, message).await;
        }
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let Some(statement) = client.portal_store().get_statement(name) else {
            return Err(PgWireError::StatementNotFound(name.to_owned()));
        };
        let described = self.do_describe_statement(client, &statement).await?;
        let oids = described.parameters.iter().map(|t| t.oid()).collect();
        client
            .feed(PgWireBackendMessage::ParameterDescription(pgwire::messages::data::ParameterDescription::new(oids)))
            .await?;
        // (a portal's response: its RowDescription, or NoData when it has no columns)
        pgwire::api::query::send_describe_response(client, &DescribePortalResponse::new(described.fields)).await
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

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self.portal_response(client, portal).await? {
            // Every row at once (Execute with no row limit, what drivers send by default): sent
            // as they stream. pgwire's portal would collect them all in memory first, so one
            // unbounded query could take the server's memory.
            Response::Query(mut rows) if max_rows == 0 => {
                let tag = rows.command_tag().to_owned();
                let mut count = 0;
                while let Some(row) = rows.data_rows().next().await {
                    client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                    count += 1;
                }
                Ok(Response::Execution(Tag::new(&tag).with_rows(count)))
            }
            response => Ok(response),
        }
    }
}

impl Connection {
    /// What a portal's Execute answers (rows still unsent).
    async fn portal_response<C>(&self, client: &mut C, portal: &Portal<Prepared>) -> PgWireResult<Response>
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
            let in_transaction = client.transaction_status() != TransactionStatus::Idle;
            let changes = session.settings_changes();
            let outcome = self.shared.exec.run_workspace(&session, sql, &params, in_transaction).await;
            report_changed_parameters(client, &session, changes).await?;
            if outcome.is_ok()
                && let Some(Ok(gateway::WorkspaceCursor::Declare { name, .. })) = gateway::workspace_cursor(sql)
            {
                register_cursor_portal(client, &name);
            }
            return match outcome.map_err(|e| to_pg(&e))? {
                Outcome::Rows { schema, .. } if changed_result_type(&portal.statement.statement.described, &schema) => {
                    Err(to_pg(&cached_result_changed()))
                }
                Outcome::Rows { schema, rows, tag, .. } => Ok(Response::Query(
                    query_response(schema, rows, tag, &portal.result_column_format, session.time_zone())
                        .map_err(|e| to_pg(&e))?,
                )),
                Outcome::Command(tag) => Ok(match crate::exec::transaction_effect(sql) {
                    Some(true) => Response::TransactionStart(wire_tag(tag)),
                    Some(false) => Response::TransactionEnd(wire_tag(tag)),
                    None => Response::Execution(wire_tag(tag)),
                }),
                Outcome::Warning { tag, warning } => {
                    let notice = error_info(&warning, "WARNING");
                    client.feed(PgWireBackendMessage::NoticeResponse(notice.into())).await?;
                    Ok(Response::Execution(wire_tag(tag)))
                }
                Outcome::Restored => {
                    session.restored.store(true, Ordering::Release);
                    Ok(Response::TransactionStart(Tag::new("ROLLBACK")))
                }
                Outcome::CopyOut { schema, rows, format } => {
                    Ok(Response::Execution(send_copy_out(client, schema, rows, format, session.time_zone()).await?))
                }
                Outcome::CopyIn { copy, columns } => {
                    *self.copy_in.lock().await = Some(*copy);
                    Ok(Response::CopyIn(CopyResponse::new(0, columns, stream::empty())))
                }
                _ => Err(to_pg(&Error::internal("running workspace SQL", "unexpected outcome"))),
            };
        }
        let Some(plan) = &portal.statement.statement.plan else { return Ok(Response::EmptyQuery) };
        let status = client.transaction_status();
        if status == TransactionStatus::Error
            && !matches!(plan, Plan::Commit | Plan::Rollback | Plan::RollbackToSavepoint(_))
        {
            return Err(to_pg(&aborted_transaction()));
        }
        let rollback = Plan::Rollback;
        let plan = if status == TransactionStatus::Error && matches!(plan, Plan::Commit) { &rollback } else { plan };
        let changes = session.settings_changes();
        let outcome = match self.bound_params(portal) {
            Ok(params) => self.shared.exec.run(&session, plan, &params, status != TransactionStatus::Idle).await,
            Err(e) => Err(e),
        };
        if outcome.is_err() && matches!(plan, Plan::Commit | Plan::Rollback) {
            // a COMMIT that fails has ended the transaction all the same
            client.set_transaction_status(TransactionStatus::Idle);
        }
        if let (Ok(_), Plan::DeclareCursor { name, .. }) = (&outcome, plan) {
            register_cursor_portal(client, name);
        }
        report_changed_parameters(client, &session, changes).await?;
        Ok(match outcome {
            Ok(Outcome::Rows { schema, .. }) if changed_result_type(&portal.statement.statement.described, &schema) => {
                return Err(to_pg(&cached_result_changed()));
            }
            Ok(Outcome::Rows { schema, rows, tag, .. }) => {
                let described = portal.statement.statement.described.lock().unwrap_or_else(|p| p.into_inner()).clone();
                // Keep the columns the client was told about in Describe.
                let schema = described
                    .and_then(|d| d.schema.clone())
                    .filter(|d| d.fields().len() == schema.fields().len())
                    .unwrap_or(schema);
                Response::Query(
                    query_response(schema, rows, tag, &portal.result_column_format, session.time_zone())
                        .map_err(|e| to_pg(&e))?,
                )
            }
            Ok(Outcome::Command(tag)) => Response::Execution(wire_tag(tag)),
            Ok(Outcome::CopyIn { copy, columns }) => {
                *self.copy_in.lock().await = Some(*copy);
                Response::CopyIn(CopyResponse::new(0, columns, stream::empty()))
            }
            Ok(Outcome::CopyOut { schema, rows, format }) => {
                Response::Execution(send_copy_out(client, schema, rows, format, session.time_zone()).await?)
            }
            Ok(Outcome::Begin(tag)) => Response::TransactionStart(Tag::new(tag)),
            Ok(Outcome::End(tag)) => Response::TransactionEnd(Tag::new(end_tag(tag, status))),
            Ok(Outcome::Warning { tag, warning }) => {
                client.feed(PgWireBackendMessage::NoticeResponse(error_info(&warning, "WARNING").into())).await?;
                Response::Execution(wire_tag(tag))
            }
            Ok(Outcome::Restored) => {
                session.restored.store(true, Ordering::Release);
                Response::TransactionStart(Tag::new("ROLLBACK"))
            }
            Err(e) => return Err(to_pg(&e)),
        })
    }
}
