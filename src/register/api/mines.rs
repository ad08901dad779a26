//! JSON API of the mine register under /api/v1/mines.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::platform::authz::{self, Action, Principal};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::pagination::Page;
use crate::register::boundaries;
use crate::register::mines::{
    self, Mine, MineChange, MineInput, MineQuery, MineView, RiskGradeChange, StatusChange,
    SupervisorChange,
};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mines", web::get().to(list_mines))
        .route("/mines", web::post().to(create_mine))
        .route("/mines/gaps", web::get().to(mine_gaps))
        .route("/mines/export.xlsx", web::get().to(export_mines))
        .route("/mines/import", web::post().to(import_mines))
        .route("/mines/{id}", web::get().to(get_mine))
        .route("/mines/{id}", web::patch().to(update_mine))
        .route("/mines/{id}/status", web::post().to(change_status))
        .route("/mines/{id}/risk-grade", web::put().to(set_risk_grade))
        .route("/mines/{id}/supervisor", web::put().to(set_supervisor))
        .route("/mines/{id}/history", web::get().to(mine_history))
        .route("/mines/{id}/boundary", web::put().to(set_boundary))
        .route("/mines/{id}/boundary.svg", web::get().to(boundary_svg))
        .route("/prohibited-zones", web::get().to(list_zones))
        .route("/prohibited-zones", web::post().to(create_zone))
        .route("/prohibited-zones/{id}", web::get().to(get_zone))
        .route("/prohibited-zones/{id}", web::patch().to(update_zone));
}

/// Mines, filtered and keyset-paginated (`sort=name` or `-updated_at`).
#[utoipa::path(get, path = "/api/v1/mines", tag = "矿山台账", params(MineQuery), responses(
    (status = 200, body = Page<MineView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_mines(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<MineQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let today = state.today();
    let (rows, next) =
        blocking(move || state.db.read_lagging(|conn| mines::list(conn, &q.0))).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(|m| m.view(today)).collect::<Vec<_>>(),
        next_cursor: next,
    }))
}

/// Register a mine (NR and EM officers, the coordination office, admins).
#[utoipa::path(post, path = "/api/v1/mines", tag = "矿山台账", request_body = MineInput,
    params(crate::web::IdempotencyKey), responses(
    (status = 201, body = MineView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_mine(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<MineInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditMines)?;
    let today = state.today();
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| mines::create(c, a, n, input),
        move |m: &Mine| Ok(m.view(today)),
    )
    .await
}

pub async fn load_mine(
    state: &web::Data<AppState>,
    who: &Principal,
    id: String,
) -> AppResult<Mine> {
    if !crate::register::policy::may_view_mine(who, &id) {
        return Err(AppError::Forbidden("您只能查看本企业的矿山。".into()));
    }
    let st = state.clone();
    blocking(move || st.db.read(|conn| mines::find(conn, &id))).await
}

#[utoipa::path(get, path = "/api/v1/mines/{id}", tag = "矿山台账", responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_mine(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mine = load_mine(&state, &user.0, id.into_inner()).await?;
    let view = with_boundary(&state, &user.0, &mine).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A mine's view with its boundary and, for those who may see other mines, the boundary
/// checks (overlaps and distances name the neighbours), as of today.
pub async fn with_boundary(
    state: &web::Data<AppState>,
    who: &Principal,
    mine: &Mine,
) -> AppResult<MineView> {
    let mut view = mine.view(state.today());
    let (st, id, today) = (state.clone(), mine.id.clone(), state.today());
    let found = blocking(move || {
        st.db.read(|conn| {
            let Some(b) = boundaries::find(conn, &id)? else {
                return Ok(None);
            };
            let z = boundaries::zone(&st.settings.geo);
            let checks = boundaries::check(
                conn,
                &id,
                &b.rings()?.to_multipolygon(),
                today,
                &st.settings.geo,
            )?;
            Ok(Some((boundaries::view(&b, z)?, checks)))
        })
    })
    .await?;
    if let Some((b, c)) = found {
        view.boundary = Some(b);
        view.boundary_checks = crate::register::policy::may_see_neighbours(who).then_some(c);
    }
    Ok(view)
}

