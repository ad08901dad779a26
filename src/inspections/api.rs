//! 综合查一次 over HTTP (API.md "Inspections"): the catalogue, tasks, results, hazards.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::inspections::{
    self as inspections, HazardQuery, HazardView, InspectionQuery, InspectionView, NewHazard,
    NewInspection, NewItem, Reinspection, Results,
};
use crate::platform::error::{AppResult, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/inspection-plans", web::get().to(list_plans))
        .route("/inspection-plans", web::post().to(create_plan))
        .route(
            "/inspection-plans/{id}/approve",
            web::post().to(approve_plan),
        )
        .route("/inspection-items", web::get().to(list_items))
        .route("/inspection-items", web::post().to(create_item))
        .route("/inspections", web::get().to(list_inspections))
        .route("/inspections", web::post().to(open_inspection))
        .route("/inspections/{id}", web::get().to(get_inspection))
        .route("/inspections/{id}/results", web::post().to(record_results))
        .route(
            "/inspections/{id}/complete",
            web::post().to(complete_inspection),
        )
        .route("/inspections/{id}/hazards", web::post().to(add_hazard))
        .route("/inspections/{id}/rating", web::post().to(rate_inspection))
        .route(
            "/inspections/{id}/files",
            web::post().to(upload_inspection_file),
        )
        .route(
            "/inspections/{id}/files/{file}",
            web::get().to(get_inspection_file),
        )
        .route(
            "/inspections/{id}/complaint",
            web::post().to(complain_about_inspection),
        )
        .route("/inspections/{id}/{step}", web::post().to(run_inspection))
        .route("/mines/{id}/inspections", web::get().to(mine_inspections))
        .route("/stats/inspections", web::get().to(inspection_stats))
        .route(
            "/stats/inspections.xlsx",
            web::get().to(export_inspection_stats),
        )
        .route("/hazard-standard", web::get().to(hazard_standard))
        .route("/hazards", web::get().to(list_hazards))
        .route("/hazards/{id}/reinspect", web::post().to(reinspect_hazard));
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// The plan year (default: this year).
    pub year: Option<i32>,
}

/// The annual plans of a year (年度检查计划), with the tasks carried out under each.
#[utoipa::path(get, path = "/api/v1/inspection-plans", tag = "综合查一次", params(PlanQuery), responses(
    (status = 200, body = Vec<crate::inspections::PlanView>), (status = 403, body = Problem)))]
pub async fn list_plans(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<PlanQuery>,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::ViewInspections)?;
    let year =
        q.0.year
            .unwrap_or_else(|| chrono::Datelike::year(&state.today()));
    let plans =
        blocking(move || state.db.read(|conn| inspections::plans(conn, year, false))).await?;
    Ok(HttpResponse::Ok().json(plans))
}

/// A lead department's plan for the year (in the first quarter); the office approves it.
#[utoipa::path(post, path = "/api/v1/inspection-plans", tag = "综合查一次", request_body = crate::inspections::NewPlan, responses(
    (status = 201, body = crate::inspections::PlanView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_plan(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<crate::inspections::NewPlan>,
) -> AppResult<HttpResponse> {
    let ApiJson(input, digest) = body;
    let who = user.0.clone();
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _a, now| inspections::create_plan(c, &who, now, input),
        |p| Ok(p.view(0)),
    )
    .await
}

