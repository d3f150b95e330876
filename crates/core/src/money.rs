//! Contract values are money: kept as integer minor units (cents), never as floats, and
//! written back as a plain decimal with two places.

use crate::error::{Error, Result};

/// Parses "120000", "120000.5" or "120000.50" into minor units (12000050).
pub fn parse_amount(field: &str, text: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(
            field,
            format!("{text:?} is not an amount; write a plain number such as 120000 or 120000.50"),
        )
    };
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (text.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(|| Error::invalid(field, format!("{text} is too large")))
}

/// Formats minor units as "120000.50".
pub fn format_amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

/// An ISO 4217 code: three ASCII letters, stored upper-case.
pub fn parse_currency(field: &str, text: &str) -> Result<String> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(Error::invalid(
            field,
            format!("{text:?} is not a currency code; use three letters such as USD or EUR"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_through_minor_units() {
        assert_eq!(parse_amount("value", "120000").unwrap(), 12_000_000);
        assert_eq!(parse_amount("value", "120000.5").unwrap(), 12_000_050);
        assert_eq!(parse_amount("value", "0.07").unwrap(), 7);
        assert_eq!(format_amount(12_000_050), "120000.50");
        assert_eq!(format_amount(7), "0.07");
    }

    #[test]
    fn malformed_amounts_are_rejected_with_the_field_named() {
        for bad in [
            "",
            "-5",
            "1.234",
            "1e5",
            "12,000",
            "abc",
            "1.",
            ".5",
            "99999999999999999999",
        ] {
            let err = parse_amount("value", bad).expect_err(bad);
            assert_eq!(err.field(), Some("value"), "{bad}: {err}");
        }
    }

    #[test]
    fn currency_codes_are_three_letters() {
        assert_eq!(parse_currency("currency", "eur").unwrap(), "EUR");
        assert!(parse_currency("currency", "EURO").is_err());
        assert!(parse_currency("currency", "€").is_err());
    }
}
