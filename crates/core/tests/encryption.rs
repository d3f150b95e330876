//! Encryption at rest on real files with a real Secret Service: run under
//! `scripts/with-keyring.sh` (e.g. `scripts/with-keyring.sh cargo test -p ecosystem-core --test encryption`).
//!
//! These tests never replace or delete the database key in the keyring (other tests of the
//! run use it); the key's recovery round trip is tested through the CLI in its own binary.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use ecosystem_core::encryption::{self, DatabaseKey, FileState};
use ecosystem_core::*;
use rusqlite::Connection;

fn registry(path: &Path) -> Registry {
    Registry::new(
        Store::open(path).expect("the production open works under scripts/with-keyring.sh"),
        "tester",
        Arc::new(FixedClock::on(
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        )),
    )
}

fn planted(tag: &str) -> String {
    format!("Planted{tag}{}", std::process::id())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn read_or_empty(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// A plain (unencrypted) copy of the encrypted database at `from`, as an Ecosystem before
/// encryption at rest would have left it.
fn plain_copy(from: &Path, to: &Path) {
    let store = Store::open(from).unwrap();
    let conn = store.conn();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [to.to_string_lossy().as_ref()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    let version: u32 = conn
        .query_row("PRAGMA main.user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA plain.user_version = {version}; DETACH DATABASE plain;"
    ))
    .unwrap();
    assert_eq!(FileState::of(to).unwrap(), FileState::Plain);
    // Plain files were used in WAL mode.
    let plain = Connection::open(to).unwrap();
    let mode: String = plain
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

fn partner_names(reg: &Registry) -> Vec<String> {
    reg.list_partners(&PartnerFilter::default())
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[test]
fn a_new_database_is_encrypted_and_a_planted_name_is_not_in_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ecosystem.db");
    let name = planted("Partner");
    let mut reg = registry(&path);
    reg.add_partner(&NewPartner::new(
        &name,
        PartnerKind::Mlflow,
        "https://mlflow.example.com",
    ))
    .unwrap();
    // While it is open the change sits in the WAL: neither file may show it.
    let wal = sidecar(&path, "-wal");
    let db_bytes = std::fs::read(&path).unwrap();
    let wal_bytes = read_or_empty(&wal);
    assert!(!wal_bytes.is_empty(), "the write went to the WAL");
    assert!(
        !db_bytes.starts_with(b"SQLite format 3"),
        "the header is encrypted"
    );
    assert!(
        !contains(&db_bytes, &name),
        "the name is not in the .db file"
    );
    assert!(
        !contains(&wal_bytes, &name),
        "the name is not in the -wal file"
    );
    assert!(!contains(&wal_bytes, "CREATE TABLE") && !contains(&db_bytes, "CREATE TABLE"));
    assert_eq!(FileState::of(&path).unwrap(), FileState::Encrypted);
    drop(reg);
    let db_bytes = std::fs::read(&path).unwrap();
    assert!(
        !contains(&db_bytes, &name),
        "not after the checkpoint either"
    );
    // It reads back through the production path, and the integrity check opens it with the key.
    assert_eq!(partner_names(&registry(&path)), vec![name]);
    assert_eq!(Store::integrity_check(&path).unwrap(), vec!["ok"]);
}

#[test]
fn a_plain_database_is_encrypted_on_first_open_and_keeps_all_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let path = dir.path().join("ecosystem.db");
    let names: Vec<String> = (0..25).map(|i| planted(&format!("Migrated{i}x"))).collect();
    {
        let mut reg = registry(&source);
        for n in &names {
            reg.add_partner(&NewPartner::new(
                n,
                PartnerKind::Http,
                "https://status.example.com",
            ))
            .unwrap();
        }
        reg.set_setting("contracts.default_notice_days", "45")
            .unwrap();
    }
    plain_copy(&source, &path);
    let before = std::fs::read(&path).unwrap();
    assert!(
        contains(&before, &names[0]),
        "the plain file shows the name"
    );
    let audit_before = {
        let plain = Connection::open(&path).unwrap();
        plain
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };

    let reg = registry(&path);
    assert_eq!(FileState::of(&path).unwrap(), FileState::Encrypted);
    let mut got = partner_names(&reg);
    got.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(got, want, "every partner is still there");
    assert_eq!(
        reg.setting("contracts.default_notice_days")
            .unwrap()
            .as_deref(),
        Some("45")
    );
    assert_eq!(
        reg.audit_log(None, 1000).unwrap().len() as i64,
        audit_before
    );
    assert_eq!(reg.store().schema_version().unwrap(), store::SCHEMA_VERSION);
    drop(reg);
    let after = std::fs::read(&path).unwrap();
    for n in &names {
        assert!(!contains(&after, n), "no plaintext is left in the file");
    }
    assert!(
        !encryption::encrypting_path(&path).exists(),
        "no temporary copy is left"
    );
    for suffix in ["-wal", "-shm"] {
        let side = read_or_empty(&sidecar(&path, suffix));
        assert!(!contains(&side, &names[0]), "{suffix} holds no plaintext");
    }
}

#[test]
fn a_plain_database_another_connection_has_open_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let path = dir.path().join("ecosystem.db");
    let name = planted("Busy");
    registry(&source)
        .add_partner(&NewPartner::new(
            &name,
            PartnerKind::Http,
            "https://status.example.com",
        ))
        .unwrap();
    plain_copy(&source, &path);
    // Another program (an older Ecosystem) has the plain file open in WAL mode.
    let other = Connection::open(&path).unwrap();
    let n: i64 = other
        .query_row("SELECT count(*) FROM partners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let err = Store::open(&path).err().expect("must refuse while in use");
    let msg = err.to_string();
    assert!(
        msg.contains("another program has it open") && msg.contains("close the Ecosystem app"),
        "{msg}"
    );
    assert_eq!(FileState::of(&path).unwrap(), FileState::Plain);
    // The other connection still works, and can still write.
    other
        .execute("UPDATE partners SET owner = 'still-mine'", [])
        .unwrap();
    drop(other);
    // Once it is closed, the next open encrypts, with that write in it.
    let reg = registry(&path);
    assert_eq!(
        reg.partner(&name).unwrap().owner.as_deref(),
        Some("still-mine")
    );
    assert_eq!(FileState::of(&path).unwrap(), FileState::Encrypted);
}

#[test]
fn a_leftover_copy_from_an_interrupted_encryption_is_removed_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    let path = dir.path().join("ecosystem.db");
    drop(registry(&source));
    plain_copy(&source, &path);
    let leftover = encryption::encrypting_path(&path);
    std::fs::write(&leftover, [1u8; 8192]).unwrap();
    drop(registry(&path));
    assert!(!leftover.exists());
    assert_eq!(FileState::of(&path).unwrap(), FileState::Encrypted);
}

#[test]
fn a_wrong_key_is_named_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ecosystem.db");
    drop(registry(&path));
    let before = std::fs::read(&path).unwrap();
    let wrong = DatabaseKey::generate().unwrap();
    assert!(!encryption::key_opens(&path, &wrong).unwrap());
    let err = Store::open_with_key(&path, &wrong)
        .err()
        .expect("a wrong key must not open it");
    let msg = err.to_string();
    assert!(
        msg.contains("the key in the OS keyring does not open it")
            && msg.contains("ecosystem db key import"),
        "{msg}"
    );
    assert!(!msg.contains("file is not a database"), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    assert!(!sidecar(&path, "-wal").exists() || read_or_empty(&sidecar(&path, "-wal")).is_empty());
    // The right key still opens it.
    let right = encryption::load_key()
        .unwrap()
        .expect("the key is in the keyring");
    assert!(encryption::key_opens(&path, &right).unwrap());
}

#[test]
fn the_cipher_is_sqlcipher_and_the_key_item_is_64_hex_digits() {
    let dir = tempfile::tempdir().unwrap();
    drop(registry(&dir.path().join("e.db")));
    let version = encryption::cipher_version().unwrap();
    assert!(version.starts_with('4'), "SQLCipher 4: {version}");
    let out = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            KEYRING_SERVICE,
            "username",
            encryption::DATABASE_KEY_ACCOUNT,
        ])
        .output()
        .expect("secret-tool (libsecret-tools) is needed");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.trim().len() == 64 && text.trim().bytes().all(|b| b.is_ascii_hexdigit()),
        "the keyring item holds the key as hex ({} characters)",
        text.trim().len()
    );
}
