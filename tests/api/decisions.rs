//! 会议纪要 and 督办台账: the office drafts the minutes after the meeting, the office's
//! head approves them (published, immutable, 补充纪要 appended), and each decision is
//! followed through 建账、对账、查账、销账, with extensions and one escalation when late.

use serde_json::{json, Value};

use crate::consultations::{meeting, person};
use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

/// A held meeting of the office (EM and EE invited, 2026-03-03 09:00) with the clock moved
/// past its start; (meeting id, mine id).
async fn held_meeting(app: &TestApp) -> (String, String) {
    let em = officer(app, "em.mine", "EM").await;
    let mine = create_mine(app, &em, mine_body("纪要砂石矿", 903)).await;
    let coord = app.token_for("coord.dc", PASSWORD).await;
    let mut body = meeting(
        "砂石矿越界开采处置会商",
        "2026-03-03T09:00",
        "2026-03-03T10:00",
    );
    body["invited_townships"] = json!([]);
    let (status, m) = problem(app.post("/api/v1/consultations", &coord, body).await).await;
    assert_eq!(status, 201, "{m}");
    (
        m["id"].as_str().unwrap().to_owned(),
        mine["id"].as_str().unwrap().to_owned(),
    )
}

fn decision(text: &str, unit: &str, due: &str, kind: &str) -> Value {
    json!({"text": text, "responsible_unit": unit, "cooperating_units": [], "due_on": due, "kind": kind})
}

