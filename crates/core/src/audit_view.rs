//! The audit log as the app's Audit page reads it: newest first, filtered by subject (a
//! partner's name, a setting's key) and action, a page at a time (keyset paging on the id, so
//! a page costs the same however long the log), and the same selection exported as CSV with
//! the usage export's pieces (`csv_export`: a BOM, neutralised text cells, an atomic write).
//! Read-only: the log is append-only (triggers refuse UPDATE and DELETE) and nothing here
//! writes to it.

use std::io::Write;
use std::path::Path;

use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::csv_export::{neutralise, write_file_atomically, BOM};
use crate::error::{Error, Result};
use crate::model::AuditEntry;
use crate::registry::Registry;

/// The most rows one page holds.
pub const MAX_PAGE: u32 = 500;

/// Which entries, and which page of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditQuery {
    /// Only entries about this subject (a partner's name, a setting's key); exact.
    #[serde(default)]
    pub subject: Option<String>,
    /// Only entries of this action (`partner.add`, `setting.set`, ...).
    #[serde(default)]
    pub action: Option<String>,
    /// Only entries made at or after this instant: RFC 3339 (`2026-11-26T09:00:00Z`) or a day
    /// (`2026-11-26`, from 00:00 UTC).
    #[serde(default)]
    pub since: Option<String>,
    /// Only entries older than this id: the `next_before` of the previous page.
    #[serde(default)]
    pub before_id: Option<u32>,
    /// Rows per page (1 to [`MAX_PAGE`]; 100 when absent). Ignored by the export.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts; `None` on the last page.
    pub next_before: Option<u32>,
    /// Every action in the log, for the filter menu.
    pub actions: Vec<String>,
}

const SELECT: &str = "SELECT id, at, actor, action, entity, subject, detail FROM audit_log
     WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR action = ?2)
       AND (?3 IS NULL OR id < ?3) AND (?4 IS NULL OR at >= ?4)
     ORDER BY id DESC";

/// An entry from `SELECT id, at, actor, action, entity, subject, detail` (the registry's
/// partner trail reads with it too).
pub(crate) fn entry(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        entity: r.get(4)?,
        subject: r.get(5)?,
        detail: r.get(6)?,
    })
}

/// Blank filters mean no filter.
fn filter(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// The `since` filter as the log stores instants (RFC 3339, milliseconds, UTC), so that
/// comparing the text compares the times.
fn since(query: &AuditQuery) -> Result<Option<String>> {
    let Some(text) = filter(&query.since) else {
        return Ok(None);
    };
    let at = match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.with_timezone(&chrono::Utc),
        Err(_) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| {
                Error::invalid(
                    "since",
                    format!("{text:?} is neither a day (YYYY-MM-DD) nor an RFC 3339 instant"),
                )
            })?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    };
    Ok(Some(
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    ))
}

/// One page of entries matching `query`, newest first.
pub fn page(registry: &Registry, query: &AuditQuery) -> Result<AuditPage> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("{limit} is not a page size from 1 to {MAX_PAGE}"),
        ));
    }
    let since = since(query)?;
    let conn = registry.store().conn();
    let mut stmt = conn.prepare_cached(&format!("{SELECT} LIMIT ?5"))?;
    let mut entries = stmt
        .query_map(
            params![
                filter(&query.subject),
                filter(&query.action),
                query.before_id,
                since,
                limit + 1
            ],
            entry,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    let actions = conn
        .prepare_cached("SELECT DISTINCT action FROM audit_log ORDER BY action")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(AuditPage {
        entries,
        next_before,
        actions,
    })
}

/// The CSV header row.
pub const CSV_HEADER: [&str; 7] = ["id", "at", "actor", "action", "entity", "subject", "detail"];

fn csv_failure(e: csv::Error) -> Error {
    Error::Io {
        context: "cannot write the audit CSV".into(),
        source: std::io::Error::other(e),
    }
}

/// Writes every entry matching `query`'s filters (all pages, newest first) as CSV to `out`,
/// with a BOM when `bom` is set; every text cell neutralised. Returns the rows written.
pub fn write_csv<W: Write>(
    registry: &Registry,
    query: &AuditQuery,
    mut out: W,
    bom: bool,
) -> Result<u64> {
    let since = since(query)?;
    if bom {
        out.write_all(BOM).map_err(|e| Error::Io {
            context: "cannot write the audit CSV".into(),
            source: e,
        })?;
    }
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    csv.write_record(CSV_HEADER).map_err(csv_failure)?;
    let conn = registry.store().conn();
    let mut stmt = conn.prepare_cached(SELECT)?;
    let rows = stmt.query_map(
        params![
            filter(&query.subject),
            filter(&query.action),
            query.before_id,
            since
        ],
        entry,
    )?;
    let mut written = 0;
    for row in rows {
        let e = row?;
        let id = e.id.to_string();
        csv.write_record([
            id.as_str(),
            &neutralise(&e.at),
            &neutralise(&e.actor),
            &neutralise(&e.action),
            &neutralise(&e.entity),
            &neutralise(&e.subject),
            &neutralise(e.detail.as_deref().unwrap_or("")),
        ])
        .map_err(csv_failure)?;
        written += 1;
    }
    csv.flush().map_err(|e| Error::Io {
        context: "cannot write the audit CSV".into(),
        source: e,
    })?;
    Ok(written)
}

