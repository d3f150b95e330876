//! Contract expiry alerts on a real SQLite file, with the clock injected: every `now` below is
//! a fixed instant, and the expected stages are worked out by hand from the notice deadline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use chrono::{DateTime, Days, NaiveDate, Utc};
use ecosystem_core::contract_alerts::{self as alerts, AlertState, ContractStatus, Stages};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::*;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// 00:00 UTC of `day`.
fn at(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    reg: Registry,
}

fn registry_on(path: &Path, actor: &str) -> Registry {
    let clock = FixedClock::on(d("2026-01-01"));
    Registry::new(Store::open(path).unwrap(), actor, Arc::new(clock))
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let reg = registry_on(&path, "tester");
    Fixture {
        _dir: dir,
        path,
        reg,
    }
}

/// Adds an active partner owned by ada with a contract from 2025-01-01 to `end`.
fn contract(reg: &mut Registry, name: &str, end: &str, notice_days: u32) {
    let mut p = NewPartner::new(name, PartnerKind::Http, "https://partner.example.com");
    p.owner = Some("ada".into());
    p.tier = Tier::Strategic;
    reg.add_partner(&p).unwrap();
    reg.change_lifecycle(name, LifecycleAction::Activate)
        .unwrap();
    let mut input = ContractInput::new(d("2025-01-01"), d(end));
    input.notice_days = notice_days;
    reg.set_contract(name, &input).unwrap();
}

/// The stages raised by one call at `now`.
fn raise(reg: &mut Registry, now: DateTime<Utc>) -> Vec<(String, u32)> {
    alerts::raise_due(reg, now)
        .unwrap()
        .into_iter()
        .map(|a| (a.partner, a.stage_days))
        .collect()
}

fn states(reg: &Registry, now: DateTime<Utc>) -> Vec<(u32, AlertState)> {
    let mut out: Vec<(u32, AlertState)> = alerts::list_alerts(reg, now, true)
        .unwrap()
        .into_iter()
        .map(|a| (a.stage_days, a.state))
        .collect();
    out.sort_by_key(|(stage, _)| std::cmp::Reverse(*stage));
    out
}

fn open_stages(reg: &Registry, now: DateTime<Utc>) -> Vec<(String, u32)> {
    alerts::list_alerts(reg, now, false)
        .unwrap()
        .into_iter()
        .map(|a| (a.partner, a.stage_days))
        .collect()
}

fn actions(reg: &Registry, subject: &str) -> Vec<String> {
    reg.audit_log(Some(subject), 100)
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .rev()
        .collect()
}

// Contract "acme" ends 2026-12-31 with 30 days' notice: the notice deadline is 2026-12-01, so
// the stages fall on 2026-08-03 (120), 09-02 (90), 10-02 (60), 11-01 (30) and 11-24 (7).
const END: &str = "2026-12-31";
const DEADLINE: &str = "2026-12-01";

#[test]
fn each_stage_is_raised_once_on_its_day_across_repeated_passes() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    let mut seen = Vec::new();
    let mut day = d("2026-07-01");
    while day <= d("2027-01-10") {
        // Several passes a day, as the app does: only the first can raise anything.
        for hour in [0, 9, 23] {
            let now = at(day) + chrono::Duration::hours(hour);
            for (partner, stage) in raise(&mut f.reg, now) {
                seen.push((day, partner, stage));
            }
        }
        day = day + Days::new(1);
    }
    let expected: Vec<(NaiveDate, String, u32)> = [
        ("2026-08-03", 120),
        ("2026-09-02", 90),
        ("2026-10-02", 60),
        ("2026-11-01", 30),
        ("2026-11-24", 7),
    ]
    .into_iter()
    .map(|(day, stage)| (d(day), "acme".to_string(), stage))
    .collect();
    assert_eq!(seen, expected);
    let on = at(d("2026-11-30"));
    assert_eq!(
        states(&f.reg, on),
        [
            (120, AlertState::Superseded),
            (90, AlertState::Superseded),
            (60, AlertState::Superseded),
            (30, AlertState::Superseded),
            (7, AlertState::Open),
        ]
    );
    let open = alerts::list_alerts(&f.reg, on, false).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].notice_deadline, d(DEADLINE));
    assert_eq!(open[0].days_to_notice_deadline, 1);
    assert_eq!(open[0].days_left, 31);
    assert_eq!(open[0].owner.as_deref(), Some("ada"));
    assert_eq!(open[0].summary, "Contract notice for acme due tomorrow");
    assert_eq!(alerts::open_alert_count(&f.reg, on).unwrap(), 1);
    let after_end = at(d("2027-01-01"));
    assert_eq!(
        alerts::open_alert_count(&f.reg, after_end).unwrap(),
        0,
        "an ended contract has no open alert"
    );
    assert_eq!(
        states(&f.reg, after_end).last(),
        Some(&(7, AlertState::Stopped))
    );
}

