//! The procedures' handlers: what each `CALL` does, by its procedure's id. The gateway declares
//! the procedures (names, parameters, result columns; `gateway::procedures`) and plans a call;
//! the match on `Proc` here is exhaustive, so a procedure without a handler does not compile,
//! and a row of the wrong width is an internal error of that call, never a dropped connection.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;

use crate::catalog::Scope;
use crate::engine::Param;
use crate::error::{Error, Result, SqlState};
use crate::gateway::procedures::{CallPlan, Proc, ProcedureSpec, parse_table_id};
use crate::relation::{ColumnType as T, RelationBuilder, Value as V};
use crate::storage::loads::{
    ColumnBinding, CsvOptions, Dedup, ExportRequest, LoadRequest, LoadSource, SourceFormat, parse_filters,
    parse_order_by,
};
use crate::storage::snapshots::RestoreTarget;
use crate::storage::workspaces::InputMapping;
use crate::storage::{SessionContext, Storage, TokenIssued, TokenRequest};

/// Arguments resolved to values and checked against their kinds.
#[derive(Clone)]
struct Args {
    spec: &'static ProcedureSpec,
    values: HashMap<&'static str, Param>,
}

impl Args {
    fn raw(&self, name: &str) -> Option<&Param> {
        self.values.get(name).filter(|p| **p != Param::Null)
    }

    fn wrong(&self, name: &str, what: &str) -> Error {
        Error::invalid(format!("argument \"{name}\" of {}() must be {what}", self.spec.name))
            .with_sqlstate(SqlState::InvalidParameterValue)
    }

    fn text(&self, name: &str) -> Result<Option<String>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Param::Text(s)) => Ok(Some(s.clone())),
            Some(Param::Int(i)) => Ok(Some(i.to_string())),
            Some(_) => Err(self.wrong(name, "text")),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Param::Int(i)) => Ok(Some(*i)),
            Some(Param::Text(s)) => s.trim().parse().map(Some).map_err(|_| self.wrong(name, "an integer")),
            Some(_) => Err(self.wrong(name, "an integer")),
        }
    }

    fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Param::Bool(b)) => Ok(Some(*b)),
            Some(Param::Text(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "t" | "on" | "yes" | "1" => Ok(Some(true)),
                "false" | "f" | "off" | "no" | "0" => Ok(Some(false)),
                _ => Err(self.wrong(name, "a boolean")),
            },
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }

    fn moment(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Param::Text(s)) => parse_moment(s).map(Some).map_err(|_| {
                self.wrong(name, "a timestamp (2027-01-31T12:00:00Z) or an interval from now ('30 days')")
            }),
            Some(_) => Err(self.wrong(name, "a timestamp or an interval")),
        }
    }

    /// A timestamp, or an interval counted back from now ("2 hours").
    fn moment_past(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Param::Text(s)) => match parse_moment(s) {
                Ok(t) if s.trim().starts_with(|c: char| c.is_ascii_digit()) && !s.contains('-') && !s.contains(':') => {
                    // an interval: parse_moment counts forward; count back instead
                    let now = crate::clock::now_micros();
                    Ok(Some(now - (t - now)))
                }
                Ok(t) => Ok(Some(t)),
                Err(()) => Err(self.wrong(name, "a timestamp or an interval back from now ('2 hours')")),
            },
            Some(_) => Err(self.wrong(name, "a timestamp or an interval")),
        }
    }

    fn required_text(&self, name: &str) -> Result<String> {
        self.text(name)?.ok_or_else(|| self.wrong(name, "given"))
    }

    fn required_int(&self, name: &str) -> Result<i64> {
        self.int(name)?.ok_or_else(|| self.wrong(name, "given"))
    }
}

/// Parses a timestamp, or an interval counted from now ("90 days", "12 hours").
fn parse_moment(s: &str) -> std::result::Result<i64, ()> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Ok(t.timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).ok_or(())?.and_utc().timestamp_micros());
    }
    let mut words = s.split_whitespace();
    let n: i64 = words.next().ok_or(())?.parse().map_err(|_| ())?;
    let unit = words.next().ok_or(())?.to_ascii_lowercase();
    if words.next().is_some() || n <= 0 {
        return Err(());
    }
    let seconds = match unit.trim_end_matches('s') {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 7 * 86_400,
        _ => return Err(()),
    };
    let micros = n.checked_mul(seconds).and_then(|s| s.checked_mul(1_000_000)).ok_or(())?;
    crate::clock::now_micros().checked_add(micros).ok_or(())
}

fn token_row(out: &mut RelationBuilder, t: TokenIssued) {
    out.row(vec![
        t.project_id.into(),
        t.token_id.into(),
        t.user.into(),
        t.token.into(),
        t.scope.as_str().into(),
        t.branch_id.into(),
        t.expires_at.map_or(V::Null, V::Timestamp),
    ]);
}

