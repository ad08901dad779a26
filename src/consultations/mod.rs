//! 会商研判 (DOMAIN.md §5, seed 001): member units ask for a consultation; the coordination
//! office convenes it, inviting units and people by inbox and by email with an iCalendar
//! invitation (a new one, SEQUENCE raised, on every change; a cancellation on cancelling);
//! each invited unit answers (报到) with its attendee or its reason.

pub mod api;
pub mod board;
mod calendar;
pub mod deadlines;
mod followup;
pub mod ledger;
pub mod minutes;
pub mod pages;
pub mod policy;
pub mod reports;
mod requesting;
pub mod rules;
pub mod store;

use chrono::{Datelike, Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use rules::{Answer, InviteeKind, MeetingState, RequestState};
use store::{AgendaItem, Invitee, Meeting};

pub use calendar::{feed, revoke_feed, rotate_feed};
pub use requesting::*;

/// Asia/Shanghai is UTC+8 all year.
fn local(utc: NaiveDateTime) -> NaiveDateTime {
    utc + Duration::hours(8)
}

fn utc(local: NaiveDateTime) -> NaiveDateTime {
    local - Duration::hours(8)
}

/// "2026-03-10T09:30" or "2026-03-10 09:30", Beijing time.
fn parse_local(errors: &mut Vec<FieldError>, field: &str, v: &str) -> Option<NaiveDateTime> {
    let v = v.trim();
    let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .filter(|t| (2000..=2100).contains(&t.year()));
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "时间格式应为 2026-03-10T09:30（北京时间）",
        ));
    }
    parsed
}

fn text(errors: &mut Vec<FieldError>, field: &str, label: &str, v: &str, max: usize) -> String {
    let v = v.trim().to_owned();
    if v.is_empty() || v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("请填写{label}（{max} 字以内）"),
        ));
    }
    v
}

