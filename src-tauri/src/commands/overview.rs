//! The Overview page: the workspace at a glance, aggregated in core
//! (`ecosystem_core::overview`) in a handful of queries whatever the number of partners.

use ecosystem_core::overview::{self, Overview};
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// Counts by health state, the partners unhealthy or degraded now, SLAs at risk, contracts
/// needing a decision and the latest health changes.
#[tauri::command]
#[specta::specta]
pub async fn overview(state: State<'_, AppState>) -> CommandResult<Overview> {
    with_registry(state, |r| overview::overview(r)).await
}
