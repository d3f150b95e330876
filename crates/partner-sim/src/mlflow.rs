//! MLflow tracking server simulator (OSS 3.17.2, `specs/mlflow/mlflow-3.17.2.rest-endpoints.json`
//! and the compiled protos next to it). It serves exactly the routes Ecosystem's MLflow connector
//! calls, under `/api/2.0` and the `/ajax-api/2.0` alias:
//!
//! - MlflowService: `GET|POST experiments/search`, `POST experiments/create`, `POST runs/search`,
//!   `POST runs/create`, `GET runs/get`, `POST runs/update`, `POST runs/log-metric`,
//!   `POST runs/log-parameter`, `POST runs/log-batch`, `GET metrics/get-history`
//! - ModelRegistryService: `POST registered-models/create`, `GET registered-models/search`,
//!   `POST model-versions/create`, `GET model-versions/search`
//! - MlflowArtifactsService (the artifact proxy): `PUT`/`GET mlflow-artifacts/artifacts/<path>`
//!   and `GET mlflow-artifacts/artifacts?path=` to list
//! - `GET /health` (`OK`) and `GET /version`, both without auth.
//!
//! Auth is the `basic-auth` app: `Authorization: Basic` with the configured user, or a bearer
//! token (Databricks-hosted MLflow); a missing or wrong login is the server's 401 HTML page with
//! `WWW-Authenticate: Basic realm="mlflow"`. With `require_auth = false` it is the OSS default
//! (no auth). Errors are `{"error_code","message"}` (404 adds `sqlstate` and `error_class`);
//! int64 fields are JSON numbers, empty repeated fields are omitted as the server's
//! `message_to_json` does. Page tokens are base64 `{"offset": n}` as observed.
//!
//! Searches accept what the connector sends: run filters are `attributes.start_time` /
//! `attributes.end_time` comparisons joined by `AND`; model filters are `name = '…'`,
//! `name LIKE '…'` or `run_id = '…'`. Anything else is refused with a 400 naming it.
//!
//! Seeded history (relative to the clock at start): three experiments, about three runs a day
//! for the last 45 days, three registered models and a model version every third day, so usage
//! collection has weeks of figures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::check::{self, Kind, Query};
use crate::clock::SharedClock;
use crate::config::{MlflowConfig, SimConfig};
use crate::errors::ApiError;
use crate::{Platform, SimError};

const P: Platform = Platform::Mlflow;
/// The server version `GET /version` reports.
const MLFLOW_VERSION: &str = "3.17.2";
const DAY_MS: i64 = 86_400_000;

fn bad(detail: String) -> ApiError {
    P.bad_request(&detail)
}

fn mlflow_error(status: u16, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        status,
        json!({"error_code": code, "message": message.into()}),
    )
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(
        404,
        json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message.into(), "sqlstate": "KAM00", "error_class": "RESOURCE_NOT_FOUND"}),
    )
}

fn missing(param: &str) -> ApiError {
    mlflow_error(
        400,
        "INVALID_PARAMETER_VALUE",
        format!("Missing value for required parameter '{param}'. See the API docs for more information about request parameters."),
    )
}

#[derive(Debug, Clone)]
struct Metric {
    key: String,
    value: f64,
    timestamp: i64,
    step: i64,
}

impl Metric {
    fn json(&self) -> Value {
        json!({"key": self.key, "value": self.value, "timestamp": self.timestamp, "step": self.step})
    }
}

#[derive(Debug, Clone)]
struct RunRec {
    id: String,
    experiment_id: String,
    name: String,
    user_id: String,
    status: String,
    start_time: i64,
    end_time: Option<i64>,
    metrics: Vec<Metric>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl RunRec {
    fn info(&self) -> Value {
        let mut info = json!({
            "run_uuid": self.id,
            "run_id": self.id,
            "experiment_id": self.experiment_id,
            "run_name": self.name,
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "artifact_uri": format!("mlflow-artifacts:/{}/{}/artifacts", self.experiment_id, self.id),
            "lifecycle_stage": "active",
        });
        if let Some(end) = self.end_time {
            info["end_time"] = json!(end);
        }
        info
    }

    fn json(&self) -> Value {
        // The latest value of each metric, as `data.metrics` carries.
        let mut latest: BTreeMap<&str, &Metric> = BTreeMap::new();
        for m in &self.metrics {
            let keep = latest
                .get(m.key.as_str())
                .is_none_or(|l| (m.step, m.timestamp) >= (l.step, l.timestamp));
            if keep {
                latest.insert(&m.key, m);
            }
        }
        let mut data = serde_json::Map::new();
        if !latest.is_empty() {
            data.insert(
                "metrics".into(),
                latest.values().map(|m| m.json()).collect(),
            );
        }
        if !self.params.is_empty() {
            data.insert("params".into(), kv_json(&self.params));
        }
        if !self.tags.is_empty() {
            data.insert("tags".into(), kv_json(&self.tags));
        }
        json!({"info": self.info(), "data": data, "inputs": {}, "outputs": {}})
    }
}

fn kv_json(items: &[(String, String)]) -> Value {
    items
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

#[derive(Debug, Clone)]
struct Version {
    name: String,
    version: u32,
    created: i64,
    source: String,
    run_id: Option<String>,
    description: Option<String>,
}

impl Version {
    fn json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "version": self.version.to_string(),
            "creation_timestamp": self.created,
            "last_updated_timestamp": self.created,
            "current_stage": "None",
            "source": self.source,
            "status": "READY",
        });
        if let Some(run) = &self.run_id {
            v["run_id"] = json!(run);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }
}