/// Runs a `CALL` for `ctx` and answers its result set; with an idempotency key, a retry
/// answers the first result.
pub(super) async fn call(
    storage: &Storage,
    ctx: &SessionContext,
    call: &CallPlan,
    params: &[Param],
) -> Result<RecordBatch> {
    Handler { spec: call.spec }.execute(storage, ctx, Args { spec: call.spec, values: call.bind(params)? }).await
}

/// A `CALL` inside a transaction block. The procedures that write tables of the session's
/// branch join the block as its statements do: `import_table` (not async), `delete_rows`,
/// `drop_primary_key`, `create_table_from_file`, `import_table_from_table`, `restore_snapshot`,
/// `create_table_from_snapshot` and `create_table_at`. Any other changes what a block cannot
/// take back (projects, tokens, branches, workspaces, snapshots, settings, files) or writes
/// outside the branch, and is refused (`25001`), as PostgreSQL refuses `CREATE DATABASE`.
pub(super) async fn call_in_transaction(
    storage: &Storage,
    ctx: &SessionContext,
    transaction: &mut crate::storage::Transaction,
    call: &CallPlan,
    (params, canceller): (&[Param], &crate::engine::Canceller),
) -> Result<RecordBatch> {
    let args = Args { spec: call.spec, values: call.bind(params)? };
    let handler = Handler { spec: call.spec };
    let mut out = RelationBuilder::new(call.spec.columns);
    let joins = match call.spec.id {
        Proc::ImportTable | Proc::CreateTableFromFile => args.bool("async")? != Some(true),
        Proc::DeleteRows
        | Proc::DropPrimaryKey
        | Proc::ImportTableFromTable
        | Proc::RestoreSnapshot
        | Proc::CreateTableFromSnapshot
        | Proc::CreateTableAt => true,
        _ => false,
    };
    if !joins || args.text("idempotency_key")?.is_some() {
        return Err(Error::new(
            crate::error::ErrorKind::FailedPrecondition,
            format!(
                "CALL {} cannot run inside a transaction block; inside one, CALL import_table, create_table_from_file \
                 (neither async), import_table_from_table, delete_rows, drop_primary_key, restore_snapshot, \
                 create_table_from_snapshot and create_table_at can (without an idempotency key)",
                call.spec.name
            ),
        )
        .with_sqlstate(SqlState::ActiveSqlTransaction)
        .with_hint("run it outside the transaction block (or COMMIT first)"));
    }
    let load_row = |table: String, r: crate::storage::loads::LoadResult| {
        // (the table's size is known at COMMIT)
        vec![table.into(), r.imported_rows.into(), r.table_rows.into(), V::Null, V::Float(r.seconds), V::Null]
    };
    match call.spec.id {
        Proc::ImportTable => {
            let table = args.required_text("table")?;
            let request = handler.import_request(storage, ctx, &args).await?;
            let r = storage.load_table_in(transaction, ctx.clone(), request, canceller.clone()).await?;
            out.row(load_row(table, r));
        }
        Proc::CreateTableFromFile => {
            let (bucket, name) = (args.required_text("bucket")?, args.required_text("name")?);
            let source = Handler::load_source(storage, ctx, &args).await?;
            let primary_key = text_list(&args, "primary_key")?;
            let r = storage
                .create_table_from_file_in(
                    transaction,
                    ctx.clone(),
                    (bucket.clone(), name.clone()),
                    source,
                    primary_key,
                    canceller.clone(),
                )
                .await?;
            out.row(load_row(format!("{bucket}.{name}"), r));
        }
        Proc::ImportTableFromTable => {
            let table = args.required_text("table")?;
            let request = table_copy_request(&args)?;
            let r = storage.import_table_from_table_in(transaction, ctx.clone(), request, canceller).await?;
            out.row(load_row(table, r));
        }
        Proc::DeleteRows => {
            let table = args.required_text("table")?;
            let request = delete_request(&args)?;
            let (deleted, rows) = storage.delete_rows_in(transaction, ctx.clone(), request, canceller.clone()).await?;
            out.row(vec![table.into(), deleted.into(), rows.into(), V::Null]);
        }
        Proc::DropPrimaryKey => {
            let table = args.required_text("table")?;
            let change = crate::storage::schema::Change::DropPrimaryKey { constraint: None, if_exists: false };
            let target = parse_table_id(&table)?;
            storage.alter_table_in(transaction, ctx.clone(), target, vec![], vec![change], canceller).await?;
            out.row(vec![table.into(), true.into()]);
        }
        Proc::RestoreSnapshot | Proc::CreateTableFromSnapshot => {
            let into = restore_target(call.spec.id, &args)?;
            let id = args.required_int("id")?;
            let (table, rows) = storage.restore_snapshot_in(transaction, ctx.clone(), (id, into), canceller).await?;
            out.row(vec![table.into(), rows.into()]);
        }
        Proc::CreateTableAt => {
            let (source, at, target) = table_at_request(&args)?;
            let (table, rows) =
                storage.create_table_at_in(transaction, ctx.clone(), (source, at, target), canceller).await?;
            out.row(vec![table.into(), rows.into()]);
        }
        _ => unreachable!("refused above"),
    }
    out.finish()
}

