//! The committed TypeScript bindings must match the Rust commands; CI fails when they are
//! stale. `UPDATE_BINDINGS=1 cargo test --test bindings` (or `make bindings`) rewrites them.

use std::path::Path;

#[test]
fn committed_typescript_bindings_match_the_rust_commands() {
    let generated = ecosystem_desktop::typescript_bindings().expect("bindings export");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings.ts");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/lib/bindings.ts is stale; run `make bindings` and commit the result"
    );
}
