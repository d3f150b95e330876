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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ecosystem_core::custom_check;
use ecosystem_core::integration::{
    CheckState, ConnectionCheck, ErrorClass, EventCursor, IntegrationError, IntegrationResult,
    PlatformEvent, UsageFigure,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::custom_http::{CheckOutcome, CustomHttpConnector};
use crate::data::StatementProgress;
use crate::factory::assemble_check;
use crate::http::{self, HttpResponse};
use crate::mlops::{ModelVersion, Run};
use crate::resilience::{ResiliencePolicy, RetryPolicy};
use crate::usage::daily_counts;
use crate::{auth, databricks, datadog, kubeflow, mlflow, snowflake};

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

/// The fixed texts an OAuth token error is made of; a token that is a piece of them is not
/// quoted when it shows up in the message.
const TOKEN_ERROR_TEXTS: &str = "fuzz partner operation: HTTP the answer has no access_token \
    (not JSON wrong shape truncated io) the answer's access_token is empty the answer's \
    access_token has characters an HTTP header cannot carry";

/// The `access_token` a body carries, read leniently (a truncated or broken JSON body too).
fn token_text(body: &[u8]) -> Option<String> {
    let at = find(body, b"\"access_token\"")?;
    let rest = &body[at + 14..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// OAuth client credentials: a token endpoint's answer (any `<what>`), read by
/// [`auth::parse_token_answer`] as the real token fetch reads it, and the refresh time set
/// from it as the token cache does. An error keeps the status and never quotes the token; a
/// 2xx read as a token gives one a bearer header can carry, refreshed within
/// [`auth::MAX_TOKEN_LIFETIME`].
pub fn oauth_token(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    match auth::parse_token_answer(CONTEXT, a.status, &a.headers, &a.body) {
        Ok((token, refresh_in)) => {
            assert!((200..300).contains(&a.status), "only a 2xx gives a token");
            assert!(!token.expose().is_empty(), "a token is not empty");
            assert!(
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).is_ok(),
                "a token fits a header"
            );
            // As the token cache sets its refresh time.
            let _ = tokio::time::Instant::now() + refresh_in;
            assert!(refresh_in <= auth::MAX_TOKEN_LIFETIME, "{refresh_in:?}");
        }
        Err(error) => {
            check_error(&error, a.status);
            assert_eq!(error.status, Some(a.status), "the error keeps the status");
            if error.class == ErrorClass::CredentialsRejected {
                assert!(!(200..300).contains(&a.status), "{error:?}");
            }
            if let Some(token) = token_text(&a.body) {
                let fixed = format!("{TOKEN_ERROR_TEXTS} {CONTEXT}: HTTP {}", a.status);
                if token.len() >= 6 && !fixed.contains(token.as_str()) {
                    assert!(
                        !error.message.contains(&token),
                        "the error quotes the token: {error:?}"
                    );
                }
            }
        }
    }
}

/// The time the event feeds are polled at.
fn feed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The stored cursor of an event feed input (its `Cursor` header), as text.
fn cursor_text(a: &Answer<'_>) -> Option<EventCursor> {
    a.headers
        .get("cursor")
        .map(|v| EventCursor(String::from_utf8_lossy(v.as_bytes()).into_owned()))
}

/// Any text read as a cursor is a cursor or an `invalid_request` naming the call; a cursor
/// read back encodes to one that reads back the same.
fn check_cursor<C: PartialEq + std::fmt::Debug>(
    text: &EventCursor,
    decode: impl Fn(&EventCursor, &str) -> IntegrationResult<C>,
    encode: impl Fn(&C) -> IntegrationResult<EventCursor>,
) -> Option<C> {
    match decode(text, CONTEXT) {
        Ok(cursor) => {
            let again = encode(&cursor).expect("a cursor encodes");
            let back = decode(&again, CONTEXT).expect("an encoded cursor decodes");
            assert_eq!(back, cursor, "a cursor survives its encoding");
            Some(cursor)
        }
        Err(e) => {
            assert_eq!(e.class, ErrorClass::InvalidRequest, "{e:?}");
            assert!(e.message.starts_with(CONTEXT), "{e:?}");
            None
        }
    }
}

/// A poll's batch: each event id once, each event at a time its listing gave it (`times`:
/// the times the listing gives each event id, besides now).
fn check_batch(events: &[PlatformEvent], times: &BTreeMap<String, Vec<DateTime<Utc>>>) {
    let mut ids = BTreeSet::new();
    for e in events {
        assert!(ids.insert(e.id.as_str()), "{} twice in a batch", e.id);
        let at_listed = times.get(&e.id).is_some_and(|t| t.contains(&e.at));
        assert!(
            at_listed || e.at == feed_now(),
            "{e:?} at a time not listed"
        );
    }
}

/// The next poll, given the same listing (as the platform would answer the next cursor's
/// query), repeats no event of this one.
fn check_no_repeat(first: &[PlatformEvent], second: &[PlatformEvent]) {
    let before: BTreeSet<&str> = first.iter().map(|e| e.id.as_str()).collect();
    for e in second {
        assert!(!before.contains(e.id.as_str()), "{} delivered again", e.id);
    }
}

/// Which cursor a feed input starts from: the `Cursor` header read back, or the start of
/// time without one; `None` when the header is not a cursor of the platform's.
fn start_cursor<C: PartialEq + std::fmt::Debug + Default>(
    a: &Answer<'_>,
    decode: impl Fn(&EventCursor, &str) -> IntegrationResult<C>,
    encode: impl Fn(&C) -> IntegrationResult<EventCursor>,
) -> Option<C> {
    // Any text at all is a cursor or refused cleanly.
    check_cursor(
        &EventCursor(String::from_utf8_lossy(&a.body).into_owned()),
        &decode,
        &encode,
    );
    match cursor_text(a) {
        Some(text) => check_cursor(&text, decode, encode),
        None => Some(C::default()),
    }
}

/// Event feeds: the stored cursor (a `Cursor` header; the start of time without one) and one
/// listing a poll reads, by `<what>`: `databricks` (a job-runs page), `kubeflow` (a runs
/// listing), `mlflow_runs` (a runs search page), `mlflow_versions` (a model-versions search
/// page), `datadog` (an events listing); the body is also read as a cursor of each. The
/// listing goes through the connector's parser and its pure poll step; the batch has each id
/// once at a time the listing gave, the next cursor reads back, and the next poll over the
/// same listing (as the platform answers that cursor's query) repeats no event.
pub fn event_feeds(data: &[u8]) {
    let Some(a) = Answer::read(data) else { return };
    let now = feed_now();
    match a.what {
        "databricks" => {
            let Some(state) =
                start_cursor(&a, databricks::Cursor::decode, databricks::Cursor::encode)
            else {
                return;
            };
            let page = a
                .response()
                .map_err(databricks::refine)
                .and_then(|r| databricks::parse_runs_page(&r, CONTEXT));
            check_result(&page, a.status);
            let Ok(page) = page else { return };
            // `listed`: what `runs/list` answers the cursor's query; a followed run missing
            // from it is asked for by `runs/get`, which answers it as the page has it, or gone.
            let all = page.items.clone();
            let poll = |state: databricks::Cursor, listed: &[databricks::JobRun]| {
                let new = databricks::new_runs(&state, listed.to_vec());
                let shown: BTreeSet<i64> = new.iter().map(|r| r.run_id).collect();
                let (mut followed, mut gone) = (Vec::new(), Vec::new());
                for id in state.active.keys().filter(|id| !shown.contains(id)) {
                    match all.iter().find(|r| r.run_id == *id) {
                        Some(run) => followed.push(run.clone()),
                        None => gone.push(*id),
                    }
                }
                databricks::run_events(state, new, followed, &gone, now)
            };
            let (first, next) = poll(state, &page.items);
            let mut times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
            for run in &page.items {
                let id = format!("run:{}:{}", run.run_id, run.state());
                times
                    .entry(id)
                    .or_default()
                    .extend(run.started_at.into_iter().chain(run.ended_at));
            }
            check_batch(&first, &times);
            let next = check_cursor(
                &next.encode().expect("a cursor encodes"),
                databricks::Cursor::decode,
                databricks::Cursor::encode,
            )
            .expect("the next cursor reads back");
            // `runs/list?start_time_from=<after_ms>`
            let after = next.after_ms;
            let again: Vec<databricks::JobRun> = page
                .items
                .into_iter()
                .filter(|r| r.started_at.is_some_and(|t| t.timestamp_millis() >= after))
                .collect();
            let (second, _) = poll(next, &again);
            check_no_repeat(&first, &second);
        }
        "kubeflow" => {
            let Some(state) = start_cursor(&a, kubeflow::Cursor::decode, kubeflow::Cursor::encode)
            else {
                return;
            };
            let page = a
                .response()
                .and_then(|r| kubeflow::parse_runs_page(&r, CONTEXT));
            check_result(&page, a.status);
            let Ok(page) = page else { return };
            // As for Databricks: a followed run missing from the listing is asked for alone.
            let all = page.items.clone();
            let poll = |state: kubeflow::Cursor, listed: &[kubeflow::KfpRun]| {
                let new = kubeflow::new_runs(&state, listed.to_vec());
                let shown: BTreeSet<String> = new.iter().map(|r| r.run_id.clone()).collect();
                let (mut followed, mut gone) = (Vec::new(), Vec::new());
                for id in state.active.keys().filter(|id| !shown.contains(*id)) {
                    match all.iter().find(|r| r.run_id == *id) {
                        Some(run) => followed.push(run.clone()),
                        None => gone.push(id.clone()),
                    }
                }
                kubeflow::run_events(state, new, followed, &gone, now)
            };
            let (first, next) = poll(state, &page.items);
            let mut times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
            for run in &page.items {
                let id = format!("run:{}:{}", run.run_id, run.state);
                let at = [run.state_since, run.finished_at, run.created_at];
                times
                    .entry(id)
                    .or_default()
                    .extend(at.into_iter().flatten());
            }
            check_batch(&first, &times);
            let next = check_cursor(
                &next.encode().expect("a cursor encodes"),
                kubeflow::Cursor::decode,
                kubeflow::Cursor::encode,
            )
            .expect("the next cursor reads back");
            // `runs?filter=created_at >= <after>`
            let after = next.after;
            let again: Vec<kubeflow::KfpRun> = page
                .items
                .into_iter()
                .filter(|r| r.created_at.is_some_and(|t| t.timestamp() >= after))
                .collect();
            let (second, _) = poll(next, &again);
            check_no_repeat(&first, &second);
        }
        "mlflow_runs" | "mlflow_versions" => {
            let Some(state) = start_cursor(&a, mlflow::Cursor::decode, mlflow::Cursor::encode)
            else {
                return;
            };
            let response = a.response();
            let (runs, versions) = if a.what == "mlflow_runs" {
                let page = response.and_then(|r| mlflow::parse_runs_page(&r, CONTEXT));
                check_result(&page, a.status);
                let Ok(page) = page else { return };
                (page.items, Vec::new())
            } else {
                let page = response.and_then(|r| mlflow::parse_model_versions_page(&r, CONTEXT));
                check_result(&page, a.status);
                let Ok(page) = page else { return };
                (Vec::new(), page.items)
            };
            let poll = |state: mlflow::Cursor, runs: &[Run], versions: &[ModelVersion]| {
                let runs = mlflow::new_runs(&state, runs.to_vec());
                let budget = mlflow::MAX_EVENTS_PER_POLL - runs.len();
                let versions = mlflow::new_versions(&state, versions.to_vec(), budget);
                mlflow::event_step(state, runs, versions)
            };
            let (first, next) = poll(state, &runs, &versions);
            let mut times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
            for run in &runs {
                times
                    .entry(format!("run:{}", run.id))
                    .or_default()
                    .extend(run.started_at);
            }
            for v in &versions {
                let id = format!("model_version:{}/{}", v.model_name, v.version);
                times.entry(id).or_default().extend(v.created_at);
            }
            check_batch(&first, &times);
            let next = check_cursor(
                &next.encode().expect("a cursor encodes"),
                mlflow::Cursor::decode,
                mlflow::Cursor::encode,
            )
            .expect("the next cursor reads back");
            // `attributes.start_time >= <runs after>`; versions created at or after theirs.
            let (runs_after, versions_after) = (next.runs_after_ms(), next.versions_after_ms());
            let runs: Vec<Run> = runs
                .into_iter()
                .filter(|r| {
                    r.started_at
                        .is_some_and(|t| t.timestamp_millis() >= runs_after)
                })
                .collect();
            let versions: Vec<ModelVersion> = versions
                .into_iter()
                .filter(|v| {
                    v.created_at
                        .is_some_and(|t| t.timestamp_millis() >= versions_after)
                })
                .collect();
            let (second, _) = poll(next, &runs, &versions);
            check_no_repeat(&first, &second);
        }
        "datadog" => {
            let Some(state) = start_cursor(&a, datadog::Cursor::decode, datadog::Cursor::encode)
            else {
                return;
            };
            let listed = a
                .response()
                .and_then(|r| datadog::parse_events(&r, CONTEXT));
            check_result(&listed, a.status);
            let Ok(listed) = listed else { return };
            let (first, next) = datadog::event_step(state, listed.clone());
            let mut times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
            for e in &listed {
                times
                    .entry(format!("event:{}", e.id))
                    .or_default()
                    .push(e.happened_at);
            }
            check_batch(&first, &times);
            let next = check_cursor(
                &next.encode().expect("a cursor encodes"),
                datadog::Cursor::decode,
                datadog::Cursor::encode,
            )
            .expect("the next cursor reads back");
            // `events?start=<after>`
            let after = next.after;
            let again: Vec<_> = listed
                .into_iter()
                .filter(|e| e.happened_at.timestamp() >= after)
                .collect();
            let (second, _) = datadog::event_step(next, again);
            check_no_repeat(&first, &second);
        }
        _ => {
            // Any text is a cursor of each platform or refused cleanly.
            let text = EventCursor(String::from_utf8_lossy(data).into_owned());
            check_cursor(
                &text,
                databricks::Cursor::decode,
                databricks::Cursor::encode,
            );
            check_cursor(&text, kubeflow::Cursor::decode, kubeflow::Cursor::encode);
            check_cursor(&text, mlflow::Cursor::decode, mlflow::Cursor::encode);
            check_cursor(&text, datadog::Cursor::decode, datadog::Cursor::encode);
        }
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

/// Replays one input through the named target (the fuzz target's name, without `connector_`
/// for the connector targets); `false` for an unknown name.
pub fn replay(target: &str, data: &[u8]) -> bool {
    match target {
        "databricks" => databricks(data),
        "snowflake" => snowflake(data),
        "mlflow" => mlflow(data),
        "kubeflow" => kubeflow(data),
        "datadog" => datadog(data),
        "custom_http" => custom_http(data),
        "oauth_token" => oauth_token(data),
        "event_feeds" => event_feeds(data),
        _ => return false,
    }
    true
}
