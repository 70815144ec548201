//! Cursors in workspace sessions. DuckDB has none, and a workspace's one connection cannot keep
//! a query open between statements, so `DECLARE` runs the query into a temporary table of the
//! session (in the sandbox, under the workspace's limits) and `FETCH` / `MOVE` read it forward
//! from a kept position. The rows are those of the query at DECLARE, as PostgreSQL's (the
//! result is insensitive to later writes); `WITH HOLD` costs nothing more. DuckDB's temporary
//! tables follow the transaction: a ROLLBACK takes those its block made.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, Int64Array};
use arrow::datatypes::SchemaRef;

use super::{CommandTag, Executor, Outcome, Rows, Session};
use crate::engine::{Param, WorkspaceOutcome};
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::WorkspaceCursor;
use crate::storage::workspaces::WorkspaceSession;

/// Cursors a workspace session may hold at once (each keeps a temporary table).
const MAX_CURSORS: usize = 16;

static NEXT_TABLE: AtomicU64 = AtomicU64::new(1);

/// One open cursor of a workspace session.
pub struct WorkspaceCursorState {
    /// The temporary table holding its rows.
    table: String,
    position: u64,
    rows: u64,
    hold: bool,
    /// `BINARY`: its rows go out in binary.
    binary: bool,
    /// Declared in the open transaction block.
    in_open_block: bool,
}

fn no_cursor(name: &str) -> Error {
    Error::not_found(format!("cursor \"{name}\" does not exist")).with_sqlstate(SqlState::InvalidCursorName)
}

fn workspace(session: &Session) -> Result<&WorkspaceSession> {
    session.workspace.as_ref().ok_or_else(|| Error::internal("workspace cursor", "no workspace"))
}

impl Executor {
    /// Runs SQL of the server's own making on the session's workspace connection.
    async fn workspace_internal(&self, session: &Session, sql: String, params: Vec<Param>) -> Result<WorkspaceOutcome> {
        let ws = workspace(session)?;
        self.storage.engine().workspace_execute(&ws.conn, sql, params, ws.size_limit, &session.canceller).await
    }

