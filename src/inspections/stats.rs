//! 检查指标 (seed 002's three city targets for 2026): per department, the joint-inspection
//! rate (tasks with two or more departments / all tasks led or joined), planned joint
//! inspections carried out (done / planned), enterprise satisfaction ((满意 + 基本满意) /
//! ratings), hazards open, overdue and closed, and repeat-inspection overrides; each rate
//! beside its target.

use chrono::NaiveDate;
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

fn cell<'a>(cells: &'a mut Vec<(String, String, Counts)>, d: &str, m: &str) -> &'a mut Counts {
    let i = match cells.iter().position(|(cd, cm, _)| cd == d && cm == m) {
        Some(i) => i,
        None => {
            cells.push((d.to_owned(), m.to_owned(), Counts::default()));
            cells.len() - 1
        }
    };
    &mut cells[i].2
}

/// Each (department, month)'s counts from the period's figures.
fn by_department_and_month(f: &store::Figures) -> Vec<(String, String, Counts)> {
    let mut cells = Vec::new();
    for p in &f.participation {
        let c = cell(&mut cells, &p.department, &p.month);
        (c.tasks, c.joint_tasks) = (p.tasks, p.joint);
    }
    for r in &f.ratings {
        let c = cell(&mut cells, &r.department, &r.month);
        (c.ratings, c.satisfied) = (r.rated, r.satisfied);
    }
    for h in &f.hazards {
        let c = cell(&mut cells, &h.department, &h.month);
        (c.hazards_open, c.hazards_overdue, c.hazards_closed) = (h.open, h.overdue, h.closed);
    }
    for o in &f.overrides {
        cell(&mut cells, &o.key, &o.month).overrides = o.n;
    }
    cells
}

/// The district's counts by month: each task, rating and hazard once.
fn district(d: &store::DistrictFigures) -> Vec<(String, Counts)> {
    let mut cells: Vec<(String, String, Counts)> = Vec::new();
    for t in &d.tasks {
        let c = cell(&mut cells, "", &t.month);
        (c.tasks, c.joint_tasks) = (t.a, t.b);
    }
    for r in &d.ratings {
        let c = cell(&mut cells, "", &r.month);
        (c.ratings, c.satisfied) = (r.a, r.b);
    }
    for h in &d.hazards {
        let c = cell(&mut cells, "", &h.month);
        (c.hazards_open, c.hazards_overdue, c.hazards_closed) = (h.a, h.b, h.c);
    }
    for o in &d.overrides {
        cell(&mut cells, "", &o.month).overrides = o.a;
    }
    cells.into_iter().map(|(_, m, c)| (m, c)).collect()
}

pub fn stats(
    conn: &mut DbConnection,
    who: &Principal,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    targets: Targets,
) -> AppResult<InspectionStats> {
    authz::require(who, Action::ViewInspections)?;
    let f = store::figures(conn, from, to, today)?;
    let district = district(&store::district_figures(conn, from, to, today)?);
    let of = |v: &[store::Keyed], k: &str| v.iter().find(|x| x.key == k).map_or(0, |x| x.n);
    let cells = by_department_and_month(&f);
    let all = crate::reference::departments(conn)?;
    let names: Vec<(String, String)> = all
        .iter()
        .map(|d| (d.code.clone(), d.name.clone()))
        .collect();
    let name_of = |code: &str| {
        names
            .iter()
            .find(|(c, _)| c == code)
            .map_or_else(|| code.to_owned(), |(_, n)| n.clone())
    };
    let departments = all
        .iter()
        .filter(|d| d.active != 0)
        .map(|d| {
            let mut c = Counts::default();
            for (_, _, x) in cells.iter().filter(|(dep, _, _)| *dep == d.code) {
                c.add(x);
            }
            let c = c.rated();
            let planned = of(&f.planned, &d.code);
            let planned_done = of(&f.planned_done, &d.code);
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
    let mut months: Vec<MonthFigures> = crate::platform::rules::dates::months_between(from, to)
        .into_iter()
        .map(|month| MonthFigures {
            district: district
                .iter()
                .find(|(m, _)| *m == month)
                .map(|(_, c)| c.clone().rated())
                .unwrap_or_default(),
            departments: cells
                .iter()
                .filter(|(_, m, c)| *m == month && !c.is_empty())
                .map(|(d, _, c)| MonthDepartment {
                    department: d.clone(),
                    name: name_of(d),
                    counts: c.clone().rated(),
                })
                .collect(),
            month,
        })
        .collect();
    for m in &mut months {
        m.departments
            .sort_by(|a, b| a.department.cmp(&b.department));
    }
    Ok(InspectionStats {
        from: from.to_string(),
        to: to.to_string(),
        departments,
        months,
        targets,
    })
}
