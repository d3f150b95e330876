//! The one error type of the core. Every variant says what went wrong in words a partner
//! manager understands, and names the field or record at fault. [`Error::is_bad_input`]
//! separates the caller's mistakes (the CLI exits 2) from runtime failures (exit 1).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field has a value that is not allowed.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),

    /// The request is well-formed but contradicts what is stored (duplicate name, a lifecycle
    /// step that is not allowed, a dependency cycle).
    #[error("{0}")]
    Conflict(String),

    /// A workspace file with bad records; each entry names the record and the field.
    #[error("{file}: {} invalid record(s), nothing was imported: {}", problems.len(), problems.join("; "))]
    InvalidRecords { file: String, problems: Vec<String> },

    /// A file that is not what it claims to be (not JSON, wrong format, newer version).
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },

    /// The database file could not be opened or is not an Ecosystem database.
    #[error("database {}: {message}", path.display())]
    Database { path: PathBuf, message: String },

    #[error("database error: {0}")]
    Storage(#[from] rusqlite::Error),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// True when the caller can fix the problem by changing what they asked for.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid { .. }
                | Error::NotFound(_)
                | Error::Conflict(_)
                | Error::InvalidRecords { .. }
                | Error::BadFile { .. }
        )
    }

    /// A stable code for the UI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::InvalidRecords { .. } | Error::BadFile { .. } => "bad_file",
            Error::Database { .. } | Error::Storage(_) | Error::Io { .. } => "internal",
        }
    }

    /// The field at fault, when there is exactly one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
