//! The deadline checker: a missed lead deadline marks the lead overdue and is escalated to
//! the head of the primary department, the coordination office and the raising township;
//! shortly before a deadline the primary department is reminded. Each happens once per
//! deadline: the claim is a guarded update of the deadline row (`escalated_at IS NULL`),
//! so a restart repeats nothing and, of several instances, exactly one acts.

use actix_web::web;
use chrono::{Duration, NaiveDateTime};

use crate::leads::rules::{Stage, Urgency};
use crate::leads::store::leads as rows;
use crate::notify::Notice;
use crate::platform::audit::{self, Actor, Change};
use crate::platform::clock::local_time;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::duration::parse_duration;
use crate::web::{blocking, AppState};

/// What one check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub escalated: usize,
    pub reminded: usize,
}

type Due = (String, Stage, NaiveDateTime);

/// Escalates every missed deadline not yet escalated, each in its own transaction.
pub fn escalate(db: &crate::platform::db::Db, now: NaiveDateTime, batch: i64) -> AppResult<usize> {
    let due: Vec<Due> = db.read(|conn| rows::missed(conn, now, batch))?;
    let mut done = 0;
    for (lead_id, stage, due_at) in due {
        if db.transaction(|conn| escalate_one(conn, &lead_id, stage, due_at, now))? {
            done += 1;
        }
    }
    Ok(done)
}

fn escalate_one(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Stage,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if !rows::claim_escalation(conn, lead_id, stage, now)? {
        return Ok(false); // met meanwhile, or another instance escalated it
    }
    rows::mark_overdue(conn, lead_id)?;
    let lead = crate::leads::find(conn, lead_id)?;
    let stage_label = stage.label();
    let dept = crate::reference::unit_name(conn, &lead.primary_department);
    let note = format!(
        "{dept}未在时限（{}）内完成“{stage_label}”，已逾期，提请督办。",
        local_time(due_at)
    );
    crate::leads::system_event(
        conn,
        lead_id,
        now,
        "overdue",
        &note,
        serde_json::json!({"stage": stage.code(), "due_at": due_at}),
    )?;
    audit::record(
        conn,
        &Actor::system("时限督办"),
        now,
        Change {
            entity_type: "lead",
            entity_id: lead_id,
            action: "overdue",
            before: None,
            after: Some(serde_json::json!({"stage": stage.code(), "due_at": due_at})),
        },
    )?;
    let recipients = crate::accounts::recipients::lead_escalation(
        conn,
        &lead.primary_department,
        lead.raised_by.as_deref(),
        lead.township.as_deref(),
    )?;
    crate::notify::send(
        conn,
        now,
        None,
        &recipients,
        &Notice {
            kind: crate::notify::NoticeKind::LeadOverdue,
            title: format!("{} 逾期未{}：{}", lead.number, stage_label, lead.title),
            body: note,
            link: format!("/leads/{lead_id}"),
            entity_type: "lead",
            entity_id: lead_id,
        },
    )?;
    Ok(true)
}

/// Reminds the primary department of deadlines running out within `remind_before` of their
/// lead's urgency, once each.
pub fn remind(
    db: &crate::platform::db::Db,
    now: NaiveDateTime,
    settings: &crate::platform::config::LeadSettings,
    batch: i64,
) -> AppResult<usize> {
    let before = |u: Urgency| {
        let text = match u {
            Urgency::Urgent => &settings.remind_before.urgent,
            Urgency::Normal => &settings.remind_before.normal,
        };
        parse_duration(text)
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .unwrap_or(Duration::zero())
    };
    let horizon = now + before(Urgency::Urgent).max(before(Urgency::Normal));
    let due = db.read(|conn| rows::due_soon(conn, now, horizon, batch))?;
    let mut done = 0;
    for (lead_id, stage, due_at, urgency) in due {
        let window = before(urgency);
        if due_at - window > now {
            continue;
        }
        if db.transaction(|conn| remind_one(conn, &lead_id, stage, due_at, now))? {
            done += 1;
        }
    }
    Ok(done)
}

fn remind_one(
    conn: &mut DbConnection,
    lead_id: &str,
    stage: Stage,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if !rows::claim_reminder(conn, lead_id, stage, now)? {
        return Ok(false);
    }
    let lead = crate::leads::find(conn, lead_id)?;
    let stage_label = stage.label();
    let recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&lead.primary_department),
        None,
    )?;
    crate::notify::send(
        conn,
        now,
        None,
        &recipients,
        &Notice {
            kind: crate::notify::NoticeKind::LeadDueSoon,
            title: format!(
                "{} 请于 {} 前{}：{}",
                lead.number,
                local_time(due_at),
                stage_label,
                lead.title
            ),
            body: format!(
                "线索“{}”的“{stage_label}”时限为 {}，请按时办理，逾期将提请督办。",
                lead.title,
                local_time(due_at)
            ),
            link: format!("/leads/{lead_id}"),
            entity_type: "lead",
            entity_id: lead_id,
        },
    )?;
    Ok(true)
}

/// One check: escalations first, then reminders.
pub async fn run_once(state: &web::Data<AppState>) -> AppResult<Tick> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || {
        let escalated = escalate(&st.db, now, 500)?;
        let reminded = remind(&st.db, now, &st.settings.leads, 500)?;
        Ok(Tick {
            escalated,
            reminded,
        })
    })
    .await
}

/// The checker in the background, every `scheduler.tick`.
pub fn spawn(state: web::Data<AppState>) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let tick = parse_duration(&state.settings.scheduler.tick).map_err(AppError::internal)?;
    Ok(tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(t) if t.escalated + t.reminded > 0 => {
                    tracing::info!(
                        escalated = t.escalated,
                        reminded = t.reminded,
                        "lead deadlines checked"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "lead deadline check failed; will retry"),
            }
            tokio::time::sleep(tick).await;
        }
    }))
}
