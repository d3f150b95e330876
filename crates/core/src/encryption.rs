//! Encryption at rest: the database file is a SQLCipher database, encrypted under a random
//! 256-bit key that lives in the OS keyring (see docs/ENCRYPTION.md).
//!
//! - One key per OS user, in the keyring item [`DATABASE_KEY_ACCOUNT`] under
//!   [`KEYRING_SERVICE`]. Database files move (backups, `--db`, `ECOSYSTEM_DB`), and a key
//!   bound to a path would be orphaned by a move; one key also means one recovery export.
//! - The key is given to SQLCipher in its raw form (`x'…'`), so opening runs no PBKDF2: the
//!   CLI opens the database on every command.
//! - A key is created only when a new database (or a plain one being encrypted) needs one. An
//!   encrypted file whose key is missing is never given a fresh key: that would make the
//!   recovery import refuse to replace it.
//! - A plain database written by an earlier Ecosystem is encrypted on first open
//!   ([`encrypt_plain_file`]): exported into a new encrypted file beside it, verified, then
//!   renamed over the original. Until the rename the original is untouched; a file left by an
//!   interrupted attempt is removed by the next one.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use crate::credential_store::{CredentialStoreError, OsKeyring, KEYRING_SERVICE};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The keyring item (account) holding the database key, under [`KEYRING_SERVICE`].
pub const DATABASE_KEY_ACCOUNT: &str = "database-key";

/// The first line of a key export file.
pub const KEY_FILE_HEADER: &str =
    "# Ecosystem database key (SQLCipher raw key, 64 hex digits). Whoever has this file and the database can read it: keep it offline.";

const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What is at a database path, judged from its first bytes (no key needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file, or an empty one: opening creates an encrypted database.
    Missing,
    /// A plain SQLite file (written before encryption at rest): it is encrypted on first open.
    Plain,
    /// Page-shaped bytes without a SQLite header: a SQLCipher database.
    Encrypted,
    /// Neither: not a database at all.
    NotADatabase,
}

impl FileState {
    pub fn of(path: &Path) -> Result<FileState> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
            Err(e) => {
                return Err(Error::Database {
                    path: path.to_path_buf(),
                    message: format!("cannot be read: {e}"),
                })
            }
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return Ok(FileState::Missing);
        }
        let mut head = vec![0u8; 4096];
        let mut n = 0;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let head = &head[..n];
        Ok(if head.starts_with(PLAIN_HEADER) {
            FileState::Plain
        } else if len >= 512 && len.is_multiple_of(512) && looks_random(head) {
            FileState::Encrypted
        } else {
            FileState::NotADatabase
        })
    }
}

/// A SQLCipher file is a random salt followed by ciphertext: its first page uses nearly every
/// byte value (4 KiB of random bytes show about 256 of them, 512 bytes about 220), where text
/// or a sparse binary shows far fewer.
fn looks_random(head: &[u8]) -> bool {
    let mut seen = [false; 256];
    for &b in head {
        seen[b as usize] = true;
    }
    let distinct = seen.iter().filter(|&&s| s).count();
    let needed = if head.len() >= 4096 { 200 } else { 150 };
    head.len() >= 512 && distinct >= needed
}

/// The 256-bit key of the database, as 64 lowercase hex digits. Zeroized when dropped; no
/// `Display`, a redacted `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Secret);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(***)")
    }
}

impl DatabaseKey {
    /// 32 bytes from the OS's random source.
    pub fn generate() -> Result<DatabaseKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| Error::Io {
            context: "the OS random source".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut hex = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            hex.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
            hex.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
        }
        Ok(DatabaseKey(Secret::new(hex.as_str())))
    }

    /// A key from its hex text (as exported). The message never repeats the text.
    pub fn from_hex(text: &str) -> std::result::Result<DatabaseKey, String> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "a database key is 64 hexadecimal digits (this is {} characters{})",
                text.chars().count(),
                if text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    ""
                } else {
                    ", not all hexadecimal"
                }
            ));
        }
        Ok(DatabaseKey(Secret::new(text.to_ascii_lowercase())))
    }

    /// The key from an export file: the header and comment lines (`#`) are skipped, one line of
    /// hex must remain.
    pub fn from_export(text: &str) -> std::result::Result<DatabaseKey, String> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        match lines.as_slice() {
            [line] => DatabaseKey::from_hex(line),
            [] => Err("no database key in it (expected one line of 64 hexadecimal digits)".into()),
            _ => Err(format!(
                "{} lines where one line of 64 hexadecimal digits was expected",
                lines.len()
            )),
        }
    }

    /// The text of an export file: the header line, then the key.
    pub fn export_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{KEY_FILE_HEADER}\n{}\n", self.0.expose()))
    }

    /// The key as SQLCipher's raw-key literal `x'…'` (no key derivation on open).
    fn raw_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", self.0.expose()))
    }

    /// Gives the key to a freshly opened connection (before anything else reads the file).
    pub(crate) fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        // SQLCipher would otherwise print its own lines (a failed page check) on stderr; its
        // failures reach the caller as errors with a message of ours.
        let sql = Zeroizing::new(format!(
            "PRAGMA cipher_log_level = NONE; PRAGMA key = \"{}\";",
            self.raw_literal().as_str()
        ));
        conn.execute_batch(&sql)
    }
}

