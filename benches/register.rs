//! Mine register benchmark at province scale, through the real service over HTTP.
//!
//!   cargo bench --bench register                       # SQLite
//!   BENCH_DB=postgres cargo bench --bench register     # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! Generates BENCH_MINES (default 30000) mines across 40 townships, each with a boundary,
//! and BENCH_PERMITS_PER_MINE (default 5) permits, written directly in batches (the use
//! cases are exercised by the tests; this measures reads at size). Then each request is
//! made BENCH_REQUESTS times by 8 concurrent clients.

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use diesel::RunQueryDsl;
use minecoord::app::startup::Application;
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::config::Settings;
use minecoord::platform::db::schema::{mine_boundaries, mines, permits, townships};
use minecoord::register::boundaries::MineBoundary;
use minecoord::register::mines::Mine;
use minecoord::register::permits::Permit;
use minecoord::register::rules::mine::{MineStatus, TailingsSafety};
use minecoord::register::rules::risk_grade::RiskGrade;

mod common;
use common::{credit_code, env_usize, load, row, rss_kib, CONCURRENCY};

const PASSWORD: &str = "Bench-pass-2026";
const TYPES: [(&str, &str, i64); 5] = [
    ("mining_licence", "NR", 3650),
    ("safety_production", "EM", 1095),
    ("eia_approval", "EE", 0),
    ("water_withdrawal", "AGRI", 1825),
    ("forest_grassland_use", "AGRI", 1825),
];

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = common::BenchDb::from_env();
    let db_handle = &db;
    let backend = db.backend.clone();
    let n_mines = env_usize("BENCH_MINES", 30_000);
    let per_mine = env_usize("BENCH_PERMITS_PER_MINE", 5).min(TYPES.len());
    let requests = env_usize("BENCH_REQUESTS", 2_000);
    let url = db.url.clone();
    let mut settings = Settings::load(None).unwrap();
    settings.auth.key_file = db.key_file();
    settings.database.url = url;
    // With BENCH_REPLICA_URL the lists and exports read the standby.
    settings.database.replica_url = db.replica_url();
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.workers = 2;
    settings.bootstrap.admin_password = Some(PASSWORD.into());
    settings.auth.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0".into());
    settings.log.level = "warn".into();
    minecoord::platform::telemetry::init(&settings.log);
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("build");
    let port = app.port();
    let state = app.state.clone();
    let serving = common::Serving::app(app);

    let seed_started = Instant::now();
    let db = state.db.clone();
    let first_id = tokio::task::spawn_blocking(move || {
        let now = SystemClock.now_naive();
        let today = now.date();
        db.transaction(|conn| {
            // 40 townships, as a province-sized district set.
            for t in 0..38 {
                diesel::insert_into(townships::table)
                    .values((
                        townships::code.eq(format!("T{t:02}")),
                        townships::name.eq(format!("第{t}镇")),
                        townships::email.eq(None::<String>),
                        townships::sort_order.eq(100 + t),
                        townships::active.eq(1),
                        townships::created_at.eq(now),
                        townships::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            let kinds = [
                "sand_gravel",
                "nonmetal",
                "ferrous",
                "gold",
                "tailings_pond",
                "nonferrous",
            ];
            let statuses = [
                "producing",
                "producing",
                "producing",
                "suspended",
                "construction",
                "upgrading",
                "closing",
                "closed",
            ];
            let grades = [
                None,
                Some("low"),
                Some("general"),
                Some("general"),
                Some("significant"),
                Some("major"),
            ];
            let mut first = String::new();
            let mut batch_m: Vec<Mine> = Vec::new();
            let mut batch_b: Vec<MineBoundary> = Vec::new();
            let mut batch_p: Vec<Permit> = Vec::new();
            for i in 0..n_mines {
                let id = uuid::Uuid::now_v7().to_string();
                if i == 0 {
                    first = id.clone();
                }
                let name = format!("第{i:05}号矿");
                let township = if i % 40 < 2 {
                    ["BEHT", "KBJD"][i % 2].to_owned()
                } else {
                    format!("T{:02}", i % 40 - 2)
                };
                let kind = kinds[i % kinds.len()];
                batch_m.push(Mine {
                    id: id.clone(),
                    name: name.clone(),
                    enterprise_name: format!("第{i:05}号矿业有限公司"),
                    credit_code: credit_code(i as u32),
                    township,
                    mine_type: minecoord::register::rules::mine::MineType::parse(kind)
                        .expect("a mine type"),
                    mineral: "建筑用石料".into(),
                    mining_method: if i % 3 == 0 {
                        minecoord::register::rules::mine::MiningMethod::Underground
                    } else {
                        minecoord::register::rules::mine::MiningMethod::OpenPit
                    },
                    status: MineStatus::parse(statuses[i % statuses.len()]).expect("a mine status"),
                    supervisor_department: (i % 11 != 0).then(|| "EM".to_owned()),
                    risk_grade: grades[i % grades.len()].and_then(RiskGrade::parse),
                    last_inspected_on: Some(today - Duration::days((i % 400) as i64)),
                    address: String::new(),
                    contact_name: String::new(),
                    contact_phone: String::new(),
                    licence_number: format!("C150200{i:010}"),
                    tailings_capacity_10k_m3: (kind == "tailings_pond").then_some(1500.0),
                    tailings_dam_height_m: (kind == "tailings_pond").then_some(45.0),
                    tailings_grade: (kind == "tailings_pond").then_some(3),
                    tailings_safety: (kind == "tailings_pond").then_some(TailingsSafety::Normal),
                    tailings_evaluated_on: (kind == "tailings_pond")
                        .then(|| today - Duration::days((i % 1500) as i64)),
                    tailings_overhead: 0,
                    search_text: format!("{name} 第{i:05}号矿业有限公司 c150200{i:010}"),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                });
                // A 400 m square on a 1 km grid: neighbours 600 m apart.
                let (gx, gy) = ((i % 200) as f64, (i / 200) as f64);
                let (e, n) = (300_000.0 + gx * 1000.0, 4_400_000.0 + gy * 1000.0);
                let ring = vec![
                    [e, n],
                    [e + 400.0, n],
                    [e + 400.0, n + 400.0],
                    [e, n + 400.0],
                    [e, n],
                ];
                batch_b.push(MineBoundary {
                    mine_id: id.clone(),
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
                for (k, (code, dept, days)) in TYPES.iter().take(per_mine).enumerate() {
                    let issued = today - Duration::days(((i * 7 + k * 13) % 1000) as i64 + 30);
                    batch_p.push(Permit {
                        id: uuid::Uuid::now_v7().to_string(),
                        mine_id: id.clone(),
                        permit_type: (*code).into(),
                        issuing_department: (*dept).into(),
                        number: format!("{code}-{i:06}"),
                        holder: format!("第{i:05}号矿业有限公司"),
                        issued_on: issued,
                        expires_on: (*days > 0).then(|| issued + Duration::days(*days)),
                        mineral: String::new(),
                        scale_10k_t_per_year: None,
                        area_km2: None,
                        elevation_top_m: None,
                        elevation_bottom_m: None,
                        notes: String::new(),
                        status_override: None,
                        override_reason: String::new(),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    });
                }
                if batch_m.len() == 500 || i + 1 == n_mines {
                    for m in batch_m.drain(..) {
                        diesel::insert_into(mines::table).values(m).execute(conn)?;
                    }
                    for b in batch_b.drain(..) {
                        diesel::insert_into(mine_boundaries::table)
                            .values(&b)
                            .execute(conn)?;
                    }
                    for p in batch_p.drain(..) {
                        diesel::insert_into(permits::table)
                            .values(&p)
                            .execute(conn)?;
                    }
                }
            }
            Ok(first)
        })
    })
    .await
    .unwrap()
    .unwrap();
    let seed_time = seed_started.elapsed();
    if let minecoord::platform::db::Backend::Postgres = state.db.backend {
        let db = state.db.clone();
        tokio::task::spawn_blocking(move || {
            db.read(|c| Ok(diesel::sql_query("ANALYZE").execute(c)?))
        })
        .await
        .unwrap()
        .unwrap();
    }

    let bench_db = &db_handle;
    if let Some(waited) = bench_db.await_replica() {
        println!(
            "(lists and exports read the standby {}; it caught up with the seeding {:.1} s after)",
            bench_db.replica_url().unwrap_or_default(),
            waited.as_secs_f64()
        );
    }

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
    let deep = hex_cursor(&format!("第{:05}号矿", n_mines * 9 / 10));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "GET /api/v1/mines?limit=50 (first page)",
            vec![format!("{base}/api/v1/mines?limit=50")],
        ),
        (
            "GET /api/v1/mines?limit=50&cursor=… (page at 90 %)",
            vec![format!("{base}/api/v1/mines?limit=50&cursor={deep}")],
        ),
        (
            "GET /api/v1/mines?township=KBJD&risk_grade=major",
            vec![format!(
                "{base}/api/v1/mines?township=KBJD&risk_grade=major&limit=50"
            )],
        ),
        (
            "GET /api/v1/mines?status=suspended&mine_type=gold",
            vec![format!(
                "{base}/api/v1/mines?status=suspended&mine_type=gold&limit=50"
            )],
        ),
        (
            "GET /api/v1/mines?q=… (text search, 50 different)",
            (0..50)
                .map(|k| {
                    format!(
                        "{base}/api/v1/mines?q=%E7%AC%AC{:05}&limit=50",
                        k * 571 % n_mines
                    )
                })
                .collect(),
        ),
        (
            "GET /api/v1/mines?q=有限公司 (4 characters, every mine)",
            vec![format!(
                "{base}/api/v1/mines?q=%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8&limit=50"
            )],
        ),
        (
            "GET /api/v1/mines?q=号矿 (2 characters, every mine)",
            vec![format!("{base}/api/v1/mines?q=%E5%8F%B7%E7%9F%BF&limit=50")],
        ),
        (
            "GET /api/v1/mines?q=7号 (2 characters, a tenth)",
            vec![format!("{base}/api/v1/mines?q=7%E5%8F%B7&limit=50")],
        ),
        (
            "GET /api/v1/mines?sort=-updated_at&limit=50",
            vec![format!("{base}/api/v1/mines?sort=-updated_at&limit=50")],
        ),
        (
            "GET /api/v1/mines/gaps?limit=50",
            vec![format!("{base}/api/v1/mines/gaps?limit=50")],
        ),
        (
            "GET /api/v1/mines/{id} (with boundary checks)",
            vec![format!("{base}/api/v1/mines/{first_id}")],
        ),
        (
            "GET /api/v1/map (GeoJSON: 3 000 of all the boundaries, no leads)",
            vec![format!("{base}/api/v1/map")],
        ),
        (
            "GET /api/v1/map?township=T05 (GeoJSON: one township's boundaries)",
            vec![format!("{base}/api/v1/map?township=T05")],
        ),
        (
            "GET /map (the page: the same 3 000 boundaries drawn as SVG)",
            vec![format!("{base}/map")],
        ),
        (
            "GET /api/v1/permits?expiring_within_days=90",
            vec![format!(
                "{base}/api/v1/permits?expiring_within_days=90&limit=50"
            )],
        ),
        (
            "GET /api/v1/permits?status=expiring",
            vec![format!("{base}/api/v1/permits?status=expiring&limit=50")],
        ),
        (
            "GET /api/v1/permits?department=AGRI&status=expired",
            vec![format!(
                "{base}/api/v1/permits?department=AGRI&status=expired&limit=50"
            )],
        ),
    ];
    println!("\nminecoord register benchmark — backend {backend}, {n_mines} mines with boundaries, {} permits, {requests} requests per row, {CONCURRENCY} concurrent clients", n_mines * per_mine);
    println!("seeding: {:.1} s\n", seed_time.as_secs_f64());
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (name, urls) in cases {
        let f = load(&client, Arc::new(urls), &token, requests).await;
        row(name, &f);
    }
    let (rss_before, _) = rss_kib();
    for (name, path) in [
        ("mines", "/api/v1/mines/export.xlsx"),
        ("permits", "/api/v1/permits/export.xlsx"),
    ] {
        let t = Instant::now();
        let bytes = client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        println!(
            "\nexport of all {name}: {:.2} s, {:.1} MiB",
            t.elapsed().as_secs_f64(),
            bytes.len() as f64 / 1048576.0
        );
    }
    let (rss, hwm) = rss_kib();
    println!("process memory (service + load generator): RSS {} MiB before the exports, {} MiB after, peak {} MiB", rss_before / 1024, rss / 1024, hwm / 1024);
    serving.stop().await;
    drop(state);
}

/// The list's keyset cursor for a mine name (name, then an id that sorts first).
fn hex_cursor(name: &str) -> String {
    hex::encode(format!("{name}\u{1f}"))
}

use diesel::ExpressionMethods;
