//! Permits (证照) of each mine. 谁审批、谁监管: only the issuing department records,
//! changes, suspends, revokes or cancels its type of permit.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::pagination;
use crate::reference::PermitType;
use crate::register::mines::parse_date;
pub use crate::register::store::permits::Permit;
use crate::register::store::permits::{self as store, PermitFilter};

/// 证照状态. Stored (as a decision, `status_override`) as its code; an unknown code read
/// back is a database error, never taken for "no decision".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum PermitStatus {
    Valid,
    Expiring,
    Expired,
    Suspended,
    Revoked,
    Cancelled,
}

impl PermitStatus {
    pub const ALL: [PermitStatus; 6] = [
        Self::Valid,
        Self::Expiring,
        Self::Expired,
        Self::Suspended,
        Self::Revoked,
        Self::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "有效",
            Self::Expiring => "即将到期",
            Self::Expired => "已过期",
            Self::Suspended => "暂扣",
            Self::Revoked => "吊销",
            Self::Cancelled => "注销",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Statuses a department sets by decision; the others follow from the dates.
    pub fn is_decision(self) -> bool {
        matches!(self, Self::Suspended | Self::Revoked | Self::Cancelled)
    }
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for PermitStatus
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let code =
            <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
        PermitStatus::parse(&code)
            .ok_or_else(|| format!("PermitStatus 中出现程序不认识的代码 {code:?}").into())
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for PermitStatus
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DB>,
    ) -> diesel::serialize::Result {
        <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.code(), out)
    }
}

/// The status a permit has today: a decision if one was taken, else from its expiry date
/// and the permit type's warning window.
pub fn derive_status(
    override_status: Option<PermitStatus>,
    expires_on: Option<NaiveDate>,
    warning_days: i32,
    today: NaiveDate,
) -> PermitStatus {
    if let Some(s) = override_status {
        return s;
    }
    match expires_on {
        None => PermitStatus::Valid,
        Some(d) if d < today => PermitStatus::Expired,
        Some(d) if d <= today + Duration::days(i64::from(warning_days)) => PermitStatus::Expiring,
        Some(_) => PermitStatus::Valid,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermitView {
    pub id: String,
    pub mine_id: String,
    pub permit_type: String,
    pub permit_type_name: String,
    /// 谁审批、谁监管: the department that issued and supervises it.
    pub issuing_department: String,
    pub number: String,
    pub holder: String,
    pub issued_on: String,
    pub expires_on: Option<String>,
    pub days_to_expiry: Option<i64>,
    pub mineral: String,
    /// 生产规模, 10⁴ t/year
    pub scale_10k_t_per_year: Option<f64>,
    /// 矿区面积, km² (4 decimals)
    pub area_km2: Option<f64>,
    pub elevation_top_m: Option<f64>,
    pub elevation_bottom_m: Option<f64>,
    pub notes: String,
    pub status: PermitStatus,
    pub status_label: &'static str,
    /// Why it was suspended, revoked or cancelled.
    pub status_reason: String,
    pub version: i32,
}

impl Permit {
    pub fn status(&self, warning_days: i32, today: NaiveDate) -> PermitStatus {
        derive_status(self.status_override, self.expires_on, warning_days, today)
    }

    pub fn view(&self, kind: &PermitType, today: NaiveDate) -> PermitView {
        let status = self.status(kind.expiry_warning_days, today);
        PermitView {
            id: self.id.clone(),
            mine_id: self.mine_id.clone(),
            permit_type: self.permit_type.clone(),
            permit_type_name: kind.name.clone(),
            issuing_department: self.issuing_department.clone(),
            number: self.number.clone(),
            holder: self.holder.clone(),
            issued_on: self.issued_on.to_string(),
            expires_on: self.expires_on.map(|d| d.to_string()),
            days_to_expiry: self.expires_on.map(|d| (d - today).num_days()),
            mineral: self.mineral.clone(),
            scale_10k_t_per_year: self.scale_10k_t_per_year,
            area_km2: self.area_km2,
            elevation_top_m: self.elevation_top_m,
            elevation_bottom_m: self.elevation_bottom_m,
            notes: self.notes.clone(),
            status,
            status_label: status.label(),
            status_reason: self.override_reason.clone(),
            version: self.version,
        }
    }

    fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mine_id": self.mine_id, "permit_type": self.permit_type, "number": self.number,
            "holder": self.holder, "issued_on": self.issued_on, "expires_on": self.expires_on,
            "mineral": self.mineral, "scale_10k_t_per_year": self.scale_10k_t_per_year,
            "area_km2": self.area_km2, "elevation_top_m": self.elevation_top_m,
            "elevation_bottom_m": self.elevation_bottom_m, "notes": self.notes,
            "status_override": self.status_override, "override_reason": self.override_reason,
        })
    }
}

