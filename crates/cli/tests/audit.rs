//! Every change made with the CLI is in the audit log: each mutating command, run on the real
//! binary, adds exactly one row (a workspace import: one per record it changes plus its own),
//! with who and where (`ada (cli)`), the action, the subject and never a secret; commands that
//! only read add none, and a refused change adds none. Then `ecosystem audit` filters and
//! exports what it shows. Credentials go to a real Secret Service: run under
//! `scripts/with-keyring.sh cargo test -p ecosystem-cli --test audit`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const ACTOR: &str = "ada (cli)";

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

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("USER", "ada")
            .env_remove("ECOSYSTEM_DB")
            .env_remove("ECOSYSTEM_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ecosystem");
        let mut pipe = child.stdin.take().expect("stdin");
        let _ = pipe.write_all(stdin.as_bytes());
        drop(pipe);
        child.wait_with_output().expect("wait for ecosystem")
    }

    fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    /// The whole log, newest first, as `ecosystem audit --format json` gives it.
    fn log(&self) -> Vec<Value> {
        let out = self.ok(&["audit", "--format", "json", "--limit", "100000"]);
        serde_json::from_str::<Value>(&out)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
            .as_array()
            .expect("an array")
            .clone()
    }

    /// Runs a command that changes one thing and checks that it added exactly one row: by
    /// `ada (cli)`, `action` on `subject`, at a UTC instant, naming none of `secrets`.
    /// Returns the row.
    fn changes(
        &self,
        args: &[&str],
        stdin: &str,
        action: &str,
        subject: &str,
        secrets: &[&str],
    ) -> Value {
        let before = self.log();
        self.ok_with(args, stdin);
        let after = self.log();
        let command = args.join(" ");
        assert_eq!(
            after.len(),
            before.len() + 1,
            "`{command}` adds exactly one audit row: {:?}",
            &after[..after.len() - before.len()]
        );
        let row = after[0].clone();
        assert_eq!(row["actor"], ACTOR, "`{command}`: who and where");
        assert_eq!(row["action"], action, "`{command}`: {row}");
        assert_eq!(row["subject"], subject, "`{command}`: {row}");
        let at = row["at"].as_str().expect("at");
        assert!(
            at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "`{command}`: when, in UTC: {at}"
        );
        let text = row.to_string();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "`{command}`: the audit row holds a secret: {text}"
            );
        }
        row
    }

    /// Runs a command that only reads and checks that it added no row.
    fn reads(&self, args: &[&str]) {
        let before = self.log().len();
        self.ok(args);
        assert_eq!(
            self.log().len(),
            before,
            "`{}` writes no audit row",
            args.join(" ")
        );
    }

    /// Runs a command that is refused (exit 2) and checks that it added no row.
    fn refused(&self, args: &[&str], stdin: &str) {
        let before = self.log().len();
        let out = self.run(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(2),
            "`{}` is refused: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            self.log().len(),
            before,
            "a refused `{}` writes no audit row",
            args.join(" ")
        );
    }
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

