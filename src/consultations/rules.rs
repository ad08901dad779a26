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
