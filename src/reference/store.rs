//! Reference data's storage: the only file that names `departments`, `townships`,
//! `lead_categories`, `permit_types`, `closure_task_templates` and `reference_stamp`. Every kind is read and written the same way,
//! through [`Stored`]; what may be changed and how it is checked lives in `reference`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::platform::db::schema::{
    closure_task_templates, departments, lead_categories, permit_types, reference_stamp, townships,
};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

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

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = closure_task_templates)]
pub struct ClosureTask {
    pub code: String,
    pub name: String,
    pub department: String,
    pub kinds: String,
    pub due_days: i32,
    pub permit_type: Option<String>,
    pub notified: String,
    pub notes: String,
    pub sort_order: i32,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// How one kind of reference data is kept: all rows in their order, one by its code, and
/// the editable columns written back.
pub trait Stored: Sized {
    fn all(conn: &mut DbConnection) -> AppResult<Vec<Self>>;
    fn find(conn: &mut DbConnection, code: &str) -> AppResult<Option<Self>>;
    fn codes(conn: &mut DbConnection) -> AppResult<Vec<String>>;
    fn insert(&self, conn: &mut DbConnection) -> AppResult<()>;
    /// Writes the editable columns (and `updated_at`) of the row with this code.
    fn update(&self, conn: &mut DbConnection) -> AppResult<()>;
    /// Marks the row changed at `now`.
    fn stamp(&mut self, now: NaiveDateTime);
}

macro_rules! stored {
    ($row:ty, $table:ident, [$($col:ident),+ $(,)?]) => {
        impl Stored for $row {
            fn all(conn: &mut DbConnection) -> AppResult<Vec<Self>> {
                Ok($table::table
                    .select(<$row>::as_select())
                    .order(($table::sort_order, $table::code))
                    .load(conn)?)
            }
            fn find(conn: &mut DbConnection, code: &str) -> AppResult<Option<Self>> {
                Ok($table::table
                    .find(code)
                    .select(<$row>::as_select())
                    .first(conn)
                    .optional()?)
            }
            fn codes(conn: &mut DbConnection) -> AppResult<Vec<String>> {
                Ok($table::table.select($table::code).load(conn)?)
            }
            fn insert(&self, conn: &mut DbConnection) -> AppResult<()> {
                diesel::insert_into($table::table).values(self).execute(conn)?;
                Ok(())
            }
            fn stamp(&mut self, now: NaiveDateTime) {
                self.updated_at = now;
            }
            fn update(&self, conn: &mut DbConnection) -> AppResult<()> {
                diesel::update($table::table.find(&self.code))
                    .set(($($table::$col.eq(&self.$col)),+, $table::updated_at.eq(self.updated_at)))
                    .execute(conn)?;
                Ok(())
            }
        }
    };
}

stored!(
    Department,
    departments,
    [name, duties, email, sort_order, active]
);
stored!(Township, townships, [name, email, sort_order, active]);
stored!(
    LeadCategory,
    lead_categories,
    [
        name,
        primary_department,
        assisting_departments,
        basis,
        mining_related,
        sort_order,
        active,
    ]
);
stored!(
    PermitType,
    permit_types,
    [
        name,
        issuing_department,
        expiry_warning_days,
        notes,
        sort_order,
        active,
    ]
);
stored!(
    ClosureTask,
    closure_task_templates,
    [name, department, kinds, due_days, notified, notes, sort_order, active,]
);

/// The stamp of the departments, townships and lead categories as they are now (changed
/// by the database's triggers on every write to them), if the row is there.
pub fn stamp(conn: &mut DbConnection) -> AppResult<Option<String>> {
    Ok(reference_stamp::table
        .find(1)
        .select(reference_stamp::stamp)
        .first(conn)
        .optional()?)
}
