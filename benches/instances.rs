//! Several instances on one PostgreSQL database: three `minecoord serve` processes with the
//! deadline scheduler, the outbox worker and the audit sealer on in all three, behind a
//! round-robin client raising leads with a 2 s report-in limit for BENCH_SECONDS (default
//! 60) from BENCH_CLIENTS (default 64) clients; halfway through one process is killed with
//! SIGKILL. Afterwards it waits for the work to settle and checks that every lead answered
//! 201 is stored and numbered once, every missed deadline escalated once, every message
//! sent to the SMTP sink, and the audit chain sealed and verifying.
//!
//!     cargo bench --bench instances        # PostgreSQL at MINECOORD_TEST_PG_URL

mod common;
#[path = "../tests/api/serve_process.rs"]
mod serve_process;
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::json;

use common::{env_usize, Figures};
use serve_process::Instance;
use smtp_sink::SmtpSink;

const ADMIN_PASSWORD: &str = "Bench-Duoshili-2026";
const PASSWORD: &str = "Bench-Yonghu-2026x";

/// The audit checkpoint file of this run, beside the key file.
fn checkpoints(db: &common::BenchDb) -> String {
    std::path::Path::new(&db.key_file())
        .with_file_name("audit-checkpoints.jsonl")
        .display()
        .to_string()
}

async fn serve(db: &common::BenchDb, sink: &SmtpSink, log: std::path::PathBuf) -> Instance {
    let settings = [
        ("MINECOORD_HTTP__WORKERS", "2".to_owned()),
        ("MINECOORD_DATABASE__URL", db.url.clone()),
        ("MINECOORD_DATABASE__POOL_SIZE", "16".to_owned()),
        ("MINECOORD_AUTH__KEY_FILE", db.key_file()),
        ("MINECOORD_AUDIT__CHECKPOINT_FILE", checkpoints(db)),
        (
            "MINECOORD_BOOTSTRAP__ADMIN_PASSWORD",
            ADMIN_PASSWORD.to_owned(),
        ),
        ("MINECOORD_SMTP__URL", sink.url()),
        ("MINECOORD_OUTBOX__WORKER", "true".to_owned()),
        ("MINECOORD_OUTBOX__POLL_INTERVAL", "200ms".to_owned()),
        ("MINECOORD_OUTBOX__LEASE", "5s".to_owned()),
        ("MINECOORD_SCHEDULER__ENABLED", "true".to_owned()),
        ("MINECOORD_SCHEDULER__TICK", "500ms".to_owned()),
        (
            "MINECOORD_LEADS__TIME_LIMITS__NORMAL__ACKNOWLEDGE",
            "2s".to_owned(),
        ),
        ("MINECOORD_LEADS__REMIND_BEFORE__NORMAL", "1s".to_owned()),
        ("MINECOORD_AUDIT__SEALER", "true".to_owned()),
    ];
    Instance::serve(&settings, &log).await
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut diesel::PgConnection, sql: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql}"))
        .get_result::<N>(conn)
        .expect("count")
        .n
}

