//! The storage layer: every storage operation as one function, with its authorization, its audit
//! record and its effects on catalog and disk. The Postgres front and the HTTP sidecar only call
//! in here; no policy lives anywhere else.

mod branches;
pub mod credentials;
pub mod files;
mod idempotency;
mod jobs;
pub mod loads;
pub mod names;
mod profiles;
mod projects;
mod read_snapshots;
pub mod schema;
pub mod sessions;
mod sharing;
pub mod snapshots;
mod stored_views;
mod tables;
pub mod transactions;
mod views;
pub mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::{Catalog, NewEvent, Scope, ScramVerifier, TokenRecord};
use crate::clock::now_micros;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result, SqlState};

pub use credentials::UserName;
pub use projects::{ProjectCreated, TokenIssued, TokenRequest};
pub use read_snapshots::{ReadSnapshot, ReadView};
pub use stored_views::{ExpandedQuery, ReadSource, ViewExpander, ViewSpec};
pub use tables::{
    CatalogSnapshot, ColumnSpec, ReadableTable, TableName, TableSpec, WriteRead, WriteRequest, WriteResult,
    WriteTarget, WrittenFile, as_statement,
};
pub use transactions::Transaction;
pub use views::SystemView;

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Token {
        project_id: i64,
        token_id: String,
        scope: Scope,
        token_branch_id: Option<i64>,
        /// When the token expires: checked before every statement, not only at login.
        expires_at: Option<i64>,
        /// The token's rotation at login: a later rotation ends sessions of the old secret.
        rotated_at: Option<i64>,
    },
    /// A workspace login: runs SQL in the workspace's sandbox, nothing of storage.
    Workspace {
        project_id: i64,
        workspace_id: i64,
    },
}

/// Rows answered as text (NULL as None) with their column names: what `execute_workspace_query`
/// and `preview_table` put into JSON.
#[derive(Debug, Default)]
pub struct TextRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl TextRows {
    pub(crate) async fn collect(mut stream: crate::engine::QueryStream) -> Result<TextRows> {
        let mut result =
            TextRows { columns: stream.schema.fields().iter().map(|f| f.name().clone()).collect(), rows: Vec::new() };
        while let Some(batch) = stream.next_batch().await {
            let batch = batch?;
            // Arrow's display formatting covers every type (lists, structs, maps), unlike a cast.
            let options = arrow::util::display::FormatOptions::default();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| {
                    arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options)
                        .map_err(|e| Error::unsupported(format!("a result column cannot be shown as text: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            for row in 0..batch.num_rows() {
                result.rows.push(
                    batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| (!c.is_null(row)).then(|| f.value(row).to_string()))
                        .collect(),
                );
            }
        }
        Ok(result)
    }
}

/// An authenticated session (a Postgres connection, or one HTTP request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    pub principal: Principal,
    /// The branch the session works on (project tokens only).
    pub branch_id: Option<i64>,
    /// The name the actor is recorded under in logs and audit records.
    pub user: String,
}

impl SessionContext {
    pub fn admin() -> SessionContext {
        SessionContext { principal: Principal::Admin, branch_id: None, user: "admin".into() }
    }

    /// Whether the session's token expired by now (its next statement re-checks it).
    pub fn token_expired(&self, now: i64) -> bool {
        matches!(&self.principal, Principal::Token { expires_at: Some(at), .. } if *at <= now)
    }

    pub fn project_id(&self) -> Option<i64> {
        match &self.principal {
            Principal::Admin => None,
            Principal::Token { project_id, .. } | Principal::Workspace { project_id, .. } => Some(*project_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.principal == Principal::Admin
    }

    pub fn scope(&self) -> Option<Scope> {
        match &self.principal {
            Principal::Admin | Principal::Workspace { .. } => None,
            Principal::Token { scope, .. } => Some(*scope),
        }
    }
}

/// What a Postgres login needs before and after the SCRAM exchange: the verifier to check the
/// proof against, and the session the login opens once the proof is right.
pub struct LoginPlan {
    pub verifier: ScramVerifier,
    pub session: Result<SessionContext>,
}

pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub admin_token: String,
    pub file_limits: files::FileLimits,
    pub workspace_settings: workspaces::WorkspaceSettings,
}

#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    engine: Engine,
    data_dir: PathBuf,
    admin_verifier: ScramVerifier,
    admin_digest: Vec<u8>,
    /// Keys the fake SCRAM salts answered for unknown users, so probing reveals nothing.
    fake_salt_key: Vec<u8>,
    /// Bumped whenever a token stops being valid; sessions re-check their token when it moves.
    credential_epoch: AtomicU64,
    write_locks: tables::WriteLocks,
    /// What REPEATABLE READ and SERIALIZABLE blocks read, pinned (see `read_snapshots`).
    read_snapshots: read_snapshots::ProjectSnapshots,
    idempotency_locks: idempotency::KeyLocks,
    file_limits: files::FileLimits,
    active_uploads: files::ActiveUploads,
    job_slots: Arc<tokio::sync::Semaphore>,
    workspace_settings: workspaces::WorkspaceSettings,
    workspace_sessions: workspaces::SessionCounts,
    sessions: sessions::SessionRegistry,
}

