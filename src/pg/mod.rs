//! The PostgreSQL wire-protocol front: TLS negotiation, SCRAM logins with storage tokens,
//! simple and extended queries, cancel requests. It speaks the protocol only: statements are
//! planned and run by the execution layer (`exec`), and it decides no policy of its own.

mod admission;
mod auth;
mod copy;
mod encode;
mod errors;
mod query;
mod types;
mod workspace;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures::FutureExt;
use pgwire::api::PgWireServerHandlers;
use pgwire::api::cancel::CancelHandler;
use pgwire::api::copy::CopyHandler;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::tokio::TlsAcceptor;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::exec::{Session, SessionStart};
use crate::storage::sessions::LiveSession;
use crate::storage::{SessionContext, Storage};

pub(crate) const SCRAM_METHOD: &str = "SCRAM-SHA-256";

/// Time limits of the Postgres front.
pub struct PgLimits {
    pub statement_timeout_ms: u64,
    pub startup_timeout_ms: u64,
}

/// State shared by every connection.
pub struct PgShared {
    pub storage: Storage,
    pub exec: crate::exec::Executor,
    pub tls_required: bool,
    /// How long a connection may take to log in.
    pub startup_timeout_ms: u64,
    next_pid: AtomicI32,
    next_session: AtomicU64,
    shutting_down: AtomicBool,
}

impl PgShared {
    pub fn new(storage: Storage, tls_required: bool, limits: PgLimits) -> Arc<PgShared> {
        Arc::new(PgShared {
            exec: crate::exec::Executor::new(storage.clone(), limits.statement_timeout_ms),
            storage,
            tls_required,
            startup_timeout_ms: limits.startup_timeout_ms,
            next_pid: AtomicI32::new(1000),
            next_session: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
        })
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }
}

/// Statement texts up to this size are tokenized and parsed on the async worker (microseconds);
/// larger ones on a blocking thread, so that a huge text never stalls the worker other sessions
/// share.
const INLINE_TEXT_BYTES: usize = 64 * 1024;

/// Runs `work` (tokenizing, parsing) over a client's statement text without holding an async
/// worker for long.
pub(super) async fn on_text<T: Send + 'static>(
    text: &str,
    work: fn(&str) -> crate::error::Result<T>,
) -> crate::error::Result<T> {
    if text.len() <= INLINE_TEXT_BYTES {
        return work(text);
    }
    let owned = text.to_owned();
    match tokio::task::spawn_blocking(move || work(&owned)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(crate::error::Error::internal("reading a statement", e)),
    }
}

/// One client connection: the handlers pgwire calls, sharing the session once logged in.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<PgShared>,
    session: Arc<OnceLock<Arc<Session>>>,
    kill: Arc<tokio::sync::Notify>,
    /// A `COPY … FROM STDIN` waiting for the client's data.
    copy_in: Arc<tokio::sync::Mutex<Option<crate::exec::CopyIn>>>,
}

