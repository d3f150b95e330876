//! Health in the app: the catalogue's badges ([`health_overview`]), the partner page's
//! Health card ([`partner_health`]) and its SLA card ([`partner_sla`]). Everything is read
//! through `ecosystem_core::health_store::HealthHistory` on the registry's connection (the SLA
//! through `ecosystem_core::sla::current_status`); this module only shapes it for the UI
//! (times as RFC 3339 UTC text, outcomes as words).

use ecosystem_core::health_state::HealthState;
use ecosystem_core::health_store::{
    HealthHistory, Incident, Rollup, Sample, SampleOutcome, Series, UptimeWindows,
};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::sla::{self, SlaStatus};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// How many of the latest checks the heartbeat bar shows.
pub const RECENT_CHECKS: usize = 60;

pub use ecosystem_core::health_store::HealthBadge;

/// The ranges the partner page offers for its chart, latency and incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, specta::Type)]
pub enum HealthRange {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
    #[serde(rename = "1y")]
    Year,
}

impl HealthRange {
    /// The index of the uptime window of the same name (and length).
    fn window(self) -> usize {
        match self {
            HealthRange::Day => 0,
            HealthRange::Week => 1,
            HealthRange::Month => 2,
            HealthRange::Quarter => 3,
            HealthRange::Year => 4,
        }
    }
}

/// What one check (or, over long ranges, one rollup bucket) said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcomeView {
    Ok,
    /// Degraded: slow.
    Slow,
    /// Degraded: a capability failing.
    CapabilityFailing,
    Failed,
}

impl From<SampleOutcome> for CheckOutcomeView {
    fn from(outcome: SampleOutcome) -> Self {
        match outcome {
            SampleOutcome::Ok => CheckOutcomeView::Ok,
            SampleOutcome::Slow => CheckOutcomeView::Slow,
            SampleOutcome::CapabilityFailing => CheckOutcomeView::CapabilityFailing,
            SampleOutcome::Failed => CheckOutcomeView::Failed,
        }
    }
}

/// One tick of the heartbeat bar.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct CheckView {
    pub at: String,
    pub outcome: CheckOutcomeView,
    pub latency_ms: u32,
    pub error_class: Option<ErrorClass>,
}

impl From<&Sample> for CheckView {
    fn from(s: &Sample) -> Self {
        CheckView {
            at: s.at.to_rfc3339(),
            outcome: s.outcome.into(),
            latency_ms: s.latency_ms,
            error_class: s.error_class,
        }
    }
}

/// One point of the latency chart: a raw check over 24 h, a rollup bucket over longer ranges.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct SeriesPoint {
    /// The check's time, or the start of the bucket.
    pub at: String,
    /// The check's latency, or the bucket's mean over successful checks; `None` when no check
    /// succeeded (a failure's latency is its timeout, not the platform's).
    pub latency_ms: Option<u32>,
    /// The largest successful latency in the bucket (the check's own for a raw check).
    pub latency_max_ms: Option<u32>,
    /// The worst outcome in the bucket.
    pub outcome: CheckOutcomeView,
    pub checks: u32,
    pub failed: u32,
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl From<&Sample> for SeriesPoint {
    fn from(s: &Sample) -> Self {
        let failed = s.outcome == SampleOutcome::Failed;
        let latency = (!failed).then_some(s.latency_ms);
        SeriesPoint {
            at: s.at.to_rfc3339(),
            latency_ms: latency,
            latency_max_ms: latency,
            outcome: s.outcome.into(),
            checks: 1,
            failed: u32::from(failed),
        }
    }
}

impl From<&Rollup> for SeriesPoint {
    fn from(r: &Rollup) -> Self {
        let succeeded = r.ok + r.degraded;
        let outcome = if r.failed > 0 {
            CheckOutcomeView::Failed
        } else if r.degraded > 0 {
            CheckOutcomeView::Slow
        } else {
            CheckOutcomeView::Ok
        };
        SeriesPoint {
            at: r.start.to_rfc3339(),
            latency_ms: (succeeded > 0)
                .then(|| clamp_u32((r.latency_sum_ms + succeeded / 2) / succeeded)),
            latency_max_ms: (succeeded > 0).then(|| clamp_u32(r.latency_max_ms)),
            outcome,
            checks: clamp_u32(r.checks),
            failed: clamp_u32(r.failed),
        }
    }
}

/// Uptime in percent per window; `None` where there is no data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, specta::Type)]
pub struct UptimeView {
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
    #[serde(rename = "1y")]
    pub y1: Option<f64>,
}

