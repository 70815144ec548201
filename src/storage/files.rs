//! Files on the REST sidecar: uploads streamed to disk with their size and checksum, downloads,
//! listing and deletion, per-project quotas, and the janitor for uploads that never finished.
//! Imports read these files and exports write them.
//!
//! A file's bytes live at `files/<project>/<id>`; while it arrives it is `<id>.part` and its
//! catalog row says `uploading`. Order of a finished upload: bytes fsynced, renamed into place,
//! then the catalog row marked `ready`; a crash in between leaves a row the janitor removes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::tables::session_branch;
use super::{SessionContext, Storage};
use crate::catalog::FileRecord;
use crate::clock::now_micros;
use crate::error::{Error, ErrorKind, Result, SqlState};

#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    pub max_file_size: u64,
    pub project_max_files: u64,
    pub project_max_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits { max_file_size: 10 << 30, project_max_files: 100_000, project_max_bytes: 1 << 40 }
    }
}

/// Uploads in flight, so the janitor never removes one that is still arriving.
#[derive(Default)]
pub(crate) struct ActiveUploads(Mutex<HashSet<i64>>);

impl ActiveUploads {
    fn add(&self, id: i64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
    }
    fn remove(&self, id: i64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
    fn contains(&self, id: i64) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains(&id)
    }
}

/// The directory of a project's files.
pub(crate) fn project_dir(data_dir: &Path, project_id: i64) -> PathBuf {
    data_dir.join("files").join(project_id.to_string())
}

/// Where a file's bytes live once complete.
pub(crate) fn file_path(data_dir: &Path, project_id: i64, id: i64) -> PathBuf {
    project_dir(data_dir, project_id).join(id.to_string())
}

fn part_path(data_dir: &Path, project_id: i64, id: i64) -> PathBuf {
    project_dir(data_dir, project_id).join(format!("{id}.part"))
}

fn file_not_found(id: i64) -> Error {
    Error::not_found(format!("file {id} does not exist")).with_sqlstate(SqlState::UndefinedFile)
}

/// Validates a file name as given by a client: a plain name, no directories.
pub fn validate_file_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != ".."
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("invalid file name {name:?}: a plain name of 1 to 255 characters, no slashes")))
    }
}

pub(crate) fn validate_tags(tags: &[String]) -> Result<()> {
    if tags.len() > 50 {
        return Err(Error::invalid("at most 50 tags per file"));
    }
    for t in tags {
        if t.is_empty() || t.len() > 100 || t.chars().any(char::is_control) || t.contains(',') {
            return Err(Error::invalid(format!("invalid tag {t:?}: 1 to 100 characters, no commas")));
        }
    }
    Ok(())
}

/// A file being uploaded: bytes are written as they arrive, counted against the size limit and
/// hashed. Dropped without [`Upload::finish`], the partial file and its row are removed.
pub struct Upload {
    storage: Storage,
    record: FileRecord,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    finished: bool,
}

impl Upload {
    pub fn id(&self) -> i64 {
        self.record.id
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!("the file is larger than allowed ({} bytes at most here)", self.limit),
            )
            .with_sqlstate(SqlState::ProgramLimitExceeded));
        }
        self.hasher.update(chunk);
        let file = self.file.as_mut().ok_or_else(|| Error::internal("writing a file", "already closed"))?;
        file.write_all(chunk).await.map_err(|e| Error::internal("writing a file", e))
    }

    /// Completes the upload: fsync, rename into place, mark ready. A declared checksum that
    /// does not match removes the file and answers 400.
    pub async fn finish(mut self, declared_sha256: Option<&str>) -> Result<FileRecord> {
        let mut file = self.file.take().ok_or_else(|| Error::internal("finishing a file", "already closed"))?;
        file.flush().await.map_err(|e| Error::internal("writing a file", e))?;
        let file = file.into_inner();
        file.sync_all().await.map_err(|e| Error::internal("syncing a file", e))?;
        drop(file);
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        if let Some(declared) = declared_sha256
            && !declared.eq_ignore_ascii_case(&sha256)
        {
            return Err(Error::invalid(format!("the content's sha256 is {sha256}, not the declared {declared}")));
        }
        let (project_id, id, size) = (self.record.project_id, self.record.id, self.size as i64);
        let data_dir = self.storage.data_dir().to_path_buf();
        tokio::fs::rename(part_path(&data_dir, project_id, id), file_path(&data_dir, project_id, id))
            .await
            .map_err(|e| Error::internal("storing a file", e))?;
        let digest = sha256.clone();
        self.storage.blocking(move |inner| inner.catalog.write(|tx| tx.finish_file(id, size, &digest))).await?;
        self.finished = true;
        self.storage.inner.active_uploads.remove(id);
        metrics::counter!("duckstore_file_bytes_total", "direction" => "in").increment(size as u64);
        Ok(FileRecord { ready: true, size, sha256, ..self.record.clone() })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (project_id, id) = (self.record.project_id, self.record.id);
        let storage = self.storage.clone();
        let data_dir = storage.data_dir().to_path_buf();
        // Best effort now; the janitor removes whatever this misses.
        let _ = std::fs::remove_file(part_path(&data_dir, project_id, id));
        let _ = std::fs::remove_file(file_path(&data_dir, project_id, id));
        storage.inner.active_uploads.remove(id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = storage.blocking(move |inner| inner.catalog.write(|tx| tx.delete_file(id))).await;
            });
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A stored file with the path to read it from.
pub struct StoredFile {
    pub record: FileRecord,
    pub path: PathBuf,
}

