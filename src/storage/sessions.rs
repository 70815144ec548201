//! The live sessions of this server: what cancel requests, shutdown and dropping a workspace
//! reach. Kept here, below every front, so that the storage layer closes a dropped workspace's
//! sessions itself instead of calling back up into the wire protocol.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;
use tokio::sync::Notify;

use super::{Principal, Storage};
use crate::engine::Canceller;

/// A session as the registry sees it.
pub struct LiveSession {
    pub pid: i32,
    secret: Vec<u8>,
    principal: Principal,
    pub canceller: Canceller,
    /// Closes the connection when notified (its workspace was dropped).
    kill: Arc<Notify>,
    busy: AtomicBool,
    idle: Notify,
}

impl LiveSession {
    pub fn new(pid: i32, secret: Vec<u8>, principal: Principal, kill: Arc<Notify>) -> LiveSession {
        LiveSession {
            pid,
            secret,
            principal,
            canceller: Canceller::default(),
            kill,
            busy: AtomicBool::new(false),
            idle: Notify::new(),
        }
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
    session: Arc<LiveSession>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.session.busy.store(false, Ordering::Release);
        self.session.idle.notify_waiters();
    }
}

/// Live sessions by backend pid.
#[derive(Default)]
pub struct SessionRegistry {
    sessions: DashMap<i32, Arc<LiveSession>>,
}

impl SessionRegistry {
    pub fn insert(&self, session: Arc<LiveSession>) {
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
            Some(s) if super::credentials::digests_equal(&s.secret, secret) => {
                s.canceller.cancel();
                true
            }
            _ => false,
        }
    }

    /// Closes the sessions of a workspace that is gone: their statements are cancelled and
    /// their connections closed.
    pub(super) fn close_workspace(&self, workspace_id: i64) {
        for s in self.sessions.iter() {
            if matches!(s.principal, Principal::Workspace { workspace_id: w, .. } if w == workspace_id) {
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

impl Storage {
    /// The live sessions of every front.
    pub fn sessions(&self) -> &SessionRegistry {
        &self.inner.sessions
    }
}
