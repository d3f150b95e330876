//! The catalogue at scale and the partner page beyond its record: the ids matching a filter
//! (the catalogue keeps the records and narrows by id), the contract seen from its notice
//! deadline, when each capability was last verified, the partner's audit trail, and the last
//! step of onboarding (activation), and editing the partner's record.

use ecosystem_core::contract_alerts::{self, ExpiryView};
use ecosystem_core::health_state::HealthState;
use ecosystem_core::registry::CapabilityVerification;
use ecosystem_core::{AuditEntry, LifecycleAction, Partner, PartnerFilter, PartnerUpdate, Tier};
use serde::{Deserialize, Serialize};
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
    /// The partner's latest audit rows, newest first, under its current and earlier names.
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
            audit: r.partner_trail(&name, AUDIT_ROWS)?,
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

/// A new value for a field that may be empty: `{ value: null }` clears it.
#[derive(Debug, Clone, PartialEq, Deserialize, specta::Type)]
pub struct Cleared {
    pub value: Option<String>,
}

/// What the partner page's edit form changed; a `null` field is left as it is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, specta::Type)]
pub struct PartnerChange {
    /// A new name (the partner keeps its id, history and credential).
    pub name: Option<String>,
    pub endpoint: Option<String>,
    pub tier: Option<Tier>,
    /// `{ value: null }` removes the owner.
    pub owner: Option<Cleared>,
    pub capabilities: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// `{ value: null }` removes the dependency.
    pub depends_on: Option<Cleared>,
    pub interval_secs: Option<u32>,
    pub timeout_secs: Option<u32>,
}

impl From<PartnerChange> for PartnerUpdate {
    fn from(c: PartnerChange) -> Self {
        PartnerUpdate {
            name: c.name,
            kind: None,
            endpoint: c.endpoint,
            tier: c.tier,
            owner: c.owner.map(|o| o.value),
            capabilities: c.capabilities,
            tags: c.tags,
            depends_on: c.depends_on.map(|d| d.value),
            interval_secs: c.interval_secs,
            timeout_secs: c.timeout_secs,
        }
    }
}

/// Changes the fields of a partner given in `change` (validated and audited by core); the
/// error names the field at fault. Returns the partner as stored, under its new name if renamed.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn update_partner(
    state: State<'_, AppState>,
    name: String,
    change: PartnerChange,
) -> CommandResult<Partner> {
    let change = PartnerUpdate::from(change);
    with_registry(state, move |r| r.update_partner(&name, &change)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_owner_is_some_none_and_a_missing_one_is_none() {
        let change: PartnerChange = serde_json::from_value(serde_json::json!({
            "name": null, "endpoint": null, "tier": "premium", "owner": { "value": null },
            "capabilities": null, "tags": ["eu"], "depends_on": null,
            "interval_secs": 30, "timeout_secs": null
        }))
        .unwrap();
        let update = PartnerUpdate::from(change);
        assert_eq!(update.owner, Some(None));
        assert_eq!(update.depends_on, None);
        assert_eq!(update.tier, Some(Tier::Premium));
        assert_eq!(update.tags, Some(vec!["eu".to_string()]));
        assert_eq!(update.interval_secs, Some(30));
        assert_eq!(update.kind, None);
    }
}
