//! duckstore: the storage layer of an on-premise Keboola — a PostgreSQL wire-protocol server
//! fronting DuckDB. See the README for what it does and design notes in docs/adr/.

// A `pub` item no one outside its module tree can reach is `pub(crate)`: the compiler, not a
// review, says what a module offers the rest of the crate.
#![warn(unreachable_pub)]

pub mod catalog;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod gateway;
pub mod http;
pub mod jsonb;
pub mod number_format;
pub mod pg;
pub mod relation;
pub mod server;
pub mod storage;
