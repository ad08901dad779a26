//! Leads raised and answered by email (街镇吹哨 by email).
//!
//! A message arrives at the SMTP listener (`smtp`) or at `POST /api/v1/intake/email`, and
//! passes the same steps either way ([`accept`]):
//! 1. checks that need no trust in the message: size, readable, not an automatic reply,
//!    DKIM for the district's domain when configured, and a sender who is an active
//!    township or department user (addresses compared case-insensitively). Failing any,
//!    it is refused with a reason and nothing is written but a log line;
//! 2. it is stored (`inbound_messages`, one row per Message-ID) and committed: only then is
//!    the sender told it was accepted, so a crash cannot lose it;
//! 3. it is processed in one transaction: a subject carrying a lead number is a reply and
//!    becomes a comment on that lead (from its parties only), anything else raises a lead as
//!    the sender through `leads::raise`, files becoming evidence; the sender gets an
//!    automatic reply through the outbox. A message stored but not processed (a crash, the
//!    database gone for a moment) is processed by [`sweep`].

pub mod api;
pub mod dkim;
mod invitations;
pub mod pages;
pub mod parse;
pub mod rules;
pub mod smtp;
pub mod store;

pub use store::{find, list, raw, InboundMessage};

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::leads::files;
use crate::leads::{self, NewLead};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::role::Role;
use crate::platform::upload::Upload;
use crate::web::{blocking, AppState};

/// How a message reached the intake.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// smtp | http | pipe (the command line)
    pub channel: &'static str,
    /// The SMTP envelope sender (MAIL FROM), when known.
    pub mail_from: Option<String>,
    /// The envelope recipients (RCPT TO), when known: a reply address among them names
    /// the notice answered.
    pub recipients: Vec<String>,
    /// The address the SMTP connection came from (a trusted relay's, or not).
    pub peer: Option<std::net::IpAddr>,
}

/// Why a message was not taken in. Each has a reason for the sender in Chinese, an SMTP
/// reply code and, over HTTP, the field it concerns.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    TooLarge {
        limit: usize,
    },
    Unreadable(parse::Unreadable),
    Automatic,
    UnknownSender(String),
    DisabledSender(String),
    AmbiguousSender(String),
    NotAllowed(String),
    Dkim(String),
    /// Nothing proves the From address is the sender's (intake.require_authenticated_sender).
    Unauthenticated(String),
    /// A reply address that is not valid, not the sender's, or no longer in use.
    ReplyAddress(String),
    /// A trusted relay authenticated the envelope sender at another domain than From's.
    Misaligned {
        from: String,
        envelope: String,
    },
    TooMany {
        limit: i64,
    },
    NoSuchLead(String),
    NotParty(String),
    /// A reply to an invitation that says neither 参加 nor 不参加 (the meeting's number).
    UnclearAnswer(String),
    /// A meeting number that is not one of the sender's invitations.
    NoSuchMeeting(String),
    Empty,
    Invalid(String),
}

