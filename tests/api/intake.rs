//! Leads raised and answered by email: messages from the corpus under tests/corpus/intake
//! sent through a real SMTP client (lettre) to the intake listener and posted to
//! `POST /api/v1/intake/email`; the leads, comments, evidence and automatic replies that
//! result, and the refusals.

use std::sync::OnceLock;

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use minecoord::platform::clock::Clock;
use minecoord::platform::config::Settings;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

pub const TOKEN: &str = "intake-token-0123456789abcdef";
pub const DOMAIN: &str = "whistle.example.cn";

/// The intake on, trusting the From header: the tests of reading, routing and refusing
/// mail use the corpus as it is. The tests of proving a sender (`authenticated_on`) keep
/// the default, `require_authenticated_sender = true`.
pub fn intake_on(s: &mut Settings) {
    authenticated_on(s);
    s.intake.require_authenticated_sender = false;
}

/// The intake on with its defaults: every message must prove its origin.
pub fn authenticated_on(s: &mut Settings) {
    s.intake.smtp_addr = Some("127.0.0.1:0".into());
    s.intake.domain = DOMAIN.into();
    s.intake.token = Some(TOKEN.into());
}

pub fn corpus(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/corpus/intake/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Creates an account with an email address; returns its id.
pub async fn user_with_email(
    app: &TestApp,
    username: &str,
    role: &str,
    unit: (&str, &str),
    email: &str,
) -> String {
    let mut body = json!({"username": username, "password": PASSWORD, "must_change_password": false, "display_name": format!("测试{username}"),
        "role": role, "email": email});
    body[unit.0] = json!(unit.1);
    let (status, body) = problem(app.post("/api/v1/users", &app.admin_token, body).await).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The people of the corpus and the mine it names.
pub async fn people(app: &TestApp) -> Value {
    let township = user_with_email(
        app,
        "zhangwei",
        "township",
        ("township", "BEHT"),
        "zhang.wei@beht.example.cn",
    )
    .await;
    let kbjd = user_with_email(
        app,
        "lina",
        "township",
        ("township", "KBJD"),
        "li.na@kbjd.example.cn",
    )
    .await;
    let ee = user_with_email(
        app,
        "ee.officer",
        "officer",
        ("department", "EE"),
        "ee.officer@ee.example.cn",
    )
    .await;
    let agri = user_with_email(
        app,
        "agri.officer",
        "officer",
        ("department", "AGRI"),
        "agri@agri.example.cn",
    )
    .await;
    let em = officer(app, "em.registrar", "EM").await;
    let mine = create_mine(app, &em, mine_body("青山砂石矿", 1)).await;
    json!({"township": township, "kbjd": kbjd, "ee": ee, "agri": agri, "mine": mine["id"]})
}

/// Sends a raw message through lettre to the intake listener: the server's reply text, or
/// the refusal as lettre reports it.
pub async fn smtp_send(app: &TestApp, from: &str, to: &str, raw: &[u8]) -> Result<String, String> {
    let port = app.intake_port.expect("intake listener on");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    match transport.send_raw(&envelope, raw).await {
        Ok(r) => Ok(r.message().collect::<Vec<_>>().join(" ")),
        Err(e) => Err(format!(
            "{} {e}",
            e.status().map(|c| c.to_string()).unwrap_or_default()
        )),
    }
}

pub async fn http_send(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/intake/email"))
        .bearer_auth(TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw.to_vec())
        .send()
        .await
        .unwrap();
    problem(r).await
}

async fn lead(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/leads/{id}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap()
}

/// The outbox messages to one address, oldest first.
async fn mail_to(app: &TestApp, address: &'static str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use minecoord::platform::db::schema::outbox;
    app.with_db(move |c| {
        Ok(outbox::table
            .filter(outbox::recipient.eq(address))
            .order(outbox::id.asc())
            .select((outbox::kind, outbox::subject, outbox::body_text))
            .load(c)?)
    })
    .await
}

on_both! {
    settings = intake_on;
    /// A Foxmail message in GBK sent over SMTP raises a lead as its sender (matched in any
    /// case): subject → title, category and mine from the subject, body → description;
    /// 250 is answered with the number, and an automatic reply with the number, the primary
    /// department and a link goes to the sender.
    async fn a_gbk_message_over_smtp_raises_a_lead(app) {
        let p = people(&app).await;
        let reply = smtp_send(&app, "Zhang.Wei@BEHT.example.cn", "shaozi@whistle.example.cn", &corpus("01_gbk_new_lead.eml")).await.unwrap();
        assert!(reply.contains("raised XS-2026-000001"), "{reply}");
        let list: Value = app.get("/api/v1/intake/messages", &app.admin_token).await.json().await.unwrap();
        let m = &list["items"][0];
        assert_eq!(m["status"], "processed");
        assert_eq!(m["channel"], "smtp");
        assert_eq!(m["sender"], "zhang.wei@beht.example.cn");
        assert_eq!(m["subject"], "[扬尘] 青山砂石矿 扬尘严重");
        let l = lead(&app, m["lead_id"].as_str().unwrap()).await;
        assert_eq!(l["number"], "XS-2026-000001");
        assert_eq!(l["title"], "青山砂石矿 扬尘严重");
        assert_eq!(l["category"], "dust");
        assert_eq!(l["primary_department"], "EE");
        assert_eq!(l["source"], "email");
        assert_eq!(l["mine_id"], p["mine"]);
        assert_eq!(l["township"], "BEHT");
        assert_eq!(l["raised_by"], p["township"]);
        assert!(l["description"].as_str().unwrap().starts_with("青山砂石矿今天上午装车作业扬尘很大"), "{}", l["description"]);
        let receipts = mail_to(&app, "zhang.wei@beht.example.cn").await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        let (kind, subject, text) = &receipts[0];
        assert_eq!(kind, "intake_receipt");
        assert_eq!(subject, "【矿山协调】XS-2026-000001 已受理：青山砂石矿 扬尘严重");
        assert!(text.contains("主办部门：区生态环境分局"), "{text}");
        assert!(text.contains("矿山：青山砂石矿"), "{text}");
        assert!(text.contains(&format!("/leads/{}", l["id"].as_str().unwrap())), "{text}");
        // The department hears of it as of any lead.
        assert_eq!(mail_to(&app, "ee.officer@ee.example.cn").await[0].0, "lead_routed");
    }
}

on_both! {
    settings = intake_on;
    /// Over HTTP: quoted-printable with attachments (the photo and pdf become evidence, the
    /// .exe is left aside and named in the reply), HTML only in GB2312 (no tag: the
    /// coordination office triages it), and Outlook's nested multiparts in GB18030 with an
    /// inline image.
    async fn attachments_html_and_nested_parts_over_http(app) {
        people(&app).await;
        let (status, a) = http_send(&app, &corpus("02_qp_attachments.eml")).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(a["outcome"], "raised");
        assert!(a["notes"].to_string().contains("tool.exe"), "{a}");
        let l = lead(&app, a["lead_id"].as_str().unwrap()).await;
        assert_eq!(l["urgency"], "urgent");
        assert_eq!(l["category"], "dust");
        assert_eq!(l["title"], "矿区道路未洒水");
        assert_eq!(l["description"], "矿区东侧运输道路未洒水，车辆经过时尘土飞扬。=见附件照片。");
        let files: Vec<(String, String)> = l["attachments"].as_array().unwrap().iter()
            .map(|f| (f["file_name"].as_str().unwrap().to_owned(), f["content_type"].as_str().unwrap().to_owned())).collect();
        assert_eq!(files, vec![("现场照片.jpg".into(), "image/jpeg".into()), ("report.pdf".into(), "application/pdf".into())]);
        let raised = l["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "raised").unwrap();
        assert!(l["attachments"].as_array().unwrap().iter().all(|f| f["event_id"] == raised["id"]));
        let receipt = &mail_to(&app, "zhang.wei@beht.example.cn").await[0].2;
        assert!(receipt.contains("tool.exe") && receipt.contains("类型不支持"), "{receipt}");

        let (status, a) = http_send(&app, &corpus("03_html_only.eml")).await;
        assert_eq!(status, 201, "{a}");
        let l = lead(&app, a["lead_id"].as_str().unwrap()).await;
        assert_eq!(l["category"], "other");
        assert_eq!(l["primary_department"], "NR");
        assert_eq!(l["township"], "KBJD");
        assert_eq!(l["mine_id"], Value::Null);
        let d = l["description"].as_str().unwrap();
        assert!(d.contains("昆北街道辖区废弃采坑夜间有人偷采砂石") && d.contains("倒卖") && d.contains("昆北街道 李娜"), "{d}");
        assert!(!d.contains('<') && !d.contains("&nbsp;") && !d.contains("&amp;"), "{d}");
        assert!(mail_to(&app, "li.na@kbjd.example.cn").await[0].2.contains("协调机制办公室分办"));

        let (status, a) = http_send(&app, &corpus("04_nested_inline.eml")).await;
        assert_eq!(status, 201, "{a}");
        let l = lead(&app, a["lead_id"].as_str().unwrap()).await;
        assert_eq!(l["category"], "tailings_safety");
        assert_eq!(l["primary_department"], "EM");
        assert_eq!(l["description"], "尾矿库坝体出现裂缝，见下图。");
        let names: Vec<&str> = l["attachments"].as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["image001.png", "情况说明.docx"]);
        assert_eq!(app.count("inbound_messages WHERE status = 'processed'").await, 3);
    }
}

on_both! {
    settings = intake_on;
    /// Replies to notices (a lead number in the subject) from the lead's parties become
    /// comments without the quoted history, with their files tied to the comment; a reply
    /// from a department that is no party, or naming a lead that does not exist, is refused
    /// and writes nothing.
    async fn replies_become_comments(app) {
        people(&app).await;
        smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", &corpus("01_gbk_new_lead.eml")).await.unwrap();
        let reply = smtp_send(&app, "ee.officer@ee.example.cn", "shaozi@whistle.example.cn", &corpus("05_outlook_reply.eml")).await.unwrap();
        assert!(reply.contains("commented XS-2026-000001"), "{reply}");
        let (status, a) = http_send(&app, &corpus("06_foxmail_reply.eml")).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(a["outcome"], "commented");
        let l = lead(&app, a["lead_id"].as_str().unwrap()).await;
        let comments: Vec<&Value> = l["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "comment").collect();
        assert_eq!(comments.len(), 2, "{}", l["timeline"]);
        let notes: Vec<&str> = comments.iter().map(|c| c["note"].as_str().unwrap()).collect();
        assert!(notes.contains(&"已安排执法人员下午到现场核查。"), "{notes:?}");
        assert!(notes.contains(&"现场照片补充如下，扬尘仍在持续。"), "{notes:?}");
        let foxmail = comments.iter().find(|c| c["note"] == "现场照片补充如下，扬尘仍在持续。").unwrap();
        assert_eq!(foxmail["actor_unit"], "BEHT");
        assert_eq!(l["attachments"][0]["file_name"], "IMG_0606.JPG");
        assert_eq!(l["attachments"][0]["content_type"], "image/jpeg");
        assert_eq!(l["attachments"][0]["event_id"], foxmail["id"]);
        assert_eq!(app.count("leads").await, 1, "a reply raises no new lead");

        // AGRI is no party to a dust lead.
        let events = app.count("lead_events").await;
        let raw = String::from_utf8(corpus("05_outlook_reply.eml")).unwrap()
            .replace("EE.Officer@ee.example.cn", "agri@agri.example.cn")
            .replace("TY2PR01MB-outlook-reply", "agri-reply");
        let err = smtp_send(&app, "agri@agri.example.cn", "shaozi@whistle.example.cn", raw.as_bytes()).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("not_a_party") && err.contains("XS-2026-000001"), "{err}");
        // By HTTP the same refusal names the subject, and the sender is told by email.
        let subject = {
            use base64::Engine;
            format!("Subject: =?utf-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode("答复: 【矿山协调】XS-2026-000099 新线索"))
        };
        let raw = raw.replace("agri-reply", "agri-reply-2").lines()
            .map(|l| if l.starts_with("Subject:") { subject.clone() } else { l.to_owned() })
            .collect::<Vec<_>>().join("\r\n");
        let (status, body) = http_send(&app, raw.as_bytes()).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["subject"]);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("XS-2026-000099 不存在"), "{body}");
        assert_eq!(app.count("lead_events").await, events, "refusals write nothing on the lead");
        let told = mail_to(&app, "agri@agri.example.cn").await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].0, "intake_refused");
        assert!(told[0].2.contains("XS-2026-000099 不存在"));
        assert_eq!(app.count("inbound_messages WHERE status = 'refused'").await, 2);
    }
}

