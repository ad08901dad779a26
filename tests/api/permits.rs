//! Permits: 谁审批、谁监管, dates and derived status, decisions, the expiring list.

use serde_json::{json, Value};

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

fn permit(kind: &str, number: &str, issued: &str, expires: Option<&str>) -> Value {
    json!({"permit_type": kind, "number": number, "holder": "青山矿业有限公司", "issued_on": issued, "expires_on": expires})
}

on_both! {
    /// Only the issuing department records its type of permit; other departments get a 403.
    async fn only_the_issuing_department_records_a_permit(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let ee = officer(&app, "ee.officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("青山砂石矿", 101)).await;
        let id = mine["id"].as_str().unwrap();
        let path = format!("/api/v1/mines/{id}/permits");
        let (status, body) = problem(app.post(&path, &nr, permit("safety_production", "（蒙）FM安许证字〔2026〕001", "2026-01-10", Some("2029-01-09"))).await).await;
        assert_eq!(status, 403);
        assert!(body["detail"].as_str().unwrap().contains("谁审批、谁监管"));
        let r = app.post(&path, &em, permit("safety_production", "（蒙）FM安许证字〔2026〕001", "2026-01-10", Some("2029-01-09"))).await;
        assert_eq!(r.status(), 201);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["issuing_department"], "EM");
        assert_eq!(p["status"], "valid");
        let r = app.post(&path, &nr, json!({"permit_type": "mining_licence", "number": "C1502002026017130001", "holder": "青山矿业有限公司",
            "issued_on": "2024-05-01", "expires_on": "2026-04-15", "mineral": "建筑用石料", "scale_10k_t_per_year": 30.0, "area_km2": 0.123456,
            "elevation_top_m": 1250.0, "elevation_bottom_m": 1180.0})).await;
        assert_eq!(r.status(), 201);
        let lic: Value = r.json().await.unwrap();
        assert_eq!(lic["area_km2"], 0.1235, "area kept to 4 decimals");
        assert_eq!(lic["status"], "expiring", "within 60 days of expiry");
        let lic_id = lic["id"].as_str().unwrap();
        let (status, _) = problem(app.patch(&format!("/api/v1/permits/{lic_id}"), &ee, json!({"holder": "别人"})).await).await;
        assert_eq!(status, 403, "another department cannot change it");
        let (status, _) = problem(app.post(&format!("/api/v1/permits/{lic_id}/revoke"), &em, json!({"reason": "x"})).await).await;
        assert_eq!(status, 403);
        let list: Value = app.get(&path, &ee).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2, "everyone reads");
        let audit: Value = app.get(&format!("/api/v1/audit?entity=permit&entity_id={lic_id}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(audit["items"][0]["action"], "create");
    }
}

on_both! {
    /// Dates, numbers and duplicates are checked, every error named.
    async fn permit_input_is_validated(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mine = create_mine(&app, &em, mine_body("验证矿", 102)).await;
        let path = format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap());
        let (status, body) = problem(app.post(&path, &em, json!({"permit_type": "safety_production", "number": "", "holder": "x", "issued_on": "2026-02-30", "expires_on": "2035-01-01"})).await).await;
        assert_eq!(status, 422);
        let f = fields(&body);
        assert!(f.contains(&"number".into()) && f.contains(&"issued_on".into()), "{f:?}");
        let (status, body) = problem(app.post(&path, &em, permit("safety_production", "A-1", "2026-01-10", Some("2035-01-01"))).await).await;
        assert_eq!(status, 422, "a safety permit lasts 3 years");
        assert_eq!(fields(&body), vec!["expires_on"]);
        let (status, body) = problem(app.post(&path, &em, permit("safety_production", "A-1", "2026-01-10", Some("2025-01-01"))).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["expires_on"]);
        assert_eq!(app.post(&path, &em, permit("safety_production", "A-1", "2026-01-10", Some("2029-01-09"))).await.status(), 201);
        let (status, body) = problem(app.post(&path, &em, permit("safety_production", "A-1", "2026-01-11", Some("2029-01-09"))).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("已登记"));
        let (status, body) = problem(app.post(&path, &em, permit("nonsense", "B", "2026-01-10", None)).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["permit_type"]);
        assert_eq!(app.count("permits").await, 1);
    }
}

