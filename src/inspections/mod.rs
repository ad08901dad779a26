//! 综合查一次 (seed 002, DOMAIN.md §6): the item catalogue, inspection tasks of at most
//! five departments with their inspection code, each department's results (recognised
//! across departments), the hazards found, their re-inspection and the task's archive.

pub mod api;
pub mod board;
pub mod deadlines;
pub mod pages;
pub mod policy;
pub mod rules;
pub mod stats;
pub mod store;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::config::InspectionSettings;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use rules::{Basis, HazardGrade, HazardState, InspectionState, Limit, Outcome, OverrideKind};
use store::{Hazard, Inspection, Inspector, Item, ResultRow, TaskDepartment, TaskItem};

// ---- the catalogue (事项清单) ----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub code: String,
    /// The department that checks it.
    pub department: String,
    pub name: String,
    pub legal_basis: String,
    /// Whether it can be checked in a joint visit (default yes).
    pub joinable: Option<bool>,
}

pub fn create_item(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewItem,
) -> AppResult<Item> {
    authz::require(who, Action::ManageInspectionItems)?;
    let mut errors = Vec::new();
    let code = input.code.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(FieldError::new(
            "code",
            "事项编码为 1 到 32 位字母、数字、- 或 _，如 EM-01",
        ));
    }
    let department = input.department.trim().to_uppercase();
    if crate::reference::find_department(conn, &department)?.is_none() {
        errors.push(FieldError::new(
            "department",
            format!("没有部门 {department}"),
        ));
    }
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "请填写检查事项（200 字以内）"));
    }
    let basis = input.legal_basis.trim().to_owned();
    if basis.is_empty() || basis.chars().count() > 500 {
        errors.push(FieldError::new(
            "legal_basis",
            "请填写检查依据（500 字以内）",
        ));
    }
    if errors.is_empty() && !store::items_by_code(conn, std::slice::from_ref(&code))?.is_empty() {
        errors.push(FieldError::new("code", format!("事项编码 {code} 已存在")));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let item = Item {
        code,
        department,
        name,
        legal_basis: basis,
        joinable: i32::from(input.joinable.unwrap_or(true)),
        active: 1,
        created_at: now,
        updated_at: now,
    };
    store::insert_item(conn, &item)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection_item",
            entity_id: &item.code,
            action: "create",
            before: None,
            after: Some(serde_json::to_value(&item).map_err(AppError::internal)?),
        },
    )?;
    Ok(item)
}

pub fn items(conn: &mut DbConnection, department: Option<&str>) -> AppResult<Vec<Item>> {
    store::items(conn, department)
}

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

fn date(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    v: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match crate::platform::rules::dates::parse(v, today) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.push(FieldError::new(field, format!("{label}：{m}")));
            None
        }
    }
}

fn from_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

// ---- annual plans (年度检查计划) ----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    pub year: i32,
    pub lead_department: String,
    #[serde(default)]
    pub joint_departments: Vec<String>,
    pub period_from: String,
    pub period_to: String,
    /// 计划检查对象数量.
    pub target_count: i32,
    /// 检查对象范围.
    pub scope: String,
    /// 检查主要内容.
    pub content: String,
    /// Not published (依法不予公开、上级要求不能事先通知).
    #[serde(default)]
    pub exempt_from_publication: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: String,
    pub year: i32,
    pub lead_department: String,
    pub joint_departments: Vec<String>,
    pub period_from: String,
    pub period_to: String,
    pub target_count: i32,
    pub scope: String,
    pub content: String,
    pub exempt_from_publication: bool,
    /// draft | approved
    pub state: String,
    /// Tasks carried out under the plan (completed or archived).
    pub carried_out: i64,
    pub version: i32,
}

impl store::Plan {
    pub fn view(&self, carried_out: i64) -> PlanView {
        PlanView {
            id: self.id.clone(),
            year: self.year,
            lead_department: self.lead_department.clone(),
            joint_departments: self
                .joint_departments
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            period_from: self.period_from.to_string(),
            period_to: self.period_to.to_string(),
            target_count: self.target_count,
            scope: self.scope.clone(),
            content: self.content.clone(),
            exempt_from_publication: self.exempt_from_publication != 0,
            state: self.state.clone(),
            carried_out,
            version: self.version,
        }
    }
}

