//! The email outbox: notices go by email through a real SMTP server in the test process;
//! nothing is lost on a restart, a server outage or a rollback; one instance sends each
//! message; admins retry and cancel; users choose what comes by email; permits are
//! reminded of before they expire, once per lead time.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{Datelike, Duration};
use serde_json::{json, Value};

use minecoord::platform::clock::Clock;

use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;
use crate::smtp_sink::{free_port, SmtpSink};

const WAIT: StdDuration = StdDuration::from_secs(10);

/// A department officer with an email address; returns the token.
async fn staff_with_email(app: &TestApp, username: &str, role: &str, department: &str) -> String {
    let r = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            json!({"username": username, "password": PASSWORD, "must_change_password": false, "display_name": format!("测试{username}"),
                   "role": role, "department": department, "email": format!("{username}@example.gov.cn")}),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.token_for(username, PASSWORD).await
}

async fn record_permit(
    app: &TestApp,
    token: &str,
    mine_id: &str,
    number: &str,
    expires_on: &str,
) -> Value {
    // A safety permit runs for three years.
    let expires = chrono::NaiveDate::parse_from_str(expires_on, "%Y-%m-%d").unwrap();
    let issued_on =
        (expires.with_year(expires.year() - 3).unwrap() + Duration::days(1)).to_string();
    let r = app
        .post(
            &format!("/api/v1/mines/{mine_id}/permits"),
            token,
            json!({"permit_type": "safety_production", "number": number, "holder": "测试矿业有限公司",
                   "issued_on": issued_on, "expires_on": expires_on}),
        )
        .await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn outbox(app: &TestApp, query: &str) -> Value {
    let r = app
        .get(&format!("/api/v1/outbox{query}"), &app.admin_token)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

on_both! {
    /// Recording a permit sends the 相互通报 by email to the other units' staff who have an
    /// address and want it: Chinese subject and body, a link to the permit, a stable
    /// Message-ID; the person who opted out gets it in the inbox only.
    async fn a_permit_notice_arrives_by_email(app) {
        let sink = SmtpSink::start().await;
        let app = app.another_instance(|s| s.smtp.url = Some(sink.url())).await;
        let em = officer(&app, "em.mail", "EM").await;
        let ee = staff_with_email(&app, "ee.mail", "officer", "EE").await;
        let coord = staff_with_email(&app, "coord.mail", "coordinator", "NR").await;
        staff_with_email(&app, "em.colleague", "officer", "EM").await;
        let r = app.put("/api/v1/me/notification-preferences", &coord, json!({"email": {"permit_recorded": false}})).await;
        assert_eq!(r.status(), 200);

        let mine = create_mine(&app, &em, mine_body("邮件通报矿", 901)).await;
        let permit = record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-MAIL-1", "2028-05-01").await;
        let permit_id = permit["id"].as_str().unwrap();
        assert_eq!(app.count("outbox").await, 1, "one email: EE has an address, the coordinator opted out, EM is the issuer");

        let report = app.deliver("w1").await;
        assert_eq!((report.claimed, report.sent, report.failed), (1, 1, 0));
        let got = sink.wait_for(1, WAIT).await;
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.to, vec!["ee.mail@example.gov.cn".to_owned()]);
        assert_eq!(m.from, "noreply@minecoord.local");
        assert_eq!(m.subject(), "【矿山协调】区应急局登记了安全生产许可证：邮件通报矿");
        let text = m.text();
        assert!(text.contains("AQ-MAIL-1") && text.contains("测试矿业有限公司"), "{text}");
        assert!(text.contains(&format!("http://minecoord.test/permits/{permit_id}")), "{text}");
        assert!(m.html().contains(&format!("href=\"http://minecoord.test/permits/{permit_id}\"")));

        let listed = outbox(&app, "?status=sent").await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        let row = &listed["items"][0];
        assert_eq!(format!("<{}>", m.message_id()), row["message_id"].as_str().unwrap(), "the stored Message-ID is the one sent");
        assert_eq!(row["attempts"], 1);
        assert_eq!(listed["counts"]["sent"], 1);
        // The inbox still has it for the person who turned email off.
        let inbox: Value = app.get("/api/v1/notifications", &coord).await.json().await.unwrap();
        assert_eq!(inbox["unread"], 1);
        assert_eq!(app.deliver("w1").await.claimed, 0, "sent once");
        let _ = ee;
    }
}

on_both! {
    /// A change that rolls back leaves no notice and no email behind.
    async fn a_rolled_back_change_sends_nothing(app) {
        let sink = SmtpSink::start().await;
        let app = app.another_instance(|s| s.smtp.url = Some(sink.url())).await;
        staff_with_email(&app, "ee.rollback", "officer", "EE").await;
        let result = app.state.db.transaction(|conn| {
            let ids = minecoord::accounts::recipients::other_member_units(conn, "EM")?;
            let notice = minecoord::notify::Notice {
                kind: minecoord::notify::NoticeKind::PermitRecorded,
                title: "不会发出的通知".into(),
                body: "事务回滚".into(),
                link: "/".into(),
                entity_type: "permit",
                entity_id: "x",
            };
            let n = minecoord::notify::send(conn, app.clock.now_naive(), None, &ids, &notice)?;
            assert_eq!(n, 1, "written inside the transaction");
            Err::<(), _>(minecoord::platform::error::AppError::Conflict("回滚".into()))
        });
        assert!(result.is_err());
        assert_eq!(app.count("notifications").await, 0);
        assert_eq!(app.count("outbox").await, 0);
        assert_eq!(app.deliver("w1").await.claimed, 0);
        assert!(sink.messages().is_empty());
    }
}

on_both! {
    /// With the mail server down the message waits and backs off; when the server is up,
    /// the next due attempt delivers it.
    async fn a_message_waits_for_the_mail_server(app) {
        let port = free_port();
        let app = app.another_instance(|s| s.smtp.url = Some(format!("smtp://127.0.0.1:{port}"))).await;
        let em = officer(&app, "em.down", "EM").await;
        staff_with_email(&app, "ee.down", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("服务器故障矿", 902)).await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-DOWN", "2028-05-01").await;

        let report = app.deliver("w1").await;
        assert_eq!((report.claimed, report.sent, report.failed), (1, 0, 1));
        let row = &outbox(&app, "").await["items"][0];
        assert_eq!(row["status"], "pending");
        assert_eq!(row["attempts"], 1);
        assert!(row["last_error"].as_str().unwrap().contains("发送失败"), "{row}");
        assert_eq!(app.deliver("w1").await.claimed, 0, "not retried before its backoff");

        let sink = SmtpSink::start_on(port).await;
        app.clock.advance(Duration::minutes(1) + Duration::seconds(1));
        let report = app.deliver("w1").await;
        assert_eq!((report.sent, report.failed), (1, 0));
        assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
        let row = &outbox(&app, "").await["items"][0];
        assert_eq!(row["status"], "sent");
        assert_eq!(row["attempts"], 2);
        assert!(row["last_error"].is_null());
    }
}

on_both! {
    /// A message queued while mail is not configured survives a restart and is delivered
    /// by the restarted service once mail is configured; /readyz says it is waiting.
    async fn a_message_survives_a_restart(app) {
        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert!(ready["smtp"].as_str().unwrap().starts_with("not configured"), "{ready}");
        let em = officer(&app, "em.restart", "EM").await;
        staff_with_email(&app, "ee.restart", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("重启矿", 903)).await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-RESTART", "2028-05-01").await;
        assert_eq!(app.deliver("w1").await.claimed, 0, "nothing is sent without smtp.url");
        let listed = outbox(&app, "").await;
        assert_eq!(listed["smtp_configured"], false);
        assert_eq!(listed["counts"]["pending"], 1);

        app.stop().await;
        let sink = SmtpSink::start().await;
        let restarted = app.another_instance(|s| s.smtp.url = Some(sink.url())).await;
        assert_eq!(restarted.deliver("w2").await.sent, 1);
        let got = sink.wait_for(1, WAIT).await;
        assert_eq!(got[0].to, vec!["ee.restart@example.gov.cn".to_owned()]);
        assert!(got[0].subject().contains("重启矿"));
    }
}

on_both! {
    settings = |s| { s.outbox.batch = 4; };
    /// Two instances delivering at once send each message exactly once, and the claim of
    /// an instance that died is taken over when its lease runs out.
    async fn two_instances_send_each_message_once(app) {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let a = app.another_instance(|s| { s.smtp.url = Some(url.clone()); s.outbox.batch = 4; }).await;
        let b = app.another_instance(|s| { s.smtp.url = Some(url.clone()); s.outbox.batch = 4; }).await;
        let em = officer(&app, "em.race", "EM").await;
        for u in ["ee.race1", "ee.race2", "ee.race3"] {
            staff_with_email(&app, u, "officer", "EE").await;
        }
        let mine = create_mine(&app, &em, mine_body("并发矿", 904)).await;
        for i in 0..8 {
            record_permit(&app, &em, mine["id"].as_str().unwrap(), &format!("AQ-RACE-{i}"), "2028-05-01").await;
        }
        let total = app.count("outbox").await as usize;
        assert_eq!(total, 24);

        async fn drain(app: &TestApp, worker: &str) -> usize {
            let mut sent = 0;
            loop {
                let r = app.deliver(worker).await;
                if r.claimed == 0 {
                    return sent;
                }
                sent += r.sent;
            }
        }
        let (sa, sb) = tokio::join!(drain(&a, "instance-a"), drain(&b, "instance-b"));
        assert_eq!(sa + sb, total);
        let got = sink.wait_for(total, WAIT).await;
        assert_eq!(got.len(), total, "no message sent twice");
        let ids: HashSet<String> = got.iter().map(|m| m.message_id()).collect();
        assert_eq!(ids.len(), total);

        // An instance claims one message and dies before sending it.
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-RACE-LAST", "2028-05-01").await;
        let now = app.clock.now_naive();
        let claimed = app.state.db.transaction(|c| minecoord::notify::outbox::claim(c, "dead-instance", now, Duration::minutes(5), 10)).unwrap();
        assert_eq!(claimed.len(), 3);
        assert_eq!(b.deliver("instance-b").await.claimed, 0, "still leased to the dead instance");
        app.clock.advance(Duration::minutes(5) + Duration::seconds(1));
        assert_eq!(b.deliver("instance-b").await.sent, 3, "taken over when the lease ran out");
        assert_eq!(sink.wait_for(total + 3, WAIT).await.len(), total + 3);
    }
}

on_both! {
    settings = |s| { s.outbox.max_attempts = 2; };
    /// After the configured attempts a message is dead-lettered; an admin retries it, or
    /// cancels another; each action is audited; other roles may not touch the outbox.
    async fn admins_retry_and_cancel(app) {
        let port = free_port();
        let app = app.another_instance(|s| { s.smtp.url = Some(format!("smtp://127.0.0.1:{port}")); s.outbox.max_attempts = 2; }).await;
        let em = officer(&app, "em.dead", "EM").await;
        staff_with_email(&app, "ee.dead", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("死信矿", 905)).await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-DEAD-1", "2028-05-01").await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-DEAD-2", "2028-05-01").await;
        assert_eq!(app.deliver("w").await.failed, 2);
        app.clock.advance(Duration::minutes(2));
        assert_eq!(app.deliver("w").await.failed, 2);
        let dead = outbox(&app, "?status=dead").await;
        let items = dead["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{dead}");
        app.clock.advance(Duration::hours(1));
        assert_eq!(app.deliver("w").await.claimed, 0, "dead letters are not retried by themselves");

        let (first, second) = (items[0]["id"].as_str().unwrap(), items[1]["id"].as_str().unwrap());
        let r = app.post(&format!("/api/v1/outbox/{first}/retry"), &em, json!({})).await;
        assert_eq!(r.status(), 403);
        let r = app.get("/api/v1/outbox", &em).await;
        assert_eq!(r.status(), 403);
        let r = app.post(&format!("/api/v1/outbox/{first}/retry"), &app.admin_token, json!({})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["status"].as_str(), body["attempts"].as_i64()), (Some("pending"), Some(0)));
        let r = app.post(&format!("/api/v1/outbox/{second}/cancel"), &app.admin_token, json!({})).await;
        assert_eq!(r.status(), 200);

        let sink = SmtpSink::start_on(port).await;
        let report = app.deliver("w").await;
        assert_eq!((report.claimed, report.sent), (1, 1), "the retried one only");
        let got = sink.wait_for(1, WAIT).await;
        assert!(got[0].text().contains("AQ-DEAD-1") || got[0].text().contains("AQ-DEAD-2"));
        let r = app.post(&format!("/api/v1/outbox/{first}/cancel"), &app.admin_token, json!({})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 409, "a sent message cannot be cancelled: {body}");
        let r = app.post("/api/v1/outbox/no-such-id/retry", &app.admin_token, json!({})).await;
        assert_eq!(r.status(), 404);
        assert_eq!(app.count("audit_log WHERE entity_type = 'outbox'").await, 2);
        assert_eq!(outbox(&app, "?status=cancelled").await["items"].as_array().unwrap().len(), 1);
        let r = app.get("/api/v1/outbox?status=lost", &app.admin_token).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(body.to_string().contains("status"));
    }
}

