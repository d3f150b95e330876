//! Databricks workspace simulator. Shapes follow the Databricks SDK models (databricks-sdk
//! 0.162.0, as summarised in PLATFORMS.md §1), the official Jobs 2.1 OpenAPI
//! (`specs/databricks/jobs-2.1-azure.official-2023-03.yaml`: `JobsList`, `JobsRunsList`,
//! `JobsRunNow`) and the doc-derived stackql specs (`compute.yaml` ClustersList,
//! `dbsql.yaml` warehouses and statement execution, `filemanagement.yaml` DBFS put/read,
//! `iam.yaml` SCIM Me).
//!
//! Auth: `Authorization: Bearer <PAT or OAuth token>` on every `/api/` route; OAuth M2M tokens
//! come from `POST /oidc/v1/token` (HTTP Basic client id/secret, form
//! `grant_type=client_credentials&scope=all-apis`). Missing credentials → 401, a bad token →
//! 403 `{"error_code": 403, "message": "Invalid access token."}` with
//! `X-Databricks-Reason-Phrase`. Other errors are `{"error_code": "<CODE>", "message"}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::check::{self, Kind, Query};
use crate::clock::SharedClock;
use crate::config::{DatabricksConfig, SimConfig};
use crate::errors::ApiError;
use crate::{Platform, SimError};

const P: Platform = Platform::Databricks;
const MAX_DBFS_BLOCK: usize = 1024 * 1024;

type ApiResult = Result<Json<Value>, ApiError>;

/// Columns as (name, type) and rows of a statement result.
type SqlResult = (Vec<(&'static str, &'static str)>, Vec<Vec<String>>);

fn err(status: u16, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        status,
        json!({"error_code": code, "message": message.into()}),
    )
}

fn bad(detail: String) -> ApiError {
    P.bad_request(&detail)
}

