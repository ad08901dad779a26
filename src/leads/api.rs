//! Problem leads over HTTP: raise (吹哨), list, read with the timeline, and the steps of
//! the primary department (报到、核查、查处、办结), comments by any party.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::leads::actions::{
    self, AnswerInput, AssignInput, DecideInput, DispatchInput, DuplicateQuery, EvaluateInput,
    MergeInput, ReasonInput, TransferInput,
};
use crate::leads::rules::Move;
use crate::leads::{self, Lead, LeadQuery, LeadView, NewLead, StepInput};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once_prepared, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats/leads", web::get().to(lead_stats))
        .route("/stats/leads.xlsx", web::get().to(export_lead_stats))
        .route("/leads/export.xlsx", web::get().to(export_leads))
        .route("/leads/duplicates", web::get().to(lead_duplicates))
        .route("/leads", web::get().to(list_leads))
        .route("/leads", web::post().to(raise_lead))
        .route("/leads/{id}", web::get().to(get_lead))
        .route("/leads/{id}/acknowledge", web::post().to(acknowledge_lead))
        .route(
            "/leads/{id}/start-verification",
            web::post().to(start_verification),
        )
        .route("/leads/{id}/verify", web::post().to(verify_lead))
        .route("/leads/{id}/enforce", web::post().to(enforce_lead))
        .route("/leads/{id}/close", web::post().to(close_lead))
        .route("/leads/{id}/comment", web::post().to(comment_lead))
        .route("/leads/{id}/transfer", web::post().to(transfer_lead))
        .route(
            "/leads/{id}/transfer/answer",
            web::post().to(answer_transfer),
        )
        .route("/leads/{id}/dispatch", web::post().to(dispatch_lead))
        .route("/leads/{id}/assign", web::post().to(assign_lead))
        .route(
            "/leads/{id}/transfer/decide",
            web::post().to(decide_transfer),
        )
        .route("/leads/{id}/evaluate", web::post().to(evaluate_lead))
        .route("/leads/{id}/reopen", web::post().to(reopen_lead))
        .route("/leads/{id}/merge", web::post().to(merge_lead))
        .route("/leads/{id}/attachments", web::post().to(upload_attachment))
        .route(
            "/leads/{id}/attachments/{file}",
            web::get().to(get_attachment),
        );
}

/// Raise a lead (吹哨). Routed at once by category and place; answers with the lead, its
/// number, departments, routing reason and deadlines.
#[utoipa::path(post, path = "/api/v1/leads", tag = "问题线索", request_body = NewLead,
    params(crate::web::IdempotencyKey), responses(
    (status = 201, body = LeadView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn raise_lead(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<NewLead>,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::RaiseLeads)?;
    let ApiJson(input, digest) = body;
    let (st, who) = (state.clone(), user.0.clone());
    let (st2, who2) = (state.clone(), user.0.clone());
    // Checked, routed and addressed outside the write transaction; then numbered and
    // written in it.
    create_once_prepared(
        state,
        user.0,
        &req,
        digest,
        move |conn, now| {
            let source = leads::rules::source_of(who.role);
            leads::prepare_for(&st, conn, &who, input, source, now)
        },
        move |conn, _actor, now, prepared| leads::write_for(&st2, conn, &who2, prepared, now),
        |v: &LeadView| serde_json::to_value(v).map_err(AppError::internal),
    )
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    pub next_cursor: Option<String>,
}

/// Leads the user may see: open ones by deadline (overdue first), or closed ones newest
/// first; filters by state, department, township, category, urgency, mine, overdue.
#[utoipa::path(get, path = "/api/v1/leads", tag = "问题线索", params(LeadQuery), responses(
    (status = 200, body = LeadPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_leads(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<LeadQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let (items, next_cursor) =
        blocking(move || state.db.read(|conn| leads::list(conn, &user.0, &q.0, now))).await?;
    Ok(HttpResponse::Ok().json(LeadPage { items, next_cursor }))
}

/// One lead with its deadlines, timeline and the steps open to the caller.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "问题线索", responses(
    (status = 200, body = LeadView), (status = 404, body = Problem)))]
pub async fn get_lead(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let view = blocking(move || state.db.read(|conn| leads::view(conn, &user.0, &id, now))).await?;
    Ok(HttpResponse::Ok().json(view))
}

