//! 会商研判 over HTTP (API.md "Consultations"): requests, meetings, attendance, the feed.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::consultations::{
    self as consultations, Attendance, MeetingChange, MeetingQuery, MeetingView, NewMeeting,
    NewRequest, RequestView,
};
use crate::platform::error::{AppResult, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub mod ledger;
pub mod reports;
pub use ledger::*;
pub use reports::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/consultation-requests",
        web::get().to(list_consultation_requests),
    )
    .route(
        "/consultation-requests",
        web::post().to(request_consultation),
    )
    .route(
        "/consultation-requests/{id}",
        web::get().to(get_consultation_request),
    )
    .route(
        "/consultation-requests/{id}/decline",
        web::post().to(decline_consultation_request),
    )
    .route("/leads/{id}/escalate", web::post().to(escalate_lead))
    .route("/consultations", web::get().to(list_consultations))
    .route("/consultations", web::post().to(convene_consultation))
    .route("/consultations/{id}", web::get().to(get_consultation))
    .route("/consultations/{id}", web::patch().to(change_consultation))
    .route(
        "/consultations/{id}/cancel",
        web::post().to(cancel_consultation),
    )
    .route(
        "/consultations/{id}/attendance",
        web::post().to(attend_consultation),
    )
    .route(
        "/consultations/{id}/remind",
        web::post().to(remind_consultation),
    )
    .route("/me/calendar-feed", web::post().to(rotate_calendar_feed))
    .route("/me/calendar-feed", web::delete().to(revoke_calendar_feed))
    .route("/me/calendar.ics", web::get().to(calendar_feed));
    ledger::routes(cfg);
    reports::routes(cfg);
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// pending | convened | declined
    pub state: Option<String>,
}

/// 会商申请: the office sees all, a unit its own.
#[utoipa::path(get, path = "/api/v1/consultation-requests", tag = "会商研判", params(RequestQuery), responses(
    (status = 200, body = Vec<RequestView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_consultation_requests(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<RequestQuery>,
) -> AppResult<HttpResponse> {
    let rows = blocking(move || {
        state
            .db
            .read(|c| consultations::requests(c, &user.0, q.0.state.as_deref()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(|r| r.view()).collect::<Vec<_>>()))
}

/// 提请会商: a member unit asks the coordination office for a consultation.
#[utoipa::path(post, path = "/api/v1/consultation-requests", tag = "会商研判", request_body = NewRequest, responses(
    (status = 201, body = RequestView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn request_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<NewRequest>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let r = blocking(move || {
        state
            .db
            .transaction(|c| consultations::request(c, &user.0, now, body.0))
    })
    .await?;
    Ok(HttpResponse::Created().json(r.view()))
}

/// One request: the office, or the unit that asked.
#[utoipa::path(get, path = "/api/v1/consultation-requests/{id}", tag = "会商研判", responses(
    (status = 200, body = RequestView), (status = 404, body = Problem)))]
