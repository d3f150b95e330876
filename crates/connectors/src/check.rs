//! Checking one registered partner: the connector built from its record and credential, its
//! own timeout applied, and a failure to even build the connector (no credential, an unusable
//! one) reported as an unhealthy check rather than an error, so every caller shows one shape.

use std::time::Duration;

use ecosystem_core::integration::{CheckState, ConnectionCheck};
use ecosystem_core::{Credential, Partner};

use crate::factory::{connector_for, ConnectorOptions};

/// The connector options a partner's record implies: its check timeout bounds every call.
pub fn options_for(partner: &Partner) -> ConnectorOptions {
    let mut options = ConnectorOptions::default();
    options.policy.timeout = Duration::from_secs(u64::from(partner.health_check.timeout_secs));
    options
}

/// Runs the partner's connection test with `credential`.
pub async fn check_partner(
    partner: &Partner,
    credential: Option<Credential>,
    options: ConnectorOptions,
) -> ConnectionCheck {
    match connector_for(partner, credential, options) {
        Ok(connector) => connector.test_connection().await,
        Err(error) => ConnectionCheck {
            state: CheckState::Unhealthy,
            latency_ms: 0,
            error: Some(error),
            capabilities: Vec::new(),
        },
    }
}
