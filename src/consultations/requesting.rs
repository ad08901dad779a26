//! 提请会商: a member unit (or the office) asks for a consultation on a problem, linking the
//! leads, mines and hazards it is about; the office sees the requests and convenes them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::rules::RequestState;
use super::store::{self, Request};
use super::{policy, text};
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub topic: String,
    pub reason: String,
    #[serde(default)]
    pub lead_ids: Vec<String>,
    #[serde(default)]
    pub mine_ids: Vec<String>,
    #[serde(default)]
    pub hazard_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub id: String,
    pub topic: String,
    pub reason: String,
    pub department: Option<String>,
    pub lead_ids: Vec<String>,
    pub mine_ids: Vec<String>,
    pub hazard_ids: Vec<String>,
    pub state: RequestState,
    pub state_label: &'static str,
    pub consultation_id: Option<String>,
    /// 不予会商: the office's reason (empty while the request stands).
    pub decline_reason: String,
    pub declined_at: Option<String>,
    pub created_at: String,
}

fn ids(csv: &str) -> Vec<String> {
    csv.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Request {
    pub fn view(&self) -> RequestView {
        RequestView {
            id: self.id.clone(),
            topic: self.topic.clone(),
            reason: self.reason.clone(),
            department: self.department.clone(),
            lead_ids: ids(&self.lead_ids),
            mine_ids: ids(&self.mine_ids),
            hazard_ids: ids(&self.hazard_ids),
            state: self.state,
            state_label: self.state.label(),
            consultation_id: self.consultation_id.clone(),
            decline_reason: self.decline_reason.clone(),
            declined_at: self.declined_at.map(crate::platform::clock::rfc3339),
            created_at: crate::platform::clock::rfc3339(self.created_at),
        }
    }
}

/// The ids as given, each checked to exist (by `exists`), at most 20.
fn linked(
    errors: &mut Vec<FieldError>,
    field: &str,
    what: &str,
    given: &[String],
    mut exists: impl FnMut(&str) -> AppResult<bool>,
) -> AppResult<Vec<String>> {
    if given.len() > 20 {
        errors.push(FieldError::new(field, format!("最多关联 20 个{what}")));
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for id in given.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if out.iter().any(|o| o == id) {
            continue;
        }
        if id.len() > 64 || !exists(id)? {
            errors.push(FieldError::new(field, format!("没有这个{what}：{id}")));
        } else {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// A member unit asks for a consultation (专题会商); the coordination office is told.
pub fn request(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewRequest,
) -> AppResult<Request> {
    if !policy::may_request(who) {
        return Err(AppError::Forbidden(
            "提请会商由成员单位的负责人或工作人员、或区协调办提出。".into(),
        ));
    }
    let mut errors = Vec::new();
    let topic = text(&mut errors, "topic", "会商议题", &input.topic, 200);
    let reason = text(&mut errors, "reason", "提请理由", &input.reason, 2000);
    let leads = linked(
        &mut errors,
        "lead_ids",
        "问题线索",
        &input.lead_ids,
        |id| Ok(crate::leads::find(conn, id).is_ok()),
    )?;
    let mines = linked(&mut errors, "mine_ids", "矿山", &input.mine_ids, |id| {
        Ok(crate::register::mines::find(conn, id).is_ok())
    })?;
    let hazards = linked(
        &mut errors,
        "hazard_ids",
        "隐患",
        &input.hazard_ids,
        |id| crate::inspections::hazard_exists(conn, id),
    )?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let r = insert(conn, who, now, topic, reason, leads, mines, hazards)?;
    let unit = who
        .department
        .as_deref()
        .map(|d| crate::reference::unit_name(conn, d))
        .unwrap_or_else(|| "区协调办".into());
    let office = crate::accounts::recipients::coordinators(conn)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &office,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("{unit}提请会商：{}", r.topic),
            body: format!("{unit}提请会商“{}”。理由：{}", r.topic, r.reason),
            link: "/consultations".into(),
            entity_type: "consultation_request",
            entity_id: &r.id,
        },
    )?;
    Ok(r)
}

/// Stores a new pending request and its audit entry.
#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    topic: String,
    reason: String,
    leads: Vec<String>,
    mines: Vec<String>,
    hazards: Vec<String>,
) -> AppResult<Request> {
    let r = Request {
        id: uuid::Uuid::now_v7().to_string(),
        topic,
        reason,
        department: who.department.clone(),
        lead_ids: leads.join(","),
        mine_ids: mines.join(","),
        hazard_ids: hazards.join(","),
        state: RequestState::Pending,
        consultation_id: None,
        requested_by: Some(who.id.clone()),
        created_at: now,
        updated_at: now,
        decline_reason: String::new(),
        declined_by: None,
        declined_at: None,
    };
    store::insert_request(conn, &r)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation_request",
            entity_id: &r.id,
            action: "create",
            before: None,
            after: Some(serde_json::json!({"topic": r.topic, "reason": r.reason,
                "leads": leads, "mines": mines, "hazards": hazards})),
        },
    )?;
    Ok(r)
}

