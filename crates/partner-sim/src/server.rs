//! The listeners: one TCP listener per platform, served by hyper with an axum router. This
//! module owns the accept loop (and its shutdown), the fault middleware that applies a
//! platform's [`Faults`] to every request, Datadog's `X-RateLimit-*` accounting, and the
//! `GET/PUT /_sim/faults` admin routes that change faults at run time.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::clock::SharedClock;
use crate::errors::{ApiError, REQUEST_LINE};
use crate::faults::{DownMode, Faults};
use crate::Platform;

/// Per-listener state shared by the middleware and the admin routes.
#[derive(Debug)]
pub(crate) struct Listener {
    pub platform: Platform,
    pub clock: SharedClock,
    started_ms: i64,
    faults: Mutex<Faults>,
    /// Fixed-window counters: name → (window start ms, count).
    windows: Mutex<HashMap<String, (i64, u32)>>,
    /// Datadog's default limit (limit, period seconds).
    default_limit: Option<(u32, u64)>,
}

impl Listener {
    pub(crate) fn new(
        platform: Platform,
        clock: SharedClock,
        faults: Faults,
        default_limit: Option<(u32, u64)>,
    ) -> Arc<Self> {
        Arc::new(Self {
            platform,
            started_ms: clock.now_ms(),
            clock,
            faults: Mutex::new(faults),
            windows: Mutex::new(HashMap::new()),
            default_limit,
        })
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.clock.now_ms() - self.started_ms).unwrap_or(0)
    }

    fn closes_connections_now(&self) -> bool {
        let f = self.faults();
        f.down_mode == DownMode::Close && f.is_down_at(self.elapsed_ms())
    }

    /// Counts one request against `name`'s window: ((limit, period, remaining, reset), over).
    fn count(&self, name: &str, limit: u32, period_s: u64) -> ((u32, u64, u32, u64), bool) {
        let now = self.clock.now_ms();
        let period_ms = i64::try_from(period_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = windows.entry(name.to_string()).or_insert((now, 0));
        if now - entry.0 >= period_ms {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let remaining = limit.saturating_sub(entry.1);
        let over = entry.1 > limit;
        let reset_ms = (entry.0 + period_ms - now).max(0);
        let reset = u64::try_from((reset_ms + 999) / 1000).unwrap_or(1).max(1);
        ((limit, period_s, remaining, reset), over)
    }
}

/// Marks an answer whose connection must be closed without writing it.
#[derive(Clone, Copy, Debug)]
struct CloseConnection;

#[derive(Debug, thiserror::Error)]
#[error("partner-sim closed the connection (down_mode = close)")]
struct ClosedByFault;

fn chance(rate: f64) -> bool {
    rate > 0.0 && (rate >= 1.0 || rand::thread_rng().gen_bool(rate))
}

/// The Datadog rate-limit family a path belongs to (`X-RateLimit-Name`).
fn datadog_limit_name(path: &str) -> &'static str {
    if path.starts_with("/api/v2/usage") || path.starts_with("/api/v1/usage") {
        "usage_metering"
    } else if path.starts_with("/api/v1/validate") {
        "validate"
    } else if path.contains("/events") {
        "events"
    } else if path.contains("/series") {
        "metrics_submission"
    } else {
        "api"
    }
}

