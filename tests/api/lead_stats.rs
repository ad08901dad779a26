//! The lead statistics on a known data set, the stats page, and the lead ledger.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

async fn act(app: &TestApp, user: &str, id: &str, step: &str, body: Value) {
    let token = app.token_for(user, PASSWORD).await;
    let r = app
        .post(&format!("/api/v1/leads/{id}/{step}"), &token, body)
        .await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 200, "{user} {step}: {body}");
}

on_both! {
    async fn the_statistics_of_a_known_month(app) {
        app.create_user("town.st", "township", None, Some("BEHT")).await;
        app.create_user("ee.st", "officer", Some("EE"), None).await;
        app.create_user("em.st", "officer", Some("EM"), None).await;
        app.create_user("coord.st", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.st", PASSWORD).await;
        let dust = |t: &str, u: &str| json!({"title": t, "category": "dust", "urgency": u, "description": "扬尘。"});
        // Monday 2026-03-02 09:00.
        let l1 = raise(&app, &town, dust("一号", "normal")).await["id"].as_str().unwrap().to_owned();
        let l2 = raise(&app, &town, dust("二号", "normal")).await["id"].as_str().unwrap().to_owned();
        let _l3 = raise(&app, &town, dust("三号", "urgent")).await["id"].as_str().unwrap().to_owned();
        let l4 = raise(&app, &town, json!({"title": "四号", "category": "safety_violation", "description": "隐患。"})).await["id"].as_str().unwrap().to_owned();

        app.clock.advance(Duration::minutes(10));
        act(&app, "em.st", &l4, "acknowledge", json!({})).await;
        act(&app, "em.st", &l4, "verify", json!({"substantiated": false, "note": "不属实"})).await;
        act(&app, "em.st", &l4, "close", json!({"note": "已答复"})).await;
        app.clock.advance(Duration::minutes(110)); // T0 + 2 h
        act(&app, "ee.st", &l1, "acknowledge", json!({})).await;
        act(&app, "ee.st", &l1, "verify", json!({"substantiated": true, "note": "属实"})).await;
        app.clock.advance(Duration::hours(46)); // T0 + 48 h
        act(&app, "ee.st", &l1, "close", json!({"note": "已整改"})).await;
        app.clock.advance(Duration::hours(1)); // Wednesday 10:00: a day late
        act(&app, "ee.st", &l2, "acknowledge", json!({})).await;
        let town = app.token_for("town.st", PASSWORD).await;
        assert_eq!(app.post(&format!("/api/v1/leads/{l1}/evaluate"), &town, json!({"verdict": "satisfied"})).await.status(), 200);
        assert_eq!(app.post(&format!("/api/v1/leads/{l4}/evaluate"), &town, json!({"verdict": "dissatisfied", "comment": "未到现场"})).await.status(), 200);
        app.clock.advance(Duration::hours(23)); // Thursday 09:00

        let coord = app.token_for("coord.st", PASSWORD).await;
        let r = app.get("/api/v1/stats/leads?from=2026-03-01&to=2026-03-31", &coord).await;
        let (status, stats) = problem(r).await;
        assert_eq!(status, 200, "{stats}");
        let dept = |code: &str| stats["departments"].as_array().unwrap().iter().find(|d| d["department"] == code).unwrap().clone();
        let ee = dept("EE");
        assert_eq!((ee["received"].as_i64(), ee["acknowledged"].as_i64(), ee["acknowledged_on_time"].as_i64(), ee["closed"].as_i64()), (Some(3), Some(2), Some(1), Some(1)), "{ee}");
        assert_eq!(ee["response_rate"], 66.7);
        assert_eq!(ee["on_time_rate"], 33.3);
        assert_eq!(ee["closure_rate"], 33.3);
        assert_eq!((ee["evaluated"].as_i64(), ee["satisfied"].as_i64()), (Some(1), Some(1)));
        assert_eq!(ee["satisfaction_rate"], 100.0);
        assert_eq!(ee["overdue_now"], 1, "the urgent one nobody reported in on");
        assert_eq!(ee["median_hours_to_acknowledge"], 25.5);
        assert_eq!(ee["median_hours_to_close"], 48.0);
        let em = dept("EM");
        assert_eq!((em["received"].as_i64(), em["on_time_rate"].as_f64(), em["closure_rate"].as_f64(), em["satisfaction_rate"].as_f64()), (Some(1), Some(100.0), Some(100.0), Some(0.0)));
        assert_eq!(em["median_hours_to_acknowledge"], 0.2);
        let nr = dept("NR");
        assert_eq!(nr["received"], 0);
        assert!(nr["response_rate"].is_null());
        let beht = stats["townships"].as_array().unwrap().iter().find(|t| t["township"] == "BEHT").unwrap().clone();
        assert_eq!(beht["raised"], 4);
        let feb: Value = app.get("/api/v1/stats/leads?from=2026-02-01&to=2026-02-28", &coord).await.json().await.unwrap();
        assert_eq!(feb["departments"].as_array().unwrap().iter().map(|d| d["received"].as_i64().unwrap()).sum::<i64>(), 0);
        let r = app.get("/api/v1/stats/leads?from=2026-03-31&to=2026-03-01", &coord).await;
        assert_eq!(problem(r).await.0, 422);

        let (client, _) = browser_session(&app, "coord.st", PASSWORD).await;
        let page = client.get(app.url("/leads/stats?from=2026-03-01&to=2026-03-31")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("线索办理统计") && page.contains("66.7%") && page.contains("卜尔汉图镇 4") && page.contains("25.5"), "{page}");
        // Week by week (all four raised in the week of Monday 2 March; two closed in it), drawn.
        let weeks = stats["weeks"].as_array().unwrap();
        assert_eq!(weeks[0]["week"], "2026-02-23", "the week of 1 March begins on Monday 23 February");
        let first_march = weeks.iter().find(|w| w["week"] == "2026-03-02").unwrap();
        assert_eq!((first_march["raised"].as_i64(), first_march["closed"].as_i64()), (Some(4), Some(2)), "{first_march}");
        assert_eq!(weeks.iter().map(|w| w["raised"].as_i64().unwrap()).sum::<i64>(), 4);
        assert_eq!(weeks.last().unwrap()["week"], "2026-03-30");
        let charts = &page[page.find("id=\"charts\"").expect("charts on the page")..];
        assert!(charts.contains("<svg") && charts.contains("每周吹哨与办结") && charts.contains("03-02 吹哨：4"), "{charts}");
        assert!(charts.contains("报到及时率") && charts.contains("区生态环境分局"));
        // Against the district's targets (config leads.targets): EE's 66.7% response is short
        // of 100% and drawn in orange, EM's 100% on-time meets 95%.
        assert_eq!(stats["targets"]["on_time_rate"], 95.0);
        assert!(charts.contains("虚线为目标 95%") && charts.contains("虚线为目标 100%"), "{charts}");
        assert!(charts.contains(r##"fill="#e07000""##), "a department short of its target is orange");
        assert!(page.contains("/api/v1/stats/leads.xlsx?from=2026-03-01&"), "the export link");
        let r = app.get("/api/v1/stats/leads.xlsx?from=2026-03-01&to=2026-03-31", &coord).await;
        assert_eq!(r.status(), 200);
        let rows = minecoord::platform::xlsx::read_first_sheet(&r.bytes().await.unwrap(), &Default::default()).unwrap();
        let ee_row = rows.iter().find(|r| r[1] == "区生态环境分局").expect("EE's row");
        assert_eq!((ee_row[2].as_str(), ee_row[4].as_str()), ("3", "66.7"), "{ee_row:?}");
        let town = app.token_for("town.st", PASSWORD).await;
        assert_eq!(app.get("/api/v1/stats/leads.xlsx", &town).await.status(), 200, "townships read the figures too");

        let r = app.get("/api/v1/leads/export.xlsx?state=closed", &coord).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], minecoord::platform::xlsx::XLSX);
        let rows = minecoord::platform::xlsx::read_first_sheet(&r.bytes().await.unwrap(), &Default::default()).unwrap();
        assert_eq!(rows.len(), 3, "header and the two closed leads: {rows:?}");
        assert_eq!(rows[0][0], "编号");
        assert!(rows.iter().any(|r| r[1] == "一号" && r[8] == "已办结"));
        // The ledger reads the list page by page: pages of one give every lead, once.
        let titles = |q: &'static str| {
            let (app, coord) = (&app, &coord);
            async move {
                let r = app.get(&format!("/api/v1/leads/export.xlsx?{q}"), coord).await;
                let rows = minecoord::platform::xlsx::read_first_sheet(&r.bytes().await.unwrap(), &Default::default()).unwrap();
                let mut t: Vec<String> = rows[1..].iter().map(|r| r[1].clone()).collect();
                t.sort();
                t
            }
        };
        assert_eq!(titles("state=closed&limit=1").await, vec!["一号", "四号"]);
        assert_eq!(titles("limit=1").await, vec!["三号", "二号"], "the open leads, as the list");
        assert_eq!(titles("limit=1").await, titles("").await);
        let r = app.get("/api/v1/leads/export.xlsx?limit=0", &coord).await;
        assert_eq!(r.status(), 422, "a page size out of bounds names limit");
    }
}

