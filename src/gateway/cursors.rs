//! Server-side cursors as PostgreSQL clients use them (psycopg's named cursors, SQLAlchemy's
//! `stream_results`): `DECLARE … CURSOR [WITH HOLD] FOR query` (text results), `FETCH` / `MOVE` forward,
//! `CLOSE`. Cursors move forward only (`NO SCROLL`); a cursor lives until its transaction ends,
//! one `WITH HOLD` until it is closed or the session ends.

use sqlparser::ast::{Declare, FetchDirection, ObjectName, Statement, Value};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::{CompatValues, Plan, query};
use crate::error::{Error, Result, SqlState};

/// What `MOVE` becomes for the parser (which has no MOVE): a `FETCH … INTO` this name. A client
/// writing it gets a MOVE, which reads nothing a FETCH would not.
const MOVE_MARKER: &str = "duckstore_move";

pub(super) fn plan_declare(declare: Declare, compat: &CompatValues<'_>) -> Result<Plan> {
    let (name, hold, binary) = declared(&declare)?;
    let statement = format!("DECLARE {declare}");
    let Some(for_query) = declare.for_query else {
        return Err(Error::invalid("DECLARE needs a query").with_sqlstate(SqlState::SyntaxError));
    };
    let query = query::plan_query(Statement::Query(for_query), compat, "SELECT")?;
    Ok(Plan::DeclareCursor { name, query, hold, binary, statement })
}

/// A declared cursor's name and whether it is `WITH HOLD` and `BINARY`; `SCROLL`, which this
/// server has not, refused.
fn declared(declare: &Declare) -> Result<(String, bool, bool)> {
    if declare.scroll == Some(true) {
        return Err(Error::unsupported("cursors are NO SCROLL here: they move forward only"));
    }
    let name = declare.names.first().map(cursor_name).unwrap_or_default();
    Ok((name, declare.hold == Some(true), declare.binary == Some(true)))
}

/// The cursor `CLOSE` names (None: `CLOSE ALL`).
pub(super) fn closed(cursor: sqlparser::ast::CloseCursor) -> Option<String> {
    match cursor {
        sqlparser::ast::CloseCursor::All => None,
        sqlparser::ast::CloseCursor::Specific { name } => Some(cursor_name(&name)),
    }
}

