//! Problem leads (问题线索): 街镇吹哨、部门报到. Raising routes a lead to its departments
//! by category and place; the primary department reports in, verifies, enforces and closes
//! it within time limits; every step is an event on the lead's timeline, written with its
//! audit entry and notices in one transaction.

pub mod actions;
pub mod api;
pub mod deadlines;
pub mod files;
pub mod pages;
pub mod policy;
use policy::ListScope;
pub mod rules;
pub mod stats;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::leads::rules::{due_at, LeadSource, LeadState, Move, Routing, Stage, Urgency};
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::config::{GeoSettings, LeadSettings};
use crate::platform::db::schema::{
    lead_counters, lead_deadlines, lead_departments, lead_events, leads,
};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::pagination;
use crate::platform::rules::calendar::WorkingCalendar;
use crate::platform::rules::role::Role;

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
#[diesel(table_name = leads)]
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
}

impl Lead {
    pub fn state(&self) -> LeadState {
        self.state
    }

    pub fn assisting(&self) -> Vec<String> {
        split(&self.assisting_departments)
    }

    /// Whether an unmet deadline has passed.
    pub fn is_overdue(&self, now: NaiveDateTime) -> bool {
        self.next_due_at.is_some_and(|d| d < now)
    }
}

fn split(codes: &str) -> Vec<String> {
    codes
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_deadlines)]
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
#[diesel(table_name = lead_events)]
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

/// A point as a phone gives it (WGS-84 / CGCS2000 longitude and latitude).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Lead category code, see `/api/v1/lead-categories`.
    pub category: Option<String>,
    /// urgent | normal (default normal)
    pub urgency: Option<String>,
    pub mine_id: Option<String>,
    pub location: Option<Location>,
    /// Township code; by default the raiser's township, or the mine's.
    pub township: Option<String>,
}

/// The unit a person acts for: department or township code.
pub(crate) fn unit_of(who: &Principal) -> String {
    who.department
        .clone()
        .or_else(|| who.township.clone())
        .unwrap_or_else(|| who.role.code().to_owned())
}

/// Everything raising needs besides the input.
pub struct RaiseContext<'a> {
    pub now: NaiveDateTime,
    pub today: NaiveDate,
    pub calendar: &'a WorkingCalendar,
    pub limits: &'a LeadSettings,
    pub geo: &'a GeoSettings,
    pub source: LeadSource,
}

pub(crate) fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    v: Option<String>,
    max: usize,
) -> String {
    let v = v.unwrap_or_default().trim().to_owned();
    if v.is_empty() {
        errors.push(FieldError::new(field, format!("请填写{label}")));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("{label}不能超过 {max} 个字符"),
        ));
    }
    v
}

/// Looks up what routing decides on (the departments' names, the mines at the point) and
/// lets the pure rule decide (`rules::route`); a named mine's township is filled in after.
pub fn route(
    conn: &mut DbConnection,
    category: &crate::reference::LeadCategory,
    mine_id: Option<String>,
    location: Option<Location>,
    township: Option<String>,
    ctx: &RaiseContext<'_>,
) -> AppResult<Routing> {
    let names: std::collections::HashMap<String, String> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let department_name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    let at_point = match location {
        None => None,
        Some(loc) => Some(
            crate::register::boundaries::mines_at(conn, loc.lon, loc.lat, ctx.today, ctx.geo)?
                .into_iter()
                .map(|m| crate::leads::rules::MineAtPoint {
                    mine_id: m.mine_id,
                    name: m.name,
                    township: m.township,
                    licensed: m.licensed,
                })
                .collect(),
        ),
    };
    let assisting = split(&category.assisting_departments);
    let mut routing = crate::leads::rules::route(crate::leads::rules::RouteFacts {
        category_name: &category.name,
        primary: &category.primary_department,
        assisting: &assisting,
        mining_related: category.mining_related != 0,
        mine_id,
        township,
        at_point,
        department_name: &department_name,
    });
    if routing.township.is_none() {
        if let Some(m) = routing.mine_id.as_deref() {
            routing.township = Some(crate::register::mines::find(conn, m)?.township);
        }
    }
    Ok(routing)
}

