//! 关闭退出 (DOMAIN.md §7, API.md "Closures"): closure cases opened on a decision, each
//! with its checklist of departments' tasks, the joint acceptance that alone closes a mine,
//! the tailings pond's clock and the watch on closed mines.

pub mod acceptance;
pub mod api;
pub mod board;
pub mod deadlines;
pub mod pages;
pub mod policy;
pub mod rules;
pub mod store;
pub mod tasks;
pub mod watch;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::register::rules::mine::MineStatus;
use rules::{Basis, CaseState, ClosureKind, TaskState};
use store::{Case, Task};
pub use store::{CaseFilter, FileMeta};

/// At most this many tasks a case (the template's and those the office adds).
pub const MAX_TASKS: usize = 40;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClosure {
    pub mine_id: String,
    /// government_decision | ban_illegal | unsafe | tailings_closure | right_expired |
    /// policy_elimination
    pub kind: String,
    /// 决定书文号.
    pub decision_number: String,
    /// The decision's date (YYYY-MM-DD).
    pub decided_on: String,
    /// 决定机关.
    pub issuing_body: String,
    /// consultation | lead | hazard | document
    pub basis: String,
    /// The decision's number (HS-2026-007-2), the lead's (XS-…), the hazard or the document.
    pub basis_ref: Option<String>,
    /// The date the closure is to be accepted by; for a tailings pond at most a year after
    /// its stop (and one year after it when left out).
    pub target_on: Option<String>,
    /// A tailings pond's planned stop (停用日期): its clock runs from it.
    pub stop_on: Option<String>,
    /// For elimination under industrial policy, DRC or MIIT (default: the opener's, or DRC).
    pub owner_department: Option<String>,
    /// 取缔 of a site found by a lead and not yet on the register (`mine_id` left empty):
    /// the lead, and the site's kind of mine (its name defaults to 非法开采点（XS-…）).
    pub lead_id: Option<String>,
    pub site_name: Option<String>,
    /// e.g. sand_gravel, nonmetal.
    pub site_mine_type: Option<String>,
}

/// A case as the API and the pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    /// GB-2026-001.
    pub number: String,
    pub mine_id: String,
    pub mine_name: String,
    pub kind: ClosureKind,
    pub kind_label: &'static str,
    pub owner_department: String,
    pub owner_name: String,
    pub decision_number: String,
    pub decided_on: NaiveDate,
    pub issuing_body: String,
    pub basis: Basis,
    pub basis_label: &'static str,
    pub basis_ref: String,
    pub target_on: NaiveDate,
    pub state: CaseState,
    pub state_label: &'static str,
    /// The target date has passed and the case is not accepted.
    pub overdue: bool,
    pub stop_on: Option<NaiveDate>,
    pub design_due_on: Option<NaiveDate>,
    pub extended_months: i32,
    pub extension_reason: String,
    pub accepted_on: Option<NaiveDate>,
    pub open_tasks: usize,
    pub tasks: Vec<TaskView>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub department: String,
    pub department_name: String,
    pub due_on: NaiveDate,
    pub state: TaskState,
    pub state_label: &'static str,
    pub overdue: bool,
    /// The permit cancelled when the task is completed.
    pub permit_type: Option<String>,
    /// Who is told besides the department (供电单位 …).
    pub notified: String,
    /// Why the office added it (a task not of the template).
    pub added_reason: String,
    /// What was done, or why it was waived.
    pub note: String,
    pub done_by: String,
    pub done_at: Option<NaiveDateTime>,
}

