//! Kubeflow Pipelines v2beta1 simulator (`specs/kubeflow-pipelines/run.swagger.json`
//! RunService_{ListRuns,CreateRun,GetRun,TerminateRun}, `experiment.swagger.json`
//! ExperimentService_{ListExperiments,CreateExperiment}, `pipeline.swagger.json`
//! PipelineService_ListPipelines, `healthz.swagger.json`, `filter.swagger.json`).
//! JSON uses proto snake_case names with zero values omitted.
//!
//! Lists take `page_size` (default 20, capped at 200), `page_token`, `sort_by`
//! (`"<field> [desc]"`) and `filter` (URL-encoded JSON `{"predicates":[{"key","operation",
//! "string_value"|"int_value"|"long_value"|"timestamp_value"|"string_values"...}]}`) and answer
//! `total_size` and `next_page_token`. Auth: `Authorization: Bearer <token>` on everything but
//! healthz; errors are `googlerpcStatus` `{code, message, details}`.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::check::{self, Kind, Query};
use crate::clock::SharedClock;
use crate::config::{KubeflowConfig, SimConfig};
use crate::errors::ApiError;
use crate::{Platform, SimError};

const P: Platform = Platform::Kubeflow;

fn bad(detail: String) -> ApiError {
    P.bad_request(&detail)
}

fn status(http: u16, code: i64, message: impl Into<String>) -> ApiError {
    ApiError::new(
        http,
        json!({"code": code, "message": message.into(), "details": []}),
    )
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, Clone)]
struct Run {
    id: String,
    display_name: String,
    experiment_id: String,
    pipeline_version_reference: Option<Value>,
    runtime_config: Option<Value>,
    created_ms: i64,
    /// Seeded history: final state and finish time.
    fixed: Option<(&'static str, i64)>,
    terminated_ms: Option<i64>,
}

#[derive(Debug)]
struct Kfp {
    cfg: KubeflowConfig,
    clock: SharedClock,
    runs: Mutex<Vec<Run>>,
    experiments: Mutex<Vec<Value>>,
    pipelines: Vec<Value>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Kubeflow Pipelines router.
pub(crate) fn router(config: &SimConfig) -> Result<Router, SimError> {
    let now = config.clock.now_ms();
    let experiments: Vec<Value> = ["Default", "churn-model", "recsys"]
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"experiment_id": format!("00000000-0000-4000-8000-00000000e00{i}"), "display_name": name, "description": format!("{name} experiments"), "created_at": rfc3339(now - (90 - i as i64) * 86_400_000), "storage_state": "AVAILABLE", "namespace": "kubeflow"}))
        .collect();
    let pipelines: Vec<Value> = ["train-churn", "batch-score", "feature-refresh", "eval-recsys"]
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"pipeline_id": format!("00000000-0000-4000-8000-00000000b00{i}"), "display_name": name, "name": name, "description": format!("{name} pipeline"), "created_at": rfc3339(now - (60 - i as i64) * 86_400_000), "namespace": "kubeflow"}))
        .collect();
    let finals = [
        "SUCCEEDED",
        "SUCCEEDED",
        "FAILED",
        "SUCCEEDED",
        "CANCELED",
        "SUCCEEDED",
        "SKIPPED",
    ];
    let runs = (0..25)
        .map(|i: i64| {
            let created = now - (25 - i) * 4 * 3_600_000;
            Run {
                id: format!("00000000-0000-4000-8000-0000000{:05}", i),
                display_name: format!("sim-run-{i:02}"),
                experiment_id: format!("00000000-0000-4000-8000-00000000e00{}", i % 3),
                pipeline_version_reference: Some(json!({"pipeline_id": format!("00000000-0000-4000-8000-00000000b00{}", i % 4), "pipeline_version_id": format!("00000000-0000-4000-8000-00000000c00{}", i % 4)})),
                runtime_config: None,
                created_ms: created,
                fixed: Some((finals[i as usize % finals.len()], created + 1_800_000)),
                terminated_ms: None,
            }
        })
        .collect();
    let kfp = Arc::new(Kfp {
        cfg: config.kubeflow.clone(),
        clock: config.clock.clone(),
        runs: Mutex::new(runs),
        experiments: Mutex::new(experiments),
        pipelines,
    });
    let api = Router::new()
        .route("/apis/v2beta1/runs", get(list_runs).post(create_run))
        .route("/apis/v2beta1/runs/{run}", get(get_run).post(run_action))
        .route(
            "/apis/v2beta1/experiments",
            get(list_experiments).post(create_experiment),
        )
        .route("/apis/v2beta1/pipelines", get(list_pipelines))
        .route_layer(axum::middleware::from_fn_with_state(kfp.clone(), auth));
    Ok(Router::new()
        .merge(api)
        .route("/apis/v2beta1/healthz", get(healthz))
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(kfp))
}

