//! What consultations put on the desk and on the office's board: for the coordination
//! office the requests waiting, the meetings coming, the reports waiting for review and
//! the overdue decisions (its head: the minutes to approve); for a member unit its
//! invitations still unanswered, its live decisions, the month's report it owes (its
//! head: the report to sign). The board adds the ledger by unit and the month's status.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::ledger::{self, UnitTally, Units};
use super::reports::{self, MonthStatus};
use super::rules::{Answer, ReportSettings, ReportState};
use super::store;
use super::store::ledger::{self as decision_rows, LedgerFilter};
use super::{minutes, policy};
use crate::inspections::board::{Entry, Queue};
use crate::platform::authz::Principal;
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// How many items of a queue are shown.
pub const SHOWN: i64 = 8;

fn end_of(day: NaiveDate) -> NaiveDateTime {
    // 24:00 Beijing time is 16:00 UTC of the same day.
    day.and_hms_opt(16, 0, 0).unwrap_or_default()
}

fn decision_entries(views: &[ledger::DecisionView]) -> Vec<Entry> {
    views
        .iter()
        .map(|d| Entry {
            href: format!("/decisions/{}", d.id),
            number: d.number.clone(),
            title: d.text.chars().take(40).collect(),
            state: if d.overdue { "逾期" } else { d.state_label },
            department: d.responsible_unit.clone(),
            due: NaiveDate::parse_from_str(&d.due_on, "%Y-%m-%d")
                .ok()
                .map(end_of),
        })
        .collect()
}

/// What the queues and the board share, each read once: the member units, the ledger's
/// counts (every unit's for the office, the reader's unit's otherwise) and last month's
/// reporting status.
struct Figures {
    units: Units,
    tally: Vec<UnitTally>,
    status: MonthStatus,
}

fn figures(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    settings: &ReportSettings,
) -> AppResult<Figures> {
    let own = (!policy::reads_all(who))
        .then(|| who.department.clone())
        .flatten();
    let units = Units::load(conn)?;
    Ok(Figures {
        tally: ledger::tally_with(conn, today, own.as_deref(), &units)?,
        status: reports::status_with(conn, who, today, settings, None, &units)?,
        units,
    })
}

/// The queues for the reader's desk.
pub fn queues(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
) -> AppResult<Vec<Queue>> {
    let f = figures(conn, who, shanghai_date(now), settings)?;
    queues_with(conn, who, now, settings, &f)
}

