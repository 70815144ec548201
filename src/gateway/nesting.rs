//! How deeply a statement may nest, judged on its tokens before any tree is built.
//!
//! Parsers, planners, renderers and destructors all recurse over a statement's tree; a tree
//! thousands of levels deep (`SELECT 1` and 20 000 × ` UNION ALL SELECT 1`, or × ` + 1`)
//! overflows a thread's stack, and a stack overflow aborts the whole server. So no tree that
//! deep is ever built: the tokens bound the depth of any tree a parser can make of them.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Error, ErrorKind, Result, SqlState};

/// Deepest nesting a statement may reach, as [`nesting`] counts it. PostgreSQL 15 runs out of
/// stack at a few thousand chained operators (`54001`), DuckDB refuses expressions deeper than
/// 1000; the count overestimates (every operator of a flat `a = 1 AND b = 2 …` counts), so
/// the bound sits above both.
pub const MAX_NESTING: usize = 4000;

/// Keywords that may put a node above or below another (operators, set operations, joins).
/// `SELECT` is not one: a query nests only in brackets or under a set operation.
const NESTING_KEYWORDS: &[Keyword] = &[
    Keyword::AND,
    Keyword::OR,
    Keyword::NOT,
    Keyword::XOR,
    Keyword::IS,
    Keyword::IN,
    Keyword::LIKE,
    Keyword::ILIKE,
    Keyword::GLOB,
    Keyword::SIMILAR,
    Keyword::BETWEEN,
    Keyword::COLLATE,
    Keyword::AT,
    Keyword::ESCAPE,
    Keyword::CASE,
    Keyword::WHEN,
    Keyword::EXISTS,
    Keyword::ARRAY,
    Keyword::INTERVAL,
    Keyword::JOIN,
    Keyword::LATERAL,
    Keyword::CAST,
    Keyword::OVER,
    Keyword::FILTER,
];

/// A cast (`::`, `CAST`) counts for this many levels: the compat rewrite may put two more
/// nodes under each (a char(n) cast is `CAST(rpad(CAST(x AS VARCHAR), n, ' ') AS CHAR(n))`),
/// and a chain of 1 500 of those overflowed the stack of a later recursion.
const CAST_WEIGHT: usize = 3;

/// Set operations, and what one counts for.
const SET_OPERATIONS: &[Keyword] = &[Keyword::UNION, Keyword::INTERSECT, Keyword::EXCEPT, Keyword::MINUS];
const SET_OPERATION_WEIGHT: usize = 4;

/// An upper bound of the depth of any tree built from `tokens`: every open bracket is a level,
/// and within a level every operator, nesting keyword or other punctuation since the last comma
/// may add one more (a comma separates siblings, which do not nest).
pub fn nesting(tokens: &[TokenWithSpan]) -> usize {
    // Operators counted in each open level, innermost last.
    let mut levels: Vec<usize> = vec![0];
    let mut open_total = 0usize;
    let mut deepest = 0usize;
    for t in tokens {
        match &t.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen | Token::LBracket | Token::LBrace => {
                levels.push(0);
                open_total += 1;
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if levels.len() > 1 {
                    open_total -= levels.pop().unwrap_or(0) + 1;
                }
            }
            Token::Comma => {
                let current = levels.last_mut().expect("the outermost level stays");
                open_total -= *current;
                *current = 0;
            }
            Token::SemiColon => {
                levels.truncate(1);
                levels[0] = 0;
                open_total = 0;
            }
            // A set operation's node is several times the size of an expression's on the stack
            // of every recursion over it (cloning one took 12 KiB per level in a debug build).
            Token::Word(w) if w.quote_style.is_none() && SET_OPERATIONS.contains(&w.keyword) => {
                *levels.last_mut().expect("the outermost level stays") += SET_OPERATION_WEIGHT;
                open_total += SET_OPERATION_WEIGHT;
            }
            Token::DoubleColon => {
                *levels.last_mut().expect("the outermost level stays") += CAST_WEIGHT;
                open_total += CAST_WEIGHT;
            }
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::CAST => {
                *levels.last_mut().expect("the outermost level stays") += CAST_WEIGHT;
                open_total += CAST_WEIGHT;
            }
            Token::Word(w) if w.quote_style.is_some() || !NESTING_KEYWORDS.contains(&w.keyword) => continue,
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Period => continue,
            _ => {
                *levels.last_mut().expect("the outermost level stays") += 1;
                open_total += 1;
            }
        }
        deepest = deepest.max(open_total);
    }
    deepest
}

/// `54001` when `tokens` may nest deeper than [`MAX_NESTING`].
pub fn check_nesting(tokens: &[TokenWithSpan]) -> Result<()> {
    if nesting(tokens) > MAX_NESTING {
        return Err(too_deep());
    }
    Ok(())
}

/// [`check_nesting`] on a text DuckDB alone will parse (workspace SQL). A text sqlparser cannot
/// tokenize is left to DuckDB, whose own bound (`max_expression_depth`) then applies.
pub fn check_text(sql: &str) -> Result<()> {
    // DuckDB's scanner ends a line comment at `\r` too; sqlparser's only at `\n` (a text
    // hid 30 000 brackets behind `--\r` so)
    let sql = sql.replace('\r', "\n");
    match sqlparser::tokenizer::Tokenizer::new(&sqlparser::dialect::DuckDbDialect {}, &sql).tokenize_with_location() {
        Ok(tokens) => check_nesting(&tokens),
        Err(_) => Ok(()),
    }
}

/// PostgreSQL's answer to a statement its stack cannot hold.
pub fn too_deep() -> Error {
    Error::new(
        ErrorKind::ResourceExhausted,
        format!(
            "statement is too deeply nested: more than {MAX_NESTING} levels of operators, brackets or set operations"
        ),
    )
    .with_sqlstate(SqlState::StatementTooComplex)
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::tokenizer::Tokenizer;

    use super::*;

    fn depth(sql: &str) -> usize {
        nesting(&Tokenizer::new(&DuckDbDialect {}, sql).tokenize_with_location().unwrap())
    }

    #[test]
    fn siblings_do_not_add_up_and_chains_do() {
        assert!(depth("SELECT 1") <= 2);
        let values: String = (0..10_000).map(|i| format!("({i}, -{i}, 'x'::text)")).collect::<Vec<_>>().join(", ");
        assert!(depth(&format!("INSERT INTO t VALUES {values}")) < 10, "rows are siblings");
        assert!(depth(&format!("SELECT 1{}", " + 1".repeat(5000))) >= 5000);
        assert!(depth(&format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(1000))) >= 4000);
        assert!(depth(&format!("SELECT {}1{}", "(".repeat(4000), ")".repeat(4000))) >= 4000);
        assert!(depth(&format!("SELECT {}1", "- ".repeat(4000))) >= 4000);
        assert!(depth(&format!("SELECT 1{}", "::int".repeat(4000))) >= 4000);
        assert!(depth(&format!("SELECT {}1 END", "CASE WHEN true THEN ".repeat(4000))) >= 4000);
        // A semicolon starts afresh.
        assert!(depth(&format!("SELECT 1{}; SELECT 1", " + 1".repeat(2000))) < 2100);
        // What DuckDB reads as code behind a `--\r` counts.
        assert!(check_text(&format!("SELECT 1 --\r, {}1{}", "(".repeat(5000), ")".repeat(5000))).is_err());
        // Unbalanced closers cannot drive the count below zero.
        assert!(depth(&format!("SELECT 1{}{}", ")".repeat(100), " + 1".repeat(5000))) >= 5000);
    }
}
