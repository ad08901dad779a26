//! 关闭退出: a case opened on a decision with its checklist, each department's tasks (the
//! permit tasks cancelling permits), the joint acceptance that alone closes the mine, the
//! tailings pond's clock across its one extension, and the watch on closed mines.

use chrono::Duration;
use serde_json::{json, Value};

use crate::boundaries::{licensed_mine, square};
use crate::consultations::person;
use crate::helpers::*;
use crate::mines::{create_mine, mine_body};
use crate::on_both;

fn case_body(mine_id: &str, kind: &str) -> Value {
    json!({"mine_id": mine_id, "kind": kind, "decision_number": "昆政发〔2026〕12号",
        "decided_on": "2026-03-01", "issuing_body": "昆都仑区人民政府", "basis": "document",
        "basis_ref": "区政府常务会议纪要", "target_on": "2026-12-31"})
}

fn task<'a>(case: &'a Value, code: &str) -> &'a Value {
    case["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == code)
        .unwrap_or_else(|| panic!("no task {code} in {case}"))
}

async fn step(
    app: &TestApp,
    token: &str,
    case: &Value,
    code: &str,
    step: &str,
    note: &str,
) -> (u16, Value) {
    let path = format!(
        "/api/v1/closures/{}/tasks/{}/{step}",
        case["id"].as_str().unwrap(),
        task(case, code)["id"].as_str().unwrap()
    );
    problem(app.post(&path, token, json!({"note": note})).await).await
}

