//! The HTTP layer: thin handlers that extract, ask the authorization gate, run the use
//! case off the async executor and render JSON or a page.

pub mod api;
pub mod extract;
pub mod openapi;
pub mod ops;
pub mod pages;

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

pub fn local_time(t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().with_timezone(&shanghai()).to_rfc3339()
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    ops::routes(cfg);
    api::routes(cfg);
    pages::routes(cfg);
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
