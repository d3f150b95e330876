//! The reports page: a usage report for a date range (grouped and bucketed as asked) with its
//! chart drawn in Rust, and the CSV export of the same report to a file the user picks in a
//! save dialog, with progress events while it is written.

use std::io::Write;
use std::path::Path;

use ecosystem_charts::UsageChart;
use ecosystem_core::csv_export;
use ecosystem_core::report::{self, ReportPeriod, UsageQuery, UsageReport};
use ecosystem_core::Error;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_specta::Event;

use super::{pick_path, with_registry, CommandError, CommandResult, Pick};
use crate::AppState;

/// A report and its chart.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReportView {
    /// The report with its `rows` left out: the page shows the totals and the chart, and a
    /// year by day for 1,000 partners would be millions of rows of JSON. "Export CSV" writes
    /// every row.
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

/// The chart alone, as the page shows it first: the chart [`usage_report`] draws for the same
/// query and metric, made without the rest of the report (see [`UsageQuery::chart`]).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ChartView {
    pub period: ReportPeriod,
    /// The metric the chart shows; `None` when there is no usage.
    pub chart_metric: Option<String>,
    /// The chart as an SVG document.
    pub chart_svg: Option<String>,
}

/// The report for `query`, and the chart of `chart_metric` (by default the platform's first
/// metric in the totals): one line per group over the buckets.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn usage_report(
    state: State<'_, AppState>,
    query: UsageQuery,
    chart_metric: Option<String>,
) -> CommandResult<ReportView> {
    with_registry(state, move |r| {
        let mut report = query.run(r.store().conn(), r.clock())?;
        let metric = report::chart_metric(&report, chart_metric.as_deref());
        let chart_svg = match &metric {
            Some(metric) => Some(svg(&report::usage_chart(&report, metric))?),
            None => None,
        };
        report.rows = Vec::new();
        Ok(ReportView {
            report,
            chart_metric: metric,
            chart_svg,
        })
    })
    .await
}

/// The chart [`usage_report`] draws for `query` and `chart_metric`, without the totals: only
/// the chart's metric is read, so the page can show it while the whole report is made.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn usage_chart(
    state: State<'_, AppState>,
    query: UsageQuery,
    chart_metric: Option<String>,
) -> CommandResult<ChartView> {
    with_registry(state, move |r| {
        let made = query.chart(r.store().conn(), r.clock(), chart_metric.as_deref())?;
        Ok(ChartView {
            period: made.period,
            chart_metric: made.metric,
            chart_svg: made.chart.as_ref().map(svg).transpose()?,
        })
    })
    .await
}

fn svg(chart: &UsageChart) -> ecosystem_core::Result<String> {
    ecosystem_charts::usage_svg(chart).map_err(chart_error)
}

fn chart_error(e: ecosystem_charts::ChartError) -> Error {
    Error::invalid("chart", e.to_string())
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
    let Some(path) = pick_path(&app, Pick::SaveFile, |dialog| {
        dialog
            .set_title("Export usage as CSV")
            .set_file_name(name)
            .add_filter("CSV", &["csv"])
    })
    .await?
    else {
        return Ok(None);
    };
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

/// The formats a chart is saved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    Svg,
    Png,
}

impl ChartFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Svg => "svg",
            ChartFormat::Png => "png",
        }
    }
}

impl std::str::FromStr for ChartFormat {
    type Err = Error;

    /// `svg` or `png`, in any case; anything else is refused with the choices named.
    fn from_str(s: &str) -> ecosystem_core::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "svg" => Ok(ChartFormat::Svg),
            "png" => Ok(ChartFormat::Png),
            _ => Err(Error::invalid(
                "format",
                format!("unknown chart format {s:?}; expected svg or png"),
            )),
        }
    }
}

