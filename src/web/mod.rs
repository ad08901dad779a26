//! What every HTTP adapter shares: the application state, the extractors, the page kit
//! (layout, forms, tables, badges, the error page), the idempotent-create helper and the
//! operations endpoints. Capabilities' `api.rs` and `pages.rs` stand on it.

pub mod audit;
pub mod extract;
pub mod kit;
pub mod ops;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use crate::platform::auth::{SourceLimiter, TokenKeys};
use crate::platform::clock::SharedClock;
use crate::platform::config::{Durations, Settings};
use crate::platform::db::{Db, DbConnection};
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::calendar::WorkingCalendar;

/// The address sign-in attempts and public reports are counted against: the connection's peer, or — behind
/// a trusted proxy — the last X-Forwarded-For entry, which that proxy wrote itself
/// (deploy/nginx.conf sets it to `$remote_addr`). A client's own `Forwarded` or
/// X-Forwarded-For entries never choose the bucket.
pub fn client_ip(state: &AppState, req: &actix_web::HttpRequest) -> std::net::IpAddr {
    let peer = req
        .peer_addr()
        .map(|s| s.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let http = &state.settings.http;
    let trusted = http.behind_proxy && http.trusted_proxies.contains(&peer);
    if !trusted {
        return peer;
    }
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok())
        .unwrap_or(peer)
}

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub durations: Durations,
    pub clock: SharedClock,
    pub keys: TokenKeys,
    /// The key file's secret, for the keys derived from it (reply addresses, checkpoints).
    pub service_key: crate::platform::keys::ServiceKey,
    pub calendar: WorkingCalendar,
    pub limiter: SourceLimiter,
    /// Failures under usernames that do not exist, locked like accounts.
    pub unknown_names: crate::platform::auth::UnknownNames,
    /// Sign-in attempts in flight per username (from any address): no more than an
    /// account's failure limit are checked at once, however many addresses try.
    pub name_attempts: crate::platform::auth::SourceLimiter<String>,
    /// Reports from the public pages in the last hour, per address and in all.
    pub public_reports: (SourceLimiter, crate::platform::auth::SourceLimiter<()>),
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Password hashing runs here, a few at a time (see `HashPool`).
    pub hashing_pool: crate::platform::auth::HashPool,
    /// SMTP delivery of the outbox (absent transport when `smtp.url` is unset).
    pub mailer: crate::notify::mailer::Mailer,
    /// What this layer asks of the capabilities above it.
    pub directory: Directory,
}

/// The few things the shared web layer needs from capabilities above it (who a signed-in
/// user is, what a unit is called), handed in by `app::startup` so that `web` never names
/// a capability.
#[derive(Clone, Copy)]
pub struct Directory {
    /// The signed-in user by id (`accounts::signed_in`).
    pub signed_in: fn(&mut DbConnection, &str) -> AppResult<SignedIn>,
    /// The display name of a department or township code (`reference::unit_name`).
    pub unit_name: fn(&mut DbConnection, &str) -> String,
    /// Names by code of every department and township (by code), lead category (`cat:`
    /// and its code) and permit type (`pt:` and its code), for pages that show stored codes.
    pub names: fn(&mut DbConnection) -> AppResult<Names>,
    /// What people call the records of one kind (`mine` → its name, `lead` → number and
    /// title, `user` → display name), by id.
    pub titles: fn(&mut DbConnection, &str, &[String]) -> AppResult<Names>,
}

/// Names or titles by code or id.
pub type Names = std::collections::HashMap<String, String>;

/// A signed-in user's account as the extractor checks it.
pub struct SignedIn {
    pub principal: crate::platform::authz::Principal,
    pub active: bool,
    pub token_version: i32,
    /// The password is still the one an administrator set.
    pub must_change_password: bool,
}

impl AppState {
    /// Today's date in Asia/Shanghai, by the service's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::platform::clock::today(self.clock.as_ref())
    }

    /// Runs password hashing or verification on the password threads.
    pub async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        self.hashing_pool.run(f).await
    }
}

/// Runs blocking work (database, password hashing) on actix's blocking pool, keeping
/// the request's tracing span so its log lines still carry the request id.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f)).await?
}

/// Runs a creating use case at most once per `Idempotency-Key`: the change, its audit
/// entry and the stored response commit together, and a retry gets the first response.
pub async fn create_once<T, V>(
    state: web::Data<AppState>,
    who: crate::platform::authz::Principal,
    req: &HttpRequest,
    digest: String,
    run: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::audit::Actor,
            NaiveDateTime,
        ) -> AppResult<T>
        + Send
        + 'static,
    view: impl FnOnce(&T) -> AppResult<V> + Send + 'static,
) -> AppResult<HttpResponse>
where
    T: Send + 'static,
    V: serde::Serialize,
{
    create_once_with(
        state,
        who,
        req,
        digest,
        false,
        |_, _| Ok(()),
        move |conn, actor, now, ()| run(conn, actor, now),
        view,
    )
    .await
}

