//! 关闭退出 in the browser: the cases (filters, chart, Excel), the opening form, a case's
//! page with its checklist, acceptance and extension, the board, the watch on closed mines
//! and the patrol from a phone.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

use crate::closures::acceptance::{self, AcceptanceInput, ExtensionInput};
use crate::closures::rules::{Basis, CaseState, ClosureKind};
use crate::closures::tasks::{self, NewTask, Place, TaskNote};
use crate::closures::watch::{self, PatrolInput, WatchQuery};
use crate::closures::{
    self as closures, policy, CaseQuery, CaseRecord, CaseView, NewClosure, TaskView,
};
use crate::platform::error::{AppError, FieldError};
use crate::platform::rules::chart::{self, Bar};
use crate::web::extract::{PageForm, PageSession, PageUpload, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/closures", web::get().to(list))
        .route("/closures", web::post().to(create))
        .route("/closures/new", web::get().to(new_form))
        .route("/closures/board", web::get().to(board))
        .route("/closures/export.xlsx", web::get().to(export))
        .route("/closures/{id}", web::get().to(detail))
        .route("/closures/{id}/tasks", web::post().to(add_task))
        .route(
            "/closures/{id}/tasks/{task_id}/complete",
            web::post().to(complete),
        )
        .route(
            "/closures/{id}/tasks/{task_id}/waive",
            web::post().to(waive),
        )
        .route("/closures/{id}/acceptance", web::post().to(accept))
        .route(
            "/closures/{id}/acceptance/{aid}/confirm",
            web::post().to(confirm),
        )
        .route("/closures/{id}/extend", web::post().to(extend))
        .route("/closures/{id}/files", web::post().to(decision_file))
        .route("/closures/{id}/files/{file_id}", web::get().to(file))
        .route("/closed-mines", web::get().to(watch_page))
        .route("/closed-mines/{mine_id}/patrol", web::get().to(patrol_form))
        .route("/closed-mines/{mine_id}/patrol", web::post().to(patrol))
        .route("/patrols/{id}/photo", web::get().to(patrol_photo));
}

fn options_of<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    std::iter::once((String::new(), "全部".to_owned()))
        .chain(
            all.iter()
                .map(|v| (code(*v).to_owned(), label(*v).to_owned())),
        )
        .collect()
}

