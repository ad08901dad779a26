//! Background jobs of the service. Each loop calls use cases of the capabilities (never an
//! HTTP handler) on the blocking pool, and keeps going after a failure.
//!
//! The outbox worker: a message is claimed with a lease in one transaction, sent with no
//! database connection held, and its outcome recorded in a second transaction. A crash
//! between the send and the record leaves the claim to run out, and the message is sent
//! again: repeated, never lost.

use std::time::SystemTime;

use actix_web::web;
use chrono::{Duration, NaiveDate};
use lettre::AsyncTransport;
use serde::Serialize;

use crate::notify::outbox;
use crate::platform::error::{AppError, AppResult};
use crate::web::{blocking, AppState};

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
}

enum Outcome {
    Sent,
    /// Worth trying again later (connection refused, 4xx, timeout).
    Transient(String),
    /// Will never succeed as it is (bad address, 5xx): dead-lettered at once.
    Permanent(String),
}

/// Claims the due messages for `worker`, sends them (several at a time over the pooled
/// connections) and records each outcome. Does nothing while `smtp.url` is unset.
pub async fn deliver_due(state: &web::Data<AppState>, worker: &str) -> AppResult<DeliveryReport> {
    let Some(transport) = state.mailer.transport() else {
        return Ok(DeliveryReport::default());
    };
    let now = state.clock.now_naive();
    let lease = Duration::from_std(state.durations.outbox_lease).unwrap_or(Duration::minutes(5));
    let batch = state.settings.outbox.batch;
    let st = state.clone();
    let worker_id = worker.to_owned();
    let claimed = blocking(move || {
        st.db
            .transaction(|conn| outbox::claim(conn, &worker_id, now, lease, batch))
    })
    .await?;
    if claimed.is_empty() {
        return Ok(DeliveryReport::default());
    }
    let date: SystemTime = state.clock.now().into();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, m) in claimed.iter().enumerate() {
        let built = state.mailer.build(m, date);
        let transport = transport.clone();
        tasks.spawn(async move {
            let outcome = match built {
                Err(e) => Outcome::Permanent(e),
                Ok(email) => match transport.send(email).await {
                    Ok(_) => Outcome::Sent,
                    Err(e) if e.is_permanent() => {
                        Outcome::Permanent(format!("邮件服务器拒收：{e}"))
                    }
                    Err(e) => Outcome::Transient(format!("发送失败：{e}")),
                },
            };
            (i, outcome)
        });
    }
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(claimed.len());
    while let Some(joined) = tasks.join_next().await {
        outcomes.push(joined.map_err(AppError::internal)?);
    }
    let mut report = DeliveryReport {
        claimed: claimed.len(),
        ..Default::default()
    };
    let mut sent_ids = Vec::new();
    let mut failures = Vec::new();
    for (i, outcome) in outcomes {
        let m = claimed[i].clone();
        match outcome {
            Outcome::Sent => sent_ids.push(m.id),
            Outcome::Transient(e) => failures.push((m, e, false)),
            Outcome::Permanent(e) => failures.push((m, e, true)),
        }
    }
    report.sent = sent_ids.len();
    report.failed = failures.len();
    for (m, e, _) in &failures {
        tracing::warn!(outbox.id = %m.id, recipient = %m.recipient, error = %e, "mail not delivered");
    }
    let max_attempts = state.settings.outbox.max_attempts;
    let done = state.clock.now_naive();
    let st = state.clone();
    blocking(move || {
        st.db.transaction(|conn| {
            outbox::mark_sent(conn, &sent_ids, done)?;
            for (m, e, permanent) in &failures {
                let max = if *permanent {
                    m.attempts + 1
                } else {
                    max_attempts
                };
                outbox::mark_failed(conn, m, e, done, max)?;
            }
            Ok(())
        })
    })
    .await?;
    metrics::counter!("outbox_sent_total").increment(report.sent as u64);
    metrics::counter!("outbox_failed_total").increment(report.failed as u64);
    Ok(report)
}

/// Sends today's permit expiry reminders that have not been sent (see `reminders`).
pub async fn remind(state: &web::Data<AppState>) -> AppResult<usize> {
    let today = state.today();
    let now = state.clock.now_naive();
    let days = state.settings.outbox.permit_reminder_days.clone();
    let st = state.clone();
    blocking(move || {
        st.db
            .transaction(|conn| crate::register::reminders::permit_expiry(conn, now, today, &days))
    })
    .await
}

/// A name for this instance in the claims it makes.
pub fn worker_name() -> String {
    let host = hostname_or_local();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

fn hostname_or_local() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "minecoord".into())
}

