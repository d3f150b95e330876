//! The quarterly review as a one-page summary: a self-contained HTML file (no script, no
//! remote resource, inline SVG charts drawn by `ecosystem-charts`) whose print style fits one
//! A4 page. Every piece of text from the data is HTML-escaped with [`escape`].

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use ecosystem_charts::{Band, HealthChart, Size, UptimeChart, UsageChart, UsageSeries};

use crate::error::{Error, Result};
use crate::health_state::HealthState;
use crate::health_store::{HealthHistory, Resolution};
use crate::registry::Registry;
use crate::sla::money_text;

use super::{Quarter, QuarterlyReview, ReviewUsage};

/// The review's charts as SVG documents; `None` where there is nothing to draw.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewCharts {
    /// Uptime by month against the target (with an SLA and some counted time).
    pub uptime_svg: Option<String>,
    /// The first cost metric (else the first platform metric) over this and the previous
    /// quarter, by month.
    pub usage_svg: Option<String>,
    /// The quarter's health timeline (state bands, daily mean latency).
    pub health_svg: Option<String>,
}

/// Text safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn chart_error(e: ecosystem_charts::ChartError) -> Error {
    Error::invalid("chart", e.to_string())
}

fn instant(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::invalid("review", format!("{text:?} is not an instant: {e}")))
}

fn band(state: HealthState) -> Band {
    match state {
        HealthState::Healthy => Band::Healthy,
        HealthState::Degraded => Band::Degraded,
        HealthState::Unhealthy => Band::Unhealthy,
        HealthState::Paused => Band::Paused,
        HealthState::Maintenance => Band::Maintenance,
        HealthState::Unknown => Band::Unknown,
    }
}

/// The usage metric the summary charts: the first cost, else the first platform metric,
/// else the first.
pub fn charted_metric(review: &QuarterlyReview) -> Option<&ReviewUsage> {
    review
        .usage
        .iter()
        .find(|u| u.cost)
        .or_else(|| {
            review
                .usage
                .iter()
                .find(|u| !u.metric.starts_with(crate::usage::ECOSYSTEM_PREFIX))
        })
        .or(review.usage.first())
}

/// Draws the review's charts; the health timeline reads the partner's history from `registry`.
pub fn charts(registry: &Registry, review: &QuarterlyReview) -> Result<ReviewCharts> {
    let mut out = ReviewCharts::default();
    if let Some(sla) = &review.sla {
        if review.months.iter().any(|m| m.attained_percent.is_some()) {
            let chart = UptimeChart {
                title: "Uptime by month".into(),
                months: review
                    .months
                    .iter()
                    .map(|m| (m.label.clone(), m.attained_percent))
                    .collect(),
                target: sla.target_percent,
                size: Size {
                    width: 480,
                    height: 260,
                },
            };
            out.uptime_svg = Some(ecosystem_charts::uptime_svg(&chart).map_err(chart_error)?);
        }
    }
    if let Some(metric) = charted_metric(review) {
        out.usage_svg = usage_chart(registry, review, metric)?;
    }
    out.health_svg = Some(health_chart(registry, review)?);
    Ok(out)
}

/// The metric by UTC month over the previous quarter and this one.
fn usage_chart(
    registry: &Registry,
    review: &QuarterlyReview,
    metric: &ReviewUsage,
) -> Result<Option<String>> {
    let quarter: Quarter = review.quarter.parse()?;
    let previous = quarter.previous()?;
    let p = registry.partner(&review.partner)?;
    let now = instant(&review.generated_at)?;
    let trends = crate::contract_alerts::usage_by_month(
        registry.store().conn(),
        p.id,
        previous.first_day(),
        quarter.last_day(),
        now,
    )?;
    let Some(trend) = trends.iter().find(|t| t.metric == metric.metric) else {
        return Ok(None);
    };
    let points: Vec<_> = trend
        .months
        .iter()
        .filter_map(|m| {
            chrono::NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d")
                .ok()
                .map(|d| (d, m.value))
        })
        .collect();
    let chart = UsageChart {
        title: format!("{} by month ({previous} and {quarter})", metric.metric),
        unit: metric.unit.clone(),
        series: vec![UsageSeries {
            label: metric.metric.clone(),
            points,
        }],
        size: Size {
            width: 480,
            height: 260,
        },
    };
    ecosystem_charts::usage_svg(&chart)
        .map(Some)
        .map_err(chart_error)
}

