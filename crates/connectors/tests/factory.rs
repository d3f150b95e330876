//! `connector_for`: the right connector for each partner kind, `missing_credential` when a
//! platform needs one and none is stored, and end-to-end checks through the factory against
//! partner-sim and a local server.

#[allow(dead_code)]
#[path = "support/misbehaving.rs"]
mod misbehaving;

use ecosystem_connectors::{connector_for, ConnectorOptions};
use ecosystem_core::integration::{CheckState, ErrorClass};
use ecosystem_core::{Credential, HealthCheck, Lifecycle, Partner, PartnerKind, Secret, Tier};
use misbehaving::{Behaviour, Misbehaving};
use partner_sim::{Platform, Sim, SimConfig};

fn partner(kind: PartnerKind, endpoint: &str) -> Partner {
    Partner {
        id: 1,
        name: format!("{kind}-partner"),
        kind,
        endpoint: endpoint.into(),
        tier: Tier::Standard,
        owner: None,
        capabilities: Vec::new(),
        tags: Vec::new(),
        lifecycle: Lifecycle::Active,
        depends_on: None,
        health_check: HealthCheck::default(),
        created_at: "2026-11-26T00:00:00Z".into(),
        updated_at: "2026-11-26T00:00:00Z".into(),
    }
}

#[test]
fn platforms_that_need_a_credential_refuse_to_build_without_one() {
    for kind in [
        PartnerKind::Databricks,
        PartnerKind::Snowflake,
        PartnerKind::Datadog,
    ] {
        let built = connector_for(
            &partner(kind, "https://x.example"),
            None,
            ConnectorOptions::default(),
        );
        assert_eq!(
            built.err().map(|e| e.class),
            Some(ErrorClass::MissingCredential),
            "{kind}"
        );
    }
}

#[test]
fn platforms_that_can_run_without_a_credential_build_without_one() {
    for kind in [
        PartnerKind::Mlflow,
        PartnerKind::Kubeflow,
        PartnerKind::Http,
    ] {
        let built = connector_for(
            &partner(kind, "https://x.example"),
            None,
            ConnectorOptions::default(),
        );
        assert_eq!(built.map(|c| c.kind()).ok(), Some(kind), "{kind}");
    }
}

#[test]
fn a_credential_of_the_wrong_type_is_refused() {
    let basic = Credential::Basic {
        username: "u".into(),
        password: Secret::new("p"),
    };
    let built = connector_for(
        &partner(PartnerKind::Datadog, "https://x.example"),
        Some(basic),
        ConnectorOptions::default(),
    );
    let Err(err) = built else {
        panic!("a basic credential is no Datadog credential");
    };
    assert_eq!(err.class, ErrorClass::MissingCredential, "{err}");
    assert!(
        err.message.contains("does not fit"),
        "names the mismatch: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_simulated_platform_is_healthy_through_the_factory() {
    let sim = Sim::start(SimConfig::default()).await.expect("sim");
    let key = include_str!("../../partner-sim/fixtures/demo-snowflake-rsa-key.p8");
    let cases = [
        (
            PartnerKind::Databricks,
            Platform::Databricks,
            Some(Credential::Bearer {
                token: Secret::new("dapi-sim-demo-token"),
            }),
        ),
        (
            PartnerKind::Snowflake,
            Platform::Snowflake,
            Some(Credential::SnowflakeKeyPair {
                account: "SIMORG-SIMACCOUNT".into(),
                user: "SIM_USER".into(),
                private_key_pem: Secret::new(key),
            }),
        ),
        (
            PartnerKind::Kubeflow,
            Platform::Kubeflow,
            Some(Credential::Bearer {
                token: Secret::new("kfp-sim-token"),
            }),
        ),
        (
            PartnerKind::Datadog,
            Platform::Datadog,
            Some(Credential::DatadogKeys {
                api_key: Secret::new("dd-sim-api-key"),
                app_key: Some(Secret::new("dd-sim-app-key")),
            }),
        ),
    ];
    for (kind, platform, credential) in cases {
        let connector = connector_for(
            &partner(kind, &sim.base_url(platform)),
            credential,
            ConnectorOptions::default(),
        )
        .expect("built");
        let check = connector.test_connection().await;
        assert_eq!(check.state, CheckState::Healthy, "{kind}: {check:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_partner_without_a_check_file_is_a_get_that_must_answer_2xx() {
    let server = Misbehaving::start(|n, _| {
        if n == 0 {
            Behaviour::status(204, "")
        } else {
            Behaviour::status(500, "{}")
        }
    })
    .await;
    let connector = connector_for(
        &partner(PartnerKind::Http, &format!("{}/status", server.url)),
        None,
        ConnectorOptions::default(),
    )
    .expect("built");
    let up = connector.test_connection().await;
    assert_eq!(up.state, CheckState::Healthy, "{up:?}");
    let down = connector.test_connection().await;
    assert_eq!(down.state, CheckState::Unhealthy, "{down:?}");
    assert_eq!(
        down.error.map(|e| e.class),
        Some(ErrorClass::PlatformError),
        "a 500"
    );
}
