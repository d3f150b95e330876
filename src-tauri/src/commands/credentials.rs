//! A partner's page: its record, contract and credential metadata, and the commands that set,
//! replace, remove and test its credential. Secrets arrive once from the form, become
//! [`Secret`]s at once and are never sent back, logged or put in an error message.

use ecosystem_core::integration::{CheckState, ConnectionCheck, ErrorClass};
use ecosystem_core::{Contract, Credential, CredentialMeta, CredentialType, Partner, Secret};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::{with_registry, CommandResult};
use crate::AppState;

/// Everything the partner page shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PartnerDetail {
    pub partner: Partner,
    pub contract: Option<Contract>,
    /// What is recorded about the credential; never the secret.
    pub credential: Option<CredentialMeta>,
    /// The credential types a partner of this kind can use, the usual one first.
    pub allowed_credential_types: Vec<CredentialType>,
}

/// A credential as the form sends it: plain strings, turned into [`Secret`]s on arrival.
/// Deliberately neither `Serialize` nor `Debug`, so it can be neither echoed nor logged.
#[derive(Deserialize, specta::Type)]
pub struct CredentialInput {
    pub credential: CredentialFields,
    /// When the platform stops accepting it (YYYY-MM-DD), if known.
    pub expires_on: Option<String>,
}

/// The fields of each credential type, mirroring `ecosystem_core::Credential`.
#[derive(Deserialize, specta::Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CredentialFields {
    ApiKey {
        header: String,
        key: String,
    },
    Bearer {
        token: String,
    },
    Basic {
        username: String,
        password: String,
    },
    OauthClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
    SnowflakeKeyPair {
        account: String,
        user: String,
        private_key_pem: String,
    },
    DatadogKeys {
        api_key: String,
        app_key: Option<String>,
    },
    ClientCertificate {
        cert_pem: String,
        key_pem: String,
    },
}

impl From<CredentialFields> for Credential {
    /// Moves each secret string into a [`Secret`] (no copy is left behind).
    fn from(fields: CredentialFields) -> Credential {
        match fields {
            CredentialFields::ApiKey { header, key } => Credential::ApiKey {
                header,
                key: Secret::new(key),
            },
            CredentialFields::Bearer { token } => Credential::Bearer {
                token: Secret::new(token),
            },
            CredentialFields::Basic { username, password } => Credential::Basic {
                username,
                password: Secret::new(password),
            },
            CredentialFields::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret: Secret::new(client_secret),
                scope,
            },
            CredentialFields::SnowflakeKeyPair {
                account,
                user,
                private_key_pem,
            } => Credential::SnowflakeKeyPair {
                account,
                user,
                private_key_pem: Secret::new(private_key_pem),
            },
            CredentialFields::DatadogKeys { api_key, app_key } => Credential::DatadogKeys {
                api_key: Secret::new(api_key),
                app_key: app_key.map(Secret::new),
            },
            CredentialFields::ClientCertificate { cert_pem, key_pem } => {
                Credential::ClientCertificate {
                    cert_pem,
                    key_pem: Secret::new(key_pem),
                }
            }
        }
    }
}

/// One capability probed by a connection test.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CapabilityView {
    pub name: String,
    pub ok: bool,
    /// Why it failed ("credentials_rejected: ..."); never a secret.
    pub reason: Option<String>,
}

/// What a connection test found, as the partner page shows it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConnectionCheckView {
    pub state: CheckState,
    pub latency_ms: u32,
    pub error_class: Option<ErrorClass>,
    pub reason: Option<String>,
    pub capabilities: Vec<CapabilityView>,
}

impl From<ConnectionCheck> for ConnectionCheckView {
    fn from(check: ConnectionCheck) -> Self {
        ConnectionCheckView {
            state: check.state,
            latency_ms: u32::try_from(check.latency_ms).unwrap_or(u32::MAX),
            error_class: check.error.as_ref().map(|e| e.class),
            reason: check.error.map(|e| e.message),
            capabilities: check
                .capabilities
                .into_iter()
                .map(|c| CapabilityView {
                    name: c.name,
                    ok: c.ok,
                    reason: c.error.map(|e| e.to_string()),
                })
                .collect(),
        }
    }
}

