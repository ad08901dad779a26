//! The ledger loop's steps (seed 001: 建账、对账、查账、销账): the units told when the
//! minutes enter their decisions; the responsible unit's progress reports with evidence;
//! the office's review, closing, extension and confirmation of a 转办线索; and the one
//! escalation of a decision past its deadline.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ledger::{load, MAX_FILES};
use super::rules::{self, DecisionKind, DecisionState, Review};
use super::store::ledger::{self as rows, Decision, Extension, Report};
use super::store::{self, Meeting};
use super::{policy, text};
use crate::platform::audit::{self, Change};
use crate::platform::authz::Principal;
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::{self, Upload};

/// Tells each decision's responsible unit (its staff) and cooperating units (their heads)
/// that it is now in the ledger.
pub(super) fn tell_entered(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    meeting: &Meeting,
    decisions: &[Decision],
) -> AppResult<()> {
    for d in decisions {
        let mut to = crate::accounts::recipients::departments_and_township(
            conn,
            std::slice::from_ref(&d.responsible_unit),
            None,
        )?;
        for c in d.cooperating() {
            to.extend(crate::accounts::recipients::heads_of(conn, &c)?);
        }
        let unit = crate::reference::unit_name(conn, &d.responsible_unit);
        crate::notify::send(
            conn,
            now,
            Some(&who.id),
            &to,
            &crate::notify::Notice {
                kind: crate::notify::NoticeKind::Consultation,
                title: format!("议定事项已建账：{}", d.number),
                body: format!(
                    "会商“{}”议定：{}\n主责单位：{}；完成时限：{}。请按时限办理，在督办台账中报送进展，\
                     并于每月6日前报送上月完成情况。",
                    meeting.topic,
                    d.body,
                    unit,
                    d.due_on
                ),
                link: format!("/decisions/{}", d.id),
                entity_type: "decision",
                entity_id: &d.id,
            },
        )?;
    }
    Ok(())
}

fn audit_decision(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    d: &Decision,
    action: &'static str,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "decision",
            entity_id: &d.id,
            action,
            before: Some(
                serde_json::json!({"state": d.state.code(), "percent": d.percent,
                "due_on": d.due_on.to_string()}),
            ),
            after: Some(after),
        },
    )?;
    Ok(())
}

fn save(conn: &mut DbConnection, before: &Decision, after: &Decision) -> AppResult<()> {
    if rows::save_decision(conn, before, after)? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "这项议定事项刚被其他人办理过，请刷新后重试。".into(),
        ))
    }
}

/// A step only the coordination office takes, on a decision not yet closed.
fn office_step(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    refusal: &str,
) -> AppResult<Decision> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden(refusal.to_owned()));
    }
    let d = load(conn, who, id)?;
    refuse_closed(&d)?;
    Ok(d)
}

/// Tells the responsible unit's staff about their decision.
fn tell_unit(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    d: &Decision,
    title: String,
    body: String,
) -> AppResult<()> {
    let to = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&d.responsible_unit),
        None,
    )?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &to,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title,
            body,
            link: format!("/decisions/{}", d.id),
            entity_type: "decision",
            entity_id: &d.id,
        },
    )?;
    Ok(())
}

