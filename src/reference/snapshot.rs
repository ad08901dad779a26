//! The departments, townships and lead categories as they were at one stamp, kept by the
//! process so that a request reads one row (`reference_stamp`) instead of the tables.
//!
//! The database changes the stamp, by trigger, with every write to those tables, through
//! any instance or by hand (migration 000038); a stamp is random, so two databases never
//! share one and one stamp always stands for the same rows. A request that finds the
//! stamp it kept uses the kept rows; otherwise it reads the tables and keeps them under
//! the stamp it read *before* them. A change committed in between is then kept under the
//! old stamp, which no later request reads again, never the old rows under the new one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::store::{self, Stored};
use super::{Department, LeadCategory, Township, PUBLIC_UNIT, PUBLIC_UNIT_NAME};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// The reference rows a request reads most, at one stamp.
pub struct Snapshot {
    stamp: Option<String>,
    departments: Vec<Department>,
    townships: Vec<Township>,
    categories: Vec<LeadCategory>,
    department_at: HashMap<String, usize>,
    township_at: HashMap<String, usize>,
    category_at: HashMap<String, usize>,
}

/// One snapshot per process: the last one read. Databases side by side (the tests) take
/// turns in it, which costs a reload, never a wrong answer, as their stamps differ.
static KEPT: RwLock<Option<Arc<Snapshot>>> = RwLock::new(None);

/// The reference rows as the database has them now: one read of the stamp, and of the
/// tables only when they changed since this process last read them.
pub fn snapshot(conn: &mut DbConnection) -> AppResult<Arc<Snapshot>> {
    let stamp = store::stamp(conn)?;
    if let Some(s) = &stamp {
        let kept = KEPT.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(kept) = kept.filter(|k| k.stamp.as_ref() == Some(s)) {
            return Ok(kept);
        }
    }
    let fresh = Arc::new(Snapshot::new(
        stamp,
        Department::all(conn)?,
        Township::all(conn)?,
        LeadCategory::all(conn)?,
    ));
    if fresh.stamp.is_some() {
        *KEPT.write().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
    }
    Ok(fresh)
}

fn index<T>(rows: &[T], code: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| (code(r).to_owned(), i))
        .collect()
}

impl Snapshot {
    fn new(
        stamp: Option<String>,
        departments: Vec<Department>,
        townships: Vec<Township>,
        categories: Vec<LeadCategory>,
    ) -> Self {
        Self {
            department_at: index(&departments, |d| &d.code),
            township_at: index(&townships, |t| &t.code),
            category_at: index(&categories, |c| &c.code),
            stamp,
            departments,
            townships,
            categories,
        }
    }

    /// Every department, in their order.
    pub fn departments(&self) -> &[Department] {
        &self.departments
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.department_at.get(code).map(|&i| &self.departments[i])
    }

    pub fn township(&self, code: &str) -> Option<&Township> {
        self.township_at.get(code).map(|&i| &self.townships[i])
    }

    pub fn lead_category(&self, code: &str) -> Option<&LeadCategory> {
        self.category_at.get(code).map(|&i| &self.categories[i])
    }

    /// As [`super::unit_name`]: a department's or township's name, or the code itself.
    pub fn unit_name(&self, code: &str) -> String {
        if code == PUBLIC_UNIT {
            return PUBLIC_UNIT_NAME.into();
        }
        self.department(code)
            .map(|d| d.name.clone())
            .or_else(|| self.township(code).map(|t| t.name.clone()))
            .unwrap_or_else(|| code.to_owned())
    }
}
