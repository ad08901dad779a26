//! 综合查一次: the catalogue, tasks of at most five departments, the repeat window and the
//! annual cap, each department's results, hazards and their re-inspection, the archive.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

/// An inspector: an officer of the department with an enforcement certificate.
async fn inspector(
    app: &TestApp,
    username: &str,
    department: &str,
    certificate: &str,
) -> (String, String) {
    let body = json!({"username": username, "password": PASSWORD, "must_change_password": false, "display_name": format!("检查员{username}"),
        "role": "officer", "department": department, "certificate_number": certificate});
    let r = app.post("/api/v1/users", &app.admin_token, body).await;
    let (status, user) = problem(r).await;
    assert_eq!(status, 201, "{user}");
    (
        user["id"].as_str().unwrap().to_owned(),
        app.token_for(username, PASSWORD).await,
    )
}

/// The catalogue the tests use: two items of EM, one of EE, one each of AGRI, DRC, MIIT, NR.
async fn catalogue(app: &TestApp) -> String {
    app.create_user("coord.cat", "coordinator", Some("NR"), None)
        .await;
    let coord = app.token_for("coord.cat", PASSWORD).await;
    for (code, dept, name) in [
        ("EM-01", "EM", "安全出口与提升系统"),
        ("EM-02", "EM", "边坡与排土场"),
        ("EE-01", "EE", "扬尘与废水治理"),
        ("AGRI-01", "AGRI", "河道采砂"),
        ("DRC-01", "DRC", "产业政策"),
        ("MIIT-01", "MIIT", "民爆物品"),
        ("NR-01", "NR", "矿区范围与越界开采"),
    ] {
        let r = app.post("/api/v1/inspection-items", &coord, json!({"code": code, "department": dept, "name": name, "legal_basis": "《安全生产法》"})).await;
        assert_eq!(r.status(), 201, "{code}");
    }
    coord
}

fn task(mine_id: &str, joint: &[&str], inspectors: &[&str], items: &[&str], from: &str) -> Value {
    json!({"mine_id": mine_id, "lead_department": "EM", "joint_departments": joint, "inspectors": inspectors, "items": items,
        "window_from": from, "window_to": from, "basis": "plan"})
}

on_both! {
    /// The catalogue is kept by the office; a task is opened by the lead department with its
    /// inspectors and items, at most five departments, each rule a 4xx naming the field and
    /// nothing written.
    async fn a_joint_task_is_opened_by_the_rules(app) {
        let coord = catalogue(&app).await;
        let em_plain = officer(&app, "em.plain", "EM").await;
        let r = app.post("/api/v1/inspection-items", &em_plain, json!({"code": "EM-09", "department": "EM", "name": "x", "legal_basis": "y"})).await;
        assert_eq!(r.status(), 403, "officers do not keep the catalogue");
        let (status, body) = problem(app.post("/api/v1/inspection-items", &coord, json!({"code": "EM-01", "department": "EM", "name": "x", "legal_basis": "y"})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["code".to_owned()]));
        let em_items: Value = app.get("/api/v1/inspection-items?department=em", &em_plain).await.json().await.unwrap();
        assert_eq!(em_items.as_array().unwrap().len(), 2);

        let mine = create_mine(&app, &em_plain, mine_body("联检砂石场", 801)).await;
        let mine_id = mine["id"].as_str().unwrap();
        let (em_id, em) = inspector(&app, "em.insp", "EM", "15020001").await;
        let (ee_id, _) = inspector(&app, "ee.insp", "EE", "15020002").await;
        let bare = app.create_user("em.bare", "officer", Some("EM"), None).await;

        let six = task(mine_id, &["EE", "AGRI", "DRC", "MIIT", "NR"], &[&em_id], &["EM-01", "EE-01", "AGRI-01", "DRC-01", "MIIT-01", "NR-01"], "2026-03-10");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, six).await).await;
        assert_eq!(status, 422, "{body}");
        assert!(fields(&body).contains(&"joint_departments".to_owned()));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("不能超过 5 家"), "{body}");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, task(mine_id, &["EE"], &[&em_id, &bare], &["EM-01", "EE-01"], "2026-03-10")).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("没有登记执法证号"), "{body}");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, task(mine_id, &[], &[&em_id, &ee_id], &["EM-01", "EE-01"], "2026-03-10")).await).await;
        assert_eq!(status, 422);
        let messages: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
        assert!(messages.iter().any(|m| m.contains("不属于参加本次检查的部门")) && messages.iter().any(|m| m.contains("属于未参加本次检查的部门")), "{messages:?}");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, task(mine_id, &["EE"], &[&em_id, &ee_id], &["EM-01"], "2026-03-10")).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("区生态环境分局 没有选择检查事项"), "{body}");
        let ee_other = officer(&app, "ee.other", "EE").await;
        assert_eq!(app.post("/api/v1/inspections", &ee_other, task(mine_id, &["EE"], &[&em_id, &ee_id], &["EM-01", "EE-01"], "2026-03-10")).await.status(), 403, "only the lead department opens it");
        assert_eq!(app.count("inspections").await, 0, "nothing written by a refused task");

        let (status, t) = problem(app.post("/api/v1/inspections", &em, task(mine_id, &["ee"], &[&em_id, &ee_id], &["EM-01", "EM-02", "EE-01"], "2026-03-10")).await).await;
        assert_eq!(status, 201, "{t}");
        assert_eq!(t["number"], "JC-2026-000001");
        assert_eq!(t["state"], "planned");
        assert_eq!(t["code"].as_str().unwrap().len(), 32);
        assert_eq!(t["departments"], json!([{"department": "EM", "part": "lead", "recorded": false}, {"department": "EE", "part": "joint", "recorded": false}]));
        assert_eq!(t["inspectors"].as_array().unwrap().len(), 2);
        assert_eq!(t["items"].as_array().unwrap().len(), 3);
        let ee_box: Value = app.get("/api/v1/notifications", &app.token_for("ee.insp", PASSWORD).await).await.json().await.unwrap();
        assert!(ee_box["items"][0]["title"].as_str().unwrap().contains("JC-2026-000001"), "the joint department is told: {ee_box}");
        let listed: Value = app.get("/api/v1/inspections?state=planned", &ee_other).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "EE sees the task it joins");
        let history: Value = app.get(&format!("/api/v1/mines/{mine_id}/inspections"), &em).await.json().await.unwrap();
        assert_eq!(history.as_array().unwrap().len(), 1);
        let drc = officer(&app, "drc.none", "DRC").await;
        assert_eq!(app.get(&format!("/api/v1/inspections/{}", t["id"].as_str().unwrap()), &drc).await.status(), 404, "other departments do not see it");
    }
}

