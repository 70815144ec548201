//! Keboola's structured filters (JSON) and order-by lists.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: (&str, &str)| duckstore::fuzzing::filters(input.0, input.1));
