//! Problem leads (问题线索): 街镇吹哨、部门报到. Raising routes a lead to its departments
//! by category and place; the primary department reports in, verifies, enforces and closes
//! it within time limits; every step is an event on the lead's timeline, written with its
//! audit entry and notices in one transaction.

pub mod actions;
pub mod api;
pub mod board;
pub mod deadlines;
pub mod files;
pub mod pages;
pub mod policy;
mod restart;
use policy::ListScope;
pub mod rules;
pub mod stats;
mod store;

use store::leads::{self as rows, LeadFilter, LeadPage};
pub use store::leads::{Deadline, Event, Lead, Located};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::leads::rules::{due_at, LeadSource, LeadState, Move, Routing, Stage, Urgency};
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::config::{GeoSettings, LeadSettings};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::pagination;
use crate::platform::rules::calendar::WorkingCalendar;
use crate::platform::rules::role::Role;

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
fn route(
    conn: &mut DbConnection,
    refs: &crate::reference::Snapshot,
    checked: &CheckedLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Routing> {
    let (category, location) = (&checked.category, checked.location);
    let department_name = |code: &str| {
        refs.department(code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    };
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
        mine_id: checked.mine.as_ref().map(|m| m.id.clone()),
        township: checked.township.clone(),
        at_point,
        department_name: &department_name,
    });
    if routing.township.is_none() {
        if let Some(m) = routing.mine_id.as_deref() {
            routing.township = Some(match checked.mine.as_ref().filter(|n| n.id == m) {
                Some(named) => named.township.clone(),
                None => crate::register::mines::find(conn, m)?.township,
            });
        }
    }
    Ok(routing)
}

/// The next number of the year: XS-2026-000123. Unique; on PostgreSQL a number is skipped
/// when the raise that took it fails (see `store::leads::next_number`).
fn next_number(conn: &mut DbConnection, year: i32) -> AppResult<String> {
    let n = rows::next_number(conn, year)?;
    Ok(format!("XS-{year}-{n:06}"))
}

/// Who raises a lead: a signed-in person, or a member of the public on a mine's public
/// page (no account: the lead goes to the coordination office to be divided).
pub struct Raiser {
    pub id: Option<String>,
    pub name: String,
    /// The unit code recorded as raising it (a department, a township, or `public`).
    pub unit: String,
    pub township: Option<String>,
}

/// The unit of leads from the public (群众反映).
pub const PUBLIC_UNIT: &str = crate::reference::PUBLIC_UNIT;

impl Raiser {
    pub fn of(who: &Principal) -> Self {
        Self {
            id: Some(who.id.clone()),
            name: who.display_name.clone(),
            unit: unit_of(who),
            township: who.township.clone(),
        }
    }

    pub fn public() -> Self {
        Self {
            id: None,
            name: "群众".into(),
            unit: PUBLIC_UNIT.into(),
            township: None,
        }
    }

    fn actor(&self) -> crate::platform::audit::Actor {
        crate::platform::audit::Actor {
            id: self.id.clone(),
            name: match &self.id {
                Some(_) => self.name.clone(),
                None => "群众（公示页面）".into(),
            },
        }
    }
}