// ---- meetings (会商) ----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgendaItem {
    pub title: String,
    pub lead_id: Option<String>,
    pub mine_id: Option<String>,
    pub hazard_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    pub topic: String,
    /// Beijing time: 2026-03-10T09:30.
    pub starts_at: String,
    pub ends_at: String,
    pub place: String,
    pub online_url: Option<String>,
    #[serde(default)]
    pub invited_departments: Vec<String>,
    #[serde(default)]
    pub invited_townships: Vec<String>,
    #[serde(default)]
    pub invited_users: Vec<String>,
    #[serde(default)]
    pub agenda: Vec<NewAgendaItem>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteeView {
    pub kind: InviteeKind,
    pub unit: String,
    pub name: String,
    pub answer: Answer,
    pub answer_label: &'static str,
    pub attendee_name: String,
    pub reason: String,
    /// Whether the office has reminded it (once at most).
    pub reminded: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgendaView {
    pub title: String,
    pub lead_id: Option<String>,
    pub mine_id: Option<String>,
    pub hazard_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    pub id: String,
    pub number: String,
    pub topic: String,
    /// Beijing time.
    pub starts_at: String,
    pub ends_at: String,
    pub place: String,
    pub online_url: Option<String>,
    pub state: MeetingState,
    pub state_label: &'static str,
    pub sequence: i32,
    pub invitees: Vec<InviteeView>,
    pub agenda: Vec<AgendaView>,
    pub cancel_reason: String,
    pub version: i32,
}

fn shown(t: NaiveDateTime) -> String {
    local(t).format("%Y-%m-%dT%H:%M").to_string()
}

/// An invitee's answer as it stands at `now`: one that had not answered by the start is
/// absent (缺席).
fn answer_at(m: &Meeting, i: &Invitee, now: NaiveDateTime) -> Answer {
    if i.answer == Answer::Pending && now >= m.starts_at && m.state != MeetingState::Cancelled {
        Answer::Absent
    } else {
        i.answer
    }
}

/// A meeting that has begun is shown as held (已召开) before its minutes are drafted.
fn shown_state(m: &Meeting, now: NaiveDateTime) -> MeetingState {
    if m.state == MeetingState::Scheduled && now >= m.starts_at {
        MeetingState::Held
    } else {
        m.state
    }
}

/// The meeting as the API and pages show it at `now`.
pub fn view(conn: &mut DbConnection, m: &Meeting, now: NaiveDateTime) -> AppResult<MeetingView> {
    let mut v = views(conn, std::slice::from_ref(m), now)?;
    v.pop()
        .ok_or_else(|| AppError::internal("a meeting without its view"))
}

/// Meetings as shown, in a fixed number of queries however many: their invitees and
/// agendas at once, the units' and people's names from one list each.
pub fn views(
    conn: &mut DbConnection,
    meetings: &[Meeting],
    now: NaiveDateTime,
) -> AppResult<Vec<MeetingView>> {
    let ids: Vec<String> = meetings.iter().map(|m| m.id.clone()).collect();
    let invitees = store::invitees_of(conn, &ids)?;
    let agenda = store::agenda_of(conn, &ids)?;
    let mut names: std::collections::HashMap<String, String> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .chain(
            crate::reference::townships(conn)?
                .into_iter()
                .map(|t| (t.code, t.name)),
        )
        .collect();
    let people: Vec<String> = invitees
        .iter()
        .filter(|i| i.kind == InviteeKind::User)
        .map(|i| i.unit.clone())
        .collect();
    names.extend(crate::accounts::names(conn, &people)?);
    Ok(meetings
        .iter()
        .map(|m| MeetingView {
            id: m.id.clone(),
            number: m.number.clone(),
            topic: m.topic.clone(),
            starts_at: shown(m.starts_at),
            ends_at: shown(m.ends_at),
            place: m.place.clone(),
            online_url: m.online_url.clone(),
            state: shown_state(m, now),
            state_label: shown_state(m, now).label(),
            sequence: m.sequence,
            invitees: invitees
                .iter()
                .filter(|i| i.consultation_id == m.id)
                .map(|i| {
                    let answer = answer_at(m, i, now);
                    InviteeView {
                        name: names
                            .get(&i.unit)
                            .cloned()
                            .unwrap_or_else(|| i.unit.clone()),
                        kind: i.kind,
                        unit: i.unit.clone(),
                        answer,
                        answer_label: answer.label(),
                        reminded: i.reminded_at.is_some(),
                        attendee_name: i.attendee_name.clone(),
                        reason: i.reason.clone(),
                    }
                })
                .collect(),
            agenda: agenda
                .iter()
                .filter(|a| a.consultation_id == m.id)
                .map(|a| AgendaView {
                    title: a.title.clone(),
                    lead_id: a.lead_id.clone(),
                    mine_id: a.mine_id.clone(),
                    hazard_id: a.hazard_id.clone(),
                    request_id: a.request_id.clone(),
                })
                .collect(),
            cancel_reason: m.cancel_reason.clone(),
            version: m.version,
        })
        .collect())
}

/// A meeting the reader may read: the office's, or one inviting the reader or their unit.
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Meeting> {
    authz::require(who, Action::ViewConsultations)?;
    let not_found = || AppError::NotFound("没有这个会商。".into());
    let m = store::find(conn, id)?.ok_or_else(not_found)?;
    if policy::reads_all(who) {
        return Ok(m);
    }
    let own = policy::own_units(who);
    let invited = store::invitees(conn, id)?
        .iter()
        .any(|i| own.iter().any(|(k, u)| k == i.kind.code() && *u == i.unit));
    if invited {
        Ok(m)
    } else {
        Err(not_found())
    }
}

/// Checks the time, place and link; what is wrong goes to `errors`.
fn when_and_where(
    errors: &mut Vec<FieldError>,
    now: NaiveDateTime,
    starts_at: &str,
    ends_at: &str,
    place: &str,
    online_url: Option<&str>,
) -> (
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    String,
    Option<String>,
) {
    let starts = parse_local(errors, "starts_at", starts_at);
    let ends = parse_local(errors, "ends_at", ends_at);
    let place = text(errors, "place", "会商地点", place, 200);
    let online = online_url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    if let (Some(s), Some(e)) = (starts, ends) {
        for (field, message) in rules::check_time_and_link(s, e, local(now), online.as_deref()) {
            errors.push(FieldError::new(field, message));
        }
    }
    (starts.map(utc), ends.map(utc), place, online)
}

/// The office convenes a meeting: its invitees are told by inbox and by email with the
/// calendar invitation; requests on its agenda are marked convened.
pub fn convene(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewMeeting,
) -> AppResult<Meeting> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("会商由区协调办召集。".into()));
    }
    // Bounded before anything is looked up.
    let asked =
        input.invited_departments.len() + input.invited_townships.len() + input.invited_users.len();
    if asked > rules::MAX_INVITEES {
        return Err(AppError::field(
            "invited_users",
            format!("一次会商最多邀请 {} 个单位和人员", rules::MAX_INVITEES),
        ));
    }
    if input.agenda.len() > rules::MAX_AGENDA {
        return Err(AppError::field(
            "agenda",
            format!("议程最多 {} 项", rules::MAX_AGENDA),
        ));
    }
    let mut errors = Vec::new();
    let topic = text(&mut errors, "topic", "会商议题", &input.topic, 200);
    let (starts, ends, place, online_url) = when_and_where(
        &mut errors,
        now,
        &input.starts_at,
        &input.ends_at,
        &input.place,
        input.online_url.as_deref(),
    );
    let mut invitees: Vec<(InviteeKind, String)> = Vec::new();
    let units = [
        (
            InviteeKind::Department,
            &input.invited_departments,
            "invited_departments",
            "成员单位",
        ),
        (
            InviteeKind::Township,
            &input.invited_townships,
            "invited_townships",
            "街镇",
        ),
    ];
    for (kind, codes, field, what) in units {
        for code in codes {
            let code = code.trim().to_uppercase();
            let known = match kind {
                InviteeKind::Department => {
                    crate::reference::find_department(conn, &code)?.is_some()
                }
                _ => crate::reference::find_township(conn, &code)?.is_some(),
            };
            if !known {
                errors.push(FieldError::new(field, format!("没有{what} {code}")));
            } else if !invitees.contains(&(kind, code.clone())) {
                invitees.push((kind, code));
            }
        }
    }
    for u in &input.invited_users {
        let u = u.trim().to_owned();
        match crate::accounts::find(conn, &u) {
            Ok(user) if user.active != 0 => {
                if !invitees.contains(&(InviteeKind::User, u.clone())) {
                    invitees.push((InviteeKind::User, u));
                }
            }
            _ => errors.push(FieldError::new(
                "invited_users",
                format!("没有可邀请的用户 {u}"),
            )),
        }
    }
    if invitees.is_empty() {
        errors.push(FieldError::new(
            "invited_departments",
            "请至少邀请一个成员单位、街镇或人员",
        ));
    }
    let mut requests = Vec::new();
    for (n, a) in input.agenda.iter().enumerate() {
        if a.title.trim().is_empty() || a.title.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("agenda[{n}].title"),
                "请写明议程事项（200 字以内）",
            ));
        }
        if let Some(r) = a.request_id.as_deref().filter(|r| !r.is_empty()) {
            match store::find_request(conn, r)? {
                Some(req) if req.state == RequestState::Pending => requests.push(req.id),
                _ => errors.push(FieldError::new(
                    format!("agenda[{n}].request_id"),
                    "没有这个待安排的会商申请",
                )),
            }
        }
    }
    let (Some(starts_at), Some(ends_at), true) = (starts, ends, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let year = local(starts_at).year();
    let n = store::next_number(conn, year)?;
    let m = Meeting {
        id: uuid::Uuid::now_v7().to_string(),
        number: format!("HS-{year}-{n:03}"),
        topic,
        starts_at,
        ends_at,
        place,
        online_url,
        state: MeetingState::Scheduled,
        sequence: 0,
        created_by: Some(who.id.clone()),
        created_at: now,
        updated_at: now,
        cancelled_at: None,
        cancel_reason: String::new(),
        version: 1,
    };
    let rows: Vec<Invitee> = invitees
        .iter()
        .map(|(kind, unit)| Invitee {
            consultation_id: m.id.clone(),
            kind: *kind,
            unit: unit.clone(),
            answer: Answer::Pending,
            attendee_name: String::new(),
            reason: String::new(),
            answered_by: None,
            answered_at: None,
            reminded_at: None,
        })
        .collect();
    let agenda: Vec<AgendaItem> = input
        .agenda
        .iter()
        .enumerate()
        .map(|(n, a)| {
            let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
            AgendaItem {
                consultation_id: m.id.clone(),
                position: n as i32 + 1,
                title: a.title.trim().to_owned(),
                lead_id: some(&a.lead_id),
                mine_id: some(&a.mine_id),
                hazard_id: some(&a.hazard_id),
                request_id: some(&a.request_id),
            }
        })
        .collect();
    store::insert(conn, &m, &rows, &agenda)?;
    store::convene_requests(conn, &requests, &m.id, now)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: &m.id,
            action: "create",
            before: None,
            after: Some(serde_json::json!({"number": m.number, "topic": m.topic,
                "starts_at": shown(m.starts_at), "ends_at": shown(m.ends_at), "place": m.place,
                "departments": invitees.iter().filter(|(k, _)| *k == InviteeKind::Department).map(|(_, u)| u).collect::<Vec<_>>(),
                "townships": invitees.iter().filter(|(k, _)| *k == InviteeKind::Township).map(|(_, u)| u).collect::<Vec<_>>(),
                "users": invitees.iter().filter(|(k, _)| *k == InviteeKind::User).map(|(_, u)| u).collect::<Vec<_>>(),
                "requests": requests})),
        },
    )?;
    calendar::invite(conn, who, now, &m, "会商通知")?;
    Ok(m)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingChange {
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub place: Option<String>,
    pub online_url: Option<String>,
    pub version: Option<i32>,
}

