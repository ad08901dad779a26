//! Leads benchmark, through the real service over HTTP.
//!
//!   cargo bench --bench leads                       # SQLite
//!   BENCH_DB=postgres cargo bench --bench leads     # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! `BENCH_KEEP_DB=1` keeps the PostgreSQL database; `BENCH_REUSE_DB=<its name>` runs
//! again on it without seeding (the raises of step 1 are added to it). On SQLite,
//! `BENCH_SQLITE_FILE=<path>` keeps the file and `BENCH_REUSE_DB=1` runs again on it.
//!
//! 1. Lead creation with 64 concurrent clients (BENCH_CREATES, default 3000), beside a bare
//!    actix-web + diesel endpoint in the same process that inserts one row per request
//!    through the same pool: the ratio is the figure.
//! 2. BENCH_LEADS (default 2 000 000) leads written directly in batches (each with its
//!    departments and three deadlines; the triggers note every lead), the
//!    statistics rolled up once, then the queue, the board and the statistics (from the
//!    kept figures, and with three leads changed since), each BENCH_REQUESTS (default 1000)
//!    times by 8 concurrent clients; last, the year's statistics asked once after each of
//!    BENCH_REQUESTS / 2 rollups of one changed lead, by one client.
//!
//! With `BENCH_REPLICA_URL` (a hot standby of MINECOORD_TEST_PG_URL's cluster) the
//! statistics and exports read the standby, as `database.replica_url` sends them; the
//! benchmark waits for the standby to replay the seeding and each change before asking.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::{Duration, NaiveDateTime};
use diesel::{Connection, RunQueryDsl};
use minecoord::app::startup::Application;
use minecoord::leads::rules::{LeadState, Urgency};
use minecoord::leads::{Deadline, Lead};
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::db::schema::{lead_deadlines, lead_departments, leads};
use minecoord::platform::db::{Db, DbConnection};
use serde_json::json;

mod common;
use common::{env_usize, load_requests, row, rss_kib, Figures, CONCURRENCY};

const PASSWORD: &str = "Bench-pass-2026";
const WRITERS: usize = 64;
const CATEGORIES: [(&str, &str); 6] = [
    ("dust", "EE"),
    ("safety_violation", "EM"),
    ("unlicensed_mining", "NR"),
    ("illegal_river_sand", "AGRI"),
    ("industrial_policy", "DRC"),
    ("noise", "EE"),
];

