//! CSV options of import_table and COPY, rendered into the reader SQL.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: (&str, &str, &str, Option<&str>, bool)| {
    duckstore::fuzzing::csv_options(input.0, input.1, input.2, input.3, input.4)
});