/// A loopback HTTP server that answers every request 200, so a connection test (and with it a
/// credential rotation's verification) of an http partner pointed at it passes.
fn healthy_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        }
    });
    format!("http://127.0.0.1:{port}/")
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn every_mutating_cli_command_writes_exactly_one_audit_row_with_who_what_and_when() {
    if let Err(e) = ecosystem_core::OsKeyring::open() {
        panic!("this test needs a real Secret Service: run it under scripts/with-keyring.sh; {e}");
    }
    let ws = Workspace::new();
    let endpoint = healthy_endpoint();
    let none: &[&str] = &[];

    // Partners.
    let add = ws.changes(
        &[
            "partner",
            "add",
            "hub",
            "--kind",
            "http",
            "--endpoint",
            &endpoint,
            "--tag",
            "eu",
        ],
        "",
        "partner.add",
        "hub",
        none,
    );
    assert_eq!(add["entity"], "partner");
    assert!(
        add["detail"]
            .as_str()
            .unwrap()
            .contains("\"tags\":[\"eu\"]"),
        "{add}"
    );
    ws.changes(
        &["partner", "update", "hub", "--owner", "bob"],
        "",
        "partner.update",
        "hub",
        none,
    );
    let renamed = ws.changes(
        &["partner", "update", "hub", "--name", "core-hub"],
        "",
        "partner.update",
        "core-hub",
        none,
    );
    let detail: Value = serde_json::from_str(renamed["detail"].as_str().unwrap()).unwrap();
    assert_eq!(
        detail["renamed_from"], "hub",
        "a rename names the old name too"
    );
    ws.changes(
        &["partner", "lifecycle", "core-hub", "activate"],
        "",
        "partner.activate",
        "core-hub",
        none,
    );
    ws.changes(
        &["partner", "pause", "core-hub", "--reason", "VPN change"],
        "",
        "partner.pause",
        "core-hub",
        none,
    );
    ws.changes(
        &["partner", "resume", "core-hub"],
        "",
        "partner.resume",
        "core-hub",
        none,
    );
    let check = write(
        &ws.path("hub.check.toml"),
        &format!("[request]\nurl = \"{endpoint}\"\n\n[[expect]]\nstatus = 200\n"),
    );
    ws.changes(
        &["partner", "set-check", "core-hub", &check],
        "",
        "check.set",
        "core-hub",
        none,
    );
    ws.changes(
        &["partner", "clear-check", "core-hub"],
        "",
        "check.remove",
        "core-hub",
        none,
    );

    // Contracts, SLA terms and expiry alerts.
    let today = chrono::Utc::now().date_naive();
    let start = (today - chrono::Days::new(300)).to_string();
    // Notice deadline 20 days away: the 30-day alert stage is due.
    let end = (today + chrono::Days::new(50)).to_string();
    let contract = [
        "contract", "set", "core-hub", "--start", &start, "--end", &end,
    ];
    ws.changes(&contract, "", "contract.set", "core-hub", none);
    ws.changes(
        &[&contract[..], &["--sla-target", "99.5"]].concat(),
        "",
        "contract.update",
        "core-hub",
        none,
    );
    ws.changes(
        &["contract", "sla-terms", "core-hub", "--window", "quarter"],
        "",
        "contract.sla_terms",
        "core-hub",
        none,
    );
    // Raising the due alert is the alert's own record, not an audited change.
    ws.reads(&["contracts", "alerts", "--format", "json"]);
    ws.changes(
        &["contract", "ack", "core-hub"],
        "",
        "contract.alert_ack",
        "core-hub",
        none,
    );
    let until = (today + chrono::Days::new(5)).to_string();
    ws.changes(
        &["contract", "snooze", "core-hub", "--until", &until],
        "",
        "contract.snooze",
        "core-hub",
        none,
    );
    ws.changes(
        &["contract", "snooze", "core-hub", "--clear"],
        "",
        "contract.unsnooze",
        "core-hub",
        none,
    );
    ws.changes(
        &["contract", "alert-stages", "core-hub", "60,14"],
        "",
        "contract.alert_stages",
        "core-hub",
        none,
    );
    ws.changes(
        &["contract", "renew", "core-hub"],
        "",
        "contract.renew",
        "core-hub",
        none,
    );
    ws.changes(
        &["contract", "terminate", "core-hub"],
        "",
        "contract.terminate",
        "core-hub",
        none,
    );

    // Settings and maintenance windows.
    ws.changes(
        &["settings", "set", "notifications.resend_minutes", "45"],
        "",
        "setting.set",
        "notifications.resend_minutes",
        none,
    );
    let window = ws.changes(
        &[
            "maintenance",
            "add",
            "--partner",
            "core-hub",
            "--title",
            "Patching",
            "--from",
            "2099-01-01 10:00",
            "--to",
            "2099-01-01 12:00",
            "--tz",
            "UTC",
        ],
        "",
        "maintenance.add",
        "core-hub",
        none,
    );
    let id = serde_json::from_str::<Value>(window["detail"].as_str().unwrap()).unwrap()["id"]
        .to_string();
    ws.changes(
        &["maintenance", "remove", &id],
        "",
        "maintenance.remove",
        "core-hub",
        none,
    );

    // The health-history retention asked for by a person.
    ws.changes(
        &["db", "prune"],
        "",
        "history.prune",
        "health history",
        none,
    );

    // Credentials: set, replaced after a verification against the partner, replaced without
    // one, removed. No row holds the secret.
    let first = planted("first");
    let second = planted("second");
    let third = planted("third");
    let secrets = [first.as_str(), second.as_str(), third.as_str()];
    let set = ["credential", "set", "core-hub", "--type", "bearer"];
    ws.changes(
        &set,
        &format!("{first}\n"),
        "credential.set",
        "core-hub",
        &secrets,
    );
    let rotated = ws.changes(
        &set,
        &format!("{second}\n"),
        "credential.rotate",
        "core-hub",
        &secrets,
    );
    assert!(
        rotated["detail"]
            .as_str()
            .unwrap()
            .contains("\"verified\":true"),
        "{rotated}"
    );
    let unverified = ws.changes(
        &[&set[..], &["--skip-verify"]].concat(),
        &format!("{third}\n"),
        "credential.set",
        "core-hub",
        &secrets,
    );
    assert!(
        unverified["detail"]
            .as_str()
            .unwrap()
            .contains("\"replaces\""),
        "{unverified}"
    );
    ws.changes(
        &["credential", "remove", "core-hub"],
        "",
        "credential.remove",
        "core-hub",
        &secrets,
    );

    // A workspace import: one row per record it changes and one for the import, one instant.
    let exported = ws.path("workspace.json");
    ws.reads(&["export", exported.to_str().unwrap()]);
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    doc["partners"][0]["owner"] = Value::from("carol");
    let file = write(&ws.path("changed.json"), &doc.to_string());
    let before = ws.log().len();
    ws.ok(&["import", &file]);
    let log = ws.log();
    let imported = &log[..log.len() - before];
    assert_eq!(imported[0]["action"], "workspace.import", "{imported:?}");
    assert_eq!(imported[0]["subject"], file.as_str());
    assert!(
        imported.iter().any(|r| r["action"] == "partner.update"),
        "{imported:?}"
    );
    assert!(
        imported
            .iter()
            .all(|r| r["at"] == imported[0]["at"] && r["actor"] == ACTOR),
        "one transaction, one actor: {imported:?}"
    );

    // Removing a partner without a credential is one row.
    ws.changes(
        &[
            "partner",
            "add",
            "spare",
            "--kind",
            "mlflow",
            "--endpoint",
            "https://m.example.com",
        ],
        "",
        "partner.add",
        "spare",
        none,
    );
    ws.changes(
        &["partner", "remove", "spare"],
        "",
        "partner.remove",
        "spare",
        none,
    );

    // Reading adds nothing; a refused change adds nothing.
    for args in [
        &["partner", "list"][..],
        &["partner", "show", "core-hub"],
        &["contract", "show", "core-hub"],
        &["contracts", "expiring", "--within", "60"],
        &["settings", "list"],
        &["maintenance", "list"],
        &["credential", "list"],
        &["audit"],
        &["audit", "--format", "csv"],
        &["health", "core-hub"],
        &["db", "check"],
    ] {
        ws.reads(args);
    }
    ws.refused(
        &[
            "partner",
            "add",
            "core-hub",
            "--kind",
            "http",
            "--endpoint",
            &endpoint,
        ],
        "",
    );
    ws.refused(
        &["settings", "set", "notifications.resend_minutes", "soon"],
        "",
    );
    ws.refused(&["partner", "remove", "nobody"], "");
    ws.refused(&["credential", "set", "core-hub", "--type", "bearer"], "\n");
}

