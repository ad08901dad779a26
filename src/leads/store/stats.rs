//! The statistics' queries: counted in the database with GROUP BY, one query per figure
//! group, whatever the number of leads. The only code naming the leads' tables in SQL
//! text besides the migrations.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

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
