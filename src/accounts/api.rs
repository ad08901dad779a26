//! JSON adapters of accounts: signing in and out, one's own password, and the
//! administrators' user management.

use std::net::IpAddr;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::{
    self, LoginOutcome, LoginPolicy, NewUser, User, UserPatch, UserQuery, UserView,
};
use crate::platform::auth::Claims;
use crate::platform::authz::{self, Action, Principal};
use crate::platform::error::{AppError, AppResult, FieldError, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, replay_if_seen, AppState};

use crate::web::IdempotencyKey;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/me", web::get().to(me))
        .route("/me/password", web::post().to(change_password))
        .route("/me/email", web::put().to(change_email))
        .route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::get().to(get_user))
        .route("/users/{id}", web::patch().to(update_user))
        .route("/users/{id}/disable", web::post().to(disable_user))
        .route("/users/{id}/enable", web::post().to(enable_user))
        .route("/users/{id}/unlock", web::post().to(unlock_user))
        .route("/users/{id}/reset-password", web::post().to(reset_password));
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

pub use crate::web::client_ip;

fn locked_error(until: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> AppError {
    AppError::RateLimited {
        detail: format!(
            "账号已锁定，请于 {} 后再试，或联系系统管理员解锁。",
            crate::platform::clock::local_time(until)
        ),
        retry_after_secs: (until - now).num_seconds().max(1) as u64,
    }
}

/// Checks the password, applies the lockout rules and issues a token. Shared by the API
/// and the login page.
/// The answer to the failure that locks a name (an account's, or one that does not exist).
fn now_locked(state: &AppState) -> AppError {
    AppError::RateLimited {
        detail: format!(
            "密码已连续输错 {} 次，账号已锁定 {} 分钟。如需立即解锁，请联系系统管理员。",
            state.settings.auth.max_failed_logins,
            state.durations.lockout.as_secs() / 60
        ),
        retry_after_secs: state.durations.lockout.as_secs(),
    }
}

fn login_policy(state: &AppState) -> LoginPolicy {
    LoginPolicy {
        max_failed: state.settings.auth.max_failed_logins,
        lockout: chrono::Duration::from_std(state.durations.lockout)
            .unwrap_or(chrono::Duration::minutes(15)),
    }
}

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
    // Counted before any work: parallel attempts from one address share its limit.
    let _attempt = state.limiter.begin(ip, state.clock.now())?;
    // A source that has not failed lately may lift an account's lock by signing in with
    // the right password: a stranger's guesses elsewhere cannot keep an officer out.
    let clean_source = !state.limiter.has_failed(&ip, state.clock.now());
    let name = accounts::normalise_username(&username);
    // And per username, from any address: a guess spread over many addresses meets the
    // same bound before any hashing.
    let _name_attempt = state.name_attempts.begin(name.clone(), state.clock.now())?;
    let st = state.clone();
    let now = state.clock.now_naive();
    let policy = login_policy(&state);
    let found = blocking(move || {
        st.db
            .read(|conn| accounts::find_by_username(conn, &username))
    })
    .await?;
    // A locked name is refused before any password work: an account's lock, or as many
    // failures under a name that does not exist (both answer alike, so nobody learns
    // which usernames exist).
    let locked = match &found {
        Some(u) => u.locked_until.filter(|t| *t > now && !clean_source),
        None => state
            .unknown_names
            .blocked_until(&name, state.clock.now())
            .map(|t| t.naive_utc()),
    };
    if let Some(until) = locked {
        return Err(locked_error(until, now));
    }
    let hash = found.as_ref().map(|u| u.password_hash.clone());
    let password_ok = state
        .hashing(move || {
            let hash = hash
                .as_deref()
                .unwrap_or(crate::platform::auth::dummy_hash());
            Ok(crate::platform::auth::verify_password(&password, hash))
        })
        .await?;
    let outcome = match found {
        None => LoginOutcome::UnknownUser,
        Some(user) => {
            let st = state.clone();
            blocking(move || {
                st.db.transaction(|conn| {
                    accounts::record_login(conn, now, &user.id, password_ok, clean_source, &policy)
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
                user.role.code(),
                user.token_version,
                state.clock.now(),
                state.durations.token_ttl,
            )?;
            tracing::info!(user.id = %user.id, "login succeeded");
            Ok((token, claims, *user))
        }
        LoginOutcome::UnknownUser => {
            // Counted like an account: the fifth failure under a name answers as a lock.
            state.limiter.record_failure(ip, state.clock.now());
            state
                .unknown_names
                .record_failure(name.clone(), state.clock.now());
            tracing::info!(client.ip = %ip, "login failed");
            match state.unknown_names.blocked_until(&name, state.clock.now()) {
                Some(_) => Err(now_locked(&state)),
                None => Err(bad()),
            }
        }
        LoginOutcome::WrongPassword { now_locked: false } => {
            state.limiter.record_failure(ip, state.clock.now());
            tracing::info!(client.ip = %ip, "login failed");
            Err(bad())
        }
        LoginOutcome::WrongPassword { now_locked: true } => {
            state.limiter.record_failure(ip, state.clock.now());
            Err(now_locked(&state))
        }
        LoginOutcome::Locked { until } => {
            if !password_ok {
                state.limiter.record_failure(ip, state.clock.now());
            }
            Err(locked_error(until, now))
        }
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
            .transaction(|conn| accounts::revoke_sessions(conn, &user.0.actor(), now, &user.0.id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "账号", responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub async fn me(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
    let st = state.clone();
    let u = blocking(move || st.db.read(|conn| accounts::find(conn, &user.0.id))).await?;
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
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<ChangePassword>,
) -> AppResult<HttpResponse> {
    let ip = client_ip(&state, &req);
    change_own_password(state, ip, user.0, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn change_own_password(
    state: web::Data<AppState>,
    ip: IpAddr,
    who: Principal,
    input: ChangePassword,
) -> AppResult<()> {
    let st = state.clone();
    let id = who.id.clone();
    let current = blocking(move || st.db.read(|conn| accounts::find(conn, &id))).await?;
    let now = state.clock.now_naive();
    // The current password is a sign-in secret like any other: guessing it here counts
    // towards the same lock as the login form, and a locked account is refused first.
    if let Some(until) = current.locked_until.filter(|t| *t > now) {
        return Err(locked_error(until, now));
    }
    let min = state.settings.auth.password_min_length;
    let (hash_now, username) = (current.password_hash.clone(), current.username.clone());
    let given = input.current_password;
    let right = state
        .hashing(move || Ok(crate::platform::auth::verify_password(&given, &hash_now)))
        .await?;
    if !right {
        // The guessing address is no longer clean: it cannot lift the lock it causes.
        state.limiter.record_failure(ip, state.clock.now());
        let (st, id, policy) = (state.clone(), who.id.clone(), login_policy(&state));
        let outcome = blocking(move || {
            st.db
                .transaction(|conn| accounts::record_login(conn, now, &id, false, false, &policy))
        })
        .await?;
        return Err(match outcome {
            LoginOutcome::WrongPassword { now_locked: false } => {
                AppError::field("current_password", "当前密码不正确")
            }
            LoginOutcome::Locked { until } => locked_error(until, now),
            _ => locked_error(now + login_policy(&state).lockout, now),
        });
    }
    let hash = state
        .hashing(move || {
            crate::platform::rules::password::check(&input.new_password, &username, min)
                .map_err(|m| AppError::field("new_password", m))?;
            crate::platform::auth::hash_password(&input.new_password)
        })
        .await?;
    let st = state.clone();
    blocking(move || {
        st.db.transaction(|conn| {
            accounts::reset_password(conn, &who.actor(), now, &who.id, hash, false)
        })
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
    let (rows, next) = blocking(move || st.db.read(|conn| accounts::list(conn, &q.0))).await?;
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
            .read(|conn| Ok((accounts::check_new(conn, &input, min)?, input)))
    })
    .await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let password = input.password.clone();
    let hash = state
        .hashing(move || crate::platform::auth::hash_password(&password))
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
            .transaction(|conn| accounts::create(conn, &who.actor(), now, input, hash))
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
        move |c, a, n| accounts::create(c, a, n, input, hash),
        |u: &User| Ok(u.view(u.created_at)),
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
    let u = blocking(move || st.db.read(|conn| accounts::find(conn, &id))).await?;
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
            .transaction(|conn| accounts::update(conn, &who.actor(), now, &id, patch))
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
            UserAction::Disable => accounts::set_active(conn, &who.actor(), now, &id, false),
            UserAction::Enable => accounts::set_active(conn, &who.actor(), now, &id, true),
            UserAction::Unlock => accounts::unlock(conn, &who.actor(), now, &id),
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
    /// Whether the person must set their own password at the next sign-in (default: yes).
    #[serde(default)]
    pub must_change_password: Option<bool>,
}

pub async fn reset_password_as(
    state: web::Data<AppState>,
    who: Principal,
    id: String,
    password: String,
    must_change: bool,
) -> AppResult<User> {
    authz::require(&who, Action::ManageUsers)?;
    let st = state.clone();
    let target_id = id.clone();
    let target = blocking(move || st.db.read(|conn| accounts::find(conn, &target_id))).await?;
    crate::platform::rules::password::check(
        &password,
        &target.username,
        state.settings.auth.password_min_length,
    )
    .map_err(|m| AppError::field("password", m))?;
    let hash = state
        .hashing(move || crate::platform::auth::hash_password(&password))
        .await?;
    let now = state.clock.now_naive();
    let st = state.clone();
    blocking(move || {
        st.db.transaction(|conn| {
            accounts::reset_password(conn, &who.actor(), now, &id, hash, must_change)
        })
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
    let ResetPassword {
        password,
        must_change_password,
    } = body.0;
    let u = reset_password_as(
        state.clone(),
        user.0,
        id.into_inner(),
        password,
        must_change_password.unwrap_or(true),
    )
    .await?;
    Ok(HttpResponse::Ok().json(u.view(state.clock.now_naive())))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnEmail {
    /// The new address; empty removes it.
    pub email: String,
}

/// Changes the signed-in person's own email address.
#[utoipa::path(put, path = "/api/v1/me/email", tag = "账号", request_body = OwnEmail, responses(
    (status = 200, body = UserView), (status = 422, body = Problem)))]
pub async fn change_email(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: ApiJson<OwnEmail>,
) -> AppResult<HttpResponse> {
    let u = set_own_email(state.clone(), user.0, body.0.email).await?;
    Ok(HttpResponse::Ok().json(u))
}

/// The one way to change one's own email, for the page and the API.
pub async fn set_own_email(
    state: web::Data<AppState>,
    who: crate::platform::authz::Principal,
    email: String,
) -> AppResult<UserView> {
    let now = state.clock.now_naive();
    blocking(move || {
        state.db.transaction(|conn| {
            accounts::set_own_email(conn, &who, now, &email).map(|u| u.view(now))
        })
    })
    .await
}