on_both! {
    /// No second task on a mine within 90 days unless a listed reason is given (then it is on
    /// the record); at most four tasks a year, the same way.
    async fn repeats_and_the_annual_cap_need_a_listed_reason(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.rep", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("重复检查矿", 802)).await;
        let mine_id = mine["id"].as_str().unwrap();
        let (em_id, em) = inspector(&app, "em.rep2", "EM", "15020003").await;
        let one = |from: &str| task(mine_id, &[], &[&em_id], &["EM-01"], from);
        assert_eq!(app.post("/api/v1/inspections", &em, one("2026-01-05")).await.status(), 201);
        let (status, body) = problem(app.post("/api/v1/inspections", &em, one("2026-03-01")).await).await;
        assert_eq!((status, body["type"].as_str()), (409, Some("repeat_inspection")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("2026-01-05") && body["detail"].as_str().unwrap().contains("90 天"), "{body}");
        let mut with_reason = one("2026-03-01");
        with_reason["override_kind"] = json!("complaint");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, with_reason.clone()).await).await;
        assert_eq!(status, 409, "a kind without a reason is not enough: {body}");
        with_reason["override_reason"] = json!("群众投诉夜间违规爆破");
        let (status, t) = problem(app.post("/api/v1/inspections", &em, with_reason).await).await;
        assert_eq!(status, 201, "{t}");
        assert_eq!((t["override_kind"].as_str(), t["override_reason"].as_str()), (Some("complaint"), Some("群众投诉夜间违规爆破")));
        let mut odd = one("2026-03-02");
        odd["override_kind"] = json!("bored");
        odd["override_reason"] = json!("x");
        let (status, body) = problem(app.post("/api/v1/inspections", &em, odd).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["override_kind".to_owned()]));
        // 90 days apart each: no repeat, but the fifth of the year meets the cap of four.
        for from in ["2026-05-30", "2026-08-28"] {
            assert_eq!(app.post("/api/v1/inspections", &em, one(from)).await.status(), 201, "{from}");
        }
        let (status, body) = problem(app.post("/api/v1/inspections", &em, one("2026-11-26")).await).await;
        assert_eq!((status, body["type"].as_str()), (409, Some("inspection_cap")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("4 次"), "{body}");
        assert_eq!(app.count("inspections").await, 4);
    }
}

on_both! {
    /// Each department records its own items; the task completes when all have, the mine's
    /// last inspection follows, and with no finding it is archived and can no longer change.
    /// A finding becomes a hazard; a major one tells the EM head and the office; the
    /// re-inspection closes it and archives the task.
    async fn results_hazards_and_the_archive(app) {
        let coord = catalogue(&app).await;
        let em_plain = officer(&app, "em.res", "EM").await;
        app.create_user("em.head", "head", Some("EM"), None).await;
        let head = app.token_for("em.head", PASSWORD).await;
        let mine = create_mine(&app, &em_plain, mine_body("结果砂石场", 803)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let (em_id, em) = inspector(&app, "em.r", "EM", "15020004").await;
        let (ee_id, ee) = inspector(&app, "ee.r", "EE", "15020005").await;
        let t: Value = app.post("/api/v1/inspections", &em, task(&mine_id, &["EE"], &[&em_id, &ee_id], &["EM-01", "EE-01"], "2026-03-02")).await.json().await.unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        let results = |dept: &str, rows: Value| json!({"department": dept, "results": rows});
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/results"), &em, results("EE", json!([{"item": "EE-01", "outcome": "compliant"}]))).await).await;
        assert_eq!(status, 403, "{body}");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/results"), &em, results("EM", json!([{"item": "EE-01", "outcome": "compliant"}]))).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("不是本部门的事项"), "{body}");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/results"), &em, results("EM", json!([{"item": "NR-01", "outcome": "compliant"}]))).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("不在本次检查任务中"), "{body}");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/results"), &em, results("EM", json!([{"item": "EM-01", "outcome": "finding"}]))).await).await;
        assert_eq!(status, 422, "a finding needs its note: {body}");
        let v: Value = app.post(&format!("/api/v1/inspections/{id}/results"), &em, results("EM", json!([{"item": "EM-01", "outcome": "finding", "note": "安全出口堵塞"}]))).await.json().await.unwrap();
        assert_eq!(v["state"], "in_progress", "the first results start the visit");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await).await;
        assert_eq!(status, 409);
        assert!(body["detail"].as_str().unwrap().contains("区生态环境分局"), "{body}");
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/results"), &ee, results("EE", json!([{"item": "EE-01", "outcome": "compliant"}]))).await.status(), 200);

        // The finding becomes a major hazard.
        let hazard = json!({"item": "EM-01", "grade": "major", "standard_item": "二（七）1", "description": "高度 220 米的采场边坡未进行在线监测", "rectify_by": "2026-03-20"});
        let mut general_item = hazard.clone();
        general_item["item"] = json!("EE-01");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &ee, general_item).await).await;
        assert_eq!(status, 422, "no hazard without a finding: {body}");
        let mut no_clause = hazard.clone();
        no_clause["standard_item"] = json!(null);
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, no_clause).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["standard_item".to_owned()]));
        // The mine is open-pit: an underground clause is not its list, a heading is not a leaf.
        for (clause, why) in [("U1-5", "露天"), ("一（一）5", "露天"), ("O7", "没有下级"), ("O14", "露天")] {
            let mut wrong = hazard.clone();
            wrong["standard_item"] = json!(clause);
            let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, wrong).await).await;
            assert_eq!((status, fields(&body)), (422, vec!["standard_item".to_owned()]), "{clause}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains(why), "{clause}: {body}");
        }
        let mut general_with_clause = hazard.clone();
        general_with_clause["grade"] = json!("general");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, general_with_clause).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["standard_item".to_owned()]), "a general hazard names no clause");
        assert_eq!(app.count("hazards").await, 0, "nothing written by the refused ones");
        let (status, h) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, hazard).await).await;
        assert_eq!(status, 201, "{h}");
        assert_eq!(h["standard_item"], "O7-1", "kept as the standard's code: {h}");
        assert!(h["standard_label"].as_str().unwrap().starts_with("二（七）1 高度200米及以上的采场边坡未进行在线监测"), "{h}");
        assert_eq!((h["number"].as_str(), h["state"].as_str(), h["overdue"].as_bool()), (Some("YH-2026-000001"), Some("open"), Some(false)));
        for (who, token) in [("EM head", &head), ("the office", &coord)] {
            let inbox: Value = app.get("/api/v1/notifications", token).await.json().await.unwrap();
            assert!(inbox["items"].as_array().unwrap().iter().any(|n| n["title"].as_str().unwrap().contains("重大事故隐患")), "{who} is told: {inbox}");
        }
        let queue: Value = app.get("/api/v1/hazards?state=open", &em_plain).await.json().await.unwrap();
        assert_eq!(queue["items"].as_array().unwrap().len(), 1, "EM's open-hazard queue");
        let (em_page, _) = browser_session(&app, "em.r", PASSWORD).await;
        let page = em_page.get(app.url(&format!("/inspections/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("href=\"/mines/{mine_id}\" class=\"suspend\">责令停产整顿")), "a major hazard offers the suspension: {page}");

        let done: Value = app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await.json().await.unwrap();
        assert_eq!(done["state"], "completed", "a hazard is still open: {done}");
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        assert_eq!(m["last_inspected_on"], "2026-03-02", "the mine's last inspection follows: {m}");
        let (status, _) = problem(app.post(&format!("/api/v1/inspections/{id}/results"), &ee, results("EE", json!([{"item": "EE-01", "outcome": "finding", "note": "改了"}]))).await).await;
        assert_eq!(status, 409, "a completed task's results stay as recorded");

        let hid = h["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/hazards/{hid}/reinspect"), &ee, json!({"abated": true, "note": "x"})).await.status(), 403, "the responsible department re-inspects");
        let r: Value = app.post(&format!("/api/v1/hazards/{hid}/reinspect"), &em, json!({"abated": false, "note": "尚未清理完毕"})).await.json().await.unwrap();
        assert_eq!(r["state"], "rectifying");
        app.clock.advance(chrono::Duration::days(10));
        let em = app.token_for("em.r", PASSWORD).await;
        let em_plain = app.token_for("em.res", PASSWORD).await;
        let r: Value = app.post(&format!("/api/v1/hazards/{hid}/reinspect"), &em, json!({"abated": true, "note": "已清理，梯子间恢复使用"})).await.json().await.unwrap();
        assert_eq!(r["state"], "closed");
        let archived: Value = app.get(&format!("/api/v1/inspections/{id}"), &em).await.json().await.unwrap();
        assert_eq!(archived["state"], "archived", "its last hazard closed, the task is archived");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, json!({"item": "EM-01", "grade": "general", "description": "又一处", "rectify_by": "2026-04-30"})).await).await;
        assert_eq!(status, 409, "archived records are immutable: {body}");
        assert!(body["detail"].as_str().unwrap().contains("已归档"));
        assert_eq!(problem(app.post(&format!("/api/v1/hazards/{hid}/reinspect"), &em, json!({"abated": true, "note": "again"})).await).await.0, 409);
        let audit = app.count("audit_log WHERE entity_type = 'inspection' AND action = 'archive'").await;
        assert_eq!(audit, 1, "who archived what is on the record");
        let coord_plain = app.token_for("coord.cat", PASSWORD).await;
        let kept: Value = app.get("/api/v1/stats/inspections?from=2026-03-01&to=2026-03-31", &coord_plain).await.json().await.unwrap();
        let em_f = kept["departments"].as_array().unwrap().iter().find(|d| d["department"] == "EM").unwrap().clone();
        assert_eq!((em_f["hazards_open"].as_i64(), em_f["hazards_closed"].as_i64()), (Some(0), Some(1)), "{em_f}");
        app.with_db(minecoord::inspections::store::tallies::recount).await;
        let recounted: Value = app.get("/api/v1/stats/inspections?from=2026-03-01&to=2026-03-31", &coord_plain).await.json().await.unwrap();
        assert_eq!(kept, recounted, "the hazards' tallies are the records' counts");

        // A task with no finding is archived at once.
        let mine2 = create_mine(&app, &em_plain, mine_body("无问题矿", 804)).await;
        let t2: Value = app.post("/api/v1/inspections", &em, task(mine2["id"].as_str().unwrap(), &[], &[&em_id], &["EM-01", "EM-02"], "2026-03-12")).await.json().await.unwrap();
        let id2 = t2["id"].as_str().unwrap();
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id2}/results"), &em, results("EM", json!([
            {"item": "EM-01", "outcome": "recognised", "recognised_from": "JC-2026-000001"}, {"item": "EM-02", "outcome": "compliant"}]))).await).await;
        assert_eq!(status, 422, "another mine's result is not this mine's: {body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("没有可以互认的检查结果"), "{body}");
        let ok = problem(app.post(&format!("/api/v1/inspections/{id2}/results"), &em, results("EM", json!([
            {"item": "EM-01", "outcome": "compliant"}, {"item": "EM-02", "outcome": "compliant"}]))).await).await;
        assert_eq!(ok.0, 200, "{}", ok.1);
        let done: Value = app.post(&format!("/api/v1/inspections/{id2}/complete"), &em, json!({})).await.json().await.unwrap();
        assert_eq!(done["state"], "archived");

        // 结果互认: a later task on the first mine shows the latest result of each item, and
        // the department may take it over instead of checking again.
        let mut again = task(&mine_id, &[], &[&em_id], &["EM-01", "EM-02"], "2026-03-13");
        again["override_kind"] = json!("lead");
        again["override_reason"] = json!("复查线索反映的问题");
        let (status, t3) = problem(app.post("/api/v1/inspections", &em, again).await).await;
        assert_eq!(status, 201, "{t3}");
        let em01 = t3["items"].as_array().unwrap().iter().find(|i| i["code"] == "EM-01").unwrap().clone();
        assert_eq!(em01["earlier"], json!(["JC-2026-000001", "finding", "2026-03-02"]), "{em01}");
        let id3 = t3["id"].as_str().unwrap();
        let (status, v) = problem(app.post(&format!("/api/v1/inspections/{id3}/results"), &em, results("EM", json!([
            {"item": "EM-01", "outcome": "recognised", "recognised_from": "JC-2026-000001"}, {"item": "EM-02", "outcome": "not_checked"}]))).await).await;
        assert_eq!(status, 200, "{v}");
        let em01 = v["items"].as_array().unwrap().iter().find(|i| i["code"] == "EM-01").unwrap().clone();
        assert_eq!((em01["outcome"].as_str(), em01["recognised_from"].as_str()), (Some("recognised"), Some(id.as_str())));
    }
}

