//! `ecosystem bench logs` on the real binary: it masks every secret in its mix of log lines (it
//! fails otherwise) and prints a timing for each kind of line and for the mix, masked alone and
//! logged.

use std::process::Command;

#[test]
fn bench_logs_times_each_kind_of_line_and_the_mix() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .args(["bench", "logs", "--lines", "600", "--format", "json"])
        .output()
        .expect("run ecosystem");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench logs failed: {stderr}");
    let bench: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(bench["lines"], 600);
    let kinds: Vec<&str> = bench["masking"]
        .as_array()
        .expect("a timing per kind")
        .iter()
        .map(|k| k["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "check done",
            "state changed",
            "owner e-mail",
            "token in a URL",
            "credential header",
            "error body"
        ]
    );
    for kind in bench["masking"].as_array().unwrap() {
        assert!(kind["ns_per_line"].as_f64().unwrap() > 0.0, "{kind}");
        assert!(kind["bytes"].as_u64().unwrap() > 50, "{kind}");
    }
    for what in ["masking_mixed", "logging_mixed"] {
        let t = &bench[what];
        let ns = t["ns_per_line"].as_f64().expect("ns per line");
        let per_sec = t["lines_per_sec"].as_f64().expect("lines per second");
        assert!(ns > 0.0 && per_sec > 0.0, "{what}: {t}");
        // The two figures describe the same run.
        assert!((ns * per_sec / 1e9 - 1.0).abs() < 1e-6, "{what}: {t}");
    }
}

#[test]
fn bench_logs_refuses_zero_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .args(["bench", "logs", "--lines", "0"])
        .output()
        .expect("run ecosystem");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--lines"), "{stderr}");
}
