//! Inspection tasks: opening one by the rules, the task as shown, starting, cancelling, the
//! list, the public view of a code and a mine's record.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::hazards::HazardView;
use super::policy;
use super::rules::{self, Basis, InspectionState, Limit, Outcome, OverrideKind};
use super::store::{self, Inspection, Inspector, TaskDepartment, TaskItem};
use super::{date, from_of};
use crate::platform::audit::{self, Actor, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::config::InspectionSettings;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

// ---- tasks ----

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInspection {
    pub mine_id: String,
    /// 牵头部门 (department code).
    pub lead_department: String,
    /// 联合部门: with the lead department at most five.
    #[serde(default)]
    pub joint_departments: Vec<String>,
    /// The inspectors' user ids (each with a 执法证号, of a department on the task).
    #[serde(default)]
    pub inspectors: Vec<String>,
    /// Item codes from the catalogue, of the departments on the task.
    #[serde(default)]
    pub items: Vec<String>,
    /// First and last day of the visit (YYYY-MM-DD).
    pub window_from: String,
    pub window_to: String,
    /// plan | lead | consultation | complaint | accident | order
    pub basis: String,
    pub basis_ref: Option<String>,
    pub plan_id: Option<String>,
    /// The lead the task follows up (its primary department opens it from the lead).
    pub lead_id: Option<String>,
    /// For a repeat within the window or over the annual cap: complaint | lead | accident | order.
    pub override_kind: Option<String>,
    pub override_reason: Option<String>,
}

/// A task as the API and the pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionView {
    pub id: String,
    pub number: String,
    /// The inspection code's token (检查码): `/public/inspections/{code}`.
    pub code: String,
    pub mine_id: String,
    pub mine_name: String,
    pub lead_department: String,
    pub state: InspectionState,
    pub state_label: &'static str,
    pub window_from: String,
    pub window_to: String,
    pub basis: Basis,
    pub basis_label: &'static str,
    pub basis_ref: String,
    pub lead_id: Option<String>,
    pub override_kind: Option<String>,
    pub override_reason: String,
    pub departments: Vec<DepartmentView>,
    pub inspectors: Vec<InspectorView>,
    pub items: Vec<ItemView>,
    pub hazards: Vec<HazardView>,
    /// Photos and documents of the visit, each tied to an item or a hazard.
    pub files: Vec<super::files::InspectionFile>,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub archived_at: Option<String>,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepartmentView {
    pub department: String,
    /// Its part in the visit: lead (牵头) | joint (联合).
    pub part: String,
    /// Whether it has recorded its results.
    pub recorded: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectorView {
    pub user_id: String,
    pub name: String,
    pub department: String,
    pub certificate_number: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub code: String,
    pub department: String,
    pub name: String,
    pub legal_basis: String,
    /// This task's result, once recorded.
    pub outcome: Option<Outcome>,
    pub note: String,
    pub recognised_from: Option<String>,
    /// The latest result of the item on this mine from another task (结果互认):
    /// (task number, outcome, day).
    pub earlier: Option<(String, Outcome, String)>,
}

/// Opens a task: checks every rule first (the five-department limit, the inspectors and
/// their certificates, the items of the departments on the task, the repeat window and the
/// annual cap), then numbers it, gives it its code and records it. Nothing is written when
/// a rule stands against it.
pub fn open(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &InspectionSettings,
    input: NewInspection,
) -> AppResult<Inspection> {
    authz::require(who, Action::OpenInspections)?;
    let mut errors = Vec::new();
    let mine = match crate::register::mines::find(conn, input.mine_id.trim()) {
        Ok(m) => Some(m),
        Err(AppError::NotFound(_)) => {
            errors.push(FieldError::new("mine_id", "没有这座矿山"));
            None
        }
        Err(e) => return Err(e),
    };
    let lead = input.lead_department.trim().to_uppercase();
    if !policy::may_open(who, &lead) {
        return Err(AppError::Forbidden(format!(
            "只有牵头部门（{}）的工作人员或协调办可以发起该检查任务。",
            crate::reference::unit_name(conn, &lead)
        )));
    }
    let departments = match rules::departments_of(&lead, &input.joint_departments) {
        Ok(d) => d,
        Err(m) => {
            errors.push(FieldError::new("joint_departments", m));
            Vec::new()
        }
    };
    for d in &departments {
        match crate::reference::find_department(conn, d)? {
            Some(dep) if dep.active != 0 => {}
            _ => errors.push(FieldError::new(
                if *d == lead {
                    "lead_department"
                } else {
                    "joint_departments"
                },
                format!("没有在用的部门 {d}"),
            )),
        }
    }
    let today = crate::platform::clock::shanghai_date(now);
    let from = date(
        &mut errors,
        "window_from",
        "检查开始日期",
        &input.window_from,
        today,
    );
    let to = date(
        &mut errors,
        "window_to",
        "检查结束日期",
        &input.window_to,
        today,
    );
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.push(FieldError::new("window_to", "检查结束日期不能早于开始日期"));
        } else if (t - f).num_days() > 30 {
            errors.push(FieldError::new(
                "window_to",
                "一次检查的时间段不能超过 31 天",
            ));
        }
        if (f - today).num_days().abs() > 366 {
            errors.push(FieldError::new("window_from", "检查开始日期应在一年以内"));
        }
    }
    let basis = Basis::parse(input.basis.trim());
    if basis.is_none() {
        errors.push(FieldError::new(
            "basis",
            format!("检查依据只能是 {}", Basis::codes()),
        ));
    }
    let plan_id = input
        .plan_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(p) = plan_id {
        match store::find_plan(conn, p)? {
            Some(plan) if plan.state == "approved" && plan.lead_department == lead => {
                if let Some(f) = from_of(&input.window_from) {
                    if f < plan.period_from || f > plan.period_to {
                        errors.push(FieldError::new(
                            "plan_id",
                            format!(
                                "检查时间不在该计划的时间段（{} 至 {}）内",
                                plan.period_from, plan.period_to
                            ),
                        ));
                    }
                }
            }
            Some(plan) if plan.state != "approved" => {
                errors.push(FieldError::new("plan_id", "该检查计划尚未经协调办审核同意"))
            }
            Some(_) => errors.push(FieldError::new("plan_id", "该检查计划不是本牵头部门的计划")),
            None => errors.push(FieldError::new("plan_id", "没有这个检查计划")),
        }
    }
    let lead_id = input
        .lead_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(l) = lead_id {
        match crate::leads::find(conn, l) {
            Ok(_) => {}
            Err(AppError::NotFound(_)) => errors.push(FieldError::new("lead_id", "没有这条线索")),
            Err(e) => return Err(e),
        }
    }
    // Inspectors: accounts of the departments on the task, each with a certificate.
    let mut inspectors: Vec<Inspector> = Vec::new();
    if input.inspectors.is_empty() {
        errors.push(FieldError::new("inspectors", "请选择检查人员（执法人员）"));
    }
    if input.inspectors.len() > 20 {
        errors.push(FieldError::new(
            "inspectors",
            "一次检查的人员不能超过 20 人",
        ));
    }
    for id in input.inspectors.iter().take(20) {
        let Some(u) = crate::accounts::find_active(conn, id.trim())? else {
            errors.push(FieldError::new(
                "inspectors",
                format!("没有在用的账号 {id}"),
            ));
            continue;
        };
        let dept = u.department.clone().unwrap_or_default();
        if !departments.contains(&dept) {
            errors.push(FieldError::new(
                "inspectors",
                format!("{} 不属于参加本次检查的部门", u.display_name),
            ));
            continue;
        }
        if u.certificate_number.trim().is_empty() {
            errors.push(FieldError::new(
                "inspectors",
                format!(
                    "{} 没有登记执法证号，不能参加检查（请管理员在用户管理中填写）",
                    u.display_name
                ),
            ));
            continue;
        }
        if inspectors.iter().all(|i| i.user_id != u.id) {
            inspectors.push(Inspector {
                inspection_id: String::new(),
                user_id: u.id.clone(),
                department: dept,
                name: u.display_name.clone(),
                certificate_number: u.certificate_number.clone(),
            });
        }
    }
    if !inspectors.is_empty() && !inspectors.iter().any(|i| i.department == lead) {
        errors.push(FieldError::new(
            "inspectors",
            "牵头部门至少要有一名检查人员",
        ));
    }
    // Items: from the catalogue, of the departments on the task; each department checks something.
    let codes: Vec<String> = input
        .items
        .iter()
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .take(200)
        .collect();
    let found = store::items_by_code(conn, &codes)?;
    let mut items: Vec<TaskItem> = Vec::new();
    for c in &codes {
        match found.iter().find(|i| &i.code == c) {
            None => errors.push(FieldError::new("items", format!("事项清单中没有 {c}"))),
            Some(i) if i.active == 0 => {
                errors.push(FieldError::new("items", format!("检查事项 {c} 已停用")))
            }
            Some(i) if !departments.contains(&i.department) => errors.push(FieldError::new(
                "items",
                format!("检查事项 {c} 属于未参加本次检查的部门"),
            )),
            Some(i) if departments.len() > 1 && i.joinable == 0 => errors.push(FieldError::new(
                "items",
                format!("检查事项 {c} 不适合联合检查"),
            )),
            Some(i) => {
                if items.iter().all(|t| t.item_code != i.code) {
                    items.push(TaskItem {
                        inspection_id: String::new(),
                        item_code: i.code.clone(),
                        department: i.department.clone(),
                    });
                }
            }
        }
    }
    if codes.is_empty() {
        errors.push(FieldError::new("items", "请从事项清单中选择检查事项"));
    }
    for d in &departments {
        if !codes.is_empty() && !items.iter().any(|i| &i.department == d) {
            errors.push(FieldError::new(
                "items",
                format!("{} 没有选择检查事项", crate::reference::unit_name(conn, d)),
            ));
        }
    }
    let override_kind = input
        .override_kind
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let override_kind = match override_kind {
        None => None,
        Some(k) => match OverrideKind::parse(k) {
            Some(k) => Some(k),
            None => {
                errors.push(FieldError::new(
                    "override_kind",
                    format!("理由类型只能是 {}", OverrideKind::codes()),
                ));
                None
            }
        },
    };
    let override_reason = input.override_reason.unwrap_or_default().trim().to_owned();
    if override_reason.chars().count() > 500 {
        errors.push(FieldError::new("override_reason", "理由不能超过 500 字"));
    }
    let (Some(mine), Some(from), Some(to), Some(basis), true) =
        (mine, from, to, basis, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    // 避免重复、多头检查: the window and the annual cap, unless a listed reason is given.
    let window = settings.repeat_window_days.max(0);
    let earlier = store::of_mine_between(
        conn,
        &mine.id,
        from - chrono::Duration::days(window),
        from + chrono::Duration::days(window),
    )?;
    let year_start = NaiveDate::from_ymd_opt(from.year(), 1, 1).expect("1 January");
    let year_end = NaiveDate::from_ymd_opt(from.year(), 12, 31).expect("31 December");
    let in_year = store::of_mine_between(conn, &mine.id, year_start, year_end)?.len() as i64;
    let limits = rules::limits(from, &earlier, in_year, window, settings.annual_cap);
    let overridden = override_kind.is_some() && !override_reason.is_empty();
    if !overridden {
        if let Some(l) = limits.first() {
            return Err(match l {
                Limit::Repeat { number, on } => AppError::Refused {
                    kind: "repeat_inspection",
                    detail: format!(
                        "“{}”已于 {on} 安排检查（{number}），{window} 天内不再重复检查。确需检查的，请选择理由类型（投诉举报、问题线索、发生事故、上级交办）并说明理由。",
                        mine.name
                    ),
                },
                Limit::Cap { count, cap } => AppError::Refused {
                    kind: "inspection_cap",
                    detail: format!(
                        "“{}”今年已有 {count} 次检查任务，达到每年 {cap} 次的上限。确需检查的，请选择理由类型并说明理由。",
                        mine.name
                    ),
                },
            });
        }
    }
    let year = crate::platform::clock::shanghai_date(now).year();
    let n = store::next_number(conn, "JC", year)?;
    let id = uuid::Uuid::now_v7().to_string();
    let task = Inspection {
        id: id.clone(),
        number: format!("JC-{year}-{n:06}"),
        code: uuid::Uuid::new_v4().simple().to_string(),
        mine_id: mine.id.clone(),
        lead_department: lead.clone(),
        state: InspectionState::Planned,
        window_from: from,
        window_to: to,
        basis,
        basis_ref: input
            .basis_ref
            .unwrap_or_default()
            .trim()
            .chars()
            .take(200)
            .collect(),
        lead_id: lead_id.map(str::to_owned),
        override_kind: (overridden && !limits.is_empty())
            .then(|| override_kind.map(|k| k.code().to_owned()))
            .flatten(),
        override_reason: if overridden && !limits.is_empty() {
            override_reason
        } else {
            String::new()
        },
        created_by: Some(who.id.clone()),
        created_at: now,
        started_at: None,
        completed_at: None,
        archived_at: None,
        cancelled_at: None,
        cancel_reason: String::new(),
        updated_at: now,
        version: 1,
        plan_id: plan_id.map(str::to_owned),
    };
    let parts: Vec<TaskDepartment> = departments
        .iter()
        .map(|d| TaskDepartment {
            inspection_id: id.clone(),
            department: d.clone(),
            role: if *d == lead { "lead" } else { "joint" }.into(),
            recorded_at: None,
        })
        .collect();
    for i in &mut inspectors {
        i.inspection_id = id.clone();
    }
    for i in &mut items {
        i.inspection_id = id.clone();
    }
    store::insert(conn, &task, &parts, &inspectors, &items)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection",
            entity_id: &task.id,
            action: "create",
            before: None,
            after: Some(serde_json::json!({
                "number": task.number, "mine_id": task.mine_id, "departments": departments,
                "inspectors": inspectors.iter().map(|i| &i.user_id).collect::<Vec<_>>(),
                "items": items.iter().map(|i| &i.item_code).collect::<Vec<_>>(),
                "window_from": from, "window_to": to, "basis": basis.code(),
                "override_kind": task.override_kind, "override_reason": task.override_reason,
            })),
        },
    )?;
    let lead_name = crate::reference::unit_name(conn, &lead);
    tell_departments(
        conn,
        who,
        now,
        &task,
        &departments,
        &mine.name,
        format!(
            "{lead_name}牵头对“{}”开展联合检查（{from} 至 {to}），请按时参加并录入本部门检查结果。",
            mine.name
        ),
    )?;
    Ok(task)
}

