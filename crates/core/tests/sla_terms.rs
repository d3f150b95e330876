//! Per-contract SLA terms (migration 5) on real SQLite files: what is stored reads back
//! exactly, the defaults of a contract that never had terms, the fee derived from the contract
//! value, validation that names the field and writes nothing, and the terms' trip through the
//! workspace file, including a bad record named with its field.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use ecosystem_core::sla::{
    AccountingRules, CreditTier, DegradedRule, PausedRule, Percent, SlaWindow, TimeRule,
};
use ecosystem_core::sla_terms::{derived_window_fee, windows_in_term, ContractSlaTerms};
use ecosystem_core::workspace;
use ecosystem_core::*;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z")
        .expect("instant")
        .with_timezone(&Utc)
}

fn pct(text: &str) -> Percent {
    text.parse().expect("percent")
}

struct Db {
    _dir: tempfile::TempDir,
    registry: Registry,
}

/// A registry with partner `acme` under a year's contract worth 120 000.00 EUR, and partner
/// `bare` under a contract with no value.
fn db() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("ecosystem.db")).expect("open store");
    let mut registry = Registry::new(store, "tester", Arc::new(FixedClock(now())));
    for name in ["acme", "bare", "nocontract"] {
        registry
            .add_partner(&NewPartner::new(
                name,
                PartnerKind::Mlflow,
                "https://mlflow.example.com",
            ))
            .expect("add partner");
    }
    let mut contract = ContractInput::new(day("2026-01-01"), day("2027-01-01"));
    contract.value = Some("120000.00".into());
    contract.currency = Some("EUR".into());
    registry
        .set_contract("acme", &contract)
        .expect("acme contract");
    registry
        .set_contract(
            "bare",
            &ContractInput::new(day("2026-01-01"), day("2027-01-01")),
        )
        .expect("bare contract");
    Db {
        _dir: dir,
        registry,
    }
}

fn berlin_quarter() -> ContractSlaTerms {
    ContractSlaTerms {
        window: SlaWindow::CalendarQuarter,
        time_zone: Tz::Europe__Berlin,
        rules: AccountingRules {
            maintenance: TimeRule::AsDown,
            degraded: DegradedRule::AsDown,
            unknown: TimeRule::AsUp,
            paused: PausedRule::LikeMaintenance,
        },
        credits: vec![
            CreditTier {
                below_percent: pct("99.9"),
                credit_percent: pct("10"),
            },
            CreditTier {
                below_percent: pct("99"),
                credit_percent: pct("25"),
            },
        ],
        fee_minor: Some(2_500_050),
    }
}

fn audit_actions(registry: &Registry) -> Vec<String> {
    registry
        .audit_log(None, 100)
        .expect("audit log")
        .into_iter()
        .map(|a| a.action)
        .collect()
}

#[test]
fn terms_that_are_set_read_back_exactly_with_an_audit_row() {
    let mut db = db();
    let terms = berlin_quarter();
    let resolved = db
        .registry
        .set_sla_terms("acme", &terms)
        .expect("set terms");
    assert_eq!(
        db.registry.sla_terms("acme").expect("read terms"),
        Some(terms.clone()),
        "the stored terms read back as set"
    );
    assert_eq!(resolved.window, SlaWindow::CalendarQuarter, "window");
    assert_eq!(resolved.time_zone, Tz::Europe__Berlin, "time zone");
    assert_eq!(resolved.rules, terms.rules, "rules");
    assert_eq!(resolved.credits, terms.credits, "credits");
    assert_eq!(
        resolved.window_fee_minor, 2_500_050,
        "the fee set, not derived"
    );
    assert_eq!(resolved.currency, "EUR", "the contract's currency");
    assert_eq!(
        resolved.target_percent,
        pct("99.9"),
        "the contract's sla_target"
    );
    let audit = db.registry.audit_log(Some("acme"), 1).expect("audit");
    assert_eq!(audit[0].action, "contract.sla_terms", "audited: {audit:?}");
    let detail = audit[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("Europe/Berlin"),
        "the audit row carries the terms: {detail}"
    );
}

