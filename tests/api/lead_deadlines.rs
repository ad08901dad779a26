//! Lead deadlines: reminders before, escalation after, each exactly once, across restarts
//! and with several instances; working days skip the weekend.

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

async fn tick(app: &TestApp) -> minecoord::leads::deadlines::Tick {
    minecoord::leads::deadlines::run_once(&app.state)
        .await
        .expect("deadline check")
}

async fn kinds(app: &TestApp, user: &str, kind: &str) -> usize {
    let token = app.token_for(user, PASSWORD).await;
    let inbox: Value = app
        .get("/api/v1/notifications?limit=200", &token)
        .await
        .json()
        .await
        .unwrap();
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .count()
}

fn urgent(title: &str) -> Value {
    json!({"title": title, "category": "dust", "urgency": "urgent", "description": "正在发生。"})
}

on_both! {
    /// An urgent lead not reported in within 30 minutes: a reminder at 20 minutes to the
    /// department, then at 30 the lead is overdue and the head, the coordination office and
    /// the township are told, once, also after a restart.
    async fn a_missed_deadline_is_escalated_once(app) {
        app.create_user("town.esc", "township", None, Some("BEHT")).await;
        app.create_user("town.esc2", "township", None, Some("BEHT")).await;
        app.create_user("ee.esc", "officer", Some("EE"), None).await;
        app.create_user("ee.head", "head", Some("EE"), None).await;
        app.create_user("em.head", "head", Some("EM"), None).await;
        app.create_user("coord.esc", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.esc", PASSWORD).await;
        let lead = raise(&app, &town, urgent("爆破飞石")).await;
        let id = lead["id"].as_str().unwrap().to_owned();
        assert_eq!(tick(&app).await, minecoord::leads::deadlines::Tick::default());

        app.clock.advance(Duration::minutes(21));
        assert_eq!(tick(&app).await.reminded, 1);
        assert_eq!(tick(&app).await.reminded, 0, "reminded once");
        assert_eq!(kinds(&app, "ee.esc", "lead_due_soon").await, 1);

        app.clock.advance(Duration::minutes(10));
        let t = tick(&app).await;
        assert_eq!(t.escalated, 1);
        assert_eq!(tick(&app).await.escalated, 0, "escalated once");
        for (user, n) in [("ee.head", 1), ("coord.esc", 1), ("town.esc", 1), ("town.esc2", 1), ("ee.esc", 0), ("em.head", 0)] {
            assert_eq!(kinds(&app, user, "lead_overdue").await, n, "{user}");
        }
        let ee = app.token_for("ee.esc", PASSWORD).await;
        let v: Value = app.get(&format!("/api/v1/leads/{id}"), &ee).await.json().await.unwrap();
        assert_eq!(v["overdue"], true);
        assert_eq!(v["is_overdue"], true);
        let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "overdue");
        assert!(last["note"].as_str().unwrap().contains("报到"), "{last}");
        let ack = v["deadlines"].as_array().unwrap().iter().find(|d| d["stage"] == "acknowledge").unwrap().clone();
        assert!(ack["escalated_at"].is_string());

        // Reporting in late still counts, and records that it was late.
        let r = app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({})).await;
        assert_eq!(r.status(), 200);
        app.stop().await;
        let again = app.another_instance(|s| s.scheduler.enabled = false).await;
        assert_eq!(tick(&again).await.escalated, 0, "a restart repeats nothing");
        assert_eq!(again.count("lead_events WHERE kind = 'overdue'").await, 1);
    }
}

on_both! {
    /// Several instances checking at once escalate each missed deadline exactly once.
    async fn instances_escalate_each_deadline_once(app) {
        app.create_user("town.inst", "township", None, Some("BEHT")).await;
        app.create_user("coord.inst", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.inst", PASSWORD).await;
        for i in 0..6 {
            raise(&app, &town, urgent(&format!("并发督办{i}"))).await;
        }
        let other = app.another_instance(|s| s.scheduler.enabled = false).await;
        app.clock.advance(Duration::hours(25)); // acknowledge (30 min) and verify (24 h) missed
        let (a, b) = tokio::join!(tick(&app), tick(&other));
        assert_eq!(a.escalated + b.escalated, 12);
        assert_eq!(app.count("lead_events WHERE kind = 'overdue'").await, 12);
        assert_eq!(kinds(&app, "coord.inst", "lead_overdue").await, 12);
    }
}

on_both! {
    /// A normal lead raised on Friday afternoon is due on Monday afternoon: nothing over the
    /// weekend, escalated just after the deadline.
    async fn working_day_deadlines_wait_over_the_weekend(app) {
        app.create_user("town.wk", "township", None, Some("BEHT")).await;
        app.clock.set(Utc.with_ymd_and_hms(2026, 3, 6, 8, 0, 0).unwrap()); // Fri 16:00 in Shanghai
        let town = app.token_for("town.wk", PASSWORD).await;
        raise(&app, &town, json!({"title": "周五扬尘", "category": "dust", "description": "扬尘。"})).await;
        app.clock.set(Utc.with_ymd_and_hms(2026, 3, 9, 7, 59, 0).unwrap()); // Mon 15:59
        assert_eq!(tick(&app).await.escalated, 0);
        app.clock.set(Utc.with_ymd_and_hms(2026, 3, 9, 8, 1, 0).unwrap()); // Mon 16:01
        assert_eq!(tick(&app).await.escalated, 1);
    }
}
