//! 关闭退出 (DOMAIN.md §7, seed 001): the kinds of closure case and the unit owning each,
//! the states of a case and its tasks, the tailings pond's clock (闭库销号) and its one
//! extension, and when a closed mine is due a check.

use crate::platform::rules::coded_enum;
use crate::platform::rules::dates::add_months;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

coded_enum! {
    /// 关闭退出类型
    ClosureKind {
        GovernmentDecision = "government_decision": "政府决定关闭",
        BanIllegal = "ban_illegal": "取缔非法矿山",
        Unsafe = "unsafe": "不具备安全生产条件关闭",
        TailingsClosure = "tailings_closure": "尾矿库闭库",
        RightExpired = "right_expired": "采矿权到期关闭",
        PolicyElimination = "policy_elimination": "产业政策淘汰关闭",
    }
}

coded_enum! {
    /// 案件状态: open (tasks under way), accepting (every task done or waived, awaiting
    /// 验收), accepted (验收通过, the mine closed), rejected (验收未通过, tasks to redo).
    CaseState {
        Open = "open": "办理中",
        Accepting = "accepting": "待验收",
        Accepted = "accepted": "验收通过",
        Rejected = "rejected": "验收未通过",
    }
}

coded_enum! {
    /// 任务状态
    TaskState {
        Open = "open": "待完成",
        Done = "done": "已完成",
        Waived = "waived": "已免除",
    }
}

coded_enum! {
    /// 立案依据
    Basis {
        Consultation = "consultation": "会商议定事项",
        Lead = "lead": "问题线索",
        Hazard = "hazard": "检查发现的隐患",
        Document = "document": "文件",
    }
}

coded_enum! {
    /// 巡查结果
    PatrolOutcome {
        NothingFound = "nothing_found": "未发现异常",
        SuspectedRestart = "suspected_restart": "疑似复产",
    }
}

impl ClosureKind {
    /// The units that own (and may open) a case of this kind: NR executes government-decided
    /// closures, bans and closures on expiry; EM guides closures for lacking safety
    /// conditions and tailings pond closure; DRC and MIIT eliminate backward capacity. The
    /// first is the owner when the office opens the case.
    pub fn owners(self) -> &'static [&'static str] {
        match self {
            Self::GovernmentDecision | Self::BanIllegal | Self::RightExpired => &["NR"],
            Self::Unsafe | Self::TailingsClosure => &["EM"],
            Self::PolicyElimination => &["DRC", "MIIT"],
        }
    }

    /// Whether the mine must be a tailings pond (闭库) or an illegal site may be banned.
    pub fn is_tailings(self) -> bool {
        self == Self::TailingsClosure
    }
}

impl CaseState {
    /// Cases still being worked on (at most one a mine).
    pub fn is_live(self) -> bool {
        self != Self::Accepted
    }
}

/// The longest extension of a tailings pond's closure, in months, granted once.
pub const MAX_EXTENSION_MONTHS: u32 = 6;

/// 闭库销号's clock, from the planned stop: the closure design is due 12 months before it
/// and the closure (with de-registration) one year after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailingsClock {
    pub design_due_on: NaiveDate,
    pub closure_due_on: NaiveDate,
}

pub fn tailings_clock(stop_on: NaiveDate) -> Option<TailingsClock> {
    Some(TailingsClock {
        design_due_on: stop_on.checked_sub_months(chrono::Months::new(12))?,
        closure_due_on: add_months(stop_on, 12)?,
    })
}

/// Why an extension of the tailings clock is refused, if it is: at most six months, once.
pub fn extension_refused(already: i32, months: i64) -> Option<String> {
    if already > 0 {
        return Some(format!(
            "闭库期限已延长过一次（{already} 个月），不能再次延长。"
        ));
    }
    if !(1..=i64::from(MAX_EXTENSION_MONTHS)).contains(&months) {
        return Some(format!("延长期限应为 1 到 {MAX_EXTENSION_MONTHS} 个月。"));
    }
    None
}

/// A task's deadline from its template: `due_days` after the start (the decision, or a
/// tailings pond's planned stop), the design (`due_days` < 0) on the clock's design date,
/// never after the case's target date.
pub fn task_due(
    start: NaiveDate,
    due_days: i32,
    design_due_on: Option<NaiveDate>,
    target_on: NaiveDate,
) -> NaiveDate {
    let due = match (due_days < 0, design_due_on) {
        (true, Some(d)) => d,
        _ => start
            .checked_add_signed(chrono::Duration::days(i64::from(due_days)))
            .unwrap_or(target_on),
    };
    due.min(target_on)
}

/// Whether a closed mine last checked on `last` (patrol or inspection) is due a check
/// `months` later.
pub fn check_due(last: Option<NaiveDate>, today: NaiveDate, months: u32) -> bool {
    match last {
        None => true,
        Some(d) => add_months(d, months).is_none_or(|due| due <= today),
    }
}

