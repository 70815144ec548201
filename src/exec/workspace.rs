//! Workspace statements: any DuckDB SQL runs in the session's sandboxed workspace (no gateway:
//! the sandbox is the boundary), with the statement timeout, the size limit and the result
//! limit of workspaces.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::{CommandTag, Executor, Outcome, ParamShape, Rows, Session, Shape};
use crate::engine::{Param, WorkspaceOutcome, after_leading_comments, returns_rows};
use crate::error::{Error, ErrorKind, Result, SqlState};
use crate::gateway::settings::{self, SessionSettings};
use crate::gateway::{self, CompatValues, ParamType, Plan};
use crate::storage::ViewExpander;

/// The command tag PostgreSQL would answer for a statement without rows.
fn tag_for(sql: &str, changed: usize) -> CommandTag {
    let sql = after_leading_comments(sql);
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
    match after_leading_comments(sql).split_whitespace().next().unwrap_or("").to_ascii_uppercase().trim_end_matches(';')
    {
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

/// PostgreSQL's answer to `BEGIN` inside a transaction block, or `COMMIT`/`ROLLBACK` outside
/// one: a warning, and the statement's tag. DuckDB would refuse either, and dbt, for one, sends
/// `BEGIN` twice.
fn transaction_warning(sql: &str, in_transaction: bool) -> Option<Outcome> {
    let opens = transaction_effect(sql)?;
    let (state, message) = match (opens, in_transaction) {
        (true, true) => (SqlState::ActiveSqlTransaction, "there is already a transaction in progress"),
        (false, false) => (SqlState::NoActiveSqlTransaction, "there is no transaction in progress"),
        _ => return None,
    };
    Some(Outcome::Warning {
        tag: tag_for(sql, 0),
        warning: Error::new(ErrorKind::FailedPrecondition, message).with_sqlstate(state),
    })
}

/// The statement as DuckDB gets it: session functions answered from the session (see
/// `gateway::compat::rewrite_session_functions`). A text the gateway's parser cannot read goes
/// as it is: the sandbox, not this rewrite, is what bounds a workspace statement.
fn with_session_functions<'a>(session: &Session, sql: &'a str) -> Result<Cow<'a, str>> {
    let lower = sql.to_ascii_lowercase();
    if sql.len() > 64 * 1024 || !gateway::compat::SESSION_FUNCTION_WORDS.iter().any(|w| lower.contains(w)) {
        return Ok(Cow::Borrowed(sql));
    }
    let Ok(mut statements) = gateway::parse(sql) else { return Ok(Cow::Borrowed(sql)) };
    if statements.len() != 1 {
        return Ok(Cow::Borrowed(sql));
    }
    let settings = session.settings().clone();
    if gateway::compat::rewrite_session_functions(&mut statements[0], &session.compat(&settings))? {
        Ok(Cow::Owned(statements[0].to_string()))
    } else {
        Ok(Cow::Borrowed(sql))
    }
}

impl Executor {
    /// Runs one statement of a workspace session with its timeout and limits.
    /// `in_transaction`: the session is inside a transaction block.
    pub async fn run_workspace(
        &self,
        session: &Arc<Session>,
        sql: &str,
        params: &[Param],
        in_transaction: bool,
    ) -> Result<Outcome> {
        if let Some(plan) = session_statement(sql) {
            return self.execute(session, &plan, params).await;
        }
        if let Some(warning) = transaction_warning(sql, in_transaction) {
            return Ok(warning);
        }
        let sql = &*with_session_functions(session, sql)?;
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
        if session_statement(sql).is_some() || transaction_effect(sql).is_some() {
            return Ok(Shape { params: vec![], schema: None });
        }
        let sql = with_session_functions(session, sql)?.into_owned();
        let described = self.storage.engine().workspace_describe(&ws.conn, sql.clone()).await?;
        let params = described.params.iter().map(|t| ParamShape::Engine(t.clone(), ParamType::Unknown)).collect();
        // DuckDB describes `INSERT` as a `Count` column; PostgreSQL answers NoData
        let schema = (!described.schema.fields().is_empty() && returns_rows(&sql)).then_some(described.schema);
        Ok(Shape { params, schema })
    }
}

