//! Point lookups: a read that is exactly `SELECT <columns> FROM <one table> WHERE <column> =
//! <value>`, which the executor may answer from a table's key index (exec/key_index.rs)
//! instead of running it.
//!
//! The shape is recognized on the planned statement and then confirmed by its whole text: the
//! statement's rendering must equal the one this module writes from the pieces it took, so a
//! clause this module does not know of (a LIMIT, a lock, a sample, a hint, a new sqlparser
//! field) makes it not a lookup, and it runs in the engine as before. Everything in the shape
//! renders as canonical SQL (gateway/canonical.rs) that DuckDB reads the same way.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator, Value,
    WildcardAdditionalOptions,
};

use super::query::TABLE_SLOT;

/// What a point lookup reads, in the client's words (resolved against the table's columns by
/// the executor).
#[derive(Debug, Clone, PartialEq)]
pub struct PointLookup {
    /// Each result column: the table column it names, and the name it is answered under;
    /// `None`: `*`, every column.
    pub columns: Option<Vec<(String, String)>>,
    /// The column compared.
    pub key: String,
    pub value: LookupValue,
}

/// What the key column is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupValue {
    /// An integer literal, as written (an optional `-`, then digits).
    Integer(String),
    /// A string literal.
    Text(String),
    /// A parameter, by its 0-based index, and the type it is cast to (a client that declares
    /// its parameters' types gets a cast to them: gateway::declare_parameter_types).
    Param(usize, ParamCast),
}

/// The cast of a lookup's parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamCast {
    None,
    /// To an integer type holding `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    /// To text.
    Text,
}

/// The point lookup `statement` is, if it is one (of a query with one table slot and no
/// server relations).
pub(super) fn recognize(statement: &Statement) -> Option<PointLookup> {
    let Statement::Query(query) = statement else { return None };
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let [from] = select.from.as_slice() else { return None };
    if !from.joins.is_empty() {
        return None;
    }
    let TableFactor::Table { name, alias, .. } = &from.relation else { return None };
    if name.to_string() != format!("{TABLE_SLOT}0") {
        return None;
    }
    let relation = match alias {
        Some(alias) if alias.columns.is_empty() => format!("{name} AS {}", alias.name),
        Some(_) => return None,
        None => name.to_string(),
    };
    let (columns, projection) = columns(&select.projection)?;
    let Some(Expr::BinaryOp { left, op: BinaryOperator::Eq, right }) = &select.selection else { return None };
    let Expr::Identifier(key) = left.as_ref() else { return None };
    let value = value(right)?;
    let expected = format!("SELECT {projection} FROM {relation} WHERE {key} = {right}");
    (statement.to_string() == expected).then(|| PointLookup { columns, key: key.value.clone(), value })
}

/// The result columns of a projection of plain column names (each maybe renamed), or `*`;
/// with their text as a statement renders them.
type Projection = (Option<Vec<(String, String)>>, String);

fn columns(projection: &[SelectItem]) -> Option<Projection> {
    if let [SelectItem::Wildcard(options)] = projection {
        return (*options == WildcardAdditionalOptions::default()).then(|| (None, "*".to_owned()));
    }
    let mut columns = Vec::with_capacity(projection.len());
    let mut texts = Vec::with_capacity(projection.len());
    for item in projection {
        let (column, name, text) = match item {
            SelectItem::UnnamedExpr(Expr::Identifier(column)) => (column, column, column.to_string()),
            SelectItem::ExprWithAlias { expr: Expr::Identifier(column), alias } => {
                (column, alias, format!("{column} AS {alias}"))
            }
            _ => return None,
        };
        texts.push(text);
        columns.push((column.value.clone(), name.value.clone()));
    }
    Some((Some(columns), texts.join(", ")))
}

fn value(expr: &Expr) -> Option<LookupValue> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, false) if is_digits(n) => Some(LookupValue::Integer(n.clone())),
            Value::SingleQuotedString(s) => Some(LookupValue::Text(s.clone())),
            Value::Placeholder(p) => Some(LookupValue::Param(param_index(p)?, ParamCast::None)),
            _ => None,
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(n, false) if is_digits(n) => Some(LookupValue::Integer(format!("-{n}"))),
                _ => None,
            },
            _ => None,
        },
        Expr::Cast { kind: CastKind::DoubleColon, expr, data_type, format: None } => {
            let Expr::Value(v) = expr.as_ref() else { return None };
            let Value::Placeholder(p) = &v.value else { return None };
            let cast = match data_type {
                DataType::SmallInt(None) | DataType::Int2(None) => {
                    ParamCast::Integer { min: i16::MIN.into(), max: i16::MAX.into() }
                }
                DataType::Int(None) | DataType::Integer(None) | DataType::Int4(None) => {
                    ParamCast::Integer { min: i32::MIN.into(), max: i32::MAX.into() }
                }
                DataType::BigInt(None) | DataType::Int8(None) => ParamCast::Integer { min: i64::MIN, max: i64::MAX },
                DataType::Text | DataType::Varchar(None) => ParamCast::Text,
                _ => return None,
            };
            Some(LookupValue::Param(param_index(p)?, cast))
        }
        _ => None,
    }
}

