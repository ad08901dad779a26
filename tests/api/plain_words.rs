//! No codes, usernames' internals or English in front of users: the visible text of every
//! daily page, for each kind of user, names departments, states and kinds in Chinese.

use serde_json::json;

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
        let mut problems = Vec::new();
        for (user, pages) in [
            ("town.words", vec!["/".to_owned(), "/leads?raised=mine".into(), format!("/leads/{id}"), "/notifications".into(), "/map".into(), "/mines".into(), format!("/mines/{mine_id}"), format!("/public/mines/{mine_id}/report")]),
            ("ee.words", vec!["/".into(), "/leads".into(), format!("/leads/{id}"), "/notifications".into(), "/leads/stats".into()]),
            ("coord.words", vec!["/".into(), "/leads".into(), format!("/leads/{id}"), "/leads/stats".into(), "/map".into()]),
            ("em.words", vec!["/".into(), format!("/mines/{mine_id}"), format!("/mines/{mine_id}/edit"), "/mines/new".into(), "/mines/gaps".into(), "/permits".into(), "/map".into()]),
            ("admin", vec!["/".into(), "/audit".into(), "/users".into(), "/outbox".into()]),
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
