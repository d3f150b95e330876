//! The Kubeflow Pipelines connector (API v2beta1), an [`Integration`].
//!
//! Endpoints (<https://www.kubeflow.org/docs/components/pipelines/reference/api/kubeflow-pipeline-api-spec/>):
//! - `GET /apis/v2beta1/healthz`: the connection check (served without API-server auth);
//! - `GET /apis/v2beta1/runs`, `GET /apis/v2beta1/experiments`, `GET /apis/v2beta1/pipelines`:
//!   lists with `page_size` (≤ 200), `page_token` / `next_page_token`, `sort_by`
//!   (`"created_at desc"`), a URL-encoded JSON `filter` (`{"predicates":[{"key","operation",
//!   "<type>_value"}]}`) and `namespace`; every answer carries `total_size`, so a count is one
//!   call with `page_size=1`;
//! - `GET /apis/v2beta1/runs/{id}`, `POST /apis/v2beta1/runs` (create),
//!   `POST /apis/v2beta1/runs/{id}:terminate`.
//!
//! The endpoint is the API's base: `http://host:8888` for the API server, or
//! `https://<host>/pipeline` behind the Kubeflow ingress.
//!
//! Auth: none (standalone), a bearer token (a ServiceAccount or OIDC token,
//! `Authorization: Bearer`), or a TLS client certificate at the ingress. JSON uses proto
//! snake_case names with zero values omitted. Errors are `google.rpc.Status`
//! `{"code", "message", "details"}` with the HTTP status following the gRPC code
//! (3 → 400, 5 → 404, 7 → 403, 16 → 401, 13 → 500). KFP does no rate limiting of its own;
//! an ingress 429 is retried as usual.
//!
//! Events are polled (KFP has no webhooks): runs created since the cursor, and the runs the
//! cursor still knows as active, are compared with the state it recorded; each change is a
//! `kubeflow.run.state_changed` event.

use std::collections::{BTreeMap, BTreeSet};
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
use crate::resilience::ResiliencePolicy;
use crate::usage::day_slices;

const API: &str = "/apis/v2beta1";
/// The largest page the API serves.
pub const MAX_PAGE_SIZE: u32 = 200;
/// Pages read by one listing at most.
const MAX_PAGES: usize = 200;
/// The most events one poll returns.
pub const MAX_EVENTS_PER_POLL: usize = 500;
/// Active runs a cursor follows at most.
const MAX_TRACKED_RUNS: usize = 1_000;
/// Every run state of the v2beta1 API.
pub const RUN_STATES: [&str; 8] = [
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "SKIPPED",
    "FAILED",
    "CANCELING",
    "CANCELED",
    "PAUSED",
];

/// How to reach one Kubeflow Pipelines API.
#[derive(Debug, Clone)]
pub struct KubeflowConfig {
    pub partner: String,
    pub endpoint: String,
    /// `None` (standalone), `Bearer` or `ClientCertificate`.
    pub credential: Option<Credential>,
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
    /// The namespace of runs and experiments (required in multi-user mode).
    pub namespace: Option<String>,
}

/// A filter predicate's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operation {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanEquals,
    LessThan,
    LessThanEquals,
    In,
    IsSubstring,
}

/// A predicate's value, typed as the API wants it.
#[derive(Debug, Clone, PartialEq)]
pub enum PredicateValue {
    Text(String),
    Long(i64),
    Time(DateTime<Utc>),
    Texts(Vec<String>),
}

/// One filter predicate: `key operation value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub key: String,
    pub operation: Operation,
    pub value: PredicateValue,
}

impl Predicate {
    pub fn new(key: impl Into<String>, operation: Operation, value: PredicateValue) -> Self {
        Predicate {
            key: key.into(),
            operation,
            value,
        }
    }

    fn to_json(&self) -> Value {
        let mut p = json!({"key": self.key, "operation": self.operation});
        match &self.value {
            PredicateValue::Text(s) => p["string_value"] = json!(s),
            PredicateValue::Long(n) => p["long_value"] = json!(n.to_string()),
            PredicateValue::Time(t) => p["timestamp_value"] = json!(rfc3339(*t)),
            PredicateValue::Texts(v) => p["string_values"] = json!({ "values": v }),
        }
        p
    }
}

/// A list request: filter, order and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// All must hold.
    pub predicates: Vec<Predicate>,
    /// `"created_at desc"`.
    pub sort_by: Option<String>,
    /// 1..=200; the API's default (20) when `None`.
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    /// Runs only: one experiment's runs.
    pub experiment_id: Option<String>,
}

