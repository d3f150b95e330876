//! Maintenance windows and per-contract alert stages in the workspace file: what export writes,
//! what import stores and audits, the errors that name each bad record and field (and write
//! nothing), a second import of the same file that adds nothing, and export → import → export.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use ecosystem_core::contract_alerts::{self, Stages};
use ecosystem_core::maintenance::Schedule;
use ecosystem_core::workspace::{self, ImportSummary, WorkspaceFile};
use ecosystem_core::*;
use serde_json::{json, Value};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn now() -> DateTime<Utc> {
    utc("2026-11-26T09:00:00Z")
}

struct Db {
    _dir: tempfile::TempDir,
    registry: Registry,
}

fn empty() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("ecosystem.db")).expect("open store");
    let registry = Registry::new(store, "tester", Arc::new(FixedClock(now())));
    Db {
        _dir: dir,
        registry,
    }
}

/// Partners `acme` (with a contract whose stages are 90,30,7) and `hub` (a contract on the
/// workspace's stages); a weekly window for `acme` and a one-off one for every partner.
fn configured() -> Db {
    let mut db = empty();
    let r = &mut db.registry;
    for name in ["acme", "hub"] {
        r.add_partner(&NewPartner::new(
            name,
            PartnerKind::Http,
            "https://p.example.com",
        ))
        .expect("partner");
        r.set_contract(
            name,
            &ContractInput::new(day("2026-01-01"), day("2027-06-30")),
        )
        .expect("contract");
    }
    let stages = Stages::parse("stages", "90,30,7").unwrap();
    contract_alerts::set_stages(r, "acme", Some(&stages), now()).expect("stages");
    let weekly = Schedule::weekly(
        &[Weekday::Sun, Weekday::Wed],
        "02:00",
        5_400,
        "Europe/Berlin",
    )
    .unwrap();
    r.add_maintenance_window(Some("acme"), "Patching", &weekly)
        .expect("weekly window");
    let once = Schedule::once(utc("2026-12-05T22:00:00Z"), utc("2026-12-06T04:00:00Z")).unwrap();
    r.add_maintenance_window(None, "Data-centre move", &once)
        .expect("one-off window");
    db
}

fn parse(json: &Value) -> WorkspaceFile {
    workspace::parse("w.json", json.to_string().as_bytes()).expect("parses")
}

fn doc(maintenance: Value, contracts: Value) -> Value {
    json!({
        "format": "ecosystem-workspace",
        "version": 1,
        "partners": [
            {"name": "acme", "kind": "http", "endpoint": "https://acme.example.com"},
            {"name": "hub", "kind": "http", "endpoint": "https://hub.example.com"},
        ],
        "contracts": contracts,
        "maintenance": maintenance,
    })
}

fn windows(r: &Registry) -> Vec<(Option<String>, String, String)> {
    r.maintenance_windows(None)
        .unwrap()
        .into_iter()
        .map(|w| (w.partner, w.window.title, w.window.schedule.describe()))
        .collect()
}

/// The audit rows newer than `before` entries, oldest first: (action, subject, detail).
fn new_rows(r: &Registry, before: usize) -> Vec<(String, String, Option<Value>)> {
    let mut all = r.audit_log(None, 10_000).unwrap();
    all.reverse();
    all.split_off(before)
        .into_iter()
        .map(|e| {
            (
                e.action,
                e.subject,
                e.detail.map(|d| serde_json::from_str(&d).unwrap()),
            )
        })
        .collect()
}

fn audit_len(r: &Registry) -> usize {
    r.audit_log(None, 10_000).unwrap().len()
}

#[test]
fn export_writes_windows_and_a_contracts_own_stages_in_the_documented_shape() {
    let db = configured();
    let json = serde_json::to_value(workspace::export(&db.registry).unwrap()).unwrap();
    assert_eq!(
        json["maintenance"],
        json!([
            {"partner": "acme", "title": "Patching", "days": "wed,sun", "at": "02:00",
             "duration": "1h30m", "time_zone": "Europe/Berlin"},
            {"partner": null, "title": "Data-centre move",
             "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z"},
        ])
    );
    assert_eq!(json["contracts"][0]["partner"], "acme");
    assert_eq!(json["contracts"][0]["alert_stages"], json!([90, 30, 7]));
    assert_eq!(json["contracts"][1]["partner"], "hub");
    assert!(
        json["contracts"][1].get("alert_stages").is_none(),
        "a contract on the workspace's stages has none: {}",
        json["contracts"][1]
    );
    // A workspace without windows writes no `maintenance` at all, as before.
    let bare = serde_json::to_value(workspace::export(&empty().registry).unwrap()).unwrap();
    assert!(bare.get("maintenance").is_none(), "{bare}");
}

