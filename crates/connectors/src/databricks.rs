//! The Databricks workspace connector, an [`Integration`] and a [`DataPlatform`].
//!
//! Endpoints (REST API, <https://docs.databricks.com/api/workspace/introduction>):
//! - `GET /api/2.0/preview/scim/v2/Me`: the connection check (who the credential is);
//! - `GET /api/2.1/clusters/list` (`page_size` ≤ 100, `page_token` / `next_page_token`);
//! - `GET /api/2.2/jobs/list` (`limit` ≤ 100, `page_token`, `has_more`);
//! - `GET /api/2.2/jobs/runs/list` (`start_time_from` / `start_time_to` in ms, `limit` ≤ 25,
//!   `page_token`, `has_more`), `GET /api/2.2/jobs/runs/get`, `POST /api/2.2/jobs/run-now`;
//! - `GET /api/2.0/sql/warehouses`;
//! - `POST /api/2.0/dbfs/put` (base64 `contents`, at most 1 MB), `GET /api/2.0/dbfs/get-status`,
//!   `GET /api/2.0/dbfs/read` (1 MB per call, `offset` / `length`);
//! - `POST /api/2.0/sql/statements` (`JSON_ARRAY`, `INLINE`, `wait_timeout` 0 s or 5–50 s),
//!   `GET /api/2.0/sql/statements/{id}`, `GET …/{id}/result/chunks/{n}`,
//!   `POST …/{id}/cancel`. Usage comes from the `system.billing.usage` system table through
//!   them (DBUs per SKU and day).
//!
//! Auth: a personal access token (`Authorization: Bearer dapi…`) or OAuth M2M for a service
//! principal: a token from `POST {host}/oidc/v1/token` (client id and secret as HTTP Basic,
//! `grant_type=client_credentials&scope=all-apis`), cached and refreshed by
//! [`crate::auth`]. [`oauth_credential`] builds that credential for a workspace host.
//!
//! Errors are `{"error_code", "message"}`; `error_code` is a string (`RESOURCE_DOES_NOT_EXIST`)
//! or, for a refused token, the number 403. The HTTP status decides the class, and
//! [`classify_error_code`] corrects it where Databricks' code says more (a 400
//! `RESOURCE_DOES_NOT_EXIST` is `not_found`, `REQUEST_LIMIT_EXCEEDED` is `rate_limited`).
//!
//! Rate limits are per endpoint (no `X-RateLimit-*` headers); 429 and 503 carry `Retry-After`,
//! which the shared retry policy honours.
//!
//! Events are polled: job runs that started after the cursor, and the runs the cursor still
//! knows as active, are compared with the state the cursor recorded; each change is a
//! `databricks.run.state_changed` event.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use ecosystem_core::integration::{
    ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor, Integration,
    IntegrationError, IntegrationResult, PlatformEvent, UsageFigure,
};
use ecosystem_core::{Credential, PartnerKind, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::data::{DataPlatform, QueryResult, ResultColumn, SqlStatement, StatementProgress};
use crate::factory::{
    assemble_check, check_credential_fits, decode_cursor, elapsed_ms, encode_cursor, probe,
};
use crate::http::{Call, HttpResponse, PartnerHttp, PartnerHttpConfig};
use crate::mlops::{from_epoch_ms, Page};
use crate::resilience::ResiliencePolicy;
use crate::usage::{daily_counts, day_slices, whole_millis};

/// DBFS `put` and `read` move at most this much per call.
pub const DBFS_BLOCK: usize = 1024 * 1024;
/// Runs per `runs/list` page (the API's maximum).
const RUNS_PAGE: u32 = 25;
/// Pages read by one listing at most (a guard against a listing that never ends).
const MAX_PAGES: usize = 400;
/// The most events one poll returns.
pub const MAX_EVENTS_PER_POLL: usize = 500;
/// Active runs a cursor follows at most (the oldest are dropped first).
const MAX_TRACKED_RUNS: usize = 1_000;

/// How to reach one Databricks workspace.
#[derive(Debug, Clone)]
pub struct DatabricksConfig {
    pub partner: String,
    /// The workspace URL (`https://dbc-1234.cloud.databricks.com`).
    pub endpoint: String,
    /// A PAT (`Bearer`) or a service principal's OAuth client credentials.
    pub credential: Credential,
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
    /// The SQL warehouse for statements and usage; the first running one when `None`.
    pub warehouse_id: Option<String>,
}

/// The OAuth M2M credential of a service principal for a workspace host: the token comes from
/// `{host}/oidc/v1/token` with scope `all-apis`.
pub fn oauth_credential(
    host: &str,
    client_id: impl Into<String>,
    client_secret: Secret,
) -> Credential {
    Credential::OauthClientCredentials {
        token_url: format!("{}/oidc/v1/token", host.trim_end_matches('/')),
        client_id: client_id.into(),
        client_secret,
        scope: Some("all-apis".into()),
    }
}

/// A cluster, as `clusters/list` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster_id: String,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub spark_version: Option<String>,
    #[serde(default)]
    pub node_type_id: Option<String>,
    #[serde(default)]
    pub num_workers: Option<u32>,
    #[serde(default)]
    pub creator_user_name: Option<String>,
    #[serde(default)]
    pub cluster_source: Option<String>,
}

