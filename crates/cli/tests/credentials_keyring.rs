//! `ecosystem credential ...` against a real Secret Service. These tests fail (never skip)
//! when none is reachable: run them under `scripts/with-keyring.sh`, which starts a private,
//! unlocked gnome-keyring, e.g.
//! `scripts/with-keyring.sh cargo test -p ecosystem-cli --test credentials_keyring`.
//! What the keyring holds is checked with `secret-tool` (libsecret, another client) and by
//! reading it back through the core in this process, not through the CLI (which never prints
//! a secret).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const RUN_UNDER: &str =
    "these tests need a real Secret Service: run them under scripts/with-keyring.sh \
     (e.g. `scripts/with-keyring.sh cargo test -p ecosystem-cli --test credentials_keyring`)";

/// Fails the test, saying how to run it, when there is no working keyring.
fn require_keyring() {
    if let Err(e) = ecosystem_core::OsKeyring::open() {
        panic!("{RUN_UNDER}; the keyring check failed: {e}");
    }
}

/// Everything the keyring holds for Ecosystem, secrets included, as `secret-tool` shows it.
fn keyring_dump() -> String {
    let mut last_error = String::new();
    // Tests run in parallel: an item another test deletes between secret-tool's search and
    // its read makes that one call fail, so a failure is retried a few times.
    for _ in 0..5 {
        let out = Command::new("secret-tool")
            .args([
                "search",
                "--all",
                "service",
                ecosystem_core::KEYRING_SERVICE,
            ])
            .output()
            .unwrap_or_else(|e| {
                panic!("secret-tool (libsecret-tools) is needed; {RUN_UNDER}: {e}")
            });
        if out.status.success() {
            return format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        last_error = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("secret-tool search keeps failing ({last_error}); {RUN_UNDER}")
}

/// A value no other test (or run) uses.
fn planted(what: &str) -> String {
    format!(
        "planted{what}{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

struct Workspace {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        Workspace { dir, db }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecosystem"));
        cmd.arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "ada")
            .env_remove("ECOSYSTEM_DB")
            .env_remove("ECOSYSTEM_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("run ecosystem");
        let mut pipe = child.stdin.take().expect("stdin");
        // The command may exit before reading (bad input is refused first); ignore EPIPE.
        let _ = pipe.write_all(stdin.as_bytes());
        drop(pipe);
        child.wait_with_output().expect("wait for ecosystem")
    }

    fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(args, stdin, &[]);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed ({:?}): {}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    /// Runs and expects exit status `code` with exactly one line on stderr; returns it.
    fn fails_with(&self, code: i32, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
        let out = self.run_with(args, stdin, env);
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            out.status.code(),
            Some(code),
            "`ecosystem {}` should exit {code}; stdout: {} stderr: {stderr}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line on stderr, got: {stderr:?}"
        );
        stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    fn add(&self, name: &str, kind: &str) {
        self.ok(&[
            "partner",
            "add",
            name,
            "--kind",
            kind,
            "--endpoint",
            "https://partner.example.com",
        ]);
    }

    /// The credential as the core reads it back from the keyring, in this (another) process.
    fn read_back(&self, partner: &str) -> ecosystem_core::Credential {
        ecosystem_core::Registry::open(&self.db)
            .expect("open the database")
            .credential(partner)
            .unwrap_or_else(|e| panic!("reading {partner}'s credential back: {e}"))
    }

    /// The database file and its WAL and shared-memory files, as bytes.
    fn database_bytes(&self) -> Vec<(String, Vec<u8>)> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let name = format!("ecosystem.db{suffix}");
                let bytes = std::fs::read(self.path(&name)).unwrap_or_default();
                (name, bytes)
            })
            .collect()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn pem_key(body: &str) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n{body}\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
    )
}

