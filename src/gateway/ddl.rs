//! DDL as storage operations: `CREATE SCHEMA`/`DROP SCHEMA` are buckets, `CREATE TABLE`/`DROP
//! TABLE` are tables. Only what maps to a storage operation is accepted.

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateTable, CreateView, Expr,
    FunctionArguments, ObjectName, ObjectType, RenameTableNameKind, SchemaName, Statement, TableConstraint, Value,
};

use super::Plan;
use super::compat::CompatValues;
use super::query::{QueryPlan, ident_name, name_parts};
use crate::error::{Error, Result, SqlState};
use crate::storage::schema::Change;
use crate::storage::{ColumnSpec, TableName, TableSpec, ViewSpec};

fn unsupported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported in a storage session"))
}

/// The bucket a schema name means (`"in.c-sales"`).
fn schema_name(name: &ObjectName) -> Result<String> {
    match name_parts(name).as_deref() {
        Some([schema]) => Ok(schema.clone()),
        _ => Err(Error::invalid(format!("invalid schema name {name}")).with_sqlstate(SqlState::InvalidName)),
    }
}

/// A table name, qualified or not.
pub(crate) fn table_name(name: &ObjectName) -> Result<TableName> {
    match name_parts(name).as_deref() {
        Some([table]) => Ok(TableName { schema: None, name: table.clone() }),
        Some([schema, table]) => Ok(TableName { schema: Some(schema.clone()), name: table.clone() }),
        _ => {
            Err(Error::not_found(format!("relation \"{name}\" does not exist")).with_sqlstate(SqlState::UndefinedTable))
        }
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

/// A column definition as a storage column, and whether it declares itself the primary key.
fn column_spec(def: &ColumnDef) -> Result<(ColumnSpec, bool)> {
    let mut spec = ColumnSpec {
        name: ident_name(&def.name),
        type_name: def.data_type.to_string(),
        not_null: false,
        default_sql: None,
    };
    let mut is_key = false;
    for option in &def.options {
        match &option.option {
            ColumnOption::NotNull => spec.not_null = true,
            ColumnOption::Null => {}
            ColumnOption::Default(expr) => spec.default_sql = Some(default_sql(expr)?),
            ColumnOption::PrimaryKey(_) => is_key = true,
            other => return Err(unsupported(&format!("column option {other}"))),
        }
    }
    Ok((spec, is_key))
}

/// The column names of a primary key constraint.
fn key_columns(constraint: &TableConstraint) -> Result<Option<Vec<String>>> {
    let TableConstraint::PrimaryKey(pk) = constraint else { return Ok(None) };
    pk.columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(ident) => Ok(ident_name(ident)),
            other => Err(Error::invalid(format!("primary key entries must be column names, not {other}"))),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `ALTER TABLE`: the changes storage knows, all applied in one atomic rebuild.
fn alter_table(alter: &AlterTable) -> Result<Plan> {
    let table = table_name(&alter.name)?;
    if let [AlterTableOperation::RenameTable { table_name: RenameTableNameKind::To(to) }] = alter.operations.as_slice()
    {
        // a new name in the same bucket, as PostgreSQL takes it (unqualified)
        return match name_parts(to).as_deref() {
            Some([to]) => Ok(Plan::RenameTable { table, to: to.clone(), if_exists: alter.if_exists }),
            _ => {
                Err(Error::invalid("RENAME TO takes a table name without a schema")
                    .with_sqlstate(SqlState::SyntaxError))
            }
        };
    }
    let mut changes = Vec::with_capacity(alter.operations.len());
    for operation in &alter.operations {
        let change = match operation {
            AlterTableOperation::AddColumn { if_not_exists, column_def, column_position: None, .. } => {
                let (column, is_key) = column_spec(column_def)?;
                if is_key {
                    return Err(unsupported("ADD COLUMN … PRIMARY KEY; add the column, then ADD PRIMARY KEY"));
                }
                Change::AddColumn { column, if_not_exists: *if_not_exists }
            }
            AlterTableOperation::DropColumn { column_names, if_exists, .. } => {
                for name in &column_names[..column_names.len().saturating_sub(1)] {
                    changes.push(Change::DropColumn { name: ident_name(name), if_exists: *if_exists });
                }
                let last = column_names.last().ok_or_else(|| Error::invalid("DROP COLUMN needs a column"))?;
                Change::DropColumn { name: ident_name(last), if_exists: *if_exists }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                Change::RenameColumn { from: ident_name(old_column_name), to: ident_name(new_column_name) }
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let name = ident_name(column_name);
                match op {
                    AlterColumnOperation::SetNotNull => Change::SetNotNull(name),
                    AlterColumnOperation::DropNotNull => Change::DropNotNull(name),
                    AlterColumnOperation::SetDefault { value } => {
                        Change::SetDefault { name, default_sql: default_sql(value)? }
                    }
                    AlterColumnOperation::DropDefault => Change::DropDefault(name),
                    AlterColumnOperation::SetDataType { data_type, using: None, .. } => {
                        Change::SetType { name, type_name: data_type.to_string() }
                    }
                    AlterColumnOperation::SetDataType { using: Some(_), .. } => {
                        return Err(unsupported("ALTER COLUMN … TYPE … USING"));
                    }
                    other => return Err(unsupported(&format!("ALTER COLUMN … {other}"))),
                }
            }
            AlterTableOperation::AddConstraint { constraint, .. } => match key_columns(constraint)? {
                Some(keys) => Change::AddPrimaryKey(keys),
                None => return Err(unsupported(&format!("constraint {constraint}"))),
            },
            AlterTableOperation::DropConstraint { name, if_exists, .. } => {
                Change::DropPrimaryKey { constraint: Some(ident_name(name)), if_exists: *if_exists }
            }
            AlterTableOperation::DropPrimaryKey { .. } => Change::DropPrimaryKey { constraint: None, if_exists: false },
            other => return Err(unsupported(&format!("ALTER TABLE … {other}"))),
        };
        changes.push(change);
    }
    if changes.is_empty() {
        return Err(Error::invalid("ALTER TABLE needs at least one change").with_sqlstate(SqlState::SyntaxError));
    }
    Ok(Plan::AlterTable { table, changes, if_exists: alter.if_exists })
}

/// The bucket a new relation goes into: its schema, or the first bucket of the search path.
/// The bucket a `CREATE TEMPORARY TABLE` names: the transaction block's own bucket of
/// temporary tables, which the execution layer makes when first needed.
pub const TEMPORARY_BUCKET: &str = "pg_temp";

/// Where a `CREATE [TEMPORARY] TABLE` puts the table: the temporary bucket (a temporary table
/// is named without a schema, or in `pg_temp`), the bucket it names, or the first bucket of the
/// search path.
fn create_bucket(name: &TableName, temporary: bool, search_path: &[String]) -> Result<String> {
    if !temporary {
        return target_bucket(name, search_path);
    }
    match name.schema.as_deref() {
        None | Some(TEMPORARY_BUCKET) => Ok(TEMPORARY_BUCKET.to_owned()),
        Some(_) => Err(Error::invalid("cannot create temporary relation in non-temporary schema")
            .with_sqlstate(SqlState::InvalidTableDefinition)),
    }
}

fn target_bucket(name: &TableName, search_path: &[String]) -> Result<String> {
    match &name.schema {
        Some(schema) => Ok(schema.clone()),
        None => search_path.iter().find(|s| s.contains(".c-")).cloned().ok_or_else(|| {
            Error::invalid("no schema has been selected to create in; name the bucket (\"in.c-x\".\"table\")")
                .with_sqlstate(SqlState::InvalidSchemaName)
        }),
    }
}

/// `CREATE [OR REPLACE] VIEW b.v AS SELECT …`: the query must pass the gateway as a read of
/// tables and views only (no system or catalog relations, no parameters). It is stored as the
/// client wrote it and planned again, for the reading session, at each read.
pub(crate) fn create_view(view: &CreateView, compat: &CompatValues<'_>) -> Result<Plan> {
    if view.materialized || view.temporary || view.or_alter || view.to.is_some() || view.params.is_some() {
        return Err(unsupported("this form of CREATE VIEW"));
    }
    if !view.columns.is_empty() {
        return Err(unsupported("a column list in CREATE VIEW").with_hint("name the columns in the query with AS"));
    }
    let name = table_name(&view.name)?;
    let bucket = target_bucket(&name, &compat.settings.search_path())?;
    let definition = view.query.to_string();
    let query = plan_view_query(&definition, compat)?;
    Ok(Plan::CreateView {
        spec: ViewSpec {
            bucket,
            name: name.name,
            definition,
            or_replace: view.or_replace,
            if_not_exists: view.if_not_exists,
        },
        query,
    })
}

/// Plans a view's query (at creation, and at each read of the view).
pub fn plan_view_query(definition: &str, compat: &CompatValues<'_>) -> Result<QueryPlan> {
    let mut statements = super::parse(definition)?;
    let statement = match (statements.pop(), statements.is_empty()) {
        (Some(statement @ Statement::Query(_)), true) => statement,
        _ => return Err(Error::invalid("a view is defined by one SELECT").with_sqlstate(SqlState::SyntaxError)),
    };
    let plan = super::query::plan_query(statement, compat, "SELECT")?;
    if !plan.relations.is_empty() {
        return Err(Error::unsupported(
            "a view reads tables and other views only, not duckstore.* or catalog relations",
        ));
    }
    if !plan.param_types.is_empty() {
        return Err(Error::unsupported("a view cannot have parameters").with_sqlstate(SqlState::UndefinedParameter));
    }
    Ok(plan)
}

/// `CREATE TABLE b.t AS query [WITH NO DATA]`: the query planned as a read (for its columns)
/// and as `INSERT INTO b.t query` (to fill the table), both through the gateway's usual checks.
pub(crate) fn create_table_as(create: &CreateTable, compat: &CompatValues<'_>) -> Result<Plan> {
    let Some(query) = &create.query else { return Err(Error::internal("planning CREATE TABLE AS", "no query")) };
    if create.or_replace || !create.columns.is_empty() || !create.constraints.is_empty() {
        return Err(unsupported("this form of CREATE TABLE … AS"));
    }
    let name = table_name(&create.name)?;
    let bucket = create_bucket(&name, create.temporary, &compat.settings.search_path())?;
    let spec =
        TableSpec { bucket, name: name.name.clone(), columns: vec![], primary_key: vec![], description: String::new() };
    let read = super::query::plan_query(Statement::Query(query.clone()), compat, "SELECT")?;
    if !read.relations.is_empty() {
        return Err(unsupported("CREATE TABLE … AS a query of the catalog"));
    }
    // a temporary table is found first by its bare name (see `Session::search_path`)
    let schema = (!create.temporary).then(|| spec.bucket.clone());
    let target = TableName { schema, name: spec.name.clone() };
    let insert = if create.with_data.is_some_and(|w| !w.data) {
        None // WITH NO DATA
    } else {
        let mut statements = super::parse(&format!("INSERT INTO {target} {query}"))?;
        if statements.len() != 1 {
            return Err(Error::internal("planning CREATE TABLE AS", "the INSERT is not one statement"));
        }
        Some(Box::new(super::dml::plan_write(statements.remove(0), compat)?))
    };
    Ok(Plan::CreateTableAs { spec, query: read, insert, if_not_exists: create.if_not_exists })
}

fn create_table(create: &CreateTable, search_path: &[String]) -> Result<Plan> {
    if create.query.is_some() {
        return Err(unsupported("CREATE TABLE … AS"));
    }
    if create.or_replace || create.like.is_some() || create.clone.is_some() {
        return Err(unsupported("this form of CREATE TABLE"));
    }
    let name = table_name(&create.name)?;
    let bucket = create_bucket(&name, create.temporary, search_path)?;
    let mut primary_key: Vec<String> = Vec::new();
    let mut columns = Vec::with_capacity(create.columns.len());
    for def in &create.columns {
        let (spec, is_key) = column_spec(def)?;
        if is_key {
            if !primary_key.is_empty() {
                return Err(Error::invalid("multiple primary keys are not allowed")
                    .with_sqlstate(SqlState::InvalidTableDefinition));
            }
            primary_key.push(spec.name.clone());
        }
        columns.push(spec);
    }
    for constraint in &create.constraints {
        match key_columns(constraint)? {
            Some(keys) => {
                if !primary_key.is_empty() {
                    return Err(Error::invalid("multiple primary keys are not allowed")
                        .with_sqlstate(SqlState::InvalidTableDefinition));
                }
                primary_key = keys;
            }
            None => return Err(unsupported(&format!("table constraint {constraint}"))),
        }
    }
    Ok(Plan::CreateTable {
        spec: TableSpec { bucket, name: name.name, columns, primary_key, description: String::new() },
        if_not_exists: create.if_not_exists,
    })
}

/// Plans DDL statements; `None` when `statement` is not DDL this module handles.
pub(super) fn plan(statement: &Statement, search_path: &[String]) -> Option<Result<Plan>> {
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
        Statement::Drop { object_type: ObjectType::View, if_exists, names, .. } => names
            .iter()
            .map(table_name)
            .collect::<Result<Vec<_>>>()
            .map(|views| Plan::DropViews { views, if_exists: *if_exists }),
        Statement::Drop { object_type, .. } => Err(unsupported(&format!("DROP {object_type}"))),
        Statement::CreateTable(create) => create_table(create, search_path),
        Statement::AlterTable(alter) => alter_table(alter),
        _ => return None,
    })
}