#[test]
fn a_stage_comes_due_at_midnight_utc() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-11-01")));
    assert_eq!(
        raise(&mut f.reg, instant("2026-11-23T23:59:59Z")),
        [],
        "8 days left until midnight UTC"
    );
    // 00:30 in Berlin on the 24th is still the 23rd in UTC.
    assert_eq!(raise(&mut f.reg, instant("2026-11-24T00:30:00+01:00")), []);
    assert_eq!(
        raise(&mut f.reg, instant("2026-11-24T00:00:00Z")),
        [("acme".to_string(), 7)]
    );
}

#[test]
fn two_registries_on_one_file_raise_each_stage_once() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    let mut other = registry_on(&f.path, "app");
    assert_eq!(
        raise(&mut other, at(d("2026-08-03"))),
        [("acme".to_string(), 120)]
    );
    assert_eq!(
        raise(&mut f.reg, at(d("2026-08-03"))),
        [],
        "the CLI sees the stage the app raised"
    );
    assert_eq!(
        raise(&mut f.reg, at(d("2026-09-02"))),
        [("acme".into(), 90)]
    );
    assert_eq!(raise(&mut other, at(d("2026-09-02"))), []);
}

#[test]
fn racing_processes_never_raise_a_stage_twice() {
    let mut f = fixture();
    for i in 0..40 {
        contract(&mut f.reg, &format!("p{i:02}"), END, 30);
    }
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let path = f.path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut reg = registry_on(&path, &format!("process-{n}"));
                barrier.wait();
                raise(&mut reg, at(d("2026-11-02")))
            })
        })
        .collect();
    let mut all: Vec<(String, u32)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 40, "one alert per contract in all: {all:?}");
    assert_eq!(unique.len(), 40);
    assert!(all.iter().all(|(_, stage)| *stage == 30));
}

#[test]
fn a_contract_added_late_raises_only_the_most_urgent_stage() {
    let mut f = fixture();
    // Added 20 days before its deadline: 120, 90, 60 and 30 are all due; 30 goes out.
    contract(&mut f.reg, "late", END, 30);
    let now = at(d("2026-11-11"));
    let raised = alerts::raise_due(&mut f.reg, now).unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].stage_days, 30);
    assert_eq!(raised[0].days_to_notice_deadline, 20);
    assert_eq!(raised[0].notice_deadline, d(DEADLINE));
    assert_eq!(
        states(&f.reg, now),
        [
            (120, AlertState::Passed),
            (90, AlertState::Passed),
            (60, AlertState::Passed),
            (30, AlertState::Open),
        ]
    );
    let notified = alerts::take_unnotified(&mut f.reg, now).unwrap();
    assert_eq!(
        notified.iter().map(|a| a.stage_days).collect::<Vec<_>>(),
        [30],
        "passed stages are never notified"
    );
    // After the deadline, before the end: the 7-day stage still goes out.
    let mut g = fixture();
    contract(&mut g.reg, "very-late", END, 30);
    assert_eq!(
        raise(&mut g.reg, at(d("2026-12-10"))),
        [("very-late".to_string(), 7)]
    );
}

#[test]
fn each_alert_is_notified_once_whoever_raised_it() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    let now = at(d("2026-08-03"));
    raise(&mut f.reg, now);
    let mut app = registry_on(&f.path, "app");
    let mut second_app = registry_on(&f.path, "app2");
    let first = alerts::take_unnotified(&mut app, now).unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].notified_at.is_some());
    assert!(
        first[0].summary.contains("due in 120 days"),
        "{}",
        first[0].summary
    );
    assert!(alerts::take_unnotified(&mut second_app, now)
        .unwrap()
        .is_empty());
    assert!(alerts::take_unnotified(&mut app, now).unwrap().is_empty());
    // An alert acknowledged before any app saw it is not notified.
    raise(&mut f.reg, at(d("2026-09-02")));
    alerts::acknowledge(&mut f.reg, "acme", None, at(d("2026-09-02"))).unwrap();
    assert!(alerts::take_unnotified(&mut app, at(d("2026-09-02")))
        .unwrap()
        .is_empty());
}

