//! The registry's vocabulary: partners, their kinds, tiers and lifecycle, contracts, the audit
//! log, and the filters used to find partners. These are the types the CLI prints as JSON and
//! the desktop app receives over IPC.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Declares a closed set of lower-case words with parsing that names every accepted value.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Parses the word, or explains which words are accepted for `field`.
            pub fn parse_field(field: &str, text: &str) -> Result<Self> {
                match text {
                    $($word => Ok($name::$variant),)+
                    _ => Err(Error::invalid(
                        field,
                        format!(
                            "unknown {} {:?}; expected one of: {}",
                            $what,
                            text,
                            [$($word),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse_field($what, s)
            }
        }
    };
}

word_enum!(
    /// The platform a partner runs; it picks the connector.
    PartnerKind, "kind", {
        Databricks => "databricks",
        Snowflake => "snowflake",
        Mlflow => "mlflow",
        Kubeflow => "kubeflow",
        Datadog => "datadog",
        Http => "http",
    }
);

word_enum!(
    /// How much the partner matters to the organisation.
    Tier, "tier", {
        Strategic => "strategic",
        Premium => "premium",
        Standard => "standard",
    }
);

word_enum!(
    /// Where a partner is in its relationship with the organisation.
    Lifecycle, "lifecycle", {
        Onboarding => "onboarding",
        Active => "active",
        Suspended => "suspended",
        Offboarded => "offboarded",
    }
);

word_enum!(
    /// A step that moves a partner between lifecycle states.
    LifecycleAction, "lifecycle action", {
        Onboard => "onboard",
        Activate => "activate",
        Suspend => "suspend",
        Offboard => "offboard",
    }
);

impl LifecycleAction {
    /// The state this step leads to, if it is allowed from `from`.
    ///
    /// onboarding → active | offboarded; active → suspended | offboarded;
    /// suspended → active | offboarded; offboarded → onboarding (a partner coming back
    /// starts over).
    pub fn apply(self, from: Lifecycle) -> Result<Lifecycle> {
        use Lifecycle::*;
        use LifecycleAction::*;
        let to = match (self, from) {
            (Activate, Onboarding | Suspended) => Active,
            (Suspend, Active) => Suspended,
            (Offboard, Onboarding | Active | Suspended) => Offboarded,
            (Onboard, Offboarded) => Onboarding,
            _ => {
                return Err(Error::Conflict(format!(
                    "lifecycle: cannot {self} a partner that is {from}; from {from} the allowed steps are: {}",
                    LifecycleAction::ALL
                        .iter()
                        .filter(|a| a.allowed_from(from))
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        Ok(to)
    }

    fn allowed_from(self, from: Lifecycle) -> bool {
        use Lifecycle::*;
        use LifecycleAction::*;
        matches!(
            (self, from),
            (Activate, Onboarding | Suspended)
                | (Suspend, Active)
                | (Offboard, Onboarding | Active | Suspended)
                | (Onboard, Offboarded)
        )
    }
}

/// How often and how patiently a partner's health is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthCheck {
    pub interval_secs: u32,
    pub timeout_secs: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            interval_secs: 60,
            timeout_secs: 10,
        }
    }
}

/// A partner as stored in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Partner {
    pub id: u32,
    pub name: String,
    pub kind: PartnerKind,
    pub endpoint: String,
    pub tier: Tier,
    pub owner: Option<String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<String>,
    pub lifecycle: Lifecycle,
    /// The name of the partner this one depends on.
    pub depends_on: Option<String>,
    pub health_check: HealthCheck,
    pub created_at: String,
    pub updated_at: String,
}

/// What it takes to register a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewPartner {
    pub name: String,
    pub kind: PartnerKind,
    pub endpoint: String,
    pub tier: Tier,
    pub owner: Option<String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<String>,
    pub depends_on: Option<String>,
    pub health_check: HealthCheck,
}

impl NewPartner {
    /// A partner with the defaults: standard tier, no owner, checked every 60 s.
    pub fn new(name: impl Into<String>, kind: PartnerKind, endpoint: impl Into<String>) -> Self {
        NewPartner {
            name: name.into(),
            kind,
            endpoint: endpoint.into(),
            tier: Tier::Standard,
            owner: None,
            capabilities: Vec::new(),
            tags: Vec::new(),
            depends_on: None,
            health_check: HealthCheck::default(),
        }
    }
}

/// A change to a partner; `None` leaves a field as it is. Serialised (into the audit log) with
/// only the fields that change, so `"owner": null` there means the owner was cleared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<PartnerKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// `Some(None)` clears the owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// `Some(None)` removes the dependency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
}

impl PartnerUpdate {
    pub fn is_empty(&self) -> bool {
        *self == PartnerUpdate::default()
    }
}

/// Criteria for finding partners; every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerFilter {
    pub kind: Option<PartnerKind>,
    pub tier: Option<Tier>,
    pub lifecycle: Option<Lifecycle>,
    pub owner: Option<String>,
    /// Partners that have every one of these capabilities.
    pub capabilities: Vec<String>,
    /// Partners that carry every one of these tags.
    pub tags: Vec<String>,
    /// Free text over name, owner, endpoint, capabilities and tags (word prefixes).
    pub text: Option<String>,
}

