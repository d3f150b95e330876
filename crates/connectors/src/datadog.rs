//! The Datadog connector, an [`Integration`] and a [`MonitoringPlatform`].
//!
//! Endpoints (<https://docs.datadoghq.com/api/latest/>), on `https://api.<site>`:
//! - `GET /api/v1/validate`: the connection check (API key only);
//! - `POST /api/v2/series`: metric submission (`points` are `{timestamp, value}`; answers 202
//!   `{"errors": []}`);
//! - `POST /api/v1/events`: post an event; `GET /api/v1/events?start=&end=&tags=`: list them
//!   (seconds since the epoch; the events feed [`Integration::subscribe_to_events`] polls);
//! - `GET /api/v2/usage/hourly_usage` (`filter[timestamp][start|end]`,
//!   `filter[product_families]`, paginated by `page[limit]` ≤ 500 and `page[next_record_id]`);
//! - `GET /api/v2/usage/estimated_cost` (`start_date` / `end_date`; up to 72 h late; parent
//!   orgs only).
//!
//! The site picks the host ([`DatadogSite`]: us1 → `api.datadoghq.com`, eu →
//! `api.datadoghq.eu`, us3, us5, ap1, ap2, gov → `api.ddog-gov.com`); a partner endpoint
//! overrides it.
//!
//! Auth: `DD-API-KEY` on every call; `DD-APPLICATION-KEY` only on the calls that need it
//! (event and usage reads). The two kinds of call go through two [`PartnerHttp`]s, so the
//! application key is never sent where it is not needed. A refused key is 403
//! `{"errors": ["Forbidden"]}`.
//!
//! Rate limits: every answer carries `X-RateLimit-Limit/Period/Remaining/Reset/Name`; a 429
//! is retried after `X-RateLimit-Reset` seconds (or `Retry-After`), as the official clients
//! do. Metric submission is not rate limited. Errors are `{"errors": ["…"]}`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use ecosystem_core::integration::{
    ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor, Integration,
    IntegrationError, IntegrationResult, PlatformEvent, UsageFigure,
};
use ecosystem_core::{Credential, PartnerKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::factory::{
    assemble_check, check_credential_fits, decode_cursor, elapsed_ms, encode_cursor, probe,
};
use crate::http::{Call, HttpResponse, PartnerHttp, PartnerHttpConfig};
use crate::monitoring::{MetricKind, MetricSeries, MonitoringEvent, MonitoringPlatform, NewEvent};
use crate::resilience::ResiliencePolicy;

/// Hourly-usage records per page (the API's maximum).
const USAGE_PAGE: u32 = 500;
/// Pages read by one listing at most.
const MAX_PAGES: usize = 200;
/// The product families [`MonitoringPlatform::hourly_usage`] asks for.
pub const USAGE_FAMILIES: &str = "all";

/// A Datadog site: where an organisation's data lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DatadogSite {
    #[default]
    Us1,
    Us3,
    Us5,
    Eu,
    Ap1,
    Ap2,
    Gov,
}

impl DatadogSite {
    pub const ALL: [DatadogSite; 7] = [
        DatadogSite::Us1,
        DatadogSite::Us3,
        DatadogSite::Us5,
        DatadogSite::Eu,
        DatadogSite::Ap1,
        DatadogSite::Ap2,
        DatadogSite::Gov,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DatadogSite::Us1 => "us1",
            DatadogSite::Us3 => "us3",
            DatadogSite::Us5 => "us5",
            DatadogSite::Eu => "eu",
            DatadogSite::Ap1 => "ap1",
            DatadogSite::Ap2 => "ap2",
            DatadogSite::Gov => "gov",
        }
    }

    /// The site's domain (`datadoghq.eu`).
    pub fn domain(self) -> &'static str {
        match self {
            DatadogSite::Us1 => "datadoghq.com",
            DatadogSite::Us3 => "us3.datadoghq.com",
            DatadogSite::Us5 => "us5.datadoghq.com",
            DatadogSite::Eu => "datadoghq.eu",
            DatadogSite::Ap1 => "ap1.datadoghq.com",
            DatadogSite::Ap2 => "ap2.datadoghq.com",
            DatadogSite::Gov => "ddog-gov.com",
        }
    }

    /// The API base URL (`https://api.datadoghq.eu`).
    pub fn api_url(self) -> String {
        format!("https://api.{}", self.domain())
    }
}

