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

use crate::helpers::*;
