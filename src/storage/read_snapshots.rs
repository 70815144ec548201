//! Snapshots of REPEATABLE READ and SERIALIZABLE transaction blocks (ADR 0012).
//!
//! At the block's first statement, the version of every table the session can read is taken
//! from the catalog in one read and *pinned*. The block then reads those versions, whatever
//! commits meanwhile. A pinned version must stay as it was and stay on disk:
//! - a write that would change it in place copies it first (see `Inner::writable_file`), so
//!   the table moves on to a new version and the pinned one keeps its rows;
//! - retiring it (a full load, a schema change, a transaction's COMMIT, a drop) waits until the
//!   last snapshot that reads it ends.
//!
//! Writes already changing a version in place when a snapshot is about to be taken have not
//! committed yet: the snapshot waits for them (a short while), and if one is still under way
//! marks its table *unsettled*; the block answers `40001` if it reads one (it cannot tell which
//! of the write's rows came before it).
//!
//! Each project has its own registry (its snapshots' catalog reads hold only its writers).
//! Only the session's own project's tables are pinned: a linked bucket's tables belong to
//! another project, whose writes a snapshot must not slow down, and are read at their latest
//! commit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::catalog::TableRecord;
use crate::engine::TableFile;
use crate::error::{Error, ErrorKind, Result, SqlState};

/// One registry per project: a snapshot pins its own project's tables only, so one project's
/// snapshots (each a catalog read under its registry's lock) never hold up another's writes.
#[derive(Default)]
pub(crate) struct ProjectSnapshots {
    projects: Mutex<HashMap<i64, Arc<ReadSnapshots>>>,
}

impl ProjectSnapshots {
    /// The registry of `project` (0: the admin's).
    pub(crate) fn of(&self, project: i64) -> Arc<ReadSnapshots> {
        let mut projects = self.projects.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(projects.entry(project).or_default())
    }
}

/// The pins of a project's live snapshots and its in-place writes under way.
#[derive(Default)]
pub(crate) struct ReadSnapshots {
    state: Mutex<State>,
    /// Signalled when an in-place write ends.
    write_ended: Condvar,
}

/// How long taking a snapshot waits for in-place writes under way to commit.
const SETTLE_WAIT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct State {
    /// (table id, version) → how many live snapshots read it.
    pinned: HashMap<(i64, i64), usize>,
    /// Table id → the version an in-place write is changing now (one writer per table).
    in_place: HashMap<i64, i64>,
    /// Versions retired while pinned, retired for real when the last pin goes.
    deferred: HashMap<(i64, i64), Retired>,
}

/// A version whose removal waits for the snapshots that read it (history and table snapshots
/// have had their say already: it goes unless one of them keeps it by then).
pub(crate) struct Retired {
    pub table: TableRecord,
    pub file: TableFile,
}

impl ReadSnapshots {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a snapshot of `project`'s tables (None: the admin's, every table): `versions`
    /// reads every (table id, version) to pin, in one catalog read, while no in-place write
    /// may start or finish. In-place writes of those versions under way are waited for, up to
    /// [`SETTLE_WAIT`].
    /// `serializable`: the snapshot also records which tables the block reads, for
    /// [`SnapshotView::read_since_changed`] at its COMMIT.
    pub(crate) fn take(
        self: &Arc<Self>,
        (project, serializable): (Option<i64>, bool),
        mut versions: impl FnMut() -> Result<Vec<(i64, i64)>>,
    ) -> Result<ReadSnapshot> {
        let deadline = Instant::now() + SETTLE_WAIT;
        let mut state = self.state();
        let (versions, unsettled) = loop {
            let versions: HashMap<i64, i64> = versions()?.into_iter().collect();
            let unsettled: HashSet<i64> =
                versions.iter().filter(|(t, v)| state.in_place.get(t) == Some(v)).map(|(t, _)| *t).collect();
            let now = Instant::now();
            if unsettled.is_empty() || now >= deadline {
                break (versions, unsettled);
            }
            state = self.write_ended.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        };
        for (table, version) in &versions {
            *state.pinned.entry((*table, *version)).or_default() += 1;
        }
        let reads = serializable.then(Arc::default);
        let view = SnapshotView { project, versions: Arc::new(versions), unsettled: Arc::new(unsettled), reads };
        Ok(ReadSnapshot { registry: Arc::clone(self), view: Some(view) })
    }

    /// An in-place write of `file` is about to start (the table's write lock held): registered,
    /// unless a snapshot reads the version (None: copy it first).
    pub(crate) fn start_in_place(self: &Arc<Self>, file: &TableFile) -> Option<InPlaceWrite> {
        let mut state = self.state();
        if state.pinned.contains_key(&(file.table_id, file.version)) {
            return None;
        }
        state.in_place.insert(file.table_id, file.version);
        Some(InPlaceWrite { registry: Arc::clone(self), table_id: file.table_id })
    }

    /// A write is about to change `file`, a version it just made that no snapshot has seen
    /// yet (registered before the catalog points at it).
    pub(crate) fn start_in_place_unchecked(self: &Arc<Self>, file: &TableFile) -> InPlaceWrite {
        self.state().in_place.insert(file.table_id, file.version);
        InPlaceWrite { registry: Arc::clone(self), table_id: file.table_id }
    }

    /// A version about to be removed: kept for later (true) while a snapshot reads it.
    pub(crate) fn defer(&self, table: &TableRecord, file: &TableFile) -> bool {
        let mut state = self.state();
        let key = (file.table_id, file.version);
        if !state.pinned.contains_key(&key) {
            return false;
        }
        state.deferred.insert(key, Retired { table: table.clone(), file: file.clone() });
        true
    }

    /// A snapshot ended: its pins go; answers the versions to retire now.
    fn release(&self, versions: &HashMap<i64, i64>) -> Vec<Retired> {
        let mut state = self.state();
        let mut due = Vec::new();
        for (table, version) in versions {
            let key = (*table, *version);
            let Some(count) = state.pinned.get_mut(&key) else { continue };
            *count -= 1;
            if *count == 0 {
                state.pinned.remove(&key);
                if let Some(retired) = state.deferred.remove(&key) {
                    due.push(retired);
                }
            }
        }
        due
    }
}

