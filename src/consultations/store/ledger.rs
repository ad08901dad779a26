//! Minutes and the decisions ledger: the only code naming the minutes, their supplements,
//! the decisions, their progress reports, extensions and evidence files.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::consultations::rules::{DecisionKind, DecisionState, MinutesState, Review};
use crate::platform::db::schema::{
    consultation_minutes, decision_closure_tallies, decision_due_tallies, decision_extensions,
    decision_files, decision_reports, decision_tallies, decisions, minutes_supplements,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_minutes)]
pub struct Minutes {
    pub consultation_id: String,
    /// The people present, one a line.
    pub attendees: String,
    pub discussion: String,
    /// What was said on each agenda item, as a JSON array of strings in agenda order.
    pub agenda_notes: String,
    #[diesel(serialize_as = String)]
    pub state: MinutesState,
    pub drafted_by: Option<String>,
    pub drafted_at: NaiveDateTime,
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = minutes_supplements)]
pub struct Supplement {
    pub consultation_id: String,
    pub position: i32,
    pub body: String,
    pub written_by: Option<String>,
    pub written_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = decisions)]
pub struct Decision {
    pub id: String,
    pub consultation_id: String,
    pub position: i32,
    /// The meeting's number and the decision's place in it: HS-2026-007-2.
    pub number: String,
    pub body: String,
    #[diesel(serialize_as = String)]
    pub kind: DecisionKind,
    pub responsible_unit: String,
    /// Comma-separated department codes.
    pub cooperating_units: String,
    pub mine_id: Option<String>,
    pub due_on: NaiveDate,
    #[diesel(serialize_as = String)]
    pub state: DecisionState,
    pub percent: i32,
    /// What the decision opened (`lead`), once confirmed.
    pub opened_type: Option<String>,
    pub opened_id: Option<String>,
    /// 建账: when the minutes were approved.
    pub entered_at: Option<NaiveDateTime>,
    /// 销账.
    pub closed_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Decision {
    pub fn cooperating(&self) -> Vec<String> {
        self.cooperating_units
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = decision_reports)]
pub struct Report {
    pub id: String,
    pub decision_id: String,
    pub body: String,
    pub percent: i32,
    /// 1: the completion report (办结报告).
    pub done: i32,
    pub reported_by: Option<String>,
    pub reported_at: NaiveDateTime,
    #[diesel(serialize_as = String)]
    pub review: Review,
    pub review_reason: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = decision_extensions)]
pub struct Extension {
    pub decision_id: String,
    pub position: i32,
    pub from_on: NaiveDate,
    pub to_on: NaiveDate,
    pub reason: String,
    pub extended_by: Option<String>,
    pub extended_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = decision_files)]
pub struct NewFile {
    pub id: String,
    pub decision_id: String,
    pub report_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub data: Vec<u8>,
    pub uploaded_by: Option<String>,
    pub uploaded_at: NaiveDateTime,
}

/// A file as listed: everything but its bytes.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = decision_files)]
pub struct FileMeta {
    pub id: String,
    pub report_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_at: NaiveDateTime,
}

// ---- minutes ----

