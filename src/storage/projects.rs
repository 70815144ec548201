//! Projects and tokens.

use serde_json::json;

use super::credentials::{format_token, new_secret, new_token_id, scram_verifier, secret_digest};
use super::{Principal, SessionContext, Storage, administered_project, require_admin};
use crate::catalog::{Scope, TokenRecord};
use crate::clock::{format_micros, now_micros};
use crate::error::{Error, Result, SqlState};

#[derive(Debug, Clone)]
pub struct ProjectCreated {
    pub project_id: i64,
    pub name: String,
    pub default_branch_id: i64,
    pub token: TokenIssued,
    pub created_at: i64,
}

/// A token as issued: the only time its secret is shown.
#[derive(Debug, Clone)]
pub struct TokenIssued {
    pub project_id: i64,
    pub token_id: String,
    pub user: String,
    pub token: String,
    pub scope: Scope,
    pub branch_id: Option<i64>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub project_id: Option<i64>,
    pub scope: Option<Scope>,
    /// Branch id or name; branch tokens default to the default branch.
    pub branch: Option<String>,
    pub expires_at: Option<i64>,
    pub description: String,
}

const MAX_NAME_LEN: usize = 255;

fn validate_label(what: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_NAME_LEN || value.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{what} must be at most {MAX_NAME_LEN} characters without control characters"
        )));
    }
    Ok(())
}

fn issue_token(
    project_id: i64,
    scope: Scope,
    branch_id: Option<i64>,
    expires_at: Option<i64>,
    description: String,
    created_by: &str,
) -> (TokenRecord, TokenIssued) {
    let token_id = new_token_id();
    let secret = new_secret();
    let token = format_token(project_id, &token_id, &secret);
    let record = TokenRecord {
        project_id,
        id: token_id.clone(),
        scope,
        branch_id,
        description,
        secret_sha256: secret_digest(&secret),
        scram: scram_verifier(&token),
        created_at: now_micros(),
        created_by: created_by.to_owned(),
        expires_at,
        revoked_at: None,
        rotated_at: None,
    };
    let issued = TokenIssued {
        project_id,
        user: format!("{project_id}-{token_id}"),
        token_id,
        token,
        scope,
        branch_id,
        expires_at,
    };
    (record, issued)
}

