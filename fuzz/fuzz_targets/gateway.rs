//! SQL text of a storage session, through the statement gateway (parse, plan, render).
#![no_main]
libfuzzer_sys::fuzz_target!(|sql: &str| duckstore::fuzzing::gateway(sql));
