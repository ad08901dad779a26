//! Operations endpoints: liveness, readiness and Prometheus metrics.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics_text));
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "运维", responses((status = 200, description = "服务进程正常")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The service can do its work: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "运维", responses(
    (status = 200, description = "可以提供服务"),
    (status = 503, description = "数据库不可用")))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    let db = blocking(move || st.db.ping()).await;
    let mail = if state
        .settings
        .smtp
        .url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        "configured"
    } else {
        "not configured: mail is kept in the outbox"
    };
    let i = &state.settings.intake;
    let intake = json!({
        "smtp_listener": i.smtp_addr().is_some(),
        "http_route": i.token().is_some(),
        "address": i.enabled().then(|| i.address()),
        // Off: anyone can write as a registered user by naming their address in From.
        "require_authenticated_sender": i.require_authenticated_sender,
        "warning": (i.enabled() && !i.require_authenticated_sender)
            .then_some("intake.require_authenticated_sender is off: the From header is trusted"),
    });
    match db {
        Ok(()) => HttpResponse::Ok().json(
            json!({ "status": "ready", "database": "ok", "smtp": mail, "intake": intake }),
        ),
        Err(_) => HttpResponse::ServiceUnavailable().json(
            json!({ "status": "unavailable", "database": "unreachable", "smtp": mail, "intake": intake }),
        ),
    }
}

/// Prometheus text: request counts and latencies by route and status, pool use.
#[utoipa::path(get, path = "/metrics", tag = "运维", responses((status = 200, description = "Prometheus 文本格式")))]
pub async fn metrics_text(state: web::Data<AppState>) -> HttpResponse {
    let (max, connections, idle) = state.db.pool_state();
    metrics::gauge!("db_pool_max_connections").set(f64::from(max));
    metrics::gauge!("db_pool_connections").set(f64::from(connections));
    metrics::gauge!("db_pool_idle_connections").set(f64::from(idle));
    metrics::gauge!("db_pool_in_use_connections").set(f64::from(connections.saturating_sub(idle)));
    if state.db.backend == crate::platform::db::Backend::Sqlite {
        // Writes queued for SQLite's one writer share its commits: how many per commit.
        let (writes, commits) = state.db.writer_counts();
        metrics::counter!("db_sqlite_writes_total").absolute(writes);
        metrics::counter!("db_sqlite_commits_total").absolute(commits);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
