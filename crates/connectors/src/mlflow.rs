//! The MLflow tracking-server connector (OSS 3.x, and Databricks-hosted MLflow), an
//! [`Integration`] and an [`MlopsPlatform`].
//!
//! Endpoints (REST API 2.0, <https://mlflow.org/docs/latest/api_reference/rest-api.html>):
//! - `GET  /api/2.0/mlflow/experiments/search` (connection check with `max_results=1`),
//!   `POST /api/2.0/mlflow/experiments/create`
//! - `POST /api/2.0/mlflow/runs/search`, `POST runs/create`, `GET runs/get`, `POST runs/update`,
//!   `POST runs/log-metric`, `POST runs/log-parameter`, `POST runs/log-batch`,
//!   `GET metrics/get-history`
//! - `POST /api/2.0/mlflow/registered-models/create`, `GET registered-models/search`,
//!   `POST model-versions/create`, `GET model-versions/search`
//! - the artifact proxy (`mlflow server --serve-artifacts`, the default):
//!   `PUT`/`GET /api/2.0/mlflow-artifacts/artifacts/<run artifact root>/<path>` and
//!   `GET /api/2.0/mlflow-artifacts/artifacts?path=…` to list. Runs whose `artifact_uri` is
//!   not `mlflow-artifacts:` (a server without the proxy) get `invalid_request`.
//!
//! Auth: none (OSS default), HTTP basic (`--app-name basic-auth`), or a bearer token
//! (Databricks PAT or OAuth). Errors are `{"error_code","message"}`; a refused basic-auth login
//! is a 401 HTML page, classified as `credentials_rejected`.
//!
//! Rate limits: OSS has none; Databricks-hosted MLflow answers 429 with `Retry-After`, which
//! the shared retry policy honours.
//!
//! Pagination: searches return `next_page_token`; there are no count endpoints, so
//! [`Integration::collect_metrics`] pages through runs (filtered by start time), registered
//! models and model versions. Page sizes: runs 1000, experiments 1000, registered models 1000,
//! model versions 200.
//!
//! Events are polled (a desktop cannot take webhooks): new runs (by `start_time`) and new
//! model versions (by `creation_timestamp`) after a cursor. The cursor records the last time
//! seen and the ids seen at that exact millisecond, so nothing is reported twice or skipped when
//! several things share a timestamp. A run created with a `start_time` older than the cursor is
//! not reported.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor,
    Integration, IntegrationError, IntegrationResult, PlatformEvent, UsageFigure,
    VerifiedCapability,
};
use ecosystem_core::{Credential, PartnerKind};
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use tokio::time::Instant;

use crate::http::{Call, HttpResponse, PartnerHttp, PartnerHttpConfig};
use crate::mlops::{
    from_epoch_ms, ArtifactEntry, Experiment, KeyValue, LogBatch, Metric, MlopsPlatform,
    ModelVersion, NewModelVersion, NewRun, Page, RegisteredModel, Run, RunStatus, SearchQuery,
};
use crate::resilience::ResiliencePolicy;
use crate::usage::{daily_counts, whole_millis};

const API: &str = "/api/2.0/mlflow";
const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts/artifacts";
/// The most events one poll returns; the cursor resumes after the last one.
pub const MAX_EVENTS_PER_POLL: usize = 500;
/// Experiment ids per runs/search call.
const EXPERIMENTS_PER_RUN_SEARCH: usize = 100;
/// Pages read by one listing at most (a guard against a server that never ends a listing).
const MAX_PAGES: usize = 200;

/// How to reach one MLflow server.
#[derive(Debug, Clone)]
pub struct MlflowConfig {
    pub partner: String,
    /// The tracking server's base URL (`http://127.0.0.1:5000`, `https://<workspace>`).
    pub endpoint: String,
    /// `None`, `Basic` or `Bearer`.
    pub credential: Option<Credential>,
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
}

impl MlflowConfig {
    pub fn new(partner: impl Into<String>, endpoint: impl Into<String>) -> Self {
        MlflowConfig {
            partner: partner.into(),
            endpoint: endpoint.into(),
            credential: None,
            policy: ResiliencePolicy::default(),
            slow_after: Duration::from_secs(2),
        }
    }
}

/// The MLflow connector.
#[derive(Debug)]
pub struct MlflowConnector {
    http: PartnerHttp,
    slow_after: Duration,
}

impl MlflowConnector {
    pub fn new(config: MlflowConfig) -> IntegrationResult<Self> {
        check_credential(config.credential.as_ref())?;
        let http = PartnerHttp::new(PartnerHttpConfig {
            partner: config.partner,
            endpoint: config.endpoint,
            credential: config.credential,
            policy: config.policy,
        })?;
        Ok(MlflowConnector {
            http,
            slow_after: config.slow_after,
        })
    }

    /// A connector over HTTP access built by the caller (custom resilience state in tests).
    pub fn from_http(http: PartnerHttp, slow_after: Duration) -> Self {
        MlflowConnector { http, slow_after }
    }

    pub fn http(&self) -> &PartnerHttp {
        &self.http
    }

    fn context(&self, operation: &str) -> String {
        self.http.context(operation)
    }

