//! The notices' storage: the only file that names `notifications`, `outbox` and
//! `notification_preferences`. The rules about who is told what, and when a message is
//! retried, live in `notify` and `notify::outbox`; here is only how rows are read and
//! written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::platform::db::schema::{notification_preferences, notifications, outbox};
use crate::platform::db::{insert_rows, DbConnection};
use crate::platform::error::AppResult;

crate::platform::db::literal_condition!(
    /// The message could not be delivered: the condition of `outbox_dead_link_idx`.
    DeadMessage on outbox::status = "outbox.status = 'dead'"
);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    #[diesel(serialize_as = String)]
    pub kind: super::NoticeKind,
    pub title: String,
    pub body: String,
    /// The page of the item.
    pub link: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub read_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct OutboxMessage {
    pub id: String,
    /// Stable Message-ID, e.g. `<uuid@minecoord>`: a repeated send is recognisable.
    pub message_id: String,
    pub recipient: String,
    pub user_id: Option<String>,
    #[diesel(serialize_as = String)]
    pub kind: super::NoticeKind,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// pending | sent | dead | cancelled
    pub status: String,
    pub attempts: i32,
    #[schema(value_type = String)]
    pub next_attempt_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub lease_until: Option<NaiveDateTime>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    #[schema(value_type = String)]
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub sent_at: Option<NaiveDateTime>,
    #[schema(value_type = String)]
    pub updated_at: NaiveDateTime,
    /// A meeting invitation's iCalendar, sent as a text/calendar part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// The page the message is about (the notice's link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

// ---- inbox ----

/// Writes the notices in one statement, kept prepared for up to
/// [`crate::platform::db::KEPT_BATCH_ROWS`] of them.
pub fn insert_notifications(conn: &mut DbConnection, rows: Vec<Notification>) -> AppResult<()> {
    insert_rows!(conn, notifications::table, rows)?;
    Ok(())
}

/// One keyset segment of a user's inbox (unread or read), newest first, after `after`.
pub fn inbox_segment(
    conn: &mut DbConnection,
    user_id: &str,
    read: bool,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> AppResult<Vec<Notification>> {
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user_id.to_owned()))
        .select(Notification::as_select())
        .into_boxed();
    query = if read {
        query.filter(notifications::read_at.is_not_null())
    } else {
        query.filter(notifications::read_at.is_null())
    };
    if let Some((t, id)) = after {
        query = query.filter(
            notifications::created_at.lt(t).or(notifications::created_at
                .eq(t)
                .and(notifications::id.lt(id))),
        );
    }
    Ok(query
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit)
        .load(conn)?)
}

pub fn unread_count(conn: &mut DbConnection, user_id: &str) -> AppResult<i64> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// The page a notice of this user links to, if the user has that notice.
pub fn link_of(conn: &mut DbConnection, user_id: &str, id: &str) -> AppResult<Option<String>> {
    Ok(notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user_id))
        .select(notifications::link)
        .first(conn)
        .optional()?)
}

/// Marks the user's unread notices read: one (`Some(id)`) or all.
pub fn set_read(
    conn: &mut DbConnection,
    user_id: &str,
    id: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let base = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null());
    Ok(match id {
        Some(id) => diesel::update(base.filter(notifications::id.eq(id)))
            .set(notifications::read_at.eq(now))
            .execute(conn)?,
        None => diesel::update(base)
            .set(notifications::read_at.eq(now))
            .execute(conn)?,
    })
}

/// Marks read the user's unread notices about one record.
pub fn set_read_about(
    conn: &mut DbConnection,
    user_id: &str,
    entity_type: &str,
    entity_id: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::entity_type.eq(entity_type))
            .filter(notifications::entity_id.eq(entity_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)?)
}

// ---- email preferences ----

/// Those among `users` who turned email off for the kind.
pub fn email_off_for(
    conn: &mut DbConnection,
    users: &[String],
    kind: &str,
) -> AppResult<Vec<String>> {
    Ok(notification_preferences::table
        .filter(notification_preferences::user_id.eq_any(users))
        .filter(notification_preferences::kind.eq(kind))
        .filter(notification_preferences::email.eq(0))
        .select(notification_preferences::user_id)
        .load(conn)?)
}

/// The kinds the user turned email off for.
pub fn kinds_off(conn: &mut DbConnection, user_id: &str) -> AppResult<Vec<String>> {
    Ok(notification_preferences::table
        .filter(notification_preferences::user_id.eq(user_id))
        .filter(notification_preferences::email.eq(0))
        .select(notification_preferences::kind)
        .load(conn)?)
}

