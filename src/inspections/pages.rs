//! 综合查一次 pages: the tasks, opening one, the task page where each department records
//! its results on the phone and hazards are re-inspected, the printable notice with its
//! inspection code, the public page the code opens, the hazards and the catalogue.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::inspections::rules::{Basis, InspectionState, Outcome, OverrideKind};
use crate::inspections::{self as inspections, InspectionView, NewInspection};
use crate::platform::authz::{self, Action};
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::submitted;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/inspections", web::get().to(list))
        .route("/inspections/new", web::get().to(new_form))
        .route("/inspections/new", web::post().to(create))
        .route("/inspections/stats", web::get().to(stats_page))
        .route("/inspections/{id}", web::get().to(detail))
        .route("/inspections/{id}/notice", web::get().to(notice))
        .route("/inspections/{id}/results", web::post().to(results))
        .route("/inspections/{id}/hazards", web::post().to(hazard))
        .route("/inspections/{id}/{step}", web::post().to(step))
        .route("/hazards", web::get().to(hazards))
        .route("/hazards/{id}/reinspect", web::post().to(reinspect))
        .route("/inspection-items", web::get().to(catalogue))
        .route("/inspection-items/new", web::get().to(new_item))
        .route("/inspection-items", web::post().to(add_item))
        .route("/my-inspections", web::get().to(own))
        .route("/my-inspections/{id}/rating", web::post().to(own_rate))
        .route(
            "/my-inspections/{id}/complaint",
            web::post().to(own_complaint),
        )
        .route("/public/inspections/{code}", web::get().to(public_code))
        .route("/inspection-plans", web::get().to(plans_page))
        .route("/inspection-plans", web::post().to(create_plan))
        .route("/inspection-plans/new", web::get().to(new_plan))
        .route("/inspection-plans/{id}/approve", web::post().to(approve))
        .route("/public/inspection-plans", web::get().to(public_plans));
}