on_both! {
    /// Suspend, reinstate, revoke: each with a reason, in allowed order only.
    async fn decisions_on_a_permit(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mine = create_mine(&app, &em, mine_body("处罚矿", 103)).await;
        let p: Value = app.post(&format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap()), &em,
            permit("safety_production", "S-9", "2026-01-10", Some("2029-01-09"))).await.json().await.unwrap();
        let id = p["id"].as_str().unwrap();
        let act = |what: &str, reason: &str| {
            let (app, em, path, reason) = (&app, em.clone(), format!("/api/v1/permits/{id}/{what}"), reason.to_owned());
            async move { app.post(&path, &em, json!({"reason": reason})).await }
        };
        let (status, body) = problem(act("suspend", " ").await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["reason"]);
        let r: Value = act("suspend", "应急罚〔2026〕12号").await.json().await.unwrap();
        assert_eq!(r["status"], "suspended");
        assert_eq!(r["status_reason"], "应急罚〔2026〕12号");
        let (status, body) = problem(act("suspend", "again").await).await;
        assert_eq!((status, body["type"].as_str().unwrap()), (409, "invalid_transition"));
        assert_eq!(act("reinstate", "整改完成").await.json::<Value>().await.unwrap()["status"], "valid");
        assert_eq!(act("revoke", "应急罚〔2026〕30号").await.json::<Value>().await.unwrap()["status"], "revoked");
        let (status, _) = problem(act("reinstate", "x").await).await;
        assert_eq!(status, 409, "a revoked permit stays revoked");
        let (status, _) = problem(act("explode", "x").await).await;
        assert_eq!(status, 404);
    }
}