on_both! {
    /// NR opens a government-decided closure: the mine becomes 临近关闭退出 and the case gets
    /// its kind's checklist; only the owning department completes a task, the safety
    /// permit task cancels the permit (and tells the other units), acceptance waits for
    /// every task, and only an accepted acceptance closes the mine, which then stays on the
    /// register, under watch, shown closed on its public page. Each bad input is a clear
    /// 4xx with nothing written.
    async fn a_government_decided_closure_runs_from_decision_to_accepted(app) {
        let (_, _) = person(&app, "nr.cl", "officer", (Some("NR"), None)).await;
        person(&app, "em.cl", "officer", (Some("EM"), None)).await;
        person(&app, "ee.cl", "officer", (Some("EE"), None)).await;
        person(&app, "coord.cl", "coordinator", (Some("NR"), None)).await;
        person(&app, "town.cl", "township", (None, Some("BEHT"))).await;
        let nr = app.token_for("nr.cl", PASSWORD).await;
        let em = app.token_for("em.cl", PASSWORD).await;
        let ee = app.token_for("ee.cl", PASSWORD).await;
        let coord = app.token_for("coord.cl", PASSWORD).await;
        let town = app.token_for("town.cl", PASSWORD).await;
        let mine = create_mine(&app, &em, mine_body("关闭砂石矿", 1601)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        for (who, kind, number) in [(&nr, "mining_licence", "C15-1601"), (&em, "safety_production", "A-1601")] {
            let r = app.post(&format!("/api/v1/mines/{mine_id}/permits"), who, json!({"permit_type": kind, "number": number,
                "holder": "关闭砂石矿有限公司", "issued_on": "2025-01-01", "expires_on": "2027-12-31"})).await;
            assert_eq!(r.status(), 201);
        }

        // Who may open which kind, and the checks before anything is written.
        let (status, body) = problem(app.post("/api/v1/closures", &ee, case_body(&mine_id, "government_decision")).await).await;
        assert_eq!(status, 403, "EE does not own a government-decided closure: {body}");
        assert!(body["detail"].as_str().unwrap().contains("区自然资源分局"));
        let (status, body) = problem(app.post("/api/v1/closures", &town, case_body(&mine_id, "government_decision")).await).await;
        assert_eq!(status, 403, "{body}");
        let mut bad = case_body(&mine_id, "shutdown");
        bad["decided_on"] = json!("2026-13-01");
        bad["decision_number"] = json!(" ");
        bad["basis"] = json!("rumour");
        let (status, body) = problem(app.post("/api/v1/closures", &nr, bad).await).await;
        assert_eq!(status, 422);
        let f = fields(&body);
        for field in ["kind", "decided_on", "decision_number", "basis"] {
            assert!(f.contains(&field.to_owned()), "{field} in {f:?}");
        }
        let mut future = case_body(&mine_id, "government_decision");
        future["decided_on"] = json!("2026-04-01");
        future["target_on"] = json!("2026-02-01");
        let (status, body) = problem(app.post("/api/v1/closures", &nr, future).await).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"decided_on".to_owned()), "{body}");
        let (status, body) = problem(app.post("/api/v1/closures", &coord, case_body(&mine_id, "tailings_closure")).await).await;
        assert_eq!(status, 422, "a sand pit is no tailings pond: {body}");
        let (status, body) = problem(app.post("/api/v1/closures", &nr, case_body(&mine_id, "ban_illegal")).await).await;
        assert_eq!(status, 422, "only an illegal site is banned: {body}");
        let mut consultation = case_body(&mine_id, "government_decision");
        consultation["basis"] = json!("consultation");
        consultation["basis_ref"] = json!("HS-2026-099-1");
        let (status, body) = problem(app.post("/api/v1/closures", &nr, consultation).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("督办台账中没有"), "{body}");
        assert_eq!(app.count("closure_cases").await, 0);
        assert_eq!(app.count("closure_tasks").await, 0);

        // Opened: numbered, the checklist of its kind, the mine closing through its history.
        let (status, case) = problem(app.post("/api/v1/closures", &nr, case_body(&mine_id, "government_decision")).await).await;
        assert_eq!(status, 201, "{case}");
        assert_eq!(case["number"], "GB-2026-001");
        assert_eq!(case["state"], "open");
        assert_eq!(case["owner_department"], "NR");
        let codes: Vec<&str> = case["tasks"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
        for c in ["cancel_mining_licence", "cancel_safety_permit", "stop_supply", "seal_shafts", "restoration", "environment_monitoring", "closure_report"] {
            assert!(codes.contains(&c), "{c} in {codes:?}");
        }
        assert!(!codes.contains(&"tailings_design"), "a tailings task is not on a sand pit's list");
        assert_eq!(task(&case, "cancel_safety_permit")["department"], "EM");
        assert_eq!(task(&case, "stop_supply")["department"], "NR", "OWNER is the case's unit");
        assert_eq!(task(&case, "cancel_safety_permit")["due_on"], "2026-03-31");
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &nr).await.json().await.unwrap();
        assert_eq!(m["status"], "closing");
        let (status, body) = problem(app.post("/api/v1/closures", &coord, case_body(&mine_id, "unsafe")).await).await;
        assert_eq!(status, 409, "one live case a mine: {body}");
        assert!(body["detail"].as_str().unwrap().contains("GB-2026-001"));
        let (status, _) = problem(app.post(&format!("/api/v1/mines/{mine_id}/status"), &nr, json!({"status": "closed", "reason": "手工关闭"})).await).await;
        assert!(status == 409 || status == 422, "closed by hand is refused ({status})");
        assert_eq!(app.count("closure_cases").await, 1);

        // Only the owning department completes; a note is required; the permit is cancelled.
        let (status, body) = step(&app, &nr, &case, "cancel_safety_permit", "complete", "已注销").await;
        assert_eq!(status, 403, "NR cannot complete EM's task: {body}");
        assert!(body["detail"].as_str().unwrap().contains("区应急局"));
        let (status, body) = step(&app, &em, &case, "cancel_safety_permit", "complete", " ").await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["note"]);
        let (status, after) = step(&app, &em, &case, "cancel_safety_permit", "complete", "已依法注销安全生产许可证").await;
        assert_eq!(status, 200, "{after}");
        assert_eq!(task(&after, "cancel_safety_permit")["state"], "done");
        let permits: Value = app.get(&format!("/api/v1/mines/{mine_id}/permits"), &em).await.json().await.unwrap();
        let safety = permits["items"].as_array().unwrap().iter().find(|p| p["permit_type"] == "safety_production").unwrap();
        assert_eq!(safety["status"], "cancelled", "{safety}");
        assert!(app.count("notifications WHERE kind = 'permit_decided'").await > 0, "相互通报");
        let (status, _) = step(&app, &em, &case, "cancel_safety_permit", "complete", "再次").await;
        assert_eq!(status, 409, "a done task is not done twice");
        // Evidence: a file must be what it says it is; another department's task refuses it.
        let files = format!("/api/v1/closures/{}/tasks/{}/files", case["id"].as_str().unwrap(), task(&case, "cancel_safety_permit")["id"].as_str().unwrap());
        let send = |token: &str, name: &str, kind: &str, bytes: &'static [u8]| {
            app.client.post(app.url(&format!("{files}?name={name}&lon=109.8&lat=40.6"))).bearer_auth(token).header("content-type", kind).body(bytes)
        };
        let r = send(&em, "注销决定.pdf", "application/pdf", b"MZ\x90\x00 not a pdf").send().await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["evidence"]);
        let r = send(&nr, "注销决定.pdf", "application/pdf", b"%PDF-1.4 real").send().await.unwrap();
        assert_eq!(r.status(), 403, "NR cannot add to EM's task");
        assert_eq!(app.count("closure_files").await, 0, "nothing kept");
        let r = send(&em, "注销决定.pdf", "application/pdf", b"%PDF-1.4 real").send().await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body[0]["lon"], 109.8);

        // Acceptance waits for every task.
        let accept = json!({"accepted": true, "departments": ["NR", "EM", "EE"], "conclusion": "验收合格"});
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{}/acceptance", case["id"].as_str().unwrap()), &coord, accept.clone()).await).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("项任务未完成"));
        let (status, _) = step(&app, &nr, &case, "restoration", "waive", "已免除").await;
        assert_eq!(status, 403, "only the office waives");
        let (status, body) = step(&app, &coord, &case, "restoration", "waive", "").await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = step(&app, &coord, &case, "restoration", "waive", "由市级统一实施生态修复").await;
        assert_eq!(status, 200);
        // The office adds a task with its reason, within the target date.
        let cid = case["id"].as_str().unwrap().to_owned();
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/tasks"), &coord, json!({"name": "拆除炸药库", "department": "EM", "due_on": "2027-06-01", "reason": "现场有炸药库"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["due_on"]);
        let (status, with_added) = problem(app.post(&format!("/api/v1/closures/{cid}/tasks"), &coord, json!({"name": "拆除炸药库", "department": "EM", "due_on": "2026-06-01", "reason": "现场有炸药库"})).await).await;
        assert_eq!(status, 200, "{with_added}");
        for t in with_added["tasks"].as_array().unwrap().clone() {
            if t["state"] != "open" { continue; }
            let token = match t["department"].as_str().unwrap() { "NR" => &nr, "EM" => &em, "EE" => &ee, d => panic!("unexpected {d}") };
            let (status, body) = step(&app, token, &with_added, t["code"].as_str().unwrap(), "complete", "已完成并留存照片").await;
            assert_eq!(status, 200, "{} {body}", t["code"]);
        }
        let r: Value = app.get(&format!("/api/v1/closures/{cid}"), &coord).await.json().await.unwrap();
        assert_eq!(r["state"], "accepting", "every task done or waived");
        let licence = permits_of(&app, &nr, &mine_id).await;
        assert_eq!(licence, "cancelled", "NR's licence task cancelled the licence");

        // Only the office records it; departments are required; not accepted reopens tasks.
        let (status, _) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance"), &nr, accept.clone()).await).await;
        assert_eq!(status, 403);
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance"), &coord, json!({"accepted": false, "departments": [], "conclusion": ""})).await).await;
        assert_eq!(status, 422);
        let f = fields(&body);
        assert!(f.contains(&"departments".to_owned()) && f.contains(&"conclusion".to_owned()) && f.contains(&"redo".to_owned()), "{f:?}");
        let seal = task(&r, "seal_shafts")["id"].as_str().unwrap().to_owned();
        let (status, rejected) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance"), &coord, json!({"accepted": false, "departments": ["NR", "EM"], "conclusion": "井口封闭不严", "redo": [seal]})).await).await;
        assert_eq!(status, 200, "{rejected}");
        assert_eq!(rejected["state"], "rejected");
        assert_eq!(task(&rejected, "seal_shafts")["state"], "open");
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &nr).await.json().await.unwrap();
        assert_eq!(m["status"], "closing", "a failed acceptance closes nothing");
        let (status, _) = step(&app, &nr, &rejected, "seal_shafts", "complete", "已重新浇筑封闭").await;
        assert_eq!(status, 200);
        let (status, accepted) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance"), &coord, accept).await).await;
        assert_eq!(status, 200, "{accepted}");
        assert_eq!(accepted["state"], "accepted");
        assert_eq!(accepted["acceptances"].as_array().unwrap().len(), 2);
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &nr).await.json().await.unwrap();
        assert_eq!(m["status"], "closed");
        let public = app.client.get(app.url(&format!("/public/mines/{mine_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(public.contains("已关闭（2026-03-02 关闭）"), "the public page shows it closed with the date");
        // Each participating department confirms for itself, once.
        let aid = accepted["acceptances"][1]["id"].as_str().unwrap().to_owned();
        let (status, _) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance/{aid}/confirm"), &town, json!({})).await).await;
        assert_eq!(status, 403);
        let (ee_page, _) = browser_session(&app, "ee.cl", PASSWORD).await;
        let desk = ee_page.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("待确认的关闭退出验收") && desk.contains("GB-2026-001"), "EE's desk asks it to confirm");
        let (status, confirmed) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance/{aid}/confirm"), &ee, json!({})).await).await;
        assert_eq!(status, 200, "{confirmed}");
        let (status, _) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance/{aid}/confirm"), &ee, json!({})).await).await;
        assert_eq!(status, 409);
        let desk = ee_page.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(!desk.contains("待确认的关闭退出验收"), "confirmed, off the desk");
        // Accepted is final; the mine's history keeps both changes; the watch has it.
        let (status, _) = step(&app, &coord, &accepted, "warning_signs", "waive", "不再需要").await;
        assert_eq!(status, 409);
        assert_eq!(app.count("mine_changes WHERE kind = 'status'").await, 2);
        let w: Value = app.get("/api/v1/closed-mines/watch", &coord).await.json().await.unwrap();
        assert_eq!(w["total"], 1);
        assert_eq!(w["items"][0]["mine_id"], mine_id.as_str());
        assert_eq!(w["items"][0]["due"], true, "never patrolled");
        // The board counts from the kept tallies; the list filters; the export opens.
        let b: Value = app.get("/api/v1/closures/board", &coord).await.json().await.unwrap();
        assert_eq!(b["accepted"], 1);
        assert_eq!(b["live"], 0);
        let l: Value = app.get("/api/v1/closures?state=accepted&kind=government_decision", &em).await.json().await.unwrap();
        assert_eq!(l["items"].as_array().unwrap().len(), 1);
        let (status, body) = problem(app.get("/api/v1/closures?state=finished", &em).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["state"]);
        let x = app.get("/api/v1/closures/export.xlsx", &coord).await;
        assert_eq!(x.status(), 200);
        assert!(x.bytes().await.unwrap().starts_with(b"PK"));
        let audit: Value = app.get(&format!("/api/v1/audit?entity=closure&entity_id={cid}&limit=100"), &app.admin_token).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        for a in ["create", "complete_task", "waive_task", "add_task", "acceptance", "confirm_acceptance"] {
            assert!(actions.contains(&a), "{a} in {actions:?}");
        }
    }
}