pub fn minutes(conn: &mut DbConnection, meeting: &str) -> AppResult<Option<Minutes>> {
    Ok(consultation_minutes::table
        .find(meeting)
        .select(Minutes::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the draft: a first one, or over the draft at `before`'s version (not over
/// approved minutes); whether it went through. The draft's decisions are replaced.
pub fn put_draft(
    conn: &mut DbConnection,
    before: Option<&Minutes>,
    m: &Minutes,
    decisions_now: &[Decision],
) -> AppResult<bool> {
    match before {
        None => {
            diesel::insert_into(consultation_minutes::table)
                .values(m.clone())
                .execute(conn)?;
        }
        Some(b) => {
            let n = diesel::update(
                consultation_minutes::table
                    .find(&b.consultation_id)
                    .filter(consultation_minutes::version.eq(b.version))
                    .filter(consultation_minutes::state.eq(MinutesState::Draft.code())),
            )
            .set((
                consultation_minutes::attendees.eq(&m.attendees),
                consultation_minutes::discussion.eq(&m.discussion),
                consultation_minutes::agenda_notes.eq(&m.agenda_notes),
                consultation_minutes::drafted_by.eq(&m.drafted_by),
                consultation_minutes::drafted_at.eq(m.drafted_at),
                consultation_minutes::version.eq(b.version + 1),
            ))
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
        }
    }
    diesel::delete(
        decisions::table
            .filter(decisions::consultation_id.eq(&m.consultation_id))
            .filter(decisions::state.eq(DecisionState::Draft.code())),
    )
    .execute(conn)?;
    for d in decisions_now {
        diesel::insert_into(decisions::table)
            .values(d.clone())
            .execute(conn)?;
    }
    Ok(true)
}

/// Approves a draft (once): the minutes are published and their decisions entered in the
/// ledger (建账); whether it went through.
pub fn approve(
    conn: &mut DbConnection,
    meeting: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        consultation_minutes::table
            .find(meeting)
            .filter(consultation_minutes::state.eq(MinutesState::Draft.code())),
    )
    .set((
        consultation_minutes::state.eq(MinutesState::Approved.code()),
        consultation_minutes::approved_by.eq(by),
        consultation_minutes::approved_at.eq(at),
        consultation_minutes::version.eq(consultation_minutes::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let entering: Vec<(String, NaiveDate)> = decisions::table
        .filter(decisions::consultation_id.eq(meeting))
        .filter(decisions::state.eq(DecisionState::Draft.code()))
        .select((decisions::responsible_unit, decisions::due_on))
        .load(conn)?;
    for (u, due) in &entering {
        bump(conn, u, DecisionState::Open, 1)?;
        bump_due(conn, u, &due_month(*due), 1)?;
    }
    diesel::update(
        decisions::table
            .filter(decisions::consultation_id.eq(meeting))
            .filter(decisions::state.eq(DecisionState::Draft.code())),
    )
    .set((
        decisions::state.eq(DecisionState::Open.code()),
        decisions::entered_at.eq(at),
        decisions::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(true)
}

/// Meetings whose minutes wait for the head's approval, oldest draft first.
pub fn drafts(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<Minutes>> {
    Ok(consultation_minutes::table
        .filter(consultation_minutes::state.eq(MinutesState::Draft.code()))
        .order(consultation_minutes::drafted_at)
        .select(Minutes::as_select())
        .limit(limit)
        .load(conn)?)
}

pub fn supplements(conn: &mut DbConnection, meeting: &str) -> AppResult<Vec<Supplement>> {
    Ok(minutes_supplements::table
        .filter(minutes_supplements::consultation_id.eq(meeting))
        .order(minutes_supplements::position)
        .select(Supplement::as_select())
        .load(conn)?)
}

/// Appends a supplement as the next one of the meeting.
pub fn add_supplement(
    conn: &mut DbConnection,
    meeting: &str,
    body: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<i32> {
    let last: Option<i32> = minutes_supplements::table
        .filter(minutes_supplements::consultation_id.eq(meeting))
        .select(diesel::dsl::max(minutes_supplements::position))
        .first(conn)?;
    let position = last.unwrap_or(0) + 1;
    diesel::insert_into(minutes_supplements::table)
        .values(Supplement {
            consultation_id: meeting.to_owned(),
            position,
            body: body.to_owned(),
            written_by: Some(by.to_owned()),
            written_at: at,
        })
        .execute(conn)?;
    Ok(position)
}

// ---- decisions ----

pub fn decisions_of(conn: &mut DbConnection, meeting: &str) -> AppResult<Vec<Decision>> {
    Ok(decisions::table
        .filter(decisions::consultation_id.eq(meeting))
        .order(decisions::position)
        .select(Decision::as_select())
        .load(conn)?)
}

pub fn decision(conn: &mut DbConnection, id: &str) -> AppResult<Option<Decision>> {
    Ok(decisions::table
        .find(id)
        .select(Decision::as_select())
        .first(conn)
        .optional()?)
}

/// Several decisions at once (in chunks the backends accept).
/// The decision with this number (HS-2026-007-2), drafts included.
pub fn decision_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<Decision>> {
    Ok(decisions::table
        .filter(decisions::number.eq(number))
        .select(Decision::as_select())
        .first(conn)
        .optional()?)
}

pub fn decisions_by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Decision>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            decisions::table
                .filter(decisions::id.eq_any(chunk))
                .select(Decision::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Adds `$by` to the count `n` of a kept-count table's row (its two key columns given),
/// creating the row when it is not there yet: one statement on either database.
macro_rules! add_to {
    ($conn:expr, $t:ident, $k1:ident = $v1:expr, $k2:ident = $v2:expr, $by:expr) => {{
        let row = ($t::$k1.eq($v1), $t::$k2.eq($v2), $t::n.eq($by));
        let add = $t::n.eq($t::n + $by);
        match $conn {
            DbConnection::Pg(c) => diesel::insert_into($t::table)
                .values(row)
                .on_conflict(($t::$k1, $t::$k2))
                .do_update()
                .set(add)
                .execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_into($t::table)
                .values(row)
                .on_conflict(($t::$k1, $t::$k2))
                .do_update()
                .set(add)
                .execute(c)?,
        };
    }};
}

/// Writes the decision's state, progress, deadline and what it opened if it is still at
/// `before.version`; whether it went through.
pub fn save_decision(
    conn: &mut DbConnection,
    before: &Decision,
    after: &Decision,
) -> AppResult<bool> {
    let n = diesel::update(
        decisions::table
            .find(&before.id)
            .filter(decisions::version.eq(before.version)),
    )
    .set((
        decisions::state.eq(after.state.code()),
        decisions::percent.eq(after.percent),
        decisions::due_on.eq(after.due_on),
        decisions::opened_type.eq(&after.opened_type),
        decisions::opened_id.eq(&after.opened_id),
        decisions::closed_at.eq(after.closed_at),
        decisions::escalated_at.eq(after.escalated_at),
        decisions::updated_at.eq(after.updated_at),
        decisions::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    let live = |d: &Decision| d.state.is_live();
    let due_key = |d: &Decision| (live(d), d.responsible_unit.clone(), due_month(d.due_on));
    if n > 0 && due_key(before) != due_key(after) {
        if live(before) {
            bump_due(
                conn,
                &before.responsible_unit,
                &due_month(before.due_on),
                -1,
            )?;
        }
        if live(after) {
            bump_due(conn, &after.responsible_unit, &due_month(after.due_on), 1)?;
        }
    }
    if n > 0 && before.state != after.state {
        bump(conn, &before.responsible_unit, before.state, -1)?;
        bump(conn, &after.responsible_unit, after.state, 1)?;
        let closed = DecisionState::Closed;
        if let (true, Some(at)) = (before.state == closed, before.closed_at) {
            bump_closures(conn, &before.responsible_unit, &closure_month(at), -1)?;
        }
        if let (true, Some(at)) = (after.state == closed, after.closed_at) {
            bump_closures(conn, &after.responsible_unit, &closure_month(at), 1)?;
        }
    }
    Ok(n > 0)
}

/// The month of a deadline, `2026-03`.
pub fn due_month(due: NaiveDate) -> String {
    due.format("%Y-%m").to_string()
}

/// Adds `by` to the unit's count of live decisions due in `month`.
fn bump_due(conn: &mut DbConnection, unit: &str, month: &str, by: i64) -> AppResult<()> {
    add_to!(conn, decision_due_tallies, unit = unit, month = month, by);
    Ok(())
}

/// The month (Beijing time, `2026-03`) a decision closed at `at` (UTC) counts in.
pub fn closure_month(at: NaiveDateTime) -> String {
    (at + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string()
}

/// Adds `by` to the unit's count of decisions closed in `month`.
fn bump_closures(conn: &mut DbConnection, unit: &str, month: &str, by: i64) -> AppResult<()> {
    add_to!(
        conn,
        decision_closure_tallies,
        unit = unit,
        month = month,
        by
    );
    Ok(())
}

/// Adds `by` to the unit's count of decisions in `state`.
fn bump(conn: &mut DbConnection, unit: &str, state: DecisionState, by: i64) -> AppResult<()> {
    add_to!(
        conn,
        decision_tallies,
        unit = unit,
        state = state.code(),
        by
    );
    Ok(())
}

/// Counts the ledger afresh (after decisions were written directly, e.g. a benchmark's).
pub fn recount(conn: &mut DbConnection) -> AppResult<()> {
    use diesel::dsl::count_star;
    diesel::delete(decision_tallies::table).execute(conn)?;
    let counts: Vec<(String, String, i64)> = decisions::table
        .filter(decisions::state.ne(DecisionState::Draft.code()))
        .group_by((decisions::responsible_unit, decisions::state))
        .select((decisions::responsible_unit, decisions::state, count_star()))
        .load(conn)?;
    for (unit, state, n) in counts {
        diesel::insert_into(decision_tallies::table)
            .values((
                decision_tallies::unit.eq(unit),
                decision_tallies::state.eq(state),
                decision_tallies::n.eq(n),
            ))
            .execute(conn)?;
    }
    diesel::delete(decision_due_tallies::table).execute(conn)?;
    let live: Vec<(String, NaiveDate)> = decisions::table
        .filter(
            decisions::state.eq_any([DecisionState::Open.code(), DecisionState::Reported.code()]),
        )
        .select((decisions::responsible_unit, decisions::due_on))
        .load(conn)?;
    let mut due: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (unit, on) in live {
        *due.entry((unit, due_month(on))).or_default() += 1;
    }
    for ((unit, month), n) in due {
        diesel::insert_into(decision_due_tallies::table)
            .values((
                decision_due_tallies::unit.eq(unit),
                decision_due_tallies::month.eq(month),
                decision_due_tallies::n.eq(n),
            ))
            .execute(conn)?;
    }
    diesel::delete(decision_closure_tallies::table).execute(conn)?;
    let closed: Vec<(String, Option<NaiveDateTime>)> = decisions::table
        .filter(decisions::state.eq(DecisionState::Closed.code()))
        .select((decisions::responsible_unit, decisions::closed_at))
        .load(conn)?;
    let mut months: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (unit, at) in closed {
        if let Some(at) = at {
            *months.entry((unit, closure_month(at))).or_default() += 1;
        }
    }
    for ((unit, month), n) in months {
        diesel::insert_into(decision_closure_tallies::table)
            .values((
                decision_closure_tallies::unit.eq(unit),
                decision_closure_tallies::month.eq(month),
                decision_closure_tallies::n.eq(n),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Decisions closed in `month` or since, by unit (from the kept tallies).
pub fn closed_since_month(conn: &mut DbConnection, month: &str) -> AppResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = decision_closure_tallies::table
        .filter(decision_closure_tallies::month.ge(month))
        .select((decision_closure_tallies::unit, decision_closure_tallies::n))
        .load(conn)?;
    let mut out: Vec<(String, i64)> = Vec::new();
    for (u, n) in rows {
        match out.iter_mut().find(|(c, _)| *c == u) {
            Some(c) => c.1 += n,
            None => out.push((u, n)),
        }
    }
    Ok(out)
}

/// What the ledger is filtered by.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub unit: Option<String>,
    pub state: Option<DecisionState>,
    /// Only live decisions due before this day.
    pub due_before: Option<NaiveDate>,
    /// Only live decisions (open or reported), whatever their deadline.
    pub live: bool,
    /// Keyset: after `(due_on, id)`.
    pub after: Option<(NaiveDate, String)>,
}

/// Decisions in the ledger (never drafts), the nearest deadline first.
pub fn ledger(conn: &mut DbConnection, f: &LedgerFilter, limit: i64) -> AppResult<Vec<Decision>> {
    // One query per state, each a range of the (unit,) state, due_on, id index read in
    // order and cut at `limit`, merged here: a single query over several states would
    // fetch and sort every matching row first.
    let states: Vec<DecisionState> = match (f.state, f.due_before.is_some() || f.live) {
        (Some(s), _) => vec![s],
        (None, true) => vec![DecisionState::Open, DecisionState::Reported],
        (None, false) => vec![
            DecisionState::Open,
            DecisionState::Reported,
            DecisionState::Closed,
        ],
    };
    let mut out: Vec<Decision> = Vec::new();
    for state in states {
        let mut q = decisions::table
            .select(Decision::as_select())
            .filter(decisions::state.eq(state.code()))
            .order((decisions::due_on, decisions::id))
            .limit(limit)
            .into_boxed();
        if let Some(u) = &f.unit {
            q = q.filter(decisions::responsible_unit.eq(u.clone()));
        }
        if let Some(d) = f.due_before {
            q = q.filter(decisions::due_on.lt(d));
        }
        if let Some((due, id)) = &f.after {
            q = q.filter(
                decisions::due_on
                    .gt(*due)
                    .or(decisions::due_on.eq(*due).and(decisions::id.gt(id.clone()))),
            );
        }
        out.extend(q.load(conn)?);
    }
    out.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    out.truncate(limit.max(0) as usize);
    Ok(out)
}

/// Decisions in the ledger by unit and state (from the kept tallies), and by unit how many
/// of the live ones are past `today`: the live ones due in the months before this one
/// (kept by month of deadline) and those due earlier this month (a short range of the
/// state index) — `(unit, state, count)` and `(unit, overdue)`.
#[allow(clippy::type_complexity)]
pub fn tally(
    conn: &mut DbConnection,
    today: NaiveDate,
    unit: Option<&str>,
) -> AppResult<(Vec<(String, String, i64)>, Vec<(String, i64)>)> {
    use diesel::dsl::count_star;
    let mut q = decision_tallies::table
        .filter(decision_tallies::n.gt(0))
        .select((
            decision_tallies::unit,
            decision_tallies::state,
            decision_tallies::n,
        ))
        .into_boxed();
    let month_start = today.with_day(1).unwrap_or(today);
    let mut months = decision_due_tallies::table
        .filter(decision_due_tallies::month.lt(due_month(today)))
        .filter(decision_due_tallies::n.gt(0))
        .select((decision_due_tallies::unit, decision_due_tallies::n))
        .into_boxed();
    let mut days = decisions::table
        .filter(
            decisions::state.eq_any([DecisionState::Open.code(), DecisionState::Reported.code()]),
        )
        .filter(decisions::due_on.ge(month_start))
        .filter(decisions::due_on.lt(today))
        .group_by(decisions::responsible_unit)
        .select((decisions::responsible_unit, count_star()))
        .into_boxed();
    if let Some(u) = unit {
        q = q.filter(decision_tallies::unit.eq(u.to_owned()));
        months = months.filter(decision_due_tallies::unit.eq(u.to_owned()));
        days = days.filter(decisions::responsible_unit.eq(u.to_owned()));
    }
    let all: Vec<(String, String, i64)> = q.load(conn)?;
    let mut late: Vec<(String, i64)> = Vec::new();
    let earlier: Vec<(String, i64)> = months.load(conn)?;
    let this_month: Vec<(String, i64)> = days.load(conn)?;
    for (u, n) in earlier.into_iter().chain(this_month) {
        match late.iter_mut().find(|(c, _)| *c == u) {
            Some(c) => c.1 += n,
            None => late.push((u, n)),
        }
    }
    Ok((all, late))
}

/// Live decisions past their deadline not yet escalated, oldest deadline first.
pub fn overdue_unescalated(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
) -> AppResult<Vec<Decision>> {
    Ok(decisions::table
        .filter(
            decisions::state.eq_any([DecisionState::Open.code(), DecisionState::Reported.code()]),
        )
        .filter(decisions::due_on.lt(today))
        .filter(decisions::escalated_at.is_null())
        .order((decisions::due_on, decisions::id))
        .select(Decision::as_select())
        .limit(limit)
        .load(conn)?)
}

/// Claims the escalation of a decision (once: only while not escalated); whether this
/// caller got it.
pub fn claim_escalation(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> AppResult<bool> {
    let n = diesel::update(
        decisions::table
            .find(id)
            .filter(decisions::escalated_at.is_null()),
    )
    .set(decisions::escalated_at.eq(at))
    .execute(conn)?;
    Ok(n > 0)
}

// ---- progress reports (对账 / 查账) ----

pub fn insert_report(conn: &mut DbConnection, r: &Report) -> AppResult<()> {
    diesel::insert_into(decision_reports::table)
        .values(r.clone())
        .execute(conn)?;
    Ok(())
}

/// The decision's reports, oldest first.
pub fn reports_of(conn: &mut DbConnection, decision: &str) -> AppResult<Vec<Report>> {
    Ok(decision_reports::table
        .filter(decision_reports::decision_id.eq(decision))
        .order((decision_reports::reported_at, decision_reports::id))
        .select(Report::as_select())
        .load(conn)?)
}

/// Writes the office's review of a report still pending; whether it went through.
pub fn review_report(conn: &mut DbConnection, r: &Report) -> AppResult<bool> {
    let n = diesel::update(
        decision_reports::table
            .find(&r.id)
            .filter(decision_reports::review.eq(Review::Pending.code())),
    )
    .set((
        decision_reports::review.eq(r.review.code()),
        decision_reports::review_reason.eq(&r.review_reason),
        decision_reports::reviewed_by.eq(&r.reviewed_by),
        decision_reports::reviewed_at.eq(r.reviewed_at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Reports waiting for the office's review, oldest first, with their decisions.
pub fn awaiting_review(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<(Report, Decision)>> {
    Ok(decision_reports::table
        .inner_join(decisions::table)
        .filter(decision_reports::review.eq(Review::Pending.code()))
        .order((decision_reports::reported_at, decision_reports::id))
        .select((Report::as_select(), Decision::as_select()))
        .limit(limit)
        .load(conn)?)
}

// ---- extensions ----

pub fn extensions_of(conn: &mut DbConnection, decision: &str) -> AppResult<Vec<Extension>> {
    Ok(decision_extensions::table
        .filter(decision_extensions::decision_id.eq(decision))
        .order(decision_extensions::position)
        .select(Extension::as_select())
        .load(conn)?)
}

pub fn insert_extension(conn: &mut DbConnection, e: &Extension) -> AppResult<()> {
    diesel::insert_into(decision_extensions::table)
        .values(e.clone())
        .execute(conn)?;
    Ok(())
}

// ---- evidence files ----

pub fn insert_file(conn: &mut DbConnection, f: NewFile) -> AppResult<()> {
    diesel::insert_into(decision_files::table)
        .values(f)
        .execute(conn)?;
    Ok(())
}

pub fn files_of(conn: &mut DbConnection, decision: &str) -> AppResult<Vec<FileMeta>> {
    Ok(decision_files::table
        .filter(decision_files::decision_id.eq(decision))
        .order((decision_files::uploaded_at, decision_files::id))
        .select(FileMeta::as_select())
        .load(conn)?)
}

/// A file's name, type and bytes, if it belongs to the decision.
pub fn file(
    conn: &mut DbConnection,
    decision: &str,
    id: &str,
) -> AppResult<Option<(String, String, Vec<u8>)>> {
    Ok(decision_files::table
        .find(id)
        .filter(decision_files::decision_id.eq(decision))
        .select((
            decision_files::file_name,
            decision_files::content_type,
            decision_files::data,
        ))
        .first(conn)
        .optional()?)
}

/// How many decisions entered the ledger, and how many were closed, in `[from, to)` (UTC).
pub fn entered_and_closed(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<(i64, i64)> {
    let entered = decisions::table
        .filter(decisions::entered_at.ge(from))
        .filter(decisions::entered_at.lt(to))
        .count()
        .get_result(conn)?;
    let closed = decisions::table
        .filter(decisions::state.eq(DecisionState::Closed.code()))
        .filter(decisions::closed_at.ge(from))
        .filter(decisions::closed_at.lt(to))
        .count()
        .get_result(conn)?;
    Ok((entered, closed))
}
