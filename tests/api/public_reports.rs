//! 群众反映: a member of the public reports a problem about a mine from its public page,
//! without an account; it reaches the coordination office as a lead to divide.

use serde_json::json;

use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

/// The lead number the page shows back after a report.
fn number_in(location: &str) -> String {
    location.split("ok=").nth(1).expect("a number").to_owned()
}

on_both! {
    /// Someone without an account reports from the mine's public page: a missing description
    /// is asked for again with what was typed kept; a report becomes a lead of category 其他
    /// for the coordination office (source 群众反映, from 社会公众) with the contact kept for
    /// the officers; the office finds it waiting to be divided on its desk and is told.
    async fn the_public_reports_a_problem_that_reaches_the_office(app) {
        let em = officer(&app, "em.pub", "EM").await;
        let mine = create_mine(&app, &em, mine_body("公示砂石场", 701)).await;
        app.create_user("coord.pub", "coordinator", Some("NR"), None).await;
        let id = mine["id"].as_str().unwrap().to_owned();
        let public = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let page = public.get(app.url(&format!("/public/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("href=\"/public/mines/{id}/report\">我要反映问题")), "{page}");
        let form = public.get(app.url(&format!("/public/mines/{id}/report"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("反映问题：公示砂石场") && form.contains("name=\"description\""));

        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", "  "), ("name", "老张"), ("phone", "139 0000 1111")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let again = r.text().await.unwrap();
        assert!(again.contains("请填写反映的问题") && again.contains("value=\"老张\""), "{again}");
        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", "晚上十点后还在爆破，震得窗户响。"), ("name", "老张"), ("phone", "abc")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("联系电话只能填写数字"));
        assert_eq!(app.count("leads").await, 0, "nothing written for a report that was sent back");

        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", "晚上十点后还在爆破，震得窗户响。"), ("name", "老张"), ("phone", "139-0000-1111")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let number = number_in(&location);
        let thanks = public.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(thanks.contains(&format!("已收到您反映的问题，编号 {number}")), "{thanks}");
        let crafted = public.get(app.url(&format!("/public/mines/{id}/report?ok=%3Cscript%3E"))).send().await.unwrap().text().await.unwrap();
        assert!(!crafted.contains("已收到") && !crafted.contains("&lt;script"), "only lead numbers are shown back");

        let coord = app.token_for("coord.pub", PASSWORD).await;
        let found: serde_json::Value = app.get(&format!("/api/v1/leads?mine_id={id}"), &coord).await.json().await.unwrap();
        let lead = &found["items"][0];
        assert_eq!(lead["number"], number.as_str(), "{found}");
        assert_eq!(lead["source"], "public");
        assert_eq!(lead["category"], "other");
        assert_eq!(lead["primary_department"], "NR");
        assert_eq!(lead["mine_id"], id.as_str());
        assert_eq!(lead["raised_unit"], "public");
        assert!(lead["raised_by"].is_null(), "{lead}");
        assert!(lead["description"].as_str().unwrap().contains("反映人：老张；联系电话：139-0000-1111"), "{lead}");
        let lead_id = lead["id"].as_str().unwrap().to_owned();
        let (client, _) = browser_session(&app, "coord.pub", PASSWORD).await;
        let desk = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let dispatch = &desk[desk.find("id=\"queue-dispatch\"").expect("the office's 分办 queue")..];
        assert!(dispatch[..dispatch.find("</section>").unwrap()].contains("群众反映：公示砂石场"), "{desk}");
        let page = client.get(app.url(&format!("/leads/{lead_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("社会公众") && !page.contains("（public）"), "{page}");
        let told: serde_json::Value = app.get("/api/v1/notifications", &coord).await.json().await.unwrap();
        assert!(told["items"].as_array().unwrap().iter().any(|n| n["title"].as_str().unwrap().contains(&number)), "{told}");
        let audit = app.count("audit_log WHERE entity_type = 'lead' AND action = 'raise' AND actor_id IS NULL").await;
        assert_eq!(audit, 1, "the report is in the audit trail");
    }
}

on_both! {
    /// What strangers can write is bounded: three reports an hour from one address, then a
    /// 429 saying when to come back (and nothing written); illegal sites and unknown mines
    /// have no report form; a report longer than 2 000 characters is sent back.
    async fn public_reports_are_bounded(app) {
        let em = officer(&app, "em.bound", "EM").await;
        let mine = create_mine(&app, &em, mine_body("限流砂石场", 702)).await;
        let id = mine["id"].as_str().unwrap().to_owned();
        let mut body = mine_body("盗采点", 703);
        body["status"] = json!("illegal_site");
        let illegal = create_mine(&app, &em, body).await;
        let public = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let long = "很".repeat(2001);
        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", long.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("不能超过 2000 个字符"));
        for i in 0..3 {
            let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", format!("第{i}次反映：扬尘很大。"))]).send().await.unwrap();
            assert_eq!(r.status(), 303, "report {i}");
        }
        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", "第四次反映。")]).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.text().await.unwrap().contains("提交太频繁"));
        assert_eq!(app.count("leads").await, 3);
        // An hour later the address may report again.
        app.clock.advance(chrono::Duration::minutes(61));
        let r = public.post(app.url(&format!("/public/mines/{id}/report"))).form(&[("description", "一小时后再反映。")]).send().await.unwrap();
        assert_eq!(r.status(), 303);

        for mine in [illegal["id"].as_str().unwrap().to_owned(), uuid::Uuid::new_v4().to_string()] {
            assert_eq!(public.get(app.url(&format!("/public/mines/{mine}/report"))).send().await.unwrap().status(), 404);
            let r = public.post(app.url(&format!("/public/mines/{mine}/report"))).form(&[("description", "有人偷采。")]).send().await.unwrap();
            assert_eq!(r.status(), 404);
        }
        assert_eq!(app.count("leads").await, 4);
    }
}
