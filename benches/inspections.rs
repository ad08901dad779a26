//! 综合查一次 benchmark at province scale, through the real service over HTTP.
//!
//!   cargo bench --bench inspections                       # SQLite
//!   BENCH_DB=postgres cargo bench --bench inspections     # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! BENCH_MINES (default 30 000) mines and BENCH_TASKS (default 500 000) inspection tasks
//! over the past two years, written directly in batches: each task with its departments
//! (four in ten joint), an inspector per department, four items and their four results
//! (2 000 000 results), one hazard in eight tasks (one in five of those still open) and a
//! rating for one finished task in three. Then, each BENCH_REQUESTS (default 1000) times
//! by 8 clients: a mine's inspection history, the repeat check (a task refused as a repeat,
//! nothing written), EM's open-hazard queue, the month's overview (from the tallies, which
//! are counted once from the seeded records); and the public code page with 8 and 32 clients.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate};
use diesel::{Connection, RunQueryDsl};
use minecoord::app::startup::Application;
use minecoord::inspections::rules::{Basis, HazardGrade, HazardState, InspectionState, Outcome};
use minecoord::inspections::store::{
    Hazard, Inspection, Inspector, Rating, ResultRow, TaskDepartment, TaskItem,
};
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::db::schema::{
    hazards, inspection_departments, inspection_inspectors, inspection_ratings, inspection_results,
    inspection_task_items, inspections, mines,
};
use minecoord::platform::db::DbConnection;
use minecoord::register::mines::Mine;
use minecoord::register::rules::mine::{MineStatus, MineType, MiningMethod};
use serde_json::json;

#[macro_use]
mod common;
use common::{credit_code, env_usize, load_expecting, load_requests, row, rss_kib, CONCURRENCY};

const PASSWORD: &str = "Bench-pass-2026";
/// The departments that lead or join, with their four catalogue items each.
const DEPARTMENTS: [&str; 4] = ["EM", "NR", "EE", "AGRI"];

