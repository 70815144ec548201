//! The read-only system views of the `duckstore` schema, each filtered to what the session may
//! see: the admin sees everything; a token sees its own project (and a branch token only itself
//! among tokens).

use arrow::record_batch::RecordBatch;

use super::{Principal, SessionContext, Storage};
use crate::catalog::Scope;
use crate::error::Result;
use crate::relation::{ColumnType as T, RelationBuilder, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemView {
    Projects,
    Branches,
    Tokens,
    Events,
    Buckets,
    Tables,
    Columns,
    Files,
    Jobs,
    TableProfiles,
    Snapshots,
    SnapshotSettings,
    Workspaces,
    Views,
}

impl SystemView {
    pub const ALL: &'static [SystemView] = &[
        SystemView::Projects,
        SystemView::Branches,
        SystemView::Tokens,
        SystemView::Events,
        SystemView::Buckets,
        SystemView::Tables,
        SystemView::Columns,
        SystemView::Files,
        SystemView::Jobs,
        SystemView::TableProfiles,
        SystemView::Snapshots,
        SystemView::SnapshotSettings,
        SystemView::Workspaces,
        SystemView::Views,
    ];

    /// Whether the view's rows follow from the catalog alone, and so change only with its
    /// generation (not `tokens`, whose activity depends on the clock, nor `workspaces`, whose
    /// sessions and sizes are live).
    pub fn follows_catalog(self) -> bool {
        !matches!(self, SystemView::Tokens | SystemView::Workspaces)
    }

    pub fn name(self) -> &'static str {
        match self {
            SystemView::Projects => "projects",
            SystemView::Branches => "branches",
            SystemView::Tokens => "tokens",
            SystemView::Events => "events",
            SystemView::Buckets => "buckets",
            SystemView::Tables => "tables",
            SystemView::Columns => "columns",
            SystemView::Files => "files",
            SystemView::Jobs => "jobs",
            SystemView::TableProfiles => "table_profiles",
            SystemView::Snapshots => "snapshots",
            SystemView::SnapshotSettings => "snapshot_settings",
            SystemView::Workspaces => "workspaces",
            SystemView::Views => "views",
        }
    }

    pub fn from_name(name: &str) -> Option<SystemView> {
        SystemView::ALL.iter().copied().find(|v| v.name() == name)
    }

    pub fn columns(self) -> &'static [(&'static str, T)] {
        match self {
            SystemView::Projects => {
                &[("id", T::Int64), ("name", T::Text), ("created_at", T::Timestamp), ("created_by", T::Text)]
            }
            SystemView::Branches => &[
                ("project_id", T::Int64),
                ("id", T::Int64),
                ("name", T::Text),
                ("is_default", T::Bool),
                ("description", T::Text),
                ("created_at", T::Timestamp),
            ],
            SystemView::Tokens => &[
                ("project_id", T::Int64),
                ("id", T::Text),
                ("user_name", T::Text),
                ("scope", T::Text),
                ("branch_id", T::Int64),
                ("description", T::Text),
                ("created_at", T::Timestamp),
                ("created_by", T::Text),
                ("expires_at", T::Timestamp),
                ("revoked_at", T::Timestamp),
                ("rotated_at", T::Timestamp),
                ("active", T::Bool),
            ],
            SystemView::Events => &[
                ("id", T::Int64),
                ("at", T::Timestamp),
                ("project_id", T::Int64),
                ("actor", T::Text),
                ("operation", T::Text),
                ("object_type", T::Text),
                ("object_id", T::Text),
                ("details", T::Text),
            ],
            SystemView::Buckets => &[
                ("id", T::Text),
                ("project_id", T::Int64),
                ("branch_id", T::Int64),
                ("stage", T::Text),
                ("name", T::Text),
                ("description", T::Text),
                ("tables", T::Int64),
                ("rows", T::Int64),
                ("bytes", T::Int64),
                ("read_grant", T::Bool),
                ("is_linked", T::Bool),
                ("source_project_id", T::Int64),
                ("source_bucket", T::Text),
                ("shared_with", T::Text),
                ("created_at", T::Timestamp),
            ],
            SystemView::Tables => &[
                ("id", T::Text),
                ("bucket", T::Text),
                ("name", T::Text),
                ("project_id", T::Int64),
                ("branch_id", T::Int64),
                ("columns", T::Int64),
                ("primary_key", T::Text),
                ("rows", T::Int64),
                ("bytes", T::Int64),
                ("description", T::Text),
                ("is_linked", T::Bool),
                ("created_at", T::Timestamp),
                ("changed_at", T::Timestamp),
                ("in_branch", T::Bool),
            ],
            SystemView::Views => &[
                ("id", T::Text),
                ("bucket", T::Text),
                ("name", T::Text),
                ("project_id", T::Int64),
                ("branch_id", T::Int64),
                ("columns", T::Int64),
                ("definition", T::Text),
                ("created_at", T::Timestamp),
                ("created_by", T::Text),
                ("in_branch", T::Bool),
            ],
            SystemView::Columns => &[
                ("table_id", T::Text),
                ("bucket", T::Text),
                ("table_name", T::Text),
                ("position", T::Int64),
                ("name", T::Text),
                ("type", T::Text),
                ("base_type", T::Text),
                ("nullable", T::Bool),
                ("default", T::Text),
                ("primary_key", T::Bool),
            ],
            SystemView::Files => &[
                ("id", T::Int64),
                ("project_id", T::Int64),
                ("name", T::Text),
                ("size", T::Int64),
                ("sha256", T::Text),
                ("tags", T::TextList),
                ("created_at", T::Timestamp),
                ("created_by", T::Text),
            ],
            SystemView::Snapshots => &[
                ("id", T::Int64),
                ("project_id", T::Int64),
                ("branch_id", T::Int64),
                ("table_id", T::Text),
                ("rows", T::Int64),
                ("bytes", T::Int64),
                ("columns", T::Int64),
                ("primary_key", T::Text),
                ("description", T::Text),
                ("trigger", T::Text),
                ("created_at", T::Timestamp),
                ("created_by", T::Text),
                ("expires_at", T::Timestamp),
            ],
            SystemView::Workspaces => &[
                ("id", T::Int64),
                ("name", T::Text),
                ("project_id", T::Int64),
                ("branch_id", T::Int64),
                ("user_name", T::Text),
                ("objects", T::Int64),
                ("bytes", T::Int64),
                ("sessions", T::Int64),
                ("size_limit", T::Int64),
                ("read_only_storage", T::Bool),
                ("created_at", T::Timestamp),
                ("created_by", T::Text),
                ("expires_at", T::Timestamp),
            ],
            SystemView::SnapshotSettings => &[
                ("level", T::Text),
                ("target", T::Text),
                ("key", T::Text),
                ("value", T::Text),
                ("local_value", T::Text),
                ("source", T::Text),
            ],
            SystemView::TableProfiles => &[
                ("table_id", T::Text),
                ("column_name", T::Text),
                ("type", T::Text),
                ("count", T::Int64),
                ("bytes", T::Int64),
                ("nulls", T::Int64),
                ("distinct", T::Int64),
                ("min", T::Text),
                ("max", T::Text),
                ("mean", T::Float64),
                ("stddev", T::Float64),
                ("q25", T::Float64),
                ("q50", T::Float64),
                ("q75", T::Float64),
                ("min_length", T::Int64),
                ("max_length", T::Int64),
                ("top_values", T::Text),
                ("hints", T::TextList),
                ("profiled_at", T::Timestamp),
            ],
            SystemView::Jobs => &[
                ("id", T::Int64),
                ("project_id", T::Int64),
                ("procedure", T::Text),
                ("state", T::Text),
                ("created_at", T::Timestamp),
                ("started_at", T::Timestamp),
                ("finished_at", T::Timestamp),
                ("created_by", T::Text),
                ("result", T::Text),
                ("error", T::Text),
            ],
        }
    }

    /// Views answered from the bucket/table snapshot rather than catalog rows.
    fn answered_from_snapshot(self) -> bool {
        matches!(
            self,
            SystemView::Buckets
                | SystemView::Tables
                | SystemView::Columns
                | SystemView::TableProfiles
                | SystemView::Views
        )
    }
}

