//! Custom check definitions (TOML), their JSON paths, and their evaluation against an answer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecosystem_core::fuzzing::custom_check(data));
