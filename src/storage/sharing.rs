//! Sharing buckets between projects: a project shares a bucket with another, which links it as a
//! read-only bucket of its own; plus the read grant that read-only tokens honour.

use serde_json::json;

use super::names;
use super::tables::require_write;
use super::{SessionContext, Storage};
use crate::catalog::{NewBucket, Scope};
use crate::clock::now_micros;
use crate::error::{Error, Result, SqlState};

fn require_project_admin(ctx: &SessionContext) -> Result<(i64, i64)> {
    let place = require_write(ctx)?;
    if ctx.scope() != Some(Scope::ProjectAdmin) {
        return Err(Error::permission_denied("sharing and read grants need a project_admin token"));
    }
    Ok(place)
}

impl Storage {
    pub async fn share_bucket(&self, ctx: SessionContext, bucket: String, target_project: Option<i64>) -> Result<()> {
        let (project_id, branch_id) = require_project_admin(&ctx)?;
        if target_project == Some(project_id) {
            return Err(Error::invalid("a bucket cannot be shared with its own project"));
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let (stage, name) = names::parse_bucket(&bucket)?;
                let b = tx.bucket_by_name(project_id, branch_id, &stage, &name)?.ok_or_else(|| {
                    Error::not_found(format!("bucket \"{bucket}\" does not exist"))
                        .with_sqlstate(SqlState::InvalidSchemaName)
                })?;
                if b.source_bucket_id.is_some() {
                    return Err(Error::invalid(format!(
                        "bucket \"{bucket}\" is itself a link and cannot be shared on"
                    )));
                }
                match target_project {
                    Some(target) => {
                        if tx.project(target)?.is_none() {
                            return Err(Error::not_found(format!("project {target} does not exist")));
                        }
                        tx.share_bucket(b.id, target, now_micros(), &ctx.user)?;
                    }
                    None => {
                        tx.share_with_all(b.id, true)?;
                    }
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "share_bucket",
                    ("bucket", bucket.clone()),
                    json!({"project": target_project}),
                )
            })
        })
        .await
    }

    /// Stops sharing; refused while the other project still links the bucket.
    pub async fn unshare_bucket(&self, ctx: SessionContext, bucket: String, target_project: Option<i64>) -> Result<()> {
        let (project_id, branch_id) = require_project_admin(&ctx)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let (stage, name) = names::parse_bucket(&bucket)?;
                let b = tx.bucket_by_name(project_id, branch_id, &stage, &name)?.ok_or_else(|| {
                    Error::not_found(format!("bucket \"{bucket}\" does not exist"))
                        .with_sqlstate(SqlState::InvalidSchemaName)
                })?;
                let shared_with_all = tx.is_shared_with_all(b.id)?;
                let shared_by_name = tx.shares_of(b.id)?;
                let links: Vec<String> = tx
                    .links_of(b.id)?
                    .into_iter()
                    // without a project: sharing with every project ends, so every link must go
                    // first, except those of projects it stays shared with by name
                    .filter(|l| match target_project {
                        Some(target) => l.project_id == target && !shared_with_all,
                        None => !shared_by_name.contains(&l.project_id),
                    })
                    .map(|l| format!("{} in project {}", l.full_name(), l.project_id))
                    .collect();
                if !links.is_empty() {
                    return Err(Error::failed_precondition(format!(
                        "bucket \"{bucket}\" is still linked as {}; unlink it first",
                        links.join(", ")
                    ))
                    .with_sqlstate(SqlState::DependentObjectsStillExist));
                }
                let changed = match target_project {
                    Some(target) => tx.unshare_bucket(b.id, target)?,
                    None => tx.share_with_all(b.id, false)?,
                };
                if !changed {
                    let whom = target_project.map_or("every project".to_owned(), |p| format!("project {p}"));
                    return Err(Error::not_found(format!("bucket \"{bucket}\" is not shared with {whom}")));
                }
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "unshare_bucket",
                    ("bucket", bucket.clone()),
                    json!({"project": target_project}),
                )
            })
        })
        .await
    }

    /// Links another project's shared bucket into the session's project as `{stage}.c-{name}`.
    pub async fn link_bucket(
        &self,
        ctx: SessionContext,
        source_project: i64,
        source_bucket: String,
        stage: String,
        name: String,
    ) -> Result<String> {
        let (project_id, branch_id) = require_write(&ctx)?;
        names::validate_stage(&stage)?;
        names::validate_bucket_name(&name)?;
        names::refuse_reserved_bucket(&name)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let (source_stage, source_name) = names::parse_bucket(&source_bucket)?;
                let denied = || {
                    Error::permission_denied(format!(
                        "bucket \"{source_bucket}\" of project {source_project} is not shared with project {project_id}"
                    ))
                };
                let source_branch = tx.default_branch(source_project).map_err(|_| denied())?;
                let source = tx
                    .bucket_by_name(source_project, source_branch.id, &source_stage, &source_name)?
                    .ok_or_else(denied)?;
                if !tx.is_shared_with(source.id, project_id)? {
                    return Err(denied());
                }
                let link = tx.insert_bucket(&NewBucket {
                    project_id,
                    branch_id,
                    stage: &stage,
                    name: &name,
                    description: &format!("linked from project {source_project}, bucket {source_bucket}"),
                    source_bucket_id: Some(source.id),
                    created_at: now_micros(),
                    created_by: &ctx.user,
                    mirrors_bucket_id: None,
                })?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "link_bucket",
                    ("bucket", link.full_name()),
                    json!({"source_project": source_project, "source_bucket": source_bucket}),
                )?;
                Ok(link.full_name())
            })
        })
        .await
    }

    pub async fn unlink_bucket(&self, ctx: SessionContext, bucket: String) -> Result<()> {
        let (project_id, branch_id) = require_write(&ctx)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let (stage, name) = names::parse_bucket(&bucket)?;
                let b = tx.bucket_by_name(project_id, branch_id, &stage, &name)?.ok_or_else(|| {
                    Error::not_found(format!("bucket \"{bucket}\" does not exist"))
                        .with_sqlstate(SqlState::InvalidSchemaName)
                })?;
                if b.source_bucket_id.is_none() {
                    return Err(Error::invalid(format!("bucket \"{bucket}\" is not a linked bucket")));
                }
                tx.delete_bucket(b.id)?;
                inner.audit(tx, &ctx, Some(project_id), "unlink_bucket", ("bucket", bucket.clone()), json!({}))
            })
        })
        .await
    }

    /// Grants or revokes read access of the project's read-only tokens to a bucket.
    pub async fn set_bucket_read_grant(&self, ctx: SessionContext, bucket: String, granted: bool) -> Result<()> {
        let (project_id, branch_id) = require_project_admin(&ctx)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let (stage, name) = names::parse_bucket(&bucket)?;
                let b = tx.bucket_by_name(project_id, branch_id, &stage, &name)?.ok_or_else(|| {
                    Error::not_found(format!("bucket \"{bucket}\" does not exist"))
                        .with_sqlstate(SqlState::InvalidSchemaName)
                })?;
                tx.set_bucket_read_grant(b.id, granted)?;
                let op = if granted { "grant_bucket_read" } else { "revoke_bucket_read" };
                inner.audit(tx, &ctx, Some(project_id), op, ("bucket", bucket.clone()), json!({}))
            })
        })
        .await
    }
}
