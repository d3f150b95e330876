//! Contract expiry alerts (docs/CONTRACT-ALERTS.md): stages before each contract's notice
//! deadline, raised once each, acknowledged, snoozed, and stopped by renewal or termination;
//! plus the renewal brief shown beside an alert.
//!
//! **Days.** The notice deadline is the contract's end date minus its notice days: the last day
//! on which notice can be given. Days are whole UTC calendar days, like [`crate::Clock::today`]:
//! `days_to_notice_deadline` is the deadline minus the UTC date of `now`, so it is 0 all through
//! the deadline day and changes at 00:00 UTC, whatever the local time zone or its daylight
//! saving. `days_left` is the same count to the contract's end date (what `ecosystem contracts
//! expiring` has always printed).
//!
//! **Stages.** A contract's stages are days before the notice deadline, most distant first
//! (120, 90, 60, 30 and 7 unless the contract or the workspace setting
//! [`STAGES_SETTING`] says otherwise). A stage comes due when `days_to_notice_deadline` is at
//! most its days. Each stage of a term is recorded at most once (a UNIQUE key on contract, term
//! end date and stage, so two processes sharing the database cannot both raise it). When
//! several stages are due at once (a contract added 20 days before its deadline, a snooze that
//! ended, an app closed for months) only the most urgent one is raised; the others are
//! recorded as *passed*, never notified. A stage less urgent than one already raised is passed
//! too, so alerts never go back in time after the stages are changed.
//!
//! **Alert states.** An alert is `open` from when it is raised until it is acknowledged
//! (`acknowledged`), a more urgent stage of the term is raised (`superseded`), or its term is
//! over for alerting (`stopped`: the contract was marked renewed or terminated, its end date
//! moved, it ended, or the partner was offboarded). While the contract is snoozed its open
//! alert shows as `snoozed` and no stage is raised; when the snooze ends, the most urgent stage
//! that came due meanwhile is raised. Nothing is ever deleted: the alerts stay as history.
//!
//! **Terms.** Alerts belong to the term ending on the contract's end date. Renewing with a new
//! end date starts a new term whose stages are raised afresh; marking the contract renewed (no
//! new end date) or terminated stops the current term's alerts. The status is kept with the
//! end date it was given for, so a contract whose end date is later moved (`contract set`) is
//! active again.
//!
//! **Notifications.** [`raise_due`] returns the alerts that call raised. The desktop app shows
//! one native notification per alert through [`take_unnotified`], which claims each open alert
//! not yet notified (setting `notified_at` in one transaction), so an alert raised by the CLI is
//! still notified exactly once, by whichever app process claims it first. Each alert carries its
//! notification words ([`ContractAlert::summary`], [`ContractAlert::body`]).
//!
//! Every change (acknowledge, snooze, renew, terminate, stages) is written with its audit row in
//! one transaction. Raising an alert is not audited: the alert row is its own record.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::health_store::HealthHistory;
use crate::model::{Lifecycle, Tier};
use crate::registry::{notice_deadline, parse_day, Registry, Writer};
use crate::sla::{Percent, SlaHealth, SlaPeriod, SlaReport, SlaWindow, Transition};

/// The stages of a contract without stages of its own, when the workspace sets none.
pub const DEFAULT_STAGES: [u32; 5] = [120, 90, 60, 30, 7];
/// The workspace setting holding the default stages ("120,90,60,30,7").
pub const STAGES_SETTING: &str = "contracts.alert_stages";
/// The most distant stage allowed, in days before the notice deadline.
pub const MAX_STAGE_DAYS: u32 = 3650;
/// The most stages a contract may have.
pub const MAX_STAGES: usize = 20;

// ----- stages -----

/// Alert stages: days before the notice deadline, positive, strictly decreasing (the most
/// distant first). Always valid: build it with [`Stages::parse`] or [`Stages::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stages(Vec<u32>);

impl Default for Stages {
    fn default() -> Self {
        Stages(DEFAULT_STAGES.to_vec())
    }
}

impl Stages {
    /// Checks `days`; the error names `field` and says what is wrong.
    pub fn new(field: &str, days: Vec<u32>) -> Result<Stages> {
        let text = join_days(&days);
        if days.is_empty() {
            return Err(Error::invalid(
                field,
                "give at least one stage, such as 120,90,60,30,7",
            ));
        }
        if days.len() > MAX_STAGES {
            return Err(Error::invalid(
                field,
                format!(
                    "\"{text}\" has {} stages; at most {MAX_STAGES} are allowed",
                    days.len()
                ),
            ));
        }
        if let Some(bad) = days.iter().find(|d| **d == 0 || **d > MAX_STAGE_DAYS) {
            return Err(Error::invalid(
                field,
                format!("{bad} in \"{text}\" is not a number of days from 1 to {MAX_STAGE_DAYS}"),
            ));
        }
        if let Some(pair) = days.windows(2).find(|w| w[1] >= w[0]) {
            return Err(Error::invalid(
                field,
                format!(
                    "\"{text}\" is not strictly decreasing ({} then {}); list the most distant \
                     stage first, such as 120,90,60,30,7",
                    pair[0], pair[1]
                ),
            ));
        }
        Ok(Stages(days))
    }

