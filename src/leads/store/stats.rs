//! The statistics' queries. Two ways to the same figures:
//! - counted from the leads with GROUP BY over a time range ([`grouped`]): what the
//!   equality test checks against, and what a request falls back to when the rollup is far
//!   behind;
//! - read from the kept figures (`lead_stat_days` and the histograms of `lead_stat_hours`,
//!   a few rows per day and per whole month, [`kept`], which the process keeps decoded
//!   under each period's stamp) plus what the leads changed since
//!   the rollup add to them ([`since_kept`]): each lead's part in the figures is kept in
//!   `lead_stat_parts`, and a change is the difference between its part now and the kept
//!   one, so the work follows the changes, not the leads of a day.
//!
//! The only code naming the leads' tables in SQL text besides the migrations.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::platform::db::schema::{
    lead_due_days, lead_due_marks, lead_stat_changes, lead_stat_days, lead_stat_hours,
    lead_stat_parts, lead_stat_rollup,
};
use crate::platform::db::{per_backend, DbConnection};
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::histogram::{self, Histograms};

mod kept;
mod parts;
pub use kept::kept;
pub use parts::{changed_leads, keep_parts, since_kept, take_changes};

/// Rows looked up by key at once: a bound list, within SQLite's limit of parameters.
const IDS_AT_ONCE: usize = 500;

#[derive(QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = Text)]
    pub department: String,
    #[diesel(sql_type = BigInt)]
    pub received: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged_on_time: i64,
    #[diesel(sql_type = BigInt)]
    pub verified_on_time: i64,
    #[diesel(sql_type = BigInt)]
    pub closed: i64,
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Median {
    #[diesel(sql_type = Text)]
    department: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    ack: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    close: Option<f64>,
}

#[derive(QueryableByName)]
struct Durations {
    #[diesel(sql_type = Text)]
    department: String,
    #[diesel(sql_type = Timestamp)]
    raised_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    acknowledged_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    closed_at: Option<NaiveDateTime>,
}

const COUNTS: &str = "SELECT l.primary_department AS department, COUNT(*) AS received,
    SUM(CASE WHEN a.met_at IS NOT NULL THEN 1 ELSE 0 END) AS acknowledged,
    SUM(CASE WHEN a.met_at IS NOT NULL AND a.met_at <= a.due_at THEN 1 ELSE 0 END) AS acknowledged_on_time,
    SUM(CASE WHEN v.met_at IS NOT NULL AND v.met_at <= v.due_at THEN 1 ELSE 0 END) AS verified_on_time,
    SUM(CASE WHEN l.state = 'closed' THEN 1 ELSE 0 END) AS closed
  FROM leads l
  JOIN lead_deadlines a ON a.lead_id = l.id AND a.stage = 'acknowledge'
  JOIN lead_deadlines v ON v.lead_id = l.id AND v.stage = 'verify'
  WHERE l.raised_at >= $1 AND l.raised_at < $2 AND l.merged_into IS NULL
  GROUP BY l.primary_department";

const EVALUATED: &str = "SELECT e.department AS key, COUNT(*) AS n FROM lead_evaluations e
  JOIN leads l ON l.id = e.lead_id
  WHERE l.raised_at >= $1 AND l.raised_at < $2 AND e.verdict IN ('satisfied', 'basically_satisfied')
  GROUP BY e.department";

const ALL_EVALUATED: &str = "SELECT e.department AS key, COUNT(*) AS n FROM lead_evaluations e
  JOIN leads l ON l.id = e.lead_id
  WHERE l.raised_at >= $1 AND l.raised_at < $2
  GROUP BY e.department";

const OVERDUE: &str = "SELECT primary_department AS key, COUNT(*) AS n FROM leads
  WHERE state <> 'closed' AND next_due_at < $1
  GROUP BY primary_department";

const TOWNSHIPS: &str = "SELECT raised_unit AS key, COUNT(*) AS n FROM leads
  WHERE raised_at >= $1 AND raised_at < $2 AND source = 'township'
  GROUP BY raised_unit";

const PG_MEDIANS: &str = "SELECT l.primary_department AS department,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY (EXTRACT(EPOCH FROM (a.met_at - l.raised_at)) / 3600.0)::float8) AS ack,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY (EXTRACT(EPOCH FROM (l.closed_at - l.raised_at)) / 3600.0)::float8) AS close
  FROM leads l JOIN lead_deadlines a ON a.lead_id = l.id AND a.stage = 'acknowledge'
  WHERE l.raised_at >= $1 AND l.raised_at < $2 AND l.merged_into IS NULL
  GROUP BY l.primary_department";