/// The coordination office approves a plan; approved plans not exempt are published.
#[utoipa::path(post, path = "/api/v1/inspection-plans/{id}/approve", tag = "综合查一次", responses(
    (status = 200, body = crate::inspections::PlanView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_plan(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let p = blocking(move || {
        state
            .db
            .transaction(|conn| inspections::approve_plan(conn, &user.0, now, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p.view(0)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// Only this department's items.
    pub department: Option<String>,
}

/// The item catalogue (事项清单), by department.
#[utoipa::path(get, path = "/api/v1/inspection-items", tag = "综合查一次", params(ItemQuery), responses(
    (status = 200, body = Vec<crate::inspections::store::Item>)))]
pub async fn list_items(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: ApiQuery<ItemQuery>,
) -> AppResult<HttpResponse> {
    let department =
        q.0.department
            .map(|d| d.trim().to_uppercase())
            .filter(|d| !d.is_empty());
    let items = blocking(move || {
        state
            .db
            .read(|conn| inspections::items(conn, department.as_deref()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Add an item to the catalogue (admins and the coordination office).
#[utoipa::path(post, path = "/api/v1/inspection-items", tag = "综合查一次", request_body = NewItem, responses(
    (status = 201, body = crate::inspections::store::Item), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<NewItem>,
) -> AppResult<HttpResponse> {
    let ApiJson(input, digest) = body;
    let who = user.0.clone();
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _a, now| inspections::create_item(c, &who, now, input),
        |item| Ok(item.clone()),
    )
    .await
}

/// Open an inspection task (the lead department or the coordination office). At most five
/// departments (422, field `joint_departments`); a repeat within the window or over the
/// annual cap without `override_kind` and `override_reason` is a 409 of type
/// `repeat_inspection` or `inspection_cap`.
#[utoipa::path(post, path = "/api/v1/inspections", tag = "综合查一次", request_body = NewInspection,
    params(crate::web::IdempotencyKey), responses(
    (status = 201, body = InspectionView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn open_inspection(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<NewInspection>,
) -> AppResult<HttpResponse> {
    let ApiJson(input, digest) = body;
    let who = user.0.clone();
    let today = state.today();
    let settings = state.settings.inspection.clone();
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _a, now| {
            let task = inspections::open(c, &who, now, &settings, input)?;
            inspections::view(c, &task, today)
        },
        |v| Ok(v.clone()),
    )
    .await
}

/// Tasks, newest visit first: an officer's own department's, or all for the office.
#[utoipa::path(get, path = "/api/v1/inspections", tag = "综合查一次", params(InspectionQuery), responses(
    (status = 200, body = Page<crate::inspections::TaskSummary>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_inspections(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<InspectionQuery>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let page = blocking(move || {
        state.db.read(|conn| {
            let (rows, next) = inspections::list(conn, &user.0, &q.0)?;
            Ok(Page {
                items: inspections::summaries(conn, &rows, today)?,
                next_cursor: next,
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "综合查一次", responses(
    (status = 200, body = InspectionView), (status = 404, body = Problem)))]
pub async fn get_inspection(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let v = blocking(move || {
        state.db.read(|conn| {
            let task = inspections::load(conn, &user.0, &id)?;
            inspections::view(conn, &task, today)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Runs a change in one transaction and answers with the task as it is after.
async fn change(
    state: web::Data<AppState>,
    f: impl FnOnce(&mut crate::platform::db::DbConnection, chrono::NaiveDateTime) -> AppResult<String>
        + Send
        + 'static,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let today = state.today();
    let v = blocking(move || {
        state.db.transaction(|conn| {
            let id = f(conn, now)?;
            let task = crate::inspections::store::find(conn, &id)?.ok_or_else(|| {
                crate::platform::error::AppError::NotFound("没有这个检查任务。".into())
            })?;
            inspections::view(conn, &task, today)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why a task is cancelled.
    #[serde(default)]
    pub reason: String,
}

/// `start` (开始检查) or `cancel` (取消, with `reason`).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/{step}", tag = "综合查一次", request_body = StepBody, responses(
    (status = 200, body = InspectionView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn run_inspection(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: Option<ApiJson<StepBody>>,
) -> AppResult<HttpResponse> {
    let (id, step) = path.into_inner();
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    change(state, move |c, now| {
        inspections::run(c, &user.0, now, &id, &step, &reason).map(|t| t.id)
    })
    .await
}

/// A department's results for its items (every item of the department once).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/results", tag = "综合查一次", request_body = Results, responses(
    (status = 200, body = InspectionView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_results(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<Results>,
) -> AppResult<HttpResponse> {
    let input = body.0;
    change(state, move |c, now| {
        inspections::record(c, &user.0, now, &id, input).map(|t| t.id)
    })
    .await
}

/// Complete the task once every department has recorded (archived at once without hazards).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/complete", tag = "综合查一次", responses(
    (status = 200, body = InspectionView), (status = 409, body = Problem)))]
pub async fn complete_inspection(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    change(state, move |c, now| {
        inspections::complete(c, &user.0, now, &id).map(|t| t.id)
    })
    .await
}

/// A finding becomes a hazard with its rectification order.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/hazards", tag = "综合查一次", request_body = NewHazard, responses(
    (status = 201, body = HazardView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_hazard(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<NewHazard>,
) -> AppResult<HttpResponse> {
    let input = body.0;
    let now = state.clock.now_naive();
    let today = state.today();
    let h = blocking(move || {
        state
            .db
            .transaction(|conn| inspections::add_hazard(conn, &user.0, now, &id, input))
    })
    .await?;
    Ok(HttpResponse::Created().json(h.view(today)))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RatingView {
    pub inspection_id: String,
    pub verdict: String,
    pub comment: String,
    pub rated_at: String,
}

/// The inspected enterprise rates a finished visit, once (扫码评价).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/rating", tag = "综合查一次", request_body = crate::inspections::RatingInput, responses(
    (status = 201, body = RatingView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rate_inspection(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<crate::inspections::RatingInput>,
) -> AppResult<HttpResponse> {
    let input = body.0;
    let now = state.clock.now_naive();
    let r = blocking(move || {
        state
            .db
            .transaction(|conn| inspections::rate(conn, &user.0, now, &id, input))
    })
    .await?;
    Ok(HttpResponse::Created().json(RatingView {
        inspection_id: r.inspection_id,
        verdict: r.verdict,
        comment: r.comment,
        rated_at: crate::platform::clock::rfc3339(r.rated_at),
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    pub text: String,
}

/// The inspected enterprise complains about a visit: a lead for the coordination office.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/complaint", tag = "综合查一次", request_body = Complaint, responses(
    (status = 201, description = "the lead raised"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn complain_about_inspection(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<Complaint>,
) -> AppResult<HttpResponse> {
    let text = body.0.text;
    let now = state.clock.now_naive();
    let lead = blocking(move || {
        state
            .db
            .transaction(|conn| inspections::complain(&state, conn, &user.0, now, &id, &text))
    })
    .await?;
    Ok(
        HttpResponse::Created()
            .json(serde_json::json!({"lead_id": lead.id, "number": lead.number})),
    )
}

/// The inspection figures against the city's targets, per department (tasks by the
/// first day of their visit; default: this month).
#[utoipa::path(get, path = "/api/v1/stats/inspections", tag = "综合查一次", params(crate::leads::stats::StatsQuery), responses(
    (status = 200, body = crate::inspections::stats::InspectionStats), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn inspection_stats(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<crate::leads::stats::StatsQuery>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (from, to) = crate::leads::stats::period(&q.0, today)?;
    let targets = crate::inspections::stats::Targets::of(&state.settings.inspection);
    let s = blocking(move || {
        state.db.read_lagging(|conn| {
            crate::inspections::stats::stats(conn, &user.0, from, to, today, targets)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// The same figures as .xlsx.
#[utoipa::path(get, path = "/api/v1/stats/inspections.xlsx", tag = "综合查一次", params(crate::leads::stats::StatsQuery), responses(
    (status = 200, description = "Excel 统计表", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_inspection_stats(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<crate::leads::stats::StatsQuery>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (from, to) = crate::leads::stats::period(&q.0, today)?;
    let targets = crate::inspections::stats::Targets::of(&state.settings.inspection);
    let bytes = blocking(move || {
        state.db.read_lagging(|conn| {
            let s = crate::inspections::stats::stats(conn, &user.0, from, to, today, targets)?;
            crate::inspections::stats::workbook(&s)
        })
    })
    .await?;
    Ok(crate::web::file_download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("综合查一次指标-{from}-{to}.xlsx"),
        bytes,
    ))
}

/// A mine's inspection record, newest first.
#[utoipa::path(get, path = "/api/v1/mines/{id}/inspections", tag = "综合查一次", responses(
    (status = 200, body = Vec<crate::inspections::TaskSummary>), (status = 403, body = Problem)))]
pub async fn mine_inspections(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let items = blocking(move || {
        state.db.read(|conn| {
            crate::register::mines::find(conn, &id)?;
            let tasks = inspections::of_mine(conn, &user.0, &id)?;
            inspections::summaries(conn, &tasks, today)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Hazards, soonest rectification date first: an officer's own department's.
#[utoipa::path(get, path = "/api/v1/hazards", tag = "综合查一次", params(HazardQuery), responses(
    (status = 200, body = Page<HazardView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_hazards(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<HazardQuery>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (rows, next) = blocking(move || {
        state
            .db
            .read(|conn| inspections::hazards(conn, &user.0, &q.0, today))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(|h| h.view(today)).collect::<Vec<_>>(),
        next_cursor: next,
    }))
}

/// 《金属非金属矿山重大事故隐患判定标准》(矿安〔2022〕88号): the list named, the one a
/// mine is judged by (`mine_id`), or all three; a major hazard names a `selectable` code.
#[utoipa::path(get, path = "/api/v1/hazard-standard", tag = "综合查一次", params(inspections::StandardQuery), responses(
    (status = 200, body = inspections::StandardView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn hazard_standard(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<inspections::StandardQuery>,
) -> AppResult<HttpResponse> {
    let view = blocking(move || {
        state
            .db
            .read(|conn| inspections::standard_lists(conn, &user.0, &q.0))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// 复查: `abated: true` closes the hazard (销号).
#[utoipa::path(post, path = "/api/v1/hazards/{id}/reinspect", tag = "综合查一次", request_body = Reinspection, responses(
    (status = 200, body = HazardView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reinspect_hazard(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<Reinspection>,
) -> AppResult<HttpResponse> {
    let input = body.0;
    let now = state.clock.now_naive();
    let today = state.today();
    let h = blocking(move || {
        state
            .db
            .transaction(|conn| inspections::reinspect(conn, &user.0, now, &id, input))
    })
    .await?;
    Ok(HttpResponse::Ok().json(h.view(today)))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// result (an item's photo) | hazard (a hazard's photo) | reinspection (its evidence).
    pub purpose: String,
    /// For `result`: the item's code.
    pub item: Option<String>,
    /// For `hazard` and `reinspection`: the hazard.
    pub hazard_id: Option<String>,
    /// The file's name, e.g. 现场照片.jpg.
    pub name: Option<String>,
}

/// Add a photo or document to an item's result or a hazard: the body is the file,
/// `Content-Type` its type (jpg, png, webp, heic, pdf, doc, docx).
#[utoipa::path(post, path = "/api/v1/inspections/{id}/files", tag = "综合查一次", params(FileQuery), request_body(content = Vec<u8>, content_type = "image/jpeg"), responses(
    (status = 201, body = Vec<inspections::InspectionFile>), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_inspection_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    q: ApiQuery<FileQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let target =
        inspections::FileTarget::parse(&q.purpose, q.item.as_deref(), q.hazard_id.as_deref())?;
    let upload = crate::web::raw_upload(&state, &req, payload, q.name).await?;
    let (max, now) = (
        state.settings.http.max_upload_bytes,
        state.clock.now_naive(),
    );
    let stored = blocking(move || {
        state.db.transaction(|conn| {
            inspections::attach(conn, &user.0, now, &id, &target, vec![upload], max)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// A photo or document of the visit, for whoever takes part in the task.
#[utoipa::path(get, path = "/api/v1/inspections/{id}/files/{file}", tag = "综合查一次", responses(
    (status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn get_inspection_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, file) = path.into_inner();
    let (f, bytes) = blocking(move || {
        state
            .db
            .read(|conn| inspections::open_file(conn, &user.0, &id, &file))
    })
    .await?;
    Ok(crate::web::file_download(
        &f.content_type,
        &f.file_name,
        bytes,
    ))
}
