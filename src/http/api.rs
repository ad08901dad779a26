//! JSON API under /api/v1.

use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEntry, AuditQuery};
use crate::auth::Claims;
use crate::authz::{self, Action, Principal};
use crate::domain::calendar::{DayKind, MAX_WORKING_DAYS};
use crate::domain::risk_grade::{RiskGrade, ALL_GRADES};
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::http::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::http::{blocking, create_once, replay_if_seen, rfc3339, AppState};
use crate::pagination::Page;
use crate::reference::{
    self, DepartmentInput, DepartmentView, LeadCategoryInput, LeadCategoryView, PermitTypeInput,
    PermitTypeView, TownshipInput, TownshipView,
};
use crate::users::{
    self, LoginOutcome, LoginPolicy, NewUser, User, UserPatch, UserQuery, UserView,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route(
                "/openapi.json",
                web::get().to(crate::http::openapi::openapi_json),
            )
            .route("/auth/login", web::post().to(login))
            .route("/auth/logout", web::post().to(logout))
            .route("/me", web::get().to(me))
            .route("/me/password", web::post().to(change_password))
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/users/{id}", web::get().to(get_user))
            .route("/users/{id}", web::patch().to(update_user))
            .route("/users/{id}/disable", web::post().to(disable_user))
            .route("/users/{id}/enable", web::post().to(enable_user))
            .route("/users/{id}/unlock", web::post().to(unlock_user))
            .route("/users/{id}/reset-password", web::post().to(reset_password))
            .route("/departments", web::get().to(list_departments))
            .route("/departments", web::post().to(create_department))
            .route("/departments/{code}", web::get().to(get_department))
            .route("/departments/{code}", web::patch().to(update_department))
            .route("/townships", web::get().to(list_townships))
            .route("/townships", web::post().to(create_township))
            .route("/townships/{code}", web::get().to(get_township))
            .route("/townships/{code}", web::patch().to(update_township))
            .route("/lead-categories", web::get().to(list_lead_categories))
            .route("/lead-categories", web::post().to(create_lead_category))
            .route("/lead-categories/{code}", web::get().to(get_lead_category))
            .route(
                "/lead-categories/{code}",
                web::patch().to(update_lead_category),
            )
            .route("/permit-types", web::get().to(list_permit_types))
            .route("/permit-types/{code}", web::get().to(get_permit_type))
            .route("/permit-types/{code}", web::patch().to(update_permit_type))
            .route("/risk-grades", web::get().to(risk_grades))
            .route("/calendar/working-days", web::get().to(working_days))
            .route("/audit", web::get().to(list_audit))
            .route("/notifications", web::get().to(list_notifications))
            .route(
                "/notifications/read-all",
                web::post().to(read_all_notifications),
            )
            .route(
                "/notifications/{id}/read",
                web::post().to(read_notification),
            )
            .configure(crate::http::outbox_api::routes)
            .configure(crate::http::intake_api::routes)
            .configure(crate::http::leads_api::routes)
            .configure(crate::http::mines_api::routes)
            .configure(crate::http::permits_api::routes)
            .default_service(web::to(crate::http::not_found)),
    );
}

/// The `Idempotency-Key` header of creating POSTs.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documents the header; the value is read by crate::idempotency
pub struct IdempotencyKey {
    /// 重试时返回第一次的结果，不会重复创建（例如使用一个 UUID）。
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

// ---- sessions ------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub user: UserView,
}