#[derive(Debug, Clone)]
struct Model {
    name: String,
    description: Option<String>,
    created: i64,
    updated: i64,
}

#[derive(Debug, Default)]
struct State_ {
    experiments: Vec<(String, String, i64)>,
    runs: Vec<RunRec>,
    models: Vec<Model>,
    versions: Vec<Version>,
    artifacts: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug)]
struct Mlflow {
    cfg: MlflowConfig,
    clock: SharedClock,
    state: Mutex<State_>,
}

impl Mlflow {
    fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn seed(now: i64) -> State_ {
    let experiments: Vec<(String, String, i64)> = ["Default", "churn-model", "recsys"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                i.to_string(),
                name.to_string(),
                now - (120 - i as i64) * DAY_MS,
            )
        })
        .collect();
    let mut runs = Vec::new();
    for day in 0..45i64 {
        let per_day = 2 + (check::unit(&format!("mlflow-day-{day}")) * 3.0) as i64;
        for k in 0..per_day {
            let i = runs.len();
            let start = now - (45 - day) * DAY_MS + k * 3 * 3_600_000 + 600_000;
            let id = format!("5eed{i:028x}");
            let accuracy = 0.8 + check::unit(&id) * 0.15;
            runs.push(RunRec {
                id,
                experiment_id: ((i % 2) + 1).to_string(),
                name: format!("train-{i:03}"),
                user_id: "sim-user".into(),
                status: if i % 11 == 7 { "FAILED" } else { "FINISHED" }.into(),
                start_time: start,
                end_time: Some(start + 1_200_000),
                metrics: vec![Metric {
                    key: "accuracy".into(),
                    value: (accuracy * 1000.0).round() / 1000.0,
                    timestamp: start + 1_100_000,
                    step: 0,
                }],
                params: vec![("learning_rate".into(), "0.01".into())],
                tags: vec![("mlflow.runName".into(), format!("train-{i:03}"))],
            });
        }
    }
    let models: Vec<Model> = ["churn-model", "recsys-ranker", "fraud-score"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let created = now - (60 - 10 * i as i64) * DAY_MS;
            Model {
                name: name.to_string(),
                description: Some(format!("{name} (partner-sim)")),
                created,
                updated: created,
            }
        })
        .collect();
    let mut versions: Vec<Version> = Vec::new();
    for day in (0..45i64).step_by(3) {
        let model = &models[(day as usize / 3) % models.len()];
        let number = versions.iter().filter(|v| v.name == model.name).count() as u32 + 1;
        let run = &runs[(day as usize * 2).min(runs.len() - 1)];
        versions.push(Version {
            name: model.name.clone(),
            version: number,
            created: now - (45 - day) * DAY_MS + 4 * 3_600_000,
            source: format!("runs:/{}/model", run.id),
            run_id: Some(run.id.clone()),
            description: None,
        });
    }
    State_ {
        experiments,
        runs,
        models,
        versions,
        artifacts: BTreeMap::new(),
    }
}

