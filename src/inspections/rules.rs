//! 综合查一次 (seed 002): the states of an inspection task, the outcomes of its items, the
//! hazards found and the limits that keep inspections from weighing on an enterprise —
//! at most five departments in one visit, no repeat within the window, an annual cap.

use crate::platform::rules::coded_enum;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// "单次入企开展联合检查的执法部门一般不超过5家".
pub const MAX_DEPARTMENTS: usize = 5;

coded_enum! {
    /// What a file of a visit shows.
    FilePurpose {
        Result = "result": "现场照片",
        Hazard = "hazard": "隐患照片",
        Reinspection = "reinspection": "复查佐证",
    }
}

coded_enum! {
    /// 检查任务状态
    InspectionState {
        Planned = "planned": "待实施",
        InProgress = "in_progress": "检查中",
        Completed = "completed": "已完成",
        Archived = "archived": "已归档",
        Cancelled = "cancelled": "已取消",
    }
}

impl InspectionState {
    /// Whether results may still be recorded and the task changed.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Planned | Self::InProgress)
    }

    /// Whether the visit is over and can be rated: completed or archived.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Archived)
    }
}

coded_enum! {
    /// 检查依据
    Basis {
        Plan = "plan": "年度检查计划",
        Lead = "lead": "问题线索",
        Consultation = "consultation": "会商决定",
        Complaint = "complaint": "投诉举报",
        Accident = "accident": "事故调查",
        Order = "order": "上级交办",
    }
}

coded_enum! {
    /// Why a repeat inspection (or one over the annual cap) may still go ahead.
    OverrideKind {
        Complaint = "complaint": "投诉举报",
        Lead = "lead": "问题线索",
        Accident = "accident": "发生事故",
        Order = "order": "上级交办",
    }
}

coded_enum! {
    /// 检查结果
    Outcome {
        Compliant = "compliant": "符合要求",
        Finding = "finding": "发现问题",
        NotChecked = "not_checked": "未检查",
        Recognised = "recognised": "结果互认",
    }
}

coded_enum! {
    /// 企业评价
    Verdict {
        Satisfied = "satisfied": "满意",
        BasicallySatisfied = "basically_satisfied": "基本满意",
        Dissatisfied = "dissatisfied": "不满意",
    }
}

coded_enum! {
    /// 隐患等级
    HazardGrade {
        General = "general": "一般隐患",
        Major = "major": "重大事故隐患",
    }
}

coded_enum! {
    /// 隐患状态
    HazardState {
        Open = "open": "待整改",
        Rectifying = "rectifying": "整改中",
        Verified = "verified": "已复查",
        Closed = "closed": "已销号",
    }
}

impl HazardState {
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed)
    }
}

/// The departments of one visit: the lead department first, then the joint ones in the
/// order given, each once (codes upper-cased). Err names the rule when there are more
/// than `MAX_DEPARTMENTS`.
pub fn departments_of(lead: &str, joint: &[String]) -> Result<Vec<String>, String> {
    let mut all = vec![lead.trim().to_uppercase()];
    for d in joint {
        let d = d.trim().to_uppercase();
        if !d.is_empty() && !all.contains(&d) {
            all.push(d);
        }
    }
    if all.len() > MAX_DEPARTMENTS {
        return Err(format!(
            "单次入企联合检查的部门不能超过 {MAX_DEPARTMENTS} 家（含牵头部门），现为 {} 家：请分批安排，避免增加企业迎检负担",
            all.len()
        ));
    }
    Ok(all)
}

/// What stands against a new task on a mine: the last task of the mine starting within
/// `window_days` before this one's start (a repeat), and the count of the mine's tasks in
/// the year against the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// The mine was inspected (task number, window start) too recently.
    Repeat { number: String, on: NaiveDate },
    /// The mine already has this many tasks this year, the cap.
    Cap { count: i64, cap: u32 },
}

/// Checks a new task starting `from` against the mine's earlier tasks `(number, window
/// start)` (cancelled ones left out by the caller) and the annual cap (0 = none).
pub fn limits(
    from: NaiveDate,
    earlier: &[(String, NaiveDate)],
    in_year: i64,
    window_days: i64,
    cap: u32,
) -> Vec<Limit> {
    let mut out = Vec::new();
    if let Some((number, on)) = earlier
        .iter()
        .filter(|(_, on)| (from - *on).num_days().abs() < window_days)
        .max_by_key(|(_, on)| *on)
    {
        out.push(Limit::Repeat {
            number: number.clone(),
            on: *on,
        });
    }
    if cap > 0 && in_year >= i64::from(cap) {
        out.push(Limit::Cap {
            count: in_year,
            cap,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn five_departments_at_most_each_once() {
        let five: Vec<String> = ["ee", "AGRI", "EM", "drc", "EE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            departments_of("EM", &five).unwrap(),
            ["EM", "EE", "AGRI", "DRC"]
        );
        let six: Vec<String> = ["EE", "AGRI", "DRC", "MIIT", "NR"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = departments_of("EM", &six).unwrap_err();
        assert!(e.contains("不能超过 5 家") && e.contains("6 家"), "{e}");
    }

    #[test]
    fn a_repeat_within_the_window_and_the_cap() {
        let earlier = vec![
            ("JC-1".to_owned(), d("2026-01-10")),
            ("JC-2".to_owned(), d("2026-03-01")),
        ];
        assert_eq!(
            limits(d("2026-05-29"), &earlier, 2, 90, 4),
            vec![Limit::Repeat {
                number: "JC-2".into(),
                on: d("2026-03-01")
            }]
        );
        assert!(
            limits(d("2026-05-30"), &earlier, 2, 90, 4).is_empty(),
            "90 days later is no repeat"
        );
        assert_eq!(
            limits(d("2026-09-01"), &earlier, 4, 90, 4),
            vec![Limit::Cap { count: 4, cap: 4 }]
        );
        assert!(
            limits(d("2026-09-01"), &earlier, 40, 90, 0).is_empty(),
            "no cap configured"
        );
    }
}