impl Storage {
    pub fn open(config: StorageConfig, catalog: Catalog, engine: Engine) -> Result<Storage> {
        let fake_salt_key = catalog.write(|tx| match tx.setting("fake_salt_key")? {
            Some(key) => Ok(key),
            None => {
                let key = credentials::new_secret();
                tx.set_setting("fake_salt_key", &key)?;
                Ok(key)
            }
        })?;
        Ok(Storage {
            inner: Arc::new(Inner {
                admin_verifier: credentials::scram_verifier(&config.admin_token),
                admin_digest: credentials::secret_digest(&config.admin_token),
                catalog,
                engine,
                data_dir: config.data_dir,
                fake_salt_key: fake_salt_key.into_bytes(),
                credential_epoch: AtomicU64::new(0),
                write_locks: tables::WriteLocks::default(),
                read_snapshots: Default::default(),
                idempotency_locks: Default::default(),
                file_limits: config.file_limits,
                active_uploads: Default::default(),
                job_slots: jobs::job_slots(),
                workspace_settings: config.workspace_settings,
                workspace_sessions: Default::default(),
                sessions: Default::default(),
            }),
        })
        .and_then(|storage| {
            storage.recover()?;
            Ok(storage)
        })
    }

    /// Start-up recovery (design.md R6): table files the catalog does not reference are removed;
    /// referenced files that are missing are reported loudly.
    fn recover(&self) -> Result<()> {
        let inner = &self.inner;
        // transaction blocks a crash interrupted: their tables are rolled back first, so the
        // files only they referenced become orphans below
        let rolled_back = inner.catalog.write(|tx| tx.roll_back_unfinished_transactions())?;
        if rolled_back > 0 {
            tracing::warn!(tables = rolled_back, "rolled back tables of transactions a restart interrupted");
        }
        let referenced: std::collections::HashSet<crate::engine::TableFile> = inner
            .catalog
            .read(|tx| tx.table_files())?
            .into_iter()
            .map(|(project_id, branch_id, table_id, version)| crate::engine::TableFile {
                project_id,
                branch_id,
                table_id,
                version,
            })
            .collect();
        let (removed, missing) = inner.engine.recover(&referenced)?;
        for path in &removed {
            tracing::warn!(path = %path.display(), "removed a table file the catalog does not reference");
        }
        for file in &missing {
            tracing::error!(table_id = file.table_id, version = file.version, "a table's file is missing");
        }
        metrics::counter!("duckstore_recovered_orphan_files_total").increment(removed.len() as u64);
        Ok(())
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// (projects, buckets, tables) in the catalog, for the metrics scrape.
    pub async fn object_counts(&self) -> Result<(i64, i64, i64)> {
        self.catalog_blocking(|s| s.catalog.read(|tx| tx.object_counts())).await
    }

    /// See [`Catalog::generation`]: what a session derived from the catalog at one value it
    /// may reuse while the value holds.
    pub fn catalog_generation(&self) -> u64 {
        self.inner.catalog.generation()
    }

    pub fn credential_epoch(&self) -> u64 {
        self.inner.credential_epoch.load(Ordering::Acquire)
    }

    /// Runs catalog work on the blocking pool.
    /// `blocking` for short catalog-only work (logins, credential checks, metrics): it never
    /// waits for an engine job slot, so a server whose slots are all busy still logs sessions
    /// in and answers scrapes. The closure must not touch the engine.
    async fn catalog_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .unwrap_or_else(|e| Err(Error::internal("reading the catalog", e)))
    }

