//! The mine register: who may do what, validation, lifecycle, grade and supervisor
//! history, tailings ponds, filters, and the 漏管 report.

use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both;

/// A valid 统一社会信用代码 with the given serial, check character computed.
pub fn credit_code(serial: u32) -> String {
    const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("91150207{serial:09}");
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.find(c).unwrap() as u32 * w)
        .sum();
    format!(
        "{body}{}",
        CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
    )
}

pub fn mine_body(name: &str, serial: u32) -> Value {
    json!({
        "name": name, "enterprise_name": format!("{name}有限公司"), "credit_code": credit_code(serial),
        "township": "BEHT", "mine_type": "sand_gravel", "mineral": "建筑用石料", "mining_method": "open_pit",
        "status": "producing", "contact_name": "王矿长", "contact_phone": "0472-1234567", "licence_number": format!("C1502002026{serial:07}")
    })
}

/// Signs in as an officer of the department and returns the token.
pub async fn officer(app: &TestApp, username: &str, department: &str) -> String {
    app.create_user(username, "officer", Some(department), None)
        .await;
    app.token_for(username, PASSWORD).await
}

pub async fn create_mine(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/mines", token, body).await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 201, "{body}");
    body
}

on_both! {
    /// An EM officer registers a mine; the credit code is normalised and the record audited.
    async fn an_em_officer_registers_a_mine(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mut body = mine_body("青山砂石矿", 1);
        body["credit_code"] = json!(credit_code(1).to_lowercase());
        let mine = create_mine(&app, &em, body).await;
        assert_eq!(mine["credit_code"], credit_code(1));
        assert_eq!(mine["status_label"], "生产");
        assert_eq!(mine["mine_type_label"], "建筑用砂石");
        assert_eq!(mine["risk_grade"], Value::Null);
        let id = mine["id"].as_str().unwrap();
        let history: Value = app.get(&format!("/api/v1/mines/{id}/history"), &em).await.json().await.unwrap();
        assert_eq!(history["items"][0]["kind"], "create");
        assert!(history["items"][0]["actor_name"].as_str().unwrap().contains("em.officer"));
        let audit: Value = app.get(&format!("/api/v1/audit?entity=mine&entity_id={id}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(audit["items"][0]["action"], "create");
    }
}

on_both! {
    /// A wrong check character, an unknown township and missing fields are all named at once.
    async fn bad_mine_input_names_every_field(app) {
        let mut body = mine_body("坏数据矿", 2);
        let code = credit_code(2);
        let last = code.chars().last().unwrap();
        body["credit_code"] = json!(format!("{}{}", &code[..17], if last == '0' { '1' } else { '0' }));
        body["township"] = json!("NOWHERE");
        body["mine_type"] = json!("coal");
        body["status"] = json!("closed");
        body["tailings_dam_height_m"] = json!(40.0);
        let (status, problem_body) = problem(app.post("/api/v1/mines", &app.admin_token, body).await).await;
        assert_eq!(status, 422);
        let f = fields(&problem_body);
        for expected in ["credit_code", "township", "mine_type", "status"] {
            assert!(f.contains(&expected.to_owned()), "{expected} in {f:?}");
        }
        assert!(problem_body["errors"].to_string().contains("校验位"), "{problem_body}");
        assert_eq!(app.count("mines").await, 0);
        let (status, problem_body) = problem(app.post("/api/v1/mines", &app.admin_token, json!({"name": "只有名字"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&problem_body), vec!["enterprise_name", "mineral", "credit_code", "township", "mine_type", "mining_method", "status"]);
    }
}

on_both! {
    /// Only NR and EM (and the coordination office) register mines; only EM sets grade and supervisor.
    async fn mine_permissions_follow_the_rules(app) {
        let ee = officer(&app, "ee.officer", "EE").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let em = officer(&app, "em.officer", "EM").await;
        app.create_user("town.user", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.user", PASSWORD).await;
        assert_eq!(problem(app.post("/api/v1/mines", &ee, mine_body("环保局登记", 3)).await).await.0, 403);
        assert_eq!(problem(app.post("/api/v1/mines", &town, mine_body("街镇登记", 3)).await).await.0, 403);
        let mine = create_mine(&app, &nr, mine_body("自然资源登记", 3)).await;
        let id = mine["id"].as_str().unwrap();
        let grade = json!({"risk_grade": "major", "reason": "年度评估", "assessment": "2026年安全风险评估报告"});
        for token in [&nr, &ee, &town] {
            let (status, body) = problem(app.put(&format!("/api/v1/mines/{id}/risk-grade"), token, grade.clone()).await).await;
            assert_eq!(status, 403, "{body}");
            assert_eq!(problem(app.put(&format!("/api/v1/mines/{id}/supervisor"), token, json!({"department": "EM", "reason": "x"})).await).await.0, 403);
        }
        assert_eq!(app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, grade).await.status(), 200);
        // Everyone signed in reads the register.
        assert_eq!(app.get(&format!("/api/v1/mines/{id}"), &town).await.status(), 200);
        assert_eq!(app.get("/api/v1/mines", &ee).await.status(), 200);
    }
}

on_both! {
    /// Grade and supervisor changes need a reason and keep a full history with the assessment.
    async fn grade_and_supervisor_keep_their_history(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mine = create_mine(&app, &em, mine_body("红山铁矿", 4)).await;
        let id = mine["id"].as_str().unwrap();
        let (status, body) = problem(app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "purple", "reason": ""})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["risk_grade", "reason"]);
        let r = app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "significant", "reason": "首次定级", "assessment": "评估报告 2026-031", "assessed_on": "2026-02-27"})).await;
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["risk_grade_display"], "C级 · 较大风险");
        app.clock.advance(Duration::days(30));
        let em = app.token_for("em.officer", PASSWORD).await;
        let r = app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "发现重大事故隐患后复评"})).await;
        assert_eq!(r.status(), 200);
        let (status, _) = problem(app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "重复"})).await).await;
        assert_eq!(status, 409);
        let r = app.put(&format!("/api/v1/mines/{id}/supervisor"), &em, json!({"department": "em", "reason": "属地安全监管"})).await;
        assert_eq!(r.status(), 200);
        let (status, body) = problem(app.put(&format!("/api/v1/mines/{id}/supervisor"), &em, json!({"department": "XX", "reason": "x"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["department"]);

        let history: Value = app.get(&format!("/api/v1/mines/{id}/history"), &em).await.json().await.unwrap();
        let items = history["items"].as_array().unwrap();
        let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["supervisor", "risk_grade", "risk_grade", "create"]);
        assert_eq!(items[1]["from_value"], "significant");
        assert_eq!(items[1]["to_value"], "major");
        assert_eq!(items[1]["reason"], "发现重大事故隐患后复评");
        assert_eq!(items[2]["assessment"], "评估报告 2026-031");
        assert_eq!(items[2]["assessed_on"], "2026-02-27");
        assert_eq!(items[0]["to_value"], "EM");
    }
}