/// A job, as `jobs/list` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: i64,
    pub name: Option<String>,
    pub creator_user_name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A job run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub run_id: i64,
    pub job_id: Option<i64>,
    pub run_name: Option<String>,
    /// `PENDING`, `RUNNING`, `TERMINATING`, `TERMINATED`, `SKIPPED`, `INTERNAL_ERROR`...
    pub life_cycle_state: String,
    /// `SUCCESS`, `FAILED`, `CANCELED`... once the run is over.
    pub result_state: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub run_page_url: Option<String>,
}

impl JobRun {
    /// `LIFE_CYCLE[/RESULT]`, the state events compare.
    pub fn state(&self) -> String {
        match &self.result_state {
            Some(result) => format!("{}/{result}", self.life_cycle_state),
            None => self.life_cycle_state.clone(),
        }
    }

    /// The run failed: its result is FAILED or TIMEDOUT, or it ended in an internal error.
    pub fn failed(&self) -> bool {
        matches!(self.result_state.as_deref(), Some("FAILED" | "TIMEDOUT"))
            || self.life_cycle_state == "INTERNAL_ERROR"
    }

    /// The run will not change state any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self.life_cycle_state.as_str(),
            "TERMINATED" | "SKIPPED" | "INTERNAL_ERROR"
        )
    }
}

/// A SQL warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warehouse {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub cluster_size: Option<String>,
    #[serde(default)]
    pub warehouse_type: Option<String>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunsQuery {
    pub job_id: Option<i64>,
    /// Runs that started at or after this.
    pub started_from: Option<DateTime<Utc>>,
    /// Runs that started at or before this.
    pub started_to: Option<DateTime<Utc>>,
    pub active_only: bool,
    /// 1..=25; 25 when `None`.
    pub limit: Option<u32>,
    pub page_token: Option<String>,
}

/// The Databricks connector.
#[derive(Debug)]
pub struct DatabricksConnector {
    http: PartnerHttp,
    slow_after: Duration,
    warehouse_id: Option<String>,
}

