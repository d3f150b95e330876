//! Where partners' secrets live: the OS keyring, behind the [`CredentialStore`] trait.
//!
//! Each credential is one keyring item under the service [`KEYRING_SERVICE`], named by a
//! stable key (`partner-<id>-<uuid>`, recorded in the `credentials_meta` row) rather than the
//! partner's name, so renaming a partner never orphans its secret. The item holds the whole
//! [`Credential`] as JSON ([`Credential::to_keyring_json`]); the database holds only the
//! non-secret description.
//!
//! [`OsKeyring`] is the real store: keyring-core with the Secret Service (zbus, pure Rust) on
//! Linux, the login Keychain on macOS and the Credential Manager on Windows. Opening it runs a
//! canary set/get/delete, because a store can be created while its collection is locked or
//! missing. When no keyring works, the error says what is wrong; there is never a fallback to
//! memory or to a file. An in-memory store exists for unit tests only.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::credentials::Credential;
use crate::error::Error;
use crate::secret::Secret;

/// The keyring service every Ecosystem item is stored under (the app's bundle identifier).
pub const KEYRING_SERVICE: &str = crate::store::APP_IDENTIFIER;

/// Why the keyring could not do what was asked. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialStoreError {
    /// No keyring can be reached at all (no Secret Service, no keychain).
    #[error("{0}")]
    Unavailable(String),
    /// The keyring is there but refused access (locked, no default collection, denied).
    #[error("{0}")]
    NoAccess(String),
    /// The item exists but is not a credential Ecosystem wrote.
    #[error("keyring item {key} is not a readable Ecosystem credential ({message}); set the credential again")]
    Corrupt { key: String, message: String },
    /// Any other failure of one operation on one item.
    #[error("cannot {action} keyring item {key}: {message}")]
    Failed {
        action: &'static str,
        key: String,
        message: String,
    },
}

/// Keyring failures are runtime failures (the CLI exits 1), reported as "OS keyring: ...".
impl From<CredentialStoreError> for Error {
    fn from(e: CredentialStoreError) -> Self {
        Error::Io {
            context: "OS keyring".into(),
            source: std::io::Error::other(e),
        }
    }
}

/// A place that keeps partners' credentials, one per stable key.
pub trait CredentialStore: Send + Sync {
    /// What the store is, for messages ("Secret Service", "macOS Keychain").
    fn describe(&self) -> &str;

    /// Stores `credential` under `key`, replacing whatever was there.
    fn set(&self, key: &str, credential: &Credential) -> Result<(), CredentialStoreError>;

    /// The credential under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Credential>, CredentialStoreError>;

    /// Deletes the credential under `key`; `false` when there was none.
    fn delete(&self, key: &str) -> Result<bool, CredentialStoreError>;
}

/// A fresh keyring key for a credential of the partner with database id `partner_id`.
pub fn new_keyring_key(partner_id: i64) -> String {
    format!("partner-{partner_id}-{}", uuid::Uuid::new_v4().simple())
}

/// The operating system's keyring.
pub struct OsKeyring {
    store: Arc<keyring_core::CredentialStore>,
    backend: &'static str,
}

impl std::fmt::Debug for OsKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsKeyring")
            .field("backend", &self.backend)
            .finish()
    }
}

impl OsKeyring {
    /// Opens this OS's keyring and proves it works with a canary set/get/delete of a
    /// throw-away item. Fails with a message saying what to fix; never falls back.
    pub fn open() -> Result<OsKeyring, CredentialStoreError> {
        let (store, backend) = platform_store()?;
        let keyring = OsKeyring { store, backend };
        keyring.canary()?;
        tracing::debug!(backend, "OS keyring ready");
        Ok(keyring)
    }

    /// Connects to this OS's keyring without the canary: for the database key, read on every
    /// open, where the read itself proves the keyring works (and its failure says why).
    pub(crate) fn connect() -> Result<OsKeyring, CredentialStoreError> {
        let (store, backend) = platform_store()?;
        Ok(OsKeyring { store, backend })
    }

