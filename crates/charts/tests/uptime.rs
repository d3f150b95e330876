//! The uptime-by-month chart: a bar per month against the target line, green when met and
//! orange when missed, no bar for a month without data, and bad figures refused by name.

use ecosystem_charts::*;

fn chart(months: Vec<(&str, Option<f64>)>, target: f64) -> UptimeChart {
    UptimeChart {
        title: "Uptime by month".into(),
        months: months
            .into_iter()
            .map(|(label, value)| (label.to_string(), value))
            .collect(),
        target,
        size: Size {
            width: 480,
            height: 260,
        },
    }
}

#[test]
fn bars_are_coloured_by_the_target_and_labelled_by_month() {
    let svg = uptime_svg(&chart(
        vec![
            ("July 2026", Some(100.0)),
            ("August 2026", Some(99.8656)),
            ("September 2026", None),
        ],
        99.9,
    ))
    .unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "an SVG document"
    );
    for label in [
        "July 2026",
        "August 2026",
        "September 2026",
        "target 99.9 %",
        "uptime (%)",
    ] {
        assert!(svg.contains(label), "{label} is written: {svg}");
    }
    // One met bar (green), one missed (orange), none for the month without data.
    assert_eq!(svg.matches("fill=\"#009E73\"").count(), 1, "{svg}");
    assert_eq!(svg.matches("fill=\"#D55E00\"").count(), 1, "{svg}");
}

#[test]
fn the_axis_starts_low_enough_to_show_the_target_and_every_bar() {
    assert_eq!(uptime_floor(99.9), 99.0);
    assert_eq!(uptime_floor(100.0), 99.0);
    assert_eq!(uptime_floor(95.0), 92.0);
    assert_eq!(uptime_floor(0.0), 0.0);
}

#[test]
fn bad_figures_and_an_empty_chart_are_refused() {
    let err = uptime_svg(&chart(vec![("July", Some(100.5))], 99.9)).unwrap_err();
    assert!(err.to_string().starts_with("uptime: 100.5"), "{err}");
    let err = uptime_svg(&chart(vec![("July", Some(99.0))], f64::NAN)).unwrap_err();
    assert!(err.to_string().starts_with("target:"), "{err}");
    assert!(matches!(
        uptime_svg(&chart(vec![], 99.9)),
        Err(ChartError::Empty(_))
    ));
}

#[test]
fn the_png_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uptime.png");
    uptime_png(
        &chart(vec![("July", Some(100.0)), ("August", Some(99.5))], 99.9),
        &path,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG file");
}
