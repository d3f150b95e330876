//! Migration 2 (`credentials_meta`) on a database written by the previous version.

use std::sync::Arc;

use chrono::NaiveDate;
use ecosystem_core::store::SCHEMA_VERSION;
use ecosystem_core::*;

#[test]
fn a_version_1_database_gains_the_credentials_table_and_keeps_its_partners() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ecosystem.db");
    {
        let store = Store::open(&path).unwrap();
        let mut reg = Registry::new(
            store,
            "tester",
            Arc::new(FixedClock::on(
                NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            )),
        );
        reg.add_partner(&NewPartner::new(
            "mlf",
            PartnerKind::Mlflow,
            "https://mlflow.example.com",
        ))
        .unwrap();
        // Turn the file back into what version 1 wrote: drop every table a later migration made.
        let conn = reg.store().conn();
        let v1 = [
            "partners",
            "partner_capabilities",
            "partner_tags",
            "contracts",
            "audit_log",
            "settings",
        ];
        let later: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'partner_search%' AND name NOT LIKE 'sqlite_%'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<String>, _>>()
            .unwrap()
            .into_iter()
            .filter(|t| !v1.contains(&t.as_str()))
            .collect();
        assert!(later.contains(&"credentials_meta".to_string()), "{later:?}");
        for table in &later {
            conn.execute_batch(&format!("DROP TABLE {table}")).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        SCHEMA_VERSION,
        "migrated to the current version"
    );
    const { assert!(SCHEMA_VERSION >= 2, "migration 2 exists") };
    let columns: Vec<String> = store
        .conn()
        .prepare("SELECT name FROM pragma_table_info('credentials_meta') ORDER BY cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        columns,
        [
            "partner_id",
            "credential_type",
            "label",
            "expires_on",
            "keyring_key",
            "created_at",
            "updated_at"
        ],
        "credentials_meta has the agreed columns and no secret column"
    );
    let reg = Registry::new(store, "tester", Arc::new(SystemClock));
    assert_eq!(
        reg.partner("mlf").unwrap().kind,
        PartnerKind::Mlflow,
        "partners survive"
    );
    assert!(reg.credentials().unwrap().is_empty());
}

#[test]
fn the_credentials_table_refuses_unknown_types_and_non_dates_and_follows_its_partner() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::open(dir.path().join("e.db")).unwrap();
    let p = reg
        .add_partner(&NewPartner::new(
            "hub",
            PartnerKind::Http,
            "https://hub.example.com",
        ))
        .unwrap();
    let conn = reg.store().conn();
    let insert = |t: &str, expires: Option<&str>, key: &str| {
        conn.execute(
            "INSERT INTO credentials_meta (partner_id, credential_type, expires_on, keyring_key, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'now', 'now')",
            rusqlite::params![p.id, t, expires, key],
        )
    };
    assert!(
        insert("password", None, "k1").is_err(),
        "an unknown type is refused"
    );
    assert!(
        insert("bearer", Some("2027-02-30"), "k2").is_err(),
        "a non-date is refused"
    );
    assert!(
        insert("bearer", Some("next week"), "k3").is_err(),
        "free text is refused"
    );
    insert("bearer", Some("2027-02-28"), "k4").expect("a good row is accepted");
    conn.execute("DELETE FROM partners WHERE id = ?1", [p.id])
        .unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM credentials_meta", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        left, 0,
        "the row is deleted with its partner (ON DELETE CASCADE)"
    );
}
