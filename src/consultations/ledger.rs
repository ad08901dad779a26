//! 督办台账: every decision of approved minutes is followed to the end — 建账 when the
//! minutes are approved, 对账 when its responsible unit reports progress, 查账 when the
//! coordination office reviews the report (accepts it, or sends it back with a reason),
//! 销账 when the office accepts the completion report. A decision past its deadline is
//! escalated once; only the office extends a deadline, with its reason on the record.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::rules::{self, DecisionKind, DecisionState, Review};
use super::store::ledger::{self as rows, Decision, Extension, FileMeta, LedgerFilter, Report};
use super::store::{self, Meeting};
use super::{local, policy, text};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::{self, Upload};

/// At most this many evidence files on one decision.
pub const MAX_FILES: usize = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub id: String,
    pub number: String,
    pub consultation_id: String,
    pub text: String,
    pub kind: DecisionKind,
    pub kind_label: &'static str,
    pub responsible_unit: String,
    pub responsible_name: String,
    pub cooperating_units: Vec<String>,
    pub cooperating_names: Vec<String>,
    pub mine_id: Option<String>,
    pub mine_name: String,
    pub due_on: String,
    pub state: DecisionState,
    pub state_label: &'static str,
    /// Live and past its deadline.
    pub overdue: bool,
    pub percent: i32,
    /// What the decision opened once confirmed (`lead`), and its id.
    pub opened_type: Option<String>,
    pub opened_id: Option<String>,
    /// 建账 and 销账, Beijing time.
    pub entered_at: Option<String>,
    pub closed_at: Option<String>,
    pub escalated: bool,
    pub version: i32,
}