pub fn client_ip(state: &AppState, req: &HttpRequest) -> IpAddr {
    let info = req.connection_info();
    let raw = if state.settings.http.behind_proxy {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    raw.and_then(|a| {
        a.parse::<IpAddr>()
            .ok()
            .or_else(|| a.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
    })
    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn locked_error(until: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> AppError {
    AppError::RateLimited {
        detail: format!(
            "账号已锁定，请于 {} 后再试，或联系系统管理员解锁。",
            crate::http::local_time(until)
        ),
        retry_after_secs: (until - now).num_seconds().max(1) as u64,
    }
}

/// Checks the password, applies the lockout rules and issues a token. Shared by the API
/// and the login page.
pub async fn sign_in(
    state: web::Data<AppState>,
    ip: IpAddr,
    username: String,
    password: String,
) -> AppResult<(String, Claims, User)> {
    let mut errors = Vec::new();
    if username.trim().is_empty() {
        errors.push(FieldError::new("username", "请输入用户名"));
    }
    if password.is_empty() {
        errors.push(FieldError::new("password", "请输入密码"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    state.limiter.check(ip, state.clock.now())?;
    let st = state.clone();
    let now = state.clock.now_naive();
    let policy = LoginPolicy {
        max_failed: state.settings.auth.max_failed_logins,
        lockout: chrono::Duration::from_std(state.durations.lockout)
            .unwrap_or(chrono::Duration::minutes(15)),
    };
    let found =
        blocking(move || st.db.read(|conn| users::find_by_username(conn, &username))).await?;
    // A locked account is refused before any password work.
    if let Some(until) = found
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|t| *t > now)
    {
        return Err(locked_error(until, now));
    }
    let hash = found.as_ref().map(|u| u.password_hash.clone());
    let password_ok = state
        .hashing(move || {
            let hash = hash.as_deref().unwrap_or(crate::auth::dummy_hash());
            Ok(crate::auth::verify_password(&password, hash))
        })
        .await?;
    let outcome = match found {
        None => LoginOutcome::UnknownUser,
        Some(user) => {
            let st = state.clone();
            blocking(move || {
                st.db.transaction(|conn| {
                    users::record_login(conn, now, &user.id, password_ok, &policy)
                })
            })
            .await?
        }
    };
    let bad = || AppError::Unauthorized("用户名或密码错误。".into());
    match outcome {
        LoginOutcome::Success(user) => {
            state.limiter.record_success(ip);
            let (token, claims) = state.keys.issue(
                &user.id,
                &user.role,
                user.token_version,
                state.clock.now(),
                state.durations.token_ttl,
            )?;
            tracing::info!(user.id = %user.id, "login succeeded");
            Ok((token, claims, *user))
        }
        LoginOutcome::UnknownUser | LoginOutcome::WrongPassword { now_locked: false } => {
            state.limiter.record_failure(ip, state.clock.now());
            tracing::info!(client.ip = %ip, "login failed");
            Err(bad())
        }
        LoginOutcome::WrongPassword { now_locked: true } => {
            state.limiter.record_failure(ip, state.clock.now());
            Err(AppError::RateLimited {
                detail: format!(
                    "密码已连续输错 {} 次，账号已锁定 {} 分钟。如需立即解锁，请联系系统管理员。",
                    state.settings.auth.max_failed_logins,
                    state.durations.lockout.as_secs() / 60
                ),
                retry_after_secs: state.durations.lockout.as_secs(),
            })
        }
        LoginOutcome::Locked { until } => Err(locked_error(until, now)),
        LoginOutcome::Disabled => Err(AppError::Unauthorized(
            "账号已停用，请联系系统管理员。".into(),
        )),
    }
}

/// Sign in with username and password; returns a Bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "账号", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = Problem, description = "用户名或密码错误、账号停用"),
    (status = 422, body = Problem),
    (status = 429, body = Problem, description = "账号或来源地址因多次失败被暂时锁定")))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> AppResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    let LoginRequest { username, password } = body.0;
    let (token, _claims, user) = sign_in(state.clone(), ip, username, password).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.durations.token_ttl.as_secs(),
        user: user.view(state.clock.now_naive()),
    }))
}