/// 提请会商 from a lead (its primary department, or the office on a dispute it could not
/// settle): the lead is marked and the office told (leads' own step), and the request waits
/// among the others, about that lead and its mine.
pub fn request_from_lead(
    conn: &mut DbConnection,
    who: &Principal,
    lead_id: &str,
    input: crate::leads::actions::ReasonInput,
    now: NaiveDateTime,
) -> AppResult<Request> {
    let reason = input.reason.clone().unwrap_or_default().trim().to_owned();
    let lead = crate::leads::actions::escalate(conn, who, lead_id, input, now)?;
    let topic: String = format!("{} {}", lead.number, lead.title)
        .chars()
        .take(200)
        .collect();
    let mines = lead.mine_id.iter().cloned().collect();
    insert(
        conn,
        who,
        now,
        topic,
        reason,
        vec![lead.id],
        mines,
        Vec::new(),
    )
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    /// Why no consultation is held (不予会商的理由).
    pub reason: Option<String>,
}

/// 不予会商: the office declines a pending request with its reason. The requester and the
/// requesting unit's head are told; a lead put to consultation says so on its timeline and
/// may be put to a consultation again.
pub fn decline(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: DeclineInput,
) -> AppResult<Request> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("是否安排会商由区协调办决定。".into()));
    }
    let r = store::find_request(conn, id)?
        .ok_or_else(|| AppError::NotFound("没有这个会商申请。".into()))?;
    if r.state != RequestState::Pending {
        return Err(AppError::InvalidTransition(format!(
            "这个会商申请{}，不能再作不予会商处理。",
            r.state.label()
        )));
    }
    let mut errors = Vec::new();
    let reason = text(
        &mut errors,
        "reason",
        "不予会商的理由",
        input.reason.as_deref().unwrap_or_default(),
        1000,
    );
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if !store::decline_request(conn, id, &reason, &who.id, now)? {
        return Err(AppError::Conflict(
            "会商申请已被他人处理，请刷新后再看。".into(),
        ));
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "consultation_request",
            entity_id: id,
            action: "decline",
            before: Some(serde_json::json!({"state": r.state.code()})),
            after: Some(serde_json::json!({"state": RequestState::Declined.code(),
                "reason": reason})),
        },
    )?;
    for lead in ids(&r.lead_ids) {
        crate::leads::actions::consultation_declined(conn, who, &lead, &reason, now)?;
    }
    let mut told: Vec<String> = r.requested_by.iter().cloned().collect();
    if let Some(d) = &r.department {
        told.extend(crate::accounts::recipients::heads_of(conn, d)?);
    }
    told.sort();
    told.dedup();
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &told,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("会商申请不予安排：{}", r.topic),
            body: format!("区协调办决定“{}”不予会商。理由：{reason}", r.topic),
            link: format!("/consultation-requests/{id}"),
            entity_type: "consultation_request",
            entity_id: id,
        },
    )?;
    Ok(store::find_request(conn, id)?.unwrap_or(r))
}

/// One request, for the office or the unit that asked.
pub fn find_request(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Request> {
    let r = store::find_request(conn, id)?
        .ok_or_else(|| AppError::NotFound("没有这个会商申请。".into()))?;
    if policy::reads_all(who) || (r.department.is_some() && r.department == who.department) {
        Ok(r)
    } else {
        Err(AppError::NotFound("没有这个会商申请。".into()))
    }
}

pub fn requests(
    conn: &mut DbConnection,
    who: &Principal,
    state: Option<&str>,
) -> AppResult<Vec<Request>> {
    if !policy::reads_all(who) && !policy::may_request(who) {
        return Err(AppError::Forbidden("无权查看会商申请。".into()));
    }
    let state = match state.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
            AppError::field("state", format!("状态只能是 {}", RequestState::codes()))
        })?),
    };
    let all = store::requests(conn, state, 200)?;
    Ok(if policy::reads_all(who) {
        all
    } else {
        all.into_iter()
            .filter(|r| r.department == who.department)
            .collect()
    })
}