#[test]
fn setting_the_same_terms_again_writes_no_second_audit_row() {
    let mut db = db();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set");
    let before = audit_actions(&db.registry).len();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set again");
    assert_eq!(
        audit_actions(&db.registry).len(),
        before,
        "an unchanged write is not audited"
    );
}

#[test]
fn replacing_the_contract_keeps_its_terms() {
    let mut db = db();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set");
    let mut contract = ContractInput::new(day("2026-01-01"), day("2028-01-01"));
    contract.sla_target = 99.95;
    contract.value = Some("240000.00".into());
    contract.currency = Some("EUR".into());
    db.registry
        .set_contract("acme", &contract)
        .expect("replace contract");
    assert_eq!(
        db.registry.sla_terms("acme").expect("read"),
        Some(berlin_quarter()),
        "the terms survive a new contract text"
    );
    let resolved = db
        .registry
        .resolved_sla_terms("acme")
        .expect("resolve")
        .expect("has a contract");
    assert_eq!(resolved.target_percent, pct("99.95"), "the new target");
}

#[test]
fn terms_go_with_their_partner_and_a_new_contract_starts_from_the_defaults() {
    let mut db = db();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set");
    db.registry.remove_partner("acme").expect("remove");
    db.registry
        .add_partner(&NewPartner::new(
            "acme",
            PartnerKind::Mlflow,
            "https://mlflow.example.com",
        ))
        .expect("add again");
    db.registry
        .set_contract(
            "acme",
            &ContractInput::new(day("2026-01-01"), day("2027-01-01")),
        )
        .expect("new contract");
    assert_eq!(
        db.registry.sla_terms("acme").expect("read"),
        Some(ContractSlaTerms::default()),
        "the old terms were removed with the old contract"
    );
}

#[test]
fn a_contract_that_never_had_terms_has_the_defaults() {
    let db = db();
    let terms = db
        .registry
        .sla_terms("acme")
        .expect("read")
        .expect("acme has a contract");
    assert_eq!(terms, ContractSlaTerms::default(), "defaults when unset");
    assert_eq!(terms.window, SlaWindow::CalendarMonth, "monthly");
    assert_eq!(terms.time_zone, Tz::UTC, "UTC");
    assert_eq!(
        terms.rules,
        AccountingRules {
            maintenance: TimeRule::Excluded,
            degraded: DegradedRule::AsUp,
            unknown: TimeRule::Excluded,
            paused: PausedRule::Excluded,
        },
        "maintenance excluded, degraded up, unknown excluded, paused excluded"
    );
    assert!(terms.credits.is_empty(), "no credit tiers");
    assert_eq!(terms.fee_minor, None, "fee derived");
    let resolved = db
        .registry
        .resolved_sla_terms("acme")
        .expect("resolve")
        .expect("has a contract");
    assert_eq!(
        resolved.window_fee_minor, 1_000_000,
        "120 000.00 EUR over 12 months is 10 000.00 a month"
    );
    let bare = db
        .registry
        .resolved_sla_terms("bare")
        .expect("resolve")
        .expect("has a contract");
    assert_eq!(bare.window_fee_minor, 0, "no value, no fee");
    assert_eq!(bare.currency, "XXX", "ISO 4217's no-currency code");
    assert_eq!(
        db.registry.sla_terms("nocontract").expect("read"),
        None,
        "no contract, no terms"
    );
}