on_both! {
    settings = intake_on;
    /// Strangers, disabled accounts, enterprises, malformed, oversized and automatic mail,
    /// and mail for another domain are refused with a reason and create nothing.
    async fn bad_mail_is_refused_and_creates_nothing(app) {
        let p = people(&app).await;
        let to = "shaozi@whistle.example.cn";
        let err = smtp_send(&app, "someone@example.com", to, &corpus("08_unknown_sender.eml")).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("unknown_sender") && err.contains("未在平台登记"), "{err}");
        let err = smtp_send(&app, "x@example.com", to, &corpus("07_malformed.eml")).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("malformed"), "{err}");
        let err = smtp_send(&app, "zhang.wei@beht.example.cn", to, &corpus("09_auto_reply.eml")).await.unwrap_err();
        assert!(err.contains("automatic"), "{err}");
        let err = smtp_send(&app, "zhang.wei@beht.example.cn", "someone@elsewhere.cn", &corpus("01_gbk_new_lead.eml")).await.unwrap_err();
        assert!(err.starts_with("550"), "{err}");

        // A disabled account.
        let lina_id = p["kbjd"].as_str().unwrap().to_owned();
        let r = app.post(&format!("/api/v1/users/{lina_id}/disable"), &app.admin_token, json!({})).await;
        assert!(r.status().is_success(), "{}", r.status());
        let (status, body) = http_send(&app, &corpus("03_html_only.eml")).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["from"]);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("已停用"), "{body}");

        // Too large: refused at MAIL by its declared SIZE, or after DATA, and over HTTP.
        let big = app.another_instance(|s| { intake_on(s); s.intake.max_message_bytes = 2048; }).await;
        let raw = corpus("02_qp_attachments.eml");
        assert!(raw.len() < 2048);
        let mut padded = raw.clone();
        padded.extend(std::iter::repeat_n(b'x', 3000));
        padded.extend(b"\r\n");
        let err = smtp_send(&big, "zhang.wei@beht.example.cn", to, &padded).await.unwrap_err();
        assert!(err.starts_with("552"), "{err}");
        let (status, body) = http_send(&big, &padded).await;
        assert_eq!(status, 413, "{body}");

        // A wrong token, or none.
        let r = app.client.post(app.url("/api/v1/intake/email")).bearer_auth("wrong").header("content-type", "message/rfc822").body(raw.clone()).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = app.client.post(app.url("/api/v1/intake/email")).bearer_auth(TOKEN).header("content-type", "application/json").body(raw).send().await.unwrap();
        assert_eq!(r.status(), 415);

        assert_eq!(app.count("leads").await, 0);
        assert_eq!(app.count("inbound_messages").await, 0);
    }
}