fn ts(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Timestamp)
}

impl Storage {
    /// The rows of a system view as the session may see them.
    pub async fn system_view(&self, ctx: SessionContext, view: SystemView) -> Result<RecordBatch> {
        if view == SystemView::Workspaces {
            let mut out = RelationBuilder::new(view.columns());
            for (w, bytes, sessions) in self.workspace_rows(ctx).await? {
                let objects = self.workspace_object_count(&w).await as i64;
                out.row(vec![
                    w.id.into(),
                    w.name.clone().into(),
                    w.project_id.into(),
                    w.branch_id.into(),
                    w.user().into(),
                    objects.into(),
                    bytes.into(),
                    (sessions as i64).into(),
                    w.size_limit.into(),
                    w.read_only_storage.into(),
                    Value::Timestamp(w.created_at),
                    w.created_by.into(),
                    ts(w.expires_at),
                ]);
            }
            return out.finish();
        }
        if view == SystemView::SnapshotSettings {
            let mut out = RelationBuilder::new(view.columns());
            if ctx.is_admin() {
                return out.finish();
            }
            let text = |key: &str, v: i64| -> Value {
                let switch = super::snapshots::SETTINGS.iter().any(|s| s.key == key && s.days.is_none());
                if switch { (v != 0).to_string().into() } else { v.to_string().into() }
            };
            for (level, target, key, e) in self.snapshot_settings_rows(ctx).await? {
                out.row(vec![
                    level.into(),
                    target.into(),
                    key.clone().into(),
                    text(&key, e.value),
                    e.local.map_or(Value::Null, |v| text(&key, v)),
                    e.source.into(),
                ]);
            }
            return out.finish();
        }
        if view.answered_from_snapshot() {
            let snapshot = self.catalog_snapshot(ctx).await?;
            return self.snapshot_view(view, snapshot).await;
        }
        self.blocking(move |inner| {
            let mut out = RelationBuilder::new(view.columns());
            let project = ctx.project_id();
            inner.catalog.read(|tx| {
                match view {
                    SystemView::Projects => {
                        for p in tx.projects()?.into_iter().filter(|p| project.is_none_or(|id| id == p.id)) {
                            out.row(vec![
                                p.id.into(),
                                p.name.into(),
                                Value::Timestamp(p.created_at),
                                p.created_by.into(),
                            ]);
                        }
                    }
                    SystemView::Branches => {
                        let projects = match project {
                            Some(id) => vec![id],
                            None => tx.projects()?.into_iter().map(|p| p.id).collect(),
                        };
                        for project_id in projects {
                            for b in tx.branches(project_id)? {
                                out.row(vec![
                                    b.project_id.into(),
                                    b.id.into(),
                                    b.name.into(),
                                    b.is_default.into(),
                                    b.description.into(),
                                    Value::Timestamp(b.created_at),
                                ]);
                            }
                        }
                    }
                    SystemView::Tokens => {
                        let now = crate::clock::now_micros();
                        let only_self = match &ctx.principal {
                            Principal::Token { token_id, scope, .. } if *scope != Scope::ProjectAdmin => Some(token_id),
                            _ => None,
                        };
                        for t in tx.tokens(project)? {
                            if only_self.is_some_and(|id| *id != t.id) {
                                continue;
                            }
                            out.row(vec![
                                t.project_id.into(),
                                t.id.clone().into(),
                                format!("{}-{}", t.project_id, t.id).into(),
                                t.scope.as_str().into(),
                                t.branch_id.into(),
                                t.description.clone().into(),
                                Value::Timestamp(t.created_at),
                                t.created_by.clone().into(),
                                ts(t.expires_at),
                                ts(t.revoked_at),
                                ts(t.rotated_at),
                                t.is_active(now).into(),
                            ]);
                        }
                    }
                    SystemView::Events => {
                        for e in tx.events(project, i64::MAX)? {
                            out.row(vec![
                                e.id.into(),
                                Value::Timestamp(e.at),
                                e.project_id.into(),
                                e.actor.into(),
                                e.operation.into(),
                                e.object_type.into(),
                                e.object_id.into(),
                                e.details.into(),
                            ]);
                        }
                    }
                    SystemView::Files => {
                        let mut before = None;
                        loop {
                            let page = tx.files(project, before, 1000)?;
                            let Some(last) = page.last().map(|f| f.id) else { break };
                            for f in page {
                                out.row(vec![
                                    f.id.into(),
                                    f.project_id.into(),
                                    f.name.into(),
                                    f.size.into(),
                                    f.sha256.into(),
                                    Value::List(f.tags.into_iter().map(Value::from).collect()),
                                    Value::Timestamp(f.created_at),
                                    f.created_by.into(),
                                ]);
                            }
                            before = Some(last);
                        }
                    }
                    SystemView::Jobs => {
                        for j in tx.jobs(project, i64::MAX)? {
                            out.row(vec![
                                j.id.into(),
                                j.project_id.map_or(Value::Null, Value::from),
                                j.procedure.into(),
                                j.state.into(),
                                Value::Timestamp(j.created_at),
                                ts(j.started_at),
                                ts(j.finished_at),
                                j.created_by.into(),
                                j.result.map_or(Value::Null, Value::from),
                                j.error.map_or(Value::Null, Value::from),
                            ]);
                        }
                    }
                    SystemView::Snapshots => {
                        let branch = ctx.branch_id;
                        for s in tx
                            .snapshots(project, false)?
                            .into_iter()
                            .filter(|s| branch.is_none_or(|b| s.branch_id == b))
                        {
                            out.row(vec![
                                s.id.into(),
                                s.project_id.into(),
                                s.branch_id.into(),
                                format!("{}.{}", s.bucket, s.table_name).into(),
                                s.row_count.into(),
                                s.byte_count.into(),
                                (s.columns.len() as i64).into(),
                                s.primary_key.join(",").into(),
                                s.description.into(),
                                s.trigger.map_or(Value::Null, Value::from),
                                Value::Timestamp(s.created_at),
                                s.created_by.into(),
                                ts(s.expires_at),
                            ]);
                        }
                    }
                    SystemView::Buckets
                    | SystemView::Tables
                    | SystemView::Columns
                    | SystemView::TableProfiles
                    | SystemView::Workspaces
                    | SystemView::Views
                    | SystemView::SnapshotSettings => {
                        unreachable!("answered from the snapshot")
                    }
                }
                Ok(())
            })?;
            out.finish()
        })
        .await
    }
}

