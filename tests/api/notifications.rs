//! The inbox: 相互通报 of permits, grade and supervisor changes; unread first; mark read.

use serde_json::{json, Value};

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

on_both! {
    /// Recording a permit tells every other member unit and the coordination office, not the
    /// issuing department; a grade change tells the mine's watchers and township.
    async fn permits_and_grades_are_made_known(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let ee = officer(&app, "ee.officer", "EE").await;
        let em2 = officer(&app, "em.other", "EM").await;
        app.create_user("xietiao", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("xietiao", PASSWORD).await;
        app.create_user("town.b", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.b", PASSWORD).await;
        let mine = create_mine(&app, &em, mine_body("通报矿", 801)).await;
        let id = mine["id"].as_str().unwrap();
        let r = app.post(&format!("/api/v1/mines/{id}/permits"), &em, json!({"permit_type": "safety_production", "number": "AQ-801", "holder": "通报矿有限公司", "issued_on": "2026-01-05", "expires_on": "2029-01-04"})).await;
        assert_eq!(r.status(), 201);
        let inbox = |token: String| {
            let app = &app;
            async move { app.get("/api/v1/notifications", &token).await.json::<Value>().await.unwrap() }
        };
        let ee_box = inbox(ee.clone()).await;
        assert_eq!(ee_box["unread"], 1);
        assert_eq!(ee_box["items"][0]["title"], "区应急局登记了安全生产许可证：通报矿");
        assert!(ee_box["items"][0]["body"].as_str().unwrap().contains("AQ-801"));
        assert!(ee_box["items"][0]["link"].as_str().unwrap().starts_with("/permits/"));
        assert_eq!(inbox(coord.clone()).await["unread"], 1);
        assert_eq!(inbox(em2.clone()).await["unread"], 0, "the issuing department is not told of its own permit");
        assert_eq!(inbox(em.clone()).await["unread"], 0);
        assert_eq!(inbox(town.clone()).await["unread"], 0);

        app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "重大隐患"})).await;
        let town_box = inbox(town.clone()).await;
        assert_eq!(town_box["unread"], 1, "the township of the mine is told");
        assert!(town_box["items"][0]["title"].as_str().unwrap().contains("D级 · 重大风险"));
        assert_eq!(inbox(em2.clone()).await["unread"], 1, "EM colleagues are told of a grade change");
        assert_eq!(inbox(em.clone()).await["unread"], 0, "not the person who made it");
    }
}

on_both! {
    /// Unread first, mark one or all read, and nobody reads or marks another's notices.
    async fn the_inbox_orders_unread_first_and_marks_read(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let ee = officer(&app, "ee.officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("已读矿", 802)).await;
        let path = format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap());
        for n in ["R-1", "R-2", "R-3"] {
            app.clock.advance(chrono::Duration::minutes(1));
            app.post(&path, &em, json!({"permit_type": "safety_production", "number": n, "holder": "已读矿有限公司", "issued_on": "2026-01-05"})).await;
        }
        let page: Value = app.get("/api/v1/notifications", &ee).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0]["body"].as_str().unwrap().contains("R-3"), "newest first");
        let oldest = items[2]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post(&format!("/api/v1/notifications/{oldest}/read"), &ee, json!({})).await.status(), 204);
        assert_eq!(app.post(&format!("/api/v1/notifications/{oldest}/read"), &em, json!({})).await.status(), 404, "not someone else's");
        let page: Value = app.get("/api/v1/notifications?limit=2", &ee).await.json().await.unwrap();
        assert_eq!(page["unread"], 2);
        assert!(page["items"][0]["read_at"].is_null() && page["items"][1]["read_at"].is_null(), "unread first");
        let next = page["next_cursor"].as_str().unwrap();
        let rest: Value = app.get(&format!("/api/v1/notifications?limit=2&cursor={next}"), &ee).await.json().await.unwrap();
        assert_eq!(rest["items"][0]["id"], oldest.as_str(), "then the read one");
        assert!(rest["next_cursor"].is_null());
        let unread_only: Value = app.get("/api/v1/notifications?unread=true", &ee).await.json().await.unwrap();
        assert_eq!(unread_only["items"].as_array().unwrap().len(), 2);
        let r: Value = app.post("/api/v1/notifications/read-all", &ee, json!({})).await.json().await.unwrap();
        assert_eq!(r["marked"], 2);
        let page: Value = app.get("/api/v1/notifications", &ee).await.json().await.unwrap();
        assert_eq!(page["unread"], 0);
    }
}

on_both! {
    /// A change that is refused tells no one.
    async fn a_refused_change_sends_nothing(app) {
        let em = officer(&app, "em.officer", "EM").await;
        officer(&app, "ee.officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("回滚矿", 803)).await;
        let path = format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap());
        let r = app.post(&path, &em, json!({"permit_type": "safety_production", "number": "X", "holder": "h", "issued_on": "2026-01-05", "expires_on": "2040-01-01"})).await;
        assert_eq!(r.status(), 422);
        assert_eq!(app.count("notifications").await, 0);
    }
}