/// A lead department draws up its plan for the year in the first quarter (the office may
/// at any time); the plan waits for the office's approval.
pub fn create_plan(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewPlan,
) -> AppResult<store::Plan> {
    authz::require(who, Action::OpenInspections)?;
    let lead = input.lead_department.trim().to_uppercase();
    if !policy::may_open(who, &lead) {
        return Err(AppError::Forbidden("只能为本部门制定检查计划。".into()));
    }
    let today = crate::platform::clock::shanghai_date(now);
    let mut errors = Vec::new();
    if !(today.year()..=today.year() + 1).contains(&input.year) {
        errors.push(FieldError::new(
            "year",
            format!("计划年度应为 {} 或 {} 年", today.year(), today.year() + 1),
        ));
    } else if input.year == today.year() && today.month() > 3 && !policy::may_approve_plans(who) {
        errors.push(FieldError::new(
            "year",
            "年度检查计划应在每年第一季度制定；第一季度之后如需补充，请联系协调办",
        ));
    }
    let departments = match rules::departments_of(&lead, &input.joint_departments) {
        Ok(d) => d,
        Err(m) => {
            errors.push(FieldError::new("joint_departments", m));
            Vec::new()
        }
    };
    for d in &departments {
        if crate::reference::find_department(conn, d)?.is_none() {
            errors.push(FieldError::new(
                "joint_departments",
                format!("没有部门 {d}"),
            ));
        }
    }
    let from = date(
        &mut errors,
        "period_from",
        "计划开始日期",
        &input.period_from,
        today,
    );
    let to = date(
        &mut errors,
        "period_to",
        "计划结束日期",
        &input.period_to,
        today,
    );
    if let (Some(f), Some(t)) = (from, to) {
        if t < f || f.year() != input.year || t.year() != input.year {
            errors.push(FieldError::new(
                "period_to",
                "计划时间段应在计划年度之内，且结束不早于开始",
            ));
        }
    }
    if !(1..=10_000).contains(&input.target_count) {
        errors.push(FieldError::new(
            "target_count",
            "计划检查对象数量应为 1 到 10000",
        ));
    }
    let scope = input.scope.trim().to_owned();
    if scope.is_empty() || scope.chars().count() > 1000 {
        errors.push(FieldError::new(
            "scope",
            "请填写检查对象范围（1000 字以内）",
        ));
    }
    let content = input.content.trim().to_owned();
    if content.is_empty() || content.chars().count() > 2000 {
        errors.push(FieldError::new(
            "content",
            "请填写检查主要内容（2000 字以内）",
        ));
    }
    let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let plan = store::Plan {
        id: uuid::Uuid::now_v7().to_string(),
        year: input.year,
        lead_department: lead,
        joint_departments: departments[1..].join(","),
        period_from: from,
        period_to: to,
        target_count: input.target_count,
        scope,
        content,
        exempt_from_publication: i32::from(input.exempt_from_publication),
        state: "draft".into(),
        approved_by: None,
        approved_at: None,
        created_by: Some(who.id.clone()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store::insert_plan(conn, &plan)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection_plan",
            entity_id: &plan.id,
            action: "create",
            before: None,
            after: Some(serde_json::to_value(plan.view(0)).map_err(AppError::internal)?),
        },
    )?;
    Ok(plan)
}

/// The coordination office approves a plan (then it is published unless exempt).
pub fn approve_plan(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<store::Plan> {
    if !policy::may_approve_plans(who) {
        return Err(AppError::Forbidden("检查计划由协调办审核。".into()));
    }
    let plan = store::find_plan(conn, id)?
        .ok_or_else(|| AppError::NotFound("没有这个检查计划。".into()))?;
    if plan.state != "draft" || !store::approve_plan(conn, &plan, &who.id, now)? {
        return Err(AppError::InvalidTransition(
            "该检查计划已经审核过了。".into(),
        ));
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection_plan",
            entity_id: &plan.id,
            action: "approve",
            before: Some(serde_json::json!({"state": "draft"})),
            after: Some(serde_json::json!({"state": "approved"})),
        },
    )?;
    store::find_plan(conn, id)?.ok_or_else(|| AppError::NotFound("没有这个检查计划。".into()))
}

/// The plans of a year with how many tasks each has carried out; the public sees only
/// approved plans not exempt from publication.
pub fn plans(conn: &mut DbConnection, year: i32, public: bool) -> AppResult<Vec<PlanView>> {
    let rows: Vec<store::Plan> = store::plans(conn, year, public)?
        .into_iter()
        .filter(|p| !public || p.exempt_from_publication == 0)
        .collect();
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let done = store::carried_out(conn, &ids)?;
    Ok(rows
        .iter()
        .map(|p| {
            p.view(
                done.iter()
                    .find(|(id, _)| *id == p.id)
                    .map_or(0, |(_, n)| *n),
            )
        })
        .collect())
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
        created_at: crate::platform::clock::rfc3339(task.created_at),
        completed_at: task.completed_at.map(crate::platform::clock::rfc3339),
        archived_at: task.archived_at.map(crate::platform::clock::rfc3339),
        version: task.version,
    })
}

