//! A case's page: the facts, the checklist with each department's step, the office's
//! tasks, acceptance and the tailings extension, the files and the record.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

use super::departments;
use crate::closures::acceptance::{self, AcceptanceInput, ExtensionInput};
use crate::closures::rules::{Basis, CaseState};
use crate::closures::tasks::{self, NewTask, Place, TaskNote};
use crate::closures::{self as closures, policy, CaseRecord, CaseView, TaskView};
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession, PageUpload, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/closures/{id}", web::get().to(detail))
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
        .route("/closures/{id}/files/{file_id}", web::get().to(file));
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

pub(super) fn path_of(req: &HttpRequest, name: &str) -> String {
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