#[test]
fn a_credential_piped_on_stdin_lands_in_the_keyring_and_reads_back_in_another_process() {
    require_keyring();
    let ws = Workspace::new();
    ws.add("snow", "snowflake");
    let token = planted("token");
    let out = ws.ok_with(
        &[
            "credential",
            "set",
            "snow",
            "--type",
            "bearer",
            "--expires",
            "2099-12-31",
        ],
        &format!("{token}\n"),
    );
    assert!(
        out.contains("stored the bearer credential of partner \"snow\" in the Secret Service"),
        "{out}"
    );
    assert!(
        keyring_dump().contains(&token),
        "secret-tool finds the token in the keyring"
    );
    assert_eq!(
        ws.read_back("snow"),
        ecosystem_core::Credential::Bearer {
            token: ecosystem_core::Secret::new(token.clone())
        },
        "a fresh process reads the same credential back"
    );
    let meta = ws.json(&["credential", "show", "snow", "--format", "json"]);
    assert_eq!(meta["credential_type"], "bearer");
    assert_eq!(meta["expires_on"], "2099-12-31");
    assert_eq!(meta["partner"], "snow");

    ws.ok(&["credential", "remove", "snow"]);
    assert!(
        !keyring_dump().contains(&token),
        "the keyring item is deleted"
    );
    let err = ws.fails_with(2, &["credential", "show", "snow"], "", &[]);
    assert!(err.contains("has no credential"), "{err}");
    let actions: Vec<String> = ws
        .json(&["audit", "--format", "json"])
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        actions[..2],
        ["credential.remove", "credential.set"],
        "set and remove are audited"
    );
}

#[test]
fn a_planted_secret_appears_nowhere_but_in_the_keyring() {
    require_keyring();
    let ws = Workspace::new();
    ws.add("dd", "datadog");
    ws.add("mlf", "mlflow");
    ws.add("snow", "snowflake");
    ws.ok(&[
        "contract",
        "set",
        "dd",
        "--start",
        "2026-01-01",
        "--end",
        "2099-01-01",
    ]);
    let prefix = planted("leak");
    let (api, app, password, pem_body) = (
        format!("{prefix}api"),
        format!("{prefix}app"),
        format!("{prefix}pw with spaces"),
        format!("{prefix}pem"),
    );
    let trace = [("ECOSYSTEM_LOG", "trace")];
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let sets: [(&[&str], String); 3] = [
        (
            &[
                "credential",
                "set",
                "dd",
                "--type",
                "datadog_keys",
                "--expires",
                "2099-01-31",
            ],
            format!("{api}\n{app}\n"),
        ),
        (
            &[
                "credential",
                "set",
                "mlf",
                "--type",
                "basic",
                "--username",
                "alice",
            ],
            format!("{password}\n"),
        ),
        (
            &[
                "credential",
                "set",
                "snow",
                "--type",
                "snowflake_key_pair",
                "--account",
                "ORG-ACME",
                "--user",
                "SVC_ECOSYSTEM",
            ],
            pem_key(&pem_body),
        ),
    ];
    for (args, stdin) in &sets {
        let out = ws.run_with(args, stdin, &trace);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((args.join(" "), out));
    }
    let export = ws.path("export.json");
    let export_arg = export.to_str().expect("utf-8 path");
    let reads: [&[&str]; 9] = [
        &["partner", "list", "--format", "json"],
        &["partner", "show", "dd", "--format", "json"],
        &["partner", "show", "snow"],
        &["credential", "show", "dd", "--format", "json"],
        &["credential", "show", "snow"],
        &["credential", "list", "--format", "json"],
        &["credential", "list", "--expiring-within", "36500"],
        &["export", export_arg],
        &["audit", "--format", "json"],
    ];
    for args in reads {
        let out = ws.run_with(args, "", &trace);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((args.join(" "), out));
    }
    let traced = outputs.iter().map(|(_, o)| o.stderr.len()).sum::<usize>();
    assert!(
        traced > 0,
        "ECOSYSTEM_LOG=trace produced log output to search"
    );
    for (command, out) in &outputs {
        assert!(
            !contains(&out.stdout, &prefix),
            "`ecosystem {command}` printed a secret on stdout"
        );
        assert!(
            !contains(&out.stderr, &prefix),
            "`ecosystem {command}` logged a secret on stderr"
        );
    }
    let exported = std::fs::read(&export).expect("the export file");
    assert!(!exported.is_empty(), "the export was written");
    assert!(
        !contains(&exported, &prefix),
        "the export file holds a secret"
    );
    for (name, bytes) in ws.database_bytes() {
        assert!(!contains(&bytes, &prefix), "{name} holds a secret");
    }
    assert!(
        !ws.database_bytes()[0].1.is_empty(),
        "the database file was found"
    );
    let keyring = keyring_dump();
    for secret in [&api, &app, &password, &pem_body] {
        assert!(
            keyring.contains(secret.as_str()),
            "the keyring holds every secret (missing one of {} bytes)",
            secret.len()
        );
    }
    // Removing a partner (logged at trace) deletes its item and says nothing secret either.
    let out = ws.run_with(&["partner", "remove", "dd"], "", &trace);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!contains(&out.stderr, &prefix) && !contains(&out.stdout, &prefix));
    let keyring = keyring_dump();
    assert!(
        !keyring.contains(&api) && !keyring.contains(&app),
        "removing the partner deleted its keyring item"
    );
    assert!(keyring.contains(&password), "other partners' items stay");
    ws.ok(&["credential", "remove", "mlf"]);
    ws.ok(&["credential", "remove", "snow"]);
    assert!(
        !keyring_dump().contains(&prefix),
        "nothing of this test is left in the keyring"
    );
}

