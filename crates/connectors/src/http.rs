//! The HTTP foundation shared by every connector: one pooled reqwest client (rustls with ring,
//! gzip), a per-partner [`PartnerHttp`] that applies authentication and the resilience
//! policies to each call, a capped body reader, and the classification of every failure into
//! an [`ErrorClass`].
//!
//! Every call has a timeout (connect, send and the whole body), reads its body as a stream and
//! stops past `max_body_bytes`, waits for the partner's rate limit and bulkhead, and (for data
//! operations) asks the partner's circuit breaker first. Retriable failures are retried with
//! backoff; a call that may already have had an effect (a POST that reached the platform) is
//! only retried when the platform says it did not process it (429, 503).
//!
//! Messages name the partner and the operation ("mlflow search runs: HTTP 404 …"), never a URL
//! (a URL may carry a credential) and never a secret. Only the shared client is pooled; a
//! partner with a TLS client certificate gets its own client (its own pool), since a reqwest
//! identity is a property of the client, not of a request.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ecosystem_core::integration::{ErrorClass, IntegrationError, IntegrationResult};
use ecosystem_core::Credential;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::auth::Auth;
use crate::resilience::{Resilience, ResiliencePolicy};
use crate::usage::{counters_for, CallCounters};

/// The user agent of every call.
pub const USER_AGENT: &str = concat!("ecosystem/", env!("CARGO_PKG_VERSION"));

/// Connection set-up must finish within this (the per-call timeout still bounds the whole call).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of every client, shared or per-partner.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(8)
        .tcp_keepalive(Duration::from_secs(60))
        // reqwest drops Authorization on a redirect to another host; a few hops are enough.
        .redirect(reqwest::redirect::Policy::limited(5))
}

/// The one pooled client every partner without a client certificate shares.
pub fn shared_client() -> IntegrationResult<reqwest::Client> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| client_builder().build().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| {
            IntegrationError::new(
                ErrorClass::Unreachable,
                format!("the HTTP client could not start: {e}"),
            )
        })
}

/// A client of its own for a partner that authenticates with a TLS client certificate.
pub fn client_with_identity(identity: reqwest::Identity) -> IntegrationResult<reqwest::Client> {
    client_builder().identity(identity).build().map_err(|e| {
        IntegrationError::new(
            ErrorClass::MissingCredential,
            format!("the client certificate cannot be used: {}", e.without_url()),
        )
    })
}

/// What a call sends as its body.
#[derive(Debug, Clone, Default)]
pub enum RequestBody {
    #[default]
    Empty,
    Json(serde_json::Value),
    Bytes {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// Whether the circuit breaker guards a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A data operation: guarded by the breaker, retried.
    Data,
    /// A health or capability probe: bypasses the breaker and is not retried, so the poller
    /// sees the platform as it is.
    Probe,
}

/// One logical call to a partner (it may take several attempts).
#[derive(Debug, Clone)]
pub struct Call {
    /// What the call does, for messages and logs ("search runs").
    pub operation: String,
    pub method: Method,
    /// Relative to the partner's endpoint, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: RequestBody,
    pub kind: CallKind,
    /// Safe to repeat after it may have reached the platform (GET, PUT, searches).
    pub idempotent: bool,
}

impl Call {
    pub fn new(operation: impl Into<String>, method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        );
        Call {
            operation: operation.into(),
            method,
            path: path.into(),
            query: Vec::new(),
            body: RequestBody::Empty,
            kind: CallKind::Data,
            idempotent,
        }
    }

    pub fn get(operation: impl Into<String>, path: impl Into<String>) -> Self {
        Call::new(operation, Method::GET, path)
    }

    pub fn post_json(
        operation: impl Into<String>,
        path: impl Into<String>,
        body: serde_json::Value,
    ) -> Self {
        Call::new(operation, Method::POST, path).json(body)
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = RequestBody::Json(body);
        self
    }

    pub fn bytes(mut self, content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.body = RequestBody::Bytes {
            content_type: content_type.into(),
            bytes,
        };
        self
    }

    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    pub fn probe(mut self) -> Self {
        self.kind = CallKind::Probe;
        self
    }