/// Waits until `sql` counts `want`; how long that took.
async fn settle(conn: &mut diesel::PgConnection, sql: &str, want: i64) -> Duration {
    let started = Instant::now();
    while count(conn, sql) != want {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{sql} did not settle"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

#[derive(Default)]
struct Part {
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    refused: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // This benchmark is about PostgreSQL: several processes on one SQLite file share one
    // writer lock and are not a deployment this service supports.
    std::env::set_var("BENCH_DB", "postgres");
    let db = common::BenchDb::from_env();
    let seconds = env_usize("BENCH_SECONDS", 60) as u64;
    let clients = env_usize("BENCH_CLIENTS", 64);
    let sink = SmtpSink::start().await;
    let logs = tempfile::tempdir().unwrap();
    let mut instances = vec![serve(&db, &sink, logs.path().join("0.log")).await];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = instances[0].base.clone();
    let admin = common::login(&client, &base, "admin", ADMIN_PASSWORD).await;
    for (username, role, dept, town, mail) in [
        ("town.a", "township", None, Some("BEHT"), false),
        ("ee.a", "officer", Some("EE"), None, false),
        ("ee.head", "head", Some("EE"), None, true),
        ("coord.a", "coordinator", Some("NR"), None, true),
    ] {
        let mut body = json!({"username": username, "password": PASSWORD, "display_name": username,
            "role": role, "must_change_password": false});
        if let Some(d) = dept {
            body["department"] = json!(d);
        }
        if let Some(t) = town {
            body["township"] = json!(t);
        }
        if mail {
            body["email"] = json!(format!("{username}@example.gov.cn"));
        }
        let r = client
            .post(format!("{base}/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let token = common::login(&client, &base, "town.a", PASSWORD).await;
    for i in 1..3 {
        instances.push(serve(&db, &sink, logs.path().join(format!("{i}.log"))).await);
    }
    let bases: Arc<Vec<String>> = Arc::new(instances.iter().map(|i| i.base.clone()).collect());

    // Load from `clients` clients, round robin; the kill halfway.
    let killed = Arc::new(AtomicBool::new(false));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, bases, token, next, killed) = (
            client.clone(),
            bases.clone(),
            token.clone(),
            next.clone(),
            killed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut parts = [Part::default(), Part::default()];
            while Instant::now() < end {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let part = &mut parts[usize::from(killed.load(Ordering::Relaxed))];
                let t = Instant::now();
                let r = client
                    .post(format!("{}/api/v1/leads", bases[i % bases.len()]))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("压测{i}"), "category": "dust", "description": "道路扬尘。"}))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        *part.statuses.entry(status).or_default() += 1;
                        if status == 201 {
                            part.latencies.push(t.elapsed());
                        }
                    }
                    Err(_) => part.refused += 1,
                }
            }
            parts
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
    let peaks_before: Vec<u64> = instances.iter().map(Instance::peak_mib).collect();
    let half = started.elapsed();
    instances[1].kill();
    killed.store(true, Ordering::Relaxed);
    let mut parts = [Part::default(), Part::default()];
    for t in tasks {
        for (k, p) in t.await.unwrap().into_iter().enumerate() {
            parts[k].latencies.extend(p.latencies);
            for (s, n) in p.statuses {
                *parts[k].statuses.entry(s).or_default() += n;
            }
            parts[k].refused += p.refused;
        }
    }
    let total = started.elapsed();

    println!(
        "minecoord instances benchmark — PostgreSQL, 3 × minecoord serve (scheduler, outbox, sealer on), \
         {clients} clients raising leads for {seconds} s, one instance killed (SIGKILL) at {:.0} s\n",
        half.as_secs_f64()
    );
    println!(
        "| part | leads/s (201) | p50 ms | p99 ms | answers | no answer (the killed instance) |"
    );
    println!("|---|---:|---:|---:|---|---:|");
    for (k, (name, elapsed)) in [
        ("3 instances", half),
        ("2 instances after the kill", total - half),
    ]
    .into_iter()
    .enumerate()
    {
        let p = &parts[k];
        let f = Figures::of(p.latencies.clone(), elapsed);
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:?} | {} |",
            f.rps,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0,
            p.statuses,
            p.refused
        );
    }

    // Settle, then check.
    let mut conn = diesel::PgConnection::establish(&db.url).expect("PostgreSQL");
    let answered: usize = parts
        .iter()
        .map(|p| p.statuses.get(&201).copied().unwrap_or(0))
        .sum();
    let five_xx: usize = parts
        .iter()
        .flat_map(|p| p.statuses.iter())
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    let t_escalated = settle(
        &mut conn,
        "lead_deadlines WHERE stage = 'acknowledge' AND met_at IS NULL AND escalated_at IS NULL",
        0,
    )
    .await;
    let t_sent = settle(&mut conn, "outbox WHERE status <> 'sent'", 0).await;
    let t_sealed = settle(&mut conn, "audit_log WHERE seq IS NULL", 0).await;
    let leads = count(&mut conn, "leads");
    let twice_numbered = count(
        &mut conn,
        "(SELECT number FROM leads GROUP BY number HAVING COUNT(*) > 1) d",
    );
    let escalated = count(&mut conn, "lead_events WHERE kind = 'overdue'");
    let twice_escalated = count(
        &mut conn,
        "(SELECT lead_id FROM lead_events WHERE kind = 'overdue' GROUP BY lead_id HAVING COUNT(*) > 1) d",
    );
    let outbox = count(&mut conn, "outbox") as usize;
    let arrived = sink.wait_for(outbox, Duration::from_secs(60)).await;
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in &arrived {
        *by_id.entry(m.message_id()).or_default() += 1;
    }
    let verify = Command::new(env!("CARGO_BIN_EXE_minecoord"))
        .args(["audit", "verify"])
        .env("MINECOORD_DATABASE__URL", &db.url)
        .env("MINECOORD_AUTH__KEY_FILE", db.key_file())
        .env("MINECOORD_AUDIT__CHECKPOINT_FILE", checkpoints(&db))
        .env("MINECOORD_LOG__LEVEL", "warn")
        .output()
        .expect("minecoord audit verify");
    let peaks_after: Vec<u64> = instances.iter().map(Instance::peak_mib).collect();

    println!();
    println!("| check | value |");
    println!("|---|---|");
    println!("| leads answered 201 / stored | {answered} / {leads} |");
    println!("| 5xx answers | {five_xx} |");
    println!("| lead numbers given twice | {twice_numbered} |");
    println!("| deadlines escalated / leads escalated twice | {escalated} / {twice_escalated} |");
    println!(
        "| messages in the outbox / arrived / distinct Message-IDs arrived | {outbox} / {} / {} |",
        arrived.len(),
        by_id.len()
    );
    println!(
        "| settled after the load: escalations / mail / sealing | {:.1} s / {:.1} s / {:.1} s |",
        t_escalated.as_secs_f64(),
        t_sent.as_secs_f64(),
        t_sealed.as_secs_f64()
    );
    println!(
        "| `minecoord audit verify` | exit {} |",
        verify.status.code().unwrap_or(-1)
    );
    println!("| peak RSS per instance at the kill, MiB | {peaks_before:?} |");
    println!("| peak RSS per instance at the end, MiB (killed: 0) | {peaks_after:?} |");

    assert!(leads as usize >= answered, "a lead answered 201 is missing");
    assert_eq!(five_xx, 0);
    assert_eq!(twice_numbered, 0);
    assert_eq!(twice_escalated, 0);
    assert_eq!(escalated, leads);
    assert_eq!(by_id.len(), outbox, "a message did not arrive");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
