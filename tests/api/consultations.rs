//! 会商研判: a member unit asks, the office convenes with invitations by inbox and email
//! carrying an iCalendar (parsed back here), changes and cancels them, units answer.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

/// A user with an address, signed in; (id, token).
pub(crate) async fn person(
    app: &TestApp,
    username: &str,
    role: &str,
    unit: (Option<&str>, Option<&str>),
) -> (String, String) {
    let body = json!({"username": username, "password": PASSWORD, "must_change_password": false,
        "display_name": format!("测试{username}"), "role": role, "department": unit.0, "township": unit.1,
        "email": format!("{username}@example.gov.cn")});
    let (status, user) = problem(app.post("/api/v1/users", &app.admin_token, body).await).await;
    assert_eq!(status, 201, "{user}");
    (
        user["id"].as_str().unwrap().to_owned(),
        app.token_for(username, PASSWORD).await,
    )
}

/// The calendar's content lines, unfolded (RFC 5545 §3.1), as a reader sees them.
fn lines(ics: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

/// A property's value: the event's own when it has one, else the calendar's (METHOD, TZID).
fn value<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    let event = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap_or(0);
    let find = |from: usize| {
        lines[from..].iter().find_map(|l| {
            let (head, v) = l.split_once(':')?;
            (head == name || head.starts_with(&format!("{name};"))).then_some(v)
        })
    };
    find(event).or_else(|| find(0))
}

/// The calendars queued for `address`, oldest first.
async fn calendars(app: &TestApp, address: &'static str) -> Vec<String> {
    app.with_db(move |c| {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::outbox;
        Ok(outbox::table
            .filter(outbox::recipient.eq(address))
            .filter(outbox::calendar.is_not_null())
            .order((outbox::created_at, outbox::id))
            .select(outbox::calendar.assume_not_null())
            .load::<String>(c)?)
    })
    .await
}

pub(crate) fn meeting(topic: &str, starts: &str, ends: &str) -> Value {
    json!({"topic": topic, "starts_at": starts, "ends_at": ends, "place": "区自然资源分局 3 楼会议室",
        "invited_departments": ["EM", "ee"], "invited_townships": ["BEHT"], "invited_users": [],
        "agenda": [{"title": "青山砂石矿越界开采的处置"}]})
}

