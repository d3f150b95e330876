//! Datadog API simulator for one site (`specs/datadog/openapi-v1.yaml` ValidateAPIKey,
//! CreateEvent, ListEvents, GetEvent; `openapi-v2.yaml` SubmitMetrics, GetHourlyUsage,
//! GetEstimatedCostByOrg), with bodies shaped like `recorded-examples/`.
//!
//! Auth: `DD-API-KEY` on every call (missing → 403 `{"errors":["API key required"]}`, wrong →
//! 403 `{"errors":["Forbidden"]}`); usage and event reads also need `DD-APPLICATION-KEY`.
//! Every answer carries `X-RateLimit-{Limit,Period,Remaining,Reset,Name}` (added by the fault
//! middleware); errors are `{"errors": ["..."]}`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde_json::{json, Value};

use crate::check::{self, Kind, Query};
use crate::clock::SharedClock;
use crate::config::{DatadogConfig, SimConfig};
use crate::errors::ApiError;
use crate::{Platform, SimError};

const P: Platform = Platform::Datadog;

/// Product families accepted by `filter[product_families]` (openapi-v2.yaml GetHourlyUsage).
const FAMILIES: [&str; 49] = [
    "all",
    "ai",
    "analyzed_logs",
    "application_performance_monitoring",
    "application_security",
    "audit_trail",
    "bits_ai",
    "serverless",
    "ci_app",
    "cloud_cost_management",
    "cloud_siem",
    "csm_container_enterprise",
    "csm_host_enterprise",
    "csm_host_pro",
    "cspm",
    "custom_events",
    "cws",
    "data_observability",
    "dbm",
    "digital_experience_management",
    "error_tracking",
    "fargate",
    "infra_hosts",
    "incident_management",
    "indexed_logs",
    "indexed_spans",
    "infrastructure_monitoring",
    "ingested_spans",
    "iot",
    "lambda_traced_invocations",
    "llm_observability",
    "log_management",
    "logs",
    "network_flows",
    "network_hosts",
    "network_monitoring",
    "observability_pipelines",
    "online_archive",
    "platform_capabilities",
    "product_analytics",
    "profiling",
    "rum",
    "rum_browser_sessions",
    "rum_mobile_sessions",
    "sds",
    "security",
    "snmp",
    "software_delivery",
    "synthetics_api",
];
const MORE_FAMILIES: [&str; 6] = [
    "synthetics_browser",
    "synthetics_mobile",
    "synthetics_parallel_testing",
    "timeseries",
    "vuln_management",
    "workflow_executions",
];
/// What `all` expands to in the simulator.
const ALL_EXPANDS_TO: [&str; 4] = ["infra_hosts", "logs", "timeseries", "synthetics_api"];

fn bad(detail: String) -> ApiError {
    P.bad_request(&detail)
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(403, json!({"errors": [message]}))
}

