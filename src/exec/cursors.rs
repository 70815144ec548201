//! Open cursors of a storage session: a `DECLARE`d query's stream, read forward by `FETCH` and
//! skipped by `MOVE`. A cursor holds its query's engine work (a slot of the engine pool) until it
//! is closed, like a result the client has not read to its end. So a session keeps a few at
//! most; a cursor closes when its transaction ends unless it is `WITH HOLD` (then it lives until
//! `CLOSE`, `DISCARD ALL` or the session's end; PostgreSQL copies a held cursor's rows at
//! COMMIT, here its engine read goes on, on the snapshot it started with); and one still open when
//! the statement timeout runs out is closed then, as an unread result's query is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::{CommandTag, Executor, Outcome, Rows, Session};
use crate::engine::Param;
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::QueryPlan;
use crate::gateway::pg_catalog::CatalogRelation;
use crate::relation::{RelationBuilder, Value};

/// Open cursors a session may hold at once.
const MAX_CURSORS: usize = 4;

/// The most one `FETCH` gathers: its rows are sent after they are all read, so `FETCH ALL` of a
/// large result must not take the server's memory with it.
const MAX_FETCH_BYTES: usize = 256 << 20;

pub struct Cursor {
    /// The declaration as the client wrote it (as sqlparser prints it), for `pg_cursors`.
    statement: String,
    hold: bool,
    /// `BINARY`: its rows go out in binary.
    binary: bool,
    /// Declared in the open transaction block: a ROLLBACK closes it even when it is held.
    in_open_block: bool,
    created: chrono::DateTime<chrono::Utc>,
    schema: SchemaRef,
    rows: Rows,
    /// Rows of the last batch not fetched yet.
    rest: Option<RecordBatch>,
    id: u64,
    /// Closes the cursor when the statement timeout runs out; stopped when the cursor closes.
    _expiry: Option<super::AbortOnDrop>,
}

static NEXT_CURSOR: AtomicU64 = AtomicU64::new(1);

fn no_cursor(name: &str) -> Error {
    Error::not_found(format!("cursor \"{name}\" does not exist")).with_sqlstate(SqlState::InvalidCursorName)
}

/// What `DECLARE` says of a cursor besides its query.
pub(super) struct Declaration<'a> {
    pub name: &'a str,
    pub hold: bool,
    pub binary: bool,
    pub statement: &'a str,
    /// Declared inside a transaction block.
    pub in_transaction: bool,
}

impl Executor {
    pub(super) async fn declare_cursor(
        &self,
        session: &Arc<Session>,
        declaration: Declaration<'_>,
        query: &QueryPlan,
        params: &[Param],
    ) -> Result<Outcome> {
        let Declaration { name, hold, binary, statement, in_transaction } = declaration;
        if !in_transaction && !hold {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "DECLARE CURSOR can only be used in transaction blocks",
            )
            .with_sqlstate(SqlState::NoActiveSqlTransaction));
        }
        {
            let cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
            if cursors.contains_key(name) {
                return Err(Error::already_exists(format!("cursor \"{name}\" already exists"))
                    .with_sqlstate(SqlState::DuplicateCursor));
            }
            if cursors.len() >= MAX_CURSORS {
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    format!("a session keeps at most {MAX_CURSORS} cursors open; CLOSE one first"),
                )
                .with_sqlstate(SqlState::ProgramLimitExceeded));
            }
        }
        let stream = self.query(session, query, params).await?;
        let id = NEXT_CURSOR.fetch_add(1, Ordering::Relaxed);
        let timeout_ms =
            super::effective_timeout_ms(session.settings().statement_timeout_ms(), self.statement_timeout_ms);
        let expiry = (timeout_ms > 0).then(|| {
            let (weak, name) = (Arc::downgrade(session), name.to_owned());
            super::AbortOnDrop(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
                if let Some(session) = weak.upgrade() {
                    let mut cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
                    if cursors.get(&name).is_some_and(|c| c.id == id) {
                        tracing::info!(session = session.id, cursor = %name, "closing a cursor open past the statement timeout");
                        // dropped outside the lock: the cursor's engine work ends with it
                        let expired = cursors.remove(&name);
                        drop(cursors);
                        drop(expired);
                    }
                }
            }))
        });
        let cursor = Cursor {
            statement: statement.to_owned(),
            hold,
            binary,
            in_open_block: in_transaction,
            created: chrono::Utc::now(),
            schema: stream.schema.clone(),
            rows: Rows::Engine(stream),
            rest: None,
            id,
            _expiry: expiry,
        };
        session.cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), cursor);
        Ok(Outcome::Command(CommandTag::new("DECLARE CURSOR")))
    }

    /// The next `count` rows of a cursor (every row left: None).
    pub(super) async fn fetch(&self, session: &Session, name: &str, count: Option<u64>) -> Result<Outcome> {
        // the cursor leaves the map while it is read, so that no lock is held across the engine
        let mut cursor =
            session.cursors.lock().unwrap_or_else(|p| p.into_inner()).remove(name).ok_or_else(|| no_cursor(name))?;
        let fetched = take_rows(&mut cursor, count.map_or(usize::MAX, |c| c as usize)).await;
        let (schema, binary) = (cursor.schema.clone(), cursor.binary);
        // a read that failed (or was cancelled) leaves the cursor's position unknown: it closes,
        // so a later FETCH answers 34000 rather than a silent end of rows
        let batch = fetched?;
        session.cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), cursor);
        Ok(Outcome::Rows { schema, rows: Rows::Ready(Some(batch)), tag: "FETCH", binary })
    }

    /// `MOVE`: skips the next `count` rows of a cursor (every row left: None), answering how
    /// many it skipped.
    pub(super) async fn move_cursor(&self, session: &Session, name: &str, count: Option<u64>) -> Result<Outcome> {
        let mut cursor =
            session.cursors.lock().unwrap_or_else(|p| p.into_inner()).remove(name).ok_or_else(|| no_cursor(name))?;
        // (closed when the skipping fails, as a failed FETCH closes it)
        let skipped = skip_rows(&mut cursor, count.map_or(usize::MAX, |c| c as usize)).await?;
        session.cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), cursor);
        Ok(Outcome::Command(CommandTag::new("MOVE").with_rows(skipped)))
    }

    /// The columns a cursor answers (for a `FETCH` being described).
    pub(super) fn cursor_schema(&self, session: &Session, name: &str) -> Result<SchemaRef> {
        let cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
        cursors.get(name).map(|c| c.schema.clone()).ok_or_else(|| no_cursor(name))
    }

    pub(super) fn close_cursor(&self, session: &Session, name: Option<&str>) -> Result<Outcome> {
        let mut cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
        match name {
            None => cursors.clear(),
            Some(name) => {
                cursors.remove(name).ok_or_else(|| no_cursor(name))?;
            }
        }
        Ok(Outcome::Command(CommandTag::new(if name.is_some() { "CLOSE CURSOR" } else { "CLOSE CURSOR ALL" })))
    }
}