fn shown(t: NaiveDateTime) -> String {
    local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// Decisions as shown, in a fixed number of queries: the units' and mines' names once.
pub fn views(
    conn: &mut DbConnection,
    decisions: &[Decision],
    today: NaiveDate,
) -> AppResult<Vec<DecisionView>> {
    let units: std::collections::HashMap<String, String> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let mine_ids: Vec<String> = decisions.iter().filter_map(|d| d.mine_id.clone()).collect();
    let mines = crate::register::mines::names(conn, &mine_ids)?;
    let name = |c: &str| units.get(c).cloned().unwrap_or_else(|| c.to_owned());
    Ok(decisions
        .iter()
        .map(|d| DecisionView {
            id: d.id.clone(),
            number: d.number.clone(),
            consultation_id: d.consultation_id.clone(),
            text: d.body.clone(),
            kind: d.kind,
            kind_label: d.kind.label(),
            responsible_name: name(&d.responsible_unit),
            responsible_unit: d.responsible_unit.clone(),
            cooperating_names: d.cooperating().iter().map(|c| name(c)).collect(),
            cooperating_units: d.cooperating(),
            mine_name: d
                .mine_id
                .as_ref()
                .and_then(|m| mines.get(m).cloned())
                .unwrap_or_default(),
            mine_id: d.mine_id.clone(),
            due_on: d.due_on.to_string(),
            state: d.state,
            state_label: d.state.label(),
            overdue: rules::is_overdue(d.state, d.due_on, today),
            percent: d.percent,
            opened_type: d.opened_type.clone(),
            opened_id: d.opened_id.clone(),
            entered_at: d.entered_at.map(shown),
            closed_at: d.closed_at.map(shown),
            escalated: d.escalated_at.is_some(),
            version: d.version,
        })
        .collect())
}

/// Whether the reader may read the decision: the office and admins every one, a
/// department's staff those it is responsible for or cooperates on.
fn may_read(who: &Principal, d: &Decision) -> bool {
    policy::reads_all(who)
        || who.department.as_deref().is_some_and(|u| {
            policy::is_unit_staff(who, u)
                && (d.responsible_unit == u || d.cooperating().iter().any(|c| c == u))
        })
}

/// A decision in the ledger the reader may read (drafts are not in the ledger yet).
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Decision> {
    authz::require(who, Action::ViewConsultations)?;
    let not_found = || AppError::NotFound("督办台账中没有这项议定事项。".into());
    let d = rows::decision(conn, id)?.ok_or_else(not_found)?;
    if d.state == DecisionState::Draft || !may_read(who, &d) {
        return Err(not_found());
    }
    Ok(d)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// The responsible department's code.
    pub unit: Option<String>,
    /// open | reported | closed
    pub state: Option<String>,
    /// true: only live decisions past their deadline.
    pub overdue: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The ledger, nearest deadline first: every unit's for the office, a department's own
/// (as responsible unit) for its staff.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    q: &LedgerQuery,
) -> AppResult<(Vec<Decision>, Option<String>)> {
    authz::require(who, Action::ViewConsultations)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field("limit", "每页 1 到 1000 条"));
    }
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match DecisionState::parse(s) {
            Some(s) if s != DecisionState::Draft => Some(s),
            _ => {
                return Err(AppError::field(
                    "state",
                    "状态只能是 open（办理中）、reported（待查账）或 closed（已销账）",
                ))
            }
        },
    };
    let wanted = q
        .unit
        .as_deref()
        .map(|u| u.trim().to_uppercase())
        .filter(|u| !u.is_empty());
    let unit = if policy::reads_all(who) {
        wanted
    } else {
        let own = who
            .department
            .clone()
            .filter(|d| policy::is_unit_staff(who, d))
            .ok_or_else(|| AppError::Forbidden("督办台账只对协调办和成员单位开放。".into()))?;
        if wanted.as_ref().is_some_and(|w| *w != own) {
            return Err(AppError::field("unit", "只能查看本单位主责的议定事项"));
        }
        Some(own)
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.split_once('|')
                .and_then(|(d, id)| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .ok()
                        .map(|d| (d, id.to_owned()))
                })
                .ok_or_else(|| AppError::field("cursor", "翻页标记无效"))?,
        ),
    };
    let filter = LedgerFilter {
        unit,
        state,
        due_before: q.overdue.unwrap_or(false).then_some(today),
        after,
    };
    let mut rows = rows::ledger(conn, &filter, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|d| format!("{}|{}", d.due_on, d.id))
            .unwrap_or_default()
    });
    Ok((rows, next))
}

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
    let d = load(conn, who, id)?;
    if !policy::is_unit_staff(who, &d.responsible_unit) {
        return Err(AppError::Forbidden(format!(
            "进展由主责单位（{}）报送。",
            crate::reference::unit_name(conn, &d.responsible_unit)
        )));
    }
    refuse_closed(&d)?;
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
    if let Err(e) = upload::check(&files, max_bytes, "evidence") {
        errors.extend(e);
    }
    let existing = rows::files_of(conn, id)?.len();
    if existing + files.len() > MAX_FILES {
        errors.push(FieldError::new(
            "evidence",
            format!("每项议定事项的佐证材料不超过 {MAX_FILES} 个"),
        ));
    }
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
                decision_id: d.id.clone(),
                report_id: r.id.clone(),
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
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("查账、销账由区协调办办理。".into()));
    }
    let d = load(conn, who, id)?;
    refuse_closed(&d)?;
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
    let to = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&d.responsible_unit),
        None,
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
    Ok(after)
}

/// 销账 by name: accepts the pending completion report; without one, refused.
pub fn close(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<Decision> {
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("销账由区协调办办理。".into()));
    }
    let d = load(conn, who, id)?;
    refuse_closed(&d)?;
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
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("完成时限只能由区协调办调整。".into()));
    }
    let d = load(conn, who, id)?;
    refuse_closed(&d)?;
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
            title: format!("完成时限调整：{}", d.number),
            body: format!(
                "协调办将议定事项“{}”的完成时限由 {} 调整为 {}，理由：{reason}",
                d.body, d.due_on, to_on
            ),
            link: format!("/decisions/{}", d.id),
            entity_type: "decision",
            entity_id: &d.id,
        },
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
    if !policy::may_convene(who) {
        return Err(AppError::Forbidden("由区协调办确认转办。".into()));
    }
    let d = load(conn, who, id)?;
    refuse_closed(&d)?;
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

/// Everything the decision's page shows beside the decision itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    pub decision: DecisionView,
    pub meeting_number: String,
    pub meeting_topic: String,
    pub reports: Vec<ReportView>,
    pub extensions: Vec<ExtensionView>,
    pub files: Vec<FileMeta>,
    /// Inspection tasks opened on this decision (basis 会商, its number as the reference).
    pub inspections: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: String,
    pub text: String,
    pub percent: i32,
    pub done: bool,
    pub reported_by: String,
    pub reported_at: String,
    pub review: Review,
    pub review_label: &'static str,
    pub review_reason: String,
    pub reviewed_by: String,
    pub reviewed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    pub from_on: String,
    pub to_on: String,
    pub reason: String,
    pub extended_by: String,
    pub extended_at: String,
}

