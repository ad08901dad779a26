//! Foundation benchmark: accounts and audit trail at province scale, through the real
//! service over HTTP. Not a test: it prints figures for BENCHMARKS.md.
//!
//!   cargo bench --bench foundation                       # SQLite
//!   BENCH_DB=postgres cargo bench --bench foundation     # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! BENCH_USERS (default 20000) accounts are created through the users use case, each with
//! its audit entry; then each endpoint is called BENCH_REQUESTS times by 8 concurrent clients.

use std::sync::Arc;
use std::time::Instant;

use minecoord::accounts::{self, NewUser};
use minecoord::app::startup::Application;
use minecoord::platform::audit::{Actor, Verdict};
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::config::Settings;

const PASSWORD: &str = "Bench-pass-2026";

mod common;
use common::{env_usize, load, row, rss_kib, CONCURRENCY};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let n_users = env_usize("BENCH_USERS", 20_000);
    let requests = env_usize("BENCH_REQUESTS", 4_000);
    let url = db.url.clone();

    let mut settings = Settings::load(None).unwrap();
    settings.auth.key_file = db.key_file();
    settings.database.url = url;
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.workers = 2;
    settings.bootstrap.admin_password = Some(PASSWORD.into());
    settings.auth.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0".into());
    settings.log.level = "warn".into();
    // The 64 logins below come at once from one address: the per-address limit counts the
    // attempts in flight (20 by default), which would refuse most of them.
    settings.auth.source_max_failures = 1_000;
    minecoord::platform::telemetry::init(&settings.log);

    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("build");
    let port = app.port();
    let state = app.state.clone();
    let serving = common::Serving::app(app);

    // Seed accounts through the use case (each with its audit entry), 1000 per transaction.
    let seed_started = Instant::now();
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || {
        let hash = minecoord::platform::auth::hash_password(PASSWORD).unwrap();
        let actor = Actor::system("bench");
        let deps = ["NR", "DRC", "GDS", "MIIT", "EE", "AGRI", "EM"];
        for batch in 0..n_users.div_ceil(1000) {
            db.transaction(|conn| {
                for i in batch * 1000..((batch + 1) * 1000).min(n_users) {
                    let (role, department, township) = match i % 10 {
                        0 => (
                            "township",
                            None,
                            Some(if i % 20 == 0 { "BEHT" } else { "KBJD" }),
                        ),
                        1 => ("head", Some(deps[i % 7]), None),
                        _ => ("officer", Some(deps[i % 7]), None),
                    };
                    let input = NewUser {
                        username: format!("user{i:06}"),
                        password: String::new(),
                        display_name: format!("干部{i}"),
                        email: Some(format!("user{i}@example.gov.cn")),
                        role: role.into(),
                        department: department.map(Into::into),
                        township: township.map(Into::into),
                        mine_id: None,
                        must_change_password: Some(false),
                        certificate_number: None,
                    };
                    accounts::create(conn, &actor, SystemClock.now_naive(), input, hash.clone())?;
                }
                Ok(())
            })
            .unwrap();
        }
    })
    .await
    .unwrap();
    let seed_time = seed_started.elapsed();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();

    // A cursor deep in the list, to show keyset pages cost the same anywhere.
    let deep_cursor = format!("user{:06}", n_users * 9 / 10);
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "GET /api/v1/users?limit=50 (first page)",
            vec![format!("{base}/api/v1/users?limit=50")],
        ),
        (
            "GET /api/v1/users?limit=50&cursor=… (page at 90 %)",
            vec![format!("{base}/api/v1/users?limit=50&cursor={deep_cursor}")],
        ),
        (
            "GET /api/v1/users?department=EE&role=head&limit=50",
            vec![format!(
                "{base}/api/v1/users?department=EE&role=head&limit=50"
            )],
        ),
        (
            "GET /api/v1/users?q=干部1234 (text search)",
            vec![format!(
                "{base}/api/v1/users?q=%E5%B9%B2%E9%83%A81234&limit=50"
            )],
        ),
        (
            "GET /api/v1/audit?limit=50",
            vec![format!("{base}/api/v1/audit?limit=50")],
        ),
        (
            "GET /api/v1/audit?entity=user&entity_id=… (one record's history)",
            (0..50)
                .map(|i| format!("{base}/api/v1/audit?entity=user&entity_id=x{i}"))
                .collect(),
        ),
        (
            "GET /api/v1/departments",
            vec![format!("{base}/api/v1/departments")],
        ),
        (
            "GET /api/v1/calendar/working-days",
            vec![format!(
                "{base}/api/v1/calendar/working-days?from=2026-09-30&days=20"
            )],
        ),
    ];
    println!("\nminecoord foundation benchmark — backend {backend}, {n_users} accounts, {requests} requests per row, {CONCURRENCY} concurrent clients");
    println!(
        "seeding {n_users} accounts with audit entries: {:.1} s ({:.0} accounts/s)\n",
        seed_time.as_secs_f64(),
        n_users as f64 / seed_time.as_secs_f64()
    );
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (name, urls) in cases {
        let f = load(&client, Arc::new(urls), &token, requests).await;
        row(name, &f);
    }

    let (rss_reads, hwm_reads) = rss_kib();
    // Logins are deliberately slow (argon2id); measure them apart.
    let started = Instant::now();
    let logins = 64;
    let mut tasks = Vec::new();
    for i in 0..logins {
        let client = client.clone();
        let url = format!("{base}/api/v1/auth/login");
        tasks.push(tokio::spawn(async move {
            let r = client.post(url).json(&serde_json::json!({"username": format!("user{:06}", i * 7), "password": PASSWORD})).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "| POST /api/v1/auth/login (argon2id, 64 logins) | {:.1} | – | – |",
        logins as f64 / started.elapsed().as_secs_f64()
    );

    let db = state.db.clone();
    let started = Instant::now();
    let verdict = tokio::task::spawn_blocking(move || db.read(minecoord::platform::audit::verify))
        .await
        .unwrap()
        .unwrap();
    let entries = match verdict {
        Verdict::Intact { entries } => entries,
        other => panic!("{other:?}"),
    };
    println!(
        "\naudit verify: {entries} entries in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let (rss, hwm) = rss_kib();
    println!(
        "process memory (service + load generator): RSS after the read rows {} MiB (peak so far {} MiB), after the logins {} MiB, peak {} MiB",
        rss_reads / 1024,
        hwm_reads / 1024,
        rss / 1024,
        hwm / 1024
    );

    serving.stop().await;
    drop(state);
}