macro_rules! step_handler {
    ($name:ident, $path:literal, $mv:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "问题线索", request_body = StepInput, responses(
            (status = 200, body = LeadView), (status = 403, body = Problem), (status = 404, body = Problem),
            (status = 409, body = Problem, description = "当前状态不能办理这一步，或已被他人办理"),
            (status = 422, body = Problem)))]
        pub async fn $name(
            state: web::Data<AppState>,
            user: CurrentUser,
            id: web::Path<String>,
            body: ApiJson<StepInput>,
        ) -> AppResult<HttpResponse> {
            let view = leads::step_now(state, user.0, id.into_inner(), $mv, body.0, Vec::new()).await?;
            Ok(HttpResponse::Ok().json(view))
        }
    };
}

step_handler!(
    acknowledge_lead,
    "/api/v1/leads/{id}/acknowledge",
    Move::Acknowledge,
    "报到: the primary department reports in."
);
step_handler!(
    start_verification,
    "/api/v1/leads/{id}/start-verification",
    Move::StartVerifying,
    "开始核查."
);
step_handler!(
    verify_lead,
    "/api/v1/leads/{id}/verify",
    Move::Verify,
    "核查结论: `substantiated` and the findings in `note`."
);
step_handler!(
    enforce_lead,
    "/api/v1/leads/{id}/enforce",
    Move::Enforce,
    "查处: `measures`, optional `rectify_by` and `decision_number`."
);
step_handler!(
    close_lead,
    "/api/v1/leads/{id}/close",
    Move::Close,
    "办结, with what was done in `note`."
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    pub note: Option<String>,
}

/// A comment (办理意见) by a party to the lead: its departments, the raising township,
/// the coordination office.
#[utoipa::path(post, path = "/api/v1/leads/{id}/comment", tag = "问题线索", request_body = CommentInput, responses(
    (status = 201, body = crate::leads::Event), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn comment_lead(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<CommentInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let note = body.0.note;
    let event = blocking(move || {
        state
            .db
            .transaction(|conn| leads::comment(conn, &user.0, &id, note, now))
    })
    .await?;
    Ok(HttpResponse::Created().json(event))
}

macro_rules! side_handler {
    ($name:ident, $path:literal, $input:ty, $doc:literal, |$st:ident, $c:ident, $w:ident, $i:ident, $n:ident, $body:ident| $call:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "问题线索", request_body = $input, responses(
            (status = 200, body = LeadView), (status = 403, body = Problem), (status = 404, body = Problem),
            (status = 409, body = Problem), (status = 422, body = Problem)))]
        pub async fn $name(
            state: web::Data<AppState>,
            user: CurrentUser,
            id: web::Path<String>,
            body: ApiJson<$input>,
        ) -> AppResult<HttpResponse> {
            let $body = body.0;
            let view = leads::side_step_now(state, user.0, id.into_inner(), move |$st, $c, $w, $i, $n| {
                let _ = $st;
                $call.map(|_| ())
            })
            .await?;
            Ok(HttpResponse::Ok().json(view))
        }
    };
}

side_handler!(
    transfer_lead,
    "/api/v1/leads/{id}/transfer",
    TransferInput,
    "转办: the primary department hands the lead to `to_department` with a `reason`.",
    |st, c, w, i, n, body| actions::transfer(c, w, i, body, n)
);
side_handler!(
    answer_transfer,
    "/api/v1/leads/{id}/transfer/answer",
    AnswerInput,
    "The receiving department answers a transfer: `accept`, or `dispute` with a `note`.",
    |st, c, w, i, n, body| actions::answer_transfer(c, w, i, body, n)
);
side_handler!(
    decide_transfer,
    "/api/v1/leads/{id}/transfer/decide",
    DecideInput,
    "The coordination office decides a disputed transfer: the `department` that handles it.",
    |st, c, w, i, n, body| actions::decide_transfer(c, w, i, body, n)
);
side_handler!(
    dispatch_lead,
    "/api/v1/leads/{id}/dispatch",
    DispatchInput,
    "分办: the coordination office gives a lead of the category 其他 its `department` (and any `assisting_departments`).",
    |st, c, w, i, n, body| actions::dispatch(c, w, i, body, n)
);
side_handler!(
    assign_lead,
    "/api/v1/leads/{id}/assign",
    AssignInput,
    "指派: the head of the primary department gives the lead to one of its officers (`assignee`: id or username; empty takes it back).",
    |st, c, w, i, n, body| actions::assign(c, w, i, body, n)
);
side_handler!(
    evaluate_lead,
    "/api/v1/leads/{id}/evaluate",
    EvaluateInput,
    "The raising township evaluates a department's response once the lead is closed.",
    |st, c, w, i, n, body| actions::evaluate(c, w, i, body, n)
);
side_handler!(
    reopen_lead,
    "/api/v1/leads/{id}/reopen",
    ReasonInput,
    "The raising township reopens a closed lead once, with a `reason`.",
    |st, c, w, i, n, body| actions::reopen(c, w, i, body, n, &st.calendar, &st.settings.leads)
);

