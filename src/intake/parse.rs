//! Reading an inbound message: who sent it, what it says and what it carries, whatever the
//! sender's mail program made of it (GBK or GB18030 bodies, encoded-word subjects, base64
//! or quoted-printable, HTML only, nested multiparts, inline images), and the parts of the
//! subject and body that mean something here: a lead number, bracketed tags, a quoted
//! history to leave out of a comment. Pure functions: no database, no clock.

use mail_parser::{MessageParser, MimeHeaders};

use crate::platform::upload::Upload;

/// A message as the intake uses it.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The Message-ID header, without angle brackets.
    pub message_id: Option<String>,
    /// The sender's address from the From header, in lower case.
    pub from: String,
    pub subject: String,
    /// The text of the message: its plain-text parts, or its HTML reduced to text.
    pub text: String,
    /// Files and inline images, in the order they appear.
    pub attachments: Vec<Upload>,
    /// The Message-IDs this message answers (In-Reply-To, then References, newest first),
    /// in angle brackets as the outbox stores its own.
    pub replied_to: Vec<String>,
    /// The addresses it was sent to, as its headers say (To, Cc, and the Delivered-To /
    /// X-Original-To a mail server adds), in lower case; at most 50.
    pub recipients: Vec<String>,
    /// An automatic message (vacation reply, bounce, delivery report): never taken in, so
    /// two automatic responders cannot answer each other for ever.
    pub automatic: bool,
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Nothing that looks like a message header.
    NotAMessage,
    /// No From address, or one that is not an address.
    NoSender,
    /// More than one address in From: whom to act for is unclear.
    SeveralSenders,
}

impl Unreadable {
    pub fn reason(&self) -> &'static str {
        match self {
            Unreadable::NotAMessage => "邮件格式无法识别",
            Unreadable::NoSender => "邮件没有有效的发件人（From）",
            Unreadable::SeveralSenders => "邮件的发件人（From）有多个地址，无法确定由谁反映",
        }
    }
}

/// Reads a raw RFC 5322 message. Never panics, whatever the bytes.
pub fn parse(raw: &[u8]) -> Result<Parsed, Unreadable> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(Unreadable::NotAMessage);
    }
    let from = message.from().ok_or(Unreadable::NoSender)?;
    let mut addresses = from.iter().filter_map(|a| a.address());
    let address = addresses.next().ok_or(Unreadable::NoSender)?;
    if addresses.next().is_some() {
        return Err(Unreadable::SeveralSenders);
    }
    let address = address.trim().to_lowercase();
    let valid = address
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !address.contains(char::is_whitespace);
    if !valid {
        return Err(Unreadable::NoSender);
    }

    let mut text = String::new();
    for i in 0..message.text_body_count() {
        if let Some(t) = message.body_text(i) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&t);
        }
    }
    let text = text.replace("\r\n", "\n").replace('\u{a0}', " ");

    let attachments = message
        .attachments()
        .enumerate()
        .filter(|(_, p)| !p.is_multipart())
        .map(|(i, p)| {
            let content_type = p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let file_name = p
                .attachment_name()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    let ext = content_type.rsplit('/').next().unwrap_or("bin");
                    format!("附件{}.{}", i + 1, if ext == "jpeg" { "jpg" } else { ext })
                });
            Upload {
                field: String::new(),
                file_name,
                content_type,
                bytes: p.contents().to_vec(),
            }
        })
        .collect();

    let header_text = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let auto_submitted = header_text("Auto-Submitted").is_some_and(|v| v != "no");
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let precedence = header_text("Precedence")
        .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let daemon = address.starts_with("mailer-daemon@") || address.starts_with("postmaster@");
    let automatic = auto_submitted
        || report
        || precedence
        || daemon
        || header_text("X-Autoreply").is_some()
        || header_text("X-Autorespond").is_some();

    let mut replied_to: Vec<String> = Vec::new();
    for header in [message.in_reply_to(), message.references()] {
        for id in header.as_text_list().unwrap_or_default().iter().rev() {
            let id = format!("<{}>", id.trim().trim_matches(['<', '>']));
            if id.len() > 2 && id.len() <= 250 && !replied_to.contains(&id) && replied_to.len() < 20
            {
                replied_to.push(id);
            }
        }
    }

    let mut recipients: Vec<String> = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        recipients.extend(
            list.iter()
                .filter_map(|a| a.address())
                .map(str::to_lowercase),
        );
    }
    for name in ["Delivered-To", "X-Original-To"] {
        for value in message.header_values(name) {
            if let Some(v) = value.as_text() {
                recipients.push(v.trim().to_lowercase());
            }
        }
    }
    recipients.truncate(50);

    Ok(Parsed {
        replied_to,
        recipients,
        message_id: message
            .message_id()
            .map(|m| m.trim().trim_matches(['<', '>']).to_owned())
            .filter(|m| !m.is_empty()),
        from: address,
        subject: message
            .subject()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        text,
        attachments,
        automatic,
    })
}

