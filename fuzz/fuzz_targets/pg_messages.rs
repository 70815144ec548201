//! Postgres frontend messages: startup packets and Query messages.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| duckstore::fuzzing::pg_message(bytes));