/// `SET`, `RESET` or `SHOW` of one of PostgreSQL's session parameters in a workspace
/// (`extra_float_digits`, `DateStyle`, `statement_timeout`, …): the session's own setting, as in
/// a storage session, never DuckDB's, whose configuration is locked. Any other name goes to
/// DuckDB, which refuses to change its settings as before. `search_path` stays DuckDB's: name
/// resolution in the sandbox follows DuckDB's path, and a setting kept here would not move it.
pub fn session_statement(sql: &str) -> Option<Plan> {
    // these statements are short; anything long goes the ordinary way (off the worker)
    if sql.len() > 4096 {
        return None;
    }
    let first = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next()?.to_ascii_lowercase();
    if !["set", "reset", "show", "discard"].contains(&first.as_str()) {
        return None;
    }
    let mut statements = gateway::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let settings = SessionSettings::new("", &Default::default());
    let compat = CompatValues { settings: &settings, user: "", database: "", backend_pid: 0 };
    let ours = |name: &str| settings::is_parameter(name) && !name.eq_ignore_ascii_case("search_path");
    match gateway::plan(statements.remove(0), &compat).ok()? {
        plan @ (Plan::ResetAll | Plan::NoOp("SET" | "RESET")) => Some(plan),
        Plan::Set { name, value } if ours(&name) => Some(Plan::Set { name, value }),
        Plan::Reset(name) if ours(&name) => Some(Plan::Reset(name)),
        Plan::Show(name) if ours(&name) || name == "all" => Some(Plan::Show(name)),
        plan @ Plan::NoOp("DISCARD ALL") => Some(plan),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_parameters_are_the_sessions_and_engine_settings_stay_duckdbs() {
        for sql in [
            "SET extra_float_digits = 3",
            "SET DateStyle = 'ISO'",
            "set application_name to 'x'",
            "SET SESSION TIME ZONE 'UTC'",
            "SHOW TimeZone",
            "SHOW transaction isolation level",
            "RESET ALL",
            "RESET statement_timeout",
            "SET statement_timeout = 100",
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET NAMES 'UTF8'",
            "SHOW ALL",
            "SHOW TIME ZONE",
            "DISCARD ALL",
        ] {
            assert!(session_statement(sql).is_some(), "{sql}");
        }
        for sql in [
            "SET memory_limit = '100GB'",
            "SET threads = 64",
            "SET enable_external_access = true",
            "SET search_path = 'x'",
            "SELECT 1",
            "SET x = 1; SET threads = 1",
            "SHOW TABLES",
        ] {
            assert!(session_statement(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn leading_comments_do_not_hide_the_statement() {
        assert_eq!(tag_for("-- a model\n/* x /* nested */ */ insert into t values (1)", 1).command, "INSERT");
        assert_eq!(transaction_effect("/* dbt */ BEGIN"), Some(true));
        assert!(returns_rows("-- q\nSELECT 1"));
        assert!(!returns_rows("-- q\nINSERT INTO t VALUES (1)"));
        assert!(transaction_warning("BEGIN", true).is_some());
        assert!(transaction_warning("BEGIN", false).is_none());
        assert!(transaction_warning("COMMIT", false).is_some());
        assert!(transaction_warning("COMMIT", true).is_none());
    }

    #[test]
    fn tags_follow_postgres() {
        assert_eq!(tag_for("create table t (a int)", 0), CommandTag::new("CREATE TABLE"));
        assert_eq!(tag_for("CREATE OR REPLACE TABLE t AS SELECT 1", 0), CommandTag::new("CREATE TABLE"));
        assert_eq!(tag_for("insert into t values (1)", 3), CommandTag::new("INSERT").with_oid(0).with_rows(3));
        assert_eq!(tag_for("drop view v", 0), CommandTag::new("DROP VIEW"));
        assert_eq!(tag_for("begin", 0), CommandTag::new("BEGIN"));
    }
}
