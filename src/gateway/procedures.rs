//! The procedure catalogue: every storage operation without a SQL form, called as
//! `CALL name(arg => value, …)` (or positionally). Arguments are literals or bound parameters;
//! each procedure answers a result set whose columns are fixed here, so clients can describe a
//! `CALL` before running it. This module declares and plans; `exec::procedures` runs.

use std::collections::HashMap;

use sqlparser::ast::{Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator, Value};

use super::query::{ident_name, name_parts, placeholder_index};
use crate::engine::Param;
use crate::error::{Error, Result, SqlState};
use crate::relation::ColumnType as T;
pub use crate::storage::names::parse_table_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Text,
    Int,
    Bool,
    /// A timestamp, or an interval from now ("30 days").
    Moment,
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ArgKind,
    pub required: bool,
}

const fn req(name: &'static str, kind: ArgKind) -> ParamSpec {
    ParamSpec { name, kind, required: true }
}

const fn opt(name: &'static str, kind: ArgKind) -> ParamSpec {
    ParamSpec { name, kind, required: false }
}

/// Every procedure, so that dispatching on one is an exhaustive match: a procedure without a
/// handler does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    CreateProject,
    DropProject,
    CreateToken,
    RevokeToken,
    RotateToken,
    CreateBucket,
    DropBucket,
    ShareBucket,
    UnshareBucket,
    LinkBucket,
    UnlinkBucket,
    GrantBucketRead,
    RevokeBucketRead,
    ImportTable,
    CreateTableFromFile,
    DeleteRows,
    DropPrimaryKey,
    ProfileTable,
    CreateBranch,
    DropBranch,
    PullTable,
    CreateWorkspace,
    DropWorkspace,
    ResetWorkspacePassword,
    CreateWorkspaceUser,
    DropWorkspaceUser,
    LoadWorkspace,
    UnloadWorkspace,
    ExecuteWorkspaceQuery,
    ClearWorkspace,
    DropWorkspaceObject,
    CreateSnapshot,
    DropSnapshot,
    RestoreSnapshot,
    CreateTableFromSnapshot,
    CreateTableAt,
    SetSnapshotSettings,
    ResetSnapshotSettings,
    ImportTableFromTable,
    PreviewTable,
    ExportTable,
}

#[derive(Debug)]
pub struct ProcedureSpec {
    pub name: &'static str,
    pub id: Proc,
    pub params: &'static [ParamSpec],
    pub columns: &'static [(&'static str, T)],
    pub summary: &'static str,
}

const TOKEN_COLUMNS: &[(&str, T)] = &[
    ("project_id", T::Int64),
    ("token_id", T::Text),
    ("user_name", T::Text),
    ("token", T::Text),
    ("scope", T::Text),
    ("branch_id", T::Int64),
    ("expires_at", T::Timestamp),
];

const BUCKET_COLUMNS: &[(&str, T)] = &[
    ("id", T::Text),
    ("project_id", T::Int64),
    ("stage", T::Text),
    ("name", T::Text),
    ("description", T::Text),
    ("created_at", T::Timestamp),
];

const DONE_COLUMNS: &[(&str, T)] = &[("bucket", T::Text), ("done", T::Bool)];

const WORKSPACE_COLUMNS: &[(&str, T)] = &[
    ("id", T::Int64),
    ("name", T::Text),
    ("host", T::Text),
    ("port", T::Int64),
    ("database", T::Text),
    ("user", T::Text),
    ("password", T::Text),
    ("expires_at", T::Timestamp),
];

const SNAPSHOT_COLUMNS: &[(&str, T)] = &[
    ("id", T::Int64),
    ("table", T::Text),
    ("rows", T::Int64),
    ("bytes", T::Int64),
    ("created", T::Timestamp),
    ("expires", T::Timestamp),
];