fn refuse_closed(d: &Decision) -> AppResult<()> {
    if d.state == DecisionState::Closed {
        return Err(AppError::InvalidTransition(format!(
            "议定事项 {} 已销账，不能再办理。",
            d.number
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressInput {
    pub text: String,
    /// 0–100.
    pub percent: i32,
    /// true: the completion report (办结报告), asking the office to close the decision.
    #[serde(default)]
    pub done: bool,
}

/// A step only the responsible unit's staff take, on a decision not yet closed (`what`
/// names it in the refusal).
fn unit_step(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    what: &str,
) -> AppResult<Decision> {
    let d = load(conn, who, id)?;
    if !policy::is_unit_staff(who, &d.responsible_unit) {
        return Err(AppError::Forbidden(format!(
            "{what}由主责单位（{}）报送。",
            crate::reference::unit_name(conn, &d.responsible_unit)
        )));
    }
    refuse_closed(&d)?;
    Ok(d)
}

/// The evidence files' kind and size, and the decision's limit on them, as field errors.
fn check_files(
    conn: &mut DbConnection,
    id: &str,
    files: &[Upload],
    max_bytes: usize,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Err(e) = upload::check(files, max_bytes, "evidence") {
        errors.extend(e);
    }
    if rows::files_of(conn, id)?.len() + files.len() > MAX_FILES {
        errors.push(FieldError::new(
            "evidence",
            format!("每项议定事项的佐证材料不超过 {MAX_FILES} 个"),
        ));
    }
    Ok(())
}

/// Stores the evidence files of a report; their cleaned names, in order.
fn keep_files(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    decision: &str,
    report: &str,
    files: Vec<Upload>,
) -> AppResult<Vec<String>> {
    let names: Vec<String> = files
        .iter()
        .map(|f| upload::clean_name(&f.file_name))
        .collect();
    for (f, name) in files.into_iter().zip(&names) {
        let content_type = upload::kind_of(&f).unwrap_or("application/octet-stream");
        rows::insert_file(
            conn,
            rows::NewFile {
                id: uuid::Uuid::now_v7().to_string(),
                decision_id: decision.to_owned(),
                report_id: report.to_owned(),
                file_name: name.clone(),
                content_type: content_type.to_owned(),
                size_bytes: f.bytes.len() as i64,
                sha256: hex::encode(Sha256::digest(&f.bytes)),
                data: f.bytes,
                uploaded_by: Some(who.id.clone()),
                uploaded_at: now,
            },
        )?;
    }
    Ok(names)
}

/// 补充佐证材料: the responsible unit adds evidence to its report while the office has not
/// reviewed it yet (the API's way to send files with a JSON report: report, then the
/// files one by one). After review a new report carries new evidence.
pub fn add_evidence(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    files: Vec<Upload>,
    max_bytes: usize,
) -> AppResult<Vec<rows::FileMeta>> {
    let d = unit_step(conn, who, id, "佐证材料")?;
    let pending = rows::reports_of(conn, id)?
        .into_iter()
        .rev()
        .find(|r| r.review == Review::Pending)
        .filter(|_| d.state == DecisionState::Reported)
        .ok_or_else(|| {
            AppError::InvalidTransition(
                "没有待查账的进展报送：请先报送进展，再补充佐证材料。".into(),
            )
        })?;
    let mut errors = Vec::new();
    if files.is_empty() {
        errors.push(FieldError::new("evidence", "请选择要上传的佐证材料"));
    }
    check_files(conn, id, &files, max_bytes, &mut errors)?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let names = keep_files(conn, who, now, id, &pending.id, files)?;
    audit_decision(
        conn,
        who,
        now,
        &d,
        "evidence",
        serde_json::json!({"report": pending.id, "files": names}),
    )?;
    Ok(rows::files_of(conn, id)?
        .into_iter()
        .filter(|f| f.report_id == pending.id)
        .collect())
}

/// 对账: the responsible unit reports progress (with evidence files from the page); the
/// decision waits for the office's review.
pub fn progress(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: ProgressInput,
    files: Vec<Upload>,
    max_bytes: usize,
) -> AppResult<Report> {
    let d = unit_step(conn, who, id, "进展")?;
    if d.state == DecisionState::Reported {
        return Err(AppError::InvalidTransition(
            "上一次报送的进展尚待协调办查账，查账后再报送。".into(),
        ));
    }
    let mut errors = Vec::new();
    let body = text(&mut errors, "text", "进展情况", &input.text, 2000);
    if !(0..=100).contains(&input.percent) {
        errors.push(FieldError::new("percent", "完成比例应在 0 到 100 之间"));
    }
    if input.done && input.percent != 100 {
        errors.push(FieldError::new("percent", "办结报告的完成比例应为 100"));
    }
    check_files(conn, id, &files, max_bytes, &mut errors)?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let r = Report {
        id: uuid::Uuid::now_v7().to_string(),
        decision_id: d.id.clone(),
        body,
        percent: input.percent,
        done: i32::from(input.done),
        reported_by: Some(who.id.clone()),
        reported_at: now,
        review: Review::Pending,
        review_reason: String::new(),
        reviewed_by: None,
        reviewed_at: None,
    };
    rows::insert_report(conn, &r)?;
    let names = keep_files(conn, who, now, &d.id, &r.id, files)?;
    let after = Decision {
        state: DecisionState::Reported,
        updated_at: now,
        ..d.clone()
    };
    save(conn, &d, &after)?;
    audit_decision(
        conn,
        who,
        now,
        &d,
        "progress",
        serde_json::json!({"state": "reported", "text": r.body, "percent": r.percent,
            "done": input.done, "files": names}),
    )?;
    let office = crate::accounts::recipients::coordinators(conn)?;
    let unit = crate::reference::unit_name(conn, &d.responsible_unit);
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &office,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!(
                "{}：{} {}",
                if input.done {
                    "办结报告待查账"
                } else {
                    "进展待查账"
                },
                d.number,
                unit
            ),
            body: format!(
                "议定事项：{}\n报送情况（{}%）：{}",
                d.body, r.percent, r.body
            ),
            link: format!("/decisions/{}", d.id),
            entity_type: "decision",
            entity_id: &d.id,
        },
    )?;
    Ok(r)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub accept: bool,
    /// Required when sending back.
    pub reason: Option<String>,
}

/// 查账 (and 销账): the office reviews the pending report — accepted, the decision's
/// progress is the report's and a completion report closes it; sent back, with a reason,
/// the unit reports again.
pub fn review(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: ReviewInput,
) -> AppResult<Decision> {
    let d = office_step(conn, who, id, "查账、销账由区协调办办理。")?;
    let pending = rows::reports_of(conn, id)?
        .into_iter()
        .rev()
        .find(|r| r.review == Review::Pending);
    let Some(report) = pending else {
        return Err(AppError::InvalidTransition(
            "主责单位还没有报送待查账的进展。".into(),
        ));
    };
    let reason = input.reason.unwrap_or_default().trim().to_owned();
    if !input.accept && (reason.is_empty() || reason.chars().count() > 1000) {
        return Err(AppError::field("reason", "退回时请写明原因（1000 字以内）"));
    }
    if reason.chars().count() > 1000 {
        return Err(AppError::field("reason", "说明不超过 1000 字"));
    }
    let reviewed = Report {
        review: if input.accept {
            Review::Accepted
        } else {
            Review::Returned
        },
        review_reason: reason.clone(),
        reviewed_by: Some(who.id.clone()),
        reviewed_at: Some(now),
        ..report.clone()
    };
    if !rows::review_report(conn, &reviewed)? {
        return Err(AppError::Conflict(
            "这份进展刚被其他人查过账，请刷新后重试。".into(),
        ));
    }
    let closes = input.accept && report.done != 0;
    let after = Decision {
        state: if closes {
            DecisionState::Closed
        } else {
            DecisionState::Open
        },
        percent: if input.accept {
            report.percent
        } else {
            d.percent
        },
        closed_at: closes.then_some(now),
        updated_at: now,
        ..d.clone()
    };
    save(conn, &d, &after)?;
    let action = match (input.accept, closes) {
        (true, true) => "close",
        (true, false) => "accept",
        (false, _) => "return",
    };
    audit_decision(
        conn,
        who,
        now,
        &d,
        action,
        serde_json::json!({"state": after.state.code(), "percent": after.percent,
            "reason": reason, "report": report.id}),
    )?;
    let (title, body) = match action {
        "close" => (
            format!("议定事项已销账：{}", d.number),
            format!("协调办已认可办结报告，议定事项“{}”销账。", d.body),
        ),
        "accept" => (
            format!("进展已查账：{}", d.number),
            format!(
                "协调办已认可报送的进展（{}%）。议定事项“{}”继续办理，完成时限 {}。",
                report.percent, d.body, d.due_on
            ),
        ),
        _ => (
            format!("进展被退回：{}", d.number),
            format!(
                "协调办退回了报送的进展，原因：{reason}。请补充后重新报送。议定事项：{}",
                d.body
            ),
        ),
    };
    tell_unit(conn, who, now, &d, title, body)?;
    Ok(after)
}

/// 销账 by name: accepts the pending completion report; without one, refused.
pub fn close(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<Decision> {
    office_step(conn, who, id, "销账由区协调办办理。")?;
    let has_completion = rows::reports_of(conn, id)?
        .iter()
        .any(|r| r.review == Review::Pending && r.done != 0);
    if !has_completion {
        return Err(AppError::InvalidTransition(
            "主责单位尚未报送办结报告（附佐证材料），不能销账。".into(),
        ));
    }
    review(
        conn,
        who,
        now,
        id,
        ReviewInput {
            accept: true,
            reason: None,
        },
    )
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// YYYY-MM-DD, after the present deadline.
    pub due_on: String,
    pub reason: String,
}

/// The office extends a live decision's deadline, with its reason on the record; a
/// decision escalated under the old deadline may be escalated again under the new one.
pub fn extend(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: ExtendInput,
) -> AppResult<Decision> {
    let d = office_step(conn, who, id, "完成时限只能由区协调办调整。")?;
    let mut errors = Vec::new();
    let today = shanghai_date(now);
    let due = NaiveDate::parse_from_str(input.due_on.trim(), "%Y-%m-%d").ok();
    match due {
        None => errors.push(FieldError::new("due_on", "新的完成时限格式如 2026-05-31")),
        Some(day) if day <= d.due_on => errors.push(FieldError::new(
            "due_on",
            format!("新的完成时限应晚于原时限 {}", d.due_on),
        )),
        Some(day) if day < today => {
            errors.push(FieldError::new("due_on", "新的完成时限不能早于今天"))
        }
        Some(day) if (day - today).num_days() > rules::MAX_DUE_DAYS => {
            errors.push(FieldError::new("due_on", "完成时限不超过三年"))
        }
        Some(_) => {}
    }
    let reason = text(&mut errors, "reason", "延期理由", &input.reason, 1000);
    let (Some(to_on), true) = (due, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let position = rows::extensions_of(conn, id)?.len() as i32 + 1;
    rows::insert_extension(
        conn,
        &Extension {
            decision_id: d.id.clone(),
            position,
            from_on: d.due_on,
            to_on,
            reason: reason.clone(),
            extended_by: Some(who.id.clone()),
            extended_at: now,
        },
    )?;
    let after = Decision {
        due_on: to_on,
        escalated_at: None,
        updated_at: now,
        ..d.clone()
    };
    save(conn, &d, &after)?;
    audit_decision(
        conn,
        who,
        now,
        &d,
        "extend",
        serde_json::json!({"due_on": to_on.to_string(), "reason": reason}),
    )?;
    tell_unit(
        conn,
        who,
        now,
        &d,
        format!("完成时限调整：{}", d.number),
        format!(
            "协调办将议定事项“{}”的完成时限由 {} 调整为 {}，理由：{reason}",
            d.body, d.due_on, to_on
        ),
    )?;
    Ok(after)
}

/// A decision of the kind 转办线索, confirmed by the office: a lead (source 会商) is raised
/// and given to the responsible department, the cooperating ones assisting; the decision
/// and the lead name each other.
pub fn open_lead(
    state: &crate::web::AppState,
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<Decision> {
    let d = office_step(conn, who, id, "由区协调办确认转办。")?;
    if d.kind != DecisionKind::Lead {
        return Err(AppError::InvalidTransition(format!(
            "这项议定事项是“{}”，不是转办线索。",
            d.kind.label()
        )));
    }
    if d.opened_id.is_some() {
        return Err(AppError::InvalidTransition(
            "这项议定事项已经转办过线索。".into(),
        ));
    }
    let meeting = store::find(conn, &d.consultation_id)?
        .ok_or_else(|| AppError::internal("a decision without its meeting"))?;
    let title: String = d.body.chars().take(60).collect();
    let lead = crate::leads::raise_for(
        state,
        conn,
        who,
        crate::leads::NewLead {
            title: Some(title),
            description: Some(format!(
                "会商 {}（{}）议定事项 {}：{}\n完成时限：{}",
                meeting.number, meeting.topic, d.number, d.body, d.due_on
            )),
            category: Some(crate::leads::rules::UNDECIDED_CATEGORY.to_owned()),
            urgency: None,
            mine_id: d.mine_id.clone(),
            location: None,
            township: None,
        },
        crate::leads::rules::LeadSource::Consultation,
        now,
    )?;
    crate::leads::actions::dispatch(
        conn,
        who,
        &lead.lead.id,
        crate::leads::actions::DispatchInput {
            department: Some(d.responsible_unit.clone()),
            assisting_departments: Some(d.cooperating()),
            note: Some(format!("会商议定事项 {}", d.number)),
        },
        now,
    )?;
    let after = Decision {
        opened_type: Some("lead".to_owned()),
        opened_id: Some(lead.lead.id.clone()),
        updated_at: now,
        ..d.clone()
    };
    save(conn, &d, &after)?;
    audit_decision(
        conn,
        who,
        now,
        &d,
        "open",
        serde_json::json!({"opened_type": "lead", "opened_id": lead.lead.id, "lead_number": lead.lead.number}),
    )?;
    Ok(after)
}

/// The id of the decision with this number, if there is one (a closure case links it).
pub fn decision_id_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<String>> {
    Ok(rows::decision_by_number(conn, number)?.map(|d| d.id))
}

/// A closure case opened on a 关闭退出 decision (its number as the case's basis): the
/// decision must be in the ledger, of that kind, about the case's mine and not yet followed
/// by another case; it then names the case, as the case names it. A refusal is a field
/// error on `basis_ref`.
pub fn closure_opened(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    number: &str,
    mine_id: &str,
    case_id: &str,
) -> AppResult<()> {
    let refuse = |m: String| Err(AppError::field("basis_ref", m));
    let Some(d) = rows::decision_by_number(conn, number)? else {
        return refuse(format!("督办台账中没有编号为 {number} 的议定事项"));
    };
    if d.kind != DecisionKind::Closure {
        return refuse(format!(
            "议定事项 {number} 是“{}”，不是关闭退出",
            d.kind.label()
        ));
    }
    match d.state {
        DecisionState::Draft => return refuse(format!("议定事项 {number} 的纪要尚未印发")),
        DecisionState::Closed => return refuse(format!("议定事项 {number} 已销账")),
        _ => {}
    }
    if d.mine_id.as_deref() != Some(mine_id) {
        return refuse(format!("议定事项 {number} 说的不是这座矿山"));
    }
    if d.opened_id.is_some() {
        return refuse(format!("议定事项 {number} 已经立过关闭退出案件"));
    }
    let after = Decision {
        opened_type: Some("closure".to_owned()),
        opened_id: Some(case_id.to_owned()),
        updated_at: now,
        ..d.clone()
    };
    save(conn, &d, &after)?;
    audit_decision(
        conn,
        who,
        now,
        &d,
        "open",
        serde_json::json!({"opened_type": "closure", "opened_id": case_id}),
    )
}

/// 逾期督办: escalates each live decision past its deadline once — to the responsible
/// unit's head and the coordination office — each in its own transaction.
pub fn escalate(db: &crate::platform::db::Db, now: NaiveDateTime, batch: i64) -> AppResult<usize> {
    let today = shanghai_date(now);
    let due = db.read(|conn| rows::overdue_unescalated(conn, today, batch))?;
    let mut done = 0;
    for d in due {
        if db.transaction(|conn| escalate_one(conn, &d, now))? {
            done += 1;
        }
    }
    Ok(done)
}

fn escalate_one(conn: &mut DbConnection, d: &Decision, now: NaiveDateTime) -> AppResult<bool> {
    if !rows::claim_escalation(conn, &d.id, now)? {
        return Ok(false);
    }
    let unit = crate::reference::unit_name(conn, &d.responsible_unit);
    let recipients =
        crate::accounts::recipients::lead_escalation(conn, &d.responsible_unit, None, None)?;
    audit::record(
        conn,
        &audit::Actor::system("议定事项逾期督办"),
        now,
        Change {
            entity_type: "decision",
            entity_id: &d.id,
            action: "overdue",
            before: None,
            after: Some(serde_json::json!({"due_on": d.due_on.to_string(), "escalated_at": now})),
        },
    )?;
    crate::notify::send(
        conn,
        now,
        None,
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("议定事项逾期：{} {}", d.number, unit),
            body: format!(
                "议定事项“{}”的完成时限为 {}，至今未销账。请{}抓紧办理并报送进展；确需延期的，请向协调办说明理由。",
                d.body, d.due_on, unit
            ),
            link: format!("/decisions/{}", d.id),
            entity_type: "decision",
            entity_id: &d.id,
        },
    )?;
    Ok(true)
}