#[test]
fn snoozing_holds_alerts_back_until_the_day_given() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-08-03")));
    let view = alerts::snooze(&mut f.reg, "acme", d("2026-10-10"), at(d("2026-08-05"))).unwrap();
    assert_eq!(view.snoozed_until, Some(d("2026-10-10")));
    assert!(open_stages(&f.reg, at(d("2026-08-05"))).is_empty());
    assert_eq!(
        states(&f.reg, at(d("2026-08-05"))),
        [(120, AlertState::Snoozed)]
    );
    assert_eq!(raise(&mut f.reg, at(d("2026-09-02"))), []);
    assert_eq!(raise(&mut f.reg, at(d("2026-10-09"))), []);
    // On the day given: 90 and 60 came due meanwhile; 60 goes out, 90 is passed.
    assert_eq!(
        raise(&mut f.reg, at(d("2026-10-10"))),
        [("acme".to_string(), 60)]
    );
    assert_eq!(
        states(&f.reg, at(d("2026-10-10"))),
        [
            (120, AlertState::Superseded),
            (90, AlertState::Passed),
            (60, AlertState::Open),
        ]
    );
    // Bad snoozes name the field and change nothing.
    for (until, now, expected) in [
        (
            "2026-10-10",
            "2026-10-10",
            "until: 2026-10-10 is not after today (2026-10-10)",
        ),
        (
            "2026-10-01",
            "2026-10-10",
            "until: 2026-10-01 is not after today",
        ),
        (
            "2027-01-01",
            "2026-10-10",
            "until: 2027-01-01 is after the contract of \"acme\" ends (2026-12-31)",
        ),
    ] {
        let err = alerts::snooze(&mut f.reg, "acme", d(until), at(d(now))).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{err}");
        assert_eq!(err.field(), Some("until"));
    }
    alerts::snooze(&mut f.reg, "acme", d("2026-10-20"), at(d("2026-10-11"))).unwrap();
    alerts::unsnooze(&mut f.reg, "acme", at(d("2026-10-12"))).unwrap();
    assert_eq!(
        open_stages(&f.reg, at(d("2026-10-12"))),
        [("acme".into(), 60)]
    );
    let err = alerts::unsnooze(&mut f.reg, "acme", at(d("2026-10-12"))).unwrap_err();
    assert!(err.to_string().contains("not snoozed"), "{err}");
    assert_eq!(
        actions(&f.reg, "acme")
            .into_iter()
            .filter(|a| a.contains("snooze"))
            .collect::<Vec<_>>(),
        ["contract.snooze", "contract.snooze", "contract.unsnooze"]
    );
}

#[test]
fn acknowledging_stops_that_stage_and_later_stages_still_come() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    let err = alerts::acknowledge(&mut f.reg, "acme", None, at(d("2026-08-01"))).unwrap_err();
    assert!(err.to_string().contains("no alert to acknowledge"), "{err}");
    raise(&mut f.reg, at(d("2026-08-03")));
    let acked = alerts::acknowledge(&mut f.reg, "acme", None, at(d("2026-08-04"))).unwrap();
    assert_eq!(acked.stage_days, 120);
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("tester"));
    assert!(open_stages(&f.reg, at(d("2026-08-04"))).is_empty());
    assert_eq!(
        raise(&mut f.reg, at(d("2026-08-20"))),
        [],
        "not raised again"
    );
    let again =
        alerts::acknowledge(&mut f.reg, "acme", Some(120), at(d("2026-08-05"))).unwrap_err();
    assert!(
        again
            .to_string()
            .contains("the 120-day alert of \"acme\" was already acknowledged by tester"),
        "{again}"
    );
    let missing =
        alerts::acknowledge(&mut f.reg, "acme", Some(60), at(d("2026-08-05"))).unwrap_err();
    assert_eq!(missing.field(), Some("stage"));
    assert!(missing.to_string().contains("raised: 120"), "{missing}");
    assert_eq!(
        raise(&mut f.reg, at(d("2026-09-02"))),
        [("acme".into(), 90)]
    );
    assert_eq!(
        open_stages(&f.reg, at(d("2026-09-02"))),
        [("acme".into(), 90)]
    );
    assert_eq!(
        states(&f.reg, at(d("2026-09-02"))),
        [(120, AlertState::Acknowledged), (90, AlertState::Open)],
        "the acknowledged stage stays in the history"
    );
    assert_eq!(
        actions(&f.reg, "acme").last().unwrap(),
        "contract.alert_ack"
    );
}