/// Department names by code.
async fn names(state: &web::Data<AppState>) -> Result<HashMap<String, String>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(crate::reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

fn name(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<inspections::InspectionQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, who, query, today) = (state.clone(), s.principal.clone(), q.clone(), state.today());
    let (rows, next) = blocking(move || {
        st.db.read(|conn| {
            let (rows, next) = inspections::list(conn, &who, &query)?;
            Ok((inspections::summaries(conn, &rows, today)?, next))
        })
    })
    .await
    .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let table_rows = rows
        .iter()
        .map(|v| {
            vec![
                link(&v.number, format!("/inspections/{}", v.id)),
                cell(&v.mine_name),
                cell(name(&names, &v.lead_department)),
                cell(
                    v.departments
                        .iter()
                        .filter(|d| d.part == "joint")
                        .map(|d| name(&names, &d.department))
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                cell(if v.window_from == v.window_to {
                    v.window_from.clone()
                } else {
                    format!("{} 至 {}", v.window_from, v.window_to)
                }),
                cell(v.state_label),
                cell(format!(
                    "{}{}",
                    v.open_hazards,
                    if v.overdue_hazards > 0 {
                        "（有逾期）"
                    } else {
                        ""
                    }
                )),
            ]
        })
        .collect();
    let mut state_options = vec![(String::new(), "全部".to_owned())];
    state_options.extend(
        InspectionState::ALL
            .iter()
            .map(|s| (s.code().to_owned(), s.label().to_owned())),
    );
    let next_href = next.map(|c| {
        format!(
            "/inspections?{}",
            serde_urlencoded::to_string([
                ("state", q.state.clone().unwrap_or_default()),
                ("cursor", c)
            ])
            .unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "综合查一次", "/inspections").await,
        heading: "综合查一次 · 检查任务".into(),
        intro: Some("“进一次门、查多项事”：牵头部门发起任务，各参加部门录入本部门检查结果，发现的隐患限期整改、复查销号。".into()),
        new_link: authz::allowed(&s.principal, Action::OpenInspections)
            .then(|| ("/inspections/new".to_owned(), "发起检查任务".to_owned())),
        filters: vec![Field::new("state", "状态", "select", q.state.clone().unwrap_or_default())
            .options(state_options)],
        filter_action: "/inspections".into(),
        result: None,
        headers: vec!["编号", "矿山", "牵头部门", "联合部门", "检查时间", "状态", "未销号隐患"],
        rows: table_rows,
        next_href,
        empty_text: "还没有检查任务。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![
            ("/hazards".into(), "隐患整改".into()),
            ("/inspection-plans".into(), "年度检查计划".into()),
            ("/inspections/stats".into(), "检查指标".into()),
            ("/inspection-items".into(), "事项清单".into()),
        ],
    };
    Ok(render(&page))
}

/// The new-task form as typed (checkboxes arrive as `joint.EE`, `inspector.<id>`, `item.<code>`).
#[derive(Default)]
struct TaskForm {
    mine_id: String,
    lead_department: String,
    joint: Vec<String>,
    inspectors: Vec<String>,
    items: Vec<String>,
    window_from: String,
    window_to: String,
    basis: String,
    basis_ref: String,
    override_kind: String,
    override_reason: String,
    lead_id: String,
}

impl TaskForm {
    fn from_map(m: &HashMap<String, String>) -> Self {
        let get = |k: &str| m.get(k).cloned().unwrap_or_default();
        let keys = |prefix: &str| {
            let mut v: Vec<String> = m
                .keys()
                .filter_map(|k| k.strip_prefix(prefix).map(str::to_owned))
                .collect();
            v.sort();
            v
        };
        Self {
            mine_id: get("mine_id"),
            lead_department: get("lead_department"),
            joint: keys("joint."),
            inspectors: keys("inspector."),
            items: keys("item."),
            window_from: get("window_from"),
            window_to: get("window_to"),
            basis: get("basis"),
            basis_ref: get("basis_ref"),
            override_kind: get("override_kind"),
            override_reason: get("override_reason"),
            lead_id: get("lead_id"),
        }
    }
}

#[derive(Template)]
#[template(path = "inspection_new.html")]
struct NewPage {
    ctx: PageCtx,
    form: TaskForm,
    errors: Vec<String>,
    recent: Vec<String>,
    mines: Vec<(String, String)>,
    lead_options: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    inspectors: Vec<(String, String, String, String)>,
    items: Vec<(String, String, String)>,
    bases: Vec<(String, String)>,
    override_kinds: Vec<(String, String)>,
    window_days: i64,
    cap: u32,
}

async fn new_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: TaskForm,
    errors: Vec<String>,
) -> PageResult {
    authz::require(&s.principal, Action::OpenInspections).page(s)?;
    let (st, who, mine) = (state.clone(), s.principal.clone(), form.mine_id.clone());
    let (mines, deps, people, items, recent) = blocking(move || {
        st.db.read(|conn| {
            let mines = crate::register::mines::open_choices(conn, None, 2000)?;
            let deps: Vec<(String, String)> = crate::reference::departments(conn)?
                .into_iter()
                .filter(|d| d.active != 0)
                .map(|d| (d.code, d.name))
                .collect();
            let people = crate::accounts::certified(conn)?;
            let items: Vec<(String, String, String)> = inspections::items(conn, None)?
                .into_iter()
                .filter(|i| i.active != 0)
                .map(|i| (i.code, i.name, i.department))
                .collect();
            let recent = if mine.is_empty() {
                Vec::new()
            } else {
                inspections::of_mine(conn, &who, &mine)?
                    .into_iter()
                    .take(5)
                    .map(|t| format!("{} {} 起（{}）", t.number, t.window_from, t.state.label()))
                    .collect()
            };
            Ok((mines, deps, people, items, recent))
        })
    })
    .await
    .page(s)?;
    let dep_name = |c: &str| {
        deps.iter()
            .find(|d| d.0 == c)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let own = s.principal.department.clone().unwrap_or_default();
    let lead_options = deps
        .iter()
        .filter(|d| crate::inspections::policy::may_open(&s.principal, &d.0))
        .cloned()
        .collect();
    let mut form = form;
    if form.lead_department.is_empty() {
        form.lead_department = own;
    }
    if form.basis.is_empty() {
        form.basis = if form.lead_id.is_empty() {
            Basis::Plan.code().into()
        } else {
            Basis::Lead.code().into()
        };
    }
    let page = NewPage {
        ctx: page_ctx(state, s, req, "发起检查任务", "/inspections").await,
        form,
        errors,
        recent,
        mines,
        lead_options,
        departments: deps.clone(),
        inspectors: people
            .into_iter()
            .map(|(id, n, d, c)| (id, n, dep_name(&d), c))
            .collect(),
        items: items
            .into_iter()
            .map(|(c, n, d)| (c, n, dep_name(&d)))
            .collect(),
        bases: Basis::ALL
            .iter()
            .map(|b| (b.code().to_owned(), b.label().to_owned()))
            .collect(),
        override_kinds: OverrideKind::ALL
            .iter()
            .map(|k| (k.code().to_owned(), k.label().to_owned()))
            .collect(),
        window_days: state.settings.inspection.repeat_window_days,
        cap: state.settings.inspection.annual_cap,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

#[derive(serde::Deserialize)]
struct NewQuery {
    mine_id: Option<String>,
    lead_id: Option<String>,
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<NewQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(NewQuery {
            mine_id: None,
            lead_id: None,
        });
    let today = state.today().to_string();
    let form = TaskForm {
        mine_id: q.mine_id.unwrap_or_default(),
        lead_id: q.lead_id.unwrap_or_default(),
        window_from: today.clone(),
        window_to: today,
        ..TaskForm::default()
    };
    new_page(&state, &s, &req, form, Vec::new()).await
}

fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.message.clone()).collect()
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let f = TaskForm::from_map(&form.form);
    let input = NewInspection {
        mine_id: f.mine_id.clone(),
        lead_department: f.lead_department.clone(),
        joint_departments: f.joint.clone(),
        inspectors: f.inspectors.clone(),
        items: f.items.clone(),
        window_from: f.window_from.clone(),
        window_to: f.window_to.clone(),
        basis: f.basis.clone(),
        basis_ref: Some(f.basis_ref.clone()),
        plan_id: None,
        lead_id: Some(f.lead_id.clone()),
        override_kind: Some(f.override_kind.clone()),
        override_reason: Some(f.override_reason.clone()),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let settings = state.settings.inspection.clone();
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::open(conn, &who, now, &settings, input))
    })
    .await;
    match result {
        Ok(t) => Ok(redirect(&format!("/inspections/{}?ok=created", t.id))),
        Err(AppError::Validation(errors)) => new_page(&state, &s, &req, f, messages(&errors)).await,
        Err(AppError::Refused { detail, .. }) => new_page(&state, &s, &req, f, vec![detail]).await,
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

struct ItemRow {
    code: String,
    name: String,
    department: String,
    basis: String,
    outcome: String,
    note: String,
    earlier: String,
}

struct RecordItem {
    code: String,
    name: String,
    outcome: String,
    note: String,
    /// The task whose result may be recognised, when there is one.
    earlier_task: String,
}

struct RecordForm {
    department: String,
    department_name: String,
    items: Vec<RecordItem>,
}

struct HazardForm {
    items: Vec<(String, String)>,
}

struct HazardRow {
    id: String,
    number: String,
    grade: &'static str,
    major: bool,
    standard_item: String,
    description: String,
    rectify_by: String,
    overdue: bool,
    department: String,
    state: &'static str,
    note: String,
    may_reinspect: bool,
    /// For an open major hazard, where the reader may order the mine to stop (停产整顿).
    suspend_href: String,
    version: i32,
}

#[derive(Template)]
#[template(path = "inspection.html")]
struct TaskPage {
    ctx: PageCtx,
    v: InspectionView,
    errors: Vec<String>,
    lead_name: String,
    departments: Vec<(String, bool)>,
    override_label: String,
    can_run: bool,
    open: bool,
    rows: Vec<ItemRow>,
    record: Option<RecordForm>,
    hazard_form: Option<HazardForm>,
    hazards: Vec<HazardRow>,
    outcomes: Vec<(&'static str, &'static str)>,
    /// The draft the browser may forget now that the server has the results.
    cleared_draft: String,
}

async fn task_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: Vec<String>,
) -> PageResult {
    let (st, who, tid, today) = (
        state.clone(),
        s.principal.clone(),
        id.to_owned(),
        state.today(),
    );
    let (task, v) = blocking(move || {
        st.db.read(|conn| {
            let task = inspections::load(conn, &who, &tid)?;
            let v = inspections::view(conn, &task, today)?;
            Ok((task, v))
        })
    })
    .await
    .page(s)?;
    let names = names(state).await.page(s)?;
    let p = &s.principal;
    let open = task.state.is_open();
    let mine_department = p
        .department
        .clone()
        .filter(|d| v.departments.iter().any(|x| &x.department == d))
        .filter(|d| open && crate::inspections::policy::may_record(p, d));
    let record = mine_department.as_ref().map(|d| RecordForm {
        department: d.clone(),
        department_name: name(&names, d),
        items: v
            .items
            .iter()
            .filter(|i| &i.department == d)
            .map(|i| RecordItem {
                code: i.code.clone(),
                name: i.name.clone(),
                outcome: i.outcome.map(|o| o.code().to_owned()).unwrap_or_default(),
                note: i.note.clone(),
                earlier_task: i.earlier.as_ref().map(|e| e.0.clone()).unwrap_or_default(),
            })
            .collect(),
    });
    let findings: Vec<(String, String)> = v
        .items
        .iter()
        .filter(|i| i.outcome == Some(Outcome::Finding))
        .filter(|i| crate::inspections::policy::may_record(p, &i.department))
        .map(|i| (i.code.clone(), format!("{} {}", i.code, i.name)))
        .collect();
    let hazard_form = (task.state != InspectionState::Archived
        && task.state != InspectionState::Cancelled
        && !findings.is_empty())
    .then_some(HazardForm { items: findings });
    let rows = v
        .items
        .iter()
        .map(|i| ItemRow {
            code: i.code.clone(),
            name: i.name.clone(),
            department: name(&names, &i.department),
            basis: i.legal_basis.clone(),
            outcome: i.outcome.map_or("待录入", |o| o.label()).to_owned(),
            note: i.note.clone(),
            earlier: i
                .earlier
                .as_ref()
                .map(|e| format!("{} {}（{}）", e.2, e.1.label(), e.0))
                .unwrap_or_else(|| "无".into()),
        })
        .collect();
    let hazards = v
        .hazards
        .iter()
        .map(|h| HazardRow {
            id: h.id.clone(),
            number: h.number.clone(),
            grade: h.grade_label,
            major: h.grade == crate::inspections::rules::HazardGrade::Major,
            standard_item: h.standard_item.clone().unwrap_or_default(),
            description: h.description.clone(),
            rectify_by: h.rectify_by.clone(),
            overdue: h.overdue,
            department: name(&names, &h.responsible_department),
            state: h.state_label,
            note: h.reinspection_note.clone(),
            may_reinspect: h.state.is_open()
                && crate::inspections::policy::may_record(p, &h.responsible_department),
            suspend_href: if h.state.is_open()
                && h.grade == crate::inspections::rules::HazardGrade::Major
                && authz::allowed(p, Action::EditMines)
            {
                format!("/mines/{}", h.mine_id)
            } else {
                String::new()
            },
            version: h.version,
        })
        .collect();
    let mut ctx = page_ctx(state, s, req, &v.number, "/inspections").await;
    if ctx.flash.is_none() {
        ctx.flash = match req.query_string() {
            q if q.contains("ok=created") => Some("检查任务已发起，已通知各参加部门。".into()),
            q if q.contains("ok=results") => Some("本部门检查结果已提交。".into()),
            q if q.contains("ok=hazard") => Some("隐患已登记，已通知负责部门。".into()),
            q if q.contains("ok=step") => Some("已办理。".into()),
            q if q.contains("ok=reinspect") => Some("复查情况已记录。".into()),
            _ => None,
        };
    }
    let page = TaskPage {
        ctx,
        lead_name: name(&names, &v.lead_department),
        departments: v
            .departments
            .iter()
            .map(|d| (name(&names, &d.department), d.recorded))
            .collect(),
        override_label: v
            .override_kind
            .as_deref()
            .and_then(OverrideKind::parse)
            .map_or("", |k| k.label())
            .to_owned(),
        can_run: crate::inspections::policy::may_run(p, &task) && open,
        open,
        rows,
        record,
        hazard_form,
        hazards,
        outcomes: Outcome::ALL.iter().map(|o| (o.code(), o.label())).collect(),
        cleared_draft: match (&mine_department, req.query_string().contains("ok=results")) {
            (Some(d), true) => format!("inspection-{}-{d}", v.id),
            _ => String::new(),
        },
        errors,
        v,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    task_page(&state, &s, &req, &id, Vec::new()).await
}

/// The outcome of a form on the task page: back to the task, or the task with the messages.
async fn after(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    id: &str,
    result: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match result {
        Ok(()) => Ok(redirect(&format!("/inspections/{id}?ok={ok}"))),
        Err(AppError::Validation(errors)) => task_page(state, &s, req, id, messages(&errors)).await,
        Err(e @ (AppError::InvalidTransition(_) | AppError::Conflict(_))) => {
            let message = e.problem().detail;
            task_page(state, &s, req, id, vec![message]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn results(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    let department = m.get("department").cloned().unwrap_or_default();
    let mut rows: Vec<inspections::ResultInput> = m
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("outcome.")
                .map(|code| (code.to_owned(), v.clone()))
        })
        .map(|(code, outcome)| inspections::ResultInput {
            note: m.get(&format!("note.{code}")).cloned().unwrap_or_default(),
            recognised_from: m.get(&format!("from.{code}")).cloned(),
            item: code,
            outcome,
        })
        .collect();
    rows.sort_by(|a, b| a.item.cmp(&b.item));
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db.transaction(|conn| {
            inspections::record(
                conn,
                &who,
                now,
                &tid,
                inspections::Results {
                    department,
                    results: rows,
                },
            )
            .map(|_| ())
        })
    })
    .await;
    after(&state, &req, s, &id, result, "results").await
}

async fn hazard(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let input = inspections::NewHazard {
        item: get("item"),
        grade: get("grade"),
        standard_item: Some(get("standard_item")),
        description: get("description"),
        rectify_by: get("rectify_by"),
        responsible_department: None,
    };
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::add_hazard(conn, &who, now, &tid, input).map(|_| ()))
    })
    .await;
    after(&state, &req, s, &id, result, "hazard").await
}