#[test]
fn bad_input_is_refused_naming_the_field_and_nothing_is_stored() {
    require_keyring();
    let ws = Workspace::new();
    ws.add("dd", "datadog");
    ws.add("snow", "snowflake");
    let secret = planted("refused");
    let line = format!("{secret}\n");
    let cases: Vec<(Vec<&str>, String, &str)> = vec![
        (
            vec!["credential", "set", "dd", "--type", "password"],
            line.clone(),
            "--type",
        ),
        (
            vec![
                "credential",
                "set",
                "dd",
                "--type",
                "basic",
                "--username",
                "u",
            ],
            line.clone(),
            "--type: basic does not fit a datadog partner; use one of: datadog_keys, api_key",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "bearer",
                "--expires",
                "2027-02-30",
            ],
            line.clone(),
            "--expires",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "bearer",
                "--expires",
                "next-week",
            ],
            line.clone(),
            "--expires",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "bearer",
                "--expires",
                "2020-01-01",
            ],
            line.clone(),
            "--expires: 2020-01-01 is in the past",
        ),
        (
            vec!["credential", "set", "snow", "--type", "bearer"],
            "\n".into(),
            "token: the token is empty",
        ),
        (
            vec!["credential", "set", "dd", "--type", "datadog_keys"],
            String::new(),
            "api_key: the Datadog API key is empty",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "snowflake_key_pair",
                "--account",
                "A",
                "--user",
                "U",
            ],
            String::new(),
            "private_key_pem: the PKCS#8 private key is empty",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "snowflake_key_pair",
                "--account",
                "A",
                "--user",
                "U",
            ],
            line.clone(),
            "private_key_pem: is not a PKCS#8 PEM private key",
        ),
        (
            vec!["credential", "set", "ghost", "--type", "bearer"],
            line.clone(),
            "no partner named \"ghost\"",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "snowflake_key_pair",
                "--account",
                "A",
            ],
            line.clone(),
            "--user: is required with --type snowflake_key_pair",
        ),
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "bearer",
                "--username",
                "u",
            ],
            line.clone(),
            "--username: does not apply to --type bearer",
        ),
        (
            vec!["credential", "set", "snow", "--type", "bearer"],
            format!("{secret}\n{secret}\n"),
            "stdin: has 1 more line(s) than expected",
        ),
        (
            vec!["credential", "set", "snow", "--type", "bearer"],
            format!("{secret} {secret}\n"),
            "token: must not contain spaces",
        ),
        // There is no way to give a secret as an argument.
        (
            vec![
                "credential",
                "set",
                "snow",
                "--type",
                "bearer",
                "--token",
                &secret,
            ],
            String::new(),
            "unexpected argument '--token'",
        ),
    ];
    for (args, stdin, expected) in &cases {
        let err = ws.fails_with(2, args, stdin, &[]);
        assert!(
            err.contains(expected),
            "`ecosystem {}`: expected {expected:?} in {err:?}",
            args.join(" ")
        );
        assert!(
            !err.contains(&secret) || args.contains(&"--token"),
            "the error repeats the secret: {err}"
        );
    }
    assert_eq!(
        ws.json(&["credential", "list", "--format", "json"]),
        serde_json::json!([]),
        "no credential was recorded"
    );
    let audit = ws.json(&["audit", "--format", "json"]);
    assert!(
        audit.as_array().expect("array").iter().all(|a| !a["action"]
            .as_str()
            .unwrap_or_default()
            .starts_with("credential.")),
        "nothing was audited: {audit}"
    );
    assert!(
        !keyring_dump().contains(&secret),
        "nothing reached the keyring"
    );
}

