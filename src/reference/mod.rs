//! Reference data: member units (departments), townships, lead categories, permit types.
//!
//! Seeded from `config/reference.toml` on every start for codes not yet present; rows
//! already there are never overwritten, so admins' edits survive upgrades. Nothing is
//! deleted: a unit no longer in use is deactivated.

pub mod api;
mod closure_tasks;
pub mod pages;
mod snapshot;
mod store;

pub use closure_tasks::{
    closure_task, closure_tasks, ClosureTaskInput, ClosureTaskView, OWNER_DEPARTMENT,
};
pub use snapshot::{snapshot, Snapshot};
use store::Stored;
pub use store::{ClosureTask, Department, LeadCategory, PermitType, Township};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Actor, Change};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

const SEED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/config/reference.toml"
));

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
    closure_tasks: Vec<closure_tasks::SeedClosureTask>,
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

    let added = seed_kind(conn, &actor, now, file.departments)?
        + seed_kind(conn, &actor, now, file.townships)?
        + seed_kind(conn, &actor, now, file.lead_categories)?
        + seed_kind(conn, &actor, now, file.permit_types)?
        + seed_kind(conn, &actor, now, file.closure_tasks)?;
    Ok(added)
}

/// A row of the seed file: its code, and the row it becomes at a place in the file.
trait Seeded {
    type Row: Editable + Stored;
    fn code(&self) -> &str;
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> Self::Row;
}

/// Adds the seed rows of one kind whose codes are missing, each with its audit entry, in
/// the file's order (10, 20, …).
fn seed_kind<S: Seeded>(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    items: Vec<S>,
) -> AppResult<usize> {
    let have = S::Row::codes(conn)?;
    let mut added = 0;
    for (i, item) in items.into_iter().enumerate() {
        if have.iter().any(|c| c == item.code()) {
            continue;
        }
        let row = item.into_row((i as i32 + 1) * 10, now);
        Stored::insert(&row, conn)?;
        let after = serde_json::json!(<S::Row as Editable>::View::from(&row));
        audit_created(
            conn,
            actor,
            now,
            S::Row::ENTITY,
            Editable::code(&row),
            after,
        )?;
        added += 1;
    }
    Ok(added)
}

