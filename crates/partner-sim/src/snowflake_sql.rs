//! The Snowflake simulator's tiny SQL engine. It recognises the statements Ecosystem's
//! connectors send and answers them from deterministic synthetic data:
//! constant selects (`SELECT CURRENT_ACCOUNT(), CURRENT_USER(), CURRENT_ROLE(),
//! CURRENT_VERSION()`, literals, `SYSTEM$WAIT(n)`), `SHOW WAREHOUSES`, and selects from
//! `SNOWFLAKE.ACCOUNT_USAGE.{WAREHOUSE_METERING_HISTORY, QUERY_HISTORY,
//! METERING_DAILY_HISTORY}` (also as `TABLE(INFORMATION_SCHEMA.WAREHOUSE_METERING_HISTORY(..))`),
//! matched case-insensitively on the FROM target. Supported over those views: plain columns,
//! `*`, `SUM/AVG/MIN/MAX/COUNT`, `TO_DATE(c)`, `c::DATE`, `DATE_TRUNC('day'|'hour'|'month', c)`,
//! aliases, an implicit GROUP BY of the non-aggregate items, time bounds in WHERE on
//! `START_TIME`/`USAGE_DATE` (`>=`/`>` and `<`/`<=`, joined by AND, each
//! `DATEADD(day, -N, CURRENT_TIMESTAMP())`, `CURRENT_DATE - N` or a quoted date or timestamp),
//! `ORDER BY <name|position> [DESC]` and `LIMIT n`. Other WHERE conditions are ignored.
//!
//! Values follow the SQL API's `jsonv2` encoding: everything is a string; `fixed` numbers are
//! decimal text with `scale` digits; `timestamp_ltz` is `"<epoch seconds>.<9-digit nanos>"`;
//! `date` is days since the epoch.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

use crate::check::unit;

/// A result column.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub name: String,
    pub ty: Ty,
    pub table: &'static str,
}

/// Snowflake logical types used here, with their `rowType` names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Ty {
    /// NUMBER(38, scale).
    Fixed(u32),
    Text,
    TimestampLtz,
    Date,
    Boolean,
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Fixed(_) => "fixed",
            Ty::Text => "text",
            Ty::TimestampLtz => "timestamp_ltz",
            Ty::Date => "date",
            Ty::Boolean => "boolean",
        }
    }
}

/// A cell before encoding.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    /// Milliseconds since the epoch.
    Ts(i64),
    /// Days since the epoch.
    Date(i64),
    Bool(bool),
}

impl Cell {
    fn encode(&self, ty: Ty) -> Option<String> {
        Some(match (self, ty) {
            (Cell::Null, _) => return None,
            (Cell::Num(v), Ty::Fixed(0)) => format!("{}", v.round() as i64),
            (Cell::Num(v), Ty::Fixed(s)) => format!("{v:.*}", s as usize),
            (Cell::Num(v), _) => format!("{v}"),
            (Cell::Text(t), _) => t.clone(),
            (Cell::Ts(ms), _) => format!(
                "{}.{:09}",
                ms.div_euclid(1000),
                ms.rem_euclid(1000) * 1_000_000
            ),
            (Cell::Date(d), _) => d.to_string(),
            (Cell::Bool(b), _) => b.to_string(),
        })
    }

    fn num(&self) -> f64 {
        match self {
            Cell::Num(v) => *v,
            Cell::Ts(v) | Cell::Date(v) => *v as f64,
            _ => 0.0,
        }
    }
}

/// A finished result: columns and encoded rows.
#[derive(Clone, Debug)]
pub(crate) struct ResultTable {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// A SQL error as the SQL API reports it (HTTP 422).
#[derive(Clone, Debug)]
pub(crate) struct SqlError {
    pub code: &'static str,
    pub sql_state: &'static str,
    pub message: String,
}

/// Session facts for CURRENT_*().
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub account: String,
    pub user: String,
    pub role: String,
    pub warehouse: String,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub now_ms: i64,
}

/// What running a statement gave, and how long it "takes".
#[derive(Clone, Debug)]
pub(crate) struct Executed {
    pub table: ResultTable,
    /// Extra run time asked for by `SYSTEM$WAIT`.
    pub wait_ms: i64,
    /// Reads an ACCOUNT_USAGE view (slow in real Snowflake).
    pub account_usage: bool,
}

fn compile(message: String) -> SqlError {
    SqlError {
        code: "001003",
        sql_state: "42000",
        message: format!("SQL compilation error:\n{message}"),
    }
}

