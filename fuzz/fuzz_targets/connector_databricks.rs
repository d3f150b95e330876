//! The databricks connector's reading of health answers, usage answers and error answers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecosystem_connectors::fuzzing::databricks(data));
