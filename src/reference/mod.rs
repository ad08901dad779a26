//! Reference data: member units (departments), townships, lead categories, permit types.
//!
//! Seeded from `config/reference.toml` on every start for codes not yet present; rows
//! already there are never overwritten, so admins' edits survive upgrades. Nothing is
//! deleted: a unit no longer in use is deactivated.

pub mod api;
pub mod pages;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::db::schema::{departments, lead_categories, permit_types, townships};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

const SEED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/reference.toml"
));

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = departments)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub duties: String,
    pub is_coordination_office: i32,
    pub email: Option<String>,
    pub sort_order: i32,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = townships)]
pub struct Township {
    pub code: String,
    pub name: String,
    pub email: Option<String>,
    pub sort_order: i32,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lead_categories)]
pub struct LeadCategory {
    pub code: String,
    pub name: String,
    pub primary_department: String,
    pub assisting_departments: String,
    pub basis: String,
    pub mining_related: i32,
    pub sort_order: i32,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = permit_types)]
pub struct PermitType {
    pub code: String,
    pub name: String,
    pub issuing_department: String,
    pub expiry_warning_days: i32,
    pub notes: String,
    pub sort_order: i32,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepartmentView {
    pub code: String,
    pub name: String,
    pub duties: String,
    /// The coordination office (协调机制办公室).
    pub coordination_office: bool,
    pub email: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

impl From<&Department> for DepartmentView {
    fn from(d: &Department) -> Self {
        Self {
            code: d.code.clone(),
            name: d.name.clone(),
            duties: d.duties.clone(),
            coordination_office: d.is_coordination_office != 0,
            email: d.email.clone(),
            sort_order: d.sort_order,
            active: d.active != 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TownshipView {
    pub code: String,
    pub name: String,
    pub email: Option<String>,
    pub sort_order: i32,
    pub active: bool,
}

impl From<&Township> for TownshipView {
    fn from(t: &Township) -> Self {
        Self {
            code: t.code.clone(),
            name: t.name.clone(),
            email: t.email.clone(),
            sort_order: t.sort_order,
            active: t.active != 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadCategoryView {
    pub code: String,
    pub name: String,
    pub primary_department: String,
    pub assisting_departments: Vec<String>,
    /// The article of the district rules this routing follows.
    pub basis: String,
    /// A point outside every licensed boundary on such a category suggests unlicensed mining.
    pub mining_related: bool,
    pub sort_order: i32,
    pub active: bool,
}

impl From<&LeadCategory> for LeadCategoryView {
    fn from(c: &LeadCategory) -> Self {
        Self {
            code: c.code.clone(),
            name: c.name.clone(),
            primary_department: c.primary_department.clone(),
            assisting_departments: split_codes(&c.assisting_departments),
            basis: c.basis.clone(),
            mining_related: c.mining_related != 0,
            sort_order: c.sort_order,
            active: c.active != 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermitTypeView {
    pub code: String,
    pub name: String,
    /// 谁审批、谁监管: the issuing department supervises the permit.
    pub issuing_department: String,
    pub expiry_warning_days: i32,
    pub notes: String,
    pub sort_order: i32,
    pub active: bool,
}

impl From<&PermitType> for PermitTypeView {
    fn from(p: &PermitType) -> Self {
        Self {
            code: p.code.clone(),
            name: p.name.clone(),
            issuing_department: p.issuing_department.clone(),
            expiry_warning_days: p.expiry_warning_days,
            notes: p.notes.clone(),
            sort_order: p.sort_order,
            active: p.active != 0,
        }
    }
}

pub fn split_codes(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---- seeding ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct SeedFile {
    departments: Vec<SeedDepartment>,
    townships: Vec<SeedTownship>,
    lead_categories: Vec<SeedCategory>,
    permit_types: Vec<SeedPermitType>,
}

#[derive(Deserialize)]
struct SeedDepartment {
    code: String,
    name: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    coordination_office: bool,
}

#[derive(Deserialize)]
struct SeedTownship {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct SeedCategory {
    code: String,
    name: String,
    primary: String,
    #[serde(default)]
    assisting: Vec<String>,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    mining_related: bool,
}

#[derive(Deserialize)]
struct SeedPermitType {
    code: String,
    name: String,
    issuing: String,
    expiry_warning_days: i32,
    #[serde(default)]
    notes: String,
}

/// Inserts the reference rows whose codes are missing. Returns how many were added.
pub fn seed(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    let file: SeedFile = toml::from_str(SEED).map_err(AppError::internal)?;
    let actor = Actor::system("基础数据初始化");
    let mut added = 0;

    let have: Vec<String> = departments::table.select(departments::code).load(conn)?;
    for (i, d) in file.departments.into_iter().enumerate() {
        if have.contains(&d.code) {
            continue;
        }
        let row = Department {
            code: d.code,
            name: d.name,
            duties: d.duties,
            is_coordination_office: i32::from(d.coordination_office),
            email: None,
            sort_order: (i as i32 + 1) * 10,
            active: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(departments::table)
            .values(&row)
            .execute(conn)?;
        audit_created(
            conn,
            &actor,
            now,
            "department",
            &row.code,
            serde_json::json!(DepartmentView::from(&row)),
        )?;
        added += 1;
    }

    let have: Vec<String> = townships::table.select(townships::code).load(conn)?;
    for (i, t) in file.townships.into_iter().enumerate() {
        if have.contains(&t.code) {
            continue;
        }
        let row = Township {
            code: t.code,
            name: t.name,
            email: None,
            sort_order: (i as i32 + 1) * 10,
            active: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(townships::table)
            .values(&row)
            .execute(conn)?;
        audit_created(
            conn,
            &actor,
            now,
            "township",
            &row.code,
            serde_json::json!(TownshipView::from(&row)),
        )?;
        added += 1;
    }

    let have: Vec<String> = lead_categories::table
        .select(lead_categories::code)
        .load(conn)?;
    for (i, c) in file.lead_categories.into_iter().enumerate() {
        if have.contains(&c.code) {
            continue;
        }
        let row = LeadCategory {
            code: c.code,
            name: c.name,
            primary_department: c.primary,
            assisting_departments: c.assisting.join(","),
            basis: c.basis,
            mining_related: i32::from(c.mining_related),
            sort_order: (i as i32 + 1) * 10,
            active: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(lead_categories::table)
            .values(&row)
            .execute(conn)?;
        audit_created(
            conn,
            &actor,
            now,
            "lead_category",
            &row.code,
            serde_json::json!(LeadCategoryView::from(&row)),
        )?;
        added += 1;
    }

    let have: Vec<String> = permit_types::table.select(permit_types::code).load(conn)?;
    for (i, p) in file.permit_types.into_iter().enumerate() {
        if have.contains(&p.code) {
            continue;
        }
        let row = PermitType {
            code: p.code,
            name: p.name,
            issuing_department: p.issuing,
            expiry_warning_days: p.expiry_warning_days,
            notes: p.notes,
            sort_order: (i as i32 + 1) * 10,
            active: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(permit_types::table)
            .values(&row)
            .execute(conn)?;
        audit_created(
            conn,
            &actor,
            now,
            "permit_type",
            &row.code,
            serde_json::json!(PermitTypeView::from(&row)),
        )?;
        added += 1;
    }
    Ok(added)
}

fn audit_created(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    entity: &str,
    code: &str,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: entity,
            entity_id: code,
            action: "create",
            before: None,
            after: Some(after),
        },
    )?;
    Ok(())
}

fn audit_changed(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    entity: &str,
    code: &str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        actor,
        now,
        Change {
            entity_type: entity,
            entity_id: code,
            action: "update",
            before: Some(before),
            after: Some(after),
        },
    )?;
    Ok(())
}

// ---- reads -----------------------------------------------------------------------------

pub fn departments(conn: &mut DbConnection) -> AppResult<Vec<Department>> {
    Ok(departments::table
        .select(Department::as_select())
        .order((departments::sort_order, departments::code))
        .load(conn)?)
}

pub fn department(conn: &mut DbConnection, code: &str) -> AppResult<Department> {
    find_department(conn, code)?.ok_or_else(|| AppError::NotFound(format!("部门 {code} 不存在。")))
}

/// The department with this code, if there is one.
pub fn find_department(conn: &mut DbConnection, code: &str) -> AppResult<Option<Department>> {
    Ok(departments::table
        .find(code)
        .select(Department::as_select())
        .first(conn)
        .optional()?)
}

pub fn townships(conn: &mut DbConnection) -> AppResult<Vec<Township>> {
    Ok(townships::table
        .select(Township::as_select())
        .order((townships::sort_order, townships::code))
        .load(conn)?)
}

pub fn township(conn: &mut DbConnection, code: &str) -> AppResult<Township> {
    find_township(conn, code)?.ok_or_else(|| AppError::NotFound(format!("街镇 {code} 不存在。")))
}

/// The township with this code, if there is one.
pub fn find_township(conn: &mut DbConnection, code: &str) -> AppResult<Option<Township>> {
    Ok(townships::table
        .find(code)
        .select(Township::as_select())
        .first(conn)
        .optional()?)
}

/// The name of a department or township by its code, or the code itself.
pub fn unit_name(conn: &mut DbConnection, code: &str) -> String {
    department(conn, code)
        .map(|d| d.name)
        .or_else(|_| township(conn, code).map(|t| t.name))
        .unwrap_or_else(|_| code.to_owned())
}

pub fn lead_categories(conn: &mut DbConnection) -> AppResult<Vec<LeadCategory>> {
    Ok(lead_categories::table
        .select(LeadCategory::as_select())
        .order((lead_categories::sort_order, lead_categories::code))
        .load(conn)?)
}

pub fn lead_category(conn: &mut DbConnection, code: &str) -> AppResult<LeadCategory> {
    lead_categories::table
        .find(code)
        .select(LeadCategory::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("线索类别 {code} 不存在。")))
}

pub fn permit_types(conn: &mut DbConnection) -> AppResult<Vec<PermitType>> {
    Ok(permit_types::table
        .select(PermitType::as_select())
        .order((permit_types::sort_order, permit_types::code))
        .load(conn)?)
}

pub fn permit_type(conn: &mut DbConnection, code: &str) -> AppResult<PermitType> {
    find_permit_type(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("证照类型 {code} 不存在。")))
}

/// The permit type with this code, if there is one.
pub fn find_permit_type(conn: &mut DbConnection, code: &str) -> AppResult<Option<PermitType>> {
    Ok(permit_types::table
        .find(code)
        .select(PermitType::as_select())
        .first(conn)
        .optional()?)
}

// ---- writes ----------------------------------------------------------------------------

fn check_code(code: &str, errors: &mut Vec<FieldError>) {
    let ok = (2..=32).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && code.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok {
        errors.push(FieldError::new(
            "code",
            "代码应为 2 到 32 位英文字母、数字或下划线，并以字母开头",
        ));
    }
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() || name.chars().count() > 60 {
        errors.push(FieldError::new("name", "名称不能为空，且不超过 60 个字符"));
    }
}

fn check_optional_email(email: &Option<String>, errors: &mut Vec<FieldError>) {
    if let Some(e) = email.as_deref().filter(|e| !e.is_empty()) {
        if let Err(m) = crate::platform::rules::email::check_email(e) {
            errors.push(FieldError::new("email", m));
        }
    }
}

fn done(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

fn active_department(
    conn: &mut DbConnection,
    field: &str,
    code: &str,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let active: Option<i32> = departments::table
        .find(code)
        .select(departments::active)
        .first(conn)
        .optional()?;
    match active {
        None => errors.push(FieldError::new(field, format!("部门代码 {code} 不存在"))),
        Some(0) => errors.push(FieldError::new(field, format!("部门 {code} 已停用"))),
        _ => {}
    }
    Ok(())
}

/// Fields of a department an admin can set; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    /// Only when creating.
    pub code: Option<String>,
    pub name: Option<String>,
    pub duties: Option<String>,
    pub email: Option<String>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

pub fn save_department(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    code: Option<&str>,
    input: DepartmentInput,
) -> AppResult<Department> {
    let mut errors = Vec::new();
    check_optional_email(&input.email, &mut errors);
    let (before, mut row) = match code {
        Some(code) => {
            if input.code.as_deref().is_some_and(|c| c != code) {
                errors.push(FieldError::new("code", "部门代码不能修改"));
            }
            let before = department(conn, code)?;
            (Some(before.clone()), before)
        }
        None => {
            let code = input.code.clone().unwrap_or_default().trim().to_uppercase();
            check_code(&code, &mut errors);
            if input.name.is_none() {
                errors.push(FieldError::new("name", "请填写部门名称"));
            }
            if departments::table
                .find(&code)
                .count()
                .get_result::<i64>(conn)?
                > 0
            {
                errors.push(FieldError::new("code", format!("部门代码 {code} 已存在")));
            }
            let row = Department {
                code,
                name: String::new(),
                duties: String::new(),
                is_coordination_office: 0,
                email: None,
                sort_order: 1000,
                active: 1,
                created_at: now,
                updated_at: now,
            };
            (None, row)
        }
    };
    if let Some(n) = input.name {
        check_name(&n, &mut errors);
        row.name = n.trim().to_owned();
    }
    if let Some(d) = input.duties {
        row.duties = d.trim().to_owned();
    }
    if let Some(e) = input.email {
        row.email = Some(e.trim().to_lowercase()).filter(|e| !e.is_empty());
    }
    if let Some(s) = input.sort_order {
        row.sort_order = s;
    }
    if let Some(a) = input.active {
        if !a && row.is_coordination_office != 0 {
            errors.push(FieldError::new("active", "协调机制办公室不能停用"));
        }
        row.active = i32::from(a);
    }
    done(errors)?;
    row.updated_at = now;
    match before {
        None => {
            diesel::insert_into(departments::table)
                .values(&row)
                .execute(conn)?;
            audit_created(
                conn,
                actor,
                now,
                "department",
                &row.code,
                serde_json::json!(DepartmentView::from(&row)),
            )?;
        }
        Some(before) => {
            diesel::update(departments::table.find(&row.code))
                .set((
                    departments::name.eq(&row.name),
                    departments::duties.eq(&row.duties),
                    departments::email.eq(&row.email),
                    departments::sort_order.eq(row.sort_order),
                    departments::active.eq(row.active),
                    departments::updated_at.eq(now),
                ))
                .execute(conn)?;
            audit_changed(
                conn,
                actor,
                now,
                "department",
                &row.code,
                serde_json::json!(DepartmentView::from(&before)),
                serde_json::json!(DepartmentView::from(&row)),
            )?;
        }
    }
    Ok(row)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TownshipInput {
    /// Only when creating.
    pub code: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

pub fn save_township(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    code: Option<&str>,
    input: TownshipInput,
) -> AppResult<Township> {
    let mut errors = Vec::new();
    check_optional_email(&input.email, &mut errors);
    let (before, mut row) = match code {
        Some(code) => {
            if input.code.as_deref().is_some_and(|c| c != code) {
                errors.push(FieldError::new("code", "街镇代码不能修改"));
            }
            let before = township(conn, code)?;
            (Some(before.clone()), before)
        }
        None => {
            let code = input.code.clone().unwrap_or_default().trim().to_uppercase();
            check_code(&code, &mut errors);
            if input.name.is_none() {
                errors.push(FieldError::new("name", "请填写街镇名称"));
            }
            if townships::table
                .find(&code)
                .count()
                .get_result::<i64>(conn)?
                > 0
            {
                errors.push(FieldError::new("code", format!("街镇代码 {code} 已存在")));
            }
            (
                None,
                Township {
                    code,
                    name: String::new(),
                    email: None,
                    sort_order: 1000,
                    active: 1,
                    created_at: now,
                    updated_at: now,
                },
            )
        }
    };
    if let Some(n) = input.name {
        check_name(&n, &mut errors);
        row.name = n.trim().to_owned();
    }
    if let Some(e) = input.email {
        row.email = Some(e.trim().to_lowercase()).filter(|e| !e.is_empty());
    }
    if let Some(s) = input.sort_order {
        row.sort_order = s;
    }
    if let Some(a) = input.active {
        row.active = i32::from(a);
    }
    done(errors)?;
    row.updated_at = now;
    match before {
        None => {
            diesel::insert_into(townships::table)
                .values(&row)
                .execute(conn)?;
            audit_created(
                conn,
                actor,
                now,
                "township",
                &row.code,
                serde_json::json!(TownshipView::from(&row)),
            )?;
        }
        Some(before) => {
            diesel::update(townships::table.find(&row.code))
                .set((
                    townships::name.eq(&row.name),
                    townships::email.eq(&row.email),
                    townships::sort_order.eq(row.sort_order),
                    townships::active.eq(row.active),
                    townships::updated_at.eq(now),
                ))
                .execute(conn)?;
            audit_changed(
                conn,
                actor,
                now,
                "township",
                &row.code,
                serde_json::json!(TownshipView::from(&before)),
                serde_json::json!(TownshipView::from(&row)),
            )?;
        }
    }
    Ok(row)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadCategoryInput {
    /// Only when creating.
    pub code: Option<String>,
    pub name: Option<String>,
    pub primary_department: Option<String>,
    pub assisting_departments: Option<Vec<String>>,
    pub basis: Option<String>,
    pub mining_related: Option<bool>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

pub fn save_lead_category(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    code: Option<&str>,
    input: LeadCategoryInput,
) -> AppResult<LeadCategory> {
    let mut errors = Vec::new();
    let (before, mut row) = match code {
        Some(code) => {
            if input.code.as_deref().is_some_and(|c| c != code) {
                errors.push(FieldError::new("code", "类别代码不能修改"));
            }
            let before = lead_category(conn, code)?;
            (Some(before.clone()), before)
        }
        None => {
            let code = input.code.clone().unwrap_or_default().trim().to_lowercase();
            check_code(&code, &mut errors);
            if input.name.is_none() {
                errors.push(FieldError::new("name", "请填写类别名称"));
            }
            if input.primary_department.is_none() {
                errors.push(FieldError::new("primary_department", "请选择主办部门"));
            }
            if lead_categories::table
                .find(&code)
                .count()
                .get_result::<i64>(conn)?
                > 0
            {
                errors.push(FieldError::new("code", format!("类别代码 {code} 已存在")));
            }
            (
                None,
                LeadCategory {
                    code,
                    name: String::new(),
                    primary_department: String::new(),
                    assisting_departments: String::new(),
                    basis: String::new(),
                    mining_related: 0,
                    sort_order: 1000,
                    active: 1,
                    created_at: now,
                    updated_at: now,
                },
            )
        }
    };
    if let Some(n) = input.name {
        check_name(&n, &mut errors);
        row.name = n.trim().to_owned();
    }
    if let Some(p) = input.primary_department {
        let p = p.trim().to_uppercase();
        active_department(conn, "primary_department", &p, &mut errors)?;
        row.primary_department = p;
    }
    if let Some(list) = input.assisting_departments {
        let mut codes: Vec<String> = Vec::new();
        for c in list
            .iter()
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty())
        {
            active_department(conn, "assisting_departments", &c, &mut errors)?;
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
        row.assisting_departments = codes.join(",");
    }
    if split_codes(&row.assisting_departments).contains(&row.primary_department) {
        errors.push(FieldError::new(
            "assisting_departments",
            "协办部门不能与主办部门相同",
        ));
    }
    if let Some(b) = input.basis {
        row.basis = b.trim().to_owned();
    }
    if let Some(m) = input.mining_related {
        row.mining_related = i32::from(m);
    }
    if let Some(s) = input.sort_order {
        row.sort_order = s;
    }
    if let Some(a) = input.active {
        row.active = i32::from(a);
    }
    done(errors)?;
    row.updated_at = now;
    match before {
        None => {
            diesel::insert_into(lead_categories::table)
                .values(&row)
                .execute(conn)?;
            audit_created(
                conn,
                actor,
                now,
                "lead_category",
                &row.code,
                serde_json::json!(LeadCategoryView::from(&row)),
            )?;
        }
        Some(before) => {
            diesel::update(lead_categories::table.find(&row.code))
                .set((
                    lead_categories::name.eq(&row.name),
                    lead_categories::primary_department.eq(&row.primary_department),
                    lead_categories::assisting_departments.eq(&row.assisting_departments),
                    lead_categories::basis.eq(&row.basis),
                    lead_categories::mining_related.eq(row.mining_related),
                    lead_categories::sort_order.eq(row.sort_order),
                    lead_categories::active.eq(row.active),
                    lead_categories::updated_at.eq(now),
                ))
                .execute(conn)?;
            audit_changed(
                conn,
                actor,
                now,
                "lead_category",
                &row.code,
                serde_json::json!(LeadCategoryView::from(&before)),
                serde_json::json!(LeadCategoryView::from(&row)),
            )?;
        }
    }
    Ok(row)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitTypeInput {
    pub name: Option<String>,
    pub issuing_department: Option<String>,
    pub expiry_warning_days: Option<i32>,
    pub notes: Option<String>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

/// Permit types are fixed by law; admins adjust their names, warning windows and notes.
pub fn update_permit_type(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    code: &str,
    input: PermitTypeInput,
) -> AppResult<PermitType> {
    let before = permit_type(conn, code)?;
    let mut row = before.clone();
    let mut errors = Vec::new();
    if let Some(n) = input.name {
        check_name(&n, &mut errors);
        row.name = n.trim().to_owned();
    }
    if let Some(d) = input.issuing_department {
        let d = d.trim().to_uppercase();
        active_department(conn, "issuing_department", &d, &mut errors)?;
        row.issuing_department = d;
    }
    if let Some(days) = input.expiry_warning_days {
        if !(1..=730).contains(&days) {
            errors.push(FieldError::new(
                "expiry_warning_days",
                "到期提醒天数应在 1 到 730 之间",
            ));
        }
        row.expiry_warning_days = days;
    }
    if let Some(n) = input.notes {
        row.notes = n.trim().to_owned();
    }
    if let Some(s) = input.sort_order {
        row.sort_order = s;
    }
    if let Some(a) = input.active {
        row.active = i32::from(a);
    }
    done(errors)?;
    diesel::update(permit_types::table.find(code))
        .set((
            permit_types::name.eq(&row.name),
            permit_types::issuing_department.eq(&row.issuing_department),
            permit_types::expiry_warning_days.eq(row.expiry_warning_days),
            permit_types::notes.eq(&row.notes),
            permit_types::sort_order.eq(row.sort_order),
            permit_types::active.eq(row.active),
            permit_types::updated_at.eq(now),
        ))
        .execute(conn)?;
    audit_changed(
        conn,
        actor,
        now,
        "permit_type",
        code,
        serde_json::json!(PermitTypeView::from(&before)),
        serde_json::json!(PermitTypeView::from(&row)),
    )?;
    Ok(row)
}
