//! A contract's SLA terms as they are stored beside it (migration 5): the window, the time
//! zone, the accounting rules, the credit tiers and the fee per window, which is either set
//! or derived from the contract value. [`ContractSlaTerms::resolve`] joins them with the
//! contract (its `sla_target`, value and currency) into the [`SlaTerms`] that
//! [`crate::sla::SlaReport`] computes with. docs/SLA.md describes the fields and defaults.
//!
//! The word parsers here accept both spellings used by Ecosystem's surfaces: the stored and
//! JSON words (`as_up`, `calendar_month`) and the command line's (`as-up`, `month`).

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::ContractInput;
use crate::money;
use crate::sla::{
    AccountingRules, CreditTier, DegradedRule, PausedRule, Percent, SlaTerms, SlaWindow, TimeRule,
};

/// ISO 4217's code for "no currency": the currency of the terms of a contract without a value.
pub const NO_CURRENCY: &str = "XXX";

/// Average days in a month of the Gregorian calendar (365.2425 / 12), in ten-thousandths of a
/// day, used to count the windows in a contract's term.
const DAYS_PER_YEAR_E4: i128 = 3_652_425;

/// The SLA terms stored with a contract; what `sla_target`, the value and the currency of the
/// contract do not already say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct ContractSlaTerms {
    pub window: SlaWindow,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub time_zone: Tz,
    pub rules: AccountingRules,
    pub credits: Vec<CreditTier>,
    /// The fee per window in minor units of the contract's currency; `None` derives it from
    /// the contract value (see [`derived_window_fee`]).
    #[cfg_attr(feature = "specta", specta(type = Option<i32>))]
    pub fee_minor: Option<i64>,
}

impl Default for ContractSlaTerms {
    /// Calendar month in UTC; maintenance excluded, degraded as up, unknown excluded, paused
    /// excluded; no credit tiers; fee derived from the contract value.
    fn default() -> Self {
        ContractSlaTerms {
            window: SlaWindow::CalendarMonth,
            time_zone: Tz::UTC,
            rules: AccountingRules {
                maintenance: TimeRule::Excluded,
                degraded: DegradedRule::AsUp,
                unknown: TimeRule::Excluded,
                paused: PausedRule::Excluded,
            },
            credits: Vec::new(),
            fee_minor: None,
        }
    }
}

impl ContractSlaTerms {
    /// The full terms for `contract`: its target (rounded to 4 decimals), these rules, and the
    /// fee (set, or derived from the value) in its currency. Validated with
    /// [`SlaTerms::validate`]; an explicit fee on a contract without a currency is refused.
    pub fn resolve(&self, contract: &ContractInput) -> Result<SlaTerms> {
        let value_minor = contract
            .value
            .as_deref()
            .map(|v| money::parse_amount("value", v))
            .transpose()?;
        let currency = contract
            .currency
            .as_deref()
            .map(|c| money::parse_currency("currency", c))
            .transpose()?;
        if let Some(fee) = self.fee_minor.filter(|fee| *fee < 0) {
            return Err(Error::invalid(
                "fee",
                format!(
                    "{} is negative; a fee is 0 or more",
                    money::format_amount(fee)
                ),
            ));
        }
        let window_fee_minor = match (self.fee_minor, value_minor) {
            (Some(fee), _) if currency.is_none() && fee > 0 => {
                return Err(Error::invalid(
                    "fee",
                    "the contract has no value and currency; set them first \
                     (`ecosystem contract set ... --value AMOUNT --currency CODE`)",
                ))
            }
            (Some(fee), _) => fee,
            (None, Some(value)) => {
                derived_window_fee(value, contract.start, contract.end, self.window)
            }
            (None, None) => 0,
        };
        let terms = SlaTerms {
            target_percent: target_percent(contract.sla_target)?,
            window: self.window,
            time_zone: self.time_zone,
            rules: self.rules,
            credits: self.credits.clone(),
            window_fee_minor,
            currency: currency.unwrap_or_else(|| NO_CURRENCY.to_string()),
        };
        terms.validate()?;
        Ok(terms)
    }
}

/// The contract's `sla_target` as an exact [`Percent`], rounded to 4 decimals.
pub fn target_percent(sla_target: f64) -> Result<Percent> {
    let scaled = (sla_target * 10_000.0).round();
    if !(sla_target.is_finite() && (0.0..=1_000_000.0).contains(&scaled)) {
        return Err(Error::invalid(
            "sla_target",
            format!("{sla_target} is not a percentage from 0 to 100"),
        ));
    }
    // In range and integral, so the cast is exact.
    Percent::from_millionths(scaled as u32).ok_or_else(|| {
        Error::invalid(
            "sla_target",
            format!("{sla_target} is not a percentage from 0 to 100"),
        )
    })
}

