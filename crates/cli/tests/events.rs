//! `ecosystem events` against partner-sim's Kubeflow API, through the real binary, with the
//! token in a real Secret Service (run under scripts/with-keyring.sh): a one-shot poll gives a
//! cursor, the next poll from it gives only what happened since, `--follow` streams JSON lines,
//! and failures exit with their class.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ecosystem_connectors::kubeflow::{KfpRun, KubeflowConfig, KubeflowConnector, NewKfpRun};
use ecosystem_connectors::resilience::ResiliencePolicy;
use ecosystem_core::{Credential, Secret};
use partner_sim::{ManualClock, Platform, SimConfig};
use serde_json::Value;

const TOKEN: &str = "kfp-sim-token";

mod support;

/// The shared simulator workspace (Kubeflow only, on a clock the test moves), with a partner
/// `KFP` on it whose token is in the keyring.
struct Fixture {
    ws: support::SimWorkspace,
    clock: Arc<ManualClock>,
}

impl std::ops::Deref for Fixture {
    type Target = support::SimWorkspace;
    fn deref(&self) -> &support::SimWorkspace {
        &self.ws
    }
}

impl Fixture {
    fn new() -> Fixture {
        let clock = ManualClock::new(Utc::now());
        let ws = support::SimWorkspace::with_config(SimConfig {
            platforms: vec![Platform::Kubeflow],
            clock: clock.clone(),
            ..SimConfig::default()
        })
        .log_level("warn");
        let f = Fixture { ws, clock };
        let url = f.url();
        f.ok(
            &[
                "partner",
                "add",
                "KFP",
                "--kind",
                "kubeflow",
                "--endpoint",
                &url,
                "--timeout",
                "5",
            ],
            "",
        );
        f.ok(
            &["credential", "set", "KFP", "--type", "bearer"],
            &format!("{TOKEN}\n"),
        );
        f
    }

    fn url(&self) -> String {
        self.ws.url(Platform::Kubeflow)
    }

    /// One poll as JSON: the event ids and the next cursor.
    fn poll(&self, cursor: Option<&str>) -> (Vec<String>, String) {
        let mut args = vec!["events", "KFP", "--format", "json"];
        if let Some(cursor) = cursor {
            args.extend(["--cursor", cursor]);
        }
        let stdout = self.ok(&args, "");
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("events printed no JSON object ({e}): {stdout}"));
        let ids = report["events"]
            .as_array()
            .unwrap_or_else(|| panic!("an events array: {report}"))
            .iter()
            .map(|e| e["id"].as_str().unwrap_or_default().to_string())
            .collect();
        let next = report["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("a next_cursor string: {report}"))
            .to_string();
        (ids, next)
    }

    /// Creates a run straight through the Kubeflow API, two (sim) seconds from now.
    fn create_run(&self, name: &str) -> KfpRun {
        self.clock.advance(Duration::from_secs(2));
        let kfp = KubeflowConnector::new(KubeflowConfig {
            partner: "test".into(),
            endpoint: self.url(),
            credential: Some(Credential::Bearer {
                token: Secret::new(TOKEN),
            }),
            policy: ResiliencePolicy::default(),
            slow_after: Duration::from_secs(2),
            namespace: None,
        })
        .expect("a Kubeflow connector");
        self.block_on(kfp.create_run(&NewKfpRun {
            display_name: name.into(),
            pipeline_id: "00000000-0000-4000-8000-00000000b000".into(),
            pipeline_version_id: Some("00000000-0000-4000-8000-00000000c000".into()),
            parameters: BTreeMap::new(),
            ..NewKfpRun::default()
        }))
        .expect("create a run")
    }
}

#[test]
fn a_one_shot_poll_without_a_cursor_prints_no_events_and_a_cursor() {
    let f = Fixture::new();
    let (ids, cursor) = f.poll(None);
    assert!(ids.is_empty(), "a first poll starts from now: {ids:?}");
    assert!(!cursor.is_empty(), "a cursor to poll from next");
    let table = f.ok(&["events", "KFP"], "");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1, "only the cursor line: {table}");
    assert!(
        lines[0].starts_with("next cursor: "),
        "the table ends with the cursor: {table}"
    );
}