async fn departments(state: &web::Data<AppState>) -> Result<Vec<(String, String)>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|c| {
            Ok(crate::reference::departments(c)?
                .into_iter()
                .filter(|d| d.active != 0)
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

/// 关闭退出台账: filters, a chart by kind, Excel export, keyset pages.
async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let raw = query_without_flash(&req);
    let q = web::Query::<CaseQuery>::from_query(&raw)
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let f = q.filter().page(&s)?;
    let limit = crate::platform::pagination::limit(q.limit).page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let (rows, next, board) = blocking(move || {
        st.db.read(|c| {
            let (rows, next) = closures::list(c, &who, now, &f, limit)?;
            Ok((rows, next, crate::closures::board::board(c, &who, now)?))
        })
    })
    .await
    .page(&s)?;
    let deps = departments(&state).await.page(&s)?;
    let table = rows
        .iter()
        .map(|c| {
            vec![
                link(&c.number, format!("/closures/{}", c.id)),
                link(&c.mine_name, format!("/mines/{}", c.mine_id)),
                cell(c.kind_label),
                cell(&c.owner_name),
                cell(format!("{} {}", c.issuing_body, c.decision_number)),
                cell(c.target_on.to_string()),
                Cell {
                    text: if c.overdue {
                        format!("逾期 · {}", c.state_label)
                    } else {
                        c.state_label.to_owned()
                    },
                    href: None,
                    class: if c.overdue { "badge-off" } else { "" }.into(),
                },
                cell(format!("{} / {}", c.open_tasks, c.tasks.len())),
            ]
        })
        .collect();
    let chart = chart::bars(
        "各类关闭退出案件（办理中 / 已验收）",
        &board
            .kinds
            .iter()
            .map(|k| Bar {
                label: k.kind_label.to_owned(),
                value: Some((k.open + k.accepting + k.rejected + k.accepted) as f64),
                text: format!("{} / {}", k.open + k.accepting + k.rejected, k.accepted),
            })
            .collect::<Vec<_>>(),
        board
            .kinds
            .iter()
            .map(|k| (k.open + k.accepting + k.rejected + k.accepted) as f64)
            .fold(1.0, f64::max),
        None,
    );
    let mut dep_opts = vec![(String::new(), "全部".to_owned())];
    dep_opts.extend(deps.iter().cloned());
    let next_href = next.map(|c| {
        let mut base: Vec<(String, String)> = serde_urlencoded::from_str(&raw).unwrap_or_default();
        base.retain(|(k, _)| k != "cursor");
        base.push(("cursor".into(), c));
        format!(
            "/closures?{}",
            serde_urlencoded::to_string(base).unwrap_or_default()
        )
    });
    let may_open = ClosureKind::ALL
        .iter()
        .any(|k| policy::may_open(&s.principal, *k));
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "关闭退出", "/closures").await,
        heading: "关闭退出台账".into(),
        intro: Some("政府决定关闭、取缔、不具备安全生产条件关闭、尾矿库闭库、采矿权到期和产业政策淘汰：每个案件按任务清单由各部门办理，全部完成后联合验收，验收通过才变更为“已关闭”。".into()),
        new_link: may_open.then(|| ("/closures/new".to_owned(), "立案".to_owned())),
        filters: vec![
            Field::new("state", "状态", "select", q.state.clone().unwrap_or_default())
                .options(options_of(CaseState::ALL, CaseState::code, CaseState::label)),
            Field::new("kind", "类型", "select", q.kind.clone().unwrap_or_default())
                .options(options_of(ClosureKind::ALL, ClosureKind::code, ClosureKind::label)),
            Field::new("owner", "牵头部门", "select", q.owner.clone().unwrap_or_default())
                .options(dep_opts.clone()),
            Field::new(
                "task_department",
                "有待办任务的部门",
                "select",
                q.task_department.clone().unwrap_or_default(),
            )
            .options(dep_opts),
        ],
        filter_action: "/closures".into(),
        result: None,
        headers: vec!["编号", "矿山", "类型", "牵头部门", "决定书", "目标日期", "状态", "待完成任务"],
        rows: table,
        next_href,
        empty_text: "没有符合条件的关闭退出案件。",
        total: Some(board.live + board.accepted),
        charts: vec![chart],
        export_href: Some(format!("/closures/export.xlsx?{raw}")),
        post_buttons: Vec::new(),
        more_links: vec![
            ("/closures/board".into(), "关闭退出看板".into()),
            ("/closed-mines".into(), "已关闭矿山复产巡查".into()),
        ],
    };
    Ok(render(&page))
}

async fn export(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<CaseQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let f = q.filter().page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let bytes = blocking(move || st.db.read(|c| closures::workbook(c, &who, now, &f)))
        .await
        .page(&s)?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("closures.xlsx", "关闭退出台账.xlsx"),
        ))
        .body(bytes))
}

#[derive(serde::Deserialize, Default, Clone)]
struct OpenForm {
    #[serde(default)]
    mine_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    decision_number: String,
    #[serde(default)]
    decided_on: String,
    #[serde(default)]
    issuing_body: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    basis_ref: String,
    #[serde(default)]
    target_on: String,
    #[serde(default)]
    stop_on: String,
    #[serde(default)]
    owner_department: String,
}