pub async fn get_consultation_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let r = blocking(move || {
        state
            .db
            .read(|c| consultations::find_request(c, &user.0, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(r.view()))
}

/// 不予会商: the office declines a pending request with a `reason`; the requester, the
/// requesting unit's head and, for a lead, its departments are told.
#[utoipa::path(post, path = "/api/v1/consultation-requests/{id}/decline", tag = "会商研判",
    request_body = consultations::DeclineInput, responses(
    (status = 200, body = RequestView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decline_consultation_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<consultations::DeclineInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let r = blocking(move || {
        state
            .db
            .transaction(|c| consultations::decline(c, &user.0, now, &id, body.0))
    })
    .await?;
    Ok(HttpResponse::Ok().json(r.view()))
}

/// 提请会商 from a lead: its primary department (or the coordination office, on a dispute
/// it could not settle) puts it to a consultation with a `reason`. The lead is marked, the
/// office told, and the request waits among the others (`GET /api/v1/consultation-requests`).
#[utoipa::path(post, path = "/api/v1/leads/{id}/escalate", tag = "问题线索",
    request_body = crate::leads::actions::ReasonInput, responses(
    (status = 200, body = crate::leads::LeadView), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn escalate_lead(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<crate::leads::actions::ReasonInput>,
) -> AppResult<HttpResponse> {
    let body = body.0;
    let view = crate::leads::side_step_now(state, user.0, id.into_inner(), move |_, c, w, i, n| {
        consultations::request_from_lead(c, w, i, body, n).map(|_| ())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Meetings, soonest first: all for the office, the reader's invitations for others.
#[utoipa::path(get, path = "/api/v1/consultations", tag = "会商研判", params(MeetingQuery), responses(
    (status = 200, body = Page<MeetingView>), (status = 422, body = Problem)))]
pub async fn list_consultations(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<MeetingQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let page = blocking(move || {
        state.db.read(|c| {
            let (rows, next) = consultations::list(c, &user.0, now, &q.0)?;
            Ok(Page {
                items: consultations::views(c, &rows, now)?,
                next_cursor: next,
            })
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// 召集会商: the office invites units and people; each is told by inbox and by email with
/// an iCalendar invitation. Times are Beijing time (`2026-03-10T09:30`).
#[utoipa::path(post, path = "/api/v1/consultations", tag = "会商研判", request_body = NewMeeting, responses(
    (status = 201, body = MeetingView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn convene_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<NewMeeting>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            let m = consultations::convene(c, &user.0, now, body.0)?;
            consultations::view(c, &m, now)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "会商研判", responses(
    (status = 200, body = MeetingView), (status = 404, body = Problem)))]
pub async fn get_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.read(|c| {
            let m = consultations::load(c, &user.0, &id)?;
            consultations::view(c, &m, now)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Changes the time or place: a new invitation goes to everyone, SEQUENCE raised.
#[utoipa::path(patch, path = "/api/v1/consultations/{id}", tag = "会商研判", request_body = MeetingChange, responses(
    (status = 200, body = MeetingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn change_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<MeetingChange>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            let m = consultations::change(c, &user.0, now, &id, body.0.clone())?;
            consultations::view(c, &m, now)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
}

/// Cancels the meeting: everyone invited gets the cancellation (METHOD:CANCEL).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/cancel", tag = "会商研判", request_body = CancelBody, responses(
    (status = 200, body = MeetingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<CancelBody>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            let m = consultations::cancel(c, &user.0, now, &id, &body.0.reason)?;
            consultations::view(c, &m, now)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// 报到: the invited unit names its attendee, or declines with a reason.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/attendance", tag = "会商研判", request_body = Attendance, responses(
    (status = 200, body = MeetingView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn attend_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<Attendance>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let v = blocking(move || {
        state.db.transaction(|c| {
            consultations::attend(c, &user.0, now, &id, body.0.clone())?;
            let m = consultations::load(c, &user.0, &id)?;
            consultations::view(c, &m, now)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Reminded {
    /// How many invited units and people were reminded.
    pub reminded: usize,
}

/// Reminds the invitees that have not answered, each once (the office).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/remind", tag = "会商研判", responses(
    (status = 200, body = Reminded), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remind_consultation(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let n = blocking(move || {
        state
            .db
            .transaction(|c| consultations::remind(c, &user.0, now, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Reminded { reminded: n }))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FeedAddress {
    /// The subscription address (shown once; a new one replaces it).
    pub url: String,
}

/// A new calendar subscription address for the reader; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/me/calendar-feed", tag = "会商研判", responses(
    (status = 201, body = FeedAddress)))]
pub async fn rotate_calendar_feed(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let base = state
        .settings
        .http
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let token = blocking(move || {
        state
            .db
            .transaction(|c| consultations::rotate_feed(c, &user.0, now))
    })
    .await?;
    Ok(HttpResponse::Created().json(FeedAddress {
        url: format!("{base}/api/v1/me/calendar.ics?token={token}"),
    }))
}

/// Stops the reader's calendar subscription address.
#[utoipa::path(delete, path = "/api/v1/me/calendar-feed", tag = "会商研判", responses(
    (status = 204)))]
pub async fn revoke_calendar_feed(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    blocking(move || {
        state
            .db
            .transaction(|c| consultations::revoke_feed(c, &user.0))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    pub token: String,
}

/// A person's meetings as a calendar to subscribe to (the token is the credential).
#[utoipa::path(get, path = "/api/v1/me/calendar.ics", tag = "会商研判", params(FeedQuery), security(()), responses(
    (status = 200, content_type = "text/calendar", body = String), (status = 404, body = Problem)))]
pub async fn calendar_feed(
    state: web::Data<AppState>,
    _req: HttpRequest,
    q: ApiQuery<FeedQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let token = q.0.token;
    let body = blocking(move || state.db.read(|c| consultations::feed(c, &token, now))).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .body(body))
}
