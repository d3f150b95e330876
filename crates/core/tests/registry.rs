//! The registry on a real SQLite file: search plans, audit, atomic imports, two writers.

use std::sync::Arc;

use chrono::NaiveDate;
use ecosystem_core::workspace;
use ecosystem_core::*;

fn registry_at(path: &std::path::Path) -> Registry {
    let clock = FixedClock::on(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    Registry::new(Store::open(path).unwrap(), "tester", Arc::new(clock))
}

fn partner(name: &str, kind: PartnerKind) -> NewPartner {
    NewPartner::new(name, kind, "https://partner.example.com")
}

#[test]
fn every_search_criterion_is_answered_by_an_index_not_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    for i in 0..200 {
        let mut p = partner(&format!("partner-{i}"), PartnerKind::ALL[i % 6]);
        p.capabilities = vec![format!("cap-{}", i % 7)];
        p.tags = vec![format!("tag-{}", i % 5)];
        p.owner = Some(format!("owner-{}", i % 3));
        reg.add_partner(&p).unwrap();
    }
    reg.store().conn().execute_batch("ANALYZE").unwrap();
    let filters = [
        PartnerFilter {
            kind: Some(PartnerKind::Mlflow),
            ..Default::default()
        },
        PartnerFilter {
            tier: Some(Tier::Premium),
            ..Default::default()
        },
        PartnerFilter {
            lifecycle: Some(Lifecycle::Active),
            ..Default::default()
        },
        PartnerFilter {
            owner: Some("owner-1".into()),
            ..Default::default()
        },
        PartnerFilter {
            capabilities: vec!["cap-3".into()],
            ..Default::default()
        },
        PartnerFilter {
            tags: vec!["tag-2".into()],
            ..Default::default()
        },
        PartnerFilter {
            text: Some("partner-4".into()),
            ..Default::default()
        },
    ];
    for filter in &filters {
        let plan = reg.explain_partner_query(filter).unwrap();
        let outer_scan = plan
            .iter()
            .any(|step| step == "SCAN p" || step.starts_with("SCAN p "));
        assert!(
            !outer_scan,
            "{filter:?} scans the partners table: {plan:#?}"
        );
        let uses_index = plan.iter().any(|s| {
            s.contains("USING INDEX")
                || s.contains("USING COVERING INDEX")
                || s.contains("VIRTUAL TABLE INDEX")
                || s.contains("PRIMARY KEY")
        });
        assert!(uses_index, "{filter:?} uses no index: {plan:#?}");
    }
    let found = reg
        .list_partners(&PartnerFilter {
            capabilities: vec!["cap-3".into()],
            tags: vec!["tag-2".into()],
            ..Default::default()
        })
        .unwrap();
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|p| p.capabilities == ["cap-3"] && p.tags == ["tag-2"]));
}

#[test]
fn the_audit_log_cannot_be_edited_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    reg.add_partner(&partner("P", PartnerKind::Http)).unwrap();
    let conn = reg.store().conn();
    let upd = conn
        .execute("UPDATE audit_log SET actor = 'mallory'", [])
        .unwrap_err();
    assert!(upd.to_string().contains("append-only"), "{upd}");
    let del = conn.execute("DELETE FROM audit_log", []).unwrap_err();
    assert!(del.to_string().contains("append-only"), "{del}");
    let log = reg.audit_log(Some("P"), 10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor, "tester");
    assert_eq!(log[0].at, "2026-11-26T00:00:00.000Z");
    assert_eq!(log[0].action, "partner.add");
}

#[test]
fn an_update_is_audited_with_only_what_changed_and_a_cleared_owner_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    let mut p = partner("P", PartnerKind::Mlflow);
    p.owner = Some("grace".into());
    reg.add_partner(&p).unwrap();
    let change = PartnerUpdate {
        tier: Some(Tier::Strategic),
        owner: Some(None),
        ..Default::default()
    };
    reg.update_partner("P", &change).unwrap();
    let entry = reg
        .audit_log(Some("P"), 10)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "partner.update")
        .expect("the update is audited");
    let detail: serde_json::Value = serde_json::from_str(&entry.detail.unwrap()).unwrap();
    assert_eq!(
        detail,
        serde_json::json!({ "tier": "strategic", "owner": null }),
        "only the changed fields, the cleared owner as null"
    );
}