    async fn call<T: for<'de> Deserialize<'de>>(&self, call: Call) -> IntegrationResult<T> {
        self.http.json(&call).await
    }

    /// Every active experiment's id.
    async fn all_experiment_ids(&self) -> IntegrationResult<Vec<String>> {
        let mut ids = Vec::new();
        let mut query = SearchQuery {
            max_results: Some(1000),
            ..SearchQuery::default()
        };
        for _ in 0..MAX_PAGES {
            let page = self.search_experiments(&query).await?;
            ids.extend(page.items.into_iter().map(|e| e.id));
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => break,
            }
        }
        Ok(ids)
    }

    /// Every run (of every active experiment) matching `filter`, ordered by start time.
    async fn runs_matching(
        &self,
        filter: &str,
        order: &str,
        limit: usize,
    ) -> IntegrationResult<Vec<Run>> {
        let ids = self.all_experiment_ids().await?;
        let mut runs = Vec::new();
        for chunk in ids.chunks(EXPERIMENTS_PER_RUN_SEARCH) {
            let mut query = SearchQuery {
                filter: Some(filter.to_string()),
                order_by: vec![order.to_string()],
                max_results: Some(u32::try_from(limit.min(1000)).unwrap_or(1000)),
                page_token: None,
            };
            for _ in 0..MAX_PAGES {
                let page = self.search_runs(chunk, &query).await?;
                runs.extend(page.items);
                match page.next_page_token {
                    Some(token) if runs.len() < limit => query.page_token = Some(token),
                    _ => break,
                }
            }
        }
        Ok(runs)
    }

    /// Model versions created at or after `since_ms`, newest first.
    async fn versions_since(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> IntegrationResult<Vec<ModelVersion>> {
        let mut query = SearchQuery {
            order_by: vec!["creation_timestamp DESC".into()],
            max_results: Some(200),
            ..SearchQuery::default()
        };
        let mut versions = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.search_model_versions(&query).await?;
            let mut older_seen = false;
            for version in page.items {
                match version.created_at.map(|t| t.timestamp_millis()) {
                    Some(ms) if ms >= since_ms => versions.push(version),
                    _ => older_seen = true,
                }
            }
            match page.next_page_token {
                Some(token) if !older_seen && versions.len() < limit => {
                    query.page_token = Some(token)
                }
                _ => break,
            }
        }
        Ok(versions)
    }

    /// The artifact-proxy path of a run's artifact root (`1/<run>/artifacts`).
    async fn artifact_root(&self, run_id: &str) -> IntegrationResult<String> {
        let run = self.get_run(run_id).await?;
        let uri = run.artifact_uri.unwrap_or_default();
        proxied_artifact_root(&uri).ok_or_else(|| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: run {run_id} keeps its artifacts outside the server's artifact proxy; start the server with --serve-artifacts",
                    self.context("artifacts")
                ),
            )
        })
    }

    fn artifact_path(&self, root: &str, path: &str) -> IntegrationResult<String> {
        let relative = clean_relative_path(path).ok_or_else(|| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: {path:?} is not a relative artifact path",
                    self.context("artifacts")
                ),
            )
        })?;
        Ok(if relative.is_empty() {
            root.to_string()
        } else {
            format!("{root}/{relative}")
        })
    }

    /// One capability probe: `ok` when the call answers 2xx.
    async fn probe(&self, name: &str, call: Call) -> VerifiedCapability {
        let result = self.http.execute(&call.probe()).await;
        VerifiedCapability {
            name: name.to_string(),
            ok: result.is_ok(),
            error: result.err(),
        }
    }
}

fn check_credential(credential: Option<&Credential>) -> IntegrationResult<()> {
    match credential {
        None | Some(Credential::Basic { .. }) | Some(Credential::Bearer { .. }) => Ok(()),
        Some(other) => Err(IntegrationError::new(
            ErrorClass::MissingCredential,
            format!(
                "mlflow takes no credential, basic or bearer, not {:?}",
                other.credential_type()
            ),
        )),
    }
}

/// `mlflow-artifacts:/1/<run>/artifacts` (or `mlflow-artifacts://host/1/…`) → `1/<run>/artifacts`.
pub fn proxied_artifact_root(artifact_uri: &str) -> Option<String> {
    let rest = artifact_uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, path)| path),
        None => rest,
    };
    let root = rest.trim_matches('/');
    (!root.is_empty()).then(|| root.to_string())
}

/// A relative path without `..`, `.` or empty segments (`""` for the root).
fn clean_relative_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| *s == ".." || *s == ".") || path.starts_with('/') {
        return None;
    }
    Some(segments.join("/"))
}

