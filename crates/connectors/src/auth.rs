//! Authentication strategies, built from a partner's [`Credential`]: an API-key header, a
//! bearer token (PAT), HTTP basic, OAuth 2 client credentials (token fetched, cached and
//! refreshed before expiry by one caller at a time), Snowflake key-pair JWT (RS256, regenerated
//! before expiry), Datadog's API and application keys, and a TLS client certificate.
//!
//! Every header that carries a secret is marked sensitive (hyper never logs it). A client
//! certificate is not a header: it is a reqwest `Identity`, which belongs to a client, so a
//! partner using one gets its own client and connection pool ([`crate::http::client_with_identity`]).
//!
//! References: OAuth 2 client credentials, RFC 6749 §4.4 and client_secret_basic §2.3.1
//! (<https://www.rfc-editor.org/rfc/rfc6749>); Snowflake key-pair JWT
//! (<https://docs.snowflake.com/en/developer-guide/sql-api/authenticating>); Datadog keys
//! (<https://docs.datadoghq.com/api/latest/authentication/>).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ecosystem_core::integration::{ErrorClass, IntegrationError, IntegrationResult};
use ecosystem_core::{Credential, Secret};
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Headers to add to one request.
pub type AuthHeaders = Vec<(HeaderName, HeaderValue)>;

/// How a partner's requests are authenticated.
#[derive(Debug)]
pub struct Auth {
    strategy: Strategy,
}

#[derive(Debug)]
enum Strategy {
    None,
    /// API key, bearer, basic, Datadog keys: fixed headers.
    Static(AuthHeaders),
    OAuth(OAuthClientCredentials),
    Snowflake(SnowflakeKeyPairJwt),
    ClientCertificate(reqwest::Identity),
}

fn unusable(what: impl std::fmt::Display) -> IntegrationError {
    IntegrationError::new(
        ErrorClass::MissingCredential,
        format!("the stored credential cannot be used: {what}"),
    )
}

/// A header value holding a secret: marked sensitive so it is never logged.
fn secret_header(value: &str) -> IntegrationResult<HeaderValue> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| unusable("it contains characters not allowed in an HTTP header"))?;
    header.set_sensitive(true);
    Ok(header)
}

fn bearer(token: &str) -> IntegrationResult<HeaderValue> {
    secret_header(&format!("Bearer {token}"))
}

impl Auth {
    /// No authentication.
    pub fn none() -> Self {
        Auth {
            strategy: Strategy::None,
        }
    }

