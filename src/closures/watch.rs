//! The watch on closed mines (防止非法复产): every mine closed by an accepted case, with
//! its last check (a township's patrol or an inspection), those not checked within
//! `closures.check_months` listed as due; a patrol records what was found, and a suspected
//! restart raises a lead at once (which the leads flag to NR and the office).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::rules::{self, PatrolOutcome};
use super::store::{self, Watched};
use super::tasks::Place;
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::{self, Upload};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchedMine {
    pub mine_id: String,
    pub mine_name: String,
    pub township: String,
    pub case_id: String,
    pub closed_on: NaiveDate,
    pub last_patrol_on: Option<NaiveDate>,
    /// nothing_found | suspected_restart
    pub last_patrol_outcome: Option<String>,
    pub last_inspected_on: Option<NaiveDate>,
    /// The later of the last patrol and the last inspection.
    pub last_checked_on: Option<NaiveDate>,
    /// Not checked within the period.
    pub due: bool,
}

/// The watch list's query.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// `true`: only mines due a check.
    pub due: Option<bool>,
    pub limit: Option<i64>,
    /// The last row's `closed_on,mine_id`.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatchPage {
    pub items: Vec<WatchedMine>,
    pub next_cursor: Option<String>,
    /// Every mine under watch.
    pub total: i64,
    /// The period of a check, in months.
    pub check_months: u32,
}

fn cursor_of(c: &str) -> AppResult<(NaiveDate, String)> {
    c.split_once(',')
        .and_then(|(d, id)| Some((d.parse().ok()?, id.to_owned())))
        .filter(|(_, id)| id.len() <= 64)
        .ok_or_else(|| AppError::field("cursor", "翻页位置无效，请从第一页重新查看"))
}

/// A page of the watch list, the latest closed first. With `due` only mines not checked
/// within the period: candidates not patrolled since then are read in the order of the
/// index and those inspected since are passed over, until the page is full.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    q: &WatchQuery,
    check_months: u32,
) -> AppResult<WatchPage> {
    authz::require(who, Action::ViewClosures)?;
    let limit = crate::platform::pagination::limit(q.limit)?;
    let today = shanghai_date(now);
    let cutoff = today
        .checked_sub_months(chrono::Months::new(check_months))
        .unwrap_or(NaiveDate::MIN);
    let mut after = q.cursor.as_deref().map(cursor_of).transpose()?;
    let only_due = q.due.unwrap_or(false);
    let mut items: Vec<WatchedMine> = Vec::new();
    let mut next = None;
    let mut more = true;
    // At most a few rounds: each reads `limit + 1` candidates.
    for _ in 0..20 {
        let rows = store::watch_list(conn, only_due.then_some(cutoff), after.clone(), limit + 1)?;
        more = rows.len() as i64 > limit;
        let shown = described(conn, &rows, today, check_months)?;
        for (w, row) in shown.into_iter().zip(&rows) {
            after = Some((row.closed_on, row.mine_id.clone()));
            if only_due && !w.due {
                continue;
            }
            if items.len() as i64 == limit {
                next = items
                    .last()
                    .map(|l: &WatchedMine| format!("{},{}", l.closed_on, l.mine_id));
                break;
            }
            items.push(w);
        }
        if next.is_some() || !more {
            break;
        }
    }
    // Still candidates after the last round: the next page goes on from the last one read.
    if next.is_none() && more {
        next = after.map(|(on, id)| format!("{on},{id}"));
    }
    Ok(WatchPage {
        items,
        next_cursor: next,
        total: store::watch_count(conn)?,
        check_months,
    })
}