/// Takes up to `count` rows from a cursor, keeping the rest of a batch for the next fetch.
async fn take_rows(cursor: &mut Cursor, count: usize) -> Result<RecordBatch> {
    let mut taken: Vec<RecordBatch> = Vec::new();
    let mut gathered = 0usize;
    advance(cursor, count, |batch| {
        gathered += batch.get_array_memory_size();
        if gathered > MAX_FETCH_BYTES {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!("one FETCH answers at most {} MiB; fetch fewer rows at a time", MAX_FETCH_BYTES >> 20),
            )
            .with_sqlstate(SqlState::ProgramLimitExceeded));
        }
        taken.push(batch);
        Ok(())
    })
    .await?;
    concat_batches(&cursor.schema, &taken).map_err(|e| Error::internal("fetching from a cursor", e))
}

/// Skips up to `count` rows of a cursor (`MOVE`), holding no more than a batch at a time.
async fn skip_rows(cursor: &mut Cursor, count: usize) -> Result<usize> {
    advance(cursor, count, |_| Ok(())).await
}

/// Moves a cursor forward by up to `count` rows, handing each batch passed over to `each` and
/// keeping the rest of the last one for later; answers how many rows it moved.
async fn advance(cursor: &mut Cursor, count: usize, mut each: impl FnMut(RecordBatch) -> Result<()>) -> Result<usize> {
    let mut moved = 0usize;
    while moved < count {
        let batch = match cursor.rest.take() {
            Some(batch) => batch,
            None => match cursor.rows.next().await {
                Some(batch) => batch?,
                None => break,
            },
        };
        let want = count - moved;
        if batch.num_rows() > want {
            cursor.rest = Some(batch.slice(want, batch.num_rows() - want));
            moved += want;
            each(batch.slice(0, want))?;
        } else {
            moved += batch.num_rows();
            each(batch)?;
        }
    }
    Ok(moved)
}

/// A transaction block ended: its cursors close, except those `WITH HOLD` when it committed;
/// a ROLLBACK closes even held cursors the block declared, as PostgreSQL does.
pub(super) fn end_of_transaction(session: &Session, committed: bool) {
    close_where(session, |c| !c.hold || (c.in_open_block && !committed));
    for cursor in session.cursors.lock().unwrap_or_else(|p| p.into_inner()).values_mut() {
        cursor.in_open_block = false;
    }
}

/// What a savepoint remembers of the session's cursors: those declared after it have ids
/// from this one on.
pub(super) fn mark() -> u64 {
    NEXT_CURSOR.load(Ordering::Relaxed)
}

/// `ROLLBACK TO SAVEPOINT`: cursors declared since the savepoint (`mark`) close, held or not.
pub(super) fn close_declared_since(session: &Session, mark: u64) {
    close_where(session, |c| c.id >= mark);
}

/// Every cursor closes (`DISCARD ALL`).
pub(super) fn close_all(session: &Session) {
    close_where(session, |_| true);
}

/// Closes the session's cursors `closing` picks; their engine work ends outside the lock.
fn close_where(session: &Session, closing: impl Fn(&Cursor) -> bool) {
    let mut cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
    let names: Vec<String> = cursors.iter().filter(|(_, c)| closing(c)).map(|(n, _)| n.clone()).collect();
    let closed: Vec<Cursor> = names.iter().filter_map(|n| cursors.remove(n)).collect();
    drop(cursors);
    drop(closed);
}

/// `pg_cursors`: the session's open cursors.
pub(super) fn pg_cursors(session: &Session) -> Result<RecordBatch> {
    let mut out = RelationBuilder::new(CatalogRelation::Cursors.columns());
    let cursors = session.cursors.lock().unwrap_or_else(|p| p.into_inner());
    let mut open: Vec<(&String, &Cursor)> = cursors.iter().collect();
    open.sort_by_key(|(_, c)| c.id);
    for (name, cursor) in open {
        out.row(vec![
            name.clone().into(),
            cursor.statement.clone().into(),
            cursor.hold.into(),
            cursor.binary.into(),
            false.into(),
            Value::Timestamp(cursor.created.timestamp_micros()),
        ]);
    }
    drop(cursors);
    out.finish()
}
