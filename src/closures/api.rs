//! 关闭退出 over HTTP (API.md "Closures"): cases, their tasks and acceptance, the tailings
//! pond's extension, the watch on closed mines and its patrols.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::closures::acceptance::{self, AcceptanceInput, ExtensionInput};
use crate::closures::board::{self, QueueQuery};
use crate::closures::tasks::{self, NewTask, Place, TaskNote};
use crate::closures::watch::{self, PatrolInput, WatchQuery};
use crate::closures::{self as closures, CaseQuery, CaseRecord, CaseView, NewClosure};
use crate::platform::error::{AppResult, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/closures", web::get().to(list_closures))
        .route("/closures", web::post().to(open_closure))
        .route("/closures/board", web::get().to(closures_board))
        .route("/closures/tasks", web::get().to(closure_task_queue))
        .route("/closures/export.xlsx", web::get().to(export_closures))
        .route("/closures/{id}", web::get().to(get_closure))
        .route("/closures/{id}/tasks", web::post().to(add_closure_task))
        .route(
            "/closures/{id}/tasks/{task_id}/files",
            web::post().to(add_task_evidence),
        )
        .route(
            "/closures/{id}/tasks/{task_id}/{step}",
            web::post().to(task_step),
        )
        .route(
            "/closures/{id}/acceptance",
            web::post().to(record_acceptance),
        )
        .route(
            "/closures/{id}/acceptance/{acceptance_id}/confirm",
            web::post().to(confirm_acceptance),
        )
        .route("/closures/{id}/extend", web::post().to(extend_closure))
        .route("/closures/{id}/files", web::post().to(add_decision_file))
        .route(
            "/closures/{id}/files/{file_id}",
            web::get().to(closure_file),
        )
        .route("/closed-mines/watch", web::get().to(watch_list))
        .route("/mines/{id}/patrols", web::get().to(list_patrols))
        .route("/mines/{id}/patrols", web::post().to(record_patrol));
}

