//! Crash safety of the headless poller: `ecosystem poll` (the real binary) polls 200 partners
//! served by partner-sim (every 5 s, the shortest interval allowed; a start checks each at
//! once) and is killed with SIGKILL at a random moment after it has committed its first
//! checks, 50 times in a row, on the same database file. After each kill the file passes
//! `PRAGMA integrity_check`, every sample, transition and rollup count committed before the
//! kill (read through a read-only connection of the test's own) is still there, and the next
//! `ecosystem poll --once` starts cleanly and records its checks. The moments come from a
//! seeded generator whose seed is printed (`CRASH_SEED=<n>` replays a run).
//!
//! The health-history retention run (`ecosystem db prune`) is killed the same way, 50 times,
//! on a file seeded with history past the retention horizons: each partner's history is either
//! whole or pruned after a kill, never in between, and every rollup kept is what the raw checks
//! give (see `killing_a_retention_run_loses_and_double_counts_nothing`).
//!
//! The binaries are the workspace's (`cargo build -p ecosystem-cli -p partner-sim`), found
//! beside this test's executable in the target directory, or named by `ECOSYSTEM_BIN` and
//! `PARTNER_SIM_BIN`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecosystem_core::{HealthCheck, LifecycleAction, NewPartner, PartnerKind, Registry, Store};
use rusqlite::Connection;

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
    read_only(db)
        .query_row(
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

// ----- a kill during a retention run -----

/// Partners whose history `ecosystem db prune` goes through (one transaction each).
const PRUNE_PARTNERS: u32 = 30;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// The seeded history, relative to the start of the current hour: (start, length, one check
/// every n seconds). Under the default retention (raw samples 3 days, minute rollups 24 h, hour
/// rollups 90 days) the first goes whole but for its day rollups, the second loses its raw
/// samples and minute rollups, the third its minute rollups, the last nothing. Each lies far
/// from every horizon, so the minute or so the test runs moves none of them.
const SEGMENTS: [(i64, i64, i64); 4] = [
    (-92 * DAY, 24 * HOUR, 60),
    (-6 * DAY, 48 * HOUR, 30),
    (-2 * DAY, 6 * HOUR, 60),
    (-2 * HOUR, HOUR, 60),
];
/// What is older than these goes (relative to the start of the hour); between the segments.
const RAW_OLD: i64 = -3 * DAY;
const MINUTE_OLD: i64 = -12 * HOUR;
const HOUR_OLD: i64 = -30 * DAY;

/// A rollup's counters as the test compares them: checks, up (ok or degraded), failed, and
/// the latency sum of the up ones.
type Counts = (i64, i64, i64, i64);
/// Rollups per (partner, bucket).
type Rollups = std::collections::BTreeMap<(i64, i64), Counts>;

/// The history of the prune test's database, as another process reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct History {
    /// Per (partner, older than RAW_OLD): samples, latency sum, outcome-code sum.
    raw: std::collections::BTreeMap<(i64, bool), (i64, i64, i64)>,
    /// Per (partner, older than MINUTE_OLD): minute rollup rows and the checks they count.
    minutes: std::collections::BTreeMap<(i64, bool), (i64, i64)>,
    /// Hour and day rollups.
    hours: Rollups,
    days: Rollups,
    transitions: i64,
    prune_audits: i64,
}

fn read_only(db: &Path) -> Connection {
    ecosystem_core::encryption::open_read_only(db).expect("a read-only connection")
}

