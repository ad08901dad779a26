//! Minutes and the decisions ledger over HTTP (API.md "Consultations": minutes, decisions).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::consultations::ledger::{
    self, DecisionRecord, DecisionView, ExtendInput, LedgerQuery, ProgressInput, ReviewInput,
};
use crate::consultations::minutes::{self, MinutesInput, MinutesView, SupplementView};
use crate::platform::clock::shanghai_date;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultations/{id}/minutes", web::get().to(get_minutes))
        .route("/consultations/{id}/minutes", web::put().to(put_minutes))
        .route(
            "/consultations/{id}/minutes/approve",
            web::post().to(approve_minutes),
        )
        .route(
            "/consultations/{id}/minutes/supplements",
            web::post().to(supplement_minutes),
        )
        .route("/decisions", web::get().to(list_decisions))
        .route("/decisions/board", web::get().to(decisions_board))
        .route("/decisions/export.xlsx", web::get().to(export_decisions))
        .route("/decisions/{id}", web::get().to(get_decision))
        .route("/decisions/{id}/progress", web::post().to(report_progress))
        .route("/decisions/{id}/review", web::post().to(review_decision))
        .route("/decisions/{id}/close", web::post().to(close_decision))
        .route("/decisions/{id}/extend", web::post().to(extend_decision))
        .route("/decisions/{id}/open", web::post().to(open_decision))
        .route(
            "/decisions/{id}/files",
            web::post().to(add_decision_evidence),
        )
        .route(
            "/decisions/{id}/files/{file_id}",
            web::get().to(decision_file),
        );
}

/// The meeting's minutes (draft or approved).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/minutes", tag = "会商研判", responses(
    (status = 200, body = MinutesView), (status = 404, body = Problem)))]
pub async fn get_minutes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || state.db.read(|c| minutes::minutes_of(c, &user.0, now, &id)))
        .await?
        .ok_or_else(|| AppError::NotFound("这次会商还没有会议纪要。".into()))?;
    Ok(HttpResponse::Ok().json(v))
}

