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
//!
//! Windows are stored through the registry ([`Registry::add_maintenance_window`],
//! [`Registry::remove_maintenance_window`]) so each change lands with its audit row; the
//! `parse_*` helpers read what people type (`mon,wed`, `weekdays`, `2h`, `90m`, `02:00`,
//! `2026-03-29 02:00` in a zone) with errors that name the field they came from.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono::{Offset, Weekday};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::{Registry, Writer};

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

    /// The opening in force at `now`, else the next one; `None` when a one-off window is over.
    pub fn next_occurrence(&self, now: DateTime<Utc>) -> Option<Occurrence> {
        match self {
            Schedule::Once { starts_at, ends_at } => (*ends_at > now).then_some(Occurrence {
                start: *starts_at,
                end: *ends_at,
            }),
            // Every weekly schedule opens within a week (a day more for a shifted offset).
            Schedule::Weekly { .. } => self
                .occurrences(now, now + Duration::days(8))
                .into_iter()
                .find(|o| o.end > now),
        }
    }

    /// One line for people: `once 2026-03-29 01:00 to 03:00 UTC` or
    /// `weekly Mon, Wed 02:00 for 2h (Europe/Berlin)`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Once { starts_at, ends_at } => {
                let end = if starts_at.date_naive() == ends_at.date_naive() {
                    ends_at.format("%H:%M").to_string()
                } else {
                    ends_at.format("%Y-%m-%d %H:%M").to_string()
                };
                format!("once {} to {end} UTC", starts_at.format("%Y-%m-%d %H:%M"))
            }
            Schedule::Weekly {
                days,
                local_start,
                duration_secs,
                time_zone,
            } => format!(
                "weekly {} {} for {} ({})",
                describe_days(days),
                local_start.format("%H:%M"),
                describe_duration(*duration_secs),
                time_zone.name()
            ),
        }
    }
}

/// `Mon-Fri`, `Sat, Sun`, `every day` or the days joined.
pub fn describe_days(days: &[Weekday]) -> String {
    let mask = days_to_mask(days);
    match mask {
        0b111_1111 => "every day".into(),
        0b001_1111 => "Mon-Fri".into(),
        _ => days
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `2h`, `90m` → `1h 30m`, `45s`, `1d 2h`.
pub fn describe_duration(secs: u32) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// Days of the week as typed: `mon,wed` (three letters or full names, any case),
/// `weekdays`, `weekends` or `daily`. Errors name `field`.
pub fn parse_weekdays(field: &str, text: &str) -> Result<Vec<Weekday>> {
    use Weekday::*;
    let mut days = Vec::new();
    for word in text.split(',').map(|w| w.trim().to_ascii_lowercase()) {
        match word.as_str() {
            "weekdays" => days.extend([Mon, Tue, Wed, Thu, Fri]),
            "weekends" | "weekend" => days.extend([Sat, Sun]),
            "daily" | "everyday" | "all" => days.extend([Mon, Tue, Wed, Thu, Fri, Sat, Sun]),
            "" => {
                return Err(Error::invalid(
                    field,
                    format!("{text:?} has an empty day; write days such as mon,wed or weekdays"),
                ))
            }
            w => days.push(w.parse::<Weekday>().map_err(|_| {
                Error::invalid(
                    field,
                    format!(
                        "{w:?} is not a day of the week; write mon..sun, weekdays, weekends or daily"
                    ),
                )
            })?),
        }
    }
    days.sort_by_key(|d| d.num_days_from_monday());
    days.dedup();
    Ok(days)
}

/// A window's length as typed: `2h`, `90m`, `1h30m`, `45s`, `1d` (units d, h, m, s, summed).
/// More than zero and at most a week. Errors name `field`.
pub fn parse_duration(field: &str, text: &str) -> Result<u32> {
    let bad = || {
        Error::invalid(
            field,
            format!("{text:?} is not a duration; write it like 2h, 90m or 1h30m"),
        )
    };
    let mut total: u64 = 0;
    let mut number = String::new();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(Error::invalid(
            field,
            format!("{text:?} is zero; a window must last"),
        ));
    }
    if total > 7 * 86_400 {
        return Err(Error::invalid(
            field,
            format!("{text:?} is longer than a week; a weekly window lasts at most 7d"),
        ));
    }
    u32::try_from(total).map_err(|_| bad())
}

/// A wall-clock time `HH:MM` (00:00 to 23:59). Errors name `field`.
pub fn parse_clock_time(field: &str, text: &str) -> Result<NaiveTime> {
    parse_local_time(text).map_err(|_| {
        Error::invalid(
            field,
            format!("{text:?} is not a time of day; write HH:MM from 00:00 to 23:59"),
        )
    })
}

/// An IANA zone name. Errors name `field`.
pub fn parse_zone(field: &str, text: &str) -> Result<Tz> {
    parse_time_zone(text).map_err(|_| {
        Error::invalid(
            field,
            format!("{text:?} is not an IANA time zone such as Europe/Berlin or UTC"),
        )
    })
}

/// An instant as typed: RFC 3339 (`2026-03-29T02:00:00+02:00`, `...Z`), or a local
/// `YYYY-MM-DD HH:MM` (or with a `T`) read in `tz`; in UTC from the year 1970 to 9999, so that
/// it is written back as it was read. Errors name `field`.
pub fn parse_instant(field: &str, text: &str, tz: &Tz) -> Result<DateTime<Utc>> {
    let t = read_instant(field, text, tz)?;
    if !(1970..=9999).contains(&t.year()) {
        return Err(Error::invalid(
            field,
            format!("{:?} is outside the years 1970 to 9999 (UTC)", text.trim()),
        ));
    }
    Ok(t)
}

fn read_instant(field: &str, text: &str, tz: &Tz) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|local| resolve_local(tz, local))
    .ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "{text:?} is not a time; write RFC 3339 (2026-03-29T02:00:00Z) or YYYY-MM-DD HH:MM"
            ),
        )
    })
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