#[derive(Debug)]
struct Dd {
    cfg: DatadogConfig,
    clock: SharedClock,
    events: Mutex<Vec<Value>>,
    next_event_id: AtomicI64,
    points_received: AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Datadog router.
pub(crate) fn router(config: &SimConfig) -> Result<Router, SimError> {
    let dd = Arc::new(Dd {
        cfg: config.datadog.clone(),
        clock: config.clock.clone(),
        events: Mutex::new(Vec::new()),
        next_event_id: AtomicI64::new(7_000_000_000_000_000_000),
        points_received: AtomicI64::new(0),
    });
    let app_key_routes = Router::new()
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/events/{id}", get(get_event))
        .route("/api/v2/usage/hourly_usage", get(hourly_usage))
        .route("/api/v2/usage/estimated_cost", get(estimated_cost))
        .route_layer(axum::middleware::from_fn_with_state(dd.clone(), app_key));
    let api = Router::new()
        .merge(app_key_routes)
        .route("/api/v1/validate", get(validate))
        .route("/api/v2/series", post(submit_series))
        .route("/api/v1/events", post(create_event))
        .route_layer(axum::middleware::from_fn_with_state(dd.clone(), api_key));
    Ok(api
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(dd))
}

async fn unknown_path() -> ApiError {
    bad("unknown path: not a Datadog API endpoint the simulator serves".into())
}

async fn wrong_method(method: Method) -> ApiError {
    bad(format!("method {method} is not allowed on this path"))
}

async fn api_key(State(dd): State<Arc<Dd>>, req: Request, next: Next) -> Response {
    match check::header(req.headers(), "dd-api-key") {
        None => forbidden("API key required").into_response(),
        Some(k) if !dd.cfg.api_keys.iter().any(|a| a == k) => {
            forbidden("Forbidden").into_response()
        }
        Some(_) => next.run(req).await,
    }
}

async fn app_key(State(dd): State<Arc<Dd>>, req: Request, next: Next) -> Response {
    match check::header(req.headers(), "dd-application-key") {
        Some(k) if dd.cfg.app_keys.iter().any(|a| a == k) => next.run(req).await,
        _ => forbidden("Forbidden").into_response(),
    }
}

/// `GET /api/v1/validate` → `{"valid": true}`.
async fn validate() -> Json<Value> {
    Json(json!({"valid": true}))
}

/// `POST /api/v2/series` (MetricPayload) → 202 `{"errors": []}`.
async fn submit_series(
    State(dd): State<Arc<Dd>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(enc) = check::header(&headers, "content-encoding") {
        if !["deflate", "gzip", "zstd1", "identity"].contains(&enc) {
            return Err(bad(format!(
                "header Content-Encoding: {enc:?} is not one of deflate, gzip, zstd1"
            )));
        }
        if enc != "identity" {
            return Err(bad(format!("header Content-Encoding: {enc} is valid but not simulated; send the JSON uncompressed")));
        }
    }
    if body.len() > 5_000_000 {
        return Err(ApiError::new(413, json!({"errors": ["Payload too large"]})));
    }
    let body = check::json_object(&body).map_err(bad)?;
    let series = check::field(&body, "body", "series", Kind::Array, true)
        .map_err(bad)?
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut points = 0;
    for (i, s) in series.iter().enumerate() {
        let path = format!("body.series[{i}]");
        if !s.is_object() {
            return Err(bad(format!(
                "{path}: expected object, found {}",
                check::type_name(s)
            )));
        }
        check::req_str(s, &path, "metric").map_err(bad)?;
        if let Some(t) = check::opt_i64(s, &path, "type").map_err(bad)? {
            if !(0..=3).contains(&t) {
                return Err(bad(format!("{path}.type: {t} is not one of 0 (unspecified), 1 (count), 2 (rate), 3 (gauge)")));
            }
        }
        check::opt_i64(s, &path, "interval").map_err(bad)?;
        check::opt_str(s, &path, "unit").map_err(bad)?;
        check::opt_str(s, &path, "source_type_name").map_err(bad)?;
        if let Some(tags) = check::field(s, &path, "tags", Kind::Array, false)
            .map_err(bad)?
            .and_then(Value::as_array)
        {
            if let Some((j, t)) = tags.iter().enumerate().find(|(_, t)| !t.is_string()) {
                return Err(bad(format!(
                    "{path}.tags[{j}]: expected string, found {}",
                    check::type_name(t)
                )));
            }
        }
        if let Some(res) = check::field(s, &path, "resources", Kind::Array, false)
            .map_err(bad)?
            .and_then(Value::as_array)
        {
            for (j, r) in res.iter().enumerate() {
                check::opt_str(r, &format!("{path}.resources[{j}]"), "name").map_err(bad)?;
                check::opt_str(r, &format!("{path}.resources[{j}]"), "type").map_err(bad)?;
            }
        }
        let pts = check::field(s, &path, "points", Kind::Array, true)
            .map_err(bad)?
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, p) in pts.iter().enumerate() {
            let ppath = format!("{path}.points[{j}]");
            if !p.is_object() {
                return Err(bad(format!(
                    "{ppath}: expected object, found {}",
                    check::type_name(p)
                )));
            }
            check::field(p, &ppath, "timestamp", Kind::Integer, true).map_err(bad)?;
            check::field(p, &ppath, "value", Kind::Number, true).map_err(bad)?;
        }
        points += pts.len() as i64;
    }
    dd.points_received.fetch_add(points, Ordering::Relaxed);
    Ok((StatusCode::ACCEPTED, Json(json!({"errors": []}))).into_response())
}

