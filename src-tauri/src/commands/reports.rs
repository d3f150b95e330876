//! The reports page: a usage report for a date range (grouped and bucketed as asked) with its
//! chart drawn in Rust, and the CSV export of the same report to a file the user picks in a
//! save dialog, with progress events while it is written.

use std::path::PathBuf;

use ecosystem_charts::{Size, UsageChart, UsageSeries};
use ecosystem_core::csv_export;
use ecosystem_core::report::{UsageQuery, UsageReport};
use ecosystem_core::Error;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_specta::Event;

use super::{with_registry, CommandError, CommandResult};
use crate::AppState;

/// A report and its chart.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReportView {
    pub report: UsageReport,
    /// The metric the chart shows (one unit per chart); `None` when there is no usage.
    pub chart_metric: Option<String>,
    /// The chart as an SVG document, drawn by ecosystem-charts from the report's rows.
    pub chart_svg: Option<String>,
}

/// Rows written so far by a running CSV export.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ExportProgress {
    pub rows: u32,
}

/// A finished export.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ExportDone {
    pub path: String,
    pub rows: u32,
}

/// The report for `query`, and the chart of `chart_metric` (by default the first metric of
/// the totals): one line per group over the buckets.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn usage_report(
    state: State<'_, AppState>,
    query: UsageQuery,
    chart_metric: Option<String>,
) -> CommandResult<ReportView> {
    with_registry(state, move |r| {
        let report = query.run(r.store().conn(), r.clock())?;
        // The platform's own figures first; Ecosystem's call counters when there are none.
        let metric = chart_metric
            .filter(|m| report.totals.iter().any(|t| &t.metric == m))
            .or_else(|| {
                report
                    .totals
                    .iter()
                    .find(|t| !t.metric.starts_with("ecosystem."))
                    .or(report.totals.first())
                    .map(|t| t.metric.clone())
            });
        let chart_svg = match &metric {
            Some(metric) => Some(chart(&report, metric)?),
            None => None,
        };
        Ok(ReportView {
            report,
            chart_metric: metric,
            chart_svg,
        })
    })
    .await
}

fn chart(report: &UsageReport, metric: &str) -> ecosystem_core::Result<String> {
    let mut series: Vec<UsageSeries> = Vec::new();
    let mut unit = String::new();
    for row in report.rows.iter().filter(|r| r.metric == metric) {
        unit.clone_from(&row.unit);
        match series.iter_mut().find(|s| s.label == row.group) {
            Some(s) => s.points.push((row.bucket_start, row.value)),
            None => series.push(UsageSeries {
                label: row.group.clone(),
                points: vec![(row.bucket_start, row.value)],
            }),
        }
    }
    let chart = UsageChart {
        title: format!("{metric} per {}", report.bucket.as_str()),
        unit,
        series,
        size: Size {
            width: 960,
            height: 360,
        },
    };
    ecosystem_charts::usage_svg(&chart).map_err(|e| Error::invalid("chart", e.to_string()))
}

/// Asks where to save the report as CSV, then writes it there (atomically), publishing
/// [`ExportProgress`] as rows go out. `None` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, app))]
pub async fn export_usage_csv(
    app: AppHandle,
    state: State<'_, AppState>,
    query: UsageQuery,
) -> CommandResult<Option<ExportDone>> {
    let name = format!("usage-{}-to-{}.csv", query.from, query.to);
    let dialog = app.clone();
    let picked = tauri::async_runtime::spawn_blocking(move || {
        dialog
            .dialog()
            .file()
            .set_title("Export usage as CSV")
            .set_file_name(name)
            .add_filter("CSV", &["csv"])
            .blocking_save_file()
    })
    .await
    .map_err(|e| CommandError {
        code: "internal".into(),
        message: format!("the save dialog did not finish: {e}"),
        field: None,
    })?;
    let Some(picked) = picked else {
        return Ok(None);
    };
    let path: PathBuf = picked.into_path().map_err(|e| CommandError {
        code: "invalid".into(),
        message: format!("that place cannot be written to: {e}"),
        field: Some("path".into()),
    })?;
    let shown = path.display().to_string();
    let rows = with_registry(state, move |r| {
        csv_export::export_csv(&path, r.store().conn(), r.clock(), &query, |rows| {
            let rows = u32::try_from(rows).unwrap_or(u32::MAX);
            let _ = ExportProgress { rows }.emit(&app);
        })
    })
    .await?;
    Ok(Some(ExportDone {
        path: shown,
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
    }))
}