const SQLITE_DURATIONS: &str =
    "SELECT l.primary_department AS department, l.raised_at AS raised_at,
    a.met_at AS acknowledged_at, l.closed_at AS closed_at
  FROM leads l JOIN lead_deadlines a ON a.lead_id = l.id AND a.stage = 'acknowledge'
  WHERE l.raised_at >= $1 AND l.raised_at < $2 AND l.merged_into IS NULL";

/// Each backend's form of a query: `$n` placeholders become `?` on SQLite, and SQLite is
/// told which index reads the period (left to itself it walks the whole table in
/// department order to save a sort on GROUP BY).
fn sql(conn: &DbConnection, text: &str) -> String {
    match conn {
        DbConnection::Pg(_) => text.to_owned(),
        DbConnection::Sqlite(_) => text
            .replace("$1", "?")
            .replace("$2", "?")
            .replace("$3", "?")
            .replace(
                "FROM leads l\n",
                "FROM leads l INDEXED BY leads_raised_idx\n",
            )
            .replace(
                "FROM leads l JOIN",
                "FROM leads l INDEXED BY leads_raised_idx JOIN",
            )
            .replace(
                "FROM leads\n  WHERE state",
                "FROM leads INDEXED BY leads_due_idx\n  WHERE state",
            ),
    }
}

fn pairs(
    conn: &mut DbConnection,
    text: &str,
    from: NaiveDateTime,
    to: Option<NaiveDateTime>,
) -> AppResult<BTreeMap<String, i64>> {
    let q = diesel::sql_query(sql(conn, text)).bind::<Timestamp, _>(from);
    let rows: Vec<Pair> = match to {
        Some(to) => q.bind::<Timestamp, _>(to).load(conn)?,
        None => q.load(conn)?,
    };
    Ok(rows.into_iter().map(|p| (p.key, p.n)).collect())
}

const PG_WEEKS_RAISED: &str = "SELECT to_char(date_trunc('week', raised_at + interval '8 hours'), 'YYYY-MM-DD') AS key, COUNT(*) AS n
  FROM leads
  WHERE raised_at >= $1 AND raised_at < $2 AND merged_into IS NULL
  GROUP BY 1";

const PG_WEEKS_CLOSED: &str = "SELECT to_char(date_trunc('week', closed_at + interval '8 hours'), 'YYYY-MM-DD') AS key, COUNT(*) AS n
  FROM leads
  WHERE closed_at >= $1 AND closed_at < $2 AND merged_into IS NULL
  GROUP BY 1";

// The Monday on or before the Beijing date: back six days, then on to the next Monday.
const SQLITE_WEEKS_RAISED: &str =
    "SELECT date(raised_at, '+8 hours', '-6 days', 'weekday 1') AS key, COUNT(*) AS n
  FROM leads INDEXED BY leads_raised_idx
  WHERE raised_at >= $1 AND raised_at < $2 AND merged_into IS NULL
  GROUP BY 1";

const SQLITE_WEEKS_CLOSED: &str =
    "SELECT date(closed_at, '+8 hours', '-6 days', 'weekday 1') AS key, COUNT(*) AS n
  FROM leads INDEXED BY leads_closed_idx
  WHERE closed_at >= $1 AND closed_at < $2 AND merged_into IS NULL
  GROUP BY 1";

