//! The fuzz binaries find the prebuilt libduckdb.so where the main crate fetched it (its
//! build script's rpath applies to its own binaries only).
fn main() {
    let manifest_dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let lib_dir = std::env::var("DUCKDB_LIB_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| manifest_dir.join("../.libduckdb"));
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
}