/// `POST /api/v1/events` (EventCreateRequest) → 202 `{"status": "ok", "event": {...}}`.
async fn create_event(State(dd): State<Arc<Dd>>, body: Bytes) -> Result<Response, ApiError> {
    let body = check::json_object(&body).map_err(bad)?;
    let title = check::req_str(&body, "body", "title")
        .map_err(bad)?
        .to_string();
    let text = check::req_str(&body, "body", "text")
        .map_err(bad)?
        .to_string();
    if text.chars().count() > 4000 {
        return Err(bad("body.text: longer than 4000 characters".into()));
    }
    let date = check::opt_i64(&body, "body", "date_happened")
        .map_err(bad)?
        .unwrap_or(dd.clock.now_ms() / 1000);
    let alert_type = check::opt_str(&body, "body", "alert_type").map_err(bad)?;
    const ALERTS: [&str; 8] = [
        "error",
        "warning",
        "info",
        "success",
        "user_update",
        "recommendation",
        "snapshot",
        "incident",
    ];
    if let Some(a) = alert_type {
        if !ALERTS.contains(&a) {
            return Err(bad(format!(
                "body.alert_type: {a:?} is not one of {}",
                ALERTS.join(", ")
            )));
        }
    }
    let priority = check::opt_str(&body, "body", "priority").map_err(bad)?;
    if let Some(p) = priority {
        if !["normal", "low"].contains(&p) {
            return Err(bad(format!(
                "body.priority: {p:?} is not one of normal, low"
            )));
        }
    }
    for key in [
        "aggregation_key",
        "host",
        "source_type_name",
        "related_event_id",
    ] {
        let kind = if key == "related_event_id" {
            Kind::Integer
        } else {
            Kind::String
        };
        check::field(&body, "body", key, kind, false).map_err(bad)?;
    }
    let tags = check::field(&body, "body", "tags", Kind::Array, false)
        .map_err(bad)?
        .cloned()
        .unwrap_or(json!([]));
    if let Some((j, t)) = tags
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(_, t)| !t.is_string())
    {
        return Err(bad(format!(
            "body.tags[{j}]: expected string, found {}",
            check::type_name(t)
        )));
    }
    let id = dd.next_event_id.fetch_add(1, Ordering::SeqCst);
    let event = json!({
        "id": id,
        "id_str": id.to_string(),
        "title": title,
        "text": text,
        "date_happened": date,
        "handle": Value::Null,
        "priority": priority,
        "related_event_id": Value::Null,
        "alert_type": alert_type.unwrap_or("info"),
        "host": body.get("host").cloned().unwrap_or(Value::Null),
        "tags": tags,
        "url": format!("https://app.datadoghq.com/event/event?id={id}"),
    });
    lock(&dd.events).push(event.clone());
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "ok", "event": event})),
    )
        .into_response())
}

/// `GET /api/v1/events?start=&end=[&tags=&sources=&priority=]` → `{"events": [...]}`.
async fn list_events(
    State(dd): State<Arc<Dd>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(raw.as_deref());
    let start = q
        .int("start")
        .map_err(bad)?
        .ok_or_else(|| bad("query parameter `start`: required, missing".into()))?;
    let end = q
        .int("end")
        .map_err(bad)?
        .ok_or_else(|| bad("query parameter `end`: required, missing".into()))?;
    let tags: Vec<&str> = q
        .get("tags")
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut events: Vec<Value> = lock(&dd.events)
        .iter()
        .filter(|e| {
            e["date_happened"]
                .as_i64()
                .is_some_and(|d| d >= start && d <= end)
        })
        .filter(|e| {
            tags.iter().all(|t| {
                e["tags"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == t))
            })
        })
        .cloned()
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e["date_happened"].as_i64()));
    Ok(Json(json!({"events": events, "status": "ok"})))
}

