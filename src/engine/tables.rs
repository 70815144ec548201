//! Table files: one DuckDB file per table version, attached to the engine instance on demand.
//!
//! A file is attached once, under one alias, by one owner (this registry): two ATTACHes of a file
//! in one instance fail, two instances writing one file corrupt it (design.md §4). Queries hold a
//! lease while they run; unleased files are detached least-recently-used first when too many are
//! open, so thousands of tables cost only the ones in use.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use duckdb::Connection;

use crate::error::{Error, Result, SqlState};

/// Identifies one version of one table's file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableFile {
    pub project_id: i64,
    pub branch_id: i64,
    pub table_id: i64,
    pub version: i64,
}

impl TableFile {
    /// The engine's name for the attached file.
    pub fn alias(&self) -> String {
        format!("t{}v{}", self.table_id, self.version)
    }

    /// The table inside the file, as SQL.
    pub fn data_ref(&self) -> String {
        format!("\"{}\".main.data", self.alias())
    }

    pub fn path(&self, tables_dir: &Path) -> PathBuf {
        tables_dir
            .join(self.project_id.to_string())
            .join(self.branch_id.to_string())
            .join(format!("t{}", self.table_id))
            .join(format!("v{}.duckdb", self.version))
    }
}

struct Entry {
    leases: usize,
    last_used: u64,
    /// Dropped while leased: detached when the last lease ends.
    doomed: bool,
}

/// The file of the instance's own project (`true`), or a catalog in memory standing for
/// another project's file (its rows streamed from that project's instance).
fn is_view(alias: &str, views: &HashSet<String>) -> bool {
    views.contains(alias)
}

pub(crate) struct Attachments {
    state: Mutex<State>,
    capacity: usize,
    tables_dir: PathBuf,
    /// Counts detaches: a plan kept from before one may name a database no longer attached.
    detached: AtomicU64,
}

struct State {
    entries: HashMap<String, Entry>,
    /// Aliases that are catalogs in memory (other projects' files), not attached files.
    views: HashSet<String>,
    clock: u64,
}

/// Keeps a table file attached while a statement uses it.
pub struct Lease {
    attachments: Arc<Attachments>,
    root: Arc<Mutex<Connection>>,
    alias: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.attachments.release(&self.root, &self.alias);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Attachments {
    pub(super) fn new(tables_dir: PathBuf, capacity: usize) -> Attachments {
        Attachments {
            state: Mutex::new(State { entries: HashMap::new(), views: HashSet::new(), clock: 0 }),
            capacity,
            tables_dir,
            detached: AtomicU64::new(0),
        }
    }

    /// How many detaches this instance has done (see [`super::instance::Instance::stable_epoch`]).
    pub(super) fn detached(&self) -> u64 {
        self.detached.load(Ordering::Acquire)
    }

    fn detach(&self, root: &Arc<Mutex<Connection>>, alias: &str) {
        self.detached.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = lock(root).execute_batch(&format!("DETACH \"{alias}\"")) {
            tracing::warn!(alias, error = %e, "detaching a table file failed");
        }
    }

    fn attach_sql(&self, file: &TableFile) -> String {
        // The path is built from integer ids only; the quote escaping is a second belt.
        let path = file.path(&self.tables_dir).to_string_lossy().replace('\'', "''");
        format!("ATTACH '{path}' AS \"{}\"", file.alias())
    }

    /// Attaches `file` if needed and leases it. `create` makes a new file; otherwise a missing
    /// file is an error (ATTACH would silently create an empty database).
    pub(super) fn lease(
        self: &Arc<Self>,
        root: &Arc<Mutex<Connection>>,
        file: &TableFile,
        create: bool,
    ) -> Result<Lease> {
        let alias = file.alias();
        let mut state = lock(&self.state);
        state.clock += 1;
        let now = state.clock;
        if let Some(entry) = state.entries.get_mut(&alias) {
            if entry.doomed {
                return Err(Error::not_found("the table was dropped").with_sqlstate(SqlState::UndefinedTable));
            }
            entry.leases += 1;
            entry.last_used = now;
            return Ok(Lease { attachments: Arc::clone(self), root: Arc::clone(root), alias });
        }
        let path = file.path(&self.tables_dir);
        if create {
            let dir = path.parent().expect("table files live in a directory");
            std::fs::create_dir_all(dir).map_err(|e| Error::internal("creating a table directory", e))?;
            for stale in [path.clone(), path.with_extension("duckdb.wal")] {
                if stale.exists() {
                    std::fs::remove_file(&stale).map_err(|e| Error::internal("removing a stale table file", e))?;
                }
            }
        } else if !path.exists() {
            return Err(Error::internal("opening a table", format!("table file {} is missing", path.display())));
        }
        lock(root).execute_batch(&self.attach_sql(file)).map_err(|e| Error::internal("attaching a table file", e))?;
        state.entries.insert(alias.clone(), Entry { leases: 1, last_used: now, doomed: false });
        self.evict(root, &mut state);
        Ok(Lease { attachments: Arc::clone(self), root: Arc::clone(root), alias })
    }

    /// Leases a catalog in memory standing for another project's file, under the file's alias:
    /// attached (and filled by `create_view`) if needed. No file is opened.
    pub(super) fn lease_view(
        self: &Arc<Self>,
        root: &Arc<Mutex<Connection>>,
        file: &TableFile,
        create_view: impl FnOnce() -> Result<()>,
    ) -> Result<Lease> {
        let alias = file.alias();
        let mut state = lock(&self.state);
        state.clock += 1;
        let now = state.clock;
        if let Some(entry) = state.entries.get_mut(&alias) {
            if entry.doomed {
                return Err(Error::not_found("the table was dropped").with_sqlstate(SqlState::UndefinedTable));
            }
            entry.leases += 1;
            entry.last_used = now;
            return Ok(Lease { attachments: Arc::clone(self), root: Arc::clone(root), alias });
        }
        lock(root)
            .execute_batch(&format!("ATTACH ':memory:' AS \"{alias}\""))
            .map_err(|e| Error::internal("exposing another project's table", e))?;
        if let Err(e) = create_view() {
            self.detach(root, &alias);
            return Err(e);
        }
        state.views.insert(alias.clone());
        state.entries.insert(alias.clone(), Entry { leases: 1, last_used: now, doomed: false });
        self.evict(root, &mut state);
        Ok(Lease { attachments: Arc::clone(self), root: Arc::clone(root), alias })
    }

    /// Files attached here that are this instance's own (not views of other projects').
    pub(super) fn attached_files(&self) -> usize {
        let state = lock(&self.state);
        state.entries.keys().filter(|a| !is_view(a, &state.views)).count()
    }

    fn release(&self, root: &Arc<Mutex<Connection>>, alias: &str) {
        let mut state = lock(&self.state);
        let detach = match state.entries.get_mut(alias) {
            Some(entry) => {
                entry.leases -= 1;
                entry.leases == 0 && entry.doomed
            }
            None => false,
        };
        if detach {
            state.entries.remove(alias);
            state.views.remove(alias);
            self.detach(root, alias);
        }
        self.evict(root, &mut state);
    }

    /// Detaches least-recently-used unleased files beyond the capacity.
    fn evict(&self, root: &Arc<Mutex<Connection>>, state: &mut State) {
        while state.entries.len() > self.capacity {
            let victim = state
                .entries
                .iter()
                .filter(|(_, e)| e.leases == 0)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(alias, _)| alias.clone());
            let Some(victim) = victim else { break };
            state.entries.remove(&victim);
            state.views.remove(&victim);
            self.detach(root, &victim);
        }
    }