/// The MLflow router.
pub(crate) fn router(config: &SimConfig) -> Result<Router, SimError> {
    if config.mlflow.require_auth
        && config.mlflow.username.is_empty()
        && config.mlflow.tokens.is_empty()
    {
        return Err(SimError::Config(
            "mlflow: require_auth needs a username or a token".into(),
        ));
    }
    let ml = Arc::new(Mlflow {
        cfg: config.mlflow.clone(),
        clock: config.clock.clone(),
        state: Mutex::new(seed(config.clock.now_ms())),
    });
    let mut api = Router::new();
    for prefix in ["/api/2.0", "/ajax-api/2.0"] {
        let m = |p: &str| format!("{prefix}/mlflow/{p}");
        api = api
            .route(
                &m("experiments/search"),
                get(search_experiments_get).post(search_experiments_post),
            )
            .route(&m("experiments/create"), post(create_experiment))
            .route(&m("runs/search"), post(search_runs))
            .route(&m("runs/create"), post(create_run))
            .route(&m("runs/get"), get(get_run))
            .route(&m("runs/update"), post(update_run))
            .route(&m("runs/log-metric"), post(log_metric))
            .route(&m("runs/log-parameter"), post(log_param))
            .route(&m("runs/log-batch"), post(log_batch))
            .route(&m("metrics/get-history"), get(metric_history))
            .route(&m("registered-models/create"), post(create_model))
            .route(&m("registered-models/search"), get(search_models))
            .route(&m("model-versions/create"), post(create_version))
            .route(&m("model-versions/search"), get(search_versions))
            .route(
                &format!("{prefix}/mlflow-artifacts/artifacts"),
                get(list_artifacts),
            )
            .route(
                &format!("{prefix}/mlflow-artifacts/artifacts/{{*path}}"),
                get(download_artifact).put(upload_artifact),
            );
    }
    let api = api.route_layer(axum::middleware::from_fn_with_state(ml.clone(), auth));
    Ok(Router::new()
        .merge(api)
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { MLFLOW_VERSION }))
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(ml))
}

async fn unknown_path() -> ApiError {
    bad("unknown path: not an MLflow REST endpoint the simulator serves".into())
}

async fn wrong_method(method: Method) -> ApiError {
    bad(format!("method {method} is not allowed on this path"))
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("www-authenticate", "Basic realm=\"mlflow\""),
        ],
        "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.",
    )
        .into_response()
}

fn basic_login(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = check::header(headers, "authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

async fn auth(State(ml): State<Arc<Mlflow>>, req: Request, next: Next) -> Response {
    if ml.cfg.require_auth {
        let headers = req.headers();
        let basic_ok = basic_login(headers).is_some_and(|(u, p)| {
            !ml.cfg.username.is_empty() && u == ml.cfg.username && p == ml.cfg.password
        });
        let bearer_ok =
            check::bearer(headers).is_some_and(|t| ml.cfg.tokens.iter().any(|k| k == t));
        if !basic_ok && !bearer_ok {
            return unauthenticated();
        }
    }
    next.run(req).await
}

/// All values of a repeated query parameter (`order_by=a&order_by=b`).
fn all_values(raw: Option<&str>, key: &str) -> Vec<String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn max_results(value: Option<i64>, default: i64, max: i64) -> Result<usize, ApiError> {
    let n = value.unwrap_or(default);
    if n < 1 || n > max {
        return Err(mlflow_error(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be at most {max}."
            ),
        ));
    }
    Ok(n as usize)
}

fn page_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

fn page_offset(token: Option<&str>) -> Result<usize, ApiError> {
    use base64::Engine;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let invalid = || {
        mlflow_error(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Invalid page token, could not base64-decode: {token:?}"),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    v.get("offset")
        .and_then(Value::as_u64)
        .map(|o| o as usize)
        .ok_or_else(invalid)
}

/// `items[offset..offset+max]` and the next page token.
fn paged<T: Clone>(items: &[T], offset: usize, max: usize) -> (Vec<T>, Option<String>) {
    let end = (offset + max).min(items.len());
    let page = items.get(offset..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| page_token(end));
    (page, next)
}

fn with_page(mut body: Value, key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    if let Some(next) = next {
        body["next_page_token"] = json!(next);
    }
    body
}

fn body_object(bytes: &[u8]) -> Result<Value, ApiError> {
    check::json_object(bytes).map_err(bad)
}

/// An int64 field: a JSON number or a decimal string (proto3 JSON allows both).
fn opt_int64(obj: &Value, key: &str) -> Result<Option<i64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("body.{key}: {s:?} is not an int64"))),
        Some(v) => Err(bad(format!(
            "body.{key}: expected int64, found {}",
            check::type_name(v)
        ))),
    }
}

fn req_string<'a>(obj: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    match check::field(obj, "body", key, Kind::String, false).map_err(bad)? {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(missing(key)),
    }
}

fn key_values(obj: &Value, key: &str, limit: usize) -> Result<Vec<(String, String)>, ApiError> {
    let Some(items) = check::field(obj, "body", key, Kind::Array, false)
        .map_err(bad)?
        .and_then(Value::as_array)
    else {
        return Ok(Vec::new());
    };
    if items.len() > limit {
        return Err(mlflow_error(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "A batch logging request can contain at most {limit} {key}. Got {} {key}.",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("body.{key}[{i}]");
            let k = check::req_str(item, &path, "key").map_err(bad)?;
            let v = check::opt_str(item, &path, "value").map_err(bad)?;
            Ok((k.to_string(), v.unwrap_or_default().to_string()))
        })
        .collect()
}

fn metric_from(obj: &Value, path: &str) -> Result<Metric, ApiError> {
    let key = match obj.get("key") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(missing("key")),
    };
    let value = match obj.get("value") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) => {
            s.parse().unwrap_or(f64::NAN)
        }
        None | Some(Value::Null) => return Err(missing("value")),
        Some(v) => {
            return Err(bad(format!(
                "{path}.value: expected number, found {}",
                check::type_name(v)
            )))
        }
    };
    let timestamp = opt_int64(obj, "timestamp")?.ok_or_else(|| missing("timestamp"))?;
    let step = opt_int64(obj, "step")?.unwrap_or(0);
    Ok(Metric {
        key,
        value,
        timestamp,
        step,
    })
}