/// Exports the entries matching `query` to the CSV file `path` (with a BOM), atomically:
/// `path` is either the whole export or left as it was.
pub fn export_csv(path: &Path, registry: &Registry, query: &AuditQuery) -> Result<u64> {
    write_file_atomically(path, |file| write_csv(registry, query, file, true))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{FixedClock, NewPartner, PartnerKind, Store};

    fn registry(dir: &tempfile::TempDir) -> Registry {
        Registry::new(
            Store::open(dir.path().join("ecosystem.db")).unwrap(),
            "tester",
            Arc::new(FixedClock("2026-11-26T12:00:00Z".parse().unwrap())),
        )
    }

    /// Three partners (one named like a formula) and two settings: five entries.
    fn filled(dir: &tempfile::TempDir) -> Registry {
        let mut r = registry(dir);
        for name in ["Acme", "Globex", "=SUM(A1)"] {
            r.add_partner(&NewPartner::new(
                name,
                PartnerKind::Mlflow,
                "https://m.test",
            ))
            .unwrap();
        }
        r.set_setting("notifications.degraded", "1").unwrap();
        r.set_setting("notifications.degraded", "0").unwrap();
        r
    }

    fn subjects(page: &AuditPage) -> Vec<&str> {
        page.entries.iter().map(|e| e.subject.as_str()).collect()
    }

    #[test]
    fn pages_go_newest_first_and_end_where_the_log_does() {
        let dir = tempfile::tempdir().unwrap();
        let r = filled(&dir);
        let mut query = AuditQuery {
            limit: Some(2),
            ..AuditQuery::default()
        };
        let first = page(&r, &query).unwrap();
        assert_eq!(
            subjects(&first),
            ["notifications.degraded", "notifications.degraded"]
        );
        assert_eq!(first.entries[0].detail.as_deref(), Some(r#"{"value":"0"}"#));
        query.before_id = first.next_before;
        let second = page(&r, &query).unwrap();
        assert_eq!(subjects(&second), ["=SUM(A1)", "Globex"]);
        query.before_id = second.next_before;
        let last = page(&r, &query).unwrap();
        assert_eq!(subjects(&last), ["Acme"]);
        assert_eq!(last.next_before, None);
        assert_eq!(first.actions, ["partner.add", "setting.set"]);
    }

    #[test]
    fn filters_by_subject_and_action_and_refuses_a_bad_page_size() {
        let dir = tempfile::tempdir().unwrap();
        let r = filled(&dir);
        let by_subject = page(
            &r,
            &AuditQuery {
                subject: Some(" Globex ".into()),
                ..AuditQuery::default()
            },
        )
        .unwrap();
        assert_eq!(subjects(&by_subject), ["Globex"]);
        let by_action = page(
            &r,
            &AuditQuery {
                action: Some("partner.add".into()),
                subject: Some(String::new()),
                ..AuditQuery::default()
            },
        )
        .unwrap();
        assert_eq!(subjects(&by_action), ["=SUM(A1)", "Globex", "Acme"]);
        let refused = page(
            &r,
            &AuditQuery {
                limit: Some(0),
                ..AuditQuery::default()
            },
        )
        .unwrap_err();
        assert!(refused.to_string().contains("limit"), "{refused}");
    }

    #[test]
    fn since_keeps_the_entries_from_that_instant_on_and_refuses_what_is_not_a_time() {
        let dir = tempfile::tempdir().unwrap();
        drop(filled(&dir));
        let mut later = Registry::new(
            Store::open(dir.path().join("ecosystem.db")).unwrap(),
            "tester",
            Arc::new(FixedClock("2026-11-28T08:30:00Z".parse().unwrap())),
        );
        later.set_setting("notifications.degraded", "1").unwrap();
        let since = |text: &str| AuditQuery {
            since: Some(text.into()),
            ..AuditQuery::default()
        };
        for text in [
            "2026-11-27",
            "2026-11-28T08:30:00Z",
            "2026-11-28T09:30:00+01:00",
        ] {
            let found = page(&later, &since(text)).unwrap();
            assert_eq!(subjects(&found), ["notifications.degraded"], "{text}");
        }
        assert_eq!(page(&later, &since("2026-11-26")).unwrap().entries.len(), 6);
        assert!(page(&later, &since("2026-11-28T08:30:00.001Z"))
            .unwrap()
            .entries
            .is_empty());
        let mut csv = Vec::new();
        assert_eq!(
            write_csv(&later, &since("2026-11-27"), &mut csv, false).unwrap(),
            1
        );
        let refused = page(&later, &since("last tuesday")).unwrap_err();
        assert!(refused.to_string().contains("since"), "{refused}");
    }

    #[test]
    fn the_export_writes_every_matching_entry_with_text_cells_neutralised() {
        let dir = tempfile::tempdir().unwrap();
        let r = filled(&dir);
        let path = dir.path().join("audit.csv");
        let query = AuditQuery {
            action: Some("partner.add".into()),
            limit: Some(1),
            ..AuditQuery::default()
        };
        assert_eq!(export_csv(&path, &r, &query).unwrap(), 3);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[BOM.len()..].to_vec()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "id,at,actor,action,entity,subject,detail");
        assert!(
            lines[1].contains(",tester,partner.add,partner,'=SUM(A1),"),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 5, "header, three rows and the final line end");
        // The log is still whole: exporting reads, never writes.
        assert_eq!(r.audit_log(None, 10).unwrap().len(), 5);
    }
}