/// Sign out: every token of this user stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "账号", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || {
        st.db
            .transaction(|conn| users::revoke_sessions(conn, &user.0.actor(), now, &user.0.id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "账号", responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub async fn me(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
    let st = state.clone();
    let u = blocking(move || st.db.read(|conn| users::find(conn, &user.0.id))).await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password; other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "账号", request_body = ChangePassword, responses(
    (status = 204), (status = 422, body = Problem)))]
pub async fn change_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<ChangePassword>,
) -> AppResult<HttpResponse> {
    change_own_password(state, user.0, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn change_own_password(
    state: web::Data<AppState>,
    who: Principal,
    input: ChangePassword,
) -> AppResult<()> {
    let st = state.clone();
    let id = who.id.clone();
    let current = blocking(move || st.db.read(|conn| users::find(conn, &id))).await?;
    let min = state.settings.auth.password_min_length;
    let hash = state
        .hashing(move || {
            if !crate::auth::verify_password(&input.current_password, &current.password_hash) {
                return Err(AppError::field("current_password", "当前密码不正确"));
            }
            crate::domain::password::check(&input.new_password, &current.username, min)
                .map_err(|m| AppError::field("new_password", m))?;
            crate::auth::hash_password(&input.new_password)
        })
        .await?;
    let now = state.clock.now_naive();
    let st = state.clone();
    blocking(move || {
        st.db
            .transaction(|conn| users::reset_password(conn, &who.actor(), now, &who.id, hash))
    })
    .await?;
    Ok(())
}

// ---- users ---------------------------------------------------------------------------

/// Accounts, filtered, ordered by username (admins and the coordination office).
#[utoipa::path(get, path = "/api/v1/users", tag = "用户", params(UserQuery), responses(
    (status = 200, body = Page<UserView>), (status = 403, body = Problem)))]
pub async fn list_users(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<UserQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewUsers)?;
    let st = state.clone();
    let (rows, next) = blocking(move || st.db.read(|conn| users::list(conn, &q.0))).await?;
    let now = state.clock.now_naive();
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(|u| u.view(now)).collect(),
        next_cursor: next,
    }))
}

/// Checks a new account (all field errors at once) and hashes its password, off the
/// executor and outside any transaction: argon2 is deliberately slow.
async fn prepare_new_user(
    state: &web::Data<AppState>,
    who: &Principal,
    input: NewUser,
) -> AppResult<(NewUser, String)> {
    authz::require(who, Action::ManageUsers)?;
    let min = state.settings.auth.password_min_length;
    let st = state.clone();
    let (errors, input) = blocking(move || {
        st.db
            .read(|conn| Ok((users::check_new(conn, &input, min)?, input)))
    })
    .await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let password = input.password.clone();
    let hash = state
        .hashing(move || crate::auth::hash_password(&password))
        .await?;
    Ok((input, hash))
}

pub async fn create_user_as(
    state: web::Data<AppState>,
    who: Principal,
    input: NewUser,
) -> AppResult<User> {
    let (input, hash) = prepare_new_user(&state, &who, input).await?;
    let now = state.clock.now_naive();
    blocking(move || {
        state
            .db
            .transaction(|conn| users::create(conn, &who.actor(), now, input, hash))
    })
    .await
}

