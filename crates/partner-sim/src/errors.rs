//! Error answers in each platform's own shape: spec violations (400), throttling (429) and
//! server failures (5xx). Handlers return [`ApiError`]; a violation's message is prefixed with
//! the request line (`partner-sim: POST /api/v2/series: ...`) taken from a task-local that the
//! fault middleware sets around every platform request.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::Platform;

tokio::task_local! {
    /// `METHOD /path` of the request being handled.
    pub(crate) static REQUEST_LINE: String;
}

/// An error answer: status, JSON body, extra headers.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub(crate) fn new(status: u16, body: Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                resp.headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        resp
    }
}

/// `partner-sim: METHOD /path: detail`.
pub(crate) fn violation_message(detail: &str) -> String {
    REQUEST_LINE
        .try_with(|line| format!("partner-sim: {line}: {detail}"))
        .unwrap_or_else(|_| format!("partner-sim: {detail}"))
}

impl Platform {
    /// 400 for a request that does not conform to the platform's spec.
    pub(crate) fn bad_request(self, detail: &str) -> ApiError {
        let message = violation_message(detail);
        match self {
            Platform::Databricks => ApiError::new(
                400,
                json!({"error_code": "INVALID_PARAMETER_VALUE", "message": message}),
            ),
            // sqlapi.yaml 400BadRequest carries ErrorResponse {code, message}; the code is the sim's.
            Platform::Snowflake => {
                ApiError::new(400, json!({"code": "390400", "message": message}))
            }
            // googlerpcStatus, code 3 = INVALID_ARGUMENT.
            Platform::Kubeflow => {
                ApiError::new(400, json!({"code": 3, "message": message, "details": []}))
            }
            Platform::Datadog => ApiError::new(400, json!({"errors": [message]})),
            Platform::Mlflow => ApiError::new(
                400,
                json!({"error_code": "INVALID_PARAMETER_VALUE", "message": message}),
            ),
        }
    }

    /// 429 with `Retry-After` in the platform's body.
    pub(crate) fn throttled(self, retry_after_s: u64) -> ApiError {
        let err = match self {
            Platform::Databricks => ApiError::new(
                429,
                json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests. Please wait a moment and try again."}),
            ),
            Platform::Snowflake => ApiError::new(
                429,
                json!({"code": "390429", "message": "Too many requests. Please retry after a while."}),
            ),
            Platform::Kubeflow => ApiError::new(
                429,
                json!({"code": 8, "message": "rate limit exceeded", "details": []}),
            ),
            Platform::Datadog => ApiError::new(
                429,
                json!({"errors": ["Rate limit exceeded. Please try again later."]}),
            ),
            Platform::Mlflow => ApiError::new(
                429,
                json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests. Please wait a moment and try again."}),
            ),
        };
        err.header("retry-after", retry_after_s.to_string())
    }

    /// A 5xx answer in the platform's body.
    pub(crate) fn server_error(self, status: u16) -> ApiError {
        let unavailable = status == 503;
        match self {
            Platform::Databricks => {
                let code = if unavailable {
                    "TEMPORARILY_UNAVAILABLE"
                } else {
                    "INTERNAL_ERROR"
                };
                ApiError::new(
                    status,
                    json!({"error_code": code, "message": "partner-sim: injected server fault"}),
                )
            }
            Platform::Snowflake => ApiError::new(
                status,
                json!({"code": format!("390{status}"), "message": "partner-sim: injected server fault"}),
            ),
            Platform::Kubeflow => ApiError::new(
                status,
                json!({"code": if unavailable { 14 } else { 13 }, "message": "partner-sim: injected server fault", "details": []}),
            ),
            Platform::Datadog => ApiError::new(
                status,
                json!({"errors": [if unavailable { "Service Unavailable" } else { "Internal Server Error" }]}),
            ),
            Platform::Mlflow => ApiError::new(
                status,
                json!({"error_code": if unavailable { "TEMPORARILY_UNAVAILABLE" } else { "INTERNAL_ERROR" }, "message": "partner-sim: injected server fault"}),
            ),
        }
    }
}
