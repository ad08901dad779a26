//! 会议纪要: after the meeting the coordination office records who was present, what was
//! said on each agenda item and the decisions (议定事项); the office's head approves the
//! minutes, which publishes them to everyone invited and enters the decisions in the
//! ledger (建账). Approved minutes never change: corrections are appended as 补充纪要.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::ledger::{self, DecisionView};
use super::rules::{DecisionKind, DecisionState, MeetingState, MinutesState};
use super::store::ledger::{self as rows, Decision, Minutes, Supplement};
use super::store::{self, Meeting};
use super::{calendar, load, local, policy, text};
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub text: String,
    /// The department responsible (主责单位).
    pub responsible_unit: String,
    #[serde(default)]
    pub cooperating_units: Vec<String>,
    /// YYYY-MM-DD.
    pub due_on: String,
    /// task | inspection | closure | enforcement | lead
    pub kind: String,
    /// The mine it is about; required for inspection, closure and enforcement.
    pub mine_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinutesInput {
    /// The people present, by name (with their unit if wished).
    pub attendees: Vec<String>,
    pub discussion: String,
    /// What was said on each agenda item, in agenda order.
    #[serde(default)]
    pub agenda_notes: Vec<String>,
    #[serde(default)]
    pub decisions: Vec<NewDecision>,
    /// The draft's version as read; a stale one is refused.
    pub version: Option<i32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupplementView {
    pub position: i32,
    pub text: String,
    pub written_by: String,
    pub written_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MinutesView {
    pub consultation_id: String,
    pub state: MinutesState,
    pub state_label: &'static str,
    pub attendees: Vec<String>,
    pub discussion: String,
    pub agenda_notes: Vec<String>,
    pub drafted_by: String,
    pub drafted_at: String,
    pub approved_by: String,
    pub approved_at: Option<String>,
    pub decisions: Vec<DecisionView>,
    pub supplements: Vec<SupplementView>,
    pub version: i32,
}

fn shown(t: NaiveDateTime) -> String {
    local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The minutes of a meeting the reader may read, if any were recorded.
pub fn minutes_of(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<Option<MinutesView>> {
    load(conn, who, id)?;
    let Some(m) = rows::minutes(conn, id)? else {
        return Ok(None);
    };
    let decisions = rows::decisions_of(conn, id)?;
    let supplements = rows::supplements(conn, id)?;
    let mut people: Vec<String> = [&m.drafted_by, &m.approved_by]
        .into_iter()
        .flatten()
        .cloned()
        .chain(supplements.iter().filter_map(|s| s.written_by.clone()))
        .collect();
    people.sort();
    people.dedup();
    let names = crate::accounts::names(conn, &people)?;
    let name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| names.get(i).cloned())
            .unwrap_or_default()
    };
    Ok(Some(MinutesView {
        consultation_id: m.consultation_id.clone(),
        state: m.state,
        state_label: m.state.label(),
        attendees: m.attendees.lines().map(str::to_owned).collect(),
        discussion: m.discussion.clone(),
        agenda_notes: serde_json::from_str(&m.agenda_notes).unwrap_or_default(),
        drafted_by: name(&m.drafted_by),
        drafted_at: shown(m.drafted_at),
        approved_by: name(&m.approved_by),
        approved_at: m.approved_at.map(shown),
        decisions: ledger::views(conn, &decisions, shanghai_date(now))?,
        supplements: supplements
            .iter()
            .map(|s| SupplementView {
                position: s.position,
                text: s.body.clone(),
                written_by: name(&s.written_by),
                written_at: shown(s.written_at),
            })
            .collect(),
        version: m.version,
    }))
}

/// The decisions as given, checked: each names a text, an active responsible department,
/// a deadline from `today` on, a kind and (for what opens a mine's case) the mine.
fn decisions_from(
    conn: &mut DbConnection,
    errors: &mut Vec<FieldError>,
    meeting: &Meeting,
    today: NaiveDate,
    now: NaiveDateTime,
    input: &[NewDecision],
) -> AppResult<Vec<Decision>> {
    let active = |conn: &mut DbConnection, code: &str| -> AppResult<bool> {
        Ok(crate::reference::find_department(conn, code)?.is_some_and(|d| d.active != 0))
    };
    let mut out = Vec::new();
    for (n, d) in input.iter().enumerate() {
        let f = |name: &str| format!("decisions[{n}].{name}");
        let body = d.text.trim().to_owned();
        if body.is_empty() || body.chars().count() > 2000 {
            errors.push(FieldError::new(
                f("text"),
                "请写明议定事项的内容（2000 字以内）",
            ));
        }
        let unit = d.responsible_unit.trim().to_uppercase();
        if unit.is_empty() {
            errors.push(FieldError::new(
                f("responsible_unit"),
                "每项议定事项须指定一个主责单位",
            ));
        } else if !active(conn, &unit)? {
            errors.push(FieldError::new(
                f("responsible_unit"),
                format!("没有在用的成员单位 {unit}"),
            ));
        }
        let mut cooperating: Vec<String> = Vec::new();
        if d.cooperating_units.len() > super::rules::MAX_COOPERATING {
            errors.push(FieldError::new(
                f("cooperating_units"),
                format!("配合单位不超过 {} 个", super::rules::MAX_COOPERATING),
            ));
        } else {
            for c in &d.cooperating_units {
                let c = c.trim().to_uppercase();
                if c.is_empty() || c == unit || cooperating.contains(&c) {
                    continue;
                }
                if !active(conn, &c)? {
                    errors.push(FieldError::new(
                        f("cooperating_units"),
                        format!("没有在用的成员单位 {c}"),
                    ));
                }
                cooperating.push(c);
            }
        }
        let due = NaiveDate::parse_from_str(d.due_on.trim(), "%Y-%m-%d").ok();
        match due {
            None => errors.push(FieldError::new(
                f("due_on"),
                "每项议定事项须有完成时限，格式如 2026-04-30",
            )),
            Some(day) if day < today => {
                errors.push(FieldError::new(f("due_on"), "完成时限不能早于今天"))
            }
            Some(day) if (day - today).num_days() > super::rules::MAX_DUE_DAYS => {
                errors.push(FieldError::new(f("due_on"), "完成时限不超过三年"))
            }
            Some(_) => {}
        }
        let kind = DecisionKind::parse(d.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new(
                f("kind"),
                format!("事项类别只能是 {}", DecisionKind::codes()),
            ));
        }
        let mine = d
            .mine_id
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        if let Some(m) = &mine {
            match crate::register::mines::find(conn, m) {
                Ok(_) => {}
                Err(AppError::NotFound(_)) => {
                    errors.push(FieldError::new(f("mine_id"), "没有这座矿山"))
                }
                Err(e) => return Err(e),
            }
        } else if kind.is_some_and(DecisionKind::needs_mine) {
            errors.push(FieldError::new(
                f("mine_id"),
                "联合检查、联合执法和关闭退出事项须指明矿山",
            ));
        }
        if let (Some(due_on), Some(kind)) = (due, kind) {
            let position = n as i32 + 1;
            out.push(Decision {
                id: uuid::Uuid::now_v7().to_string(),
                consultation_id: meeting.id.clone(),
                position,
                number: format!("{}-{position}", meeting.number),
                body,
                kind,
                responsible_unit: unit,
                cooperating_units: cooperating.join(","),
                mine_id: mine,
                due_on,
                state: DecisionState::Draft,
                percent: 0,
                opened_type: None,
                opened_id: None,
                entered_at: None,
                closed_at: None,
                escalated_at: None,
                created_at: now,
                updated_at: now,
                version: 1,
            });
        }
    }
    Ok(out)
}

/// The office records (or corrects) the draft minutes of a meeting that has begun.
pub fn put(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: MinutesInput,
) -> AppResult<MinutesView> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("会议纪要由区协调办起草。".into()));
    }
    let meeting = load(conn, who, id)?;
    if meeting.state == MeetingState::Cancelled {
        return Err(AppError::InvalidTransition(
            "会商已取消，没有会议纪要。".into(),
        ));
    }
    if now < meeting.starts_at {
        return Err(AppError::InvalidTransition(
            "会商尚未召开，会后再起草纪要。".into(),
        ));
    }
    let before = rows::minutes(conn, id)?;
    if before
        .as_ref()
        .is_some_and(|m| m.state == MinutesState::Approved)
    {
        return Err(AppError::InvalidTransition(
            "纪要已审定印发，不能修改；如需更正，请追加补充纪要。".into(),
        ));
    }
    if let (Some(b), Some(v)) = (&before, input.version) {
        if b.version != v {
            return Err(AppError::Conflict(
                "纪要刚被其他人修改过，请刷新后重试。".into(),
            ));
        }
    }
    // Bounded before anything is looked up.
    if input.attendees.len() > super::rules::MAX_ATTENDEES {
        return Err(AppError::field(
            "attendees",
            format!("出席人员不超过 {} 人", super::rules::MAX_ATTENDEES),
        ));
    }
    if input.decisions.len() > super::rules::MAX_DECISIONS {
        return Err(AppError::field(
            "decisions",
            format!(
                "一次纪要的议定事项不超过 {} 项",
                super::rules::MAX_DECISIONS
            ),
        ));
    }
    let agenda = store::agenda(conn, id)?;
    if input.agenda_notes.len() > agenda.len().max(1) {
        return Err(AppError::field(
            "agenda_notes",
            "议程讨论情况的条数多于议程事项",
        ));
    }
    let mut errors = Vec::new();
    let attendees: Vec<String> = input
        .attendees
        .iter()
        .map(|a| a.trim().replace(['\n', '\r'], " "))
        .filter(|a| !a.is_empty())
        .collect();
    if attendees.is_empty() {
        errors.push(FieldError::new("attendees", "请填写出席人员"));
    }
    if attendees.iter().any(|a| a.chars().count() > 100) {
        errors.push(FieldError::new("attendees", "每位出席人员不超过 100 字"));
    }
    let discussion = text(
        &mut errors,
        "discussion",
        "会议讨论情况",
        &input.discussion,
        20_000,
    );
    let notes: Vec<String> = input
        .agenda_notes
        .iter()
        .map(|n| n.trim().to_owned())
        .collect();
    if notes.iter().any(|n| n.chars().count() > 5000) {
        errors.push(FieldError::new(
            "agenda_notes",
            "每项议程的讨论情况不超过 5000 字",
        ));
    }
    let today = shanghai_date(now);
    let decisions = decisions_from(conn, &mut errors, &meeting, today, now, &input.decisions)?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = Minutes {
        consultation_id: id.to_owned(),
        attendees: attendees.join("\n"),
        discussion,
        agenda_notes: serde_json::to_string(&notes).map_err(AppError::internal)?,
        state: MinutesState::Draft,
        drafted_by: Some(who.id.clone()),
        drafted_at: now,
        approved_by: None,
        approved_at: None,
        version: 1,
    };
    if !rows::put_draft(conn, before.as_ref(), &m, &decisions)? {
        return Err(AppError::Conflict(
            "纪要刚被其他人修改或已审定，请刷新后重试。".into(),
        ));
    }
    if meeting.state == MeetingState::Scheduled {
        let held = Meeting {
            state: MeetingState::Held,
            updated_at: now,
            version: meeting.version + 1,
            ..meeting.clone()
        };
        if !store::save(conn, &meeting, &held)? {
            return Err(AppError::Conflict(
                "该会商刚被其他人修改过，请刷新后重试。".into(),
            ));
        }
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: id,
            action: "minutes",
            before: before
                .as_ref()
                .map(|b| serde_json::json!({"attendees": b.attendees, "discussion": b.discussion})),
            after: Some(
                serde_json::json!({"attendees": m.attendees, "discussion": m.discussion,
                "agenda_notes": notes,
                "decisions": decisions.iter().map(|d| serde_json::json!({"number": d.number,
                    "text": d.body, "kind": d.kind.code(), "responsible_unit": d.responsible_unit,
                    "cooperating_units": d.cooperating_units, "due_on": d.due_on.to_string(),
                    "mine_id": d.mine_id})).collect::<Vec<_>>()}),
            ),
        },
    )?;
    minutes_of(conn, who, now, id)?.ok_or_else(|| AppError::internal("minutes just written"))
}