#[test]
fn marking_the_contract_renewed_stops_every_alert() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-09-02")));
    let view = alerts::renew(&mut f.reg, "acme", None, at(d("2026-09-03"))).unwrap();
    assert_eq!(view.status, ContractStatus::Renewed);
    assert!(open_stages(&f.reg, at(d("2026-09-03"))).is_empty());
    assert_eq!(
        states(&f.reg, at(d("2026-09-03"))),
        [(120, AlertState::Passed), (90, AlertState::Stopped)]
    );
    let mut day = d("2026-09-03");
    while day <= d("2026-12-31") {
        assert_eq!(raise(&mut f.reg, at(day)), [], "{day}");
        day = day + Days::new(1);
    }
    let err = alerts::renew(&mut f.reg, "acme", None, at(d("2026-09-04"))).unwrap_err();
    assert!(err.to_string().contains("already marked renewed"), "{err}");
    assert_eq!(actions(&f.reg, "acme").last().unwrap(), "contract.renew");
}

#[test]
fn renewing_with_a_new_end_starts_a_new_term_of_alerts() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-11-24")));
    for (new_end, expected) in [
        (
            "2026-12-31",
            "new_end: 2026-12-31 is not after the current end 2026-12-31",
        ),
        (
            "2026-06-30",
            "new_end: 2026-06-30 is not after the current end",
        ),
    ] {
        let err =
            alerts::renew(&mut f.reg, "acme", Some(d(new_end)), at(d("2026-11-25"))).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{err}");
    }
    let view = alerts::renew(
        &mut f.reg,
        "acme",
        Some(d("2027-12-31")),
        at(d("2026-11-25")),
    )
    .unwrap();
    assert_eq!(view.end, d("2027-12-31"));
    assert_eq!(view.notice_deadline, d("2027-12-01"));
    assert_eq!(view.status, ContractStatus::Active);
    assert_eq!(
        f.reg.contract("acme").unwrap().unwrap().end,
        d("2027-12-31")
    );
    assert!(
        open_stages(&f.reg, at(d("2026-11-25"))).is_empty(),
        "the old term's alert stopped"
    );
    assert_eq!(raise(&mut f.reg, at(d("2026-11-25"))), []);
    // The new term's first stage: 120 days before 2027-12-01.
    assert_eq!(raise(&mut f.reg, at(d("2027-08-02"))), [], "one day early");
    assert_eq!(
        raise(&mut f.reg, at(d("2027-08-03"))),
        [("acme".into(), 120)]
    );
    assert_eq!(actions(&f.reg, "acme").last().unwrap(), "contract.renew");
}

#[test]
fn terminating_stops_every_alert_until_the_end_date_moves() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-10-02")));
    let view = alerts::terminate(&mut f.reg, "acme", at(d("2026-10-03"))).unwrap();
    assert_eq!(view.status, ContractStatus::Terminated);
    assert!(open_stages(&f.reg, at(d("2026-10-03"))).is_empty());
    assert_eq!(raise(&mut f.reg, at(d("2026-11-24"))), []);
    let err = alerts::terminate(&mut f.reg, "acme", at(d("2026-10-04"))).unwrap_err();
    assert!(
        err.to_string().contains("already marked terminated"),
        "{err}"
    );
    // The contract is set again with a later end: a new, active term.
    let mut input = ContractInput::new(d("2025-01-01"), d("2027-06-30"));
    input.notice_days = 30;
    f.reg.set_contract("acme", &input).unwrap();
    let view = alerts::expiry_view(&f.reg, "acme", at(d("2026-10-04"))).unwrap();
    assert_eq!(view.status, ContractStatus::Active);
    assert_eq!(
        actions(&f.reg, "acme")
            .iter()
            .filter(|a| *a == "contract.terminate")
            .count(),
        1
    );
}

