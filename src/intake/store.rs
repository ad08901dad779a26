//! The intake's storage: the only file that names `inbound_messages`. One row per message
//! (by sender and Message-ID), its raw bytes, and what became of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::InboundQuery;
use crate::platform::db::schema::inbound_messages;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination;

/// A stored message, without its raw bytes.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = inbound_messages)]
pub struct InboundMessage {
    pub id: String,
    pub message_id: Option<String>,
    /// smtp | http | pipe
    pub channel: String,
    pub mail_from: Option<String>,
    pub sender: String,
    pub user_id: String,
    pub subject: String,
    pub size_bytes: i64,
    /// received | processed | refused
    pub status: String,
    /// raised | commented | attendance (an invitation answered)
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub notes: String,
    pub lead_id: Option<String>,
    pub attempts: i32,
    #[schema(value_type = String)]
    pub received_at: NaiveDateTime,
    #[schema(value_type = Option<String>)]
    pub processed_at: Option<NaiveDateTime>,
    /// How the sender was proved: reply_address | dkim:<domain> | relay:<authserv-id>:<method>
    /// | unverified (only with intake.require_authenticated_sender off).
    pub origin: String,
    /// The lead a per-recipient reply address named.
    pub reply_lead_id: Option<String>,
    /// The meeting a per-recipient reply address named (an invitation answered).
    pub reply_consultation_id: Option<String>,
    /// The meeting whose invitation the message answered.
    pub consultation_id: Option<String>,
}

/// A message as it is stored on arrival.
pub struct Received<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub message_id: Option<&'a str>,
    pub channel: &'a str,
    pub mail_from: Option<String>,
    pub sender: &'a str,
    pub user_id: &'a str,
    pub subject: String,
    pub raw: &'a [u8],
    pub origin: &'a str,
    pub reply_lead_id: Option<&'a str>,
    pub reply_consultation_id: Option<&'a str>,
    pub now: NaiveDateTime,
}

/// The stored message with this key, if any.
pub fn by_key(conn: &mut DbConnection, key: &str) -> AppResult<Option<InboundMessage>> {
    Ok(inbound_messages::table
        .filter(inbound_messages::message_key.eq(key))
        .select(InboundMessage::as_select())
        .first(conn)
        .optional()?)
}

/// Messages of this user received after `since`.
pub fn count_since(conn: &mut DbConnection, user_id: &str, since: NaiveDateTime) -> AppResult<i64> {
    Ok(inbound_messages::table
        .filter(inbound_messages::user_id.eq(user_id))
        .filter(inbound_messages::received_at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Stores a message as received; `false` when one with its key was stored at this moment
/// by another instance.
pub fn insert_received(conn: &mut DbConnection, r: Received<'_>) -> AppResult<bool> {
    let row = (
        inbound_messages::id.eq(r.id),
        inbound_messages::message_key.eq(r.key),
        inbound_messages::message_id.eq(r.message_id),
        inbound_messages::channel.eq(r.channel),
        inbound_messages::mail_from.eq(r.mail_from),
        inbound_messages::sender.eq(r.sender),
        inbound_messages::user_id.eq(r.user_id),
        inbound_messages::subject.eq(r.subject),
        inbound_messages::size_bytes.eq(r.raw.len() as i64),
        inbound_messages::raw.eq(r.raw),
        inbound_messages::status.eq("received"),
        inbound_messages::received_at.eq(r.now),
        inbound_messages::origin.eq(r.origin),
        inbound_messages::reply_lead_id.eq(r.reply_lead_id),
        inbound_messages::reply_consultation_id.eq(r.reply_consultation_id),
    );
    let inserted = match conn {
        DbConnection::Pg(c) => diesel::insert_into(inbound_messages::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(inbound_messages::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted > 0)
}

/// Takes a received message for processing: 1 when this caller has it (the row stays
/// locked until the transaction ends, so a second processor waits and then finds it done).
pub fn claim(conn: &mut DbConnection, id: &str) -> AppResult<usize> {
    Ok(diesel::update(
        inbound_messages::table
            .find(id)
            .filter(inbound_messages::status.eq("received")),
    )
    .set(inbound_messages::attempts.eq(inbound_messages::attempts + 1))
    .execute(conn)?)
}

/// What became of a processed message.
pub struct Finished<'a> {
    /// processed | refused
    pub status: &'a str,
    pub outcome: Option<String>,
    pub reason: Option<&'a str>,
    pub lead_id: Option<String>,
    pub consultation_id: Option<String>,
    pub notes: String,
    pub now: NaiveDateTime,
}

pub fn finish(conn: &mut DbConnection, id: &str, f: Finished<'_>) -> AppResult<()> {
    diesel::update(inbound_messages::table.find(id))
        .set((
            inbound_messages::status.eq(f.status),
            inbound_messages::outcome.eq(f.outcome),
            inbound_messages::reason.eq(f.reason),
            inbound_messages::lead_id.eq(f.lead_id),
            inbound_messages::consultation_id.eq(f.consultation_id),
            inbound_messages::notes.eq(f.notes),
            inbound_messages::processed_at.eq(Some(f.now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` messages received by `settled` and not processed yet, oldest first.
pub fn unprocessed(
    conn: &mut DbConnection,
    settled: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<String>> {
    Ok(inbound_messages::table
        .filter(inbound_messages::status.eq("received"))
        .filter(inbound_messages::received_at.le(settled))
        .order(inbound_messages::id.asc())
        .select(inbound_messages::id)
        .limit(limit)
        .load(conn)?)
}

/// Stored messages, newest first.
pub fn list(
    conn: &mut DbConnection,
    q: &InboundQuery,
) -> AppResult<(Vec<InboundMessage>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let mut query = inbound_messages::table
        .select(InboundMessage::as_select())
        .into_boxed();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        if !["received", "processed", "refused"].contains(&s) {
            return Err(AppError::field(
                "status",
                "只能是 received、processed 或 refused",
            ));
        }
        query = query.filter(inbound_messages::status.eq(s.to_owned()));
    }
    if let Some(s) = q.sender.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(inbound_messages::sender.eq(s.to_lowercase()));
    }
    if let Some(l) = q.lead_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(inbound_messages::lead_id.eq(l.to_owned()));
    }
    if let Some(c) = q.cursor.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(inbound_messages::id.lt(c.to_owned()));
    }
    let mut rows: Vec<InboundMessage> = query
        .order(inbound_messages::id.desc())
        .limit(limit + 1)
        .load(conn)?;
    let next = pagination::next_cursor(&mut rows, limit, |m| m.id.clone());
    Ok((rows, next))
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<InboundMessage> {
    inbound_messages::table
        .find(id)
        .select(InboundMessage::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("没有这封邮件".into()))
}

pub fn raw(conn: &mut DbConnection, id: &str) -> AppResult<Vec<u8>> {
    inbound_messages::table
        .find(id)
        .select(inbound_messages::raw)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("没有这封邮件".into()))
}
