//! The side paths of a lead: transfer (转办) and its answer, a disputed transfer decided
//! by the coordination office, a request for consultation (提请会商), and, once closed, the
//! raising township's evaluation (满意度) and its one reopening.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::leads::policy;
use crate::leads::rules::{LeadState, Stage, EVALUATIONS};
use crate::leads::store::leads as rows;
use crate::leads::store::transfers as store;
pub use crate::leads::store::transfers::{Evaluation, Transfer};
use crate::leads::{find_visible, refresh_next_due, text, unit_of, write_event, EventActor, Lead};
use crate::notify::Notice;
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

fn is_staff_of(who: &Principal, department: &str) -> bool {
    policy::may_handle(who, department)
}

fn open_transfer(conn: &mut DbConnection, lead_id: &str) -> AppResult<Option<Transfer>> {
    store::open_transfer(conn, lead_id)
}

pub fn transfers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Transfer>> {
    store::transfers(conn, lead_id)
}

pub fn evaluations(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Evaluation>> {
    store::evaluations(conn, lead_id)
}

/// Bumps the lead's version guarded by the one read: of two concurrent side steps exactly
/// one goes through.
fn bump(conn: &mut DbConnection, lead: &Lead, now: NaiveDateTime) -> AppResult<()> {
    if !rows::bump(conn, lead, now)? {
        return Err(stale());
    }
    Ok(())
}

fn stale() -> AppError {
    AppError::Conflict("线索已被他人更新，请刷新后再办理。".into())
}

/// What a side step did, in the one shape every side step ends with: a line on the
/// lead's timeline, the audit entry, and a progress notice to those concerned.
struct Done<'a> {
    /// The kind of the timeline line and its note and details.
    event: &'a str,
    note: &'a str,
    details: serde_json::Value,
    /// The audit action and what it records.
    action: &'a str,
    audited: serde_json::Value,
    /// Who is told: the staff of these departments, the coordination office if asked,
    /// and these people.
    departments: Vec<String>,
    coordinators: bool,
    people: Vec<String>,
    title: String,
    body: String,
}

/// Records and tells what a side step did (see [`Done`]).
fn finish(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    lead: &Lead,
    done: Done<'_>,
) -> AppResult<()> {
    write_event(
        conn,
        &lead.id,
        now,
        &EventActor::of(who),
        done.event,
        done.note,
        done.details,
    )?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "lead",
            entity_id: &lead.id,
            action: done.action,
            before: None,
            after: Some(done.audited),
        },
    )?;
    let mut recipients = done.people;
    if !done.departments.is_empty() {
        recipients.extend(crate::accounts::recipients::departments_and_township(
            conn,
            &done.departments,
            None,
        )?);
    }
    if done.coordinators {
        recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    }
    recipients.sort();
    recipients.dedup();
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &recipients,
        &Notice {
            kind: crate::notify::NoticeKind::LeadProgress,
            title: done.title,
            body: done.body,
            link: format!("/leads/{}", lead.id),
            entity_type: "lead",
            entity_id: &lead.id,
        },
    )?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The department that should handle the lead instead.
    pub to_department: Option<String>,
    pub reason: Option<String>,
}