fn described(
    conn: &mut DbConnection,
    rows: &[Watched],
    today: NaiveDate,
    check_months: u32,
) -> AppResult<Vec<WatchedMine>> {
    let ids: Vec<String> = rows.iter().map(|w| w.mine_id.clone()).collect();
    let mines = crate::register::mines::by_ids(conn, &ids)?;
    Ok(rows
        .iter()
        .map(|w| {
            let mine = mines.iter().find(|m| m.id == w.mine_id);
            let inspected = mine.and_then(|m| m.last_inspected_on);
            let last = w.last_patrol_on.max(inspected);
            WatchedMine {
                mine_id: w.mine_id.clone(),
                mine_name: mine.map(|m| m.name.clone()).unwrap_or_default(),
                township: mine.map(|m| m.township.clone()).unwrap_or_default(),
                case_id: w.case_id.clone(),
                closed_on: w.closed_on,
                last_patrol_on: w.last_patrol_on,
                last_patrol_outcome: w.last_patrol_outcome.clone(),
                last_inspected_on: inspected,
                last_checked_on: last,
                due: rules::check_due(last, today, check_months),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatrolInput {
    /// nothing_found | suspected_restart
    pub outcome: String,
    pub note: String,
    /// Where the patrol stood (longitude, latitude), when the phone gave it.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatrolView {
    pub id: String,
    pub mine_id: String,
    pub outcome: PatrolOutcome,
    pub outcome_label: &'static str,
    pub note: String,
    pub patrolled_on: NaiveDate,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub has_photo: bool,
    /// The lead a suspected restart raised.
    pub lead_id: Option<String>,
    pub patrolled_by: String,
}

/// A patrol of a closed mine, with a photo if any; a suspected restart raises a lead
/// (无证采矿, naming the mine) which is flagged to NR and the office.
#[allow(clippy::too_many_arguments)] // the patrol, its photo and the service's settings
pub fn patrol(
    state: &crate::web::AppState,
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    mine_id: &str,
    input: PatrolInput,
    photo: Option<Upload>,
) -> AppResult<PatrolView> {
    authz::require(who, Action::PatrolClosedMines)?;
    let mine = crate::register::mines::find(conn, mine_id)?;
    let Some(_) = store::watched(conn, &mine.id)? else {
        return Err(AppError::InvalidTransition(format!(
            "“{}”不在已关闭矿山监管名单中（{}），不需要复产巡查。",
            mine.name,
            mine.status().label()
        )));
    };
    let mut errors = Vec::new();
    let outcome = PatrolOutcome::parse(input.outcome.trim());
    if outcome.is_none() {
        errors.push(FieldError::new(
            "outcome",
            format!("巡查结果只能是 {}", PatrolOutcome::codes()),
        ));
    }
    let note = input.note.trim().to_owned();
    if note.chars().count() > 1000 {
        errors.push(FieldError::new("note", "巡查情况不能超过 1000 个字符"));
    }
    if outcome == Some(PatrolOutcome::SuspectedRestart) && note.is_empty() {
        errors.push(FieldError::new(
            "note",
            "疑似复产请写明看到的情况（如机械作业、车辆运输、新的采挖痕迹）",
        ));
    }
    let place = match Place::parse(
        input.lon.map(|v| v.to_string()).as_deref(),
        input.lat.map(|v| v.to_string()).as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            Place::default()
        }
    };
    let max = state.settings.http.max_upload_bytes;
    if let Some(p) = &photo {
        if let Err(e) = upload::check(std::slice::from_ref(p), max, "photo") {
            errors.extend(e);
        } else if !upload::kind_of(p).is_some_and(|k| k.starts_with("image/")) {
            errors.push(FieldError::new(
                "photo",
                "巡查照片应为图片（JPG、PNG、WebP、HEIC）",
            ));
        }
    }
    let (Some(outcome), true) = (outcome, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let today = shanghai_date(now);
    let lead_id = if outcome == PatrolOutcome::SuspectedRestart {
        let lead = crate::leads::raise_for(
            state,
            conn,
            who,
            crate::leads::NewLead {
                title: Some(format!("已关闭矿山疑似复产：{}", mine.name)),
                description: Some(format!("{today} 巡查发现：{note}")),
                category: Some("unlicensed_mining".into()),
                urgency: Some("urgent".into()),
                mine_id: Some(mine.id.clone()),
                location: place
                    .lon
                    .zip(place.lat)
                    .map(|(lon, lat)| crate::leads::Location { lon, lat }),
                township: Some(mine.township.clone()),
            },
            crate::leads::rules::source_of(who.role),
            now,
        )?;
        Some(lead.lead.id)
    } else {
        None
    };
    let id = uuid::Uuid::now_v7().to_string();
    let (photo_name, photo_type, photo_bytes) = match photo {
        Some(p) => (
            Some(upload::clean_name(&p.file_name)),
            upload::kind_of(&p).map(str::to_owned),
            Some(p.bytes),
        ),
        None => (None, None, None),
    };
    let has_photo = photo_bytes.is_some();
    store::insert_patrol(
        conn,
        store::NewPatrol {
            id: id.clone(),
            mine_id: mine.id.clone(),
            outcome: outcome.code().to_owned(),
            note: note.clone(),
            patrolled_on: today,
            lon: place.lon,
            lat: place.lat,
            photo_name,
            photo_type,
            photo: photo_bytes,
            lead_id: lead_id.clone(),
            patrolled_by: Some(who.id.clone()),
            created_at: now,
        },
    )?;
    crate::platform::audit::record(
        conn,
        &who.actor(),
        now,
        crate::platform::audit::Change {
            entity_type: "mine",
            entity_id: &mine.id,
            action: "patrol",
            before: None,
            after: Some(serde_json::json!({"patrol": id, "outcome": outcome.code(),
                "note": note, "lead_id": lead_id, "lon": place.lon, "lat": place.lat})),
        },
    )?;
    Ok(PatrolView {
        id,
        mine_id: mine.id,
        outcome,
        outcome_label: outcome.label(),
        note,
        patrolled_on: today,
        lon: place.lon,
        lat: place.lat,
        has_photo,
        lead_id,
        patrolled_by: who.display_name.clone(),
    })
}

/// A closed mine's patrols, the latest first (its watch page).
pub fn patrols(
    conn: &mut DbConnection,
    who: &Principal,
    mine_id: &str,
) -> AppResult<Vec<PatrolView>> {
    authz::require(who, Action::PatrolClosedMines)
        .or_else(|_| authz::require(who, Action::ViewClosures))?;
    let rows = store::patrols_of(conn, mine_id, 50)?;
    let people: Vec<String> = rows.iter().filter_map(|p| p.patrolled_by.clone()).collect();
    let names = crate::accounts::names(conn, &people)?;
    Ok(rows
        .into_iter()
        .map(|p| PatrolView {
            outcome_label: p.outcome.label(),
            patrolled_by: p
                .patrolled_by
                .as_ref()
                .and_then(|i| names.get(i).cloned())
                .unwrap_or_default(),
            has_photo: p.photo_name.is_some(),
            id: p.id,
            mine_id: p.mine_id,
            outcome: p.outcome,
            note: p.note,
            patrolled_on: p.patrolled_on,
            lon: p.lon,
            lat: p.lat,
            lead_id: p.lead_id,
        })
        .collect())
}

/// A patrol's photo.
pub fn photo(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
) -> AppResult<(String, String, Vec<u8>)> {
    authz::require(who, Action::PatrolClosedMines)
        .or_else(|_| authz::require(who, Action::ViewClosures))?;
    store::patrol_photo(conn, id)?.ok_or_else(|| AppError::NotFound("没有这张照片。".into()))
}

/// Whether the mine is under watch (its page offers the patrol).
pub fn is_watched(conn: &mut DbConnection, mine_id: &str) -> AppResult<bool> {
    Ok(store::watched(conn, mine_id)?.is_some())
}
