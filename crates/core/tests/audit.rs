//! The audit log at the core: every function behind a desktop command that changes something
//! adds its row (who and where, action, subject, when; never a secret), a change and its row
//! land in one transaction or not at all, the log refuses every way of editing it from any
//! connection, a workspace file cannot carry rows into it, and the history retention leaves
//! it whole. Credentials use the real OS keyring: run under `scripts/with-keyring.sh`.

use std::sync::Arc;

use chrono::{Days, Utc};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome, Retention};
use ecosystem_core::registry::actor_of;
use ecosystem_core::*;

const RUN_UNDER: &str =
    "this test needs a real Secret Service: run it under scripts/with-keyring.sh";

fn app_registry(dir: &tempfile::TempDir) -> Registry {
    Registry::new(
        Store::open(dir.path().join("ecosystem.db")).unwrap(),
        actor_of("ada", Surface::App),
        Arc::new(SystemClock),
    )
}

fn log(r: &Registry) -> Vec<AuditEntry> {
    r.audit_log(None, u32::MAX).unwrap()
}

/// Runs `change` and checks it added exactly one row: `ada (app)`, `action` on `subject`, at a
/// UTC instant, naming none of `secrets`.
fn one_row<T>(
    r: &mut Registry,
    action: &str,
    subject: &str,
    secrets: &[&str],
    change: impl FnOnce(&mut Registry) -> Result<T>,
) -> AuditEntry {
    let before = log(r).len();
    change(r).unwrap_or_else(|e| panic!("{action}: {e}"));
    let after = log(r);
    assert_eq!(
        after.len(),
        before + 1,
        "{action} adds one row: {:?}",
        &after[..after.len() - before]
    );
    let row = after[0].clone();
    assert_eq!(row.actor, "ada (app)", "{action}: who and where");
    assert_eq!(
        (row.action.as_str(), row.subject.as_str()),
        (action, subject)
    );
    assert!(
        row.at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(&row.at).is_ok(),
        "{action}: {}",
        row.at
    );
    let text = format!("{row:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "{action}: a secret in {text}");
    }
    row
}

#[test]
fn the_open_as_actor_names_the_os_user_and_the_surface() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ecosystem.db");
    let user = registry::os_user();
    for (surface, word) in [(Surface::App, "app"), (Surface::Cli, "cli")] {
        let mut r = Registry::open_as(&path, surface).unwrap();
        assert_eq!(r.actor(), format!("{user} ({word})"));
        r.set_setting("notifications.degraded", "1").unwrap();
        assert_eq!(log(&r)[0].actor, format!("{user} ({word})"));
    }
}