impl fmt::Display for DatadogSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatadogSite {
    type Err = IntegrationError;

    /// A site by short name (`eu`) or domain (`datadoghq.eu`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        DatadogSite::ALL
            .into_iter()
            .find(|site| site.as_str() == s || site.domain() == s)
            .ok_or_else(|| {
                IntegrationError::new(
                    ErrorClass::InvalidRequest,
                    format!(
                        "datadog site {s:?}: expected one of {}",
                        DatadogSite::ALL.map(DatadogSite::as_str).join(", ")
                    ),
                )
            })
    }
}

/// How to reach one Datadog organisation.
#[derive(Debug, Clone)]
pub struct DatadogConfig {
    pub partner: String,
    pub site: DatadogSite,
    /// Overrides the site's API host (a proxy, a test server).
    pub endpoint: Option<String>,
    /// `DatadogKeys`, or an `ApiKey` (API key only: no event or usage reads).
    pub credential: Credential,
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
}

/// The Datadog connector.
#[derive(Debug)]
pub struct DatadogConnector {
    /// Calls that take the API key alone (validate, series, posting events).
    intake: PartnerHttp,
    /// Calls that also need the application key (reads); `None` without one.
    reads: Option<PartnerHttp>,
    slow_after: Duration,
}

impl DatadogConnector {
    pub fn new(config: DatadogConfig) -> IntegrationResult<Self> {
        check_credential_fits(
            &config.partner,
            PartnerKind::Datadog,
            Some(&config.credential),
        )?;
        let endpoint = config.endpoint.unwrap_or_else(|| config.site.api_url());
        let (intake_credential, reads_credential) = match config.credential {
            Credential::DatadogKeys { api_key, app_key } => (
                Credential::DatadogKeys {
                    api_key: api_key.clone(),
                    app_key: None,
                },
                app_key.map(|app_key| Credential::DatadogKeys {
                    api_key,
                    app_key: Some(app_key),
                }),
            ),
            other => (other, None),
        };
        let http = |credential: Credential| {
            PartnerHttp::new(PartnerHttpConfig {
                partner: config.partner.clone(),
                endpoint: endpoint.clone(),
                credential: Some(credential),
                policy: config.policy.clone(),
            })
        };
        Ok(DatadogConnector {
            intake: http(intake_credential)?,
            reads: reads_credential.map(http).transpose()?,
            slow_after: config.slow_after,
        })
    }

    /// A connector over HTTP access built by the caller (custom resilience state in tests):
    /// `intake` authenticates with the API key alone, `reads` with both keys.
    pub fn from_http(
        intake: PartnerHttp,
        reads: Option<PartnerHttp>,
        slow_after: Duration,
    ) -> Self {
        DatadogConnector {
            intake,
            reads,
            slow_after,
        }
    }

    pub fn intake_http(&self) -> &PartnerHttp {
        &self.intake
    }

    fn context(&self, operation: &str) -> String {
        self.intake.context(operation)
    }

    /// The access for calls that need the application key.
    fn reads(&self, operation: &str) -> IntegrationResult<&PartnerHttp> {
        self.reads.as_ref().ok_or_else(|| {
            IntegrationError::new(
                ErrorClass::MissingCredential,
                format!(
                    "{}: needs an application key (DD-APPLICATION-KEY) besides the API key",
                    self.context(operation)
                ),
            )
        })
    }

    /// Whether the API key is valid (`GET /api/v1/validate`).
    pub async fn validate(&self) -> IntegrationResult<()> {
        let valid = self
            .intake
            .decode(
                &Call::get("validate API key", "/api/v1/validate"),
                parse_validate,
            )
            .await?;
        check_valid(valid, &self.context("validate API key"))
    }
}