fn run_id_of(obj: &Value) -> Result<String, ApiError> {
    for key in ["run_id", "run_uuid"] {
        if let Some(id) = check::opt_str(obj, "body", key).map_err(bad)? {
            if !id.is_empty() {
                return Ok(id.to_string());
            }
        }
    }
    Err(missing("run_id"))
}

fn run_mut<'a>(state: &'a mut State_, id: &str) -> Result<&'a mut RunRec, ApiError> {
    state
        .runs
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| not_found(format!("Run with id={id} not found")))
}

// ----- experiments -----

fn search_experiments(
    ml: &Mlflow,
    filter: Option<&str>,
    max: Option<i64>,
    token: Option<&str>,
) -> Result<Value, ApiError> {
    let max = max_results(max, 1000, 50_000)?;
    let offset = page_offset(token)?;
    let name = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => Some(parse_equals(f, &["name"]).map_err(bad)?.1),
    };
    let state = ml.lock();
    let mut all: Vec<&(String, String, i64)> = state
        .experiments
        .iter()
        .filter(|(_, n, _)| name.as_ref().is_none_or(|want| n == want))
        .collect();
    // The server's default order: last_update_time DESC, then experiment_id ASC.
    all.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let items: Vec<Value> = all
        .iter()
        .map(|(id, n, t)| json!({"experiment_id": id, "name": n, "artifact_location": format!("mlflow-artifacts:/{id}"), "lifecycle_stage": "active", "last_update_time": t, "creation_time": t, "workspace": "default"}))
        .collect();
    let (page, next) = paged(&items, offset, max);
    Ok(with_page(json!({}), "experiments", page, next))
}

async fn search_experiments_get(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let max = q.int("max_results").map_err(bad)?;
    if let Some(v) = q.get("view_type") {
        check_view_type(v)?;
    }
    search_experiments(&ml, q.get("filter"), max, q.get("page_token")).map(Json)
}

async fn search_experiments_post(
    State(ml): State<Arc<Mlflow>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let max = opt_int64(&obj, "max_results")?;
    if let Some(v) = check::opt_str(&obj, "body", "view_type").map_err(bad)? {
        check_view_type(v)?;
    }
    let filter = check::opt_str(&obj, "body", "filter").map_err(bad)?;
    let token = check::opt_str(&obj, "body", "page_token").map_err(bad)?;
    search_experiments(&ml, filter, max, token).map(Json)
}

fn check_view_type(v: &str) -> Result<(), ApiError> {
    if ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"].contains(&v) {
        Ok(())
    } else {
        Err(bad(format!(
            "view_type: {v:?} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"
        )))
    }
}

async fn create_experiment(
    State(ml): State<Arc<Mlflow>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let name = req_string(&obj, "name")?.to_string();
    key_values(&obj, "tags", usize::MAX)?;
    let now = ml.clock.now_ms();
    let mut state = ml.lock();
    if state.experiments.iter().any(|(_, n, _)| *n == name) {
        return Err(mlflow_error(
            400,
            "RESOURCE_ALREADY_EXISTS",
            format!("Experiment(name={name}) already exists. Error: (raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)"),
        ));
    }
    let id = state
        .experiments
        .iter()
        .filter_map(|(id, _, _)| id.parse::<u64>().ok())
        .max()
        .map_or(0, |m| m + 1)
        .to_string();
    state.experiments.push((id.clone(), name, now));
    Ok(Json(json!({"experiment_id": id})))
}

// ----- runs -----

/// `attributes.start_time >= 1 AND attributes.end_time < 2`: (field, op, value) triples.
fn parse_run_filter(filter: &str) -> Result<Vec<(String, String, i64)>, String> {
    let unsupported = || {
        format!("filter {filter:?}: the simulator supports attributes.start_time and attributes.end_time compared (=, !=, <, <=, >, >=) with an integer, joined by AND")
    };
    let mut clauses = Vec::new();
    for clause in split_and(filter) {
        let clause = clause.trim();
        let op = ["<=", ">=", "!=", "=", "<", ">"]
            .into_iter()
            .find(|op| clause.contains(op))
            .ok_or_else(unsupported)?;
        let (field, value) = clause.split_once(op).ok_or_else(unsupported)?;
        let field = field.trim();
        let field = field
            .strip_prefix("attributes.")
            .or_else(|| field.strip_prefix("attribute."))
            .or_else(|| field.strip_prefix("run."))
            .unwrap_or(field);
        if !["start_time", "end_time"].contains(&field) {
            return Err(unsupported());
        }
        let value: i64 = value.trim().parse().map_err(|_| unsupported())?;
        clauses.push((field.to_string(), op.to_string(), value));
    }
    Ok(clauses)
}

