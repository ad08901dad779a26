//! What waits on each person's desk (工作台): the leads they must act on next, counted,
//! soonest deadline first, and the day's and month's figures for the coordination office.
//! The queues follow the reader's list scope (`policy::list_scope`), so each queue holds
//! exactly what the lead list would show with the same filters.

use chrono::{Datelike, NaiveDateTime};

use super::policy::{self, ListScope};
use super::store::leads::{self as rows, LeadFilter, LeadPage};
use super::store::transfers;
use super::{scoped, Lead, LeadQuery};
use crate::leads::rules::{LeadState, COORDINATION_OFFICE, UNDECIDED_CATEGORY};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// How many leads of a queue the desk shows; the rest are behind its link.
pub const SHOWN: i64 = 8;

/// One queue on the desk.
#[derive(Debug, Clone)]
pub struct Queue {
    /// A stable name (for tests and anchors): `report_in`, `verify`, `overdue`, …
    pub key: &'static str,
    pub title: &'static str,
    /// What the reader must do with these leads.
    pub todo: &'static str,
    pub count: i64,
    /// The first [`SHOWN`], soonest deadline first.
    pub leads: Vec<Lead>,
    /// The lead list with the same filters.
    pub href: String,
}

/// A figure for the coordination office.
#[derive(Debug, Clone)]
pub struct Figure {
    pub label: &'static str,
    pub value: i64,
    pub href: String,
}

#[derive(Debug, Clone, Default)]
pub struct Board {
    pub queues: Vec<Queue>,
    pub figures: Vec<Figure>,
}

struct Ask {
    key: &'static str,
    title: &'static str,
    todo: &'static str,
    query: LeadQuery,
    tweak: fn(&Principal, &mut LeadFilter),
    href: String,
}

fn none(_: &Principal, _: &mut LeadFilter) {}

fn own_primary(who: &Principal, f: &mut LeadFilter) {
    f.primary = Some(who.department.clone().unwrap_or_default());
}

fn receiving(who: &Principal, f: &mut LeadFilter) {
    f.receiving = Some(who.department.clone().unwrap_or_default());
}

fn verifying(who: &Principal, f: &mut LeadFilter) {
    own_primary(who, f);
    f.states = vec![LeadState::Acknowledged, LeadState::Verifying];
}

fn enforcing(who: &Principal, f: &mut LeadFilter) {
    own_primary(who, f);
    f.states = vec![LeadState::Verified, LeadState::Enforcing];
}

fn undecided(_: &Principal, f: &mut LeadFilter) {
    f.primary = Some(COORDINATION_OFFICE.into());
}

fn q(build: impl FnOnce(&mut LeadQuery)) -> LeadQuery {
    let mut q = LeadQuery::default();
    build(&mut q);
    q
}

fn run(conn: &mut DbConnection, who: &Principal, now: NaiveDateTime, ask: Ask) -> AppResult<Queue> {
    let (scope, mut filter, page) = scoped(who, &ask.query, now, SHOWN)?;
    (ask.tweak)(who, &mut filter);
    let count = rows::count(conn, scope.as_deref(), &filter, &page)?;
    let leads = if count == 0 {
        Vec::new()
    } else {
        rows::page(
            conn,
            scope.as_deref(),
            &filter,
            &LeadPage {
                limit: SHOWN,
                ..page
            },
        )?
    };
    Ok(Queue {
        key: ask.key,
        title: ask.title,
        todo: ask.todo,
        count,
        leads,
        href: ask.href,
    })
}