#[derive(Debug, Clone)]
struct Run {
    run_id: i64,
    job_id: i64,
    run_name: String,
    start_ms: i64,
    /// Seeded history: (end time, result state). Runs from run-now progress with the clock.
    finished: Option<(i64, &'static str)>,
    trigger: &'static str,
}

#[derive(Debug, Clone)]
struct Statement {
    id: String,
    created_ms: i64,
    ready_ms: i64,
    canceled: bool,
    outcome: Result<SqlResult, String>,
}

#[derive(Debug)]
struct Db {
    cfg: DatabricksConfig,
    clock: SharedClock,
    jobs: Vec<(i64, String, i64)>,
    runs: Mutex<Vec<Run>>,
    next_run_id: AtomicI64,
    dbfs: Mutex<BTreeMap<String, (Vec<u8>, i64)>>,
    statements: Mutex<HashMap<String, Statement>>,
    oauth: Mutex<HashMap<String, i64>>,
    seeded_at: i64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Databricks router.
pub(crate) fn router(config: &SimConfig) -> Result<Router, SimError> {
    let now = config.clock.now_ms();
    let jobs: Vec<(i64, String, i64)> = (0..30)
        .map(|i| {
            (
                1_000 + i,
                format!("sim-job-{i:02}"),
                now - (30 - i) * 86_400_000,
            )
        })
        .collect();
    // 60 finished runs over the last 5 days, two per hour-ish, deterministic.
    let runs = (0..60)
        .map(|i| {
            let job_id = 1_000 + (i % 10);
            let start = now - 5 * 86_400_000 + i * 7_200_000;
            let result = if i % 7 == 3 { "FAILED" } else { "SUCCESS" };
            Run {
                run_id: 50_000 + i,
                job_id,
                run_name: format!("sim-job-{:02}", i % 10),
                start_ms: start,
                finished: Some((start + 600_000 + (i % 5) * 60_000, result)),
                trigger: "PERIODIC",
            }
        })
        .collect();
    let db = Arc::new(Db {
        cfg: config.databricks.clone(),
        clock: config.clock.clone(),
        jobs,
        runs: Mutex::new(runs),
        next_run_id: AtomicI64::new(60_000),
        dbfs: Mutex::new(BTreeMap::new()),
        statements: Mutex::new(HashMap::new()),
        oauth: Mutex::new(HashMap::new()),
        seeded_at: now,
    });
    let api = Router::new()
        .route("/api/2.0/preview/scim/v2/Me", get(scim_me))
        .route("/api/2.0/clusters/list", get(clusters_list))
        .route("/api/2.1/clusters/list", get(clusters_list))
        .route("/api/2.1/jobs/list", get(jobs_list))
        .route("/api/2.2/jobs/list", get(jobs_list))
        .route("/api/2.1/jobs/runs/list", get(runs_list))
        .route("/api/2.2/jobs/runs/list", get(runs_list))
        .route("/api/2.1/jobs/runs/get", get(runs_get))
        .route("/api/2.2/jobs/runs/get", get(runs_get))
        .route("/api/2.1/jobs/run-now", post(run_now))
        .route("/api/2.2/jobs/run-now", post(run_now))
        .route("/api/2.0/sql/warehouses", get(warehouses))
        .route("/api/2.0/dbfs/put", post(dbfs_put))
        .route("/api/2.0/dbfs/read", get(dbfs_read))
        .route("/api/2.0/dbfs/get-status", get(dbfs_status))
        .route("/api/2.0/sql/statements", post(statement_submit))
        .route("/api/2.0/sql/statements/{id}", get(statement_get))
        .route(
            "/api/2.0/sql/statements/{id}/cancel",
            post(statement_cancel),
        )
        .route_layer(axum::middleware::from_fn_with_state(db.clone(), auth));
    Ok(Router::new()
        .merge(api)
        .route("/oidc/v1/token", post(oauth_token))
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(oidc_discovery),
        )
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(db))
}

async fn unknown_path() -> ApiError {
    bad("unknown path: not a Databricks REST endpoint the simulator serves".into())
}

async fn wrong_method(method: Method) -> ApiError {
    bad(format!("method {method} is not allowed on this path"))
}

async fn auth(State(db): State<Arc<Db>>, req: Request, next: Next) -> Response {
    let reason = match check::bearer(req.headers()) {
        None => {
            return ApiError::new(
                401,
                json!({"error_code": 401, "message": "Credential was not sent or was of an unsupported type for this API."}),
            )
            .header("x-databricks-reason-phrase", "Credential was not sent or was of an unsupported type for this API.")
            .into_response();
        }
        Some(token) if db.cfg.tokens.iter().any(|t| t == token) => None,
        Some(token) => match lock(&db.oauth).get(token) {
            Some(expiry) if *expiry > db.clock.now_ms() => None,
            Some(_) => Some("OAuth access token expired"),
            None => Some("token not configured"),
        },
    };
    if let Some(reason) = reason {
        return ApiError::new(
            403,
            json!({"error_code": 403, "message": "Invalid access token."}),
        )
        .header("x-databricks-reason-phrase", "Invalid access token.")
        .header("x-partner-sim-reason", reason)
        .into_response();
    }
    next.run(req).await
}

/// `POST /oidc/v1/token` (OAuth 2.0 client credentials, RFC 6749 §4.4; errors per §5.2).
async fn oauth_token(State(db): State<Arc<Db>>, headers: HeaderMap, body: Bytes) -> Response {
    let oauth_err = |status: u16, error: &str, description: String| {
        ApiError::new(
            status,
            json!({"error": error, "error_description": description}),
        )
        .into_response()
    };
    let ctype = check::header(&headers, "content-type").unwrap_or_default();
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return oauth_err(
            400,
            "invalid_request",
            crate::errors::violation_message(
                "header Content-Type: expected application/x-www-form-urlencoded",
            ),
        );
    }
    let form = Query::parse(std::str::from_utf8(&body).ok());
    let basic = check::header(&headers, "authorization").and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        // RFC 6749 §2.3.1: each is form-urlencoded before the pair is base64-encoded.
        Some((form_decoded(id), form_decoded(secret)))
    });
    let creds = basic.or_else(|| {
        Some((
            form.get("client_id")?.to_string(),
            form.get("client_secret")?.to_string(),
        ))
    });
    match form.get("grant_type") {
        None => {
            return oauth_err(
                400,
                "invalid_request",
                crate::errors::violation_message("form field `grant_type`: required, missing"),
            )
        }
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_err(
                400,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use client_credentials"),
            )
        }
    }
    match creds {
        Some((id, secret))
            if id == db.cfg.oauth_client_id && secret == db.cfg.oauth_client_secret => {}
        _ => return oauth_err(401, "invalid_client", "Client authentication failed".into()),
    }
    let scope = form.get("scope").unwrap_or("all-apis").to_string();
    let token = format!("dsim-oauth-{}", check::uuid().replace('-', ""));
    let ttl = db.cfg.oauth_token_ttl_s.max(1);
    lock(&db.oauth).insert(token.clone(), db.clock.now_ms() + ttl * 1000);
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}))
        .into_response()
}