    /// The strategy for a credential (`None`: the partner needs none).
    pub fn from_credential(credential: Option<&Credential>) -> IntegrationResult<Self> {
        let strategy = match credential {
            None => Strategy::None,
            Some(Credential::ApiKey { header, key }) => {
                let name = HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| unusable(format!("{header:?} is not an HTTP header name")))?;
                Strategy::Static(vec![(name, secret_header(key.expose())?)])
            }
            Some(Credential::Bearer { token }) => {
                Strategy::Static(vec![(AUTHORIZATION, bearer(token.expose())?)])
            }
            Some(Credential::Basic { username, password }) => {
                let pair = BASE64.encode(format!("{username}:{}", password.expose()));
                Strategy::Static(vec![(
                    AUTHORIZATION,
                    secret_header(&format!("Basic {pair}"))?,
                )])
            }
            Some(Credential::DatadogKeys { api_key, app_key }) => {
                let mut headers = vec![(
                    HeaderName::from_static("dd-api-key"),
                    secret_header(api_key.expose())?,
                )];
                if let Some(app_key) = app_key {
                    headers.push((
                        HeaderName::from_static("dd-application-key"),
                        secret_header(app_key.expose())?,
                    ));
                }
                Strategy::Static(headers)
            }
            Some(Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            }) => Strategy::OAuth(OAuthClientCredentials::new(
                token_url,
                client_id,
                client_secret.clone(),
                scope.clone(),
            )?),
            Some(Credential::SnowflakeKeyPair {
                account,
                user,
                private_key_pem,
            }) => Strategy::Snowflake(SnowflakeKeyPairJwt::new(account, user, private_key_pem)?),
            Some(Credential::ClientCertificate { cert_pem, key_pem }) => {
                // rustls wants one PEM with the key and the certificate chain.
                let mut pem = key_pem.expose().trim_end().to_string();
                pem.push('\n');
                pem.push_str(cert_pem);
                let identity = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
                    unusable(format!(
                        "the client certificate or key ({})",
                        e.without_url()
                    ))
                })?;
                Strategy::ClientCertificate(identity)
            }
        };
        Ok(Auth { strategy })
    }

    /// The scheme's name, for messages and logs.
    pub fn scheme(&self) -> &'static str {
        match self.strategy {
            Strategy::None => "none",
            Strategy::Static(_) => "static headers",
            Strategy::OAuth(_) => "oauth client credentials",
            Strategy::Snowflake(_) => "snowflake key-pair jwt",
            Strategy::ClientCertificate(_) => "tls client certificate",
        }
    }

    /// The TLS identity, for a partner that needs a client of its own.
    pub fn identity(&self) -> Option<&reqwest::Identity> {
        match &self.strategy {
            Strategy::ClientCertificate(identity) => Some(identity),
            _ => None,
        }
    }

    /// The headers for one request; fetches or regenerates a token when needed.
    pub async fn headers(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> IntegrationResult<AuthHeaders> {
        match &self.strategy {
            Strategy::None | Strategy::ClientCertificate(_) => Ok(Vec::new()),
            Strategy::Static(headers) => Ok(headers.clone()),
            Strategy::OAuth(oauth) => {
                let token = oauth.access_token(client, timeout).await?;
                Ok(vec![(AUTHORIZATION, bearer(token.expose())?)])
            }
            Strategy::Snowflake(jwt) => {
                let token = jwt.token_at(Utc::now()).await?;
                Ok(vec![
                    (AUTHORIZATION, bearer(token.expose())?),
                    (
                        HeaderName::from_static("x-snowflake-authorization-token-type"),
                        HeaderValue::from_static("KEYPAIR_JWT"),
                    ),
                ])
            }
        }
    }

    /// Drops a cached token after the platform refused it; `true` when there was one, so a
    /// fresh one is worth a try.
    pub async fn invalidate(&self) -> bool {
        match &self.strategy {
            Strategy::OAuth(oauth) => oauth.cache.lock().await.take().is_some(),
            Strategy::Snowflake(jwt) => jwt.cache.lock().await.take().is_some(),
            _ => false,
        }
    }
}

struct CachedToken {
    token: Secret,
    /// When to fetch a new one (a margin before the real expiry).
    refresh_at: Instant,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken").finish_non_exhaustive()
    }
}

/// OAuth 2 client credentials: the access token is fetched with `client_secret_basic` and a
/// form `grant_type=client_credentials` (+ `scope`), cached, and refreshed before it expires.
/// The cache lock is held during a fetch, so concurrent callers wait for one fetch
/// (single-flight) instead of each asking for a token.
#[derive(Debug)]
pub struct OAuthClientCredentials {
    token_url: url::Url,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    cache: Mutex<Option<CachedToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// Token answers are small; anything bigger is not a token answer.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

impl OAuthClientCredentials {
    pub fn new(
        token_url: &str,
        client_id: &str,
        client_secret: Secret,
        scope: Option<String>,
    ) -> IntegrationResult<Self> {
        let token_url = url::Url::parse(token_url)
            .map_err(|e| unusable(format!("the token URL is not a URL ({e})")))?;
        Ok(OAuthClientCredentials {
            token_url,
            client_id: client_id.to_string(),
            client_secret,
            scope,
            cache: Mutex::new(None),
        })
    }

