//! The demo workspace: six partners, one per platform plus a custom HTTP integration, that
//! point at a local partner-sim so every screen has live data. This module knows what the demo
//! partners are and how they are registered, re-pointed and removed; whoever runs the simulator
//! (the desktop app, the CLI) passes its URLs and the credentials it accepts as [`DemoSim`].
//!
//! Every demo partner carries the tag [`DEMO_TAG`]; the workspace setting [`DEMO_SETTING`]
//! (`1`) says the simulator should be started again with the app.

use chrono::{Duration, NaiveDate};

use crate::model::{ContractInput, HealthCheck, LifecycleAction, NewPartner, PartnerKind, Tier};
use crate::model::{Partner, PartnerFilter, PartnerUpdate};
use crate::sla::{CreditTier, Percent};
use crate::sla_terms::ContractSlaTerms;
use crate::{Credential, Error, Registry, Result};

/// The tag every demo partner carries.
pub const DEMO_TAG: &str = "demo";
/// The workspace setting that marks a demo workspace (`1`) or a removed demo (`0`).
pub const DEMO_SETTING: &str = "demo.workspace";
/// The demo partner whose platform flaps (up a minute, down a minute).
pub const FLAPPING_PARTNER: &str = "Datadog Monitoring";
/// The demo partner whose notice deadline is [`NOTICE_DUE_IN_DAYS`] days away.
pub const NOTICE_PARTNER: &str = "Snowflake Warehouse";
/// Days from the demo's start to [`NOTICE_PARTNER`]'s notice deadline: inside the 30-day
/// alert stage, so an alert is due at once.
pub const NOTICE_DUE_IN_DAYS: i64 = 25;
/// Seconds between health checks of a demo partner.
pub const DEMO_INTERVAL_SECS: u32 = 15;

/// How to reach one simulated platform.
#[derive(Debug, Clone)]
pub struct DemoAccess {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// What the simulator accepts; `None` for an open endpoint.
    pub credential: Option<Credential>,
}

/// The running simulator, one listener per platform.
#[derive(Debug, Clone)]
pub struct DemoSim {
    pub databricks: DemoAccess,
    pub snowflake: DemoAccess,
    pub mlflow: DemoAccess,
    pub kubeflow: DemoAccess,
    pub datadog: DemoAccess,
}

/// One demo partner: the partner, its credential, contract, SLA terms and custom check.
#[derive(Debug, Clone)]
pub struct DemoPartner {
    pub partner: NewPartner,
    pub credential: Option<Credential>,
    pub contract: ContractInput,
    pub sla_terms: ContractSlaTerms,
    /// A custom HTTP check (TOML), for the `http` partner.
    pub check: Option<String>,
}

/// The path the custom HTTP partner is checked on (Kubeflow's open health endpoint).
const HTTP_CHECK_PATH: &str = "/apis/v2beta1/healthz";

fn custom_check(kubeflow_url: &str) -> String {
    format!(
        "# Demo: the pipeline service's health endpoint must answer 200 with a database store.\n\
         [request]\n\
         url = \"{kubeflow_url}{HTTP_CHECK_PATH}\"\n\
         timeout_secs = 5\n\n\
         [[expect]]\n\
         status = 200\n\n\
         [[expect]]\n\
         json_path = \"$.pipeline_store\"\n\
         equals = \"database\"\n\n\
         [[expect]]\n\
         latency_ms_below = 800\n"
    )
}

fn percent(millionths: u32) -> Percent {
    Percent::from_millionths(millionths).unwrap_or(Percent::ZERO)
}

fn credits() -> Vec<CreditTier> {
    vec![
        CreditTier {
            below_percent: percent(999_000),
            credit_percent: percent(100_000),
        },
        CreditTier {
            below_percent: percent(990_000),
            credit_percent: percent(250_000),
        },
    ]
}