#[test]
fn export_import_export_gives_the_same_document_with_windows_and_stages() {
    let db = configured();
    let exported = workspace::export(&db.registry).unwrap();
    let mut other = empty();
    let text = serde_json::to_string_pretty(&exported).unwrap();
    let parsed = workspace::parse("w.json", text.as_bytes()).unwrap();
    let summary = workspace::import(&mut other.registry, "w.json", &parsed).unwrap();
    assert_eq!(summary.maintenance_added, 2);
    assert_eq!(summary.alert_stages, 1);
    assert_eq!(workspace::export(&other.registry).unwrap(), exported);
    assert_eq!(windows(&other.registry), windows(&db.registry));
    let view = contract_alerts::expiry_view(&other.registry, "acme", now()).unwrap();
    assert_eq!((view.stages, view.stages_default), (vec![90, 30, 7], false));
    let hub = contract_alerts::expiry_view(&other.registry, "hub", now()).unwrap();
    assert!(hub.stages_default);
}

#[test]
fn an_import_stores_and_audits_each_window_and_stage_change() {
    let mut db = empty();
    let file = doc(
        json!([
            {"partner": "acme", "title": "Sunday patching", "days": "Sunday", "at": "02:00",
             "duration": "2h", "time_zone": "Europe/Berlin"},
            {"partner": null, "from": "2026-12-05 23:00", "to": "2026-12-06T04:00:00.900Z",
             "time_zone": "Europe/Berlin"},
        ]),
        json!([
            {"partner": "acme", "start": "2026-01-01", "end": "2027-01-01", "alert_stages": [60, 14]},
            {"partner": "hub", "start": "2026-01-01", "end": "2027-01-01"},
        ]),
    );
    let summary = workspace::import(&mut db.registry, "w.json", &parse(&file)).unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            partners_added: 2,
            partners_updated: 0,
            contracts: 2,
            alert_stages: 1,
            maintenance_added: 2,
            maintenance_kept: 0,
            settings: 0,
        }
    );
    assert_eq!(
        windows(&db.registry),
        [
            (
                Some("acme".to_string()),
                "Sunday patching".to_string(),
                "weekly Sun 02:00 for 2h (Europe/Berlin)".to_string()
            ),
            (
                None,
                "Maintenance".to_string(),
                "once 2026-12-05 22:00 to 2026-12-06 04:00 UTC".to_string()
            ),
        ],
        "the local time is read in the zone, the instants kept to the second, the title defaults"
    );
    let rows = new_rows(&db.registry, 0);
    let of = |action: &str| -> Vec<(String, Option<Value>)> {
        rows.iter()
            .filter(|(a, _, _)| a == action)
            .map(|(_, s, d)| (s.clone(), d.clone()))
            .collect()
    };
    let added = of("maintenance.add");
    assert_eq!(
        added.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["acme", maintenance::ALL_PARTNERS]
    );
    assert_eq!(added[0].1.as_ref().unwrap()["title"], "Sunday patching");
    assert_eq!(
        added[0].1.as_ref().unwrap()["schedule"]["kind"],
        "weekly",
        "the detail is the window, as `maintenance add` records it"
    );
    assert_eq!(
        of("contract.alert_stages"),
        [("acme".to_string(), Some(json!({"stages": "60,14"})))],
        "only the contract whose stages changed"
    );
    let (action, subject, detail) = rows.last().unwrap();
    assert_eq!(
        (action.as_str(), subject.as_str()),
        ("workspace.import", "w.json")
    );
    assert_eq!(
        detail.as_ref().unwrap(),
        &json!({"partners_added": 2, "partners_updated": 0, "contracts": 2, "alert_stages": 1,
                "maintenance_added": 2, "maintenance_kept": 0, "settings": 0})
    );
    let at: std::collections::HashSet<String> = db
        .registry
        .audit_log(None, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(at.len(), 1, "one transaction, one instant");
}

