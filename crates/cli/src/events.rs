//! `ecosystem events PARTNER`: the partner platform's events (runs created, state changes,
//! model versions, monitoring events) after a cursor, through its connector.
//!
//! Without `--follow` it polls once and prints the events, then the cursor to pass as
//! `--cursor` next time (JSON: one object `{events, next_cursor}`; table: one line per event,
//! then `next cursor: ...`). With `--follow` it runs an [`EventFeed`] and prints each event as
//! it comes (JSON Lines: one event object per line) until `--for` elapses or Ctrl-C, then the
//! cursor line (`{"next_cursor": ...}`). Failed polls are reported on stderr and retried with
//! backoff; a failure that retrying cannot heal ends the command.
//!
//! Exit 0 on success; 2 for bad input (unknown partner, a cursor that is not the platform's,
//! no credential for a platform that needs one); 1 for runtime failures (unreachable, timed
//! out, refused credential, platform errors).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ecosystem_connectors::check::options_for;
use ecosystem_connectors::connector_for;
use ecosystem_connectors::events::{EventFeed, FeedConfig, FeedStatus, FeedUpdate};
use ecosystem_core::integration::{
    ErrorClass, EventCursor, Integration, IntegrationError, PlatformEvent,
};
use ecosystem_core::{Error, Registry, Result};
use serde::Serialize;

use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct EventsArgs {
    pub partner: String,
    /// Where the last poll left off (its `next cursor`); from now when absent
    #[arg(long, value_name = "C")]
    pub cursor: Option<String>,
    /// Keep polling and print events as they come, until --for elapses or Ctrl-C
    #[arg(long)]
    pub follow: bool,
    /// With --follow: stop after this many seconds
    #[arg(long = "for", value_name = "SECS", requires = "follow", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// With --follow: seconds between polls
    #[arg(long, value_name = "SECS", default_value = "10", requires = "follow", value_parser = parse_secs)]
    pub interval: Duration,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What one poll prints as JSON.
#[derive(Debug, Serialize)]
struct PollReport<'a> {
    events: &'a [PlatformEvent],
    next_cursor: &'a str,
}

/// The last line of `--follow --format json`.
#[derive(Debug, Serialize)]
struct CursorLine<'a> {
    next_cursor: Option<&'a str>,
}

pub fn run(registry: &Registry, args: EventsArgs) -> Result<ExitCode> {
    let partner = registry.partner(&args.partner)?;
    let credential = match registry.credential_meta(&partner.name)? {
        Some(_) => Some(registry.credential(&partner.name)?),
        None => None,
    };
    let connector: Arc<dyn Integration> =
        match connector_for(&partner, credential, options_for(&partner)) {
            Ok(connector) => connector.into(),
            Err(e) => return Ok(failed(&e)),
        };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "cannot start the network runtime".into(),
            source: e,
        })?;
    let cursor = args.cursor.clone().map(EventCursor);
    if args.follow {
        runtime.block_on(follow(&partner.name, connector, cursor, &args))
    } else {
        runtime.block_on(poll_once(connector.as_ref(), cursor, args.format))
    }
}

async fn poll_once(
    connector: &dyn Integration,
    cursor: Option<EventCursor>,
    format: Format,
) -> Result<ExitCode> {
    let batch = match connector.subscribe_to_events(cursor).await {
        Ok(batch) => batch,
        Err(e) => return Ok(failed(&e)),
    };
    match format {
        Format::Json => output::json(&PollReport {
            events: &batch.events,
            next_cursor: &batch.next.0,
        })?,
        Format::Table => {
            for event in &batch.events {
                println!("{}", event_line(event));
            }
            println!("next cursor: {}", batch.next.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn follow(
    partner: &str,
    connector: Arc<dyn Integration>,
    cursor: Option<EventCursor>,
    args: &EventsArgs,
) -> Result<ExitCode> {
    let config = FeedConfig {
        interval: args.interval,
        max_backoff: args.interval.max(Duration::from_secs(60)),
        ..FeedConfig::default()
    };
    let feed = EventFeed::new(partner, connector, cursor, config);
    let handle = feed.handle();
    let mut updates = handle.subscribe();
    let task = feed.spawn();
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let until_deadline = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until_deadline);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut stopping = false;
    loop {
        tokio::select! {
            update = updates.recv() => match update {
                Some(update) => show(partner, &update, args.format)?,
                None => break,
            },
            () = &mut until_deadline, if !stopping => {
                stopping = true;
                handle.stop();
            }
            signal = &mut interrupted, if !stopping => {
                if let Err(e) = signal {
                    tracing::warn!("cannot listen for Ctrl-C: {e}");
                }
                stopping = true;
                handle.stop();
            }
        }
    }
    let end = task.await.map_err(|e| Error::Io {
        context: "the event feed ended abnormally".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let next = end.cursor.as_ref().map(|c| c.0.as_str());
    match args.format {
        Format::Json => println!("{}", to_json_line(&CursorLine { next_cursor: next })?),
        Format::Table => println!("next cursor: {}", next.unwrap_or("-")),
    }
    Ok(match end.error {
        Some(e) => failed(&e),
        None => ExitCode::SUCCESS,
    })
}

/// Prints an event on stdout, or a status worth knowing on stderr.
fn show(partner: &str, update: &FeedUpdate, format: Format) -> Result<()> {
    match update {
        FeedUpdate::Event(event) => match format {
            Format::Json => println!("{}", to_json_line(event)?),
            Format::Table => println!("{}", event_line(event)),
        },
        FeedUpdate::Status(FeedStatus::Failed {
            error,
            attempt,
            retry_in_ms: Some(ms),
        }) => eprintln!(
            "warning: {partner}: poll {attempt} failed ({error}); retrying in {:.1} s",
            Duration::from_millis(*ms).as_secs_f64()
        ),
        FeedUpdate::Status(FeedStatus::Recovered { after_failures }) => {
            eprintln!("{partner}: polling again after {after_failures} failed poll(s)");
        }
        // A failure with no retry ends the feed; it is reported with the exit status.
        FeedUpdate::Status(_) => {}
    }
    Ok(())
}

fn event_line(e: &PlatformEvent) -> String {
    format!(
        "{}  {}  {}  {}",
        e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        e.kind,
        e.subject,
        e.id
    )
}

fn to_json_line<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::invalid("output", format!("cannot encode JSON: {e}")))
}

/// Reports a classified failure; exit 2 when the caller can fix what they asked, else 1.
fn failed(e: &IntegrationError) -> ExitCode {
    eprintln!("error: {e}");
    match e.class {
        ErrorClass::InvalidRequest | ErrorClass::MissingCredential => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

fn parse_secs(s: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.05..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("{s} seconds is out of range (0.05 to one year)"));
    }
    Ok(Duration::from_secs_f64(secs))
}