pub fn set_email(conn: &mut DbConnection, user_id: &str, kind: &str, email: bool) -> AppResult<()> {
    let value = i32::from(email);
    let updated = diesel::update(notification_preferences::table.find((user_id, kind)))
        .set(notification_preferences::email.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(notification_preferences::table)
            .values((
                notification_preferences::user_id.eq(user_id),
                notification_preferences::kind.eq(kind),
                notification_preferences::email.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

// ---- outbox ----

/// Queues the messages in statements kept prepared (as [`insert_notifications`]).
pub fn insert_outbox(conn: &mut DbConnection, rows: Vec<OutboxMessage>) -> AppResult<()> {
    insert_rows!(conn, outbox::table, rows)?;
    Ok(())
}

/// Leases up to `limit` due messages to `worker` until `until` and returns them. On
/// PostgreSQL the rows are locked with SKIP LOCKED so concurrent instances take different
/// messages; SQLite has one writer, which the caller's transaction already holds.
pub fn lease_due(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<OutboxMessage>> {
    let ids: Vec<String> = match conn {
        DbConnection::Pg(c) => outbox::table
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt(now)),
            )
            .order(outbox::next_attempt_at.asc())
            .limit(limit)
            .select(outbox::id)
            .for_update()
            .skip_locked()
            .load(c)?,
        DbConnection::Sqlite(c) => outbox::table
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt(now)),
            )
            .order(outbox::next_attempt_at.asc())
            .limit(limit)
            .select(outbox::id)
            .load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
        .set((
            outbox::lease_until.eq(until),
            outbox::leased_by.eq(worker),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::id.eq_any(&ids))
        .select(OutboxMessage::as_select())
        .load(conn)?)
}

pub fn set_sent(conn: &mut DbConnection, ids: &[String], now: NaiveDateTime) -> AppResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(now),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: the new status, count and next time, and the error (cut to 500).
pub fn set_failed(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    error: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(status),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error.chars().take(500).collect::<String>()),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Pending again from now, attempts from zero.
pub fn set_pending(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_cancelled(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("cancelled"),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One page of the outbox, newest first, with one row more than `limit` if there is more.
pub fn outbox_page(
    conn: &mut DbConnection,
    status: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> AppResult<Vec<OutboxMessage>> {
    let mut query = outbox::table
        .select(OutboxMessage::as_select())
        .into_boxed();
    if let Some(s) = status {
        query = query.filter(outbox::status.eq(s.to_owned()));
    }
    if let Some(c) = before_id {
        query = query.filter(outbox::id.lt(c.to_owned()));
    }
    Ok(query.order(outbox::id.desc()).limit(limit).load(conn)?)
}

pub fn find_message(conn: &mut DbConnection, id: &str) -> AppResult<Option<OutboxMessage>> {
    Ok(outbox::table
        .find(id)
        .select(OutboxMessage::as_select())
        .first(conn)
        .optional()?)
}

/// The subjects of the messages with these Message-IDs.
pub fn subjects_of(conn: &mut DbConnection, message_ids: &[String]) -> AppResult<Vec<String>> {
    Ok(outbox::table
        .filter(outbox::message_id.eq_any(message_ids))
        .select(outbox::subject)
        .load(conn)?)
}

/// Counts by status.
pub fn counts(conn: &mut DbConnection) -> AppResult<Vec<(String, i64)>> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// `(recipient, last error)` of the messages about `link` that could not be delivered.
pub fn dead_for(conn: &mut DbConnection, link: &str) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(outbox::table
        .filter(outbox::link.eq(link))
        .filter(DeadMessage)
        .order(outbox::updated_at.desc())
        .select((outbox::recipient, outbox::last_error))
        .limit(100)
        .load(conn)?)
}

crate::platform::db::kept_sql! {
    /// One notice in many inboxes, as one statement on PostgreSQL whatever their number
    /// (the ids in arrays), so that it stays prepared and can join a chain of statements
    /// (`platform::db::Chained`).
    pub struct NotificationsIn {
        kind: String as diesel::sql_types::Text,
        title: String as diesel::sql_types::Text,
        body: String as diesel::sql_types::Text,
        link: String as diesel::sql_types::Text,
        entity_type: String as diesel::sql_types::Text,
        entity_id: String as diesel::sql_types::Text,
        created_at: NaiveDateTime as diesel::sql_types::Timestamp,
        ids: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
        users: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
    }
    "INSERT INTO notifications \
     (id, user_id, kind, title, body, link, entity_type, entity_id, created_at, read_at) \
     SELECT n.id, n.user_id, {}, {}, {}, {}, {}, {}, {}, NULL FROM unnest({}, {}) AS n (id, user_id)"
}

crate::platform::db::kept_sql! {
    /// One message queued to many addresses, as one statement on PostgreSQL whatever their
    /// number (as [`NotificationsIn`]); the columns `OutboxMessage` sets for a new message.
    pub struct OutboxIn {
        kind: String as diesel::sql_types::Text,
        subject: String as diesel::sql_types::Text,
        body_text: String as diesel::sql_types::Text,
        body_html: String as diesel::sql_types::Text,
        status: String as diesel::sql_types::Text,
        attempts: i32 as diesel::sql_types::Integer,
        next_attempt_at: NaiveDateTime as diesel::sql_types::Timestamp,
        created_at: NaiveDateTime as diesel::sql_types::Timestamp,
        updated_at: NaiveDateTime as diesel::sql_types::Timestamp,
        calendar: Option<String> as diesel::sql_types::Nullable<diesel::sql_types::Text>,
        link: Option<String> as diesel::sql_types::Nullable<diesel::sql_types::Text>,
        ids: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
        message_ids: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
        recipients: Vec<String> as diesel::sql_types::Array<diesel::sql_types::Text>,
        users: Vec<Option<String>> as diesel::sql_types::Array<diesel::sql_types::Nullable<diesel::sql_types::Text>>,
    }
    "INSERT INTO outbox \
     (id, message_id, recipient, user_id, kind, subject, body_text, body_html, status, attempts, \
      next_attempt_at, lease_until, leased_by, last_error, created_at, sent_at, updated_at, \
      calendar, link) \
     SELECT m.id, m.message_id, m.recipient, m.user_id, {}, {}, {}, {}, {}, {}, \
      {}, NULL, NULL, NULL, {}, NULL, {}, {}, {} \
     FROM unnest({}, {}, {}, {}) AS m (id, message_id, recipient, user_id)"
}

impl NotificationsIn {
    /// The rows as one statement, when they differ only in their ids and inboxes (one
    /// notice to many people).
    pub fn of(rows: Vec<Notification>) -> Option<Self> {
        let first = rows.first()?;
        let same = |r: &Notification| {
            (
                r.kind,
                &r.title,
                &r.body,
                &r.link,
                &r.entity_type,
                &r.entity_id,
                r.created_at,
            ) == (
                first.kind,
                &first.title,
                &first.body,
                &first.link,
                &first.entity_type,
                &first.entity_id,
                first.created_at,
            ) && r.read_at.is_none()
        };
        if !rows.iter().all(same) {
            return None;
        }
        let mut statement = Self {
            kind: first.kind.into(),
            title: first.title.clone(),
            body: first.body.clone(),
            link: first.link.clone(),
            entity_type: first.entity_type.clone(),
            entity_id: first.entity_id.clone(),
            created_at: first.created_at,
            ids: Vec::with_capacity(rows.len()),
            users: Vec::with_capacity(rows.len()),
        };
        for r in rows {
            statement.ids.push(r.id);
            statement.users.push(r.user_id);
        }
        Some(statement)
    }
}

impl OutboxIn {
    /// The messages as one statement, when they differ only in their ids and addressees
    /// (one message to many people), or nothing to insert: `None` otherwise.
    pub fn of(rows: Vec<OutboxMessage>) -> Option<Self> {
        let Some(first) = rows.first() else {
            return Some(Self::nothing());
        };
        let shared = |r: &OutboxMessage| {
            r.kind == first.kind
                && r.subject == first.subject
                && r.body_text == first.body_text
                && r.body_html == first.body_html
                && r.status == first.status
                && r.attempts == first.attempts
                && r.next_attempt_at == first.next_attempt_at
                && r.created_at == first.created_at
                && r.updated_at == first.updated_at
                && r.calendar == first.calendar
                && r.link == first.link
        };
        let fresh = |r: &OutboxMessage| {
            r.lease_until.is_none()
                && r.leased_by.is_none()
                && r.last_error.is_none()
                && r.sent_at.is_none()
        };
        if !rows.iter().all(|r| shared(r) && fresh(r)) {
            return None;
        }
        let mut statement = Self {
            kind: first.kind.into(),
            subject: first.subject.clone(),
            body_text: first.body_text.clone(),
            body_html: first.body_html.clone(),
            status: first.status.clone(),
            attempts: first.attempts,
            next_attempt_at: first.next_attempt_at,
            created_at: first.created_at,
            updated_at: first.updated_at,
            calendar: first.calendar.clone(),
            link: first.link.clone(),
            ids: Vec::with_capacity(rows.len()),
            message_ids: Vec::with_capacity(rows.len()),
            recipients: Vec::with_capacity(rows.len()),
            users: Vec::with_capacity(rows.len()),
        };
        for r in rows {
            statement.ids.push(r.id);
            statement.message_ids.push(r.message_id);
            statement.recipients.push(r.recipient);
            statement.users.push(r.user_id);
        }
        Some(statement)
    }

    /// A statement that queues no message.
    fn nothing() -> Self {
        Self {
            kind: String::new(),
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            status: String::new(),
            attempts: 0,
            next_attempt_at: NaiveDateTime::default(),
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            calendar: None,
            link: None,
            ids: Vec::new(),
            message_ids: Vec::new(),
            recipients: Vec::new(),
            users: Vec::new(),
        }
    }
}
