//! The consultations' storage: the only code naming the requests, the meetings with their
//! invitees and agenda, the year's numbers and the calendar feeds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::consultations::rules::{Answer, InviteeKind, MeetingState, RequestState};
use crate::platform::db::schema::{
    calendar_feeds, consultation_agenda, consultation_counters, consultation_invitees,
    consultation_requests, consultations,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

pub mod ledger;
pub mod reports;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_requests)]
pub struct Request {
    pub id: String,
    pub topic: String,
    pub reason: String,
    pub department: Option<String>,
    /// Comma-separated ids.
    pub lead_ids: String,
    pub mine_ids: String,
    pub hazard_ids: String,
    #[diesel(serialize_as = String)]
    pub state: RequestState,
    pub consultation_id: Option<String>,
    pub requested_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// 不予会商: why, by whom and when (empty and none while the request stands).
    pub decline_reason: String,
    pub declined_by: Option<String>,
    pub declined_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultations)]
pub struct Meeting {
    pub id: String,
    pub number: String,
    pub topic: String,
    /// UTC.
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub place: String,
    pub online_url: Option<String>,
    #[diesel(serialize_as = String)]
    pub state: MeetingState,
    /// The iCalendar SEQUENCE: raised on every change sent out.
    pub sequence: i32,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: String,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_invitees)]
pub struct Invitee {
    pub consultation_id: String,
    #[diesel(serialize_as = String)]
    pub kind: InviteeKind,
    /// A department or township code, or a user id.
    pub unit: String,
    #[diesel(serialize_as = String)]
    pub answer: Answer,
    pub attendee_name: String,
    pub reason: String,
    pub answered_by: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub reminded_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consultation_agenda)]
pub struct AgendaItem {
    pub consultation_id: String,
    pub position: i32,
    pub title: String,
    pub lead_id: Option<String>,
    pub mine_id: Option<String>,
    pub hazard_id: Option<String>,
    pub request_id: Option<String>,
}

// ---- requests ----

