//! Canonical rendering: before a planned statement becomes text for DuckDB, every leaf a client
//! wrote is put into one form that both parsers read the same way, so no client text passes
//! through as written.
//!
//! - Strings become plain `'…'` literals, or a dollar-quoted literal with a tag the value cannot
//!   close when it holds a quote or a backslash (sqlparser's quote escaping leaves `\'` as it is,
//!   which DuckDB reads as the end of the string).
//! - Identifiers are always double-quoted; one holding `"`, a NUL or a control character is
//!   refused (sqlparser leaves `\"` unescaped the same way).
//! - Numbers are plain decimal numbers; parameters are `$n`; other literal forms are refused.
//! - Operators come from a fixed list of those both parsers spell alike; custom and unknown
//!   operators are refused, as are expression and type forms of other SQL dialects.
//!
//! DuckDB's own parse of the result is still compared with the plan (gateway/oracle.rs): this
//! pass makes that comparison succeed for honest statements, the comparison makes it safe.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, DataType, DollarQuotedString, Expr, Ident, Query, Select, SetExpr, Statement, TableFactor,
    UnaryOperator, Value, ValueWithSpan, VisitMut, VisitorMut,
};

use crate::error::{Error, Result, SqlState};

fn refuse(what: impl Into<String>) -> Error {
    Error::unsupported(format!("{} is not supported in a storage session", what.into()))
}

