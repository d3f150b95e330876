//! Crash safety of the headless poller: `ecosystem poll` (the real binary) polls 200 partners
//! served by partner-sim (every 5 s, the shortest interval allowed; a start checks each at
//! once) and is killed with SIGKILL at a random moment after it has committed its first
//! checks, 50 times in a row, on the same database file. After each kill the file passes
//! `PRAGMA integrity_check`, every sample, transition and rollup count committed before the
//! kill (read through a read-only connection of the test's own) is still there, and the next
//! `ecosystem poll --once` starts cleanly and records its checks. The moments come from a
//! seeded generator whose seed is printed (`CRASH_SEED=<n>` replays a run).
//!
//! The binaries are the workspace's (`cargo build -p ecosystem-cli -p partner-sim`), found
//! beside this test's executable in the target directory, or named by `ECOSYSTEM_BIN` and
//! `PARTNER_SIM_BIN`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecosystem_core::{HealthCheck, LifecycleAction, NewPartner, PartnerKind, Registry, Store};
use rusqlite::{Connection, OpenFlags};

const PARTNERS: u32 = 200;
const ROUNDS: u32 = 50;

/// A binary of the workspace: `var` if set, else beside this test in the target directory.
fn workspace_bin(name: &str, var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/crash_safety-<hash>
    let exe = std::env::current_exe().expect("the test's own path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the target directory")
        .join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build -p ecosystem-cli -p partner-sim` first (or set {var})",
        path.display()
    );
    path
}

/// SplitMix64: small, seeded, good enough to pick moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// Ends the child (SIGKILL) when dropped, so a failed assertion leaves nothing running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts partner-sim playing Kubeflow; returns it and its base URL.
fn start_sim() -> (Reaped, String) {
    let mut child = Command::new(workspace_bin("partner-sim", "PARTNER_SIM_BIN"))
        .args(["--platform", "kubeflow", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("partner-sim starts");
    let stdout = child.stdout.take().expect("partner-sim's stdout");
    let child = Reaped(child);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("partner-sim's output");
        if let Some(url) = line.trim().strip_prefix("kubeflow ") {
            return (child, url.trim_end_matches('/').to_string());
        }
    }
    panic!("partner-sim printed no Kubeflow URL");
}

/// What is committed, as another process sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
struct Committed {
    samples: i64,
    transitions: i64,
    /// Checks counted in the minute rollups (a check in the same second as an earlier one
    /// adds no sample, but is counted here).
    checks: i64,
}

fn committed(db: &Path) -> Committed {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("a read-only connection");
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM health_samples),
                (SELECT count(*) FROM health_transitions),
                (SELECT coalesce(sum(checks), 0) FROM health_rollups WHERE resolution = 60)",
        [],
        |r| {
            Ok(Committed {
                samples: r.get(0)?,
                transitions: r.get(1)?,
                checks: r.get(2)?,
            })
        },
    )
    .expect("counts read")
}

fn assert_sound(db: &Path, round: u32) {
    let findings = Store::integrity_check(db).expect("integrity_check runs");
    assert_eq!(
        findings,
        vec!["ok".to_string()],
        "round {round}: integrity_check"
    );
}

fn assert_not_locked(text: &str, what: &str) {
    for needle in ["database is locked", "SQLITE_BUSY", "database is busy"] {
        assert!(!text.contains(needle), "{what} says {needle:?}:\n{text}");
    }
}

#[test]
fn killing_the_poller_while_it_writes_loses_nothing_committed() {
    let ecosystem = workspace_bin("ecosystem", "ECOSYSTEM_BIN");
    let (_sim, url) = start_sim();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ecosystem.db");
    {
        let mut registry = Registry::open(&db).unwrap();
        for i in 0..PARTNERS {
            let mut new = NewPartner::new(
                format!("partner-{i:03}"),
                PartnerKind::Http,
                format!("{url}/apis/v2beta1/healthz"),
            );
            new.health_check = HealthCheck {
                interval_secs: 5,
                timeout_secs: 2,
            };
            registry.add_partner(&new).unwrap();
            registry
                .change_lifecycle(&new.name, LifecycleAction::Activate)
                .unwrap();
        }
    }
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash_safety: seed {seed} (CRASH_SEED={seed} replays it), {PARTNERS} partners");
    let mut rng = Rng(seed);
    let poll_log = dir.path().join("poll.log");
    let started = Instant::now();
    let mut kill_ms = Vec::new();
    let mut once_ms = Vec::new();
    let mut last = committed(&db);
    let mut written_before_kill = 0;
    for round in 1..=ROUNDS {
        let wait = rng.between(0, 2_000);
        let log = std::fs::File::create(&poll_log).unwrap();
        let child = Command::new(&ecosystem)
            .arg("--db")
            .arg(&db)
            .arg("poll")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ecosystem poll starts");
        let mut child = Reaped(child);
        // Kill only a poller that is recording: once its first checks are committed, at a
        // random moment within the next two seconds (its first round is still being written,
        // or the next one is under way).
        let deadline = Instant::now() + Duration::from_secs(20);
        while committed(&db).samples == last.samples {
            assert!(
                Instant::now() < deadline,
                "round {round}: the poller committed nothing in 20 s: {}",
                std::fs::read_to_string(&poll_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(wait));
        let before = committed(&db);
        let kill_at = Instant::now();
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().unwrap();
        kill_ms.push(kill_at.elapsed().as_secs_f64() * 1_000.0);
        assert!(
            status.code().is_none(),
            "round {round}: the poller ended by itself before the kill ({status}): {}",
            std::fs::read_to_string(&poll_log).unwrap_or_default()
        );
        assert_not_locked(
            &std::fs::read_to_string(&poll_log).unwrap_or_default(),
            "ecosystem poll's log",
        );
        assert_sound(&db, round);
        let after = committed(&db);
        assert!(
            after.samples >= before.samples
                && after.transitions >= before.transitions
                && after.checks >= before.checks,
            "round {round} (killed after {wait} ms): committed {before:?}, after the kill {after:?}"
        );
        assert!(
            before.checks >= last.checks,
            "round {round}: the previous rounds' {last:?} went down to {before:?}"
        );
        // The next start is clean and writes. Samples are whole seconds (one per partner and
        // second): start it in the next second, so each of its checks adds a sample.
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_millis();
        std::thread::sleep(Duration::from_millis(u64::from(1_020 - ms.min(1_000))));
        let once_at = Instant::now();
        let out = Command::new(&ecosystem)
            .arg("--db")
            .arg(&db)
            .args(["poll", "--once", "--format", "json"])
            .output()
            .expect("ecosystem poll --once runs");
        once_ms.push(once_at.elapsed().as_secs_f64() * 1_000.0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "round {round}: ecosystem poll --once after the kill: {}\n{stderr}",
            out.status
        );
        assert_not_locked(&stderr, "ecosystem poll --once");
        let next = committed(&db);
        assert!(
            next.samples >= after.samples + i64::from(PARTNERS),
            "round {round}: poll --once after the kill recorded too little: {after:?} -> {next:?}"
        );
        assert_sound(&db, round);
        written_before_kill += before.samples - last.samples;
        println!(
            "round {round:2}: killed after {wait:4} ms, {:3} samples of its own committed ({:6} samples, \
             {:4} transitions in all); kept {:6} / {:4}; poll --once {:5.0} ms",
            before.samples - last.samples,
            before.samples,
            before.transitions,
            after.samples,
            after.transitions,
            once_ms.last().unwrap()
        );
        last = next;
    }
    assert!(
        written_before_kill >= i64::from(ROUNDS),
        "the killed pollers committed only {written_before_kill} samples in {ROUNDS} rounds"
    );
    once_ms.sort_by(f64::total_cmp);
    kill_ms.sort_by(f64::total_cmp);
    println!(
        "crash_safety: {ROUNDS} kills in {:.1} s, integrity ok every time; {written_before_kill} samples \
         committed by the killed pollers, {} samples, {} transitions, {} checks in all; poll --once after a kill p50 {:.0} ms, max {:.0} ms; \
         kill to reaped max {:.1} ms",
        started.elapsed().as_secs_f64(),
        last.samples,
        last.transitions,
        last.checks,
        once_ms[once_ms.len() / 2],
        once_ms[once_ms.len() - 1],
        kill_ms[kill_ms.len() - 1]
    );
}
