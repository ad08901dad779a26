//! The mine register (矿山台账): create and edit mines, move them through their
//! lifecycle, set their daily safety supervisor and risk grade with a reason, and find
//! the ones nobody is watching (严防漏管失控).

use chrono::{Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::clock::shanghai_date;
use crate::platform::config::InspectionSettings;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::pagination;
use crate::register::rules::credit_code::CreditCode;
use crate::register::rules::mine::{
    tailings_grade, tailings_grade_label, MineStatus, MineType, MiningMethod, TailingsSafety,
    TAILINGS_EVALUATION_YEARS,
};
use crate::register::rules::risk_grade::RiskGrade;
use crate::register::store::mines::{self as store, After, MineFilter, Order, Recorded, Unwatched};
pub use crate::register::store::mines::{Mine, MineChange};

impl Mine {
    pub fn status(&self) -> MineStatus {
        self.status
    }

    pub fn mine_type(&self) -> MineType {
        self.mine_type
    }

    pub fn grade(&self) -> Option<RiskGrade> {
        self.risk_grade
    }

    pub fn is_tailings_pond(&self) -> bool {
        self.mine_type == MineType::TailingsPond
    }

    /// A tailings pond whose last safety evaluation is more than three years old (or missing).
    pub fn tailings_evaluation_overdue(&self, today: NaiveDate) -> bool {
        self.is_tailings_pond()
            && match self.tailings_evaluated_on {
                None => true,
                // A date at the end of the calendar is never due (and never a panic).
                Some(d) => crate::platform::rules::dates::add_months(
                    d,
                    12 * TAILINGS_EVALUATION_YEARS as u32,
                )
                .is_some_and(|due| due < today),
            }
    }

    /// Why this mine is not under watch, in words; empty when it is.
    pub fn gaps(&self, today: NaiveDate, intervals: &InspectionSettings) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.status() == MineStatus::Closed {
            return reasons;
        }
        if self.supervisor_department.is_none() {
            reasons.push("未确定日常安全监管部门".to_owned());
        }
        match (self.grade(), self.last_inspected_on) {
            (None, _) => reasons.push("未确定安全风险等级".to_owned()),
            (Some(_), None) => reasons.push("没有检查记录".to_owned()),
            (Some(g), Some(last)) => {
                let months = intervals.months(g);
                if crate::platform::rules::dates::add_months(last, months)
                    .is_some_and(|due| due < today)
                {
                    reasons.push(format!(
                        "{}应每 {} 个月检查一次，上次检查为 {}",
                        g.display(),
                        months,
                        last
                    ));
                }
            }
        }
        if self.tailings_evaluation_overdue(today) {
            reasons.push(match self.tailings_evaluated_on {
                None => "尾矿库没有安全现状评价记录".to_owned(),
                Some(d) => format!("尾矿库安全现状评价已超过 3 年（上次 {d}）"),
            });
        }
        reasons
    }

    pub fn view(&self, today: NaiveDate) -> MineView {
        let grade = self.grade();
        let status = self.status();
        MineView {
            id: self.id.clone(),
            name: self.name.clone(),
            enterprise_name: self.enterprise_name.clone(),
            credit_code: self.credit_code.clone(),
            township: self.township.clone(),
            mine_type: self.mine_type.code().to_owned(),
            mine_type_label: self.mine_type.label(),
            mineral: self.mineral.clone(),
            mining_method: self.mining_method.code().to_owned(),
            mining_method_label: self.mining_method.label(),
            status: self.status.code().to_owned(),
            status_label: status.label(),
            supervisor_department: self.supervisor_department.clone(),
            risk_grade: grade,
            risk_grade_display: grade.map(RiskGrade::display),
            last_inspected_on: self.last_inspected_on.map(|d| d.to_string()),
            address: self.address.clone(),
            contact_name: self.contact_name.clone(),
            contact_phone: self.contact_phone.clone(),
            licence_number: self.licence_number.clone(),
            tailings: self.is_tailings_pond().then(|| TailingsView {
                capacity_10k_m3: self.tailings_capacity_10k_m3,
                dam_height_m: self.tailings_dam_height_m,
                grade: self.tailings_grade,
                grade_label: self.tailings_grade.map(|g| tailings_grade_label(g as u8)),
                safety: self.tailings_safety.map(|s| s.code().to_owned()),
                safety_label: self.tailings_safety.map(TailingsSafety::label),
                evaluated_on: self.tailings_evaluated_on.map(|d| d.to_string()),
                evaluation_overdue: self.tailings_evaluation_overdue(today),
                overhead: self.tailings_overhead != 0,
            }),
            created_at: crate::platform::clock::rfc3339(self.created_at),
            updated_at: crate::platform::clock::rfc3339(self.updated_at),
            version: self.version,
            boundary: None,
            boundary_checks: None,
        }
    }

    /// What the audit trail keeps of a mine.
    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "enterprise_name": self.enterprise_name, "credit_code": self.credit_code,
            "township": self.township, "mine_type": self.mine_type, "mineral": self.mineral,
            "mining_method": self.mining_method, "status": self.status,
            "supervisor_department": self.supervisor_department, "risk_grade": self.risk_grade,
            "last_inspected_on": self.last_inspected_on, "address": self.address,
            "contact_name": self.contact_name, "contact_phone": self.contact_phone,
            "licence_number": self.licence_number,
            "tailings_capacity_10k_m3": self.tailings_capacity_10k_m3,
            "tailings_dam_height_m": self.tailings_dam_height_m, "tailings_grade": self.tailings_grade,
            "tailings_safety": self.tailings_safety, "tailings_evaluated_on": self.tailings_evaluated_on,
            "tailings_overhead": self.tailings_overhead != 0,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MineView {
    pub id: String,
    pub name: String,
    pub enterprise_name: String,
    /// 统一社会信用代码
    pub credit_code: String,
    pub township: String,
    pub mine_type: String,
    pub mine_type_label: &'static str,
    pub mineral: String,
    pub mining_method: String,
    pub mining_method_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    /// The department responsible for daily safety supervision (日常安全监管部门).
    pub supervisor_department: Option<String>,
    pub risk_grade: Option<RiskGrade>,
    /// e.g. "D级 · 重大风险"
    pub risk_grade_display: Option<String>,
    pub last_inspected_on: Option<String>,
    pub address: String,
    pub contact_name: String,
    pub contact_phone: String,
    /// 采矿许可证号 as printed (searchable).
    pub licence_number: String,
    /// Only for tailings ponds.
    pub tailings: Option<TailingsView>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i32,
    /// The mining-right boundary; on single-mine responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<crate::register::boundaries::BoundaryView>,
    /// What the boundary checks found; on single-mine responses with a boundary only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary_checks: Option<crate::register::boundaries::BoundaryChecks>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TailingsView {
    /// 全库容, 10⁴ m³
    pub capacity_10k_m3: Option<f64>,
    /// 坝高, m
    pub dam_height_m: Option<f64>,
    /// 等别 1–5 (GB 50863-2013), derived from capacity and dam height.
    pub grade: Option<i32>,
    pub grade_label: Option<&'static str>,
    /// dangerous | risky | defective | normal (危库/险库/病库/正常库)
    pub safety: Option<String>,
    pub safety_label: Option<&'static str>,
    /// Date of the last safety evaluation (安全现状评价), due at least every 3 years.
    pub evaluated_on: Option<String>,
    pub evaluation_overdue: bool,
    /// 头顶库: residents or important facilities within 1 km downstream of the starter dam.
    pub overhead: bool,
}

/// Fields of a mine. Creating needs the ones marked required; editing takes any subset
/// (absent = unchanged, empty string = cleared where the field is optional).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MineInput {
    /// Required.
    pub name: Option<String>,
    /// Required.
    pub enterprise_name: Option<String>,
    /// Required: 18 characters with a valid check character.
    pub credit_code: Option<String>,
    /// Required: township code.
    pub township: Option<String>,
    /// Required: ferrous, nonferrous, rare_earth, gold, nonmetal, sand_gravel, river_sand,
    /// tailings_pond, beneficiation, radioactive.
    pub mine_type: Option<String>,
    /// Required, e.g. 铁矿、建筑用石料.
    pub mineral: Option<String>,
    /// Required: open_pit | underground.
    pub mining_method: Option<String>,
    /// Only when creating (later changes go through /status): any status but closed.
    pub status: Option<String>,
    /// YYYY-MM-DD; until inspections are recorded in the system.
    pub last_inspected_on: Option<String>,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub licence_number: Option<String>,
    pub tailings_capacity_10k_m3: Option<f64>,
    pub tailings_dam_height_m: Option<f64>,
    /// dangerous | risky | defective | normal
    pub tailings_safety: Option<String>,
    /// YYYY-MM-DD
    pub tailings_evaluated_on: Option<String>,
    pub tailings_overhead: Option<bool>,
    /// The version last read; a stale one is a 409.
    pub version: Option<i32>,
}

