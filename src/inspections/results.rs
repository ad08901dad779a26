//! Each department's results (with 结果互认) and the task's completion.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::policy;
use super::rules::{InspectionState, Outcome};
use super::store::{self, Inspection, ResultRow, TaskItem};
use super::tasks::{audit_task, load, refuse_closed, save};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub item: String,
    /// compliant | finding | not_checked | recognised
    pub outcome: String,
    #[serde(default)]
    pub note: String,
    /// For `recognised`: the task whose result this department accepts (结果互认).
    pub recognised_from: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    pub department: String,
    pub results: Vec<ResultInput>,
}

/// A department records the results of its items: every item of the department once,
/// nothing for another department's items or items not on the task. A planned task
/// starts with its first results.
pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: Results,
) -> AppResult<Inspection> {
    let before = load(conn, who, id)?;
    refuse_closed(&before)?;
    let department = input.department.trim().to_uppercase();
    if !policy::may_record(who, &department) {
        return Err(AppError::Forbidden(
            "只能由本部门的检查人员录入本部门的检查结果。".into(),
        ));
    }
    let store::Parts {
        departments,
        items: task_items,
        ..
    } = store::parts(conn, id)?;
    if !departments.iter().any(|d| d.department == department) {
        return Err(AppError::field("department", "该部门没有参加本次检查"));
    }
    let mine_items: Vec<&TaskItem> = task_items
        .iter()
        .filter(|i| i.department == department)
        .collect();
    let mut errors = Vec::new();
    let mut rows: Vec<ResultRow> = Vec::new();
    if input.results.len() > 200 {
        return Err(AppError::field("results", "检查结果不能超过 200 项"));
    }
    // The latest earlier result of every item to be recognised, in one query.
    let recognised: Vec<String> = input
        .results
        .iter()
        .filter(|r| r.outcome.trim() == Outcome::Recognised.code())
        .map(|r| r.item.trim().to_uppercase())
        .collect();
    let earlier = if recognised.is_empty() {
        Vec::new()
    } else {
        store::latest_results(conn, &before.mine_id, &recognised, &before.id)?
    };
    for (i, r) in input.results.iter().enumerate() {
        let code = r.item.trim().to_uppercase();
        let field = format!("results[{i}]");
        let Some(t) = task_items.iter().find(|t| t.item_code == code) else {
            errors.push(FieldError::new(
                field,
                format!("检查事项 {code} 不在本次检查任务中"),
            ));
            continue;
        };
        if t.department != department {
            errors.push(FieldError::new(
                field,
                format!("检查事项 {code} 不是本部门的事项"),
            ));
            continue;
        }
        let Some(outcome) = Outcome::parse(r.outcome.trim()) else {
            errors.push(FieldError::new(
                field,
                format!("检查结果只能是 {}", Outcome::codes()),
            ));
            continue;
        };
        let note = r.note.trim().to_owned();
        if note.chars().count() > 2000 {
            errors.push(FieldError::new(field, "说明不能超过 2000 字"));
            continue;
        }
        if outcome == Outcome::Finding && note.is_empty() {
            errors.push(FieldError::new(
                field,
                format!("事项 {code} 发现问题，请写明问题情况"),
            ));
            continue;
        }
        let recognised_from = if outcome == Outcome::Recognised {
            let from = r.recognised_from.as_deref().unwrap_or("").trim().to_owned();
            match earlier.iter().find(|e| e.item == code) {
                Some(e) if e.task_id == from || e.task_number == from => Some(e.task_id.clone()),
                Some(e) => {
                    errors.push(FieldError::new(
                        field,
                        format!("事项 {code} 可互认的是检查任务 {} 的结果", e.task_number),
                    ));
                    continue;
                }
                None => {
                    errors.push(FieldError::new(
                        field,
                        format!("事项 {code} 没有可以互认的检查结果"),
                    ));
                    continue;
                }
            }
        } else {
            None
        };
        if rows.iter().any(|x| x.item_code == code) {
            errors.push(FieldError::new(field, format!("检查事项 {code} 重复")));
            continue;
        }
        rows.push(ResultRow {
            inspection_id: before.id.clone(),
            item_code: code,
            department: department.clone(),
            mine_id: before.mine_id.clone(),
            outcome,
            note,
            recognised_from,
            recorded_by: Some(who.id.clone()),
            recorded_at: now,
        });
    }
    for t in &mine_items {
        if errors.is_empty() && !rows.iter().any(|r| r.item_code == t.item_code) {
            errors.push(FieldError::new(
                "results",
                format!(
                    "请填写本部门事项 {} 的检查结果（未检查的选“未检查”）",
                    t.item_code
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut after = before.clone();
    if before.state == InspectionState::Planned {
        after.state = InspectionState::InProgress;
        after.started_at = Some(now);
    }
    after.updated_at = now;
    save(conn, &before, &after)?;
    store::put_results(conn, &before.id, &department, &rows, now)?;
    audit_task(
        conn,
        &who.actor(),
        now,
        &before,
        "results",
        serde_json::json!({
            "department": department,
            "results": rows.iter().map(|r| serde_json::json!({"item": r.item_code, "outcome": r.outcome.code(), "note": r.note, "recognised_from": r.recognised_from})).collect::<Vec<_>>(),
        }),
    )?;
    Ok(after)
}

/// Completes the task once every department has recorded: the mine's last inspection
/// follows; with no hazard open the task is archived at once.
pub fn complete(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<Inspection> {
    let before = load(conn, who, id)?;
    if !policy::may_run(who, &before) {
        return Err(AppError::Forbidden(
            "只有牵头部门或协调办可以完成该检查任务。".into(),
        ));
    }
    refuse_closed(&before)?;
    let departments = store::parts(conn, id)?.departments;
    let waiting: Vec<String> = departments
        .iter()
        .filter(|d| d.recorded_at.is_none())
        .map(|d| crate::reference::unit_name(conn, &d.department))
        .collect();
    if !waiting.is_empty() {
        return Err(AppError::InvalidTransition(format!(
            "还有部门没有录入检查结果：{}。",
            waiting.join("、")
        )));
    }
    let mut after = before.clone();
    after.state = InspectionState::Completed;
    after.completed_at = Some(now);
    after.updated_at = now;
    if store::open_hazards_of(conn, id)? == 0 {
        after.state = InspectionState::Archived;
        after.archived_at = Some(now);
    }
    save(conn, &before, &after)?;
    audit_task(
        conn,
        &who.actor(),
        now,
        &before,
        if after.state == InspectionState::Archived {
            "archive"
        } else {
            "complete"
        },
        serde_json::json!({"state": after.state.code()}),
    )?;
    let on = crate::platform::clock::shanghai_date(now).min(before.window_to);
    crate::register::mines::inspected(
        conn,
        &who.actor(),
        now,
        &before.mine_id,
        on,
        &before.number,
    )?;
    Ok(after)
}
