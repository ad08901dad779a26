//! Monthly reports: the only code naming the reports, their items and the reminders sent.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::consultations::rules::{DecisionState, ReportState};
use crate::platform::db::schema::{
    decision_tallies, decisions, monthly_report_items, monthly_report_reminders, monthly_reports,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = monthly_reports)]
pub struct MonthlyReport {
    pub id: String,
    /// "2026-03"
    pub month: String,
    pub unit: String,
    #[diesel(serialize_as = String)]
    pub state: ReportState,
    pub drafted_by: Option<String>,
    pub drafted_at: NaiveDateTime,
    /// The head's signature.
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    /// 情况说明 when the head could not sign in time.
    pub explanation: String,
    /// When it counted as filed (signed, or with the explanation).
    pub filed_at: Option<NaiveDateTime>,
    pub late: i32,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = monthly_report_items)]
pub struct Item {
    pub report_id: String,
    pub decision_id: String,
    pub body: String,
    pub percent: i32,
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<MonthlyReport>> {
    Ok(monthly_reports::table
        .find(id)
        .select(MonthlyReport::as_select())
        .first(conn)
        .optional()?)
}

pub fn of_unit(
    conn: &mut DbConnection,
    month: &str,
    unit: &str,
) -> AppResult<Option<MonthlyReport>> {
    Ok(monthly_reports::table
        .filter(monthly_reports::month.eq(month))
        .filter(monthly_reports::unit.eq(unit))
        .select(MonthlyReport::as_select())
        .first(conn)
        .optional()?)
}

/// The month's reports (one unit's when given).
pub fn of_month(
    conn: &mut DbConnection,
    month: &str,
    unit: Option<&str>,
) -> AppResult<Vec<MonthlyReport>> {
    let mut q = monthly_reports::table
        .filter(monthly_reports::month.eq(month))
        .select(MonthlyReport::as_select())
        .order(monthly_reports::unit)
        .into_boxed();
    if let Some(u) = unit {
        q = q.filter(monthly_reports::unit.eq(u.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// A unit's reports, newest month first (its record of lateness).
pub fn history(conn: &mut DbConnection, unit: &str, limit: i64) -> AppResult<Vec<MonthlyReport>> {
    Ok(monthly_reports::table
        .filter(monthly_reports::unit.eq(unit))
        .select(MonthlyReport::as_select())
        .order(monthly_reports::month.desc())
        .limit(limit)
        .load(conn)?)
}

/// Writes a new draft, or replaces a draft at `before`'s version with its items; whether
/// it went through (never over a filed report).
pub fn put_draft(
    conn: &mut DbConnection,
    before: Option<&MonthlyReport>,
    r: &MonthlyReport,
    items: &[Item],
) -> AppResult<bool> {
    match before {
        None => {
            diesel::insert_into(monthly_reports::table)
                .values(r.clone())
                .execute(conn)?;
        }
        Some(b) => {
            let n = diesel::update(
                monthly_reports::table
                    .find(&b.id)
                    .filter(monthly_reports::version.eq(b.version))
                    .filter(monthly_reports::state.eq(ReportState::Draft.code())),
            )
            .set((
                monthly_reports::drafted_by.eq(&r.drafted_by),
                monthly_reports::drafted_at.eq(r.drafted_at),
                monthly_reports::version.eq(b.version + 1),
            ))
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
            diesel::delete(
                monthly_report_items::table.filter(monthly_report_items::report_id.eq(&b.id)),
            )
            .execute(conn)?;
        }
    }
    for i in items {
        diesel::insert_into(monthly_report_items::table)
            .values(i.clone())
            .execute(conn)?;
    }
    Ok(true)
}

/// Files the report (signed or explained) if it is still at `before.version`.
pub fn file(
    conn: &mut DbConnection,
    before: &MonthlyReport,
    after: &MonthlyReport,
) -> AppResult<bool> {
    let n = diesel::update(
        monthly_reports::table
            .find(&before.id)
            .filter(monthly_reports::version.eq(before.version)),
    )
    .set((
        monthly_reports::state.eq(after.state.code()),
        monthly_reports::approved_by.eq(&after.approved_by),
        monthly_reports::approved_at.eq(after.approved_at),
        monthly_reports::explanation.eq(&after.explanation),
        monthly_reports::filed_at.eq(after.filed_at),
        monthly_reports::late.eq(after.late),
        monthly_reports::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn items_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Item>> {
    Ok(monthly_report_items::table
        .filter(monthly_report_items::report_id.eq_any(ids))
        .select(Item::as_select())
        .order((
            monthly_report_items::report_id,
            monthly_report_items::decision_id,
        ))
        .load(conn)?)
}

/// `(unit, decision ids)` owed a report for the month `[from, to)` (UTC): in the ledger,
/// entered before the month ended and not closed before it began; one unit's when given.
/// Two index ranges: the live decisions entered before the end, the closed ones closed
/// since the start.
pub fn owed(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    unit: Option<&str>,
) -> AppResult<Vec<(String, String)>> {
    let mut live = decisions::table
        .filter(decisions::state.eq_any(live()))
        .filter(decisions::entered_at.lt(to))
        .select((decisions::responsible_unit, decisions::id))
        .into_boxed();
    let mut closed = decisions::table
        .filter(decisions::state.eq(DecisionState::Closed.code()))
        .filter(decisions::closed_at.ge(from))
        .filter(decisions::entered_at.lt(to))
        .select((decisions::responsible_unit, decisions::id))
        .into_boxed();
    if let Some(u) = unit {
        live = live.filter(decisions::responsible_unit.eq(u.to_owned()));
        closed = closed.filter(decisions::responsible_unit.eq(u.to_owned()));
    }
    let mut out: Vec<(String, String)> = live.load(conn)?;
    out.extend(closed.load::<(String, String)>(conn)?);
    out.sort();
    Ok(out)
}

/// The live states' codes.
fn live() -> [&'static str; 2] {
    [DecisionState::Open.code(), DecisionState::Reported.code()]
}

/// Claims a reminder (once per month, unit and day); whether this caller sends it.
pub fn claim_reminder(
    conn: &mut DbConnection,
    month: &str,
    unit: &str,
    day: i32,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let row = (
        monthly_report_reminders::month.eq(month),
        monthly_report_reminders::unit.eq(unit),
        monthly_report_reminders::day.eq(day),
        monthly_report_reminders::sent_at.eq(now),
    );
    let n = match conn {
        DbConnection::Pg(c) => diesel::insert_into(monthly_report_reminders::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(monthly_report_reminders::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(n > 0)
}

/// How many decisions each unit owes a report on for the month `[from, to)` (UTC), from
/// the same two index ranges as `owed`.
pub fn owed_counts(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<(String, i64)>> {
    // The live decisions are the kept tallies less those entered since the month ended
    // (a short range of the state, entered_at index); the closed ones owed are those
    // closed since it began, from the closures kept by month. Neither reads the ledger.
    let mut counts: Vec<(String, i64)> = Vec::new();
    let mut add = |u: String, n: i64| match counts.iter_mut().find(|(c, _)| *c == u) {
        Some(c) => c.1 += n,
        None => counts.push((u, n)),
    };
    let live_now: Vec<(String, i64)> = decision_tallies::table
        .filter(decision_tallies::state.eq_any(live()))
        .select((decision_tallies::unit, decision_tallies::n))
        .load(conn)?;
    for (u, n) in live_now {
        add(u, n);
    }
    // Counted by unit in the database: a handful of rows back, not one per decision.
    let entered_since: Vec<(String, i64)> = decisions::table
        .filter(decisions::state.eq_any(live()))
        .filter(decisions::entered_at.ge(to))
        .group_by(decisions::responsible_unit)
        .select((decisions::responsible_unit, count_star()))
        .load(conn)?;
    for (u, n) in entered_since {
        add(u, -n);
    }
    // Closed since the month began and entered before it ended: the closures kept by
    // month from that month on, less those entered after it ended (all closed since).
    let month = super::ledger::closure_month(from);
    for (u, n) in super::ledger::closed_since_month(conn, &month)? {
        add(u, n);
    }
    let closed_after: Vec<(String, i64)> = decisions::table
        .filter(decisions::state.eq(DecisionState::Closed.code()))
        .filter(decisions::entered_at.ge(to))
        .group_by(decisions::responsible_unit)
        .select((decisions::responsible_unit, count_star()))
        .load(conn)?;
    for (u, n) in closed_after {
        add(u, -n);
    }
    counts.retain(|(_, n)| *n > 0);
    Ok(counts)
}
