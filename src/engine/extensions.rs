//! DuckDB extensions the engine loads: DuckDB's own signed builds of the library's exact
//! version, fetched at build time by `scripts/fetch-libduckdb.sh` (pinned by checksum) and
//! loaded by path while an instance opens, before its configuration is locked. Nothing is ever
//! installed or loaded on demand (`autoinstall_known_extensions` and
//! `autoload_known_extensions` are off), and DuckDB's default refusal of unsigned extensions
//! is never loosened: a changed byte fails the signature check.
//!
//! httpfs is loaded because DuckDB 1.5 writes encrypted database files only with the OpenSSL it
//! brings (encryption at rest, issue 26); it opens no remote file here, since every instance
//! runs with `enable_external_access = false`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The extensions every storage instance loads, with the sha256 of their files (as
/// `scripts/fetch-libduckdb.sh` pins them).
pub(crate) const LOADED: &[(&str, &str)] =
    &[("httpfs", "887c392b1e49128d11667c81e3698d8b00dfdeb456771acf66d05a0f74f7b7d8")];

/// Where the extension files are: `extensions/` beside the binary (an installation, as the
/// library sits beside it), else the build's (`.libduckdb/extensions`).
fn dir() -> Option<PathBuf> {
    let installed = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("extensions")));
    let built = option_env!("DUCKSTORE_EXTENSION_DIR").map(PathBuf::from);
    installed.into_iter().chain(built).find(|d| d.is_dir())
}

/// The files of [`LOADED`], each checked against its pin once per process: an instance loads
/// nothing else. A build from source (`bundled`) has no prebuilt extensions and loads none.
pub(crate) fn files() -> Result<&'static [PathBuf]> {
    static FILES: OnceLock<std::result::Result<Vec<PathBuf>, String>> = OnceLock::new();
    if cfg!(feature = "bundled") {
        return Ok(&[]);
    }
    let files = FILES.get_or_init(|| {
        let dir = dir().ok_or("no DuckDB extension directory (run scripts/fetch-libduckdb.sh)")?;
        LOADED.iter().map(|(name, sha256)| pinned(&dir, name, sha256)).collect()
    });
    files.as_deref().map_err(|e| Error::invalid(format!("cannot start the engine: {e}")))
}

pub(super) fn pinned(dir: &Path, name: &str, sha256: &str) -> std::result::Result<PathBuf, String> {
    let path = dir.join(format!("{name}.duckdb_extension"));
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let found = format!("{:x}", Sha256::digest(&bytes));
    if found != sha256 {
        return Err(format!(
            "{} is not the pinned build (sha256 {found}); run scripts/fetch-libduckdb.sh",
            path.display()
        ));
    }
    Ok(path)
}

/// The statements that load `files` (while the instance may still read files).
pub(crate) fn load_statements(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| format!("LOAD '{}'", f.to_string_lossy().replace('\'', "''"))).collect()
}

/// An extension an instance has loaded: its name, and how DuckDB says it came
/// (`STATICALLY_LINKED`; `NOT_INSTALLED` for one loaded by path).
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub name: String,
    pub mode: String,
}

/// The extensions `conn`'s instance has loaded.
pub(super) fn loaded(conn: &duckdb::Connection) -> Result<Vec<Loaded>> {
    let listing = |e| Error::internal("listing the engine's extensions", e);
    let mut stmt = conn
        .prepare("SELECT extension_name, install_mode::VARCHAR FROM duckdb_extensions() WHERE loaded")
        .map_err(listing)?;
    let rows = stmt
        .query_map([], |r| Ok(Loaded { name: r.get(0)?, mode: r.get::<_, Option<String>>(1)?.unwrap_or_default() }))
        .map_err(listing)?;
    rows.collect::<duckdb::Result<_>>().map_err(listing)
}
