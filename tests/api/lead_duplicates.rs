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
