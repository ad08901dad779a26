//! The ledger's clock on the scheduler's tick: decisions past their deadline are escalated
//! once (to the responsible unit's head and the coordination office). Several instances
//! may check at once: each escalation is claimed by one conditional update. The monthly
//! reports' reminders run on the same tick, each claimed once per unit, month and day.

use actix_web::web;

use crate::platform::error::{AppError, AppResult};
use crate::web::{blocking, AppState};

/// The checker in the background, every `scheduler.tick` (beside the leads' one).
pub fn spawn(state: web::Data<AppState>) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let tick = crate::platform::rules::duration::parse_duration(&state.settings.scheduler.tick)
        .map_err(AppError::internal)?;
    Ok(tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(n) if n > 0 => tracing::info!(escalated = n, "decision deadlines checked"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "decision deadline check failed; will retry"),
            }
            match remind_reports(&state).await {
                Ok(n) if n > 0 => tracing::info!(reminded = n, "monthly reports reminded"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "monthly report reminders failed; will retry"),
            }
            tokio::time::sleep(tick).await;
        }
    }))
}

/// One check now (the scheduler's tick; tests call it with their clock): how many
/// decisions were escalated.
pub async fn run_once(state: &web::Data<AppState>) -> AppResult<usize> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || super::ledger::escalate(&st.db, now, 500)).await
}

/// The monthly reports' reminders now (3rd and 5th; the office on the 7th): how many
/// notices went out.
pub async fn remind_reports(state: &web::Data<AppState>) -> AppResult<usize> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || super::reports::remind(&st.db, now, &st.settings.reports)).await
}