impl Storage {
    async fn snapshot_view(&self, view: SystemView, snapshot: super::CatalogSnapshot) -> Result<RecordBatch> {
        self.blocking(move |inner| {
            let mut out = RelationBuilder::new(view.columns());
            let by_id: std::collections::HashMap<i64, &crate::catalog::BucketRecord> =
                snapshot.buckets.iter().map(|b| (b.id, b)).collect();
            match view {
                SystemView::Buckets => {
                    inner.catalog.read(|tx| {
                        for b in &snapshot.buckets {
                            let tables: Vec<_> =
                                snapshot.tables.iter().filter(|(id, _)| *id == b.id).map(|(_, t)| t).collect();
                            let source = match b.source_bucket_id {
                                Some(id) => tx.bucket(id)?,
                                None => None,
                            };
                            let mut shared: Vec<String> = tx.shares_of(b.id)?.iter().map(|p| p.to_string()).collect();
                            if tx.is_shared_with_all(b.id)? {
                                shared.insert(0, "*".into());
                            }
                            out.row(vec![
                                b.full_name().into(),
                                b.project_id.into(),
                                b.branch_id.into(),
                                b.stage.clone().into(),
                                b.name.clone().into(),
                                b.description.clone().into(),
                                (tables.len() as i64).into(),
                                tables.iter().map(|t| t.row_count).sum::<i64>().into(),
                                tables.iter().map(|t| t.byte_count).sum::<i64>().into(),
                                b.read_grant.into(),
                                b.source_bucket_id.is_some().into(),
                                source.as_ref().map(|s| s.project_id).into(),
                                source.as_ref().map(|s| s.full_name()).into(),
                                shared.join(",").into(),
                                Value::Timestamp(b.created_at),
                            ]);
                        }
                        Ok(())
                    })?;
                }
                SystemView::Tables => {
                    for (bucket_id, t) in &snapshot.tables {
                        let b = by_id[bucket_id];
                        out.row(vec![
                            format!("{}.{}", b.full_name(), t.name).into(),
                            b.full_name().into(),
                            t.name.clone().into(),
                            b.project_id.into(),
                            b.branch_id.into(),
                            (t.columns.len() as i64).into(),
                            t.primary_key.join(",").into(),
                            t.row_count.into(),
                            t.byte_count.into(),
                            t.description.clone().into(),
                            b.source_bucket_id.is_some().into(),
                            Value::Timestamp(t.created_at),
                            Value::Timestamp(t.changed_at),
                            (!snapshot.live.contains(&t.id)).into(),
                        ]);
                    }
                }
                SystemView::Views => {
                    for (bucket_id, v) in &snapshot.views {
                        let b = by_id[bucket_id];
                        out.row(vec![
                            format!("{}.{}", b.full_name(), v.name).into(),
                            b.full_name().into(),
                            v.name.clone().into(),
                            b.project_id.into(),
                            b.branch_id.into(),
                            (v.columns.len() as i64).into(),
                            v.definition.clone().into(),
                            Value::Timestamp(v.created_at),
                            v.created_by.clone().into(),
                            (!snapshot.live_views.contains(&v.id)).into(),
                        ]);
                    }
                }
                SystemView::Columns => {
                    // views' columns are nullable, without defaults or a key
                    let views = snapshot.views.iter().map(|(b, v)| (b, &v.name, &v.columns, &[][..]));
                    let tables = snapshot.tables.iter().map(|(b, t)| (b, &t.name, &t.columns, &t.primary_key[..]));
                    for (bucket_id, name, columns, primary_key) in views.chain(tables) {
                        let b = by_id[bucket_id];
                        for (i, c) in columns.iter().enumerate() {
                            out.row(vec![
                                format!("{}.{}", b.full_name(), name).into(),
                                b.full_name().into(),
                                name.clone().into(),
                                (i as i64 + 1).into(),
                                c.name.clone().into(),
                                c.sql_type.clone().into(),
                                c.base_type.clone().into(),
                                c.nullable.into(),
                                c.default_sql.clone().into(),
                                primary_key.contains(&c.name).into(),
                            ]);
                        }
                    }
                }
                SystemView::TableProfiles => {
                    let ids: Vec<i64> = snapshot.tables.iter().map(|(_, t)| t.id).collect();
                    let profiles = inner.catalog.read(|tx| tx.profiles(&ids))?;
                    let as_f64 = |v: &serde_json::Value| v.as_f64().map_or(Value::Null, Value::Float);
                    let as_i64 = |v: &serde_json::Value| v.as_i64().map_or(Value::Null, Value::Int);
                    let as_text = |v: &serde_json::Value| v.as_str().map_or(Value::Null, Value::from);
                    let hints = |v: &serde_json::Value| {
                        Value::List(
                            v.as_array().into_iter().flatten().filter_map(|h| h.as_str()).map(Value::from).collect(),
                        )
                    };
                    for (table_id, at, profile) in profiles {
                        let Ok(p) = serde_json::from_str::<serde_json::Value>(&profile) else { continue };
                        let Some((bucket_id, _)) = snapshot.tables.iter().find(|(_, t)| t.id == table_id) else {
                            continue;
                        };
                        let b = by_id[bucket_id];
                        let name = format!(
                            "{}.{}",
                            b.full_name(),
                            p["table"].as_str().and_then(|t| t.rsplit('.').next()).unwrap_or("")
                        );
                        let mut table_row = vec![Value::Null; view.columns().len()];
                        table_row[0] = name.clone().into();
                        table_row[3] = as_i64(&p["rows"]);
                        table_row[4] = as_i64(&p["bytes"]);
                        table_row[17] = hints(&p["hints"]);
                        table_row[18] = Value::Timestamp(at);
                        out.row(table_row);
                        for c in p["columns"].as_array().into_iter().flatten() {
                            out.row(vec![
                                name.clone().into(),
                                as_text(&c["name"]),
                                as_text(&c["type"]),
                                as_i64(&c["count"]),
                                Value::Null,
                                as_i64(&c["nulls"]),
                                as_i64(&c["distinct"]),
                                as_text(&c["min"]),
                                as_text(&c["max"]),
                                as_f64(&c["mean"]),
                                as_f64(&c["stddev"]),
                                as_f64(&c["q25"]),
                                as_f64(&c["q50"]),
                                as_f64(&c["q75"]),
                                as_i64(&c["min_length"]),
                                as_i64(&c["max_length"]),
                                c["top_values"].to_string().into(),
                                hints(&c["hints"]),
                                Value::Timestamp(at),
                            ]);
                        }
                    }
                }
                _ => unreachable!("only snapshot views come here"),
            }
            out.finish()
        })
        .await
    }
}
