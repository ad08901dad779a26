//! Building and running the service: database, reference data, first account, HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage, HttpServer};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::platform::auth::{SourceLimiter, TokenKeys};
use crate::platform::clock::SharedClock;
use crate::platform::config::Settings;
use crate::platform::db::{Db, DbOptions};
use crate::platform::keys::{Purpose, ServiceKey};
use crate::platform::rules::calendar::WorkingCalendar;
use crate::web::AppState;

const BUILTIN_CALENDARS: &[&str] = &[include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/calendar/2026.toml"
))];

pub struct Application {
    port: u16,
    server: Server,
    intake_port: Option<u16>,
    background: Vec<tokio::task::AbortHandle>,
    pub state: web::Data<AppState>,
}

fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                )
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // In tests several services share one process and so one recorder.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn open_db(settings: &Settings, min_idle: u32) -> Result<Db, String> {
    let durations = settings.durations()?;
    let options = DbOptions {
        pool_size: settings.database.pool_size,
        connect_timeout: durations.db_connect_timeout,
        sqlite_busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
        min_idle,
    };
    let db = Db::connect(&settings.database.url, &options)?;
    match settings.database.replica_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => db.with_replica(url, &options),
        _ => Ok(db),
    }
}

pub fn load_calendar(dir: &str) -> Result<WorkingCalendar, String> {
    let mut cal = WorkingCalendar::default();
    for text in BUILTIN_CALENDARS {
        cal.add_year(text)?;
    }
    let dir = Path::new(dir);
    if dir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("无法读取节假日目录 {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("无法读取 {}: {e}", path.display()))?;
            cal.add_year(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(cal)
}

/// Every check of the settings, the platform's and the capabilities' own, at start rather
/// than at the first request that needs them.
pub fn check_settings(settings: &Settings) -> Result<(), String> {
    settings.check()?;
    settings.reports.check()?;
    settings.closures.check()?;
    if let Some(url) = settings.smtp.url.as_deref().filter(|u| !u.is_empty()) {
        crate::notify::mailer::check_url(url)?;
        crate::notify::mailer::parse_from(&settings.smtp.from)?;
    }
    if settings.intake.enabled() {
        crate::notify::mailer::parse_from(&settings.intake.address()).map_err(|_| {
            format!(
                "intake.address 不是有效的邮箱地址：{}",
                settings.intake.address()
            )
        })?;
    }
    for dkim in settings.intake.dkim_domains() {
        crate::intake::dkim::check_settings(dkim)?;
    }
    for relay in &settings.intake.trusted_relays {
        if relay.authserv_id.trim().is_empty() || relay.authserv_id.contains([';', ' ']) {
            return Err(format!(
                "intake.trusted_relays 的 authserv_id 无效：{:?}（应为中继在 Authentication-Results 中写的名称，如 \"mx.qs.gov.cn\"）",
                relay.authserv_id
            ));
        }
    }
    if settings.intake.enabled() && !settings.intake.require_authenticated_sender {
        tracing::warn!("intake.require_authenticated_sender = false：邮件收件只凭发件人（From）认人，任何人都能冒用登记的邮箱地址。请配置 DKIM 或可信中继后打开");
    }
    Ok(())
}

/// Everything the service needs before it listens: settings checked, database migrated and
/// seeded, signing secret, first admin, calendar, mailer. The command line uses it too.
pub async fn prepare(
    settings: Settings,
    clock: SharedClock,
) -> Result<web::Data<AppState>, String> {
    check_settings(&settings)?;
    let durations = settings.durations()?;
    let db = open_db(&settings, 1)?;
    let calendar = load_calendar(&settings.calendar.dir)?;

    let init_db = db.clone();
    let now = clock.now_naive();
    // File I/O, off the async executor like the rest of the preparation.
    let key_file = settings.auth.key_file.clone();
    let service_key =
        tokio::task::spawn_blocking(move || ServiceKey::load_or_create(Path::new(&key_file)))
            .await
            .map_err(|e| e.to_string())??;
    let secret = match settings.jwt_secret() {
        Some(s) => s.as_bytes().to_vec(),
        None => service_key.derive(Purpose::SignIn),
    };
    let admin_password = settings.bootstrap.admin_password.clone();
    let min_len = settings.auth.password_min_length;
    let (forgot, bootstrap) = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let applied = init_db.run_migrations()?;
        if applied > 0 {
            tracing::info!(migrations.applied = applied, "database migrated");
        }
        if !init_db.sqlite_plans_stay_prepared().unwrap_or(true) {
            tracing::warn!(
                "SQLite 未启用 SQLITE_ENABLE_QPSG：带 LIMIT 的查询每次都要重新解析，写入和列表会变慢；请在本仓库内构建（.cargo/config.toml 设置了 LIBSQLITE3_FLAGS）"
            );
        }
        init_db
            .transaction(|conn| {
                let forgot = crate::platform::auth::forget_stored_secret(conn)?;
                let added = crate::reference::seed(conn, now)?;
                if added > 0 {
                    tracing::info!(reference.added = added, "reference data loaded");
                }
                let bootstrap = crate::accounts::bootstrap_admin(
                    conn,
                    now,
                    admin_password.as_deref(),
                    min_len,
                )?;
                Ok((forgot, bootstrap))
            })
            .map_err(|e| match e {
                crate::platform::error::AppError::Validation(errs) => errs
                    .iter()
                    .map(|e| format!("{}：{}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("；"),
                other => format!("初始化数据库失败：{other}"),
            })
    })
    .await
    .map_err(|e| e.to_string())??;
    if forgot {
        tracing::warn!("旧版本保存在数据库中的登录签名密钥已删除，改用密钥文件 auth.key_file：已登录的用户需要重新登录");
    }
    match bootstrap {
        Some(Some(password)) => tracing::warn!(
            "已创建系统管理员账号 admin，初始密码：{password}　（只显示这一次，请登录后立即修改）"
        ),
        Some(None) => {
            tracing::info!("已创建系统管理员账号 admin，密码为 bootstrap.admin_password 的值")
        }
        None => {}
    }
    if settings.smtp.url.as_deref().is_none_or(str::is_empty) {
        tracing::warn!("smtp.url 未配置：邮件将保存在发件箱中，暂不发送");
    }

    crate::notify::outbox::set_address_book(crate::accounts::recipients::mail_addresses);
    crate::notify::set_organizer(&settings.smtp.from);
    let mailer = crate::notify::mailer::Mailer::new(
        &settings,
        durations.smtp_timeout,
        |subject| {
            if crate::intake::parse::lead_number(subject).is_some() {
                Some("如需补充情况，可直接回复本邮件，回复将记入线索的办理意见（回复地址只对您本人有效，请勿转给他人回复）")
            } else if crate::consultations::rules::answers_invitation(subject) {
                Some("可直接回复本邮件报到：写“参加，参会人：姓名”或“不参加，原因：……”（回复地址只对您本人有效，请勿转给他人回复）")
            } else {
                None
            }
        },
        service_key.derive(Purpose::ReplyAddress),
    )?;
    let state = web::Data::new(AppState {
        directory: crate::web::Directory {
            signed_in: crate::accounts::signed_in,
            unit_name: crate::reference::unit_name,
            names: reference_names,
            titles: record_titles,
        },
        mailer,
        db,
        limiter: SourceLimiter::new(settings.auth.source_max_failures, durations.source_window),
        unknown_names: SourceLimiter::new(settings.auth.max_failed_logins, durations.lockout),
        name_attempts: SourceLimiter::new(settings.auth.max_failed_logins, durations.lockout),
        public_reports: (
            SourceLimiter::new(
                settings.public.reports_per_address_per_hour.max(1),
                std::time::Duration::from_secs(3600),
            ),
            SourceLimiter::new(
                settings.public.reports_per_hour.max(1),
                std::time::Duration::from_secs(3600),
            ),
        ),
        durations,
        keys: TokenKeys::new(&secret),
        service_key,
        clock,
        calendar,
        metrics: metrics_handle(),
        hashing_pool: crate::platform::auth::HashPool::bounded(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            settings.auth.password_queue,
        ),
        settings,
    });
    Ok(state)
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> Result<Self, String> {
        let state = prepare(settings, clock).await?;
        Self::serve(state).await
    }

    /// Starts the listeners and background tasks on a prepared state.
    async fn serve(state: web::Data<AppState>) -> Result<Self, String> {
        let mut background = Vec::new();
        if state.settings.outbox.worker {
            background.push(crate::app::jobs::spawn_worker(state.clone()).abort_handle());
        }
        if state.db.backend == crate::platform::db::Backend::Sqlite {
            background.push(crate::app::jobs::spawn_wal_checkpointer(state.clone()).abort_handle());
        }
        if state.settings.audit.sealer && state.db.backend == crate::platform::db::Backend::Postgres
        {
            background.push(crate::app::jobs::spawn_sealer(state.clone()).abort_handle());
        }
        if let Some(file) = state
            .settings
            .audit
            .checkpoint_file()
            .filter(|_| state.settings.scheduler.enabled)
        {
            background.push(
                crate::app::jobs::spawn_checkpointer(state.clone(), file.into()).abort_handle(),
            );
        }
        if state.settings.scheduler.enabled {
            background.push(crate::app::jobs::spawn_stats_rollup(state.clone()).abort_handle());
            background.push(
                crate::leads::deadlines::spawn(state.clone())
                    .map_err(|e| e.to_string())?
                    .abort_handle(),
            );
            background.push(
                crate::inspections::deadlines::spawn(state.clone())
                    .map_err(|e| e.to_string())?
                    .abort_handle(),
            );
            background.push(
                crate::consultations::deadlines::spawn(state.clone())
                    .map_err(|e| e.to_string())?
                    .abort_handle(),
            );
            background.push(
                crate::closures::deadlines::spawn(state.clone())
                    .map_err(|e| e.to_string())?
                    .abort_handle(),
            );
        }

        let mut intake_port = None;
        if let Some(addr) = state.settings.intake.smtp_addr() {
            let listener = crate::intake::smtp::bind(addr).await?;
            intake_port = listener.local_addr().ok().map(|a| a.port());
            tracing::info!(addr, domain = %state.settings.intake.domain, "邮件收件服务已启动");
            background.push(crate::intake::smtp::spawn(listener, state.clone()).abort_handle());
        }
        if state.settings.intake.enabled() && state.settings.scheduler.enabled {
            background.push(
                crate::intake::spawn_sweeper(state.clone())
                    .map_err(|e| e.to_string())?
                    .abort_handle(),
            );
        }

        let listener = TcpListener::bind(&state.settings.http.addr)
            .map_err(|e| format!("无法监听 {}：{e}", state.settings.http.addr))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = state.settings.http.workers;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::FormConfig::default().limit(app_state.settings.http.max_body_bytes))
                .app_data(web::PayloadConfig::new(
                    app_state.settings.http.max_body_bytes,
                ))
                .wrap_fn(|req, srv| {
                    let start = Instant::now();
                    let method = req.method().to_string();
                    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
                    let fut = srv.call(req);
                    async move {
                        let mut res = fut.await?;
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".into());
                        let status = res.status().as_u16().to_string();
                        let labels = [("method", method), ("route", route), ("status", status)];
                        metrics::counter!("http_requests_total", &labels).increment(1);
                        metrics::histogram!("http_request_duration_seconds", &labels)
                            .record(start.elapsed().as_secs_f64());
                        if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok())
                        {
                            res.headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), id);
                        }
                        Ok(res)
                    }
                })
                .wrap(TracingLogger::default())
                .configure(crate::app::routes::routes)
                .default_service(web::to(crate::web::not_found))
        })
        .listen(listener)
        .map_err(|e| e.to_string())?
        .shutdown_timeout(10);
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            intake_port,
            background,
            server: server.run(),
            state,
        })
    }

    /// Stops the server from elsewhere (tests, signal handling).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the SMTP intake listener, when `intake.smtp_addr` is set.
    pub fn intake_port(&self) -> Option<u16> {
        self.intake_port
    }

    /// The background tasks (outbox worker, deadline checker), to stop them with the
    /// server (tests restart services).
    pub fn background_handles(&self) -> Vec<tokio::task::AbortHandle> {
        self.background.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        result
    }
}

