//! 报到 by email: a reply to an invitation to a consultation, recognised by the intake
//! (its reply address, its subject or its thread names the meeting), is the sender's
//! answer — read by `consultations::rules::read_answer`, recorded by
//! `consultations::answer_by_email` with the same checks as the meeting's page.

use chrono::NaiveDateTime;

use super::{parse, Accepted, Refusal, Verdict};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

/// 报到 by email: the reply's answer recorded for the sender's unit (or the sender, when
/// invited by name), with a receipt saying what was recorded.
pub(super) fn answer(
    conn: &mut DbConnection,
    who: &Principal,
    parsed: &parse::Parsed,
    number: &str,
    now: NaiveDateTime,
) -> AppResult<Verdict> {
    let text = parse::trim_quoted(&parsed.text);
    // A mail program's 接受/拒绝 buttons answer with an iCalendar REPLY: its PARTSTAT.
    let partstat = parsed
        .attachments
        .iter()
        .filter(|a| {
            a.content_type
                .to_ascii_lowercase()
                .starts_with("text/calendar")
        })
        .find_map(|a| {
            let ics = String::from_utf8_lossy(&a.bytes).replace("\r\n ", "");
            ics.split("PARTSTAT=").nth(1).map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
                    .collect::<String>()
            })
        });
    let Some(answer) =
        crate::consultations::rules::read_answer(&parsed.subject, &text, partstat.as_deref())
    else {
        return Ok(Err(Refusal::UnclearAnswer(number.to_owned())));
    };
    let (m, invitee) = match crate::consultations::answer_by_email(conn, who, now, number, answer) {
        Ok(done) => done,
        Err(AppError::NotFound(_)) => return Ok(Err(Refusal::NoSuchMeeting(number.to_owned()))),
        Err(AppError::Validation(errors)) => {
            return Ok(Err(if errors.iter().any(|e| e.field == "unit") {
                Refusal::NoSuchMeeting(number.to_owned())
            } else {
                Refusal::Invalid(
                    errors
                        .iter()
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("；"),
                )
            }))
        }
        Err(AppError::InvalidTransition(why)) => {
            return Ok(Err(Refusal::NotAllowed(
                why.trim_end_matches('。').to_owned() + "，",
            )))
        }
        Err(e) => return Err(e),
    };
    let what = if invitee.answer == crate::consultations::rules::Answer::Attending {
        format!("参会，参会人员：{}", invitee.attendee_name)
    } else {
        format!("不参会，原因：{}", invitee.reason)
    };
    crate::notify::outbox::enqueue(
        conn,
        now,
        std::slice::from_ref(&who.id),
        crate::notify::NoticeKind::IntakeReceipt,
        &format!("{} 已收到您的报到", m.number),
        &format!(
            "您对会商 {}“{}”的答复已登记：{what}。如需更改，可再次回复邀请邮件，或在会商页面修改。",
            m.number, m.topic
        ),
        &format!("/consultations/{}", m.id),
    )?;
    Ok(Ok(Accepted {
        message: String::new(),
        outcome: "attendance".into(),
        lead_id: String::new(),
        lead_number: String::new(),
        consultation_id: Some(m.id),
        consultation_number: Some(m.number),
        duplicate: false,
        notes: Vec::new(),
    }))
}
