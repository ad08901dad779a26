//! Annual plans (年度检查计划): drawn up in the first quarter, approved by the office,
//! published unless exempt, carried out by tasks.

use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::date;
use super::policy;
use super::rules::{self};
use super::store::{self};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

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