/// The state a case reaches from its tasks: accepting once none is open (the redo after a
/// failed acceptance included), otherwise it stays as it is.
pub fn state_after_tasks(current: CaseState, open_tasks: usize) -> CaseState {
    match current {
        CaseState::Open | CaseState::Rejected if open_tasks == 0 => CaseState::Accepting,
        CaseState::Accepting if open_tasks > 0 => CaseState::Open,
        s => s,
    }
}

/// `[closures]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct ClosureSettings {
    /// A closed mine not checked (patrol or inspection) within this many months is listed
    /// as due on the watch list.
    #[serde(default = "default_check_months")]
    pub check_months: u32,
    /// A task or a case is reminded this many days before its deadline (and escalated the
    /// day after it), once each.
    #[serde(default = "default_remind_days")]
    pub remind_days: i64,
}

fn default_check_months() -> u32 {
    6
}

fn default_remind_days() -> i64 {
    7
}

impl Default for ClosureSettings {
    fn default() -> Self {
        Self {
            check_months: default_check_months(),
            remind_days: default_remind_days(),
        }
    }
}

impl ClosureSettings {
    /// What is wrong with the settings, in words for the one who set them.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=60).contains(&self.check_months) {
            return Err(format!(
                "closures.check_months 应在 1 到 60 之间（现为 {}）",
                self.check_months
            ));
        }
        if !(0..=90).contains(&self.remind_days) {
            return Err(format!(
                "closures.remind_days 应在 0 到 90 之间（现为 {}）",
                self.remind_days
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_tailings_clock_runs_a_year_each_side_of_the_stop() {
        let c = tailings_clock(d("2027-06-30")).unwrap();
        assert_eq!(c.design_due_on, d("2026-06-30"));
        assert_eq!(c.closure_due_on, d("2028-06-30"));
        // The end of February in a leap year is kept within the month.
        let c = tailings_clock(d("2028-02-29")).unwrap();
        assert_eq!(c.design_due_on, d("2027-02-28"));
        assert_eq!(c.closure_due_on, d("2029-02-28"));
        assert!(tailings_clock(NaiveDate::MAX).is_none());
    }

    #[test]
    fn one_extension_of_at_most_six_months() {
        assert_eq!(extension_refused(0, 6), None);
        assert_eq!(extension_refused(0, 1), None);
        assert!(extension_refused(0, 7).unwrap().contains("1 到 6"));
        assert!(extension_refused(0, 0).is_some());
        assert!(extension_refused(0, -3).is_some());
        assert!(extension_refused(3, 2).unwrap().contains("已延长过一次"));
    }

    #[test]
    fn a_task_is_due_from_its_start_and_never_after_the_target() {
        let target = d("2026-12-31");
        assert_eq!(task_due(d("2026-03-01"), 30, None, target), d("2026-03-31"));
        assert_eq!(task_due(d("2026-03-01"), 900, None, target), target);
        assert_eq!(
            task_due(d("2026-03-01"), -365, Some(d("2026-05-01")), target),
            d("2026-05-01")
        );
        // No design date (not a tailings pond): counted like any other.
        assert_eq!(task_due(d("2026-03-01"), -1, None, target), d("2026-02-28"));
        assert_eq!(task_due(NaiveDate::MAX, 30, None, target), target);
    }

    #[test]
    fn the_owners_of_each_kind() {
        assert_eq!(ClosureKind::GovernmentDecision.owners(), ["NR"]);
        assert_eq!(ClosureKind::BanIllegal.owners(), ["NR"]);
        assert_eq!(ClosureKind::Unsafe.owners(), ["EM"]);
        assert_eq!(ClosureKind::TailingsClosure.owners(), ["EM"]);
        assert_eq!(ClosureKind::PolicyElimination.owners(), ["DRC", "MIIT"]);
    }

    #[test]
    fn a_closed_mine_is_due_a_check_after_the_period() {
        let today = d("2026-12-03");
        assert!(check_due(None, today, 6));
        assert!(!check_due(Some(d("2026-06-04")), today, 6));
        assert!(check_due(Some(d("2026-06-03")), today, 6));
        assert!(check_due(Some(d("2025-01-01")), today, 6));
    }

    #[test]
    fn the_case_waits_for_acceptance_once_no_task_is_open() {
        use CaseState::*;
        assert_eq!(state_after_tasks(Open, 0), Accepting);
        assert_eq!(state_after_tasks(Open, 2), Open);
        assert_eq!(state_after_tasks(Rejected, 0), Accepting);
        assert_eq!(state_after_tasks(Rejected, 1), Rejected);
        assert_eq!(state_after_tasks(Accepting, 1), Open);
        assert_eq!(state_after_tasks(Accepted, 0), Accepted);
    }
}