/// `credentials_rejected` unless Datadog said the key is valid.
pub fn check_valid(valid: bool, context: &str) -> IntegrationResult<()> {
    if valid {
        Ok(())
    } else {
        Err(IntegrationError::new(
            ErrorClass::CredentialsRejected,
            format!("{context}: Datadog says the API key is not valid"),
        ))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn metric_type(kind: MetricKind) -> u8 {
    match kind {
        MetricKind::Unspecified => 0,
        MetricKind::Count => 1,
        MetricKind::Rate => 2,
        MetricKind::Gauge => 3,
    }
}

/// The unit of an hourly usage type, from its name (`ingested_events_bytes` → bytes). Counts of
/// things present during the hour (hosts, containers, custom timeseries) are gauges: summed
/// over a day's hours they are host-hours, container-hours, timeseries-hours, and the unit says
/// so (a day's mean is the sum over 24). Counts of events in the hour stay `count`.
fn usage_unit(usage_type: &str) -> &'static str {
    if usage_type.ends_with("_bytes") {
        "bytes"
    } else if usage_type.ends_with("host_count") {
        "host-hours"
    } else if usage_type.ends_with("container_count") {
        "container-hours"
    } else if usage_type.ends_with("_timeseries") {
        "timeseries-hours"
    } else if usage_type.ends_with("_count") {
        "count"
    } else {
        "units"
    }
}

// ---- answer parsing ----------------------------------------------------------------------------
//
// Pure readers of the API's answers: the connector runs its answers through them, and the fuzz
// targets (fuzz/, through `crate::fuzzing`) feed them arbitrary ones.

/// The `validate` answer (the connection check): whether the API key is valid.
pub fn parse_validate(response: &HttpResponse, context: &str) -> IntegrationResult<bool> {
    response.json::<Validate>(context).map(|v| v.valid)
}

/// An `hourly_usage` page: one figure per measurement of each hour, and the record id of the
/// next page. Records without a readable hour are skipped.
pub fn parse_hourly_usage(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<(Vec<UsageFigure>, Option<String>)> {
    let page: UsagePage = response.json(context)?;
    let mut figures = Vec::new();
    for record in page.data {
        let a = record.attributes;
        let Some(hour) = parse_time(a.timestamp.as_deref()) else {
            continue;
        };
        for m in a.measurements {
            let mut dimensions = BTreeMap::new();
            if let Some(family) = &a.product_family {
                dimensions.insert("product_family".to_string(), family.clone());
            }
            if let Some(org) = &a.public_id {
                dimensions.insert("org".to_string(), org.clone());
            }
            figures.push(UsageFigure {
                unit: usage_unit(&m.usage_type).into(),
                metric: m.usage_type,
                value: m.value.unwrap_or(0.0),
                period_start: hour,
                period_end: hour + chrono::Duration::hours(1),
                dimensions,
            });
        }
    }
    let next = page
        .meta
        .pagination
        .next_record_id
        .filter(|r| !r.is_empty());
    Ok((figures, next))
}

/// An `estimated_cost` answer: the cost of each day that overlaps `[from, to)`.
pub fn parse_estimated_cost(
    response: &HttpResponse,
    context: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> IntegrationResult<Vec<UsageFigure>> {
    let page: CostPage = response.json(context)?;
    Ok(page
        .data
        .into_iter()
        .filter_map(|record| {
            let a = record.attributes;
            let start = parse_time(a.date.as_deref())?;
            let end = start + chrono::Duration::days(1);
            if end <= from || start >= to {
                return None;
            }
            let mut dimensions = BTreeMap::new();
            if let Some(org) = a.public_id {
                dimensions.insert("org".to_string(), org);
            }
            Some(UsageFigure {
                metric: "estimated_cost".into(),
                unit: "USD".into(),
                value: a.total_cost.unwrap_or(0.0),
                period_start: start,
                period_end: end,
                dimensions,
            })
        })
        .collect())
}

// ---- wire types ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Validate {
    #[serde(default)]
    valid: bool,
}

#[derive(Deserialize)]
struct SeriesAnswer {
    #[serde(default)]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct WireEvent {
    id: Option<i64>,
    id_str: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    alert_type: Option<String>,
    date_happened: Option<i64>,
    url: Option<String>,
}

impl From<WireEvent> for MonitoringEvent {
    fn from(w: WireEvent) -> Self {
        MonitoringEvent {
            id: w
                .id_str
                .or_else(|| w.id.map(|id| id.to_string()))
                .unwrap_or_default(),
            title: w.title.unwrap_or_default(),
            text: w.text.unwrap_or_default(),
            tags: w.tags.unwrap_or_default(),
            alert_type: w.alert_type,
            happened_at: w
                .date_happened
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
                .unwrap_or_default(),
            url: w.url,
        }
    }
}

#[derive(Deserialize)]
struct EventPosted {
    event: WireEvent,
}

#[derive(Deserialize)]
struct EventList {
    #[serde(default)]
    events: Vec<WireEvent>,
}

#[derive(Deserialize)]
struct Measurement {
    usage_type: String,
    value: Option<f64>,
}

#[derive(Deserialize)]
struct UsageAttributes {
    timestamp: Option<String>,
    product_family: Option<String>,
    public_id: Option<String>,
    #[serde(default)]
    measurements: Vec<Measurement>,
}

#[derive(Deserialize)]
struct UsageRecord {
    attributes: UsageAttributes,
}

#[derive(Deserialize, Default)]
struct Pagination {
    next_record_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct UsageMeta {
    #[serde(default)]
    pagination: Pagination,
}

#[derive(Deserialize)]
struct UsagePage {
    #[serde(default)]
    data: Vec<UsageRecord>,
    #[serde(default)]
    meta: UsageMeta,
}

#[derive(Deserialize)]
struct CostAttributes {
    date: Option<String>,
    total_cost: Option<f64>,
    public_id: Option<String>,
}

#[derive(Deserialize)]
struct CostRecord {
    attributes: CostAttributes,
}

#[derive(Deserialize)]
struct CostPage {
    #[serde(default)]
    data: Vec<CostRecord>,
}

/// The Datadog event cursor (JSON inside [`EventCursor`]): the latest `date_happened` seen
/// (seconds) and the event ids seen at that second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    v: u8,
    pub(crate) after: i64,
    pub(crate) seen: BTreeSet<String>,
}

impl Cursor {
    /// A stored cursor read back; `invalid_request` when it is not a Datadog cursor.
    pub fn decode(cursor: &EventCursor, context: &str) -> IntegrationResult<Self> {
        decode_cursor(cursor, context, "Datadog")
    }

    pub fn encode(&self) -> IntegrationResult<EventCursor> {
        encode_cursor(self)
    }
}

/// An events listing (`GET /api/v1/events`).
pub fn parse_events(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Vec<MonitoringEvent>> {
    let list: EventList = response.json(context)?;
    Ok(list.events.into_iter().map(MonitoringEvent::from).collect())
}

/// One poll of the events feed: the events `listed` since the cursor `state` becomes the
/// events not delivered yet (later than the cursor, or at its second and not seen there), in
/// time order, each id once, and the cursor after them.
pub fn event_step(
    mut state: Cursor,
    mut listed: Vec<MonitoringEvent>,
) -> (Vec<PlatformEvent>, Cursor) {
    listed.retain(|e| {
        let at = e.happened_at.timestamp();
        at > state.after || (at == state.after && !state.seen.contains(&e.id))
    });
    listed.sort_by(|a, b| (a.happened_at, &a.id).cmp(&(b.happened_at, &b.id)));
    let mut out = Vec::with_capacity(listed.len());
    let mut delivered = BTreeSet::new();
    for event in listed {
        let at = event.happened_at.timestamp();
        if at > state.after {
            state.after = at;
            state.seen.clear();
        }
        state.seen.insert(event.id.clone());
        // A listing that names an event twice delivers it once.
        if !delivered.insert(event.id.clone()) {
            continue;
        }
        out.push(PlatformEvent {
            id: format!("event:{}", event.id),
            kind: "datadog.event".into(),
            subject: event.title.clone(),
            at: event.happened_at,
            detail: json!({
                "id": event.id,
                "text": event.text,
                "tags": event.tags,
                "alert_type": event.alert_type,
                "url": event.url,
            }),
        });
    }
    state.v = 1;
    (out, state)
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[async_trait]
impl Integration for DatadogConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Datadog
    }

    fn capabilities(&self) -> Vec<String> {
        let mut caps = vec!["metrics".to_string(), "events-post".to_string()];
        if self.reads.is_some() {
            caps.extend(["events".to_string(), "usage".to_string()]);
        }
        caps
    }

    async fn connect(&self) -> IntegrationResult<()> {
        self.validate().await
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        let started = Instant::now();
        let check = Call::get("check connection", "/api/v1/validate").probe();
        let context = self.context("check connection");
        let first = match self.intake.decode(&check, parse_validate).await {
            Ok(valid) => check_valid(valid, &context),
            Err(e) => Err(e),
        };
        let latency_ms = elapsed_ms(started);
        let mut more = Vec::new();
        if let (Ok(()), Some(reads)) = (&first, &self.reads) {
            let now = Utc::now().timestamp();
            let events = Call::get("check event reads", "/api/v1/events")
                .query("start", (now - 60).to_string())
                .query("end", now.to_string());
            more.push(probe(reads, "events", events).await);
        }
        assemble_check("validate", first, latency_ms, more, self.slow_after)
    }

    /// `target` `series`: a JSON array of [`MetricSeries`]; `events`: a [`NewEvent`] as JSON.
    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        let bad = |e: serde_json::Error| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{}: {e}", self.context("send data")),
            )
        };
        match payload.target.as_str() {
            "series" => {
                let series: Vec<MetricSeries> =
                    serde_json::from_slice(&payload.bytes).map_err(bad)?;
                self.submit_metrics(&series).await
            }
            "events" => {
                let event: NewEvent = serde_json::from_slice(&payload.bytes).map_err(bad)?;
                self.post_event(&event).await.map(|_| ())
            }
            other => Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: target {other:?} is neither series nor events",
                    self.context("send data")
                ),
            )),
        }
    }

    /// `source` `events`, `hourly_usage` or `estimated_cost`, with params `from` and `to`
    /// (RFC 3339; the last hour by default); the answer is JSON.
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        let context = self.context("receive data");
        let time = |name: &str, default: DateTime<Utc>| -> IntegrationResult<DateTime<Utc>> {
            match request.params.get(name) {
                None => Ok(default),
                Some(t) => parse_time(Some(t)).ok_or_else(|| {
                    IntegrationError::new(
                        ErrorClass::InvalidRequest,
                        format!("{context}: param {name} {t:?} is not RFC 3339"),
                    )
                }),
            }
        };
        let to = time("to", Utc::now())?;
        let from = time("from", to - chrono::Duration::hours(1))?;
        let bytes = match request.source.as_str() {
            "events" => serde_json::to_vec(&self.list_events(from, to, &[]).await?),
            "hourly_usage" => serde_json::to_vec(&self.hourly_usage(from, to).await?),
            "estimated_cost" => serde_json::to_vec(&self.estimated_cost(from, to).await?),
            other => {
                return Err(IntegrationError::new(
                    ErrorClass::InvalidRequest,
                    format!(
                        "{context}: source {other:?} is not events, hourly_usage or estimated_cost"
                    ),
                ))
            }
        };
        bytes.map_err(|e| IntegrationError::new(ErrorClass::UnexpectedResponse, e.to_string()))
    }

    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        let context = self.context("poll events");
        let now = Utc::now();
        let Some(cursor) = cursor else {
            self.reads("poll events")?;
            return Ok(EventBatch {
                events: Vec::new(),
                next: encode_cursor(&Cursor {
                    v: 1,
                    after: now.timestamp(),
                    seen: BTreeSet::new(),
                })?,
            });
        };
        let state: Cursor = decode_cursor(&cursor, &context, "Datadog")?;
        let from = DateTime::<Utc>::from_timestamp(state.after, 0).unwrap_or_default();
        let listed = self.list_events(from, now, &[]).await?;
        let (events, state) = event_step(state, listed);
        Ok(EventBatch {
            events,
            next: encode_cursor(&state)?,
        })
    }

    /// Hourly usage, and the estimated cost when the organisation may read it (a sub-org or
    /// a key without `usage_read` on costs skips them with a warning).
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let mut figures = self.hourly_usage(from, to).await?;
        match self.estimated_cost(from, to).await {
            Ok(cost) => figures.extend(cost),
            Err(e)
                if matches!(
                    e.class,
                    ErrorClass::CredentialsRejected
                        | ErrorClass::InvalidRequest
                        | ErrorClass::NotFound
                ) =>
            {
                tracing::warn!(partner = %self.intake.partner(), class = %e.class, "estimated cost not readable; skipped");
            }
            Err(e) => return Err(e),
        }
        Ok(figures)
    }
}

