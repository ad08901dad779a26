//! 月度报送 by the 6th (seed 001): each responsible unit files last month's progress on
//! every decision it owes, drafted by its officer and signed by its head (or filed with an
//! explanation); reminders on the 3rd and the 5th, the office told on the 7th; lateness
//! kept — across the 清明 holiday, whose last day (2026-04-06) is the due day.

use serde_json::{json, Value};

use crate::consultations::{meeting, person};
use crate::helpers::*;
use crate::on_both;

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

/// Moves the clock to a Beijing time ("2026-04-03 09:00").
fn set(app: &TestApp, beijing: &str) {
    let to = chrono::NaiveDateTime::parse_from_str(beijing, "%Y-%m-%d %H:%M").unwrap()
        - chrono::Duration::hours(8);
    let now = app.state.clock.now_naive();
    assert!(to >= now, "the clock only moves on");
    app.clock.advance(to - now);
}

on_both! {
    /// March's decisions are reported in April by the 6th: not before March has ended,
    /// every owed decision named, the head signs (not the one who drafted), the 6th a
    /// holiday and still on time, the 7th late; reminders once each on the 3rd and the
    /// 5th; the office told on the 7th of who is missing.
    async fn the_monthly_report_is_filed_by_the_sixth(app) {
        person(&app, "coord.mr", "coordinator", (Some("NR"), None)).await;
        person(&app, "nr.head.mr", "head", (Some("NR"), None)).await;
        person(&app, "em.mr", "officer", (Some("EM"), None)).await;
        person(&app, "em.head.mr", "head", (Some("EM"), None)).await;
        person(&app, "ee.mr", "officer", (Some("EE"), None)).await;
        person(&app, "ee.head.mr", "head", (Some("EE"), None)).await;
        let coord = app.token_for("coord.mr", PASSWORD).await;
        let mut body = meeting("三月督办会商", "2026-03-03T09:00", "2026-03-03T10:00");
        body["invited_townships"] = json!([]);
        let m: Value = app.post("/api/v1/consultations", &coord, body).await.json().await.unwrap();
        let id = m["id"].as_str().unwrap().to_owned();
        set(&app, "2026-03-04 10:00");
        let coord = app.token_for("coord.mr", PASSWORD).await;
        let minutes = json!({"attendees": ["王科长"], "discussion": "议定如下。", "decisions": [
            {"text": "停止越界开采", "responsible_unit": "EM", "due_on": "2026-06-30", "kind": "task"},
            {"text": "扬尘整治", "responsible_unit": "EE", "due_on": "2026-06-30", "kind": "task"}]});
        assert_eq!(app.put(&format!("/api/v1/consultations/{id}/minutes"), &coord, minutes).await.status(), 200);
        let head = app.token_for("nr.head.mr", PASSWORD).await;
        let v: Value = app.post(&format!("/api/v1/consultations/{id}/minutes/approve"), &head, json!({})).await.json().await.unwrap();
        let (em_d, ee_d) = (v["decisions"][0]["id"].as_str().unwrap().to_owned(), v["decisions"][1]["id"].as_str().unwrap().to_owned());

        let em = app.token_for("em.mr", PASSWORD).await;
        let march = |items: Value| json!({"month": "2026-03", "items": items});
        let (status, body) = problem(app.post("/api/v1/monthly-reports", &em, march(json!([{"decision_id": em_d, "text": "已停产", "percent": 50}]))).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["month".to_owned()]), "March has not ended: {body}");

        // The 3rd: both units reminded, once.
        set(&app, "2026-04-03 08:00");
        let remind = || async { minecoord::consultations::deadlines::remind_reports(&app.state).await.unwrap() };
        assert_eq!(remind().await, 2);
        assert_eq!(remind().await, 0, "once a day");
        let em = app.token_for("em.mr", PASSWORD).await;
        assert!(inbox_titles(&app, &em).await.iter().any(|t| t == "请于 2026-04-06 前报送2026年3月督办事项进展"));

        for (bad, field) in [(json!([]), "items"), (json!([{"decision_id": ee_d, "text": "x", "percent": 1}]), "items[0].decision_id"),
            (json!([{"decision_id": em_d, "text": "", "percent": 50}]), "items[0].text"), (json!([{"decision_id": em_d, "text": "x", "percent": 101}]), "items[0].percent")] {
            let (status, body) = problem(app.post("/api/v1/monthly-reports", &em, march(bad)).await).await;
            let mut got = fields(&body);
            got.retain(|f| f != "items" || field == "items");
            assert_eq!((status, got), (422, vec![field.to_owned()]), "{body}");
        }
        assert_eq!(app.count("monthly_reports").await, 0, "nothing written by the refused ones");
        let (status, r) = problem(app.post("/api/v1/monthly-reports", &em, march(json!([{"decision_id": em_d, "text": "已下达停产通知，正在复核", "percent": 50}]))).await).await;
        assert_eq!((status, r["state"].as_str(), r["due_on"].as_str()), (201, Some("draft"), Some("2026-04-06")), "{r}");
        let rid = r["id"].as_str().unwrap().to_owned();
        let em_head = app.token_for("em.head.mr", PASSWORD).await;
        assert!(inbox_titles(&app, &em_head).await.iter().any(|t| t == "月度报送待签发：2026年3月"));

        // The 5th (清明): a draft is not filed, so EM is reminded again, as is EE.
        set(&app, "2026-04-05 08:00");
        assert_eq!(remind().await, 2);
        // The 6th, late in the evening, still the holiday: signed, on time.
        set(&app, "2026-04-06 22:30");
        let em = app.token_for("em.mr", PASSWORD).await;
        let em_head = app.token_for("em.head.mr", PASSWORD).await;
        let approve = format!("/api/v1/monthly-reports/{rid}/approve");
        assert_eq!(app.post(&approve, &em, json!({})).await.status(), 403, "the head signs");
        let (status, r) = problem(app.post(&approve, &em_head, json!({})).await).await;
        assert_eq!((status, r["state"].as_str(), r["late"].as_bool(), r["approved_by"].as_str()), (200, Some("approved"), Some(false), Some("测试em.head.mr")), "{r}");
        assert_eq!(app.post(&approve, &em_head, json!({})).await.status(), 409, "once");
        let (status, _) = problem(app.post("/api/v1/monthly-reports", &em, march(json!([{"decision_id": em_d, "text": "改", "percent": 60}]))).await).await;
        assert_eq!(status, 409, "a signed report is not changed");

        // The 7th: the office hears EE has not filed; EE's head drafts and may not sign his own.
        set(&app, "2026-04-07 09:00");
        assert_eq!(remind().await, 1, "the office, once");
        assert_eq!(remind().await, 0);
        let coord = app.token_for("coord.mr", PASSWORD).await;
        assert!(inbox_titles(&app, &coord).await.iter().any(|t| t == "2026年3月月度报送：1 个单位未按时报送"));
        let status_now: Value = app.get("/api/v1/monthly-reports/status?month=2026-03", &coord).await.json().await.unwrap();
        let unit = |s: &Value, u: &str| s["units"].as_array().unwrap().iter().find(|x| x["unit"] == u).unwrap().clone();
        assert_eq!((unit(&status_now, "EM")["late"].as_bool(), unit(&status_now, "EM")["missing"].as_bool()), (Some(false), Some(false)), "{status_now}");
        assert_eq!((unit(&status_now, "EE")["missing"].as_bool(), unit(&status_now, "EE")["owed"].as_i64()), (Some(true), Some(1)));
        assert_eq!((status_now["filed"].as_u64(), status_now["missing"].as_u64()), (Some(1), Some(1)));

        let ee_head = app.token_for("ee.head.mr", PASSWORD).await;
        let (status, r) = problem(app.post("/api/v1/monthly-reports", &ee_head, march(json!([{"decision_id": ee_d, "text": "已部署", "percent": 20}]))).await).await;
        assert_eq!(status, 201, "{r}");
        let eid = r["id"].as_str().unwrap().to_owned();
        let (status, body) = problem(app.post(&format!("/api/v1/monthly-reports/{eid}/approve"), &ee_head, json!({})).await).await;
        assert_eq!(status, 403, "not one's own: {body}");
        let ee = app.token_for("ee.mr", PASSWORD).await;
        let (status, body) = problem(app.post(&format!("/api/v1/monthly-reports/{eid}/explain"), &ee, json!({"explanation": ""})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["explanation".to_owned()]));
        let (status, r) = problem(app.post(&format!("/api/v1/monthly-reports/{eid}/explain"), &ee, json!({"explanation": "局长外出，已电话审核，附微信截图"})).await).await;
        assert_eq!((status, r["state"].as_str(), r["late"].as_bool()), (200, Some("explained"), Some(true)), "filed on the 7th: late: {r}");
        let after: Value = app.get("/api/v1/monthly-reports/status?month=2026-03", &coord).await.json().await.unwrap();
        assert_eq!((unit(&after, "EE")["late"].as_bool(), unit(&after, "EE")["missing"].as_bool()), (Some(true), Some(false)), "{after}");

        // Each unit reads its own; the office all.
        let mine: Value = app.get("/api/v1/monthly-reports?month=2026-03", &ee).await.json().await.unwrap();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(app.get(&format!("/api/v1/monthly-reports/{rid}"), &ee).await.status(), 404, "EM's report is not EE's");
        let all: Value = app.get("/api/v1/monthly-reports?month=2026-03", &coord).await.json().await.unwrap();
        assert_eq!(all.as_array().unwrap().len(), 2);
        assert_eq!(all[0]["items"][0]["number"], "HS-2026-001-2", "EE first by code, with its decision named: {all}");
    }
}