/// Puts `statement` into canonical form in place, or refuses it.
pub(super) fn canonicalize(statement: &mut Statement) -> Result<()> {
    match statement.visit(&mut Canonical) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The canonical form of a string literal's value.
pub(super) fn string_literal(value: &str) -> Result<Value> {
    if value.contains('\0') {
        return Err(Error::invalid("a string may not contain a NUL character")
            .with_sqlstate(SqlState::CharacterNotInRepertoire));
    }
    if !value.contains('\'') && !value.contains('\\') {
        return Ok(Value::SingleQuotedString(value.to_owned()));
    }
    // A dollar quote reads its content verbatim; the tag is chosen so that `$tag$` first occurs
    // where it closes the string. Tags start with a letter: DuckDB reads `$1x$` as a parameter.
    for n in 0u64.. {
        let tag = format!("s{n}");
        let close = format!("${tag}$");
        let mut text = value.to_owned();
        text.push_str(&close);
        if text.find(&close) == Some(value.len()) {
            return Ok(Value::DollarQuotedString(DollarQuotedString { value: value.to_owned(), tag: Some(tag) }));
        }
    }
    unreachable!("some tag does not occur in a finite string")
}

fn is_decimal_number(n: &str) -> bool {
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], Some(&n[i + 1..])),
        None => (n, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok =
        digits(int) && frac.is_none_or(digits) && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

fn check_ident(ident: &Ident) -> Result<()> {
    if ident.value.contains('"') || ident.value.chars().any(|c| c == '\0' || c.is_control()) {
        return Err(Error::invalid(format!(
            "names with double quotes or control characters are not supported: {:?}",
            ident.value
        ))
        .with_sqlstate(SqlState::InvalidName));
    }
    if ident.value.is_empty() {
        return Err(Error::invalid("zero-length delimited identifier").with_sqlstate(SqlState::SyntaxError));
    }
    Ok(())
}

fn check_data_type(data_type: &DataType) -> Result<()> {
    use DataType as T;
    match data_type {
        T::Character(_)
        | T::Char(_)
        | T::CharacterVarying(_)
        | T::CharVarying(_)
        | T::Varchar(_)
        | T::Nvarchar(_)
        | T::Uuid
        | T::Blob(_)
        | T::Bytea
        | T::Numeric(_)
        | T::Decimal(_)
        | T::Dec(_)
        | T::Float(_)
        | T::TinyInt(_)
        | T::UTinyInt
        | T::Int2(_)
        | T::SmallInt(_)
        | T::USmallInt
        | T::Int(_)
        | T::Int4(_)
        | T::Int8(_)
        | T::Int16
        | T::Int32
        | T::Int64
        | T::Int128
        | T::Integer(_)
        | T::HugeInt
        | T::UHugeInt
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::UInt128
        | T::BigInt(_)
        | T::UBigInt
        | T::Float4
        | T::Float32
        | T::Float64
        | T::Real
        | T::Float8
        | T::Double(_)
        | T::DoublePrecision
        | T::Bool
        | T::Boolean
        | T::Date
        | T::Time(_, _)
        | T::Datetime(_)
        | T::Timestamp(_, _)
        | T::Interval { .. }
        | T::JSON
        | T::JSONB
        | T::Text
        | T::String(_)
        | T::Bit(_)
        | T::BitVarying(_)
        | T::Regclass => Ok(()),
        T::Array(elem) => match elem {
            sqlparser::ast::ArrayElemTypeDef::None => Ok(()),
            sqlparser::ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | sqlparser::ast::ArrayElemTypeDef::AngleBracket(inner)
            | sqlparser::ast::ArrayElemTypeDef::Parenthesis(inner) => check_data_type(inner),
            _ => Err(refuse(format!("type {data_type}"))),
        },
        T::Map(key, value, _) => {
            check_data_type(key)?;
            check_data_type(value)
        }
        T::Struct(fields, _) => {
            for field in fields {
                if let Some(name) = &field.field_name {
                    check_ident(name)?;
                }
                if field.options.is_some() {
                    return Err(refuse("struct field options"));
                }
                check_data_type(&field.field_type)?;
            }
            Ok(())
        }
        T::Custom(name, modifiers) => {
            let simple = name.0.iter().all(|p| {
                p.as_ident().is_some_and(|i| {
                    !i.value.is_empty()
                        && i.value.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && i.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            });
            if !simple || !modifiers.is_empty() {
                return Err(refuse(format!("type {name}")));
            }
            Ok(())
        }
        other => Err(refuse(format!("type {other}"))),
    }
}

fn check_binary(op: &BinaryOperator) -> Result<()> {
    use BinaryOperator as B;
    match op {
        B::Plus
        | B::Minus
        | B::Multiply
        | B::Divide
        | B::Modulo
        | B::StringConcat
        | B::Gt
        | B::Lt
        | B::GtEq
        | B::LtEq
        | B::Eq
        | B::NotEq
        | B::And
        | B::Or
        | B::BitwiseOr
        | B::BitwiseAnd
        | B::PGBitwiseXor
        | B::PGBitwiseShiftLeft
        | B::PGBitwiseShiftRight
        | B::PGExp
        // `^`, which the gateway's parser reads as XOR: rendered `^` again, which DuckDB (as
        // PostgreSQL) reads as a power
        | B::BitwiseXor
        | B::DuckIntegerDivide
        | B::PGLikeMatch
        | B::PGILikeMatch
        | B::PGNotLikeMatch
        | B::PGNotILikeMatch
        | B::PGStartsWith
        | B::Arrow
        | B::LongArrow
        | B::Glob => Ok(()),
        other => Err(refuse(format!("operator {other}"))),
    }
}

/// The keyword `DEFAULT` where a value goes, kept as a keyword (a quoted identifier would name a
/// column).
const DEFAULT_KEYWORD: &str = "DEFAULT";

struct Canonical;

impl VisitorMut for Canonical {
    type Break = Error;

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<Error> {
        let replacement = match &value.value {
            Value::SingleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::UnicodeStringLiteral(s)
            | Value::TripleSingleQuotedString(s)
            | Value::TripleDoubleQuotedString(s)
            | Value::NationalStringLiteral(s) => string_literal(s),
            Value::DollarQuotedString(d) => string_literal(&d.value),
            Value::Number(n, long) => {
                if *long || !is_decimal_number(n) {
                    Err(Error::invalid(format!("invalid number {n}")).with_sqlstate(SqlState::SyntaxError))
                } else {
                    return ControlFlow::Continue(());
                }
            }
            // `DEFAULT` in VALUES or SET (put here by `pre_visit_expr`: no client token spells it)
            Value::Placeholder(p) if p == DEFAULT_KEYWORD => return ControlFlow::Continue(()),
            Value::Placeholder(p) => {
                let numbered =
                    p.strip_prefix('$').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
                if numbered {
                    return ControlFlow::Continue(());
                }
                Err(Error::invalid("use numbered parameters ($1, $2, …)").with_sqlstate(SqlState::SyntaxError))
            }
            Value::Boolean(_) | Value::Null => return ControlFlow::Continue(()),
            other => Err(refuse(format!("the literal {other}"))),
        };
        match replacement {
            Ok(v) => {
                value.value = v;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_ident(&mut self, ident: &mut Ident) -> ControlFlow<Error> {
        if let Err(e) = check_ident(ident) {
            return ControlFlow::Break(e);
        }
        ident.quote_style = Some('"');
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        if let Expr::Identifier(i) = expr
            && i.quote_style.is_none()
            && i.value.eq_ignore_ascii_case("default")
        {
            *expr = Expr::Value(ValueWithSpan::from(Value::Placeholder(DEFAULT_KEYWORD.to_owned())));
            return ControlFlow::Continue(());
        }
        let outcome = match expr {
            Expr::BinaryOp { op, .. } => check_binary(op),
            Expr::AnyOp { compare_op, .. } | Expr::AllOp { compare_op, .. } => check_binary(compare_op),
            Expr::UnaryOp { op, .. } => match op {
                UnaryOperator::Plus | UnaryOperator::Minus | UnaryOperator::Not | UnaryOperator::BitwiseNot => Ok(()),
                other => Err(refuse(format!("operator {other}"))),
            },
            Expr::Cast { data_type, format, .. } => {
                if format.is_some() {
                    Err(refuse("CAST … FORMAT"))
                } else {
                    check_data_type(data_type)
                }
            }
            Expr::TypedString(typed) => check_data_type(&typed.data_type),
            Expr::Function(f) => {
                if !matches!(f.parameters, sqlparser::ast::FunctionArguments::None) {
                    Err(refuse("function parameters"))
                } else if f.uses_odbc_syntax {
                    Err(refuse("ODBC function syntax"))
                } else {
                    Ok(())
                }
            }
            Expr::Prefixed { .. }
            | Expr::JsonAccess { .. }
            | Expr::MatchAgainst { .. }
            | Expr::OuterJoin(_)
            | Expr::Prior(_)
            | Expr::MemberOf(_)
            | Expr::Named { .. }
            | Expr::Struct { .. }
            | Expr::RLike { .. }
            | Expr::IsNormalized { .. }
            | Expr::Convert { .. } => Err(refuse(format!("the expression {expr}"))),
            _ => Ok(()),
        };
        match outcome {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        // Function names stay unquoted: some are keywords with a syntax of their own
        // (`ARRAY(SELECT …)`), which a quoted name would turn into a plain call. A name that is
        // not a plain identifier is refused instead; DuckDB's parse names every function
        // again for the judge.
        if let Expr::Function(f) = expr {
            for part in &mut f.name.0 {
                let sqlparser::ast::ObjectNamePart::Identifier(ident) = part else {
                    return ControlFlow::Break(refuse(format!("the function name {}", f.name)));
                };
                let plain = ident.value.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && ident.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !plain {
                    return ControlFlow::Break(refuse(format!("the function name {:?}", ident.value)));
                }
                ident.quote_style = None;
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        let outcome = if query.settings.is_some() || query.format_clause.is_some() || query.for_clause.is_some() {
            Err(refuse("this query clause"))
        } else if !query.pipe_operators.is_empty() {
            Err(refuse("pipe operators"))
        } else if matches!(
            *query.body,
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
        ) {
            Err(Error::permission_denied("a write inside a query is not allowed"))
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<Error> {
        let foreign = select.top.is_some()
            || !select.lateral_views.is_empty()
            || select.prewhere.is_some()
            || !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
            || !select.connect_by.is_empty()
            || select.value_table_mode.is_some()
            || select.into.is_some();
        if foreign {
            return ControlFlow::Break(refuse("this SELECT clause"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        match factor {
            TableFactor::Table { version: Some(_), .. }
            // (`unnest(…) WITH ORDINALITY` is a table function's: DuckDB numbers its rows)
            | TableFactor::Table { with_ordinality: true, args: None, .. }
            | TableFactor::MatchRecognize { .. }
            | TableFactor::JsonTable { .. }
            | TableFactor::OpenJsonTable { .. }
            | TableFactor::XmlTable { .. }
            | TableFactor::SemanticView { .. }
            | TableFactor::Function { .. }
            | TableFactor::TableFunction { .. } => ControlFlow::Break(refuse("this kind of table reference")),
            TableFactor::Table { partitions, json_path, sample, index_directives, with_hints, inheritance, .. }
                if !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_directives.is_empty()
                    || !with_hints.is_empty()
                    || inheritance.is_some() =>
            {
                ControlFlow::Break(refuse("this table reference clause"))
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(sql: &str) -> Result<String> {
        let mut statement = crate::gateway::parse(sql)?.remove(0);
        canonicalize(&mut statement)?;
        Ok(statement.to_string())
    }

    #[test]
    fn strings_are_rendered_so_that_duckdb_reads_the_same_value() {
        assert_eq!(render("SELECT 'plain'").unwrap(), "SELECT 'plain'");
        // sqlparser would render this value as 'a\'b'; DuckDB ends that string after the backslash.
        let out = render(r"SELECT E'a\\''b'").unwrap();
        assert_eq!(out, r"SELECT $s0$a\'b$s0$");
        assert_eq!(render("SELECT $x$ends with $s0$x$").unwrap(), "SELECT 'ends with $s0'");
        assert_eq!(render(r"SELECT $x$it's $s0$x$").unwrap(), r"SELECT $s1$it's $s0$s1$");
        assert!(string_literal("a'$s0").map(|v| v.to_string()).unwrap().ends_with("$s1$"));
        // DuckDB reads `$1x$` as a parameter: whatever sqlparser made of it, it is not passed on.
        if let Ok(out) = render("SELECT $1x$a$1x$") {
            assert!(!out.contains("$1x$"), "{out}");
        }
    }

    #[test]
    fn identifiers_are_quoted_and_dangerous_ones_refused() {
        assert_eq!(render("SELECT a AS b FROM t").unwrap(), "SELECT \"a\" AS \"b\" FROM \"t\"");
        assert!(render(r#"SELECT 1 AS "a\""b""#).is_err());
    }

    #[test]
    fn custom_operators_and_foreign_forms_are_refused() {
        assert!(render("SELECT 1 %/* 2").is_err() || render("SELECT 1 OPERATOR(pg_catalog.%) 2").is_err());
        assert!(render("SELECT 1 <-> 2").is_err());
        assert!(render("SELECT x::mytype(3) FROM t").is_err());
        assert!(render("SELECT 0x1f").is_err());
    }

    #[test]
    fn decimal_numbers() {
        for ok in ["1", "1.5", ".5", "1.", "1e10", "1.5E-3"] {
            assert!(is_decimal_number(ok), "{ok}");
        }
        for bad in ["", ".", "1e", "0x1f", "1_000", "1e+"] {
            assert!(!is_decimal_number(bad), "{bad}");
        }
    }
}