const LOAD_COLUMNS: &[(&str, T)] = &[
    ("table", T::Text),
    ("imported_rows", T::Int64),
    ("table_rows", T::Int64),
    ("table_bytes", T::Int64),
    ("seconds", T::Float64),
    ("job_id", T::Int64),
];

/// CSV options shared by the procedures that read files.
const CSV_PARAMS: [ParamSpec; 10] = [
    opt("delimiter", ArgKind::Text),
    opt("enclosure", ArgKind::Text),
    opt("escape", ArgKind::Text),
    opt("header", ArgKind::Bool),
    opt("null_string", ArgKind::Text),
    opt("format", ArgKind::Text),
    opt("null_strings", ArgKind::Text),
    opt("skip_lines", ArgKind::Int),
    opt("file_ids", ArgKind::Text),
    opt("empty_as_null", ArgKind::Text),
];

// Parameters added to a procedure go after its existing ones, so that positional calls keep
// their meaning.
pub const PROCEDURES: &[ProcedureSpec] = &[
    ProcedureSpec {
        name: "create_project",
        id: Proc::CreateProject,
        params: &[req("name", ArgKind::Text), opt("id", ArgKind::Int), opt("idempotency_key", ArgKind::Text)],
        columns: &[
            ("project_id", T::Int64),
            ("name", T::Text),
            ("default_branch_id", T::Int64),
            ("token_id", T::Text),
            ("user_name", T::Text),
            ("token", T::Text),
            ("created_at", T::Timestamp),
        ],
        summary: "admin: create a project with its default branch and first project_admin token",
    },
    ProcedureSpec {
        name: "drop_project",
        id: Proc::DropProject,
        params: &[req("id", ArgKind::Int)],
        columns: &[("project_id", T::Int64), ("dropped", T::Bool)],
        summary: "admin: drop a project with everything in it",
    },
    ProcedureSpec {
        name: "create_token",
        id: Proc::CreateToken,
        params: &[
            opt("scope", ArgKind::Text),
            opt("branch", ArgKind::Text),
            opt("expires", ArgKind::Moment),
            opt("description", ArgKind::Text),
            opt("project", ArgKind::Int),
            opt("idempotency_key", ArgKind::Text),
        ],
        columns: TOKEN_COLUMNS,
        summary: "create a token (project_admin, branch_admin or branch_read)",
    },
    ProcedureSpec {
        name: "revoke_token",
        id: Proc::RevokeToken,
        params: &[req("token_id", ArgKind::Text), opt("project", ArgKind::Int)],
        columns: &[("project_id", T::Int64), ("token_id", T::Text), ("revoked", T::Bool)],
        summary: "revoke a token (not the project's last project_admin token)",
    },
    ProcedureSpec {
        name: "rotate_token",
        id: Proc::RotateToken,
        params: &[req("token_id", ArgKind::Text), opt("project", ArgKind::Int)],
        columns: TOKEN_COLUMNS,
        summary: "give a token a new secret; the old one stops working",
    },
    ProcedureSpec {
        name: "create_bucket",
        id: Proc::CreateBucket,
        params: &[
            req("stage", ArgKind::Text),
            req("name", ArgKind::Text),
            opt("description", ArgKind::Text),
            opt("idempotency_key", ArgKind::Text),
        ],
        columns: BUCKET_COLUMNS,
        summary: "create a bucket (the same as CREATE SCHEMA \"{stage}.c-{name}\")",
    },
    ProcedureSpec {
        name: "drop_bucket",
        id: Proc::DropBucket,
        params: &[req("bucket", ArgKind::Text), opt("cascade", ArgKind::Bool)],
        columns: DONE_COLUMNS,
        summary: "drop a bucket; with tables only with cascade => true",
    },
    ProcedureSpec {
        name: "share_bucket",
        id: Proc::ShareBucket,
        params: &[req("bucket", ArgKind::Text), opt("project", ArgKind::Int)],
        columns: DONE_COLUMNS,
        summary: "share a bucket with another project (or, without one, every project), which may then link it",
    },
    ProcedureSpec {
        name: "unshare_bucket",
        id: Proc::UnshareBucket,
        params: &[req("bucket", ArgKind::Text), opt("project", ArgKind::Int)],
        columns: DONE_COLUMNS,
        summary: "stop sharing (refused while the project still links the bucket)",
    },
    ProcedureSpec {
        name: "link_bucket",
        id: Proc::LinkBucket,
        params: &[
            req("source_project", ArgKind::Int),
            req("source_bucket", ArgKind::Text),
            req("stage", ArgKind::Text),
            req("name", ArgKind::Text),
            opt("idempotency_key", ArgKind::Text),
        ],
        columns: DONE_COLUMNS,
        summary: "link a bucket another project shared with this one, read-only",
    },
    ProcedureSpec {
        name: "unlink_bucket",
        id: Proc::UnlinkBucket,
        params: &[req("bucket", ArgKind::Text)],
        columns: DONE_COLUMNS,
        summary: "remove a linked bucket",
    },
    ProcedureSpec {
        name: "grant_bucket_read",
        id: Proc::GrantBucketRead,
        params: &[req("bucket", ArgKind::Text)],
        columns: DONE_COLUMNS,
        summary: "let the project's read-only tokens read a bucket (the default)",
    },
    ProcedureSpec {
        name: "revoke_bucket_read",
        id: Proc::RevokeBucketRead,
        params: &[req("bucket", ArgKind::Text)],
        columns: DONE_COLUMNS,
        summary: "keep the project's read-only tokens out of a bucket",
    },
    ProcedureSpec {
        name: "import_table",
        id: Proc::ImportTable,
        params: &[
            req("table", ArgKind::Text),
            opt("file_id", ArgKind::Int),
            opt("incremental", ArgKind::Bool),
            opt("dedup", ArgKind::Text),
            opt("columns", ArgKind::Text),
            CSV_PARAMS[0],
            CSV_PARAMS[1],
            CSV_PARAMS[2],
            CSV_PARAMS[3],
            CSV_PARAMS[4],
            CSV_PARAMS[5],
            opt("async", ArgKind::Bool),
            opt("idempotency_key", ArgKind::Text),
            CSV_PARAMS[6],
            CSV_PARAMS[7],
            CSV_PARAMS[8],
            CSV_PARAMS[9],
            opt("keep_timestamps", ArgKind::Bool),
        ],
        columns: LOAD_COLUMNS,
        summary: "load a file (CSV, gzip CSV or Parquet) into a table: full load replaces, incremental appends or upserts",
    },
    ProcedureSpec {
        name: "create_table_from_file",
        id: Proc::CreateTableFromFile,
        params: &[
            req("bucket", ArgKind::Text),
            req("name", ArgKind::Text),
            opt("file_id", ArgKind::Int),
            opt("primary_key", ArgKind::Text),
            CSV_PARAMS[0],
            CSV_PARAMS[1],
            CSV_PARAMS[2],
            CSV_PARAMS[3],
            CSV_PARAMS[4],
            CSV_PARAMS[5],
            opt("async", ArgKind::Bool),
            opt("idempotency_key", ArgKind::Text),
            CSV_PARAMS[6],
            CSV_PARAMS[7],
            CSV_PARAMS[8],
            CSV_PARAMS[9],
        ],
        columns: LOAD_COLUMNS,
        summary: "create a table with STRING columns named by the file's header, then load the file",
    },
    ProcedureSpec {
        name: "delete_rows",
        id: Proc::DeleteRows,
        params: &[
            req("table", ArgKind::Text),
            opt("where", ArgKind::Text),
            opt("changed_since", ArgKind::Moment),
            opt("changed_until", ArgKind::Moment),
            opt("all", ArgKind::Bool),
            opt("ref_filters", ArgKind::Text),
        ],
        columns: &[("table", T::Text), ("deleted_rows", T::Int64), ("table_rows", T::Int64), ("table_bytes", T::Int64)],
        summary: "delete the rows matching structured filters; every row only with all => true",
    },
    ProcedureSpec {
        name: "drop_primary_key",
        id: Proc::DropPrimaryKey,
        params: &[req("table", ArgKind::Text)],
        columns: &[("table", T::Text), ("done", T::Bool)],
        summary: "drop a table's primary key (ALTER TABLE … DROP CONSTRAINT without knowing its name)",
    },
    ProcedureSpec {
        name: "profile_table",
        id: Proc::ProfileTable,
        params: &[req("table", ArgKind::Text)],
        columns: &[
            ("table", T::Text),
            ("rows", T::Int64),
            ("columns", T::Int64),
            ("hints", T::TextList),
            ("profile", T::Text),
        ],
        summary: "compute and store column statistics and quality hints (duckstore.table_profiles)",
    },
    ProcedureSpec {
        name: "create_branch",
        id: Proc::CreateBranch,
        params: &[req("name", ArgKind::Text), opt("description", ArgKind::Text), opt("idempotency_key", ArgKind::Text)],
        columns: &[("id", T::Int64), ("name", T::Text), ("database", T::Text), ("created_at", T::Timestamp)],
        summary: "a dev branch: reads the default branch live until it writes; connect with dbname = its id",
    },
    ProcedureSpec {
        name: "drop_branch",
        id: Proc::DropBranch,
        params: &[req("id", ArgKind::Int)],
        columns: &[("id", T::Int64), ("dropped", T::Bool)],
        summary: "drop a dev branch with everything in it",
    },
    ProcedureSpec {
        name: "pull_table",
        id: Proc::PullTable,
        params: &[req("table", ArgKind::Text)],
        columns: &[("table", T::Text), ("done", T::Bool)],
        summary: "in a dev branch: forget the branch's copy of a table and read the default branch's live again",
    },
    ProcedureSpec {
        name: "create_workspace",
        id: Proc::CreateWorkspace,
        params: &[
            req("name", ArgKind::Text),
            opt("ttl_hours", ArgKind::Int),
            opt("size_limit", ArgKind::Int),
            opt("read_only_storage", ArgKind::Bool),
            opt("idempotency_key", ArgKind::Text),
        ],
        columns: WORKSPACE_COLUMNS,
        summary: "an isolated DuckDB database for transformations, with its own login (the password is shown only here)",
    },
    ProcedureSpec {
        name: "drop_workspace",
        id: Proc::DropWorkspace,
        params: &[req("id", ArgKind::Int)],
        columns: &[("id", T::Int64), ("dropped", T::Bool)],
        summary: "drop a workspace: its sessions are closed, its files removed",
    },
    ProcedureSpec {
        name: "reset_workspace_password",
        id: Proc::ResetWorkspacePassword,
        params: &[req("id", ArgKind::Int)],
        columns: WORKSPACE_COLUMNS,
        summary: "a new password for a workspace; the old one stops working",
    },
    ProcedureSpec {
        name: "create_workspace_user",
        id: Proc::CreateWorkspaceUser,
        params: &[req("workspace", ArgKind::Int)],
        columns: &[("workspace", T::Int64), ("user", T::Text), ("password", T::Text)],
        summary: "a further login of a workspace, with its own password (shown only here)",
    },
    ProcedureSpec {
        name: "drop_workspace_user",
        id: Proc::DropWorkspaceUser,
        params: &[req("user", ArgKind::Text)],
        columns: &[("user", T::Text), ("dropped", T::Bool)],
        summary: "drop a login made by create_workspace_user; its sessions end",
    },
    ProcedureSpec {
        name: "load_workspace",
        id: Proc::LoadWorkspace,
        params: &[
            req("workspace", ArgKind::Int),
            opt("source", ArgKind::Text),
            opt("destination", ArgKind::Text),
            opt("columns", ArgKind::Text),
            opt("where", ArgKind::Text),
            opt("limit", ArgKind::Int),
            opt("tables", ArgKind::Text),
            opt("incremental", ArgKind::Bool),
        ],
        columns: &[("destination", T::Text), ("rows", T::Int64)],
        summary: "copy storage tables into a workspace (input mapping); all of them or none",
    },
    ProcedureSpec {
        name: "unload_workspace",
        id: Proc::UnloadWorkspace,
        params: &[
            req("workspace", ArgKind::Int),
            req("object", ArgKind::Text),
            req("table", ArgKind::Text),
            opt("incremental", ArgKind::Bool),
            opt("dedup", ArgKind::Text),
        ],
        columns: LOAD_COLUMNS,
        summary: "import a workspace table into a storage table (output mapping), created when missing",
    },
    ProcedureSpec {
        name: "execute_workspace_query",
        id: Proc::ExecuteWorkspaceQuery,
        params: &[req("workspace", ArgKind::Int), req("query", ArgKind::Text), opt("timeout", ArgKind::Int)],
        columns: &[("columns", T::Text), ("rows", T::Text), ("row_count", T::Int64)],
        summary: "run one statement in a workspace's sandbox; the rows as JSON text",
    },
    ProcedureSpec {
        name: "clear_workspace",
        id: Proc::ClearWorkspace,
        params: &[req("workspace", ArgKind::Int), opt("preserve", ArgKind::Text)],
        columns: &[("workspace", T::Int64), ("dropped_objects", T::Int64)],
        summary: "drop every object of a workspace except those preserved",
    },
    ProcedureSpec {
        name: "drop_workspace_object",
        id: Proc::DropWorkspaceObject,
        params: &[req("workspace", ArgKind::Int), req("object", ArgKind::Text)],
        columns: &[("workspace", T::Int64), ("dropped_objects", T::Int64)],
        summary: "drop one table or view of a workspace",
    },
    ProcedureSpec {
        name: "create_snapshot",
        id: Proc::CreateSnapshot,
        params: &[
            req("table", ArgKind::Text),
            opt("description", ArgKind::Text),
            opt("idempotency_key", ArgKind::Text),
        ],
        columns: SNAPSHOT_COLUMNS,
        summary: "keep the table's current state (a catalog row, not a copy)",
    },
    ProcedureSpec {
        name: "drop_snapshot",
        id: Proc::DropSnapshot,
        params: &[req("id", ArgKind::Int)],
        columns: &[("id", T::Int64), ("dropped", T::Bool)],
        summary: "forget a snapshot (its data goes when nothing uses it)",
    },
    ProcedureSpec {
        name: "restore_snapshot",
        id: Proc::RestoreSnapshot,
        params: &[req("id", ArgKind::Int), opt("bucket", ArgKind::Text), opt("table", ArgKind::Text)],
        columns: &[("table", T::Text), ("rows", T::Int64)],
        summary: "put a snapshot back into its table, or with bucket and table into a new one",
    },
    ProcedureSpec {
        name: "create_table_from_snapshot",
        id: Proc::CreateTableFromSnapshot,
        params: &[req("id", ArgKind::Int), req("bucket", ArgKind::Text), req("name", ArgKind::Text)],
        columns: &[("table", T::Text), ("rows", T::Int64)],
        summary: "a new table from a snapshot",
    },
    ProcedureSpec {
        name: "create_table_at",
        id: Proc::CreateTableAt,
        params: &[
            req("source", ArgKind::Text),
            req("at", ArgKind::Moment),
            req("bucket", ArgKind::Text),
            req("name", ArgKind::Text),
        ],
        columns: &[("table", T::Text), ("rows", T::Int64)],
        summary: "a new table from another table's state at a moment within the time-travel window",
    },
    ProcedureSpec {
        name: "set_snapshot_settings",
        id: Proc::SetSnapshotSettings,
        params: &[
            req("level", ArgKind::Text),
            opt("target", ArgKind::Text),
            opt("auto_snapshot_drop_table", ArgKind::Bool),
            opt("auto_snapshot_drop_column", ArgKind::Bool),
            opt("auto_snapshot_delete_all", ArgKind::Bool),
            opt("auto_snapshot_full_load", ArgKind::Bool),
            opt("auto_snapshot_restore", ArgKind::Bool),
            opt("manual_retention_days", ArgKind::Int),
            opt("auto_retention_days", ArgKind::Int),
            opt("time_travel_days", ArgKind::Int),
            opt("time_travel_resolution_minutes", ArgKind::Int),
        ],
        columns: &[("level", T::Text), ("target", T::Text), ("changed", T::Int64)],
        summary: "set snapshot settings for the project, a bucket or a table",
    },
    ProcedureSpec {
        name: "reset_snapshot_settings",
        id: Proc::ResetSnapshotSettings,
        params: &[req("level", ArgKind::Text), opt("target", ArgKind::Text), opt("keys", ArgKind::Text)],
        columns: &[("level", T::Text), ("target", T::Text), ("reset", T::Int64)],
        summary: "back to the inherited snapshot settings (all, or the keys named)",
    },
    ProcedureSpec {
        name: "import_table_from_table",
        id: Proc::ImportTableFromTable,
        params: &[
            req("table", ArgKind::Text),
            req("source", ArgKind::Text),
            opt("columns", ArgKind::Text),
            opt("where", ArgKind::Text),
            opt("limit", ArgKind::Int),
            opt("changed_since", ArgKind::Moment),
            opt("changed_until", ArgKind::Moment),
            opt("incremental", ArgKind::Bool),
            opt("dedup", ArgKind::Text),
            opt("keep_timestamps", ArgKind::Bool),
        ],
        columns: LOAD_COLUMNS,
        summary: "load rows of another table (columns mapped 'src:dst', filters, a limit) as import_table does",
    },
    ProcedureSpec {
        name: "preview_table",
        id: Proc::PreviewTable,
        params: &[
            req("table", ArgKind::Text),
            opt("columns", ArgKind::Text),
            opt("where", ArgKind::Text),
            opt("order_by", ArgKind::Text),
            opt("limit", ArgKind::Int),
            opt("changed_since", ArgKind::Moment),
            opt("changed_until", ArgKind::Moment),
            opt("fulltext", ArgKind::Text),
        ],
        columns: &[("columns", T::Text), ("rows", T::Text), ("row_count", T::Int64)],
        summary: "up to 1 000 rows of a table, filtered like export_table (change times included); rows as JSON text",
    },
    ProcedureSpec {
        name: "export_table",
        id: Proc::ExportTable,
        params: &[
            req("table", ArgKind::Text),
            opt("format", ArgKind::Text),
            opt("compression", ArgKind::Text),
            opt("columns", ArgKind::Text),
            opt("where", ArgKind::Text),
            opt("order_by", ArgKind::Text),
            opt("limit", ArgKind::Int),
            opt("changed_since", ArgKind::Moment),
            opt("changed_until", ArgKind::Moment),
            opt("file_name", ArgKind::Text),
            opt("tags", ArgKind::Text),
            opt("async", ArgKind::Bool),
            opt("idempotency_key", ArgKind::Text),
            opt("fulltext", ArgKind::Text),
        ],
        columns: &[
            ("table", T::Text),
            ("file_id", T::Int64),
            ("rows", T::Int64),
            ("size", T::Int64),
            ("sha256", T::Text),
            ("seconds", T::Float64),
            ("job_id", T::Int64),
        ],
        summary: "write a table's rows (filtered, ordered, limited) to a new file: CSV or Parquet, compressed or not",
    },
];