/// An in-place write under way; it ends when this is dropped (after the engine commit).
pub(crate) struct InPlaceWrite {
    registry: Arc<ReadSnapshots>,
    table_id: i64,
}

impl Drop for InPlaceWrite {
    fn drop(&mut self) {
        self.registry.state().in_place.remove(&self.table_id);
        self.registry.write_ended.notify_all();
    }
}

/// The table versions a REPEATABLE READ or SERIALIZABLE block reads, pinned until it is
/// ended ([`ReadSnapshot::release`], then the versions retired meanwhile are removed).
pub struct ReadSnapshot {
    registry: Arc<ReadSnapshots>,
    /// None once released.
    view: Option<SnapshotView>,
}

/// What a snapshot says about versions, shared with the reads that resolve tables.
#[derive(Clone)]
pub struct SnapshotView {
    /// Whose tables it pinned (None: every table).
    project: Option<i64>,
    versions: Arc<HashMap<i64, i64>>,
    unsettled: Arc<HashSet<i64>>,
    /// SERIALIZABLE: the tables the block read so far.
    reads: Option<Arc<Mutex<HashSet<i64>>>>,
}

impl SnapshotView {
    /// The version of `table_id` the snapshot reads (SERIALIZABLE: noted as read).
    pub fn version_of(&self, table_id: i64) -> Result<i64> {
        if let Some(reads) = &self.reads {
            reads.lock().unwrap_or_else(|p| p.into_inner()).insert(table_id);
        }
        if self.unsettled.contains(&table_id) {
            return Err(serialization_failure(
                "could not serialize access: the table was being written when this transaction's snapshot was taken",
            ));
        }
        self.versions.get(&table_id).copied().ok_or_else(|| {
            serialization_failure("could not serialize access: the table was created after this transaction's snapshot")
        })
    }

    /// Refuses the block's first write of a table that changed since its snapshot, as
    /// PostgreSQL refuses updating rows changed since (`40001`).
    pub fn check_write(&self, table: &TableRecord) -> Result<()> {
        match self.version_of(table.id) {
            Ok(version) if version == table.version => Ok(()),
            Ok(_) => Err(serialization_failure("could not serialize access due to concurrent update")),
            Err(e) => Err(e),
        }
    }
}

impl ReadSnapshot {
    pub fn view(&self) -> Option<SnapshotView> {
        self.view.clone()
    }

    /// SERIALIZABLE: the (table, version) pairs the block read, but for `written` (tables it
    /// wrote: its lock kept every other writer out of them since its first write, which
    /// checked they had not changed). A COMMIT refuses if any of them moved since: another
    /// transaction changed what this one read after its snapshot, and committing both could
    /// be an order no serial run gives (write skew). Empty for other isolation levels.
    pub fn reads_to_validate(&self, written: &HashSet<i64>) -> Vec<(i64, i64)> {
        let Some(view) = &self.view else { return vec![] };
        let Some(reads) = &view.reads else { return vec![] };
        let reads = reads.lock().unwrap_or_else(|p| p.into_inner());
        let mut pairs: Vec<(i64, i64)> = reads
            .iter()
            .filter(|id| !written.contains(id))
            .filter_map(|id| view.versions.get(id).map(|v| (*id, *v)))
            .collect();
        pairs.sort_unstable();
        pairs
    }

    /// Ends the snapshot now; answers the versions to remove (on a blocking thread).
    pub(crate) fn release(mut self) -> Vec<Retired> {
        match self.view.take() {
            Some(view) => self.registry.release(&view.versions),
            None => vec![],
        }
    }
}

impl Drop for ReadSnapshot {
    fn drop(&mut self) {
        let Some(view) = self.view.take() else { return };
        let due = self.registry.release(&view.versions);
        if !due.is_empty() {
            // dropped without being released (no runtime to release it on): start-up recovery
            // removes what the catalog no longer uses
            tracing::info!(versions = due.len(), "table versions a read snapshot kept are left for recovery");
        }
    }
}