/// `GET /api/v1/events/{event_id}`.
async fn get_event(
    State(dd): State<Arc<Dd>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        bad(format!(
            "path parameter `event_id`: {id:?} is not an integer"
        ))
    })?;
    lock(&dd.events)
        .iter()
        .find(|e| e["id"] == id)
        .map(|e| Json(json!({"event": e})))
        .ok_or_else(|| ApiError::new(404, json!({"errors": ["Event not found"]})))
}

fn parse_hour(s: &str, what: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(
            &format!("{s}{}", if f == "%Y-%m-%dT%H" { ":00" } else { "" }),
            if f == "%Y-%m-%dT%H" {
                "%Y-%m-%dT%H:%M"
            } else {
                f
            },
        ) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    Err(format!("query parameter `{what}`: {s:?} is not an ISO-8601 date-time ([YYYY-MM-DDThh] or RFC 3339)"))
}

fn measurements(family: &str, hour: &str) -> Vec<Value> {
    let n = |usage: &str, scale: f64| json!({"usage_type": usage, "value": (scale * check::unit(&format!("{hour}/{usage}"))).round() as i64});
    match family {
        "infra_hosts" => vec![
            n("agent_host_count", 20.0),
            n("apm_host_count", 6.0),
            n("aws_host_count", 4.0),
            n("container_count", 40.0),
            n("host_count", 24.0),
            n("opentelemetry_host_count", 2.0),
        ],
        "logs" => vec![
            n("indexed_events_count", 1_000_000.0),
            n("ingested_events_bytes", 5e9),
            n("logs_live_indexed_count", 800_000.0),
        ],
        "timeseries" => vec![
            n("num_custom_timeseries", 5_000.0),
            n("num_custom_input_timeseries", 6_000.0),
            n("num_custom_output_timeseries", 5_000.0),
        ],
        "synthetics_api" => vec![n("check_calls_count", 2_000.0)],
        other => vec![n(&format!("{other}_usage"), 100.0)],
    }
}

/// `GET /api/v2/usage/hourly_usage` (`filter[timestamp][start]` and `filter[product_families]`
/// required; `filter[timestamp][end]`, `page[limit]` ≤ 500, `page[next_record_id]`).
async fn hourly_usage(
    State(dd): State<Arc<Dd>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let start = parse_hour(
        q.required("filter[timestamp][start]").map_err(bad)?,
        "filter[timestamp][start]",
    )
    .map_err(bad)?;
    let now = Utc
        .timestamp_millis_opt(dd.clock.now_ms())
        .single()
        .unwrap_or_default();
    let end = match q.get("filter[timestamp][end]") {
        Some(e) if !e.is_empty() => parse_hour(e, "filter[timestamp][end]").map_err(bad)?,
        _ => now,
    };
    let families_raw = q.required("filter[product_families]").map_err(bad)?;
    let mut families = Vec::new();
    for f in families_raw.split(',').map(str::trim) {
        if !FAMILIES.contains(&f) && !MORE_FAMILIES.contains(&f) {
            return Err(bad(format!(
                "query parameter `filter[product_families]`: {f:?} is not a product family"
            )));
        }
        if f == "all" {
            families.extend(ALL_EXPANDS_TO);
        } else {
            families.push(f);
        }
    }
    families.dedup();
    let limit = match q.int("page[limit]").map_err(bad)? {
        None => 500,
        Some(n) if (1..=500).contains(&n) => n as usize,
        Some(n) => {
            return Err(bad(format!(
                "query parameter `page[limit]`: {n} is outside 1..=500"
            )))
        }
    };
    let trunc = |t: DateTime<Utc>| {
        t.with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t)
    };
    let (start, end) = (trunc(start), trunc(end.min(now)));
    if start >= end {
        let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H").to_string();
        return Err(ApiError::new(
            400,
            json!({"errors": [format!("start_hr [{}] must be before end_hr [{}]", f(start), f(end))]}),
        ));
    }
    let hours = (end - start).num_hours().min(24 * 93);
    let offset: usize = match q.get("page[next_record_id]").filter(|s| !s.is_empty()) {
        None => 0,
        Some(id) => id.strip_prefix("rec").and_then(|n| n.parse().ok()).ok_or_else(|| bad(format!("query parameter `page[next_record_id]`: {id:?} is not a record id this server issued")))?,
    };
    let total = hours as usize * families.len();
    let last = (offset + limit).min(total);
    let data: Vec<Value> = (offset.min(total)..last)
        .map(|i| {
            let hour = start + Duration::hours((i / families.len()) as i64);
            let family = families[i % families.len()];
            let ts = hour.format("%Y-%m-%dT%H:00:00+00:00").to_string();
            json!({
                "attributes": {"org_name": dd.cfg.org_name, "public_id": dd.cfg.public_id, "timestamp": ts, "region": "us", "measurements": measurements(family, &ts), "product_family": family},
                "type": "usage_timeseries",
                "id": format!("{:016x}{:016x}", (check::unit(&format!("{ts}/{family}")) * 1e18) as u64, i),
            })
        })
        .collect();
    let next = (last < total).then(|| format!("rec{last}"));
    let mut resp = Json(json!({"data": data, "meta": {"pagination": {"next_record_id": next}}}))
        .into_response();
    resp.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json;datetime-format=rfc3339"),
    );
    Ok(resp)
}

