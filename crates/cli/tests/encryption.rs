//! Encryption at rest through the real `ecosystem` binary, a real Secret Service and real
//! files: the key's recovery round trip (export, loss, import), a wrong key, and a SIGKILL in
//! the middle of encrypting a plain database. Run under `scripts/with-keyring.sh`.
//!
//! The tests here take the database key away from the keyring and put it back, so they run
//! one at a time (and the other test binaries, which run before or after this one, never see
//! the keyring without its key).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{ok, run};
use ecosystem_core::encryption::{self, DatabaseKey, FileState};
use ecosystem_core::{Store, KEYRING_SERVICE};
use serde_json::Value;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// A plain (unencrypted) copy of the encrypted database at `from`, as an Ecosystem before
/// encryption at rest would have left it (WAL mode).
fn plain_copy(from: &Path, to: &Path) {
    let store = Store::open(from).unwrap();
    store
        .conn()
        .execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [to.to_string_lossy().as_ref()],
        )
        .unwrap();
    store
        .conn()
        .query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    let version = store.schema_version().unwrap();
    store
        .conn()
        .execute_batch(&format!(
            "PRAGMA plain.user_version = {version}; DETACH DATABASE plain;"
        ))
        .unwrap();
    let plain = rusqlite::Connection::open(to).unwrap();
    plain
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    assert_eq!(FileState::of(to).unwrap(), FileState::Plain);
}