async fn oidc_discovery(headers: HeaderMap) -> Json<Value> {
    let host = check::header(&headers, "host").unwrap_or("localhost");
    let base = format!("http://{host}/oidc");
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/v1/authorize"),
        "token_endpoint": format!("{base}/v1/token"),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "scopes_supported": ["all-apis", "offline_access"],
    }))
}

/// SDK `iam.User` (`GET /api/2.0/preview/scim/v2/Me`).
async fn scim_me(State(db): State<Arc<Db>>) -> Json<Value> {
    let user = &db.cfg.user_name;
    Json(json!({
        "id": "7340001234567890",
        "userName": user,
        "displayName": "Partner Sim User",
        "active": true,
        "emails": [{"value": user, "type": "work", "primary": true}],
        "groups": [{"display": "admins", "value": "1010", "$ref": "Groups/1010"}],
        "entitlements": [{"value": "workspace-access"}, {"value": "databricks-sql-access"}],
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"],
    }))
}

fn clusters(now: i64) -> Vec<Value> {
    let states = [
        "RUNNING",
        "TERMINATED",
        "RUNNING",
        "PENDING",
        "TERMINATED",
        "RUNNING",
        "ERROR",
    ];
    states
        .iter()
        .enumerate()
        .map(|(i, state)| {
            let mut c = json!({
                "cluster_id": format!("0101-0000{i:02}-simclu{i}"),
                "cluster_name": format!("sim-cluster-{i}"),
                "spark_version": "15.4.x-scala2.12",
                "node_type_id": "i3.xlarge",
                "driver_node_type_id": "i3.xlarge",
                "state": state,
                "state_message": "",
                "creator_user_name": "sim-user@example.com",
                "cluster_source": if i % 2 == 0 { "UI" } else { "JOB" },
                "start_time": now - (i as i64 + 1) * 3_600_000,
                "default_tags": {"Vendor": "Databricks", "Creator": "sim-user@example.com", "ClusterName": format!("sim-cluster-{i}")},
                "custom_tags": {"team": "ml"},
                "data_security_mode": "SINGLE_USER",
            });
            if i % 3 == 0 {
                c["autoscale"] = json!({"min_workers": 1, "max_workers": 4});
            } else {
                c["num_workers"] = json!(i + 1);
            }
            if *state == "TERMINATED" {
                c["terminated_time"] = json!(now - 600_000);
                c["termination_reason"] = json!({"code": "INACTIVITY", "type": "SUCCESS", "parameters": {"inactivity_duration_min": "60"}});
            }
            c
        })
        .collect()
}

fn page(total: usize, offset: usize, size: usize) -> (usize, usize, bool) {
    let start = offset.min(total);
    let end = (start + size).min(total);
    (start, end, end < total)
}