#[derive(serde::Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReasonForm>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = form.session;
    let (id, step) = path.into_inner();
    let reason = form.form.reason;
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db.transaction(|conn| match step.as_str() {
            "complete" => inspections::complete(conn, &who, now, &tid).map(|_| ()),
            other => inspections::run(conn, &who, now, &tid, other, &reason).map(|_| ()),
        })
    })
    .await;
    after(&state, &req, s, &id, result, "step").await
}

#[derive(serde::Deserialize)]
struct ReinspectForm {
    #[serde(default)]
    abated: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: String,
}

async fn reinspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReinspectForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let (st, who, hid, now) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db.transaction(|conn| {
            let h = inspections::reinspect(
                conn,
                &who,
                now,
                &hid,
                inspections::Reinspection {
                    abated: f.abated.is_some(),
                    note: f.note,
                    version: f.version.parse().ok(),
                },
            )?;
            Ok(h.inspection_id)
        })
    })
    .await;
    match result {
        Ok(task) => Ok(redirect(&format!("/inspections/{task}?ok=reinspect"))),
        Err(e) => {
            let (st, hid) = (state.clone(), id.clone());
            let task =
                blocking(move || {
                    st.db.read(|conn| {
                        Ok(crate::inspections::store::find_hazard(conn, &hid)?
                            .map(|h| h.inspection_id))
                    })
                })
                .await
                .page(&s)?;
            match task {
                Some(t) => after(&state, &req, s, &t, Err(e), "reinspect").await,
                None => Err(PageError(e, Some(Box::new(s)))),
            }
        }
    }
}

