//! `ecosystem report usage --from DATE --to DATE [--partner NAME] [--group-by
//! partner|tier|metric] [--bucket day|week|month] [--format table|json|csv] [--output FILE]`:
//! usage summed over whole UTC days, grouped and bucketed, with totals and the change against
//! the previous period of the same length (`ecosystem_core::report`, docs/REPORTS.md).
//!
//! Table and JSON are computed whole, then printed; CSV streams a row at a time
//! (`ecosystem_core::csv_export`), so a daily per-partner export of millions of rows runs in
//! constant memory. With `--output` the file is written to a temporary file beside it and
//! renamed over it when complete: an error never leaves a half-written file (a CSV file gets a
//! UTF-8 BOM for Excel; CSV on stdout has none).

use std::io::Write;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use ecosystem_core::csv_export;
use ecosystem_core::report::{
    bucket_label, Bucket, GroupBy, PreparedReport, UsageQuery, UsageReport,
};
use ecosystem_core::{Error, Registry, Result};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Usage summed over whole UTC days from --from to --to, grouped by partner, tier or
    /// metric and bucketed by day, ISO week or month, with totals and the change against the
    /// previous period of the same length
    Usage(UsageArgs),
    /// The quarterly review of one partner: monthly uptime against the SLA, incidents and
    /// MTTR, usage and cost against the previous quarter, contract dates and service credits,
    /// as a CSV file and a one-page HTML summary (or JSON)
    Quarterly(crate::review::QuarterlyArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The first day, included (a UTC day)
    #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date)]
    pub from: NaiveDate,
    /// The last day, included (a UTC day; a range past today stops at today)
    #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date)]
    pub to: NaiveDate,
    /// Only this partner
    #[arg(long, value_name = "NAME")]
    pub partner: Option<String>,
    /// One group per partner, per tier or per metric (metrics are never added together)
    #[arg(long, value_name = "partner|tier|metric", value_parser = parse_group_by, default_value = "partner")]
    pub group_by: GroupBy,
    /// Sum per day, per ISO week (Monday to Sunday) or per calendar month
    #[arg(long, value_name = "day|week|month", value_parser = parse_bucket, default_value = "month")]
    pub bucket: Bucket,
    /// table for people (rows, then totals and change), json (all of it) or csv (one row per
    /// group, metric and bucket; see docs/REPORTS.md)
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Write to this file (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_group_by(s: &str) -> std::result::Result<GroupBy, String> {
    s.parse().map_err(message)
}

fn parse_bucket(s: &str) -> std::result::Result<Bucket, String> {
    s.parse().map_err(message)
}

fn message(e: Error) -> String {
    match e {
        Error::Invalid { message, .. } => message,
        other => other.to_string(),
    }
}

/// The core names its fields (`from`, `to`, `partner`); here they are flags.
fn as_flags(e: Error) -> Error {
    match e {
        Error::Invalid { field, message }
            if matches!(field.as_str(), "from" | "to" | "partner") =>
        {
            Error::invalid(format!("--{field}"), message)
        }
        other => other,
    }
}

pub fn run(registry: &Registry, command: ReportCommand) -> Result<()> {
    match command {
        ReportCommand::Usage(args) => usage(registry, args),
        ReportCommand::Quarterly(args) => crate::review::run(registry, args),
    }
}

fn usage(registry: &Registry, args: UsageArgs) -> Result<()> {
    let query = UsageQuery {
        from: args.from,
        to: args.to,
        partner: args.partner,
        group_by: args.group_by,
        bucket: args.bucket,
    };
    let conn = registry.store().conn();
    let clock = registry.clock();
    match args.format {
        ReportFormat::Csv => {
            let prepared = PreparedReport::new(conn, clock, &query).map_err(as_flags)?;
            match &args.output {
                Some(path) => {
                    let rows = csv_export::write_file_atomically(path, |file| {
                        csv_export::write_prepared(conn, &prepared, file, true, |_| {})
                    })?;
                    eprintln!("wrote {rows} row(s) to {}", path.display());
                    Ok(())
                }
                None => {
                    let stdout = std::io::stdout().lock();
                    quiet_if_closed(
                        csv_export::write_prepared(conn, &prepared, stdout, false, |_| {})
                            .map(|_| ()),
                    )
                }
            }
        }
        ReportFormat::Table | ReportFormat::Json => {
            let report = query.run(conn, clock).map_err(as_flags)?;
            let write = |out: &mut dyn Write| -> Result<()> {
                if args.format == ReportFormat::Json {
                    serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| Error::Io {
                        context: "cannot write JSON".into(),
                        source: e.into(),
                    })?;
                    writeln!(out).map_err(io_error)
                } else {
                    write_table(out, &report).map_err(io_error)
                }
            };
            match &args.output {
                Some(path) => {
                    csv_export::write_file_atomically(path, |file| write(file))?;
                    eprintln!("wrote the usage report to {}", path.display());
                    Ok(())
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    quiet_if_closed(
                        write(&mut stdout).and_then(|()| stdout.flush().map_err(io_error)),
                    )
                }
            }
        }
    }
}

/// A reader that stops early (`| head`) closes the pipe: that is not a failure of the report.
fn quiet_if_closed(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write the report".into(),
        source,
    }
}