/// The views of some cases, their mines, units and tasks loaded once for all of them.
pub fn views(
    conn: &mut DbConnection,
    cases: &[Case],
    today: NaiveDate,
) -> AppResult<Vec<CaseView>> {
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let mine_ids: Vec<String> = cases.iter().map(|c| c.mine_id.clone()).collect();
    let mines = crate::register::mines::names(conn, &mine_ids)?;
    let tasks = store::tasks_of_cases(conn, &ids)?;
    let mut people: Vec<String> = tasks.iter().filter_map(|t| t.done_by.clone()).collect();
    people.sort();
    people.dedup();
    let names = crate::accounts::names(conn, &people)?;
    let units = unit_names(conn)?;
    let unit = |c: &str| units.get(c).cloned().unwrap_or_else(|| c.to_owned());
    Ok(cases
        .iter()
        .map(|c| {
            let tasks: Vec<TaskView> = tasks
                .iter()
                .filter(|t| t.case_id == c.id)
                .map(|t| TaskView {
                    id: t.id.clone(),
                    code: t.code.clone(),
                    name: t.name.clone(),
                    department: t.department.clone(),
                    department_name: unit(&t.department),
                    due_on: t.due_on,
                    state: t.state,
                    state_label: t.state.label(),
                    overdue: t.state == TaskState::Open && t.due_on < today,
                    permit_type: t.permit_type.clone(),
                    notified: t.notified.clone(),
                    added_reason: t.added_reason.clone(),
                    note: t.note.clone(),
                    done_by: t
                        .done_by
                        .as_ref()
                        .and_then(|i| names.get(i).cloned())
                        .unwrap_or_default(),
                    done_at: t.done_at,
                })
                .collect();
            CaseView {
                id: c.id.clone(),
                number: c.number.clone(),
                mine_id: c.mine_id.clone(),
                mine_name: mines
                    .get(&c.mine_id)
                    .cloned()
                    .unwrap_or_else(|| c.mine_id.clone()),
                kind: c.kind,
                kind_label: c.kind.label(),
                owner_department: c.owner_department.clone(),
                owner_name: unit(&c.owner_department),
                decision_number: c.decision_number.clone(),
                decided_on: c.decided_on,
                issuing_body: c.issuing_body.clone(),
                basis: c.basis,
                basis_label: c.basis.label(),
                basis_ref: c.basis_ref.clone(),
                target_on: c.target_on,
                state: c.state,
                state_label: c.state.label(),
                overdue: c.state.is_live() && c.target_on < today,
                stop_on: c.stop_on,
                design_due_on: c.design_due_on,
                extended_months: c.extended_months,
                extension_reason: c.extension_reason.clone(),
                accepted_on: c.accepted_on,
                open_tasks: tasks.iter().filter(|t| t.state == TaskState::Open).count(),
                tasks,
                created_at: c.created_at,
                version: c.version,
            }
        })
        .collect())
}

/// Every member unit's name by code, in one query (cases and tasks name only units).
fn unit_names(conn: &mut DbConnection) -> AppResult<HashMap<String, String>> {
    Ok(crate::reference::departments(conn)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect())
}

pub fn view(conn: &mut DbConnection, c: &Case, today: NaiveDate) -> AppResult<CaseView> {
    views(conn, std::slice::from_ref(c), today)?
        .pop()
        .ok_or_else(|| AppError::internal("a case without its view"))
}

/// A case the reader may see, or 404.
pub fn load(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Case> {
    authz::require(who, Action::ViewClosures)?;
    store::find(conn, id)?.ok_or_else(|| AppError::NotFound("没有这个关闭退出案件。".into()))
}

fn date_field(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    if value.trim().is_empty() {
        return None;
    }
    crate::register::mines::parse_date(errors, field, value, today)
}

fn text_field(
    errors: &mut Vec<FieldError>,
    field: &str,
    what: &str,
    value: &str,
    max: usize,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, format!("请填写{what}")));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("{what}不能超过 {max} 个字符"),
        ));
    }
    v.to_owned()
}

