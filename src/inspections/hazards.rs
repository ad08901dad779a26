//! Hazards (隐患) found on a visit: the rectification order, the re-inspection that closes
//! them (and archives the task after the last), the hazard lists.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::date;
use super::policy;
use super::rules::{HazardGrade, HazardState, InspectionState, Outcome};
use super::standard::{standard, StandardList};
use super::store::{self, Hazard};
use super::tasks::{audit_task, load, refuse_closed, save};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

// ---- hazards (隐患) ----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHazard {
    /// The item of the finding.
    pub item: String,
    /// general | major
    pub grade: String,
    /// For a major hazard: the item of 《金属非金属矿山重大事故隐患判定标准》.
    pub standard_item: Option<String>,
    pub description: String,
    /// 限期整改: the day it must be rectified by.
    pub rectify_by: String,
    /// The department that follows it up (default: the item's department).
    pub responsible_department: Option<String>,
}

/// A finding becomes a hazard with its rectification order; a major one tells the EM
/// head and the coordination office at once.
pub fn add_hazard(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: NewHazard,
) -> AppResult<Hazard> {
    let task = load(conn, who, id)?;
    if task.state == InspectionState::Archived || task.state == InspectionState::Cancelled {
        refuse_closed(&task)?;
    }
    let store::Parts {
        items: task_items,
        results,
        ..
    } = store::parts(conn, id)?;
    let mut errors = Vec::new();
    let code = input.item.trim().to_uppercase();
    let item = task_items.iter().find(|t| t.item_code == code);
    match item {
        None => errors.push(FieldError::new(
            "item",
            format!("检查事项 {code} 不在本次检查任务中"),
        )),
        Some(t) if !policy::may_record(who, &t.department) => {
            return Err(AppError::Forbidden(
                "只能由该事项所属部门的检查人员登记隐患。".into(),
            ))
        }
        Some(_) => {
            if !results
                .iter()
                .any(|r| r.item_code == code && r.outcome == Outcome::Finding)
            {
                errors.push(FieldError::new(
                    "item",
                    format!("事项 {code} 的检查结果不是“发现问题”，请先录入检查结果"),
                ));
            }
        }
    }
    let grade = HazardGrade::parse(input.grade.trim());
    if grade.is_none() {
        errors.push(FieldError::new(
            "grade",
            format!("隐患等级只能是 {}", HazardGrade::codes()),
        ));
    }
    let mine = crate::register::mines::find(conn, &task.mine_id)?;
    let list = StandardList::for_mine(mine.mine_type, mine.mining_method);
    let given = input
        .standard_item
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let standard_item = match (grade, given) {
        (Some(HazardGrade::Major), None) => {
            errors.push(FieldError::new(
                "standard_item",
                format!(
                    "重大事故隐患请选择《{}》“{}”中的条款",
                    standard().title,
                    list.label()
                ),
            ));
            None
        }
        (Some(HazardGrade::Major), Some(given)) => {
            let found = (given.chars().count() <= 40)
                .then(|| standard().leaf(list, &given))
                .flatten();
            if found.is_none() {
                errors.push(FieldError::new(
                    "standard_item",
                    format!(
                        "“{}”不是“{}”中可判定的条款（请选择没有下级的条目或其中一项，如 {}）",
                        given.chars().take(40).collect::<String>(),
                        list.label(),
                        standard()
                            .entries(list)
                            .iter()
                            .find(|e| e.selectable)
                            .map_or("", |e| e.code.as_str())
                    ),
                ));
            }
            found.map(|e| e.code.clone())
        }
        (_, Some(_)) => {
            errors.push(FieldError::new(
                "standard_item",
                "一般隐患不选择重大事故隐患判定标准条款；若属重大事故隐患，请把等级选为重大事故隐患",
            ));
            None
        }
        (_, None) => None,
    };
    let description = input.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > 2000 {
        errors.push(FieldError::new(
            "description",
            "请写明隐患情况（2000 字以内）",
        ));
    }
    let today = crate::platform::clock::shanghai_date(now);
    let rectify_by = date(
        &mut errors,
        "rectify_by",
        "整改期限",
        &input.rectify_by,
        today,
    );
    if rectify_by.is_some_and(|d| d < today || (d - today).num_days() > 366) {
        errors.push(FieldError::new("rectify_by", "整改期限应在今天到一年之内"));
    }
    let responsible = input
        .responsible_department
        .map(|d| d.trim().to_uppercase())
        .filter(|d| !d.is_empty())
        .or_else(|| item.map(|t| t.department.clone()))
        .unwrap_or_default();
    if crate::reference::find_department(conn, &responsible)?.is_none() {
        errors.push(FieldError::new(
            "responsible_department",
            format!("没有部门 {responsible}"),
        ));
    }
    let (Some(grade), Some(rectify_by), true) = (grade, rectify_by, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let year = today.year();
    let n = store::next_number(conn, "YH", year)?;
    let hazard = Hazard {
        id: uuid::Uuid::now_v7().to_string(),
        number: format!("YH-{year}-{n:06}"),
        inspection_id: task.id.clone(),
        mine_id: task.mine_id.clone(),
        item_code: code,
        grade,
        standard_item,
        description,
        rectify_by,
        responsible_department: responsible.clone(),
        state: HazardState::Open,
        escalated_at: None,
        reinspected_at: None,
        reinspection_note: String::new(),
        closed_at: None,
        created_by: Some(who.id.clone()),
        created_at: now,
        updated_at: now,
        version: 1,
        visit_on: task.window_from,
    };
    store::insert_hazard(conn, &hazard)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "hazard",
            entity_id: &hazard.id,
            action: "create",
            before: None,
            after: Some(serde_json::json!({
                "number": hazard.number, "inspection": task.number, "item": hazard.item_code,
                "grade": grade.code(), "standard_item": hazard.standard_item,
                "description": hazard.description, "rectify_by": rectify_by,
                "responsible_department": responsible,
            })),
        },
    )?;
    let mut recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&responsible),
        None,
    )?;
    if grade == HazardGrade::Major {
        recipients.extend(crate::accounts::recipients::lead_escalation(
            conn, "EM", None, None,
        )?);
    }
    let responsible_name = crate::reference::unit_name(conn, &responsible);
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Hazard,
            title: format!("{} {}：{}", hazard.number, grade.label(), mine.name),
            body: format!(
                "检查任务 {} 在“{}”发现{}：{}。限 {} 前整改，由{}跟进复查。{}",
                task.number,
                mine.name,
                grade.label(),
                hazard.description,
                rectify_by,
                responsible_name,
                match hazard.standard_item.as_deref() {
                    Some(code) => format!(
                        "判定依据：《{}》{}。重大事故隐患应责令停产整顿，可在矿山页面变更状态。",
                        standard().title,
                        standard_label(code)
                    ),
                    None => String::new(),
                }
            ),
            link: format!("/inspections/{}", task.id),
            entity_type: "hazard",
            entity_id: &hazard.id,
        },
    )?;
    Ok(hazard)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reinspection {
    /// Whether the hazard has been abated (true closes it: 销号).
    pub abated: bool,
    pub note: String,
    pub version: Option<i32>,
}

