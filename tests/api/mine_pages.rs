//! The mine register's pages and the public disclosure pages, over HTTP like a browser.

use serde_json::json;

use crate::mines::{create_mine, credit_code, mine_body, officer};
use crate::on_both;

on_both! {
    /// An EM officer registers a mine through the pages, sets its grade and supervisor; the
    /// public page and the placard show them, and nothing personal.
    async fn an_officer_registers_and_grades_a_mine_and_the_public_sees_it(app) {
        app.create_user("em.page", "officer", Some("EM"), None).await;
        let (client, csrf) = browser_session(&app, "em.page", PASSWORD).await;
        let code = credit_code(501);
        let mut form = vec![
            ("csrf", csrf.clone()), ("name", "黑石沟铁矿".into()), ("enterprise_name", "黑石沟矿业有限公司".into()),
            ("credit_code", "123".into()), ("township", "BEHT".into()), ("mine_type", "ferrous".into()),
            ("mineral", "铁矿".into()), ("mining_method", "underground".into()), ("status", "producing".into()),
            ("contact_name", "李矿长".into()), ("contact_phone", "13800000000".into()),
        ];
        let r = client.post(app.url("/mines/new")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("统一社会信用代码应为 18 位"), "{html}");
        assert!(html.contains("value=\"黑石沟铁矿\""), "what was typed is kept");
        form[3].1 = code;
        let r = client.post(app.url("/mines/new")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let id = location.trim_start_matches("/mines/").split('?').next().unwrap().to_owned();

        let r = client.post(app.url(&format!("/mines/{id}/risk-grade")))
            .form(&[("csrf", csrf.as_str()), ("risk_grade", "major"), ("reason", ""), ("assessment", ""), ("assessed_on", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "a grade without a reason is refused on the page");
        assert!(r.text().await.unwrap().contains("请说明"));
        let r = client.post(app.url(&format!("/mines/{id}/risk-grade")))
            .form(&[("csrf", csrf.as_str()), ("risk_grade", "major"), ("reason", "年度评估"), ("assessment", "评估报告 2026-07"), ("assessed_on", "2026-03-01")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = client.post(app.url(&format!("/mines/{id}/supervisor")))
            .form(&[("csrf", csrf.as_str()), ("department", "EM"), ("reason", "地下矿山由应急局日常监管")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = client.get(app.url(&format!("/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("风险等级：未定级 → D级 · 重大风险"), "history on the page: {page}");
        assert!(page.contains("评估报告 2026-07"));

        // The public, without logging in.
        let public = reqwest::Client::new();
        let list = public.get(app.url("/public/mines")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("黑石沟铁矿") && list.contains("D级 · 重大风险") && list.contains("区应急局"), "{list}");
        assert!(!list.contains("13800000000") && !list.contains("李矿长"), "nothing personal");
        let one = public.get(app.url(&format!("/public/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(one.contains(r#"<span class="grade-major">D级 · 重大风险（红）</span>"#) && !one.contains("13800000000"), "the grade in its colour");
        assert!(one.contains(r#"<a href="tel:12345">12345</a>"#), "the complaint phone can be dialled: {one}");
        let placard = public.get(app.url(&format!("/public/mines/{id}/placard"))).send().await.unwrap().text().await.unwrap();
        assert!(placard.contains("<svg") && placard.contains("D级 · 重大风险") && placard.contains("区应急局") && placard.contains("12345"), "{placard}");
        assert!(!placard.contains("13800000000"));
        assert!(placard.contains(r#"href="tel:12345""#));
    }
}

on_both! {
    /// Illegal sites are not published; township users read the register but cannot change it.
    async fn the_public_sees_no_illegal_sites_and_townships_read_only(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mut body = mine_body("盗采点一号", 601);
        body["status"] = json!("illegal_site");
        let illegal = create_mine(&app, &em, body).await;
        let legal = create_mine(&app, &em, mine_body("合法砂石场", 602)).await;
        let public = reqwest::Client::new();
        let list = public.get(app.url("/public/mines")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("合法砂石场") && !list.contains("盗采点一号"));
        let r = public.get(app.url(&format!("/public/mines/{}", illegal["id"].as_str().unwrap()))).send().await.unwrap();
        assert_eq!(r.status(), 404);

        app.create_user("town.page", "township", None, Some("BEHT")).await;
        let (client, _) = browser_session(&app, "town.page", PASSWORD).await;
        let page = client.get(app.url(&format!("/mines/{}", legal["id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("合法砂石场"));
        assert!(!page.contains("id=\"form-submit\"") && !page.contains("确定风险等级"), "read-only for townships");
        assert!(!page.contains("<dt></dt>"), "no unlabelled value (the record's version) on the read-only page");
        let gaps = client.get(app.url("/mines/gaps")).send().await.unwrap().text().await.unwrap();
        assert!(gaps.contains("合法砂石场") && gaps.contains("未确定日常安全监管部门"), "{gaps}");
        let list = client.get(app.url("/mines?q=%E5%90%88%E6%B3%95")).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("合法砂石场") && !list.contains("盗采点一号"));
    }
}

on_both! {
    /// The mine page shows the mine (read-only facts, then its actions); its facts are edited
    /// on a form of their own that shows the tailings fields only for a tailings pond, and
    /// what those hidden fields still hold is not read for another kind of mine.
    async fn the_mine_page_shows_the_mine_and_edits_on_its_own_form(app) {
        let em = officer(&app, "em.show", "EM").await;
        let quarry = create_mine(&app, &em, mine_body("展示砂石场", 611)).await;
        let id = quarry["id"].as_str().unwrap().to_owned();
        let mut pond = mine_body("展示尾矿库", 612);
        pond["mine_type"] = json!("tailings_pond");
        pond["tailings_capacity_10k_m3"] = json!(150.0);
        pond["tailings_dam_height_m"] = json!(45.0);
        let pond = create_mine(&app, &em, pond).await;
        let (client, _) = browser_session(&app, "em.show", PASSWORD).await;

        let page = client.get(app.url(&format!("/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("<dl class=\"readonly\">") && !page.contains("id=\"form-submit\""), "the mine first, not a form: {page}");
        assert!(page.contains(&format!("href=\"/mines/{id}/edit\">编辑矿山信息")) && page.contains("变更状态"));
        assert!(!page.contains("尾矿库坝高") && !page.contains("头顶库"), "no tailings facts for a sand pit");
        let pond_page = client.get(app.url(&format!("/mines/{}", pond["id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
        assert!(pond_page.contains("<dt>尾矿库坝高（米）</dt><dd>45</dd>"), "{pond_page}");

        let edit = client.get(app.url(&format!("/mines/{id}/edit"))).send().await.unwrap().text().await.unwrap();
        assert!(edit.contains("id=\"form-submit\"") && edit.contains(&format!("action=\"/mines/{id}\"")));
        assert!(edit.contains(r#"data-when="mine_type" data-when-is="tailings_pond" hidden>"#), "tailings fields wait for 尾矿库: {edit}");
        let version = &edit[edit.find("name=\"version\"").expect("the version travels with the form")..];
        let version = version[version.find("value=\"").unwrap() + 7..].split('"').next().unwrap().to_owned();
        let csrf = hidden(&edit, "csrf");
        let form = |contact: &'static str, capacity: &'static str, kind: &'static str| {
            vec![
                ("csrf", csrf.clone()), ("version", version.clone()), ("name", "展示砂石场".into()),
                ("enterprise_name", "展示砂石场有限公司".into()), ("credit_code", quarry["credit_code"].as_str().unwrap().into()),
                ("township", "BEHT".into()), ("mine_type", kind.into()), ("mineral", "建筑用石料".into()),
                ("mining_method", "open_pit".into()), ("contact_name", contact.into()), ("contact_phone", "0472-1234567".into()),
                ("licence_number", quarry["licence_number"].as_str().unwrap().into()), ("tailings_capacity_10k_m3", capacity.into()),
            ]
        };
        // A pond's capacity must be a number; the edit form comes back with the message.
        let r = client.post(app.url(&format!("/mines/{id}"))).form(&form("李矿长", "很多", "tailings_pond")).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let again = r.text().await.unwrap();
        assert!(again.contains("应为数字") && again.contains("编辑矿山信息"), "{again}");
        // For a sand pit the hidden field's leftover is not read.
        let r = client.post(app.url(&format!("/mines/{id}"))).form(&form("李矿长", "很多", "sand_gravel")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], format!("/mines/{id}?ok=saved").as_str());
        let m: serde_json::Value = app.get(&format!("/api/v1/mines/{id}"), &em).await.json().await.unwrap();
        assert_eq!(m["contact_name"], "李矿长");
        assert!(m["tailings_capacity_10k_m3"].is_null(), "{m}");

        app.create_user("town.show", "township", None, Some("BEHT")).await;
        let (town, _) = browser_session(&app, "town.show", PASSWORD).await;
        let r = town.get(app.url(&format!("/mines/{id}/edit"))).send().await.unwrap();
        assert_eq!(r.status(), 403, "a township reads the register but does not edit it");
        let page = town.get(app.url(&format!("/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("编辑矿山信息"));
    }
}

use crate::helpers::*;