/// Create an account (admins). Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/users", tag = "用户", request_body = NewUser,
    params(IdempotencyKey),
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<NewUser>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ManageUsers)?;
    if let Some(first) = replay_if_seen(&state, &user.0, &req, &body.1).await? {
        return Ok(first);
    }
    let (input, hash) = prepare_new_user(&state, &user.0, body.0).await?;
    create_once(
        state,
        user.0,
        &req,
        body.1,
        move |c, a, n| users::create(c, a, n, input, hash),
        |u: &User| u.view(u.created_at),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "用户", responses(
    (status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    if user.0.id != *id {
        authz::require(&user.0, Action::ViewUsers)?;
    }
    let st = state.clone();
    let u = blocking(move || st.db.read(|conn| users::find(conn, &id))).await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

pub async fn update_user_as(
    state: web::Data<AppState>,
    who: Principal,
    id: String,
    patch: UserPatch,
) -> AppResult<User> {
    authz::require(&who, Action::ManageUsers)?;
    let now = state.clock.now_naive();
    blocking(move || {
        state
            .db
            .transaction(|conn| users::update(conn, &who.actor(), now, &id, patch))
    })
    .await
}

/// Edit an account (admins). Absent fields are unchanged; an empty string clears.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "用户", request_body = UserPatch, responses(
    (status = 200, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<UserPatch>,
) -> AppResult<HttpResponse> {
    let u = update_user_as(state.clone(), user.0, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

/// Account actions that need no input.
#[derive(Debug, Clone, Copy)]
pub enum UserAction {
    Disable,
    Enable,
    Unlock,
}

pub async fn user_action_as(
    state: web::Data<AppState>,
    who: Principal,
    id: String,
    action: UserAction,
) -> AppResult<User> {
    authz::require(&who, Action::ManageUsers)?;
    let now = state.clock.now_naive();
    blocking(move || {
        state.db.transaction(|conn| match action {
            UserAction::Disable => users::set_active(conn, &who.actor(), now, &id, false),
            UserAction::Enable => users::set_active(conn, &who.actor(), now, &id, true),
            UserAction::Unlock => users::unlock(conn, &who.actor(), now, &id),
        })
    })
    .await
}

async fn user_action(
    state: web::Data<AppState>,
    who: Principal,
    id: String,
    action: UserAction,
) -> AppResult<HttpResponse> {
    let u = user_action_as(state.clone(), who, id, action).await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

/// Disable an account: its sessions end at once; nothing it recorded is removed.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "用户", responses((status = 200, body = UserView), (status = 403, body = Problem)))]
pub async fn disable_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(state, user.0, id.into_inner(), UserAction::Disable).await
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "用户", responses((status = 200, body = UserView), (status = 403, body = Problem)))]
pub async fn enable_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(state, user.0, id.into_inner(), UserAction::Enable).await
}

/// Lift a lock caused by repeated wrong passwords.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "用户", responses((status = 200, body = UserView), (status = 403, body = Problem)))]
pub async fn unlock_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    user_action(state, user.0, id.into_inner(), UserAction::Unlock).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

pub async fn reset_password_as(
    state: web::Data<AppState>,
    who: Principal,
    id: String,
    password: String,
) -> AppResult<User> {
    authz::require(&who, Action::ManageUsers)?;
    let st = state.clone();
    let target_id = id.clone();
    let target = blocking(move || st.db.read(|conn| users::find(conn, &target_id))).await?;
    crate::domain::password::check(
        &password,
        &target.username,
        state.settings.auth.password_min_length,
    )
    .map_err(|m| AppError::field("password", m))?;
    let hash = state
        .hashing(move || crate::auth::hash_password(&password))
        .await?;
    let now = state.clock.now_naive();
    let st = state.clone();
    blocking(move || {
        st.db
            .transaction(|conn| users::reset_password(conn, &who.actor(), now, &id, hash))
    })
    .await
}

/// Set a new password for an account (admins); its sessions end and any lock is lifted.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "用户", request_body = ResetPassword, responses(
    (status = 200, body = UserView), (status = 422, body = Problem)))]
pub async fn reset_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    body: ApiJson<ResetPassword>,
) -> AppResult<HttpResponse> {
    let u = reset_password_as(state.clone(), user.0, id.into_inner(), body.0.password).await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

// ---- reference data ------------------------------------------------------------------

macro_rules! reference_reads {
    ($list:ident, $get:ident, $path:literal, $tag:literal, $view:ty, $all:path, $one:path) => {
        #[utoipa::path(get, path = $path, tag = $tag, responses((status = 200, body = Page<$view>), (status = 401, body = Problem)))]
        pub async fn $list(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
            authz::require(&user.0, Action::ViewReferenceData)?;
            let rows = blocking(move || state.db.read(|conn| $all(conn))).await?;
            Ok(HttpResponse::Ok().json(Page { items: rows.iter().map(<$view>::from).collect::<Vec<_>>(), next_cursor: None }))
        }

        #[utoipa::path(get, path = concat!($path, "/{code}"), tag = $tag, responses((status = 200, body = $view), (status = 404, body = Problem)))]
        pub async fn $get(state: web::Data<AppState>, user: CurrentUser, code: web::Path<String>) -> AppResult<HttpResponse> {
            authz::require(&user.0, Action::ViewReferenceData)?;
            let row = blocking(move || state.db.read(|conn| $one(conn, &code))).await?;
            Ok(HttpResponse::Ok().json(<$view>::from(&row)))
        }
    };
}

reference_reads!(
    list_departments,
    get_department,
    "/api/v1/departments",
    "基础数据",
    DepartmentView,
    reference::departments,
    reference::department
);
reference_reads!(
    list_townships,
    get_township,
    "/api/v1/townships",
    "基础数据",
    TownshipView,
    reference::townships,
    reference::township
);
reference_reads!(
    list_lead_categories,
    get_lead_category,
    "/api/v1/lead-categories",
    "基础数据",
    LeadCategoryView,
    reference::lead_categories,
    reference::lead_category
);
reference_reads!(
    list_permit_types,
    get_permit_type,
    "/api/v1/permit-types",
    "基础数据",
    PermitTypeView,
    reference::permit_types,
    reference::permit_type
);

/// Runs a reference-data edit for an admin in one transaction.
pub async fn edit_reference<T: Send + 'static>(
    state: web::Data<AppState>,
    who: Principal,
    f: impl FnOnce(
            &mut crate::db::DbConnection,
            &crate::audit::Actor,
            chrono::NaiveDateTime,
        ) -> AppResult<T>
        + Send
        + 'static,
) -> AppResult<T> {
    authz::require(&who, Action::EditReferenceData)?;
    let now = state.clock.now_naive();
    blocking(move || state.db.transaction(|conn| f(conn, &who.actor(), now))).await
}

