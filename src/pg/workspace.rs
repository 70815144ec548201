//! Workspace sessions on the wire: any DuckDB SQL runs in the session's sandboxed workspace
//! (no gateway: the sandbox is the boundary), with the statement timeout, the size limit and
//! the result limit of workspaces.

use std::sync::Arc;
use std::time::Instant;

use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::{send_execution_response, send_query_response, send_ready_for_query};
use pgwire::api::results::Tag;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};

use super::Connection;
use super::query::{Outcome, Rows};
use super::session::Session;
use super::types;
use crate::engine::{Param, WorkspaceOutcome};
use crate::error::{Error, ErrorKind, Result, SqlState};

/// The command tag PostgreSQL would answer for a statement without rows.
fn tag_for(sql: &str, changed: usize) -> Tag {
    let words: Vec<String> = sql.split_whitespace().take(4).map(|w| w.to_ascii_uppercase()).collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    match first {
        "INSERT" => Tag::new("INSERT").with_oid(0).with_rows(changed),
        "UPDATE" | "DELETE" | "MERGE" => Tag::new(first).with_rows(changed),
        "CREATE" | "DROP" | "ALTER" => {
            let mut object = words.get(1).cloned().unwrap_or_default();
            if object == "OR" {
                object = words.get(3).cloned().unwrap_or_else(|| "TABLE".into());
            }
            if ["TEMP", "TEMPORARY"].contains(&object.as_str()) {
                object = words.get(2).cloned().unwrap_or_else(|| "TABLE".into());
            }
            Tag::new(&format!("{first} {}", object.trim_matches(|c: char| !c.is_ascii_alphabetic())))
        }
        "BEGIN" | "START" => Tag::new("BEGIN"),
        "COMMIT" | "END" => Tag::new("COMMIT"),
        "ABORT" | "ROLLBACK" => Tag::new("ROLLBACK"),
        "" => Tag::new("EMPTY"),
        other => Tag::new(other.trim_matches(|c: char| !c.is_ascii_alphabetic())),
    }
}

/// Whether a statement opens (`Some(true)`) or ends (`Some(false)`) a transaction block.
pub(crate) fn transaction_effect(sql: &str) -> Option<bool> {
    match sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase().trim_end_matches(';') {
        "BEGIN" | "START" => Some(true),
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" => Some(false),
        _ => None,
    }
}