impl Refusal {
    /// A stable code for logs, metrics and the record.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } => "too_large",
            Refusal::Unreadable(_) => "malformed",
            Refusal::Automatic => "automatic",
            Refusal::UnknownSender(_) => "unknown_sender",
            Refusal::DisabledSender(_) => "disabled_sender",
            Refusal::AmbiguousSender(_) => "ambiguous_sender",
            Refusal::NotAllowed(_) => "not_allowed",
            Refusal::Dkim(_) => "dkim_failed",
            Refusal::Unauthenticated(_) => "unauthenticated",
            Refusal::ReplyAddress(_) => "reply_address",
            Refusal::Misaligned { .. } => "misaligned",
            Refusal::TooMany { .. } => "too_many",
            Refusal::NoSuchLead(_) => "no_such_lead",
            Refusal::NotParty(_) => "not_a_party",
            Refusal::UnclearAnswer(_) => "unclear_answer",
            Refusal::NoSuchMeeting(_) => "no_such_meeting",
            Refusal::Empty => "empty",
            Refusal::Invalid(_) => "invalid",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Refusal::TooLarge { limit } => format!(
                "邮件超过 {} MB，未受理。请减少或压缩附件后重发。",
                limit / 1024 / 1024
            ),
            Refusal::Unreadable(u) => format!("{}，未受理。", u.reason()),
            Refusal::Automatic => "自动回复、退信和群发邮件不受理。".into(),
            Refusal::UnknownSender(a) => format!(
                "发件地址 {a} 未在平台登记，未受理。请用在平台登记的邮箱发送，或请管理员在账号中填写该邮箱。"
            ),
            Refusal::DisabledSender(a) => format!("发件地址 {a} 对应的账号已停用，未受理。"),
            Refusal::AmbiguousSender(a) => {
                format!("发件地址 {a} 对应多个账号，无法确定由谁反映，未受理。请联系管理员。")
            }
            Refusal::NotAllowed(m) => format!("{m}未受理。"),
            Refusal::Dkim(m) => format!("邮件未通过发件域名签名（DKIM）校验：{m}，未受理。"),
            Refusal::Unauthenticated(a) => format!(
                "无法确认这封邮件确实由 {a} 发出（既不是对通知邮件的回复，也没有通过发件域名签名或邮件服务器的认证），未受理。回复通知请直接在通知邮件上点“回复”；反映新问题请登录平台提交，或请管理员为您的邮箱域名配置签名校验。"
            ),
            Refusal::ReplyAddress(m) => format!("{m}，未受理。"),
            Refusal::Misaligned { from, envelope } => format!(
                "发件人 {from} 与邮件服务器认证的发信域名 {envelope} 不一致，可能是冒用，未受理。"
            ),
            Refusal::TooMany { limit } => format!(
                "同一发件人一小时内最多受理 {limit} 封邮件，本封未受理。如确有大量情况需要反映，请登录平台提交或稍后再发。"
            ),
            Refusal::NoSuchLead(n) => format!(
                "主题中的线索编号 {n} 不存在，未受理。如要反映新问题，请不要在主题中写线索编号。"
            ),
            Refusal::NotParty(n) => format!(
                "您不是线索 {n} 的办理或反映单位，不能通过邮件留言，未受理。"
            ),
            Refusal::UnclearAnswer(n) => format!(
                "未能从回复中看出是否参加会商 {n}，未受理。请直接回复“参加，参会人：姓名”或“不参加，原因：……”，也可以登录平台在会商页面报到。"
            ),
            Refusal::NoSuchMeeting(n) => format!(
                "会商 {n} 不存在，或您（您的单位）不在邀请名单中，未受理。"
            ),
            Refusal::Empty => "邮件正文是空的（引用的原邮件不算），未受理。".into(),
            Refusal::Invalid(m) => format!("{m}，未受理。"),
        }
    }

    /// The SMTP reply: code, enhanced status code.
    pub fn smtp_code(&self) -> (u16, &'static str) {
        match self {
            Refusal::TooLarge { .. } => (552, "5.3.4"),
            Refusal::Unreadable(_) => (550, "5.6.0"),
            Refusal::Dkim(_) => (550, "5.7.20"),
            Refusal::Unauthenticated(_) | Refusal::Misaligned { .. } => (550, "5.7.26"),
            Refusal::ReplyAddress(_) => (550, "5.7.1"),
            Refusal::UnknownSender(_)
            | Refusal::DisabledSender(_)
            | Refusal::AmbiguousSender(_)
            | Refusal::NotAllowed(_)
            | Refusal::TooMany { .. } => (550, "5.7.1"),
            _ => (550, "5.7.0"),
        }
    }

    /// The field of the message the refusal concerns, for the HTTP problem document.
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } | Refusal::Unreadable(_) | Refusal::Automatic => "message",
            Refusal::UnknownSender(_)
            | Refusal::DisabledSender(_)
            | Refusal::AmbiguousSender(_)
            | Refusal::NotAllowed(_)
            | Refusal::TooMany { .. }
            | Refusal::Unauthenticated(_)
            | Refusal::Misaligned { .. }
            | Refusal::Dkim(_) => "from",
            Refusal::ReplyAddress(_) => "to",
            Refusal::NoSuchLead(_) | Refusal::NotParty(_) | Refusal::NoSuchMeeting(_) => "subject",
            Refusal::Empty | Refusal::Invalid(_) | Refusal::UnclearAnswer(_) => "text",
        }
    }
}

/// What became of an accepted message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The stored message (`/intake/{id}`).
    pub message: String,
    /// raised | commented | attendance (an invitation to a consultation answered)
    pub outcome: String,
    /// The lead raised or answered (empty for an invitation answered).
    pub lead_id: String,
    pub lead_number: String,
    /// The meeting whose invitation was answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consultation_number: Option<String>,
    /// The same Message-ID was taken in before: nothing new was created.
    pub duplicate: bool,
    /// What was left aside (files of a type or size not accepted, unknown tags).
    pub notes: Vec<String>,
}

/// The outcome of [`accept`]: accepted, or refused with a reason. Errors of the service
/// itself (the database away) are the outer `AppResult`.
pub type Verdict = Result<Accepted, Refusal>;