    /// Parses "90,30,7" (spaces around the numbers are allowed).
    pub fn parse(field: &str, text: &str) -> Result<Stages> {
        let days = text
            .split(',')
            .map(|item| {
                let item = item.trim();
                item.parse::<u32>().map_err(|_| {
                    Error::invalid(
                        field,
                        format!(
                            "{item:?} in {text:?} is not a whole number of days; write the \
                             stages as 120,90,60,30,7"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Stages::new(field, days)
    }

    pub fn days(&self) -> &[u32] {
        &self.0
    }

    /// The most urgent stage whose day has come when `days_to_deadline` days are left (`None`
    /// before the first stage).
    pub fn reached(&self, days_to_deadline: i64) -> Option<u32> {
        self.0
            .iter()
            .copied()
            .filter(|s| days_to_deadline <= i64::from(*s))
            .min()
    }
}

impl fmt::Display for Stages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join_days(&self.0))
    }
}

impl Serialize for Stages {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

fn join_days(days: &[u32]) -> String {
    days.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

// ----- vocabulary -----

/// Where a contract's current term stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Alerts follow the stages.
    Active,
    /// Marked renewed (without a new end date yet): its alerts stop.
    Renewed,
    /// Marked terminated: notice was given or the contract simply ends; its alerts stop.
    Terminated,
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Renewed => "renewed",
            ContractStatus::Terminated => "terminated",
        }
    }

    fn stored(text: &str) -> Result<ContractStatus> {
        match text {
            "active" => Ok(ContractStatus::Active),
            "renewed" => Ok(ContractStatus::Renewed),
            "terminated" => Ok(ContractStatus::Terminated),
            other => Err(Error::invalid(
                "status",
                format!("stored contract status {other:?} is unreadable"),
            )),
        }
    }
}

impl fmt::Display for ContractStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an alert is now (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised and waiting for someone: counted in the badge, listed by default.
    Open,
    /// Open, but the contract is snoozed.
    Snoozed,
    Acknowledged,
    /// A more urgent stage of the same term was raised after it.
    Superseded,
    /// Came due together with a more urgent stage and was passed over, never notified.
    Passed,
    /// Its term is over for alerting: renewed, terminated, end date moved, ended, offboarded.
    Stopped,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Snoozed => "snoozed",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Superseded => "superseded",
            AlertState::Passed => "passed",
            AlertState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ----- the pure rules -----

/// The UTC calendar day of `now`: the day every count of days here is taken from.
pub fn utc_day(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// Whole days from `today` to `day`: 0 on the day itself, negative after it.
pub fn days_until(day: NaiveDate, today: NaiveDate) -> i64 {
    (day - today).num_days()
}

/// What one pass does for one contract: the stage to raise (at most one) and the stages to
/// record as passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagePlan {
    pub raise: Option<u32>,
    pub pass: Vec<u32>,
}

impl StagePlan {
    pub fn is_empty(&self) -> bool {
        self.raise.is_none() && self.pass.is_empty()
    }
}

/// The stages that come due with `days_to_deadline` days left, given the stages of the term
/// already recorded (raised or passed): the most urgent due stage is raised and the other due
/// ones passed, unless a more urgent stage was already recorded, in which case all of them are
/// passed.
pub fn due_stages(stages: &Stages, days_to_deadline: i64, recorded: &BTreeSet<u32>) -> StagePlan {
    let due: Vec<u32> = stages
        .days()
        .iter()
        .copied()
        .filter(|s| days_to_deadline <= i64::from(*s) && !recorded.contains(s))
        .collect();
    let Some(most_urgent) = due.iter().copied().min() else {
        return StagePlan::default();
    };
    if recorded.iter().any(|r| *r < most_urgent) {
        return StagePlan {
            raise: None,
            pass: due,
        };
    }
    StagePlan {
        raise: Some(most_urgent),
        pass: due.into_iter().filter(|s| *s != most_urgent).collect(),
    }
}

/// What decides whether a contract's current term may raise alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermFacts {
    pub end: NaiveDate,
    pub notice_days: u32,
    /// The status for this term (a status given for another end date does not count).
    pub status: ContractStatus,
    pub snoozed_until: Option<NaiveDate>,
    pub offboarded: bool,
}

impl TermFacts {
    pub fn notice_deadline(&self) -> NaiveDate {
        notice_deadline(self.end, self.notice_days)
    }

    /// Why the term raises nothing at all any more (`None` while it may): renewed,
    /// terminated, ended or offboarded. A snooze is not a stop.
    pub fn stopped_because(&self, today: NaiveDate) -> Option<String> {
        if self.status != ContractStatus::Active {
            Some(format!("contract marked {}", self.status))
        } else if self.offboarded {
            Some("partner offboarded".into())
        } else if today > self.end {
            Some(format!("contract ended {}", self.end))
        } else {
            None
        }
    }

    /// True on the days before `snoozed_until`.
    pub fn snoozed(&self, today: NaiveDate) -> bool {
        self.snoozed_until.is_some_and(|until| today < until)
    }
}

/// What a pass on `today` does for a term with these `stages`, given the stages recorded.
pub fn plan(
    term: &TermFacts,
    stages: &Stages,
    recorded: &BTreeSet<u32>,
    today: NaiveDate,
) -> StagePlan {
    if term.stopped_because(today).is_some() || term.snoozed(today) {
        return StagePlan::default();
    }
    due_stages(stages, days_until(term.notice_deadline(), today), recorded)
}

/// What is known about one recorded stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertFacts {
    pub stage: u32,
    pub skipped: bool,
    pub acknowledged: bool,
    /// The end date of the term it was raised for.
    pub term_end: NaiveDate,
    /// The most urgent stage raised (not passed) for that term.
    pub most_urgent_raised: u32,
}

/// The state of an alert on `today` given the contract's current term, with a note saying why
/// when it is not simply open or acknowledged.
pub fn alert_state(
    alert: &AlertFacts,
    term: &TermFacts,
    today: NaiveDate,
) -> (AlertState, Option<String>) {
    if alert.skipped {
        return (
            AlertState::Passed,
            Some("came due with a more urgent stage".into()),
        );
    }
    if alert.acknowledged {
        return (AlertState::Acknowledged, None);
    }
    if alert.term_end != term.end {
        return (
            AlertState::Stopped,
            Some(format!("contract end moved to {}", term.end)),
        );
    }
    if let Some(why) = term.stopped_because(today) {
        return (AlertState::Stopped, Some(why));
    }
    if alert.most_urgent_raised < alert.stage {
        return (
            AlertState::Superseded,
            Some(format!(
                "superseded by the {}-day alert",
                alert.most_urgent_raised
            )),
        );
    }
    if let Some(until) = term.snoozed_until.filter(|_| term.snoozed(today)) {
        return (AlertState::Snoozed, Some(format!("snoozed until {until}")));
    }
    (AlertState::Open, None)
}

/// The notification's title and text for an alert of `partner` on `today`.
pub fn alert_words(
    partner: &str,
    owner: Option<&str>,
    stage: u32,
    deadline: NaiveDate,
    end: NaiveDate,
    auto_renew: bool,
    today: NaiveDate,
) -> (String, String) {
    let days = days_until(deadline, today);
    let summary = match days {
        d if d > 1 => format!("Contract notice for {partner} due in {d} days"),
        1 => format!("Contract notice for {partner} due tomorrow"),
        0 => format!("Contract notice for {partner} due today"),
        -1 => format!("Contract notice for {partner} was due yesterday"),
        d => format!("Contract notice for {partner} was due {} days ago", -d),
    };
    let renewal = if auto_renew {
        "renews automatically unless notice is given"
    } else {
        "does not renew by itself"
    };
    let owner = match owner {
        Some(o) => format!("Owner: {o}."),
        None => "No owner is set.".into(),
    };
    let body = format!(
        "Notice deadline {deadline} ({stage}-day alert). The contract ends {end} and {renewal}. \
         {owner} Renew, terminate, snooze or acknowledge it in Ecosystem."
    );
    (summary, body)
}

// ----- what is stored -----

/// One alert: a stage raised (or passed) for a contract's term, as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContractAlert {
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub id: i64,
    pub partner: String,
    /// The partner's owner: who the alert is for.
    pub owner: Option<String>,
    pub tier: Tier,
    /// The stage: days before the notice deadline.
    pub stage_days: u32,
    /// The end date of the term the alert is about.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub notice_deadline: NaiveDate,
    /// Days from today (UTC) to the notice deadline; negative once it has passed.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub days_to_notice_deadline: i64,
    /// Days from today (UTC) to the end of the term.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub days_left: i64,
    pub auto_renew: bool,
    pub state: AlertState,
    /// Why it is stopped, superseded, passed or snoozed.
    pub note: Option<String>,
    /// RFC 3339, UTC.
    pub raised_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    /// When a notification was claimed for it ([`take_unnotified`]).
    pub notified_at: Option<String>,
    /// The notification's title ("Contract notice for Acme due in 30 days").
    pub summary: String,
    /// The notification's text: deadline, stage, end, renewal and owner.
    pub body: String,
}

/// What [`raise_due`] returns: the alerts that call raised.
pub type RaisedAlert = ContractAlert;

/// A contract seen from its notice deadline: what `contracts expiring` lists and the contract
/// view shows beside the contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExpiryView {
    pub partner: String,
    pub tier: Tier,
    pub owner: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: NaiveDate,
    pub notice_days: u32,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub notice_deadline: NaiveDate,
    /// Days from today (UTC) until the contract ends.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub days_left: i64,
    /// Days from today (UTC) until the notice deadline; negative once it has passed.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub days_to_notice_deadline: i64,
    pub auto_renew: bool,
    pub status: ContractStatus,
    /// The contract's stages, days before the notice deadline.
    pub stages: Vec<u32>,
    /// True when the stages are the workspace's (the contract has none of its own).
    pub stages_default: bool,
    /// While snoozed: the day alerts resume.
    #[cfg_attr(feature = "specta", specta(type = Option<String>))]
    pub snoozed_until: Option<NaiveDate>,
    /// The most urgent stage whose day has come (whether or not it was raised).
    pub stage_due: Option<u32>,
    /// The most urgent stage raised for this term.
    pub stage_raised: Option<u32>,
    /// The state of that stage's alert.
    pub alert: Option<AlertState>,
}

