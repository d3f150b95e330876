//! The custom HTTP connector: a partner without a built-in connector is checked by a
//! declarative check file (`ecosystem_core::custom_check`: method, URL, headers, body, and
//! conditions on status, latency and JSON values). This module sends the request, with the
//! partner's stored credential applied by any [`crate::auth`] strategy (API key, bearer,
//! basic, OAuth client credentials, mTLS...), and turns the conditions that fail into a
//! [`ConnectionCheck`]: unhealthy when a failing condition has severity `unhealthy`, degraded
//! when only `degraded` ones fail. Each condition is a capability named by its line, and the
//! error names the file and line of the first failing condition.
//!
//! Unlike the platform connectors, a check sees every answer as it is: a 404 or a 503 is an
//! answer to evaluate (a check may expect one), not an error. Only a transport failure (no
//! answer, timeout, a body over the size cap) makes the check unhealthy by itself. Checks are
//! not retried: the health poller wants the partner as it is. Without a check file the
//! partner's endpoint is fetched with a GET that must answer 2xx.
//!
//! Docs: the file format is described in `crates/core/src/custom_check.rs`.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_core::custom_check::{
    self, CheckAnswer, CheckRequest, Condition, ConditionTest, CustomCheck, FailedCondition,
    Severity,
};
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor,
    Integration, IntegrationError, IntegrationResult, UsageFigure, VerifiedCapability,
};
use ecosystem_core::{Credential, PartnerKind};
use reqwest::header::{HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::auth::Auth;
use crate::http::{
    classify_status, classify_transport, client_with_identity, read_capped, shared_client,
    wait_asked,
};
use crate::resilience::ResiliencePolicy;

/// A custom check's answer: status, latency and body, or the transport failure.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub status: u16,
    pub latency_ms: u64,
    pub body: Vec<u8>,
    /// The wait the partner asked for (`Retry-After`, else `X-RateLimit-Reset`), which the
    /// error of a failed status condition on a 429 or 503 carries.
    pub retry_after: Option<Duration>,
}

/// The custom HTTP connector.
#[derive(Debug)]
pub struct CustomHttpConnector {
    partner: String,
    /// Where the check came from (`feature-store.check.toml`), for messages.
    source: String,
    check: CustomCheck,
    client: reqwest::Client,
    auth: Auth,
    max_body_bytes: usize,
}

impl CustomHttpConnector {
    /// A connector running `check`; `source` names where it came from in messages.
    pub fn new(
        partner: &str,
        source: &str,
        check: CustomCheck,
        credential: Option<Credential>,
        policy: ResiliencePolicy,
    ) -> IntegrationResult<Self> {
        let auth = Auth::from_credential(credential.as_ref())?;
        let client = match auth.identity() {
            Some(identity) => client_with_identity(identity.clone())?,
            None => shared_client()?,
        };
        Ok(CustomHttpConnector {
            partner: partner.to_string(),
            source: source.to_string(),
            check,
            client,
            auth,
            max_body_bytes: policy.max_body_bytes,
        })
    }

