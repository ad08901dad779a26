//! 月度报送 (seed 001, from March 2026): by the 6th of every month each responsible unit
//! files last month's progress on every decision it owes — those in the ledger entered
//! before the month ended and not closed before it began. The unit's officer drafts the
//! report, its head signs it off (the approval is the signature on record); when the head
//! cannot sign in time the officer files it with an explanation. Units are reminded on
//! the 3rd and the 5th; on the 7th the office is told who has not filed; each report's
//! lateness is kept.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::rules::{Month, ReportSettings, ReportState};
use super::store::ledger as decision_rows;
use super::store::reports::{self as rows, Item, MonthlyReport};
use super::{local, policy, utc};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

/// At most this many items in one report.
pub const MAX_ITEMS: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub decision_id: String,
    pub text: String,
    /// 0–100.
    pub percent: i32,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// The month reported on, "2026-03"; it must have ended.
    pub month: String,
    /// The unit (department code); default the reader's.
    pub unit: Option<String>,
    pub items: Vec<NewItem>,
    /// The draft's version as read, when correcting it.
    pub version: Option<i32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub decision_id: String,
    pub number: String,
    pub decision: String,
    pub text: String,
    pub percent: i32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: String,
    pub month: String,
    pub unit: String,
    pub unit_name: String,
    pub state: ReportState,
    pub state_label: &'static str,
    pub drafted_by: String,
    /// The drafter's account, who may not sign the report.
    pub drafted_by_id: Option<String>,
    pub drafted_at: String,
    /// The head who signed it off, and when (the signature on record).
    pub approved_by: String,
    pub approved_at: Option<String>,
    pub explanation: String,
    pub filed_at: Option<String>,
    pub late: bool,
    pub due_on: String,
    pub items: Vec<ItemView>,
    pub version: i32,
}

