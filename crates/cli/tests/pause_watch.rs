//! `ecosystem partner pause|resume` and `ecosystem watch` (the real binary, a temporary
//! database, no platform needed): the health transition and the audit row of each, the
//! refusals, and a transition streamed while `watch` runs.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
mod support;

use support::{Running, Stream};

struct Workspace {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Workspace {
    /// A database with one active partner, `hub`.
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        let w = Workspace { _dir: dir, db };
        w.ok(&[
            "partner",
            "add",
            "hub",
            "--kind",
            "http",
            "--endpoint",
            "https://hub.example.com",
        ]);
        w.ok(&["partner", "lifecycle", "hub", "activate"]);
        w
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ecosystem"));
        c.arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "ada")
            .env_remove("ECOSYSTEM_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ecosystem")
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(self.run(args), args)
    }

    /// Expects exit 2 and one stderr line; returns it.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        assert_eq!(out.status.code(), Some(2), "`{}`: {stderr}", args.join(" "));
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).expect("JSON")
    }

    fn health(&self) -> Value {
        self.json(&["health", "hub", "--format", "json"])
    }
}

#[test]
fn pausing_and_resuming_record_a_transition_and_an_audit_row_each() {
    let w = Workspace::new();
    let out = w.ok(&["partner", "pause", "hub", "--reason", "VPN change"]);
    assert!(
        out.contains("partner \"hub\" is paused (was unknown)"),
        "{out}"
    );
    let h = w.health();
    assert_eq!(h["state"], "paused", "{h}");
    assert_eq!(h["reason"], "paused by ada: VPN change", "{h}");

    let again = w.refused(&["partner", "pause", "hub"]);
    assert!(
        again.contains("partner \"hub\" is already paused"),
        "{again}"
    );

    let out = w.ok(&["partner", "resume", "hub"]);
    assert!(
        out.contains("partner \"hub\" is resumed: unknown (resumed by ada; checks say unknown)"),
        "{out}"
    );
    assert_eq!(w.health()["state"], "unknown");
    let again = w.refused(&["partner", "resume", "hub"]);
    assert!(again.contains("partner \"hub\" is not paused"), "{again}");

    assert!(
        w.refused(&["partner", "pause", "nobody"])
            .contains("no partner named \"nobody\""),
        "an unknown partner"
    );
    assert!(
        w.refused(&["partner", "pause", "hub", "--reason", " "])
            .starts_with("error: reason: "),
        "an empty reason"
    );

    let audit = w.json(&["audit", "--partner", "hub", "--format", "json"]);
    let rows: Vec<(&str, Value)> = audit
        .as_array()
        .expect("array")
        .iter()
        .filter(|a| a["action"] == "partner.pause" || a["action"] == "partner.resume")
        .map(|a| {
            let detail: Value =
                serde_json::from_str(a["detail"].as_str().expect("detail")).expect("JSON detail");
            (a["action"].as_str().expect("action"), detail)
        })
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "one row per change, none for a refusal: {audit}"
    );
    assert_eq!(rows[0].0, "partner.resume");
    assert_eq!(rows[0].1["from"], "paused");
    assert_eq!(rows[1].0, "partner.pause");
    assert_eq!(rows[1].1["reason"], "VPN change");
    assert_eq!(rows[1].1["to"], "paused");
}

#[test]
fn watch_streams_a_transition_recorded_while_it_runs_until_ctrl_c() {
    let w = Workspace::new();
    let mut watch = Running::spawn(w.command(&["watch", "--format", "json", "--for", "300"]));
    watch.wait_for(Stream::Stderr, |l| {
        l.starts_with("watching health transitions after id 0")
    });
    w.ok(&["partner", "pause", "hub", "--reason", "patching"]);
    let line = watch.wait_for(Stream::Stdout, |l| l.contains("\"hub\""));
    let t: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(t["id"], 1, "{t}");
    assert_eq!(t["partner"], "hub", "{t}");
    assert_eq!(t["from"], "unknown", "{t}");
    assert_eq!(t["to"], "paused", "{t}");
    assert_eq!(t["reason"], "paused by ada: patching", "{t}");
    assert!(t["at"].as_str().is_some_and(|a| a.ends_with('Z')), "{t}");
    watch.interrupt();
    let (code, stdout, stderr) = watch.finish();
    assert_eq!(code, Some(0), "Ctrl-C ends it cleanly: {stderr:?}");
    assert_eq!(stdout.len(), 1, "one transition, one line: {stdout:?}");
    assert!(
        stderr
            .last()
            .is_some_and(|l| l.starts_with("last transition id 1;")),
        "{stderr:?}"
    );

    // --since replays what was recorded; --for ends it on its own.
    w.ok(&["partner", "resume", "hub"]);
    let table = w.ok(&["watch", "--since", "0", "--for", "0.1"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].ends_with("hub: unknown -> paused (paused by ada: patching)"),
        "{table}"
    );
    assert!(
        lines[1].contains("hub: paused -> unknown (resumed by ada; checks say unknown)"),
        "{table}"
    );
    let after = w.ok(&["watch", "--since", "1", "--for", "0.1", "--format", "json"]);
    assert_eq!(
        after.lines().count(),
        1,
        "only the ones after id 1: {after}"
    );
}
