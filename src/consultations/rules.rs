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

#[cfg(test)]
mod tests {
    use super::*;

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
}