on_both! {
    /// Status changes follow the lifecycle with a reason; 已关闭 is never a direct edit.
    async fn status_changes_follow_the_lifecycle(app) {
        let nr = officer(&app, "nr.officer", "NR").await;
        let mut body = mine_body("新建项目矿", 5);
        body["status"] = json!("approval");
        let mine = create_mine(&app, &nr, body).await;
        let id = mine["id"].as_str().unwrap();
        let change = |status: &str, reason: &str| json!({"status": status, "reason": reason});
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{id}/status"), &nr, change("producing", "投产")).await).await;
        assert_eq!(status, 409);
        assert_eq!(body["type"], "invalid_transition");
        assert!(body["detail"].as_str().unwrap().contains("开工建设"), "names what is allowed: {body}");
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{id}/status"), &nr, change("construction", " ")).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["reason"]);
        for (to, reason) in [("construction", "取得开工批复"), ("producing", "竣工验收通过"), ("suspended", "冬季停产"), ("producing", "复产验收")] {
            let r = app.post(&format!("/api/v1/mines/{id}/status"), &nr, change(to, reason)).await;
            assert_eq!(r.status(), 200, "{to}");
        }
        let (status, body) = problem(app.post(&format!("/api/v1/mines/{id}/status"), &nr, change("closed", "关闭")).await).await;
        assert_eq!(status, 409);
        assert!(body["detail"].as_str().unwrap().contains("关闭退出"));
        let (status, _) = problem(app.patch(&format!("/api/v1/mines/{id}"), &nr, json!({"status": "suspended"})).await).await;
        assert_eq!(status, 422, "status is not edited as a field");
        let history: Value = app.get(&format!("/api/v1/mines/{id}/history"), &nr).await.json().await.unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 5);
    }
}