/// A permit's fields. Recording needs permit_type, number, holder and issued_on.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitInput {
    /// Only when recording: a permit type code (GET /api/v1/permit-types).
    pub permit_type: Option<String>,
    pub number: Option<String>,
    pub holder: Option<String>,
    /// YYYY-MM-DD
    pub issued_on: Option<String>,
    /// YYYY-MM-DD; empty for approvals that do not expire.
    pub expires_on: Option<String>,
    pub mineral: Option<String>,
    pub scale_10k_t_per_year: Option<f64>,
    /// km², kept to 4 decimals as on the licence.
    pub area_km2: Option<f64>,
    pub elevation_top_m: Option<f64>,
    pub elevation_bottom_m: Option<f64>,
    pub notes: Option<String>,
    pub version: Option<i32>,
}

pub fn permit_type(conn: &mut DbConnection, code: &str) -> AppResult<Option<PermitType>> {
    crate::reference::find_permit_type(conn, code)
}

/// Applies input, collecting every field error; `kind` is the permit's type.
fn apply(
    p: &mut Permit,
    input: PermitInput,
    kind: &PermitType,
    today: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut text = |field: &str,
                    label: &str,
                    v: Option<String>,
                    target: &mut String,
                    required: bool,
                    max: usize| {
        if let Some(v) = v {
            *target = v.trim().to_owned();
        }
        if required && target.is_empty() {
            errors.push(FieldError::new(field, format!("请填写{label}")));
        } else if target.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("{label}不能超过 {max} 个字符"),
            ));
        }
    };
    text("number", "证号", input.number, &mut p.number, true, 80);
    text("holder", "持证人", input.holder, &mut p.holder, true, 100);
    text("mineral", "矿种", input.mineral, &mut p.mineral, false, 50);
    text("notes", "备注", input.notes, &mut p.notes, false, 1000);
    if let Some(d) = input.issued_on {
        match d.trim() {
            "" => errors.push(FieldError::new("issued_on", "请填写发证日期")),
            d => {
                if let Some(d) = parse_date(&mut errors, "issued_on", d, today) {
                    p.issued_on = d;
                }
            }
        }
    }
    if p.issued_on > today {
        errors.push(FieldError::new("issued_on", "发证日期不能晚于今天"));
    }
    if let Some(d) = input.expires_on {
        p.expires_on = match d.trim() {
            "" => None,
            d => parse_date(&mut errors, "expires_on", d, today),
        };
    }
    if p.expires_on.is_some_and(|e| e <= p.issued_on) {
        errors.push(FieldError::new("expires_on", "有效期至应晚于发证日期"));
    }
    if kind.code == "mining_licence" {
        if let Some(e) = p.expires_on {
            // Large mines ≤ 30 years; a longer term is a typing mistake.
            if e > p.issued_on + Duration::days(30 * 366) {
                errors.push(FieldError::new(
                    "expires_on",
                    "采矿许可证有效期最长 30 年（大型矿山），请核对",
                ));
            }
        }
    }
    if kind.code == "safety_production" {
        if let Some(e) = p.expires_on {
            if e > p.issued_on + Duration::days(3 * 366) {
                errors.push(FieldError::new(
                    "expires_on",
                    "安全生产许可证有效期为 3 年，请核对",
                ));
            }
        }
    }
    let mut number =
        |field: &str, label: &str, v: Option<f64>, target: &mut Option<f64>, min: f64, max: f64| {
            if let Some(v) = v {
                if !(v.is_finite() && v >= min && v <= max) {
                    errors.push(FieldError::new(
                        field,
                        format!("{label}应在 {min} 到 {max} 之间"),
                    ));
                }
                *target = Some(v);
            }
        };
    number(
        "scale_10k_t_per_year",
        "生产规模（万吨/年）",
        input.scale_10k_t_per_year,
        &mut p.scale_10k_t_per_year,
        0.0,
        100_000.0,
    );
    number(
        "area_km2",
        "矿区面积（平方公里）",
        input.area_km2.map(|a| (a * 10_000.0).round() / 10_000.0),
        &mut p.area_km2,
        0.0001,
        100_000.0,
    );
    number(
        "elevation_top_m",
        "开采深度上限（米）",
        input.elevation_top_m,
        &mut p.elevation_top_m,
        -3000.0,
        9000.0,
    );
    number(
        "elevation_bottom_m",
        "开采深度下限（米）",
        input.elevation_bottom_m,
        &mut p.elevation_bottom_m,
        -3000.0,
        9000.0,
    );
    if let (Some(top), Some(bottom)) = (p.elevation_top_m, p.elevation_bottom_m) {
        if bottom >= top {
            errors.push(FieldError::new(
                "elevation_bottom_m",
                "开采深度下限标高应低于上限标高",
            ));
        }
    }
    errors
}

