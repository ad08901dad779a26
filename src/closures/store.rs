//! Closure cases' storage: the only code naming the cases, their tasks, files and
//! acceptances, the watch on closed mines, the patrols and the kept counts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::closures::rules::{Basis, CaseState, ClosureKind, PatrolOutcome, TaskState};
use crate::platform::db::schema::{
    closure_acceptance_units, closure_acceptances, closure_cases, closure_counters,
    closure_due_tallies, closure_files, closure_patrols, closure_tallies, closure_tasks,
    closure_watch,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

crate::platform::db::literal_condition!(
    /// The case is still being worked on: the condition of `closure_cases_live_idx`.
    LiveCase on closure_cases::state = "closure_cases.state <> 'accepted'"
);

/// Keeps the rows of `$t` not yet claimed for a reminder (or, with `$escalation`, for an
/// escalation): the deadline machinery's one filter for cases and tasks alike.
macro_rules! unclaimed {
    ($q:expr, $t:ident, $escalation:expr) => {
        if $escalation {
            $q.filter($t::escalated_at.is_null())
        } else {
            $q.filter($t::reminded_at.is_null())
        }
    };
}

/// Claims the reminder (or escalation) of the row at `$key` once: the rows it changed.
macro_rules! claim_once {
    ($conn:expr, $key:expr, $t:ident, $escalation:expr, $at:expr) => {
        if $escalation {
            diesel::update($key.filter($t::escalated_at.is_null()))
                .set($t::escalated_at.eq($at))
                .execute($conn)?
        } else {
            diesel::update($key.filter($t::reminded_at.is_null()))
                .set($t::reminded_at.eq($at))
                .execute($conn)?
        }
    };
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_cases)]
pub struct Case {
    pub id: String,
    /// GB-2026-001.
    pub number: String,
    pub mine_id: String,
    #[diesel(serialize_as = String)]
    pub kind: ClosureKind,
    pub owner_department: String,
    pub decision_number: String,
    pub decided_on: NaiveDate,
    pub issuing_body: String,
    #[diesel(serialize_as = String)]
    pub basis: Basis,
    pub basis_ref: String,
    pub target_on: NaiveDate,
    #[diesel(serialize_as = String)]
    pub state: CaseState,
    /// The mine's status code before the case moved it to closing.
    pub status_before: String,
    pub stop_on: Option<NaiveDate>,
    pub design_due_on: Option<NaiveDate>,
    pub extended_months: i32,
    pub extension_reason: String,
    pub extended_by: Option<String>,
    pub extended_at: Option<NaiveDateTime>,
    pub accepted_on: Option<NaiveDate>,
    pub reminded_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub opened_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_tasks)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub position: i32,
    pub code: String,
    pub name: String,
    pub department: String,
    pub due_on: NaiveDate,
    #[diesel(serialize_as = String)]
    pub state: TaskState,
    pub permit_type: Option<String>,
    pub notified: String,
    pub added_reason: String,
    pub note: String,
    pub done_by: Option<String>,
    pub done_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
    pub escalated_at: Option<NaiveDateTime>,
    pub version: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = closure_files)]
pub struct NewFile {
    pub id: String,
    pub case_id: String,
    pub task_id: Option<String>,
    pub purpose: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub data: Vec<u8>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub uploaded_by: Option<String>,
    pub uploaded_at: NaiveDateTime,
}

/// A file as listed: everything but its bytes.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = closure_files)]
pub struct FileMeta {
    pub id: String,
    pub task_id: Option<String>,
    /// decision (决定书) | evidence (任务佐证) | acceptance (验收报告)
    pub purpose: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where a photo was taken (longitude, latitude), when the phone gave it.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub uploaded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_acceptances)]
pub struct Acceptance {
    pub id: String,
    pub case_id: String,
    pub accepted_on: NaiveDate,
    pub accepted: i32,
    pub conclusion: String,
    /// Comma-separated ids of the tasks to redo.
    pub redo: String,
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_acceptance_units)]
pub struct AcceptanceUnit {
    pub acceptance_id: String,
    pub department: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_watch)]
pub struct Watched {
    pub mine_id: String,
    pub case_id: String,
    pub closed_on: NaiveDate,
    pub last_patrol_on: Option<NaiveDate>,
    pub last_patrol_outcome: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = closure_patrols)]