/// The stored window with this id.
pub fn window(conn: &Connection, id: i64) -> Result<Option<MaintenanceWindow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_WINDOW} WHERE id = ?1"))?;
    Ok(stmt.query_row([id], window_from_row).optional()?)
}

/// A window with the name of its partner (`None`: every partner).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedWindow {
    #[serde(flatten)]
    pub window: MaintenanceWindow,
    pub partner: Option<String>,
}

/// Maintenance windows through the registry: each change runs in one transaction with its
/// audit row (`maintenance.add`, `maintenance.remove`; the subject is the partner's name, or
/// `all partners`).
impl Registry {
    /// Stores a window for `partner` (`None`: every partner) titled `title`.
    pub fn add_maintenance_window(
        &mut self,
        partner: Option<&str>,
        title: &str,
        schedule: &Schedule,
    ) -> Result<NamedWindow> {
        let title = check_title("title", title)?;
        let created_at = self.clock().now();
        self.write(|w| write_window(w, partner, title, schedule, created_at))
    }

    /// Removes the window with this id.
    pub fn remove_maintenance_window(&mut self, id: i64) -> Result<NamedWindow> {
        self.write(|w| {
            let window = window(w.tx, id)?.ok_or_else(|| {
                Error::NotFound(format!("id: no maintenance window with id {id}"))
            })?;
            let partner = window_partner_name(w.tx, window.partner_id)?;
            remove_window(w.tx, id)?;
            w.audit(
                "maintenance.remove",
                "maintenance",
                partner.as_deref().unwrap_or(ALL_PARTNERS),
                Some(&window),
            )?;
            Ok(NamedWindow { window, partner })
        })
    }

    /// Every window (`None`), or those that apply to one partner (its own and those for every
    /// partner), in the order they were added.
    pub fn maintenance_windows(&self, partner: Option<&str>) -> Result<Vec<NamedWindow>> {
        let conn = self.store().conn();
        let windows = match partner {
            Some(name) => windows_for(conn, window_partner_id(conn, name)?)?,
            None => all_windows(conn)?,
        };
        windows
            .into_iter()
            .map(|window| {
                Ok(NamedWindow {
                    partner: window_partner_name(conn, window.partner_id)?,
                    window,
                })
            })
            .collect()
    }
}

/// The audit subject of a window for every partner.
pub const ALL_PARTNERS: &str = "all partners";

