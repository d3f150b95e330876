//! The embedded SQLite store: where the database file lives, how a connection is set up
//! (WAL, busy timeout, foreign keys, incremental auto-vacuum) and the versioned migrations.
//!
//! Migrations are SQL scripts in order; `PRAGMA user_version` records how many have run.
//! Each runs in its own transaction, so a crash leaves the file at a whole version. A file
//! written by a newer Ecosystem is refused rather than guessed at.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// The Tauri bundle identifier; the app's data directory is named after it.
pub const APP_IDENTIFIER: &str = "dev.ecosystem.app";
pub const DB_FILE_NAME: &str = "ecosystem.db";
/// Set to a path to use another database file (the CLI's `--db` reads it too).
pub const DB_ENV: &str = "ECOSYSTEM_DB";
/// How a connection commits unless told otherwise: in WAL mode, NORMAL syncs at checkpoints,
/// not at each commit, so a power cut may lose the last commits but never the file's
/// soundness. Registry changes commit with `registry::DURABLE_SYNC`.
pub const DEFAULT_SYNC: &str = "NORMAL";

/// The database the desktop app and the CLI share by default: `ECOSYSTEM_DB` if set, else
/// `<OS data dir>/dev.ecosystem.app/ecosystem.db` (on Linux `~/.local/share/...`).
pub fn default_db_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(DB_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let dir = dirs::data_dir().ok_or_else(|| Error::Database {
        path: PathBuf::from(DB_FILE_NAME),
        message: "the OS data directory is unknown (is HOME set?); pass --db PATH".into(),
    })?;
    Ok(dir.join(APP_IDENTIFIER).join(DB_FILE_NAME))
}