fn tell_departments(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    task: &Inspection,
    departments: &[String],
    mine_name: &str,
    body: String,
) -> AppResult<()> {
    let recipients =
        crate::accounts::recipients::departments_and_township(conn, departments, None)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Inspection,
            title: format!("{} 检查任务：{mine_name}", task.number),
            body,
            link: format!("/inspections/{}", task.id),
            entity_type: "inspection",
            entity_id: &task.id,
        },
    )?;
    Ok(())
}

/// A task in a list: what the list shows, loaded for a whole page in a few queries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskSummary {
    pub id: String,
    pub number: String,
    pub mine_id: String,
    pub mine_name: String,
    pub lead_department: String,
    pub departments: Vec<DepartmentView>,
    pub state: InspectionState,
    pub state_label: &'static str,
    pub window_from: String,
    pub window_to: String,
    pub basis: Basis,
    pub override_kind: Option<String>,
    pub open_hazards: i64,
    pub overdue_hazards: i64,
}

/// Summaries of a page of tasks: one query each for the departments, the mines' names and
/// the open hazards, whatever the page's length.
pub fn summaries(
    conn: &mut DbConnection,
    tasks: &[Inspection],
    today: NaiveDate,
) -> AppResult<Vec<TaskSummary>> {
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let departments = store::departments_of(conn, &ids)?;
    let mine_ids: Vec<String> = tasks.iter().map(|t| t.mine_id.clone()).collect();
    let names = crate::register::mines::names(conn, &mine_ids)?;
    let open = store::open_hazards_of_tasks(conn, &ids)?;
    Ok(tasks
        .iter()
        .map(|t| TaskSummary {
            id: t.id.clone(),
            number: t.number.clone(),
            mine_id: t.mine_id.clone(),
            mine_name: names.get(&t.mine_id).cloned().unwrap_or_default(),
            lead_department: t.lead_department.clone(),
            departments: departments
                .iter()
                .filter(|d| d.inspection_id == t.id)
                .map(|d| DepartmentView {
                    department: d.department.clone(),
                    part: d.role.clone(),
                    recorded: d.recorded_at.is_some(),
                })
                .collect(),
            state: t.state,
            state_label: t.state.label(),
            window_from: t.window_from.to_string(),
            window_to: t.window_to.to_string(),
            basis: t.basis,
            override_kind: t.override_kind.clone(),
            open_hazards: open.iter().filter(|(id, _)| *id == t.id).count() as i64,
            overdue_hazards: open
                .iter()
                .filter(|(id, due)| *id == t.id && *due < today)
                .count() as i64,
        })
        .collect())
}