const TERM_SQL: &str = "
SELECT c.id, p.name, p.owner, p.tier, p.lifecycle, c.start_date, c.end_date, c.notice_days,
       c.auto_renew, s.stages, s.status, s.status_end_date, s.snoozed_until,
       (SELECT group_concat(a.stage_days || ':' || a.skipped || ':' || (a.acknowledged_at IS NOT NULL))
          FROM contract_alerts a WHERE a.contract_id = c.id AND a.end_date = c.end_date)
FROM contracts c JOIN partners p ON p.id = c.partner_id
LEFT JOIN contract_alert_settings s ON s.contract_id = c.id";

/// One recorded stage of the current term.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    stage: u32,
    skipped: bool,
    acknowledged: bool,
}

/// A contract's current term with everything the alerts need.
#[derive(Debug, Clone)]
struct TermRow {
    contract_id: i64,
    partner: String,
    owner: Option<String>,
    tier: Tier,
    start: NaiveDate,
    auto_renew: bool,
    facts: TermFacts,
    /// The contract's own stages (`None`: the workspace default).
    stages: Option<Stages>,
    /// The stages recorded for the current term.
    recorded: Vec<Recorded>,
}

impl TermRow {
    fn recorded_stages(&self) -> BTreeSet<u32> {
        self.recorded.iter().map(|r| r.stage).collect()
    }

    fn most_urgent_raised(&self) -> Option<Recorded> {
        self.recorded
            .iter()
            .filter(|r| !r.skipped)
            .min_by_key(|r| r.stage)
            .copied()
    }

    fn stages<'a>(&'a self, default: &'a Stages) -> &'a Stages {
        self.stages.as_ref().unwrap_or(default)
    }

    fn view(&self, default: &Stages, today: NaiveDate) -> ExpiryView {
        let deadline = self.facts.notice_deadline();
        let stages = self.stages(default);
        let raised = self.most_urgent_raised();
        ExpiryView {
            partner: self.partner.clone(),
            tier: self.tier,
            owner: self.owner.clone(),
            start: self.start,
            end: self.facts.end,
            notice_days: self.facts.notice_days,
            notice_deadline: deadline,
            days_left: days_until(self.facts.end, today),
            days_to_notice_deadline: days_until(deadline, today),
            auto_renew: self.auto_renew,
            status: self.facts.status,
            stages: stages.days().to_vec(),
            stages_default: self.stages.is_none(),
            snoozed_until: self
                .facts
                .snoozed_until
                .filter(|_| self.facts.snoozed(today)),
            stage_due: stages.reached(days_until(deadline, today)),
            stage_raised: raised.map(|r| r.stage),
            alert: raised.map(|r| {
                alert_state(
                    &AlertFacts {
                        stage: r.stage,
                        skipped: false,
                        acknowledged: r.acknowledged,
                        term_end: self.facts.end,
                        most_urgent_raised: r.stage,
                    },
                    &self.facts,
                    today,
                )
                .0
            }),
        }
    }
}

type RowResult<T> = rusqlite::Result<Result<T>>;

fn term_from_row(r: &Row<'_>) -> RowResult<TermRow> {
    let contract_id: i64 = r.get(0)?;
    let partner: String = r.get(1)?;
    let owner: Option<String> = r.get(2)?;
    let tier: String = r.get(3)?;
    let lifecycle: String = r.get(4)?;
    let start: String = r.get(5)?;
    let end: String = r.get(6)?;
    let notice_days: u32 = r.get(7)?;
    let auto_renew: bool = r.get(8)?;
    let stages: Option<String> = r.get(9)?;
    let status: Option<String> = r.get(10)?;
    let status_end: Option<String> = r.get(11)?;
    let snoozed_until: Option<String> = r.get(12)?;
    let recorded: Option<String> = r.get(13)?;
    Ok((|| {
        let end = parse_day("end", &end)?;
        let status = match (status, status_end) {
            (Some(status), Some(status_end))
                if parse_day("status_end_date", &status_end)? == end =>
            {
                ContractStatus::stored(&status)?
            }
            _ => ContractStatus::Active,
        };
        Ok(TermRow {
            contract_id,
            owner,
            tier: Tier::parse_field("tier", &tier)?,
            start: parse_day("start", &start)?,
            auto_renew,
            facts: TermFacts {
                end,
                notice_days,
                status,
                snoozed_until: snoozed_until
                    .map(|d| parse_day("snoozed_until", &d))
                    .transpose()?,
                offboarded: Lifecycle::parse_field("lifecycle", &lifecycle)?
                    == Lifecycle::Offboarded,
            },
            stages: stages.map(|s| Stages::parse("stages", &s)).transpose()?,
            recorded: parse_recorded(recorded.as_deref())?,
            partner,
        })
    })())
}

fn parse_recorded(text: Option<&str>) -> Result<Vec<Recorded>> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|item| {
            let mut parts = item.split(':');
            let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
            match (next(), next(), next()) {
                (Some(stage), Some(skipped), Some(acknowledged)) => Ok(Recorded {
                    stage,
                    skipped: skipped == 1,
                    acknowledged: acknowledged == 1,
                }),
                _ => Err(Error::invalid(
                    "contract_alerts",
                    format!("stored alert {item:?} is unreadable"),
                )),
            }
        })
        .collect()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn terms_where(conn: &Connection, condition: &str, args: &[&dyn ToSql]) -> Result<Vec<TermRow>> {
    let mut stmt = conn.prepare_cached(&format!("{TERM_SQL} {condition}"))?;
    let rows = stmt.query_map(args, term_from_row)?;
    rows.map(|r| r.map_err(Error::from).and_then(|r| r))
        .collect()
}

/// The current term of `partner`'s contract; names the partner when it or its contract is
/// missing.
fn term_of(conn: &Connection, partner: &str) -> Result<TermRow> {
    let exists = conn
        .query_row("SELECT 1 FROM partners WHERE name = ?1", [partner], |_| {
            Ok(())
        })
        .optional()?
        .is_some();
    if !exists {
        return Err(Error::NotFound(format!("no partner named {partner:?}")));
    }
    terms_where(conn, "WHERE p.name = ?1", &[&partner])?
        .pop()
        .ok_or_else(|| {
            Error::NotFound(format!(
                "partner {partner:?} has no contract; set one with `ecosystem contract set`"
            ))
        })
}

/// The workspace's default stages: the setting when it is set and readable, else
/// [`DEFAULT_STAGES`].
pub fn default_stages(conn: &Connection) -> Result<Stages> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [STAGES_SETTING],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match value {
        None => Stages::default(),
        Some(text) => Stages::parse(STAGES_SETTING, &text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unreadable alert stages setting; using the defaults");
            Stages::default()
        }),
    })
}

const ALERT_SQL: &str = "
SELECT a.id, p.name, p.owner, p.tier, p.lifecycle, a.stage_days, a.end_date, a.notice_deadline,
       a.skipped, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.notified_at,
       c.end_date, c.notice_days, c.auto_renew, s.status, s.status_end_date, s.snoozed_until,
       (SELECT min(b.stage_days) FROM contract_alerts b
         WHERE b.contract_id = a.contract_id AND b.end_date = a.end_date AND b.skipped = 0)
FROM contract_alerts a JOIN contracts c ON c.id = a.contract_id
JOIN partners p ON p.id = c.partner_id
LEFT JOIN contract_alert_settings s ON s.contract_id = c.id";