/// The report for people: a heading, the rows per bucket, then the totals with the change
/// against the previous period.
fn write_table(out: &mut dyn Write, report: &UsageReport) -> std::io::Result<()> {
    let p = &report.period;
    let by = report.group_by.as_str();
    let bucket_word = match report.bucket {
        Bucket::Day => "daily",
        Bucket::Week => "weekly (ISO weeks)",
        Bucket::Month => "monthly",
    };
    let only = report
        .partner
        .as_deref()
        .map(|name| format!(", partner {name:?}"))
        .unwrap_or_default();
    writeln!(
        out,
        "Usage by {by}, {bucket_word}{only}: {} to {} ({} day(s), UTC); previous period {} to {}",
        p.from, p.to, p.days, p.previous_from, p.previous_to
    )?;
    if !p.complete {
        writeln!(
            out,
            "To date: the range reaches today ({}, UTC), which counts as far as it is collected",
            p.to
        )?;
    }
    if report.totals.is_empty() {
        writeln!(
            out,
            "No usage recorded in this range or the previous period."
        )?;
        return Ok(());
    }
    // Grouped by metric the group is the metric: one column says it.
    let by_metric = report.group_by == GroupBy::Metric;
    let group_header = by.to_uppercase();
    let bucket_header = report.bucket.as_str().to_uppercase();
    let mut header = vec![group_header.as_str()];
    if !by_metric {
        header.push("METRIC");
    }
    header.extend(["UNIT", bucket_header.as_str(), "VALUE"]);
    let partial: std::collections::HashMap<NaiveDate, bool> = report
        .buckets
        .iter()
        .map(|b| (b.start, b.partial))
        .collect();
    let mut any_partial = false;
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            let mut label = bucket_label(report.bucket, r.bucket_start);
            if partial.get(&r.bucket_start).copied().unwrap_or(false) {
                label.push('*');
                any_partial = true;
            }
            let mut row = vec![r.group.clone()];
            if !by_metric {
                row.push(r.metric.clone());
            }
            row.extend([r.unit.clone(), label, human(r.value)]);
            row
        })
        .collect();
    writeln!(out)?;
    aligned(out, &header, &rows, 1)?;
    if any_partial {
        writeln!(
            out,
            "* partial {}: only its days inside the range are counted",
            report.bucket
        )?;
    }

    let mut header = vec![group_header.as_str()];
    if !by_metric {
        header.push("METRIC");
    }
    header.extend(["UNIT", "TOTAL", "PREVIOUS", "CHANGE", "CHANGE %"]);
    let rows: Vec<Vec<String>> = report
        .totals
        .iter()
        .map(|t| {
            let mut row = vec![t.group.clone()];
            if !by_metric {
                row.push(t.metric.clone());
            }
            let percent = match t.change_percent {
                Some(p) => format!("{p:+.1}%"),
                None if t.value != 0.0 => "new".into(),
                None => "-".into(),
            };
            row.extend([
                t.unit.clone(),
                human(t.value),
                human(t.previous_value),
                signed(t.change),
                percent,
            ]);
            row
        })
        .collect();
    writeln!(out, "\nTotals")?;
    aligned(out, &header, &rows, 4)
}

/// Columns as wide as their widest cell; the last `numeric` columns aligned right.
fn aligned(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
    numeric: usize,
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let first_numeric = header.len().saturating_sub(numeric);
    let mut line = String::new();
    let mut write_line = |cells: &mut dyn Iterator<Item = &str>| {
        line.clear();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = w - cell.chars().count();
            if i >= first_numeric {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())
    };
    write_line(&mut header.iter().copied())?;
    for row in rows {
        write_line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

/// A value for people: two decimals at most (trailing zeros dropped), three significant
/// digits below 0.01.
fn human(value: f64) -> String {
    if value != 0.0 && value.abs() < 0.01 {
        return format!("{value:.2e}")
            .parse::<f64>()
            .map(|v| v.to_string())
            .unwrap_or_else(|_| value.to_string());
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn signed(value: f64) -> String {
    let text = human(value);
    if value > 0.0 && !text.starts_with('+') {
        format!("+{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_plainly() {
        assert_eq!(human(0.0), "0");
        assert_eq!(human(1234.5), "1234.5");
        assert_eq!(human(1200.0), "1200");
        assert_eq!(human(2.345_67), "2.35");
        assert_eq!(human(0.001_234_5), "0.00123");
        assert_eq!(human(-0.001), "-0.001");
        assert_eq!(signed(12.0), "+12");
        assert_eq!(signed(-3.5), "-3.5");
        assert_eq!(signed(0.0), "0");
    }
}