    /// Marks a POST that is safe to repeat (a search).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// A successful (2xx) answer, its body read in full (within the cap).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON of type `T`; an undecodable or wrong-shaped body is
    /// `unexpected_response`, naming `context` (partner and operation).
    pub fn json<T: DeserializeOwned>(&self, context: &str) -> IntegrationResult<T> {
        // MLflow answers `{}` for "nothing"; an empty body is the same thing.
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            IntegrationError::new(
                ErrorClass::UnexpectedResponse,
                format!("{context}: the answer is not the JSON the API promises ({e})"),
            )
            .with_status(self.status)
        })
    }
}

/// How one partner is reached: endpoint, credential and resilience policy.
#[derive(Debug, Clone)]
pub struct PartnerHttpConfig {
    /// The partner's name, used in messages and logs.
    pub partner: String,
    /// The partner's base URL; it must not carry a user name or password.
    pub endpoint: String,
    pub credential: Option<Credential>,
    pub policy: ResiliencePolicy,
}

/// One partner's HTTP access: its client, authentication and resilience state.
#[derive(Debug)]
pub struct PartnerHttp {
    partner: String,
    base: Url,
    client: reqwest::Client,
    auth: Auth,
    resilience: Resilience,
    /// Ecosystem's own counts of the calls to this partner (see [`crate::usage`]).
    counters: Arc<CallCounters>,
}

/// An attempt's failure, and whether the platform may have acted on the request.
struct AttemptError {
    error: IntegrationError,
    maybe_processed: bool,
}

impl PartnerHttp {
    pub fn new(config: PartnerHttpConfig) -> IntegrationResult<Self> {
        let resilience = Resilience::new(config.policy);
        PartnerHttp::with_resilience(
            config.partner,
            &config.endpoint,
            config.credential.as_ref(),
            resilience,
        )
    }