/// The statistics of `from`..`to` read from the kept figures and counted from the leads:
/// every figure equal, the medians within their bucket's precision.
async fn kept_equals_recount(app: &TestApp, from: &str, to: &str) {
    use minecoord::leads::stats::{recount, stats, StatsQuery};
    use minecoord::platform::clock::Clock;
    let q = StatsQuery {
        from: Some(from.into()),
        to: Some(to.into()),
    };
    let now = app.clock.now_naive();
    let today = minecoord::platform::clock::shanghai_date(now);
    let targets = app.state.settings.leads.targets.clone();
    let (kept, counted) = app
        .with_db(move |c| {
            Ok((
                stats(c, &q, today, now, &targets)?,
                recount(c, &q, today, now, &targets)?,
            ))
        })
        .await;
    let (mut kept, mut counted) = (
        serde_json::to_value(kept).unwrap(),
        serde_json::to_value(counted).unwrap(),
    );
    let departments = counted["departments"].as_array().unwrap().len();
    for i in 0..departments {
        for field in ["median_hours_to_acknowledge", "median_hours_to_close"] {
            let (k, c) = (
                kept["departments"][i][field].take(),
                counted["departments"][i][field].take(),
            );
            match (k.as_f64(), c.as_f64()) {
                (None, None) => {}
                (Some(k), Some(c)) => {
                    // Both are rounded to a tenth of an hour.
                    let precision =
                        minecoord::platform::rules::histogram::Histogram::precision_at(c)
                            + 0.1
                            + 1e-9;
                    assert!(
                        (k - c).abs() <= precision,
                        "{from}..{to} department {i} {field}: kept {k}, counted {c}"
                    );
                }
                other => panic!("{from}..{to} department {i} {field}: {other:?}"),
            }
        }
    }
    assert_eq!(kept, counted, "{from}..{to}");
    assert!(
        counted["departments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["received"].as_i64() > Some(0))
            || from > "2026-04-30"
    );
}

/// Every period's stamp (`lead_stat_stamps`), by period.
async fn stamps(app: &TestApp) -> std::collections::BTreeMap<String, String> {
    app.with_db(|c| {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::lead_stat_stamps as s;
        Ok(s::table
            .select((s::period, s::stamp))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect())
    })
    .await
}

async fn roll_up(app: &TestApp) {
    loop {
        match minecoord::app::jobs::roll_up_stats(&app.state)
            .await
            .expect("rollup")
        {
            Some(r) if r.marks == 0 && r.due_days == 0 => return,
            Some(_) => {}
            None => panic!("another rollup holds the row"),
        }
    }
}

const PERIODS: [(&str, &str); 6] = [
    ("2026-03-01", "2026-04-30"),
    ("2026-03-01", "2026-03-31"),
    ("2026-03-10", "2026-04-05"),
    ("2026-03-15", "2026-03-15"),
    ("2026-02-01", "2026-05-31"),
    ("2026-05-01", "2026-05-31"),
];

on_both! {
    /// Statistics read from the kept figures (days rolled up, whole months, days marked
    /// since) equal the statistics counted from the leads, on five weeks of leads raised,
    /// reported in (on time or late), verified, closed, evaluated and merged, across Beijing
    /// midnights and a month's end; before any rollup, after it, after more changes, and
    /// after rolling those up.
    async fn kept_figures_equal_a_recount(app) {
        app.create_user("t1.kf", "township", None, Some("BEHT")).await;
        app.create_user("t2.kf", "township", None, Some("KBJD")).await;
        app.create_user("ee.kf", "officer", Some("EE"), None).await;
        app.create_user("em.kf", "officer", Some("EM"), None).await;
        app.create_user("drc.kf", "officer", Some("DRC"), None).await;
        app.create_user("coord.kf", "coordinator", Some("NR"), None).await;
        let kinds = [("dust", "ee.kf"), ("safety_violation", "em.kf"), ("industrial_policy", "drc.kf")];
        let mut leads: Vec<(String, String, &str)> = Vec::new(); // id, number, officer
        let mut closed: Vec<usize> = Vec::new();
        for i in 0..36usize {
            app.clock.advance(Duration::hours(17 + (i as i64 * 5) % 13) + Duration::minutes((i as i64 * 17) % 60));
            let (category, officer) = kinds[i % 3];
            let town = app.token_for(if i % 2 == 0 { "t1.kf" } else { "t2.kf" }, PASSWORD).await;
            let urgency = if i % 5 == 0 { "urgent" } else { "normal" };
            let lead = raise(&app, &town, json!({"title": format!("第{i}条"), "category": category, "urgency": urgency, "description": "统计核对。"})).await;
            leads.push((lead["id"].as_str().unwrap().to_owned(), lead["number"].as_str().unwrap().to_owned(), officer));
            if i >= 1 && (i - 1) % 4 != 3 && (i - 1) % 10 != 7 {
                let (id, _, officer) = &leads[i - 1];
                act(&app, officer, id, "acknowledge", json!({})).await;
            }
            if i >= 2 && (i - 2) % 3 == 0 && (i - 2) % 4 != 3 && (i - 2) % 10 != 7 {
                let (id, _, officer) = &leads[i - 2];
                act(&app, officer, id, "verify", json!({"substantiated": i % 2 == 0, "note": "核查"})).await;
                act(&app, officer, id, "close", json!({"note": "办结"})).await;
                closed.push(i - 2);
            }
            if i >= 3 && closed.contains(&(i - 3)) {
                let town = app.token_for(if (i - 3) % 2 == 0 { "t1.kf" } else { "t2.kf" }, PASSWORD).await;
                let verdict = if i % 2 == 0 { json!({"verdict": "satisfied"}) } else { json!({"verdict": "dissatisfied", "comment": "不满意"}) };
                assert_eq!(app.post(&format!("/api/v1/leads/{}/evaluate", leads[i - 3].0), &town, verdict).await.status(), 200);
            }
            if i % 10 == 7 {
                // A duplicate of the last open lead of its category (and department).
                let j = (0..i).rev().find(|j| j % 3 == i % 3 && !closed.contains(j) && j % 10 != 7).expect("an open lead");
                let (dup, (_, into, _)) = (&leads[i].0, &leads[j]);
                let token = app.token_for(officer, PASSWORD).await;
                let r = app.post(&format!("/api/v1/leads/{dup}/merge"), &token, json!({"into": into, "reason": "同一问题"})).await;
                assert_eq!(r.status(), 200, "merge {i}");
            }
        }
        assert!(app.count("lead_stat_changes").await > 0, "every change notes its lead");
        // Nothing rolled up: every lead is added to the (empty) kept figures at the request.
        for (from, to) in PERIODS {
            kept_equals_recount(&app, from, to).await;
        }
        roll_up(&app).await;
        assert_eq!(app.count("lead_stat_changes").await, 0);
        assert_eq!(app.count("lead_stat_parts").await, 36, "every lead's part kept");
        assert_eq!(app.count("lead_due_marks").await, 0);
        assert!(app.count("lead_due_days").await > 0, "open leads kept by deadline day");
        assert_eq!(app.count("lead_stat_hours WHERE period = '2026-03'").await, 1, "March's histogram, whole");
        assert!(app.count("lead_stat_days WHERE day = '2026-03'").await > 0, "March's counts, whole");
        for (from, to) in PERIODS {
            kept_equals_recount(&app, from, to).await;
        }
        // Each period the rollup wrote has a stamp, under which the process keeps it read.
        let before = stamps(&app).await;
        assert!(before.contains_key("2026-03") && before.contains_key("2026-03-15"), "{before:?}");
        // More changes: some leads are noted again, the rest read as kept.
        app.clock.advance(Duration::hours(30));
        for i in [4usize, 8, 13, 34] {
            let (id, _, officer) = &leads[i];
            act(&app, officer, id, "verify", json!({"substantiated": true, "note": "补核"})).await;
            act(&app, officer, id, "close", json!({"note": "补办结"})).await;
        }
        assert!(app.count("lead_stat_changes").await > 0);
        for (from, to) in PERIODS {
            kept_equals_recount(&app, from, to).await;
        }
        roll_up(&app).await;
        // The periods of the changed leads have new stamps (their raising days and months,
        // and today's and this month's series, where they closed); the others keep theirs,
        // and the process reads them from what it kept.
        let after = stamps(&app).await;
        let changed: Vec<&String> = after.keys().filter(|p| before.get(*p) != after.get(*p)).collect();
        assert!(!changed.is_empty() && changed.len() < before.len(), "{changed:?}");
        let today = {
            use minecoord::platform::clock::Clock;
            minecoord::platform::clock::shanghai_date(app.clock.now_naive())
        };
        assert!(changed.contains(&&today.to_string()) && changed.contains(&&today.format("%Y-%m").to_string()), "{today} {changed:?}");
        for (from, to) in PERIODS {
            kept_equals_recount(&app, from, to).await;
        }
        // The API answers with the kept figures.
        let coord = app.token_for("coord.kf", PASSWORD).await;
        let api: Value = app.get("/api/v1/stats/leads?from=2026-03-01&to=2026-04-30", &coord).await.json().await.unwrap();
        let received: i64 = api["departments"].as_array().unwrap().iter().map(|d| d["received"].as_i64().unwrap()).sum();
        assert_eq!(received, 36 - 3, "36 raised, 3 merged away");
    }
}