/// What the subject says besides its words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// A lead number such as `XS-2026-000123` anywhere in it: the message answers that lead.
    pub lead_number: Option<String>,
    /// Leading bracketed tags: `[扬尘]`, `【紧急】`, `［dust］`.
    pub tags: Vec<String>,
    /// The subject without reply prefixes, our own prefix and the tags.
    pub rest: String,
}

/// Reply and forward prefixes of the usual mail programs, and our own subject prefix.
const PREFIXES: [&str; 14] = [
    "re:",
    "re：",
    "fw:",
    "fw：",
    "fwd:",
    "fwd：",
    "aw:",
    "回复:",
    "回复：",
    "答复:",
    "答复：",
    "转发:",
    "转发：",
    "【矿山协调】",
];

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits a subject into lead number, tags and the rest.
pub fn read_subject(subject: &str) -> Subject {
    let mut s = subject.trim();
    let mut tags = Vec::new();
    loop {
        let before = s;
        for p in PREFIXES {
            if let Some(rest) = strip_prefix_ci(s, p) {
                s = rest.trim_start();
            }
        }
        for (open, close) in [('[', ']'), ('【', '】'), ('［', '］')] {
            if let Some(inner) = s.strip_prefix(open) {
                if let Some(end) = inner.find(close) {
                    let tag = inner[..end].trim();
                    if !tag.is_empty() {
                        tags.push(tag.to_owned());
                    }
                    s = inner[end + close.len_utf8()..].trim_start();
                }
            }
        }
        if s == before {
            break;
        }
    }
    Subject {
        lead_number: lead_number(subject),
        tags,
        rest: s.trim().to_owned(),
    }
}

/// The first lead number in the text: `XS-` (any case), four digits, `-`, six digits.
pub fn lead_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(13)).find_map(|i| {
        let w = &b[i..i + 14];
        let shape = w[..3].eq_ignore_ascii_case(b"XS-")
            && w[3..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..14].iter().all(u8::is_ascii_digit);
        let bounded = b.get(i + 14).is_none_or(|c| !c.is_ascii_digit())
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        (shape && bounded).then(|| format!("XS-{}", std::str::from_utf8(&w[3..]).unwrap_or("")))
    })
}

/// The new part of a reply: the text above the quoted history that Outlook, Foxmail, the
/// phone mail apps and web mail put below it, without `>` quoted lines or a signature.
pub fn trim_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim().trim_start_matches(['*', ' ']);
        let lower = t.to_lowercase();
        let separator = (t.starts_with("---") || t.starts_with("———") || t.starts_with("___"))
            && (lower.contains("original message")
                || t.contains("原始邮件")
                || t.contains("原始信息")
                || t.contains("原邮件")
                || lower.contains("forwarded message")
                || t.contains("转发邮件"));
        let underline_then_header = t.len() >= 10
            && t.chars().all(|c| c == '_')
            && lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| is_header_line(l));
        let header_block = is_from_line(t)
            && lines[i + 1..]
                .iter()
                .take(4)
                .any(|l| is_header_line(l) && !is_from_line(l.trim()));
        let attribution = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || (t.starts_with('在') && (t.ends_with("写道：") || t.ends_with("写道:")))
            || (lower.starts_with("on ")
                && lines
                    .get(i + 1)
                    .is_some_and(|n| n.trim().to_lowercase().ends_with("wrote:")));
        let signature = *line == "-- " || *line == "--";
        if separator || underline_then_header || header_block || attribution || signature {
            end = i;
            break;
        }
    }
    let kept: Vec<&str> = lines[..end]
        .iter()
        .filter(|l| !l.trim_start().starts_with('>'))
        .copied()
        .collect();
    kept.join("\n").trim().to_owned()
}

fn is_from_line(t: &str) -> bool {
    let t = t.trim().trim_start_matches(['*', ' ']);
    ["from:", "from：", "发件人:", "发件人："]
        .iter()
        .any(|p| strip_prefix_ci(t, p).is_some())
}