fn refuse_closed(task: &Inspection) -> AppResult<()> {
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

fn save(conn: &mut DbConnection, before: &Inspection, after: &Inspection) -> AppResult<()> {
    if !store::save(conn, before, after)? {
        return Err(AppError::Conflict(
            "该检查任务刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    Ok(())
}

fn audit_task(
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
            let earlier = store::latest_results(
                conn,
                &before.mine_id,
                std::slice::from_ref(&code),
                &before.id,
            )?;
            match earlier.first() {
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

// ---- the enterprise (扫码评价) ----

/// The tasks on the enterprise user's own mine, newest first, with its rating of each.
pub fn of_own_mine(
    conn: &mut DbConnection,
    who: &Principal,
) -> AppResult<Vec<(Inspection, Option<store::Rating>)>> {
    authz::require(who, Action::RateInspections)?;
    let mine = who.mine_id.clone().unwrap_or_default();
    let tasks = store::of_mine(conn, &mine, 100)?;
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let ratings = store::ratings_of(conn, &ids)?;
    Ok(tasks
        .into_iter()
        .map(|t| {
            let r = ratings.iter().find(|r| r.inspection_id == t.id).cloned();
            (t, r)
        })
        .collect())
}

/// A task of the enterprise user's own mine (another mine's is not found).
fn own_task(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Inspection> {
    authz::require(who, Action::RateInspections)?;
    match store::find(conn, id)? {
        Some(t) if Some(&t.mine_id) == who.mine_id.as_ref() => Ok(t),
        _ => Err(AppError::NotFound("没有这个检查任务。".into())),
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: String,
    #[serde(default)]
    pub comment: String,
}

/// The enterprise rates a finished visit, once.
pub fn rate(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: RatingInput,
) -> AppResult<store::Rating> {
    let task = own_task(conn, who, id)?;
    let verdict = rules::Verdict::parse(input.verdict.trim()).ok_or_else(|| {
        AppError::field("verdict", format!("评价只能是 {}", rules::Verdict::codes()))
    })?;
    let comment = input.comment.trim().to_owned();
    if comment.chars().count() > 1000 {
        return Err(AppError::field("comment", "意见不能超过 1000 字"));
    }
    if !matches!(
        task.state,
        InspectionState::Completed | InspectionState::Archived
    ) {
        return Err(AppError::InvalidTransition("检查完成后才能评价。".into()));
    }
    if !store::ratings_of(conn, std::slice::from_ref(&task.id))?.is_empty() {
        return Err(AppError::Conflict(
            "本次检查已经评价过了，每次检查只能评价一次。".into(),
        ));
    }
    let rating = store::Rating {
        inspection_id: task.id.clone(),
        mine_id: task.mine_id.clone(),
        verdict: verdict.code().to_owned(),
        comment,
        rated_by: Some(who.id.clone()),
        rated_at: now,
    };
    store::insert_rating(conn, &rating)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection",
            entity_id: &task.id,
            action: "rate",
            before: None,
            after: Some(serde_json::json!({"verdict": rating.verdict, "comment": rating.comment})),
        },
    )?;
    Ok(rating)
}

/// The enterprise complains about a visit: a lead for the coordination office.
pub fn complain(
    state: &crate::web::AppState,
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    text: &str,
) -> AppResult<crate::leads::Lead> {
    let task = own_task(conn, who, id)?;
    crate::leads::complaint_from_enterprise(
        state,
        conn,
        who,
        &task.mine_id,
        &task.number,
        text,
        now,
    )
}

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
    let standard_item = input
        .standard_item
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if grade == Some(HazardGrade::Major) && standard_item.is_none() {
        errors.push(FieldError::new(
            "standard_item",
            "重大事故隐患请选择判定标准中的条款",
        ));
    }
    if standard_item
        .as_ref()
        .is_some_and(|s| s.chars().count() > 40)
    {
        errors.push(FieldError::new("standard_item", "判定标准条款编号过长"));
    }
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
    let mine = crate::register::mines::find(conn, &task.mine_id)?;
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
                if grade == HazardGrade::Major {
                    "重大事故隐患应责令停产整顿，可在矿山页面变更状态。"
                } else {
                    ""
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

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InspectionQuery {
    pub mine_id: Option<String>,
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
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "每页 1 到 200 条"));
    }
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match c
            .split_once('_')
            .and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned())))
        {
            Some(a) => Some(a),
            None => {
                errors.push(FieldError::new("cursor", "翻页标记无效"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let own = match who.role {
        crate::platform::rules::role::Role::Officer | crate::platform::rules::role::Role::Head => {
            who.department.clone()
        }
        _ => None,
    };
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
    Ok(Some(PublicTask {
        mine_name,
        departments: departments
            .iter()
            .map(|d| crate::reference::unit_name(conn, &d.department))
            .collect(),
        inspectors: inspectors
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    crate::reference::unit_name(conn, &i.department),
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
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "每页 1 到 200 条"));
    }
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match c
            .split_once('_')
            .and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned())))
        {
            Some(a) => Some(a),
            None => {
                errors.push(FieldError::new("cursor", "翻页标记无效"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let own = match who.role {
        crate::platform::rules::role::Role::Officer | crate::platform::rules::role::Role::Head => {
            who.department.clone()
        }
        _ => None,
    };
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