fn alert_from_row(r: &Row<'_>, today: NaiveDate) -> RowResult<ContractAlert> {
    let id: i64 = r.get(0)?;
    let partner: String = r.get(1)?;
    let owner: Option<String> = r.get(2)?;
    let tier: String = r.get(3)?;
    let lifecycle: String = r.get(4)?;
    let stage: u32 = r.get(5)?;
    let term_end: String = r.get(6)?;
    let raised_deadline: String = r.get(7)?;
    let skipped: bool = r.get(8)?;
    let raised_at: String = r.get(9)?;
    let acknowledged_at: Option<String> = r.get(10)?;
    let acknowledged_by: Option<String> = r.get(11)?;
    let notified_at: Option<String> = r.get(12)?;
    let current_end: String = r.get(13)?;
    let notice_days: u32 = r.get(14)?;
    let auto_renew: bool = r.get(15)?;
    let status: Option<String> = r.get(16)?;
    let status_end: Option<String> = r.get(17)?;
    let snoozed_until: Option<String> = r.get(18)?;
    let most_urgent: Option<u32> = r.get(19)?;
    Ok((|| {
        let term_end = parse_day("end_date", &term_end)?;
        let current_end = parse_day("end", &current_end)?;
        let status = match (status, status_end) {
            (Some(status), Some(status_end))
                if parse_day("status_end_date", &status_end)? == current_end =>
            {
                ContractStatus::stored(&status)?
            }
            _ => ContractStatus::Active,
        };
        let term = TermFacts {
            end: current_end,
            notice_days,
            status,
            snoozed_until: snoozed_until
                .map(|d| parse_day("snoozed_until", &d))
                .transpose()?,
            offboarded: Lifecycle::parse_field("lifecycle", &lifecycle)? == Lifecycle::Offboarded,
        };
        // The current term's deadline (its notice days may have changed since); an older
        // term's as it was when raised.
        let deadline = if term_end == current_end {
            term.notice_deadline()
        } else {
            parse_day("notice_deadline", &raised_deadline)?
        };
        let (state, note) = alert_state(
            &AlertFacts {
                stage,
                skipped,
                acknowledged: acknowledged_at.is_some(),
                term_end,
                most_urgent_raised: most_urgent.unwrap_or(stage),
            },
            &term,
            today,
        );
        let (summary, body) = alert_words(
            &partner,
            owner.as_deref(),
            stage,
            deadline,
            term_end,
            auto_renew,
            today,
        );
        Ok(ContractAlert {
            id,
            owner,
            tier: Tier::parse_field("tier", &tier)?,
            stage_days: stage,
            end: term_end,
            notice_deadline: deadline,
            days_to_notice_deadline: days_until(deadline, today),
            days_left: days_until(term_end, today),
            auto_renew,
            state,
            note,
            raised_at,
            acknowledged_at,
            acknowledged_by,
            notified_at,
            summary,
            body,
            partner,
        })
    })())
}

fn alerts_where(
    conn: &Connection,
    condition: &str,
    args: &[&dyn ToSql],
    today: NaiveDate,
) -> Result<Vec<ContractAlert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{ALERT_SQL} {condition} ORDER BY a.notice_deadline, p.name, a.stage_days DESC, a.id"
    ))?;
    let rows = stmt.query_map(args, |r| alert_from_row(r, today))?;
    rows.map(|r| r.map_err(Error::from).and_then(|r| r))
        .collect()
}

/// What an open alert must be, in SQL (`?1` = today): raised, not acknowledged, of the
/// contract's current term, which has not ended. [`alert_state`] decides the rest.
const MAYBE_OPEN: &str = "a.skipped = 0 AND a.acknowledged_at IS NULL AND a.end_date = c.end_date
    AND c.end_date >= ?1";

fn alert_by_id(conn: &Connection, id: i64, today: NaiveDate) -> Result<ContractAlert> {
    alerts_where(conn, "WHERE a.id = ?1", &[&id], today)?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no contract alert {id}")))
}

// ----- raising and notifying -----

/// The terms that have something to record on `today`, with what.
fn pending(conn: &Connection, today: NaiveDate) -> Result<Vec<(TermRow, StagePlan)>> {
    let default = default_stages(conn)?;
    let terms = terms_where(
        conn,
        "WHERE c.end_date >= ?1 AND p.lifecycle <> 'offboarded'",
        &[&day(today)],
    )?;
    Ok(terms
        .into_iter()
        .filter_map(|term| {
            let plan = plan(
                &term.facts,
                term.stages(&default),
                &term.recorded_stages(),
                today,
            );
            (!plan.is_empty()).then_some((term, plan))
        })
        .collect())
}