/// The six demo partners for a simulator, with contracts dated from `today`.
pub fn demo_partners(sim: &DemoSim, today: NaiveDate) -> Vec<DemoPartner> {
    struct Def {
        name: &'static str,
        kind: PartnerKind,
        access: DemoAccess,
        endpoint: String,
        tier: Tier,
        owner: &'static str,
        capabilities: &'static [&'static str],
        tags: &'static [&'static str],
        /// Days since the contract started and until its end.
        started_days_ago: i64,
        ends_in_days: i64,
        notice_days: u32,
        sla_target: f64,
        value: &'static str,
        currency: &'static str,
    }
    let http = DemoAccess {
        url: sim.kubeflow.url.clone(),
        credential: None,
    };
    let defs = [
        Def {
            name: "Databricks Lakehouse",
            kind: PartnerKind::Databricks,
            endpoint: sim.databricks.url.clone(),
            access: sim.databricks.clone(),
            tier: Tier::Strategic,
            owner: "Data Platform",
            capabilities: &["jobs", "sql", "dbfs", "usage"],
            tags: &["data", "eu"],
            started_days_ago: 200,
            ends_in_days: 530,
            notice_days: 90,
            sla_target: 99.9,
            value: "240000.00",
            currency: "EUR",
        },
        Def {
            name: NOTICE_PARTNER,
            kind: PartnerKind::Snowflake,
            endpoint: sim.snowflake.url.clone(),
            access: sim.snowflake.clone(),
            tier: Tier::Strategic,
            owner: "Analytics",
            capabilities: &["sql", "usage"],
            tags: &["data", "warehouse"],
            started_days_ago: 340,
            ends_in_days: NOTICE_DUE_IN_DAYS + 60,
            notice_days: 60,
            sla_target: 99.95,
            value: "180000.00",
            currency: "USD",
        },
        Def {
            name: "MLflow Tracking",
            kind: PartnerKind::Mlflow,
            endpoint: sim.mlflow.url.clone(),
            access: sim.mlflow.clone(),
            tier: Tier::Premium,
            owner: "ML Engineering",
            capabilities: &["experiments", "runs", "model-registry", "artifacts"],
            tags: &["ml"],
            started_days_ago: 120,
            ends_in_days: 245,
            notice_days: 30,
            sla_target: 99.5,
            value: "36000.00",
            currency: "EUR",
        },
        Def {
            name: "Kubeflow Pipelines",
            kind: PartnerKind::Kubeflow,
            endpoint: sim.kubeflow.url.clone(),
            access: sim.kubeflow.clone(),
            tier: Tier::Premium,
            owner: "ML Platform",
            capabilities: &["pipelines", "runs", "experiments"],
            tags: &["ml", "batch"],
            started_days_ago: 60,
            ends_in_days: 670,
            notice_days: 60,
            sla_target: 99.5,
            value: "48000.00",
            currency: "EUR",
        },
        Def {
            name: FLAPPING_PARTNER,
            kind: PartnerKind::Datadog,
            endpoint: sim.datadog.url.clone(),
            access: sim.datadog.clone(),
            tier: Tier::Standard,
            owner: "SRE",
            capabilities: &["metrics", "events", "usage"],
            tags: &["monitoring"],
            started_days_ago: 30,
            ends_in_days: 335,
            notice_days: 30,
            sla_target: 99.0,
            value: "12000.00",
            currency: "USD",
        },
        Def {
            name: "Feature Store API",
            kind: PartnerKind::Http,
            endpoint: format!("{}{HTTP_CHECK_PATH}", http.url),
            access: http,
            tier: Tier::Standard,
            owner: "Data Platform",
            capabilities: &["features", "custom-check"],
            tags: &["internal", "custom"],
            started_days_ago: 90,
            ends_in_days: 275,
            notice_days: 14,
            sla_target: 99.0,
            value: "6000.00",
            currency: "EUR",
        },
    ];
    defs.into_iter()
        .map(|d| {
            let mut partner = NewPartner::new(d.name, d.kind, d.endpoint);
            partner.tier = d.tier;
            partner.owner = Some(d.owner.to_string());
            partner.capabilities = d.capabilities.iter().map(|c| c.to_string()).collect();
            partner.tags = std::iter::once(DEMO_TAG)
                .chain(d.tags.iter().copied())
                .map(str::to_string)
                .collect();
            partner.health_check = HealthCheck {
                interval_secs: DEMO_INTERVAL_SECS,
                timeout_secs: 5,
            };
            let mut contract = ContractInput::new(
                today - Duration::days(d.started_days_ago),
                today + Duration::days(d.ends_in_days),
            );
            contract.notice_days = d.notice_days;
            contract.sla_target = d.sla_target;
            contract.value = Some(d.value.to_string());
            contract.currency = Some(d.currency.to_string());
            let sla_terms = ContractSlaTerms {
                credits: if d.tier == Tier::Strategic {
                    credits()
                } else {
                    Vec::new()
                },
                ..ContractSlaTerms::default()
            };
            let check = (d.kind == PartnerKind::Http).then(|| custom_check(&sim.kubeflow.url));
            DemoPartner {
                partner,
                credential: d.access.credential,
                contract,
                sla_terms,
                check,
            }
        })
        .collect()
}

/// Registers the demo partners (each active, with credential, contract, SLA terms and check)
/// and marks the workspace as a demo. Refused, with nothing written, when a partner of the
/// same name exists. A failure part-way removes what was registered.
pub fn register(registry: &mut Registry, sim: &DemoSim, today: NaiveDate) -> Result<Vec<String>> {
    let partners = demo_partners(sim, today);
    let taken: Vec<&str> = partners
        .iter()
        .map(|p| p.partner.name.as_str())
        .filter(|name| registry.partner(name).is_ok())
        .collect();
    if !taken.is_empty() {
        return Err(Error::Conflict(format!(
            "demo: the workspace already has partners named {}; the demo needs these names",
            taken.join(", ")
        )));
    }
    let mut added = Vec::new();
    let result = (|| {
        for demo in &partners {
            let name = demo.partner.name.clone();
            registry.add_partner(&demo.partner)?;
            added.push(name.clone());
            if let Some(credential) = &demo.credential {
                registry.set_credential(&name, credential, None)?;
            }
            if let Some(check) = &demo.check {
                registry.set_custom_check(&name, "demo.check.toml", check)?;
            }
            registry.set_contract(&name, &demo.contract)?;
            registry.set_sla_terms(&name, &demo.sla_terms)?;
            registry.change_lifecycle(&name, LifecycleAction::Activate)?;
        }
        registry.set_setting(DEMO_SETTING, "1")
    })();
    if let Err(e) = result {
        for name in added.iter().rev() {
            if let Err(undo) = registry.remove_partner(name) {
                tracing::warn!(partner = %name, error = %undo, "could not undo a demo partner");
            }
        }
        return Err(e);
    }
    Ok(added)
}

