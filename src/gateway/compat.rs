//! PostgreSQL session functions clients call on connect (`version()`, `current_setting(…)`,
//! `current_user` …), answered from the session instead of DuckDB, whose answers would be
//! DuckDB's (its `version()` is "v1.5.6", which drivers cannot parse).

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Statement, Value, ValueWithSpan, VisitMut, VisitorMut,
};

use super::query::name_parts;
use super::settings::{SERVER_VERSION, SessionSettings};
use crate::error::{Error, Result};

/// What the session functions answer.
pub struct CompatValues<'a> {
    pub settings: &'a SessionSettings,
    pub user: &'a str,
    pub database: &'a str,
    pub backend_pid: i32,
}

pub fn version_string() -> String {
    format!("PostgreSQL {SERVER_VERSION} on x86_64-pc-linux-gnu, compiled by rustc, 64-bit")
}

pub fn rewrite_functions(statement: &mut Statement, values: &CompatValues<'_>) -> Result<()> {
    let mut rewriter = Rewriter { values };
    match statement.visit(&mut rewriter) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Rewriter<'a, 'b> {
    values: &'a CompatValues<'b>,
}

fn text(s: impl Into<String>) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(s.into())))
}

fn literal_args(args: &FunctionArguments) -> Option<Vec<Option<String>>> {
    match args {
        FunctionArguments::None => Some(vec![]),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                    Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(Some(s.clone())),
                    Value::Boolean(b) => Some(Some(b.to_string())),
                    Value::Null => Some(None),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        FunctionArguments::Subquery(_) => None,
    }
}

impl VisitorMut for Rewriter<'_, '_> {
    type Break = Error;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Error> {
        // SQL-standard value keywords without parentheses parse as bare identifiers.
        if let Expr::Identifier(ident) = expr
            && ident.quote_style.is_none()
        {
            let replacement = match ident.value.to_ascii_lowercase().as_str() {
                "current_user" | "session_user" | "current_role" => text(self.values.user),
                "current_catalog" => text(self.values.database),
                "current_schema" => text("public"),
                _ => return ControlFlow::Continue(()),
            };
            *expr = replacement;
            return ControlFlow::Continue(());
        }
        let Expr::Function(f) = expr else { return ControlFlow::Continue(()) };
        let Some(parts) = name_parts(&f.name) else { return ControlFlow::Continue(()) };
        let name = match parts.as_slice() {
            [name] => name.as_str(),
            [schema, name] if schema == "pg_catalog" => name.as_str(),
            _ => return ControlFlow::Continue(()),
        };
        let replacement = match name {
            "version" => text(version_string()),
            "current_user" | "session_user" | "user" | "current_role" | "getpgusername" => text(self.values.user),
            "current_database" | "current_catalog" => text(self.values.database),
            "current_schema" => text("public"),
            "pg_backend_pid" => {
                Expr::Value(ValueWithSpan::from(Value::Number(self.values.backend_pid.to_string(), false)))
            }
            "current_setting" => {
                let Some(args) = literal_args(&f.args) else {
                    return ControlFlow::Break(Error::unsupported("current_setting() takes a literal parameter name"));
                };
                let (setting, missing_ok) = match args.as_slice() {
                    [Some(n)] => (n.clone(), false),
                    [Some(n), flag] => (n.clone(), flag.as_deref() == Some("true")),
                    _ => {
                        return ControlFlow::Break(
                            Error::invalid("current_setting(name [, missing_ok])").with_sqlstate("42883"),
                        );
                    }
                };
                match self.values.settings.get(&setting) {
                    Some(v) => text(v),
                    None if missing_ok => Expr::Value(ValueWithSpan::from(Value::Null)),
                    None => {
                        return ControlFlow::Break(
                            Error::not_found(format!("unrecognized configuration parameter \"{setting}\""))
                                .with_sqlstate("42704"),
                        );
                    }
                }
            }
            _ => return ControlFlow::Continue(()),
        };
        *expr = replacement;
        ControlFlow::Continue(())
    }
}