/// A change the invitees must hear of: written (if no one changed the meeting meanwhile),
/// on the record, and sent to everyone invited with the calendar as it now stands.
fn send_out(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    before: &Meeting,
    after: &Meeting,
    change: Change<'_>,
    heading: &str,
) -> AppResult<()> {
    if !store::save(conn, before, after)? {
        return Err(AppError::Conflict(
            "该会商刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    audit::record(conn, &who.actor(), now, change)?;
    calendar::invite(conn, who, now, after, heading)?;
    Ok(())
}

fn open_for_change(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Meeting> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("会商由区协调办召集和变更。".into()));
    }
    let m = load(conn, who, id)?;
    if !m.state.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "会商 {} {}，不能再变更。",
            m.number,
            m.state.label()
        )));
    }
    Ok(m)
}

/// The office changes the time or place: a new invitation goes out, SEQUENCE raised.
pub fn change(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: MeetingChange,
) -> AppResult<Meeting> {
    let before = open_for_change(conn, who, id)?;
    if input.version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "该会商刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    let mut errors = Vec::new();
    let (starts, ends, place, online_url) = when_and_where(
        &mut errors,
        now,
        &input.starts_at.unwrap_or_else(|| shown(before.starts_at)),
        &input.ends_at.unwrap_or_else(|| shown(before.ends_at)),
        &input.place.unwrap_or_else(|| before.place.clone()),
        input.online_url.as_deref().or(before.online_url.as_deref()),
    );
    let (Some(starts_at), Some(ends_at), true) = (starts, ends, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let after = Meeting {
        starts_at,
        ends_at,
        place,
        online_url,
        sequence: before.sequence + 1,
        updated_at: now,
        version: before.version + 1,
        ..before.clone()
    };
    let change = Change {
        entity_type: "consultation",
        entity_id: &after.id,
        action: "update",
        before: Some(serde_json::json!({"starts_at": shown(before.starts_at),
            "ends_at": shown(before.ends_at), "place": before.place, "online_url": before.online_url})),
        after: Some(serde_json::json!({"starts_at": shown(after.starts_at),
            "ends_at": shown(after.ends_at), "place": after.place, "online_url": after.online_url,
            "sequence": after.sequence})),
    };
    send_out(conn, who, now, &before, &after, change, "会商变更通知")?;
    Ok(after)
}

/// The office cancels the meeting: everyone invited gets the cancellation.
pub fn cancel(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    reason: &str,
) -> AppResult<Meeting> {
    let before = open_for_change(conn, who, id)?;
    let mut errors = Vec::new();
    let reason = text(&mut errors, "reason", "取消原因", reason, 500);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let after = Meeting {
        state: MeetingState::Cancelled,
        sequence: before.sequence + 1,
        cancelled_at: Some(now),
        cancel_reason: reason,
        updated_at: now,
        version: before.version + 1,
        ..before.clone()
    };
    let change = Change {
        entity_type: "consultation",
        entity_id: &after.id,
        action: "cancel",
        before: Some(serde_json::json!({"state": before.state.code()})),
        after: Some(serde_json::json!({"state": "cancelled", "reason": after.cancel_reason})),
    };
    send_out(conn, who, now, &before, &after, change, "会商取消通知")?;
    Ok(after)
}

/// The office reminds the invitees that have not answered, each once; how many were told.
pub fn remind(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<usize> {
    let m = open_for_change(conn, who, id)?;
    if now >= m.starts_at {
        return Err(AppError::InvalidTransition(
            "会商已经开始，未答复的单位记为缺席。".into(),
        ));
    }
    let waiting: Vec<Invitee> = store::invitees(conn, id)?
        .into_iter()
        .filter(|i| i.answer == Answer::Pending && i.reminded_at.is_none())
        .collect();
    if waiting.is_empty() {
        return Err(AppError::InvalidTransition(
            "没有需要提醒的单位：都已答复，或已提醒过一次。".into(),
        ));
    }
    let audience = calendar::audience_of(conn, &waiting)?;
    let units: Vec<(String, String)> = waiting
        .iter()
        .map(|i| (i.kind.code().to_owned(), i.unit.clone()))
        .collect();
    store::mark_reminded(conn, id, &units, now)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &audience,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("请确认参会：{} {}", m.number, m.topic),
            body: format!(
                "会商“{}”定于 {} 召开，贵单位尚未报到。请在会商页面填写参会人员，或说明不能参会的原因。",
                m.topic,
                shown(m.starts_at).replace('T', " ")
            ),
            link: format!("/consultations/{}", m.id),
            entity_type: "consultation",
            entity_id: &m.id,
        },
    )?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: &m.id,
            action: "remind",
            before: None,
            after: Some(
                serde_json::json!({"units": units.iter().map(|(_, u)| u).collect::<Vec<_>>()}),
            ),
        },
    )?;
    Ok(waiting.len())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// The invited unit (department or township code) or, for a person, their user id;
    /// default: the reader's own unit.
    pub unit: Option<String>,
    pub attending: bool,
    #[serde(default)]
    pub attendee_name: String,
    #[serde(default)]
    pub reason: String,
}

