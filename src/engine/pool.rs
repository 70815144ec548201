//! The bounded blocking pool: every DuckDB call runs here, never on an async worker thread.
//! A semaphore bounds how many DuckDB jobs run at once; the number waiting is a metric. A job
//! of a project first takes one of its project's slots, so one project never holds every slot:
//! another project's statement finds one free (or waits only for other projects' jobs).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind, Result};

#[derive(Clone)]
pub struct BlockingPool {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicI64>,
    size: usize,
    /// Each project's own slots (at most `project_size` of the pool's at once).
    projects: Arc<dashmap::DashMap<i64, Arc<Semaphore>>>,
    project_size: usize,
}

/// Slots a job holds: its project's, then the pool's.
struct Permits {
    _project: Option<OwnedSemaphorePermit>,
    _pool: OwnedSemaphorePermit,
}

impl BlockingPool {
    /// `size` jobs at once, of which at most `project_size` of one project.
    pub fn new(size: usize, project_size: usize) -> Self {
        BlockingPool {
            permits: Arc::new(Semaphore::new(size)),
            waiting: Arc::new(AtomicI64::new(0)),
            size,
            projects: Arc::new(dashmap::DashMap::new()),
            project_size: project_size.clamp(1, size.max(1)),
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Jobs waiting for a slot right now.
    pub fn queue_depth(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Jobs running right now.
    pub fn running(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("duckstore_blocking_pool_queue_depth").increment(1.0);
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("duckstore_blocking_pool_queue_depth").decrement(1.0);
        permit.map_err(|_| Error::new(ErrorKind::Unavailable, "the server is shutting down"))
    }

    /// The project's slot first (waiting there does not hold a pool slot), then the pool's.
    async fn permits(&self, project: Option<i64>) -> Result<Permits> {
        let project_permit = match project {
            Some(p) => {
                let slots = Arc::clone(
                    self.projects.entry(p).or_insert_with(|| Arc::new(Semaphore::new(self.project_size))).value(),
                );
                Some(
                    slots
                        .acquire_owned()
                        .await
                        .map_err(|_| Error::new(ErrorKind::Unavailable, "the server is shutting down"))?,
                )
            }
            None => None,
        };
        Ok(Permits { _project: project_permit, _pool: self.permit().await? })
    }

    /// `run` as a job of `project`: it takes one of the project's slots too.
    pub async fn run_for<T, F>(&self, project: Option<i64>, job: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permits = self.permits(project).await?;
        let handle = tokio::task::spawn_blocking(move || {
            let _permits = permits;
            job()
        });
        match handle.await {
            Ok(result) => result,
            Err(e) => Err(Error::internal("running a storage job", e)),
        }
    }

    /// `spawn` as a job of `project`.
    pub async fn spawn_for<F>(&self, project: Option<i64>, job: F) -> Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let permits = self.permits(project).await?;
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            job()
        });
        Ok(())
    }

    /// Runs `job` on a blocking thread once a slot is free and waits for its result.
    pub async fn run<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.permit().await?;
        let handle = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        });
        match handle.await {
            Ok(result) => result,
            Err(e) => Err(Error::internal("running a storage job", e)),
        }
    }

    /// Starts `job` on a blocking thread that keeps its slot until the job returns, without
    /// waiting for it (used for streaming results, where the job feeds a channel).
    pub async fn spawn<F>(&self, job: F) -> Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        });
        Ok(())
    }
}