/// Raises a lead: validates, routes, numbers it, sets its deadlines, writes the first
/// events, the audit entry and the notices to the departments. The one entry point for
/// the form, the API and email.
pub fn raise(
    conn: &mut DbConnection,
    who: &Principal,
    input: NewLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Lead> {
    Ok(raise_written(conn, who, input, ctx)?.lead)
}

/// What a raise wrote, for the answer: a new lead has no transfers, evaluations or
/// attachments yet, so its view is built from these without reading it back.
struct Written {
    lead: Lead,
    deadlines: Vec<Deadline>,
    timeline: Vec<Event>,
    refs: std::sync::Arc<crate::reference::Snapshot>,
    /// The mine it names, when the raiser named one.
    mine: Option<crate::register::mines::Mine>,
}

fn raise_written(
    conn: &mut DbConnection,
    who: &Principal,
    input: NewLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Written> {
    crate::platform::authz::require(who, crate::platform::authz::Action::RaiseLeads)?;
    raise_by(conn, &Raiser::of(who), input, ctx)
}

fn raise_by(
    conn: &mut DbConnection,
    who: &Raiser,
    input: NewLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Written> {
    let prepared = prepare(conn, who, input, ctx)?;
    write_raise(conn, who, prepared, ctx)
}

/// What a raise read and decided before writing anything: the checked input, its
/// routing and deadlines, and who is told.
struct Prepared {
    checked: CheckedLead,
    routing: Routing,
    deadlines: Vec<Deadline>,
    refs: std::sync::Arc<crate::reference::Snapshot>,
    audience: crate::notify::Audience,
    /// The closed mines it is about (`restart::closed_mines`): a raise that finds any is
    /// flagged on its timeline and told to NR.
    closed: Vec<(String, String)>,
}

/// Checks and routes a lead and reads who is told, writing nothing: on SQLite it runs
/// outside the one writer's turn (`Db::prepare_then_write`).
fn prepare(
    conn: &mut DbConnection,
    who: &Raiser,
    input: NewLead,
    ctx: &RaiseContext<'_>,
) -> AppResult<Prepared> {
    let refs = crate::reference::snapshot(conn)?;
    let checked = check_new(conn, &refs, who, input)?;
    let routing = route(conn, &refs, &checked, ctx)?;
    let deadlines = deadlines_for(ctx, checked.urgency)?;
    // 部门报到 starts with being told: the lead's departments and the coordination office.
    let mut units = vec![routing.primary.clone()];
    units.extend(routing.assisting.iter().cloned());
    let recipients = crate::accounts::recipients::departments_and_coordinators(conn, &units)?;
    let audience = crate::notify::Audience::of_addressed(
        conn,
        who.id.as_deref(),
        &recipients,
        crate::notify::NoticeKind::LeadRouted,
    )?;
    let named = checked
        .mine
        .as_ref()
        .filter(|m| routing.mine_id.as_ref() == Some(&m.id));
    let closed = restart::closed_mines(
        conn,
        routing.mine_id.as_deref(),
        named,
        checked.location.map(|l| (l.lon, l.lat)),
        ctx,
    )?;
    Ok(Prepared {
        checked,
        routing,
        deadlines,
        refs,
        audience,
        closed,
    })
}

/// Numbers and writes a prepared lead: the lead, its departments and deadlines, the first
/// events, the audit entry, the notices and the restart check. Whole on its own
/// (`Db::prepare_then_write_whole`): on PostgreSQL the rows are one statement after the
/// number (`platform::db::Chained`) when the lead is about no closed mine, and one
/// transaction ([`atomically`]) otherwise.
fn write_raise(
    conn: &mut DbConnection,
    who: &Raiser,
    prepared: Prepared,
    ctx: &RaiseContext<'_>,
) -> AppResult<Written> {
    let Prepared {
        checked,
        routing,
        mut deadlines,
        refs,
        audience,
        closed,
    } = prepared;
    let year = crate::platform::clock::shanghai_date(ctx.now).year();
    let number = next_number(conn, year)?;
    let id = uuid::Uuid::now_v7().to_string();
    for d in &mut deadlines {
        d.lead_id.clone_from(&id);
    }
    let lead = Lead {
        id,
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
        raised_by: who.id.clone(),
        raised_by_name: who.name.clone(),
        raised_unit: who.unit.clone(),
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
        assignee_id: None,
        assigned_at: None,
    };
    let mut timeline = raised_events(who, &lead, &routing, ctx);
    let parties = parties_of(&routing);
    let entry = audit::pending(&who.actor(), ctx.now, raised_change(&lead)?);
    let raised_unit_name = refs.unit_name(&lead.raised_unit);
    let notice = routed_notice(who, &raised_unit_name, &lead, &checked.category.name);
    let chained = matches!(conn, DbConnection::Pg(_)) && closed.is_empty();
    let flagged = match chained
        .then(|| rows::raised_parts(&lead, &parties, &deadlines, &timeline))
        .flatten()
    {
        Some(parts) => {
            write_chained(conn, parts, entry, &audience, &notice, ctx.now)?;
            None
        }
        None => crate::platform::db::atomically(conn, |c| {
            rows::insert_raised(c, &lead, &parties, &deadlines, &timeline)?;
            entry.write(c)?;
            audience.send(c, ctx.now, &notice, None)?;
            restart::flag(c, &lead, &closed, ctx)
        })?,
    };
    timeline.extend(flagged);
    Ok(Written {
        lead,
        deadlines,
        timeline,
        refs,
        mine: checked.mine,
    })
}

/// Runs a new lead's rows (`rows::raised_parts`), its audit entry and its notices as one
/// statement on PostgreSQL.
fn write_chained<A, B, C, D>(
    conn: &mut DbConnection,
    (lead, parties, deadlines, events): (A, B, C, D),
    entry: audit::Pending,
    audience: &crate::notify::Audience,
    notice: &crate::notify::Notice<'_>,
    now: NaiveDateTime,
) -> AppResult<()>
where
    A: diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    B: diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    C: diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
    D: diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
{
    use crate::platform::db::Chained;
    use diesel::RunQueryDsl;
    let DbConnection::Pg(c) = conn else {
        return Err(AppError::internal("a chained write on SQLite"));
    };
    let entry = entry.insert();
    match audience.inserts(now, notice, None)? {
        Some((notices, queued)) => {
            Chained((lead, parties, deadlines, events, entry, notices, queued)).execute(c)?
        }
        None => Chained((lead, parties, deadlines, events, entry)).execute(c)?,
    };
    Ok(())
}

/// A new lead's input, checked: every field error at once, or what the lead is made of.
struct CheckedLead {
    title: String,
    description: String,
    category: crate::reference::LeadCategory,
    urgency: Urgency,
    /// The mine the raiser named.
    mine: Option<crate::register::mines::Mine>,
    location: Option<Location>,
    township: Option<String>,
}

fn check_new(
    conn: &mut DbConnection,
    refs: &crate::reference::Snapshot,
    who: &Raiser,
    input: NewLead,
) -> AppResult<CheckedLead> {
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
        match refs.lead_category(&category_code) {
            Some(c) if c.active != 0 => Some(c.clone()),
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
    let mine = match &mine_id {
        None => None,
        Some(m) => match crate::register::mines::find(conn, m) {
            Ok(mine) => Some(mine),
            Err(AppError::NotFound(_)) => {
                errors.push(FieldError::new("mine_id", "没有这座矿山"));
                None
            }
            Err(e) => return Err(e),
        },
    };
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
            if refs.township(&t).is_none() {
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
        mine,
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

/// A new lead's parties, `(department, role)`: the primary department, then those assisting.
fn parties_of(routing: &Routing) -> Vec<(String, &'static str)> {
    std::iter::once((routing.primary.clone(), "primary"))
        .chain(routing.assisting.iter().map(|d| (d.clone(), "assisting")))
        .collect()
}

/// The timeline's first two entries (raised, routed), not yet written.
fn raised_events(
    who: &Raiser,
    lead: &Lead,
    routing: &Routing,
    ctx: &RaiseContext<'_>,
) -> Vec<Event> {
    let raiser = EventActor {
        id: who.id.clone(),
        name: who.name.clone(),
        unit: who.unit.clone(),
    };
    vec![
        new_event(
            &lead.id,
            ctx.now,
            &raiser,
            "raised",
            "",
            serde_json::json!({"source": ctx.source.code()}),
        ),
        new_event(
            &lead.id,
            ctx.now,
            &EventActor::system(),
            "routed",
            &routing.reason,
            serde_json::json!({"primary": routing.primary, "assisting": routing.assisting}),
        ),
    ]
}

/// The raise's audit entry.
fn raised_change(lead: &Lead) -> AppResult<Change<'_>> {
    Ok(Change {
        entity_type: "lead",
        entity_id: &lead.id,
        action: "raise",
        before: None,
        after: Some(serde_json::to_value(lead).map_err(AppError::internal)?),
    })
}

/// The notice of a new lead to its departments and the coordination office.
fn routed_notice<'a>(
    who: &Raiser,
    raised_unit_name: &str,
    lead: &'a Lead,
    category_name: &str,
) -> crate::notify::Notice<'a> {
    crate::notify::Notice {
        kind: crate::notify::NoticeKind::LeadRouted,
        title: format!(
            "{} 新线索（{}）：{}",
            lead.number,
            lead.urgency.label(),
            lead.title
        ),
        body: format!(
            "{}（{}）提交了{}线索“{}”，类别：{}。{}请在时限内报到。",
            who.name,
            raised_unit_name,
            lead.urgency.label(),
            lead.title,
            category_name,
            lead.routing_reason
        ),
        link: format!("/leads/{}", lead.id),
        entity_type: "lead",
        entity_id: &lead.id,
    }
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

/// A step on the lead's timeline, not yet written.
fn new_event(
    lead_id: &str,
    now: NaiveDateTime,
    actor: &EventActor,
    kind: &str,
    note: &str,
    data: serde_json::Value,
) -> Event {
    Event {
        id: uuid::Uuid::now_v7().to_string(),
        lead_id: lead_id.to_owned(),
        occurred_at: now,
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        actor_unit: actor.unit.clone(),
        kind: kind.to_owned(),
        note: note.to_owned(),
        data_json: data.to_string(),
    }
}

/// Adds a step to the lead's timeline and returns it.
pub(crate) fn write_event(
    conn: &mut DbConnection,
    lead_id: &str,
    now: NaiveDateTime,
    actor: &EventActor,
    kind: &str,
    note: &str,
    data: serde_json::Value,
) -> AppResult<Event> {
    let event = new_event(lead_id, now, actor, kind, note, data);
    rows::insert_events(conn, std::slice::from_ref(&event))?;
    Ok(event)
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
    write_event(conn, lead_id, now, &EventActor::system(), kind, note, data).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Lead> {
    rows::find(conn, id)?.ok_or_else(|| AppError::NotFound("没有这条线索。".into()))
}

/// "XS-2026-000123 标题" of the given leads, in one query per few hundred.
pub fn numbers(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        for (id, number, title) in rows::numbers_of(conn, chunk)? {
            out.insert(id, format!("{number} {title}"));
        }
    }
    Ok(out)
}

/// The lead with this number (e.g. `XS-2026-000123`), if there is one.
pub fn find_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<Lead>> {
    rows::find_by_number(conn, number)
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
    rows::is_follower(conn, id, &who.id)
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
    rows::is_party_as(conn, id, d, "receiving")
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
    let event_id = write_event(conn, id, now, &EventActor::of(who), mv.code(), &note, data)?.id;
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
    let next = before.state().after(mv);
    // Exactly one of two concurrent moves wins: the update matches only the state and
    // version read above.
    let substantiated = match mv {
        Move::Verify => substantiated.map(i32::from),
        _ => before.substantiated,
    };
    if !rows::advance(conn, before, next, substantiated, now)? {
        return Err(AppError::Conflict(
            "线索已被他人办理，请刷新后查看。".into(),
        ));
    }
    if let Some(stage) = mv.meets() {
        rows::meet(conn, id, Some(stage), now)?;
    }
    if next == LeadState::Closed {
        // Closing meets whatever was still open.
        rows::meet(conn, id, None, now)?;
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
    rows::refresh_next_due(conn, id, now)
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
    write_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "comment",
        &note,
        serde_json::json!({}),
    )?;
    rows::touch(conn, id, now)?;
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
    rows::last_event(conn, id)
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
    /// The name of the officer the lead is given to (指派), if any.
    pub assignee_name: Option<String>,
    /// `(id, name)` of the officers the reader may give the lead to; empty unless the
    /// reader is the head of its primary department.
    pub assignable: Vec<(String, String)>,
}

pub fn view(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<LeadView> {
    let lead = find_visible(conn, who, id)?;
    let mut deadlines = rows::deadlines(conn, id)?;
    deadlines.sort_by_key(|d| d.stage as u8);
    let history = History {
        deadlines,
        timeline: rows::timeline(conn, id)?,
        transfers: crate::leads::actions::transfers(conn, id)?,
        evaluations: crate::leads::actions::evaluations(conn, id)?,
        attachments: crate::leads::files::list(conn, id)?,
    };
    let mine_name = match lead.mine_id.as_deref() {
        Some(m) => crate::register::mines::names(conn, &[m.to_owned()])?.remove(m),
        None => None,
    };
    let refs = crate::reference::snapshot(conn)?;
    assemble(conn, who, &refs, lead, mine_name, history, now)
}

/// What a lead's page shows besides the lead: its deadlines by stage and its timeline in
/// order, its transfers, evaluations and attachments.
struct History {
    deadlines: Vec<Deadline>,
    timeline: Vec<Event>,
    transfers: Vec<crate::leads::actions::Transfer>,
    evaluations: Vec<crate::leads::actions::Evaluation>,
    attachments: Vec<crate::leads::files::Attachment>,
}

/// The view of a lead the reader may see, from what was read (or, for a new lead, written).
fn assemble(
    conn: &mut DbConnection,
    who: &Principal,
    refs: &crate::reference::Snapshot,
    lead: Lead,
    mine_name: Option<String>,
    history: History,
    now: NaiveDateTime,
) -> AppResult<LeadView> {
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
        category_name: refs
            .lead_category(&lead.category)
            .map_or_else(|| lead.category.clone(), |c| c.name.clone()),
        primary_department_name: refs.unit_name(&lead.primary_department),
        township_name: lead.township.as_deref().map(|t| refs.unit_name(t)),
        mine_name,
        state_label: lead.state().label().to_owned(),
        urgency_label: lead.urgency.label().to_owned(),
        is_overdue: lead.is_overdue(now),
        deadlines: history.deadlines,
        timeline: history.timeline,
        moves,
        transfers: history.transfers,
        evaluations: history.evaluations,
        attachments: history.attachments,
        assignee_name: match lead.assignee_id.as_deref() {
            Some(a) => Some(crate::accounts::find(conn, a)?.display_name),
            None => None,
        },
        assignable: if policy::may_assign(who, &lead) {
            crate::accounts::staff_named(conn, &lead.primary_department)?
        } else {
            Vec::new()
        },
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
    /// requested: leads put to a consultation (提请会商).
    pub consultation: Option<String>,
    /// me: leads given to me (我的待办).
    pub assigned: Option<String>,
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
    let (scope, filter, page) = scoped(who, q, now, limit)?;
    let closed = page.closed;
    let mut rows = rows::page(conn, scope.as_deref(), &filter, &page)?;
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

/// How many leads the list with these filters holds in all (its cursor and limit aside).
pub fn count(
    conn: &mut DbConnection,
    who: &Principal,
    q: &LeadQuery,
    now: NaiveDateTime,
) -> AppResult<i64> {
    let (scope, filter, page) = scoped(who, q, now, 1)?;
    rows::count(conn, scope.as_deref(), &filter, &page)
}

/// The list's query checked and put in the store's terms: the department whose rows key
/// it, the filters on the lead, the order and page.
pub(super) fn scoped(
    who: &Principal,
    q: &LeadQuery,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<(Option<String>, LeadFilter, LeadPage)> {
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
    if !matches!(
        nonempty(&q.consultation).as_deref(),
        None | Some("requested")
    ) {
        return Err(AppError::field(
            "consultation",
            "只能是 requested（已提请会商）",
        ));
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
    let filter = LeadFilter {
        raised_by_or_township: (list_scope == ListScope::Township)
            .then(|| (who.id.clone(), who.township.clone())),
        party: also,
        township: nonempty(&q.township),
        category: nonempty(&q.category),
        urgency: nonempty(&q.urgency).as_deref().and_then(Urgency::parse),
        mine_id: nonempty(&q.mine_id),
        raised_by: nonempty(&q.raised).map(|_| who.id.clone()),
        transfer: nonempty(&q.transfer),
        state: one_state,
        consultation_requested: nonempty(&q.consultation).is_some(),
        assignee: nonempty(&q.assigned).map(|_| who.id.clone()),
        ..LeadFilter::default()
    };
    let page = LeadPage {
        closed,
        overdue_at: overdue.then_some(now),
        after: cursor,
        limit: limit + 1,
    };
    Ok((scope, filter, page))
}

/// A problem about a mine reported by a member of the public on its public page
/// (群众反映). No account: the contact given is kept in the description, for the officers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicReport {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

/// Raises a public report as a lead of category 其他 for the coordination office to divide,
/// from the unit `public`, source 群众反映. The mine must be one shown to the public.
pub fn report_from_public(
    state: &crate::web::AppState,
    conn: &mut crate::platform::db::DbConnection,
    mine_id: &str,
    report: PublicReport,
    now: chrono::NaiveDateTime,
) -> AppResult<Lead> {
    let mine = crate::register::mines::find(conn, mine_id)?;
    if mine.status() == crate::register::rules::mine::MineStatus::IllegalSite {
        return Err(AppError::NotFound("没有这座矿山的公示信息。".into()));
    }
    let mut errors = Vec::new();
    let description = text(
        &mut errors,
        "description",
        "反映的问题",
        Some(report.description),
        2000,
    );
    let name = report.name.trim().to_owned();
    if name.chars().count() > 30 {
        errors.push(FieldError::new("name", "称呼不能超过 30 个字符"));
    }
    let phone = report.phone.trim().to_owned();
    if phone.chars().count() > 20
        || !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '))
    {
        errors.push(FieldError::new(
            "phone",
            "联系电话只能填写数字（可带 - 号），最多 20 位",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let contact = match (name.is_empty(), phone.is_empty()) {
        (true, true) => "反映人未留联系方式。".to_owned(),
        _ => format!(
            "反映人：{}；联系电话：{}。",
            if name.is_empty() {
                "未留称呼"
            } else {
                &name
            },
            if phone.is_empty() { "未留" } else { &phone }
        ),
    };
    let short: String = mine.name.chars().take(80).collect();
    let ctx = context(state, LeadSource::Public, now);
    let input = NewLead {
        title: Some(format!("群众反映：{short}")),
        description: Some(format!("{description}\n\n（来自矿山公示页面。{contact}）")),
        category: Some(crate::leads::rules::UNDECIDED_CATEGORY.into()),
        urgency: None,
        mine_id: Some(mine.id.clone()),
        location: None,
        township: None,
    };
    raise_by(conn, &Raiser::public(), input, &ctx).map(|w| w.lead)
}

/// An enterprise's complaint about an inspection of its mine (扫码监督): a lead of
/// category 其他 for the coordination office, source 企业投诉.
pub fn complaint_from_enterprise(
    state: &crate::web::AppState,
    conn: &mut crate::platform::db::DbConnection,
    who: &Principal,
    mine_id: &str,
    task_number: &str,
    text: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<Lead> {
    let mut errors = Vec::new();
    let text = self::text(&mut errors, "text", "投诉内容", Some(text.to_owned()), 2000);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let ctx = context(state, LeadSource::Enterprise, now);
    let input = NewLead {
        title: Some(format!("企业对检查任务 {task_number} 的投诉")),
        description: Some(text),
        category: Some(crate::leads::rules::UNDECIDED_CATEGORY.into()),
        urgency: None,
        mine_id: Some(mine_id.to_owned()),
        location: None,
        township: None,
    };
    let raiser = Raiser {
        id: Some(who.id.clone()),
        name: who.display_name.clone(),
        unit: PUBLIC_UNIT.into(),
        township: None,
    };
    raise_by(conn, &raiser, input, &ctx).map(|w| w.lead)
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
    let prepared = prepare_for(state, conn, who, input, source, now)?;
    write_for(state, conn, who, prepared, now)
}

/// A raise checked and routed, with who is told, not yet written: `raise_for` in two
/// parts, for the API, which reads outside its write transaction
/// (`web::create_once_prepared`).
pub struct PreparedRaise {
    prepared: Prepared,
    source: LeadSource,
}

fn context(
    state: &crate::web::AppState,
    source: LeadSource,
    now: chrono::NaiveDateTime,
) -> RaiseContext<'_> {
    RaiseContext {
        now,
        today: crate::platform::clock::shanghai_date(now),
        calendar: &state.calendar,
        limits: &state.settings.leads,
        geo: &state.settings.geo,
        source,
    }
}

/// The first part of `raise_for`: checks and routes, writing nothing.
pub fn prepare_for(
    state: &crate::web::AppState,
    conn: &mut crate::platform::db::DbConnection,
    who: &Principal,
    input: NewLead,
    source: LeadSource,
    now: chrono::NaiveDateTime,
) -> AppResult<PreparedRaise> {
    crate::platform::authz::require(who, crate::platform::authz::Action::RaiseLeads)?;
    let prepared = prepare(conn, &Raiser::of(who), input, &context(state, source, now))?;
    Ok(PreparedRaise { prepared, source })
}

/// The second part of `raise_for`: writes the prepared lead and answers with its view.
pub fn write_for(
    state: &crate::web::AppState,
    conn: &mut crate::platform::db::DbConnection,
    who: &Principal,
    prepared: PreparedRaise,
    now: chrono::NaiveDateTime,
) -> AppResult<LeadView> {
    let ctx = context(state, prepared.source, now);
    let written = write_raise(conn, &Raiser::of(who), prepared.prepared, &ctx)?;
    if !policy::may_view(who, &written.lead) {
        // Not the raiser's to see by role (a department raising for another): the checks
        // of `view`, which may find them following or receiving it.
        return view(conn, who, &written.lead.id, now);
    }
    let Written {
        lead,
        mut deadlines,
        mut timeline,
        refs,
        mine,
    } = written;
    deadlines.sort_by_key(|d| d.stage as u8);
    timeline.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    let mine_name = match (lead.mine_id.as_deref(), mine) {
        (Some(m), Some(named)) if named.id == m => Some(named.name),
        (Some(m), _) => crate::register::mines::names(conn, &[m.to_owned()])?.remove(m),
        (None, _) => None,
    };
    let history = History {
        deadlines,
        timeline,
        transfers: Vec::new(),
        evaluations: Vec::new(),
        attachments: Vec::new(),
    };
    assemble(conn, who, &refs, lead, mine_name, history, now)
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
            crate::notify::read_about(conn, &who.id, "lead", &id, now)?;
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
            crate::notify::read_about(conn, &who.id, "lead", &id, now)?;
            view(conn, &who, &id, now)
        })
    })
    .await
}