fn required_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    value: Option<String>,
    current: &mut String,
    max: usize,
) {
    if let Some(v) = value {
        let v = v.trim().to_owned();
        if v.is_empty() {
            errors.push(FieldError::new(field, format!("请填写{label}")));
        } else if v.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("{label}不能超过 {max} 个字符"),
            ));
        }
        *current = v;
    } else if current.is_empty() {
        errors.push(FieldError::new(field, format!("请填写{label}")));
    }
}

fn optional_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    value: Option<String>,
    current: &mut String,
    max: usize,
) {
    if let Some(v) = value {
        let v = v.trim().to_owned();
        if v.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("{label}不能超过 {max} 个字符"),
            ));
        }
        *current = v;
    }
}

/// A date typed into `field`, within the bounds of `platform::rules::dates`; a mistake is
/// added to `errors`.
pub fn parse_date(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match crate::platform::rules::dates::parse(value, today) {
        Ok(d) => Some(d),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// Applies input to a mine (new or existing), collecting every field error at once.
/// Applies an input to a mine (all of it for a new mine, the fields given for an edit)
/// and returns every field error at once.
fn apply(
    conn: &mut DbConnection,
    mine: &mut Mine,
    input: MineInput,
    is_new: bool,
    today: NaiveDate,
) -> AppResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut input = input;
    apply_identity(conn, mine, &mut input, is_new, &mut errors)?;
    apply_contact(mine, &mut input, today, &mut errors);
    apply_tailings(mine, input, today, &mut errors);
    mine.search_text = search_text(mine);
    Ok(errors)
}

/// What the mine is and where: names, credit code, township, type, method, first status.
fn apply_identity(
    conn: &mut DbConnection,
    mine: &mut Mine,
    input: &mut MineInput,
    is_new: bool,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    required_text(
        errors,
        "name",
        "矿山名称",
        input.name.take(),
        &mut mine.name,
        100,
    );
    required_text(
        errors,
        "enterprise_name",
        "企业名称",
        input.enterprise_name.take(),
        &mut mine.enterprise_name,
        100,
    );
    required_text(
        errors,
        "mineral",
        "开采矿种",
        input.mineral.take(),
        &mut mine.mineral,
        50,
    );
    match input.credit_code.take() {
        Some(code) => match CreditCode::parse(&code) {
            Ok(c) => mine.credit_code = c.as_str().to_owned(),
            Err(m) => errors.push(FieldError::new("credit_code", m)),
        },
        None if is_new => errors.push(FieldError::new("credit_code", "请填写统一社会信用代码")),
        None => {}
    }
    match input.township.take() {
        Some(code) => {
            let code = code.trim().to_uppercase();
            let active = crate::reference::find_township(conn, &code)?.map(|t| t.active);
            match active {
                None => errors.push(FieldError::new(
                    "township",
                    format!("街镇代码 {code} 不存在"),
                )),
                Some(0) => errors.push(FieldError::new("township", format!("街镇 {code} 已停用"))),
                _ => mine.township = code,
            }
        }
        None if is_new => errors.push(FieldError::new("township", "请选择所在街镇")),
        None => {}
    }
    match input.mine_type.as_deref().map(str::trim) {
        Some(t) => match MineType::parse(t) {
            Some(t) => mine.mine_type = t,
            None => errors.push(FieldError::new(
                "mine_type",
                format!("矿山类型只能是 {}", MineType::codes()),
            )),
        },
        None if is_new => errors.push(FieldError::new("mine_type", "请选择矿山类型")),
        None => {}
    }
    match input.mining_method.as_deref().map(str::trim) {
        Some(m) => match MiningMethod::parse(m) {
            Some(m) => mine.mining_method = m,
            None => errors.push(FieldError::new(
                "mining_method",
                "开采方式只能是 open_pit（露天）或 underground（地下）",
            )),
        },
        None if is_new => errors.push(FieldError::new("mining_method", "请选择开采方式")),
        None => {}
    }
    match (input.status.as_deref().map(str::trim), is_new) {
        (Some(s), true) => match MineStatus::parse(s) {
            Some(MineStatus::Closed) => errors.push(FieldError::new(
                "status",
                "不能直接登记为“已关闭”：关闭须经关闭退出程序办理",
            )),
            Some(s) => mine.status = s,
            None => errors.push(FieldError::new(
                "status",
                format!("状态只能是 {}", MineStatus::codes()),
            )),
        },
        (None, true) => errors.push(FieldError::new("status", "请选择矿山当前状态")),
        (Some(_), false) => errors.push(FieldError::new(
            "status",
            "状态变更请使用“变更状态”并说明原因（POST /api/v1/mines/{id}/status）",
        )),
        (None, false) => {}
    }
    Ok(())
}

/// The last inspection and how to reach the mine.
fn apply_contact(
    mine: &mut Mine,
    input: &mut MineInput,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    if let Some(d) = input.last_inspected_on.take() {
        mine.last_inspected_on = if d.trim().is_empty() {
            None
        } else {
            parse_date(errors, "last_inspected_on", &d, today)
        };
        if mine.last_inspected_on.is_some_and(|d| d > today) {
            errors.push(FieldError::new(
                "last_inspected_on",
                "最近检查日期不能晚于今天",
            ));
        }
    }
    optional_text(
        errors,
        "address",
        "地址",
        input.address.take(),
        &mut mine.address,
        200,
    );
    optional_text(
        errors,
        "contact_name",
        "联系人",
        input.contact_name.take(),
        &mut mine.contact_name,
        50,
    );
    optional_text(
        errors,
        "contact_phone",
        "联系电话",
        input.contact_phone.take(),
        &mut mine.contact_phone,
        30,
    );
    optional_text(
        errors,
        "licence_number",
        "采矿许可证号",
        input.licence_number.take(),
        &mut mine.licence_number,
        60,
    );
    if !mine.contact_phone.is_empty()
        && !mine
            .contact_phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'))
    {
        errors.push(FieldError::new(
            "contact_phone",
            "联系电话只能包含数字、空格和 - + ( )",
        ));
    }
}

/// Tailings-pond fields (tailings ponds only) and the grade derived from them.
fn apply_tailings(
    mine: &mut Mine,
    input: MineInput,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    let tailings = mine.mine_type == MineType::TailingsPond;
    let tailings_input = input.tailings_capacity_10k_m3.is_some()
        || input.tailings_dam_height_m.is_some()
        || input
            .tailings_safety
            .as_deref()
            .is_some_and(|s| !s.is_empty())
        || input
            .tailings_evaluated_on
            .as_deref()
            .is_some_and(|s| !s.is_empty())
        || input.tailings_overhead == Some(true);
    if tailings_input && !tailings {
        errors.push(FieldError::new(
            "mine_type",
            "库容、坝高、安全度等只适用于尾矿库",
        ));
    }
    if tailings {
        if let Some(v) = input.tailings_capacity_10k_m3 {
            if !(v.is_finite() && v > 0.0 && v < 1.0e7) {
                errors.push(FieldError::new(
                    "tailings_capacity_10k_m3",
                    "全库容应为大于 0 的数（万立方米）",
                ));
            }
            mine.tailings_capacity_10k_m3 = Some(v);
        }
        if let Some(h) = input.tailings_dam_height_m {
            if !(h.is_finite() && h > 0.0 && h < 1000.0) {
                errors.push(FieldError::new(
                    "tailings_dam_height_m",
                    "坝高应为大于 0 且小于 1000 的数（米）",
                ));
            }
            mine.tailings_dam_height_m = Some(h);
        }
        if let Some(s) = input.tailings_safety {
            mine.tailings_safety = match s.trim() {
                "" => None,
                code => match TailingsSafety::parse(code) {
                    Some(s) => Some(s),
                    None => {
                        errors.push(FieldError::new("tailings_safety", "安全度只能是 dangerous（危库）、risky（险库）、defective（病库）或 normal（正常库）"));
                        None
                    }
                },
            };
        }
        if let Some(d) = input.tailings_evaluated_on {
            mine.tailings_evaluated_on = if d.trim().is_empty() {
                None
            } else {
                parse_date(errors, "tailings_evaluated_on", &d, today)
            };
            if mine.tailings_evaluated_on.is_some_and(|d| d > today) {
                errors.push(FieldError::new(
                    "tailings_evaluated_on",
                    "安全现状评价日期不能晚于今天",
                ));
            }
        }
        if let Some(o) = input.tailings_overhead {
            mine.tailings_overhead = i32::from(o);
        }
        mine.tailings_grade = match (mine.tailings_capacity_10k_m3, mine.tailings_dam_height_m) {
            (Some(v), Some(h)) if v > 0.0 && h > 0.0 => Some(i32::from(tailings_grade(v, h))),
            _ => None,
        };
    } else {
        mine.tailings_capacity_10k_m3 = None;
        mine.tailings_dam_height_m = None;
        mine.tailings_grade = None;
        mine.tailings_safety = None;
        mine.tailings_evaluated_on = None;
        mine.tailings_overhead = 0;
    }
}

fn search_text(m: &Mine) -> String {
    format!(
        "{} {} {} {}",
        m.name, m.enterprise_name, m.licence_number, m.credit_code
    )
    .to_lowercase()
}

/// Tells those who supervise a mine, and its township, that its grade or supervisor changed.
#[allow(clippy::too_many_arguments)] // each is part of the notice
fn tell_watchers(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    before: &Mine,
    after: &Mine,
    kind: crate::notify::NoticeKind,
    what: String,
    reason: &str,
) -> AppResult<()> {
    let mut units: Vec<String> = [
        before.supervisor_department.clone(),
        after.supervisor_department.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    units.push("NR".into());
    units.push("EM".into());
    let recipients =
        crate::accounts::recipients::departments_and_township(conn, &units, Some(&after.township))?;
    // The person by name, not the audit trail's "name（username）".
    let who = match &actor.id {
        Some(id) => crate::accounts::names(conn, std::slice::from_ref(id))?
            .remove(id)
            .unwrap_or_else(|| actor.name.clone()),
        None => actor.name.clone(),
    };
    let notice = crate::notify::Notice {
        kind,
        title: format!("{}：{}", after.name, what),
        body: format!("{who}将“{}”的{}。原因：{}", after.name, what, reason),
        link: format!("/mines/{}", after.id),
        entity_type: "mine",
        entity_id: &after.id,
    };
    crate::notify::send(conn, now, actor.id.as_deref(), &recipients, &notice)?;
    Ok(())
}

/// The audit entry of a mine's change.
struct Audited<'a> {
    action: &'a str,
    before: serde_json::Value,
    after: serde_json::Value,
}

/// Stores one audited change of a mine in one shape: the versioned update, the entry in
/// the mine's history (`mine_changes`) and the audit entry.
fn commit(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    (before, after): (&Mine, &Mine),
    recorded: Recorded<'_>,
    audited: Audited<'_>,
) -> AppResult<()> {
    save(conn, before, after, now)?;
    record_change(conn, actor, now, &after.id, recorded)?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "mine",
            entity_id: &after.id,
            action: audited.action,
            before: Some(audited.before),
            after: Some(audited.after),
        },
    )?;
    Ok(())
}

