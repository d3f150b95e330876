//! The OS keyring for real: these tests talk to an actual Secret Service and fail (never skip)
//! when there is none. Run them under `scripts/with-keyring.sh`, which starts a private,
//! unlocked gnome-keyring: `scripts/with-keyring.sh cargo test -p ecosystem-core --test os_keyring`.

use std::process::Command;
use std::sync::Arc;

use chrono::NaiveDate;
use ecosystem_core::*;

const RUN_UNDER: &str =
    "these tests need a real Secret Service: run them under scripts/with-keyring.sh \
     (e.g. `scripts/with-keyring.sh cargo test -p ecosystem-core --test os_keyring`)";

fn os_keyring() -> OsKeyring {
    OsKeyring::open().unwrap_or_else(|e| panic!("{RUN_UNDER}; opening the keyring failed: {e}"))
}

fn unique(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// The secret of the item `key` as `secret-tool` (libsecret, another client) sees it.
fn secret_tool_lookup(key: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", KEYRING_SERVICE, "username", key])
        .output()
        .unwrap_or_else(|e| panic!("secret-tool is needed (libsecret-tools); {RUN_UNDER}: {e}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_os_keyring_stores_a_credential_that_another_client_can_see_and_deletes_it() {
    let keyring = os_keyring();
    let key = unique("test-roundtrip");
    let planted = unique("planted-token");
    let credential = Credential::Bearer {
        token: Secret::new(planted.clone()),
    };
    keyring.set(&key, &credential).unwrap();
    assert_eq!(
        keyring.get(&key).unwrap(),
        Some(credential),
        "what was stored reads back"
    );
    let seen = secret_tool_lookup(&key).expect("secret-tool finds the item");
    assert!(
        seen.contains(&planted) && seen.contains("\"type\":\"bearer\""),
        "the item holds the credential as JSON: {}",
        seen.len()
    );
    assert!(keyring.delete(&key).unwrap(), "delete removes the item");
    assert_eq!(keyring.get(&key).unwrap(), None, "and it is gone");
    assert_eq!(secret_tool_lookup(&key), None, "for other clients too");
    assert!(
        !keyring.delete(&key).unwrap(),
        "deleting again finds nothing"
    );
}

#[test]
fn an_item_that_is_not_a_credential_is_reported_without_quoting_it() {
    let keyring = os_keyring();
    let key = unique("test-corrupt");
    let planted = unique("planted-junk");
    let mut child = Command::new("secret-tool")
        .args([
            "store",
            "--label=junk",
            "service",
            KEYRING_SERVICE,
            "username",
            &key,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("secret-tool is needed; {RUN_UNDER}: {e}"));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{{\"type\":\"bearer\",\"token\":[\"{planted}\"]}}").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "secret-tool store worked");
    let err = keyring.get(&key).unwrap_err().to_string();
    assert!(err.contains("not a readable Ecosystem credential"), "{err}");
    assert!(!err.contains(&planted), "the error quotes the item: {err}");
    keyring.delete(&key).unwrap();
}

#[test]
fn a_registry_keeps_the_secret_in_the_os_keyring_and_only_its_description_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ecosystem.db");
    let clock = Arc::new(FixedClock::on(
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    ));
    let mut reg = Registry::new(Store::open(&path).unwrap(), "tester", clock.clone());
    reg.add_partner(&NewPartner::new(
        "snow",
        PartnerKind::Snowflake,
        "https://acme.snowflakecomputing.com",
    ))
    .unwrap();
    let planted = unique("planted-pat");
    let credential = Credential::Bearer {
        token: Secret::new(planted.clone()),
    };
    reg.set_credential("snow", &credential, Some("2027-01-31"))
        .unwrap_or_else(|e| panic!("{RUN_UNDER}: {e}"));
    drop(reg);

    // A fresh registry (as the next CLI run or the app would be) finds it again.
    let mut reg = Registry::new(Store::open(&path).unwrap(), "tester", clock);
    assert_eq!(reg.credential("snow").unwrap(), credential);
    let mut db = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        db.extend(std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default());
    }
    assert!(
        !db.windows(planted.len()).any(|w| w == planted.as_bytes()),
        "the secret is somewhere in the database files"
    );
    reg.remove_partner("snow").unwrap();
    let left = Command::new("secret-tool")
        .args(["search", "--all", "service", KEYRING_SERVICE])
        .output()
        .unwrap_or_else(|e| panic!("secret-tool is needed; {RUN_UNDER}: {e}"));
    assert!(
        !String::from_utf8_lossy(&left.stdout).contains(&planted),
        "removing the partner deleted its keyring item"
    );
}