/// 报到: an invited unit names its attendee, or declines with a reason, before the start.
pub fn attend(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: Attendance,
) -> AppResult<Invitee> {
    let m = load(conn, who, id)?;
    if !m.state.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "会商 {} {}，不再报到。",
            m.number,
            m.state.label()
        )));
    }
    if now >= m.starts_at {
        return Err(AppError::InvalidTransition(
            "会商已经开始，不能再报到；未答复的单位记为缺席。".into(),
        ));
    }
    let wanted = input
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let all = store::invitees(conn, id)?;
    let mine: Vec<&Invitee> = all
        .iter()
        .filter(|i| policy::answers_for(who, i.kind, &i.unit))
        .filter(|i| wanted.is_none_or(|w| i.unit.eq_ignore_ascii_case(w)))
        .collect();
    let Some(invitee) = mine.first() else {
        return Err(AppError::field(
            "unit",
            "本单位（或本人）不在这次会商的邀请名单中",
        ));
    };
    let mut errors = Vec::new();
    let attendee_name = input.attendee_name.trim().to_owned();
    let reason = input.reason.trim().to_owned();
    if input.attending && (attendee_name.is_empty() || attendee_name.chars().count() > 100) {
        errors.push(FieldError::new(
            "attendee_name",
            "请填写参会人员姓名（100 字以内）",
        ));
    }
    if !input.attending && (reason.is_empty() || reason.chars().count() > 500) {
        errors.push(FieldError::new(
            "reason",
            "请写明不能参会的原因（500 字以内）",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let after = Invitee {
        answer: if input.attending {
            Answer::Attending
        } else {
            Answer::Declined
        },
        attendee_name,
        reason,
        answered_by: Some(who.id.clone()),
        answered_at: Some(now),
        ..(*invitee).clone()
    };
    store::answer(conn, &after)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: &m.id,
            action: "attend",
            before: Some(
                serde_json::json!({"unit": invitee.unit, "answer": invitee.answer.code()}),
            ),
            after: Some(
                serde_json::json!({"unit": after.unit, "answer": after.answer.code(),
                "attendee_name": after.attendee_name, "reason": after.reason}),
            ),
        },
    )?;
    Ok(after)
}

