//! `ecosystem check` and credential rotation against partner-sim, through the real binary,
//! with credentials in a real Secret Service (run under scripts/with-keyring.sh).

use partner_sim::{Faults, Platform};
use serde_json::Value;

const GOOD_TOKEN: &str = "kfp-sim-token";
const WRONG_TOKEN: &str = "planted-wrong-kfp-token-5d1c";

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
        Fixture(support::SimWorkspace::new())
    }

    /// Registers an http partner `name` on the sim's Kubeflow health endpoint; returns the URL.
    fn add_http_partner(&self, name: &str) -> String {
        let health = format!("{}/apis/v2beta1/healthz", self.url(Platform::Kubeflow));
        self.ok(
            &[
                "partner",
                "add",
                name,
                "--kind",
                "http",
                "--endpoint",
                &health,
            ],
            "",
        );
        health
    }

    fn check(&self, partner: &str) -> (i32, Value, String) {
        let out = self.run(&["check", partner, "--format", "json"], "");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "check printed no JSON ({e}): {stdout} / {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        (out.status.code().expect("exit code"), report, all)
    }

    fn add_kubeflow(&self, name: &str, timeout: &str) {
        let url = self.sim().base_url(Platform::Kubeflow);
        self.ok(
            &[
                "partner",
                "add",
                name,
                "--kind",
                "kubeflow",
                "--endpoint",
                &url,
                "--interval",
                "30",
                "--timeout",
                timeout,
            ],
            "",
        );
    }
}

#[test]
fn a_partner_with_the_right_token_is_healthy_with_its_capabilities_verified() {
    let f = Fixture::new();
    f.add_kubeflow("KFP", "5");
    f.ok(
        &["credential", "set", "KFP", "--type", "bearer"],
        &format!("{GOOD_TOKEN}\n"),
    );
    let (code, report, _) = f.check("KFP");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["state"], "healthy", "{report}");
    assert_eq!(report["error_class"], Value::Null);
    let caps = report["capabilities"].as_array().expect("capabilities");
    assert!(!caps.is_empty(), "capabilities were verified: {report}");
    assert!(caps.iter().all(|c| c["ok"] == true), "{report}");
    assert!(report["latency_ms"].as_u64().is_some());
    let table = f.ok(&["check", "KFP"], "");
    assert!(
        table.contains("healthy") && table.contains("capabilities"),
        "{table}"
    );
}

#[test]
fn a_rejected_token_is_unhealthy_with_exit_3_and_is_never_printed() {
    let f = Fixture::new();
    f.add_kubeflow("KFP", "5");
    f.ok(
        &["credential", "set", "KFP", "--type", "bearer"],
        &format!("{WRONG_TOKEN}\n"),
    );
    let (code, report, all_output) = f.check("KFP");
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["state"], "unhealthy");
    assert_eq!(report["error_class"], "credentials_rejected", "{report}");
    assert!(
        !all_output.contains(WRONG_TOKEN),
        "the token leaked: {all_output}"
    );
}