async fn permits_of(app: &TestApp, token: &str, mine_id: &str) -> String {
    let permits: Value = app
        .get(&format!("/api/v1/mines/{mine_id}/permits"), token)
        .await
        .json()
        .await
        .unwrap();
    permits["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["permit_type"] == "mining_licence")
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both! {
    /// A tailings pond's clock: the design due 12 months before the stop, the closure a
    /// year after it; each deadline reminded before and escalated after, once; one
    /// extension of at most six months, by EM with a reason, which moves the closure and
    /// lets it be reminded and escalated again.
    async fn the_tailings_clock_runs_across_its_one_extension(app) {
        person(&app, "em.tc", "officer", (Some("EM"), None)).await;
        person(&app, "em.head.tc", "head", (Some("EM"), None)).await;
        person(&app, "nr.tc", "officer", (Some("NR"), None)).await;
        person(&app, "coord.tc", "coordinator", (Some("NR"), None)).await;
        let em = app.token_for("em.tc", PASSWORD).await;
        let nr = app.token_for("nr.tc", PASSWORD).await;
        let coord = app.token_for("coord.tc", PASSWORD).await;
        let mut body = mine_body("红岭尾矿库", 1602);
        body["mine_type"] = json!("tailings_pond");
        body["tailings_capacity_10k_m3"] = json!(300.0);
        body["tailings_dam_height_m"] = json!(30.0);
        let pond = create_mine(&app, &em, body).await;
        let pond_id = pond["id"].as_str().unwrap().to_owned();
        let mut open = case_body(&pond_id, "tailings_closure");
        open.as_object_mut().unwrap().remove("target_on");
        let (status, body) = problem(app.post("/api/v1/closures", &em, open.clone()).await).await;
        assert_eq!(status, 422, "the planned stop is needed: {body}");
        assert_eq!(fields(&body), vec!["stop_on"]);
        open["stop_on"] = json!("2026-09-30");
        open["target_on"] = json!("2028-01-01");
        let (status, body) = problem(app.post("/api/v1/closures", &em, open.clone()).await).await;
        assert_eq!(status, 422, "no later than a year after the stop: {body}");
        assert_eq!(fields(&body), vec!["target_on"]);
        open.as_object_mut().unwrap().remove("target_on");
        let (status, case) = problem(app.post("/api/v1/closures", &em, open).await).await;
        assert_eq!(status, 201, "{case}");
        assert_eq!(case["target_on"], "2027-09-30");
        assert_eq!(case["design_due_on"], "2025-09-30");
        assert_eq!(task(&case, "tailings_design")["due_on"], "2025-09-30", "the design, 12 months before the stop");
        let cid = case["id"].as_str().unwrap().to_owned();
        let tick = || async { minecoord::closures::deadlines::run_once(&app.state).await.unwrap() };

        // The design is already past: reminded and escalated once, however often it runs.
        assert!(tick().await > 0);
        let design = "notifications WHERE title LIKE '%任务逾期督办：尾矿库闭库设计及审查%'";
        let once = app.count(design).await;
        assert!(once > 0, "the design's escalation reached EM's head and the office");
        tick().await;
        assert_eq!(app.count(design).await, once, "escalated once only");

        // Extension: EM only, at most six months, once, with a reason.
        let (status, _) = problem(app.post(&format!("/api/v1/closures/{cid}/extend"), &nr, json!({"months": 3, "reason": "汛期施工困难"})).await).await;
        assert_eq!(status, 403);
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/extend"), &em, json!({"months": 7, "reason": "汛期施工困难"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["months"]);
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/extend"), &em, json!({"months": 6, "reason": " "})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["reason"]);

        // To just after the closure's deadline: escalated once.
        app.clock.advance(Duration::days(578));
        let em = app.token_for("em.tc", PASSWORD).await;
        tick().await;
        let closure = "notifications WHERE title LIKE '%闭库销号逾期督办：红岭尾矿库%'";
        let first = app.count(closure).await;
        assert!(first > 0);
        tick().await;
        assert_eq!(app.count(closure).await, first);
        let overdue_kept = |b: &Value| b["overdue"].as_array().unwrap().iter().map(|o| o["overdue_tasks"].as_i64().unwrap()).sum::<i64>();
        let b: Value = app.get("/api/v1/closures/board", &em).await.json().await.unwrap();
        let counted = app.count("closure_tasks WHERE state = 'open' AND due_on < '2027-10-01'").await;
        assert!(counted > 1);
        assert_eq!(overdue_kept(&b), counted, "the kept counts agree with the tasks");
        let (status, extended) = problem(app.post(&format!("/api/v1/closures/{cid}/extend"), &em, json!({"months": 6, "reason": "汛期施工困难，设计变更"})).await).await;
        assert_eq!(status, 200, "{extended}");
        assert_eq!(extended["target_on"], "2028-03-30");
        assert_eq!(extended["extended_months"], 6);
        assert_eq!(task(&extended, "tailings_treatment")["due_on"], "2028-01-27", "the closure year's tasks move with it");
        assert_eq!(task(&extended, "tailings_design")["due_on"], "2025-09-30", "the design does not move");
        let b: Value = app.get("/api/v1/closures/board", &em).await.json().await.unwrap();
        let counted = app.count("closure_tasks WHERE state = 'open' AND due_on < '2027-10-01'").await;
        assert!(counted >= 1, "the design is still overdue");
        assert_eq!(overdue_kept(&b), counted, "moved with the extension");
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/extend"), &em, json!({"months": 1, "reason": "再延"})).await).await;
        assert_eq!(status, 409, "a second extension: {body}");
        assert!(body["detail"].as_str().unwrap().contains("只能") || body["detail"].as_str().unwrap().contains("不能再次延长"));
        // Not escalated again before the new deadline, again once after it.
        tick().await;
        assert_eq!(app.count(closure).await, first);
        app.clock.advance(Duration::days(183));
        tick().await;
        let again = app.count(closure).await;
        assert!(again > first, "escalated again after the extended deadline");
        tick().await;
        assert_eq!(app.count(closure).await, again);
        let _ = coord;
    }
}

on_both! {
    /// The watch: a new lead inside a closed mine's former boundary, or naming it, is
    /// flagged 已关闭矿山疑似复产 to NR and the office at once; a township patrols from the
    /// watch list; a suspected restart raises a lead; a mine not under watch refuses a
    /// patrol.
    async fn a_lead_inside_a_closed_boundary_is_flagged_and_patrols_keep_the_watch(app) {
        person(&app, "em.w", "officer", (Some("EM"), None)).await;
        person(&app, "nr.w", "officer", (Some("NR"), None)).await;
        person(&app, "coord.w", "coordinator", (Some("NR"), None)).await;
        person(&app, "town.w", "township", (None, Some("BEHT"))).await;
        let em = app.token_for("em.w", PASSWORD).await;
        let nr = app.token_for("nr.w", PASSWORD).await;
        let coord = app.token_for("coord.w", PASSWORD).await;
        let town = app.token_for("town.w", PASSWORD).await;
        let mine_id = licensed_mine(&app, &em, &nr, "旧石灰岩矿", 1603, &square(4_502_300.0, 415_300.0, 600.0)).await;
        let other = create_mine(&app, &em, mine_body("在产砂石矿", 1604)).await;
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{}/patrols", other["id"].as_str().unwrap()), &town, json!({"outcome": "nothing_found", "note": ""})).await).await;
        assert_eq!(status, 409, "not under watch: {body}");
        let (status, case) = problem(app.post("/api/v1/closures", &nr, case_body(&mine_id, "right_expired")).await).await;
        assert_eq!(status, 201, "{case}");
        let cid = case["id"].as_str().unwrap().to_owned();
        for t in case["tasks"].as_array().unwrap() {
            let path = format!("/api/v1/closures/{cid}/tasks/{}/waive", t["id"].as_str().unwrap());
            assert_eq!(app.post(&path, &coord, json!({"note": "测试中免除"})).await.status(), 200);
        }
        let (status, body) = problem(app.post(&format!("/api/v1/closures/{cid}/acceptance"), &coord, json!({"accepted": true, "departments": ["NR"], "conclusion": "已闭坑"})).await).await;
        assert_eq!(status, 200, "{body}");

        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        let ring = m["boundary"]["rings_lonlat"][0].as_array().unwrap();
        let (lon, lat) = ring.iter().take(4).fold((0.0, 0.0), |(a, b), p| (a + p[0].as_f64().unwrap() / 4.0, b + p[1].as_f64().unwrap() / 4.0));
        let before = app.count("notifications WHERE kind = 'restart_suspected'").await;
        let inside = crate::leads::raise(&app, &town, json!({"title": "夜里有挖掘机作业", "category": "safety_violation", "description": "原矿区内夜间有挖掘机和运输车辆。", "location": {"lon": lon, "lat": lat}})).await;
        let told = app.count("notifications WHERE kind = 'restart_suspected'").await;
        assert!(told > before, "NR and the office are told at once");
        let lead: Value = app.get(&format!("/api/v1/leads/{}", inside["id"].as_str().unwrap()), &coord).await.json().await.unwrap();
        assert!(lead.to_string().contains("已关闭矿山疑似复产：旧石灰岩矿"), "the lead's timeline carries the flag");
        let outside = crate::leads::raise(&app, &town, json!({"title": "路边扬尘", "category": "dust", "description": "路边扬尘。", "location": {"lon": lon + 0.05, "lat": lat}})).await;
        assert_eq!(app.count("notifications WHERE kind = 'restart_suspected'").await, told, "a lead elsewhere is not flagged");
        let _ = outside;

        // A patrol: nothing found keeps the watch; a suspected restart raises a lead.
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{mine_id}/patrols"), &town, json!({"outcome": "maybe", "note": ""})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["outcome"]);
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{mine_id}/patrols"), &town, json!({"outcome": "suspected_restart", "note": ""})).await).await;
        assert_eq!(status, 422, "a suspected restart says what was seen: {body}");
        let (status, p) = problem(app.post(&format!("/api/v1/mines/{mine_id}/patrols"), &town, json!({"outcome": "nothing_found", "note": "井口封闭完好", "lon": lon, "lat": lat})).await).await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["lead_id"], Value::Null);
        let w: Value = app.get("/api/v1/closed-mines/watch?due=true", &coord).await.json().await.unwrap();
        assert_eq!(w["items"].as_array().unwrap().len(), 0, "checked today");
        let leads_before = app.count("leads").await;
        let (status, p) = problem(app.post(&format!("/api/v1/mines/{mine_id}/patrols"), &town, json!({"outcome": "suspected_restart", "note": "发现新的采挖痕迹和运输车辆"})).await).await;
        assert_eq!(status, 201, "{p}");
        assert!(p["lead_id"].is_string());
        assert_eq!(app.count("leads").await, leads_before + 1);
        let ps: Value = app.get(&format!("/api/v1/mines/{mine_id}/patrols"), &coord).await.json().await.unwrap();
        assert_eq!(ps.as_array().unwrap().len(), 2);
        // Six months on, the mine is due a check again.
        app.clock.advance(Duration::days(184));
        let coord = app.token_for("coord.w", PASSWORD).await;
        let w: Value = app.get("/api/v1/closed-mines/watch?due=true", &coord).await.json().await.unwrap();
        assert_eq!(w["items"].as_array().unwrap().len(), 1);
        assert_eq!(w["items"][0]["last_patrol_outcome"], "suspected_restart");
        let (status, body) = problem(app.get("/api/v1/closed-mines/watch?cursor=nonsense", &coord).await).await;
        assert_eq!(status, 422, "{body}");
    }
}

on_both! {
    /// The pages: NR opens a case from its form (a mistake shown again beside its field),
    /// EM completes its task from the case's page with a photo, the office waives the rest
    /// and records the acceptance from the page; the lists, board, watch and patrol pages
    /// answer in Chinese.
    async fn a_closure_is_worked_through_its_pages(app) {
        person(&app, "nr.pg", "officer", (Some("NR"), None)).await;
        person(&app, "em.pg", "officer", (Some("EM"), None)).await;
        person(&app, "coord.pg", "coordinator", (Some("NR"), None)).await;
        person(&app, "town.pg", "township", (None, Some("BEHT"))).await;
        let em = app.token_for("em.pg", PASSWORD).await;
        let mine = create_mine(&app, &em, mine_body("页面关闭矿", 1605)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let (nr, csrf) = browser_session(&app, "nr.pg", PASSWORD).await;
        let form = nr.get(app.url(&format!("/closures/new?mine_id={mine_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("页面关闭矿") && form.contains("决定书文号"), "{form}");
        let mut fields = vec![("csrf", csrf.clone()), ("mine_id", mine_id.clone()), ("kind", "government_decision".into()),
            ("decision_number", "昆政发〔2026〕20号".into()), ("decided_on", "2026-03-01".into()), ("issuing_body", "昆都仑区人民政府".into()),
            ("basis", "document".into()), ("basis_ref", "".into()), ("target_on", "2026-01-01".into()), ("stop_on", "".into())];
        let r = nr.post(app.url("/closures")).form(&fields).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("目标日期不能早于决定日期"));
        assert_eq!(app.count("closure_cases").await, 0);
        fields[8].1 = "2026-12-31".into();
        let r = nr.post(app.url("/closures")).form(&fields).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let case_path = at.split('?').next().unwrap().to_owned();
        let cid = case_path.trim_start_matches("/closures/").to_owned();
        let page = nr.get(app.url(&case_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("GB-2026-001") && page.contains("注销采矿许可证") && page.contains("办理中"), "{page}");

        let case: Value = app.get(&format!("/api/v1/closures/{cid}"), &em).await.json().await.unwrap();
        let (emc, em_csrf) = browser_session(&app, "em.pg", PASSWORD).await;
        let desk = emc.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("关闭退出任务") && desk.contains("注销安全生产许可证"), "EM's desk lists its task");
        let tid = task(&case, "cancel_safety_permit")["id"].as_str().unwrap().to_owned();
        let jpeg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9];
        let (ct, body) = crate::lead_files::multipart(&[("csrf", &em_csrf), ("note", "已注销"), ("lon", "109.8"), ("lat", "40.6")],
            &[("evidence", "现场.jpg", "image/jpeg", jpeg)]);
        let r = emc.post(app.url(&format!("/closures/{cid}/tasks/{tid}/complete"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        assert_eq!(app.count("closure_files WHERE purpose = 'evidence' AND lon IS NOT NULL").await, 1);
        let other = task(&case, "closure_report")["id"].as_str().unwrap().to_owned();
        let r = emc.post(app.url(&format!("/closures/{cid}/tasks/{other}/complete"))).form(&[("csrf", em_csrf.as_str()), ("note", "代办")]).send().await.unwrap();
        assert_eq!(r.status(), 403, "NR's task is not EM's to complete");

        let (office, o_csrf) = browser_session(&app, "coord.pg", PASSWORD).await;
        for t in case["tasks"].as_array().unwrap() {
            if t["code"] == "cancel_safety_permit" { continue; }
            let r = office.post(app.url(&format!("/closures/{cid}/tasks/{}/waive", t["id"].as_str().unwrap())))
                .form(&[("csrf", o_csrf.as_str()), ("note", "页面测试免除")]).send().await.unwrap();
            assert_eq!(r.status(), 303);
        }
        let page = office.get(app.url(&case_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("record-acceptance"), "the acceptance form once nothing is open");
        let desk = office.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("待验收的关闭退出案件") && desk.contains("GB-2026-001"), "the office's desk lists the case to accept");
        let (ct, body) = crate::lead_files::multipart(&[("csrf", &o_csrf), ("accepted_on", "2026-03-02"), ("department.NR", "true"),
            ("department.EM", "true"), ("accepted", "true"), ("conclusion", "验收合格")], &[]);
        let r = office.post(app.url(&format!("/closures/{cid}/acceptance"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        assert_eq!(m["status"], "closed");
        for path in ["/closures", "/closures/board", "/closed-mines", "/closed-mines?due=true", "/closure-tasks"] {
            let r = office.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let text = r.text().await.unwrap();
            assert!(text.contains("关闭退出") || text.contains("已关闭矿山"), "{path}");
        }
        let board = office.get(app.url("/closures/board")).send().await.unwrap().text().await.unwrap();
        assert!(board.contains("<svg"), "the board is drawn");
        let (town, t_csrf) = browser_session(&app, "town.pg", PASSWORD).await;
        let form = town.get(app.url(&format!("/closed-mines/{mine_id}/patrol"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("复产巡查：页面关闭矿"), "{form}");
        let (ct, body) = crate::lead_files::multipart(&[("csrf", &t_csrf), ("outcome", "nothing_found"), ("note", "井口封闭完好"), ("lon", "109.8"), ("lat", "40.6")],
            &[("photo", "巡查.pdf", "application/pdf", b"%PDF-1.4")]);
        let r = town.post(app.url(&format!("/closed-mines/{mine_id}/patrol"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 422, "a patrol's photo is a photo");
        assert_eq!(app.count("closure_patrols").await, 0);
        let (ct, body) = crate::lead_files::multipart(&[("csrf", &t_csrf), ("outcome", "nothing_found"), ("note", "井口封闭完好"), ("lon", "109.8"), ("lat", "40.6")],
            &[("photo", "巡查.jpg", "image/jpeg", jpeg)]);
        let r = town.post(app.url(&format!("/closed-mines/{mine_id}/patrol"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(app.count("closure_patrols WHERE photo IS NOT NULL AND lon IS NOT NULL").await, 1);
        let form = town.get(app.url(&format!("/closed-mines/{mine_id}/patrol"))).send().await.unwrap().text().await.unwrap();
        let photo = form.split("/patrols/").nth(1).and_then(|r| r.split('"').next()).expect("the photo is linked");
        let r = town.get(app.url(&format!("/patrols/{photo}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), jpeg);
    }
}

on_both! {
    /// 取缔 of an illegal site found by a lead: NR opens the ban from the lead, the case puts
    /// the site on the register as 非法开采点 at the lead's place (then 临近关闭退出); a refused
    /// ban records no site; the lead's page offers the ban.
    async fn a_ban_puts_the_illegal_site_from_a_lead_on_the_register(app) {
        person(&app, "nr.ban", "officer", (Some("NR"), None)).await;
        person(&app, "town.ban", "township", (None, Some("BEHT"))).await;
        person(&app, "ee.ban", "officer", (Some("EE"), None)).await;
        let nr = app.token_for("nr.ban", PASSWORD).await;
        let town = app.token_for("town.ban", PASSWORD).await;
        let ee = app.token_for("ee.ban", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, json!({"title": "山坡有人私挖砂石", "category": "unlicensed_mining",
            "description": "夜间有装载机挖砂。", "location": {"lon": 109.83, "lat": 40.62}})).await;
        let lead_id = lead["id"].as_str().unwrap().to_owned();
        let number = lead["number"].as_str().unwrap().to_owned();
        let mines_before = app.count("mines").await;
        let body = |mine_type: Option<&str>| json!({"mine_id": "", "lead_id": lead_id, "kind": "ban_illegal",
            "decision_number": "昆自然资罚〔2026〕3号", "decided_on": "2026-03-01", "issuing_body": "区自然资源分局",
            "basis": "lead", "basis_ref": number, "target_on": "2026-06-30", "site_mine_type": mine_type});
        let (status, problem_body) = problem(app.post("/api/v1/closures", &nr, body(None)).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&problem_body), vec!["site_mine_type"]);
        let mut wrong = body(Some("sand_gravel"));
        wrong["kind"] = json!("government_decision");
        let (status, _) = problem(app.post("/api/v1/closures", &nr, wrong).await).await;
        assert_eq!(status, 422, "only a ban records a site from a lead");
        let (status, _) = problem(app.post("/api/v1/closures", &ee, body(Some("sand_gravel"))).await).await;
        assert_eq!(status, 403);
        assert_eq!(app.count("mines").await, mines_before, "a refused ban records no site");
        let (status, case) = problem(app.post("/api/v1/closures", &nr, body(Some("sand_gravel"))).await).await;
        assert_eq!(status, 201, "{case}");
        assert_eq!(app.count("mines").await, mines_before + 1);
        let site: Value = app.get(&format!("/api/v1/mines/{}", case["mine_id"].as_str().unwrap()), &nr).await.json().await.unwrap();
        assert_eq!(site["status"], "closing");
        assert_eq!(site["name"], format!("非法开采点（{number}）"));
        assert_eq!(site["township"], "BEHT");
        assert_eq!(app.count("mine_changes WHERE to_value = 'illegal_site'").await, 1, "recorded first as an illegal site");
        let codes: Vec<&str> = case["tasks"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"seal_shafts") && !codes.contains(&"cancel_mining_licence"), "{codes:?}");
        let (client, _) = browser_session(&app, "nr.ban", PASSWORD).await;
        let page = client.get(app.url(&format!("/leads/{lead_id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("立案取缔（非法开采点）"));
    }
}