/// The core report: per department received, 响应率, 报到及时率, verified on time, 办结率,
/// 满意率, overdue now, median hours to report in and to close; per township whistles.
#[utoipa::path(get, path = "/api/v1/stats/leads", tag = "问题线索", params(crate::leads::stats::StatsQuery), responses(
    (status = 200, body = crate::leads::stats::LeadStats), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn lead_stats(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<crate::leads::stats::StatsQuery>,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::ViewLeadStats)?;
    let (today, now) = (state.today(), state.clock.now_naive());
    let stats = blocking(move || {
        state.db.read_lagging(|conn| {
            crate::leads::stats::stats(conn, &q.0, today, now, &state.settings.leads.targets)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The lead statistics as .xlsx: the departments' figures, each township's whistles and
/// the week-by-week counts, one sheet each.
#[utoipa::path(get, path = "/api/v1/stats/leads.xlsx", tag = "问题线索", params(crate::leads::stats::StatsQuery), responses(
    (status = 200, description = "Excel 统计表", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_lead_stats(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<crate::leads::stats::StatsQuery>,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::ViewLeadStats)?;
    let (today, now) = (state.today(), state.clock.now_naive());
    let bytes = blocking(move || {
        state.db.read_lagging(|conn| {
            let stats =
                crate::leads::stats::stats(conn, &q.0, today, now, &state.settings.leads.targets)?;
            crate::leads::stats::workbook(&stats)
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("lead-stats.xlsx", "线索办理统计.xlsx"),
        ))
        .body(bytes))
}

/// The lead ledger (问题线索台账) as .xlsx, with the list's filters and scope.
#[utoipa::path(get, path = "/api/v1/leads/export.xlsx", tag = "问题线索", params(LeadQuery), responses(
    (status = 200, description = "Excel 台账", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (status = 403, body = Problem)))]
pub async fn export_leads(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<LeadQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let bytes = blocking(move || {
        state
            .db
            .read_lagging(|conn| crate::leads::stats::ledger(conn, &user.0, &q.0, now))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("leads.xlsx", "问题线索台账.xlsx"),
        ))
        .body(bytes))
}

side_handler!(
    merge_lead,
    "/api/v1/leads/{id}/merge",
    MergeInput,
    "Merge this duplicate `into` the original lead (number or id), with a `reason`.",
    |st, c, w, i, n, body| actions::merge(c, w, i, body, n)
);

/// Possible duplicates before raising: open leads of the category on the mine or nearby.
#[utoipa::path(get, path = "/api/v1/leads/duplicates", tag = "问题线索", params(DuplicateQuery), responses(
    (status = 200, body = crate::platform::pagination::Page<actions::Candidate>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn lead_duplicates(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<DuplicateQuery>,
) -> AppResult<HttpResponse> {
    crate::platform::authz::require(&user.0, crate::platform::authz::Action::RaiseLeads)?;
    let radius = state.settings.leads.duplicate_radius_m;
    let items = blocking(move || {
        state
            .db
            .read(|conn| actions::duplicates(conn, &user.0, &q.0, radius))
    })
    .await?;
    Ok(HttpResponse::Ok().json(crate::platform::pagination::Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name, e.g. 现场照片.jpg.
    pub name: Option<String>,
}

/// Add a photo or document to a lead: the body is the file, `Content-Type` its type
/// (jpg, png, webp, heic, pdf, doc, docx), `?name=` its name.
#[utoipa::path(post, path = "/api/v1/leads/{id}/attachments", tag = "问题线索", params(UploadQuery), request_body(content = Vec<u8>, content_type = "image/jpeg"), responses(
    (status = 201, body = Vec<crate::leads::files::Attachment>), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<String>,
    q: ApiQuery<UploadQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let max = state.settings.http.max_upload_bytes;
    let upload = crate::web::raw_upload(&state, &req, payload, q.0.name.clone()).await?;
    let now = state.clock.now_naive();
    let stored = blocking(move || {
        state.db.transaction(|conn| {
            crate::leads::files::add(conn, &user.0, &id, vec![upload], max, now)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// A lead's photo or document, for whoever may read the lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}/attachments/{file}", tag = "问题线索", responses(
    (status = 200, description = "文件内容"), (status = 404, body = Problem)))]
pub async fn get_attachment(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (lead_id, file_id) = path.into_inner();
    let (a, bytes) = blocking(move || {
        state
            .db
            .read(|conn| crate::leads::files::open(conn, &user.0, &lead_id, &file_id))
    })
    .await?;
    Ok(crate::web::file_download(
        &a.content_type,
        &a.file_name,
        bytes,
    ))
}
