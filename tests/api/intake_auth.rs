//! Who really sent a message: with the intake's defaults a message is taken in only when
//! its origin is proved — a reply to its recipient's own reply address, a DKIM signature
//! by the sender's registered domain, or a trusted relay's Authentication-Results.
//! Forged From headers, other people's reply addresses and altered keys are refused and
//! write nothing.

use minecoord::platform::clock::Clock;
use minecoord::platform::config::{DkimSettings, Settings, TrustedRelay};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::intake::{
    authenticated_on, corpus, dkim_public, dkim_sign_as, http_send, people, smtp_send, TOKEN,
};
use crate::on_both;

const TO: &str = "shaozi@whistle.example.cn";
const RELAY: &str = "mx.whistle.example.cn";

/// The corpus's new lead (a dust whistle from zhang.wei@beht.example.cn).
fn new_lead() -> Vec<u8> {
    corpus("01_gbk_new_lead.eml")
}

/// A plain message from `from` to `to` with `extra` headers on top.
fn message(from: &str, to: &str, subject: &str, text: &str, extra: &str) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "{extra}From: <{from}>\r\nTo: <{to}>\r\nSubject: =?utf-8?B?{}?=\r\nDate: Mon, 2 Mar 2026 10:00:00 +0800\r\nMessage-ID: <{}@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        b64.encode(subject),
        uuid::Uuid::new_v4().simple(),
        b64.encode(text)
    )
    .into_bytes()
}

async fn inbound_count(app: &TestApp) -> i64 {
    app.count("inbound_messages").await
}

on_both! {
    settings = authenticated_on;
    /// By default the From header proves nothing: a whistle and a reply written as a
    /// registered user from a stranger's server are refused, over SMTP and HTTP, and write
    /// nothing; /readyz says the intake requires authenticated senders.
    async fn a_forged_from_is_refused_by_default(app) {
        people(&app).await;
        let err = smtp_send(&app, "x@evil.example", TO, &new_lead()).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("unauthenticated"), "{err}");
        assert!(err.contains("无法确认"), "{err}");
        let (status, body) = http_send(&app, &new_lead()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["from"]);
        // A reply naming a lead in its subject, to the shared address: no proof either.
        let err = smtp_send(&app, "x@evil.example", TO, &corpus("05_outlook_reply.eml")).await.unwrap_err();
        assert!(err.contains("unauthenticated"), "{err}");
        assert_eq!(app.count("leads").await, 0);
        assert_eq!(inbound_count(&app).await, 0);
        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["intake"]["require_authenticated_sender"], true);
        assert_eq!(ready["intake"]["warning"], Value::Null);
    }
}

on_both! {
    settings = crate::intake::intake_on;
    /// Turning the requirement off is visible: /readyz warns, and what is taken in is
    /// recorded as unverified.
    async fn trusting_the_from_header_is_visible(app) {
        people(&app).await;
        let (status, a) = http_send(&app, &new_lead()).await;
        assert_eq!(status, 201, "{a}");
        let m: Value = app.get(&format!("/api/v1/intake/messages/{}", a["message"].as_str().unwrap()), &app.admin_token).await.json().await.unwrap();
        assert_eq!(m["origin"], "unverified", "{m}");
        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["intake"]["require_authenticated_sender"], false);
        assert!(ready["intake"]["warning"].as_str().unwrap().contains("From"), "{ready}");
    }
}

/// A dust lead raised on the page's API by the corpus's township user, its notices
/// delivered to a sink: the Reply-To each recipient got, by address.
async fn notices_with_reply_addresses(
    app: &TestApp,
) -> (TestApp, crate::smtp_sink::SmtpSink, Value) {
    people(app).await;
    let town = app.token_for("zhangwei", PASSWORD).await;
    let lead = crate::leads::raise(app, &town, json!({"title": "青山砂石矿 扬尘严重", "category": "dust", "description": "运输道路扬尘严重。"})).await;
    let sink = crate::smtp_sink::SmtpSink::start().await;
    app.stop().await;
    let again = app
        .another_instance(|s| {
            authenticated_on(s);
            s.smtp.url = Some(sink.url());
        })
        .await;
    again.deliver("w1").await;
    (again, sink, lead)
}