/// `GET /api/2.1/clusters/list` (`page_size`, `page_token`; 2.0 serves the same).
async fn clusters_list(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let all = clusters(db.seeded_at);
    let size = match q.int("page_size").map_err(bad)? {
        None => all.len().max(1),
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(bad(format!(
                "query parameter `page_size`: {n} is outside 1..=100"
            )))
        }
    };
    let offset = check::page_offset("clusters", "page_token", q.get("page_token")).map_err(bad)?;
    let (start, end, more) = page(all.len(), offset, size);
    let mut out = json!({"clusters": all[start..end]});
    if more {
        out["next_page_token"] = json!(check::page_token("clusters", end));
    }
    if start > 0 {
        out["prev_page_token"] = json!(check::page_token("clusters", start.saturating_sub(size)));
    }
    Ok(Json(out))
}

/// `GET /api/2.2/jobs/list` (`limit` 1..=100, default 20; `page_token`; `name`; `expand_tasks`).
async fn jobs_list(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let limit = match q.int("limit").map_err(bad)? {
        None => 20,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(bad(format!(
                "query parameter `limit`: {n} is outside 1..=100"
            )))
        }
    };
    let expand = q.bool("expand_tasks").map_err(bad)?.unwrap_or(false);
    let offset = match q.int("offset").map_err(bad)? {
        Some(o) if o >= 0 => o as usize,
        Some(o) => return Err(bad(format!("query parameter `offset`: {o} is negative"))),
        None => check::page_offset("jobs", "page_token", q.get("page_token")).map_err(bad)?,
    };
    let jobs: Vec<&(i64, String, i64)> = db
        .jobs
        .iter()
        .filter(|(_, name, _)| q.get("name").is_none_or(|n| n.eq_ignore_ascii_case(name)))
        .collect();
    let (start, end, more) = page(jobs.len(), offset, limit);
    let list: Vec<Value> = jobs[start..end]
        .iter()
        .map(|(id, name, created)| {
            let mut settings = json!({
                "name": name,
                "max_concurrent_runs": 1,
                "timeout_seconds": 0,
                "email_notifications": {},
                "format": "MULTI_TASK",
                "schedule": {"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC", "pause_status": "UNPAUSED"},
            });
            if expand {
                settings["tasks"] = json!([{"task_key": "train", "notebook_task": {"notebook_path": format!("/Repos/sim/{name}")}}]);
            }
            json!({"job_id": id, "creator_user_name": "sim-user@example.com", "created_time": created, "settings": settings})
        })
        .collect();
    let mut out = json!({"jobs": list, "has_more": more});
    if more {
        out["next_page_token"] = json!(check::page_token("jobs", end));
    }
    if start > 0 {
        out["prev_page_token"] = json!(check::page_token("jobs", start.saturating_sub(limit)));
    }
    Ok(Json(out))
}

impl Db {
    fn run_json(&self, run: &Run, now: i64) -> Value {
        let step = self.cfg.run_step_ms.max(1);
        let (life, result, end) = match run.finished {
            Some((end, result)) => ("TERMINATED", Some(result), end),
            None if now < run.start_ms + step => ("PENDING", None, 0),
            None if now < run.start_ms + 3 * step => ("RUNNING", None, 0),
            None => ("TERMINATED", Some("SUCCESS"), run.start_ms + 3 * step),
        };
        let mut state = json!({"life_cycle_state": life, "state_message": "", "user_cancelled_or_timedout": false});
        let mut status = json!({"state": life});
        if let Some(result) = result {
            state["result_state"] = json!(result);
            status["termination_details"] = json!({"code": result, "type": if result == "SUCCESS" { "SUCCESS" } else { "CLIENT_ERROR" }, "message": ""});
        }
        let duration = if end > 0 { end - run.start_ms } else { 0 };
        json!({
            "run_id": run.run_id,
            "job_id": run.job_id,
            "number_in_job": run.run_id,
            "run_name": run.run_name,
            "run_type": "JOB_RUN",
            "trigger": run.trigger,
            "creator_user_name": "sim-user@example.com",
            "state": state,
            "status": status,
            "start_time": run.start_ms,
            "end_time": end,
            "setup_duration": 0,
            "execution_duration": duration,
            "cleanup_duration": 0,
            "run_duration": duration,
            "run_page_url": format!("https://sim.cloud.databricks.com/#job/{}/run/{}", run.job_id, run.run_id),
        })
    }
}