/// The next number of the year: XS-2026-000123. The counter row is locked for the rest of
/// the transaction, so numbers are unique and without gaps among committed leads.
fn next_number(conn: &mut DbConnection, year: i32) -> AppResult<String> {
    // The year's row is created if missing without failing when another transaction
    // creates it at the same moment (the first leads of a year raised at once); the update
    // then takes its row lock, which orders the numbering.
    let row = (
        lead_counters::year.eq(year),
        lead_counters::last_number.eq(0),
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(lead_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(lead_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    diesel::update(lead_counters::table.find(year))
        .set(lead_counters::last_number.eq(lead_counters::last_number + 1))
        .execute(conn)?;
    let n: i32 = lead_counters::table
        .find(year)
        .select(lead_counters::last_number)
        .first(conn)?;
    Ok(format!("XS-{year}-{n:06}"))
}

/// Raises a lead: validates, routes, numbers it, sets its deadlines, writes the first
/// events, the audit entry and the notices to the departments. The one entry point for
/// the form, the API and (later) email.
pub fn raise(
    conn: &mut DbConnection,
    who: &Principal,
    input: NewLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Lead> {
    crate::platform::authz::require(who, crate::platform::authz::Action::RaiseLeads)?;
    let checked = check_new(conn, who, input)?;
    let routing = route(
        conn,
        &checked.category,
        checked.mine_id.clone(),
        checked.location,
        checked.township.clone(),
        ctx,
    )?;
    let year = crate::platform::clock::shanghai_date(ctx.now).year();
    let number = next_number(conn, year)?;
    let deadlines = deadlines_for(ctx, checked.urgency)?;
    let lead = Lead {
        id: uuid::Uuid::now_v7().to_string(),
        number,
        title: checked.title.clone(),
        description: checked.description.clone(),
        category: checked.category.code.clone(),
        urgency: checked.urgency,
        source: ctx.source,
        mine_id: routing.mine_id.clone(),
        lon: checked.location.map(|l| l.lon),
        lat: checked.location.map(|l| l.lat),
        township: routing.township.clone(),
        state: LeadState::Routed,
        primary_department: routing.primary.clone(),
        assisting_departments: routing.assisting.join(","),
        routing_reason: routing.reason.clone(),
        substantiated: None,
        raised_by: Some(who.id.clone()),
        raised_by_name: who.display_name.clone(),
        raised_unit: unit_of(who),
        raised_at: ctx.now,
        next_due_at: deadlines.iter().map(|d| d.due_at).min(),
        overdue: 0,
        transfer_state: None,
        consultation_requested_at: None,
        reopened: 0,
        merged_into: None,
        closed_at: None,
        updated_at: ctx.now,
        version: 1,
    };
    insert_new(conn, &lead, &routing, deadlines)?;
    record_raised(conn, who, &lead, &routing, ctx)?;
    tell_raised(conn, who, &lead, &checked.category.name, ctx)?;
    Ok(lead)
}

/// A new lead's input, checked: every field error at once, or what the lead is made of.
struct CheckedLead {
    title: String,
    description: String,
    category: crate::reference::LeadCategory,
    urgency: Urgency,
    mine_id: Option<String>,
    location: Option<Location>,
    township: Option<String>,
}

fn check_new(conn: &mut DbConnection, who: &Principal, input: NewLead) -> AppResult<CheckedLead> {
    let mut errors = Vec::new();
    let title = text(&mut errors, "title", "标题", input.title, 100);
    let description = text(
        &mut errors,
        "description",
        "问题描述",
        input.description,
        5000,
    );
    let category_code = input.category.unwrap_or_default().trim().to_owned();
    let category = if category_code.is_empty() {
        errors.push(FieldError::new("category", "请选择线索类别"));
        None
    } else {
        match crate::reference::find_lead_category(conn, &category_code)? {
            Some(c) if c.active != 0 => Some(c),
            Some(c) => {
                errors.push(FieldError::new(
                    "category",
                    format!("线索类别“{}”已停用", c.name),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "category",
                    format!("没有线索类别 {category_code}"),
                ));
                None
            }
        }
    };
    let urgency = match input
        .urgency
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Urgency::Normal,
        Some(u) => Urgency::parse(u).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "urgency",
                format!("紧急程度只能是 {}", Urgency::codes()),
            ));
            Urgency::Normal
        }),
    };
    let mine_id = input
        .mine_id
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    if let Some(m) = &mine_id {
        match crate::register::mines::find(conn, m) {
            Ok(_) => {}
            Err(AppError::NotFound(_)) => errors.push(FieldError::new("mine_id", "没有这座矿山")),
            Err(e) => return Err(e),
        }
    }
    if let Some(loc) = input.location {
        if !(73.0..=136.0).contains(&loc.lon) || !(3.0..=54.0).contains(&loc.lat) {
            errors.push(FieldError::new(
                "location",
                "位置不在我国境内，请检查经纬度（经度在前，纬度在后）",
            ));
        }
    }
    let township = match input
        .township
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        Some(t) => {
            if crate::reference::find_township(conn, &t)?.is_none() {
                errors.push(FieldError::new("township", format!("没有街镇 {t}")));
            }
            Some(t)
        }
        None => who.township.clone(),
    };
    let (Some(category), true) = (category, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    Ok(CheckedLead {
        title,
        description,
        category,
        urgency,
        mine_id,
        location: input.location,
        township,
    })
}