#[test]
fn the_derived_fee_spreads_the_value_over_the_terms_months_or_quarters() {
    let mut db = db();
    let quarterly = ContractSlaTerms {
        window: SlaWindow::CalendarQuarter,
        ..ContractSlaTerms::default()
    };
    let resolved = db
        .registry
        .set_sla_terms("acme", &quarterly)
        .expect("set quarterly");
    assert_eq!(
        resolved.window_fee_minor, 3_000_000,
        "120 000.00 over 4 quarters"
    );
    let month = SlaWindow::CalendarMonth;
    let quarter = SlaWindow::CalendarQuarter;
    assert_eq!(
        windows_in_term(day("2026-01-01"), day("2026-12-31"), month),
        12,
        "an inclusive year is 12 months"
    );
    assert_eq!(
        windows_in_term(day("2026-01-01"), day("2026-03-31"), month),
        3,
        "89 days round to 3 months"
    );
    assert_eq!(
        windows_in_term(day("2026-01-01"), day("2026-01-05"), quarter),
        1,
        "a short term is at least one window"
    );
    assert_eq!(
        windows_in_term(day("2026-01-01"), day("2028-01-01"), quarter),
        8,
        "two years are 8 quarters"
    );
    assert_eq!(
        derived_window_fee(10_000, day("2026-01-01"), day("2026-04-01"), month),
        3_333,
        "100.00 over 3 months is 33.33 (33.333... rounded)"
    );
    assert_eq!(
        derived_window_fee(5, day("2026-01-01"), day("2026-03-01"), month),
        3,
        "0.05 over 2 months is 0.025, rounded half up to 0.03"
    );
}

#[test]
fn invalid_terms_are_refused_naming_the_field_and_nothing_is_written() {
    let mut db = db();
    let before = audit_actions(&db.registry).len();
    let zero_tier = ContractSlaTerms {
        credits: vec![CreditTier {
            below_percent: Percent::ZERO,
            credit_percent: pct("10"),
        }],
        ..ContractSlaTerms::default()
    };
    let cases: [(&str, ContractSlaTerms, &str); 3] = [
        ("acme", zero_tier, "credits[0]: "),
        (
            "acme",
            ContractSlaTerms {
                fee_minor: Some(-1),
                ..ContractSlaTerms::default()
            },
            "fee: ",
        ),
        (
            "bare",
            ContractSlaTerms {
                fee_minor: Some(100_000),
                ..ContractSlaTerms::default()
            },
            "fee: the contract has no value and currency",
        ),
    ];
    for (partner, terms, expected) in cases {
        let err = db
            .registry
            .set_sla_terms(partner, &terms)
            .expect_err("invalid terms must be refused");
        assert!(err.is_bad_input(), "{err} is the caller's mistake");
        assert!(
            err.to_string().starts_with(expected),
            "{err:?} should start with {expected:?}"
        );
    }
    let err = db
        .registry
        .set_sla_terms("nocontract", &ContractSlaTerms::default())
        .expect_err("no contract");
    assert!(
        err.to_string().contains("has no contract"),
        "names the missing contract: {err}"
    );
    let err = db
        .registry
        .set_sla_terms("ghost", &ContractSlaTerms::default())
        .expect_err("no partner");
    assert!(err.is_bad_input(), "an unknown partner is bad input: {err}");
    assert_eq!(
        audit_actions(&db.registry).len(),
        before,
        "nothing was audited"
    );
    assert_eq!(
        db.registry.sla_terms("acme").expect("read"),
        Some(ContractSlaTerms::default()),
        "nothing was stored"
    );
}