/// Takes one message in, by either channel: checks, stores, processes. See the module.
pub async fn accept(
    state: &web::Data<AppState>,
    raw: Vec<u8>,
    envelope: Envelope,
) -> AppResult<Verdict> {
    let st = state.clone();
    let channel = envelope.channel;
    let mail_from = envelope.mail_from.clone().unwrap_or_default();
    let verdict = blocking(move || {
        let now = st.clock.now_naive();
        let (checked, dkim) = match check(&st, &raw, now) {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let sender = match st.db.read(|conn| sender(conn, &checked.from))? {
            Ok(u) => u,
            Err(r) => return Ok(Err(r)),
        };
        let proof = Proof {
            raw: &raw,
            parsed: &checked,
            dkim,
            envelope: &envelope,
        };
        let origin = match st.db.read(|conn| origin(&st, conn, &proof, &sender, now))? {
            Ok(o) => o,
            Err(r) => return Ok(Err(r)),
        };
        let limit = st.settings.intake.max_per_sender_per_hour;
        let stored = st
            .db
            .transaction(|conn| store(conn, &proof, &sender, &origin, now, limit))?;
        match stored {
            Stored::Refused(r) => Ok(Err(r)),
            Stored::New(id) => process_one(&st, &id, false, Some(&checked)),
            Stored::Existing(m) => match m.status.as_str() {
                "received" => process_one(&st, &m.id, false, Some(&checked)),
                _ => st.db.read(|conn| replay(conn, &m)),
            },
        }
    })
    .await?;
    match &verdict {
        Ok(a) => {
            metrics::counter!("intake_accepted_total", "outcome" => a.outcome.clone()).increment(1);
            tracing::info!(
            intake.message = %a.message, outcome = %a.outcome, lead = %a.lead_number,
            duplicate = a.duplicate, "mail taken in"
            )
        }
        Err(r) => {
            tracing::warn!(
                reason = r.code(), detail = %r.reason(), channel, mail_from = %mail_from,
                "mail refused"
            );
            metrics::counter!("intake_refused_total", "reason" => r.code()).increment(1);
        }
    }
    Ok(verdict)
}

/// Checks that need neither the database nor trust in the message; with the domain whose
/// DKIM signature the message carries, when it is one configured.
fn check(
    state: &AppState,
    raw: &[u8],
    now: NaiveDateTime,
) -> Result<(parse::Parsed, Option<String>), Refusal> {
    let limit = state.settings.intake.max_message_bytes;
    if raw.len() > limit {
        return Err(Refusal::TooLarge { limit });
    }
    let parsed = parse::parse(raw).map_err(Refusal::Unreadable)?;
    if parsed.automatic {
        return Err(Refusal::Automatic);
    }
    let dkim = dkim::require(
        state.settings.intake.dkim_domains(),
        raw,
        &parsed.from,
        now.and_utc().timestamp(),
    )
    .map_err(Refusal::Dkim)?;
    Ok((parsed, dkim))
}

/// What a message offers as proof of its origin.
struct Proof<'a> {
    raw: &'a [u8],
    parsed: &'a parse::Parsed,
    /// The configured domain whose valid signature it carries.
    dkim: Option<String>,
    envelope: &'a Envelope,
}

/// How the sender was proved, as recorded with the message.
#[derive(Debug, Clone)]
struct Origin {
    by: String,
    reply_lead_id: Option<String>,
    reply_consultation_id: Option<String>,
}

/// What a per-recipient reply address names: the lead of a notice, or the meeting of an
/// invitation.
enum Answered {
    Lead(String),
    Meeting(String),
}

/// Decides whether the message really comes from `who` (the From address's account):
/// through a reply address that is theirs, a DKIM signature by their domain, or a trusted
/// relay's authentication of the From domain. See the README's security section.
fn origin(
    state: &AppState,
    conn: &mut DbConnection,
    proof: &Proof<'_>,
    who: &Principal,
    now: NaiveDateTime,
) -> AppResult<Result<Origin, Refusal>> {
    let intake = &state.settings.intake;
    let from = &proof.parsed.from;
    let relay = relay_verdict(intake, proof);
    // A trusted relay vouched for an envelope at another domain, and nothing vouches for
    // the From domain: somebody else's mail server is writing as our user.
    if let Some((_, verdict)) = &relay {
        if let Some(envelope) = &verdict.envelope_domain {
            if !rules::aligned(envelope, from)
                && proof.dkim.is_none()
                && verdict.from_authenticated_by.is_none()
            {
                return Ok(Err(Refusal::Misaligned {
                    from: from.clone(),
                    envelope: envelope.clone(),
                }));
            }
        }
    }
    if let Some(found) = reply_lead(state, conn, proof, who, now)? {
        return Ok(found.map(|answered| {
            let (lead, meeting) = match answered {
                Answered::Lead(l) => (Some(l), None),
                Answered::Meeting(m) => (None, Some(m)),
            };
            Origin {
                by: "reply_address".into(),
                reply_lead_id: lead,
                reply_consultation_id: meeting,
            }
        }));
    }
    let vouched = relay
        .as_ref()
        .and_then(|(id, v)| v.from_authenticated_by.map(|method| (id, method)));
    let by = match (&proof.dkim, vouched) {
        (Some(domain), _) => format!("dkim:{domain}"),
        (None, Some((id, method))) => format!("relay:{id}:{method}"),
        _ if intake.require_authenticated_sender => {
            return Ok(Err(Refusal::Unauthenticated(from.clone())))
        }
        _ => "unverified".into(),
    };
    Ok(Ok(Origin {
        by,
        reply_lead_id: None,
        reply_consultation_id: None,
    }))
}

