//! `ecosystem maintenance add|list|remove`: announced maintenance windows, one-off or weekly in
//! an IANA zone, for one partner or for every partner. While a window is open a partner's
//! health shows `maintenance` and failed checks do not make it unhealthy.
//!
//! - `add (--partner NAME | --all) [--title TEXT]` with either `--from TIME --to TIME` (RFC
//!   3339, or `YYYY-MM-DD HH:MM` read in `--tz`) or `--days mon,wed|weekdays --at HH:MM --for
//!   2h|90m --tz Europe/Berlin`.
//! - `list [--partner NAME] [--format table|json]`: each window with its next opening (the one
//!   open now, if any).
//! - `remove ID`.
//!
//! Every add and remove is audited in the same transaction (`maintenance.add`,
//! `maintenance.remove`). Bad input exits 2 with one line naming the flag at fault.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{ArgGroup, Args, Subcommand};
use ecosystem_core::maintenance::{
    parse_clock_time, parse_duration, parse_instant, parse_weekdays, parse_zone, NamedWindow,
    Occurrence, Schedule,
};
use ecosystem_core::{Error, Registry, Result};
use serde::Serialize;

use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Announce a window: one-off (--from, --to) or weekly (--days, --at, --for, --tz), for
    /// one partner (--partner) or every partner (--all)
    Add(AddWindow),
    /// List the windows with their next opening
    List {
        /// Only the windows that apply to this partner (its own and those for all)
        #[arg(long, value_name = "NAME")]
        partner: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        /// The instant "next" is computed from (RFC 3339) [default: now]; for tests
        #[arg(long, hide = true, value_name = "TIME")]
        now: Option<String>,
    },
    /// Remove a window by its id (see `maintenance list`)
    Remove {
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["partner", "all"])))]
#[command(group(ArgGroup::new("when").required(true).args(["from", "days"])))]
pub struct AddWindow {
    /// The partner the window is for
    #[arg(long, value_name = "NAME")]
    pub partner: Option<String>,
    /// The window is for every partner
    #[arg(long)]
    pub all: bool,
    /// What the window is for, shown with it
    #[arg(long, value_name = "TEXT", default_value = "Maintenance")]
    pub title: String,
    /// One-off: the start, RFC 3339 or YYYY-MM-DD HH:MM (in --tz)
    #[arg(long, value_name = "TIME", requires = "to", conflicts_with = "days")]
    pub from: Option<String>,
    /// One-off: the end, RFC 3339 or YYYY-MM-DD HH:MM (in --tz)
    #[arg(long, value_name = "TIME", requires = "from")]
    pub to: Option<String>,
    /// Weekly: the days, such as mon,wed or weekdays, weekends, daily
    #[arg(long, value_name = "DAYS", requires_all = ["at", "length"])]
    pub days: Option<String>,
    /// Weekly: the local start time, HH:MM
    #[arg(long, value_name = "HH:MM", requires = "days")]
    pub at: Option<String>,
    /// Weekly: how long each opening lasts, such as 2h, 90m or 1h30m
    #[arg(long = "for", value_name = "DURATION", requires = "days")]
    pub length: Option<String>,
    /// The IANA time zone of the local times (weekly windows keep to its wall clock)
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
}

pub fn run(registry: &mut Registry, command: MaintenanceCommand) -> Result<()> {
    match command {
        MaintenanceCommand::Add(add) => {
            let now = registry.clock().now();
            let schedule = schedule_of(&add, now)?;
            let added =
                registry.add_maintenance_window(add.partner.as_deref(), &add.title, &schedule)?;
            let next = match schedule.next_occurrence(now) {
                Some(o) => format!("; next {}", occurrence_text(&schedule, &o, now)),
                None => String::new(),
            };
            println!(
                "added maintenance window {} for {}: {}{next}",
                added.window.id,
                whom(&added),
                schedule.describe()
            );
            Ok(())
        }
        MaintenanceCommand::List {
            partner,
            format,
            now,
        } => {
            let now = match now {
                Some(text) => parse_instant("now", &text, &Tz::UTC)?,
                None => registry.clock().now(),
            };
            let windows = registry.maintenance_windows(partner.as_deref())?;
            match format {
                Format::Json => output::json(
                    &windows
                        .iter()
                        .map(|w| WindowView::of(w, now))
                        .collect::<Vec<_>>(),
                ),
                Format::Table => {
                    if windows.is_empty() {
                        println!("no maintenance windows");
                        return Ok(());
                    }
                    output::table(
                        &["ID", "PARTNER", "TITLE", "SCHEDULE", "NEXT"],
                        &windows
                            .iter()
                            .map(|w| {
                                let s = &w.window.schedule;
                                vec![
                                    w.window.id.to_string(),
                                    w.partner.clone().unwrap_or_else(|| "(all)".into()),
                                    w.window.title.clone(),
                                    s.describe(),
                                    s.next_occurrence(now)
                                        .map_or("over".into(), |o| occurrence_text(s, &o, now)),
                                ]
                            })
                            .collect::<Vec<_>>(),
                    );
                    Ok(())
                }
            }
        }
        MaintenanceCommand::Remove { id } => {
            let removed = registry.remove_maintenance_window(id)?;
            println!(
                "removed maintenance window {id} ({:?}) for {}",
                removed.window.title,
                whom(&removed)
            );
            Ok(())
        }
    }
}