on_both! {
    /// A unit asks; the office convenes, each bad meeting a 422 naming the field and
    /// nothing written; the invitation's calendar is an RFC 5545 REQUEST in Beijing time;
    /// a change sends SEQUENCE 1 with the same UID; the cancellation is a CANCEL.
    async fn a_consultation_is_asked_for_convened_changed_and_cancelled(app) {
        let em_plain = officer(&app, "em.hs", "EM").await;
        let mine = create_mine(&app, &em_plain, mine_body("会商砂石矿", 901)).await;
        let (_, coord) = person(&app, "coord.hs", "coordinator", (Some("NR"), None)).await;
        let (_, em_head) = person(&app, "em.head.hs", "head", (Some("EM"), None)).await;
        person(&app, "ee.head.hs", "head", (Some("EE"), None)).await;
        let (_, town) = person(&app, "beht.hs", "township", (None, Some("BEHT"))).await;
        let _ = em_head;

        let ask = json!({"topic": "青山砂石矿越界开采", "reason": "自然资源与应急管理对处置意见不一致", "mine_ids": [mine["id"]]});
        assert_eq!(app.post("/api/v1/consultation-requests", &town, ask.clone()).await.status(), 403, "townships raise whistles, not requests");
        for (bad, field) in [(json!({"topic": "", "reason": "x"}), "topic"), (json!({"topic": "x", "reason": "y", "mine_ids": ["nope"]}), "mine_ids")] {
            let (status, body) = problem(app.post("/api/v1/consultation-requests", &em_plain, bad).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{body}");
        }
        let (status, r) = problem(app.post("/api/v1/consultation-requests", &em_plain, ask).await).await;
        assert_eq!(status, 201, "{r}");
        let inbox: Value = app.get("/api/v1/notifications", &coord).await.json().await.unwrap();
        assert!(inbox["items"][0]["title"].as_str().unwrap().contains("提请会商"), "the office is told: {inbox}");
        let pending: Value = app.get("/api/v1/consultation-requests?state=pending", &coord).await.json().await.unwrap();
        assert_eq!(pending.as_array().unwrap().len(), 1);

        // The clock reads 2026-03-02 09:00 in Beijing.
        let mut good = meeting("青山砂石矿越界开采专题会商", "2026-03-10T09:30", "2026-03-10T11:00");
        good["agenda"][0]["request_id"] = r["id"].clone();
        assert_eq!(app.post("/api/v1/consultations", &em_plain, good.clone()).await.status(), 403, "the office convenes");
        let mut past = good.clone();
        past["starts_at"] = json!("2026-03-01T09:30");
        past["ends_at"] = json!("2026-03-01T11:00");
        let mut nobody = good.clone();
        nobody["invited_departments"] = json!([]);
        nobody["invited_townships"] = json!([]);
        let mut plain_http = good.clone();
        plain_http["online_url"] = json!("http://meeting.example.cn/j/1");
        let mut backwards = good.clone();
        backwards["ends_at"] = json!("2026-03-10T08:00");
        let mut crowd = good.clone();
        crowd["invited_departments"] = json!(vec!["EM"; 301]);
        for (bad, field) in [(past, "starts_at"), (nobody, "invited_departments"), (plain_http, "online_url"), (backwards, "ends_at"), (crowd, "invited_users")] {
            let (status, body) = problem(app.post("/api/v1/consultations", &coord, bad).await).await;
            assert_eq!((status, fields(&body)), (422, vec![field.to_owned()]), "{body}");
        }
        assert_eq!(app.count("consultations").await, 0, "nothing written by the refused ones");
        let (status, m) = problem(app.post("/api/v1/consultations", &coord, good).await).await;
        assert_eq!(status, 201, "{m}");
        assert_eq!((m["number"].as_str(), m["state"].as_str(), m["starts_at"].as_str()), (Some("HS-2026-001"), Some("scheduled"), Some("2026-03-10T09:30")));
        assert_eq!(m["invitees"].as_array().unwrap().len(), 3, "EM, EE and 北二环街道: {m}");
        let r2: Value = app.get("/api/v1/consultation-requests", &coord).await.json().await.unwrap();
        assert_eq!(r2[0]["state"], "convened", "the request is on the agenda: {r2}");
        let id = m["id"].as_str().unwrap().to_owned();

        let first = calendars(&app, "em.head.hs@example.gov.cn").await;
        assert_eq!(first.len(), 1, "the department's head is invited");
        let l = lines(&first[0]);
        assert_eq!(value(&l, "METHOD"), Some("REQUEST"));
        assert_eq!(value(&l, "TZID"), Some("Asia/Shanghai"), "{}", first[0]);
        assert_eq!(value(&l, "DTSTART"), Some("20260310T093000"));
        assert!(l.iter().any(|x| x == "DTSTART;TZID=Asia/Shanghai:20260310T093000"));
        assert_eq!(value(&l, "SEQUENCE"), Some("0"));
        let uid = value(&l, "UID").unwrap().to_owned();
        assert!(value(&l, "SUMMARY").unwrap().contains("HS-2026-001"));
        assert!(l.iter().any(|x| x.starts_with("ATTENDEE") && x.ends_with("mailto:beht.hs@example.gov.cn")), "the township's staff too");
        assert!(calendars(&app, "em.hs@example.gov.cn").await.is_empty(), "officers are not invited when the unit has a head");

        let (status, v) = problem(app.patch(&format!("/api/v1/consultations/{id}"), &coord, json!({"starts_at": "2026-03-11T14:00", "ends_at": "2026-03-11T16:00"})).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["sequence"], 1);
        let changed = calendars(&app, "ee.head.hs@example.gov.cn").await;
        assert_eq!(changed.len(), 2, "a new invitation on the change");
        let l = lines(&changed[1]);
        assert_eq!((value(&l, "UID"), value(&l, "SEQUENCE"), value(&l, "DTSTART")), (Some(uid.as_str()), Some("1"), Some("20260311T140000")));

        let (status, v) = problem(app.post(&format!("/api/v1/consultations/{id}/cancel"), &coord, json!({"reason": "企业已自行停产整改"})).await).await;
        assert_eq!(status, 200, "{v}");
        let cancelled = calendars(&app, "ee.head.hs@example.gov.cn").await;
        let l = lines(&cancelled[2]);
        assert_eq!((value(&l, "METHOD"), value(&l, "STATUS"), value(&l, "SEQUENCE"), value(&l, "UID")), (Some("CANCEL"), Some("CANCELLED"), Some("2"), Some(uid.as_str())));
        let (status, _) = problem(app.patch(&format!("/api/v1/consultations/{id}"), &coord, json!({"place": "另一处"})).await).await;
        assert_eq!(status, 409, "a cancelled meeting does not change");
    }
}

on_both! {
    /// 报到: an invited unit names its attendee or declines with a reason; a unit not
    /// invited cannot answer; the office reminds the silent ones once; after the start
    /// nobody answers and the silent are absent; the calendar feed lists the person's
    /// meetings and stops when renewed. The invitation email carries text/calendar.
    async fn invited_units_answer_and_see_their_meetings(app) {
        let sink = crate::smtp_sink::SmtpSink::start().await;
        let app = app.another_instance(|s| s.smtp.url = Some(sink.url())).await;
        let (_, coord) = person(&app, "coord.at", "coordinator", (Some("NR"), None)).await;
        person(&app, "ee.head.at", "head", (Some("EE"), None)).await;
        let (_, ee) = person(&app, "ee.at", "officer", (Some("EE"), None)).await;
        let (_, nr) = person(&app, "nr.at", "officer", (Some("NR"), None)).await;
        let (status, m) = problem(app.post("/api/v1/consultations", &coord, meeting("扬尘整治会商", "2026-03-05T09:00", "2026-03-05T10:00")).await).await;
        assert_eq!(status, 201, "{m}");
        let id = m["id"].as_str().unwrap().to_owned();
        let attend = format!("/api/v1/consultations/{id}/attendance");

        assert_eq!(app.post(&attend, &nr, json!({"attending": true, "attendee_name": "李"})).await.status(), 404, "NR is not invited");
        let (status, body) = problem(app.post(&attend, &ee, json!({"attending": false})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]), "a refusal says why");
        let (status, v) = problem(app.post(&attend, &ee, json!({"attending": true, "attendee_name": "王科长"})).await).await;
        assert_eq!(status, 200, "{v}");
        let ee_row = v["invitees"].as_array().unwrap().iter().find(|i| i["unit"] == "EE").unwrap().clone();
        assert_eq!((ee_row["answer"].as_str(), ee_row["attendee_name"].as_str()), (Some("attending"), Some("王科长")));
        let mine: Value = app.get("/api/v1/consultations", &ee).await.json().await.unwrap();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1, "EE sees its invitation");
        let theirs: Value = app.get("/api/v1/consultations", &nr).await.json().await.unwrap();
        assert!(theirs["items"].as_array().unwrap().is_empty(), "NR sees none");

        let feed: Value = app.post("/api/v1/me/calendar-feed", &ee, json!({})).await.json().await.unwrap();
        let url = feed["url"].as_str().unwrap().to_owned();
        let path = &url[url.find("/api/").unwrap()..];
        let got = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert!(got.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let ics = got.text().await.unwrap();
        assert!(lines(&ics).iter().any(|l| l == &format!("UID:{id}@minecoord")), "{ics}");
        assert!(!lines(&ics).iter().any(|l| l.starts_with("METHOD")), "a feed has no method");
        app.post("/api/v1/me/calendar-feed", &ee, json!({})).await;
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 404, "the old address stops");

        app.deliver("w1").await;
        let mail = sink.messages();
        let invite = mail.iter().find(|m| m.to.contains(&"ee.head.at@example.gov.cn".to_owned())).expect("the head's invitation");
        let raw = String::from_utf8_lossy(&invite.data).to_string();
        assert!(raw.contains("text/calendar; charset=utf-8; method=REQUEST"), "{raw}");
        assert!(invite.subject().contains("会商通知"));

        // The office reminds the units that have not answered, once.
        assert_eq!(app.post(&format!("/api/v1/consultations/{id}/remind"), &ee, json!({})).await.status(), 403);
        let (status, r) = problem(app.post(&format!("/api/v1/consultations/{id}/remind"), &coord, json!({})).await).await;
        assert_eq!((status, r["reminded"].as_i64()), (200, Some(2)), "EM and 北二环街道 had not answered: {r}");
        assert_eq!(app.post(&format!("/api/v1/consultations/{id}/remind"), &coord, json!({})).await.status(), 409, "once");

        app.clock.advance(chrono::Duration::days(3));
        let ee = app.token_for("ee.at", PASSWORD).await;
        let (status, body) = problem(app.post(&attend, &ee, json!({"attending": false, "reason": "另有公务"})).await).await;
        assert_eq!(status, 409, "the meeting has begun: {body}");
        let coord = app.token_for("coord.at", PASSWORD).await;
        let v: Value = app.get(&format!("/api/v1/consultations/{id}"), &coord).await.json().await.unwrap();
        let answers: Vec<(String, String)> = v["invitees"].as_array().unwrap().iter().map(|i| (i["unit"].as_str().unwrap().to_owned(), i["answer"].as_str().unwrap().to_owned())).collect();
        assert!(answers.contains(&("EE".into(), "attending".into())) && answers.contains(&("EM".into(), "absent".into())) && answers.contains(&("BEHT".into(), "absent".into())), "{answers:?}");
    }
}

