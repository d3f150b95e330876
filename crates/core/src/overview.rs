//! The workspace at a glance, for the app's Overview page: how many partners are in each
//! health state, which are unhealthy or degraded now (and since when), whose SLA is at risk or
//! breached in its current window, which contracts need a decision (an open expiry alert or a
//! notice deadline within [`DECISION_HORIZON_DAYS`] days), and the latest health changes.
//!
//! Everything is read from the registry's connection in a handful of queries whatever the
//! number of partners: the states in one (`HealthHistory::overview`), the contracts with SLA
//! terms in one, the transitions of every current SLA window in one, the contract alerts
//! through `contract_alerts`. The SLA figures are those of `sla::current_status` (same
//! `SlaReport::for_period`, same terms), computed for all partners at once. `ecosystem bench
//! overview` measures it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::params;
use serde::Serialize;

use crate::contract_alerts::{self, AlertState, ContractStatus};
use crate::error::Result;
use crate::health_state::HealthState;
use crate::health_store::HealthHistory;
use crate::registry::Registry;
use crate::sla::{SlaHealth, SlaPeriod, SlaReport, Transition};

/// A contract whose notice deadline is at most this many days away needs a decision.
pub const DECISION_HORIZON_DAYS: u32 = 30;
/// At most this many rows in each list (the totals say how many there are).
pub const LIST_LIMIT: usize = 50;
/// How many of the latest health changes are shown.
pub const RECENT_CHANGES: u32 = 10;

/// How many partners are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StateCount {
    pub state: HealthState,
    pub count: u32,
}

/// A partner that is unhealthy or degraded now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttentionPartner {
    pub partner: String,
    pub state: HealthState,
    /// When the state began (RFC 3339, UTC).
    pub since: Option<String>,
    pub reason: Option<String>,
}

/// A partner whose contract's SLA is at risk or breached in the window holding now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlaRisk {
    pub partner: String,
    /// `at_risk` or `breached`.
    pub health: SlaHealth,
    /// "November 2026" or "2026-Q4".
    pub window_label: String,
    pub target_percent: f64,
    pub attained_percent: Option<f64>,
    /// Error budget left so far, in seconds; negative when breached.
    pub budget_left_seconds: i32,
}

/// A contract waiting for someone to decide: renew, terminate or let it run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContractDecision {
    pub partner: String,
    pub owner: Option<String>,
    /// The last day notice can be given (YYYY-MM-DD).
    pub notice_deadline: String,
    /// Days from today (UTC); negative once passed.
    pub days_to_notice_deadline: i32,
    /// The end of the term (YYYY-MM-DD).
    pub end: String,
    pub auto_renew: bool,
    /// The stage of the open alert, when one is open.
    pub open_alert_stage: Option<u32>,
}

/// One recorded change of a partner's health state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecentHealthChange {
    pub id: i32,
    pub partner: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub from: HealthState,
    pub to: HealthState,
    pub reason: String,
}

/// The Overview page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Overview {
    /// When it was computed (RFC 3339, UTC).
    pub at: String,
    pub partner_count: u32,
    /// One entry per state, in `HealthState::ALL` order, zeros included.
    pub counts: Vec<StateCount>,
    /// Unhealthy partners first, then degraded; the longest-running first within each.
    pub attention: Vec<AttentionPartner>,
    pub attention_total: u32,
    /// Breached first, then at risk; the least budget left first within each.
    pub sla_at_risk: Vec<SlaRisk>,
    pub sla_at_risk_total: u32,
    /// Soonest notice deadline first.
    pub decisions: Vec<ContractDecision>,
    pub decisions_total: u32,
    /// Newest first.
    pub recent_changes: Vec<RecentHealthChange>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The overview at the registry clock's now.
