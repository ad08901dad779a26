//! Accounts: create, edit, disable, unlock, passwords, and the login bookkeeping.

pub mod api;
pub mod pages;
pub mod recipients;
mod store;

pub use store::User;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::pagination;
use crate::platform::rules::email::check_email;
use crate::platform::rules::password;
use crate::platform::rules::role::Role;

impl User {
    pub fn role(&self) -> Role {
        // Roles are validated on every write; an unknown one (a manual database edit) is
        // refused when the row is read, so nobody signs in with it.
        self.role
    }

    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role(),
            department: self.department.clone(),
            township: self.township.clone(),
            mine_id: self.mine_id.clone(),
        }
    }

    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    pub fn view(&self, now: NaiveDateTime) -> UserView {
        UserView {
            id: self.id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            role: self.role(),
            role_label: self.role().label(),
            department: self.department.clone(),
            township: self.township.clone(),
            mine_id: self.mine_id.clone(),
            active: self.active != 0,
            must_change_password: self.must_change_password != 0,
            certificate_number: self.certificate_number.clone(),
            locked_until: self
                .locked_until
                .filter(|t| *t > now)
                .map(|t| t.and_utc().to_rfc3339()),
            failed_logins: self.failed_logins,
            last_login_at: self.last_login_at.map(|t| t.and_utc().to_rfc3339()),
            created_at: self.created_at.and_utc().to_rfc3339(),
            updated_at: self.updated_at.and_utc().to_rfc3339(),
            version: self.version,
        }
    }
}

/// An account as the API shows it; never the password hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub role_label: &'static str,
    pub department: Option<String>,
    pub township: Option<String>,
    pub mine_id: Option<String>,
    pub active: bool,
    /// The person has not yet replaced the password an administrator set: until they do,
    /// only their own account (`/api/v1/me`, `/api/v1/me/password`) answers.
    pub must_change_password: bool,
    /// 执法证号, shown on inspection notices.
    pub certificate_number: String,
    /// Set while the account is locked after repeated wrong passwords.
    pub locked_until: Option<String>,
    pub failed_logins: i32,
    pub last_login_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i32,
}

/// The part of an account recorded in the audit trail.
fn audit_view(u: &User) -> serde_json::Value {
    serde_json::json!({
        "username": u.username, "display_name": u.display_name, "email": u.email,
        "role": u.role, "department": u.department, "township": u.township,
        "mine_id": u.mine_id, "active": u.active != 0,
        "must_change_password": u.must_change_password != 0,
        "certificate_number": u.certificate_number,
    })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    /// Write-only.
    pub password: String,
    pub display_name: String,
    pub email: Option<String>,
    /// admin | coordinator | officer | head | township | enterprise
    pub role: String,
    /// Department code, for coordinator, officer and head.
    pub department: Option<String>,
    /// Township code, for township users.
    pub township: Option<String>,
    /// The mine an enterprise user belongs to.
    pub mine_id: Option<String>,
    /// Whether the person must set a password of their own at first sign-in before doing
    /// anything else (default: yes, the administrator knows this one).
    #[serde(default)]
    pub must_change_password: Option<bool>,
    /// 执法证号 of an officer who inspects mines.
    #[serde(default)]
    pub certificate_number: Option<String>,
}

