//! What a read needs before the engine runs it: the server-built relations it reads (the
//! catalog, system views) registered, and the names it reads resolved and authorized by the
//! storage layer, views expanded as the reading session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Rows;
use super::catalog::CatalogContents;
use super::catalog_cache::{CatalogSource, Key};
use super::kept::{KeepingRows, ReadFrom, ResultKey};
use super::key_index::{self, Found, IndexId, KeyIndex, Next, Unindexable};
use super::{Executor, Session};
use crate::engine::{RelationGuard, TableFile};
use crate::error::Result;
use crate::gateway::pg_catalog::CatalogRelation;
use crate::gateway::{self, CompatValues};
use crate::relation::RelationBuilder;
use crate::storage::{ReadSource, TableName, WriteRead};

impl Executor {
    /// Builds and registers the server relations a statement reads (empty ones for a describe).
    pub(super) async fn register_relations(
        &self,
        session: &Session,
        relations: &[gateway::ServerRelation],
        describe_only: bool,
    ) -> Result<Vec<RelationGuard>> {
        let storage = &self.storage;
        let needs_snapshot = !describe_only
            && relations
                .iter()
                .any(|r| matches!(r, gateway::ServerRelation::Catalog(c) if *c != CatalogRelation::Cursors));
        let source = if needs_snapshot { Some(self.catalog_source(session).await?) } else { None };
        let mut contents = None;
        let mut guards = Vec::with_capacity(relations.len());
        for relation in relations {
            if describe_only {
                guards.push(
                    storage
                        .engine()
                        .register_relation(session.home(), RelationBuilder::new(relation.columns()).finish()?)?,
                );
                continue;
            }
            let batch = match (relation, &source) {
                (gateway::ServerRelation::System(view), _) => storage.system_view(session.ctx.clone(), *view).await?,
                (gateway::ServerRelation::Catalog(CatalogRelation::Cursors), _) => super::cursors::pg_cursors(session)?,
                (gateway::ServerRelation::Catalog(c), Some(source)) => {
                    self.catalog_relation(session, *c, source, &mut contents).await?
                }
                (gateway::ServerRelation::Catalog(_), None) => {
                    unreachable!("a source is taken when catalog relations are read")
                }
            };
            guards.push(storage.engine().register_relation_at(
                session.home(),
                session.relation_handle(relation.code()),
                batch,
            )?);
        }
        Ok(guards)
    }

    /// What the session's catalog relations are built from, identified before anything is
    /// read (see `catalog_cache`).
    async fn catalog_source(&self, session: &Session) -> Result<CatalogSource> {
        Ok(match &session.workspace {
            Some(ws) => CatalogSource::Workspace(self.storage.engine().workspace_catalog(&ws.conn).await?),
            None => CatalogSource::Storage { generation: self.storage.catalog_generation() },
        })
    }

    /// One catalog relation as the session sees it: kept, or built from what the session's
    /// catalog relations show (a storage session's buckets and tables, or a workspace
    /// session's own schemas, tables and views; read once per statement, when first needed).
    async fn catalog_relation(
        &self,
        session: &Session,
        relation: CatalogRelation,
        source: &CatalogSource,
        contents: &mut Option<CatalogContents>,
    ) -> Result<arrow::record_batch::RecordBatch> {
        let private = session.transaction_id().is_some();
        let key = Key::of(source, relation, &session.ctx.user, &session.database, private);
        if let Some(batch) = key.as_ref().and_then(|k| self.catalog_cache.get(k)) {
            return Ok(batch);
        }
        let contents = match contents {
            Some(contents) => contents,
            None => contents.insert(match source {
                CatalogSource::Workspace(catalog) => super::workspace_catalog::contents(catalog),
                CatalogSource::Storage { .. } => {
                    CatalogContents::of_storage(&self.storage.catalog_snapshot(session.ctx.clone()).await?)
                }
            }),
        };
        let settings = session.settings().clone();
        let batch = super::catalog::build(relation, contents, &session.ctx.user, &session.database, &settings)?;
        if let Some(key) = key {
            self.catalog_cache.put(key, source, &batch);
        }
        Ok(batch)
    }