pub fn overview(registry: &Registry) -> Result<Overview> {
    let now = registry.clock().now();
    let conn = registry.store().conn();
    let history = HealthHistory::new(conn);

    let badges = history.overview()?;
    let mut counts: Vec<StateCount> = HealthState::ALL
        .iter()
        .map(|&state| StateCount { state, count: 0 })
        .collect();
    for badge in &badges {
        if let Some(c) = counts.iter_mut().find(|c| c.state == badge.state) {
            c.count += 1;
        }
    }
    let mut attention: Vec<AttentionPartner> = badges
        .iter()
        .filter(|b| matches!(b.state, HealthState::Unhealthy | HealthState::Degraded))
        .map(|b| AttentionPartner {
            partner: b.partner.clone(),
            state: b.state,
            since: b.since.clone(),
            reason: b.reason.clone(),
        })
        .collect();
    // RFC 3339 UTC text of one format sorts as time.
    attention.sort_by(|a, b| {
        (a.state != HealthState::Unhealthy, &a.since, &a.partner).cmp(&(
            b.state != HealthState::Unhealthy,
            &b.since,
            &b.partner,
        ))
    });
    let attention_total = count_u32(attention.len());
    attention.truncate(LIST_LIMIT);

    let mut sla_at_risk = sla_risks(registry, now)?;
    let sla_at_risk_total = count_u32(sla_at_risk.len());
    sla_at_risk.truncate(LIST_LIMIT);

    let mut decisions = decisions(registry, now)?;
    let decisions_total = count_u32(decisions.len());
    decisions.truncate(LIST_LIMIT);

    Ok(Overview {
        at: rfc3339(now),
        partner_count: count_u32(badges.len()),
        counts,
        attention,
        attention_total,
        sla_at_risk,
        sla_at_risk_total,
        decisions,
        decisions_total,
        recent_changes: recent_changes(registry, RECENT_CHANGES)?,
    })
}

/// The latest `limit` health changes of any partner, newest first.
pub fn recent_changes(registry: &Registry, limit: u32) -> Result<Vec<RecentHealthChange>> {
    let mut stmt = registry.store().conn().prepare_cached(
        "SELECT t.id, t.at, t.from_state, t.to_state, t.reason, p.name
         FROM health_transitions t JOIN partners p ON p.id = t.partner_id
         ORDER BY t.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    rows.map(|row| {
        let (id, at, from, to, reason, partner) = row?;
        Ok(RecentHealthChange {
            id: clamp_i32(id),
            partner,
            at: rfc3339(DateTime::from_timestamp(at, 0).unwrap_or_default()),
            from: HealthState::parse_field("from_state", &from)?,
            to: HealthState::parse_field("to_state", &to)?,
            reason,
        })
    })
    .collect()
}

/// Every partner whose SLA is at risk or breached in its current window, as
/// `sla::current_status` would say, with the transitions of all windows read in one query.
fn sla_risks(registry: &Registry, now: DateTime<Utc>) -> Result<Vec<SlaRisk>> {
    let terms = registry.all_resolved_sla_terms()?;
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // Each partner's window, and the earliest start of all (one range read covers them).
    let windows: Vec<_> = terms
        .into_iter()
        .map(|(id, name, terms)| {
            let period = SlaPeriod::containing(terms.window, terms.time_zone, now);
            let (start, _) = period.bounds(terms.time_zone);
            (id, name, terms, period, start)
        })
        .collect();
    let earliest = windows.iter().map(|w| w.4).min().unwrap_or(now);
    let mut by_partner: HashMap<u32, Vec<(i64, HealthState)>> = HashMap::new();
    let conn = registry.store().conn();
    // The state in force at the earliest start (the last transition at or before it), then
    // every transition after it, per partner, oldest first: index seeks per partner.
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, t.at, t.id, t.to_state FROM partners p
         JOIN health_transitions t ON t.id = (
             SELECT id FROM health_transitions WHERE partner_id = p.id AND at <= ?1
             ORDER BY at DESC, id DESC LIMIT 1)
         UNION ALL
         SELECT p.id, t.at, t.id, t.to_state FROM partners p
         JOIN health_transitions t ON t.partner_id = p.id AND t.at > ?1 AND t.at <= ?2
         ORDER BY 1, 2, 3",
    )?;
    let rows = stmt.query_map(params![earliest.timestamp(), now.timestamp()], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (id, at, state) = row?;
        by_partner
            .entry(id)
            .or_default()
            .push((at, HealthState::parse_field("to_state", &state)?));
    }
    let mut risks = Vec::new();
    for (id, partner, terms, period, start) in windows {
        let all = by_partner.get(&id).map(Vec::as_slice).unwrap_or_default();
        // As `current_status`: the last transition at or before the window's start, then the
        // ones after it.
        let first = all.partition_point(|(at, _)| *at <= start.timestamp());
        let from = first.saturating_sub(1);
        let transitions: Vec<Transition> = all[from..]
            .iter()
            .map(|&(at, state)| {
                Transition::new(DateTime::from_timestamp(at, 0).unwrap_or_default(), state)
            })
            .collect();
        let report = SlaReport::for_period(period, &terms, &transitions, now)?;
        let health = SlaHealth::of(&report);
        if matches!(health, SlaHealth::AtRisk | SlaHealth::Breached) {
            risks.push(SlaRisk {
                partner,
                health,
                window_label: period.label(),
                target_percent: report.target_percent,
                attained_percent: report.attained_percent,
                budget_left_seconds: clamp_i32(report.budget_left_seconds),
            });
        }
    }
    risks.sort_by(|a, b| {
        (
            a.health != SlaHealth::Breached,
            a.budget_left_seconds,
            &a.partner,
        )
            .cmp(&(
                b.health != SlaHealth::Breached,
                b.budget_left_seconds,
                &b.partner,
            ))
    });
    Ok(risks)
}