/// The task as the reader may see it: the lead department's and joint departments'
/// staff, the coordination office and admins.
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Inspection> {
    authz::require(who, Action::ViewInspections)?;
    let task =
        store::find(conn, id)?.ok_or_else(|| AppError::NotFound("没有这个检查任务。".into()))?;
    let departments = store::parts(conn, id)?.departments;
    if !policy::takes_part(who, &departments) {
        return Err(AppError::NotFound("没有这个检查任务。".into()));
    }
    Ok(task)
}

/// The whole task for its page and the API.
pub fn view(
    conn: &mut DbConnection,
    task: &Inspection,
    today: NaiveDate,
) -> AppResult<InspectionView> {
    let store::Parts {
        departments,
        inspectors,
        items: task_items,
        results,
    } = store::parts(conn, &task.id)?;
    let codes: Vec<String> = task_items.iter().map(|i| i.item_code.clone()).collect();
    let catalogue = store::items_by_code(conn, &codes)?;
    let earlier = store::latest_results(conn, &task.mine_id, &codes, &task.id)?;
    let mine_name = crate::register::mines::find(conn, &task.mine_id)
        .map(|m| m.name)
        .unwrap_or_default();
    let hazards = store::hazards_of(conn, &task.id)?;
    Ok(InspectionView {
        id: task.id.clone(),
        number: task.number.clone(),
        code: task.code.clone(),
        mine_id: task.mine_id.clone(),
        mine_name,
        lead_department: task.lead_department.clone(),
        state: task.state,
        state_label: task.state.label(),
        window_from: task.window_from.to_string(),
        window_to: task.window_to.to_string(),
        basis: task.basis,
        basis_label: task.basis.label(),
        basis_ref: task.basis_ref.clone(),
        lead_id: task.lead_id.clone(),
        override_kind: task.override_kind.clone(),
        override_reason: task.override_reason.clone(),
        departments: departments
            .iter()
            .map(|d| DepartmentView {
                department: d.department.clone(),
                part: d.role.clone(),
                recorded: d.recorded_at.is_some(),
            })
            .collect(),
        inspectors: inspectors
            .iter()
            .map(|i| InspectorView {
                user_id: i.user_id.clone(),
                name: i.name.clone(),
                department: i.department.clone(),
                certificate_number: i.certificate_number.clone(),
            })
            .collect(),
        items: task_items
            .iter()
            .map(|t| {
                let c = catalogue.iter().find(|c| c.code == t.item_code);
                let r = results.iter().find(|r| r.item_code == t.item_code);
                ItemView {
                    code: t.item_code.clone(),
                    department: t.department.clone(),
                    name: c.map(|c| c.name.clone()).unwrap_or_default(),
                    legal_basis: c.map(|c| c.legal_basis.clone()).unwrap_or_default(),
                    outcome: r.map(|r| r.outcome),
                    note: r.map(|r| r.note.clone()).unwrap_or_default(),
                    recognised_from: r.and_then(|r| r.recognised_from.clone()),
                    earlier: earlier
                        .iter()
                        .find(|e| e.item == t.item_code)
                        .map(|e| (e.task_number.clone(), e.outcome, e.at.date().to_string())),
                }
            })
            .collect(),
        hazards: hazards.iter().map(|h| h.view(today)).collect(),
        files: super::files::files_of(conn, &task.id)?,
        created_at: crate::platform::clock::rfc3339(task.created_at),
        completed_at: task.completed_at.map(crate::platform::clock::rfc3339),
        archived_at: task.archived_at.map(crate::platform::clock::rfc3339),
        version: task.version,
    })
}