/// The deadlines of a lead raised now with this urgency, one per stage (working days by
/// the calendar).
fn deadlines_for(ctx: &RaiseContext<'_>, urgency: Urgency) -> AppResult<Vec<Deadline>> {
    let limits = ctx.limits.limits(urgency).map_err(AppError::internal)?;
    let offset = crate::platform::clock::shanghai();
    Stage::ALL
        .iter()
        .map(|s| {
            due_at(ctx.now, limits.of(*s), ctx.calendar, offset)
                .map(|due| Deadline {
                    lead_id: String::new(),
                    stage: *s,
                    due_at: due,
                    met_at: None,
                    escalated_at: None,
                    reminded_at: None,
                })
                .ok_or_else(|| {
                    AppError::internal(format!(
                        "节假日安排未覆盖 {} 年之后的日期，无法计算时限",
                        crate::platform::clock::shanghai_date(ctx.now).year()
                    ))
                })
        })
        .collect()
}

/// Stores a new lead with its departments (one row each) and deadlines.
fn insert_new(
    conn: &mut DbConnection,
    lead: &Lead,
    routing: &Routing,
    deadlines: Vec<Deadline>,
) -> AppResult<()> {
    diesel::insert_into(leads::table)
        .values(lead.clone())
        .execute(conn)?;
    let roles = std::iter::once((&routing.primary, "primary"))
        .chain(routing.assisting.iter().map(|d| (d, "assisting")));
    for (department, role) in roles {
        diesel::insert_into(lead_departments::table)
            .values((
                lead_departments::lead_id.eq(lead.id.clone()),
                lead_departments::department.eq(department.clone()),
                lead_departments::role.eq(role),
                lead_departments::next_due_at.eq(lead.next_due_at),
                lead_departments::raised_at.eq(lead.raised_at),
            ))
            .execute(conn)?;
    }
    for mut d in deadlines {
        d.lead_id = lead.id.clone();
        diesel::insert_into(lead_deadlines::table)
            .values(d)
            .execute(conn)?;
    }
    Ok(())
}

/// The timeline's first two entries (raised, routed) and the audit entry.
fn record_raised(
    conn: &mut DbConnection,
    who: &Principal,
    lead: &Lead,
    routing: &Routing,
    ctx: &RaiseContext<'_>,
) -> AppResult<()> {
    add_event(
        conn,
        &lead.id,
        ctx.now,
        &EventActor::of(who),
        "raised",
        "",
        serde_json::json!({"source": ctx.source.code()}),
    )?;
    add_event(
        conn,
        &lead.id,
        ctx.now,
        &EventActor::system(),
        "routed",
        &routing.reason,
        serde_json::json!({"primary": routing.primary, "assisting": routing.assisting}),
    )?;
    audit::record(
        conn,
        &who.actor(),
        ctx.now,
        Change {
            entity_type: "lead",
            entity_id: &lead.id,
            action: "raise",
            before: None,
            after: Some(serde_json::to_value(lead).map_err(AppError::internal)?),
        },
    )?;
    Ok(())
}

/// 部门报到 starts with being told: the lead's departments and the coordination office.
fn tell_raised(
    conn: &mut DbConnection,
    who: &Principal,
    lead: &Lead,
    category_name: &str,
    ctx: &RaiseContext<'_>,
) -> AppResult<()> {
    let mut units = vec![lead.primary_department.clone()];
    units.extend(lead.assisting());
    let mut recipients = crate::accounts::recipients::departments_and_township(conn, &units, None)?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let raised_unit_name = crate::reference::unit_name(conn, &lead.raised_unit);
    crate::notify::send(
        conn,
        ctx.now,
        Some(&who.id),
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::LeadRouted,
            title: format!(
                "{} 新线索（{}）：{}",
                lead.number,
                lead.urgency.label(),
                lead.title
            ),
            body: format!(
                "{}（{}）提交了{}线索“{}”，类别：{}。{}请在时限内报到。",
                who.display_name,
                raised_unit_name,
                lead.urgency.label(),
                lead.title,
                category_name,
                lead.routing_reason
            ),
            link: format!("/leads/{}", lead.id),
            entity_type: "lead",
            entity_id: &lead.id,
        },
    )?;
    Ok(())
}

/// Who did a step, as the timeline shows it.
pub struct EventActor {
    pub id: Option<String>,
    pub name: String,
    pub unit: String,
}

impl EventActor {
    pub fn of(who: &Principal) -> Self {
        Self {
            id: Some(who.id.clone()),
            name: who.display_name.clone(),
            unit: unit_of(who),
        }
    }

    pub fn system() -> Self {
        Self {
            id: None,
            name: "系统".into(),
            unit: String::new(),
        }
    }
}

