//! The demo workspace: whether it runs, start it, remove it (see `crate::demo`).

use ecosystem_core::contract_alerts;
use serde::Serialize;
use tauri::State;
use tauri_specta::Event;

use super::{with_registry, CommandError, CommandResult};
use crate::demo::DemoSlot;
use crate::health_service::ContractAlertsChanged;
use crate::AppState;

/// What the header and the catalogue's empty state need to know.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DemoStatus {
    /// The workspace is marked as a demo.
    pub demo: bool,
    /// partner-sim is running in the app.
    pub running: bool,
    /// The demo partners registered.
    pub partners: Vec<String>,
}

fn internal(message: String) -> CommandError {
    CommandError {
        code: "internal".into(),
        message,
        field: None,
    }
}

/// Whether this workspace is a demo, and its partners.
#[tauri::command]
#[specta::specta]
pub async fn demo_status(
    state: State<'_, AppState>,
    slot: State<'_, DemoSlot>,
) -> CommandResult<DemoStatus> {
    let running = slot.is_running();
    with_registry(state, move |registry| {
        Ok(DemoStatus {
            demo: ecosystem_core::demo::is_demo(registry)?,
            running,
            partners: ecosystem_core::demo::registered(registry)?
                .into_iter()
                .map(|p| p.name)
                .collect(),
        })
    })
    .await
}

/// Starts partner-sim and registers the six demo partners; returns their names.
#[tauri::command]
#[specta::specta]
pub async fn start_demo(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    slot: State<'_, DemoSlot>,
) -> CommandResult<Vec<String>> {
    let slot = slot.inner().clone();
    let registry = state.registry.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut guard = registry
            .lock()
            .map_err(|_| internal("the registry is unavailable; restart Ecosystem".into()))?;
        let db = guard.store().path().to_path_buf();
        let names = slot
            .start_new(&mut guard, db)
            .map_err(|message| CommandError {
                code: if message.contains("already") {
                    "conflict"
                } else {
                    "internal"
                }
                .into(),
                message: format!("the demo could not start: {message}"),
                field: None,
            })?;
        // The contract near its notice deadline shows on the Contracts badge at once, not at
        // the health service's next look at contracts.
        let now = chrono::Utc::now();
        let open = contract_alerts::raise_due(&mut guard, now)
            .and_then(|_| contract_alerts::open_alert_count(&guard, now));
        match open {
            Ok(open) => {
                let event = ContractAlertsChanged {
                    open: u32::try_from(open).unwrap_or(u32::MAX),
                };
                if let Err(e) = event.emit(&app) {
                    tracing::warn!(error = %e, "cannot publish the demo's contract alerts");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the demo's contract alerts were not raised"),
        }
        Ok(names)
    })
    .await
    .map_err(|e| internal(format!("the command did not finish: {e}")))?
}

/// Deletes the demo partners with their credentials (keyring items too) and stops partner-sim.
#[tauri::command]
#[specta::specta]
pub async fn remove_demo(
    state: State<'_, AppState>,
    slot: State<'_, DemoSlot>,
) -> CommandResult<Vec<String>> {
    let removed = with_registry(state, ecosystem_core::demo::remove).await?;
    let slot = slot.inner().clone();
    tauri::async_runtime::spawn_blocking(move || slot.stop())
        .await
        .map_err(|e| internal(format!("the simulator did not stop: {e}")))?;
    Ok(removed)
}
