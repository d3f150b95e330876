//! What a partner's credential is. The secret parts are [`Secret`]s: they live only in the OS
//! keyring (see the credential store), never in SQLite, logs, exports or the UI. The database
//! keeps only the non-secret description ([`CredentialMeta`]).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::PartnerKind;
use crate::secret::Secret;
use crate::validate;

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

impl CredentialType {
    pub const ALL: &'static [CredentialType] = &[
        CredentialType::ApiKey,
        CredentialType::Bearer,
        CredentialType::Basic,
        CredentialType::OauthClientCredentials,
        CredentialType::SnowflakeKeyPair,
        CredentialType::DatadogKeys,
        CredentialType::ClientCertificate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::ApiKey => "api_key",
            CredentialType::Bearer => "bearer",
            CredentialType::Basic => "basic",
            CredentialType::OauthClientCredentials => "oauth_client_credentials",
            CredentialType::SnowflakeKeyPair => "snowflake_key_pair",
            CredentialType::DatadogKeys => "datadog_keys",
            CredentialType::ClientCertificate => "client_certificate",
        }
    }

    /// Parses the word, or explains which words are accepted for `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Self> {
        CredentialType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "unknown credential type {text:?}; expected one of: {}",
                        words(CredentialType::ALL)
                    ),
                )
            })
    }

    /// The credential types a partner of `kind` can use, the usual one first.
    pub fn for_kind(kind: PartnerKind) -> &'static [CredentialType] {
        use CredentialType::*;
        match kind {
            // Personal access token, or a service principal's OAuth M2M secret.
            PartnerKind::Databricks => &[Bearer, OauthClientCredentials],
            // Key-pair JWT, or an OAuth access token / programmatic access token as Bearer.
            PartnerKind::Snowflake => &[SnowflakeKeyPair, Bearer],
            // The basic-auth app, or a Databricks-hosted MLflow's token.
            PartnerKind::Mlflow => &[Basic, Bearer],
            // A ServiceAccount or OIDC token; mTLS at the ingress.
            PartnerKind::Kubeflow => &[Bearer, ClientCertificate],
            // DD-API-KEY (+ DD-APPLICATION-KEY), or the API key alone.
            PartnerKind::Datadog => &[DatadogKeys, ApiKey],
            PartnerKind::Http => CredentialType::ALL,
        }
    }

    /// Refuses a type that a partner of `kind` cannot use, naming the ones it can.
    pub fn check_fits(self, field: &str, kind: PartnerKind) -> Result<()> {
        let allowed = CredentialType::for_kind(kind);
        if allowed.contains(&self) {
            return Ok(());
        }
        Err(Error::invalid(
            field,
            format!(
                "{self} does not fit a {kind} partner; use one of: {}",
                words(allowed)
            ),
        ))
    }
}

fn words(types: &[CredentialType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CredentialType::parse_field("type", s)
    }
}

impl Credential {
    /// The non-secret identity people see for this credential (header, user, client id,
    /// account), if it has one.
    pub fn label(&self) -> Option<String> {
        match self {
            Credential::ApiKey { header, .. } => Some(header.clone()),
            Credential::Bearer { .. } | Credential::ClientCertificate { .. } => None,
            Credential::Basic { username, .. } => Some(username.clone()),
            Credential::OauthClientCredentials { client_id, .. } => Some(client_id.clone()),
            Credential::SnowflakeKeyPair { account, user, .. } => Some(format!("{user}@{account}")),
            Credential::DatadogKeys { app_key, .. } => Some(
                if app_key.is_some() {
                    "api key + application key"
                } else {
                    "api key only"
                }
                .to_string(),
            ),
        }
    }

