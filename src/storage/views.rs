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
}

impl SystemView {
    pub const ALL: &'static [SystemView] =
        &[SystemView::Projects, SystemView::Branches, SystemView::Tokens, SystemView::Events];

    pub fn name(self) -> &'static str {
        match self {
            SystemView::Projects => "projects",
            SystemView::Branches => "branches",
            SystemView::Tokens => "tokens",
            SystemView::Events => "events",
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
        }
    }
}

fn ts(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Timestamp)
}

impl Storage {
    /// The rows of a system view as the session may see them.
    pub async fn system_view(&self, ctx: SessionContext, view: SystemView) -> Result<RecordBatch> {
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
                }
                Ok(())
            })?;
            out.finish()
        })
        .await
    }
}
