//! What a session keeps between its statements so that the same statement costs less the next
//! time, never answering differently (ADR 0013): the plans of its statement texts while its
//! settings are unchanged, and the results of its reads while the catalog and the data they
//! read are unchanged. Kept per session, so nothing crosses sessions, let alone tenants.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::engine::{DataEpoch, Param, Place};
use crate::gateway::{self, Plan};

/// Statement texts whose plans a session keeps (a dashboard repeats a few dozen).
const KEPT_PLANS: usize = 64;
/// The longest text whose plan is kept (a BI tool's catalog query is a few KB), and the most
/// text a session's kept plans hold (a plan's size follows its text's).
const MAX_KEPT_PLAN_TEXT: usize = 16 * 1024;
const MAX_KEPT_PLAN_TEXTS: usize = 128 * 1024;

/// Point lookups whose texts a session keeps as patterns (see `gateway::lookup::LiteralSlot`):
/// a client looks up a few tables, each with one text and another key each time.
const KEPT_LOOKUP_SLOTS: usize = 8;

/// Plans of statement texts, made while the session's settings were at `changes`.
#[derive(Default)]
pub(super) struct KeptPlans {
    changes: u64,
    plans: HashMap<String, Plan>,
    text_bytes: usize,
    /// Point lookups' plans, each with its text as the pattern of the same lookup with another
    /// key; the most recently kept last.
    lookups: Vec<(gateway::lookup::LiteralSlot, gateway::QueryPlan)>,
}

impl KeptPlans {
    /// The plan of `text`, if it was kept while the settings were as they are now.
    pub(super) fn get(&self, text: &str, changes: u64) -> Option<Plan> {
        if self.changes != changes {
            return None;
        }
        if let Some(plan) = self.plans.get(text) {
            return Some(plan.clone());
        }
        self.lookups.iter().rev().find_map(|(slot, plan)| {
            let key = gateway::lookup::key_in(slot, text)?;
            plan.with_key(&key).map(Plan::Query)
        })
    }

    /// Keeps `plan` of `text`, planned with the settings at `changes`: reads and constants
    /// only (a write's plan names a target placeholder that must stay unpredictable).
    pub(super) fn keep(&mut self, text: &str, changes: u64, plan: &Plan) {
        if !matches!(plan, Plan::Query(_) | Plan::Constant(_)) || text.len() > MAX_KEPT_PLAN_TEXT {
            return;
        }
        if self.changes != changes {
            self.lookups.clear();
        }
        if self.changes != changes
            || self.plans.len() >= KEPT_PLANS
            || self.text_bytes + text.len() > MAX_KEPT_PLAN_TEXTS
        {
            self.plans.clear();
            self.text_bytes = 0;
            self.changes = changes;
        }
        if let Plan::Query(q) = plan
            && let Some(slot) = q.lookup.as_ref().and_then(|l| gateway::lookup::literal_slot(text, l))
        {
            // its text is kept in the slot, not among the texts
            if self.lookups.len() >= KEPT_LOOKUP_SLOTS {
                self.lookups.remove(0);
            }
            self.lookups.push((slot, q.clone()));
            return;
        }
        if self.plans.insert(text.to_owned(), plan.clone()).is_none() {
            self.text_bytes += text.len();
        }
    }
}

/// Results a session keeps.
const KEPT_RESULTS: usize = 32;
/// The largest result kept, and the most one session keeps.
const MAX_KEPT_RESULT_BYTES: usize = 1 << 20;
const MAX_SESSION_RESULT_BYTES: usize = 8 << 20;
/// The most all sessions together keep: past it, results go unkept until others are dropped.
const MAX_SERVER_RESULT_BYTES: usize = 256 << 20;
static SERVER_RESULT_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A read as the engine runs it: its text and the values bound to it.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct ResultKey {
    sql: String,
    params: String,
}

/// The most bytes of bound values a kept result's key holds: a read bound to more is not kept.
const MAX_KEPT_PARAM_BYTES: usize = 16 * 1024;

impl ResultKey {
    /// `None` when the values bound are too large to be part of a key.
    pub(super) fn new(sql: &str, params: &[Param]) -> Option<ResultKey> {
        let size: usize = params
            .iter()
            .map(|p| match p {
                Param::Text(t) => t.len(),
                Param::Bytes(b) => b.len(),
                _ => 16,
            })
            .sum();
        (size <= MAX_KEPT_PARAM_BYTES).then(|| ResultKey {
            sql: sql.to_owned(),
            params: if params.is_empty() { String::new() } else { format!("{params:?}") },
        })
    }
}

