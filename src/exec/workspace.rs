//! Workspace statements: any DuckDB SQL runs in the session's sandboxed workspace (no gateway:
//! the sandbox is the boundary), with the statement timeout, the size limit and the result
//! limit of workspaces.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::{CommandTag, Executor, Outcome, ParamShape, Rows, Session, Shape};
use crate::engine::{Param, WorkspaceOutcome};
use crate::error::{Error, Result};
use crate::gateway::settings::SessionSettings;
use crate::gateway::{self, CompatValues, ParamType, Plan};
use crate::storage::ViewExpander;

/// The command tag PostgreSQL would answer for a statement without rows.
fn tag_for(sql: &str, changed: usize) -> CommandTag {
    let words: Vec<String> = sql.split_whitespace().take(4).map(|w| w.to_ascii_uppercase()).collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    match first {
        "INSERT" => CommandTag::new("INSERT").with_oid(0).with_rows(changed),
        "UPDATE" | "DELETE" | "MERGE" => CommandTag::new(first).with_rows(changed),
        "CREATE" | "DROP" | "ALTER" => {
            let mut object = words.get(1).cloned().unwrap_or_default();
            if object == "OR" {
                object = words.get(3).cloned().unwrap_or_else(|| "TABLE".into());
            }
            if ["TEMP", "TEMPORARY"].contains(&object.as_str()) {
                object = words.get(2).cloned().unwrap_or_else(|| "TABLE".into());
            }
            CommandTag::new(&format!("{first} {}", object.trim_matches(|c: char| !c.is_ascii_alphabetic())))
        }
        "BEGIN" | "START" => CommandTag::new("BEGIN"),
        "COMMIT" | "END" => CommandTag::new("COMMIT"),
        "ABORT" | "ROLLBACK" => CommandTag::new("ROLLBACK"),
        "" => CommandTag::new("EMPTY"),
        other => CommandTag::new(other.trim_matches(|c: char| !c.is_ascii_alphabetic())),
    }
}

/// Whether a statement opens (`Some(true)`) or ends (`Some(false)`) a transaction block.
pub fn transaction_effect(sql: &str) -> Option<bool> {
    match sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase().trim_end_matches(';') {
        "BEGIN" | "START" => Some(true),
        "COMMIT" | "END" | "ROLLBACK" | "ABORT" => Some(false),
        _ => None,
    }
}

/// How a `read_only_storage` workspace's scans expand a storage view: as the session reading
/// it, with the values its functions answer there (`current_user`, `pg_backend_pid()`, …).
pub fn workspace_view_expander(
    user: String,
    database: String,
    backend_pid: i32,
    startup: &BTreeMap<String, String>,
) -> ViewExpander {
    let settings = SessionSettings::new(&user, startup);
    Arc::new(move |resolve, names| {
        let compat = CompatValues { settings: &settings, user: &user, database: &database, backend_pid };
        gateway::views::expand(resolve, &compat, names, &[], None)
    })
}

impl Executor {
    /// Runs one statement of a workspace session with its timeout and limits.
    pub async fn run_workspace(&self, session: &Arc<Session>, sql: &str, params: &[Param]) -> Result<Outcome> {
        if let Some(plan) = session_timeout_statement(sql) {
            return self.execute(session, &plan, params).await;
        }
        let started = Instant::now();
        let ws = session.workspace.as_ref().ok_or_else(|| Error::internal("running workspace SQL", "no workspace"))?;
        let timeout_ms = super::effective_timeout_ms(
            session.settings().statement_timeout_ms(),
            ws.statement_timeout_secs.saturating_mul(1000),
        );
        let timer = super::start_statement_timer(session, timeout_ms);
        let result = self
            .storage
            .engine()
            .workspace_execute(&ws.conn, sql.to_owned(), params.to_vec(), ws.size_limit, &session.canceller)
            .await;
        let mut result = match result {
            Ok(WorkspaceOutcome::Rows(stream)) => {
                Ok(Outcome::Rows { schema: stream.schema.clone(), rows: Rows::Engine(stream), tag: "SELECT" })
            }
            Ok(WorkspaceOutcome::Done(changed)) => Ok(Outcome::Command(tag_for(sql, changed))),
            Err(e) => Err(super::explain_cancel(session, e)),
        };
        super::hold_timer_while_streaming(&mut result, timer);
        self.observe(session, "workspace", started, result.as_ref().err());
        result
    }

    /// Parameter and result types of a workspace statement.
    pub async fn describe_workspace(&self, session: &Session, sql: &str) -> Result<Shape> {
        let ws =
            session.workspace.as_ref().ok_or_else(|| Error::internal("describing workspace SQL", "no workspace"))?;
        let described = self.storage.engine().workspace_describe(&ws.conn, sql.to_owned()).await?;
        let params = described.params.iter().map(|t| ParamShape::Engine(t.clone(), ParamType::Unknown)).collect();
        let schema = (!described.schema.fields().is_empty()).then_some(described.schema);
        Ok(Shape { params, schema })
    }
}

/// `SET`, `RESET` or `SHOW` of `statement_timeout` in a workspace: the session's own setting
/// (it may lower the workspace's limit), not DuckDB's, which has no such setting.
pub fn session_timeout_statement(sql: &str) -> Option<Plan> {
    // `SET statement_timeout = …` is short; anything long goes the ordinary way (off the worker)
    if sql.len() > 4096 {
        return None;
    }
    let lower = sql.trim_start().to_ascii_lowercase();
    let first = lower.split_whitespace().next()?;
    if !["set", "reset", "show"].contains(&first) || !lower.contains("statement_timeout") {
        return None;
    }
    let mut statements = gateway::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let settings = SessionSettings::new("", &Default::default());
    let compat = CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    match gateway::plan(statements.remove(0), &compat).ok()? {
        plan @ Plan::Set { .. } if matches!(&plan, Plan::Set { name, .. } if name.eq_ignore_ascii_case("statement_timeout")) => {
            Some(plan)
        }
        Plan::Show(name) if name.eq_ignore_ascii_case("statement_timeout") => Some(Plan::Show(name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_postgres() {
        assert_eq!(tag_for("create table t (a int)", 0), CommandTag::new("CREATE TABLE"));
        assert_eq!(tag_for("CREATE OR REPLACE TABLE t AS SELECT 1", 0), CommandTag::new("CREATE TABLE"));
        assert_eq!(tag_for("insert into t values (1)", 3), CommandTag::new("INSERT").with_oid(0).with_rows(3));
        assert_eq!(tag_for("drop view v", 0), CommandTag::new("DROP VIEW"));
        assert_eq!(tag_for("begin", 0), CommandTag::new("BEGIN"));
    }
}
