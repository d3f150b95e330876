//! Replays the connector fuzz targets' seed corpora (`fuzz/corpus/<target>/`) and every input a
//! fuzzer found a crash with (`tests/fuzz-regressions/<target>/`) through the functions the fuzz
//! targets call, so a plain `cargo test` covers them without a fuzzing toolchain
//! (docs/FUZZING.md). A target is `connector_<name>`, `oauth_token` or `event_feeds`.

use std::path::Path;

use ecosystem_connectors::fuzzing;
use ecosystem_core::fuzzing::inputs;

/// The fuzz target `name` is replayed as: `connector_<name>` for a connector's answers, the
/// name itself for the others.
fn target_of(name: &str) -> String {
    match name {
        "oauth_token" | "event_feeds" => name.to_string(),
        _ => format!("connector_{name}"),
    }
}

/// Runs every seed and regression input of the target `name`; returns how many there were.
fn replay(name: &str) -> (usize, usize) {
    let target = target_of(name);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = inputs(&root.join("../../fuzz/corpus").join(&target));
    let regressions = inputs(&root.join("tests/fuzz-regressions").join(&target));
    for file in seeds.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        match std::panic::catch_unwind(|| fuzzing::replay(name, &data)) {
            Ok(known) => assert!(known, "{name} is a fuzz target"),
            Err(_) => panic!("{} fails its fuzz target {target}", file.display()),
        }
    }
    assert!(!seeds.is_empty(), "the {target} target has a seed corpus");
    eprintln!(
        "{target}: {} seeds, {} regressions",
        seeds.len(),
        regressions.len()
    );
    (seeds.len(), regressions.len())
}

#[test]
fn databricks_answers_are_read_or_refused_cleanly() {
    replay("databricks");
}

#[test]
fn snowflake_answers_are_read_or_refused_cleanly() {
    replay("snowflake");
}

#[test]
fn mlflow_answers_are_read_or_refused_cleanly() {
    replay("mlflow");
}

#[test]
fn kubeflow_answers_are_read_or_refused_cleanly() {
    replay("kubeflow");
}

#[test]
fn datadog_answers_are_read_or_refused_cleanly() {
    replay("datadog");
}

#[test]
fn custom_http_answers_are_judged_cleanly() {
    replay("custom_http");
}

#[test]
fn oauth_token_answers_are_read_or_refused_cleanly() {
    replay("oauth_token");
}

#[test]
fn event_feed_listings_and_cursors_are_read_or_refused_cleanly() {
    replay("event_feeds");
}

/// The seeds are real answers: each one's first line must be read as an answer, or the seed
/// would exercise nothing.
#[test]
fn every_seed_is_an_answer() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for name in [
        "databricks",
        "snowflake",
        "mlflow",
        "kubeflow",
        "datadog",
        "custom_http",
        "oauth_token",
        "event_feeds",
    ] {
        for file in inputs(&corpus.join(target_of(name))) {
            let data = std::fs::read(&file).unwrap_or_default();
            assert!(
                fuzzing::Answer::read(&data).is_some(),
                "{} is not an answer",
                file.display()
            );
        }
    }
}
