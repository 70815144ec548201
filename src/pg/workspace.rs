//! Workspace sessions on the wire: a simple query's statements one by one (see
//! `exec::workspace` for how each runs).

use std::sync::Arc;

use futures::{Sink, SinkExt};
use pgwire::api::query::{send_execution_response, send_ready_for_query};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};

use super::Connection;
use crate::error::{Error, ErrorKind, SqlState};
use crate::exec::{Outcome, Session};

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
            Ok(()) => self.shared.exec.workspace_statements(text).await,
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
        for sql in statements {
            let changes = session.settings_changes();
            let restores = crate::exec::savepoint_statement(&sql) == Some(crate::exec::SavepointStatement::RollbackTo);
            if status == TransactionStatus::Error && crate::exec::transaction_effect(&sql) != Some(false) && !restores {
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
            let outcome = self.shared.exec.run_workspace(session, &sql, &[], status != TransactionStatus::Idle).await;
            // (a SET, or a block's end that took settings back)
            super::query::report_changed_parameters(client, session, changes).await?;
            match outcome {
                Ok(Outcome::Rows { schema, rows, tag, binary }) => {
                    let response = super::query::query_response(
                        schema,
                        rows,
                        tag,
                        &super::query::simple_format(binary),
                        session.time_zone(),
                    )
                    .map_err(|e| super::errors::to_pg(&e))?;
                    match super::query::send_rows(client, response).await {
                        Ok(()) => {}
                        Err(PgWireError::UserError(info)) => {
                            failure = Some(*info);
                            break;
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(Outcome::Command(tag)) => {
                    send_execution_response(client, super::query::wire_tag(tag)).await?;
                    match crate::exec::transaction_effect(&sql) {
                        Some(true) => status = TransactionStatus::Transaction,
                        Some(false) => status = TransactionStatus::Idle,
                        None => {}
                    }
                }
                Ok(Outcome::CopyOut { schema, rows, format }) => {
                    match super::query::send_copy_out(client, schema, rows, format, session.time_zone()).await {
                        Ok(tag) => send_execution_response(client, tag).await?,
                        Err(PgWireError::UserError(info)) => {
                            failure = Some(*info);
                            break;
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(Outcome::CopyIn { copy, columns }) => {
                    return self.begin_simple_copy_in(client, *copy, columns).await;
                }
                Ok(Outcome::Warning { tag, warning }) => {
                    let notice = super::errors::error_info(&warning, "WARNING");
                    client.feed(PgWireBackendMessage::NoticeResponse(notice.into())).await?;
                    send_execution_response(client, super::query::wire_tag(tag)).await?;
                }
                Ok(Outcome::Restored) => {
                    send_execution_response(client, pgwire::api::results::Tag::new("ROLLBACK")).await?;
                    status = TransactionStatus::Transaction;
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
}
