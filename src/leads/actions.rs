//! The side paths of a lead: transfer (转办) and its answer, a disputed transfer decided
//! by the coordination office, a request for consultation (提请会商), and, once closed, the
//! raising township's evaluation (满意度) and its one reopening.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::leads::policy;
use crate::leads::rules::{LeadState, Stage, EVALUATIONS};
use crate::leads::{add_event, find_visible, refresh_next_due, text, unit_of, EventActor, Lead};
use crate::notify::Notice;
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::db::schema::{
    lead_deadlines, lead_departments, lead_evaluations, lead_transfers, leads,
};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_transfers)]
pub struct Transfer {
    pub id: String,
    pub lead_id: String,
    pub from_department: String,
    pub to_department: String,
    pub reason: String,
    /// pending | accepted | disputed | upheld | overruled | reassigned
    pub status: String,
    pub requested_by: Option<String>,
    #[schema(value_type = String)]
    pub requested_at: NaiveDateTime,
    pub answer_note: String,
    pub answered_by: Option<String>,
    #[schema(value_type = Option<String>)]
    pub answered_at: Option<NaiveDateTime>,
    pub decided_department: Option<String>,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_evaluations)]
pub struct Evaluation {
    #[serde(skip)]
    pub lead_id: String,
    pub department: String,
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: String,
    pub comment: String,
    pub evaluated_by: Option<String>,
    #[schema(value_type = String)]
    pub evaluated_at: NaiveDateTime,
}

fn is_staff_of(who: &Principal, department: &str) -> bool {
    policy::may_handle(who, department)
}

fn open_transfer(conn: &mut DbConnection, lead_id: &str) -> AppResult<Option<Transfer>> {
    Ok(lead_transfers::table
        .filter(lead_transfers::lead_id.eq(lead_id))
        .filter(lead_transfers::status.eq_any(["pending", "disputed"]))
        .select(Transfer::as_select())
        .first(conn)
        .optional()?)
}

pub fn transfers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Transfer>> {
    Ok(lead_transfers::table
        .filter(lead_transfers::lead_id.eq(lead_id))
        .order(lead_transfers::requested_at.asc())
        .select(Transfer::as_select())
        .load(conn)?)
}

pub fn evaluations(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Evaluation>> {
    Ok(lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq(lead_id))
        .select(Evaluation::as_select())
        .load(conn)?)
}

/// Bumps the lead's version guarded by the one read: of two concurrent side steps exactly
/// one goes through.
fn bump(conn: &mut DbConnection, lead: &Lead, now: NaiveDateTime) -> AppResult<()> {
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
    if n == 0 {
        return Err(AppError::Conflict(
            "线索已被他人更新，请刷新后再办理。".into(),
        ));
    }
    Ok(())
}

fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    lead_id: &str,
    action: &str,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "lead",
            entity_id: lead_id,
            action,
            before: None,
            after: Some(after),
        },
    )?;
    Ok(())
}