/// What a transaction block reads in place of the latest committed versions: the private
/// versions it wrote, and for every other table its snapshot's version (REPEATABLE READ and
/// SERIALIZABLE).
#[derive(Clone, Default)]
pub struct ReadView {
    pub written: HashMap<i64, TableFile>,
    pub snapshot: Option<SnapshotView>,
}

impl ReadView {
    /// Nothing to substitute: reads see the latest commits.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty() && self.snapshot.is_none()
    }

    /// The file to read for a table resolved to its committed `file`.
    pub fn file(&self, file: TableFile) -> Result<TableFile> {
        if let Some(written) = self.written.get(&file.table_id) {
            return Ok(written.clone());
        }
        match &self.snapshot {
            // another project's table (a linked bucket's) is read at its latest commit
            Some(snapshot) if snapshot.project.is_some_and(|p| p != file.project_id) => Ok(file),
            Some(snapshot) => Ok(TableFile { version: snapshot.version_of(file.table_id)?, ..file }),
            None => Ok(file),
        }
    }
}

/// A SERIALIZABLE block's COMMIT found that another transaction changed a table it read.
pub(crate) fn read_write_conflict(table: &str) -> Error {
    serialization_failure("could not serialize access due to read/write dependencies among transactions").with_detail(
        format!("Table {table}, which this transaction read, was changed by another transaction since its snapshot; it was rolled back."),
    )
}

fn serialization_failure(message: &str) -> Error {
    Error::new(ErrorKind::Conflict, message)
        .with_sqlstate(SqlState::SerializationFailure)
        .with_hint("retry the transaction")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(table_id: i64, version: i64) -> TableFile {
        TableFile { project_id: 1, branch_id: 1, table_id, version }
    }

    fn table(id: i64, version: i64) -> TableRecord {
        TableRecord {
            id,
            bucket_id: 1,
            name: format!("t{id}"),
            version,
            primary_key: vec![],
            row_count: 0,
            byte_count: 0,
            description: String::new(),
            created_at: 0,
            created_by: String::new(),
            changed_at: 0,
            version_since: 0,
            columns: vec![],
        }
    }

    #[test]
    fn a_pinned_version_is_copied_before_a_write_and_removed_after_the_last_snapshot() {
        let registry = Arc::new(ReadSnapshots::default());
        let first = registry.take((Some(1), false), || Ok(vec![(1, 5), (2, 7)])).unwrap();
        let second = registry.take((Some(1), false), || Ok(vec![(1, 5)])).unwrap();
        // a write of a pinned version must copy it; of any other, may change it in place
        assert!(registry.start_in_place(&file(1, 5)).is_none());
        assert!(registry.start_in_place(&file(1, 6)).is_some());
        // retiring a pinned version waits for every snapshot that reads it
        assert!(registry.defer(&table(1, 5), &file(1, 5)));
        assert!(!registry.defer(&table(3, 1), &file(3, 1)));
        assert!(first.release().is_empty(), "the second snapshot still reads it");
        let due = second.release();
        assert_eq!(due.iter().map(|r| r.file.clone()).collect::<Vec<_>>(), [file(1, 5)]);
        assert!(registry.start_in_place(&file(1, 5)).is_some());
    }

    #[test]
    fn a_snapshot_waits_for_an_in_place_write_under_way() {
        let registry = Arc::new(ReadSnapshots::default());
        std::thread::scope(|scope| {
            let writing = registry.start_in_place(&file(1, 5)).unwrap();
            scope.spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                drop(writing);
            });
            let snapshot = registry.take((Some(1), false), || Ok(vec![(1, 5)])).unwrap();
            assert_eq!(snapshot.view().unwrap().version_of(1).unwrap(), 5);
        });
    }

    #[test]
    fn a_table_written_in_place_while_a_snapshot_is_taken_is_unsettled() {
        let registry = Arc::new(ReadSnapshots::default());
        let writing = registry.start_in_place(&file(1, 5)).unwrap();
        let snapshot = registry.take((Some(1), false), || Ok(vec![(1, 5), (2, 7)])).unwrap();
        drop(writing);
        let view = snapshot.view().unwrap();
        assert_eq!(view.version_of(1).unwrap_err().state(), SqlState::SerializationFailure);
        assert_eq!(view.version_of(2).unwrap(), 7);
        assert_eq!(view.version_of(3).unwrap_err().state(), SqlState::SerializationFailure);
        // the first write of a table must find it where the snapshot saw it
        assert!(view.check_write(&table(2, 7)).is_ok());
        assert_eq!(view.check_write(&table(2, 8)).unwrap_err().state(), SqlState::SerializationFailure);
        // a write of a version made since registers without a check
        drop(registry.start_in_place_unchecked(&file(2, 8)));
        assert!(registry.start_in_place(&file(2, 8)).is_some());
    }
}
