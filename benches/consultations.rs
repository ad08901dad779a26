//! 会商研判 benchmark at province scale, through the real service over HTTP.
//!
//!   cargo bench --bench consultations                     # SQLite
//!   BENCH_DB=postgres cargo bench --bench consultations   # PostgreSQL at MINECOORD_TEST_PG_URL
//!
//! BENCH_MEETINGS (default 5 000) meetings over the past two years, each inviting four
//! member units with two agenda items and approved minutes; ten decisions each (50 000),
//! nine in ten closed, the rest open or waiting for review, some overdue; BENCH_REPORTS
//! (default 500 000) progress reports (对账) spread over the decisions; and 24 months of
//! monthly reports for every unit, one item per decision owed. All written directly in
//! batches. Then, each BENCH_REQUESTS (default 1000) times by 8 clients: the office's
//! board, a unit's board, last month's reporting status, a unit's open decisions and the
//! overdue ones; and convening one meeting with 200 named people invited by email with
//! their calendars (the time until every invitation is queued).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::{Connection, RunQueryDsl};
use minecoord::app::startup::Application;
use minecoord::consultations::rules::{
    Answer, DecisionKind, DecisionState, InviteeKind, MeetingState, MinutesState, Month,
    ReportState, Review,
};
use minecoord::consultations::store::ledger::{Decision, Minutes, Report};
use minecoord::consultations::store::reports::{Item, MonthlyReport};
use minecoord::consultations::store::{AgendaItem, Invitee, Meeting};
use minecoord::platform::clock::{Clock, SystemClock};
use minecoord::platform::db::schema::{
    consultation_agenda, consultation_invitees, consultation_minutes, consultations,
    decision_reports, decisions, monthly_report_items, monthly_reports,
};
use minecoord::platform::db::DbConnection;
use serde_json::json;

#[macro_use]
mod common;
use common::{env_usize, load_requests, row, rss_kib, CONCURRENCY};

const PASSWORD: &str = "Bench-pass-2026";
const UNITS: [&str; 8] = ["NR", "EM", "EE", "AGRI", "DRC", "MIIT", "GDS", "TOWN"];