pub fn find(name: &str) -> Option<&'static ProcedureSpec> {
    PROCEDURES.iter().find(|p| p.name == name)
}

/// An argument as written: a literal, or a bound parameter resolved at execution.
#[derive(Debug, Clone, PartialEq)]
enum ArgExpr {
    Literal(Param),
    Param(usize),
}

/// A `CALL` matched against its procedure's parameters.
#[derive(Debug, Clone)]
pub struct CallPlan {
    pub spec: &'static ProcedureSpec,
    args: HashMap<&'static str, ArgExpr>,
    /// The kind of each `$n` parameter, by position (for clients that ask for parameter types).
    pub param_kinds: Vec<ArgKind>,
}

/// Matches `CALL name(args)` against the catalogue.
pub fn plan_call(function: &Function) -> Result<CallPlan> {
    let parts = name_parts(&function.name).unwrap_or_default();
    let name = match parts.as_slice() {
        [name] => name.as_str(),
        [schema, name] if schema == "duckstore" => name.as_str(),
        _ => "",
    };
    let spec = find(name).ok_or_else(|| {
        Error::not_found(format!("procedure {}() does not exist", function.name))
            .with_sqlstate(SqlState::UndefinedFunction)
            .with_hint("the README lists every procedure with its arguments")
    })?;
    let list = match &function.args {
        FunctionArguments::List(list) => list.args.as_slice(),
        FunctionArguments::None => &[],
        FunctionArguments::Subquery(_) => {
            return Err(Error::invalid("procedure arguments must be values").with_sqlstate(SqlState::SyntaxError));
        }
    };
    let mut args = HashMap::new();
    let mut param_kinds: Vec<ArgKind> = Vec::new();
    let mut positional = 0;
    for arg in list {
        let (param, expr) = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                let Some(param) = spec.params.get(positional) else {
                    return Err(Error::invalid(format!(
                        "{}() takes at most {} arguments",
                        spec.name,
                        spec.params.len()
                    ))
                    .with_sqlstate(SqlState::UndefinedFunction));
                };
                positional += 1;
                (param, e)
            }
            FunctionArg::Named { name, arg: FunctionArgExpr::Expr(e), .. }
            | FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(e), .. } => {
                let wanted = ident_name(name);
                let Some(param) = spec.params.iter().find(|p| p.name == wanted) else {
                    return Err(Error::invalid(format!(
                        "{}() has no parameter \"{wanted}\"; it takes {}",
                        spec.name,
                        spec.params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                    ))
                    .with_sqlstate(SqlState::UndefinedFunction));
                };
                (param, e)
            }
            _ => return Err(Error::invalid("procedure arguments must be values").with_sqlstate(SqlState::SyntaxError)),
        };
        let value = arg_expr(expr)?;
        if let ArgExpr::Param(n) = value {
            if param_kinds.len() <= n {
                param_kinds.resize(n + 1, ArgKind::Text);
            }
            param_kinds[n] = param.kind;
        }
        if args.insert(param.name, value).is_some() {
            return Err(
                Error::invalid(format!("argument \"{}\" given twice", param.name)).with_sqlstate(SqlState::SyntaxError)
            );
        }
    }
    if let Some(missing) = spec.params.iter().find(|p| p.required && !args.contains_key(p.name)) {
        return Err(Error::invalid(format!("{}() needs the argument \"{}\"", spec.name, missing.name))
            .with_sqlstate(SqlState::InvalidParameterValue));
    }
    Ok(CallPlan { spec, args, param_kinds })
}

