//! The side paths of a lead: transfer accepted or disputed and decided, consultation,
//! evaluation and the one reopening.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

fn dust(title: &str) -> Value {
    json!({"title": title, "category": "dust", "description": "扬尘。"})
}

on_both! {
    /// EE transfers a lead to NR; NR sees it waiting and accepts (and so reports in); the
    /// main line is held while the transfer is open; EE no longer handles it.
    async fn a_transfer_is_accepted(app) {
        app.create_user("town.tr", "township", None, Some("BEHT")).await;
        app.create_user("ee.tr", "officer", Some("EE"), None).await;
        app.create_user("nr.tr", "officer", Some("NR"), None).await;
        let (town, ee, nr) = (app.token_for("town.tr", PASSWORD).await, app.token_for("ee.tr", PASSWORD).await, app.token_for("nr.tr", PASSWORD).await);
        let lead = raise(&app, &town, dust("其实是越界开采")).await;
        let id = lead["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &nr).await.status(), 404, "not NR's yet");
        let r = app.post(&format!("/api/v1/leads/{id}/transfer"), &ee, json!({"to_department": "EE", "reason": ""})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"to_department".to_owned()) && fields(&body).contains(&"reason".to_owned()));
        let r = app.post(&format!("/api/v1/leads/{id}/transfer"), &nr, json!({"to_department": "EE", "reason": "x"})).await;
        assert_eq!(r.status(), 404, "NR is not a party");
        let v: Value = app.post(&format!("/api/v1/leads/{id}/transfer"), &ee, json!({"to_department": "NR", "reason": "现场为越界开采，属自然资源部门职责"})).await.json().await.unwrap();
        assert_eq!(v["transfer_state"], "pending");
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({})).await.status(), 409, "held while the transfer is open");
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/transfer"), &ee, json!({"to_department": "EM", "reason": "x"})).await.status(), 409);
        let queue: Value = app.get("/api/v1/leads", &nr).await.json().await.unwrap();
        assert_eq!(queue["items"].as_array().unwrap().len(), 1, "waiting in NR's queue");
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/transfer/answer"), &ee, json!({"answer": "accept"})).await.status(), 403);
        let r = app.post(&format!("/api/v1/leads/{id}/transfer/answer"), &nr, json!({"answer": "maybe"})).await;
        assert_eq!(problem(r).await.0, 422);
        let r = app.post(&format!("/api/v1/leads/{id}/transfer/answer"), &nr, json!({"answer": "accept"})).await;
        let (status, v) = problem(r).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["primary_department"], "NR");
        assert!(v["transfer_state"].is_null());
        assert_eq!(v["state"], "acknowledged", "taking it over is reporting in");
        assert_eq!(v["transfers"][0]["status"], "accepted");
        assert_eq!(v["moves"], json!(["start_verifying", "verify"]));
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &ee).await.status(), 404, "EE has handed it over");
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &town).await.status(), 200);
    }
}