fn reply_address_of(sink: &crate::smtp_sink::SmtpSink, recipient: &str) -> String {
    let mail = sink.messages();
    let notice = mail
        .iter()
        .find(|m| m.to.contains(&recipient.to_owned()))
        .unwrap_or_else(|| panic!("a notice to {recipient}"));
    let parsed = notice.parsed();
    parsed
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .expect("Reply-To")
        .to_owned()
}

on_both! {
    settings = authenticated_on;
    /// A notice's Reply-To is its recipient's own: a reply to it from that recipient's
    /// registered address becomes a comment on the notice's lead (whatever the subject
    /// says), over SMTP and over HTTP; the same address used by another registered user,
    /// an altered key, or a lead closed long ago is refused and writes nothing.
    async fn a_reply_address_belongs_to_its_recipient(app) {
        let (app, _sink, lead) = notices_with_reply_addresses(&app).await;
        let lead_id = lead["id"].as_str().unwrap().to_owned();
        let ee = reply_address_of(&_sink, "ee.officer@ee.example.cn");
        assert!(ee.starts_with("shaozi+"), "{ee}");
        let agri_users_address = "agri@agri.example.cn";

        // The recipient answers; the subject lost the number.
        let raw = message("EE.Officer@ee.example.cn", &ee, "回复：情况已知悉", "已安排人员下午到现场核查。", "");
        let ok = smtp_send(&app, "ee.officer@ee.example.cn", &ee, &raw).await.unwrap();
        assert!(ok.contains("commented") && ok.contains(lead["number"].as_str().unwrap()), "{ok}");
        let origin: Vec<String> = app.with_db(|c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::inbound_messages;
            Ok(inbound_messages::table.select(inbound_messages::origin).load(c)?)
        }).await;
        assert_eq!(origin, vec!["reply_address"]);
        // Over HTTP the key is read from the To header (the relay passes no envelope).
        let raw = message("ee.officer@ee.example.cn", &ee, "补充", "现场照片稍后补充。", "");
        let (status, a) = http_send(&app, &raw).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(a["lead_id"], lead_id.as_str());

        let events = app.count("lead_events").await;
        let before = inbound_count(&app).await;
        // Someone else's reply address, even from a registered account.
        let raw = message(agri_users_address, &ee, "回复", "我也来说两句。", "");
        let err = smtp_send(&app, agri_users_address, &ee, &raw).await.unwrap_err();
        assert!(err.contains("reply_address") && err.contains("另一位收件人"), "{err}");
        // A key with one digit changed.
        let mut forged = ee.clone().into_bytes();
        let i = "shaozi+".len() + 40;
        forged[i] = if forged[i] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap();
        let raw = message("ee.officer@ee.example.cn", &forged, "回复", "改过的地址。", "");
        let (status, body) = http_send(&app, &raw).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["to"]);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("回复地址无效"), "{body}");

        // Closed more than reply_address_days (60) ago: the address is retired.
        let closed = app.clock.now_naive() - chrono::Duration::days(61);
        let id = lead_id.clone();
        app.with_db(move |c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::leads;
            diesel::update(leads::table.find(id)).set(leads::closed_at.eq(Some(closed))).execute(c)?;
            Ok(())
        }).await;
        let raw = message("ee.officer@ee.example.cn", &ee, "回复", "迟到的回复。", "");
        let err = smtp_send(&app, "ee.officer@ee.example.cn", &ee, &raw).await.unwrap_err();
        assert!(err.contains("reply_address") && err.contains("已办结超过 60 天"), "{err}");
        assert_eq!(app.count("lead_events").await, events, "refusals write nothing on the lead");
        assert_eq!(inbound_count(&app).await, before);
    }
}