/// Opens a case: checks every rule first (who may open the kind, the mine and its state,
/// one live case a mine, the decision, the basis, the dates and the tailings clock), then
/// numbers it, gives it the tasks of its kind from the checklist, moves the mine to
/// closing and tells the departments with tasks. Nothing is written when a rule stands
/// against it.
pub fn open(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewClosure,
) -> AppResult<Case> {
    authz::require(who, Action::ViewClosures)?;
    let today = shanghai_date(now);
    let mut errors = Vec::new();
    let kind = ClosureKind::parse(input.kind.trim());
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            format!("关闭退出类型只能是 {}", ClosureKind::codes()),
        ));
    }
    if let Some(k) = kind {
        if !policy::may_open(who, k) {
            let owners: Vec<String> = k
                .owners()
                .iter()
                .map(|d| crate::reference::unit_name(conn, d))
                .collect();
            return Err(AppError::Forbidden(format!(
                "“{}”由{}或协调办立案。",
                k.label(),
                owners.join("、")
            )));
        }
    }
    let owner = kind.and_then(|k| {
        let asked = input
            .owner_department
            .as_deref()
            .map(|d| d.trim().to_uppercase())
            .filter(|d| !d.is_empty());
        let owner = policy::owner_for(who, k, asked.as_deref());
        if owner.is_none() {
            errors.push(FieldError::new(
                "owner_department",
                format!("“{}”的牵头部门只能是 {}", k.label(), k.owners().join("、")),
            ));
        }
        owner
    });
    let lead_id = input
        .lead_id
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let mine = match (input.mine_id.trim(), lead_id) {
        ("", Some(lead)) if kind == Some(ClosureKind::BanIllegal) => {
            site_from_lead(conn, who, now, lead, &input, &mut errors)?
        }
        ("", Some(_)) => {
            errors.push(FieldError::new(
                "mine_id",
                "只有取缔可以由线索登记非法开采点；其他类型请选择矿山",
            ));
            None
        }
        (id, _) => match crate::register::mines::find(conn, id) {
            Ok(m) => Some(m),
            Err(AppError::NotFound(_)) => {
                errors.push(FieldError::new("mine_id", "没有这座矿山"));
                None
            }
            Err(e) => return Err(e),
        },
    };
    if let (Some(m), Some(k)) = (&mine, kind) {
        let illegal = m.status() == MineStatus::IllegalSite;
        if k == ClosureKind::BanIllegal && !illegal {
            errors.push(FieldError::new(
                "kind",
                "取缔只适用于登记为“非法开采点”的地点；有证矿山请选择其他关闭类型",
            ));
        }
        if k != ClosureKind::BanIllegal && illegal {
            errors.push(FieldError::new("kind", "非法开采点应选择“取缔非法矿山”"));
        }
        if k.is_tailings() && !m.is_tailings_pond() {
            errors.push(FieldError::new("kind", "尾矿库闭库只适用于尾矿库"));
        }
    }
    let decision_number = text_field(
        &mut errors,
        "decision_number",
        "决定书文号",
        &input.decision_number,
        100,
    );
    let issuing_body = text_field(
        &mut errors,
        "issuing_body",
        "决定机关",
        &input.issuing_body,
        100,
    );
    let decided_on = date_field(&mut errors, "decided_on", &input.decided_on, today);
    if input.decided_on.trim().is_empty() {
        errors.push(FieldError::new("decided_on", "请填写决定日期"));
    }
    if decided_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new("decided_on", "决定日期不能晚于今天"));
    }
    let basis = Basis::parse(input.basis.trim());
    if basis.is_none() {
        errors.push(FieldError::new(
            "basis",
            format!("立案依据只能是 {}", Basis::codes()),
        ));
    }
    let basis_ref = input.basis_ref.unwrap_or_default().trim().to_owned();
    if basis_ref.chars().count() > 200 {
        errors.push(FieldError::new("basis_ref", "依据编号不能超过 200 个字符"));
    }
    match basis {
        Some(Basis::Consultation | Basis::Lead) if basis_ref.is_empty() => {
            errors.push(FieldError::new("basis_ref", "请填写议定事项或线索的编号"))
        }
        Some(Basis::Lead) if crate::leads::find_by_number(conn, &basis_ref)?.is_none() => errors
            .push(FieldError::new(
                "basis_ref",
                format!("没有编号为 {basis_ref} 的线索"),
            )),
        _ => {}
    }
    let stop_on = date_field(
        &mut errors,
        "stop_on",
        input.stop_on.as_deref().unwrap_or_default(),
        today,
    );
    let mut target_on = date_field(
        &mut errors,
        "target_on",
        input.target_on.as_deref().unwrap_or_default(),
        today,
    );
    let mut clock = None;
    if kind.is_some_and(ClosureKind::is_tailings) {
        match stop_on.map(rules::tailings_clock) {
            None if input
                .stop_on
                .as_deref()
                .unwrap_or_default()
                .trim()
                .is_empty() =>
            {
                errors.push(FieldError::new(
                    "stop_on",
                    "尾矿库闭库请填写计划停用日期（闭库期限由此计算）",
                ))
            }
            None => {}
            Some(None) => errors.push(FieldError::new("stop_on", "停用日期超出可计算的范围")),
            Some(Some(c)) => {
                match target_on {
                    Some(t) if t > c.closure_due_on => errors.push(FieldError::new(
                        "target_on",
                        format!(
                            "尾矿库应在停用后一年内完成闭库销号（{} 前）",
                            c.closure_due_on
                        ),
                    )),
                    Some(_) => {}
                    None => target_on = Some(c.closure_due_on),
                }
                clock = Some(c);
            }
        }
    } else if stop_on.is_some() {
        errors.push(FieldError::new("stop_on", "只有尾矿库闭库需要填写停用日期"));
    }
    match (target_on, decided_on) {
        (None, _)
            if errors.iter().all(|e| e.field != "target_on")
                && !kind.is_some_and(ClosureKind::is_tailings) =>
        {
            errors.push(FieldError::new("target_on", "请填写完成验收的目标日期"))
        }
        (Some(t), Some(d)) if t < d => {
            errors.push(FieldError::new("target_on", "目标日期不能早于决定日期"))
        }
        (Some(t), Some(d)) if (t - d).num_days() > 366 * 5 => errors.push(FieldError::new(
            "target_on",
            "目标日期应在决定日期后五年以内",
        )),
        _ => {}
    }
    let (Some(mine), Some(kind), Some(owner), Some(decided_on), Some(basis), Some(target_on), true) = (
        mine,
        kind,
        owner,
        decided_on,
        basis,
        target_on,
        errors.is_empty(),
    ) else {
        return Err(AppError::Validation(errors));
    };
    if mine.status() == MineStatus::Closed {
        return Err(AppError::InvalidTransition(format!(
            "“{}”已经关闭，不能再立关闭退出案件。",
            mine.name
        )));
    }
    if let Some(live) = store::live_of_mine(conn, &mine.id)? {
        return Err(AppError::Refused {
            kind: "closure_exists",
            detail: format!(
                "“{}”已有办理中的关闭退出案件 {}，不能重复立案。",
                mine.name, live.number
            ),
        });
    }
    let year = today.year();
    let n = store::next_number(conn, year)?;
    let id = uuid::Uuid::now_v7().to_string();
    let case = Case {
        id: id.clone(),
        number: format!("GB-{year}-{n:03}"),
        mine_id: mine.id.clone(),
        kind,
        owner_department: owner.clone(),
        decision_number,
        decided_on,
        issuing_body,
        basis,
        basis_ref: basis_ref.clone(),
        target_on,
        state: CaseState::Open,
        status_before: mine.status().code().to_owned(),
        stop_on: clock.and(stop_on),
        design_due_on: clock.map(|c| c.design_due_on),
        extended_months: 0,
        extension_reason: String::new(),
        extended_by: None,
        extended_at: None,
        accepted_on: None,
        reminded_at: None,
        escalated_at: None,
        opened_by: Some(who.id.clone()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let start = case.stop_on.unwrap_or(decided_on);
    let tasks: Vec<Task> = crate::reference::closure_tasks(conn)?
        .into_iter()
        .filter(|t| t.active != 0)
        .filter(|t| {
            crate::reference::split_codes(&t.kinds)
                .iter()
                .any(|k| k == kind.code())
        })
        .take(MAX_TASKS)
        .enumerate()
        .map(|(i, t)| Task {
            id: uuid::Uuid::now_v7().to_string(),
            case_id: id.clone(),
            position: i as i32 + 1,
            code: t.code,
            name: t.name,
            department: if t.department == crate::reference::OWNER_DEPARTMENT {
                owner.clone()
            } else {
                t.department
            },
            due_on: rules::task_due(start, t.due_days, case.design_due_on, target_on),
            state: TaskState::Open,
            permit_type: t.permit_type,
            notified: t.notified,
            added_reason: String::new(),
            note: String::new(),
            done_by: None,
            done_at: None,
            reminded_at: None,
            escalated_at: None,
            version: 1,
        })
        .collect();
    store::insert(conn, &case, &tasks)?;
    if basis == Basis::Consultation {
        crate::consultations::ledger::closure_opened(
            conn, who, now, &basis_ref, &mine.id, &case.id,
        )?;
    }
    crate::register::mines::closure_status(
        conn,
        &who.actor(),
        now,
        &mine.id,
        MineStatus::Closing,
        &format!(
            "关闭退出 {}：{}，{} {}",
            case.number,
            kind.label(),
            case.issuing_body,
            case.decision_number
        ),
    )?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "create",
        None,
        serde_json::json!({
            "number": case.number, "mine_id": case.mine_id, "kind": kind.code(),
            "owner_department": case.owner_department, "decision_number": case.decision_number,
            "decided_on": case.decided_on, "issuing_body": case.issuing_body,
            "basis": basis.code(), "basis_ref": case.basis_ref, "target_on": case.target_on,
            "stop_on": case.stop_on, "tasks": tasks.iter().map(|t| (&t.code, &t.department, t.due_on)).collect::<Vec<_>>(),
        }),
    )?;
    let mut units: Vec<String> = tasks.iter().map(|t| t.department.clone()).collect();
    units.push(owner.clone());
    units.sort();
    units.dedup();
    let mut recipients =
        crate::accounts::recipients::departments_and_township(conn, &units, Some(&mine.township))?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    let owner_name = crate::reference::unit_name(conn, &owner);
    tell(
        conn,
        who,
        now,
        &case,
        &recipients,
        format!("关闭退出立案：{}", mine.name),
        format!(
            "{owner_name}对“{}”立案关闭退出（{}，{} {}），目标 {} 前完成验收。请各部门按任务清单按时办理。",
            mine.name,
            kind.label(),
            case.issuing_body,
            case.decision_number,
            case.target_on
        ),
    )?;
    Ok(case)
}