async fn open_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    f: &OpenForm,
    errors: &[FieldError],
) -> PageResult {
    let mine_name = if f.mine_id.is_empty() {
        String::new()
    } else {
        let (st, id) = (state.clone(), f.mine_id.clone());
        blocking(move || st.db.read(|c| crate::register::mines::names(c, &[id])))
            .await
            .page(s)?
            .remove(&f.mine_id)
            .unwrap_or_default()
    };
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "请选择".to_owned()))
        .chain(
            ClosureKind::ALL
                .iter()
                .filter(|k| policy::may_open(&s.principal, **k))
                .map(|k| (k.code().to_owned(), k.label().to_owned())),
        )
        .collect();
    let bases: Vec<(String, String)> = Basis::ALL
        .iter()
        .map(|b| (b.code().to_owned(), b.label().to_owned()))
        .collect();
    let mut fields = vec![
        Field::new("mine_id", "矿山编号", "text", &f.mine_id)
            .required()
            .help(if mine_name.is_empty() {
                "矿山页面地址中的编号；在矿山页面点“立案关闭退出”会自动填好。".to_owned()
            } else {
                format!("矿山：{mine_name}")
            }),
        Field::new("kind", "关闭退出类型", "select", &f.kind)
            .options(kinds)
            .required(),
        Field::new("decision_number", "决定书文号", "text", &f.decision_number).required(),
        Field::new("decided_on", "决定日期", "date", &f.decided_on).required(),
        Field::new("issuing_body", "决定机关", "text", &f.issuing_body).required(),
        Field::new(
            "basis",
            "立案依据",
            "select",
            if f.basis.is_empty() {
                "document"
            } else {
                f.basis.as_str()
            },
        )
        .options(bases),
        Field::new("basis_ref", "依据编号", "text", &f.basis_ref)
            .help("会商议定事项编号（如 HS-2026-007-2）、线索编号（XS-…）、隐患编号或文件名称。"),
        Field::new("target_on", "完成验收的目标日期", "date", &f.target_on)
            .help("尾矿库闭库可不填：为停用后一年。"),
        Field::new("stop_on", "尾矿库计划停用日期", "date", &f.stop_on)
            .only_when("kind", "tailings_closure", &f.kind)
            .help("闭库设计期限为停用前 12 个月，闭库销号期限为停用后一年。"),
        Field::new(
            "owner_department",
            "牵头部门（产业政策淘汰：DRC 或 MIIT）",
            "text",
            &f.owner_department,
        )
        .only_when("kind", "policy_elimination", &f.kind),
    ];
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "关闭退出立案", "/closures").await,
        heading: "关闭退出立案".into(),
        intro: Some(
            "立案后矿山变更为“临近关闭退出”，按类型生成各部门的任务清单并通知各部门。".into(),
        ),
        errors: general,
        editable: true,
        action: "/closures".into(),
        fields,
        submit_label: "立案",
        back_href: Some("/closures".into()),
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

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |k: &str| {
        q.get(k)
            .cloned()
            .unwrap_or_default()
            .chars()
            .take(100)
            .collect::<String>()
    };
    let f = OpenForm {
        mine_id: get("mine_id"),
        kind: get("kind"),
        basis: get("basis"),
        basis_ref: get("basis_ref"),
        ..Default::default()
    };
    open_page(&state, &s, &req, &f, &[]).await
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<OpenForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    let input = NewClosure {
        mine_id: f.mine_id.clone(),
        kind: f.kind.clone(),
        decision_number: f.decision_number.clone(),
        decided_on: f.decided_on.clone(),
        issuing_body: f.issuing_body.clone(),
        basis: f.basis.clone(),
        basis_ref: opt(&f.basis_ref),
        target_on: opt(&f.target_on),
        stop_on: opt(&f.stop_on),
        owner_department: opt(&f.owner_department),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || st.db.transaction(|c| closures::open(c, &who, now, input))).await;
    match result {
        Ok(case) => Ok(redirect(&format!("/closures/{}?ok=saved", case.id))),
        Err(AppError::Validation(errors)) => open_page(&state, &s, &req, &f, &errors).await,
        Err(e @ (AppError::Refused { .. } | AppError::InvalidTransition(_))) => {
            let message = e.problem().detail;
            open_page(&state, &s, &req, &f, &[FieldError::new("mine_id", message)]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

struct TaskRow {
    v: TaskView,
    may_complete: bool,
    may_waive: bool,
}

#[derive(Template)]
#[template(path = "closure.html")]
struct CasePage {
    ctx: PageCtx,
    c: CaseView,
    r: CaseRecord,
    tasks: Vec<TaskRow>,
    errors: Vec<String>,
    basis_href: Option<String>,
    may_manage: bool,
    may_accept: bool,
    may_extend: bool,
    may_upload_decision: bool,
    confirm_department: Option<String>,
    /// (code, name, checked in the acceptance form)
    departments: Vec<(String, String, bool)>,
    today: String,
    history: Vec<(String, String, String, String)>,
}

async fn case_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: Vec<String>,
) -> PageResult {
    let (st, who, cid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_owned(),
        state.clock.now_naive(),
    );
    let (r, basis_href) = blocking(move || {
        st.db.read(|c| {
            let r = closures::record(c, &who, now, &cid)?;
            let href = match r.case.basis {
                Basis::Consultation => {
                    crate::consultations::ledger::decision_id_by_number(c, &r.case.basis_ref)?
                        .map(|d| format!("/decisions/{d}"))
                }
                Basis::Lead => crate::leads::find_by_number(c, &r.case.basis_ref)?
                    .map(|l| format!("/leads/{}", l.id)),
                _ => None,
            };
            Ok((r, href))
        })
    })
    .await
    .page(s)?;
    let p = &s.principal;
    let c = r.case.clone();
    let live = c.state != CaseState::Accepted;
    let tasks = c
        .tasks
        .iter()
        .map(|t| TaskRow {
            may_complete: live
                && t.state == crate::closures::rules::TaskState::Open
                && policy::may_complete(p, &t.department),
            may_waive: live
                && t.state == crate::closures::rules::TaskState::Open
                && policy::may_manage(p),
            v: t.clone(),
        })
        .collect();
    let mut involved: Vec<String> = c.tasks.iter().map(|t| t.department.clone()).collect();
    involved.push(c.owner_department.clone());
    let departments = departments(state)
        .await
        .page(s)?
        .into_iter()
        .map(|(code, name)| {
            let on = involved.contains(&code);
            (code, name, on)
        })
        .collect();
    let confirm_department = p.department.clone().filter(|d| policy::may_confirm(p, d));
    let mut ctx = page_ctx(state, s, req, &c.number, "/closures").await;
    if req.query_string().contains("ok=") && ctx.flash.is_none() {
        ctx.flash = Some("已保存。".into());
    }
    let page = CasePage {
        ctx,
        may_manage: policy::may_manage(p),
        may_accept: policy::may_manage(p) && matches!(c.state, CaseState::Accepting),
        may_extend: live && c.kind.is_tailings() && c.extended_months == 0 && policy::may_extend(p),
        may_upload_decision: live
            && (policy::may_manage(p) || policy::may_complete(p, &c.owner_department)),
        confirm_department,
        departments,
        today: crate::platform::clock::shanghai_date(state.clock.now_naive()).to_string(),
        history: entity_history(state, "closure", &c.id).await.page(s)?,
        tasks,
        errors,
        basis_href,
        c,
        r,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn detail(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    case_page(&state, &s, &req, &id, Vec::new()).await
}

/// A step from the case's page, in one transaction: back to the page, or the page again
/// with what was wrong.
async fn step(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    id: &str,
    run: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::authz::Principal,
            chrono::NaiveDateTime,
        ) -> Result<(), AppError>
        + Send
        + 'static,
) -> PageResult {
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || st.db.transaction(|c| run(c, &who, now))).await;
    match result {
        Ok(()) => Ok(redirect(&format!("/closures/{id}?ok=saved"))),
        Err(e) => match shown_again(&e).or_else(|| match &e {
            AppError::Refused { .. } => Some(vec![e.problem().detail]),
            _ => None,
        }) {
            Some(messages) => case_page(state, &s, req, id, messages).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

fn path_of(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

#[derive(serde::Deserialize, Default)]
struct NoteForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

async fn complete(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<NoteForm>,
) -> PageResult {
    let (id, task) = (path_of(&req, "id"), path_of(&req, "task_id"));
    let max = state.settings.http.max_upload_bytes;
    let place = Place::parse(Some(&form.form.lon), Some(&form.form.lat));
    let note = form.form.note;
    let files = form.files;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        let place = place.map_err(|e| AppError::Validation(vec![e]))?;
        tasks::complete(c, w, n, &cid, &task, TaskNote { note }, files, place, max).map(|_| ())
    })
    .await
}

async fn waive(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<NoteForm>,
) -> PageResult {
    let (id, task) = (path_of(&req, "id"), path_of(&req, "task_id"));
    let note = form.form.note;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        tasks::waive(c, w, n, &cid, &task, TaskNote { note }).map(|_| ())
    })
    .await
}

#[derive(serde::Deserialize, Default)]
struct TaskForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    reason: String,
}

async fn add_task(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<TaskForm>,
) -> PageResult {
    let id = path_of(&req, "id");
    let f = form.form;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        let input = NewTask {
            name: f.name,
            department: f.department,
            due_on: f.due_on,
            reason: f.reason,
        };
        tasks::add(c, w, n, &cid, input).map(|_| ())
    })
    .await
}

