//! DDL as storage operations: `CREATE SCHEMA`/`DROP SCHEMA` are buckets, `CREATE TABLE`/`DROP
//! TABLE` are tables. Only what maps to a storage operation is accepted.

use sqlparser::ast::{
    ColumnOption, CreateTable, Expr, FunctionArguments, ObjectName, ObjectType, SchemaName, Statement, TableConstraint,
    Value,
};

use super::Plan;
use super::query::{ident_name, name_parts};
use crate::error::{Error, Result};
use crate::storage::{ColumnSpec, TableName, TableSpec};

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported in a storage session"))
}

/// The bucket a schema name means (`"in.c-sales"`).
fn schema_name(name: &ObjectName) -> Result<String> {
    match name_parts(name).as_deref() {
        Some([schema]) => Ok(schema.clone()),
        _ => Err(Error::invalid(format!("invalid schema name {name}")).with_sqlstate("42602")),
    }
}

/// A table name, qualified or not.
pub(crate) fn table_name(name: &ObjectName) -> Result<TableName> {
    match name_parts(name).as_deref() {
        Some([table]) => Ok(TableName { schema: None, name: table.clone() }),
        Some([schema, table]) => Ok(TableName { schema: Some(schema.clone()), name: table.clone() }),
        _ => Err(Error::not_found(format!("relation \"{name}\" does not exist")).with_sqlstate("42P01")),
    }
}

/// Checks a column default: literals, casts of literals and the current time or a new UUID.
fn default_sql(expr: &Expr) -> Result<String> {
    fn allowed(expr: &Expr) -> bool {
        match expr {
            Expr::Value(v) => !matches!(v.value, Value::Placeholder(_)),
            Expr::TypedString(_) => true,
            Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => allowed(expr),
            Expr::Cast { expr, .. } => allowed(expr),
            Expr::Function(f) => {
                let name = name_parts(&f.name).and_then(|p| p.last().cloned()).unwrap_or_default();
                let no_args = match &f.args {
                    FunctionArguments::None => true,
                    FunctionArguments::List(l) => l.args.is_empty(),
                    FunctionArguments::Subquery(_) => false,
                };
                no_args
                    && matches!(
                        name.as_str(),
                        "now"
                            | "current_timestamp"
                            | "current_date"
                            | "today"
                            | "get_current_timestamp"
                            | "gen_random_uuid"
                            | "uuid"
                    )
            }
            _ => false,
        }
    }
    if allowed(expr) {
        Ok(expr.to_string())
    } else {
        Err(Error::unsupported(format!(
            "default {expr} is not supported; use a constant, now(), current_date or gen_random_uuid()"
        )))
    }
}

fn create_table(create: &CreateTable, search_path: &[String]) -> Result<Plan> {
    if create.query.is_some() {
        return Err(unsupported("CREATE TABLE … AS"));
    }
    if create.temporary || create.or_replace || create.like.is_some() || create.clone.is_some() {
        return Err(unsupported("this form of CREATE TABLE"));
    }
    let name = table_name(&create.name)?;
    let bucket = match &name.schema {
        Some(schema) => schema.clone(),
        None => search_path.iter().find(|s| s.contains(".c-")).cloned().ok_or_else(|| {
            Error::invalid("no schema has been selected to create in; name the bucket (\"in.c-x\".\"table\")")
                .with_sqlstate("3F000")
        })?,
    };
    let mut primary_key: Vec<String> = Vec::new();
    let mut columns = Vec::with_capacity(create.columns.len());
    for def in &create.columns {
        let column = ident_name(&def.name);
        let mut spec = ColumnSpec {
            name: column.clone(),
            type_name: def.data_type.to_string(),
            not_null: false,
            default_sql: None,
        };
        for option in &def.options {
            match &option.option {
                ColumnOption::NotNull => spec.not_null = true,
                ColumnOption::Null => {}
                ColumnOption::Default(expr) => spec.default_sql = Some(default_sql(expr)?),
                ColumnOption::PrimaryKey(_) => {
                    if !primary_key.is_empty() {
                        return Err(Error::invalid("multiple primary keys are not allowed").with_sqlstate("42P16"));
                    }
                    primary_key.push(column.clone());
                }
                other => return Err(unsupported(&format!("column option {other}"))),
            }
        }
        columns.push(spec);
    }
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                if !primary_key.is_empty() {
                    return Err(Error::invalid("multiple primary keys are not allowed").with_sqlstate("42P16"));
                }
                for c in &pk.columns {
                    match &c.column.expr {
                        Expr::Identifier(ident) => primary_key.push(ident_name(ident)),
                        other => {
                            return Err(Error::invalid(format!(
                                "primary key entries must be column names, not {other}"
                            )));
                        }
                    }
                }
            }
            other => return Err(unsupported(&format!("table constraint {other}"))),
        }
    }
    Ok(Plan::CreateTable {
        spec: TableSpec { bucket, name: name.name, columns, primary_key, description: String::new() },
        if_not_exists: create.if_not_exists,
    })
}

/// Plans DDL statements; `None` when `statement` is not DDL this module handles.
pub fn plan(statement: &Statement, search_path: &[String]) -> Option<Result<Plan>> {
    Some(match statement {
        Statement::CreateSchema { schema_name: SchemaName::Simple(name), if_not_exists, .. } => {
            schema_name(name).map(|bucket| Plan::CreateBucket { bucket, if_not_exists: *if_not_exists })
        }
        Statement::CreateSchema { .. } => Err(unsupported("CREATE SCHEMA … AUTHORIZATION")),
        Statement::Drop { object_type: ObjectType::Schema, if_exists, names, cascade, .. } => names
            .iter()
            .map(schema_name)
            .collect::<Result<Vec<_>>>()
            .map(|buckets| Plan::DropBuckets { buckets, cascade: *cascade, if_exists: *if_exists }),
        Statement::Drop { object_type: ObjectType::Table, if_exists, names, .. } => names
            .iter()
            .map(table_name)
            .collect::<Result<Vec<_>>>()
            .map(|tables| Plan::DropTables { tables, if_exists: *if_exists }),
        Statement::Drop { object_type, .. } => Err(unsupported(&format!("DROP {object_type}"))),
        Statement::CreateTable(create) => create_table(create, search_path),
        _ => return None,
    })
}
