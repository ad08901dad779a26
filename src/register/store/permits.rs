//! Permits' storage: the only code naming `permits`.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::platform::db::schema::permits;
use crate::platform::db::{DbConnection, MultiBackend};
use crate::platform::error::AppResult;
use crate::register::permits::PermitStatus;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = permits)]
pub struct Permit {
    pub id: String,
    pub mine_id: String,
    pub permit_type: String,
    pub issuing_department: String,
    pub number: String,
    pub holder: String,
    pub issued_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub mineral: String,
    pub scale_10k_t_per_year: Option<f64>,
    pub area_km2: Option<f64>,
    pub elevation_top_m: Option<f64>,
    pub elevation_bottom_m: Option<f64>,
    pub notes: String,
    pub status_override: Option<PermitStatus>,
    pub override_reason: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

pub fn insert(conn: &mut DbConnection, p: &Permit) -> AppResult<()> {
    diesel::insert_into(permits::table)
        .values(p)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Permit>> {
    Ok(permits::table
        .find(id)
        .select(Permit::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a permit of this type already has this number.
pub fn number_taken(conn: &mut DbConnection, permit_type: &str, number: &str) -> AppResult<bool> {
    let n: i64 = permits::table
        .filter(permits::permit_type.eq(permit_type))
        .filter(permits::number.eq(number))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Writes `after` over the row if it is still at `before.version`; false if it was not.
pub fn save_versioned(
    conn: &mut DbConnection,
    before: &Permit,
    after: &Permit,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        permits::table
            .find(&before.id)
            .filter(permits::version.eq(before.version)),
    )
    .set((
        permits::number.eq(&after.number),
        permits::holder.eq(&after.holder),
        permits::issued_on.eq(after.issued_on),
        permits::expires_on.eq(after.expires_on),
        permits::mineral.eq(&after.mineral),
        permits::scale_10k_t_per_year.eq(after.scale_10k_t_per_year),
        permits::area_km2.eq(after.area_km2),
        permits::elevation_top_m.eq(after.elevation_top_m),
        permits::elevation_bottom_m.eq(after.elevation_bottom_m),
        permits::notes.eq(&after.notes),
        permits::status_override.eq(&after.status_override),
        permits::override_reason.eq(&after.override_reason),
        permits::updated_at.eq(now),
        permits::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn for_mine(conn: &mut DbConnection, mine_id: &str) -> AppResult<Vec<Permit>> {
    Ok(permits::table
        .filter(permits::mine_id.eq(mine_id))
        .order((permits::permit_type.asc(), permits::issued_on.desc()))
        .select(Permit::as_select())
        .load(conn)?)
}

/// What a list of permits is narrowed by, checked by the caller.
pub struct PermitFilter {
    pub today: NaiveDate,
    /// No decision on it, expiring from today until this date.
    pub expiring_until: Option<NaiveDate>,
    pub permit_type: Option<String>,
    pub department: Option<String>,
    pub mine_id: Option<String>,
    /// Part of the number or the holder.
    pub text: Option<String>,
    pub status: Option<PermitStatus>,
    /// Each permit type's warning window in days (for valid and expiring).
    pub warning_days: Vec<(String, i32)>,
}

type Condition =
    Box<dyn BoxableExpression<permits::table, MultiBackend, SqlType = diesel::sql_types::Bool>>;

type Matching<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<permits::table, diesel::dsl::AsSelect<Permit, MultiBackend>>,
    MultiBackend,
>;

/// One page of permits, soonest expiry first and those without one last (one row more
/// than `limit` if there is more), after `(expires_on, id)` of the previous page.
pub fn page(
    conn: &mut DbConnection,
    f: &PermitFilter,
    after: Option<(Option<NaiveDate>, String)>,
    limit: i64,
) -> AppResult<Vec<Permit>> {
    Ok(matching(f, after).limit(limit).load(conn)?)
}

/// The ids of every permit matching the filters, in the list's order: what the ledger
/// walks, reading the permits themselves a chunk at a time ([`by_ids`]).
pub fn matching_ids(conn: &mut DbConnection, f: &PermitFilter) -> AppResult<Vec<String>> {
    Ok(matching(f, None).select(permits::id).load(conn)?)
}

/// The permits with these ids, in no particular order.
pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Permit>> {
    Ok(permits::table
        .filter(permits::id.eq_any(ids))
        .select(Permit::as_select())
        .load(conn)?)
}

/// The permits matching the filters after `after`, in the list's order.
fn matching<'a>(f: &PermitFilter, after: Option<(Option<NaiveDate>, String)>) -> Matching<'a> {
    let today = f.today;
    let mut query = permits::table.select(Permit::as_select()).into_boxed();
    if let Some(until) = f.expiring_until {
        query = query
            .filter(permits::status_override.is_null())
            .filter(permits::expires_on.ge(today))
            .filter(permits::expires_on.le(until));
    }
    if let Some(t) = &f.permit_type {
        query = query.filter(permits::permit_type.eq(t.clone()));
    }
    if let Some(d) = &f.department {
        query = query.filter(permits::issuing_department.eq(d.clone()));
    }
    if let Some(m) = &f.mine_id {
        query = query.filter(permits::mine_id.eq(m.clone()));
    }
    if let Some(text) = &f.text {
        let pattern = crate::platform::rules::search::like_pattern(text);
        query = query.filter(
            permits::number
                .like(pattern.clone())
                .escape('\\')
                .or(permits::holder.like(pattern).escape('\\')),
        );
    }
    if let Some(s) = f.status {
        query = match s {
            s if s.is_decision() => query.filter(permits::status_override.eq(s.code())),
            PermitStatus::Expired => query
                .filter(permits::status_override.is_null())
                .filter(permits::expires_on.lt(today)),
            PermitStatus::Expiring | PermitStatus::Valid => {
                // The warning window differs by permit type: one condition per type.
                let mut by_type: Condition =
                    Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0"));
                for (code, days) in &f.warning_days {
                    let edge = today + Duration::days(i64::from(*days));
                    let cond: Condition = if s == PermitStatus::Expiring {
                        Box::new(
                            permits::permit_type
                                .eq(code.clone())
                                .and(permits::expires_on.ge(today))
                                .and(permits::expires_on.le(edge))
                                .assume_not_null(),
                        )
                    } else {
                        Box::new(
                            permits::permit_type
                                .eq(code.clone())
                                .and(
                                    permits::expires_on
                                        .is_null()
                                        .or(permits::expires_on.gt(edge)),
                                )
                                .assume_not_null(),
                        )
                    };
                    by_type = Box::new(by_type.or(cond));
                }
                let query = query
                    .filter(permits::status_override.is_null())
                    .filter(by_type);
                // The widest window bounds the dates, so the expiry index narrows the scan
                // before the per-type conditions are applied.
                let widest = f.warning_days.iter().map(|(_, d)| *d).max().unwrap_or(0);
                if s == PermitStatus::Expiring {
                    query
                        .filter(permits::expires_on.ge(today))
                        .filter(permits::expires_on.le(today + Duration::days(i64::from(widest))))
                } else {
                    query
                }
            }
            _ => unreachable!("every status handled"),
        };
    }
    match after {
        None => {}
        Some((None, id)) => {
            query = query.filter(permits::expires_on.is_null().and(permits::id.gt(id)));
        }
        Some((Some(d), id)) => {
            query = query.filter(
                permits::expires_on
                    .gt(d)
                    .or(permits::expires_on.is_null())
                    .or(permits::expires_on.eq(d).and(permits::id.gt(id)))
                    .assume_not_null(),
            );
        }
    }
    query.order((
        permits::expires_on.is_null().asc(),
        permits::expires_on.asc(),
        permits::id.asc(),
    ))
}

/// Which of the mines hold a valid mining licence today (one query for all of them).
pub fn with_valid_licence(
    conn: &mut DbConnection,
    mine_ids: &[String],
    today: NaiveDate,
) -> AppResult<Vec<String>> {
    if mine_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(permits::table
        .filter(permits::mine_id.eq_any(mine_ids))
        .filter(permits::permit_type.eq("mining_licence"))
        .filter(permits::status_override.is_null())
        .filter(
            permits::expires_on
                .is_null()
                .or(permits::expires_on.ge(today)),
        )
        .select(permits::mine_id)
        .distinct()
        .load(conn)?)
}