/// A cursor's name as PostgreSQL keeps it: unquoted names fold to lower case.
pub(super) fn cursor_name(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

/// Whether a parsed `FETCH … INTO name` is a `MOVE` (see [`normalize_short_forms`]).
pub(super) fn is_move(into: &Option<ObjectName>) -> bool {
    into.as_ref().is_some_and(|name| name.to_string() == MOVE_MARKER)
}

/// PostgreSQL takes shorter `FETCH`es than the parser does (`FETCH c`, `FETCH 5 c`, `FETCH
/// FORWARD c`) and `MOVE`, which the parser lacks: every statement that starts with either is
/// rewritten, token by token, to `FETCH <direction> FROM <name>`, a MOVE marked `INTO` the
/// move marker. PostgreSQL's `TABLE t` (which the parser lacks too) becomes `SELECT * FROM t`.
/// Anything else about the statement is left for the parser to judge.
pub(super) fn normalize_short_forms(tokens: &mut Vec<TokenWithSpan>) {
    let mut start = 0;
    while start < tokens.len() {
        let end = tokens[start..].iter().position(|t| t.token == Token::SemiColon).map_or(tokens.len(), |i| start + i);
        let significant: Vec<usize> =
            (start..end).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
        let rewritten = match significant.first().map(|&i| &tokens[i].token) {
            Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::FETCH => {
                rewrite(tokens, &significant, false)
            }
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("move") => {
                rewrite(tokens, &significant, true)
            }
            // `TABLE t` is `SELECT * FROM t` (PostgreSQL's short form)
            Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::TABLE => {
                let space = || Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
                let select = [Token::make_keyword("SELECT"), space(), Token::Mul, space(), Token::make_keyword("FROM")];
                let mut statement: Vec<TokenWithSpan> = tokens[start..end].to_vec();
                let at = significant[0] - start;
                statement.splice(at..=at, select.into_iter().map(TokenWithSpan::wrap));
                Some(statement)
            }
            _ => None,
        };
        let next = match rewritten {
            Some(statement) => {
                let length = statement.len();
                tokens.splice(start..end, statement);
                start + length
            }
            None => end,
        };
        start = next + 1;
    }
}

/// One FETCH or MOVE statement's tokens in the parser's form, or None to leave it as written.
fn rewrite(tokens: &[TokenWithSpan], significant: &[usize], is_move: bool) -> Option<Vec<TokenWithSpan>> {
    let (&name, words) = significant[1..].split_last()?;
    if !matches!(tokens[name].token, Token::Word(_)) {
        return None;
    }
    let mut direction: Vec<Token> = words.iter().map(|&i| tokens[i].token.clone()).collect();
    if matches!(direction.last(), Some(Token::Word(w)) if matches!(w.keyword, Keyword::FROM | Keyword::IN)) {
        direction.pop();
    }
    let keyword = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.keyword == k);
    match direction.as_slice() {
        [] => direction.push(Token::make_keyword("NEXT")),
        [only] if keyword(only, Keyword::FORWARD) || keyword(only, Keyword::BACKWARD) => {
            direction.push(Token::Number("1".into(), false))
        }
        _ => {}
    }
    let space = || Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
    let mut out = vec![Token::make_keyword("FETCH")];
    for token in direction {
        out.extend([space(), token]);
    }
    out.extend([space(), Token::make_keyword("FROM"), space(), tokens[name].token.clone()]);
    if is_move {
        out.extend([space(), Token::make_keyword("INTO"), space(), Token::make_word(MOVE_MARKER, None)]);
    }
    Some(out.into_iter().map(TokenWithSpan::wrap).collect())
}

pub(super) fn plan_fetch(name: String, direction: FetchDirection, only_move: bool) -> Result<Plan> {
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
    Ok(Plan::Fetch { name, count, only_move })
}

fn backward() -> Error {
    Error::new(
        crate::error::ErrorKind::FailedPrecondition,
        "cursor can only scan forward: FETCH or MOVE [FORWARD] n, NEXT or ALL",
    )
    .with_sqlstate(SqlState::ObjectNotInPrerequisiteState)
}

/// A cursor statement of a workspace session, whose SQL DuckDB runs but whose cursors duckstore
/// keeps (DuckDB has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceCursor {
    Declare { name: String, hold: bool, binary: bool, query: String },
    Fetch { name: String, count: Option<u64>, only_move: bool },
    Close(Option<String>),
}

/// `sql` as a cursor statement (`DECLARE … CURSOR`, `FETCH`, `MOVE`, `CLOSE`), or None for
/// anything else; Some(Err) for a cursor statement this server refuses (`SCROLL`, backward).
pub fn workspace_cursor(sql: &str) -> Option<Result<WorkspaceCursor>> {
    let first = crate::engine::after_leading_comments(sql)
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !["declare", "fetch", "move", "close"].contains(&first.as_str()) {
        return None;
    }
    let mut statements = super::parse(sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    Some(match statements.remove(0) {
        Statement::Declare { mut stmts, .. } if stmts.len() == 1 && stmts[0].for_query.is_some() => {
            let declare = stmts.remove(0);
            declared(&declare).map(|(name, hold, binary)| {
                let query = declare.for_query.map(|q| q.to_string()).unwrap_or_default();
                WorkspaceCursor::Declare { name, hold, binary, query }
            })
        }
        Statement::Fetch { name, direction, into, .. } if into.is_none() || is_move(&into) => {
            match plan_fetch(cursor_name(&name), direction, into.is_some()) {
                Ok(Plan::Fetch { name, count, only_move }) => Ok(WorkspaceCursor::Fetch { name, count, only_move }),
                Ok(_) => return None,
                Err(e) => Err(e),
            }
        }
        Statement::Close { cursor } => Ok(WorkspaceCursor::Close(closed(cursor))),
        _ => return None,
    })
}