async fn accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<HashMap<String, String>>,
) -> PageResult {
    let id = path_of(&req, "id");
    let f = form.form;
    let picked = |prefix: &str| -> Vec<String> {
        let mut v: Vec<String> = f
            .iter()
            .filter(|(k, v)| k.starts_with(prefix) && v.as_str() == "true")
            .map(|(k, _)| k[prefix.len()..].to_owned())
            .collect();
        v.sort();
        v
    };
    let input = AcceptanceInput {
        accepted: f.get("accepted").map(String::as_str) != Some("false"),
        departments: picked("department."),
        conclusion: f.get("conclusion").cloned().unwrap_or_default(),
        accepted_on: f.get("accepted_on").cloned(),
        redo: picked("redo."),
    };
    let files = form.files;
    let max = state.settings.http.max_upload_bytes;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        acceptance::record(c, w, n, &cid, input, files, max).map(|_| ())
    })
    .await
}

async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let (id, aid) = (path_of(&req, "id"), path_of(&req, "aid"));
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        acceptance::confirm(c, w, n, &cid, &aid).map(|_| ())
    })
    .await
}

#[derive(serde::Deserialize, Default)]
struct ExtendForm {
    #[serde(default)]
    months: String,
    #[serde(default)]
    reason: String,
}

async fn extend(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ExtendForm>,
) -> PageResult {
    let id = path_of(&req, "id");
    let f = form.form;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        let months = f
            .months
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::field("months", "延长月数应为 1 到 6 的整数"))?;
        acceptance::extend(
            c,
            w,
            n,
            &cid,
            ExtensionInput {
                months,
                reason: f.reason,
            },
        )
        .map(|_| ())
    })
    .await
}

