//! Ecosystem's charts, drawn in Rust with plotters: usage over time (one line per series, a
//! partner's metric, say) and a partner's health timeline (state bands with the latency line
//! over them). Each renders to an SVG string (for the app's pages and exports) or a PNG file
//! (for exports). Text is drawn with the DejaVu faces bundled in the binary, registered once,
//! so a chart looks the same on a machine with no fonts at all.
//!
//! The inputs are plain data (dates, values, states as [`Band`]); this crate knows nothing of
//! the database or of how the numbers were computed.

use std::path::Path;
use std::sync::Once;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// What went wrong drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("nothing to draw: {0}")]
    Empty(&'static str),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the chart could not be drawn: {0}")]
    Draw(String),
}

pub type Result<T> = std::result::Result<T, ChartError>;

fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// The DejaVu faces, registered for every family plotters asks for. Idempotent.
pub fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        let regular = dejavu::sans::regular();
        let bold = dejavu::sans::bold();
        for family in ["sans-serif", "serif", "monospace"] {
            // The faces are compiled in and valid; a failure here would be a packaging bug
            // that every chart test shows at once.
            let _ = register_font(family, FontStyle::Normal, regular);
            let _ = register_font(family, FontStyle::Bold, bold);
        }
    });
}

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Default for Size {
    fn default() -> Self {
        Size {
            width: 960,
            height: 420,
        }
    }
}

impl Size {
    fn check(self) -> Result<(u32, u32)> {
        if !(200..=4_000).contains(&self.width) || !(120..=4_000).contains(&self.height) {
            return Err(ChartError::Invalid {
                field: "size",
                message: format!(
                    "{}x{} is out of range (200x120 to 4000x4000)",
                    self.width, self.height
                ),
            });
        }
        Ok((self.width, self.height))
    }
}

// ---------------------------------------------------------------------------------------
// Usage over time

/// One line of a usage chart: its label (a partner, a metric) and a value per day.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSeries {
    pub label: String,
    pub points: Vec<(NaiveDate, f64)>,
}

/// A usage chart: every series shares the unit on the y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageChart {
    pub title: String,
    pub unit: String,
    pub series: Vec<UsageSeries>,
    pub size: Size,
}

impl Size {
    /// The size of the reports page's chart (and of its exports).
    pub const WIDE: Size = Size {
        width: 960,
        height: 360,
    };
}

impl UsageChart {
    /// The most lines a usage chart draws: one colour each.
    pub const MAX_SERIES: usize = SERIES_COLOURS.len();

    /// A chart of one metric from flat rows `(label, day, value)`: one line per label, at most
    /// `top` of them (the largest totals, largest first; ties by label), the title saying how
    /// many were left out.
    pub fn from_rows<'a>(
        title: String,
        unit: String,
        rows: impl IntoIterator<Item = (&'a str, NaiveDate, f64)>,
        top: usize,
        size: Size,
    ) -> UsageChart {
        let mut series: Vec<(f64, UsageSeries)> = Vec::new();
        let mut index: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
        for (label, day, value) in rows {
            let i = *index.entry(label).or_insert_with(|| {
                series.push((
                    0.0,
                    UsageSeries {
                        label: label.to_string(),
                        points: Vec::new(),
                    },
                ));
                series.len() - 1
            });
            series[i].0 += value;
            series[i].1.points.push((day, value));
        }
        let all = series.len();
        series.sort_by(|(a, x), (b, y)| b.total_cmp(a).then_with(|| x.label.cmp(&y.label)));
        series.truncate(top);
        let title = if all > series.len() {
            format!("{title} (top {} of {all})", series.len())
        } else {
            title
        };
        UsageChart {
            title,
            unit,
            series: series.into_iter().map(|(_, s)| s).collect(),
            size,
        }
    }
}

/// The usage chart as an SVG document.
pub fn usage_svg(chart: &UsageChart) -> Result<String> {
    render_svg(chart.size, |root| draw_usage(root, chart))
}

/// The usage chart as a PNG file at `path`.
pub fn usage_png(chart: &UsageChart, path: &Path) -> Result<()> {
    render_png(chart.size, path, |root| draw_usage(root, chart))
}