/// How many windows of kind `window` the term from `start` to `end` spans: its length in days
/// over the average month (30.436875 days) or quarter (91.310625 days), rounded half up, at
/// least 1. A year's contract (2026-01-01 to 2027-01-01, or to 2026-12-31) is 12 months or
/// 4 quarters.
pub fn windows_in_term(start: NaiveDate, end: NaiveDate, window: SlaWindow) -> i64 {
    let days = i128::from((end - start).num_days().max(0));
    let per_year: i128 = match window {
        SlaWindow::CalendarMonth => 12,
        SlaWindow::CalendarQuarter => 4,
    };
    // round(days × per_year / 365.2425), half up, in integers.
    let windows = (2 * days * per_year * 10_000 + DAYS_PER_YEAR_E4) / (2 * DAYS_PER_YEAR_E4);
    i64::try_from(windows.max(1)).unwrap_or(i64::MAX)
}

/// The fee of one window derived from the contract value: the value spread evenly over the
/// windows of the term ([`windows_in_term`]), rounded half up to the minor unit.
pub fn derived_window_fee(
    value_minor: i64,
    start: NaiveDate,
    end: NaiveDate,
    window: SlaWindow,
) -> i64 {
    let windows = i128::from(windows_in_term(start, end, window));
    let fee = (2 * i128::from(value_minor.max(0)) + windows) / (2 * windows);
    i64::try_from(fee).unwrap_or(i64::MAX)
}

/// Normalises a word: lower case, `-` as `_`.
fn word(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace('-', "_")
}

fn not_one_of(field: &str, text: &str, choices: &str) -> Error {
    Error::invalid(field, format!("{text:?} is not one of {choices}"))
}

/// `calendar_month` (or `month`) or `calendar_quarter` (or `quarter`).
pub fn parse_window(field: &str, text: &str) -> Result<SlaWindow> {
    match word(text).as_str() {
        "calendar_month" | "month" => Ok(SlaWindow::CalendarMonth),
        "calendar_quarter" | "quarter" => Ok(SlaWindow::CalendarQuarter),
        _ => Err(not_one_of(field, text, "calendar_month, calendar_quarter")),
    }
}

/// `excluded`, `as_up` or `as_down` (for maintenance and unknown time).
pub fn parse_time_rule(field: &str, text: &str) -> Result<TimeRule> {
    match word(text).as_str() {
        "excluded" => Ok(TimeRule::Excluded),
        "as_up" => Ok(TimeRule::AsUp),
        "as_down" => Ok(TimeRule::AsDown),
        _ => Err(not_one_of(field, text, "excluded, as_up, as_down")),
    }
}

/// `as_up` or `as_down` (for degraded time, which is never excluded).
pub fn parse_degraded_rule(field: &str, text: &str) -> Result<DegradedRule> {
    match word(text).as_str() {
        "as_up" => Ok(DegradedRule::AsUp),
        "as_down" => Ok(DegradedRule::AsDown),
        _ => Err(not_one_of(field, text, "as_up, as_down")),
    }
}

/// `excluded` or `like_maintenance` (for paused time).
pub fn parse_paused_rule(field: &str, text: &str) -> Result<PausedRule> {
    match word(text).as_str() {
        "excluded" => Ok(PausedRule::Excluded),
        "like_maintenance" => Ok(PausedRule::LikeMaintenance),
        _ => Err(not_one_of(field, text, "excluded, like_maintenance")),
    }
}

/// The stored word of a rule.
pub fn time_rule_word(rule: TimeRule) -> &'static str {
    match rule {
        TimeRule::Excluded => "excluded",
        TimeRule::AsUp => "as_up",
        TimeRule::AsDown => "as_down",
    }
}

pub fn degraded_rule_word(rule: DegradedRule) -> &'static str {
    match rule {
        DegradedRule::AsUp => "as_up",
        DegradedRule::AsDown => "as_down",
    }
}

pub fn paused_rule_word(rule: PausedRule) -> &'static str {
    match rule {
        PausedRule::Excluded => "excluded",
        PausedRule::LikeMaintenance => "like_maintenance",
    }
}

/// A credit tier from `BELOW:CREDIT` ("99.9:10"), naming `field` when it is not one.
pub fn parse_credit(field: &str, text: &str) -> Result<CreditTier> {
    let Some((below, credit)) = text.split_once(':') else {
        return Err(Error::invalid(
            field,
            format!("{text:?} is not a tier; write BELOW:CREDIT in percent, such as 99.9:10"),
        ));
    };
    let tier = CreditTier {
        below_percent: Percent::parse_field(field, below.trim())?,
        credit_percent: Percent::parse_field(field, credit.trim())?,
    };
    check_credit(field, &tier)?;
    Ok(tier)
}

/// Refuses a tier that can never apply (below 0 %).
pub fn check_credit(field: &str, tier: &CreditTier) -> Result<()> {
    if tier.below_percent == Percent::ZERO {
        return Err(Error::invalid(
            field,
            "a tier below 0 % can never apply; use a threshold above 0",
        ));
    }
    Ok(())
}
