//! 年度检查计划: the staff list with approval, the public list, the form.

use super::{messages, name, names};
use crate::inspections::{self as inspections};
use crate::platform::authz::{self, Action};
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use std::collections::HashMap;

#[derive(serde::Deserialize)]
pub(super) struct YearQuery {
    year: Option<i32>,
}

pub(super) fn year_of(req: &HttpRequest, state: &AppState) -> i32 {
    use chrono::Datelike;
    web::Query::<YearQuery>::from_query(&query_without_flash(req))
        .ok()
        .and_then(|q| q.year)
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.today().year())
}

pub(super) fn plan_rows(
    plans: &[inspections::PlanView],
    names: &HashMap<String, String>,
) -> Vec<Vec<Cell>> {
    plans
        .iter()
        .map(|p| {
            vec![
                cell(name(names, &p.lead_department)),
                cell(
                    p.joint_departments
                        .iter()
                        .map(|d| name(names, d))
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                cell(format!("{} 至 {}", p.period_from, p.period_to)),
                cell(format!("{} 家", p.target_count)),
                cell(&p.scope),
                cell(&p.content),
                cell(format!("{} / {}", p.carried_out, p.target_count)),
            ]
        })
        .collect()
}

/// 年度检查计划 for staff: every plan of the year, drafts waiting for the office's approval.
pub(super) async fn plans_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewInspections).page(&s)?;
    let year = year_of(&req, &state);
    let st = state.clone();
    let plans = blocking(move || st.db.read(|conn| inspections::plans(conn, year, false)))
        .await
        .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let mut rows = plan_rows(&plans, &names);
    for (row, p) in rows.iter_mut().zip(&plans) {
        row.push(cell(match (p.state.as_str(), p.exempt_from_publication) {
            ("approved", true) => "已审核（不公开）",
            ("approved", false) => "已审核并公开",
            _ => "待协调办审核",
        }));
    }
    let coordinator = crate::inspections::policy::may_approve_plans(&s.principal);
    let drafts: Vec<(String, String)> = plans
        .iter()
        .filter(|p| coordinator && p.state == "draft")
        .map(|p| {
            (
                format!("/inspection-plans/{}/approve", p.id),
                format!(
                    "审核同意：{}（{} 起）",
                    name(&names, &p.lead_department),
                    p.period_from
                ),
            )
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "年度检查计划", "/inspections").await,
        heading: format!("{year} 年度“综合查一次”检查计划"),
        intro: Some(format!(
            "各牵头部门于每年第一季度制定，协调办审核后向社会公布（依法不予公开的除外）。每家企业每年检查不超过 {} 次。",
            state.settings.inspection.annual_cap
        )),
        new_link: authz::allowed(&s.principal, Action::OpenInspections)
            .then(|| ("/inspection-plans/new".to_owned(), "制定年度检查计划".to_owned())),
        filters: vec![Field::new("year", "年度", "number", year.to_string())],
        filter_action: "/inspection-plans".into(),
        result: (!drafts.is_empty()).then(|| format!("有 {} 份计划待审核。", drafts.len())),
        headers: vec!["牵头部门", "联合部门", "时间段", "计划检查对象", "检查对象范围", "主要内容", "已实施", "状态"],
        rows,
        next_href: None,
        empty_text: "本年度还没有检查计划。",
        total: Some(plans.len() as i64),
        charts: Vec::new(),
        export_href: None,
        post_buttons: drafts,
        more_links: vec![
            ("/public/inspection-plans".into(), "公开的检查计划".into()),
            ("/inspections".into(), "检查任务".into()),
        ],
    };
    Ok(render(&page))
}

#[derive(serde::Deserialize)]
pub(super) struct Empty {}

pub(super) async fn approve(
    state: web::Data<AppState>,
    form: PageForm<Empty>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    blocking(move || {
        st.db
            .transaction(|conn| inspections::approve_plan(conn, &who, now, &id))
    })
    .await
    .page(&s)?;
    Ok(redirect("/inspection-plans?ok=saved"))
}

