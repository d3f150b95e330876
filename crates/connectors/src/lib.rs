//! ecosystem-connectors: how Ecosystem reaches each partner platform. One module per
//! platform lives here behind the core's [`Integration`](ecosystem_core::integration::Integration)
//! trait, on a shared foundation:
//!
//! - [`http`]: the pooled client, per-partner calls ([`http::PartnerHttp`]), the capped body
//!   reader and error classification;
//! - [`resilience`]: retries with backoff, rate limit, circuit breaker, bulkhead;
//! - [`auth`]: the authentication strategies built from a stored credential;
//! - [`mlops`]: the `MlopsPlatform` family template (experiments, runs, model registry,
//!   artifacts) and its data types;
//! - [`mlflow`]: the MLflow tracking-server connector;
//! - [`data`] and [`monitoring`]: the `DataPlatform` and `MonitoringPlatform` family templates;
//! - [`databricks`], [`snowflake`], [`kubeflow`], [`datadog`]: the platform connectors, and
//!   [`custom_http`] for partners checked by a declarative check file;
//! - [`factory`]: [`connector_for`], the connector of a registered partner;
//! - [`usage`]: usage collection (platform figures per day) and Ecosystem's own call counters.
//!
//! It also knows each platform's health probe, the cheapest authenticated call that proves the
//! platform is up (from the platforms' official API specs).

pub mod auth;
pub mod check;
pub mod custom_http;
pub mod data;
pub mod databricks;
pub mod datadog;
pub mod events;
pub mod factory;
/// Entry points of the fuzz targets (`fuzz/`, docs/FUZZING.md); not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod kubeflow;
pub mod mlflow;
pub mod mlops;
pub mod monitoring;
pub mod poller;
pub mod resilience;
pub mod snowflake;
pub mod targets;
pub mod usage;

pub use factory::{connector_for, ConnectorOptions};

use ecosystem_core::PartnerKind;

/// The HTTP request that checks a platform's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthProbe {
    pub method: &'static str,
    /// Path relative to the partner's endpoint.
    pub path: &'static str,
    /// A JSON body, for probes that need one.
    pub body: Option<&'static str>,
}

/// The health probe of a platform.
pub fn health_probe(kind: PartnerKind) -> HealthProbe {
    let get = |path| HealthProbe {
        method: "GET",
        path,
        body: None,
    };
    match kind {
        PartnerKind::Mlflow => get("/api/2.0/mlflow/experiments/search?max_results=1"),
        PartnerKind::Databricks => get("/api/2.0/preview/scim/v2/Me"),
        PartnerKind::Snowflake => HealthProbe {
            method: "POST",
            path: "/api/v2/statements",
            body: Some(r#"{"statement":"SELECT CURRENT_ACCOUNT()","timeout":10}"#),
        },
        PartnerKind::Kubeflow => get("/apis/v2beta1/healthz"),
        PartnerKind::Datadog => get("/api/v1/validate"),
        PartnerKind::Http => get(""),
    }
}

/// The probe's full URL for a partner endpoint, without doubling or dropping the slash.
pub fn probe_url(endpoint: &str, probe: &HealthProbe) -> String {
    if probe.path.is_empty() {
        return endpoint.to_string();
    }
    format!("{}{}", endpoint.trim_end_matches('/'), probe.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_has_a_probe_and_only_snowflake_posts() {
        for kind in PartnerKind::ALL {
            let probe = health_probe(*kind);
            assert_eq!(
                probe.method == "POST",
                *kind == PartnerKind::Snowflake,
                "{kind}"
            );
            assert_eq!(
                probe.body.is_some(),
                *kind == PartnerKind::Snowflake,
                "{kind}"
            );
        }
    }

    #[test]
    fn probe_urls_join_endpoint_and_path_with_one_slash() {
        let p = health_probe(PartnerKind::Kubeflow);
        assert_eq!(
            probe_url("http://127.0.0.1:8888/", &p),
            "http://127.0.0.1:8888/apis/v2beta1/healthz"
        );
        assert_eq!(
            probe_url("http://127.0.0.1:8888", &p),
            "http://127.0.0.1:8888/apis/v2beta1/healthz"
        );
        assert_eq!(
            probe_url("https://h.example/status", &health_probe(PartnerKind::Http)),
            "https://h.example/status"
        );
    }
}
