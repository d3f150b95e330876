//! `ecosystem poll` against partner-sim, through the real binary, with credentials in a real
//! Secret Service (run under scripts/with-keyring.sh).

use partner_sim::{Faults, Platform};
use serde_json::Value;

const KFP_TOKEN: &str = "kfp-sim-token";
const DATABRICKS_TOKEN: &str = "dapi-sim-demo-token";

mod support;

/// The shared simulator workspace, plus what these tests do with it.
struct Fixture(support::SimWorkspace);

impl std::ops::Deref for Fixture {
    type Target = support::SimWorkspace;
    fn deref(&self) -> &support::SimWorkspace {
        &self.0
    }
}

impl Fixture {
    fn new() -> Fixture {
        Fixture(support::SimWorkspace::new().log_level("info"))
    }

    /// Registers a partner of the sim with its bearer token; `active` moves it to active.
    fn add(&self, name: &str, platform: Platform, token: &str, interval: &str, active: bool) {
        let url = self.sim().base_url(platform);
        self.ok(
            &[
                "partner",
                "add",
                name,
                "--kind",
                platform.name(),
                "--endpoint",
                &url,
                "--interval",
                interval,
                "--timeout",
                "5",
            ],
            "",
        );
        self.ok(
            &["credential", "set", name, "--type", "bearer"],
            &format!("{token}\n"),
        );
        if active {
            self.ok(&["partner", "lifecycle", name, "activate"], "");
        }
    }

    /// Runs `poll ARGS --format json`: exit code, the JSON lines, stdout + stderr.
    fn poll(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let mut all_args = vec!["poll"];
        all_args.extend_from_slice(args);
        all_args.extend_from_slice(&["--format", "json"]);
        let out = self.run(&all_args, "");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines = stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!(
                        "poll printed a line that is not JSON ({e}): {l} / {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })
            })
            .collect();
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        (out.status.code().expect("exit code"), lines, all)
    }
}

fn outcome_of<'a>(lines: &'a [Value], partner: &str) -> Option<&'a Value> {
    lines.iter().find(|l| l["partner"] == partner)
}

#[test]
fn poll_once_reports_each_active_partner_and_exits_3_when_one_is_down() {
    let f = Fixture::new();
    f.add("KFP", Platform::Kubeflow, KFP_TOKEN, "60", true);
    f.add("DBX", Platform::Databricks, DATABRICKS_TOKEN, "60", true);
    f.add("Later", Platform::Kubeflow, KFP_TOKEN, "60", false);
    f.sim()
        .set_faults(
            Platform::Databricks,
            Faults {
                down: true,
                ..Faults::default()
            },
        )
        .expect("faults");
    let (code, lines, all) = f.poll(&["--once"]);
    assert_eq!(code, 3, "a down partner makes --once exit 3: {all}");
    let kfp = outcome_of(&lines, "KFP").unwrap_or_else(|| panic!("KFP reported: {all}"));
    assert_eq!(kfp["state"], "healthy", "{kfp}");
    assert_eq!(kfp["error_class"], Value::Null, "{kfp}");
    let dbx = outcome_of(&lines, "DBX").unwrap_or_else(|| panic!("DBX reported: {all}"));
    assert_eq!(dbx["state"], "unhealthy", "{dbx}");
    assert_eq!(dbx["error_class"], "platform_error", "{dbx}");
    assert!(
        outcome_of(&lines, "Later").is_none(),
        "a partner still onboarding is not polled: {all}"
    );
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["partners"], 2, "{summary}");
    assert_eq!(summary["checks_done"], 2, "{summary}");
    assert_eq!(summary["unhealthy"], 1, "{summary}");
    assert_eq!(summary["failures"]["platform_error"], 1, "{summary}");
    assert_eq!(
        summary["recorded"], 2,
        "both outcomes reached the health writer: {summary}"
    );
    assert!(
        !all.contains(KFP_TOKEN) && !all.contains(DATABRICKS_TOKEN),
        "no secret is printed or logged"
    );
}

#[test]
fn poll_once_exits_0_when_every_active_partner_is_up_and_prints_a_table() {
    let f = Fixture::new();
    f.add("KFP", Platform::Kubeflow, KFP_TOKEN, "60", true);
    let (code, lines, all) = f.poll(&["--once"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(
        outcome_of(&lines, "KFP").map(|o| o["state"].clone()),
        Some(Value::from("healthy")),
        "{all}"
    );
    let table = f.ok(&["poll", "--once"], "");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("KFP") && l.contains("healthy")),
        "the table has the partner's line: {table}"
    );
    assert!(
        table.contains("schedule lag p50"),
        "a summary ends it: {table}"
    );
}

#[test]
fn poll_for_a_few_seconds_checks_on_the_interval_and_records_the_checks() {
    let f = Fixture::new();
    f.add("KFP", Platform::Kubeflow, KFP_TOKEN, "5", true);
    let (code, lines, all) = f.poll(&["--for", "6", "--concurrency", "4"]);
    assert_eq!(code, 0, "{all}");
    let summary = lines.last().expect("a summary line");
    let checks = summary["checks_done"].as_u64().expect("checks_done");
    assert!(
        (1..=2).contains(&checks),
        "a 5 s interval (first at a random phase) over 6 s gives 1 or 2 checks, got {checks}: {summary}"
    );
    assert_eq!(summary["recorded"], summary["checks_done"], "{summary}");
    assert!(
        lines
            .iter()
            .any(|l| l["partner"] == "KFP" && l["transition"]["to"] == "healthy"),
        "the first check's transition to healthy is printed: {all}"
    );
}