    /// A valid access token, from the cache or freshly fetched.
    pub async fn access_token(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> IntegrationResult<Secret> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref() {
            if Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let fetched = self.fetch(client, timeout).await?;
        let token = fetched.token.clone();
        *cache = Some(fetched);
        Ok(token)
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> IntegrationResult<CachedToken> {
        const CONTEXT: &str = "oauth token request";
        // RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = BASE64.encode(format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose())
        ));
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let request = client
            .post(self.token_url.clone())
            .header(AUTHORIZATION, secret_header(&format!("Basic {basic}"))?)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form);
        let exchange = async {
            let response = request
                .send()
                .await
                .map_err(|e| crate::http::classify_transport(&e, CONTEXT))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = crate::http::read_capped(response, TOKEN_BODY_LIMIT, CONTEXT).await?;
            Ok::<_, IntegrationError>((status, headers, body))
        };
        let (status, headers, body) =
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| {
                    IntegrationError::new(
                        ErrorClass::TimedOut,
                        format!("{CONTEXT}: no answer in time"),
                    )
                })??;
        let (token, refresh_in) = parse_token_answer(CONTEXT, status, &headers, &body)?;
        Ok(CachedToken {
            token,
            refresh_at: Instant::now() + refresh_in,
        })
    }
}

/// The longest a fetched token is cached, whatever `expires_in` says (a lifetime beyond what a
/// clock can add must not overflow it, and a day-old token is refreshed all the same).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Reads a token endpoint's answer (RFC 6749 §5.1, §5.2): the access token and how long it may
/// be used before it is refreshed (its lifetime less a margin). A non-2xx answer is the
/// classified error with its status, a refused client (`invalid_client`,
/// `unauthorized_client`, `invalid_grant`) is `credentials_rejected`; a 2xx without a usable
/// `access_token` is `unexpected_response`. No error quotes the token: a 2xx body is never
/// quoted, and an error answer that carries an `access_token` is not either.
pub fn parse_token_answer(
    context: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> IntegrationResult<(Secret, Duration)> {
    if !(200..300).contains(&status) {
        let carries_token = body.windows(12).any(|w| w == b"access_token");
        let quoted: &[u8] = if carries_token { b"" } else { body };
        let mut error = crate::http::status_error(context, status, headers, quoted);
        // RFC 6749 §5.2: a refused client is a 400 or 401 with one of these codes.
        let refused = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .is_some_and(|code| {
                matches!(
                    code.as_str(),
                    "invalid_client" | "unauthorized_client" | "invalid_grant"
                )
            });
        if refused {
            error.class = ErrorClass::CredentialsRejected;
        }
        return Err(error);
    }
    let bad = |what: &str| {
        IntegrationError::new(ErrorClass::UnexpectedResponse, format!("{context}: {what}"))
            .with_status(status)
    };
    let answer: TokenResponse = serde_json::from_slice(body).map_err(|e| {
        bad(&format!(
            "the answer has no access_token ({})",
            e.classify_name()
        ))
    })?;
    // The token goes into an Authorization header: an empty one, or one a header cannot
    // carry, is no token.
    if answer.access_token.is_empty() {
        return Err(bad("the answer's access_token is empty"));
    }
    if HeaderValue::from_str(&format!("Bearer {}", answer.access_token)).is_err() {
        return Err(bad(
            "the answer's access_token has characters an HTTP header cannot carry",
        ));
    }
    // Without expires_in, assume a short life rather than a long one.
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300)).min(MAX_TOKEN_LIFETIME);
    let margin = (lifetime / 2).min(Duration::from_secs(60));
    tracing::debug!(lifetime_s = lifetime.as_secs(), "oauth token fetched");
    Ok((Secret::new(answer.access_token), lifetime - margin))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The kind of a JSON error without its text (which could quote the token).
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "wrong shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// The claims of a Snowflake key-pair JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnowflakeClaims {
    /// `<ACCOUNT>.<USER>.SHA256:<fingerprint>`
    pub iss: String,
    /// `<ACCOUNT>.<USER>`
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

struct CachedJwt {
    token: Secret,
    /// Unix seconds after which a new token is made.
    renew_after: i64,
}

impl std::fmt::Debug for CachedJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedJwt").finish_non_exhaustive()
    }
}

