//! Custom HTTP checks: partners without a built-in connector are checked by a small
//! declarative file, so adding one needs no code. The file says which request to send and
//! which conditions the answer must meet (status, latency, values in the JSON body). It is
//! validated when loaded, and every error names its line. Evaluating an answer against the
//! conditions is pure, so it is tested here without HTTP; the connectors crate sends the
//! request.
//!
//! ```toml
//! # feature-store.check.toml
//! [request]
//! method = "GET"                       # GET, HEAD, POST, PUT, PATCH or DELETE
//! url = "https://features.example.com/healthz"
//! headers = { Accept = "application/json" }
//! body = ""                            # sent as is (POST/PUT/PATCH)
//! timeout_secs = 5
//!
//! [[expect]]
//! status = "2xx"                       # a code (200), a list ([200, 204]) or a class ("2xx")
//!
//! [[expect]]
//! latency_ms_below = 800
//! severity = "degraded"                # what failing it means; latency defaults to degraded
//!
//! [[expect]]
//! json_path = "$.status"
//! equals = "ok"                        # or not_equals, less_than, greater_than, contains, exists
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, Result};

/// A validated check definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomCheck {
    pub request: CheckRequest,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub timeout_secs: u32,
}

/// What failing a condition makes the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Degraded,
    Unhealthy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The line of the condition in its file, for messages.
    pub line: usize,
    pub test: ConditionTest,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConditionTest {
    StatusIn(Vec<u16>),
    StatusClass(u16),
    LatencyBelowMs(u64),
    Json { path: JsonPath, op: JsonOp },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum JsonOp {
    Exists,
    Equals(serde_json::Value),
    NotEquals(serde_json::Value),
    LessThan(f64),
    GreaterThan(f64),
    Contains(String),
}

/// A JSON path in the small dialect the checks use: `$`, `.key`, `['key with spaces']`, `[3]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonPath {
    pub text: String,
    steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
enum PathStep {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn parse(text: &str) -> std::result::Result<JsonPath, String> {
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| format!("{text:?} must start with $"))?;
        let mut steps = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '.' => {
                    let mut key = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if c == '.' || c == '[' {
                            break;
                        }
                        key.push(c);
                        chars.next();
                    }
                    if key.is_empty() {
                        return Err(format!(
                            "{text:?} has an empty key after the dot at {}",
                            i + 1
                        ));
                    }
                    steps.push(PathStep::Key(key));
                }
                '[' => {
                    let close = rest[i..]
                        .find(']')
                        .map(|j| i + j)
                        .ok_or_else(|| format!("{text:?} has a [ without ]"))?;
                    let inner = &rest[i + 1..close];
                    let step = if let Some(q) =
                        inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                    {
                        PathStep::Key(q.to_string())
                    } else {
                        PathStep::Index(inner.parse().map_err(|_| {
                            format!("{text:?}: [{inner}] is neither an index nor a 'quoted key'")
                        })?)
                    };
                    steps.push(step);
                    while chars.peek().is_some_and(|&(j, _)| j <= close) {
                        chars.next();
                    }
                }
                other => return Err(format!("{text:?}: unexpected {other:?} at {}", i + 1)),
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
        })
    }

    pub fn find<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            PathStep::Key(k) => v.get(k),
            PathStep::Index(i) => v.get(i),
        })
    }
}

// ----- the file as written -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    request: Spanned<RawRequest>,
    #[serde(default)]
    expect: Vec<Spanned<RawCondition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default = "default_method")]
    method: Spanned<String>,
    url: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    body: Option<String>,
    timeout_secs: Option<Spanned<i64>>,
}