/// An `import_table_from_table` call's request.
fn table_copy_request(args: &Args) -> Result<crate::storage::loads::TableCopyRequest> {
    Ok(crate::storage::loads::TableCopyRequest {
        target: parse_table_id(&args.required_text("table")?)?,
        source: parse_table_id(&args.required_text("source")?)?,
        columns: args.text("columns")?.map(|t| column_pairs(&t)).unwrap_or_default(),
        filters: args.text("where")?.map(|w| parse_filters(&w)).transpose()?.unwrap_or_default(),
        limit: args.int("limit")?,
        changed_since: args.moment_past("changed_since")?,
        changed_until: args.moment_past("changed_until")?,
        incremental: args.bool("incremental")?.unwrap_or(false),
        dedup: args.text("dedup")?.map(|d| d.parse()).transpose()?.unwrap_or(Dedup::Update),
        keep_timestamps: args.bool("keep_timestamps")?.unwrap_or(false),
    })
}

/// Where `restore_snapshot` / `create_table_from_snapshot` restores to (None: the original).
fn restore_target(id: Proc, args: &Args) -> Result<Option<RestoreTarget>> {
    let name_arg = if id == Proc::RestoreSnapshot { "table" } else { "name" };
    match (args.text("bucket")?, args.text(name_arg)?) {
        (Some(bucket), Some(name)) => Ok(Some(RestoreTarget { bucket, name })),
        (None, None) => Ok(None),
        _ => Err(Error::invalid(format!("give both bucket and {name_arg}, or neither"))
            .with_sqlstate(SqlState::InvalidParameterValue)),
    }
}

/// A `create_table_at` call's source, instant and new table.
fn table_at_request(args: &Args) -> Result<(crate::storage::TableName, i64, RestoreTarget)> {
    let source = parse_table_id(&args.required_text("source")?)?;
    let at = args.moment_past("at")?.ok_or_else(|| args.wrong("at", "given"))?;
    let target = RestoreTarget { bucket: args.required_text("bucket")?, name: args.required_text("name")? };
    Ok((source, at, target))
}

/// A `delete_rows` call's request.
fn delete_request(args: &Args) -> Result<crate::storage::schema::DeleteRequest> {
    Ok(crate::storage::schema::DeleteRequest {
        target: parse_table_id(&args.required_text("table")?)?,
        filters: args.text("where")?.map(|w| parse_filters(&w)).transpose()?.unwrap_or_default(),
        ref_filters: args
            .text("ref_filters")?
            .map(|w| crate::storage::schema::parse_ref_filters(&w))
            .transpose()?
            .unwrap_or_default(),
        changed_since: args.moment_past("changed_since")?,
        changed_until: args.moment_past("changed_until")?,
        all: args.bool("all")?.unwrap_or(false),
    })
}

/// Carries out one procedure.
#[derive(Clone)]
struct Handler {
    spec: &'static ProcedureSpec,
}

impl Handler {
    async fn execute(&self, storage: &Storage, ctx: &SessionContext, args: Args) -> Result<RecordBatch> {
        match args.text("idempotency_key")? {
            Some(key) => {
                let mut fingerprint: Vec<String> = args
                    .values
                    .iter()
                    .filter(|(k, _)| **k != "idempotency_key")
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect();
                fingerprint.sort();
                storage
                    .idempotent(ctx, key, self.spec.name, fingerprint.join(";"), || self.run(storage, ctx, &args))
                    .await
            }
            None => self.run(storage, ctx, &args).await,
        }
    }