fn is_header_line(l: &str) -> bool {
    let t = l.trim().trim_start_matches(['*', ' ']);
    [
        "from:",
        "from：",
        "sent:",
        "date:",
        "to:",
        "subject:",
        "cc:",
        "发件人:",
        "发件人：",
        "发送时间:",
        "发送时间：",
        "时间:",
        "时间：",
        "日期:",
        "日期：",
        "收件人:",
        "收件人：",
        "主题:",
        "主题：",
        "抄送:",
        "抄送：",
    ]
    .iter()
    .any(|p| strip_prefix_ci(t, p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_give_number_tags_and_rest() {
        let s = read_subject("Re: 回复：【矿山协调】XS-2026-000123 新线索（一般）：扬尘");
        assert_eq!(s.lead_number.as_deref(), Some("XS-2026-000123"));
        let s = read_subject(" [扬尘]【紧急】 青山砂石矿 扬尘严重 ");
        assert_eq!(s.tags, vec!["扬尘", "紧急"]);
        assert_eq!(s.rest, "青山砂石矿 扬尘严重");
        assert_eq!(s.lead_number, None);
        let s = read_subject("FW: ［dust］青山");
        assert_eq!(s.tags, vec!["dust"]);
        assert_eq!(s.rest, "青山");
        // An unclosed bracket is words, not a tag.
        assert_eq!(read_subject("[扬尘 青山").rest, "[扬尘 青山");
        assert_eq!(
            lead_number("见 xs-2026-000001。"),
            Some("XS-2026-000001".into())
        );
        assert_eq!(lead_number("XS-2026-0000012"), None);
        assert_eq!(lead_number("AXS-2026-000001"), None);
        assert_eq!(lead_number("XS-2026-00001"), None);
    }

    #[test]
    fn quoted_history_is_left_out() {
        let outlook = "已到现场核实，情况属实。\n\n________________________________\n发件人: 平台 <noreply@x>\n发送时间: 2026年11月20日 9:00\n主题: XS\n\n原文";
        assert_eq!(trim_quoted(outlook), "已到现场核实，情况属实。");
        let foxmail = "收到\n\n\n------------------ 原始邮件 ------------------\n发件人: \"平台\"\n发送时间: 2026年11月20日\n";
        assert_eq!(trim_quoted(foxmail), "收到");
        let gmail = "好的\n\nOn Fri, Nov 20, 2026 at 9:00 AM 平台 <a@b.cn>\nwrote:\n> 原文";
        assert_eq!(trim_quoted(gmail), "好的");
        let phone = "明天去\n\n在 2026年11月20日，09:00，平台 <a@b.cn> 写道：\n\n> 原文";
        assert_eq!(trim_quoted(phone), "明天去");
        let inline = "第一段\n> 引用\n第二段\n-- \n张三\n街道办";
        assert_eq!(trim_quoted(inline), "第一段\n第二段");
        let english = "ok\n-----Original Message-----\nFrom: x\nSent: y";
        assert_eq!(trim_quoted(english), "ok");
        // A sentence that merely starts with "From:" is kept when no header block follows.
        assert_eq!(
            trim_quoted("From: 村民反映\n矿山夜间作业"),
            "From: 村民反映\n矿山夜间作业"
        );
    }

    #[test]
    fn a_message_without_sender_is_unreadable() {
        assert_eq!(parse(b"").unwrap_err(), Unreadable::NotAMessage);
        assert_eq!(
            parse(b"Subject: x\r\n\r\nbody").unwrap_err(),
            Unreadable::NoSender
        );
        assert_eq!(
            parse(b"From: a@b.cn, c@d.cn\r\nSubject: x\r\n\r\nbody").unwrap_err(),
            Unreadable::SeveralSenders
        );
        let p = parse(b"From: Zhang <Zhang.Wei@BEHT.gov.cn>\r\nSubject: =?UTF-8?B?5oms5bCY?=\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n").unwrap();
        assert_eq!(p.from, "zhang.wei@beht.gov.cn");
        assert_eq!(p.subject, "扬尘");
        assert_eq!(p.message_id.as_deref(), Some("a@b"));
        assert!(!p.automatic);
    }

    /// Arbitrary bytes, and messages cut or corrupted anywhere, never make the parser or
    /// the subject and quote readers panic (a property test with a fixed seed).
    #[test]
    fn arbitrary_bytes_never_panic() {
        use rand::{Rng, RngCore, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x6d696e65);
        let seed = b"From: =?GBK?B?1cXI/Q==?= <a@b.cn>\r\nSubject: =?gb18030?Q?=D1=EF=B3=BE?= [x] XS-2026-000001\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html; charset=gbk\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=D1=EF</p>\r\n--b\r\nContent-Type: image/jpeg; name=\"a.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n";
        for round in 0..4000 {
            let mut bytes = if round % 4 == 0 {
                let mut v = vec![0u8; rng.random_range(0..512)];
                rng.fill_bytes(&mut v);
                v
            } else {
                seed.to_vec()
            };
            for _ in 0..rng.random_range(0..8) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..4) {
                    0 => bytes[at] = rng.random(),
                    1 => bytes.truncate(at),
                    2 => bytes.insert(
                        at,
                        *b"\r\n=?:;<>[]\"-\xe3\x80"
                            .get(rng.random_range(0..15))
                            .unwrap_or(&0),
                    ),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            if let Ok(p) = parse(&bytes) {
                let s = read_subject(&p.subject);
                let _ = trim_quoted(&p.text);
                assert!(s.rest.len() <= p.subject.len());
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = read_subject(&text);
            let _ = trim_quoted(&text);
        }
    }
}
