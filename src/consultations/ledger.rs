//! 督办台账: every decision of approved minutes is followed to the end — 建账 when the
//! minutes are approved, 对账 when its responsible unit reports progress, 查账 when the
//! coordination office reviews the report (accepts it, or sends it back with a reason),
//! 销账 when the office accepts the completion report. A decision past its deadline is
//! escalated once; only the office extends a deadline, with its reason on the record.
//! This file reads the ledger; the steps are in `followup.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::rules::{self, DecisionKind, DecisionState, Review};
use super::store;
use super::store::ledger::{self as rows, Decision, FileMeta, LedgerFilter};
use super::{local, policy};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

pub use super::followup::*;

/// At most this many evidence files on one decision.
pub const MAX_FILES: usize = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub id: String,
    pub number: String,
    pub consultation_id: String,
    pub text: String,
    pub kind: DecisionKind,
    pub kind_label: &'static str,
    pub responsible_unit: String,
    pub responsible_name: String,
    pub cooperating_units: Vec<String>,
    pub cooperating_names: Vec<String>,
    pub mine_id: Option<String>,
    pub mine_name: String,
    pub due_on: String,
    pub state: DecisionState,
    pub state_label: &'static str,
    /// Live and past its deadline.
    pub overdue: bool,
    pub percent: i32,
    /// What the decision opened once confirmed (`lead`), and its id.
    pub opened_type: Option<String>,
    pub opened_id: Option<String>,
    /// 建账 and 销账, Beijing time.
    pub entered_at: Option<String>,
    pub closed_at: Option<String>,
    pub escalated: bool,
    pub version: i32,
}