/// The office's head approves the draft: the minutes are published to everyone invited,
/// the meeting is minuted and each decision enters the ledger (建账), its responsible and
/// cooperating units told.
pub fn approve(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<MinutesView> {
    if !policy::is_office_head(who) {
        return Err(AppError::Forbidden(
            "会议纪要由协调办（区自然资源分局）负责人审定。".into(),
        ));
    }
    let meeting = load(conn, who, id)?;
    let Some(draft) = rows::minutes(conn, id)? else {
        return Err(AppError::InvalidTransition(
            "这次会商还没有起草纪要。".into(),
        ));
    };
    if draft.state == MinutesState::Approved || !rows::approve(conn, id, &who.id, now)? {
        return Err(AppError::InvalidTransition(
            "纪要已审定印发，不能再次审定。".into(),
        ));
    }
    let minuted = Meeting {
        state: MeetingState::Minuted,
        updated_at: now,
        version: meeting.version + 1,
        ..meeting.clone()
    };
    if !store::save(conn, &meeting, &minuted)? {
        return Err(AppError::Conflict(
            "该会商刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    let decisions = rows::decisions_of(conn, id)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: id,
            action: "approve_minutes",
            before: Some(serde_json::json!({"minutes": "draft"})),
            after: Some(serde_json::json!({"minutes": "approved",
                "decisions": decisions.iter().map(|d| &d.number).collect::<Vec<_>>()})),
        },
    )?;
    let invitees = store::invitees(conn, id)?;
    let mut audience = calendar::audience_of(conn, &invitees)?;
    audience.extend(crate::accounts::recipients::coordinators(conn)?);
    audience.sort();
    audience.dedup();
    let link = format!("/consultations/{id}/minutes");
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &audience,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("会议纪要印发：{} {}", meeting.number, meeting.topic),
            body: format!(
                "会商“{}”的会议纪要已经审定印发，共 {} 项议定事项。请打开链接查阅或打印纪要；\
                 贵单位主责的事项已列入督办台账，请按时限办理，并于每月6日前报送上月进展。",
                meeting.topic,
                decisions.len()
            ),
            link,
            entity_type: "consultation",
            entity_id: id,
        },
    )?;
    ledger::tell_entered(conn, who, now, &meeting, &decisions)?;
    minutes_of(conn, who, now, id)?.ok_or_else(|| AppError::internal("minutes just approved"))
}

