//! The `MlopsPlatform` family template: what Ecosystem asks of any experiment-tracking and
//! model-registry platform (MLflow, Databricks-hosted MLflow, and later others), on top of
//! the core [`Integration`] trait. Connectors translate their platform's API into these types;
//! the rest of Ecosystem (reports, the UI, the CLI) only sees the types.
//!
//! Pagination is explicit: a search returns one [`Page`] and the token to the next one, so a
//! caller decides how much to read. Times are UTC; ids are the platform's own strings.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_core::integration::{Integration, IntegrationResult};
use serde::{Deserialize, Serialize};

/// One page of a search, and the token that fetches the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// What to search for, and where to resume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The platform's own filter language (`metrics.accuracy > 0.5`, `name = 'churn'`).
    pub filter: Option<String>,
    /// The platform's order clauses (`attributes.start_time DESC`).
    pub order_by: Vec<String>,
    /// Page size; the connector applies the platform's default when `None`.
    pub max_results: Option<u32>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub name: String,
    pub artifact_location: Option<String>,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

/// One value of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub step: i64,
}

/// A key/value pair (a run parameter or a tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub experiment_id: String,
    pub name: Option<String>,
    pub status: Option<RunStatus>,
    pub user_id: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub artifact_uri: Option<String>,
    /// The latest value of each metric.
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: BTreeMap<String, String>,
}

/// A run to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub experiment_id: String,
    pub name: Option<String>,
    /// Defaults to now.
    pub started_at: Option<DateTime<Utc>>,
    pub tags: Vec<KeyValue>,
}

/// Metrics, params and tags logged in one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogBatch {
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub model_name: String,
    pub version: String,
    /// `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`.
    pub status: Option<String>,
    pub stage: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    pub description: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub latest_versions: Vec<ModelVersion>,
}

/// A model version to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewModelVersion {
    pub model_name: String,
    /// Where the model's files are (`runs:/<run id>/model`, `s3://…`).
    pub source: String,
    pub run_id: Option<String>,
    pub description: Option<String>,
}

/// One entry of an artifact listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactEntry {
    /// Relative to the run's artifact root.
    pub path: String,
    pub is_dir: bool,
    pub size_bytes: Option<u64>,
}

/// An experiment-tracking and model-registry platform.
#[async_trait]
pub trait MlopsPlatform: Integration {
    async fn search_experiments(&self, query: &SearchQuery) -> IntegrationResult<Page<Experiment>>;

    /// Creates an experiment; returns its id.
    async fn create_experiment(&self, name: &str) -> IntegrationResult<String>;

    /// Runs of the given experiments.
    async fn search_runs(
        &self,
        experiment_ids: &[String],
        query: &SearchQuery,
    ) -> IntegrationResult<Page<Run>>;

    async fn get_run(&self, run_id: &str) -> IntegrationResult<Run>;

    async fn create_run(&self, run: &NewRun) -> IntegrationResult<Run>;

    /// Ends a run with a final status.
    async fn end_run(&self, run_id: &str, status: RunStatus) -> IntegrationResult<()>;

    async fn log_metric(&self, run_id: &str, metric: &Metric) -> IntegrationResult<()>;

    async fn log_param(&self, run_id: &str, param: &KeyValue) -> IntegrationResult<()>;

    async fn log_batch(&self, run_id: &str, batch: &LogBatch) -> IntegrationResult<()>;

    /// Every logged value of one metric of a run.
    async fn metric_history(&self, run_id: &str, key: &str) -> IntegrationResult<Vec<Metric>>;

    async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> IntegrationResult<RegisteredModel>;

    async fn search_registered_models(
        &self,
        query: &SearchQuery,
    ) -> IntegrationResult<Page<RegisteredModel>>;

    async fn create_model_version(
        &self,
        version: &NewModelVersion,
    ) -> IntegrationResult<ModelVersion>;

    async fn search_model_versions(
        &self,
        query: &SearchQuery,
    ) -> IntegrationResult<Page<ModelVersion>>;

    /// Stores a file under a run's artifacts (`path` relative to the run's artifact root).
    async fn upload_artifact(
        &self,
        run_id: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> IntegrationResult<()>;

    /// The entries directly under `path` (`""`: the root) of a run's artifacts.
    async fn list_artifacts(
        &self,
        run_id: &str,
        path: &str,
    ) -> IntegrationResult<Vec<ArtifactEntry>>;

    async fn download_artifact(&self, run_id: &str, path: &str) -> IntegrationResult<Vec<u8>>;
}

/// Milliseconds since the epoch as a UTC time (`None` for zero, absent or out of range).
pub fn from_epoch_ms(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|ms| *ms > 0)
        .and_then(DateTime::<Utc>::from_timestamp_millis)
}