/// State bands over the quarter (to now) and the daily mean latency.
fn health_chart(registry: &Registry, review: &QuarterlyReview) -> Result<String> {
    let p = registry.partner(&review.partner)?;
    let from = instant(&review.start)?;
    let now = instant(&review.generated_at)?;
    let to = instant(&review.end)?.min(now);
    let history = HealthHistory::new(registry.store().conn());
    let mut bands = Vec::new();
    let mut cursor = from;
    let mut state = history
        .transition_before(p.id, from)?
        .map_or(HealthState::Unknown, |t| t.transition.to);
    for t in history.transitions(p.id, from, to)? {
        if t.transition.at > cursor {
            bands.push((cursor, t.transition.at, band(state)));
            cursor = t.transition.at;
        }
        state = t.transition.to;
    }
    if to > cursor {
        bands.push((cursor, to, band(state)));
    }
    let latency = history
        .rollups(p.id, Resolution::Day, from, to)?
        .into_iter()
        .map(|r| {
            let mean = (r.checks > 0).then(|| r.latency_sum_ms as f64 / r.checks as f64);
            (r.start, mean)
        })
        .collect();
    let chart = HealthChart {
        title: "Health over the quarter".into(),
        from,
        // A quarter that starts now still gets a visible range.
        to: to.max(from + chrono::Duration::hours(1)),
        bands,
        latency,
        size: Size {
            width: 980,
            height: 230,
        },
    };
    ecosystem_charts::health_svg(&chart).map_err(chart_error)
}

const STYLE: &str = "
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.35 'DejaVu Sans', Arial, sans-serif; color: #1f2937; margin: 0 auto;
  max-width: 190mm; }