    /// The SQL of a read with its server-built relations registered and its tables resolved
    /// (and authorized) by the storage layer. A describe sees empty relations.
    pub(super) async fn prepare_read(
        &self,
        session: &Session,
        q: &gateway::QueryPlan,
        describe_only: bool,
    ) -> Result<(gateway::RenderedQuery, Vec<RelationGuard>, Vec<TableFile>, Vec<Option<SlotTable>>)> {
        let relations = self.register_relations(session, &q.relations, describe_only).await?;
        let handles: Vec<u64> = relations.iter().map(|r| r.handle()).collect();
        let (rendered, files, slots) = self.read_text(session, q, &handles).await?;
        Ok((rendered, relations, files, slots))
    }

    /// The SQL of a read whose server relations are (or will be) registered under `handles`,
    /// its tables resolved (and authorized) by the storage layer; the files it reads, and the
    /// table of each of its slots.
    async fn read_text(
        &self,
        session: &Session,
        q: &gateway::QueryPlan,
        handles: &[u64],
    ) -> Result<(gateway::RenderedQuery, Vec<TableFile>, Vec<Option<SlotTable>>)> {
        let (refs, files, slots) = self.resolve_slots(session, q).await?;
        let rendered = render_read(q, handles, &refs, &files)?;
        Ok((rendered, files, slots))
    }

    /// What each table slot of a read stands for (see `expand_reads`), the files it reads,
    /// and the table of each slot.
    async fn resolve_slots(
        &self,
        session: &Session,
        q: &gateway::QueryPlan,
    ) -> Result<(Vec<String>, Vec<TableFile>, Vec<Option<SlotTable>>)> {
        let search_path = session.search_path();
        let (refs, files, columns) =
            self.expand_reads_with_columns(session, q.tables.clone(), search_path, None).await?;
        // each table slot's table, or the view it names
        let slots = refs
            .iter()
            .enumerate()
            .map(|(slot, data_ref)| match files.iter().find(|f| f.data_ref() == *data_ref) {
                Some(file) => Some(SlotTable {
                    table_id: file.table_id,
                    columns: columns.tables.get(&file.table_id)?.clone(),
                    file: Some((file.clone(), columns.primary_keys.get(&file.table_id).cloned().unwrap_or_default())),
                }),
                None => {
                    let (id, view_columns) = columns.views.get(slot)?.as_ref()?;
                    Some(SlotTable { table_id: *id, columns: view_columns.clone(), file: None })
                }
            })
            .collect();
        Ok((refs, files, slots))
    }

    /// A client's read outside a transaction block: the rows a read of the same text, bound
    /// to the same values, answered earlier in this session, while the catalog and the data
    /// it read are still as they were then and every function it calls answers by its
    /// arguments alone (DuckDB says which); otherwise the engine's, kept when whole and small.
    pub(super) async fn autocommit_read(
        &self,
        session: &Arc<Session>,
        q: &gateway::QueryPlan,
        params: &[crate::engine::Param],
    ) -> Result<(arrow::datatypes::SchemaRef, Rows)> {
        let keepable = session.workspace.is_none()
            && q.relations.iter().all(|r| match r {
                gateway::ServerRelation::System(view) => view.follows_catalog(),
                gateway::ServerRelation::Catalog(c) => {
                    !matches!(c, CatalogRelation::Settings | CatalogRelation::Cursors)
                }
            });
        if !keepable {
            let stream = self.query(session, q, params).await?;
            return Ok((stream.schema.clone(), Rows::Engine(stream)));
        }
        // taken before anything is read: what is read is never older than it
        let generation = self.storage.catalog_generation();
        let handles: Vec<u64> = q.relations.iter().map(|r| session.relation_handle(r.code())).collect();
        let (refs, tables, slots) = self.resolve_slots(session, q).await?;
        if let Some(batch) = self.indexed_lookup(session, q, params, &slots) {
            let schema = super::result_columns::mark(batch.schema(), q, &slots);
            return Ok((schema, Rows::Batches([batch].into())));
        }
        let rendered = render_read(q, &handles, &refs, &tables)?;
        let engine = self.storage.engine();
        let key = ResultKey::new(&rendered.sql, params);
        let kept = key.as_ref().and_then(|key| {
            session.kept_results.lock().unwrap_or_else(|p| p.into_inner()).get(key, |from| {
                from.generation == self.storage.catalog_generation()
                    && from.tables.is_none_or(|(place, epoch)| engine.data_epoch(place) == Some(epoch))
            })
        });
        if let Some(kept) = kept {
            metrics::counter!("duckstore_kept_results_total", "outcome" => "hit").increment(1);
            // (marked again: texts that differ, json and jsonb, say, may run as the same SQL)
            let schema = super::result_columns::mark(Arc::clone(&kept.schema), q, &slots);
            return Ok((schema, Rows::Batches(kept.batches.iter().cloned().collect())));
        }
        let relations = self.register_relations(session, &q.relations, false).await?;
        debug_assert!(relations.iter().map(|r| r.handle()).eq(handles.iter().copied()));
        let query = super::client_query(session, rendered, params.to_vec(), relations, tables);
        let reads_tables = !query.tables.is_empty();
        let mut stream = engine.query(query, &session.canceller).await?;
        let engine_schema = Arc::clone(&stream.schema);
        stream.schema = super::result_columns::mark(stream.schema, q, &slots);
        let tables = match (reads_tables, stream.data_epoch) {
            (false, _) => Some(None),
            (true, Some(epoch)) => Some(Some((session.home(), epoch))),
            // another project's files, or a write running as the read began
            (true, None) => None,
        };
        let schema = stream.schema.clone();
        match (key, tables.filter(|_| stream.repeatable)) {
            (Some(key), Some(tables)) => {
                let from = ReadFrom { generation, tables };
                let rows = KeepingRows::new(stream, engine_schema, Arc::clone(session), key, from);
                Ok((schema, Rows::Keeping(Box::new(rows))))
            }
            _ => Ok((schema, Rows::Engine(stream))),
        }
    }

