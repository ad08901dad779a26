//! Transfers' and evaluations' storage: the only code naming `lead_transfers` and
//! `lead_evaluations`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::platform::db::schema::{lead_evaluations, lead_transfers};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_transfers)]
pub struct Transfer {
    pub id: String,
    pub lead_id: String,
    pub from_department: String,
    pub to_department: String,
    pub reason: String,
    /// pending | accepted | disputed | upheld | overruled | reassigned
    pub status: String,
    pub requested_by: Option<String>,
    #[schema(value_type = String)]
    pub requested_at: NaiveDateTime,
    pub answer_note: String,
    pub answered_by: Option<String>,
    #[schema(value_type = Option<String>)]
    pub answered_at: Option<NaiveDateTime>,
    pub decided_department: Option<String>,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_evaluations)]
pub struct Evaluation {
    #[serde(skip)]
    pub lead_id: String,
    pub department: String,
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: String,
    pub comment: String,
    pub evaluated_by: Option<String>,
    #[schema(value_type = String)]
    pub evaluated_at: NaiveDateTime,
}

/// The transfer of the lead still waiting for an answer or a decision, if any.
pub fn open_transfer(conn: &mut DbConnection, lead_id: &str) -> AppResult<Option<Transfer>> {
    Ok(lead_transfers::table
        .filter(lead_transfers::lead_id.eq(lead_id))
        .filter(lead_transfers::status.eq_any(["pending", "disputed"]))
        .select(Transfer::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Transfer> {
    Ok(lead_transfers::table
        .find(id)
        .select(Transfer::as_select())
        .first(conn)?)
}

/// The lead's transfers, oldest first.
pub fn transfers(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Transfer>> {
    Ok(lead_transfers::table
        .filter(lead_transfers::lead_id.eq(lead_id))
        .order(lead_transfers::requested_at.asc())
        .select(Transfer::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, t: &Transfer) -> AppResult<()> {
    diesel::insert_into(lead_transfers::table)
        .values(t)
        .execute(conn)?;
    Ok(())
}

/// The receiving department's answer.
pub fn answer(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    note: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(lead_transfers::table.find(id))
        .set((
            lead_transfers::status.eq(status),
            lead_transfers::answer_note.eq(note),
            lead_transfers::answered_by.eq(by),
            lead_transfers::answered_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The coordination office's decision.
pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    department: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(lead_transfers::table.find(id))
        .set((
            lead_transfers::status.eq(status),
            lead_transfers::decided_department.eq(department),
            lead_transfers::decided_by.eq(by),
            lead_transfers::decided_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Withdraws the lead's open transfers (the lead was merged away).
pub fn withdraw_open(conn: &mut DbConnection, lead_id: &str) -> AppResult<()> {
    diesel::update(
        lead_transfers::table
            .filter(lead_transfers::lead_id.eq(lead_id))
            .filter(lead_transfers::status.eq_any(["pending", "disputed"])),
    )
    .set(lead_transfers::status.eq("withdrawn"))
    .execute(conn)?;
    Ok(())
}

pub fn evaluations(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Evaluation>> {
    Ok(lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq(lead_id))
        .select(Evaluation::as_select())
        .load(conn)?)
}

pub fn evaluated(conn: &mut DbConnection, lead_id: &str, department: &str) -> AppResult<bool> {
    let n: i64 = lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq(lead_id))
        .filter(lead_evaluations::department.eq(department))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert_evaluation(conn: &mut DbConnection, e: &Evaluation) -> AppResult<()> {
    diesel::insert_into(lead_evaluations::table)
        .values(e)
        .execute(conn)?;
    Ok(())
}

/// `(lead, department)` of the evaluations given on these leads.
pub fn evaluated_on(
    conn: &mut DbConnection,
    lead_ids: &[String],
) -> AppResult<Vec<(String, String)>> {
    Ok(lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq_any(lead_ids))
        .select((lead_evaluations::lead_id, lead_evaluations::department))
        .load(conn)?)
}