/// The published plans of a year, for anyone (向社会公布检查计划), with the annual cap.
pub(super) async fn public_plans(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let year = year_of(&req, &state);
    let st = state.clone();
    let plans = blocking(move || {
        st.db
            .read_lagging(|conn| inspections::plans(conn, year, true))
    })
    .await?;
    let names = names(&state).await?;
    let page = TablePage {
        ctx: public_ctx("检查计划公开"),
        heading: format!(
            "{}{year} 年度涉企联合检查计划",
            state.settings.public.district_name
        ),
        intro: Some(format!(
            "“综合查一次”：同一企业一年内检查不超过 {} 次，{} 天内不重复检查。",
            state.settings.inspection.annual_cap, state.settings.inspection.repeat_window_days
        )),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/public/inspection-plans".into(),
        result: None,
        headers: vec![
            "牵头部门",
            "联合部门",
            "时间段",
            "计划检查对象",
            "检查对象范围",
            "主要内容",
            "已实施",
        ],
        rows: plan_rows(&plans, &names),
        next_href: None,
        empty_text: "本年度暂无公开的检查计划。",
        total: Some(plans.len() as i64),
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

/// The plan form as typed (joint departments as `joint.EE` checkboxes).
#[derive(Default)]
pub(super) struct PlanForm {
    year: String,
    lead_department: String,
    joint: Vec<String>,
    period_from: String,
    period_to: String,
    target_count: String,
    scope: String,
    content: String,
    exempt: bool,
}

#[derive(Template)]
#[template(path = "inspection_plan_new.html")]
pub(super) struct PlanPage {
    ctx: PageCtx,
    form: PlanForm,
    errors: Vec<String>,
    lead_options: Vec<(String, String)>,
    departments: Vec<(String, String)>,
}

pub(super) async fn plan_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    mut form: PlanForm,
    errors: Vec<String>,
) -> PageResult {
    authz::require(&s.principal, Action::OpenInspections).page(s)?;
    let names = names(state).await.page(s)?;
    let mut departments: Vec<(String, String)> = names.into_iter().collect();
    departments.sort();
    let lead_options = departments
        .iter()
        .filter(|d| crate::inspections::policy::may_open(&s.principal, &d.0))
        .cloned()
        .collect();
    if form.lead_department.is_empty() {
        form.lead_department = s.principal.department.clone().unwrap_or_default();
    }
    let page = PlanPage {
        ctx: page_ctx(state, s, req, "制定年度检查计划", "/inspections").await,
        form,
        errors,
        lead_options,
        departments,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

pub(super) async fn new_plan(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    use chrono::Datelike;
    let s = signed_in!(ps, req);
    let year = state.today().year();
    let form = PlanForm {
        year: year.to_string(),
        period_from: format!("{year}-04-01"),
        period_to: format!("{year}-12-31"),
        ..PlanForm::default()
    };
    plan_page(&state, &s, &req, form, Vec::new()).await
}

pub(super) async fn create_plan(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let mut joint: Vec<String> = m
        .keys()
        .filter_map(|k| k.strip_prefix("joint.").map(str::to_owned))
        .collect();
    joint.sort();
    let f = PlanForm {
        year: get("year"),
        lead_department: get("lead_department"),
        joint,
        period_from: get("period_from"),
        period_to: get("period_to"),
        target_count: get("target_count"),
        scope: get("scope"),
        content: get("content"),
        exempt: m.contains_key("exempt"),
    };
    let mut errors = Vec::new();
    let year = f.year.trim().parse::<i32>().unwrap_or_else(|_| {
        errors.push("计划年度应为数字，如 2026".to_owned());
        0
    });
    let target_count = f.target_count.trim().parse::<i32>().unwrap_or_else(|_| {
        errors.push("计划检查对象数量应为数字".to_owned());
        0
    });
    if !errors.is_empty() {
        return plan_page(&state, &s, &req, f, errors).await;
    }
    let input = inspections::NewPlan {
        year,
        lead_department: f.lead_department.clone(),
        joint_departments: f.joint.clone(),
        period_from: f.period_from.clone(),
        period_to: f.period_to.clone(),
        target_count,
        scope: f.scope.clone(),
        content: f.content.clone(),
        exempt_from_publication: f.exempt,
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::create_plan(conn, &who, now, input))
    })
    .await;
    match result {
        Ok(p) => Ok(redirect(&format!(
            "/inspection-plans?year={}&ok=created",
            p.year
        ))),
        Err(AppError::Validation(errors)) => {
            plan_page(&state, &s, &req, f, messages(&errors)).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}