    /// `blocking` as a job of `project_id`: it takes one of the project's engine slots too, so
    /// one project's writes never hold every slot.
    async fn blocking_for<T, F>(&self, project_id: i64, f: F) -> Result<T>
    where
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.blocking_in(Some(project_id), f).await
    }

    async fn blocking_in<T, F>(&self, project: Option<i64>, f: F) -> Result<T>
    where
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        // the client transaction this serves, if any, decides which uncommitted tables it sees
        let transaction = crate::catalog::task_transaction();
        self.inner
            .engine
            .pool()
            .run_for(project, move || crate::catalog::with_transaction(transaction, || f(&inner)))
            .await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let transaction = crate::catalog::task_transaction();
        self.inner.engine.pool().run(move || crate::catalog::with_transaction(transaction, || f(&inner))).await
    }

    /// Prepares a Postgres login for `user` on `database`. Unknown users get a verifier no
    /// proof can match, so a login never reveals whether a user exists.
    pub async fn plan_login(&self, user: String, database: String) -> LoginPlan {
        let lookup_user = user.clone();
        let planned = self
            .catalog_blocking(move |inner| {
                let now = now_micros();
                if let Some(login) = workspaces::workspace_user(&lookup_user) {
                    return Storage::plan_workspace_login(inner, login, &lookup_user, &database);
                }
                match UserName::parse(&lookup_user) {
                    Some(UserName::Admin) => Ok(Some((inner.admin_verifier.clone(), Ok(SessionContext::admin())))),
                    Some(UserName::Token { project_id, token_id }) => inner.catalog.read(|tx| {
                        let Some(token) = tx.token(project_id, &token_id)? else { return Ok(None) };
                        let session = if token.is_active(now) {
                            resolve_session(tx, &token, &database, &lookup_user)
                        } else {
                            Err(inactive_token_error(&token, now, &lookup_user))
                        };
                        Ok(Some((token.scram.clone(), session)))
                    }),
                    None => Ok(None),
                }
            })
            .await;
        match planned {
            Ok(Some((verifier, session))) => LoginPlan { verifier, session },
            Ok(None) => LoginPlan { verifier: self.fake_verifier(&user), session: Err(bad_password(&user)) },
            Err(e) => LoginPlan { verifier: self.fake_verifier(&user), session: Err(e) },
        }
    }

    fn fake_verifier(&self, user: &str) -> ScramVerifier {
        let salt = credentials::hmac_sha256(&self.inner.fake_salt_key, user.as_bytes());
        ScramVerifier {
            salt: salt[..16].to_vec(),
            iterations: credentials::SCRAM_ITERATIONS,
            stored_key: rand::random::<[u8; 32]>().to_vec(),
            server_key: rand::random::<[u8; 32]>().to_vec(),
        }
    }

    /// Authenticates a whole token (HTTP `Authorization: Bearer …`), for the default branch or
    /// the token's own branch.
    pub async fn authenticate_token(&self, token: String) -> Result<SessionContext> {
        self.blocking(move |inner| {
            let unauthenticated = || Error::unauthenticated("invalid or expired storage token");
            if token == "admin" {
                return Err(unauthenticated());
            }
            if credentials::digests_equal(&credentials::secret_digest(&token), &inner.admin_digest) {
                return Ok(SessionContext::admin());
            }
            let presented = credentials::PresentedToken::parse(&token).ok_or_else(unauthenticated)?;
            let user = format!("{}-{}", presented.project_id, presented.token_id);
            inner.catalog.read(|tx| {
                let record = tx.token(presented.project_id, presented.token_id)?.ok_or_else(unauthenticated)?;
                let digest = credentials::secret_digest(presented.secret);
                if !credentials::digests_equal(&digest, &record.secret_sha256) || !record.is_active(now_micros()) {
                    return Err(unauthenticated());
                }
                resolve_session(tx, &record, "", &user)
            })
        })
        .await
    }

    /// Re-checks that the token behind `session` is still valid (after a revocation somewhere).
    pub async fn revalidate(&self, session: &SessionContext) -> Result<()> {
        if let Principal::Workspace { workspace_id, .. } = session.principal {
            let user = session.user.clone();
            return self
                .catalog_blocking(move |inner| match inner.catalog.read(|tx| tx.workspace(workspace_id))? {
                    Some(w) if w.expires_at.is_none_or(|at| at > now_micros()) => {
                        // a further login must still exist
                        match workspaces::workspace_user(&user) {
                            Some((_, Some(n)))
                                if inner.catalog.read(|tx| tx.workspace_user_verifier(workspace_id, n))?.is_none() =>
                            {
                                Err(Error::new(
                                    ErrorKind::Unavailable,
                                    format!("terminating connection: the workspace user \"{user}\" was dropped"),
                                )
                                .with_sqlstate(SqlState::AdminShutdown))
                            }
                            _ => Ok(()),
                        }
                    }
                    _ => Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("terminating connection: the workspace of \"{user}\" was dropped or expired"),
                    )
                    .with_sqlstate(SqlState::AdminShutdown)),
                })
                .await;
        }
        let Principal::Token { project_id, token_id, rotated_at, .. } = session.principal.clone() else {
            return Ok(());
        };
        let user = session.user.clone();
        let branch_id = session.branch_id;
        self.catalog_blocking(move |inner| {
            if let Some(branch_id) = branch_id
                && inner.catalog.read(|tx| tx.branch(project_id, branch_id))?.is_none()
            {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("terminating connection: branch {branch_id} was dropped"),
                )
                .with_sqlstate(SqlState::AdminShutdown));
            }
            inner.catalog.read(|tx| match tx.token(project_id, &token_id)? {
                Some(token) if token.is_active(now_micros()) && token.rotated_at != rotated_at => {
                    Err(Error::unauthenticated(format!(
                        "terminating connection: the token of user \"{user}\" was rotated; log in with its new secret"
                    ))
                    .with_sqlstate(SqlState::InvalidPassword))
                }
                Some(token) if token.is_active(now_micros()) => Ok(()),
                Some(token) => Err(inactive_token_error(&token, now_micros(), &user)),
                None => Err(Error::unauthenticated(format!("the token of user \"{user}\" no longer exists"))
                    .with_sqlstate(SqlState::InvalidPassword)),
            })
        })
        .await
    }
}

