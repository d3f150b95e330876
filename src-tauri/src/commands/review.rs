//! The quarterly review on the reports page: the review of one partner and quarter with its
//! charts for a preview, and the export of its CSV file and one-page HTML summary into a
//! folder the user picks in a folder dialog.

use ecosystem_core::review::{self, html, Quarter, QuarterlyReview};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use super::{pick_path, with_registry, CommandError, CommandResult, Pick};
use crate::AppState;

/// A review and its charts (SVG documents drawn in Rust).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReviewView {
    pub review: QuarterlyReview,
    pub charts: html::ReviewCharts,
}

/// The files an export wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReviewExport {
    pub csv_path: String,
    pub html_path: String,
}

fn quarter(text: &str) -> CommandResult<Quarter> {
    text.parse::<Quarter>().map_err(CommandError::from)
}

/// The quarterly review of `partner` for `quarter` ("2026-Q3") as of now, with its charts.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn quarterly_review(
    state: State<'_, AppState>,
    partner: String,
    quarter: String,
) -> CommandResult<ReviewView> {
    let quarter = self::quarter(&quarter)?;
    with_registry(state, move |r| {
        let review = review::quarterly_review(r, &partner, quarter, r.clock().now())?;
        let charts = html::charts(r, &review)?;
        Ok(ReviewView { review, charts })
    })
    .await
}

/// Asks for a folder, then writes the review's CSV file and HTML summary into it. `None`
/// when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, app))]
pub async fn export_quarterly_review(
    app: AppHandle,
    state: State<'_, AppState>,
    partner: String,
    quarter: String,
) -> CommandResult<Option<ReviewExport>> {
    let quarter = self::quarter(&quarter)?;
    // Start in the user's documents (else home) rather than GTK's "Recent" list, which has
    // no folder to pick.
    let start = app
        .path()
        .document_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| app.path().home_dir().ok());
    let Some(dir) = pick_path(&app, Pick::Folder, move |dialog| {
        let dialog = dialog.set_title("Export the quarterly review to a folder");
        match start {
            Some(start) => dialog.set_directory(start),
            None => dialog,
        }
    })
    .await?
    else {
        return Ok(None);
    };
    let (csv, html) = with_registry(state, move |r| {
        let review = review::quarterly_review(r, &partner, quarter, r.clock().now())?;
        review::export_files(r, &review, &dir)
    })
    .await?;
    Ok(Some(ReviewExport {
        csv_path: csv.display().to_string(),
        html_path: html.display().to_string(),
    }))
}
