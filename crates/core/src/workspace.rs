//! The workspace file: the whole registry (partners, contracts with their SLA terms and alert
//! stages, maintenance windows, settings; never secrets) as one versioned JSON document, for
//! backups, hand-over and review. The format is documented in docs/WORKSPACE-FORMAT.md.
//!
//! Import reads and checks every record before it writes anything, and names each bad record
//! and field; then it writes everything in one transaction. Partners are matched by name: a
//! name already in the registry is updated, a new one is added. A maintenance window identical
//! to a stored one (same partner, title and schedule) is kept, not added again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, SubsecRound, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::contract_alerts::{self, Stages};
use crate::error::{Error, Result};
use crate::maintenance::{self, NamedWindow, Schedule};
use crate::model::*;
use crate::money;
use crate::registry::{validate_contract, validate_new_partner, Registry, StoredCheck};
use crate::sla::{parse_time_zone, AccountingRules, CreditTier, Percent, SlaWindow};
use crate::sla_terms::{self, ContractSlaTerms};

pub const FORMAT: &str = "ecosystem-workspace";
pub const VERSION: u32 = 1;

/// What a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// A whole number in `min..=max`.
    Number { min: u32, max: u32 },
    /// `0` (off) or `1` (on).
    Flag,
    /// A daily period on the wall clock, `HH:MM-HH:MM` (wraps midnight when the end is
    /// earlier), or `off`.
    DailyPeriod,
    /// An IANA time zone name such as `Europe/Berlin`.
    TimeZone,
    /// Contract alert stages: days before a notice deadline, strictly decreasing, such as
    /// `120,90,60,30,7` (see `contract_alerts::Stages`).
    AlertStages,
}

/// One setting a workspace may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingSpec {
    pub key: &'static str,
    pub meaning: &'static str,
    pub kind: SettingKind,
}

const fn number(key: &'static str, meaning: &'static str, min: u32, max: u32) -> SettingSpec {
    SettingSpec {
        key,
        meaning,
        kind: SettingKind::Number { min, max },
    }
}

/// The settings a workspace may carry, each with what it accepts.
pub const SETTINGS: &[SettingSpec] = &[
    number(
        "health.default_interval_secs",
        "seconds between health checks of a new partner",
        5,
        86_400,
    ),
    number(
        "health.default_timeout_secs",
        "seconds a health check may take",
        1,
        300,
    ),
    number(
        "health.failures_to_unhealthy.strategic",
        "consecutive failed checks that make a strategic partner unhealthy (default 2)",
        1,
        100,
    ),
    number(
        "health.failures_to_unhealthy.premium",
        "consecutive failed checks that make a premium partner unhealthy (default 3)",
        1,
        100,
    ),
    number(
        "health.failures_to_unhealthy.standard",
        "consecutive failed checks that make a standard partner unhealthy (default 3)",
        1,
        100,
    ),
    number(
        "health.successes_to_recover.strategic",
        "consecutive successful checks that bring an unhealthy strategic partner back (default 2)",
        1,
        100,
    ),
    number(
        "health.successes_to_recover.premium",
        "consecutive successful checks that bring an unhealthy premium partner back (default 2)",
        1,
        100,
    ),
    number(
        "health.successes_to_recover.standard",
        "consecutive successful checks that bring an unhealthy standard partner back (default 3)",
        1,
        100,
    ),
    SettingSpec {
        key: "health.poll_in_app",
        meaning: "1: the desktop app polls health while it is open; 0: it only shows what \
                  another poller (`ecosystem poll`) records",
        kind: SettingKind::Flag,
    },
    number(
        "contracts.default_notice_days",
        "notice period of a new contract, in days",
        0,
        3650,
    ),
    SettingSpec {
        key: "contracts.alert_stages",
        meaning: "days before a contract's notice deadline at which an alert is raised, most \
                  distant first (default 120,90,60,30,7; a contract may set its own)",
        kind: SettingKind::AlertStages,
    },
    number(
        "notifications.resend_minutes",
        "remind every this many minutes while a partner stays down (0: never)",
        0,
        10_080,
    ),
    number(
        "notifications.dependency_grace_secs",
        "seconds a partner whose parent is up waits, when it goes down, for the parent to turn \
         out to be the cause (0: no wait; default 60)",
        0,
        3_600,
    ),
    SettingSpec {
        key: "notifications.degraded",
        meaning: "1: a degraded partner notifies like an unhealthy one",
        kind: SettingKind::Flag,
    },
    SettingSpec {
        key: "notifications.quiet_hours",
        meaning: "no notifications between these times (HH:MM-HH:MM, or off); a summary follows",
        kind: SettingKind::DailyPeriod,
    },
    SettingSpec {
        key: "demo.workspace",
        meaning: "1: a demo workspace; the app starts partner-sim for the demo partners",
        kind: SettingKind::Flag,
    },
    number(
        "history.raw_days",
        "days each health check's raw sample is kept (charts up to 36 hours are drawn from \
         them; default 3)",
        2,
        365,
    ),
    number(
        "history.hour_rollup_days",
        "days the hourly health summaries are kept (charts starting within 90 days use them; \
         default 90)",
        90,
        3_650,
    ),
    SettingSpec {
        key: "notifications.time_zone",
        meaning: "the time zone of the quiet hours (IANA name; UTC when unset)",
        kind: SettingKind::TimeZone,
    },
];