/// Applies the listener's faults around one platform request.
pub(crate) async fn fault_layer(
    State(listener): State<Arc<Listener>>,
    req: Request,
    next: Next,
) -> Response {
    let platform = listener.platform;
    let line = format!("{} {}", req.method(), req.uri().path());
    let path = req.uri().path().to_string();
    let faults = listener.faults();

    if faults.is_down_at(listener.elapsed_ms()) {
        tracing::debug!(%platform, %line, "answering as down");
        if faults.down_mode == DownMode::Close {
            let mut resp = StatusCode::SERVICE_UNAVAILABLE.into_response();
            resp.extensions_mut().insert(CloseConnection);
            return resp;
        }
        return platform
            .server_error(503)
            .header("retry-after", faults.retry_after().to_string())
            .into_response();
    }
    if chance(faults.hang_rate) {
        tracing::debug!(%platform, %line, "hanging");
        std::future::pending::<()>().await;
    }
    let delay = faults.latency_ms
        + if faults.jitter_ms > 0 {
            rand::thread_rng().gen_range(0..=faults.jitter_ms)
        } else {
            0
        };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    // Rate limiting: Datadog always counts (and reports); others only under a rate_limit fault.
    let mut rate_headers: Option<(String, (u32, u64, u32, u64))> = None;
    let limit = faults
        .rate_limit
        .as_ref()
        .map(|r| (r.limit, r.period_s))
        .or(listener.default_limit);
    if let Some((limit, period)) = limit {
        let name = if platform == Platform::Datadog {
            datadog_limit_name(&path)
        } else {
            "all"
        };
        let (counted, over) = listener.count(name, limit, period);
        if platform == Platform::Datadog {
            rate_headers = Some((name.to_string(), counted));
        }
        if over {
            let mut err = platform.throttled(counted.3);
            if let Some((name, c)) = &rate_headers {
                err = with_rate_headers(err, name, *c);
            }
            return err.into_response();
        }
    }
    if chance(faults.throttle_rate) {
        let retry = faults.retry_after();
        let mut err = platform.throttled(retry);
        if let Some((name, (limit, period, _, _))) = &rate_headers {
            err = with_rate_headers(err, name, (*limit, *period, 0, retry));
        } else if platform == Platform::Datadog {
            err = with_rate_headers(err, "api", (1000, 60, 0, retry));
        }
        return err.into_response();
    }
    if chance(faults.error_rate) {
        let mut err = platform.server_error(faults.error_status.unwrap_or(500));
        if let Some((name, c)) = &rate_headers {
            err = with_rate_headers(err, name, *c);
        }
        return err.into_response();
    }

    let mut resp = REQUEST_LINE.scope(line, next.run(req)).await;

    if let Some((name, (limit, period, remaining, reset))) = &rate_headers {
        let h = resp.headers_mut();
        for (k, v) in [
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-period", period.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
            ("x-ratelimit-name", name.clone()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
    }

    if resp.status().is_success() && chance(faults.malformed_rate) {
        resp = malformed(resp).await;
    }
    if resp.status().is_success() && faults.oversized_bytes > 0 {
        resp = oversized(resp, faults.oversized_bytes);
    }
    if let Some(t) = &faults.trickle {
        resp = trickle(resp, t.chunk_bytes.max(1), t.interval_ms).await;
    }
    resp
}

fn with_rate_headers(err: ApiError, name: &str, c: (u32, u64, u32, u64)) -> ApiError {
    err.header("x-ratelimit-limit", c.0.to_string())
        .header("x-ratelimit-period", c.1.to_string())
        .header("x-ratelimit-remaining", c.2.to_string())
        .header("x-ratelimit-reset", c.3.to_string())
        .header("x-ratelimit-name", name.to_string())
}

/// Cuts the JSON body in the middle (keeping the status and a JSON content type).
async fn malformed(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut cut = bytes[..bytes.len() / 2].to_vec();
    cut.extend_from_slice(b"{\"partner-sim\": tru");
    parts.headers.remove("content-length");
    parts
        .headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(cut))
}

/// Replaces the body with `size` bytes of valid JSON, streamed in 64 KiB chunks.
fn oversized(resp: Response, size: u64) -> Response {
    const CHUNK: u64 = 64 * 1024;
    let (mut parts, _) = resp.into_parts();
    let head = b"{\"padding\":\"".to_vec();
    let tail = b"\"}".to_vec();
    let fill = size.saturating_sub((head.len() + tail.len()) as u64);
    let stream = futures_util::stream::unfold(
        (0u8, fill, head, tail),
        |(stage, left, head, tail)| async move {
            match stage {
                0 => Some((
                    Ok::<_, Infallible>(Bytes::from(head.clone())),
                    (1, left, head, tail),
                )),
                1 if left > 0 => {
                    let n = left.min(CHUNK);
                    let chunk = Bytes::from(vec![b'x'; usize::try_from(n).unwrap_or(0)]);
                    Some((Ok(chunk), (1, left - n, head, tail)))
                }
                1 => Some((Ok(Bytes::from(tail.clone())), (2, 0, head, tail))),
                _ => None,
            }
        },
    );
    parts.headers.insert(
        "content-length",
        HeaderValue::from(size.max((b"{\"padding\":\"\"}").len() as u64)),
    );
    parts
        .headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Sends the body `chunk` bytes at a time, pausing `interval_ms` before each chunk.
async fn trickle(resp: Response, chunk: usize, interval_ms: u64) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove("content-length");
    let stream = futures_util::stream::unfold(bytes, move |rest: Bytes| async move {
        if rest.is_empty() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
        let n = chunk.min(rest.len());
        Some((Ok::<_, Infallible>(rest.slice(..n)), rest.slice(n..)))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn get_faults(State(listener): State<Arc<Listener>>) -> Json<Faults> {
    Json(listener.faults())
}

async fn put_faults(State(listener): State<Arc<Listener>>, body: Bytes) -> Response {
    let parsed: Result<Faults, String> =
        serde_json::from_slice(&body).map_err(|e| format!("body: {e}"));
    match parsed.and_then(|f| f.validate().map(|()| f)) {
        Ok(faults) => {
            tracing::info!(platform = %listener.platform, ?faults, "faults changed");
            listener.set_faults(faults.clone());
            Json(faults).into_response()
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": format!("partner-sim: PUT /_sim/faults: {message}")})),
        )
            .into_response(),
    }
}

/// The admin routes, outside the fault middleware.
pub(crate) fn admin_router(listener: Arc<Listener>) -> Router {
    Router::new()
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .with_state(listener)
}

/// Accepts connections on `tcp` and serves `router` until `shutdown` flips; dropping the task
/// aborts every open connection (hung ones included).
pub(crate) async fn serve(
    tcp: TcpListener,
    router: Router,
    listener: Arc<Listener>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if listener.closes_connections_now() {
            tracing::debug!(%peer, "closing connection: down");
            drop(stream);
            continue;
        }
        let router = router.clone();
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp = match router.oneshot(req).await {
                            Ok(resp) => resp,
                            Err(never) => match never {},
                        };
                        if resp.extensions().get::<CloseConnection>().is_some() {
                            return Err(ClosedByFault);
                        }
                        Ok(resp)
                    }
                });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, %error, "connection ended");
            }
        });
    }
    connections.abort_all();
}
