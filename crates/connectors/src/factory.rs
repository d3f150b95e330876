//! Which connector serves a partner: [`connector_for`] builds the [`Integration`] for a
//! registered partner from its kind, endpoint and stored credential, with the options a
//! partner record does not carry (resilience policy, a custom check file, default warehouse,
//! Datadog site...). A platform that needs a credential and has none is `missing_credential`
//! before any call is made.
//!
//! It also holds what every built-in connector's `test_connection` shares: how a connection
//! probe and the capability probes after it become one [`ConnectionCheck`].

use std::path::PathBuf;
use std::time::Duration;

use ecosystem_core::integration::{
    CheckState, ConnectionCheck, ErrorClass, Integration, IntegrationError, IntegrationResult,
    VerifiedCapability,
};
use ecosystem_core::{Credential, Partner, PartnerKind, StoredCheck};

use crate::custom_http::CustomHttpConnector;
use crate::databricks::{DatabricksConfig, DatabricksConnector};
use crate::datadog::{DatadogConfig, DatadogConnector, DatadogSite};
use crate::http::{Call, PartnerHttp};
use crate::kubeflow::{KubeflowConfig, KubeflowConnector};
use crate::mlflow::{MlflowConfig, MlflowConnector};
use crate::resilience::ResiliencePolicy;
use crate::snowflake::{SnowflakeConfig, SnowflakeConnector, SnowflakeSession};

/// What a connector needs beyond the partner record and its credential.
#[derive(Debug, Clone)]
pub struct ConnectorOptions {
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
    /// An `Http` partner's check file (TOML, see `ecosystem_core::custom_check`); without one
    /// the partner's endpoint is fetched with a GET that must answer 2xx.
    pub check_file: Option<PathBuf>,
    /// An `Http` partner's check definition as stored in the registry; a `check_file` wins.
    pub stored_check: Option<StoredCheck>,
    /// The Databricks SQL warehouse for statements and usage (the first running one if unset).
    pub databricks_warehouse_id: Option<String>,
    /// Snowflake warehouse, database, schema and role for statements.
    pub snowflake: SnowflakeSession,
    /// The Kubeflow namespace (needed in multi-user mode).
    pub kubeflow_namespace: Option<String>,
    /// The Datadog site, used when the partner's endpoint is empty.
    pub datadog_site: DatadogSite,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        ConnectorOptions {
            policy: ResiliencePolicy::default(),
            slow_after: Duration::from_secs(2),
            check_file: None,
            stored_check: None,
            databricks_warehouse_id: None,
            snowflake: SnowflakeSession::default(),
            kubeflow_namespace: None,
            datadog_site: DatadogSite::Us1,
        }
    }
}

/// The connector for a partner.
pub fn connector_for(
    partner: &Partner,
    credential: Option<Credential>,
    options: ConnectorOptions,
) -> IntegrationResult<Box<dyn Integration>> {
    let name = partner.name.clone();
    let endpoint = partner.endpoint.clone();
    let needs = |credential: Option<Credential>| {
        credential.ok_or_else(|| {
            IntegrationError::new(
                ErrorClass::MissingCredential,
                format!(
                    "{name}: a {} partner needs a credential; store one with `ecosystem credential set`",
                    partner.kind
                ),
            )
        })
    };
    let connector: Box<dyn Integration> = match partner.kind {
        PartnerKind::Mlflow => Box::new(MlflowConnector::new(MlflowConfig {
            partner: name.clone(),
            endpoint,
            credential,
            policy: options.policy,
            slow_after: options.slow_after,
        })?),
        PartnerKind::Databricks => Box::new(DatabricksConnector::new(DatabricksConfig {
            partner: name.clone(),
            endpoint,
            credential: needs(credential)?,
            policy: options.policy,
            slow_after: options.slow_after,
            warehouse_id: options.databricks_warehouse_id,
        })?),
        PartnerKind::Snowflake => Box::new(SnowflakeConnector::new(SnowflakeConfig {
            partner: name.clone(),
            endpoint,
            credential: needs(credential)?,
            policy: options.policy,
            slow_after: options.slow_after,
            session: options.snowflake,
        })?),
        PartnerKind::Kubeflow => Box::new(KubeflowConnector::new(KubeflowConfig {
            partner: name.clone(),
            endpoint,
            credential,
            policy: options.policy,
            slow_after: options.slow_after,
            namespace: options.kubeflow_namespace,
        })?),
        PartnerKind::Datadog => Box::new(DatadogConnector::new(DatadogConfig {
            partner: name.clone(),
            site: options.datadog_site,
            endpoint: Some(endpoint).filter(|e| !e.trim().is_empty()),
            credential: needs(credential)?,
            policy: options.policy,
            slow_after: options.slow_after,
        })?),
        PartnerKind::Http => Box::new(match (&options.check_file, &options.stored_check) {
            (Some(path), _) => {
                CustomHttpConnector::from_file(&name, path, credential, options.policy)?
            }
            (None, Some(stored)) => {
                let check = ecosystem_core::custom_check::parse(&stored.source, &stored.definition)
                    .map_err(|e| {
                        IntegrationError::new(ErrorClass::InvalidRequest, e.to_string())
                    })?;
                CustomHttpConnector::new(&name, &stored.source, check, credential, options.policy)?
            }
            (None, None) => {
                CustomHttpConnector::plain_get(&name, &endpoint, credential, options.policy)?
            }
        }),
    };
    tracing::debug!(partner = %name, kind = %partner.kind, "connector built");
    Ok(connector)
}