#[test]
fn custom_stages_replace_the_defaults_and_the_workspace_sets_the_default() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    contract(&mut f.reg, "beta", END, 30);
    let view = alerts::set_stages(
        &mut f.reg,
        "acme",
        Some(&Stages::parse("stages", "45,10").unwrap()),
        at(d("2026-07-01")),
    )
    .unwrap();
    assert_eq!(view.stages, [45, 10]);
    assert!(!view.stages_default);
    f.reg.set_setting("contracts.alert_stages", "100").unwrap();
    let err = f
        .reg
        .set_setting("contracts.alert_stages", "7,30")
        .unwrap_err();
    assert_eq!(err.field(), Some("contracts.alert_stages"));
    let mut seen = Vec::new();
    let mut day = d("2026-07-01");
    while day <= d(END) {
        for (partner, stage) in raise(&mut f.reg, at(day)) {
            seen.push((day.to_string(), partner, stage));
        }
        day = day + Days::new(1);
    }
    assert_eq!(
        seen,
        [
            ("2026-08-23".to_string(), "beta".to_string(), 100),
            ("2026-10-17".to_string(), "acme".to_string(), 45),
            ("2026-11-21".to_string(), "acme".to_string(), 10),
        ]
    );
    let view = alerts::set_stages(&mut f.reg, "acme", None, at(d("2026-12-01"))).unwrap();
    assert_eq!(view.stages, [100]);
    assert!(view.stages_default);
    assert_eq!(
        actions(&f.reg, "acme")
            .into_iter()
            .filter(|a| a == "contract.alert_stages")
            .count(),
        2
    );
}

#[test]
fn leap_day_deadlines_fall_on_the_right_days() {
    let mut f = fixture();
    // Ends on the leap day with 30 days' notice: deadline 2028-01-30, 7-day stage 2028-01-23.
    contract(&mut f.reg, "leap-end", "2028-02-29", 30);
    // Ends 2028-03-07 with 7 days' notice: deadline the leap day, 7-day stage 2028-02-22,
    // 30-day stage 2028-01-30.
    contract(&mut f.reg, "leap-deadline", "2028-03-07", 7);
    alerts::set_stages(
        &mut f.reg,
        "leap-end",
        Some(&Stages::parse("stages", "7").unwrap()),
        at(d("2028-01-01")),
    )
    .unwrap();
    alerts::set_stages(
        &mut f.reg,
        "leap-deadline",
        Some(&Stages::parse("stages", "30,7,1").unwrap()),
        at(d("2028-01-01")),
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut day = d("2028-01-01");
    while day <= d("2028-03-10") {
        for (partner, stage) in raise(&mut f.reg, at(day)) {
            seen.push((day.to_string(), partner, stage));
        }
        day = day + Days::new(1);
    }
    assert_eq!(
        seen,
        [
            ("2028-01-23".to_string(), "leap-end".to_string(), 7),
            ("2028-01-30".to_string(), "leap-deadline".to_string(), 30),
            ("2028-02-22".to_string(), "leap-deadline".to_string(), 7),
            ("2028-02-28".to_string(), "leap-deadline".to_string(), 1),
        ]
    );
    let view = alerts::expiry_view(&f.reg, "leap-deadline", at(d("2028-02-28"))).unwrap();
    assert_eq!(view.notice_deadline, d("2028-02-29"));
    assert_eq!(view.days_to_notice_deadline, 1);
    assert_eq!(view.days_left, 8);
}

#[test]
fn an_offboarded_partner_gets_no_alerts() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    raise(&mut f.reg, at(d("2026-08-03")));
    f.reg
        .change_lifecycle("acme", LifecycleAction::Offboard)
        .unwrap();
    assert!(open_stages(&f.reg, at(d("2026-08-04"))).is_empty());
    assert_eq!(raise(&mut f.reg, at(d("2026-11-24"))), []);
}

#[test]
fn missing_partners_and_contracts_are_named() {
    let mut f = fixture();
    let mut p = NewPartner::new("bare", PartnerKind::Http, "https://bare.example.com");
    p.owner = None;
    f.reg.add_partner(&p).unwrap();
    let now = at(d("2026-08-01"));
    let err = alerts::snooze(&mut f.reg, "nobody", d("2026-09-01"), now).unwrap_err();
    assert_eq!(err.to_string(), "no partner named \"nobody\"");
    let err = alerts::terminate(&mut f.reg, "bare", now).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("partner \"bare\" has no contract"),
        "{err}"
    );
    assert!(err.is_bad_input());
    assert!(actions(&f.reg, "bare").iter().all(|a| a == "partner.add"));
}