    /// The raw secret of the item `key` (not a partner credential), or `None`.
    pub(crate) fn get_raw(&self, key: &str) -> Result<Option<Secret>, CredentialStoreError> {
        let bytes = match self.entry(key, "read")?.get_secret() {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(keyring_core::Error::PlatformFailure(e)) => {
                return Err(CredentialStoreError::Unavailable(format!(
                    "{} ({}: {e})",
                    unavailable_hint(),
                    self.backend
                )))
            }
            Err(e) => return Err(self.failure("read", key, e)),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| CredentialStoreError::Corrupt {
            key: key.to_string(),
            message: "not UTF-8 text".into(),
        })?;
        Ok(Some(Secret::new(text)))
    }

    /// Stores `value` as the raw secret of the item `key`, replacing whatever was there.
    pub(crate) fn set_raw(&self, key: &str, value: &Secret) -> Result<(), CredentialStoreError> {
        self.entry(key, "write")?
            .set_secret(value.expose().as_bytes())
            .map_err(|e| self.failure("write", key, e))
    }

    fn canary(&self) -> Result<(), CredentialStoreError> {
        let key = format!("canary-{}", uuid::Uuid::new_v4().simple());
        let value = uuid::Uuid::new_v4().simple().to_string();
        let entry = self.entry(&key, "open")?;
        let check = || -> keyring_core::Result<bool> {
            entry.set_secret(value.as_bytes())?;
            let read = Zeroizing::new(entry.get_secret()?);
            entry.delete_credential()?;
            Ok(read.as_slice() == value.as_bytes())
        };
        match check() {
            Ok(true) => Ok(()),
            Ok(false) => Err(CredentialStoreError::Failed {
                action: "check",
                key,
                message: format!("{} returned something else than was stored", self.backend),
            }),
            // Anything but a refusal means there is no usable keyring behind the connection
            // (on Linux: nobody provides org.freedesktop.secrets on this bus).
            Err(keyring_core::Error::NoStorageAccess(e)) => Err(no_access(self.backend, &e)),
            Err(e) => Err(CredentialStoreError::Unavailable(format!(
                "{} ({}: {})",
                unavailable_hint(),
                self.backend,
                describe(&e)
            ))),
        }
    }

    fn entry(
        &self,
        key: &str,
        action: &'static str,
    ) -> Result<keyring_core::Entry, CredentialStoreError> {
        keyring_core::Entry::new_in_store(&self.store, KEYRING_SERVICE, key)
            .map_err(|e| self.failure(action, key, e))
    }

    fn failure(
        &self,
        action: &'static str,
        key: &str,
        e: keyring_core::Error,
    ) -> CredentialStoreError {
        use keyring_core::Error as K;
        match e {
            K::NoStorageAccess(e) => no_access(self.backend, &e),
            K::BadEncoding(_) | K::BadDataFormat(..) => CredentialStoreError::Corrupt {
                key: key.to_string(),
                message: describe(&e),
            },
            e => CredentialStoreError::Failed {
                action,
                key: key.to_string(),
                message: format!("{}: {}", self.backend, describe(&e)),
            },
        }
    }
}

impl CredentialStore for OsKeyring {
    fn describe(&self) -> &str {
        self.backend
    }

    fn set(&self, key: &str, credential: &Credential) -> Result<(), CredentialStoreError> {
        let json: Secret =
            credential
                .to_keyring_json()
                .map_err(|e| CredentialStoreError::Failed {
                    action: "write",
                    key: key.to_string(),
                    message: e.to_string(),
                })?;
        self.entry(key, "write")?
            .set_secret(json.expose().as_bytes())
            .map_err(|e| self.failure("write", key, e))?;
        tracing::debug!(
            key,
            backend = self.backend,
            "credential written to the keyring"
        );
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Credential>, CredentialStoreError> {
        let bytes = match self.entry(key, "read")?.get_secret() {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.failure("read", key, e)),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| CredentialStoreError::Corrupt {
            key: key.to_string(),
            message: "not UTF-8 text".into(),
        })?;
        Credential::from_keyring_json(text)
            .map(Some)
            .map_err(|message| CredentialStoreError::Corrupt {
                key: key.to_string(),
                message,
            })
    }