/// The distinct values present in the registry, for filter menus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Facets {
    pub capabilities: Vec<String>,
    pub tags: Vec<String>,
    pub owners: Vec<String>,
}

/// A partner's contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Contract {
    pub partner: String,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: NaiveDate,
    pub notice_days: u32,
    pub auto_renew: bool,
    /// The availability the partner promises, in percent (for example 99.9).
    pub sla_target: f64,
    /// The contract value as a plain decimal ("120000.00").
    pub value: Option<String>,
    pub currency: Option<String>,
    /// The last day on which notice can be given: end minus notice days.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub notice_deadline: NaiveDate,
}

/// What `contract set` takes; amounts are text so they are never rounded through a float.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContractInput {
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub start: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: NaiveDate,
    pub notice_days: u32,
    pub auto_renew: bool,
    pub sla_target: f64,
    pub value: Option<String>,
    pub currency: Option<String>,
}

impl ContractInput {
    pub const DEFAULT_NOTICE_DAYS: u32 = 30;
    pub const DEFAULT_SLA_TARGET: f64 = 99.9;

    pub fn new(start: NaiveDate, end: NaiveDate) -> Self {
        ContractInput {
            start,
            end,
            notice_days: Self::DEFAULT_NOTICE_DAYS,
            auto_renew: false,
            sla_target: Self::DEFAULT_SLA_TARGET,
            value: None,
            currency: None,
        }
    }
}

/// A contract whose end or notice deadline is near.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExpiringContract {
    pub partner: String,
    pub tier: Tier,
    pub owner: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub end: NaiveDate,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub notice_deadline: NaiveDate,
    /// Days from today until the contract ends.
    pub days_left: i64,
    /// Days from today until the notice deadline; negative once it has passed.
    pub days_to_notice_deadline: i64,
    pub auto_renew: bool,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditEntry {
    pub id: u32,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub subject: String,
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sensible_lifecycle_steps_are_allowed() {
        use Lifecycle::*;
        use LifecycleAction::*;
        let allowed = [
            (Activate, Onboarding, Active),
            (Offboard, Onboarding, Offboarded),
            (Suspend, Active, Suspended),
            (Offboard, Active, Offboarded),
            (Activate, Suspended, Active),
            (Offboard, Suspended, Offboarded),
            (Onboard, Offboarded, Onboarding),
        ];
        for action in LifecycleAction::ALL {
            for from in Lifecycle::ALL {
                let expected = allowed
                    .iter()
                    .find(|(a, f, _)| a == action && f == from)
                    .map(|(_, _, to)| *to);
                match (action.apply(*from), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{action} from {from}"),
                    (Err(e), None) => assert!(
                        e.to_string()
                            .contains(&format!("cannot {action} a partner that is {from}")),
                        "message for {action} from {from}: {e}"
                    ),
                    (got, want) => panic!("{action} from {from}: got {got:?}, expected {want:?}"),
                }
            }
        }
    }

    #[test]
    fn unknown_words_name_the_accepted_values() {
        let err = PartnerKind::parse_field("kind", "oracle").unwrap_err();
        assert_eq!(err.field(), Some("kind"));
        assert!(
            err.to_string()
                .contains("databricks, snowflake, mlflow, kubeflow, datadog, http"),
            "{err}"
        );
        assert_eq!("premium".parse::<Tier>().unwrap(), Tier::Premium);
        assert!(
            "Premium".parse::<Tier>().is_err(),
            "words are exact and lower-case"
        );
    }
}
