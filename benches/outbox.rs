//! Outbox throughput: messages per second from the outbox to a local SMTP sink, with one
//! delivery worker and with several, on SQLite or PostgreSQL (BENCH_DB=postgres).
//!
//!     cargo bench --bench outbox
//!     BENCH_DB=postgres BENCH_MESSAGES=5000 cargo bench --bench outbox

mod common;
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;

use std::sync::Arc;
use std::time::{Duration, Instant};

use minecoord::app::startup::Application;
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::config::Settings;

use common::{env_usize, rss_kib};
use smtp_sink::SmtpSink;

const PASSWORD: &str = "Bench-Fasong-2026";
const RECIPIENTS: usize = 100;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let messages = env_usize("BENCH_MESSAGES", 5_000);
    let url = db.url.clone();
    let sink = SmtpSink::start().await;
    let mut settings = Settings::load(None).unwrap();
    settings.auth.key_file = db.key_file();
    settings.database.url = url;
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.workers = 1;
    settings.bootstrap.admin_password = Some(PASSWORD.into());
    settings.auth.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0".into());
    settings.log.level = "warn".into();
    settings.smtp.url = Some(sink.url());
    settings.outbox.worker = false;
    minecoord::platform::telemetry::init(&settings.log);
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("build");
    let state = app.state.clone();
    let serving = common::Serving::app(app);

    // Recipients with addresses.
    let db = state.db.clone();
    let recipients: Vec<String> = tokio::task::spawn_blocking(move || {
        db.transaction(|conn| {
            (0..RECIPIENTS)
                .map(|i| {
                    common::insert_user(
                        conn,
                        &format!("bench.{i}"),
                        &format!("bench.{i}@example.gov.cn"),
                        "officer",
                        (Some("EE"), None),
                    )
                })
                .collect()
        })
    })
    .await
    .unwrap()
    .unwrap();

    println!(
        "outbox throughput on {backend}: {messages} messages per round to a local SMTP sink, batch {}, {} SMTP connections",
        state.settings.outbox.batch, state.settings.smtp.pool_size
    );
    let mut delivered = 0;
    for workers in [1usize, 4] {
        // Queue the round's messages: notices to all recipients, as a change would.
        let (db, ids) = (state.db.clone(), recipients.clone());
        let queued = Instant::now();
        tokio::task::spawn_blocking(move || {
            let now = SystemClock.now_naive();
            db.transaction(|conn| {
                for n in 0..messages.div_ceil(RECIPIENTS) {
                    minecoord::notify::outbox::enqueue(
                        conn,
                        now,
                        &ids,
                        minecoord::notify::NoticeKind::PermitRecorded,
                        &format!("区应急局登记了安全生产许可证：压测矿{n}"),
                        "张三（区应急局）登记了“压测矿”的安全生产许可证，证号 AQ-0001，有效期至 2029-01-04。",
                        "/permits/0190",
                    )?;
                }
                Ok(())
            })
        })
        .await
        .unwrap()
        .unwrap();
        let queue_time = queued.elapsed();
        let per_round = messages.div_ceil(RECIPIENTS) * RECIPIENTS;

        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..workers {
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("bench-worker-{w}");
                let mut sent = 0;
                loop {
                    let r = minecoord::app::jobs::deliver_due(&state, &name)
                        .await
                        .expect("delivery");
                    if r.claimed == 0 {
                        return sent;
                    }
                    assert_eq!(r.failed, 0, "the sink accepts everything");
                    sent += r.sent;
                }
            }));
        }
        let mut sent = 0;
        for t in tasks {
            sent += t.await.unwrap();
        }
        let elapsed = started.elapsed();
        delivered += per_round;
        let arrived = sink
            .wait_for(delivered, Duration::from_secs(30))
            .await
            .len();
        assert_eq!(sent, per_round);
        assert_eq!(arrived, delivered, "every message arrived once");
        let (rss, peak) = rss_kib();
        println!(
            "  {workers} worker(s): {per_round} messages in {:.2} s = {:.0} messages/s (queued in {:.2} s); RSS {} MiB, peak {} MiB",
            elapsed.as_secs_f64(),
            per_round as f64 / elapsed.as_secs_f64(),
            queue_time.as_secs_f64(),
            rss / 1024,
            peak / 1024
        );
    }

    serving.stop().await;
    drop(state);
}