fn arg_expr(e: &Expr) -> Result<ArgExpr> {
    let not_literal =
        || Error::invalid("procedure arguments must be literals or $n parameters").with_sqlstate(SqlState::SyntaxError);
    match e {
        Expr::Value(v) => {
            if let Some(n) = placeholder_index(&v.value)? {
                return Ok(ArgExpr::Param(n - 1));
            }
            Ok(ArgExpr::Literal(match &v.value {
                Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) | Value::NationalStringLiteral(s) => {
                    Param::Text(s.clone())
                }
                Value::DollarQuotedString(s) => Param::Text(s.value.clone()),
                Value::Number(n, _) => match n.parse::<i64>() {
                    Ok(i) => Param::Int(i),
                    Err(_) => Param::Float(n.parse().map_err(|_| not_literal())?),
                },
                Value::Boolean(b) => Param::Bool(*b),
                Value::Null => Param::Null,
                _ => return Err(not_literal()),
            }))
        }
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match arg_expr(expr)? {
            ArgExpr::Literal(Param::Int(i)) => Ok(ArgExpr::Literal(Param::Int(-i))),
            ArgExpr::Literal(Param::Float(f)) => Ok(ArgExpr::Literal(Param::Float(-f))),
            _ => Err(not_literal()),
        },
        Expr::Cast { expr, .. } | Expr::Nested(expr) => arg_expr(expr),
        // ARRAY['a', 'b'] for list arguments (column names never contain commas)
        Expr::Array(array) => {
            let mut items = Vec::with_capacity(array.elem.len());
            for e in &array.elem {
                match arg_expr(e)? {
                    ArgExpr::Literal(Param::Text(t)) => items.push(t),
                    _ => return Err(not_literal()),
                }
            }
            Ok(ArgExpr::Literal(Param::Text(items.join(","))))
        }
        _ => Err(not_literal()),
    }
}

