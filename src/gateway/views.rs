//! Views expanded into engine SQL: each view a statement reads becomes its stored query, planned
//! again through the gateway and with its own names resolved by the storage layer as the reading
//! session (ADR 0008). Synchronous, so it runs where resolution does (a blocking thread, or a
//! workspace's storage scan); the caller provides the resolver.

use super::compat::CompatValues;
use super::ddl::plan_view_query;
use crate::engine::TableFile;
use crate::error::{Error, Result, SqlState};
use crate::storage::{ReadSource, TableName};

/// Resolves names (with a search path) to tables or views, as the reading session.
pub type Resolve<'a> = dyn Fn(&[TableName], &[String]) -> Result<Vec<ReadSource>> + 'a;

/// Views nest at most this deep.
pub const MAX_VIEW_DEPTH: usize = 8;
/// A statement reads at most this many relations once its views are expanded: a view joining
/// another ten times, stacked, would otherwise grow tenfold per level.
pub const MAX_RELATIONS: usize = 1000;

/// For each name: a table file's reference, or the expanded SQL of a view (a whole `SELECT`).
/// Answers them in order, with every table file read. `creating` is the (bucket, view) being
/// created: reaching it means its new query would read itself.
pub fn expand(
    resolve: &Resolve<'_>,
    compat: &CompatValues<'_>,
    names: &[TableName],
    search_path: &[String],
    creating: Option<(&str, &str)>,
) -> Result<(Vec<String>, Vec<TableFile>)> {
    let mut expansion = Expansion { resolve, compat, creating, relations: 0 };
    expansion.level(names, search_path, 0)
}

struct Expansion<'a, 'b> {
    resolve: &'a Resolve<'b>,
    compat: &'a CompatValues<'a>,
    creating: Option<(&'a str, &'a str)>,
    relations: usize,
}

impl Expansion<'_, '_> {
    fn level(
        &mut self,
        names: &[TableName],
        search_path: &[String],
        depth: usize,
    ) -> Result<(Vec<String>, Vec<TableFile>)> {
        self.relations += names.len();
        if self.relations > MAX_RELATIONS {
            return Err(Error::invalid(format!(
                "the statement reads more than {MAX_RELATIONS} relations once its views are expanded"
            ))
            .with_sqlstate(SqlState::StatementTooComplex));
        }
        let mut refs = Vec::with_capacity(names.len());
        let mut files = Vec::new();
        for source in (self.resolve)(names, search_path)? {
            let (bucket, view) = match source {
                ReadSource::Table(t) => {
                    refs.push(t.file.data_ref());
                    files.push(t.file);
                    continue;
                }
                ReadSource::View { bucket, view } => (bucket, view),
            };
            if self.creating.is_some_and(|(b, v)| b == bucket && v == view.name) {
                return Err(Error::invalid(format!("infinite recursion: view \"{}\" would read itself", view.name))
                    .with_sqlstate(SqlState::InvalidObjectDefinition));
            }
            if depth >= MAX_VIEW_DEPTH {
                return Err(Error::invalid(format!(
                    "views nest deeper than {MAX_VIEW_DEPTH} levels at view \"{}\" (do they refer to each other?)",
                    view.name
                ))
                .with_sqlstate(SqlState::InvalidObjectDefinition));
            }
            if view.columns.is_empty() {
                return Err(Error::internal("expanding a view", format!("view {} has no columns", view.name)));
            }
            let plan = plan_view_query(&view.definition, self.compat)?;
            // unqualified names in a view's query mean its own bucket
            let (inner_refs, inner_files) = self.level(&plan.tables, std::slice::from_ref(&bucket), depth + 1)?;
            let columns: Vec<String> =
                view.columns.iter().map(|c| crate::storage::names::quote_ident(&c.name)).collect();
            let sql = format!(
                "SELECT {} FROM ({}) AS \"__duckstore_view\"",
                columns.join(", "),
                plan.render(&[], &inner_refs)?
            );
            // the binder parses this text again: it must read back as one query
            if super::parse(&sql).map(|s| s.len()) != Ok(1) {
                return Err(Error::invalid(format!(
                    "view \"{}\" cannot be expanded: its query does not read back unambiguously",
                    view.name
                ))
                .with_sqlstate(SqlState::SyntaxError));
            }
            refs.push(sql);
            files.extend(inner_files);
        }
        Ok((refs, files))
    }
}