async fn decision_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<HashMap<String, String>>,
) -> PageResult {
    let id = path_of(&req, "id");
    let files = form.files;
    let max = state.settings.http.max_upload_bytes;
    let cid = id.clone();
    step(&state, &req, form.session, &id, move |c, w, n| {
        acceptance::add_decision_file(c, w, n, &cid, files, max).map(|_| ())
    })
    .await
}

async fn file(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let (id, file_id) = (path_of(&req, "id"), path_of(&req, "file_id"));
    let who = s.principal.clone();
    let st = state.clone();
    let (name, kind, bytes) =
        blocking(move || st.db.read(|c| closures::file(c, &who, &id, &file_id)))
            .await
            .page(&s)?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}

/// 关闭退出看板 with its charts.
async fn board(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let b = blocking(move || st.db.read(|c| crate::closures::board::board(c, &who, now)))
        .await
        .page(&s)?;
    let kinds_chart = chart::bars(
        "办理中的案件（按类型）",
        &b.kinds
            .iter()
            .map(|k| Bar {
                label: k.kind_label.to_owned(),
                value: Some((k.open + k.accepting + k.rejected) as f64),
                text: format!(
                    "{} 件（待验收 {}）",
                    k.open + k.accepting + k.rejected,
                    k.accepting
                ),
            })
            .collect::<Vec<_>>(),
        b.kinds
            .iter()
            .map(|k| (k.open + k.accepting + k.rejected) as f64)
            .fold(1.0, f64::max),
        None,
    );
    let overdue_chart = chart::bars(
        "逾期任务（按部门）",
        &b.overdue
            .iter()
            .map(|o| Bar {
                label: o.name.clone(),
                value: Some(o.overdue_tasks as f64),
                text: format!("{} 项", o.overdue_tasks),
            })
            .collect::<Vec<_>>(),
        b.overdue
            .iter()
            .map(|o| o.overdue_tasks as f64)
            .fold(1.0, f64::max),
        None,
    );
    let rows = b
        .kinds
        .iter()
        .map(|k| {
            vec![
                cell(k.kind_label),
                link(
                    k.open.to_string(),
                    format!("/closures?kind={}&state=open", k.kind.code()),
                ),
                link(
                    k.accepting.to_string(),
                    format!("/closures?kind={}&state=accepting", k.kind.code()),
                ),
                link(
                    k.rejected.to_string(),
                    format!("/closures?kind={}&state=rejected", k.kind.code()),
                ),
                link(
                    k.accepted.to_string(),
                    format!("/closures?kind={}&state=accepted", k.kind.code()),
                ),
                cell(
                    k.mean_days
                        .map(|d| format!("{d} 天"))
                        .unwrap_or_else(|| "—".into()),
                ),
            ]
        })
        .chain(b.tailings.iter().map(|t| {
            vec![
                link(
                    format!("尾矿库闭库 {} {}", t.number, t.mine_name),
                    format!("/closures/{}", t.case_id),
                ),
                cell(format!(
                    "停用 {}",
                    t.stop_on.map(|d| d.to_string()).unwrap_or_default()
                )),
                cell(format!(
                    "闭库设计 {}",
                    t.design_due_on.map(|d| d.to_string()).unwrap_or_default()
                )),
                cell(format!(
                    "闭库销号 {}{}",
                    t.closure_due_on,
                    if t.extended_months > 0 {
                        format!("（已延长 {} 个月）", t.extended_months)
                    } else {
                        String::new()
                    }
                )),
                cell(t.state_label),
                cell(if t.overdue { "已逾期" } else { "" }),
            ]
        }))
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "关闭退出看板", "/closures").await,
        heading: "关闭退出看板".into(),
        intro: Some(format!(
            "办理中 {} 件，已验收关闭 {} 件{}；已关闭矿山纳入复产监管 {} 座。",
            b.live,
            b.accepted,
            b.mean_days
                .map(|d| format!("，从决定到验收平均 {d} 天"))
                .unwrap_or_default(),
            b.watched
        )),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/closures/board".into(),
        result: None,
        headers: vec![
            "类型",
            "办理中",
            "待验收",
            "验收未通过",
            "验收通过",
            "决定到验收平均天数",
        ],
        rows,
        next_href: None,
        empty_text: "还没有关闭退出案件。",
        total: None,
        charts: vec![kinds_chart, overdue_chart],
        export_href: Some("/closures/export.xlsx".into()),
        post_buttons: Vec::new(),
        more_links: vec![
            ("/closures".into(), "关闭退出台账".into()),
            ("/closed-mines".into(), "已关闭矿山复产巡查".into()),
        ],
    };
    Ok(render(&page))
}

