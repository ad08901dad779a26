//! The mine register's storage: the only code naming `mines` and `mine_changes`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::Serialize;

use crate::platform::audit::Actor;
use crate::platform::db::schema::{mine_changes, mines};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::platform::rules::search;
use crate::register::rules::mine::{MineStatus, MineType, MiningMethod, TailingsSafety};
use crate::register::rules::risk_grade::RiskGrade;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = mines)]
pub struct Mine {
    pub id: String,
    pub name: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub township: String,
    #[diesel(serialize_as = String)]
    pub mine_type: MineType,
    pub mineral: String,
    #[diesel(serialize_as = String)]
    pub mining_method: MiningMethod,
    #[diesel(serialize_as = String)]
    pub status: MineStatus,
    pub supervisor_department: Option<String>,
    pub risk_grade: Option<RiskGrade>,
    pub last_inspected_on: Option<NaiveDate>,
    pub address: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub licence_number: String,
    pub tailings_capacity_10k_m3: Option<f64>,
    pub tailings_dam_height_m: Option<f64>,
    pub tailings_grade: Option<i32>,
    pub tailings_safety: Option<TailingsSafety>,
    pub tailings_evaluated_on: Option<NaiveDate>,
    pub tailings_overhead: i32,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = mine_changes)]
pub struct MineChange {
    pub id: String,
    pub mine_id: String,
    /// create | edit | status | risk_grade | supervisor
    pub kind: String,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub reason: String,
    pub assessment: String,
    #[schema(value_type = Option<String>)]
    pub assessed_on: Option<NaiveDate>,
    pub actor_id: Option<String>,
    pub actor_name: String,
    #[schema(value_type = String)]
    pub occurred_at: NaiveDateTime,
}

/// One line of a mine's history.
pub struct Recorded<'a> {
    pub kind: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: &'a str,
    pub assessment: &'a str,
    pub assessed_on: Option<NaiveDate>,
}

impl<'a> Recorded<'a> {
    pub fn new(kind: &'a str, from: Option<String>, to: Option<String>, reason: &'a str) -> Self {
        Self {
            kind,
            from,
            to,
            reason,
            assessment: "",
            assessed_on: None,
        }
    }
}