async fn hazards(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<inspections::HazardQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let today = state.today();
    let (st, who, query) = (state.clone(), s.principal.clone(), q.clone());
    let (rows, next) = blocking(move || {
        st.db
            .read(|conn| inspections::hazards(conn, &who, &query, today))
    })
    .await
    .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let table_rows = rows
        .iter()
        .map(|h| {
            let v = h.view(today);
            vec![
                link(&v.number, format!("/inspections/{}", v.inspection_id)),
                if v.grade == crate::inspections::rules::HazardGrade::Major {
                    badge(v.grade_label, "grade-major")
                } else {
                    cell(v.grade_label)
                },
                cell(&v.description),
                if v.overdue {
                    badge(format!("{}（已逾期）", v.rectify_by), "overdue")
                } else {
                    cell(&v.rectify_by)
                },
                cell(name(&names, &v.responsible_department)),
                cell(v.state_label),
            ]
        })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/hazards?state={}&cursor={c}",
            q.state.clone().unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "隐患整改", "/inspections").await,
        heading: "隐患整改（责令限期整改、复查销号）".into(),
        intro: Some("检查发现的隐患按整改期限排列；负责部门到期复查，整改到位后销号。".into()),
        new_link: None,
        filters: vec![
            Field::new(
                "state",
                "状态",
                "select",
                q.state.clone().unwrap_or_default(),
            )
            .options(vec![
                (String::new(), "全部".into()),
                ("open".into(), "未销号".into()),
                ("closed".into(), "已销号".into()),
            ]),
            Field::new(
                "overdue",
                "逾期",
                "select",
                q.overdue.map(|o| o.to_string()).unwrap_or_default(),
            )
            .options(vec![
                (String::new(), "全部".into()),
                ("true".into(), "只看逾期".into()),
            ]),
        ],
        filter_action: "/hazards".into(),
        result: None,
        headers: vec!["编号", "等级", "隐患情况", "整改期限", "负责部门", "状态"],
        rows: table_rows,
        next_href,
        empty_text: "没有隐患。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/inspections".into(), "检查任务".into())],
    };
    Ok(render(&page))
}