fn history(db: &Path, base: i64) -> History {
    let conn = read_only(db);
    let mut raw = std::collections::BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT partner_id, at < ?1, count(*), sum(latency_ms), sum(outcome)
             FROM health_samples GROUP BY 1, 2",
        )
        .unwrap();
    let rows = stmt
        .query_map([base + RAW_OLD], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?, r.get(4)?)))
        })
        .unwrap();
    for row in rows {
        let (k, v) = row.unwrap();
        raw.insert(k, v);
    }
    let mut minutes = std::collections::BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT partner_id, bucket < ?1, count(*), sum(checks) FROM health_rollups
             WHERE resolution = 60 GROUP BY 1, 2",
        )
        .unwrap();
    let rows = stmt
        .query_map([base + MINUTE_OLD], |r| {
            Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)))
        })
        .unwrap();
    for row in rows {
        let (k, v) = row.unwrap();
        minutes.insert(k, v);
    }
    let rollups = |resolution: i64| {
        let mut stmt = conn
            .prepare(
                "SELECT partner_id, bucket, checks, ok + degraded, failed, latency_sum
                 FROM health_rollups WHERE resolution = ?1",
            )
            .unwrap();
        let rows = stmt
            .query_map([resolution], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?),
                    (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Rollups>()
    };
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    History {
        raw,
        minutes,
        hours: rollups(HOUR),
        days: rollups(DAY),
        transitions: count("SELECT count(*) FROM health_transitions"),
        prune_audits: count("SELECT count(*) FROM audit_log WHERE action = 'history.prune'"),
    }
}

/// Seeds PRUNE_PARTNERS partners with SEGMENTS of checks through the health writer (the
/// poller's own write path, which keeps the rollups with the samples). Returns the partners'
/// ids and the hour and day rollups the raw checks give, computed here from the checks.
fn seed_history(db: &Path, base: i64) -> (Vec<i64>, Rollups, Rollups) {
    use chrono::DateTime;
    use ecosystem_core::health::CheckOutcome;
    use ecosystem_core::health_store::{HealthWriter, PartnerOutcome};
    use ecosystem_core::integration::ErrorClass;

    let mut registry = Registry::open(db).unwrap();
    let mut writer = HealthWriter::new(Store::open(db).unwrap());
    let mut ids = Vec::new();
    let mut hours = Rollups::new();
    let mut days = Rollups::new();
    for i in 0..PRUNE_PARTNERS {
        let new = NewPartner::new(
            format!("history-{i:02}"),
            PartnerKind::Http,
            "https://history.example.com/health",
        );
        let id = registry.add_partner(&new).unwrap().id;
        ids.push(i64::from(id));
        let mut batch = Vec::new();
        for (start, length, every) in SEGMENTS {
            for (k, at) in (base + start..base + start + length)
                .step_by(every as usize)
                .enumerate()
            {
                let when = DateTime::from_timestamp(at, 0).unwrap();
                let failed = (k + i as usize).is_multiple_of(11);
                let latency = 20 + (at % 480) as u32;
                let outcome = if failed {
                    CheckOutcome::failed(when, ErrorClass::TimedOut, "no answer", 10_000)
                } else {
                    CheckOutcome::ok(when, latency)
                };
                for (map, size) in [(&mut hours, HOUR), (&mut days, DAY)] {
                    let c: &mut Counts = map
                        .entry((i64::from(id), at - at.rem_euclid(size)))
                        .or_default();
                    c.0 += 1;
                    if failed {
                        c.2 += 1;
                    } else {
                        c.1 += 1;
                        c.3 += i64::from(latency);
                    }
                }
                batch.push(PartnerOutcome {
                    partner_id: id,
                    outcome,
                });
            }
        }
        for chunk in batch.chunks(5_000) {
            writer.record(chunk).unwrap();
        }
    }
    (ids, hours, days)
}