#[test]
fn two_registries_on_one_file_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let mut app = registry_at(&path);
    let mut cli = registry_at(&path);
    app.add_partner(&partner("from-app", PartnerKind::Mlflow))
        .unwrap();
    cli.add_partner(&partner("from-cli", PartnerKind::Datadog))
        .unwrap();
    let names = |r: &Registry| {
        r.list_partners(&PartnerFilter::default())
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&app), ["from-app", "from-cli"]);
    assert_eq!(names(&cli), ["from-app", "from-cli"]);
}

#[test]
fn concurrent_writers_wait_for_each_other_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    drop(registry_at(&path));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut reg = registry_at(&path);
                for i in 0..50 {
                    reg.add_partner(&partner(&format!("w{w}-{i}"), PartnerKind::Http))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread");
    }
    let reg = registry_at(&path);
    assert_eq!(
        reg.list_partners(&PartnerFilter::default()).unwrap().len(),
        200
    );
    assert_eq!(reg.audit_log(None, 1000).unwrap().len(), 200);
}

#[test]
fn an_import_that_fails_while_writing_leaves_the_registry_as_it_was() {
    // A record that passes validation but collides at write time (a cycle through an existing
    // partner is caught in planning; here a contract for a partner removed between planning
    // and writing is simulated with a trigger) must roll back every earlier record.
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    reg.add_partner(&partner("Existing", PartnerKind::Http))
        .unwrap();
    reg.store()
        .conn()
        .execute_batch(
            "CREATE TRIGGER refuse_late BEFORE INSERT ON contracts
             BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;",
        )
        .unwrap();
    let doc = workspace::parse(
        "w.json",
        br#"{"format":"ecosystem-workspace","version":1,
             "partners":[{"name":"New","kind":"mlflow","endpoint":"http://127.0.0.1:5000"},
                         {"name":"Existing","kind":"datadog","endpoint":"https://changed.example"}],
             "contracts":[{"partner":"New","start":"2026-01-01","end":"2027-01-01"}]}"#,
    )
    .unwrap();
    let err = workspace::import(&mut reg, "w.json", &doc).unwrap_err();
    assert!(err.to_string().contains("simulated failure"), "{err}");
    let all = reg.list_partners(&PartnerFilter::default()).unwrap();
    assert_eq!(all.len(), 1, "New was rolled back");
    assert_eq!(all[0].kind, PartnerKind::Http, "Existing was rolled back");
    assert!(reg
        .list_partners(&PartnerFilter {
            text: Some("new".into()),
            ..Default::default()
        })
        .unwrap()
        .is_empty());
}

#[test]
fn an_import_cycle_through_existing_partners_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    reg.add_partner(&partner("A", PartnerKind::Http)).unwrap();
    let mut b = partner("B", PartnerKind::Http);
    b.depends_on = Some("A".into());
    reg.add_partner(&b).unwrap();
    let doc = workspace::parse(
        "w.json",
        br#"{"format":"ecosystem-workspace","version":1,
             "partners":[{"name":"A","kind":"http","endpoint":"https://a.example","depends_on":"B"}]}"#,
    )
    .unwrap();
    let err = workspace::import(&mut reg, "w.json", &doc).unwrap_err();
    assert!(
        err.to_string().contains("partners[0] \"A\": depends_on"),
        "{err}"
    );
    assert!(err.to_string().contains("cycle"), "{err}");
    assert_eq!(reg.partner("A").unwrap().depends_on, None);
}

#[test]
fn expiring_contracts_use_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    reg.add_partner(&partner("P", PartnerKind::Http)).unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let mut c = ContractInput::new(d(2026, 1, 1), d(2027, 2, 28));
    c.notice_days = 90;
    reg.set_contract("P", &c).unwrap();
    // Today is 2026-11-26; the deadline is 2026-11-30.
    let rows = reg.expiring_contracts(3).unwrap();
    assert!(rows.is_empty(), "deadline is 4 days away: {rows:?}");
    let rows = reg.expiring_contracts(4).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].notice_deadline, d(2026, 11, 30));
    assert_eq!(rows[0].days_to_notice_deadline, 4);
    assert_eq!(rows[0].days_left, 94);
}

