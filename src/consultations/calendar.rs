//! A meeting in people's calendars: the invitation (or cancellation) each invited person
//! gets by inbox and by email with its iCalendar, and a person's subscribable feed.

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use super::rules::{InviteeKind, MeetingState};
use super::store::{self, Meeting};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::ics::{self, Method, Person};

/// The people an invitation goes to: each invited department's head (its staff when it
/// has no head), each invited township's staff, and the people invited by name.
fn audience(conn: &mut DbConnection, id: &str) -> AppResult<Vec<String>> {
    let all = store::invitees(conn, id)?;
    audience_of(conn, &all)
}

/// The people who answer for these invitees.
pub(super) fn audience_of(
    conn: &mut DbConnection,
    invitees: &[store::Invitee],
) -> AppResult<Vec<String>> {
    let mut ids = Vec::new();
    for i in invitees {
        match i.kind {
            InviteeKind::Department => {
                let heads = crate::accounts::recipients::heads_of(conn, &i.unit)?;
                if heads.is_empty() {
                    ids.extend(crate::accounts::recipients::departments_and_township(
                        conn,
                        std::slice::from_ref(&i.unit),
                        None,
                    )?);
                } else {
                    ids.extend(heads);
                }
            }
            InviteeKind::Township => ids.extend(
                crate::accounts::recipients::departments_and_township(conn, &[], Some(&i.unit))?,
            ),
            InviteeKind::User => ids.push(i.unit.clone()),
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn event(
    conn: &mut DbConnection,
    m: &Meeting,
    now: NaiveDateTime,
    attendees: &[String],
    agenda: &[store::AgendaItem],
) -> AppResult<ics::Event> {
    let names = crate::accounts::names(conn, attendees)?;
    let addresses = if attendees.is_empty() {
        Vec::new()
    } else {
        crate::accounts::recipients::mail_addresses(conn, attendees)?
    };
    let people = addresses
        .into_iter()
        .filter_map(|(id, email)| {
            email.filter(|e| !e.is_empty()).map(|email| Person {
                name: names.get(&id).cloned().unwrap_or_default(),
                email,
            })
        })
        .collect();
    let agenda: Vec<String> = agenda
        .iter()
        .filter(|a| a.consultation_id == m.id)
        .map(|a| format!("{}. {}", a.position, a.title))
        .collect();
    Ok(ics::Event {
        uid: format!("{}@minecoord", m.id),
        sequence: m.sequence,
        start: m.starts_at + Duration::hours(8),
        end: m.ends_at + Duration::hours(8),
        stamp: now,
        summary: format!("{} {}", m.number, m.topic),
        description: if agenda.is_empty() {
            m.topic.clone()
        } else {
            format!("议程：\n{}", agenda.join("\n"))
        },
        location: m.place.clone(),
        url: m.online_url.clone(),
        organizer: Person {
            name: "区协调办".into(),
            email: crate::notify::organizer_address(),
        },
        attendees: people,
        cancelled: m.state == MeetingState::Cancelled,
    })
}

/// Tells everyone invited of the meeting as it now stands, by inbox and by email with its
/// calendar: a REQUEST, or a CANCEL once cancelled.
pub(super) fn invite(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    m: &Meeting,
    heading: &str,
) -> AppResult<usize> {
    let audience = audience(conn, &m.id)?;
    let cancelled = m.state == MeetingState::Cancelled;
    let agenda = store::agenda(conn, &m.id)?;
    let e = event(conn, m, now, &audience, &agenda)?;
    let method = if cancelled {
        Method::Cancel
    } else {
        Method::Request
    };
    let calendar = ics::calendar(&[e], Some(method));
    let start = (m.starts_at + Duration::hours(8)).format("%Y-%m-%d %H:%M");
    let end = (m.ends_at + Duration::hours(8)).format("%H:%M");
    let body = if cancelled {
        format!(
            "原定于 {start} 在{}召开的会商“{}”已取消。原因：{}",
            m.place, m.topic, m.cancel_reason
        )
    } else {
        format!(
            "定于 {start}—{end} 在{}召开会商“{}”{}。请在会商页面确认参会人员或说明不能参会的原因；邮件附有日历邀请，可加入日历。",
            m.place,
            m.topic,
            m.online_url
                .as_deref()
                .map(|u| format!("（线上参会：{u}）"))
                .unwrap_or_default()
        )
    };
    crate::notify::send_with_calendar(
        conn,
        now,
        Some(&who.id),
        &audience,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("{heading}：{} {}", m.number, m.topic),
            body,
            link: format!("/consultations/{}", m.id),
            entity_type: "consultation",
            entity_id: &m.id,
        },
        Some(&calendar),
    )
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new feed token for the reader (the old one stops working); the token itself is shown
/// once and kept only as its digest.
pub fn rotate_feed(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
) -> AppResult<String> {
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    store::set_feed(conn, &who.id, &digest(&token), now)?;
    Ok(token)
}

pub fn revoke_feed(conn: &mut DbConnection, who: &Principal) -> AppResult<bool> {
    Ok(store::drop_feed(conn, &who.id)? > 0)
}

/// The feed a token opens: the meetings inviting its owner (or the owner's unit) from a
/// month ago on, as one calendar.
pub fn feed(conn: &mut DbConnection, token: &str, now: NaiveDateTime) -> AppResult<String> {
    let not_found = || AppError::NotFound("日历订阅地址无效或已停用。".into());
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let user = store::feed_owner(conn, &digest(token))?.ok_or_else(not_found)?;
    let owner = crate::accounts::find(conn, &user).map_err(|_| not_found())?;
    if owner.active == 0 {
        return Err(not_found());
    }
    let who = owner.principal();
    let units = super::policy::own_units(&who);
    let rows = store::list(
        conn,
        Some(now - Duration::days(31)),
        (!super::policy::reads_all(&who)).then_some(units.as_slice()),
        None,
        500,
    )?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let agenda = store::agenda_of(conn, &ids)?;
    let mut events = Vec::new();
    for m in &rows {
        events.push(event(conn, m, now, &[], &agenda)?);
    }
    Ok(ics::calendar(&events, None))
}