/// A decision with its reports, extensions, files and what it opened.
pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<DecisionRecord> {
    let d = load(conn, who, id)?;
    let meeting = store::find(conn, &d.consultation_id)?
        .ok_or_else(|| AppError::internal("a decision without its meeting"))?;
    let reports = rows::reports_of(conn, id)?;
    let extensions = rows::extensions_of(conn, id)?;
    let mut people: Vec<String> = reports
        .iter()
        .flat_map(|r| [r.reported_by.clone(), r.reviewed_by.clone()])
        .chain(extensions.iter().map(|e| e.extended_by.clone()))
        .flatten()
        .collect();
    people.sort();
    people.dedup();
    let names = crate::accounts::names(conn, &people)?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| names.get(i).cloned())
            .unwrap_or_default()
    };
    let inspections = crate::inspections::with_basis_ref(conn, "consultation", &d.number)?;
    Ok(DecisionRecord {
        decision: views(conn, std::slice::from_ref(&d), shanghai_date(now))?
            .pop()
            .ok_or_else(|| AppError::internal("a decision without its view"))?,
        meeting_number: meeting.number,
        meeting_topic: meeting.topic,
        reports: reports
            .iter()
            .map(|r| ReportView {
                id: r.id.clone(),
                text: r.body.clone(),
                percent: r.percent,
                done: r.done != 0,
                reported_by: name(&r.reported_by),
                reported_at: shown(r.reported_at),
                review: r.review,
                review_label: r.review.label(),
                review_reason: r.review_reason.clone(),
                reviewed_by: name(&r.reviewed_by),
                reviewed_at: r.reviewed_at.map(shown),
            })
            .collect(),
        extensions: extensions
            .iter()
            .map(|e| ExtensionView {
                from_on: e.from_on.to_string(),
                to_on: e.to_on.to_string(),
                reason: e.reason.clone(),
                extended_by: name(&e.extended_by),
                extended_at: shown(e.extended_at),
            })
            .collect(),
        files: rows::files_of(conn, id)?,
        inspections,
    })
}

/// An evidence file of a decision the reader may read: (name, type, bytes).
pub fn open_file(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    file_id: &str,
) -> AppResult<(String, String, Vec<u8>)> {
    load(conn, who, id)?;
    rows::file(conn, id, file_id)?.ok_or_else(|| AppError::NotFound("没有这个文件。".into()))
}

/// The ledger's counts per unit and state, with the overdue among them.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UnitTally {
    pub unit: String,
    pub name: String,
    pub open: i64,
    pub reported: i64,
    pub closed: i64,
    pub overdue: i64,
}

/// Counts per responsible unit (one unit's when given), in the departments' order.
pub fn tally(
    conn: &mut DbConnection,
    today: NaiveDate,
    unit: Option<&str>,
) -> AppResult<Vec<UnitTally>> {
    let counts = rows::tally(conn, today, unit)?;
    let mut out: Vec<UnitTally> = Vec::new();
    for d in crate::reference::departments(conn)? {
        if unit.is_some_and(|u| u != d.code) {
            continue;
        }
        let mut t = UnitTally {
            unit: d.code.clone(),
            name: d.name.clone(),
            ..UnitTally::default()
        };
        for (u, s, n, late) in &counts {
            if *u != d.code {
                continue;
            }
            match DecisionState::parse(s) {
                Some(DecisionState::Open) => t.open += n,
                Some(DecisionState::Reported) => t.reported += n,
                Some(DecisionState::Closed) => t.closed += n,
                _ => {}
            }
            t.overdue += late;
        }
        if t.open + t.reported + t.closed > 0 || unit.is_some() {
            out.push(t);
        }
    }
    Ok(out)
}

/// Reports waiting for the office's review, oldest first, as (decision, report) views.
pub fn awaiting_review(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
) -> AppResult<Vec<(DecisionView, String)>> {
    let rows = rows::awaiting_review(conn, limit)?;
    let decisions: Vec<Decision> = rows.iter().map(|(_, d)| d.clone()).collect();
    let views = views(conn, &decisions, today)?;
    Ok(views
        .into_iter()
        .zip(rows)
        .map(|(v, (r, _))| (v, shown(r.reported_at)))
        .collect())
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
