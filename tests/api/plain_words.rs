//! No codes, usernames' internals or English in front of users: the visible text of every
//! daily page, for each kind of user, names departments, states and kinds in Chinese.

use serde_json::{json, Value};

use crate::boundaries::{licensed_mine, square};
use crate::helpers::*;
use crate::leads::raise;
use crate::mines::officer;
use crate::on_both;

/// The text a person sees: no scripts, styles, tags or attribute values.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let lower = rest.get(..8).unwrap_or("").to_ascii_lowercase();
        let end_tag = if lower.starts_with("<script") {
            "</script>"
        } else if lower.starts_with("<style") {
            "</style>"
        } else {
            ">"
        };
        match rest.find(end_tag) {
            Some(j) => {
                rest = &rest[j + end_tag.len()..];
                out.push(' ');
            }
            None => rest = "",
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
}

/// What a person should not see: a department code, a snake_case identifier, JSON.
fn codes_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if [
            "NR", "EM", "EE", "AGRI", "DRC", "MIIT", "GDS", "BEHT", "KBJD",
        ]
        .contains(&word)
        {
            found.push(format!("code {word}"));
        }
        if word.contains('_') && word.chars().any(|c| c.is_ascii_lowercase()) {
            found.push(format!("identifier {word}"));
        }
    }
    if text.contains("{\"") {
        found.push("JSON".into());
    }
    found
}

on_both! {
    async fn daily_pages_speak_chinese(app) {
        // The check itself sees what it must.
        assert_eq!(codes_in(&visible("<p title=\"NR\">由 NR 主办</p><script>var a_b = 1;</script>")), ["code NR"]);
        assert_eq!(codes_in(&visible("<td>mining_licence</td>")), ["identifier mining_licence"]);
        assert_eq!(codes_in(&visible("<td>{&quot;a&quot;: 1}</td>")), ["JSON"]);
        let em = officer(&app, "em.words", "EM").await;
        let nr = officer(&app, "nr.words", "NR").await;
        let mine_id = licensed_mine(&app, &em, &nr, "用语矿", 971, &square(4_502_300.0, 415_300.0, 600.0)).await;
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "年度评估", "assessment": "报告"})).await.status(), 200);
        app.create_user("town.words", "township", None, Some("BEHT")).await;
        app.create_user("ee.words", "officer", Some("EE"), None).await;
        app.create_user("coord.words", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.words", PASSWORD).await;
        let ee = app.token_for("ee.words", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "扬尘", "category": "dust", "description": "扬尘。", "mine_id": mine_id})).await;
        let id = lead["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({"note": "已出发"})).await.status(), 200);
        let coord_token = app.token_for("coord.words", PASSWORD).await;
        let meeting: Value = app.post("/api/v1/consultations", &coord_token, json!({"topic": "扬尘整治会商", "starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T10:00",
            "place": "区协调办会议室", "invited_departments": ["EE"], "invited_townships": ["BEHT"]})).await.json().await.unwrap();
        let meeting_id = meeting["id"].as_str().unwrap().to_owned();
        let meeting = format!("/consultations/{meeting_id}");
        // After the meeting: minutes with a decision for EE, approved by the office's head.
        app.create_user("nr.head.words", "head", Some("NR"), None).await;
        app.clock.advance(chrono::Duration::days(3) + chrono::Duration::hours(2));
        let coord_token = app.token_for("coord.words", PASSWORD).await;
        let minutes = json!({"attendees": ["区生态环境分局 李科长"], "discussion": "议定如下。", "decisions": [
            {"text": "开展扬尘专项整治", "responsible_unit": "EE", "cooperating_units": ["EM"], "due_on": "2026-04-30", "kind": "task"}]});
        assert_eq!(app.put(&format!("/api/v1{meeting}/minutes"), &coord_token, minutes).await.status(), 200);
        let head = app.token_for("nr.head.words", PASSWORD).await;
        let approved: Value = app.post(&format!("/api/v1{meeting}/minutes/approve"), &head, json!({})).await.json().await.unwrap();
        let decision = format!("/decisions/{}", approved["decisions"][0]["id"].as_str().unwrap());
        let ee = app.token_for("ee.words", PASSWORD).await;
        assert_eq!(app.post(&format!("/api/v1{decision}/progress"), &ee, json!({"text": "已部署", "percent": 30})).await.status(), 201);
        let minutes_page = format!("{meeting}/minutes");
        let mut problems = Vec::new();
        for (user, pages) in [
            ("town.words", vec!["/".to_owned(), "/leads?raised=mine".into(), format!("/leads/{id}"), "/notifications".into(), "/map".into(), "/mines".into(), format!("/mines/{mine_id}"), format!("/public/mines/{mine_id}/report"), "/consultations".into(), meeting.clone()]),
            ("ee.words", vec!["/".into(), "/leads".into(), format!("/leads/{id}"), "/notifications".into(), "/leads/stats".into(), meeting.clone(), "/consultation-requests".into(), "/consultation-requests/new".into(),
                "/decisions".into(), decision.clone(), minutes_page.clone()]),
            ("coord.words", vec!["/".into(), "/leads".into(), format!("/leads/{id}"), "/leads/stats".into(), "/map".into(), "/consultations".into(), "/consultations/new".into(), meeting.clone(),
                "/decisions".into(), decision.clone(), minutes_page.clone()]),
            ("nr.head.words", vec![meeting.clone(), "/decisions".into()]),
            ("em.words", vec!["/".into(), format!("/mines/{mine_id}"), format!("/mines/{mine_id}/edit"), "/mines/new".into(), "/mines/gaps".into(), "/permits".into(), "/map".into(), "/inspections".into(), "/inspections/new".into(), "/hazards".into(), "/inspection-items".into()]),
            ("admin", vec!["/".into(), "/audit".into(), "/audit?entity=decision".into(), "/audit?entity=consultation".into(), "/users".into(), "/outbox".into()]),
        ] {
            let password = if user == "admin" { ADMIN_PASSWORD } else { PASSWORD };
            let (client, _) = browser_session(&app, user, password).await;
            for path in pages {
                let html = client.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
                for p in codes_in(&visible(&html)) {
                    problems.push(format!("{user} {path}: {p}"));
                }
            }
        }
        let public = reqwest::Client::new();
        for path in ["/public/mines".to_owned(), format!("/public/mines/{mine_id}")] {
            let html = public.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
            for p in codes_in(&visible(&html)) {
                problems.push(format!("public {path}: {p}"));
            }
        }
        // The audit trail reads as sentences about named records.
        let (admin, _) = browser_session(&app, "admin", ADMIN_PASSWORD).await;
        let audit = visible(&admin.get(app.url("/audit?entity=mine")).send().await.unwrap().text().await.unwrap());
        assert!(audit.contains("安全风险等级：D级 · 重大风险") && audit.contains("用语矿"), "{audit}");
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "codes or English in front of users:\n{}", problems.join("\n"));
    }
}

