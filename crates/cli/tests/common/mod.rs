//! What the CLI tests that seed a temporary database share: instants written as RFC 3339, the
//! partners, contracts and outage they seed through the core API, and the real `ecosystem`
//! binary run on that database (as user `ada`, ignoring `ECOSYSTEM_DB`).

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use ecosystem_core::health::CheckOutcome;
use ecosystem_core::health_store::{HealthWriter, PartnerOutcome, PartnerTransition};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::{ContractInput, NewPartner, PartnerKind, Registry, Store, Tier};
use serde_json::Value;

/// The instant `text` (RFC 3339) names; panics naming the text when it is not one.
pub fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// Runs `ecosystem --db DB ARGS`.
pub fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("USER", "ada")
        .env_remove("ECOSYSTEM_DB")
        .output()
        .expect("run ecosystem")
}

/// Runs and expects success; returns stdout.
pub fn ok(db: &Path, args: &[&str]) -> String {
    succeeded(run(db, args), args)
}

/// The stdout of `ecosystem ARGS`, which must have succeeded (else its stderr is shown).
pub fn succeeded(out: Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "`ecosystem {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs, expects success, and parses stdout as JSON.
pub fn json(db: &Path, args: &[&str]) -> Value {
    let out = ok(db, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Adds each of `names` as a strategic partner (down at the 2nd failure, back at the 2nd
/// success) of `kind` at `endpoint`; returns their ids in order.
pub fn add_strategic(
    registry: &mut Registry,
    names: &[&str],
    kind: PartnerKind,
    endpoint: &str,
) -> Vec<u32> {
    names
        .iter()
        .map(|name| {
            let mut p = NewPartner::new(*name, kind, endpoint);
            p.tier = Tier::Strategic;
            registry.add_partner(&p).expect("add partner").id
        })
        .collect()
}

/// Gives each of `names` a contract for 2025 worth 120 000.00 EUR (10 000.00 a month).
pub fn contract_2025(registry: &mut Registry, names: &[&str]) {
    for name in names {
        let mut contract = ContractInput::new(
            "2025-01-01".parse().expect("date"),
            "2026-01-01".parse().expect("date"),
        );
        contract.value = Some("120000.00".into());
        contract.currency = Some("EUR".into());
        registry.set_contract(name, &contract).expect("contract");
    }
}

/// Records checks in the database at `db`: `ids[0]` healthy from `since`, failing at 2025-04-10
/// 00:00:00 and 00:00:30 (down at 00:00:30), passing at 01:00:00 and 01:00:30 (back at
/// 01:00:30): one outage of exactly 3 600 s for a strategic partner. The other partners are
/// healthy from `since`. Returns the transitions recorded.
pub fn record_one_hour_outage(db: &Path, ids: &[u32], since: &str) -> Vec<PartnerTransition> {
    let failed = |at: &str| CheckOutcome::failed(t(at), ErrorClass::Unreachable, "refused", 3);
    let mut batch = Vec::new();
    for outcome in [
        CheckOutcome::ok(t(since), 120),
        failed("2025-04-10T00:00:00Z"),
        failed("2025-04-10T00:00:30Z"),
        CheckOutcome::ok(t("2025-04-10T01:00:00Z"), 130),
        CheckOutcome::ok(t("2025-04-10T01:00:30Z"), 140),
    ] {
        batch.push(PartnerOutcome {
            partner_id: ids[0],
            outcome,
        });
    }
    for &partner_id in &ids[1..] {
        batch.push(PartnerOutcome {
            partner_id,
            outcome: CheckOutcome::ok(t(since), 100),
        });
    }
    let mut writer = HealthWriter::new(Store::open(db).expect("open writer"));
    writer.record(&batch).expect("record")
}