impl Connection {
    /// A simple-protocol query of a workspace session: its statements one by one, rows and
    /// tags as PostgreSQL sends them, then ReadyForQuery with the transaction status.
    pub(super) async fn workspace_simple_query<C>(
        &self,
        client: &mut C,
        session: &Arc<Session>,
        text: &str,
        mut status: TransactionStatus,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let split = match super::on_text(text, crate::gateway::nesting::check_text).await {
            Ok(()) => self.shared.storage.engine().workspace_statements(text.to_owned()).await,
            Err(e) => Err(e),
        };
        let statements = match split {
            Ok(statements) => statements,
            Err(e) => {
                client.feed(PgWireBackendMessage::ErrorResponse(super::errors::error_info(&e, "ERROR").into())).await?;
                client.set_state(PgWireConnectionState::ReadyForQuery);
                client.set_transaction_status(status);
                send_ready_for_query(client, status).await?;
                return Ok(());
            }
        };
        if statements.is_empty() {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
        }
        let mut failure = None;
        for statement in statements {
            let sql = statement.sql;
            if status == TransactionStatus::Error && transaction_effect(&sql) != Some(false) {
                failure = Some(super::errors::error_info(
                    &Error::new(
                        ErrorKind::FailedPrecondition,
                        "current transaction is aborted, commands ignored until end of transaction block",
                    )
                    .with_sqlstate(SqlState::InFailedSqlTransaction),
                    "ERROR",
                ));
                break;
            }
            match self.run_workspace(session, &sql, &[]).await {
                Ok(Outcome::Rows { schema, rows, tag }) => {
                    let response = super::query::query_response(schema, rows, tag, &Format::UnifiedText)
                        .map_err(|e| super::errors::to_pg(&e))?;
                    match send_query_response(client, response, true).await {
                        Ok(()) => {}
                        Err(PgWireError::UserError(info)) => {
                            failure = Some(*info);
                            break;
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(Outcome::Tag(tag)) => {
                    send_execution_response(client, tag).await?;
                    match transaction_effect(&sql) {
                        Some(true) => status = TransactionStatus::Transaction,
                        Some(false) => status = TransactionStatus::Idle,
                        None => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failure = Some(super::errors::error_info(&e, "ERROR"));
                    break;
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

    /// Runs one statement of a workspace session with its timeout and limits.
    pub(super) async fn run_workspace(&self, session: &Arc<Session>, sql: &str, params: &[Param]) -> Result<Outcome> {
        if let Some(plan) = session_timeout_statement(sql) {
            return self.execute(session, &plan, params).await;
        }
        let started = Instant::now();
        let ws = session.workspace.as_ref().ok_or_else(|| Error::internal("running workspace SQL", "no workspace"))?;
        let timeout_ms = super::query::effective_timeout_ms(
            session.settings().statement_timeout_ms(),
            ws.statement_timeout_secs.saturating_mul(1000),
        );
        let timer = super::query::start_statement_timer(session, timeout_ms);
        let engine = self.shared.storage.engine();
        let result = engine
            .workspace_execute(&ws.conn, sql.to_owned(), params.to_vec(), ws.size_limit, &session.canceller)
            .await;
        let mut result = match result {
            Ok(WorkspaceOutcome::Rows(stream)) => Ok(Outcome::Rows {
                schema: types::wire_schema(&stream.schema),
                rows: Rows::Engine(stream),
                tag: "SELECT",
            }),
            Ok(WorkspaceOutcome::Done(changed)) => Ok(Outcome::Tag(tag_for(sql, changed))),
            Err(e) => Err(self.explain_cancel(session, e)),
        };
        super::query::hold_timer_while_streaming(&mut result, timer);
        self.observe(session, "workspace", started, result.as_ref().err());
        result
    }

    /// Parameter and result types of a workspace statement.
    pub(super) async fn describe_workspace(&self, session: &Session, sql: &str) -> Result<super::query::Shape> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("describing workspace SQL", "no workspace"))?;
        let described = self.shared.storage.engine().workspace_describe(&ws.conn, sql.to_owned()).await?;
        let params =
            described.params.iter().map(|t| types::arrow_param_type(t).unwrap_or(pgwire::api::Type::TEXT)).collect();
        let schema = (!described.schema.fields().is_empty()).then(|| types::wire_schema(&described.schema));
        Ok(super::query::Shape { params, schema })
    }
}

/// `SET`, `RESET` or `SHOW` of `statement_timeout` in a workspace: the session's own setting
/// (it may lower the workspace's limit), not DuckDB's, which has no such setting.
pub(super) fn session_timeout_statement(sql: &str) -> Option<crate::gateway::Plan> {
    // `SET statement_timeout = …` is short; anything long goes the ordinary way (off the worker)
    if sql.len() > 4096 {
        return None;
    }
    let lower = sql.trim_start().to_ascii_lowercase();
    let first = lower.split_whitespace().next()?;
    if !["set", "reset", "show"].contains(&first) || !lower.contains("statement_timeout") {
        return None;
    }
    let mut statements = crate::gateway::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let settings = crate::gateway::settings::SessionSettings::new("", &Default::default());
    let compat = crate::gateway::CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    match crate::gateway::plan(statements.remove(0), &compat).ok()? {
        plan @ crate::gateway::Plan::Set { .. } if matches!(&plan, crate::gateway::Plan::Set { name, .. } if name.eq_ignore_ascii_case("statement_timeout")) => {
            Some(plan)
        }
        crate::gateway::Plan::Show(name) if name.eq_ignore_ascii_case("statement_timeout") => {
            Some(crate::gateway::Plan::Show(name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_postgres() {
        assert_eq!(tag_for("create table t (a int)", 0), Tag::new("CREATE TABLE"));
        assert_eq!(tag_for("CREATE OR REPLACE TABLE t AS SELECT 1", 0), Tag::new("CREATE TABLE"));
        assert_eq!(tag_for("insert into t values (1)", 3), Tag::new("INSERT").with_oid(0).with_rows(3));
        assert_eq!(tag_for("drop view v", 0), Tag::new("DROP VIEW"));
        assert_eq!(tag_for("begin", 0), Tag::new("BEGIN"));
    }
}
