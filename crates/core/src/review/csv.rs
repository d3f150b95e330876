//! The quarterly review as one long-format CSV file: `section,period,item,value,unit`, one
//! figure a row, so pandas reads it with `read_csv` and pivots what it needs.
//!
//! The dialect is the usage export's ([`crate::csv_export`]): RFC 4180 through the `csv`
//! crate with CRLF line ends, UTF-8 with a byte-order mark when written to a file, ISO 8601
//! days and instants, plain numbers, and every text cell neutralised against CSV injection
//! with [`neutralise`]. A figure the review does not have (no SLA, no data) has no row.

use std::io::Write;

use crate::csv_export::{neutralise, write_number, BOM};
use crate::error::{Error, Result};
use crate::money::format_amount;

use super::QuarterlyReview;

/// The header row.
pub const HEADER: [&str; 5] = ["section", "period", "item", "value", "unit"];

struct Rows<W: Write> {
    csv: ::csv::Writer<W>,
}

impl<W: Write> Rows<W> {
    /// A row whose value is text (neutralised).
    fn text(
        &mut self,
        section: &str,
        period: &str,
        item: &str,
        value: &str,
        unit: &str,
    ) -> Result<()> {
        self.raw(section, period, item, &neutralise(value), unit)
    }

    /// A row whose value is a number.
    fn number(
        &mut self,
        section: &str,
        period: &str,
        item: &str,
        value: f64,
        unit: &str,
    ) -> Result<()> {
        let mut cell = String::new();
        write_number(&mut cell, value);
        self.raw(section, period, item, &cell, unit)
    }

    /// A row whose value was formatted here (a day, an instant, an amount, a flag).
    fn raw(
        &mut self,
        section: &str,
        period: &str,
        item: &str,
        value: &str,
        unit: &str,
    ) -> Result<()> {
        self.csv
            .write_record([
                neutralise(section).as_ref(),
                period,
                neutralise(item).as_ref(),
                value,
                neutralise(unit).as_ref(),
            ])
            .map_err(csv_error)
    }
}

fn csv_error(e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(source) => io_error(source),
        other => Error::invalid("csv", format!("{other:?}")),
    }
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write the review CSV".into(),
        source,
    }
}

/// Writes `review` as CSV to `out`, with a BOM first when `bom` is set.
pub fn write_csv<W: Write>(review: &QuarterlyReview, mut out: W, bom: bool) -> Result<()> {
    if bom {
        out.write_all(BOM).map_err(io_error)?;
    }
    let csv = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    let mut rows = Rows { csv };
    rows.csv.write_record(HEADER).map_err(csv_error)?;
    let q = review.quarter.as_str();

    rows.text("partner", "", "name", &review.partner, "")?;
    rows.raw("partner", "", "kind", review.kind.as_str(), "")?;
    rows.raw("partner", "", "tier", review.tier.as_str(), "")?;
    if let Some(owner) = &review.owner {
        rows.text("partner", "", "owner", owner, "")?;
    }
    rows.raw("review", q, "start", &review.start, "")?;
    rows.raw("review", q, "end", &review.end, "")?;
    rows.text("review", q, "time_zone", &review.time_zone, "")?;
    rows.raw("review", q, "generated_at", &review.generated_at, "")?;
    rows.raw("review", q, "complete", bool_text(review.complete), "")?;
    for note in &review.notes {
        rows.text("note", q, "note", note, "")?;
    }

    if let Some(c) = &review.contract {
        rows.raw("contract", "", "start", &c.start, "")?;
        rows.raw("contract", "", "end", &c.end, "")?;
        rows.number(
            "contract",
            "",
            "notice_period",
            f64::from(c.notice_days),
            "days",
        )?;
        rows.raw("contract", "", "notice_deadline", &c.notice_deadline, "")?;
        rows.raw("contract", "", "auto_renew", bool_text(c.auto_renew), "")?;
        if let Some(value) = &c.value {
            rows.raw(
                "contract",
                "",
                "value",
                value,
                c.currency.as_deref().unwrap_or(""),
            )?;
        }
    }

    if let Some(sla) = &review.sla {
        rows.number("sla", q, "target", sla.target_percent, "percent")?;
        rows.raw("sla", q, "window", sla.window.as_str(), "")?;
        if let Some(attained) = sla.attained_percent {
            rows.number("sla", q, "uptime", attained, "percent")?;
        }
        rows.number("sla", q, "months_met", f64::from(sla.months_met), "months")?;
        rows.number(
            "sla",
            q,
            "months_missed",
            f64::from(sla.months_missed),
            "months",
        )?;
        for credit in &sla.credits {
            rows.number(
                "credit",
                &credit.period,
                "credit_percent",
                credit.credit_percent,
                "percent",
            )?;
            rows.raw(
                "credit",
                &credit.period,
                "credit_owed",
                &format_amount(credit.credit_owed_minor),
                &sla.currency,
            )?;
        }
        rows.raw(
            "credit",
            q,
            "credit_owed",
            &format_amount(sla.credit_owed_minor),
            &sla.currency,
        )?;
    }

    for m in &review.months {
        if let Some(attained) = m.attained_percent {
            rows.number("uptime", &m.month, "uptime", attained, "percent")?;
        }
        if let Some(target) = m.target_percent {
            rows.number("uptime", &m.month, "target", target, "percent")?;
        }
        if let Some(met) = m.met {
            rows.raw("uptime", &m.month, "met", bool_text(met), "")?;
        }
        if let Some(down) = m.down_seconds {
            rows.number("uptime", &m.month, "down_time", down as f64, "seconds")?;
        }
        rows.number(
            "uptime",
            &m.month,
            "incidents",
            f64::from(m.incidents),
            "incidents",
        )?;
    }

    rows.number(
        "incidents",
        q,
        "count",
        review.incidents.len() as f64,
        "incidents",
    )?;
    rows.number(
        "incidents",
        q,
        "open",
        f64::from(review.open_incidents),
        "incidents",
    )?;
    if let Some(mttr) = review.mttr_seconds {
        rows.number("incidents", q, "mttr", mttr as f64, "seconds")?;
    }
    rows.number(
        "incidents",
        q,
        "unhealthy_time",
        review.unhealthy_seconds as f64,
        "seconds",
    )?;
    for i in &review.incidents {
        // One row per incident field, the incident named by its start.
        rows.raw(
            "incident",
            &i.start,
            "end",
            i.end.as_deref().unwrap_or(""),
            "",
        )?;
        rows.raw("incident", &i.start, "state", &i.state, "")?;
        rows.number(
            "incident",
            &i.start,
            "duration",
            i.duration_seconds as f64,
            "seconds",
        )?;
        rows.text("incident", &i.start, "reason", &i.reason, "")?;
    }

    for u in &review.usage {
        let section = if u.cost { "cost" } else { "usage" };
        for m in &u.months {
            if let Some(value) = m.value {
                rows.number(section, &m.month, &u.metric, value, &u.unit)?;
            }
        }
        rows.number(section, q, &u.metric, u.total, &u.unit)?;
        if let Some(previous) = u.previous_total {
            rows.number(
                &format!("{section}_previous_quarter"),
                q,
                &u.metric,
                previous,
                &u.unit,
            )?;
        }
        if let Some(change) = u.change_percent {
            rows.number(
                &format!("{section}_change"),
                q,
                &u.metric,
                change,
                "percent",
            )?;
        }
    }
    rows.csv.flush().map_err(io_error)
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}