    fn delete(&self, key: &str) -> Result<bool, CredentialStoreError> {
        match self.entry(key, "delete")?.delete_credential() {
            Ok(()) => {
                tracing::debug!(
                    key,
                    backend = self.backend,
                    "credential deleted from the keyring"
                );
                Ok(true)
            }
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failure("delete", key, e)),
        }
    }
}

/// Describes a keyring error without any payload it may carry (raw bytes, other items).
fn describe(e: &keyring_core::Error) -> String {
    use keyring_core::Error as K;
    match e {
        K::PlatformFailure(p) | K::NoStorageAccess(p) => p.to_string(),
        K::NoEntry => "no such item".into(),
        K::BadEncoding(_) => "the stored secret is not UTF-8 text".into(),
        K::BadDataFormat(_, p) => format!("the stored secret is malformed: {p}"),
        K::TooLong(name, limit) => {
            format!("{name} is longer than this keyring's limit of {limit}")
        }
        K::Ambiguous(items) => format!(
            "{} items match it; delete the duplicates (on Linux: `secret-tool search --all service {KEYRING_SERVICE}`)",
            items.len()
        ),
        other => other.to_string(),
    }
}

fn no_access(backend: &str, e: &keyring_core::error::PlatformError) -> CredentialStoreError {
    CredentialStoreError::NoAccess(format!(
        "{backend} refused access (is the keyring locked, or is there no default collection?): unlock it and try again ({e})"
    ))
}

#[cfg(target_os = "linux")]
fn unavailable_hint() -> String {
    let bus = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        " (DBUS_SESSION_BUS_ADDRESS is not set)"
    } else {
        ""
    };
    format!("no Secret Service on this session bus{bus}: is a keyring daemon running and unlocked?")
}

#[cfg(target_os = "macos")]
fn unavailable_hint() -> String {
    "the login keychain is not available: is this a logged-in user session with an unlocked keychain?".into()
}

