//! Who is told of what (相互通报): the audiences of notices, chosen from the active
//! accounts by role and unit. The capabilities ask here and hand the ids to `notify::send`.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::platform::db::schema::users;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// `(id, email)` of the active accounts among `ids`: the outbox's address book.
pub fn mail_addresses(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .filter(users::active.eq(1))
        .select((users::id, users::email))
        .load(conn)?)
}

/// Active department staff (officers and heads) of the member units other than `except`,
/// and the coordination office: the audience of 相互通报审批备案结果.
pub fn other_member_units(conn: &mut DbConnection, except: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(
            users::role
                .eq_any(["officer", "head"])
                .and(users::department.ne(except.to_owned()))
                .or(users::role.eq("coordinator")),
        )
        .select(users::id)
        .load(conn)?)
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
    let mut ids: Vec<String> = users::table
        .filter(users::active.eq(1))
        .filter(
            users::role
                .eq("head")
                .and(users::department.eq(primary_department.to_owned()))
                .or(users::role.eq("coordinator")),
        )
        .select(users::id)
        .load(conn)?;
    if let Some(t) = township {
        ids.extend(
            users::table
                .filter(users::active.eq(1))
                .filter(users::role.eq("township"))
                .filter(users::township.eq(t))
                .select(users::id)
                .load::<String>(conn)?,
        );
    }
    ids.extend(raised_by.map(str::to_owned));
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Active users of the coordination office.
pub fn coordinators(conn: &mut DbConnection) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq("coordinator"))
        .select(users::id)
        .load(conn)?)
}

/// Active staff of the given departments, and the township users of a township.
pub fn departments_and_township(
    conn: &mut DbConnection,
    departments: &[String],
    township: Option<&str>,
) -> AppResult<Vec<String>> {
    let mut ids: Vec<String> = users::table
        .filter(users::active.eq(1))
        .filter(users::role.eq_any(["officer", "head"]))
        .filter(users::department.eq_any(departments))
        .select(users::id)
        .load(conn)?;
    if let Some(t) = township {
        ids.extend(
            users::table
                .filter(users::active.eq(1))
                .filter(users::role.eq("township"))
                .filter(users::township.eq(t))
                .select(users::id)
                .load::<String>(conn)?,
        );
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
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
        let staff: Vec<(String, Option<String>)> = users::table
            .filter(users::active.eq(1))
            .filter(users::role.eq_any(["officer", "head"]))
            .select((users::id, users::department))
            .load(conn)?;
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
            let rows: Vec<(String, Option<String>)> = users::table
                .filter(users::active.eq(1))
                .filter(users::role.eq("enterprise"))
                .filter(users::mine_id.eq_any(chunk))
                .select((users::id, users::mine_id))
                .load(conn)?;
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