/// 起草纪要: the office records who was present, the discussion and the decisions; the
/// draft can be corrected until the office's head approves it.
#[utoipa::path(put, path = "/api/v1/consultations/{id}/minutes", tag = "会商研判", request_body = MinutesInput, responses(
    (status = 200, body = MinutesView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_minutes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<MinutesInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state
            .db
            .transaction(|c| minutes::put(c, &user.0, now, &id, body.0.clone()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// 审定印发: the office's head approves; the minutes are published and their decisions
/// entered in the ledger (建账).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/minutes/approve", tag = "会商研判", responses(
    (status = 200, body = MinutesView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_minutes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state
            .db
            .transaction(|c| minutes::approve(c, &user.0, now, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplementBody {
    pub text: String,
}

/// 补充纪要: a correction appended to approved minutes.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/minutes/supplements", tag = "会商研判", request_body = SupplementBody, responses(
    (status = 201, body = SupplementView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn supplement_minutes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<SupplementBody>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let s = blocking(move || {
        state
            .db
            .transaction(|c| minutes::supplement(c, &user.0, now, &id, &body.0.text))
    })
    .await?;
    Ok(HttpResponse::Created().json(SupplementView {
        position: s.position,
        text: s.body,
        written_by: String::new(),
        written_at: (s.written_at + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
    }))
}

/// 督办台账: decisions, nearest deadline first; the office sees every unit's, a
/// department its own.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "会商研判", params(LedgerQuery), responses(
    (status = 200, body = Page<DecisionView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_decisions(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<LedgerQuery>,
) -> AppResult<HttpResponse> {
    let today = shanghai_date(state.clock.now_naive());
    let page = blocking(move || {
        state.db.read(|c| {
            let (rows, next) = ledger::list(c, &user.0, today, &q.0)?;
            Ok(Page {
                items: ledger::views(c, &rows, today)?,
                next_cursor: next,
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The ledger as an Excel workbook, with the list's filters and scope (at most 20 000).
#[utoipa::path(get, path = "/api/v1/decisions/export.xlsx", tag = "会商研判", params(LedgerQuery), responses(
    (status = 200, description = "Excel 工作簿", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_decisions(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<LedgerQuery>,
) -> AppResult<HttpResponse> {
    let today = shanghai_date(state.clock.now_naive());
    let bytes = blocking(move || {
        state
            .db
            .read_lagging(|c| ledger::workbook(c, &user.0, today, &q.0))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("decisions.xlsx", "督办台账.xlsx"),
        ))
        .body(bytes))
}

/// 会商督办看板: each queue's count, the ledger by unit (the office's: every unit's), last
/// month's reporting status.
#[utoipa::path(get, path = "/api/v1/decisions/board", tag = "会商研判", responses(
    (status = 200, body = crate::consultations::board::Board), (status = 403, body = Problem)))]
pub async fn decisions_board(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::ViewDecisions)?;
    let now = state.clock.now_naive();
    let (b, _) = blocking(move || {
        state
            .db
            .read(|c| crate::consultations::board::board(c, &user.0, now, &state.settings.reports))
    })
    .await?;
    Ok(HttpResponse::Ok().json(b))
}

/// One decision with its reports, extensions, evidence and what it opened.
#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "会商研判", responses(
    (status = 200, body = DecisionRecord), (status = 404, body = Problem)))]
pub async fn get_decision(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let r = blocking(move || state.db.read(|c| ledger::record(c, &user.0, now, &id))).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// A step on a decision in one transaction, answered with the decision's record.
async fn step_then_record(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: String,
    step: impl FnOnce(
            &AppState,
            &mut crate::platform::db::DbConnection,
            &crate::platform::authz::Principal,
            chrono::NaiveDateTime,
            &str,
        ) -> AppResult<()>
        + Send
        + 'static,
) -> AppResult<DecisionRecord> {
    let now = state.clock.now_naive();
    blocking(move || {
        let st = state.clone();
        state.db.transaction(|c| {
            step(&st, c, &user.0, now, &id)?;
            ledger::record(c, &user.0, now, &id)
        })
    })
    .await
}

/// 对账: the responsible unit reports progress (`done`: the completion report).
#[utoipa::path(post, path = "/api/v1/decisions/{id}/progress", tag = "会商研判", request_body = ProgressInput, responses(
    (status = 201, body = DecisionRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn report_progress(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ProgressInput>,
) -> AppResult<HttpResponse> {
    let max = state.settings.http.max_upload_bytes;
    let r = step_then_record(state, user, id.into_inner(), move |_, c, who, now, id| {
        ledger::progress(c, who, now, id, body.0, Vec::new(), max).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Created().json(r))
}

/// 查账: the office accepts the pending report (a completion report closes the decision)
/// or sends it back with a reason.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/review", tag = "会商研判", request_body = ReviewInput, responses(
    (status = 200, body = DecisionRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn review_decision(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ReviewInput>,
) -> AppResult<HttpResponse> {
    let r = step_then_record(state, user, id.into_inner(), move |_, c, who, now, id| {
        ledger::review(c, who, now, id, body.0).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// 销账: the office accepts the pending completion report; without one, 409.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/close", tag = "会商研判", responses(
    (status = 200, body = DecisionRecord), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn close_decision(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let r = step_then_record(state, user, id.into_inner(), |_, c, who, now, id| {
        ledger::close(c, who, now, id).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// The office extends the deadline, with its reason on the record.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/extend", tag = "会商研判", request_body = ExtendInput, responses(
    (status = 200, body = DecisionRecord), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn extend_decision(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ExtendInput>,
) -> AppResult<HttpResponse> {
    let r = step_then_record(state, user, id.into_inner(), move |_, c, who, now, id| {
        ledger::extend(c, who, now, id, body.0).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Confirms a decision of the kind 转办线索: the lead is raised and given to the
/// responsible department. (A joint inspection or enforcement is opened from the
/// inspection form with basis 会商 and the decision's number.)
#[utoipa::path(post, path = "/api/v1/decisions/{id}/open", tag = "会商研判", responses(
    (status = 200, body = DecisionRecord), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn open_decision(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let r = step_then_record(state, user, id.into_inner(), |st, c, who, now, id| {
        ledger::open_lead(st, c, who, now, id).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// 佐证材料 by API: after `POST …/progress`, the responsible unit adds each file to the
/// report awaiting review — the body is the file, `Content-Type` its type (jpg, png, webp,
/// heic, pdf, doc, docx), `?name=` its name. Answers with the report's files.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/files", tag = "会商研判",
    params(crate::leads::api::UploadQuery), request_body(content = Vec<u8>, content_type = "application/pdf"), responses(
    (status = 201, body = Vec<crate::consultations::store::ledger::FileMeta>), (status = 403, body = Problem),
    (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn add_decision_evidence(
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
            .transaction(|c| ledger::add_evidence(c, &user.0, now, &id, vec![upload], max))
    })
    .await?;
    Ok(HttpResponse::Created().json(files))
}

/// An evidence file of a decision.
#[utoipa::path(get, path = "/api/v1/decisions/{id}/files/{file_id}", tag = "会商研判", responses(
    (status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn decision_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, file) = path.into_inner();
    let (name, kind, bytes) =
        blocking(move || state.db.read(|c| ledger::open_file(c, &user.0, &id, &file))).await?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}