/// The illegal site a ban is for, found by a lead: the mine the lead names when it is an
/// illegal site, otherwise a new one put on the register at the lead's place (only when
/// nothing else is wrong, so that a refused case records no site).
fn site_from_lead(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    lead_id: &str,
    input: &NewClosure,
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<crate::register::mines::Mine>> {
    let lead = match crate::leads::find_visible(conn, who, lead_id) {
        Ok(l) => l,
        Err(AppError::NotFound(_)) => {
            errors.push(FieldError::new("lead_id", "没有这条线索"));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if let Some(m) = &lead.mine_id {
        let mine = crate::register::mines::find(conn, m)?;
        if mine.status() == MineStatus::IllegalSite {
            return Ok(Some(mine));
        }
        errors.push(FieldError::new(
            "lead_id",
            format!(
                "线索 {} 涉及登记在册的“{}”，请选择其他关闭类型",
                lead.number, mine.name
            ),
        ));
        return Ok(None);
    }
    let mine_type = input
        .site_mine_type
        .as_deref()
        .map(str::trim)
        .and_then(crate::register::rules::mine::MineType::parse);
    if mine_type.is_none() {
        errors.push(FieldError::new(
            "site_mine_type",
            format!(
                "请选择非法开采点的矿山类型（{}）",
                crate::register::rules::mine::MineType::codes()
            ),
        ));
    }
    let Some(township) = lead.township.clone() else {
        errors.push(FieldError::new(
            "lead_id",
            "该线索没有所在街镇，无法登记非法开采点",
        ));
        return Ok(None);
    };
    let name = input
        .site_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("非法开采点（{}）", lead.number));
    if name.chars().count() > 100 {
        errors.push(FieldError::new("site_name", "名称不能超过 100 个字符"));
    }
    let (Some(mine_type), true) = (mine_type, errors.is_empty()) else {
        return Ok(None);
    };
    let address = match (lead.lon, lead.lat) {
        (Some(lon), Some(lat)) => format!(
            "经度 {lon:.5}，纬度 {lat:.5}（线索 {} 的位置）",
            lead.number
        ),
        _ => format!("见线索 {}", lead.number),
    };
    let site = crate::register::mines::record_illegal_site(
        conn,
        &who.actor(),
        now,
        crate::register::mines::IllegalSite {
            name,
            township,
            mine_type,
            mineral: String::new(),
            address,
            reason: format!("线索 {} 发现的非法开采点，立案取缔", lead.number),
        },
    )?;
    Ok(Some(site))
}

fn audit_case(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case: &Case,
    action: &'static str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "closure",
            entity_id: &case.id,
            action,
            before,
            after: Some(after),
        },
    )?;
    Ok(())
}

