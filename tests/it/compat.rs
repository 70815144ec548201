//! The compatibility scoreboard's fast part (compat/README.md): the corpus and the client flows
//! (all but the slow ones) against PostgreSQL 15, a storage session and a workspace session. It
//! fails when a row of the scoreboard falls below compat/baseline.json (a regression a user would
//! see), when PostgreSQL answers a corpus statement differently twice (a corpus defect), or when
//! a flow fails on PostgreSQL itself (a flow defect). Raise the baseline with
//! `compat/run --update-baseline compat/baseline.json` after an improvement.

use std::process::Command;

#[test]
fn the_scoreboard_counts_every_kind_of_difference() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("compat/run")).arg("--self-test").output().expect("compat/run starts");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn clients_see_no_less_of_postgresql_than_the_baseline() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("compat/run"))
        .args(["--quick", "--check"])
        .arg(root.join("compat/baseline.json"))
        .env("DUCKSTORE_BIN", env!("CARGO_BIN_EXE_duckstore"))
        .output()
        .expect("compat/run starts (scripts/test-deps.sh installs PostgreSQL 15 and the clients)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stderr}");
    assert!(output.status.success(), "the compatibility scoreboard regressed or could not run:\n{stderr}");
}
