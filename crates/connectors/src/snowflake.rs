//! The Snowflake connector (SQL API v2), an [`Integration`] and a [`DataPlatform`].
//!
//! Endpoints (<https://docs.snowflake.com/en/developer-guide/sql-api/reference>):
//! - `POST /api/v2/statements?requestId=<uuid>[&async=true]`: submit a statement. 200 is the
//!   result set (partition 0), 202 means "still running" with a `statementStatusUrl`;
//! - `GET /api/v2/statements/{handle}` (the `statementStatusUrl`): poll; 202 while running,
//!   200 when done, 422 when the statement failed;
//! - `GET /api/v2/statements/{handle}?partition=N`: result partitions N ≥ 1 (`{"data"}` only;
//!   the row type comes from partition 0);
//! - `POST /api/v2/statements/{handle}/cancel`.
//!
//! The connection check is `SELECT CURRENT_ACCOUNT()` (cloud services only, no warehouse
//! resumes); `SHOW WAREHOUSES` probes the warehouse listing. Usage comes from
//! `SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY` (credits per warehouse and hour) and
//! `QUERY_HISTORY` (queries per warehouse, status and hour), which lag by up to 3 hours and need the
//! `USAGE_VIEWER` database role.
//!
//! Auth: key-pair JWT (RS256, `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`, built and
//! renewed by [`crate::auth`]), or an OAuth access token / programmatic access token as a
//! bearer token. Snowflake inspects a bearer token whose type header is absent; the shared
//! [`Call`] cannot add per-call headers yet, so OAuth and PAT tokens are sent without the
//! `X-Snowflake-Authorization-Token-Type` header (see [`SnowflakeTokenType`]). Every request
//! carries a `User-Agent` (the spec requires one).
//!
//! Errors: `{"code", "message", "sqlState"?}`. A failed statement is 422 and becomes
//! `invalid_request` with Snowflake's message; 401 (`390144` "JWT token is invalid.") is
//! `credentials_rejected`; 408 is `timed_out`.
//!
//! Rate limits: 429 without documented headers; it is retried with backoff (a `Retry-After`
//! is honoured). Submits carry a `requestId`, so a retried submit never runs twice.
//!
//! Events: the SQL API has none, so [`Integration::subscribe_to_events`] answers no events.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use ecosystem_core::integration::{
    ConnectionCheck, DataPayload, DataRequest, ErrorClass, EventBatch, EventCursor, Integration,
    IntegrationError, IntegrationResult, UsageFigure,
};
use ecosystem_core::{Credential, PartnerKind};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::data::{
    unsupported, DataPlatform, QueryResult, ResultColumn, SqlStatement, StatementProgress,
};
use crate::factory::{assemble_check, check_credential_fits, elapsed_ms, probe};
use crate::http::{Call, HttpResponse, PartnerHttp, PartnerHttpConfig};
use crate::resilience::ResiliencePolicy;

const STATEMENTS: &str = "/api/v2/statements";
/// Partitions read for one result at most.
const MAX_PARTITIONS: usize = 10_000;
/// Running statements whose status URL is remembered at most.
const MAX_PENDING: usize = 1_000;

/// The session a statement runs in: names Snowflake would otherwise take from the user's
/// defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnowflakeSession {
    pub warehouse: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub role: Option<String>,
}

/// What a bearer token is, for `X-Snowflake-Authorization-Token-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnowflakeTokenType {
    KeypairJwt,
    Oauth,
    ProgrammaticAccessToken,
}

impl SnowflakeTokenType {
    pub fn header_value(self) -> &'static str {
        match self {
            SnowflakeTokenType::KeypairJwt => "KEYPAIR_JWT",
            SnowflakeTokenType::Oauth => "OAUTH",
            SnowflakeTokenType::ProgrammaticAccessToken => "PROGRAMMATIC_ACCESS_TOKEN",
        }
    }
}

/// How to reach one Snowflake account.
#[derive(Debug, Clone)]
pub struct SnowflakeConfig {
    pub partner: String,
    /// `https://<org>-<account>.snowflakecomputing.com`.
    pub endpoint: String,
    /// Key pair, or an OAuth / programmatic access token as `Bearer`.
    pub credential: Credential,
    pub policy: ResiliencePolicy,
    /// A connection check slower than this reports `degraded`.
    pub slow_after: Duration,
    pub session: SnowflakeSession,
}

/// The Snowflake connector.
#[derive(Debug)]
pub struct SnowflakeConnector {
    http: PartnerHttp,
    slow_after: Duration,
    session: SnowflakeSession,
    /// The `statementStatusUrl` (path and query) of statements still running, by handle.
    pending: Mutex<BTreeMap<String, String>>,
}

