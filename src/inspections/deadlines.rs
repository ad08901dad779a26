//! 隐患逾期督办: a hazard not re-inspected (closed) by its rectification date is escalated
//! exactly once — to the head of the responsible department and the coordination office,
//! in the inbox and by email — as missed lead deadlines are. Several instances may check
//! at once: the claim is one conditional update, so only one of them tells anyone.

use actix_web::web;
use chrono::NaiveDateTime;

use crate::inspections::store;
use crate::platform::error::{AppError, AppResult};
use crate::web::{blocking, AppState};

/// Escalates every overdue open hazard not yet escalated (at most `batch`), each in its own
/// transaction; answers how many were escalated now.
pub fn escalate(db: &crate::platform::db::Db, now: NaiveDateTime, batch: i64) -> AppResult<usize> {
    let today = crate::platform::clock::shanghai_date(now);
    let due = db.read(|conn| store::overdue_unescalated(conn, today, batch))?;
    let mut done = 0;
    for id in due {
        if db.transaction(|conn| escalate_one(conn, &id, today, now))? {
            done += 1;
        }
    }
    Ok(done)
}

fn escalate_one(
    conn: &mut crate::platform::db::DbConnection,
    id: &str,
    today: chrono::NaiveDate,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if !store::claim_escalation(conn, id, today, now)? {
        return Ok(false);
    }
    let h =
        store::find_hazard(conn, id)?.ok_or_else(|| AppError::NotFound("没有这个隐患。".into()))?;
    let mine = crate::register::mines::find(conn, &h.mine_id)?;
    let department = crate::reference::unit_name(conn, &h.responsible_department);
    let recipients =
        crate::accounts::recipients::lead_escalation(conn, &h.responsible_department, None, None)?;
    crate::platform::audit::record(
        conn,
        &crate::platform::audit::Actor::system("隐患逾期督办"),
        now,
        crate::platform::audit::Change {
            entity_type: "hazard",
            entity_id: &h.id,
            action: "overdue",
            before: None,
            after: Some(serde_json::json!({"rectify_by": h.rectify_by, "escalated_at": now})),
        },
    )?;
    crate::notify::send(
        conn,
        now,
        None,
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Hazard,
            title: format!("{} 逾期未复查：{}", h.number, mine.name),
            body: format!(
                "“{}”的{}（{}）整改期限为 {}，至今未复查销号。请{}督促整改并及时复查。",
                mine.name,
                h.grade.label(),
                h.description,
                h.rectify_by,
                department
            ),
            link: format!("/inspections/{}", h.inspection_id),
            entity_type: "hazard",
            entity_id: &h.id,
        },
    )?;
    Ok(true)
}

/// The checker in the background, every `scheduler.tick` (beside the leads' one).
pub fn spawn(state: web::Data<AppState>) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let tick = crate::platform::rules::duration::parse_duration(&state.settings.scheduler.tick)
        .map_err(AppError::internal)?;
    Ok(tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(n) if n > 0 => tracing::info!(escalated = n, "hazard deadlines checked"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "hazard deadline check failed; will retry"),
            }
            tokio::time::sleep(tick).await;
        }
    }))
}

/// One check now (the scheduler's tick; tests call it with their clock).
pub async fn run_once(state: &web::Data<AppState>) -> AppResult<usize> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || escalate(&st.db, now, 500)).await
}