on_both! {
    /// Through the pages: a unit asks by the form, the office convenes from its form with
    /// the request on the agenda, the invited unit answers on the meeting's page, the office
    /// moves the meeting; each page in Chinese, a bad form shown again with 422.
    async fn consultations_through_the_pages(app) {
        person(&app, "coord.pg", "coordinator", (Some("NR"), None)).await;
        person(&app, "ee.head.pg", "head", (Some("EE"), None)).await;
        person(&app, "ee.pg", "officer", (Some("EE"), None)).await;
        let (ee, ee_csrf) = browser_session(&app, "ee.pg", PASSWORD).await;
        let r = ee.post(app.url("/consultation-requests")).form(&[("csrf", ee_csrf.as_str()), ("topic", ""), ("reason", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "shown again with what is missing");
        assert!(r.text().await.unwrap().contains("请填写会商议题"));
        let r = ee.post(app.url("/consultation-requests")).form(&[("csrf", ee_csrf.as_str()), ("topic", "河道采砂联合执法"), ("reason", "农业农村与自然资源职责交叉")]).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/consultation-requests?ok=saved"));

        let (coord, csrf) = browser_session(&app, "coord.pg", PASSWORD).await;
        let form = coord.get(app.url("/consultations/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("河道采砂联合执法") && form.contains("name=\"dept.EE\""), "the pending request is offered");
        let request_id: Value = app.get("/api/v1/consultation-requests", &app.token_for("coord.pg", PASSWORD).await).await.json().await.unwrap();
        let rid = request_id[0]["id"].as_str().unwrap().to_owned();
        let pick = format!("request.{rid}");
        let r = coord.post(app.url("/consultations")).form(&[("csrf", csrf.as_str()), ("topic", "河道采砂联合执法会商"), ("starts_at", "2026-03-06T14:00"),
            ("ends_at", "2026-03-06T15:30"), ("place", "区农业农村局会议室"), ("online_url", ""), ("dept.EE", "true"), (pick.as_str(), "true"), ("agenda", "执法分工\n时间安排")]).send().await.unwrap();
        let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(to.ends_with("?ok=created"), "{} {to}", r.status());
        let id = to.trim_start_matches("/consultations/").trim_end_matches("?ok=created").to_owned();
        let page = coord.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("HS-2026-001") && page.contains("会商申请：河道采砂联合执法") && page.contains("执法分工") && page.contains("邀请已发出"), "{page}");

        let mine = ee.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(mine.contains("本单位报到（区生态环境分局）"), "EE answers here: {mine}");
        let r = ee.post(app.url(&format!("/consultations/{id}/attendance"))).form(&[("csrf", ee_csrf.as_str()), ("unit", "EE"), ("attending", "no"), ("attendee_name", ""), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("请写明不能参会的原因"));
        let r = ee.post(app.url(&format!("/consultations/{id}/attendance"))).form(&[("csrf", ee_csrf.as_str()), ("unit", "EE"), ("attending", "yes"), ("attendee_name", "赵副局长"), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let answered = ee.get(app.url(&format!("/consultations/{id}?ok=attended"))).send().await.unwrap().text().await.unwrap();
        assert!(answered.contains("报到情况已提交") && answered.contains("赵副局长"), "{answered}");
        let list = ee.get(app.url("/consultations")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("参会（赵副局长）"), "the unit's answer on its list");

        let r = coord.post(app.url(&format!("/consultations/{id}/change"))).form(&[("csrf", csrf.as_str()), ("starts_at", "2026-03-07T14:00"), ("ends_at", "2026-03-07T15:30"),
            ("place", "区农业农村局会议室"), ("online_url", ""), ("version", "1")]).send().await.unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let moved = coord.get(app.url(&format!("/consultations/{id}?ok=changed"))).send().await.unwrap().text().await.unwrap();
        assert!(moved.contains("已重新发出邀请") && moved.contains("2026-03-07 14:00"), "{moved}");
    }
}

on_both! {
    /// An invitation that cannot be delivered (the mail server refuses it for good, or it
    /// is dead-lettered) shows on the meeting's page for the office, beside the outbox;
    /// the office also invites people by name from the form (a wrong name shown again).
    async fn an_undelivered_invitation_shows_on_the_meeting_page(app) {
        let port = crate::smtp_sink::free_port();
        let app = app.another_instance(|s| { s.smtp.url = Some(format!("smtp://127.0.0.1:{port}")); s.outbox.max_attempts = 1; }).await;
        person(&app, "coord.bo", "coordinator", (Some("NR"), None)).await;
        person(&app, "ee.head.bo", "head", (Some("EE"), None)).await;
        person(&app, "expert.bo", "officer", (Some("AGRI"), None)).await;
        let (coord, csrf) = browser_session(&app, "coord.bo", PASSWORD).await;
        let form = |users: &'static str| vec![("csrf", csrf.clone()), ("topic", "河道采砂会商".to_owned()), ("starts_at", "2026-03-06T14:00".into()),
            ("ends_at", "2026-03-06T15:00".into()), ("place", "区农牧局会议室".into()), ("online_url", String::new()), ("dept.EE", "true".into()),
            ("agenda", "分工".into()), ("users", users.into())];
        let r = coord.post(app.url("/consultations")).form(&form("expert.bo\nnobody.bo")).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("没有这些在用的用户：nobody.bo"));
        let r = coord.post(app.url("/consultations")).form(&form("expert.bo")).send().await.unwrap();
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        let page = coord.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("测试expert.bo") && !page.contains("id=\"undelivered\""), "the expert is invited by name: {page}");
        assert!(app.deliver("w1").await.failed >= 2, "no mail server: both invitations fail");
        let page = coord.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"undelivered\"") && page.contains("ee.head.bo@example.gov.cn") && page.contains("expert.bo@example.gov.cn"), "{page}");
        let (ee, _) = browser_session(&app, "ee.head.bo", PASSWORD).await;
        let theirs = ee.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(!theirs.contains("id=\"undelivered\""), "the office's to see");
    }
}