    async fn run(&self, storage: &Storage, ctx: &SessionContext, args: &Args) -> Result<RecordBatch> {
        let mut out = RelationBuilder::new(self.spec.columns);
        let ctx = ctx.clone();
        match self.spec.id {
            Proc::CreateProject => {
                let created = storage.create_project(ctx, args.int("id")?, args.required_text("name")?).await?;
                out.row(vec![
                    created.project_id.into(),
                    created.name.into(),
                    created.default_branch_id.into(),
                    created.token.token_id.into(),
                    created.token.user.into(),
                    created.token.token.into(),
                    V::Timestamp(created.created_at),
                ]);
            }
            Proc::DropProject => {
                let id = args.required_int("id")?;
                storage.drop_project(ctx, id).await?;
                out.row(vec![id.into(), true.into()]);
            }
            Proc::CreateToken => {
                let scope = args.text("scope")?.map(|s| s.parse::<Scope>()).transpose()?;
                let request = TokenRequest {
                    project_id: args.int("project")?,
                    scope,
                    branch: args.text("branch")?,
                    expires_at: args.moment("expires")?,
                    description: args.text("description")?.unwrap_or_default(),
                };
                token_row(&mut out, storage.create_token(ctx, request).await?);
            }
            Proc::RevokeToken => {
                let token_id = args.required_text("token_id")?;
                let project = args.int("project")?;
                let project_id = project.or(ctx.project_id()).unwrap_or_default();
                storage.revoke_token(ctx, project, token_id.clone()).await?;
                out.row(vec![project_id.into(), token_id.into(), true.into()]);
            }
            Proc::RotateToken => {
                let issued = storage.rotate_token(ctx, args.int("project")?, args.required_text("token_id")?).await?;
                token_row(&mut out, issued);
            }
            Proc::CreateBucket => {
                let b = storage
                    .create_bucket(
                        ctx,
                        args.required_text("stage")?,
                        args.required_text("name")?,
                        args.text("description")?.unwrap_or_default(),
                        false,
                    )
                    .await?;
                out.row(vec![
                    b.full_name().into(),
                    b.project_id.into(),
                    b.stage.clone().into(),
                    b.name.clone().into(),
                    b.description.clone().into(),
                    V::Timestamp(b.created_at),
                ]);
            }
            Proc::DropBucket => {
                let bucket = args.required_text("bucket")?;
                storage.drop_bucket(ctx, bucket.clone(), args.bool("cascade")?.unwrap_or(false), false).await?;
                out.row(vec![bucket.into(), true.into()]);
            }
            Proc::ShareBucket | Proc::UnshareBucket => {
                let bucket = args.required_text("bucket")?;
                let project = args.int("project")?;
                if self.spec.id == Proc::ShareBucket {
                    storage.share_bucket(ctx, bucket.clone(), project).await?;
                } else {
                    storage.unshare_bucket(ctx, bucket.clone(), project).await?;
                }
                out.row(vec![bucket.into(), true.into()]);
            }
            Proc::LinkBucket => {
                let linked = storage
                    .link_bucket(
                        ctx,
                        args.required_int("source_project")?,
                        args.required_text("source_bucket")?,
                        args.required_text("stage")?,
                        args.required_text("name")?,
                    )
                    .await?;
                out.row(vec![linked.into(), true.into()]);
            }
            Proc::UnlinkBucket => {
                let bucket = args.required_text("bucket")?;
                storage.unlink_bucket(ctx, bucket.clone()).await?;
                out.row(vec![bucket.into(), true.into()]);
            }
            Proc::GrantBucketRead | Proc::RevokeBucketRead => {
                let bucket = args.required_text("bucket")?;
                storage.set_bucket_read_grant(ctx, bucket.clone(), self.spec.id == Proc::GrantBucketRead).await?;
                out.row(vec![bucket.into(), true.into()]);
            }
            Proc::DeleteRows => {
                let table = args.required_text("table")?;
                let request = delete_request(args)?;
                let (deleted, rows, bytes) = storage.delete_rows(ctx, request).await?;
                out.row(vec![table.into(), deleted.into(), rows.into(), bytes.into()]);
            }
            Proc::DropPrimaryKey => {
                let table = args.required_text("table")?;
                let change = crate::storage::schema::Change::DropPrimaryKey { constraint: None, if_exists: false };
                storage.alter_table(ctx, parse_table_id(&table)?, vec![], vec![change]).await?;
                out.row(vec![table.into(), true.into()]);
            }
            Proc::ProfileTable => {
                let table = args.required_text("table")?;
                let profile = storage.profile_table(ctx, parse_table_id(&table)?).await?;
                let hints = profile["hints"].as_array().into_iter().flatten().filter_map(|h| h.as_str());
                out.row(vec![
                    table.into(),
                    profile["rows"].as_i64().unwrap_or(0).into(),
                    (profile["columns"].as_array().map_or(0, |c| c.len()) as i64).into(),
                    V::List(hints.map(V::from).collect()),
                    profile.to_string().into(),
                ]);
            }
            Proc::CreateBranch => {
                let b = storage
                    .create_branch(ctx, args.required_text("name")?, args.text("description")?.unwrap_or_default())
                    .await?;
                out.row(vec![b.id.into(), b.name.into(), b.id.to_string().into(), V::Timestamp(b.created_at)]);
            }
            Proc::DropBranch => {
                let id = args.required_int("id")?;
                storage.drop_branch(ctx, id).await?;
                out.row(vec![id.into(), true.into()]);
            }
            Proc::PullTable => {
                let table = args.required_text("table")?;
                storage.pull_table(ctx, parse_table_id(&table)?).await?;
                out.row(vec![table.into(), true.into()]);
            }
            Proc::CreateWorkspace | Proc::ResetWorkspacePassword => {
                let created = if self.spec.id == Proc::CreateWorkspace {
                    storage
                        .create_workspace(
                            ctx,
                            args.required_text("name")?,
                            args.int("ttl_hours")?,
                            args.int("size_limit")?,
                            args.bool("read_only_storage")?.unwrap_or(false),
                        )
                        .await?
                } else {
                    storage.reset_workspace_password(ctx, args.required_int("id")?).await?
                };
                let addr = storage.pg_addr();
                out.row(vec![
                    created.record.id.into(),
                    created.record.name.clone().into(),
                    addr.ip().to_string().into(),
                    i64::from(addr.port()).into(),
                    created.user.clone().into(),
                    created.user.into(),
                    created.password.into(),
                    created.record.expires_at.map_or(V::Null, V::Timestamp),
                ]);
            }
            Proc::DropWorkspace => {
                let id = args.required_int("id")?;
                storage.drop_workspace(ctx, id).await?;
                out.row(vec![id.into(), true.into()]);
            }
            Proc::CreateWorkspaceUser => {
                let workspace = args.required_int("workspace")?;
                let (user, password) = storage.create_workspace_user(ctx, workspace).await?;
                out.row(vec![workspace.into(), user.into(), password.into()]);
            }
            Proc::DropWorkspaceUser => {
                let user = args.required_text("user")?;
                storage.drop_workspace_user(ctx, user.clone()).await?;
                out.row(vec![user.into(), true.into()]);
            }
            Proc::LoadWorkspace => {
                let workspace = args.required_int("workspace")?;
                let mappings = match args.text("tables")? {
                    Some(json) => parse_input_mappings(&json)?,
                    None => {
                        let source = args.required_text("source")?;
                        let table = parse_table_id(&source)?;
                        vec![InputMapping {
                            destination: args.text("destination")?.unwrap_or_else(|| table.name.clone()),
                            source: table,
                            columns: args.text("columns")?.map(|c| column_pairs(&c)).unwrap_or_default(),
                            filters: args.text("where")?.map(|w| parse_filters(&w)).transpose()?.unwrap_or_default(),
                            limit: args.int("limit")?,
                            incremental: args.bool("incremental")?.unwrap_or(false),
                        }]
                    }
                };
                let destinations: Vec<String> = mappings.iter().map(|m| m.destination.clone()).collect();
                let counts = storage.load_workspace(ctx, workspace, mappings).await?;
                for (destination, rows) in destinations.into_iter().zip(counts) {
                    out.row(vec![destination.into(), (rows as i64).into()]);
                }
            }
            Proc::UnloadWorkspace => {
                let table = args.required_text("table")?;
                let r = storage
                    .unload_workspace(
                        ctx,
                        args.required_int("workspace")?,
                        args.required_text("object")?,
                        parse_table_id(&table)?,
                        args.bool("incremental")?.unwrap_or(false),
                        args.text("dedup")?.map(|d| d.parse()).transpose()?.unwrap_or(Dedup::Update),
                    )
                    .await?;
                out.row(vec![
                    table.into(),
                    r.imported_rows.into(),
                    r.table_rows.into(),
                    r.table_bytes.into(),
                    V::Float(r.seconds),
                    V::Null,
                ]);
            }
            Proc::ExecuteWorkspaceQuery => {
                let result = storage
                    .execute_workspace_query(
                        ctx,
                        args.required_int("workspace")?,
                        args.required_text("query")?,
                        args.int("timeout")?,
                    )
                    .await?;
                let count = result.rows.len() as i64;
                out.row(vec![
                    serde_json::to_string(&result.columns).unwrap_or_default().into(),
                    serde_json::to_string(&result.rows).unwrap_or_default().into(),
                    count.into(),
                ]);
            }
            Proc::PreviewTable => {
                let request = ExportRequest {
                    target: parse_table_id(&args.required_text("table")?)?,
                    search_path: vec![],
                    parquet: false,
                    compression: String::new(),
                    columns: text_list(args, "columns")?,
                    filters: args.text("where")?.map(|w| parse_filters(&w)).transpose()?.unwrap_or_default(),
                    order_by: args.text("order_by")?.map(|o| parse_order_by(&o)).transpose()?.unwrap_or_default(),
                    limit: args.int("limit")?,
                    changed_since: args.moment_past("changed_since")?,
                    changed_until: args.moment_past("changed_until")?,
                    file_name: None,
                    tags: vec![],
                    fulltext: args.text("fulltext")?,
                };
                let rows = storage.preview_table(ctx, request).await?;
                out.row(vec![
                    serde_json::to_string(&rows.columns).unwrap_or_default().into(),
                    serde_json::to_string(&rows.rows).unwrap_or_default().into(),
                    (rows.rows.len() as i64).into(),
                ]);
            }
            Proc::ImportTableFromTable => {
                let table = args.required_text("table")?;
                let r = storage.import_table_from_table(ctx, table_copy_request(args)?).await?;
                out.row(vec![
                    table.into(),
                    r.imported_rows.into(),
                    r.table_rows.into(),
                    r.table_bytes.into(),
                    V::Float(r.seconds),
                    V::Null,
                ]);
            }
            Proc::ClearWorkspace | Proc::DropWorkspaceObject => {
                let workspace = args.required_int("workspace")?;
                let (names, preserve) = if self.spec.id == Proc::ClearWorkspace {
                    let keep = args
                        .text("preserve")?
                        .map(|c| c.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect())
                        .unwrap_or_default();
                    (None, keep)
                } else {
                    (Some(vec![args.required_text("object")?]), vec![])
                };
                let dropped = storage.drop_workspace_objects(ctx, workspace, names, preserve).await?;
                out.row(vec![workspace.into(), (dropped as i64).into()]);
            }
            Proc::CreateSnapshot => {
                let table = args.required_text("table")?;
                let s = storage
                    .create_snapshot(ctx, parse_table_id(&table)?, args.text("description")?.unwrap_or_default())
                    .await?;
                out.row(vec![
                    s.id.into(),
                    table.into(),
                    s.row_count.into(),
                    s.byte_count.into(),
                    V::Timestamp(s.created_at),
                    s.expires_at.map_or(V::Null, V::Timestamp),
                ]);
            }
            Proc::DropSnapshot => {
                let id = args.required_int("id")?;
                storage.drop_snapshot(ctx, id).await?;
                out.row(vec![id.into(), true.into()]);
            }
            Proc::RestoreSnapshot | Proc::CreateTableFromSnapshot => {
                let into = restore_target(self.spec.id, args)?;
                let (table, rows) = storage.restore_snapshot(ctx, args.required_int("id")?, into).await?;
                out.row(vec![table.into(), rows.into()]);
            }
            Proc::CreateTableAt => {
                let (source, at, target) = table_at_request(args)?;
                let (table, rows) = storage.create_table_at(ctx, source, at, target).await?;
                out.row(vec![table.into(), rows.into()]);
            }
            Proc::SetSnapshotSettings => {
                let level = args.required_text("level")?;
                let target = args.text("target")?.unwrap_or_default();
                let mut values = Vec::new();
                for spec in crate::storage::snapshots::SETTINGS {
                    let value =
                        if spec.days.is_some() { args.int(spec.key)? } else { args.bool(spec.key)?.map(i64::from) };
                    if let Some(v) = value {
                        values.push((spec.key.to_owned(), v));
                    }
                }
                let changed = storage.set_snapshot_settings(ctx, level.clone(), target.clone(), values).await?;
                out.row(vec![level.into(), target.into(), (changed as i64).into()]);
            }
            Proc::ResetSnapshotSettings => {
                let level = args.required_text("level")?;
                let target = args.text("target")?.unwrap_or_default();
                let keys = args
                    .text("keys")?
                    .map(|k| k.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect())
                    .unwrap_or_default();
                let reset = storage.reset_snapshot_settings(ctx, level.clone(), target.clone(), keys).await?;
                out.row(vec![level.into(), target.into(), (reset as i64).into()]);
            }
            Proc::ImportTable | Proc::CreateTableFromFile | Proc::ExportTable => {
                if args.bool("async")?.unwrap_or(false) {
                    let (plan, storage2, ctx2, args2) = (self.clone(), storage.clone(), ctx.clone(), args.clone());
                    let job = storage
                        .spawn_job(&ctx, self.spec.name, async move {
                            let row = plan.run_load(&storage2, &ctx2, &args2).await?;
                            Ok(row_json(plan.spec.columns, &row))
                        })
                        .await?;
                    let mut row = vec![V::Null; self.spec.columns.len()];
                    row[0] = self.load_subject(args)?.into();
                    row[self.spec.columns.len() - 1] = job.id.into();
                    out.row(row);
                } else {
                    out.row(self.run_load(storage, &ctx, args).await?);
                }
            }
        }
        out.finish()
    }