fn split_and(filter: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = filter;
    while let Some(at) = rest.to_ascii_uppercase().find(" AND ") {
        parts.push(&rest[..at]);
        rest = &rest[at + 5..];
    }
    if !rest.trim().is_empty() {
        parts.push(rest);
    }
    parts
}

fn compare(left: i64, op: &str, right: i64) -> bool {
    match op {
        "=" => left == right,
        "!=" => left != right,
        "<" => left < right,
        "<=" => left <= right,
        ">" => left > right,
        _ => left >= right,
    }
}

async fn search_runs(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let ids: Vec<String> =
        match check::field(&obj, "body", "experiment_ids", Kind::Array, false).map_err(bad)? {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        bad(format!(
                            "body.experiment_ids[{i}]: expected string, found {}",
                            check::type_name(v)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
    let filter = check::opt_str(&obj, "body", "filter").map_err(bad)?;
    let clauses = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => parse_run_filter(f).map_err(bad)?,
        None => Vec::new(),
    };
    let mut ascending = false;
    if let Some(orders) = check::field(&obj, "body", "order_by", Kind::Array, false).map_err(bad)? {
        for (i, order) in orders.as_array().into_iter().flatten().enumerate() {
            let text = order
                .as_str()
                .ok_or_else(|| bad(format!("body.order_by[{i}]: expected string")))?;
            let mut words = text.split_whitespace();
            let field = words.next().unwrap_or_default();
            if ![
                "attributes.start_time",
                "attribute.start_time",
                "start_time",
            ]
            .contains(&field)
            {
                return Err(bad(format!(
                    "body.order_by[{i}]: {text:?}: the simulator orders runs by attributes.start_time only"
                )));
            }
            ascending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("DESC") => false,
                Some("ASC") => true,
                Some(other) => {
                    return Err(bad(format!(
                        "body.order_by[{i}]: {other:?} is not ASC or DESC"
                    )))
                }
            };
        }
    }
    let max = max_results(opt_int64(&obj, "max_results")?, 1000, 50_000)?;
    let offset = page_offset(check::opt_str(&obj, "body", "page_token").map_err(bad)?)?;
    let state = ml.lock();
    let mut runs: Vec<&RunRec> = state
        .runs
        .iter()
        .filter(|r| ids.contains(&r.experiment_id))
        .filter(|r| {
            clauses.iter().all(|(field, op, v)| {
                let t = if field == "start_time" {
                    Some(r.start_time)
                } else {
                    r.end_time
                };
                t.is_some_and(|t| compare(t, op, *v))
            })
        })
        .collect();
    runs.sort_by(|a, b| {
        let by_time = a.start_time.cmp(&b.start_time);
        let by_time = if ascending {
            by_time
        } else {
            by_time.reverse()
        };
        by_time.then(a.id.cmp(&b.id))
    });
    let items: Vec<Value> = runs.iter().map(|r| r.json()).collect();
    let (page, next) = paged(&items, offset, max);
    Ok(Json(with_page(json!({}), "runs", page, next)))
}

async fn create_run(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let experiment_id = check::opt_str(&obj, "body", "experiment_id")
        .map_err(bad)?
        .unwrap_or("0")
        .to_string();
    let mut tags = key_values(&obj, "tags", usize::MAX)?;
    let start_time = opt_int64(&obj, "start_time")?.unwrap_or_else(|| ml.clock.now_ms());
    let user_id = check::opt_str(&obj, "body", "user_id")
        .map_err(bad)?
        .unwrap_or("sim-user")
        .to_string();
    let id = check::uuid().replace('-', "");
    let name = check::opt_str(&obj, "body", "run_name")
        .map_err(bad)?
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(|| {
            tags.iter()
                .find(|(k, _)| k == "mlflow.runName")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| format!("run-{}", &id[..8]));
    if !tags.iter().any(|(k, _)| k == "mlflow.runName") {
        tags.push(("mlflow.runName".into(), name.clone()));
    }
    let mut state = ml.lock();
    if !state
        .experiments
        .iter()
        .any(|(e, _, _)| *e == experiment_id)
    {
        return Err(not_found(format!(
            "No Experiment with id={experiment_id} exists"
        )));
    }
    let run = RunRec {
        id,
        experiment_id,
        name,
        user_id,
        status: "RUNNING".into(),
        start_time,
        end_time: None,
        metrics: Vec::new(),
        params: Vec::new(),
        tags,
    };
    let answer = run.json();
    state.runs.push(run);
    Ok(Json(json!({"run": answer})))
}

async fn get_run(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let id = q
        .get("run_id")
        .or_else(|| q.get("run_uuid"))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("run_id"))?;
    let mut state = ml.lock();
    let run = run_mut(&mut state, id)?;
    Ok(Json(json!({"run": run.json()})))
}

async fn update_run(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let id = run_id_of(&obj)?;
    let status = check::opt_str(&obj, "body", "status").map_err(bad)?;
    if let Some(s) = status {
        const STATES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];
        if !STATES.contains(&s) {
            return Err(bad(format!(
                "body.status: {s:?} is not one of {}",
                STATES.join(", ")
            )));
        }
    }
    let end_time = opt_int64(&obj, "end_time")?;
    let run_name = check::opt_str(&obj, "body", "run_name").map_err(bad)?;
    let mut state = ml.lock();
    let run = run_mut(&mut state, &id)?;
    if let Some(s) = status {
        run.status = s.to_string();
    }
    if end_time.is_some() {
        run.end_time = end_time;
    }
    if let Some(n) = run_name.filter(|n| !n.is_empty()) {
        run.name = n.to_string();
    }
    Ok(Json(json!({"run_info": run.info()})))
}