/// Set a mine's boundary from the licence's corner points (or GeoJSON) and elevation range;
/// the answer carries the overlap, distance and prohibited-zone checks (NR, the coordination office, admins).
#[utoipa::path(put, path = "/api/v1/mines/{id}/boundary", tag = "矿山台账", request_body = boundaries::BoundaryInput, responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_boundary(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<boundaries::BoundaryInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditBoundaries)?;
    let now = state.clock.now_naive();
    let (st, who, mid) = (state.clone(), user.0.clone(), id.into_inner());
    let mine = blocking(move || {
        st.db.transaction(|conn| {
            boundaries::set(conn, &who.actor(), now, &mid, body.0, &st.settings.geo)?;
            mines::find(conn, &mid)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(with_boundary(&state, &user.0, &mine).await?))
}

/// The boundary with its neighbours and prohibited zones, drawn as SVG (north up, with a scale bar).
#[utoipa::path(get, path = "/api/v1/mines/{id}/boundary.svg", tag = "矿山台账", responses(
    (status = 200, description = "SVG 示意图", content_type = "image/svg+xml"), (status = 404, body = Problem)))]
pub async fn boundary_svg(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mine = load_mine(&state, &user.0, id.into_inner()).await?;
    let (svg, _) = boundary_drawing(&state, &user.0, &mine)
        .await?
        .ok_or_else(|| AppError::NotFound("该矿山尚未登记矿区范围。".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .body(svg))
}

/// The SVG drawing of a mine's boundary and the same shapes as GeoJSON text, or None when it
/// has none; neighbours and prohibited zones only for those who may see other mines.
pub async fn boundary_drawing(
    state: &web::Data<AppState>,
    who: &Principal,
    mine: &Mine,
) -> AppResult<Option<(String, String)>> {
    let (st, id, name) = (state.clone(), mine.id.clone(), mine.name.clone());
    let neighbours = crate::register::policy::may_see_neighbours(who);
    blocking(move || {
        st.db.read(|conn| {
            let Some(b) = boundaries::find(conn, &id)? else {
                return Ok(None);
            };
            let main = b.rings()?.to_multipolygon();
            let margin = (b.max_x - b.min_x)
                .max(b.max_y - b.min_y)
                .max(st.settings.geo.min_distance_m * 2.0);
            let (near_mines, zones) = if neighbours {
                boundaries::neighbours_for_drawing(conn, &b, margin)?
            } else {
                Default::default()
            };
            let mut shapes = vec![crate::register::rules::boundary::Shape {
                rings: &main,
                label: &name,
                kind: "main",
            }];
            shapes.extend(near_mines.iter().map(|(n, mp)| {
                crate::register::rules::boundary::Shape {
                    rings: mp,
                    label: n,
                    kind: "neighbour",
                }
            }));
            shapes.extend(
                zones
                    .iter()
                    .map(|(n, mp)| crate::register::rules::boundary::Shape {
                        rings: mp,
                        label: n,
                        kind: "zone",
                    }),
            );
            let projection = boundaries::zone(&st.settings.geo).projection();
            let areas: Vec<_> = shapes.iter().map(|s| s.area()).collect();
            let geojson = crate::platform::rules::map::geojson(&areas, &[], |x, y| {
                projection.to_lonlat(x, y).ok()
            });
            Ok(Some((
                crate::register::rules::boundary::svg(&shapes, 640.0),
                geojson,
            )))
        })
    })
    .await
}

/// Runs a change to one mine in one transaction, for a user the gate lets through.
pub async fn change_mine(
    state: web::Data<AppState>,
    who: Principal,
    action: Action,
    f: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::audit::Actor,
            chrono::NaiveDateTime,
        ) -> AppResult<Mine>
        + Send
        + 'static,
) -> AppResult<Mine> {
    authz::require(&who, action)?;
    let now = state.clock.now_naive();
    blocking(move || state.db.transaction(|conn| f(conn, &who.actor(), now))).await
}

