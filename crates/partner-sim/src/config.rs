//! Simulator configuration: which platforms listen where, the credentials each one accepts,
//! the step durations of its state machines and its starting faults. Read from TOML or JSON
//! (by file extension); every field has a demo default, so an empty file is a valid config.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::{SharedClock, SystemClock};
use crate::faults::Faults;
use crate::{Platform, SimError};

/// The demo Snowflake public key (its private half is `fixtures/demo-snowflake-rsa-key.p8`).
pub const DEMO_SNOWFLAKE_PUBLIC_KEY_PEM: &str =
    include_str!("../fixtures/demo-snowflake-rsa-key.pub");

/// The private half of the demo Snowflake key (PKCS#8 PEM), for demo workspaces that register
/// a Snowflake partner against the simulator. It opens nothing but partner-sim.
pub const DEMO_SNOWFLAKE_PRIVATE_KEY_PEM: &str =
    include_str!("../fixtures/demo-snowflake-rsa-key.p8");

/// Everything the simulator needs to start.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The address every listener binds (default 127.0.0.1).
    pub host: IpAddr,
    /// The platforms to start (default: all four).
    pub platforms: Vec<Platform>,
    /// Fixed ports; 0 (the default) picks a free one.
    pub ports: Ports,
    /// Databricks workspace settings.
    pub databricks: DatabricksConfig,
    /// Snowflake account settings.
    pub snowflake: SnowflakeConfig,
    /// Kubeflow Pipelines settings.
    pub kubeflow: KubeflowConfig,
    /// Datadog org settings.
    pub datadog: DatadogConfig,
    /// MLflow tracking server settings.
    pub mlflow: MlflowConfig,
    /// Starting faults per platform.
    pub faults: PlatformFaults,
    /// The clock every state machine reads; the wall clock unless a test injects one.
    #[serde(skip, default = "system_clock")]
    pub clock: SharedClock,
}

fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            platforms: Platform::ALL.to_vec(),
            ports: Ports::default(),
            databricks: DatabricksConfig::default(),
            snowflake: SnowflakeConfig::default(),
            kubeflow: KubeflowConfig::default(),
            datadog: DatadogConfig::default(),
            mlflow: MlflowConfig::default(),
            faults: PlatformFaults::default(),
            clock: system_clock(),
        }
    }
}

impl SimConfig {
    /// Reads a config file: `.json` as JSON, anything else as TOML.
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ConfigRead {
            path: path.display().to_string(),
            source,
        })?;
        let parsed = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|message| SimError::Config(format!("{}: {message}", path.display())))
    }

    /// The starting faults of one platform.
    pub fn faults_mut(&mut self, platform: Platform) -> &mut Faults {
        match platform {
            Platform::Databricks => &mut self.faults.databricks,
            Platform::Snowflake => &mut self.faults.snowflake,
            Platform::Kubeflow => &mut self.faults.kubeflow,
            Platform::Datadog => &mut self.faults.datadog,
            Platform::Mlflow => &mut self.faults.mlflow,
        }
    }

    pub(crate) fn port(&self, platform: Platform) -> u16 {
        match platform {
            Platform::Databricks => self.ports.databricks,
            Platform::Snowflake => self.ports.snowflake,
            Platform::Kubeflow => self.ports.kubeflow,
            Platform::Datadog => self.ports.datadog,
            Platform::Mlflow => self.ports.mlflow,
        }
    }
}

/// One port per platform; 0 picks a free port.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ports {
    /// Databricks listener port.
    pub databricks: u16,
    /// Snowflake listener port.
    pub snowflake: u16,
    /// Kubeflow Pipelines listener port.
    pub kubeflow: u16,
    /// Datadog listener port.
    pub datadog: u16,
    /// MLflow listener port.
    pub mlflow: u16,
}

/// Starting faults per platform.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformFaults {
    /// Databricks faults.
    pub databricks: Faults,
    /// Snowflake faults.
    pub snowflake: Faults,
    /// Kubeflow faults.
    pub kubeflow: Faults,
    /// Datadog faults.
    pub datadog: Faults,
    /// MLflow faults.
    pub mlflow: Faults,
}

/// Databricks workspace: PATs, one OAuth M2M service principal, step durations.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabricksConfig {
    /// Personal access tokens accepted as `Authorization: Bearer <PAT>`.
    pub tokens: Vec<String>,
    /// OAuth M2M client id (HTTP Basic user at `POST /oidc/v1/token`).
    pub oauth_client_id: String,
    /// OAuth M2M client secret.
    pub oauth_client_secret: String,
    /// Lifetime of issued OAuth access tokens, in seconds.
    pub oauth_token_ttl_s: i64,
    /// A run created by run-now is PENDING for one step, RUNNING for two, then TERMINATED.
    pub run_step_ms: i64,
    /// A statement submitted with `wait_timeout: "0s"` is PENDING for this long.
    pub statement_step_ms: i64,
    /// `userName` of `GET /api/2.0/preview/scim/v2/Me`.
    pub user_name: String,
}