/// Records every stage that has come due by `now` and returns the alerts this call raised
/// (not those another process raised first, nor the stages passed over). One immediate
/// transaction: the due stages are worked out again under the write lock, and each insert is
/// `INSERT OR IGNORE` on (contract, term, stage), so concurrent callers never raise a stage
/// twice. Cheap when nothing is due: one read, no write.
pub fn raise_due(registry: &mut Registry, now: DateTime<Utc>) -> Result<Vec<RaisedAlert>> {
    let today = utc_day(now);
    if pending(registry.store().conn(), today)?.is_empty() {
        return Ok(Vec::new());
    }
    let at = rfc3339(now);
    let ids = registry.write(|w| {
        let mut insert = w.tx.prepare_cached(
            "INSERT OR IGNORE INTO contract_alerts
                 (contract_id, end_date, stage_days, notice_deadline, skipped, raised_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut ids = Vec::new();
        for (term, plan) in pending(w.tx, today)? {
            let end = day(term.facts.end);
            let deadline = day(term.facts.notice_deadline());
            for stage in &plan.pass {
                insert.execute(params![term.contract_id, end, stage, deadline, true, at])?;
            }
            if let Some(stage) = plan.raise {
                if insert.execute(params![term.contract_id, end, stage, deadline, false, at])? == 1
                {
                    ids.push(w.tx.last_insert_rowid());
                    tracing::info!(
                        partner = term.partner,
                        stage,
                        notice_deadline = deadline,
                        "contract alert raised"
                    );
                }
            }
        }
        Ok(ids)
    })?;
    let conn = registry.store().conn();
    ids.into_iter()
        .map(|id| alert_by_id(conn, id, today))
        .collect()
}

/// Claims the open alerts no notification was shown for yet: marks them notified at `now`
/// and returns them, in one transaction, so each is notified once even when several app
/// processes ask. A claimed alert is not offered again, even if showing it failed.
pub fn take_unnotified(registry: &mut Registry, now: DateTime<Utc>) -> Result<Vec<ContractAlert>> {
    let today = utc_day(now);
    let unnotified = |conn: &Connection| -> Result<Vec<ContractAlert>> {
        Ok(alerts_where(
            conn,
            &format!("WHERE a.notified_at IS NULL AND {MAYBE_OPEN}"),
            &[&day(today)],
            today,
        )?
        .into_iter()
        .filter(|a| a.state == AlertState::Open)
        .collect())
    };
    if unnotified(registry.store().conn())?.is_empty() {
        return Ok(Vec::new());
    }
    let at = rfc3339(now);
    registry.write(|w| {
        let mut claimed = Vec::new();
        for mut alert in unnotified(w.tx)? {
            if w.tx.execute(
                "UPDATE contract_alerts SET notified_at = ?1 WHERE id = ?2 AND notified_at IS NULL",
                params![at, alert.id],
            )? == 1
            {
                alert.notified_at = Some(at.clone());
                claimed.push(alert);
            }
        }
        Ok(claimed)
    })
}

// ----- reading -----

/// The alerts as they stand at `now`: the open ones (what the badge counts), or with `all`
/// every recorded one (acknowledged, superseded, passed, snoozed, stopped), soonest deadline
/// first.
pub fn list_alerts(
    registry: &Registry,
    now: DateTime<Utc>,
    all: bool,
) -> Result<Vec<ContractAlert>> {
    let today = utc_day(now);
    let conn = registry.store().conn();
    if all {
        return alerts_where(conn, "", &[], today);
    }
    Ok(
        alerts_where(conn, &format!("WHERE {MAYBE_OPEN}"), &[&day(today)], today)?
            .into_iter()
            .filter(|a| a.state == AlertState::Open)
            .collect(),
    )
}

/// How many alerts are open: the app's badge.
pub fn open_alert_count(registry: &Registry, now: DateTime<Utc>) -> Result<usize> {
    Ok(list_alerts(registry, now, false)?.len())
}

/// Every alert recorded for `partner`'s contract (all terms), soonest deadline first.
pub fn partner_alerts(
    registry: &Registry,
    partner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ContractAlert>> {
    let conn = registry.store().conn();
    term_of(conn, partner)?;
    alerts_where(conn, "WHERE p.name = ?1", &[&partner], utc_day(now))
}

/// `partner`'s contract seen from its notice deadline at `now`.
pub fn expiry_view(registry: &Registry, partner: &str, now: DateTime<Utc>) -> Result<ExpiryView> {
    let conn = registry.store().conn();
    let default = default_stages(conn)?;
    Ok(term_of(conn, partner)?.view(&default, utc_day(now)))
}

/// Contracts of partners not offboarded that have not ended and whose notice deadline falls
/// within `within_days` of today (or has passed), soonest deadline first; renewed and
/// terminated ones too, with their status.
pub fn expiring(
    registry: &Registry,
    within_days: u32,
    now: DateTime<Utc>,
) -> Result<Vec<ExpiryView>> {
    let today = utc_day(now);
    let horizon = today
        .checked_add_days(Days::new(u64::from(within_days)))
        .ok_or_else(|| {
            Error::invalid(
                "within_days",
                format!("{within_days} days from {today} is past the last date there is"),
            )
        })?;
    let conn = registry.store().conn();
    let default = default_stages(conn)?;
    let terms = terms_where(
        conn,
        "WHERE p.lifecycle <> 'offboarded' AND c.end_date >= ?1
           AND date(c.end_date, printf('-%d days', c.notice_days)) <= ?2
         ORDER BY date(c.end_date, printf('-%d days', c.notice_days)), p.name",
        &[&day(today), &day(horizon)],
    )?;
    Ok(terms.iter().map(|t| t.view(&default, today)).collect())
}

// ----- changes -----

/// Creates the contract's settings row if it has none.
fn ensure_settings(tx: &Connection, contract_id: i64, at: &str) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO contract_alert_settings (contract_id, updated_at) VALUES (?1, ?2)",
        params![contract_id, at],
    )?;
    Ok(())
}

/// Acknowledges one raised alert of the current term of `partner`'s contract: `stage`, or
/// without it the most urgent one raised. The alert stays in the history as acknowledged;
/// later stages still come. Audit `contract.alert_ack`.
pub fn acknowledge(
    registry: &mut Registry,
    partner: &str,
    stage: Option<u32>,
    now: DateTime<Utc>,
) -> Result<ContractAlert> {
    let at = rfc3339(now);
    let id = registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        let raised: Vec<(i64, u32, Option<String>, Option<String>)> = w
            .tx
            .prepare_cached(
                "SELECT id, stage_days, acknowledged_at, acknowledged_by FROM contract_alerts
                 WHERE contract_id = ?1 AND end_date = ?2 AND skipped = 0 ORDER BY stage_days",
            )?
            .query_map(params![term.contract_id, day(term.facts.end)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let target = match stage {
            Some(stage) => raised.iter().find(|r| r.1 == stage).ok_or_else(|| {
                let list = if raised.is_empty() {
                    "none yet".to_string()
                } else {
                    raised
                        .iter()
                        .map(|r| r.1.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                Error::invalid(
                    "stage",
                    format!(
                        "the contract of {partner:?} (ending {}) has no raised {stage}-day alert; raised: {list}",
                        term.facts.end
                    ),
                )
            })?,
            None => raised.first().ok_or_else(|| {
                Error::NotFound(format!(
                    "the contract of {partner:?} (ending {}) has no alert to acknowledge",
                    term.facts.end
                ))
            })?,
        };
        let (id, stage, acknowledged_at, acknowledged_by) = target.clone();
        if let (Some(when), Some(who)) = (acknowledged_at, acknowledged_by) {
            return Err(Error::Conflict(format!(
                "stage: the {stage}-day alert of {partner:?} was already acknowledged by {who} at {when}"
            )));
        }
        w.tx.execute(
            "UPDATE contract_alerts SET acknowledged_at = ?1, acknowledged_by = ?2 WHERE id = ?3",
            params![at, w.user, id],
        )?;
        w.audit(
            "contract.alert_ack",
            "contract",
            partner,
            Some(&serde_json::json!({
                "stage_days": stage,
                "end": day(term.facts.end),
                "notice_deadline": day(term.facts.notice_deadline()),
            })),
        )?;
        Ok(id)
    })?;
    alert_by_id(registry.store().conn(), id, utc_day(now))
}

/// Holds `partner`'s alerts back until `until` (exclusive: they resume that day): no stage is
/// raised and its open alert shows as snoozed. `until` must be after today and no later than
/// the contract's end. Audit `contract.snooze`.
pub fn snooze(
    registry: &mut Registry,
    partner: &str,
    until: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ExpiryView> {
    let today = utc_day(now);
    if until <= today {
        return Err(Error::invalid(
            "until",
            format!("{until} is not after today ({today}); give the day alerts should resume"),
        ));
    }
    registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        if until > term.facts.end {
            return Err(Error::invalid(
                "until",
                format!(
                    "{until} is after the contract of {partner:?} ends ({}); renew or terminate it instead",
                    term.facts.end
                ),
            ));
        }
        ensure_settings(w.tx, term.contract_id, w.now)?;
        w.tx.execute(
            "UPDATE contract_alert_settings SET snoozed_until = ?1, updated_at = ?2 WHERE contract_id = ?3",
            params![day(until), w.now, term.contract_id],
        )?;
        w.audit(
            "contract.snooze",
            "contract",
            partner,
            Some(&serde_json::json!({ "until": day(until) })),
        )
    })?;
    expiry_view(registry, partner, now)
}

/// Ends `partner`'s snooze now. Audit `contract.unsnooze`; refused when it is not snoozed.
pub fn unsnooze(registry: &mut Registry, partner: &str, now: DateTime<Utc>) -> Result<ExpiryView> {
    let today = utc_day(now);
    registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        if !term.facts.snoozed(today) {
            return Err(Error::Conflict(format!(
                "the alerts of {partner:?} are not snoozed"
            )));
        }
        w.tx.execute(
            "UPDATE contract_alert_settings SET snoozed_until = NULL, updated_at = ?1 WHERE contract_id = ?2",
            params![w.now, term.contract_id],
        )?;
        w.audit("contract.unsnooze", "contract", partner, None::<&()>)
    })?;
    expiry_view(registry, partner, now)
}