/// `GET /api/2.2/jobs/runs/list`: newest first; `job_id`, `active_only`, `completed_only`,
/// `start_time_from`/`start_time_to` (ms, inclusive), `limit` 1..=25 (default 20), `page_token`.
async fn runs_list(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let limit = match q.int("limit").map_err(bad)? {
        None => 20,
        Some(n) if (1..=25).contains(&n) => n as usize,
        Some(n) => {
            return Err(bad(format!(
                "query parameter `limit`: {n} is outside 1..=25"
            )))
        }
    };
    let active_only = q.bool("active_only").map_err(bad)?.unwrap_or(false);
    let completed_only = q.bool("completed_only").map_err(bad)?.unwrap_or(false);
    if active_only && completed_only {
        return Err(bad(
            "query parameters `active_only` and `completed_only` cannot both be true".into(),
        ));
    }
    let job_id = q.int("job_id").map_err(bad)?;
    let from = q.int("start_time_from").map_err(bad)?;
    let to = q.int("start_time_to").map_err(bad)?;
    let offset = check::page_offset("runs", "page_token", q.get("page_token")).map_err(bad)?;
    let now = db.clock.now_ms();
    let mut runs: Vec<Value> = lock(&db.runs)
        .iter()
        .filter(|r| job_id.is_none_or(|j| r.job_id == j))
        .filter(|r| from.is_none_or(|f| r.start_ms >= f) && to.is_none_or(|t| r.start_ms <= t))
        .map(|r| db.run_json(r, now))
        .filter(|r| {
            let terminated = r["state"]["life_cycle_state"] == "TERMINATED";
            !(active_only && terminated || completed_only && !terminated)
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse((r["start_time"].as_i64(), r["run_id"].as_i64())));
    let (start, end, more) = page(runs.len(), offset, limit);
    let mut out = json!({"runs": runs[start..end], "has_more": more});
    if more {
        out["next_page_token"] = json!(check::page_token("runs", end));
    }
    if start > 0 {
        out["prev_page_token"] = json!(check::page_token("runs", start.saturating_sub(limit)));
    }
    Ok(Json(out))
}

/// `GET /api/2.2/jobs/runs/get?run_id=`.
async fn runs_get(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let id = q
        .int("run_id")
        .map_err(bad)?
        .ok_or_else(|| bad("query parameter `run_id`: required, missing".into()))?;
    let now = db.clock.now_ms();
    let runs = lock(&db.runs);
    let run = runs.iter().find(|r| r.run_id == id).ok_or_else(|| {
        err(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Run {id} does not exist."),
        )
    })?;
    Ok(Json(db.run_json(run, now)))
}

/// `POST /api/2.2/jobs/run-now` `{"job_id": <int>, ...}` → `{"run_id", "number_in_job"}`.
async fn run_now(State(db): State<Arc<Db>>, body: Bytes) -> ApiResult {
    let body = check::json_object(&body).map_err(bad)?;
    let job_id = check::field(&body, "body", "job_id", Kind::Integer, true)
        .map_err(bad)?
        .and_then(Value::as_i64)
        .unwrap_or_default();
    for key in [
        "job_parameters",
        "notebook_params",
        "python_named_params",
        "sql_params",
    ] {
        check::field(&body, "body", key, Kind::Object, false).map_err(bad)?;
    }
    check::field(&body, "body", "idempotency_token", Kind::String, false).map_err(bad)?;
    let Some((_, name, _)) = db.jobs.iter().find(|(id, _, _)| *id == job_id) else {
        return Err(err(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Job {job_id} does not exist."),
        ));
    };
    let run_id = db.next_run_id.fetch_add(1, Ordering::SeqCst);
    lock(&db.runs).push(Run {
        run_id,
        job_id,
        run_name: name.clone(),
        start_ms: db.clock.now_ms(),
        finished: None,
        trigger: "ONE_TIME",
    });
    tracing::info!(run_id, job_id, "databricks run created");
    Ok(Json(json!({"run_id": run_id, "number_in_job": run_id})))
}

/// `GET /api/2.0/sql/warehouses`.
async fn warehouses() -> Json<Value> {
    let list: Vec<Value> = [
        ("Starter Warehouse", "Small", "RUNNING", true),
        ("BI Warehouse", "Medium", "STOPPED", false),
        ("ETL Warehouse", "Large", "RUNNING", false),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, size, state, serverless))| {
        json!({
            "id": format!("simwh{i:011}"),
            "name": name,
            "cluster_size": size,
            "state": state,
            "num_clusters": if *state == "RUNNING" { 1 } else { 0 },
            "min_num_clusters": 1,
            "max_num_clusters": 2,
            "auto_stop_mins": 10,
            "enable_serverless_compute": serverless,
            "warehouse_type": "PRO",
            "creator_name": "sim-user@example.com",
            "spot_instance_policy": "COST_OPTIMIZED",
        })
    })
    .collect();
    Json(json!({"warehouses": list}))
}

