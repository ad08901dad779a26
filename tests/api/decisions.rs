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

        assert_eq!(app.post(&review, &em, json!({"accept": true})).await.status(), 403, "the office reviews");
        let (status, body) = problem(app.post(&review, &coord, json!({"accept": false})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]));
        let (status, r) = problem(app.post(&review, &coord, json!({"accept": false, "reason": "请附停产通知书"})).await).await;
        assert_eq!((status, r["decision"]["state"].as_str(), r["decision"]["percent"].as_i64()), (200, Some("open"), Some(0)), "{r}");
        assert!(inbox_titles(&app, &em).await.iter().any(|t| t == "进展被退回：HS-2026-001-1"));
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
