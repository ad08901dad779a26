//! iCalendar (RFC 5545) for meeting invitations and calendar feeds: a VCALENDAR with the
//! Asia/Shanghai VTIMEZONE, events in local time, text escaped and lines folded at 75
//! octets (never inside a character), CRLF line ends. Outlook, Foxmail and phone
//! calendars read it; `METHOD:REQUEST` invites, `METHOD:CANCEL` withdraws (RFC 5546).

use chrono::NaiveDateTime;

/// What the calendar asks of its reader (RFC 5546 iTIP), or a plain feed (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

impl Method {
    fn code(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// A person on an invitation: name and address.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// One meeting.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across every version of the meeting: `HS-2026-007@minecoord` style.
    pub uid: String,
    /// Raised by one on every change (RFC 5545 §3.8.7.4).
    pub sequence: i32,
    /// Local times in Asia/Shanghai.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// When this version was made, in UTC.
    pub stamp: NaiveDateTime,
    pub summary: String,
    pub description: String,
    pub location: String,
    pub url: Option<String>,
    pub organizer: Person,
    pub attendees: Vec<Person>,
    pub cancelled: bool,
}

const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800\r\nTZNAME:CST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and line ends escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (CN=…): quoted, with what a quoted value cannot hold left out.
fn param(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// An address fit for a `mailto:` value: no line breaks, separators or spaces.
fn mailto(email: &str) -> String {
    let clean: String = email
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, ';' | ':' | ',' | '"'))
        .collect();
    format!("mailto:{clean}")
}

/// One content line folded at 75 octets: continuation lines start with a space.
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// A whole calendar: the invitation (`Some(method)`) or a feed of many events (`None`).
pub fn calendar(events: &[Event], method: Option<Method>) -> String {
    let mut out = String::new();
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//minecoord//会商研判//ZH\r\nCALSCALE:GREGORIAN\r\n");
    if let Some(m) = method {
        out.push_str(&format!("METHOD:{}\r\n", m.code()));
    }
    out.push_str(VTIMEZONE);
    for e in events {
        out.push_str("BEGIN:VEVENT\r\n");
        fold(&format!("UID:{}", escape(&e.uid)), &mut out);
        out.push_str(&format!("SEQUENCE:{}\r\n", e.sequence.max(0)));
        out.push_str(&format!("DTSTAMP:{}Z\r\n", local(e.stamp)));
        out.push_str(&format!(
            "DTSTART;TZID=Asia/Shanghai:{}\r\n",
            local(e.start)
        ));
        out.push_str(&format!("DTEND;TZID=Asia/Shanghai:{}\r\n", local(e.end)));
        fold(&format!("SUMMARY:{}", escape(&e.summary)), &mut out);
        if !e.location.is_empty() {
            fold(&format!("LOCATION:{}", escape(&e.location)), &mut out);
        }
        if !e.description.is_empty() {
            fold(&format!("DESCRIPTION:{}", escape(&e.description)), &mut out);
        }
        if let Some(u) = &e.url {
            fold(&format!("URL:{}", escape(u)), &mut out);
        }
        fold(
            &format!(
                "ORGANIZER;CN={}:{}",
                param(&e.organizer.name),
                mailto(&e.organizer.email)
            ),
            &mut out,
        );
        for a in &e.attendees {
            fold(
                &format!(
                    "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{}",
                    param(&a.name),
                    mailto(&a.email)
                ),
                &mut out,
            );
        }
        out.push_str(if e.cancelled {
            "STATUS:CANCELLED\r\n"
        } else {
            "STATUS:CONFIRMED\r\n"
        });
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn event() -> Event {
        Event {
            uid: "HS-2026-001@minecoord".into(),
            sequence: 2,
            start: at("2026-03-10 09:30"),
            end: at("2026-03-10 11:00"),
            stamp: at("2026-03-02 01:00"),
            summary: "关于青山砂石矿越界开采的专题会商;请准时参加, 谢谢".into(),
            description: "议程：\n1. 越界开采\n2. 扬尘".into(),
            location: "区自然资源分局 3 楼会议室".into(),
            url: None,
            organizer: Person {
                name: "区协调办".into(),
                email: "office@example.gov.cn".into(),
            },
            attendees: vec![Person {
                name: "区应急局 \"王\"".into(),
                email: "wang@example.gov.cn".into(),
            }],
            cancelled: false,
        }
    }

    /// Lines unfolded, as a reader sees them.
    fn unfold(ics: &str) -> Vec<String> {
        ics.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_invitation_holds_the_rfc_5545_parts() {
        let ics = calendar(&[event()], Some(Method::Request));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "CRLF line ends only"
        );
        let lines = unfold(&ics);
        for want in [
            "METHOD:REQUEST",
            "TZID:Asia/Shanghai",
            "TZOFFSETTO:+0800",
            "UID:HS-2026-001@minecoord",
            "SEQUENCE:2",
            "DTSTART;TZID=Asia/Shanghai:20260310T093000",
            "DTEND;TZID=Asia/Shanghai:20260310T110000",
            "DTSTAMP:20260302T010000Z",
            "SUMMARY:关于青山砂石矿越界开采的专题会商\\;请准时参加\\, 谢谢",
            "DESCRIPTION:议程：\\n1. 越界开采\\n2. 扬尘",
            "ATTENDEE;CN=\"区应急局 王\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:wang@example.gov.cn",
            "STATUS:CONFIRMED",
        ] {
            assert!(lines.iter().any(|l| l == want), "{want} in\n{ics}");
        }
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut e = event();
        e.description = "会商".repeat(60);
        let ics = calendar(&[e.clone()], Some(Method::Request));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let lines = unfold(&ics);
        assert!(lines.contains(&format!("DESCRIPTION:{}", e.description)));
    }

    #[test]
    fn a_cancellation_says_so() {
        let mut e = event();
        e.cancelled = true;
        e.sequence = 3;
        let ics = calendar(&[e], Some(Method::Cancel));
        let lines = unfold(&ics);
        assert!(lines.iter().any(|l| l == "METHOD:CANCEL"));
        assert!(lines.iter().any(|l| l == "STATUS:CANCELLED"));
        assert!(lines.iter().any(|l| l == "SEQUENCE:3"));
    }

    #[test]
    fn crafted_text_cannot_add_a_property() {
        let mut e = event();
        e.summary = "会商\r\nATTENDEE:mailto:evil@example.com".into();
        e.attendees[0].email = "a@b.cn\r\nATTENDEE:mailto:x@y".into();
        let lines = unfold(&calendar(&[e], None));
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("ATTENDEE")).count(),
            1
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("METHOD")),
            "a feed has no method"
        );
    }
}