async fn catalogue(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewInspections).page(&s)?;
    let st = state.clone();
    let items = blocking(move || st.db.read(|conn| inspections::items(conn, None)))
        .await
        .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let rows = items
        .iter()
        .map(|i| {
            vec![
                cell(&i.code),
                cell(name(&names, &i.department)),
                cell(&i.name),
                cell(&i.legal_basis),
                cell(if i.joinable != 0 {
                    "可联合检查"
                } else {
                    "单独检查"
                }),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "事项清单", "/inspections").await,
        heading: "“综合查一次”事项清单".into(),
        intro: Some("各部门的检查事项及依据；发起检查任务时从这里选择。".into()),
        new_link: authz::allowed(&s.principal, Action::ManageInspectionItems).then(|| {
            (
                "/inspection-items/new".to_owned(),
                "添加检查事项".to_owned(),
            )
        }),
        filters: Vec::new(),
        filter_action: "/inspection-items".into(),
        result: None,
        headers: vec!["编码", "部门", "检查事项", "检查依据", "方式"],
        rows,
        next_href: None,
        empty_text: "事项清单还是空的。",
        total: Some(items.len() as i64),
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/inspections".into(), "检查任务".into())],
    };
    Ok(render(&page))
}

#[derive(Default, serde::Deserialize)]
struct ItemForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    joinable: Option<String>,
}

