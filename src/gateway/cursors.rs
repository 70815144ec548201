//! Server-side cursors as PostgreSQL clients use them (psycopg's named cursors, SQLAlchemy's
//! `stream_results`): `DECLARE … CURSOR FOR query`, `FETCH FORWARD n`, `CLOSE`. Cursors move
//! forward only (`NO SCROLL`) and live until the transaction ends.

use sqlparser::ast::{Declare, FetchDirection, Statement, Value};

use super::{CompatValues, Plan, query};
use crate::error::{Error, Result, SqlState};

pub(super) fn plan_declare(declare: Declare, compat: &CompatValues<'_>) -> Result<Plan> {
    let name = declare.names.first().map(cursor_name).unwrap_or_default();
    if declare.hold == Some(true) {
        return Err(Error::unsupported(
            "cursors WITH HOLD are not supported; declare it WITHOUT HOLD inside a transaction",
        ));
    }
    if declare.scroll == Some(true) {
        return Err(Error::unsupported("cursors are NO SCROLL here: they move forward only"));
    }
    let Some(for_query) = declare.for_query else {
        return Err(Error::invalid("DECLARE needs a query").with_sqlstate(SqlState::SyntaxError));
    };
    let query = query::plan_query(Statement::Query(for_query), compat, "SELECT")?;
    Ok(Plan::DeclareCursor { name, query })
}

/// A cursor's name as PostgreSQL keeps it: unquoted names fold to lower case.
pub(super) fn cursor_name(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

pub(super) fn plan_fetch(name: String, direction: FetchDirection) -> Result<Plan> {
    let count = |v: &sqlparser::ast::ValueWithSpan| -> Result<u64> {
        match &v.value {
            Value::Number(n, _) => n.parse::<u64>().map_err(|_| backward()),
            _ => Err(Error::invalid("FETCH takes a row count").with_sqlstate(SqlState::SyntaxError)),
        }
    };
    let count = match &direction {
        FetchDirection::Next | FetchDirection::Forward { limit: None } => Some(1),
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => Some(count(limit)?),
        FetchDirection::All | FetchDirection::ForwardAll => None,
        _ => return Err(backward()),
    };
    Ok(Plan::Fetch { name, count })
}

fn backward() -> Error {
    Error::unsupported("cursors move forward only: FETCH [FORWARD] n, NEXT or ALL")
}
