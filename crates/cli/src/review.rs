//! `ecosystem report quarterly --partner NAME --quarter 2026-Q3 [--output-dir DIR] [--format
//! files|json]`: the quarterly review of one partner (`ecosystem_core::review`,
//! docs/REPORTS.md "Quarterly review"). `files` writes `<name>-<quarter>.csv` and
//! `<name>-<quarter>.html` into the folder (each atomically) and prints both paths; `json`
//! prints the review.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ecosystem_core::review::{self, Quarter};
use ecosystem_core::{Error, Registry, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum QuarterlyFormat {
    /// The CSV file and the one-page HTML summary, written into --output-dir
    #[default]
    Files,
    /// The review as JSON on stdout
    Json,
}

#[derive(Debug, Args)]
pub struct QuarterlyArgs {
    /// The partner, by name
    #[arg(long, value_name = "NAME")]
    pub partner: String,
    /// The calendar quarter, as 2026-Q3 (in the contract's SLA time zone; UTC without one)
    #[arg(long, value_name = "YYYY-QN", value_parser = parse_quarter)]
    pub quarter: Quarter,
    /// Where the files go (the current folder by default)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub output_dir: PathBuf,
    /// files (CSV and HTML) or json (stdout)
    #[arg(long, value_enum, default_value_t)]
    pub format: QuarterlyFormat,
}

fn parse_quarter(text: &str) -> std::result::Result<Quarter, String> {
    text.parse().map_err(|e| match e {
        Error::Invalid { message, .. } => message,
        other => other.to_string(),
    })
}

pub fn run(registry: &Registry, args: QuarterlyArgs) -> Result<()> {
    let now = registry.clock().now();
    let review = review::quarterly_review(registry, &args.partner, args.quarter, now).map_err(
        |e| match e {
            Error::Invalid { field, message } if field == "quarter" => {
                Error::invalid("--quarter", message)
            }
            other => other,
        },
    )?;
    let io = |source: std::io::Error| Error::Io {
        context: "cannot write the review".into(),
        source,
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        QuarterlyFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &review).map_err(|e| io(e.into()))?;
            writeln!(stdout).map_err(io)
        }
        QuarterlyFormat::Files => {
            let (csv, html) =
                review::export_files(registry, &review, &args.output_dir).map_err(|e| match e {
                    Error::Invalid { field, message } if field == "output_dir" => {
                        Error::invalid("--output-dir", message)
                    }
                    other => other,
                })?;
            writeln!(stdout, "{}", csv.display()).map_err(io)?;
            writeln!(stdout, "{}", html.display()).map_err(io)
        }
    }
}