impl Default for DatabricksConfig {
    fn default() -> Self {
        Self {
            tokens: vec!["dapi-sim-demo-token".into()],
            oauth_client_id: "sim-client-id".into(),
            oauth_client_secret: "sim-client-secret".into(),
            oauth_token_ttl_s: 3600,
            run_step_ms: 5_000,
            statement_step_ms: 2_000,
            user_name: "sim-user@example.com".into(),
        }
    }
}

/// Snowflake account: the key-pair user, OAuth tokens, PATs, result partitioning.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnowflakeConfig {
    /// Account identifier as it appears in JWT claims (upper-cased by the sim).
    pub account: String,
    /// User name as it appears in JWT claims (upper-cased by the sim).
    pub user: String,
    /// The user's RSA public key (PEM, SubjectPublicKeyInfo) that KEYPAIR_JWT tokens are checked against.
    pub public_key_pem: String,
    /// Accepted OAuth access tokens (`X-Snowflake-Authorization-Token-Type: OAUTH`).
    pub oauth_tokens: Vec<String>,
    /// Accepted programmatic access tokens (`PROGRAMMATIC_ACCESS_TOKEN`).
    pub pats: Vec<String>,
    /// Rows per result partition.
    pub partition_rows: usize,
    /// How long a synchronous submit waits before answering 202 (Snowflake: 45 s).
    pub sync_wait_ms: i64,
    /// How long ACCOUNT_USAGE queries "run"; above `sync_wait_ms` they answer 202 first.
    pub account_usage_query_ms: i64,
    /// CURRENT_ROLE() when the request names none.
    pub default_role: String,
    /// CURRENT_WAREHOUSE() when the request names none.
    pub default_warehouse: String,
}

impl Default for SnowflakeConfig {
    fn default() -> Self {
        Self {
            account: "SIMORG-SIMACCOUNT".into(),
            user: "SIM_USER".into(),
            public_key_pem: DEMO_SNOWFLAKE_PUBLIC_KEY_PEM.into(),
            oauth_tokens: vec!["sf-sim-oauth-token".into()],
            pats: vec!["sf-sim-pat".into()],
            partition_rows: 1_000,
            sync_wait_ms: 45_000,
            account_usage_query_ms: 0,
            default_role: "ACCOUNTADMIN".into(),
            default_warehouse: "COMPUTE_WH".into(),
        }
    }
}

/// Kubeflow Pipelines: bearer tokens and run step durations.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubeflowConfig {
    /// Accepted `Authorization: Bearer` tokens.
    pub tokens: Vec<String>,
    /// When false, the API answers without a token (KFP standalone mode).
    pub require_auth: bool,
    /// A created run is PENDING for one step, RUNNING for two, then SUCCEEDED; a terminated
    /// run is CANCELING for one step, then CANCELED.
    pub run_step_ms: i64,
}

impl Default for KubeflowConfig {
    fn default() -> Self {
        Self {
            tokens: vec!["kfp-sim-token".into()],
            require_auth: true,
            run_step_ms: 5_000,
        }
    }
}

/// Datadog org: API and application keys, default rate limit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatadogConfig {
    /// Accepted `DD-API-KEY` values.
    pub api_keys: Vec<String>,
    /// Accepted `DD-APPLICATION-KEY` values.
    pub app_keys: Vec<String>,
    /// Requests per window before 429 (reported in `X-RateLimit-Limit`).
    pub rate_limit: u32,
    /// Window length in seconds (reported in `X-RateLimit-Period`).
    pub rate_period_s: u64,
    /// `org_name` in usage answers.
    pub org_name: String,
    /// `public_id` in usage answers.
    pub public_id: String,
}

impl Default for DatadogConfig {
    fn default() -> Self {
        Self {
            api_keys: vec!["dd-sim-api-key".into()],
            app_keys: vec!["dd-sim-app-key".into()],
            rate_limit: 1_000,
            rate_period_s: 60,
            org_name: "Ecosystem Sim Org".into(),
            public_id: "simorg0000000001".into(),
        }
    }
}

/// MLflow tracking server: the `basic-auth` app's user, and bearer tokens (Databricks-hosted).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlflowConfig {
    /// When false, the API answers without credentials (the OSS default server).
    pub require_auth: bool,
    /// The basic-auth user name.
    pub username: String,
    /// The basic-auth password.
    pub password: String,
    /// Accepted `Authorization: Bearer` tokens.
    pub tokens: Vec<String>,
}

impl Default for MlflowConfig {
    fn default() -> Self {
        Self {
            require_auth: true,
            username: "sim-admin".into(),
            password: "mlflow-sim-password".into(),
            tokens: vec!["mlflow-sim-token".into()],
        }
    }
}