fn log_params(run: &mut RunRec, params: Vec<(String, String)>) -> Result<(), ApiError> {
    for (key, value) in params {
        match run.params.iter().find(|(k, _)| *k == key) {
            Some((_, old)) if *old != value => {
                return Err(mlflow_error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    format!("Changing param values is not allowed. Param with key='{key}' was already logged with value='{old}' for run ID='{}'. Attempted logging new value '{value}'.", run.id),
                ))
            }
            Some(_) => {}
            None => run.params.push((key, value)),
        }
    }
    Ok(())
}

fn set_tags(run: &mut RunRec, tags: Vec<(String, String)>) {
    for (key, value) in tags {
        match run.tags.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => run.tags.push((key, value)),
        }
    }
}

async fn log_metric(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let id = run_id_of(&obj)?;
    let metric = metric_from(&obj, "body")?;
    let mut state = ml.lock();
    run_mut(&mut state, &id)?.metrics.push(metric);
    Ok(Json(json!({})))
}

async fn log_param(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let id = run_id_of(&obj)?;
    let key = req_string(&obj, "key")?.to_string();
    let value = match obj.get("value") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(missing("value")),
    };
    let mut state = ml.lock();
    log_params(run_mut(&mut state, &id)?, vec![(key, value)])?;
    Ok(Json(json!({})))
}

async fn log_batch(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let id = run_id_of(&obj)?;
    let metrics: Vec<Metric> = match check::field(&obj, "body", "metrics", Kind::Array, false)
        .map_err(bad)?
        .and_then(Value::as_array)
    {
        Some(items) if items.len() > 1000 => {
            return Err(mlflow_error(
                400,
                "INVALID_PARAMETER_VALUE",
                format!(
                    "A batch logging request can contain at most 1000 metrics. Got {} metrics.",
                    items.len()
                ),
            ))
        }
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, m)| metric_from(m, &format!("body.metrics[{i}]")))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let params = key_values(&obj, "params", 100)?;
    let tags = key_values(&obj, "tags", 100)?;
    let mut state = ml.lock();
    let run = run_mut(&mut state, &id)?;
    log_params(run, params)?;
    set_tags(run, tags);
    run.metrics.extend(metrics);
    Ok(Json(json!({})))
}

async fn metric_history(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let id = q
        .get("run_id")
        .or_else(|| q.get("run_uuid"))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("run_id"))?
        .to_string();
    let key = q
        .get("metric_key")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing("metric_key"))?
        .to_string();
    let max = max_results(q.int("max_results").map_err(bad)?, 25_000, 25_000)?;
    let offset = page_offset(q.get("page_token"))?;
    let mut state = ml.lock();
    let run = run_mut(&mut state, &id)?;
    let items: Vec<Value> = run
        .metrics
        .iter()
        .filter(|m| m.key == key)
        .map(Metric::json)
        .collect();
    let (page, next) = paged(&items, offset, max);
    Ok(Json(with_page(json!({}), "metrics", page, next)))
}

// ----- model registry -----