/// Edit a mine's register entry. Status, grade and supervisor have their own actions.
#[utoipa::path(patch, path = "/api/v1/mines/{id}", tag = "矿山台账", request_body = MineInput, responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_mine(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<MineInput>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let m = change_mine(state, user.0, Action::EditMines, move |c, a, n| {
        mines::update(c, a, n, &id, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(m.view(today)))
}

/// Move a mine through its lifecycle, with a reason. 已关闭 is set by closure cases only.
#[utoipa::path(post, path = "/api/v1/mines/{id}/status", tag = "矿山台账", request_body = StatusChange, responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 409, body = Problem, description = "invalid_transition"), (status = 422, body = Problem)))]
pub async fn change_status(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<StatusChange>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let m = change_mine(state, user.0, Action::EditMines, move |c, a, n| {
        mines::change_status(c, a, n, &id, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(m.view(today)))
}

/// Set the safety risk grade with a reason and the assessment behind it (EM, the coordination office, admins).
#[utoipa::path(put, path = "/api/v1/mines/{id}/risk-grade", tag = "矿山台账", request_body = RiskGradeChange, responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_risk_grade(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<RiskGradeChange>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let m = change_mine(state, user.0, Action::GradeMines, move |c, a, n| {
        mines::set_risk_grade(c, a, n, &id, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(m.view(today)))
}

/// Set the daily safety supervising department with a reason (EM, the coordination office, admins).
#[utoipa::path(put, path = "/api/v1/mines/{id}/supervisor", tag = "矿山台账", request_body = SupervisorChange, responses(
    (status = 200, body = MineView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_supervisor(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<SupervisorChange>,
) -> AppResult<HttpResponse> {
    let today = state.today();
    let m = change_mine(state, user.0, Action::GradeMines, move |c, a, n| {
        mines::set_supervisor(c, a, n, &id, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(m.view(today)))
}

/// Every change of a mine: registration, edits, status, grade (with assessment) and supervisor.
#[utoipa::path(get, path = "/api/v1/mines/{id}/history", tag = "矿山台账", responses(
    (status = 200, body = Page<MineChange>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn mine_history(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    if !crate::register::policy::may_view_mine(&user.0, &id) {
        return Err(AppError::Forbidden("您只能查看本企业的矿山。".into()));
    }
    let items = blocking(move || state.db.read(|conn| mines::history(conn, &id))).await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MineGap {
    pub mine: MineView,
    /// Why the mine is not under watch, in Chinese.
    pub reasons: Vec<String>,
}

/// 严防漏管失控: mines of every status but closed without a supervisor or grade, overdue for
/// inspection under their grade, or (tailings ponds) overdue for their safety evaluation.
#[utoipa::path(get, path = "/api/v1/mines/gaps", tag = "矿山台账", params(MineQuery), responses(
    (status = 200, body = Page<MineGap>), (status = 403, body = Problem)))]
pub async fn mine_gaps(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<MineQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let today = state.today();
    let st = state.clone();
    let (rows, next) = blocking(move || {
        st.db
            .read(|conn| mines::gaps(conn, &q.0, today, &st.settings.inspection))
    })
    .await?;
    let items: Vec<MineGap> = rows
        .into_iter()
        .map(|(m, reasons)| MineGap {
            mine: m.view(today),
            reasons,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next,
    }))
}

/// The mine ledger (矿山台账) as .xlsx, with the list's filters; the import reads the same columns.
#[utoipa::path(get, path = "/api/v1/mines/export.xlsx", tag = "矿山台账", params(MineQuery), responses(
    (status = 200, description = "Excel 工作簿", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_mines(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<MineQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let bytes = blocking(move || {
        state.db.read_lagging(|conn| {
            let rows = mines::all_matching(conn, &q.0)?;
            let departments = crate::reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect();
            let townships = crate::reference::townships(conn)?
                .into_iter()
                .map(|t| (t.code, t.name))
                .collect();
            mines::ledger(&rows, &departments, &townships)
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("mines.xlsx", "矿山台账.xlsx"),
        ))
        .body(bytes))
}

/// Import new mines from an .xlsx ledger (the export's columns). Every row is imported in
/// one transaction, or nothing is and every bad row and field is listed.
#[utoipa::path(post, path = "/api/v1/mines/import", tag = "矿山台账",
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 201, body = mines::ImportResult), (status = 403, body = Problem), (status = 413, body = Problem),
    (status = 422, body = Problem, description = "errors 中逐行列出，字段形如 rows[3].credit_code")))]
