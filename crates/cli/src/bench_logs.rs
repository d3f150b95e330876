//! `ecosystem bench logs`: what a log line costs. Every line the app and the CLI log is masked
//! (`ecosystem_core::redact`) on the thread that logs it, then handed to a writer thread; this
//! times both over a mix of the lines a poller writes (clean ones, and ones carrying an e-mail
//! address, a token in a URL, a credential header, an error body with secrets). Each secret in
//! the mix must come out masked, or the bench fails.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ecosystem_core::redact::{redact, RedactingWriter};
use ecosystem_core::{Error, Result};
use serde::Serialize;
use tracing_subscriber::prelude::*;

use crate::output::Format;

#[derive(Debug, Args)]
pub struct BenchLogsArgs {
    /// How many log lines to mask and to log
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub lines: u32,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// One kind of line: a name, and the line for the i-th partner. `secret` is what must not be
/// left in the masked line (empty for a clean one).
struct Sample {
    name: &'static str,
    line: fn(u32) -> String,
    secret: fn(u32) -> String,
}

const SAMPLES: &[Sample] = &[
    Sample {
        name: "check done",
        line: |i| {
            format!(
                "health check done partner=Partner {i:05} state=Healthy latency_ms={} lag_ms=1",
                i % 900
            )
        },
        secret: |_| String::new(),
    },
    Sample {
        name: "state changed",
        line: |i| {
            format!("health state changed partner=Partner {i:05} from=healthy to=unhealthy reason=3 failed checks: timed_out: no complete answer within 10000 ms")
        },
        secret: |_| String::new(),
    },
    Sample {
        name: "owner e-mail",
        line: |i| {
            format!("partner registered name=Partner {i:05} kind=kubeflow owner=Some(\"owner.{i}@partner.example.com\")")
        },
        secret: |i| format!("owner.{i}@"),
    },
    Sample {
        name: "token in a URL",
        line: |i| {
            format!("request failed url=https://kfp.example.com/pipeline/apis/v2beta1/runs?page_size=100&token=tk{i:08}q7Zx9 error=connection reset")
        },
        secret: |i| format!("tk{i:08}q7Zx9"),
    },
    Sample {
        name: "credential header",
        line: |i| {
            format!("sending headers=[\"Accept: application/json\", \"Authorization: Bearer dapi{i:08}abcdef0123456789\"]")
        },
        secret: |i| format!("dapi{i:08}"),
    },
    Sample {
        name: "error body",
        line: |i| {
            format!("partner answered status=400 body={{\"error\":\"invalid_grant\",\"access_token\":\"at-{i:08}-Zq\",\"client_secret\":\"cs-{i:08}\",\"message\":\"The grant was refused for client 7f3e2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 2026-11-27T10:00:00Z; see https://docs.example.com/oauth/errors#invalid_grant for what to do next.\"}}")
        },
        secret: |i| format!("at-{i:08}-Zq"),
    },
];

#[derive(Debug, Serialize)]
struct LogsBench {
    lines: u32,
    /// Masking alone (`redact` of each line), per kind of line.
    masking: Vec<KindTiming>,
    /// All kinds mixed: masking alone.
    masking_mixed: Throughput,
    /// All kinds mixed, logged as the app logs them: a tracing event formatted, masked and
    /// handed to the writer thread (writing to nothing), timed on the thread that logs.
    logging_mixed: Throughput,
}

#[derive(Debug, Serialize)]
struct KindTiming {
    kind: &'static str,
    bytes: usize,
    ns_per_line: f64,
}

#[derive(Debug, Serialize)]
struct Throughput {
    ns_per_line: f64,
    lines_per_sec: f64,
    mib_per_sec: f64,
}

impl Throughput {
    fn new(lines: u32, bytes: usize, took: Duration) -> Self {
        let secs = took.as_secs_f64().max(1e-9);
        Throughput {
            ns_per_line: secs * 1e9 / f64::from(lines),
            lines_per_sec: f64::from(lines) / secs,
            mib_per_sec: bytes as f64 / secs / (1024.0 * 1024.0),
        }
    }
}

pub fn run(args: BenchLogsArgs) -> Result<ExitCode> {
    let n = args.lines;
    let mixed: Vec<String> = (0..n)
        .map(|i| (SAMPLES[i as usize % SAMPLES.len()].line)(i))
        .collect();
    for (i, line) in mixed.iter().enumerate().take(SAMPLES.len() * 2) {
        let sample = &SAMPLES[i % SAMPLES.len()];
        let secret = (sample.secret)(i as u32);
        if !secret.is_empty() && redact(line).contains(&secret) {
            return Err(Error::invalid(
                "bench logs",
                format!("the {} line was not masked: {}", sample.name, redact(line)),
            ));
        }
    }

    let per_kind = (n / SAMPLES.len() as u32).max(1);
    let masking = SAMPLES
        .iter()
        .map(|sample| {
            let lines: Vec<String> = (0..per_kind).map(sample.line).collect();
            let started = Instant::now();
            let kept: usize = lines.iter().map(|l| redact(l).len()).sum();
            let took = started.elapsed();
            std::hint::black_box(kept);
            KindTiming {
                kind: sample.name,
                bytes: lines[0].len(),
                ns_per_line: took.as_secs_f64() * 1e9 / f64::from(per_kind),
            }
        })
        .collect();

    let bytes: usize = mixed.iter().map(String::len).sum();
    let started = Instant::now();
    let kept: usize = mixed.iter().map(|l| redact(l).len()).sum();
    let masking_mixed = Throughput::new(n, bytes, started.elapsed());
    std::hint::black_box(kept);

    let logging_mixed = Throughput::new(n, bytes, log_all(&mixed));

    let result = LogsBench {
        lines: n,
        masking,
        masking_mixed,
        logging_mixed,
    };
    match args.format {
        Format::Json => crate::output::json(&result)?,
        Format::Table => print(&result),
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs every line as the app does, into a writer thread that writes to nothing; the time
/// the logging thread spent.
fn log_all(lines: &[String]) -> Duration {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(io::sink());
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || RedactingWriter::new(writer.clone())),
    );
    let took = tracing::subscriber::with_default(subscriber, || {
        let started = Instant::now();
        for line in lines {
            tracing::info!(target: "ecosystem_connectors::poller", "{line}");
        }
        started.elapsed()
    });
    drop(guard);
    took
}

fn print(r: &LogsBench) {
    println!("{} log lines", r.lines);
    crate::output::table(
        &["masking", "bytes", "µs per line"],
        &r.masking
            .iter()
            .map(|k| {
                vec![
                    k.kind.to_string(),
                    k.bytes.to_string(),
                    format!("{:.2}", k.ns_per_line / 1000.0),
                ]
            })
            .collect::<Vec<_>>(),
    );
    println!();
    let row = |what: &str, t: &Throughput| {
        vec![
            what.to_string(),
            format!("{:.2}", t.ns_per_line / 1000.0),
            format!("{:.0}", t.lines_per_sec),
            format!("{:.1}", t.mib_per_sec),
        ]
    };
    crate::output::table(
        &["all kinds mixed", "µs per line", "lines/s", "MiB/s"],
        &[
            row("masking alone", &r.masking_mixed),
            row("logged (format, mask, hand over)", &r.logging_mixed),
        ],
    );
    let _ = io::stdout().flush();
}