on_both! {
    settings = intake_on;
    /// The same Message-ID twice, by either channel, creates one lead; the second delivery
    /// is told it was taken in before.
    async fn the_same_message_twice_creates_one_lead(app) {
        people(&app).await;
        let raw = corpus("01_gbk_new_lead.eml");
        smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", &raw).await.unwrap();
        let again = smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", &raw).await.unwrap();
        assert!(again.contains("XS-2026-000001") && again.contains("重复"), "{again}");
        let (status, a) = http_send(&app, &raw).await;
        assert_eq!(status, 200, "{a}");
        assert_eq!(a["duplicate"], true);
        assert_eq!(a["lead_number"], "XS-2026-000001");
        assert_eq!(app.count("leads").await, 1);
        assert_eq!(app.count("inbound_messages").await, 1);
        assert_eq!(mail_to(&app, "zhang.wei@beht.example.cn").await.len(), 1, "one automatic reply");
    }
}

on_both! {
    settings = intake_on;
    /// A message stored but not processed (the service stopped in between) is processed by
    /// the sweep of the next instance, once.
    async fn a_stored_message_survives_a_stop(app) {
        let p = people(&app).await;
        let raw = corpus("04_nested_inline.eml");
        let user = p["township"].as_str().unwrap().to_owned();
        let now = app.clock.now_naive();
        app.with_db(move |c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::inbound_messages as m;
            diesel::insert_into(m::table).values((
                m::id.eq(uuid::Uuid::now_v7().to_string()), m::message_key.eq("mid:zhang.wei@beht.example.cn:000001dc-nested@beht.example.cn"),
                m::message_id.eq("000001dc-nested@beht.example.cn"), m::channel.eq("smtp"), m::sender.eq("zhang.wei@beht.example.cn"),
                m::user_id.eq(user), m::subject.eq("[尾矿库安全] 尾矿库坝体裂缝"), m::size_bytes.eq(raw.len() as i64),
                m::raw.eq(raw), m::status.eq("received"), m::received_at.eq(now),
            )).execute(c)?;
            Ok(())
        }).await;
        app.stop().await;
        let next = app.another_instance(intake_on).await;
        assert_eq!(minecoord::intake::sweep(&next.state).await.unwrap(), 0, "left to its connection at first");
        next.clock.advance(chrono::Duration::minutes(1));
        assert_eq!(minecoord::intake::sweep(&next.state).await.unwrap(), 1);
        assert_eq!(minecoord::intake::sweep(&next.state).await.unwrap(), 0);
        assert_eq!(next.count("leads WHERE category = 'tailings_safety'").await, 1);
        assert_eq!(next.count("inbound_messages WHERE status = 'processed'").await, 1);
        assert_eq!(mail_to(&next, "zhang.wei@beht.example.cn").await.len(), 1);
    }
}

