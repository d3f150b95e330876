//! The OAuth client-credentials token fetch's reading of the token endpoint's answers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecosystem_connectors::fuzzing::oauth_token(data));