/// Runs `ecosystem db prune --format json` to the end; returns what it reported.
fn prune(ecosystem: &Path, db: &Path) -> serde_json::Value {
    let out = Command::new(ecosystem)
        .arg("--db")
        .arg(db)
        .args(["db", "prune", "--format", "json"])
        .output()
        .expect("ecosystem db prune runs");
    assert!(
        out.status.success(),
        "ecosystem db prune: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("db prune prints JSON")
}

/// Copies `from` (a closed database, its WAL checkpointed away) over `to` and its WAL.
fn restore(from: &Path, to: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut side = to.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(from, to).unwrap();
}

/// Checks `now` against the seeded history `seeded`: each partner's history is either all
/// there (raw samples, minute and hour rollups past the horizons included) or pruned (those
/// gone, in the same transaction); whatever is inside the horizons, the day rollups and the
/// transitions are exactly as seeded. Returns the partners that are pruned.
fn assert_pruned_or_whole(now: &History, seeded: &History, ids: &[i64], round: u32) -> usize {
    let mut pruned = 0;
    for &id in ids {
        let old_raw = now.raw.get(&(id, true));
        let old_minutes = now.minutes.get(&(id, true));
        let old_hours: Vec<_> = seeded
            .hours
            .iter()
            .filter(|((p, bucket), _)| *p == id && *bucket < seeded_base(seeded) + HOUR_OLD)
            .map(|(k, v)| (now.hours.get(k), v))
            .collect();
        assert!(!old_hours.is_empty(), "partner {id} has hours to prune");
        if old_raw.is_none() {
            pruned += 1;
            assert_eq!(
                old_minutes, None,
                "round {round}: partner {id}'s raw samples are pruned, its old minute rollups are not"
            );
            assert!(
                old_hours.iter().all(|(now, _)| now.is_none()),
                "round {round}: partner {id}'s raw samples are pruned, its old hour rollups are not"
            );
        } else {
            assert_eq!(
                old_raw,
                seeded.raw.get(&(id, true)),
                "round {round}: partner {id}'s old raw samples are partly pruned"
            );
            assert_eq!(
                old_minutes,
                seeded.minutes.get(&(id, true)),
                "round {round}: partner {id}'s raw samples are whole, its old minute rollups are not"
            );
            assert!(
                old_hours.iter().all(|(now, seeded)| *now == Some(*seeded)),
                "round {round}: partner {id}'s raw samples are whole, its old hour rollups are not"
            );
        }
        assert_eq!(
            now.raw.get(&(id, false)),
            seeded.raw.get(&(id, false)),
            "round {round}: partner {id}'s raw samples inside the retention window changed"
        );
        assert_eq!(
            now.minutes.get(&(id, false)),
            seeded.minutes.get(&(id, false)),
            "round {round}: partner {id}'s minute rollups of the last day changed"
        );
    }
    let kept = |h: &History| {
        h.hours
            .iter()
            .filter(|((_, bucket), _)| *bucket >= seeded_base(seeded) + HOUR_OLD)
            .map(|(k, v)| (*k, *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kept(now),
        kept(seeded),
        "round {round}: hour rollups inside the retention window"
    );
    assert_eq!(now.days, seeded.days, "round {round}: day rollups");
    assert_eq!(
        now.transitions, seeded.transitions,
        "round {round}: transitions"
    );
    pruned
}

/// The start of the hour the history was seeded from: its newest hour rollup's bucket is one
/// hour before the segments' end (the last segment ends an hour before it).
fn seeded_base(seeded: &History) -> i64 {
    seeded.hours.keys().map(|(_, b)| *b).max().unwrap() + 2 * HOUR
}

#[test]
fn killing_a_retention_run_loses_and_double_counts_nothing() {
    let ecosystem = workspace_bin("ecosystem", "ECOSYSTEM_BIN");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ecosystem.db");
    let pristine = dir.path().join("seeded.db");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let base = now - now.rem_euclid(HOUR);
    let seeding = Instant::now();
    let (ids, hours, days) = seed_history(&db, base);
    let seed_secs = seeding.elapsed().as_secs_f64();
    // The writer and registry are closed: the WAL is checkpointed into the file.
    std::fs::copy(&db, &pristine).unwrap();
    let seeded = history(&db, base);
    assert_eq!(seeded_base(&seeded), base);
    // The rollups the writer kept are what the raw checks give: the reference for the rounds.
    assert_eq!(
        seeded.hours, hours,
        "seeded hour rollups against the raw checks"
    );
    assert_eq!(
        seeded.days, days,
        "seeded day rollups against the raw checks"
    );
    let samples: i64 = seeded.raw.values().map(|v| v.0).sum();
    let old_samples: i64 = ids.iter().map(|id| seeded.raw[&(*id, true)].0).sum();

    // A whole run first, on a copy: how long it takes, and that it removes what it should.
    let timed = dir.path().join("timed.db");
    std::fs::copy(&pristine, &timed).unwrap();
    let run_at = Instant::now();
    let report = prune(&ecosystem, &timed);
    let whole_ms = run_at.elapsed().as_secs_f64() * 1_000.0;
    assert_eq!(report["partners"], PRUNE_PARTNERS);
    assert_eq!(report["samples_deleted"], old_samples, "{report}");
    let after = history(&timed, base);
    assert_eq!(
        assert_pruned_or_whole(&after, &seeded, &ids, 0),
        ids.len(),
        "a whole run prunes every partner"
    );
    assert_eq!(after.prune_audits, 1, "the run is audited");

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!(
        "retention crash: seed {seed} (CRASH_SEED={seed} replays it); {PRUNE_PARTNERS} partners, \
         {samples} samples ({old_samples} past the horizon) seeded in {seed_secs:.1} s; \
         a whole `db prune` takes {whole_ms:.0} ms"
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let (mut before_first, mut mid_run, mut after_last, mut reseeds) = (0, 0, 0, 0);
    let mut last = seeded.clone();
    let mut pruned_before = 0;
    for round in 1..=ROUNDS {
        // Anywhere from the start of the process to the end of a whole run.
        let wait = rng.between(0, whole_ms.ceil() as u64);
        let child = Command::new(&ecosystem)
            .arg("--db")
            .arg(&db)
            .args(["db", "prune", "--format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ecosystem db prune starts");
        let mut child = Reaped(child);
        std::thread::sleep(Duration::from_millis(wait));
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().unwrap();
        assert_sound(&db, round);
        let now = history(&db, base);
        let pruned = assert_pruned_or_whole(&now, &seeded, &ids, round);
        // Nothing is removed without its audit row (it commits with the first partner's).
        if pruned > pruned_before {
            assert_eq!(
                now.prune_audits,
                last.prune_audits + 1,
                "round {round}: partners were pruned without an audit row"
            );
        }
        let finished = status.success();
        let moment = if finished || pruned == ids.len() {
            after_last += 1;
            "after the last partner"
        } else if pruned > pruned_before || now.prune_audits > last.prune_audits {
            mid_run += 1;
            "during the run"
        } else {
            before_first += 1;
            "before its first commit"
        };
        println!(
            "round {round:2}: killed after {wait:4} ms {moment}: {pruned:2} of {} partners pruned \
             ({pruned_before:2} before it){}",
            ids.len(),
            if finished { " (it had finished)" } else { "" }
        );
        if pruned == ids.len() {
            // Nothing left to prune: start the next round from the seeded file again.
            restore(&pristine, &db);
            reseeds += 1;
            last = history(&db, base);
            assert_eq!(last.raw, seeded.raw, "the seeded file is back");
            pruned_before = 0;
        } else {
            last = now;
            pruned_before = pruned;
        }
    }
    // A run to the end finishes what the killed ones left, and a second finds nothing.
    let report = prune(&ecosystem, &db);
    let after = history(&db, base);
    assert_sound(&db, ROUNDS + 1);
    assert_eq!(
        assert_pruned_or_whole(&after, &seeded, &ids, ROUNDS + 1),
        ids.len(),
        "a run to the end prunes every partner: {report}"
    );
    let again = prune(&ecosystem, &db);
    for field in [
        "samples_deleted",
        "minute_rollups_deleted",
        "hour_rollups_deleted",
    ] {
        assert_eq!(again[field], 0, "a second run removes nothing: {again}");
    }
    let unchanged = history(&db, base);
    assert_eq!(
        (
            &unchanged.raw,
            &unchanged.minutes,
            &unchanged.hours,
            &unchanged.days
        ),
        (&after.raw, &after.minutes, &after.hours, &after.days),
        "a second run changes no history"
    );
    assert!(
        mid_run > 0,
        "no kill landed during a run ({before_first} before its first commit, {after_last} after its last)"
    );
    println!(
        "retention crash: {ROUNDS} kills in {:.1} s: {before_first} before the first commit, \
         {mid_run} during the run, {after_last} after the last partner; the seeded file restored \
         {reseeds} times; integrity ok and every rollup as the raw checks give it every time",
        started.elapsed().as_secs_f64()
    );
}
