//! The Settings page: every workspace setting with its meaning, value and default
//! (`ecosystem_core::settings_view`), and changes validated and audited in core.

use ecosystem_core::settings_view::{self, SettingView};
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// Every setting a workspace may carry, with what it accepts, its value and its default.
#[tauri::command]
#[specta::specta]
pub async fn list_settings(state: State<'_, AppState>) -> CommandResult<Vec<SettingView>> {
    with_registry(state, |r| settings_view::list(r)).await
}

/// Stores a setting's new value (audited); a refusal names the setting and what it takes.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn update_setting(
    state: State<'_, AppState>,
    key: String,
    value: String,
) -> CommandResult<SettingView> {
    with_registry(state, move |r| settings_view::update(r, &key, &value)).await
}
