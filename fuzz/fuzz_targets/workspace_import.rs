//! The workspace file: parse, import into an empty in-memory registry, export and import again.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecosystem_core::fuzzing::workspace(data));