on_both! {
    /// The page shows the unread count in the header and opening a notice goes to its item.
    async fn the_inbox_page_opens_items(app) {
        let em = officer(&app, "em.officer", "EM").await;
        officer(&app, "ee.page", "EE").await;
        let mine = create_mine(&app, &em, mine_body("页面通知矿", 804)).await;
        app.post(&format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap()), &em,
            json!({"permit_type": "safety_production", "number": "P-1", "holder": "h", "issued_on": "2026-01-05"})).await;
        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let csrf = login[login.find(marker).unwrap() + marker.len()..].split('"').next().unwrap().to_owned();
        client.post(app.url("/login")).form(&[("username", "ee.page"), ("password", PASSWORD), ("csrf", &csrf)]).send().await.unwrap();
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("id=\"unread-count\">1<"), "{home}");
        let page = client.get(app.url("/notifications")).send().await.unwrap().text().await.unwrap();
        let start = page.find("href=\"/notifications/").unwrap() + 6;
        let open = page[start..].split('"').next().unwrap().to_owned();
        let r = client.get(app.url(&open)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/permits/"));
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(!home.contains("unread-count"));
    }
}

use crate::helpers::*;

on_both! {
    /// Acting on a lead marks the actor's notices about it read; others' stay unread.
    async fn acting_on_a_lead_reads_its_notices(app) {
        app.create_user("town.rd", "township", None, Some("BEHT")).await;
        app.create_user("ee.rd", "officer", Some("EE"), None).await;
        app.create_user("ee.rd2", "officer", Some("EE"), None).await;
        let town = app.token_for("town.rd", PASSWORD).await;
        let ee = app.token_for("ee.rd", PASSWORD).await;
        let ee2 = app.token_for("ee.rd2", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, json!({"title": "扬尘", "category": "dust", "description": "扬尘。"})).await;
        let unread = |t: String| { let app = &app; async move {
            let v: Value = app.get("/api/v1/notifications?unread=true", &t).await.json().await.unwrap();
            v["items"].as_array().unwrap().len()
        }};
        assert_eq!(unread(ee.clone()).await, 1, "the new lead");
        assert_eq!(unread(ee2.clone()).await, 1);
        let id = lead["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({})).await.status(), 200);
        assert_eq!(unread(ee).await, 0, "the one who reported in has seen it");
        assert_eq!(unread(ee2).await, 1, "a colleague has not");
    }
}

on_both! {
    /// Over a lead's whole life the township that raised it gets one notice per step, never
    /// the same one twice.
    async fn one_notice_per_event_per_person(app) {
        app.create_user("town.one", "township", None, Some("BEHT")).await;
        app.create_user("ee.one", "officer", Some("EE"), None).await;
        let town = app.token_for("town.one", PASSWORD).await;
        let ee = app.token_for("ee.one", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, json!({"title": "扬尘", "category": "dust", "description": "扬尘。"})).await;
        let id = lead["id"].as_str().unwrap();
        for (step, body) in [("acknowledge", json!({})), ("verify", json!({"substantiated": true, "note": "属实"})), ("enforce", json!({"measures": ["责令整改"], "rectify_by": "2026-03-20", "note": "下达整改通知书"})), ("close", json!({"note": "已整改"}))] {
            assert_eq!(app.post(&format!("/api/v1/leads/{id}/{step}"), &ee, body).await.status(), 200, "{step}");
        }
        let mine: Value = app.get("/api/v1/notifications?limit=100", &town).await.json().await.unwrap();
        let titles: Vec<String> = mine["items"].as_array().unwrap().iter()
            .filter(|n| n["entity_id"] == id)
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(titles.len(), 4, "{titles:?}");
        let mut distinct = titles.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), titles.len(), "{titles:?}");
    }
}

on_both! {
    /// The notices page marks everything read with one button, which goes once nothing is
    /// unread.
    async fn all_notices_are_marked_read_from_the_page(app) {
        app.create_user("town.all", "township", None, Some("BEHT")).await;
        app.create_user("ee.all", "officer", Some("EE"), None).await;
        let town = app.token_for("town.all", PASSWORD).await;
        for title in ["扬尘一", "扬尘二"] {
            crate::leads::raise(&app, &town, json!({"title": title, "category": "dust", "description": "扬尘。"})).await;
        }
        let (client, csrf) = browser_session(&app, "ee.all", PASSWORD).await;
        let page = client.get(app.url("/notifications")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("未读 2 条") && page.contains(r#"action="/notifications/read-all""#) && page.contains("全部标为已读"), "{page}");
        let r = client.post(app.url("/notifications/read-all")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = client.get(app.url(r.headers()["location"].to_str().unwrap())).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("通知已全部标为已读") && page.contains("未读 0 条") && !page.contains("read-all"), "{page}");
        let unread = app.count("notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'ee.all' AND n.read_at IS NULL").await;
        assert_eq!(unread, 0);
    }
}