/// A window's title as typed, trimmed: one line of at most 200 characters. Errors name `field`.
pub fn check_title<'a>(field: &str, title: &'a str) -> Result<&'a str> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "give a title of one line, at most 200 characters",
        ));
    }
    Ok(title)
}

/// Stores a window (its title already checked) with its `maintenance.add` audit row, inside
/// the caller's transaction; shared by `maintenance add` and the workspace import.
pub(crate) fn write_window(
    w: &Writer<'_>,
    partner: Option<&str>,
    title: &str,
    schedule: &Schedule,
    created_at: DateTime<Utc>,
) -> Result<NamedWindow> {
    let partner_id = match partner {
        Some(name) => Some(window_partner_id(w.tx, name)?),
        None => None,
    };
    let window = add_window(w.tx, partner_id, title, schedule, created_at)?;
    w.audit(
        "maintenance.add",
        "maintenance",
        partner.unwrap_or(ALL_PARTNERS),
        Some(&window),
    )?;
    Ok(NamedWindow {
        window,
        partner: partner.map(str::to_string),
    })
}

fn window_partner_id(conn: &Connection, name: &str) -> Result<u32> {
    conn.query_row("SELECT id FROM partners WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("partner: no partner named {name:?}")))
}

fn window_partner_name(conn: &Connection, id: Option<u32>) -> Result<Option<String>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(conn
        .query_row("SELECT name FROM partners WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn berlin_sundays_at(start: &str) -> Schedule {
        Schedule::weekly(&[Weekday::Sun], start, 2 * 3_600, "Europe/Berlin").unwrap()
    }

    #[test]
    fn the_next_weekly_opening_follows_the_zone_across_the_spring_change() {
        let s = berlin_sundays_at("02:00");
        // Winter: 02:00 CET is 01:00 UTC.
        assert_eq!(
            s.next_occurrence(utc("2026-03-20T12:00:00Z")),
            Some(Occurrence {
                start: utc("2026-03-22T01:00:00Z"),
                end: utc("2026-03-22T03:00:00Z"),
            })
        );
        // The night the clocks go forward: 02:00 does not exist, it is read as 03:00 CEST
        // (01:00 UTC) and the window still ends at local 04:00 (02:00 UTC).
        assert_eq!(
            s.next_occurrence(utc("2026-03-25T12:00:00Z")),
            Some(Occurrence {
                start: utc("2026-03-29T01:00:00Z"),
                end: utc("2026-03-29T02:00:00Z"),
            })
        );
        // Summer: 02:00 CEST is 00:00 UTC.
        assert_eq!(
            s.next_occurrence(utc("2026-03-30T12:00:00Z")),
            Some(Occurrence {
                start: utc("2026-04-05T00:00:00Z"),
                end: utc("2026-04-05T02:00:00Z"),
            })
        );
    }

    #[test]
    fn an_open_window_is_its_own_next_occurrence_and_a_past_one_off_has_none() {
        let s = berlin_sundays_at("02:00");
        let open = s.next_occurrence(utc("2026-04-05T01:00:00Z")).unwrap();
        assert_eq!(open.start, utc("2026-04-05T00:00:00Z"), "the one open now");
        let once =
            Schedule::once(utc("2026-01-01T00:00:00Z"), utc("2026-01-01T01:00:00Z")).unwrap();
        assert_eq!(once.next_occurrence(utc("2026-01-01T02:00:00Z")), None);
        assert!(once.next_occurrence(utc("2025-12-31T00:00:00Z")).is_some());
    }

    #[test]
    fn typed_days_durations_times_and_instants_parse_or_name_their_field() {
        use Weekday::*;
        assert_eq!(parse_weekdays("days", "wed,Mon").unwrap(), [Mon, Wed]);
        assert_eq!(
            parse_weekdays("days", "weekdays").unwrap(),
            [Mon, Tue, Wed, Thu, Fri]
        );
        assert_eq!(
            parse_weekdays("days", "sunday, weekends").unwrap(),
            [Sat, Sun]
        );
        for bad in ["", "mon,,tue", "funday"] {
            let e = parse_weekdays("days", bad).unwrap_err();
            assert_eq!(e.field(), Some("days"), "{bad:?}: {e}");
        }
        assert_eq!(parse_duration("for", "2h").unwrap(), 7_200);
        assert_eq!(parse_duration("for", "90m").unwrap(), 5_400);
        assert_eq!(parse_duration("for", "1h30m").unwrap(), 5_400);
        for bad in ["", "0m", "0h0m", "2", "h", "2x", "8d", "-1h"] {
            let e = parse_duration("for", bad).unwrap_err();
            assert_eq!(e.field(), Some("for"), "{bad:?}: {e}");
        }
        assert_eq!(
            parse_clock_time("at", "23:59").unwrap(),
            NaiveTime::from_hms_opt(23, 59, 0).unwrap()
        );
        for bad in ["25:00", "12:60", "noon", ""] {
            assert_eq!(parse_clock_time("at", bad).unwrap_err().field(), Some("at"));
        }
        assert_eq!(
            parse_zone("tz", "Mars/Olympus").unwrap_err().field(),
            Some("tz")
        );
        let berlin = parse_zone("tz", "Europe/Berlin").unwrap();
        assert_eq!(
            parse_instant("from", "2026-07-01 10:00", &berlin).unwrap(),
            utc("2026-07-01T08:00:00Z"),
            "a local time is read in the zone given"
        );
        assert_eq!(
            parse_instant("from", "2026-07-01T10:00:00-04:00", &berlin).unwrap(),
            utc("2026-07-01T14:00:00Z"),
            "RFC 3339 carries its own offset"
        );
        assert_eq!(
            parse_instant("to", "tomorrow", &berlin)
                .unwrap_err()
                .field(),
            Some("to")
        );
    }

    #[test]
    fn schedules_describe_themselves_in_one_line() {
        let s = Schedule::weekly(
            &[Weekday::Mon, Weekday::Wed],
            "02:00",
            5_400,
            "Europe/Berlin",
        )
        .unwrap();
        assert_eq!(
            s.describe(),
            "weekly Mon, Wed 02:00 for 1h 30m (Europe/Berlin)"
        );
        let once =
            Schedule::once(utc("2026-03-29T01:00:00Z"), utc("2026-03-29T03:00:00Z")).unwrap();
        assert_eq!(once.describe(), "once 2026-03-29 01:00 to 03:00 UTC");
    }

    #[test]
    fn windows_added_and_removed_through_the_registry_are_audited() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Registry::open(dir.path().join("e.db")).unwrap();
        reg.add_partner(&crate::NewPartner::new(
            "hub",
            crate::PartnerKind::Http,
            "https://hub.example.com",
        ))
        .unwrap();
        let weekly = berlin_sundays_at("02:00");
        let own = reg
            .add_maintenance_window(Some("hub"), "patching", &weekly)
            .unwrap();
        let all = reg
            .add_maintenance_window(None, " freeze ", &weekly)
            .unwrap();
        assert_eq!(all.window.title, "freeze");
        assert_eq!(all.partner, None);
        let listed: Vec<i64> = reg
            .maintenance_windows(Some("hub"))
            .unwrap()
            .iter()
            .map(|w| w.window.id)
            .collect();
        assert_eq!(listed, [own.window.id, all.window.id]);
        let e = reg
            .add_maintenance_window(Some("nobody"), "x", &weekly)
            .unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().starts_with("partner: "),
            "{e}"
        );
        let e = reg.add_maintenance_window(None, "  ", &weekly).unwrap_err();
        assert_eq!(e.field(), Some("title"));
        reg.remove_maintenance_window(own.window.id).unwrap();
        let e = reg.remove_maintenance_window(own.window.id).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        let audit: Vec<(String, String)> = reg
            .audit_log(None, 10)
            .unwrap()
            .into_iter()
            .filter(|a| a.entity == "maintenance")
            .map(|a| (a.action, a.subject))
            .collect();
        assert_eq!(
            audit,
            [
                ("maintenance.remove".to_string(), "hub".to_string()),
                ("maintenance.add".to_string(), ALL_PARTNERS.to_string()),
                ("maintenance.add".to_string(), "hub".to_string()),
            ]
        );
    }
}