fn default_method() -> Spanned<String> {
    Spanned::new(0..0, "GET".to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    status: Option<Spanned<toml::Value>>,
    latency_ms_below: Option<Spanned<i64>>,
    json_path: Option<Spanned<String>>,
    exists: Option<bool>,
    equals: Option<toml::Value>,
    not_equals: Option<toml::Value>,
    less_than: Option<f64>,
    greater_than: Option<f64>,
    contains: Option<String>,
    severity: Option<Severity>,
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Parses and validates a check file. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<CustomCheck> {
    let line_of = |span: Range<usize>| line_at(text, span.start);
    let err = |line: usize, message: String| Error::BadFile {
        file: format!("{file}:{line}"),
        message,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(1);
        err(line, e.message().trim().to_string())
    })?;
    let req_line = line_of(raw.request.span());
    let req = raw.request.into_inner();

    let method = req.method.get_ref().to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(err(
            line_of(req.method.span()).max(req_line),
            format!(
                "method: {:?} is not one of {}",
                req.method.get_ref(),
                METHODS.join(", ")
            ),
        ));
    }
    let url_line = line_of(req.url.span());
    crate::validate::endpoint("url", req.url.get_ref())
        .map_err(|e| err(url_line, e.to_string()))?;
    let mut headers = BTreeMap::new();
    for (name, value) in req.headers {
        let line = line_of(value.span());
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(err(
                line,
                format!("headers: {name:?} is not a valid header name"),
            ));
        }
        if value.get_ref().chars().any(|c| c.is_control()) {
            return Err(err(
                line,
                format!("headers: the value of {name} has a control character"),
            ));
        }
        if name.eq_ignore_ascii_case("authorization") {
            return Err(err(
                line,
                "headers: Authorization must not be written in the file; store the partner's credential with `ecosystem credential set`".into(),
            ));
        }
        headers.insert(name, value.into_inner());
    }
    let timeout_secs = match req.timeout_secs {
        None => 10,
        Some(t) => {
            let v = *t.get_ref();
            u32::try_from(v)
                .ok()
                .filter(|v| (1..=300).contains(v))
                .ok_or_else(|| {
                    err(
                        line_of(t.span()),
                        format!("timeout_secs: {v} is not from 1 to 300"),
                    )
                })?
        }
    };
    if req.body.is_some() && matches!(method.as_str(), "GET" | "HEAD") {
        return Err(err(
            req_line,
            format!("body: a {method} request cannot have a body"),
        ));
    }

    if raw.expect.is_empty() {
        return Err(err(
            line_at(text, text.len()),
            "expect: at least one [[expect]] condition is needed".into(),
        ));
    }
    let mut conditions = Vec::new();
    for spanned in raw.expect {
        let line = line_of(spanned.span());
        let c = spanned.into_inner();
        conditions.push(condition(c, line).map_err(|m| err(line, m))?);
    }
    Ok(CustomCheck {
        request: CheckRequest {
            method,
            url: req.url.into_inner(),
            headers,
            body: req.body,
            timeout_secs,
        },
        conditions,
    })
}

fn condition(c: RawCondition, line: usize) -> std::result::Result<Condition, String> {
    let kinds = [
        c.status.is_some(),
        c.latency_ms_below.is_some(),
        c.json_path.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        return Err(
            "expect: each condition has exactly one of status, latency_ms_below or json_path"
                .into(),
        );
    }
    let ops = [
        c.exists.is_some(),
        c.equals.is_some(),
        c.not_equals.is_some(),
        c.less_than.is_some(),
        c.greater_than.is_some(),
        c.contains.is_some(),
    ]
    .iter()
    .filter(|o| **o)
    .count();
    if c.json_path.is_none() && ops > 0 {
        return Err("expect: exists, equals, not_equals, less_than, greater_than and contains go with json_path".into());
    }
    let (test, default_severity) = if let Some(status) = c.status {
        (status_test(status.get_ref())?, Severity::Unhealthy)
    } else if let Some(ms) = c.latency_ms_below {
        let ms = u64::try_from(*ms.get_ref())
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                format!(
                    "latency_ms_below: {} is not a positive number of milliseconds",
                    ms.get_ref()
                )
            })?;
        (ConditionTest::LatencyBelowMs(ms), Severity::Degraded)
    } else {
        let path_text = c.json_path.map(Spanned::into_inner).unwrap_or_default();
        let path = JsonPath::parse(&path_text).map_err(|e| format!("json_path: {e}"))?;
        if ops != 1 {
            return Err("json_path: give exactly one of exists, equals, not_equals, less_than, greater_than or contains".into());
        }
        let json = |v: toml::Value| serde_json::to_value(v).map_err(|e| format!("value: {e}"));
        let op = if c.exists == Some(true) {
            JsonOp::Exists
        } else if c.exists == Some(false) {
            return Err("exists: only `exists = true` is meaningful".into());
        } else if let Some(v) = c.equals {
            JsonOp::Equals(json(v)?)
        } else if let Some(v) = c.not_equals {
            JsonOp::NotEquals(json(v)?)
        } else if let Some(n) = c.less_than {
            JsonOp::LessThan(n)
        } else if let Some(n) = c.greater_than {
            JsonOp::GreaterThan(n)
        } else {
            JsonOp::Contains(c.contains.unwrap_or_default())
        };
        (ConditionTest::Json { path, op }, Severity::Unhealthy)
    };
    Ok(Condition {
        line,
        test,
        severity: c.severity.unwrap_or(default_severity),
    })
}