fn tell(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    lead: &Lead,
    recipients: Vec<String>,
    title: String,
    body: String,
) -> AppResult<()> {
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &recipients,
        &Notice {
            kind: crate::notify::NoticeKind::LeadProgress,
            title,
            body,
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
    diesel::insert_into(lead_transfers::table)
        .values(&t)
        .execute(conn)?;
    diesel::update(leads::table.find(id))
        .set(leads::transfer_state.eq("pending"))
        .execute(conn)?;
    // The receiver sees the lead in its queue while it decides.
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(id))
            .filter(lead_departments::department.eq(&to)),
    )
    .execute(conn)?;
    diesel::insert_into(lead_departments::table)
        .values((
            lead_departments::lead_id.eq(id),
            lead_departments::department.eq(&to),
            lead_departments::role.eq("receiving"),
            lead_departments::next_due_at.eq(lead.next_due_at),
            lead_departments::raised_at.eq(lead.raised_at),
        ))
        .execute(conn)?;
    let to_name = crate::reference::unit_name(conn, &to);
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "transfer",
        &reason,
        serde_json::json!({"to": to}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "transfer",
        serde_json::json!({"to": to, "reason": reason}),
    )?;
    let mut recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&to),
        None,
    )?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let unit = crate::reference::unit_name(conn, &lead.primary_department);
    tell(
        conn,
        who,
        now,
        &lead,
        recipients,
        format!("{} 转办给{to_name}，请确认：{}", lead.number, lead.title),
        format!(
            "{}将线索“{}”转办给{to_name}。理由：{reason}。请接收或提出异议。",
            unit, lead.title
        ),
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
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(&lead.id))
            .filter(lead_departments::department.eq(&lead.primary_department)),
    )
    .execute(conn)?;
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(&lead.id))
            .filter(lead_departments::department.eq(department)),
    )
    .execute(conn)?;
    diesel::insert_into(lead_departments::table)
        .values((
            lead_departments::lead_id.eq(&lead.id),
            lead_departments::department.eq(department),
            lead_departments::role.eq("primary"),
            lead_departments::next_due_at.eq(lead.next_due_at),
            lead_departments::raised_at.eq(lead.raised_at),
        ))
        .execute(conn)?;
    let acknowledged = lead.state() != LeadState::Routed || !reports_in;
    diesel::update(leads::table.find(&lead.id))
        .set((
            leads::primary_department.eq(department),
            leads::assisting_departments.eq(assisting.join(",")),
            leads::transfer_state.eq(None::<String>),
            leads::state.eq(if acknowledged {
                lead.state.code()
            } else {
                LeadState::Acknowledged.code()
            }),
        ))
        .execute(conn)?;
    if !acknowledged {
        diesel::update(
            lead_deadlines::table
                .filter(lead_deadlines::lead_id.eq(&lead.id))
                .filter(lead_deadlines::stage.eq(Stage::Acknowledge.code()))
                .filter(lead_deadlines::met_at.is_null()),
        )
        .set(lead_deadlines::met_at.eq(now))
        .execute(conn)?;
    }
    refresh_next_due(conn, &lead.id, now)
}

