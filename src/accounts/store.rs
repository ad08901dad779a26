//! The accounts' storage: the only file that names `users`. The checks on an account and
//! who is told of what live beside it (`accounts`, `accounts::recipients`); here is only
//! how rows are read and written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::UserQuery;
use crate::platform::db::schema::users;
use crate::platform::db::{DbConnection, MultiBackend};
use crate::platform::error::AppResult;
use crate::platform::rules::role::Role;
use crate::platform::rules::search;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub email: Option<String>,
    #[diesel(serialize_as = String)]
    pub role: Role,
    pub department: Option<String>,
    pub township: Option<String>,
    pub mine_id: Option<String>,
    pub active: i32,
    pub token_version: i32,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// 1 until the person sets a password of their own after an administrator set one.
    pub must_change_password: i32,
    /// 执法证号: the enforcement certificate an inspector shows (empty for others).
    pub certificate_number: String,
}

// ---- one account ----

pub fn username_taken(conn: &mut DbConnection, username: &str) -> AppResult<bool> {
    let n: i64 = users::table
        .filter(users::username.eq(username))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut DbConnection, user: User) -> AppResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    Ok(())
}

pub fn count(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// The accounts with this email address, compared in any case.
pub fn by_email(conn: &mut DbConnection, address: &str) -> AppResult<Vec<User>> {
    Ok(users::table
        .filter(lower(users::email.nullable()).eq(address.to_lowercase()))
        .select(User::as_select())
        .load(conn)?)
}

/// Writes `after` over the row if it is still at `before.version`; false if it was not.
pub fn save_versioned(
    conn: &mut DbConnection,
    before: &User,
    after: &User,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let updated = diesel::update(
        users::table
            .find(&before.id)
            .filter(users::version.eq(before.version)),
    )
    .set((
        users::display_name.eq(&after.display_name),
        users::email.eq(&after.email),
        users::role.eq(after.role.code()),
        users::department.eq(&after.department),
        users::township.eq(&after.township),
        users::mine_id.eq(&after.mine_id),
        users::active.eq(after.active),
        users::token_version.eq(after.token_version),
        users::password_hash.eq(&after.password_hash),
        users::failed_logins.eq(after.failed_logins),
        users::locked_until.eq(after.locked_until),
        users::must_change_password.eq(after.must_change_password),
        users::certificate_number.eq(&after.certificate_number),
        users::updated_at.eq(now),
        users::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Adds one failed sign-in, in SQL, unless the account is locked at `now`: parallel
/// failures each add one (the update holds the row until the transaction ends). False if
/// the account was locked meanwhile.
pub fn count_failure(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> AppResult<bool> {
    let not_locked = users::locked_until
        .is_null()
        .or(users::locked_until.le(now));
    let counted = diesel::update(users::table.find(id).filter(not_locked))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)?;
    Ok(counted > 0)
}

pub fn lock(conn: &mut DbConnection, id: &str, until: NaiveDateTime) -> AppResult<()> {
    diesel::update(users::table.find(id))
        .set((users::failed_logins.eq(0), users::locked_until.eq(until)))
        .execute(conn)?;
    Ok(())
}

pub fn signed_in_at(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::last_login_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Accounts whose username or name holds `text`, case aside: read from the trigram
/// indexes (`users_*_trgm_idx` on PostgreSQL, `users_fts` on SQLite) when `text` has three
/// characters or more, else a scan kept away from the indexes, which cannot answer it.
/// On SQLite a phrase in more than [`crate::platform::db::FTS_MOST`] rows is matched along
/// the list's order instead (PostgreSQL's planner makes that choice itself).
fn text_matches(
    conn: &mut DbConnection,
    text: &str,
) -> AppResult<Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = Bool>>> {
    use crate::platform::db::TextPath;
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    Ok(
        match crate::platform::db::text_path(conn, "users_fts", text)? {
            TextPath::PgTrigram => {
                let pattern = search::like_pattern(text);
                Box::new(
                    sql::<Bool>("(users.username ILIKE ")
                        .bind::<Text, _>(pattern.clone())
                        .sql(" ESCAPE '\\' OR users.display_name ILIKE ")
                        .bind::<Text, _>(pattern)
                        .sql(" ESCAPE '\\')"),
                )
            }
            TextPath::PgScan => Box::new(
                sql::<Bool>("(strpos(lower(users.username), lower(")
                    .bind::<Text, _>(text.to_owned())
                    .sql(")) > 0 OR strpos(lower(users.display_name), lower(")
                    .bind::<Text, _>(text.to_owned())
                    .sql(")) > 0)"),
            ),
            TextPath::SqliteFts => Box::new(
                sql::<Bool>("users.rowid IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ")
                    .bind::<Text, _>(search::fts_phrase(text))
                    .sql(")"),
            ),
            TextPath::SqliteScan => {
                let pattern = search::like_pattern(text);
                Box::new(
                    users::username
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::display_name.like(pattern).escape('\\')),
                )
            }
        },
    )
}

/// One page of accounts by username, one row more than `limit` if there is more. The
/// filters are checked by the caller.
pub fn page(
    conn: &mut DbConnection,
    q: &UserQuery,
    role: Option<Role>,
    active: Option<bool>,
    limit: i64,
) -> AppResult<Vec<User>> {
    let mut query = users::table.select(User::as_select()).into_boxed();
    if let Some(role) = role {
        query = query.filter(users::role.eq(role.code()));
    }
    if let Some(d) = q.department.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(users::department.eq(d.to_owned()));
    }
    if let Some(t) = q.township.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(users::township.eq(t.to_owned()));
    }
    if let Some(a) = active {
        query = query.filter(users::active.eq(i32::from(a)));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(text_matches(conn, text)?);
    }
    if let Some(c) = q.cursor.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(users::username.gt(c.to_owned()));
    }
    let query = query.order(users::username.asc()).limit(limit);
    if q.q.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return crate::platform::db::with_custom_plans(conn, |c| Ok(query.load(c)?));
    }
    Ok(query.load(conn)?)
}