fn mine(i: usize, now: chrono::NaiveDateTime) -> Mine {
    let name = format!("第{i:05}号矿");
    Mine {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.clone(),
        enterprise_name: format!("第{i:05}号矿业有限公司"),
        credit_code: credit_code(i as u32),
        township: ["BEHT", "KBJD"][i % 2].to_owned(),
        mine_type: if i % 3 == 0 {
            MineType::Nonmetal
        } else {
            MineType::SandGravel
        },
        mineral: "建筑用石料".into(),
        mining_method: if i % 3 == 0 {
            MiningMethod::Underground
        } else {
            MiningMethod::OpenPit
        },
        status: MineStatus::Producing,
        supervisor_department: Some("EM".into()),
        risk_grade: None,
        last_inspected_on: None,
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

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let n_mines = env_usize("BENCH_MINES", 30_000);
    let n_tasks = env_usize("BENCH_TASKS", 500_000);
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

    // Accounts and the catalogue through the API.
    let login = |user: String| {
        let (client, base) = (client.clone(), base.clone());
        async move { common::login(&client, &base, &user, PASSWORD).await }
    };
    let admin = login("admin".into()).await;
    let mut inspectors: Vec<(String, &str)> = Vec::new();
    for (n, d) in DEPARTMENTS.iter().enumerate() {
        let r: serde_json::Value = client.post(format!("{base}/api/v1/users")).bearer_auth(&admin)
            .json(&json!({"username": format!("bench.{}", d.to_lowercase()), "password": PASSWORD, "must_change_password": false,
                "display_name": format!("检查员{d}"), "role": "officer", "department": d, "certificate_number": format!("1502{n:04}")}))
            .send().await.unwrap().json().await.unwrap();
        inspectors.push((r["id"].as_str().expect("user").to_owned(), d));
    }
    let r = client.post(format!("{base}/api/v1/users")).bearer_auth(&admin)
        .json(&json!({"username": "bench.coord", "password": PASSWORD, "must_change_password": false, "display_name": "协调办", "role": "coordinator", "department": "NR"}))
        .send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let coord = login("bench.coord".into()).await;
    let em = login("bench.em".into()).await;
    for d in DEPARTMENTS {
        for k in 1..=4 {
            let r = client.post(format!("{base}/api/v1/inspection-items")).bearer_auth(&coord)
                .json(&json!({"code": format!("{d}-{k:02}"), "department": d, "name": format!("{d} 检查事项 {k}"), "legal_basis": "《安全生产法》"}))
                .send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    }

    println!("inspections on {backend}: {n_mines} mines, {n_tasks} tasks, {requests} requests per row ({CONCURRENCY} clients unless noted)");

    // A province's inspections, written directly.
    let seed_started = Instant::now();
    let db = state.db.clone();
    let em_inspector = inspectors[0].0.clone();
    let today = minecoord::platform::clock::shanghai_date(SystemClock.now_naive());
    let (busiest_mine, recent_mine, codes) = tokio::task::spawn_blocking(move || {
        let now = SystemClock.now_naive();
        let mut conn = db.get().unwrap();
        let conn = &mut *conn;
        let all: Vec<Mine> = (0..n_mines).map(|i| mine(i, now)).collect();
        conn.transaction::<_, diesel::result::Error, _>(|c| {
            batch!(c, mines::table, all);
            Ok(())
        })
        .unwrap();
        let mine_ids: Vec<String> = all.into_iter().map(|m| m.id).collect();
        let mut codes = Vec::new();
        let chunk = 10_000;
        let mut i = 0usize;
        while i < n_tasks {
            let end = (i + chunk).min(n_tasks);
            let (mut ts, mut ds, mut ins, mut its, mut rs, mut hs, mut rt) = (
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            );
            for k in i..end {
                let id = uuid::Uuid::now_v7().to_string();
                let code = uuid::Uuid::new_v4().simple().to_string();
                if k % 1000 == 0 {
                    codes.push(code.clone());
                }
                // Spread over the past two years; the newest tasks are still open.
                let day: NaiveDate = today - Duration::days((k * 7919 % 730) as i64 + 1);
                let mine_id = mine_ids[k * 104_729 % mine_ids.len()].clone();
                let lead = DEPARTMENTS[k % DEPARTMENTS.len()];
                let joint = (k % 10 < 4).then(|| DEPARTMENTS[(k + 1) % DEPARTMENTS.len()]);
                let open = k % 50 == 0;
                let hazard = k % 8 == 0;
                let state = match (open, hazard && k % 40 == 0) {
                    (true, _) => InspectionState::InProgress,
                    (false, true) => InspectionState::Completed,
                    _ => InspectionState::Archived,
                };
                let at = day.and_hms_opt(10, 0, 0).unwrap();
                ts.push(Inspection {
                    id: id.clone(),
                    number: format!("JC-{}-{:07}", day.year(), k + 1),
                    code,
                    mine_id: mine_id.clone(),
                    lead_department: lead.into(),
                    state,
                    window_from: day,
                    window_to: day,
                    basis: Basis::Plan,
                    basis_ref: String::new(),
                    lead_id: None,
                    override_kind: (k % 97 == 0).then(|| "order".to_owned()),
                    override_reason: String::new(),
                    created_by: None,
                    created_at: at,
                    started_at: Some(at),
                    completed_at: (!open).then(|| at + Duration::hours(4)),
                    archived_at: (state == InspectionState::Archived)
                        .then(|| at + Duration::hours(4)),
                    cancelled_at: None,
                    cancel_reason: String::new(),
                    updated_at: at,
                    version: 1,
                    plan_id: None,
                });
                for (d, role) in std::iter::once((lead, "lead")).chain(joint.map(|j| (j, "joint")))
                {
                    ds.push(TaskDepartment {
                        inspection_id: id.clone(),
                        department: d.into(),
                        role: role.into(),
                        recorded_at: Some(at),
                    });
                    let (uid, _) = inspectors.iter().find(|(_, x)| *x == d).unwrap();
                    ins.push(Inspector {
                        inspection_id: id.clone(),
                        user_id: uid.clone(),
                        department: d.into(),
                        name: format!("检查员{d}"),
                        certificate_number: "15020000".into(),
                    });
                }
                // Four items: the lead's four, or two of the lead's and two of the joint's.
                let items: Vec<(String, &str)> = match joint {
                    None => (1..=4).map(|n| (format!("{lead}-{n:02}"), lead)).collect(),
                    Some(j) => vec![
                        (format!("{lead}-01"), lead),
                        (format!("{lead}-02"), lead),
                        (format!("{j}-01"), j),
                        (format!("{j}-02"), j),
                    ],
                };
                for (n, (item, d)) in items.iter().enumerate() {
                    its.push(TaskItem {
                        inspection_id: id.clone(),
                        item_code: item.clone(),
                        department: (*d).into(),
                    });
                    rs.push(ResultRow {
                        inspection_id: id.clone(),
                        item_code: item.clone(),
                        department: (*d).into(),
                        mine_id: mine_id.clone(),
                        outcome: if hazard && n == 0 {
                            Outcome::Finding
                        } else {
                            Outcome::Compliant
                        },
                        note: String::new(),
                        recognised_from: None,
                        recorded_by: None,
                        recorded_at: at,
                    });
                }
                if hazard {
                    let open_hazard = k % 40 == 0;
                    hs.push(Hazard {
                        id: uuid::Uuid::now_v7().to_string(),
                        number: format!("YH-{}-{:07}", day.year(), k + 1),
                        inspection_id: id.clone(),
                        mine_id: mine_id.clone(),
                        item_code: items[0].0.clone(),
                        grade: if k % 80 == 0 {
                            HazardGrade::Major
                        } else {
                            HazardGrade::General
                        },
                        standard_item: (k % 80 == 0).then(|| "O3".to_owned()),
                        description: "压测隐患".into(),
                        rectify_by: day + Duration::days(30),
                        responsible_department: lead.into(),
                        state: if open_hazard {
                            HazardState::Open
                        } else {
                            HazardState::Closed
                        },
                        escalated_at: None,
                        reinspected_at: (!open_hazard).then(|| at + Duration::days(20)),
                        reinspection_note: String::new(),
                        closed_at: (!open_hazard).then(|| at + Duration::days(20)),
                        created_by: None,
                        created_at: at,
                        updated_at: at,
                        version: 1,
                        visit_on: day,
                    });
                }
                if !open && k % 3 == 0 {
                    rt.push(Rating {
                        inspection_id: id.clone(),
                        mine_id: mine_id.clone(),
                        verdict: [
                            "satisfied",
                            "basically_satisfied",
                            "satisfied",
                            "dissatisfied",
                        ][k % 4]
                            .into(),
                        comment: String::new(),
                        rated_by: None,
                        rated_at: at + Duration::days(1),
                    });
                }
            }
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                batch!(c, inspections::table, ts);
                batch!(c, inspection_departments::table, ds);
                batch!(c, inspection_inspectors::table, ins);
                batch!(c, inspection_task_items::table, its);
                batch!(c, inspection_results::table, rs);
                batch!(c, hazards::table, hs);
                batch!(c, inspection_ratings::table, rt);
                Ok(())
            })
            .unwrap();
            i = end;
        }
        // Written around the service: the targets' tallies are counted from the records.
        let recount = Instant::now();
        minecoord::inspections::store::tallies::recount(conn).expect("recount");
        println!(
            "counted the tallies from the records in {:.1} s",
            recount.elapsed().as_secs_f64()
        );
        match conn {
            DbConnection::Pg(p) => diesel::sql_query("ANALYZE").execute(p).unwrap(),
            DbConnection::Sqlite(s) => diesel::sql_query("ANALYZE").execute(s).unwrap(),
        };
        // Task 0 visited mine 0 yesterday: its history, and the repeat check on it.
        (mine_ids[0].clone(), mine_ids[0].clone(), codes)
    })
    .await
    .unwrap();
    let seeded = seed_started.elapsed();
    println!();
    println!(
        "seeded {n_mines} mines and {n_tasks} tasks (departments, inspectors, {} items and results, hazards, ratings) in {:.1} s",
        n_tasks * 4,
        seeded.as_secs_f64()
    );
    println!();
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");

    let get = |path: String, token: String| {
        let (c, url) = (client.clone(), format!("{base}{path}"));
        Arc::new(move |_: usize| c.get(&url).bearer_auth(&token))
            as Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>
    };
    let first = today.with_day(1).unwrap();
    let last_month_end = first - Duration::days(1);
    let last_month = last_month_end.with_day(1).unwrap();
    for (name, path, token) in [
        (
            "a mine's inspection history (`GET /api/v1/mines/{id}/inspections`)",
            format!("/api/v1/mines/{busiest_mine}/inspections"),
            em.clone(),
        ),
        (
            "EM's open-hazard queue (`GET /api/v1/hazards?state=open`)",
            "/api/v1/hazards?state=open".to_owned(),
            em.clone(),
        ),
        (
            "EM's overdue hazards (`…&overdue=true`)",
            "/api/v1/hazards?state=open&overdue=true".to_owned(),
            em.clone(),
        ),
        (
            "the month's overview (`GET /api/v1/stats/inspections`, last month)",
            format!("/api/v1/stats/inspections?from={last_month}&to={last_month_end}"),
            coord.clone(),
        ),
    ] {
        let fig = load_requests(requests, CONCURRENCY, get(path, token)).await;
        row(name, &fig);
    }
    // The repeat check: a task on a mine inspected yesterday, without a reason, is refused.
    let uid = em_inspector;
    let (c, url, token) = (
        client.clone(),
        format!("{base}/api/v1/inspections"),
        em.clone(),
    );
    let body = json!({"mine_id": recent_mine, "lead_department": "EM", "joint_departments": [], "inspectors": [uid],
        "items": ["EM-01"], "window_from": today.to_string(), "window_to": today.to_string(), "basis": "plan"});
    let fig = load_expecting(
        requests,
        CONCURRENCY,
        Arc::new(move |_| c.post(&url).bearer_auth(&token).json(&body)),
        Some(409),
    )
    .await;
    row(
        "the repeat check (`POST /api/v1/inspections` refused 409 `repeat_inspection`)",
        &fig,
    );
    let codes = Arc::new(codes);
    for clients in [CONCURRENCY, 32] {
        let (c, base, codes) = (client.clone(), base.clone(), codes.clone());
        let fig = load_requests(
            requests * 5,
            clients,
            Arc::new(move |i| {
                c.get(format!(
                    "{base}/public/inspections/{}",
                    codes[i % codes.len()]
                ))
            }),
        )
        .await;
        row(
            &format!("public code page (`GET /public/inspections/{{code}}`, {clients} clients)"),
            &fig,
        );
    }
    let (rss, peak) = rss_kib();
    println!();
    println!("process RSS {} MiB, peak {} MiB", rss / 1024, peak / 1024);
    serving.stop().await;
    drop(state);
}