#[test]
fn importing_the_same_file_twice_adds_no_window_and_changes_no_stages() {
    let source = configured();
    let json = serde_json::to_value(workspace::export(&source.registry).unwrap()).unwrap();
    let mut db = empty();
    workspace::import(&mut db.registry, "w.json", &parse(&json)).unwrap();
    let before = audit_len(&db.registry);
    let again = workspace::import(&mut db.registry, "w.json", &parse(&json)).unwrap();
    assert_eq!(
        (
            again.maintenance_added,
            again.maintenance_kept,
            again.alert_stages
        ),
        (0, 2, 0)
    );
    assert_eq!(windows(&db.registry).len(), 2);
    let actions: Vec<String> = new_rows(&db.registry, before)
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert!(
        !actions
            .iter()
            .any(|a| a == "maintenance.add" || a == "contract.alert_stages"),
        "{actions:?}"
    );

    // The same windows written another way are the same windows.
    let mut rewritten = json.clone();
    rewritten["maintenance"] = json!([
        {"partner": "acme", "title": " Patching ", "days": "Sunday,wed,sun", "at": "02:00",
         "duration": "90m", "time_zone": "Europe/Berlin"},
        {"partner": null, "title": "Data-centre move",
         "from": "2026-12-05T23:00:00+01:00", "to": "2026-12-06 05:00", "time_zone": "Europe/Berlin"},
        {"partner": null, "title": "Data-centre move",
         "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z"},
    ]);
    let third = workspace::import(&mut db.registry, "w.json", &parse(&rewritten)).unwrap();
    assert_eq!(
        (third.maintenance_kept, third.maintenance_added),
        (2, 1),
        "each stored window answers for one window of the file; the second copy is new"
    );
    assert_eq!(windows(&db.registry).len(), 3);
    let fourth = workspace::import(&mut db.registry, "w.json", &parse(&rewritten)).unwrap();
    assert_eq!((fourth.maintenance_kept, fourth.maintenance_added), (3, 0));
}

#[test]
fn the_file_is_the_truth_for_stages_and_an_older_file_leaves_windows_alone() {
    let mut db = configured();
    let mut json = serde_json::to_value(workspace::export(&db.registry).unwrap()).unwrap();
    // A file from before windows and stages were exported.
    json.as_object_mut().unwrap().remove("maintenance");
    json["contracts"][0]
        .as_object_mut()
        .unwrap()
        .remove("alert_stages");
    let before = audit_len(&db.registry);
    let summary = workspace::import(&mut db.registry, "old.json", &parse(&json)).unwrap();
    assert_eq!(
        (
            summary.maintenance_added,
            summary.maintenance_kept,
            summary.alert_stages
        ),
        (0, 0, 1)
    );
    assert_eq!(
        windows(&db.registry).len(),
        2,
        "windows not in the file stay"
    );
    let view = contract_alerts::expiry_view(&db.registry, "acme", now()).unwrap();
    assert!(view.stages_default, "back to the workspace's stages");
    let stage_rows: Vec<_> = new_rows(&db.registry, before)
        .into_iter()
        .filter(|(a, _, _)| a == "contract.alert_stages")
        .collect();
    assert_eq!(
        stage_rows,
        [(
            "contract.alert_stages".to_string(),
            "acme".to_string(),
            Some(json!({"stages": "default"}))
        )]
    );
}