impl Seeded for SeedDepartment {
    type Row = Department;
    fn code(&self) -> &str {
        &self.code
    }
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> Department {
        Department {
            code: self.code,
            name: self.name,
            duties: self.duties,
            is_coordination_office: i32::from(self.coordination_office),
            email: None,
            sort_order,
            active: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Seeded for SeedTownship {
    type Row = Township;
    fn code(&self) -> &str {
        &self.code
    }
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> Township {
        Township {
            code: self.code,
            name: self.name,
            email: None,
            sort_order,
            active: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Seeded for SeedCategory {
    type Row = LeadCategory;
    fn code(&self) -> &str {
        &self.code
    }
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> LeadCategory {
        LeadCategory {
            code: self.code,
            name: self.name,
            primary_department: self.primary,
            assisting_departments: self.assisting.join(","),
            basis: self.basis,
            mining_related: i32::from(self.mining_related),
            sort_order,
            active: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Seeded for SeedPermitType {
    type Row = PermitType;
    fn code(&self) -> &str {
        &self.code
    }
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> PermitType {
        PermitType {
            code: self.code,
            name: self.name,
            issuing_department: self.issuing,
            expiry_warning_days: self.expiry_warning_days,
            notes: self.notes,
            sort_order,
            active: 1,
            created_at: now,
            updated_at: now,
        }
    }
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
    Department::all(conn)
}

pub fn department(conn: &mut DbConnection, code: &str) -> AppResult<Department> {
    find_department(conn, code)?.ok_or_else(|| AppError::NotFound(format!("部门 {code} 不存在。")))
}

/// The department with this code, if there is one.
pub fn find_department(conn: &mut DbConnection, code: &str) -> AppResult<Option<Department>> {
    Department::find(conn, code)
}

pub fn townships(conn: &mut DbConnection) -> AppResult<Vec<Township>> {
    Township::all(conn)
}

pub fn township(conn: &mut DbConnection, code: &str) -> AppResult<Township> {
    find_township(conn, code)?.ok_or_else(|| AppError::NotFound(format!("街镇 {code} 不存在。")))
}

/// The township with this code, if there is one.
pub fn find_township(conn: &mut DbConnection, code: &str) -> AppResult<Option<Township>> {
    Township::find(conn, code)
}

/// The name of a department or township by its code, or the code itself.
/// The unit of what the public reports on the public pages (群众反映), beside the
/// departments and townships.
pub const PUBLIC_UNIT: &str = "public";
pub const PUBLIC_UNIT_NAME: &str = "社会公众";

pub fn unit_name(conn: &mut DbConnection, code: &str) -> String {
    if code == PUBLIC_UNIT {
        return PUBLIC_UNIT_NAME.into();
    }
    department(conn, code)
        .map(|d| d.name)
        .or_else(|_| township(conn, code).map(|t| t.name))
        .unwrap_or_else(|_| code.to_owned())
}

pub fn lead_categories(conn: &mut DbConnection) -> AppResult<Vec<LeadCategory>> {
    LeadCategory::all(conn)
}

pub fn lead_category(conn: &mut DbConnection, code: &str) -> AppResult<LeadCategory> {
    find_lead_category(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("线索类别 {code} 不存在。")))
}

/// The lead category with this code, if there is one.
pub fn find_lead_category(conn: &mut DbConnection, code: &str) -> AppResult<Option<LeadCategory>> {
    LeadCategory::find(conn, code)
}

pub fn permit_types(conn: &mut DbConnection) -> AppResult<Vec<PermitType>> {
    PermitType::all(conn)
}

pub fn permit_type(conn: &mut DbConnection, code: &str) -> AppResult<PermitType> {
    find_permit_type(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("证照类型 {code} 不存在。")))
}

/// The permit type with this code, if there is one.
pub fn find_permit_type(conn: &mut DbConnection, code: &str) -> AppResult<Option<PermitType>> {
    PermitType::find(conn, code)
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
    let active = find_department(conn, code)?.map(|d| d.active);
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

/// One kind of reference data as the editors see it: how a row is found, made from
/// nothing, changed by an input and stored. [`save`] is the one create-or-update flow
/// over every kind: the checks shared by all, the audit entry, one transaction.
pub trait Editable: Clone + Sized + Stored {
    type Input;
    type View: Serialize + for<'a> From<&'a Self>;
    /// The entity type in the audit trail, e.g. `department`.
    const ENTITY: &'static str;
    /// What people call it in messages: 部门, 街镇, 类别 …
    const NOUN: &'static str;

    fn code(&self) -> &str;
    /// The row, or 404 with the kind's own message.
    fn get(conn: &mut DbConnection, code: &str) -> AppResult<Self>;
    fn exists(conn: &mut DbConnection, code: &str) -> AppResult<bool>;
    /// The code the input asks for (only when creating).
    fn input_code(input: &Self::Input) -> Option<&str>;
    /// A new row with the defaults, or `None` when this kind is not created here.
    fn blank(code: &str, now: NaiveDateTime) -> Option<Self>;
    /// What a new row must be given (its name, …).
    fn required(input: &Self::Input, errors: &mut Vec<FieldError>);
    /// Applies the input to the row, collecting every field error.
    fn apply(
        conn: &mut DbConnection,
        row: &mut Self,
        input: Self::Input,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()>;
}

/// The members of [`Editable`] every kind stored under a `code` shares: the
/// finder that answers 404 and the one that answers `None`. The input names its `code`.
macro_rules! stored_by_code {
    ($get:ident, $find:ident) => {
        fn code(&self) -> &str {
            &self.code
        }
        fn get(conn: &mut DbConnection, code: &str) -> AppResult<Self> {
            $get(conn, code)
        }
        fn exists(conn: &mut DbConnection, code: &str) -> AppResult<bool> {
            Ok($find(conn, code)?.is_some())
        }
        fn input_code(input: &Self::Input) -> Option<&str> {
            input.code.as_deref()
        }
    };
}

/// Creates (`code` none) or changes a row of reference data, with its audit entry.
pub fn save<T: Editable>(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    code: Option<&str>,
    input: T::Input,
) -> AppResult<T> {
    let mut errors = Vec::new();
    let (before, mut row) = match code {
        Some(code) => {
            if T::input_code(&input).is_some_and(|c| c != code) {
                errors.push(FieldError::new("code", format!("{}代码不能修改", T::NOUN)));
            }
            let before = T::get(conn, code)?;
            (Some(before.clone()), before)
        }
        None => {
            let code = T::input_code(&input).unwrap_or_default().trim().to_owned();
            let Some(row) = T::blank(&code, now) else {
                return Err(AppError::Forbidden(format!("{}不能在这里新增。", T::NOUN)));
            };
            check_code(row.code(), &mut errors);
            T::required(&input, &mut errors);
            if T::exists(conn, row.code())? {
                errors.push(FieldError::new(
                    "code",
                    format!("{}代码 {} 已存在", T::NOUN, row.code()),
                ));
            }
            (None, row)
        }
    };
    T::apply(conn, &mut row, input, &mut errors)?;
    done(errors)?;
    match before {
        None => {
            Stored::insert(&row, conn)?;
            let after = serde_json::json!(T::View::from(&row));
            audit_created(conn, actor, now, T::ENTITY, row.code(), after)?;
        }
        Some(before) => {
            row.stamp(now);
            Stored::update(&row, conn)?;
            let before = serde_json::json!(T::View::from(&before));
            let after = serde_json::json!(T::View::from(&row));
            audit_changed(conn, actor, now, T::ENTITY, row.code(), before, after)?;
        }
    }
    Ok(row)
}

/// The name, order and active flag every kind has.
fn apply_common(
    name: Option<String>,
    sort_order: Option<i32>,
    row_name: &mut String,
    row_sort: &mut i32,
    errors: &mut Vec<FieldError>,
) {
    if let Some(n) = name {
        check_name(&n, errors);
        *row_name = n.trim().to_owned();
    }
    if let Some(s) = sort_order {
        *row_sort = s;
    }
}

fn email_of(e: &str) -> Option<String> {
    Some(e.trim().to_lowercase()).filter(|e| !e.is_empty())
}

impl Editable for Department {
    type Input = DepartmentInput;
    type View = DepartmentView;
    const ENTITY: &'static str = "department";
    const NOUN: &'static str = "部门";

    stored_by_code!(department, find_department);
    fn blank(code: &str, now: NaiveDateTime) -> Option<Self> {
        Some(Department {
            code: code.to_uppercase(),
            name: String::new(),
            duties: String::new(),
            is_coordination_office: 0,
            email: None,
            sort_order: 1000,
            active: 1,
            created_at: now,
            updated_at: now,
        })
    }
    fn required(input: &DepartmentInput, errors: &mut Vec<FieldError>) {
        if input.name.is_none() {
            errors.push(FieldError::new("name", "请填写部门名称"));
        }
    }
    fn apply(
        _: &mut DbConnection,
        row: &mut Self,
        input: DepartmentInput,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()> {
        check_optional_email(&input.email, errors);
        apply_common(
            input.name,
            input.sort_order,
            &mut row.name,
            &mut row.sort_order,
            errors,
        );
        if let Some(d) = input.duties {
            row.duties = d.trim().to_owned();
        }
        if let Some(e) = input.email {
            row.email = email_of(&e);
        }
        if let Some(a) = input.active {
            if !a && row.is_coordination_office != 0 {
                errors.push(FieldError::new("active", "协调机制办公室不能停用"));
            }
            row.active = i32::from(a);
        }
        Ok(())
    }
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

impl Editable for Township {
    type Input = TownshipInput;
    type View = TownshipView;
    const ENTITY: &'static str = "township";
    const NOUN: &'static str = "街镇";

    stored_by_code!(township, find_township);
    fn blank(code: &str, now: NaiveDateTime) -> Option<Self> {
        Some(Township {
            code: code.to_uppercase(),
            name: String::new(),
            email: None,
            sort_order: 1000,
            active: 1,
            created_at: now,
            updated_at: now,
        })
    }
    fn required(input: &TownshipInput, errors: &mut Vec<FieldError>) {
        if input.name.is_none() {
            errors.push(FieldError::new("name", "请填写街镇名称"));
        }
    }
    fn apply(
        _: &mut DbConnection,
        row: &mut Self,
        input: TownshipInput,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()> {
        check_optional_email(&input.email, errors);
        apply_common(
            input.name,
            input.sort_order,
            &mut row.name,
            &mut row.sort_order,
            errors,
        );
        if let Some(e) = input.email {
            row.email = email_of(&e);
        }
        if let Some(a) = input.active {
            row.active = i32::from(a);
        }
        Ok(())
    }
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

impl Editable for LeadCategory {
    type Input = LeadCategoryInput;
    type View = LeadCategoryView;
    const ENTITY: &'static str = "lead_category";
    const NOUN: &'static str = "类别";

    stored_by_code!(lead_category, find_lead_category);
    fn blank(code: &str, now: NaiveDateTime) -> Option<Self> {
        Some(LeadCategory {
            code: code.to_lowercase(),
            name: String::new(),
            primary_department: String::new(),
            assisting_departments: String::new(),
            basis: String::new(),
            mining_related: 0,
            sort_order: 1000,
            active: 1,
            created_at: now,
            updated_at: now,
        })
    }
    fn required(input: &LeadCategoryInput, errors: &mut Vec<FieldError>) {
        if input.name.is_none() {
            errors.push(FieldError::new("name", "请填写类别名称"));
        }
        if input.primary_department.is_none() {
            errors.push(FieldError::new("primary_department", "请选择主办部门"));
        }
    }
    fn apply(
        conn: &mut DbConnection,
        row: &mut Self,
        input: LeadCategoryInput,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()> {
        apply_common(
            input.name,
            input.sort_order,
            &mut row.name,
            &mut row.sort_order,
            errors,
        );
        if let Some(p) = input.primary_department {
            let p = p.trim().to_uppercase();
            active_department(conn, "primary_department", &p, errors)?;
            row.primary_department = p;
        }
        if let Some(list) = input.assisting_departments {
            let mut codes: Vec<String> = Vec::new();
            for c in list
                .iter()
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty())
            {
                active_department(conn, "assisting_departments", &c, errors)?;
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
        if let Some(a) = input.active {
            row.active = i32::from(a);
        }
        Ok(())
    }
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

impl Editable for PermitType {
    type Input = PermitTypeInput;
    type View = PermitTypeView;
    const ENTITY: &'static str = "permit_type";
    const NOUN: &'static str = "证照类型";

    fn code(&self) -> &str {
        &self.code
    }
    fn get(conn: &mut DbConnection, code: &str) -> AppResult<Self> {
        permit_type(conn, code)
    }
    fn exists(conn: &mut DbConnection, code: &str) -> AppResult<bool> {
        Ok(find_permit_type(conn, code)?.is_some())
    }
    fn input_code(_: &PermitTypeInput) -> Option<&str> {
        None
    }
    /// Permit types are fixed by law: none is added here.
    fn blank(_: &str, _: NaiveDateTime) -> Option<Self> {
        None
    }
    fn required(_: &PermitTypeInput, _: &mut Vec<FieldError>) {}
    fn apply(
        conn: &mut DbConnection,
        row: &mut Self,
        input: PermitTypeInput,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()> {
        apply_common(
            input.name,
            input.sort_order,
            &mut row.name,
            &mut row.sort_order,
            errors,
        );
        if let Some(d) = input.issuing_department {
            let d = d.trim().to_uppercase();
            active_department(conn, "issuing_department", &d, errors)?;
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
        if let Some(a) = input.active {
            row.active = i32::from(a);
        }
        Ok(())
    }
}