/// `name = 'x'` (or `LIKE 'x%'` when `like` is allowed): (field, value, is_like).
fn parse_equals(filter: &str, fields: &[&str]) -> Result<(String, String, bool), String> {
    let unsupported = || {
        format!(
            "filter {filter:?}: the simulator supports {} = '<value>' (and name LIKE '<pattern>')",
            fields.join(" or ")
        )
    };
    let (field, op, value) = if let Some(at) = filter.to_ascii_uppercase().find(" LIKE ") {
        (&filter[..at], "LIKE", &filter[at + 6..])
    } else {
        let (f, v) = filter.split_once('=').ok_or_else(unsupported)?;
        (f, "=", v)
    };
    let field = field.trim();
    if !fields.contains(&field) || (op == "LIKE" && field != "name") {
        return Err(unsupported());
    }
    let value = value.trim();
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .ok_or_else(unsupported)?;
    Ok((field.to_string(), value.to_string(), op == "LIKE"))
}

fn like(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn model_json(model: &Model, versions: &[Version]) -> Value {
    let mut v = json!({
        "name": model.name,
        "creation_timestamp": model.created,
        "last_updated_timestamp": model.updated,
    });
    if let Some(d) = &model.description {
        v["description"] = json!(d);
    }
    if let Some(latest) = versions
        .iter()
        .filter(|x| x.name == model.name)
        .max_by_key(|x| x.version)
    {
        v["latest_versions"] = json!([latest.json()]);
    }
    v
}

async fn create_model(State(ml): State<Arc<Mlflow>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let name = req_string(&obj, "name")?.to_string();
    let description = check::opt_str(&obj, "body", "description")
        .map_err(bad)?
        .map(str::to_string);
    key_values(&obj, "tags", usize::MAX)?;
    let now = ml.clock.now_ms();
    let mut state = ml.lock();
    if state.models.iter().any(|m| m.name == name) {
        return Err(mlflow_error(
            400,
            "RESOURCE_ALREADY_EXISTS",
            format!("Registered Model (name={name}) already exists."),
        ));
    }
    let model = Model {
        name,
        description,
        created: now,
        updated: now,
    };
    let answer = model_json(&model, &[]);
    state.models.push(model);
    Ok(Json(json!({"registered_model": answer})))
}

async fn search_models(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let max = max_results(q.int("max_results").map_err(bad)?, 100, 1000)?;
    let offset = page_offset(q.get("page_token"))?;
    let filter = match q.get("filter").map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(parse_equals(f, &["name"]).map_err(bad)?),
        None => None,
    };
    for order in all_values(raw.as_deref(), "order_by") {
        let field = order.split_whitespace().next().unwrap_or_default();
        if !["name", "last_updated_timestamp", "timestamp"].contains(&field) {
            return Err(bad(format!(
                "query parameter `order_by`: {order:?} orders by neither name nor last_updated_timestamp"
            )));
        }
    }
    let state = ml.lock();
    let mut models: Vec<&Model> = state
        .models
        .iter()
        .filter(|m| match &filter {
            Some((_, v, true)) => like(v, &m.name),
            Some((_, v, false)) => m.name == *v,
            None => true,
        })
        .collect();
    models.sort_by(|a, b| a.name.cmp(&b.name));
    let items: Vec<Value> = models
        .iter()
        .map(|m| model_json(m, &state.versions))
        .collect();
    let (page, next) = paged(&items, offset, max);
    Ok(Json(with_page(json!({}), "registered_models", page, next)))
}

async fn create_version(
    State(ml): State<Arc<Mlflow>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let obj = body_object(&body)?;
    let name = req_string(&obj, "name")?.to_string();
    let source = req_string(&obj, "source")?.to_string();
    let run_id = check::opt_str(&obj, "body", "run_id")
        .map_err(bad)?
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let description = check::opt_str(&obj, "body", "description")
        .map_err(bad)?
        .map(str::to_string);
    key_values(&obj, "tags", usize::MAX)?;
    let now = ml.clock.now_ms();
    let mut state = ml.lock();
    let Some(model) = state.models.iter_mut().find(|m| m.name == name) else {
        return Err(not_found(format!(
            "Registered Model with name={name} not found"
        )));
    };
    model.updated = now;
    let number = state
        .versions
        .iter()
        .filter(|v| v.name == name)
        .map(|v| v.version)
        .max()
        .unwrap_or(0)
        + 1;
    let version = Version {
        name,
        version: number,
        created: now,
        source,
        run_id,
        description,
    };
    let answer = version.json();
    state.versions.push(version);
    Ok(Json(json!({"model_version": answer})))
}