fn tell(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case: &Case,
    recipients: &[String],
    title: String,
    body: String,
) -> AppResult<()> {
    crate::notify::send(
        conn,
        now,
        Some(&who.id),
        recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Closure,
            title: format!("{} {title}", case.number),
            body,
            link: format!("/closures/{}", case.id),
            entity_type: "closure",
            entity_id: &case.id,
        },
    )?;
    Ok(())
}

fn save(conn: &mut DbConnection, before: &Case, after: &Case) -> AppResult<()> {
    if store::save(conn, before, after)? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "这个关闭退出案件刚被其他人办理过，请刷新后重试。".into(),
        ))
    }
}

fn refuse_accepted(case: &Case) -> AppResult<()> {
    if case.state == CaseState::Accepted {
        return Err(AppError::InvalidTransition(format!(
            "案件 {} 已验收通过，不能再办理。",
            case.number
        )));
    }
    Ok(())
}

/// A case with its files and acceptances.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseRecord {
    #[serde(flatten)]
    pub case: CaseView,
    pub files: Vec<FileMeta>,
    pub acceptances: Vec<acceptance::AcceptanceView>,
}

pub fn record(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
) -> AppResult<CaseRecord> {
    let c = load(conn, who, id)?;
    Ok(CaseRecord {
        case: view(conn, &c, shanghai_date(now))?,
        files: store::files_of(conn, id)?,
        acceptances: acceptance::views(conn, id)?,
    })
}

