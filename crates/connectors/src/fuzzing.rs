//! Entry points of the connector fuzz targets (`fuzz/` at the repository root, see
//! docs/FUZZING.md) and of the tests that replay their corpora and every crash they found
//! (`tests/fuzz_regressions.rs`).
//!
//! An input is an HTTP answer written out as text, so seeds are real answers a person can read
//! and edit:
//!
//! ```text
//! <what> <status> [<latency ms>]
//! Header-Name: value
//! Another-Header: value
//!
//! <body bytes>
//! ```
//!
//! `<what>` picks which of the connector's answers the body is read as (`health`, a usage
//! answer such as `runs` or `statement`, or anything else for an error answer). The answer goes
//! through [`http::answer`], the function every real call's answer goes through (a non-2xx
//! status becomes the classified error with the platform's message and the wait it asked
//! for), then through the connector's own parser, the one its real calls use. Each function
//! panics only when an invariant breaks; hostile answers must come back as errors.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ecosystem_core::custom_check;
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, IntegrationError, IntegrationResult, UsageFigure,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::custom_http::{CheckOutcome, CustomHttpConnector};
use crate::data::StatementProgress;
use crate::factory::assemble_check;
use crate::http::{self, HttpResponse};
use crate::resilience::{ResiliencePolicy, RetryPolicy};
use crate::usage::daily_counts;
use crate::{databricks, datadog, kubeflow, mlflow, snowflake};

/// The context every message of a fuzzed answer starts with.
pub const CONTEXT: &str = "fuzz partner operation";