on_both! {
    /// A disputed transfer waits on the coordination office's board; its decision names the
    /// department that handles the lead; only the coordination office decides.
    async fn a_disputed_transfer_is_decided(app) {
        app.create_user("town.dis", "township", None, Some("BEHT")).await;
        app.create_user("ee.dis", "officer", Some("EE"), None).await;
        app.create_user("agri.dis", "officer", Some("AGRI"), None).await;
        app.create_user("em.dis", "officer", Some("EM"), None).await;
        app.create_user("coord.dis", "coordinator", Some("NR"), None).await;
        let tok = |u: &'static str| { let app = &app; async move { app.token_for(u, PASSWORD).await } };
        let (town, ee, agri, em, coord) = (tok("town.dis").await, tok("ee.dis").await, tok("agri.dis").await, tok("em.dis").await, tok("coord.dis").await);
        let lead = raise(&app, &town, dust("河道边扬尘")).await;
        let id = lead["id"].as_str().unwrap();
        app.post(&format!("/api/v1/leads/{id}/transfer"), &ee, json!({"to_department": "AGRI", "reason": "在河道管理范围内"})).await;
        let r = app.post(&format!("/api/v1/leads/{id}/transfer/answer"), &agri, json!({"answer": "dispute"})).await;
        assert_eq!(problem(r).await.0, 422, "a dispute needs its reason");
        let v: Value = app.post(&format!("/api/v1/leads/{id}/transfer/answer"), &agri, json!({"answer": "dispute", "note": "扬尘属生态环境部门职责"})).await.json().await.unwrap();
        assert_eq!(v["transfer_state"], "disputed");
        let board: Value = app.get("/api/v1/leads?transfer=disputed", &coord).await.json().await.unwrap();
        assert_eq!(board["items"].as_array().unwrap().len(), 1);
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/transfer/decide"), &ee, json!({"department": "EE", "note": "x"})).await.status(), 403);
        let v: Value = app.post(&format!("/api/v1/leads/{id}/transfer/decide"), &coord, json!({"department": "EM", "note": "涉及安全生产，由应急局主办"})).await.json().await.unwrap();
        assert_eq!(v["primary_department"], "EM");
        assert_eq!(v["transfers"][0]["status"], "reassigned");
        assert!(v["transfer_state"].is_null());
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &agri).await.status(), 404, "the disputing receiver is no party");
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &em, json!({})).await.status(), 200);
        let kinds: Vec<String> = v["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
        assert!(kinds.ends_with(&["transfer".into(), "transfer_disputed".into(), "transfer_decided".into()]), "{kinds:?}");
    }
}

