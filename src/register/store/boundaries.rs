//! Boundaries' and prohibited zones' storage: the only code naming `mine_boundaries` and
//! `prohibited_zones`. Shapes are found near a box through their bounding-box columns;
//! the geometry itself is judged in `register::rules::boundary`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::platform::db::schema::{mine_boundaries, mines, prohibited_zones};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::register::rules::mine::MineStatus;
use crate::register::rules::risk_grade::RiskGrade;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mine_boundaries)]
pub struct MineBoundary {
    pub mine_id: String,
    pub rings_json: String,
    pub source: String,
    pub area_m2: f64,
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub elevation_top_m: Option<f64>,
    pub elevation_bottom_m: Option<f64>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = prohibited_zones)]
pub struct ProhibitedZone {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub rings_json: String,
    pub source: String,
    pub area_m2: f64,
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub active: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, mine_id: &str) -> AppResult<Option<MineBoundary>> {
    Ok(mine_boundaries::table
        .find(mine_id)
        .select(MineBoundary::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &MineBoundary) -> AppResult<()> {
    diesel::insert_into(mine_boundaries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes the shape of the mine's boundary over the one recorded.
pub fn replace(conn: &mut DbConnection, row: &MineBoundary) -> AppResult<()> {
    diesel::update(mine_boundaries::table.find(&row.mine_id))
        .set((
            mine_boundaries::rings_json.eq(&row.rings_json),
            mine_boundaries::source.eq(&row.source),
            mine_boundaries::area_m2.eq(row.area_m2),
            mine_boundaries::min_x.eq(row.min_x),
            mine_boundaries::min_y.eq(row.min_y),
            mine_boundaries::max_x.eq(row.max_x),
            mine_boundaries::max_y.eq(row.max_y),
            mine_boundaries::elevation_top_m.eq(row.elevation_top_m),
            mine_boundaries::elevation_bottom_m.eq(row.elevation_bottom_m),
            mine_boundaries::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A boundary near a box, with its mine.
pub struct Nearby {
    pub boundary: MineBoundary,
    pub mine_id: String,
    pub name: String,
    pub township: String,
}

/// The boundaries whose boxes meet `[min_x, min_y, max_x, max_y]` (the box index), but
/// `except`'s; with `open_only` only of mines not closed; at most `limit`.
pub fn near(
    conn: &mut DbConnection,
    [min_x, min_y, max_x, max_y]: [f64; 4],
    except: Option<&str>,
    open_only: bool,
    limit: Option<i64>,
) -> AppResult<Vec<Nearby>> {
    let mut q = mine_boundaries::table
        .inner_join(mines::table)
        .filter(mine_boundaries::min_x.le(max_x))
        .filter(mine_boundaries::max_x.ge(min_x))
        .filter(mine_boundaries::min_y.le(max_y))
        .filter(mine_boundaries::max_y.ge(min_y))
        .select((
            MineBoundary::as_select(),
            mines::id,
            mines::name,
            mines::township,
        ))
        .into_boxed();
    if let Some(e) = except {
        q = q.filter(mine_boundaries::mine_id.ne(e.to_owned()));
    }
    if open_only {
        q = q.filter(mines::status.ne(MineStatus::Closed.code()));
    }
    if let Some(l) = limit {
        q = q.limit(l);
    }
    let rows: Vec<(MineBoundary, String, String, String)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(boundary, mine_id, name, township)| Nearby {
            boundary,
            mine_id,
            name,
            township,
        })
        .collect())
}

/// The boundaries of closed mines whose boxes meet the box; at most `limit`.
pub fn closed_near(
    conn: &mut DbConnection,
    [min_x, min_y, max_x, max_y]: [f64; 4],
    limit: i64,
) -> AppResult<Vec<Nearby>> {
    let rows: Vec<(MineBoundary, String, String, String)> = mine_boundaries::table
        .inner_join(mines::table)
        .filter(mine_boundaries::closed.eq(1))
        .filter(mine_boundaries::min_x.le(max_x))
        .filter(mine_boundaries::max_x.ge(min_x))
        .filter(mine_boundaries::min_y.le(max_y))
        .filter(mine_boundaries::max_y.ge(min_y))
        .select((
            MineBoundary::as_select(),
            mines::id,
            mines::name,
            mines::township,
        ))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(boundary, mine_id, name, township)| Nearby {
            boundary,
            mine_id,
            name,
            township,
        })
        .collect())
}

/// Marks a mine's boundary as of a closed mine (or not).
pub fn mark_closed(conn: &mut DbConnection, mine_id: &str, closed: bool) -> AppResult<()> {
    diesel::update(mine_boundaries::table.find(mine_id))
        .set(mine_boundaries::closed.eq(i32::from(closed)))
        .execute(conn)?;
    Ok(())
}

/// The active zones whose boxes meet the box; at most `limit`.
pub fn zones_near(
    conn: &mut DbConnection,
    [min_x, min_y, max_x, max_y]: [f64; 4],
    limit: Option<i64>,
) -> AppResult<Vec<ProhibitedZone>> {
    let mut q = prohibited_zones::table
        .filter(prohibited_zones::active.eq(1))
        .filter(prohibited_zones::min_x.le(max_x))
        .filter(prohibited_zones::max_x.ge(min_x))
        .filter(prohibited_zones::min_y.le(max_y))
        .filter(prohibited_zones::max_y.ge(min_y))
        .select(ProhibitedZone::as_select())
        .into_boxed();
    if let Some(l) = limit {
        q = q.limit(l);
    }
    Ok(q.load(conn)?)
}

pub fn insert_zone(conn: &mut DbConnection, row: &ProhibitedZone) -> AppResult<()> {
    diesel::insert_into(prohibited_zones::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_zone(conn: &mut DbConnection, id: &str) -> AppResult<Option<ProhibitedZone>> {
    Ok(prohibited_zones::table
        .find(id)
        .select(ProhibitedZone::as_select())
        .first(conn)
        .optional()?)
}

pub fn rename_zone(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    active: i32,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(prohibited_zones::table.find(id))
        .set((
            prohibited_zones::name.eq(name),
            prohibited_zones::active.eq(active),
            prohibited_zones::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every zone, active ones first, by name.
pub fn zones(conn: &mut DbConnection) -> AppResult<Vec<ProhibitedZone>> {
    Ok(prohibited_zones::table
        .order((
            prohibited_zones::active.desc(),
            prohibited_zones::name.asc(),
        ))
        .select(ProhibitedZone::as_select())
        .load(conn)?)
}

/// A boundary on the district map, with what colours it.
pub struct Mapped {
    pub boundary: MineBoundary,
    pub mine_id: String,
    pub name: String,
    pub status: MineStatus,
    pub risk_grade: Option<RiskGrade>,
}

/// Every recorded boundary (a township's only, when given), by mine name; at most `limit`.
pub fn for_map(
    conn: &mut DbConnection,
    township: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Mapped>> {
    let mut q = mine_boundaries::table
        .inner_join(mines::table)
        .select((
            MineBoundary::as_select(),
            mines::id,
            mines::name,
            mines::status,
            mines::risk_grade,
        ))
        .order(mines::name.asc())
        .limit(limit)
        .into_boxed();
    if let Some(t) = township {
        q = q.filter(mines::township.eq(t.to_owned()));
    }
    let rows: Vec<(MineBoundary, String, String, MineStatus, Option<RiskGrade>)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(boundary, mine_id, name, status, risk_grade)| Mapped {
            boundary,
            mine_id,
            name,
            status,
            risk_grade,
        })
        .collect())
}
