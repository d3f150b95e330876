//! The demo workspace registered for real: a SQLite file and the OS keyring (run under
//! scripts/with-keyring.sh). Registration, the due contract alert, re-pointing after a port
//! change, and removal with the keyring items.

use std::process::Command;

use chrono::{NaiveDate, Utc};
use ecosystem_core::demo::{self, DemoAccess, DemoSim, DEMO_SETTING, DEMO_TAG, NOTICE_PARTNER};
use ecosystem_core::*;

const RUN_UNDER: &str =
    "this test needs a real Secret Service: run it under scripts/with-keyring.sh";

fn sim(base_port: u16) -> DemoSim {
    let access = |offset: u16, credential: Option<Credential>| DemoAccess {
        url: format!("http://127.0.0.1:{}", base_port + offset),
        credential,
    };
    DemoSim {
        databricks: access(
            0,
            Some(Credential::Bearer {
                token: Secret::new("demo-test-databricks-token"),
            }),
        ),
        snowflake: access(1, None),
        mlflow: access(
            2,
            Some(Credential::Basic {
                username: "sim-admin".into(),
                password: Secret::new("demo-test-mlflow-password"),
            }),
        ),
        kubeflow: access(
            3,
            Some(Credential::Bearer {
                token: Secret::new("demo-test-kubeflow-token"),
            }),
        ),
        datadog: access(
            4,
            Some(Credential::DatadogKeys {
                api_key: Secret::new("demo-test-dd-api"),
                app_key: Some(Secret::new("demo-test-dd-app")),
            }),
        ),
    }
}

fn keyring_has(key: &str) -> bool {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", KEYRING_SERVICE, "username", key])
        .output()
        .unwrap_or_else(|e| panic!("secret-tool is needed; {RUN_UNDER}: {e}"));
    out.status.success() && !out.stdout.is_empty()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[test]
fn the_demo_registers_six_live_partners_repoints_them_and_removes_them_with_their_secrets() {
    OsKeyring::open().unwrap_or_else(|e| panic!("{RUN_UNDER}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut registry = Registry::open(&db).unwrap();

    let names = demo::register(&mut registry, &sim(41000), today()).expect("registered");
    assert_eq!(names.len(), 6);
    assert!(
        demo::is_demo(&registry).unwrap(),
        "the workspace is marked as a demo"
    );
    let partners = demo::registered(&registry).unwrap();
    assert_eq!(partners.len(), 6);
    for p in &partners {
        assert_eq!(p.lifecycle, Lifecycle::Active, "{} is polled", p.name);
        assert!(p.tags.iter().any(|t| t == DEMO_TAG));
        let contract = registry.contract(&p.name).unwrap().expect("a contract");
        assert!(contract.value.is_some() && contract.currency.is_some());
        assert!(
            registry.resolved_sla_terms(&p.name).unwrap().is_some(),
            "{} has SLA terms",
            p.name
        );
    }
    let keys: Vec<String> = registry
        .store()
        .conn()
        .prepare("SELECT keyring_key FROM credentials_meta")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for key in &keys {
        assert!(keyring_has(key), "the secret {key} is in the keyring");
    }
    assert_eq!(
        keys.len(),
        4,
        "four of the test's platforms have credentials"
    );
    assert!(registry
        .custom_check("Feature Store API")
        .unwrap()
        .is_some());

    // No secret reaches SQLite.
    let bytes = std::fs::read(&db).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("demo-test-"),
        "a secret is in the database file"
    );

    // The notice partner's alert stage is due now.
    let raised = contract_alerts::raise_due(&mut registry, Utc::now()).unwrap();
    assert!(
        raised.iter().any(|a| a.partner == NOTICE_PARTNER),
        "an alert for {NOTICE_PARTNER}: {raised:?}"
    );
    assert!(contract_alerts::open_alert_count(&registry, Utc::now()).unwrap() >= 1);

    // A second demo is refused and writes nothing.
    let before = registry.audit_log(None, 1000).unwrap().len();
    let err = demo::register(&mut registry, &sim(41000), today()).unwrap_err();
    assert!(err.to_string().contains("Databricks Lakehouse"), "{err}");
    assert_eq!(registry.audit_log(None, 1000).unwrap().len(), before);

    // The simulator came back on other ports: endpoints follow, audited.
    let moved = demo::repoint(&mut registry, &sim(42000), today()).unwrap();
    assert_eq!(moved.len(), 6, "{moved:?}");
    let databricks = registry.partner("Databricks Lakehouse").unwrap();
    assert_eq!(databricks.endpoint, "http://127.0.0.1:42000");
    assert_eq!(
        demo::registered_port(&demo::registered(&registry).unwrap(), PartnerKind::Mlflow),
        Some(42002)
    );
    let check = registry.custom_check("Feature Store API").unwrap().unwrap();
    assert!(
        format!("{check:?}").contains("42003"),
        "the check follows: {check:?}"
    );
    let audit = registry.audit_log(Some("Databricks Lakehouse"), 5).unwrap();
    assert_eq!(audit[0].action, "partner.update", "{audit:?}");
    assert!(demo::repoint(&mut registry, &sim(42000), today())
        .unwrap()
        .is_empty());

    // Remove demo: partners, credentials and keyring items go.
    let removed = demo::remove(&mut registry).unwrap();
    assert_eq!(removed.len(), 6);
    assert!(registry
        .list_partners(&PartnerFilter::default())
        .unwrap()
        .is_empty());
    for key in &keys {
        assert!(!keyring_has(key), "keyring item {key} is deleted");
    }
    assert_eq!(
        registry.setting(DEMO_SETTING).unwrap().as_deref(),
        Some("0")
    );
    assert!(!demo::is_demo(&registry).unwrap());
}
