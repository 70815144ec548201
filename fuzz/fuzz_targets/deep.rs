//! Statements grown deep: pieces repeated thousands of times, through the gateway and the
//! workspace bound, on the stack the server gives its threads.
#![no_main]
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| duckstore::fuzzing::deep(bytes));