on_both! {
    /// A lead put to consultation is a request the office sees at once, about that lead;
    /// the office declines it (不予会商) only with a reason, on the API and on the request's
    /// page; the requester's head is told, the lead's timeline says so, and the lead may be
    /// put to a consultation again. The office convenes another from the request's page.
    async fn a_request_from_a_lead_is_declined_with_its_reason(app) {
        let (_, coord) = person(&app, "coord.dc", "coordinator", (Some("NR"), None)).await;
        let (drc_head_id, _) = person(&app, "drc.head.dc", "head", (Some("DRC"), None)).await;
        let (_, drc) = person(&app, "drc.dc", "officer", (Some("DRC"), None)).await;
        let (_, ee) = person(&app, "ee.dc", "officer", (Some("EE"), None)).await;
        let (_, town) = person(&app, "town.dc", "township", (None, Some("BEHT"))).await;
        let lead = crate::leads::raise(&app, &town, json!({"title": "产能置换存疑", "category": "industrial_policy", "description": "新建项目未见产能置换方案。"})).await;
        let (lid, number) = (lead["id"].as_str().unwrap().to_owned(), lead["number"].as_str().unwrap().to_owned());
        let (status, body) = problem(app.post(&format!("/api/v1/leads/{lid}/escalate"), &drc, json!({"reason": ""})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]), "{body}");
        assert_eq!(app.count("consultation_requests").await, 0, "nothing written");
        let v: Value = app.post(&format!("/api/v1/leads/{lid}/escalate"), &drc, json!({"reason": "涉及发改、工信两部门职责"})).await.json().await.unwrap();
        assert!(v["consultation_requested_at"].is_string(), "{v}");

        let list: Value = app.get("/api/v1/consultation-requests?state=pending", &coord).await.json().await.unwrap();
        let r = &list.as_array().unwrap()[0];
        let rid = r["id"].as_str().unwrap().to_owned();
        assert_eq!((r["topic"].as_str().unwrap(), r["department"].as_str(), &r["lead_ids"]), (format!("{number} 产能置换存疑").as_str(), Some("DRC"), &json!([lid])));
        assert_eq!(app.get(&format!("/api/v1/consultation-requests/{rid}"), &drc).await.status(), 200, "the asking unit sees it");
        assert_eq!(app.get(&format!("/api/v1/consultation-requests/{rid}"), &ee).await.status(), 404, "another unit does not");

        let decline = format!("/api/v1/consultation-requests/{rid}/decline");
        assert_eq!(app.post(&decline, &drc, json!({"reason": "x"})).await.status(), 403, "the office decides");
        let (status, body) = problem(app.post(&decline, &coord, json!({"reason": "  "})).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["reason".to_owned()]));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("不予会商的理由"), "{body}");
        let told_before = app.count("notifications WHERE title LIKE '会商申请不予安排%'").await;
        assert_eq!(told_before, 0);
        let v: Value = app.post(&decline, &coord, json!({"reason": "属部门职责，由发改局按程序办理"})).await.json().await.unwrap();
        assert_eq!((v["state"].as_str(), v["decline_reason"].as_str()), (Some("declined"), Some("属部门职责，由发改局按程序办理")), "{v}");
        assert_eq!(app.post(&decline, &coord, json!({"reason": "again"})).await.status(), 409, "declined once");
        let told: Vec<String> = app.with_db(|c| {
            use diesel::prelude::*;
            Ok(diesel::sql_query("SELECT user_id AS s FROM notifications WHERE title LIKE '会商申请不予安排%' ORDER BY user_id").load::<S>(c)?.into_iter().map(|s| s.s).collect())
        }).await;
        assert!(told.contains(&drc_head_id) && told.len() == 2, "the requester and the unit's head: {told:?}");

        let lead: Value = app.get(&format!("/api/v1/leads/{lid}"), &drc).await.json().await.unwrap();
        assert!(lead["consultation_requested_at"].is_null(), "{lead}");
        let line = lead["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "consultation_declined").expect("on the timeline");
        assert_eq!(line["note"].as_str(), Some("属部门职责，由发改局按程序办理"));

        // Again from the lead's page; the office convenes it from the request's page.
        let (drc_page, drc_csrf) = browser_session(&app, "drc.dc", PASSWORD).await;
        let r = drc_page.post(app.url(&format!("/leads/{lid}/escalate"))).form(&[("csrf", drc_csrf.as_str()), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "the lead's page again");
        assert!(r.text().await.unwrap().contains("提请会商的理由"));
        let r = drc_page.post(app.url(&format!("/leads/{lid}/escalate"))).form(&[("csrf", drc_csrf.as_str()), ("reason", "补充材料后再次提请")]).send().await.unwrap();
        assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/leads/{lid}?ok=step"));
        let list: Value = app.get("/api/v1/consultation-requests?state=pending", &coord).await.json().await.unwrap();
        let again = list[0]["id"].as_str().unwrap().to_owned();
        assert_ne!(again, rid);

        let (office, csrf) = browser_session(&app, "coord.dc", PASSWORD).await;
        let page = office.get(app.url(&format!("/consultation-requests/{rid}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("不予会商的理由") && page.contains("属部门职责") && page.contains(&number) && !page.contains("安排会商（列入议程）"), "{page}");
        let page = office.get(app.url(&format!("/consultation-requests/{again}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("/consultations/new?request={again}")) && page.contains(&format!("/consultation-requests/{again}/decline")), "{page}");
        let desk = office.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(desk.contains(&format!("/consultation-requests/{again}")), "the desk leads to the request: {desk}");
        let form = office.get(app.url(&format!("/consultations/new?request={again}"))).send().await.unwrap().text().await.unwrap();
        assert!(form.contains(&format!("name=\"request.{again}\" value=\"true\" checked")), "on the agenda already");
        let r = office.post(app.url(&format!("/consultation-requests/{again}/decline"))).form(&[("csrf", csrf.as_str()), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("请填写不予会商的理由"));
        let listing = office.get(app.url("/consultation-requests?state=declined")).send().await.unwrap().text().await.unwrap();
        assert!(listing.contains(&format!("/consultation-requests/{rid}")) && !listing.contains(&format!("/consultation-requests/{again}\"")), "filtered by state");
    }
}

#[derive(diesel::QueryableByName)]
struct S {
    #[diesel(sql_type = diesel::sql_types::Text)]
    s: String,
}