pub fn insert_request(conn: &mut DbConnection, r: &Request) -> AppResult<()> {
    diesel::insert_into(consultation_requests::table)
        .values(r.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find_request(conn: &mut DbConnection, id: &str) -> AppResult<Option<Request>> {
    Ok(consultation_requests::table
        .find(id)
        .select(Request::as_select())
        .first(conn)
        .optional()?)
}

/// How many requests wait to be convened.
pub fn pending_requests(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(consultation_requests::table
        .filter(consultation_requests::state.eq(RequestState::Pending.code()))
        .count()
        .get_result(conn)?)
}

/// Requests in `state` (all when none), oldest first.
pub fn requests(
    conn: &mut DbConnection,
    state: Option<RequestState>,
    limit: i64,
) -> AppResult<Vec<Request>> {
    let mut q = consultation_requests::table
        .select(Request::as_select())
        .order((
            consultation_requests::created_at.asc(),
            consultation_requests::id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(consultation_requests::state.eq(s.code()));
    }
    Ok(q.load(conn)?)
}

/// Marks pending requests as convened into the meeting; how many changed.
pub fn convene_requests(
    conn: &mut DbConnection,
    ids: &[String],
    meeting: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        consultation_requests::table
            .filter(consultation_requests::id.eq_any(ids))
            .filter(consultation_requests::state.eq(RequestState::Pending.code())),
    )
    .set((
        consultation_requests::state.eq(RequestState::Convened.code()),
        consultation_requests::consultation_id.eq(meeting),
        consultation_requests::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// 不予会商: the request, if still pending, is declined; whether it was.
pub fn decline_request(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    Ok(diesel::update(
        consultation_requests::table
            .find(id)
            .filter(consultation_requests::state.eq(RequestState::Pending.code())),
    )
    .set((
        consultation_requests::state.eq(RequestState::Declined.code()),
        consultation_requests::decline_reason.eq(reason),
        consultation_requests::declined_by.eq(by),
        consultation_requests::declined_at.eq(now),
        consultation_requests::updated_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

// ---- meetings ----

/// The next meeting number of the year; the counter row is held to the end of the
/// transaction, so numbers have no gaps among committed meetings.
pub fn next_number(conn: &mut DbConnection, year: i32) -> AppResult<i32> {
    let row = (
        consultation_counters::year.eq(year),
        consultation_counters::last_number.eq(0),
    );
    match conn {
        DbConnection::Pg(c) => diesel::insert_into(consultation_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Sqlite(c) => diesel::insert_into(consultation_counters::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    let key = consultation_counters::table.find(year);
    diesel::update(key)
        .set(consultation_counters::last_number.eq(consultation_counters::last_number + 1))
        .execute(conn)?;
    Ok(key.select(consultation_counters::last_number).first(conn)?)
}

pub fn insert(
    conn: &mut DbConnection,
    m: &Meeting,
    invitees: &[Invitee],
    agenda: &[AgendaItem],
) -> AppResult<()> {
    diesel::insert_into(consultations::table)
        .values(m.clone())
        .execute(conn)?;
    // One statement per row: the two backends behind one connection type share no batch
    // insert; a meeting has at most a few hundred.
    for i in invitees {
        diesel::insert_into(consultation_invitees::table)
            .values(i.clone())
            .execute(conn)?;
    }
    for a in agenda {
        diesel::insert_into(consultation_agenda::table)
            .values(a)
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_by_number(conn: &mut DbConnection, number: &str) -> AppResult<Option<Meeting>> {
    Ok(consultations::table
        .filter(consultations::number.eq(number))
        .select(Meeting::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Meeting>> {
    Ok(consultations::table
        .find(id)
        .select(Meeting::as_select())
        .first(conn)
        .optional()?)
}

/// Several meetings at once.
pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Meeting>> {
    Ok(consultations::table
        .filter(consultations::id.eq_any(ids))
        .select(Meeting::as_select())
        .load(conn)?)
}

/// Writes the meeting's time, place, state and sequence if it is still at `before.version`.
pub fn save(conn: &mut DbConnection, before: &Meeting, after: &Meeting) -> AppResult<bool> {
    let n = diesel::update(
        consultations::table
            .find(&before.id)
            .filter(consultations::version.eq(before.version)),
    )
    .set((
        consultations::starts_at.eq(after.starts_at),
        consultations::ends_at.eq(after.ends_at),
        consultations::place.eq(&after.place),
        consultations::online_url.eq(&after.online_url),
        consultations::state.eq(after.state.code()),
        consultations::sequence.eq(after.sequence),
        consultations::cancelled_at.eq(after.cancelled_at),
        consultations::cancel_reason.eq(&after.cancel_reason),
        consultations::updated_at.eq(after.updated_at),
        consultations::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn invitees(conn: &mut DbConnection, id: &str) -> AppResult<Vec<Invitee>> {
    Ok(consultation_invitees::table
        .filter(consultation_invitees::consultation_id.eq(id))
        .select(Invitee::as_select())
        .order((consultation_invitees::kind, consultation_invitees::unit))
        .load(conn)?)
}

/// The invitees of several meetings at once.
pub fn invitees_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Invitee>> {
    Ok(consultation_invitees::table
        .filter(consultation_invitees::consultation_id.eq_any(ids))
        .select(Invitee::as_select())
        .order((
            consultation_invitees::consultation_id,
            consultation_invitees::kind,
            consultation_invitees::unit,
        ))
        .load(conn)?)
}

/// The agendas of several meetings at once, each in its order.
pub fn agenda_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<AgendaItem>> {
    Ok(consultation_agenda::table
        .filter(consultation_agenda::consultation_id.eq_any(ids))
        .select(AgendaItem::as_select())
        .order((
            consultation_agenda::consultation_id,
            consultation_agenda::position,
        ))
        .load(conn)?)
}

pub fn agenda(conn: &mut DbConnection, id: &str) -> AppResult<Vec<AgendaItem>> {
    Ok(consultation_agenda::table
        .filter(consultation_agenda::consultation_id.eq(id))
        .select(AgendaItem::as_select())
        .order(consultation_agenda::position)
        .load(conn)?)
}

/// Writes an invitee's answer.
pub fn answer(conn: &mut DbConnection, i: &Invitee) -> AppResult<()> {
    diesel::update(consultation_invitees::table.find((&i.consultation_id, i.kind.code(), &i.unit)))
        .set((
            consultation_invitees::answer.eq(i.answer.code()),
            consultation_invitees::attendee_name.eq(&i.attendee_name),
            consultation_invitees::reason.eq(&i.reason),
            consultation_invitees::answered_by.eq(&i.answered_by),
            consultation_invitees::answered_at.eq(i.answered_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the invitees reminded (once: only those not reminded yet); how many.
pub fn mark_reminded(
    conn: &mut DbConnection,
    id: &str,
    units: &[(String, String)],
    now: NaiveDateTime,
) -> AppResult<usize> {
    let mut n = 0;
    for (kind, unit) in units {
        n += diesel::update(
            consultation_invitees::table
                .find((id, kind, unit))
                .filter(consultation_invitees::reminded_at.is_null()),
        )
        .set(consultation_invitees::reminded_at.eq(now))
        .execute(conn)?;
    }
    Ok(n)
}

/// Meetings from `from` on (UTC), soonest first, keyset after `(starts_at, id)`; only those
/// inviting one of `units` when given (`(kind, unit)` pairs).
pub fn list(
    conn: &mut DbConnection,
    from: Option<NaiveDateTime>,
    units: Option<&[(String, String)]>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> AppResult<Vec<Meeting>> {
    let mut q = consultations::table
        .select(Meeting::as_select())
        .order((consultations::starts_at, consultations::id))
        .limit(limit)
        .into_boxed();
    if let Some(f) = from {
        q = q.filter(consultations::starts_at.ge(f));
    }
    if let Some(units) = units {
        // One indexed subquery on (kind, unit, consultation_id): a reader answers for at
        // most three invitees (their person, department and township), padded to three.
        debug_assert!(
            units.len() <= 3,
            "a reader answers for at most three invitees"
        );
        let pair = |i: usize| {
            units
                .get(i)
                .or_else(|| units.first())
                .cloned()
                .unwrap_or_default()
        };
        let ((k1, u1), (k2, u2), (k3, u3)) = (pair(0), pair(1), pair(2));
        let invited = consultation_invitees::table
            .filter(
                consultation_invitees::kind
                    .eq(k1)
                    .and(consultation_invitees::unit.eq(u1))
                    .or(consultation_invitees::kind
                        .eq(k2)
                        .and(consultation_invitees::unit.eq(u2)))
                    .or(consultation_invitees::kind
                        .eq(k3)
                        .and(consultation_invitees::unit.eq(u3))),
            )
            .select(consultation_invitees::consultation_id);
        q = q.filter(consultations::id.eq_any(invited));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            consultations::starts_at.gt(at).or(consultations::starts_at
                .eq(at)
                .and(consultations::id.gt(id))),
        );
    }
    Ok(q.load(conn)?)
}

// ---- calendar feeds ----

pub fn set_feed(
    conn: &mut DbConnection,
    user_id: &str,
    token_sha256: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(calendar_feeds::table.find(user_id)).execute(conn)?;
    diesel::insert_into(calendar_feeds::table)
        .values((
            calendar_feeds::user_id.eq(user_id),
            calendar_feeds::token_sha256.eq(token_sha256),
            calendar_feeds::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn drop_feed(conn: &mut DbConnection, user_id: &str) -> AppResult<usize> {
    Ok(diesel::delete(calendar_feeds::table.find(user_id)).execute(conn)?)
}

pub fn feed_owner(conn: &mut DbConnection, token_sha256: &str) -> AppResult<Option<String>> {
    Ok(calendar_feeds::table
        .filter(calendar_feeds::token_sha256.eq(token_sha256))
        .select(calendar_feeds::user_id)
        .first(conn)
        .optional()?)
}