/// Renews `partner`'s contract. With `new_end` the contract runs on to that date: a new term
/// whose stages are raised afresh (status active, snooze cleared); the old term's alerts stop.
/// Without it the contract is marked renewed and its alerts stop until its end date changes.
/// Audit `contract.renew`.
pub fn renew(
    registry: &mut Registry,
    partner: &str,
    new_end: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<ExpiryView> {
    let today = utc_day(now);
    registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        let old_end = term.facts.end;
        ensure_settings(w.tx, term.contract_id, w.now)?;
        match new_end {
            Some(new_end) => {
                if new_end <= old_end {
                    return Err(Error::invalid(
                        "new_end",
                        format!(
                            "{new_end} is not after the current end {old_end}; a renewal extends the contract"
                        ),
                    ));
                }
                if new_end <= today {
                    return Err(Error::invalid(
                        "new_end",
                        format!("{new_end} is not after today ({today})"),
                    ));
                }
                w.tx.execute(
                    "UPDATE contracts SET end_date = ?1, updated_at = ?2 WHERE id = ?3",
                    params![day(new_end), w.now, term.contract_id],
                )?;
                w.tx.execute(
                    "UPDATE contract_alert_settings SET status = 'active', status_end_date = NULL,
                            snoozed_until = NULL, updated_at = ?1 WHERE contract_id = ?2",
                    params![w.now, term.contract_id],
                )?;
                w.audit(
                    "contract.renew",
                    "contract",
                    partner,
                    Some(&serde_json::json!({ "from_end": day(old_end), "new_end": day(new_end) })),
                )
            }
            None => {
                if term.facts.status == ContractStatus::Renewed {
                    return Err(Error::Conflict(format!(
                        "the contract of {partner:?} (ending {old_end}) is already marked renewed"
                    )));
                }
                w.tx.execute(
                    "UPDATE contract_alert_settings SET status = 'renewed', status_end_date = ?1,
                            updated_at = ?2 WHERE contract_id = ?3",
                    params![day(old_end), w.now, term.contract_id],
                )?;
                w.audit(
                    "contract.renew",
                    "contract",
                    partner,
                    Some(&serde_json::json!({ "end": day(old_end) })),
                )
            }
        }
    })?;
    expiry_view(registry, partner, now)
}

/// Marks `partner`'s contract terminated: its current term's alerts stop (the contract and
/// its history stay). Audit `contract.terminate`.
pub fn terminate(registry: &mut Registry, partner: &str, now: DateTime<Utc>) -> Result<ExpiryView> {
    registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        if term.facts.status == ContractStatus::Terminated {
            return Err(Error::Conflict(format!(
                "the contract of {partner:?} (ending {}) is already marked terminated",
                term.facts.end
            )));
        }
        ensure_settings(w.tx, term.contract_id, w.now)?;
        w.tx.execute(
            "UPDATE contract_alert_settings SET status = 'terminated', status_end_date = ?1,
                    updated_at = ?2 WHERE contract_id = ?3",
            params![day(term.facts.end), w.now, term.contract_id],
        )?;
        w.audit(
            "contract.terminate",
            "contract",
            partner,
            Some(&serde_json::json!({ "end": day(term.facts.end) })),
        )
    })?;
    expiry_view(registry, partner, now)
}

/// Gives `partner`'s contract its own stages, or with `None` the workspace default again.
/// Stages already raised stay; a new stage less urgent than one raised is passed, never raised.
/// Audit `contract.alert_stages`.
pub fn set_stages(
    registry: &mut Registry,
    partner: &str,
    stages: Option<&Stages>,
    now: DateTime<Utc>,
) -> Result<ExpiryView> {
    registry.write(|w| {
        let term = term_of(w.tx, partner)?;
        write_stages(w, term.contract_id, partner, stages)
    })?;
    expiry_view(registry, partner, now)
}

fn write_stages(
    w: &Writer<'_>,
    contract_id: i64,
    partner: &str,
    stages: Option<&Stages>,
) -> Result<()> {
    ensure_settings(w.tx, contract_id, w.now)?;
    let text = stages.map(Stages::to_string);
    w.tx.execute(
        "UPDATE contract_alert_settings SET stages = ?1, updated_at = ?2 WHERE contract_id = ?3",
        params![text, w.now, contract_id],
    )?;
    w.audit(
        "contract.alert_stages",
        "contract",
        partner,
        Some(&serde_json::json!({ "stages": text.as_deref().unwrap_or("default") })),
    )
}

/// Gives `partner`'s contract its own stages (`None`: the workspace default) inside a workspace
/// import's transaction, writing and auditing `contract.alert_stages` only when they differ from
/// what is stored. True when it changed them.
pub(crate) fn import_stages(
    w: &Writer<'_>,
    partner: &str,
    stages: Option<&Stages>,
) -> Result<bool> {
    let (contract_id, stored): (i64, Option<String>) =
        w.tx.query_row(
            "SELECT c.id, s.stages FROM contracts c JOIN partners p ON p.id = c.partner_id
             LEFT JOIN contract_alert_settings s ON s.contract_id = c.id WHERE p.name = ?1",
            [partner],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("partner {partner:?} has no contract")))?;
    if stored == stages.map(Stages::to_string) {
        return Ok(false);
    }
    write_stages(w, contract_id, partner, stages)?;
    Ok(true)
}

/// The contracts with stages of their own, by partner name (for the workspace export).
pub fn own_stages(conn: &Connection) -> Result<std::collections::HashMap<String, Stages>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.name, s.stages FROM contract_alert_settings s
         JOIN contracts c ON c.id = s.contract_id JOIN partners p ON p.id = c.partner_id
         WHERE s.stages IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.map(|row| {
        let (partner, text) = row?;
        Ok((partner, Stages::parse("stages", &text)?))
    })
    .collect()
}

// ----- the renewal brief -----

/// One SLA window of the term in the brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BriefSlaWindow {
    /// "2026-10" or "2026-Q4".
    pub period: String,
    /// "October 2026" or "2026-Q4".
    pub label: String,
    /// False for the window still running (measured to now).
    pub complete: bool,
    pub attained_percent: Option<f64>,
    pub met: bool,
    pub health: SlaHealth,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub down_seconds: i64,
    pub breaches: u32,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub credit_owed_minor: i64,
}

/// One month of one usage metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageMonth {
    /// "2026-10".
    pub month: String,
    pub value: f64,
    /// False for a month only partly inside the measured range.
    pub complete: bool,
}

/// A usage metric month by month over the term.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UsageTrend {
    pub metric: String,
    pub unit: String,
    pub months: Vec<UsageMonth>,
    /// The last complete month against the first, in percent; `None` with fewer than two
    /// complete months or a first month of 0.
    pub change_percent: Option<f64>,
}

/// What to know before deciding on a renewal: the contract, its SLA window by window, its
/// incidents and its usage, over the term so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RenewalBrief {
    #[serde(flatten)]
    pub contract: ExpiryView,
    pub value: Option<String>,
    pub currency: Option<String>,
    /// The measured part of the term (RFC 3339, UTC): from the start day's 00:00 UTC to now,
    /// or to the end of the end day when that is earlier.
    pub measured_from: String,
    pub measured_until: String,
    pub sla_target_percent: f64,
    /// The SLA windows (months or quarters, in the contract's SLA zone) overlapping the
    /// measured term, oldest first; whole windows, as the SLA report counts them. Empty when
    /// the contract promises no SLA.
    pub sla_windows: Vec<BriefSlaWindow>,
    pub sla_windows_met: u32,
    pub sla_windows_missed: u32,
    /// Up over counted time across those windows.
    pub sla_attained_percent: Option<f64>,
    /// Credits owed across those windows, in minor units of `sla_currency`.
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub sla_credit_owed_minor: i64,
    pub sla_currency: Option<String>,
    /// Unhealthy periods overlapping the measured term (whole, not clipped).
    pub incidents: u32,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub downtime_seconds: i64,
    #[cfg_attr(feature = "specta", specta(type = i32))]
    pub longest_incident_seconds: i64,
    /// Usage month by month per metric ([`usage_by_month`]); empty without usage records.
    pub usage: Vec<UsageTrend>,
}