/// A partial update: absent fields stay as they are; an empty string clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub department: Option<String>,
    pub township: Option<String>,
    pub mine_id: Option<String>,
    /// 执法证号; empty removes it.
    pub certificate_number: Option<String>,
    /// The version last read; when given, an edit made meanwhile by someone else is a 409.
    pub version: Option<i32>,
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub fn normalise_username(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn check_username(username: &str, errors: &mut Vec<FieldError>) {
    let len = username.chars().count();
    if !(3..=32).contains(&len) {
        errors.push(FieldError::new("username", "用户名长度应为 3 到 32 个字符"));
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        errors.push(FieldError::new(
            "username",
            "用户名只能包含英文字母、数字、下划线、点和连字符",
        ));
    }
}

/// The fields that decide what an account may do, checked together.
struct Binding {
    role: Option<Role>,
    department: Option<String>,
    township: Option<String>,
    mine_id: Option<String>,
}

fn check_binding(
    conn: &mut DbConnection,
    b: &Binding,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let Some(role) = b.role else { return Ok(()) };
    match (&b.department, role.needs_department()) {
        (None, true) => errors.push(FieldError::new(
            "department",
            format!("{}必须选择所属部门", role.label()),
        )),
        (Some(_), false) => errors.push(FieldError::new(
            "department",
            format!("{}不属于部门，请留空", role.label()),
        )),
        (Some(code), true) => {
            let dept = crate::reference::find_department(conn, code)?
                .map(|d| (d.active, d.is_coordination_office));
            match dept {
                None => errors.push(FieldError::new(
                    "department",
                    format!("部门代码 {code} 不存在"),
                )),
                Some((0, _)) => {
                    errors.push(FieldError::new("department", format!("部门 {code} 已停用")))
                }
                Some((_, 0)) if role == Role::Coordinator => errors.push(FieldError::new(
                    "department",
                    "协调办用户必须属于协调机制办公室（区自然资源分局）",
                )),
                _ => {}
            }
        }
        (None, false) => {}
    }
    match (&b.township, role.needs_township()) {
        (None, true) => errors.push(FieldError::new("township", "街镇工作人员必须选择所属街镇")),
        (Some(_), false) => errors.push(FieldError::new(
            "township",
            format!("{}不属于街镇，请留空", role.label()),
        )),
        (Some(code), true) => {
            let active = crate::reference::find_township(conn, code)?.map(|t| t.active);
            match active {
                None => errors.push(FieldError::new(
                    "township",
                    format!("街镇代码 {code} 不存在"),
                )),
                Some(0) => errors.push(FieldError::new("township", format!("街镇 {code} 已停用"))),
                _ => {}
            }
        }
        (None, false) => {}
    }
    match (&b.mine_id, role.needs_mine()) {
        (None, true) => errors.push(FieldError::new("mine_id", "矿山企业用户必须关联一座矿山")),
        (Some(_), false) => errors.push(FieldError::new(
            "mine_id",
            format!("{}不关联矿山，请留空", role.label()),
        )),
        (Some(id), true) => {
            if uuid::Uuid::parse_str(id).is_err() {
                errors.push(FieldError::new("mine_id", "矿山编号格式不正确"));
            }
        }
        (None, false) => {}
    }
    Ok(())
}

/// Validates a new account; the password hash is computed by the caller outside the
/// transaction, since argon2 is deliberately slow.
pub fn validate_new(input: &NewUser, min_password_len: usize) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let username = normalise_username(&input.username);
    check_username(&username, &mut errors);
    if let Err(m) = password::check(&input.password, &username, min_password_len) {
        errors.push(FieldError::new("password", m));
    }
    if input.display_name.trim().is_empty() || input.display_name.chars().count() > 50 {
        errors.push(FieldError::new(
            "display_name",
            "姓名不能为空，且不超过 50 个字符",
        ));
    }
    if let Some(e) = blank_to_none(input.email.clone()) {
        if let Err(m) = check_email(&e) {
            errors.push(FieldError::new("email", m));
        }
    }
    if Role::parse(input.role.trim()).is_none() {
        errors.push(FieldError::new(
            "role",
            "角色只能是 admin、coordinator、officer、head、township 或 enterprise",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every check of a new account, the database ones included, so a form shows all its
/// mistakes at once. `create` repeats the database checks inside its transaction.
pub fn check_new(
    conn: &mut DbConnection,
    input: &NewUser,
    min_password_len: usize,
) -> AppResult<Vec<FieldError>> {
    let mut errors = validate_new(input, min_password_len)
        .err()
        .unwrap_or_default();
    let binding = Binding {
        role: Role::parse(input.role.trim()),
        department: blank_to_none(input.department.clone()),
        township: blank_to_none(input.township.clone()),
        mine_id: blank_to_none(input.mine_id.clone()),
    };
    check_binding(conn, &binding, &mut errors)?;
    let username = normalise_username(&input.username);
    if !errors.iter().any(|e| e.field == "username") && store::username_taken(conn, &username)? {
        errors.push(FieldError::new(
            "username",
            format!("用户名 {username} 已被使用"),
        ));
    }
    Ok(errors)
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: NewUser,
    password_hash: String,
) -> AppResult<User> {
    let username = normalise_username(&input.username);
    let role = Role::parse(input.role.trim());
    let binding = Binding {
        role,
        department: blank_to_none(input.department),
        township: blank_to_none(input.township),
        mine_id: blank_to_none(input.mine_id),
    };
    let mut errors = Vec::new();
    check_binding(conn, &binding, &mut errors)?;
    if store::username_taken(conn, &username)? {
        errors.push(FieldError::new(
            "username",
            format!("用户名 {username} 已被使用"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        username,
        password_hash,
        display_name: input.display_name.trim().to_owned(),
        email: blank_to_none(input.email).map(|e| e.to_lowercase()),
        role: role.ok_or_else(|| AppError::field("role", "未知的角色"))?,
        department: binding.department,
        township: binding.township,
        mine_id: binding.mine_id,
        active: 1,
        token_version: 0,
        failed_logins: 0,
        locked_until: None,
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
        must_change_password: i32::from(input.must_change_password.unwrap_or(true)),
        certificate_number: input
            .certificate_number
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_owned(),
    };
    store::insert(conn, user.clone())?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "user",
            entity_id: &user.id,
            action: "create",
            before: None,
            after: Some(audit_view(&user)),
        },
    )?;
    Ok(user)
}

/// `(id, display name)` of the active officers and heads of a department, by name.
pub fn staff_named(conn: &mut DbConnection, department: &str) -> AppResult<Vec<(String, String)>> {
    store::staff_named(conn, department)
}

/// Display names of the given accounts, by id, in one query per few hundred.
pub fn names(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        out.extend(store::names_of(conn, chunk)?);
    }
    Ok(out)
}

/// Accounts locked now after repeated wrong passwords (at most `limit`).
pub fn locked(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> AppResult<Vec<User>> {
    store::locked(conn, now, limit)
}

/// The accounts with this email address, compared in any case.
pub fn by_email(conn: &mut DbConnection, address: &str) -> AppResult<Vec<User>> {
    store::by_email(conn, address)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<User> {
    store::find(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在。")))
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> AppResult<Option<User>> {
    store::find_by_username(conn, &normalise_username(username))
}

fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    before: &User,
    after: &User,
    action: &str,
) -> AppResult<()> {
    let updated = store::save_versioned(conn, before, after, now)?;
    if !updated {
        return Err(AppError::Conflict(
            "该用户刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "user",
            entity_id: &before.id,
            action,
            before: Some(audit_view(before)),
            after: Some(audit_view(after)),
        },
    )?;
    Ok(())
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    patch: UserPatch,
) -> AppResult<User> {
    let before = find(conn, id)?;
    if patch.version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "该用户刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    let mut errors = Vec::new();
    let mut after = before.clone();
    if let Some(name) = patch.display_name {
        if name.trim().is_empty() || name.chars().count() > 50 {
            errors.push(FieldError::new(
                "display_name",
                "姓名不能为空，且不超过 50 个字符",
            ));
        }
        after.display_name = name.trim().to_owned();
    }
    if let Some(email) = patch.email {
        let email = blank_to_none(Some(email));
        if let Some(e) = &email {
            if let Err(m) = check_email(e) {
                errors.push(FieldError::new("email", m));
            }
        }
        after.email = email.map(|e| e.to_lowercase());
    }
    if let Some(c) = patch.certificate_number {
        let c = c.trim().to_owned();
        if c.chars().count() > 40 {
            errors.push(FieldError::new(
                "certificate_number",
                "执法证号不能超过 40 个字符",
            ));
        }
        after.certificate_number = c;
    }
    let mut role = Some(before.role());
    if let Some(r) = patch.role {
        role = Role::parse(r.trim());
        if role.is_none() {
            errors.push(FieldError::new(
                "role",
                "角色只能是 admin、coordinator、officer、head、township 或 enterprise",
            ));
        } else if before.id == actor.id.clone().unwrap_or_default()
            && role != Some(Role::Admin)
            && before.role() == Role::Admin
        {
            errors.push(FieldError::new("role", "不能取消自己的管理员角色"));
        }
    }
    if let Some(d) = patch.department {
        after.department = blank_to_none(Some(d));
    }
    if let Some(t) = patch.township {
        after.township = blank_to_none(Some(t));
    }
    if let Some(m) = patch.mine_id {
        after.mine_id = blank_to_none(Some(m));
    }
    check_binding(
        conn,
        &Binding {
            role,
            department: after.department.clone(),
            township: after.township.clone(),
            mine_id: after.mine_id.clone(),
        },
        &mut errors,
    )?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(r) = role {
        if r != before.role() {
            // A new role means new permissions: sessions issued under the old one end.
            after.token_version += 1;
        }
        after.role = r;
    }
    save(conn, actor, now, &before, &after, "update")?;
    find(conn, id)
}

/// A person changes their own email address (where notices by email go and whence their
/// emailed whistles are taken); empty removes it.
pub fn set_own_email(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    email: &str,
) -> AppResult<User> {
    let before = find(conn, &who.id)?;
    let email = blank_to_none(Some(email.to_owned())).map(|e| e.to_lowercase());
    if let Some(e) = &email {
        check_email(e).map_err(|m| AppError::field("email", m))?;
    }
    if before.email == email {
        return Ok(before);
    }
    let mut after = before.clone();
    after.email = email;
    save(conn, &who.actor(), now, &before, &after, "update")?;
    find(conn, &who.id)
}

pub fn set_active(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    active: bool,
) -> AppResult<User> {
    let before = find(conn, id)?;
    if !active && actor.id.as_deref() == Some(id) {
        return Err(AppError::Conflict("不能停用自己的账号。".into()));
    }
    if (before.active != 0) == active {
        return Ok(before);
    }
    let mut after = before.clone();
    after.active = i32::from(active);
    if !active {
        after.token_version += 1;
    }
    save(
        conn,
        actor,
        now,
        &before,
        &after,
        if active { "enable" } else { "disable" },
    )?;
    find(conn, id)
}

/// Sets a new password: by an administrator (`must_change`: the person then sets their
/// own at the next sign-in) or by the person themselves.
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    password_hash: String,
    must_change: bool,
) -> AppResult<User> {
    let before = find(conn, id)?;
    let mut after = before.clone();
    after.password_hash = password_hash;
    after.must_change_password = i32::from(must_change);
    after.token_version += 1;
    after.failed_logins = 0;
    after.locked_until = None;
    save(conn, actor, now, &before, &after, "reset_password")?;
    find(conn, id)
}

pub fn unlock(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<User> {
    let before = find(conn, id)?;
    let mut after = before.clone();
    after.failed_logins = 0;
    after.locked_until = None;
    save(conn, actor, now, &before, &after, "unlock")?;
    find(conn, id)
}

/// Ends every session of the user (logout, or "sign out everywhere").
pub fn revoke_sessions(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<()> {
    let before = find(conn, id)?;
    let mut after = before.clone();
    after.token_version += 1;
    save(conn, actor, now, &before, &after, "logout")
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    pub role: Option<String>,
    pub department: Option<String>,
    pub township: Option<String>,
    /// true | false
    pub active: Option<String>,
    /// Part of the username or the name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    /// The username the previous page ended with.
    pub cursor: Option<String>,
}

/// Accounts ordered by username, keyset-paginated.
pub fn list(conn: &mut DbConnection, q: &UserQuery) -> AppResult<(Vec<User>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let role = match q.role.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(Role::parse(r).ok_or_else(|| AppError::field("role", "未知的角色"))?),
        None => None,
    };
    let active = match q.active.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::field("active", "只能是 true 或 false")),
    };
    crate::platform::rules::search::query(q.q.as_deref()).map_err(|m| AppError::field("q", m))?;
    let mut rows = store::page(conn, q, role, active, limit + 1)?;
    let next = pagination::next_cursor(&mut rows, limit, |u| u.username.clone());
    Ok((rows, next))
}

/// What a login attempt came to, decided inside one transaction.
pub enum LoginOutcome {
    Success(Box<User>),
    WrongPassword { now_locked: bool },
    Locked { until: NaiveDateTime },
    Disabled,
    UnknownUser,
}

pub struct LoginPolicy {
    pub max_failed: u32,
    pub lockout: chrono::Duration,
}

/// Records the result of a password check, deciding in one transaction on the row as it
/// is now: failure counts, the lock, the last login. The password itself is verified by
/// the caller beforehand, outside any transaction (argon2 is deliberately slow).
pub fn record_login(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: &str,
    password_ok: bool,
    clean_source: bool,
    policy: &LoginPolicy,
) -> AppResult<LoginOutcome> {
    let user = find(conn, user_id)?;
    // The right password from a source that has not failed lifts the lock (below, with
    // the counter); anything else meets the lock.
    if let Some(until) = user.locked_until.filter(|t| *t > now) {
        if !(password_ok && clean_source) {
            return Ok(LoginOutcome::Locked { until });
        }
    }
    if !password_ok {
        // Counted in the database, not read and written back: parallel failures each
        // add one (the update holds the row until the transaction ends), so no more
        // than `max_failed` guesses fit before the lock.
        let counted = store::count_failure(conn, &user.id, now)?;
        let after = find(conn, &user.id)?;
        if !counted {
            // Another attempt locked the account in the meantime.
            return Ok(match after.locked_until {
                Some(until) => LoginOutcome::Locked { until },
                None => LoginOutcome::WrongPassword { now_locked: false },
            });
        }
        let lock = after.failed_logins as u32 >= policy.max_failed;
        let until = lock.then(|| now + policy.lockout);
        if let Some(until) = until {
            store::lock(conn, &user.id, until)?;
            audit::record(
                conn,
                &Actor::system("登录保护"),
                now,
                Change {
                    entity_type: "user",
                    entity_id: &user.id,
                    action: "lock",
                    before: None,
                    after: Some(
                        serde_json::json!({ "locked_until": until.and_utc().to_rfc3339(), "reason": "连续输错密码" }),
                    ),
                },
            )?;
        }
        return Ok(LoginOutcome::WrongPassword { now_locked: lock });
    }
    if user.active == 0 {
        return Ok(LoginOutcome::Disabled);
    }
    store::signed_in_at(conn, &user.id, now)?;
    Ok(LoginOutcome::Success(Box::new(user)))
}

/// On first start with no accounts, creates `admin`. Returns the password when it was generated.
pub fn bootstrap_admin(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    configured: Option<&str>,
    min_len: usize,
) -> AppResult<Option<Option<String>>> {
    let count = store::count(conn)?;
    if count > 0 {
        return Ok(None);
    }
    let (password, generated) = match configured.filter(|p| !p.is_empty()) {
        Some(p) => {
            password::check(p, "admin", min_len)
                .map_err(|m| AppError::field("bootstrap.admin_password", m))?;
            (p.to_owned(), false)
        }
        None => (crate::platform::auth::random_password(), true),
    };
    let hash = crate::platform::auth::hash_password(&password)?;
    let input = NewUser {
        username: "admin".into(),
        password: String::new(),
        display_name: "系统管理员".into(),
        email: None,
        role: "admin".into(),
        department: None,
        township: None,
        mine_id: None,
        must_change_password: Some(false),
        certificate_number: None,
    };
    create(conn, &Actor::system("系统初始化"), now, input, hash)?;
    Ok(Some(generated.then_some(password)))
}

/// The people who may inspect: active officers and heads with a 执法证号, as
/// `(id, name, department, certificate)`.
pub fn certified(conn: &mut DbConnection) -> AppResult<Vec<(String, String, String, String)>> {
    Ok(store::certified(conn)?
        .into_iter()
        .map(|(id, name, d, c)| (id, name, d.unwrap_or_default(), c))
        .collect())
}

/// An active account by id, or None.
pub fn find_active(conn: &mut DbConnection, id: &str) -> AppResult<Option<User>> {
    Ok(store::find(conn, id)?.filter(|u| u.active != 0))
}

/// The signed-in user by id, as the web layer's extractor needs it (handed to it through
/// `web::Directory`, so that `web` does not name this capability).
pub fn signed_in(conn: &mut DbConnection, id: &str) -> AppResult<crate::web::SignedIn> {
    let user = find(conn, id)?;
    Ok(crate::web::SignedIn {
        principal: user.principal(),
        active: user.active != 0,
        token_version: user.token_version,
        must_change_password: user.must_change_password != 0,
    })
}
