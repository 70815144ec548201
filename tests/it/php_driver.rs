//! The PHP driver (php/) against the real duckstore binary: its PHPUnit suite starts the binary
//! on free ports, drives every area through `DuckDBDriverClient::runCommand` with protobuf
//! commands, and checks the data through PDO pgsql.

use std::process::Command;

#[test]
fn the_php_driver_passes_its_phpunit_suite() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("sh")
        .arg(root.join("php/run-tests.sh"))
        .env("DUCKSTORE_BIN", env!("CARGO_BIN_EXE_duckstore"))
        .output()
        .expect("php/run-tests.sh runs (php-cli, phpunit, protobuf-compiler and php-google-protobuf installed)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "PHPUnit failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("OK ("), "PHPUnit ran no tests:\n{stdout}");
    println!("{}", stdout.lines().rev().find(|l| l.starts_with("OK (")).unwrap_or_default());
}
