//! Bucket, table and column names and column types as users write them.
#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| duckstore::fuzzing::names(text));
