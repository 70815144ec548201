//! Makes sure the pinned prebuilt libduckdb.so and DuckDB's signed extensions are present before
//! the crate links against the library, bakes the library's directory into the binary's run path
//! and the extensions' directory into the binary (`DUCKSTORE_EXTENSION_DIR`, see
//! `engine::extensions`), so `cargo run` and `cargo test` work on a fresh clone.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=scripts/fetch-libduckdb.sh");
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let lib_dir = match std::env::var("DUCKDB_LIB_DIR") {
        Ok(dir) => manifest_dir.join(dir),
        Err(_) => manifest_dir.join(".libduckdb"),
    };
    // (the script does nothing when what is installed matches its pins)
    let status = Command::new("bash")
        .arg(manifest_dir.join("scripts/fetch-libduckdb.sh"))
        .arg(&lib_dir)
        .status()
        .expect("running scripts/fetch-libduckdb.sh");
    assert!(
        status.success(),
        "could not fetch libduckdb.so and its extensions; run scripts/fetch-libduckdb.sh by hand or build with --features bundled"
    );
    // $ORIGIN first: an installed binary finds the library shipped next to it.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:{}", lib_dir.display());
    println!("cargo:rustc-env=DUCKSTORE_EXTENSION_DIR={}", lib_dir.join("extensions").display());
    println!("cargo:rerun-if-changed={}", lib_dir.join(".sha256").display());
}