fn meeting(k: usize, starts_at: NaiveDateTime) -> Meeting {
    Meeting {
        id: uuid::Uuid::now_v7().to_string(),
        number: format!("HS-B-{k:05}"),
        topic: format!("第{k}次专题会商"),
        starts_at,
        ends_at: starts_at + Duration::hours(2),
        place: "区自然资源分局会议室".into(),
        online_url: None,
        state: MeetingState::Minuted,
        sequence: 0,
        created_by: None,
        created_at: starts_at - Duration::days(3),
        updated_at: starts_at,
        cancelled_at: None,
        cancel_reason: String::new(),
        version: 1,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let n_meetings = env_usize("BENCH_MEETINGS", 5_000);
    let n_reports = env_usize("BENCH_REPORTS", 500_000);
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
    let login = |user: &'static str| common::login(&client, &base, user, PASSWORD);
    let admin = login("admin").await;
    for (user, role, dept) in [
        ("bench.coord", "coordinator", "NR"),
        ("bench.em", "officer", "EM"),
    ] {
        let r = client
            .post(format!("{base}/api/v1/users"))
            .bearer_auth(&admin)
            .json(
                &json!({"username": user, "password": PASSWORD, "must_change_password": false,
                "display_name": user, "role": role, "department": dept}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let coord = login("bench.coord").await;
    let em = login("bench.em").await;
    // The units beyond the seeded departments, as member units.
    for code in ["TOWN"] {
        let r = client
            .post(format!("{base}/api/v1/departments"))
            .bearer_auth(&admin)
            .json(&json!({"code": code, "name": "区住建局", "duties": "压测单位"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    println!(
        "consultations on {backend}: {n_meetings} meetings, {} decisions, {n_reports} progress reports, \
         {requests} requests per row ({CONCURRENCY} clients)",
        n_meetings * 10
    );

    let seed_started = Instant::now();
    let db = state.db.clone();
    let now = SystemClock.now_naive();
    let people = tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let conn = &mut *conn;
        // 200 named people with addresses, to invite at once.
        let mut people = Vec::new();
        for i in 0..200 {
            people.push(
                common::insert_user(
                    conn,
                    &format!("bench.p{i:03}"),
                    &format!("p{i:03}@bench.gov.cn"),
                    "officer",
                    (Some(UNITS[i % UNITS.len()]), None),
                )
                .unwrap(),
            );
        }
        let mut all_decisions: Vec<Decision> = Vec::new();
        let chunk = 500;
        let mut k = 0;
        while k < n_meetings {
            let end = (k + chunk).min(n_meetings);
            let (mut ms, mut inv, mut ag, mut mins, mut ds) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for j in k..end {
                // Spread over the past two years; the last fifty lie ahead.
                let starts = if j + 50 >= n_meetings {
                    now + Duration::days((j + 50 - n_meetings) as i64 + 1)
                } else {
                    now - Duration::days(730)
                        + Duration::minutes((j * 730 * 1440 / n_meetings) as i64)
                };
                let mut m = meeting(j, starts);
                let ahead = starts > now;
                if ahead {
                    m.state = MeetingState::Scheduled;
                }
                for u in 0..4 {
                    inv.push(Invitee {
                        consultation_id: m.id.clone(),
                        kind: InviteeKind::Department,
                        unit: UNITS[(j + u) % UNITS.len()].into(),
                        answer: if ahead {
                            Answer::Pending
                        } else {
                            Answer::Attending
                        },
                        attendee_name: if ahead {
                            String::new()
                        } else {
                            "科长".into()
                        },
                        reason: String::new(),
                        answered_by: None,
                        answered_at: None,
                        reminded_at: None,
                    });
                }
                for p in 1..=2 {
                    ag.push(AgendaItem {
                        consultation_id: m.id.clone(),
                        position: p,
                        title: format!("议程 {p}"),
                        lead_id: None,
                        mine_id: None,
                        hazard_id: None,
                        request_id: None,
                    });
                }
                if !ahead {
                    mins.push(Minutes {
                        consultation_id: m.id.clone(),
                        attendees: "科长".into(),
                        discussion: "议定如下。".into(),
                        agenda_notes: "[]".into(),
                        state: MinutesState::Approved,
                        drafted_by: None,
                        drafted_at: m.ends_at,
                        approved_by: None,
                        approved_at: Some(m.ends_at + Duration::hours(4)),
                        version: 2,
                    });
                    let entered = m.ends_at + Duration::hours(4);
                    for p in 0..10usize {
                        let n = j * 10 + p;
                        let due = (entered + Duration::days(30 + (n % 120) as i64)).date();
                        // Nine in ten closed; of the rest two in three open, one waiting for review.
                        let state = match n % 30 {
                            0 | 1 => DecisionState::Open,
                            2 => DecisionState::Reported,
                            _ => DecisionState::Closed,
                        };
                        ds.push(Decision {
                            id: uuid::Uuid::now_v7().to_string(),
                            consultation_id: m.id.clone(),
                            position: p as i32 + 1,
                            number: format!("{}-{}", m.number, p + 1),
                            body: format!("议定事项 {n}"),
                            kind: DecisionKind::Task,
                            responsible_unit: UNITS[n % UNITS.len()].into(),
                            cooperating_units: String::new(),
                            mine_id: None,
                            due_on: due,
                            state,
                            percent: if state == DecisionState::Closed {
                                100
                            } else {
                                40
                            },
                            opened_type: None,
                            opened_id: None,
                            entered_at: Some(entered),
                            closed_at: (state == DecisionState::Closed)
                                .then(|| entered + Duration::days(20 + (n % 60) as i64)),
                            escalated_at: None,
                            created_at: m.ends_at,
                            updated_at: entered,
                            version: 1,
                        });
                    }
                }
                ms.push(m);
            }
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                batch!(c, consultations::table, ms);
                batch!(c, consultation_invitees::table, inv);
                batch!(c, consultation_agenda::table, ag);
                batch!(c, consultation_minutes::table, mins);
                batch!(c, decisions::table, ds);
                Ok(())
            })
            .unwrap();
            all_decisions.extend(ds);
            k = end;
        }
        // Progress reports (对账), spread over the decisions; the waiting ones pending.
        let mut i = 0;
        while i < n_reports {
            let end = (i + 10_000).min(n_reports);
            let rs: Vec<Report> = (i..end)
                .map(|r| {
                    let d = &all_decisions[r * 7 % all_decisions.len()];
                    let at = d.entered_at.unwrap() + Duration::days((r % 30) as i64 + 1);
                    let pending = d.state == DecisionState::Reported && r % 3 == 0;
                    Report {
                        id: uuid::Uuid::now_v7().to_string(),
                        decision_id: d.id.clone(),
                        body: "按计划推进".into(),
                        percent: 50,
                        done: 0,
                        reported_by: None,
                        reported_at: at,
                        review: if pending {
                            Review::Pending
                        } else {
                            Review::Accepted
                        },
                        review_reason: String::new(),
                        reviewed_by: None,
                        reviewed_at: (!pending).then(|| at + Duration::days(1)),
                    }
                })
                .collect();
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                batch!(c, decision_reports::table, rs);
                Ok(())
            })
            .unwrap();
            i = end;
        }
        // 24 months of monthly reports: every unit, one item per decision it owed.
        let mut month = Month::of(minecoord::platform::clock::shanghai_date(now)).previous();
        for _ in 0..24 {
            let start = month.first_day().and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8);
            let stop = month.next().first_day().and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8);
            let (mut rs, mut items) = (Vec::new(), Vec::new());
            for (u, unit) in UNITS.iter().enumerate() {
                let id = uuid::Uuid::now_v7().to_string();
                let filed =
                    month.due_on(6).and_hms_opt(2, 0, 0).unwrap() - Duration::days((u % 3) as i64);
                rs.push(MonthlyReport {
                    id: id.clone(),
                    month: month.to_string(),
                    unit: (*unit).into(),
                    state: ReportState::Approved,
                    drafted_by: None,
                    drafted_at: filed,
                    approved_by: None,
                    approved_at: Some(filed),
                    explanation: String::new(),
                    filed_at: Some(filed),
                    late: 0,
                    version: 2,
                });
                items.extend(
                    all_decisions
                        .iter()
                        .filter(|d| d.responsible_unit == *unit)
                        .filter(|d| d.entered_at.is_some_and(|e| e < stop))
                        .filter(|d| d.closed_at.is_none_or(|c| c >= start))
                        .map(|d| Item {
                            report_id: id.clone(),
                            decision_id: d.id.clone(),
                            body: "按计划推进".into(),
                            percent: 50,
                        }),
                );
            }
            conn.transaction::<_, diesel::result::Error, _>(|c| {
                batch!(c, monthly_reports::table, rs);
                batch!(c, monthly_report_items::table, items);
                Ok(())
            })
            .unwrap();
            month = month.previous();
        }
        minecoord::consultations::store::ledger::recount(conn).unwrap();
        // As autovacuum would soon after a bulk load: statistics and the visibility map
        // (without which PostgreSQL cannot answer a count from an index alone).
        if let DbConnection::Pg(p) = conn {
            diesel::sql_query("VACUUM ANALYZE").execute(p).unwrap();
        }
        if let DbConnection::Sqlite(s) = conn {
            diesel::sql_query("ANALYZE").execute(s).unwrap();
        }
        people
    })
    .await
    .unwrap();
    let items: i64 = {
        let db = state.db.clone();
        tokio::task::spawn_blocking(move || {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut c = db.get().unwrap();
            diesel::sql_query("SELECT COUNT(*) AS n FROM monthly_report_items")
                .get_result::<N>(&mut *c)
                .unwrap()
                .n
        })
        .await
        .unwrap()
    };
    println!(
        "seeded in {:.0} s ({items} monthly report items)",
        seed_started.elapsed().as_secs_f64()
    );
    println!();
    println!("| request | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    let get = |path: String, token: String| {
        let (c, base) = (client.clone(), base.clone());
        Arc::new(move |_| c.get(format!("{base}{path}")).bearer_auth(&token))
            as Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>
    };
    let last_month = Month::of(minecoord::platform::clock::shanghai_date(now))
        .previous()
        .to_string();
    for (name, path, token) in [
        (
            "the office's board (`GET /api/v1/decisions/board`, coordinator)",
            "/api/v1/decisions/board".to_owned(),
            coord.clone(),
        ),
        (
            "a unit's board (`GET /api/v1/decisions/board`, EM officer)",
            "/api/v1/decisions/board".to_owned(),
            em.clone(),
        ),
        (
            "last month's reporting status (`GET /api/v1/monthly-reports/status`)",
            format!("/api/v1/monthly-reports/status?month={last_month}"),
            coord.clone(),
        ),
        (
            "a unit's open decisions (`GET /api/v1/decisions?unit=EM&state=open`)",
            "/api/v1/decisions?unit=EM&state=open".to_owned(),
            coord.clone(),
        ),
        (
            "the overdue decisions (`GET /api/v1/decisions?overdue=true`)",
            "/api/v1/decisions?overdue=true".to_owned(),
            coord.clone(),
        ),
        (
            "the office's board again, warm",
            "/api/v1/decisions/board".to_owned(),
            coord.clone(),
        ),
    ] {
        let fig = load_requests(requests, CONCURRENCY, get(path, token)).await;
        row(name, &fig);
    }
    // One meeting, 200 named people: every invitation (inbox, email with its calendar) queued.
    let starts = (now + Duration::days(3) + Duration::hours(8))
        .format("%Y-%m-%dT09:00")
        .to_string();
    let ends = (now + Duration::days(3) + Duration::hours(8))
        .format("%Y-%m-%dT11:00")
        .to_string();
    let mut times = Vec::new();
    for run in 0..5 {
        let body = json!({"topic": format!("全省非煤矿山专项会商 {run}"), "starts_at": starts, "ends_at": ends, "place": "省厅会议室",
            "invited_users": people, "agenda": [{"title": "部署"}]});
        let t = Instant::now();
        let r = client
            .post(format!("{base}/api/v1/consultations"))
            .bearer_auth(&coord)
            .json(&body)
            .send()
            .await
            .unwrap();
        let took = t.elapsed();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
        times.push(took);
    }
    times.sort();
    println!();
    println!(
        "convening one meeting with 200 people invited (`POST /api/v1/consultations`, 200 inbox notices and 200 emails with calendars queued): median {:.0} ms, slowest {:.0} ms of 5",
        times[2].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0
    );
    let (rss, peak) = rss_kib();
    println!("process RSS {} MiB, peak {} MiB", rss / 1024, peak / 1024);
    serving.stop().await;
    drop(state);
}
