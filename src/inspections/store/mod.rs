//! The inspections' storage: the only code naming the catalogue, the tasks with their
//! departments, inspectors and items, the results and the hazards.

pub mod files;
pub mod links;
pub mod tallies;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::inspections::rules::{Basis, HazardGrade, HazardState, InspectionState, Outcome};
use crate::platform::db::schema::{
    hazards, inspection_counters, inspection_departments, inspection_inspectors, inspection_items,
    inspection_plans, inspection_ratings, inspection_results, inspection_task_items, inspections,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

crate::platform::db::literal_condition!(
    /// The hazard is not closed: the condition of `hazards_open_idx` and `hazards_open_all_idx`.
    OpenHazard on hazards::state = "hazards.state <> 'closed'"
);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = inspection_items)]
pub struct Item {
    pub code: String,
    pub department: String,
    pub name: String,
    pub legal_basis: String,
    pub joinable: i32,
    pub active: i32,
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspections)]
pub struct Inspection {
    pub id: String,
    pub number: String,
    pub code: String,
    pub mine_id: String,
    pub lead_department: String,
    #[diesel(serialize_as = String)]
    pub state: InspectionState,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    #[diesel(serialize_as = String)]
    pub basis: Basis,
    pub basis_ref: String,
    pub lead_id: Option<String>,
    pub override_kind: Option<String>,
    pub override_reason: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: String,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub plan_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_departments)]
pub struct TaskDepartment {
    pub inspection_id: String,
    pub department: String,
    /// lead | joint
    pub role: String,
    pub recorded_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_inspectors)]
pub struct Inspector {
    pub inspection_id: String,
    pub user_id: String,
    pub department: String,
    pub name: String,
    pub certificate_number: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_task_items)]
pub struct TaskItem {
    pub inspection_id: String,
    pub item_code: String,
    pub department: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_results)]
pub struct ResultRow {
    pub inspection_id: String,
    pub item_code: String,
    pub department: String,
    pub mine_id: String,
    #[diesel(serialize_as = String)]
    pub outcome: Outcome,
    pub note: String,
    pub recognised_from: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = hazards)]
pub struct Hazard {
    pub id: String,
    pub number: String,
    pub inspection_id: String,
    pub mine_id: String,
    pub item_code: String,
    #[diesel(serialize_as = String)]
    pub grade: HazardGrade,
    pub standard_item: Option<String>,
    pub description: String,
    pub rectify_by: NaiveDate,
    pub responsible_department: String,
    #[diesel(serialize_as = String)]
    pub state: HazardState,
    pub escalated_at: Option<NaiveDateTime>,
    pub reinspected_at: Option<NaiveDateTime>,
    pub reinspection_note: String,
    pub closed_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The first day of the task's visit (the month it is counted in).
    pub visit_on: NaiveDate,
}

// ---- the catalogue ----