on_both! {
    /// Tailings ponds carry capacity, dam height, the derived grade, safety status and the 头顶库 flag.
    async fn tailings_ponds_are_graded_from_capacity_and_height(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mut body = mine_body("白云尾矿库", 6);
        body["mine_type"] = json!("tailings_pond");
        body["tailings_capacity_10k_m3"] = json!(1500.0);
        body["tailings_dam_height_m"] = json!(20.0);
        body["tailings_safety"] = json!("defective");
        body["tailings_evaluated_on"] = json!("2024-06-30");
        body["tailings_overhead"] = json!(true);
        let mine = create_mine(&app, &em, body).await;
        let t = &mine["tailings"];
        assert_eq!(t["grade"], 4, "三等 by capacity, 五等 by height: the higher lowered by one");
        assert_eq!(t["grade_label"], "四等库");
        assert_eq!(t["safety_label"], "病库");
        assert_eq!(t["overhead"], true);
        assert_eq!(t["evaluation_overdue"], false);
        let id = mine["id"].as_str().unwrap();
        app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 7, 1, 1, 0, 0).unwrap());
        let em = app.token_for("em.officer", PASSWORD).await;
        let m: Value = app.get(&format!("/api/v1/mines/{id}"), &em).await.json().await.unwrap();
        assert_eq!(m["tailings"]["evaluation_overdue"], true, "more than 3 years after 2024-06-30");
        let r = app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"tailings_dam_height_m": 65.0})).await;
        let m: Value = r.json().await.unwrap();
        assert_eq!(m["tailings"]["grade"], 3);
        let list: Value = app.get("/api/v1/mines?overhead=true&tailings_safety=defective", &em).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let list: Value = app.get("/api/v1/mines?tailings_grade=3", &em).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (status, body) = problem(app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"mine_type": "gold"})).await).await;
        assert_eq!(status, 200, "changing the type away from tailings clears the tailings fields: {body}");
        assert_eq!(body["tailings"], Value::Null);
    }
}

on_both! {
    /// Filters, text search on name, enterprise and licence number, and keyset pages without gaps.
    async fn the_register_filters_searches_and_pages(app) {
        let em = officer(&app, "em.officer", "EM").await;
        for i in 0..7u32 {
            let mut body = mine_body(&format!("测试矿{i:02}"), 10 + i);
            if i % 2 == 1 {
                body["township"] = json!("KBJD");
                body["mine_type"] = json!("gold");
                body["mining_method"] = json!("underground");
            }
            let m = create_mine(&app, &em, body).await;
            if i < 3 {
                let id = m["id"].as_str().unwrap();
                app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "general", "reason": "定级"})).await;
            }
        }
        let names = |v: &Value| v["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let mut all = Vec::new();
        let mut url = "/api/v1/mines?limit=3".to_owned();
        loop {
            let page: Value = app.get(&url, &em).await.json().await.unwrap();
            all.extend(names(&page));
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/mines?limit=3&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(all, (0..7).map(|i| format!("测试矿{i:02}")).collect::<Vec<_>>());
        let page: Value = app.get("/api/v1/mines?township=KBJD&mine_type=gold", &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿01", "测试矿03", "测试矿05"]);
        let page: Value = app.get("/api/v1/mines?risk_grade=none", &em).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 4);
        let page: Value = app.get("/api/v1/mines?risk_grade=general&township=BEHT", &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿00", "测试矿02"]);
        let page: Value = app.get("/api/v1/mines?q=C15020020260000014", &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿04"], "search by licence number");
        let page: Value = app.get("/api/v1/mines?q=%E6%B5%8B%E8%AF%95%E7%9F%BF06%E6%9C%89%E9%99%90", &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿06"], "search by enterprise name");
        app.clock.advance(Duration::minutes(5));
        let third = app.get("/api/v1/mines?q=%E6%B5%8B%E8%AF%95%E7%9F%BF03", &em).await.json::<Value>().await.unwrap();
        let third_id = third["items"][0]["id"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/v1/mines/{third_id}"), &em, json!({"address": "新地址"})).await;
        let page: Value = app.get("/api/v1/mines?sort=-updated_at&limit=2", &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿03", "测试矿06"], "recently changed first");
        let cursor = page["next_cursor"].as_str().unwrap();
        let page: Value = app.get(&format!("/api/v1/mines?sort=-updated_at&limit=2&cursor={cursor}"), &em).await.json().await.unwrap();
        assert_eq!(names(&page), vec!["测试矿05", "测试矿04"]);
        let (status, body) = problem(app.get("/api/v1/mines?status=open", &em).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["status"]);
        let (status, _) = problem(app.get("/api/v1/mines?cursor=zz", &em).await).await;
        assert_eq!(status, 422);
    }
}

on_both! {
    /// 漏管: missing supervisor or grade, overdue inspection under the grade's interval,
    /// overdue tailings evaluation; closed and well-watched mines are not listed.
    async fn the_gaps_report_finds_unwatched_mines(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let watched = create_mine(&app, &em, { let mut b = mine_body("监管到位矿", 20); b["last_inspected_on"] = json!("2026-02-20"); b }).await;
        let id = watched["id"].as_str().unwrap().to_owned();
        app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "定级"})).await;
        app.put(&format!("/api/v1/mines/{id}/supervisor"), &em, json!({"department": "EM", "reason": "定责"})).await;
        create_mine(&app, &em, mine_body("无人监管矿", 21)).await;

        let gaps: Value = app.get("/api/v1/mines/gaps", &em).await.json().await.unwrap();
        let items = gaps["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["mine"]["name"], "无人监管矿");
        let reasons = items[0]["reasons"].to_string();
        assert!(reasons.contains("未确定日常安全监管部门") && reasons.contains("未确定安全风险等级"), "{reasons}");

        // 重大 means monthly: six weeks later the watched mine is overdue.
        app.clock.advance(Duration::days(42));
        let em = app.token_for("em.officer", PASSWORD).await;
        let gaps: Value = app.get("/api/v1/mines/gaps", &em).await.json().await.unwrap();
        let overdue = gaps["items"].as_array().unwrap().iter().find(|g| g["mine"]["name"] == "监管到位矿").expect("overdue mine listed");
        assert!(overdue["reasons"][0].as_str().unwrap().contains("每 1 个月"), "{overdue}");
        app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"last_inspected_on": "2026-04-10"})).await;
        let gaps: Value = app.get("/api/v1/mines/gaps", &em).await.json().await.unwrap();
        assert_eq!(gaps["items"].as_array().unwrap().len(), 1);
    }
}

