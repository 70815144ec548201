//! Key indexes: a table that is looked up by its primary key again and again is read once into
//! memory, with a hash of its keys, and its point lookups (`gateway::lookup`) are answered from
//! there while its project's data is as it was when it was read: any write in the project (DML,
//! COPY, loads, restores, schema changes: each moves the project's data epoch) ends that, and
//! the next lookups go to the engine until the index is read again. Reads follow writes as
//! PostgreSQL's index follows them: when a write ends, the indexes that answered lookups since
//! they were read are read again, and so is a keyed table a write changed whose file was never
//! read (a table just filled); an index no lookup used waits for lookups before it is read
//! again. A change of what a name
//! means (a rename, a replaced table, a new version of its file) needs nothing here: the index
//! belongs to one version of one table file, and each lookup resolves its name first.
//!
//! Why: DuckDB answers a lookup through its ART index in 180–300 µs however it is prepared,
//! several times PostgreSQL's whole round trip (ADR 0013). A hash probe answers in microseconds.
//!
//! Shared by the sessions of a project: an index is found by the table file the session's own
//! resolution (and authorization) of the name gave, in the session's project, so a session
//! only reaches an index of a file it may read.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::engine::{DataEpoch, Engine, Param, Place, TableFile};
use crate::gateway::lookup::{LookupValue, ParamCast};

/// Lookups of a table's key while it has no index before the index is read: a table looked up
/// once in a while stays in the engine.
const BUILD_AFTER_LOOKUPS: u32 = 16;
/// A table's next index is read no sooner than this many times the last read's duration after
/// it: a table written between every few lookups costs at most a tenth of a core in reads.
const BUILD_SPACING: u32 = 10;
/// The largest index (a table's rows as the engine answers them, and its keys' hash); no
/// larger than a project's share.
pub(super) const MAX_INDEX_BYTES: usize = 256 << 20;
/// The most all indexes together hold; the least recently used go first.
const MAX_SERVER_INDEX_BYTES: usize = 512 << 20;
/// The most one project's indexes hold, so that no project's lookups evict all the others'.
const MAX_PROJECT_INDEX_BYTES: usize = MAX_SERVER_INDEX_BYTES / 2;
/// The most tables whose lookups are counted, and the most of one project's.
const MAX_ENTRIES: usize = 4096;
const MAX_PROJECT_ENTRIES: usize = MAX_ENTRIES / 4;

/// The DuckDB types (as the catalog names a column's) of the key columns an index compares
/// exactly as DuckDB does: by value for integers, by bytes for text. UUID and JSON arrive in
/// Arrow as text but DuckDB casts what they are compared with (`'A0…'` equals `'a0…'`).
pub(super) fn indexable_key_type(sql_type: &str) -> bool {
    matches!(
        sql_type,
        "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" | "UBIGINT" | "VARCHAR"
    )
}

/// One table file's key column in one project.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(super) struct IndexId {
    pub place: Place,
    pub file: TableFile,
    pub key: String,
}

struct Entry {
    index: Option<Arc<KeyIndex>>,
    /// Lookups since the last index was read or dropped.
    lookups: u32,
    /// Whether the index answered a lookup since it was last read: a write that ends it has
    /// it read again at once, as PostgreSQL's index is kept with each write.
    served: bool,
    /// A read for lookups that a write made stale before it ended: the next lookup reads
    /// again at once (writes alone do not).
    again: bool,
    /// In the readers' queue, or being read.
    wanted: bool,
    /// Whether a lookup ever asked for it: an index read only because its table was written
    /// takes room no other index holds.
    looked_up: bool,
    /// The file version cannot be indexed (too large, keys that repeat): never read again.
    refused: bool,
    not_before: Option<Instant>,
    used: Instant,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry {
            index: None,
            lookups: 0,
            served: false,
            again: false,
            wanted: false,
            looked_up: false,
            refused: false,
            not_before: None,
            used: now,
        }
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<IndexId, Entry>,
    /// Indexes to read, in turn.
    queue: VecDeque<IndexId>,
    /// Whether a reader runs: one at a time, so that what reads hold in memory before they
    /// are indexes is one index's at most, and reads take one core at most.
    reading: bool,
}

impl State {
    /// Whether an entry of another version of `id`'s table file is kept.
    fn knows_table(&self, id: &IndexId) -> bool {
        self.entries.keys().any(|k| same_table(k, id))
    }

