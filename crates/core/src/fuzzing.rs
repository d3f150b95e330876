//! Entry points of the fuzz targets (`fuzz/` at the repository root, see docs/FUZZING.md) and of
//! the tests that replay their corpora and every crash they found
//! (`tests/fuzz_regressions.rs`). Each takes arbitrary bytes, runs them through the real parsing
//! code and panics only when an invariant breaks: hostile input must come back as an error that
//! names the problem, never as a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::custom_check::{self, CheckAnswer, JsonPath};
use crate::{workspace, Error, FixedClock, Registry, Store};

/// The file name the workspace inputs are read as.
pub const WORKSPACE_FILE: &str = "fuzz-workspace.json";
/// The file name the check definitions are read as.
pub const CHECK_FILE: &str = "fuzz.check.toml";
/// Separates a check definition from the answer body it is evaluated against.
pub const ANSWER_SEPARATOR: &str = "\n#--- answer\n";

fn empty_registry() -> Registry {
    let clock = FixedClock::on(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default());
    let store = Store::open_in_memory().expect("an in-memory store opens");
    Registry::new(store, "fuzz", Arc::new(clock))
}

/// A workspace file: parsed, and when it parses, imported into an empty in-memory registry.
/// What imports must export, parse and import again into another registry to the same
/// registry content.
pub fn workspace(data: &[u8]) {
    let doc = match workspace::parse(WORKSPACE_FILE, data) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(
                e.to_string().contains(WORKSPACE_FILE),
                "a parse error names the file: {e}"
            );
            return;
        }
    };
    let mut registry = empty_registry();
    if let Err(e) = workspace::import(&mut registry, WORKSPACE_FILE, &doc) {
        assert!(
            matches!(e, Error::InvalidRecords { .. }) || e.to_string().contains(WORKSPACE_FILE),
            "an import error names the file or its records: {e}"
        );
        return;
    }
    let exported = workspace::export(&registry).expect("an imported registry exports");
    let bytes = serde_json::to_vec(&exported).expect("an export serialises");
    let again = workspace::parse("exported.json", &bytes).expect("an export parses again");
    let mut second = empty_registry();
    workspace::import(&mut second, "exported.json", &again).expect("an export imports again");
    let round = workspace::export(&second).expect("the second registry exports");
    assert_eq!(
        (
            &round.partners,
            &round.contracts,
            &round.maintenance,
            &round.settings
        ),
        (
            &exported.partners,
            &exported.contracts,
            &exported.maintenance,
            &exported.settings
        ),
        "export, import, export changes nothing"
    );
    // Importing the export again into the registry it came from changes nothing either: every
    // window is kept, none added, and no contract's alert stages change.
    let summary = workspace::import(&mut second, "exported.json", &again)
        .expect("an export imports again where it came from");
    assert_eq!(
        (summary.maintenance_added, summary.alert_stages),
        (0, 0),
        "a second import adds no window and changes no stages"
    );
    assert_eq!(summary.maintenance_kept, again.maintenance.len());
    let third = workspace::export(&second).expect("the registry exports again");
    assert_eq!(
        (&third.contracts, &third.maintenance),
        (&exported.contracts, &exported.maintenance),
        "a second import changes nothing"
    );
}

/// A custom check definition, optionally followed by [`ANSWER_SEPARATOR`] and an answer body.
/// A definition that parses is evaluated against that body with a passing and a failing
/// status; one that does not must name a line of the file. Every line starting with `$` is
/// also read as a JSON path and looked up in the body.
pub fn custom_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (definition, body) = text.split_once(ANSWER_SEPARATOR).unwrap_or((text, "{}"));
    match custom_check::parse(CHECK_FILE, definition) {
        Ok(check) => {
            for (status, latency_ms) in [(200, 5), (503, u64::MAX)] {
                let failed = check.evaluate(&CheckAnswer {
                    status,
                    latency_ms,
                    body: body.as_bytes(),
                });
                assert!(
                    failed.len() <= check.conditions.len(),
                    "at most one failure per condition"
                );
                for f in &failed {
                    assert!(
                        check.conditions.iter().any(|c| c.line == f.line),
                        "a failure points at a condition's line"
                    );
                }
            }
        }
        Err(e) => {
            let message = e.to_string();
            let line = message
                .strip_prefix(&format!("{CHECK_FILE}:"))
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("the error names the file and line: {message}"));
            assert!(
                (1..=definition.lines().count() + 1).contains(&line),
                "line {line} is in the file: {message}"
            );
        }
    }
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    for line in definition.lines().filter(|l| l.starts_with('$')) {
        if let (Ok(path), Some(json)) = (JsonPath::parse(line), &json) {
            let _ = path.find(json);
        }
    }
}

/// Every file in `dir` (a seed corpus or a folder of crash inputs), sorted; none when it does
/// not exist. The regression tests of this crate and of the connectors replay them.
pub fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