/// The issuing department of a permit decides about it: for a new permit, its type's
/// issuing department; for a recorded one, the department recorded on it (a type moved
/// to another department later does not hand over the permits already issued).
fn require_issuer(
    who: &crate::platform::authz::Principal,
    kind: &PermitType,
    issuing_department: &str,
) -> AppResult<()> {
    if crate::register::policy::may_issue(who, issuing_department) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "“{}”由 {} 审批和监管（谁审批、谁监管），其他部门不能登记或修改。",
            kind.name, issuing_department
        )))
    }
}

pub fn create(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    now: NaiveDateTime,
    today: NaiveDate,
    mine_id: &str,
    input: PermitInput,
) -> AppResult<(Permit, PermitType)> {
    let mine = crate::register::mines::find(conn, mine_id)?;
    let code = input
        .permit_type
        .clone()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if code.is_empty() {
        return Err(AppError::field("permit_type", "请选择证照类型"));
    }
    let kind = permit_type(conn, &code)?
        .ok_or_else(|| AppError::field("permit_type", format!("证照类型 {code} 不存在")))?;
    require_issuer(who, &kind, &kind.issuing_department)?;
    if kind.active == 0 {
        return Err(AppError::field(
            "permit_type",
            format!("证照类型“{}”已停用", kind.name),
        ));
    }
    if input.version.is_some() {
        return Err(AppError::field("version", "登记证照不需要 version"));
    }
    let mut p = Permit {
        id: uuid::Uuid::now_v7().to_string(),
        mine_id: mine_id.to_owned(),
        permit_type: kind.code.clone(),
        issuing_department: kind.issuing_department.clone(),
        number: String::new(),
        holder: String::new(),
        issued_on: today,
        expires_on: None,
        mineral: String::new(),
        scale_10k_t_per_year: None,
        area_km2: None,
        elevation_top_m: None,
        elevation_bottom_m: None,
        notes: String::new(),
        status_override: None,
        override_reason: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    if input
        .issued_on
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        let mut errors = apply(
            &mut p,
            PermitInput {
                issued_on: None,
                ..input
            },
            &kind,
            today,
        );
        errors.insert(0, FieldError::new("issued_on", "请填写发证日期"));
        return Err(AppError::Validation(errors));
    }
    let errors = apply(
        &mut p,
        PermitInput {
            permit_type: None,
            ..input
        },
        &kind,
        today,
    );
    let taken = store::number_taken(conn, &p.permit_type, &p.number)?;
    let mut errors = errors;
    if taken && !p.number.is_empty() {
        errors.push(FieldError::new(
            "number",
            format!("“{}”证号 {} 已登记", kind.name, p.number),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    store::insert(conn, &p)?;
    if p.permit_type == "mining_licence" {
        crate::register::mines::adopt_licence_number(
            conn,
            &who.actor(),
            now,
            &p.mine_id,
            &p.number,
        )?;
    }
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "permit",
            entity_id: &p.id,
            action: "create",
            before: None,
            after: Some(p.audit_json()),
        },
    )?;
    tell_other_units(
        conn,
        who,
        now,
        &p,
        &kind,
        &mine.name,
        crate::notify::NoticeKind::PermitRecorded,
        "登记",
    )?;
    Ok((p, kind))
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<(Permit, PermitType)> {
    let p =
        store::find(conn, id)?.ok_or_else(|| AppError::NotFound(format!("证照 {id} 不存在。")))?;
    let kind = permit_type(conn, &p.permit_type)?
        .ok_or_else(|| AppError::internal("permit type vanished"))?;
    Ok((p, kind))
}

fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    before: &Permit,
    after: &Permit,
    action: &str,
) -> AppResult<()> {
    let saved = store::save_versioned(conn, before, after, now)?;
    if !saved {
        return Err(AppError::Conflict(
            "该证照刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: "permit",
            entity_id: &before.id,
            action,
            before: Some(before.audit_json()),
            after: Some(after.audit_json()),
        },
    )?;
    Ok(())
}

pub fn update(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    now: NaiveDateTime,
    today: NaiveDate,
    id: &str,
    input: PermitInput,
) -> AppResult<(Permit, PermitType)> {
    let (before, kind) = find(conn, id)?;
    require_issuer(who, &kind, &before.issuing_department)?;
    if input
        .permit_type
        .as_deref()
        .is_some_and(|t| t.trim() != before.permit_type)
    {
        return Err(AppError::field(
            "permit_type",
            "证照类型不能修改；如登记错误，请注销后重新登记",
        ));
    }
    if input.version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "该证照刚被其他人修改过，请刷新后重试。".into(),
        ));
    }
    let mut after = before.clone();
    let mut errors = apply(&mut after, input, &kind, today);
    if after.number != before.number
        && store::number_taken(conn, &after.permit_type, &after.number)?
    {
        errors.push(FieldError::new(
            "number",
            format!("“{}”证号 {} 已登记", kind.name, after.number),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    save(conn, &who.actor(), now, &before, &after, "update")?;
    let mine = crate::register::mines::find(conn, &after.mine_id)?;
    tell_other_units(
        conn,
        who,
        now,
        &after,
        &kind,
        &mine.name,
        crate::notify::NoticeKind::PermitChanged,
        "变更",
    )?;
    find(conn, id)
}

/// Decisions on a permit: suspend (暂扣), revoke (吊销), cancel (注销), or reinstate a suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Suspend,
    Revoke,
    Cancel,
    Reinstate,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "suspend" => Some(Self::Suspend),
            "revoke" => Some(Self::Revoke),
            "cancel" => Some(Self::Cancel),
            "reinstate" => Some(Self::Reinstate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub reason: String,
}

pub fn decide(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    now: NaiveDateTime,
    id: &str,
    decision: Decision,
    reason: &str,
) -> AppResult<(Permit, PermitType)> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "请说明依据或原因（如决定书文号）",
        ));
    }
    let (before, kind) = find(conn, id)?;
    require_issuer(who, &kind, &before.issuing_department)?;
    let current = before.status_override;
    let next = match (decision, current) {
        (Decision::Suspend, None) => Some(PermitStatus::Suspended),
        (Decision::Revoke, None | Some(PermitStatus::Suspended)) => Some(PermitStatus::Revoked),
        (Decision::Cancel, None | Some(PermitStatus::Suspended)) => Some(PermitStatus::Cancelled),
        (Decision::Reinstate, Some(PermitStatus::Suspended)) => None,
        (_, Some(s)) => {
            return Err(AppError::InvalidTransition(format!(
                "证照已{}，不能再进行此操作。",
                s.label()
            )))
        }
        (Decision::Reinstate, None) => {
            return Err(AppError::InvalidTransition(
                "证照未被暂扣，无需恢复。".into(),
            ))
        }
    };
    let mut after = before.clone();
    after.status_override = next;
    after.override_reason = reason.to_owned();
    let action = match decision {
        Decision::Suspend => "suspend",
        Decision::Revoke => "revoke",
        Decision::Cancel => "cancel",
        Decision::Reinstate => "reinstate",
    };
    save(conn, &who.actor(), now, &before, &after, action)?;
    let mine = crate::register::mines::find(conn, &after.mine_id)?;
    let verb = match decision {
        Decision::Suspend => "暂扣",
        Decision::Revoke => "吊销",
        Decision::Cancel => "注销",
        Decision::Reinstate => "恢复",
    };
    tell_other_units(
        conn,
        who,
        now,
        &after,
        &kind,
        &mine.name,
        crate::notify::NoticeKind::PermitDecided,
        verb,
    )?;
    find(conn, id)
}