impl Storage {
    /// Creates a project with its default branch and first `project_admin` token (admin only).
    pub async fn create_project(&self, ctx: SessionContext, id: Option<i64>, name: String) -> Result<ProjectCreated> {
        require_admin(&ctx, "create projects")?;
        validate_label("a project name", &name)?;
        if name.trim().is_empty() {
            return Err(Error::invalid("a project needs a name"));
        }
        if let Some(id) = id
            && !(1..=999_999_999_999_999).contains(&id)
        {
            return Err(Error::invalid(format!("project id {id} is out of range (1 to 999999999999999)")));
        }
        self.blocking(move |inner| {
            let created_at = now_micros();
            let created = inner.catalog.write(|tx| {
                let (project, branch) = tx.insert_project(id, &name, created_at, &ctx.user)?;
                let (record, issued) = issue_token(
                    project.id,
                    Scope::ProjectAdmin,
                    None,
                    None,
                    "first project admin token".into(),
                    &ctx.user,
                );
                tx.insert_token(&record)?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project.id),
                    "create_project",
                    ("project", project.id.to_string()),
                    json!({"name": name}),
                )?;
                Ok(ProjectCreated {
                    project_id: project.id,
                    name: project.name,
                    default_branch_id: branch.id,
                    token: issued,
                    created_at,
                })
            })?;
            for dir in project_dirs(&inner.data_dir, created.project_id) {
                std::fs::create_dir_all(&dir).map_err(|e| Error::internal("creating project directories", e))?;
            }
            Ok(created)
        })
        .await
    }

    /// Drops a project: its catalog rows in one transaction, then its files (admin only).
    pub async fn drop_project(&self, ctx: SessionContext, id: i64) -> Result<()> {
        require_admin(&ctx, "drop projects")?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                // Another project's linked bucket reads this one's tables: refused, like
                // PostgreSQL's DROP of an object others depend on, until they unlink.
                let links = tx.links_into_project(id)?;
                if let Some((project, bucket)) = links.first() {
                    return Err(Error::failed_precondition(format!(
                        "project {id} cannot be dropped: {} linked bucket(s) of other projects read its buckets, \
                         e.g. \"{bucket}\" of project {project}",
                        links.len()
                    ))
                    .with_sqlstate(SqlState::DependentObjectsStillExist)
                    .with_hint("those projects unlink_bucket first (or the bucket is unshared after they do)"));
                }
                if !tx.delete_project(id, now_micros())? {
                    return Err(Error::not_found(format!("project {id} does not exist")));
                }
                inner.audit(tx, &ctx, Some(id), "drop_project", ("project", id.to_string()), json!({}))
            })?;
            inner.bump_credential_epoch();
            inner.engine.close_project(id);
            // The catalog no longer references these files; a crash here leaves orphans that
            // start-up recovery removes.
            for dir in project_dirs(&inner.data_dir, id) {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::internal("removing project files", e))?;
                }
            }
            Ok(())
        })
        .await
    }

    pub async fn create_token(&self, ctx: SessionContext, request: TokenRequest) -> Result<TokenIssued> {
        let project_id = administered_project(&ctx, request.project_id)?;
        let scope = request.scope.unwrap_or(Scope::ProjectAdmin);
        validate_label("a token description", &request.description)?;
        if scope == Scope::ProjectAdmin && request.branch.is_some() {
            return Err(Error::invalid("a project_admin token covers every branch; do not name a branch"));
        }
        if request.expires_at.is_some_and(|at| at <= now_micros()) {
            return Err(Error::invalid("the expiry must lie in the future"));
        }
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                if tx.project(project_id)?.is_none() {
                    return Err(Error::not_found(format!("project {project_id} does not exist")));
                }
                let branch_id = match (scope, &request.branch) {
                    (Scope::ProjectAdmin, _) => None,
                    (_, None) => Some(tx.default_branch(project_id)?.id),
                    (_, Some(branch)) => {
                        let found = match branch.parse::<i64>() {
                            Ok(id) => tx.branch(project_id, id)?,
                            Err(_) => tx.branch_by_name(project_id, branch)?,
                        };
                        Some(
                            found
                                .ok_or_else(|| Error::not_found(format!("project {project_id} has no branch \"{branch}\"")))?
                                .id,
                        )
                    }
                };
                let (record, issued) =
                    issue_token(project_id, scope, branch_id, request.expires_at, request.description.clone(), &ctx.user);
                tx.insert_token(&record)?;
                inner.audit(
                    tx,
                    &ctx,
                    Some(project_id),
                    "create_token",
                    ("token", issued.token_id.clone()),
                    json!({"scope": scope.as_str(), "branch_id": branch_id, "expires_at": request.expires_at.map(format_micros)}),
                )?;
                Ok(issued)
            })
        })
        .await
    }

    /// Revokes a token; the project's last active `project_admin` token cannot be revoked.
    pub async fn revoke_token(&self, ctx: SessionContext, project: Option<i64>, token_id: String) -> Result<()> {
        let project_id = administered_project(&ctx, project)?;
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let now = now_micros();
                let token = tx
                    .token(project_id, &token_id)?
                    .ok_or_else(|| Error::not_found(format!("project {project_id} has no token \"{token_id}\"")))?;
                if token.revoked_at.is_some() {
                    return Err(Error::failed_precondition(format!("token \"{token_id}\" is already revoked")));
                }
                if token.scope == Scope::ProjectAdmin
                    && token.is_active(now)
                    && tx.active_project_admin_tokens(project_id, now)? <= 1
                {
                    return Err(Error::failed_precondition(format!(
                        "token \"{token_id}\" is the last active project_admin token of project {project_id}; \
                         create another one before revoking it"
                    )));
                }
                tx.revoke_token(project_id, &token_id, now)?;
                inner.audit(tx, &ctx, Some(project_id), "revoke_token", ("token", token_id.clone()), json!({}))
            })?;
            inner.bump_credential_epoch();
            Ok(())
        })
        .await
    }

    /// Gives a token a new secret; the old secret stops working at once. A token may rotate
    /// itself; other tokens need a `project_admin` token (or the admin).
    pub async fn rotate_token(
        &self,
        ctx: SessionContext,
        project: Option<i64>,
        token_id: String,
    ) -> Result<TokenIssued> {
        let own = matches!(&ctx.principal, Principal::Token { project_id, token_id: own, .. }
            if *own == token_id && project.is_none_or(|p| p == *project_id));
        let project_id = if own {
            ctx.project_id().expect("token sessions have a project")
        } else {
            administered_project(&ctx, project)?
        };
        self.blocking(move |inner| {
            let issued = inner.catalog.write(|tx| {
                let token = tx
                    .token(project_id, &token_id)?
                    .ok_or_else(|| Error::not_found(format!("project {project_id} has no token \"{token_id}\"")))?;
                if !token.is_active(now_micros()) {
                    return Err(Error::failed_precondition(format!("token \"{token_id}\" is revoked or expired")));
                }
                let secret = new_secret();
                let whole = format_token(project_id, &token_id, &secret);
                tx.rotate_token(project_id, &token_id, &secret_digest(&secret), &scram_verifier(&whole), now_micros())?;
                inner.audit(tx, &ctx, Some(project_id), "rotate_token", ("token", token_id.clone()), json!({}))?;
                Ok(TokenIssued {
                    project_id,
                    user: format!("{project_id}-{token_id}"),
                    token_id: token_id.clone(),
                    token: whole,
                    scope: token.scope,
                    branch_id: token.branch_id,
                    expires_at: token.expires_at,
                })
            })?;
            inner.bump_credential_epoch();
            Ok(issued)
        })
        .await
    }
}

/// Directories that hold a project's data.
fn project_dirs(data_dir: &std::path::Path, project_id: i64) -> Vec<std::path::PathBuf> {
    ["tables", "files", "snapshots", "workspaces"]
        .iter()
        .map(|d| data_dir.join(d).join(project_id.to_string()))
        .collect()
}
