//! Descriptions kept per instance: what DuckDB's binder said of a client's read (its parameter
//! and result types), answered again for the same text over the same table files while the
//! instance's data epoch is the one it was said at.
//!
//! Why: every extended-protocol Parse that a client does not keep (PDO prepares each statement
//! anew; psycopg and pgjdbc send unnamed statements until one repeats five times) describes its
//! statement, and DuckDB's describe costs a connection and a prepare, 0.4–0.6 ms, several times
//! the lookup it describes. What it answers depends only on the text, the files it names and
//! their schemas; a schema changes only by a write, which moves the data epoch.

use std::collections::HashMap;
use std::sync::Mutex;

use super::instance::DataEpoch;
use super::raw::Described;
use super::{Place, Query, SqlOrigin, TableFile};

/// Descriptions one instance keeps; past it, those of an older epoch go, then all.
const MAX_KEPT: usize = 256;
/// Longer texts are described each time: what is kept stays small (256 × 8 KiB at most).
const MAX_SQL_BYTES: usize = 8 * 1024;

/// A described statement: its text and the table files it reads.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Key {
    sql: String,
    tables: Vec<TableFile>,
}

impl Key {
    /// The key of `query`, when its description may be kept: a client's own read (judged by
    /// itself; no server relations, which are made for one statement) of its project's own
    /// files only. A linked bucket's file is written in another instance, whose
    /// writes move that instance's epoch, not this one's.
    pub(super) fn of(query: &Query) -> Option<Key> {
        let Place::Project(project) = query.home else { return None };
        let kept = query.origin == SqlOrigin::User
            && query.checks.is_none()
            && query.relations.is_empty()
            && query.sql.len() <= MAX_SQL_BYTES
            && query.tables.iter().all(|t| t.project_id == project);
        kept.then(|| Key { sql: query.sql.clone(), tables: query.tables.clone() })
    }
}

#[derive(Default)]
pub(super) struct Descriptions {
    kept: Mutex<HashMap<Key, (DataEpoch, Described)>>,
}

impl Descriptions {
    /// The description kept for `key`, if it was made at `now` (`None`: a writer runs).
    pub(super) fn get(&self, key: &Key, now: Option<DataEpoch>) -> Option<Described> {
        let now = now?;
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.get(key).filter(|(at, _)| *at == now).map(|(_, described)| described.clone())
    }

    /// Keeps `described`, made at `at`: an epoch taken before the describe began, so that a
    /// write during it leaves the description unused.
    pub(super) fn keep(&self, key: Key, at: DataEpoch, described: &Described) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, (epoch, _)| *epoch == at);
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(key, (at, described.clone()));
    }
}
