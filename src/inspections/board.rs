//! What inspections put on the desk: the tasks a department still has to record, the
//! hazards it must re-inspect (soonest due first), and for the coordination office the
//! overdue hazards and the mines whose risk grade should be reviewed (two major hazards
//! within twelve months; the grade is not changed automatically).

use chrono::{NaiveDate, NaiveDateTime};

use crate::inspections::store;
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::platform::rules::role::Role;

/// How many items of a queue the desk shows.
pub const SHOWN: i64 = 8;

/// One thing on the desk.
#[derive(Debug, Clone)]
pub struct Entry {
    pub href: String,
    pub number: String,
    pub title: String,
    pub state: &'static str,
    pub department: String,
    /// When it is due (end of the day for dates).
    pub due: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub key: &'static str,
    pub title: &'static str,
    pub todo: &'static str,
    pub count: i64,
    pub entries: Vec<Entry>,
    pub href: String,
}

fn end_of(day: NaiveDate) -> NaiveDateTime {
    // 24:00 Beijing time is 16:00 UTC of the same day.
    day.and_hms_opt(16, 0, 0).expect("a time of day")
}

pub fn board(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
) -> AppResult<Vec<Queue>> {
    let today = crate::platform::clock::shanghai_date(now);
    let mut out = Vec::new();
    let names =
        |conn: &mut DbConnection, ids: Vec<String>| crate::register::mines::names(conn, &ids);
    match (who.role, who.department.as_deref()) {
        (Role::Officer | Role::Head, Some(d)) => {
            let (count, tasks) = store::awaiting_record(conn, d, SHOWN)?;
            let mines = names(conn, tasks.iter().map(|t| t.mine_id.clone()).collect())?;
            out.push(Queue {
                key: "inspect",
                title: "待录入检查结果",
                todo: "本部门参加的检查任务，请到现场检查后录入本部门事项的结果。",
                count,
                entries: tasks
                    .iter()
                    .map(|t| Entry {
                        href: format!("/inspections/{}", t.id),
                        number: t.number.clone(),
                        title: mines.get(&t.mine_id).cloned().unwrap_or_default(),
                        state: t.state.label(),
                        department: t.lead_department.clone(),
                        due: Some(end_of(t.window_to)),
                    })
                    .collect(),
                href: format!("/inspections?department={d}"),
            });
            let (count, hazards) = store::open_hazards_for(conn, Some(d), None, SHOWN)?;
            out.push(hazard_queue(
                conn,
                "reinspect",
                "待复查隐患",
                "本部门负责跟进的隐患，整改期限到了请复查，整改到位后销号。",
                count,
                &hazards,
                "/hazards?state=open".into(),
            )?);
        }
        (Role::Coordinator | Role::Admin, _) => {
            let (count, hazards) = store::open_hazards_for(conn, None, Some(today), SHOWN)?;
            out.push(hazard_queue(
                conn,
                "hazards_overdue",
                "逾期未复查的隐患",
                "已过整改期限仍未销号的隐患，请督促负责部门复查。",
                count,
                &hazards,
                "/hazards?overdue=true".into(),
            )?);
            let since = now - chrono::Duration::days(365);
            let review = store::repeat_major(conn, since, 50)?;
            let mines = names(conn, review.iter().map(|(m, _)| m.clone()).collect())?;
            out.push(Queue {
                key: "grade_review",
                title: "建议复核风险等级的矿山",
                todo: "12 个月内发现 2 处以上重大事故隐患，请会同区应急局复核其安全风险等级（系统不会自动调整）。",
                count: review.len() as i64,
                entries: review
                    .iter()
                    .map(|(m, n)| Entry {
                        href: format!("/mines/{m}"),
                        number: format!("{n} 处重大事故隐患"),
                        title: mines.get(m).cloned().unwrap_or_default(),
                        state: "待复核",
                        department: "EM".into(),
                        due: None,
                    })
                    .collect(),
                href: "/hazards?state=open".into(),
            });
        }
        _ => {}
    }
    Ok(out)
}

fn hazard_queue(
    conn: &mut DbConnection,
    key: &'static str,
    title: &'static str,
    todo: &'static str,
    count: i64,
    hazards: &[store::Hazard],
    href: String,
) -> AppResult<Queue> {
    let mines = crate::register::mines::names(
        conn,
        &hazards
            .iter()
            .map(|h| h.mine_id.clone())
            .collect::<Vec<_>>(),
    )?;
    Ok(Queue {
        key,
        title,
        todo,
        count,
        entries: hazards
            .iter()
            .map(|h| Entry {
                href: format!("/inspections/{}", h.inspection_id),
                number: h.number.clone(),
                title: format!(
                    "{}：{}",
                    mines.get(&h.mine_id).cloned().unwrap_or_default(),
                    h.description
                ),
                state: h.grade.label(),
                department: h.responsible_department.clone(),
                due: Some(end_of(h.rectify_by)),
            })
            .collect(),
        href,
    })
}