/// 复查: the responsible department verifies the rectification; abated closes the hazard
/// (and archives the completed task once its last hazard is closed).
pub fn reinspect(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: Reinspection,
) -> AppResult<Hazard> {
    authz::require(who, Action::ViewInspections)?;
    let before =
        store::find_hazard(conn, id)?.ok_or_else(|| AppError::NotFound("没有这个隐患。".into()))?;
    let task = load(conn, who, &before.inspection_id)?;
    if !policy::may_record(who, &before.responsible_department) {
        return Err(AppError::Forbidden(
            "只有负责跟进的部门可以复查该隐患。".into(),
        ));
    }
    if !before.state.is_open() {
        return Err(AppError::InvalidTransition(format!(
            "隐患 {} 已销号。",
            before.number
        )));
    }
    if input.version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "该隐患刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    let note = input.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(AppError::field("note", "请写明复查情况（2000 字以内）"));
    }
    let mut after = before.clone();
    after.reinspected_at = Some(now);
    after.reinspection_note = note;
    after.updated_at = now;
    if input.abated {
        after.state = HazardState::Closed;
        after.closed_at = Some(now);
    } else {
        after.state = HazardState::Rectifying;
    }
    if !store::save_hazard(conn, &before, &after)? {
        return Err(AppError::Conflict(
            "该隐患刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "hazard",
            entity_id: &before.id,
            action: "reinspect",
            before: Some(serde_json::json!({"state": before.state.code()})),
            after: Some(
                serde_json::json!({"state": after.state.code(), "abated": input.abated, "note": after.reinspection_note}),
            ),
        },
    )?;
    if after.state == HazardState::Closed
        && task.state == InspectionState::Completed
        && store::open_hazards_of(conn, &task.id)? == 0
    {
        let mut archived = task.clone();
        archived.state = InspectionState::Archived;
        archived.archived_at = Some(now);
        archived.updated_at = now;
        save(conn, &task, &archived)?;
        audit_task(
            conn,
            &who.actor(),
            now,
            &task,
            "archive",
            serde_json::json!({"state": "archived", "after_hazard": before.number}),
        )?;
    }
    Ok(after)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HazardView {
    pub id: String,
    pub number: String,
    pub inspection_id: String,
    pub mine_id: String,
    pub item: String,
    pub grade: HazardGrade,
    pub grade_label: &'static str,
    pub standard_item: Option<String>,
    /// The standard's number and text of `standard_item` (一（七）4 利用采空区…).
    pub standard_label: Option<String>,
    pub description: String,
    pub rectify_by: String,
    pub responsible_department: String,
    pub state: HazardState,
    pub state_label: &'static str,
    pub overdue: bool,
    pub reinspection_note: String,
    pub closed_at: Option<String>,
    pub version: i32,
}

impl Hazard {
    pub fn view(&self, today: NaiveDate) -> HazardView {
        HazardView {
            id: self.id.clone(),
            number: self.number.clone(),
            inspection_id: self.inspection_id.clone(),
            mine_id: self.mine_id.clone(),
            item: self.item_code.clone(),
            grade: self.grade,
            grade_label: self.grade.label(),
            standard_item: self.standard_item.clone(),
            standard_label: self.standard_item.as_deref().map(standard_label),
            description: self.description.clone(),
            rectify_by: self.rectify_by.to_string(),
            responsible_department: self.responsible_department.clone(),
            state: self.state,
            state_label: self.state.label(),
            overdue: self.state.is_open() && self.rectify_by < today,
            reinspection_note: self.reinspection_note.clone(),
            closed_at: self.closed_at.map(crate::platform::clock::rfc3339),
            version: self.version,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StandardQuery {
    /// underground | open_pit | tailings (default: all three).
    pub list: Option<String>,
    /// The list this mine is judged by (its type and mining method decide).
    pub mine_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardPart {
    pub list: StandardList,
    pub label: &'static str,
    pub items: Vec<super::standard::StandardEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardView {
    pub document: String,
    pub title: String,
    pub effective: String,
    pub lists: Vec<StandardPart>,
}

/// The standard's lists: one by name, the one a mine is judged by, or all three.
pub fn standard_lists(
    conn: &mut DbConnection,
    who: &Principal,
    q: &StandardQuery,
) -> AppResult<StandardView> {
    authz::require(who, Action::ViewInspections)?;
    let named = q.list.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mine = q
        .mine_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let lists: Vec<StandardList> = match (named, mine) {
        (Some(_), Some(_)) => {
            return Err(AppError::Validation(vec![FieldError::new(
                "list",
                "list 与 mine_id 只能填一个",
            )]))
        }
        (Some(code), None) => vec![StandardList::parse(code).ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "list",
                format!("判定标准清单只能是 {}", StandardList::codes()),
            )])
        })?],
        (None, Some(id)) => {
            let mine = crate::register::mines::find(conn, id).map_err(|e| match e {
                AppError::NotFound(_) => {
                    AppError::Validation(vec![FieldError::new("mine_id", "没有这座矿山")])
                }
                e => e,
            })?;
            vec![StandardList::for_mine(mine.mine_type, mine.mining_method)]
        }
        (None, None) => StandardList::ALL.to_vec(),
    };
    let s = standard();
    Ok(StandardView {
        document: s.document.clone(),
        title: s.title.clone(),
        effective: s.effective.clone(),
        lists: lists
            .into_iter()
            .map(|l| StandardPart {
                list: l,
                label: l.label(),
                items: s.entries(l).to_vec(),
            })
            .collect(),
    })
}

/// Whether a hazard exists (for other capabilities linking to one).
pub fn hazard_exists(conn: &mut DbConnection, id: &str) -> AppResult<bool> {
    Ok(store::find_hazard(conn, id)?.is_some())
}

/// "一（七）4 利用采空区或者其他废弃巷道作为水仓" for a stored code; a value recorded
/// before the standard was coded is shown as it was written.
pub fn standard_label(code: &str) -> String {
    standard()
        .by_code(code)
        .map_or_else(|| code.to_owned(), |e| format!("{} {}", e.number, e.text))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HazardQuery {
    pub mine_id: Option<String>,
    pub department: Option<String>,
    /// open | closed
    pub state: Option<String>,
    /// true: only those past their rectification date.
    pub overdue: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub fn hazards(
    conn: &mut DbConnection,
    who: &Principal,
    q: &HazardQuery,
    today: NaiveDate,
) -> AppResult<(Vec<Hazard>, Option<String>)> {
    authz::require(who, Action::ViewInspections)?;
    let mut errors = Vec::new();
    let open = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(_) => {
            errors.push(FieldError::new("state", "状态只能是 open 或 closed"));
            None
        }
    };
    let (limit, after) = super::page_of(&mut errors, q.limit, q.cursor.as_deref());
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let own = policy::own_department(who);
    let mut rows = store::list_hazards(
        conn,
        &store::HazardFilter {
            mine_id: q.mine_id.clone().filter(|m| !m.is_empty()),
            department: own.or_else(|| {
                q.department
                    .as_ref()
                    .map(|d| d.trim().to_uppercase())
                    .filter(|d| !d.is_empty())
            }),
            open,
            overdue_on: q.overdue.unwrap_or(false).then_some(today),
            after,
            limit: limit + 1,
        },
    )?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|h| format!("{}_{}", h.rectify_by, h.id))
            .unwrap_or_default()
    });
    Ok((rows, next))
}
