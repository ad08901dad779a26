//! Who is told of what (相互通报): the audiences of notices, chosen from the active
//! accounts by role and unit. The capabilities ask here and hand the ids to `notify::send`.

use std::collections::HashMap;

use super::store;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::platform::rules::role::Role;

/// `(id, email)` of the active accounts among `ids`: the outbox's address book.
pub fn mail_addresses(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    store::mail_addresses(conn, ids)
}

fn distinct(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Active department staff (officers and heads) of the member units other than `except`,
/// and the coordination office: the audience of 相互通报审批备案结果.
pub fn other_member_units(conn: &mut DbConnection, except: &str) -> AppResult<Vec<String>> {
    let mut ids = store::staff_outside(conn, except)?;
    ids.extend(store::with_role(conn, Role::Coordinator)?);
    Ok(distinct(ids))
}

/// A lead's missed deadline is escalated to the head of the primary department, the
/// coordination office and the raising township (the person who raised it and the
/// township's staff).
pub fn lead_escalation(
    conn: &mut DbConnection,
    primary_department: &str,
    raised_by: Option<&str>,
    township: Option<&str>,
) -> AppResult<Vec<String>> {
    let mut ids = store::heads_of(conn, primary_department)?;
    ids.extend(store::with_role(conn, Role::Coordinator)?);
    if let Some(t) = township {
        ids.extend(store::township_staff(conn, t)?);
    }
    ids.extend(raised_by.map(str::to_owned));
    Ok(distinct(ids))
}

/// Active staff of the departments and the coordination office, `(id, email)` (one
/// query): who is told of a new lead, with the addresses its email form goes to
/// (`notify::Audience::of_addressed`).
pub fn departments_and_coordinators(
    conn: &mut DbConnection,
    departments: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    let mut found = store::staff_of_and_coordinators(conn, departments)?;
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

/// Active heads of a department.
pub fn heads_of(conn: &mut DbConnection, department: &str) -> AppResult<Vec<String>> {
    store::heads_of(conn, department)
}

/// Active users of the coordination office.
pub fn coordinators(conn: &mut DbConnection) -> AppResult<Vec<String>> {
    store::with_role(conn, Role::Coordinator)
}

/// Active staff of the given departments, and the township users of a township.
pub fn departments_and_township(
    conn: &mut DbConnection,
    departments: &[String],
    township: Option<&str>,
) -> AppResult<Vec<String>> {
    let mut ids = store::staff_of(conn, departments)?;
    if let Some(t) = township {
        ids.extend(store::township_staff(conn, t)?);
    }
    Ok(distinct(ids))
}

/// The people concerned with permits, loaded once for many permits: the active staff of
/// every department, and the enterprise users of the given mines.
pub struct PermitAudience {
    by_department: HashMap<String, Vec<String>>,
    by_mine: HashMap<String, Vec<String>>,
}

impl PermitAudience {
    pub fn load(conn: &mut DbConnection, mine_ids: &[String]) -> AppResult<Self> {
        let mut by_department: HashMap<String, Vec<String>> = HashMap::new();
        let staff = store::all_staff(conn)?;
        for (id, dept) in staff {
            if let Some(d) = dept {
                by_department.entry(d).or_default().push(id);
            }
        }
        let mut by_mine: HashMap<String, Vec<String>> = HashMap::new();
        let mut mine_ids = mine_ids.to_vec();
        mine_ids.sort();
        mine_ids.dedup();
        for chunk in mine_ids.chunks(500) {
            let rows = store::enterprise_users_of(conn, chunk)?;
            for (id, mine) in rows {
                if let Some(m) = mine {
                    by_mine.entry(m).or_default().push(id);
                }
            }
        }
        Ok(Self {
            by_department,
            by_mine,
        })
    }

    /// A permit running out: the issuing department (谁审批、谁监管), the mine's daily
    /// safety supervisor, and the enterprise, which must apply for the renewal.
    pub fn expiry_reminder(
        &self,
        issuing_department: &str,
        supervisor: Option<&str>,
        mine_id: &str,
    ) -> Vec<String> {
        let staff = |d: &str| self.by_department.get(d).into_iter().flatten().cloned();
        let mut ids: Vec<String> = staff(issuing_department)
            .chain(supervisor.into_iter().flat_map(staff))
            .chain(self.by_mine.get(mine_id).into_iter().flatten().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