#[test]
fn expiring_lists_deadlines_with_the_stage_due_and_raised() {
    let mut f = fixture();
    contract(&mut f.reg, "soon", END, 30);
    contract(&mut f.reg, "later", "2027-12-31", 30);
    let now = at(d("2026-11-11"));
    raise(&mut f.reg, now);
    let rows = alerts::expiring(&f.reg, 30, now).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.partner, "soon");
    assert_eq!(r.notice_deadline, d(DEADLINE));
    assert_eq!(r.days_to_notice_deadline, 20);
    assert_eq!(r.days_left, 50);
    assert_eq!(r.stage_due, Some(30));
    assert_eq!(r.stage_raised, Some(30));
    assert_eq!(r.alert, Some(AlertState::Open));
    assert_eq!(r.status, ContractStatus::Active);
    assert_eq!(alerts::expiring(&f.reg, 400, now).unwrap().len(), 2);
}

#[test]
fn the_renewal_brief_covers_sla_incidents_and_usage_over_the_term() {
    let mut f = fixture();
    contract(&mut f.reg, "acme", END, 30);
    let id = f.reg.partner("acme").unwrap().id;
    // Healthy from 2026-09-01; one outage of exactly an hour on 2026-10-10.
    let failed = |t: &str| CheckOutcome::failed(instant(t), ErrorClass::Unreachable, "refused", 3);
    let batch: Vec<PartnerOutcome> = [
        CheckOutcome::ok(instant("2026-09-01T00:00:00Z"), 100),
        failed("2026-10-10T00:00:00Z"),
        failed("2026-10-10T00:00:30Z"),
        CheckOutcome::ok(instant("2026-10-10T01:00:00Z"), 100),
        CheckOutcome::ok(instant("2026-10-10T01:00:30Z"), 100),
    ]
    .into_iter()
    .map(|outcome| PartnerOutcome {
        partner_id: id,
        outcome,
    })
    .collect();
    HealthWriter::new(Store::open(&f.path).unwrap())
        .record(&batch)
        .unwrap();
    let now = at(d("2026-11-15"));
    let empty = alerts::renewal_brief(&f.reg, "acme", now).unwrap();
    assert!(empty.usage.is_empty(), "no usage rows: an empty series");
    // Usage: 10 a day through September, 15 a day through October, 1 on November 1.
    let conn = f.reg.store().conn();
    conn.execute(
        "INSERT INTO usage_metrics (id, name, unit, source) VALUES (1, 'ecosystem.calls', 'calls', 'ecosystem')",
        [],
    )
    .unwrap();
    let epoch = d("1970-01-01");
    let mut day = d("2026-09-01");
    while day <= d("2026-11-01") {
        let value = if day.to_string().starts_with("2026-09") {
            10.0
        } else if day.to_string().starts_with("2026-10") {
            15.0
        } else {
            1.0
        };
        conn.execute(
            "INSERT INTO usage_records (partner_id, metric_id, day, value, collected_at) VALUES (?1, 1, ?2, ?3, 0)",
            rusqlite::params![id, (day - epoch).num_days(), value],
        )
        .unwrap();
        day = day + Days::new(1);
    }
    let brief = alerts::renewal_brief(&f.reg, "acme", now).unwrap();
    assert_eq!(brief.contract.partner, "acme");
    assert_eq!(brief.measured_from, "2025-01-01T00:00:00Z");
    assert_eq!(brief.measured_until, "2026-11-15T00:00:00Z");
    // Monthly windows from January 2025 to November 2026 (to date).
    assert_eq!(brief.sla_windows.len(), 23);
    assert_eq!(brief.sla_windows[0].period, "2025-01");
    assert_eq!(brief.sla_windows[22].period, "2026-11");
    assert!(!brief.sla_windows[22].complete);
    let october = &brief.sla_windows[21];
    assert_eq!(october.period, "2026-10");
    assert_eq!(october.down_seconds, 3_600);
    assert!(!october.met, "an hour down misses 99.9 % of October");
    assert_eq!(brief.sla_windows_met, 2, "September and November so far");
    assert_eq!(brief.sla_windows_missed, 1);
    assert_eq!(brief.incidents, 1);
    assert_eq!(brief.downtime_seconds, 3_600);
    assert_eq!(brief.longest_incident_seconds, 3_600);
    assert_eq!(brief.usage.len(), 1);
    let calls = &brief.usage[0];
    assert_eq!(calls.metric, "ecosystem.calls");
    let months: Vec<(String, f64, bool)> = calls
        .months
        .iter()
        .map(|m| (m.month.clone(), m.value, m.complete))
        .collect();
    assert_eq!(
        months,
        [
            ("2026-09".to_string(), 300.0, true),
            ("2026-10".to_string(), 465.0, true),
            ("2026-11".to_string(), 1.0, false),
        ]
    );
    assert_eq!(calls.change_percent, Some(55.0));
}