on_both! {
    /// Two officers editing the same version: exactly one wins, the other gets a 409.
    async fn concurrent_edits_do_not_overwrite_each_other(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let mine = create_mine(&app, &em, mine_body("并发矿", 30)).await;
        let id = mine["id"].as_str().unwrap();
        let path = format!("/api/v1/mines/{id}");
        let a = app.patch(&path, &em, json!({"address": "甲", "version": 1}));
        let b = app.patch(&path, &em, json!({"address": "乙", "version": 1}));
        let (a, b) = tokio::join!(a, b);
        let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 409]);
    }
}

use crate::helpers::*;

on_both! {
    /// "Today" is the date in Beijing: at 07:30 there (23:30 UTC the evening before) an
    /// inspection and an assessment dated today are accepted, and tomorrow's are refused.
    async fn today_is_the_date_in_beijing(app) {
        use chrono::TimeZone;
        app.create_user("em.officer", "officer", Some("EM"), None).await;
        app.clock.set(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 23, 30, 0).unwrap());
        let em = app.token_for("em.officer", PASSWORD).await;
        let mut body = mine_body("晨检砂石矿", 61);
        body["last_inspected_on"] = json!("2026-03-03");
        let mine = create_mine(&app, &em, body).await;
        assert_eq!(mine["last_inspected_on"], "2026-03-03");
        let id = mine["id"].as_str().unwrap();
        let r = app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "general", "reason": "晨间定级", "assessed_on": "2026-03-03"})).await;
        assert_eq!(r.status(), 200);
        let (status, body) = problem(app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "复评", "assessed_on": "2026-03-04"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["assessed_on"]);
        let mut body = mine_body("明日砂石矿", 62);
        body["last_inspected_on"] = json!("2026-03-04");
        let (status, body) = problem(app.post("/api/v1/mines", &em, body).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["last_inspected_on"]);
    }
}