/// 相互通报审批备案结果: every other member unit (and the coordination office) learns of a
/// permit recorded, changed, suspended, revoked or cancelled.
#[allow(clippy::too_many_arguments)] // the notice needs each of these; a struct would only rename them
fn tell_other_units(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    now: NaiveDateTime,
    p: &Permit,
    kind: &PermitType,
    mine_name: &str,
    event: crate::notify::NoticeKind,
    verb: &str,
) -> AppResult<()> {
    let recipients = crate::accounts::recipients::other_member_units(conn, &p.issuing_department)?;
    let unit = crate::reference::department(conn, &p.issuing_department)
        .map(|d| d.name)
        .unwrap_or_else(|_| p.issuing_department.clone());
    let notice = crate::notify::Notice {
        kind: event,
        title: format!("{unit}{verb}了{}：{mine_name}", kind.name),
        body: format!(
            "{}（{}）{}了“{}”的{}，证号 {}，持证人 {}，有效期至 {}。{}",
            who.display_name,
            unit,
            verb,
            mine_name,
            kind.name,
            p.number,
            p.holder,
            p.expires_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "长期".into()),
            if p.override_reason.is_empty() {
                String::new()
            } else {
                format!("依据：{}。", p.override_reason)
            }
        ),
        link: format!("/permits/{}", p.id),
        entity_type: "permit",
        entity_id: &p.id,
    };
    crate::notify::send(conn, now, Some(&who.id), &recipients, &notice)?;
    Ok(())
}