/// Runs the partner's connection test with `credential` on the async runtime.
async fn check_connection(partner: &Partner, credential: Option<Credential>) -> ConnectionCheck {
    let options = ecosystem_connectors::ConnectorOptions::default();
    match ecosystem_connectors::connector_for(partner, credential, options) {
        Ok(connector) => connector.test_connection().await,
        Err(error) => ConnectionCheck {
            state: CheckState::Unhealthy,
            latency_ms: 0,
            error: Some(error),
            capabilities: Vec::new(),
        },
    }
}

/// The partner page: record, contract, credential metadata and the credential types it takes.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn partner_detail(
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<PartnerDetail> {
    with_registry(state, move |r| {
        let partner = r.partner(&name)?;
        Ok(PartnerDetail {
            contract: r.contract(&name)?,
            credential: r.credential_meta(&name)?,
            allowed_credential_types: CredentialType::for_kind(partner.kind).to_vec(),
            partner,
        })
    })
    .await
}

/// Stores the partner's credential. A first credential is stored as given; one that replaces
/// another is stored only once a connection test with it is healthy or degraded.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, input))]
pub async fn set_credential(
    state: State<'_, AppState>,
    partner: String,
    input: CredentialInput,
) -> CommandResult<CredentialMeta> {
    let credential = Credential::from(input.credential);
    let expires_on = input.expires_on;
    let (record, current) = {
        let name = partner.clone();
        let credential = credential.clone();
        with_registry(state.clone(), move |r| {
            let record = r.partner(&name)?;
            credential
                .credential_type()
                .check_fits("credential_type", record.kind)?;
            credential.validate()?;
            Ok((record, r.credential_meta(&name)?))
        })
        .await?
    };
    if current.is_none() {
        return with_registry(state, move |r| {
            r.set_credential(&partner, &credential, expires_on.as_deref())
        })
        .await;
    }
    let check = check_connection(&record, Some(credential.clone())).await;
    let verdict = match check.state {
        CheckState::Healthy | CheckState::Degraded => Ok(()),
        CheckState::Unhealthy => Err(check
            .error
            .map(|e| e.to_string())
            .unwrap_or_else(|| "the connection test was unhealthy".into())),
    };
    with_registry(state, move |r| {
        r.rotate_credential(&partner, &credential, expires_on.as_deref(), |_| verdict)
    })
    .await
}

/// Removes the partner's credential from the keyring and the database.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn remove_credential(state: State<'_, AppState>, partner: String) -> CommandResult<()> {
    with_registry(state, move |r| r.remove_credential(&partner)).await
}

/// Tests the connection to the partner with its stored credential (if it has one).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn test_connection(
    state: State<'_, AppState>,
    partner: String,
) -> CommandResult<ConnectionCheckView> {
    let registry = state.registry.clone();
    let (record, credential) = with_registry(state, move |r| {
        let record = r.partner(&partner)?;
        let credential = match r.credential_meta(&partner)? {
            Some(_) => Some(r.credential(&partner)?),
            None => None,
        };
        Ok((record, credential))
    })
    .await?;
    let check = check_connection(&record, credential).await;
    record_connection_test(registry, &record.name, &check).await;
    Ok(check.into())
}