/// Add a member unit (admins).
#[utoipa::path(post, path = "/api/v1/departments", tag = "基础数据", request_body = DepartmentInput, params(IdempotencyKey), responses(
    (status = 201, body = DepartmentView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_department(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<DepartmentInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditReferenceData)?;
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| reference::save_department(c, a, n, None, input),
        |d| DepartmentView::from(d),
    )
    .await
}

/// Edit a member unit (admins).
#[utoipa::path(patch, path = "/api/v1/departments/{code}", tag = "基础数据", request_body = DepartmentInput, responses(
    (status = 200, body = DepartmentView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_department(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<DepartmentInput>,
) -> AppResult<HttpResponse> {
    let row = edit_reference(state, user.0, move |c, a, n| {
        reference::save_department(c, a, n, Some(&code), body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(DepartmentView::from(&row)))
}

/// Add a township (admins).
#[utoipa::path(post, path = "/api/v1/townships", tag = "基础数据", request_body = TownshipInput, params(IdempotencyKey), responses(
    (status = 201, body = TownshipView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_township(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<TownshipInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditReferenceData)?;
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| reference::save_township(c, a, n, None, input),
        |t| TownshipView::from(t),
    )
    .await
}

#[utoipa::path(patch, path = "/api/v1/townships/{code}", tag = "基础数据", request_body = TownshipInput, responses(
    (status = 200, body = TownshipView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_township(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<TownshipInput>,
) -> AppResult<HttpResponse> {
    let row = edit_reference(state, user.0, move |c, a, n| {
        reference::save_township(c, a, n, Some(&code), body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TownshipView::from(&row)))
}

#[utoipa::path(post, path = "/api/v1/lead-categories", tag = "基础数据", request_body = LeadCategoryInput, params(IdempotencyKey), responses(
    (status = 201, body = LeadCategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_lead_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<LeadCategoryInput>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::EditReferenceData)?;
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| reference::save_lead_category(c, a, n, None, input),
        |c| LeadCategoryView::from(c),
    )
    .await
}

/// Change a category's routing (primary and assisting departments) or its name.
#[utoipa::path(patch, path = "/api/v1/lead-categories/{code}", tag = "基础数据", request_body = LeadCategoryInput, responses(
    (status = 200, body = LeadCategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_lead_category(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<LeadCategoryInput>,
) -> AppResult<HttpResponse> {
    let row = edit_reference(state, user.0, move |c, a, n| {
        reference::save_lead_category(c, a, n, Some(&code), body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(LeadCategoryView::from(&row)))
}

#[utoipa::path(patch, path = "/api/v1/permit-types/{code}", tag = "基础数据", request_body = PermitTypeInput, responses(
    (status = 200, body = PermitTypeView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_permit_type(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<PermitTypeInput>,
) -> AppResult<HttpResponse> {
    let row = edit_reference(state, user.0, move |c, a, n| {
        reference::update_permit_type(c, a, n, &code, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(PermitTypeView::from(&row)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RiskGradeView {
    pub code: RiskGrade,
    /// A / B / C / D
    pub letter: &'static str,
    pub name: &'static str,
    /// e.g. "D级 · 重大风险"
    pub display: String,
    pub colour: &'static str,
    pub colour_hex: &'static str,
    pub inspection_interval_months: u32,
}

/// The four safety risk grades (矿安〔2023〕1号).
#[utoipa::path(get, path = "/api/v1/risk-grades", tag = "基础数据", responses((status = 200, body = Page<RiskGradeView>)))]
pub async fn risk_grades(_user: CurrentUser) -> HttpResponse {
    let items: Vec<RiskGradeView> = ALL_GRADES
        .iter()
        .map(|g| RiskGradeView {
            code: *g,
            letter: g.letter(),
            name: g.level_name(),
            display: g.display(),
            colour: g.colour_name(),
            colour_hex: g.colour_hex(),
            inspection_interval_months: g.default_inspection_interval_months(),
        })
        .collect();
    HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkingDaysQuery {
    /// Start date, YYYY-MM-DD (not counted).
    pub from: Option<String>,
    /// Number of working days to add, 0 to 3650.
    pub days: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkingDaysAnswer {
    /// The date `days` working days after `from`.
    pub date: String,
    pub from: String,
    pub days: u32,
    /// False when a year crossed has no official calendar loaded (only weekends were skipped).
    pub calendar_complete: bool,
}

/// The date N working days after a date, on the holiday calendar with make-up workdays.
#[utoipa::path(get, path = "/api/v1/calendar/working-days", tag = "基础数据", params(WorkingDaysQuery), responses(
    (status = 200, body = WorkingDaysAnswer), (status = 422, body = Problem)))]
pub async fn working_days(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: ApiQuery<WorkingDaysQuery>,
) -> AppResult<HttpResponse> {
    let mut errors = Vec::new();
    let from = match q.0.from.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("from", "请提供起始日期，格式为 YYYY-MM-DD"));
            None
        }
        Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "from",
                    format!("日期 {s:?} 格式不正确，应为 YYYY-MM-DD，例如 2026-05-06"),
                ));
                None
            }
        },
    };
    let days = match q.0.days.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("days", "请提供工作日天数"));
            None
        }
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n <= MAX_WORKING_DAYS => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "days",
                    format!("工作日天数应为 0 到 {MAX_WORKING_DAYS} 之间的整数"),
                ));
                None
            }
        },
    };
    let (Some(from), Some(days)) = (from, days) else {
        return Err(AppError::Validation(errors));
    };
    let date = state
        .calendar
        .add_working_days(from, days)
        .ok_or_else(|| AppError::field("days", "计算结果超出日期范围"))?;
    use chrono::Datelike;
    let complete = (from.year()..=date.year()).all(|y| state.calendar.knows_year(y));
    Ok(HttpResponse::Ok().json(WorkingDaysAnswer {
        date: date.format("%Y-%m-%d").to_string(),
        from: from.format("%Y-%m-%d").to_string(),
        days,
        calendar_complete: complete,
    }))
}

pub fn day_kind_label(kind: &DayKind) -> String {
    match kind {
        DayKind::Workday => "工作日".into(),
        DayKind::Weekend => "周末".into(),
        DayKind::Holiday(n) => format!("{n}（放假）"),
        DayKind::MakeUpWorkday(n) => n.clone(),
    }
}

// ---- audit ---------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        let parse = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
            seq: e.seq,
            occurred_at: rfc3339(e.occurred_at),
            actor_id: e.actor_id.clone(),
            actor_name: e.actor_name.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            action: e.action.clone(),
            before: parse(&e.before_json),
            after: parse(&e.after_json),
            hash: e.hash.clone(),
        }
    }
}

/// The audit trail, newest first (admins and the coordination office).
#[utoipa::path(get, path = "/api/v1/audit", tag = "操作记录", params(AuditQuery), responses(
    (status = 200, body = Page<AuditEntryView>), (status = 403, body = Problem)))]
pub async fn list_audit(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<AuditQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewAudit)?;
    let (rows, next) = blocking(move || state.db.read(|conn| audit::list(conn, &q.0))).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(AuditEntryView::from).collect::<Vec<_>>(),
        next_cursor: next,
    }))
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