/// One page of a list, with the number of items the whole list has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total_size: u64,
    pub next_page_token: Option<String>,
}

/// A pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KfpRun {
    pub run_id: String,
    pub display_name: Option<String>,
    pub experiment_id: Option<String>,
    /// `PENDING`, `RUNNING`, `SUCCEEDED`... (`RUNTIME_STATE_UNSPECIFIED` when absent).
    pub state: String,
    pub created_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the run entered its current state, from `state_history`.
    pub state_since: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl KfpRun {
    pub fn is_final(&self) -> bool {
        matches!(
            self.state.as_str(),
            "SUCCEEDED" | "SKIPPED" | "FAILED" | "CANCELED"
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KfpExperiment {
    pub experiment_id: String,
    pub display_name: Option<String>,
    pub namespace: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KfpPipeline {
    pub pipeline_id: String,
    pub display_name: Option<String>,
    pub namespace: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A run to create from a pipeline version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewKfpRun {
    pub display_name: String,
    pub experiment_id: Option<String>,
    pub pipeline_id: String,
    pub pipeline_version_id: Option<String>,
    pub parameters: BTreeMap<String, Value>,
}

/// The Kubeflow Pipelines connector.
#[derive(Debug)]
pub struct KubeflowConnector {
    http: PartnerHttp,
    slow_after: Duration,
    namespace: Option<String>,
}

impl KubeflowConnector {
    pub fn new(config: KubeflowConfig) -> IntegrationResult<Self> {
        check_credential_fits(
            &config.partner,
            PartnerKind::Kubeflow,
            config.credential.as_ref(),
        )?;
        let http = PartnerHttp::new(PartnerHttpConfig {
            partner: config.partner,
            endpoint: config.endpoint,
            credential: config.credential,
            policy: config.policy,
        })?;
        Ok(KubeflowConnector::from_http(
            http,
            config.slow_after,
            config.namespace,
        ))
    }

    /// A connector over HTTP access built by the caller (custom resilience state in tests).
    pub fn from_http(http: PartnerHttp, slow_after: Duration, namespace: Option<String>) -> Self {
        KubeflowConnector {
            http,
            slow_after,
            namespace,
        }
    }

    pub fn http(&self) -> &PartnerHttp {
        &self.http
    }

    fn context(&self, operation: &str) -> String {
        self.http.context(operation)
    }

    fn list_call(&self, operation: &str, what: &str, query: &ListQuery) -> IntegrationResult<Call> {
        let mut call = Call::get(operation, format!("{API}/{what}"));
        if let Some(namespace) = &self.namespace {
            call = call.query("namespace", namespace.as_str());
        }
        if let Some(size) = query.page_size {
            call = call.query("page_size", size.clamp(1, MAX_PAGE_SIZE).to_string());
        }
        if let Some(token) = &query.page_token {
            call = call.query("page_token", token.as_str());
        }
        if let Some(sort) = &query.sort_by {
            call = call.query("sort_by", sort.as_str());
        }
        if let Some(experiment) = &query.experiment_id {
            call = call.query("experiment_id", experiment.as_str());
        }
        if !query.predicates.is_empty() {
            let filter = json!({
                "predicates": query.predicates.iter().map(Predicate::to_json).collect::<Vec<_>>()
            });
            let text = serde_json::to_string(&filter).map_err(|e| {
                IntegrationError::new(ErrorClass::InvalidRequest, format!("filter: {e}"))
            })?;
            call = call.query("filter", text);
        }
        Ok(call)
    }

    pub async fn list_runs(&self, query: &ListQuery) -> IntegrationResult<Listing<KfpRun>> {
        self.http
            .decode(
                &self.list_call("list runs", "runs", query)?,
                parse_runs_page,
            )
            .await
    }

    pub async fn list_experiments(
        &self,
        query: &ListQuery,
    ) -> IntegrationResult<Listing<KfpExperiment>> {
        let page: ExperimentsPage = self
            .http
            .json(&self.list_call("list experiments", "experiments", query)?)
            .await?;
        Ok(Listing {
            items: page
                .experiments
                .into_iter()
                .map(|e| KfpExperiment {
                    experiment_id: e.experiment_id,
                    display_name: e.display_name,
                    namespace: e.namespace,
                    created_at: parse_time(e.created_at.as_deref()),
                })
                .collect(),
            total_size: page.total_size.unwrap_or(0),
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    pub async fn list_pipelines(
        &self,
        query: &ListQuery,
    ) -> IntegrationResult<Listing<KfpPipeline>> {
        let page: PipelinesPage = self
            .http
            .json(&self.list_call("list pipelines", "pipelines", query)?)
            .await?;
        Ok(Listing {
            items: page
                .pipelines
                .into_iter()
                .map(|p| KfpPipeline {
                    pipeline_id: p.pipeline_id,
                    display_name: p.display_name,
                    namespace: p.namespace,
                    created_at: parse_time(p.created_at.as_deref()),
                })
                .collect(),
            total_size: page.total_size.unwrap_or(0),
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Every run `query` selects, across pages, up to `limit`.
    pub async fn all_runs(
        &self,
        query: &ListQuery,
        limit: usize,
    ) -> IntegrationResult<Vec<KfpRun>> {
        let mut query = ListQuery {
            page_size: Some(query.page_size.unwrap_or(MAX_PAGE_SIZE)),
            ..query.clone()
        };
        let mut runs = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.list_runs(&query).await?;
            runs.extend(page.items);
            match page.next_page_token {
                Some(token) if runs.len() < limit => query.page_token = Some(token),
                _ => break,
            }
        }
        runs.truncate(limit);
        Ok(runs)
    }

    pub async fn get_run(&self, run_id: &str) -> IntegrationResult<KfpRun> {
        let run: WireRun = self
            .http
            .json(&Call::get("get run", format!("{API}/runs/{run_id}")))
            .await?;
        Ok(run.into())
    }

    pub async fn create_run(&self, run: &NewKfpRun) -> IntegrationResult<KfpRun> {
        let mut reference = json!({ "pipeline_id": run.pipeline_id });
        if let Some(version) = &run.pipeline_version_id {
            reference["pipeline_version_id"] = json!(version);
        }
        let mut body = json!({
            "display_name": run.display_name,
            "pipeline_version_reference": reference,
        });
        if let Some(experiment) = &run.experiment_id {
            body["experiment_id"] = json!(experiment);
        }
        if !run.parameters.is_empty() {
            body["runtime_config"] = json!({ "parameters": run.parameters });
        }
        let created: WireRun = self
            .http
            .json(&Call::post_json("create run", format!("{API}/runs"), body))
            .await?;
        Ok(created.into())
    }

    pub async fn terminate_run(&self, run_id: &str) -> IntegrationResult<()> {
        let call = Call::post_json(
            "terminate run",
            format!("{API}/runs/{run_id}:terminate"),
            json!({}),
        );
        self.http.execute(&call).await.map(|_| ())
    }

    /// Runs created in `[from, to)` with `state`: one call, `page_size=1`, read `total_size`.
    async fn count_runs(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        state: Option<&str>,
    ) -> IntegrationResult<u64> {
        let mut predicates = vec![
            Predicate::new(
                "created_at",
                Operation::GreaterThanEquals,
                PredicateValue::Time(from),
            ),
            Predicate::new("created_at", Operation::LessThan, PredicateValue::Time(to)),
        ];
        if let Some(state) = state {
            predicates.push(Predicate::new(
                "state",
                Operation::Equals,
                PredicateValue::Text(state.into()),
            ));
        }
        let query = ListQuery {
            predicates,
            page_size: Some(1),
            ..ListQuery::default()
        };
        Ok(self.list_runs(&query).await?.total_size)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.timestamp() > 0)
}

// ---- answer parsing ----------------------------------------------------------------------------
//
// Pure readers of the API's answers: the connector runs its answers through them, and the fuzz
// targets (fuzz/, through `crate::fuzzing`) feed them arbitrary ones.

/// The `healthz` answer (the connection check): whether the deployment is multi-user.
pub fn parse_healthz(response: &HttpResponse, context: &str) -> IntegrationResult<bool> {
    response.json::<Healthz>(context).map(|h| h.multi_user)
}

/// A `runs` listing; usage reads its `total_size`.
pub fn parse_runs_page(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Listing<KfpRun>> {
    let page: RunsPage = response.json(context)?;
    Ok(Listing {
        items: page.runs.into_iter().map(KfpRun::from).collect(),
        total_size: page.total_size.unwrap_or(0),
        next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
    })
}

// ---- wire types ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireStateEntry {
    update_time: Option<String>,
    state: Option<String>,
}

#[derive(Deserialize)]
struct WireStatus {
    message: Option<String>,
}

#[derive(Deserialize)]
struct WireRun {
    run_id: String,
    display_name: Option<String>,
    experiment_id: Option<String>,
    state: Option<String>,
    created_at: Option<String>,
    finished_at: Option<String>,
    #[serde(default)]
    state_history: Vec<WireStateEntry>,
    error: Option<WireStatus>,
}

impl From<WireRun> for KfpRun {
    fn from(w: WireRun) -> Self {
        let state = w
            .state
            .unwrap_or_else(|| "RUNTIME_STATE_UNSPECIFIED".into());
        let state_since = w
            .state_history
            .iter()
            .rev()
            .find(|h| h.state.as_deref() == Some(state.as_str()))
            .and_then(|h| parse_time(h.update_time.as_deref()));
        KfpRun {
            run_id: w.run_id,
            display_name: w.display_name,
            experiment_id: w.experiment_id,
            state,
            created_at: parse_time(w.created_at.as_deref()),
            finished_at: parse_time(w.finished_at.as_deref()),
            state_since,
            error: w.error.and_then(|e| e.message),
        }
    }
}

#[derive(Deserialize)]
struct RunsPage {
    #[serde(default)]
    runs: Vec<WireRun>,
    total_size: Option<u64>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WireExperiment {
    experiment_id: String,
    display_name: Option<String>,
    namespace: Option<String>,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct ExperimentsPage {
    #[serde(default)]
    experiments: Vec<WireExperiment>,
    total_size: Option<u64>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WirePipeline {
    pipeline_id: String,
    display_name: Option<String>,
    namespace: Option<String>,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct PipelinesPage {
    #[serde(default)]
    pipelines: Vec<WirePipeline>,
    total_size: Option<u64>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Healthz {
    #[serde(default)]
    multi_user: bool,
}

/// The Kubeflow event cursor: the latest creation time seen (seconds, as the API writes it),
/// the runs seen at that time, and the last state of every run not yet final.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    v: u8,
    pub(crate) after: i64,
    pub(crate) seen: BTreeSet<String>,
    pub(crate) active: BTreeMap<String, String>,
}

impl Cursor {
    /// A stored cursor read back; `invalid_request` when it is not a Kubeflow cursor.
    pub fn decode(cursor: &EventCursor, context: &str) -> IntegrationResult<Self> {
        decode_cursor(cursor, context, "Kubeflow")
    }

    pub fn encode(&self) -> IntegrationResult<EventCursor> {
        encode_cursor(self)
    }
}

/// The runs of a listing of runs created since the cursor, less the ones the cursor has seen
/// at its second and no longer follows. (The active ones it follows that are missing here
/// are asked for one by one, and given to [`run_events`] as followed runs.)
pub fn new_runs(state: &Cursor, mut listed: Vec<KfpRun>) -> Vec<KfpRun> {
    listed.retain(|r| {
        let at = r.created_at.map_or(0, |t| t.timestamp());
        !(at == state.after
            && state.seen.contains(&r.run_id)
            && !state.active.contains_key(&r.run_id))
    });
    listed
}

/// One poll of the events feed: each run whose state differs from the one the cursor `state`
/// recorded (the [`new_runs`], then the `followed` active runs the listing did not show) is a
/// `kubeflow.run.state_changed` event; the runs in `gone` no longer exist and are not followed
/// any more. Gives every event, by time, each run once, and
/// the cursor after them. `now` dates an event whose run has no time.
pub fn run_events(
    mut state: Cursor,
    new_runs: Vec<KfpRun>,
    followed: Vec<KfpRun>,
    gone: &[String],
    now: DateTime<Utc>,
) -> (Vec<PlatformEvent>, Cursor) {
    for run_id in gone {
        state.active.remove(run_id);
    }
    let mut events = Vec::new();
    let mut changed = BTreeSet::new();
    for run in new_runs.iter().chain(&followed) {
        if let Some(at) = run.created_at.map(|t| t.timestamp()) {
            if at > state.after {
                state.after = at;
                state.seen.clear();
            }
            if at == state.after {
                state.seen.insert(run.run_id.clone());
            }
        }
        // A listing that names a run twice (its pages moved while they were read) changes it
        // once.
        if !changed.insert(run.run_id.as_str()) {
            continue;
        }
        let previous = state.active.get(&run.run_id).cloned();
        if previous.as_deref() != Some(run.state.as_str()) {
            events.push(run_event(run, previous.as_deref(), now));
        }
        if run.is_final() {
            state.active.remove(&run.run_id);
        } else {
            state.active.insert(run.run_id.clone(), run.state.clone());
        }
    }
    while state.active.len() > MAX_TRACKED_RUNS {
        state.active.pop_first();
    }
    // Not cut short: every run's new state is in the cursor, so a change left out here would
    // never be reported. A batch holds at most the listed new runs and the followed ones.
    events.sort_by_key(|e| e.at);
    state.v = 1;
    (events, state)
}

fn run_event(run: &KfpRun, previous: Option<&str>, now: DateTime<Utc>) -> PlatformEvent {
    PlatformEvent {
        id: format!("run:{}:{}", run.run_id, run.state),
        kind: "kubeflow.run.state_changed".into(),
        subject: run
            .display_name
            .clone()
            .unwrap_or_else(|| run.run_id.clone()),
        at: run
            .state_since
            .or(run.finished_at.filter(|_| run.is_final()))
            .or(run.created_at)
            .unwrap_or(now),
        detail: json!({
            "run_id": run.run_id,
            "experiment_id": run.experiment_id,
            "from": previous,
            "to": run.state,
            "error": run.error,
        }),
    }
}

#[async_trait]
impl Integration for KubeflowConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Kubeflow
    }

    fn capabilities(&self) -> Vec<String> {
        ["runs", "experiments", "pipelines", "usage", "events"]
            .map(String::from)
            .to_vec()
    }

    async fn connect(&self) -> IntegrationResult<()> {
        self.list_experiments(&ListQuery {
            page_size: Some(1),
            ..ListQuery::default()
        })
        .await
        .map(|_| ())
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        self.http.auth().invalidate().await;
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        let started = Instant::now();
        let health = Call::get("check connection", format!("{API}/healthz")).probe();
        let first = self.http.decode(&health, parse_healthz).await;
        let latency_ms = elapsed_ms(started);
        if let Ok(multi_user) = &first {
            if *multi_user && self.namespace.is_none() {
                tracing::info!(partner = %self.http.partner(), "multi-user Kubeflow without a namespace: runs and experiments need one");
            }
        }
        let first = first.map(|_| ());
        let more = if first.is_ok() {
            let mut probes = Vec::new();
            for what in ["runs", "experiments", "pipelines"] {
                let call = match self.list_call(
                    &format!("check {what}"),
                    what,
                    &ListQuery {
                        page_size: Some(1),
                        ..ListQuery::default()
                    },
                ) {
                    Ok(call) => call,
                    Err(_) => continue,
                };
                probes.push(probe(&self.http, what, call).await);
            }
            probes
        } else {
            Vec::new()
        };
        assemble_check("healthz", first, latency_ms, more, self.slow_after)
    }

    /// `target` `runs`: the payload is a run to create, as JSON
    /// `{"display_name","pipeline_id","pipeline_version_id"?,"experiment_id"?,"parameters"?}`;
    /// `target` `runs/<id>:terminate` terminates a run.
    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        if let Some(run_id) = payload
            .target
            .strip_prefix("runs/")
            .and_then(|t| t.strip_suffix(":terminate"))
        {
            return self.terminate_run(run_id).await;
        }
        if payload.target != "runs" {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: target {:?} is neither runs nor runs/<id>:terminate",
                    self.context("send data"),
                    payload.target
                ),
            ));
        }
        #[derive(Deserialize)]
        struct RunJson {
            display_name: String,
            pipeline_id: String,
            pipeline_version_id: Option<String>,
            experiment_id: Option<String>,
            #[serde(default)]
            parameters: BTreeMap<String, Value>,
        }
        let run: RunJson = serde_json::from_slice(&payload.bytes).map_err(|e| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: the run is not run JSON ({e})",
                    self.context("send data")
                ),
            )
        })?;
        self.create_run(&NewKfpRun {
            display_name: run.display_name,
            experiment_id: run.experiment_id,
            pipeline_id: run.pipeline_id,
            pipeline_version_id: run.pipeline_version_id,
            parameters: run.parameters,
        })
        .await
        .map(|_| ())
    }

    /// `source` `runs/<id>`, `runs`, `experiments` or `pipelines` (the first page, as JSON).
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        let to_json = |value: serde_json::Result<Vec<u8>>| {
            value.map_err(|e| IntegrationError::new(ErrorClass::UnexpectedResponse, e.to_string()))
        };
        let query = ListQuery {
            page_size: request.params.get("page_size").and_then(|s| s.parse().ok()),
            page_token: request.params.get("page_token").cloned(),
            sort_by: request.params.get("sort_by").cloned(),
            ..ListQuery::default()
        };
        match request.source.as_str() {
            "runs" => to_json(serde_json::to_vec(&self.list_runs(&query).await?)),
            "experiments" => to_json(serde_json::to_vec(&self.list_experiments(&query).await?)),
            "pipelines" => to_json(serde_json::to_vec(&self.list_pipelines(&query).await?)),
            source => match source.strip_prefix("runs/") {
                Some(id) => to_json(serde_json::to_vec(&self.get_run(id).await?)),
                None => Err(IntegrationError::new(
                    ErrorClass::InvalidRequest,
                    format!(
                        "{}: source {source:?} is not runs, runs/<id>, experiments or pipelines",
                        self.context("receive data")
                    ),
                )),
            },
        }
    }

    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        let context = self.context("poll events");
        let Some(cursor) = cursor else {
            let active = self
                .all_runs(
                    &ListQuery {
                        predicates: vec![Predicate::new(
                            "state",
                            Operation::In,
                            PredicateValue::Texts(
                                ["PENDING", "RUNNING", "CANCELING", "PAUSED"]
                                    .map(String::from)
                                    .to_vec(),
                            ),
                        )],
                        ..ListQuery::default()
                    },
                    MAX_TRACKED_RUNS,
                )
                .await?;
            let state = Cursor {
                v: 1,
                after: Utc::now().timestamp(),
                seen: BTreeSet::new(),
                active: active.into_iter().map(|r| (r.run_id, r.state)).collect(),
            };
            return Ok(EventBatch {
                events: Vec::new(),
                next: encode_cursor(&state)?,
            });
        };
        let state: Cursor = decode_cursor(&cursor, &context, "Kubeflow")?;
        let since = DateTime::<Utc>::from_timestamp(state.after, 0).unwrap_or_default();
        let listed = self
            .all_runs(
                &ListQuery {
                    predicates: vec![Predicate::new(
                        "created_at",
                        Operation::GreaterThanEquals,
                        PredicateValue::Time(since),
                    )],
                    sort_by: Some("created_at".into()),
                    ..ListQuery::default()
                },
                MAX_EVENTS_PER_POLL,
            )
            .await?;
        let new = new_runs(&state, listed);
        let listed: BTreeSet<String> = new.iter().map(|r| r.run_id.clone()).collect();
        let mut followed = Vec::new();
        let mut gone = Vec::new();
        for run_id in state.active.keys() {
            if listed.contains(run_id) {
                continue;
            }
            match self.get_run(run_id).await {
                Ok(run) => followed.push(run),
                Err(e) if e.class == ErrorClass::NotFound => gone.push(run_id.clone()),
                Err(e) => return Err(e),
            }
        }
        let (events, state) = run_events(state, new, followed, &gone, Utc::now());
        Ok(EventBatch {
            events,
            next: encode_cursor(&state)?,
        })
    }

    /// Runs created in each UTC day of the window (`runs_created`), and of them the ones that
    /// failed (`runs_failed`): two `total_size` counts per day (a day with none has zeros).
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let mut figures = Vec::new();
        for (start, end) in day_slices(from, to) {
            for (metric, state) in [("runs_created", None), ("runs_failed", Some("FAILED"))] {
                let count = self.count_runs(start, end, state).await?;
                figures.push(UsageFigure {
                    metric: metric.into(),
                    unit: "runs".into(),
                    value: count as f64,
                    period_start: start,
                    period_end: end,
                    dimensions: state
                        .map(|s| BTreeMap::from([("state".to_string(), s.to_string())]))
                        .unwrap_or_default(),
                });
            }
        }
        Ok(figures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_are_written_with_the_typed_value_field_the_api_wants() {
        let t = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let cases = [
            (
                Predicate::new(
                    "state",
                    Operation::Equals,
                    PredicateValue::Text("FAILED".into()),
                ),
                json!({"key": "state", "operation": "EQUALS", "string_value": "FAILED"}),
            ),
            (
                Predicate::new(
                    "created_at",
                    Operation::GreaterThan,
                    PredicateValue::Time(t),
                ),
                json!({"key": "created_at", "operation": "GREATER_THAN", "timestamp_value": "2026-11-01T00:00:00Z"}),
            ),
            (
                Predicate::new(
                    "state",
                    Operation::In,
                    PredicateValue::Texts(vec!["A".into(), "B".into()]),
                ),
                json!({"key": "state", "operation": "IN", "string_values": {"values": ["A", "B"]}}),
            ),
        ];
        for (predicate, expected) in cases {
            assert_eq!(predicate.to_json(), expected, "{predicate:?}");
        }
    }
}
