//! `Idempotency-Key` on creating POSTs: the first response is stored in the same
//! transaction as the change, and a retry with the same key gets it back unchanged.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::platform::db::schema::idempotency_keys;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

pub const HEADER: &str = "idempotency-key";

/// The key a request carries, checked for shape.
pub fn key_of(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::field(
            "Idempotency-Key",
            "应为 1 到 200 个可见 ASCII 字符，例如一个 UUID",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The first response to a key: status and JSON body.
pub type StoredResponse = (i32, String);

pub fn replay(status: i32, body: String) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .insert_header(("idempotent-replayed", "true"))
        .body(body)
}

/// The stored response for this key, if the same request was made before; a 409 if the
/// key was used for a different request.
pub fn lookup(conn: &mut DbConnection, k: &Keyed<'_>) -> AppResult<Option<StoredResponse>> {
    let found: Option<(String, String, String, i32, String)> = idempotency_keys::table
        .find((k.user_id, k.key))
        .select((
            idempotency_keys::method,
            idempotency_keys::path,
            idempotency_keys::request_digest,
            idempotency_keys::status,
            idempotency_keys::body,
        ))
        .first(conn)
        .optional()?;
    match found {
        None => Ok(None),
        Some((m, p, d, status, body)) if m == k.method && p == k.path && d == k.digest => {
            Ok(Some((status, body)))
        }
        Some(_) => Err(AppError::Conflict(
            "这个 Idempotency-Key 已用于另一个不同的请求；新的请求请使用新的 Key。".into(),
        )),
    }
}

pub struct Keyed<'a> {
    pub user_id: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub digest: &'a str,
}

/// Claims the key before the change is made. A concurrent request with the same key
/// waits on this row (PostgreSQL) and then fails with a unique violation, after which
/// it can read and replay the winner's response.
pub fn claim(conn: &mut DbConnection, k: &Keyed<'_>, now: NaiveDateTime) -> AppResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(k.user_id),
            idempotency_keys::idem_key.eq(k.key),
            idempotency_keys::method.eq(k.method),
            idempotency_keys::path.eq(k.path),
            idempotency_keys::request_digest.eq(k.digest),
            idempotency_keys::status.eq(0),
            idempotency_keys::body.eq(""),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the response of a claimed key; call in the transaction that made the change.
pub fn remember(
    conn: &mut DbConnection,
    k: &Keyed<'_>,
    status: StatusCode,
    body: &impl Serialize,
) -> AppResult<String> {
    let text = serde_json::to_string(body).map_err(AppError::internal)?;
    diesel::update(idempotency_keys::table.find((k.user_id, k.key)))
        .set((
            idempotency_keys::status.eq(i32::from(status.as_u16())),
            idempotency_keys::body.eq(&text),
        ))
        .execute(conn)?;
    Ok(text)
}