pub struct NewPatrol {
    pub id: String,
    pub mine_id: String,
    pub outcome: String,
    pub note: String,
    pub patrolled_on: NaiveDate,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub photo_name: Option<String>,
    pub photo_type: Option<String>,
    pub photo: Option<Vec<u8>>,
    pub lead_id: Option<String>,
    pub patrolled_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = closure_patrols)]
pub struct Patrol {
    pub id: String,
    pub mine_id: String,
    pub outcome: PatrolOutcome,
    pub note: String,
    pub patrolled_on: NaiveDate,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub photo_name: Option<String>,
    pub lead_id: Option<String>,
    pub patrolled_by: Option<String>,
}

// ---- numbers ----

/// The next case number of the year (1, 2, …), claimed in the caller's transaction.
pub fn next_number(conn: &mut DbConnection, year: i32) -> AppResult<i32> {
    let row = (
        closure_counters::year.eq(year),
        closure_counters::last_number.eq(0),
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(closure_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(closure_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    let key = closure_counters::table.find(year);
    diesel::update(key)
        .set(closure_counters::last_number.eq(closure_counters::last_number + 1))
        .execute(conn)?;
    Ok(key.select(closure_counters::last_number).first(conn)?)
}

// ---- cases ----

/// Stores a new case with its tasks, and counts it.
pub fn insert(conn: &mut DbConnection, case: &Case, tasks: &[Task]) -> AppResult<()> {
    diesel::insert_into(closure_cases::table)
        .values(case.clone())
        .execute(conn)?;
    for t in tasks {
        insert_task(conn, t)?;
    }
    count(conn, case, 1, 0)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Case>> {
    Ok(closure_cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()?)
}

/// The mine's case still being worked on, if any.
pub fn live_of_mine(conn: &mut DbConnection, mine_id: &str) -> AppResult<Option<Case>> {
    Ok(closure_cases::table
        .filter(closure_cases::mine_id.eq(mine_id))
        .filter(LiveCase)
        .select(Case::as_select())
        .first(conn)
        .optional()?)
}

/// Every case of a mine, the latest first.
pub fn of_mine(conn: &mut DbConnection, mine_id: &str) -> AppResult<Vec<Case>> {
    Ok(closure_cases::table
        .filter(closure_cases::mine_id.eq(mine_id))
        .order(closure_cases::created_at.desc())
        .select(Case::as_select())
        .limit(50)
        .load(conn)?)
}

/// Writes the case's state, dates and claims if it is still at `before.version`, and
/// moves its count; whether it went through.
pub fn save(conn: &mut DbConnection, before: &Case, after: &Case) -> AppResult<bool> {
    let n = diesel::update(
        closure_cases::table
            .find(&before.id)
            .filter(closure_cases::version.eq(before.version)),
    )
    .set((
        closure_cases::state.eq(after.state.code()),
        closure_cases::target_on.eq(after.target_on),
        closure_cases::extended_months.eq(after.extended_months),
        closure_cases::extension_reason.eq(&after.extension_reason),
        closure_cases::extended_by.eq(&after.extended_by),
        closure_cases::extended_at.eq(after.extended_at),
        closure_cases::accepted_on.eq(after.accepted_on),
        closure_cases::reminded_at.eq(after.reminded_at),
        closure_cases::escalated_at.eq(after.escalated_at),
        closure_cases::updated_at.eq(after.updated_at),
        closure_cases::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    if before.state != after.state {
        count(conn, before, -1, 0)?;
        let days = after
            .accepted_on
            .map(|a| (a - after.decided_on).num_days())
            .unwrap_or(0);
        count(conn, after, 1, days)?;
    }
    Ok(true)
}

fn count(conn: &mut DbConnection, c: &Case, by: i64, days: i64) -> AppResult<()> {
    let row = (
        closure_tallies::kind.eq(c.kind.code()),
        closure_tallies::department.eq(&c.owner_department),
        closure_tallies::state.eq(c.state.code()),
        closure_tallies::n.eq(by),
        closure_tallies::days.eq(days),
    );
    let add = (
        closure_tallies::n.eq(closure_tallies::n + by),
        closure_tallies::days.eq(closure_tallies::days + days),
    );
    let key = (
        closure_tallies::kind,
        closure_tallies::department,
        closure_tallies::state,
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(closure_tallies::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(closure_tallies::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c)?,
    };
    Ok(())
}

/// The kept counts: `(kind, owner, state, cases, days from decision to acceptance)`.
/// A kept count: `(kind, owner, state, cases, days from decision to acceptance)`.
pub type Tally = (String, String, String, i64, i64);

pub fn tallies(conn: &mut DbConnection) -> AppResult<Vec<Tally>> {
    Ok(closure_tallies::table
        .filter(closure_tallies::n.gt(0))
        .select((
            closure_tallies::kind,
            closure_tallies::department,
            closure_tallies::state,
            closure_tallies::n,
            closure_tallies::days,
        ))
        .load(conn)?)
}

/// What the case list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub kind: Option<ClosureKind>,
    pub owner: Option<String>,
    pub mine_id: Option<String>,
    /// Only cases with an open task of this department.
    pub task_department: Option<String>,
    /// Keyset: ids below this one (the newest first).
    pub before: Option<String>,
}

/// Cases, the newest first.
pub fn list(conn: &mut DbConnection, f: &CaseFilter, limit: i64) -> AppResult<Vec<Case>> {
    let mut q = closure_cases::table
        .select(Case::as_select())
        .order(closure_cases::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = f.state {
        q = q.filter(closure_cases::state.eq(s.code()));
    }
    if let Some(k) = f.kind {
        q = q.filter(closure_cases::kind.eq(k.code()));
    }
    if let Some(o) = &f.owner {
        q = q.filter(closure_cases::owner_department.eq(o.clone()));
    }
    if let Some(m) = &f.mine_id {
        q = q.filter(closure_cases::mine_id.eq(m.clone()));
    }
    if let Some(d) = &f.task_department {
        q = q.filter(
            closure_cases::id.eq_any(
                closure_tasks::table
                    .filter(closure_tasks::department.eq(d.clone()))
                    .filter(closure_tasks::state.eq(TaskState::Open.code()))
                    .select(closure_tasks::case_id),
            ),
        );
    }
    if let Some(b) = &f.before {
        q = q.filter(closure_cases::id.lt(b.clone()));
    }
    Ok(q.load(conn)?)
}

pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Case>> {
    Ok(closure_cases::table
        .filter(closure_cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)?)
}

/// Live tailings pond cases (their clocks), the nearest closure first.
pub fn tailings_clocks(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<Case>> {
    Ok(closure_cases::table
        .filter(closure_cases::kind.eq(ClosureKind::TailingsClosure.code()))
        .filter(LiveCase)
        .order((closure_cases::target_on, closure_cases::id))
        .select(Case::as_select())
        .limit(limit)
        .load(conn)?)
}

/// Live cases whose target date falls before `before`, not yet claimed for a reminder (or
/// an escalation), the nearest first.
pub fn cases_due(
    conn: &mut DbConnection,
    before: NaiveDate,
    escalation: bool,
    limit: i64,
) -> AppResult<Vec<Case>> {
    let mut q = closure_cases::table
        .filter(LiveCase)
        .filter(closure_cases::target_on.lt(before))
        .order((closure_cases::target_on, closure_cases::id))
        .select(Case::as_select())
        .limit(limit)
        .into_boxed();
    q = unclaimed!(q, closure_cases, escalation);
    Ok(q.load(conn)?)
}

/// Claims a case's reminder or escalation (once); whether this caller got it.
pub fn claim_case(
    conn: &mut DbConnection,
    id: &str,
    escalation: bool,
    at: NaiveDateTime,
) -> AppResult<bool> {
    let key = closure_cases::table.find(id);
    let n = claim_once!(conn, key, closure_cases, escalation, at);
    Ok(n > 0)
}

// ---- tasks ----

pub fn tasks_of(conn: &mut DbConnection, case_id: &str) -> AppResult<Vec<Task>> {
    Ok(closure_tasks::table
        .filter(closure_tasks::case_id.eq(case_id))
        .order(closure_tasks::position)
        .select(Task::as_select())
        .load(conn)?)
}

pub fn tasks_of_cases(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Task>> {
    Ok(closure_tasks::table
        .filter(closure_tasks::case_id.eq_any(ids))
        .order((closure_tasks::case_id, closure_tasks::position))
        .select(Task::as_select())
        .load(conn)?)
}

pub fn insert_task(conn: &mut DbConnection, t: &Task) -> AppResult<()> {
    diesel::insert_into(closure_tasks::table)
        .values(t.clone())
        .execute(conn)?;
    if t.state == TaskState::Open {
        due(conn, t, 1)?;
    }
    Ok(())
}

/// The month of a deadline as the kept counts name it: "2026-03".
fn month_of(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// Moves the count of open tasks of the task's department in its deadline's month.
fn due(conn: &mut DbConnection, t: &Task, by: i64) -> AppResult<()> {
    let row = (
        closure_due_tallies::department.eq(&t.department),
        closure_due_tallies::month.eq(month_of(t.due_on)),
        closure_due_tallies::n.eq(by),
    );
    let add = closure_due_tallies::n.eq(closure_due_tallies::n + by);
    let key = (closure_due_tallies::department, closure_due_tallies::month);
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(closure_due_tallies::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(closure_due_tallies::table)
            .values(row)
            .on_conflict(key)
            .do_update()
            .set(add)
            .execute(c)?,
    };
    Ok(())
}

/// Rebuilds the kept counts of open tasks from the tasks themselves (after a bulk load).
pub fn recount_due(conn: &mut DbConnection) -> AppResult<()> {
    diesel::delete(closure_due_tallies::table).execute(conn)?;
    let open: Vec<(String, NaiveDate)> = closure_tasks::table
        .filter(closure_tasks::state.eq(TaskState::Open.code()))
        .select((closure_tasks::department, closure_tasks::due_on))
        .load(conn)?;
    let mut counts: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (d, on) in open {
        *counts.entry((d, month_of(on))).or_default() += 1;
    }
    for ((department, month), n) in counts {
        diesel::insert_into(closure_due_tallies::table)
            .values((
                closure_due_tallies::department.eq(department),
                closure_due_tallies::month.eq(month),
                closure_due_tallies::n.eq(n),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Writes a task's state, deadline, note and claims if it is still at `before.version`.
pub fn save_task(conn: &mut DbConnection, before: &Task, after: &Task) -> AppResult<bool> {
    let n = diesel::update(
        closure_tasks::table
            .find(&before.id)
            .filter(closure_tasks::version.eq(before.version)),
    )
    .set((
        closure_tasks::state.eq(after.state.code()),
        closure_tasks::due_on.eq(after.due_on),
        closure_tasks::note.eq(&after.note),
        closure_tasks::done_by.eq(&after.done_by),
        closure_tasks::done_at.eq(after.done_at),
        closure_tasks::reminded_at.eq(after.reminded_at),
        closure_tasks::escalated_at.eq(after.escalated_at),
        closure_tasks::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    if before.state == TaskState::Open {
        due(conn, before, -1)?;
    }
    if after.state == TaskState::Open {
        due(conn, after, 1)?;
    }
    Ok(true)
}

/// A department's open tasks (its queue), the nearest deadline first, after `(due_on, id)`.
pub fn queue(
    conn: &mut DbConnection,
    department: &str,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> AppResult<Vec<Task>> {
    let mut q = closure_tasks::table
        .filter(closure_tasks::department.eq(department))
        .filter(closure_tasks::state.eq(TaskState::Open.code()))
        .order((closure_tasks::due_on, closure_tasks::id))
        .select(Task::as_select())
        .limit(limit)
        .into_boxed();
    if let Some((due, id)) = after {
        q = q.filter(
            closure_tasks::due_on
                .gt(due)
                .or(closure_tasks::due_on.eq(due).and(closure_tasks::id.gt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// How many open tasks a department has.
pub fn open_task_count(conn: &mut DbConnection, department: &str) -> AppResult<i64> {
    Ok(closure_tasks::table
        .filter(closure_tasks::department.eq(department))
        .filter(closure_tasks::state.eq(TaskState::Open.code()))
        .count()
        .get_result(conn)?)
}

/// Open tasks past their deadline, by department: `(department, count)` — the kept counts
/// of the months before this one, and a short range of the deadline index for this
/// month's days.
pub fn overdue_by_department(
    conn: &mut DbConnection,
    today: NaiveDate,
) -> AppResult<Vec<(String, i64)>> {
    use chrono::Datelike;
    use diesel::dsl::count_star;
    let month_start = today.with_day(1).unwrap_or(today);
    let earlier: Vec<(String, i64)> = closure_due_tallies::table
        .filter(closure_due_tallies::month.lt(month_of(today)))
        .filter(closure_due_tallies::n.gt(0))
        .select((closure_due_tallies::department, closure_due_tallies::n))
        .load(conn)?;
    let this_month: Vec<(String, i64)> = closure_tasks::table
        .filter(closure_tasks::state.eq(TaskState::Open.code()))
        .filter(closure_tasks::due_on.ge(month_start))
        .filter(closure_tasks::due_on.lt(today))
        .group_by(closure_tasks::department)
        .select((closure_tasks::department, count_star()))
        .load(conn)?;
    let mut out: Vec<(String, i64)> = Vec::new();
    for (d, n) in earlier.into_iter().chain(this_month) {
        match out.iter_mut().find(|(c, _)| *c == d) {
            Some(c) => c.1 += n,
            None => out.push((d, n)),
        }
    }
    Ok(out)
}

/// Open tasks due before `before`, not yet claimed for a reminder (or an escalation).
pub fn tasks_due(
    conn: &mut DbConnection,
    before: NaiveDate,
    escalation: bool,
    limit: i64,
) -> AppResult<Vec<Task>> {
    let mut q = closure_tasks::table
        .filter(closure_tasks::state.eq(TaskState::Open.code()))
        .filter(closure_tasks::due_on.lt(before))
        .order((closure_tasks::due_on, closure_tasks::id))
        .select(Task::as_select())
        .limit(limit)
        .into_boxed();
    q = unclaimed!(q, closure_tasks, escalation);
    Ok(q.load(conn)?)
}

/// Claims a task's reminder or escalation (once); whether this caller got it.
pub fn claim_task(
    conn: &mut DbConnection,
    id: &str,
    escalation: bool,
    at: NaiveDateTime,
) -> AppResult<bool> {
    let key = closure_tasks::table
        .find(id)
        .filter(closure_tasks::state.eq(TaskState::Open.code()));
    let n = claim_once!(conn, key, closure_tasks, escalation, at);
    Ok(n > 0)
}

// ---- files ----

pub fn insert_file(conn: &mut DbConnection, f: NewFile) -> AppResult<()> {
    diesel::insert_into(closure_files::table)
        .values(f)
        .execute(conn)?;
    Ok(())
}

pub fn files_of(conn: &mut DbConnection, case_id: &str) -> AppResult<Vec<FileMeta>> {
    Ok(closure_files::table
        .filter(closure_files::case_id.eq(case_id))
        .order((closure_files::uploaded_at, closure_files::id))
        .select(FileMeta::as_select())
        .load(conn)?)
}

/// A file's name, type and bytes, if it belongs to the case.
pub fn file(
    conn: &mut DbConnection,
    case_id: &str,
    id: &str,
) -> AppResult<Option<(String, String, Vec<u8>)>> {
    Ok(closure_files::table
        .find(id)
        .filter(closure_files::case_id.eq(case_id))
        .select((
            closure_files::file_name,
            closure_files::content_type,
            closure_files::data,
        ))
        .first(conn)
        .optional()?)
}

// ---- acceptances ----

pub fn insert_acceptance(
    conn: &mut DbConnection,
    a: &Acceptance,
    units: &[AcceptanceUnit],
) -> AppResult<()> {
    diesel::insert_into(closure_acceptances::table)
        .values(a.clone())
        .execute(conn)?;
    for u in units {
        diesel::insert_into(closure_acceptance_units::table)
            .values(u.clone())
            .execute(conn)?;
    }
    Ok(())
}

pub fn acceptances_of(
    conn: &mut DbConnection,
    case_id: &str,
) -> AppResult<Vec<(Acceptance, Vec<AcceptanceUnit>)>> {
    let rows: Vec<Acceptance> = closure_acceptances::table
        .filter(closure_acceptances::case_id.eq(case_id))
        .order(closure_acceptances::recorded_at)
        .select(Acceptance::as_select())
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|a| &a.id).collect();
    let units: Vec<AcceptanceUnit> = closure_acceptance_units::table
        .filter(closure_acceptance_units::acceptance_id.eq_any(ids))
        .order(closure_acceptance_units::department)
        .select(AcceptanceUnit::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|a| {
            let mine = units
                .iter()
                .filter(|u| u.acceptance_id == a.id)
                .cloned()
                .collect();
            (a, mine)
        })
        .collect())
}

/// A department confirms an acceptance it took part in (once); whether it went through.
pub fn confirm(
    conn: &mut DbConnection,
    acceptance_id: &str,
    department: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        closure_acceptance_units::table
            .find((acceptance_id, department))
            .filter(closure_acceptance_units::confirmed_at.is_null()),
    )
    .set((
        closure_acceptance_units::confirmed_by.eq(by),
        closure_acceptance_units::confirmed_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// `(acceptance id, case id)` of acceptances a department has still to confirm, and how
/// many there are in all.
pub fn unconfirmed(
    conn: &mut DbConnection,
    department: &str,
    limit: i64,
) -> AppResult<(Vec<(String, String)>, i64)> {
    let open = closure_acceptance_units::table
        .filter(closure_acceptance_units::department.eq(department))
        .filter(closure_acceptance_units::confirmed_at.is_null());
    let count: i64 = open.count().get_result(conn)?;
    let rows = if count == 0 {
        Vec::new()
    } else {
        open.inner_join(closure_acceptances::table)
            .select((closure_acceptances::id, closure_acceptances::case_id))
            .limit(limit)
            .load(conn)?
    };
    Ok((rows, count))
}

// ---- the watch ----

pub fn watch(conn: &mut DbConnection, w: &Watched) -> AppResult<()> {
    diesel::insert_into(closure_watch::table)
        .values(w.clone())
        .execute(conn)?;
    Ok(())
}

pub fn watched(conn: &mut DbConnection, mine_id: &str) -> AppResult<Option<Watched>> {
    Ok(closure_watch::table
        .find(mine_id)
        .select(Watched::as_select())
        .first(conn)
        .optional()?)
}

/// Watched mines, the latest closed first, after `(closed_on, mine_id)`; with `patrolled_before`
/// only those not patrolled after that day.
pub fn watch_list(
    conn: &mut DbConnection,
    patrolled_before: Option<NaiveDate>,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> AppResult<Vec<Watched>> {
    let mut q = closure_watch::table
        .select(Watched::as_select())
        .order((
            closure_watch::closed_on.desc(),
            closure_watch::mine_id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(d) = patrolled_before {
        q = q.filter(
            closure_watch::last_patrol_on
                .is_null()
                .or(closure_watch::last_patrol_on.le(d)),
        );
    }
    if let Some((on, id)) = after {
        q = q.filter(
            closure_watch::closed_on.lt(on).or(closure_watch::closed_on
                .eq(on)
                .and(closure_watch::mine_id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn watch_count(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(closure_watch::table.count().get_result(conn)?)
}

// ---- patrols ----

/// Stores a patrol and makes it the mine's last one on the watch.
pub fn insert_patrol(conn: &mut DbConnection, p: NewPatrol) -> AppResult<()> {
    diesel::update(
        closure_watch::table.find(&p.mine_id).filter(
            closure_watch::last_patrol_on
                .is_null()
                .or(closure_watch::last_patrol_on.le(p.patrolled_on)),
        ),
    )
    .set((
        closure_watch::last_patrol_on.eq(p.patrolled_on),
        closure_watch::last_patrol_outcome.eq(&p.outcome),
    ))
    .execute(conn)?;
    diesel::insert_into(closure_patrols::table)
        .values(p)
        .execute(conn)?;
    Ok(())
}

pub fn patrols_of(conn: &mut DbConnection, mine_id: &str, limit: i64) -> AppResult<Vec<Patrol>> {
    Ok(closure_patrols::table
        .filter(closure_patrols::mine_id.eq(mine_id))
        .order(closure_patrols::created_at.desc())
        .select(Patrol::as_select())
        .limit(limit)
        .load(conn)?)
}

/// A patrol's photo: name, type and bytes.
pub fn patrol_photo(
    conn: &mut DbConnection,
    id: &str,
) -> AppResult<Option<(String, String, Vec<u8>)>> {
    type Photo = (Option<String>, Option<String>, Option<Vec<u8>>);
    let row: Option<Photo> = closure_patrols::table
        .find(id)
        .select((
            closure_patrols::photo_name,
            closure_patrols::photo_type,
            closure_patrols::photo,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(n, t, d)| Some((n?, t?, d?))))
}