pub(crate) fn refuse_closed(task: &Inspection) -> AppResult<()> {
    match task.state {
        InspectionState::Archived => Err(AppError::Conflict(format!(
            "检查任务 {} 已归档，归档后的检查记录不能修改。",
            task.number
        ))),
        InspectionState::Cancelled => Err(AppError::InvalidTransition(format!(
            "检查任务 {} 已取消。",
            task.number
        ))),
        InspectionState::Completed => Err(AppError::InvalidTransition(format!(
            "检查任务 {} 已完成，不能再修改检查结果。",
            task.number
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn save(
    conn: &mut DbConnection,
    before: &Inspection,
    after: &Inspection,
) -> AppResult<()> {
    if !store::save(conn, before, after)? {
        return Err(AppError::Conflict(
            "该检查任务刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    Ok(())
}

pub(crate) fn audit_task(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    task: &Inspection,
    action: &str,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "inspection",
            entity_id: &task.id,
            action,
            before: Some(serde_json::json!({"state": task.state.code()})),
            after: Some(after),
        },
    )
    .map(|_| ())
}

/// 开始检查 or 取消: the lead department or the office.
pub fn run(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    step: &str,
    reason: &str,
) -> AppResult<Inspection> {
    let before = load(conn, who, id)?;
    if !policy::may_run(who, &before) {
        return Err(AppError::Forbidden(
            "只有牵头部门或协调办可以办理该检查任务。".into(),
        ));
    }
    refuse_closed(&before)?;
    let mut after = before.clone();
    after.updated_at = now;
    match step {
        "start" => {
            if before.state != InspectionState::Planned {
                return Err(AppError::InvalidTransition("检查已经开始。".into()));
            }
            after.state = InspectionState::InProgress;
            after.started_at = Some(now);
        }
        "cancel" => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(AppError::field("reason", "请说明取消检查的原因"));
            }
            after.state = InspectionState::Cancelled;
            after.cancelled_at = Some(now);
            after.cancel_reason = reason.chars().take(500).collect();
        }
        _ => return Err(AppError::NotFound("没有这个操作。".into())),
    }
    save(conn, &before, &after)?;
    audit_task(
        conn,
        &who.actor(),
        now,
        &before,
        step,
        serde_json::json!({"state": after.state.code(), "reason": after.cancel_reason}),
    )?;
    Ok(after)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InspectionQuery {
    pub mine_id: Option<String>,
    /// Tasks opened from this lead.
    pub lead_id: Option<String>,
    pub department: Option<String>,
    /// planned | in_progress | completed | archived | cancelled
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Tasks the reader may see (their department's, or all for the office and admins).
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    q: &InspectionQuery,
) -> AppResult<(Vec<Inspection>, Option<String>)> {
    authz::require(who, Action::ViewInspections)?;
    let mut errors = Vec::new();
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => InspectionState::parse(s).or_else(|| {
            errors.push(FieldError::new(
                "state",
                format!("状态只能是 {}", InspectionState::codes()),
            ));
            None
        }),
    };
    let (limit, after) = super::page_of(&mut errors, q.limit, q.cursor.as_deref());
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let own = policy::own_department(who);
    let department = own.or_else(|| {
        q.department
            .as_ref()
            .map(|d| d.trim().to_uppercase())
            .filter(|d| !d.is_empty())
    });
    let mut rows = store::list(
        conn,
        &store::TaskFilter {
            mine_id: q.mine_id.clone().filter(|m| !m.is_empty()),
            lead_id: q.lead_id.clone().filter(|l| !l.is_empty()),
            department,
            state,
            after,
            limit: limit + 1,
        },
    )?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|t| format!("{}_{}", t.window_from, t.id))
            .unwrap_or_default()
    });
    Ok((rows, next))
}

/// What the inspection code's public page shows (检查码): whether the task is genuine and
/// current, and what may be shown to anyone — the mine, the departments, the inspectors'
/// names and certificate numbers, the items and their legal basis, the dates.
pub struct PublicTask {
    pub task: Inspection,
    pub mine_name: String,
    pub departments: Vec<String>,
    pub inspectors: Vec<(String, String, String)>,
    pub items: Vec<(String, String)>,
}

pub fn by_code(conn: &mut DbConnection, code: &str) -> AppResult<Option<PublicTask>> {
    if code.len() != 32 || !code.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(task) = store::find_by_code(conn, code)? else {
        return Ok(None);
    };
    let store::Parts {
        departments,
        inspectors,
        items: task_items,
        ..
    } = store::parts(conn, &task.id)?;
    let codes: Vec<String> = task_items.iter().map(|i| i.item_code.clone()).collect();
    let catalogue = store::items_by_code(conn, &codes)?;
    let mine_name = crate::register::mines::find(conn, &task.mine_id)?.name;
    let names: std::collections::HashMap<String, String> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    Ok(Some(PublicTask {
        mine_name,
        departments: departments.iter().map(|d| name(&d.department)).collect(),
        inspectors: inspectors
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    name(&i.department),
                    i.certificate_number.clone(),
                )
            })
            .collect(),
        items: catalogue
            .iter()
            .map(|c| (c.name.clone(), c.legal_basis.clone()))
            .collect(),
        task,
    }))
}

/// A mine's inspection record, newest first.
pub fn of_mine(
    conn: &mut DbConnection,
    who: &Principal,
    mine_id: &str,
) -> AppResult<Vec<Inspection>> {
    authz::require(who, Action::ViewInspections)?;
    store::of_mine(conn, mine_id, 100)
}