fn plain_count(path: &Path, table: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn names(db: &Path) -> Vec<String> {
    let v: Value = serde_json::from_str(&ok(db, &["partner", "list", "--format", "json"])).unwrap();
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_key_is_exported_lost_imported_and_a_wrong_one_is_named_without_changing_anything() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ecosystem.db");
    let partner = format!("KeyRoundTrip{}", std::process::id());
    ok(
        &db,
        &[
            "partner",
            "add",
            &partner,
            "--kind",
            "http",
            "--endpoint",
            "https://status.example.com",
        ],
    );
    let status: Value =
        serde_json::from_str(&ok(&db, &["db", "key", "status", "--format", "json"])).unwrap();
    assert_eq!(status["file"], "encrypted", "{status}");
    assert_eq!(status["key_in_keyring"], true);
    assert_eq!(status["key_opens_database"], true);
    assert!(status["cipher_version"].as_str().unwrap().starts_with('4'));

    // Export: a new file, owner-only, the header line then the key.
    let export = dir.path().join("ecosystem-key.txt");
    let out = run(
        &db,
        &["db", "key", "export", "--output", export.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = std::fs::metadata(&export).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the export is readable by its owner only");
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        text.starts_with(encryption::KEY_FILE_HEADER),
        "{}",
        text.lines().count()
    );
    let key_hex = text.lines().nth(1).unwrap().trim().to_string();
    assert_eq!(key_hex.len(), 64);
    assert_eq!(
        Some(DatabaseKey::from_hex(&key_hex).unwrap()),
        encryption::load_key().unwrap(),
        "the export holds the keyring's key"
    );
    assert!(!stdout(&out).contains(&key_hex) && !stderr(&out).contains(&key_hex));
    assert!(stderr(&out).contains("mode 0600"), "{}", stderr(&out));
    // The export is audited, without the key.
    let audit = ok(&db, &["audit", "--format", "json", "--limit", "100"]);
    assert!(audit.contains("database_key_exported"), "{audit}");
    assert!(audit.contains("ecosystem-key.txt"), "{audit}");
    assert!(
        !audit.contains(&key_hex),
        "the audit log never holds the key"
    );
    // ...and the database file holds it in no readable form.
    assert!(!contains(&std::fs::read(&db).unwrap(), &key_hex));

    // An existing file is never overwritten; stdout only when asked for with `-`.
    let again = run(
        &db,
        &["db", "key", "export", "--output", export.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&export).unwrap(), text);
    let bare = run(&db, &["db", "key", "export"]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(stdout(&bare).is_empty(), "no key without --output");
    let dash = run(&db, &["db", "key", "export", "--output", "-"]);
    assert!(dash.status.success(), "{}", stderr(&dash));
    assert!(stdout(&dash).contains(&key_hex));

    // The key is lost (removed by another keyring client): the database says how to recover.
    let cleared = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            KEYRING_SERVICE,
            "username",
            encryption::DATABASE_KEY_ACCOUNT,
        ])
        .status()
        .expect("secret-tool (libsecret-tools) is needed");
    assert!(cleared.success());
    assert_eq!(encryption::load_key().unwrap(), None, "the key is gone");
    let before = std::fs::read(&db).unwrap();
    let lost = run(&db, &["partner", "list"]);
    assert_eq!(lost.status.code(), Some(1));
    assert!(
        stderr(&lost).contains("has no database key")
            && stderr(&lost).contains("ecosystem db key import"),
        "{}",
        stderr(&lost)
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing was changed");
    assert_eq!(
        encryption::load_key().unwrap(),
        None,
        "no new key was made for an encrypted file"
    );

    // A file that is not a key is refused, naming the file and not repeating its text.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "# header\nnot-the-key-at-all\n").unwrap();
    let bad = run(
        &db,
        &["db", "key", "import", "--input", junk.to_str().unwrap()],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("junk.txt") && !stderr(&bad).contains("not-the-key"),
        "{}",
        stderr(&bad)
    );

    // Import brings it back; the database opens again.
    let imported = run(
        &db,
        &["db", "key", "import", "--input", export.to_str().unwrap()],
    );
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert_eq!(names(&db), vec![partner.clone()]);
    let audit = ok(&db, &["audit", "--format", "json", "--limit", "100"]);
    assert!(audit.contains("database_key_imported"), "{audit}");
    assert!(!audit.contains(&key_hex));

    // A wrong key in the keyring: a clear error, never "file is not a database", no change.
    encryption::store_key(&DatabaseKey::generate().unwrap()).unwrap();
    let before = std::fs::read(&db).unwrap();
    let wal_before = std::fs::read(sidecar(&db, "-wal")).unwrap_or_default();
    let wrong = run(&db, &["partner", "list"]);
    assert_eq!(wrong.status.code(), Some(1));
    let msg = stderr(&wrong);
    assert!(
        msg.contains("the database is encrypted and the key in the OS keyring does not open it")
            && msg.contains("ecosystem db key import"),
        "{msg}"
    );
    assert!(
        !msg.contains("file is not a database") && !msg.contains("hmac"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is untouched");
    assert_eq!(
        std::fs::read(sidecar(&db, "-wal")).unwrap_or_default(),
        wal_before
    );
    let check = run(&db, &["db", "check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stderr(&check).contains("does not open it"),
        "{}",
        stderr(&check)
    );

    // Importing over a different key needs --force; a key that does not open it is refused.
    let refused = run(
        &db,
        &["db", "key", "import", "--input", export.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    let other = dir.path().join("other-key.txt");
    std::fs::write(
        &other,
        DatabaseKey::generate().unwrap().export_text().as_str(),
    )
    .unwrap();
    let not_it = run(
        &db,
        &[
            "db",
            "key",
            "import",
            "--input",
            other.to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(not_it.status.code(), Some(2));
    assert!(
        stderr(&not_it).contains("does not open"),
        "{}",
        stderr(&not_it)
    );
    let forced = run(
        &db,
        &[
            "db",
            "key",
            "import",
            "--input",
            export.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(names(&db), vec![partner]);
    assert_eq!(ok(&db, &["db", "check"]).trim(), "ok");
}

/// A plain database big enough that encrypting it takes a while, with `partners` partners
/// and `samples` health samples.
fn big_plain_database(dir: &Path, samples: i64) -> (PathBuf, i64) {
    let source = dir.join("source.db");
    {
        let store = Store::open(&source).unwrap();
        let conn = store.conn();
        conn.execute_batch(
            "INSERT INTO partners (id, name, kind, endpoint, tier, lifecycle, check_interval_secs,
                 check_timeout_secs, created_at, updated_at)
             VALUES (1, 'BigPlainPartner', 'http', 'https://status.example.com', 'standard',
                 'active', 60, 10, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO health_samples (partner_id, at, latency_ms, outcome)
             SELECT 1, 1700000000 + i, i % 997, 0 FROM n",
            [samples],
        )
        .unwrap();
    }
    let db = dir.join("ecosystem.db");
    plain_copy(&source, &db);
    (db, samples)
}

#[test]
fn a_sigkill_while_a_plain_database_is_encrypted_leaves_it_intact_and_the_next_open_finishes() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (db, samples) = big_plain_database(dir.path(), 1_500_000);
    assert_eq!(plain_count(&db, "health_samples"), samples);
    let copy = encryption::encrypting_path(&db);

    // The first open encrypts it; kill it once the encrypted copy is being written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecosystem"))
        .arg("--db")
        .arg(&db)
        .args(["partner", "list"])
        .env_remove("ECOSYSTEM_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(120) {
        if std::fs::metadata(&copy)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
        {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(seen, "the encrypted copy was being written");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "it was killed midway, not finished");

    // The original is still the plain database, with every row.
    assert_eq!(FileState::of(&db).unwrap(), FileState::Plain);
    assert_eq!(plain_count(&db, "health_samples"), samples);
    assert_eq!(plain_count(&db, "partners"), 1);

    // The next open encrypts it, removes the leftover, and every row is there.
    assert_eq!(names(&db), vec!["BigPlainPartner".to_string()]);
    assert_eq!(FileState::of(&db).unwrap(), FileState::Encrypted);
    assert!(!copy.exists(), "the leftover copy is gone");
    let conn = encryption::open_read_only(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM health_samples", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, samples);
    assert_eq!(ok(&db, &["db", "check"]).trim(), "ok");
    assert!(!contains(&std::fs::read(&db).unwrap(), "BigPlainPartner"));
}

#[test]
fn db_encrypt_reports_what_it_did_and_is_a_no_op_the_second_time() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (db, samples) = big_plain_database(dir.path(), 2_000);
    let status: Value =
        serde_json::from_str(&ok(&db, &["db", "key", "status", "--format", "json"])).unwrap();
    assert_eq!(status["file"], "plain", "{status}");
    // `db check` reads a plain file as it is, without encrypting it.
    assert_eq!(ok(&db, &["db", "check"]).trim(), "ok");
    assert_eq!(FileState::of(&db).unwrap(), FileState::Plain);
    let report: Value =
        serde_json::from_str(&ok(&db, &["db", "encrypt", "--format", "json"])).unwrap();
    assert_eq!(report["encrypted_now"], true, "{report}");
    assert!(report["rows"].as_i64().unwrap() > samples, "{report}");
    assert_eq!(FileState::of(&db).unwrap(), FileState::Encrypted);
    // `db stats` reads the encrypted file (the desktop bench counts checks with it).
    let stats: Value =
        serde_json::from_str(&ok(&db, &["db", "stats", "--format", "json"])).unwrap();
    assert_eq!(stats["tables"]["health_samples"], samples, "{stats}");
    assert_eq!(stats["tables"]["partners"], 1, "{stats}");
    assert_eq!(stats["partners_checked"], 1, "{stats}");
    let again = ok(&db, &["db", "encrypt"]);
    assert!(again.contains("already encrypted"), "{again}");
    let missing = run(&dir.path().join("none.db"), &["db", "encrypt"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no such database file"));
}