/// What the rows of a kept result were read from: the catalog at `generation` (the text's
/// names, the server relations' rows) and, when it read table files, `place`'s data at
/// `epoch`. Both are taken before the read began, so the rows are never older than them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct ReadFrom {
    pub generation: u64,
    pub tables: Option<(Place, DataEpoch)>,
}

/// A whole result, as the engine answered it.
pub(super) struct KeptResult {
    pub from: ReadFrom,
    /// As the engine answered it: a read marks it with what its own plan knows.
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    bytes: usize,
}

impl Drop for KeptResult {
    fn drop(&mut self) {
        SERVER_RESULT_BYTES.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[derive(Default)]
pub(super) struct KeptResults {
    results: HashMap<ResultKey, Arc<KeptResult>>,
    bytes: usize,
}

impl KeptResults {
    /// The result kept for `key`, if what it was read from is still what `now` finds; one
    /// that is not is dropped.
    pub(super) fn get(&mut self, key: &ResultKey, now: impl Fn(&ReadFrom) -> bool) -> Option<Arc<KeptResult>> {
        let kept = self.results.get(key)?;
        if now(&kept.from) {
            return Some(Arc::clone(kept));
        }
        if let Some(gone) = self.results.remove(key) {
            self.bytes -= gone.bytes;
        }
        None
    }

    /// Keeps a whole result (when it is small enough and there is room).
    pub(super) fn keep(&mut self, key: ResultKey, from: ReadFrom, schema: SchemaRef, batches: Vec<RecordBatch>) {
        let bytes =
            key.sql.len() + key.params.len() + batches.iter().map(RecordBatch::get_array_memory_size).sum::<usize>();
        if bytes > MAX_KEPT_RESULT_BYTES {
            return;
        }
        // what was read earlier than this is stale by now
        let stale = self.results.values().any(|r| r.from.generation < from.generation);
        if stale || self.results.len() >= KEPT_RESULTS || self.bytes + bytes > MAX_SESSION_RESULT_BYTES {
            self.clear();
        }
        if SERVER_RESULT_BYTES.fetch_add(bytes, Ordering::AcqRel) + bytes > MAX_SERVER_RESULT_BYTES {
            SERVER_RESULT_BYTES.fetch_sub(bytes, Ordering::AcqRel);
            return;
        }
        self.bytes += bytes;
        metrics::counter!("duckstore_kept_results_total", "outcome" => "kept").increment(1);
        if let Some(replaced) = self.results.insert(key, Arc::new(KeptResult { from, schema, batches, bytes })) {
            self.bytes -= replaced.bytes;
        }
    }

    pub(super) fn clear(&mut self) {
        self.results.clear();
        self.bytes = 0;
    }
}

/// An engine's result on its way to the client, kept when it arrives whole and small enough.
pub struct KeepingRows {
    stream: crate::engine::QueryStream,
    /// The result's columns as the engine answered them, before the read marked them.
    engine_schema: SchemaRef,
    session: Arc<super::Session>,
    /// `None` once the result cannot be kept (too large, or failed).
    key: Option<ResultKey>,
    from: ReadFrom,
    batches: Vec<RecordBatch>,
    bytes: usize,
}

impl KeepingRows {
    pub(super) fn new(
        stream: crate::engine::QueryStream,
        engine_schema: SchemaRef,
        session: Arc<super::Session>,
        key: ResultKey,
        from: ReadFrom,
    ) -> KeepingRows {
        KeepingRows { stream, engine_schema, session, key: Some(key), from, batches: Vec::new(), bytes: 0 }
    }

    pub(super) fn stream_mut(&mut self) -> &mut crate::engine::QueryStream {
        &mut self.stream
    }

    pub(super) async fn next(&mut self) -> Option<crate::error::Result<RecordBatch>> {
        let next = self.stream.next_batch().await;
        match &next {
            Some(Ok(batch)) if self.key.is_some() => {
                self.bytes += batch.get_array_memory_size();
                if self.bytes > MAX_KEPT_RESULT_BYTES {
                    self.key = None;
                    self.batches = Vec::new();
                } else {
                    self.batches.push(batch.clone());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => self.key = None,
            // (an engine job that failed mid-stream ends the channel too: kept only when whole)
            None if self.stream.completed() => {
                if let Some(key) = self.key.take() {
                    let batches = std::mem::take(&mut self.batches);
                    let schema = Arc::clone(&self.engine_schema);
                    let mut kept = self.session.kept_results.lock().unwrap_or_else(|p| p.into_inner());
                    kept.keep(key, self.from, schema, batches);
                }
            }
            None => {}
        }
        next
    }
}
