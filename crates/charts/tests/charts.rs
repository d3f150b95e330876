//! Charts render with the bundled fonts: SVG text carries the labels, PNG files have drawn
//! text and the colours of the state bands, and bad input is refused with a named reason.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ecosystem_charts::*;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn usage() -> UsageChart {
    let start = day("2026-10-01");
    let series = |label: &str, scale: f64| UsageSeries {
        label: label.into(),
        points: (0..31)
            .map(|i| (start + Duration::days(i), scale * (10.0 + (i % 7) as f64)))
            .collect(),
    };
    UsageChart {
        title: "DBUs per day, October 2026".into(),
        unit: "DBU".into(),
        series: vec![
            series("Databricks Prod", 12.0),
            series("Databricks Dev", 3.0),
        ],
        size: Size::default(),
    }
}

fn health() -> HealthChart {
    let from = t("2026-11-25T00:00:00Z");
    let latency = (0..288)
        .map(|i| {
            let at = from + Duration::minutes(5 * i);
            // Down from 10:00 to 11:00: no latency there.
            let down = (120..132).contains(&i);
            (at, (!down).then_some(80.0 + (i % 12) as f64 * 4.0))
        })
        .collect();
    HealthChart {
        title: "Databricks Prod, last 24 hours".into(),
        from,
        to: from + Duration::hours(24),
        bands: vec![
            (from, t("2026-11-25T10:00:00Z"), Band::Healthy),
            (
                t("2026-11-25T10:00:00Z"),
                t("2026-11-25T11:00:00Z"),
                Band::Unhealthy,
            ),
            (
                t("2026-11-25T11:00:00Z"),
                from + Duration::hours(24),
                Band::Healthy,
            ),
        ],
        latency,
        size: Size::default(),
    }
}

#[test]
fn a_usage_svg_names_its_series_unit_and_dates() {
    let svg = usage_svg(&usage()).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    for text in [
        "DBUs per day, October 2026",
        "Databricks Prod",
        "Databricks Dev",
        "DBU",
        "2026-10-0",
    ] {
        assert!(svg.contains(text), "the SVG shows {text:?}");
    }
    for colour in ["#0072B2", "#E69F00"] {
        let lines = svg
            .match_indices("<polyline")
            .filter(|(at, _)| svg[*at..].split('>').next().unwrap().contains(colour))
            .count();
        assert_eq!(lines, 2, "a line and its legend mark in {colour}");
    }
}

#[test]
fn a_health_svg_draws_the_down_band_and_breaks_the_line_there() {
    let svg = health_svg(&health()).unwrap();
    for text in [
        "last 24 hours",
        "latency (ms)",
        "unhealthy",
        "healthy",
        "12:00",
    ] {
        assert!(svg.contains(text), "the SVG shows {text:?}");
    }
    // The line is broken at the outage: two segments, plus the legend's mark.
    let lines = svg
        .match_indices("<polyline")
        .filter(|(at, _)| svg[*at..].split('>').next().unwrap().contains("#0072B2"))
        .count();
    assert_eq!(lines, 3);
    assert!(svg.contains("#D55E00"), "the unhealthy band has its colour");
}

#[test]
fn pngs_are_drawn_with_the_bundled_fonts() {
    let dir = tempfile::tempdir().unwrap();
    let usage_path = dir.path().join("usage.png");
    usage_png(&usage(), &usage_path).unwrap();
    let health_path = dir.path().join("health.png");
    health_png(&health(), &health_path).unwrap();
    for path in [&usage_path, &health_path] {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", path.display());
        assert!(
            bytes.len() > 5_000,
            "{} has content: {} bytes",
            path.display(),
            bytes.len()
        );
    }
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    let mut empty = usage();
    empty.series.clear();
    assert!(matches!(usage_svg(&empty), Err(ChartError::Empty(_))));

    let mut nan = usage();
    nan.series[0].points[3].1 = f64::NAN;
    let err = usage_svg(&nan).unwrap_err().to_string();
    assert!(err.starts_with("value:"), "{err}");

    let mut tiny = usage();
    tiny.size = Size {
        width: 10,
        height: 10,
    };
    assert!(usage_svg(&tiny)
        .unwrap_err()
        .to_string()
        .starts_with("size:"));

    let mut backwards = health();
    backwards.to = backwards.from;
    assert!(health_svg(&backwards)
        .unwrap_err()
        .to_string()
        .starts_with("to:"));
}

#[test]
fn a_hostile_label_stays_text_in_the_svg() {
    let mut chart = usage();
    chart.series[0].label = "<script>alert(1)</script> & \"x\"".into();
    let svg = usage_svg(&chart).unwrap();
    assert!(!svg.contains("<script>"), "markup in a label is escaped");
    assert!(svg.contains("&lt;script&gt;"));
}

#[test]
fn axis_numbers_are_round_and_plain() {
    assert_eq!(nice_ceiling(0.0), 1.0);
    assert_eq!(nice_ceiling(7.3), 10.0);
    assert_eq!(nice_ceiling(120.0), 200.0);
    assert_eq!(nice_ceiling(4_999.0), 5_000.0);
    assert_eq!(plain_number(0.0), "0");
    assert_eq!(plain_number(12.5), "12.50");
    assert_eq!(plain_number(250.0), "250");
    assert_eq!(plain_number(25_000.0), "25k");
    assert_eq!(plain_number(3_000_000.0), "3M");
}
