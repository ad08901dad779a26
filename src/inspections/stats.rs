//! 检查指标 (seed 002's three city targets for 2026): per department, the joint-inspection
//! rate (tasks with two or more departments / all tasks led or joined), planned joint
//! inspections carried out (done / planned), enterprise satisfaction ((满意 + 基本满意) /
//! ratings), hazards open, overdue and closed, and repeat-inspection overrides; each rate
//! beside its target.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::inspections::store;
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepartmentFigures {
    pub department: String,
    pub name: String,
    pub tasks: i64,
    pub joint_tasks: i64,
    /// Percent, one decimal; none without tasks.
    pub joint_rate: Option<f64>,
    pub planned: i64,
    pub planned_done: i64,
    pub plan_done_rate: Option<f64>,
    pub ratings: i64,
    pub satisfied: i64,
    pub satisfaction_rate: Option<f64>,
    pub hazards_open: i64,
    pub hazards_overdue: i64,
    pub hazards_closed: i64,
    pub overrides: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Targets {
    pub joint_rate: f64,
    pub plan_done_rate: f64,
    pub satisfaction_rate: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionStats {
    pub from: String,
    pub to: String,
    pub departments: Vec<DepartmentFigures>,
    /// Month by month (by the first day of each visit), the district and each department.
    pub months: Vec<MonthFigures>,
    pub targets: Targets,
}

impl Targets {
    pub fn of(s: &crate::platform::config::InspectionSettings) -> Self {
        Self {
            joint_rate: s.joint_rate_target,
            plan_done_rate: s.plan_done_target,
            satisfaction_rate: s.satisfaction_target,
        }
    }
}

/// The figures as an Excel workbook, one row per department.
pub fn workbook(s: &InspectionStats) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::{Sheet, Value};
    let n = |v: i64| Value::Number(v as f64);
    let r = |v: Option<f64>| v.map_or(Value::Empty, Value::Number);
    let month_rows = s
        .months
        .iter()
        .flat_map(|m| {
            std::iter::once(("全区".to_owned(), &m.district))
                .chain(m.departments.iter().map(|d| (d.name.clone(), &d.counts)))
                .map(|(name, c)| {
                    vec![
                        Value::Text(m.month.clone()),
                        Value::Text(name),
                        n(c.tasks),
                        n(c.joint_tasks),
                        r(c.joint_rate),
                        n(c.ratings),
                        n(c.satisfied),
                        r(c.satisfaction_rate),
                        n(c.hazards_open),
                        n(c.hazards_overdue),
                        n(c.hazards_closed),
                        n(c.overrides),
                    ]
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let by_month = Sheet {
        name: "按月",
        headers: vec![
            ("月份", 10.0),
            ("部门", 20.0),
            ("检查任务", 10.0),
            ("联合检查", 10.0),
            ("联合检查占比（%）", 16.0),
            ("企业评价", 10.0),
            ("满意", 10.0),
            ("企业满意度（%）", 14.0),
            ("未销号隐患", 12.0),
            ("逾期隐患", 10.0),
            ("已销号隐患", 12.0),
            ("重复检查理由", 12.0),
        ],
        rows: month_rows,
    };
    crate::platform::xlsx::workbook_of(vec![
        Sheet {
            name: "综合查一次指标",
            headers: vec![
                ("统计期间", 24.0),
                ("部门", 20.0),
                ("检查任务", 10.0),
                ("联合检查", 10.0),
                ("部门联合率（%）", 14.0),
                ("计划联合检查", 12.0),
                ("已实施", 10.0),
                ("计划内联合检查实施率（%）", 20.0),
                ("企业评价", 10.0),
                ("满意", 10.0),
                ("企业满意度（%）", 14.0),
                ("未销号隐患", 12.0),
                ("逾期隐患", 10.0),
                ("已销号隐患", 12.0),
                ("重复检查理由", 12.0),
            ],
            rows: s
                .departments
                .iter()
                .map(|d| {
                    vec![
                        Value::Text(format!("{} 至 {}", s.from, s.to)),
                        Value::Text(d.name.clone()),
                        n(d.tasks),
                        n(d.joint_tasks),
                        r(d.joint_rate),
                        n(d.planned),
                        n(d.planned_done),
                        r(d.plan_done_rate),
                        n(d.ratings),
                        n(d.satisfied),
                        r(d.satisfaction_rate),
                        n(d.hazards_open),
                        n(d.hazards_overdue),
                        n(d.hazards_closed),
                        n(d.overrides),
                    ]
                })
                .collect(),
        },
        by_month,
    ])
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// One department's (or the district's) counts in a month or the period.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub tasks: i64,
    pub joint_tasks: i64,
    pub joint_rate: Option<f64>,
    pub ratings: i64,
    pub satisfied: i64,
    pub satisfaction_rate: Option<f64>,
    pub hazards_open: i64,
    pub hazards_overdue: i64,
    pub hazards_closed: i64,
    pub overrides: i64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.tasks += o.tasks;
        self.joint_tasks += o.joint_tasks;
        self.ratings += o.ratings;
        self.satisfied += o.satisfied;
        self.hazards_open += o.hazards_open;
        self.hazards_overdue += o.hazards_overdue;
        self.hazards_closed += o.hazards_closed;
        self.overrides += o.overrides;
    }

    fn rated(mut self) -> Self {
        self.joint_rate = rate(self.joint_tasks, self.tasks);
        self.satisfaction_rate = rate(self.satisfied, self.ratings);
        self
    }

    fn is_empty(&self) -> bool {
        self.tasks + self.ratings + self.hazards_open + self.hazards_closed + self.overrides == 0
    }
}

/// A month's figures: each department with any, and the district's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthFigures {
    /// 2026-03
    pub month: String,
    /// The district: a task counts once however many departments took part.
    pub district: Counts,
    pub departments: Vec<MonthDepartment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthDepartment {
    pub department: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Whole months: the first of `from`'s month to the last of `to`'s (the tallies keep months).
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = from.with_day(1).unwrap_or(from);
    let next = if to.month() == 12 {
        NaiveDate::from_ymd_opt(to.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(to.year(), to.month() + 1, 1)
    };
    (first, next.and_then(|n| n.pred_opt()).unwrap_or(to))
}

fn counts(t: &store::tallies::Tally, overdue: i64) -> Counts {
    Counts {
        tasks: t.tasks,
        joint_tasks: t.joint_tasks,
        ratings: t.ratings,
        satisfied: t.satisfied,
        hazards_open: t.hazards - t.hazards_closed,
        hazards_overdue: overdue,
        hazards_closed: t.hazards_closed,
        overrides: t.overrides,
        ..Default::default()
    }
    .rated()
}

/// The period's figures, whole months, from the tallies (and today's overdue hazards).
pub fn stats(
    conn: &mut DbConnection,
    who: &Principal,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    targets: Targets,
) -> AppResult<InspectionStats> {
    use store::tallies::{self, DISTRICT};
    authz::require(who, Action::ViewInspections)?;
    let (from, to) = whole_months(from, to);
    let rows = tallies::between(conn, &tallies::month_of(from), &tallies::month_of(to))?;
    let overdue = tallies::overdue(conn, from, to, today)?;
    let (planned, planned_done) = store::plan_figures(conn, from, to)?;
    let overdue_of = |d: &str, m: &str| {
        overdue
            .iter()
            .filter(|(od, om, _)| (d == DISTRICT || od == d) && om == m)
            .map(|(_, _, n)| n)
            .sum::<i64>()
    };
    let of = |v: &[store::Keyed], k: &str| v.iter().find(|x| x.key == k).map_or(0, |x| x.n);
    let all = crate::reference::departments(conn)?;
    let name_of = |code: &str| {
        all.iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    };
    let departments = all
        .iter()
        .filter(|d| d.active != 0)
        .map(|d| {
            let mut c = Counts::default();
            for t in rows.iter().filter(|t| t.department == d.code) {
                c.add(&counts(t, overdue_of(&d.code, &t.month)));
            }
            let c = c.rated();
            let planned = of(&planned, &d.code);
            let planned_done = of(&planned_done, &d.code);
            DepartmentFigures {
                department: d.code.clone(),
                name: d.name.clone(),
                tasks: c.tasks,
                joint_tasks: c.joint_tasks,
                joint_rate: c.joint_rate,
                planned,
                planned_done,
                plan_done_rate: rate(planned_done, planned),
                ratings: c.ratings,
                satisfied: c.satisfied,
                satisfaction_rate: c.satisfaction_rate,
                hazards_open: c.hazards_open,
                hazards_overdue: c.hazards_overdue,
                hazards_closed: c.hazards_closed,
                overrides: c.overrides,
            }
        })
        .collect();
    let months = crate::platform::rules::dates::months_between(from, to)
        .into_iter()
        .map(|month| MonthFigures {
            district: rows
                .iter()
                .find(|t| t.department == DISTRICT && t.month == month)
                .map(|t| counts(t, overdue_of(DISTRICT, &month)))
                .unwrap_or_default(),
            departments: rows
                .iter()
                .filter(|t| t.department != DISTRICT && t.month == month)
                .map(|t| MonthDepartment {
                    department: t.department.clone(),
                    name: name_of(&t.department),
                    counts: counts(t, overdue_of(&t.department, &month)),
                })
                .filter(|d| !d.counts.is_empty())
                .collect(),
            month,
        })
        .collect();
    Ok(InspectionStats {
        from: from.to_string(),
        to: to.to_string(),
        departments,
        months,
        targets,
    })
}