h1 { font-size: 16pt; margin: 0 0 2pt; }
h2 { font-size: 11pt; margin: 8pt 0 3pt; border-bottom: 1px solid #e5e7eb; }
p.meta { margin: 0 0 4pt; color: #4b5563; }
.figures { display: flex; flex-wrap: wrap; gap: 4pt; margin: 4pt 0; }
.figure { flex: 1 1 0; min-width: 28mm; border: 1px solid #e5e7eb; border-radius: 3pt;
  padding: 3pt 5pt; }
.figure b { display: block; font-size: 13pt; }
.figure span { color: #4b5563; font-size: 8pt; }
.charts { display: flex; gap: 4pt; }
.charts > div { flex: 1 1 0; }
svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { text-align: left; padding: 1pt 4pt; border-bottom: 1px solid #f3f4f6; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.missed { color: #b45309; font-weight: bold; }
ul.notes { margin: 2pt 0; padding-left: 14pt; color: #4b5563; }
@media print { body { max-width: none; } h2 { break-after: avoid; } .charts, table, .figures
  { break-inside: avoid; } }
";

/// Seconds as "1 h 5 min", "42 s".
pub fn duration_text(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

fn percent_text(value: Option<f64>) -> String {
    value.map_or_else(|| "no data".into(), |v| format!("{v:.3} %"))
}

fn number_text(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let mut out = String::new();
    crate::csv_export::write_number(&mut out, rounded);
    out
}

/// The one-page summary of `review` with its `charts`.
pub fn render(review: &QuarterlyReview, charts: &ReviewCharts) -> String {
    let e = escape;
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("{} — quarterly review {}", review.partner, review.quarter);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        e(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", e(&title));
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} · {} tier · owner {} · {} to {} ({}) · made {}</p>",
        e(review.kind.as_str()),
        e(review.tier.as_str()),
        e(review.owner.as_deref().unwrap_or("none")),
        e(&review.start),
        e(&review.end),
        e(&review.time_zone),
        e(&review.generated_at),
    );
    if !review.notes.is_empty() {
        h.push_str("<ul class=\"notes\">");
        for note in &review.notes {
            let _ = write!(h, "<li>{}</li>", e(note));
        }
        h.push_str("</ul>\n");
    }

    // Key figures.
    h.push_str("<div class=\"figures\">");
    let mut figure = |value: String, label: &str| {
        let _ = write!(
            h,
            "<div class=\"figure\"><b>{}</b><span>{}</span></div>",
            e(&value),
            e(label)
        );
    };
    match &review.sla {
        Some(sla) => {
            figure(percent_text(sla.attained_percent), "uptime in the quarter");
            figure(format!("{} %", sla.target_percent), "SLA target");
            figure(
                format!("{} met, {} missed", sla.months_met, sla.months_missed),
                "months",
            );
            figure(sla.credit_owed.clone(), "service credit owed");
        }
        None => figure("no SLA".into(), "uptime target"),
    }
    figure(review.incidents.len().to_string(), "incidents");
    figure(
        review
            .mttr_seconds
            .map_or_else(|| "none resolved".into(), duration_text),
        "MTTR",
    );
    h.push_str("</div>\n");

    // Charts.
    h.push_str("<div class=\"charts\">");
    for svg in [&charts.uptime_svg, &charts.usage_svg]
        .into_iter()
        .flatten()
    {
        let _ = write!(h, "<div>{}</div>", strip_xml_declaration(svg));
    }
    h.push_str("</div>\n");
    if let Some(svg) = &charts.health_svg {
        let _ = writeln!(h, "<div>{}</div>", strip_xml_declaration(svg));
    }

    // Months.
    h.push_str(
        "<h2>Uptime by month</h2>\n<table><tr><th>Month</th><th class=\"n\">Uptime</th>\
         <th class=\"n\">Target</th><th>Met</th><th class=\"n\">Down time</th>\
         <th class=\"n\">Incidents</th></tr>",
    );
    for m in &review.months {
        let met = match m.met {
            Some(true) => "yes",
            Some(false) => "<span class=\"missed\">no</span>",
            None => "—",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{met}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            e(&m.label),
            e(&if review.sla.is_some() {
                percent_text(m.attained_percent)
            } else {
                "no SLA".into()
            }),
            e(&m.target_percent.map_or("—".into(), |t| format!("{t} %"))),
            e(&m.down_seconds.map_or("—".into(), duration_text)),
            m.incidents,
        );
    }
    h.push_str("</table>\n");

    // Incidents.
    let _ = writeln!(
        h,
        "<h2>Incidents ({}, {} open)</h2>",
        review.incidents.len(),
        review.open_incidents
    );
    if review.incidents.is_empty() {
        h.push_str("<p>None in the quarter.</p>\n");
    } else {
        h.push_str(
            "<table><tr><th>Start</th><th>End</th><th class=\"n\">Duration</th>\
             <th>Reason</th></tr>",
        );
        for i in review.incidents.iter().take(12) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                e(&i.start),
                e(i.end.as_deref().unwrap_or("still open")),
                e(&duration_text(i.duration_seconds)),
                e(&i.reason),
            );
        }
        if review.incidents.len() > 12 {
            let _ = write!(
                h,
                "<tr><td colspan=\"4\">and {} more (all are in the CSV)</td></tr>",
                review.incidents.len() - 12
            );
        }
        h.push_str("</table>\n");
    }

    // Usage and cost.
    h.push_str("<h2>Usage and cost</h2>\n");
    if review.usage.is_empty() {
        h.push_str("<p>No usage was recorded in the quarter.</p>\n");
    } else {
        h.push_str("<table><tr><th>Metric</th><th>Unit</th>");
        if let Some(first) = review.usage.first() {
            for m in &first.months {
                let _ = write!(h, "<th class=\"n\">{}</th>", e(&m.month));
            }
        }
        h.push_str(
            "<th class=\"n\">Total</th><th class=\"n\">Previous quarter</th>\
             <th class=\"n\">Change</th></tr>",
        );
        for u in &review.usage {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td>", e(&u.metric), e(&u.unit));
            for m in &u.months {
                let _ = write!(
                    h,
                    "<td class=\"n\">{}</td>",
                    e(&m.value.map_or("—".into(), number_text))
                );
            }
            let _ = write!(
                h,
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                e(&number_text(u.total)),
                e(&u.previous_total.map_or("—".into(), number_text)),
                e(&u.change_percent
                    .map_or("—".into(), |c| format!("{c:+.1} %"))),
            );
        }
        h.push_str("</table>\n");
    }

    // Contract.
    h.push_str("<h2>Contract</h2>\n");
    match &review.contract {
        Some(c) => {
            let value = match (&c.value, &c.currency) {
                (Some(v), Some(cur)) => format!("{v} {cur}"),
                (Some(v), None) => v.clone(),
                _ => "not recorded".into(),
            };
            let _ = write!(
                h,
                "<p>From {} to {} · notice period {} days, notice deadline {} · {} · value {}",
                e(&c.start),
                e(&c.end),
                c.notice_days,
                e(&c.notice_deadline),
                if c.auto_renew {
                    "renews automatically"
                } else {
                    "does not renew automatically"
                },
                e(&value),
            );
            if let Some(sla) = &review.sla {
                let credits: Vec<String> = sla
                    .credits
                    .iter()
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c.period,
                            money_text(c.credit_owed_minor, &sla.currency)
                        )
                    })
                    .collect();
                let _ = write!(
                    h,
                    " · credits by SLA window ({}): {}",
                    e(sla.window.as_str()),
                    e(&credits.join(", "))
                );
            }
            h.push_str("</p>\n");
        }
        None => h.push_str("<p>No contract is recorded for this partner.</p>\n"),
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// An SVG document without its `<?xml ...?>` line, for inlining.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg, |(_, after)| after.trim_start()),
        None => svg,
    }
}
