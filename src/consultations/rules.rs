//! 会商研判 (DOMAIN.md §5, seed 001): the states of a request and a meeting, the answers
//! an invited unit gives, and the checks on a meeting's time and place.

use crate::platform::rules::coded_enum;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

coded_enum! {
    /// 会商申请状态
    RequestState {
        Pending = "pending": "待安排",
        Convened = "convened": "已安排会商",
        Declined = "declined": "不予会商",
    }
}

coded_enum! {
    /// 会商状态
    MeetingState {
        Scheduled = "scheduled": "已通知",
        Held = "held": "已召开",
        Minuted = "minuted": "纪要已印发",
        Cancelled = "cancelled": "已取消",
    }
}

impl MeetingState {
    /// Whether its time, place and invitations may still change.
    pub fn is_open(self) -> bool {
        self == Self::Scheduled
    }
}

coded_enum! {
    /// 被邀请的一方
    InviteeKind {
        Department = "department": "成员单位",
        Township = "township": "街镇",
        User = "user": "个人",
    }
}

coded_enum! {
    /// 报到情况
    Answer {
        Pending = "pending": "未答复",
        Attending = "attending": "参会",
        Declined = "declined": "请假",
        Absent = "absent": "缺席",
    }
}

coded_enum! {
    /// 会议纪要状态
    MinutesState {
        Draft = "draft": "待审定",
        Approved = "approved": "已审定印发",
    }
}

coded_enum! {
    /// 议定事项的类别：一般工作任务，或确认后发起相应办理的事项
    DecisionKind {
        Task = "task": "工作任务",
        Inspection = "inspection": "联合检查",
        Closure = "closure": "关闭退出",
        Enforcement = "enforcement": "联合执法",
        Lead = "lead": "转办线索",
    }
}

impl DecisionKind {
    /// Whether the decision names a mine (what it opens is about one).
    pub fn needs_mine(self) -> bool {
        matches!(self, Self::Inspection | Self::Closure | Self::Enforcement)
    }
}

coded_enum! {
    /// 督办台账中议定事项的状态
    DecisionState {
        Draft = "draft": "待建账",
        Open = "open": "办理中",
        Reported = "reported": "待查账",
        Closed = "closed": "已销账",
    }
}

impl DecisionState {
    /// In the ledger and not yet closed: it can be reported on and become overdue.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Open | Self::Reported)
    }
}

coded_enum! {
    /// 查账结果
    Review {
        Pending = "pending": "待查账",
        Accepted = "accepted": "已认可",
        Returned = "returned": "已退回",
    }
}

/// At most this many decisions in one set of minutes.
pub const MAX_DECISIONS: usize = 50;
/// At most this many people named present.
pub const MAX_ATTENDEES: usize = 300;
/// At most this many cooperating units on one decision.
pub const MAX_COOPERATING: usize = 10;
/// A deadline lies at most this many days after the minutes.
pub const MAX_DUE_DAYS: i64 = 3 * 366;

/// Whether a decision is overdue on `today`: still live and its deadline passed.
pub fn is_overdue(
    state: DecisionState,
    due_on: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> bool {
    state.is_live() && due_on < today
}

coded_enum! {
    /// 月度报送状态
    ReportState {
        Draft = "draft": "待负责人签发",
        Explained = "explained": "已报送（附情况说明，待负责人签发）",
        Approved = "approved": "已签发报送",
    }
}

/// 月度报送 (seed 001): when each month's report is due and when units are reminded.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportSettings {
    /// Last month's report is due by the end of this day of the month (每月6日前).
    #[serde(default = "default_due_day")]
    pub due_day: u32,
    /// Units that have not filed are reminded on these days (by inbox and email).
    #[serde(default = "default_remind_days")]
    pub remind_days: Vec<u32>,
}

fn default_due_day() -> u32 {
    6
}

fn default_remind_days() -> Vec<u32> {
    vec![3, 5]
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            due_day: default_due_day(),
            remind_days: default_remind_days(),
        }
    }
}