    /// A point lookup's rows from its table's key index (see `key_index`), when the read is one
    /// by the table's one-column primary key and the index is valid now; otherwise counts the
    /// lookup and, when the table has been looked up often enough, reads its index in the
    /// background.
    fn indexed_lookup(
        &self,
        session: &Session,
        q: &gateway::QueryPlan,
        params: &[crate::engine::Param],
        slots: &[Option<SlotTable>],
    ) -> Option<arrow::record_batch::RecordBatch> {
        let lookup = q.lookup.as_ref()?;
        let [Some(SlotTable { file: Some((file, primary_key)), columns, .. })] = slots else { return None };
        if primary_key.as_slice() != [lookup.key.as_str()]
            || !columns.iter().any(|(name, sql_type)| *name == lookup.key && key_index::indexable_key_type(sql_type))
        {
            return None;
        }
        // exactly the values the statement takes, as the engine would insist
        let bound = match lookup.value {
            gateway::lookup::LookupValue::Param(i, _) => i == 0 && params.len() == 1,
            _ => params.is_empty(),
        };
        if !bound {
            return None;
        }
        let place = session.home();
        // a linked bucket's table is another project's file: its reads carry no data epoch here
        if place != crate::engine::Place::Project(file.project_id) {
            return None;
        }
        let id = IndexId { place, file: file.clone(), key: lookup.key.clone() };
        match self.key_indexes.find(&id, self.storage.engine()) {
            Found::Index(index) => {
                let batch = index.answer(&lookup.value, params, lookup.columns.as_deref());
                let outcome = if batch.is_some() { "hit" } else { "unanswerable" };
                metrics::counter!("duckstore_key_index_lookups_total", "outcome" => outcome).increment(1);
                batch
            }
            Found::Engine { start_reader } => {
                if start_reader {
                    self.start_key_index_reader();
                }
                None
            }
        }
    }

    /// A write of the session's project ended, one that changed `written` (table files, with
    /// their primary keys): its key indexes are read again (see `KeyIndexes::written`).
    pub(super) fn key_indexes_after_write(&self, session: &Session, written: &[crate::storage::WrittenFile]) {
        let place = session.home();
        let ids: Vec<IndexId> = written
            .iter()
            // (a linked bucket's table is another project's file, never indexed here)
            .filter(|w| place == crate::engine::Place::Project(w.file.project_id))
            .filter_map(|w| match w.primary_key.as_slice() {
                [(key, sql_type)] if key_index::indexable_key_type(sql_type) => {
                    Some(IndexId { place, file: w.file.clone(), key: key.clone() })
                }
                _ => None,
            })
            .collect();
        if self.key_indexes.written(place, &ids) {
            self.start_key_index_reader();
        }
    }