const MIGRATIONS: &[&str] = &[
    // 1: the registry.
    r#"
CREATE TABLE partners (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('databricks','snowflake','mlflow','kubeflow','datadog','http')),
    endpoint            TEXT NOT NULL,
    tier                TEXT NOT NULL CHECK (tier IN ('strategic','premium','standard')),
    owner               TEXT,
    lifecycle           TEXT NOT NULL CHECK (lifecycle IN ('onboarding','active','suspended','offboarded')),
    parent_id           INTEGER REFERENCES partners(id) ON DELETE RESTRICT,
    check_interval_secs INTEGER NOT NULL,
    check_timeout_secs  INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;
CREATE INDEX partners_by_kind      ON partners(kind);
CREATE INDEX partners_by_tier      ON partners(tier);
CREATE INDEX partners_by_owner     ON partners(owner);
CREATE INDEX partners_by_lifecycle ON partners(lifecycle);
CREATE INDEX partners_by_parent    ON partners(parent_id);

CREATE TABLE partner_capabilities (
    capability TEXT NOT NULL,
    partner_id INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    PRIMARY KEY (capability, partner_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX partner_capabilities_by_partner ON partner_capabilities(partner_id, position);

CREATE TABLE partner_tags (
    tag        TEXT NOT NULL,
    partner_id INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    PRIMARY KEY (tag, partner_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX partner_tags_by_partner ON partner_tags(partner_id, position);

-- Free-text search; rowid = partners.id, kept in step by the registry in the same transaction.
CREATE VIRTUAL TABLE partner_search USING fts5(
    name, owner, endpoint, capabilities, tags,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE contracts (
    id          INTEGER PRIMARY KEY,
    partner_id  INTEGER NOT NULL UNIQUE REFERENCES partners(id) ON DELETE CASCADE,
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL,
    notice_days INTEGER NOT NULL CHECK (notice_days >= 0),
    auto_renew  INTEGER NOT NULL CHECK (auto_renew IN (0, 1)),
    sla_target  REAL NOT NULL CHECK (sla_target > 0 AND sla_target <= 100),
    value_minor INTEGER,
    currency    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (end_date > start_date),
    CHECK ((value_minor IS NULL) = (currency IS NULL))
) STRICT;
CREATE INDEX contracts_by_end ON contracts(end_date);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    entity  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT
) STRICT;
CREATE INDEX audit_log_by_subject ON audit_log(entity, subject, id);
CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"#,
    // 2: what is known about each partner's credential. Never the secret: that is in the OS
    // keyring, as the item named by keyring_key (see credential_store.rs).
    r#"
CREATE TABLE credentials_meta (
    partner_id      INTEGER PRIMARY KEY REFERENCES partners(id) ON DELETE CASCADE,
    credential_type TEXT NOT NULL CHECK (credential_type IN ('api_key','bearer','basic',
                        'oauth_client_credentials','snowflake_key_pair','datadog_keys','client_certificate')),
    label           TEXT,
    expires_on      TEXT CHECK (expires_on IS NULL OR
                        (expires_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(expires_on) = expires_on)),
    keyring_key     TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX credentials_meta_by_expiry ON credentials_meta(expires_on);
"#,
    // 3: the check definition of each custom HTTP partner (see custom_check.rs), kept as the
    // text that was validated, with the name of the file it came from.
    r#"
CREATE TABLE partner_checks (
    partner_id  INTEGER PRIMARY KEY REFERENCES partners(id) ON DELETE CASCADE,
    source_name TEXT NOT NULL,
    definition  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
"#,
    // 4: health history (see health.rs, health_store.rs, maintenance.rs). Times are unix
    // seconds (UTC). Raw samples are short-lived and compact (WITHOUT ROWID, ~20 bytes a
    // check); transitions are kept forever (incidents and SLA come from them); rollups per
    // minute / hour / day carry counts, latency sum and max, and a fixed latency histogram
    // (h0..h12, upper bounds in health_store::LATENCY_BUCKETS_MS) for p50/p95 estimates.
    r#"
CREATE TABLE health_samples (
    partner_id INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    outcome    INTEGER NOT NULL,
    PRIMARY KEY (partner_id, at)
) WITHOUT ROWID, STRICT;

CREATE TABLE health_current (
    partner_id           INTEGER PRIMARY KEY REFERENCES partners(id) ON DELETE CASCADE,
    state                TEXT NOT NULL CHECK (state IN ('unknown','healthy','degraded','unhealthy','paused','maintenance')),
    observed             TEXT NOT NULL CHECK (observed IN ('unknown','healthy','degraded','unhealthy')),
    observed_reason      TEXT,
    observed_error_class TEXT,
    since                INTEGER,
    reason               TEXT,
    error_class          TEXT,
    consecutive_failures INTEGER NOT NULL CHECK (consecutive_failures >= 0),
    consecutive_successes INTEGER NOT NULL CHECK (consecutive_successes >= 0),
    paused               INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    maintenance          INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),
    last_check_at        INTEGER,
    last_latency_ms      INTEGER,
    last_outcome         INTEGER
) STRICT;

CREATE TABLE health_transitions (
    id          INTEGER PRIMARY KEY,
    partner_id  INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    from_state  TEXT NOT NULL CHECK (from_state IN ('unknown','healthy','degraded','unhealthy','paused','maintenance')),
    to_state    TEXT NOT NULL CHECK (to_state IN ('unknown','healthy','degraded','unhealthy','paused','maintenance')),
    reason      TEXT NOT NULL,
    error_class TEXT
) STRICT;
CREATE INDEX health_transitions_by_partner ON health_transitions(partner_id, at, id);

CREATE TABLE health_rollups (
    partner_id  INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    resolution  INTEGER NOT NULL CHECK (resolution IN (60, 3600, 86400)),
    bucket      INTEGER NOT NULL,
    checks      INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    degraded    INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    latency_sum INTEGER NOT NULL,
    latency_max INTEGER NOT NULL,
    h0 INTEGER NOT NULL DEFAULT 0, h1 INTEGER NOT NULL DEFAULT 0, h2 INTEGER NOT NULL DEFAULT 0,
    h3 INTEGER NOT NULL DEFAULT 0, h4 INTEGER NOT NULL DEFAULT 0, h5 INTEGER NOT NULL DEFAULT 0,
    h6 INTEGER NOT NULL DEFAULT 0, h7 INTEGER NOT NULL DEFAULT 0, h8 INTEGER NOT NULL DEFAULT 0,
    h9 INTEGER NOT NULL DEFAULT 0, h10 INTEGER NOT NULL DEFAULT 0, h11 INTEGER NOT NULL DEFAULT 0,
    h12 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (partner_id, resolution, bucket)
) WITHOUT ROWID, STRICT;

-- One-off (starts_at/ends_at) or weekly (days_of_week bitmask Mon=1 .. Sun=64, local start
-- 'HH:MM', duration, IANA zone); partner_id NULL = every partner.
CREATE TABLE maintenance_windows (
    id            INTEGER PRIMARY KEY,
    partner_id    INTEGER REFERENCES partners(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    starts_at     INTEGER,
    ends_at       INTEGER,
    days_of_week  INTEGER,
    local_start   TEXT,
    duration_secs INTEGER,
    time_zone     TEXT,
    created_at    INTEGER NOT NULL,
    CHECK ((starts_at IS NOT NULL AND ends_at > starts_at AND days_of_week IS NULL
            AND local_start IS NULL AND duration_secs IS NULL AND time_zone IS NULL)
        OR (starts_at IS NULL AND ends_at IS NULL AND days_of_week BETWEEN 1 AND 127
            AND local_start GLOB '[0-2][0-9]:[0-5][0-9]' AND duration_secs > 0 AND time_zone IS NOT NULL))
) STRICT;
CREATE INDEX maintenance_windows_by_partner ON maintenance_windows(partner_id);
"#,
    // 5: each contract's SLA terms, beside its sla_target (see sla.rs, sla_terms.rs): the
    // window, the IANA zone bounding it, how in-between states count, the credit tiers (JSON
    // text of [{below_percent, credit_percent}]) and the fee per window in minor units (NULL:
    // derived from the contract value). A contract without a row has the default terms.
    r#"
CREATE TABLE contract_sla_terms (
    contract_id INTEGER PRIMARY KEY REFERENCES contracts(id) ON DELETE CASCADE,
    window_kind TEXT NOT NULL CHECK (window_kind IN ('calendar_month','calendar_quarter')),
    time_zone   TEXT NOT NULL,
    maintenance TEXT NOT NULL CHECK (maintenance IN ('excluded','as_up','as_down')),
    degraded    TEXT NOT NULL CHECK (degraded IN ('as_up','as_down')),
    unknown     TEXT NOT NULL CHECK (unknown IN ('excluded','as_up','as_down')),
    paused      TEXT NOT NULL CHECK (paused IN ('excluded','like_maintenance')),
    credits     TEXT NOT NULL CHECK (json_valid(credits) AND json_type(credits) = 'array'),
    fee_minor   INTEGER CHECK (fee_minor IS NULL OR fee_minor >= 0),
    updated_at  TEXT NOT NULL
) STRICT;
"#,
    // 6: usage (see usage.rs). A metric is named once ('databricks.dbus', unit 'DBU', from the
    // platform; 'ecosystem.calls' from Ecosystem's own counters); records are per partner,
    // metric and UTC day (days since 1970-01-01), summed over the day, so a year for 1,000
    // partners and 10 metrics is 3.65 million small rows.
    r#"
CREATE TABLE usage_metrics (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    unit   TEXT NOT NULL CHECK (length(unit) BETWEEN 1 AND 30),
    source TEXT NOT NULL CHECK (source IN ('platform','ecosystem'))
) STRICT;

CREATE TABLE usage_records (
    partner_id   INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    metric_id    INTEGER NOT NULL REFERENCES usage_metrics(id),
    day          INTEGER NOT NULL,
    value        REAL NOT NULL,
    collected_at INTEGER NOT NULL,
    PRIMARY KEY (partner_id, metric_id, day)
) WITHOUT ROWID, STRICT;
CREATE INDEX usage_records_by_day ON usage_records(day, partner_id, metric_id, value);

-- Where each partner's collection stands: the last UTC day a successful collection covered
-- (the daily schedule collects from there), when it ran, and the last attempt's error.
CREATE TABLE usage_collection (
    partner_id   INTEGER PRIMARY KEY REFERENCES partners(id) ON DELETE CASCADE,
    last_day     INTEGER,
    collected_at INTEGER,
    attempted_at INTEGER NOT NULL,
    last_error   TEXT
) STRICT;
"#,
    // 7: contract expiry alerts (see contract_alerts.rs, docs/CONTRACT-ALERTS.md). Per contract:
    // its alert stages (days before the notice deadline, "120,90,60,30,7"; NULL: the workspace
    // default), the status of the term ending on status_end_date (renewed or terminated stop
    // that term's alerts; a contract whose end date moves on is active again) and a snooze.
    // Each stage of a term is recorded once: UNIQUE (contract_id, end_date, stage_days), so two
    // processes cannot both raise it. skipped = 1 marks a stage that came due together with a
    // more urgent one and was passed over rather than raised.
    r#"
CREATE TABLE contract_alert_settings (
    contract_id     INTEGER PRIMARY KEY REFERENCES contracts(id) ON DELETE CASCADE,
    stages          TEXT CHECK (stages IS NULL OR (stages <> '' AND stages NOT GLOB '*[^0-9,]*')),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','renewed','terminated')),
    status_end_date TEXT CHECK (status_end_date IS NULL OR date(status_end_date) = status_end_date),
    snoozed_until   TEXT CHECK (snoozed_until IS NULL OR date(snoozed_until) = snoozed_until),
    updated_at      TEXT NOT NULL,
    CHECK ((status = 'active') = (status_end_date IS NULL))
) STRICT;

CREATE TABLE contract_alerts (
    id              INTEGER PRIMARY KEY,
    contract_id     INTEGER NOT NULL REFERENCES contracts(id) ON DELETE CASCADE,
    end_date        TEXT NOT NULL CHECK (date(end_date) = end_date),
    stage_days      INTEGER NOT NULL CHECK (stage_days > 0),
    notice_deadline TEXT NOT NULL CHECK (date(notice_deadline) = notice_deadline),
    skipped         INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1)),
    raised_at       TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    notified_at     TEXT,
    UNIQUE (contract_id, end_date, stage_days),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
) STRICT;
CREATE INDEX contract_alerts_to_notify ON contract_alerts(contract_id) WHERE notified_at IS NULL AND skipped = 0;
"#,
    // 8: the audit log stays append-only against INSERT OR REPLACE too. REPLACE removes the row
    // it collides with without firing DELETE triggers (recursive_triggers is off), so an
    // insert that names an existing id is refused before it gets there.
    r#"
CREATE TRIGGER IF NOT EXISTS audit_log_is_append_only_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// An open, migrated database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings it to the current schema.
    ///
    /// The file is encrypted (SQLCipher) under the database key in the OS keyring, which is
    /// created on first use (see encryption.rs). A plain file written before encryption at
    /// rest is encrypted in place first. This is the only way production code opens a file.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        use crate::encryption::{self, FileState};
        let path = path.as_ref();
        let key =
            match FileState::of(path)? {
                FileState::Missing => encryption::load_or_create_key(path)?,
                FileState::Plain => {
                    let key = encryption::load_or_create_key(path)?;
                    encryption::encrypt_plain_file(path, &key)?;
                    key
                }
                FileState::Encrypted => encryption::key_for_existing(path)?,
                FileState::NotADatabase => return Err(Error::Database {
                    path: path.to_path_buf(),
                    message:
                        "is not an Ecosystem database (neither a SQLite file nor an encrypted one)"
                            .into(),
                }),
            };
        Store::open_with_key(path, &key)
    }

    /// Opens (creating if needed) the encrypted database at `path` with `key` and brings it to
    /// the current schema. A key that does not open the file changes nothing.
    pub fn open_with_key(
        path: impl AsRef<Path>,
        key: &crate::encryption::DatabaseKey,
    ) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let db_err = |message: String| Error::Database {
            path: path.clone(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| db_err(format!("cannot create its folder: {e}")))?;
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| db_err(format!("cannot open: {e}")))?;
        key.apply(&conn)
            .map_err(|e| db_err(format!("cannot open: {e}")))?;
        let mut store = Store {
            conn,
            path: path.clone(),
        };
        match store.configure().and_then(|()| store.migrate()) {
            Ok(()) => Ok(store),
            Err(Error::Storage(e))
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) =>
            {
                Err(db_err(crate::encryption::wrong_key_message()))
            }
            Err(Error::Storage(e)) => Err(db_err(describe_open_error(&e))),
            Err(other) => Err(other),
        }
    }

    /// An in-memory database for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // auto_vacuum only takes effect on a database with no tables yet, and setting it takes
        // the write lock; so only a new, empty file gets it (before its first table).
        let pages: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))?;
        if pages == 0 {
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if mode != "wal" && self.path != Path::new(":memory:") {
            tracing::warn!(journal_mode = %mode, "database is not in WAL mode");
        }
        self.conn.pragma_update(None, "synchronous", DEFAULT_SYNC)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let current: u32 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > SCHEMA_VERSION {
            return Err(Error::Database {
                path: self.path.clone(),
                message: format!(
                    "schema version {current} was written by a newer Ecosystem (this one knows up to {SCHEMA_VERSION}); upgrade Ecosystem"
                ),
            });
        }
        for (i, script) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = i as u32 + 1;
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process may have migrated while we waited for the write lock.
            let now: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now >= version {
                continue;
            }
            tx.execute_batch(script)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
            tracing::info!(version, "database migrated");
        }
        Ok(())
    }

    /// `PRAGMA integrity_check` on the file at `path`, through a read-only connection (with the
    /// database key when the file is encrypted) that neither migrates nor writes (so a damaged
    /// file can still be examined, and the check runs beside a live writer). `["ok"]` when the
    /// file is sound; otherwise SQLite's findings.
    pub fn integrity_check(path: impl AsRef<Path>) -> Result<Vec<String>> {
        let path = path.as_ref();
        let db_err = |message: String| Error::Database {
            path: path.to_path_buf(),
            message,
        };
        let conn = crate::encryption::open_read_only(path)?;
        let mut stmt = conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| db_err(describe_open_error(&e)))?;
        let findings = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_err(describe_open_error(&e)))?;
        Ok(findings)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

fn describe_open_error(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            "is not an Ecosystem database (not a SQLite file)".into()
        }
        Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
            format!("cannot be written: {e}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_migrated_to_the_current_version_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("sub/ecosystem.db")).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let vacuum: i64 = store
            .conn()
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap();
        assert_eq!(vacuum, 2, "incremental auto-vacuum");
    }

    #[test]
    fn reopening_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_file_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let store = Store::open(&path).unwrap();
        store
            .conn()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(store);
        let err = Store::open(&path)
            .err()
            .expect("newer schema must be refused");
        assert!(err.to_string().contains("newer Ecosystem"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        let junk =
            b"these are my notes, not a database, and they are long enough to matter".repeat(20);
        std::fs::write(&path, &junk).unwrap();
        let err = Store::open(&path).err().expect("junk must be refused");
        assert!(
            err.to_string().contains("not an Ecosystem database"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), junk, "the file is untouched");
    }
}