/// Permit types with their warning windows, by code.
pub fn types_by_code(
    conn: &mut DbConnection,
) -> AppResult<std::collections::HashMap<String, PermitType>> {
    Ok(crate::reference::permit_types(conn)?
        .into_iter()
        .map(|t| (t.code.clone(), t))
        .collect())
}

pub fn for_mine(conn: &mut DbConnection, mine_id: &str) -> AppResult<Vec<Permit>> {
    store::for_mine(conn, mine_id)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PermitQuery {
    /// Permits expiring between today and today + N days (and not suspended, revoked or cancelled).
    pub expiring_within_days: Option<String>,
    pub permit_type: Option<String>,
    /// Issuing department code.
    pub department: Option<String>,
    /// valid | expiring | expired | suspended | revoked | cancelled
    pub status: Option<String>,
    pub mine_id: Option<String>,
    /// Part of the permit number or holder.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Permits ordered by expiry date (soonest first, then those without expiry), keyset-paginated.
pub fn list(
    conn: &mut DbConnection,
    q: &PermitQuery,
    today: NaiveDate,
) -> AppResult<(Vec<Permit>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    query_page(conn, q, today, limit)
}

fn query_page(
    conn: &mut DbConnection,
    q: &PermitQuery,
    today: NaiveDate,
    limit: i64,
) -> AppResult<(Vec<Permit>, Option<String>)> {
    let types = types_by_code(conn)?;
    let filter = filter_of(q, today, &types)?;
    // Keyset on (expires_on or 9999-12-31, id): permits without expiry come last.
    let far = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date");
    let after = match present(&q.cursor) {
        None => None,
        Some(c) => {
            let bad = || AppError::field("cursor", "翻页标记无效，请从第一页重新开始");
            let (d, id) = c.split_once('_').ok_or_else(bad)?;
            let d = NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| bad())?;
            Some(((d != far).then_some(d), id.to_owned()))
        }
    };
    let mut rows = store::page(conn, &filter, after, limit + 1)?;
    let next = pagination::next_cursor(&mut rows, limit, |p| {
        format!("{}_{}", p.expires_on.unwrap_or(far).format("%Y%m%d"), p.id)
    });
    Ok((rows, next))
}

/// The list's filters, checked (each bad one a 422 naming its field).
fn filter_of(
    q: &PermitQuery,
    today: NaiveDate,
    types: &std::collections::HashMap<String, PermitType>,
) -> AppResult<store::PermitFilter> {
    let expiring_within = present(&q.expiring_within_days)
        .map(|n| {
            n.parse::<i64>()
                .ok()
                .filter(|d| (0..=3650).contains(d))
                .map(|days| today + Duration::days(days))
                .ok_or_else(|| AppError::field("expiring_within_days", "应为 0 到 3650 之间的天数"))
        })
        .transpose()?;
    if let Some(t) = present(&q.permit_type) {
        if !types.contains_key(t) {
            return Err(AppError::field(
                "permit_type",
                format!("证照类型 {t} 不存在"),
            ));
        }
    }
    let status = present(&q.status)
        .map(|s| {
            PermitStatus::parse(s).ok_or_else(|| {
                AppError::field(
                    "status",
                    "状态只能是 valid、expiring、expired、suspended、revoked 或 cancelled",
                )
            })
        })
        .transpose()?;
    Ok(PermitFilter {
        today,
        expiring_until: expiring_within,
        permit_type: present(&q.permit_type).map(str::to_owned),
        department: present(&q.department).map(str::to_uppercase),
        mine_id: present(&q.mine_id).map(str::to_owned),
        text: present(&q.q).map(str::to_owned),
        status,
        warning_days: types
            .values()
            .map(|t| (t.code.clone(), t.expiry_warning_days))
            .collect(),
    })
}

/// How many permits the ledger reads at a time.
const LEDGER_CHUNK: usize = 1000;

/// The permit ledger (证照台账) as an .xlsx workbook: every permit matching the list's
/// filters, soonest expiry first. The ids come in the list's order in one query (walking
/// keyset pages re-sorted the remaining rows for every page: 19 s for 150 000 permits);
/// the permits and their mines' names are then read a chunk at a time as the rows are
/// written, so a province's ledger never holds all its permits at once.
pub fn ledger(conn: &mut DbConnection, q: &PermitQuery, today: NaiveDate) -> AppResult<Vec<u8>> {
    let types = types_by_code(conn)?;
    let filter = filter_of(q, today, &types)?;
    let ids = store::matching_ids(conn, &filter)?;
    let departments: std::collections::HashMap<String, String> =
        crate::reference::departments(conn)?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect();
    let mut chunks = Chunks {
        conn,
        ids: ids.chunks(LEDGER_CHUNK),
        failed: None,
    };
    let rows = chunks.by_ref().flatten().map(|(p, mine_name)| {
        let kind = types.get(&p.permit_type);
        let status = p.status(kind.map_or(60, |k| k.expiry_warning_days), today);
        ledger_row(p, mine_name, kind, status, &departments)
    });
    let book = crate::platform::xlsx::workbook_streamed("证照台账", &LEDGER_HEADERS, rows)?;
    match chunks.failed {
        Some(e) => Err(e),
        None => Ok(book),
    }
}

const LEDGER_HEADERS: [(&str, f64); 16] = [
    ("矿山", 22.0),
    ("证照类型", 18.0),
    ("证号", 28.0),
    ("持证人", 24.0),
    ("发证（监管）部门", 16.0),
    ("发证日期", 12.0),
    ("有效期至", 12.0),
    ("状态", 10.0),
    ("暂扣、吊销、注销依据", 20.0),
    ("矿种", 12.0),
    ("生产规模（万吨/年）", 12.0),
    ("矿区面积（平方公里）", 12.0),
    ("开采深度上限标高（米）", 12.0),
    ("开采深度下限标高（米）", 12.0),
    ("备注", 24.0),
    ("系统编号", 38.0),
];

fn ledger_row(
    p: Permit,
    mine_name: String,
    kind: Option<&PermitType>,
    status: PermitStatus,
    departments: &std::collections::HashMap<String, String>,
) -> Vec<crate::platform::xlsx::Value> {
    use crate::platform::xlsx::Value;
    vec![
        Value::from(mine_name),
        kind.map(|k| k.name.clone())
            .unwrap_or_else(|| p.permit_type.clone())
            .into(),
        p.number.as_str().into(),
        p.holder.as_str().into(),
        departments
            .get(&p.issuing_department)
            .cloned()
            .unwrap_or_else(|| p.issuing_department.clone())
            .into(),
        p.issued_on.to_string().into(),
        p.expires_on.map(|d| d.to_string()).into(),
        status.label().into(),
        p.override_reason.as_str().into(),
        p.mineral.as_str().into(),
        p.scale_10k_t_per_year.into(),
        p.area_km2.into(),
        p.elevation_top_m.into(),
        p.elevation_bottom_m.into(),
        p.notes.as_str().into(),
        p.id.as_str().into(),
    ]
}

/// The ledger's permits a chunk of ids at a time, in the ids' order, each with its mine's
/// name. A failed read ends the walk and is kept in `failed`.
struct Chunks<'a, 'i> {
    conn: &'a mut DbConnection,
    ids: std::slice::Chunks<'i, String>,
    failed: Option<AppError>,
}

impl Chunks<'_, '_> {
    fn read(&mut self, ids: &[String]) -> AppResult<Vec<(Permit, String)>> {
        let mut by_id: std::collections::HashMap<String, Permit> = store::by_ids(self.conn, ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let mut mines: Vec<String> = by_id.values().map(|p| p.mine_id.clone()).collect();
        mines.sort();
        mines.dedup();
        let names = crate::register::mines::names(self.conn, &mines)?;
        // A permit gone since its id was read (deleted meanwhile) is left out.
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .map(|p| {
                let name = names.get(&p.mine_id).cloned().unwrap_or_default();
                (p, name)
            })
            .collect())
    }
}

impl Iterator for Chunks<'_, '_> {
    type Item = Vec<(Permit, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed.is_some() {
            return None;
        }
        let ids = self.ids.next()?;
        match self.read(ids) {
            Ok(rows) => Some(rows),
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn status_follows_the_dates_unless_decided() {
        let today = d("2026-03-02");
        assert_eq!(derive_status(None, None, 90, today), PermitStatus::Valid);
        assert_eq!(
            derive_status(None, Some(d("2026-12-31")), 90, today),
            PermitStatus::Valid
        );
        assert_eq!(
            derive_status(None, Some(d("2026-05-31")), 90, today),
            PermitStatus::Expiring
        );
        assert_eq!(
            derive_status(None, Some(d("2026-03-02")), 90, today),
            PermitStatus::Expiring
        );
        assert_eq!(
            derive_status(None, Some(d("2026-03-01")), 90, today),
            PermitStatus::Expired
        );
        assert_eq!(
            derive_status(
                Some(PermitStatus::Revoked),
                Some(d("2030-01-01")),
                90,
                today
            ),
            PermitStatus::Revoked
        );
    }
}
