//! JSON API of permits: /api/v1/mines/{id}/permits and /api/v1/permits.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::platform::authz::{self, Action};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::pagination::Page;
use crate::register::permits::{
    self, Decision, DecisionInput, PermitInput, PermitQuery, PermitView,
};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mines/{id}/permits", web::get().to(mine_permits))
        .route("/mines/{id}/permits", web::post().to(record_permit))
        .route("/permits", web::get().to(list_permits))
        .route("/permits/export.xlsx", web::get().to(export_permits))
        .route("/permits/{id}", web::get().to(get_permit))
        .route("/permits/{id}", web::patch().to(update_permit))
        .route("/permits/{id}/{decision}", web::post().to(decide_permit));
}

/// A mine's permits.
#[utoipa::path(get, path = "/api/v1/mines/{id}/permits", tag = "证照", responses(
    (status = 200, body = Page<PermitView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn mine_permits(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    if !crate::register::policy::may_view_mine(&user.0, &id) {
        return Err(AppError::Forbidden("您只能查看本企业的矿山。".into()));
    }
    let today = state.today();
    let items = blocking(move || {
        state.db.read(|conn| {
            crate::register::mines::find(conn, &id)?;
            let types = permits::types_by_code(conn)?;
            Ok(permits::for_mine(conn, &id)?
                .iter()
                .filter_map(|p| types.get(&p.permit_type).map(|t| p.view(t, today)))
                .collect::<Vec<_>>())
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Record a permit of a mine. 谁审批、谁监管: only the issuing department (and admins).
#[utoipa::path(post, path = "/api/v1/mines/{id}/permits", tag = "证照", request_body = PermitInput,
    params(crate::web::IdempotencyKey), responses(
    (status = 201, body = PermitView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn record_permit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<PermitInput>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let who = user.0.clone();
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, _actor, now| permits::create(c, &who, now, today, &id, input),
        move |(p, t)| Ok(p.view(t, today)),
    )
    .await
}

/// Permits across mines, soonest expiry first; `expiring_within_days=N` for what is due.
#[utoipa::path(get, path = "/api/v1/permits", tag = "证照", params(PermitQuery), responses(
    (status = 200, body = Page<PermitView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_permits(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<PermitQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let today = state.today();
    let (items, next) = blocking(move || {
        state.db.read_lagging(|conn| {
            let (rows, next) = permits::list(conn, &q.0, today)?;
            let types = permits::types_by_code(conn)?;
            Ok((
                rows.iter()
                    .filter_map(|p| types.get(&p.permit_type).map(|t| p.view(t, today)))
                    .collect::<Vec<_>>(),
                next,
            ))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next,
    }))
}

#[utoipa::path(get, path = "/api/v1/permits/{id}", tag = "证照", responses(
    (status = 200, body = PermitView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_permit(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let (p, t) = blocking(move || state.db.read(|conn| permits::find(conn, &id))).await?;
    if !crate::register::policy::may_view_mine(&user.0, &p.mine_id) {
        return Err(AppError::Forbidden("您只能查看本企业的证照。".into()));
    }
    Ok(HttpResponse::Ok().json(p.view(&t, today)))
}

/// Change a permit's details (the issuing department and admins).
#[utoipa::path(patch, path = "/api/v1/permits/{id}", tag = "证照", request_body = PermitInput, responses(
    (status = 200, body = PermitView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_permit(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<PermitInput>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let now = state.clock.now_naive();
    let (p, t) = blocking(move || {
        state
            .db
            .transaction(|conn| permits::update(conn, &user.0, now, today, &id, body.0))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p.view(&t, today)))
}

/// Suspend (暂扣), revoke (吊销) or cancel (注销) a permit, or reinstate a suspended one, with the reason.
#[utoipa::path(post, path = "/api/v1/permits/{id}/{decision}", tag = "证照", request_body = DecisionInput,
    params(("decision" = String, Path, description = "suspend | revoke | cancel | reinstate")), responses(
    (status = 200, body = PermitView), (status = 403, body = Problem), (status = 409, body = Problem, description = "invalid_transition"), (status = 422, body = Problem)))]
pub async fn decide_permit(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    body: ApiJson<DecisionInput>,
) -> AppResult<HttpResponse> {
    let (id, decision) = path.into_inner();
    let decision = Decision::parse(&decision)
        .ok_or_else(|| AppError::NotFound(format!("没有这个操作：{decision}")))?;
    let today = state.today();
    let now = state.clock.now_naive();
    let (p, t) = blocking(move || {
        state
            .db
            .transaction(|conn| permits::decide(conn, &user.0, now, &id, decision, &body.0.reason))
    })
    .await?;
    Ok(HttpResponse::Ok().json(p.view(&t, today)))
}

/// The permit ledger (证照台账) as .xlsx, with the list's filters.
#[utoipa::path(get, path = "/api/v1/permits/export.xlsx", tag = "证照", params(PermitQuery), responses(
    (status = 200, description = "Excel 工作簿", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_permits(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<PermitQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let today = state.today();
    let bytes = blocking(move || {
        state
            .db
            .read_lagging(|conn| permits::ledger(conn, &q.0, today))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("permits.xlsx", "证照台账.xlsx"),
        ))
        .body(bytes))
}