/// Snowflake key-pair authentication: an RS256 JWT whose issuer names the public key's
/// SHA-256 fingerprint. Tokens live 59 minutes (Snowflake allows at most one hour) and are
/// regenerated five minutes before they expire.
pub struct SnowflakeKeyPairJwt {
    qualified_user: String,
    fingerprint: String,
    key: jsonwebtoken::EncodingKey,
    cache: Mutex<Option<CachedJwt>>,
}

impl std::fmt::Debug for SnowflakeKeyPairJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakeKeyPairJwt")
            .field("qualified_user", &self.qualified_user)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Snowflake's JWT lifetime (at most one hour).
pub const SNOWFLAKE_JWT_LIFETIME: Duration = Duration::from_secs(59 * 60);
const SNOWFLAKE_JWT_RENEW_MARGIN: i64 = 5 * 60;

impl SnowflakeKeyPairJwt {
    /// Parses the private key (PKCS#8 PEM, or PKCS#1 `RSA PRIVATE KEY` PEM; not encrypted).
    pub fn new(account: &str, user: &str, private_key_pem: &Secret) -> IntegrationResult<Self> {
        use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
        use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};

        let pem = private_key_pem.expose();
        if pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(unusable("the Snowflake private key is encrypted; store it unencrypted (PKCS#8) in the keyring"));
        }
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                unusable("the Snowflake private key is not an RSA PEM key (PKCS#8 or PKCS#1)")
            })?;
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| unusable("the Snowflake public key could not be encoded"))?;
        let fingerprint = format!("SHA256:{}", BASE64.encode(Sha256::digest(spki.as_bytes())));
        let pkcs1 = key
            .to_pkcs1_der()
            .map_err(|_| unusable("the Snowflake private key could not be encoded"))?;
        let qualified_user = format!(
            "{}.{}",
            snowflake_account_identifier(account),
            user.trim().to_uppercase()
        );
        Ok(SnowflakeKeyPairJwt {
            qualified_user,
            fingerprint,
            key: jsonwebtoken::EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            cache: Mutex::new(None),
        })
    }

    /// `SHA256:<base64 of the DER SubjectPublicKeyInfo's SHA-256>`, as `DESC USER` shows it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The claims of a token issued at `now`.
    pub fn claims_at(&self, now: DateTime<Utc>) -> SnowflakeClaims {
        let iat = now.timestamp();
        SnowflakeClaims {
            iss: format!("{}.{}", self.qualified_user, self.fingerprint),
            sub: self.qualified_user.clone(),
            iat,
            exp: iat + SNOWFLAKE_JWT_LIFETIME.as_secs() as i64,
        }
    }

    /// A token valid at `now`: the cached one, or a new one when it is close to expiry.
    pub async fn token_at(&self, now: DateTime<Utc>) -> IntegrationResult<Secret> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref() {
            if now.timestamp() < cached.renew_after {
                return Ok(cached.token.clone());
            }
        }
        let claims = self.claims_at(now);
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        let token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|_| unusable("the Snowflake private key could not sign a token"))?;
        let token = Secret::new(token);
        *cache = Some(CachedJwt {
            token: token.clone(),
            renew_after: claims.exp - SNOWFLAKE_JWT_RENEW_MARGIN,
        });
        Ok(token)
    }
}