#[test]
fn a_check_definition_with_a_bad_line_is_refused_on_import_naming_record_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    let doc = workspace::parse(
        "w.json",
        br#"{"format":"ecosystem-workspace","version":1,
             "partners":[{"name":"Hook","kind":"http","endpoint":"https://hook.example",
                          "check":{"source":"hook.toml","definition":"[request]\nurl = \"https://hook.example\"\n[[expect]]\nlatency_ms_below = -5\n"}},
                         {"name":"DB","kind":"databricks","endpoint":"https://dbc.example",
                          "check":{"source":"db.toml","definition":"[request]\nurl = \"https://dbc.example\"\n[[expect]]\nstatus = 200\n"}}]}"#,
    )
    .unwrap();
    let err = workspace::import(&mut reg, "w.json", &doc)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("partners[0] \"Hook\": check: hook.toml:3: latency_ms_below"),
        "{err}"
    );
    assert!(
        err.contains("partners[1] \"DB\": check: only http partners"),
        "{err}"
    );
    assert!(
        reg.list_partners(&PartnerFilter::default())
            .unwrap()
            .is_empty(),
        "nothing imported"
    );
}

#[test]
fn a_stored_check_round_trips_through_the_workspace_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("a.db"));
    reg.add_partner(&partner("Hook", PartnerKind::Http))
        .unwrap();
    let text = "[request]\nurl = \"https://hook.example/health\"\n[[expect]]\nstatus = \"2xx\"\n";
    let check = reg.set_custom_check("Hook", "hook.toml", text).unwrap();
    assert_eq!(check.conditions.len(), 1);
    let doc = workspace::export(&reg).unwrap();
    let mut other = registry_at(&dir.path().join("b.db"));
    workspace::import(&mut other, "w.json", &doc).unwrap();
    let stored = other.custom_check("Hook").unwrap().expect("imported");
    assert_eq!(stored.definition, text);
    assert_eq!(stored.source, "hook.toml");
    reg.add_partner(&partner("DB", PartnerKind::Databricks))
        .unwrap();
    assert!(
        reg.set_custom_check("DB", "db.toml", text).is_err(),
        "built-in connectors have no check file"
    );
}

#[test]
fn a_partner_trail_follows_its_renames_and_leaves_out_earlier_partners_of_the_same_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry_at(&dir.path().join("e.db"));
    let mut p = partner("Old", PartnerKind::Kubeflow);
    p.capabilities = vec!["runs".into()];
    reg.add_partner(&p).unwrap();
    reg.record_connection_test("Old", true, &[("runs".into(), true)])
        .unwrap();
    let tier = PartnerUpdate {
        tier: Some(Tier::Strategic),
        ..Default::default()
    };
    reg.update_partner("Old", &tier).unwrap();
    let rename = |to: &str| PartnerUpdate {
        name: Some(to.into()),
        ..Default::default()
    };
    reg.update_partner("Old", &rename("Mid")).unwrap();
    reg.update_partner("Mid", &rename("New")).unwrap();
    // Another partner takes the first name, and one is removed and registered again.
    reg.add_partner(&p).unwrap();
    reg.update_partner("Old", &tier).unwrap();
    reg.add_partner(&partner("Gone", PartnerKind::Http))
        .unwrap();
    reg.remove_partner("Gone").unwrap();
    reg.add_partner(&partner("Gone", PartnerKind::Http))
        .unwrap();

    let steps = |name: &str, limit| -> Vec<(String, String)> {
        reg.partner_trail(name, limit)
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.subject))
            .collect()
    };
    let pair = |a: &str, s: &str| (a.to_string(), s.to_string());
    assert_eq!(
        steps("New", 50),
        [
            pair("partner.update", "New"),
            pair("partner.update", "Mid"),
            pair("partner.update", "Old"),
            pair("partner.connection_test", "Old"),
            pair("partner.add", "Old"),
        ],
        "the renamed partner's whole trail, newest first"
    );
    assert_eq!(steps("New", 2).len(), 2, "the limit holds across names");
    assert_eq!(
        steps("Old", 50),
        [pair("partner.update", "Old"), pair("partner.add", "Old")],
        "the second partner named Old has only its own trail"
    );
    assert_eq!(steps("Gone", 50), [pair("partner.add", "Gone")]);
    // The exact-subject log is unchanged: every entry under the name.
    assert_eq!(reg.audit_log(Some("Old"), 50).unwrap().len(), 5);

    // When a capability was last verified follows the renames too.
    let verified = |name: &str| reg.capability_verifications(name).unwrap()[0].clone();
    assert_eq!(verified("New").name, "runs");
    assert!(verified("New").last_verified.is_some(), "tested as Old");
    assert_eq!(verified("Old").last_verified, None, "never tested");
}
