//! The workspace settings as the app's Settings page shows them: every setting of
//! [`crate::workspace::SETTINGS`] with its meaning, what it accepts, its stored value and the
//! default the code uses when none is stored. Changes go through `Registry::set_setting`,
//! which validates the value (`workspace::validate_setting`, the error naming the setting) and
//! writes the audit row in the same transaction.

use serde::Serialize;

use crate::error::Result;
use crate::registry::Registry;
use crate::workspace::{SettingKind, SETTINGS};

/// What a setting accepts, for the input that edits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettingInput {
    /// A whole number in `min..=max`.
    Number { min: u32, max: u32 },
    /// `0` (off) or `1` (on).
    Flag,
    /// `HH:MM-HH:MM` or `off`.
    DailyPeriod,
    /// An IANA time zone name.
    TimeZone,
    /// Days before a notice deadline, strictly decreasing: `120,90,60,30,7`.
    AlertStages,
}

impl From<SettingKind> for SettingInput {
    fn from(kind: SettingKind) -> Self {
        match kind {
            SettingKind::Number { min, max } => SettingInput::Number { min, max },
            SettingKind::Flag => SettingInput::Flag,
            SettingKind::DailyPeriod => SettingInput::DailyPeriod,
            SettingKind::TimeZone => SettingInput::TimeZone,
            SettingKind::AlertStages => SettingInput::AlertStages,
        }
    }
}

/// One setting on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SettingView {
    pub key: String,
    pub meaning: String,
    pub input: SettingInput,
    /// The stored value; `None` when the default applies.
    pub value: Option<String>,
    /// What the code uses when nothing is stored.
    pub default: Option<String>,
}

/// The value the code uses for `key` when the workspace stores none, taken from the
/// constants the code itself uses.
pub fn default_value(key: &str) -> Option<String> {
    if let Some(n) = crate::health_state::default_threshold(key) {
        return Some(n.to_string());
    }
    let check = crate::model::HealthCheck::default();
    Some(match key {
        "health.default_interval_secs" => check.interval_secs.to_string(),
        "health.default_timeout_secs" => check.timeout_secs.to_string(),
        "health.poll_in_app" => "1".into(),
        "contracts.default_notice_days" => crate::ContractInput::DEFAULT_NOTICE_DAYS.to_string(),
        "contracts.alert_stages" => crate::contract_alerts::DEFAULT_STAGES
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
        "notifications.resend_minutes" => "0".into(),
        "notifications.dependency_grace_secs" => crate::notify::DEFAULT_DEPENDENCY_GRACE
            .as_secs()
            .to_string(),
        "notifications.degraded" | "demo.workspace" => "0".into(),
        "notifications.quiet_hours" => "off".into(),
        "notifications.time_zone" => "UTC".into(),
        "history.raw_days" => crate::health_store::Retention::default()
            .raw_sample_days
            .to_string(),
        "history.hour_rollup_days" => crate::health_store::Retention::default()
            .hour_rollup_days
            .to_string(),
        _ => return None,
    })
}

/// Every setting a workspace may carry, in the order of [`SETTINGS`].
pub fn list(registry: &Registry) -> Result<Vec<SettingView>> {
    let stored: std::collections::HashMap<String, String> =
        registry.settings()?.into_iter().collect();
    Ok(SETTINGS
        .iter()
        .map(|spec| SettingView {
            key: spec.key.to_string(),
            meaning: spec.meaning.to_string(),
            input: spec.kind.into(),
            value: stored.get(spec.key).cloned(),
            default: default_value(spec.key),
        })
        .collect())
}

/// Validates and stores `value` for `key` (audited as `setting.set`); returns the setting as
/// it now stands. Surrounding spaces are dropped; a refused value leaves the stored one.
pub fn update(registry: &mut Registry, key: &str, value: &str) -> Result<SettingView> {
    registry.set_setting(key, value.trim())?;
    list(registry)?
        .into_iter()
        .find(|s| s.key == key)
        .ok_or_else(|| crate::Error::invalid(key, "is not a setting"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Error, FixedClock, Store};

    fn registry(dir: &tempfile::TempDir) -> Registry {
        Registry::new(
            Store::open(dir.path().join("ecosystem.db")).unwrap(),
            "tester",
            Arc::new(FixedClock("2026-11-26T12:00:00Z".parse().unwrap())),
        )
    }

    #[test]
    fn every_setting_is_listed_with_its_input_and_a_default_the_code_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(&dir);
        let listed = list(&registry).unwrap();
        assert_eq!(listed.len(), SETTINGS.len());
        for setting in &listed {
            assert_eq!(setting.value, None, "{}: nothing stored yet", setting.key);
            let default = setting
                .default
                .as_deref()
                .unwrap_or_else(|| panic!("{} has no default", setting.key));
            crate::workspace::validate_setting(&setting.key, default)
                .unwrap_or_else(|e| panic!("{}'s default {default:?}: {e}", setting.key));
        }
        let interval = listed
            .iter()
            .find(|s| s.key == "health.default_interval_secs")
            .unwrap();
        assert_eq!(
            interval.input,
            SettingInput::Number {
                min: 5,
                max: 86_400
            }
        );
        assert_eq!(interval.default.as_deref(), Some("60"));
        let stages = listed
            .iter()
            .find(|s| s.key == "contracts.alert_stages")
            .unwrap();
        assert_eq!(stages.default.as_deref(), Some("120,90,60,30,7"));
    }

    #[test]
    fn a_change_is_validated_stored_and_audited_and_a_refusal_names_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = registry(&dir);
        let changed = update(&mut registry, "notifications.quiet_hours", " 22:00-07:00 ").unwrap();
        assert_eq!(changed.value.as_deref(), Some("22:00-07:00"));
        let audit = registry
            .audit_log(Some("notifications.quiet_hours"), 10)
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "setting.set");
        assert_eq!(audit[0].actor, "tester");
        assert_eq!(
            audit[0].detail.as_deref(),
            Some(r#"{"value":"22:00-07:00"}"#)
        );

        let refused = update(&mut registry, "health.default_interval_secs", "2").unwrap_err();
        assert!(matches!(refused, Error::Invalid { .. }), "{refused:?}");
        assert!(
            refused.to_string().contains("health.default_interval_secs"),
            "{refused}"
        );
        let unknown = update(&mut registry, "no.such.setting", "1").unwrap_err();
        assert!(unknown.to_string().contains("no.such.setting"), "{unknown}");
        // Nothing stored for the refused values, and no audit row for them.
        assert_eq!(
            registry.setting("health.default_interval_secs").unwrap(),
            None
        );
        assert_eq!(registry.audit_log(None, 10).unwrap().len(), 1);
    }
}