fn status_test(v: &toml::Value) -> std::result::Result<ConditionTest, String> {
    let code = |n: i64| {
        u16::try_from(n)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("status: {n} is not an HTTP status code"))
    };
    match v {
        toml::Value::Integer(n) => Ok(ConditionTest::StatusIn(vec![code(*n)?])),
        toml::Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_integer()
                    .ok_or_else(|| format!("status: {i} is not a number"))
                    .and_then(code)
            })
            .collect::<std::result::Result<_, _>>()
            .map(ConditionTest::StatusIn),
        toml::Value::String(s) => match s.as_bytes() {
            [d @ b'1'..=b'5', b'x', b'x'] => Ok(ConditionTest::StatusClass(u16::from(d - b'0'))),
            _ => Err(format!(
                "status: {s:?} is not a status class such as \"2xx\""
            )),
        },
        other => Err(format!(
            "status: {other} is not a code, a list of codes or a class like \"2xx\""
        )),
    }
}

fn line_at(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The answer to a check request, as far as the conditions care.
#[derive(Debug, Clone)]
pub struct CheckAnswer<'a> {
    pub status: u16,
    pub latency_ms: u64,
    pub body: &'a [u8],
}

/// A condition that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedCondition {
    pub line: usize,
    pub severity: Severity,
    pub reason: String,
}

impl CustomCheck {
    /// Every condition that the answer fails, in file order.
    pub fn evaluate(&self, answer: &CheckAnswer<'_>) -> Vec<FailedCondition> {
        let mut json: Option<std::result::Result<serde_json::Value, String>> = None;
        let mut failed = Vec::new();
        for c in &self.conditions {
            let reason = match &c.test {
                ConditionTest::StatusIn(codes) => (!codes.contains(&answer.status))
                    .then(|| format!("status {} is not {}", answer.status, list(codes))),
                ConditionTest::StatusClass(class) => (answer.status / 100 != *class)
                    .then(|| format!("status {} is not {class}xx", answer.status)),
                ConditionTest::LatencyBelowMs(max) => (answer.latency_ms >= *max)
                    .then(|| format!("latency {} ms is not below {max} ms", answer.latency_ms)),
                ConditionTest::Json { path, op } => {
                    let body = json.get_or_insert_with(|| {
                        serde_json::from_slice(answer.body)
                            .map_err(|e| format!("the body is not JSON ({e})"))
                    });
                    match body {
                        Err(e) => Some(format!("{}: {e}", path.text)),
                        Ok(body) => json_failure(path, op, path.find(body)),
                    }
                }
            };
            if let Some(reason) = reason {
                failed.push(FailedCondition {
                    line: c.line,
                    severity: c.severity,
                    reason,
                });
            }
        }
        failed
    }
}

fn json_failure(path: &JsonPath, op: &JsonOp, found: Option<&serde_json::Value>) -> Option<String> {
    let p = &path.text;
    let Some(v) = found else {
        return Some(format!("{p} is missing"));
    };
    let number = |v: &serde_json::Value| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    match op {
        JsonOp::Exists => None,
        JsonOp::Equals(want) => (v != want).then(|| format!("{p} is {v}, not {want}")),
        JsonOp::NotEquals(bad) => (v == bad).then(|| format!("{p} is {v}")),
        JsonOp::LessThan(n) => match number(v) {
            Some(x) if x < *n => None,
            Some(x) => Some(format!("{p} is {x}, not less than {n}")),
            None => Some(format!("{p} is {v}, not a number")),
        },
        JsonOp::GreaterThan(n) => match number(v) {
            Some(x) if x > *n => None,
            Some(x) => Some(format!("{p} is {x}, not greater than {n}")),
            None => Some(format!("{p} is {v}, not a number")),
        },
        JsonOp::Contains(s) => {
            let holds = match v {
                serde_json::Value::String(t) => t.contains(s.as_str()),
                serde_json::Value::Array(items) => {
                    items.iter().any(|i| i.as_str() == Some(s.as_str()))
                }
                _ => false,
            };
            (!holds).then(|| format!("{p} does not contain {s:?}"))
        }
    }
}