fn record_change(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    mine_id: &str,
    r: Recorded<'_>,
) -> AppResult<()> {
    store::insert_change(conn, actor, now, mine_id, r)
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    input: MineInput,
) -> AppResult<Mine> {
    let mut mine = Mine {
        id: uuid::Uuid::now_v7().to_string(),
        name: String::new(),
        enterprise_name: String::new(),
        credit_code: String::new(),
        township: String::new(),
        // Type, method and status are set from the input by `apply`, which refuses a new
        // mine without them; these values are never stored.
        mine_type: MineType::Nonmetal,
        mineral: String::new(),
        mining_method: MiningMethod::OpenPit,
        status: MineStatus::Approval,
        supervisor_department: None,
        risk_grade: None,
        last_inspected_on: None,
        address: String::new(),
        contact_name: String::new(),
        contact_phone: String::new(),
        licence_number: String::new(),
        tailings_capacity_10k_m3: None,
        tailings_dam_height_m: None,
        tailings_grade: None,
        tailings_safety: None,
        tailings_evaluated_on: None,
        tailings_overhead: 0,
        search_text: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    if input.version.is_some() {
        return Err(AppError::field("version", "新建矿山不需要 version"));
    }
    let errors = apply(conn, &mut mine, input, true, shanghai_date(now))?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    store::insert(conn, mine.clone())?;
    record_change(
        conn,
        actor,
        now,
        &mine.id,
        Recorded::new(
            "create",
            None,
            Some(mine.status.code().to_owned()),
            "登记入台账",
        ),
    )?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "mine",
            entity_id: &mine.id,
            action: "create",
            before: None,
            after: Some(mine.audit_json()),
        },
    )?;
    Ok(mine)
}