impl Connection {
    fn new(shared: Arc<PgShared>) -> Connection {
        Connection {
            shared,
            session: Arc::new(OnceLock::new()),
            kill: Arc::new(tokio::sync::Notify::new()),
            copy_in: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The backend pid the next session gets.
    fn next_pid(&self) -> i32 {
        self.shared.next_pid.fetch_add(1, Ordering::Relaxed)
    }

    fn open_session(
        &self,
        pid: i32,
        ctx: SessionContext,
        database: String,
        startup: &BTreeMap<String, String>,
        secret: Vec<u8>,
        workspace: Option<crate::storage::workspaces::WorkspaceSession>,
    ) -> Arc<Session> {
        let live = Arc::new(LiveSession::new(pid, secret, ctx.principal.clone(), Arc::clone(&self.kill)));
        let session = Arc::new(Session::new(SessionStart {
            id: self.shared.next_session.fetch_add(1, Ordering::Relaxed),
            ctx,
            database,
            startup,
            epoch: self.shared.storage.credential_epoch(),
            workspace,
            live: Arc::clone(&live),
        }));
        self.shared.storage.sessions().insert(live);
        let _ = self.session.set(Arc::clone(&session));
        session
    }

    fn session(&self) -> PgWireResult<Arc<Session>> {
        self.session.get().cloned().ok_or(PgWireError::NotReadyForQuery)
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::new(self.clone())
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::new(self.clone())
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        Arc::new(auth::AuthHandler::new(self.clone()))
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        Arc::new(self.clone())
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(Canceller { shared: Arc::clone(&self.shared) })
    }
}

struct Canceller {
    shared: Arc<PgShared>,
}

#[async_trait]
impl CancelHandler for Canceller {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let found = self.shared.storage.sessions().cancel(request.pid, &request.secret_key.to_bytes());
        tracing::info!(pid = request.pid, found, "cancel request");
    }
}

/// How often a busy session's socket is checked for a client that went away.
const DISCONNECT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Cancels the running statement of a session whose client closed its connection: nobody
/// reads the answer, and the statement would hold an engine slot (and another tenant's turn)
/// until it ends. Never resolves.
async fn watch_disconnect(fd: std::os::fd::RawFd, slot: Arc<std::sync::OnceLock<Arc<Session>>>) {
    loop {
        tokio::time::sleep(DISCONNECT_POLL).await;
        if let Some(session) = slot.get()
            && session.is_busy()
            && peer_closed(fd)
        {
            tracing::info!(session = session.id, "the client went away; cancelling its statement");
            session.canceller.cancel();
        }
    }
}

/// Whether the peer of `fd` closed its end: a non-blocking peek reads end-of-stream. Bytes
/// waiting (a pipelined message) or nothing yet both mean it is still there.
fn peer_closed(fd: std::os::fd::RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: `fd` is the connection's open socket (see `serve`); MSG_PEEK leaves the byte
    // for the protocol reader and MSG_DONTWAIT never blocks.
    let n = unsafe { libc::recv(fd, (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECONNRESET))
}

/// Accepts connections until `shutdown` turns true; each connection runs in `tracker`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<PgShared>,
    mut shutdown: watch::Receiver<bool>,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (socket, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a Postgres connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        admission::keep_alive(&socket);
        let connection = Connection::new(Arc::clone(&shared));
        let tls = tls.clone();
        let mut stop = shutdown.clone();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&socket);
        let startup_timeout = std::time::Duration::from_millis(shared.startup_timeout_ms);
        let deadline = tokio::time::Instant::now() + startup_timeout;
        tracker.spawn(async move {
            if tls.is_some() && admission::smuggles_after_ssl_request(&socket, startup_timeout).await {
                tracing::warn!(target: "duckstore::security", %peer, "closing a connection that sent bytes behind its SSLRequest");
                metrics::counter!("duckstore_security_refusals_total", "check" => "ssl_request_trailing_bytes").increment(1);
                return;
            }
            // A login must finish in time (pgwire's own bound is a fixed minute).
            let slot_for_startup = Arc::clone(&connection.session);
            let startup = async move {
                tokio::time::sleep_until(deadline).await;
                if slot_for_startup.get().is_none() {
                    return;
                }
                std::future::pending::<()>().await
            };
            // Polled only while `process_socket` owns the socket (same select below), so the
            // descriptor is never read after it is closed.
            let disconnects = watch_disconnect(fd, Arc::clone(&connection.session));
            let slot = Arc::clone(&connection.session);
            let registry_shared = Arc::clone(&connection.shared);
            let kill = Arc::clone(&connection.kill);
            let closable = async move {
                // On shutdown an idle session is closed at once; a busy one after its statement.
                let _ = stop.wait_for(|s| *s).await;
                if let Some(session) = slot.get() {
                    session.wait_idle().await;
                }
            };
            tokio::select! {
                // pgwire's decoder can panic on a malformed message (found by fuzzing: a Parse
                // shorter than its fields); that ends this connection, never the clean-up below.
                result = std::panic::AssertUnwindSafe(pgwire::tokio::process_socket(socket, tls, connection.clone())).catch_unwind() => {
                    match result {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
                        Err(_) => tracing::warn!(%peer, "a malformed message from the client ended its connection"),
                    }
                }
                _ = closable => {}
                _ = disconnects => {}
                _ = startup => {
                    tracing::info!(%peer, "closing a connection that did not log in in time");
                }
                _ = kill.notified() => {
                    tracing::info!(%peer, "closing a session whose workspace is gone");
                }
            }
            if let Some(session) = connection.session.get() {
                registry_shared.storage.sessions().remove(session.pid);
                tracing::info!(session = session.id, "session closed");
            }
        });
    }
}