/// An account with a Chinese name and an email address, signed in.
async fn person(
    app: &TestApp,
    username: &str,
    name: &str,
    role: &str,
    unit: (Option<&str>, Option<&str>),
) -> String {
    let body = json!({"username": username, "password": PASSWORD, "must_change_password": false, "display_name": name, "role": role,
        "department": unit.0, "township": unit.1, "email": format!("{}@qs.gov.cn", username.replace('.', "-"))});
    let r = app.post("/api/v1/users", &app.admin_token, body).await;
    assert_eq!(r.status(), 201, "{username}");
    app.token_for(username, PASSWORD).await
}

on_both! {
    /// Every notice and email the day's work sends — a lead routed, reported in, verified,
    /// enforced, closed, evaluated, transferred, disputed and decided, divided, assigned,
    /// reminded and escalated, a public report, permits and grades told to the other
    /// departments — names units, people and states in Chinese: no code, no username, no
    /// identifier, no JSON.
    async fn notices_and_emails_speak_chinese(app) {
        let em = person(&app, "em.n", "应急李", "officer", (Some("EM"), None)).await;
        let nr = person(&app, "nr.n", "资源王", "officer", (Some("NR"), None)).await;
        let ee = person(&app, "ee.n", "环境赵", "officer", (Some("EE"), None)).await;
        let head = person(&app, "ee.boss", "环境钱局长", "head", (Some("EE"), None)).await;
        let agri = person(&app, "agri.n", "水务孙", "officer", (Some("AGRI"), None)).await;
        let coord = person(&app, "coord.n", "协调周", "coordinator", (Some("NR"), None)).await;
        let town = person(&app, "town.n", "街镇吴", "township", (None, Some("BEHT"))).await;
        let mine_id = licensed_mine(&app, &em, &nr, "通知矿", 971, &square(4_502_300.0, 415_300.0, 600.0)).await;
        let grade = json!({"risk_grade": "significant", "reason": "年度评估", "assessment": "评估报告"});
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/risk-grade"), &em, grade).await.status(), 200);
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/supervisor"), &em, json!({"department": "EM", "reason": "露天矿山"})).await.status(), 200);

        // One lead the whole way, evaluated.
        let a = raise(&app, &town, json!({"title": "夜间扬尘", "category": "dust", "description": "扬尘。", "mine_id": mine_id})).await;
        let a = a["id"].as_str().unwrap().to_owned();
        for (step, body) in [("acknowledge", json!({})), ("verify", json!({"substantiated": true, "note": "属实"})), ("enforce", json!({"measures": ["责令整改"]})), ("close", json!({"note": "已整改"}))] {
            assert_eq!(app.post(&format!("/api/v1/leads/{a}/{step}"), &ee, body).await.status(), 200, "{step}");
        }
        assert_eq!(app.post(&format!("/api/v1/leads/{a}/evaluate"), &town, json!({"verdict": "dissatisfied", "comment": "太慢"})).await.status(), 200);
        // One transferred, disputed and decided; one divided and assigned.
        let b = raise(&app, &town, json!({"title": "河道边扬尘", "category": "dust", "description": "扬尘。"})).await;
        let b = b["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post(&format!("/api/v1/leads/{b}/transfer"), &ee, json!({"to_department": "AGRI", "reason": "在河道管理范围内"})).await.status(), 200);
        assert_eq!(app.post(&format!("/api/v1/leads/{b}/transfer/answer"), &agri, json!({"answer": "dispute", "note": "扬尘属生态环境部门职责"})).await.status(), 200);
        assert_eq!(app.post(&format!("/api/v1/leads/{b}/transfer/decide"), &coord, json!({"department": "EE", "note": "由生态环境分局主办"})).await.status(), 200);
        let c = raise(&app, &town, json!({"title": "说不清归谁管", "category": "other", "description": "山坡上有人在挖。"})).await;
        let c = c["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post(&format!("/api/v1/leads/{c}/dispatch"), &coord, json!({"department": "EE", "assisting_departments": ["EM"]})).await.status(), 200);
        assert_eq!(app.post(&format!("/api/v1/leads/{c}/assign"), &head, json!({"assignee": "ee.n"})).await.status(), 200);
        // An urgent one nobody reports in on: reminded, then escalated.
        raise(&app, &town, json!({"title": "尾矿库渗漏", "category": "dust", "urgency": "urgent", "description": "渗水。"})).await;
        app.clock.advance(chrono::Duration::minutes(21));
        minecoord::leads::deadlines::run_once(&app.state).await.unwrap();
        app.clock.advance(chrono::Duration::minutes(10));
        let t = minecoord::leads::deadlines::run_once(&app.state).await.unwrap();
        assert!(t.escalated >= 1, "{t:?}");
        // A report from the public page.
        let public = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = public.post(app.url(&format!("/public/mines/{mine_id}/report"))).form(&[("description", "有人夜里偷采。")]).send().await.unwrap();
        assert_eq!(r.status(), 303);

        #[derive(diesel::QueryableByName)]
        struct Said {
            #[diesel(sql_type = diesel::sql_types::Text)]
            what: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        use diesel::RunQueryDsl;
        let said: Vec<Said> = app.with_db(|c| Ok(diesel::sql_query(
            "SELECT kind AS what, title || ' ' || body AS text FROM notifications \
             UNION ALL SELECT 'email ' || kind AS what, subject || ' ' || body_text AS text FROM outbox").load(c)?)).await;
        let kinds: std::collections::BTreeSet<&str> = said.iter().map(|s| s.what.as_str()).collect();
        assert!(said.iter().filter(|s| s.what.starts_with("email ")).count() > 10, "emails were written: {kinds:?}");
        assert!(kinds.len() >= 12, "many kinds of notice: {kinds:?}");
        let mut problems = Vec::new();
        for s in &said {
            let text = s.text.replace("http://minecoord.test", "");
            for p in codes_in(&text) {
                problems.push(format!("{}: {p} in {:?}", s.what, s.text));
            }
            for u in ["em.n", "nr.n", "ee.n", "ee.boss", "agri.n", "coord.n", "town.n"] {
                if text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).any(|w| w == u) {
                    problems.push(format!("{}: username {u} in {:?}", s.what, s.text));
                }
            }
        }
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "codes or usernames in notices:\n{}", problems.join("\n"));
    }
}
