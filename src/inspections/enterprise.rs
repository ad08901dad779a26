//! The inspected enterprise (扫码评价): its own record, its rating and its complaints.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::rules::{self, InspectionState};
use super::store::{self, Inspection};
use crate::platform::audit::{self, Change};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

// ---- the enterprise (扫码评价) ----

/// The tasks on the enterprise user's own mine, newest first, with its rating of each.
pub fn of_own_mine(
    conn: &mut DbConnection,
    who: &Principal,
) -> AppResult<Vec<(Inspection, Option<store::Rating>)>> {
    authz::require(who, Action::RateInspections)?;
    let mine = who.mine_id.clone().unwrap_or_default();
    let tasks = store::of_mine(conn, &mine, 100)?;
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let ratings = store::ratings_of(conn, &ids)?;
    Ok(tasks
        .into_iter()
        .map(|t| {
            let r = ratings.iter().find(|r| r.inspection_id == t.id).cloned();
            (t, r)
        })
        .collect())
}

/// A task of the enterprise user's own mine (another mine's is not found).
fn own_task(conn: &mut DbConnection, who: &Principal, id: &str) -> AppResult<Inspection> {
    authz::require(who, Action::RateInspections)?;
    match store::find(conn, id)? {
        Some(t) if Some(&t.mine_id) == who.mine_id.as_ref() => Ok(t),
        _ => Err(AppError::NotFound("没有这个检查任务。".into())),
    }
}

/// Whether the reader, scanning the task's code, may rate it now: its own mine's enterprise
/// user, the visit finished, not rated yet.
pub fn may_rate(conn: &mut DbConnection, who: &Principal, task: &Inspection) -> AppResult<bool> {
    if !authz::allowed(who, Action::RateInspections)
        || who.mine_id.as_ref() != Some(&task.mine_id)
        || !task.state.is_finished()
    {
        return Ok(false);
    }
    Ok(store::ratings_of(conn, std::slice::from_ref(&task.id))?.is_empty())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// satisfied | basically_satisfied | dissatisfied
    pub verdict: String,
    #[serde(default)]
    pub comment: String,
}

/// The enterprise rates a finished visit, once.
pub fn rate(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    input: RatingInput,
) -> AppResult<store::Rating> {
    let task = own_task(conn, who, id)?;
    let verdict = rules::Verdict::parse(input.verdict.trim()).ok_or_else(|| {
        AppError::field("verdict", format!("评价只能是 {}", rules::Verdict::codes()))
    })?;
    let comment = input.comment.trim().to_owned();
    if comment.chars().count() > 1000 {
        return Err(AppError::field("comment", "意见不能超过 1000 字"));
    }
    if !matches!(
        task.state,
        InspectionState::Completed | InspectionState::Archived
    ) {
        return Err(AppError::InvalidTransition("检查完成后才能评价。".into()));
    }
    if !store::ratings_of(conn, std::slice::from_ref(&task.id))?.is_empty() {
        return Err(AppError::Conflict(
            "本次检查已经评价过了，每次检查只能评价一次。".into(),
        ));
    }
    let rating = store::Rating {
        inspection_id: task.id.clone(),
        mine_id: task.mine_id.clone(),
        verdict: verdict.code().to_owned(),
        comment,
        rated_by: Some(who.id.clone()),
        rated_at: now,
    };
    store::insert_rating(conn, &rating)?;
    audit::record(
        conn,
        &who.actor(),
        now,
        Change {
            entity_type: "inspection",
            entity_id: &task.id,
            action: "rate",
            before: None,
            after: Some(serde_json::json!({"verdict": rating.verdict, "comment": rating.comment})),
        },
    )?;
    Ok(rating)
}

/// The enterprise complains about a visit: a lead for the coordination office.
pub fn complain(
    state: &crate::web::AppState,
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    text: &str,
) -> AppResult<crate::leads::Lead> {
    let task = own_task(conn, who, id)?;
    crate::leads::complaint_from_enterprise(
        state,
        conn,
        who,
        &task.mine_id,
        &task.number,
        text,
        now,
    )
}