#[async_trait]
impl MonitoringPlatform for DatadogConnector {
    async fn submit_metrics(&self, series: &[MetricSeries]) -> IntegrationResult<()> {
        let body = json!({
            "series": series.iter().map(|s| {
                let mut one = json!({
                    "metric": s.metric,
                    "type": metric_type(s.kind),
                    "points": s.points.iter().map(|p| json!({"timestamp": p.at.timestamp(), "value": p.value})).collect::<Vec<_>>(),
                    "tags": s.tags,
                });
                if let Some(host) = &s.host {
                    one["resources"] = json!([{"name": host, "type": "host"}]);
                }
                if let Some(unit) = &s.unit {
                    one["unit"] = json!(unit);
                }
                one
            }).collect::<Vec<_>>()
        });
        let answer: SeriesAnswer = self
            .intake
            .json(&Call::post_json("submit metrics", "/api/v2/series", body))
            .await?;
        if answer.errors.is_empty() {
            return Ok(());
        }
        Err(IntegrationError::new(
            ErrorClass::InvalidRequest,
            format!(
                "{}: {}",
                self.context("submit metrics"),
                answer
                    .errors
                    .iter()
                    .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ))
    }

    async fn post_event(&self, event: &NewEvent) -> IntegrationResult<MonitoringEvent> {
        let mut body = json!({
            "title": event.title,
            "text": event.text,
            "tags": event.tags,
            "alert_type": event.alert_type.as_str(),
        });
        if let Some(key) = &event.aggregation_key {
            body["aggregation_key"] = json!(key);
        }
        if let Some(host) = &event.host {
            body["host"] = json!(host);
        }
        if let Some(at) = event.happened_at {
            body["date_happened"] = json!(at.timestamp());
        }
        let posted: EventPosted = self
            .intake
            .json(&Call::post_json("post event", "/api/v1/events", body))
            .await?;
        Ok(posted.event.into())
    }

    async fn list_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tags: &[String],
    ) -> IntegrationResult<Vec<MonitoringEvent>> {
        let reads = self.reads("list events")?;
        let mut call = Call::get("list events", "/api/v1/events")
            .query("start", from.timestamp().to_string())
            .query("end", to.timestamp().to_string());
        if !tags.is_empty() {
            call = call.query("tags", tags.join(","));
        }
        reads.decode(&call, parse_events).await
    }