fn shown(t: NaiveDateTime) -> String {
    local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// Decisions as shown, in a fixed number of queries: the units' and mines' names once.
pub fn views(
    conn: &mut DbConnection,
    decisions: &[Decision],
    today: NaiveDate,
) -> AppResult<Vec<DecisionView>> {
    let units = Units::load(conn)?;
    views_with(conn, decisions, today, &units)
}

/// The member units as one request reads them, once: their order and names.
pub struct Units(Vec<crate::reference::Department>);

impl Units {
    pub fn load(conn: &mut DbConnection) -> AppResult<Self> {
        Ok(Self(crate::reference::departments(conn)?))
    }

    pub fn all(&self) -> &[crate::reference::Department] {
        &self.0
    }

    fn name(&self, code: &str) -> String {
        self.0
            .iter()
            .find(|d| d.code == code)
            .map_or_else(|| code.to_owned(), |d| d.name.clone())
    }
}

/// As [`views`], with the units already read.
pub fn views_with(
    conn: &mut DbConnection,
    decisions: &[Decision],
    today: NaiveDate,
    units: &Units,
) -> AppResult<Vec<DecisionView>> {
    let mine_ids: Vec<String> = decisions.iter().filter_map(|d| d.mine_id.clone()).collect();
    let mines = crate::register::mines::names(conn, &mine_ids)?;
    let name = |c: &str| units.name(c);
    Ok(decisions
        .iter()
        .map(|d| DecisionView {
            id: d.id.clone(),
            number: d.number.clone(),
            consultation_id: d.consultation_id.clone(),
            text: d.body.clone(),
            kind: d.kind,
            kind_label: d.kind.label(),
            responsible_name: name(&d.responsible_unit),
            responsible_unit: d.responsible_unit.clone(),
            cooperating_names: d.cooperating().iter().map(|c| name(c)).collect(),
            cooperating_units: d.cooperating(),
            mine_name: d
                .mine_id
                .as_ref()
                .and_then(|m| mines.get(m).cloned())
                .unwrap_or_default(),
            mine_id: d.mine_id.clone(),
            due_on: d.due_on.to_string(),
            state: d.state,
            state_label: d.state.label(),
            overdue: rules::is_overdue(d.state, d.due_on, today),
            percent: d.percent,
            opened_type: d.opened_type.clone(),
            opened_id: d.opened_id.clone(),
            entered_at: d.entered_at.map(shown),
            closed_at: d.closed_at.map(shown),
            escalated: d.escalated_at.is_some(),
            version: d.version,
        })
        .collect())
}

/// Whether the reader may read the decision: the office and admins every one, a
/// department's staff those it is responsible for or cooperates on.
fn may_read(who: &Principal, d: &Decision) -> bool {
    policy::reads_all(who)
        || who.department.as_deref().is_some_and(|u| {
            policy::is_unit_staff(who, u)
                && (d.responsible_unit == u || d.cooperating().iter().any(|c| c == u))
        })
}

/// A decision in the ledger the reader may read (drafts are not in the ledger yet).
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Decision> {
    authz::require(who, Action::ViewDecisions)?;
    let not_found = || AppError::NotFound("督办台账中没有这项议定事项。".into());
    let d = rows::decision(conn, id)?.ok_or_else(not_found)?;
    if d.state == DecisionState::Draft || !may_read(who, &d) {
        return Err(not_found());
    }
    Ok(d)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// The responsible department's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// open | reported | closed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// true: only live decisions past their deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The ledger, nearest deadline first: every unit's for the office, a department's own
/// (as responsible unit) for its staff.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    q: &LedgerQuery,
) -> AppResult<(Vec<Decision>, Option<String>)> {
    authz::require(who, Action::ViewDecisions)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field("limit", "每页 1 到 1000 条"));
    }
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match DecisionState::parse(s) {
            Some(s) if s != DecisionState::Draft => Some(s),
            _ => {
                return Err(AppError::field(
                    "state",
                    "状态只能是 open（办理中）、reported（待查账）或 closed（已销账）",
                ))
            }
        },
    };
    let wanted = q
        .unit
        .as_deref()
        .map(|u| u.trim().to_uppercase())
        .filter(|u| !u.is_empty());
    let unit = if policy::reads_all(who) {
        wanted
    } else {
        let own = who
            .department
            .clone()
            .filter(|d| policy::is_unit_staff(who, d))
            .ok_or_else(|| AppError::Forbidden("督办台账只对协调办和成员单位开放。".into()))?;
        if wanted.as_ref().is_some_and(|w| *w != own) {
            return Err(AppError::field("unit", "只能查看本单位主责的议定事项"));
        }
        Some(own)
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.split_once('|')
                .and_then(|(d, id)| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .ok()
                        .map(|d| (d, id.to_owned()))
                })
                .ok_or_else(|| AppError::field("cursor", "翻页标记无效"))?,
        ),
    };
    let filter = LedgerFilter {
        unit,
        state,
        due_before: q.overdue.unwrap_or(false).then_some(today),
        live: false,
        after,
    };
    let mut rows = rows::ledger(conn, &filter, limit + 1)?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|d| format!("{}|{}", d.due_on, d.id))
            .unwrap_or_default()
    });
    Ok((rows, next))
}

/// Everything the decision's page shows beside the decision itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    pub decision: DecisionView,
    pub meeting_number: String,
    pub meeting_topic: String,
    pub reports: Vec<ReportView>,
    pub extensions: Vec<ExtensionView>,
    pub files: Vec<FileMeta>,
    /// Inspection tasks opened on this decision (basis 会商, its number as the reference).
    pub inspections: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: String,
    pub text: String,
    pub percent: i32,
    pub done: bool,
    pub reported_by: String,
    pub reported_at: String,
    pub review: Review,
    pub review_label: &'static str,
    pub review_reason: String,
    pub reviewed_by: String,
    pub reviewed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExtensionView {
    pub from_on: String,
    pub to_on: String,
    pub reason: String,
    pub extended_by: String,
    pub extended_at: String,
}