pub async fn import_mines(
    state: web::Data<AppState>,
    user: CurrentUser,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditMines)?;
    let bytes = crate::web::read_body(&state, payload, "请选择要导入的 Excel 文件").await?;
    let limits = state.settings.import;
    let sheet = blocking(move || crate::platform::xlsx::read_first_sheet(&bytes, &limits)).await?;
    let today = state.today();
    let now = state.clock.now_naive();
    let who = user.0;
    let created = blocking(move || {
        state
            .db
            .transaction_alone(|conn| mines::import(conn, &who, now, &sheet))
    })
    .await?;
    Ok(HttpResponse::Created().json(mines::ImportResult {
        imported: created.len(),
        items: created.iter().map(|m| m.view(today)).collect(),
    }))
}

/// Prohibited zones (禁止开采区), active first.
#[utoipa::path(get, path = "/api/v1/prohibited-zones", tag = "矿山台账", responses(
    (status = 200, body = Page<boundaries::ZoneView>), (status = 403, body = Problem)))]
pub async fn list_zones(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let z = boundaries::zone(&state.settings.geo);
    let items = blocking(move || {
        state.db.read(|conn| {
            boundaries::zones(conn)?
                .iter()
                .map(|zone| zone.view(z))
                .collect::<AppResult<Vec<_>>>()
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Import a prohibited zone as a polygon (corner points or GeoJSON).
#[utoipa::path(post, path = "/api/v1/prohibited-zones", tag = "矿山台账", request_body = boundaries::ZoneInput,
    params(crate::web::IdempotencyKey), responses(
    (status = 201, body = boundaries::ZoneView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_zone(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<boundaries::ZoneInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditBoundaries)?;
    let geo = state.settings.geo.clone();
    let z = boundaries::zone(&geo);
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| boundaries::create_zone(c, a, n, input, &geo),
        move |zone| zone.view(z),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/prohibited-zones/{id}", tag = "矿山台账", responses(
    (status = 200, body = boundaries::ZoneView), (status = 404, body = Problem)))]
pub async fn get_zone(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewMines)?;
    let z = boundaries::zone(&state.settings.geo);
    let view = blocking(move || {
        state
            .db
            .read(|conn| boundaries::find_zone(conn, &id)?.view(z))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Rename or deactivate a prohibited zone (its shape is kept as imported).
#[utoipa::path(patch, path = "/api/v1/prohibited-zones/{id}", tag = "矿山台账", request_body = boundaries::ZoneInput, responses(
    (status = 200, body = boundaries::ZoneView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_zone(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<boundaries::ZoneInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditBoundaries)?;
    let z = boundaries::zone(&state.settings.geo);
    let now = state.clock.now_naive();
    let who = user.0;
    let view = blocking(move || {
        state.db.transaction(|conn| {
            boundaries::update_zone(conn, &who.actor(), now, &id, body.0)?.view(z)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