    /// As [`PartnerHttp::new`], with resilience state built by the caller (a test sleeper).
    pub fn with_resilience(
        partner: String,
        endpoint: &str,
        credential: Option<&Credential>,
        resilience: Resilience,
    ) -> IntegrationResult<Self> {
        let base = Url::parse(endpoint).map_err(|e| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{partner}: the endpoint is not a URL ({e})"),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{partner}: the endpoint must use http or https"),
            ));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{partner}: the endpoint carries a user name or password; store credentials in the keyring instead"
                ),
            ));
        }
        let auth = Auth::from_credential(credential)?;
        let client = match auth.identity() {
            Some(identity) => client_with_identity(identity.clone())?,
            None => shared_client()?,
        };
        Ok(PartnerHttp {
            counters: counters_for(&partner),
            partner,
            base,
            client,
            auth,
            resilience,
        })
    }

    pub fn partner(&self) -> &str {
        &self.partner
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// `"<partner> <operation>"`, the prefix of every message about a call.
    pub fn context(&self, operation: &str) -> String {
        format!("{} {}", self.partner, operation)
    }

    fn url(&self, path: &str) -> IntegrationResult<Url> {
        let joined = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|e| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{}: bad request path ({e})", self.partner),
            )
        })
    }

    /// Makes a call with every policy applied; a non-2xx answer is a classified error.
    pub async fn execute(&self, call: &Call) -> IntegrationResult<HttpResponse> {
        let context = self.context(&call.operation);
        let ticket = match call.kind {
            CallKind::Data => Some(self.resilience.breaker.admit(&context)?),
            CallKind::Probe => None,
        };
        let result = self.execute_with_retries(call, &context).await;
        if let Some(ticket) = ticket {
            ticket.record(&result);
        }
        result
    }

    async fn execute_with_retries(
        &self,
        call: &Call,
        context: &str,
    ) -> IntegrationResult<HttpResponse> {
        let policy = &self.resilience.policy;
        let retry = match call.kind {
            CallKind::Data => policy.retry.clone(),
            CallKind::Probe => crate::resilience::RetryPolicy::never(),
        };
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut refreshed_credential = false;
        loop {
            attempt += 1;
            let outcome = self.attempt(call, context).await;
            let failure = match outcome {
                Ok(response) => {
                    tracing::debug!(
                        partner = %self.partner,
                        operation = %call.operation,
                        status = response.status,
                        attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "partner call succeeded"
                    );
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            let error = failure.error;
            // A cached token the platform refused may just have been revoked: fetch a fresh
            // one and try once more, without counting it as a retry.
            if error.class == ErrorClass::CredentialsRejected
                && !refreshed_credential
                && self.auth.invalidate().await
            {
                refreshed_credential = true;
                attempt -= 1;
                continue;
            }
            let repeatable = call.idempotent
                || !failure.maybe_processed
                || error.class == ErrorClass::RateLimited
                || error.status == Some(503);
            let delay = if repeatable {
                retry.next_delay(&error, attempt, started.elapsed())
            } else {
                None
            };
            let Some(delay) = delay else {
                tracing::warn!(
                    partner = %self.partner,
                    operation = %call.operation,
                    class = %error.class,
                    status = error.status,
                    attempt,
                    "partner call failed"
                );
                return Err(error);
            };
            tracing::info!(
                partner = %self.partner,
                operation = %call.operation,
                class = %error.class,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying partner call"
            );
            self.resilience.sleeper.sleep(delay).await;
        }
    }

    async fn attempt(&self, call: &Call, context: &str) -> Result<HttpResponse, AttemptError> {
        let not_sent = |error| AttemptError {
            error,
            maybe_processed: false,
        };
        if let Some(limiter) = &self.resilience.limiter {
            limiter.acquire().await;
        }
        let _permit = self
            .resilience
            .bulkhead
            .enter(context)
            .await
            .map_err(not_sent)?;
        let headers = self
            .auth
            .headers(&self.client, self.resilience.policy.timeout)
            .await
            .map_err(not_sent)?;
        let mut request = self
            .client
            .request(call.method.clone(), self.url(&call.path).map_err(not_sent)?);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut sent = 0u64;
        request = match &call.body {
            RequestBody::Empty => request,
            RequestBody::Json(value) => {
                let text = value.to_string();
                sent = text.len() as u64;
                request
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(text)
            }
            RequestBody::Bytes {
                content_type,
                bytes,
            } => {
                sent = bytes.len() as u64;
                request
                    .header(CONTENT_TYPE, content_type.as_str())
                    .body(bytes.clone())
            }
        };
        let timeout = self.resilience.policy.timeout;
        let max_body = self.resilience.policy.max_body_bytes;
        let exchange = async {
            let response = request.send().await.map_err(|e| AttemptError {
                maybe_processed: !e.is_connect(),
                error: classify_transport(&e, context),
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response, max_body, context)
                .await
                .map_err(|error| AttemptError {
                    error,
                    maybe_processed: true,
                })?;
            Ok::<_, AttemptError>(HttpResponse {
                status,
                headers,
                body,
            })
        };
        let sent_at = Instant::now();
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(AttemptError {
                error: IntegrationError::new(
                    ErrorClass::TimedOut,
                    format!(
                        "{context}: no complete answer within {} ms",
                        timeout.as_millis()
                    ),
                ),
                maybe_processed: true,
            }),
        };
        let received = outcome.as_ref().map_or(0, |r| r.body.len() as u64);
        let answered_2xx = outcome
            .as_ref()
            .is_ok_and(|r| (200..300).contains(&r.status));
        self.counters
            .record(sent_at.elapsed(), sent, received, !answered_2xx);
        let response = outcome?;
        answer(context, response.status, response.headers, response.body).map_err(|error| {
            AttemptError {
                error,
                maybe_processed: true,
            }
        })
    }

    /// A GET (or any call) whose JSON answer is decoded into `T`. An answer that does not
    /// decode counts as a failed call in Ecosystem's counters.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call) -> IntegrationResult<T> {
        self.decode(call, |response, context| response.json(context))
            .await
    }

    /// A call whose 2xx answer is read by `parse` (given the answer and the call's context).
    /// An answer `parse` refuses counts as a failed call in Ecosystem's counters. The parsers
    /// are the connectors' pure answer readers, which the fuzz targets exercise too.
    pub async fn decode<T>(
        &self,
        call: &Call,
        parse: impl FnOnce(&HttpResponse, &str) -> IntegrationResult<T>,
    ) -> IntegrationResult<T> {
        let response = self.execute(call).await?;
        parse(&response, &self.context(&call.operation)).inspect_err(|_| self.count_bad_answer())
    }

    /// Counts a 2xx answer the connector could not use (not the JSON the API promises) as a
    /// failed call in Ecosystem's counters; for connectors that decode answers themselves.
    pub fn count_bad_answer(&self) {
        self.counters.record_failure();
    }
}