/// 已关闭矿山复产巡查: every closed mine with its last check, those due first by filter.
async fn watch_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let raw = query_without_flash(&req);
    let q = web::Query::<WatchQuery>::from_query(&raw)
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let due = q.due.unwrap_or(false);
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let months = state.settings.closures.check_months;
    let may_patrol = crate::platform::authz::allowed(
        &s.principal,
        crate::platform::authz::Action::PatrolClosedMines,
    );
    let page_rows = blocking(move || st.db.read(|c| watch::list(c, &who, now, &q, months)))
        .await
        .page(&s)?;
    let rows = page_rows
        .items
        .iter()
        .map(|w| {
            vec![
                link(&w.mine_name, format!("/mines/{}", w.mine_id)),
                cell(&w.township),
                link(w.closed_on.to_string(), format!("/closures/{}", w.case_id)),
                cell(match (&w.last_patrol_on, &w.last_patrol_outcome) {
                    (Some(d), Some(o)) => format!(
                        "{d} {}",
                        crate::closures::rules::PatrolOutcome::parse(o)
                            .map(|o| o.label())
                            .unwrap_or("")
                    ),
                    _ => "未巡查".into(),
                }),
                cell(
                    w.last_inspected_on
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell {
                    text: if w.due {
                        "应巡查".into()
                    } else {
                        "正常".into()
                    },
                    href: None,
                    class: if w.due { "badge-off" } else { "badge-on" }.into(),
                },
                if may_patrol {
                    link("记录巡查", format!("/closed-mines/{}/patrol", w.mine_id))
                } else {
                    cell("")
                },
            ]
        })
        .collect();
    let next_href = page_rows
        .next_cursor
        .map(|c| format!("/closed-mines?due={due}&cursor={}", url_escape(&c)));
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "已关闭矿山复产巡查", "/closures").await,
        heading: "已关闭矿山复产巡查".into(),
        intro: Some(format!(
            "验收关闭的矿山和取缔的非法开采点纳入复产监管；{} 个月内没有巡查或检查的列为“应巡查”。新线索位于原矿区范围内或涉及已关闭矿山时，立即提示区自然资源分局和区协调办。",
            page_rows.check_months
        )),
        new_link: None,
        filters: vec![Field::new("due", "范围", "select", if due { "true" } else { "" }).options(vec![
            (String::new(), "全部已关闭矿山".into()),
            ("true".into(), "只看应巡查的".into()),
        ])],
        filter_action: "/closed-mines".into(),
        result: None,
        headers: vec!["矿山", "街镇", "关闭日期", "最近巡查", "最近检查", "状态", ""],
        rows,
        next_href,
        empty_text: "没有符合条件的已关闭矿山。",
        total: Some(page_rows.total),
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/closures".into(), "关闭退出台账".into())],
    };
    Ok(render(&page))
}

