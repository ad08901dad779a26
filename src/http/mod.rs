//! The HTTP layer: thin handlers that extract, ask the authorization gate, run the use
//! case off the async executor and render JSON or a page.

pub mod api;
pub mod extract;
pub mod intake_api;
pub mod leads_api;
pub mod mines_api;
pub mod openapi;
pub mod ops;
pub mod outbox_api;
pub mod permits_api;
#[macro_use]
pub mod pages;
pub mod inbox_pages;
pub mod intake_pages;
pub mod lead_pages;
pub mod mine_pages;
pub mod outbox_pages;
pub mod permit_pages;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{FixedOffset, NaiveDateTime};

use crate::auth::{SourceLimiter, TokenKeys};
use crate::clock::SharedClock;
use crate::config::{Durations, Settings};
use crate::db::Db;
use crate::domain::calendar::WorkingCalendar;
use crate::error::{AppError, AppResult};

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub durations: Durations,
    pub clock: SharedClock,
    pub keys: TokenKeys,
    pub calendar: WorkingCalendar,
    pub limiter: SourceLimiter,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Password hashing runs here, a few at a time (see `HashPool`).
    pub hashing_pool: crate::auth::HashPool,
    /// SMTP delivery of the outbox (absent transport when `smtp.url` is unset).
    pub mailer: crate::mailer::Mailer,
}

impl AppState {
    /// Today's date in Asia/Shanghai, by the service's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.now().with_timezone(&shanghai()).date_naive()
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

/// Display times are in Asia/Shanghai (UTC+8, no daylight saving).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The Asia/Shanghai calendar date of a stored UTC time.
pub fn shanghai_date(t: NaiveDateTime) -> chrono::NaiveDate {
    t.and_utc().with_timezone(&shanghai()).date_naive()
}

pub fn local_time(t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().with_timezone(&shanghai()).to_rfc3339()
}

/// Runs a creating use case at most once per `Idempotency-Key`: the change, its audit
/// entry and the stored response commit together, and a retry gets the first response.
pub async fn create_once<T, V>(
    state: web::Data<AppState>,
    who: crate::authz::Principal,
    req: &HttpRequest,
    digest: String,
    run: impl FnOnce(&mut crate::db::DbConnection, &crate::audit::Actor, NaiveDateTime) -> AppResult<T>
        + Send
        + 'static,
    view: impl FnOnce(&T) -> V + Send + 'static,
) -> AppResult<HttpResponse>
where
    T: Send + 'static,
    V: serde::Serialize,
{
    use crate::idempotency::{self, Keyed};
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
    let outcome = blocking(move || {
        st.db.transaction(|conn| {
            let keyed = key.as_deref().map(|k| Keyed {
                user_id: &who.id,
                key: k,
                method: &method,
                path: &path,
                digest: &digest,
            });
            if let Some(k) = &keyed {
                if let Some((status, body)) = idempotency::lookup(conn, k)? {
                    return Ok((true, status, body));
                }
                idempotency::claim(conn, k, now)?;
            }
            let created = run(conn, &who.actor(), now)?;
            let body = view(&created);
            let text = match &keyed {
                Some(k) => {
                    idempotency::remember(conn, k, actix_web::http::StatusCode::CREATED, &body)?
                }
                None => serde_json::to_string(&body).map_err(AppError::internal)?,
            };
            Ok((false, 201, text))
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
    who: &crate::authz::Principal,
    req: &HttpRequest,
    digest: &str,
) -> AppResult<Option<HttpResponse>> {
    use crate::idempotency::{self, Keyed};
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

pub fn routes(cfg: &mut web::ServiceConfig) {
    ops::routes(cfg);
    api::routes(cfg);
    pages::routes(cfg);
    mine_pages::routes(cfg);
    permit_pages::routes(cfg);
    inbox_pages::routes(cfg);
    outbox_pages::routes(cfg);
    intake_pages::routes(cfg);
    lead_pages::routes(cfg);
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
        pages::error_page(&AppError::NotFound("您要找的页面不存在。".into()), None)
    }
}