async fn item_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    f: &ItemForm,
    errors: &[FieldError],
) -> PageResult {
    authz::require(&s.principal, Action::ManageInspectionItems).page(s)?;
    let names = names(state).await.page(s)?;
    let mut departments: Vec<(String, String)> = names.into_iter().collect();
    departments.sort();
    departments.insert(0, (String::new(), "请选择".into()));
    let mut fields = vec![
        Field::new("code", "事项编码", "text", &f.code)
            .required()
            .help("字母、数字和 -，如 EM-01。"),
        Field::new("department", "检查部门", "select", &f.department)
            .required()
            .options(departments),
        Field::new("name", "检查事项", "text", &f.name).required(),
        Field::new("legal_basis", "检查依据", "text", &f.legal_basis)
            .required()
            .help("法律法规及条款，如《安全生产法》第六十五条。"),
        Field::new(
            "joinable",
            "可以联合检查",
            "checkbox",
            if f.joinable.is_some() || errors.is_empty() {
                "true"
            } else {
                ""
            },
        ),
    ];
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "添加检查事项", "/inspections").await,
        heading: "添加检查事项".into(),
        intro: None,
        errors: general,
        editable: true,
        action: "/inspection-items".into(),
        fields,
        submit_label: "添加",
        back_href: Some("/inspection-items".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn new_item(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    item_form(&state, &s, &req, &ItemForm::default(), &[]).await
}

async fn add_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ItemForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = inspections::NewItem {
        code: f.code.clone(),
        department: f.department.clone(),
        name: f.name.clone(),
        legal_basis: f.legal_basis.clone(),
        joinable: Some(f.joinable.is_some()),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::create_item(conn, &who, now, input))
    })
    .await;
    submitted!(result, s, Ok(_) => "/inspection-items", Invalid(errors) => item_form(&state, &s, &req, &f, &errors).await)
}

/// What the notice and the public page show of a task.
struct NoticeTask {
    number: String,
    mine: String,
    lead: String,
    joint: String,
    window: String,
    state: &'static str,
    basis: &'static str,
    inspectors: Vec<(String, String, String)>,
    items: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "inspection_notice.html")]
struct NoticePage {
    title: String,
    heading: String,
    verdict: Option<String>,
    verdict_class: &'static str,
    task: Option<NoticeTask>,
    qr_svg: String,
    phone: String,
}

fn notice_task(p: &inspections::PublicTask) -> NoticeTask {
    let t = &p.task;
    NoticeTask {
        number: t.number.clone(),
        mine: p.mine_name.clone(),
        lead: p.departments.first().cloned().unwrap_or_default(),
        joint: p
            .departments
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join("、"),
        window: if t.window_from == t.window_to {
            t.window_from.to_string()
        } else {
            format!("{} 至 {}", t.window_from, t.window_to)
        },
        state: t.state.label(),
        basis: t.basis.label(),
        inspectors: p.inspectors.clone(),
        items: p.items.clone(),
    }
}

/// 电子行政检查通知书: printable, with the QR code that opens the public check page.
async fn notice(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (st, who, tid) = (state.clone(), s.principal.clone(), id.into_inner());
    let public = blocking(move || {
        st.db.read(|conn| {
            let task = inspections::load(conn, &who, &tid)?;
            inspections::by_code(conn, &task.code)
        })
    })
    .await
    .page(&s)?
    .ok_or_else(|| AppError::NotFound("没有这个检查任务。".into()))
    .page(&s)?;
    let url = format!(
        "{}/public/inspections/{}",
        state.settings.http.public_base_url.trim_end_matches('/'),
        public.task.code
    );
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(150, 150)
                .build()
        })
        .unwrap_or_default();
    let page = NoticePage {
        title: format!("电子行政检查通知书 {}", public.task.number),
        heading: "电子行政检查通知书".into(),
        verdict: None,
        verdict_class: "",
        task: Some(notice_task(&public)),
        qr_svg,
        phone: state.settings.public.complaint_phone.clone(),
    };
    Ok(render(&page))
}

/// The page an inspection code opens, for anyone: genuine and current, finished,
/// cancelled, or not a code of this system.
async fn public_code(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (st, code) = (state.clone(), code.into_inner());
    let found =
        blocking(move || st.db.read(|conn| inspections::by_code(conn, code.trim()))).await?;
    let today = state.today();
    let phone = state.settings.public.complaint_phone.clone();
    let Some(p) = found else {
        let page = NoticePage {
            title: "检查码核验".into(),
            heading: String::new(),
            verdict: Some(format!(
                "查无此检查码：这不是本平台发出的检查码，可能是伪造的。请拒绝无码检查，并拨打 {phone} 反映。"
            )),
            verdict_class: "bad",
            task: None,
            qr_svg: String::new(),
            phone,
        };
        let mut resp = render(&page);
        *resp.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
        return Ok(resp);
    };
    let t = &p.task;
    let (verdict, class) = match t.state {
        InspectionState::Cancelled => (
            "该检查任务已取消，检查人员不应再据此入企检查。".to_owned(),
            "bad",
        ),
        InspectionState::Completed | InspectionState::Archived => (
            format!(
                "该检查任务真实有效，已于 {} 完成。",
                t.completed_at
                    .map(|c| crate::platform::clock::shanghai_date(c).to_string())
                    .unwrap_or_default()
            ),
            "ok",
        ),
        _ if today > t.window_to => (
            format!(
                "该检查码已过期：检查时间为 {} 至 {}。",
                t.window_from, t.window_to
            ),
            "bad",
        ),
        _ if today < t.window_from => (
            format!(
                "该检查任务真实有效，但检查时间为 {} 起，尚未开始。",
                t.window_from
            ),
            "ok",
        ),
        _ => ("该检查任务真实有效，正在检查时间内。".to_owned(), "ok"),
    };
    let page = NoticePage {
        title: format!("检查码核验 {}", t.number),
        heading: format!("检查任务 {}", t.number),
        verdict: Some(verdict),
        verdict_class: class,
        task: Some(notice_task(&p)),
        qr_svg: String::new(),
        phone,
    };
    Ok(render(&page))
}