/// Percent-encodes each segment of a path (slashes kept).
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    other => format!("%{other:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---- answer parsing ----------------------------------------------------------------------------
//
// Pure readers of the server's answers: the connector runs its answers through them, and the
// fuzz targets (fuzz/, through `crate::fuzzing`) feed them arbitrary ones.

/// An `experiments/search` page; also the connection check's answer.
pub fn parse_experiments_page(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Page<Experiment>> {
    let answer: ExperimentsPage = response.json(context)?;
    Ok(page(answer.experiments, answer.next_page_token))
}

/// A `runs/search` page (usage counts the runs started per day).
pub fn parse_runs_page(response: &HttpResponse, context: &str) -> IntegrationResult<Page<Run>> {
    let answer: RunsPage = response.json(context)?;
    Ok(page(answer.runs, answer.next_page_token))
}

/// A `registered-models/search` page (usage counts the models created per day).
pub fn parse_registered_models_page(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Page<RegisteredModel>> {
    let answer: RegisteredModelsPage = response.json(context)?;
    Ok(page(answer.registered_models, answer.next_page_token))
}

/// A `model-versions/search` page (usage counts the versions created per day).
pub fn parse_model_versions_page(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Page<ModelVersion>> {
    let answer: ModelVersionsPage = response.json(context)?;
    Ok(page(answer.model_versions, answer.next_page_token))
}

// ---- wire types (the JSON MLflow sends) -------------------------------------------------------

/// An int64 that may come as a JSON number or a string (proto3 JSON).
fn flex_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        Int(i64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Flex>::deserialize(d)? {
        Some(Flex::Int(v)) => Some(v),
        Some(Flex::Float(v)) => Some(v as i64),
        Some(Flex::Text(s)) => s.parse().ok(),
        None => None,
    })
}

/// A metric value: a number, or `"NaN"`/`"Infinity"` as MLflow writes those.
fn flex_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        Num(f64),
        Text(String),
    }
    Ok(match Flex::deserialize(d)? {
        Flex::Num(v) => v,
        Flex::Text(s) => s.parse().unwrap_or(f64::NAN),
    })
}

#[derive(Deserialize)]
struct WireExperiment {
    experiment_id: String,
    name: String,
    artifact_location: Option<String>,
    #[serde(default)]
    lifecycle_stage: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    creation_time: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    last_update_time: Option<i64>,
}

impl From<WireExperiment> for Experiment {
    fn from(w: WireExperiment) -> Self {
        Experiment {
            id: w.experiment_id,
            name: w.name,
            artifact_location: w.artifact_location,
            lifecycle_stage: w.lifecycle_stage.unwrap_or_else(|| "active".into()),
            created_at: from_epoch_ms(w.creation_time),
            updated_at: from_epoch_ms(w.last_update_time),
        }
    }
}

#[derive(Deserialize, Serialize)]
struct WireMetric {
    key: String,
    #[serde(deserialize_with = "flex_f64")]
    value: f64,
    #[serde(default, deserialize_with = "flex_i64")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    step: Option<i64>,
}

impl From<WireMetric> for Metric {
    fn from(w: WireMetric) -> Self {
        Metric {
            key: w.key,
            value: w.value,
            timestamp_ms: w.timestamp.unwrap_or(0),
            step: w.step.unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
struct WireKeyValue {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct WireRunInfo {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    experiment_id: String,
    run_name: Option<String>,
    status: Option<RunStatus>,
    user_id: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    end_time: Option<i64>,
    artifact_uri: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireRunData {
    #[serde(default)]
    metrics: Vec<WireMetric>,
    #[serde(default)]
    params: Vec<WireKeyValue>,
    #[serde(default)]
    tags: Vec<WireKeyValue>,
}

#[derive(Deserialize)]
struct WireRun {
    info: WireRunInfo,
    #[serde(default)]
    data: Option<WireRunData>,
}

impl From<WireRun> for Run {
    fn from(w: WireRun) -> Self {
        let data = w.data.unwrap_or_default();
        Run {
            id: w.info.run_id.or(w.info.run_uuid).unwrap_or_default(),
            experiment_id: w.info.experiment_id,
            name: w.info.run_name.filter(|n| !n.is_empty()),
            status: w.info.status,
            user_id: w.info.user_id.filter(|u| !u.is_empty()),
            started_at: from_epoch_ms(w.info.start_time),
            ended_at: from_epoch_ms(w.info.end_time),
            artifact_uri: w.info.artifact_uri,
            metrics: data.metrics.into_iter().map(Metric::from).collect(),
            params: data
                .params
                .into_iter()
                .map(|p| KeyValue {
                    key: p.key,
                    value: p.value,
                })
                .collect(),
            tags: data.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        }
    }
}

#[derive(Deserialize)]
struct WireModelVersion {
    name: String,
    version: String,
    status: Option<String>,
    current_stage: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    creation_timestamp: Option<i64>,
}

impl From<WireModelVersion> for ModelVersion {
    fn from(w: WireModelVersion) -> Self {
        ModelVersion {
            model_name: w.name,
            version: w.version,
            status: w.status,
            stage: w.current_stage,
            source: w.source,
            run_id: w.run_id.filter(|r| !r.is_empty()),
            created_at: from_epoch_ms(w.creation_timestamp),
        }
    }
}

#[derive(Deserialize)]
struct WireRegisteredModel {
    name: String,
    description: Option<String>,
    #[serde(default, deserialize_with = "flex_i64")]
    creation_timestamp: Option<i64>,
    #[serde(default, deserialize_with = "flex_i64")]
    last_updated_timestamp: Option<i64>,
    #[serde(default)]
    latest_versions: Vec<WireModelVersion>,
}

impl From<WireRegisteredModel> for RegisteredModel {
    fn from(w: WireRegisteredModel) -> Self {
        RegisteredModel {
            name: w.name,
            description: w.description.filter(|d| !d.is_empty()),
            created_at: from_epoch_ms(w.creation_timestamp),
            updated_at: from_epoch_ms(w.last_updated_timestamp),
            latest_versions: w
                .latest_versions
                .into_iter()
                .map(ModelVersion::from)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct ExperimentsPage {
    #[serde(default)]
    experiments: Vec<WireExperiment>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RunsPage {
    #[serde(default)]
    runs: Vec<WireRun>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RegisteredModelsPage {
    #[serde(default)]
    registered_models: Vec<WireRegisteredModel>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ModelVersionsPage {
    #[serde(default)]
    model_versions: Vec<WireModelVersion>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WireFile {
    path: String,
    #[serde(default)]
    is_dir: bool,
    #[serde(default, deserialize_with = "flex_i64")]
    file_size: Option<i64>,
}

#[derive(Deserialize)]
struct FilesPage {
    #[serde(default)]
    files: Vec<WireFile>,
}

/// MLflow's `{}` for "done".
#[derive(Deserialize)]
struct Done {}

fn page<W, T: From<W>>(items: Vec<W>, token: Option<String>) -> Page<T> {
    Page {
        items: items.into_iter().map(T::from).collect(),
        next_page_token: token.filter(|t| !t.is_empty()),
    }
}

fn with_query(mut call: Call, query: &SearchQuery) -> Call {
    if let Some(filter) = &query.filter {
        call = call.query("filter", filter.clone());
    }
    for order in &query.order_by {
        call = call.query("order_by", order.clone());
    }
    if let Some(max) = query.max_results {
        call = call.query("max_results", max.to_string());
    }
    if let Some(token) = &query.page_token {
        call = call.query("page_token", token.clone());
    }
    call
}

fn metric_json(metric: &Metric) -> serde_json::Value {
    json!({"key": metric.key, "value": metric.value, "timestamp": metric.timestamp_ms, "step": metric.step})
}

fn key_values_json(items: &[KeyValue]) -> serde_json::Value {
    serde_json::Value::Array(
        items
            .iter()
            .map(|kv| json!({"key": kv.key, "value": kv.value}))
            .collect(),
    )
}

#[async_trait]
impl MlopsPlatform for MlflowConnector {
    async fn search_experiments(&self, query: &SearchQuery) -> IntegrationResult<Page<Experiment>> {
        let call = with_query(
            Call::get("search experiments", format!("{API}/experiments/search")),
            query,
        );
        self.http.decode(&call, parse_experiments_page).await
    }

    async fn create_experiment(&self, name: &str) -> IntegrationResult<String> {
        #[derive(Deserialize)]
        struct Created {
            experiment_id: String,
        }
        let call = Call::post_json(
            "create experiment",
            format!("{API}/experiments/create"),
            json!({"name": name}),
        );
        let created: Created = self.call(call).await?;
        Ok(created.experiment_id)
    }

    async fn search_runs(
        &self,
        experiment_ids: &[String],
        query: &SearchQuery,
    ) -> IntegrationResult<Page<Run>> {
        let mut body = json!({"experiment_ids": experiment_ids});
        if let Some(filter) = &query.filter {
            body["filter"] = json!(filter);
        }
        if !query.order_by.is_empty() {
            body["order_by"] = json!(query.order_by);
        }
        if let Some(max) = query.max_results {
            body["max_results"] = json!(max);
        }
        if let Some(token) = &query.page_token {
            body["page_token"] = json!(token);
        }
        let call = Call::post_json("search runs", format!("{API}/runs/search"), body).idempotent();
        self.http.decode(&call, parse_runs_page).await
    }

    async fn get_run(&self, run_id: &str) -> IntegrationResult<Run> {
        #[derive(Deserialize)]
        struct Answer {
            run: WireRun,
        }
        let call = Call::get("get run", format!("{API}/runs/get")).query("run_id", run_id);
        let answer: Answer = self.call(call).await?;
        Ok(answer.run.into())
    }

    async fn create_run(&self, run: &NewRun) -> IntegrationResult<Run> {
        #[derive(Deserialize)]
        struct Answer {
            run: WireRun,
        }
        let started = run.started_at.unwrap_or_else(Utc::now).timestamp_millis();
        let mut body = json!({
            "experiment_id": run.experiment_id,
            "start_time": started,
            "tags": key_values_json(&run.tags),
        });
        if let Some(name) = &run.name {
            body["run_name"] = json!(name);
        }
        let answer: Answer = self
            .call(Call::post_json(
                "create run",
                format!("{API}/runs/create"),
                body,
            ))
            .await?;
        Ok(answer.run.into())
    }

    async fn end_run(&self, run_id: &str, status: RunStatus) -> IntegrationResult<()> {
        let body = json!({"run_id": run_id, "status": status.as_str(), "end_time": Utc::now().timestamp_millis()});
        // Setting a final status twice has the same effect: safe to retry.
        let call = Call::post_json("end run", format!("{API}/runs/update"), body).idempotent();
        self.call::<serde_json::Value>(call).await.map(|_| ())
    }

    async fn log_metric(&self, run_id: &str, metric: &Metric) -> IntegrationResult<()> {
        let mut body = metric_json(metric);
        body["run_id"] = json!(run_id);
        let call = Call::post_json("log metric", format!("{API}/runs/log-metric"), body);
        self.call::<Done>(call).await.map(|_| ())
    }

    async fn log_param(&self, run_id: &str, param: &KeyValue) -> IntegrationResult<()> {
        let body = json!({"run_id": run_id, "key": param.key, "value": param.value});
        // A param can be logged once with a given value; repeating it is harmless.
        let call =
            Call::post_json("log param", format!("{API}/runs/log-parameter"), body).idempotent();
        self.call::<Done>(call).await.map(|_| ())
    }

    async fn log_batch(&self, run_id: &str, batch: &LogBatch) -> IntegrationResult<()> {
        let body = json!({
            "run_id": run_id,
            "metrics": batch.metrics.iter().map(metric_json).collect::<Vec<_>>(),
            "params": key_values_json(&batch.params),
            "tags": key_values_json(&batch.tags),
        });
        let call = Call::post_json("log batch", format!("{API}/runs/log-batch"), body);
        self.call::<Done>(call).await.map(|_| ())
    }

    async fn metric_history(&self, run_id: &str, key: &str) -> IntegrationResult<Vec<Metric>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            metrics: Vec<WireMetric>,
            next_page_token: Option<String>,
        }
        let mut metrics = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get("get metric history", format!("{API}/metrics/get-history"))
                .query("run_id", run_id)
                .query("metric_key", key);
            if let Some(token) = &token {
                call = call.query("page_token", token.clone());
            }
            let answer: Answer = self.call(call).await?;
            metrics.extend(answer.metrics.into_iter().map(Metric::from));
            match answer.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(metrics)
    }

    async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> IntegrationResult<RegisteredModel> {
        #[derive(Deserialize)]
        struct Answer {
            registered_model: WireRegisteredModel,
        }
        let mut body = json!({"name": name});
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        let call = Call::post_json(
            "create registered model",
            format!("{API}/registered-models/create"),
            body,
        );
        let answer: Answer = self.call(call).await?;
        Ok(answer.registered_model.into())
    }

    async fn search_registered_models(
        &self,
        query: &SearchQuery,
    ) -> IntegrationResult<Page<RegisteredModel>> {
        let call = with_query(
            Call::get(
                "search registered models",
                format!("{API}/registered-models/search"),
            ),
            query,
        );
        self.http.decode(&call, parse_registered_models_page).await
    }

    async fn create_model_version(
        &self,
        version: &NewModelVersion,
    ) -> IntegrationResult<ModelVersion> {
        #[derive(Deserialize)]
        struct Answer {
            model_version: WireModelVersion,
        }
        let mut body = json!({"name": version.model_name, "source": version.source});
        if let Some(run_id) = &version.run_id {
            body["run_id"] = json!(run_id);
        }
        if let Some(description) = &version.description {
            body["description"] = json!(description);
        }
        let call = Call::post_json(
            "create model version",
            format!("{API}/model-versions/create"),
            body,
        );
        let answer: Answer = self.call(call).await?;
        Ok(answer.model_version.into())
    }

    async fn search_model_versions(
        &self,
        query: &SearchQuery,
    ) -> IntegrationResult<Page<ModelVersion>> {
        let call = with_query(
            Call::get(
                "search model versions",
                format!("{API}/model-versions/search"),
            ),
            query,
        );
        self.http.decode(&call, parse_model_versions_page).await
    }

    async fn upload_artifact(
        &self,
        run_id: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> IntegrationResult<()> {
        let root = self.artifact_root(run_id).await?;
        let full = self.artifact_path(&root, path)?;
        if full == root {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: an artifact needs a file name",
                    self.context("upload artifact")
                ),
            ));
        }
        let call = Call::new(
            "upload artifact",
            Method::PUT,
            format!("{ARTIFACTS}/{}", encode_path(&full)),
        )
        .bytes("application/octet-stream", bytes);
        self.http.execute(&call).await.map(|_| ())
    }

    async fn list_artifacts(
        &self,
        run_id: &str,
        path: &str,
    ) -> IntegrationResult<Vec<ArtifactEntry>> {
        let root = self.artifact_root(run_id).await?;
        let full = self.artifact_path(&root, path)?;
        let relative_dir = full
            .strip_prefix(&root)
            .unwrap_or("")
            .trim_start_matches('/')
            .to_string();
        let call = Call::get("list artifacts", ARTIFACTS).query("path", full);
        let answer: FilesPage = self.call(call).await?;
        Ok(answer
            .files
            .into_iter()
            .map(|f| ArtifactEntry {
                path: if relative_dir.is_empty() {
                    f.path
                } else {
                    format!("{relative_dir}/{}", f.path)
                },
                is_dir: f.is_dir,
                size_bytes: f.file_size.and_then(|s| u64::try_from(s).ok()),
            })
            .collect())
    }

    async fn download_artifact(&self, run_id: &str, path: &str) -> IntegrationResult<Vec<u8>> {
        let root = self.artifact_root(run_id).await?;
        let full = self.artifact_path(&root, path)?;
        let call = Call::get(
            "download artifact",
            format!("{ARTIFACTS}/{}", encode_path(&full)),
        );
        Ok(self.http.execute(&call).await?.body)
    }
}

/// Where an event poll left off, for one kind of event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Mark {
    /// Milliseconds since the epoch of the newest thing reported.
    after_ms: i64,
    /// Ids reported at exactly `after_ms`.
    seen: BTreeSet<String>,
}

impl Mark {
    fn is_new(&self, at_ms: i64, id: &str) -> bool {
        at_ms > self.after_ms || (at_ms == self.after_ms && !self.seen.contains(id))
    }

    fn advance(&mut self, at_ms: i64, id: &str) {
        if at_ms > self.after_ms {
            self.after_ms = at_ms;
            self.seen.clear();
        }
        if at_ms == self.after_ms {
            self.seen.insert(id.to_string());
        }
    }
}

/// The MLflow event cursor (JSON inside [`EventCursor`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    v: u8,
    runs: Mark,
    versions: Mark,
}

impl Cursor {
    /// A stored cursor read back; `invalid_request` when it is not an MLflow cursor.
    pub fn decode(cursor: &EventCursor, context: &str) -> IntegrationResult<Self> {
        serde_json::from_str(&cursor.0).map_err(|_| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{context}: the event cursor is not an MLflow cursor"),
            )
        })
    }

    pub fn encode(&self) -> IntegrationResult<EventCursor> {
        encode_cursor(self)
    }

    /// The start time (epoch milliseconds) runs are listed from.
    pub fn runs_after_ms(&self) -> i64 {
        self.runs.after_ms
    }

    /// The creation time (epoch milliseconds) model versions are listed from.
    pub fn versions_after_ms(&self) -> i64 {
        self.versions.after_ms
    }
}

/// A run not reported yet, with its start time (epoch milliseconds).
pub type UnreportedRun = (i64, Run);
/// A model version not reported yet, with its creation time (epoch milliseconds) and its
/// `<model>/<version>` id.
pub type UnreportedVersion = (i64, String, ModelVersion);

/// The runs of a listing of runs started since the cursor that it has not reported yet, by
/// start time, at most [`MAX_EVENTS_PER_POLL`].
pub fn new_runs(state: &Cursor, listed: Vec<Run>) -> Vec<UnreportedRun> {
    let mut runs: Vec<UnreportedRun> = listed
        .into_iter()
        .filter_map(|run| run.started_at.map(|t| (t.timestamp_millis(), run)))
        .filter(|(at, run)| state.runs.is_new(*at, &run.id))
        .collect();
    runs.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    runs.truncate(MAX_EVENTS_PER_POLL);
    runs
}

/// The model versions of a listing of versions created since the cursor that it has not
/// reported yet, by creation time, at most `budget` (what the runs left of a poll's events).
pub fn new_versions(
    state: &Cursor,
    listed: Vec<ModelVersion>,
    budget: usize,
) -> Vec<UnreportedVersion> {
    let mut versions: Vec<UnreportedVersion> = listed
        .into_iter()
        .filter_map(|v| {
            let id = format!("{}/{}", v.model_name, v.version);
            v.created_at.map(|t| (t.timestamp_millis(), id, v))
        })
        .filter(|(at, id, _)| state.versions.is_new(*at, id))
        .collect();
    versions.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    versions.truncate(budget);
    versions
}

/// One poll of the events feed: each new run is an `mlflow.run.created` event and each new
/// model version an `mlflow.model_version.created` one, by time, each once; the cursor moves
/// past them.
pub fn event_step(
    mut state: Cursor,
    runs: Vec<UnreportedRun>,
    versions: Vec<UnreportedVersion>,
) -> (Vec<PlatformEvent>, Cursor) {
    let mut events = Vec::with_capacity(runs.len() + versions.len());
    let mut delivered = BTreeSet::new();
    for (at, run) in &runs {
        state.runs.advance(*at, &run.id);
        let event = run_event(run, *at);
        // A listing that names a run twice (its pages moved while they were read) reports it
        // once.
        if delivered.insert(event.id.clone()) {
            events.push(event);
        }
    }
    for (at, id, version) in &versions {
        state.versions.advance(*at, id);
        let event = version_event(version, *at);
        if delivered.insert(event.id.clone()) {
            events.push(event);
        }
    }
    events.sort_by_key(|e| e.at);
    state.v = 1;
    (events, state)
}

fn run_event(run: &Run, at_ms: i64) -> PlatformEvent {
    PlatformEvent {
        id: format!("run:{}", run.id),
        kind: "mlflow.run.created".into(),
        subject: run.name.clone().unwrap_or_else(|| run.id.clone()),
        at: from_epoch_ms(Some(at_ms)).unwrap_or_default(),
        detail: json!({
            "run_id": run.id,
            "experiment_id": run.experiment_id,
            "run_name": run.name,
            "status": run.status.map(RunStatus::as_str),
        }),
    }
}

fn version_event(version: &ModelVersion, at_ms: i64) -> PlatformEvent {
    PlatformEvent {
        id: format!("model_version:{}/{}", version.model_name, version.version),
        kind: "mlflow.model_version.created".into(),
        subject: format!("{} v{}", version.model_name, version.version),
        at: from_epoch_ms(Some(at_ms)).unwrap_or_default(),
        detail: json!({
            "name": version.model_name,
            "version": version.version,
            "run_id": version.run_id,
            "source": version.source,
            "status": version.status,
        }),
    }
}

#[async_trait]
impl Integration for MlflowConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Mlflow
    }

    fn capabilities(&self) -> Vec<String> {
        [
            "experiments",
            "runs",
            "model-registry",
            "artifacts",
            "events",
        ]
        .map(String::from)
        .to_vec()
    }

    async fn connect(&self) -> IntegrationResult<()> {
        let call =
            Call::get("connect", format!("{API}/experiments/search")).query("max_results", "1");
        self.call::<ExperimentsPage>(call).await.map(|_| ())
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        self.http.auth().invalidate().await;
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        let started = Instant::now();
        let check = Call::get("check connection", format!("{API}/experiments/search"))
            .query("max_results", "1")
            .probe();
        let first = self.http.decode(&check, parse_experiments_page).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Err(error) = first {
            return ConnectionCheck {
                state: CheckState::Unhealthy,
                latency_ms,
                capabilities: vec![VerifiedCapability {
                    name: "experiments".into(),
                    ok: false,
                    error: Some(error.clone()),
                }],
                error: Some(error),
            };
        }
        let capabilities = vec![
            VerifiedCapability {
                name: "experiments".into(),
                ok: true,
                error: None,
            },
            self.probe(
                "model-registry",
                Call::get(
                    "check model registry",
                    format!("{API}/registered-models/search"),
                )
                .query("max_results", "1"),
            )
            .await,
            self.probe(
                "artifacts",
                Call::get("check artifacts", ARTIFACTS).query("path", ""),
            )
            .await,
        ];
        let failing = capabilities.iter().find_map(|c| c.error.clone());
        let slow = Duration::from_millis(latency_ms) > self.slow_after;
        let state = if failing.is_none() && !slow {
            CheckState::Healthy
        } else {
            CheckState::Degraded
        };
        ConnectionCheck {
            state,
            latency_ms,
            error: failing,
            capabilities,
        }
    }

    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        let bad_target = || {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: target {:?} is neither artifacts/<run id>/<path> nor log-batch/<run id>",
                    self.context("send data"),
                    payload.target
                ),
            )
        };
        if let Some(rest) = payload.target.strip_prefix("artifacts/") {
            let (run_id, path) = rest.split_once('/').ok_or_else(bad_target)?;
            return self
                .upload_artifact(run_id, path, payload.bytes.clone())
                .await;
        }
        if let Some(run_id) = payload.target.strip_prefix("log-batch/") {
            let batch: LogBatch = serde_json::from_slice(&payload.bytes).map_err(|e| {
                IntegrationError::new(
                    ErrorClass::InvalidRequest,
                    format!(
                        "{}: the batch is not LogBatch JSON ({e})",
                        self.context("send data")
                    ),
                )
            })?;
            return self.log_batch(run_id, &batch).await;
        }
        Err(bad_target())
    }

    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        let to_json = |value: serde_json::Result<Vec<u8>>| {
            value.map_err(|e| IntegrationError::new(ErrorClass::UnexpectedResponse, e.to_string()))
        };
        let source = request.source.as_str();
        if let Some(rest) = source.strip_prefix("artifacts/") {
            if let Some((run_id, path)) = rest.split_once('/') {
                return self.download_artifact(run_id, path).await;
            }
        } else if let Some(run_id) = source.strip_prefix("runs/") {
            return to_json(serde_json::to_vec(&self.get_run(run_id).await?));
        } else if let Some(rest) = source.strip_prefix("metric-history/") {
            if let Some((run_id, key)) = rest.split_once('/') {
                return to_json(serde_json::to_vec(&self.metric_history(run_id, key).await?));
            }
        } else if source == "experiments" {
            let query = SearchQuery {
                filter: request.params.get("filter").cloned(),
                max_results: request
                    .params
                    .get("max_results")
                    .and_then(|m| m.parse().ok()),
                page_token: request.params.get("page_token").cloned(),
                order_by: Vec::new(),
            };
            return to_json(serde_json::to_vec(&self.search_experiments(&query).await?));
        }
        Err(IntegrationError::new(
            ErrorClass::InvalidRequest,
            format!(
                "{}: source {source:?} is not one of artifacts/<run id>/<path>, runs/<run id>, metric-history/<run id>/<key>, experiments",
                self.context("receive data")
            ),
        ))
    }

    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        let Some(cursor) = cursor else {
            // From now: start after the newest run and model version the platform has.
            let runs = self
                .runs_matching("", "attributes.start_time DESC", 1)
                .await?;
            let mut start = Cursor {
                v: 1,
                ..Cursor::default()
            };
            for run in &runs {
                if let Some(at) = run.started_at {
                    start.runs.advance(at.timestamp_millis(), &run.id);
                }
            }
            let newest = self
                .search_model_versions(&SearchQuery {
                    order_by: vec!["creation_timestamp DESC".into()],
                    max_results: Some(50),
                    ..SearchQuery::default()
                })
                .await?;
            for version in &newest.items {
                if let Some(at) = version.created_at {
                    start.versions.advance(
                        at.timestamp_millis(),
                        &format!("{}/{}", version.model_name, version.version),
                    );
                }
            }
            return Ok(EventBatch {
                events: Vec::new(),
                next: encode_cursor(&start)?,
            });
        };
        let state = Cursor::decode(&cursor, &self.context("poll events"))?;
        let listed = self
            .runs_matching(
                &format!("attributes.start_time >= {}", state.runs.after_ms),
                "attributes.start_time ASC",
                MAX_EVENTS_PER_POLL,
            )
            .await?;
        let runs = new_runs(&state, listed);
        let budget = MAX_EVENTS_PER_POLL - runs.len();
        let listed = self.versions_since(state.versions.after_ms, budget).await?;
        let versions = new_versions(&state, listed, budget);
        let (events, state) = event_step(state, runs, versions);
        Ok(EventBatch {
            events,
            next: encode_cursor(&state)?,
        })
    }

    /// Runs started, registered models created and model versions created, per UTC day of
    /// the window (a day with none has a zero figure).
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        // Searches filter by epoch milliseconds.
        let (from, to) = (whole_millis(from), whole_millis(to));
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let runs = self
            .runs_matching(
                &format!("attributes.start_time >= {from_ms} AND attributes.start_time < {to_ms}"),
                "attributes.start_time ASC",
                usize::MAX,
            )
            .await?;

        let mut models = Vec::new();
        let mut query = SearchQuery {
            max_results: Some(1000),
            ..SearchQuery::default()
        };
        for _ in 0..MAX_PAGES {
            let page = self.search_registered_models(&query).await?;
            models.extend(page.items.iter().filter_map(|m| m.created_at));
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => break,
            }
        }

        let versions = self.versions_since(from_ms, usize::MAX).await?;

        let mut figures = daily_counts(
            "runs_started",
            "runs",
            from,
            to,
            runs.iter().filter_map(|r| r.started_at),
        );
        figures.extend(daily_counts(
            "registered_models_created",
            "models",
            from,
            to,
            models,
        ));
        figures.extend(daily_counts(
            "model_versions_created",
            "model versions",
            from,
            to,
            versions.iter().filter_map(|v| v.created_at),
        ));
        Ok(figures)
    }
}