fn list(codes: &[u16]) -> String {
    codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# a partner's health endpoint
[request]
method = "get"
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
json_path = "$.regions[1]"
contains = "eu"
"#;

    fn answer(status: u16, latency_ms: u64, body: &str) -> Vec<FailedCondition> {
        let check = parse("good.toml", GOOD).expect("valid file");
        check.evaluate(&CheckAnswer {
            status,
            latency_ms,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn a_valid_file_is_read_with_its_defaults() {
        let check = parse("good.toml", GOOD).unwrap();
        assert_eq!(check.request.method, "GET");
        assert_eq!(check.request.timeout_secs, 5);
        assert_eq!(check.conditions.len(), 5);
        assert_eq!(
            check.conditions[0].line, 8,
            "conditions remember their line"
        );
        assert_eq!(
            check.conditions[1].severity,
            Severity::Degraded,
            "latency defaults to degraded"
        );
        assert_eq!(check.conditions[2].severity, Severity::Unhealthy);
    }

    #[test]
    fn an_answer_meeting_every_condition_fails_none() {
        let body =
            r#"{"status":"ok","checks":{"db pool":{"in_use":12}},"regions":["us-east","eu-west"]}"#;
        assert_eq!(answer(204, 120, body), vec![]);
    }

    #[test]
    fn each_failed_condition_is_reported_with_its_line_and_severity() {
        let body = r#"{"status":"down","checks":{"db pool":{"in_use":"95"}},"regions":["us"]}"#;
        let failed = answer(503, 900, body);
        let reasons: Vec<(usize, Severity, &str)> = failed
            .iter()
            .map(|f| (f.line, f.severity, f.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (8, Severity::Unhealthy, "status 503 is not 2xx"),
                (11, Severity::Degraded, "latency 900 ms is not below 800 ms"),
                (14, Severity::Unhealthy, "$.status is \"down\", not \"ok\""),
                (
                    18,
                    Severity::Degraded,
                    "$.checks['db pool'].in_use is 95, not less than 90"
                ),
                (23, Severity::Unhealthy, "$.regions[1] is missing"),
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_json_fails_the_json_conditions_only() {
        let failed = answer(200, 10, "<html>oops</html>");
        assert_eq!(failed.len(), 3);
        assert!(
            failed
                .iter()
                .all(|f| f.reason.contains("the body is not JSON")),
            "{failed:?}"
        );
    }

    fn error_of(text: &str) -> String {
        parse("bad.toml", text)
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn every_error_names_the_file_and_line() {
        let cases = [
            ("[request]\nurl = \"ftp://x.example\"\n[[expect]]\nstatus = 200\n", "bad.toml:2: url:"),
            ("[request]\nmethod = \"FETCH\"\nurl = \"https://x.example\"\n[[expect]]\nstatus = 200\n", "bad.toml:2: method:"),
            ("[request]\nurl = \"https://x.example\"\n[[expect]]\nstatus = 999\n", "bad.toml:3: status: 999"),
            ("[request]\nurl = \"https://x.example\"\n[[expect]]\nstatus = \"2xy\"\n", "bad.toml:3: status:"),
            ("[request]\nurl = \"https://x.example\"\n\n[[expect]]\njson_path = \"status\"\nequals = 1\n", "bad.toml:4: json_path:"),
            ("[request]\nurl = \"https://x.example\"\n[[expect]]\njson_path = \"$.a\"\n", "exactly one of exists"),
            ("[request]\nurl = \"https://x.example\"\n[[expect]]\nstatus = 200\nlatency_ms_below = 5\n", "exactly one of status"),
            ("[request]\nurl = \"https://x.example\"\nheaders = { Authorization = \"Bearer x\" }\n[[expect]]\nstatus = 200\n", "bad.toml:3: headers: Authorization"),
            ("[request]\nurl = \"https://x.example\"\ntimeout_secs = 0\n[[expect]]\nstatus = 200\n", "bad.toml:3: timeout_secs"),
            ("[request]\nurl = \"https://x.example\"\n", "at least one [[expect]]"),
            ("[request]\nurl = \"https://x.example\"\nretries = 3\n[[expect]]\nstatus = 200\n", "bad.toml:3:"),
            ("[request\nurl = 1\n", "bad.toml:1:"),
            ("[request]\nurl = \"https://x.example\"\nbody = \"x\"\n[[expect]]\nstatus = 200\n", "body: a GET request cannot have a body"),
        ];
        for (text, needle) in cases {
            let e = error_of(text);
            assert!(
                e.contains(needle),
                "expected {needle:?} in {e:?} for:\n{text}"
            );
        }
    }

    #[test]
    fn json_paths_cover_keys_quoted_keys_and_indexes() {
        let v: serde_json::Value = serde_json::json!({"a": {"b c": [10, {"d": true}]}});
        let p = JsonPath::parse("$.a['b c'][1].d").unwrap();
        assert_eq!(p.find(&v), Some(&serde_json::json!(true)));
        assert_eq!(JsonPath::parse("$").unwrap().find(&v), Some(&v));
        assert!(JsonPath::parse("$.a[x]").is_err());
        assert!(JsonPath::parse("$..a").is_err());
        assert!(JsonPath::parse("$.a[0").is_err());
    }
}