fn invalid_identifier(ident: &str) -> SqlError {
    SqlError {
        code: "000904",
        sql_state: "42000",
        message: format!(
            "SQL compilation error: error line 1 at position 7\ninvalid identifier '{ident}'"
        ),
    }
}

/// Byte positions of top-level (outside quotes and parentheses) occurrences of `kw` as a word.
fn find_kw(upper: &str, kw: &str) -> Option<usize> {
    let bytes = upper.as_bytes();
    let (mut depth, mut quoted) = (0i32, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' {
            quoted = !quoted;
        } else if !quoted {
            if c == b'(' {
                depth += 1;
            } else if c == b')' {
                depth -= 1;
            } else if depth == 0 && upper[i..].starts_with(kw) {
                let before = i == 0 || !is_ident(bytes[i - 1]);
                let after = bytes.get(i + kw.len()).is_none_or(|b| !is_ident(*b));
                if before && after {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.'
}

/// Splits on top-level commas.
fn split_items(s: &str) -> Vec<String> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim().to_string());
    out
}

/// Runs one statement.
pub(crate) fn execute(sql: &str, session: &Session) -> Result<Executed, SqlError> {
    let sql = sql.trim().trim_end_matches(';').trim();
    let upper = sql.to_ascii_uppercase();
    let first = upper
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if upper.split_whitespace().collect::<Vec<_>>() == ["SHOW", "WAREHOUSES"]
        || upper.starts_with("SHOW WAREHOUSES ")
    {
        return Ok(Executed {
            table: show_warehouses(session),
            wait_ms: 0,
            account_usage: false,
        });
    }
    if first != "SELECT" {
        return Err(compile(format!(
            "syntax error line 1 at position 0 unexpected '{}'.",
            sql.split_whitespace().next().unwrap_or_default()
        )));
    }
    let body = &sql[6..];
    let ubody = &upper[6..];
    let Some(from) = find_kw(ubody, "FROM") else {
        return constant_select(body, session);
    };
    let select_list = &body[..from];
    let rest = &body[from + 4..];
    let urest = &ubody[from + 4..];
    let clause_end = ["WHERE", "GROUP", "ORDER", "LIMIT", "HAVING"]
        .iter()
        .filter_map(|k| find_kw(urest, k))
        .min()
        .unwrap_or(urest.len());
    let target = urest[..clause_end].trim().to_string();
    let view = resolve_view(&target).ok_or_else(|| SqlError {
        code: "002003",
        sql_state: "42S02",
        message: format!(
            "SQL compilation error:\nObject '{}' does not exist or not authorized.",
            rest[..clause_end].trim()
        ),
    })?;
    let (cols, mut rows) = view_rows(view, session.now_ms);
    // WHERE: only a lower time bound is honoured.
    if let Some(w) = find_kw(urest, "WHERE") {
        let end = ["GROUP", "ORDER", "LIMIT", "HAVING"]
            .iter()
            .filter_map(|k| find_kw(urest, k))
            .filter(|p| *p > w)
            .min()
            .unwrap_or(urest.len());
        let time_col = cols
            .iter()
            .position(|(n, _)| *n == "START_TIME" || *n == "USAGE_DATE");
        if let Some(i) = time_col {
            let (lower, upper) = time_bounds(&urest[w + 5..end], session.now_ms);
            if let Some(bound) = lower {
                rows.retain(|r| match r[i] {
                    Cell::Ts(ms) => ms >= bound,
                    Cell::Date(d) => d * 86_400_000 >= bound - bound.rem_euclid(86_400_000),
                    _ => true,
                });
            }
            if let Some((bound, inclusive)) = upper {
                rows.retain(|r| {
                    let ms = match r[i] {
                        Cell::Ts(ms) => ms,
                        Cell::Date(d) => d * 86_400_000,
                        _ => return true,
                    };
                    ms < bound || (inclusive && ms == bound)
                });
            }
        }
    }
    let items = split_items(select_list);
    let mut exprs = Vec::new();
    for item in &items {
        if item == "*" {
            for (name, ty) in cols.iter().filter(|(n, _)| !n.starts_with('_')) {
                exprs.push((name.to_string(), Expr::Col(col_index(&cols, name)?, *ty)));
            }
            continue;
        }
        let (expr_text, alias) = split_alias(item);
        let expr = parse_expr(&expr_text, &cols)?;
        exprs.push((
            alias.unwrap_or_else(|| expr_text.to_ascii_uppercase()),
            expr,
        ));
    }
    let aggregated = exprs.iter().any(|(_, e)| matches!(e, Expr::Agg(..)));
    let mut out_rows: Vec<Vec<Cell>> = if aggregated {
        let mut groups: Vec<(Vec<Cell>, Vec<&Vec<Cell>>)> = Vec::new();
        for row in &rows {
            let key: Vec<Cell> = exprs
                .iter()
                .filter(|(_, e)| !matches!(e, Expr::Agg(..)))
                .map(|(_, e)| e.scalar(row))
                .collect();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(row),
                None => groups.push((key, vec![row])),
            }
        }
        if groups.is_empty() && exprs.iter().all(|(_, e)| matches!(e, Expr::Agg(..))) {
            groups.push((Vec::new(), Vec::new()));
        }
        let weight = cols.iter().position(|(n, _)| *n == "_WEIGHT");
        groups
            .into_iter()
            .map(|(key, members)| {
                let mut key = key.into_iter();
                exprs
                    .iter()
                    .map(|(_, e)| match e {
                        Expr::Agg(f, arg, _) => aggregate(*f, arg.as_deref(), &members, weight),
                        _ => key.next().unwrap_or(Cell::Null),
                    })
                    .collect()
            })
            .collect()
    } else {
        rows.iter()
            .map(|row| exprs.iter().map(|(_, e)| e.scalar(row)).collect())
            .collect()
    };
    // ORDER BY <name|position> [ASC|DESC]; default: first column ascending.
    let (mut order_col, mut desc) = (0usize, false);
    if let Some(o) = find_kw(urest, "ORDER") {
        let end = find_kw(urest, "LIMIT")
            .filter(|l| *l > o)
            .unwrap_or(urest.len());
        let spec = urest[o + 5..end].trim().trim_start_matches("BY").trim();
        let first = split_items(spec).into_iter().next().unwrap_or_default();
        let mut words = first.split_whitespace();
        let key = words.next().unwrap_or_default();
        desc = words.next() == Some("DESC");
        order_col = key
            .parse::<usize>()
            .ok()
            .map(|p| p.saturating_sub(1))
            .or_else(|| {
                exprs
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(key))
                    .or_else(|| items.iter().position(|i| i.to_ascii_uppercase() == key))
            })
            .unwrap_or(0);
    }
    if !out_rows.is_empty() && order_col < exprs.len() {
        out_rows.sort_by(|a, b| {
            let o = a[order_col]
                .partial_cmp(&b[order_col])
                .unwrap_or(std::cmp::Ordering::Equal);
            let o = o.then_with(|| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    if let Some(l) = find_kw(urest, "LIMIT") {
        let n: usize = urest[l + 5..].trim().parse().map_err(|_| {
            compile(format!(
                "syntax error: LIMIT {:?} is not a number",
                urest[l + 5..].trim()
            ))
        })?;
        out_rows.truncate(n);
    }
    let table = view_table(view);
    let columns: Vec<Column> = exprs
        .iter()
        .map(|(name, e)| Column {
            name: name.clone(),
            ty: e.ty(),
            table,
        })
        .collect();
    let rows = out_rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&columns)
                .map(|(c, col)| c.encode(col.ty))
                .collect()
        })
        .collect();
    Ok(Executed {
        table: ResultTable { columns, rows },
        wait_ms: 0,
        account_usage: true,
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Agg {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

#[derive(Clone, Debug)]
enum Expr {
    Col(usize, Ty),
    ToDate(usize),
    Trunc(usize, &'static str),
    Agg(Agg, Option<Box<Expr>>, Ty),
}

impl Expr {
    fn ty(&self) -> Ty {
        match self {
            Expr::Col(_, t) | Expr::Agg(_, _, t) => *t,
            Expr::ToDate(_) => Ty::Date,
            Expr::Trunc(..) => Ty::TimestampLtz,
        }
    }

    fn scalar(&self, row: &[Cell]) -> Cell {
        match self {
            Expr::Col(i, _) => row[*i].clone(),
            Expr::ToDate(i) => match row[*i] {
                Cell::Ts(ms) => Cell::Date(ms.div_euclid(86_400_000)),
                ref other => other.clone(),
            },
            Expr::Trunc(i, unit) => match row[*i] {
                Cell::Ts(ms) => Cell::Ts(truncate(ms, unit)),
                Cell::Date(d) => Cell::Ts(truncate(d * 86_400_000, unit)),
                ref other => other.clone(),
            },
            Expr::Agg(..) => Cell::Null,
        }
    }
}

fn truncate(ms: i64, unit: &str) -> i64 {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return ms;
    };
    let t = match unit {
        "HOUR" => t.with_minute(0).and_then(|t| t.with_second(0)),
        "MONTH" => t
            .date_naive()
            .with_day(1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        _ => t.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
    };
    t.map(|t| t.timestamp_millis() - i64::from(t.timestamp_subsec_millis()))
        .unwrap_or(ms)
}

fn aggregate(f: Agg, arg: Option<&Expr>, rows: &[&Vec<Cell>], weight: Option<usize>) -> Cell {
    let values: Vec<Cell> = match arg {
        Some(e) => rows
            .iter()
            .map(|r| e.scalar(r))
            .filter(|c| *c != Cell::Null)
            .collect(),
        None => Vec::new(),
    };
    match f {
        Agg::Count => {
            let w = |r: &Vec<Cell>| weight.map(|i| r[i].num()).unwrap_or(1.0);
            Cell::Num(match arg {
                None => rows.iter().map(|r| w(r)).sum(),
                Some(e) => rows
                    .iter()
                    .filter(|r| e.scalar(r) != Cell::Null)
                    .map(|r| w(r))
                    .sum(),
            })
        }
        Agg::Sum => Cell::Num(values.iter().map(Cell::num).sum()),
        Agg::Avg if values.is_empty() => Cell::Null,
        Agg::Avg => Cell::Num(values.iter().map(Cell::num).sum::<f64>() / values.len() as f64),
        Agg::Min => values
            .into_iter()
            .reduce(|a, b| if b < a { b } else { a })
            .unwrap_or(Cell::Null),
        Agg::Max => values
            .into_iter()
            .reduce(|a, b| if b > a { b } else { a })
            .unwrap_or(Cell::Null),
    }
}

fn split_alias(item: &str) -> (String, Option<String>) {
    let upper = item.to_ascii_uppercase();
    if let Some(p) = find_kw(&upper, "AS") {
        return (
            item[..p].trim().to_string(),
            Some(unquote(item[p + 2..].trim())),
        );
    }
    // `expr alias` where the expression ends with `)` or is a bare identifier.
    if let Some((left, right)) = item.trim().rsplit_once(char::is_whitespace) {
        let left = left.trim();
        let ident = right
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'"');
        if ident && (left.ends_with(')') || left.bytes().all(is_ident)) && !left.ends_with("::") {
            return (left.to_string(), Some(unquote(right)));
        }
    }
    (item.trim().to_string(), None)
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => s.to_ascii_uppercase(),
    }
}

fn col_index(cols: &[(&'static str, Ty)], name: &str) -> Result<usize, SqlError> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.rsplit('.').next().unwrap_or_default();
    cols.iter()
        .position(|(n, _)| *n == bare && !n.starts_with('_'))
        .ok_or_else(|| invalid_identifier(bare))
}

fn parse_expr(text: &str, cols: &[(&'static str, Ty)]) -> Result<Expr, SqlError> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    if let Some(inner) = upper.strip_suffix("::DATE") {
        return Ok(Expr::ToDate(col_index(cols, inner)?));
    }
    let Some(open) = upper.find('(') else {
        let i = col_index(cols, &upper)?;
        return Ok(Expr::Col(i, cols[i].1));
    };
    let func = upper[..open].trim();
    let args = upper[open + 1..]
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| compile(format!("syntax error: unbalanced parentheses in {t:?}")))?
        .trim();
    let agg = match func {
        "SUM" => Some(Agg::Sum),
        "AVG" => Some(Agg::Avg),
        "MIN" => Some(Agg::Min),
        "MAX" => Some(Agg::Max),
        "COUNT" => Some(Agg::Count),
        _ => None,
    };
    if let Some(f) = agg {
        if f == Agg::Count {
            let arg = if args == "*" {
                None
            } else {
                Some(Box::new(parse_expr(
                    args.trim_start_matches("DISTINCT "),
                    cols,
                )?))
            };
            return Ok(Expr::Agg(Agg::Count, arg, Ty::Fixed(0)));
        }
        let arg = parse_expr(args, cols)?;
        let ty = match (f, arg.ty()) {
            (Agg::Sum | Agg::Avg, Ty::Fixed(s)) => {
                Ty::Fixed(s.max(if f == Agg::Avg { 6 } else { 0 }))
            }
            (_, ty) => ty,
        };
        return Ok(Expr::Agg(f, Some(Box::new(arg)), ty));
    }
    match func {
        "TO_DATE" | "DATE" => Ok(Expr::ToDate(col_index(cols, args)?)),
        "DATE_TRUNC" => {
            let parts = split_items(args);
            let unit = parts
                .first()
                .map(|u| u.trim_matches('\'').to_string())
                .unwrap_or_default();
            let unit = match unit.as_str() {
                "DAY" => "DAY",
                "HOUR" => "HOUR",
                "MONTH" => "MONTH",
                other => {
                    return Err(compile(format!(
                        "DATE_TRUNC unit '{other}' is not simulated (DAY, HOUR, MONTH)"
                    )))
                }
            };
            Ok(Expr::Trunc(
                col_index(cols, parts.get(1).map(String::as_str).unwrap_or_default())?,
                unit,
            ))
        }
        other => Err(SqlError {
            code: "002140",
            sql_state: "42601",
            message: format!("SQL compilation error:\nUnknown function {other}"),
        }),
    }
}

/// The time bounds (ms) of a WHERE clause's `AND`ed conditions: the lower one (`>=` or `>`)
/// and the upper one (`<`, or `<=` with `true`), each `DATEADD(unit, -N, ...)`,
/// `CURRENT_DATE - N` or a quoted date or timestamp. Other conditions are ignored.
fn time_bounds(where_upper: &str, now_ms: i64) -> (Option<i64>, Option<(i64, bool)>) {
    let (mut lower, mut upper) = (None, None);
    let mut rest = where_upper;
    loop {
        let (condition, tail) = match find_kw(rest, "AND") {
            Some(p) => (&rest[..p], Some(&rest[p + 3..])),
            None => (rest, None),
        };
        if let Some(p) = condition.find(">=") {
            lower = lower.or_else(|| bound_value(&condition[p + 2..], now_ms));
        } else if let Some(p) = condition.find('>') {
            lower = lower.or_else(|| bound_value(&condition[p + 1..], now_ms));
        } else if let Some(p) = condition.find("<=") {
            upper = upper.or_else(|| bound_value(&condition[p + 2..], now_ms).map(|b| (b, true)));
        } else if let Some(p) = condition.find('<') {
            upper = upper.or_else(|| bound_value(&condition[p + 1..], now_ms).map(|b| (b, false)));
        }
        match tail {
            Some(t) => rest = t,
            None => break,
        }
    }
    (lower, upper)
}

/// The time (ms) a bound's right-hand side names.
fn bound_value(rhs: &str, now_ms: i64) -> Option<i64> {
    let rhs = rhs.trim_start();
    let now = Utc.timestamp_millis_opt(now_ms).single()?;
    if let Some(args) = rhs.strip_prefix("DATEADD") {
        let args = args.trim_start().strip_prefix('(')?;
        let mut parts = args.splitn(3, ',');
        let unit = parts
            .next()?
            .trim()
            .trim_matches('\'')
            .trim_matches('"')
            .to_string();
        let n: i64 = parts.next()?.replace(' ', "").parse().ok()?;
        let delta = match unit.as_str() {
            "DAY" | "DAYS" | "D" => Duration::days(n),
            "HOUR" | "HOURS" | "H" => Duration::hours(n),
            "MINUTE" | "MINUTES" => Duration::minutes(n),
            "WEEK" | "WEEKS" => Duration::weeks(n),
            "MONTH" | "MONTHS" => Duration::days(30 * n),
            _ => return None,
        };
        return Some((now + delta).timestamp_millis());
    }
    if let Some(rest) = rhs.strip_prefix("CURRENT_DATE") {
        let rest = rest.trim_start().trim_start_matches("()").trim_start();
        let n: i64 = rest
            .strip_prefix('-')
            .map(|r| {
                r.split_whitespace()
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let today = now.date_naive().and_hms_opt(0, 0, 0)?.and_utc();
        return Some((today - Duration::days(n)).timestamp_millis());
    }
    let lit = rhs.strip_prefix('\'')?.split('\'').next()?;
    if let Ok(t) = DateTime::parse_from_rfc3339(lit) {
        return Some(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(lit.get(..10)?, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum View {
    WarehouseMetering,
    QueryHistory,
    MeteringDaily,
}

fn resolve_view(target: &str) -> Option<View> {
    let t: String = target
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let name = if let Some(inner) = t.strip_prefix("TABLE(") {
        inner.split('(').next().unwrap_or_default().to_string()
    } else {
        t
    };
    let parts: Vec<&str> = name.split('.').collect();
    let last = *parts.last()?;
    let schema_ok = parts.len() >= 2
        && matches!(
            parts[parts.len() - 2],
            "ACCOUNT_USAGE" | "INFORMATION_SCHEMA"
        );
    if !schema_ok {
        return None;
    }
    match last {
        "WAREHOUSE_METERING_HISTORY" => Some(View::WarehouseMetering),
        "QUERY_HISTORY" => Some(View::QueryHistory),
        "METERING_DAILY_HISTORY" => Some(View::MeteringDaily),
        _ => None,
    }
}

fn view_table(view: View) -> &'static str {
    match view {
        View::WarehouseMetering => "WAREHOUSE_METERING_HISTORY",
        View::QueryHistory => "QUERY_HISTORY",
        View::MeteringDaily => "METERING_DAILY_HISTORY",
    }
}

/// The simulated warehouses: (id, name, size).
pub(crate) const WAREHOUSES: [(i64, &str, &str); 3] = [
    (1, "COMPUTE_WH", "X-Small"),
    (2, "ETL_WH", "Medium"),
    (3, "BI_WH", "Small"),
];

const HOUR_MS: i64 = 3_600_000;
const DAYS: i64 = 30;

fn view_rows(view: View, now_ms: i64) -> (Vec<(&'static str, Ty)>, Vec<Vec<Cell>>) {
    let this_hour = now_ms - now_ms.rem_euclid(HOUR_MS);
    let c9 = Ty::Fixed(9);
    match view {
        View::WarehouseMetering => {
            let cols = vec![
                ("START_TIME", Ty::TimestampLtz),
                ("END_TIME", Ty::TimestampLtz),
                ("WAREHOUSE_ID", Ty::Fixed(0)),
                ("WAREHOUSE_NAME", Ty::Text),
                ("CREDITS_USED", c9),
                ("CREDITS_USED_COMPUTE", c9),
                ("CREDITS_USED_CLOUD_SERVICES", c9),
            ];
            let mut rows = Vec::new();
            for h in (1..=DAYS * 24).rev() {
                let start = this_hour - h * HOUR_MS;
                for (id, name, _) in WAREHOUSES {
                    let compute = (2.0 * unit(&format!("wmh/{start}/{name}")) * 1e6).round() / 1e6;
                    let cloud = (0.1 * unit(&format!("wmh-cs/{start}/{name}")) * 1e6).round() / 1e6;
                    rows.push(vec![
                        Cell::Ts(start),
                        Cell::Ts(start + HOUR_MS),
                        Cell::Num(id as f64),
                        Cell::Text(name.into()),
                        Cell::Num(compute + cloud),
                        Cell::Num(compute),
                        Cell::Num(cloud),
                    ]);
                }
            }
            (cols, rows)
        }
        View::QueryHistory => {
            let cols = vec![
                ("START_TIME", Ty::TimestampLtz),
                ("END_TIME", Ty::TimestampLtz),
                ("WAREHOUSE_NAME", Ty::Text),
                ("EXECUTION_STATUS", Ty::Text),
                ("QUERY_TYPE", Ty::Text),
                ("USER_NAME", Ty::Text),
                ("TOTAL_ELAPSED_TIME", Ty::Fixed(0)),
                ("_WEIGHT", Ty::Fixed(0)),
            ];
            let mut rows = Vec::new();
            for h in (1..=DAYS * 24).rev() {
                let start = this_hour - h * HOUR_MS;
                for (_, name, _) in WAREHOUSES {
                    for status in ["SUCCESS", "FAIL"] {
                        let scale = if status == "SUCCESS" { 40.0 } else { 3.0 };
                        let n = (scale * unit(&format!("qh/{start}/{name}/{status}"))).floor();
                        rows.push(vec![
                            Cell::Ts(start),
                            Cell::Ts(start + HOUR_MS),
                            Cell::Text(name.into()),
                            Cell::Text(status.into()),
                            Cell::Text("SELECT".into()),
                            Cell::Text("SIM_USER".into()),
                            Cell::Num((5000.0 * unit(&format!("qt/{start}/{name}"))).round()),
                            Cell::Num(n),
                        ]);
                    }
                }
            }
            (cols, rows)
        }
        View::MeteringDaily => {
            let cols = vec![
                ("SERVICE_TYPE", Ty::Text),
                ("USAGE_DATE", Ty::Date),
                ("CREDITS_USED_COMPUTE", c9),
                ("CREDITS_USED_CLOUD_SERVICES", c9),
                ("CREDITS_USED", c9),
                ("CREDITS_ADJUSTMENT_CLOUD_SERVICES", c9),
                ("CREDITS_BILLED", c9),
            ];
            let today = now_ms.div_euclid(86_400_000);
            let mut rows = Vec::new();
            for d in (1..=DAYS).rev() {
                for service in ["WAREHOUSE_METERING", "AUTO_CLUSTERING", "SERVERLESS_TASK"] {
                    let compute = (30.0 * unit(&format!("mdh/{d}/{service}")) * 1e6).round() / 1e6;
                    let cloud = (1.5 * unit(&format!("mdh-cs/{d}/{service}")) * 1e6).round() / 1e6;
                    let adj = -cloud.min(compute * 0.1);
                    rows.push(vec![
                        Cell::Text(service.into()),
                        Cell::Date(today - d),
                        Cell::Num(compute),
                        Cell::Num(cloud),
                        Cell::Num(compute + cloud),
                        Cell::Num(adj),
                        Cell::Num(compute + cloud + adj),
                    ]);
                }
            }
            (cols, rows)
        }
    }
}

fn constant_select(list: &str, s: &Session) -> Result<Executed, SqlError> {
    let mut columns = Vec::new();
    let mut row = Vec::new();
    let mut wait_ms = 0;
    for item in split_items(list) {
        let (expr, alias) = split_alias(&item);
        let upper = expr.to_ascii_uppercase();
        let func = upper.trim_end_matches("()");
        let (cell, ty) = match func {
            "CURRENT_ACCOUNT" => (Cell::Text(s.account.clone()), Ty::Text),
            "CURRENT_ACCOUNT_NAME" => (
                Cell::Text(s.account.rsplit('-').next().unwrap_or_default().to_string()),
                Ty::Text,
            ),
            "CURRENT_ORGANIZATION_NAME" => (
                Cell::Text(s.account.split('-').next().unwrap_or_default().to_string()),
                Ty::Text,
            ),
            "CURRENT_USER" => (Cell::Text(s.user.clone()), Ty::Text),
            "CURRENT_ROLE" => (Cell::Text(s.role.clone()), Ty::Text),
            "CURRENT_VERSION" => (Cell::Text("9.38.1".into()), Ty::Text),
            "CURRENT_WAREHOUSE" => (Cell::Text(s.warehouse.clone()), Ty::Text),
            "CURRENT_DATABASE" => (
                s.database.clone().map(Cell::Text).unwrap_or(Cell::Null),
                Ty::Text,
            ),
            "CURRENT_SCHEMA" => (
                s.schema.clone().map(Cell::Text).unwrap_or(Cell::Null),
                Ty::Text,
            ),
            "CURRENT_REGION" => (Cell::Text("AWS_US_WEST_2".into()), Ty::Text),
            "CURRENT_TIMESTAMP" => (Cell::Ts(s.now_ms), Ty::TimestampLtz),
            "TRUE" | "FALSE" => (Cell::Bool(func == "TRUE"), Ty::Boolean),
            _ if upper.parse::<i64>().is_ok() => (
                Cell::Num(upper.parse::<i64>().unwrap_or(0) as f64),
                Ty::Fixed(0),
            ),
            _ if expr.starts_with('\'') && expr.ends_with('\'') && expr.len() >= 2 => {
                (Cell::Text(expr[1..expr.len() - 1].to_string()), Ty::Text)
            }
            _ if upper.starts_with("SYSTEM$WAIT(") => {
                let args = upper["SYSTEM$WAIT(".len()..].trim_end_matches(')');
                let mut parts = args.split(',');
                let n: i64 = parts
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .map_err(|_| {
                        compile(format!("SYSTEM$WAIT argument {args:?} is not a number"))
                    })?;
                let unit_ms = match parts.next().map(|u| u.trim().trim_matches('\'')) {
                    None | Some("SECONDS") => 1000,
                    Some("MILLISECONDS") => 1,
                    Some("MINUTES") => 60_000,
                    Some(other) => {
                        return Err(compile(format!("SYSTEM$WAIT unit '{other}' is not valid")))
                    }
                };
                wait_ms += n * unit_ms;
                (Cell::Text(format!("waited {n} seconds")), Ty::Text)
            }
            _ => return Err(invalid_identifier(&upper)),
        };
        columns.push(Column {
            name: alias.unwrap_or(upper),
            ty,
            table: "",
        });
        row.push(cell.encode(ty));
    }
    Ok(Executed {
        table: ResultTable {
            columns,
            rows: vec![row],
        },
        wait_ms,
        account_usage: false,
    })
}

fn show_warehouses(s: &Session) -> ResultTable {
    let names = [
        "name",
        "state",
        "type",
        "size",
        "min_cluster_count",
        "max_cluster_count",
        "started_clusters",
        "running",
        "queued",
        "is_default",
        "is_current",
        "auto_suspend",
        "auto_resume",
        "available",
        "provisioning",
        "quiescing",
        "other",
        "created_on",
        "resumed_on",
        "updated_on",
        "owner",
        "comment",
        "resource_monitor",
    ];
    let columns = names
        .iter()
        .map(|n| Column {
            name: (*n).to_string(),
            ty: match *n {
                "min_cluster_count" | "max_cluster_count" | "started_clusters" | "running"
                | "queued" | "auto_suspend" => Ty::Fixed(0),
                "created_on" | "resumed_on" | "updated_on" => Ty::TimestampLtz,
                _ => Ty::Text,
            },
            table: "",
        })
        .collect();
    let created = s.now_ms - 90 * 86_400_000;
    let rows = WAREHOUSES
        .iter()
        .enumerate()
        .map(|(i, (_, name, size))| {
            let started = i != 2;
            let ts = Cell::Ts(created).encode(Ty::TimestampLtz);
            vec![
                Some(name.to_string()),
                Some(if started { "STARTED" } else { "SUSPENDED" }.into()),
                Some("STANDARD".into()),
                Some(size.to_string()),
                Some("1".into()),
                Some("1".into()),
                Some(if started { "1" } else { "0" }.into()),
                Some(i.to_string()),
                Some("0".into()),
                Some(if i == 0 { "Y" } else { "N" }.into()),
                Some(if *name == s.warehouse { "Y" } else { "N" }.into()),
                Some("600".into()),
                Some("true".into()),
                Some(if started { "100" } else { "" }.into()),
                Some("0".into()),
                Some("0".into()),
                Some("0".into()),
                ts.clone(),
                ts.clone(),
                ts,
                Some("ACCOUNTADMIN".into()),
                Some(String::new()),
                Some("null".into()),
            ]
        })
        .collect();
    ResultTable { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            account: "ORG-ACC".into(),
            user: "U".into(),
            role: "R".into(),
            warehouse: "COMPUTE_WH".into(),
            database: None,
            schema: None,
            now_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
        }
    }

    #[test]
    fn metering_grouped_by_warehouse_gives_one_row_per_warehouse() {
        let sql = "SELECT WAREHOUSE_NAME, SUM(CREDITS_USED), SUM(CREDITS_USED_COMPUTE), SUM(CREDITS_USED_CLOUD_SERVICES) FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE START_TIME >= DATEADD(day,-30,CURRENT_TIMESTAMP()) GROUP BY 1";
        let out = execute(sql, &session()).map_err(|e| e.message);
        let table = out.map(|e| e.table);
        assert!(
            table.as_ref().is_ok_and(|t| t.rows.len() == 3),
            "three warehouses: {table:?}"
        );
        let t = table.unwrap_or_else(|_| ResultTable {
            columns: vec![],
            rows: vec![],
        });
        assert_eq!(
            t.columns[1].name, "SUM(CREDITS_USED)",
            "columns are named after the expression"
        );
    }

    #[test]
    fn a_one_day_window_keeps_24_hours_per_warehouse() {
        let sql = "select start_time, warehouse_name, credits_used from snowflake.account_usage.warehouse_metering_history where start_time >= dateadd(hour, -24, current_timestamp())";
        let rows = execute(sql, &session())
            .map(|e| e.table.rows.len())
            .map_err(|e| e.message);
        assert_eq!(rows, Ok(72), "24 hours x 3 warehouses");
    }

    #[test]
    fn an_upper_bound_joined_by_and_ends_the_window() {
        // 2025-12-31T00:00Z to 06:00Z: 6 hours x 3 warehouses.
        let sql = "SELECT START_TIME, WAREHOUSE_NAME FROM SNOWFLAKE.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE START_TIME >= '2025-12-31T00:00:00+00:00' AND START_TIME < '2025-12-31T06:00:00+00:00'";
        let rows = execute(sql, &session())
            .map(|e| e.table.rows.len())
            .map_err(|e| e.message);
        assert_eq!(rows, Ok(18));
        let inclusive = sql.replace("START_TIME < ", "START_TIME <= ");
        let rows = execute(&inclusive, &session())
            .map(|e| e.table.rows.len())
            .map_err(|e| e.message);
        assert_eq!(rows, Ok(21), "<= keeps the hour starting at the bound");
        let hourly = "SELECT DATE_TRUNC('HOUR', START_TIME) AS USAGE_HOUR, WAREHOUSE_NAME, EXECUTION_STATUS, COUNT(*) FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY WHERE START_TIME >= '2025-12-31T00:00:00+00:00' AND START_TIME < '2025-12-31T02:00:00+00:00' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
        let rows = execute(hourly, &session())
            .map(|e| e.table.rows.len())
            .map_err(|e| e.message);
        assert_eq!(rows, Ok(12), "2 hours x 3 warehouses x 2 statuses");
    }

    #[test]
    fn an_unknown_view_is_a_not_found_compilation_error() {
        let err = execute("SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.NOPE", &session()).err();
        assert_eq!(err.map(|e| e.code), Some("002003"), "object does not exist");
    }
}
