//! The catalogue at scale and the partner page beyond its record: the ids matching a filter
//! (the catalogue keeps the records and narrows by id), the contract seen from its notice
//! deadline, when each capability was last verified, the partner's audit trail, and the last
//! step of onboarding (activation).

use ecosystem_core::contract_alerts::{self, ExpiryView};
use ecosystem_core::health_state::HealthState;
use ecosystem_core::registry::CapabilityVerification;
use ecosystem_core::{AuditEntry, LifecycleAction, Partner, PartnerFilter};
use serde::Serialize;
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// How many of the partner's latest audit rows its page shows.
pub const AUDIT_ROWS: u32 = 50;

/// The ids of the partners matching `filter` and, when given, in health `state`, by name.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn catalogue_ids(
    state: State<'_, AppState>,
    filter: PartnerFilter,
    health: Option<HealthState>,
) -> CommandResult<Vec<u32>> {
    with_registry(state, move |r| r.list_partner_ids(&filter, health)).await
}

/// What the partner page shows besides the record: contract standing, capabilities, audit.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PartnerPage {
    /// The contract from its notice deadline and alert stage; `None` without a contract.
    pub expiry: Option<ExpiryView>,
    /// Each capability with the last time a connection test found it working.
    pub capabilities: Vec<CapabilityVerification>,
    /// The partner's latest audit rows, newest first.
    pub audit: Vec<AuditEntry>,
}

#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn partner_page(state: State<'_, AppState>, name: String) -> CommandResult<PartnerPage> {
    with_registry(state, move |r| {
        let capabilities = r.capability_verifications(&name)?;
        let expiry = match r.contract(&name)? {
            Some(_) => Some(contract_alerts::expiry_view(r, &name, r.clock().now())?),
            None => None,
        };
        Ok(PartnerPage {
            expiry,
            capabilities,
            audit: r.audit_log(Some(&name), AUDIT_ROWS)?,
        })
    })
    .await
}

/// Activates a partner (the last onboarding step); refused, with the allowed steps named,
/// from a lifecycle that cannot become active.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn activate_partner(state: State<'_, AppState>, name: String) -> CommandResult<Partner> {
    with_registry(state, move |r| {
        r.change_lifecycle(&name, LifecycleAction::Activate)
    })
    .await
}