/// Whether the workspace is marked as a demo.
pub fn is_demo(registry: &Registry) -> Result<bool> {
    Ok(registry.setting(DEMO_SETTING)?.as_deref() == Some("1"))
}

/// The partners tagged [`DEMO_TAG`], by name.
pub fn registered(registry: &Registry) -> Result<Vec<Partner>> {
    registry.list_partners(&PartnerFilter {
        tags: vec![DEMO_TAG.to_string()],
        ..PartnerFilter::default()
    })
}

/// The port a registered demo partner of `kind` points at, to start the simulator there again.
pub fn registered_port(partners: &[Partner], kind: PartnerKind) -> Option<u16> {
    let partner = partners.iter().find(|p| p.kind == kind)?;
    let url = url::Url::parse(&partner.endpoint).ok()?;
    url.port()
}

/// Points the registered demo partners at `sim` where their endpoint (or custom check) names
/// another address; each change is an audited registry update. Returns the partners changed.
pub fn repoint(registry: &mut Registry, sim: &DemoSim, today: NaiveDate) -> Result<Vec<String>> {
    let wanted = demo_partners(sim, today);
    let mut changed = Vec::new();
    for current in registered(registry)? {
        let Some(demo) = wanted.iter().find(|d| d.partner.name == current.name) else {
            continue;
        };
        if current.endpoint != demo.partner.endpoint {
            registry.update_partner(
                &current.name,
                &PartnerUpdate {
                    endpoint: Some(demo.partner.endpoint.clone()),
                    ..PartnerUpdate::default()
                },
            )?;
            if let Some(check) = &demo.check {
                registry.set_custom_check(&current.name, "demo.check.toml", check)?;
            }
            changed.push(current.name);
        }
    }
    Ok(changed)
}

/// Removes every demo partner (children first) with its credential, keyring item included,
/// and marks the workspace as no longer a demo. Returns the names removed.
pub fn remove(registry: &mut Registry) -> Result<Vec<String>> {
    let mut partners = registered(registry)?;
    // Partners that depend on another demo partner go first.
    partners.sort_by_key(|p| std::cmp::Reverse(p.depends_on.is_some()));
    let mut removed = Vec::new();
    for partner in partners {
        registry.remove_partner(&partner.name)?;
        removed.push(partner.name);
    }
    if registry.setting(DEMO_SETTING)?.is_some() {
        registry.set_setting(DEMO_SETTING, "0")?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn sim() -> DemoSim {
        let access = |port: u16, credential: Option<Credential>| DemoAccess {
            url: format!("http://127.0.0.1:{port}"),
            credential,
        };
        DemoSim {
            databricks: access(
                41001,
                Some(Credential::Bearer {
                    token: Secret::new("t"),
                }),
            ),
            snowflake: access(41002, None),
            mlflow: access(41003, None),
            kubeflow: access(41004, None),
            datadog: access(41005, None),
        }
    }

    #[test]
    fn six_partners_one_per_platform_all_tagged_demo_with_varied_tiers_and_owners() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let partners = demo_partners(&sim(), today);
        let kinds: Vec<_> = partners.iter().map(|p| p.partner.kind).collect();
        assert_eq!(
            kinds,
            [
                PartnerKind::Databricks,
                PartnerKind::Snowflake,
                PartnerKind::Mlflow,
                PartnerKind::Kubeflow,
                PartnerKind::Datadog,
                PartnerKind::Http
            ]
        );
        assert!(partners
            .iter()
            .all(|p| p.partner.tags.first().map(String::as_str) == Some(DEMO_TAG)));
        let tiers: std::collections::BTreeSet<_> =
            partners.iter().map(|p| p.partner.tier.as_str()).collect();
        assert_eq!(tiers.len(), 3, "every tier is used");
        let owners: std::collections::BTreeSet<_> =
            partners.iter().map(|p| p.partner.owner.clone()).collect();
        assert!(owners.len() >= 4, "owners vary: {owners:?}");
        let notice = partners
            .iter()
            .find(|p| p.partner.name == NOTICE_PARTNER)
            .unwrap();
        let deadline =
            crate::registry::notice_deadline(notice.contract.end, notice.contract.notice_days);
        assert_eq!((deadline - today).num_days(), NOTICE_DUE_IN_DAYS);
        let http = partners.last().unwrap();
        let check = http.check.as_deref().unwrap();
        assert!(crate::custom_check::parse("demo.check.toml", check).is_ok());
        assert!(check.contains("http://127.0.0.1:41004/apis/v2beta1/healthz"));
    }
}