fn param_index(placeholder: &str) -> Option<usize> {
    placeholder.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A lookup's text as the pattern of the texts that differ from it only in the key's literal
/// (a dashboard or driver sends the same lookup with another key each time): what comes before
/// the literal and after it, unchanged, and the literal's kind. Such a text is the same
/// statement with another value, and is planned by replacing the value (`QueryPlan::with_key`)
/// instead of parsing and planning it again.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteralSlot {
    before: String,
    after: String,
    kind: LiteralKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LiteralKind {
    /// Up to 18 digits, no sign (an `i64`, whatever the digits: the same token, the same plan).
    Digits,
    /// `'…'` without quotes or backslashes inside (the same string token in any dialect and
    /// setting, and written back the same way).
    Text,
}

/// The most digits a slot's literal has.
const MAX_DIGITS: usize = 18;

/// `text`'s literal slot: when `lookup` (its plan's) compares with a literal that is the one
/// literal of `text`, separated from what is around it as [`key_in`] insists.
pub fn literal_slot(text: &str, lookup: &PointLookup) -> Option<LiteralSlot> {
    let (kind, written) = match &lookup.value {
        LookupValue::Integer(digits) if is_digits(digits) && digits.len() <= MAX_DIGITS => {
            (LiteralKind::Digits, digits.clone())
        }
        LookupValue::Text(s) if plain_text(s) => (LiteralKind::Text, format!("'{s}'")),
        _ => return None,
    };
    let tokens = sqlparser::tokenizer::Tokenizer::new(&sqlparser::dialect::DuckDbDialect {}, text)
        .tokenize_with_location()
        .ok()?;
    let mut literals = tokens.iter().filter(|t| {
        matches!(
            t.token,
            sqlparser::tokenizer::Token::Number(..)
                | sqlparser::tokenizer::Token::SingleQuotedString(_)
                | sqlparser::tokenizer::Token::DoubleQuotedString(_)
                | sqlparser::tokenizer::Token::EscapedStringLiteral(_)
                | sqlparser::tokenizer::Token::NationalStringLiteral(_)
                | sqlparser::tokenizer::Token::UnicodeStringLiteral(_)
                | sqlparser::tokenizer::Token::HexStringLiteral(_)
                | sqlparser::tokenizer::Token::DollarQuotedString(_)
                | sqlparser::tokenizer::Token::Placeholder(_)
        )
    });
    let (Some(literal), None) = (literals.next(), literals.next()) else { return None };
    let start = byte_offset(text, literal.span.start)?;
    let end = byte_offset(text, literal.span.end)?;
    if text.get(start..end)? != written {
        return None;
    }
    let slot = LiteralSlot { before: text[..start].to_owned(), after: text[end..].to_owned(), kind };
    (key_in(&slot, text) == Some(lookup.value.clone())).then_some(slot)
}

/// The key value `text` compares with, if it is `slot`'s text with another literal of its kind.
pub fn key_in(slot: &LiteralSlot, text: &str) -> Option<LookupValue> {
    let literal = text.strip_prefix(slot.before.as_str())?.strip_suffix(slot.after.as_str())?;
    // the literal is one token whatever it holds: nothing before it that joins with it (`E'`,
    // `$1`, `x5`), nothing after it that continues it (`5.0`, `5e3`, `0x1`, `''`)
    let separated_before = slot.before.ends_with(|c: char| c.is_ascii_whitespace() || c == '=' || c == '(');
    let separated_after =
        slot.after.is_empty() || slot.after.starts_with(|c: char| c.is_ascii_whitespace() || c == ';' || c == ')');
    if !separated_before || !separated_after {
        return None;
    }
    match slot.kind {
        LiteralKind::Digits => {
            (is_digits(literal) && literal.len() <= MAX_DIGITS).then(|| LookupValue::Integer(literal.to_owned()))
        }
        LiteralKind::Text => {
            let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
            plain_text(inner).then(|| LookupValue::Text(inner.to_owned()))
        }
    }
}

fn plain_text(s: &str) -> bool {
    !s.contains(['\'', '\\'])
}

/// The byte offset of a tokenizer location (1-based line and column, in characters).
fn byte_offset(text: &str, at: sqlparser::tokenizer::Location) -> Option<usize> {
    let (mut line, mut column) = (1u64, 1u64);
    for (offset, c) in text.char_indices() {
        if (line, column) == (at.line, at.column) {
            return Some(offset);
        }
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    ((line, column) == (at.line, at.column)).then_some(text.len())
}

/// `statement` (a lookup) comparing with `value` instead: the literal replaced in place.
pub(super) fn replace_key(statement: &mut Statement, value: &LookupValue) -> Option<()> {
    let Statement::Query(query) = statement else { return None };
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let Some(Expr::BinaryOp { right, .. }) = &mut select.selection else { return None };
    let Expr::Value(v) = right.as_mut() else { return None };
    v.value = match (&v.value, value) {
        (Value::Number(_, false), LookupValue::Integer(digits)) if is_digits(digits) => {
            Value::Number(digits.clone(), false)
        }
        (Value::SingleQuotedString(_), LookupValue::Text(s)) => Value::SingleQuotedString(s.clone()),
        _ => return None,
    };
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(sql: &str) -> Option<PointLookup> {
        let statement = super::super::parse(&sql.replace("TBL", &format!("{TABLE_SLOT}0"))).unwrap().pop().unwrap();
        recognize(&statement)
    }

    #[test]
    fn only_the_plain_shape_is_a_lookup() {
        let star = lookup("SELECT * FROM TBL AS t WHERE id = 5").unwrap();
        assert_eq!(star, PointLookup { columns: None, key: "id".into(), value: LookupValue::Integer("5".into()) });
        let named = lookup(r#"SELECT "name", id AS k FROM TBL WHERE "id" = $2"#).unwrap();
        assert_eq!(named.columns, Some(vec![("name".into(), "name".into()), ("id".into(), "k".into())]));
        assert_eq!(named.value, LookupValue::Param(1, ParamCast::None));
        let cast = lookup("SELECT * FROM TBL WHERE id = $1::int8").unwrap();
        assert_eq!(cast.value, LookupValue::Param(0, ParamCast::Integer { min: i64::MIN, max: i64::MAX }));
        assert_eq!(
            lookup("SELECT * FROM TBL WHERE id = $1::text").unwrap().value,
            LookupValue::Param(0, ParamCast::Text)
        );
        assert_eq!(lookup("SELECT * FROM TBL WHERE id = -7").unwrap().value, LookupValue::Integer("-7".into()));
        assert_eq!(lookup("SELECT * FROM TBL WHERE id = 'x'").unwrap().value, LookupValue::Text("x".into()));
        for other in [
            "SELECT * FROM TBL WHERE id = 5 LIMIT 1",
            "SELECT * FROM TBL WHERE id = 5 ORDER BY id",
            "SELECT * FROM TBL WHERE id = 5 FOR UPDATE",
            "SELECT DISTINCT * FROM TBL WHERE id = 5",
            "SELECT * FROM TBL WHERE id = 5.0",
            "SELECT * FROM TBL WHERE id = $1::numeric",
            "SELECT * FROM TBL WHERE id = 5::int8",
            "SELECT * FROM TBL WHERE id = CAST($1 AS BIGINT)",
            "SELECT * FROM TBL WHERE id = 5 AND id = 6",
            "SELECT * FROM TBL WHERE id <> 5",
            "SELECT * FROM TBL WHERE 5 = id",
            "SELECT * FROM TBL WHERE id = id",
            "SELECT * FROM TBL WHERE t.id = 5",
            "SELECT * FROM TBL AS t(a, b) WHERE a = 5",
            "SELECT * EXCLUDE (a) FROM TBL WHERE id = 5",
            "SELECT id + 1 FROM TBL WHERE id = 5",
            "SELECT * FROM TBL, TBL WHERE id = 5",
            "SELECT * FROM TBL TABLESAMPLE (1 ROWS) WHERE id = 5",
            "SELECT * FROM TBL WHERE id = 5 UNION SELECT * FROM TBL WHERE id = 5",
            "WITH x AS (SELECT 1) SELECT * FROM TBL WHERE id = 5",
            "SELECT * FROM TBL WHERE id = 5 GROUP BY id",
            "SELECT * FROM other WHERE id = 5",
        ] {
            assert_eq!(lookup(other), None, "{other}");
        }
    }
}