#[derive(serde::Deserialize, Default)]
struct PatrolForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

async fn patrol_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    mine_id: &str,
    f: &PatrolForm,
    errors: &[FieldError],
) -> PageResult {
    let (st, who, mid) = (state.clone(), s.principal.clone(), mine_id.to_owned());
    let (mine, history) = blocking(move || {
        st.db.read(|c| {
            let m = crate::register::mines::find(c, &mid)?;
            Ok((m, watch::patrols(c, &who, &mid)?))
        })
    })
    .await
    .page(s)?;
    let mut fields = vec![
        Field::new(
            "outcome",
            "巡查结果",
            "select",
            if f.outcome.is_empty() {
                "nothing_found"
            } else {
                f.outcome.as_str()
            },
        )
        .options(
            crate::closures::rules::PatrolOutcome::ALL
                .iter()
                .map(|o| (o.code().to_owned(), o.label().to_owned()))
                .collect(),
        )
        .required(),
        Field::new("note", "巡查情况", "textarea", &f.note).help(
            "疑似复产请写明看到的情况，提交后立即生成问题线索并通知区自然资源分局和区协调办。",
        ),
        Field::new(
            "location",
            "巡查位置",
            "location",
            format!("{},{}", f.lon, f.lat),
        ),
        Field::new("photo", "现场照片", "file", ""),
    ];
    let general = attach_errors(&mut fields, errors);
    let rows = history
        .iter()
        .map(|p| {
            vec![
                cell(p.patrolled_on.to_string()),
                cell(p.outcome_label),
                cell(&p.note),
                cell(&p.patrolled_by),
                match (&p.lead_id, p.has_photo) {
                    (Some(l), _) => link("相关线索", format!("/leads/{l}")),
                    (None, true) => link("照片", format!("/patrols/{}/photo", p.id)),
                    _ => cell(""),
                },
            ]
        })
        .collect();
    let page = FormPage {
        ctx: page_ctx(state, s, req, "复产巡查", "/closures").await,
        heading: format!("复产巡查：{}", mine.name),
        intro: Some(format!("{} · {}", mine.status().label(), mine.address)),
        errors: general,
        editable: true,
        action: format!("/closed-mines/{}/patrol", mine.id),
        fields,
        submit_label: "提交巡查记录",
        back_href: Some("/closed-mines".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: vec![(format!("/mines/{}", mine.id), "矿山页面".into())],
        tables: vec![SubTable {
            title: "巡查记录".into(),
            headers: vec!["日期", "结果", "情况", "巡查人", ""],
            rows,
            empty_text: "还没有巡查记录。",
        }],
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn patrol_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = path_of(&req, "mine_id");
    patrol_page(&state, &s, &req, &id, &PatrolForm::default(), &[]).await
}

async fn patrol(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<PatrolForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let id = path_of(&req, "mine_id");
    let photo = form.files.into_iter().find(|u| u.field == "photo");
    let num = |v: &str| v.trim().parse::<f64>().ok();
    let input = PatrolInput {
        outcome: f.outcome.clone(),
        note: f.note.clone(),
        lon: num(&f.lon),
        lat: num(&f.lat),
    };
    let (st, who, now, mid) = (
        state.clone(),
        s.principal.clone(),
        state.clock.now_naive(),
        id.clone(),
    );
    let result = blocking(move || {
        let app = st.clone();
        st.db
            .transaction(|c| watch::patrol(&app, c, &who, now, &mid, input, photo))
    })
    .await;
    match result {
        Ok(p) => Ok(redirect(&match p.lead_id {
            Some(l) => format!("/leads/{l}?ok=saved"),
            None => format!("/closed-mines/{id}/patrol?ok=saved"),
        })),
        Err(AppError::Validation(errors)) => patrol_page(&state, &s, &req, &id, &f, &errors).await,
        Err(e @ AppError::InvalidTransition(_)) => {
            let m = e.problem().detail;
            patrol_page(&state, &s, &req, &id, &f, &[FieldError::new("outcome", m)]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn patrol_photo(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = path_of(&req, "id");
    let (st, who) = (state.clone(), s.principal.clone());
    let (name, kind, bytes) = blocking(move || st.db.read(|c| watch::photo(c, &who, &id)))
        .await
        .page(&s)?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}
