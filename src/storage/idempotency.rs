//! Idempotency keys: a procedure that creates something, retried with the same key by the same
//! token, answers its first result instead of acting twice.

use std::future::Future;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;

use super::{SessionContext, Storage};
use crate::clock::now_micros;
use crate::error::{Error, ErrorKind, Result, SqlState};

/// One lock per (actor, key), so concurrent retries wait for the first call.
pub(crate) type KeyLocks = std::sync::Mutex<std::collections::HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>;

/// How long answers are kept (at least the ten minutes clients retry within).
const KEEP_MICROS: i64 = 60 * 60 * 1_000_000;

fn encode(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())
        .map_err(|e| Error::internal("storing an answer", e))?;
    writer.write(batch).map_err(|e| Error::internal("storing an answer", e))?;
    writer.finish().map_err(|e| Error::internal("storing an answer", e))?;
    drop(writer);
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<RecordBatch> {
    let mut reader =
        arrow::ipc::reader::StreamReader::try_new(bytes, None).map_err(|e| Error::internal("reading an answer", e))?;
    reader
        .next()
        .ok_or_else(|| Error::internal("reading an answer", "empty"))?
        .map_err(|e| Error::internal("reading an answer", e))
}

/// The answer as it may be stored: token secrets are never written to the catalog (a stolen
/// catalog must not let anyone log in), so a replay answers the token's id without its secret;
/// `rotate_token` issues a new one.
fn without_secrets(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(
            |(c, f)| if f.name() == "token" { arrow::array::new_null_array(c.data_type(), c.len()) } else { c.clone() },
        )
        .collect();
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::internal("storing an answer", e))
}

impl Storage {
    /// Forgets stored answers older than the retention (the janitor calls this).
    pub async fn purge_idempotency(&self) -> Result<usize> {
        self.blocking(|inner| inner.catalog.write(|tx| tx.purge_answers_before(now_micros() - KEEP_MICROS))).await
    }

    /// Runs `run` once per (token, key): a retry with the same procedure and arguments answers
    /// the stored result; the same key with anything else is a conflict (`23505`).
    pub async fn idempotent<F, Fut>(
        &self,
        ctx: &SessionContext,
        key: String,
        procedure: &'static str,
        arguments: String,
        run: F,
    ) -> Result<RecordBatch>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<RecordBatch>>,
    {
        if key.is_empty() || key.len() > 256 {
            return Err(Error::invalid("an idempotency key must have 1 to 256 characters"));
        }
        let actor = ctx.user.clone();
        let lock = {
            let mut keys = self.inner.idempotency_locks.lock().unwrap_or_else(|p| p.into_inner());
            keys.retain(|_, l| Arc::strong_count(l) > 1);
            Arc::clone(keys.entry((actor.clone(), key.clone())).or_default())
        };
        let _held = lock.lock().await;
        let (lookup_actor, lookup_key) = (actor.clone(), key.clone());
        let stored = self
            .blocking(move |inner| inner.catalog.read(|tx| tx.idempotent_answer(&lookup_actor, &lookup_key)))
            .await?;
        if let Some((stored_procedure, stored_arguments, answer)) = stored {
            if stored_procedure == procedure && stored_arguments == arguments {
                metrics::counter!("duckstore_idempotent_replays_total").increment(1);
                return decode(&answer);
            }
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("idempotency key \"{key}\" was already used for a different call ({stored_procedure})"),
            )
            .with_sqlstate(SqlState::UniqueViolation));
        }
        let batch = run().await?;
        let answer = encode(&without_secrets(&batch)?)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let now = now_micros();
                tx.purge_answers_before(now - KEEP_MICROS)?;
                tx.remember_answer(&actor, &key, procedure, &arguments, &answer, now)
            })
        })
        .await?;
        Ok(batch)
    }
}