/// Active contracts whose notice deadline is within [`DECISION_HORIZON_DAYS`] days (or has
/// passed without the contract ending), and every contract with an open alert.
fn decisions(registry: &Registry, now: DateTime<Utc>) -> Result<Vec<ContractDecision>> {
    let mut by_partner: BTreeMap<String, ContractDecision> = BTreeMap::new();
    for view in contract_alerts::expiring(registry, DECISION_HORIZON_DAYS, now)? {
        if view.status != ContractStatus::Active {
            continue;
        }
        by_partner.insert(
            view.partner.clone(),
            ContractDecision {
                partner: view.partner,
                owner: view.owner,
                notice_deadline: view.notice_deadline.to_string(),
                days_to_notice_deadline: clamp_i32(view.days_to_notice_deadline),
                end: view.end.to_string(),
                auto_renew: view.auto_renew,
                open_alert_stage: None,
            },
        );
    }
    for alert in contract_alerts::list_alerts(registry, now, false)? {
        if alert.state != AlertState::Open {
            continue;
        }
        let entry = by_partner
            .entry(alert.partner.clone())
            .or_insert_with(|| ContractDecision {
                partner: alert.partner.clone(),
                owner: alert.owner.clone(),
                notice_deadline: alert.notice_deadline.to_string(),
                days_to_notice_deadline: clamp_i32(alert.days_to_notice_deadline),
                end: alert.end.to_string(),
                auto_renew: alert.auto_renew,
                open_alert_stage: None,
            });
        let stage = entry
            .open_alert_stage
            .map_or(alert.stage_days, |s| s.min(alert.stage_days));
        entry.open_alert_stage = Some(stage);
    }
    let mut list: Vec<ContractDecision> = by_partner.into_values().collect();
    list.sort_by(|a, b| (&a.notice_deadline, &a.partner).cmp(&(&b.notice_deadline, &b.partner)));
    Ok(list)
}

#[cfg(test)]
mod tests {
    //! The overview read from a registry on a real SQLite file with a fixed clock, the health
    //! written through the real `HealthWriter`, and each SLA figure checked against
    //! `sla::current_status` for the same partner.

    use std::sync::Arc;

    use chrono::NaiveDate;

    use super::*;
    use crate::health::CheckOutcome;
    use crate::health_store::{HealthWriter, PartnerOutcome};
    use crate::integration::ErrorClass;
    use crate::sla::current_status;
    use crate::sla_terms::ContractSlaTerms;
    use crate::{ContractInput, FixedClock, NewPartner, PartnerKind, Store, Tier};

