//! Asynchronous jobs: a long procedure called with `async => true` answers a job id at once
//! and runs in the background; `duckstore.jobs` shows its state, timings, answer or error.
//! A job that was waiting or running when the server stopped is marked `error` at the next
//! start: nothing finishes it, so nothing claims it is still running.

use std::future::Future;
use std::sync::Arc;

use super::{SessionContext, Storage};
use crate::catalog::{JobRecord, JobState};
use crate::clock::now_micros;
use crate::error::{Error, Result};

/// Jobs that run at once; more wait (`waiting`) for a slot.
pub(super) const JOB_WORKERS: usize = 4;

pub(crate) fn job_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(JOB_WORKERS))
}

impl Storage {
    /// Marks jobs a previous run left unfinished as failed. Runs at start-up.
    pub async fn fail_unfinished_jobs(&self) -> Result<usize> {
        let failed = self
            .blocking(|inner| {
                inner.catalog.write(|tx| {
                    tx.fail_unfinished_jobs(
                        now_micros(),
                        &serde_json::json!({"sqlstate": "57P01", "message": "the server stopped while the job ran; run it again"})
                            .to_string(),
                    )
                })
            })
            .await?;
        if failed > 0 {
            tracing::warn!(failed, "jobs left unfinished by the previous run are marked as errors");
        }
        Ok(failed)
    }

    /// Registers a job for `procedure` and runs `work` in the background; answers its id.
    pub async fn spawn_job<F>(&self, ctx: &SessionContext, procedure: &'static str, work: F) -> Result<JobRecord>
    where
        F: Future<Output = Result<serde_json::Value>> + Send + 'static,
    {
        let (project_id, user) = (ctx.project_id(), ctx.user.clone());
        let job = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let id = tx.insert_job(project_id, procedure, now_micros(), &user)?;
                    tx.job(id)?.ok_or_else(|| Error::internal("registering a job", "row missing"))
                })
            })
            .await?;
        let storage = self.clone();
        let id = job.id;
        tokio::spawn(async move {
            let _slot = storage.inner.job_slots.clone().acquire_owned().await;
            let started = storage.blocking(move |inner| inner.catalog.write(|tx| tx.start_job(id, now_micros()))).await;
            let outcome = match started {
                Ok(()) => work.await,
                Err(e) => Err(e),
            };
            let (state, result, error) = match outcome {
                Ok(value) => (JobState::Success, Some(value.to_string()), None),
                Err(e) => (
                    JobState::Error,
                    None,
                    Some(serde_json::json!({"sqlstate": e.sqlstate(), "message": e.message()}).to_string()),
                ),
            };
            metrics::counter!("duckstore_jobs_total", "procedure" => procedure, "outcome" => state.as_str())
                .increment(1);
            let recorded = storage
                .blocking(move |inner| {
                    inner
                        .catalog
                        .write(|tx| tx.finish_job(id, state, now_micros(), result.as_deref(), error.as_deref()))
                })
                .await;
            if let Err(e) = recorded {
                tracing::error!(job = id, error = %e, "a job's outcome could not be recorded");
            }
        });
        Ok(job)
    }
}