impl Inner {
    /// Appends an audit record inside the caller's catalog transaction.
    fn audit(
        &self,
        tx: &crate::catalog::CatalogTx<'_>,
        ctx: &SessionContext,
        project_id: Option<i64>,
        operation: &str,
        (object_type, object_id): (&str, String),
        details: serde_json::Value,
    ) -> Result<()> {
        metrics::counter!("duckstore_audit_events_total", "operation" => operation.to_owned()).increment(1);
        tx.insert_event(
            now_micros(),
            &NewEvent { project_id, actor: &ctx.user, operation, object_type, object_id, details },
        )
    }

    pub(crate) fn bump_credential_epoch(&self) {
        self.credential_epoch.fetch_add(1, Ordering::AcqRel);
    }
}

fn bad_password(user: &str) -> Error {
    Error::unauthenticated(format!("password authentication failed for user \"{user}\""))
        .with_sqlstate(SqlState::InvalidPassword)
}

fn inactive_token_error(token: &TokenRecord, now: i64, user: &str) -> Error {
    let why = if token.revoked_at.is_some() {
        "has been revoked"
    } else if token.expires_at.is_some_and(|at| at <= now) {
        "has expired"
    } else {
        "is not valid"
    };
    Error::unauthenticated(format!("password authentication failed for user \"{user}\": the token {why}"))
        .with_sqlstate(SqlState::InvalidPassword)
}

/// The branch a login's `database` selects, checked against the token's own branch.
fn resolve_session(
    tx: &crate::catalog::CatalogTx<'_>,
    token: &TokenRecord,
    database: &str,
    user: &str,
) -> Result<SessionContext> {
    let project_id = token.project_id;
    let default = tx.default_branch(project_id)?;
    // libpq defaults the database to the user name; treat that, "", "main" and "default" alike.
    let branch = if database.is_empty() || database == "main" || database == "default" || database == user {
        match token.branch_id {
            // A branch token without an explicit database lands on its own branch.
            Some(own) if database != "main" => own,
            _ => default.id,
        }
    } else {
        let found = match database.parse::<i64>() {
            Ok(id) => tx.branch(project_id, id)?,
            Err(_) => tx.branch_by_name(project_id, database)?,
        };
        found
            .ok_or_else(|| {
                Error::not_found(format!(
                    "database \"{database}\" does not exist: project {project_id} has no such branch"
                ))
                .with_sqlstate(SqlState::InvalidCatalogName)
            })?
            .id
    };
    if let Some(own) = token.branch_id
        && own != branch
    {
        return Err(Error::permission_denied(format!(
            "token \"{user}\" is scoped to branch {own} and cannot open database \"{database}\""
        ))
        .with_sqlstate(SqlState::InsufficientPrivilege));
    }
    Ok(SessionContext {
        principal: Principal::Token {
            project_id,
            token_id: token.id.clone(),
            scope: token.scope,
            token_branch_id: token.branch_id,
            expires_at: token.expires_at,
            rotated_at: token.rotated_at,
        },
        branch_id: Some(branch),
        user: user.to_owned(),
    })
}

/// The project a project-administration call acts on: the admin names one; a token acts on its
/// own project and must be a `project_admin` token.
fn administered_project(ctx: &SessionContext, requested: Option<i64>) -> Result<i64> {
    match &ctx.principal {
        Principal::Admin => requested.ok_or_else(|| {
            Error::invalid("the admin must name the project (project => <id>)")
                .with_sqlstate(SqlState::InvalidParameterValue)
        }),
        Principal::Token { project_id, scope, .. } => {
            if requested.is_some_and(|p| p != *project_id) {
                return Err(Error::permission_denied("a token can only act on its own project"));
            }
            if *scope != Scope::ProjectAdmin {
                return Err(Error::permission_denied(format!(
                    "this needs a project_admin token; the session's token is {scope}"
                )));
            }
            Ok(*project_id)
        }
        Principal::Workspace { .. } => {
            Err(Error::permission_denied("a workspace session runs SQL in its workspace only"))
        }
    }
}

fn require_admin(ctx: &SessionContext, what: &str) -> Result<()> {
    if ctx.is_admin() {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::PermissionDenied, format!("only the admin may {what}")))
    }
}