/// Removes the receiving department of a transfer from the lead's parties, unless it
/// assists on the lead anyway.
fn drop_receiving(conn: &mut DbConnection, lead_id: &str, assisting: &[String]) -> AppResult<()> {
    diesel::delete(
        lead_departments::table
            .filter(lead_departments::lead_id.eq(lead_id))
            .filter(lead_departments::role.eq("receiving")),
    )
    .execute(conn)?;
    let (raised_at, next_due_at): (NaiveDateTime, Option<NaiveDateTime>) = leads::table
        .find(lead_id)
        .select((leads::raised_at, leads::next_due_at))
        .first(conn)?;
    for d in assisting {
        let present: i64 = lead_departments::table
            .filter(lead_departments::lead_id.eq(lead_id))
            .filter(lead_departments::department.eq(d))
            .count()
            .get_result(conn)?;
        if present == 0 {
            diesel::insert_into(lead_departments::table)
                .values((
                    lead_departments::lead_id.eq(lead_id),
                    lead_departments::department.eq(d),
                    lead_departments::role.eq("assisting"),
                    lead_departments::next_due_at.eq(next_due_at),
                    lead_departments::raised_at.eq(raised_at),
                ))
                .execute(conn)?;
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
    diesel::update(lead_transfers::table.find(&t.id))
        .set((
            lead_transfers::status.eq(status),
            lead_transfers::answer_note.eq(&note),
            lead_transfers::answered_by.eq(&who.id),
            lead_transfers::answered_at.eq(now),
        ))
        .execute(conn)?;
    let to_name = crate::reference::unit_name(conn, &t.to_department);
    if status == "accepted" {
        hand_over(conn, &lead, &t.to_department, true, now)?;
        add_event(
            conn,
            id,
            now,
            &EventActor::of(who),
            "transfer_accepted",
            &note,
            serde_json::json!({"department": t.to_department}),
        )?;
    } else {
        diesel::update(leads::table.find(id))
            .set(leads::transfer_state.eq("disputed"))
            .execute(conn)?;
        add_event(
            conn,
            id,
            now,
            &EventActor::of(who),
            "transfer_disputed",
            &note,
            serde_json::json!({"department": t.to_department}),
        )?;
    }
    record(
        conn,
        who,
        now,
        id,
        &format!("transfer_{answer}"),
        serde_json::json!({"transfer": t.id, "note": note}),
    )?;
    let mut recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&t.from_department),
        None,
    )?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let (title, body) = if status == "accepted" {
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
    tell(conn, who, now, &lead, recipients, title, body)?;
    Ok(lead_transfers::table
        .find(&t.id)
        .select(Transfer::as_select())
        .first(conn)?)
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
    diesel::update(lead_transfers::table.find(&t.id))
        .set((
            lead_transfers::status.eq(status),
            lead_transfers::decided_department.eq(&dept),
            lead_transfers::decided_by.eq(&who.id),
            lead_transfers::decided_at.eq(now),
        ))
        .execute(conn)?;
    if dept == lead.primary_department {
        drop_receiving(conn, id, &lead.assisting())?;
        diesel::update(leads::table.find(id))
            .set(leads::transfer_state.eq(None::<String>))
            .execute(conn)?;
    } else {
        hand_over(conn, &lead, &dept, false, now)?;
    }
    let dept_name = crate::reference::unit_name(conn, &dept);
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "transfer_decided",
        &note,
        serde_json::json!({"department": dept}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "transfer_decided",
        serde_json::json!({"transfer": t.id, "department": dept, "note": note}),
    )?;
    let recipients = crate::accounts::recipients::departments_and_township(
        conn,
        &[
            t.from_department.clone(),
            t.to_department.clone(),
            dept.clone(),
        ],
        None,
    )?;
    tell(
        conn,
        who,
        now,
        &lead,
        recipients,
        format!(
            "{} 协调办裁定由{dept_name}主办：{}",
            lead.number, lead.title
        ),
        format!(
            "协调办对线索“{}”的转办异议作出裁定：由{dept_name}主办。{note}",
            lead.title
        ),
    )?;
    Ok(lead_transfers::table
        .find(&t.id)
        .select(Transfer::as_select())
        .first(conn)?)
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
    diesel::update(leads::table.find(id))
        .set(leads::consultation_requested_at.eq(now))
        .execute(conn)?;
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "escalate",
        &reason,
        serde_json::json!({}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "escalate",
        serde_json::json!({"reason": reason}),
    )?;
    let mut units = vec![lead.primary_department.clone()];
    units.extend(lead.assisting());
    let mut recipients = crate::accounts::recipients::coordinators(conn)?;
    recipients.extend(crate::accounts::recipients::departments_and_township(
        conn, &units, None,
    )?);
    let unit = crate::reference::unit_name(conn, &unit_of(who));
    tell(
        conn,
        who,
        now,
        &lead,
        recipients,
        format!("{} 提请会商：{}", lead.number, lead.title),
        format!(
            "{}（{}）提请就线索“{}”召开会商。理由：{reason}",
            who.display_name, unit, lead.title
        ),
    )?;
    crate::leads::find(conn, id)
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
    let exists: i64 = lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq(id))
        .filter(lead_evaluations::department.eq(&department))
        .count()
        .get_result(conn)?;
    if exists > 0 {
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
    diesel::insert_into(lead_evaluations::table)
        .values(&e)
        .execute(conn)?;
    let label = EVALUATIONS
        .iter()
        .find(|(c, _)| *c == verdict)
        .map(|(_, l)| *l)
        .unwrap_or("");
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "evaluate",
        &comment,
        serde_json::json!({"department": department, "verdict": verdict}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "evaluate",
        serde_json::json!({"department": department, "verdict": verdict, "comment": comment}),
    )?;
    let mut recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&department),
        None,
    )?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let unit = crate::reference::unit_name(conn, &lead.raised_unit);
    tell(
        conn,
        who,
        now,
        &lead,
        recipients,
        format!("{} 街镇评价：{label}", lead.number),
        format!(
            "{}对线索“{}”的办理评价为“{label}”。{comment}",
            unit, lead.title
        ),
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
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(id))
            .filter(leads::version.eq(lead.version)),
    )
    .set((
        leads::state.eq(LeadState::Verifying.code()),
        leads::reopened.eq(lead.reopened + 1),
        leads::closed_at.eq(None::<NaiveDateTime>),
        leads::version.eq(lead.version + 1),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::Conflict(
            "线索已被他人更新，请刷新后再办理。".into(),
        ));
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
        diesel::update(
            lead_deadlines::table
                .filter(lead_deadlines::lead_id.eq(id))
                .filter(lead_deadlines::stage.eq(stage.code())),
        )
        .set((
            lead_deadlines::due_at.eq(due),
            lead_deadlines::met_at.eq(None::<NaiveDateTime>),
            lead_deadlines::escalated_at.eq(None::<NaiveDateTime>),
            lead_deadlines::reminded_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    }
    refresh_next_due(conn, id, now)?;
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "reopen",
        &reason,
        serde_json::json!({}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "reopen",
        serde_json::json!({"reason": reason}),
    )?;
    let mut recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&lead.primary_department),
        None,
    )?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let unit = crate::reference::unit_name(conn, &lead.raised_unit);
    tell(
        conn,
        who,
        now,
        &lead,
        recipients,
        format!("{} 被街镇重新打开：{}", lead.number, lead.title),
        format!(
            "{}认为问题未解决，重新打开线索“{}”。理由：{reason}。请重新核查并按时办结。",
            unit, lead.title
        ),
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
        found.extend(
            leads::table
                .filter(leads::category.eq(category))
                .filter(leads::state.ne("closed"))
                .filter(leads::mine_id.eq(m))
                .select(Lead::as_select())
                .limit(50)
                .load::<Lead>(conn)?,
        );
    }
    if let (Some(lon), Some(lat)) = (q.lon, q.lat) {
        let dlat = radius_m / 110_540.0;
        let dlon = radius_m / (111_320.0 * lat.to_radians().cos().max(0.1));
        let near: Vec<Lead> = leads::table
            .filter(leads::category.eq(category))
            .filter(leads::lat.between(lat - dlat, lat + dlat))
            .filter(leads::lon.between(lon - dlon, lon + dlon))
            .filter(leads::state.ne("closed"))
            .select(Lead::as_select())
            .limit(200)
            .load(conn)?;
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
    let original: Lead = leads::table
        .filter(leads::number.eq(&into).or(leads::id.eq(&into)))
        .select(Lead::as_select())
        .first(conn)
        .optional()?
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
    let n = diesel::update(
        leads::table
            .filter(leads::id.eq(id))
            .filter(leads::version.eq(dup.version)),
    )
    .set((
        leads::state.eq(LeadState::Closed.code()),
        leads::merged_into.eq(&original.id),
        leads::closed_at.eq(now),
        leads::transfer_state.eq(None::<String>),
        leads::version.eq(dup.version + 1),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::Conflict(
            "线索已被他人更新，请刷新后再办理。".into(),
        ));
    }
    diesel::update(
        lead_deadlines::table
            .filter(lead_deadlines::lead_id.eq(id))
            .filter(lead_deadlines::met_at.is_null()),
    )
    .set(lead_deadlines::met_at.eq(now))
    .execute(conn)?;
    refresh_next_due(conn, id, now)?;
    diesel::update(
        lead_transfers::table
            .filter(lead_transfers::lead_id.eq(id))
            .filter(lead_transfers::status.eq_any(["pending", "disputed"])),
    )
    .set(lead_transfers::status.eq("withdrawn"))
    .execute(conn)?;
    if let Some(raiser) = dup
        .raised_by
        .as_deref()
        .filter(|r| Some(*r) != original.raised_by.as_deref())
    {
        let exists: i64 = crate::platform::db::schema::lead_followers::table
            .filter(crate::platform::db::schema::lead_followers::lead_id.eq(&original.id))
            .filter(crate::platform::db::schema::lead_followers::user_id.eq(raiser))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            diesel::insert_into(crate::platform::db::schema::lead_followers::table)
                .values((
                    crate::platform::db::schema::lead_followers::lead_id.eq(&original.id),
                    crate::platform::db::schema::lead_followers::user_id.eq(raiser),
                ))
                .execute(conn)?;
        }
    }
    add_event(
        conn,
        id,
        now,
        &EventActor::of(who),
        "merged",
        &reason,
        serde_json::json!({"into": original.number}),
    )?;
    add_event(
        conn,
        &original.id,
        now,
        &EventActor::of(who),
        "merged_from",
        &reason,
        serde_json::json!({"from": dup.number}),
    )?;
    record(
        conn,
        who,
        now,
        id,
        "merge",
        serde_json::json!({"into": original.id, "reason": reason}),
    )?;
    let recipients: Vec<String> = dup.raised_by.iter().cloned().collect();
    tell(
        conn,
        who,
        now,
        &dup,
        recipients,
        format!(
            "{} 已合并到 {}：{}",
            dup.number, original.number, original.title
        ),
        format!(
            "您提交的线索“{}”与 {}“{}”为同一问题，已合并办理，后续进展将通知您。",
            dup.title, original.number, original.title
        ),
    )?;
    crate::leads::find(conn, id)
}

/// Everyone following a lead besides its parties.
pub fn followers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<String>> {
    use crate::platform::db::schema::lead_followers;
    Ok(lead_followers::table
        .filter(lead_followers::lead_id.eq(lead_id))
        .select(lead_followers::user_id)
        .load(conn)?)
}