    /// The entry of `id`, made when there is room for it. A new version of a table's file
    /// takes the place of the entry of the version before (a commit of a transaction block
    /// writes a new one), with what it knew: whether it served lookups, whether it is to be
    /// read at the next lookup, when it may be read next.
    fn entry(&mut self, id: &IndexId, now: Instant) -> Option<&mut Entry> {
        if !self.entries.contains_key(id) {
            let mut fresh = Entry::new(now);
            self.entries.retain(|k, e| {
                let gone = same_table(k, id);
                if gone {
                    fresh.served |= e.served;
                    fresh.again |= e.again;
                    fresh.looked_up |= e.looked_up;
                    fresh.not_before = fresh.not_before.max(e.not_before);
                }
                !gone
            });
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.retain(|_, e| e.index.is_some() || e.wanted || e.refused);
            }
            let project = self.entries.keys().filter(|k| k.place == id.place).count();
            if self.entries.len() >= MAX_ENTRIES || project >= MAX_PROJECT_ENTRIES {
                return None;
            }
            self.entries.insert(id.clone(), fresh);
        }
        self.entries.get_mut(id)
    }

    /// Queues `id` to be read; answers whether a reader must start.
    fn want(&mut self, id: &IndexId) -> bool {
        let Some(entry) = self.entries.get_mut(id) else { return false };
        if entry.wanted || entry.refused {
            return false;
        }
        entry.wanted = true;
        self.queue.push_back(id.clone());
        !std::mem::replace(&mut self.reading, true)
    }
}

#[derive(Default)]
pub(super) struct KeyIndexes {
    state: Mutex<State>,
}

/// What a lookup found.
pub(super) enum Found {
    /// The table's index, valid now.
    Index(Arc<KeyIndex>),
    /// No index; `start_reader`: the index is to be read and no reader runs (the caller starts
    /// one: `next` says what it reads, `finish` ends each read).
    Engine { start_reader: bool },
}

/// What a reader does next.
pub(super) enum Next {
    Read(IndexId),
    /// Nothing to read before this long (a table read too recently).
    Wait(std::time::Duration),
    /// Nothing to read: the reader ends.
    Done,
}

impl KeyIndexes {
    /// The index of `id`, if the data it was read from is still the project's; otherwise
    /// counts the lookup, and says when an index should be read.
    pub(super) fn find(&self, id: &IndexId, engine: &Engine) -> Found {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let Some(entry) = state.entry(id, now) else { return Found::Engine { start_reader: false } };
        entry.used = now;
        entry.looked_up = true;
        if let Some(index) = &entry.index {
            if index.is_current(engine) {
                entry.served = true;
                return Found::Index(Arc::clone(index));
            }
            entry.index = None;
            entry.lookups = 0;
        }
        entry.lookups = entry.lookups.saturating_add(1);
        // a table looked up by its index until a write ended it (this file's index or the
        // version's before): read again now
        let again = entry.served || entry.again;
        let start_reader = (again || entry.lookups >= BUILD_AFTER_LOOKUPS) && state.want(id);
        Found::Engine { start_reader }
    }