/// The database key in the OS keyring, if there is one.
pub fn load_key() -> Result<Option<DatabaseKey>> {
    let keyring = OsKeyring::connect()?;
    match keyring.get_raw(DATABASE_KEY_ACCOUNT)? {
        None => Ok(None),
        Some(text) => DatabaseKey::from_hex(text.expose())
            .map(Some)
            .map_err(|message| {
                Error::from(CredentialStoreError::Corrupt {
                    key: DATABASE_KEY_ACCOUNT.into(),
                    message,
                })
            }),
    }
}

/// The database key in the OS keyring, created (32 random bytes) when there is none. Creation
/// is serialised between processes by a lock file, so two first opens cannot each store a key.
pub fn load_or_create_key(db: &Path) -> Result<DatabaseKey> {
    if let Some(key) = load_key()? {
        remember(Some(&key));
        return Ok(key);
    }
    let _lock = KeyCreationLock::acquire(db)?;
    // Another process may have stored one while we waited for the lock.
    if let Some(key) = load_key()? {
        remember(Some(&key));
        return Ok(key);
    }
    let key = DatabaseKey::generate()?;
    store_key(&key)?;
    match load_key()? {
        Some(stored) if stored == key => {
            tracing::info!("database key created in the OS keyring");
            Ok(key)
        }
        _ => Err(CredentialStoreError::Failed {
            action: "write",
            key: DATABASE_KEY_ACCOUNT.into(),
            message: "the database key did not read back as it was stored".into(),
        }
        .into()),
    }
}

/// Stores `key` as the database key, replacing any other.
pub fn store_key(key: &DatabaseKey) -> Result<()> {
    OsKeyring::connect()?.set_raw(DATABASE_KEY_ACCOUNT, &key.0)?;
    remember(Some(key));
    Ok(())
}

/// Removes the database key from the keyring; `false` when there was none.
pub fn delete_key() -> Result<bool> {
    use crate::credential_store::CredentialStore;
    remember(None);
    Ok(OsKeyring::connect()?.delete(DATABASE_KEY_ACCOUNT)?)
}

/// An exclusive lock (flock) on a file in the app's data folder, held while a key is created.
struct KeyCreationLock {
    _file: File,
}

impl KeyCreationLock {
    fn acquire(db: &Path) -> Result<KeyCreationLock> {
        let dir = dirs::data_dir()
            .map(|d| d.join(crate::store::APP_IDENTIFIER))
            .or_else(|| db.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let io = |context: String| {
            move |source: std::io::Error| Error::Io {
                context: context.clone(),
                source,
            }
        };
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let path = dir.join("database-key.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(format!("opening {}", path.display())))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor this function owns; released when it is closed.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc != 0 {
                return Err(io(format!("locking {}", path.display()))(
                    std::io::Error::last_os_error(),
                ));
            }
        }
        Ok(KeyCreationLock { _file: file })
    }
}

/// The key this process last read from (or stored in) the keyring. A process that opens the
/// database again and again (the app's services, second reader connections, a check loop)
/// then asks the keyring once; the remembered key is used only when it opens the file, else
/// the keyring is read again.
static REMEMBERED: std::sync::Mutex<Option<DatabaseKey>> = std::sync::Mutex::new(None);

fn remember(key: Option<&DatabaseKey>) {
    let mut slot = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
    *slot = key.cloned();
}

fn remembered() -> Option<DatabaseKey> {
    REMEMBERED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The key of an encrypted file, or the error that says how to restore it.
pub fn key_for_existing(path: &Path) -> Result<DatabaseKey> {
    if let Some(key) = remembered() {
        if key_opens(path, &key).unwrap_or(false) {
            return Ok(key);
        }
    }
    let key = load_key()?.ok_or_else(|| Error::Database {
        path: path.to_path_buf(),
        message: format!(
            "is encrypted and the OS keyring has no database key (item {DATABASE_KEY_ACCOUNT:?} of {KEYRING_SERVICE}); restore it with `ecosystem db key import --input FILE` from the key export"
        ),
    })?;
    remember(Some(&key));
    Ok(key)
}

/// The message for a key that does not open an encrypted file.
pub(crate) fn wrong_key_message() -> String {
    "the database is encrypted and the key in the OS keyring does not open it; restore it with `ecosystem db key import --input FILE --force` from the key export (nothing was changed)".into()
}

/// True when `key` opens the encrypted file at `path` (read-only; nothing is written).
pub fn key_opens(path: &Path, key: &DatabaseKey) -> Result<bool> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Database {
        path: path.to_path_buf(),
        message: format!("cannot open: {e}"),
    })?;
    key.apply(&conn)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(true),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// SQLCipher's version (`PRAGMA cipher_version`).
