//! Expiry reminders' storage: the only code naming `permit_reminders`, and the one query
//! that joins permits to their mines for the reminders.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::platform::db::schema::{mines, permit_reminders, permits};
use crate::platform::db::{per_backend, DbConnection};
use crate::platform::error::AppResult;
use crate::register::rules::mine::MineStatus;

/// A permit without a decision expiring soon, of an open mine.
#[derive(Debug, Clone, Queryable)]
pub struct Expiring {
    pub permit_id: String,
    pub mine_id: String,
    pub issuing_department: String,
    pub number: String,
    pub expires_on: NaiveDate,
    pub permit_type: String,
    pub mine_name: String,
    pub supervisor: Option<String>,
}

/// The permits expiring from `from` to `until`, soonest first (an index range on
/// `expires_on`).
pub fn expiring(
    conn: &mut DbConnection,
    from: NaiveDate,
    until: NaiveDate,
) -> AppResult<Vec<Expiring>> {
    Ok(permits::table
        .inner_join(mines::table)
        .filter(permits::status_override.is_null())
        .filter(permits::expires_on.ge(from))
        .filter(permits::expires_on.le(until))
        .filter(mines::status.ne(MineStatus::Closed.code()))
        .select((
            permits::id,
            permits::mine_id,
            permits::issuing_department,
            permits::number,
            permits::expires_on.assume_not_null(),
            permits::permit_type,
            mines::name,
            mines::supervisor_department,
        ))
        .order(permits::expires_on.asc())
        .load(conn)?)
}

/// `(permit, expiry date, lead days)` of the reminders sent for these permits.
pub fn sent(
    conn: &mut DbConnection,
    permit_ids: &[&str],
) -> AppResult<Vec<(String, NaiveDate, i32)>> {
    Ok(permit_reminders::table
        .filter(permit_reminders::permit_id.eq_any(permit_ids))
        .select((
            permit_reminders::permit_id,
            permit_reminders::expires_on,
            permit_reminders::lead_days,
        ))
        .load(conn)?)
}

/// Records reminders sent `now`, in one statement. Per-backend branch: MultiConnection
/// has no batch insert, each backend's connection does.
pub fn record_sent(
    conn: &mut DbConnection,
    rows: &[(String, NaiveDate, i32)],
    now: NaiveDateTime,
) -> AppResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|(id, on, lead)| {
            (
                permit_reminders::permit_id.eq(id),
                permit_reminders::expires_on.eq(*on),
                permit_reminders::lead_days.eq(*lead),
                permit_reminders::sent_at.eq(now),
            )
        })
        .collect();
    per_backend!(conn, c => diesel::insert_into(permit_reminders::table).values(values).execute(c)?);
    Ok(())
}
