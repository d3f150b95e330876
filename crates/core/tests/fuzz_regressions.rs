//! Replays the fuzz targets' seed corpora (`fuzz/corpus/<target>/`) and every input a fuzzer
//! found a crash with (`tests/fuzz-regressions/<target>/`) through the functions the fuzz
//! targets call, so a plain `cargo test` covers them without a fuzzing toolchain
//! (docs/FUZZING.md).

use std::path::Path;

use ecosystem_core::fuzzing::{self, inputs};

/// Runs every seed and regression input of `target`; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> (usize, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = inputs(&root.join("../../fuzz/corpus").join(target));
    let regressions = inputs(&root.join("tests/fuzz-regressions").join(target));
    for file in seeds.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{} fails its fuzz target {target}", file.display());
        }
    }
    assert!(!seeds.is_empty(), "the {target} target has a seed corpus");
    (seeds.len(), regressions.len())
}

#[test]
fn the_workspace_corpus_and_regressions_import_or_fail_cleanly() {
    let (seeds, regressions) = replay("workspace_import", fuzzing::workspace);
    eprintln!("workspace_import: {seeds} seeds, {regressions} regressions");
}

#[test]
fn the_custom_check_corpus_and_regressions_parse_or_fail_cleanly() {
    let (seeds, regressions) = replay("custom_check", fuzzing::custom_check);
    eprintln!("custom_check: {seeds} seeds, {regressions} regressions");
}