/// Writes `chart` to `path` in `format`, atomically: into a temporary file beside it, renamed
/// over `path` only when whole, so an existing file is either untouched or replaced.
pub fn write_chart(
    chart: &UsageChart,
    format: ChartFormat,
    path: &Path,
) -> ecosystem_core::Result<()> {
    match format {
        ChartFormat::Svg => {
            let svg = svg(chart)?;
            csv_export::write_file_atomically(path, |out| {
                out.write_all(svg.as_bytes()).map_err(|source| Error::Io {
                    context: format!("cannot write {}", path.display()),
                    source,
                })
            })
        }
        ChartFormat::Png => {
            // The PNG encoder picks the format from the extension, so the temporary file ends
            // in .png whatever the name chosen.
            let name = path.file_name().ok_or_else(|| {
                Error::invalid("path", format!("{} is not a file name", path.display()))
            })?;
            let temp = path.with_file_name(format!(
                ".{}.{}.png",
                name.to_string_lossy(),
                std::process::id()
            ));
            let written = ecosystem_charts::usage_png(chart, &temp)
                .map_err(chart_error)
                .and_then(|()| {
                    std::fs::rename(&temp, path).map_err(|source| Error::Io {
                        context: format!("cannot replace {}", path.display()),
                        source,
                    })
                });
            if written.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            written
        }
    }
}

/// Asks where to save the report's chart (of `chart_metric`, chosen as [`usage_report`]
/// chooses it) as `format` (`svg` or `png`), then draws it there at the page's size. Returns
/// the path written; `None` when the dialog was cancelled. An unknown format, or a report
/// with no usage to draw, is refused before the dialog opens.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, app))]
pub async fn export_usage_chart(
    app: AppHandle,
    state: State<'_, AppState>,
    query: UsageQuery,
    format: String,
    chart_metric: Option<String>,
) -> CommandResult<Option<String>> {
    let format: ChartFormat = format.parse().map_err(CommandError::from)?;
    let (chart, metric, from, to) = with_registry(state, move |r| {
        let made = query.chart(r.store().conn(), r.clock(), chart_metric.as_deref())?;
        match (made.chart, made.metric) {
            (Some(chart), Some(metric)) => Ok((chart, metric, made.period.from, made.period.to)),
            _ => Err(Error::invalid(
                "chart",
                "no usage recorded in this range: nothing to draw",
            )),
        }
    })
    .await?;
    let ext = format.extension();
    let name = format!(
        "usage-{}-{from}-to-{to}.{ext}",
        metric.replace(['/', '\\'], "_")
    );
    let Some(path) = pick_path(&app, Pick::SaveFile, move |dialog| {
        dialog
            .set_title(format!("Save chart as {}", ext.to_uppercase()))
            .set_file_name(name)
            .add_filter(ext.to_uppercase(), &[ext])
    })
    .await?
    else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    tauri::async_runtime::spawn_blocking(move || write_chart(&chart, format, &path))
        .await
        .map_err(|e| CommandError {
            code: "internal".into(),
            message: format!("the chart was not written: {e}"),
            field: None,
        })?
        .map_err(CommandError::from)?;
    Ok(Some(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_formats_are_svg_or_png_and_anything_else_is_refused_by_name() {
        assert_eq!("svg".parse::<ChartFormat>().unwrap(), ChartFormat::Svg);
        assert_eq!(" PNG ".parse::<ChartFormat>().unwrap(), ChartFormat::Png);
        for bad in ["jpeg", "", "svgz", "image/svg+xml"] {
            let e = bad.parse::<ChartFormat>().unwrap_err();
            assert_eq!(e.field(), Some("format"));
            let message = e.to_string();
            assert!(message.contains(&format!("{bad:?}")), "{message}");
            assert!(message.contains("expected svg or png"), "{message}");
        }
    }

    fn chart() -> UsageChart {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        UsageChart::from_rows(
            "calls per day".into(),
            "calls".into(),
            [("a", day(1), 1.0), ("a", day(2), 3.0), ("b", day(1), 2.0)],
            UsageChart::MAX_SERIES,
            ecosystem_charts::Size::WIDE,
        )
    }

    #[test]
    fn a_chart_is_written_whole_as_svg_or_png_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("ecosystem-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg_path = dir.join("chart.svg");
        write_chart(&chart(), ChartFormat::Svg, &svg_path).unwrap();
        let text = std::fs::read_to_string(&svg_path).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
        // A name without the extension still gets a PNG.
        let png_path = dir.join("chart");
        write_chart(&chart(), ChartFormat::Png, &png_path).unwrap();
        let bytes = std::fs::read(&png_path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