/// 转办: the primary department hands the lead to another, with a reason. The lead waits
/// for the receiver's answer.
pub fn transfer(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: TransferInput,
    now: NaiveDateTime,
) -> AppResult<Transfer> {
    let lead = find_visible(conn, who, id)?;
    if !is_staff_of(who, &lead.primary_department) {
        return Err(AppError::Forbidden(
            "只有主办部门的工作人员可以转办。".into(),
        ));
    }
    if !lead.state().is_open() {
        return Err(AppError::InvalidTransition("线索已办结，不能转办。".into()));
    }
    if lead.transfer_state.is_some() {
        return Err(AppError::InvalidTransition(
            "线索已在转办中，待接收部门确认。".into(),
        ));
    }
    let mut errors = Vec::new();
    let reason = text(&mut errors, "reason", "转办理由", input.reason, 1000);
    let to = input.to_department.unwrap_or_default().trim().to_owned();
    if to.is_empty() {
        errors.push(FieldError::new("to_department", "请选择接收部门"));
    } else if to == lead.primary_department {
        errors.push(FieldError::new("to_department", "不能转给本部门"));
    } else if crate::reference::find_department(conn, &to)?.is_none() {
        errors.push(FieldError::new("to_department", format!("没有部门 {to}")));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    bump(conn, &lead, now)?;
    let t = Transfer {
        id: uuid::Uuid::now_v7().to_string(),
        lead_id: id.to_owned(),
        from_department: lead.primary_department.clone(),
        to_department: to.clone(),
        reason: reason.clone(),
        status: "pending".into(),
        requested_by: Some(who.id.clone()),
        requested_at: now,
        answer_note: String::new(),
        answered_by: None,
        answered_at: None,
        decided_department: None,
        decided_by: None,
        decided_at: None,
    };
    store::insert(conn, &t)?;
    rows::set_transfer_state(conn, id, Some("pending"))?;
    // The receiver sees the lead in its queue while it decides.
    rows::remove_party(conn, id, &to)?;
    rows::add_party(
        conn,
        id,
        &to,
        "receiving",
        (lead.raised_at, lead.next_due_at),
    )?;
    let to_name = crate::reference::unit_name(conn, &to);
    let unit = crate::reference::unit_name(conn, &lead.primary_department);
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "transfer",
            note: &reason,
            details: serde_json::json!({"to": to}),
            action: "transfer",
            audited: serde_json::json!({"to": to, "reason": reason}),
            departments: vec![to.clone()],
            coordinators: true,
            people: Vec::new(),
            title: format!("{} 转办给{to_name}，请确认：{}", lead.number, lead.title),
            body: format!(
                "{unit}将线索“{}”转办给{to_name}。理由：{reason}。请接收或提出异议。",
                lead.title
            ),
        },
    )?;
    Ok(t)
}

/// Makes `department` the primary one: the lead's row and its parties. A department that
/// accepts a transfer (`reports_in`) thereby reports in, if nobody had yet; one assigned by
/// the coordination office's decision still reports in itself.
fn hand_over(
    conn: &mut DbConnection,
    lead: &Lead,
    department: &str,
    reports_in: bool,
    now: NaiveDateTime,
) -> AppResult<()> {
    drop_receiving(conn, &lead.id, &lead.assisting())?;
    let mut assisting = lead.assisting();
    assisting.retain(|d| d != department);
    rows::remove_party(conn, &lead.id, &lead.primary_department)?;
    rows::remove_party(conn, &lead.id, department)?;
    rows::add_party(
        conn,
        &lead.id,
        department,
        "primary",
        (lead.raised_at, lead.next_due_at),
    )?;
    let acknowledged = lead.state() != LeadState::Routed || !reports_in;
    let state = if acknowledged {
        lead.state
    } else {
        LeadState::Acknowledged
    };
    rows::set_primary(conn, &lead.id, department, &assisting, state)?;
    if !acknowledged {
        rows::meet(conn, &lead.id, Some(Stage::Acknowledge), now)?;
    }
    refresh_next_due(conn, &lead.id, now)
}

