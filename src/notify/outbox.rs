//! The email outbox: every notice that should also go by email is queued here in the
//! transaction of the change, and a worker in the service delivers it over SMTP (lettre)
//! with retries, exponential backoff and a dead-letter state. A message is claimed with a
//! lease before sending, so several instances on one PostgreSQL database send it once;
//! a crash between sending and recording may repeat a message, never lose one.

use askama::Template;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::db::schema::{notification_preferences, outbox};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination;

/// The placeholder for `http.public_base_url`, filled in when the message is sent.
pub const BASE: &str = "{{BASE}}";
/// The placeholder for the footer line on replying, filled in when the message is sent:
/// whether a reply reaches the lead depends on the intake being on at that time.
pub const REPLY: &str = "{{REPLY}}";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: String,
    /// Stable Message-ID, e.g. `<uuid@minecoord>`: a repeated send is recognisable.
    pub message_id: String,
    pub recipient: String,
    pub user_id: Option<String>,
    #[diesel(serialize_as = String)]
    pub kind: crate::notify::NoticeKind,
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
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    title: &'a str,
    body: &'a str,
    base: &'a str,
    link: &'a str,
    reply: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    title: &'a str,
    body: &'a str,
    base: &'a str,
    link: &'a str,
    reply: &'a str,
}

/// Where the outbox finds the recipients' addresses: `(id, email)` of the active accounts
/// among the ids. Handed down by `app::startup` (`accounts::mail_addresses`), so that the
/// outbox never names the accounts' table.
pub type AddressBook = fn(&mut DbConnection, &[String]) -> AppResult<Vec<(String, Option<String>)>>;

static ADDRESS_BOOK: std::sync::OnceLock<AddressBook> = std::sync::OnceLock::new();

/// Sets the address book, once per process (later calls keep the first).
pub fn set_address_book(book: AddressBook) {
    let _ = ADDRESS_BOOK.set(book);
}

/// The addresses of the active accounts among `ids`.
pub fn addresses(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    let book = ADDRESS_BOOK
        .get()
        .ok_or_else(|| AppError::internal("outbox address book not set at start"))?;
    book(conn, ids)
}

