//! Leads' own rows: the only code naming `leads`, `lead_departments` (each party's copy
//! of the ordering keys), `lead_deadlines`, `lead_events`, `lead_counters` and
//! `lead_followers`. Every write that must not race is guarded here by the row's version
//! or state, and answers whether it went through.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::leads::rules::{LeadSource, LeadState, Stage, Urgency};
use crate::platform::db::schema::{
    lead_counters, lead_deadlines, lead_departments, lead_events, lead_followers, leads,
};
use crate::platform::db::{insert_rows, kept_sql, DbConnection};
use crate::platform::error::AppResult;

// Integer and comma-joined columns as the API shows them (API.md: a boolean, a list).
fn int_as_bool<S: serde::Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

fn flag_as_bool<S: serde::Serializer>(v: &Option<i32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&(*v != 0)),
        None => s.serialize_none(),
    }
}

fn codes_as_list<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.split(',').map(str::trim).filter(|c| !c.is_empty()))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = leads, treat_none_as_default_value = false)]
pub struct Lead {
    pub id: String,
    /// e.g. XS-2026-000123
    pub number: String,
    pub title: String,
    pub description: String,
    pub category: String,
    #[diesel(serialize_as = String)]
    pub urgency: Urgency,
    #[diesel(serialize_as = String)]
    pub source: LeadSource,
    pub mine_id: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub township: Option<String>,
    #[diesel(serialize_as = String)]
    pub state: LeadState,
    pub primary_department: String,
    /// Stored comma-separated; shown as a list of department codes.
    #[serde(serialize_with = "codes_as_list")]
    #[schema(value_type = Vec<String>)]
    pub assisting_departments: String,
    pub routing_reason: String,
    #[serde(serialize_with = "flag_as_bool")]
    #[schema(value_type = Option<bool>)]
    pub substantiated: Option<i32>,
    pub raised_by: Option<String>,
    pub raised_by_name: String,
    /// The township or department code of the person who raised it.
    pub raised_unit: String,
    #[schema(value_type = String)]
    pub raised_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub next_due_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "int_as_bool")]
    #[schema(value_type = bool)]
    pub overdue: i32,
    /// pending | disputed while a transfer (转办) is open.
    pub transfer_state: Option<String>,
    /// When the lead was put to a consultation (提请会商).
    #[schema(value_type = Option<String>)]
    pub consultation_requested_at: Option<NaiveDateTime>,
    /// How many times the raising township reopened it (at most once).
    pub reopened: i32,
    /// The lead this duplicate was merged into.
    pub merged_into: Option<String>,
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<NaiveDateTime>,
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The officer of the primary department a head gave the lead to (指派), if any.
    pub assignee_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub assigned_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_deadlines, treat_none_as_default_value = false)]
pub struct Deadline {
    #[serde(skip)]
    pub lead_id: String,
    #[diesel(serialize_as = String)]
    pub stage: Stage,
    #[schema(value_type = String)]
    pub due_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub met_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>)]
    pub escalated_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub reminded_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_events, treat_none_as_default_value = false)]
pub struct Event {
    pub id: String,
    #[serde(skip)]
    pub lead_id: String,
    #[schema(value_type = String)]
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_name: String,
    /// The actor's department or township code.
    pub actor_unit: String,
    /// raised | routed | acknowledge | start_verifying | verify | enforce | close | comment
    pub kind: String,
    pub note: String,
    /// Details of the step (findings, measures …) as JSON text.
    pub data_json: String,
}

// ---- numbering and creation ----

/// The next number of the year.
///
/// On PostgreSQL each year has its own sequence (`lead_number_2026`), created by the year's
/// first lead: raises take numbers without waiting for one another, and a number is skipped
/// only when the raise that took it fails afterwards (a sequence does not go back). On
/// SQLite the year's counter row is bumped: writers take turns there anyway, so numbers stay
/// without gaps.
pub fn next_number(conn: &mut DbConnection, year: i32) -> AppResult<i32> {
    let n: i64 = match conn {
        // One statement: the year's sequence, made on first use by `next_lead_number`
        // (migration 000038), which also starts it after a counter row left from before
        // the sequences.
        DbConnection::Pg(c) => diesel::select(next_lead_number(year)).get_result(c)?,
        // The year's row made or bumped, then read back: two statements kept prepared (the
        // writer runs one write at a time, so nothing comes between them).
        DbConnection::Sqlite(c) => {
            BumpCounter { year }.execute(c)?;
            lead_counters::table
                .find(year)
                .select(lead_counters::last_number)
                .first::<i32>(c)?
                .into()
        }
    };
    i32::try_from(n).map_err(|_| {
        crate::platform::error::AppError::Internal(format!("{year} 年的线索编号已用尽"))
    })
}

