//! The email outbox: every notice that should also go by email is queued here in the
//! transaction of the change, and a worker in the service delivers it over SMTP (lettre)
//! with retries, exponential backoff and a dead-letter state. A message is claimed with a
//! lease before sending, so several instances on one PostgreSQL database send it once;
//! a crash between sending and recording may repeat a message, never lose one.

use askama::Template;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination;

/// The placeholder for `http.public_base_url`, filled in when the message is sent.
pub const BASE: &str = "{{BASE}}";
/// The placeholder for the footer line on replying, filled in when the message is sent:
/// whether a reply reaches the lead depends on the intake being on at that time.
pub const REPLY: &str = "{{REPLY}}";

use super::store;
pub use super::store::OutboxMessage;

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
    enqueue_with_calendar(conn, now, recipients, kind, title, body, link, None)
}

/// As `enqueue`, each email carrying `calendar` (an iCalendar invitation) when given.
#[allow(clippy::too_many_arguments)]
pub fn enqueue_with_calendar(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    recipients: &[String],
    kind: crate::notify::NoticeKind,
    title: &str,
    body: &str,
    link: &str,
    calendar: Option<&str>,
) -> AppResult<usize> {
    let to = email_recipients(conn, recipients, kind)?;
    enqueue_to(conn, now, &to, kind, title, body, link, calendar)
}

/// `(user id, address)` of the recipients who have an address and have not turned this
/// kind of notice off by email.
pub(crate) fn email_recipients(
    conn: &mut DbConnection,
    recipients: &[String],
    kind: crate::notify::NoticeKind,
) -> AppResult<Vec<(String, String)>> {
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let addressed = addresses(conn, recipients)?
        .into_iter()
        .filter_map(|(id, email)| email.filter(|e| !e.is_empty()).map(|e| (id, e)))
        .collect();
    without_opted_out(conn, addressed, kind)
}

/// `addressed` (`(user id, address)`) but those who turned this kind of notice off by
/// email: read only when there is anyone to ask about.
pub(crate) fn without_opted_out(
    conn: &mut DbConnection,
    addressed: Vec<(String, String)>,
    kind: crate::notify::NoticeKind,
) -> AppResult<Vec<(String, String)>> {
    if addressed.is_empty() {
        return Ok(addressed);
    }
    let ids: Vec<String> = addressed.iter().map(|(id, _)| id.clone()).collect();
    let opted_out = store::email_off_for(conn, &ids, kind.code())?;
    Ok(addressed
        .into_iter()
        .filter(|(id, _)| !opted_out.contains(id))
        .collect())
}

/// Queues one message to each `(user id, address)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn enqueue_to(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    to: &[(String, String)],
    kind: crate::notify::NoticeKind,
    title: &str,
    body: &str,
    link: &str,
    calendar: Option<&str>,
) -> AppResult<usize> {
    let rows = messages(now, to, kind, title, body, link, calendar)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let queued = rows.len();
    store::insert_outbox(conn, rows)?;
    Ok(queued)
}

/// One new message to each `(user id, address)`, rendered once; none when `to` is empty.
#[allow(clippy::too_many_arguments)]
pub(crate) fn messages(
    now: NaiveDateTime,
    to: &[(String, String)],
    kind: crate::notify::NoticeKind,
    title: &str,
    body: &str,
    link: &str,
    calendar: Option<&str>,
) -> AppResult<Vec<OutboxMessage>> {
    if to.is_empty() {
        return Ok(Vec::new());
    }
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
    Ok(to
        .iter()
        .map(|(id, email)| {
            let mid = uuid::Uuid::now_v7();
            OutboxMessage {
                id: mid.to_string(),
                message_id: format!("<{}@minecoord>", mid.simple()),
                recipient: email.clone(),
                user_id: Some(id.clone()),
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
                calendar: calendar.map(str::to_owned),
                link: Some(link.to_owned()).filter(|l| !l.is_empty()),
            }
        })
        .collect())
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
    store::lease_due(conn, worker, now, now + lease, limit)
}

/// Records the messages as sent, in one statement.
pub fn mark_sent(conn: &mut DbConnection, ids: &[String], now: NaiveDateTime) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    store::set_sent(conn, ids, now)
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
    store::set_failed(conn, &msg.id, status, attempts, now + backoff, error, now)
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
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = status {
        if !["pending", "sent", "dead", "cancelled"].contains(&s) {
            return Err(AppError::field(
                "status",
                "只能是 pending、sent、dead 或 cancelled",
            ));
        }
    }
    let cursor = q.cursor.as_deref().filter(|s| !s.is_empty());
    let mut rows = store::outbox_page(conn, status, cursor, limit + 1)?;
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
    store::subjects_of(conn, message_ids)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<OutboxMessage> {
    store::find_message(conn, id)?.ok_or_else(|| AppError::NotFound("没有这封邮件。".into()))
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
    store::set_pending(conn, id, now)?;
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
    store::set_cancelled(conn, id, now)?;
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
    store::counts(conn)
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
    let off = store::kinds_off(conn, user_id)?;
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
        store::set_email(conn, user_id, kind, *email)?;
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

/// `(address, why)` of the emails about the page at `link` (e.g. a meeting's invitations)
/// that could not be delivered (bounced or refused for good).
pub fn undelivered(conn: &mut DbConnection, link: &str) -> AppResult<Vec<(String, String)>> {
    Ok(store::dead_for(conn, link)?
        .into_iter()
        .map(|(to, why)| (to, why.unwrap_or_default()))
        .collect())
}