fn dbfs_path(path: &str, what: &str) -> Result<String, ApiError> {
    if !path.starts_with('/') {
        return Err(bad(format!(
            "{what}: {path:?} is not an absolute DBFS path"
        )));
    }
    Ok(path.trim_end_matches('/').to_string())
}

/// `POST /api/2.0/dbfs/put` `{"path", "contents": base64 ≤ 1 MB, "overwrite"}` → `{}`.
async fn dbfs_put(State(db): State<Arc<Db>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    if check::header(&headers, "content-type").is_some_and(|c| c.starts_with("multipart/")) {
        return Err(bad(
            "body: multipart uploads are not simulated; send JSON with base64 `contents`".into(),
        ));
    }
    let body = check::json_object(&body).map_err(bad)?;
    let path = dbfs_path(
        check::req_str(&body, "body", "path").map_err(bad)?,
        "body.path",
    )?;
    let contents = check::req_str(&body, "body", "contents").map_err(bad)?;
    let overwrite = check::opt_bool(&body, "body", "overwrite")
        .map_err(bad)?
        .unwrap_or(false);
    let data = base64::engine::general_purpose::STANDARD
        .decode(contents)
        .map_err(|e| bad(format!("body.contents: not valid base64 ({e})")))?;
    if data.len() > MAX_DBFS_BLOCK {
        return Err(err(
            400,
            "MAX_BLOCK_SIZE_EXCEEDED",
            format!(
                "The contents are {} bytes; put accepts at most 1 MB. Use create/add-block/close.",
                data.len()
            ),
        ));
    }
    let mut files = lock(&db.dbfs);
    if files.contains_key(&path) && !overwrite {
        return Err(err(
            400,
            "RESOURCE_ALREADY_EXISTS",
            format!("A file or directory already exists at the input path {path}."),
        ));
    }
    files.insert(path, (data, db.clock.now_ms()));
    Ok(Json(json!({})))
}

fn missing(path: &str) -> ApiError {
    err(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("No file or directory exists on path {path}."),
    )
}

