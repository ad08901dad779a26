use serde_json::{json, Value};

use crate::on_both;

on_both! {
    /// The member units, townships, lead categories, permit types and risk grades of the
    /// district rules are there from the first start.
    async fn reference_data_is_present_from_the_first_start(app) {
        let t = &app.admin_token;
        let deps: Value = app.get("/api/v1/departments", t).await.json().await.unwrap();
        let codes: Vec<&str> = deps["items"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        assert_eq!(codes, vec!["NR", "DRC", "GDS", "MIIT", "EE", "AGRI", "EM"]);
        assert_eq!(deps["items"][0]["coordination_office"], true);
        assert!(deps["items"][6]["duties"].as_str().unwrap().contains("风险等级"));

        let towns: Value = app.get("/api/v1/townships", t).await.json().await.unwrap();
        let names: Vec<&str> = towns["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["卜尔汉图镇", "昆北街道办事处"]);

        let cats: Value = app.get("/api/v1/lead-categories", t).await.json().await.unwrap();
        let cat = |code: &str| cats["items"].as_array().unwrap().iter().find(|c| c["code"] == code).cloned().unwrap();
        assert_eq!(cat("dust")["primary_department"], "EE");
        assert_eq!(cat("unlicensed_mining")["primary_department"], "NR");
        assert_eq!(cat("unlicensed_mining")["mining_related"], true);
        assert_eq!(cat("project_unapproved")["assisting_departments"], json!(["DRC"]));
        assert_eq!(cat("industrial_policy")["assisting_departments"], json!(["MIIT"]));
        assert_eq!(cat("illegal_river_sand")["primary_department"], "AGRI");
        assert_eq!(cat("other")["primary_department"], "NR");

        let permits: Value = app.get("/api/v1/permit-types", t).await.json().await.unwrap();
        let permit = |code: &str| permits["items"].as_array().unwrap().iter().find(|c| c["code"] == code).cloned().unwrap();
        assert_eq!(permit("safety_production")["issuing_department"], "EM");
        assert_eq!(permit("safety_production")["expiry_warning_days"], 90);
        assert_eq!(permit("mining_licence")["issuing_department"], "NR");
        assert_eq!(permit("eia_approval")["issuing_department"], "EE");

        let grades: Value = app.get("/api/v1/risk-grades", t).await.json().await.unwrap();
        let displays: Vec<&str> = grades["items"].as_array().unwrap().iter().map(|g| g["display"].as_str().unwrap()).collect();
        assert_eq!(displays, vec!["A级 · 低风险", "B级 · 一般风险", "C级 · 较大风险", "D级 · 重大风险"]);
        assert_eq!(grades["items"][3]["colour"], "红");
    }
}

on_both! {
    /// Admins add and edit townships; edits are audited and survive a restart, which
    /// only adds what is missing from the seed.
    async fn admin_edits_survive_a_restart(app) {
        let t = &app.admin_token;
        let r = app.post("/api/v1/townships", t, json!({"code": "xjz", "name": "新街镇", "email": "xjz@example.gov.cn"})).await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "XJZ");
        let r = app.patch("/api/v1/townships/BEHT", t, json!({"name": "卜尔汉图镇人民政府"})).await;
        assert_eq!(r.status(), 200);
        let (status, body) = problem(app.post("/api/v1/townships", t, json!({"code": "XJZ", "name": "重复"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["code"]);
        let audit: Value = app.get("/api/v1/audit?entity=township&entity_id=BEHT", t).await.json().await.unwrap();
        assert_eq!(audit["items"][0]["action"], "update");
        assert_eq!(audit["items"][0]["before"]["name"], "卜尔汉图镇");
        assert_eq!(audit["items"][0]["after"]["name"], "卜尔汉图镇人民政府");

        // A second service on the same database: migrations and seeding run again.
        let settings = test_settings(&app.db);
        let second = minecoord::app::startup::Application::build(settings, app.clock.clone()).await.expect("restart");
        drop(second);
        let towns: Value = app.get("/api/v1/townships", t).await.json().await.unwrap();
        let names: Vec<&str> = towns["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["卜尔汉图镇人民政府", "昆北街道办事处", "新街镇"]);
        assert_eq!(app.count("users").await, 1, "the admin is not created twice");
    }
}

on_both! {
    /// Routing of a category can be changed by an admin, with its departments checked.
    async fn lead_category_routing_is_editable_and_checked(app) {
        let t = &app.admin_token;
        let (status, body) = problem(app.patch("/api/v1/lead-categories/dust", t, json!({"assisting_departments": ["XX"]})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["assisting_departments"]);
        let (status, _) = problem(app.patch("/api/v1/lead-categories/dust", t, json!({"assisting_departments": ["EE"]})).await).await;
        assert_eq!(status, 422, "the primary department cannot also assist");
        let r = app.patch("/api/v1/lead-categories/dust", t, json!({"assisting_departments": ["em", "AGRI"]})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["assisting_departments"], json!(["EM", "AGRI"]));
        let r = app.patch("/api/v1/permit-types/safety_production", t, json!({"expiry_warning_days": 0})).await;
        assert_eq!(r.status(), 422);
        let r = app.patch("/api/v1/permit-types/safety_production", t, json!({"expiry_warning_days": 100})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.get("/api/v1/permit-types/nothing", t).await.status(), 404);
    }
}

on_both! {
    /// The coordination office cannot be deactivated; other units can, and stay listed.
    async fn departments_are_deactivated_not_deleted(app) {
        let t = &app.admin_token;
        let (status, body) = problem(app.patch("/api/v1/departments/NR", t, json!({"active": false})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["active"]);
        assert_eq!(app.patch("/api/v1/departments/GDS", t, json!({"active": false})).await.status(), 200);
        let deps: Value = app.get("/api/v1/departments", t).await.json().await.unwrap();
        assert_eq!(deps["items"].as_array().unwrap().len(), 7);
        let (status, body) = problem(app.post("/api/v1/users", t, json!({
            "username": "gds1", "password": PASSWORD, "must_change_password": false, "must_change_password": false, "display_name": "某", "role": "officer", "department": "GDS"
        })).await).await;
        assert_eq!(status, 422, "no new accounts in an inactive unit");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("停用"));
    }
}

use crate::helpers::*;