on_both! {
    /// Through the pages: the office adds an item; the lead department opens a joint task by
    /// ticking departments, inspectors and items (a repeat is sent back with the rule and
    /// the form kept); each department records on the task page; a finding becomes a
    /// hazard; the notice carries the QR code; the code's public page says plainly whether
    /// the task is genuine, cancelled or not a code at all.
    async fn inspections_through_the_pages(app) {
        catalogue(&app).await;
        let (coord, coord_csrf) = browser_session(&app, "coord.cat", PASSWORD).await;
        let r = coord.post(app.url("/inspection-items")).form(&[("csrf", coord_csrf.as_str()), ("code", "EE-02"), ("department", "EE"), ("name", "废水排放"), ("legal_basis", "《水污染防治法》"), ("joinable", "true")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = coord.post(app.url("/inspection-items")).form(&[("csrf", coord_csrf.as_str()), ("code", "EE-02"), ("department", "EE"), ("name", "x"), ("legal_basis", "y")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("事项编码 EE-02 已存在"));
        let list = coord.get(app.url("/inspection-items")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("废水排放") && list.contains("区生态环境分局"), "{list}");

        let em_plain = officer(&app, "em.pg", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("页面联检矿", 805)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let (em_id, _) = inspector(&app, "em.pgi", "EM", "15020011").await;
        let (ee_id, _) = inspector(&app, "ee.pgi", "EE", "15020012").await;
        let (em, em_csrf) = browser_session(&app, "em.pgi", PASSWORD).await;
        let form = em.get(app.url(&format!("/inspections/new?mine_id={mine_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains(&format!("name=\"inspector.{ee_id}\"")) && form.contains("name=\"item.EE-01\"") && form.contains("执法证号 15020012"), "{form}");
        let fields = |from: &str| -> Vec<(String, String)> {
            [
                ("csrf", em_csrf.as_str()), ("mine_id", mine_id.as_str()), ("lead_department", "EM"), ("joint.EE", "true"),
                ("window_from", from), ("window_to", from), ("basis", "plan"), ("basis_ref", "2026年度计划第1项"),
                (&format!("inspector.{em_id}"), "true"), (&format!("inspector.{ee_id}"), "true"),
                ("item.EM-01", "true"), ("item.EE-01", "true"), ("override_kind", ""), ("override_reason", ""), ("lead_id", ""),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let r = em.post(app.url("/inspections/new")).form(&fields("2026-03-02")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let task_url = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
        let r = em.post(app.url("/inspections/new")).form(&fields("2026-03-20")).send().await.unwrap();
        assert_eq!(r.status(), 422, "a repeat is sent back");
        let again = r.text().await.unwrap();
        assert!(again.contains("90 天内不再重复检查") && again.contains("checked> 区生态环境分局"), "the rule named, the ticks kept: {again}");

        let page = em.get(app.url(&task_url)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("录入本部门检查结果（区应急局）"), "{page}");
        assert!(page.contains("name=\"outcome.EM-01\"") && !page.contains("name=\"outcome.EE-01\""), "only EM's items for EM");
        let r = em.post(app.url(&format!("{task_url}/results"))).form(&[("csrf", em_csrf.as_str()), ("department", "EM"), ("outcome.EM-01", "finding"), ("note.EM-01", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("请写明问题情况"));
        let r = em.post(app.url(&format!("{task_url}/results"))).form(&[("csrf", em_csrf.as_str()), ("department", "EM"), ("outcome.EM-01", "finding"), ("note.EM-01", "边坡有裂缝")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = em.get(app.url(r.headers()["location"].to_str().unwrap())).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("本部门检查结果已提交") && page.contains("data-clear-draft=\"inspection-"), "{page}");
        assert!(page.contains("登记隐患"), "a finding offers the hazard form");
        let r = em.post(app.url(&format!("{task_url}/hazards"))).form(&[("csrf", em_csrf.as_str()), ("item", "EM-01"), ("grade", "general"), ("standard_item", ""), ("description", "边坡裂缝未监测"), ("rectify_by", "2026-03-30")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let hazards = em.get(app.url("/hazards?state=open")).send().await.unwrap().text().await.unwrap();
        assert!(hazards.contains("YH-2026-000001") && hazards.contains("边坡裂缝未监测"), "{hazards}");

        let notice = em.get(app.url(&format!("{task_url}/notice"))).send().await.unwrap().text().await.unwrap();
        assert!(notice.contains("电子行政检查通知书") && notice.contains("<svg") && notice.contains("执法证号 15020011"), "{notice}");
        let v: Value = app.get(&format!("/api/v1{task_url}"), &app.token_for("em.pgi", PASSWORD).await).await.json().await.unwrap();
        let code = v["code"].as_str().unwrap();
        let public = reqwest::Client::new();
        let genuine = public.get(app.url(&format!("/public/inspections/{code}"))).send().await.unwrap();
        assert_eq!(genuine.status(), 200);
        let genuine = genuine.text().await.unwrap();
        assert!(genuine.contains("该检查任务真实有效") && genuine.contains("15020012") && !genuine.contains("0472-1234567"), "{genuine}");
        let forged = public.get(app.url("/public/inspections/0123456789abcdef0123456789abcdef")).send().await.unwrap();
        assert_eq!(forged.status(), 404);
        assert!(forged.text().await.unwrap().contains("查无此检查码"));
        let crafted = public.get(app.url("/public/inspections/%3Cscript%3E")).send().await.unwrap();
        assert_eq!(crafted.status(), 404);
        let r = em.post(app.url(&format!("{task_url}/cancel"))).form(&[("csrf", em_csrf.as_str()), ("reason", "企业停产")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let cancelled = public.get(app.url(&format!("/public/inspections/{code}"))).send().await.unwrap().text().await.unwrap();
        assert!(cancelled.contains("该检查任务已取消"), "{cancelled}");
    }
}

on_both! {
    /// A hazard not re-inspected by its rectification date is overdue and escalated exactly
    /// once, to the responsible department's head and the coordination office.
    async fn an_overdue_hazard_is_escalated_once(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.od", "EM").await;
        app.create_user("em.odhead", "head", Some("EM"), None).await;
        let mine = create_mine(&app, &em_plain, mine_body("逾期隐患矿", 806)).await;
        let (em_id, em) = inspector(&app, "em.odi", "EM", "15020021").await;
        let t: Value = app.post("/api/v1/inspections", &em, task(mine["id"].as_str().unwrap(), &[], &[&em_id], &["EM-02"], "2026-03-02")).await.json().await.unwrap();
        let id = t["id"].as_str().unwrap();
        app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-02", "outcome": "finding", "note": "排土场超高"}]})).await;
        let (status, h) = problem(app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, json!({"item": "EM-02", "grade": "general", "description": "排土场超高", "rectify_by": "2026-03-05"})).await).await;
        assert_eq!(status, 201, "{h}");
        let tick = || async { minecoord::inspections::deadlines::run_once(&app.state).await.unwrap() };
        assert_eq!(tick().await, 0, "not due yet");
        app.clock.advance(chrono::Duration::days(4));
        assert_eq!(tick().await, 1);
        assert_eq!(tick().await, 0, "escalated once");
        app.clock.advance(chrono::Duration::days(1));
        assert_eq!(tick().await, 0, "still once the day after");
        let told = app.count("notifications WHERE title LIKE '%逾期未复查%'").await;
        assert_eq!(told, 2, "the EM head and the office, once each");
        let coord = app.token_for("coord.cat", PASSWORD).await;
        let overdue: Value = app.get("/api/v1/hazards?overdue=true", &coord).await.json().await.unwrap();
        assert_eq!(overdue["items"][0]["overdue"], true, "{overdue}");
        for (path, field) in [("/api/v1/hazards?cursor=garbage", "cursor"), ("/api/v1/inspections?limit=0", "limit"), ("/api/v1/inspections?state=lost", "state")] {
            let (status, body) = problem(app.get(path, &coord).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{path}");
        }
    }
}

/// The part of the desk between a queue's opening tag and the next section.
fn queue<'a>(page: &'a str, key: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"queue-{key}\""))
        .unwrap_or_else(|| panic!("no queue {key}: {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

on_both! {
    /// The desk: a joint department sees the task it must still record, the responsible
    /// department the hazard to re-inspect; the office sees overdue hazards and, after two
    /// major hazards on one mine within a year, the mine whose grade should be reviewed.
    async fn inspections_wait_on_the_desk(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.dk", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("工作台矿", 807)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let (em_id, em) = inspector(&app, "em.dki", "EM", "15020031").await;
        let (ee_id, ee) = inspector(&app, "ee.dki", "EE", "15020032").await;
        let t: Value = app.post("/api/v1/inspections", &em, task(&mine_id, &["EE"], &[&em_id, &ee_id], &["EM-01", "EE-01"], "2026-03-02")).await.json().await.unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        let (ee_page, _) = browser_session(&app, "ee.dki", PASSWORD).await;
        let desk = ee_page.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(queue(&desk, "inspect").contains("JC-2026-000001") && queue(&desk, "inspect").contains("工作台矿"), "{desk}");
        app.post(&format!("/api/v1/inspections/{id}/results"), &ee, json!({"department": "EE", "results": [{"item": "EE-01", "outcome": "compliant"}]})).await;
        let desk = ee_page.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(!queue(&desk, "inspect").contains("JC-2026-000001"), "recorded: off the desk");
        app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-01", "outcome": "finding", "note": "两处问题"}]})).await;
        for (clause, description) in [("O3", "未分台阶开采"), ("二（二）", "使用淘汰设备")] {
            let r = app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, json!({"item": "EM-01", "grade": "major", "standard_item": clause, "description": description, "rectify_by": "2026-03-04"})).await;
            assert_eq!(r.status(), 201);
        }
        let (em_page, _) = browser_session(&app, "em.dki", PASSWORD).await;
        let desk = em_page.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(queue(&desk, "reinspect").contains("YH-2026-000001") && queue(&desk, "reinspect").contains("重大事故隐患"), "{desk}");
        app.clock.advance(chrono::Duration::days(3));
        let (coord, _) = browser_session(&app, "coord.cat", PASSWORD).await;
        let desk = coord.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(queue(&desk, "hazards_overdue").contains("YH-2026-000002") && queue(&desk, "hazards_overdue").contains("已逾期"), "{desk}");
        assert!(queue(&desk, "grade_review").contains("工作台矿") && queue(&desk, "grade_review").contains("2 处重大事故隐患"), "{desk}");
    }
}

on_both! {
    /// The inspected enterprise sees its own mine's inspections, rates a finished visit once
    /// and can complain (a lead for the coordination office); another mine's enterprise, an
    /// unfinished visit and a second rating are refused, nothing written.
    async fn the_enterprise_rates_and_complains(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.ent", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("评价矿", 808)).await;
        let other = create_mine(&app, &em_plain, mine_body("别家矿", 809)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        for (u, m) in [("qiye.own", mine_id.as_str()), ("qiye.other", other["id"].as_str().unwrap())] {
            let r = app.post("/api/v1/users", &app.admin_token, json!({"username": u, "password": PASSWORD, "must_change_password": false, "display_name": "企业安全员", "role": "enterprise", "mine_id": m})).await;
            assert_eq!(r.status(), 201);
        }
        let own = app.token_for("qiye.own", PASSWORD).await;
        let stranger = app.token_for("qiye.other", PASSWORD).await;
        let (em_id, em) = inspector(&app, "em.enti", "EM", "15020041").await;
        let t: Value = app.post("/api/v1/inspections", &em, task(&mine_id, &[], &[&em_id], &["EM-01"], "2026-03-02")).await.json().await.unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        let rating = json!({"verdict": "satisfied", "comment": "检查人员亮码、文明执法"});
        assert_eq!(problem(app.post(&format!("/api/v1/inspections/{id}/rating"), &own, rating.clone()).await).await.0, 409, "not finished yet");
        app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-01", "outcome": "compliant"}]})).await;
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await.status(), 200);
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/rating"), &stranger, rating.clone()).await.status(), 404, "another mine's enterprise");
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/rating"), &em, rating.clone()).await.status(), 403, "officers do not rate");
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/rating"), &own, json!({"verdict": "great"})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["verdict".to_owned()]));
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/rating"), &own, rating.clone()).await.status(), 201);
        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/rating"), &own, rating).await).await;
        assert_eq!(status, 409, "once: {body}");
        assert_eq!(app.count("inspection_ratings").await, 1);

        let (status, body) = problem(app.post(&format!("/api/v1/inspections/{id}/complaint"), &own, json!({"text": " "})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["text".to_owned()]));
        let (status, lead) = problem(app.post(&format!("/api/v1/inspections/{id}/complaint"), &own, json!({"text": "检查人员要求提供与检查无关的材料"})).await).await;
        assert_eq!(status, 201, "{lead}");
        app.create_user("coord.ent", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("coord.ent", PASSWORD).await;
        let l: Value = app.get(&format!("/api/v1/leads/{}", lead["lead_id"].as_str().unwrap()), &coord).await.json().await.unwrap();
        assert_eq!((l["source"].as_str(), l["category"].as_str(), l["primary_department"].as_str()), (Some("enterprise"), Some("other"), Some("NR")), "{l}");
        assert!(l["title"].as_str().unwrap().contains("JC-2026-000001"));

        // The page shows the record; the rating given stands.
        let (page, _) = browser_session(&app, "qiye.own", PASSWORD).await;
        let mine_page = page.get(app.url("/my-inspections")).send().await.unwrap().text().await.unwrap();
        assert!(mine_page.contains("JC-2026-000001") && mine_page.contains("您的评价：满意") && mine_page.contains("执法证号 15020041"), "{mine_page}");
        let (other_page, _) = browser_session(&app, "qiye.other", PASSWORD).await;
        let theirs = other_page.get(app.url("/my-inspections")).send().await.unwrap().text().await.unwrap();
        assert!(!theirs.contains("JC-2026-000001") && theirs.contains("还没有检查记录"), "{theirs}");
    }
}

on_both! {
    /// Annual plans: a lead department draws one up in the first quarter, the office approves
    /// it, the public sees approved plans that are not exempt with the annual cap, and tasks
    /// carried out under a plan are counted against it.
    async fn annual_plans_are_approved_published_and_carried_out(app) {
        let coord = catalogue(&app).await;
        let em_plain = officer(&app, "em.plan", "EM").await;
        let (em_id, em) = inspector(&app, "em.plani", "EM", "15020051").await;
        let plan = |exempt: bool| json!({"year": 2026, "lead_department": "EM", "joint_departments": ["EE"], "period_from": "2026-03-01", "period_to": "2026-06-30",
            "target_count": 2, "scope": "露天矿山", "content": "边坡、排土场、扬尘", "exempt_from_publication": exempt});
        let (status, p) = problem(app.post("/api/v1/inspection-plans", &em, plan(false)).await).await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["state"], "draft");
        let (_, hidden) = problem(app.post("/api/v1/inspection-plans", &em, plan(true)).await).await;
        let mine = create_mine(&app, &em_plain, mine_body("计划矿", 810)).await;
        let mut t = task(mine["id"].as_str().unwrap(), &[], &[&em_id], &["EM-01"], "2026-03-10");
        t["plan_id"] = p["id"].clone();
        let (status, body) = problem(app.post("/api/v1/inspections", &em, t.clone()).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["plan_id".to_owned()]), "a draft plan carries no task");
        let pid = p["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/inspection-plans/{pid}/approve"), &em, json!({})).await.status(), 403);
        let approved: Value = app.post(&format!("/api/v1/inspection-plans/{pid}/approve"), &coord, json!({})).await.json().await.unwrap();
        assert_eq!(approved["state"], "approved");
        assert_eq!(problem(app.post(&format!("/api/v1/inspection-plans/{pid}/approve"), &coord, json!({})).await).await.0, 409);
        let hid = hidden["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/inspection-plans/{hid}/approve"), &coord, json!({})).await.status(), 200);

        let (status, task_body) = problem(app.post("/api/v1/inspections", &em, t).await).await;
        assert_eq!(status, 201, "{task_body}");
        let id = task_body["id"].as_str().unwrap();
        app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-01", "outcome": "compliant"}]})).await;
        app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await;
        let plans: Value = app.get("/api/v1/inspection-plans?year=2026", &em).await.json().await.unwrap();
        let mine_plan = plans.as_array().unwrap().iter().find(|x| x["id"] == p["id"]).unwrap().clone();
        assert_eq!((mine_plan["carried_out"].as_i64(), mine_plan["target_count"].as_i64()), (Some(1), Some(2)));

        let public = reqwest::Client::new().get(app.url("/public/inspection-plans?year=2026")).send().await.unwrap().text().await.unwrap();
        assert!(public.contains("露天矿山") && public.contains("1 / 2") && public.contains("不超过 4 次"), "{public}");
        assert_eq!(public.matches("边坡、排土场、扬尘").count(), 1, "the exempt plan is not published");
        // Through the pages: EM draws one up by ticking its joint departments, the office approves it.
        let (em_page, em_csrf) = browser_session(&app, "em.plani", PASSWORD).await;
        let form = em_page.get(app.url("/inspection-plans/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("name=\"joint.EE\"") && form.contains("提交协调办审核"), "{form}");
        let r = em_page.post(app.url("/inspection-plans")).form(&[("csrf", em_csrf.as_str()), ("year", "2026"), ("lead_department", "EM"), ("joint.AGRI", "true"),
            ("period_from", "2026-04-01"), ("period_to", "2026-09-30"), ("target_count", "很多"), ("scope", "砂石场"), ("content", "河道采砂")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "a count that is no number is sent back");
        let r = em_page.post(app.url("/inspection-plans")).form(&[("csrf", em_csrf.as_str()), ("year", "2026"), ("lead_department", "EM"), ("joint.AGRI", "true"),
            ("period_from", "2026-04-01"), ("period_to", "2026-09-30"), ("target_count", "5"), ("scope", "砂石场"), ("content", "河道采砂")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let (staff, staff_csrf) = browser_session(&app, "coord.cat", PASSWORD).await;
        let page = staff.get(app.url("/inspection-plans?year=2026")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("已审核（不公开）") && page.contains("已审核并公开") && page.contains("待协调办审核"), "{page}");
        assert!(page.contains("审核同意：区应急局（2026-04-01 起）"), "{page}");
        let start = page.find("action=\"/inspection-plans/").unwrap() + 8;
        let approve = page[start..].split('"').next().unwrap().to_owned();
        assert_eq!(staff.post(app.url(&approve)).form(&[("csrf", staff_csrf.as_str())]).send().await.unwrap().status(), 303);
        let public = reqwest::Client::new().get(app.url("/public/inspection-plans?year=2026")).send().await.unwrap().text().await.unwrap();
        assert!(public.contains("河道采砂"), "the approved plan is published: {public}");

        // After the first quarter a department no longer draws up this year's plan.
        app.clock.advance(chrono::Duration::days(40));
        let em = app.token_for("em.plani", PASSWORD).await;
        let (status, body) = problem(app.post("/api/v1/inspection-plans", &em, plan(false)).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("第一季度"), "{body}");
    }
}

on_both! {
    /// The targets' arithmetic against a hand-computed example: EM leads four tasks (two
    /// joint with EE, one under a joint plan of two, one a repeat with a reason), the
    /// enterprises rate three of them.
    async fn the_targets_add_up(app) {
        let coord = catalogue(&app).await;
        let em_plain = officer(&app, "em.tg", "EM").await;
        let (em_id, em) = inspector(&app, "em.tgi", "EM", "15020061").await;
        let (ee_id, ee) = inspector(&app, "ee.tgi", "EE", "15020062").await;
        let plan = json!({"year": 2026, "lead_department": "EM", "joint_departments": ["EE"], "period_from": "2026-03-01", "period_to": "2026-06-30",
            "target_count": 2, "scope": "露天矿山", "content": "联合检查"});
        let p: Value = app.post("/api/v1/inspection-plans", &em, plan).await.json().await.unwrap();
        app.post(&format!("/api/v1/inspection-plans/{}/approve", p["id"].as_str().unwrap()), &coord, json!({})).await;
        let mut mines = Vec::new();
        let mut raters = Vec::new();
        for i in 0..3u32 {
            let m = create_mine(&app, &em_plain, mine_body(&format!("指标矿{i}"), 820 + i)).await;
            let id = m["id"].as_str().unwrap().to_owned();
            let u = format!("qiye.tg{i}");
            app.post("/api/v1/users", &app.admin_token, json!({"username": u, "password": PASSWORD, "must_change_password": false, "display_name": "企业", "role": "enterprise", "mine_id": id})).await;
            raters.push(app.token_for(&u, PASSWORD).await);
            mines.push(id);
        }
        let run = |mine: String, joint: bool, plan_id: Option<String>, from: &'static str, override_reason: Option<&'static str>| {
            let (app, em, em_id, ee_id) = (&app, em.clone(), em_id.clone(), ee_id.clone());
            async move {
                let mut body = if joint {
                    task(&mine, &["EE"], &[&em_id, &ee_id], &["EM-01", "EE-01"], from)
                } else {
                    task(&mine, &[], &[&em_id], &["EM-01"], from)
                };
                if let Some(p) = plan_id {
                    body["plan_id"] = json!(p);
                }
                if let Some(r) = override_reason {
                    body["override_kind"] = json!("order");
                    body["override_reason"] = json!(r);
                }
                let (status, t) = problem(app.post("/api/v1/inspections", &em, body).await).await;
                assert_eq!(status, 201, "{t}");
                t["id"].as_str().unwrap().to_owned()
            }
        };
        let finish = |id: String, joint: bool| {
            let (app, em, ee) = (&app, em.clone(), ee.clone());
            async move {
                app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-01", "outcome": "compliant"}]})).await;
                if joint {
                    app.post(&format!("/api/v1/inspections/{id}/results"), &ee, json!({"department": "EE", "results": [{"item": "EE-01", "outcome": "compliant"}]})).await;
                }
                assert_eq!(app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await.status(), 200);
            }
        };
        let a = run(mines[0].clone(), true, p["id"].as_str().map(str::to_owned), "2026-03-03", None).await;
        let b = run(mines[1].clone(), true, None, "2026-03-04", None).await;
        let c = run(mines[2].clone(), false, None, "2026-03-05", None).await;
        let _d = run(mines[2].clone(), false, None, "2026-03-20", Some("上级交办专项检查")).await;
        finish(a.clone(), true).await;
        finish(b.clone(), true).await;
        finish(c.clone(), false).await;
        for (i, (task, verdict)) in [(a, "satisfied"), (b, "dissatisfied"), (c, "basically_satisfied")].into_iter().enumerate() {
            let r = app.post(&format!("/api/v1/inspections/{task}/rating"), &raters[i], json!({"verdict": verdict})).await;
            assert_eq!(r.status(), 201);
        }
        let s: Value = app.get("/api/v1/stats/inspections?from=2026-03-01&to=2026-03-31", &coord).await.json().await.unwrap();
        let dept = |code: &str| s["departments"].as_array().unwrap().iter().find(|d| d["department"] == code).unwrap().clone();
        let em_f = dept("EM");
        assert_eq!((em_f["tasks"].as_i64(), em_f["joint_tasks"].as_i64(), em_f["joint_rate"].as_f64()), (Some(4), Some(2), Some(50.0)), "{em_f}");
        assert_eq!((em_f["planned"].as_i64(), em_f["planned_done"].as_i64(), em_f["plan_done_rate"].as_f64()), (Some(2), Some(1), Some(50.0)));
        assert_eq!((em_f["ratings"].as_i64(), em_f["satisfied"].as_i64(), em_f["satisfaction_rate"].as_f64()), (Some(3), Some(2), Some(66.7)));
        assert_eq!(em_f["overrides"], 1);
        let ee_f = dept("EE");
        assert_eq!((ee_f["tasks"].as_i64(), ee_f["joint_rate"].as_f64(), ee_f["satisfaction_rate"].as_f64()), (Some(2), Some(100.0), Some(50.0)), "{ee_f}");
        assert!(ee_f["plan_done_rate"].is_null(), "EE leads no plan");
        assert_eq!(s["targets"], json!({"joint_rate": 60.0, "plan_done_rate": 85.0, "satisfaction_rate": 95.0}));

        let (page, _) = browser_session(&app, "coord.cat", PASSWORD).await;
        let html = page.get(app.url("/inspections/stats?from=2026-03-01&to=2026-03-31")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("虚线为目标 60%") && html.contains("虚线为目标 95%") && html.contains("66.7%"), "{html}");
        let x = app.get("/api/v1/stats/inspections.xlsx?from=2026-03-01&to=2026-03-31", &coord).await;
        assert_eq!(x.status(), 200);
        let rows = minecoord::platform::xlsx::read_first_sheet(&x.bytes().await.unwrap(), &Default::default()).unwrap();
        let em_row = rows.iter().find(|r| r[1] == "区应急局").expect("EM's row");
        assert_eq!(em_row[4], "50", "{em_row:?}");

        // Month by month: April has one more joint task; the district counts each task once
        // (March: four tasks, two of them joint, though EM and EE both took part in those).
        let april = create_mine(&app, &em_plain, mine_body("指标矿四月", 830)).await;
        let april_task = run(april["id"].as_str().unwrap().to_owned(), true, None, "2026-04-02", None).await;
        let s: Value = app.get("/api/v1/stats/inspections?from=2026-03-01&to=2026-04-30", &coord).await.json().await.unwrap();
        let months = s["months"].as_array().unwrap();
        assert_eq!(months.iter().map(|m| m["month"].as_str().unwrap()).collect::<Vec<_>>(), ["2026-03", "2026-04"]);
        let (march, april) = (&months[0], &months[1]);
        assert_eq!((march["district"]["tasks"].as_i64(), march["district"]["joint_tasks"].as_i64(), march["district"]["joint_rate"].as_f64()), (Some(4), Some(2), Some(50.0)), "{march}");
        assert_eq!((march["district"]["ratings"].as_i64(), march["district"]["satisfaction_rate"].as_f64(), march["district"]["overrides"].as_i64()), (Some(3), Some(66.7), Some(1)));
        assert_eq!((april["district"]["tasks"].as_i64(), april["district"]["joint_rate"].as_f64()), (Some(1), Some(100.0)), "{april}");
        let ee_april = april["departments"].as_array().unwrap().iter().find(|d| d["department"] == "EE").unwrap();
        assert_eq!((ee_april["tasks"].as_i64(), ee_april["joint_tasks"].as_i64()), (Some(1), Some(1)));
        let em_all = s["departments"].as_array().unwrap().iter().find(|d| d["department"] == "EM").unwrap();
        assert_eq!((em_all["tasks"].as_i64(), em_all["joint_rate"].as_f64()), (Some(5), Some(60.0)), "the period's total is the months' sum");
        let html = page.get(app.url("/inspections/stats?from=2026-03-01&to=2026-04-30")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("每月检查任务（全区）") && html.contains("每月联合检查占比（全区）"), "the months are drawn");

        // A cancelled task leaves the figures; the tallies kept with each change equal the
        // figures counted again from the records; a period is whole months.
        assert_eq!(app.post(&format!("/api/v1/inspections/{april_task}/cancel"), &em, json!({"reason": "企业停产"})).await.status(), 200);
        let kept: Value = app.get("/api/v1/stats/inspections?from=2026-03-10&to=2026-04-20", &coord).await.json().await.unwrap();
        assert_eq!((kept["from"].as_str(), kept["to"].as_str()), (Some("2026-03-01"), Some("2026-04-30")));
        assert_eq!(kept["months"][1]["district"]["tasks"], 0, "{kept}");
        app.with_db(minecoord::inspections::store::tallies::recount).await;
        let recounted: Value = app.get("/api/v1/stats/inspections?from=2026-03-01&to=2026-04-30", &coord).await.json().await.unwrap();
        assert_eq!(kept, recounted, "the tallies are the records' counts");
    }
}

on_both! {
    /// A lead's primary department opens a task from the lead; the task names the lead and
    /// the lead's page lists the tasks opened from it.
    async fn a_task_opened_from_a_lead_links_both_ways(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.lk", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("线索检查矿", 830)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        app.create_user("town.lk", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.lk", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, json!({"title": "违规爆破", "category": "safety_violation", "description": "夜间爆破。", "mine_id": mine_id})).await;
        let lead_id = lead["id"].as_str().unwrap().to_owned();
        assert_eq!(lead["primary_department"], "EM", "{lead}");
        let (em_id, em) = inspector(&app, "em.lki", "EM", "15020071").await;
        let (page, _) = browser_session(&app, "em.lki", PASSWORD).await;
        let lead_page = page.get(app.url(&format!("/leads/{lead_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(lead_page.contains(&format!("href=\"/inspections/new?lead_id={lead_id}&#38;mine_id={mine_id}\">据此发起检查任务")), "{lead_page}");
        let form = page.get(app.url(&format!("/inspections/new?lead_id={lead_id}&mine_id={mine_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains(&format!("name=\"lead_id\" value=\"{lead_id}\"")) && form.contains("<option value=\"lead\" selected>"), "{form}");
        let mut body = task(&mine_id, &[], &[&em_id], &["EM-01"], "2026-03-03");
        body["basis"] = json!("lead");
        body["lead_id"] = json!(lead_id);
        let (status, t) = problem(app.post("/api/v1/inspections", &em, body).await).await;
        assert_eq!(status, 201, "{t}");
        let listed: Value = app.get(&format!("/api/v1/inspections?lead_id={lead_id}"), &em).await.json().await.unwrap();
        assert_eq!(listed["items"][0]["number"], t["number"]);
        let task_page = page.get(app.url(&format!("/inspections/{}", t["id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
        assert!(task_page.contains(&format!("href=\"/leads/{lead_id}\">相关线索")), "{task_page}");
    }
}

/// A file as the API's upload takes it: the body, its type, its name.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    path: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    problem(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("content-type", kind)
            .body(bytes)
            .send()
            .await
            .unwrap(),
    )
    .await
}

const JPEG: [u8; 14] = [
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9,
];

on_both! {
    /// 矿安〔2022〕88号 as coded lists: 32 + 13 + 19 numbered situations with their
    /// sub-items; a mine's type and mining method choose its list.
    async fn the_2022_standard_is_offered_by_the_mines_type(app) {
        let em = officer(&app, "em.std", "EM").await;
        let all: Value = app.get("/api/v1/hazard-standard", &em).await.json().await.unwrap();
        assert_eq!(all["document"], "矿安〔2022〕88号");
        let lists = all["lists"].as_array().unwrap();
        let tops: Vec<usize> = lists.iter().map(|l| l["items"].as_array().unwrap().iter().filter(|e| e["parent"].is_null()).count()).collect();
        assert_eq!(tops, [32, 13, 19], "the standard's 64 situations");
        let tailings: Value = app.get("/api/v1/hazard-standard?list=tailings", &em).await.json().await.unwrap();
        let t13 = tailings["lists"][0]["items"].as_array().unwrap().iter().find(|e| e["code"] == "T13-3").cloned().unwrap();
        assert_eq!((t13["number"].as_str(), t13["parent"].as_str(), t13["selectable"].as_bool()), (Some("三（十三）3"), Some("T13"), Some(true)));
        let mut body = mine_body("地下金矿", 811);
        body["mining_method"] = json!("underground");
        let mine = create_mine(&app, &em, body).await;
        let own: Value = app.get(&format!("/api/v1/hazard-standard?mine_id={}", mine["id"].as_str().unwrap()), &em).await.json().await.unwrap();
        assert_eq!((own["lists"].as_array().unwrap().len(), own["lists"][0]["list"].as_str()), (1, Some("underground")));
        for (query, field) in [("list=coal", "list"), ("mine_id=nope", "mine_id"), ("list=tailings&mine_id=x", "list")] {
            let (status, body) = problem(app.get(&format!("/api/v1/hazard-standard?{query}"), &em).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{query}: {body}");
        }
        app.create_user("tw.std", "township", None, Some("BEHT")).await;
        let tw = app.token_for("tw.std", PASSWORD).await;
        assert_eq!(app.get("/api/v1/hazard-standard", &tw).await.status(), 403);
        let (page, _) = browser_session(&app, "em.std", PASSWORD).await;
        let html = page.get(app.url("/inspections/hazard-standard?list=open_pit")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("二（八）2") && html.contains("坡体前缘坡脚处出现上隆") && !html.contains("一（一）1"), "one list on the page");
    }
}

on_both! {
    /// Photos of a result, of a hazard and the evidence of its re-inspection: each by the
    /// department that owns it, checked for type and size, readable by the task's parties
    /// only, and none on an archived task.
    async fn a_visit_keeps_its_photos_and_evidence(app) {
        catalogue(&app).await;
        let em_plain = officer(&app, "em.fp", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("照片矿", 812)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let (em_id, em) = inspector(&app, "em.f", "EM", "15020041").await;
        let (ee_id, ee) = inspector(&app, "ee.f", "EE", "15020042").await;
        let (_, nr) = inspector(&app, "nr.f", "NR", "15020043").await;
        let t: Value = app.post("/api/v1/inspections", &em, task(&mine_id, &["EE"], &[&em_id, &ee_id], &["EM-01", "EE-01"], "2026-03-02")).await.json().await.unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        let files = format!("/api/v1/inspections/{id}/files");

        let (status, body) = upload(&app, &em, &format!("{files}?purpose=result&item=em-01&name=出口.jpg"), "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!((body[0]["item_code"].as_str(), body[0]["purpose"].as_str()), (Some("EM-01"), Some("result")));
        let file_id = body[0]["id"].as_str().unwrap().to_owned();
        for (token, query, kind, want, field) in [
            (&ee, "purpose=result&item=EM-01", "image/jpeg", 403, None),
            (&em, "purpose=result&item=NR-01", "image/jpeg", 422, Some("item")),
            (&em, "purpose=result", "image/jpeg", 422, Some("item")),
            (&em, "purpose=selfie&item=EM-01", "image/jpeg", 422, Some("purpose")),
            (&em, "purpose=result&item=EM-01&name=a.exe", "application/octet-stream", 422, Some("files")),
            (&em, "purpose=hazard&hazard_id=nope", "image/jpeg", 422, Some("hazard_id")),
            (&nr, "purpose=result&item=EM-01", "image/jpeg", 404, None),
        ] {
            let (status, body) = upload(&app, token, &format!("{files}?{query}"), kind, JPEG.to_vec()).await;
            assert_eq!(status, want, "{query}: {body}");
            if let Some(f) = field {
                assert_eq!(fields(&body), vec![f.to_owned()], "{query}: {body}");
            }
        }
        assert_eq!(app.count("inspection_files").await, 1, "nothing written by the refused ones");

        let got = app.get(&format!("{files}/{file_id}"), &ee).await;
        assert_eq!(got.status(), 200, "a party to the task reads it");
        assert_eq!(got.headers()["content-type"], "image/jpeg");
        assert_eq!(got.bytes().await.unwrap().to_vec(), JPEG.to_vec());
        assert_eq!(app.get(&format!("{files}/{file_id}"), &nr).await.status(), 404, "not a party");
        let v: Value = app.get(&format!("/api/v1/inspections/{id}"), &em).await.json().await.unwrap();
        assert_eq!(v["files"][0]["sha256"].as_str().unwrap().len(), 64, "{v}");

        app.post(&format!("/api/v1/inspections/{id}/results"), &em, json!({"department": "EM", "results": [{"item": "EM-01", "outcome": "finding", "note": "边坡裂缝"}]})).await;
        app.post(&format!("/api/v1/inspections/{id}/results"), &ee, json!({"department": "EE", "results": [{"item": "EE-01", "outcome": "compliant"}]})).await;
        let h: Value = app.post(&format!("/api/v1/inspections/{id}/hazards"), &em, json!({"item": "EM-01", "grade": "general", "description": "边坡裂缝未处理", "rectify_by": "2026-03-20"})).await.json().await.unwrap();
        let hid = h["id"].as_str().unwrap().to_owned();
        assert_eq!(upload(&app, &em, &format!("{files}?purpose=hazard&hazard_id={hid}"), "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await.0, 201);
        assert_eq!(upload(&app, &ee, &format!("{files}?purpose=reinspection&hazard_id={hid}"), "image/jpeg", JPEG.to_vec()).await.0, 403, "the responsible department proves it");
        assert_eq!(app.post(&format!("/api/v1/inspections/{id}/complete"), &em, json!({})).await.status(), 200);
        assert_eq!(upload(&app, &em, &format!("{files}?purpose=result&item=EM-01"), "image/jpeg", JPEG.to_vec()).await.0, 409, "a completed visit's results are final");
        assert_eq!(upload(&app, &em, &format!("{files}?purpose=reinspection&hazard_id={hid}&name=整改报告.pdf"), "application/pdf", b"%PDF-1.4".to_vec()).await.0, 201);
        assert_eq!(app.post(&format!("/api/v1/hazards/{hid}/reinspect"), &em, json!({"abated": true, "note": "裂缝已回填"})).await.status(), 200);
        let (status, body) = upload(&app, &em, &format!("{files}?purpose=reinspection&hazard_id={hid}"), "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(status, 409, "archived: {body}");
        assert_eq!(app.count("inspection_files").await, 3);
        assert_eq!(app.count("audit_log WHERE entity_type = 'inspection' AND action = 'attach'").await, 3, "each upload on the record");
    }
}