/// The results of the first `Authentication-Results` header written by a trusted relay,
/// when the message came through it: over SMTP from one of its addresses, or handed over
/// by the mail server itself (the HTTP route with its token, the pipe).
fn relay_verdict(
    intake: &crate::platform::config::IntakeSettings,
    proof: &Proof<'_>,
) -> Option<(String, rules::RelayVerdict)> {
    if intake.trusted_relays.is_empty() {
        return None;
    }
    // The headers only: the body may be large.
    let raw = proof.raw;
    let head = (0..raw.len())
        .find(|&i| {
            raw[i] == b'\n' && matches!(raw.get(i + 1..), Some([b'\n', ..] | [b'\r', b'\n', ..]))
        })
        .map_or(raw, |i| &raw[..=i]);
    let message = dkim::normalize_newlines(head);
    let (headers, _) = dkim::split(&message);
    let results = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Authentication-Results"))
        .filter_map(|h| {
            let text = String::from_utf8_lossy(h.raw);
            let value = text.split_once(':').map(|(_, v)| v.to_owned())?;
            rules::read_authentication_results(&value.replace("\r\n", " "))
        })
        // The relay writes its header on top; only its first one counts.
        .find(|ar| {
            intake
                .trusted_relays
                .iter()
                .any(|r| r.authserv_id.trim().eq_ignore_ascii_case(&ar.authserv_id))
        })?;
    let relay = intake.trusted_relays.iter().find(|r| {
        r.authserv_id
            .trim()
            .eq_ignore_ascii_case(&results.authserv_id)
    })?;
    let through_it = match proof.envelope.channel {
        "smtp" => proof
            .envelope
            .peer
            .is_some_and(|p| relay.addresses.contains(&p)),
        _ => true,
    };
    through_it.then(|| {
        (
            results.authserv_id.clone(),
            rules::judge(&results, &proof.parsed.from),
        )
    })
}

/// The reply addresses the message was sent to: envelope recipients, and the headers a
/// mail server leaves (Delivered-To, X-Original-To) or the sender wrote (To, Cc). The key
/// in the address is the proof, wherever it is read from.
fn reply_keys(proof: &Proof<'_>, domain: &str) -> Vec<crate::notify::reply_address::Claimed> {
    let mut found = Vec::new();
    let mut add = |a: &str| {
        if let Some(c) = crate::notify::reply_address::read(a, domain) {
            if !found.contains(&c) {
                found.push(c);
            }
        }
    };
    for r in &proof.envelope.recipients {
        add(r);
    }
    for a in &proof.parsed.recipients {
        add(a);
    }
    found
}