/// One answer read from a fuzz input.
#[derive(Debug)]
pub struct Answer<'a> {
    pub what: &'a str,
    pub status: u16,
    pub latency_ms: u64,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl<'a> Answer<'a> {
    /// Reads the text form; `None` when the first line is not `<what> <status>` (such inputs
    /// are not answers at all). Header lines that are not valid HTTP headers are dropped, as
    /// an HTTP client would never hand them over.
    pub fn read(data: &'a [u8]) -> Option<Answer<'a>> {
        let (head, body) = match find(data, b"\n\n") {
            Some(at) => (&data[..at], data[at + 2..].to_vec()),
            None => (data, Vec::new()),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.lines();
        let mut first = lines.next()?.split_whitespace();
        let what = first.next()?;
        let status = first.next()?.parse::<u16>().ok()?;
        let latency_ms = first.next().and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                headers.append(name, value);
            }
        }
        Some(Answer {
            what,
            status,
            latency_ms,
            headers,
            body,
        })
    }

    /// The answer as the connectors see it: the response, or the classified error.
    fn response(&self) -> IntegrationResult<HttpResponse> {
        http::answer(
            CONTEXT,
            self.status,
            self.headers.clone(),
            self.body.clone(),
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The usage window the usage answers are read for.
fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    let day = |d| Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).single();
    let from = day(20).unwrap_or_default();
    (from, day(27).unwrap_or(from))
}

/// Every error names the call it came from, and a classified answer keeps its status.
fn check_error(error: &IntegrationError, status: u16) {
    assert!(
        error.message.starts_with(CONTEXT),
        "the error names the call: {}",
        error.message
    );
    if let Some(s) = error.status {
        assert!(s == status || (200..300).contains(&status), "{error:?}");
    }
    // The wait the platform asked for goes through the retry policy unharmed.
    let _ = RetryPolicy::default().next_delay(error, 1, Duration::ZERO);
}

fn check_result<T>(result: &IntegrationResult<T>, status: u16) {
    if let Err(e) = result {
        check_error(e, status);
    }
}

/// The health state the connection check gives a first probe's outcome.
fn check_health(first: IntegrationResult<()>, status: u16) -> ConnectionCheck {
    check_result(&first, status);
    let ok = first.is_ok();
    let check = assemble_check("health", first, 1, Vec::new(), Duration::from_secs(60));
    assert_eq!(check.state == CheckState::Healthy, ok, "{check:?}");
    check
}

fn check_figures(figures: &[UsageFigure]) {
    for f in figures {
        assert!(
            f.period_end > f.period_start,
            "a usage figure covers a period: {f:?}"
        );
    }
}

/// Datadog's error body, Retry-After and X-RateLimit-Reset, and every other error answer.
fn error_answer(a: &Answer<'_>) {
    let result = a.response();
    check_result(&result, a.status);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single();
    let _ = http::wait_asked(&a.headers, now.unwrap_or_default());
    let _ = http::platform_message(&a.body);
}

/// Databricks: `health` (SCIM Me), `runs` (a job-runs page), `statement` (a statement answer,
/// read as the DBU usage result when done), `chunk` (a result chunk); anything else is an
/// error answer, classified with Databricks' `error_code`.
pub fn databricks(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let response = a.response().map_err(databricks::refine);
    check_result(&response, a.status);
    match a.what {
        "health" => {
            let first = response.and_then(|r| databricks::parse_current_user(&r, CONTEXT));
            check_health(first.map(|_| ()), a.status);
        }
        "runs" => {
            let page = response.and_then(|r| databricks::parse_runs_page(&r, CONTEXT));
            check_result(&page, a.status);
            if let Ok(page) = page {
                let (from, to) = window();
                let started = page.items.iter().filter(|r| r.failed()).filter_map(|r| {
                    let _ = (r.state(), r.is_final());
                    r.started_at
                });
                check_figures(&daily_counts("job_runs_failed", "runs", from, to, started));
            }
        }
        "statement" => {
            let answer = response
                .and_then(|r| databricks::parse_statement(&r, CONTEXT))
                .and_then(|answer| answer.progress(CONTEXT));
            check_result(&answer, a.status);
            if let Ok((StatementProgress::Done(result), _)) = answer {
                let (from, to) = window();
                let figures =
                    databricks::dbus_figures(&result, from.date_naive(), to.date_naive(), CONTEXT);
                check_result(&figures, a.status);
                check_figures(&figures.unwrap_or_default());
            }
        }
        "chunk" => {
            let chunk = response.and_then(|r| databricks::parse_result_chunk(&r, CONTEXT));
            check_result(&chunk, a.status);
        }
        _ => error_answer(&a),
    }
}

/// Snowflake: `health` and `statement` (a statement answer, 200 or 202; when done, read as
/// both usage results), `partition` (a further result partition); anything else is an error
/// answer.
pub fn snowflake(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let response = a.response();
    check_result(&response, a.status);
    match a.what {
        "health" => {
            let first = response.and_then(|r| snowflake::parse_statement(&r, CONTEXT));
            check_health(first.map(|_| ()), a.status);
        }
        "statement" => {
            let answer = response.and_then(|r| snowflake::parse_statement(&r, CONTEXT));
            check_result(&answer, a.status);
            if let Ok(answer) = answer {
                if let StatementProgress::Done(result) = &answer.progress {
                    let figures = snowflake::usage_figures(result, result, CONTEXT);
                    check_result(&figures, a.status);
                    check_figures(&figures.unwrap_or_default());
                } else {
                    assert_eq!(a.status, 202, "only a 202 is still running");
                }
            }
        }
        "partition" => {
            let rows = response.and_then(|r| snowflake::parse_partition(&r, CONTEXT));
            check_result(&rows, a.status);
        }
        _ => error_answer(&a),
    }
}

/// MLflow: `health` (an experiments page), `runs`, `models`, `versions` (the search pages
/// usage counts per day); anything else is an error answer.
pub fn mlflow(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let response = a.response();
    check_result(&response, a.status);
    let (from, to) = window();
    let created = match a.what {
        "health" => {
            let first = response.and_then(|r| mlflow::parse_experiments_page(&r, CONTEXT));
            check_health(first.map(|_| ()), a.status);
            return;
        }
        "runs" => response
            .and_then(|r| mlflow::parse_runs_page(&r, CONTEXT))
            .map(|p| p.items.iter().filter_map(|r| r.started_at).collect()),
        "models" => response
            .and_then(|r| mlflow::parse_registered_models_page(&r, CONTEXT))
            .map(|p| p.items.iter().filter_map(|m| m.created_at).collect()),
        "versions" => response
            .and_then(|r| mlflow::parse_model_versions_page(&r, CONTEXT))
            .map(|p| p.items.iter().filter_map(|v| v.created_at).collect()),
        _ => return error_answer(&a),
    };
    check_result(&created, a.status);
    let created: Vec<DateTime<Utc>> = created.unwrap_or_default();
    check_figures(&daily_counts("created", "items", from, to, created));
}

/// Kubeflow Pipelines: `health` (healthz), `runs` (a runs listing, whose `total_size` usage
/// reads); anything else is an error answer.
pub fn kubeflow(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let response = a.response();
    check_result(&response, a.status);
    match a.what {
        "health" => {
            let first = response.and_then(|r| kubeflow::parse_healthz(&r, CONTEXT));
            check_health(first.map(|_| ()), a.status);
        }
        "runs" => {
            let listing = response.and_then(|r| kubeflow::parse_runs_page(&r, CONTEXT));
            check_result(&listing, a.status);
            if let Ok(listing) = listing {
                for run in &listing.items {
                    let _ = run.is_final();
                }
            }
        }
        _ => error_answer(&a),
    }
}

/// Datadog: `health` (validate), `usage` (an hourly usage page), `cost` (estimated cost);
/// anything else is an error answer (Datadog's `{"errors": [...]}` and its rate-limit
/// headers).
pub fn datadog(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let response = a.response();
    check_result(&response, a.status);
    match a.what {
        "health" => {
            let first = response
                .and_then(|r| datadog::parse_validate(&r, CONTEXT))
                .and_then(|valid| datadog::check_valid(valid, CONTEXT));
            check_health(first, a.status);
        }
        "usage" => {
            let page = response.and_then(|r| datadog::parse_hourly_usage(&r, CONTEXT));
            check_result(&page, a.status);
            check_figures(&page.map(|(f, _)| f).unwrap_or_default());
        }
        "cost" => {
            let (from, to) = window();
            let cost = response.and_then(|r| datadog::parse_estimated_cost(&r, CONTEXT, from, to));
            check_result(&cost, a.status);
            check_figures(&cost.unwrap_or_default());
        }
        _ => error_answer(&a),
    }
}

/// The check definition the `check` answers are judged by (the documented example).
pub const EXAMPLE_CHECK: &str = r#"[request]
method = "GET"
url = "https://features.example.com/healthz"
headers = { Accept = "application/json" }
timeout_secs = 5

[[expect]]
status = "2xx"

[[expect]]
latency_ms_below = 800

[[expect]]
json_path = "$.status"
equals = "ok"

[[expect]]
json_path = "$.checks['db pool'].in_use"
less_than = 90
severity = "degraded"

[[expect]]
json_path = "$.regions[0]"
contains = "eu"
"#;

/// Custom HTTP: `check` answers are judged by [`EXAMPLE_CHECK`], `plain` ones by the default
/// check (a GET that must answer 2xx). The status, latency and body all come from the input,
/// whatever the status (a custom check judges error answers itself).
pub fn custom_http(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let connector = match a.what {
        "check" => {
            let check = custom_check::parse("example.check.toml", EXAMPLE_CHECK)
                .expect("the example check is valid");
            CustomHttpConnector::new(
                "fuzz",
                "example.check.toml",
                check,
                None,
                ResiliencePolicy::default(),
            )
        }
        _ => CustomHttpConnector::plain_get(
            "fuzz",
            "https://partner.example.com/health",
            None,
            ResiliencePolicy::default(),
        ),
    }
    .expect("the connector builds");
    let outcome = CheckOutcome {
        status: a.status,
        latency_ms: a.latency_ms,
        body: a.body.clone(),
        retry_after: None,
    };
    let check = connector.judge(&outcome);
    assert_eq!(
        check.state == CheckState::Healthy,
        check.error.is_none(),
        "{check:?}"
    );
    let failing: BTreeMap<&str, bool> = check
        .capabilities
        .iter()
        .map(|c| (c.name.as_str(), c.ok))
        .collect();
    assert_eq!(
        failing.values().all(|ok| *ok),
        check.state == CheckState::Healthy,
        "{check:?}"
    );
}

/// Replays one input through the named target (the fuzz target's name without
/// `connector_`); `false` for an unknown name.
pub fn replay(target: &str, data: &[u8]) -> bool {
    match target {
        "databricks" => databricks(data),
        "snowflake" => snowflake(data),
        "mlflow" => mlflow(data),
        "kubeflow" => kubeflow(data),
        "datadog" => datadog(data),
        "custom_http" => custom_http(data),
        _ => return false,
    }
    true
}
