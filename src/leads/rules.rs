//! Problem leads (问题线索): states, the moves between them, urgency and time limits.
//! "街镇吹哨、部门报到": a lead is routed when raised; the primary department reports in
//! (报到), verifies (核查), enforces (查处) and closes (办结) it, each within a limit.

use crate::platform::rules::coded_enum;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::rules::calendar::WorkingCalendar;
use crate::platform::rules::duration::Span;
use crate::platform::rules::role::Role;

coded_enum! {
    /// 线索状态
    LeadState {
        Routed = "routed": "已分派",
        Acknowledged = "acknowledged": "已报到",
        Verifying = "verifying": "核查中",
        Verified = "verified": "已核查",
        Enforcing = "enforcing": "查处中",
        Closed = "closed": "已办结",
    }
}

coded_enum! {
    /// 紧急程度
    Urgency {
        Urgent = "urgent": "紧急",
        Normal = "normal": "一般",
    }
}

coded_enum! {
    /// 时限环节
    Stage {
        Acknowledge = "acknowledge": "报到",
        Verify = "verify": "核查",
        Close = "close": "办结",
    }
}

coded_enum! {
    /// What the primary department does to move a lead on.
    Move {
        Acknowledge = "acknowledge": "报到",
        StartVerifying = "start_verifying": "开始核查",
        Verify = "verify": "核查结论",
        Enforce = "enforce": "查处",
        Close = "close": "办结",
    }
}

impl LeadState {
    /// Whether `mv` may be made from this state. `substantiated` is the verification
    /// result, where there is one: only a substantiated lead goes on to enforcement.
    pub fn allows(self, mv: Move, substantiated: Option<bool>) -> bool {
        use LeadState::*;
        match mv {
            Move::Acknowledge => self == Routed,
            Move::StartVerifying => self == Acknowledged,
            Move::Verify => matches!(self, Acknowledged | Verifying),
            Move::Enforce => self == Verified && substantiated == Some(true),
            Move::Close => matches!(self, Verified | Enforcing),
        }
    }

    /// The state after `mv`.
    pub fn after(self, mv: Move) -> LeadState {
        match mv {
            Move::Acknowledge => LeadState::Acknowledged,
            Move::StartVerifying => LeadState::Verifying,
            Move::Verify => LeadState::Verified,
            Move::Enforce => LeadState::Enforcing,
            Move::Close => LeadState::Closed,
        }
    }

    /// The moves open from here, for pages and refusals.
    pub fn open_moves(self, substantiated: Option<bool>) -> Vec<Move> {
        Move::ALL
            .iter()
            .copied()
            .filter(|m| self.allows(*m, substantiated))
            .collect()
    }

    pub fn is_open(self) -> bool {
        self != LeadState::Closed
    }
}

impl Move {
    /// The stage whose deadline this move meets.
    pub fn meets(self) -> Option<Stage> {
        match self {
            Move::Acknowledge => Some(Stage::Acknowledge),
            Move::Verify => Some(Stage::Verify),
            Move::Close => Some(Stage::Close),
            Move::StartVerifying | Move::Enforce => None,
        }
    }
}

/// The time limit of each stage for one urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub acknowledge: Span,
    pub verify: Span,
    pub close: Span,
}

impl Limits {
    pub fn of(&self, stage: Stage) -> Span {
        match stage {
            Stage::Acknowledge => self.acknowledge,
            Stage::Verify => self.verify,
            Stage::Close => self.close,
        }
    }
}

/// When a limit counted from `raised_at` (UTC) runs out. Fixed spans are added as they
/// are; working days land at the same local (Asia/Shanghai) clock time on the N-th working
/// day after the day the lead was raised, so a lead raised on Friday afternoon with one
/// working day is due on Monday afternoon, or later across a holiday. `None` when the
/// calendar does not reach that far.
pub fn due_at(
    raised_at: NaiveDateTime,
    span: Span,
    calendar: &WorkingCalendar,
    offset: chrono::FixedOffset,
) -> Option<NaiveDateTime> {
    match span {
        Span::Fixed(d) => Some(raised_at + Duration::from_std(d).ok()?),
        Span::WorkingDays(n) => {
            let local: DateTime<chrono::FixedOffset> =
                Utc.from_utc_datetime(&raised_at).with_timezone(&offset);
            let day = calendar.add_working_days(local.date_naive(), n)?;
            let at = day.and_time(local.time());
            offset
                .from_local_datetime(&at)
                .single()
                .map(|t| t.naive_utc())
        }
    }
}

/// Whether a township's verdict on a closed lead is one of the three.
pub const EVALUATIONS: [(&str, &str); 3] = [
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("dissatisfied", "不满意"),
];

/// The `source` a lead raised by someone in this role records: the same whether it came
/// through the page, the API or (for townships and departments) by email.
pub fn source_of(role: Role) -> &'static str {
    match role {
        Role::Township => "township",
        Role::Coordinator => "coordination",
        _ => "department",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn cal() -> WorkingCalendar {
        let mut c = WorkingCalendar::default();
        c.add_year(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/calendar/2026.toml"
        )))
        .unwrap();
        c
    }

    fn shanghai() -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn local(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        // Local Shanghai time as UTC.
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            - Duration::hours(8)
    }

    #[test]
    fn every_move_from_every_state() {
        use LeadState::*;
        let table = [
            (Routed, vec![Move::Acknowledge]),
            (Acknowledged, vec![Move::StartVerifying, Move::Verify]),
            (Verifying, vec![Move::Verify]),
            (Verified, vec![Move::Close]),
            (Enforcing, vec![Move::Close]),
            (Closed, vec![]),
        ];
        for (state, moves) in table {
            assert_eq!(state.open_moves(Some(false)), moves, "{state:?}");
        }
        assert_eq!(
            Verified.open_moves(Some(true)),
            vec![Move::Enforce, Move::Close]
        );
    }

    #[test]
    fn hours_are_hours_and_working_days_skip_weekends_and_holidays() {
        let c = cal();
        let half_hour = Span::Fixed(std::time::Duration::from_secs(1800));
        assert_eq!(
            due_at(local(2026, 3, 6, 16), half_hour, &c, shanghai()),
            Some(local(2026, 3, 6, 16) + Duration::minutes(30))
        );
        // Friday 2026-03-06 16:00 + 1 working day = Monday 03-09 16:00.
        assert_eq!(
            due_at(local(2026, 3, 6, 16), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 3, 9, 16))
        );
        // Raised on Saturday: the next working day is Monday.
        assert_eq!(
            due_at(local(2026, 3, 7, 10), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 3, 9, 10))
        );
        // 2026-09-30 (Wed): National Day holiday 10-01..10-07, then 10-08 and 10-09 are
        // working days and Saturday 10-10 is a make-up workday.
        assert_eq!(
            due_at(local(2026, 9, 30, 9), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 10, 8, 9))
        );
        assert_eq!(
            due_at(local(2026, 9, 30, 9), Span::WorkingDays(3), &c, shanghai()),
            Some(local(2026, 10, 10, 9))
        );
    }
}