/// The schedule the flags describe, each checked with the flag's name in the error.
fn schedule_of(add: &AddWindow, now: DateTime<Utc>) -> Result<Schedule> {
    let tz = parse_zone("tz", &add.tz)?;
    match (&add.from, &add.to, &add.days, &add.at, &add.length) {
        (Some(from), Some(to), None, None, None) => {
            let start = parse_instant("from", from, &tz)?;
            let end = parse_instant("to", to, &tz)?;
            if end <= start {
                return Err(Error::invalid(
                    "to",
                    format!(
                        "{to:?} is not after --from {from:?}; the window must end after it starts"
                    ),
                ));
            }
            if end <= now {
                return Err(Error::invalid(
                    "to",
                    format!("{to:?} is in the past; the window would never open"),
                ));
            }
            Schedule::once(start, end)
        }
        (None, None, Some(days), Some(at), Some(length)) => {
            let days = parse_weekdays("days", days)?;
            parse_clock_time("at", at)?;
            let secs = parse_duration("for", length)?;
            Schedule::weekly(&days, at, secs, tz.name())
        }
        _ => Err(Error::invalid(
            "schedule",
            "give --from and --to for a one-off window, or --days, --at and --for for a weekly one",
        )),
    }
}

fn whom(w: &NamedWindow) -> String {
    match &w.partner {
        Some(name) => format!("{name:?}"),
        None => "every partner".into(),
    }
}

/// The zone a schedule's times are shown in: its own for weekly windows, UTC for one-offs.
fn zone_of(schedule: &Schedule) -> Tz {
    match schedule {
        Schedule::Weekly { time_zone, .. } => *time_zone,
        Schedule::Once { .. } => Tz::UTC,
    }
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// `2026-04-05 02:00 +02:00 to 2026-04-05 04:00 +02:00`, or `open now until ...`.
fn occurrence_text(schedule: &Schedule, o: &Occurrence, now: DateTime<Utc>) -> String {
    let tz = zone_of(schedule);
    if o.start <= now {
        format!("open now until {}", local(o.end, tz))
    } else {
        format!("{} to {}", local(o.start, tz), local(o.end, tz))
    }
}

/// One window as `maintenance list --format json` prints it.
#[derive(Debug, Serialize)]
struct WindowView<'a> {
    id: i64,
    /// `null`: every partner.
    partner: Option<&'a str>,
    title: &'a str,
    schedule: &'a Schedule,
    summary: String,
    next: Option<NextView>,
}

#[derive(Debug, Serialize)]
struct NextView {
    /// RFC 3339, UTC.
    start: String,
    end: String,
    /// RFC 3339 in the window's zone (weekly) or UTC (one-off).
    local_start: String,
    local_end: String,
    open_now: bool,
}

impl<'a> WindowView<'a> {
    fn of(w: &'a NamedWindow, now: DateTime<Utc>) -> WindowView<'a> {
        let s = &w.window.schedule;
        let tz = zone_of(s);
        WindowView {
            id: w.window.id,
            partner: w.partner.as_deref(),
            title: &w.window.title,
            schedule: s,
            summary: s.describe(),
            next: s.next_occurrence(now).map(|o| NextView {
                start: o.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                end: o.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                local_start: o.start.with_timezone(&tz).to_rfc3339(),
                local_end: o.end.with_timezone(&tz).to_rfc3339(),
                open_now: o.start <= now,
            }),
        }
    }
}