async fn inbox_titles(app: &TestApp, token: &str) -> Vec<String> {
    let v: Value = app
        .get("/api/v1/notifications?limit=100", token)
        .await
        .json()
        .await
        .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

on_both! {
    /// Minutes: not before the meeting, only by the office, each bad decision a 422 naming
    /// its field with nothing written; approved only by the office's head, which publishes
    /// them and enters the decisions in the ledger; then never changed, corrections
    /// appended as 补充纪要.
    async fn minutes_are_drafted_approved_published_and_never_changed(app) {
        person(&app, "coord.dc", "coordinator", (Some("NR"), None)).await;
        person(&app, "nr.head.dc", "head", (Some("NR"), None)).await;
        person(&app, "em.head.dc", "head", (Some("EM"), None)).await;
        person(&app, "ee.head.dc", "head", (Some("EE"), None)).await;
        person(&app, "em.dc", "officer", (Some("EM"), None)).await;
        let (id, mine) = held_meeting(&app).await;
        let coord = app.token_for("coord.dc", PASSWORD).await;
        let put = format!("/api/v1/consultations/{id}/minutes");
        let good = json!({"attendees": ["区应急局 王科长", "区生态环境分局 李科长"], "discussion": "与会单位一致认为应立即停止越界开采。",
            "agenda_notes": ["应急局介绍现场情况"],
            "decisions": [
                {"text": "责令停止越界开采并组织复核", "responsible_unit": "em", "cooperating_units": ["EE", "EM"], "due_on": "2026-04-30", "kind": "task"},
                {"text": "对该矿开展联合检查", "responsible_unit": "EE", "due_on": "2026-03-31", "kind": "inspection", "mine_id": mine}]});
        let (status, body) = problem(app.put(&put, &coord, good.clone()).await).await;
        assert_eq!(status, 409, "not before the meeting: {body}");
        assert!(body["detail"].as_str().unwrap().contains("尚未召开"));

        app.clock.advance(chrono::Duration::days(1) + chrono::Duration::hours(2));
        let coord = app.token_for("coord.dc", PASSWORD).await;
        let em = app.token_for("em.dc", PASSWORD).await;
        let (nr_head, em_head, ee_head) = (app.token_for("nr.head.dc", PASSWORD).await,
            app.token_for("em.head.dc", PASSWORD).await, app.token_for("ee.head.dc", PASSWORD).await);
        assert_eq!(app.put(&put, &em, good.clone()).await.status(), 403, "the office drafts");
        let mut no_unit = good.clone();
        no_unit["decisions"][0]["responsible_unit"] = json!("");
        let mut no_due = good.clone();
        no_due["decisions"][1]["due_on"] = json!("");
        let mut no_mine = good.clone();
        no_mine["decisions"][1]["mine_id"] = Value::Null;
        let mut nobody = good.clone();
        nobody["attendees"] = json!([" "]);
        let mut late = good.clone();
        late["decisions"][0]["due_on"] = json!("2026-03-01");
        for (bad, field) in [(no_unit, "decisions[0].responsible_unit"), (no_due, "decisions[1].due_on"),
            (no_mine, "decisions[1].mine_id"), (nobody, "attendees"), (late, "decisions[0].due_on")] {
            let (status, body) = problem(app.put(&put, &coord, bad).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{body}");
        }
        assert_eq!((app.count("consultation_minutes").await, app.count("decisions").await), (0, 0), "nothing written by the refused ones");

        let (status, v) = problem(app.put(&put, &coord, good.clone()).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!((v["state"].as_str(), v["decisions"].as_array().unwrap().len()), (Some("draft"), 2));
        assert_eq!(v["decisions"][0]["number"], "HS-2026-001-1");
        assert_eq!(v["decisions"][0]["cooperating_units"], json!(["EE"]), "the responsible unit does not cooperate with itself");
        let m: Value = app.get(&format!("/api/v1/consultations/{id}"), &coord).await.json().await.unwrap();
        assert_eq!(m["state"], "held");
        let ledger: Value = app.get("/api/v1/decisions", &coord).await.json().await.unwrap();
        assert!(ledger["items"].as_array().unwrap().is_empty(), "a draft's decisions are not in the ledger yet");
        // A corrected draft replaces the decisions, not adds to them.
        let (status, v) = problem(app.put(&put, &coord, good.clone()).await).await;
        assert_eq!((status, v["version"].as_i64()), (200, Some(2)), "{v}");
        assert_eq!(app.count("decisions").await, 2);

        let approve = format!("/api/v1/consultations/{id}/minutes/approve");
        assert_eq!(app.post(&approve, &coord, json!({})).await.status(), 403, "the office's head approves, not its staff");
        assert_eq!(app.post(&approve, &em_head, json!({})).await.status(), 403, "nor another unit's head");
        let (status, v) = problem(app.post(&approve, &nr_head, json!({})).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!((v["state"].as_str(), v["approved_by"].as_str()), (Some("approved"), Some("测试nr.head.dc")));
        assert!(v["decisions"].as_array().unwrap().iter().all(|d| d["state"] == "open" && d["entered_at"].is_string()), "建账: {v}");
        let m: Value = app.get(&format!("/api/v1/consultations/{id}"), &coord).await.json().await.unwrap();
        assert_eq!(m["state"], "minuted");
        assert_eq!(app.post(&approve, &nr_head, json!({})).await.status(), 409, "once");
        let (status, body) = problem(app.put(&put, &coord, good).await).await;
        assert_eq!(status, 409, "approved minutes never change: {body}");
        assert!(body["detail"].as_str().unwrap().contains("补充纪要"));

        assert!(inbox_titles(&app, &ee_head).await.iter().any(|t| t.starts_with("会议纪要印发：HS-2026-001")), "published to the invited");
        assert!(inbox_titles(&app, &em).await.iter().any(|t| t == "议定事项已建账：HS-2026-001-1"), "the responsible unit is told");
        assert!(inbox_titles(&app, &ee_head).await.iter().any(|t| t == "议定事项已建账：HS-2026-001-1"), "and the cooperating unit's head");

        let sup = format!("/api/v1/consultations/{id}/minutes/supplements");
        assert_eq!(app.post(&sup, &em, json!({"text": "更正"})).await.status(), 403);
        let (status, body) = problem(app.post(&sup, &coord, json!({"text": " "})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["text".to_owned()]));
        assert_eq!(app.post(&sup, &coord, json!({"text": "第二项议定事项的配合单位增加区农牧局。"})).await.status(), 201);
        let v: Value = app.get(&put, &em).await.json().await.unwrap();
        assert_eq!(v["supplements"][0]["text"], "第二项议定事项的配合单位增加区农牧局。", "{v}");
        assert_eq!(v["discussion"], "与会单位一致认为应立即停止越界开采。", "the minutes themselves unchanged");

        // Each unit reads its own part of the ledger; another unit's is refused.
        let em_ledger: Value = app.get("/api/v1/decisions", &em).await.json().await.unwrap();
        assert_eq!(em_ledger["items"].as_array().unwrap().len(), 1, "{em_ledger}");
        let (status, body) = problem(app.get("/api/v1/decisions?unit=EE", &em).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["unit".to_owned()]));
        let all: Value = app.get("/api/v1/decisions?state=open", &coord).await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        assert_eq!(all["items"][0]["number"], "HS-2026-001-2", "nearest deadline first");
    }
}

/// Minutes with the given decisions, approved; the decisions' ids in order.
async fn approved(app: &TestApp, id: &str, decisions: Value) -> Vec<String> {
    let coord = app.token_for("coord.dc", PASSWORD).await;
    let body = json!({"attendees": ["王科长"], "discussion": "议定如下。", "decisions": decisions});
    let (status, v) = problem(
        app.put(&format!("/api/v1/consultations/{id}/minutes"), &coord, body)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let head = app.token_for("nr.head.dc", PASSWORD).await;
    let (status, v) = problem(
        app.post(
            &format!("/api/v1/consultations/{id}/minutes/approve"),
            &head,
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

on_both! {
    /// 对账、查账、销账: only the responsible unit reports, one report waits for review at
    /// a time, a return needs a reason, closing needs a completion report; only the office
    /// extends, with a reason; a late decision is escalated once; a 转办线索 decision opens
    /// a lead for its unit, linked both ways.
    async fn decisions_are_reported_reviewed_extended_escalated_and_closed(app) {
        person(&app, "coord.dc", "coordinator", (Some("NR"), None)).await;
        person(&app, "nr.head.dc", "head", (Some("NR"), None)).await;
        person(&app, "em.head.dc", "head", (Some("EM"), None)).await;
        person(&app, "em.dc", "officer", (Some("EM"), None)).await;
        person(&app, "ee.dc", "officer", (Some("EE"), None)).await;
        let (id, mine) = held_meeting(&app).await;
        app.clock.advance(chrono::Duration::days(1) + chrono::Duration::hours(2));
        let mut lead = decision("核查群众反映的夜间偷采", "EM", "2026-06-30", "lead");
        lead["mine_id"] = json!(mine);
        lead["cooperating_units"] = json!(["EE"]);
        let ids = approved(&app, &id, json!([decision("停止越界开采并复核", "EM", "2026-03-20", "task"), lead])).await;
        let (task, lead_decision) = (&ids[0], &ids[1]);
        let coord = app.token_for("coord.dc", PASSWORD).await;
        let em = app.token_for("em.dc", PASSWORD).await;
        let ee = app.token_for("ee.dc", PASSWORD).await;
        let progress = format!("/api/v1/decisions/{task}/progress");
        let review = format!("/api/v1/decisions/{task}/review");

        assert_eq!(app.post(&progress, &ee, json!({"text": "x", "percent": 10})).await.status(), 404, "EE neither responsible nor cooperating: not its decision");
        for (bad, field) in [(json!({"text": "进行中", "percent": 150}), "percent"), (json!({"text": "", "percent": 10}), "text"),
            (json!({"text": "完成", "percent": 80, "done": true}), "percent")] {
            let (status, body) = problem(app.post(&progress, &em, bad).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{body}");
        }
        assert_eq!(app.count("decision_reports").await, 0);
        let (status, r) = problem(app.post(&progress, &em, json!({"text": "已下达停产通知", "percent": 40})).await).await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r["decision"]["state"], "reported");
        assert_eq!(app.post(&progress, &em, json!({"text": "又一次", "percent": 50})).await.status(), 409, "one report waits for review at a time");
        assert!(inbox_titles(&app, &coord).await.iter().any(|t| t.starts_with("进展待查账：HS-2026-001-1")));
        // Evidence by API, to the report awaiting review: checked by content, the unit's own.
        let files = format!("/api/v1/decisions/{task}/files?name=停产通知书.pdf");
        let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
        assert_eq!(crate::inspections::upload(&app, &ee, &files, "application/pdf", pdf.clone()).await.0, 404, "not EE's decision");
        let (status, body) = crate::inspections::upload(&app, &em, &files, "application/pdf", b"MZ\x90\x00 not a pdf".to_vec()).await;
        assert_eq!((status, fields(&body)), (422, vec!["evidence".to_owned()]), "{body}");
        let (status, kept) = crate::inspections::upload(&app, &em, &files, "application/pdf", pdf.clone()).await;
        assert_eq!((status, kept[0]["file_name"].as_str()), (201, Some("停产通知书.pdf")), "{kept}");
        let record: Value = app.get(&format!("/api/v1/decisions/{task}"), &coord).await.json().await.unwrap();
        assert!(record.to_string().contains("停产通知书.pdf"), "on the decision's record: {record}");

        assert_eq!(app.post(&review, &em, json!({"accept": true})).await.status(), 403, "the office reviews");
        let (status, body) = problem(app.post(&review, &coord, json!({"accept": false})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]));
        let (status, r) = problem(app.post(&review, &coord, json!({"accept": false, "reason": "请附停产通知书"})).await).await;
        assert_eq!((status, r["decision"]["state"].as_str(), r["decision"]["percent"].as_i64()), (200, Some("open"), Some(0)), "{r}");
        assert!(inbox_titles(&app, &em).await.iter().any(|t| t == "进展被退回：HS-2026-001-1"));
        let (status, body) = crate::inspections::upload(&app, &em, &files, "application/pdf", pdf).await;
        assert_eq!(status, 409, "reviewed: new evidence comes with a new report: {body}");
        app.post(&progress, &em, json!({"text": "已下达停产通知，附通知书", "percent": 60})).await;
        let (_, r) = problem(app.post(&review, &coord, json!({"accept": true})).await).await;
        assert_eq!((r["decision"]["state"].as_str(), r["decision"]["percent"].as_i64()), (Some("open"), Some(60)), "{r}");
        let (status, body) = problem(app.post(&format!("/api/v1/decisions/{task}/close"), &coord, json!({})).await).await;
        assert_eq!(status, 409, "no completion report, no 销账: {body}");
        assert!(body["detail"].as_str().unwrap().contains("办结报告"));

        // Only the office extends, later than before, with a reason.
        let extend = format!("/api/v1/decisions/{task}/extend");
        assert_eq!(app.post(&extend, &em, json!({"due_on": "2026-04-20", "reason": "x"})).await.status(), 403);
        for (bad, field) in [(json!({"due_on": "2026-03-10", "reason": "复核需时"}), "due_on"), (json!({"due_on": "2026-04-20", "reason": ""}), "reason")] {
            let (status, body) = problem(app.post(&extend, &coord, bad).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{body}");
        }

        // Late: escalated once, to the unit's head and the office; extended, it may be again.
        app.clock.advance(chrono::Duration::days(17));
        let tick = || async { minecoord::consultations::deadlines::run_once(&app.state).await.unwrap() };
        assert_eq!(tick().await, 0, "due on the 20th: not late on the 20th");
        app.clock.advance(chrono::Duration::days(1));
        assert_eq!(tick().await, 1);
        assert_eq!(tick().await, 0, "once");
        let em_head = app.token_for("em.head.dc", PASSWORD).await;
        assert!(inbox_titles(&app, &em_head).await.iter().any(|t| t.starts_with("议定事项逾期：HS-2026-001-1")));
        let coord = app.token_for("coord.dc", PASSWORD).await;
        let late: Value = app.get("/api/v1/decisions?overdue=true", &coord).await.json().await.unwrap();
        assert_eq!(late["items"].as_array().unwrap().len(), 1, "{late}");
        assert_eq!(late["items"][0]["overdue"], true);
        let (status, r) = problem(app.post(&extend, &coord, json!({"due_on": "2026-04-20", "reason": "复核需市局配合"})).await).await;
        assert_eq!((status, r["decision"]["due_on"].as_str(), r["decision"]["overdue"].as_bool()), (200, Some("2026-04-20"), Some(false)), "{r}");
        assert_eq!(r["extensions"][0]["from_on"], "2026-03-20");
        assert_eq!(r["extensions"][0]["reason"], "复核需市局配合");

        // The completion report closes it when accepted; then nothing more.
        let em = app.token_for("em.dc", PASSWORD).await;
        let (status, r) = problem(app.post(&progress, &em, json!({"text": "已停产并完成复核", "percent": 100, "done": true})).await).await;
        assert_eq!(status, 201, "{r}");
        let (status, r) = problem(app.post(&format!("/api/v1/decisions/{task}/close"), &coord, json!({})).await).await;
        assert_eq!((status, r["decision"]["state"].as_str(), r["decision"]["percent"].as_i64()), (200, Some("closed"), Some(100)), "{r}");
        assert!(r["decision"]["closed_at"].is_string());
        assert_eq!(app.post(&progress, &em, json!({"text": "x", "percent": 100})).await.status(), 409, "closed");
        assert_eq!(app.post(&extend, &coord, json!({"due_on": "2026-05-20", "reason": "x"})).await.status(), 409);

        // 转办线索: the office confirms; the lead goes to EM with EE assisting.
        let open = format!("/api/v1/decisions/{lead_decision}/open");
        assert_eq!(app.post(&open, &em, json!({})).await.status(), 403);
        assert_eq!(app.post(&format!("/api/v1/decisions/{task}/open"), &coord, json!({})).await.status(), 409, "a task opens nothing");
        let (status, r) = problem(app.post(&open, &coord, json!({})).await).await;
        assert_eq!(status, 200, "{r}");
        let lead_id = r["decision"]["opened_id"].as_str().unwrap().to_owned();
        assert_eq!(r["decision"]["opened_type"], "lead");
        let l: Value = app.get(&format!("/api/v1/leads/{lead_id}"), &em).await.json().await.unwrap();
        assert_eq!((l["source"].as_str(), l["primary_department"].as_str()), (Some("consultation"), Some("EM")), "{l}");
        assert!(l["description"].as_str().unwrap().contains("HS-2026-001-2"), "the lead names the decision");
        assert_eq!(app.post(&open, &coord, json!({})).await.status(), 409, "once");
    }
}

on_both! {
    /// Through the pages: the office drafts the minutes on the meeting's page (a row
    /// without its unit shown again naming the row), its head approves, the A4 纪要 prints;
    /// the unit reports with an evidence file from the decision's page, the office accepts
    /// the completion report and the decision is closed; the ledger lists, draws and exports.
    async fn minutes_and_the_ledger_through_the_pages(app) {
        person(&app, "coord.dc", "coordinator", (Some("NR"), None)).await;
        person(&app, "nr.head.dc", "head", (Some("NR"), None)).await;
        person(&app, "em.dc", "officer", (Some("EM"), None)).await;
        let (id, mine) = held_meeting(&app).await;
        app.clock.advance(chrono::Duration::days(1) + chrono::Duration::hours(2));
        let (coord, csrf) = browser_session(&app, "coord.dc", PASSWORD).await;
        let list = coord.get(app.url("/consultations")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains(&format!("href=\"/consultations/{id}\">HS-2026-001</a>")), "the number links to the meeting: {list}");
        let page = coord.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("起草会议纪要") && page.contains("name=\"d.0.text\"") && page.contains("name=\"d.2.unit\""), "three blank rows: {page}");
        let url = app.url(&format!("/consultations/{id}/minutes"));
        let r = coord.post(url.clone()).form(&[("csrf", csrf.as_str()), ("attendees", "区应急局 王科长\n区生态环境分局 李科长"), ("discussion", "一致同意停止越界开采。"),
            ("note.0", "现场情况"), ("d.0.text", "停止越界开采并复核"), ("d.0.kind", "task"), ("d.0.unit", ""), ("d.0.due_on", "2026-03-31"), ("d.0.mine", ""),
            ("d.1.text", ""), ("d.1.kind", "task"), ("d.1.unit", ""), ("d.1.due_on", ""), ("d.1.mine", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let again = r.text().await.unwrap();
        assert!(again.contains("第 1 项议定事项：每项议定事项须指定一个主责单位") && again.contains("停止越界开采并复核"), "the row named, the typing kept: {again}");
        let r = coord.post(url.clone()).form(&[("csrf", csrf.as_str()), ("attendees", "区应急局 王科长\n区生态环境分局 李科长"), ("discussion", "一致同意停止越界开采。"),
            ("note.0", "现场情况"), ("d.0.text", "停止越界开采并复核"), ("d.0.kind", "task"), ("d.0.unit", "EM"), ("d.0.coop.EE", "true"), ("d.0.due_on", "2026-03-31"), ("d.0.mine", ""),
            ("d.1.text", "对该矿开展联合检查"), ("d.1.kind", "inspection"), ("d.1.unit", "EE"), ("d.1.due_on", "2026-04-15"), ("d.1.mine", mine.as_str()),
            ("d.2.text", ""), ("d.2.kind", "task"), ("d.2.unit", ""), ("d.2.due_on", ""), ("d.2.mine", ""), ("version", "")]).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let drafted = coord.get(app.url(&format!("/consultations/{id}?ok=minuted"))).send().await.unwrap().text().await.unwrap();
        assert!(drafted.contains("纪要草稿已保存") && drafted.contains("待审定") && drafted.contains("HS-2026-001-2") && !drafted.contains("id=\"approve-minutes\""), "the staff cannot approve: {drafted}");
        let draft_print = coord.get(url.clone()).send().await.unwrap().text().await.unwrap();
        assert!(draft_print.contains("草稿 · 尚未审定印发"));

        let (head, head_csrf) = browser_session(&app, "nr.head.dc", PASSWORD).await;
        let seen = head.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(seen.contains("id=\"approve-minutes\"") && !seen.contains("id=\"minutes-form\""), "the head approves, the office drafts");
        let r = head.post(app.url(&format!("/consultations/{id}/minutes/approve"))).form(&[("csrf", head_csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let printed = coord.get(url).send().await.unwrap().text().await.unwrap();
        assert!(printed.contains("<h1>会议纪要</h1>") && printed.contains("HS-2026-001") && printed.contains("停止越界开采并复核") && printed.contains("审定：测试nr.head.dc")
            && printed.contains("size: A4") && printed.contains("区生态环境分局") && !printed.contains("草稿"), "{printed}");
        let after = coord.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(!after.contains("id=\"minutes-form\"") && after.contains("追加补充纪要"), "approved minutes offer only a supplement");

        // The unit's officer reports from the decision's page, with a file.
        let (em, em_csrf) = browser_session(&app, "em.dc", PASSWORD).await;
        let ledger = em.get(app.url("/decisions")).send().await.unwrap().text().await.unwrap();
        assert!(ledger.contains("HS-2026-001-1") && !ledger.contains("HS-2026-001-2") && ledger.contains("<svg"), "its own decisions, drawn: {ledger}");
        let token = app.token_for("em.dc", PASSWORD).await;
        let all: Value = app.get("/api/v1/decisions", &token).await.json().await.unwrap();
        let did = all["items"][0]["id"].as_str().unwrap().to_owned();
        let page = em.get(app.url(&format!("/decisions/{did}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"progress-form\"") && !page.contains("id=\"review-form\"") && page.contains("区生态环境分局"), "{page}");
        let (ct, body) = crate::lead_files::multipart(&[("csrf", &em_csrf), ("text", "已停产并完成复核"), ("percent", "100"), ("done", "true")],
            &[("evidence", "复核报告.pdf", "application/pdf", b"%PDF-1.4 test")]);
        let r = em.post(app.url(&format!("/decisions/{did}/progress"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let page = em.get(app.url(&format!("/decisions/{did}?ok=reported"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("进展已报送") && page.contains("复核报告.pdf") && page.contains("办结报告") && !page.contains("id=\"progress-form\""), "{page}");
        let href = page.split("href=\"").find(|s| s.contains("/files/")).unwrap().split('"').next().unwrap().to_owned();
        let file = em.get(app.url(&href)).send().await.unwrap();
        assert_eq!(file.status(), 200);
        assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-1.4 test");

        let page = coord.get(app.url(&format!("/decisions/{did}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("认可并销账"), "{page}");
        let r = coord.post(app.url(&format!("/decisions/{did}/review"))).form(&[("csrf", csrf.as_str()), ("accept", "yes"), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let closed = coord.get(app.url(&format!("/decisions/{did}?ok=reviewed"))).send().await.unwrap().text().await.unwrap();
        assert!(closed.contains("已销账（完成 100%）"), "{closed}");

        // The inspection decision leads to the inspection form, prefilled.
        let office: Value = app.get("/api/v1/decisions?state=open", &app.token_for("coord.dc", PASSWORD).await).await.json().await.unwrap();
        let inspect = office["items"][0]["id"].as_str().unwrap().to_owned();
        let page = coord.get(app.url(&format!("/decisions/{inspect}"))).send().await.unwrap().text().await.unwrap();
        let link = page.split("id=\"open-inspection\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
        assert!(link.starts_with("/inspections/new?basis=consultation&basis_ref=HS-2026-001-2"), "{link}");
        let form = coord.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("value=\"HS-2026-001-2\""), "the decision's number as the basis: {form}");

        let filtered = coord.get(app.url("/decisions?unit=&state=closed&overdue=")).send().await.unwrap().text().await.unwrap();
        assert!(filtered.contains("HS-2026-001-1") && !filtered.contains("HS-2026-001-2"), "empty filters are no filters: {filtered}");
        let x = coord.get(app.url("/api/v1/decisions/export.xlsx?state=closed")).send().await.unwrap();
        assert_eq!(x.status(), 200);
        assert!(x.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
        assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    }
}
