//! The event feeds' polls: each connector's listing, poll step and cursor.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecosystem_connectors::fuzzing::event_feeds(data));