/// 关闭退出台账: cases by state, kind, owning unit, a department's open tasks or mine;
/// the newest first, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/closures", tag = "关闭退出", params(CaseQuery), responses(
    (status = 200, body = Page<CaseView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_closures(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<CaseQuery>,
) -> AppResult<HttpResponse> {
    let limit = crate::platform::pagination::limit(q.0.limit)?;
    let f = q.0.filter()?;
    let now = state.clock.now_naive();
    let (items, next_cursor) = blocking(move || {
        state
            .db
            .read(|c| closures::list(c, &user.0, now, &f, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// 立案: a closure case for a mine, with the checklist of its kind; the mine becomes 临近关闭退出.
#[utoipa::path(post, path = "/api/v1/closures", tag = "关闭退出", request_body = NewClosure, responses(
    (status = 201, body = CaseView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn open_closure(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<NewClosure>,
) -> AppResult<HttpResponse> {
    let ApiJson(input, digest) = body;
    let who = user.0.clone();
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _a, now| {
            let case = closures::open(c, &who, now, input)?;
            closures::view(c, &case, crate::platform::clock::shanghai_date(now))
        },
        |v| Ok(v.clone()),
    )
    .await
}

/// A case with its tasks, files and acceptances.
#[utoipa::path(get, path = "/api/v1/closures/{id}", tag = "关闭退出", responses(
    (status = 200, body = CaseRecord), (status = 404, body = Problem)))]
pub async fn get_closure(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let r = blocking(move || state.db.read(|c| closures::record(c, &user.0, now, &id))).await?;
    Ok(HttpResponse::Ok().json(r))
}

async fn answer(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    id: &str,
) -> AppResult<HttpResponse> {
    let (st, who, id) = (state.clone(), user.0.clone(), id.to_owned());
    let now = state.clock.now_naive();
    let r = blocking(move || st.db.read(|c| closures::record(c, &who, now, &id))).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// 完成 (the owning department, saying what was done; a permit task cancels the permit)
/// or 免除 (the office, with its reason) a task: `{step}` is `complete` or `waive`.
#[utoipa::path(post, path = "/api/v1/closures/{id}/tasks/{task_id}/{step}", tag = "关闭退出", request_body = TaskNote,
    params(("step" = String, Path, description = "complete | waive")), responses(
    (status = 200, body = CaseRecord), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn task_step(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, String)>,
    body: ApiJson<TaskNote>,
) -> AppResult<HttpResponse> {
    let (id, task_id, step) = path.into_inner();
    if step != "complete" && step != "waive" {
        return Err(crate::platform::error::AppError::NotFound(
            "没有这个办理步骤（complete 或 waive）。".into(),
        ));
    }
    let (st, who, cid) = (state.clone(), user.0.clone(), id.clone());
    let now = state.clock.now_naive();
    let max = state.settings.http.max_upload_bytes;
    let input = body.0;
    blocking(move || {
        st.db.transaction(|c| match step.as_str() {
            "complete" => tasks::complete(
                c,
                &who,
                now,
                &cid,
                &task_id,
                input,
                Vec::new(),
                Place::default(),
                max,
            ),
            _ => tasks::waive(c, &who, now, &cid, &task_id, input),
        })
    })
    .await?;
    answer(&state, &user, &id).await
}

/// 增加任务: the office adds a task with its reason.
#[utoipa::path(post, path = "/api/v1/closures/{id}/tasks", tag = "关闭退出", request_body = NewTask, responses(
    (status = 200, body = CaseRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_closure_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<NewTask>,
) -> AppResult<HttpResponse> {
    let (st, who, cid) = (state.clone(), user.0.clone(), id.clone());
    let now = state.clock.now_naive();
    let input = body.0;
    blocking(move || st.db.transaction(|c| tasks::add(c, &who, now, &cid, input))).await?;
    answer(&state, &user, &id).await
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// The file's name, e.g. 封闭井口.jpg.
    pub name: Option<String>,
    /// Where a photo was taken.
    pub lon: Option<String>,
    pub lat: Option<String>,
}

/// Evidence of a task (the body is the file), by its department, with where a photo was taken.
#[utoipa::path(post, path = "/api/v1/closures/{id}/tasks/{task_id}/files", tag = "关闭退出", params(EvidenceQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg"), responses(
    (status = 201, body = Vec<crate::closures::FileMeta>), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn add_task_evidence(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    q: ApiQuery<EvidenceQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (id, task_id) = path.into_inner();
    let place = Place::parse(q.0.lon.as_deref(), q.0.lat.as_deref())
        .map_err(|e| crate::platform::error::AppError::Validation(vec![e]))?;
    let max = state.settings.http.max_upload_bytes;
    let upload = crate::web::raw_upload(&state, &req, payload, q.0.name.clone()).await?;
    let now = state.clock.now_naive();
    let files = blocking(move || {
        state.db.transaction(|c| {
            tasks::add_evidence(c, &user.0, now, &id, &task_id, vec![upload], place, max)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(files))
}

/// The decision document of a case (the body is the file).
#[utoipa::path(post, path = "/api/v1/closures/{id}/files", tag = "关闭退出", params(crate::leads::api::UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/pdf"), responses(
    (status = 201, body = Vec<crate::closures::FileMeta>), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn add_decision_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    q: ApiQuery<crate::leads::api::UploadQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let max = state.settings.http.max_upload_bytes;
    let upload = crate::web::raw_upload(&state, &req, payload, q.0.name.clone()).await?;
    let now = state.clock.now_naive();
    let files = blocking(move || {
        state
            .db
            .transaction(|c| acceptance::add_decision_file(c, &user.0, now, &id, vec![upload], max))
    })
    .await?;
    Ok(HttpResponse::Created().json(files))
}

/// A file of a case.
#[utoipa::path(get, path = "/api/v1/closures/{id}/files/{file_id}", tag = "关闭退出", responses(
    (status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn closure_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, file_id) = path.into_inner();
    let (name, kind, bytes) =
        blocking(move || state.db.read(|c| closures::file(c, &user.0, &id, &file_id))).await?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}

/// 联合验收: the office records it once every task is done or waived; accepted, the mine
/// becomes 已关闭 and is put under watch; not accepted, the named tasks are opened again.
#[utoipa::path(post, path = "/api/v1/closures/{id}/acceptance", tag = "关闭退出", request_body = AcceptanceInput, responses(
    (status = 200, body = CaseRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_acceptance(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<AcceptanceInput>,
) -> AppResult<HttpResponse> {
    let (st, who, cid) = (state.clone(), user.0.clone(), id.clone());
    let now = state.clock.now_naive();
    let max = state.settings.http.max_upload_bytes;
    let input = body.0;
    blocking(move || {
        st.db
            .transaction(|c| acceptance::record(c, &who, now, &cid, input, Vec::new(), max))
    })
    .await?;
    answer(&state, &user, &id).await
}

/// A participating department confirms the acceptance record (会签).
#[utoipa::path(post, path = "/api/v1/closures/{id}/acceptance/{acceptance_id}/confirm", tag = "关闭退出", responses(
    (status = 200, body = CaseRecord), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn confirm_acceptance(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, acceptance_id) = path.into_inner();
    let (st, who, cid) = (state.clone(), user.0.clone(), id.clone());
    let now = state.clock.now_naive();
    blocking(move || {
        st.db
            .transaction(|c| acceptance::confirm(c, &who, now, &cid, &acceptance_id))
    })
    .await?;
    answer(&state, &user, &id).await
}

/// 闭库延期: EM extends a tailings pond's closure once, by 1 to 6 months, with a reason.
#[utoipa::path(post, path = "/api/v1/closures/{id}/extend", tag = "关闭退出", request_body = ExtensionInput, responses(
    (status = 200, body = CaseRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn extend_closure(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ExtensionInput>,
) -> AppResult<HttpResponse> {
    let (st, who, cid) = (state.clone(), user.0.clone(), id.clone());
    let now = state.clock.now_naive();
    let input = body.0;
    blocking(move || {
        st.db
            .transaction(|c| acceptance::extend(c, &who, now, &cid, input))
    })
    .await?;
    answer(&state, &user, &id).await
}

/// 关闭退出看板: cases by kind and state, days to acceptance, overdue tasks by department,
/// the tailings ponds' clocks, the watch.
#[utoipa::path(get, path = "/api/v1/closures/board", tag = "关闭退出", responses(
    (status = 200, body = crate::closures::board::Board), (status = 403, body = Problem)))]
pub async fn closures_board(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let b = blocking(move || state.db.read(|c| board::board(c, &user.0, now))).await?;
    Ok(HttpResponse::Ok().json(b))
}

/// A department's open tasks (its queue), the nearest deadline first.
#[utoipa::path(get, path = "/api/v1/closures/tasks", tag = "关闭退出", params(QueueQuery), responses(
    (status = 200, body = crate::closures::board::Queue), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn closure_task_queue(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<QueueQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let r = blocking(move || state.db.read(|c| board::queue(c, &user.0, now, &q.0))).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The case list as a workbook (关闭退出台账 and 任务清单).
#[utoipa::path(get, path = "/api/v1/closures/export.xlsx", tag = "关闭退出", params(CaseQuery), responses(
    (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_closures(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<CaseQuery>,
) -> AppResult<HttpResponse> {
    let f = q.0.filter()?;
    let now = state.clock.now_naive();
    let bytes = blocking(move || {
        state
            .db
            .read_lagging(|c| closures::workbook(c, &user.0, now, &f))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("closures.xlsx", "关闭退出台账.xlsx"),
        ))
        .body(bytes))
}

/// 已关闭矿山复产监管: every closed mine with its last check; `due=true` only those not
/// checked within `closures.check_months`.
#[utoipa::path(get, path = "/api/v1/closed-mines/watch", tag = "关闭退出", params(WatchQuery), responses(
    (status = 200, body = crate::closures::watch::WatchPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn watch_list(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<WatchQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let months = state.settings.closures.check_months;
    let r = blocking(move || {
        state
            .db
            .read(|c| watch::list(c, &user.0, now, &q.0, months))
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// A closed mine's patrols, the latest first.
#[utoipa::path(get, path = "/api/v1/mines/{id}/patrols", tag = "关闭退出", responses(
    (status = 200, body = Vec<crate::closures::watch::PatrolView>), (status = 403, body = Problem)))]
pub async fn list_patrols(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let r = blocking(move || state.db.read(|c| watch::patrols(c, &user.0, &id))).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// 巡查: a patrol of a closed mine; `suspected_restart` raises a lead at once.
#[utoipa::path(post, path = "/api/v1/mines/{id}/patrols", tag = "关闭退出", request_body = PatrolInput, responses(
    (status = 201, body = crate::closures::watch::PatrolView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_patrol(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<PatrolInput>,
) -> AppResult<HttpResponse> {
    let ApiJson(input, digest) = body;
    let who = user.0.clone();
    let st = state.clone();
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _a, now| watch::patrol(&st, c, &who, now, &id, input, None),
        |v| Ok(v.clone()),
    )
    .await
}