/// Milliseconds since `started`, saturated.
pub(crate) fn elapsed_ms(started: tokio::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One capability probe: `ok` when the call answers 2xx.
pub(crate) async fn probe(http: &PartnerHttp, name: &str, call: Call) -> VerifiedCapability {
    let result = http.execute(&call.probe()).await;
    VerifiedCapability {
        name: name.to_string(),
        ok: result.is_ok(),
        error: result.err(),
    }
}

/// The check of a connection probe (`first`, named `first_name`) and the capability probes
/// made after it succeeded. The partner is unhealthy when the connection probe fails or a
/// capability probe finds the credential refused (every data call would fail the same way);
/// degraded when another capability fails or the connection probe took longer than
/// `slow_after`; healthy otherwise.
pub fn assemble_check(
    first_name: &str,
    first: Result<(), IntegrationError>,
    latency_ms: u64,
    more: Vec<VerifiedCapability>,
    slow_after: Duration,
) -> ConnectionCheck {
    if let Err(error) = first {
        return ConnectionCheck {
            state: CheckState::Unhealthy,
            latency_ms,
            capabilities: vec![VerifiedCapability {
                name: first_name.into(),
                ok: false,
                error: Some(error.clone()),
            }],
            error: Some(error),
        };
    }
    let mut capabilities = vec![VerifiedCapability {
        name: first_name.into(),
        ok: true,
        error: None,
    }];
    capabilities.extend(more);
    let refused = capabilities
        .iter()
        .filter_map(|c| c.error.clone())
        .find(|e| e.class == ErrorClass::CredentialsRejected);
    let failing = capabilities.iter().find_map(|c| c.error.clone());
    let slow = Duration::from_millis(latency_ms) > slow_after;
    let (state, error) = match (refused, failing) {
        (Some(refused), _) => (CheckState::Unhealthy, Some(refused)),
        (None, Some(failing)) => (CheckState::Degraded, Some(failing)),
        (None, None) if slow => (CheckState::Degraded, None),
        (None, None) => (CheckState::Healthy, None),
    };
    ConnectionCheck {
        state,
        latency_ms,
        error,
        capabilities,
    }
}

/// Refuses a credential of a type the platform cannot use, naming the ones it can.
pub(crate) fn check_credential_fits(
    partner: &str,
    kind: PartnerKind,
    credential: Option<&Credential>,
) -> IntegrationResult<()> {
    let Some(credential) = credential else {
        return Ok(());
    };
    credential
        .credential_type()
        .check_fits("credential", kind)
        .map_err(|e| {
            IntegrationError::new(ErrorClass::MissingCredential, format!("{partner}: {e}"))
        })
}

/// An opaque event cursor as JSON.
pub(crate) fn encode_cursor<T: serde::Serialize>(
    cursor: &T,
) -> IntegrationResult<ecosystem_core::integration::EventCursor> {
    serde_json::to_string(cursor)
        .map(ecosystem_core::integration::EventCursor)
        .map_err(|e| {
            IntegrationError::new(ErrorClass::UnexpectedResponse, format!("event cursor: {e}"))
        })
}

/// A cursor read back, or `invalid_request` naming whose cursor it is not.
pub(crate) fn decode_cursor<T: serde::de::DeserializeOwned>(
    cursor: &ecosystem_core::integration::EventCursor,
    context: &str,
    platform: &str,
) -> IntegrationResult<T> {
    serde_json::from_str(&cursor.0).map_err(|_| {
        IntegrationError::new(
            ErrorClass::InvalidRequest,
            format!("{context}: the event cursor is not a {platform} cursor"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capability(name: &str, class: Option<ErrorClass>) -> VerifiedCapability {
        VerifiedCapability {
            name: name.into(),
            ok: class.is_none(),
            error: class.map(|c| IntegrationError::new(c, "x")),
        }
    }

    #[test]
    fn a_refused_credential_on_a_capability_makes_the_partner_unhealthy() {
        let check = assemble_check(
            "health",
            Ok(()),
            5,
            vec![
                capability("runs", Some(ErrorClass::CredentialsRejected)),
                capability("pipelines", None),
            ],
            Duration::from_secs(1),
        );
        assert_eq!(check.state, CheckState::Unhealthy, "{check:?}");
    }

    #[test]
    fn another_failing_capability_or_a_slow_probe_only_degrades() {
        let failing = assemble_check(
            "health",
            Ok(()),
            5,
            vec![capability("runs", Some(ErrorClass::PlatformError))],
            Duration::from_secs(1),
        );
        assert_eq!(failing.state, CheckState::Degraded, "{failing:?}");
        let slow = assemble_check("health", Ok(()), 5_000, vec![], Duration::from_secs(1));
        assert_eq!(slow.state, CheckState::Degraded, "{slow:?}");
        let fine = assemble_check("health", Ok(()), 5, vec![], Duration::from_secs(1));
        assert_eq!(fine.state, CheckState::Healthy, "{fine:?}");
    }
}