/// As [`create_once`] for a use case every client runs at once (a raise): `prepare` reads
/// and checks outside the write transaction (see `Db::prepare_then_write`), `run` writes
/// what it prepared. A retry of a request already answered gets its first response
/// before anything is checked again.
///
/// `run` must be whole on its own: its changes one statement, or several inside
/// `platform::db::atomically`. Without an `Idempotency-Key` nothing else is written with
/// them, and on PostgreSQL they run outside any transaction of this function's
/// (`Db::prepare_then_write_whole`); with a key, the answer is stored in one transaction
/// with them.
pub async fn create_once_prepared<P, T, V>(
    state: web::Data<AppState>,
    who: crate::platform::authz::Principal,
    req: &HttpRequest,
    digest: String,
    prepare: impl FnOnce(&mut crate::platform::db::DbConnection, NaiveDateTime) -> AppResult<P>
        + Send
        + 'static,
    run: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::audit::Actor,
            NaiveDateTime,
            P,
        ) -> AppResult<T>
        + Send
        + 'static,
    view: impl FnOnce(&T) -> AppResult<V> + Send + 'static,
) -> AppResult<HttpResponse>
where
    P: Send + 'static,
    T: Send + 'static,
    V: serde::Serialize,
{
    if let Some(replayed) = replay_if_seen(&state, &who, req, &digest).await? {
        return Ok(replayed);
    }
    create_once_with(state, who, req, digest, true, prepare, run, view).await
}

/// What the write transaction of a creation ended with.
enum Created<T> {
    /// The key was answered before: its status and body.
    Replayed(i32, String),
    /// The body as stored with the key.
    Stored(String),
    /// Done without a key: the body is written after the commit.
    Done(T),
}

// The request's parts and the use case's three steps, each its own argument.
#[allow(clippy::too_many_arguments)]
async fn create_once_with<P, T, V>(
    state: web::Data<AppState>,
    who: crate::platform::authz::Principal,
    req: &HttpRequest,
    digest: String,
    // Whether `prepare` runs before the write transaction (`Db::prepare_then_write`)
    // rather than inside it.
    read_first: bool,
    prepare: impl FnOnce(&mut crate::platform::db::DbConnection, NaiveDateTime) -> AppResult<P>
        + Send
        + 'static,
    run: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::audit::Actor,
            NaiveDateTime,
            P,
        ) -> AppResult<T>
        + Send
        + 'static,
    view: impl FnOnce(&T) -> AppResult<V> + Send + 'static,
) -> AppResult<HttpResponse>
where
    P: Send + 'static,
    T: Send + 'static,
    V: serde::Serialize,
{
    use crate::platform::idempotency::{self, Keyed};
    let key = idempotency::key_of(req)?;
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let now = state.clock.now_naive();
    let st = state.clone();
    let (k2, m2, p2, d2, u2) = (
        key.clone(),
        method.clone(),
        path.clone(),
        digest.clone(),
        who.id.clone(),
    );
    let keyed_request = key.is_some();
    let outcome = blocking(move || {
        let write = move |conn: &mut crate::platform::db::DbConnection, prepared: P| {
            let keyed = key.as_deref().map(|k| Keyed {
                user_id: &who.id,
                key: k,
                method: &method,
                path: &path,
                digest: &digest,
            });
            if let Some(k) = &keyed {
                if let Some((status, body)) = idempotency::lookup(conn, k)? {
                    return Ok(Created::Replayed(status, body));
                }
                idempotency::claim(conn, k, now)?;
            }
            let created = run(conn, &who.actor(), now, prepared)?;
            match &keyed {
                // A view that cannot be built rolls the change back: never a 201 without
                // its body.
                Some(k) => {
                    let body = view(&created)?;
                    let text = idempotency::remember(
                        conn,
                        k,
                        actix_web::http::StatusCode::CREATED,
                        &body,
                    )?;
                    Ok(Created::Stored(text))
                }
                // Without a key the body is built after the commit, outside SQLite's
                // writer's turn; a view is plain data and its JSON cannot fail.
                None => Ok(Created::Done((created, view))),
            }
        };
        let created = if read_first && !keyed_request {
            st.db.prepare_then_write_whole(|c| prepare(c, now), write)
        } else if read_first {
            st.db.prepare_then_write(|c| prepare(c, now), write)
        } else {
            st.db.transaction(|c| {
                let prepared = prepare(c, now)?;
                write(c, prepared)
            })
        }?;
        Ok(match created {
            Created::Replayed(status, body) => (true, status, body),
            Created::Stored(text) => (false, 201, text),
            Created::Done((created, view)) => {
                let body = view(&created)?;
                (
                    false,
                    201,
                    serde_json::to_string(&body).map_err(AppError::internal)?,
                )
            }
        })
    })
    .await;
    match outcome {
        Ok((false, _, body)) => Ok(HttpResponse::Created()
            .content_type("application/json")
            .body(body)),
        Ok((true, status, body)) => Ok(idempotency::replay(status, body)),
        // Two retries raced: the loser's insert of the key failed; answer with the winner's response.
        Err(AppError::Conflict(msg)) => match k2 {
            Some(k) => {
                let db = state.db.clone();
                let stored = blocking(move || {
                    db.read(|conn| {
                        idempotency::lookup(
                            conn,
                            &Keyed {
                                user_id: &u2,
                                key: &k,
                                method: &m2,
                                path: &p2,
                                digest: &d2,
                            },
                        )
                    })
                })
                .await?;
                match stored {
                    Some((status, body)) => Ok(idempotency::replay(status, body)),
                    None => Err(AppError::Conflict(msg)),
                }
            }
            None => Err(AppError::Conflict(msg)),
        },
        Err(e) => Err(e),
    }
}