/// Draws on an SVG canvas of `size` and returns the document.
fn render_svg(
    size: Size,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<String> {
    let (w, h) = size.check()?;
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Draws on a bitmap of `size` and writes it as a PNG file at `path`.
fn render_png(
    size: Size,
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    let (w, h) = size.check()?;
    register_fonts();
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    draw(&root)?;
    root.present().map_err(draw_err)
}

/// The palette of series, distinguishable for the common forms of colour blindness (Okabe–Ito).
const SERIES_COLOURS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];

const INK: RGBColor = RGBColor(31, 41, 55);
const GRID: RGBColor = RGBColor(229, 231, 235);

fn draw_usage<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &UsageChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points = chart.series.iter().flat_map(|s| s.points.iter());
    let (mut first, mut last, mut top) = (None::<NaiveDate>, None::<NaiveDate>, 0.0_f64);
    for (day, value) in points {
        if !value.is_finite() {
            return Err(ChartError::Invalid {
                field: "value",
                message: format!("{value} on {day} is not a number"),
            });
        }
        first = Some(first.map_or(*day, |f| f.min(*day)));
        last = Some(last.map_or(*day, |l| l.max(*day)));
        top = top.max(*value);
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Err(ChartError::Empty("no usage in the range"));
    };
    // A single day still gets a visible x range.
    let last = if last == first {
        last + Duration::days(1)
    } else {
        last
    };
    let top = nice_ceiling(top);

    root.fill(&WHITE).map_err(draw_err)?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 20).into_font().color(&INK))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(first..last, 0.0..top)
        .map_err(draw_err)?;
    ctx.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .label_style(("sans-serif", 13).into_font().color(&INK))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|d: &NaiveDate| d.format("%Y-%m-%d").to_string())
        .y_label_formatter(&|v: &f64| plain_number(*v))
        .y_desc(chart.unit.as_str())
        .draw()
        .map_err(draw_err)?;
    for (i, series) in chart.series.iter().enumerate() {
        let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
        let mut points = series.points.clone();
        points.sort_by_key(|(d, _)| *d);
        // Few points: mark each, so a single day or a sparse week still shows.
        if points.len() <= 62 {
            ctx.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(draw_err)?;
        }
        ctx.draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(draw_err)?
            .label(series.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
            });
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(("sans-serif", 13).into_font().color(&INK))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Health and latency timeline

/// A partner's state over a period, as drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Healthy,
    Degraded,
    Unhealthy,
    Paused,
    Maintenance,
    Unknown,
}

impl Band {
    fn colour(self) -> RGBColor {
        match self {
            Band::Healthy => RGBColor(0, 158, 115),
            Band::Degraded => RGBColor(230, 159, 0),
            Band::Unhealthy => RGBColor(213, 94, 0),
            Band::Paused => RGBColor(120, 120, 120),
            Band::Maintenance => RGBColor(86, 180, 233),
            Band::Unknown => RGBColor(200, 200, 200),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Band::Healthy => "healthy",
            Band::Degraded => "degraded",
            Band::Unhealthy => "unhealthy",
            Band::Paused => "paused",
            Band::Maintenance => "maintenance",
            Band::Unknown => "unknown",
        }
    }
}

/// A health timeline: the state bands under the latency line, over `[from, to]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthChart {
    pub title: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `(start, end, state)`, in order; clipped to the range.
    pub bands: Vec<(DateTime<Utc>, DateTime<Utc>, Band)>,
    /// Latency in ms at each point; `None` breaks the line (a failed check, no data).
    pub latency: Vec<(DateTime<Utc>, Option<f64>)>,
    pub size: Size,
}

/// The health timeline as an SVG document.
pub fn health_svg(chart: &HealthChart) -> Result<String> {
    render_svg(chart.size, |root| draw_health(root, chart))
}

/// The health timeline as a PNG file at `path`.
pub fn health_png(chart: &HealthChart, path: &Path) -> Result<()> {
    render_png(chart.size, path, |root| draw_health(root, chart))
}

fn draw_health<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &HealthChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    if chart.to <= chart.from {
        return Err(ChartError::Invalid {
            field: "to",
            message: "the end is not after the start".into(),
        });
    }
    let top = nice_ceiling(
        chart
            .latency
            .iter()
            .filter_map(|(_, v)| *v)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    );
    let span = chart.to - chart.from;
    let format = if span <= Duration::days(2) {
        "%H:%M"
    } else {
        "%m-%d"
    };

    root.fill(&WHITE).map_err(draw_err)?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 20).into_font().color(&INK))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(chart.from..chart.to, 0.0..top)
        .map_err(draw_err)?;
    ctx.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .label_style(("sans-serif", 13).into_font().color(&INK))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|t: &DateTime<Utc>| t.format(format).to_string())
        .y_label_formatter(&|v: &f64| plain_number(*v))
        .y_desc("latency (ms)")
        .draw()
        .map_err(draw_err)?;

    let mut shown: Vec<Band> = Vec::new();
    for (start, end, band) in &chart.bands {
        let (start, end) = ((*start).max(chart.from), (*end).min(chart.to));
        if end <= start {
            continue;
        }
        let colour = band.colour();
        let series = ctx
            .draw_series(std::iter::once(Rectangle::new(
                [(start, 0.0), (end, top)],
                colour.mix(0.22).filled(),
            )))
            .map_err(draw_err)?;
        if !shown.contains(band) {
            shown.push(*band);
            series.label(band.label()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.mix(0.5).filled())
            });
        }
    }
    // The latency line, broken wherever there is no value.
    let mut segment: Vec<(DateTime<Utc>, f64)> = Vec::new();
    let mut segments = Vec::new();
    let mut points = chart.latency.clone();
    points.sort_by_key(|(t, _)| *t);
    for (at, value) in points {
        match value.filter(|v| v.is_finite()) {
            Some(v) => segment.push((at, v)),
            None => {
                if !segment.is_empty() {
                    segments.push(std::mem::take(&mut segment));
                }
            }
        }
    }
    if !segment.is_empty() {
        segments.push(segment);
    }
    let line = RGBColor(0, 114, 178);
    for (i, segment) in segments.into_iter().enumerate() {
        let drawn = ctx
            .draw_series(LineSeries::new(segment, line.stroke_width(2)))
            .map_err(draw_err)?;
        if i == 0 {
            drawn.label("latency").legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], line.stroke_width(3))
            });
        }
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(("sans-serif", 13).into_font().color(&INK))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Uptime by month against the target