    /// What a load procedure's answer names in its first column.
    fn load_subject(&self, args: &Args) -> Result<String> {
        Ok(match self.spec.id {
            Proc::CreateTableFromFile => format!("{}.{}", args.required_text("bucket")?, args.required_text("name")?),
            _ => args.required_text("table")?,
        })
    }

    /// The CSV options of a call (Keboola's names: enclosure is the quote character).
    fn csv_options(args: &Args) -> Result<CsvOptions> {
        let defaults = CsvOptions::default();
        let quote = args.text("enclosure")?.unwrap_or(defaults.quote);
        let escape = args.text("escape")?.filter(|e| !e.is_empty()).unwrap_or_else(|| quote.clone());
        let options = CsvOptions {
            delimiter: args.text("delimiter")?.unwrap_or(defaults.delimiter),
            escape,
            quote,
            header: args.bool("header")?.unwrap_or(true),
            null_strings: match (args.text("null_string")?, args.text("null_strings")?) {
                (Some(_), Some(_)) => {
                    return Err(Error::invalid("give null_string or null_strings, not both")
                        .with_sqlstate(SqlState::InvalidParameterValue));
                }
                (Some(one), None) => vec![one],
                (None, Some(list)) => serde_json::from_str::<Vec<String>>(&list).map_err(|e| {
                    Error::invalid(format!("null_strings must be a JSON list of texts: {e}"))
                        .with_sqlstate(SqlState::InvalidParameterValue)
                })?,
                (None, None) => vec![],
            },
            skip_lines: match args.int("skip_lines")? {
                None => 0,
                Some(n) => u32::try_from(n).map_err(|_| {
                    Error::invalid("skip_lines must be 0 or more").with_sqlstate(SqlState::InvalidParameterValue)
                })?,
            },
            empty_as_null: text_list(args, "empty_as_null")?,
        };
        options.validate()?;
        Ok(options)
    }

