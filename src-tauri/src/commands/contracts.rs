//! Contracts and their expiry alerts in the app: the alerts page and its badge, the actions on
//! an alert (acknowledge, snooze, renewed, terminated) and the renewal brief. Each command is
//! a call into `ecosystem_core::contract_alerts` with the registry's clock; dates cross as
//! `YYYY-MM-DD` text and a bad one is refused naming its field.

use ecosystem_core::contract_alerts::{self, ContractAlert, ExpiryView, RenewalBrief};
use ecosystem_core::validate::date;
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// The open alerts (what the badge counts), or with `all` every recorded one.
#[tauri::command]
#[specta::specta]
pub async fn contract_alerts(
    state: State<'_, AppState>,
    all: bool,
) -> CommandResult<Vec<ContractAlert>> {
    with_registry(state, move |r| {
        contract_alerts::list_alerts(r, r.clock().now(), all)
    })
    .await
}

/// Contracts whose notice deadline falls within `within_days` (or has passed), soonest first.
#[tauri::command]
#[specta::specta]
pub async fn expiring_contracts(
    state: State<'_, AppState>,
    within_days: u32,
) -> CommandResult<Vec<ExpiryView>> {
    with_registry(state, move |r| {
        contract_alerts::expiring(r, within_days, r.clock().now())
    })
    .await
}

/// Acknowledges the partner's open alert (or the given stage): that stage says no more.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn acknowledge_contract_alert(
    state: State<'_, AppState>,
    partner: String,
    stage: Option<u32>,
) -> CommandResult<ContractAlert> {
    with_registry(state, move |r| {
        let now = r.clock().now();
        contract_alerts::acknowledge(r, &partner, stage, now)
    })
    .await
}

/// Holds the contract's alerts until `until` (YYYY-MM-DD).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn snooze_contract(
    state: State<'_, AppState>,
    partner: String,
    until: String,
) -> CommandResult<ExpiryView> {
    with_registry(state, move |r| {
        let until = date("until", &until)?;
        let now = r.clock().now();
        contract_alerts::snooze(r, &partner, until, now)
    })
    .await
}

/// Marks the contract renewed (optionally with its new end date): its alerts stop.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn renew_contract(
    state: State<'_, AppState>,
    partner: String,
    new_end: Option<String>,
) -> CommandResult<ExpiryView> {
    with_registry(state, move |r| {
        let new_end = new_end
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| date("new_end", t))
            .transpose()?;
        let now = r.clock().now();
        contract_alerts::renew(r, &partner, new_end, now)
    })
    .await
}

/// Marks the contract terminated: its alerts stop.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn terminate_contract(
    state: State<'_, AppState>,
    partner: String,
) -> CommandResult<ExpiryView> {
    with_registry(state, move |r| {
        let now = r.clock().now();
        contract_alerts::terminate(r, &partner, now)
    })
    .await
}

/// SLA attainment, incidents and usage trend over the contract's term so far.
#[tauri::command]
#[specta::specta]
pub async fn renewal_brief(
    state: State<'_, AppState>,
    partner: String,
) -> CommandResult<RenewalBrief> {
    with_registry(state, move |r| {
        contract_alerts::renewal_brief(r, &partner, r.clock().now())
    })
    .await
}