    const NOW: &str = "2026-11-26T12:00:00Z";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        registry: Registry,
        writer: HealthWriter,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ecosystem.db");
            let registry = Registry::new(
                Store::open(&path).unwrap(),
                "tester",
                Arc::new(FixedClock(at(NOW))),
            );
            let writer = HealthWriter::new(Store::open(&path).unwrap());
            Fixture {
                _dir: dir,
                registry,
                writer,
            }
        }

        /// A strategic partner: down at the 2nd failure, back at the 2nd success.
        fn partner(&mut self, name: &str) -> u32 {
            let mut partner = NewPartner::new(name, PartnerKind::Mlflow, "https://mlflow.test");
            partner.tier = Tier::Strategic;
            self.registry.add_partner(&partner).unwrap().id
        }

        fn check(&mut self, id: u32, outcome: &str, when: &str) {
            let outcome = match outcome {
                "ok" => CheckOutcome::ok(at(when), 120),
                "slow" => CheckOutcome::ok(at(when), 120_000),
                _ => CheckOutcome::failed(at(when), ErrorClass::TimedOut, "no answer", 2_000),
            };
            self.writer
                .record(&[PartnerOutcome {
                    partner_id: id,
                    outcome,
                }])
                .unwrap();
        }

        fn contract(&mut self, name: &str, start: &str, end: &str, notice_days: u32) {
            let mut input = ContractInput::new(day(start), day(end));
            input.notice_days = notice_days;
            self.registry.set_contract(name, &input).unwrap();
            self.registry
                .set_sla_terms(name, &ContractSlaTerms::default())
                .unwrap();
        }

        fn overview(&self) -> Overview {
            overview(&self.registry).unwrap()
        }
    }

    fn count(o: &Overview, state: HealthState) -> u32 {
        o.counts.iter().find(|c| c.state == state).unwrap().count
    }

    #[test]
    fn an_empty_workspace_has_every_state_at_zero_and_nothing_to_do() {
        let fixture = Fixture::new();
        let o = fixture.overview();
        assert_eq!(o.at, NOW);
        assert_eq!(o.partner_count, 0);
        assert_eq!(o.counts.len(), HealthState::ALL.len());
        assert!(o.counts.iter().all(|c| c.count == 0));
        assert!(o.attention.is_empty() && o.sla_at_risk.is_empty() && o.decisions.is_empty());
        assert!(o.recent_changes.is_empty());
    }

    #[test]
    fn states_are_counted_and_the_unhealthy_come_before_the_degraded_longest_first() {
        let mut f = Fixture::new();
        let fine = f.partner("Fine");
        let down_late = f.partner("Down late");
        let down_early = f.partner("Down early");
        let slow = f.partner("Slow");
        f.partner("Never checked");
        f.check(fine, "ok", "2026-11-26T10:00:00Z");
        for (id, start) in [
            (down_late, "2026-11-26T11:00"),
            (down_early, "2026-11-26T09:00"),
        ] {
            f.check(id, "ok", &format!("{start}:00Z"));
            f.check(id, "fail", &format!("{start}:10Z"));
            f.check(id, "fail", &format!("{start}:20Z"));
        }
        f.check(slow, "slow", "2026-11-26T10:30:00Z");

        let o = f.overview();
        assert_eq!(o.partner_count, 5);
        assert_eq!(count(&o, HealthState::Healthy), 1);
        assert_eq!(count(&o, HealthState::Unhealthy), 2);
        assert_eq!(count(&o, HealthState::Degraded), 1);
        assert_eq!(count(&o, HealthState::Unknown), 1);
        let listed: Vec<(&str, HealthState, Option<&str>)> = o
            .attention
            .iter()
            .map(|a| (a.partner.as_str(), a.state, a.since.as_deref()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    "Down early",
                    HealthState::Unhealthy,
                    Some("2026-11-26T09:00:20+00:00")
                ),
                (
                    "Down late",
                    HealthState::Unhealthy,
                    Some("2026-11-26T11:00:20+00:00")
                ),
                (
                    "Slow",
                    HealthState::Degraded,
                    Some("2026-11-26T10:30:00+00:00")
                ),
            ]
        );
        assert_eq!(o.attention_total, 3);

        // The latest changes, newest recorded first.
        let changes: Vec<(&str, HealthState, HealthState)> = o
            .recent_changes
            .iter()
            .map(|c| (c.partner.as_str(), c.from, c.to))
            .collect();
        assert_eq!(
            changes[..3],
            [
                ("Slow", HealthState::Unknown, HealthState::Degraded),
                ("Down early", HealthState::Healthy, HealthState::Unhealthy),
                ("Down early", HealthState::Unknown, HealthState::Healthy),
            ]
        );
        assert_eq!(o.recent_changes[0].at, "2026-11-26T10:30:00Z");
        assert!(o.recent_changes.windows(2).all(|w| w[0].id > w[1].id));
    }

    #[test]
    fn sla_risks_are_those_current_status_reports_breached_first() {
        let mut f = Fixture::new();
        let names = ["Met", "At risk", "Breached", "No data"];
        let ids: Vec<u32> = names.iter().map(|n| f.partner(n)).collect();
        for name in names {
            f.contract(name, "2026-01-01", "2027-01-01", 30);
        }
        // Everyone but "No data" healthy since before November (in force at the start).
        for &id in &ids[..3] {
            f.check(id, "ok", "2026-10-20T00:00:00Z");
        }
        // 99.9 % of 2 203 200 s leaves 2 203 s: 31 min down is at risk, 50 min breached.
        for (id, minutes) in [(ids[1], 31), (ids[2], 50)] {
            f.check(id, "fail", "2026-11-10T00:00:00Z");
            f.check(id, "fail", "2026-11-10T00:01:00Z");
            f.check(id, "ok", &format!("2026-11-10T00:{:02}:00Z", minutes));
            f.check(id, "ok", &format!("2026-11-10T00:{:02}:00Z", minutes + 1));
        }

        let o = f.overview();
        let listed: Vec<(&str, SlaHealth)> = o
            .sla_at_risk
            .iter()
            .map(|r| (r.partner.as_str(), r.health))
            .collect();
        assert_eq!(
            listed,
            [
                ("Breached", SlaHealth::Breached),
                ("At risk", SlaHealth::AtRisk)
            ]
        );
        assert_eq!(o.sla_at_risk_total, 2);
        for risk in &o.sla_at_risk {
            let status = current_status(&f.registry, &risk.partner).unwrap().unwrap();
            assert_eq!(risk.health, status.health);
            assert_eq!(risk.window_label, status.window_label);
            assert_eq!(risk.attained_percent, status.attained_percent);
            assert_eq!(
                i64::from(risk.budget_left_seconds),
                status.budget_left_seconds
            );
        }
        assert_eq!(o.sla_at_risk[1].budget_left_seconds, 343);
        for name in ["Met", "No data"] {
            let status = current_status(&f.registry, name).unwrap().unwrap();
            assert!(matches!(status.health, SlaHealth::Met | SlaHealth::NoData));
        }
    }

    #[test]
    fn contracts_near_their_notice_deadline_or_with_an_open_alert_need_a_decision() {
        let mut f = Fixture::new();
        for name in ["Soon", "Alerted", "Far", "Renewed"] {
            f.partner(name);
        }
        // Deadline 2026-12-10 (14 days): within the horizon.
        f.contract("Soon", "2026-01-01", "2027-01-09", 30);
        // Deadline 2027-02-20 (86 days): only its open 90-day alert brings it in.
        f.contract("Alerted", "2026-01-01", "2027-03-22", 30);
        // Deadline 2027-06-01: nothing due.
        f.contract("Far", "2026-01-01", "2027-07-01", 30);
        // Within the horizon but already decided.
        f.contract("Renewed", "2026-01-01", "2027-01-05", 30);
        contract_alerts::renew(&mut f.registry, "Renewed", None, at(NOW)).unwrap();
        contract_alerts::raise_due(&mut f.registry, at(NOW)).unwrap();

        let o = f.overview();
        let listed: Vec<(&str, &str, i32, Option<u32>)> = o
            .decisions
            .iter()
            .map(|d| {
                (
                    d.partner.as_str(),
                    d.notice_deadline.as_str(),
                    d.days_to_notice_deadline,
                    d.open_alert_stage,
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("Soon", "2026-12-10", 14, Some(30)),
                ("Alerted", "2027-02-20", 86, Some(90)),
            ]
        );
        assert_eq!(o.decisions_total, 2);
    }
}