/// Monthly uptime as bars against the target line: a bar at or above the target is green,
/// one below it orange; a month without data has no bar.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeChart {
    pub title: String,
    /// `(label, uptime in percent)`, in order; `None` for a month without data.
    pub months: Vec<(String, Option<f64>)>,
    /// The target in percent (99.9).
    pub target: f64,
    pub size: Size,
}

/// The uptime chart as an SVG document.
pub fn uptime_svg(chart: &UptimeChart) -> Result<String> {
    render_svg(chart.size, |root| draw_uptime(root, chart))
}

/// The uptime chart as a PNG file at `path`.
pub fn uptime_png(chart: &UptimeChart, path: &Path) -> Result<()> {
    render_png(chart.size, path, |root| draw_uptime(root, chart))
}

/// The lower end of the uptime axis: below the lowest value (or the target) by half its
/// distance to 100, rounded down to a whole percent, so 99.9 sits well inside 99..100.
pub fn uptime_floor(lowest: f64) -> f64 {
    let lowest = lowest.clamp(0.0, 100.0);
    (lowest - (100.0 - lowest) * 0.5 - 0.01).floor().max(0.0)
}

fn draw_uptime<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &UptimeChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    if chart.months.is_empty() {
        return Err(ChartError::Empty("no month to draw"));
    }
    let values = chart.months.iter().filter_map(|(_, v)| *v);
    let mut lowest = chart.target;
    for v in values.clone() {
        if !v.is_finite() || !(0.0..=100.0).contains(&v) {
            return Err(ChartError::Invalid {
                field: "uptime",
                message: format!("{v} is not a percentage from 0 to 100"),
            });
        }
        lowest = lowest.min(v);
    }
    if !chart.target.is_finite() || !(0.0..=100.0).contains(&chart.target) {
        return Err(ChartError::Invalid {
            field: "target",
            message: format!("{} is not a percentage from 0 to 100", chart.target),
        });
    }
    let low = uptime_floor(lowest);
    let n = chart.months.len() as f64;
    let labels: Vec<String> = chart.months.iter().map(|(l, _)| l.clone()).collect();

    root.fill(&WHITE).map_err(draw_err)?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 20).into_font().color(&INK))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..n - 0.5, low..100.0)
        .map_err(draw_err)?;
    ctx.configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(INK)
        .label_style(("sans-serif", 13).into_font().color(&INK))
        .x_labels(chart.months.len())
        .y_labels(6)
        .x_label_formatter(&|x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|v: &f64| format!("{v:.1}"))
        .y_desc("uptime (%)")
        .draw()
        .map_err(draw_err)?;
    let (met, missed) = (RGBColor(0, 158, 115), RGBColor(213, 94, 0));
    for (i, (_, value)) in chart.months.iter().enumerate() {
        let Some(v) = value else { continue };
        let x = i as f64;
        let colour = if *v >= chart.target { met } else { missed };
        ctx.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.3, low), (x + 0.3, v.max(low))],
            colour.mix(0.8).filled(),
        )))
        .map_err(draw_err)?;
    }
    let target = chart.target;
    ctx.draw_series(LineSeries::new(
        [(-0.5, target), (n - 0.5, target)],
        INK.stroke_width(2),
    ))
    .map_err(draw_err)?
    .label(format!("target {target} %"))
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], INK.stroke_width(2)));
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(("sans-serif", 13).into_font().color(&INK))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Numbers

/// A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`.
pub fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// A tick label: plain digits (no exponent), thousands as k/M for big values.
pub fn plain_number(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    text.replace(".0M", "M")
        .replace(".0G", "G")
        .trim_end_matches(".00")
        .to_string()
}

#[cfg(test)]
mod from_rows_tests {
    use super::*;

    #[test]
    fn the_largest_series_are_kept_largest_first_and_the_title_says_how_many_were_left_out() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).expect("a date");
        let rows = [
            ("small", day(1), 1.0),
            ("big", day(1), 50.0),
            ("mid", day(1), 10.0),
            ("big", day(2), 50.0),
            ("mid", day(2), 10.0),
        ];
        let chart = UsageChart::from_rows("calls".into(), "calls".into(), rows, 2, Size::WIDE);
        let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["big", "mid"]);
        assert_eq!(chart.series[0].points, vec![(day(1), 50.0), (day(2), 50.0)]);
        assert_eq!(chart.title, "calls (top 2 of 3)");
        let all = UsageChart::from_rows("calls".into(), "calls".into(), rows, 7, Size::WIDE);
        assert_eq!(all.title, "calls");
        assert_eq!(all.series.len(), 3);
    }
}
