//! 联合验收 and the tailings pond's extension: the office records the joint acceptance
//! once every task is done or waived; accepted, it alone moves the mine to closed and puts
//! it under watch; not accepted, the named tasks are opened again. Each participating
//! department confirms the record for itself (会签). A tailings pond's closure is extended
//! once, by at most six months, by EM with a reason.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::rules::{self, CaseState, TaskState};
use super::store::{self, Acceptance, AcceptanceUnit, Case, Task};
use super::tasks::{check_files, keep_files, Place};
use super::{audit_case, load, policy, refuse_accepted, save, tell};
use crate::platform::authz::Principal;
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::Upload;
use crate::register::rules::mine::MineStatus;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceInput {
    pub accepted: bool,
    /// The participating departments (codes); each confirms afterwards.
    #[serde(default)]
    pub departments: Vec<String>,
    /// 验收结论.
    pub conclusion: String,
    /// The day of the acceptance (default: today).
    pub accepted_on: Option<String>,
    /// When not accepted: the ids of the tasks to redo (at least one).
    #[serde(default)]
    pub redo: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AcceptanceView {
    pub id: String,
    pub accepted_on: NaiveDate,
    pub accepted: bool,
    pub conclusion: String,
    /// The tasks to redo (their names), when not accepted.
    pub redo: Vec<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub departments: Vec<UnitView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitView {
    pub department: String,
    pub name: String,
    pub confirmed_by: String,
    pub confirmed_at: Option<NaiveDateTime>,
}

pub fn views(conn: &mut DbConnection, case_id: &str) -> AppResult<Vec<AcceptanceView>> {
    let rows = store::acceptances_of(conn, case_id)?;
    let tasks = store::tasks_of(conn, case_id)?;
    let mut people: Vec<String> = rows
        .iter()
        .flat_map(|(a, units)| {
            a.recorded_by
                .iter()
                .chain(units.iter().filter_map(|u| u.confirmed_by.as_ref()))
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    people.sort();
    people.dedup();
    let names = crate::accounts::names(conn, &people)?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| names.get(i).cloned())
            .unwrap_or_default()
    };
    let unit_names = super::unit_names(conn)?;
    let mut out = Vec::new();
    for (a, units) in rows {
        let redo = crate::reference::split_codes(&a.redo)
            .iter()
            .filter_map(|id| tasks.iter().find(|t| &t.id == id).map(|t| t.name.clone()))
            .collect();
        let departments = units
            .iter()
            .map(|u| UnitView {
                department: u.department.clone(),
                name: unit_names
                    .get(&u.department)
                    .cloned()
                    .unwrap_or_else(|| u.department.clone()),
                confirmed_by: name(&u.confirmed_by),
                confirmed_at: u.confirmed_at,
            })
            .collect();
        out.push(AcceptanceView {
            id: a.id.clone(),
            accepted_on: a.accepted_on,
            accepted: a.accepted != 0,
            conclusion: a.conclusion.clone(),
            redo,
            recorded_by: name(&a.recorded_by),
            recorded_at: a.recorded_at,
            departments,
        });
    }
    Ok(out)
}

/// The office records the joint acceptance, with its report file if any.
pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    input: AcceptanceInput,
    files: Vec<Upload>,
    max_bytes: usize,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    if !policy::may_manage(who) {
        return Err(AppError::Forbidden("联合验收由区协调办组织并记录。".into()));
    }
    refuse_accepted(&case)?;
    let tasks = store::tasks_of(conn, &case.id)?;
    let open: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Open)
        .collect();
    if !open.is_empty() {
        let names: Vec<&str> = open.iter().take(5).map(|t| t.name.as_str()).collect();
        return Err(AppError::Refused {
            kind: "tasks_open",
            detail: format!(
                "还有 {} 项任务未完成（{}{}），全部完成或免除后才能验收。",
                open.len(),
                names.join("、"),
                if open.len() > 5 { "等" } else { "" }
            ),
        });
    }
    let today = shanghai_date(now);
    let mut errors = Vec::new();
    let conclusion = super::text_field(
        &mut errors,
        "conclusion",
        "验收结论",
        &input.conclusion,
        2000,
    );
    let accepted_on = match input.accepted_on.as_deref().map(str::trim) {
        None | Some("") => Some(today),
        Some(v) => super::date_field(&mut errors, "accepted_on", v, today),
    };
    if accepted_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new("accepted_on", "验收日期不能晚于今天"));
    }
    if accepted_on.is_some_and(|d| d < case.decided_on) {
        errors.push(FieldError::new("accepted_on", "验收日期不能早于决定日期"));
    }
    let mut departments: Vec<String> = Vec::new();
    for d in input
        .departments
        .iter()
        .map(|d| d.trim().to_uppercase())
        .filter(|d| !d.is_empty())
        .take(20)
    {
        match crate::reference::find_department(conn, &d)? {
            Some(dep) if dep.active != 0 => {
                if !departments.contains(&d) {
                    departments.push(d);
                }
            }
            _ => errors.push(FieldError::new(
                "departments",
                format!("没有在用的部门 {d}"),
            )),
        }
    }
    if departments.is_empty() {
        errors.push(FieldError::new("departments", "请选择参加验收的部门"));
    }
    let mut redo: Vec<Task> = Vec::new();
    if input.accepted {
        if !input.redo.is_empty() {
            errors.push(FieldError::new("redo", "验收通过时不需要选择返工任务"));
        }
    } else {
        for id in input.redo.iter().take(super::MAX_TASKS) {
            match tasks.iter().find(|t| t.id == id.trim()) {
                Some(t) if t.state == TaskState::Done => {
                    if redo.iter().all(|r| r.id != t.id) {
                        redo.push(t.clone())
                    }
                }
                Some(t) => errors.push(FieldError::new(
                    "redo",
                    format!("任务“{}”已免除，不能返工", t.name),
                )),
                None => errors.push(FieldError::new("redo", "本案没有这项任务")),
            }
        }
        if redo.is_empty() && errors.iter().all(|e| e.field != "redo") {
            errors.push(FieldError::new("redo", "验收未通过时请选择需要返工的任务"));
        }
    }
    if let Err(e) = check_files(conn, &case, &files, max_bytes) {
        match e {
            AppError::Validation(mut v) => {
                for f in &mut v {
                    f.field = "report".into();
                }
                errors.extend(v)
            }
            e => return Err(e),
        }
    }
    let (Some(accepted_on), true) = (accepted_on, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let a = Acceptance {
        id: uuid::Uuid::now_v7().to_string(),
        case_id: case.id.clone(),
        accepted_on,
        accepted: i32::from(input.accepted),
        conclusion: conclusion.clone(),
        redo: redo
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
        recorded_by: Some(who.id.clone()),
        recorded_at: now,
    };
    let units: Vec<AcceptanceUnit> = departments
        .iter()
        .map(|d| AcceptanceUnit {
            acceptance_id: a.id.clone(),
            department: d.clone(),
            confirmed_by: None,
            confirmed_at: None,
        })
        .collect();
    store::insert_acceptance(conn, &a, &units)?;
    let names = keep_files(
        conn,
        who,
        now,
        &case,
        None,
        "acceptance",
        files,
        Place::default(),
    )?;
    for t in &redo {
        let again = Task {
            state: TaskState::Open,
            done_by: None,
            done_at: None,
            reminded_at: None,
            escalated_at: None,
            due_on: t.due_on.max(today),
            ..t.clone()
        };
        if !store::save_task(conn, t, &again)? {
            return Err(AppError::Conflict(
                "任务刚被其他人办理过，请刷新后重试。".into(),
            ));
        }
    }
    let moved = Case {
        state: if input.accepted {
            CaseState::Accepted
        } else {
            CaseState::Rejected
        },
        accepted_on: input.accepted.then_some(accepted_on),
        updated_at: now,
        ..case.clone()
    };
    save(conn, &case, &moved)?;
    let mine = crate::register::mines::find(conn, &case.mine_id)?;
    if input.accepted {
        crate::register::mines::closure_status(
            conn,
            &who.actor(),
            now,
            &case.mine_id,
            MineStatus::Closed,
            &format!("关闭退出 {} 于 {accepted_on} 联合验收通过", case.number),
        )?;
        store::watch(
            conn,
            &store::Watched {
                mine_id: case.mine_id.clone(),
                case_id: case.id.clone(),
                closed_on: accepted_on,
                last_patrol_on: None,
                last_patrol_outcome: None,
            },
        )?;
    }
    audit_case(
        conn,
        who,
        now,
        &case,
        "acceptance",
        None,
        serde_json::json!({"accepted": input.accepted, "accepted_on": accepted_on,
            "departments": departments, "conclusion": conclusion,
            "redo": redo.iter().map(|t| &t.id).collect::<Vec<_>>(), "files": names}),
    )?;
    let mut notify: Vec<String> = departments.clone();
    notify.extend(redo.iter().map(|t| t.department.clone()));
    notify.push(case.owner_department.clone());
    notify.sort();
    notify.dedup();
    let recipients =
        crate::accounts::recipients::departments_and_township(conn, &notify, Some(&mine.township))?;
    let body = if input.accepted {
        format!(
            "“{}”关闭退出于 {accepted_on} 联合验收通过，矿山已变更为“已关闭”并纳入复产监管。结论：{conclusion}。请参加验收的部门确认验收记录。",
            mine.name
        )
    } else {
        format!(
            "“{}”关闭退出联合验收未通过：{conclusion}。需返工的任务：{}。请相关部门重新办理后再次验收。",
            mine.name,
            redo.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("、")
        )
    };
    tell(
        conn,
        who,
        now,
        &moved,
        &recipients,
        if input.accepted {
            format!("验收通过：{}", mine.name)
        } else {
            format!("验收未通过：{}", mine.name)
        },
        body,
    )?;
    Ok(moved)
}