impl Storage {
    /// The most bytes one `COPY … FROM STDIN` may stage: the largest file the server accepts.
    pub fn max_copy_bytes(&self) -> u64 {
        self.inner.file_limits.max_file_size
    }

    /// Starts an upload into the session's project: checks write scope, the declared size
    /// against the limit and the project's quotas, and registers the file.
    pub async fn begin_upload(
        &self,
        ctx: SessionContext,
        name: String,
        tags: Vec<String>,
        declared_size: Option<u64>,
    ) -> Result<Upload> {
        validate_file_name(&name)?;
        validate_tags(&tags)?;
        let (project_id, _) = super::tables::require_write(&ctx)?;
        let limits = self.inner.file_limits;
        if let Some(size) = declared_size.filter(|s| *s > limits.max_file_size) {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!("the file has {size} bytes; {} at most are allowed here", limits.max_file_size),
            )
            .with_sqlstate(SqlState::ProgramLimitExceeded));
        }
        let actor = ctx.user.clone();
        let record = self
            .blocking(move |inner| {
                inner.catalog.write(|tx| {
                    let (count, bytes) = tx.file_usage(project_id)?;
                    if count as u64 >= limits.project_max_files {
                        return Err(Error::new(
                            ErrorKind::ResourceExhausted,
                            format!("the project keeps {count} files, its quota; delete some first"),
                        )
                        .with_sqlstate(SqlState::ConfigurationLimitExceeded));
                    }
                    if bytes as u64 + declared_size.unwrap_or(0) > limits.project_max_bytes {
                        return Err(Error::new(
                            ErrorKind::ResourceExhausted,
                            format!(
                                "the project's files would exceed its quota of {} bytes; delete some first",
                                limits.project_max_bytes
                            ),
                        )
                        .with_sqlstate(SqlState::ConfigurationLimitExceeded));
                    }
                    let id = tx.insert_file(project_id, &name, &tags, now_micros(), &actor)?;
                    inner.active_uploads.add(id);
                    tx.file(id)?.ok_or_else(|| Error::internal("registering a file", "row missing"))
                })
            })
            .await?;
        let remaining_quota = limits.project_max_bytes;
        let dir = project_dir(self.data_dir(), project_id);
        let opened = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::File::create(part_path(self.data_dir(), project_id, record.id)).await
        }
        .await;
        let mut upload = Upload {
            storage: self.clone(),
            record,
            file: None,
            hasher: Sha256::new(),
            size: 0,
            limit: limits.max_file_size.min(remaining_quota),
            finished: false,
        };
        let file = opened.map_err(|e| Error::internal("creating a file", e))?;
        upload.file = Some(tokio::io::BufWriter::with_capacity(1 << 20, file));
        Ok(upload)
    }

    /// A ready file of the session's project.
    pub async fn file(&self, ctx: SessionContext, id: i64) -> Result<StoredFile> {
        let (project_id, _) = session_branch(&ctx)?;
        let record = self
            .blocking(move |inner| inner.catalog.read(|tx| tx.file(id)))
            .await?
            .filter(|f| f.ready && f.project_id == project_id)
            .ok_or_else(|| file_not_found(id))?;
        let path = file_path(self.data_dir(), project_id, id);
        Ok(StoredFile { record, path })
    }

    /// Ready files of the session's project, newest first; with tags, those carrying all of them.
    pub async fn files(
        &self,
        ctx: SessionContext,
        tags: Vec<String>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<FileRecord>> {
        let (project_id, _) = session_branch(&ctx)?;
        let limit = limit.clamp(1, 1000);
        self.blocking(move |inner| {
            inner.catalog.read(|tx| {
                if tags.is_empty() {
                    return tx.files(Some(project_id), before, limit);
                }
                // Filter in pages so a tag filter still answers `limit` files.
                let mut out = Vec::new();
                let mut cursor = before;
                loop {
                    let page = tx.files(Some(project_id), cursor, 1000)?;
                    let last = page.last().map(|f| f.id);
                    out.extend(page.into_iter().filter(|f| tags.iter().all(|t| f.tags.contains(t))));
                    if out.len() >= limit as usize || last.is_none() {
                        out.truncate(limit as usize);
                        return Ok(out);
                    }
                    cursor = last;
                }
            })
        })
        .await
    }

    /// Deletes a file of the session's project (write scope).
    pub async fn delete_file(&self, ctx: SessionContext, id: i64) -> Result<()> {
        let (project_id, _) = super::tables::require_write(&ctx)?;
        let data_dir = self.data_dir().to_path_buf();
        self.blocking(move |inner| {
            inner.catalog.write(|tx| {
                let file =
                    tx.file(id)?.filter(|f| f.ready && f.project_id == project_id).ok_or_else(|| file_not_found(id))?;
                tx.delete_file(file.id)?;
                inner.audit(tx, &ctx, Some(project_id), "delete_file", ("file", id.to_string()), serde_json::json!({}))
            })?;
            // After the commit: a crash here leaves an unreferenced file, removed at start-up.
            let _ = std::fs::remove_file(file_path(&data_dir, project_id, id));
            Ok(())
        })
        .await
    }

    /// Registers a file the server itself writes (an export): answers its id and the path to
    /// write to; [`Storage::finish_server_file`] completes it.
    pub(crate) fn begin_server_file(
        &self,
        tx: &crate::catalog::CatalogTx<'_>,
        project_id: i64,
        name: &str,
        tags: &[String],
        actor: &str,
    ) -> Result<(i64, PathBuf)> {
        let limits = self.inner.file_limits;
        let (count, _) = tx.file_usage(project_id)?;
        if count as u64 >= limits.project_max_files {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!("the project keeps {count} files, its quota; delete some first"),
            )
            .with_sqlstate(SqlState::ConfigurationLimitExceeded));
        }
        let id = tx.insert_file(project_id, name, tags, now_micros(), actor)?;
        self.inner.active_uploads.add(id);
        let dir = project_dir(self.data_dir(), project_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::internal("creating the files directory", e))?;
        Ok((id, part_path(self.data_dir(), project_id, id)))
    }

    /// Completes a server-written file: checksum, rename, mark ready. Call on a blocking thread.
    pub(crate) fn finish_server_file(&self, project_id: i64, id: i64) -> Result<FileRecord> {
        let part = part_path(self.data_dir(), project_id, id);
        let (size, sha256) = hash_file(&part)?;
        std::fs::File::open(&part).and_then(|f| f.sync_all()).map_err(|e| Error::internal("syncing a file", e))?;
        std::fs::rename(&part, file_path(self.data_dir(), project_id, id))
            .map_err(|e| Error::internal("storing a file", e))?;
        let record = self.inner.catalog.write(|tx| {
            tx.finish_file(id, size as i64, &sha256)?;
            tx.file(id)?.ok_or_else(|| Error::internal("finishing a file", "row missing"))
        })?;
        self.inner.active_uploads.remove(id);
        metrics::counter!("duckstore_file_bytes_total", "direction" => "out").increment(size);
        Ok(record)
    }

    /// Forgets a server-written file that failed. Call on a blocking thread.
    pub(crate) fn abandon_server_file(&self, project_id: i64, id: i64) {
        let _ = std::fs::remove_file(part_path(self.data_dir(), project_id, id));
        let _ = self.inner.catalog.write(|tx| tx.delete_file(id));
        self.inner.active_uploads.remove(id);
    }

    /// Removes uploads that are not arriving any more, and files on disk the catalog does not
    /// know. Runs at start-up and then periodically.
    pub async fn clean_files(&self) -> Result<usize> {
        let data_dir = self.data_dir().to_path_buf();
        self.blocking(move |inner| {
            let stale = inner.catalog.read(|tx| tx.stale_uploads(i64::MAX))?;
            let mut removed = 0;
            for f in stale.into_iter().filter(|f| !inner.active_uploads.contains(f.id)) {
                let _ = std::fs::remove_file(part_path(&data_dir, f.project_id, f.id));
                let _ = std::fs::remove_file(file_path(&data_dir, f.project_id, f.id));
                inner.catalog.write(|tx| tx.delete_file(f.id))?;
                removed += 1;
            }
            let known: HashSet<(i64, i64)> = inner.catalog.read(|tx| tx.file_ids())?.into_iter().collect();
            let Ok(projects) = std::fs::read_dir(data_dir.join("files")) else { return Ok(removed) };
            for project in projects.flatten() {
                let Some(project_id) = project.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                    continue;
                };
                let Ok(entries) = std::fs::read_dir(project.path()) else { continue };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else { continue };
                    let id = name.trim_end_matches(".part").parse::<i64>().ok();
                    let orphan = match id {
                        Some(id) => !known.contains(&(project_id, id)),
                        None => true,
                    };
                    if orphan && id.is_none_or(|id| !inner.active_uploads.contains(id)) {
                        let _ = std::fs::remove_file(entry.path());
                        removed += 1;
                    }
                }
            }
            Ok(removed)
        })
        .await
    }
}

/// Size and sha256 of a file on disk.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::internal("reading a file", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::internal("reading a file", e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}
