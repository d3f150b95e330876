//! Maintenance windows: announced periods when a partner (or every partner) is expected to be
//! down, so checks that fail then do not make it unhealthy (see `health`). A window is either
//! one-off (a start and an end instant) or weekly (days of the week, a local start time, a
//! duration and an IANA time zone).
//!
//! Weekly windows follow the partner's wall clock, daylight-saving changes included: "Sundays
//! 02:00 for 2 h, Europe/Berlin" is 01:00–03:00 UTC in winter and 00:00–02:00 UTC in summer.
//! The end is the local start plus the duration *on the wall clock* (local 04:00), so on the
//! night the clocks change the window still ends at local 04:00. A local start that does not
//! exist (inside the spring-forward gap) is read with the offset in force before the gap, as
//! calendars do (02:00 → 03:00 summer time); one that happens twice (autumn) is the first.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono::{Offset, Weekday};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Schedule {
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    Weekly {
        days: Vec<Weekday>,
        local_start: NaiveTime,
        duration_secs: u32,
        time_zone: Tz,
    },
}

/// One opening of a window, in UTC, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A stored maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: i64,
    /// `None`: every partner.
    pub partner_id: Option<u32>,
    pub title: String,
    pub schedule: Schedule,
}

impl Schedule {
    /// A weekly schedule from words: days such as `["sun"]`, `"02:00"`, a duration and an IANA
    /// zone name. Errors name the field.
    pub fn weekly(
        days: &[Weekday],
        local_start: &str,
        duration_secs: u32,
        time_zone: &str,
    ) -> Result<Schedule> {
        if days.is_empty() {
            return Err(Error::invalid("days", "name at least one day of the week"));
        }
        if duration_secs == 0 || duration_secs > 7 * 86_400 {
            return Err(Error::invalid(
                "duration",
                "must be more than 0 and at most a week",
            ));
        }
        let mut days = days.to_vec();
        days.sort_by_key(|d| d.num_days_from_monday());
        days.dedup();
        Ok(Schedule::Weekly {
            days,
            local_start: parse_local_time(local_start)?,
            duration_secs,
            time_zone: parse_time_zone(time_zone)?,
        })
    }

    /// A one-off window; the end must come after the start.
    pub fn once(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Result<Schedule> {
        if ends_at <= starts_at {
            return Err(Error::invalid("end", "must come after the start"));
        }
        Ok(Schedule::Once { starts_at, ends_at })
    }

    /// The openings that overlap `[from, to)`, in order.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        match self {
            Schedule::Once { starts_at, ends_at } => {
                if *starts_at < to && *ends_at > from {
                    vec![Occurrence {
                        start: *starts_at,
                        end: *ends_at,
                    }]
                } else {
                    Vec::new()
                }
            }
            Schedule::Weekly {
                days,
                local_start,
                duration_secs,
                time_zone,
            } => {
                // Openings that started up to `duration` before `from` may still be open.
                let span_days = i64::from(*duration_secs) / 86_400 + 2;
                let first = from.with_timezone(time_zone).date_naive() - Duration::days(span_days);
                let last = to.with_timezone(time_zone).date_naive() + Duration::days(1);
                let duration = Duration::seconds(i64::from(*duration_secs));
                first
                    .iter_days()
                    .take_while(|d| *d <= last)
                    .filter(|d| days.contains(&d.weekday()))
                    .map(|d| {
                        let local = d.and_time(*local_start);
                        Occurrence {
                            start: resolve_local(time_zone, local),
                            end: resolve_local(time_zone, local + duration),
                        }
                    })
                    .filter(|o| o.start < to && o.end > from)
                    .collect()
            }
        }
    }

    /// True when a window is open at `at`.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        !self.occurrences(at, at + Duration::seconds(1)).is_empty()
    }
}