/// Puts the test on the partner's audit trail, which is where the partner page reads when each
/// capability was last verified. A failure to record is logged; the test's answer still counts.
async fn record_connection_test(
    registry: std::sync::Arc<std::sync::Mutex<ecosystem_core::Registry>>,
    partner: &str,
    check: &ConnectionCheck,
) {
    let partner = partner.to_string();
    let passed = check.error.is_none();
    let capabilities: Vec<(String, bool)> = check
        .capabilities
        .iter()
        .map(|c| (c.name.clone(), c.ok))
        .collect();
    let recorded = tauri::async_runtime::spawn_blocking(move || match registry.lock() {
        Ok(mut r) => r
            .record_connection_test(&partner, passed, &capabilities)
            .map_err(|e| e.to_string()),
        Err(_) => Err("the registry is unavailable".to_string()),
    })
    .await;
    match recorded {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the connection test was not recorded"),
        Err(e) => tracing::warn!(error = %e, "the connection test was not recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecosystem_core::integration::{IntegrationError, VerifiedCapability};

    const PLANTED: &str = "planted-s3cret-value";

    fn input(json: serde_json::Value) -> CredentialInput {
        serde_json::from_value(json).expect("the form's JSON reads as a CredentialInput")
    }

    #[test]
    fn the_json_the_form_sends_becomes_the_core_credential_of_its_type() {
        let cases = [
            (
                serde_json::json!({"type": "bearer", "token": PLANTED}),
                Credential::Bearer {
                    token: Secret::new(PLANTED),
                },
            ),
            (
                serde_json::json!({"type": "api_key", "header": "X-API-Key", "key": PLANTED}),
                Credential::ApiKey {
                    header: "X-API-Key".into(),
                    key: Secret::new(PLANTED),
                },
            ),
            (
                serde_json::json!({"type": "basic", "username": "alice", "password": PLANTED}),
                Credential::Basic {
                    username: "alice".into(),
                    password: Secret::new(PLANTED),
                },
            ),
            (
                serde_json::json!({"type": "oauth_client_credentials", "token_url": "https://idp.example.com/token",
                                   "client_id": "c", "client_secret": PLANTED, "scope": null}),
                Credential::OauthClientCredentials {
                    token_url: "https://idp.example.com/token".into(),
                    client_id: "c".into(),
                    client_secret: Secret::new(PLANTED),
                    scope: None,
                },
            ),
            (
                serde_json::json!({"type": "snowflake_key_pair", "account": "A", "user": "U", "private_key_pem": PLANTED}),
                Credential::SnowflakeKeyPair {
                    account: "A".into(),
                    user: "U".into(),
                    private_key_pem: Secret::new(PLANTED),
                },
            ),
            (
                serde_json::json!({"type": "datadog_keys", "api_key": PLANTED, "app_key": "app"}),
                Credential::DatadogKeys {
                    api_key: Secret::new(PLANTED),
                    app_key: Some(Secret::new("app")),
                },
            ),
            (
                serde_json::json!({"type": "client_certificate", "cert_pem": "CERT", "key_pem": PLANTED}),
                Credential::ClientCertificate {
                    cert_pem: "CERT".into(),
                    key_pem: Secret::new(PLANTED),
                },
            ),
        ];
        for (fields, expected) in cases {
            let read = input(serde_json::json!({"credential": fields, "expires_on": "2031-01-31"}));
            assert_eq!(read.expires_on.as_deref(), Some("2031-01-31"));
            let credential = Credential::from(read.credential);
            assert_eq!(credential, expected);
            assert!(
                !format!("{credential:?}").contains(PLANTED),
                "a {} credential prints its secret",
                credential.credential_type()
            );
        }
    }

    #[test]
    fn the_expiry_and_optional_fields_may_be_left_out() {
        let read =
            input(serde_json::json!({"credential": {"type": "datadog_keys", "api_key": "k"}}));
        assert_eq!(read.expires_on, None);
        assert_eq!(
            Credential::from(read.credential),
            Credential::DatadogKeys {
                api_key: Secret::new("k"),
                app_key: None
            }
        );
    }

    #[test]
    fn a_connection_check_is_shown_with_its_class_reason_and_each_capability() {
        let refused =
            IntegrationError::new(ErrorClass::CredentialsRejected, "HTTP 401").with_status(401);
        let view = ConnectionCheckView::from(ConnectionCheck {
            state: CheckState::Unhealthy,
            latency_ms: u64::MAX,
            error: Some(refused.clone()),
            capabilities: vec![
                VerifiedCapability {
                    name: "healthz".into(),
                    ok: true,
                    error: None,
                },
                VerifiedCapability {
                    name: "runs".into(),
                    ok: false,
                    error: Some(refused),
                },
            ],
        });
        assert_eq!(view.state, CheckState::Unhealthy);
        assert_eq!(view.latency_ms, u32::MAX, "a huge latency saturates");
        assert_eq!(view.error_class, Some(ErrorClass::CredentialsRejected));
        assert_eq!(view.reason.as_deref(), Some("HTTP 401"));
        let capabilities: Vec<_> = view
            .capabilities
            .iter()
            .map(|c| (c.name.as_str(), c.ok, c.reason.as_deref()))
            .collect();
        assert_eq!(
            capabilities,
            [
                ("healthz", true, None),
                ("runs", false, Some("credentials_rejected: HTTP 401"))
            ]
        );
    }
}