/// A participating department confirms the acceptance record (会签).
pub fn confirm(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    acceptance_id: &str,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    let rows = store::acceptances_of(conn, &case.id)?;
    let Some((a, units)) = rows.iter().find(|(a, _)| a.id == acceptance_id) else {
        return Err(AppError::NotFound("这个案件没有这次验收。".into()));
    };
    let Some(dept) = who
        .department
        .as_deref()
        .filter(|d| units.iter().any(|u| u.department == *d))
        .filter(|d| policy::may_confirm(who, d))
    else {
        return Err(AppError::Forbidden(
            "只有参加验收的部门可以确认验收记录。".into(),
        ));
    };
    if !store::confirm(conn, &a.id, dept, &who.id, now)? {
        return Err(AppError::InvalidTransition(
            "本部门已经确认过这次验收。".into(),
        ));
    }
    audit_case(
        conn,
        who,
        now,
        &case,
        "confirm_acceptance",
        None,
        serde_json::json!({"acceptance": a.id, "department": dept}),
    )?;
    Ok(case)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionInput {
    /// 1 to 6.
    pub months: i64,
    pub reason: String,
}

/// EM extends a tailings pond's closure once, by at most six months: the target date and
/// the open tasks of the closure year move with it, and their reminders and escalations
/// are due again.
pub fn extend(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    input: ExtensionInput,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    if !case.kind.is_tailings() {
        return Err(AppError::InvalidTransition(
            "只有尾矿库闭库可以延长闭库期限。".into(),
        ));
    }
    if !policy::may_extend(who) {
        return Err(AppError::Forbidden(
            "尾矿库闭库期限的延长由区应急局批准。".into(),
        ));
    }
    refuse_accepted(&case)?;
    if let Some(m) = rules::extension_refused(case.extended_months, input.months) {
        return Err(if case.extended_months > 0 {
            AppError::Refused {
                kind: "extended_once",
                detail: m,
            }
        } else {
            AppError::field("months", m)
        });
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "请说明延长理由（不超过 500 个字符）",
        ));
    }
    let months = input.months as u32;
    let Some(target) = crate::platform::rules::dates::add_months(case.target_on, months) else {
        return Err(AppError::field("months", "延长后的日期超出可计算的范围"));
    };
    let stop = case.stop_on.unwrap_or(case.decided_on);
    for t in store::tasks_of(conn, &case.id)? {
        if t.state == TaskState::Open && t.due_on > stop {
            let moved = Task {
                due_on: crate::platform::rules::dates::add_months(t.due_on, months)
                    .unwrap_or(target)
                    .min(target),
                reminded_at: None,
                escalated_at: None,
                ..t.clone()
            };
            if !store::save_task(conn, &t, &moved)? {
                return Err(AppError::Conflict(
                    "任务刚被其他人办理过，请刷新后重试。".into(),
                ));
            }
        }
    }
    let after = Case {
        target_on: target,
        extended_months: months as i32,
        extension_reason: reason.to_owned(),
        extended_by: Some(who.id.clone()),
        extended_at: Some(now),
        reminded_at: None,
        escalated_at: None,
        updated_at: now,
        ..case.clone()
    };
    save(conn, &case, &after)?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "extend",
        Some(serde_json::json!({"target_on": case.target_on})),
        serde_json::json!({"target_on": target, "months": months, "reason": reason}),
    )?;
    let mut recipients = crate::accounts::recipients::coordinators(conn)?;
    recipients.extend(crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&case.owner_department),
        None,
    )?);
    tell(
        conn,
        who,
        now,
        &after,
        &recipients,
        "闭库期限延长".into(),
        format!(
            "区应急局将尾矿库闭库期限由 {} 延长 {months} 个月至 {target}，理由：{reason}",
            case.target_on
        ),
    )?;
    Ok(after)
}

/// The decision document (决定书) of a case, by the office or the owning unit.
pub fn add_decision_file(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    files: Vec<Upload>,
    max_bytes: usize,
) -> AppResult<Vec<store::FileMeta>> {
    let case = load(conn, who, case_id)?;
    if !(policy::may_manage(who) || policy::may_complete(who, &case.owner_department)) {
        return Err(AppError::Forbidden(
            "决定书由区协调办或牵头部门上传。".into(),
        ));
    }
    if files.is_empty() {
        return Err(AppError::field("decision_file", "请选择决定书文件"));
    }
    check_files(conn, &case, &files, max_bytes)?;
    let names = keep_files(
        conn,
        who,
        now,
        &case,
        None,
        "decision",
        files,
        Place::default(),
    )?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "decision_file",
        None,
        serde_json::json!({"files": names}),
    )?;
    store::files_of(conn, &case.id)
}
