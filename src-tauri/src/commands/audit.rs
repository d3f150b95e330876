//! The Audit page: the log read a page at a time with its filters
//! (`ecosystem_core::audit_view`), and the same selection exported as CSV to a file picked in
//! a save dialog. Read-only: there is no command that changes or removes an entry.

use ecosystem_core::audit_view::{self, AuditPage, AuditQuery};
use tauri::{AppHandle, State};

use super::reports::ExportDone;
use super::{pick_path, with_registry, CommandResult, Pick};
use crate::AppState;

/// One page of the audit log, newest first, with the actions for the filter menu.
#[tauri::command]
#[specta::specta]
pub async fn audit_log(state: State<'_, AppState>, query: AuditQuery) -> CommandResult<AuditPage> {
    with_registry(state, move |r| audit_view::page(r, &query)).await
}

/// Asks where to save, then writes every entry matching the query's filters as CSV there
/// (atomically). `None` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, app))]
pub async fn export_audit_csv(
    app: AppHandle,
    state: State<'_, AppState>,
    query: AuditQuery,
) -> CommandResult<Option<ExportDone>> {
    let Some(path) = pick_path(&app, Pick::SaveFile, |dialog| {
        dialog
            .set_title("Export the audit log as CSV")
            .set_file_name("audit-log.csv")
            .add_filter("CSV", &["csv"])
    })
    .await?
    else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let rows = with_registry(state, move |r| audit_view::export_csv(&path, r, &query)).await?;
    Ok(Some(ExportDone {
        path: shown,
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
    }))
}
