//! ecosystem-core: the domain model of Ecosystem and everything that keeps it.
//!
//! It owns the embedded SQLite store (`store`), the partner registry with contracts and the
//! audit log (`registry`), partners' credentials (descriptions in `registry`, secrets in the
//! OS keyring through `credential_store`), the workspace file format (`workspace`) and the
//! injected clock.
//! It knows nothing of Tauri or HTTP: the desktop shell and the `ecosystem` CLI are thin
//! layers over this crate, and connectors implement its traits.

pub mod audit_view;
pub mod clock;
pub mod contract_alerts;
pub mod credential_store;
pub mod credentials;
pub mod csv_export;
pub mod custom_check;
pub mod demo;
pub mod encryption;
pub mod error;
/// Entry points of the fuzz targets (`fuzz/`, docs/FUZZING.md); not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod health_state;
pub mod health_store;
pub mod integration;
pub mod maintenance;
pub mod model;
pub mod money;
pub mod notify;
pub mod overview;
pub mod redact;
pub mod registry;
pub mod report;
pub mod review;
pub mod secret;
pub mod settings_view;
pub mod sla;
pub mod sla_terms;
pub mod store;
pub mod usage;
pub mod validate;
pub mod workspace;

pub use clock::{Clock, FixedClock, SystemClock};
pub use credential_store::{CredentialStore, CredentialStoreError, OsKeyring, KEYRING_SERVICE};
pub use credentials::{Credential, CredentialMeta, CredentialType};
pub use error::{Error, Result};
pub use model::*;
pub use registry::{Registry, StoredCheck, Surface};
pub use secret::Secret;
pub use store::{default_db_path, Store};
