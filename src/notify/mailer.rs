//! The SMTP transport of the outbox (lettre): the configured connection pool and the
//! message as it goes on the wire. The worker that claims and delivers messages is a
//! background job (`app::jobs`).

use std::time::{Duration as StdDuration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, Message, Tokio1Executor};

use crate::notify::outbox::{self, OutboxMessage};

/// Refuses an `smtp.url` lettre cannot use, at start rather than at the first send.
pub fn check_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| format!("smtp.url 无法使用：{e}"))
}

pub fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>()
        .map_err(|e| format!("smtp.from 不是有效的发件人（如 平台 <noreply@example.gov.cn>）：{e}"))
}

/// The SMTP side of the outbox: absent when `smtp.url` is unset.
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    base_url: String,
    /// The intake's address, when replies to lead notices are taken in.
    reply_to: Option<Mailbox>,
    /// The key of the per-recipient reply addresses (`notify::reply_address`).
    reply_secret: Vec<u8>,
    /// Whether a reply to a message with this subject is taken in (it names a lead, or it
    /// is an invitation): the footer that says what a reply does, if so.
    answerable: fn(&str) -> Option<&'static str>,
}

impl Mailer {
    /// `answerable` tells from a subject whether a reply to it reaches a record (the
    /// intake decides that; the transport only writes the Reply-To and the footer).
    pub fn new(
        settings: &crate::platform::config::Settings,
        timeout: StdDuration,
        answerable: fn(&str) -> Option<&'static str>,
        reply_secret: Vec<u8>,
    ) -> Result<Self, String> {
        let from = parse_from(if settings.smtp.from.is_empty() {
            "minecoord <noreply@minecoord.local>"
        } else {
            &settings.smtp.from
        })?;
        let transport = match settings.smtp.url.as_deref().filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("smtp.url 无法使用：{e}"))?
                    .timeout(Some(timeout))
                    .pool_config(PoolConfig::new().max_size(settings.smtp.pool_size.max(1)))
                    .build(),
            ),
        };
        let reply_to = if settings.intake.enabled() {
            Some(parse_from(&settings.intake.address())?)
        } else {
            None
        };
        Ok(Self {
            reply_to,
            reply_secret,
            answerable,
            transport,
            from,
            base_url: settings
                .http
                .public_base_url
                .trim_end_matches('/')
                .to_owned(),
        })
    }

    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    /// The pooled SMTP transport; `None` while `smtp.url` is unset.
    pub fn transport(&self) -> Option<AsyncSmtpTransport<Tokio1Executor>> {
        self.transport.clone()
    }

    /// The recipient's own reply address for this message: the intake address with a key
    /// naming the message and its recipient. None for a message to no account.
    fn reply_address(&self, intake: &Mailbox, m: &OutboxMessage) -> Option<Mailbox> {
        let user = m.user_id.as_deref()?;
        let token = crate::notify::reply_address::token(&self.reply_secret, &m.id, user)?;
        let address = crate::notify::reply_address::address(intake.email.as_ref(), &token)?;
        Some(Mailbox::new(intake.name.clone(), address.parse().ok()?))
    }

    /// The message as it goes on the wire: its stored Message-ID, subject and both bodies,
    /// with links made absolute.
    pub fn build(&self, m: &OutboxMessage, date: SystemTime) -> Result<Message, String> {
        let to: Mailbox = m
            .recipient
            .parse()
            .map_err(|e| format!("收件地址无效：{e}"))?;
        // A reply to a notice about a lead reaches that lead when the intake is on, through
        // an address that is this recipient's own.
        let replies = (self.answerable)(&m.subject);
        let answerable = self
            .reply_to
            .as_ref()
            .filter(|_| replies.is_some())
            .and_then(|r| self.reply_address(r, m));
        let footer = match (&answerable, replies) {
            (Some(_), Some(footer)) => footer,
            _ => "本邮件由系统发送，请勿直接回复；如需处理请登录平台",
        };
        let fill = |body: &str| {
            body.replace(outbox::BASE, &self.base_url)
                .replace(outbox::REPLY, footer)
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(m.message_id.clone()))
            .date(date)
            // Machine-sent (RFC 3834): autoresponders and Outlook's out-of-office must not
            // answer, so no mail loop starts with the intake.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
                "All".into(),
            ));
        if let Some(r) = answerable {
            builder = builder.reply_to(r);
        }
        let body = match &m.calendar {
            None => MultiPart::alternative_plain_html(fill(&m.body_text), fill(&m.body_html)),
            // An invitation: the calendar beside the two bodies, as calendars expect it
            // (RFC 6047), its METHOD repeated in the content type.
            Some(ics) => {
                let method = ics
                    .lines()
                    .find_map(|l| l.strip_prefix("METHOD:"))
                    .map(str::trim)
                    .filter(|m| m.chars().all(|c| c.is_ascii_alphabetic()))
                    .unwrap_or("PUBLISH");
                let kind =
                    ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                        .map_err(|e| format!("无法生成日历：{e}"))?;
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(fill(&m.body_text)))
                    .singlepart(SinglePart::html(fill(&m.body_html)))
                    .singlepart(SinglePart::builder().header(kind).body(ics.clone()))
            }
        };
        builder
            .multipart(body)
            .map_err(|e| format!("无法生成邮件：{e}"))
    }
}
