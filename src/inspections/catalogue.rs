//! The item catalogue (事项清单): per department, what it checks and on what legal basis.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::store::{self, Item};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

// ---- the catalogue (事项清单) ----

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub code: String,
    /// The department that checks it.
    pub department: String,
    pub name: String,
    pub legal_basis: String,
    /// Whether it can be checked in a joint visit (default yes).
    pub joinable: Option<bool>,
}

pub fn create_item(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    input: NewItem,
) -> AppResult<Item> {
    authz::require(who, Action::ManageInspectionItems)?;
    let mut errors = Vec::new();
    let code = input.code.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(FieldError::new(
            "code",
            "事项编码为 1 到 32 位字母、数字、- 或 _，如 EM-01",
        ));
    }
    let department = input.department.trim().to_uppercase();
    if crate::reference::find_department(conn, &department)?.is_none() {
        errors.push(FieldError::new(
            "department",
            format!("没有部门 {department}"),
        ));
    }
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "请填写检查事项（200 字以内）"));
    }
    let basis = input.legal_basis.trim().to_owned();
    if basis.is_empty() || basis.chars().count() > 500 {
        errors.push(FieldError::new(
            "legal_basis",
            "请填写检查依据（500 字以内）",
        ));
    }
    if errors.is_empty() && !store::items_by_code(conn, std::slice::from_ref(&code))?.is_empty() {
        errors.push(FieldError::new("code", format!("事项编码 {code} 已存在")));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let item = Item {
        code,
        department,
        name,
        legal_basis: basis,
        joinable: i32::from(input.joinable.unwrap_or(true)),
        active: 1,
        created_at: now,
        updated_at: now,
    };
    store::insert_item(conn, &item)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection_item",
            entity_id: &item.code,
            action: "create",
            before: None,
            after: Some(serde_json::to_value(&item).map_err(AppError::internal)?),
        },
    )?;
    Ok(item)
}

pub fn items(conn: &mut DbConnection, department: Option<&str>) -> AppResult<Vec<Item>> {
    store::items(conn, department)
}