/// Adds a step to the lead's timeline and returns its id.
pub(crate) fn add_event(
    conn: &mut DbConnection,
    lead_id: &str,
    now: NaiveDateTime,
    actor: &EventActor,
    kind: &str,
    note: &str,
    data: serde_json::Value,
) -> AppResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(lead_events::table)
        .values(&Event {
            id: id.clone(),
            lead_id: lead_id.to_owned(),
            occurred_at: now,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            actor_unit: actor.unit.clone(),
            kind: kind.to_owned(),
            note: note.to_owned(),
            data_json: data.to_string(),
        })
        .execute(conn)?;
    Ok(id)
}

/// A step of the system (an escalation) on the lead's timeline.
pub fn system_event(
    conn: &mut DbConnection,
    lead_id: &str,
    now: NaiveDateTime,
    kind: &str,
    note: &str,
    data: serde_json::Value,
) -> AppResult<()> {
    add_event(conn, lead_id, now, &EventActor::system(), kind, note, data).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Lead> {
    leads::table
        .find(id)
        .select(Lead::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("没有这条线索。".into()))
}

/// The lead with this number (e.g. `XS-2026-000123`), if there is one.
pub fn find_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<Lead>> {
    Ok(leads::table
        .filter(leads::number.eq(number))
        .select(Lead::as_select())
        .first(conn)
        .optional()?)
}

/// A lead the user may read, or 404 (a lead one may not see is not confirmed to exist).
pub fn find_visible(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Lead> {
    let lead = find(conn, id)?;
    if !policy::may_view(who, &lead)
        && !is_receiving(conn, who, id)?
        && !is_follower(conn, who, id)?
    {
        return Err(AppError::NotFound("没有这条线索，或您无权查看。".into()));
    }
    Ok(lead)
}

/// Whether the user follows the lead (raised a duplicate merged into it).
fn is_follower(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<bool> {
    use crate::platform::db::schema::lead_followers;
    let n: i64 = lead_followers::table
        .filter(lead_followers::lead_id.eq(id))
        .filter(lead_followers::user_id.eq(&who.id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether the user's department is the receiver of a transfer of this lead still open.
fn is_receiving(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<bool> {
    let Some(d) = who
        .department
        .as_deref()
        .filter(|_| matches!(who.role, Role::Officer | Role::Head))
    else {
        return Ok(false);
    };
    let n: i64 = lead_departments::table
        .filter(lead_departments::lead_id.eq(id))
        .filter(lead_departments::department.eq(d))
        .filter(lead_departments::role.eq("receiving"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A step on the main line, by the primary department.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// What was done or found (required for verify, enforce and close).
    pub note: Option<String>,
    /// verify: whether the lead is substantiated (属实).
    pub substantiated: Option<bool>,
    /// enforce: measures taken, e.g. ["责令整改", "罚款"].
    pub measures: Option<Vec<String>>,
    /// enforce: a rectification deadline (YYYY-MM-DD).
    pub rectify_by: Option<String>,
    /// enforce: a penalty decision number, e.g. 应急罚〔2026〕5号.
    pub decision_number: Option<String>,
    /// The version last read; a stale one is a 409, so two officers acting at once do
    /// not both succeed.
    pub version: Option<i32>,
}

/// Moves the main line of a lead. Only officers and heads of the primary department may;
/// a move the state does not allow is a 409; of two at once, exactly one wins.
#[allow(clippy::too_many_arguments)] // the step, its input and its evidence with their limit
pub fn step(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    mv: Move,
    input: StepInput,
    evidence: Vec<crate::platform::upload::Upload>,
    max_file_bytes: usize,
    now: NaiveDateTime,
) -> AppResult<Lead> {
    let before = find_visible(conn, who, id)?;
    may_move(who, &before, mv, input.version)?;
    let (note, data) = step_details(mv, &input, now)?;
    move_on(conn, &before, mv, input.substantiated, now)?;
    let event_id = add_event(conn, id, now, &EventActor::of(who), mv.code(), &note, data)?;
    if !evidence.is_empty() {
        crate::leads::files::store(
            conn,
            who,
            id,
            Some(&event_id),
            evidence,
            max_file_bytes,
            now,
        )?;
    }
    let after = find(conn, id)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "lead",
            entity_id: id,
            action: mv.code(),
            before: Some(serde_json::json!({"state": before.state, "version": before.version})),
            after: Some(
                serde_json::json!({"state": after.state, "version": after.version, "note": note}),
            ),
        },
    )?;
    tell_step(conn, who, &after, mv, input.substantiated, &note, now)?;
    Ok(after)
}

/// Whether this user may make this move on the lead now (and, with a version, on the lead
/// as they saw it).
fn may_move(who: &Principal, before: &Lead, mv: Move, version: Option<i32>) -> AppResult<()> {
    if !policy::may_handle(who, &before.primary_department) {
        return Err(AppError::Forbidden(
            "只有主办部门的工作人员可以办理这一步。协办部门可以填写办理意见。".into(),
        ));
    }
    if before.transfer_state.is_some() {
        return Err(AppError::InvalidTransition(
            "线索正在转办，待接收部门确认（或协调办裁定）后再办理。".into(),
        ));
    }
    let state = before.state();
    let substantiated = before.substantiated.map(|s| s != 0);
    if !state.allows(mv, substantiated) {
        let open: Vec<&str> = state
            .open_moves(substantiated)
            .iter()
            .map(|m| m.label())
            .collect();
        return Err(AppError::InvalidTransition(format!(
            "线索当前为“{}”，不能“{}”。{}",
            state.label(),
            mv.label(),
            if open.is_empty() {
                "线索已办结。".to_owned()
            } else {
                format!("现在可以：{}。", open.join("、"))
            }
        )));
    }
    if version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "线索已被他人更新，请刷新后再办理。".into(),
        ));
    }
    Ok(())
}

/// What the step records: its note and the details of the move (findings, measures …),
/// every field error at once.
fn step_details(
    mv: Move,
    input: &StepInput,
    now: NaiveDateTime,
) -> AppResult<(String, serde_json::Value)> {
    let mut errors = Vec::new();
    let note = input.note.clone().unwrap_or_default().trim().to_owned();
    if note.chars().count() > 5000 {
        errors.push(FieldError::new("note", "说明不能超过 5000 个字符"));
    }
    let mut data = serde_json::json!({});
    match mv {
        Move::Verify => {
            match input.substantiated {
                None => errors.push(FieldError::new(
                    "substantiated",
                    "请选择核查结论：属实或不属实",
                )),
                Some(s) => data["substantiated"] = serde_json::json!(s),
            }
            if note.is_empty() {
                errors.push(FieldError::new("note", "请填写核查情况"));
            }
        }
        Move::Enforce => {
            let measures: Vec<String> = input
                .measures
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            if measures.is_empty() {
                errors.push(FieldError::new(
                    "measures",
                    "请填写查处措施，如责令整改、罚款、停产整顿、移送",
                ));
            }
            data["measures"] = serde_json::json!(measures);
            if let Some(d) = input
                .rectify_by
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                match crate::platform::rules::dates::parse(
                    d,
                    crate::platform::clock::shanghai_date(now),
                ) {
                    Ok(d) => data["rectify_by"] = serde_json::json!(d),
                    Err(message) => errors.push(FieldError::new(
                        "rectify_by",
                        format!("整改期限：{message}"),
                    )),
                }
            }
            if let Some(n) = input
                .decision_number
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                data["decision_number"] = serde_json::json!(n);
            }
        }
        Move::Close => {
            if note.is_empty() {
                errors.push(FieldError::new("note", "请填写办结情况"));
            }
        }
        Move::Acknowledge | Move::StartVerifying => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((note, data))
}

/// Moves the lead on (exactly one of two concurrent moves wins) and meets its deadlines.
fn move_on(
    conn: &mut DbConnection,
    before: &Lead,
    mv: Move,
    substantiated: Option<bool>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let id = before.id.as_str();
    let state = before.state();
    let next = state.after(mv);
    // Exactly one of two concurrent moves wins: the update matches only the state and
    // version read above.
    let updated = diesel::update(
        leads::table
            .filter(leads::id.eq(id))
            .filter(leads::version.eq(before.version))
            .filter(leads::state.eq(state.code())),
    )
    .set((
        leads::state.eq(next.code()),
        leads::substantiated.eq(match mv {
            Move::Verify => substantiated.map(i32::from),
            _ => before.substantiated,
        }),
        leads::closed_at.eq(if next == LeadState::Closed {
            Some(now)
        } else {
            None
        }),
        leads::updated_at.eq(now),
        leads::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(AppError::Conflict(
            "线索已被他人办理，请刷新后查看。".into(),
        ));
    }
    if let Some(stage) = mv.meets() {
        diesel::update(
            lead_deadlines::table
                .filter(lead_deadlines::lead_id.eq(id))
                .filter(lead_deadlines::stage.eq(stage.code()))
                .filter(lead_deadlines::met_at.is_null()),
        )
        .set(lead_deadlines::met_at.eq(now))
        .execute(conn)?;
    }
    if next == LeadState::Closed {
        // Closing meets whatever was still open.
        diesel::update(
            lead_deadlines::table
                .filter(lead_deadlines::lead_id.eq(id))
                .filter(lead_deadlines::met_at.is_null()),
        )
        .set(lead_deadlines::met_at.eq(now))
        .execute(conn)?;
    }
    refresh_next_due(conn, id, now)?;
    Ok(())
}

/// The raising township, its followers and the coordination office follow the main line.
fn tell_step(
    conn: &mut DbConnection,
    who: &Principal,
    after: &Lead,
    mv: Move,
    substantiated: Option<bool>,
    note: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let id = after.id.as_str();
    let mut recipients = crate::accounts::recipients::coordinators(conn)?;
    if let Some(r) = &after.raised_by {
        recipients.push(r.clone());
    }
    recipients.extend(crate::leads::actions::followers(conn, id)?);
    let unit_name = crate::reference::unit_name(conn, &unit_of(who));
    let verdict = match (mv, substantiated) {
        (Move::Verify, Some(true)) => "（属实）",
        (Move::Verify, Some(false)) => "（不属实）",
        _ => "",
    };
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::LeadProgress,
            title: format!(
                "{} {}{}：{}",
                after.number,
                mv.label(),
                verdict,
                after.title
            ),
            body: format!(
                "{}（{}）对线索“{}”办理了“{}”{}。{}",
                who.display_name,
                unit_name,
                after.title,
                mv.label(),
                verdict,
                note
            ),
            link: format!("/leads/{id}"),
            entity_type: "lead",
            entity_id: id,
        },
    )?;
    Ok(())
}

/// Sets `next_due_at` to the earliest unmet deadline (none once all are met).
pub(crate) fn refresh_next_due(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let next: Option<NaiveDateTime> = lead_deadlines::table
        .filter(lead_deadlines::lead_id.eq(id))
        .filter(lead_deadlines::met_at.is_null())
        .select(diesel::dsl::min(lead_deadlines::due_at))
        .first(conn)?;
    diesel::update(leads::table.find(id))
        .set((
            leads::next_due_at.eq(next),
            leads::overdue.eq(i32::from(next.is_some_and(|n| n < now))),
        ))
        .execute(conn)?;
    // The departments' copies of the ordering key.
    diesel::update(lead_departments::table.filter(lead_departments::lead_id.eq(id)))
        .set(lead_departments::next_due_at.eq(next))
        .execute(conn)?;
    Ok(())
}

/// A comment (办理意见) by anyone party to the lead: its departments, the raising township,
/// the coordination office.
pub fn comment(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    note: Option<String>,
    now: NaiveDateTime,
) -> AppResult<Event> {
    find_visible(conn, who, id)?;
    if !policy::may_comment(who) {
        return Err(AppError::Forbidden("系统管理员不参与线索办理。".into()));
    }
    let mut errors = Vec::new();
    let note = text(&mut errors, "note", "意见", note, 5000);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "comment",
        &note,
        serde_json::json!({}),
    )?;
    diesel::update(leads::table.find(id))
        .set(leads::updated_at.eq(now))
        .execute(conn)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "lead",
            entity_id: id,
            action: "comment",
            before: None,
            after: Some(serde_json::json!({"note": note})),
        },
    )?;
    Ok(lead_events::table
        .filter(lead_events::lead_id.eq(id))
        .order((lead_events::occurred_at.desc(), lead_events::id.desc()))
        .select(Event::as_select())
        .first(conn)?)
}

