//! `COPY … FROM STDIN` on the wire: CopyData goes to the session's staged COPY (see
//! `exec::CopyIn`); CopyDone loads it, CopyFail abandons it.

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::Tag;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::response::TransactionStatus;

use super::Connection;
use super::errors::to_pg;
use crate::error::{Error, ErrorKind, SqlState};

impl Connection {
    /// A simple query's `COPY … FROM STDIN` begins: CopyInResponse, then the client's CopyData;
    /// ReadyForQuery follows the CopyDone. Statements after the COPY in the same text are not
    /// run (PostgreSQL runs them once the copy ends: a difference, not yet mended).
    pub(super) async fn begin_simple_copy_in<C>(
        &self,
        client: &mut C,
        copy: crate::exec::CopyIn,
        columns: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        *self.copy_in.lock().await = Some(copy);
        let response = pgwire::api::results::CopyResponse::new(0, columns, futures::stream::empty());
        pgwire::api::copy::send_copy_in_response(client, response).await?;
        client.set_state(pgwire::api::PgWireConnectionState::CopyInProgress(false));
        Ok(())
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut copy = self.copy_in.lock().await;
        match copy.as_mut() {
            Some(copy) => copy.write(&data.data).await,
            None => {
                return Err(to_pg(
                    &Error::invalid("no COPY is in progress").with_sqlstate(SqlState::ProtocolViolation),
                ));
            }
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        let Some(mut copy) = self.copy_in.lock().await.take() else {
            return Err(to_pg(&Error::invalid("no COPY is in progress").with_sqlstate(SqlState::ProtocolViolation)));
        };
        let _busy = session.begin_statement();
        let in_transaction = client.transaction_status() != TransactionStatus::Idle;
        let outcome = self.shared.exec.finish_copy_in(&session, &mut copy, in_transaction).await;
        self.shared.exec.observe(&session, "copy_in_done", copy.started, outcome.as_ref().err());
        metrics::counter!("duckstore_copy_bytes_total", "direction" => "in").increment(copy.bytes);
        drop(copy);
        match outcome {
            Ok(rows) => {
                let tag = Tag::new("COPY").with_rows(rows as usize);
                client.send(PgWireBackendMessage::CommandComplete(tag.into())).await?;
                // Out of copy mode: in the extended protocol the client's Sync (which pgwire
                // ignores during copy-in, as PostgreSQL does) now gets its ReadyForQuery.
                client.set_state(pgwire::api::PgWireConnectionState::ReadyForQuery);
                Ok(())
            }
            Err(e) => Err(to_pg(&e)),
        }
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy_in.lock().await.take();
        to_pg(
            &Error::new(ErrorKind::Cancelled, format!("COPY from stdin failed: {}", fail.message))
                .with_sqlstate(SqlState::QueryCanceled),
        )
    }
}