    /// Reads the queued key indexes, one at a time, in the background: each table file was
    /// resolved and authorized for the session that asked (by a lookup or a write), in its
    /// own project.
    fn start_key_index_reader(&self) {
        let indexes = Arc::clone(&self.key_indexes);
        let storage = self.storage.clone();
        tokio::spawn(async move {
            loop {
                let id = match indexes.next(storage.engine()) {
                    Next::Read(id) => id,
                    Next::Wait(wait) => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    Next::Done => break,
                };
                let began = std::time::Instant::now();
                let index = read_key_index(&storage, &id).await;
                let outcome = match &index {
                    Ok(_) => "read",
                    Err(Unindexable::TooLarge) => "too_large",
                    Err(Unindexable::Keys) => "unusable_keys",
                    Err(Unindexable::Unread) => "unread",
                };
                metrics::counter!("duckstore_key_index_reads_total", "outcome" => outcome).increment(1);
                tracing::info!(
                    table_id = id.file.table_id,
                    version = id.file.version,
                    outcome,
                    rows = index.as_ref().map_or(0, KeyIndex::rows),
                    bytes = index.as_ref().map_or(0, KeyIndex::bytes),
                    ms = began.elapsed().as_millis() as u64,
                    "read a table's key index"
                );
                indexes.finish(&id, index, began, storage.engine());
            }
        });
    }

    /// The relations a write reads: tables by name (the storage layer resolves them under the
    /// write's lock), views expanded here as this session.
    pub(super) async fn write_reads(
        &self,
        session: &Session,
        names: &[TableName],
        search_path: &[String],
    ) -> Result<Vec<WriteRead>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let names = &session.temporary_names(names.to_vec());
        let sources = self.storage.resolve_sources(session.ctx.clone(), names.to_vec(), search_path.to_vec()).await?;
        let mut reads = Vec::with_capacity(names.len());
        for (name, source) in names.iter().zip(sources) {
            reads.push(match source {
                ReadSource::Table(_) => WriteRead::Table(name.clone()),
                ReadSource::View { .. } => {
                    let (mut refs, files) =
                        self.expand_reads(session, vec![name.clone()], search_path.to_vec(), None).await?;
                    WriteRead::View { sql: refs.remove(0), files }
                }
            });
        }
        Ok(reads)
    }

    /// What each name a read uses stands for, for binding its table slots: a table file's
    /// reference, or a view's query expanded (as this session; see `gateway::views`). Answers
    /// the table files read. `creating`: the (bucket, view) a CREATE VIEW makes.
    pub(super) async fn expand_reads(
        &self,
        session: &Session,
        names: Vec<TableName>,
        search_path: Vec<String>,
        creating: Option<(String, String)>,
    ) -> Result<(Vec<String>, Vec<TableFile>)> {
        let (refs, files, _) = self.expand_reads_with_columns(session, names, search_path, creating).await?;
        Ok((refs, files))
    }

    /// [`Self::expand_reads`], with the columns of the tables it resolved.
    async fn expand_reads_with_columns(
        &self,
        session: &Session,
        names: Vec<TableName>,
        search_path: Vec<String>,
        creating: Option<(String, String)>,
    ) -> Result<super::session::ResolvedTables> {
        if names.is_empty() {
            // catalog and constant reads: no trip to a blocking thread
            return Ok((vec![], vec![], Default::default()));
        }
        let names = session.temporary_names(names);
        let settings = session.settings().clone();
        let (user, database, pid) = (session.ctx.user.clone(), session.database.clone(), session.pid);
        // inside a transaction: its own versions of the tables it wrote, and its snapshot's
        let overlay = session.transaction_read_view();
        // Taken before resolving (see `Catalog::generation`).
        let generation = self.storage.catalog_generation();
        let reusable = overlay.is_empty() && creating.is_none();
        let key = (names.clone(), search_path.clone(), session.transaction_id());
        if reusable && let Some(tables) = session.resolved_reads(generation, &key) {
            return Ok(tables);
        }
        let saw_view = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&saw_view);
        let columns = Arc::new(std::sync::Mutex::new(super::session::TableColumns::default()));
        let noted = Arc::clone(&columns);
        let expanded = self
            .storage
            .with_resolver(session.ctx.clone(), move |resolve| {
                let compat = CompatValues { settings: &settings, user: &user, database: &database, backend_pid: pid };
                let creating = creating.as_ref().map(|(b, v)| (b.as_str(), v.as_str()));
                let first_call = std::cell::Cell::new(true);
                let resolve = |names: &[TableName], search_path: &[String]| {
                    let mut sources = resolve(names, search_path)?;
                    let mut noted = noted.lock().unwrap_or_else(|p| p.into_inner());
                    // the first call resolves the names the read itself gives (the rest: its
                    // views' names)
                    let top_level = first_call.replace(false);
                    if top_level {
                        noted.views = sources
                            .iter()
                            .map(|s| match s {
                                ReadSource::View { view, .. } => Some((
                                    super::catalog::view_relation_id(view.id),
                                    view.columns.iter().map(|c| (c.name.clone(), c.sql_type.clone())).collect(),
                                )),
                                ReadSource::Table(_) => None,
                            })
                            .collect();
                    }
                    if sources.iter().any(|s| matches!(s, ReadSource::View { .. })) {
                        seen.store(true, Ordering::Relaxed);
                    }
                    for source in &mut sources {
                        if let ReadSource::Table(t) = source {
                            t.file = overlay.file(t.file.clone())?;
                            let described = t.table.columns.iter().map(|c| (c.name.clone(), c.sql_type.clone()));
                            noted.tables.insert(t.table.id, described.collect());
                            noted.primary_keys.insert(t.table.id, t.table.primary_key.clone());
                        }
                    }
                    Ok(sources)
                };
                gateway::views::expand(&resolve, &compat, &names, &search_path, creating)
            })
            .await?;
        let columns = std::mem::take(&mut *columns.lock().unwrap_or_else(|p| p.into_inner()));
        let expanded = (expanded.0, expanded.1, Arc::new(columns));
        if reusable && !saw_view.load(Ordering::Relaxed) {
            session.remember_reads(generation, key, expanded.clone());
        }
        Ok(expanded)
    }
}