/// 报到 by answering the invitation email: the meeting by its number (from the subject or
/// the reply address), the answer as read from the reply (`rules::read_answer`); the
/// attendee is the sender unless the reply names one. The same checks as on the page.
pub fn answer_by_email(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    number: &str,
    answer: rules::EmailAnswer,
) -> AppResult<(Meeting, Invitee)> {
    let m = store::find_by_number(conn, number)?
        .ok_or_else(|| AppError::NotFound(format!("没有编号为 {number} 的会商。")))?;
    let invitee = attend(
        conn,
        who,
        now,
        &m.id,
        Attendance {
            unit: None,
            attending: answer.attending,
            attendee_name: match (answer.attending, answer.attendee_name) {
                (false, _) => String::new(),
                (true, Some(name)) => name,
                (true, None) => who.display_name.clone(),
            },
            reason: answer.reason,
        },
    )?;
    Ok((m, invitee))
}

/// The number of the meeting an outbox message is about, from the page it links to.
pub fn number_of_linked(conn: &mut DbConnection, link: &str) -> AppResult<Option<String>> {
    let Some(id) = link.strip_prefix("/consultations/") else {
        return Ok(None);
    };
    let id = id.split(['/', '?']).next().unwrap_or_default();
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    Ok(store::find(conn, id)?.map(|m| m.number))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    /// true: only meetings not yet over.
    pub upcoming: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Meetings soonest first: all for the office, the reader's invitations for others.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    q: &MeetingQuery,
) -> AppResult<(Vec<Meeting>, Option<String>)> {
    authz::require(who, Action::ViewConsultations)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "每页 1 到 200 条"));
    }
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let parsed = c.split_once('|').and_then(|(t, id)| {
                NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
                    .ok()
                    .map(|t| (t, id.to_owned()))
            });
            Some(parsed.ok_or_else(|| AppError::field("cursor", "翻页标记无效"))?)
        }
    };
    let own = policy::own_units(who);
    let units = (!policy::reads_all(who)).then_some(own.as_slice());
    let from = q
        .upcoming
        .unwrap_or(false)
        .then(|| now - Duration::hours(12));
    let mut rows = store::list(conn, from, units, after, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|m| format!("{}|{}", m.starts_at.format("%Y-%m-%dT%H:%M:%S"), m.id))
            .unwrap_or_default()
    });
    Ok((rows, next))
}
