//! 关闭退出 benchmark at province scale, through the real service over HTTP.
//!
//!   cargo bench --bench closures                     # SQLite
//!   BENCH_DB=postgres cargo bench --bench closures   # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! BENCH_MINES (default 30 000) mines, each with a 400 m boundary on a 1 km grid;
//! BENCH_CASES (default 3 000) closure cases with 20 tasks each (60 000), two in three
//! accepted (their mines closed and under watch, patrolled at various times), the rest
//! open with their tasks spread over four departments, some overdue; and a further
//! BENCH_CASES / 3 mines closed before the cases began, so that 3 000 boundaries are closed.
//! All written directly in batches. Then, each BENCH_REQUESTS (default 1000) times by 8
//! clients: the closures board, a department's task queue, the watch list (all and due),
//! the case list; and the restart check (a point among the closed boundaries) called in
//! the process, 2 000 times, then a lead raised inside a closed boundary and one outside.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use diesel::{Connection, ExpressionMethods, RunQueryDsl};
use minecoord::app::startup::Application;
use minecoord::closures::rules::{Basis, CaseState, ClosureKind, TaskState};
use minecoord::closures::store::{Case, Task, Watched};
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::db::schema::{
    closure_cases, closure_tallies, closure_tasks, closure_watch, mine_boundaries, mines,
};
use minecoord::platform::db::DbConnection;
use minecoord::register::boundaries::MineBoundary;
use minecoord::register::mines::Mine;
use minecoord::register::rules::mine::{MineStatus, MineType, MiningMethod};
use serde_json::json;

#[macro_use]
mod common;
use common::{credit_code, env_usize, load_requests, row, rss_kib, Figures, CONCURRENCY};

const PASSWORD: &str = "Bench-pass-2026";
const DEPARTMENTS: [&str; 4] = ["NR", "EM", "EE", "AGRI"];