/// An illegal mining site found by a lead, put on the register so that it can be banned
/// (取缔) and watched: no enterprise and no credit code, only what was seen.
pub struct IllegalSite {
    pub name: String,
    pub township: String,
    pub mine_type: MineType,
    pub mineral: String,
    pub address: String,
    /// Why it is recorded (the lead it was found by).
    pub reason: String,
}

/// Records an illegal site (status 非法开采点) with its history line and audit entry.
pub fn record_illegal_site(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    site: IllegalSite,
) -> AppResult<Mine> {
    let mut mine = Mine {
        id: uuid::Uuid::now_v7().to_string(),
        name: site.name,
        enterprise_name: "（非法开采，主体待查）".into(),
        credit_code: String::new(),
        township: site.township,
        mine_type: site.mine_type,
        mineral: site.mineral,
        mining_method: MiningMethod::OpenPit,
        status: MineStatus::IllegalSite,
        supervisor_department: None,
        risk_grade: None,
        last_inspected_on: None,
        address: site.address,
        contact_name: String::new(),
        contact_phone: String::new(),
        licence_number: String::new(),
        tailings_capacity_10k_m3: None,
        tailings_dam_height_m: None,
        tailings_grade: None,
        tailings_safety: None,
        tailings_evaluated_on: None,
        tailings_overhead: 0,
        search_text: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    mine.search_text = search_text(&mine);
    store::insert(conn, mine.clone())?;
    record_change(
        conn,
        actor,
        now,
        &mine.id,
        Recorded::new(
            "create",
            None,
            Some(mine.status.code().to_owned()),
            &site.reason,
        ),
    )?;
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "mine",
            entity_id: &mine.id,
            action: "create",
            before: None,
            after: Some(mine.audit_json()),
        },
    )?;
    Ok(mine)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Mine> {
    store::find(conn, id)?.ok_or_else(|| AppError::NotFound(format!("矿山 {id} 不存在。")))
}

/// Writes a changed mine, guarding against a concurrent edit through `version`.
fn save(conn: &mut DbConnection, before: &Mine, after: &Mine, now: NaiveDateTime) -> AppResult<()> {
    if !store::save_versioned(conn, before, after, now)? {
        return Err(AppError::Conflict(
            "该矿山刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    Ok(())
}

fn stale(expected: Option<i32>, mine: &Mine) -> AppResult<()> {
    match expected {
        Some(v) if v != mine.version => Err(AppError::Conflict(
            "该矿山刚被其他人修改过，请刷新后重试。".into(),
        )),
        _ => Ok(()),
    }
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: MineInput,
) -> AppResult<Mine> {
    let before = find(conn, id)?;
    stale(input.version, &before)?;
    let mut after = before.clone();
    let errors = apply(conn, &mut after, input, false, shanghai_date(now))?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (b, a) = (before.audit_json(), after.audit_json());
    if b == a {
        return Ok(before);
    }
    let changed: Vec<String> = a
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| b.get(k.as_str()) != a.get(k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new("edit", None, Some(changed.join(",")), "修改台账信息"),
        Audited {
            action: "update",
            before: b,
            after: a,
        },
    )?;
    find(conn, id)
}

/// A mining licence recorded for a mine with no 采矿许可证号 yet gives the mine its number
/// (the ledger and the public page show it), as one audited change.
pub fn adopt_licence_number(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    number: &str,
) -> AppResult<()> {
    let before = find(conn, id)?;
    let number = number.trim();
    if !before.licence_number.is_empty() || number.is_empty() {
        return Ok(());
    }
    let mut after = before.clone();
    after.licence_number = number.chars().take(60).collect();
    after.search_text = search_text(&after);
    let (b, a) = (before.audit_json(), after.audit_json());
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new(
            "edit",
            None,
            Some("licence_number".into()),
            "登记采矿许可证时带入证号",
        ),
        Audited {
            action: "update",
            before: b,
            after: a,
        },
    )
}

fn require_reason(reason: &str) -> AppResult<String> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(AppError::field("reason", "请说明原因"));
    }
    if r.chars().count() > 500 {
        return Err(AppError::field("reason", "原因不能超过 500 个字符"));
    }
    Ok(r.to_owned())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The new status.
    pub status: String,
    pub reason: String,
    pub version: Option<i32>,
}

pub fn change_status(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: StatusChange,
) -> AppResult<Mine> {
    let reason = require_reason(&input.reason)?;
    let to = MineStatus::parse(input.status.trim())
        .ok_or_else(|| AppError::field("status", format!("状态只能是 {}", MineStatus::codes())))?;
    let before = find(conn, id)?;
    stale(input.version, &before)?;
    let from = before.status();
    if from == to {
        return Err(AppError::InvalidTransition(format!(
            "矿山已经是“{}”状态。",
            to.label()
        )));
    }
    if to == MineStatus::Closed {
        return Err(AppError::InvalidTransition(
            "“已关闭”须在关闭退出程序中全部任务完成并验收后自动变更，不能直接修改。".into(),
        ));
    }
    if !from.can_move_to(to) {
        let allowed: Vec<&str> = from.allowed_next().iter().map(|s| s.label()).collect();
        return Err(AppError::InvalidTransition(format!(
            "“{}”不能直接变更为“{}”。{}",
            from.label(),
            to.label(),
            if allowed.is_empty() {
                "当前状态不能在台账中变更。".to_owned()
            } else {
                format!("可以变更为：{}。", allowed.join("、"))
            }
        )));
    }
    let mut after = before.clone();
    after.status = to;
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new(
            "status",
            Some(before.status.code().to_owned()),
            Some(after.status.code().to_owned()),
            &reason,
        ),
        Audited {
            action: "status",
            before: serde_json::json!({"status": before.status}),
            after: serde_json::json!({"status": after.status, "reason": reason}),
        },
    )?;
    find(conn, id)
}

/// A mine's status moved by its closure case (关闭退出), never by hand: to closing when a
/// case opens (from any status but closed), to closed when the case's acceptance passes
/// (from closing only). The change is in the mine's history with the case as its reason.
pub fn closure_status(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    to: MineStatus,
    reason: &str,
) -> AppResult<Mine> {
    let before = find(conn, id)?;
    let from = before.status();
    let allowed = match to {
        MineStatus::Closing => from != MineStatus::Closed,
        MineStatus::Closed => from == MineStatus::Closing,
        _ => false,
    };
    if !allowed {
        return Err(AppError::InvalidTransition(format!(
            "“{}”不能因关闭退出变更为“{}”。",
            from.label(),
            to.label()
        )));
    }
    if from == to {
        return Ok(before);
    }
    let mut after = before.clone();
    after.status = to;
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new(
            "status",
            Some(before.status.code().to_owned()),
            Some(after.status.code().to_owned()),
            reason,
        ),
        Audited {
            action: "status",
            before: serde_json::json!({"status": before.status}),
            after: serde_json::json!({"status": after.status, "reason": reason}),
        },
    )?;
    crate::register::store::boundaries::mark_closed(conn, id, to == MineStatus::Closed)?;
    find(conn, id)
}