/// `GET /api/v2/usage/estimated_cost` (`start_month`/`end_month` or `start_date`/`end_date`, `view`).
async fn estimated_cost(
    State(dd): State<Arc<Dd>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let month = q.get("start_month").filter(|s| !s.is_empty());
    let date = q.get("start_date").filter(|s| !s.is_empty());
    let start = match (month, date) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "query parameters `start_month` and `start_date` cannot both be given".into(),
            ))
        }
        (None, None) => {
            return Err(bad(
                "query parameter `start_month` or `start_date`: one is required, both missing"
                    .into(),
            ))
        }
        (Some(m), None) => parse_hour(m, "start_month").map_err(bad)?,
        (None, Some(d)) => parse_hour(d, "start_date").map_err(bad)?,
    };
    if let Some(v) = q.get("view") {
        if !["summary", "sub-org"].contains(&v) {
            return Err(bad(format!(
                "query parameter `view`: {v:?} is not one of summary, sub-org"
            )));
        }
    }
    let now = Utc
        .timestamp_millis_opt(dd.clock.now_ms())
        .single()
        .unwrap_or_default();
    let by_day = date.is_some();
    let mut data = Vec::new();
    let mut day = start.date_naive();
    let last = now.date_naive();
    while day <= last && data.len() < 62 {
        let products = [
            ("infra_host", "committed", 300.0),
            ("logs_indexed_15day", "on_demand", 120.0),
            ("apm_host", "committed", 200.0),
        ];
        let charges: Vec<Value> = products.iter().map(|(p, t, scale)| json!({"product_name": p, "charge_type": t, "cost": ((scale * check::unit(&format!("{day}/{p}"))) * 100.0).round() / 100.0})).collect();
        let total: f64 = charges.iter().filter_map(|c| c["cost"].as_f64()).sum();
        let dt = day.and_hms_opt(0, 0, 0).map(|d| d.and_utc()).unwrap_or(now);
        data.push(json!({"attributes": {"org_name": dd.cfg.org_name, "public_id": dd.cfg.public_id, "region": "us", "total_cost": (total * 100.0).round() / 100.0, "charges": charges, "date": dt.format("%Y-%m-%dT%H:00:00+00:00").to_string()}, "type": "cost_by_org", "id": format!("{:016x}", (check::unit(&day.to_string()) * 1e18) as u64)}));
        day = if by_day {
            day + Duration::days(1)
        } else {
            let next = NaiveDate::from_ymd_opt(
                if day.format("%m").to_string() == "12" {
                    day.format("%Y").to_string().parse::<i32>().unwrap_or(2000) + 1
                } else {
                    day.format("%Y").to_string().parse().unwrap_or(2000)
                },
                if day.format("%m").to_string() == "12" {
                    1
                } else {
                    day.format("%m").to_string().parse::<u32>().unwrap_or(1) + 1
                },
                1,
            );
            match next {
                Some(n) => n,
                None => break,
            }
        };
    }
    let mut resp = Json(json!({"data": data})).into_response();
    resp.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json;datetime-format=rfc3339"),
    );
    Ok(resp)
}
