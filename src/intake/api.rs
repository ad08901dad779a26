//! Email intake over HTTP: the route a mail server's pipe hands messages to, and the record
//! of the mail taken in for the coordination office and admins.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;

use crate::intake::{self, Accepted, Envelope, InboundMessage, InboundQuery, Refusal};
use crate::platform::authz::{self, Action};
use crate::platform::error::{AppError, AppResult, FieldError, Problem};
use crate::web::extract::{ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/intake/email", web::post().to(intake_email))
        .route("/intake/messages", web::get().to(list_messages))
        .route("/intake/messages/{id}", web::get().to(get_message))
        .route("/intake/messages/{id}/raw", web::get().to(raw_message));
}

/// Whether the request carries the configured intake token (compared in constant time).
fn authorized(state: &AppState, req: &HttpRequest) -> AppResult<()> {
    let Some(token) = state.settings.intake.token() else {
        return Err(AppError::NotFound(
            "邮件收件接口未开启（未配置 intake.token）".into(),
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(AppError::Unauthorized(
            "收件口令（intake.token）不正确".into(),
        ))
    }
}

/// A refusal as a problem document naming the part of the message at fault.
fn refused(r: &Refusal) -> AppError {
    match r {
        Refusal::TooLarge { limit } => AppError::PayloadTooLarge(*limit),
        _ => AppError::Validation(vec![FieldError::new(r.field(), r.reason())]),
    }
}

/// Take in one raw message (`message/rfc822`) for a mail server's pipe, authenticated by
/// `Authorization: Bearer <intake.token>`. The same checks as the SMTP listener: a known,
/// active sender raises a lead or, replying with a lead number in the subject, comments on
/// it. `X-Mail-From` may carry the envelope sender.
#[utoipa::path(post, path = "/api/v1/intake/email", tag = "邮件收件",
    request_body(content = String, content_type = "message/rfc822"),
    responses(
    (status = 201, body = Accepted, description = "已登记线索或已记入办理意见"),
    (status = 200, body = Accepted, description = "同一 Message-ID 的邮件此前已受理，未重复登记"),
    (status = 401, body = Problem), (status = 404, body = Problem, description = "未配置 intake.token"),
    (status = 413, body = Problem), (status = 415, body = Problem),
    (status = 422, body = Problem, description = "拒收：原因在 errors（字段 from、subject、message、text）")))]
pub async fn intake_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    authorized(&state, &req)?;
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        ctype.as_str(),
        "message/rfc822" | "application/octet-stream" | "text/plain"
    ) {
        return Err(AppError::UnsupportedMediaType(
            "请以 message/rfc822 提交原始邮件".into(),
        ));
    }
    let limit = state.settings.intake.max_message_bytes;
    let mut raw = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("读取邮件失败：{e}")))?;
        if raw.len() + chunk.len() > limit {
            let r = Refusal::TooLarge { limit };
            tracing::warn!(reason = r.code(), channel = "http", "mail refused");
            metrics::counter!("intake_refused_total", "reason" => r.code()).increment(1);
            return Err(refused(&r));
        }
        raw.extend_from_slice(&chunk);
    }
    let mail_from = req
        .headers()
        .get("x-mail-from")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches(['<', '>']).to_owned())
        .filter(|v| !v.is_empty());
    // The envelope recipients, when the mail server passes them (a reply address among
    // them names the notice answered).
    let recipients: Vec<String> = req
        .headers()
        .get_all("x-rcpt-to")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_matches(['<', '>']).to_owned())
        .filter(|v| !v.is_empty())
        .take(50)
        .collect();
    let verdict = intake::accept(
        &state,
        raw,
        Envelope {
            channel: "http",
            mail_from,
            recipients,
            peer: None,
        },
    )
    .await?;
    match verdict {
        Ok(a) if a.duplicate => Ok(HttpResponse::Ok().json(a)),
        Ok(a) => Ok(HttpResponse::Created().json(a)),
        Err(r) => Err(refused(&r)),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboundPage {
    pub items: Vec<InboundMessage>,
    pub next_cursor: Option<String>,
}

/// Mail taken in, newest first (admins and the coordination office), with filters.
#[utoipa::path(get, path = "/api/v1/intake/messages", tag = "邮件收件", params(InboundQuery),
    responses((status = 200, body = InboundPage), (status = 403, body = Problem)))]
pub async fn list_messages(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<InboundQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewIntake)?;
    let (items, next_cursor) =
        blocking(move || state.db.read(|conn| intake::list(conn, &q.0))).await?;
    Ok(HttpResponse::Ok().json(InboundPage { items, next_cursor }))
}

/// One message taken in, with its outcome.
#[utoipa::path(get, path = "/api/v1/intake/messages/{id}", tag = "邮件收件", responses(
    (status = 200, body = InboundMessage), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewIntake)?;
    let m = blocking(move || state.db.read(|conn| intake::find(conn, &id))).await?;
    Ok(HttpResponse::Ok().json(m))
}

/// The message as it arrived (.eml), for an admin to look into.
#[utoipa::path(get, path = "/api/v1/intake/messages/{id}/raw", tag = "邮件收件", responses(
    (status = 200, content_type = "message/rfc822", body = String), (status = 403, body = Problem),
    (status = 404, body = Problem)))]
pub async fn raw_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewIntake)?;
    let name = id.clone();
    let bytes = blocking(move || state.db.read(|conn| intake::raw(conn, &id))).await?;
    Ok(eml_response(&name, bytes))
}

/// A stored message as a download, for the API and the page alike.
pub fn eml_response(id: &str, bytes: Vec<u8>) -> HttpResponse {
    crate::web::file_download("message/rfc822", &format!("{id}.eml"), bytes)
}
