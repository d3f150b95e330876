//! What a partner's credential is. The secret parts are [`Secret`]s: they live only in the OS
//! keyring (see the credential store), never in SQLite, logs, exports or the UI. The database
//! keeps only the non-secret description ([`CredentialMeta`]).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A credential for one partner, by authentication scheme.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credential {
    /// A key sent in a header, e.g. `X-API-Key: <key>`.
    ApiKey { header: String, key: Secret },
    /// `Authorization: Bearer <token>` (Databricks PAT, Kubeflow token, Snowflake PAT/OAuth).
    Bearer { token: Secret },
    /// `Authorization: Basic base64(user:password)` (MLflow basic-auth).
    Basic { username: String, password: Secret },
    /// OAuth 2 client credentials; the access token is fetched, cached and refreshed.
    OauthClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        scope: Option<String>,
    },
    /// Snowflake key-pair authentication: an RS256 JWT signed with this PKCS#8 PEM key.
    SnowflakeKeyPair {
        account: String,
        user: String,
        private_key_pem: Secret,
    },
    /// Datadog API key, and the application key that some calls need.
    DatadogKeys {
        api_key: Secret,
        app_key: Option<Secret>,
    },
    /// A TLS client certificate (mTLS): PEM certificate chain and PEM private key.
    ClientCertificate { cert_pem: String, key_pem: Secret },
}

/// The scheme of a credential, without its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    ApiKey,
    Bearer,
    Basic,
    OauthClientCredentials,
    SnowflakeKeyPair,
    DatadogKeys,
    ClientCertificate,
}

impl Credential {
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Credential::ApiKey { .. } => CredentialType::ApiKey,
            Credential::Bearer { .. } => CredentialType::Bearer,
            Credential::Basic { .. } => CredentialType::Basic,
            Credential::OauthClientCredentials { .. } => CredentialType::OauthClientCredentials,
            Credential::SnowflakeKeyPair { .. } => CredentialType::SnowflakeKeyPair,
            Credential::DatadogKeys { .. } => CredentialType::DatadogKeys,
            Credential::ClientCertificate { .. } => CredentialType::ClientCertificate,
        }
    }
}

/// What the database records about a partner's credential: never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CredentialMeta {
    pub partner: String,
    pub credential_type: CredentialType,
    /// Non-secret identity shown to people: user name, client id, key header, account.
    pub label: Option<String>,
    /// When the platform will stop accepting it, if known (YYYY-MM-DD).
    pub expires_on: Option<String>,
    pub updated_at: String,
}