// ---- audiences (active accounts only) ----

/// `(id, email)` of the active accounts among `ids`.
pub fn mail_addresses(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .filter(users::active.eq(1))
        .select((users::id, users::email))
        .load(conn)?)
}

pub fn with_role(conn: &mut DbConnection, role: Role) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq(role.code()))
        .select(users::id)
        .load(conn)?)
}

/// The heads of a department.
pub fn heads_of(conn: &mut DbConnection, department: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq(Role::Head.code()))
        .filter(users::department.eq(department))
        .select(users::id)
        .load(conn)?)
}

/// Officers and heads of the departments.
pub fn staff_of(conn: &mut DbConnection, departments: &[String]) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any([Role::Officer.code(), Role::Head.code()]))
        .filter(users::department.eq_any(departments))
        .select(users::id)
        .load(conn)?)
}

/// Officers and heads of the departments and the coordination office, in one query.
/// `(id, email)` of each: what a notice's audience needs of them, in one query.
pub fn staff_of_and_coordinators(
    conn: &mut DbConnection,
    departments: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(
            users::role
                .eq_any([Role::Officer.code(), Role::Head.code()])
                .and(users::department.eq_any(departments))
                .or(users::role.eq(Role::Coordinator.code())),
        )
        .select((users::id, users::email))
        .load(conn)?)
}

/// Officers and heads of every department but `except`.
pub fn staff_outside(conn: &mut DbConnection, except: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any([Role::Officer.code(), Role::Head.code()]))
        .filter(users::department.ne(except))
        .select(users::id)
        .load(conn)?)
}

/// `(id, department)` of every officer and head.
pub fn all_staff(conn: &mut DbConnection) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any([Role::Officer.code(), Role::Head.code()]))
        .select((users::id, users::department))
        .load(conn)?)
}

/// The township users of a township.
pub fn township_staff(conn: &mut DbConnection, township: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq(Role::Township.code()))
        .filter(users::township.eq(township))
        .select(users::id)
        .load(conn)?)
}

/// `(id, mine)` of the enterprise users of the mines (at most a few hundred at a time).
pub fn enterprise_users_of(
    conn: &mut DbConnection,
    mines: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq(Role::Enterprise.code()))
        .filter(users::mine_id.eq_any(mines))
        .select((users::id, users::mine_id))
        .load(conn)?)
}

/// Accounts locked at `now` after repeated wrong passwords, soonest unlocked last; at most
/// `limit`.
pub fn locked(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> AppResult<Vec<User>> {
    Ok(users::table
        .filter(users::locked_until.gt(now))
        .order(users::locked_until.desc())
        .select(User::as_select())
        .limit(limit)
        .load(conn)?)
}

/// `(id, display name)` of the officers and heads of a department, by name.
pub fn staff_named(conn: &mut DbConnection, department: &str) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any([Role::Officer.code(), Role::Head.code()]))
        .filter(users::department.eq(department))
        .order(users::display_name.asc())
        .select((users::id, users::display_name))
        .limit(500)
        .load(conn)?)
}

/// `(id, name, department, certificate)` of one person who may inspect.
pub type Certified = (String, String, Option<String>, String);

/// Active officers and heads with an enforcement certificate, by department and name.
pub fn certified(conn: &mut DbConnection) -> AppResult<Vec<Certified>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any([Role::Officer.code(), Role::Head.code()]))
        .filter(users::certificate_number.ne(""))
        .order((users::department, users::display_name))
        .select((
            users::id,
            users::display_name,
            users::department,
            users::certificate_number,
        ))
        .limit(2000)
        .load(conn)?)
}

/// `(id, display name)` of the accounts among `ids` (a few hundred at a time).
pub fn names_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(conn)?)
}