async fn unknown_path() -> ApiError {
    bad("unknown path: not a KFP v2beta1 endpoint the simulator serves".into())
}

async fn wrong_method(method: Method) -> ApiError {
    bad(format!("method {method} is not allowed on this path"))
}

async fn auth(State(kfp): State<Arc<Kfp>>, req: Request, next: Next) -> Response {
    if kfp.cfg.require_auth {
        match check::bearer(req.headers()) {
            None => return status(401, 16, "Failed to authenticate: request header error: there is no Bearer token in the Authorization header").into_response(),
            Some(t) if !kfp.cfg.tokens.iter().any(|k| k == t) => return status(401, 16, "Failed to authenticate: the Bearer token is not valid").into_response(),
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// `GET /apis/v2beta1/healthz` (`apiGetHealthzResponse`).
async fn healthz() -> Json<Value> {
    Json(
        json!({"commit_sha": "partner-sim", "tag_name": "2.5.0", "multi_user": false, "pipeline_store": "database"}),
    )
}

impl Kfp {
    fn run_json(&self, r: &Run, now: i64) -> Value {
        let step = self.cfg.run_step_ms.max(1);
        let mut history = vec![(r.created_ms, "PENDING")];
        let (state, finished) = if let Some((state, at)) = r.fixed {
            history.push((r.created_ms + 60_000, "RUNNING"));
            history.push((at, state));
            (state, Some(at))
        } else {
            let natural_end = r.created_ms + 3 * step;
            if now >= r.created_ms + step && r.terminated_ms.is_none_or(|t| t > r.created_ms + step)
            {
                history.push((r.created_ms + step, "RUNNING"));
            }
            match r.terminated_ms {
                Some(t) if t < natural_end => {
                    history.push((t, "CANCELING"));
                    if now >= t + step {
                        history.push((t + step, "CANCELED"));
                        ("CANCELED", Some(t + step))
                    } else {
                        ("CANCELING", None)
                    }
                }
                _ if now >= natural_end => {
                    history.push((natural_end, "SUCCEEDED"));
                    ("SUCCEEDED", Some(natural_end))
                }
                _ if now >= r.created_ms + step => ("RUNNING", None),
                _ => ("PENDING", None),
            }
        };
        let mut v = json!({
            "run_id": r.id,
            "experiment_id": r.experiment_id,
            "display_name": r.display_name,
            "storage_state": "AVAILABLE",
            "state": state,
            "created_at": rfc3339(r.created_ms),
            "scheduled_at": rfc3339(r.created_ms),
            "service_account": "pipeline-runner",
            "state_history": history.iter().map(|(t, s)| json!({"update_time": rfc3339(*t), "state": s})).collect::<Vec<_>>(),
        });
        if let Some(at) = finished {
            v["finished_at"] = json!(rfc3339(at));
        }
        if let Some(p) = &r.pipeline_version_reference {
            v["pipeline_version_reference"] = p.clone();
        }
        if let Some(c) = &r.runtime_config {
            v["runtime_config"] = c.clone();
        }
        if state == "FAILED" {
            v["error"] = json!({"code": 2, "message": "step train failed: exit code 1"});
        }
        v
    }
}

/// One filter predicate (`v2beta1Predicate`).
struct Predicate {
    key: String,
    op: String,
    value: Value,
}

fn parse_filter(raw: Option<&str>) -> Result<Vec<Predicate>, String> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: Value = serde_json::from_str(raw)
        .map_err(|e| format!("query parameter `filter`: not JSON ({e})"))?;
    let preds = check::field(&v, "filter", "predicates", Kind::Array, false)?
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    preds
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = format!("filter.predicates[{i}]");
            let key = check::req_str(p, &path, "key")?.to_string();
            let op = check::req_str(p, &path, "operation")?.to_string();
            const OPS: [&str; 8] = ["EQUALS", "NOT_EQUALS", "GREATER_THAN", "GREATER_THAN_EQUALS", "LESS_THAN", "LESS_THAN_EQUALS", "IN", "IS_SUBSTRING"];
            if !OPS.contains(&op.as_str()) {
                return Err(format!("{path}.operation: {op:?} is not one of {}", OPS.join(", ")));
            }
            let value = ["string_value", "timestamp_value", "int_value", "long_value", "bool_value", "string_values", "int_values", "long_values"]
                .iter()
                .find_map(|k| p.get(*k).map(|v| (*k, v.clone())))
                .ok_or_else(|| format!("{path}: one of string_value, int_value, long_value, timestamp_value, bool_value or *_values is required"))?;
            let value = match value {
                ("timestamp_value", Value::String(s)) => json!(DateTime::parse_from_rfc3339(&s).map_err(|_| format!("{path}.timestamp_value: {s:?} is not RFC 3339"))?.timestamp_millis()),
                (_, Value::Object(o)) => o.get("values").cloned().unwrap_or(Value::Null),
                (_, v) => v,
            };
            Ok(Predicate { key, op, value })
        })
        .collect()
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            let y: f64 = y.parse().ok()?;
            let o = x.as_f64()?.partial_cmp(&y)?;
            Some(if matches!(a, Value::Number(_)) {
                o
            } else {
                o.reverse()
            })
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Applies filter, sort and paging to `items`; answers `{<field>: [...], total_size, next_page_token}`.
fn list(
    items: Vec<Value>,
    field: &str,
    keys: &[&str],
    q: &Query,
    kind: &str,
) -> Result<Json<Value>, ApiError> {
    let preds = parse_filter(q.get("filter")).map_err(bad)?;
    for p in &preds {
        if !keys.contains(&p.key.as_str()) {
            return Err(bad(format!(
                "query parameter `filter`: key {:?} is not filterable here (one of {})",
                p.key,
                keys.join(", ")
            )));
        }
    }
    // Timestamps compare as epoch milliseconds.
    let field_value = |item: &Value, key: &str| -> Value {
        let key = if key == "name" && item.get("name").is_none() {
            "display_name"
        } else {
            key
        };
        match item.get(key) {
            Some(Value::String(s)) if key.ends_with("_at") => DateTime::parse_from_rfc3339(s)
                .map(|t| json!(t.timestamp_millis()))
                .unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        }
    };
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            preds.iter().all(|p| {
                let have = field_value(item, &p.key);
                match p.op.as_str() {
                    "EQUALS" => compare(&have, &p.value) == Some(Ordering::Equal),
                    "NOT_EQUALS" => compare(&have, &p.value) != Some(Ordering::Equal),
                    "GREATER_THAN" => compare(&have, &p.value) == Some(Ordering::Greater),
                    "GREATER_THAN_EQUALS" => matches!(compare(&have, &p.value), Some(Ordering::Greater | Ordering::Equal)),
                    "LESS_THAN" => compare(&have, &p.value) == Some(Ordering::Less),
                    "LESS_THAN_EQUALS" => matches!(compare(&have, &p.value), Some(Ordering::Less | Ordering::Equal)),
                    "IN" => p.value.as_array().is_some_and(|vs| vs.iter().any(|v| compare(&have, v) == Some(Ordering::Equal))),
                    "IS_SUBSTRING" => matches!((&have, &p.value), (Value::String(h), Value::String(n)) if h.contains(n.as_str())),
                    _ => false,
                }
            })
        })
        .collect();
    let sort = q.get("sort_by").unwrap_or("created_at");
    let mut words = sort.split_whitespace();
    let sort_key = words.next().unwrap_or("created_at").to_string();
    let desc = match words.next() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(bad(format!(
                "query parameter `sort_by`: {other:?} must be asc or desc"
            )))
        }
    };
    if !keys.contains(&sort_key.as_str()) {
        return Err(bad(format!(
            "query parameter `sort_by`: {sort_key:?} is not sortable here (one of {})",
            keys.join(", ")
        )));
    }
    items.sort_by(|a, b| {
        let o = compare(&field_value(a, &sort_key), &field_value(b, &sort_key))
            .unwrap_or(Ordering::Equal);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let size = match q.int("page_size").map_err(bad)? {
        None | Some(0) => 20,
        Some(n) if n < 0 => {
            return Err(bad(format!(
                "query parameter `page_size`: the page size should be greater than 0, got {n}"
            )))
        }
        Some(n) => n.min(200) as usize,
    };
    let offset = check::page_offset(kind, "page_token", q.get("page_token")).map_err(bad)?;
    let total = items.len();
    let start = offset.min(total);
    let end = (start + size).min(total);
    let mut out = Map::new();
    out.insert(field.into(), json!(items[start..end]));
    out.insert("total_size".into(), json!(total));
    if end < total {
        out.insert(
            "next_page_token".into(),
            json!(check::page_token(kind, end)),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /apis/v2beta1/runs`.
async fn list_runs(
    State(kfp): State<Arc<Kfp>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let now = kfp.clock.now_ms();
    let exp = q.get("experiment_id").filter(|e| !e.is_empty());
    let runs: Vec<Value> = lock(&kfp.runs)
        .iter()
        .filter(|r| exp.is_none_or(|e| r.experiment_id == e))
        .map(|r| kfp.run_json(r, now))
        .collect();
    list(
        runs,
        "runs",
        &[
            "run_id",
            "display_name",
            "name",
            "state",
            "created_at",
            "finished_at",
            "scheduled_at",
            "experiment_id",
            "storage_state",
        ],
        &q,
        "runs",
    )
}

/// `POST /apis/v2beta1/runs` with a `v2beta1Run` body.
async fn create_run(State(kfp): State<Arc<Kfp>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = check::json_object(&body).map_err(bad)?;
    let name = check::req_str(&body, "body", "display_name")
        .map_err(bad)?
        .to_string();
    let exp = check::opt_str(&body, "body", "experiment_id")
        .map_err(bad)?
        .map(str::to_string);
    check::opt_str(&body, "body", "description").map_err(bad)?;
    let pvr = check::field(
        &body,
        "body",
        "pipeline_version_reference",
        Kind::Object,
        false,
    )
    .map_err(bad)?
    .cloned();
    let spec = check::field(&body, "body", "pipeline_spec", Kind::Object, false).map_err(bad)?;
    if let Some(p) = &pvr {
        check::req_str(p, "body.pipeline_version_reference", "pipeline_id").map_err(bad)?;
    }
    if pvr.is_none() && spec.is_none() {
        return Err(bad(
            "body: one of pipeline_version_reference or pipeline_spec is required".into(),
        ));
    }
    let rc = check::field(&body, "body", "runtime_config", Kind::Object, false)
        .map_err(bad)?
        .cloned();
    if let Some(rc) = &rc {
        check::field(rc, "body.runtime_config", "parameters", Kind::Object, false).map_err(bad)?;
    }
    let experiments = lock(&kfp.experiments);
    let experiment_id = match exp {
        Some(e) if experiments.iter().any(|x| x["experiment_id"] == e.as_str()) => e,
        Some(e) => {
            return Err(status(
                404,
                5,
                format!("Failed to create a run: experiment {e} not found"),
            ))
        }
        None => experiments
            .first()
            .and_then(|x| x["experiment_id"].as_str())
            .unwrap_or_default()
            .to_string(),
    };
    drop(experiments);
    let now = kfp.clock.now_ms();
    let run = Run {
        id: check::uuid(),
        display_name: name,
        experiment_id,
        pipeline_version_reference: pvr,
        runtime_config: rc,
        created_ms: now,
        fixed: None,
        terminated_ms: None,
    };
    let out = kfp.run_json(&run, now);
    tracing::info!(run_id = %run.id, "kubeflow run created");
    lock(&kfp.runs).push(run);
    Ok(Json(out))
}

/// `GET /apis/v2beta1/runs/{run_id}`.
async fn get_run(
    State(kfp): State<Arc<Kfp>>,
    Path(run): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if run.contains(':') {
        return Err(bad(format!(
            "method GET is not allowed on run action {run:?}"
        )));
    }
    let now = kfp.clock.now_ms();
    let runs = lock(&kfp.runs);
    let r = runs
        .iter()
        .find(|r| r.id == run)
        .ok_or_else(|| status(404, 5, format!("Failed to get a run: run {run} not found")))?;
    Ok(Json(kfp.run_json(r, now)))
}

/// `POST /apis/v2beta1/runs/{run_id}:terminate` → `{}`.
async fn run_action(
    State(kfp): State<Arc<Kfp>>,
    Path(run): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some((id, action)) = run.split_once(':') else {
        return Err(bad(
            "method POST is not allowed on this path (did you mean :terminate?)".into(),
        ));
    };
    if action != "terminate" {
        return Err(bad(format!(
            "run action {action:?} is not simulated (terminate is)"
        )));
    }
    let now = kfp.clock.now_ms();
    let mut runs = lock(&kfp.runs);
    let r = runs.iter_mut().find(|r| r.id == id).ok_or_else(|| {
        status(
            404,
            5,
            format!("Failed to terminate a run: run {id} not found"),
        )
    })?;
    let finished = r.fixed.is_some() || now >= r.created_ms + 3 * kfp.cfg.run_step_ms.max(1);
    if finished || r.terminated_ms.is_some() {
        return Err(status(
            400,
            9,
            format!("Failed to terminate a run {id}: the run is already in a final state"),
        ));
    }
    r.terminated_ms = Some(now);
    Ok(Json(json!({})))
}

/// `GET /apis/v2beta1/experiments`.
async fn list_experiments(
    State(kfp): State<Arc<Kfp>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let items = lock(&kfp.experiments).clone();
    list(
        items,
        "experiments",
        &[
            "experiment_id",
            "display_name",
            "name",
            "created_at",
            "storage_state",
            "namespace",
        ],
        &q,
        "experiments",
    )
}

/// `POST /apis/v2beta1/experiments` with a `v2beta1Experiment` body.
async fn create_experiment(
    State(kfp): State<Arc<Kfp>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = check::json_object(&body).map_err(bad)?;
    let name = check::req_str(&body, "body", "display_name")
        .map_err(bad)?
        .to_string();
    let description = check::opt_str(&body, "body", "description")
        .map_err(bad)?
        .unwrap_or_default()
        .to_string();
    let namespace = check::opt_str(&body, "body", "namespace")
        .map_err(bad)?
        .unwrap_or("kubeflow")
        .to_string();
    let mut experiments = lock(&kfp.experiments);
    if experiments
        .iter()
        .any(|e| e["display_name"] == name.as_str())
    {
        return Err(status(
            409,
            6,
            format!("Failed to create a new experiment: experiment {name:?} already exists"),
        ));
    }
    let mut e = json!({"experiment_id": check::uuid(), "display_name": name, "created_at": rfc3339(kfp.clock.now_ms()), "storage_state": "AVAILABLE", "namespace": namespace});
    if !description.is_empty() {
        e["description"] = json!(description);
    }
    experiments.push(e.clone());
    Ok(Json(e))
}

/// `GET /apis/v2beta1/pipelines`.
async fn list_pipelines(
    State(kfp): State<Arc<Kfp>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    list(
        kfp.pipelines.clone(),
        "pipelines",
        &[
            "pipeline_id",
            "display_name",
            "name",
            "created_at",
            "namespace",
        ],
        &q,
        "pipelines",
    )
}