impl ReportSettings {
    /// What is wrong with the settings, in words for the one who set them.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=28).contains(&self.due_day) {
            return Err(format!(
                "reports.due_day 应在 1 到 28 之间（现为 {}）",
                self.due_day
            ));
        }
        if let Some(d) = self
            .remind_days
            .iter()
            .find(|d| **d < 1 || **d > self.due_day)
        {
            return Err(format!(
                "reports.remind_days 中的 {d} 应在 1 到 due_day（{}）之间",
                self.due_day
            ));
        }
        Ok(())
    }
}

/// A report month, "2026-03".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.trim().split_once('-')?;
        let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
        ((2000..=2100).contains(&year) && (1..=12).contains(&month) && m.len() == 2)
            .then_some(Self { year, month })
    }

    pub fn of(day: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        Self {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// The day its report is due: `due_day` of the following month.
    pub fn due_on(self, due_day: u32) -> chrono::NaiveDate {
        let n = self.next();
        chrono::NaiveDate::from_ymd_opt(n.year, n.month, due_day).unwrap_or_else(|| n.first_day())
    }

    /// "2026年3月"
    pub fn label(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Whether a report filed on `filed_on` (Beijing) for `month` is late: after its due day,
/// holidays or not — the notice says by the 6th, and a head who cannot sign in time files
/// with an explanation instead.
pub fn is_late(month: Month, filed_on: chrono::NaiveDate, due_day: u32) -> bool {
    filed_on > month.due_on(due_day)
}

/// At most this many units and people on one meeting.
pub const MAX_INVITEES: usize = 300;
/// At most this many agenda items.
pub const MAX_AGENDA: usize = 30;
/// A meeting lasts at most this long.
pub const MAX_HOURS: i64 = 12;

/// What is wrong with a meeting's time and online link, as (field, message).
pub fn check_time_and_link(
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    now_local: NaiveDateTime,
    online_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if starts_at < now_local {
        errors.push(("starts_at", "会商时间已经过去，请选择今后的时间".to_owned()));
    }
    if ends_at <= starts_at {
        errors.push(("ends_at", "结束时间应晚于开始时间".to_owned()));
    } else if ends_at - starts_at > Duration::hours(MAX_HOURS) {
        errors.push(("ends_at", format!("一次会商不超过 {MAX_HOURS} 小时")));
    }
    if let Some(u) = online_url {
        let lower = u.to_ascii_lowercase();
        if !lower.starts_with("https://")
            || u.len() > 500
            || u.chars().any(|c| c.is_whitespace() || c.is_control())
            || u.len() <= "https://".len()
        {
            errors.push((
                "online_url",
                "线上会议链接须以 https:// 开头，且不含空格".to_owned(),
            ));
        }
    }
    errors
}

/// A meeting's number such as `HS-2026-007` anywhere in a text (an email's subject), not
/// a decision's (`HS-2026-007-1`).
pub fn meeting_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len()).find_map(|i| {
        let w = b.get(i..i + 8)?;
        if !(w[..3].eq_ignore_ascii_case(b"HS-")
            && w[3..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-')
            || (i > 0 && b[i - 1].is_ascii_alphanumeric())
        {
            return None;
        }
        let digits = b[i + 8..].iter().take_while(|c| c.is_ascii_digit()).count();
        let after = b.get(i + 8 + digits);
        let decision =
            after == Some(&b'-') && b.get(i + 9 + digits).is_some_and(u8::is_ascii_digit);
        ((3..=6).contains(&digits) && !decision && after.is_none_or(|c| !c.is_ascii_alphanumeric()))
            .then(|| {
                format!(
                    "HS-{}",
                    std::str::from_utf8(&b[i + 3..i + 8 + digits]).unwrap_or("")
                )
            })
    })
}

/// The headings of the emails a reply to which answers an invitation (报到): the
/// invitation, its change and the reminder; not the cancellation or the minutes.
pub const INVITATION_HEADINGS: [&str; 3] = ["会商通知", "会商变更通知", "请确认参会"];

/// Whether a subject is (a reply to) an invitation to the meeting it names.
pub fn answers_invitation(subject: &str) -> bool {
    meeting_number(subject).is_some() && INVITATION_HEADINGS.iter().any(|h| subject.contains(h))
}

/// What an invited person answered by email: attending (with the attendee's name when
/// they gave it), or not, with their words as the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAnswer {
    pub attending: bool,
    pub attendee_name: Option<String>,
    pub reason: String,
}

const DECLINING: [&str; 12] = [
    "不参加",
    "不能参加",
    "无法参加",
    "不参会",
    "不能参会",
    "无法参会",
    "不出席",
    "无法出席",
    "请假",
    "缺席",
    "decline",
    "拒绝",
];
// Not 「确认」 or 「同意」 alone: 「请确认材料」 and 「同意延期」 are no answers.
const ATTENDING: [&str; 6] = ["参加", "参会", "出席", "报到", "接受", "accept"];

/// Reads the answer to an invitation from the reply's new text and its subject (a mail
/// program's calendar buttons send 「已接受: …」/「Declined: …」 with an iCalendar `PARTSTAT`,
/// given here as `partstat`). Declining words are looked for first (「不参加」 holds 「参加」);
/// the name follows 「参会人」/「参会人员」/「出席人」. `None`: not an answer.
pub fn read_answer(subject: &str, text: &str, partstat: Option<&str>) -> Option<EmailAnswer> {
    let words: String = text.trim().chars().take(500).collect();
    let head = subject.trim().to_lowercase();
    let by_button = match partstat.map(str::to_ascii_uppercase).as_deref() {
        Some("ACCEPTED") => Some(true),
        Some("DECLINED") => Some(false),
        _ if ["accepted:", "已接受", "接受:", "接受："]
            .iter()
            .any(|p| head.starts_with(p)) =>
        {
            Some(true)
        }
        _ if ["declined:", "已拒绝", "拒绝:", "拒绝："]
            .iter()
            .any(|p| head.starts_with(p)) =>
        {
            Some(false)
        }
        _ => None,
    };
    let lower = words.to_lowercase();
    let attending = match by_button {
        Some(a) => a,
        None if DECLINING.iter().any(|w| lower.contains(w)) => false,
        None if ATTENDING.iter().any(|w| lower.contains(w)) => true,
        None => return None,
    };
    let attendee_name = ["参会人员", "参会人", "出席人员", "出席人"]
        .iter()
        .find_map(|k| {
            let at = words.find(k)?;
            let rest = words[at + k.len()..].trim_start_matches([':', '：', ' ', '　', '为', '是']);
            let name: String = rest
                .chars()
                .take_while(|c| {
                    !matches!(
                        c,
                        '\n' | '\r' | '，' | ',' | '。' | '；' | ';' | '、' | '（' | '('
                    )
                })
                .take(100)
                .collect();
            Some(name.trim().to_owned()).filter(|n| !n.is_empty())
        });
    let reason = if attending {
        String::new()
    } else if words.is_empty() {
        "通过邮件日历答复：不参加".to_owned()
    } else {
        words
    };
    Some(EmailAnswer {
        attending,
        attendee_name,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_reported_by_the_sixth_of_the_next_holiday_or_not() {
        let march = Month::parse("2026-03").unwrap();
        assert_eq!(march.to_string(), "2026-03");
        assert_eq!(march.label(), "2026年3月");
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-04-06 is the last day of the 清明 holiday: still the day it is due.
        assert_eq!(march.due_on(6), d("2026-04-06"));
        assert!(!is_late(march, d("2026-04-06"), 6));
        assert!(is_late(march, d("2026-04-07"), 6));
        let december = Month::parse("2026-12").unwrap();
        assert_eq!(december.due_on(6), d("2027-01-06"));
        assert_eq!(december.next().previous(), december);
        for bad in ["2026-3", "2026-13", "1999-01", "x", "2026-00", ""] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        assert!(ReportSettings::default().check().is_ok());
        assert!(ReportSettings {
            due_day: 29,
            remind_days: vec![]
        }
        .check()
        .is_err());
        assert!(ReportSettings {
            due_day: 6,
            remind_days: vec![7]
        }
        .check()
        .is_err());
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_meeting_lies_ahead_ends_after_it_starts_and_links_by_https() {
        let now = at("2026-03-02 09:00");
        assert!(check_time_and_link(
            at("2026-03-03 09:00"),
            at("2026-03-03 11:00"),
            now,
            Some("https://meeting.example.cn/j/1")
        )
        .is_empty());
        let fields =
            |e: Vec<(&'static str, String)>| e.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(
            fields(check_time_and_link(
                at("2026-03-01 09:00"),
                at("2026-03-01 10:00"),
                now,
                None
            )),
            ["starts_at"]
        );
        assert_eq!(
            fields(check_time_and_link(
                at("2026-03-03 09:00"),
                at("2026-03-03 09:00"),
                now,
                None
            )),
            ["ends_at"]
        );
        assert_eq!(
            fields(check_time_and_link(
                at("2026-03-03 09:00"),
                at("2026-03-04 09:00"),
                now,
                None
            )),
            ["ends_at"]
        );
        for bad in [
            "http://meeting.example.cn",
            "javascript:alert(1)",
            "https://",
            "https://a b",
        ] {
            assert_eq!(
                fields(check_time_and_link(
                    at("2026-03-03 09:00"),
                    at("2026-03-03 10:00"),
                    now,
                    Some(bad)
                )),
                ["online_url"],
                "{bad}"
            );
        }
    }

    #[test]
    fn meeting_numbers_in_subjects() {
        assert_eq!(
            meeting_number("回复：会商通知：HS-2026-007 河道采砂"),
            Some("HS-2026-007".into())
        );
        assert_eq!(
            meeting_number("Re: hs-2026-0012"),
            Some("HS-2026-0012".into())
        );
        assert_eq!(
            meeting_number("进展被退回：HS-2026-001-1"),
            None,
            "a decision's number"
        );
        assert_eq!(meeting_number("XHS-2026-001"), None);
        assert_eq!(meeting_number("HS-2026-01"), None, "too short");
        assert_eq!(meeting_number("HS-2026"), None);
        assert_eq!(meeting_number(""), None);
        assert!(answers_invitation("Re: 会商通知：HS-2026-001 河道采砂"));
        assert!(answers_invitation(
            "已接受: 会商变更通知：HS-2026-001 河道采砂"
        ));
        assert!(!answers_invitation("会商取消通知：HS-2026-001 河道采砂"));
        assert!(!answers_invitation("回复：纪要已印发：HS-2026-001"));
    }

    #[test]
    fn answers_read_from_replies() {
        let a = read_answer(
            "回复：会商通知：HS-2026-001 x",
            "参加，参会人：赵副局长\n\n谢谢",
            None,
        )
        .unwrap();
        assert_eq!(
            (a.attending, a.attendee_name.as_deref()),
            (true, Some("赵副局长"))
        );
        let a = read_answer("Re: x", "我单位参会人员为王科长（13800000000）", None).unwrap();
        assert_eq!(a.attendee_name.as_deref(), Some("王科长"));
        let a = read_answer("Re: x", "收到，准时参加", None).unwrap();
        assert_eq!(
            (a.attending, a.attendee_name),
            (true, None),
            "the sender's own name is used"
        );
        let a = read_answer("Re: x", "当天有执法任务，不能参加", None).unwrap();
        assert_eq!(
            (a.attending, a.reason.as_str()),
            (false, "当天有执法任务，不能参加")
        );
        assert!(
            !read_answer("Re: x", "请假：局长外出学习", None)
                .unwrap()
                .attending
        );
        let a = read_answer("Declined: 会商通知：HS-2026-001", "", None).unwrap();
        assert_eq!(
            (a.attending, a.reason.as_str()),
            (false, "通过邮件日历答复：不参加")
        );
        assert!(
            read_answer("已接受: 会商通知：HS-2026-001", "", None)
                .unwrap()
                .attending
        );
        assert!(
            !read_answer("会商通知", "", Some("declined"))
                .unwrap()
                .attending,
            "PARTSTAT decides"
        );
        assert_eq!(
            read_answer("Re: x", "请问会议材料在哪里下载？", None),
            None,
            "a question is not an answer"
        );
        assert_eq!(
            read_answer("Re: x", "请确认会议材料，同意延期一天", None),
            None,
            "nor a word of assent alone"
        );
        let long = "不参加".repeat(400);
        assert!(
            read_answer("Re: x", &long, None)
                .unwrap()
                .reason
                .chars()
                .count()
                <= 500
        );
    }
}