#[cfg(target_os = "windows")]
fn unavailable_hint() -> String {
    "the Windows Credential Manager is not available for this user".into()
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn unavailable_hint() -> String {
    "this operating system has no keyring Ecosystem can use".into()
}

type PlatformStore = (Arc<keyring_core::CredentialStore>, &'static str);

#[cfg(target_os = "linux")]
fn platform_store() -> Result<PlatformStore, CredentialStoreError> {
    const BACKEND: &str = "Secret Service";
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| {
        CredentialStoreError::Unavailable(format!(
            "{} ({BACKEND}: {})",
            unavailable_hint(),
            describe(&e)
        ))
    })?;
    Ok((store, BACKEND))
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<PlatformStore, CredentialStoreError> {
    const BACKEND: &str = "macOS Keychain";
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| {
        CredentialStoreError::Unavailable(format!(
            "{} ({BACKEND}: {})",
            unavailable_hint(),
            describe(&e)
        ))
    })?;
    Ok((store, BACKEND))
}

#[cfg(target_os = "windows")]
fn platform_store() -> Result<PlatformStore, CredentialStoreError> {
    const BACKEND: &str = "Windows Credential Manager";
    let store = windows_native_keyring_store::Store::new().map_err(|e| {
        CredentialStoreError::Unavailable(format!(
            "{} ({BACKEND}: {})",
            unavailable_hint(),
            describe(&e)
        ))
    })?;
    Ok((store, BACKEND))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> Result<PlatformStore, CredentialStoreError> {
    Err(CredentialStoreError::Unavailable(unavailable_hint()))
}

/// An in-memory store for unit tests: it keeps the same JSON the keyring would, and can be
/// told to fail so the registry's handling of keyring failures can be tested.
#[cfg(test)]
pub(crate) mod memory {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct MemoryCredentialStore {
        items: Mutex<HashMap<String, Secret>>,
        pub fail_writes: AtomicBool,
        pub fail_deletes: AtomicBool,
    }

    impl MemoryCredentialStore {
        pub fn keys(&self) -> Vec<String> {
            let mut keys: Vec<String> = self.items.lock().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        }

        /// Every stored item's JSON, concatenated: for "is this secret anywhere" checks.
        pub fn all_text(&self) -> String {
            self.items
                .lock()
                .unwrap()
                .values()
                .map(|s| s.expose().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        }

        fn refused(action: &'static str, key: &str) -> CredentialStoreError {
            CredentialStoreError::Failed {
                action,
                key: key.to_string(),
                message: "the test store was told to fail".into(),
            }
        }
    }

    impl CredentialStore for MemoryCredentialStore {
        fn describe(&self) -> &str {
            "memory (tests only)"
        }

        fn set(&self, key: &str, credential: &Credential) -> Result<(), CredentialStoreError> {
            if self.fail_writes.load(Ordering::SeqCst) {
                return Err(Self::refused("write", key));
            }
            let json = credential
                .to_keyring_json()
                .map_err(|e| CredentialStoreError::Failed {
                    action: "write",
                    key: key.to_string(),
                    message: e.to_string(),
                })?;
            self.items.lock().unwrap().insert(key.to_string(), json);
            Ok(())
        }

        fn get(&self, key: &str) -> Result<Option<Credential>, CredentialStoreError> {
            let items = self.items.lock().unwrap();
            items
                .get(key)
                .map(|json| Credential::from_keyring_json(json.expose()))
                .transpose()
                .map_err(|message| CredentialStoreError::Corrupt {
                    key: key.to_string(),
                    message,
                })
        }

        fn delete(&self, key: &str) -> Result<bool, CredentialStoreError> {
            if self.fail_deletes.load(Ordering::SeqCst) {
                return Err(Self::refused("delete", key));
            }
            Ok(self.items.lock().unwrap().remove(key).is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryCredentialStore;
    use super::*;

    #[test]
    fn keyring_keys_name_the_partner_id_and_never_repeat() {
        let a = new_keyring_key(7);
        let b = new_keyring_key(7);
        assert!(a.starts_with("partner-7-"), "{a}");
        assert_ne!(
            a, b,
            "two credentials of one partner must get different items"
        );
    }

    #[test]
    fn the_memory_store_sets_gets_and_deletes_by_key() {
        let store = MemoryCredentialStore::default();
        let credential = Credential::Bearer {
            token: Secret::new("tok-1"),
        };
        assert_eq!(store.get("k").unwrap(), None, "nothing is stored at first");
        store.set("k", &credential).unwrap();
        assert_eq!(
            store.get("k").unwrap(),
            Some(credential),
            "what was set reads back"
        );
        assert!(
            store.delete("k").unwrap(),
            "delete reports that it removed the item"
        );
        assert!(!store.delete("k").unwrap(), "a second delete finds nothing");
    }

    #[test]
    fn a_keyring_error_becomes_a_runtime_error_that_names_the_keyring() {
        let err: Error = CredentialStoreError::Unavailable(
            "no Secret Service on this session bus: is a keyring daemon running and unlocked?"
                .into(),
        )
        .into();
        assert!(
            !err.is_bad_input(),
            "a missing keyring is not the caller's mistake"
        );
        assert_eq!(
            err.to_string(),
            "OS keyring: no Secret Service on this session bus: is a keyring daemon running and unlocked?"
        );
    }
}