/// The SQL of a read with its relation slots bound to `handles` and its table slots to `refs`
/// (table files' references, or views' expanded queries).
fn render_read(
    q: &gateway::QueryPlan,
    handles: &[u64],
    refs: &[String],
    files: &[TableFile],
) -> Result<gateway::RenderedQuery> {
    let mut rendered = q.render_for_engine(handles, refs)?;
    // What an EXPLAIN shows of a table file: the name the client wrote.
    for (name, data_ref) in q.tables.iter().zip(refs) {
        if let Some(file) = files.iter().find(|f| f.data_ref() == *data_ref) {
            rendered.labels.push((file.alias(), name.to_string()));
        }
    }
    Ok(rendered)
}

/// Reads a table file's rows (as `SELECT *` answers them) and indexes them by `id.key`; an
/// index only of rows read while no write ran, so that the data epoch it carries is theirs.
async fn read_key_index(storage: &crate::storage::Storage, id: &IndexId) -> Result<KeyIndex, Unindexable> {
    let query = crate::engine::Query {
        home: id.place,
        sql: format!("SELECT * EXCLUDE (\"{}\") FROM {}", crate::storage::names::TIMESTAMP_COLUMN, id.file.data_ref()),
        params: vec![],
        relations: vec![],
        tables: vec![id.file.clone()],
        origin: crate::engine::SqlOrigin::User,
        checks: None,
        labels: vec![],
    };
    let canceller = crate::engine::Canceller::default();
    let mut stream = storage.engine().query(query, &canceller).await.map_err(|_| Unindexable::Unread)?;
    let epoch = stream.data_epoch.ok_or(Unindexable::Unread)?;
    let key = stream.schema.index_of(&id.key).map_err(|_| Unindexable::Keys)?;
    let mut batches = Vec::new();
    let mut bytes = 0;
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.map_err(|_| Unindexable::Unread)?;
        bytes += batch.get_array_memory_size();
        if bytes > super::key_index::MAX_INDEX_BYTES {
            return Err(Unindexable::TooLarge);
        }
        batches.push(batch);
    }
    if !stream.completed() {
        return Err(Unindexable::Unread);
    }
    let (place, schema) = (id.place, Arc::clone(&stream.schema));
    tokio::task::spawn_blocking(move || KeyIndex::new((place, epoch), schema, batches, key))
        .await
        .map_err(|_| Unindexable::Unread)?
}

/// The storage table a read's table slot stands for: its id and columns (name, DuckDB type);
/// for a table (not a view), its file and primary key.
pub(super) struct SlotTable {
    pub table_id: i64,
    pub columns: Vec<(String, String)>,
    pub file: Option<(TableFile, Vec<String>)>,
}
