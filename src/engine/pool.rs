//! The bounded blocking pool: every DuckDB call runs here, never on an async worker thread.
//! A semaphore bounds how many DuckDB jobs run at once; the number waiting is a metric.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind, Result};

#[derive(Clone)]
pub struct BlockingPool {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicI64>,
    size: usize,
}

impl BlockingPool {
    pub fn new(size: usize) -> Self {
        BlockingPool { permits: Arc::new(Semaphore::new(size)), waiting: Arc::new(AtomicI64::new(0)), size }
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