on_both! {
    /// Consultation once; after closing, the township evaluates each department once and
    /// may reopen the lead once, with fresh deadlines.
    async fn consultation_evaluation_and_reopening(app) {
        app.create_user("town.ev", "township", None, Some("BEHT")).await;
        app.create_user("town.other", "township", None, Some("KBJD")).await;
        app.create_user("drc.ev", "officer", Some("DRC"), None).await;
        app.create_user("coord.ev", "coordinator", Some("NR"), None).await;
        let tok = |u: &'static str| { let app = &app; async move { app.token_for(u, PASSWORD).await } };
        let (town, other, drc, coord) = (tok("town.ev").await, tok("town.other").await, tok("drc.ev").await, tok("coord.ev").await);
        let lead = raise(&app, &town, json!({"title": "布局不合理", "category": "industrial_policy", "description": "选址紧邻水源地。"})).await;
        let id = lead["id"].as_str().unwrap();
        let p = |s: &str| format!("/api/v1/leads/{id}/{s}");
        assert_eq!(app.post(&p("escalate"), &town, json!({"reason": "x"})).await.status(), 403);
        let v: Value = app.post(&p("escalate"), &drc, json!({"reason": "涉及多个部门，需会商"})).await.json().await.unwrap();
        assert!(v["consultation_requested_at"].is_string());
        assert_eq!(app.post(&p("escalate"), &coord, json!({"reason": "again"})).await.status(), 409);
        assert_eq!(app.post(&p("evaluate"), &town, json!({"verdict": "satisfied"})).await.status(), 409, "not closed yet");
        for (step, body) in [("acknowledge", json!({})), ("verify", json!({"substantiated": false, "note": "经核查不属实"})), ("close", json!({"note": "不属实，已告知街镇"}))] {
            assert_eq!(app.post(&p(step), &drc, body).await.status(), 200, "{step}");
        }
        assert_eq!(app.post(&p("evaluate"), &other, json!({"verdict": "satisfied"})).await.status(), 404, "another township sees nothing");
        let r = app.post(&p("evaluate"), &town, json!({"verdict": "dissatisfied"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"comment".to_owned()));
        let r = app.post(&p("evaluate"), &town, json!({"verdict": "dissatisfied", "comment": "未到现场核查"})).await;
        let (status, v) = problem(r).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["evaluations"][0]["verdict"], "dissatisfied");
        assert_eq!(v["evaluations"][0]["department"], "DRC");
        assert_eq!(app.post(&p("evaluate"), &town, json!({"verdict": "satisfied", "department": "DRC"})).await.status(), 409, "once per department");
        assert_eq!(app.post(&p("evaluate"), &town, json!({"verdict": "satisfied", "department": "MIIT"})).await.status(), 200, "the assisting department too");

        assert_eq!(app.post(&p("reopen"), &drc, json!({"reason": "x"})).await.status(), 403);
        let v: Value = app.post(&p("reopen"), &town, json!({"reason": "问题仍然存在"})).await.json().await.unwrap();
        assert_eq!(v["state"], "verifying");
        assert_eq!(v["reopened"], 1);
        assert!(v["closed_at"].is_null());
        let verify = v["deadlines"].as_array().unwrap().iter().find(|d| d["stage"] == "verify").unwrap().clone();
        assert!(verify["met_at"].is_null(), "fresh deadlines: {verify}");
        for (step, body) in [("verify", json!({"substantiated": true, "note": "复查属实"})), ("close", json!({"note": "已督促迁址"}))] {
            assert_eq!(app.post(&p(step), &drc, body).await.status(), 200, "{step}");
        }
        let r = app.post(&p("reopen"), &town, json!({"reason": "again"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 409, "only once: {body}");
    }
}

on_both! {
    /// 分办: a lead of the category 其他 goes to the coordination office, which gives it its
    /// departments; the new primary department reports in itself and is told, the office's
    /// own department is no longer on it, and only the office may divide such a lead.
    async fn the_coordination_office_divides_an_undecided_lead(app) {
        app.create_user("town.fb", "township", None, Some("BEHT")).await;
        app.create_user("coord.fb", "coordinator", Some("NR"), None).await;
        app.create_user("ee.fb", "officer", Some("EE"), None).await;
        app.create_user("em.fb", "officer", Some("EM"), None).await;
        app.create_user("nr.fb", "officer", Some("NR"), None).await;
        let nr = app.token_for("nr.fb", PASSWORD).await;
        let town = app.token_for("town.fb", PASSWORD).await;
        let coord = app.token_for("coord.fb", PASSWORD).await;
        let ee = app.token_for("ee.fb", PASSWORD).await;
        let em = app.token_for("em.fb", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "说不清归谁管", "category": "other", "description": "山坡上有人在挖。"})).await;
        let id = lead["id"].as_str().unwrap();
        assert_eq!(lead["primary_department"], "NR");
        let url = format!("/api/v1/leads/{id}/dispatch");
        assert_eq!(app.post(&url, &town, json!({"department": "EE"})).await.status(), 403);
        let (status, body) = problem(app.post(&url, &coord, json!({"department": "NOPE", "assisting_departments": ["ALSO_NOPE"]})).await).await;
        assert_eq!(status, 422, "{body}");
        assert!(fields(&body).contains(&"department".to_owned()) && fields(&body).contains(&"assisting_departments".to_owned()));
        let before = app.count("notifications").await;
        let (status, v) = problem(app.post(&url, &coord, json!({"department": "ee", "assisting_departments": ["EM", "EE"], "note": "现场为扬尘"})).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["primary_department"], "EE");
        assert_eq!(v["assisting_departments"], json!(["EM"]));
        assert_eq!(v["state"], "routed", "EE reports in itself");
        assert!(v["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "dispatched"));
        assert!(app.count("notifications").await > before, "EE, EM and the township are told");
        // EE now holds it and reports in; EM assists; the lead is no longer the office's to divide.
        let queue: Value = app.get("/api/v1/leads", &ee).await.json().await.unwrap();
        assert_eq!(queue["items"][0]["id"], id);
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &em).await.status(), 200);
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &nr).await.status(), 404, "NR handed it on");
        assert_eq!(app.post(&url, &coord, json!({"department": "EM"})).await.status(), 409);
        let (status, v) = problem(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({})).await).await;
        assert_eq!(status, 200, "{v}");
        // A lead of another category is transferred, not divided.
        let other = raise(&app, &town, json!({"title": "扬尘", "category": "dust", "description": "扬尘。"})).await;
        let url = format!("/api/v1/leads/{}/dispatch", other["id"].as_str().unwrap());
        assert_eq!(app.post(&url, &coord, json!({"department": "EM"})).await.status(), 409);
    }
}