/// The lead (or the meeting) a reply address names, when the message was sent to one:
/// `None` without a reply address; a refusal when the address is not valid, belongs to
/// someone else, or its lead was closed long ago.
fn reply_lead(
    state: &AppState,
    conn: &mut DbConnection,
    proof: &Proof<'_>,
    who: &Principal,
    now: NaiveDateTime,
) -> AppResult<Option<Result<Answered, Refusal>>> {
    let claimed = reply_keys(proof, &state.settings.intake.domain);
    if claimed.is_empty() {
        return Ok(None);
    }
    let secret = state
        .service_key
        .derive(crate::platform::keys::Purpose::ReplyAddress);
    let mut others = false;
    for c in &claimed {
        let notice = match crate::notify::outbox::find(conn, &c.outbox_id) {
            Ok(n) => n,
            Err(AppError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let Some(owner) = notice.user_id.as_deref() else {
            continue;
        };
        if !c.verify(&secret, owner) {
            continue;
        }
        if owner != who.id {
            others = true;
            continue;
        }
        let Some(number) = parse::lead_number(&notice.subject) else {
            // An invitation: the meeting of the page it is about.
            let invitation = crate::consultations::rules::answers_invitation(&notice.subject);
            match notice.link.as_deref().filter(|_| invitation) {
                Some(link) if crate::consultations::number_of_linked(conn, link)?.is_some() => {
                    let id = link.trim_start_matches("/consultations/");
                    let id = id.split(['/', '?']).next().unwrap_or_default();
                    return Ok(Some(Ok(Answered::Meeting(id.to_owned()))));
                }
                _ => continue,
            }
        };
        let Some(lead) = leads::find_by_number(conn, &number)? else {
            return Ok(Some(Err(Refusal::NoSuchLead(number))));
        };
        let days = state.settings.intake.reply_address_days;
        if lead
            .closed_at
            .is_some_and(|closed| now - closed > chrono::Duration::days(days))
        {
            return Ok(Some(Err(Refusal::ReplyAddress(format!(
                "线索 {number} 已办结超过 {days} 天，通知邮件的回复地址已停用；如有新情况，请登录平台或重新吹哨"
            )))));
        }
        return Ok(Some(Ok(Answered::Lead(lead.id))));
    }
    Ok(Some(Err(Refusal::ReplyAddress(if others {
        "这个回复地址属于通知的另一位收件人，只能由收到通知的本人从登记的邮箱回复".into()
    } else {
        "回复地址无效（可能被改动过或已过期）；请直接在收到的通知邮件上点“回复”".into()
    }))))
}

/// The active township or department user with this address (any case), or why not.
pub fn sender(conn: &mut DbConnection, address: &str) -> AppResult<Result<Principal, Refusal>> {
    let found = crate::accounts::by_email(conn, address)?;
    let active: Vec<&crate::accounts::User> = found.iter().filter(|u| u.active != 0).collect();
    Ok(match (found.len(), active.as_slice()) {
        (0, _) => Err(Refusal::UnknownSender(address.to_owned())),
        (_, []) => Err(Refusal::DisabledSender(address.to_owned())),
        (_, [u]) => match u.role() {
            Role::Township | Role::Officer | Role::Head | Role::Coordinator => Ok(u.principal()),
            r => Err(Refusal::NotAllowed(format!(
                "发件地址 {address} 属于{}账号，只有街镇和部门的工作人员可以通过邮件反映线索，",
                r.label()
            ))),
        },
        _ => Err(Refusal::AmbiguousSender(address.to_owned())),
    })
}

enum Stored {
    New(String),
    Existing(Box<InboundMessage>),
    Refused(Refusal),
}

/// The key that makes a message unique: its sender and Message-ID (so one sender cannot
/// shadow another's message by reusing its Message-ID), or its content when it has none.
fn message_key(raw: &[u8], parsed: &parse::Parsed) -> String {
    match &parsed.message_id {
        Some(id) => format!(
            "mid:{}:{}",
            parsed.from,
            id.chars().take(800).collect::<String>()
        ),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

fn store(
    conn: &mut DbConnection,
    proof: &Proof<'_>,
    who: &Principal,
    origin: &Origin,
    now: NaiveDateTime,
    per_hour: i64,
) -> AppResult<Stored> {
    let (raw, parsed, envelope) = (proof.raw, proof.parsed, proof.envelope);
    let key = message_key(raw, parsed);
    if let Some(m) = store::by_key(conn, &key)? {
        return Ok(Stored::Existing(Box::new(m)));
    }
    let last_hour = store::count_since(conn, &who.id, now - chrono::Duration::hours(1))?;
    if last_hour >= per_hour {
        return Ok(Stored::Refused(Refusal::TooMany { limit: per_hour }));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let received = store::Received {
        id: &id,
        key: &key,
        message_id: parsed.message_id.as_deref(),
        channel: envelope.channel,
        mail_from: envelope.mail_from.as_deref().map(|m| clip(m, 320)),
        sender: &parsed.from,
        user_id: &who.id,
        subject: clip(&parsed.subject, 500),
        raw,
        origin: &origin.by,
        reply_lead_id: origin.reply_lead_id.as_deref(),
        reply_consultation_id: origin.reply_consultation_id.as_deref(),
        now,
    };
    // Another instance storing the same message at this moment: ours is then the duplicate.
    if !store::insert_received(conn, received)? {
        let existing = store::by_key(conn, &key)?
            .ok_or_else(|| AppError::internal("a message stored at once vanished"))?;
        return Ok(Stored::Existing(Box::new(existing)));
    }
    Ok(Stored::New(id))
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The verdict given the first time, for a message delivered again.
fn replay(conn: &mut DbConnection, m: &InboundMessage) -> AppResult<Verdict> {
    Ok(match (m.status.as_str(), &m.lead_id, &m.consultation_id) {
        ("processed", Some(lead_id), _) => Ok(Accepted {
            message: m.id.clone(),
            outcome: m.outcome.clone().unwrap_or_default(),
            lead_id: lead_id.clone(),
            lead_number: leads::find(conn, lead_id)?.number,
            consultation_id: None,
            consultation_number: None,
            duplicate: true,
            notes: split_notes(&m.notes),
        }),
        ("processed", None, Some(meeting)) => Ok(Accepted {
            message: m.id.clone(),
            outcome: m.outcome.clone().unwrap_or_default(),
            lead_id: String::new(),
            lead_number: String::new(),
            consultation_number: crate::consultations::number_of_linked(
                conn,
                &format!("/consultations/{meeting}"),
            )?,
            consultation_id: Some(meeting.clone()),
            duplicate: true,
            notes: split_notes(&m.notes),
        }),
        _ => Err(Refusal::Invalid(
            m.reason
                .clone()
                .unwrap_or_else(|| "这封邮件此前已收到并处理".into())
                .trim_end_matches("，未受理。")
                .trim_end_matches('。')
                .to_owned(),
        )),
    })
}

fn split_notes(notes: &str) -> Vec<String> {
    notes
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Processes a stored message in one transaction, unless another instance or an earlier
/// attempt already did. `late` marks a message whose sender was already told it was
/// accepted (the sweep): a refusal then reaches the sender as an email. `known` is the
/// message as already read, when the caller has it; otherwise it is read from the record.
fn process_one(
    state: &AppState,
    id: &str,
    late: bool,
    known: Option<&parse::Parsed>,
) -> AppResult<Verdict> {
    let now = state.clock.now_naive();
    let mut verdict = state.db.transaction(|conn| {
        // The guarded update takes the row: a second processor waits, then finds it done.
        let claimed = store::claim(conn, id)?;
        let m = store::find(conn, id)?;
        if claimed == 0 {
            return replay(conn, &m);
        }
        let user = crate::accounts::find(conn, &m.user_id)?;
        let who = user.principal();
        let read;
        let parsed = match known {
            Some(p) => p,
            None => {
                // Checked before storing; read again from the stored bytes.
                let raw = raw(conn, id)?;
                read = parse::parse(&raw).map_err(|u| AppError::internal(u.reason()))?;
                &read
            }
        };
        // A savepoint: whatever the refused message may have written is undone.
        let reply_lead = m.reply_lead_id.as_deref();
        let reply_meeting = m.reply_consultation_id.as_deref();
        let result = conn.transaction(|conn| {
            match apply(state, conn, &who, parsed, reply_lead, reply_meeting, now) {
                Ok(Ok(a)) => Ok(a),
                Ok(Err(r)) => Err(Abort::Refused(r)),
                Err(e) => Err(match refusal_of(&e) {
                    Some(r) => Abort::Refused(r),
                    None => Abort::Failed(e),
                }),
            }
        });
        let verdict = match result {
            Ok(a) => Ok(a),
            Err(Abort::Refused(r)) => Err(r),
            Err(Abort::Failed(e)) => return Err(e),
        };
        record(conn, state, &m, &who, parsed, &verdict, late, now)?;
        Ok(verdict)
    })?;
    if let Ok(a) = &mut verdict {
        a.message = id.to_owned();
    }
    Ok(verdict)
}

/// Why the savepoint of [`apply`] was rolled back.
enum Abort {
    Refused(Refusal),
    Failed(AppError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Failed(e.into())
    }
}

/// Errors of `leads::raise` / `leads::comment` that are the message's fault.
fn refusal_of(e: &AppError) -> Option<Refusal> {
    match e {
        AppError::Validation(errs) => Some(Refusal::Invalid(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        )),
        AppError::Forbidden(m) => Some(Refusal::NotAllowed(m.clone())),
        _ => None,
    }
}

/// Raises the lead or adds the comment. Runs in a savepoint: a refusal leaves nothing.
fn apply(
    state: &AppState,
    conn: &mut DbConnection,
    who: &Principal,
    parsed: &parse::Parsed,
    reply_lead: Option<&str>,
    reply_meeting: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<Verdict> {
    let subject = parse::read_subject(&parsed.subject);
    // An answer to an invitation (报到 by email): its reply address names the meeting, or
    // its subject (or the subject of the email it answers) carries the meeting's number
    // and no lead's. Never a new lead.
    use crate::consultations::rules::{answers_invitation, meeting_number};
    let meeting = match (reply_lead, reply_meeting, &subject.lead_number) {
        (None, Some(id), _) => {
            crate::consultations::number_of_linked(conn, &format!("/consultations/{id}"))?
        }
        (None, None, None) if answers_invitation(&parsed.subject) => {
            meeting_number(&parsed.subject)
        }
        (None, None, None) if !parsed.replied_to.is_empty() => {
            let answered = crate::notify::outbox::subjects_of(conn, &parsed.replied_to)?;
            if answered.iter().any(|s| parse::lead_number(s).is_some()) {
                None
            } else {
                answered
                    .iter()
                    .filter(|s| answers_invitation(s))
                    .find_map(|s| meeting_number(s))
            }
        }
        _ => None,
    };
    if let Some(number) = meeting {
        return invitations::answer(conn, who, parsed, &number, now);
    }
    let mut notes = Vec::new();
    let max = state.settings.http.max_upload_bytes;
    // A reply to a reply address answers that address's lead, whatever its subject says;
    // a reply whose subject lost the number still names, in In-Reply-To or References,
    // the notice it answers; that notice's subject carries the number.
    let number = match (reply_lead, &subject.lead_number) {
        (Some(id), _) => Some(leads::find(conn, id)?.number),
        (None, Some(n)) => Some(n.clone()),
        (None, None) if parsed.replied_to.is_empty() => None,
        (None, None) => crate::notify::outbox::subjects_of(conn, &parsed.replied_to)?
            .iter()
            .find_map(|s| parse::lead_number(s)),
    };
    if let Some(number) = &number {
        let Some(leads::Lead {
            id: lead_id, title, ..
        }) = leads::find_by_number(conn, number)?
        else {
            return Ok(Err(Refusal::NoSuchLead(number.clone())));
        };
        let files = admissible(&parsed.attachments, max, 0, &mut notes);
        let mut text = parse::trim_quoted(&parsed.text);
        if text.is_empty() {
            if files.is_empty() {
                return Ok(Err(Refusal::Empty));
            }
            text = "（通过邮件补充附件）".into();
        }
        let text = fit(&text, 5000, &mut notes);
        let event = match leads::comment(conn, who, &lead_id, Some(text), now) {
            Ok(e) => e,
            Err(AppError::NotFound(_) | AppError::Forbidden(_)) => {
                return Ok(Err(Refusal::NotParty(number.clone())))
            }
            Err(e) => return Err(e),
        };
        let have = files::list(conn, &lead_id)?.len() as i64;
        let files = cap(files, have, &mut notes);
        files::store(conn, who, &lead_id, Some(&event.id), files, max, now)?;
        receipt(
            conn,
            now,
            who,
            &format!("{number} 已收到您的回复"),
            &format!(
                "您的邮件已作为办理意见添加到线索 {number}“{title}”。{}",
                notes_text(&notes)
            ),
            &lead_id,
        )?;
        return Ok(Ok(Accepted {
            message: String::new(),
            outcome: "commented".into(),
            lead_id,
            lead_number: number.clone(),
            consultation_id: None,
            consultation_number: None,
            duplicate: false,
            notes,
        }));
    }

    // A new lead: category and urgency from the tags, the mine from the words.
    let categories: Vec<(String, String)> = crate::reference::lead_categories(conn)?
        .into_iter()
        .filter(|c| c.active != 0)
        .map(|c| (c.code, c.name))
        .collect();
    let mut category = None;
    let mut urgency = None;
    for tag in &subject.tags {
        let t = tag.to_lowercase();
        if matches!(t.as_str(), "紧急" | "急" | "urgent" | "加急") {
            urgency = Some("urgent".to_owned());
        } else if let Some((code, _)) = categories
            .iter()
            .find(|(code, name)| code.eq_ignore_ascii_case(&t) || *name == *tag)
        {
            category.get_or_insert_with(|| code.clone());
        } else {
            notes.push(format!("主题中的标记“{tag}”不是线索类别，已忽略"));
        }
    }
    if category.is_none() {
        notes.push("主题中没有写明线索类别，已交协调机制办公室分办".into());
    }
    let mine = find_mine(conn, who, &subject.rest)?;
    let body = parsed.text.trim();
    let title = if !subject.rest.is_empty() {
        subject.rest.clone()
    } else {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(50).collect())
            .unwrap_or_else(|| "邮件反映的问题".into())
    };
    let title = fit(&title, 100, &mut Vec::new());
    let description = if body.is_empty() {
        title.clone()
    } else {
        fit(body, 5000, &mut notes)
    };
    let files = admissible(&parsed.attachments, max, 0, &mut notes);
    let files = cap(files, 0, &mut notes);
    let input = NewLead {
        title: Some(title),
        description: Some(description),
        category: Some(category.unwrap_or_else(|| "other".into())),
        urgency,
        mine_id: mine.as_ref().map(|(id, _)| id.clone()),
        location: None,
        township: None,
    };
    let view = crate::leads::raise_for(
        state,
        conn,
        who,
        input,
        crate::leads::rules::LeadSource::Email,
        now,
    )?;
    let lead = &view.lead;
    let raised_event = view
        .timeline
        .iter()
        .find(|e| e.kind == "raised")
        .map(|e| e.id.clone());
    files::store(
        conn,
        who,
        &lead.id,
        raised_event.as_deref(),
        files,
        max,
        now,
    )?;
    let assisting: Vec<String> = lead
        .assisting()
        .iter()
        .map(|d| crate::reference::unit_name(conn, d))
        .collect();
    let assisting = if assisting.is_empty() {
        String::new()
    } else {
        format!("协办部门：{}\n", assisting.join("、"))
    };
    receipt(
        conn,
        now,
        who,
        &format!("{} 已受理：{}", lead.number, lead.title),
        &format!(
            "您发送的邮件已登记为线索 {}。\n类别：{}\n主办部门：{}\n{}矿山：{}\n{}\n\n如需补充情况，直接回复本邮件即可（请保留主题中的线索编号）。{}",
            lead.number,
            view.category_name,
            view.primary_department_name,
            assisting,
            mine.map(|(_, n)| n).unwrap_or_else(|| "未识别（可在主题中写矿山名称）".into()),
            lead.routing_reason,
            notes_text(&notes),
        ),
        &lead.id,
    )?;
    Ok(Ok(Accepted {
        message: String::new(),
        outcome: "raised".into(),
        lead_id: lead.id.clone(),
        lead_number: lead.number.clone(),
        consultation_id: None,
        consultation_number: None,
        duplicate: false,
        notes,
    }))
}

fn notes_text(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(
            "\n\n请注意：\n{}",
            notes
                .iter()
                .map(|n| format!("· {n}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// Text within `max` characters; a cut is noted.
fn fit(text: &str, max: usize, notes: &mut Vec<String>) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    notes.push(format!(
        "正文超过 {max} 字，只保存了前 {max} 字；原邮件保存在收件记录中"
    ));
    text.chars().take(max).collect()
}

/// The files within the type and size limits; the others are noted, not refused: one
/// wrong file should not lose the whole report.
fn admissible(
    files: &[Upload],
    max_bytes: usize,
    _have: usize,
    notes: &mut Vec<String>,
) -> Vec<Upload> {
    files
        .iter()
        .filter(|f| {
            match crate::platform::upload::check(std::slice::from_ref(*f), max_bytes, "files") {
                Ok(()) => true,
                Err(errs) => {
                    notes.extend(errs.into_iter().map(|e| format!("{}，未保存", e.message)));
                    false
                }
            }
        })
        .cloned()
        .collect()
}

/// At most as many files as the lead still has room for.
fn cap(mut files: Vec<Upload>, have: i64, notes: &mut Vec<String>) -> Vec<Upload> {
    let room = (files::MAX_PER_LEAD - have).max(0) as usize;
    if files.len() > room {
        for f in files.drain(room..) {
            notes.push(format!(
                "每条线索最多 {} 个附件，文件“{}”未保存",
                files::MAX_PER_LEAD,
                f.file_name
            ));
        }
    }
    files
}

/// The mine named in the subject: one of the sender's township's mines whose name appears
/// in it (the longest), else a word of the subject that is exactly a mine's name.
fn find_mine(
    conn: &mut DbConnection,
    who: &Principal,
    words: &str,
) -> AppResult<Option<(String, String)>> {
    crate::register::mines::find_by_words(conn, who.township.as_deref(), words)
}

/// The automatic reply to the sender (through the outbox).
fn receipt(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    who: &Principal,
    title: &str,
    body: &str,
    lead_id: &str,
) -> AppResult<()> {
    crate::notify::outbox::enqueue(
        conn,
        now,
        std::slice::from_ref(&who.id),
        crate::notify::NoticeKind::IntakeReceipt,
        title,
        body,
        &format!("/leads/{lead_id}"),
    )?;
    Ok(())
}

/// Writes the outcome on the stored message; a refusal of a message already accepted
/// reaches the sender as an email (a bounce of our own, in Chinese).
#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut DbConnection,
    state: &AppState,
    m: &InboundMessage,
    who: &Principal,
    parsed: &parse::Parsed,
    verdict: &Verdict,
    late: bool,
    now: NaiveDateTime,
) -> AppResult<()> {
    let (status, outcome, reason, lead_id, consultation_id, notes) = match verdict {
        Ok(a) => (
            "processed",
            Some(a.outcome.clone()),
            None,
            Some(a.lead_id.clone()).filter(|l| !l.is_empty()),
            a.consultation_id.clone(),
            a.notes.join("\n"),
        ),
        Err(r) => ("refused", None, Some(r.reason()), None, None, String::new()),
    };
    store::finish(
        conn,
        &m.id,
        store::Finished {
            status,
            outcome,
            reason: reason.as_deref(),
            lead_id,
            consultation_id,
            notes,
            now,
        },
    )?;
    // Over SMTP the refusal is the reply to the sender's server; otherwise the district's
    // mail server has accepted the message already, and only we can tell the sender why.
    if let (Err(r), true) = (verdict, late || m.channel != "smtp") {
        crate::notify::outbox::enqueue(
            conn,
            now,
            std::slice::from_ref(&who.id),
            crate::notify::NoticeKind::IntakeRefused,
            &format!("您的邮件未能受理：{}", clip(&parsed.subject, 60)),
            &format!(
                "您发送到{}的邮件“{}”未能受理。\n原因：{}",
                state.settings.intake.address(),
                parsed.subject,
                r.reason()
            ),
            "/leads/new",
        )?;
    }
    Ok(())
}

/// Processes stored messages left unprocessed (a crash between storing and processing, the
/// database away for a moment). Returns how many were processed.
pub async fn sweep(state: &web::Data<AppState>) -> AppResult<usize> {
    let st = state.clone();
    // A message younger than this is most likely being processed by the connection that
    // stored it; the sweep leaves it to that connection.
    let settled = state.clock.now_naive() - chrono::Duration::seconds(30);
    blocking(move || {
        let ids = st.db.read(|conn| store::unprocessed(conn, settled, 50))?;
        let mut done = 0;
        for id in ids {
            match process_one(&st, &id, true, None) {
                Ok(_) => done += 1,
                Err(e) => tracing::warn!(intake.message = %id, error = %e, "stored mail not processed yet"),
            }
        }
        Ok(done)
    })
    .await
}

/// Runs the sweep every `scheduler.tick`, with the deadline checker (the first at once, for
/// messages a previous run left).
pub fn spawn_sweeper(state: web::Data<AppState>) -> Result<tokio::task::JoinHandle<()>, String> {
    let every = crate::platform::rules::duration::parse_duration(&state.settings.scheduler.tick)?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "intake sweep failed");
            }
        }
    }))
}

#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboundQuery {
    /// received | processed | refused
    pub status: Option<String>,
    /// The sender's address (any case).
    pub sender: Option<String>,
    pub lead_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
