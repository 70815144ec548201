//! Integration tests: the real server, in process, on port-0 listeners with a temporary data
//! directory, talked to as clients do (tokio-postgres, psql, HTTP).

mod harness;

mod auth;
mod branches;
mod caches;
mod clients;
mod compat;
mod engine;
mod lifecycle;
mod loads;
mod lookups;
mod php_driver;
mod projects;
mod protocol;
mod schema;
mod security;
mod sharing;
mod snapshots;
mod tables;
mod transactions;
mod views;
mod workspaces;