fn next_period(p: SlaPeriod) -> Result<SlaPeriod> {
    match p.window() {
        SlaWindow::CalendarMonth if p.number() == 12 => SlaPeriod::of_month(p.year() + 1, 1),
        SlaWindow::CalendarMonth => SlaPeriod::of_month(p.year(), p.number() + 1),
        SlaWindow::CalendarQuarter if p.number() == 4 => SlaPeriod::of_quarter(p.year() + 1, 1),
        SlaWindow::CalendarQuarter => SlaPeriod::of_quarter(p.year(), p.number() + 1),
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The renewal brief of `partner`'s contract at `now`.
pub fn renewal_brief(
    registry: &Registry,
    partner: &str,
    now: DateTime<Utc>,
) -> Result<RenewalBrief> {
    let view = expiry_view(registry, partner, now)?;
    let p = registry.partner(partner)?;
    let contract = registry.contract(partner)?.ok_or_else(|| {
        Error::NotFound(format!(
            "partner {partner:?} has no contract; set one with `ecosystem contract set`"
        ))
    })?;
    let from = midnight(contract.start);
    let until = now.min(midnight(contract.end + Days::new(1))).max(from);
    let history = HealthHistory::new(registry.store().conn());

    let mut windows = Vec::new();
    let (mut up, mut counted, mut credit) = (0_i64, 0_i64, 0_i64);
    let mut sla_currency = None;
    let promises_sla = crate::sla_terms::target_percent(contract.sla_target)? != Percent::ZERO;
    if let Some(terms) = registry
        .resolved_sla_terms(partner)?
        .filter(|_| promises_sla && until > from)
    {
        let first = SlaPeriod::containing(terms.window, terms.time_zone, from);
        let (first_start, _) = first.bounds(terms.time_zone);
        let transitions: Vec<Transition> = history
            .transition_before(p.id, first_start)?
            .into_iter()
            .chain(history.transitions(p.id, first_start, until)?)
            .map(|t| Transition::new(t.transition.at, t.transition.to))
            .collect();
        let mut period = first;
        while period.bounds(terms.time_zone).0 < until {
            let report = SlaReport::for_period(period, &terms, &transitions, until)?;
            up += report.up_seconds;
            counted += report.counted_seconds;
            credit += report.credit_owed_minor;
            windows.push(BriefSlaWindow {
                period: period.to_string(),
                label: period.label(),
                complete: report.complete,
                attained_percent: report.attained_percent,
                met: report.met,
                health: SlaHealth::of(&report),
                down_seconds: report.down_seconds,
                breaches: u32::try_from(report.breaches.len()).unwrap_or(u32::MAX),
                credit_owed_minor: report.credit_owed_minor,
            });
            period = next_period(period)?;
        }
        sla_currency = Some(terms.currency.clone());
    }
    let counted_windows = windows.iter().filter(|w| w.health != SlaHealth::NoData);
    let met = counted_windows.clone().filter(|w| w.met).count();
    let missed = counted_windows.filter(|w| !w.met).count();

    let incidents = history.incidents(p.id, from, until)?;
    let usage = usage_by_month(
        registry.store().conn(),
        p.id,
        contract.start,
        utc_day(until),
        until,
    )?;
    Ok(RenewalBrief {
        contract: view,
        value: contract.value,
        currency: contract.currency,
        measured_from: from.to_rfc3339_opts(SecondsFormat::Secs, true),
        measured_until: until.to_rfc3339_opts(SecondsFormat::Secs, true),
        sla_target_percent: contract.sla_target,
        sla_windows_met: u32::try_from(met).unwrap_or(u32::MAX),
        sla_windows_missed: u32::try_from(missed).unwrap_or(u32::MAX),
        sla_windows: windows,
        sla_attained_percent: (counted > 0).then(|| up as f64 * 100.0 / counted as f64),
        sla_credit_owed_minor: credit,
        sla_currency,
        incidents: u32::try_from(incidents.len()).unwrap_or(u32::MAX),
        downtime_seconds: incidents.iter().map(|i| i.duration_secs).sum(),
        longest_incident_seconds: incidents.iter().map(|i| i.duration_secs).max().unwrap_or(0),
        usage,
    })
}

/// **Usage hook of the renewal brief.** Monthly sums per metric of `partner_id`'s usage records
/// (migration 6: `usage_records` joined with `usage_metrics`, one row per partner, metric and
/// UTC day) for the days from `from` to `to` inclusive, metric by metric in name order; empty
/// when the partner has no usage rows. A month is complete when the whole month lies in the
/// range and before `now`'s day. Replace the query here if usage gains its own monthly API.
pub fn usage_by_month(
    conn: &Connection,
    partner_id: u32,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<UsageTrend>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
    let day_number = |d: NaiveDate| (d - epoch).num_days();
    let rows: Vec<(String, String, String, f64)> = conn
        .prepare_cached(
            "SELECT m.name, m.unit, strftime('%Y-%m', r.day * 86400, 'unixepoch') AS month,
                    sum(r.value)
             FROM usage_records r JOIN usage_metrics m ON m.id = r.metric_id
             WHERE r.partner_id = ?1 AND r.day BETWEEN ?2 AND ?3
             GROUP BY m.name, m.unit, month ORDER BY m.name, month",
        )?
        .query_map(params![partner_id, day_number(from), day_number(to)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let today = utc_day(now);
    let is_complete = |month: &str| -> bool {
        let Ok(first) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d") else {
            return false;
        };
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        let last = next.pred_opt().unwrap_or(first);
        first >= from && last <= to && last < today
    };
    let mut out: Vec<UsageTrend> = Vec::new();
    for (metric, unit, month, value) in rows {
        let entry = UsageMonth {
            complete: is_complete(&month),
            month,
            value,
        };
        match out.last_mut() {
            Some(trend) if trend.metric == metric => trend.months.push(entry),
            _ => out.push(UsageTrend {
                metric,
                unit,
                months: vec![entry],
                change_percent: None,
            }),
        }
    }
    for trend in &mut out {
        let complete: Vec<&UsageMonth> = trend.months.iter().filter(|m| m.complete).collect();
        if let (Some(first), Some(last)) = (complete.first(), complete.last()) {
            if complete.len() >= 2 && first.value != 0.0 {
                trend.change_percent = Some((last.value - first.value) * 100.0 / first.value);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn set(stages: &[u32]) -> BTreeSet<u32> {
        stages.iter().copied().collect()
    }

    #[test]
    fn stages_parse_and_name_what_is_wrong() {
        assert_eq!(
            Stages::parse("stages", " 90, 30,7").unwrap().days(),
            [90, 30, 7]
        );
        assert_eq!(Stages::default().to_string(), "120,90,60,30,7");
        for (text, expected) in [
            (
                "30,90",
                "stages: \"30,90\" is not strictly decreasing (30 then 90)",
            ),
            (
                "90,90,7",
                "stages: \"90,90,7\" is not strictly decreasing (90 then 90)",
            ),
            (
                "90,0",
                "stages: 0 in \"90,0\" is not a number of days from 1 to 3650",
            ),
            ("4000", "stages: 4000 in \"4000\" is not a number of days"),
            (
                "90,-7",
                "stages: \"-7\" in \"90,-7\" is not a whole number of days",
            ),
            ("", "stages: \"\" in \"\" is not a whole number of days"),
            ("90,,7", "stages: \"\" in \"90,,7\" is not a whole number"),
            (
                "ninety",
                "stages: \"ninety\" in \"ninety\" is not a whole number",
            ),
        ] {
            let err = Stages::parse("stages", text).unwrap_err();
            assert!(
                err.to_string().starts_with(expected),
                "{text:?}: expected {expected:?}, got {err}"
            );
            assert_eq!(err.field(), Some("stages"));
        }
    }

    #[test]
    fn days_are_whole_utc_days_that_turn_at_midnight_utc() {
        let deadline = d("2026-06-30");
        let at = |s: &str| utc_day(s.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(days_until(deadline, at("2026-06-22T23:59:59Z")), 8);
        assert_eq!(days_until(deadline, at("2026-06-23T00:00:00Z")), 7);
        // 01:30 in Berlin (CEST) on the 23rd is still the 22nd in UTC.
        let berlin: DateTime<Utc> = "2026-06-23T01:30:00+02:00".parse().unwrap();
        assert_eq!(days_until(deadline, utc_day(berlin)), 8);
        assert_eq!(days_until(deadline, at("2026-06-30T12:00:00Z")), 0);
        assert_eq!(days_until(deadline, at("2026-07-01T00:00:00Z")), -1);
        // Across the March change to summer time: still whole days in UTC.
        assert_eq!(
            days_until(d("2026-03-30"), at("2026-03-28T23:00:00Z")),
            2,
            "no 23-hour day in UTC"
        );
    }

    #[test]
    fn a_stage_comes_due_on_its_day_and_only_once() {
        let stages = Stages::default();
        assert_eq!(due_stages(&stages, 121, &set(&[])), StagePlan::default());
        assert_eq!(
            due_stages(&stages, 120, &set(&[])),
            StagePlan {
                raise: Some(120),
                pass: vec![]
            }
        );
        assert_eq!(due_stages(&stages, 100, &set(&[120])), StagePlan::default());
        assert_eq!(due_stages(&stages, 90, &set(&[120])).raise, Some(90));
    }

    #[test]
    fn stages_due_together_raise_the_most_urgent_and_pass_the_rest() {
        let stages = Stages::default();
        assert_eq!(
            due_stages(&stages, 20, &set(&[])),
            StagePlan {
                raise: Some(30),
                pass: vec![120, 90, 60]
            }
        );
        assert_eq!(
            due_stages(&stages, -3, &set(&[120, 90])),
            StagePlan {
                raise: Some(7),
                pass: vec![60, 30]
            },
            "after the deadline the most urgent stage still goes out"
        );
    }

    #[test]
    fn a_stage_less_urgent_than_one_recorded_is_passed_not_raised() {
        let stages = Stages::parse("stages", "100,45,7").unwrap();
        assert_eq!(
            due_stages(&stages, 80, &set(&[90])),
            StagePlan {
                raise: None,
                pass: vec![100]
            }
        );
    }

    #[test]
    fn a_stopped_or_snoozed_term_plans_nothing() {
        let term = TermFacts {
            end: d("2026-12-31"),
            notice_days: 30,
            status: ContractStatus::Active,
            snoozed_until: None,
            offboarded: false,
        };
        let today = d("2026-11-25");
        let stages = Stages::default();
        assert_eq!(plan(&term, &stages, &set(&[]), today).raise, Some(7));
        for stopped in [
            TermFacts {
                status: ContractStatus::Renewed,
                ..term.clone()
            },
            TermFacts {
                status: ContractStatus::Terminated,
                ..term.clone()
            },
            TermFacts {
                offboarded: true,
                ..term.clone()
            },
            TermFacts {
                snoozed_until: Some(d("2026-11-26")),
                ..term.clone()
            },
        ] {
            assert!(
                plan(&stopped, &stages, &set(&[]), today).is_empty(),
                "{stopped:?}"
            );
        }
        let snooze_over = TermFacts {
            snoozed_until: Some(today),
            ..term.clone()
        };
        assert_eq!(
            plan(&snooze_over, &stages, &set(&[]), today).raise,
            Some(7),
            "alerts resume on the snooze date"
        );
        assert!(
            plan(&term, &stages, &set(&[]), d("2027-01-01")).is_empty(),
            "nothing after the contract ended"
        );
    }

    #[test]
    fn an_alert_is_open_until_acknowledged_superseded_or_stopped() {
        let term = TermFacts {
            end: d("2026-12-31"),
            notice_days: 30,
            status: ContractStatus::Active,
            snoozed_until: None,
            offboarded: false,
        };
        let alert = AlertFacts {
            stage: 30,
            skipped: false,
            acknowledged: false,
            term_end: term.end,
            most_urgent_raised: 30,
        };
        let today = d("2026-11-05");
        let state = |a: &AlertFacts, t: &TermFacts| alert_state(a, t, today).0;
        assert_eq!(state(&alert, &term), AlertState::Open);
        assert_eq!(
            state(
                &AlertFacts {
                    acknowledged: true,
                    ..alert.clone()
                },
                &term
            ),
            AlertState::Acknowledged
        );
        assert_eq!(
            state(
                &AlertFacts {
                    most_urgent_raised: 7,
                    ..alert.clone()
                },
                &term
            ),
            AlertState::Superseded
        );
        assert_eq!(
            state(
                &AlertFacts {
                    skipped: true,
                    ..alert.clone()
                },
                &term
            ),
            AlertState::Passed
        );
        assert_eq!(
            state(
                &alert,
                &TermFacts {
                    status: ContractStatus::Renewed,
                    ..term.clone()
                }
            ),
            AlertState::Stopped
        );
        assert_eq!(
            state(
                &alert,
                &TermFacts {
                    end: d("2027-12-31"),
                    ..term.clone()
                }
            ),
            AlertState::Stopped,
            "a new term stops the old term's alerts"
        );
        assert_eq!(
            state(
                &alert,
                &TermFacts {
                    snoozed_until: Some(d("2026-11-10")),
                    ..term.clone()
                }
            ),
            AlertState::Snoozed
        );
    }

    #[test]
    fn the_words_say_when_notice_is_due() {
        let (summary, body) = alert_words(
            "Acme",
            Some("ada"),
            30,
            d("2026-12-01"),
            d("2026-12-31"),
            true,
            d("2026-11-01"),
        );
        assert_eq!(summary, "Contract notice for Acme due in 30 days");
        assert_eq!(
            body,
            "Notice deadline 2026-12-01 (30-day alert). The contract ends 2026-12-31 and renews \
             automatically unless notice is given. Owner: ada. Renew, terminate, snooze or \
             acknowledge it in Ecosystem."
        );
        let words = |today: &str| {
            alert_words(
                "Acme",
                None,
                7,
                d("2026-12-01"),
                d("2026-12-31"),
                false,
                d(today),
            )
            .0
        };
        assert_eq!(words("2026-11-30"), "Contract notice for Acme due tomorrow");
        assert_eq!(words("2026-12-01"), "Contract notice for Acme due today");
        assert_eq!(
            words("2026-12-02"),
            "Contract notice for Acme was due yesterday"
        );
        assert_eq!(
            words("2026-12-05"),
            "Contract notice for Acme was due 4 days ago"
        );
    }

    #[test]
    fn leap_day_end_dates_count_back_through_february() {
        assert_eq!(notice_deadline(d("2028-02-29"), 30), d("2028-01-30"));
        assert_eq!(notice_deadline(d("2028-03-30"), 30), d("2028-02-29"));
        assert_eq!(notice_deadline(d("2028-02-29"), 365), d("2027-03-01"));
        assert_eq!(days_until(d("2028-03-01"), d("2028-02-28")), 2);
    }
}
