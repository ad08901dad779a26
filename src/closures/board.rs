//! The closures board (关闭退出看板): cases by kind and state and the days from decision to
//! acceptance (from the kept counts), open tasks past their deadline per department, the
//! tailings ponds' clocks and the watch; and a department's queue of open tasks.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::rules::{CaseState, ClosureKind};
use super::store;
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindRow {
    pub kind: ClosureKind,
    pub kind_label: &'static str,
    pub open: i64,
    pub accepting: i64,
    pub rejected: i64,
    pub accepted: i64,
    /// Mean days from decision to acceptance of the accepted ones.
    pub mean_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueRow {
    pub department: String,
    pub name: String,
    pub overdue_tasks: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TailingsClock {
    pub case_id: String,
    pub number: String,
    pub mine_id: String,
    pub mine_name: String,
    pub stop_on: Option<NaiveDate>,
    pub design_due_on: Option<NaiveDate>,
    pub closure_due_on: NaiveDate,
    pub extended_months: i32,
    pub state_label: &'static str,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Board {
    pub kinds: Vec<KindRow>,
    pub live: i64,
    pub accepted: i64,
    pub mean_days: Option<i64>,
    pub overdue: Vec<OverdueRow>,
    pub tailings: Vec<TailingsClock>,
    pub watched: i64,
}

/// Cases by kind and state from the kept counts, with the totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Kinds {
    pub kinds: Vec<KindRow>,
    pub live: i64,
    pub accepted: i64,
    /// Mean days from decision to acceptance over every accepted case.
    pub mean_days: Option<i64>,
}

/// The case counts by kind and state (a few kept rows, never the cases themselves).
pub fn kinds(conn: &mut DbConnection, who: &Principal) -> AppResult<Kinds> {
    authz::require(who, Action::ViewClosures)?;
    let tallies = store::tallies(conn)?;
    let mut kinds = Vec::new();
    let (mut live, mut accepted, mut days_all) = (0, 0, 0);
    for k in ClosureKind::ALL {
        let of = |s: CaseState| -> (i64, i64) {
            tallies
                .iter()
                .filter(|t| t.0 == k.code() && t.2 == s.code())
                .fold((0, 0), |(n, d), t| (n + t.3, d + t.4))
        };
        let (open, _) = of(CaseState::Open);
        let (accepting, _) = of(CaseState::Accepting);
        let (rejected, _) = of(CaseState::Rejected);
        let (done, days) = of(CaseState::Accepted);
        live += open + accepting + rejected;
        accepted += done;
        days_all += days;
        kinds.push(KindRow {
            kind: *k,
            kind_label: k.label(),
            open,
            accepting,
            rejected,
            accepted: done,
            mean_days: (done > 0).then(|| days / done),
        });
    }
    Ok(Kinds {
        kinds,
        live,
        accepted,
        mean_days: (accepted > 0).then(|| days_all / accepted),
    })
}

pub fn board(conn: &mut DbConnection, who: &Principal, now: NaiveDateTime) -> AppResult<Board> {
    let Kinds {
        kinds,
        live,
        accepted,
        mean_days,
    } = kinds(conn, who)?;
    let today = shanghai_date(now);
    let mut overdue: Vec<OverdueRow> = store::overdue_by_department(conn, today)?
        .into_iter()
        .map(|(d, n)| OverdueRow {
            name: crate::reference::unit_name(conn, &d),
            department: d,
            overdue_tasks: n,
        })
        .collect();
    overdue.sort_by_key(|o| std::cmp::Reverse(o.overdue_tasks));
    let clocks = store::tailings_clocks(conn, 50)?;
    let ids: Vec<String> = clocks.iter().map(|c| c.mine_id.clone()).collect();
    let names = crate::register::mines::names(conn, &ids)?;
    let tailings = clocks
        .iter()
        .map(|c| TailingsClock {
            case_id: c.id.clone(),
            number: c.number.clone(),
            mine_id: c.mine_id.clone(),
            mine_name: names.get(&c.mine_id).cloned().unwrap_or_default(),
            stop_on: c.stop_on,
            design_due_on: c.design_due_on,
            closure_due_on: c.target_on,
            extended_months: c.extended_months,
            state_label: c.state.label(),
            overdue: c.target_on < today,
        })
        .collect();
    Ok(Board {
        kinds,
        live,
        accepted,
        mean_days,
        overdue,
        tailings,
        watched: store::watch_count(conn)?,
    })
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// The department (default: the reader's own; the office and admins choose).
    pub department: Option<String>,
    pub limit: Option<i64>,
    /// The last row's `due_on,id`.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueuedTask {
    pub id: String,
    pub case_id: String,
    pub number: String,
    pub mine_id: String,
    pub mine_name: String,
    pub name: String,
    pub due_on: NaiveDate,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub department: String,
    pub items: Vec<QueuedTask>,
    pub next_cursor: Option<String>,
}

/// A department's open tasks, the nearest deadline first. Staff see their own unit's.
pub fn queue(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    q: &QueueQuery,
) -> AppResult<Queue> {
    authz::require(who, Action::ViewClosures)?;
    let asked = q
        .department
        .as_deref()
        .map(|d| d.trim().to_uppercase())
        .filter(|d| !d.is_empty() && d.len() <= 32);
    let own = super::policy::own_department(who);
    let department = match (own, asked) {
        (Some(own), Some(a)) if a != own => {
            return Err(AppError::field("department", "只能查看本部门的任务"))
        }
        (Some(own), _) => own,
        (None, Some(a)) => a,
        (None, None) => "NR".to_owned(),
    };
    let limit = crate::platform::pagination::limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.split_once(',')
                .and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned())))
                .filter(|(_, id)| id.len() <= 64)
                .ok_or_else(|| AppError::field("cursor", "翻页位置无效，请从第一页重新查看"))?,
        ),
    };
    let mut rows = store::queue(conn, &department, after, limit + 1)?;
    let next = crate::platform::pagination::next_cursor(&mut rows, limit, |t| {
        format!("{},{}", t.due_on, t.id)
    });
    let case_ids: Vec<String> = rows.iter().map(|t| t.case_id.clone()).collect();
    let cases = store::by_ids(conn, &case_ids)?;
    let mine_ids: Vec<String> = cases.iter().map(|c| c.mine_id.clone()).collect();
    let names = crate::register::mines::names(conn, &mine_ids)?;
    let today = shanghai_date(now);
    let items = rows
        .into_iter()
        .filter_map(|t| {
            let c = cases.iter().find(|c| c.id == t.case_id)?;
            Some(QueuedTask {
                overdue: t.due_on < today,
                id: t.id,
                case_id: c.id.clone(),
                number: c.number.clone(),
                mine_id: c.mine_id.clone(),
                mine_name: names.get(&c.mine_id).cloned().unwrap_or_default(),
                name: t.name,
                due_on: t.due_on,
            })
        })
        .collect();
    Ok(Queue {
        department,
        items,
        next_cursor: next,
    })
}