/// The office appends a correction (补充纪要) to approved minutes; everyone invited hears.
pub fn supplement(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    body: &str,
) -> AppResult<Supplement> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("补充纪要由区协调办起草。".into()));
    }
    let meeting = load(conn, who, id)?;
    let approved = rows::minutes(conn, id)?.is_some_and(|m| m.state == MinutesState::Approved);
    if !approved {
        return Err(AppError::InvalidTransition(
            "纪要审定印发后才能追加补充纪要；尚未审定的纪要可直接修改。".into(),
        ));
    }
    let mut errors = Vec::new();
    let body = text(&mut errors, "text", "补充纪要的内容", body, 5000);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let position = rows::add_supplement(conn, id, &body, &who.id, now)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation",
            entity_id: id,
            action: "supplement",
            before: None,
            after: Some(serde_json::json!({"position": position, "text": body})),
        },
    )?;
    let invitees = store::invitees(conn, id)?;
    let audience = calendar::audience_of(conn, &invitees)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &audience,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("补充纪要：{} {}", meeting.number, meeting.topic),
            body: format!("会商“{}”的会议纪要有补充：{body}", meeting.topic),
            link: format!("/consultations/{id}/minutes"),
            entity_type: "consultation",
            entity_id: id,
        },
    )?;
    Ok(Supplement {
        consultation_id: id.to_owned(),
        position,
        body,
        written_by: Some(who.id.clone()),
        written_at: now,
    })
}

/// Minutes waiting for the head's approval: `(meeting, drafted_at)`, oldest first.
pub fn awaiting_approval(
    conn: &mut DbConnection,
    limit: i64,
) -> AppResult<Vec<(Meeting, NaiveDateTime)>> {
    let drafts = rows::drafts(conn, limit)?;
    let ids: Vec<String> = drafts.iter().map(|d| d.consultation_id.clone()).collect();
    let meetings = store::find_many(conn, &ids)?;
    Ok(drafts
        .iter()
        .filter_map(|d| {
            meetings
                .iter()
                .find(|m| m.id == d.consultation_id)
                .map(|m| (m.clone(), d.drafted_at))
        })
        .collect())
}