/// The account part of a Snowflake JWT: upper-case; a locator loses its region and cloud
/// (`xy12345.us-east-1.aws` → `XY12345`), an `org.account` name becomes `ORG-ACCOUNT`, and a
/// `.snowflakecomputing.com` host suffix is dropped.
pub fn snowflake_account_identifier(account: &str) -> String {
    let account = account.trim().to_lowercase();
    let account = account
        .strip_suffix(".snowflakecomputing.com")
        .unwrap_or(&account);
    let account = account.strip_suffix(".global").unwrap_or(account);
    let normalized = match account.split_once('.') {
        // Region names (us-east-1, east-us-2...) always have a hyphen: a locator.
        Some((locator, rest)) if rest.contains('-') || rest.is_empty() => locator.to_string(),
        Some((org, name)) => format!("{org}-{name}"),
        None => account.to_string(),
    };
    normalized.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn header_map(auth: &Auth) -> Vec<(String, String, bool)> {
        let client = reqwest::Client::new();
        auth.headers(&client, Duration::from_secs(1))
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    v.to_str().unwrap_or("").to_string(),
                    v.is_sensitive(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn api_key_bearer_and_basic_become_sensitive_headers() {
        let cases = [
            (
                Credential::ApiKey {
                    header: "X-API-Key".into(),
                    key: Secret::new("k1"),
                },
                ("x-api-key", "k1"),
            ),
            (
                Credential::Bearer {
                    token: Secret::new("dapi123"),
                },
                ("authorization", "Bearer dapi123"),
            ),
            (
                Credential::Basic {
                    username: "admin".into(),
                    password: Secret::new("pw"),
                },
                ("authorization", "Basic YWRtaW46cHc="),
            ),
        ];
        for (credential, (name, value)) in cases {
            let auth = Auth::from_credential(Some(&credential)).unwrap();
            let headers = header_map(&auth).await;
            assert_eq!(
                headers,
                vec![(name.to_string(), value.to_string(), true)],
                "{credential:?}"
            );
        }
    }

    #[tokio::test]
    async fn datadog_keys_send_both_headers_and_the_app_key_only_when_present() {
        let both = Auth::from_credential(Some(&Credential::DatadogKeys {
            api_key: Secret::new("api"),
            app_key: Some(Secret::new("app")),
        }))
        .unwrap();
        let names: Vec<_> = header_map(&both)
            .await
            .into_iter()
            .map(|(n, v, _)| (n, v))
            .collect();
        assert_eq!(
            names,
            vec![
                ("dd-api-key".into(), "api".into()),
                ("dd-application-key".into(), "app".into())
            ],
            "both Datadog headers"
        );
        let api_only = Auth::from_credential(Some(&Credential::DatadogKeys {
            api_key: Secret::new("api"),
            app_key: None,
        }))
        .unwrap();
        assert_eq!(
            header_map(&api_only).await.len(),
            1,
            "no application key header without one"
        );
    }

    #[test]
    fn a_bad_header_name_is_an_unusable_credential_without_the_secret_in_the_message() {
        let err = Auth::from_credential(Some(&Credential::ApiKey {
            header: "bad header".into(),
            key: Secret::new("s3cr3t"),
        }))
        .err()
        .unwrap();
        assert_eq!(err.class, ErrorClass::MissingCredential, "{err}");
        assert!(!err.message.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn snowflake_account_identifiers_follow_the_documented_rules() {
        let cases = [
            ("xy12345", "XY12345"),
            ("xy12345.us-east-1", "XY12345"),
            ("xy12345.us-east-1.aws", "XY12345"),
            ("myorg-myaccount", "MYORG-MYACCOUNT"),
            ("myorg.myaccount", "MYORG-MYACCOUNT"),
            ("myorg-myaccount.snowflakecomputing.com", "MYORG-MYACCOUNT"),
        ];
        for (input, expected) in cases {
            assert_eq!(snowflake_account_identifier(input), expected, "{input}");
        }
    }

    #[tokio::test]
    async fn snowflake_jwt_has_the_documented_claims_a_valid_signature_and_the_key_fingerprint() {
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};

        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        let public = private.to_public_key();
        let spki = public.to_public_key_der().unwrap();
        let expected_fp = format!("SHA256:{}", BASE64.encode(Sha256::digest(spki.as_bytes())));

        let jwt =
            SnowflakeKeyPairJwt::new("xy12345.us-east-1", "etl_user", &Secret::new(pem.as_str()))
                .unwrap();
        assert_eq!(
            jwt.fingerprint(),
            expected_fp,
            "fingerprint of the DER SubjectPublicKeyInfo"
        );

        let now = Utc::now();
        let token = jwt.token_at(now).await.unwrap();
        let decoding =
            jsonwebtoken::DecodingKey::from_rsa_der(public.to_pkcs1_der().unwrap().as_bytes());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let decoded =
            jsonwebtoken::decode::<SnowflakeClaims>(token.expose(), &decoding, &validation)
                .expect("the token verifies with the public key");
        let claims = decoded.claims;
        assert_eq!(
            claims.sub, "XY12345.ETL_USER",
            "sub is ACCOUNT.USER upper-case"
        );
        assert_eq!(
            claims.iss,
            format!("XY12345.ETL_USER.{expected_fp}"),
            "iss adds the fingerprint"
        );
        assert_eq!(claims.iat, now.timestamp(), "iat is now");
        assert!(
            claims.exp > claims.iat && claims.exp - claims.iat <= 3600,
            "lifetime at most one hour"
        );
        assert_eq!(decoded.header.alg, jsonwebtoken::Algorithm::RS256, "RS256");

        let again = jwt
            .token_at(now + chrono::Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(again.expose(), token.expose(), "a fresh token is reused");
        let renewed = jwt
            .token_at(now + chrono::Duration::minutes(55))
            .await
            .unwrap();
        assert_ne!(
            renewed.expose(),
            token.expose(),
            "a token close to expiry is regenerated"
        );

        let auth = Auth {
            strategy: Strategy::Snowflake(jwt),
        };
        let headers = header_map(&auth).await;
        assert!(
            headers
                .iter()
                .any(|(n, v, _)| n == "x-snowflake-authorization-token-type" && v == "KEYPAIR_JWT"),
            "the token-type header is sent: {headers:?}"
        );
    }

    #[test]
    fn token_answers_give_a_capped_lifetime_and_refused_clients_without_quoting_tokens() {
        let headers = reqwest::header::HeaderMap::new();
        let read = |status, body: &str| parse_token_answer("t", status, &headers, body.as_bytes());
        let (token, refresh_in) =
            read(200, r#"{"access_token":"abc","expires_in":3600}"#).expect("a token answer");
        assert_eq!(token.expose(), "abc");
        assert_eq!(
            refresh_in,
            Duration::from_secs(3540),
            "a minute before expiry"
        );
        let (_, forever) = read(
            200,
            r#"{"access_token":"abc","expires_in":18446744073709551615}"#,
        )
        .expect("a token that never expires");
        assert!(forever < MAX_TOKEN_LIFETIME, "capped: {forever:?}");
        for body in [r#"{"access_token":""}"#, r#"{"access_token":"a\nb"}"#, "{}"] {
            let err = read(200, body).expect_err("no usable token");
            assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{body}: {err}");
            assert_eq!(err.status, Some(200), "{err:?}");
        }
        let refused = read(401, r#"{"error":"invalid_client"}"#).err().unwrap();
        assert_eq!(refused.class, ErrorClass::CredentialsRejected, "{refused}");
        let broken = read(500, r#"{"access_token":"s3cr3t-token","tok"#)
            .err()
            .unwrap();
        assert_eq!(broken.status, Some(500));
        assert!(!broken.message.contains("s3cr3t"), "{broken}");
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_as_unusable() {
        let err = SnowflakeKeyPairJwt::new("a", "u", &Secret::new("not a key"))
            .err()
            .unwrap();
        assert_eq!(err.class, ErrorClass::MissingCredential, "{err}");
    }

    #[test]
    fn a_pem_client_certificate_becomes_an_identity_with_its_own_client() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ecosystem-client".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let credential = Credential::ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: Secret::new(key.serialize_pem()),
        };
        let auth = Auth::from_credential(Some(&credential)).unwrap();
        assert_eq!(auth.scheme(), "tls client certificate", "the mTLS strategy");
        let identity = auth
            .identity()
            .cloned()
            .expect("an identity for the client");
        assert!(
            crate::http::client_with_identity(identity).is_ok(),
            "a client with the identity builds"
        );
    }

    #[test]
    fn a_client_certificate_that_is_not_pem_is_refused_as_unusable() {
        let err = Auth::from_credential(Some(&Credential::ClientCertificate {
            cert_pem: "nope".into(),
            key_pem: Secret::new("nope"),
        }))
        .err()
        .unwrap();
        assert_eq!(err.class, ErrorClass::MissingCredential, "{err}");
    }
}