/// At most this many entries a desk queue shows.
const SHOWN: i64 = 5;

/// What closures put on a person's desk (工作台): a department's open tasks, nearest
/// deadline first; for the office, the cases waiting for their joint acceptance.
pub fn queues(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
) -> AppResult<Vec<crate::inspections::board::Queue>> {
    use crate::inspections::board::{Entry, Queue};
    authz::require(who, Action::ViewClosures)?;
    let end_of = |d: NaiveDate| d.and_hms_opt(16, 0, 0).expect("a time of day");
    let mut out = Vec::new();
    if let Some(department) = super::policy::own_department(who) {
        let tasks = queue(
            conn,
            who,
            now,
            &QueueQuery {
                department: None,
                limit: Some(SHOWN),
                cursor: None,
            },
        )?;
        let count = store::open_task_count(conn, &department)?;
        if count > 0 {
            out.push(Queue {
                key: "closure_tasks",
                title: "关闭退出任务",
                todo: "本部门在关闭退出案件中的任务，请按期办理并上传佐证材料。",
                count,
                entries: tasks
                    .items
                    .into_iter()
                    .map(|t| Entry {
                        href: format!("/closures/{}#task-{}", t.case_id, t.id),
                        number: t.number,
                        title: format!("{}：{}", t.mine_name, t.name),
                        state: if t.overdue { "已逾期" } else { "待完成" },
                        department: department.clone(),
                        due: Some(end_of(t.due_on)),
                    })
                    .collect(),
                href: format!("/closures?task_department={department}"),
            });
        }
    }
    if let Some(department) = super::policy::own_department(who) {
        let (rows, count) = store::unconfirmed(conn, &department, SHOWN)?;
        if count > 0 {
            let ids: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
            let cases = store::by_ids(conn, &ids)?;
            let mine_ids: Vec<String> = cases.iter().map(|c| c.mine_id.clone()).collect();
            let names = crate::register::mines::names(conn, &mine_ids)?;
            out.push(Queue {
                key: "closure_confirm",
                title: "待确认的关闭退出验收",
                todo: "本部门参加了这些联合验收，请核对验收记录后确认。",
                count,
                entries: cases
                    .iter()
                    .map(|c| Entry {
                        href: format!("/closures/{}#acceptances", c.id),
                        number: c.number.clone(),
                        title: names.get(&c.mine_id).cloned().unwrap_or_default(),
                        state: c.state.label(),
                        department: department.clone(),
                        due: None,
                    })
                    .collect(),
                href: "/closures?state=accepted".into(),
            });
        }
    }
    if super::policy::may_manage(who) {
        let f = store::CaseFilter {
            state: Some(CaseState::Accepting),
            ..Default::default()
        };
        let waiting = store::list(conn, &f, SHOWN)?;
        let count: i64 = kinds(conn, who)?.kinds.iter().map(|k| k.accepting).sum();
        if count > 0 {
            let ids: Vec<String> = waiting.iter().map(|c| c.mine_id.clone()).collect();
            let names = crate::register::mines::names(conn, &ids)?;
            out.push(Queue {
                key: "closure_acceptance",
                title: "待验收的关闭退出案件",
                todo: "任务已全部完成或免除，请组织联合验收并记录结果。",
                count,
                entries: waiting
                    .iter()
                    .map(|c| Entry {
                        href: format!("/closures/{}", c.id),
                        number: c.number.clone(),
                        title: names.get(&c.mine_id).cloned().unwrap_or_default(),
                        state: c.state.label(),
                        department: c.owner_department.clone(),
                        due: Some(end_of(c.target_on)),
                    })
                    .collect(),
                href: "/closures?state=accepting".into(),
            });
        }
    }
    Ok(out)
}