#[test]
fn a_replacement_credential_is_tested_before_it_replaces_the_old_one() {
    let f = Fixture::new();
    f.add_kubeflow("KFP", "5");
    f.ok(
        &[
            "credential",
            "set",
            "KFP",
            "--type",
            "bearer",
            "--expires",
            "2099-01-01",
        ],
        &format!("{GOOD_TOKEN}\n"),
    );
    let out = f.run(
        &["credential", "set", "KFP", "--type", "bearer"],
        &format!("{WRONG_TOKEN}\n"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused rotation is bad input: {stderr}"
    );
    assert!(
        stderr.contains("credentials_rejected") && stderr.contains("old one is kept"),
        "{stderr}"
    );
    assert!(!stderr.contains(WRONG_TOKEN), "{stderr}");
    let meta: Value =
        serde_json::from_str(&f.ok(&["credential", "show", "KFP", "--format", "json"], ""))
            .expect("json");
    assert_eq!(
        meta["expires_on"], "2099-01-01",
        "the old credential's record stays"
    );
    assert_eq!(
        f.check("KFP").1["state"],
        "healthy",
        "the old token still works"
    );
    let audit = f.ok(&["audit", "--partner", "KFP", "--format", "json"], "");
    assert!(
        !audit.contains("credential.rotate"),
        "a refused rotation leaves no audit row: {audit}"
    );
}

#[test]
fn a_platform_that_needs_a_credential_reports_it_missing() {
    // Kubeflow may run without auth (single-user mode); Datadog never does.
    let f = Fixture::new();
    let url = f.sim().base_url(Platform::Datadog);
    f.ok(
        &[
            "partner",
            "add",
            "DD",
            "--kind",
            "datadog",
            "--endpoint",
            &url,
        ],
        "",
    );
    let (code, report, _) = f.check("DD");
    assert_eq!(code, 3);
    assert_eq!(report["error_class"], "missing_credential", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap_or("")
            .contains("ecosystem credential set"),
        "{report}"
    );
}

#[test]
fn a_hanging_partner_times_out_within_its_own_timeout() {
    let f = Fixture::new();
    f.add_kubeflow("KFP", "1");
    f.ok(
        &["credential", "set", "KFP", "--type", "bearer"],
        &format!("{GOOD_TOKEN}\n"),
    );
    f.sim()
        .set_faults(
            Platform::Kubeflow,
            Faults {
                hang_rate: 1.0,
                ..Faults::default()
            },
        )
        .expect("faults");
    let started = std::time::Instant::now();
    let (code, report, _) = f.check("KFP");
    assert_eq!(code, 3);
    assert_eq!(report["error_class"], "timed_out", "{report}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the check gave up in time"
    );
}

#[test]
fn an_http_partner_is_checked_by_its_check_file() {
    let f = Fixture::new();
    let health = f.add_http_partner("Custom");
    let file = f.dir().join("custom.check.toml");
    std::fs::write(
        &file,
        format!("[request]\nurl = \"{health}\"\n\n[[expect]]\nstatus = 200\n\n[[expect]]\njson_path = \"$.no_such_field\"\nexists = true\n"),
    )
    .expect("write check file");
    let out = f.run(
        &[
            "check",
            "Custom",
            "--check-file",
            file.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        "",
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(
        report["reason"].as_str().unwrap_or("").contains(":7"),
        "the failing condition's line is named: {report}"
    );
    std::fs::write(
        &file,
        format!("[request]\nurl = \"{health}\"\n[[expect]]\nstatus = \"2xx\"\n"),
    )
    .expect("write");
    let out = f.run(
        &[
            "check",
            "Custom",
            "--check-file",
            file.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(
        &file,
        "[request]\nurl = \"ftp://nope\"\n[[expect]]\nstatus = 200\n",
    )
    .expect("write");
    let out = f.run(
        &[
            "check",
            "Custom",
            "--check-file",
            file.to_str().expect("utf-8"),
        ],
        "",
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("custom.check.toml:2"),
        "a bad check file names its line: {all}"
    );
}

#[test]
fn a_stored_check_file_is_used_until_it_is_cleared() {
    let f = Fixture::new();
    let health = f.add_http_partner("Custom");
    let file = f.dir().join("stored.check.toml");
    std::fs::write(
        &file,
        format!("[request]\nurl = \"{health}\"\n[[expect]]\nstatus = 418\n"),
    )
    .expect("write check file");
    let path = file.to_str().expect("utf-8");
    let out = f.ok(&["partner", "set-check", "Custom", path], "");
    assert!(out.contains("1 condition(s)"), "{out}");
    let (code, report, _) = f.check("Custom");
    assert_eq!(code, 3, "the stored check (status 418) fails: {report}");
    assert!(
        report["reason"].as_str().unwrap_or("").contains("418"),
        "{report}"
    );

    let export = f.dir().join("ws.json");
    f.ok(&["export", export.to_str().expect("utf-8")], "");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&export).expect("read")).expect("json");
    assert!(
        doc["partners"][0]["check"]["definition"]
            .as_str()
            .unwrap_or("")
            .contains("status = 418"),
        "the check travels with the workspace: {doc}"
    );

    f.ok(&["partner", "clear-check", "Custom"], "");
    let (code, report, _) = f.check("Custom");
    assert_eq!(code, 0, "a plain GET of the endpoint answers 2xx: {report}");

    std::fs::write(
        &file,
        "[request]\nurl = \"https://x.example\"\n\n[[expect]]\nstatus = 9000\n",
    )
    .expect("write");
    let out = f.run(&["partner", "set-check", "Custom", path], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stored.check.toml:4") && stderr.contains("9000"),
        "{stderr}"
    );

    let url = f.sim().base_url(Platform::Kubeflow);
    f.ok(
        &[
            "partner",
            "add",
            "KFP",
            "--kind",
            "kubeflow",
            "--endpoint",
            &url,
        ],
        "",
    );
    std::fs::write(
        &file,
        format!("[request]\nurl = \"{health}\"\n[[expect]]\nstatus = 200\n"),
    )
    .expect("write");
    let out = f.run(&["partner", "set-check", "KFP", path], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built-in connector"));
}