pub fn cipher_version() -> Result<String> {
    let conn = Connection::open_in_memory()?;
    Ok(conn.query_row("PRAGMA cipher_version", [], |r| r.get(0))?)
}

/// What encrypting a plain file did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EncryptReport {
    pub tables: usize,
    pub rows: i64,
    pub schema_version: u32,
}

/// The file an encryption in progress writes, beside the database.
pub fn encrypting_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".encrypting");
    PathBuf::from(name)
}

fn sidecars(path: &Path) -> [PathBuf; 3] {
    ["-wal", "-shm", "-journal"].map(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Io {
            context: format!("removing {}", path.display()),
            source: e,
        }),
    }
}

/// Encrypts the plain database at `path` under `key`, in place. `None` when the file turned
/// out to be encrypted already (another process got there first).
///
/// Needs the file to itself: switching it out of WAL mode fails while any other connection
/// has it open, and the error then names what to close. The copy is verified (integrity
/// check, schema version and the row count of every table) before the atomic rename; the
/// plain file's -wal/-shm are removed before it, so no plaintext is left beside the new file.
pub fn encrypt_plain_file(path: &Path, key: &DatabaseKey) -> Result<Option<EncryptReport>> {
    let db_err = |message: String| Error::Database {
        path: path.to_path_buf(),
        message,
    };
    let sql_err = |e: rusqlite::Error| {
        db_err(format!(
            "could not be encrypted: {e} (the original is unchanged)"
        ))
    };
    // CREATE: an attached database gets the main one's flags, and ATTACH creates the copy.
    let plain = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_err(format!("cannot open: {e}")))?;
    plain
        .busy_timeout(Duration::from_secs(3))
        .map_err(sql_err)?;
    let in_use = || {
        db_err(
            "is not encrypted yet and another program has it open, so it cannot be encrypted now: \
             close the Ecosystem app and any running `ecosystem poll` or `ecosystem watch`, then try again (nothing was changed)"
                .into(),
        )
    };
    let mode: String = match plain.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)) {
        Ok(mode) => mode,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Ok(None)
        }
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            return Err(in_use())
        }
        Err(e) => return Err(sql_err(e)),
    };
    if mode != "delete" {
        return Err(in_use());
    }
    // Hold the file exclusively until the encrypted copy has replaced it: nobody can write to
    // the plain file (and lose the write) or start an encryption of their own meanwhile.
    plain
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy) => in_use(),
            _ => sql_err(e),
        })?;
    // Whoever held the lock before us may have encrypted the file and renamed it into place.
    if FileState::of(path)? != FileState::Plain {
        return Ok(None);
    }
    let target = encrypting_path(path);
    remove_if_present(&target)?;
    for side in sidecars(&target) {
        remove_if_present(&side)?;
    }

    let schema_version: u32 = plain
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err)?;
    let counts = row_counts(&plain).map_err(sql_err)?;
    let auto_vacuum: i64 = plain
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .map_err(sql_err)?;
    {
        let target_text = target.to_string_lossy();
        let literal = key.raw_literal();
        plain
            .execute(
                "ATTACH DATABASE ?1 AS encrypted KEY ?2",
                rusqlite::params![target_text.as_ref(), literal.as_str()],
            )
            .map_err(sql_err)?;
    }
    let exported = (|| -> rusqlite::Result<()> {
        plain.execute_batch(&format!("PRAGMA encrypted.auto_vacuum = {auto_vacuum};"))?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {schema_version};"
        ))?;
        Ok(())
    })();
    let detached = plain.execute_batch("DETACH DATABASE encrypted");
    if let Err(e) = exported.and(detached) {
        let _ = std::fs::remove_file(&target);
        return Err(sql_err(e));
    }

    if let Err(e) = verify_copy(&target, key, schema_version, &counts) {
        let _ = std::fs::remove_file(&target);
        return Err(db_err(format!(
            "the encrypted copy did not verify ({e}); the original is unchanged"
        )));
    }
    let io = |what: &str| {
        let what = what.to_string();
        move |source: std::io::Error| Error::Io {
            context: format!("{what} {}", path.display()),
            source,
        }
    };
    File::open(&target)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing the encrypted copy of"))?;
    for side in sidecars(path) {
        remove_if_present(&side)?;
    }
    std::fs::rename(&target, path).map_err(io("replacing"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    drop(plain);
    let report = EncryptReport {
        tables: counts.len(),
        rows: counts.iter().map(|(_, n)| n).sum(),
        schema_version,
    };
    tracing::info!(
        tables = report.tables,
        rows = report.rows,
        "plain database encrypted"
    );
    Ok(Some(report))
}

/// The row count of every table of the main database, by name.
pub fn row_counts(conn: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tables
        .into_iter()
        .map(|t| {
            let n = conn.query_row(
                &format!("SELECT count(*) FROM main.\"{}\"", t.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )?;
            Ok((t, n))
        })
        .collect()
}

fn verify_copy(
    target: &Path,
    key: &DatabaseKey,
    schema_version: u32,
    counts: &[(String, i64)],
) -> std::result::Result<(), String> {
    let conn = Connection::open_with_flags(
        target,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    key.apply(&conn).map_err(|e| e.to_string())?;
    let findings: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(|e| e.to_string())?;
    if findings != ["ok"] {
        return Err(format!("integrity check: {}", findings.join("; ")));
    }
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if version != schema_version {
        return Err(format!(
            "schema version {version}, the original has {schema_version}"
        ));
    }
    let copied = row_counts(&conn).map_err(|e| e.to_string())?;
    if copied != counts {
        return Err("the row counts differ from the original's".into());
    }
    Ok(())
}

/// Opens the database at `path` read-only, with the key from the OS keyring when it is
/// encrypted (a plain file written before encryption at rest is read as it is). Nothing is
/// migrated or written: for checks and for second reader connections.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let db_err = |message: String| Error::Database {
        path: path.to_path_buf(),
        message,
    };
    let state = FileState::of(path)?;
    if state == FileState::Missing && !path.is_file() {
        return Err(db_err("no such database file".into()));
    }
    if state == FileState::NotADatabase {
        return Err(db_err(
            "is not an Ecosystem database (neither a SQLite file nor an encrypted one)".into(),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db_err(format!("cannot open: {e}")))?;
    // Before the first read (the key check), so a writer's lock is waited for there too.
    conn.busy_timeout(Duration::from_secs(10))?;
    if state == FileState::Encrypted {
        key_for_existing(path)?.apply(&conn)?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(db_err(wrong_key_message()))
            }
            Err(e) => return Err(db_err(e.to_string())),
        }
    }
    Ok(conn)
}

/// Records a key event (export, import) in the audit log. The detail names where the key
/// went or came from, never the key.
pub fn audit_key_event(
    registry: &mut crate::registry::Registry,
    action: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    registry.write(|w| w.audit(action, "database", DATABASE_KEY_ACCOUNT, Some(detail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_64_hex_digits_and_never_repeats() {
        let a = DatabaseKey::generate().unwrap();
        let b = DatabaseKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.0.expose().len(), 64);
        assert!(a.0.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(format!("{a:?}"), "DatabaseKey(***)");
    }

    #[test]
    fn an_export_reads_back_and_bad_text_is_refused_without_echoing_it() {
        let key = DatabaseKey::generate().unwrap();
        let text = key.export_text();
        assert!(text.starts_with(KEY_FILE_HEADER));
        assert_eq!(DatabaseKey::from_export(&text).unwrap(), key);
        let bad = "# header\nzz-not-a-key-zz\n";
        let e = DatabaseKey::from_export(bad).unwrap_err();
        assert!(!e.contains("zz-not-a-key"), "{e}");
        assert!(e.contains("64 hexadecimal digits"), "{e}");
        assert!(DatabaseKey::from_export("# only a header\n").is_err());
    }

    #[test]
    fn the_file_state_tells_plain_from_encrypted_and_junk() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        assert_eq!(FileState::of(&p).unwrap(), FileState::Missing);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(FileState::of(&p).unwrap(), FileState::Missing);
        let conn = Connection::open(&p).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(conn);
        assert_eq!(FileState::of(&p).unwrap(), FileState::Plain);
        let mut random = vec![0u8; 8192];
        getrandom::fill(&mut random).unwrap();
        std::fs::write(&p, &random).unwrap();
        assert_eq!(FileState::of(&p).unwrap(), FileState::Encrypted);
        std::fs::write(&p, "x".repeat(4096)).unwrap();
        assert_eq!(FileState::of(&p).unwrap(), FileState::NotADatabase);
        std::fs::write(&p, b"notes, not a database").unwrap();
        assert_eq!(FileState::of(&p).unwrap(), FileState::NotADatabase);
    }

    #[test]
    fn sqlcipher_is_built_in() {
        let v = cipher_version().unwrap();
        assert!(v.starts_with('4'), "{v}");
    }
}