/// The reader's desk.
pub fn board(conn: &mut DbConnection, who: &Principal, now: NaiveDateTime) -> AppResult<Board> {
    let asks: Vec<Ask> = match policy::list_scope(who) {
        ListScope::None => return Ok(Board::default()),
        ListScope::Department => vec![
            Ask {
                key: "mine",
                title: "我的待办",
                todo: "负责人指派给您办理的线索",
                query: q(|q| q.assigned = Some("me".into())),
                tweak: none,
                href: "/leads?assigned=me".into(),
            },
            Ask {
                key: "report_in",
                title: "待报到",
                todo: "请尽快报到（确认接办）",
                query: q(|q| q.state = Some("routed".into())),
                tweak: own_primary,
                href: "/leads?state=routed".into(),
            },
            Ask {
                key: "transfer",
                title: "待确认的转办",
                todo: "其他部门转来的线索，请接收或提出异议",
                query: q(|q| q.transfer = Some("pending".into())),
                tweak: receiving,
                href: "/leads?transfer=pending".into(),
            },
            Ask {
                key: "verify",
                title: "待核查",
                todo: "请到现场核查并填写核查结论",
                query: q(|_| {}),
                tweak: verifying,
                href: "/leads?state=verifying".into(),
            },
            Ask {
                key: "enforce",
                title: "查处中",
                todo: "依法查处，办结后填写办理结果",
                query: q(|_| {}),
                tweak: enforcing,
                href: "/leads?state=enforcing".into(),
            },
            Ask {
                key: "overdue",
                title: "已逾期",
                todo: "已超过办理时限，已提请督办",
                query: q(|q| q.overdue = Some("true".into())),
                tweak: none,
                href: "/leads?overdue=true".into(),
            },
        ],
        ListScope::Township => vec![Ask {
            key: "raised",
            title: "我吹的哨",
            todo: "您提交的线索，办理进展会通知您",
            query: q(|q| q.raised = Some("mine".into())),
            tweak: none,
            href: "/leads?raised=mine".into(),
        }],
        ListScope::District => vec![
            Ask {
                key: "dispatch",
                title: "待分办",
                todo: "类别为“其他”的线索，请确定主办部门",
                query: q(|q| {
                    q.state = Some("routed".into());
                    q.category = Some(UNDECIDED_CATEGORY.into());
                }),
                tweak: undecided,
                href: format!("/leads?state=routed&category={UNDECIDED_CATEGORY}"),
            },
            Ask {
                key: "disputed",
                title: "转办异议待裁定",
                todo: "接收部门对转办有异议，请裁定由哪个部门主办",
                query: q(|q| q.transfer = Some("disputed".into())),
                tweak: none,
                href: "/leads?transfer=disputed".into(),
            },
            Ask {
                key: "consultation",
                title: "提请会商",
                todo: "部门提请会商的线索",
                query: q(|q| q.consultation = Some("requested".into())),
                tweak: none,
                href: "/leads?consultation=requested".into(),
            },
            Ask {
                key: "overdue",
                title: "已逾期",
                todo: "超过办理时限的线索，请督办",
                query: q(|q| q.overdue = Some("true".into())),
                tweak: none,
                href: "/leads?overdue=true".into(),
            },
        ],
    };
    let mut board = Board::default();
    for ask in asks {
        board.queues.push(run(conn, who, now, ask)?);
    }
    if policy::list_scope(who) == ListScope::Township {
        board.queues.push(to_evaluate(conn, who, now)?);
    }
    if policy::is_coordination_office(who) {
        board.figures = figures(conn, who, now)?;
    }
    Ok(board)
}

/// Closed leads the township raised whose primary department it has not evaluated yet.
fn to_evaluate(conn: &mut DbConnection, who: &Principal, now: NaiveDateTime) -> AppResult<Queue> {
    let query = q(|q| {
        q.raised = Some("mine".into());
        q.state = Some("closed".into());
    });
    // The last hundred closed leads are looked at: older ones have long been evaluated or
    // let go.
    let (scope, filter, page) = scoped(who, &query, now, 100)?;
    let closed = rows::page(conn, scope.as_deref(), &filter, &page)?;
    let ids: Vec<String> = closed.iter().map(|l| l.id.clone()).collect();
    let done = transfers::evaluated_on(conn, &ids)?;
    let waiting: Vec<Lead> = closed
        .into_iter()
        .filter(|l| l.merged_into.is_none())
        .filter(|l| {
            !done
                .iter()
                .any(|(lead, dept)| *lead == l.id && *dept == l.primary_department)
        })
        .collect();
    Ok(Queue {
        key: "evaluate",
        title: "待评价",
        todo: "线索已办结，请评价部门的办理情况",
        count: waiting.len() as i64,
        leads: waiting.into_iter().take(SHOWN as usize).collect(),
        href: "/leads?raised=mine&state=closed".into(),
    })
}

/// Today's and this month's whistles, and what of this month's is closed (Beijing time).
fn figures(conn: &mut DbConnection, who: &Principal, now: NaiveDateTime) -> AppResult<Vec<Figure>> {
    let offset = chrono::Duration::hours(8);
    let today = crate::platform::clock::shanghai_date(now);
    let day_start = today.and_hms_opt(0, 0, 0).expect("midnight") - offset;
    let month_start = today
        .with_day(1)
        .expect("the first")
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        - offset;
    let mut count = |since: NaiveDateTime, closed: bool| -> AppResult<i64> {
        let query = q(|q| q.state = Some(if closed { "closed" } else { "open" }.into()));
        let (scope, mut filter, page) = scoped(who, &query, now, 1)?;
        filter.raised_since = Some(since);
        rows::count(conn, scope.as_deref(), &filter, &page)
    };
    let today_all = count(day_start, false)? + count(day_start, true)?;
    let month_closed = count(month_start, true)?;
    let month_all = count(month_start, false)? + month_closed;
    let from = today.with_day(1).expect("the first");
    Ok(vec![
        Figure {
            label: "今日吹哨",
            value: today_all,
            href: format!("/leads/stats?from={today}&to={today}"),
        },
        Figure {
            label: "本月吹哨",
            value: month_all,
            href: format!("/leads/stats?from={from}&to={today}"),
        },
        Figure {
            label: "本月已办结",
            value: month_closed,
            href: format!("/leads/stats?from={from}&to={today}"),
        },
    ])
}

/// The open leads with a position that the reader may see (of one township, when given),
/// soonest deadline first; at most `limit` (for the map).
pub fn located(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    township: Option<&str>,
    limit: i64,
) -> AppResult<Vec<super::Located>> {
    if policy::list_scope(who) == ListScope::None {
        return Ok(Vec::new());
    }
    let query = q(|q| q.township = township.map(str::to_owned));
    let (scope, mut filter, page) = scoped(who, &query, now, limit)?;
    filter.located = true;
    rows::located(conn, scope.as_deref(), &filter, &LeadPage { limit, ..page })
}