    /// A connector running the check file at `path`; a file that does not parse is
    /// `invalid_request` naming its line.
    pub fn from_file(
        partner: &str,
        path: &Path,
        credential: Option<Credential>,
        policy: ResiliencePolicy,
    ) -> IntegrationResult<Self> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{partner}: cannot read the check file {name}: {e}"),
            )
        })?;
        let check = custom_check::parse(&name, &text).map_err(|e| {
            IntegrationError::new(ErrorClass::InvalidRequest, format!("{partner}: {e}"))
        })?;
        CustomHttpConnector::new(partner, &name, check, credential, policy)
    }

    /// A connector that GETs `endpoint` and expects a 2xx answer.
    pub fn plain_get(
        partner: &str,
        endpoint: &str,
        credential: Option<Credential>,
        policy: ResiliencePolicy,
    ) -> IntegrationResult<Self> {
        let url = url::Url::parse(endpoint).map_err(|e| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{partner}: the endpoint is not a URL ({e})"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{partner}: the endpoint must use http or https"),
            ));
        }
        let check = CustomCheck {
            request: CheckRequest {
                method: "GET".into(),
                url: endpoint.to_string(),
                headers: Default::default(),
                body: None,
                timeout_secs: u32::try_from(policy.timeout.as_secs().clamp(1, 300)).unwrap_or(30),
            },
            conditions: vec![Condition {
                line: 0,
                test: ConditionTest::StatusClass(2),
                severity: Severity::Unhealthy,
            }],
        };
        CustomHttpConnector::new(partner, "default check", check, credential, policy)
    }

    pub fn check(&self) -> &CustomCheck {
        &self.check
    }

    fn context(&self) -> String {
        format!("{} check", self.partner)
    }

    /// Sends the check's request and reads the whole answer (within the size cap).
    pub async fn send(&self) -> IntegrationResult<CheckOutcome> {
        let context = self.context();
        let request = &self.check.request;
        let invalid = |what: String| {
            IntegrationError::new(ErrorClass::InvalidRequest, format!("{context}: {what}"))
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| invalid(format!("{:?} is not an HTTP method", request.method)))?;
        let url = url::Url::parse(&request.url).map_err(|e| invalid(format!("url: {e}")))?;
        let timeout = Duration::from_secs(u64::from(request.timeout_secs.max(1)));
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("{name:?} is not a header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("the value of {name} is not a header value")))?;
            builder = builder.header(name, value);
        }
        for (name, value) in self.auth.headers(&self.client, timeout).await? {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let max_body = self.max_body_bytes;
        let exchange = async {
            let response = builder
                .send()
                .await
                .map_err(|e| classify_transport(&e, &context))?;
            let status = response.status().as_u16();
            let retry_after = wait_asked(response.headers(), Utc::now());
            let body = read_capped(response, max_body, &context).await?;
            Ok::<_, IntegrationError>((status, body, retry_after))
        };
        let (status, body, retry_after) =
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| {
                    IntegrationError::new(
                        ErrorClass::TimedOut,
                        format!(
                            "{context}: no complete answer within {} ms",
                            timeout.as_millis()
                        ),
                    )
                })??;
        Ok(CheckOutcome {
            status,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            body,
            retry_after,
        })
    }

    /// Where a condition is, for messages: `file:line`, or the default check's words.
    fn place(&self, line: usize) -> String {
        if line == 0 {
            self.source.clone()
        } else {
            format!("{}:{line}", self.source)
        }
    }

    /// The error of a failed condition: its class from what it tests. A status condition
    /// failed by a 429 or 503 carries the wait the partner asked for, as a platform
    /// connector's error does.
    fn failure_error(&self, failed: &FailedCondition, outcome: &CheckOutcome) -> IntegrationError {
        let status = outcome.status;
        let test = self
            .check
            .conditions
            .iter()
            .find(|c| c.line == failed.line)
            .map(|c| &c.test);
        let class = match test {
            Some(ConditionTest::StatusIn(_) | ConditionTest::StatusClass(_))
                if !(200..300).contains(&status) =>
            {
                classify_status(status)
            }
            Some(ConditionTest::LatencyBelowMs(_)) => ErrorClass::TimedOut,
            _ => ErrorClass::UnexpectedResponse,
        };
        let mut error = IntegrationError::new(
            class,
            format!(
                "{}: {}: {}",
                self.context(),
                self.place(failed.line),
                failed.reason
            ),
        )
        .with_status(status);
        if matches!(class, ErrorClass::RateLimited | ErrorClass::PlatformError) {
            error.retry_after = outcome.retry_after;
        }
        error
    }

    /// The check of an answer: every condition evaluated.
    pub fn judge(&self, outcome: &CheckOutcome) -> ConnectionCheck {
        let failures = self.check.evaluate(&CheckAnswer {
            status: outcome.status,
            latency_ms: outcome.latency_ms,
            body: &outcome.body,
        });
        let capabilities: Vec<VerifiedCapability> = self
            .check
            .conditions
            .iter()
            .map(|c| {
                let failed = failures.iter().find(|f| f.line == c.line);
                VerifiedCapability {
                    name: describe(c, &self.place(c.line)),
                    ok: failed.is_none(),
                    error: failed.map(|f| self.failure_error(f, outcome)),
                }
            })
            .collect();
        let worst = failures
            .iter()
            .find(|f| f.severity == Severity::Unhealthy)
            .or_else(|| failures.first());
        let state = match worst.map(|f| f.severity) {
            None => CheckState::Healthy,
            Some(Severity::Degraded) => CheckState::Degraded,
            Some(Severity::Unhealthy) => CheckState::Unhealthy,
        };
        ConnectionCheck {
            state,
            latency_ms: outcome.latency_ms,
            error: worst.map(|f| self.failure_error(f, outcome)),
            capabilities,
        }
    }
}

/// A condition in words: `check.toml:7 status 2xx`.
fn describe(condition: &Condition, place: &str) -> String {
    let what = match &condition.test {
        ConditionTest::StatusIn(codes) => format!(
            "status {}",
            codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join("|")
        ),
        ConditionTest::StatusClass(class) => format!("status {class}xx"),
        ConditionTest::LatencyBelowMs(ms) => format!("latency below {ms} ms"),
        ConditionTest::Json { path, .. } => format!("json {}", path.text),
    };
    format!("{place} {what}")
}

#[async_trait]
impl Integration for CustomHttpConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Http
    }

    fn capabilities(&self) -> Vec<String> {
        vec!["health-check".into()]
    }

    /// Runs the check; an unhealthy answer is the error.
    async fn connect(&self) -> IntegrationResult<()> {
        let check = self.test_connection().await;
        match (check.state, check.error) {
            (CheckState::Unhealthy, Some(error)) => Err(error),
            _ => Ok(()),
        }
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        self.auth.invalidate().await;
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        match self.send().await {
            Ok(outcome) => self.judge(&outcome),
            Err(error) => ConnectionCheck {
                state: CheckState::Unhealthy,
                latency_ms: 0,
                capabilities: vec![VerifiedCapability {
                    name: "request".into(),
                    ok: false,
                    error: Some(error.clone()),
                }],
                error: Some(error),
            },
        }
    }

    async fn send_data(&self, _payload: DataPayload) -> IntegrationResult<()> {
        Err(IntegrationError::new(
            ErrorClass::InvalidRequest,
            format!("{}: a custom HTTP partner takes no data", self.context()),
        ))
    }

    /// `source` `check`: the body of the check's answer.
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        if request.source != "check" {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: source {:?} is not check (the only data a custom partner has)",
                    self.context(),
                    request.source
                ),
            ));
        }
        Ok(self.send().await?.body)
    }

    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        Ok(EventBatch {
            events: Vec::new(),
            next: cursor.unwrap_or_default(),
        })
    }

    async fn collect_metrics(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        Ok(Vec::new())
    }
}
