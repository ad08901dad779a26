//! The email outbox for admins, and each user's choice of which notices also come by email.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::notify::outbox::{self, OutboxMessage, OutboxQuery, Preference};
use crate::platform::authz::{self, Action};
use crate::platform::error::{AppResult, Problem};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(list_notifications))
        .route(
            "/notifications/read-all",
            web::post().to(read_all_notifications),
        )
        .route(
            "/notifications/{id}/read",
            web::post().to(read_notification),
        );
    cfg.route("/outbox", web::get().to(list_outbox))
        .route("/outbox/{id}", web::get().to(get_outbox_message))
        .route("/outbox/{id}/retry", web::post().to(retry_outbox_message))
        .route("/outbox/{id}/cancel", web::post().to(cancel_outbox_message))
        .route(
            "/me/notification-preferences",
            web::get().to(get_preferences),
        )
        .route(
            "/me/notification-preferences",
            web::put().to(put_preferences),
        );
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxMessage>,
    pub next_cursor: Option<String>,
    /// Messages in the whole outbox by status.
    pub counts: BTreeMap<String, i64>,
    /// Whether `smtp.url` is set; if not, messages wait here.
    pub smtp_configured: bool,
}

/// The outbox, newest first (admins).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "通知", params(OutboxQuery), responses(
    (status = 200, body = OutboxPage), (status = 403, body = Problem)))]
pub async fn list_outbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<OutboxQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ManageOutbox)?;
    let st = state.clone();
    let (items, next_cursor, counts) = blocking(move || {
        st.db.read(|conn| {
            let (items, next) = outbox::list(conn, &q.0)?;
            Ok((items, next, outbox::counts(conn)?))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(OutboxPage {
        items,
        next_cursor,
        counts: counts.into_iter().collect(),
        smtp_configured: state.mailer.configured(),
    }))
}

/// One message with its bodies (admins).
#[utoipa::path(get, path = "/api/v1/outbox/{id}", tag = "通知", responses(
    (status = 200, body = OutboxMessage), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_outbox_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ManageOutbox)?;
    let m = blocking(move || state.db.read(|conn| outbox::find(conn, &id))).await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Send a dead-lettered, cancelled or waiting message again now (admins).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "通知", responses(
    (status = 200, body = OutboxMessage), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "已发送的邮件")))]
pub async fn retry_outbox_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ManageOutbox)?;
    let (actor, now) = (user.0.actor(), state.clock.now_naive());
    let m = blocking(move || {
        state
            .db
            .transaction(|conn| outbox::retry(conn, &actor, &id, now))
    })
    .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Cancel a message not yet sent; it stays listed as cancelled (admins).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/cancel", tag = "通知", responses(
    (status = 200, body = OutboxMessage), (status = 403, body = Problem), (status = 404, body = Problem),
    (status = 409, body = Problem, description = "已发送或已取消的邮件")))]
pub async fn cancel_outbox_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ManageOutbox)?;
    let (actor, now) = (user.0.actor(), state.clock.now_naive());
    let m = blocking(move || {
        state
            .db
            .transaction(|conn| outbox::cancel(conn, &actor, &id, now))
    })
    .await?;
    Ok(HttpResponse::Ok().json(m))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// The user's email address; without one, notices come to the inbox only.
    pub address: Option<String>,
    pub items: Vec<Preference>,
}

/// Which kinds of notice also come by email; the inbox always gets every notice.
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "通知", responses(
    (status = 200, body = Preferences), (status = 401, body = Problem)))]
pub async fn get_preferences(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    let id = user.0.id;
    let prefs = blocking(move || state.db.read(|conn| load(conn, &id))).await?;
    Ok(HttpResponse::Ok().json(prefs))
}

pub(crate) fn load(
    conn: &mut crate::platform::db::DbConnection,
    user_id: &str,
) -> AppResult<Preferences> {
    let address = outbox::addresses(conn, &[user_id.to_owned()])?
        .into_iter()
        .next()
        .and_then(|(_, email)| email);
    Ok(Preferences {
        address: address.filter(|a| !a.is_empty()),
        items: outbox::preferences(conn, user_id)?,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    /// By kind: true = also by email, false = inbox only. Kinds not named keep their setting.
    pub email: BTreeMap<String, bool>,
}

/// Choose, per kind of notice, whether it also comes by email.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "通知", request_body = PreferencesInput, responses(
    (status = 200, body = Preferences), (status = 422, body = Problem)))]
pub async fn put_preferences(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<PreferencesInput>,
) -> AppResult<HttpResponse> {
    let prefs = save(&state, &user.0, body.0.email).await?;
    Ok(HttpResponse::Ok().json(prefs))
}

pub(crate) async fn save(
    state: &web::Data<AppState>,
    who: &crate::platform::authz::Principal,
    choices: BTreeMap<String, bool>,
) -> AppResult<Preferences> {
    let (st, actor, id, now) = (
        state.clone(),
        who.actor(),
        who.id.clone(),
        state.clock.now_naive(),
    );
    blocking(move || {
        st.db.transaction(|conn| {
            outbox::set_preferences(conn, &actor, &id, &choices, now)?;
            load(conn, &id)
        })
    })
    .await
}

// ---- notifications (inbox) -------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub items: Vec<crate::notify::Notification>,
    pub next_cursor: Option<String>,
    /// Unread notices in the whole inbox.
    pub unread: i64,
}

/// The signed-in user's notices: unread first, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "通知", params(crate::notify::InboxQuery), responses(
    (status = 200, body = Inbox), (status = 401, body = Problem)))]
pub async fn list_notifications(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<crate::notify::InboxQuery>,
) -> AppResult<HttpResponse> {
    let id = user.0.id;
    let (items, next_cursor, unread) = blocking(move || {
        state.db.read(|conn| {
            let (items, next) = crate::notify::inbox(conn, &id, &q.0)?;
            Ok((items, next, crate::notify::unread_count(conn, &id)?))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Inbox {
        items,
        next_cursor,
        unread,
    }))
}

/// Mark one notice read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "通知", responses((status = 204), (status = 404, body = Problem)))]
pub async fn read_notification(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    blocking(move || {
        state
            .db
            .transaction(|conn| crate::notify::mark_read(conn, &user.0.id, Some(&id), now))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mark every notice read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "通知", responses((status = 200, description = "{\"marked\": N}")))]
pub async fn read_all_notifications(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let n = blocking(move || {
        state
            .db
            .transaction(|conn| crate::notify::mark_read(conn, &user.0.id, None, now))
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "marked": n })))
}