impl DatabricksConnector {
    pub fn new(config: DatabricksConfig) -> IntegrationResult<Self> {
        check_credential_fits(
            &config.partner,
            PartnerKind::Databricks,
            Some(&config.credential),
        )?;
        let credential = match config.credential {
            Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Credential::OauthClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope: scope.or_else(|| Some("all-apis".into())),
            },
            other => other,
        };
        let http = PartnerHttp::new(PartnerHttpConfig {
            partner: config.partner,
            endpoint: config.endpoint,
            credential: Some(credential),
            policy: config.policy,
        })?;
        Ok(DatabricksConnector {
            http,
            slow_after: config.slow_after,
            warehouse_id: config.warehouse_id,
        })
    }

    /// A connector over HTTP access built by the caller (custom resilience state in tests).
    pub fn from_http(
        http: PartnerHttp,
        slow_after: Duration,
        warehouse_id: Option<String>,
    ) -> Self {
        DatabricksConnector {
            http,
            slow_after,
            warehouse_id,
        }
    }

    pub fn http(&self) -> &PartnerHttp {
        &self.http
    }

    fn context(&self, operation: &str) -> String {
        self.http.context(operation)
    }

    /// A call whose error is classified with Databricks' `error_code` too.
    async fn call<T: for<'de> Deserialize<'de>>(&self, call: Call) -> IntegrationResult<T> {
        self.http.json(&call).await.map_err(refine)
    }

    /// A call whose answer one of the `parse_*` functions reads, its error classified like
    /// [`Self::call`]'s.
    async fn decode<T>(
        &self,
        call: Call,
        parse: impl FnOnce(&HttpResponse, &str) -> IntegrationResult<T>,
    ) -> IntegrationResult<T> {
        self.http.decode(&call, parse).await.map_err(refine)
    }

    /// Who the credential is (SCIM `Me`): the user name.
    pub async fn current_user(&self) -> IntegrationResult<String> {
        self.decode(
            Call::get("current user", "/api/2.0/preview/scim/v2/Me"),
            parse_current_user,
        )
        .await
    }

    /// One page of clusters (`page_size` 1..=100).
    pub async fn list_clusters(
        &self,
        page_size: u32,
        page_token: Option<&str>,
    ) -> IntegrationResult<Page<Cluster>> {
        let mut call = Call::get("list clusters", "/api/2.1/clusters/list")
            .query("page_size", page_size.clamp(1, 100).to_string());
        if let Some(token) = page_token {
            call = call.query("page_token", token);
        }
        let page: ClustersPage = self.call(call).await?;
        Ok(Page {
            items: page.clusters,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// One page of jobs (`limit` 1..=100).
    pub async fn list_jobs(
        &self,
        limit: u32,
        page_token: Option<&str>,
    ) -> IntegrationResult<Page<Job>> {
        let mut call = Call::get("list jobs", "/api/2.2/jobs/list")
            .query("limit", limit.clamp(1, 100).to_string());
        if let Some(token) = page_token {
            call = call.query("page_token", token);
        }
        let page: JobsPage = self.call(call).await?;
        Ok(Page {
            items: page.jobs.into_iter().map(Job::from).collect(),
            next_page_token: next_token(page.has_more, page.next_page_token),
        })
    }

    /// One page of job runs, newest first.
    pub async fn list_runs(&self, query: &RunsQuery) -> IntegrationResult<Page<JobRun>> {
        let mut call = Call::get("list job runs", "/api/2.2/jobs/runs/list").query(
            "limit",
            query
                .limit
                .unwrap_or(RUNS_PAGE)
                .clamp(1, RUNS_PAGE)
                .to_string(),
        );
        if let Some(job_id) = query.job_id {
            call = call.query("job_id", job_id.to_string());
        }
        if let Some(from) = query.started_from {
            call = call.query("start_time_from", from.timestamp_millis().to_string());
        }
        if let Some(to) = query.started_to {
            call = call.query("start_time_to", to.timestamp_millis().to_string());
        }
        if query.active_only {
            call = call.query("active_only", "true");
        }
        if let Some(token) = &query.page_token {
            call = call.query("page_token", token.as_str());
        }
        self.decode(call, parse_runs_page).await
    }

    /// Every run that `query` selects, across pages, up to `limit`.
    pub async fn all_runs(
        &self,
        query: &RunsQuery,
        limit: usize,
    ) -> IntegrationResult<Vec<JobRun>> {
        let mut query = query.clone();
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

    pub async fn get_run(&self, run_id: i64) -> IntegrationResult<JobRun> {
        let call =
            Call::get("get job run", "/api/2.2/jobs/runs/get").query("run_id", run_id.to_string());
        let run: WireRun = self.call(call).await?;
        Ok(run.into())
    }

    /// Starts a run of a job now, with optional job parameters; returns the run id.
    pub async fn run_now(
        &self,
        job_id: i64,
        job_parameters: &BTreeMap<String, String>,
    ) -> IntegrationResult<i64> {
        let mut body = json!({ "job_id": job_id });
        if !job_parameters.is_empty() {
            body["job_parameters"] = json!(job_parameters);
        }
        let started: RunNow = self
            .call(Call::post_json(
                "run job now",
                "/api/2.2/jobs/run-now",
                body,
            ))
            .await?;
        Ok(started.run_id)
    }

    pub async fn list_warehouses(&self) -> IntegrationResult<Vec<Warehouse>> {
        let list: WarehousesList = self
            .call(Call::get("list SQL warehouses", "/api/2.0/sql/warehouses"))
            .await?;
        Ok(list.warehouses)
    }

    /// The warehouse for statements: the configured one, else the first running one, else the
    /// first one.
    async fn warehouse(&self, asked: Option<&str>) -> IntegrationResult<String> {
        if let Some(id) = asked.or(self.warehouse_id.as_deref()) {
            return Ok(id.to_string());
        }
        let warehouses = self.list_warehouses().await?;
        warehouses
            .iter()
            .find(|w| w.state.as_deref() == Some("RUNNING"))
            .or_else(|| warehouses.first())
            .map(|w| w.id.clone())
            .ok_or_else(|| {
                IntegrationError::new(
                    ErrorClass::NotFound,
                    format!(
                        "{}: the workspace has no SQL warehouse to run statements on",
                        self.context("SQL statement")
                    ),
                )
            })
    }

    /// A statement's progress with the rest of its result read: the chunks after the first
    /// are fetched one by one (at most [`MAX_PAGES`]).
    async fn read_chunks(
        &self,
        (progress, mut next): (StatementProgress, Option<u64>),
    ) -> IntegrationResult<StatementProgress> {
        let StatementProgress::Done(mut result) = progress else {
            return Ok(progress);
        };
        let mut pages = 0;
        while let Some(chunk) = next {
            pages += 1;
            if pages > MAX_PAGES {
                break;
            }
            let call = Call::get(
                "read SQL result chunk",
                format!(
                    "/api/2.0/sql/statements/{}/result/chunks/{chunk}",
                    result.statement_id
                ),
            );
            let chunk = self.decode(call, parse_result_chunk).await?;
            result.rows.extend(chunk.rows);
            next = chunk.next;
        }
        Ok(StatementProgress::Done(result))
    }

    /// DBUs per SKU and day from `system.billing.usage`, for the days the window touches.
    async fn dbus(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let (first_day, last_day) = days_of(from, to);
        let sql = format!(
            "SELECT usage_date, sku_name, SUM(usage_quantity) AS dbus FROM system.billing.usage \
             WHERE usage_date >= '{first_day}' AND usage_date <= '{last_day}' \
             AND usage_unit = 'DBU' GROUP BY ALL ORDER BY 1, 2"
        );
        let result = self
            .execute_statement(&SqlStatement {
                timeout: Some(Duration::from_secs(120)),
                ..SqlStatement::new(sql)
            })
            .await?;
        dbus_figures(&result, first_day, last_day, &self.context("collect usage"))
    }
}

/// The days `[from, to)` touches: from `from`'s date to `to`'s (the day before when `to` is
/// exactly midnight).
fn days_of(from: DateTime<Utc>, to: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = from.date_naive();
    let mut last = to.date_naive();
    if to.time() == chrono::NaiveTime::MIN && last > first {
        last = last.pred_opt().unwrap_or(last);
    }
    (first, last.max(first))
}

fn next_token(has_more: Option<bool>, token: Option<String>) -> Option<String> {
    let token = token.filter(|t| !t.is_empty());
    match has_more {
        Some(false) => None,
        _ => token,
    }
}

/// The class Databricks' `error_code` gives an answer of `status`: the code wins where it is
/// more precise than the status (numeric codes, as in `{"error_code": 403}`, mean the status).
pub fn classify_error_code(status: u16, code: &str) -> ErrorClass {
    let by_status = crate::http::classify_status(status);
    match code.trim() {
        "RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND" | "FEATURE_DISABLED" if status < 500 => {
            ErrorClass::NotFound
        }
        "REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED" | "TOO_MANY_REQUESTS" => {
            ErrorClass::RateLimited
        }
        "PERMISSION_DENIED" | "UNAUTHENTICATED" | "INVALID_TOKEN" => {
            ErrorClass::CredentialsRejected
        }
        "TEMPORARILY_UNAVAILABLE" | "INTERNAL_ERROR" | "INTERNAL_SERVER_ERROR" => {
            ErrorClass::PlatformError
        }
        numeric if numeric.parse::<u16>().is_ok() => numeric
            .parse::<u16>()
            .map(crate::http::classify_status)
            .unwrap_or(by_status),
        _ => by_status,
    }
}

/// Re-classifies an error with the `error_code` the shared message carries
/// (`"<partner> <op>: HTTP <status>: <code>: <message>"`); every Databricks call's error goes
/// through it.
pub fn refine(mut error: IntegrationError) -> IntegrationError {
    let Some(status) = error.status else {
        return error;
    };
    let marker = format!("HTTP {status}: ");
    let code = error
        .message
        .split_once(&marker)
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(code, _)| code.to_string());
    if let Some(code) = code.filter(|c| !c.contains(' ')) {
        error.class = classify_error_code(status, &code);
    }
    error
}

// ---- answer parsing ----------------------------------------------------------------------------
//
// Pure readers of the platform's answers: the connector runs its answers through them, and the
// fuzz targets (fuzz/, through `crate::fuzzing`) feed them arbitrary ones.

/// The SCIM `Me` answer (the connection check): the credential's user name.
pub fn parse_current_user(response: &HttpResponse, context: &str) -> IntegrationResult<String> {
    response.json::<ScimMe>(context).map(|me| me.user_name)
}

/// A `jobs/runs/list` page.
pub fn parse_runs_page(response: &HttpResponse, context: &str) -> IntegrationResult<Page<JobRun>> {
    let page: RunsPage = response.json(context)?;
    Ok(Page {
        items: page.runs.into_iter().map(JobRun::from).collect(),
        next_page_token: next_token(page.has_more, page.next_page_token),
    })
}

/// A statement answer (submit or poll), decoded; [`StatementAnswer::progress`] says where the
/// statement is.
pub fn parse_statement(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<StatementAnswer> {
    response.json(context).map(StatementAnswer)
}

/// A decoded statement answer.
pub struct StatementAnswer(WireStatement);

impl StatementAnswer {
    /// The statement's progress, with the first chunk of the result when it is done, and the
    /// index of the next chunk to read; a failed, canceled or closed statement is
    /// `invalid_request` with the platform's message.
    pub fn progress(self, context: &str) -> IntegrationResult<(StatementProgress, Option<u64>)> {
        let answer = self.0;
        match answer.status.state.as_str() {
            "PENDING" | "RUNNING" => Ok((
                StatementProgress::Running {
                    statement_id: answer.statement_id,
                },
                None,
            )),
            "SUCCEEDED" => {
                let columns = answer
                    .manifest
                    .map(|m| {
                        m.schema
                            .columns
                            .into_iter()
                            .map(|c| ResultColumn {
                                name: c.name,
                                type_name: c.type_name.or(c.type_text).unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let (rows, next) = answer
                    .result
                    .map(|r| (r.data_array, r.next_chunk_index))
                    .unwrap_or_default();
                Ok((
                    StatementProgress::Done(QueryResult {
                        statement_id: answer.statement_id,
                        columns,
                        rows,
                    }),
                    next,
                ))
            }
            state => {
                let detail = answer
                    .status
                    .error
                    .map(|e| match e.error_code {
                        Some(code) => format!("{code}: {}", e.message.unwrap_or_default()),
                        None => e.message.unwrap_or_default(),
                    })
                    .unwrap_or_default();
                Err(IntegrationError::new(
                    ErrorClass::InvalidRequest,
                    format!(
                        "{context}: statement {} {}: {detail}",
                        answer.statement_id,
                        state.to_ascii_lowercase()
                    ),
                ))
            }
        }
    }
}

/// A chunk of a statement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultChunk {
    pub rows: Vec<Vec<Option<String>>>,
    /// The index of the next chunk, if there is one.
    pub next: Option<u64>,
}

/// A result chunk: its rows and the index of the next chunk.
pub fn parse_result_chunk(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<ResultChunk> {
    let chunk: WireResult = response.json(context)?;
    Ok(ResultChunk {
        rows: chunk.data_array,
        next: chunk.next_chunk_index,
    })
}

/// DBUs per SKU and day from the usage statement's result, for the days `first_day` to
/// `last_day`; rows with another or no date are skipped.
pub fn dbus_figures(
    result: &QueryResult,
    first_day: NaiveDate,
    last_day: NaiveDate,
    context: &str,
) -> IntegrationResult<Vec<UsageFigure>> {
    let (Some(date), Some(sku), Some(dbus)) = (
        result.column("usage_date"),
        result.column("sku_name"),
        result
            .column("dbus")
            .or_else(|| (result.columns.len() >= 3).then_some(2)),
    ) else {
        return Err(IntegrationError::new(
            ErrorClass::UnexpectedResponse,
            format!("{context}: the usage result lacks usage_date or sku_name"),
        ));
    };
    let mut figures = Vec::new();
    for row in 0..result.rows.len() {
        let Some(day) = result
            .text(row, date)
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if day < first_day || day > last_day {
            continue;
        }
        let (Some(start), Some(end)) = (
            day.and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
            day.succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
        ) else {
            continue;
        };
        figures.push(UsageFigure {
            metric: "dbus".into(),
            unit: "DBU".into(),
            value: result.number(row, dbus).unwrap_or(0.0),
            period_start: start,
            period_end: end,
            dimensions: BTreeMap::from([(
                "sku".to_string(),
                result.text(row, sku).unwrap_or_default().to_string(),
            )]),
        });
    }
    Ok(figures)
}

// ---- wire types ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ScimMe {
    #[serde(rename = "userName")]
    user_name: String,
}

#[derive(Deserialize)]
struct ClustersPage {
    #[serde(default)]
    clusters: Vec<Cluster>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WireJobSettings {
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireJob {
    job_id: i64,
    creator_user_name: Option<String>,
    created_time: Option<i64>,
    settings: Option<WireJobSettings>,
}

impl From<WireJob> for Job {
    fn from(w: WireJob) -> Self {
        Job {
            job_id: w.job_id,
            name: w.settings.and_then(|s| s.name),
            creator_user_name: w.creator_user_name,
            created_at: from_epoch_ms(w.created_time),
        }
    }
}

#[derive(Deserialize)]
struct JobsPage {
    #[serde(default)]
    jobs: Vec<WireJob>,
    has_more: Option<bool>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireRunState {
    life_cycle_state: Option<String>,
    result_state: Option<String>,
}

#[derive(Deserialize)]
struct WireRun {
    run_id: i64,
    job_id: Option<i64>,
    run_name: Option<String>,
    #[serde(default)]
    state: WireRunState,
    start_time: Option<i64>,
    end_time: Option<i64>,
    run_page_url: Option<String>,
}

impl From<WireRun> for JobRun {
    fn from(w: WireRun) -> Self {
        JobRun {
            run_id: w.run_id,
            job_id: w.job_id,
            run_name: w.run_name,
            life_cycle_state: w.state.life_cycle_state.unwrap_or_else(|| "UNKNOWN".into()),
            result_state: w.state.result_state,
            started_at: from_epoch_ms(w.start_time),
            ended_at: from_epoch_ms(w.end_time),
            run_page_url: w.run_page_url,
        }
    }
}

#[derive(Deserialize)]
struct RunsPage {
    #[serde(default)]
    runs: Vec<WireRun>,
    has_more: Option<bool>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RunNow {
    run_id: i64,
}

#[derive(Deserialize)]
struct WarehousesList {
    #[serde(default)]
    warehouses: Vec<Warehouse>,
}

#[derive(Deserialize)]
struct DbfsRead {
    #[serde(default)]
    bytes_read: usize,
    #[serde(default)]
    data: String,
}

#[derive(Deserialize)]
struct DbfsStatus {
    #[serde(default)]
    is_dir: bool,
    #[serde(default)]
    file_size: u64,
}

#[derive(Deserialize)]
struct WireStatementError {
    error_code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct WireStatementStatus {
    state: String,
    error: Option<WireStatementError>,
}

#[derive(Deserialize)]
struct WireColumn {
    name: String,
    type_name: Option<String>,
    type_text: Option<String>,
}

#[derive(Deserialize)]
struct WireSchema {
    #[serde(default)]
    columns: Vec<WireColumn>,
}

#[derive(Deserialize)]
struct WireManifest {
    schema: WireSchema,
}

#[derive(Deserialize)]
struct WireResult {
    #[serde(default)]
    data_array: Vec<Vec<Option<String>>>,
    next_chunk_index: Option<u64>,
}

#[derive(Deserialize)]
struct WireStatement {
    statement_id: String,
    status: WireStatementStatus,
    manifest: Option<WireManifest>,
    result: Option<WireResult>,
}

/// The Databricks event cursor (JSON inside [`EventCursor`]): the latest run start seen, the
/// runs seen at that millisecond, and the last state of every run not yet final.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    v: u8,
    pub(crate) after_ms: i64,
    pub(crate) seen: BTreeSet<i64>,
    pub(crate) active: BTreeMap<i64, String>,
}

impl Cursor {
    /// A stored cursor read back; `invalid_request` when it is not a Databricks cursor.
    pub fn decode(cursor: &EventCursor, context: &str) -> IntegrationResult<Self> {
        decode_cursor(cursor, context, "Databricks")
    }

    pub fn encode(&self) -> IntegrationResult<EventCursor> {
        encode_cursor(self)
    }
}

/// The runs of a listing of runs started since the cursor that the cursor has not seen yet,
/// by start time. (The ones it follows as active that are missing here are asked for one by
/// one, and given to [`run_events`] as followed runs.)
pub fn new_runs(state: &Cursor, mut listed: Vec<JobRun>) -> Vec<JobRun> {
    listed.retain(|r| {
        let ms = r.started_at.map_or(0, |t| t.timestamp_millis());
        !(ms == state.after_ms && state.seen.contains(&r.run_id))
    });
    listed.sort_by_key(|r| (r.started_at, r.run_id));
    listed
}

/// One poll of the events feed: each run whose state differs from the one the cursor `state`
/// recorded (the [`new_runs`], then the `followed` active runs the listing did not show) is a
/// `databricks.run.state_changed` event; the runs in `gone` no longer exist and are not
/// followed any more. Gives every event, by time, each run
/// once, and the cursor after them. `now` dates an event whose run has no time.
pub fn run_events(
    mut state: Cursor,
    new_runs: Vec<JobRun>,
    followed: Vec<JobRun>,
    gone: &[i64],
    now: DateTime<Utc>,
) -> (Vec<PlatformEvent>, Cursor) {
    for run_id in gone {
        state.active.remove(run_id);
    }
    let mut events = Vec::new();
    let mut changed = BTreeSet::new();
    for run in new_runs.iter().chain(&followed) {
        if let Some(at) = run.started_at.map(|t| t.timestamp_millis()) {
            if at > state.after_ms {
                state.after_ms = at;
                state.seen.clear();
            }
            if at == state.after_ms {
                state.seen.insert(run.run_id);
            }
        }
        // A listing that names a run twice (its pages moved while they were read) changes it
        // once.
        if !changed.insert(run.run_id) {
            continue;
        }
        let current = run.state();
        let previous = state.active.get(&run.run_id).cloned();
        if previous.as_deref() != Some(current.as_str()) {
            events.push(run_event(run, previous.as_deref(), now));
        }
        if run.is_final() {
            state.active.remove(&run.run_id);
        } else {
            state.active.insert(run.run_id, current);
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

fn run_event(run: &JobRun, previous: Option<&str>, now: DateTime<Utc>) -> PlatformEvent {
    let state = run.state();
    let at = match run.is_final() {
        true => run.ended_at.or(run.started_at),
        false => run.started_at,
    }
    .unwrap_or(now);
    PlatformEvent {
        id: format!("run:{}:{state}", run.run_id),
        kind: "databricks.run.state_changed".into(),
        subject: run
            .run_name
            .clone()
            .unwrap_or_else(|| format!("run {}", run.run_id)),
        at,
        detail: json!({
            "run_id": run.run_id,
            "job_id": run.job_id,
            "from": previous,
            "to": state,
            "life_cycle_state": run.life_cycle_state,
            "result_state": run.result_state,
            "run_page_url": run.run_page_url,
        }),
    }
}

#[async_trait]
impl Integration for DatabricksConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Databricks
    }

    fn capabilities(&self) -> Vec<String> {
        [
            "clusters",
            "jobs",
            "sql-warehouses",
            "sql-statements",
            "dbfs",
            "usage",
            "events",
        ]
        .map(String::from)
        .to_vec()
    }

    async fn connect(&self) -> IntegrationResult<()> {
        self.current_user().await.map(|_| ())
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        self.http.auth().invalidate().await;
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        let started = Instant::now();
        let me = Call::get("check connection", "/api/2.0/preview/scim/v2/Me").probe();
        let first = self
            .http
            .decode(&me, parse_current_user)
            .await
            .map(|_| ())
            .map_err(refine);
        let latency_ms = elapsed_ms(started);
        let more = if first.is_ok() {
            vec![
                probe(
                    &self.http,
                    "clusters",
                    Call::get("check clusters", "/api/2.1/clusters/list").query("page_size", "1"),
                )
                .await,
                probe(
                    &self.http,
                    "jobs",
                    Call::get("check jobs", "/api/2.2/jobs/list").query("limit", "1"),
                )
                .await,
                probe(
                    &self.http,
                    "sql-warehouses",
                    Call::get("check SQL warehouses", "/api/2.0/sql/warehouses"),
                )
                .await,
            ]
        } else {
            Vec::new()
        };
        assemble_check("scim-me", first, latency_ms, more, self.slow_after)
    }

    /// `target` is a DBFS path (`/tmp/ecosystem/report.csv` or `dbfs:/…`), overwritten.
    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        let path = payload
            .target
            .strip_prefix("dbfs:")
            .unwrap_or(&payload.target);
        self.put_file(path, &payload.bytes, true).await
    }

    /// `source` is a DBFS path (the file's bytes), `runs` (job runs JSON; params `from` and
    /// `to` in RFC 3339) or `sql` (the result of params `statement`, as JSON).
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        let to_json = |value: serde_json::Result<Vec<u8>>| {
            value.map_err(|e| IntegrationError::new(ErrorClass::UnexpectedResponse, e.to_string()))
        };
        let param_time = |name: &str| -> IntegrationResult<Option<DateTime<Utc>>> {
            request
                .params
                .get(name)
                .map(|t| {
                    DateTime::parse_from_rfc3339(t)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|e| {
                            IntegrationError::new(
                                ErrorClass::InvalidRequest,
                                format!("{}: param {name}: {e}", self.context("receive data")),
                            )
                        })
                })
                .transpose()
        };
        match request.source.as_str() {
            "runs" => {
                let query = RunsQuery {
                    started_from: param_time("from")?,
                    started_to: param_time("to")?,
                    ..RunsQuery::default()
                };
                to_json(serde_json::to_vec(&self.all_runs(&query, 10_000).await?))
            }
            "sql" => {
                let sql = request.params.get("statement").cloned().unwrap_or_default();
                let result = self.execute_statement(&SqlStatement::new(sql)).await?;
                to_json(serde_json::to_vec(&result))
            }
            source => {
                let path = source.strip_prefix("dbfs:").unwrap_or(source);
                self.read_file(path).await
            }
        }
    }

    async fn subscribe_to_events(
        &self,
        cursor: Option<EventCursor>,
    ) -> IntegrationResult<EventBatch> {
        let context = self.context("poll events");
        let Some(cursor) = cursor else {
            // From now: remember the runs that are active, so their later changes are reported.
            let now = Utc::now().timestamp_millis();
            let active = self
                .all_runs(
                    &RunsQuery {
                        active_only: true,
                        ..RunsQuery::default()
                    },
                    MAX_TRACKED_RUNS,
                )
                .await?;
            let state = Cursor {
                v: 1,
                after_ms: now,
                seen: BTreeSet::new(),
                active: active.iter().map(|r| (r.run_id, r.state())).collect(),
            };
            return Ok(EventBatch {
                events: Vec::new(),
                next: encode_cursor(&state)?,
            });
        };
        let state: Cursor = decode_cursor(&cursor, &context, "Databricks")?;
        let listed = self
            .all_runs(
                &RunsQuery {
                    started_from: from_epoch_ms(Some(state.after_ms)),
                    ..RunsQuery::default()
                },
                MAX_EVENTS_PER_POLL,
            )
            .await?;
        let new = new_runs(&state, listed);
        let listed: BTreeSet<i64> = new.iter().map(|r| r.run_id).collect();
        let mut followed = Vec::new();
        let mut gone = Vec::new();
        for run_id in state.active.keys().copied() {
            if listed.contains(&run_id) {
                continue;
            }
            match self.get_run(run_id).await {
                Ok(run) => followed.push(run),
                // The run was deleted: stop following it.
                Err(e) if matches!(e.class, ErrorClass::NotFound | ErrorClass::InvalidRequest) => {
                    gone.push(run_id)
                }
                Err(e) => return Err(e),
            }
        }
        let (events, state) = run_events(state, new, followed, &gone, Utc::now());
        Ok(EventBatch {
            events,
            next: encode_cursor(&state)?,
        })
    }

    /// DBUs per SKU and day (`system.billing.usage`, through a SQL warehouse); the job runs
    /// that started in the window, per UTC day and state (`job_runs`), and of them the ones
    /// that failed (`job_runs_failed`: result FAILED or TIMEDOUT, or an INTERNAL_ERROR), per
    /// day. Every day of the window has a run figure, zero when nothing ran.
    async fn collect_metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        // Runs are listed by epoch milliseconds.
        let (from, to) = (whole_millis(from), whole_millis(to));
        let mut figures = self.dbus(from, to).await?;
        let runs = self
            .all_runs(
                &RunsQuery {
                    started_from: Some(from),
                    started_to: Some(to),
                    ..RunsQuery::default()
                },
                usize::MAX,
            )
            .await?;
        let runs: Vec<&JobRun> = runs
            .iter()
            .filter(|r| r.started_at.is_some_and(|t| t >= from && t < to))
            .collect();
        for (start, end) in day_slices(from, to) {
            let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
            for run in runs
                .iter()
                .filter(|r| r.started_at.is_some_and(|t| t >= start && t < end))
            {
                *by_state
                    .entry(
                        run.result_state
                            .clone()
                            .unwrap_or_else(|| run.life_cycle_state.clone()),
                    )
                    .or_default() += 1;
            }
            if by_state.is_empty() {
                figures.push(UsageFigure {
                    metric: "job_runs".into(),
                    unit: "runs".into(),
                    value: 0.0,
                    period_start: start,
                    period_end: end,
                    dimensions: BTreeMap::new(),
                });
            }
            for (state, count) in by_state {
                figures.push(UsageFigure {
                    metric: "job_runs".into(),
                    unit: "runs".into(),
                    value: count as f64,
                    period_start: start,
                    period_end: end,
                    dimensions: BTreeMap::from([("state".to_string(), state)]),
                });
            }
        }
        figures.extend(daily_counts(
            "job_runs_failed",
            "runs",
            from,
            to,
            runs.iter()
                .filter(|r| r.failed())
                .filter_map(|r| r.started_at),
        ));
        Ok(figures)
    }
}

#[async_trait]
impl DataPlatform for DatabricksConnector {
    async fn submit_statement(
        &self,
        statement: &SqlStatement,
    ) -> IntegrationResult<StatementProgress> {
        let warehouse = self.warehouse(statement.warehouse.as_deref()).await?;
        let mut body = json!({
            "warehouse_id": warehouse,
            "statement": statement.sql,
            "wait_timeout": if statement.asynchronous { "0s" } else { "30s" },
            "on_wait_timeout": "CONTINUE",
            "format": "JSON_ARRAY",
            "disposition": "INLINE",
        });
        if let Some(catalog) = &statement.database {
            body["catalog"] = json!(catalog);
        }
        if let Some(schema) = &statement.schema {
            body["schema"] = json!(schema);
        }
        let answer = self
            .decode(
                Call::post_json("submit SQL statement", "/api/2.0/sql/statements", body),
                parse_statement,
            )
            .await?;
        self.read_chunks(answer.progress(&self.context("SQL statement"))?)
            .await
    }

    async fn poll_statement(&self, statement_id: &str) -> IntegrationResult<StatementProgress> {
        let answer = self
            .decode(
                Call::get(
                    "poll SQL statement",
                    format!("/api/2.0/sql/statements/{statement_id}"),
                ),
                parse_statement,
            )
            .await?;
        self.read_chunks(answer.progress(&self.context("SQL statement"))?)
            .await
    }

    async fn cancel_statement(&self, statement_id: &str) -> IntegrationResult<()> {
        self.call::<Value>(
            Call::post_json(
                "cancel SQL statement",
                format!("/api/2.0/sql/statements/{statement_id}/cancel"),
                json!({}),
            )
            .idempotent(),
        )
        .await
        .map(|_| ())
    }

    /// DBFS `put` (one call, at most [`DBFS_BLOCK`] bytes).
    async fn put_file(&self, path: &str, bytes: &[u8], overwrite: bool) -> IntegrationResult<()> {
        if bytes.len() > DBFS_BLOCK {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!(
                    "{}: {} bytes is more than the 1 MB DBFS put accepts in one call",
                    self.context("put DBFS file"),
                    bytes.len()
                ),
            ));
        }
        let body = json!({
            "path": path,
            "contents": BASE64.encode(bytes),
            "overwrite": overwrite,
        });
        let mut call = Call::post_json("put DBFS file", "/api/2.0/dbfs/put", body);
        if overwrite {
            call = call.idempotent();
        }
        self.call::<Value>(call).await.map(|_| ())
    }

    /// DBFS `get-status`, then `read` in 1 MB blocks.
    async fn read_file(&self, path: &str) -> IntegrationResult<Vec<u8>> {
        let status: DbfsStatus = self
            .call(Call::get("DBFS file status", "/api/2.0/dbfs/get-status").query("path", path))
            .await?;
        if status.is_dir {
            return Err(IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{}: {path} is a directory", self.context("read DBFS file")),
            ));
        }
        let size = usize::try_from(status.file_size).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(size.min(64 * DBFS_BLOCK));
        while bytes.len() < size {
            let call = Call::get("read DBFS file", "/api/2.0/dbfs/read")
                .query("path", path)
                .query("offset", bytes.len().to_string())
                .query("length", DBFS_BLOCK.to_string());
            let block: DbfsRead = self.call(call).await?;
            if block.bytes_read == 0 {
                break;
            }
            let data = BASE64.decode(block.data.as_bytes()).map_err(|e| {
                IntegrationError::new(
                    ErrorClass::UnexpectedResponse,
                    format!(
                        "{}: the block is not base64 ({e})",
                        self.context("read DBFS file")
                    ),
                )
            })?;
            bytes.extend_from_slice(&data);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_with_more_changes_than_a_listing_page_reports_every_one() {
        use chrono::TimeZone;
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let run = |id: i64, state: &str| JobRun {
            run_id: id,
            job_id: Some(1),
            run_name: None,
            life_cycle_state: state.into(),
            result_state: None,
            started_at: Some(start + chrono::Duration::seconds(id)),
            ended_at: None,
            run_page_url: None,
        };
        // 500 new runs, and 400 followed ones that changed state since the last poll.
        let mut state = Cursor::default();
        for id in 1_000..1_400 {
            state.active.insert(id, "PENDING".into());
        }
        let new: Vec<JobRun> = (2_000..2_500).map(|id| run(id, "RUNNING")).collect();
        let followed: Vec<JobRun> = (1_000..1_400).map(|id| run(id, "RUNNING")).collect();
        let (events, next) = run_events(state, new, followed, &[], start);
        assert_eq!(events.len(), 900, "every change is reported");
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "by time");
        // The next poll, seeing the same states, reports nothing again.
        let again: Vec<JobRun> = (1_000..1_400).map(|id| run(id, "RUNNING")).collect();
        let (repeat, _) = run_events(next, Vec::new(), again, &[], start);
        assert!(repeat.is_empty(), "{} reported twice", repeat.len());
    }

    #[test]
    fn numeric_and_string_error_codes_are_classified() {
        let cases = [
            (403, "403", ErrorClass::CredentialsRejected),
            (400, "RESOURCE_DOES_NOT_EXIST", ErrorClass::NotFound),
            (404, "RESOURCE_DOES_NOT_EXIST", ErrorClass::NotFound),
            (400, "INVALID_PARAMETER_VALUE", ErrorClass::InvalidRequest),
            (429, "REQUEST_LIMIT_EXCEEDED", ErrorClass::RateLimited),
            (400, "REQUEST_LIMIT_EXCEEDED", ErrorClass::RateLimited),
            (403, "PERMISSION_DENIED", ErrorClass::CredentialsRejected),
            (503, "TEMPORARILY_UNAVAILABLE", ErrorClass::PlatformError),
            (500, "SOMETHING_NEW", ErrorClass::PlatformError),
        ];
        for (status, code, class) in cases {
            assert_eq!(classify_error_code(status, code), class, "{status} {code}");
        }
    }

    #[test]
    fn the_error_code_is_read_back_from_the_shared_message() {
        let error = IntegrationError::new(
            ErrorClass::InvalidRequest,
            "dbx get job run: HTTP 400: RESOURCE_DOES_NOT_EXIST: Run 1 does not exist.",
        )
        .with_status(400);
        assert_eq!(
            refine(error).class,
            ErrorClass::NotFound,
            "code wins over 400"
        );
    }

    #[test]
    fn a_window_ending_at_midnight_does_not_touch_the_next_day() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let (first, last) = days_of(at("2026-11-01T00:00:00Z"), at("2026-11-03T00:00:00Z"));
        assert_eq!(first.to_string(), "2026-11-01", "first day");
        assert_eq!(last.to_string(), "2026-11-02", "last day excludes the 3rd");
    }
}