fn shown(t: NaiveDateTime) -> String {
    local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The month as UTC instants: from its first midnight to the next month's, Beijing time.
fn bounds(m: Month) -> (NaiveDateTime, NaiveDateTime) {
    let start = |d: NaiveDate| utc(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    (start(m.first_day()), start(m.next().first_day()))
}

fn parse_month(v: &str) -> AppResult<Month> {
    Month::parse(v).ok_or_else(|| AppError::field("month", "月份格式如 2026-03"))
}

/// Reports as shown, in a fixed number of queries.
pub fn views(
    conn: &mut DbConnection,
    reports: &[MonthlyReport],
    settings: &ReportSettings,
) -> AppResult<Vec<ReportView>> {
    let ids: Vec<String> = reports.iter().map(|r| r.id.clone()).collect();
    let items = rows::items_of(conn, &ids)?;
    let mut wanted: Vec<String> = items.iter().map(|i| i.decision_id.clone()).collect();
    wanted.sort();
    wanted.dedup();
    let decisions: std::collections::HashMap<String, (String, String)> =
        decision_rows::decisions_by_ids(conn, &wanted)?
            .into_iter()
            .map(|d| (d.id, (d.number, d.body)))
            .collect();
    let units: std::collections::HashMap<String, String> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect();
    let mut people: Vec<String> = reports
        .iter()
        .flat_map(|r| [r.drafted_by.clone(), r.approved_by.clone()])
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
    Ok(reports
        .iter()
        .map(|r| ReportView {
            id: r.id.clone(),
            month: r.month.clone(),
            unit_name: units
                .get(&r.unit)
                .cloned()
                .unwrap_or_else(|| r.unit.clone()),
            unit: r.unit.clone(),
            state: r.state,
            state_label: r.state.label(),
            drafted_by: name(&r.drafted_by),
            drafted_by_id: r.drafted_by.clone(),
            drafted_at: shown(r.drafted_at),
            approved_by: name(&r.approved_by),
            approved_at: r.approved_at.map(shown),
            explanation: r.explanation.clone(),
            filed_at: r.filed_at.map(shown),
            late: r.late != 0,
            due_on: Month::parse(&r.month)
                .map(|m| m.due_on(settings.due_day).to_string())
                .unwrap_or_default(),
            items: items
                .iter()
                .filter(|i| i.report_id == r.id)
                .map(|i| {
                    let (number, decision) =
                        decisions.get(&i.decision_id).cloned().unwrap_or_default();
                    ItemView {
                        decision_id: i.decision_id.clone(),
                        number,
                        decision,
                        text: i.body.clone(),
                        percent: i.percent,
                    }
                })
                .collect(),
            version: r.version,
        })
        .collect())
}

/// The unit the reader files for: a department's officer or head, for their own.
fn own_unit(who: &Principal, wanted: Option<&str>) -> AppResult<String> {
    let unit = wanted
        .map(|u| u.trim().to_uppercase())
        .filter(|u| !u.is_empty())
        .or_else(|| who.department.clone())
        .unwrap_or_default();
    if !policy::is_unit_staff(who, &unit) {
        return Err(AppError::Forbidden(
            "月度报送由本单位工作人员起草、本单位负责人签发。".into(),
        ));
    }
    Ok(unit)
}

/// A report the reader may read: the office's all, a unit's staff their own.
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<MonthlyReport> {
    authz::require(who, Action::ViewDecisions)?;
    let not_found = || AppError::NotFound("没有这份月度报送。".into());
    let r = rows::find(conn, id)?.ok_or_else(not_found)?;
    if policy::reads_all(who) || policy::is_unit_staff(who, &r.unit) {
        Ok(r)
    } else {
        Err(not_found())
    }
}

/// The unit's officer drafts (or corrects the draft of) its report for a month that has
/// ended: one item for every decision it owes, and any others it is responsible for.
pub fn draft(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
    input: NewReport,
) -> AppResult<ReportView> {
    let unit = own_unit(who, input.unit.as_deref())?;
    let month = parse_month(&input.month)?;
    let today = shanghai_date(now);
    if month >= Month::of(today) {
        return Err(AppError::field(
            "month",
            format!("{}尚未结束，月底后再报送该月进展", month.label()),
        ));
    }
    if input.items.len() > MAX_ITEMS {
        return Err(AppError::field(
            "items",
            format!("一份报送不超过 {MAX_ITEMS} 项"),
        ));
    }
    let before = rows::of_unit(conn, &month.to_string(), &unit)?;
    if let Some(b) = &before {
        if b.state != ReportState::Draft {
            return Err(AppError::InvalidTransition(format!(
                "{}的月度报送{}，不能再修改。",
                month.label(),
                b.state.label()
            )));
        }
        if input.version.is_some_and(|v| v != b.version) {
            return Err(AppError::Conflict(
                "这份报送刚被其他人修改过，请刷新后重试。".into(),
            ));
        }
    }
    let mut errors = Vec::new();
    let id = before
        .as_ref()
        .map(|b| b.id.clone())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let asked: Vec<String> = input
        .items
        .iter()
        .map(|i| i.decision_id.trim().to_owned())
        .collect();
    let known = decision_rows::decisions_by_ids(conn, &asked)?;
    let mut items: Vec<Item> = Vec::new();
    for (n, i) in input.items.iter().enumerate() {
        let f = |name: &str| format!("items[{n}].{name}");
        let did = i.decision_id.trim().to_owned();
        match known.iter().find(|d| d.id == did) {
            Some(d)
                if d.responsible_unit == unit
                    && d.state != crate::consultations::rules::DecisionState::Draft => {}
            _ => {
                errors.push(FieldError::new(
                    f("decision_id"),
                    "不是本单位主责的议定事项",
                ));
                continue;
            }
        }
        if items.iter().any(|x| x.decision_id == did) {
            errors.push(FieldError::new(f("decision_id"), "同一议定事项只填写一次"));
            continue;
        }
        let body = i.text.trim().to_owned();
        if body.is_empty() || body.chars().count() > 2000 {
            errors.push(FieldError::new(
                f("text"),
                "请填写该事项上月的进展（2000 字以内）",
            ));
        }
        if !(0..=100).contains(&i.percent) {
            errors.push(FieldError::new(f("percent"), "完成比例应在 0 到 100 之间"));
        }
        items.push(Item {
            report_id: id.clone(),
            decision_id: did,
            body,
            percent: i.percent,
        });
    }
    let (from, to) = bounds(month);
    let owed = rows::owed(conn, from, to, Some(&unit))?;
    let missing: Vec<String> = owed
        .iter()
        .filter(|(_, d)| !items.iter().any(|i| i.decision_id == *d))
        .map(|(_, d)| d.clone())
        .collect();
    if !missing.is_empty() {
        let first: Vec<String> = missing.iter().take(10).cloned().collect();
        let numbers: Vec<String> = decision_rows::decisions_by_ids(conn, &first)?
            .into_iter()
            .map(|d| d.number)
            .collect();
        errors.push(FieldError::new(
            "items",
            format!(
                "以下议定事项须报送{}的进展：{}{}",
                month.label(),
                numbers.join("、"),
                if missing.len() > 10 { " 等" } else { "" }
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let r = MonthlyReport {
        id: id.clone(),
        month: month.to_string(),
        unit: unit.clone(),
        state: ReportState::Draft,
        drafted_by: Some(who.id.clone()),
        drafted_at: now,
        approved_by: None,
        approved_at: None,
        explanation: String::new(),
        filed_at: None,
        late: 0,
        version: 1,
    };
    if !rows::put_draft(conn, before.as_ref(), &r, &items)? {
        return Err(AppError::Conflict(
            "这份报送刚被其他人修改或已报送，请刷新后重试。".into(),
        ));
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "monthly_report",
            entity_id: &id,
            action: if before.is_some() { "update" } else { "create" },
            before: None,
            after: Some(serde_json::json!({"month": r.month, "unit": unit,
                "items": items.iter().map(|i| serde_json::json!({"decision_id": i.decision_id,
                    "text": i.body, "percent": i.percent})).collect::<Vec<_>>()})),
        },
    )?;
    let heads = crate::accounts::recipients::heads_of(conn, &unit)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &heads,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("月度报送待签发：{}", month.label()),
            body: format!(
                "本单位{}督办事项进展已由{}起草，共 {} 项，请审核签发（须于 {} 前报送）。",
                month.label(),
                who.display_name,
                items.len(),
                month.due_on(settings.due_day)
            ),
            link: format!("/monthly-reports/{id}"),
            entity_type: "monthly_report",
            entity_id: &id,
        },
    )?;
    let saved = rows::find(conn, &id)?.ok_or_else(|| AppError::internal("report just written"))?;
    views(conn, std::slice::from_ref(&saved), settings)?
        .pop()
        .ok_or_else(|| AppError::internal("a report without its view"))
}

fn file(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
    before: &MonthlyReport,
    after: MonthlyReport,
    action: &'static str,
) -> AppResult<ReportView> {
    if !rows::file(conn, before, &after)? {
        return Err(AppError::Conflict(
            "这份报送刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "monthly_report",
            entity_id: &after.id,
            action,
            before: Some(serde_json::json!({"state": before.state.code()})),
            after: Some(serde_json::json!({"state": after.state.code(),
                "explanation": after.explanation, "late": after.late != 0})),
        },
    )?;
    let month = Month::parse(&after.month).ok_or_else(|| AppError::internal("a stored month"))?;
    let unit = crate::reference::unit_name(conn, &after.unit);
    let office = crate::accounts::recipients::coordinators(conn)?;
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        &office,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Consultation,
            title: format!("月度报送：{unit} {}", month.label()),
            body: format!(
                "{unit}{}的督办事项进展已{}{}。",
                month.label(),
                if after.state == ReportState::Approved {
                    "经负责人签发报送"
                } else {
                    "附情况说明报送（负责人尚未签字）"
                },
                if after.late != 0 {
                    "（逾期报送）"
                } else {
                    ""
                }
            ),
            link: format!("/monthly-reports/{}", after.id),
            entity_type: "monthly_report",
            entity_id: &after.id,
        },
    )?;
    views(conn, std::slice::from_ref(&after), settings)?
        .pop()
        .ok_or_else(|| AppError::internal("a report without its view"))
}

/// The unit's head signs the report off: the signature on record, with the head's name
/// and time; not the head who drafted it.
pub fn approve(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
    id: &str,
) -> AppResult<ReportView> {
    let r = load(conn, who, id)?;
    if !policy::may_sign_report(who, &r.unit) {
        return Err(AppError::Forbidden(
            "月度报送由本单位主要负责人审核签发。".into(),
        ));
    }
    if r.drafted_by.as_deref() == Some(who.id.as_str()) {
        return Err(AppError::Forbidden(
            "报送材料须经他人起草、负责人审核：起草人不能签发自己起草的报送。".into(),
        ));
    }
    if r.state == ReportState::Approved {
        return Err(AppError::InvalidTransition("这份报送已经签发。".into()));
    }
    let month = Month::parse(&r.month).ok_or_else(|| AppError::internal("a stored month"))?;
    let filed_at = r.filed_at.unwrap_or(now);
    let after = MonthlyReport {
        state: ReportState::Approved,
        approved_by: Some(who.id.clone()),
        approved_at: Some(now),
        filed_at: Some(filed_at),
        late: i32::from(super::rules::is_late(
            month,
            shanghai_date(filed_at),
            settings.due_day,
        )),
        ..r.clone()
    };
    file(conn, who, now, settings, &r, after, "approve")
}

/// The head cannot sign in time: the officer files the report with an explanation (情况说明,
/// e.g. that the head reviewed it by phone); the head may still sign it later.
pub fn explain(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    settings: &ReportSettings,
    id: &str,
    explanation: &str,
) -> AppResult<ReportView> {
    let r = load(conn, who, id)?;
    if !policy::is_unit_staff(who, &r.unit) {
        return Err(AppError::Forbidden("只能报送本单位的月度报送。".into()));
    }
    if r.state != ReportState::Draft {
        return Err(AppError::InvalidTransition(format!(
            "这份报送{}。",
            r.state.label()
        )));
    }
    let explanation = explanation.trim().to_owned();
    if explanation.is_empty() || explanation.chars().count() > 1000 {
        return Err(AppError::field(
            "explanation",
            "请说明负责人无法及时签字的情况（1000 字以内）",
        ));
    }
    let month = Month::parse(&r.month).ok_or_else(|| AppError::internal("a stored month"))?;
    let after = MonthlyReport {
        state: ReportState::Explained,
        explanation,
        filed_at: Some(now),
        late: i32::from(super::rules::is_late(
            month,
            shanghai_date(now),
            settings.due_day,
        )),
        ..r.clone()
    };
    file(conn, who, now, settings, &r, after, "explain")
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// "2026-03"; default last month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// The month asked for, or last month.
pub fn month_of(q: Option<&str>, today: NaiveDate) -> AppResult<Month> {
    match q.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => parse_month(m),
        None => Ok(Month::of(today).previous()),
    }
}

/// The month's reports: every unit's for the office, the reader's unit's otherwise.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    q: &ReportQuery,
) -> AppResult<(Month, Vec<MonthlyReport>)> {
    authz::require(who, Action::ViewDecisions)?;
    let month = month_of(q.month.as_deref(), today)?;
    let unit = if policy::reads_all(who) {
        q.unit
            .as_deref()
            .map(|u| u.trim().to_uppercase())
            .filter(|u| !u.is_empty())
    } else {
        Some(
            own_unit(who, q.unit.as_deref())
                .map_err(|_| AppError::field("unit", "只能查看本单位的月度报送"))?,
        )
    };
    Ok((
        month,
        rows::of_month(conn, &month.to_string(), unit.as_deref())?,
    ))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitStatus {
    pub unit: String,
    pub name: String,
    /// Decisions the unit owes a report on for the month.
    pub owed: i64,
    pub report_id: Option<String>,
    pub state: Option<ReportState>,
    pub state_label: String,
    pub filed_at: Option<String>,
    /// Filed after the due day.
    pub late: bool,
    /// Not filed, and the due day has passed.
    pub missing: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthStatus {
    pub month: String,
    pub month_label: String,
    pub due_on: String,
    pub units: Vec<UnitStatus>,
    pub filed: usize,
    pub late: usize,
    pub missing: usize,
}

/// The month's reporting status: each unit that owes a report or filed one, whether it
/// filed, on time or late, or is missing once the due day has passed.
pub fn status(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    settings: &ReportSettings,
    month: Option<&str>,
) -> AppResult<MonthStatus> {
    let units = super::ledger::Units::load(conn)?;
    status_with(conn, who, today, settings, month, &units)
}

/// As [`status`], with the units already read.
pub fn status_with(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    settings: &ReportSettings,
    month: Option<&str>,
    units_read: &super::ledger::Units,
) -> AppResult<MonthStatus> {
    authz::require(who, Action::ViewDecisions)?;
    let month = month_of(month, today)?;
    let own = (!policy::reads_all(who))
        .then(|| who.department.clone())
        .flatten();
    let (from, to) = bounds(month);
    let owed = rows::owed_counts(conn, from, to)?;
    let reports = rows::of_month(conn, &month.to_string(), own.as_deref())?;
    let due = month.due_on(settings.due_day);
    let mut units = Vec::new();
    for d in units_read.all() {
        if own.as_ref().is_some_and(|o| *o != d.code) {
            continue;
        }
        let n = owed.iter().find(|(u, _)| *u == d.code).map_or(0, |o| o.1);
        let r = reports.iter().find(|r| r.unit == d.code);
        if n == 0 && r.is_none() {
            continue;
        }
        let filed = r.and_then(|r| r.filed_at);
        units.push(UnitStatus {
            unit: d.code.clone(),
            name: d.name.clone(),
            owed: n,
            report_id: r.map(|r| r.id.clone()),
            state: r.map(|r| r.state),
            state_label: r.map_or("未报送".to_owned(), |r| r.state.label().to_owned()),
            filed_at: filed.map(shown),
            late: r.is_some_and(|r| r.late != 0),
            missing: filed.is_none() && today > due,
        });
    }
    Ok(MonthStatus {
        month: month.to_string(),
        month_label: month.label(),
        due_on: due.to_string(),
        filed: units.iter().filter(|u| u.filed_at.is_some()).count(),
        late: units.iter().filter(|u| u.late).count(),
        missing: units.iter().filter(|u| u.missing).count(),
        units,
    })
}

/// The scheduler's reminders for last month's reports: on each reminder day (and on any
/// day after it until the due day, should the service have been down) the units owing a
/// report that have not filed are told, once each; the day after the due day the office is
/// told who has not filed, once. Answers how many notices went out.
pub fn remind(
    db: &crate::platform::db::Db,
    now: NaiveDateTime,
    settings: &ReportSettings,
) -> AppResult<usize> {
    let today = shanghai_date(now);
    let month = Month::of(today).previous();
    let day = today.day();
    let (from, to) = bounds(month);
    let key = month.to_string();
    let waiting: Vec<String> = db.read(|conn| {
        let owed = rows::owed_counts(conn, from, to)?;
        let reports = rows::of_month(conn, &key, None)?;
        Ok(owed
            .into_iter()
            .filter(|(u, n)| {
                *n > 0 && !reports.iter().any(|r| r.unit == *u && r.filed_at.is_some())
            })
            .map(|(u, _)| u)
            .collect())
    })?;
    let due = month.due_on(settings.due_day);
    let mut sent = 0;
    let mut days: Vec<u32> = settings.remind_days.clone();
    days.sort_unstable();
    days.dedup();
    for d in days
        .into_iter()
        .filter(|d| *d <= day && day <= settings.due_day)
    {
        for unit in &waiting {
            let told = db.transaction(|conn| {
                if !rows::claim_reminder(conn, &key, unit, d as i32, now)? {
                    return Ok(false);
                }
                let staff = crate::accounts::recipients::departments_and_township(
                    conn,
                    std::slice::from_ref(unit),
                    None,
                )?;
                crate::notify::send(
                    conn,
                    now,
                    None,
                    &staff,
                    &crate::notify::Notice {
                        kind: crate::notify::NoticeKind::Consultation,
                        title: format!("请于 {due} 前报送{}督办事项进展", month.label()),
                        body: format!(
                            "本单位尚未报送{}的督办事项进展。请工作人员起草、单位主要负责人审核签发，于 {due} 前报送；负责人因特殊情况无法及时签字的，可附情况说明报送。",
                            month.label()
                        ),
                        link: format!("/monthly-reports/new?month={key}"),
                        entity_type: "monthly_report",
                        entity_id: &key,
                    },
                )?;
                Ok(true)
            })?;
            sent += usize::from(told);
        }
    }
    if day > settings.due_day && day <= settings.due_day + 7 && !waiting.is_empty() {
        let told = db.transaction(|conn| {
            if !rows::claim_reminder(conn, &key, "*", settings.due_day as i32 + 1, now)? {
                return Ok(false);
            }
            let names: Vec<String> = waiting
                .iter()
                .map(|u| crate::reference::unit_name(conn, u))
                .collect();
            let office = crate::accounts::recipients::coordinators(conn)?;
            crate::notify::send(
                conn,
                now,
                None,
                &office,
                &crate::notify::Notice {
                    kind: crate::notify::NoticeKind::Consultation,
                    title: format!(
                        "{}月度报送：{} 个单位未按时报送",
                        month.label(),
                        names.len()
                    ),
                    body: format!(
                        "截至 {due}，以下单位未报送{}督办事项进展：{}。",
                        month.label(),
                        names.join("、")
                    ),
                    link: format!("/monthly-reports?month={key}"),
                    entity_type: "monthly_report",
                    entity_id: &key,
                },
            )?;
            Ok(true)
        })?;
        sent += usize::from(told);
    }
    Ok(sent)
}

/// The decisions the reader's unit owes a report on for `month`, as shown (the drafting
/// form's rows).
pub fn owed_decisions(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    month: Month,
) -> AppResult<Vec<super::ledger::DecisionView>> {
    let unit = own_unit(who, None)?;
    let (from, to) = bounds(month);
    let ids: Vec<String> = rows::owed(conn, from, to, Some(&unit))?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let mut decisions = decision_rows::decisions_by_ids(conn, &ids)?;
    decisions.sort_by(|a, b| (a.due_on, &a.number).cmp(&(b.due_on, &b.number)));
    super::ledger::views(conn, &decisions, today)
}

/// A unit's reports, newest month first: its record of filing and lateness.
pub fn history(
    conn: &mut DbConnection,
    who: &Principal,
    unit: &str,
) -> AppResult<Vec<MonthlyReport>> {
    authz::require(who, Action::ViewDecisions)?;
    if !(policy::reads_all(who) || policy::is_unit_staff(who, unit)) {
        return Err(AppError::Forbidden("只能查看本单位的月度报送。".into()));
    }
    rows::history(conn, unit, 24)
}

/// The month's reports and status as an Excel workbook: who filed when, and what each
/// reported on each decision.
pub fn workbook(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    settings: &ReportSettings,
    month: Option<&str>,
) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::{Sheet, Value};
    let st = status(conn, who, today, settings, month)?;
    let (_, reports) = list(
        conn,
        who,
        today,
        &ReportQuery {
            month: Some(st.month.clone()),
            unit: None,
        },
    )?;
    let views = views(conn, &reports, settings)?;
    let yes = |b: bool| Value::from(if b { "是" } else { "" }.to_owned());
    let status_rows = st
        .units
        .iter()
        .map(|u| {
            vec![
                Value::from(u.name.clone()),
                Value::Number(u.owed as f64),
                Value::from(u.state_label.clone()),
                Value::from(u.filed_at.clone().unwrap_or_default()),
                yes(u.late),
                yes(u.missing),
            ]
        })
        .collect();
    let item_rows = views
        .iter()
        .flat_map(|r| {
            r.items.iter().map(move |i| {
                vec![
                    Value::from(r.unit_name.clone()),
                    Value::from(i.number.clone()),
                    Value::from(i.decision.clone()),
                    Value::from(i.text.clone()),
                    Value::Number(f64::from(i.percent)),
                    Value::from(r.approved_by.clone()),
                    Value::from(r.approved_at.clone().unwrap_or_default()),
                    Value::from(r.explanation.clone()),
                ]
            })
        })
        .collect();
    crate::platform::xlsx::workbook_of(vec![
        Sheet {
            name: "报送情况",
            headers: vec![
                ("单位", 18.0),
                ("应报事项", 10.0),
                ("状态", 24.0),
                ("报送时间", 16.0),
                ("逾期报送", 10.0),
                ("未报送", 10.0),
            ],
            rows: status_rows,
        },
        Sheet {
            name: "报送内容",
            headers: vec![
                ("单位", 18.0),
                ("议定事项编号", 16.0),
                ("议定事项", 36.0),
                ("上月进展", 40.0),
                ("完成比例（%）", 10.0),
                ("签发人", 12.0),
                ("签发时间", 16.0),
                ("情况说明", 30.0),
            ],
            rows: item_rows,
        },
    ])
}

/// The month on one page for the district's leadership: the reporting status, the ledger
/// by unit as it stands, what entered and left the ledger in the month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthSummary {
    pub status: MonthStatus,
    pub units: Vec<super::ledger::UnitTally>,
    pub entered: i64,
    pub closed: i64,
    pub overdue_now: i64,
}

pub fn summary(
    conn: &mut DbConnection,
    who: &Principal,
    today: NaiveDate,
    settings: &ReportSettings,
    month: Option<&str>,
) -> AppResult<MonthSummary> {
    let status = status(conn, who, today, settings, month)?;
    let m = parse_month(&status.month)?;
    let (from, to) = bounds(m);
    let own = (!policy::reads_all(who))
        .then(|| who.department.clone())
        .flatten();
    let units = super::ledger::tally(conn, today, own.as_deref())?;
    let (entered, closed) = decision_rows::entered_and_closed(conn, from, to)?;
    Ok(MonthSummary {
        overdue_now: units.iter().map(|u| u.overdue).sum(),
        status,
        units,
        entered,
        closed,
    })
}