pub fn items(conn: &mut DbConnection, department: Option<&str>) -> AppResult<Vec<Item>> {
    let mut q = inspection_items::table
        .select(Item::as_select())
        .order((inspection_items::department, inspection_items::code))
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(inspection_items::department.eq(d.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn items_by_code(conn: &mut DbConnection, codes: &[String]) -> AppResult<Vec<Item>> {
    Ok(inspection_items::table
        .filter(inspection_items::code.eq_any(codes))
        .select(Item::as_select())
        .load(conn)?)
}

pub fn insert_item(conn: &mut DbConnection, item: &Item) -> AppResult<()> {
    diesel::insert_into(inspection_items::table)
        .values(item)
        .execute(conn)?;
    Ok(())
}

// ---- tasks ----

/// The next number of the year for `kind` (`JC` tasks, `YH` hazards); the counter row is
/// locked for the rest of the transaction, so numbers have no gaps among committed rows.
pub fn next_number(conn: &mut DbConnection, kind: &str, year: i32) -> AppResult<i32> {
    let row = (
        inspection_counters::kind.eq(kind),
        inspection_counters::year.eq(year),
        inspection_counters::last_number.eq(0),
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(inspection_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(inspection_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    let key = inspection_counters::table.find((kind, year));
    diesel::update(key)
        .set(inspection_counters::last_number.eq(inspection_counters::last_number + 1))
        .execute(conn)?;
    Ok(key.select(inspection_counters::last_number).first(conn)?)
}

/// Stores a new task with its departments, inspectors and items.
pub fn insert(
    conn: &mut DbConnection,
    task: &Inspection,
    departments: &[TaskDepartment],
    inspectors: &[Inspector],
    items: &[TaskItem],
) -> AppResult<()> {
    diesel::insert_into(inspections::table)
        .values(task.clone())
        .execute(conn)?;
    // One statement per row: the two backends behind one connection type share no batch
    // insert; a task has a handful of each.
    for d in departments {
        diesel::insert_into(inspection_departments::table)
            .values(d)
            .execute(conn)?;
    }
    for i in inspectors {
        diesel::insert_into(inspection_inspectors::table)
            .values(i)
            .execute(conn)?;
    }
    for i in items {
        diesel::insert_into(inspection_task_items::table)
            .values(i)
            .execute(conn)?;
    }
    if task.state != InspectionState::Cancelled {
        count_task(conn, task, 1)?;
    }
    Ok(())
}

/// Counts a task in (+1) or out (-1, cancelled) of its month's tallies.
fn count_task(conn: &mut DbConnection, task: &Inspection, sign: i64) -> AppResult<()> {
    let (parties, joint) = tallies::parties(conn, &task.id)?;
    let month = tallies::month_of(task.window_from);
    let d = tallies::Delta {
        tasks: sign,
        joint_tasks: if joint { sign } else { 0 },
        ..Default::default()
    };
    tallies::add(conn, &month, &parties, &d)?;
    if task.override_kind.is_some() {
        let d = tallies::Delta {
            overrides: sign,
            ..Default::default()
        };
        let lead = [task.lead_department.clone(), tallies::DISTRICT.to_owned()];
        tallies::add(conn, &month, &lead, &d)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Inspection>> {
    Ok(inspections::table
        .find(id)
        .select(Inspection::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> AppResult<Option<Inspection>> {
    Ok(inspections::table
        .filter(inspections::code.eq(code))
        .select(Inspection::as_select())
        .first(conn)
        .optional()?)
}

/// A task's departments, inspectors, items and results.
pub struct Parts {
    pub departments: Vec<TaskDepartment>,
    pub inspectors: Vec<Inspector>,
    pub items: Vec<TaskItem>,
    pub results: Vec<ResultRow>,
}

/// The departments of many tasks, in one query.
pub fn departments_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<TaskDepartment>> {
    Ok(inspection_departments::table
        .filter(inspection_departments::inspection_id.eq_any(ids))
        .select(TaskDepartment::as_select())
        .order((
            inspection_departments::inspection_id,
            inspection_departments::role.desc(),
        ))
        .load(conn)?)
}

/// The inspectors of many tasks, in one query.
pub fn inspectors_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Inspector>> {
    Ok(inspection_inspectors::table
        .filter(inspection_inspectors::inspection_id.eq_any(ids))
        .select(Inspector::as_select())
        .order((
            inspection_inspectors::department,
            inspection_inspectors::name,
        ))
        .load(conn)?)
}

/// The open hazards of many tasks, in one query: `(task, rectify by)`.
pub fn open_hazards_of_tasks(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, NaiveDate)>> {
    Ok(hazards::table
        .filter(hazards::inspection_id.eq_any(ids))
        .filter(OpenHazard)
        .select((hazards::inspection_id, hazards::rectify_by))
        .load(conn)?)
}

/// A task's parts, in four queries.
pub fn parts(conn: &mut DbConnection, id: &str) -> AppResult<Parts> {
    Ok(Parts {
        departments: inspection_departments::table
            .filter(inspection_departments::inspection_id.eq(id))
            .select(TaskDepartment::as_select())
            .order(inspection_departments::role.desc())
            .load(conn)?,
        inspectors: inspection_inspectors::table
            .filter(inspection_inspectors::inspection_id.eq(id))
            .select(Inspector::as_select())
            .order((
                inspection_inspectors::department,
                inspection_inspectors::name,
            ))
            .load(conn)?,
        items: inspection_task_items::table
            .filter(inspection_task_items::inspection_id.eq(id))
            .select(TaskItem::as_select())
            .order((
                inspection_task_items::department,
                inspection_task_items::item_code,
            ))
            .load(conn)?,
        results: inspection_results::table
            .filter(inspection_results::inspection_id.eq(id))
            .select(ResultRow::as_select())
            .load(conn)?,
    })
}

/// The mine's tasks that are not cancelled, `(number, window start)`, starting in
/// `[from, to]`.
pub fn of_mine_between(
    conn: &mut DbConnection,
    mine_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(String, NaiveDate)>> {
    Ok(inspections::table
        .filter(inspections::mine_id.eq(mine_id))
        .filter(inspections::window_from.between(from, to))
        .filter(inspections::state.ne(InspectionState::Cancelled.code()))
        .select((inspections::number, inspections::window_from))
        .load(conn)?)
}

/// A mine's tasks, newest first (at most `limit`).
pub fn of_mine(conn: &mut DbConnection, mine_id: &str, limit: i64) -> AppResult<Vec<Inspection>> {
    Ok(inspections::table
        .filter(inspections::mine_id.eq(mine_id))
        .order((inspections::window_from.desc(), inspections::id.desc()))
        .limit(limit)
        .select(Inspection::as_select())
        .load(conn)?)
}

/// A filtered page of tasks, newest window first, keyset after `(window_from, id)`.
pub struct TaskFilter {
    pub mine_id: Option<String>,
    pub lead_id: Option<String>,
    pub department: Option<String>,
    pub state: Option<InspectionState>,
    pub after: Option<(NaiveDate, String)>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConnection, f: &TaskFilter) -> AppResult<Vec<Inspection>> {
    let mut q = inspections::table
        .select(Inspection::as_select())
        .order((inspections::window_from.desc(), inspections::id.desc()))
        .limit(f.limit)
        .into_boxed();
    if let Some(m) = &f.mine_id {
        q = q.filter(inspections::mine_id.eq(m.clone()));
    }
    if let Some(l) = &f.lead_id {
        q = q.filter(inspections::lead_id.eq(l.clone()));
    }
    if let Some(s) = f.state {
        q = q.filter(inspections::state.eq(s.code()));
    }
    if let Some(d) = &f.department {
        let ids = inspection_departments::table
            .filter(inspection_departments::department.eq(d.clone()))
            .select(inspection_departments::inspection_id);
        q = q.filter(inspections::id.eq_any(ids));
    }
    if let Some((on, id)) = &f.after {
        q = q.filter(
            inspections::window_from.lt(*on).or(inspections::window_from
                .eq(*on)
                .and(inspections::id.lt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// Writes a task's new state and times if it is still at `before.version`.
pub fn save(conn: &mut DbConnection, before: &Inspection, after: &Inspection) -> AppResult<bool> {
    let n = diesel::update(
        inspections::table
            .find(&before.id)
            .filter(inspections::version.eq(before.version)),
    )
    .set((
        inspections::state.eq(after.state.code()),
        inspections::started_at.eq(after.started_at),
        inspections::completed_at.eq(after.completed_at),
        inspections::archived_at.eq(after.archived_at),
        inspections::cancelled_at.eq(after.cancelled_at),
        inspections::cancel_reason.eq(&after.cancel_reason),
        inspections::updated_at.eq(after.updated_at),
        inspections::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if n > 0
        && after.state == InspectionState::Cancelled
        && before.state != InspectionState::Cancelled
    {
        count_task(conn, before, -1)?;
    }
    Ok(n > 0)
}

// ---- results ----

/// Writes a department's results (replacing what it recorded before) and marks it as
/// having recorded.
pub fn put_results(
    conn: &mut DbConnection,
    inspection_id: &str,
    department: &str,
    rows: &[ResultRow],
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(
        inspection_results::table
            .filter(inspection_results::inspection_id.eq(inspection_id))
            .filter(inspection_results::department.eq(department)),
    )
    .execute(conn)?;
    for r in rows {
        diesel::insert_into(inspection_results::table)
            .values(r.clone())
            .execute(conn)?;
    }
    diesel::update(
        inspection_departments::table
            .filter(inspection_departments::inspection_id.eq(inspection_id))
            .filter(inspection_departments::department.eq(department)),
    )
    .set(inspection_departments::recorded_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// The latest result of an item on a mine from another task (结果互认).
pub struct Earlier {
    pub item: String,
    pub task_id: String,
    pub task_number: String,
    pub outcome: Outcome,
    pub at: NaiveDateTime,
}

/// The latest result of each of `items` on the mine from tasks other than `except`.
pub fn latest_results(
    conn: &mut DbConnection,
    mine_id: &str,
    items: &[String],
    except: &str,
) -> AppResult<Vec<Earlier>> {
    let rows: Vec<(String, String, String, String, NaiveDateTime)> = inspection_results::table
        .inner_join(inspections::table)
        .filter(inspection_results::mine_id.eq(mine_id))
        .filter(inspection_results::item_code.eq_any(items))
        .filter(inspection_results::inspection_id.ne(except))
        .filter(inspection_results::outcome.ne(Outcome::NotChecked.code()))
        .order(inspection_results::recorded_at.desc())
        .select((
            inspection_results::item_code,
            inspection_results::inspection_id,
            inspections::number,
            inspection_results::outcome,
            inspection_results::recorded_at,
        ))
        .limit(500)
        .load(conn)?;
    let mut out: Vec<Earlier> = Vec::new();
    for (item, task_id, task_number, outcome, at) in rows {
        if out.iter().any(|o| o.item == item) {
            continue;
        }
        if let Some(outcome) = Outcome::parse(&outcome) {
            out.push(Earlier {
                item,
                task_id,
                task_number,
                outcome,
                at,
            });
        }
    }
    Ok(out)
}

// ---- annual plans ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_plans)]
pub struct Plan {
    pub id: String,
    pub year: i32,
    pub lead_department: String,
    /// Codes, comma-separated.
    pub joint_departments: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub target_count: i32,
    pub scope: String,
    pub content: String,
    pub exempt_from_publication: i32,
    /// draft | approved
    pub state: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

pub fn insert_plan(conn: &mut DbConnection, p: &Plan) -> AppResult<()> {
    diesel::insert_into(inspection_plans::table)
        .values(p)
        .execute(conn)?;
    Ok(())
}

pub fn find_plan(conn: &mut DbConnection, id: &str) -> AppResult<Option<Plan>> {
    Ok(inspection_plans::table
        .find(id)
        .select(Plan::as_select())
        .first(conn)
        .optional()?)
}

/// Plans of a year (all departments), by department; only approved ones when asked.
pub fn plans(conn: &mut DbConnection, year: i32, approved_only: bool) -> AppResult<Vec<Plan>> {
    let mut q = inspection_plans::table
        .filter(inspection_plans::year.eq(year))
        .order((
            inspection_plans::lead_department,
            inspection_plans::period_from,
        ))
        .select(Plan::as_select())
        .into_boxed();
    if approved_only {
        q = q.filter(inspection_plans::state.eq("approved"));
    }
    Ok(q.limit(1000).load(conn)?)
}

/// Approves a draft plan; false if it was no longer a draft at `version`.
pub fn approve_plan(
    conn: &mut DbConnection,
    p: &Plan,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        inspection_plans::table
            .find(&p.id)
            .filter(inspection_plans::state.eq("draft"))
            .filter(inspection_plans::version.eq(p.version)),
    )
    .set((
        inspection_plans::state.eq("approved"),
        inspection_plans::approved_by.eq(by),
        inspection_plans::approved_at.eq(now),
        inspection_plans::updated_at.eq(now),
        inspection_plans::version.eq(p.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Tasks carried out (completed or archived) under each of the plans.
pub fn carried_out(conn: &mut DbConnection, plan_ids: &[String]) -> AppResult<Vec<(String, i64)>> {
    use diesel::dsl::count_star;
    let rows: Vec<(Option<String>, i64)> = inspections::table
        .filter(inspections::plan_id.eq_any(plan_ids))
        .filter(inspections::state.eq_any([
            InspectionState::Completed.code(),
            InspectionState::Archived.code(),
        ]))
        .group_by(inspections::plan_id)
        .select((inspections::plan_id, count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, n)| p.map(|p| (p, n)))
        .collect())
}

// ---- the enterprise's rating ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_ratings)]
pub struct Rating {
    pub inspection_id: String,
    pub mine_id: String,
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: String,
    pub comment: String,
    pub rated_by: Option<String>,
    pub rated_at: NaiveDateTime,
}

pub fn insert_rating(conn: &mut DbConnection, r: &Rating) -> AppResult<()> {
    diesel::insert_into(inspection_ratings::table)
        .values(r)
        .execute(conn)?;
    let day: NaiveDate = inspections::table
        .find(&r.inspection_id)
        .select(inspections::window_from)
        .first(conn)?;
    let (parties, _) = tallies::parties(conn, &r.inspection_id)?;
    let satisfied = matches!(r.verdict.as_str(), "satisfied" | "basically_satisfied");
    let d = tallies::Delta {
        ratings: 1,
        satisfied: i64::from(satisfied),
        ..Default::default()
    };
    tallies::add(conn, &tallies::month_of(day), &parties, &d)
}

pub fn ratings_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Rating>> {
    Ok(inspection_ratings::table
        .filter(inspection_ratings::inspection_id.eq_any(ids))
        .select(Rating::as_select())
        .load(conn)?)
}

// ---- hazards ----

pub fn insert_hazard(conn: &mut DbConnection, h: &Hazard) -> AppResult<()> {
    diesel::insert_into(hazards::table)
        .values(h.clone())
        .execute(conn)?;
    let d = tallies::Delta {
        hazards: 1,
        hazards_closed: i64::from(h.state == HazardState::Closed),
        ..Default::default()
    };
    hazard_tally(conn, h, &d)
}

fn hazard_tally(conn: &mut DbConnection, h: &Hazard, d: &tallies::Delta) -> AppResult<()> {
    let rows = [
        h.responsible_department.clone(),
        tallies::DISTRICT.to_owned(),
    ];
    tallies::add(conn, &tallies::month_of(h.visit_on), &rows, d)
}

pub fn find_hazard(conn: &mut DbConnection, id: &str) -> AppResult<Option<Hazard>> {
    Ok(hazards::table
        .find(id)
        .select(Hazard::as_select())
        .first(conn)
        .optional()?)
}

pub fn hazards_of(conn: &mut DbConnection, inspection_id: &str) -> AppResult<Vec<Hazard>> {
    Ok(hazards::table
        .filter(hazards::inspection_id.eq(inspection_id))
        .order(hazards::number)
        .select(Hazard::as_select())
        .load(conn)?)
}

/// Hazards filtered, soonest due first, keyset after `(rectify_by, id)`.
pub struct HazardFilter {
    pub mine_id: Option<String>,
    pub department: Option<String>,
    /// Only open (true) or only closed (false).
    pub open: Option<bool>,
    /// Only those past their due date on this day.
    pub overdue_on: Option<NaiveDate>,
    pub after: Option<(NaiveDate, String)>,
    pub limit: i64,
}

pub fn list_hazards(conn: &mut DbConnection, f: &HazardFilter) -> AppResult<Vec<Hazard>> {
    let mut q = hazards::table
        .select(Hazard::as_select())
        .order((hazards::rectify_by, hazards::id))
        .limit(f.limit)
        .into_boxed();
    if let Some(m) = &f.mine_id {
        q = q.filter(hazards::mine_id.eq(m.clone()));
    }
    if let Some(d) = &f.department {
        q = q.filter(hazards::responsible_department.eq(d.clone()));
    }
    // Open hazards by the literal condition of `hazards_open_idx` (a bound value would not
    // let either database prove the partial index applies).
    match f.open {
        Some(true) => q = q.filter(OpenHazard),
        Some(false) => q = q.filter(hazards::state.eq(HazardState::Closed.code())),
        None => {}
    }
    if let Some(day) = f.overdue_on {
        q = q.filter(OpenHazard).filter(hazards::rectify_by.lt(day));
    }
    if let Some((on, id)) = &f.after {
        q = q.filter(
            hazards::rectify_by
                .gt(*on)
                .or(hazards::rectify_by.eq(*on).and(hazards::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// Writes a hazard's new state if it is still at `before.version`.
pub fn save_hazard(conn: &mut DbConnection, before: &Hazard, after: &Hazard) -> AppResult<bool> {
    let n = diesel::update(
        hazards::table
            .find(&before.id)
            .filter(hazards::version.eq(before.version)),
    )
    .set((
        hazards::state.eq(after.state.code()),
        hazards::reinspected_at.eq(after.reinspected_at),
        hazards::reinspection_note.eq(&after.reinspection_note),
        hazards::closed_at.eq(after.closed_at),
        hazards::escalated_at.eq(after.escalated_at),
        hazards::updated_at.eq(after.updated_at),
        hazards::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if n > 0 && after.state == HazardState::Closed && before.state != HazardState::Closed {
        let d = tallies::Delta {
            hazards_closed: 1,
            ..Default::default()
        };
        hazard_tally(conn, before, &d)?;
    }
    Ok(n > 0)
}

/// Open hazards past their rectification date and not yet escalated (at most `limit`).
pub fn overdue_unescalated(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
) -> AppResult<Vec<String>> {
    Ok(hazards::table
        .filter(OpenHazard)
        .filter(hazards::rectify_by.lt(today))
        .filter(hazards::escalated_at.is_null())
        .order(hazards::rectify_by)
        .limit(limit)
        .select(hazards::id)
        .load(conn)?)
}

/// Marks the hazard escalated if it still is open, overdue and not escalated; false when
/// another check got there first.
pub fn claim_escalation(
    conn: &mut DbConnection,
    id: &str,
    today: NaiveDate,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        hazards::table
            .find(id)
            .filter(hazards::escalated_at.is_null())
            .filter(OpenHazard)
            .filter(hazards::rectify_by.lt(today)),
    )
    .set(hazards::escalated_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

/// Open tasks where `department` has not yet recorded: how many, and the first `limit` by
/// the end of their window.
pub fn awaiting_record(
    conn: &mut DbConnection,
    department: &str,
    limit: i64,
) -> AppResult<(i64, Vec<Inspection>)> {
    let open = [
        InspectionState::Planned.code(),
        InspectionState::InProgress.code(),
    ];
    let ids = inspection_departments::table
        .filter(inspection_departments::department.eq(department.to_owned()))
        .filter(inspection_departments::recorded_at.is_null())
        .select(inspection_departments::inspection_id);
    let count: i64 = inspections::table
        .filter(inspections::id.eq_any(ids))
        .filter(inspections::state.eq_any(open))
        .count()
        .get_result(conn)?;
    let ids = inspection_departments::table
        .filter(inspection_departments::department.eq(department.to_owned()))
        .filter(inspection_departments::recorded_at.is_null())
        .select(inspection_departments::inspection_id);
    let rows = inspections::table
        .filter(inspections::id.eq_any(ids))
        .filter(inspections::state.eq_any(open))
        .order((inspections::window_to, inspections::id))
        .limit(limit)
        .select(Inspection::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Open hazards of a department (or all), only those overdue on `overdue_on` when given:
/// how many, and the first `limit` soonest due.
pub fn open_hazards_for(
    conn: &mut DbConnection,
    department: Option<&str>,
    overdue_on: Option<NaiveDate>,
    limit: i64,
) -> AppResult<(i64, Vec<Hazard>)> {
    let filter = HazardFilter {
        mine_id: None,
        department: department.map(str::to_owned),
        open: Some(true),
        overdue_on,
        after: None,
        limit,
    };
    let rows = list_hazards(conn, &filter)?;
    let mut q = hazards::table.filter(OpenHazard).into_boxed();
    if let Some(d) = department {
        q = q.filter(hazards::responsible_department.eq(d.to_owned()));
    }
    if let Some(day) = overdue_on {
        q = q.filter(hazards::rectify_by.lt(day));
    }
    let count: i64 = q.count().get_result(conn)?;
    Ok((count, rows))
}

/// Mines with two or more major hazards found since `since`: `(mine, how many)`.
pub fn repeat_major(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<(String, i64)>> {
    use diesel::dsl::count_star;
    Ok(hazards::table
        .filter(hazards::grade.eq(HazardGrade::Major.code()))
        .filter(hazards::created_at.ge(since))
        .group_by(hazards::mine_id)
        .having(count_star().ge(2))
        .select((hazards::mine_id, count_star()))
        .order(hazards::mine_id)
        .limit(limit)
        .load(conn)?)
}

/// How many hazards of the task are still open.
pub fn open_hazards_of(conn: &mut DbConnection, inspection_id: &str) -> AppResult<i64> {
    Ok(hazards::table
        .filter(hazards::inspection_id.eq(inspection_id))
        .filter(OpenHazard)
        .count()
        .get_result(conn)?)
}

// ---- the annual plans' figures (the rest are tallied: `tallies`) ----

#[derive(QueryableByName)]
pub struct Keyed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// Planned joint tasks carried out: tasks under approved joint plans (plans with joint
/// departments), completed or archived, by the plan's lead department.
/// From the few plans to their tasks (`inspections_plan_idx`): CROSS JOIN keeps SQLite from
/// walking the period's tasks instead.
const PLANNED_DONE: &str = "SELECT p.lead_department AS key, COUNT(*) AS n
  FROM inspection_plans p CROSS JOIN inspections i
  WHERE i.plan_id = p.id AND p.state = 'approved' AND p.joint_departments <> ''
    AND i.state IN ('completed', 'archived') AND i.window_from >= $1 AND i.window_from <= $2
  GROUP BY p.lead_department";

/// What approved joint plans set out to do in the period (their targets, in full).
const PLANNED: &str = "SELECT lead_department AS key, SUM(target_count) AS n FROM inspection_plans
  WHERE state = 'approved' AND joint_departments <> '' AND period_from <= $2 AND period_to >= $1
  GROUP BY lead_department";

/// The backend's dialect: placeholders, sums as BIGINT.
fn sql(conn: &DbConnection, text: &str) -> String {
    match conn {
        DbConnection::Pg(_) => text.replace("SUM(target_count)", "SUM(target_count)::BIGINT"),
        DbConnection::Sqlite(_) => text.replace("$1", "?").replace("$2", "?"),
    }
}

/// The plans' targets in the period and the tasks done under them, by lead department.
pub fn plan_figures(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(Vec<Keyed>, Vec<Keyed>)> {
    use diesel::sql_types::Date;
    let mut two = |text: &str| -> AppResult<Vec<Keyed>> {
        let text = sql(conn, text);
        Ok(diesel::sql_query(text)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .load(conn)?)
    };
    Ok((two(PLANNED)?, two(PLANNED_DONE)?))
}