/// A decision with its reports, extensions, files and what it opened.
pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<DecisionRecord> {
    let d = load(conn, who, id)?;
    let meeting = store::find(conn, &d.consultation_id)?
        .ok_or_else(|| AppError::internal("a decision without its meeting"))?;
    let reports = rows::reports_of(conn, id)?;
    let extensions = rows::extensions_of(conn, id)?;
    let mut people: Vec<String> = reports
        .iter()
        .flat_map(|r| [r.reported_by.clone(), r.reviewed_by.clone()])
        .chain(extensions.iter().map(|e| e.extended_by.clone()))
        .flatten()
        .collect();
    people.sort();
    people.dedup();
    let names = crate::accounts::names(conn, &people)?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| names.get(i).cloned())
            .unwrap_or_default()
    };
    let inspections = crate::inspections::with_basis_ref(conn, "consultation", &d.number)?;
    Ok(DecisionRecord {
        decision: views(conn, std::slice::from_ref(&d), shanghai_date(now))?
            .pop()
            .ok_or_else(|| AppError::internal("a decision without its view"))?,
        meeting_number: meeting.number,
        meeting_topic: meeting.topic,
        reports: reports
            .iter()
            .map(|r| ReportView {
                id: r.id.clone(),
                text: r.body.clone(),
                percent: r.percent,
                done: r.done != 0,
                reported_by: name(&r.reported_by),
                reported_at: shown(r.reported_at),
                review: r.review,
                review_label: r.review.label(),
                review_reason: r.review_reason.clone(),
                reviewed_by: name(&r.reviewed_by),
                reviewed_at: r.reviewed_at.map(shown),
            })
            .collect(),
        extensions: extensions
            .iter()
            .map(|e| ExtensionView {
                from_on: e.from_on.to_string(),
                to_on: e.to_on.to_string(),
                reason: e.reason.clone(),
                extended_by: name(&e.extended_by),
                extended_at: shown(e.extended_at),
            })
            .collect(),
        files: rows::files_of(conn, id)?,
        inspections,
    })
}

/// An evidence file of a decision the reader may read: (name, type, bytes).
pub fn open_file(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    file_id: &str,
) -> AppResult<(String, String, Vec<u8>)> {
    load(conn, who, id)?;
    rows::file(conn, id, file_id)?.ok_or_else(|| AppError::NotFound("没有这个文件。".into()))
}

/// The ledger's counts per unit and state, with the overdue among them.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UnitTally {
    pub unit: String,
    pub name: String,
    pub open: i64,
    pub reported: i64,
    pub closed: i64,
    pub overdue: i64,
}

/// Counts per responsible unit (one unit's when given), in the departments' order.
pub fn tally(
    conn: &mut DbConnection,
    today: NaiveDate,
    unit: Option<&str>,
) -> AppResult<Vec<UnitTally>> {
    let units = Units::load(conn)?;
    tally_with(conn, today, unit, &units)
}

/// As [`tally`], with the units already read.
pub fn tally_with(
    conn: &mut DbConnection,
    today: NaiveDate,
    unit: Option<&str>,
    units: &Units,
) -> AppResult<Vec<UnitTally>> {
    let (counts, late) = rows::tally(conn, today, unit)?;
    let mut out: Vec<UnitTally> = Vec::new();
    for d in units.all() {
        if unit.is_some_and(|u| u != d.code) {
            continue;
        }
        let mut t = UnitTally {
            unit: d.code.clone(),
            name: d.name.clone(),
            overdue: late.iter().find(|(u, _)| *u == d.code).map_or(0, |l| l.1),
            ..UnitTally::default()
        };
        for (u, s, n) in &counts {
            if *u != d.code {
                continue;
            }
            match DecisionState::parse(s) {
                Some(DecisionState::Open) => t.open += n,
                Some(DecisionState::Reported) => t.reported += n,
                Some(DecisionState::Closed) => t.closed += n,
                _ => {}
            }
        }
        if t.open + t.reported + t.closed > 0 || unit.is_some() {
            out.push(t);
        }
    }
    Ok(out)
}