/// A key pair of the district's mail domain for the DKIM test, made once per test run.
pub fn dkim_key() -> &'static aws_lc_rs::rsa::KeyPair {
    static KEY: OnceLock<aws_lc_rs::rsa::KeyPair> = OnceLock::new();
    KEY.get_or_init(|| aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
}

fn dkim_on(s: &mut Settings) {
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    intake_on(s);
    s.intake.dkim = Some(minecoord::platform::config::DkimSettings {
        domain: "beht.example.cn".into(),
        keys: [(
            "s2026".to_owned(),
            base64::engine::general_purpose::STANDARD.encode(dkim_key().public_key().as_ref()),
        )]
        .into(),
    });
}

/// Signs a message as the district's mail server would (relaxed/relaxed, rsa-sha256).
fn dkim_sign(raw: &[u8]) -> Vec<u8> {
    dkim_sign_as(raw, "beht.example.cn", "")
}

/// The public key of [`dkim_key`], as a DNS record's `p=` value.
pub fn dkim_public() -> String {
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(dkim_key().public_key().as_ref())
}

/// Signs a message by `domain` with selector s2026, with `extra` tags (e.g. " l=10;").
pub fn dkim_sign_as(raw: &[u8], domain: &str, extra: &str) -> Vec<u8> {
    use base64::Engine;
    use minecoord::intake::dkim;
    use sha2::{Digest, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let message = dkim::normalize_newlines(raw);
    let (headers, body) = dkim::split(&message);
    let bh = b64.encode(Sha256::digest(dkim::canonical_body(body, true)));
    let sig_header = format!("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s2026;{extra}\r\n\th=from:subject:date:message-id; bh={bh};\r\n\tb=\r\n");
    let data = dkim::signed_data(
        &headers,
        sig_header.as_bytes(),
        "from:subject:date:message-id",
        true,
    );
    let mut sig = vec![0; dkim_key().public_modulus_len()];
    dkim_key()
        .sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &data,
            &mut sig,
        )
        .unwrap();
    let signed = sig_header.replace("b=\r\n", &format!("b={}\r\n", b64.encode(sig)));
    let mut out = signed.into_bytes();
    out.extend_from_slice(&message);
    out
}

