//! The interface every partner connector implements, and the vocabulary of its results.
//! Connectors (HTTP, auth, resilience) live in ecosystem-connectors; the core only knows this
//! trait, so the registry, the poller and the reports never depend on HTTP.
//!
//! Failures are classified ([`ErrorClass`]); the class is what the UI and the health state
//! show, and the message never carries a secret.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::PartnerKind;

/// Why a call to a partner failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 401/403, or a token the platform refused.
    CredentialsRejected,
    /// 404: the thing asked for is not there.
    NotFound,
    /// 400/422: the platform refused the request as malformed or invalid.
    InvalidRequest,
    /// 429, or the platform's own rate-limit answer.
    RateLimited,
    /// No answer within the timeout.
    TimedOut,
    /// DNS failure, refused or reset connection, TLS failure.
    Unreachable,
    /// 5xx.
    PlatformError,
    /// An answer that is not what the API promises (malformed JSON, wrong shape, too large).
    UnexpectedResponse,
    /// The circuit breaker is open after repeated failures; the call was not made.
    CircuitOpen,
    /// Ecosystem has no credential for a partner that needs one.
    MissingCredential,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::CredentialsRejected => "credentials_rejected",
            ErrorClass::NotFound => "not_found",
            ErrorClass::InvalidRequest => "invalid_request",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::TimedOut => "timed_out",
            ErrorClass::Unreachable => "unreachable",
            ErrorClass::PlatformError => "platform_error",
            ErrorClass::UnexpectedResponse => "unexpected_response",
            ErrorClass::CircuitOpen => "circuit_open",
            ErrorClass::MissingCredential => "missing_credential",
        }
    }

    /// Worth trying again after a pause.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited
                | ErrorClass::TimedOut
                | ErrorClass::Unreachable
                | ErrorClass::PlatformError
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure of a call to a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{class}: {message}")]
pub struct IntegrationError {
    pub class: ErrorClass,
    /// What happened, for people; never contains a secret.
    pub message: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// How long the platform asked us to wait (Retry-After, X-RateLimit-Reset).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl IntegrationError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        IntegrationError {
            class,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

pub type IntegrationResult<T> = std::result::Result<T, IntegrationError>;

/// The outcome of a connection test, as `ecosystem check` and the health poller see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Healthy,
    /// Reachable, but slow or with some capability failing.
    Degraded,
    Unhealthy,
}

/// One capability probed during a connection test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedCapability {
    pub name: String,
    pub ok: bool,
    pub error: Option<IntegrationError>,
}

/// What `test_connection` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionCheck {
    pub state: CheckState,
    pub latency_ms: u64,
    /// Why the partner is not healthy; `None` when it is.
    pub error: Option<IntegrationError>,
    pub capabilities: Vec<VerifiedCapability>,
}

/// Data sent to a partner (an artifact, a file, a batch of metrics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPayload {
    /// Where it goes, in the platform's terms (a DBFS path, an artifact path, a metric name).
    pub target: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A request for data from a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRequest {
    /// What to read, in the platform's terms.
    pub source: String,
    pub params: BTreeMap<String, String>,
}

/// Something that happened on a platform (a run changed state, a model version appeared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformEvent {
    /// Unique within the partner, stable across polls.
    pub id: String,
    /// E.g. `mlflow.run.created`, `databricks.run.state_changed`, `datadog.event`.
    pub kind: String,
    pub subject: String,
    pub at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// Where a poll for events left off; opaque to everyone but its connector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor(pub String);

/// The events since a cursor, and the cursor to poll from next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub events: Vec<PlatformEvent>,
    pub next: EventCursor,
}

/// One usage figure in the platform's own unit (DBU, credits, runs, hosts...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageFigure {
    pub metric: String,
    pub unit: String,
    pub value: f64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub dimensions: BTreeMap<String, String>,
}

/// A partner platform, as Ecosystem talks to it.
#[async_trait::async_trait]
pub trait Integration: Send + Sync {
    fn kind(&self) -> PartnerKind;

    /// The capabilities this connector offers for its partner.
    fn capabilities(&self) -> Vec<String>;

    /// Prepares the connection (fetches tokens, checks the credential is usable).
    async fn connect(&self) -> IntegrationResult<()>;

    /// Releases what `connect` took (cached tokens).
    async fn disconnect(&self) -> IntegrationResult<()>;

    /// The cheapest authenticated call, plus a probe of each capability.
    async fn test_connection(&self) -> ConnectionCheck;

    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()>;

    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>>;

    /// The platform's events after `cursor` (from now, when `None`); polled, since a desktop
    /// cannot take webhooks.
    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch>;

    /// The platform's own usage figures for a time window.
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>>;
}
