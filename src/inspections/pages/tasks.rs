//! The tasks: the list, opening one, the task page where each department records its
//! results and hazards are re-inspected, and the hazards list.

use super::{messages, name, names};
use crate::inspections::rules::{Basis, FilePurpose, InspectionState, Outcome, OverrideKind};
use crate::inspections::standard::{standard, StandardList};
use crate::inspections::{self as inspections, InspectionView, NewInspection};
use crate::platform::authz::{self, Action};
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession, PageUpload, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use actix_web::{web, HttpRequest};
use askama::Template;
use std::collections::HashMap;

pub(super) async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
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
            ("/inspections/hazard-standard".into(), "重大事故隐患判定标准".into()),
        ],
    };
    Ok(render(&page))
}

/// The new-task form as typed (checkboxes arrive as `joint.EE`, `inspector.<id>`, `item.<code>`).
#[derive(Default)]
pub(super) struct TaskForm {
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
pub(super) struct NewPage {
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

pub(super) async fn new_page(
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

/// The form, opened blank or prefilled from the link that leads to it: `mine_id`,
/// `lead_id` (据此发起检查任务 on a lead), or `basis`, `basis_ref`, `lead_department` and
/// `joint.CODE` (a consultation's decision to inspect jointly).
pub(super) async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let today = state.today().to_string();
    let form = TaskForm {
        window_from: today.clone(),
        window_to: today,
        items: Vec::new(),
        inspectors: Vec::new(),
        ..TaskForm::from_map(&q)
    };
    new_page(&state, &s, &req, form, Vec::new()).await
}

pub(super) async fn create(
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

pub(super) struct ItemRow {
    code: String,
    name: String,
    department: String,
    basis: String,
    outcome: String,
    note: String,
    earlier: String,
    photos: Vec<FileLink>,
}

/// A file's link on the task page: (href, name).
type FileLink = (String, String);

fn links(v: &InspectionView, keep: impl Fn(&inspections::InspectionFile) -> bool) -> Vec<FileLink> {
    v.files
        .iter()
        .filter(|f| keep(f))
        .map(|f| {
            (
                format!("/inspections/{}/files/{}", v.id, f.id),
                f.file_name.clone(),
            )
        })
        .collect()
}

pub(super) struct RecordItem {
    code: String,
    name: String,
    outcome: String,
    note: String,
    /// The task whose result may be recognised, when there is one.
    earlier_task: String,
}

pub(super) struct RecordForm {
    department: String,
    department_name: String,
    items: Vec<RecordItem>,
}

pub(super) struct HazardForm {
    items: Vec<(String, String)>,
    /// The part of the 2022 standard this mine is judged by.
    standard_list: &'static str,
    standard: Vec<StandardGroup>,
}

/// One numbered item of the standard: a heading over its sub-items, or a leaf alone.
pub(super) struct StandardGroup {
    heading: String,
    options: Vec<(String, String)>,
}

fn standard_groups(list: StandardList) -> Vec<StandardGroup> {
    let mut groups: Vec<StandardGroup> = Vec::new();
    for e in standard().entries(list) {
        let label = format!("{} {}", e.number, e.text);
        match (&e.parent, e.selectable) {
            (None, true) => groups.push(StandardGroup {
                heading: String::new(),
                options: vec![(e.code.clone(), label)],
            }),
            (None, false) => groups.push(StandardGroup {
                heading: label,
                options: Vec::new(),
            }),
            (Some(_), _) => {
                if let Some(g) = groups.last_mut() {
                    g.options.push((e.code.clone(), label));
                }
            }
        }
    }
    groups
}

pub(super) struct HazardRow {
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
    photos: Vec<FileLink>,
    evidence: Vec<FileLink>,
    may_reinspect: bool,
    /// For an open major hazard, where the reader may order the mine to stop (停产整顿).
    suspend_href: String,
    version: i32,
}

#[derive(Template)]
#[template(path = "inspection.html")]
pub(super) struct TaskPage {
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

pub(super) async fn task_page(
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
    let (task, v, list) = blocking(move || {
        st.db.read(|conn| {
            let task = inspections::load(conn, &who, &tid)?;
            let v = inspections::view(conn, &task, today)?;
            let mine = crate::register::mines::find(conn, &task.mine_id)?;
            let list = StandardList::for_mine(mine.mine_type, mine.mining_method);
            Ok((task, v, list))
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
    .then(|| HazardForm {
        items: findings,
        standard_list: list.label(),
        standard: standard_groups(list),
    });
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
            photos: links(&v, |f| f.item_code.as_deref() == Some(&i.code)),
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
            standard_item: h.standard_label.clone().unwrap_or_default(),
            description: h.description.clone(),
            rectify_by: h.rectify_by.clone(),
            overdue: h.overdue,
            department: name(&names, &h.responsible_department),
            state: h.state_label,
            note: h.reinspection_note.clone(),
            photos: links(&v, |f| {
                f.hazard_id.as_deref() == Some(&h.id) && f.purpose == FilePurpose::Hazard
            }),
            evidence: links(&v, |f| {
                f.hazard_id.as_deref() == Some(&h.id) && f.purpose == FilePurpose::Reinspection
            }),
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

pub(super) async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    task_page(&state, &s, &req, &id, Vec::new()).await
}

/// The outcome of a form on the task page: back to the task, or the task with the messages.
pub(super) async fn after(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    id: &str,
    result: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match result {
        Ok(()) => Ok(redirect(&format!("/inspections/{id}?ok={ok}"))),
        Err(e) => match shown_again(&e) {
            Some(messages) => task_page(state, &s, req, id, messages).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

pub(super) async fn results(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<HashMap<String, String>>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    // Each item's photos come in its own field (photo.CODE).
    let mut photos: Vec<(String, Vec<crate::platform::upload::Upload>)> = Vec::new();
    for f in form.files {
        let code = f
            .field
            .strip_prefix("photo.")
            .unwrap_or_default()
            .to_owned();
        match photos.iter_mut().find(|(c, _)| *c == code) {
            Some((_, files)) => files.push(f),
            None => photos.push((code, vec![f])),
        }
    }
    let max = state.settings.http.max_upload_bytes;
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
            )?;
            for (code, files) in photos {
                let target = inspections::FileTarget::Result(code);
                inspections::attach(conn, &who, now, &tid, &target, files, max)?;
            }
            Ok(())
        })
    })
    .await;
    after(&state, &req, s, &id, result, "results").await
}

pub(super) async fn hazard(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<HashMap<String, String>>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    let photos = form.files;
    let max = state.settings.http.max_upload_bytes;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let input = inspections::NewHazard {
        item: get("item"),
        grade: get("grade"),
        // The clause is asked for only when the grade is major (the field is hidden otherwise).
        standard_item: (get("grade") == "major").then(|| get("standard_item")),
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
        st.db.transaction(|conn| {
            let h = inspections::add_hazard(conn, &who, now, &tid, input)?;
            let target = inspections::FileTarget::Hazard(h.id);
            inspections::attach(conn, &who, now, &tid, &target, photos, max)?;
            Ok(())
        })
    })
    .await;
    after(&state, &req, s, &id, result, "hazard").await
}

#[derive(serde::Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub(super) async fn step(
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
pub(super) struct ReinspectForm {
    #[serde(default)]
    abated: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: String,
}

pub(super) async fn reinspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<ReinspectForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let evidence = form.files;
    let max = state.settings.http.max_upload_bytes;
    let (st, who, hid, now) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db.transaction(|conn| {
            // The evidence is kept first: closing the hazard makes its record final.
            if let Some(task) =
                crate::inspections::store::find_hazard(conn, &hid)?.map(|h| h.inspection_id)
            {
                let target = inspections::FileTarget::Reinspection(hid.clone());
                inspections::attach(conn, &who, now, &task, &target, evidence, max)?;
            }
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

pub(super) async fn hazards(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
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
        more_links: vec![
            ("/inspections".into(), "检查任务".into()),
            (
                "/inspections/hazard-standard".into(),
                "重大事故隐患判定标准".into(),
            ),
        ],
    };
    Ok(render(&page))
}

/// A photo or document of the visit, for whoever takes part in the task.
pub(super) async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (id, file) = path.into_inner();
    let (st, who) = (state.clone(), s.principal.clone());
    let (f, bytes) = blocking(move || {
        st.db
            .read(|conn| inspections::open_file(conn, &who, &id, &file))
    })
    .await
    .page(&s)?;
    Ok(crate::web::file_download(
        &f.content_type,
        &f.file_name,
        bytes,
    ))
}