struct OwnTask {
    id: String,
    number: String,
    state: &'static str,
    window: String,
    departments: String,
    inspectors: String,
    rating: String,
    may_rate: bool,
}

#[derive(Template)]
#[template(path = "my_inspections.html")]
struct OwnPage {
    ctx: PageCtx,
    mine_name: String,
    tasks: Vec<OwnTask>,
    errors: Vec<String>,
    verdicts: Vec<(&'static str, &'static str)>,
}

/// 本企业的检查: the enterprise user's own mine's inspections, to rate and complain about.
async fn own_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    errors: Vec<String>,
) -> PageResult {
    use crate::inspections::rules::Verdict;
    let (st, who) = (state.clone(), s.principal.clone());
    let (mine_name, rows) = blocking(move || {
        st.db.read(|conn| {
            let tasks = inspections::of_own_mine(conn, &who)?;
            let mine = who.mine_id.clone().unwrap_or_default();
            let mine_name = crate::register::mines::find(conn, &mine)
                .map(|m| m.name)
                .unwrap_or_default();
            let mut rows = Vec::new();
            for (t, r) in tasks {
                let p = crate::inspections::store::parts(conn, &t.id)?;
                let departments: Vec<String> = p
                    .departments
                    .iter()
                    .map(|d| crate::reference::unit_name(conn, &d.department))
                    .collect();
                rows.push(OwnTask {
                    id: t.id.clone(),
                    number: t.number.clone(),
                    state: t.state.label(),
                    window: if t.window_from == t.window_to {
                        t.window_from.to_string()
                    } else {
                        format!("{} 至 {}", t.window_from, t.window_to)
                    },
                    departments: departments.join("、"),
                    inspectors: p
                        .inspectors
                        .iter()
                        .map(|i| format!("{}（执法证号 {}）", i.name, i.certificate_number))
                        .collect::<Vec<_>>()
                        .join("、"),
                    rating: r
                        .as_ref()
                        .and_then(|r| Verdict::parse(&r.verdict))
                        .map(|v| v.label().to_owned())
                        .unwrap_or_default(),
                    may_rate: r.is_none()
                        && matches!(
                            t.state,
                            InspectionState::Completed | InspectionState::Archived
                        ),
                });
            }
            Ok((mine_name, rows))
        })
    })
    .await
    .page(s)?;
    let mut ctx = page_ctx(state, s, req, "本企业的检查", "/my-inspections").await;
    if ctx.flash.is_none() {
        ctx.flash = match req.query_string() {
            q if q.contains("ok=rated") => Some("评价已提交，谢谢！".into()),
            q if q.contains("ok=complaint") => Some("投诉已提交，区协调办将受理并答复。".into()),
            _ => None,
        };
    }
    let page = OwnPage {
        ctx,
        mine_name,
        tasks: rows,
        verdicts: Verdict::ALL.iter().map(|v| (v.code(), v.label())).collect(),
        errors,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn own(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    own_page(&state, &s, &req, Vec::new()).await
}

#[derive(serde::Deserialize)]
struct RateForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    comment: String,
}

async fn own_rate(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<RateForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db.transaction(|conn| {
            inspections::rate(
                conn,
                &who,
                now,
                &id,
                inspections::RatingInput {
                    verdict: f.verdict,
                    comment: f.comment,
                },
            )
            .map(|_| ())
        })
    })
    .await;
    own_after(&state, &req, s, result, "rated").await
}

#[derive(serde::Deserialize)]
struct ComplaintForm {
    #[serde(default)]
    text: String,
}

async fn own_complaint(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ComplaintForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let text = form.form.text;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::complain(&st, conn, &who, now, &id, &text).map(|_| ()))
    })
    .await;
    own_after(&state, &req, s, result, "complaint").await
}