/// `GET /api/2.0/dbfs/read?path=&offset=&length=` → `{"bytes_read", "data": base64}`.
async fn dbfs_read(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let path = dbfs_path(q.required("path").map_err(bad)?, "query parameter `path`")?;
    let offset = q.int("offset").map_err(bad)?.unwrap_or(0);
    let length = q
        .int("length")
        .map_err(bad)?
        .unwrap_or(MAX_DBFS_BLOCK as i64);
    if offset < 0 || length < 0 {
        return Err(bad(
            "query parameters `offset` and `length` must not be negative".into(),
        ));
    }
    if length as usize > MAX_DBFS_BLOCK {
        return Err(err(
            400,
            "MAX_READ_SIZE_EXCEEDED",
            format!("Cannot read more than 1 MB at a time; length was {length}."),
        ));
    }
    let files = lock(&db.dbfs);
    let (data, _) = files.get(&path).ok_or_else(|| missing(&path))?;
    let start = (offset as usize).min(data.len());
    let end = (start + length as usize).min(data.len());
    Ok(Json(json!({
        "bytes_read": end - start,
        "data": base64::engine::general_purpose::STANDARD.encode(&data[start..end]),
    })))
}

/// `GET /api/2.0/dbfs/get-status?path=`.
async fn dbfs_status(State(db): State<Arc<Db>>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let path = dbfs_path(q.required("path").map_err(bad)?, "query parameter `path`")?;
    let files = lock(&db.dbfs);
    let (data, modified) = files.get(&path).ok_or_else(|| missing(&path))?;
    Ok(Json(
        json!({"path": path, "is_dir": false, "file_size": data.len(), "modification_time": modified}),
    ))
}

const BILLING_SKUS: [&str; 3] = [
    "PREMIUM_ALL_PURPOSE_COMPUTE",
    "PREMIUM_JOBS_COMPUTE",
    "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA",
];

/// Recognises the statements the connectors send: `system.billing.usage` queries (30 days ×
/// 3 SKUs of `usage_date, sku_name, usage_quantity`) and `SELECT 1`.
fn run_sql(sql: &str, now_ms: i64) -> Result<SqlResult, String> {
    let lower = sql.to_ascii_lowercase();
    if lower.contains("system.billing.usage") {
        let today = Utc
            .timestamp_millis_opt(now_ms)
            .single()
            .unwrap_or_default()
            .date_naive();
        let mut rows = Vec::new();
        for back in (0..30).rev() {
            let day = today - Duration::days(back);
            for sku in BILLING_SKUS {
                let q = 5.0 + 95.0 * check::unit(&format!("{day}/{sku}"));
                rows.push(vec![day.to_string(), sku.to_string(), format!("{q:.6}")]);
            }
        }
        return Ok((
            vec![
                ("usage_date", "DATE"),
                ("sku_name", "STRING"),
                ("usage_quantity", "DECIMAL"),
            ],
            rows,
        ));
    }
    let trimmed = lower.trim().trim_end_matches(';').trim();
    if trimmed == "select 1" {
        return Ok((vec![("1", "INT")], vec![vec!["1".into()]]));
    }
    Err(format!("[TABLE_OR_VIEW_NOT_FOUND] partner-sim recognises only system.billing.usage queries and SELECT 1; got: {sql}"))
}