/// The UTC instant of a local wall-clock time (gap: the offset before it; overlap: the first).
pub fn resolve_local(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // The offset in force a day before (transitions are months apart).
            let before = tz
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix();
            (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

pub fn parse_time_zone(text: &str) -> Result<Tz> {
    text.parse::<Tz>().map_err(|_| {
        Error::invalid(
            "time_zone",
            format!("{text:?} is not an IANA time zone such as Europe/Berlin or UTC"),
        )
    })
}

fn parse_local_time(text: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| Error::invalid("start", format!("{text:?} is not a time; write HH:MM")))
}

fn days_to_mask(days: &[Weekday]) -> i64 {
    days.iter()
        .fold(0, |m, d| m | (1 << d.num_days_from_monday()))
}

fn mask_to_days(mask: i64) -> Vec<Weekday> {
    (0..7u8)
        .filter(|i| mask & (1 << i) != 0)
        .filter_map(|i| Weekday::try_from(i).ok())
        .collect()
}

const SELECT_WINDOW: &str = "SELECT id, partner_id, title, starts_at, ends_at, days_of_week, \
     local_start, duration_secs, time_zone FROM maintenance_windows";

fn window_from_row(row: &Row<'_>) -> rusqlite::Result<MaintenanceWindow> {
    let bad = |i: usize, msg: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            Box::new(Error::invalid("maintenance window", msg)),
        )
    };
    let starts_at: Option<i64> = row.get(3)?;
    let ends_at: Option<i64> = row.get(4)?;
    let schedule = match (starts_at, ends_at) {
        (Some(s), Some(e)) => Schedule::Once {
            starts_at: from_unix(s),
            ends_at: from_unix(e),
        },
        _ => {
            let mask: i64 = row.get(5)?;
            let start: String = row.get(6)?;
            let duration: u32 = row.get(7)?;
            let zone: String = row.get(8)?;
            Schedule::Weekly {
                days: mask_to_days(mask),
                local_start: parse_local_time(&start).map_err(|e| bad(6, e.to_string()))?,
                duration_secs: duration,
                time_zone: parse_time_zone(&zone).map_err(|e| bad(8, e.to_string()))?,
            }
        }
    };
    Ok(MaintenanceWindow {
        id: row.get(0)?,
        partner_id: row.get(1)?,
        title: row.get(2)?,
        schedule,
    })
}

pub(crate) fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Stores a window for one partner (`Some(id)`) or for all (`None`).
pub fn add_window(
    conn: &Connection,
    partner_id: Option<u32>,
    title: &str,
    schedule: &Schedule,
    created_at: DateTime<Utc>,
) -> Result<MaintenanceWindow> {
    if let Some(id) = partner_id {
        let exists: Option<i64> = conn
            .query_row("SELECT id FROM partners WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(Error::NotFound(format!("no partner with id {id}")));
        }
    }
    match schedule {
        Schedule::Once { starts_at, ends_at } => conn.execute(
            "INSERT INTO maintenance_windows (partner_id, title, starts_at, ends_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                partner_id,
                title,
                starts_at.timestamp(),
                ends_at.timestamp(),
                created_at.timestamp()
            ],
        )?,
        Schedule::Weekly {
            days,
            local_start,
            duration_secs,
            time_zone,
        } => conn.execute(
            "INSERT INTO maintenance_windows
               (partner_id, title, days_of_week, local_start, duration_secs, time_zone, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                partner_id,
                title,
                days_to_mask(days),
                local_start.format("%H:%M").to_string(),
                duration_secs,
                time_zone.name(),
                created_at.timestamp()
            ],
        )?,
    };
    Ok(MaintenanceWindow {
        id: conn.last_insert_rowid(),
        partner_id,
        title: title.to_string(),
        schedule: schedule.clone(),
    })
}

/// The windows that apply to a partner: its own and those for every partner.
pub fn windows_for(conn: &Connection, partner_id: u32) -> Result<Vec<MaintenanceWindow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT_WINDOW} WHERE partner_id = ?1 OR partner_id IS NULL ORDER BY id"
    ))?;
    let rows = stmt.query_map([partner_id], window_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every stored window.
pub fn all_windows(conn: &Connection) -> Result<Vec<MaintenanceWindow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_WINDOW} ORDER BY id"))?;
    let rows = stmt.query_map([], window_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn remove_window(conn: &Connection, id: i64) -> Result<()> {
    match conn.execute("DELETE FROM maintenance_windows WHERE id = ?1", [id])? {
        0 => Err(Error::NotFound(format!(
            "no maintenance window with id {id}"
        ))),
        _ => Ok(()),
    }
}