/// Names by code of the departments, townships, (as `cat:<code>`) lead categories and
/// (as `pt:<code>`) permit types.
fn reference_names(
    conn: &mut crate::platform::db::DbConnection,
) -> crate::platform::error::AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    out.insert(
        crate::reference::PUBLIC_UNIT.to_owned(),
        crate::reference::PUBLIC_UNIT_NAME.to_owned(),
    );
    for d in crate::reference::departments(conn)? {
        out.insert(d.code, d.name);
    }
    for t in crate::reference::townships(conn)? {
        out.insert(t.code, t.name);
    }
    for c in crate::reference::lead_categories(conn)? {
        out.insert(format!("cat:{}", c.code), c.name);
    }
    for p in crate::reference::permit_types(conn)? {
        out.insert(format!("pt:{}", p.code), p.name);
    }
    for t in crate::reference::closure_tasks(conn)? {
        out.insert(format!("ct:{}", t.code), t.name);
    }
    Ok(out)
}

/// What people call records of one kind, by id (for the audit trail's pages).
fn record_titles(
    conn: &mut crate::platform::db::DbConnection,
    kind: &str,
    ids: &[String],
) -> crate::platform::error::AppResult<std::collections::HashMap<String, String>> {
    Ok(match kind {
        "mine" => crate::register::mines::names(conn, ids)?,
        "lead" => crate::leads::numbers(conn, ids)?,
        "user" => crate::accounts::names(conn, ids)?,
        _ => std::collections::HashMap::new(),
    })
}