#[test]
fn every_core_change_behind_a_desktop_command_adds_one_row() {
    OsKeyring::open().unwrap_or_else(|e| panic!("{RUN_UNDER}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    let now = Utc::now();
    let today = now.date_naive();

    // add_partner, update_partner (a rename), activate_partner.
    one_row(&mut r, "partner.add", "hub", &[], |r| {
        r.add_partner(&NewPartner::new(
            "hub",
            PartnerKind::Http,
            "https://hub.example.com",
        ))
    });
    let renamed = one_row(&mut r, "partner.update", "core-hub", &[], |r| {
        r.update_partner(
            "hub",
            &PartnerUpdate {
                name: Some("core-hub".into()),
                ..PartnerUpdate::default()
            },
        )
    });
    assert!(
        renamed.detail.unwrap().contains(r#""renamed_from":"hub""#),
        "the old name is kept"
    );
    one_row(&mut r, "partner.activate", "core-hub", &[], |r| {
        r.change_lifecycle("core-hub", LifecycleAction::Activate)
    });

    // set_credential (first, then a verified replacement), remove_credential.
    let first = format!("audit-first-{}", std::process::id());
    let second = format!("audit-second-{}", std::process::id());
    let secrets = [first.as_str(), second.as_str()];
    let bearer = |token: &str| Credential::Bearer {
        token: Secret::new(token),
    };
    one_row(&mut r, "credential.set", "core-hub", &secrets, |r| {
        r.set_credential("core-hub", &bearer(&first), None)
    });
    one_row(&mut r, "credential.rotate", "core-hub", &secrets, |r| {
        r.rotate_credential("core-hub", &bearer(&second), None, |_| Ok(()))
    });
    one_row(&mut r, "credential.remove", "core-hub", &secrets, |r| {
        r.remove_credential("core-hub")
    });

    // test_connection, set_partner_paused.
    one_row(&mut r, "partner.connection_test", "core-hub", &[], |r| {
        r.record_connection_test("core-hub", true, &[("runs".into(), true)])
    });
    one_row(&mut r, "partner.pause", "core-hub", &[], |r| {
        r.pause_partner("core-hub", None)
    });
    one_row(&mut r, "partner.resume", "core-hub", &[], |r| {
        r.resume_partner("core-hub", None)
    });

    // The contract commands (the contract itself is set with the CLI or an import).
    let mut contract = ContractInput::new(today - Days::new(300), today + Days::new(50));
    contract.notice_days = 30;
    one_row(&mut r, "contract.set", "core-hub", &[], |r| {
        r.set_contract("core-hub", &contract)
    });
    let raised = contract_alerts::raise_due(&mut r, now).unwrap();
    assert!(!raised.is_empty(), "the 30-day stage is due");
    assert_eq!(log(&r)[0].action, "contract.set", "raising is not audited");
    one_row(&mut r, "contract.alert_ack", "core-hub", &[], |r| {
        contract_alerts::acknowledge(r, "core-hub", None, now)
    });
    one_row(&mut r, "contract.snooze", "core-hub", &[], |r| {
        contract_alerts::snooze(r, "core-hub", today + Days::new(3), now)
    });
    one_row(&mut r, "contract.renew", "core-hub", &[], |r| {
        contract_alerts::renew(r, "core-hub", Some(today + Days::new(400)), now)
    });
    one_row(&mut r, "contract.terminate", "core-hub", &[], |r| {
        contract_alerts::terminate(r, "core-hub", now)
    });

    // update_setting.
    let setting = one_row(
        &mut r,
        "setting.set",
        "notifications.resend_minutes",
        &[],
        |r| settings_view::update(r, "notifications.resend_minutes", " 45 "),
    );
    assert_eq!(setting.detail.as_deref(), Some(r#"{"value":"45"}"#));

    // Reading and exporting write nothing.
    let before = log(&r).len();
    audit_view::export_csv(
        &dir.path().join("audit.csv"),
        &r,
        &audit_view::AuditQuery::default(),
    )
    .unwrap();
    settings_view::list(&r).unwrap();
    r.capability_verifications("core-hub").unwrap();
    assert_eq!(log(&r).len(), before);
}

#[test]
fn the_demo_is_registered_and_removed_one_audited_change_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    let access = |port: u16| demo::DemoAccess {
        url: format!("http://127.0.0.1:{port}"),
        credential: None,
    };
    let sim = demo::DemoSim {
        databricks: access(41001),
        snowflake: access(41002),
        mlflow: access(41003),
        kubeflow: access(41004),
        datadog: access(41005),
    };
    let names = demo::register(&mut r, &sim, Utc::now().date_naive()).unwrap();
    let rows = log(&r);
    for name in &names {
        let actions: Vec<&str> = rows
            .iter()
            .filter(|e| &e.subject == name)
            .map(|e| e.action.as_str())
            .collect();
        // SLA terms equal to the defaults are already stored: nothing to write, no row.
        for action in ["partner.add", "contract.set", "partner.activate"] {
            assert!(actions.contains(&action), "{name}: {action} in {actions:?}");
        }
    }
    assert_eq!(rows[0].action, "setting.set");
    assert_eq!(rows[0].subject, demo::DEMO_SETTING);
    assert!(rows.iter().all(|e| e.actor == "ada (app)"));
    let before = rows.len();
    let removed = demo::remove(&mut r).unwrap();
    let rows = log(&r);
    let new = &rows[..rows.len() - before];
    let gone: Vec<&str> = new
        .iter()
        .filter(|e| e.action == "partner.remove")
        .map(|e| e.subject.as_str())
        .collect();
    assert_eq!(gone.len(), removed.len(), "{new:?}");
    assert_eq!(new[0].action, "setting.set", "the demo mark goes last");
}

#[test]
fn a_change_and_its_audit_row_land_together_or_not_at_all() {
    OsKeyring::open().unwrap_or_else(|e| panic!("{RUN_UNDER}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    r.add_partner(&NewPartner::new(
        "hub",
        PartnerKind::Http,
        "https://hub.example.com",
    ))
    .unwrap();
    let today = Utc::now().date_naive();
    let contract = ContractInput::new(today - Days::new(10), today + Days::new(300));
    r.set_contract("hub", &contract).unwrap();
    let old = Credential::Bearer {
        token: Secret::new(format!("audit-old-{}", std::process::id())),
    };
    r.set_credential("hub", &old, None).unwrap();
    let before = log(&r).len();
    let snapshot = |r: &Registry| {
        (
            r.list_partners(&PartnerFilter::default()).unwrap(),
            r.contracts().unwrap(),
            r.settings().unwrap(),
            r.credential_meta("hub").unwrap(),
            r.maintenance_windows(None).unwrap().len(),
            r.is_paused("hub").unwrap(),
        )
    };
    let state = snapshot(&r);

    // Writing the audit row fails: every change must fail with it and leave nothing behind.
    r.store()
        .conn()
        .execute_batch(
            "CREATE TEMP TRIGGER refuse_audit BEFORE INSERT ON main.audit_log
             BEGIN SELECT RAISE(ABORT, 'audit row refused'); END;",
        )
        .unwrap();
    let new = Credential::Bearer {
        token: Secret::new(format!("audit-new-{}", std::process::id())),
    };
    let window = maintenance::Schedule::once(
        "2099-01-01T10:00:00Z".parse().unwrap(),
        "2099-01-01T12:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let attempts: Vec<(&str, Result<()>)> = vec![
        (
            "add",
            r.add_partner(&NewPartner::new(
                "other",
                PartnerKind::Http,
                "https://o.example.com",
            ))
            .map(drop),
        ),
        (
            "update",
            r.update_partner(
                "hub",
                &PartnerUpdate {
                    name: Some("renamed".into()),
                    ..PartnerUpdate::default()
                },
            )
            .map(drop),
        ),
        (
            "lifecycle",
            r.change_lifecycle("hub", LifecycleAction::Activate)
                .map(drop),
        ),
        ("remove", r.remove_partner("hub")),
        ("setting", r.set_setting("notifications.degraded", "1")),
        (
            "contract",
            r.set_contract("hub", &ContractInput::new(today, today + Days::new(30)))
                .map(drop),
        ),
        ("pause", r.pause_partner("hub", None).map(drop)),
        (
            "maintenance",
            r.add_maintenance_window(Some("hub"), "Patching", &window)
                .map(drop),
        ),
        (
            "terminate",
            contract_alerts::terminate(&mut r, "hub", Utc::now()).map(drop),
        ),
        (
            "credential",
            r.rotate_credential("hub", &new, None, |_| Ok(())).map(drop),
        ),
        (
            "connection test",
            r.record_connection_test("hub", true, &[]),
        ),
    ];
    for (what, result) in attempts {
        let e = result.expect_err(what);
        assert!(e.to_string().contains("audit row refused"), "{what}: {e}");
    }
    assert_eq!(snapshot(&r), state, "nothing changed without its row");
    assert_eq!(
        r.credential("hub").unwrap(),
        old,
        "the old secret is still the one"
    );

    r.store()
        .conn()
        .execute_batch("DROP TRIGGER temp.refuse_audit")
        .unwrap();
    assert_eq!(log(&r).len(), before);
    r.remove_partner("hub").unwrap();
    assert_eq!(
        log(&r)
            .iter()
            .take(2)
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["partner.remove", "credential.remove"]
    );
}

#[test]
fn no_connection_can_edit_delete_or_replace_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    r.add_partner(&NewPartner::new(
        "P",
        PartnerKind::Http,
        "https://p.example.com",
    ))
    .unwrap();
    let original = log(&r);
    let id = original[0].id;
    // Another connection on the same file, as any other process would have.
    let other = Store::open(dir.path().join("ecosystem.db")).unwrap();
    for sql in [
        "UPDATE audit_log SET actor = 'mallory'".to_string(),
        "DELETE FROM audit_log".to_string(),
        format!("DELETE FROM audit_log WHERE id = {id}"),
        format!(
            "INSERT OR REPLACE INTO audit_log (id, at, actor, action, entity, subject)
             VALUES ({id}, '2020-01-01T00:00:00.000Z', 'mallory', 'partner.add', 'partner', 'P')"
        ),
        format!(
            "REPLACE INTO audit_log (id, at, actor, action, entity, subject)
             VALUES ({id}, '2020-01-01T00:00:00.000Z', 'mallory', 'partner.add', 'partner', 'P')"
        ),
        format!(
            "INSERT INTO audit_log (id, at, actor, action, entity, subject)
             VALUES ({id}, 'x', 'mallory', 'x', 'x', 'x')
             ON CONFLICT (id) DO UPDATE SET actor = excluded.actor"
        ),
    ] {
        let e = other.conn().execute_batch(&sql).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(log(&r), original, "the entry is as it was");
}

#[test]
fn a_workspace_file_cannot_bring_audit_rows_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    r.add_partner(&NewPartner::new(
        "P",
        PartnerKind::Http,
        "https://p.example.com",
    ))
    .unwrap();
    let mut doc = serde_json::to_value(workspace::export(&r).unwrap()).unwrap();
    let before = log(&r);
    let forged = serde_json::json!([{
        "id": 1, "at": "2020-01-01T00:00:00.000Z", "actor": "mallory",
        "action": "partner.remove", "entity": "partner", "subject": "P"
    }]);
    for key in ["audit_log", "audit"] {
        let mut bad = doc.clone();
        bad[key] = forged.clone();
        let e = workspace::parse("forged.json", bad.to_string().as_bytes()).unwrap_err();
        assert!(e.to_string().contains(key), "{key}: {e}");
    }
    assert_eq!(log(&r), before, "a refused file writes nothing");

    // A good import is audited as what it does, by whoever imports it, now.
    doc["partners"][0]["owner"] = serde_json::Value::from("carol");
    doc["partners"][0]["lifecycle"] = serde_json::Value::from("active");
    let parsed = workspace::parse("ok.json", doc.to_string().as_bytes()).unwrap();
    workspace::import(&mut r, "ok.json", &parsed).unwrap();
    let rows = log(&r);
    let new: Vec<(&str, &str, &str)> = rows[..rows.len() - before.len()]
        .iter()
        .map(|e| (e.action.as_str(), e.subject.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("workspace.import", "ok.json", "ada (app)"),
            ("partner.lifecycle", "P", "ada (app)"),
            ("partner.update", "P", "ada (app)"),
        ]
    );
    assert!(rows.iter().all(|e| e.actor != "mallory"));
}

#[test]
fn the_history_retention_leaves_the_audit_log_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = app_registry(&dir);
    for name in ["A", "B"] {
        r.add_partner(&NewPartner::new(
            name,
            PartnerKind::Http,
            "https://p.example.com",
        ))
        .unwrap();
    }
    r.set_setting("history.raw_days", "2").unwrap();
    let before = log(&r);
    let mut writer = HealthWriter::new(Store::open(dir.path().join("ecosystem.db")).unwrap());
    let ids: Vec<u32> = r
        .list_partners(&PartnerFilter::default())
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let batch: Vec<PartnerOutcome> = ids
        .iter()
        .map(|&partner_id| PartnerOutcome {
            partner_id,
            outcome: CheckOutcome::ok(Utc::now(), 100),
        })
        .collect();
    writer.record(&batch).unwrap();
    // Far in the future: every horizon is past every sample and every entry.
    let later = Utc::now() + Days::new(3650);
    let report = writer.run_retention(later, &Retention::default()).unwrap();
    assert_eq!(report.samples_deleted, 2, "the history was pruned");
    assert_eq!(log(&r), before, "the audit log was not");
}