    async fn load_source(storage: &Storage, ctx: &SessionContext, args: &Args) -> Result<LoadSource> {
        let format = match args.text("format")?.map(|f| f.to_ascii_lowercase()).as_deref() {
            None => None,
            Some("csv") => Some(SourceFormat::Csv(Self::csv_options(args)?)),
            Some("parquet") => Some(SourceFormat::Parquet),
            Some(other) => {
                return Err(Error::invalid(format!("format must be 'csv' or 'parquet', not '{other}'"))
                    .with_sqlstate(SqlState::InvalidParameterValue));
            }
        };
        let file_ids = match (args.int("file_id")?, args.text("file_ids")?) {
            (Some(_), Some(_)) => {
                return Err(
                    Error::invalid("give file_id or file_ids, not both").with_sqlstate(SqlState::InvalidParameterValue)
                );
            }
            (Some(id), None) => vec![id],
            (None, Some(list)) => list
                .split(',')
                .map(|id| {
                    id.trim().parse::<i64>().map_err(|_| {
                        Error::invalid(format!("file_ids: '{id}' is not a file id"))
                            .with_sqlstate(SqlState::InvalidParameterValue)
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            (None, None) => vec![],
        };
        let mut source = storage.file_source(ctx, &file_ids, format).await?;
        if let SourceFormat::Csv(_) = source.format {
            source.format = SourceFormat::Csv(Self::csv_options(args)?);
        }
        Ok(source)
    }

    /// An `import_table` call's request.
    async fn import_request(&self, storage: &Storage, ctx: &SessionContext, args: &Args) -> Result<LoadRequest> {
        let table = args.required_text("table")?;
        let source = Self::load_source(storage, ctx, args).await?;
        let header = matches!(&source.format, SourceFormat::Csv(o) if o.header);
        let columns = text_list(args, "columns")?;
        let binding = match (&source.format, header, columns.is_empty()) {
            (SourceFormat::Parquet, _, _) | (SourceFormat::Csv(_), true, true) => ColumnBinding::ByName,
            _ => ColumnBinding::Positional(columns),
        };
        Ok(LoadRequest {
            target: parse_table_id(&table)?,
            search_path: vec![],
            source,
            columns: binding,
            incremental: args.bool("incremental")?.unwrap_or(false),
            dedup: args.text("dedup")?.map(|d| d.parse()).transpose()?.unwrap_or(Dedup::Update),
            keep_timestamps: args.bool("keep_timestamps")?.unwrap_or(false),
            operation: "import",
        })
    }

    /// Runs a load or export procedure to its end and answers its row.
    async fn run_load(&self, storage: &Storage, ctx: &SessionContext, args: &Args) -> Result<Vec<V>> {
        let list = |name: &str| text_list(args, name);
        match self.spec.id {
            Proc::ImportTable => {
                let table = args.required_text("table")?;
                let request = self.import_request(storage, ctx, args).await?;
                let r = storage.load_table(ctx.clone(), request, crate::engine::Canceller::default()).await?;
                Ok(vec![
                    table.into(),
                    r.imported_rows.into(),
                    r.table_rows.into(),
                    r.table_bytes.into(),
                    V::Float(r.seconds),
                    V::Null,
                ])
            }
            Proc::CreateTableFromFile => {
                let (bucket, name) = (args.required_text("bucket")?, args.required_text("name")?);
                let source = Self::load_source(storage, ctx, args).await?;
                let (_, r) = storage
                    .create_table_from_file(ctx.clone(), bucket.clone(), name.clone(), source, list("primary_key")?)
                    .await?;
                Ok(vec![
                    format!("{bucket}.{name}").into(),
                    r.imported_rows.into(),
                    r.table_rows.into(),
                    r.table_bytes.into(),
                    V::Float(r.seconds),
                    V::Null,
                ])
            }
            Proc::ExportTable => {
                let table = args.required_text("table")?;
                let parquet = match args.text("format")?.map(|f| f.to_ascii_lowercase()).as_deref() {
                    None | Some("csv") => false,
                    Some("parquet") => true,
                    Some(other) => {
                        return Err(Error::invalid(format!("format must be 'csv' or 'parquet', not '{other}'"))
                            .with_sqlstate(SqlState::InvalidParameterValue));
                    }
                };
                let request = ExportRequest {
                    target: parse_table_id(&table)?,
                    search_path: vec![],
                    parquet,
                    compression: args.text("compression")?.unwrap_or_default(),
                    columns: list("columns")?,
                    filters: args.text("where")?.map(|w| parse_filters(&w)).transpose()?.unwrap_or_default(),
                    order_by: args.text("order_by")?.map(|o| parse_order_by(&o)).transpose()?.unwrap_or_default(),
                    limit: args.int("limit")?,
                    changed_since: args.moment_past("changed_since")?,
                    changed_until: args.moment_past("changed_until")?,
                    file_name: args.text("file_name")?,
                    tags: list("tags")?,
                    fulltext: args.text("fulltext")?,
                };
                let started = std::time::Instant::now();
                let (file, rows) = storage.export_table(ctx.clone(), request).await?;
                Ok(vec![
                    table.into(),
                    file.id.into(),
                    rows.into(),
                    file.size.into(),
                    file.sha256.into(),
                    V::Float(started.elapsed().as_secs_f64()),
                    V::Null,
                ])
            }
            other => Err(Error::internal("dispatching a load", format!("{other:?} is not a load"))),
        }
    }
}

/// A comma-separated list argument (`columns => 'a, "b"'`).
fn text_list(args: &Args, name: &str) -> Result<Vec<String>> {
    Ok(args
        .text(name)?
        .map(|t| t.split(',').map(|c| c.trim().trim_matches('"').to_owned()).filter(|c| !c.is_empty()).collect())
        .unwrap_or_default())
}

/// `'a, b:c'` as (source, destination) column pairs: `b` loaded as `c`, `a` under its own name.
fn column_pairs(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c.split_once(':') {
            Some((from, to)) => (from.trim().to_owned(), to.trim().to_owned()),
            None => (c.to_owned(), c.to_owned()),
        })
        .collect()
}

/// `tables => '[{"source": "in.c-x.t", "destination": "t", "columns": [...], "where": [...], "limit": n}]'`.
fn parse_input_mappings(json: &str) -> Result<Vec<InputMapping>> {
    #[derive(serde::Deserialize)]
    struct Mapping {
        source: String,
        destination: Option<String>,
        #[serde(default)]
        columns: Vec<String>,
        #[serde(default, rename = "where")]
        filters: Vec<crate::storage::loads::Filter>,
        limit: Option<i64>,
        #[serde(default)]
        incremental: bool,
    }
    let list: Vec<Mapping> = serde_json::from_str(json).map_err(|e| {
        Error::invalid(format!("tables must be a JSON list of {{\"source\", \"destination\", …}}: {e}"))
            .with_sqlstate(SqlState::InvalidParameterValue)
    })?;
    list.into_iter()
        .map(|m| {
            let source = parse_table_id(&m.source)?;
            Ok(InputMapping {
                destination: m.destination.unwrap_or_else(|| source.name.clone()),
                source,
                columns: m.columns.iter().flat_map(|c| column_pairs(c)).collect(),
                filters: m.filters,
                limit: m.limit,
                incremental: m.incremental,
            })
        })
        .collect()
}

/// An answer row as JSON (a job's result).
fn row_json(columns: &[(&str, T)], row: &[V]) -> serde_json::Value {
    let value = |v: &V| match v {
        V::Null => serde_json::Value::Null,
        V::Bool(b) => (*b).into(),
        V::Int(i) => (*i).into(),
        V::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        V::Text(t) => t.clone().into(),
        V::Timestamp(t) => crate::clock::format_micros(*t).into(),
        V::List(items) => serde_json::Value::Array(items.iter().map(|i| format!("{i:?}").into()).collect()),
    };
    serde_json::Value::Object(columns.iter().zip(row).map(|((name, _), v)| ((*name).to_owned(), value(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_parse_as_timestamps_or_intervals() {
        assert_eq!(parse_moment("2030-01-01T00:00:00Z").unwrap(), 1_893_456_000_000_000);
        assert_eq!(parse_moment("2030-01-01").unwrap(), 1_893_456_000_000_000);
        let soon = parse_moment("2 days").unwrap() - crate::clock::now_micros();
        assert!((172_700_000_000..=172_800_000_000).contains(&soon));
        assert!(parse_moment("tomorrow").is_err());
        assert!(parse_moment("-3 days").is_err());
    }
}