/// `POST /api/2.0/sql/statements` `{"warehouse_id", "statement", "wait_timeout", "format", "disposition"}`.
async fn statement_submit(State(db): State<Arc<Db>>, body: Bytes) -> ApiResult {
    let body = check::json_object(&body).map_err(bad)?;
    let statement = check::req_str(&body, "body", "statement").map_err(bad)?;
    let warehouse = check::req_str(&body, "body", "warehouse_id").map_err(bad)?;
    let wait = check::opt_str(&body, "body", "wait_timeout")
        .map_err(bad)?
        .unwrap_or("10s");
    let wait_s: i64 = wait
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .filter(|n| *n == 0 || (5..=50).contains(n))
        .ok_or_else(|| {
            bad(format!(
                "body.wait_timeout: {wait:?} must be \"0s\" or between \"5s\" and \"50s\""
            ))
        })?;
    if let Some(f) = check::opt_str(&body, "body", "format").map_err(bad)? {
        if !["JSON_ARRAY", "ARROW_STREAM", "CSV"].contains(&f) {
            return Err(bad(format!(
                "body.format: {f:?} is not one of JSON_ARRAY, ARROW_STREAM, CSV"
            )));
        }
        if f != "JSON_ARRAY" {
            return Err(bad(format!(
                "body.format: {f:?} is valid but not simulated; use JSON_ARRAY"
            )));
        }
    }
    if let Some(d) = check::opt_str(&body, "body", "disposition").map_err(bad)? {
        if !["INLINE", "EXTERNAL_LINKS"].contains(&d) {
            return Err(bad(format!(
                "body.disposition: {d:?} is not one of INLINE, EXTERNAL_LINKS"
            )));
        }
    }
    for key in ["catalog", "schema", "on_wait_timeout", "byte_limit"] {
        let kind = if key == "byte_limit" {
            Kind::Integer
        } else {
            Kind::String
        };
        check::field(&body, "body", key, kind, false).map_err(bad)?;
    }
    check::field(&body, "body", "parameters", Kind::Array, false).map_err(bad)?;
    if !(0..3).any(|i| warehouse == format!("simwh{i:011}")) {
        return Err(err(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("SQL warehouse {warehouse} does not exist."),
        ));
    }
    let now = db.clock.now_ms();
    let stmt = Statement {
        id: format!("01ef{}", check::uuid().replace('-', "")),
        created_ms: now,
        ready_ms: if wait_s == 0 {
            now + db.cfg.statement_step_ms.max(1)
        } else {
            now
        },
        canceled: false,
        outcome: run_sql(statement, now),
    };
    let out = statement_json(&stmt, now);
    lock(&db.statements).insert(stmt.id.clone(), stmt);
    Ok(Json(out))
}

fn statement_json(s: &Statement, now: i64) -> Value {
    if s.canceled {
        return json!({"statement_id": s.id, "status": {"state": "CANCELED"}});
    }
    if now < s.ready_ms {
        let state = if now < s.created_ms + (s.ready_ms - s.created_ms) / 2 {
            "PENDING"
        } else {
            "RUNNING"
        };
        return json!({"statement_id": s.id, "status": {"state": state}});
    }
    match &s.outcome {
        Err(message) => json!({
            "statement_id": s.id,
            "status": {"state": "FAILED", "error": {"error_code": "BAD_REQUEST", "message": message}, "sql_state": "42P01"},
        }),
        Ok((columns, rows)) => json!({
            "statement_id": s.id,
            "status": {"state": "SUCCEEDED"},
            "manifest": {
                "format": "JSON_ARRAY",
                "schema": {
                    "column_count": columns.len(),
                    "columns": columns.iter().enumerate().map(|(i, (name, ty))| json!({"name": name, "type_text": ty, "type_name": ty, "position": i})).collect::<Vec<_>>(),
                },
                "total_chunk_count": 1,
                "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": rows.len()}],
                "total_row_count": rows.len(),
                "truncated": false,
            },
            "result": {"chunk_index": 0, "row_offset": 0, "row_count": rows.len(), "data_array": rows},
        }),
    }
}

/// `GET /api/2.0/sql/statements/{id}`.
async fn statement_get(State(db): State<Arc<Db>>, Path(id): Path<String>) -> ApiResult {
    let statements = lock(&db.statements);
    let s = statements.get(&id).ok_or_else(|| {
        err(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("Statement {id} does not exist."),
        )
    })?;
    Ok(Json(statement_json(s, db.clock.now_ms())))
}

/// `POST /api/2.0/sql/statements/{id}/cancel` → `{}`.
async fn statement_cancel(State(db): State<Arc<Db>>, Path(id): Path<String>) -> ApiResult {
    let mut statements = lock(&db.statements);
    let s = statements.get_mut(&id).ok_or_else(|| {
        err(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("Statement {id} does not exist."),
        )
    })?;
    if db.clock.now_ms() < s.ready_ms {
        s.canceled = true;
    }
    Ok(Json(json!({})))
}

/// One form-urlencoded value, decoded (`+` is a space, `%2F` a slash).
fn form_decoded(text: &str) -> String {
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