/// Leads raised and leads closed per week (keyed by the Monday, Beijing time,
/// `YYYY-MM-DD`), merged duplicates left out.
pub fn weeks(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<(BTreeMap<String, i64>, BTreeMap<String, i64>)> {
    let (raised, closed) = match conn {
        DbConnection::Pg(_) => (PG_WEEKS_RAISED, PG_WEEKS_CLOSED),
        DbConnection::Sqlite(_) => (SQLITE_WEEKS_RAISED, SQLITE_WEEKS_CLOSED),
    };
    Ok((
        pairs(conn, raised, start, Some(end))?,
        pairs(conn, closed, start, Some(end))?,
    ))
}

pub fn counts(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Vec<Counts>> {
    Ok(diesel::sql_query(sql(conn, COUNTS))
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(end)
        .load(conn)?)
}

/// Evaluations satisfied or basically satisfied, per department.
pub fn satisfied(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<BTreeMap<String, i64>> {
    pairs(conn, EVALUATED, start, Some(end))
}

/// Every evaluation, per department.
pub fn evaluated(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<BTreeMap<String, i64>> {
    pairs(conn, ALL_EVALUATED, start, Some(end))
}

/// Open leads past a deadline at `now`, per primary department.
pub fn overdue(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<BTreeMap<String, i64>> {
    pairs(conn, OVERDUE, now, None)
}

/// Whistles raised per township.
pub fn raised_by_township(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<BTreeMap<String, i64>> {
    pairs(conn, TOWNSHIPS, start, Some(end))
}

/// Hours to report in and to close, per department: `(acknowledge, close)`.
pub enum Hours {
    /// The medians, computed by the database (PostgreSQL).
    Medians(BTreeMap<String, (Option<f64>, Option<f64>)>),
    /// Every lead's hours, for the caller to take the median (SQLite has no percentile
    /// function; the embedded database holds a district, not a province).
    Each(BTreeMap<String, (Vec<f64>, Vec<f64>)>),
}

pub fn hours(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Hours> {
    Ok(match conn {
        DbConnection::Pg(_) => Hours::Medians(
            diesel::sql_query(PG_MEDIANS)
                .bind::<Timestamp, _>(start)
                .bind::<Timestamp, _>(end)
                .load::<Median>(conn)?
                .into_iter()
                .map(|m| (m.department, (m.ack, m.close)))
                .collect(),
        ),
        DbConnection::Sqlite(_) => {
            let rows: Vec<Durations> = diesel::sql_query(sql(conn, SQLITE_DURATIONS))
                .bind::<Timestamp, _>(start)
                .bind::<Timestamp, _>(end)
                .load(conn)?;
            let mut by: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
            for r in rows {
                let e = by.entry(r.department).or_default();
                if let Some(a) = r.acknowledged_at {
                    e.0.push((a - r.raised_at).num_seconds() as f64 / 3600.0);
                }
                if let Some(c) = r.closed_at {
                    e.1.push((c - r.raised_at).num_seconds() as f64 / 3600.0);
                }
            }
            Hours::Each(by)
        }
    })
}

// ---- kept figures ----------------------------------------------------------------------

/// Counts by `(metric, unit)`, raised and closed per Beijing day, and the hours histograms
/// by `(department, kind)`: what a period's statistics are made of, added up day by day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub counts: BTreeMap<(String, String), i64>,
    pub raised_by_day: BTreeMap<NaiveDate, i64>,
    pub closed_by_day: BTreeMap<NaiveDate, i64>,
    pub hours: Histograms,
}

// Metrics counted per day by the lead's raising day: received, acknowledged,
// acknowledged_on_time, verified_on_time, closed, evaluated, satisfied (per department) and
// whistles (per township); `raised` (by raising day) and `closed_on` (by closing day) are
// kept per day for the weeks.
const RAISED: &str = "raised";
const CLOSED_ON: &str = "closed_on";
pub const ACKNOWLEDGE: &str = "acknowledge";
pub const CLOSE: &str = "close";
const VERIFY: &str = "verify";
const TOWNSHIP: &str = "township";
const CLOSED: &str = "closed";
/// The verdicts counted as satisfied (满意, 基本满意).
const SATISFIED: [&str; 2] = ["satisfied", "basically_satisfied"];

impl Figures {
    pub fn count(&self, metric: &str, unit: &str) -> i64 {
        self.counts
            .get(&(metric.to_owned(), unit.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    pub fn add(&mut self, other: &Figures) {
        for (k, n) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += n;
        }
        for (d, n) in &other.raised_by_day {
            *self.raised_by_day.entry(*d).or_insert(0) += n;
        }
        for (d, n) in &other.closed_by_day {
            *self.closed_by_day.entry(*d).or_insert(0) += n;
        }
        for (k, h) in &other.hours {
            self.hours.entry(k.clone()).or_default().merge(h);
        }
        self.counts.retain(|_, n| *n != 0);
        self.raised_by_day.retain(|_, n| *n != 0);
        self.closed_by_day.retain(|_, n| *n != 0);
        self.hours.retain(|_, h| !h.0.is_empty());
    }
}

fn day_key(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Pg(_) => format!("to_char({column} + interval '8 hours', 'YYYY-MM-DD')"),
        DbConnection::Sqlite(_) => format!("date({column}, '+8 hours')"),
    }
}

/// Milliseconds from `from` to `to`, as an integer, in the backend's SQL.
fn millis(conn: &DbConnection, from: &str, to: &str) -> String {
    match conn {
        DbConnection::Pg(_) => format!("(EXTRACT(EPOCH FROM ({to} - {from})) * 1000)::bigint"),
        DbConnection::Sqlite(_) => {
            format!("CAST(ROUND((julianday({to}) - julianday({from})) * 86400000) AS INTEGER)")
        }
    }
}

#[derive(QueryableByName)]
struct Elapsed {
    #[diesel(sql_type = Text)]
    unit: String,
    #[diesel(sql_type = BigInt)]
    ms: i64,
}

/// Each lead's duration to report in or to close, in milliseconds, by its department; the
/// buckets are found here (`Histogram::add_ms`), which keeps the query small to plan (the
/// bucket as SQL, a CASE of every step, took a millisecond to plan at every request).
fn durations_query(conn: &DbConnection, kind: &str) -> String {
    let (end, met) = match kind {
        ACKNOWLEDGE => ("a.met_at", "a.met_at IS NOT NULL"),
        _ => ("l.closed_at", "l.closed_at IS NOT NULL"),
    };
    let ms = millis(conn, "l.raised_at", end);
    sql(
        conn,
        &format!(
            "SELECT l.primary_department AS unit, CAST({ms} AS BIGINT) AS ms
  FROM leads l JOIN lead_deadlines a ON a.lead_id = l.id AND a.stage = 'acknowledge'
  WHERE l.raised_at >= $1 AND l.raised_at < $2 AND l.merged_into IS NULL AND {met}"
        ),
    )
}

fn by_day(
    conn: &mut DbConnection,
    column: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<BTreeMap<NaiveDate, i64>> {
    let key = day_key(conn, column);
    let index = if column == "raised_at" {
        "leads_raised_idx"
    } else {
        "leads_closed_idx"
    };
    let text = match conn {
        DbConnection::Pg(_) => format!(
            "SELECT {key} AS key, COUNT(*) AS n FROM leads
  WHERE {column} >= $1 AND {column} < $2 AND merged_into IS NULL GROUP BY 1"
        ),
        DbConnection::Sqlite(_) => format!(
            "SELECT {key} AS key, COUNT(*) AS n FROM leads INDEXED BY {index}
  WHERE {column} >= ? AND {column} < ? AND merged_into IS NULL GROUP BY 1"
        ),
    };
    pairs(conn, &text, start, Some(end))?
        .into_iter()
        .map(|(k, n)| Ok((parse_day(&k)?, n)))
        .collect()
}

fn parse_day(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::Internal(format!("统计中出现无法识别的日期 {text:?}")))
}

/// The figures of the leads raised in `[start, end)` (and of those closed in it, for the
/// closed-per-day series), counted by the database with GROUP BY, one query per figure
/// group: what [`recount`](crate::leads::stats::recount) checks the kept figures against,
/// and what a request falls back to over a long period the rollup has not counted.
pub fn grouped(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Figures> {
    let mut f = Figures::default();
    let mut put = |metric: &str, unit: String, n: i64| {
        if n != 0 {
            f.counts.insert((metric.to_owned(), unit), n);
        }
    };
    for c in counts(conn, start, end)? {
        put("received", c.department.clone(), c.received);
        put("acknowledged", c.department.clone(), c.acknowledged);
        put(
            "acknowledged_on_time",
            c.department.clone(),
            c.acknowledged_on_time,
        );
        put("verified_on_time", c.department.clone(), c.verified_on_time);
        put("closed", c.department, c.closed);
    }
    for (d, n) in evaluated(conn, start, end)? {
        put("evaluated", d, n);
    }
    for (d, n) in satisfied(conn, start, end)? {
        put("satisfied", d, n);
    }
    for (t, n) in raised_by_township(conn, start, end)? {
        put("whistles", t, n);
    }
    f.raised_by_day = by_day(conn, "raised_at", start, end)?;
    f.closed_by_day = by_day(conn, "closed_at", start, end)?;
    for kind in [ACKNOWLEDGE, CLOSE] {
        let rows: Vec<Elapsed> = diesel::sql_query(durations_query(conn, kind))
            .bind::<Timestamp, _>(start)
            .bind::<Timestamp, _>(end)
            .load(conn)?;
        for r in rows {
            // A negative duration (a clock set back) counts as zero.
            f.hours
                .entry((r.unit, kind.to_owned()))
                .or_default()
                .add_ms(r.ms);
        }
    }
    Ok(f)
}

/// The kept rows that cover the days from `from` to `to`: a whole month's (`YYYY-MM`)
/// where the month lies inside, else each day's.
fn hour_periods(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        let first = day.with_day(1).unwrap_or(day);
        let next_month = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
        let last = next_month.pred_opt().unwrap_or(next_month);
        if day == first && last <= to {
            out.push(first.format("%Y-%m").to_string());
            day = next_month;
            continue;
        }
        out.push(day.to_string());
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = Text)]
    held: String,
}

/// The first `max_days` different days of marks read oldest first.
fn first_days(oldest: Vec<String>, max_days: i64) -> Vec<String> {
    let mut days: Vec<String> = Vec::new();
    for d in oldest {
        if !days.contains(&d) {
            days.push(d);
            if days.len() as i64 >= max_days {
                break;
            }
        }
    }
    days
}

/// Runs `f` in a read-only transaction that sees the database as of one instant
/// (PostgreSQL's repeatable read; SQLite's reads in a transaction see one snapshot).
pub fn snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    conn.transaction(|c| {
        if let DbConnection::Pg(_) = c {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

/// Notes when the rollup last ran.
pub fn rolled(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(lead_stat_rollup::table.find(1))
        .set(lead_stat_rollup::rolled_at.eq(now))
        .execute(conn)?;
    Ok(())
}

// ---- overdue now, from kept figures ------------------------------------------------------

/// Open leads per primary department whose next deadline lies in `[start, end)`.
pub fn due_between(
    conn: &mut DbConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<BTreeMap<String, i64>> {
    let text = match conn {
        DbConnection::Pg(_) => {
            "SELECT primary_department AS key, COUNT(*) AS n FROM leads
  WHERE state <> 'closed' AND next_due_at >= $1 AND next_due_at < $2
  GROUP BY primary_department"
        }
        DbConnection::Sqlite(_) => {
            "SELECT primary_department AS key, COUNT(*) AS n FROM leads INDEXED BY leads_due_idx
  WHERE state <> 'closed' AND next_due_at >= ? AND next_due_at < ?
  GROUP BY primary_department"
        }
    };
    pairs(conn, text, start, Some(end))
}

/// Deadline days before `before` whose kept counts are not counted yet.
pub fn marked_due_days(
    conn: &mut DbConnection,
    before: NaiveDate,
) -> AppResult<BTreeSet<NaiveDate>> {
    let days: Vec<String> = lead_due_marks::table
        .filter(lead_due_marks::day.lt(before.to_string()))
        .select(lead_due_marks::day)
        .distinct()
        .load(conn)?;
    days.iter().map(|d| parse_day(d)).collect()
}

/// The kept open leads per department due on days before `before`, but the days in `skip`.
pub fn kept_due(
    conn: &mut DbConnection,
    before: NaiveDate,
    skip: &BTreeSet<NaiveDate>,
) -> AppResult<BTreeMap<String, i64>> {
    let skipped: Vec<String> = skip.iter().map(|d| d.to_string()).collect();
    let rows: Vec<(String, Option<i64>)> = lead_due_days::table
        .filter(lead_due_days::day.lt(before.to_string()))
        .filter(lead_due_days::day.ne_all(&skipped))
        .group_by(lead_due_days::unit)
        .select((
            lead_due_days::unit,
            diesel::dsl::sql::<Nullable<BigInt>>("CAST(SUM(n) AS BIGINT)"),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, n)| n.filter(|n| *n != 0).map(|n| (u, n)))
        .collect())
}

/// Takes the deadline-day marks of up to `max_days` days (the rollup's row already held).
pub fn take_due_marks(conn: &mut DbConnection, max_days: i64) -> AppResult<BTreeSet<NaiveDate>> {
    let oldest: Vec<String> = lead_due_marks::table
        .order(lead_due_marks::id.asc())
        .select(lead_due_marks::day)
        .limit(max_days.saturating_mul(200))
        .load(conn)?;
    let days = first_days(oldest, max_days);
    if !days.is_empty() {
        diesel::delete(lead_due_marks::table.filter(lead_due_marks::day.eq_any(&days)))
            .execute(conn)?;
    }
    days.iter().map(|d| parse_day(d)).collect()
}

/// Writes a deadline day's open leads per department in place of what was kept.
pub fn keep_due_day(
    conn: &mut DbConnection,
    day: NaiveDate,
    counts: &BTreeMap<String, i64>,
) -> AppResult<()> {
    let key = day.to_string();
    diesel::delete(lead_due_days::table.filter(lead_due_days::day.eq(&key))).execute(conn)?;
    let rows: Vec<_> = counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(unit, n)| {
            (
                lead_due_days::day.eq(key.clone()),
                lead_due_days::unit.eq(unit.clone()),
                lead_due_days::n.eq(*n),
            )
        })
        .collect();
    if !rows.is_empty() {
        match conn {
            DbConnection::Pg(c) => diesel::insert_into(lead_due_days::table)
                .values(&rows)
                .execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_into(lead_due_days::table)
                .values(&rows)
                .execute(c)?,
        };
    }
    Ok(())
}