/// A lead with its deadlines and timeline, as the API and the lead page show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadView {
    #[serde(flatten)]
    pub lead: Lead,
    pub category_name: String,
    pub primary_department_name: String,
    pub township_name: Option<String>,
    pub mine_name: Option<String>,
    pub state_label: String,
    pub urgency_label: String,
    /// Whether an unmet deadline has passed.
    pub is_overdue: bool,
    pub deadlines: Vec<Deadline>,
    pub timeline: Vec<Event>,
    /// The main-line moves open now to the person asking.
    pub moves: Vec<String>,
    /// Transfers (转办), oldest first.
    pub transfers: Vec<crate::leads::actions::Transfer>,
    /// The raising township's evaluations, per department.
    pub evaluations: Vec<crate::leads::actions::Evaluation>,
    /// Photos and documents (without their bytes; `GET …/attachments/{id}` serves them).
    pub attachments: Vec<crate::leads::files::Attachment>,
}

pub fn view(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<LeadView> {
    let lead = find_visible(conn, who, id)?;
    let deadlines = lead_deadlines::table
        .filter(lead_deadlines::lead_id.eq(id))
        .select(Deadline::as_select())
        .load::<Deadline>(conn)?;
    let mut deadlines = deadlines;
    deadlines.sort_by_key(|d| d.stage as u8);
    let timeline = lead_events::table
        .filter(lead_events::lead_id.eq(id))
        .order((lead_events::occurred_at.asc(), lead_events::id.asc()))
        .select(Event::as_select())
        .load(conn)?;
    let moves = if policy::may_handle(who, &lead.primary_department) {
        lead.state()
            .open_moves(lead.substantiated.map(|s| s != 0))
            .iter()
            .map(|m| m.code().to_owned())
            .collect()
    } else {
        Vec::new()
    };
    Ok(LeadView {
        category_name: crate::reference::find_lead_category(conn, &lead.category)?
            .map_or_else(|| lead.category.clone(), |c| c.name),
        primary_department_name: crate::reference::unit_name(conn, &lead.primary_department),
        township_name: lead
            .township
            .as_deref()
            .map(|t| crate::reference::unit_name(conn, t)),
        mine_name: match lead.mine_id.as_deref() {
            Some(m) => crate::register::mines::names(conn, &[m.to_owned()])?.remove(m),
            None => None,
        },
        state_label: lead.state().label().to_owned(),
        urgency_label: lead.urgency.label().to_owned(),
        is_overdue: lead.is_overdue(now),
        deadlines,
        timeline,
        moves,
        transfers: crate::leads::actions::transfers(conn, id)?,
        evaluations: crate::leads::actions::evaluations(conn, id)?,
        attachments: crate::leads::files::list(conn, id)?,
        lead,
    })
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// open (default) | closed, or one open state: routed, acknowledged, verifying, verified, enforcing
    pub state: Option<String>,
    /// Leads this department is primary or assisting on.
    pub department: Option<String>,
    /// true: only leads past an unmet deadline.
    pub overdue: Option<String>,
    pub township: Option<String>,
    pub category: Option<String>,
    pub urgency: Option<String>,
    pub mine_id: Option<String>,
    /// mine: leads I raised (我吹的哨)
    pub raised: Option<String>,
    /// pending | disputed: leads with a transfer waiting for an answer or a decision.
    pub transfer: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Leads the user may see, filtered. Open leads come by deadline (overdue first, as their
/// deadlines are earliest); closed ones newest first. Keyset-paginated. A department's
/// list reads its rows of `lead_departments`, which carry the ordering keys, so a queue
/// is an index range whatever the number of leads.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    q: &LeadQuery,
    now: NaiveDateTime,
) -> AppResult<(Vec<Lead>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    // Validate the codes first.
    if let Some(u) = nonempty(&q.urgency) {
        if Urgency::parse(&u).is_none() {
            return Err(AppError::field(
                "urgency",
                format!("只能是 {}", Urgency::codes()),
            ));
        }
    }
    if !matches!(nonempty(&q.raised).as_deref(), None | Some("mine")) {
        return Err(AppError::field("raised", "只能是 mine（我提交的线索）"));
    }
    if !matches!(
        nonempty(&q.transfer).as_deref(),
        None | Some("pending" | "disputed")
    ) {
        return Err(AppError::field(
            "transfer",
            "只能是 pending（待接收）或 disputed（有异议）",
        ));
    }
    if !matches!(
        nonempty(&q.overdue).as_deref(),
        None | Some("true" | "false")
    ) {
        return Err(AppError::field("overdue", "只能是 true 或 false"));
    }
    let state = nonempty(&q.state).unwrap_or_else(|| "open".into());
    let one_state = match state.as_str() {
        "open" | "closed" => None,
        s => match LeadState::parse(s) {
            Some(st) if st.is_open() => Some(st),
            _ => {
                return Err(AppError::field(
                    "state",
                    format!("只能是 open、closed 或 {}", LeadState::codes()),
                ))
            }
        },
    };
    let closed = state == "closed";
    let overdue = nonempty(&q.overdue).as_deref() == Some("true");
    let bad_cursor = || AppError::field("cursor", "翻页标记无效，请从第一页重新开始");
    let cursor = match nonempty(&q.cursor) {
        None => None,
        Some(c) => {
            let (t, id) = c.split_once('_').ok_or_else(bad_cursor)?;
            let t =
                NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S%.f").map_err(|_| bad_cursor())?;
            Some((t, id.to_owned()))
        }
    };
    // The department whose rows key the list: the officer's own, or the one asked for.
    // An officer asking for another department's leads sees those it is also party to.
    let list_scope = policy::list_scope(who);
    let (scope, also) = match list_scope {
        ListScope::Department => {
            match nonempty(&q.department).filter(|d| Some(d) != who.department.as_ref()) {
                Some(other) => (Some(other), who.department.clone()),
                None => (who.department.clone(), None),
            }
        }
        ListScope::District | ListScope::Township => (nonempty(&q.department), None),
        ListScope::None => return Err(AppError::Forbidden("企业账号不能查看问题线索。".into())),
    };
    // Filters on the lead itself, the same on both paths.
    macro_rules! filtered {
        ($query:expr) => {{
            let mut query = $query;
            if list_scope == ListScope::Township {
                let mine = leads::raised_by.eq(who.id.clone());
                query = match who.township.clone() {
                    Some(t) => query.filter(mine.or(leads::township.eq(t))),
                    None => query.filter(mine),
                };
            }
            // Party to a lead means a row of its own in lead_departments, never a
            // substring of the comma-joined column (a code inside another code).
            if let Some(own) = also.clone() {
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
            if let Some(t) = nonempty(&q.township) {
                query = query.filter(leads::township.eq(t));
            }
            if let Some(c) = nonempty(&q.category) {
                query = query.filter(leads::category.eq(c));
            }
            if let Some(u) = nonempty(&q.urgency) {
                query = query.filter(leads::urgency.eq(u));
            }
            if let Some(m) = nonempty(&q.mine_id) {
                query = query.filter(leads::mine_id.eq(m));
            }
            if nonempty(&q.raised).is_some() {
                query = query.filter(leads::raised_by.eq(who.id.clone()));
            }
            if let Some(t) = nonempty(&q.transfer) {
                query = query.filter(leads::transfer_state.eq(t));
            }
            if let Some(st) = one_state {
                query = query.filter(leads::state.eq(st.code()));
            }
            query
        }};
    }
    // One page in the list's order, keyed by the given columns (the lead's own, or its
    // department row's copies): open leads by deadline, closed ones newest first.
    macro_rules! page {
        ($query:expr, $due:expr, $raised:expr, $id:expr) => {{
            let mut query = $query;
            if closed {
                query = query.filter($due.is_null());
                if let Some((t, id)) = cursor {
                    query = query.filter($raised.lt(t).or($raised.eq(t).and($id.lt(id))));
                }
                query
                    .order(($raised.desc(), $id.desc()))
                    .limit(limit + 1)
                    .load(conn)?
            } else {
                query = query.filter($due.is_not_null());
                if overdue {
                    query = query.filter($due.lt(now));
                }
                if let Some((t, id)) = cursor {
                    query = query.filter($due.gt(t).or($due.eq(t).and($id.gt(id))));
                }
                query
                    .order(($due.asc(), $id.asc()))
                    .limit(limit + 1)
                    .load(conn)?
            }
        }};
    }
    let mut rows: Vec<Lead> = match scope {
        Some(d) => page!(
            filtered!(leads::table
                .inner_join(lead_departments::table)
                .filter(lead_departments::department.eq(d))
                .select(Lead::as_select())
                .into_boxed()),
            lead_departments::next_due_at,
            lead_departments::raised_at,
            lead_departments::lead_id
        ),
        None => page!(
            filtered!(leads::table.select(Lead::as_select()).into_boxed()),
            leads::next_due_at,
            leads::raised_at,
            leads::id
        ),
    };
    let next = pagination::next_cursor(&mut rows, limit, |l| {
        let t = if closed {
            l.raised_at
        } else {
            l.next_due_at.unwrap_or(l.raised_at)
        };
        format!("{}_{}", t.format("%Y%m%dT%H%M%S%.6f"), l.id)
    });
    Ok((rows, next))
}

/// Raises a lead and answers with its view, inside the caller's transaction: the one entry
/// point of the form, the API and the email intake.
pub fn raise_for(
    state: &crate::web::AppState,
    conn: &mut crate::platform::db::DbConnection,
    who: &Principal,
    input: NewLead,
    source: LeadSource,
    now: chrono::NaiveDateTime,
) -> AppResult<LeadView> {
    let ctx = RaiseContext {
        now,
        today: crate::platform::clock::shanghai_date(now),
        calendar: &state.calendar,
        limits: &state.settings.leads,
        geo: &state.settings.geo,
        source,
    };
    let lead = raise(conn, who, input, &ctx)?;
    view(conn, who, &lead.id, now)
}

/// Runs a main-line step off the executor in one transaction and answers with the lead as
/// it is after: the one entry of the page and the API.
pub async fn step_now(
    state: actix_web::web::Data<crate::web::AppState>,
    who: Principal,
    id: String,
    mv: Move,
    input: StepInput,
    evidence: Vec<crate::platform::upload::Upload>,
) -> AppResult<LeadView> {
    let now = state.clock.now_naive();
    let max = state.settings.http.max_upload_bytes;
    crate::web::blocking(move || {
        state.db.transaction(|conn| {
            step(conn, &who, &id, mv, input, evidence, max, now)?;
            view(conn, &who, &id, now)
        })
    })
    .await
}

/// Runs a side step of a lead in one transaction and answers with the lead as it is after.
pub async fn side_step_now(
    state: actix_web::web::Data<crate::web::AppState>,
    who: Principal,
    id: String,
    run: impl FnOnce(
            &crate::web::AppState,
            &mut crate::platform::db::DbConnection,
            &Principal,
            &str,
            chrono::NaiveDateTime,
        ) -> AppResult<()>
        + Send
        + 'static,
) -> AppResult<LeadView> {
    let now = state.clock.now_naive();
    crate::web::blocking(move || {
        state.db.transaction(|conn| {
            run(&state, conn, &who, &id, now)?;
            view(conn, &who, &id, now)
        })
    })
    .await
}