/// The bare endpoint: one row inserted per request, through the same pool and the same
/// blocking-pool hop as the service's handlers.
async fn bare_insert(db: web::Data<Db>) -> HttpResponse {
    let result = web::block(move || {
        db.transaction(|conn| {
            let id = uuid::Uuid::now_v7().to_string();
            let now = SystemClock.now_naive();
            let sql = match conn {
                DbConnection::Pg(_) => {
                    "INSERT INTO bench_bare (id, title, created_at) VALUES ($1, $2, $3)"
                }
                DbConnection::Sqlite(_) => {
                    "INSERT INTO bench_bare (id, title, created_at) VALUES (?, ?, ?)"
                }
            };
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::Text, _>(id)
                .bind::<diesel::sql_types::Text, _>("一行")
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .execute(conn)?;
            Ok(())
        })
    })
    .await;
    match result {
        Ok(Ok(())) => HttpResponse::Created().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

fn insert_batch<T>(
    conn: &mut DbConnection,
    rows: &[T],
    f: impl Fn(&mut DbConnection, &[T]) -> diesel::QueryResult<usize>,
) {
    for chunk in rows.chunks(800) {
        f(conn, chunk).expect("batch insert");
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bench_db = common::BenchDb::from_env();
    let backend = bench_db.backend.clone();
    let n_leads = env_usize("BENCH_LEADS", 2_000_000);
    let creates = env_usize("BENCH_CREATES", 3_000);
    let requests = env_usize("BENCH_REQUESTS", 1_000);
    let settings = common::service_settings(&bench_db, PASSWORD, "warn");
    minecoord::platform::telemetry::init(&settings.log);
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("build");
    let port = app.port();
    let state = app.state.clone();
    let serving = common::Serving::app(app);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();

    // Accounts through the API. The officer and the coordinator have addresses, as in a
    // district, so each raise queues their two emails besides their notices.
    let login =
        |user: &'static str, password: &'static str| common::login(&client, &base, user, password);
    let admin = login("admin", PASSWORD).await;
    for (u, role, dep, town) in [
        ("bench.town", "township", None, Some("BEHT")),
        ("bench.ee", "officer", Some("EE"), None),
        ("bench.coord", "coordinator", Some("NR"), None),
    ] {
        let r = client.post(format!("{base}/api/v1/users")).bearer_auth(&admin)
            .json(&json!({"username": u, "password": PASSWORD, "must_change_password": false, "display_name": u, "email": format!("{u}@bench.example.cn"), "role": role, "department": dep, "township": town}))
            .send().await.unwrap();
        let reused = common::reused().is_some() && r.status() == 422; // the name is taken
        assert!(
            r.status().is_success() || reused,
            "{}",
            r.text().await.unwrap()
        );
    }
    let town = login("bench.town", PASSWORD).await;
    let ee = login("bench.ee", PASSWORD).await;
    let coord = login("bench.coord", PASSWORD).await;

    println!("leads on {backend}: {creates} creations by {WRITERS} clients, then {n_leads} leads, {requests} requests per read row ({CONCURRENCY} clients)");
    println!();
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");

    // 1. The bare endpoint beside lead creation.
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || {
        db.transaction(|conn| {
            diesel::sql_query("CREATE TABLE IF NOT EXISTS bench_bare (id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, created_at TIMESTAMP NOT NULL)").execute(conn)?;
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
    let bare_db = web::Data::new(state.db.clone());
    let bare = HttpServer::new(move || {
        App::new()
            .app_data(bare_db.clone())
            .route("/bare", web::post().to(bare_insert))
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let bare_port = bare.addrs()[0].port();
    let bare_serving = common::Serving::server(bare.run());
    let (c2, bare_url) = (client.clone(), format!("http://127.0.0.1:{bare_port}/bare"));
    let bare_fig = load_requests(creates, WRITERS, Arc::new(move |_| c2.post(&bare_url))).await;
    row(
        "bare actix-web + diesel: insert one row (64 clients)",
        &bare_fig,
    );
    let (c3, leads_url, token) = (client.clone(), format!("{base}/api/v1/leads"), town.clone());
    let create_fig = load_requests(
        creates,
        WRITERS,
        Arc::new(move |i| {
            c3.post(&leads_url).bearer_auth(&token).json(&json!({
                "title": format!("压测线索{i}"), "category": CATEGORIES[i % CATEGORIES.len()].0,
                "urgency": if i % 5 == 0 { "urgent" } else { "normal" }, "description": "压测：道路扬尘。"
            }))
        }),
    )
    .await;
    row("`POST /api/v1/leads` (raise: route, number, deadlines, events, audit, notices; 64 clients)", &create_fig);
    println!();
    println!(
        "lead creation runs at {:.1} % of the bare insert's rate",
        create_fig.rps / bare_fig.rps * 100.0
    );
    // SQLite: how many writes each commit of the one writer carried (`/metrics`).
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let figure = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    if let (Some(writes), Some(commits)) = (
        figure("db_sqlite_writes_total"),
        figure("db_sqlite_commits_total"),
    ) {
        println!(
            "SQLite's writer: {writes} writes in {commits} commits ({:.1} per commit)",
            writes / commits.max(1.0)
        );
    }

    // 2. A province's leads, written directly.
    let seed_started = Instant::now();
    let db = state.db.clone();
    let town_user: String = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            db.read(|conn| {
                use diesel::prelude::*;
                use minecoord::platform::db::schema::users;
                Ok(users::table
                    .filter(users::username.eq("bench.town"))
                    .select(users::id)
                    .first::<String>(conn)?)
            })
        })
        .await
        .unwrap()
        .unwrap()
    };
    let seeding = common::reused().is_none();
    tokio::task::spawn_blocking(move || {
        if !seeding {
            return;
        }
        let now = SystemClock.now_naive();
        let mut conn = db.get().unwrap();
        let batch = 20_000;
        let mut i = 0usize;
        while i < n_leads {
            let end = (i + batch).min(n_leads);
            let mut ls: Vec<Lead> = Vec::with_capacity(end - i);
            let mut ds = Vec::with_capacity(end - i);
            let mut dl: Vec<Deadline> = Vec::with_capacity(3 * (end - i));
            for k in i..end {
                let id = uuid::Uuid::now_v7().to_string();
                let (cat, dept) = CATEGORIES[k % CATEGORIES.len()];
                // Raised over the past year; one in ten still open.
                let raised: NaiveDateTime =
                    now - Duration::minutes((k as i64 * 263) % (365 * 24 * 60));
                let open = k % 10 == 0;
                let ack = raised + Duration::hours(24);
                let verify = raised + Duration::days(7);
                let close = raised + Duration::days(30);
                let state_code = if open {
                    ["routed", "acknowledged", "verifying"][k % 3]
                } else {
                    "closed"
                };
                let next_due = if open {
                    Some(if k % 3 == 0 { ack } else { close })
                } else {
                    None
                };
                ls.push(Lead {
                    id: id.clone(),
                    number: format!(
                        "XS-{}-{:07}",
                        2000 + k / 9_000_000,
                        k % 9_000_000 + 1_000_000
                    ),
                    title: format!("第{k}号线索"),
                    description: "压测数据。".into(),
                    category: cat.into(),
                    urgency: if k % 7 == 0 {
                        Urgency::Urgent
                    } else {
                        Urgency::Normal
                    },
                    source: minecoord::leads::rules::LeadSource::Township,
                    mine_id: None,
                    lon: Some(109.0 + (k % 1000) as f64 * 0.002),
                    lat: Some(40.0 + (k / 1000 % 1000) as f64 * 0.002),
                    township: Some(if k % 40 == 0 { "BEHT" } else { "KBJD" }.into()),
                    state: LeadState::parse(state_code).expect("a lead state"),
                    primary_department: dept.into(),
                    assisting_departments: String::new(),
                    routing_reason: "压测".into(),
                    substantiated: (!open).then_some((k % 2) as i32),
                    raised_by: (k % 40 == 0).then(|| town_user.clone()),
                    raised_by_name: "压测".into(),
                    raised_unit: if k % 40 == 0 { "BEHT" } else { "KBJD" }.into(),
                    raised_at: raised,
                    next_due_at: next_due,
                    overdue: 0,
                    transfer_state: (open && k % 1000 == 0).then(|| "disputed".to_owned()),
                    consultation_requested_at: None,
                    reopened: 0,
                    merged_into: None,
                    closed_at: (!open).then(|| raised + Duration::hours((k % 600) as i64 + 1)),
                    updated_at: now,
                    version: 1,
                    assignee_id: None,
                    assigned_at: None,
                });
                ds.push((
                    lead_departments::lead_id.eq(id.clone()),
                    lead_departments::department.eq(dept),
                    lead_departments::role.eq("primary"),
                    lead_departments::next_due_at.eq(next_due),
                    lead_departments::raised_at.eq(raised),
                ));
                for (stage, due) in [("acknowledge", ack), ("verify", verify), ("close", close)] {
                    let met = (!open || (stage == "acknowledge" && k % 3 != 0))
                        .then(|| due - Duration::hours((k % 30) as i64 - 5));
                    dl.push(Deadline {
                        lead_id: id.clone(),
                        stage: minecoord::leads::rules::Stage::parse(stage).expect("a stage"),
                        due_at: due,
                        met_at: met,
                        escalated_at: None,
                        reminded_at: None,
                    });
                }
            }
            use diesel::ExpressionMethods;
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                insert_batch(c, &ls, |c, rows| match c {
                    // Coded columns are written by value (`serialize_as`).
                    DbConnection::Pg(p) => diesel::insert_into(leads::table)
                        .values(rows.to_vec())
                        .execute(p),
                    DbConnection::Sqlite(s) => diesel::insert_into(leads::table)
                        .values(rows.to_vec())
                        .execute(s),
                });
                insert_batch(c, &ds, |c, rows| match c {
                    DbConnection::Pg(p) => diesel::insert_into(lead_departments::table)
                        .values(rows)
                        .execute(p),
                    DbConnection::Sqlite(s) => diesel::insert_into(lead_departments::table)
                        .values(rows)
                        .execute(s),
                });
                insert_batch(c, &dl, |c, rows| match c {
                    DbConnection::Pg(p) => diesel::insert_into(lead_deadlines::table)
                        .values(rows.to_vec())
                        .execute(p),
                    DbConnection::Sqlite(s) => diesel::insert_into(lead_deadlines::table)
                        .values(rows.to_vec())
                        .execute(s),
                });
                Ok(())
            })
            .unwrap();
            i = end;
        }
        if let DbConnection::Pg(p) = &mut *conn {
            // What autovacuum does after a bulk insert (its insert threshold) within
            // minutes, done here at once: besides the planner's statistics it marks the
            // pages all-visible, so the deadline days' counts read the index alone (a
            // workplace PostgreSQL may run with autovacuum off).
            diesel::sql_query("VACUUM ANALYZE leads, lead_departments, lead_deadlines")
                .execute(p)
                .unwrap();
            diesel::sql_query("ANALYZE").execute(p).unwrap();
        } else if let DbConnection::Sqlite(s) = &mut *conn {
            diesel::sql_query("ANALYZE").execute(s).unwrap();
        }
    })
    .await
    .unwrap();
    let seeded = seed_started.elapsed();
    println!();
    if seeding {
        println!(
            "seeded {n_leads} leads (with departments and deadlines) in {:.1} s",
            seeded.as_secs_f64()
        );
    } else {
        println!("ran on the kept database, not seeded again");
    }
    // The seeding noted every lead as changed: the rollup keeps each one's part once, as
    // after a bulk import (or migration 000040).
    let rollup_started = Instant::now();
    let mut rolled_leads = 0;
    loop {
        match minecoord::app::jobs::roll_up_stats(&state)
            .await
            .expect("rollup")
        {
            Some(r) if r.marks == 0 && r.due_days == 0 => break,
            Some(r) => rolled_leads += r.leads,
            None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    println!(
        "kept the statistics parts of {rolled_leads} leads in {:.1} s",
        rollup_started.elapsed().as_secs_f64()
    );
    // The rollup deleted the load's millions of change notes; autovacuum clears them within
    // a minute (migration 000040). Done here at once, so the rows below measure the
    // statistics rather than autovacuum's schedule.
    if let minecoord::platform::db::Backend::Postgres = state.db.backend {
        let db = state.db.clone();
        let started = Instant::now();
        let parts_bytes = tokio::task::spawn_blocking(move || {
            db.read(|c| {
                diesel::sql_query(
                    "VACUUM ANALYZE lead_stat_changes, lead_due_marks, lead_stat_parts",
                )
                .execute(c)?;
                #[derive(diesel::QueryableByName)]
                struct Size {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    bytes: i64,
                }
                Ok(
                    diesel::sql_query("SELECT pg_total_relation_size('lead_stat_parts') AS bytes")
                        .get_result::<Size>(c)?
                        .bytes,
                )
            })
        })
        .await
        .unwrap()
        .unwrap();
        println!(
            "vacuumed the notes the rollup deleted in {:.1} s; lead_stat_parts takes {} MiB ({} bytes a lead)",
            started.elapsed().as_secs_f64(),
            parts_bytes / (1024 * 1024),
            parts_bytes / n_leads.max(1) as i64
        );
    }
    if let Some(waited) = bench_db.await_replica() {
        println!(
            "(the statistics and exports read the standby {}; it caught up {:.1} s after the rollup)",
            bench_db.replica_url().unwrap_or_default(),
            waited.as_secs_f64()
        );
    }
    if let Some((rss, sqlite)) = common::peak_since_last() {
        println!(
            "peak since the raises (the rollup, the vacuum): RSS {rss} MiB, SQLite {sqlite} MiB"
        );
    }
    println!();
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");

    let get = |path: String, token: String| {
        let (c, url) = (client.clone(), format!("{base}{path}"));
        Arc::new(move |_: usize| c.get(&url).bearer_auth(&token))
            as Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>
    };
    let today = chrono::Utc::now().date_naive();
    let month_ago = today - Duration::days(30);
    let year_ago = today - Duration::days(365);
    for (name, path, token) in [
        (
            "EE queue, first page (`GET /api/v1/leads`)",
            "/api/v1/leads".to_owned(),
            ee.clone(),
        ),
        (
            "EE queue, overdue only",
            "/api/v1/leads?overdue=true".to_owned(),
            ee.clone(),
        ),
        (
            "EE closed leads, first page",
            "/api/v1/leads?state=closed".to_owned(),
            ee.clone(),
        ),
        (
            "coordination board: disputed transfers",
            "/api/v1/leads?transfer=disputed".to_owned(),
            coord.clone(),
        ),
        (
            "coordination board: all open, first page",
            "/api/v1/leads".to_owned(),
            coord.clone(),
        ),
        (
            "township: 我吹的哨",
            "/api/v1/leads?raised=mine".to_owned(),
            town.clone(),
        ),
        // The map with leads: every seeded lead has a position, and one in ten is open
        // (200 000 at the default size), so each map below is cut at 3 000 leads; this
        // benchmark has no boundaries (the register benchmark measures those).
        (
            "district map: 3 000 of the open leads (`GET /api/v1/map`, coordinator)",
            "/api/v1/map".to_owned(),
            coord.clone(),
        ),
        (
            "district map, one township's open leads (`?township=BEHT`, coordinator)",
            "/api/v1/map?township=BEHT".to_owned(),
            coord.clone(),
        ),
        (
            "district map, EE's open leads (`GET /api/v1/map`, officer)",
            "/api/v1/map".to_owned(),
            ee.clone(),
        ),
        (
            "district map, the township's own (`GET /api/v1/map`, township)",
            "/api/v1/map".to_owned(),
            town.clone(),
        ),
        (
            "raise form with its area map of 500 open leads (`GET /leads/new`, township)",
            "/leads/new".to_owned(),
            town.clone(),
        ),
    ] {
        let fig = load_requests(requests, CONCURRENCY, get(path, token)).await;
        row(name, &fig);
    }
    for (name, from) in [
        ("statistics, last 30 days (≈165 000 leads)", month_ago),
        ("statistics, last 365 days (all leads)", year_ago),
    ] {
        let fig = load_requests(
            requests,
            CONCURRENCY,
            get(
                format!("/api/v1/stats/leads?from={from}&to={today}"),
                coord.clone(),
            ),
        )
        .await;
        row(name, &fig);
    }
    // The exports: the year's statistics as a workbook, and EE's ledger of open leads.
    let fig = load_requests(
        requests,
        CONCURRENCY,
        get(
            format!("/api/v1/stats/leads.xlsx?from={year_ago}&to={today}"),
            coord.clone(),
        ),
    )
    .await;
    row("statistics, last 365 days, as .xlsx", &fig);
    let fig = load_requests(
        5,
        1,
        get("/api/v1/leads/export.xlsx".to_owned(), ee.clone()),
    )
    .await;
    row(
        "EE's ledger of open leads as .xlsx (≈67 000 rows; 5 requests, one client)",
        &fig,
    );
    // Three leads changed since the rollup (one of each of three days closed): a request
    // adds their difference to the kept figures itself.
    {
        let db = state.db.clone();
        tokio::task::spawn_blocking(move || {
            db.transaction(|conn| {
                for days_ago in [3, 40, 200] {
                    let at = SystemClock.now_naive() - Duration::days(days_ago);
                    let sql = match conn {
                        DbConnection::Pg(_) => "UPDATE leads SET state = 'closed', closed_at = $1 WHERE id = (SELECT id FROM leads WHERE raised_at < $1 AND state <> 'closed' ORDER BY raised_at DESC LIMIT 1)",
                        DbConnection::Sqlite(_) => "UPDATE leads SET state = 'closed', closed_at = ?1 WHERE id = (SELECT id FROM leads WHERE raised_at < ?1 AND state <> 'closed' ORDER BY raised_at DESC LIMIT 1)",
                    };
                    diesel::sql_query(sql)
                        .bind::<diesel::sql_types::Timestamp, _>(at)
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
        .unwrap()
        .unwrap();
        bench_db.await_replica();
    }
    let fig = load_requests(
        requests,
        CONCURRENCY,
        get(
            format!("/api/v1/stats/leads?from={year_ago}&to={today}"),
            coord.clone(),
        ),
    )
    .await;
    row(
        "statistics, last 365 days, with three leads changed since the rollup",
        &fig,
    );
    // The first request after each rollup: a lead closed, rolled up (today's and this
    // month's periods get new stamps), then one request, by one client. In service the
    // rollup runs every 2 s, so on a busy day most requests are such a first one.
    let rounds = (requests / 2).max(10);
    let mut lat = Vec::with_capacity(rounds);
    let mut busy = std::time::Duration::ZERO;
    let url = format!("{base}/api/v1/stats/leads?from={year_ago}&to={today}");
    for _ in 0..rounds {
        let db = state.db.clone();
        tokio::task::spawn_blocking(move || {
            db.transaction(|conn| {
                let at = SystemClock.now_naive();
                let sql = match conn {
                    DbConnection::Pg(_) => "UPDATE leads SET state = 'closed', closed_at = $1 WHERE id = (SELECT id FROM leads WHERE raised_at < $1 AND state <> 'closed' ORDER BY raised_at DESC LIMIT 1)",
                    DbConnection::Sqlite(_) => "UPDATE leads SET state = 'closed', closed_at = ?1 WHERE id = (SELECT id FROM leads WHERE raised_at < ?1 AND state <> 'closed' ORDER BY raised_at DESC LIMIT 1)",
                };
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::Timestamp, _>(at)
                    .execute(conn)?;
                Ok(())
            })
        })
        .await
        .unwrap()
        .unwrap();
        while let Some(r) = minecoord::app::jobs::roll_up_stats(&state)
            .await
            .expect("rollup")
        {
            if r.marks == 0 && r.due_days == 0 {
                break;
            }
        }
        // On a standby, the request asks once the rollup has reached it (not timed).
        bench_db.await_replica();
        let t = Instant::now();
        let resp = client.get(&url).bearer_auth(&coord).send().await.unwrap();
        assert!(resp.status().is_success());
        resp.bytes().await.unwrap();
        let took = t.elapsed();
        busy += took;
        lat.push(took);
    }
    row(
        "statistics, last 365 days, the first request after each rollup (one client)",
        &Figures::of(lat, busy),
    );
    let (rss, peak) = rss_kib();
    println!();
    println!("process RSS {} MiB, peak {} MiB", rss / 1024, peak / 1024);

    bare_serving.stop().await;
    serving.stop().await;
    drop(state);
}