    /// A write of `place`'s data ended, one that changed `written` (table files with an
    /// indexable key): the indexes of its tables that answered lookups since they were read,
    /// and those of the written tables (when their file was never read, or a version before it
    /// answered lookups), are read again, so that lookups after a write find their index as
    /// they would PostgreSQL's. An index read after a write and not used before the next write
    /// is not read again until it is looked up again. Answers whether a reader must start.
    pub(super) fn written(&self, place: Place, written: &[IndexId]) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // first the written files: a table never seen is read; a new version of a known one
        // takes its entry's place (and is read below if that served lookups)
        let mut wanted = Vec::new();
        for id in written.iter().filter(|id| id.place == place) {
            if state.entries.contains_key(id) {
                continue;
            }
            let known = state.knows_table(id);
            if state.entry(id, now).is_some() && !known {
                wanted.push(id.clone());
            }
        }
        wanted.extend(state.entries.iter().filter(|(k, e)| k.place == place && e.served).map(|(k, _)| k.clone()));
        // (each queued: no short cut)
        let started: Vec<bool> = wanted.iter().map(|id| state.want(id)).collect();
        started.contains(&true)
    }

    /// The next index a reader reads: the first queued one that is not current and may be
    /// read now; ends the reader when none is queued.
    pub(super) fn next(&self, engine: &Engine) -> Next {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut wait: Option<std::time::Duration> = None;
        for _ in 0..state.queue.len() {
            let Some(id) = state.queue.pop_front() else { break };
            let Some(entry) = state.entries.get_mut(&id) else { continue };
            if entry.refused || entry.index.as_ref().is_some_and(|i| i.is_current(engine)) {
                entry.wanted = false;
                continue;
            }
            match entry.not_before.filter(|t| *t > now) {
                Some(t) => {
                    wait = Some(wait.map_or(t - now, |w| w.min(t - now)));
                    state.queue.push_back(id);
                }
                None => return Next::Read(id),
            }
        }
        match wait {
            Some(wait) => Next::Wait(wait),
            None => {
                state.reading = false;
                Next::Done
            }
        }
    }

    /// Ends a read of `id`'s index that began at `began`: keeps the index when there is room,
    /// first dropping stale indexes, then the least recently used.
    pub(super) fn finish(&self, id: &IndexId, index: Result<KeyIndex, Unindexable>, began: Instant, engine: &Engine) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut state.entries;
        let Some(entry) = entries.get_mut(id) else { return };
        entry.wanted = false;
        entry.lookups = 0;
        entry.not_before = Some(Instant::now() + began.elapsed() * BUILD_SPACING);
        // a read that a write made stale (or that found a writer running) leaves a table that
        // served lookups to be read at its next lookup, not at the next write
        let served = std::mem::take(&mut entry.served);
        let index = match index {
            Ok(index) if index.is_current(engine) => index,
            Ok(_) | Err(Unindexable::Unread) => {
                // (a read a lookup asked for again stays asked for)
                entry.again |= served;
                return;
            }
            Err(Unindexable::TooLarge | Unindexable::Keys) => {
                entry.refused = true;
                return;
            }
        };
        entry.again = false;
        let looked_up = entry.looked_up;
        for entry in entries.values_mut() {
            if entry.index.as_ref().is_some_and(|i| !i.is_current(engine)) {
                entry.index = None;
            }
        }
        // first the project's own least recently used, past its share; then anyone's
        let project_bytes = |entries: &HashMap<IndexId, Entry>| held(entries, |k| k.place == id.place);
        let fits = |entries: &HashMap<IndexId, Entry>| {
            project_bytes(entries) + index.bytes <= MAX_PROJECT_INDEX_BYTES
                && held(entries, |_| true) + index.bytes <= MAX_SERVER_INDEX_BYTES
        };
        if !looked_up && !fits(entries) {
            return;
        }
        while project_bytes(entries) + index.bytes > MAX_PROJECT_INDEX_BYTES {
            let oldest = entries
                .iter_mut()
                .filter(|(k, e)| k.place == id.place && e.index.is_some())
                .min_by_key(|(_, e)| e.used);
            let Some((_, oldest)) = oldest else { break };
            oldest.index = None;
        }
        while held(entries, |_| true) + index.bytes > MAX_SERVER_INDEX_BYTES {
            let oldest = entries.iter_mut().filter(|(_, e)| e.index.is_some()).min_by_key(|(_, e)| e.used);
            let Some((_, oldest)) = oldest else { return };
            oldest.index = None;
        }
        if let Some(entry) = entries.get_mut(id) {
            entry.index = Some(Arc::new(index));
        }
    }
}

/// Whether `k` is another version of `id`'s table file, by the same key.
fn same_table(k: &IndexId, id: &IndexId) -> bool {
    k.place == id.place && k.file.table_id == id.file.table_id && k.key == id.key && k.file != id.file
}

/// What the indexes of `entries` that `which` picks hold in memory.
fn held(entries: &HashMap<IndexId, Entry>, which: impl Fn(&IndexId) -> bool) -> usize {
    entries.iter().filter(|(k, _)| which(k)).filter_map(|(_, e)| e.index.as_ref()).map(|i| i.bytes).sum()
}

/// A table's rows as the engine answered `SELECT *` of it (hidden columns excluded), with the
/// position of each key, and the project's data epoch taken before the read's transaction began.
pub(super) struct KeyIndex {
    place: Place,
    epoch: DataEpoch,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    /// The key column's place in `schema`.
    key: usize,
    keys: Keys,
    bytes: usize,
}

/// The keys' hash: foldhash, seeded at random for each index (a table's keys are a tenant's
/// to choose), at a third less than SipHash's cost to read a large table.
type Fast = foldhash::fast::RandomState;

enum Keys {
    /// An integer column: each key, and the range of the column's type.
    Integers { rows: HashMap<i64, (u32, u32), Fast>, min: i128, max: i128 },
    /// A text column: each key's hash (a collision makes the index unusable).
    Text { rows: HashMap<u64, (u32, u32), Fast>, hasher: foldhash::quality::RandomState },
}