#[test]
fn a_poll_from_the_last_cursor_returns_only_what_happened_since() {
    let f = Fixture::new();
    let (_, start) = f.poll(None);
    let run = f.create_run("nightly");
    let id = |state: &str| format!("run:{}:{state}", run.run_id);

    let (created, after_created) = f.poll(Some(&start));
    assert_eq!(created, [id("PENDING")], "the new run, once");
    let (quiet, after_quiet) = f.poll(Some(&after_created));
    assert!(quiet.is_empty(), "nothing new since: {quiet:?}");

    f.clock.advance(Duration::from_secs(6));
    let (running, after_running) = f.poll(Some(&after_quiet));
    assert_eq!(running, [id("RUNNING")], "only the state change");

    f.clock.advance(Duration::from_secs(20));
    let table = f.ok(&["events", "KFP", "--cursor", &after_running], "");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "one event line and the cursor: {table}");
    assert!(
        lines[0].contains("kubeflow.run.state_changed")
            && lines[0].contains("nightly")
            && lines[0].ends_with(&id("SUCCEEDED")),
        "the event line names kind, run and id: {table}"
    );
    assert!(lines[1].starts_with("next cursor: "), "{table}");
}

#[test]
fn follow_streams_json_lines_until_its_time_is_up_then_prints_the_cursor() {
    let f = Fixture::new();
    let (_, start) = f.poll(None);
    let started = Instant::now();
    let mut child = f
        .command(&[
            "events",
            "KFP",
            "--cursor",
            &start,
            "--follow",
            "--for",
            "3",
            "--interval",
            "0.2",
            "--format",
            "json",
        ])
        .spawn()
        .expect("run ecosystem events --follow");
    drop(child.stdin.take());
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map(|l| l.expect("a line of output"))
            .collect::<Vec<String>>()
    });

    let run = f.create_run("streamed");
    std::thread::sleep(Duration::from_millis(1_000));
    f.clock.advance(Duration::from_secs(6));

    let status = child.wait().expect("wait for ecosystem");
    let elapsed = started.elapsed();
    let lines = reader.join().expect("the reader thread");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        std::io::Read::read_to_string(&mut err, &mut stderr).expect("read stderr");
    }
    assert!(status.success(), "exit 0 when --for elapses: {stderr}");
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(20),
        "it ran for its time: {elapsed:?}"
    );
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let (last, events) = objects.split_last().expect("at least the cursor line");
    assert!(
        last["next_cursor"].as_str().is_some_and(|c| !c.is_empty()),
        "the last line is the cursor: {lines:?}"
    );
    let ids: Vec<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("run:{}:PENDING", run.run_id),
            format!("run:{}:RUNNING", run.run_id)
        ],
        "each state once, as it came: {lines:?}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["kind"] == "kubeflow.run.state_changed" && e["subject"] == "streamed"),
        "{lines:?}"
    );

    let resumed = last["next_cursor"].as_str().unwrap_or_default();
    let (after, _) = f.poll(Some(resumed));
    assert!(
        after.is_empty(),
        "the printed cursor covers what was streamed: {after:?}"
    );
}

#[test]
fn bad_input_exits_2_and_an_unreachable_platform_exits_1_with_its_class() {
    let f = Fixture::new();
    let unknown = f.run(&["events", "nobody"], "");
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "an unknown partner is bad input: {}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let cursor = f.run(&["events", "KFP", "--cursor", "not-a-cursor"], "");
    let cursor_err = String::from_utf8_lossy(&cursor.stderr);
    assert_eq!(cursor.status.code(), Some(2), "{cursor_err}");
    assert!(cursor_err.contains("invalid_request"), "{cursor_err}");
    let lone_for = f.run(&["events", "KFP", "--for", "3"], "");
    assert_eq!(lone_for.status.code(), Some(2), "--for needs --follow");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let closed = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    f.ok(&["partner", "update", "KFP", "--endpoint", &closed], "");
    let down = f.run(&["events", "KFP", "--format", "json"], "");
    let down_err = String::from_utf8_lossy(&down.stderr);
    assert_eq!(down.status.code(), Some(1), "{down_err}");
    assert!(down_err.contains("unreachable"), "classified: {down_err}");
    assert!(
        !down_err.contains(TOKEN),
        "the token is never printed: {down_err}"
    );
    assert!(down.stdout.is_empty(), "no report on failure");
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_follow_with_exit_0_and_the_cursor_line() {
    let f = Fixture::new();
    let mut child = f
        .command(&["events", "KFP", "--follow", "--interval", "0.2"])
        .spawn()
        .expect("run ecosystem events --follow");
    drop(child.stdin.take());
    // Let it take its first poll before the interrupt.
    std::thread::sleep(Duration::from_millis(1_000));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "SIGINT was sent");
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait for ecosystem");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it stops promptly"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "Ctrl-C is a normal end: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("next cursor: ") && last.len() > "next cursor: ".len() + 1,
        "the cursor line comes last: {stdout}"
    );
}
