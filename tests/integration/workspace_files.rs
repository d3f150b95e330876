//! The documented sample workspace imports cleanly, and export → import → export is stable.

use std::sync::Arc;

use ecosystem_core::*;
use ecosystem_core::{contract_alerts, workspace};
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
    assert_eq!(summary.alert_stages, 1, "Datadog US1 has stages of its own");
    assert_eq!(summary.maintenance_added, 2);
    let windows: Vec<(Option<String>, String)> = reg
        .maintenance_windows(None)
        .unwrap()
        .into_iter()
        .map(|w| (w.partner, w.window.schedule.describe()))
        .collect();
    assert_eq!(
        windows,
        [
            (
                Some("Databricks Prod".to_string()),
                "weekly Sun 02:00 for 2h (Europe/Berlin)".to_string()
            ),
            (
                None,
                "once 2026-03-14 22:00 to 2026-03-15 04:00 UTC".to_string()
            ),
        ]
    );
    let now = reg.clock().now();
    let datadog = contract_alerts::expiry_view(&reg, "Datadog US1", now).unwrap();
    assert_eq!(datadog.stages, [90, 30, 7]);
    assert!(!datadog.stages_default);
    // The sample imported again adds no window.
    let again = workspace::import_file(&mut reg, &fixture("sample-workspace.json")).unwrap();
    assert_eq!((again.maintenance_added, again.maintenance_kept), (0, 2));
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
