//! Built catalog relations (`pg_class`, `pg_attribute`, …) kept between statements and shared
//! by sessions that would build the same rows. In a project of 5 000 tables, building them was
//! nearly all of a catalog query's time (psql's `\d t` took 0.4 s against PostgreSQL's 3 ms).
//!
//! What a relation shows follows from its source, the session's user (its token) and its
//! database (its branch), and nothing else (pg_settings, built from the session's settings, is
//! never kept; nor is anything while a transaction block holds private writes). The source is:
//! - for a storage session, the catalog's write generation, taken before reading it: every
//!   change of tables, views, buckets, tokens, branches and restores is a catalog write, so a
//!   kept relation is never older than its key (ADR 0013);
//! - for a workspace session, the workspace's catalog as read at its own generation (one
//!   `Arc` per reading; a kept relation holds it, so the key cannot be reused by another).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;

use crate::engine::WorkspaceCatalog;
use crate::gateway::pg_catalog::CatalogRelation;

/// Kept relations' total size, at most: past it, everything kept goes.
const MAX_BYTES: usize = 256 << 20;

/// What a session's catalog relations are built from, identified.
pub(super) enum CatalogSource {
    Storage { generation: u64 },
    Workspace(Arc<WorkspaceCatalog>),
}

impl CatalogSource {
    fn id(&self) -> SourceId {
        match self {
            CatalogSource::Storage { generation } => SourceId::Storage(*generation),
            CatalogSource::Workspace(catalog) => SourceId::Workspace(Arc::as_ptr(catalog) as usize),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceId {
    Storage(u64),
    Workspace(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    source: SourceId,
    user: String,
    database: String,
    relation: CatalogRelation,
}

impl Key {
    /// None when the relation must be built afresh (see the module's comment).
    pub(super) fn of(
        source: &CatalogSource,
        relation: CatalogRelation,
        user: &str,
        database: &str,
        in_private_transaction: bool,
    ) -> Option<Key> {
        let session_dependent = matches!(relation, CatalogRelation::Settings | CatalogRelation::Cursors);
        (!session_dependent && !in_private_transaction).then(|| Key {
            source: source.id(),
            user: user.to_owned(),
            database: database.to_owned(),
            relation,
        })
    }
}

struct Kept {
    batch: RecordBatch,
    /// A workspace source's catalog, held so that its address names it alone.
    workspace: Option<Arc<WorkspaceCatalog>>,
    bytes: usize,
}

#[derive(Default)]
pub(super) struct CatalogCache {
    kept: Mutex<(HashMap<Key, Kept>, usize)>,
}

impl CatalogCache {
    pub(super) fn get(&self, key: &Key) -> Option<RecordBatch> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.0.get(key).map(|k| k.batch.clone())
    }

    pub(super) fn put(&self, key: Key, source: &CatalogSource, batch: &RecordBatch) {
        let bytes = batch.get_array_memory_size();
        let mut guard = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let (kept, total) = &mut *guard;
        // what no reader can ask for again: an older generation, a workspace catalog nobody
        // else holds any more (its workspace has read a newer one, or closed)
        // (each kept relation of a workspace catalog holds it once)
        let mut holders: HashMap<usize, usize> = HashMap::new();
        for v in kept.values() {
            if let Some(w) = &v.workspace {
                *holders.entry(Arc::as_ptr(w) as usize).or_default() += 1;
            }
        }
        let stale = |k: &Key, v: &Kept| match (k.source, key.source) {
            (SourceId::Storage(old), SourceId::Storage(new)) => old < new,
            _ => v
                .workspace
                .as_ref()
                .is_some_and(|w| Arc::strong_count(w) <= holders.get(&(Arc::as_ptr(w) as usize)).copied().unwrap_or(0)),
        };
        let before = kept.len();
        kept.retain(|k, v| !stale(k, v));
        if kept.len() != before {
            *total = kept.values().map(|v| v.bytes).sum();
        }
        if *total + bytes > MAX_BYTES {
            kept.clear();
            *total = 0;
        }
        if bytes > MAX_BYTES {
            return;
        }
        let workspace = match source {
            CatalogSource::Workspace(catalog) => Some(Arc::clone(catalog)),
            CatalogSource::Storage { .. } => None,
        };
        if let Some(old) = kept.insert(key, Kept { batch: batch.clone(), workspace, bytes }) {
            *total -= old.bytes;
        }
        *total += bytes;
    }
}