fn signed_domains(s: &mut Settings) {
    authenticated_on(s);
    let keys: std::collections::BTreeMap<String, String> =
        [("s2026".to_owned(), dkim_public())].into();
    s.intake.dkim_domains = vec![
        DkimSettings {
            domain: "beht.example.cn".into(),
            keys: keys.clone(),
        },
        DkimSettings {
            domain: "ee.example.cn".into(),
            keys,
        },
    ];
    s.intake.trusted_relays = vec![TrustedRelay {
        authserv_id: RELAY.into(),
        addresses: vec!["127.0.0.1".parse().unwrap()],
    }];
}

on_both! {
    settings = signed_domains;
    /// New leads by email are proved by a DKIM signature of the sender's registered
    /// domain (any configured domain) or by a trusted relay's Authentication-Results
    /// aligned with From. A signature over part of the body (l=) or past its expiry (x=),
    /// results written by another server, a DKIM pass for another domain and an
    /// authenticated envelope at another domain are refused.
    async fn signatures_and_trusted_relays_prove_new_leads(app) {
        people(&app).await;
        let ok = smtp_send(&app, "zhang.wei@beht.example.cn", TO, &dkim_sign_as(&new_lead(), "beht.example.cn", "")).await.unwrap();
        assert!(ok.contains("raised"), "{ok}");
        let raw = message("ee.officer@ee.example.cn", TO, "[扬尘] 青山砂石矿 道路扬尘", "现场扬尘。", "");
        let (status, a) = http_send(&app, &dkim_sign_as(&raw, "ee.example.cn", "")).await;
        assert_eq!(status, 201, "{a}");
        let m: Value = app.get(&format!("/api/v1/intake/messages/{}", a["message"].as_str().unwrap()), &app.admin_token).await.json().await.unwrap();
        assert_eq!(m["origin"], "dkim:ee.example.cn");
        // The record says, in words, how the sender was proved.
        let (admin, _) = browser_session(&app, "admin", ADMIN_PASSWORD).await;
        let page = admin.get(app.url(&format!("/intake/{}", a["message"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("发件人认证") && page.contains("发件域名 ee.example.cn 的 DKIM 签名"), "{page}");
        let leads = app.count("leads").await;
        assert_eq!(leads, 2);

        let partial = dkim_sign_as(&message("ee.officer@ee.example.cn", TO, "[扬尘] 部分签名", "正文。", ""), "ee.example.cn", " l=5;");
        let err = smtp_send(&app, "ee.officer@ee.example.cn", TO, &partial).await.unwrap_err();
        assert!(err.contains("dkim_failed") && err.contains("l="), "{err}");
        let expired = dkim_sign_as(&message("ee.officer@ee.example.cn", TO, "[扬尘] 过期签名", "正文。", ""), "ee.example.cn", " x=1700000000;");
        let err = smtp_send(&app, "ee.officer@ee.example.cn", TO, &expired).await.unwrap_err();
        assert!(err.contains("dkim_failed") && err.contains("过期"), "{err}");

        // kbjd.example.cn has no keys here: the relay vouches for it.
        let ar = |v: &str| format!("Authentication-Results: {v}\r\n");
        let relayed = message("li.na@kbjd.example.cn", TO, "[扬尘] 青山砂石矿 扬尘", "扬尘严重。", &ar(&format!("{RELAY}; spf=pass smtp.mailfrom=li.na@kbjd.example.cn; dmarc=pass (p=reject) header.from=kbjd.example.cn")));
        let ok = smtp_send(&app, "li.na@kbjd.example.cn", TO, &relayed).await.unwrap();
        assert!(ok.contains("raised"), "{ok}");
        let stranger = message("li.na@kbjd.example.cn", TO, "[扬尘] 别处写的认证", "正文。", &ar("mx.evil.example; dmarc=pass header.from=kbjd.example.cn"));
        let err = smtp_send(&app, "x@evil.example", TO, &stranger).await.unwrap_err();
        assert!(err.contains("unauthenticated"), "{err}");
        let other_domain = message("li.na@kbjd.example.cn", TO, "[扬尘] 别的域名签名", "正文。", &ar(&format!("{RELAY}; dkim=pass header.d=evil.example")));
        let err = smtp_send(&app, "x@evil.example", TO, &other_domain).await.unwrap_err();
        assert!(err.contains("unauthenticated"), "{err}");
        let misaligned = message("li.na@kbjd.example.cn", TO, "[扬尘] 信封不符", "正文。", &ar(&format!("{RELAY}; spf=pass smtp.mailfrom=x@evil.example; dmarc=none")));
        let err = smtp_send(&app, "x@evil.example", TO, &misaligned).await.unwrap_err();
        assert!(err.contains("misaligned") && err.contains("evil.example"), "{err}");
        assert_eq!(app.count("leads").await, 3);
    }
}

on_both! {
    settings = |s| { signed_domains(s); s.intake.trusted_relays[0].addresses = vec!["10.9.9.9".parse().unwrap()]; };
    /// A relay's results count only on mail that came through it: over SMTP from an
    /// address that is not the relay's they are ignored; the HTTP route (the mail server
    /// itself, with its token) is the relay.
    async fn relay_results_count_only_through_the_relay(app) {
        people(&app).await;
        let raw = message("li.na@kbjd.example.cn", TO, "[扬尘] 青山砂石矿 扬尘", "扬尘严重。", &format!("Authentication-Results: {RELAY}; dmarc=pass header.from=kbjd.example.cn\r\n"));
        let err = smtp_send(&app, "li.na@kbjd.example.cn", TO, &raw).await.unwrap_err();
        assert!(err.contains("unauthenticated"), "{err}");
        let r = app.client.post(app.url("/api/v1/intake/email")).bearer_auth(TOKEN)
            .header("content-type", "message/rfc822").body(raw).send().await.unwrap();
        let (status, a) = problem(r).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(a["outcome"], "raised");
    }
}

on_both! {
    settings = authenticated_on;
    /// 报到 by email: the invitation's Reply-To is its recipient's own and its footer says
    /// how to answer; a reply 「参加，参会人：…」 names the unit's attendee, a later
    /// 「不参加」 replaces it with the reason, each with a receipt; an unclear reply, a reply
    /// after the start, and someone else's reply address are refused and change nothing.
    /// A reply never raises a lead.
    async fn an_invitation_is_answered_by_replying_to_it(app) {
        people(&app).await;
        let head = crate::intake::user_with_email(&app, "ee.head.iv", "head", ("department", "EE"), "ee.head@ee.example.cn").await;
        let (_, coord) = crate::consultations::person(&app, "coord.iv", "coordinator", (Some("NR"), None)).await;
        let mut m = crate::consultations::meeting("青山砂石矿扬尘会商", "2026-03-10T09:30", "2026-03-10T11:00");
        m["invited_departments"] = json!(["EE"]);
        m["invited_townships"] = json!([]);
        let (status, meeting) = problem(app.post("/api/v1/consultations", &coord, m).await).await;
        assert_eq!(status, 201, "{meeting}");
        let id = meeting["id"].as_str().unwrap().to_owned();
        let sink = crate::smtp_sink::SmtpSink::start().await;
        app.stop().await;
        let app = app.another_instance(|s| { authenticated_on(s); s.smtp.url = Some(sink.url()); }).await;
        app.deliver("w1").await;
        let invitation = sink.messages().into_iter().find(|m| m.to.contains(&"ee.head@ee.example.cn".to_owned())).expect("the invitation");
        assert!(invitation.subject().contains("HS-2026-001") && invitation.text().contains("可直接回复本邮件报到"), "{}", invitation.text());
        let reply_to = reply_address_of(&sink, "ee.head@ee.example.cn");
        assert!(reply_to.starts_with("shaozi+"), "{reply_to}");

        let subject = format!("回复：{}", invitation.subject());
        let raw = message("ee.head@ee.example.cn", &reply_to, &subject, "请问会议材料在哪里下载？\r\n\r\n------------------ 原始邮件 ------------------\r\n会商通知", "");
        let err = smtp_send(&app, "ee.head@ee.example.cn", &reply_to, &raw).await.unwrap_err();
        assert!(err.contains("unclear_answer") && err.contains("参会人"), "{err}");
        assert_eq!(ee_answer(&app, &id, &coord).await.0, "pending");

        let raw = message("ee.head@ee.example.cn", &reply_to, &subject, "参加，参会人：赵副局长\r\n\r\n------------------ 原始邮件 ------------------\r\n会商通知：HS-2026-001", "");
        let ok = smtp_send(&app, "ee.head@ee.example.cn", &reply_to, &raw).await.unwrap();
        assert!(ok.contains("attendance") && ok.contains("HS-2026-001"), "{ok}");
        assert_eq!(ee_answer(&app, &id, &coord).await, ("attending".into(), "赵副局长".into(), String::new()));
        let by: Vec<Option<String>> = app.with_db(|c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::consultation_invitees as i;
            Ok(i::table.filter(i::unit.eq("EE")).select(i::answered_by).load(c)?)
        }).await;
        assert_eq!(by, vec![Some(head.clone())], "answered by the head, on the record");
        // Over HTTP, the key read from the To header; a change of mind.
        let raw = message("ee.head@ee.example.cn", &reply_to, &subject, "临时有执法任务，不能参加，请假。", "");
        let (status, a) = http_send(&app, &raw).await;
        assert_eq!((status, a["outcome"].as_str(), a["consultation_id"].as_str()), (201, Some("attendance"), Some(id.as_str())), "{a}");
        assert_eq!(ee_answer(&app, &id, &coord).await, ("declined".into(), String::new(), "临时有执法任务，不能参加，请假。".into()));
        let receipts: i64 = app.count("outbox WHERE recipient = 'ee.head@ee.example.cn' AND subject LIKE '%HS-2026-001 已收到您的报到'").await;
        assert_eq!(receipts, 2, "a receipt for each answer");

        // Another person's reply address; after the start.
        let raw = message("agri@agri.example.cn", &reply_to, &subject, "参加", "");
        let err = smtp_send(&app, "agri@agri.example.cn", &reply_to, &raw).await.unwrap_err();
        assert!(err.contains("reply_address") && err.contains("另一位收件人"), "{err}");
        app.clock.advance(chrono::Duration::days(9));
        let coord = app.token_for("coord.iv", PASSWORD).await;
        let raw = message("ee.head@ee.example.cn", &reply_to, &subject, "参加，参会人：钱科长", "");
        let err = smtp_send(&app, "ee.head@ee.example.cn", &reply_to, &raw).await.unwrap_err();
        assert!(err.contains("not_allowed") && err.contains("会商已经开始"), "{err}");
        assert_eq!(ee_answer(&app, &id, &coord).await.0, "declined", "unchanged");
        assert_eq!(app.count("leads").await, 0, "no reply became a lead");
        let page_row: Vec<Option<String>> = app.with_db(|c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::inbound_messages as m;
            Ok(m::table.filter(m::outcome.eq("attendance")).select(m::consultation_id).load(c)?)
        }).await;
        assert_eq!(page_row, vec![Some(id.clone()), Some(id.clone())], "the record of mail taken in names the meeting");
    }
}

/// EE's answer to the meeting: (answer, attendee, reason).
async fn ee_answer(app: &TestApp, id: &str, coord: &str) -> (String, String, String) {
    let v: Value = app
        .get(&format!("/api/v1/consultations/{id}"), coord)
        .await
        .json()
        .await
        .unwrap();
    let ee = v["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["unit"] == "EE")
        .unwrap()
        .clone();
    let text = |k: &str| ee[k].as_str().unwrap_or_default().to_owned();
    (text("answer"), text("attendee_name"), text("reason"))
}