on_both! {
    /// A grade or tailings safety code the program does not know (a manual database edit)
    /// is a database error when the mine is read, not a mine shown without a grade.
    async fn an_unknown_grade_code_is_an_error_not_no_grade(app) {
        let em = officer(&app, "em.grades", "EM").await;
        let mine = create_mine(&app, &em, mine_body("代码矿", 41)).await;
        let id = mine["id"].as_str().unwrap().to_owned();
        let r = app.get(&format!("/api/v1/mines/{id}"), &em).await;
        assert_eq!(r.status(), 200);
        let sql = format!("UPDATE mines SET risk_grade = 'purple' WHERE id = '{id}'");
        app.with_db(move |c| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?)).await;
        let (status, body) = problem(app.get(&format!("/api/v1/mines/{id}"), &em).await).await;
        assert_eq!(status, 500, "{body}");
        // Put right, it reads again; the same holds for the tailings safety.
        let sql = format!("UPDATE mines SET risk_grade = 'major', tailings_safety = 'shaky' WHERE id = '{id}'");
        app.with_db(move |c| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?)).await;
        let (status, _) = problem(app.get(&format!("/api/v1/mines/{id}"), &em).await).await;
        assert_eq!(status, 500);
        let sql = format!("UPDATE mines SET tailings_safety = NULL WHERE id = '{id}'");
        app.with_db(move |c| Ok(diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?)).await;
        let (status, body) = problem(app.get(&format!("/api/v1/mines/{id}"), &em).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["risk_grade"], "major");
    }
}

/// `text` percent-encoded for a query string.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

on_both! {
    /// Text search reads the trigram index for three characters or more and scans for fewer,
    /// with the same answers: Chinese substrings anywhere in the name or enterprise, case
    /// aside, wildcards and index syntax taken literally, renamed mines found by their new
    /// name only; an over-long search names the field.
    async fn text_search_finds_substrings_by_index_and_by_scan(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let lime = create_mine(&app, &em, mine_body("青山石灰岩矿", 31)).await;
        create_mine(&app, &em, mine_body("白云石灰石矿", 32)).await;
        create_mine(&app, &em, mine_body("河东100%砂石_场", 33)).await;
        create_mine(&app, &em, mine_body("Golden\"Hill\" OR 矿", 34)).await;
        let names = |v: &Value| {
            let mut n: Vec<String> = v["items"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
            n.sort();
            n
        };
        let search = |q: &str| {
            let (app, em, q) = (&app, &em, q.to_owned());
            async move {
                let r = app.get(&format!("/api/v1/mines?q={}", enc(&q)), em).await;
                assert_eq!(r.status(), 200, "q={q}");
                names(&r.json::<Value>().await.unwrap())
            }
        };
        assert_eq!(search("石灰岩").await, vec!["青山石灰岩矿"], "three characters, from the index");
        assert_eq!(search("石灰").await, vec!["白云石灰石矿", "青山石灰岩矿"], "two characters, by scan");
        assert_eq!(search("灰").await, vec!["白云石灰石矿", "青山石灰岩矿"], "one character");
        assert_eq!(search("云石灰石矿有限").await, vec!["白云石灰石矿"], "across name and enterprise");
        assert_eq!(search("golden").await, vec!["Golden\"Hill\" OR 矿"], "case aside");
        assert_eq!(search("\"hill\" or").await, vec!["Golden\"Hill\" OR 矿"], "quotes are text");
        assert_eq!(search("hill OR golden").await, Vec::<String>::new(), "OR is text, not a query");
        assert_eq!(search("100%砂").await, vec!["河东100%砂石_场"], "percent is text");
        assert_eq!(search("0%").await, vec!["河东100%砂石_场"]);
        assert_eq!(search("石_场").await, vec!["河东100%砂石_场"], "underscore is text");
        assert_eq!(search("石x场").await, Vec::<String>::new());
        assert_eq!(search("%%%").await, Vec::<String>::new());
        assert_eq!(search("*").await, Vec::<String>::new());

        // A renamed mine is found by its new name only.
        let id = lime["id"].as_str().unwrap();
        let r = app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"name": "青山大理岩矿", "enterprise_name": "青山建材有限公司"})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(search("石灰岩").await, Vec::<String>::new());
        assert_eq!(search("大理岩").await, vec!["青山大理岩矿"]);
        assert_eq!(search("青山").await, vec!["青山大理岩矿"]);

        let (status, body) = problem(app.get(&format!("/api/v1/mines?q={}", enc(&"矿".repeat(101))), &em).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["q"]);
        let (status, body) = problem(app.get("/api/v1/mines?q=a%0Ab", &em).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["q"]);
    }
}