kept_sql! {
    /// The year's counter row on SQLite, made or bumped.
    struct BumpCounter { year: i32 as diesel::sql_types::Integer }
    "INSERT INTO lead_counters (year, last_number) VALUES ({}, 1) \
     ON CONFLICT (year) DO UPDATE SET last_number = lead_counters.last_number + 1"
}

diesel::define_sql_function!(
    /// The year's next lead number on PostgreSQL (migration 000038).
    fn next_lead_number(year: diesel::sql_types::Integer) -> diesel::sql_types::BigInt
);

/// Stores a new lead with its parties (one row each, `(department, role)`) and deadlines:
/// three statements kept prepared on PostgreSQL (up to eight parties and deadlines).
/// Absent values are written as NULL rather than DEFAULT, so each statement keeps one text
/// and stays prepared.
pub fn insert(
    conn: &mut DbConnection,
    lead: &Lead,
    parties: &[(String, &str)],
    deadlines: &[Deadline],
) -> AppResult<()> {
    diesel::insert_into(leads::table)
        .values(lead.clone())
        .execute(conn)?;
    let parties = party_rows(lead, parties);
    insert_rows!(&mut *conn, lead_departments::table, parties)?;
    insert_rows!(&mut *conn, lead_deadlines::table, deadlines.to_vec())?;
    Ok(())
}

/// A party's row: the lead's ordering keys copied beside its department and role.
type PartyRow = (
    diesel::dsl::Eq<lead_departments::lead_id, String>,
    diesel::dsl::Eq<lead_departments::department, String>,
    diesel::dsl::Eq<lead_departments::role, String>,
    diesel::dsl::Eq<lead_departments::next_due_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<lead_departments::raised_at, NaiveDateTime>,
);

fn party_rows(lead: &Lead, parties: &[(String, &str)]) -> Vec<PartyRow> {
    parties
        .iter()
        .map(|(department, role)| {
            (
                lead_departments::lead_id.eq(lead.id.clone()),
                lead_departments::department.eq(department.clone()),
                lead_departments::role.eq(role.to_string()),
                lead_departments::next_due_at.eq(lead.next_due_at),
                lead_departments::raised_at.eq(lead.raised_at),
            )
        })
        .collect()
}

kept_sql! {
    /// A lead's parties in one statement whatever their number (PostgreSQL: the
    /// departments and roles in arrays), each with the lead's ordering keys.
    struct PartiesIn {
        lead_id: String as diesel::sql_types::Text,
        next_due_at: Option<NaiveDateTime> as diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        raised_at: NaiveDateTime as diesel::sql_types::Timestamp,
        departments: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
        roles: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
    }
    "INSERT INTO lead_departments (lead_id, department, role, next_due_at, raised_at) \
     SELECT {}, p.department, p.role, {}, {} FROM unnest({}, {}) AS p (department, role)"
}

/// A new lead's rows as four statements that PostgreSQL can run as parts of one
/// (`platform::db::Chained`, with the raise's audit entry and notices beside them): the
/// lead, its parties, its three deadlines and its two first steps. `None` when the raise
/// has another number of deadlines or steps.
#[allow(clippy::type_complexity)]
pub fn raised_parts(
    lead: &Lead,
    parties: &[(String, &str)],
    deadlines: &[Deadline],
    events: &[Event],
) -> Option<(
    impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
)> {
    let deadlines = <[Deadline; 3]>::try_from(deadlines.to_vec()).ok()?;
    let events = <[Event; 2]>::try_from(events.to_vec()).ok()?;
    let (departments, roles) = parties
        .iter()
        .map(|(d, r)| (d.clone(), (*r).to_owned()))
        .unzip();
    Some((
        diesel::insert_into(leads::table).values(lead.clone()),
        PartiesIn {
            lead_id: lead.id.clone(),
            next_due_at: lead.next_due_at,
            raised_at: lead.raised_at,
            departments,
            roles,
        },
        diesel::insert_into(lead_deadlines::table).values(deadlines),
        diesel::insert_into(lead_events::table).values(events),
    ))
}