/// Reports waiting for the office's review, oldest first, as (decision, report) views.
pub fn awaiting_review(
    conn: &mut DbConnection,
    today: NaiveDate,
    limit: i64,
    units: &Units,
) -> AppResult<Vec<(DecisionView, String)>> {
    let rows = rows::awaiting_review(conn, limit)?;
    let decisions: Vec<Decision> = rows.iter().map(|(_, d)| d.clone()).collect();
    let views = views_with(conn, &decisions, today, units)?;
    Ok(views
        .into_iter()
        .zip(rows)
        .map(|(v, (r, _))| (v, shown(r.reported_at)))
        .collect())
}

/// At most this many decisions in one export.
pub const MAX_EXPORT: usize = 20_000;

/// The ledger as the list shows it (its filters and scope), as an Excel workbook: one sheet
/// of decisions, one of each unit's counts.
pub fn workbook(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    q: &LedgerQuery,
) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::{Sheet, Value};
    let mut all: Vec<Decision> = Vec::new();
    let mut page = LedgerQuery {
        limit: Some(1000),
        cursor: None,
        ..q.clone()
    };
    loop {
        let (rows, next) = list(conn, who, today, &page)?;
        all.extend(rows);
        match next {
            Some(c) if all.len() < MAX_EXPORT => page.cursor = Some(c),
            _ => break,
        }
    }
    all.truncate(MAX_EXPORT);
    let meetings: std::collections::HashMap<String, (String, String)> = {
        let mut ids: Vec<String> = all.iter().map(|d| d.consultation_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            for m in store::find_many(conn, chunk)? {
                out.insert(m.id.clone(), (m.number, m.topic));
            }
        }
        out
    };
    let rows = views(conn, &all, today)?
        .into_iter()
        .map(|d| {
            let (number, topic) = meetings
                .get(&d.consultation_id)
                .cloned()
                .unwrap_or_default();
            vec![
                Value::from(d.number),
                Value::from(format!("{number} {topic}")),
                Value::from(d.text),
                Value::from(d.kind_label.to_owned()),
                Value::from(d.responsible_name),
                Value::from(d.cooperating_names.join("、")),
                Value::from(d.mine_name),
                Value::from(d.due_on),
                Value::from(if d.overdue {
                    format!("逾期（{}）", d.state_label)
                } else {
                    d.state_label.to_owned()
                }),
                Value::Number(f64::from(d.percent)),
                Value::from(d.entered_at.unwrap_or_default()),
                Value::from(d.closed_at.unwrap_or_default()),
            ]
        })
        .collect();
    let own = (!policy::reads_all(who))
        .then(|| who.department.clone())
        .flatten();
    let counts = tally(conn, today, own.as_deref())?
        .into_iter()
        .map(|t| {
            vec![
                Value::from(t.name),
                Value::Number(t.open as f64),
                Value::Number(t.reported as f64),
                Value::Number(t.overdue as f64),
                Value::Number(t.closed as f64),
            ]
        })
        .collect();
    crate::platform::xlsx::workbook_of(vec![
        Sheet {
            name: "督办台账",
            headers: vec![
                ("编号", 16.0),
                ("会商", 30.0),
                ("议定事项", 40.0),
                ("类别", 10.0),
                ("主责单位", 16.0),
                ("配合单位", 20.0),
                ("矿山", 20.0),
                ("完成时限", 12.0),
                ("状态", 14.0),
                ("完成比例（%）", 10.0),
                ("建账时间", 16.0),
                ("销账时间", 16.0),
            ],
            rows,
        },
        Sheet {
            name: "各单位汇总",
            headers: vec![
                ("主责单位", 18.0),
                ("办理中", 10.0),
                ("待查账", 10.0),
                ("逾期", 10.0),
                ("已销账", 10.0),
            ],
            rows: counts,
        },
    ])
}
