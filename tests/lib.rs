//! ecosystem-tests: tests that cross crates, and the fixtures they share with the
//! documentation and the end-to-end tests.

use std::path::PathBuf;

/// A fixture file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}
