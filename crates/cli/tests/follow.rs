//! Pausing, following the registry and watching, against partner-sim through the real binary,
//! with credentials in a real Secret Service (run under scripts/with-keyring.sh):
//! - a paused partner is not polled, and is again once resumed;
//! - `poll --for` picks up a partner activated by another invocation while it runs;
//! - `watch` prints the transitions another process records while it runs.

use partner_sim::Platform;
use serde_json::Value;

mod support;

use support::{Running, SimWorkspace, Stream};

const KFP_TOKEN: &str = "kfp-sim-token";
const DATABRICKS_TOKEN: &str = "dapi-sim-demo-token";

fn workspace() -> SimWorkspace {
    SimWorkspace::new().log_level("info")
}

/// Registers a partner of the sim with its bearer token; `active` moves it to active.
fn add(w: &SimWorkspace, name: &str, platform: Platform, token: &str, active: bool) {
    let url = w.url(platform);
    w.ok(
        &[
            "partner",
            "add",
            name,
            "--kind",
            platform.name(),
            "--endpoint",
            &url,
            "--interval",
            "5",
            "--timeout",
            "5",
        ],
        "",
    );
    w.ok(
        &["credential", "set", name, "--type", "bearer"],
        &format!("{token}\n"),
    );
    if active {
        w.ok(&["partner", "lifecycle", name, "activate"], "");
    }
}

/// `poll --once --format json`: the partners reported (sorted) and the summary line.
fn poll_once(w: &SimWorkspace) -> (Vec<String>, Value, String) {
    let out = w.run(&["poll", "--once", "--format", "json"], "");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let summary = lines.last().expect("a summary").clone();
    let mut partners: Vec<String> = lines
        .iter()
        .filter_map(|l| l["partner"].as_str().map(str::to_string))
        .collect();
    partners.sort();
    (partners, summary, stderr)
}

#[test]
fn a_paused_partner_is_not_polled_until_it_is_resumed() {
    let w = workspace();
    add(&w, "KFP", Platform::Kubeflow, KFP_TOKEN, true);
    add(&w, "DBX", Platform::Databricks, DATABRICKS_TOKEN, true);
    let (polled, _, _) = poll_once(&w);
    assert_eq!(polled, ["DBX", "KFP"]);

    w.ok(
        &["partner", "pause", "DBX", "--reason", "contract review"],
        "",
    );
    let (polled, summary, stderr) = poll_once(&w);
    assert_eq!(polled, ["KFP"], "{summary}");
    assert_eq!(summary["partners"], 1, "{summary}");
    assert!(stderr.contains("paused, not polled: DBX"), "{stderr}");
    let health: Value =
        serde_json::from_str(&w.ok(&["health", "DBX", "--format", "json"], "")).expect("JSON");
    assert_eq!(health["state"], "paused", "{health}");
    assert!(
        health["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("paused by ") && r.ends_with(": contract review")),
        "{health}"
    );

    let resumed = w.ok(&["partner", "resume", "DBX"], "");
    assert!(
        resumed.contains("partner \"DBX\" is resumed: healthy"),
        "the state its checks said before the pause comes back: {resumed}"
    );
    let (polled, summary, _) = poll_once(&w);
    assert_eq!(polled, ["DBX", "KFP"], "{summary}");

    let audit: Value =
        serde_json::from_str(&w.ok(&["audit", "--partner", "DBX", "--format", "json"], ""))
            .expect("JSON");
    let actions: Vec<&str> = audit
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(
        actions.starts_with(&["partner.resume", "partner.pause"]),
        "{actions:?}"
    );
}

#[test]
fn poll_picks_up_a_partner_activated_while_it_runs_and_drops_one_paused() {
    let w = workspace();
    add(&w, "KFP", Platform::Kubeflow, KFP_TOKEN, false);
    let mut poll = Running::spawn(w.command(&[
        "poll",
        "--for",
        "300",
        "--format",
        "json",
        "--registry-every",
        "0.2",
    ]));
    poll.wait_for(Stream::Stderr, |l| {
        l.starts_with("polling 0 partner(s), following registry changes")
    });
    w.ok(&["partner", "lifecycle", "KFP", "activate"], "");
    poll.wait_for(Stream::Stderr, |l| {
        l == "the registry changed: polling 1 partner(s)"
    });
    let line = poll.wait_for(Stream::Stdout, |l| {
        l.contains("\"KFP\"") && l.contains("\"to\":\"healthy\"")
    });
    let t: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(t["transition"]["from"], "unknown", "{t}");

    w.ok(&["partner", "pause", "KFP"], "");
    poll.wait_for(Stream::Stderr, |l| {
        l == "the registry changed: polling 0 partner(s)"
    });
    poll.interrupt();
    let (code, stdout, stderr) = poll.finish();
    assert_eq!(code, Some(0), "Ctrl-C ends it cleanly: {stderr:?}");
    let summary: Value = serde_json::from_str(stdout.last().expect("a summary")).expect("JSON");
    assert!(
        summary["checks_done"].as_u64().is_some_and(|n| n >= 1),
        "{summary}"
    );
    assert_eq!(
        summary["partners"], 0,
        "the count after the last reload: {summary}"
    );
    let all = format!("{}{}", stdout.join("\n"), stderr.join("\n"));
    assert!(!all.contains(KFP_TOKEN), "no secret is printed or logged");
}

#[test]
fn watch_prints_the_transitions_a_poll_records_while_it_runs() {
    let w = workspace();
    add(&w, "KFP", Platform::Kubeflow, KFP_TOKEN, true);
    let mut watch = Running::spawn(w.command(&["watch", "--format", "json", "--for", "300"]));
    watch.wait_for(Stream::Stderr, |l| {
        l.starts_with("watching health transitions")
    });
    poll_once(&w);
    let first: Value =
        serde_json::from_str(&watch.wait_for(Stream::Stdout, |l| l.contains("\"KFP\"")))
            .expect("JSON");
    assert_eq!(
        (first["from"].as_str(), first["to"].as_str()),
        (Some("unknown"), Some("healthy")),
        "{first}"
    );
    w.ok(&["partner", "pause", "KFP"], "");
    let second: Value =
        serde_json::from_str(&watch.wait_for(Stream::Stdout, |l| l.contains("\"KFP\"")))
            .expect("JSON");
    assert_eq!(second["to"], "paused", "{second}");
    assert!(
        second["id"].as_i64() > first["id"].as_i64(),
        "{first} then {second}"
    );
    watch.interrupt();
    let (code, _, stderr) = watch.finish();
    assert_eq!(code, Some(0), "{stderr:?}");
}
