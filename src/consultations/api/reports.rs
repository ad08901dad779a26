//! Monthly reports over HTTP (API.md "Consultations": monthly reports).

use actix_web::{web, HttpResponse};

use crate::consultations::reports::{self, MonthStatus, NewReport, ReportQuery, ReportView};
use crate::platform::clock::shanghai_date;
use crate::platform::error::{AppResult, Problem};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/monthly-reports", web::get().to(list_monthly_reports))
        .route("/monthly-reports", web::post().to(draft_monthly_report))
        .route(
            "/monthly-reports/status",
            web::get().to(monthly_report_status),
        )
        .route(
            "/monthly-reports/export.xlsx",
            web::get().to(export_monthly_reports),
        )
        .route("/monthly-reports/{id}", web::get().to(get_monthly_report))
        .route(
            "/monthly-reports/{id}/approve",
            web::post().to(approve_monthly_report),
        )
        .route(
            "/monthly-reports/{id}/explain",
            web::post().to(explain_monthly_report),
        );
}

/// The month's reports (default last month): the office sees every unit's.
#[utoipa::path(get, path = "/api/v1/monthly-reports", tag = "会商研判", params(ReportQuery), responses(
    (status = 200, body = Vec<ReportView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_monthly_reports(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let today = shanghai_date(state.clock.now_naive());
    let v = blocking(move || {
        state.db.read(|c| {
            let (_, rows) = reports::list(c, &user.0, today, &q.0)?;
            reports::views(c, &rows, &state.settings.reports)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The unit's officer drafts the report for a month that has ended (every decision owed
/// on, each with its progress); corrected until signed.
#[utoipa::path(post, path = "/api/v1/monthly-reports", tag = "会商研判", request_body = NewReport, responses(
    (status = 201, body = ReportView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn draft_monthly_report(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<NewReport>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            reports::draft(c, &user.0, now, &state.settings.reports, body.0.clone())
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// "2026-03"; default last month.
    pub month: Option<String>,
}

/// Who has filed the month's report, late, or not at all once the due day has passed.
#[utoipa::path(get, path = "/api/v1/monthly-reports/status", tag = "会商研判", params(StatusQuery), responses(
    (status = 200, body = MonthStatus), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn monthly_report_status(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<StatusQuery>,
) -> AppResult<HttpResponse> {
    let today = shanghai_date(state.clock.now_naive());
    let v = blocking(move || {
        state.db.read(|c| {
            reports::status(
                c,
                &user.0,
                today,
                &state.settings.reports,
                q.0.month.as_deref(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The month's reporting status and what each unit reported, as an Excel workbook.
#[utoipa::path(get, path = "/api/v1/monthly-reports/export.xlsx", tag = "会商研判", params(StatusQuery), responses(
    (status = 200, description = "Excel 工作簿", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_monthly_reports(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<StatusQuery>,
) -> AppResult<HttpResponse> {
    let today = shanghai_date(state.clock.now_naive());
    let bytes = blocking(move || {
        state.db.read_lagging(|c| {
            reports::workbook(
                c,
                &user.0,
                today,
                &state.settings.reports,
                q.0.month.as_deref(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("monthly-reports.xlsx", "月度报送.xlsx"),
        ))
        .body(bytes))
}

#[utoipa::path(get, path = "/api/v1/monthly-reports/{id}", tag = "会商研判", responses(
    (status = 200, body = ReportView), (status = 404, body = Problem)))]
pub async fn get_monthly_report(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let v = blocking(move || {
        state.db.read(|c| {
            let r = reports::load(c, &user.0, &id)?;
            reports::views(c, std::slice::from_ref(&r), &state.settings.reports)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(&v[0]))
}

/// The unit's head signs the report off (not the one who drafted it).
#[utoipa::path(post, path = "/api/v1/monthly-reports/{id}/approve", tag = "会商研判", responses(
    (status = 200, body = ReportView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_monthly_report(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state
            .db
            .transaction(|c| reports::approve(c, &user.0, now, &state.settings.reports, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    /// Why the head cannot sign in time, and how they reviewed it.
    pub explanation: String,
}

/// Files the report with an explanation when the head cannot sign in time.
#[utoipa::path(post, path = "/api/v1/monthly-reports/{id}/explain", tag = "会商研判", request_body = ExplainBody, responses(
    (status = 200, body = ReportView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn explain_monthly_report(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ExplainBody>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            reports::explain(
                c,
                &user.0,
                now,
                &state.settings.reports,
                &id,
                &body.0.explanation,
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}