/// Removes the receiving department of a transfer from the lead's parties, unless it
/// assists on the lead anyway.
fn drop_receiving(conn: &mut DbConnection, lead_id: &str, assisting: &[String]) -> AppResult<()> {
    rows::remove_role(conn, lead_id, "receiving")?;
    let keys = rows::keys_of(conn, lead_id)?;
    for d in assisting {
        if !rows::is_party(conn, lead_id, d)? {
            rows::add_party(conn, lead_id, d, "assisting", keys)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// accept | dispute
    pub answer: Option<String>,
    /// Required when disputing: why it is not this department's matter.
    pub note: Option<String>,
}

/// The receiving department accepts the transfer (it becomes primary and, if nobody had
/// yet, reports in) or disputes it (the coordination office decides).
pub fn answer_transfer(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: AnswerInput,
    now: NaiveDateTime,
) -> AppResult<Transfer> {
    let lead = find_visible(conn, who, id)?;
    let t = open_transfer(conn, id)?
        .filter(|t| t.status == "pending")
        .ok_or_else(|| AppError::InvalidTransition("这条线索没有待确认的转办。".into()))?;
    if !is_staff_of(who, &t.to_department) {
        return Err(AppError::Forbidden(
            "只有接收部门的工作人员可以确认转办。".into(),
        ));
    }
    let note = input.note.unwrap_or_default().trim().to_owned();
    let answer = input.answer.unwrap_or_default();
    let status = match answer.as_str() {
        "accept" => "accepted",
        "dispute" if note.is_empty() => {
            return Err(AppError::field("note", "提出异议时请说明理由"))
        }
        "dispute" => "disputed",
        _ => {
            return Err(AppError::field(
                "answer",
                "只能是 accept（接收）或 dispute（异议）",
            ))
        }
    };
    bump(conn, &lead, now)?;
    store::answer(conn, &t.id, status, &note, &who.id, now)?;
    let to_name = crate::reference::unit_name(conn, &t.to_department);
    let accepted = status == "accepted";
    if accepted {
        hand_over(conn, &lead, &t.to_department, true, now)?;
    } else {
        rows::set_transfer_state(conn, id, Some("disputed"))?;
    }
    let (title, body) = if accepted {
        (
            format!("{} {to_name}已接收转办：{}", lead.number, lead.title),
            format!("{to_name}接收了线索“{}”，由其主办。", lead.title),
        )
    } else {
        (
            format!("{} 转办有异议，请协调办裁定：{}", lead.number, lead.title),
            format!("{to_name}对线索“{}”的转办提出异议：{note}", lead.title),
        )
    };
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: if accepted {
                "transfer_accepted"
            } else {
                "transfer_disputed"
            },
            note: &note,
            details: serde_json::json!({"department": t.to_department}),
            action: &format!("transfer_{answer}"),
            audited: serde_json::json!({"transfer": t.id, "note": note}),
            departments: vec![t.from_department.clone()],
            coordinators: true,
            people: Vec::new(),
            title,
            body,
        },
    )?;
    store::find(conn, &t.id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    /// The department that handles the lead from now: the one it came from, the one it
    /// was transferred to, or a third.
    pub department: Option<String>,
    pub note: Option<String>,
}

/// The coordination office decides a disputed transfer.
pub fn decide_transfer(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: DecideInput,
    now: NaiveDateTime,
) -> AppResult<Transfer> {
    if !policy::may_decide_disputes(who) {
        return Err(AppError::Forbidden("有异议的转办由协调办裁定。".into()));
    }
    let lead = find_visible(conn, who, id)?;
    let t = open_transfer(conn, id)?
        .filter(|t| t.status == "disputed")
        .ok_or_else(|| AppError::InvalidTransition("这条线索没有待裁定的转办异议。".into()))?;
    let mut errors = Vec::new();
    let note = text(&mut errors, "note", "裁定意见", input.note, 1000);
    let dept = input.department.unwrap_or_default().trim().to_owned();
    if dept.is_empty() {
        errors.push(FieldError::new("department", "请选择由哪个部门主办"));
    } else if crate::reference::find_department(conn, &dept)?.is_none() {
        errors.push(FieldError::new("department", format!("没有部门 {dept}")));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let status = if dept == t.to_department {
        "upheld"
    } else if dept == t.from_department {
        "overruled"
    } else {
        "reassigned"
    };
    bump(conn, &lead, now)?;
    store::decide(conn, &t.id, status, &dept, &who.id, now)?;
    if dept == lead.primary_department {
        drop_receiving(conn, id, &lead.assisting())?;
        rows::set_transfer_state(conn, id, None)?;
    } else {
        hand_over(conn, &lead, &dept, false, now)?;
    }
    let dept_name = crate::reference::unit_name(conn, &dept);
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "transfer_decided",
            note: &note,
            details: serde_json::json!({"department": dept}),
            action: "transfer_decided",
            audited: serde_json::json!({"transfer": t.id, "department": dept, "note": note}),
            departments: vec![
                t.from_department.clone(),
                t.to_department.clone(),
                dept.clone(),
            ],
            coordinators: false,
            people: Vec::new(),
            title: format!(
                "{} 协调办裁定由{dept_name}主办：{}",
                lead.number, lead.title
            ),
            body: format!(
                "协调办对线索“{}”的转办异议作出裁定：由{dept_name}主办。{note}",
                lead.title
            ),
        },
    )?;
    store::find(conn, &t.id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// The department that handles the lead (主办).
    pub department: Option<String>,
    /// Departments that assist (协办), if any.
    pub assisting_departments: Option<Vec<String>>,
    pub note: Option<String>,
}

/// 分办: the coordination office gives a lead of the category 其他 its primary (and any
/// assisting) departments. The new primary department reports in itself; the deadlines
/// run on from the whistle, as they did while the office held the lead.
pub fn dispatch(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: DispatchInput,
    now: NaiveDateTime,
) -> AppResult<Lead> {
    let lead = find_visible(conn, who, id)?;
    if !policy::is_coordination_office(who) {
        return Err(AppError::Forbidden("分办由协调办办理。".into()));
    }
    if !policy::awaits_dispatch(&lead) {
        return Err(AppError::InvalidTransition(
            "只有类别为“其他”、尚未报到的线索由协调办分办；其他线索请用转办。".into(),
        ));
    }
    let mut errors = Vec::new();
    let note = input.note.unwrap_or_default().trim().to_owned();
    if note.chars().count() > 1000 {
        errors.push(FieldError::new("note", "分办说明不超过 1000 个字符"));
    }
    let dept = input.department.unwrap_or_default().trim().to_uppercase();
    let active = |conn: &mut DbConnection, code: &str| -> AppResult<bool> {
        Ok(crate::reference::find_department(conn, code)?.is_some_and(|d| d.active != 0))
    };
    if dept.is_empty() {
        errors.push(FieldError::new("department", "请选择主办部门"));
    } else if !active(conn, &dept)? {
        errors.push(FieldError::new(
            "department",
            format!("没有在用的部门 {dept}"),
        ));
    }
    let mut assisting: Vec<String> = Vec::new();
    for a in input.assisting_departments.unwrap_or_default() {
        let a = a.trim().to_uppercase();
        if a.is_empty() || a == dept || assisting.contains(&a) {
            continue;
        }
        if !active(conn, &a)? {
            errors.push(FieldError::new(
                "assisting_departments",
                format!("没有在用的部门 {a}"),
            ));
        }
        assisting.push(a);
    }
    if assisting.len() > 8 {
        errors.push(FieldError::new(
            "assisting_departments",
            "协办部门不超过 8 个",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    bump(conn, &lead, now)?;
    for old in std::iter::once(&lead.primary_department).chain(&lead.assisting()) {
        rows::remove_party(conn, id, old)?;
    }
    let keys = (lead.raised_at, lead.next_due_at);
    rows::add_party(conn, id, &dept, "primary", keys)?;
    for a in &assisting {
        rows::add_party(conn, id, a, "assisting", keys)?;
    }
    rows::set_primary(conn, id, &dept, &assisting, LeadState::Routed)?;
    refresh_next_due(conn, id, now)?;
    let dept_name = crate::reference::unit_name(conn, &dept);
    let names: Vec<String> = assisting
        .iter()
        .map(|a| crate::reference::unit_name(conn, a))
        .collect();
    let with = if names.is_empty() {
        String::new()
    } else {
        format!("，{}协办", names.join("、"))
    };
    let mut departments = vec![dept.clone()];
    departments.extend(assisting.iter().cloned());
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "dispatched",
            note: &note,
            details: serde_json::json!({"department": dept, "assisting": assisting}),
            action: "dispatch",
            audited: serde_json::json!({"department": dept, "assisting": assisting, "note": note}),
            departments,
            coordinators: false,
            people: lead.raised_by.iter().cloned().collect(),
            title: format!(
                "{} 协调办分办由{dept_name}主办：{}",
                lead.number, lead.title
            ),
            body: format!(
                "协调办将线索“{}”分办给{dept_name}主办{with}。请主办部门按时报到。{note}",
                lead.title
            ),
        },
    )?;
    crate::leads::find(conn, id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The officer (user id or username) the lead is given to; empty to take it back.
    pub assignee: Option<String>,
    pub note: Option<String>,
}

/// 指派: the head of the primary department gives the lead to one of its officers, who
/// finds it under 我的待办; an empty assignee takes it back to the department.
pub fn assign(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: AssignInput,
    now: NaiveDateTime,
) -> AppResult<Lead> {
    let lead = find_visible(conn, who, id)?;
    if !policy::may_assign(who, &lead) {
        return Err(if lead.state().is_open() {
            AppError::Forbidden("由主办部门负责人指派本部门的工作人员办理。".into())
        } else {
            AppError::InvalidTransition("线索已办结，不能再指派。".into())
        });
    }
    let mut errors = Vec::new();
    let note = input.note.unwrap_or_default().trim().to_owned();
    if note.chars().count() > 1000 {
        errors.push(FieldError::new("note", "说明不超过 1000 个字符"));
    }
    let wanted = input.assignee.unwrap_or_default().trim().to_owned();
    let assignee = if wanted.is_empty() {
        None
    } else {
        let found = match crate::accounts::find_by_username(conn, &wanted)? {
            Some(u) => Some(u),
            None if uuid::Uuid::parse_str(&wanted).is_ok() => {
                match crate::accounts::find(conn, &wanted) {
                    Ok(u) => Some(u),
                    Err(AppError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        match found.filter(|u| {
            policy::may_be_assigned(u.role, u.active != 0, u.department.as_deref(), &lead)
        }) {
            Some(u) => Some(u),
            None => {
                errors.push(FieldError::new(
                    "assignee",
                    "只能指派给主办部门在岗的工作人员",
                ));
                None
            }
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if lead.assignee_id.as_deref() == assignee.as_ref().map(|u| u.id.as_str()) {
        return crate::leads::find(conn, id);
    }
    bump(conn, &lead, now)?;
    rows::assign(conn, id, assignee.as_ref().map(|u| u.id.as_str()), now)?;
    let (title, body, people) = match &assignee {
        Some(u) => (
            format!("{} 指派给您办理：{}", lead.number, lead.title),
            format!(
                "{}将线索“{}”指派给您办理，请按时办结。{note}",
                who.display_name, lead.title
            ),
            vec![u.id.clone()],
        ),
        None => (
            format!("{} 已收回指派：{}", lead.number, lead.title),
            format!(
                "{}收回了线索“{}”的指派，由部门统一办理。{note}",
                who.display_name, lead.title
            ),
            lead.assignee_id.iter().cloned().collect(),
        ),
    };
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "assigned",
            note: &note,
            details: serde_json::json!({"assignee": assignee.as_ref().map(|u| &u.display_name)}),
            action: "assign",
            audited: serde_json::json!({"assignee": assignee.as_ref().map(|u| &u.id), "note": note}),
            departments: Vec::new(),
            coordinators: false,
            people,
            title,
            body,
        },
    )?;
    crate::leads::find(conn, id)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: Option<String>,
}

/// 提请会商: the primary department or the coordination office puts the lead to a
/// consultation; the coordination office is told.
pub fn escalate(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: ReasonInput,
    now: NaiveDateTime,
) -> AppResult<Lead> {
    let lead = find_visible(conn, who, id)?;
    if !policy::may_escalate(who, &lead) {
        return Err(AppError::Forbidden("主办部门或协调办可以提请会商。".into()));
    }
    if !lead.state().is_open() {
        return Err(AppError::InvalidTransition(
            "线索已办结，不能提请会商。".into(),
        ));
    }
    if lead.consultation_requested_at.is_some() {
        return Err(AppError::InvalidTransition("这条线索已提请会商。".into()));
    }
    let mut errors = Vec::new();
    let reason = text(&mut errors, "reason", "提请会商的理由", input.reason, 1000);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    bump(conn, &lead, now)?;
    rows::set_consultation_requested(conn, id, now)?;
    let mut units = vec![lead.primary_department.clone()];
    units.extend(lead.assisting());
    let unit = crate::reference::unit_name(conn, &unit_of(who));
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "escalate",
            note: &reason,
            details: serde_json::json!({}),
            action: "escalate",
            audited: serde_json::json!({"reason": reason}),
            departments: units,
            coordinators: true,
            people: Vec::new(),
            title: format!("{} 提请会商：{}", lead.number, lead.title),
            body: format!(
                "{}（{}）提请就线索“{}”召开会商。理由：{reason}",
                who.display_name, unit, lead.title
            ),
        },
    )?;
    crate::leads::find(conn, id)
}

/// 不予会商: the office declined the consultation the lead was put to. The lead's timeline
/// says so with the reason, its departments are told, and it may be put to a consultation
/// again.
pub fn consultation_declined(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let lead = crate::leads::find(conn, id)?;
    if lead.consultation_requested_at.is_none() {
        return Ok(());
    }
    bump(conn, &lead, now)?;
    rows::clear_consultation_requested(conn, id)?;
    let mut units = vec![lead.primary_department.clone()];
    units.extend(lead.assisting());
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "consultation_declined",
            note: reason,
            details: serde_json::json!({}),
            action: "consultation_declined",
            audited: serde_json::json!({"reason": reason}),
            departments: units,
            coordinators: false,
            people: Vec::new(),
            title: format!("{} 不予会商：{}", lead.number, lead.title),
            body: format!("区协调办决定线索“{}”不予会商。理由：{reason}", lead.title),
        },
    )
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateInput {
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: Option<String>,
    pub comment: Option<String>,
    /// The department evaluated; by default the primary one. Each department of the lead
    /// is evaluated once.
    pub department: Option<String>,
}

/// The raising township evaluates a department's response once the lead is closed.
pub fn evaluate(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: EvaluateInput,
    now: NaiveDateTime,
) -> AppResult<Evaluation> {
    let lead = find_visible(conn, who, id)?;
    if !policy::is_raising_township(who, &lead) {
        return Err(AppError::Forbidden(
            "由提出线索的街镇评价部门的办理情况。".into(),
        ));
    }
    if lead.state() != LeadState::Closed {
        return Err(AppError::InvalidTransition("线索办结后才能评价。".into()));
    }
    let mut errors = Vec::new();
    let verdict = input.verdict.unwrap_or_default();
    if !EVALUATIONS.iter().any(|(c, _)| *c == verdict) {
        errors.push(FieldError::new(
            "verdict",
            "请选择满意（satisfied）、基本满意（basically_satisfied）或不满意（dissatisfied）",
        ));
    }
    let comment = input.comment.unwrap_or_default().trim().to_owned();
    if verdict == "dissatisfied" && comment.is_empty() {
        errors.push(FieldError::new("comment", "不满意时请写明原因"));
    }
    let department = input
        .department
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| lead.primary_department.clone());
    if department != lead.primary_department && !lead.assisting().contains(&department) {
        errors.push(FieldError::new(
            "department",
            "只能评价这条线索的主办或协办部门",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if store::evaluated(conn, id, &department)? {
        return Err(AppError::Conflict("已经评价过这个部门。".into()));
    }
    let e = Evaluation {
        lead_id: id.to_owned(),
        department: department.clone(),
        verdict: verdict.clone(),
        comment: comment.clone(),
        evaluated_by: Some(who.id.clone()),
        evaluated_at: now,
    };
    store::insert_evaluation(conn, &e)?;
    let label = EVALUATIONS
        .iter()
        .find(|(c, _)| *c == verdict)
        .map(|(_, l)| *l)
        .unwrap_or("");
    let unit = crate::reference::unit_name(conn, &lead.raised_unit);
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "evaluate",
            note: &comment,
            details: serde_json::json!({"department": department, "verdict": verdict}),
            action: "evaluate",
            audited: serde_json::json!({"department": department, "verdict": verdict, "comment": comment}),
            departments: vec![department.clone()],
            coordinators: true,
            people: Vec::new(),
            title: format!("{} 街镇评价：{label}", lead.number),
            body: format!(
                "{unit}对线索“{}”的办理评价为“{label}”。{comment}",
                lead.title
            ),
        },
    )?;
    Ok(e)
}

/// The raising township reopens a lead closed without the problem solved, once, with a
/// reason: the department verifies again, with fresh verify and close deadlines.
pub fn reopen(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: ReasonInput,
    now: NaiveDateTime,
    calendar: &crate::platform::rules::calendar::WorkingCalendar,
    limits: &crate::platform::config::LeadSettings,
) -> AppResult<Lead> {
    let lead = find_visible(conn, who, id)?;
    if !policy::is_raising_township(who, &lead) {
        return Err(AppError::Forbidden("由提出线索的街镇重新打开线索。".into()));
    }
    if lead.state() != LeadState::Closed {
        return Err(AppError::InvalidTransition("线索尚未办结。".into()));
    }
    if lead.reopened > 0 {
        return Err(AppError::InvalidTransition(
            "每条线索只能重新打开一次；如问题仍未解决，请提交新的线索或联系协调办。".into(),
        ));
    }
    let mut errors = Vec::new();
    let reason = text(&mut errors, "reason", "重新打开的理由", input.reason, 1000);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if !rows::reopen(conn, &lead, LeadState::Verifying, now)? {
        return Err(stale());
    }
    let urgency = lead.urgency;
    let l = limits.limits(urgency).map_err(AppError::internal)?;
    for stage in [Stage::Verify, Stage::Close] {
        let due = crate::leads::rules::due_at(
            now,
            l.of(stage),
            calendar,
            crate::platform::clock::shanghai(),
        )
        .ok_or_else(|| AppError::internal("节假日安排未覆盖，无法计算时限"))?;
        rows::reset_deadline(conn, id, stage, due)?;
    }
    refresh_next_due(conn, id, now)?;
    let unit = crate::reference::unit_name(conn, &lead.raised_unit);
    finish(
        conn,
        who,
        now,
        &lead,
        Done {
            event: "reopen",
            note: &reason,
            details: serde_json::json!({}),
            action: "reopen",
            audited: serde_json::json!({"reason": reason}),
            departments: vec![lead.primary_department.clone()],
            coordinators: true,
            people: Vec::new(),
            title: format!("{} 被街镇重新打开：{}", lead.number, lead.title),
            body: format!(
                "{unit}认为问题未解决，重新打开线索“{}”。理由：{reason}。请重新核查并按时办结。",
                lead.title
            ),
        },
    )?;
    crate::leads::find(conn, id)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DuplicateQuery {
    pub category: Option<String>,
    pub mine_id: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// Metres between two points given in degrees (equirectangular; exact enough at a few
/// hundred metres).
pub fn metres_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = ((a.1 + b.1) / 2.0).to_radians();
    let dx = (b.0 - a.0) * 111_320.0 * lat.cos();
    let dy = (b.1 - a.1) * 110_540.0;
    (dx * dx + dy * dy).sqrt()
}

/// Open leads of the same category on the same mine or within `radius_m` of the point,
/// among those the user may see: shown before raising a lead.
pub fn duplicates(
    conn: &mut DbConnection,
    who: &Principal,
    q: &DuplicateQuery,
    radius_m: f64,
) -> AppResult<Vec<Candidate>> {
    let Some(category) = q
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return Err(AppError::field("category", "请先选择类别"));
    };
    let mut found: Vec<Lead> = Vec::new();
    if let Some(m) = q.mine_id.as_deref().filter(|m| !m.is_empty()) {
        found.extend(rows::open_on_mine(conn, category, m, 50)?);
    }
    if let (Some(lon), Some(lat)) = (q.lon, q.lat) {
        let dlat = radius_m / 110_540.0;
        let dlon = radius_m / (111_320.0 * lat.to_radians().cos().max(0.1));
        let near = rows::open_in_box(
            conn,
            category,
            (lon - dlon, lon + dlon),
            (lat - dlat, lat + dlat),
            200,
        )?;
        found.extend(near.into_iter().filter(|l| match (l.lon, l.lat) {
            (Some(x), Some(y)) => metres_between((lon, lat), (x, y)) <= radius_m,
            _ => false,
        }));
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    // Shown to anyone about to raise a lead, whoever handles them (the point is not to
    // blow the same whistle twice), but whole only to those who may read the lead: a
    // description can carry a whistle-blower's phone number, the raiser is named.
    Ok(found
        .into_iter()
        .map(|l| Candidate {
            number: l.number.clone(),
            title: l.title.clone(),
            state: l.state,
            state_label: l.state.label(),
            lead: policy::may_view(who, &l).then_some(l),
        })
        .collect())
}

/// A possible duplicate as the person about to raise a lead sees it: enough to recognise
/// the same problem (number, title, state); the lead itself only for those who may read
/// it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub number: String,
    pub title: String,
    pub state: LeadState,
    pub state_label: &'static str,
    /// The whole lead, when the caller may read it; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<Lead>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The original lead, by number (XS-2026-000123) or id.
    pub into: Option<String>,
    pub reason: Option<String>,
}

/// Merges a duplicate into the original: the duplicate is closed as merged, both keep
/// their timelines, and the duplicate's raiser follows the original. By the primary
/// department of the original or the coordination office.
pub fn merge(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    input: MergeInput,
    now: NaiveDateTime,
) -> AppResult<Lead> {
    let dup = find_visible(conn, who, id)?;
    if !policy::may_offer_merge(who, &dup) {
        return Err(AppError::Forbidden(
            "本线索的主办部门或协调办可以合并重复线索。".into(),
        ));
    }
    let mut errors = Vec::new();
    let reason = text(&mut errors, "reason", "合并理由", input.reason, 1000);
    let into = input.into.unwrap_or_default().trim().to_owned();
    if into.is_empty() {
        errors.push(FieldError::new("into", "请填写原线索编号"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let original: Lead = rows::find_by_number_or_id(conn, &into)?
        .filter(|l| policy::may_view(who, l))
        .ok_or_else(|| AppError::field("into", format!("没有线索 {into}，或您无权查看")))?;
    if original.id == dup.id {
        return Err(AppError::field("into", "不能合并到自己"));
    }
    if !policy::may_merge(who, &dup, &original) {
        return Err(AppError::Forbidden(
            "合并须同时是两条线索的主办部门，或由协调办办理。".into(),
        ));
    }
    if !dup.state().is_open() || !original.state().is_open() {
        return Err(AppError::InvalidTransition("只能合并未办结的线索。".into()));
    }
    if original.merged_into.is_some() {
        return Err(AppError::InvalidTransition(
            "原线索本身已被合并，请合并到它所合并的线索。".into(),
        ));
    }
    if !rows::close_merged(conn, &dup, &original.id, now)? {
        return Err(stale());
    }
    rows::meet(conn, id, None, now)?;
    refresh_next_due(conn, id, now)?;
    store::withdraw_open(conn, id)?;
    if let Some(raiser) = dup
        .raised_by
        .as_deref()
        .filter(|r| Some(*r) != original.raised_by.as_deref())
    {
        rows::follow(conn, &original.id, raiser)?;
    }
    write_event(
        conn,
        &original.id,
        now,
        &EventActor::of(who),
        "merged_from",
        &reason,
        serde_json::json!({"from": dup.number}),
    )?;
    finish(
        conn,
        who,
        now,
        &dup,
        Done {
            event: "merged",
            note: &reason,
            details: serde_json::json!({"into": original.number}),
            action: "merge",
            audited: serde_json::json!({"into": original.id, "reason": reason}),
            departments: Vec::new(),
            coordinators: false,
            people: dup.raised_by.iter().cloned().collect(),
            title: format!(
                "{} 已合并到 {}：{}",
                dup.number, original.number, original.title
            ),
            body: format!(
                "您提交的线索“{}”与 {}“{}”为同一问题，已合并办理，后续进展将通知您。",
                dup.title, original.number, original.title
            ),
        },
    )?;
    crate::leads::find(conn, id)
}

/// Everyone following a lead besides its parties.
pub fn followers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<String>> {
    rows::followers(conn, lead_id)
}
