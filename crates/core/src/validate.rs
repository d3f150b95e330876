//! Field rules shared by every way into the registry (CLI, desktop form, workspace import).
//! Text is stored exactly as typed: quotes, unicode, SQL metacharacters and a leading `=` are
//! all fine. What is refused is what cannot be shown or used safely: empty text, control
//! characters, surrounding whitespace, and absurd lengths.

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::model::HealthCheck;

pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_LABEL_CHARS: usize = 64;
pub const MAX_LABELS: usize = 64;
pub const MAX_ENDPOINT_CHARS: usize = 2048;
pub const INTERVAL_SECS: std::ops::RangeInclusive<u32> = 5..=86_400;
pub const TIMEOUT_SECS: std::ops::RangeInclusive<u32> = 1..=300;

/// The years a typed date may fall in: far enough for any contract or report, and short of
/// the calendar's limits, so date arithmetic on what is stored never overflows.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A calendar date as a person types it, `YYYY-MM-DD` (surrounding spaces ignored), in
/// [`DATE_YEARS`].
pub fn date(field: &str, text: &str) -> Result<NaiveDate> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            field,
            format!("{text:?} is not a valid date; write YYYY-MM-DD"),
        )
    })?;
    if !DATE_YEARS.contains(&chrono::Datelike::year(&day)) {
        return Err(Error::invalid(
            field,
            format!(
                "{text:?} is out of range; give a year from {} to {}",
                DATE_YEARS.start(),
                DATE_YEARS.end()
            ),
        ));
    }
    Ok(day)
}

/// Reads a [`date`] in serde (`#[serde(deserialize_with = ...)]`), so a bad one arriving as
/// JSON is refused with the same words as a typed one.
pub fn deserialize_date<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<NaiveDate, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    date("date", &text).map_err(|e| {
        serde::de::Error::custom(match e {
            Error::Invalid { message, .. } => message,
            other => other.to_string(),
        })
    })
}

/// A free-text value such as a partner name or an owner.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.trim() != value {
        return Err(Error::invalid(
            field,
            "must not start or end with whitespace",
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    let n = value.chars().count();
    if n > max_chars {
        return Err(Error::invalid(
            field,
            format!("is {n} characters long; at most {max_chars} are allowed"),
        ));
    }
    Ok(())
}

pub fn name(field: &str, value: &str) -> Result<()> {
    text(field, value, MAX_NAME_CHARS)
}

/// Capabilities and tags: short labels, no duplicates.
pub fn labels(field: &str, values: &[String]) -> Result<()> {
    if values.len() > MAX_LABELS {
        return Err(Error::invalid(
            field,
            format!(
                "has {} entries; at most {MAX_LABELS} are allowed",
                values.len()
            ),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        text(field, v, MAX_LABEL_CHARS)?;
        if values[..i].contains(v) {
            return Err(Error::invalid(field, format!("{v:?} is listed twice")));
        }
    }
    Ok(())
}

/// An http(s) URL with a host.
pub fn endpoint(field: &str, value: &str) -> Result<()> {
    if value.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(Error::invalid(field, "is longer than 2048 characters"));
    }
    let url = url::Url::parse(value)
        .map_err(|e| Error::invalid(field, format!("{value:?} is not a valid URL ({e})")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::invalid(
            field,
            format!(
                "{value:?} uses {}:, only http and https URLs are allowed",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, format!("{value:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            field,
            "must not carry a user name or password; store credentials in the keyring",
        ));
    }
    Ok(())
}

pub fn health_check(check: &HealthCheck) -> Result<()> {
    if !INTERVAL_SECS.contains(&check.interval_secs) {
        return Err(Error::invalid(
            "interval",
            format!(
                "{} s is out of range; use {} to {} seconds",
                check.interval_secs,
                INTERVAL_SECS.start(),
                INTERVAL_SECS.end()
            ),
        ));
    }
    if !TIMEOUT_SECS.contains(&check.timeout_secs) {
        return Err(Error::invalid(
            "timeout",
            format!(
                "{} s is out of range; use {} to {} seconds",
                check.timeout_secs,
                TIMEOUT_SECS.start(),
                TIMEOUT_SECS.end()
            ),
        ));
    }
    if check.timeout_secs > check.interval_secs {
        return Err(Error::invalid(
            "timeout",
            format!(
                "{} s is longer than the check interval of {} s",
                check.timeout_secs, check.interval_secs
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_but_printable_names_are_accepted() {
        for ok in [
            "O'Brien \"Data\"",
            "Données ☃ 東京",
            "x'); DROP TABLE partners;--",
            "=SUM(A1:A9)",
            "50% off_%",
        ] {
            name("name", ok).unwrap_or_else(|e| panic!("{ok:?} refused: {e}"));
        }
    }

    #[test]
    fn empty_padded_or_control_text_is_refused() {
        for bad in ["", "   ", " lead", "trail ", "bell\u{7}", "new\nline"] {
            assert!(name("name", bad).is_err(), "{bad:?} accepted");
        }
        assert!(name("name", &"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn only_http_urls_with_a_host_are_endpoints() {
        endpoint("endpoint", "https://dbc-1234.cloud.databricks.com").unwrap();
        endpoint("endpoint", "http://127.0.0.1:5000/api").unwrap();
        for bad in [
            "ftp://x.example",
            "not a url",
            "https://",
            "file:///etc/passwd",
            "https://user:pw@x.example",
            "javascript:alert(1)",
        ] {
            let err = endpoint("endpoint", bad).expect_err(bad);
            assert_eq!(err.field(), Some("endpoint"));
        }
    }

    #[test]
    fn timeout_must_fit_inside_the_interval() {
        health_check(&HealthCheck {
            interval_secs: 60,
            timeout_secs: 10,
        })
        .unwrap();
        assert_eq!(
            health_check(&HealthCheck {
                interval_secs: 10,
                timeout_secs: 20
            })
            .unwrap_err()
            .field(),
            Some("timeout")
        );
        assert_eq!(
            health_check(&HealthCheck {
                interval_secs: 1,
                timeout_secs: 1
            })
            .unwrap_err()
            .field(),
            Some("interval")
        );
    }

    #[test]
    fn dates_are_calendar_days_within_the_years_allowed() {
        assert_eq!(
            date("until", " 2026-02-28 ").unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "tomorrow",
            "../../etc/passwd",
            "",
        ] {
            let e = date("until", bad).unwrap_err();
            assert_eq!(e.field(), Some("until"));
            assert!(e.to_string().contains("not a valid date"), "{e}");
        }
        for far in ["1899-12-31", "0001-01-01", "0000-06-15"] {
            let e = date("until", far).unwrap_err();
            assert!(
                e.to_string().contains("year from 1900 to 9999"),
                "{far}: {e}"
            );
        }
        date("until", "9999-12-31").unwrap();
        for giant in ["99999-01-01", "+262143-12-31", "-0001-01-01"] {
            assert_eq!(date("until", giant).unwrap_err().field(), Some("until"));
        }
        let read: std::result::Result<NaiveDate, _> = deserialize_date(
            serde::de::value::StrDeserializer::<serde::de::value::Error>::new("2026-13-01"),
        );
        let message = read.unwrap_err().to_string();
        assert!(
            message.contains("\"2026-13-01\" is not a valid date"),
            "{message}"
        );
    }

    #[test]
    fn labels_must_be_distinct() {
        labels("tag", &["a".into(), "b".into()]).unwrap();
        assert!(labels("tag", &["a".into(), "a".into()]).is_err());
    }
}