fn queues_with(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
    f: &Figures,
) -> AppResult<Vec<Queue>> {
    let (tally, status, units) = (&f.tally, &f.status, &f.units);
    let today = shanghai_date(now);
    let mut out = Vec::new();
    if policy::is_office_head(who) {
        let drafts = minutes::awaiting_approval(conn, SHOWN)?;
        out.push(Queue {
            key: "minutes_approve",
            title: "待审定的会议纪要",
            todo: "协调办起草的会议纪要，请审定印发；印发后议定事项列入督办台账。",
            count: drafts.len() as i64,
            entries: drafts
                .iter()
                .map(|(m, _)| Entry {
                    href: format!("/consultations/{}#minutes", m.id),
                    number: m.number.clone(),
                    title: m.topic.clone(),
                    state: "待审定",
                    department: String::new(),
                    due: None,
                })
                .collect(),
            href: "/consultations".into(),
        });
    }
    if policy::reads_all(who) && !policy::is_office_head(who) {
        let waiting = store::requests(conn, Some(super::rules::RequestState::Pending), SHOWN)?;
        out.push(Queue {
            key: "requests",
            title: "待安排的会商申请",
            todo: "成员单位提请的会商，请合并安排或说明不予会商的理由。",
            count: store::pending_requests(conn)?,
            entries: waiting
                .iter()
                .map(|r| Entry {
                    href: format!("/consultation-requests/{}", r.id),
                    number: "会商申请".into(),
                    title: r.topic.clone(),
                    state: r.state.label(),
                    department: r.department.clone().unwrap_or_default(),
                    due: None,
                })
                .collect(),
            href: "/consultation-requests".into(),
        });
        let coming = store::list(conn, Some(now - Duration::hours(12)), None, None, SHOWN)?;
        out.push(Queue {
            key: "meetings",
            title: "即将召开的会商",
            todo: "请留意未报到的单位，会前可提醒一次；会后起草纪要。",
            count: coming.len() as i64,
            entries: coming
                .iter()
                .map(|m| Entry {
                    href: format!("/consultations/{}", m.id),
                    number: m.number.clone(),
                    title: m.topic.clone(),
                    state: m.state.label(),
                    department: String::new(),
                    due: Some(m.starts_at),
                })
                .collect(),
            href: "/consultations?upcoming=true".into(),
        });
        let review = ledger::awaiting_review(conn, today, SHOWN, units)?;
        out.push(Queue {
            key: "ledger_review",
            title: "待查账的进展",
            todo: "主责单位报送的进展和办结报告，请查账：认可、退回或销账。",
            // A decision awaits review while its one pending report does (对账 refuses a
            // second): the reported decisions of every unit.
            count: tally.iter().map(|t| t.reported).sum(),
            entries: decision_entries(&review.into_iter().map(|(d, _)| d).collect::<Vec<_>>()),
            href: "/decisions?state=reported".into(),
        });
        let late = decision_rows::ledger(
            conn,
            &LedgerFilter {
                due_before: Some(today),
                ..LedgerFilter::default()
            },
            SHOWN,
        )?;
        // The office's figures are every unit's: the overdue count is in them already.
        let overdue: i64 = tally.iter().map(|t| t.overdue).sum();
        out.push(Queue {
            key: "ledger_overdue",
            title: "逾期的议定事项",
            todo: "已过完成时限仍未销账的议定事项，请督促主责单位；确需延期的由协调办调整时限。",
            count: overdue,
            entries: decision_entries(&ledger::views_with(conn, &late, today, units)?),
            href: "/decisions?overdue=true".into(),
        });
        return Ok(out);
    }
    let Some(unit) = who
        .department
        .clone()
        .filter(|d| policy::is_unit_staff(who, d))
    else {
        return Ok(out);
    };
    // Invitations still unanswered.
    let own = policy::own_units(who);
    let coming = store::list(conn, Some(now), Some(&own), None, SHOWN * 2)?;
    let invitees = store::invitees_of(
        conn,
        &coming.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
    )?;
    let unanswered: Vec<&store::Meeting> = coming
        .iter()
        .filter(|m| m.state.is_open())
        .filter(|m| {
            invitees.iter().any(|i| {
                i.consultation_id == m.id
                    && i.answer == Answer::Pending
                    && policy::answers_for(who, i.kind, &i.unit)
            })
        })
        .take(SHOWN as usize)
        .collect();
    out.push(Queue {
        key: "invitations",
        title: "待报到的会商",
        todo: "请在会前确认参会人员，或说明不能参会的原因。",
        count: unanswered.len() as i64,
        entries: unanswered
            .iter()
            .map(|m| Entry {
                href: format!("/consultations/{}#attend", m.id),
                number: m.number.clone(),
                title: m.topic.clone(),
                state: "待报到",
                department: String::new(),
                due: Some(m.starts_at),
            })
            .collect(),
        href: "/consultations?upcoming=true".into(),
    });
    let live = decision_rows::ledger(
        conn,
        &LedgerFilter {
            unit: Some(unit.clone()),
            live: true,
            ..LedgerFilter::default()
        },
        SHOWN,
    )?;
    out.push(Queue {
        key: "decisions",
        title: "本单位主责的议定事项",
        todo: "请按时限办理，在督办台账中报送进展；办结后报送办结报告。",
        count: tally
            .iter()
            .filter(|t| t.unit == unit)
            .map(|t| t.open + t.reported)
            .sum(),
        entries: decision_entries(&ledger::views_with(conn, &live, today, units)?),
        href: "/decisions?state=open".into(),
    });
    // The month's report owed.
    let month = super::rules::Month::of(today).previous();
    if let Some(u) = status.units.iter().find(|u| u.unit == unit) {
        let to_sign = policy::may_sign_report(who, &unit) && u.state == Some(ReportState::Draft);
        if u.filed_at.is_none() {
            out.push(Queue {
                key: "monthly_report",
                title: if to_sign {
                    "待签发的月度报送"
                } else {
                    "待报送的月度进展"
                },
                todo: "每月6日前报送上月督办事项进展，经单位主要负责人审核签发。",
                count: 1,
                entries: vec![Entry {
                    href: u
                        .report_id
                        .as_ref()
                        .map(|id| format!("/monthly-reports/{id}"))
                        .unwrap_or_else(|| format!("/monthly-reports/new?month={month}")),
                    number: month.label(),
                    title: format!("应报 {} 项", u.owed),
                    state: if u.missing {
                        "逾期未报"
                    } else {
                        "待报送"
                    },
                    department: unit.clone(),
                    due: Some(end_of(month.due_on(settings.due_day))),
                }],
                href: format!("/monthly-reports?month={month}"),
            });
        }
    }
    Ok(out)
}

/// The board (会商督办看板): the queues, the ledger by unit, last month's reporting status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Board {
    /// Each queue's title and how many wait in it.
    pub queues: Vec<(String, i64)>,
    pub units: Vec<UnitTally>,
    pub status: MonthStatus,
}

pub fn board(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
) -> AppResult<(Board, Vec<Queue>)> {
    let f = figures(conn, who, shanghai_date(now), settings)?;
    let queues = queues_with(conn, who, now, settings, &f)?;
    Ok((
        Board {
            queues: queues
                .iter()
                .map(|q| (q.title.to_owned(), q.count))
                .collect(),
            units: f.tally,
            status: f.status,
        },
        queues,
    ))
}