#[test]
fn the_audit_command_filters_by_subject_action_and_time_and_exports_csv() {
    let ws = Workspace::new();
    for name in ["Acme", "=SUM(A1)"] {
        ws.ok(&[
            "partner",
            "add",
            name,
            "--kind",
            "mlflow",
            "--endpoint",
            "https://m.example.com",
        ]);
    }
    ws.ok(&["settings", "set", "notifications.degraded", "1"]);
    let subjects = |args: &[&str]| -> Vec<String> {
        let out = ws.ok(&[&["audit", "--format", "json"][..], args].concat());
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["subject"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        subjects(&[]),
        ["notifications.degraded", "=SUM(A1)", "Acme"]
    );
    assert_eq!(subjects(&["--subject", "Acme"]), ["Acme"]);
    assert_eq!(
        subjects(&["--partner", "Acme"]),
        ["Acme"],
        "the older flag still works"
    );
    assert_eq!(subjects(&["--action", "partner.add"]), ["=SUM(A1)", "Acme"]);
    assert_eq!(subjects(&["--limit", "1"]), ["notifications.degraded"]);
    let today = chrono::Utc::now().date_naive();
    assert_eq!(subjects(&["--since", &today.to_string()]).len(), 3);
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    assert!(subjects(&["--since", &tomorrow]).is_empty());

    let table = ws.ok(&["audit"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("WHEN") && header.contains("WHO") && header.contains("DETAIL"),
        "{table}"
    );
    assert!(table.contains(ACTOR), "{table}");

    let csv = ws.ok(&["audit", "--format", "csv", "--action", "partner.add"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,at,actor,action,entity,subject,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].contains(",ada (cli),partner.add,partner,'=SUM(A1),"),
        "{csv}"
    );

    let file = ws.path("audit.csv");
    let out = ws.run(
        &[
            "audit",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "the file has a BOM"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(
        text.split("\r\n").filter(|l| !l.is_empty()).count(),
        4,
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 3 audit entries"));

    for (args, field) in [
        (&["audit", "--since", "last tuesday"][..], "since"),
        (&["audit", "--format", "csv", "--limit", "2"], "--limit"),
        (&["audit", "--output", "x.csv"], "--output"),
        (&["audit", "--limit", "0"], "--limit"),
    ] {
        let out = ws.run(args, "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(field), "{args:?}: {err}");
    }
}
