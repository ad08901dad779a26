//! The closures' clock on the scheduler's tick: each open task and each case not yet
//! accepted is reminded `closures.remind_days` before its deadline and escalated the day
//! after it, once each (claimed by one conditional update, so several instances may check
//! at once). A tailings pond's milestones are its tasks' and its case's deadlines, so its
//! design and its closure are reminded and escalated the same way, again after the one
//! extension.

use actix_web::web;
use chrono::{Duration, NaiveDateTime};

use super::store::{self, Case, Task};
use crate::platform::audit::{self, Actor, Change};
use crate::platform::clock::shanghai_date;
use crate::platform::db::{Db, DbConnection};
use crate::platform::error::{AppError, AppResult};
use crate::web::{blocking, AppState};

/// The checker in the background, every `scheduler.tick`.
pub fn spawn(state: web::Data<AppState>) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let tick = crate::platform::rules::duration::parse_duration(&state.settings.scheduler.tick)
        .map_err(AppError::internal)?;
    Ok(tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(n) if n > 0 => tracing::info!(notices = n, "closure deadlines checked"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "closure deadline check failed; will retry"),
            }
            tokio::time::sleep(tick).await;
        }
    }))
}

/// One check now (tests call it with their clock): how many reminders and escalations.
pub async fn run_once(state: &web::Data<AppState>) -> AppResult<usize> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || check(&st.db, now, st.settings.closures.remind_days, 500)).await
}

fn check(db: &Db, now: NaiveDateTime, remind_days: i64, batch: i64) -> AppResult<usize> {
    let today = shanghai_date(now);
    let mut done = 0;
    for escalation in [false, true] {
        let before = if escalation {
            today
        } else {
            today + Duration::days(remind_days + 1)
        };
        let tasks = db.read(|c| store::tasks_due(c, before, escalation, batch))?;
        for t in tasks {
            if db.transaction(|c| task_one(c, &t, escalation, now))? {
                done += 1;
            }
        }
        let cases = db.read(|c| store::cases_due(c, before, escalation, batch))?;
        for k in cases {
            if db.transaction(|c| case_one(c, &k, escalation, now))? {
                done += 1;
            }
        }
    }
    Ok(done)
}

fn task_one(
    conn: &mut DbConnection,
    t: &Task,
    escalation: bool,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if !store::claim_task(conn, &t.id, escalation, now)? {
        return Ok(false);
    }
    let Some(case) = store::find(conn, &t.case_id)? else {
        return Ok(false);
    };
    let mine = crate::register::mines::find(conn, &case.mine_id)?;
    let recipients = if escalation {
        let mut r = crate::accounts::recipients::heads_of(conn, &t.department)?;
        r.extend(crate::accounts::recipients::coordinators(conn)?);
        r
    } else {
        crate::accounts::recipients::departments_and_township(
            conn,
            std::slice::from_ref(&t.department),
            None,
        )?
    };
    let (action, title, body) = if escalation {
        (
            "task_overdue",
            format!("任务逾期督办：{}", t.name),
            format!(
                "“{}”关闭退出任务“{}”已超过完成期限（{}），请{}抓紧办理。",
                mine.name,
                t.name,
                t.due_on,
                crate::reference::unit_name(conn, &t.department)
            ),
        )
    } else {
        (
            "task_due_soon",
            format!("任务即将到期：{}", t.name),
            format!(
                "“{}”关闭退出任务“{}”应于 {} 前完成。",
                mine.name, t.name, t.due_on
            ),
        )
    };
    record(
        conn,
        &case,
        action,
        now,
        serde_json::json!({"task_id": t.id, "due_on": t.due_on}),
    )?;
    notify(conn, &case, &recipients, now, title, body)?;
    Ok(true)
}

fn case_one(
    conn: &mut DbConnection,
    k: &Case,
    escalation: bool,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if !store::claim_case(conn, &k.id, escalation, now)? {
        return Ok(false);
    }
    let mine = crate::register::mines::find(conn, &k.mine_id)?;
    let mut recipients = crate::accounts::recipients::coordinators(conn)?;
    if escalation {
        recipients.extend(crate::accounts::recipients::heads_of(
            conn,
            &k.owner_department,
        )?);
    } else {
        recipients.extend(crate::accounts::recipients::departments_and_township(
            conn,
            std::slice::from_ref(&k.owner_department),
            None,
        )?);
    }
    let what = if k.kind.is_tailings() {
        "闭库销号"
    } else {
        "关闭退出验收"
    };
    let (action, title, body) = if escalation {
        (
            "overdue",
            format!("{what}逾期督办：{}", mine.name),
            format!(
                "“{}”应于 {} 前完成{what}，现已逾期，请牵头部门和区协调办督促办理。",
                mine.name, k.target_on
            ),
        )
    } else {
        (
            "due_soon",
            format!("{what}即将到期：{}", mine.name),
            format!("“{}”应于 {} 前完成{what}。", mine.name, k.target_on),
        )
    };
    record(
        conn,
        k,
        action,
        now,
        serde_json::json!({"target_on": k.target_on}),
    )?;
    notify(conn, k, &recipients, now, title, body)?;
    Ok(true)
}

fn record(
    conn: &mut DbConnection,
    case: &Case,
    action: &'static str,
    now: NaiveDateTime,
    after: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        &Actor::system("关闭退出期限"),
        now,
        Change {
            entity_type: "closure",
            entity_id: &case.id,
            action,
            before: None,
            after: Some(after),
        },
    )?;
    Ok(())
}

fn notify(
    conn: &mut DbConnection,
    case: &Case,
    recipients: &[String],
    now: NaiveDateTime,
    title: String,
    body: String,
) -> AppResult<()> {
    crate::notify::send(
        conn,
        now,
        None,
        recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::Closure,
            title: format!("{} {title}", case.number),
            body,
            link: format!("/closures/{}", case.id),
            entity_type: "closure",
            entity_id: &case.id,
        },
    )?;
    Ok(())
}