/// A file of a case: its name, type and bytes.
pub fn file(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    file_id: &str,
) -> AppResult<(String, String, Vec<u8>)> {
    load(conn, who, id)?;
    store::file(conn, id, file_id)?.ok_or_else(|| AppError::NotFound("没有这个文件。".into()))
}

/// The list's query as people type it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// open | accepting | accepted | rejected
    pub state: Option<String>,
    pub kind: Option<String>,
    /// The owning unit (department code).
    pub owner: Option<String>,
    /// Only cases with an open task of this department.
    pub task_department: Option<String>,
    pub mine_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl CaseQuery {
    pub fn filter(&self) -> AppResult<CaseFilter> {
        let mut errors = Vec::new();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let state = given(&self.state).and_then(|s| {
            let p = CaseState::parse(&s);
            if p.is_none() {
                errors.push(FieldError::new(
                    "state",
                    format!("状态只能是 {}", CaseState::codes()),
                ));
            }
            p
        });
        let kind = given(&self.kind).and_then(|s| {
            let p = ClosureKind::parse(&s);
            if p.is_none() {
                errors.push(FieldError::new(
                    "kind",
                    format!("类型只能是 {}", ClosureKind::codes()),
                ));
            }
            p
        });
        let too_long = |v: &Option<String>| v.as_deref().is_some_and(|v| v.len() > 64);
        for (field, v) in [
            ("owner", &self.owner),
            ("task_department", &self.task_department),
            ("mine_id", &self.mine_id),
            ("cursor", &self.cursor),
        ] {
            if too_long(v) {
                errors.push(FieldError::new(field, "取值过长"));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(CaseFilter {
            state,
            kind,
            owner: given(&self.owner).map(|o| o.to_uppercase()),
            mine_id: given(&self.mine_id),
            task_department: given(&self.task_department).map(|o| o.to_uppercase()),
            before: given(&self.cursor),
        })
    }
}

/// A page of cases (the newest first) and the cursor of the next.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    f: &CaseFilter,
    limit: i64,
) -> AppResult<(Vec<CaseView>, Option<String>)> {
    authz::require(who, Action::ViewClosures)?;
    let mut rows = store::list(conn, f, limit + 1)?;
    let next = crate::platform::pagination::next_cursor(&mut rows, limit, |c| c.id.clone());
    Ok((views(conn, &rows, shanghai_date(now))?, next))
}

/// Every case matching the filter (at most 5 000), for the export.
pub fn all_matching(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    f: &CaseFilter,
) -> AppResult<Vec<CaseView>> {
    authz::require(who, Action::ViewClosures)?;
    let rows = store::list(conn, f, 5_000)?;
    views(conn, &rows, shanghai_date(now))
}

/// The cases of a mine, the latest first (the mine's page).
pub fn of_mine(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    mine_id: &str,
) -> AppResult<Vec<CaseView>> {
    authz::require(who, Action::ViewClosures)?;
    let rows = store::of_mine(conn, mine_id)?;
    views(conn, &rows, shanghai_date(now))
}

/// The cases matching the filter as a workbook (关闭退出台账), a row a case and a sheet of
/// their tasks.
pub fn workbook(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    f: &CaseFilter,
) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::{Sheet, Value};
    let cases = all_matching(conn, who, now, f)?;
    let date = |d: NaiveDate| Value::from(d.to_string());
    let rows = cases
        .iter()
        .map(|c| {
            vec![
                Value::from(c.number.clone()),
                Value::from(c.mine_name.clone()),
                Value::from(c.kind_label),
                Value::from(c.owner_name.clone()),
                Value::from(format!("{} {}", c.issuing_body, c.decision_number)),
                date(c.decided_on),
                Value::from(format!("{}（{}）", c.basis_label, c.basis_ref)),
                date(c.target_on),
                Value::from(if c.overdue {
                    format!("逾期（{}）", c.state_label)
                } else {
                    c.state_label.to_owned()
                }),
                Value::Number(c.open_tasks as f64),
                Value::from(c.accepted_on.map(|d| d.to_string())),
            ]
        })
        .collect();
    let tasks = cases
        .iter()
        .flat_map(|c| {
            c.tasks.iter().map(move |t| {
                vec![
                    Value::from(c.number.clone()),
                    Value::from(c.mine_name.clone()),
                    Value::from(t.name.clone()),
                    Value::from(t.department_name.clone()),
                    date(t.due_on),
                    Value::from(if t.overdue {
                        "逾期".to_owned()
                    } else {
                        t.state_label.to_owned()
                    }),
                    Value::from(t.note.clone()),
                    Value::from(t.done_by.clone()),
                ]
            })
        })
        .collect();
    crate::platform::xlsx::workbook_of(vec![
        Sheet {
            name: "关闭退出台账",
            headers: vec![
                ("案件编号", 14.0),
                ("矿山", 28.0),
                ("类型", 20.0),
                ("牵头部门", 16.0),
                ("决定书", 30.0),
                ("决定日期", 12.0),
                ("立案依据", 26.0),
                ("目标日期", 12.0),
                ("状态", 14.0),
                ("未完成任务", 10.0),
                ("验收日期", 12.0),
            ],
            rows,
        },
        Sheet {
            name: "任务清单",
            headers: vec![
                ("案件编号", 14.0),
                ("矿山", 28.0),
                ("任务", 30.0),
                ("责任部门", 16.0),
                ("完成期限", 12.0),
                ("状态", 10.0),
                ("办理情况", 40.0),
                ("办理人", 12.0),
            ],
            rows: tasks,
        },
    ])
}