    /// Checks every part; a message names the field and never quotes a secret.
    pub fn validate(&self) -> Result<()> {
        match self {
            Credential::ApiKey { header, key } => {
                validate::text("header", header, validate::MAX_LABEL_CHARS)?;
                if let Some(c) = header
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))
                {
                    return Err(Error::invalid(
                        "header",
                        format!("{header:?} is not an HTTP header name ({c:?} is not allowed)"),
                    ));
                }
                token_secret("key", key)
            }
            Credential::Bearer { token } => token_secret("token", token),
            Credential::Basic { username, password } => {
                validate::text("username", username, validate::MAX_NAME_CHARS)?;
                if username.contains(':') {
                    return Err(Error::invalid(
                        "username",
                        "must not contain ':' (HTTP basic auth splits on it)",
                    ));
                }
                line_secret("password", password)
            }
            Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                validate::endpoint("token_url", token_url)?;
                validate::text("client_id", client_id, validate::MAX_NAME_CHARS)?;
                if let Some(scope) = scope {
                    validate::text("scope", scope, validate::MAX_ENDPOINT_CHARS)?;
                }
                line_secret("client_secret", client_secret)
            }
            Credential::SnowflakeKeyPair {
                account,
                user,
                private_key_pem,
            } => {
                validate::text("account", account, validate::MAX_NAME_CHARS)?;
                validate::text("user", user, validate::MAX_NAME_CHARS)?;
                pem_private_key("private_key_pem", private_key_pem)
            }
            Credential::DatadogKeys { api_key, app_key } => {
                token_secret("api_key", api_key)?;
                match app_key {
                    Some(app_key) => token_secret("app_key", app_key),
                    None => Ok(()),
                }
            }
            Credential::ClientCertificate { cert_pem, key_pem } => {
                if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Error::invalid(
                        "cert_pem",
                        "is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)",
                    ));
                }
                pem_private_key("key_pem", key_pem)
            }
        }
    }

    /// The whole credential as JSON for the OS keyring: the one place a secret is written out
    /// for storage. The result is itself a [`Secret`], so it is redacted in `Debug` and wiped
    /// when dropped. [`Credential::from_keyring_json`] reads it back.
    pub fn to_keyring_json(&self) -> Result<Secret> {
        let form = match self {
            Credential::ApiKey { header, key } => KeyringForm::ApiKey {
                header,
                key: key.expose(),
            },
            Credential::Bearer { token } => KeyringForm::Bearer {
                token: token.expose(),
            },
            Credential::Basic { username, password } => KeyringForm::Basic {
                username,
                password: password.expose(),
            },
            Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => KeyringForm::OauthClientCredentials {
                token_url,
                client_id,
                client_secret: client_secret.expose(),
                scope: scope.as_deref(),
            },
            Credential::SnowflakeKeyPair {
                account,
                user,
                private_key_pem,
            } => KeyringForm::SnowflakeKeyPair {
                account,
                user,
                private_key_pem: private_key_pem.expose(),
            },
            Credential::DatadogKeys { api_key, app_key } => KeyringForm::DatadogKeys {
                api_key: api_key.expose(),
                app_key: app_key.as_ref().map(Secret::expose),
            },
            Credential::ClientCertificate { cert_pem, key_pem } => KeyringForm::ClientCertificate {
                cert_pem,
                key_pem: key_pem.expose(),
            },
        };
        let encode_err = |e: serde_json::Error| {
            Error::invalid(
                "credential",
                format!("cannot encode it: {}", e.classify_word()),
            )
        };
        // Measured first, so the buffer is never reallocated (leaving unwiped copies) as it grows.
        let mut size = ByteCounter(0);
        serde_json::to_writer(&mut size, &form).map_err(encode_err)?;
        let mut out = Vec::with_capacity(size.0);
        serde_json::to_writer(&mut out, &form).map_err(encode_err)?;
        let text = String::from_utf8(out)
            .map_err(|_| Error::invalid("credential", "encodes to text that is not UTF-8"))?;
        Ok(Secret::new(text))
    }

    /// Reads a credential written by [`Credential::to_keyring_json`]. The error never quotes
    /// the text (it holds secrets): it says only where and what kind of problem was found.
    pub fn from_keyring_json(text: &str) -> std::result::Result<Credential, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "{} error at line {} column {}",
                e.classify_word(),
                e.line(),
                e.column()
            )
        })
    }
}

/// Counts the bytes written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What went wrong in a JSON error, without the quoted input that serde_json may include.
trait ClassifyWord {
    fn classify_word(&self) -> &'static str;
}