impl SnowflakeConnector {
    pub fn new(config: SnowflakeConfig) -> IntegrationResult<Self> {
        check_credential_fits(
            &config.partner,
            PartnerKind::Snowflake,
            Some(&config.credential),
        )?;
        let http = PartnerHttp::new(PartnerHttpConfig {
            partner: config.partner,
            endpoint: config.endpoint,
            credential: Some(config.credential),
            policy: config.policy,
        })?;
        Ok(SnowflakeConnector::from_http(
            http,
            config.slow_after,
            config.session,
        ))
    }

    /// A connector over HTTP access built by the caller (custom resilience state in tests).
    pub fn from_http(http: PartnerHttp, slow_after: Duration, session: SnowflakeSession) -> Self {
        SnowflakeConnector {
            http,
            slow_after,
            session,
            pending: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn http(&self) -> &PartnerHttp {
        &self.http
    }

    fn context(&self, operation: &str) -> String {
        self.http.context(operation)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The submit call of a statement, in this connector's session.
    fn submit_call(&self, operation: &str, statement: &SqlStatement) -> Call {
        let mut body = json!({
            "statement": statement.sql,
            "timeout": statement.timeout.map_or(0, |t| t.as_secs().clamp(1, 604_800)),
        });
        let names = [
            (
                "warehouse",
                statement
                    .warehouse
                    .as_ref()
                    .or(self.session.warehouse.as_ref()),
            ),
            (
                "database",
                statement
                    .database
                    .as_ref()
                    .or(self.session.database.as_ref()),
            ),
            (
                "schema",
                statement.schema.as_ref().or(self.session.schema.as_ref()),
            ),
            (
                "role",
                statement.role.as_ref().or(self.session.role.as_ref()),
            ),
        ];
        for (key, value) in names {
            if let Some(value) = value {
                body[key] = json!(value);
            }
        }
        let mut call = Call::post_json(operation, STATEMENTS, body)
            .query("requestId", request_id())
            // The requestId makes a repeated submit return the first one's statement.
            .idempotent();
        if statement.asynchronous {
            call = call.query("async", "true");
        }
        call
    }

    /// Progress from a statement answer (200 result set or 202 status), with every
    /// partition of a result read.
    async fn progress(&self, response: HttpResponse) -> IntegrationResult<StatementProgress> {
        let context = self.context("SQL statement");
        let answer =
            parse_statement(&response, &context).inspect_err(|_| self.http.count_bad_answer())?;
        let mut result = match answer.progress {
            StatementProgress::Running { statement_id } => {
                if let Some(url) = answer.status_url {
                    let mut pending = self.pending();
                    if pending.len() >= MAX_PENDING {
                        pending.pop_first();
                    }
                    pending.insert(statement_id.clone(), url);
                }
                return Ok(StatementProgress::Running { statement_id });
            }
            StatementProgress::Done(result) => result,
        };
        self.pending().remove(&result.statement_id);
        for partition in 1..answer.partitions {
            let call = Call::get(
                "read result partition",
                format!("{STATEMENTS}/{}", result.statement_id),
            )
            .query("partition", partition.to_string());
            let rows = self.http.decode(&call, parse_partition).await?;
            result.rows.extend(rows);
        }
        Ok(StatementProgress::Done(result))
    }

    /// Credits per warehouse and hour, and queries per warehouse, status and hour, that
    /// started in `[from, to)`. Hours are `DATE_TRUNC('HOUR', START_TIME)`, read back as
    /// instants (the SQL API sends `timestamp_ltz` as epoch seconds), so the days they are
    /// summed into are UTC days whatever the session's time zone. Failed queries
    /// (`EXECUTION_STATUS = 'FAIL'`) are also counted apart as `queries_failed`.
    async fn usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        let (lo, hi) = (literal(from), literal(to));
        let metering = self
            .execute_statement(&SqlStatement {
                timeout: Some(Duration::from_secs(300)),
                ..SqlStatement::new(format!(
                    "SELECT DATE_TRUNC('HOUR', START_TIME) AS USAGE_HOUR, WAREHOUSE_NAME, \
                     SUM(CREDITS_USED), SUM(CREDITS_USED_COMPUTE), SUM(CREDITS_USED_CLOUD_SERVICES) \
                     FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY \
                     WHERE START_TIME >= '{lo}' AND START_TIME < '{hi}' GROUP BY 1, 2 ORDER BY 1, 2"
                ))
            })
            .await?;
        let queries = self
            .execute_statement(&SqlStatement {
                timeout: Some(Duration::from_secs(300)),
                ..SqlStatement::new(format!(
                    "SELECT DATE_TRUNC('HOUR', START_TIME) AS USAGE_HOUR, WAREHOUSE_NAME, \
                     EXECUTION_STATUS, COUNT(*) \
                     FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY \
                     WHERE START_TIME >= '{lo}' AND START_TIME < '{hi}' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                ))
            })
            .await?;
        usage_figures(&metering, &queries, &self.context("collect usage"))
    }
}

/// A `timestamp_ltz` / `timestamp_ntz` value as the SQL API sends it (`"<epoch seconds>.<nanos>"`,
/// a `timestamp_tz` with its offset after a space).
fn epoch_seconds(text: &str) -> Option<DateTime<Utc>> {
    let number = text.split_whitespace().next()?;
    let (secs, nanos) = match number.split_once('.') {
        Some((secs, frac)) => {
            let digits: String = frac.chars().take(9).collect();
            let scale = 10u32.pow(9 - digits.len() as u32);
            (
                secs.parse::<i64>().ok()?,
                digits.parse::<u32>().ok()? * scale,
            )
        }
        None => (number.parse::<i64>().ok()?, 0),
    };
    DateTime::from_timestamp(secs, nanos)
}

/// A time as a Snowflake timestamp literal (ISO 8601 with an offset).
fn literal(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A random (version 4) UUID for `requestId`.
fn request_id() -> String {
    let hex = format!("{:032x}", fastrand::u128(..));
    let variant = ["8", "9", "a", "b"][fastrand::usize(..4)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

// ---- answer parsing ----------------------------------------------------------------------------
//
// Pure readers of the platform's answers: the connector runs its answers through them, and the
// fuzz targets (fuzz/, through `crate::fuzzing`) feed them arbitrary ones.

/// A statement answer, read.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementAnswer {
    /// Running (a 202), or done with the rows of the first partition.
    pub progress: StatementProgress,
    /// How many partitions the result has (1 when the answer does not say; at most
    /// [`MAX_PARTITIONS`]).
    pub partitions: usize,
    /// Where to poll a running statement (`statementStatusUrl`, when it is under the
    /// statements API).
    pub status_url: Option<String>,
}

/// A statement answer: 202 (still running) or 200 (the result set's first partition). The
/// connection check reads its answer with it too.
pub fn parse_statement(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<StatementAnswer> {
    let answer: WireAnswer = response.json(context)?;
    if response.status == 202 {
        return Ok(StatementAnswer {
            progress: StatementProgress::Running {
                statement_id: answer.statement_handle,
            },
            partitions: 0,
            status_url: answer
                .statement_status_url
                .filter(|u| u.starts_with(STATEMENTS)),
        });
    }
    let meta = answer.result_set_meta_data.unwrap_or_default();
    let columns = meta
        .row_type
        .into_iter()
        .map(|c| ResultColumn {
            name: c.name,
            type_name: c.kind.unwrap_or_default(),
        })
        .collect();
    Ok(StatementAnswer {
        partitions: meta
            .partition_info
            .map_or(1, |p| p.len())
            .min(MAX_PARTITIONS),
        progress: StatementProgress::Done(QueryResult {
            statement_id: answer.statement_handle,
            columns,
            rows: answer.data,
        }),
        status_url: None,
    })
}

/// A further partition of a result: its rows.
pub fn parse_partition(
    response: &HttpResponse,
    context: &str,
) -> IntegrationResult<Vec<Vec<Option<String>>>> {
    response
        .json::<WirePartition>(context)
        .map(|part| part.data)
}

/// Usage figures from the two usage statements' results: credits per warehouse and hour
/// (`metering`: hour, warehouse, credits used, compute, cloud services) and queries per
/// warehouse, status and hour (`queries`: hour, warehouse, status, count). A row without a
/// readable hour is an `unexpected_response` naming it.
pub fn usage_figures(
    metering: &QueryResult,
    queries: &QueryResult,
    context: &str,
) -> IntegrationResult<Vec<UsageFigure>> {
    // The hour a row is about, as [start, end); an hour whose end is past the last instant
    // a timestamp can hold is no hour either.
    let hour_of = |result: &QueryResult, row: usize| {
        result
            .text(row, 0)
            .and_then(epoch_seconds)
            .and_then(|start| {
                Some((
                    start,
                    start.checked_add_signed(chrono::TimeDelta::hours(1))?,
                ))
            })
            .ok_or_else(|| {
                IntegrationError::new(
                    ErrorClass::UnexpectedResponse,
                    format!(
                        "{context}: row {row} has no hour (USAGE_HOUR {:?})",
                        result.text(row, 0).unwrap_or_default()
                    ),
                )
            })
    };
    let figure = |metric: &str,
                  unit: &str,
                  (start, end): (DateTime<Utc>, DateTime<Utc>),
                  value: f64,
                  dims: &[(&str, &str)]| {
        UsageFigure {
            metric: metric.into(),
            unit: unit.into(),
            value,
            period_start: start,
            period_end: end,
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    };
    let mut figures = Vec::new();
    for row in 0..metering.rows.len() {
        let hour = hour_of(metering, row)?;
        let warehouse = metering.text(row, 1).unwrap_or_default();
        for (column, metric) in [
            (2, "credits_used"),
            (3, "credits_used_compute"),
            (4, "credits_used_cloud_services"),
        ] {
            let value = metering.number(row, column).unwrap_or(0.0);
            figures.push(figure(
                metric,
                "credits",
                hour,
                value,
                &[("warehouse", warehouse)],
            ));
        }
    }
    for row in 0..queries.rows.len() {
        let hour = hour_of(queries, row)?;
        let warehouse = queries.text(row, 1).unwrap_or_default();
        let status = queries.text(row, 2).unwrap_or_default();
        let value = queries.number(row, 3).unwrap_or(0.0);
        let dims = [("warehouse", warehouse), ("status", status)];
        figures.push(figure("queries", "queries", hour, value, &dims));
        if status.eq_ignore_ascii_case("FAIL") {
            figures.push(figure("queries_failed", "queries", hour, value, &dims));
        }
    }
    Ok(figures)
}

// ---- wire types ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WireColumn {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireMeta {
    #[serde(default, rename = "rowType")]
    row_type: Vec<WireColumn>,
    #[serde(rename = "partitionInfo")]
    partition_info: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct WireAnswer {
    #[serde(rename = "statementHandle")]
    statement_handle: String,
    #[serde(rename = "statementStatusUrl")]
    statement_status_url: Option<String>,
    #[serde(rename = "resultSetMetaData")]
    result_set_meta_data: Option<WireMeta>,
    #[serde(default)]
    data: Vec<Vec<Option<String>>>,
}

#[derive(Deserialize)]
struct WirePartition {
    #[serde(default)]
    data: Vec<Vec<Option<String>>>,
}

#[async_trait]
impl Integration for SnowflakeConnector {
    fn kind(&self) -> PartnerKind {
        PartnerKind::Snowflake
    }

    fn capabilities(&self) -> Vec<String> {
        ["sql-statements", "warehouses", "usage"]
            .map(String::from)
            .to_vec()
    }

    async fn connect(&self) -> IntegrationResult<()> {
        self.execute_statement(&SqlStatement::new("SELECT CURRENT_ACCOUNT()"))
            .await
            .map(|_| ())
    }

    async fn disconnect(&self) -> IntegrationResult<()> {
        self.http.auth().invalidate().await;
        self.pending().clear();
        Ok(())
    }

    async fn test_connection(&self) -> ConnectionCheck {
        let started = Instant::now();
        let check = self
            .submit_call(
                "check connection",
                &SqlStatement {
                    timeout: Some(Duration::from_secs(30)),
                    ..SqlStatement::new("SELECT CURRENT_ACCOUNT()")
                },
            )
            .probe();
        let first = self.http.decode(&check, parse_statement).await.map(|_| ());
        let latency_ms = elapsed_ms(started);
        let more = if first.is_ok() {
            let show = self.submit_call(
                "check warehouses",
                &SqlStatement {
                    timeout: Some(Duration::from_secs(30)),
                    ..SqlStatement::new("SHOW WAREHOUSES")
                },
            );
            vec![probe(&self.http, "warehouses", show).await]
        } else {
            Vec::new()
        };
        assemble_check("sql-statements", first, latency_ms, more, self.slow_after)
    }

    /// `target` `sql`: the payload is a statement (a load: `COPY INTO`, `INSERT`), run to
    /// completion. The SQL API stages no files, so nothing else is accepted.
    async fn send_data(&self, payload: DataPayload) -> IntegrationResult<()> {
        if payload.target != "sql" {
            return Err(unsupported(
                &self.context("send data"),
                &format!(
                    "target {:?} (only \"sql\", a statement to run)",
                    payload.target
                ),
            ));
        }
        let sql = String::from_utf8(payload.bytes).map_err(|_| {
            IntegrationError::new(
                ErrorClass::InvalidRequest,
                format!("{}: the statement is not UTF-8", self.context("send data")),
            )
        })?;
        self.execute_statement(&SqlStatement::new(sql))
            .await
            .map(|_| ())
    }

    /// `source` `sql` with param `statement`: the result as JSON ([`QueryResult`]).
    async fn receive_data(&self, request: DataRequest) -> IntegrationResult<Vec<u8>> {
        let Some(sql) = request
            .params
            .get("statement")
            .filter(|_| request.source == "sql")
        else {
            return Err(unsupported(
                &self.context("receive data"),
                &format!(
                    "source {:?} (only \"sql\" with a `statement` param)",
                    request.source
                ),
            ));
        };
        let result = self
            .execute_statement(&SqlStatement::new(sql.clone()))
            .await?;
        serde_json::to_vec(&result)
            .map_err(|e| IntegrationError::new(ErrorClass::UnexpectedResponse, e.to_string()))
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
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>> {
        self.usage(from, to).await
    }
}

#[async_trait]
impl DataPlatform for SnowflakeConnector {
    async fn submit_statement(
        &self,
        statement: &SqlStatement,
    ) -> IntegrationResult<StatementProgress> {
        let response = self
            .http
            .execute(&self.submit_call("submit statement", statement))
            .await?;
        self.progress(response).await
    }

    /// Polls the statement's `statementStatusUrl` (its handle's path when it is not known).
    async fn poll_statement(&self, statement_id: &str) -> IntegrationResult<StatementProgress> {
        let url = self.pending().get(statement_id).cloned();
        let mut call = Call::get("poll statement", format!("{STATEMENTS}/{statement_id}"));
        if let Some(url) = url {
            let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
            call = Call::get("poll statement", path);
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                call = call.query(key, value);
            }
        }
        let response = self.http.execute(&call).await.inspect_err(|_| {
            self.pending().remove(statement_id);
        })?;
        self.progress(response).await
    }

    async fn cancel_statement(&self, statement_id: &str) -> IntegrationResult<()> {
        let call = Call::new(
            "cancel statement",
            reqwest::Method::POST,
            format!("{STATEMENTS}/{statement_id}/cancel"),
        )
        .idempotent();
        self.http.execute(&call).await?;
        self.pending().remove(statement_id);
        Ok(())
    }

    async fn put_file(
        &self,
        _path: &str,
        _bytes: &[u8],
        _overwrite: bool,
    ) -> IntegrationResult<()> {
        Err(unsupported(
            &self.context("put file"),
            "staging files (PUT) through the SQL API",
        ))
    }

    async fn read_file(&self, _path: &str) -> IntegrationResult<Vec<u8>> {
        Err(unsupported(
            &self.context("read file"),
            "reading staged files (GET) through the SQL API",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_whose_end_no_timestamp_holds_is_refused_naming_the_row() {
        let row = |hour: &str| vec![Some(hour.to_string()), Some("COMPUTE_WH".into())];
        let metering = QueryResult {
            statement_id: "01b2".into(),
            columns: Vec::new(),
            rows: vec![row("1795651200.000000000"), row("8210266876799.000000000")],
        };
        let none = QueryResult {
            rows: Vec::new(),
            ..metering.clone()
        };
        let error = usage_figures(&metering, &none, "acme collect usage")
            .expect_err("the last hour a timestamp holds has no end");
        assert_eq!(error.class, ErrorClass::UnexpectedResponse);
        assert!(
            error
                .message
                .starts_with("acme collect usage: row 1 has no hour")
                && error.message.contains("8210266876799"),
            "{}",
            error.message
        );
        let fine = QueryResult {
            rows: vec![row("1795651200.000000000")],
            ..metering
        };
        let figures = usage_figures(&fine, &none, "acme collect usage").unwrap_or_default();
        assert_eq!(figures.len(), 3, "three credit figures for the hour");
        assert!(figures
            .iter()
            .all(|f| f.period_end - f.period_start == chrono::TimeDelta::hours(1)));
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        for _ in 0..50 {
            let id = request_id();
            let ok = id.len() == 36
                && id.chars().enumerate().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
                && id.as_bytes()[14] == b'4';
            assert!(ok, "{id} is not a v4 UUID");
        }
    }

    #[test]
    fn timestamps_are_read_from_epoch_seconds() {
        let t = epoch_seconds("1764151200.000000000").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2025-11-26T10:00:00+00:00"));
        let t = epoch_seconds("1764151200.5 1440").map(|t| t.timestamp_subsec_millis());
        assert_eq!(t, Some(500), "a fraction and a timestamp_tz offset");
        assert_eq!(epoch_seconds("soon"), None);
    }

    #[test]
    fn timestamp_literals_carry_an_offset() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            literal(t),
            "2026-11-26T10:00:00+00:00",
            "ISO 8601 with offset"
        );
    }
}