/// Queues the email form of a notice for each recipient who has an address and has not
/// turned this kind of notice off. Call in the transaction that writes the notice.
pub fn enqueue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    recipients: &[String],
    kind: crate::notify::NoticeKind,
    title: &str,
    body: &str,
    link: &str,
) -> AppResult<usize> {
    if recipients.is_empty() {
        return Ok(0);
    }
    let addresses = addresses(conn, recipients)?;
    let opted_out: Vec<String> = notification_preferences::table
        .filter(notification_preferences::user_id.eq_any(recipients))
        .filter(notification_preferences::kind.eq(kind.code()))
        .filter(notification_preferences::email.eq(0))
        .select(notification_preferences::user_id)
        .load(conn)?;
    let text = NoticeText {
        title,
        body,
        base: BASE,
        link,
        reply: REPLY,
    }
    .render()
    .map_err(AppError::internal)?;
    let html = NoticeHtml {
        title,
        body,
        base: BASE,
        link,
        reply: REPLY,
    }
    .render()
    .map_err(AppError::internal)?;
    let rows: Vec<OutboxMessage> = addresses
        .into_iter()
        .filter(|(id, _)| !opted_out.contains(id))
        .filter_map(|(id, email)| email.filter(|e| !e.is_empty()).map(|e| (id, e)))
        .map(|(id, email)| {
            let mid = uuid::Uuid::now_v7();
            OutboxMessage {
                id: mid.to_string(),
                message_id: format!("<{}@minecoord>", mid.simple()),
                recipient: email,
                user_id: Some(id),
                kind,
                subject: format!("【矿山协调】{title}"),
                body_text: text.clone(),
                body_html: html.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                lease_until: None,
                leased_by: None,
                last_error: None,
                created_at: now,
                sent_at: None,
                updated_at: now,
            }
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    // Per-backend branch: MultiConnection has no batch insert, each backend's connection does.
    let queued = rows.len();
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(outbox::table).values(rows).execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(outbox::table).values(rows).execute(c)?,
    };
    Ok(queued)
}

/// Claims up to `limit` due messages for `worker` until `lease`. On PostgreSQL the rows are
/// locked with SKIP LOCKED so concurrent instances take different messages; a claim whose
/// lease ran out (its instance died) is claimable again.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> AppResult<Vec<OutboxMessage>> {
    let until = now + lease;
    let ids: Vec<String> = match conn {
        // Per-backend branch: FOR UPDATE SKIP LOCKED exists on PostgreSQL only; SQLite
        // has one writer, which the caller's transaction already holds.
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

/// Records the messages as sent, in one statement.
pub fn mark_sent(conn: &mut DbConnection, ids: &[String], now: NaiveDateTime) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
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

/// Records a failed attempt: retried after 1, 2, 4, 8 … minutes (capped at 6 h), and
/// dead-lettered after `max_attempts`.
pub fn mark_failed(
    conn: &mut DbConnection,
    msg: &OutboxMessage,
    error: &str,
    now: NaiveDateTime,
    max_attempts: i32,
) -> AppResult<()> {
    let attempts = msg.attempts + 1;
    let backoff = Duration::minutes(1i64 << (attempts - 1).clamp(0, 9)).min(Duration::hours(6));
    let status = if attempts >= max_attempts {
        "dead"
    } else {
        "pending"
    };
    diesel::update(outbox::table.find(&msg.id))
        .set((
            outbox::status.eq(status),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(now + backoff),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error.chars().take(500).collect::<String>()),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// pending | sent | dead | cancelled
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The outbox, newest first.
pub fn list(
    conn: &mut DbConnection,
    q: &OutboxQuery,
) -> AppResult<(Vec<OutboxMessage>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let mut query = outbox::table
        .select(OutboxMessage::as_select())
        .into_boxed();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        if !["pending", "sent", "dead", "cancelled"].contains(&s) {
            return Err(AppError::field(
                "status",
                "只能是 pending、sent、dead 或 cancelled",
            ));
        }
        query = query.filter(outbox::status.eq(s.to_owned()));
    }
    if let Some(c) = q.cursor.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(outbox::id.lt(c.to_owned()));
    }
    let mut rows: Vec<OutboxMessage> =
        query.order(outbox::id.desc()).limit(limit + 1).load(conn)?;
    let next = pagination::next_cursor(&mut rows, limit, |m| m.id.clone());
    Ok((rows, next))
}

/// Brief form of a message for the audit trail (no bodies).
fn audit_view(m: &OutboxMessage) -> serde_json::Value {
    serde_json::json!({
        "recipient": m.recipient,
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "message_id": m.message_id,
    })
}

/// The subjects of the messages with these Message-IDs (the notices a reply answers).
pub fn subjects_of(conn: &mut DbConnection, message_ids: &[String]) -> AppResult<Vec<String>> {
    Ok(outbox::table
        .filter(outbox::message_id.eq_any(message_ids))
        .select(outbox::subject)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<OutboxMessage> {
    outbox::table
        .find(id)
        .select(OutboxMessage::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("没有这封邮件。".into()))
}

/// An admin sends a message again now: a dead-lettered or cancelled one, or a pending one
/// without waiting for its backoff. The attempts start again from zero.
pub fn retry(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<OutboxMessage> {
    let before = find(conn, id)?;
    if before.status == "sent" {
        return Err(AppError::InvalidTransition(
            "这封邮件已发送，无需重新发送。".into(),
        ));
    }
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    let after = find(conn, id)?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "outbox",
            entity_id: id,
            action: "retry",
            before: Some(audit_view(&before)),
            after: Some(audit_view(&after)),
        },
    )?;
    Ok(after)
}

/// An admin cancels a message not yet sent; it stays in the outbox, marked cancelled.
pub fn cancel(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<OutboxMessage> {
    let before = find(conn, id)?;
    match before.status.as_str() {
        "sent" => {
            return Err(AppError::InvalidTransition(
                "这封邮件已发送，不能取消。".into(),
            ))
        }
        "cancelled" => return Err(AppError::InvalidTransition("这封邮件已经取消。".into())),
        _ => {}
    }
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("cancelled"),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    let after = find(conn, id)?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "outbox",
            entity_id: id,
            action: "cancel",
            before: Some(audit_view(&before)),
            after: Some(audit_view(&after)),
        },
    )?;
    Ok(after)
}

/// Counts by status, for the outbox page and `/readyz`.
pub fn counts(conn: &mut DbConnection) -> AppResult<Vec<(String, i64)>> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// One kind of notice and whether the user gets it by email too.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preference {
    pub kind: &'static str,
    pub label: &'static str,
    pub email: bool,
}

/// The user's choices for every kind of notice; by default every kind comes by email.
pub fn preferences(conn: &mut DbConnection, user_id: &str) -> AppResult<Vec<Preference>> {
    let off: Vec<String> = notification_preferences::table
        .filter(notification_preferences::user_id.eq(user_id))
        .filter(notification_preferences::email.eq(0))
        .select(notification_preferences::kind)
        .load(conn)?;
    Ok(crate::notify::NoticeKind::ALL
        .iter()
        .filter(|k| k.choosable())
        .map(|k| Preference {
            kind: k.code(),
            label: k.label(),
            email: !off.iter().any(|o| o == k.code()),
        })
        .collect())
}

/// Sets whether each named kind comes by email; kinds not named keep their setting.
pub fn set_preferences(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: &str,
    choices: &std::collections::BTreeMap<String, bool>,
    now: NaiveDateTime,
) -> AppResult<Vec<Preference>> {
    let unknown: Vec<crate::platform::error::FieldError> = choices
        .keys()
        .filter(|k| {
            !crate::notify::NoticeKind::parse(k).is_some_and(crate::notify::NoticeKind::choosable)
        })
        .map(|k| crate::platform::error::FieldError::new(format!("email.{k}"), "没有这类通知"))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::Validation(unknown));
    }
    let before = preferences(conn, user_id)?;
    for (kind, email) in choices {
        let value = i32::from(*email);
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
    }
    let after = preferences(conn, user_id)?;
    let as_map = |p: &[Preference]| {
        serde_json::json!(p
            .iter()
            .map(|p| (p.kind, p.email))
            .collect::<std::collections::BTreeMap<_, _>>())
    };
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "notification_preferences",
            entity_id: user_id,
            action: "update",
            before: Some(as_map(&before)),
            after: Some(as_map(&after)),
        },
    )?;
    Ok(after)
}