/// Stores a new lead as `insert` does, with its first steps. (A raise on PostgreSQL
/// writes these rows as parts of one statement instead: [`raised_parts`].)
pub fn insert_raised(
    conn: &mut DbConnection,
    lead: &Lead,
    parties: &[(String, &str)],
    deadlines: &[Deadline],
    events: &[Event],
) -> AppResult<()> {
    insert(conn, lead, parties, deadlines)?;
    insert_events(conn, events)
}

/// Writes steps of one or more leads' timelines (on PostgreSQL one statement per eight).
pub fn insert_events(conn: &mut DbConnection, events: &[Event]) -> AppResult<()> {
    insert_rows!(conn, lead_events::table, events.to_vec())?;
    Ok(())
}

// ---- reading one lead ----

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Lead>> {
    Ok(leads::table
        .find(id)
        .select(Lead::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<Lead>> {
    Ok(leads::table
        .filter(leads::number.eq(number))
        .select(Lead::as_select())
        .first(conn)
        .optional()?)
}

/// The lead with this number or id.
pub fn find_by_number_or_id(conn: &mut DbConnection, key: &str) -> AppResult<Option<Lead>> {
    Ok(leads::table
        .filter(leads::number.eq(key).or(leads::id.eq(key)))
        .select(Lead::as_select())
        .first(conn)
        .optional()?)
}

pub fn deadlines(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Deadline>> {
    Ok(lead_deadlines::table
        .filter(lead_deadlines::lead_id.eq(lead_id))
        .select(Deadline::as_select())
        .load(conn)?)
}

/// The lead's timeline, oldest first.
pub fn timeline(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Event>> {
    Ok(lead_events::table
        .filter(lead_events::lead_id.eq(lead_id))
        .order((lead_events::occurred_at.asc(), lead_events::id.asc()))
        .select(Event::as_select())
        .load(conn)?)
}

pub fn last_event(conn: &mut DbConnection, lead_id: &str) -> AppResult<Event> {
    Ok(lead_events::table
        .filter(lead_events::lead_id.eq(lead_id))
        .order((lead_events::occurred_at.desc(), lead_events::id.desc()))
        .select(Event::as_select())
        .first(conn)?)
}

// ---- followers ----

pub fn is_follower(conn: &mut DbConnection, lead_id: &str, user_id: &str) -> AppResult<bool> {
    let n: i64 = lead_followers::table
        .filter(lead_followers::lead_id.eq(lead_id))
        .filter(lead_followers::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn follow(conn: &mut DbConnection, lead_id: &str, user_id: &str) -> AppResult<()> {
    if !is_follower(conn, lead_id, user_id)? {
        diesel::insert_into(lead_followers::table)
            .values((
                lead_followers::lead_id.eq(lead_id),
                lead_followers::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn followers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<String>> {
    Ok(lead_followers::table
        .filter(lead_followers::lead_id.eq(lead_id))
        .select(lead_followers::user_id)
        .load(conn)?)
}

// ---- parties (lead_departments) ----

/// Whether the department is party to the lead in this role.
pub fn is_party_as(
    conn: &mut DbConnection,
    lead_id: &str,
    department: &str,
    role: &str,
) -> AppResult<bool> {
    let n: i64 = lead_departments::table
        .filter(lead_departments::lead_id.eq(lead_id))
        .filter(lead_departments::department.eq(department))
        .filter(lead_departments::role.eq(role))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn is_party(conn: &mut DbConnection, lead_id: &str, department: &str) -> AppResult<bool> {
    let n: i64 = lead_departments::table
        .filter(lead_departments::lead_id.eq(lead_id))
        .filter(lead_departments::department.eq(department))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Adds the department in a role, with the lead's ordering keys.
pub fn add_party(
    conn: &mut DbConnection,
    lead_id: &str,
    department: &str,
    role: &str,
    (raised_at, next_due_at): (NaiveDateTime, Option<NaiveDateTime>),
) -> AppResult<()> {
    diesel::insert_into(lead_departments::table)
        .values((
            lead_departments::lead_id.eq(lead_id),
            lead_departments::department.eq(department),
            lead_departments::role.eq(role),
            lead_departments::next_due_at.eq(next_due_at),
            lead_departments::raised_at.eq(raised_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The ordering keys as stored: `(raised_at, next_due_at)`.
pub fn keys_of(
    conn: &mut DbConnection,
    lead_id: &str,
) -> AppResult<(NaiveDateTime, Option<NaiveDateTime>)> {
    Ok(leads::table
        .find(lead_id)
        .select((leads::raised_at, leads::next_due_at))
        .first(conn)?)
}

pub fn remove_party(conn: &mut DbConnection, lead_id: &str, department: &str) -> AppResult<()> {
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(lead_id))
            .filter(lead_departments::department.eq(department)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn remove_role(conn: &mut DbConnection, lead_id: &str, role: &str) -> AppResult<()> {
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(lead_id))
            .filter(lead_departments::role.eq(role)),
    )
    .execute(conn)?;
    Ok(())
}

// ---- changing the lead ----

/// Bumps the version guarded by the one read: of two concurrent changes exactly one goes
/// through. False if the lead changed meanwhile.
pub fn bump(conn: &mut DbConnection, lead: &Lead, now: NaiveDateTime) -> AppResult<bool> {
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(&lead.id))
            .filter(leads::version.eq(lead.version)),
    )
    .set((
        leads::version.eq(lead.version + 1),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Moves the lead to `next` if it is still in the state and version read; false if not.
pub fn advance(
    conn: &mut DbConnection,
    before: &Lead,
    next: LeadState,
    substantiated: Option<i32>,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(&before.id))
            .filter(leads::version.eq(before.version))
            .filter(leads::state.eq(before.state.code())),
    )
    .set((
        leads::state.eq(next.code()),
        leads::substantiated.eq(substantiated),
        leads::closed_at.eq((next == LeadState::Closed).then_some(now)),
        leads::updated_at.eq(now),
        leads::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Opens a closed lead again in `state`, counting the reopening; false if it changed.
pub fn reopen(
    conn: &mut DbConnection,
    lead: &Lead,
    state: LeadState,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(&lead.id))
            .filter(leads::version.eq(lead.version)),
    )
    .set((
        leads::state.eq(state.code()),
        leads::reopened.eq(lead.reopened + 1),
        leads::closed_at.eq(None::<NaiveDateTime>),
        leads::version.eq(lead.version + 1),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Closes a duplicate as merged into another; false if it changed meanwhile.
pub fn close_merged(
    conn: &mut DbConnection,
    dup: &Lead,
    into: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(&dup.id))
            .filter(leads::version.eq(dup.version)),
    )
    .set((
        leads::state.eq(LeadState::Closed.code()),
        leads::merged_into.eq(into),
        leads::closed_at.eq(now),
        leads::transfer_state.eq(None::<String>),
        leads::version.eq(dup.version + 1),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn touch(conn: &mut DbConnection, lead_id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set(leads::updated_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn set_transfer_state(
    conn: &mut DbConnection,
    lead_id: &str,
    state: Option<&str>,
) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set(leads::transfer_state.eq(state))
        .execute(conn)?;
    Ok(())
}

/// Hands the lead to `department` as primary: its assisting list, no open transfer, and
/// the state.
pub fn set_primary(
    conn: &mut DbConnection,
    lead_id: &str,
    department: &str,
    assisting: &[String],
    state: LeadState,
) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set((
            leads::primary_department.eq(department),
            leads::assisting_departments.eq(assisting.join(",")),
            leads::transfer_state.eq(None::<String>),
            leads::state.eq(state.code()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_consultation_requested(
    conn: &mut DbConnection,
    lead_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set(leads::consultation_requested_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn clear_consultation_requested(conn: &mut DbConnection, lead_id: &str) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set(leads::consultation_requested_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Gives the lead to an officer (or, with `None`, to nobody in particular).
pub fn assign(
    conn: &mut DbConnection,
    lead_id: &str,
    assignee: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set((
            leads::assignee_id.eq(assignee),
            leads::assigned_at.eq(assignee.map(|_| now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_overdue(conn: &mut DbConnection, lead_id: &str) -> AppResult<()> {
    diesel::update(leads::table.find(lead_id))
        .set(leads::overdue.eq(1))
        .execute(conn)?;
    Ok(())
}

// ---- deadlines ----

/// Meets the lead's unmet deadline of `stage`, or with `None` every unmet one.
pub fn meet(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Option<Stage>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut q = diesel::update(lead_deadlines::table)
        .filter(lead_deadlines::lead_id.eq(lead_id))
        .filter(lead_deadlines::met_at.is_null())
        .into_boxed();
    if let Some(s) = stage {
        q = q.filter(lead_deadlines::stage.eq(s.code()));
    }
    q.set(lead_deadlines::met_at.eq(now)).execute(conn)?;
    Ok(())
}

/// Sets a stage's deadline anew: due at `due`, unmet, neither escalated nor reminded.
pub fn reset_deadline(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Stage,
    due: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        lead_deadlines::table
            .filter(lead_deadlines::lead_id.eq(lead_id))
            .filter(lead_deadlines::stage.eq(stage.code())),
    )
    .set((
        lead_deadlines::due_at.eq(due),
        lead_deadlines::met_at.eq(None::<NaiveDateTime>),
        lead_deadlines::escalated_at.eq(None::<NaiveDateTime>),
        lead_deadlines::reminded_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Sets `next_due_at` to the earliest unmet deadline (none once all are met), on the lead
/// and on its parties' copies.
pub fn refresh_next_due(
    conn: &mut DbConnection,
    lead_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let next: Option<NaiveDateTime> = lead_deadlines::table
        .filter(lead_deadlines::lead_id.eq(lead_id))
        .filter(lead_deadlines::met_at.is_null())
        .select(diesel::dsl::min(lead_deadlines::due_at))
        .first(conn)?;
    diesel::update(leads::table.find(lead_id))
        .set((
            leads::next_due_at.eq(next),
            leads::overdue.eq(i32::from(next.is_some_and(|n| n < now))),
        ))
        .execute(conn)?;
    diesel::update(lead_departments::table.filter(lead_departments::lead_id.eq(lead_id)))
        .set(lead_departments::next_due_at.eq(next))
        .execute(conn)?;
    Ok(())
}

/// Unmet deadlines passed before `now` and not yet escalated, soonest first.
pub fn missed(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<(String, Stage, NaiveDateTime)>> {
    Ok(lead_deadlines::table
        .filter(lead_deadlines::met_at.is_null())
        .filter(lead_deadlines::escalated_at.is_null())
        .filter(lead_deadlines::due_at.lt(now))
        .select((
            lead_deadlines::lead_id,
            lead_deadlines::stage,
            lead_deadlines::due_at,
        ))
        .order(lead_deadlines::due_at.asc())
        .limit(limit)
        .load(conn)?)
}

/// Unmet deadlines due from `now` to `horizon` not yet reminded, with the lead's urgency.
pub fn due_soon(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    horizon: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<(String, Stage, NaiveDateTime, Urgency)>> {
    Ok(lead_deadlines::table
        .inner_join(leads::table)
        .filter(lead_deadlines::met_at.is_null())
        .filter(lead_deadlines::reminded_at.is_null())
        .filter(lead_deadlines::due_at.ge(now))
        .filter(lead_deadlines::due_at.le(horizon))
        .select((
            lead_deadlines::lead_id,
            lead_deadlines::stage,
            lead_deadlines::due_at,
            leads::urgency,
        ))
        .order(lead_deadlines::due_at.asc())
        .limit(limit)
        .load(conn)?)
}

/// Claims the escalation of an unmet deadline: true for exactly one caller.
pub fn claim_escalation(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Stage,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        lead_deadlines::table
            .filter(lead_deadlines::lead_id.eq(lead_id))
            .filter(lead_deadlines::stage.eq(stage.code()))
            .filter(lead_deadlines::met_at.is_null())
            .filter(lead_deadlines::escalated_at.is_null()),
    )
    .set(lead_deadlines::escalated_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

/// Claims the reminder of an unmet deadline: true for exactly one caller.
pub fn claim_reminder(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Stage,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        lead_deadlines::table
            .filter(lead_deadlines::lead_id.eq(lead_id))
            .filter(lead_deadlines::stage.eq(stage.code()))
            .filter(lead_deadlines::met_at.is_null())
            .filter(lead_deadlines::reminded_at.is_null()),
    )
    .set(lead_deadlines::reminded_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

// ---- possible duplicates ----

/// Open leads of the category on the mine; at most `limit`.
pub fn open_on_mine(
    conn: &mut DbConnection,
    category: &str,
    mine_id: &str,
    limit: i64,
) -> AppResult<Vec<Lead>> {
    Ok(leads::table
        .filter(leads::category.eq(category))
        .filter(leads::state.ne(LeadState::Closed.code()))
        .filter(leads::mine_id.eq(mine_id))
        .select(Lead::as_select())
        .limit(limit)
        .load(conn)?)
}

/// Open leads of the category within a box of longitudes and latitudes; at most `limit`.
pub fn open_in_box(
    conn: &mut DbConnection,
    category: &str,
    (lon0, lon1): (f64, f64),
    (lat0, lat1): (f64, f64),
    limit: i64,
) -> AppResult<Vec<Lead>> {
    Ok(leads::table
        .filter(leads::category.eq(category))
        .filter(leads::lat.between(lat0, lat1))
        .filter(leads::lon.between(lon0, lon1))
        .filter(leads::state.ne(LeadState::Closed.code()))
        .select(Lead::as_select())
        .limit(limit)
        .load(conn)?)
}

// ---- lists ----

/// What a list of leads is narrowed by, checked by the caller.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// A township user's view: leads the user raised, or of the township.
    pub raised_by_or_township: Option<(String, Option<String>)>,
    /// Only leads this department is primary or assisting on (a row of its own).
    pub party: Option<String>,
    pub township: Option<String>,
    pub category: Option<String>,
    pub urgency: Option<Urgency>,
    pub mine_id: Option<String>,
    pub raised_by: Option<String>,
    pub transfer: Option<String>,
    pub state: Option<LeadState>,
    /// Only leads put to a consultation.
    pub consultation_requested: bool,
    /// Only leads in one of these states (with `state`, both must hold).
    pub states: Vec<LeadState>,
    /// Only leads this department is primary on.
    pub primary: Option<String>,
    /// Only leads raised at or after this time.
    pub raised_since: Option<NaiveDateTime>,
    /// Only leads this department is asked to take over (an open transfer to it).
    pub receiving: Option<String>,
    /// Only leads given to this officer.
    pub assignee: Option<String>,
    /// Only leads with a position (for the map).
    pub located: bool,
    /// Only leads of this township: one branch of `raised_by_or_township` (see `page`).
    pub(in crate::leads) township_branch: Option<String>,
}

impl LeadFilter {
    /// The township user's view narrowed by the list's own filters, where they decide it:
    /// with `raised=mine` it is what the user raised; with their own township, the
    /// township's; with another township, what they raised there. Each is one index range;
    /// split into branches, one branch would be empty or inside the other, and a database
    /// misjudging the two conditions together may read every lead the user raised.
    fn narrowed(&self) -> LeadFilter {
        let mut f = self.clone();
        if let Some((me, Some(own))) = f.raised_by_or_township.clone() {
            if f.raised_by.as_ref() == Some(&me) || f.township.as_ref() == Some(&own) {
                f.raised_by_or_township = None;
            } else if f.township.is_some() {
                f.raised_by_or_township = Some((me, None));
            }
        }
        f
    }

    /// A township user's view, `raised_by = me OR township = T`, as its two branches, each
    /// one index range in the list's order, and both at once (for a count). Read as one OR
    /// condition, both databases walk the district's whole open (or closed) list in order
    /// and test each lead: seconds at a province's scale for a township with few leads.
    fn scope_branches(&self) -> Option<[LeadFilter; 3]> {
        let Some((me, Some(township))) = self.raised_by_or_township.clone() else {
            return None;
        };
        let raised = LeadFilter {
            raised_by_or_township: Some((me, None)),
            ..self.clone()
        };
        let of_township = LeadFilter {
            raised_by_or_township: None,
            township_branch: Some(township.clone()),
            ..self.clone()
        };
        let both = LeadFilter {
            township_branch: Some(township),
            ..raised.clone()
        };
        Some([raised, of_township, both])
    }
}

/// The order of a page and where the previous one ended.
pub struct LeadPage {
    /// Closed leads newest first; otherwise open ones by deadline.
    pub closed: bool,
    /// Open leads past their deadline at this time only.
    pub overdue_at: Option<NaiveDateTime>,
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Filters on the lead itself, the same on both paths (the lead's rows, or a department's).
macro_rules! filtered {
    ($f:expr, $query:expr) => {{
        let f: &LeadFilter = $f;
        let mut query = $query;
        if let Some((me, township)) = f.raised_by_or_township.clone() {
            let mine = leads::raised_by.eq(me);
            query = match township {
                Some(t) => query.filter(mine.or(leads::township.eq(t))),
                None => query.filter(mine),
            };
        }
        // Party to a lead means a row of its own in lead_departments, never a
        // substring of the comma-joined column (a code inside another code).
        if let Some(own) = f.party.clone() {
            // An alias: the department queue's path joins lead_departments already.
            let party = diesel::alias!(lead_departments as party);
            query = query.filter(
                leads::id.eq_any(
                    party
                        .filter(party.field(lead_departments::department).eq(own))
                        .filter(
                            party
                                .field(lead_departments::role)
                                .eq_any(["primary", "assisting"]),
                        )
                        .select(party.field(lead_departments::lead_id)),
                ),
            );
        }
        if let Some(own) = f.receiving.clone() {
            let party = diesel::alias!(lead_departments as receiver);
            query = query.filter(
                leads::id.eq_any(
                    party
                        .filter(party.field(lead_departments::department).eq(own))
                        .filter(party.field(lead_departments::role).eq("receiving"))
                        .select(party.field(lead_departments::lead_id)),
                ),
            );
        }
        if let Some(t) = f.township.clone() {
            query = query.filter(leads::township.eq(t));
        }
        if let Some(t) = f.township_branch.clone() {
            query = query.filter(leads::township.eq(t));
        }
        if let Some(c) = f.category.clone() {
            query = query.filter(leads::category.eq(c));
        }
        if let Some(u) = f.urgency {
            query = query.filter(leads::urgency.eq(u.code()));
        }
        if let Some(m) = f.mine_id.clone() {
            query = query.filter(leads::mine_id.eq(m));
        }
        if let Some(r) = f.raised_by.clone() {
            query = query.filter(leads::raised_by.eq(r));
        }
        if let Some(t) = f.transfer.clone() {
            query = query.filter(leads::transfer_state.eq(t));
        }
        if let Some(st) = f.state {
            query = query.filter(leads::state.eq(st.code()));
        }
        if f.consultation_requested {
            query = query.filter(leads::consultation_requested_at.is_not_null());
        }
        if !f.states.is_empty() {
            query = query.filter(leads::state.eq_any(f.states.iter().map(|s| s.code())));
        }
        if let Some(d) = f.primary.clone() {
            query = query.filter(leads::primary_department.eq(d));
        }
        if let Some(t) = f.raised_since {
            query = query.filter(leads::raised_at.ge(t));
        }
        if let Some(a) = f.assignee.clone() {
            query = query.filter(leads::assignee_id.eq(a));
        }
        if f.located {
            query = query.filter(leads::lon.is_not_null().and(leads::lat.is_not_null()));
        }
        query
    }};
}

/// One page of leads (one row more than the limit if there is more). With a `department`
/// the page reads that department's rows of `lead_departments`, which carry the ordering
/// keys, so a queue is an index range whatever the number of leads.
pub fn page(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<Vec<Lead>> {
    in_branches(f, p, |f| page_of(conn, department, f, p))
}

/// What a map shows of a lead: where it is, what it is called, how far it has come, and
/// the keys of its place in the list. A map reads thousands of leads, without the text.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = leads)]
pub struct Located {
    pub id: String,
    pub number: String,
    pub title: String,
    pub state: LeadState,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub raised_at: NaiveDateTime,
    pub next_due_at: Option<NaiveDateTime>,
}

/// As `page`, each lead's map columns only.
pub fn located(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<Vec<Located>> {
    in_branches(f, p, |f| located_of(conn, department, f, p))
}

/// A row's keys in the lists' order: next deadline, time raised, id.
trait Keyed {
    fn keys(&self) -> (Option<NaiveDateTime>, NaiveDateTime, &str);
}

impl Keyed for Lead {
    fn keys(&self) -> (Option<NaiveDateTime>, NaiveDateTime, &str) {
        (self.next_due_at, self.raised_at, &self.id)
    }
}

impl Keyed for Located {
    fn keys(&self) -> (Option<NaiveDateTime>, NaiveDateTime, &str) {
        (self.next_due_at, self.raised_at, &self.id)
    }
}

/// One page read by `read`, a township user's view as its branches (`scope_branches`):
/// each branch's page in the list's order, merged, a lead in both once. The department
/// rows carry the lead's own keys, so one order serves both paths.
fn in_branches<T: Keyed>(
    f: &LeadFilter,
    p: &LeadPage,
    mut read: impl FnMut(&LeadFilter) -> AppResult<Vec<T>>,
) -> AppResult<Vec<T>> {
    let f = &f.narrowed();
    let Some([raised, of_township, _]) = f.scope_branches() else {
        return read(f);
    };
    let mut all = read(&raised)?;
    all.extend(read(&of_township)?);
    if p.closed {
        all.sort_by(|a, b| {
            let ((_, ra, ia), (_, rb, ib)) = (a.keys(), b.keys());
            (rb, ib).cmp(&(ra, ia))
        });
    } else {
        all.sort_by(|a, b| {
            let ((da, _, ia), (db, _, ib)) = (a.keys(), b.keys());
            (da, ia).cmp(&(db, ib))
        });
    }
    all.dedup_by(|a, b| a.keys().2 == b.keys().2);
    all.truncate(usize::try_from(p.limit).unwrap_or(0));
    Ok(all)
}

/// One page in the list's order, keyed by the given columns (the lead's own, or its
/// department row's copies): open leads by deadline, closed ones newest first; each row
/// read as `$row`.
macro_rules! page_of {
    ($conn:expr, $department:expr, $f:expr, $p:expr, $row:ty) => {{
        let (conn, f, p): (&mut DbConnection, &LeadFilter, &LeadPage) = ($conn, $f, $p);
        macro_rules! page {
            ($query:expr, $due:expr, $raised:expr, $id:expr) => {{
                let mut query = $query;
                let after = p.after.clone();
                if p.closed {
                    query = query.filter($due.is_null());
                    if let Some((t, id)) = after {
                        query = query.filter($raised.lt(t).or($raised.eq(t).and($id.lt(id))));
                    }
                    query
                        .order(($raised.desc(), $id.desc()))
                        .limit(p.limit)
                        .load(conn)?
                } else {
                    query = query.filter($due.is_not_null());
                    if let Some(now) = p.overdue_at {
                        query = query.filter($due.lt(now));
                    }
                    if let Some((t, id)) = after {
                        query = query.filter($due.gt(t).or($due.eq(t).and($id.gt(id))));
                    }
                    query
                        .order(($due.asc(), $id.asc()))
                        .limit(p.limit)
                        .load(conn)?
                }
            }};
        }
        let rows: Vec<$row> = match $department {
            Some(d) => page!(
                filtered!(
                    f,
                    leads::table
                        .inner_join(lead_departments::table)
                        .filter(lead_departments::department.eq(d.to_owned()))
                        .select(<$row>::as_select())
                        .into_boxed()
                ),
                lead_departments::next_due_at,
                lead_departments::raised_at,
                lead_departments::lead_id
            ),
            None => page!(
                filtered!(f, leads::table.select(<$row>::as_select()).into_boxed()),
                leads::next_due_at,
                leads::raised_at,
                leads::id
            ),
        };
        Ok(rows)
    }};
}

fn page_of(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<Vec<Lead>> {
    page_of!(conn, department, f, p, Lead)
}

fn located_of(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<Vec<Located>> {
    page_of!(conn, department, f, p, Located)
}

/// How many leads match, open or closed as the page says (and overdue at its time).
pub fn count(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<i64> {
    let f = &f.narrowed();
    match f.scope_branches() {
        // |A ∪ B| = |A| + |B| − |A ∩ B|, each an index range (see `scope_branches`).
        Some([raised, of_township, both]) => Ok(count_of(conn, department, &raised, p)?
            + count_of(conn, department, &of_township, p)?
            - count_of(conn, department, &both, p)?),
        None => count_of(conn, department, f, p),
    }
}

fn count_of(
    conn: &mut DbConnection,
    department: Option<&str>,
    f: &LeadFilter,
    p: &LeadPage,
) -> AppResult<i64> {
    macro_rules! counted {
        ($query:expr, $due:expr) => {{
            let mut query = $query;
            query = if p.closed {
                query.filter($due.is_null())
            } else {
                query.filter($due.is_not_null())
            };
            if let (false, Some(now)) = (p.closed, p.overdue_at) {
                query = query.filter($due.lt(now));
            }
            query.count().get_result(conn)?
        }};
    }
    Ok(match department {
        Some(d) => counted!(
            filtered!(
                f,
                leads::table
                    .inner_join(lead_departments::table)
                    .filter(lead_departments::department.eq(d.to_owned()))
                    .into_boxed()
            ),
            lead_departments::next_due_at
        ),
        None => counted!(filtered!(f, leads::table.into_boxed()), leads::next_due_at),
    })
}

/// `(id, number, title)` of the leads among `ids` (a few hundred at a time).
pub fn numbers_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, String, String)>> {
    Ok(leads::table
        .filter(leads::id.eq_any(ids))
        .select((leads::id, leads::number, leads::title))
        .load(conn)?)
}