/// When each of these mines last became closed (the day, Beijing time), from their history.
pub fn closed_on(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<std::collections::HashMap<String, NaiveDate>> {
    store::closed_at(conn, ids).map(|rows| {
        rows.into_iter()
            .map(|(id, at)| (id, shanghai_date(at)))
            .collect()
    })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskGradeChange {
    /// low | general | significant | major
    pub risk_grade: String,
    pub reason: String,
    /// The assessment it rests on (report number, assessing body…).
    #[serde(default)]
    pub assessment: String,
    /// YYYY-MM-DD
    pub assessed_on: Option<String>,
    pub version: Option<i32>,
}

pub fn set_risk_grade(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: RiskGradeChange,
) -> AppResult<Mine> {
    set_risk_grade_with(conn, actor, now, id, input, true)
}

fn set_risk_grade_with(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: RiskGradeChange,
    notify: bool,
) -> AppResult<Mine> {
    let mut errors = Vec::new();
    let grade = RiskGrade::parse(input.risk_grade.trim());
    if grade.is_none() {
        errors.push(FieldError::new("risk_grade", "风险等级只能是 low（A 低）、general（B 一般）、significant（C 较大）或 major（D 重大）"));
    }
    if input.reason.trim().is_empty() {
        errors.push(FieldError::new("reason", "请说明确定或调整风险等级的原因"));
    }
    let assessed_on = match input.assessed_on.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => parse_date(&mut errors, "assessed_on", d, shanghai_date(now)),
    };
    if assessed_on.is_some_and(|d| d > shanghai_date(now)) {
        errors.push(FieldError::new("assessed_on", "评估日期不能晚于今天"));
    }
    if input.assessment.chars().count() > 500 {
        errors.push(FieldError::new("assessment", "评估依据不能超过 500 个字符"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let reason = require_reason(&input.reason)?;
    let grade = grade.expect("checked above");
    let before = find(conn, id)?;
    stale(input.version, &before)?;
    if before.grade() == Some(grade) {
        return Err(AppError::InvalidTransition(format!(
            "风险等级已经是 {}。",
            grade.display()
        )));
    }
    let mut after = before.clone();
    after.risk_grade = Some(grade);
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded {
            assessment: input.assessment.trim(),
            assessed_on,
            ..Recorded::new(
                "risk_grade",
                before.risk_grade.map(|g| g.code().to_owned()),
                after.risk_grade.map(|g| g.code().to_owned()),
                &reason,
            )
        },
        Audited {
            action: "risk_grade",
            before: serde_json::json!({"risk_grade": before.risk_grade}),
            after: serde_json::json!({"risk_grade": after.risk_grade, "reason": reason, "assessment": input.assessment.trim(), "assessed_on": assessed_on}),
        },
    )?;
    let what = format!(
        "安全风险等级由{}调整为{}",
        before
            .grade()
            .map(RiskGrade::display)
            .unwrap_or_else(|| "未定级".into()),
        grade.display()
    );
    if notify {
        tell_watchers(
            conn,
            actor,
            now,
            &before,
            &after,
            crate::notify::NoticeKind::RiskGrade,
            what,
            &reason,
        )?;
    }
    find(conn, id)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisorChange {
    /// Department code.
    pub department: String,
    pub reason: String,
    pub version: Option<i32>,
}

pub fn set_supervisor(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: SupervisorChange,
) -> AppResult<Mine> {
    set_supervisor_with(conn, actor, now, id, input, true)
}

fn set_supervisor_with(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    input: SupervisorChange,
    notify: bool,
) -> AppResult<Mine> {
    let code = input.department.trim().to_uppercase();
    let mut errors = Vec::new();
    let active = crate::reference::find_department(conn, &code)?.map(|d| d.active);
    match active {
        None => errors.push(FieldError::new(
            "department",
            format!("部门代码 {code} 不存在"),
        )),
        Some(0) => errors.push(FieldError::new("department", format!("部门 {code} 已停用"))),
        _ => {}
    }
    if input.reason.trim().is_empty() {
        errors.push(FieldError::new("reason", "请说明确定或调整监管部门的原因"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let reason = require_reason(&input.reason)?;
    let before = find(conn, id)?;
    stale(input.version, &before)?;
    if before.supervisor_department.as_deref() == Some(code.as_str()) {
        return Err(AppError::InvalidTransition(
            "日常安全监管部门没有变化。".into(),
        ));
    }
    let mut after = before.clone();
    after.supervisor_department = Some(code);
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new(
            "supervisor",
            before.supervisor_department.clone(),
            after.supervisor_department.clone(),
            &reason,
        ),
        Audited {
            action: "supervisor",
            before: serde_json::json!({"supervisor_department": before.supervisor_department}),
            after: serde_json::json!({"supervisor_department": after.supervisor_department, "reason": reason}),
        },
    )?;
    let name = |code: &Option<String>, conn: &mut DbConnection| match code {
        Some(c) => crate::reference::unit_name(conn, c),
        None => "未确定".to_owned(),
    };
    let what = format!(
        "日常安全监管部门由{}变更为{}",
        name(&before.supervisor_department, conn),
        name(&after.supervisor_department, conn)
    );
    if notify {
        tell_watchers(
            conn,
            actor,
            now,
            &before,
            &after,
            crate::notify::NoticeKind::Supervisor,
            what,
            &reason,
        )?;
    }
    find(conn, id)
}

/// A joint inspection of the mine was completed on `on`: its last inspection follows
/// (never backwards), so the 漏管 check uses real inspections. Recorded and audited as
/// any change of the mine.
pub fn inspected(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    id: &str,
    on: NaiveDate,
    task_number: &str,
) -> AppResult<()> {
    let before = find(conn, id)?;
    if before.last_inspected_on.is_some_and(|d| d >= on) {
        return Ok(());
    }
    let mut after = before.clone();
    after.last_inspected_on = Some(on);
    let reason = format!("检查任务 {task_number} 完成");
    commit(
        conn,
        actor,
        now,
        (&before, &after),
        Recorded::new(
            "inspected",
            before.last_inspected_on.map(|d| d.to_string()),
            Some(on.to_string()),
            &reason,
        ),
        Audited {
            action: "inspected",
            before: serde_json::json!({"last_inspected_on": before.last_inspected_on}),
            after: serde_json::json!({"last_inspected_on": on, "reason": reason}),
        },
    )
}

/// Every recorded change of one mine, newest first.
/// The mine a piece of text names (an email's subject): for a township, the longest name
/// of its own mines found in the text; otherwise a word of the text that is exactly one
/// mine's name (two mines of that name: none rather than the wrong one).
pub fn find_by_words(
    conn: &mut DbConnection,
    township: Option<&str>,
    words: &str,
) -> AppResult<Option<(String, String)>> {
    if words.is_empty() {
        return Ok(None);
    }
    if let Some(t) = township {
        let own = store::names_in_township(conn, t)?;
        if let Some(m) = own
            .into_iter()
            .filter(|(_, name)| !name.is_empty() && words.contains(name.as_str()))
            .max_by_key(|(_, name)| name.chars().count())
        {
            return Ok(Some(m));
        }
    }
    let tokens: Vec<String> = words
        .split(|c: char| c.is_whitespace() || "，,。:：;；、".contains(c))
        .filter(|w| !w.is_empty() && w.chars().count() <= 100)
        .take(8)
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        return Ok(None);
    }
    let found = store::named(conn, &tokens, 2)?;
    Ok(if found.len() == 1 {
        found.into_iter().next()
    } else {
        None
    })
}

/// The names of the given mines, in one query (for a page of rows that name mines).
/// The mines with these ids (at most a page's worth at a time).
pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Mine>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(store::by_ids(conn, chunk)?);
    }
    Ok(out)
}

pub fn names(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        out.extend(store::names_of(conn, chunk)?);
    }
    Ok(out)
}

/// Open mines (not closed) to pick from, by name: a township's own, or all when `township`
/// is none; at most `limit`.
pub fn open_choices(
    conn: &mut DbConnection,
    township: Option<&str>,
    limit: i64,
) -> AppResult<Vec<(String, String)>> {
    store::open_choices(conn, township, limit)
}

pub fn history(conn: &mut DbConnection, id: &str) -> AppResult<Vec<MineChange>> {
    find(conn, id)?;
    store::changes(conn, id)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MineQuery {
    pub township: Option<String>,
    pub mine_type: Option<String>,
    pub status: Option<String>,
    /// A grade code, or `none` for mines without one.
    pub risk_grade: Option<String>,
    /// A department code, or `none` for mines without a supervisor.
    pub supervisor_department: Option<String>,
    /// dangerous | risky | defective | normal
    pub tailings_safety: Option<String>,
    /// 1–5
    pub tailings_grade: Option<String>,
    /// true: 头顶库 only
    pub overhead: Option<String>,
    /// Part of the mine name, enterprise name, licence number or credit code.
    pub q: Option<String>,
    /// `name` (default) or `-updated_at` (recently changed first).
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The filters of a mine query, checked: what the store narrows the register by.
fn filter_of(q: &MineQuery) -> AppResult<MineFilter> {
    let mine_type = present(&q.mine_type)
        .map(|t| {
            MineType::parse(t).ok_or_else(|| {
                AppError::field("mine_type", format!("矿山类型只能是 {}", MineType::codes()))
            })
        })
        .transpose()?;
    let status = present(&q.status)
        .map(|s| {
            MineStatus::parse(s).ok_or_else(|| {
                AppError::field("status", format!("状态只能是 {}", MineStatus::codes()))
            })
        })
        .transpose()?;
    let risk_grade = match present(&q.risk_grade) {
        None => None,
        Some("none") => Some(None),
        Some(g) => Some(Some(RiskGrade::parse(g).ok_or_else(|| {
            AppError::field(
                "risk_grade",
                "风险等级只能是 low、general、significant、major 或 none",
            )
        })?)),
    };
    let supervisor = match present(&q.supervisor_department) {
        None => None,
        Some("none") => Some(None),
        Some(d) => Some(Some(d.to_uppercase())),
    };
    let tailings_safety = present(&q.tailings_safety)
        .map(|s| {
            TailingsSafety::parse(s).ok_or_else(|| {
                AppError::field(
                    "tailings_safety",
                    "安全度只能是 dangerous、risky、defective 或 normal",
                )
            })
        })
        .transpose()?;
    let tailings_grade = present(&q.tailings_grade)
        .map(|g| {
            g.parse::<i32>()
                .ok()
                .filter(|g| (1..=5).contains(g))
                .ok_or_else(|| AppError::field("tailings_grade", "等别应为 1 到 5"))
        })
        .transpose()?;
    let overhead = match present(&q.overhead) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(AppError::field("overhead", "只能是 true 或 false")),
    };
    Ok(MineFilter {
        township: present(&q.township).map(str::to_uppercase),
        mine_type,
        status,
        risk_grade,
        supervisor,
        tailings_safety,
        tailings_grade,
        overhead,
        text: crate::platform::rules::search::query(q.q.as_deref())
            .map_err(|m| AppError::field("q", m))?
            .map(str::to_lowercase),
    })
}

/// Keyset cursors: the sort key and the id, hex-encoded so any name survives a URL.
fn encode_cursor(key: &str, id: &str) -> String {
    hex::encode(format!("{key}\u{1f}{id}"))
}

fn decode_cursor(cursor: &str) -> AppResult<(String, String)> {
    let bad = || AppError::field("cursor", "翻页标记无效，请从第一页重新开始");
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, i) = text.split_once('\u{1f}').ok_or_else(bad)?;
    Ok((k.to_owned(), i.to_owned()))
}

/// Mines matching the filters, keyset-paginated.
pub fn list(conn: &mut DbConnection, q: &MineQuery) -> AppResult<(Vec<Mine>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let filter = filter_of(q)?;
    let by_update = match present(&q.sort) {
        None | Some("name") => false,
        Some("-updated_at") => true,
        Some(_) => return Err(AppError::field("sort", "排序只能是 name 或 -updated_at")),
    };
    let after = match present(&q.cursor) {
        None => None,
        Some(c) => {
            let (key, id) = decode_cursor(c)?;
            Some(if by_update {
                let t = NaiveDateTime::parse_from_str(&key, "%Y-%m-%dT%H:%M:%S%.f")
                    .map_err(|_| AppError::field("cursor", "翻页标记无效，请从第一页重新开始"))?;
                After::Updated(t, id)
            } else {
                After::Name(key, id)
            })
        }
    };
    let order = if by_update {
        Order::RecentlyUpdated
    } else {
        Order::Name
    };
    let mut rows = store::page(conn, &filter, order, after, None, limit + 1)?;
    let next = pagination::next_cursor(&mut rows, limit, |m| {
        if by_update {
            encode_cursor(
                &m.updated_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                &m.id,
            )
        } else {
            encode_cursor(&m.name, &m.id)
        }
    });
    Ok((rows, next))
}

/// Mines not under watch with the reasons, and the cursor of the next page.
pub type GapPage = (Vec<(Mine, Vec<String>)>, Option<String>);

/// 漏管: mines of every status but closed that lack a supervisor or a grade, are overdue
/// for inspection under their grade, or (tailings ponds) for their safety evaluation.
pub fn gaps(
    conn: &mut DbConnection,
    q: &MineQuery,
    today: NaiveDate,
    intervals: &InspectionSettings,
) -> AppResult<GapPage> {
    let limit = pagination::limit(q.limit)?;
    let filter = filter_of(q)?;
    let after = match present(&q.cursor) {
        None => None,
        Some(c) => {
            let (key, id) = decode_cursor(c)?;
            Some(After::Name(key, id))
        }
    };
    let unwatched = Unwatched {
        inspected_before: crate::register::rules::risk_grade::ALL_GRADES
            .map(|g| (g, today - Months::new(intervals.months(g)))),
        evaluated_before: today - Months::new(12 * TAILINGS_EVALUATION_YEARS as u32),
    };
    let mut rows = store::page(
        conn,
        &filter,
        Order::Name,
        after,
        Some(&unwatched),
        limit + 1,
    )?;
    let next = pagination::next_cursor(&mut rows, limit, |m| encode_cursor(&m.name, &m.id));
    Ok((
        rows.into_iter()
            .map(|m| {
                let r = m.gaps(today, intervals);
                (m, r)
            })
            .collect(),
        next,
    ))
}

/// The headers of the mine ledger; the import reads the same columns.
pub const LEDGER_HEADERS: [(&str, f64); 22] = [
    ("矿山名称", 22.0),
    ("企业名称", 26.0),
    ("统一社会信用代码", 22.0),
    ("所在街镇", 14.0),
    ("矿山类型", 14.0),
    ("开采矿种", 12.0),
    ("开采方式", 8.0),
    ("状态", 10.0),
    ("日常安全监管部门", 16.0),
    ("安全风险等级", 14.0),
    ("最近检查日期", 12.0),
    ("采矿许可证号", 24.0),
    ("地址", 24.0),
    ("联系人", 10.0),
    ("联系电话", 16.0),
    ("尾矿库全库容（万立方米）", 14.0),
    ("尾矿库坝高（米）", 10.0),
    ("尾矿库等别", 10.0),
    ("尾矿库安全度", 10.0),
    ("最近安全现状评价日期", 14.0),
    ("头顶库", 8.0),
    ("系统编号", 38.0),
];

/// Every mine matching the filters, in register order, for the ledger export.
pub fn all_matching(conn: &mut DbConnection, q: &MineQuery) -> AppResult<Vec<Mine>> {
    let mut q = q.clone();
    q.limit = Some(pagination::MAX_LIMIT);
    q.cursor = None;
    let mut out = Vec::new();
    loop {
        let (rows, next) = list(conn, &q)?;
        out.extend(rows);
        match next {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The mine ledger (矿山台账) as an .xlsx workbook.
pub fn ledger(
    rows: &[Mine],
    departments: &std::collections::HashMap<String, String>,
    townships: &std::collections::HashMap<String, String>,
) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::Value;
    let name = |map: &std::collections::HashMap<String, String>, code: &str| {
        map.get(code).cloned().unwrap_or_else(|| code.to_owned())
    };
    let rows = rows.iter().map(|m| {
        let tailings = m.is_tailings_pond();
        vec![
            Value::from(m.name.as_str()),
            m.enterprise_name.as_str().into(),
            m.credit_code.as_str().into(),
            name(townships, &m.township).into(),
            m.mine_type.label().into(),
            m.mineral.as_str().into(),
            m.mining_method.label().into(),
            m.status().label().into(),
            m.supervisor_department
                .as_deref()
                .map(|d| name(departments, d))
                .into(),
            m.grade().map(RiskGrade::display).into(),
            m.last_inspected_on.map(|d| d.to_string()).into(),
            m.licence_number.as_str().into(),
            m.address.as_str().into(),
            m.contact_name.as_str().into(),
            m.contact_phone.as_str().into(),
            m.tailings_capacity_10k_m3.into(),
            m.tailings_dam_height_m.into(),
            m.tailings_grade
                .map(|g| tailings_grade_label(g as u8).to_owned())
                .into(),
            m.tailings_safety.map(|s| s.label().to_owned()).into(),
            m.tailings_evaluated_on.map(|d| d.to_string()).into(),
            if tailings {
                if m.tailings_overhead != 0 {
                    "是"
                } else {
                    "否"
                }
            } else {
                ""
            }
            .into(),
            m.id.as_str().into(),
        ]
    });
    crate::platform::xlsx::workbook_streamed("矿山台账", &LEDGER_HEADERS, rows)
}

/// What importing a ledger did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: usize,
    pub items: Vec<MineView>,
}

/// Imports new mines from a ledger (the export's columns; codes or Chinese names both
/// accepted). All rows are imported in one transaction, or none: every bad row and
/// field is reported as `rows[N].field` with N the Excel row number.
/// The columns an imported ledger must have.
const IMPORT_REQUIRED: [&str; 8] = [
    "矿山名称",
    "企业名称",
    "统一社会信用代码",
    "所在街镇",
    "矿山类型",
    "开采矿种",
    "开采方式",
    "状态",
];

pub fn import(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    now: NaiveDateTime,
    sheet: &[Vec<String>],
) -> AppResult<Vec<Mine>> {
    let Some((header, body)) = sheet.split_first() else {
        return Err(AppError::field(
            "file",
            "表格是空的：第一行应为列名（可先导出一份台账作为模板）",
        ));
    };
    let ledger = Ledger {
        header,
        townships: crate::reference::townships(conn)?
            .into_iter()
            .map(|t| (t.code, t.name))
            .collect(),
        departments: crate::reference::departments(conn)?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect(),
        may_grade: crate::platform::authz::allowed(who, crate::platform::authz::Action::GradeMines),
    };
    ledger.check_columns()?;
    let actor = who.actor();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut created = Vec::new();
    for (i, row) in body.iter().enumerate() {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let excel_row = i + 2;
        let read = ledger.read(conn, excel_row, row)?;
        if !read.errors.is_empty() {
            errors.extend(read.errors);
            continue;
        }
        match create_imported(conn, &actor, now, read) {
            Ok(mine) => created.push(mine),
            Err(AppError::Validation(errs)) => {
                errors.extend(errs.into_iter().map(|e| in_row(excel_row, e)))
            }
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if created.is_empty() {
        return Err(AppError::field(
            "file",
            "表格中没有可导入的矿山（除列名外都是空行）",
        ));
    }
    Ok(created)
}

/// An imported ledger: its column titles and what its values are checked against.
struct Ledger<'a> {
    header: &'a [String],
    townships: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    may_grade: bool,
}

/// One row of the ledger as read: the mine to create, its grade and supervisor, and what
/// is wrong with it (named by row and column).
struct ImportedRow {
    input: MineInput,
    grade: Option<RiskGrade>,
    supervisor: Option<String>,
    errors: Vec<FieldError>,
}

/// The code of an entry of `list` given by code (any case) or by name.
fn by_code_or_name(list: &[(String, String)], v: &str) -> Option<String> {
    list.iter()
        .find(|(c, n)| c.eq_ignore_ascii_case(v) || n == v)
        .map(|(c, _)| c.clone())
}

/// A coded cell: empty stays empty, a code or a label becomes the code, anything else none.
fn coded(v: String, parse: impl Fn(&str) -> Option<String>) -> Option<String> {
    if v.is_empty() {
        Some(String::new())
    } else {
        parse(&v)
    }
}

/// The code of a coded type's value given by code or label.
macro_rules! code_or_label {
    ($t:ty) => {
        |v: &str| {
            <$t>::ALL
                .iter()
                .find(|t| t.code() == v || t.label() == v)
                .map(|t| t.code().to_owned())
        }
    };
}

/// A creation error of the mine on row `excel_row`, named by the row and the column.
fn in_row(excel_row: usize, e: FieldError) -> FieldError {
    let title = LEDGER_HEADERS
        .iter()
        .zip(LEDGER_FIELDS)
        .find(|(_, f)| *f == e.field)
        .map_or(e.field.as_str(), |((t, _), _)| *t)
        .to_owned();
    FieldError::new(
        format!("rows[{excel_row}].{}", e.field),
        format!("第 {excel_row} 行“{title}”：{}", e.message),
    )
}

/// Creates an imported mine with its grade and supervisor, each change on the record.
fn create_imported(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    read: ImportedRow,
) -> AppResult<Mine> {
    let mut mine = create(conn, actor, now, read.input)?;
    if let Some(g) = read.grade {
        let change = RiskGradeChange {
            risk_grade: g.code().into(),
            reason: "台账导入".into(),
            assessment: String::new(),
            assessed_on: None,
            version: None,
        };
        mine = set_risk_grade_with(conn, actor, now, &mine.id, change, false)?;
    }
    if let Some(d) = read.supervisor {
        let change = SupervisorChange {
            department: d,
            reason: "台账导入".into(),
            version: None,
        };
        mine = set_supervisor_with(conn, actor, now, &mine.id, change, false)?;
    }
    Ok(mine)
}

impl Ledger<'_> {
    fn col(&self, title: &str) -> Option<usize> {
        self.header.iter().position(|h| h.trim() == title)
    }

    fn check_columns(&self) -> AppResult<()> {
        let missing: Vec<&str> = IMPORT_REQUIRED
            .iter()
            .copied()
            .filter(|t| self.col(t).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(AppError::field(
            "file",
            format!(
                "缺少列：{}。请使用“导出 Excel 台账”得到的表格作为模板。",
                missing.join("、")
            ),
        ))
    }

    fn read(
        &self,
        conn: &mut DbConnection,
        excel_row: usize,
        row: &[String],
    ) -> AppResult<ImportedRow> {
        let cell = |title: &str| {
            self.col(title)
                .and_then(|c| row.get(c))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let mut errors: Vec<FieldError> = Vec::new();
        let mut push = |field: &str, title: &str, msg: String| {
            errors.push(FieldError::new(
                format!("rows[{excel_row}].{field}"),
                format!("第 {excel_row} 行“{title}”：{msg}"),
            ));
        };
        let township = coded(cell("所在街镇"), |v| {
            by_code_or_name(&self.townships, v)
        });
        let mine_type = coded(cell("矿山类型"), code_or_label!(MineType));
        let method = coded(cell("开采方式"), code_or_label!(MiningMethod));
        let status = coded(cell("状态"), code_or_label!(MineStatus));
        let safety = coded(cell("尾矿库安全度"), code_or_label!(TailingsSafety));
        for (value, field, title) in [
            (&township, "township", "所在街镇"),
            (&mine_type, "mine_type", "矿山类型"),
            (&method, "mining_method", "开采方式"),
            (&status, "status", "状态"),
            (&safety, "tailings_safety", "尾矿库安全度"),
        ] {
            if value.is_none() {
                push(
                    field,
                    title,
                    "不认识这个值，请从下拉选项或导出的台账中复制".into(),
                );
            }
        }
        let mut number = |title: &str, field: &str| -> Option<f64> {
            let v = cell(title);
            if v.is_empty() {
                return None;
            }
            v.parse::<f64>()
                .map_err(|_| push(field, title, "应为数字".into()))
                .ok()
        };
        let capacity = number("尾矿库全库容（万立方米）", "tailings_capacity_10k_m3");
        let height = number("尾矿库坝高（米）", "tailings_dam_height_m");
        let overhead = match cell("头顶库").as_str() {
            "" | "否" | "false" => None,
            "是" | "true" => Some(true),
            _ => {
                push("tailings_overhead", "头顶库", "应填“是”或“否”".into());
                None
            }
        };
        let existing_id = cell("系统编号");
        if !existing_id.is_empty() && store::find(conn, &existing_id)?.is_some() {
            push(
                "id",
                "系统编号",
                "该矿山已在台账中；导入只登记新矿山，修改请在矿山页面办理".into(),
            );
        }
        let supervisor = cell("日常安全监管部门");
        let supervisor = if supervisor.is_empty() || supervisor == "未确定" {
            None
        } else {
            by_code_or_name(&self.departments, &supervisor).or_else(|| {
                push(
                    "supervisor_department",
                    "日常安全监管部门",
                    format!("没有“{supervisor}”这个部门"),
                );
                None
            })
        };
        let grade_text = cell("安全风险等级");
        let grade = if grade_text.is_empty() || grade_text == "未定级" {
            None
        } else {
            crate::register::rules::risk_grade::ALL_GRADES
                .iter()
                .copied()
                .find(|g| {
                    g.code() == grade_text
                        || g.display() == grade_text
                        || g.letter() == grade_text
                        || g.level_name() == grade_text
                        || format!("{}级", g.letter()) == grade_text
                })
                .or_else(|| {
                    push(
                        "risk_grade",
                        "安全风险等级",
                        "应为 A/B/C/D 级或低/一般/较大/重大风险".into(),
                    );
                    None
                })
        };
        if (supervisor.is_some() || grade.is_some()) && !self.may_grade {
            push(
                "risk_grade",
                "安全风险等级",
                "只有区应急局或协调办可以导入风险等级和监管部门，请清空这两列".into(),
            );
        }
        let tailings = mine_type.as_deref() == Some(MineType::TailingsPond.code());
        let input = MineInput {
            name: Some(cell("矿山名称")),
            enterprise_name: Some(cell("企业名称")),
            credit_code: Some(cell("统一社会信用代码")),
            township,
            mine_type,
            mineral: Some(cell("开采矿种")),
            mining_method: method,
            status,
            last_inspected_on: Some(cell("最近检查日期")),
            address: Some(cell("地址")),
            contact_name: Some(cell("联系人")),
            contact_phone: Some(cell("联系电话")),
            licence_number: Some(cell("采矿许可证号")),
            tailings_capacity_10k_m3: capacity,
            tailings_dam_height_m: height,
            tailings_safety: tailings.then(|| safety.unwrap_or_default()),
            tailings_evaluated_on: tailings.then(|| cell("最近安全现状评价日期")),
            tailings_overhead: overhead,
            version: None,
        };
        Ok(ImportedRow {
            input,
            grade,
            supervisor,
            errors,
        })
    }
}

/// The API field behind each ledger column, in LEDGER_HEADERS order.
const LEDGER_FIELDS: [&str; 22] = [
    "name",
    "enterprise_name",
    "credit_code",
    "township",
    "mine_type",
    "mineral",
    "mining_method",
    "status",
    "supervisor_department",
    "risk_grade",
    "last_inspected_on",
    "licence_number",
    "address",
    "contact_name",
    "contact_phone",
    "tailings_capacity_10k_m3",
    "tailings_dam_height_m",
    "tailings_grade",
    "tailings_safety",
    "tailings_evaluated_on",
    "tailings_overhead",
    "id",
];