impl CallPlan {
    /// The arguments with `$n` parameters replaced by their bound values.
    pub fn bind(&self, params: &[Param]) -> Result<HashMap<&'static str, Param>> {
        let mut values = HashMap::new();
        for (name, expr) in &self.args {
            let value = match expr {
                ArgExpr::Literal(p) => p.clone(),
                ArgExpr::Param(i) => params.get(*i).cloned().ok_or_else(|| {
                    Error::invalid(format!("no value bound for ${}", i + 1)).with_sqlstate(SqlState::ProtocolViolation)
                })?,
            };
            values.insert(*name, value);
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_parameter_names_can_be_quoted() {
        let sql = r#"CALL export_table(table => 'in.c-a.t', "where" => '[]')"#;
        let statement = crate::gateway::parse(sql).unwrap().remove(0);
        let sqlparser::ast::Statement::Call(function) = statement else { panic!("{sql}") };
        let plan = plan_call(&function).unwrap();
        assert!(plan.args.contains_key("where"));
    }

    #[test]
    fn a_procedure_reading_files_takes_every_csv_option_in_order() {
        for p in PROCEDURES {
            let csv: Vec<&str> =
                p.params.iter().filter(|x| CSV_PARAMS.iter().any(|c| c.name == x.name)).map(|x| x.name).collect();
            // a procedure reads CSV when it takes a delimiter (export_table's `format` is its own)
            if csv.contains(&"delimiter") {
                let all: Vec<&str> = CSV_PARAMS.iter().map(|c| c.name).collect();
                assert_eq!(csv, all, "{}", p.name);
            }
        }
    }

    #[test]
    fn every_procedure_has_distinct_parameter_names() {
        for p in PROCEDURES {
            let mut names: Vec<_> = p.params.iter().map(|x| x.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), p.params.len(), "{}", p.name);
        }
    }

    #[test]
    fn every_procedure_has_its_own_id_named_like_it() {
        let mut seen = Vec::new();
        for spec in PROCEDURES {
            let snake: String = format!("{:?}", spec.id)
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let lower = c.to_ascii_lowercase();
                    if c.is_ascii_uppercase() && i > 0 { vec!['_', lower] } else { vec![lower] }
                })
                .collect();
            assert_eq!(snake, spec.name);
            assert!(!seen.contains(&spec.id), "{:?} twice", spec.id);
            seen.push(spec.id);
        }
    }
}
