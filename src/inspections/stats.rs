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
    crate::platform::xlsx::workbook(Sheet {
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
    })
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
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
    let of = |v: &[store::Keyed], k: &str| v.iter().find(|x| x.key == k).map_or(0, |x| x.n);
    let departments = crate::reference::departments(conn)?
        .into_iter()
        .filter(|d| d.active != 0)
        .map(|d| {
            let p = f.participation.iter().find(|p| p.department == d.code);
            let r = f.ratings.iter().find(|r| r.department == d.code);
            let h = f.hazards.iter().find(|h| h.department == d.code);
            let (tasks, joint) = p.map_or((0, 0), |p| (p.tasks, p.joint));
            let (rated, satisfied) = r.map_or((0, 0), |r| (r.rated, r.satisfied));
            let planned = of(&f.planned, &d.code);
            let planned_done = of(&f.planned_done, &d.code);
            DepartmentFigures {
                department: d.code.clone(),
                name: d.name.clone(),
                tasks,
                joint_tasks: joint,
                joint_rate: rate(joint, tasks),
                planned,
                planned_done,
                plan_done_rate: rate(planned_done, planned),
                ratings: rated,
                satisfied,
                satisfaction_rate: rate(satisfied, rated),
                hazards_open: h.map_or(0, |h| h.open),
                hazards_overdue: h.map_or(0, |h| h.overdue),
                hazards_closed: h.map_or(0, |h| h.closed),
                overrides: of(&f.overrides, &d.code),
            }
        })
        .collect();
    Ok(InspectionStats {
        from: from.to_string(),
        to: to.to_string(),
        departments,
        targets,
    })
}
