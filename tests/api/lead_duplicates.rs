//! Possible duplicates before raising, and merging a duplicate into the original.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

on_both! {
    async fn duplicates_are_shown_and_merged(app) {
        app.create_user("town.d1", "township", None, Some("BEHT")).await;
        app.create_user("town.d2", "township", None, Some("KBJD")).await;
        app.create_user("ee.dup", "officer", Some("EE"), None).await;
        let t1 = app.token_for("town.d1", PASSWORD).await;
        let t2 = app.token_for("town.d2", PASSWORD).await;
        let ee = app.token_for("ee.dup", PASSWORD).await;
        let here = json!({"lon": 109.95, "lat": 40.62});
        let original = raise(&app, &t1, json!({"title": "石料厂扬尘", "category": "dust", "description": "扬尘。", "location": here})).await;
        // 200 m east, same category: a possible duplicate; 2 km away or another category: not.
        let q = |lon: f64, cat: &str| format!("/api/v1/leads/duplicates?category={cat}&lon={lon}&lat=40.62");
        let near: Value = app.get(&q(109.9524, "dust"), &t2).await.json().await.unwrap();
        assert_eq!(near["items"].as_array().unwrap().len(), 1);
        assert_eq!(near["items"][0]["number"], original["number"]);
        let far: Value = app.get(&q(109.975, "dust"), &t2).await.json().await.unwrap();
        assert_eq!(far["items"].as_array().unwrap().len(), 0);
        let other: Value = app.get(&q(109.9524, "noise"), &t2).await.json().await.unwrap();
        assert_eq!(other["items"].as_array().unwrap().len(), 0);
        let r = app.get("/api/v1/leads/duplicates?lon=1", &t2).await;
        assert_eq!(problem(r).await.0, 422);

        // The page shows them before raising, and raises once confirmed.
        let (client, csrf) = browser_session(&app, "town.d2", PASSWORD).await;
        let form = [("csrf", csrf.as_str()), ("title", "又见扬尘"), ("category", "dust"), ("description", "扬尘很大"), ("lon", "109.9524"), ("lat", "40.62")];
        let r = client.post(app.url("/leads/new")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains("可能是同一问题") && page.contains(original["number"].as_str().unwrap()) && page.contains("仍要提交"), "{page}");
        assert_eq!(app.count("leads").await, 1, "nothing raised yet");
        let mut confirmed = form.to_vec();
        confirmed.push(("confirm_duplicate", "true"));
        let r = client.post(app.url("/leads/new")).form(&confirmed).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let dup_id = r.headers()["location"].to_str().unwrap().trim_start_matches("/leads/").split('?').next().unwrap().to_owned();

        // EE merges the duplicate into the original; both keep their history; the second
        // township now follows the original.
        let r = app.post(&format!("/api/v1/leads/{dup_id}/merge"), &t2, json!({"into": original["number"], "reason": "同一处扬尘"})).await;
        assert_eq!(r.status(), 403);
        let r = app.post(&format!("/api/v1/leads/{dup_id}/merge"), &ee, json!({"into": "XS-2026-999999", "reason": "x"})).await;
        assert_eq!(problem(r).await.0, 422);
        let r = app.post(&format!("/api/v1/leads/{dup_id}/merge"), &ee, json!({"into": original["number"], "reason": "同一处扬尘"})).await;
        let (status, dup) = problem(r).await;
        assert_eq!(status, 200, "{dup}");
        assert_eq!(dup["state"], "closed");
        assert_eq!(dup["merged_into"], original["id"]);
        assert_eq!(dup["timeline"].as_array().unwrap().last().unwrap()["kind"], "merged");
        let orig: Value = app.get(&format!("/api/v1/leads/{}", original["id"].as_str().unwrap()), &t2).await.json().await.unwrap();
        assert_eq!(orig["timeline"].as_array().unwrap().last().unwrap()["kind"], "merged_from", "the follower may read the original");
        app.post(&format!("/api/v1/leads/{}/acknowledge", original["id"].as_str().unwrap()), &ee, json!({})).await;
        let inbox: Value = app.get("/api/v1/notifications", &t2).await.json().await.unwrap();
        let kinds: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|n| n["title"].as_str().unwrap()).collect();
        assert!(kinds.iter().any(|t| t.contains("报到") && t.contains(original["number"].as_str().unwrap())), "{kinds:?}");
        let stats: Value = app.get("/api/v1/stats/leads?from=2026-03-01&to=2026-03-31", &ee).await.json().await.unwrap();
        let ee_stats = stats["departments"].as_array().unwrap().iter().find(|d| d["department"] == "EE").unwrap().clone();
        assert_eq!(ee_stats["received"], 1, "a merged duplicate is not counted twice");
    }
}

