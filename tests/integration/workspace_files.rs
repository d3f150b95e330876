//! The documented sample workspace imports cleanly, and export → import → export is stable.

use std::sync::Arc;

use ecosystem_core::workspace;
use ecosystem_core::*;
use ecosystem_tests::fixture;

fn registry(dir: &std::path::Path, file: &str) -> Registry {
    let clock = FixedClock::on(chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    Registry::new(
        Store::open(dir.join(file)).unwrap(),
        "tester",
        Arc::new(clock),
    )
}

#[test]
fn the_sample_workspace_imports_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry(dir.path(), "a.db");
    let summary = workspace::import_file(&mut reg, &fixture("sample-workspace.json")).unwrap();
    assert_eq!(summary.partners_added, 6);
    assert_eq!(summary.contracts, 2);
    assert_eq!(summary.settings, 2);
    let mlflow = reg.partner("MLflow on Databricks").unwrap();
    assert_eq!(mlflow.depends_on.as_deref(), Some("Databricks Prod"));
    assert_eq!(mlflow.lifecycle, Lifecycle::Active);
    assert_eq!(
        reg.partner("Kubeflow Pipelines")
            .unwrap()
            .health_check
            .interval_secs,
        300
    );
    let kinds: std::collections::HashSet<_> = reg
        .list_partners(&PartnerFilter::default())
        .unwrap()
        .into_iter()
        .map(|p| p.kind)
        .collect();
    assert_eq!(
        kinds.len(),
        PartnerKind::ALL.len(),
        "one partner per platform"
    );
}

#[test]
fn export_import_export_gives_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = registry(dir.path(), "a.db");
    workspace::import_file(&mut first, &fixture("sample-workspace.json")).unwrap();
    let exported = workspace::export(&first).unwrap();
    let out = dir.path().join("round.json");
    workspace::export_to_file(&first, &out).unwrap();
    let mut second = registry(dir.path(), "b.db");
    workspace::import_file(&mut second, &out).unwrap();
    let again = workspace::export(&second).unwrap();
    assert_eq!(exported, again);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(json.get("credentials").is_none() && !json.to_string().contains("secret"));
}