/// The background worker: every `outbox.poll_interval` it sends the day's reminders (once
/// a day) and delivers what is due, draining a full batch at once.
pub fn spawn_worker(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    let name = worker_name();
    tracing::info!(worker = %name, smtp = state.mailer.configured(), "outbox worker started");
    tokio::spawn(async move {
        let mut reminded_on: Option<NaiveDate> = None;
        loop {
            let today = state.today();
            if reminded_on != Some(today) {
                match remind(&state).await {
                    Ok(n) => {
                        reminded_on = Some(today);
                        if n > 0 {
                            tracing::info!(reminders = n, "permit expiry reminders sent");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "permit reminders failed; will retry"),
                }
            }
            match deliver_due(&state, &name).await {
                Ok(r) if r.claimed as i64 >= state.settings.outbox.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox delivery failed; will retry"),
            }
            tokio::time::sleep(state.durations.outbox_poll).await;
        }
    })
}

/// One round of sealing: up to `audit.seal_batch` waiting audit entries join the chain.
pub async fn seal_audit(state: &web::Data<AppState>) -> AppResult<crate::platform::audit::Sealed> {
    let st = state.clone();
    let batch = state.settings.audit.seal_batch.max(1);
    blocking(move || {
        st.db
            .transaction(|conn| crate::platform::audit::seal(conn, batch))
    })
    .await
}

/// Seals waiting audit entries every `audit.seal_interval` (PostgreSQL; on SQLite each is
/// sealed as it is written). Runs in every instance: the one holding the chain's head seals,
/// the others skip the round; a full batch is followed by the next at once.
pub fn spawn_sealer(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    use crate::platform::audit::Sealed;
    tokio::spawn(async move {
        loop {
            match seal_audit(&state).await {
                Ok(Sealed::Entries(n)) if n as i64 >= state.settings.audit.seal_batch => continue,
                Ok(Sealed::Entries(n)) if n > 0 => {
                    metrics::counter!("audit_sealed_total").increment(n as u64);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit entries not sealed; will retry"),
            }
            tokio::time::sleep(state.durations.audit_seal).await;
        }
    })
}

/// Changed leads whose parts one round of the statistics rollup keeps at most.
pub const ROLLUP_LEADS: i64 = 2_000;
/// Deadline days counted again in one round of the statistics rollup at most.
pub const ROLLUP_DAYS: i64 = 31;

/// One round of the lead statistics rollup; `None` when another instance holds it.
pub async fn roll_up_stats(
    state: &web::Data<AppState>,
) -> AppResult<Option<crate::leads::stats::Rolled>> {
    let st = state.clone();
    let now = state.clock.now_naive();
    blocking(move || {
        st.db.transaction_alone(|conn| {
            crate::leads::stats::rollup(conn, now, ROLLUP_LEADS, ROLLUP_DAYS)
        })
    })
    .await
}

/// Keeps the parts of the leads changed since in the statistics every `scheduler.stats_rollup`,
/// round after round while there is a backlog.
pub fn spawn_stats_rollup(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match roll_up_stats(&state).await {
                // A backlog (a bulk load, a restart): the next round at once.
                Ok(Some(r))
                    if r.leads as i64 >= ROLLUP_LEADS || r.due_days as i64 >= ROLLUP_DAYS =>
                {
                    continue
                }
                Ok(Some(r)) if r.leads > 0 => {
                    tracing::debug!(leads = r.leads, "lead statistics rolled up")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "lead statistics not rolled up; will retry"),
            }
            tokio::time::sleep(state.durations.stats_rollup).await;
        }
    })
}

/// SQLite: checkpoints the write-ahead log every second, off the writer's turn.
pub fn spawn_wal_checkpointer(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let st = state.clone();
            if let Err(e) = blocking(move || st.db.checkpoint_wal()).await {
                tracing::warn!(error = %e, "SQLite log not checkpointed; will retry");
            }
        }
    })
}

/// Appends a signed checkpoint of the audit chain to `file` unless the last one there
/// already names the chain's head. Returns the checkpoint written, if one was.
pub async fn checkpoint_audit(
    state: &web::Data<AppState>,
    file: std::path::PathBuf,
) -> AppResult<Option<crate::platform::audit::Checkpoint>> {
    use crate::platform::audit::{self, Checkpoint};
    let key = state
        .service_key
        .derive(crate::platform::keys::Purpose::AuditCheckpoint);
    let at = crate::platform::clock::rfc3339(state.clock.now_naive());
    let st = state.clone();
    blocking(move || {
        let (seq, hash) = st.db.read(audit::head)?;
        if audit::last_checkpoint(&file).is_some_and(|c| c.seq == seq && c.hash == hash) {
            return Ok(None);
        }
        let c = Checkpoint::sign(&key, seq, &hash, &at);
        audit::append_checkpoint(&file, &c).map_err(AppError::Internal)?;
        Ok(Some(c))
    })
    .await
}

/// Writes an audit checkpoint every `audit.checkpoint_interval` while the chain grows.
pub fn spawn_checkpointer(
    state: web::Data<AppState>,
    file: std::path::PathBuf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(state.durations.audit_checkpoint);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match checkpoint_audit(&state, file.clone()).await {
                Ok(Some(c)) => {
                    tracing::info!(audit.seq = c.seq, file = %file.display(), "audit checkpoint written")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "audit checkpoint not written; will retry"),
            }
        }
    })
}