    /// Detaches `file` (now, or when its last lease ends) and deletes it from disk.
    pub(super) fn remove(&self, root: &Arc<Mutex<Connection>>, file: &TableFile) -> Result<()> {
        let alias = file.alias();
        {
            let mut state = lock(&self.state);
            match state.entries.get_mut(&alias) {
                Some(entry) if entry.leases > 0 => entry.doomed = true,
                Some(_) => {
                    state.entries.remove(&alias);
                    state.views.remove(&alias);
                    self.detach(root, &alias);
                }
                None => {}
            }
        }
        let path = file.path(&self.tables_dir);
        // Unlinking a file a running query still reads is safe on Linux: the data lives until
        // the last handle closes.
        for p in [path.clone(), path.with_extension("duckdb.wal")] {
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| Error::internal("removing a table file", e))?;
            }
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }

    /// Detaches everything (shutdown): DuckDB checkpoints each file as it closes it.
    pub(super) fn detach_all(&self, root: &Arc<Mutex<Connection>>) {
        let mut state = lock(&self.state);
        for alias in state.entries.keys().cloned().collect::<Vec<_>>() {
            self.detach(root, &alias);
        }
        state.entries.clear();
        state.views.clear();
    }
}

/// Removes table files the catalog does not reference (left by a crash between writing a
/// file and committing, or between committing a drop and deleting). Answers the removed
/// paths and the referenced files that are missing.
pub(super) fn recover(tables_dir: &Path, referenced: &HashSet<TableFile>) -> Result<(Vec<PathBuf>, Vec<TableFile>)> {
    let wanted: HashSet<PathBuf> = referenced.iter().map(|f| f.path(tables_dir)).collect();
    let mut removed = Vec::new();
    for file in walk(tables_dir)? {
        let primary = match file.to_string_lossy().strip_suffix(".wal") {
            Some(p) => PathBuf::from(p),
            None => file.clone(),
        };
        if !wanted.contains(&primary) {
            std::fs::remove_file(&file).map_err(|e| Error::internal("removing an orphaned table file", e))?;
            removed.push(file);
        }
    }
    remove_empty_dirs(tables_dir);
    let missing = referenced.iter().filter(|f| !f.path(tables_dir).exists()).cloned().collect();
    Ok((removed, missing))
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(out) };
    for entry in entries {
        let entry = entry.map_err(|e| Error::internal("scanning table files", e))?;
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                remove_empty_dirs(&path);
                let _ = std::fs::remove_dir(&path);
            }
        }
    }
}
