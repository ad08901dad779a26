//! Lead pages: a township raises a lead from the form, the department's queue shows it,
//! the officer reports in and verifies on the lead page, the township sees the progress.

use crate::helpers::*;
use crate::on_both;

on_both! {
    async fn a_lead_through_the_pages(app) {
        app.create_user("town.page", "township", None, Some("BEHT")).await;
        app.create_user("ee.page", "officer", Some("EE"), None).await;
        let (town, csrf) = browser_session(&app, "town.page", PASSWORD).await;
        let form = town.get(app.url("/leads/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("我要吹哨") && form.contains("扬尘") && form.contains("获取当前位置"), "{form}");
        let r = town.post(app.url("/leads/new")).form(&[("csrf", csrf.as_str()), ("title", ""), ("category", "dust"), ("description", "道路扬尘"), ("lon", "abc"), ("lat", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let page = r.text().await.unwrap();
        assert!(page.contains("经纬度应为数字"), "{page}");
        let r = town.post(app.url("/leads/new")).form(&[("csrf", csrf.as_str()), ("title", ""), ("category", "dust"), ("description", "道路扬尘")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("请填写标题"));
        assert_eq!(app.count("leads").await, 0);
        let r = town.post(app.url("/leads/new")).form(&[("csrf", csrf.as_str()), ("title", "砂石场扬尘"), ("category", "dust"), ("urgency", "urgent"), ("description", "运输车辆未苫盖，道路扬尘严重。")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let page = town.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("XS-2026-000001") && page.contains("已分派") && page.contains("区生态环境分局"), "{page}");
        assert!(!page.contains("报到</summary>"), "the township does not report in");
        assert!(page.contains(r#"<li class="current">已分派</li>"#) && page.contains(r#"<li class="todo">已办结<small>未开始</small></li>"#), "the step indicator");
        assert!(page.contains("进行中") && page.contains("未开始"), "only the first unmet time limit is under way");
        let lead_path = location.split('?').next().unwrap().to_owned();

        let (ee, ee_csrf) = browser_session(&app, "ee.page", PASSWORD).await;
        let queue = ee.get(app.url("/leads")).send().await.unwrap().text().await.unwrap();
        assert!(queue.contains("本部门待办线索") && queue.contains("砂石场扬尘") && queue.contains("紧急"), "{queue}");
        let page = ee.get(app.url(&lead_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("报到</summary>"), "{page}");
        let r = ee.post(app.url(&format!("{lead_path}/acknowledge"))).form(&[("csrf", ee_csrf.as_str()), ("note", "执法人员已出发")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = ee.post(app.url(&format!("{lead_path}/verify"))).form(&[("csrf", ee_csrf.as_str()), ("substantiated", ""), ("note", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "missing findings are shown on the page");
        let r = ee.post(app.url(&format!("{lead_path}/verify"))).form(&[("csrf", ee_csrf.as_str()), ("substantiated", "true"), ("note", "现场核实属实")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = ee.post(app.url(&format!("{lead_path}/enforce"))).form(&[("csrf", ee_csrf.as_str()), ("measures", "责令整改、罚款"), ("decision_number", "环罚〔2026〕3号")]).send().await.unwrap();
        assert_eq!(r.status(), 303);

        let page = town.get(app.url(&lead_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("查处中") && page.contains("执法人员已出发") && page.contains("结论：属实") && page.contains("措施：责令整改、罚款"), "{page}");
        let mine = town.get(app.url("/leads?raised=mine")).send().await.unwrap().text().await.unwrap();
        assert!(mine.contains("我吹的哨") && mine.contains("查处中"), "{mine}");
        let r = town.post(app.url(&format!("{lead_path}/comment"))).form(&[("csrf", csrf.as_str()), ("note", "群众反映仍有扬尘")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = town.post(app.url(&format!("{lead_path}/close"))).form(&[("csrf", csrf.as_str()), ("note", "x")]).send().await.unwrap();
        assert_eq!(r.status(), 403);

        // EE closes it; the township evaluates on the page.
        let r = ee.post(app.url(&format!("{lead_path}/close"))).form(&[("csrf", ee_csrf.as_str()), ("note", "已整改")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = town.get(app.url(&lead_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("评价办理情况") && page.contains("问题未解决，重新打开"), "{page}");
        let r = town.post(app.url(&format!("{lead_path}/evaluate"))).form(&[("csrf", csrf.as_str()), ("department", "EE"), ("verdict", "dissatisfied"), ("comment", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422, "a dissatisfied verdict needs its reason");
        let r = town.post(app.url(&format!("{lead_path}/evaluate"))).form(&[("csrf", csrf.as_str()), ("department", "EE"), ("verdict", "basically_satisfied"), ("comment", "处理及时")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = town.get(app.url(&lead_path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("基本满意") && !page.contains("评价办理情况</summary>"), "{page}");
    }
}

on_both! {
    /// A transfer through the pages: EE hands over, NR accepts from its queue.
    async fn a_transfer_through_the_pages(app) {
        app.create_user("town.tp", "township", None, Some("BEHT")).await;
        app.create_user("ee.tp", "officer", Some("EE"), None).await;
        app.create_user("nr.tp", "officer", Some("NR"), None).await;
        let town = app.token_for("town.tp", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, serde_json::json!({"title": "越界迹象", "category": "dust", "description": "扬尘，疑似越界。"})).await;
        let path = format!("/leads/{}", lead["id"].as_str().unwrap());
        let (ee, ee_csrf) = browser_session(&app, "ee.tp", PASSWORD).await;
        let page = ee.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("转办</summary>") && page.contains("提请会商"), "{page}");
        assert!(!page.contains(r#"<option value="EE""#), "not to oneself");
        // A department the admins add is among the choices at once.
        let r = app.post("/api/v1/departments", &app.admin_token, serde_json::json!({"code": "WATER", "name": "区水务局"})).await;
        assert_eq!(r.status(), 201);
        let page = ee.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"<option value="WATER">区水务局</option>"#), "{page}");
        let r = ee.post(app.url(&format!("{path}/transfer"))).form(&[("csrf", ee_csrf.as_str()), ("to_department", "NR"), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let r = ee.post(app.url(&format!("{path}/transfer"))).form(&[("csrf", ee_csrf.as_str()), ("to_department", "NR"), ("reason", "疑似越界开采")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let (nr, nr_csrf) = browser_session(&app, "nr.tp", PASSWORD).await;
        let queue = nr.get(app.url("/leads")).send().await.unwrap().text().await.unwrap();
        assert!(queue.contains("越界迹象"), "{queue}");
        let page = nr.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("确认转办") && page.contains("待接收部门确认"), "{page}");
        let r = nr.post(app.url(&format!("{path}/transfer/answer"))).form(&[("csrf", nr_csrf.as_str()), ("answer", "accept"), ("note", "")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = nr.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("已接收") && page.contains("已报到") && page.contains("填写核查结论"), "{page}");
    }
}

on_both! {
    /// A point picked on the mine's drawing places the lead (and attaches the mine).
    async fn a_point_picked_on_the_drawing(app) {
        let em = crate::mines::officer(&app, "em.pick", "EM").await;
        let nr = crate::mines::officer(&app, "nr.pick", "NR").await;
        let mine = crate::boundaries::licensed_mine(&app, &em, &nr, "选点矿", 961, &crate::boundaries::square(4_502_300.0, 415_300.0, 600.0)).await;
        app.create_user("town.pick", "township", None, Some("BEHT")).await;
        let (town, csrf) = browser_session(&app, "town.pick", PASSWORD).await;
        let form = town.get(app.url("/leads/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("pick-map") && form.contains("选点矿"), "{form}");
        let svg = town.get(app.url(&format!("/api/v1/mines/{mine}/boundary.svg"))).send().await.unwrap().text().await.unwrap();
        assert!(svg.contains("data-x0=") && svg.contains("data-h="), "{svg}");
        let r = town.post(app.url("/leads/new")).form(&[("csrf", csrf.as_str()), ("title", "图上选点"), ("category", "safety_violation"), ("description", "采场边坡开裂。"),
            ("mine_id", ""), ("pick_e", "415600.00"), ("pick_n", "4502600.00")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let token = app.token_for("town.pick", PASSWORD).await;
        let list: serde_json::Value = app.get("/api/v1/leads?raised=mine", &token).await.json().await.unwrap();
        let lead = &list["items"][0];
        assert_eq!(lead["mine_id"], mine.as_str(), "{lead}");
        assert!(lead["lon"].as_f64().unwrap() > 109.0 && lead["lat"].as_f64().unwrap() > 40.0, "{lead}");
    }
}