async fn own_after(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    result: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match result {
        Ok(()) => Ok(redirect(&format!("/my-inspections?ok={ok}"))),
        Err(AppError::Validation(errors)) => own_page(state, &s, req, messages(&errors)).await,
        Err(e @ (AppError::InvalidTransition(_) | AppError::Conflict(_))) => {
            let message = e.problem().detail;
            own_page(state, &s, req, vec![message]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

#[derive(serde::Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

fn year_of(req: &HttpRequest, state: &AppState) -> i32 {
    use chrono::Datelike;
    web::Query::<YearQuery>::from_query(&query_without_flash(req))
        .ok()
        .and_then(|q| q.year)
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.today().year())
}

fn plan_rows(plans: &[inspections::PlanView], names: &HashMap<String, String>) -> Vec<Vec<Cell>> {
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
async fn plans_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
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
struct Empty {}

async fn approve(
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
async fn public_plans(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let year = year_of(&req, &state);
    let st = state.clone();
    let plans = blocking(move || st.db.read(|conn| inspections::plans(conn, year, true))).await?;
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

/// 检查指标: the three city targets per department, drawn and tabled, with the export.
async fn stats_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    use crate::platform::rules::chart::{bars, Bar};
    let s = signed_in!(ps, req);
    let q = web::Query::<crate::leads::stats::StatsQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let today = state.today();
    let (from, to) = crate::leads::stats::period(&q, today).page(&s)?;
    let targets = crate::inspections::stats::Targets::of(&state.settings.inspection);
    let (st, who) = (state.clone(), s.principal.clone());
    let figures = blocking(move || {
        st.db
            .read(|conn| crate::inspections::stats::stats(conn, &who, from, to, today, targets))
    })
    .await
    .page(&s)?;
    let pct = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v}%"));
    let shown: Vec<&crate::inspections::stats::DepartmentFigures> = figures
        .departments
        .iter()
        .filter(|d| {
            d.tasks > 0 || d.planned > 0 || d.ratings > 0 || d.hazards_open + d.hazards_closed > 0
        })
        .collect();
    let chart =
        |title: &str,
         target: f64,
         f: fn(&crate::inspections::stats::DepartmentFigures) -> Option<f64>| {
            let rows: Vec<Bar> = shown
                .iter()
                .map(|d| Bar {
                    label: d.name.clone(),
                    value: f(d),
                    text: pct(f(d)),
                })
                .collect();
            bars(title, &rows, 100.0, (target > 0.0).then_some(target))
        };
    let charts = if shown.is_empty() {
        Vec::new()
    } else {
        vec![
            chart("部门联合率", figures.targets.joint_rate, |d| {
                d.joint_rate
            }),
            chart(
                "计划内联合检查实施率",
                figures.targets.plan_done_rate,
                |d| d.plan_done_rate,
            ),
            chart("企业满意度", figures.targets.satisfaction_rate, |d| {
                d.satisfaction_rate
            }),
        ]
    };
    let rows = shown
        .iter()
        .map(|d| {
            vec![
                cell(&d.name),
                cell(format!("{} / {}", d.joint_tasks, d.tasks)),
                cell(pct(d.joint_rate)),
                cell(format!("{} / {}", d.planned_done, d.planned)),
                cell(pct(d.plan_done_rate)),
                cell(format!("{} / {}", d.satisfied, d.ratings)),
                cell(pct(d.satisfaction_rate)),
                cell(format!(
                    "{} / {} / {}",
                    d.hazards_open, d.hazards_overdue, d.hazards_closed
                )),
                cell(d.overrides.to_string()),
            ]
        })
        .collect();
    let query = format!("from={from}&to={to}");
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "检查指标", "/inspections").await,
        heading: "综合查一次 · 检查指标".into(),
        intro: Some(format!(
            "{from} 至 {to}（按检查开始日期）。2026 年目标：部门联合率 ≥ {}%，计划内联合检查实施率 > {}%，企业满意度 ≥ {}%。",
            figures.targets.joint_rate, figures.targets.plan_done_rate, figures.targets.satisfaction_rate
        )),
        new_link: None,
        filters: vec![
            Field::new("from", "开始日期", "date", from.to_string()),
            Field::new("to", "结束日期", "date", to.to_string()),
        ],
        filter_action: "/inspections/stats".into(),
        result: None,
        headers: vec![
            "部门", "联合检查 / 全部", "部门联合率", "已实施 / 计划", "计划实施率", "满意 / 评价", "企业满意度",
            "隐患 未销号 / 逾期 / 已销号", "重复检查理由",
        ],
        rows,
        next_href: None,
        empty_text: "这段时间没有检查任务。",
        total: None,
        charts,
        export_href: Some(format!("/api/v1/stats/inspections.xlsx?{query}")),
        post_buttons: Vec::new(),
        more_links: vec![("/inspections".into(), "检查任务".into())],
    };
    Ok(render(&page))
}

/// The plan form as typed (joint departments as `joint.EE` checkboxes).
#[derive(Default)]
struct PlanForm {
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
struct PlanPage {
    ctx: PageCtx,
    form: PlanForm,
    errors: Vec<String>,
    lead_options: Vec<(String, String)>,
    departments: Vec<(String, String)>,
}

async fn plan_page(
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

async fn new_plan(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
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

async fn create_plan(
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