#[test]
fn bad_windows_and_stages_are_named_with_their_record_and_field_and_nothing_is_written() {
    let mut db = empty();
    db.registry
        .add_partner(&NewPartner::new(
            "existing",
            PartnerKind::Http,
            "https://e.example.com",
        ))
        .unwrap();
    let before = audit_len(&db.registry);
    let file = doc(
        json!([
            {"partner": "existing", "title": "fine", "days": "sun", "at": "02:00", "duration": "2h"},
            {"partner": "Nobody", "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z"},
            {"partner": null, "from": "2026-12-05T22:00:00Z", "to": "2026-12-05T21:00:00Z"},
            {"partner": null, "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z", "days": "sun"},
            {"partner": "acme", "days": "sun", "duration": "2h"},
            {"partner": "acme", "days": "sun", "at": "02:00", "duration": "8d"},
            {"partner": "acme", "days": "funday", "at": "02:00", "duration": "2h"},
            {"partner": "acme", "days": "sun", "at": "25:00", "duration": "2h"},
            {"partner": "acme", "days": "sun", "at": "02:00", "duration": "2h", "time_zone": "Mars/Olympus"},
            {"partner": "acme", "title": "  ", "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z"},
            {"partner": "acme", "from": "tomorrow", "to": "2026-12-06T04:00:00Z"},
            {"partner": "acme", "from": "2026-12-05T22:00:00Z"},
            {"partner": "acme", "title": "nothing"},
            {"partner": "acme", "from": "1969-12-31T00:00:00Z", "to": "2026-12-06T04:00:00Z"},
        ]),
        json!([
            {"partner": "acme", "start": "2026-01-01", "end": "2027-01-01", "alert_stages": [30, 90]},
            {"partner": "hub", "start": "2026-01-01", "end": "2027-01-01", "alert_stages": []},
        ]),
    );
    let err = workspace::import(&mut db.registry, "bad.json", &parse(&file)).unwrap_err();
    let Error::InvalidRecords { problems, .. } = &err else {
        panic!("{err}");
    };
    let expected = [
        "maintenance[1]: partner: no partner named \"Nobody\" in the file or the registry",
        "maintenance[2]: to: \"2026-12-05T21:00:00Z\" is not after from \"2026-12-05T22:00:00Z\"",
        "maintenance[3]: schedule: give from and to for a one-off window or days, at and duration for a weekly one, not both",
        "maintenance[4]: at: missing; a weekly window needs days, at and duration",
        "maintenance[5]: duration: \"8d\" is longer than a week",
        "maintenance[6]: days: \"funday\" is not a day of the week",
        "maintenance[7]: at: \"25:00\" is not a time of day",
        "maintenance[8]: time_zone: \"Mars/Olympus\" is not an IANA time zone",
        "maintenance[9]: title: give a title of one line",
        "maintenance[10]: from: \"tomorrow\" is not a time",
        "maintenance[11]: to: missing; a one-off window needs from and to",
        "maintenance[12]: schedule: give from and to for a one-off window, or days, at and duration for a weekly one",
        "maintenance[13]: from: \"1969-12-31T00:00:00Z\" is outside the years 1970 to 9999",
        "contracts[0] \"acme\": alert_stages: \"30,90\" is not strictly decreasing (30 then 90)",
        "contracts[1] \"hub\": alert_stages: give at least one stage",
    ];
    for needle in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(needle)),
            "missing {needle:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    assert_eq!(audit_len(&db.registry), before, "nothing was written");
    assert!(windows(&db.registry).is_empty());
    assert_eq!(
        db.registry
            .list_partners(&PartnerFilter::default())
            .unwrap()
            .len(),
        1
    );

    // `partner` must be written out: a forgotten name is not a window for everyone.
    let missing = json!({"format": "ecosystem-workspace", "version": 1,
        "maintenance": [{"title": "x", "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z"}]});
    let e = workspace::parse("w.json", missing.to_string().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("missing field `partner`"), "{e}");
    let unknown = json!({"format": "ecosystem-workspace", "version": 1,
        "maintenance": [{"partner": null, "from": "2026-12-05T22:00:00Z", "to": "2026-12-06T04:00:00Z", "until": "x"}]});
    let e = workspace::parse("w.json", unknown.to_string().as_bytes()).unwrap_err();
    assert!(e.to_string().contains("unknown field `until`"), "{e}");
}

#[test]
fn a_window_may_name_a_partner_already_registered_and_lie_in_the_past() {
    let mut db = empty();
    db.registry
        .add_partner(&NewPartner::new(
            "existing",
            PartnerKind::Http,
            "https://e.example.com",
        ))
        .unwrap();
    let file = json!({"format": "ecosystem-workspace", "version": 1, "maintenance": [
        {"partner": "existing", "title": "Last spring", "from": "2026-03-01T00:00:00Z", "to": "2026-03-01T02:00:00Z"}
    ]});
    let summary = workspace::import(&mut db.registry, "w.json", &parse(&file)).unwrap();
    assert_eq!(summary.maintenance_added, 1);
    assert_eq!(
        windows(&db.registry),
        [(
            Some("existing".to_string()),
            "Last spring".to_string(),
            "once 2026-03-01 00:00 to 02:00 UTC".to_string()
        )]
    );
}