impl From<UptimeWindows> for UptimeView {
    fn from(u: UptimeWindows) -> Self {
        UptimeView {
            h24: u.h24,
            d7: u.d7,
            d30: u.d30,
            d90: u.d90,
            y1: u.y1,
        }
    }
}

/// Latency percentiles of the successful checks in the range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, specta::Type)]
pub struct LatencyView {
    pub p50: Option<u32>,
    pub p95: Option<u32>,
    pub checks: u32,
    /// Estimated from rollup histograms rather than raw samples.
    pub estimated: bool,
}

/// A period when the partner was unhealthy.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct IncidentView {
    pub start: String,
    /// `None` while it goes on.
    pub end: Option<String>,
    pub ongoing: bool,
    /// To its end, or to now while ongoing.
    pub duration_secs: u32,
    pub reason: String,
    pub error_class: Option<ErrorClass>,
}

impl From<Incident> for IncidentView {
    fn from(i: Incident) -> Self {
        IncidentView {
            start: i.start.to_rfc3339(),
            end: i.end.map(|t| t.to_rfc3339()),
            ongoing: i.ongoing,
            duration_secs: u32::try_from(i.duration_secs.max(0)).unwrap_or(u32::MAX),
            reason: i.reason,
            error_class: i.error_class,
        }
    }
}

/// Everything the partner page's Health card shows.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct PartnerHealth {
    pub state: HealthState,
    pub since: Option<String>,
    pub reason: Option<String>,
    pub error_class: Option<ErrorClass>,
    pub range: HealthRange,
    /// The range's start and end (now).
    pub from: String,
    pub to: String,
    pub uptime: UptimeView,
    pub latency: LatencyView,
    /// The latest checks (at most [`RECENT_CHECKS`] of the last 24 h), oldest first.
    pub recent_checks: Vec<CheckView>,
    /// The chart's points over the range, oldest first.
    pub series: Vec<SeriesPoint>,
    /// Unhealthy periods overlapping the range, oldest first.
    pub incidents: Vec<IncidentView>,
}

/// Every partner's current state, by name, for the catalogue's badges; one query.
#[tauri::command]
#[specta::specta]
pub async fn health_overview(state: State<'_, AppState>) -> CommandResult<Vec<HealthBadge>> {
    with_registry(state, |r| HealthHistory::new(r.store().conn()).overview()).await
}

/// A partner's health over `range`: state, uptime windows, latency, the latest checks, the
/// chart's series and the incidents.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn partner_health(
    state: State<'_, AppState>,
    name: String,
    range: HealthRange,
) -> CommandResult<PartnerHealth> {
    with_registry(state, move |r| {
        let partner = r.partner(&name)?;
        let now = r.clock().now();
        let from = now - UptimeWindows::WINDOWS[range.window()].1;
        let history = HealthHistory::new(r.store().conn());
        let report = history.report(partner.id, &partner.name, from, now)?;
        // Samples are whole seconds; the bound past now keeps the check of this very second.
        let day = UptimeWindows::WINDOWS[HealthRange::Day.window()].1;
        let recent = history.samples(partner.id, now - day, now + day)?;
        let recent = &recent[recent.len().saturating_sub(RECENT_CHECKS)..];
        let series = match &report.series {
            Series::Samples(samples) => samples.iter().map(SeriesPoint::from).collect(),
            Series::Rollups(rollups) => rollups.iter().map(SeriesPoint::from).collect(),
        };
        Ok(PartnerHealth {
            state: report.state,
            since: report.since.map(|t| t.to_rfc3339()),
            reason: report.reason,
            error_class: report.error_class,
            range,
            from: report.from.to_rfc3339(),
            to: report.to.to_rfc3339(),
            uptime: report.uptime.into(),
            latency: LatencyView {
                p50: report.latency_ms.p50,
                p95: report.latency_ms.p95,
                checks: clamp_u32(report.latency_ms.checks),
                estimated: report.latency_ms.estimated,
            },
            recent_checks: recent.iter().map(CheckView::from).collect(),
            series,
            incidents: report.incidents.into_iter().map(Into::into).collect(),
        })
    })
    .await
}

/// The partner page's health timeline: the chart as SVG, and what it shows in words (the
/// image's text alternative).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct HealthChartView {
    /// `None` when the range holds no check and no known state.
    pub svg: Option<String>,
    pub description: String,
}