/// The first response to this request's `Idempotency-Key`, if it was seen before; lets a
/// handler answer a retry before re-validating input the first request already used.
pub async fn replay_if_seen(
    state: &web::Data<AppState>,
    who: &crate::platform::authz::Principal,
    req: &HttpRequest,
    digest: &str,
) -> AppResult<Option<HttpResponse>> {
    use crate::platform::idempotency::{self, Keyed};
    let Some(key) = idempotency::key_of(req)? else {
        return Ok(None);
    };
    let (db, user_id, method, path, digest) = (
        state.db.clone(),
        who.id.clone(),
        req.method().to_string(),
        req.path().to_owned(),
        digest.to_owned(),
    );
    let stored = blocking(move || {
        db.read(|conn| {
            idempotency::lookup(
                conn,
                &Keyed {
                    user_id: &user_id,
                    key: &key,
                    method: &method,
                    path: &path,
                    digest: &digest,
                },
            )
        })
    })
    .await?;
    Ok(stored.map(|(status, body)| idempotency::replay(status, body)))
}

/// Unknown addresses: a problem document for the API, a page for people.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        actix_web::ResponseError::error_response(&AppError::NotFound(format!(
            "没有这个接口：{} {}",
            req.method(),
            req.path()
        )))
    } else {
        kit::error_page(&AppError::NotFound("您要找的页面不存在。".into()), None)
    }
}

/// The `Idempotency-Key` header of creating POSTs.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documents the header; the value is read by crate::platform::idempotency
pub struct IdempotencyKey {
    /// 重试时返回第一次的结果，不会重复创建（例如使用一个 UUID）。
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// The request body of an upload, read up to `http.max_upload_bytes` (413 beyond);
/// an empty one is a 422 on `file` with `empty`.
pub async fn read_body(
    state: &AppState,
    mut payload: actix_web::web::Payload,
    empty: &str,
) -> Result<Vec<u8>, AppError> {
    use futures_util::StreamExt;
    let limit = state.settings.http.max_upload_bytes;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| AppError::BadRequest("上传的文件读取失败，请重试。".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(AppError::field("file", empty));
    }
    Ok(body)
}

/// A file sent as the whole request body (the API's uploads): `Content-Type` its type,
/// `name` its name; bounded by `http.max_upload_bytes` while it is read.
pub async fn raw_upload(
    state: &AppState,
    req: &actix_web::HttpRequest,
    payload: actix_web::web::Payload,
    name: Option<String>,
) -> Result<crate::platform::upload::Upload, AppError> {
    let bytes = read_body(state, payload, "请求体为空：请以文件内容作为请求体上传").await?;
    Ok(crate::platform::upload::Upload {
        field: String::new(),
        file_name: name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "附件".into()),
        content_type: req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        bytes,
    })
}

/// A stored file as a download: images and PDFs open in the browser, others download.
pub fn file_download(
    content_type: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> actix_web::HttpResponse {
    let inline = content_type.starts_with("image/") || content_type == "application/pdf";
    // Old clients read only the plain name: the file's own when it is plain ASCII.
    let plain = file_name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let disposition =
        crate::platform::xlsx::attachment(if plain { file_name } else { "file" }, file_name);
    let disposition = if inline {
        disposition.replacen("attachment", "inline", 1)
    } else {
        disposition
    };
    actix_web::HttpResponse::Ok()
        .content_type(content_type.to_owned())
        .insert_header(("content-disposition", disposition))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(bytes)
}
