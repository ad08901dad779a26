//! The targets' tallies: the only code naming `inspection_tallies`. Each (month of the
//! visit, department) keeps its counts, changed in the transaction of every write that
//! moves them; department "" is the district (each task, rating and hazard once).

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::platform::db::schema::{hazards, inspection_departments, inspection_tallies};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// The district's row.
pub const DISTRICT: &str = "";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    pub tasks: i64,
    pub joint_tasks: i64,
    pub ratings: i64,
    pub satisfied: i64,
    pub hazards: i64,
    pub hazards_closed: i64,
    pub overrides: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inspection_tallies)]
pub struct Tally {
    pub month: String,
    pub department: String,
    pub tasks: i64,
    pub joint_tasks: i64,
    pub ratings: i64,
    pub satisfied: i64,
    pub hazards: i64,
    pub hazards_closed: i64,
    pub overrides: i64,
}

/// "2026-03" of a day.
pub fn month_of(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

const UPSERT: &str = "INSERT INTO inspection_tallies
    (month, department, tasks, joint_tasks, ratings, satisfied, hazards, hazards_closed, overrides)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (month, department) DO UPDATE SET
    tasks = inspection_tallies.tasks + excluded.tasks,
    joint_tasks = inspection_tallies.joint_tasks + excluded.joint_tasks,
    ratings = inspection_tallies.ratings + excluded.ratings,
    satisfied = inspection_tallies.satisfied + excluded.satisfied,
    hazards = inspection_tallies.hazards + excluded.hazards,
    hazards_closed = inspection_tallies.hazards_closed + excluded.hazards_closed,
    overrides = inspection_tallies.overrides + excluded.overrides";

fn placeholders(conn: &DbConnection, text: &str) -> String {
    match conn {
        DbConnection::Pg(_) => text.to_owned(),
        DbConnection::Sqlite(_) => (1..=9)
            .rev()
            .fold(text.to_owned(), |t, n| t.replace(&format!("${n}"), "?")),
    }
}

/// Adds `d` to each of `departments`' rows for the month.
pub fn add(
    conn: &mut DbConnection,
    month: &str,
    departments: &[String],
    d: &Delta,
) -> AppResult<()> {
    use diesel::sql_types::{BigInt, Text};
    let text = placeholders(conn, UPSERT);
    for department in departments {
        diesel::sql_query(&text)
            .bind::<Text, _>(month)
            .bind::<Text, _>(department)
            .bind::<BigInt, _>(d.tasks)
            .bind::<BigInt, _>(d.joint_tasks)
            .bind::<BigInt, _>(d.ratings)
            .bind::<BigInt, _>(d.satisfied)
            .bind::<BigInt, _>(d.hazards)
            .bind::<BigInt, _>(d.hazards_closed)
            .bind::<BigInt, _>(d.overrides)
            .execute(conn)?;
    }
    Ok(())
}

/// The task's departments and the district, and whether the task is joint.
pub fn parties(conn: &mut DbConnection, inspection_id: &str) -> AppResult<(Vec<String>, bool)> {
    let rows: Vec<(String, String)> = inspection_departments::table
        .filter(inspection_departments::inspection_id.eq(inspection_id))
        .select((
            inspection_departments::department,
            inspection_departments::role,
        ))
        .load(conn)?;
    let joint = rows.iter().any(|(_, role)| role == "joint");
    let mut all: Vec<String> = rows.into_iter().map(|(d, _)| d).collect();
    all.push(DISTRICT.to_owned());
    Ok((all, joint))
}

/// The rows of the months from `from` to `to` ("2026-03"), every department and the district.
pub fn between(conn: &mut DbConnection, from: &str, to: &str) -> AppResult<Vec<Tally>> {
    Ok(inspection_tallies::table
        .filter(inspection_tallies::month.ge(from))
        .filter(inspection_tallies::month.le(to))
        .select(Tally::as_select())
        .order((inspection_tallies::month, inspection_tallies::department))
        .load(conn)?)
}

/// Open hazards past their date on `today`, by responsible department and month of the
/// visit, for visits from `from` to `to`.
pub fn overdue(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> AppResult<Vec<(String, String, i64)>> {
    let rows: Vec<(String, NaiveDate)> = hazards::table
        .filter(hazards::visit_on.ge(from))
        .filter(hazards::visit_on.le(to))
        .filter(hazards::state.ne("closed"))
        .filter(hazards::rectify_by.lt(today))
        .select((hazards::responsible_department, hazards::visit_on))
        .load(conn)?;
    let mut out: Vec<(String, String, i64)> = Vec::new();
    for (d, day) in rows {
        let m = month_of(day);
        match out.iter_mut().find(|(od, om, _)| *od == d && *om == m) {
            Some(r) => r.2 += 1,
            None => out.push((d, m, 1)),
        }
    }
    Ok(out)
}

/// Every tally counted again from the records (as the migration first filled them).
const RECOUNT: &str = "INSERT INTO inspection_tallies (month, department, tasks, joint_tasks, ratings, satisfied, hazards, hazards_closed, overrides)
SELECT month, department, SUM(tasks), SUM(joint_tasks), SUM(ratings), SUM(satisfied), SUM(hazards), SUM(hazards_closed), SUM(overrides)
FROM (
    SELECT {month} AS month, u.department AS department, 1 AS tasks,
        CASE WHEN EXISTS (SELECT 1 FROM inspection_departments j WHERE j.inspection_id = i.id AND j.role = 'joint') THEN 1 ELSE 0 END AS joint_tasks,
        0 AS ratings, 0 AS satisfied, 0 AS hazards, 0 AS hazards_closed,
        CASE WHEN i.override_kind IS NOT NULL AND u.department IN (i.lead_department, '') THEN 1 ELSE 0 END AS overrides
    FROM inspections i
    JOIN (SELECT inspection_id, department FROM inspection_departments
          UNION ALL SELECT id, '' FROM inspections) u ON u.inspection_id = i.id
    WHERE i.state <> 'cancelled'
    UNION ALL
    SELECT {month}, u.department, 0, 0, 1,
        CASE WHEN r.verdict IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END, 0, 0, 0
    FROM inspection_ratings r
    JOIN inspections i ON i.id = r.inspection_id
    JOIN (SELECT inspection_id, department FROM inspection_departments
          UNION ALL SELECT id, '' FROM inspections) u ON u.inspection_id = i.id
    UNION ALL
    SELECT {month}, u.department, 0, 0, 0, 0, 1, CASE WHEN h.state = 'closed' THEN 1 ELSE 0 END, 0
    FROM hazards h
    JOIN inspections i ON i.id = h.inspection_id
    JOIN (SELECT id, responsible_department AS department FROM hazards
          UNION ALL SELECT id, '' FROM hazards) u ON u.id = h.id
) t
GROUP BY month, department";

/// Throws the tallies away and counts them again from the tasks, ratings and hazards: for
/// data written around the service (a restore, a bulk load) and to check them.
pub fn recount(conn: &mut DbConnection) -> AppResult<()> {
    let month = match conn {
        DbConnection::Pg(_) => "to_char(i.window_from, 'YYYY-MM')",
        DbConnection::Sqlite(_) => "substr(i.window_from, 1, 7)",
    };
    diesel::delete(inspection_tallies::table).execute(conn)?;
    diesel::sql_query(RECOUNT.replace("{month}", month)).execute(conn)?;
    Ok(())
}
