//! Per-connection state of the Postgres front.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use tokio::sync::Notify;

use crate::engine::Canceller;
use crate::gateway::settings::SessionSettings;
use crate::storage::SessionContext;

/// One client connection after login.
pub struct Session {
    pub id: u64,
    pub pid: i32,
    pub secret: Vec<u8>,
    pub ctx: SessionContext,
    pub database: String,
    pub settings: Mutex<SessionSettings>,
    pub canceller: Canceller,
    /// The credential epoch this session's token was last checked at.
    pub checked_epoch: AtomicU64,
    /// Set when the running statement was cancelled by the statement timeout.
    pub timed_out: AtomicBool,
    /// The base of this session's relation handles (see `relation_handle`).
    relation_base: u64,
    /// Set by `ROLLBACK TO SAVEPOINT` in the extended protocol, whose generic transaction
    /// bookkeeping cannot leave the failed state by itself.
    pub restored: AtomicBool,
    busy: AtomicBool,
    idle: Notify,
    /// A `COPY … FROM STDIN` waiting for the client's data.
    pub copy_in: tokio::sync::Mutex<Option<super::copy::CopyIn>>,
    /// A workspace login's connection to its sandbox (storage sessions have none).
    pub workspace: Option<crate::storage::workspaces::WorkspaceSession>,
    /// Closes the connection when notified (its workspace or branch was dropped).
    pub kill: Arc<Notify>,
}

impl Session {
    // Every field a session starts with; a builder would only move the same list elsewhere.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        pid: i32,
        secret: Vec<u8>,
        ctx: SessionContext,
        database: String,
        startup: &BTreeMap<String, String>,
        epoch: u64,
        workspace: Option<crate::storage::workspaces::WorkspaceSession>,
        kill: Arc<Notify>,
    ) -> Session {
        let settings = SessionSettings::new(&ctx.user, startup);
        Session {
            id,
            pid,
            secret,
            ctx,
            database,
            settings: Mutex::new(settings),
            canceller: Canceller::default(),
            checked_epoch: AtomicU64::new(epoch),
            timed_out: AtomicBool::new(false),
            restored: AtomicBool::new(false),
            relation_base: rand::random::<u64>() & ((1 << 47) - 1),
            busy: AtomicBool::new(false),
            idle: Notify::new(),
            copy_in: tokio::sync::Mutex::new(None),
            workspace,
            kill,
        }
    }

    /// The engine instance this session's SQL runs in: its project's, or (the admin) the
    /// system instance, which holds no table.
    pub fn home(&self) -> crate::engine::Place {
        match self.ctx.project_id() {
            Some(p) => crate::engine::Place::Project(p),
            None => crate::engine::Place::System,
        }
    }

    /// The handle this session uses for a server relation: the same one every time, so its
    /// statements repeat verbatim and stay prepared in the engine.
    pub fn relation_handle(&self, code: u64) -> u64 {
        (self.relation_base << 16) | (code & 0xffff)
    }

    pub fn settings(&self) -> std::sync::MutexGuard<'_, SessionSettings> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a statement as running until the guard drops.
    pub fn begin_statement(self: &Arc<Self>) -> BusyGuard {
        self.busy.store(true, Ordering::Release);
        BusyGuard { session: Arc::clone(self) }
    }

    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Resolves once no statement is running.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if !self.is_busy() {
                return;
            }
            notified.await;
        }
    }
}

pub struct BusyGuard {
    session: Arc<Session>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.session.busy.store(false, Ordering::Release);
        self.session.idle.notify_waiters();
    }
}

/// Live sessions by backend pid: cancel requests and shutdown find them here.
#[derive(Default)]
pub struct SessionRegistry {
    sessions: DashMap<i32, Arc<Session>>,
}

impl SessionRegistry {
    pub fn insert(&self, session: Arc<Session>) {
        metrics::gauge!("duckstore_connections").increment(1.0);
        self.sessions.insert(session.pid, session);
    }

    pub fn remove(&self, pid: i32) {
        if self.sessions.remove(&pid).is_some() {
            metrics::gauge!("duckstore_connections").decrement(1.0);
        }
    }

    /// Cancels the running statement of the session with this pid, if the secret matches.
    pub fn cancel(&self, pid: i32, secret: &[u8]) -> bool {
        match self.sessions.get(&pid) {
            Some(s) if crate::storage::credentials::digests_equal(&s.secret, secret) => {
                s.canceller.cancel();
                true
            }
            _ => false,
        }
    }

    /// Closes the sessions of a workspace that is gone: their statements are cancelled and
    /// their connections closed.
    pub fn close_workspace(&self, workspace_id: i64) {
        for s in self.sessions.iter() {
            if matches!(s.ctx.principal, crate::storage::Principal::Workspace { workspace_id: w, .. } if w == workspace_id)
            {
                s.canceller.cancel();
                s.kill.notify_one();
            }
        }
    }

    pub fn cancel_all(&self) {
        for s in self.sessions.iter() {
            s.canceller.cancel();
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn busy_count(&self) -> usize {
        self.sessions.iter().filter(|s| s.is_busy()).count()
    }
}