impl ClassifyWord for serde_json::Error {
    fn classify_word(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read",
            serde_json::error::Category::Syntax => "JSON syntax",
            serde_json::error::Category::Data => "credential shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

/// The keyring's JSON form, borrowed from a [`Credential`] so no secret is copied on the way.
/// `Secret` deliberately has no `Serialize`; this is the one explicit path to text.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KeyringForm<'a> {
    ApiKey {
        header: &'a str,
        key: &'a str,
    },
    Bearer {
        token: &'a str,
    },
    Basic {
        username: &'a str,
        password: &'a str,
    },
    OauthClientCredentials {
        token_url: &'a str,
        client_id: &'a str,
        client_secret: &'a str,
        scope: Option<&'a str>,
    },
    SnowflakeKeyPair {
        account: &'a str,
        user: &'a str,
        private_key_pem: &'a str,
    },
    DatadogKeys {
        api_key: &'a str,
        app_key: Option<&'a str>,
    },
    ClientCertificate {
        cert_pem: &'a str,
        key_pem: &'a str,
    },
}

/// A secret sent as one header value (token, API key): no whitespace or control characters.
fn token_secret(field: &str, secret: &Secret) -> Result<()> {
    line_secret(field, secret)?;
    if secret.expose().chars().any(char::is_whitespace) {
        return Err(Error::invalid(field, "must not contain spaces"));
    }
    Ok(())
}

/// A one-line secret (password, client secret): not empty, no control characters.
fn line_secret(field: &str, secret: &Secret) -> Result<()> {
    if secret.expose().trim().is_empty() {
        return Err(Error::invalid(field, "is empty"));
    }
    if secret.expose().chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be one line without control characters",
        ));
    }
    if secret.expose().len() > MAX_SECRET_BYTES {
        return Err(Error::invalid(
            field,
            format!("is longer than {MAX_SECRET_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The longest secret accepted; keyrings have limits (Windows: 2560 bytes per item).
pub const MAX_SECRET_BYTES: usize = 2048;

/// An unencrypted PKCS#8 PEM private key (the keyring protects it; there is no passphrase).
fn pem_private_key(field: &str, pem: &Secret) -> Result<()> {
    let text = pem.expose();
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "is empty"));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(Error::invalid(
            field,
            "is an encrypted key; give the unencrypted PKCS#8 key (the keyring protects it), e.g. from `openssl pkcs8 -topk8 -nocrypt`",
        ));
    }
    if !(text.contains("-----BEGIN PRIVATE KEY-----") && text.contains("-----END PRIVATE KEY-----"))
    {
        return Err(Error::invalid(
            field,
            "is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----); convert with `openssl pkcs8 -topk8 -nocrypt`",
        ));
    }
    if text.len() > 8 * 1024 {
        return Err(Error::invalid(field, "is longer than 8 KiB"));
    }
    Ok(())
}

/// Parses an expiry date (YYYY-MM-DD) that is today or later.
pub fn parse_expiry(field: &str, text: &str, today: NaiveDate) -> Result<NaiveDate> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{text:?} is not a valid date; write YYYY-MM-DD"),
            )
        })?;
    if date < today {
        return Err(Error::invalid(
            field,
            format!("{date} is in the past (today is {today}); a credential that has expired cannot be stored"),
        ));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANTED: &str = "planted-s3cret-value";

    fn every_kind_of_credential() -> Vec<Credential> {
        let key = Secret::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{PLANTED}\n-----END PRIVATE KEY-----\n"
        ));
        vec![
            Credential::ApiKey {
                header: "X-API-Key".into(),
                key: Secret::new(PLANTED),
            },
            Credential::Bearer {
                token: Secret::new(PLANTED),
            },
            Credential::Basic {
                username: "alice".into(),
                password: Secret::new(format!("{PLANTED} with \"quotes\" and spaces")),
            },
            Credential::OauthClientCredentials {
                token_url: "https://example.com/oidc/v1/token".into(),
                client_id: "sp-1".into(),
                client_secret: Secret::new(PLANTED),
                scope: Some("all-apis".into()),
            },
            Credential::SnowflakeKeyPair {
                account: "ORG-ACME".into(),
                user: "SVC".into(),
                private_key_pem: key.clone(),
            },
            Credential::DatadogKeys {
                api_key: Secret::new(PLANTED),
                app_key: None,
            },
            Credential::DatadogKeys {
                api_key: Secret::new(PLANTED),
                app_key: Some(Secret::new(format!("{PLANTED}-app"))),
            },
            Credential::ClientCertificate {
                cert_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
                key_pem: key,
            },
        ]
    }

    #[test]
    fn every_credential_survives_the_keyring_json_round_trip() {
        for credential in every_kind_of_credential() {
            credential.validate().unwrap();
            let json = credential.to_keyring_json().unwrap();
            let back = Credential::from_keyring_json(json.expose()).unwrap();
            assert_eq!(
                back,
                credential,
                "a {} credential must read back exactly as written",
                credential.credential_type()
            );
        }
    }

    #[test]
    fn the_keyring_json_is_redacted_when_debug_printed_and_labels_hold_no_secret() {
        for credential in every_kind_of_credential() {
            let json = credential.to_keyring_json().unwrap();
            assert!(
                !format!("{json:?} {credential:?}").contains(PLANTED),
                "Debug output of a {} credential must not show its secret",
                credential.credential_type()
            );
            let label = credential.label().unwrap_or_default();
            assert!(!label.contains(PLANTED), "label {label:?} leaks the secret");
        }
    }

    #[test]
    fn a_damaged_keyring_item_is_described_without_quoting_it() {
        let damaged = format!("{{\"type\":\"bearer\",\"token\":42,\"x\":\"{PLANTED}\"");
        let err = Credential::from_keyring_json(&damaged).unwrap_err();
        assert!(!err.contains(PLANTED), "the error quotes the item: {err}");
        let err =
            Credential::from_keyring_json(&format!("{{\"type\":\"{PLANTED}\"}}")).unwrap_err();
        assert!(!err.contains(PLANTED), "the error quotes the item: {err}");
    }

    #[test]
    fn credential_types_parse_from_their_words_and_name_the_choices_otherwise() {
        for t in CredentialType::ALL {
            assert_eq!(t.as_str().parse::<CredentialType>().unwrap(), *t);
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{t}\""), "serde and as_str must agree");
        }
        let err = "token".parse::<CredentialType>().unwrap_err().to_string();
        assert!(
            err.starts_with("type: unknown credential type \"token\""),
            "{err}"
        );
        assert!(err.contains("datadog_keys"), "{err}");
    }

    #[test]
    fn a_partner_kind_limits_the_credential_types_it_can_use() {
        assert!(CredentialType::DatadogKeys
            .check_fits("type", PartnerKind::Datadog)
            .is_ok());
        let err = CredentialType::Basic
            .check_fits("--type", PartnerKind::Datadog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--type: basic does not fit a datadog partner; use one of: datadog_keys, api_key"
        );
        for t in CredentialType::ALL {
            assert!(
                t.check_fits("type", PartnerKind::Http).is_ok(),
                "an http partner takes any type, including {t}"
            );
        }
    }

    #[test]
    fn invalid_credentials_name_the_field_without_quoting_the_secret() {
        let cases = [
            (
                Credential::Bearer {
                    token: Secret::new(""),
                },
                "token: is empty",
            ),
            (
                Credential::Bearer {
                    token: Secret::new(format!("{PLANTED} x")),
                },
                "token: must not contain spaces",
            ),
            (
                Credential::Basic {
                    username: "a:b".into(),
                    password: Secret::new(PLANTED),
                },
                "username:",
            ),
            (
                Credential::SnowflakeKeyPair {
                    account: "A".into(),
                    user: "U".into(),
                    private_key_pem: Secret::new(PLANTED),
                },
                "private_key_pem: is not a PKCS#8 PEM private key",
            ),
            (
                Credential::ApiKey {
                    header: "X Key".into(),
                    key: Secret::new(PLANTED),
                },
                "header:",
            ),
            (
                Credential::OauthClientCredentials {
                    token_url: "ftp://x".into(),
                    client_id: "c".into(),
                    client_secret: Secret::new(PLANTED),
                    scope: None,
                },
                "token_url:",
            ),
        ];
        for (credential, expected) in cases {
            let err = credential.validate().unwrap_err().to_string();
            assert!(
                err.starts_with(expected),
                "expected {expected:?}, got {err:?}"
            );
            assert!(!err.contains(PLANTED), "the error quotes the secret: {err}");
        }
    }

    #[test]
    fn an_expiry_must_be_a_real_date_today_or_later() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            parse_expiry("expires_on", "2026-11-26", today).unwrap(),
            today,
            "today is still valid"
        );
        for bad in ["2026-02-30", "26-11-2027", "2027-1-1", "tomorrow", ""] {
            let err = parse_expiry("expires_on", bad, today)
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not a valid date"), "{bad:?}: {err}");
        }
        let err = parse_expiry("expires_on", "2026-11-25", today)
            .unwrap_err()
            .to_string();
        assert!(err.contains("in the past"), "{err}");
    }
}