on_both! {
    /// The expiring list and status filters follow each type's warning window.
    async fn what_is_due_is_listed_soonest_first(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let mine = create_mine(&app, &em, mine_body("到期矿", 104)).await;
        let path = format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap());
        // Today is 2026-03-02. Safety permits warn 90 days ahead, mining licences 60.
        app.post(&path, &em, permit("safety_production", "S-1", "2023-05-20", Some("2026-05-19"))).await; // 78 days: expiring
        app.post(&path, &em, permit("safety_production", "S-2", "2025-06-01", Some("2028-05-31"))).await; // valid
        app.post(&path, &nr, permit("mining_licence", "M-1", "2020-04-20", Some("2026-04-20"))).await;    // 49 days: expiring
        app.post(&path, &nr, permit("mining_licence", "M-2", "2016-02-01", Some("2026-02-01"))).await;    // expired
        app.post(&path, &nr, permit("mining_licence", "M-3", "2021-01-01", Some("2026-04-30"))).await;    // 59 days: expiring
        let numbers = |v: &Value| v["items"].as_array().unwrap().iter().map(|p| p["number"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let due: Value = app.get("/api/v1/permits?expiring_within_days=60", &em).await.json().await.unwrap();
        assert_eq!(numbers(&due), vec!["M-1", "M-3"]);
        let due: Value = app.get("/api/v1/permits?expiring_within_days=90", &em).await.json().await.unwrap();
        assert_eq!(numbers(&due), vec!["M-1", "M-3", "S-1"]);
        let expiring: Value = app.get("/api/v1/permits?status=expiring", &em).await.json().await.unwrap();
        assert_eq!(numbers(&expiring), vec!["M-1", "M-3", "S-1"]);
        let expired: Value = app.get("/api/v1/permits?status=expired", &em).await.json().await.unwrap();
        assert_eq!(numbers(&expired), vec!["M-2"]);
        let valid: Value = app.get("/api/v1/permits?status=valid", &em).await.json().await.unwrap();
        assert_eq!(numbers(&valid), vec!["S-2"]);
        let by_dept: Value = app.get("/api/v1/permits?department=EM&limit=1", &em).await.json().await.unwrap();
        assert_eq!(numbers(&by_dept), vec!["S-1"]);
        let next = by_dept["next_cursor"].as_str().unwrap();
        let by_dept: Value = app.get(&format!("/api/v1/permits?department=EM&limit=1&cursor={next}"), &em).await.json().await.unwrap();
        assert_eq!(numbers(&by_dept), vec!["S-2"]);
        let (status, body) = problem(app.get("/api/v1/permits?expiring_within_days=abc", &em).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["expiring_within_days"]);
    }
}

use crate::helpers::*;

on_both! {
    /// 谁审批、谁监管 for a recorded permit is the department recorded on it: moving the
    /// permit type to another department later hands new permits over, not issued ones.
    async fn a_recorded_permit_stays_with_its_issuing_department(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let ee = officer(&app, "ee.officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("归属矿", 104)).await;
        let path = format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap());
        let p: Value = app.post(&path, &em, permit("safety_production", "S-10", "2026-01-10", Some("2029-01-09"))).await.json().await.unwrap();
        let id = p["id"].as_str().unwrap();
        let r = app.patch("/api/v1/permit-types/safety_production", &app.admin_token, json!({"issuing_department": "EE"})).await;
        assert_eq!(r.status(), 200);
        let (status, body) = problem(app.post(&format!("/api/v1/permits/{id}/suspend"), &ee, json!({"reason": "越权暂扣"})).await).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = problem(app.patch(&format!("/api/v1/permits/{id}"), &ee, json!({"holder": "别人"})).await).await;
        assert_eq!(status, 403);
        let (status, body) = problem(app.post(&format!("/api/v1/permits/{id}/suspend"), &em, json!({"reason": "应急罚〔2026〕40号"})).await).await;
        assert_eq!(status, 200, "{body}");
        // A new permit of the type now goes to EE.
        assert_eq!(app.post(&path, &em, permit("safety_production", "S-11", "2026-01-10", Some("2029-01-09"))).await.status(), 403);
        assert_eq!(app.post(&path, &ee, permit("safety_production", "S-11", "2026-01-10", Some("2029-01-09"))).await.status(), 201);
    }
}

on_both! {
    /// A mine registered without its 采矿许可证号 takes the number of the mining licence NR
    /// records, with a line in its history; a number already there is kept.
    async fn the_licence_number_comes_from_the_licence(app) {
        let em = crate::mines::officer(&app, "em.lic", "EM").await;
        let nr = crate::mines::officer(&app, "nr.lic", "NR").await;
        let mut body = crate::mines::mine_body("无证号矿", 981);
        body["licence_number"] = serde_json::json!("");
        let mine = crate::mines::create_mine(&app, &em, body).await;
        let id = mine["id"].as_str().unwrap();
        let r = app.post(&format!("/api/v1/mines/{id}/permits"), &nr, serde_json::json!({"permit_type": "mining_licence", "number": "C1502002026011110000001",
            "holder": "无证号矿有限公司", "issued_on": "2024-01-01", "expires_on": "2030-12-31"})).await;
        assert_eq!(r.status(), 201);
        let m: serde_json::Value = app.get(&format!("/api/v1/mines/{id}"), &em).await.json().await.unwrap();
        assert_eq!(m["licence_number"], "C1502002026011110000001");
        let history: serde_json::Value = app.get(&format!("/api/v1/mines/{id}/history"), &em).await.json().await.unwrap();
        assert!(history["items"].as_array().unwrap().iter().any(|h| h["reason"] == "登记采矿许可证时带入证号"), "{history}");
        // A second licence does not overwrite the number.
        let r = app.post(&format!("/api/v1/mines/{id}/permits"), &nr, serde_json::json!({"permit_type": "mining_licence", "number": "C-OTHER",
            "holder": "无证号矿有限公司", "issued_on": "2025-01-01", "expires_on": "2031-12-31"})).await;
        assert_eq!(r.status(), 201);
        let m: serde_json::Value = app.get(&format!("/api/v1/mines/{id}"), &em).await.json().await.unwrap();
        assert_eq!(m["licence_number"], "C1502002026011110000001");
    }
}