    async fn hourly_usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let reads = self.reads("hourly usage")?;
        let mut figures = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get("hourly usage", "/api/v2/usage/hourly_usage")
                .query("filter[timestamp][start]", rfc3339(from))
                .query("filter[timestamp][end]", rfc3339(to))
                .query("filter[product_families]", USAGE_FAMILIES)
                .query("page[limit]", USAGE_PAGE.to_string());
            if let Some(record) = &next {
                call = call.query("page[next_record_id]", record.as_str());
            }
            let (page, after) = reads.decode(&call, parse_hourly_usage).await?;
            figures.extend(page);
            next = after;
            if next.is_none() {
                break;
            }
        }
        Ok(figures)
    }

    async fn estimated_cost(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let reads = self.reads("estimated cost")?;
        let day = |t: DateTime<Utc>| {
            t.date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|d| rfc3339(d.and_utc()))
                .unwrap_or_default()
        };
        let call = Call::get("estimated cost", "/api/v2/usage/estimated_cost")
            .query("start_date", day(from))
            .query("end_date", day(to));
        reads
            .decode(&call, |response, context| {
                parse_estimated_cost(response, context, from, to)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_site_has_its_api_host() {
        let cases = [
            ("us1", "https://api.datadoghq.com"),
            ("eu", "https://api.datadoghq.eu"),
            ("us3", "https://api.us3.datadoghq.com"),
            ("us5", "https://api.us5.datadoghq.com"),
            ("ap1", "https://api.ap1.datadoghq.com"),
            ("gov", "https://api.ddog-gov.com"),
            ("datadoghq.eu", "https://api.datadoghq.eu"),
        ];
        for (site, url) in cases {
            let parsed = site.parse::<DatadogSite>().map(DatadogSite::api_url);
            assert_eq!(parsed.ok().as_deref(), Some(url), "{site}");
        }
        assert!(
            "mars".parse::<DatadogSite>().is_err(),
            "an unknown site is refused"
        );
    }

    #[test]
    fn usage_units_come_from_the_usage_type() {
        assert_eq!(
            usage_unit("agent_host_count"),
            "host-hours",
            "hosts each hour"
        );
        assert_eq!(
            usage_unit("container_count"),
            "container-hours",
            "containers"
        );
        assert_eq!(
            usage_unit("num_custom_timeseries"),
            "timeseries-hours",
            "timeseries"
        );
        assert_eq!(usage_unit("ingested_events_bytes"), "bytes", "bytes");
        assert_eq!(usage_unit("indexed_events_count"), "count", "count");
    }
}