/// Why a table has no index.
#[derive(Debug, PartialEq)]
pub(super) enum Unindexable {
    /// Past `MAX_INDEX_BYTES`.
    TooLarge,
    /// A key column type compared otherwise than by equal values, or keys that repeat.
    Keys,
    /// The read did not happen or was not whole (another project's file, a write running as
    /// it began, an engine error): may be tried again later.
    Unread,
}

impl KeyIndex {
    /// Indexes `batches` by column `key` (each key once, NULLs never found).
    pub(super) fn new(
        (place, epoch): (Place, DataEpoch),
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        key: usize,
    ) -> Result<KeyIndex, Unindexable> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let data_bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        // (a hash map's slot: the key and the row's place, plus a control byte, at 7/8 load)
        let bytes = data_bytes + rows * 18 * 8 / 7;
        if bytes > MAX_INDEX_BYTES || u32::try_from(batches.len()).is_err() {
            return Err(Unindexable::TooLarge);
        }
        let key_type = schema.field(key).data_type().clone();
        let mut keys = match integer_range(&key_type) {
            Some((min, max)) => {
                Keys::Integers { rows: HashMap::with_capacity_and_hasher(rows, Fast::default()), min, max }
            }
            None if is_text(&key_type) => Keys::Text {
                rows: HashMap::with_capacity_and_hasher(rows, Fast::default()),
                hasher: Default::default(),
            },
            None => return Err(Unindexable::Keys),
        };
        for (b, batch) in batches.iter().enumerate() {
            let column = batch.column(key).as_ref();
            // (each batch's column read as its type once, not once a row)
            let fresh = match &mut keys {
                Keys::Integers { rows, .. } => {
                    let values = integer_values(column).ok_or(Unindexable::Keys)?;
                    values
                        .into_iter()
                        .enumerate()
                        .filter(|(r, _)| !column.is_null(*r))
                        .try_fold(true, |fresh, (r, v)| Some(fresh && rows.insert(v?, (b as u32, r as u32)).is_none()))
                }
                Keys::Text { rows, hasher } => {
                    (0..column.len()).filter(|r| !column.is_null(*r)).try_fold(true, |fresh, r| {
                        Some(fresh && rows.insert(hasher.hash_one(text_at(column, r)?), (b as u32, r as u32)).is_none())
                    })
                }
            };
            if fresh != Some(true) {
                return Err(Unindexable::Keys);
            }
        }
        Ok(KeyIndex { place, epoch, schema, batches, key, keys, bytes })
    }

    /// Whether the project's data is still what the index was read from.
    fn is_current(&self, engine: &Engine) -> bool {
        engine.data_epoch(self.place) == Some(self.epoch)
    }

    pub(super) fn rows(&self) -> usize {
        match &self.keys {
            Keys::Integers { rows, .. } => rows.len(),
            Keys::Text { rows, .. } => rows.len(),
        }
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Where the row whose key equals `value` is (`Some(None)`: no such row); `None` when the
    /// value is not one this index compares exactly as DuckDB would (a text for an integer
    /// key that DuckDB's cast could read otherwise or refuse, a NULL, another type).
    fn position(&self, value: &LookupValue, params: &[Param]) -> Option<Option<(usize, usize)>> {
        let found = |place: Option<&(u32, u32)>| place.map(|&(b, r)| (b as usize, r as usize));
        match &self.keys {
            Keys::Integers { rows, min, max } => {
                let value: i128 = match value {
                    // a literal compares in a type wide enough for both: any value may be asked
                    LookupValue::Integer(text) => match text.parse::<i128>() {
                        Ok(v) => v,
                        // beyond any integer column's range
                        Err(_) => return None,
                    },
                    // a text is cast to the column's type: only plain digits in its range
                    LookupValue::Text(text) => in_range(plain_integer(text)?, *min, *max)?,
                    // an uncast parameter takes the column's type
                    LookupValue::Param(i, ParamCast::None) => match params.get(*i)? {
                        Param::Int(v) => in_range(i128::from(*v), *min, *max)?,
                        Param::Text(text) => in_range(plain_integer(text)?, *min, *max)?,
                        _ => return None,
                    },
                    // a cast one its cast's, which it must fit; compared in a type wide enough
                    LookupValue::Param(i, ParamCast::Integer { min, max }) => {
                        let (min, max) = (i128::from(*min), i128::from(*max));
                        match params.get(*i)? {
                            Param::Int(v) => in_range(i128::from(*v), min, max)?,
                            Param::Text(text) => in_range(plain_integer(text)?, min, max)?,
                            _ => return None,
                        }
                    }
                    // DuckDB compares no text expression with an integer column
                    LookupValue::Param(_, ParamCast::Text) => return None,
                };
                Some(i64::try_from(value).ok().and_then(|v| found(rows.get(&v))))
            }
            Keys::Text { rows, hasher } => {
                let text = match value {
                    LookupValue::Text(text) => text.as_str(),
                    LookupValue::Param(i, ParamCast::None | ParamCast::Text) => match params.get(*i)? {
                        Param::Text(text) => text.as_str(),
                        _ => return None,
                    },
                    LookupValue::Integer(_) | LookupValue::Param(_, ParamCast::Integer { .. }) => return None,
                };
                let place = found(rows.get(&hasher.hash_one(text)));
                // the hash matched: the row's own key says whether the text did
                Some(place.filter(|&(b, r)| text_at(self.batches[b].column(self.key).as_ref(), r) == Some(text)))
            }
        }
    }

    /// The rows whose key equals `value`, as `columns` ((table column, answered name); `None`:
    /// all) of them: `None` when the index cannot answer (a value it does not compare as
    /// DuckDB would, a column the table does not have by that exact name).
    pub(super) fn answer(
        &self,
        value: &LookupValue,
        params: &[Param],
        columns: Option<&[(String, String)]>,
    ) -> Option<RecordBatch> {
        let position = self.position(value, params)?;
        let row = |i: usize| match position {
            Some((b, r)) => self.batches[b].column(i).slice(r, 1),
            None => arrow::array::new_empty_array(self.schema.field(i).data_type()),
        };
        // every column as the table names it: the index's own schema, built once
        let Some(columns) = columns else {
            let arrays = (0..self.schema.fields().len()).map(row).collect();
            return RecordBatch::try_new(Arc::clone(&self.schema), arrays).ok();
        };
        let picked: Vec<(usize, &str)> = columns
            .iter()
            .map(|(column, name)| Some((self.schema.index_of(column).ok()?, name.as_str())))
            .collect::<Option<_>>()?;
        let fields: Vec<Field> = picked
            .iter()
            .map(|&(i, name)| {
                let field = self.schema.field(i);
                Field::new(name, field.data_type().clone(), field.is_nullable()).with_metadata(field.metadata().clone())
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(fields, self.schema.metadata().clone()));
        RecordBatch::try_new(schema, picked.iter().map(|&(i, _)| row(i)).collect()).ok()
    }
}

/// The values an integer type holds, or `None` for another type.
fn integer_range(data_type: &DataType) -> Option<(i128, i128)> {
    Some(match data_type {
        DataType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        DataType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        DataType::Int64 => (i64::MIN.into(), i64::MAX.into()),
        DataType::UInt8 => (0, u8::MAX.into()),
        DataType::UInt16 => (0, u16::MAX.into()),
        DataType::UInt32 => (0, u32::MAX.into()),
        DataType::UInt64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn is_text(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Each row of an integer column as an i64 (`None`: a UBIGINT beyond it, or what a NULL's
/// slot holds); `None` for a column of another type.
fn integer_values(column: &dyn Array) -> Option<Vec<Option<i64>>> {
    use arrow::datatypes as t;
    fn widen<T: arrow::datatypes::ArrowPrimitiveType>(column: &dyn Array) -> Vec<Option<i64>>
    where
        T::Native: TryInto<i64>,
    {
        column.as_primitive::<T>().values().iter().map(|v| (*v).try_into().ok()).collect()
    }
    Some(match column.data_type() {
        DataType::Int8 => widen::<t::Int8Type>(column),
        DataType::Int16 => widen::<t::Int16Type>(column),
        DataType::Int32 => widen::<t::Int32Type>(column),
        DataType::Int64 => widen::<t::Int64Type>(column),
        DataType::UInt8 => widen::<t::UInt8Type>(column),
        DataType::UInt16 => widen::<t::UInt16Type>(column),
        DataType::UInt32 => widen::<t::UInt32Type>(column),
        DataType::UInt64 => widen::<t::UInt64Type>(column),
        _ => return None,
    })
}

fn text_at(column: &dyn Array, r: usize) -> Option<&str> {
    if column.is_null(r) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().value(r),
        DataType::LargeUtf8 => column.as_string::<i64>().value(r),
        DataType::Utf8View => column.as_string_view().value(r),
        _ => return None,
    })
}

/// A text of an optional `-` and ASCII digits only, as a number: the one form every cast to an
/// integer type reads the same way.
fn plain_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn in_range(value: i128, min: i128, max: i128) -> Option<i128> {
    (min..=max).contains(&value).then_some(value)
}