on_both! {
    settings = dkim_on;
    /// With DKIM on for the district's domain, its mail must carry a valid signature by it:
    /// unsigned or altered mail is refused, signed mail (also over a pipe with bare LF line
    /// ends) is taken in, mail from other domains is not checked.
    async fn dkim_is_required_for_the_district_domain(app) {
        people(&app).await;
        let to = "shaozi@whistle.example.cn";
        let raw = corpus("01_gbk_new_lead.eml");
        let err = smtp_send(&app, "zhang.wei@beht.example.cn", to, &raw).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("dkim_failed") && err.contains("没有 DKIM 签名"), "{err}");
        let signed = dkim_sign(&raw);
        let tampered = String::from_utf8(signed.clone()).unwrap().replace("x+DJvcmw", "x+DJvcmX");
        let err = smtp_send(&app, "zhang.wei@beht.example.cn", to, tampered.as_bytes()).await.unwrap_err();
        assert!(err.contains("dkim_failed"), "{err}");
        let forged_subject = String::from_utf8(signed.clone()).unwrap().replace("Subject: =?GBK?B?W9Hvs75d", "Subject: =?GBK?B?W9Hvs75e");
        let (status, _) = http_send(&app, forged_subject.as_bytes()).await;
        assert_eq!(status, 422);
        assert_eq!(app.count("leads").await, 0);
        let ok = smtp_send(&app, "zhang.wei@beht.example.cn", to, &signed).await.unwrap();
        assert!(ok.contains("raised"), "{ok}");
        // A pipe may hand the message over with LF line ends.
        let lf = String::from_utf8(dkim_sign(&corpus("02_qp_attachments.eml"))).unwrap().replace("\r\n", "\n");
        let (status, a) = http_send(&app, lf.as_bytes()).await;
        assert_eq!(status, 201, "{a}");
        // Mail from another domain is not the district's to sign.
        let (status, a) = http_send(&app, &corpus("03_html_only.eml")).await;
        assert_eq!(status, 201, "{a}");
    }
}

on_both! {
    settings = intake_on;
    /// With the intake on, lead notices say a reply reaches the lead and carry the intake
    /// address as Reply-To; other notices still ask not to reply.
    async fn lead_notices_invite_replies(app) {
        people(&app).await;
        smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", &corpus("01_gbk_new_lead.eml")).await.unwrap();
        let sink = crate::smtp_sink::SmtpSink::start().await;
        let app = app.another_instance(|s| { intake_on(s); s.smtp.url = Some(sink.url()); }).await;
        app.deliver("w1").await;
        let mail = sink.messages();
        let notice = mail.iter().find(|m| m.to.contains(&"ee.officer@ee.example.cn".to_owned())).expect("notice to EE");
        let parsed = notice.parsed();
        let reply_to = parsed.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
        assert!(reply_to.starts_with("shaozi+") && reply_to.ends_with("@whistle.example.cn"), "{reply_to}");
        assert_eq!(reply_to.len(), "shaozi+@whistle.example.cn".len() + 52, "{reply_to}");
        assert!(notice.text().contains("可直接回复本邮件"), "{}", notice.text());
        assert!(notice.subject().contains("XS-2026-000001"));
        // Machine-sent: autoresponders and out-of-office replies must not answer it.
        assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
        assert_eq!(parsed.header_raw("X-Auto-Response-Suppress").map(str::trim), Some("All"));
    }
}

on_both! {
    settings = intake_on;
    /// Corpus messages cut and corrupted at random (fixed seed) and posted to the route are
    /// taken in whole or refused with a 4xx: never a server error, never a partial lead.
    async fn corrupted_mail_is_taken_whole_or_refused(app) {
        use rand::{Rng, SeedableRng};
        people(&app).await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261122);
        let names = ["01_gbk_new_lead.eml", "02_qp_attachments.eml", "03_html_only.eml", "04_nested_inline.eml", "06_foxmail_reply.eml"];
        for round in 0..40 {
            let mut raw = corpus(names[round % names.len()]);
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..raw.len());
                match rng.random_range(0..3) {
                    0 => raw[at] = rng.random(),
                    1 => raw.truncate(at.max(1)),
                    _ => { raw.insert(at, b"\r\n=:;<>[]\"-\x80\xff"[rng.random_range(0..12)]); }
                }
            }
            // A fresh Message-ID each round, so each is judged on its own.
            let raw = [format!("Message-ID: <fuzz-{round}@x>\r\n").into_bytes(), raw].concat();
            let (status, body) = http_send(&app, &raw).await;
            assert!(matches!(status, 200 | 201 | 413 | 422), "round {round}: {status} {body}");
        }
        // Every lead is whole: routed, with its deadlines and its stored message.
        let leads = app.count("leads").await;
        assert_eq!(app.count("leads l WHERE EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = l.id AND e.kind = 'routed') AND (SELECT COUNT(*) FROM lead_deadlines d WHERE d.lead_id = l.id) = 3").await, leads);
        assert_eq!(app.count("inbound_messages WHERE status = 'received'").await, 0);
        assert_eq!(app.count("inbound_messages WHERE outcome = 'raised'").await, leads);
    }
}