    /// `DECLARE`, `FETCH`, `MOVE` or `CLOSE` in a workspace session.
    pub(super) async fn workspace_cursor(
        &self,
        session: &Arc<Session>,
        cursor: WorkspaceCursor,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        match cursor {
            WorkspaceCursor::Declare { name, hold, binary, query } => {
                if !in_transaction && !hold {
                    return Err(Error::new(
                        ErrorKind::FailedPrecondition,
                        "DECLARE CURSOR can only be used in transaction blocks",
                    )
                    .with_sqlstate(SqlState::NoActiveSqlTransaction));
                }
                {
                    let cursors = session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner());
                    if cursors.contains_key(&name) {
                        return Err(Error::already_exists(format!("cursor \"{name}\" already exists"))
                            .with_sqlstate(SqlState::DuplicateCursor));
                    }
                    if cursors.len() >= MAX_CURSORS {
                        return Err(Error::new(
                            ErrorKind::ResourceExhausted,
                            format!("a workspace session keeps at most {MAX_CURSORS} cursors open; CLOSE one first"),
                        )
                        .with_sqlstate(SqlState::ProgramLimitExceeded));
                    }
                }
                // the query as any workspace statement runs (`version()`, `current_user`, …)
                let query = self.as_postgres(session, &query).await?.into_owned();
                let table = format!("duckstore_cursor_{}", NEXT_TABLE.fetch_add(1, Ordering::Relaxed));
                self.workspace_internal(session, format!("CREATE TEMP TABLE {table} AS {query}"), params.to_vec())
                    .await?;
                let rows = match self.count_rows(session, &table).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = self.workspace_internal(session, format!("DROP TABLE IF EXISTS {table}"), vec![]).await;
                        return Err(e);
                    }
                };
                let state =
                    WorkspaceCursorState { table, position: 0, rows, hold, binary, in_open_block: in_transaction };
                session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(name, state);
                Ok(Outcome::Command(CommandTag::new("DECLARE CURSOR")))
            }
            WorkspaceCursor::Fetch { name, count, only_move } => {
                let (table, from, take, binary) = {
                    let mut cursors = session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner());
                    let cursor = cursors.get_mut(&name).ok_or_else(|| no_cursor(&name))?;
                    let take = count.unwrap_or(u64::MAX).min(cursor.rows - cursor.position);
                    let from = cursor.position;
                    cursor.position += take;
                    (cursor.table.clone(), from, take, cursor.binary)
                };
                if only_move {
                    return Ok(Outcome::Command(CommandTag::new("MOVE").with_rows(take as usize)));
                }
                // a temporary table keeps its rows in the order they were inserted
                let sql = format!("SELECT * FROM {table} LIMIT {take} OFFSET {from}");
                match self.workspace_internal(session, sql, vec![]).await? {
                    WorkspaceOutcome::Rows(stream) => {
                        let schema = stream.schema.clone();
                        Ok(Outcome::Rows { schema, rows: Rows::Engine(stream), tag: "FETCH", binary })
                    }
                    WorkspaceOutcome::Done(_) => Err(Error::internal("fetching from a cursor", "no rows answered")),
                }
            }
            WorkspaceCursor::Close(name) => {
                let closed: Vec<WorkspaceCursorState> = {
                    let mut cursors = session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner());
                    match &name {
                        Some(name) => vec![cursors.remove(name).ok_or_else(|| no_cursor(name))?],
                        None => cursors.drain().map(|(_, c)| c).collect(),
                    }
                };
                for cursor in closed {
                    self.workspace_internal(session, format!("DROP TABLE IF EXISTS {}", cursor.table), vec![]).await?;
                }
                Ok(Outcome::Command(CommandTag::new(if name.is_some() { "CLOSE CURSOR" } else { "CLOSE CURSOR ALL" })))
            }
        }
    }

    pub(super) async fn count_rows(&self, session: &Session, table: &str) -> Result<u64> {
        let WorkspaceOutcome::Rows(stream) =
            self.workspace_internal(session, format!("SELECT count(*) FROM {table}"), vec![]).await?
        else {
            return Err(Error::internal("counting a cursor's rows", "no rows answered"));
        };
        let mut rows = Rows::Engine(stream);
        let mut count = 0;
        while let Some(batch) = rows.next().await {
            let batch = batch?;
            if let Some(column) = batch.column(0).as_any().downcast_ref::<Int64Array>()
                && !column.is_empty()
            {
                count = column.value(0).max(0) as u64;
            }
        }
        Ok(count)
    }

    /// The columns a workspace cursor answers (a `FETCH` being described).
    pub(super) async fn workspace_cursor_schema(&self, session: &Session, name: &str) -> Result<SchemaRef> {
        let table = {
            let cursors = session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner());
            cursors.get(name).map(|c| c.table.clone()).ok_or_else(|| no_cursor(name))?
        };
        let ws = workspace(session)?;
        let (sql, path) =
            (format!("SELECT * FROM {table} LIMIT 0"), super::workspace::session_duckdb_path(session, &ws.conn));
        let described = self.storage.engine().workspace_describe(&ws.conn, sql, path).await?;
        Ok(described.schema)
    }

    /// A workspace's transaction block ended: its cursors close, except those `WITH HOLD` when
    /// it committed (DuckDB's ROLLBACK took the temporary tables the block made already).
    pub(super) async fn end_workspace_cursors(&self, session: &Session, committed: bool) {
        let closing: Vec<WorkspaceCursorState> = {
            let mut cursors = session.workspace_cursors.lock().unwrap_or_else(|p| p.into_inner());
            let names: Vec<String> = cursors
                .iter()
                .filter(|(_, c)| !c.hold || (c.in_open_block && !committed))
                .map(|(n, _)| n.clone())
                .collect();
            let closing = names.iter().filter_map(|n| cursors.remove(n)).collect();
            for cursor in cursors.values_mut() {
                cursor.in_open_block = false;
            }
            closing
        };
        for cursor in closing {
            let drop = format!("DROP TABLE IF EXISTS {}", cursor.table);
            if let Err(e) = self.workspace_internal(session, drop, vec![]).await {
                tracing::warn!(error = %e, "dropping a closed cursor's rows");
            }
        }
    }
}