pub fn insert(conn: &mut DbConnection, mine: Mine) -> AppResult<()> {
    diesel::insert_into(mines::table)
        .values(mine)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> AppResult<Option<Mine>> {
    Ok(mines::table
        .find(id)
        .select(Mine::as_select())
        .first(conn)
        .optional()?)
}

/// Writes `after` over the row if it is still at `before.version`; false if it was not.
pub fn save_versioned(
    conn: &mut DbConnection,
    before: &Mine,
    after: &Mine,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        mines::table
            .find(&before.id)
            .filter(mines::version.eq(before.version)),
    )
    .set((
        mines::name.eq(&after.name),
        mines::enterprise_name.eq(&after.enterprise_name),
        mines::credit_code.eq(&after.credit_code),
        mines::township.eq(&after.township),
        mines::mine_type.eq(after.mine_type.code()),
        mines::mineral.eq(&after.mineral),
        mines::mining_method.eq(after.mining_method.code()),
        mines::status.eq(after.status.code()),
        mines::supervisor_department.eq(&after.supervisor_department),
        mines::risk_grade.eq(&after.risk_grade),
        mines::last_inspected_on.eq(after.last_inspected_on),
        mines::address.eq(&after.address),
        mines::contact_name.eq(&after.contact_name),
        mines::contact_phone.eq(&after.contact_phone),
        mines::licence_number.eq(&after.licence_number),
        mines::tailings_capacity_10k_m3.eq(after.tailings_capacity_10k_m3),
        mines::tailings_dam_height_m.eq(after.tailings_dam_height_m),
        mines::tailings_grade.eq(after.tailings_grade),
        mines::tailings_safety.eq(&after.tailings_safety),
        mines::tailings_evaluated_on.eq(after.tailings_evaluated_on),
        mines::tailings_overhead.eq(after.tailings_overhead),
        mines::search_text.eq(&after.search_text),
        mines::updated_at.eq(now),
        mines::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn insert_change(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    mine_id: &str,
    r: Recorded<'_>,
) -> AppResult<()> {
    diesel::insert_into(mine_changes::table)
        .values((
            mine_changes::id.eq(uuid::Uuid::now_v7().to_string()),
            mine_changes::mine_id.eq(mine_id),
            mine_changes::kind.eq(r.kind),
            mine_changes::from_value.eq(r.from),
            mine_changes::to_value.eq(r.to),
            mine_changes::reason.eq(r.reason),
            mine_changes::assessment.eq(r.assessment),
            mine_changes::assessed_on.eq(r.assessed_on),
            mine_changes::actor_id.eq(&actor.id),
            mine_changes::actor_name.eq(&actor.name),
            mine_changes::occurred_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// `(mine id, when)` each of these mines was last made closed.
pub fn closed_at(
    conn: &mut DbConnection,
    ids: &[String],
) -> AppResult<Vec<(String, NaiveDateTime)>> {
    use diesel::dsl::max;
    let rows: Vec<(String, Option<NaiveDateTime>)> = mine_changes::table
        .filter(mine_changes::mine_id.eq_any(ids))
        .filter(mine_changes::kind.eq("status"))
        .filter(mine_changes::to_value.eq(MineStatus::Closed.code()))
        .group_by(mine_changes::mine_id)
        .select((mine_changes::mine_id, max(mine_changes::occurred_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect())
}

/// A mine's history, newest first.
pub fn changes(conn: &mut DbConnection, mine_id: &str) -> AppResult<Vec<MineChange>> {
    Ok(mine_changes::table
        .filter(mine_changes::mine_id.eq(mine_id))
        .order((mine_changes::occurred_at.desc(), mine_changes::id.desc()))
        .select(MineChange::as_select())
        .load(conn)?)
}

/// `(id, name)` of a township's mines.
pub fn names_in_township(
    conn: &mut DbConnection,
    township: &str,
) -> AppResult<Vec<(String, String)>> {
    Ok(mines::table
        .filter(mines::township.eq(township))
        .select((mines::id, mines::name))
        .load(conn)?)
}

/// `(id, name)` of at most `limit` mines named exactly one of `names`.
pub fn named(
    conn: &mut DbConnection,
    names: &[String],
    limit: i64,
) -> AppResult<Vec<(String, String)>> {
    Ok(mines::table
        .filter(mines::name.eq_any(names))
        .select((mines::id, mines::name))
        .limit(limit)
        .load(conn)?)
}

/// `(id, name)` of the mines among `ids` (a few hundred at a time).
pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Mine>> {
    Ok(mines::table
        .filter(mines::id.eq_any(ids))
        .select(Mine::as_select())
        .load(conn)?)
}

pub fn names_of(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<(String, String)>> {
    Ok(mines::table
        .filter(mines::id.eq_any(ids))
        .select((mines::id, mines::name))
        .load(conn)?)
}

/// `(id, name)` of open mines (not closed) by name: a township's own, or all.
pub fn open_choices(
    conn: &mut DbConnection,
    township: Option<&str>,
    limit: i64,
) -> AppResult<Vec<(String, String)>> {
    let mut q = mines::table
        .filter(mines::status.ne(MineStatus::Closed.code()))
        .select((mines::id, mines::name))
        .order(mines::name)
        .limit(limit)
        .into_boxed();
    if let Some(t) = township {
        q = q.filter(mines::township.eq(t.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// What a list of mines is narrowed by; every field checked by the caller. `Some(None)`
/// asks for mines without a value.
#[derive(Debug, Clone, Default)]
pub struct MineFilter {
    pub township: Option<String>,
    pub mine_type: Option<MineType>,
    pub status: Option<MineStatus>,
    pub risk_grade: Option<Option<RiskGrade>>,
    pub supervisor: Option<Option<String>>,
    pub tailings_safety: Option<TailingsSafety>,
    pub tailings_grade: Option<i32>,
    pub overhead: Option<bool>,
    /// Part of the search text, lower case.
    pub text: Option<String>,
}

pub enum Order {
    /// By name, then id.
    Name,
    /// Recently changed first, then id.
    RecentlyUpdated,
}

/// Where the previous page ended, in the page's order.
pub enum After {
    Name(String, String),
    Updated(NaiveDateTime, String),
}

/// 漏管: the cut-off dates of a mine not under watch — inspected before its grade's date,
/// or a tailings pond evaluated before the other.
pub struct Unwatched {
    pub inspected_before: [(RiskGrade, NaiveDate); 4],
    pub evaluated_before: NaiveDate,
}

/// Mines whose search text (name, enterprise, licence, credit code; lower case) holds
/// `text` (lower case): read from the trigram index (`mines_search_trgm_idx` on PostgreSQL,
/// `mines_fts` on SQLite) when `text` has three characters or more, else a scan kept away
/// from the index, which cannot answer it.
/// On SQLite a phrase in more than [`crate::platform::db::FTS_MOST`] rows is matched along
/// the list's order instead (PostgreSQL's planner makes that choice itself).
fn text_matches(
    conn: &mut DbConnection,
    text: &str,
) -> AppResult<
    Box<dyn BoxableExpression<mines::table, crate::platform::db::MultiBackend, SqlType = Bool>>,
> {
    use crate::platform::db::TextPath;
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    Ok(
        match crate::platform::db::text_path(conn, "mines_fts", text)? {
            TextPath::PgTrigram => Box::new(
                mines::search_text
                    .like(search::like_pattern(text))
                    .escape('\\'),
            ),
            TextPath::PgScan => Box::new(
                sql::<Bool>("strpos(mines.search_text, ")
                    .bind::<Text, _>(text.to_owned())
                    .sql(") > 0"),
            ),
            TextPath::SqliteFts => Box::new(
                sql::<Bool>("mines.rowid IN (SELECT rowid FROM mines_fts WHERE mines_fts MATCH ")
                    .bind::<Text, _>(search::fts_phrase(text))
                    .sql(")"),
            ),
            TextPath::SqliteScan => Box::new(
                mines::search_text
                    .like(search::like_pattern(text))
                    .escape('\\'),
            ),
        },
    )
}

/// One page of mines (one row more than `limit` if there is more): those matching the
/// filter and, with `unwatched`, only the open mines not under watch.
pub fn page(
    conn: &mut DbConnection,
    f: &MineFilter,
    order: Order,
    after: Option<After>,
    unwatched: Option<&Unwatched>,
    limit: i64,
) -> AppResult<Vec<Mine>> {
    let mut query = mines::table.select(Mine::as_select()).into_boxed();
    if let Some(t) = &f.township {
        query = query.filter(mines::township.eq(t.clone()));
    }
    if let Some(t) = f.mine_type {
        query = query.filter(mines::mine_type.eq(t.code()));
    }
    if let Some(s) = f.status {
        query = query.filter(mines::status.eq(s.code()));
    }
    match f.risk_grade {
        None => {}
        Some(None) => query = query.filter(mines::risk_grade.is_null()),
        Some(Some(g)) => query = query.filter(mines::risk_grade.eq(g.code())),
    }
    match &f.supervisor {
        None => {}
        Some(None) => query = query.filter(mines::supervisor_department.is_null()),
        Some(Some(d)) => query = query.filter(mines::supervisor_department.eq(d.clone())),
    }
    if let Some(s) = f.tailings_safety {
        query = query.filter(mines::tailings_safety.eq(s.code()));
    }
    if let Some(g) = f.tailings_grade {
        query = query.filter(mines::tailings_grade.eq(g));
    }
    if let Some(o) = f.overhead {
        query = query.filter(mines::tailings_overhead.eq(i32::from(o)));
    }
    if let Some(text) = &f.text {
        query = query.filter(text_matches(conn, text)?);
    }
    if let Some(u) = unwatched {
        let [a, b, c, d] = u.inspected_before.map(|(g, cutoff)| {
            mines::risk_grade
                .eq(g.code())
                .and(mines::last_inspected_on.lt(cutoff))
        });
        query = query
            .filter(mines::status.ne(MineStatus::Closed.code()))
            .filter(
                mines::supervisor_department
                    .is_null()
                    .or(mines::risk_grade.is_null())
                    .or(mines::last_inspected_on.is_null())
                    .or(a)
                    .or(b)
                    .or(c)
                    .or(d)
                    .or(mines::mine_type.eq(MineType::TailingsPond.code()).and(
                        mines::tailings_evaluated_on
                            .is_null()
                            .or(mines::tailings_evaluated_on.lt(u.evaluated_before)),
                    )),
            );
    }
    match after {
        None => {}
        // The first condition alone is an index range; the second settles ties.
        Some(After::Updated(t, id)) => {
            query = query
                .filter(mines::updated_at.le(t))
                .filter(mines::updated_at.lt(t).or(mines::id.lt(id)));
        }
        Some(After::Name(key, id)) => {
            query = query
                .filter(mines::name.ge(key.clone()))
                .filter(mines::name.gt(key).or(mines::id.gt(id)));
        }
    }
    query = match order {
        Order::RecentlyUpdated => query.order((mines::updated_at.desc(), mines::id.desc())),
        Order::Name => query.order((mines::name.asc(), mines::id.asc())),
    };
    let query = query.limit(limit);
    if f.text.is_some() {
        return crate::platform::db::with_custom_plans(conn, |c| Ok(query.load(c)?));
    }
    Ok(query.load(conn)?)
}