async fn search_versions(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let max = max_results(q.int("max_results").map_err(bad)?, 10_000, 200_000)?;
    let offset = page_offset(q.get("page_token"))?;
    let filter = match q.get("filter").map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(parse_equals(f, &["name", "run_id"]).map_err(bad)?),
        None => None,
    };
    let mut descending = true;
    for order in all_values(raw.as_deref(), "order_by") {
        let mut words = order.split_whitespace();
        if words.next() != Some("creation_timestamp") {
            return Err(bad(format!(
                "query parameter `order_by`: {order:?}: the simulator orders model versions by creation_timestamp only"
            )));
        }
        descending = !matches!(
            words.next().map(str::to_ascii_uppercase).as_deref(),
            Some("ASC")
        );
    }
    let state = ml.lock();
    let mut versions: Vec<&Version> = state
        .versions
        .iter()
        .filter(|v| match &filter {
            Some((field, value, is_like)) if field == "name" => {
                if *is_like {
                    like(value, &v.name)
                } else {
                    v.name == *value
                }
            }
            Some((_, value, _)) => v.run_id.as_deref() == Some(value.as_str()),
            None => true,
        })
        .collect();
    versions.sort_by(|a, b| {
        let c = a.created.cmp(&b.created).then(a.version.cmp(&b.version));
        if descending {
            c.reverse()
        } else {
            c
        }
    });
    let items: Vec<Value> = versions.iter().map(|v| v.json()).collect();
    let (page, next) = paged(&items, offset, max);
    Ok(Json(with_page(json!({}), "model_versions", page, next)))
}

// ----- artifacts -----

fn clean_artifact_path(path: &str) -> Result<String, ApiError> {
    let trimmed = path.trim_matches('/');
    if trimmed
        .split('/')
        .any(|seg| seg == ".." || seg == "." || (seg.is_empty() && !trimmed.is_empty()))
    {
        return Err(mlflow_error(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Invalid path: {path}"),
        ));
    }
    Ok(trimmed.to_string())
}

async fn upload_artifact(
    State(ml): State<Arc<Mlflow>>,
    Path(path): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let path = clean_artifact_path(&path)?;
    ml.lock().artifacts.insert(path, body.to_vec());
    Ok(Json(json!({})))
}

async fn download_artifact(
    State(ml): State<Arc<Mlflow>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let path = clean_artifact_path(&path)?;
    let state = ml.lock();
    let bytes = state
        .artifacts
        .get(&path)
        .cloned()
        .ok_or_else(|| not_found(format!("File {path} not found")))?;
    Ok(([("content-type", "application/octet-stream")], bytes).into_response())
}

async fn list_artifacts(
    State(ml): State<Arc<Mlflow>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let dir = clean_artifact_path(q.get("path").unwrap_or_default())?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let state = ml.lock();
    let mut entries: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for (path, bytes) in &state.artifacts {
        let Some(rest) = path.strip_prefix(&prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                entries.insert(sub.to_string(), None);
            }
            None => {
                entries.insert(rest.to_string(), Some(bytes.len()));
            }
        }
    }
    let files: Vec<Value> = entries
        .into_iter()
        .map(|(name, size)| match size {
            Some(size) => json!({"path": name, "is_dir": false, "file_size": size}),
            None => json!({"path": name, "is_dir": true}),
        })
        .collect();
    Ok(Json(with_page(json!({}), "files", files, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_filters_split_on_and_and_refuse_other_fields() {
        let clauses =
            parse_run_filter("attributes.start_time >= 10 AND attributes.start_time < 20").unwrap();
        assert_eq!(
            clauses,
            vec![
                ("start_time".into(), ">=".into(), 10),
                ("start_time".into(), "<".into(), 20)
            ]
        );
        let err = parse_run_filter("metrics.accuracy > 0.5").unwrap_err();
        assert!(err.contains("metrics.accuracy"), "{err}");
    }

    #[test]
    fn model_filters_take_equals_and_like() {
        assert_eq!(
            parse_equals("name='churn-model'", &["name"]).unwrap(),
            ("name".into(), "churn-model".into(), false)
        );
        let (_, pattern, is_like) = parse_equals("name LIKE 'churn%'", &["name"]).unwrap();
        assert!(is_like && like(&pattern, "churn-model") && !like(&pattern, "recsys"));
        assert!(parse_equals("tags.x = '1'", &["name"]).is_err());
    }

    #[test]
    fn page_tokens_are_base64_offsets_as_the_server_issues_them() {
        assert_eq!(page_token(1), "eyJvZmZzZXQiOiAxfQ==");
        assert_eq!(page_offset(Some("eyJvZmZzZXQiOiAxfQ==")).unwrap(), 1);
        assert!(page_offset(Some("not a token")).is_err());
    }

    #[test]
    fn the_seed_has_weeks_of_runs_and_versions() {
        let state = seed(100 * DAY_MS);
        assert!(state.runs.len() >= 90, "{} runs", state.runs.len());
        assert_eq!(state.versions.len(), 15);
        assert!(state.runs.iter().all(|r| r.start_time < 100 * DAY_MS));
    }
}