impl HealthRange {
    /// The range in words: "24 hours", "7 days", ...
    fn words(self) -> &'static str {
        match self {
            HealthRange::Day => "24 hours",
            HealthRange::Week => "7 days",
            HealthRange::Month => "30 days",
            HealthRange::Quarter => "90 days",
            HealthRange::Year => "year",
        }
    }
}

/// The partner's health and latency timeline over `range`, drawn by ecosystem-charts from
/// the stored transitions and the samples or rollups the range calls for.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn partner_health_chart(
    state: State<'_, AppState>,
    name: String,
    range: HealthRange,
) -> CommandResult<HealthChartView> {
    with_registry(state, move |r| {
        let partner = r.partner(&name)?;
        let now = r.clock().now();
        let from = now - UptimeWindows::WINDOWS[range.window()].1;
        let chart = HealthHistory::new(r.store().conn()).timeline_chart(
            partner.id,
            format!(
                "{}: health and latency, last {}",
                partner.name,
                range.words()
            ),
            from,
            now,
            now,
            ecosystem_charts::Size::WIDE,
        )?;
        let Some(chart) = chart else {
            return Ok(HealthChartView {
                svg: None,
                description: format!(
                    "No checks recorded for {} in the last {}.",
                    partner.name,
                    range.words()
                ),
            });
        };
        let svg = ecosystem_charts::health_svg(&chart)
            .map_err(|e| ecosystem_core::Error::invalid("chart", e.to_string()))?;
        Ok(HealthChartView {
            svg: Some(svg),
            description: format!(
                "Health of {} over the last {}: coloured bands for its states \
                 (healthy, degraded, unhealthy, paused, maintenance, unknown) under its \
                 latency in milliseconds, the line broken where checks failed or stopped.",
                partner.name,
                range.words()
            ),
        })
    })
    .await
}

/// The SLA of the partner's contract over the window holding now (month or quarter to date):
/// target, attained, error budget, status, rules in words and the credit owed so far; `None`
/// when the partner has no contract or its contract no SLA target.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn partner_sla(
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<Option<SlaStatus>> {
    with_registry(state, move |r| sla::current_status(r, &name)).await
}

/// Pauses a partner's health checks (`paused: true`) or resumes them; audited, and picked up
/// by whichever poller runs. Pausing a paused partner, or resuming one that is not, is refused.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn set_partner_paused(
    state: State<'_, AppState>,
    name: String,
    paused: bool,
) -> CommandResult<()> {
    with_registry(state, move |r| {
        if paused {
            r.pause_partner(&name, None)
        } else {
            r.resume_partner(&name, None)
        }
        .map(|_| ())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_range_reads_the_uptime_window_of_its_own_name() {
        for range in [
            HealthRange::Day,
            HealthRange::Week,
            HealthRange::Month,
            HealthRange::Quarter,
            HealthRange::Year,
        ] {
            let word = serde_json::to_value(range).expect("a range serialises");
            assert_eq!(word, UptimeWindows::WINDOWS[range.window()].0);
            let back: HealthRange = serde_json::from_value(word).expect("and reads back");
            assert_eq!(back, range);
        }
    }

    #[test]
    fn a_rollup_point_shows_the_mean_of_its_successful_checks_and_its_worst_outcome() {
        // 2026-11-26 13:47:41 UTC, read through serde (the shell names no time crate).
        let at =
            serde_json::from_value(serde_json::json!("2026-11-26T13:47:41Z")).expect("a UTC time");
        let sample = Sample {
            at,
            latency_ms: 120,
            outcome: SampleOutcome::Ok,
            error_class: None,
        };
        let failed = Sample {
            outcome: SampleOutcome::Failed,
            latency_ms: 10_000,
            error_class: Some(ErrorClass::TimedOut),
            ..sample.clone()
        };
        let point = SeriesPoint::from(&failed);
        assert_eq!(point.latency_ms, None, "a failure's latency is its timeout");
        assert_eq!((point.checks, point.failed), (1, 1));
        let rollup = Rollup {
            start: sample.at,
            resolution: ecosystem_core::health_store::Resolution::Hour,
            checks: 4,
            ok: 2,
            degraded: 1,
            failed: 1,
            latency_sum_ms: 301,
            latency_max_ms: 150,
            histogram: Default::default(),
        };
        let point = SeriesPoint::from(&rollup);
        assert_eq!(point.latency_ms, Some(100));
        assert_eq!(point.latency_max_ms, Some(150));
        assert_eq!(point.outcome, CheckOutcomeView::Failed);
        assert_eq!(CheckView::from(&sample).at, "2026-11-26T13:47:41+00:00");
    }
}