/// Checks a setting's key and value; the error names the setting and says what it takes.
pub fn validate_setting(key: &str, value: &str) -> Result<()> {
    let Some(spec) = SETTINGS.iter().find(|s| s.key == key) else {
        return Err(Error::invalid(
            "setting",
            format!(
                "unknown setting {key:?}; known settings: {}",
                SETTINGS
                    .iter()
                    .map(|s| s.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    match spec.kind {
        SettingKind::Number { min, max } => match value.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            _ => Err(Error::invalid(
                key,
                format!("{value:?} is not a whole number from {min} to {max}"),
            )),
        },
        SettingKind::Flag => match value {
            "0" | "1" => Ok(()),
            _ => Err(Error::invalid(key, format!("{value:?} is not 0 or 1"))),
        },
        SettingKind::DailyPeriod => parse_daily_period(key, value).map(|_| ()),
        SettingKind::TimeZone => parse_time_zone(key, value).map(|_| ()),
        SettingKind::AlertStages => crate::contract_alerts::Stages::parse(key, value).map(|_| ()),
    }
}

/// A `HH:MM-HH:MM` period (`None` for `off`); the start and end may not be equal.
pub fn parse_daily_period(key: &str, value: &str) -> Result<Option<(NaiveTime, NaiveTime)>> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || {
        Error::invalid(
            key,
            format!("{value:?} is not a period; write HH:MM-HH:MM such as 22:00-07:00, or off"),
        )
    };
    let (start, end) = value.split_once('-').ok_or_else(bad)?;
    let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
    let (start, end) = (time(start)?, time(end)?);
    if start == end {
        return Err(Error::invalid(
            key,
            format!("{value:?} starts and ends at the same time"),
        ));
    }
    Ok(Some((start, end)))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceFile {
    pub format: String,
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    #[serde(default)]
    pub partners: Vec<PartnerRecord>,
    #[serde(default)]
    pub contracts: Vec<ContractRecord>,
    /// Maintenance windows; absent in files written before they were exported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<MaintenanceRecord>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// A partner in the file. Words (kind, tier, lifecycle) are kept as text here so that a bad
/// one is reported with its record instead of failing the whole parse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerRecord {
    pub name: String,
    pub kind: String,
    pub endpoint: String,
    #[serde(default = "default_tier")]
    pub tier: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "default_lifecycle")]
    pub lifecycle: String,
    #[serde(default)]
    pub depends_on: Option<String>,
    #[serde(default)]
    pub health_check: HealthCheck,
    /// An http partner's check definition (see custom_check.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<StoredCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractRecord {
    pub partner: String,
    pub start: String,
    pub end: String,
    #[serde(default = "default_notice_days")]
    pub notice_days: u32,
    #[serde(default)]
    pub auto_renew: bool,
    #[serde(default = "default_sla_target")]
    pub sla_target: f64,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// The contract's SLA terms; absent means the defaults (see docs/SLA.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaRecord>,
    /// The contract's own expiry-alert stages, days before the notice deadline, most distant
    /// first; absent or null: the workspace's `contracts.alert_stages` setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_stages: Option<Vec<u32>>,
}

/// A maintenance window in the file: for one partner (`partner`, a name) or for every partner
/// (`"partner": null`, which must be written out), and either one-off (`from`, `to`) or weekly
/// (`days`, `at`, `duration`, `time_zone`). Every value is text as `ecosystem maintenance add`
/// takes it, so that a bad one is reported with its record and field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceRecord {
    #[serde(deserialize_with = "present_or_null")]
    pub partner: Option<String>,
    #[serde(default = "default_window_title")]
    pub title: String,
    /// One-off: the start, RFC 3339 (or `YYYY-MM-DD HH:MM` in `time_zone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// One-off: the end, after `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Weekly: the days, such as `sun`, `mon,wed` or `weekdays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<String>,
    /// Weekly: the local start time, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Weekly: how long each opening lasts, such as `2h`, `90m` or `1h30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The IANA zone of the local times: a weekly window keeps to its wall clock (default
    /// `UTC`); a one-off window reads a `YYYY-MM-DD HH:MM` in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A field that must be present but may be null.
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

fn default_window_title() -> String {
    "Maintenance".into()
}

impl MaintenanceRecord {
    fn from_window(w: &NamedWindow) -> MaintenanceRecord {
        let mut rec = MaintenanceRecord {
            partner: w.partner.clone(),
            title: w.window.title.clone(),
            from: None,
            to: None,
            days: None,
            at: None,
            duration: None,
            time_zone: None,
        };
        match &w.window.schedule {
            Schedule::Once { starts_at, ends_at } => {
                rec.from = Some(starts_at.to_rfc3339_opts(SecondsFormat::Secs, true));
                rec.to = Some(ends_at.to_rfc3339_opts(SecondsFormat::Secs, true));
            }
            Schedule::Weekly {
                days,
                local_start,
                duration_secs,
                time_zone,
            } => {
                rec.days = Some(
                    days.iter()
                        .map(|d| d.to_string().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                        .join(","),
                );
                rec.at = Some(local_start.format("%H:%M").to_string());
                rec.duration =
                    Some(maintenance::describe_duration(*duration_secs).replace(' ', ""));
                rec.time_zone = Some(time_zone.name().to_string());
            }
        }
        rec
    }

    /// The schedule the record describes, checked as `maintenance add` checks its flags (a
    /// one-off window may lie in the past); errors name the field.
    fn to_schedule(&self) -> Result<Schedule> {
        let tz = match &self.time_zone {
            Some(zone) => maintenance::parse_zone("time_zone", zone)?,
            None => Tz::UTC,
        };
        let weekly = self.days.is_some() || self.at.is_some() || self.duration.is_some();
        let once = self.from.is_some() || self.to.is_some();
        let missing = |field: &str, kind: &str| {
            Error::invalid(
                field,
                format!(
                    "missing; a {kind} window needs {}",
                    if kind == "one-off" {
                        "from and to"
                    } else {
                        "days, at and duration"
                    }
                ),
            )
        };
        match (once, weekly) {
            (true, false) => {
                let instant = |field: &str, text: &Option<String>| -> Result<DateTime<Utc>> {
                    let text = text.as_deref().ok_or_else(|| missing(field, "one-off"))?;
                    // Stored to the second.
                    Ok(maintenance::parse_instant(field, text, &tz)?.trunc_subsecs(0))
                };
                let (start, end) = (instant("from", &self.from)?, instant("to", &self.to)?);
                if end <= start {
                    return Err(Error::invalid(
                        "to",
                        format!(
                            "{:?} is not after from {:?}; the window must end after it starts",
                            self.to.as_deref().unwrap_or_default(),
                            self.from.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                Schedule::once(start, end)
            }
            (false, true) => {
                let field = |field: &str, text: &Option<String>| -> Result<String> {
                    text.clone().ok_or_else(|| missing(field, "weekly"))
                };
                let days = maintenance::parse_weekdays("days", &field("days", &self.days)?)?;
                let at = field("at", &self.at)?;
                maintenance::parse_clock_time("at", &at)?;
                let secs =
                    maintenance::parse_duration("duration", &field("duration", &self.duration)?)?;
                Schedule::weekly(&days, &at, secs, tz.name())
            }
            (true, true) => Err(Error::invalid(
                "schedule",
                "give from and to for a one-off window or days, at and duration for a weekly one, \
                 not both",
            )),
            (false, false) => Err(Error::invalid(
                "schedule",
                "give from and to for a one-off window, or days, at and duration for a weekly one",
            )),
        }
    }
}

/// A contract's SLA terms in the file. Words are text here, like a partner's, so that a bad
/// one is reported with its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRecord {
    #[serde(default = "default_sla_window")]
    pub window: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub rules: RulesRecord,
    #[serde(default)]
    pub credits: Vec<CreditRecord>,
    /// The fee per window as a plain decimal ("10000.00"); absent or null: derived from the
    /// contract value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesRecord {
    #[serde(default = "default_excluded")]
    pub maintenance: String,
    #[serde(default = "default_as_up")]
    pub degraded: String,
    #[serde(default = "default_excluded")]
    pub unknown: String,
    #[serde(default = "default_excluded")]
    pub paused: String,
}

impl Default for RulesRecord {
    fn default() -> Self {
        RulesRecord {
            maintenance: default_excluded(),
            degraded: default_as_up(),
            unknown: default_excluded(),
            paused: default_excluded(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditRecord {
    pub below_percent: f64,
    pub credit_percent: f64,
}

fn default_sla_window() -> String {
    SlaWindow::CalendarMonth.as_str().into()
}
fn default_time_zone() -> String {
    "UTC".into()
}
fn default_excluded() -> String {
    "excluded".into()
}
fn default_as_up() -> String {
    "as_up".into()
}

impl SlaRecord {
    fn from_terms(terms: &ContractSlaTerms) -> SlaRecord {
        SlaRecord {
            window: terms.window.as_str().into(),
            time_zone: terms.time_zone.name().into(),
            rules: RulesRecord {
                maintenance: sla_terms::time_rule_word(terms.rules.maintenance).into(),
                degraded: sla_terms::degraded_rule_word(terms.rules.degraded).into(),
                unknown: sla_terms::time_rule_word(terms.rules.unknown).into(),
                paused: sla_terms::paused_rule_word(terms.rules.paused).into(),
            },
            credits: terms
                .credits
                .iter()
                .map(|t| CreditRecord {
                    below_percent: t.below_percent.as_f64(),
                    credit_percent: t.credit_percent.as_f64(),
                })
                .collect(),
            fee: terms.fee_minor.map(money::format_amount),
        }
    }

    /// The terms the record describes; errors name the field under `sla.`.
    fn to_terms(&self) -> Result<ContractSlaTerms> {
        let credits = self
            .credits
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let tier = CreditTier {
                    below_percent: Percent::from_f64(
                        &format!("sla.credits[{i}].below_percent"),
                        c.below_percent,
                    )?,
                    credit_percent: Percent::from_f64(
                        &format!("sla.credits[{i}].credit_percent"),
                        c.credit_percent,
                    )?,
                };
                sla_terms::check_credit(&format!("sla.credits[{i}].below_percent"), &tier)?;
                Ok(tier)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ContractSlaTerms {
            window: sla_terms::parse_window("sla.window", &self.window)?,
            time_zone: parse_time_zone("sla.time_zone", &self.time_zone)?,
            rules: AccountingRules {
                maintenance: sla_terms::parse_time_rule(
                    "sla.rules.maintenance",
                    &self.rules.maintenance,
                )?,
                degraded: sla_terms::parse_degraded_rule(
                    "sla.rules.degraded",
                    &self.rules.degraded,
                )?,
                unknown: sla_terms::parse_time_rule("sla.rules.unknown", &self.rules.unknown)?,
                paused: sla_terms::parse_paused_rule("sla.rules.paused", &self.rules.paused)?,
            },
            credits,
            fee_minor: self
                .fee
                .as_deref()
                .map(|fee| money::parse_amount("sla.fee", fee))
                .transpose()?,
        })
    }
}

fn default_tier() -> String {
    Tier::Standard.as_str().into()
}
fn default_lifecycle() -> String {
    Lifecycle::Onboarding.as_str().into()
}
fn default_notice_days() -> u32 {
    ContractInput::DEFAULT_NOTICE_DAYS
}
fn default_sla_target() -> f64 {
    ContractInput::DEFAULT_SLA_TARGET
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub partners_added: usize,
    pub partners_updated: usize,
    pub contracts: usize,
    /// Contracts whose own alert stages the import set or cleared.
    pub alert_stages: usize,
    pub maintenance_added: usize,
    /// Windows in the file identical to one already stored, left as they were.
    pub maintenance_kept: usize,
    pub settings: usize,
}

/// Reads the registry into a workspace document.
pub fn export(registry: &Registry) -> Result<WorkspaceFile> {
    let partners = registry
        .list_partners(&PartnerFilter::default())?
        .into_iter()
        .map(|p| {
            let check = registry.custom_check(&p.name)?;
            Ok(PartnerRecord {
                check,
                name: p.name,
                kind: p.kind.as_str().into(),
                endpoint: p.endpoint,
                tier: p.tier.as_str().into(),
                owner: p.owner,
                capabilities: p.capabilities,
                tags: p.tags,
                lifecycle: p.lifecycle.as_str().into(),
                depends_on: p.depends_on,
                health_check: p.health_check,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut own_stages = contract_alerts::own_stages(registry.store().conn())?;
    let contracts = registry
        .contracts()?
        .into_iter()
        .map(|c| {
            // Only terms that differ from the defaults are written, so a file from before
            // SLA terms existed exports unchanged.
            let sla = registry
                .sla_terms(&c.partner)?
                .filter(|t| *t != ContractSlaTerms::default())
                .map(|t| SlaRecord::from_terms(&t));
            let alert_stages = own_stages.remove(&c.partner).map(|s| s.days().to_vec());
            Ok(ContractRecord {
                partner: c.partner,
                start: c.start.to_string(),
                end: c.end.to_string(),
                notice_days: c.notice_days,
                auto_renew: c.auto_renew,
                sla_target: c.sla_target,
                value: c.value,
                currency: c.currency,
                sla,
                alert_stages,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let maintenance = registry
        .maintenance_windows(None)?
        .iter()
        .map(MaintenanceRecord::from_window)
        .collect();
    Ok(WorkspaceFile {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: Some(registry.clock().now().to_rfc3339()),
        partners,
        contracts,
        maintenance,
        settings: registry.settings()?.into_iter().collect(),
    })
}

/// Writes the registry to `path` as pretty JSON, atomically (a temporary file renamed over).
pub fn export_to_file(registry: &Registry, path: &Path) -> Result<usize> {
    let doc = export(registry)?;
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| Error::BadFile {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |context: &str, source| Error::Io {
        context: format!("{context} {}", path.display()),
        source,
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("workspace"),
        std::process::id()
    ));
    std::fs::write(&tmp, &json).map_err(|e| io("cannot write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("cannot write", e)
    })?;
    Ok(doc.partners.len())
}

/// Parses a workspace document, checking its format and version.
pub fn parse(file: &str, bytes: &[u8]) -> Result<WorkspaceFile> {
    let bad = |message: String| Error::BadFile {
        file: file.to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => return Err(bad(format!("format: {other:?} is not {FORMAT:?}"))),
        None => return Err(bad(format!("format: missing; expected {FORMAT:?}"))),
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(bad(format!(
                "version: {v} is not supported; this Ecosystem reads version {VERSION}"
            )))
        }
        None => return Err(bad("version: missing or not a number".into())),
    }
    serde_json::from_value(value).map_err(|e| bad(describe_shape_error(&e)))
}

fn describe_shape_error(e: &serde_json::Error) -> String {
    // serde_json's messages name the field ("missing field `kind`", "unknown field `x`").
    e.to_string()
}

/// A checked record, ready to write.
struct Plan {
    partners: Vec<(NewPartner, Lifecycle)>,
    checks: Vec<(String, StoredCheck)>,
    contracts: Vec<(String, ContractInput, ContractSlaTerms, Option<Stages>)>,
    /// Windows to add: partner (`None`: all), title, schedule.
    windows: Vec<(Option<String>, String, Schedule)>,
    /// Windows in the file already stored.
    windows_kept: usize,
    settings: Vec<(String, String)>,
}

/// Checks every record; collects every problem instead of stopping at the first.
fn plan(registry: &Registry, file: &str, doc: &WorkspaceFile) -> Result<Plan> {
    let mut problems = Vec::new();
    let mut partners = Vec::new();
    let mut seen = HashSet::new();
    for (i, rec) in doc.partners.iter().enumerate() {
        let at = format!("partners[{i}] {:?}", rec.name);
        if !seen.insert(rec.name.as_str()) {
            problems.push(format!("{at}: name: appears more than once in the file"));
            continue;
        }
        match check_partner(rec) {
            Ok(p) => partners.push(p),
            Err(e) => problems.push(format!("{at}: {e}")),
        }
        if let Some(check) = &rec.check {
            if rec.kind != PartnerKind::Http.as_str() {
                problems.push(format!(
                    "{at}: check: only http partners have a check definition"
                ));
            } else if let Err(e) = crate::custom_check::parse(&check.source, &check.definition) {
                problems.push(format!("{at}: check: {e}"));
            }
        }
    }
    // Every dependency must point at a partner in the file or already registered, and the
    // resulting graph must have no cycle.
    let mut parent_of: HashMap<String, Option<String>> = registry
        .list_partners(&PartnerFilter::default())?
        .into_iter()
        .map(|p| (p.name, p.depends_on))
        .collect();
    for (p, _) in &partners {
        parent_of.insert(p.name.clone(), p.depends_on.clone());
    }
    for (i, rec) in doc.partners.iter().enumerate() {
        let Some(parent) = &rec.depends_on else {
            continue;
        };
        let at = format!("partners[{i}] {:?}", rec.name);
        if !parent_of.contains_key(parent) {
            problems.push(format!(
                "{at}: depends_on: no partner named {parent:?} in the file or the registry"
            ));
            continue;
        }
        let mut cursor = Some(parent.clone());
        let mut steps = 0;
        while let Some(name) = cursor {
            if name == rec.name || steps > parent_of.len() {
                problems.push(format!(
                    "{at}: depends_on: {parent:?} leads back to {:?}, a dependency cycle",
                    rec.name
                ));
                break;
            }
            cursor = parent_of.get(&name).cloned().flatten();
            steps += 1;
        }
    }
    let mut contracts = Vec::new();
    let mut contract_seen = HashSet::new();
    for (i, rec) in doc.contracts.iter().enumerate() {
        let at = format!("contracts[{i}] {:?}", rec.partner);
        if !parent_of.contains_key(&rec.partner) {
            problems.push(format!(
                "{at}: partner: no partner named {:?} in the file or the registry",
                rec.partner
            ));
            continue;
        }
        if !contract_seen.insert(rec.partner.as_str()) {
            problems.push(format!(
                "{at}: partner: has more than one contract in the file"
            ));
            continue;
        }
        match check_contract(rec) {
            Ok((c, terms, stages)) => contracts.push((rec.partner.clone(), c, terms, stages)),
            Err(e) => problems.push(format!("{at}: {e}")),
        }
    }
    // A window identical to a stored one is kept; each stored window answers for one window
    // of the file, so a file with two identical windows imports two, once.
    let mut stored: Vec<Option<NamedWindow>> = registry
        .maintenance_windows(None)?
        .into_iter()
        .map(Some)
        .collect();
    let mut windows = Vec::new();
    let mut windows_kept = 0;
    for (i, rec) in doc.maintenance.iter().enumerate() {
        let at = format!("maintenance[{i}]");
        if let Some(partner) = &rec.partner {
            if !parent_of.contains_key(partner) {
                problems.push(format!(
                    "{at}: partner: no partner named {partner:?} in the file or the registry"
                ));
                continue;
            }
        }
        let checked = maintenance::check_title("title", &rec.title)
            .and_then(|title| Ok((title.to_string(), rec.to_schedule()?)));
        let (title, schedule) = match checked {
            Ok(window) => window,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                continue;
            }
        };
        let same = stored.iter_mut().find(|s| {
            s.as_ref().is_some_and(|s| {
                s.partner == rec.partner && s.window.title == title && s.window.schedule == schedule
            })
        });
        match same {
            Some(slot) => {
                *slot = None;
                windows_kept += 1;
            }
            None => windows.push((rec.partner.clone(), title, schedule)),
        }
    }
    let mut settings = Vec::new();
    for (key, value) in &doc.settings {
        match validate_setting(key, value) {
            Ok(()) => settings.push((key.clone(), value.clone())),
            Err(e) => problems.push(format!("settings {key:?}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(Plan {
            partners,
            checks: doc
                .partners
                .iter()
                .filter_map(|p| p.check.clone().map(|c| (p.name.clone(), c)))
                .collect(),
            contracts,
            windows,
            windows_kept,
            settings,
        })
    } else {
        Err(Error::InvalidRecords {
            file: file.to_string(),
            problems,
        })
    }
}

fn check_partner(rec: &PartnerRecord) -> Result<(NewPartner, Lifecycle)> {
    let new = NewPartner {
        name: rec.name.clone(),
        kind: PartnerKind::parse_field("kind", &rec.kind)?,
        endpoint: rec.endpoint.clone(),
        tier: Tier::parse_field("tier", &rec.tier)?,
        owner: rec.owner.clone(),
        capabilities: rec.capabilities.clone(),
        tags: rec.tags.clone(),
        depends_on: rec.depends_on.clone(),
        health_check: rec.health_check,
    };
    let lifecycle = Lifecycle::parse_field("lifecycle", &rec.lifecycle)?;
    validate_new_partner(&new)?;
    Ok((new, lifecycle))
}

fn check_contract(
    rec: &ContractRecord,
) -> Result<(ContractInput, ContractSlaTerms, Option<Stages>)> {
    let date = |field: &str, s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::invalid(field, format!("{s:?} is not a date; write YYYY-MM-DD")))
    };
    let input = ContractInput {
        start: date("start", &rec.start)?,
        end: date("end", &rec.end)?,
        notice_days: rec.notice_days,
        auto_renew: rec.auto_renew,
        sla_target: rec.sla_target,
        value: rec.value.clone(),
        currency: rec.currency.clone(),
    };
    validate_contract(&input)?;
    let terms = match &rec.sla {
        Some(sla) => sla.to_terms()?,
        None => ContractSlaTerms::default(),
    };
    terms.resolve(&input).map_err(|e| match e {
        Error::Invalid { field, message } if !field.starts_with("sla.") => Error::Invalid {
            field: format!("sla.{field}"),
            message,
        },
        other => other,
    })?;
    let stages = rec
        .alert_stages
        .as_ref()
        .map(|days| Stages::new("alert_stages", days.clone()))
        .transpose()?;
    Ok((input, terms, stages))
}

/// Imports a parsed document: all of it, or (when any record is bad) nothing.
pub fn import(registry: &mut Registry, file: &str, doc: &WorkspaceFile) -> Result<ImportSummary> {
    let plan = plan(registry, file, doc)?;
    let created_at = registry.clock().now();
    registry.write(|w| {
        let mut summary = ImportSummary::default();
        // Parents first: insert every partner without its dependency, then set dependencies.
        for (p, lifecycle) in &plan.partners {
            let without_parent = NewPartner {
                depends_on: None,
                ..p.clone()
            };
            if w.partner_id(&p.name).is_ok() {
                w.replace_partner(&without_parent, *lifecycle)?;
                summary.partners_updated += 1;
            } else {
                w.insert_partner(&without_parent, *lifecycle)?;
                summary.partners_added += 1;
            }
        }
        for (p, _) in plan.partners.iter().filter(|(p, _)| p.depends_on.is_some()) {
            let change = PartnerUpdate {
                depends_on: Some(p.depends_on.clone()),
                ..PartnerUpdate::default()
            };
            w.update_partner(&p.name, &change)?;
        }
        for (partner, check) in &plan.checks {
            w.set_custom_check(partner, &check.source, &check.definition)?;
        }
        for (partner, c, terms, stages) in &plan.contracts {
            w.upsert_contract(partner, c)?;
            // The file is the truth: a contract without `sla` goes back to the defaults, one
            // without `alert_stages` to the workspace's stages.
            w.set_sla_terms(partner, terms)?;
            if contract_alerts::import_stages(w, partner, stages.as_ref())? {
                summary.alert_stages += 1;
            }
            summary.contracts += 1;
        }
        for (partner, title, schedule) in &plan.windows {
            maintenance::write_window(w, partner.as_deref(), title, schedule, created_at)?;
            summary.maintenance_added += 1;
        }
        summary.maintenance_kept = plan.windows_kept;
        for (k, v) in &plan.settings {
            w.set_setting(k, v)?;
            summary.settings += 1;
        }
        w.audit("workspace.import", "workspace", file, Some(&summary))?;
        Ok(summary)
    })
}

/// Reads and imports the file at `path`.
pub fn import_file(registry: &mut Registry, path: &Path) -> Result<ImportSummary> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::BadFile {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let doc = parse(&file, &bytes)?;
    import(registry, &file, &doc)
}