on_both! {
    /// Merging closes the duplicate, so it takes the right to handle both leads: an
    /// assisting department cannot close the primary department's lead by merging it into
    /// its own, nor the primary merge into a lead another department handles. The
    /// coordination office can.
    async fn merging_takes_the_right_to_handle_both_leads(app) {
        app.create_user("town.m", "township", None, Some("BEHT")).await;
        app.create_user("drc.m", "officer", Some("DRC"), None).await;
        app.create_user("gds.m", "officer", Some("GDS"), None).await;
        app.create_user("coord.m", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.m", PASSWORD).await;
        let drc = app.token_for("drc.m", PASSWORD).await;
        let gds = app.token_for("gds.m", PASSWORD).await;
        let coord = app.token_for("coord.m", PASSWORD).await;
        // GDS handles it, DRC assists.
        let gds_lead = raise(&app, &town, json!({"title": "未核准开工", "category": "project_unapproved", "description": "未经核准擅自开工建设。"})).await;
        // DRC handles it.
        let drc_lead = raise(&app, &town, json!({"title": "落后产能", "category": "industrial_policy", "description": "不符合产业政策。"})).await;
        assert_eq!(gds_lead["primary_department"], "GDS");
        assert_eq!(drc_lead["primary_department"], "DRC");
        let merge = |token: &str| {
            let path = format!("/api/v1/leads/{}/merge", gds_lead["id"].as_str().unwrap());
            let body = json!({"into": drc_lead["number"], "reason": "同一问题"});
            let token = token.to_owned();
            let app = &app;
            async move { problem(app.post(&path, &token, body).await).await }
        };
        let (status, body) = merge(&drc).await;
        assert_eq!(status, 403, "an assisting department: {body}");
        // GDS does not even see DRC's lead: refused as an unknown original.
        let (status, body) = merge(&gds).await;
        assert!(matches!(status, 403 | 422), "not the original's department: {body}");
        let still: Value = app.get(&format!("/api/v1/leads/{}", gds_lead["id"].as_str().unwrap()), &gds).await.json().await.unwrap();
        assert_eq!(still["state"], "routed", "nothing closed");
        let (status, body) = merge(&coord).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "closed");

        // After the merge each lead is seen by its own departments only: a department on
        // the surviving lead alone does not see the merged one, and GDS (on the merged one
        // only) keeps its own record but does not see the surviving lead.
        let on = |lead: &Value| -> Vec<String> {
            let mut d = vec![lead["primary_department"].as_str().unwrap().to_owned()];
            d.extend(lead["assisting_departments"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()));
            d
        };
        let (merged, surviving) = (on(&gds_lead), on(&drc_lead));
        let merged_path = format!("/api/v1/leads/{}", gds_lead["id"].as_str().unwrap());
        let surviving_path = format!("/api/v1/leads/{}", drc_lead["id"].as_str().unwrap());
        let mut checked = 0;
        for dept in surviving.iter().filter(|d| !merged.contains(d)) {
            let user = format!("only.{}", dept.to_lowercase());
            app.create_user(&user, "officer", Some(dept), None).await;
            let t = app.token_for(&user, PASSWORD).await;
            assert_eq!(app.get(&surviving_path, &t).await.status(), 200, "{dept} is on the surviving lead");
            assert_eq!(app.get(&merged_path, &t).await.status(), 404, "{dept} is not on the merged lead");
            checked += 1;
        }
        assert!(checked > 0, "DRC's lead has a department GDS's lead has not: {surviving:?} {merged:?}");
        assert_eq!(app.get(&merged_path, &gds).await.status(), 200, "GDS is on the merged lead");
        assert_eq!(app.get(&surviving_path, &gds).await.status(), 404, "GDS is not on the surviving lead");
    }
}

on_both! {
    /// Possible duplicates show everyone about to raise a lead its number, title and state;
    /// the lead itself (description, raiser) only to those who may read it, for every role.
    async fn duplicates_show_others_leads_without_their_details(app) {
        app.create_user("town.own", "township", None, Some("BEHT")).await;
        app.create_user("town.other", "township", None, Some("KBJD")).await;
        app.create_user("ee.own", "officer", Some("EE"), None).await;
        app.create_user("em.other", "officer", Some("EM"), None).await;
        app.create_user("coord.all", "coordinator", Some("NR"), None).await;
        let own = app.token_for("town.own", PASSWORD).await;
        let here = json!({"lon": 109.95, "lat": 40.62});
        let lead = raise(&app, &own, json!({"title": "夜间扬尘", "category": "dust", "description": "举报人电话 13800000000，夜间装车扬尘。", "location": here})).await;
        let q = "/api/v1/leads/duplicates?category=dust&lon=109.9501&lat=40.62";
        for (user, full) in [("town.own", true), ("town.other", false), ("ee.own", true), ("em.other", false), ("coord.all", true)] {
            let token = app.token_for(user, PASSWORD).await;
            let r = app.get(q, &token).await;
            assert_eq!(r.status(), 200, "{user}");
            let body: Value = r.json().await.unwrap();
            let item = &body["items"][0];
            assert_eq!(item["number"], lead["number"], "{user}");
            assert_eq!(item["title"], "夜间扬尘", "{user}");
            assert_eq!(item["state"], "routed", "{user}");
            assert_eq!(item.get("lead").is_some(), full, "{user}: {item}");
            assert_eq!(body.to_string().contains("13800000000"), full, "{user}: {body}");
        }
        let admin = app.admin_token.clone();
        assert_eq!(app.get(q, &admin).await.status(), 403, "admins do not raise leads");
    }
}