fn mine(i: usize, now: chrono::NaiveDateTime, today: NaiveDate, status: MineStatus) -> Mine {
    let name = format!("第{i:05}号矿");
    Mine {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.clone(),
        enterprise_name: format!("第{i:05}号矿业有限公司"),
        credit_code: credit_code(i as u32),
        township: ["BEHT", "KBJD"][i % 2].to_owned(),
        mine_type: MineType::SandGravel,
        mineral: "建筑用石料".into(),
        mining_method: MiningMethod::OpenPit,
        status,
        supervisor_department: Some("EM".into()),
        risk_grade: None,
        last_inspected_on: (i % 3 == 0).then(|| today - Duration::days((i % 400) as i64)),
        address: String::new(),
        contact_name: String::new(),
        contact_phone: String::new(),
        licence_number: format!("C150200{i:010}"),
        tailings_capacity_10k_m3: None,
        tailings_dam_height_m: None,
        tailings_grade: None,
        tailings_safety: None,
        tailings_evaluated_on: None,
        tailings_overhead: 0,
        search_text: format!("{name} c150200{i:010}"),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The south-west corner of mine `i`'s 400 m square, on a 1 km grid.
fn corner(i: usize) -> (f64, f64) {
    let (gx, gy) = ((i % 200) as f64, (i / 200) as f64);
    (300_000.0 + gx * 1000.0, 4_400_000.0 + gy * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let n_mines = env_usize("BENCH_MINES", 30_000);
    let n_cases = env_usize("BENCH_CASES", 3_000).min(n_mines / 2);
    let requests = env_usize("BENCH_REQUESTS", 1_000);
    let settings = common::service_settings(&db, PASSWORD, "error");
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
    let admin = common::login(&client, &base, "admin", PASSWORD).await;
    for (user, role, dept, town) in [
        ("bench.coord", "coordinator", Some("NR"), None),
        ("bench.em", "officer", Some("EM"), None),
        ("bench.town", "township", None, Some("BEHT")),
    ] {
        let r = client
            .post(format!("{base}/api/v1/users"))
            .bearer_auth(&admin)
            .json(
                &json!({"username": user, "password": PASSWORD, "must_change_password": false,
                "display_name": user, "role": role, "department": dept, "township": town}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let coord = common::login(&client, &base, "bench.coord", PASSWORD).await;
    let em = common::login(&client, &base, "bench.em", PASSWORD).await;
    let town = common::login(&client, &base, "bench.town", PASSWORD).await;
    println!(
        "closures on {backend}: {n_mines} mines with boundaries, {n_cases} cases, {} tasks, {} closed boundaries, \
         {requests} requests per row ({CONCURRENCY} clients)",
        n_cases * 20,
        n_cases * 2 / 3 + n_cases / 3
    );

    let seed_started = Instant::now();
    let db = state.db.clone();
    let now = SystemClock.now_naive();
    let today = minecoord::platform::clock::shanghai_date(now);
    let accepted_n = n_cases * 2 / 3;
    let closed_before = n_cases / 3;
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let conn = &mut *conn;
        // Mines 0..n_cases have cases (the first two thirds accepted, so closed); the next
        // `closed_before` were closed earlier; the rest produce.
        let mut ms = Vec::new();
        let mut bs = Vec::new();
        for i in 0..n_mines {
            let status = if i < accepted_n || (n_cases..n_cases + closed_before).contains(&i) {
                MineStatus::Closed
            } else if i < n_cases {
                MineStatus::Closing
            } else {
                MineStatus::Producing
            };
            let m = mine(i, now, today, status);
            let (e, n) = corner(i);
            let ring = vec![[e, n], [e + 400.0, n], [e + 400.0, n + 400.0], [e, n + 400.0], [e, n]];
            bs.push(MineBoundary {
                mine_id: m.id.clone(),
                rings_json: serde_json::to_string(&vec![ring]).unwrap(),
                source: String::new(),
                area_m2: 160_000.0,
                min_x: e,
                min_y: n,
                max_x: e + 400.0,
                max_y: n + 400.0,
                elevation_top_m: None,
                elevation_bottom_m: None,
                updated_at: now,
            });
            ms.push(m);
        }
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            batch!(c, mines::table, ms);
            batch!(c, mine_boundaries::table, bs);
            Ok(())
        })
        .unwrap();
        diesel::sql_query(
            "UPDATE mine_boundaries SET closed = 1 WHERE mine_id IN (SELECT id FROM mines WHERE status = 'closed')",
        )
        .execute(conn)
        .unwrap();
        let kinds = [
            ClosureKind::GovernmentDecision,
            ClosureKind::Unsafe,
            ClosureKind::RightExpired,
            ClosureKind::PolicyElimination,
        ];
        let mut cases = Vec::new();
        let mut tasks = Vec::new();
        let mut watch = Vec::new();
        let mut tallies: std::collections::BTreeMap<(String, String, String), (i64, i64)> =
            Default::default();
        for (k, m) in ms.iter().take(n_cases).enumerate() {
            let kind = kinds[k % kinds.len()];
            let owner = kind.owners()[0];
            let decided = today - Duration::days(30 + (k % 700) as i64);
            let accepted = k < accepted_n;
            let accepted_on = accepted.then(|| decided + Duration::days(60 + (k % 300) as i64));
            let id = uuid::Uuid::now_v7().to_string();
            let state = if accepted {
                CaseState::Accepted
            } else if k % 10 == 0 {
                CaseState::Accepting
            } else {
                CaseState::Open
            };
            let e = tallies
                .entry((kind.code().into(), owner.into(), state.code().into()))
                .or_default();
            e.0 += 1;
            e.1 += accepted_on.map(|a| (a - decided).num_days()).unwrap_or(0);
            cases.push(Case {
                id: id.clone(),
                number: format!("GB-B-{k:05}"),
                mine_id: m.id.clone(),
                kind,
                owner_department: owner.into(),
                decision_number: format!("昆政发〔2026〕{k}号"),
                decided_on: decided,
                issuing_body: "昆都仑区人民政府".into(),
                basis: Basis::Document,
                basis_ref: String::new(),
                target_on: decided + Duration::days(365),
                state,
                status_before: "producing".into(),
                stop_on: None,
                design_due_on: None,
                extended_months: 0,
                extension_reason: String::new(),
                extended_by: None,
                extended_at: None,
                accepted_on,
                reminded_at: Some(now),
                escalated_at: Some(now),
                opened_by: None,
                created_at: now - Duration::days(700 - (k % 700) as i64),
                updated_at: now,
                version: 1,
            });
            for p in 0..20usize {
                let open = !accepted && state == CaseState::Open && p % 3 != 0;
                tasks.push(Task {
                    id: uuid::Uuid::now_v7().to_string(),
                    case_id: id.clone(),
                    position: p as i32 + 1,
                    code: format!("t{p}"),
                    name: format!("任务 {p}"),
                    department: DEPARTMENTS[(k + p) % DEPARTMENTS.len()].into(),
                    due_on: decided + Duration::days(15 * p as i64 + 15),
                    state: if open { TaskState::Open } else { TaskState::Done },
                    permit_type: None,
                    notified: String::new(),
                    added_reason: String::new(),
                    note: if open { String::new() } else { "已完成".into() },
                    done_by: None,
                    done_at: (!open).then_some(now),
                    reminded_at: Some(now),
                    escalated_at: Some(now),
                    version: 1,
                });
            }
            if let Some(on) = accepted_on {
                watch.push(Watched {
                    mine_id: m.id.clone(),
                    case_id: id.clone(),
                    closed_on: on,
                    last_patrol_on: (k % 2 == 0).then(|| today - Duration::days((k % 365) as i64)),
                    last_patrol_outcome: (k % 2 == 0).then(|| "nothing_found".to_owned()),
                });
            }
        }
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            batch!(c, closure_cases::table, cases);
            batch!(c, closure_tasks::table, tasks);
            batch!(c, closure_watch::table, watch);
            for ((kind, dept, st), (n, days)) in &tallies {
                diesel::insert_into(closure_tallies::table)
                    .values((
                        closure_tallies::kind.eq(kind),
                        closure_tallies::department.eq(dept),
                        closure_tallies::state.eq(st),
                        closure_tallies::n.eq(n),
                        closure_tallies::days.eq(days),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
        minecoord::closures::store::recount_due(conn).unwrap();
        if let DbConnection::Pg(p) = conn {
            diesel::sql_query("VACUUM ANALYZE").execute(p).unwrap();
        }
        if let DbConnection::Sqlite(s) = conn {
            diesel::sql_query("ANALYZE").execute(s).unwrap();
        }
    })
    .await
    .unwrap();
    println!("seeded in {:.0} s", seed_started.elapsed().as_secs_f64());
    println!();
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    let get = |path: String, token: String| {
        let (c, base) = (client.clone(), base.clone());
        Arc::new(move |_| c.get(format!("{base}{path}")).bearer_auth(&token))
            as Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>
    };
    for (name, path, token) in [
        (
            "the closures board (`GET /api/v1/closures/board`)",
            "/api/v1/closures/board",
            &coord,
        ),
        (
            "a department's task queue (`GET /api/v1/closures/tasks`, EM officer)",
            "/api/v1/closures/tasks",
            &em,
        ),
        (
            "the watch list (`GET /api/v1/closed-mines/watch`)",
            "/api/v1/closed-mines/watch",
            &coord,
        ),
        (
            "the mines due a check (`GET /api/v1/closed-mines/watch?due=true`)",
            "/api/v1/closed-mines/watch?due=true",
            &coord,
        ),
        (
            "the live cases (`GET /api/v1/closures?state=open`)",
            "/api/v1/closures?state=open",
            &coord,
        ),
        (
            "a department's cases with open tasks (`GET /api/v1/closures?task_department=EE`)",
            "/api/v1/closures?task_department=EE",
            &coord,
        ),
    ] {
        let fig = load_requests(requests, CONCURRENCY, get(path.to_owned(), token.clone())).await;
        row(name, &fig);
    }

    // The restart check alone, in the process: points inside closed boundaries and in the
    // gaps between boundaries, as a raise would make it.
    let zone = minecoord::register::boundaries::zone(&state.settings.geo);
    let points: Vec<(f64, f64)> = (0..2_000usize)
        .map(|k| {
            let i = if k % 2 == 0 {
                (k * 7) % accepted_n.max(1)
            } else {
                n_cases + closed_before + k
            };
            let (e, n) = corner(i % n_mines);
            let (e, n) = if k % 4 == 1 {
                (e + 700.0, n + 700.0)
            } else {
                (e + 200.0, n + 200.0)
            };
            zone.to_lonlat(e, n).unwrap()
        })
        .collect();
    let (db, geo) = (state.db.clone(), state.settings.geo.clone());
    let (lat, found) = tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let mut lat = Vec::new();
        let mut found = 0;
        for (lon, la) in points {
            let t = Instant::now();
            found += minecoord::register::boundaries::closed_at(&mut conn, lon, la, &geo)
                .unwrap()
                .len();
            lat.push(t.elapsed());
        }
        (lat, found)
    })
    .await
    .unwrap();
    let total: std::time::Duration = lat.iter().sum();
    let fig = Figures::of(lat, total);
    println!();
    println!(
        "the restart check in the process (`register::boundaries::closed_at`, 2 000 points, {found} inside closed boundaries): p50 {:.3} ms, p99 {:.3} ms",
        fig.p50.as_secs_f64() * 1000.0,
        fig.p99.as_secs_f64() * 1000.0
    );
    // Raising leads inside a closed boundary (flagged, NR and the office told) and elsewhere.
    for (name, inside) in [
        ("inside a closed boundary (flagged)", true),
        ("outside every boundary", false),
    ] {
        let (c, base, token) = (client.clone(), base.clone(), town.clone());
        let make = Arc::new(move |k: usize| {
            let i = if inside {
                (k * 13) % accepted_n.max(1)
            } else {
                k % n_mines
            };
            let (e, n) = corner(i);
            let (e, n) = if inside {
                (e + 200.0, n + 200.0)
            } else {
                (e + 700.0, n + 700.0)
            };
            let (lon, lat) = zone.to_lonlat(e, n).unwrap();
            c.post(format!("{base}/api/v1/leads"))
                .bearer_auth(&token)
                .json(
                    &json!({"title": format!("夜间挖掘 {k}"), "category": "safety_violation",
                    "description": "有挖掘机作业。", "location": {"lon": lon, "lat": lat}}),
                )
        }) as Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>;
        let fig = load_requests(requests.min(400), CONCURRENCY, make).await;
        row(
            &format!("raising a lead {name} (`POST /api/v1/leads`)"),
            &fig,
        );
    }
    let (rss, peak) = rss_kib();
    println!("process RSS {} MiB, peak {} MiB", rss / 1024, peak / 1024);
    serving.stop().await;
    drop(state);
}