on_both! {
    /// Through the pages: the desk says what is owed, the officer drafts from a row per
    /// owed decision (a missing entry named by its row), the head signs on the report's
    /// page, the office reads the month drawn and tabled, prints the one-page summary,
    /// exports the month, and opens the board.
    async fn monthly_reports_and_the_board_through_the_pages(app) {
        person(&app, "coord.mr", "coordinator", (Some("NR"), None)).await;
        person(&app, "nr.head.mr", "head", (Some("NR"), None)).await;
        person(&app, "em.mr", "officer", (Some("EM"), None)).await;
        person(&app, "em.head.mr", "head", (Some("EM"), None)).await;
        let coord = app.token_for("coord.mr", PASSWORD).await;
        let mut body = meeting("三月督办会商", "2026-03-03T09:00", "2026-03-03T10:00");
        body["invited_townships"] = json!([]);
        let m: Value = app.post("/api/v1/consultations", &coord, body).await.json().await.unwrap();
        let id = m["id"].as_str().unwrap().to_owned();
        set(&app, "2026-03-04 10:00");
        let coord = app.token_for("coord.mr", PASSWORD).await;
        let minutes = json!({"attendees": ["王科长"], "discussion": "议定如下。", "decisions": [
            {"text": "停止越界开采", "responsible_unit": "EM", "due_on": "2026-03-20", "kind": "task"}]});
        assert_eq!(app.put(&format!("/api/v1/consultations/{id}/minutes"), &coord, minutes).await.status(), 200);
        let head = app.token_for("nr.head.mr", PASSWORD).await;
        let desk = browser_session(&app, "nr.head.mr", PASSWORD).await.0.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("待审定的会议纪要") && desk.contains("三月督办会商"), "the head's desk: {desk}");
        assert_eq!(app.post(&format!("/api/v1/consultations/{id}/minutes/approve"), &head, json!({})).await.status(), 200);

        set(&app, "2026-04-02 09:00");
        let (em, em_csrf) = browser_session(&app, "em.mr", PASSWORD).await;
        let desk = em.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("待报送的月度进展") && desk.contains("本单位主责的议定事项") && desk.contains("HS-2026-001-1"), "{desk}");
        let form = em.get(app.url("/monthly-reports/new?month=2026-03")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("HS-2026-001-1 停止越界开采") && form.contains("2026-04-06 前"), "{form}");
        let did = form.split("name=\"item.0.decision_id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let r = em.post(app.url("/monthly-reports")).form(&[("csrf", em_csrf.as_str()), ("month", "2026-03"), ("version", ""),
            ("item.0.decision_id", did.as_str()), ("item.0.text", ""), ("item.0.percent", "30")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("第 1 项：请填写该事项上月的进展"));
        let r = em.post(app.url("/monthly-reports")).form(&[("csrf", em_csrf.as_str()), ("month", "2026-03"), ("version", ""),
            ("item.0.decision_id", did.as_str()), ("item.0.text", "已下达停产通知"), ("item.0.percent", "30")]).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        let page = em.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("已通知本单位负责人审核签发") && !page.contains("id=\"approve-report\"") && page.contains("附情况说明报送"), "{page}");

        let (head, head_csrf) = browser_session(&app, "em.head.mr", PASSWORD).await;
        let rid = to.trim_start_matches("/monthly-reports/").split('?').next().unwrap().to_owned();
        let page = head.get(app.url(&format!("/monthly-reports/{rid}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"approve-report\""), "{page}");
        let r = head.post(app.url(&format!("/monthly-reports/{rid}/approve"))).form(&[("csrf", head_csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = head.get(app.url(&format!("/monthly-reports/{rid}?ok=approved"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("已签发报送") && page.contains("<strong>测试em.head.mr</strong>"), "the signature on record: {page}");

        let (office, _) = browser_session(&app, "coord.mr", PASSWORD).await;
        let month = office.get(app.url("/monthly-reports?month=2026-03")).send().await.unwrap().text().await.unwrap();
        assert!(month.contains("区应急局") && month.contains("已签发报送") && month.contains("<svg") && month.contains("2026-04-06"), "{month}");
        let summary = office.get(app.url("/monthly-reports/summary?month=2026-03")).send().await.unwrap().text().await.unwrap();
        assert!(summary.contains("2026年3月非煤矿山会商议定事项督办情况") && summary.contains("size: A4") && summary.contains("<svg") && summary.contains("区应急局"), "{summary}");
        let x = office.get(app.url("/api/v1/monthly-reports/export.xlsx?month=2026-03")).send().await.unwrap();
        assert_eq!(x.status(), 200);
        assert!(x.bytes().await.unwrap().starts_with(b"PK"));
        let board = office.get(app.url("/decisions/board")).send().await.unwrap().text().await.unwrap();
        assert!(board.contains("会商督办看板") && board.contains("逾期的议定事项 1 项") && board.contains("<svg"), "due on the 20th of March: {board}");
        let desk = office.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains("逾期的议定事项") && desk.contains("HS-2026-001-1"), "{desk}");
        let coord = app.token_for("coord.mr", PASSWORD).await;
        let b: Value = app.get("/api/v1/decisions/board", &coord).await.json().await.unwrap();
        assert_eq!((b["units"][0]["unit"].as_str(), b["units"][0]["overdue"].as_i64(), b["status"]["month"].as_str()), (Some("EM"), Some(1), Some("2026-03")), "{b}");
    }
}

on_both! {
    /// The month's owed counts and the overdue counts, read from the kept tallies (live
    /// decisions by state and by month of deadline, closed ones by month of closure), agree
    /// with counting the ledger itself, for every month, day and unit, before and after
    /// decisions close or are extended through the ledger's own step.
    async fn owed_counts_agree_with_the_ledger(app) {
        use chrono::{Duration, NaiveDate, NaiveDateTime};
        use diesel::prelude::*;
        use minecoord::consultations::rules::{DecisionKind, DecisionState, MeetingState, Month};
        use minecoord::consultations::store::ledger::{self as rows, Decision};
        use minecoord::consultations::store::reports::owed_counts;
        use minecoord::platform::db::schema::{consultations, decisions};
        let bj = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8);
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        app.with_db(move |c| {
            let meeting = minecoord::consultations::store::Meeting {
                id: uuid::Uuid::now_v7().to_string(), number: "HS-2025-900".into(), topic: "t".into(),
                starts_at: at("2025-10-01 01:00"), ends_at: at("2025-10-01 03:00"), place: "p".into(), online_url: None,
                state: MeetingState::Minuted, sequence: 0, created_by: None, created_at: at("2025-09-30 01:00"),
                updated_at: at("2025-10-01 03:00"), cancelled_at: None, cancel_reason: String::new(), version: 1 };
            diesel::insert_into(consultations::table).values(meeting.clone()).execute(c)?;
            // Entered and closed on either side of month ends, Beijing time (16:00 UTC).
            let cases = [("EM", "2025-10-05 02:00", Some("2025-11-30 15:59")), ("EM", "2025-10-05 02:00", Some("2025-11-30 16:00")),
                ("EE", "2025-11-30 15:00", None), ("EE", "2025-11-30 16:30", None), ("EM", "2025-12-02 01:00", Some("2025-12-20 01:00")),
                ("NR", "2025-10-20 01:00", Some("2025-10-31 16:01")), ("NR", "2025-10-20 01:00", None), ("EE", "2025-12-31 15:59", Some("2026-01-02 01:00"))];
            let ds: Vec<Decision> = cases.iter().enumerate().map(|(i, (unit, entered, closed))| Decision {
                id: uuid::Uuid::now_v7().to_string(), consultation_id: meeting.id.clone(), position: i as i32 + 1,
                number: format!("HS-2025-900-{}", i + 1), body: "x".into(), kind: DecisionKind::Task,
                responsible_unit: (*unit).into(), cooperating_units: String::new(), mine_id: None,
                due_on: NaiveDate::from_ymd_opt(2025, 11, 1).unwrap() + Duration::days(17 * i as i64),
                state: if closed.is_some() { DecisionState::Closed } else { DecisionState::Open },
                percent: 0, opened_type: None, opened_id: None, entered_at: Some(at(entered)),
                closed_at: closed.map(at), escalated_at: None, created_at: at(entered), updated_at: at(entered), version: 1,
            }).collect();
            for d in &ds {
                diesel::insert_into(decisions::table).values(d.clone()).execute(c)?;
            }
            rows::recount(c)?;
            let brute = |c: &mut minecoord::platform::db::DbConnection, from: NaiveDateTime, to: NaiveDateTime| -> Vec<(String, i64)> {
                let all: Vec<Decision> = decisions::table.select(Decision::as_select()).load(c).unwrap();
                let mut out: Vec<(String, i64)> = Vec::new();
                for d in all.iter().filter(|d| d.entered_at.is_some_and(|e| e < to) && d.closed_at.is_none_or(|x| x >= from)) {
                    match out.iter_mut().find(|(u, _)| *u == d.responsible_unit) { Some(o) => o.1 += 1, None => out.push((d.responsible_unit.clone(), 1)) }
                }
                out.sort();
                out
            };
            let check = |c: &mut minecoord::platform::db::DbConnection| {
                let mut m = Month::parse("2025-10").unwrap();
                for _ in 0..4 {
                    let (from, to) = (bj(m.first_day()), bj(m.next().first_day()));
                    let mut kept = owed_counts(c, from, to).unwrap();
                    kept.sort();
                    assert_eq!(kept, brute(c, from, to), "month {m}");
                    m = m.next();
                }
                for day in ["2025-11-01", "2025-11-18", "2025-12-01", "2025-12-31", "2026-01-10", "2026-02-01", "2026-03-15"] {
                    let today: NaiveDate = day.parse().unwrap();
                    let all: Vec<Decision> = decisions::table.select(Decision::as_select()).load(c).unwrap();
                    let tally = minecoord::consultations::ledger::tally(c, today, None).unwrap();
                    for t in &tally {
                        let brute = all.iter().filter(|d| d.responsible_unit == t.unit && d.state.is_live() && d.due_on < today).count() as i64;
                        assert_eq!(t.overdue, brute, "{} on {day}", t.unit);
                    }
                    let em = minecoord::consultations::ledger::tally(c, today, Some("EM")).unwrap();
                    assert_eq!(em.len(), 1);
                    assert_eq!(Some(em[0].overdue), tally.iter().find(|t| t.unit == "EM").map(|t| t.overdue), "one unit's as all units'");
                }
            };
            check(c);
            // Close the open NR decision through the ledger's own step, in 2025-12.
            let open = ds.iter().find(|d| d.responsible_unit == "NR" && d.closed_at.is_none()).unwrap().clone();
            let closed = Decision { state: DecisionState::Closed, closed_at: Some(at("2025-12-10 01:00")), ..open.clone() };
            assert!(rows::save_decision(c, &open, &closed)?);
            check(c);
            // An extension moves a live decision's deadline into another month.
            let live = ds.iter().find(|d| d.responsible_unit == "EE" && d.closed_at.is_none()).unwrap().clone();
            let later = Decision { due_on: NaiveDate::from_ymd_opt(2026, 2, 20).unwrap(), ..live.clone() };
            assert!(rows::save_decision(c, &live, &later)?);
            check(c);
            Ok(())
        }).await;
    }
}
