//! The real `ecosystem` binary with debug logging: what it logs about a partner whose owner is
//! an e-mail address and whose endpoint carries a token in its query reaches stderr masked,
//! while the database keeps the values as given.

mod common;

use std::process::Command;

fn planted_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .subsec_nanos();
    format!("tk{}q{nanos}z", std::process::id())
}

#[test]
fn an_owner_email_and_a_query_token_are_masked_in_the_log_but_stored_as_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ecosystem.db");
    let token = planted_token();
    let owner = "alice.smith@example.com";
    let endpoint = format!("https://kfp.example.com/pipeline?token={token}&page=1");
    let out = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .arg("--db")
        .arg(&db)
        .args(["partner", "add", "Masked Kubeflow", "--kind", "kubeflow"])
        .args(["--endpoint", &endpoint, "--owner", owner])
        .env("ECOSYSTEM_LOG", "debug")
        .env("USER", "ada")
        .env_remove("ECOSYSTEM_DB")
        .output()
        .expect("run ecosystem");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "partner add failed: {log}");
    assert!(
        log.contains("partner registered"),
        "the debug line is there: {log}"
    );
    assert!(
        log.contains("a***@example.com"),
        "the owner is masked: {log}"
    );
    assert!(
        log.contains("token=***&page=1"),
        "the query token is masked: {log}"
    );
    assert!(!log.contains(owner), "the owner's address leaked: {log}");
    assert!(
        !log.contains("alice.smith"),
        "the owner's name leaked: {log}"
    );
    assert!(!log.contains(&token), "the token leaked: {log}");

    // Masking is for the log only: the record keeps what was typed.
    let listed: serde_json::Value =
        serde_json::from_str(&common::ok(&db, &["partner", "list", "--format", "json"]))
            .expect("partner list prints JSON");
    assert_eq!(listed[0]["owner"], owner);
    assert_eq!(listed[0]["endpoint"], endpoint.as_str());
}
