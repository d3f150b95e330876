//! The `DataPlatform` family template: what Ecosystem asks of a data platform (Databricks,
//! Snowflake, and later others) on top of the core [`Integration`] trait: SQL statements
//! (submitted, polled until done, cancelled) and files put and read back (a batch load's
//! landing zone). Connectors translate their platform's API into these types; reports, the UI
//! and the CLI only see the types.
//!
//! Statement results are the platform's own strings (Snowflake's `jsonv2` and Databricks'
//! `JSON_ARRAY` both send every value as a string or null), with the column types named as the
//! platform names them. [`DataPlatform::execute_statement`] polls with a growing pause
//! (100 ms doubling to 2 s) until the statement is done or its timeout passes; then it cancels
//! the statement and answers `timed_out`.

use std::time::Duration;

use async_trait::async_trait;
use ecosystem_core::integration::{ErrorClass, Integration, IntegrationError, IntegrationResult};
use serde::{Deserialize, Serialize};

/// The longest a statement may run when its request names no timeout.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(2);

/// A SQL statement to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SqlStatement {
    pub sql: String,
    /// The warehouse to run on (Snowflake warehouse name, Databricks SQL warehouse id); the
    /// connector's default when `None`.
    pub warehouse: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub role: Option<String>,
    /// The platform stops the statement after this long; [`DEFAULT_STATEMENT_TIMEOUT`] when
    /// `None`.
    pub timeout: Option<Duration>,
    /// Answer as soon as the platform accepted the statement, without waiting for it.
    pub asynchronous: bool,
}

impl SqlStatement {
    pub fn new(sql: impl Into<String>) -> Self {
        SqlStatement {
            sql: sql.into(),
            ..SqlStatement::default()
        }
    }
}

/// A result column: its name and the platform's type name (`fixed`, `text`, `DECIMAL`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultColumn {
    pub name: String,
    pub type_name: String,
}

/// A finished statement's result, every partition or chunk read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    pub statement_id: String,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl QueryResult {
    /// The index of a column, matched case-insensitively.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The cell at `row`, `column` as text.
    pub fn text(&self, row: usize, column: usize) -> Option<&str> {
        self.rows.get(row)?.get(column)?.as_deref()
    }

    /// The cell at `row`, `column` as a number.
    pub fn number(&self, row: usize, column: usize) -> Option<f64> {
        self.text(row, column)?.trim().parse().ok()
    }
}

/// Where a statement is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StatementProgress {
    /// Accepted and still running: poll it by this id.
    Running {
        statement_id: String,
    },
    Done(QueryResult),
}

/// A data platform: SQL statements and files.
#[async_trait]
pub trait DataPlatform: Integration {
    /// Submits a statement; answers as soon as it is done or the platform's synchronous wait
    /// is over (at once when `asynchronous`). A failing statement is `invalid_request` with the
    /// platform's message.
    async fn submit_statement(
        &self,
        statement: &SqlStatement,
    ) -> IntegrationResult<StatementProgress>;

    /// Where a submitted statement is now.
    async fn poll_statement(&self, statement_id: &str) -> IntegrationResult<StatementProgress>;

    /// Asks the platform to stop a running statement.
    async fn cancel_statement(&self, statement_id: &str) -> IntegrationResult<()>;

    /// Stores a file (`overwrite` replaces an existing one).
    async fn put_file(&self, path: &str, bytes: &[u8], overwrite: bool) -> IntegrationResult<()>;

    /// Reads a whole file.
    async fn read_file(&self, path: &str) -> IntegrationResult<Vec<u8>>;

    /// Runs a statement to completion: submits it, then polls with a growing pause until it
    /// is done. Past its timeout the statement is cancelled and the answer is `timed_out`.
    async fn execute_statement(&self, statement: &SqlStatement) -> IntegrationResult<QueryResult> {
        let timeout = statement.timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut progress = self
            .submit_statement(&SqlStatement {
                asynchronous: false,
                ..statement.clone()
            })
            .await?;
        let mut pause = FIRST_POLL;
        loop {
            let statement_id = match progress {
                StatementProgress::Done(result) => return Ok(result),
                StatementProgress::Running { statement_id } => statement_id,
            };
            if tokio::time::Instant::now() + pause > deadline {
                if let Err(error) = self.cancel_statement(&statement_id).await {
                    tracing::warn!(class = %error.class, "cancelling a statement past its timeout failed");
                }
                return Err(IntegrationError::new(
                    ErrorClass::TimedOut,
                    format!(
                        "statement {statement_id} was not done within {} s and was cancelled",
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
            progress = self.poll_statement(&statement_id).await?;
        }
    }
}

/// `invalid_request` for a file operation the platform's API does not offer.
pub fn unsupported(context: &str, what: &str) -> IntegrationError {
    IntegrationError::new(
        ErrorClass::InvalidRequest,
        format!("{context}: {what} is not offered by this platform's API"),
    )
}