/// Reads a body chunk by chunk, refusing it once it passes `max_bytes` (memory stays bounded
/// by the cap, whatever the platform sends or claims in Content-Length).
pub async fn read_capped(
    mut response: reqwest::Response,
    max_bytes: usize,
    context: &str,
) -> IntegrationResult<Vec<u8>> {
    let too_large = || {
        IntegrationError::new(
            ErrorClass::UnexpectedResponse,
            format!("{context}: the answer is larger than the {max_bytes}-byte limit"),
        )
    };
    let status = response.status().as_u16();
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large().with_status(status));
    }
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(8 * 1024, |len| len as usize)
            .min(max_bytes),
    );
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| classify_transport(&e, context))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large().with_status(status));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The class of a transport failure (no HTTP status).
pub fn classify_transport(error: &reqwest::Error, context: &str) -> IntegrationError {
    let class = if error.is_timeout() {
        ErrorClass::TimedOut
    } else if error.is_decode() {
        ErrorClass::UnexpectedResponse
    } else {
        // connect (DNS, refused, TLS), request and body errors (reset, closed early)
        ErrorClass::Unreachable
    };
    let cause = root_cause(error);
    let what = if error.is_connect() && cause.contains("certificate") {
        // rustls says "invalid peer certificate: …": name the certificate as the problem.
        "could not connect: the partner's TLS certificate was refused"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_decode() {
        "could not decode the answer"
    } else if error.is_body() {
        "the connection broke while reading the answer"
    } else {
        "the request failed"
    };
    IntegrationError::new(class, format!("{context}: {what} ({cause})"))
}

/// The innermost cause of a transport error, which says what happened ("Connection refused")
/// without the URL reqwest puts in its own message.
fn root_cause(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    strip_urls(&source.to_string())
}

/// Drops anything that looks like a URL from a message.
fn strip_urls(text: &str) -> String {
    text.split_whitespace()
        .map(|word| if word.contains("://") { "<url>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An answer as the connectors see it: a 2xx answer is the response, any other status is its
/// classified error ([`status_error`]). Pure, so the fuzz targets feed it arbitrary answers.
pub fn answer(
    context: &str,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
) -> IntegrationResult<HttpResponse> {
    if (200..300).contains(&status) {
        return Ok(HttpResponse {
            status,
            headers,
            body,
        });
    }
    Err(status_error(context, status, &headers, &body))
}

/// The class of an HTTP status.
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        401 | 403 => ErrorClass::CredentialsRejected,
        404 | 410 => ErrorClass::NotFound,
        408 => ErrorClass::TimedOut,
        429 => ErrorClass::RateLimited,
        500..=599 => ErrorClass::PlatformError,
        // 400, 405, 409, 413, 415, 422 and the rest of 4xx: the request was refused.
        400..=499 => ErrorClass::InvalidRequest,
        _ => ErrorClass::UnexpectedResponse,
    }
}

/// The classified error of a non-2xx answer, with the platform's own message when its body
/// has one, and the wait it asked for.
pub fn status_error(
    context: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> IntegrationError {
    let class = classify_status(status);
    let detail = platform_message(body);
    let message = match detail {
        Some(detail) => format!("{context}: HTTP {status}: {detail}"),
        None => format!("{context}: HTTP {status}"),
    };
    let mut error = IntegrationError::new(class, message).with_status(status);
    error.retry_after = wait_asked(headers, chrono::Utc::now());
    error
}

/// The wait a platform asked for: `Retry-After` (seconds or an HTTP-date), else Datadog's
/// `X-RateLimit-Reset` (seconds until the window resets).
pub fn wait_asked(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() && seconds >= 0.0 {
                // More seconds than a Duration holds is a wait no retry policy honours.
                return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
            }
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(value) {
            let wait = at.with_timezone(&chrono::Utc) - now;
            return Some(wait.to_std().unwrap_or(Duration::ZERO));
        }
    }
    headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The platform's error message from a body, in the shapes the partners use:
/// `{"error_code","message"}` (MLflow, Databricks), `{"errors":[…]}` (Datadog),
/// `{"code","message"}` (Snowflake), `{"error","error_description"}` (OAuth), `{"detail"}`,
/// or short plain text. At most 300 characters.
pub fn platform_message(body: &[u8]) -> Option<String> {
    const MAX: usize = 300;
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_message(&json)?,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() || text.starts_with('<') {
                return None;
            }
            text
        }
    };
    let mut text = strip_urls(&text);
    if text.chars().count() > MAX {
        text = text.chars().take(MAX).collect::<String>() + "…";
    }
    Some(text)
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    let field = |name: &str| match json.get(name) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let message = field("message")
        .or_else(|| field("error_description"))
        .or_else(|| field("detail"))
        .or_else(|| {
            json.get("errors").and_then(|e| e.as_array()).map(|errors| {
                errors
                    .iter()
                    .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
    let code = field("error_code")
        .or_else(|| field("error"))
        .or_else(|| field("code"));
    match (code, message) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_documented_classes() {
        let cases = [
            (401, ErrorClass::CredentialsRejected),
            (403, ErrorClass::CredentialsRejected),
            (404, ErrorClass::NotFound),
            (400, ErrorClass::InvalidRequest),
            (422, ErrorClass::InvalidRequest),
            (429, ErrorClass::RateLimited),
            (500, ErrorClass::PlatformError),
            (503, ErrorClass::PlatformError),
        ];
        for (status, class) in cases {
            assert_eq!(classify_status(status), class, "HTTP {status}");
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_http_date_and_datadog_reset_as_seconds() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            wait_asked(&headers, now),
            Some(Duration::from_secs(7)),
            "delta-seconds"
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Thu, 26 Nov 2026 10:00:30 GMT"),
        );
        assert_eq!(
            wait_asked(&headers, now),
            Some(Duration::from_secs(30)),
            "HTTP-date"
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Thu, 26 Nov 2026 09:00:00 GMT"),
        );
        assert_eq!(
            wait_asked(&headers, now),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let mut datadog = HeaderMap::new();
        datadog.insert("x-ratelimit-reset", HeaderValue::from_static("12"));
        assert_eq!(
            wait_asked(&datadog, now),
            Some(Duration::from_secs(12)),
            "X-RateLimit-Reset"
        );
        assert_eq!(
            wait_asked(&HeaderMap::new(), now),
            None,
            "no header, no asked wait"
        );
    }

    #[test]
    fn a_wait_longer_than_a_duration_holds_is_the_longest_wait_and_ends_retries() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1e300"));
        let asked = wait_asked(&headers, chrono::Utc::now());
        assert_eq!(asked, Some(Duration::MAX));
        let mut error = IntegrationError::new(ErrorClass::RateLimited, "acme: HTTP 429");
        error.retry_after = asked;
        assert_eq!(
            crate::resilience::RetryPolicy::default().next_delay(&error, 1, Duration::ZERO),
            None,
            "no retry waits that long"
        );
    }

    #[test]
    fn platform_messages_are_read_from_each_partners_error_shape() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (
                br#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=1 not found"}"#,
                Some("RESOURCE_DOES_NOT_EXIST: Run with id=1 not found"),
            ),
            (
                br#"{"error_code":403,"message":"Invalid access token."}"#,
                Some("403: Invalid access token."),
            ),
            (br#"{"errors":["Forbidden"]}"#, Some("Forbidden")),
            (
                br#"{"error":"invalid_client","error_description":"bad secret"}"#,
                Some("invalid_client: bad secret"),
            ),
            (
                b"You are not authenticated. See https://x.example/a?token=1",
                Some("You are not authenticated. See <url>"),
            ),
            (b"<html><body>502</body></html>", None),
        ];
        for (body, expected) in cases {
            assert_eq!(
                platform_message(body).as_deref(),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn an_endpoint_with_a_password_in_it_is_refused() {
        let refused = PartnerHttp::new(PartnerHttpConfig {
            partner: "p".into(),
            endpoint: "https://user:hunter2@h.example".into(),
            credential: None,
            policy: ResiliencePolicy::default(),
        });
        let message = refused.err().map(|e| e.message).unwrap_or_default();
        assert!(
            message.contains("keyring") && !message.contains("hunter2"),
            "{message}"
        );
    }
}