#[test]
fn setting_a_credential_again_leaves_only_the_new_secret_in_the_keyring() {
    require_keyring();
    let ws = Workspace::new();
    ws.add("hub", "http");
    let (first, second) = (planted("first"), planted("second"));
    ws.ok_with(
        &[
            "credential",
            "set",
            "hub",
            "--type",
            "api_key",
            "--header",
            "X-Token",
        ],
        &format!("{first}\n"),
    );
    ws.ok_with(
        &[
            "credential",
            "set",
            "hub",
            "--type",
            "oauth_client_credentials",
            "--token-url",
            "https://login.example.com/token",
            "--client-id",
            "ecosystem",
            "--scope",
            "read",
            // login.example.com is not reachable from a test; rotation checks are in check.rs.
            "--skip-verify",
        ],
        &format!("{second}\n"),
    );
    let keyring = keyring_dump();
    assert!(!keyring.contains(&first), "the old item is deleted");
    assert!(keyring.contains(&second), "the new item is there");
    let meta = ws.json(&["credential", "show", "hub", "--format", "json"]);
    assert_eq!(meta["credential_type"], "oauth_client_credentials");
    assert_eq!(meta["label"], "ecosystem", "the label is the client id");
    ws.ok(&["credential", "remove", "hub"]);
}

#[test]
fn a_client_certificate_reads_the_certificate_file_and_the_key_from_stdin() {
    require_keyring();
    let ws = Workspace::new();
    ws.add("kfp", "kubeflow");
    let cert = ws.path("client.crt");
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
    )
    .expect("write cert");
    let body = planted("mtls");
    ws.ok_with(
        &[
            "credential",
            "set",
            "kfp",
            "--type",
            "client_certificate",
            "--cert",
            cert.to_str().expect("utf-8 path"),
        ],
        &pem_key(&body),
    );
    match ws.read_back("kfp") {
        ecosystem_core::Credential::ClientCertificate { cert_pem, key_pem } => {
            assert!(
                cert_pem.contains("MIIBszCCAVmgAwIBAgIU"),
                "the certificate is kept"
            );
            assert_eq!(
                key_pem.expose(),
                pem_key(&body).trim(),
                "the whole PEM key is kept"
            );
        }
        other => panic!("expected a client certificate, got {other:?}"),
    }
    let missing = ws.fails_with(
        2,
        &[
            "credential",
            "set",
            "kfp",
            "--type",
            "client_certificate",
            "--cert",
            "no-such.crt",
        ],
        &pem_key(&body),
        &[],
    );
    assert!(
        missing.contains("--cert: cannot read no-such.crt"),
        "{missing}"
    );
    ws.ok(&["credential", "remove", "kfp"]);
}

#[test]
fn without_a_secret_service_the_error_says_what_is_wrong_and_nothing_is_stored() {
    // Needs no keyring: it points the binary at a session bus that does not exist.
    let ws = Workspace::new();
    ws.add("snow", "snowflake");
    let nobus = format!("unix:path={}", ws.path("no-bus").display());
    let err = ws.fails_with(
        1,
        &["credential", "set", "snow", "--type", "bearer"],
        "tok\n",
        &[("DBUS_SESSION_BUS_ADDRESS", &nobus)],
    );
    assert!(
        err.contains(
            "no Secret Service on this session bus: is a keyring daemon running and unlocked?"
        ),
        "{err}"
    );
    assert_eq!(
        ws.json(&["credential", "list", "--format", "json"]),
        serde_json::json!([]),
        "nothing was recorded"
    );
}