on_both! {
    /// Each user chooses per kind whether notices also come by email; a kind that does not
    /// exist is a field error, and the change is audited.
    async fn users_choose_what_comes_by_email(app) {
        let ee = staff_with_email(&app, "ee.prefs", "officer", "EE").await;
        let prefs: Value = app.get("/api/v1/me/notification-preferences", &ee).await.json().await.unwrap();
        assert_eq!(prefs["address"], "ee.prefs@example.gov.cn");
        let items = prefs["items"].as_array().unwrap();
        assert!(items.len() >= 6 && items.iter().all(|p| p["email"] == true), "email by default: {prefs}");
        assert!(items.iter().any(|p| p["kind"] == "permit_expiry" && p["label"] == "证照到期提醒"));

        let r = app.put("/api/v1/me/notification-preferences", &ee, json!({"email": {"permit_expiry": false, "nope": true}})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(body.to_string().contains("email.nope"), "{body}");
        let r = app.put("/api/v1/me/notification-preferences", &ee, json!({"email": {"permit_expiry": false}})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 200, "{body}");
        let expiry = body["items"].as_array().unwrap().iter().find(|p| p["kind"] == "permit_expiry").unwrap().clone();
        assert_eq!(expiry["email"], false);
        let r = app.put("/api/v1/me/notification-preferences", &ee, json!({"email": {"permit_expiry": true}})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.count("audit_log WHERE entity_type = 'notification_preferences'").await, 2);
        assert_eq!(app.count("notification_preferences").await, 1, "one row per user and kind");
    }
}

on_both! {
    /// Permit expiry reminders at 90, 30 and 7 days, once each, to the issuing department
    /// and the enterprise; a permit first seen inside a window gets one reminder, not all.
    async fn permits_are_reminded_of_before_they_expire(app) {
        let em = officer(&app, "em.remind", "EM").await;
        let em2 = staff_with_email(&app, "em.remind2", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("到期提醒矿", 906)).await;
        let mine_id = mine["id"].as_str().unwrap();
        // Today is 2026-03-02; one permit expires in 100 days, another in 20.
        record_permit(&app, &em, mine_id, "AQ-LONG", "2026-06-10").await;
        record_permit(&app, &em, mine_id, "AQ-SHORT", "2026-03-22").await;
        let remind = || minecoord::app::jobs::remind(&app.state);
        assert_eq!(remind().await.unwrap(), 1, "only the short one is due (its 30-day reminder)");
        assert_eq!(remind().await.unwrap(), 0, "sent once");
        let titles = |token: String| {
            let app = &app;
            async move {
                let v: Value = app.get("/api/v1/notifications", &token).await.json().await.unwrap();
                v["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "permit_expiry").map(|n| n["title"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        let em_titles = titles(em.clone()).await;
        assert_eq!(em_titles, vec!["到期提醒矿的安全生产许可证还有 20 天到期（证号 AQ-SHORT）".to_owned()]);
        assert!(titles(em2.clone()).await.is_empty(), "other departments are not reminded");
        let r = app.post("/api/v1/users", &app.admin_token, json!({"username": "qiye.remind", "password": PASSWORD, "must_change_password": false, "display_name": "企业安全员", "role": "enterprise", "mine_id": mine_id})).await;
        assert_eq!(r.status(), 201);
        let ent = app.token_for("qiye.remind", PASSWORD).await;
        assert!(titles(ent.clone()).await.is_empty(), "joined after the reminder");

        app.clock.advance(Duration::days(10)); // 2026-03-12: AQ-LONG has 90 days left
        assert_eq!(remind().await.unwrap(), 1);
        app.clock.advance(Duration::days(5)); // 2026-03-17: AQ-SHORT has 5 days left
        assert_eq!(remind().await.unwrap(), 1);
        assert_eq!(remind().await.unwrap(), 0);
        let em = app.token_for("em.remind", PASSWORD).await;
        let em_titles = titles(em.clone()).await;
        assert_eq!(em_titles.len(), 3, "{em_titles:?}");
        assert!(em_titles[0].contains("AQ-SHORT") && em_titles[0].contains("5 天"));
        assert!(em_titles[1].contains("AQ-LONG") && em_titles[1].contains("90 天"));
        assert_eq!(app.count("permit_reminders").await, 3);
        let ent = app.token_for("qiye.remind", PASSWORD).await;
        assert_eq!(titles(ent).await.len(), 2, "the enterprise is reminded too, so it applies for renewal");
    }
}

on_both! {
    /// The worker inside the service delivers by itself, without being called.
    async fn the_worker_delivers_by_itself(app) {
        let sink = SmtpSink::start().await;
        let app = app.another_instance(|s| { s.smtp.url = Some(sink.url()); s.outbox.worker = true; }).await;
        let em = officer(&app, "em.worker", "EM").await;
        staff_with_email(&app, "ee.worker", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("后台发送矿", 907)).await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-WORKER", "2028-05-01").await;
        let got = sink.wait_for(1, WAIT).await;
        assert_eq!(got.len(), 1, "the worker sent it");
        assert!(got[0].subject().contains("后台发送矿"));
    }
}

on_both! {
    /// The outbox page for admins, retry from the page, and the email choices on the
    /// account page.
    async fn the_outbox_and_preferences_pages(app) {
        let em = officer(&app, "em.pages", "EM").await;
        staff_with_email(&app, "ee.pages", "officer", "EE").await;
        let mine = create_mine(&app, &em, mine_body("页面发件矿", 908)).await;
        record_permit(&app, &em, mine["id"].as_str().unwrap(), "AQ-PAGE", "2028-05-01").await;
        let (admin, csrf) = browser_session(&app, "admin", ADMIN_PASSWORD).await;
        let page = admin.get(app.url("/outbox")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("发件箱") && page.contains("ee.pages@example.gov.cn") && page.contains("待发送"), "{page}");
        assert!(page.contains("尚未配置邮件服务器"));
        let id = outbox(&app, "").await["items"][0]["id"].as_str().unwrap().to_owned();
        let detail = admin.get(app.url(&format!("/outbox/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(detail.contains("取消发送") && detail.contains("AQ-PAGE"), "{detail}");
        let r = admin.post(app.url(&format!("/outbox/{id}/cancel"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let detail = admin.get(app.url(&format!("/outbox/{id}?ok=cancel"))).send().await.unwrap().text().await.unwrap();
        assert!(detail.contains("已取消") && detail.contains("重新发送"), "{detail}");

        let (ee, csrf) = browser_session(&app, "ee.pages", PASSWORD).await;
        let r = ee.get(app.url("/outbox")).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let account = ee.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
        assert!(account.contains("邮件通知设置") && account.contains("ee.pages@example.gov.cn"), "{account}");
        // Untick everything but the expiry reminders.
        let r = ee.post(app.url("/account/notifications")).form(&[("csrf", csrf.as_str()), ("permit_expiry", "true")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let token = app.token_for("ee.pages", PASSWORD).await;
        let prefs: Value = app.get("/api/v1/me/notification-preferences", &token).await.json().await.unwrap();
        for p in prefs["items"].as_array().unwrap() {
            assert_eq!(p["email"], p["kind"] == "permit_expiry", "{p}");
        }
    }
}

on_both! {
    /// A lead raised over the API is told to its department and the coordination office:
    /// in each inbox, and by email to those with an address who did not turn it off; the
    /// raiser is not told. The email carries the lead's number and link, and is sent once.
    async fn a_raised_lead_is_told_by_inbox_and_by_email(app) {
        let sink = SmtpSink::start().await;
        let app = app.another_instance(|s| s.smtp.url = Some(sink.url())).await;
        let ee = staff_with_email(&app, "ee.told", "officer", "EE").await;
        let quiet = staff_with_email(&app, "ee.quiet", "officer", "EE").await;
        let r = app.put("/api/v1/me/notification-preferences", &quiet, json!({"email": {"lead_routed": false}})).await;
        assert_eq!(r.status(), 200);
        let coord = staff_with_email(&app, "coord.told", "coordinator", "NR").await;
        app.create_user("town.told", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.told", PASSWORD).await;
        let before = app.count("outbox").await;

        let r = app.post("/api/v1/leads", &town, json!({"title": "运输道路扬尘", "category": "dust", "urgency": "urgent", "description": "未洒水降尘。"})).await;
        let (status, lead) = problem(r).await;
        assert_eq!(status, 201, "{lead}");
        let (id, number) = (lead["id"].as_str().unwrap(), lead["number"].as_str().unwrap());
        assert_eq!(app.count("outbox").await - before, 2, "ee.told and the coordinator; ee.quiet turned it off");

        for (token, who) in [(&ee, "ee.told"), (&quiet, "ee.quiet"), (&coord, "coord.told")] {
            let inbox: Value = app.get("/api/v1/notifications", token).await.json().await.unwrap();
            let items = inbox["items"].as_array().unwrap();
            let told: Vec<&Value> = items.iter().filter(|n| n["entity_id"] == id).collect();
            assert_eq!(told.len(), 1, "{who}: {inbox}");
            assert_eq!(told[0]["kind"], "lead_routed");
            assert_eq!(told[0]["title"], format!("{number} 新线索（紧急）：运输道路扬尘"));
            assert_eq!(told[0]["link"], format!("/leads/{id}"));
        }
        let inbox: Value = app.get("/api/v1/notifications", &town).await.json().await.unwrap();
        assert!(inbox["items"].as_array().unwrap().iter().all(|n| n["entity_id"] != id), "the raiser is not told: {inbox}");

        let report = app.deliver("w1").await;
        assert_eq!((report.sent, report.failed), (2, 0));
        let mut got = sink.wait_for(2, WAIT).await;
        got.sort_by(|a, b| a.to.cmp(&b.to));
        let to: Vec<&str> = got.iter().map(|m| m.to[0].as_str()).collect();
        assert_eq!(to, ["coord.told@example.gov.cn", "ee.told@example.gov.cn"]);
        for m in &got {
            assert_eq!(m.subject(), format!("【矿山协调】{number} 新线索（紧急）：运输道路扬尘"));
            assert!(m.text().contains(&format!("http://minecoord.test/leads/{id}")), "{}", m.text());
        }
        assert_ne!(got[0].message_id(), got[1].message_id(), "a Message-ID of its own each");
        assert_eq!(app.deliver("w1").await.claimed, 0, "sent once");
    }
}