on_both! {
    settings = intake_on;
    /// The coordination office reads the record of mail taken in: what became of each
    /// message, its text as read, the message as it arrived, and the list as a spreadsheet;
    /// townships may not. The lead form tells people the address and the subject form.
    async fn the_record_of_mail_taken_in(app) {
        people(&app).await;
        user_with_email(&app, "coord", "coordinator", ("department", "NR"), "coord@nr.example.cn").await;
        let (_, a) = http_send(&app, &corpus("01_gbk_new_lead.eml")).await;
        let raw = String::from_utf8(corpus("05_outlook_reply.eml")).unwrap()
            .replace("EE.Officer@ee.example.cn", "agri@agri.example.cn");
        assert_eq!(http_send(&app, raw.as_bytes()).await.0, 422);

        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["intake"], json!({"smtp_listener": true, "http_route": true, "address": "shaozi@whistle.example.cn",
            "require_authenticated_sender": false, "warning": "intake.require_authenticated_sender is off: the From header is trusted"}));
        let (coord, _) = browser_session(&app, "coord", PASSWORD).await;
        let page = coord.get(app.url("/intake")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("邮件收件记录") && page.contains("shaozi@whistle.example.cn"), "{page}");
        assert!(page.contains("登记为新线索") && page.contains("[扬尘] 青山砂石矿 扬尘严重"), "{page}");
        assert!(page.contains("未受理") && page.contains("不是线索 XS-2026-000001 的办理或反映单位"), "{page}");
        let refused = coord.get(app.url("/intake?status=refused")).send().await.unwrap().text().await.unwrap();
        assert!(!refused.contains("[扬尘] 青山砂石矿"), "the filter keeps only refusals");
        let id = a["message"].as_str().unwrap();
        let detail = coord.get(app.url(&format!("/intake/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(detail.contains("青山砂石矿今天上午装车作业扬尘很大") && detail.contains("查看线索"), "{detail}");
        let eml = coord.get(app.url(&format!("/intake/{id}/raw"))).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(eml.as_ref(), corpus("01_gbk_new_lead.eml").as_slice(), "kept byte for byte");
        let xlsx = coord.get(app.url("/intake/export.xlsx?status=processed")).send().await.unwrap().bytes().await.unwrap();
        let rows = minecoord::platform::xlsx::read_first_sheet(&xlsx, &Default::default()).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[1][3], "zhang.wei@beht.example.cn");

        let (township, _) = browser_session(&app, "zhangwei", PASSWORD).await;
        assert_eq!(township.get(app.url("/intake")).send().await.unwrap().status(), 403);
        let form = township.get(app.url("/leads/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("发邮件到 shaozi@whistle.example.cn") && form.contains("[扬尘] 青山砂石矿 扬尘严重"), "{form}");
    }
}

on_both! {
    settings = |s| { intake_on(s); s.intake.max_per_sender_per_hour = 2; };
    /// A reply whose subject lost the lead number still reaches the lead through the
    /// notice it answers (In-Reply-To); a sender over the hourly limit is refused with the
    /// reason until the hour has passed.
    async fn replies_by_thread_and_the_hourly_limit(app) {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::outbox;
        people(&app).await;
        let (_, a) = http_send(&app, &corpus("01_gbk_new_lead.eml")).await;
        let receipt: String = app.with_db(|c| Ok(outbox::table.filter(outbox::kind.eq("intake_receipt"))
            .select(outbox::message_id).first(c)?)).await;
        let reply = format!("From: zhang.wei@beht.example.cn\r\nTo: shaozi@whistle.example.cn\r\nSubject: =?utf-8?B?5pS26KeB?=\r\nMessage-ID: <thread-reply@beht.example.cn>\r\nIn-Reply-To: {receipt}\r\nReferences: <older@x> {receipt}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nthe dust has not stopped\r\n");
        let (status, c) = http_send(&app, reply.as_bytes()).await;
        assert_eq!(status, 201, "{c}");
        assert_eq!(c["outcome"], "commented");
        assert_eq!(c["lead_id"], a["lead_id"]);
        assert_eq!(app.count("leads").await, 1);

        // Two messages this hour already: the third is refused, and taken after the hour.
        let third = String::from_utf8(corpus("04_nested_inline.eml")).unwrap();
        let err = smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", third.as_bytes()).await.unwrap_err();
        assert!(err.starts_with("550") && err.contains("too_many") && err.contains("最多受理 2 封"), "{err}");
        assert_eq!(app.count("inbound_messages").await, 2);
        app.clock.advance(chrono::Duration::minutes(61));
        // Tokens outlive the hour; the listener needs none.
        let ok = smtp_send(&app, "zhang.wei@beht.example.cn", "shaozi@whistle.example.cn", third.as_bytes()).await.unwrap();
        assert!(ok.contains("raised"), "{ok}");
    }
}

/// Runs `minecoord intake` as a mail server's pipe would, the message on standard input,
/// trusting the From header as `intake_on` does.
fn pipe(app: &TestApp, raw: &[u8]) -> (i32, String) {
    pipe_with(
        app,
        raw,
        &[("MINECOORD_INTAKE__REQUIRE_AUTHENTICATED_SENDER", "false")],
    )
}

fn pipe_with(app: &TestApp, raw: &[u8], envs: &[(&str, &str)]) -> (i32, String) {
    crate::cli::run_minecoord_with(
        app,
        &["intake", "--from", "relay@whistle.example.cn"],
        None,
        Some(raw),
        envs,
    )
}

on_both! {
    /// `minecoord intake` takes a message from standard input with the same rules, and
    /// answers with sendmail's exit statuses so the mail server bounces or retries.
    async fn the_command_line_takes_mail_from_a_pipe(app) {
        people(&app).await;
        // By default an unproved sender is refused (sendmail's "no permission").
        let (code, out) = pipe_with(&app, &corpus("01_gbk_new_lead.eml"), &[]);
        assert_eq!(code, 77, "{out}");
        assert!(out.contains("无法确认"), "{out}");
        let (code, out) = pipe(&app, &corpus("01_gbk_new_lead.eml"));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("已受理：登记为线索 XS-2026-000001"), "{out}");
        let (code, out) = pipe(&app, &corpus("01_gbk_new_lead.eml"));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("重复邮件"), "{out}");
        let (code, out) = pipe(&app, &corpus("08_unknown_sender.eml"));
        assert_eq!(code, 67, "{out}");
        assert!(out.contains("未在平台登记"), "{out}");
        let (code, out) = pipe(&app, &corpus("07_malformed.eml"));
        assert_eq!(code, 65, "{out}");
        let agri = String::from_utf8(corpus("05_outlook_reply.eml")).unwrap().replace("EE.Officer@ee.example.cn", "agri@agri.example.cn");
        let (code, out) = pipe(&app, agri.as_bytes());
        assert_eq!(code, 77, "{out}");
        assert!(out.contains("不是线索 XS-2026-000001 的办理或反映单位"), "{out}");
        assert_eq!(mail_to(&app, "agri@agri.example.cn").await[0].0, "intake_refused", "the sender is told by email");
        assert_eq!(app.count("leads").await, 1);
        assert_eq!(app.count("inbound_messages WHERE channel = 'pipe'").await, 2);
    }
}

/// Reads the server's first line on a fresh SMTP connection.
async fn greeting(port: u16) -> (tokio::net::TcpStream, String) {
    use tokio::io::AsyncReadExt;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut buf = vec![0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    (s, line)
}

on_both! {
    settings = |s| { intake_on(s); s.intake.max_connections = 3; s.intake.max_connections_per_address = 2; };
    /// Idle connections cannot take the listener: one past the per-address cap (or the
    /// total) is answered 421 at once instead of waiting in silence, and a slot given back
    /// is served again.
    async fn a_full_listener_says_421_instead_of_silence(app) {
        let port = app.intake_port.unwrap();
        let (first, g1) = greeting(port).await;
        let (_second, g2) = greeting(port).await;
        assert!(g1.starts_with("220") && g2.starts_with("220"), "{g1} {g2}");
        let (_third, g3) = greeting(port).await;
        assert!(g3.starts_with("421"), "a third connection from one address: {g3}");
        drop(first);
        // The slot comes back when the server sees the connection close.
        let mut served = false;
        for _ in 0..200 {
            let (_s, g) = greeting(port).await;
            if g.starts_with("220") {
                served = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(served, "a freed slot is served again");
    }
}

/// Sends SMTP command lines and reads the answer to the last one.
async fn say(s: &mut tokio::net::TcpStream, lines: &[&str]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut last = String::new();
    for l in lines {
        s.write_all(format!("{l}\r\n").as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    last
}

on_both! {
    settings = |s| { intake_on(s); s.intake.max_message_bytes = 1 << 20; s.intake.max_data_in_flight = Some(3 << 19); };
    /// The message data all sessions hold at once is bounded: a DATA is read only after
    /// its size (declared with SIZE, else the largest allowed) is reserved; beyond the
    /// budget the answer is 452 and the sender retries; a message larger than it declared
    /// is refused as too large; the budget comes back when a message is done.
    async fn message_data_in_memory_is_bounded(app) {
        people(&app).await;
        let port = app.intake_port.unwrap();
        let open = |size: &'static str| async move {
            let (mut s, _) = greeting(port).await;
            let mail = format!("MAIL FROM:<zhang.wei@beht.example.cn>{size}");
            let r = say(&mut s, &["EHLO relay.test", &mail, "RCPT TO:<shaozi@whistle.example.cn>"]).await;
            assert!(r.starts_with("250"), "{r}");
            s
        };
        let mut a = open("").await;
        assert!(say(&mut a, &["DATA"]).await.starts_with("354"), "1 MiB reserved of 1.5");
        let mut b = open("").await;
        let r = say(&mut b, &["DATA"]).await;
        assert!(r.starts_with("452"), "another whole MiB does not fit: {r}");
        let mut c = open(" SIZE=2000").await;
        assert!(say(&mut c, &["DATA"]).await.starts_with("354"), "a small declared size fits");
        // SIZE is an estimate: a tenth and 4 KiB over it are taken, far more is not.
        let long = format!("From: <zhang.wei@beht.example.cn>\r\nSubject: x\r\n\r\n{}\r\n.", "y".repeat(20_000));
        let r = say(&mut c, &[&long]).await;
        assert!(r.starts_with("552"), "larger than it declared: {r}");
        let r = say(&mut a, &["From: <zhang.wei@beht.example.cn>\r\nSubject: =?utf-8?B?W+aJrOWwmF0g6Z2S5bGx56CC55+z55+/IOaJrOWwmA==?=\r\nMessage-ID: <budget@test>\r\n\r\ndust\r\n."]).await;
        assert!(r.starts_with("250"), "{r}");
        let r = say(&mut b, &["RSET", "MAIL FROM:<zhang.wei@beht.example.cn>", "RCPT TO:<shaozi@whistle.example.cn>", "DATA"]).await;
        assert!(r.starts_with("354"), "the budget came back: {r}");
    }
}

on_both! {
    settings = |s| { intake_on(s); s.intake.smtp_timeout = "5m".into(); s.intake.smtp_session_timeout = "1s".into(); };
    /// A session that keeps busy (a NOOP every 200 ms, well within the idle timeout) is
    /// still ended at its whole-session deadline, so it cannot hold a slot for ever. This
    /// one runs on the wall clock (the listener's timers are tokio's): about a second.
    async fn a_busy_session_ends_at_its_deadline(app) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, g) = greeting(app.intake_port.unwrap()).await;
        assert!(g.starts_with("220"), "{g}");
        let started = std::time::Instant::now();
        let mut closed = false;
        while started.elapsed() < std::time::Duration::from_secs(20) {
            if s.write_all(b"NOOP\r\n").await.is_err() {
                closed = true;
                break;
            }
            let mut buf = [0u8; 256];
            match tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(n)) => assert!(buf[..n].starts_with(b"250"), "{}", String::from_utf8_lossy(&buf[..n])),
                Err(_) => panic!("no answer to NOOP"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(closed, "the session was not ended at its deadline");
        assert!(started.elapsed() >= std::time::Duration::from_millis(900), "ended before its deadline");
    }
}

on_both! {
    settings = intake_on;
    /// A reply to an invitation by its thread alone (In-Reply-To, subject lost) or by its
    /// subject is an answer to that meeting, never a new lead; a reply to the minutes'
    /// notice is not taken as one.
    async fn invitations_are_answered_by_thread_or_subject(app) {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::outbox;
        people(&app).await;
        crate::intake::user_with_email(&app, "ee.head.th", "head", ("department", "EE"), "ee.head@ee.example.cn").await;
        let (_, coord) = crate::consultations::person(&app, "coord.th", "coordinator", (Some("NR"), None)).await;
        let mut m = crate::consultations::meeting("扬尘会商", "2026-03-10T09:30", "2026-03-10T11:00");
        m["invited_departments"] = json!(["EE"]);
        m["invited_townships"] = json!([]);
        let meeting: Value = app.post("/api/v1/consultations", &coord, m).await.json().await.unwrap();
        let invitation: String = app.with_db(|c| Ok(outbox::table.filter(outbox::recipient.eq("ee.head@ee.example.cn"))
            .select(outbox::message_id).first(c)?)).await;
        let reply = format!("From: ee.head@ee.example.cn\r\nTo: shaozi@whistle.example.cn\r\nSubject: =?utf-8?B?5pS26KeB?=\r\nMessage-ID: <th-1@ee.example.cn>\r\nIn-Reply-To: {invitation}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n=E5=87=86=E6=97=B6=E5=8F=82=E5=8A=A0\r\n");
        let reply = reply.replace("charset=utf-8\r\n\r\n", "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
        let (status, a) = http_send(&app, reply.as_bytes()).await;
        assert_eq!((status, a["outcome"].as_str(), a["consultation_number"].as_str()), (201, Some("attendance"), Some("HS-2026-001")), "{a}");
        let v: Value = app.get(&format!("/api/v1/consultations/{}", meeting["id"].as_str().unwrap()), &coord).await.json().await.unwrap();
        let ee = v["invitees"].as_array().unwrap().iter().find(|i| i["unit"] == "EE").unwrap();
        assert_eq!((ee["answer"].as_str(), ee["attendee_name"].as_str()), (Some("attending"), Some("测试ee.head.th")), "the sender attends: {v}");
        // By subject, without a thread: 「Declined: 会商通知：HS-2026-001 …」 from a calendar button.
        let raw = format!("From: ee.head@ee.example.cn\r\nTo: shaozi@whistle.example.cn\r\nSubject: Declined: =?utf-8?B?{}?=\r\nMessage-ID: <th-2@ee.example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n",
            { use base64::Engine; base64::engine::general_purpose::STANDARD.encode("会商通知：HS-2026-001 扬尘会商") });
        let (status, a) = http_send(&app, raw.as_bytes()).await;
        assert_eq!((status, a["outcome"].as_str()), (201, Some("attendance")), "{a}");
        let v: Value = app.get(&format!("/api/v1/consultations/{}", meeting["id"].as_str().unwrap()), &coord).await.json().await.unwrap();
        let ee = v["invitees"].as_array().unwrap().iter().find(|i| i["unit"] == "EE").unwrap();
        assert_eq!(ee["answer"].as_str(), Some("declined"), "{v}");
        // 「回复：纪要已印发：HS-2026-001」 is no answer to an invitation: a lead as any other mail.
        let raw = format!("From: ee.head@ee.example.cn\r\nTo: shaozi@whistle.example.cn\r\nSubject: =?utf-8?B?{}?=\r\nMessage-ID: <th-3@ee.example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx\r\n",
            { use base64::Engine; base64::engine::general_purpose::STANDARD.encode("回复：纪要已印发：HS-2026-001 参加") });
        let (_, a) = http_send(&app, raw.as_bytes()).await;
        assert_ne!(a["outcome"].as_str(), Some("attendance"), "{a}");
        assert_eq!(app.count("leads").await, i64::from(a["outcome"] == "raised"), "only that one, if any, is a lead");
    }
}