#[test]
fn terms_survive_a_workspace_export_and_import() {
    let mut db = db();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set");
    let doc = workspace::export(&db.registry).expect("export");
    let json = serde_json::to_string_pretty(&doc).expect("json");
    let acme = doc
        .contracts
        .iter()
        .find(|c| c.partner == "acme")
        .expect("acme exported");
    let sla = acme.sla.as_ref().expect("acme's terms are exported");
    assert_eq!(sla.window, "calendar_quarter", "window word");
    assert_eq!(sla.fee.as_deref(), Some("25000.50"), "fee as a decimal");
    let bare = doc
        .contracts
        .iter()
        .find(|c| c.partner == "bare")
        .expect("bare exported");
    assert!(bare.sla.is_none(), "default terms are left out of the file");

    let mut other = self::db();
    let parsed = workspace::parse("w.json", json.as_bytes()).expect("parse");
    workspace::import(&mut other.registry, "w.json", &parsed).expect("import");
    assert_eq!(
        other.registry.sla_terms("acme").expect("read"),
        Some(berlin_quarter()),
        "the imported terms equal the exported ones"
    );
    assert_eq!(
        other.registry.sla_terms("bare").expect("read"),
        Some(ContractSlaTerms::default()),
        "a contract without `sla` has the defaults"
    );
}

#[test]
fn a_contract_imported_without_terms_goes_back_to_the_defaults() {
    let mut db = db();
    db.registry
        .set_sla_terms("acme", &berlin_quarter())
        .expect("set");
    let file = r#"{"format": "ecosystem-workspace", "version": 1,
        "contracts": [{"partner": "acme", "start": "2026-01-01", "end": "2027-01-01",
                       "value": "120000.00", "currency": "EUR"}]}"#;
    let doc = workspace::parse("w.json", file.as_bytes()).expect("parse");
    workspace::import(&mut db.registry, "w.json", &doc).expect("import");
    assert_eq!(
        db.registry.sla_terms("acme").expect("read"),
        Some(ContractSlaTerms::default()),
        "the file is the truth"
    );
}

#[test]
fn a_bad_sla_record_is_named_with_its_field_and_nothing_is_imported() {
    let mut db = db();
    let file = r#"{"format": "ecosystem-workspace", "version": 1,
        "contracts": [
          {"partner": "acme", "start": "2026-01-01", "end": "2027-01-01",
           "value": "120000.00", "currency": "EUR",
           "sla": {"window": "calendar_quarter", "rules": {"maintenance": "sometimes"}}},
          {"partner": "bare", "start": "2026-01-01", "end": "2027-01-01",
           "sla": {"time_zone": "Mars/Olympus_Mons"}},
          {"partner": "nocontract", "start": "2026-01-01", "end": "2027-01-01",
           "sla": {"credits": [{"below_percent": 99.12345, "credit_percent": 10}]}}
        ]}"#;
    let doc = workspace::parse("bad.json", file.as_bytes()).expect("parse");
    let err = workspace::import(&mut db.registry, "bad.json", &doc).expect_err("bad records");
    let text = err.to_string();
    assert!(err.is_bad_input(), "bad records are bad input: {text}");
    for expected in [
        "3 invalid record(s)",
        r#"contracts[0] "acme": sla.rules.maintenance: "sometimes" is not one of"#,
        r#"contracts[1] "bare": sla.time_zone: "Mars/Olympus_Mons" is not an IANA time zone"#,
        r#"contracts[2] "nocontract": sla.credits[0].below_percent: "#,
    ] {
        assert!(text.contains(expected), "{text} should contain {expected}");
    }
    assert_eq!(
        db.registry.sla_terms("acme").expect("read"),
        Some(ContractSlaTerms::default()),
        "nothing was imported"
    );
    assert_eq!(
        db.registry.sla_terms("nocontract").expect("read"),
        None,
        "no contract was created"
    );

    let fee_without_currency = r#"{"format": "ecosystem-workspace", "version": 1,
        "contracts": [{"partner": "bare", "start": "2026-01-01", "end": "2027-01-01",
                       "sla": {"fee": "100.00"}}]}"#;
    let doc = workspace::parse("fee.json", fee_without_currency.as_bytes()).expect("parse");
    let err = workspace::import(&mut db.registry, "fee.json", &doc).expect_err("fee refused");
    assert!(
        err.to_string()
            .contains(r#"contracts[0] "bare": sla.fee: the contract has no value and currency"#),
        "names the fee: {err}"
    );
}