fn encode_cursor(cursor: &Cursor) -> IntegrationResult<EventCursor> {
    serde_json::to_string(cursor).map(EventCursor).map_err(|e| {
        IntegrationError::new(ErrorClass::UnexpectedResponse, format!("event cursor: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_artifact_uris_map_to_the_proxy_path() {
        let cases = [
            ("mlflow-artifacts:/1/abc/artifacts", Some("1/abc/artifacts")),
            (
                "mlflow-artifacts://host:5000/1/abc/artifacts",
                Some("1/abc/artifacts"),
            ),
            ("s3://bucket/1/abc/artifacts", None),
            ("/tmp/mlruns/1/abc/artifacts", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(proxied_artifact_root(uri).as_deref(), expected, "{uri}");
        }
    }

    #[test]
    fn artifact_paths_refuse_traversal_and_are_percent_encoded() {
        assert_eq!(
            clean_relative_path("a//b/c.txt").as_deref(),
            Some("a/b/c.txt"),
            "empty segments dropped"
        );
        assert_eq!(
            clean_relative_path("../etc/passwd"),
            None,
            "parent segments refused"
        );
        assert_eq!(clean_relative_path("/abs"), None, "absolute paths refused");
        assert_eq!(
            encode_path("1/r/artifacts/my file+.txt"),
            "1/r/artifacts/my%20file%2B.txt",
            "segments encoded"
        );
    }

    #[test]
    fn the_event_cursor_skips_ids_already_seen_at_the_same_millisecond() {
        let mut mark = Mark::default();
        mark.advance(10, "a");
        mark.advance(10, "b");
        assert!(!mark.is_new(10, "a"), "a was reported");
        assert!(mark.is_new(10, "c"), "c shares the millisecond but is new");
        assert!(mark.is_new(11, "a"), "later is new");
        mark.advance(12, "d");
        assert_eq!(
            mark.seen.len(),
            1,
            "older ids are forgotten once time moves on"
        );
    }

    #[test]
    fn only_basic_bearer_or_no_credential_is_accepted() {
        let datadog = Credential::DatadogKeys {
            api_key: ecosystem_core::Secret::new("k"),
            app_key: None,
        };
        let err = check_credential(Some(&datadog)).err().map(|e| e.class);
        assert_eq!(
            err,
            Some(ErrorClass::MissingCredential),
            "a Datadog key is no MLflow credential"
        );
        assert!(
            check_credential(None).is_ok(),
            "no credential is fine for OSS MLflow"
        );
    }
}
