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
    }
}
