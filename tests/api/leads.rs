//! Problem leads (街镇吹哨、部门报到): raising and routing, numbers and deadlines, the
//! primary department's steps, who may do what, and two officers acting at once.

use chrono::Duration;
use serde_json::{json, Value};

use crate::boundaries::{licensed_mine, square};
use crate::helpers::*;
use crate::mines::officer;
use crate::on_both;

/// A township user of 卜尔汉图镇 (BEHT); returns the token.
async fn township(app: &TestApp, username: &str) -> String {
    app.create_user(username, "township", None, Some("BEHT"))
        .await;
    app.token_for(username, PASSWORD).await
}

pub async fn raise(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/leads", token, body).await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 201, "{body}");
    body
}

fn dust(title: &str) -> Value {
    json!({"title": title, "category": "dust", "urgency": "normal", "description": "运输道路扬尘严重，未洒水降尘。"})
}

/// Shanghai local time as the UTC text the API returns.
fn utc_of_local(local: &str) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap()
        - Duration::hours(8);
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

on_both! {
    /// Every category of the table routes to its primary and assisting departments.
    async fn every_category_routes_to_its_departments(app) {
        let town = township(&app, "town.route").await;
        let cats: Value = app.get("/api/v1/lead-categories", &town).await.json().await.unwrap();
        let cats = cats["items"].as_array().unwrap().clone();
        assert!(cats.len() >= 10, "the seeded table");
        for (i, c) in cats.iter().enumerate() {
            let code = c["code"].as_str().unwrap();
            let lead = raise(&app, &town, json!({"title": format!("线索{i}"), "category": code, "description": "现场发现问题。"})).await;
            assert_eq!(lead["primary_department"], c["primary_department"], "{code}");
            let assisting: Vec<String> = c["assisting_departments"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            assert_eq!(lead["assisting_departments"], json!(assisting), "{code}");
            assert!(lead["routing_reason"].as_str().unwrap().contains(c["name"].as_str().unwrap()), "{}", lead["routing_reason"]);
            assert_eq!(lead["number"], format!("XS-2026-{:06}", i + 1));
            assert_eq!(lead["township"], "BEHT", "from the raising user");
            assert_eq!(lead["state"], "routed");
        }
        assert_eq!(app.count("leads").await as usize, cats.len());
    }
}

on_both! {
    /// Each process keeps the departments, townships and lead categories under a stamp the
    /// database changes with every write to them, so a change made elsewhere (another
    /// instance, or by hand in the database) is seen at the next raise.
    async fn reference_changes_made_elsewhere_are_seen_at_the_next_raise(app) {
        use diesel::RunQueryDsl;
        let town = township(&app, "town.stamp").await;
        let first = raise(&app, &town, dust("第一条")).await;
        assert_eq!(first["primary_department_name"], "区生态环境分局");
        assert_eq!(first["township_name"], "卜尔汉图镇");
        assert_eq!(first["category_name"], "扬尘");
        let by_hand = |sql: &'static str| app.with_db(move |c| Ok(diesel::sql_query(sql).execute(c)?));
        by_hand("UPDATE departments SET name = '区生态环境分局（新）' WHERE code = 'EE'").await;
        by_hand("UPDATE townships SET name = '卜尔汉图镇（新）' WHERE code = 'BEHT'").await;
        let second = raise(&app, &town, dust("第二条")).await;
        assert_eq!(second["primary_department_name"], "区生态环境分局（新）");
        assert_eq!(second["township_name"], "卜尔汉图镇（新）");
        let shown: Value = app.get(&format!("/api/v1/leads/{}", first["id"].as_str().unwrap()), &town).await.json().await.unwrap();
        assert_eq!(shown["primary_department_name"], "区生态环境分局（新）", "read back the same way");
        by_hand("UPDATE lead_categories SET active = 0 WHERE code = 'dust'").await;
        let (status, body) = problem(app.post("/api/v1/leads", &town, dust("第三条")).await).await;
        assert_eq!((status, fields(&body)), (422, vec!["category".to_owned()]), "{body}");
        by_hand("INSERT INTO lead_categories (code, name, primary_department, assisting_departments, basis, mining_related, sort_order, active, created_at, updated_at) \
                 SELECT 'dust2', '扬尘（新类别）', primary_department, assisting_departments, basis, mining_related, sort_order, 1, created_at, updated_at FROM lead_categories WHERE code = 'dust'").await;
        let mut body = dust("第四条");
        body["category"] = json!("dust2");
        let fourth = raise(&app, &town, body).await;
        assert_eq!(fourth["category_name"], "扬尘（新类别）");
        assert_eq!(app.count("leads").await, 3);
    }
}

on_both! {
    /// Deadlines per urgency: urgent 30 minutes to report in; normal one working day,
    /// across the weekend; five working days to verify.
    async fn deadlines_follow_urgency_and_the_calendar(app) {
        township(&app, "town.due").await;
        app.create_user("ee.due", "officer", Some("EE"), None).await;
        // Friday 2026-03-06 16:00 in Shanghai.
        app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 6, 8, 0, 0).unwrap());
        let town = app.token_for("town.due", PASSWORD).await;
        let normal = raise(&app, &town, dust("周五下午的扬尘")).await;
        let due = |l: &Value, stage: &str| l["deadlines"].as_array().unwrap().iter().find(|d| d["stage"] == stage).unwrap()["due_at"].as_str().unwrap().to_owned();
        assert_eq!(due(&normal, "acknowledge"), utc_of_local("2026-03-09 16:00"), "Monday, past the weekend");
        assert_eq!(due(&normal, "verify"), utc_of_local("2026-03-13 16:00"));
        assert_eq!(due(&normal, "close"), utc_of_local("2026-04-05 16:00"), "30 calendar days");
        let mut urgent_body = dust("紧急扬尘");
        urgent_body["urgency"] = json!("urgent");
        let urgent = raise(&app, &town, urgent_body).await;
        assert_eq!(due(&urgent, "acknowledge"), utc_of_local("2026-03-06 16:30"));
        assert_eq!(due(&urgent, "verify"), utc_of_local("2026-03-07 16:00"));
        assert_eq!(urgent["is_overdue"], false);
        // The list comes by deadline: the urgent one first.
        let ee = app.token_for("ee.due", PASSWORD).await;
        let list: Value = app.get("/api/v1/leads", &ee).await.json().await.unwrap();
        let numbers: Vec<&str> = list["items"].as_array().unwrap().iter().map(|l| l["number"].as_str().unwrap()).collect();
        assert_eq!(numbers, vec![urgent["number"].as_str().unwrap(), normal["number"].as_str().unwrap()]);
        app.clock.advance(Duration::hours(1));
        let ee = app.token_for("ee.due", PASSWORD).await;
        let overdue: Value = app.get("/api/v1/leads?overdue=true", &ee).await.json().await.unwrap();
        assert_eq!(overdue["items"].as_array().unwrap().len(), 1, "the urgent one missed its 30 minutes");
        let one: Value = app.get(&format!("/api/v1/leads/{}", urgent["id"].as_str().unwrap()), &ee).await.json().await.unwrap();
        assert_eq!(one["is_overdue"], true);
    }
}

on_both! {
    /// A point inside a licensed mine's boundary attaches the mine and its township; a
    /// point in no licensed boundary on a mining category goes to NR as 无证采矿.
    async fn the_place_decides_the_mine_and_suspected_unlicensed_mining(app) {
        let em = officer(&app, "em.place", "EM").await;
        let nr = officer(&app, "nr.place", "NR").await;
        let mine_id = licensed_mine(&app, &em, &nr, "定位矿", 951, &square(4_502_300.0, 415_300.0, 600.0)).await;
        let m: Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        let ring = m["boundary"]["rings_lonlat"][0].as_array().unwrap();
        let (lon, lat) = ring.iter().take(4).fold((0.0, 0.0), |(a, b), p| (a + p[0].as_f64().unwrap() / 4.0, b + p[1].as_f64().unwrap() / 4.0));
        let town = township(&app, "town.place").await;
        let inside = raise(&app, &town, json!({"title": "夜间偷采", "category": "safety_violation", "description": "夜间作业无人监护。", "location": {"lon": lon, "lat": lat}})).await;
        assert_eq!(inside["mine_id"], mine_id.as_str());
        assert_eq!(inside["mine_name"], "定位矿");
        assert_eq!(inside["primary_department"], "EM", "a licensed mine: the category decides");
        assert!(inside["routing_reason"].as_str().unwrap().contains("定位矿"));

        let outside = raise(&app, &town, json!({"title": "山坡有人挖矿", "category": "safety_violation", "description": "无名采坑。", "location": {"lon": lon + 0.05, "lat": lat}})).await;
        assert!(outside["mine_id"].is_null());
        assert_eq!(outside["primary_department"], "NR");
        assert!(outside["assisting_departments"].as_array().unwrap().contains(&json!("EM")));
        assert!(outside["routing_reason"].as_str().unwrap().contains("疑似无证采矿"), "{}", outside["routing_reason"]);
        // Not a mining matter: the place does not change the department.
        let dusty = raise(&app, &town, json!({"title": "路边扬尘", "category": "dust", "description": "路边扬尘。", "location": {"lon": lon + 0.05, "lat": lat}})).await;
        assert_eq!(dusty["primary_department"], "EE");

        let r = app.post("/api/v1/leads", &town, json!({"title": "", "category": "nope", "description": "x", "urgency": "soon", "location": {"lon": 10.0, "lat": 40.0}})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        let fields = fields(&body);
        for f in ["title", "category", "urgency", "location"] {
            assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
        }
        let before = app.count("leads").await;
        let r = app.post("/api/v1/leads", &town, json!({"title": "x", "category": "dust", "description": "x", "colour": "red"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422, "unknown fields are refused: {body}");
        assert!(body.to_string().contains("colour"));
        assert_eq!(app.count("leads").await, before, "nothing half-written");
    }
}

on_both! {
    /// The main line through the API: report in, verify, enforce, close; a move out of
    /// turn is 409; missing findings are 422; deadlines are met; the timeline keeps it all.
    async fn the_primary_department_moves_the_main_line(app) {
        let town = township(&app, "town.line").await;
        let ee = officer(&app, "ee.line", "EE").await;
        let lead = raise(&app, &town, dust("石料厂扬尘")).await;
        let id = lead["id"].as_str().unwrap();
        let path = |step: &str| format!("/api/v1/leads/{id}/{step}");
        let r = app.post(&path("close"), &ee, json!({"note": "x"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("报到"), "says what is possible: {body}");

        let r = app.post(&path("acknowledge"), &ee, json!({"note": "已安排执法人员前往"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "acknowledged");
        assert_eq!(app.post(&path("acknowledge"), &ee, json!({})).await.status(), 409);
        let r = app.post(&path("verify"), &ee, json!({"note": ""})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"substantiated".to_owned()) && fields(&body).contains(&"note".to_owned()));
        assert_eq!(app.post(&path("start-verification"), &ee, json!({})).await.status(), 200);
        let v: Value = app.post(&path("verify"), &ee, json!({"substantiated": true, "note": "现场核实：未落实洒水抑尘。"})).await.json().await.unwrap();
        assert_eq!(v["state"], "verified");
        assert_eq!(v["substantiated"], true);
        let r = app.post(&path("enforce"), &ee, json!({"measures": []})).await;
        assert_eq!(problem(r).await.0, 422);
        let e: Value = app.post(&path("enforce"), &ee, json!({"measures": ["责令整改", "罚款"], "rectify_by": "2026-03-20", "decision_number": "环罚〔2026〕12号", "note": "下达整改通知书"})).await.json().await.unwrap();
        assert_eq!(e["state"], "enforcing");
        app.clock.advance(Duration::days(3));
        let ee = app.token_for("ee.line", PASSWORD).await;
        let c: Value = app.post(&path("close"), &ee, json!({"note": "已整改到位，复查合格。"})).await.json().await.unwrap();
        assert_eq!(c["state"], "closed");
        assert!(c["closed_at"].is_string());
        assert!(c["next_due_at"].is_null());
        assert!(c["deadlines"].as_array().unwrap().iter().all(|d| d["met_at"].is_string()), "{}", c["deadlines"]);
        let kinds: Vec<&str> = c["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["raised", "routed", "acknowledge", "start_verifying", "verify", "enforce", "close"]);
        let enforce = c["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "enforce").unwrap();
        assert!(enforce["data_json"].as_str().unwrap().contains("环罚〔2026〕12号"));
        assert_eq!(app.post(&path("close"), &ee, json!({"note": "again"})).await.status(), 409);
        assert_eq!(app.count("audit_log WHERE entity_type = 'lead'").await, 6);
        // The township followed along in its inbox.
        let town = app.token_for("town.line", PASSWORD).await;
        let inbox: Value = app.get("/api/v1/notifications", &town).await.json().await.unwrap();
        assert_eq!(inbox["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "lead_progress").count(), 5);
        // Closed leads are listed apart.
        let open: Value = app.get("/api/v1/leads", &ee).await.json().await.unwrap();
        assert_eq!(open["items"].as_array().unwrap().len(), 0);
        let closed: Value = app.get("/api/v1/leads?state=closed", &ee).await.json().await.unwrap();
        assert_eq!(closed["items"].as_array().unwrap().len(), 1);
    }
}

on_both! {
    /// Only the primary department moves the main line; assisting departments and the
    /// township comment; other departments do not see the lead; enterprises see none.
    async fn who_may_see_and_do_what(app) {
        let town = township(&app, "town.perm").await;
        let drc = officer(&app, "drc.perm", "DRC").await;
        let miit = officer(&app, "miit.perm", "MIIT").await;
        let ee = officer(&app, "ee.perm", "EE").await;
        app.create_user("coord.perm", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("coord.perm", PASSWORD).await;
        // 产业政策: DRC primary, MIIT assisting.
        let lead = raise(&app, &town, json!({"title": "落后产能", "category": "industrial_policy", "description": "使用淘汰设备。"})).await;
        let id = lead["id"].as_str().unwrap();
        assert_eq!(lead["primary_department"], "DRC");
        let r = app.post(&format!("/api/v1/leads/{id}/acknowledge"), &miit, json!({})).await;
        assert_eq!(r.status(), 403, "assisting departments record their part, not the main line");
        let r = app.post(&format!("/api/v1/leads/{id}/acknowledge"), &town, json!({})).await;
        assert_eq!(r.status(), 403);
        let r = app.post(&format!("/api/v1/leads/{id}/comment"), &miit, json!({"note": "协查：该设备在淘汰目录内。"})).await;
        assert_eq!(r.status(), 201);
        let r = app.post(&format!("/api/v1/leads/{id}/comment"), &town, json!({"note": "请尽快处理"})).await;
        assert_eq!(r.status(), 201);
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &ee).await.status(), 404, "not a party");
        let r = app.post(&format!("/api/v1/leads/{id}/comment"), &ee, json!({"note": "x"})).await;
        assert_eq!(r.status(), 404);
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &coord).await.status(), 200);
        let ee_list: Value = app.get("/api/v1/leads", &ee).await.json().await.unwrap();
        assert_eq!(ee_list["items"].as_array().unwrap().len(), 0);
        let miit_list: Value = app.get("/api/v1/leads", &miit).await.json().await.unwrap();
        assert_eq!(miit_list["items"].as_array().unwrap().len(), 1);
        let drc_view: Value = app.get(&format!("/api/v1/leads/{id}"), &drc).await.json().await.unwrap();
        assert_eq!(drc_view["moves"], json!(["acknowledge"]));
        assert_eq!(drc_view["timeline"].as_array().unwrap().len(), 4);
        let miit_view: Value = app.get(&format!("/api/v1/leads/{id}"), &miit).await.json().await.unwrap();
        assert_eq!(miit_view["moves"], json!([]));

        app.create_user("qiye.perm", "enterprise", None, None).await;
        let ent = app.token_for("qiye.perm", PASSWORD).await;
        assert_eq!(app.get("/api/v1/leads", &ent).await.status(), 403);
        assert_eq!(app.post("/api/v1/leads", &ent, dust("x")).await.status(), 403);
        assert_eq!(app.post("/api/v1/leads", &app.admin_token, dust("x")).await.status(), 403);
        // The DRC is told of the new lead; the township of nothing it did itself.
        let inbox: Value = app.get("/api/v1/notifications", &drc).await.json().await.unwrap();
        assert!(inbox["items"][0]["title"].as_str().unwrap().starts_with(lead["number"].as_str().unwrap()));
    }
}

on_both! {
    /// Two officers report in at once: exactly one succeeds; a retried create with the
    /// same Idempotency-Key makes one lead.
    async fn one_of_two_at_once_wins_and_retries_create_once(app) {
        let town = township(&app, "town.race").await;
        app.create_user("ee.one", "officer", Some("EE"), None).await;
        app.create_user("ee.two", "head", Some("EE"), None).await;
        let (a, b) = (app.token_for("ee.one", PASSWORD).await, app.token_for("ee.two", PASSWORD).await);
        for round in 0..5 {
            let lead = raise(&app, &town, dust(&format!("并发{round}"))).await;
            let path = format!("/api/v1/leads/{}/acknowledge", lead["id"].as_str().unwrap());
            let (ra, rb) = tokio::join!(app.post(&path, &a, json!({"version": 1})), app.post(&path, &b, json!({"version": 1})));
            let mut codes = [ra.status().as_u16(), rb.status().as_u16()];
            codes.sort();
            assert_eq!(codes, [200, 409], "round {round}");
        }
        assert_eq!(app.count("lead_events WHERE kind = 'acknowledge'").await, 5);

        let send = || app.client.post(app.url("/api/v1/leads")).bearer_auth(&town).header("Idempotency-Key", "0b6c6d0e-lead-retry").json(&dust("重试的线索")).send();
        let send = || async { send().await.unwrap() };
        let first: Value = send().await.json().await.unwrap();
        let second = send().await;
        assert_eq!(second.status(), 201);
        let second: Value = second.json().await.unwrap();
        assert_eq!(first["number"], second["number"]);
        assert_eq!(app.count("leads WHERE title = '重试的线索'").await, 1);
    }
}

on_both! {
    /// The first leads of a year raised at the same moment all get numbers, each its own.
    async fn leads_raised_at_once_are_numbered_without_gaps(app) {
        let town = township(&app, "town.burst").await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (client, url, town) = (app.client.clone(), app.url("/api/v1/leads"), town.clone());
            tasks.push(tokio::spawn(async move {
                client.post(url).bearer_auth(town).json(&dust(&format!("同时吹哨{i}"))).send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
        let list: Value = app.get("/api/v1/leads?limit=100", &town).await.json().await.unwrap();
        let mut numbers: Vec<String> = list["items"].as_array().unwrap().iter().map(|l| l["number"].as_str().unwrap().to_owned()).collect();
        numbers.sort();
        let expected: Vec<String> = (1..=16).map(|n| format!("XS-2026-{n:06}")).collect();
        assert_eq!(numbers, expected);
    }
}

on_both! {
    /// A year counted before the per-year sequences (a counter row, as an upgraded
    /// database keeps) goes on from where its counter stood; the next year starts at 1.
    async fn a_year_goes_on_from_its_counter(app) {
        township(&app, "town.years").await;
        app.with_db(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("INSERT INTO lead_counters (year, last_number) VALUES (2027, 41)").execute(c)?;
            Ok(())
        })
        .await;
        app.clock.advance(chrono::Duration::days(365));
        let town = app.token_for("town.years", PASSWORD).await;
        let first = raise(&app, &town, dust("新年第一哨")).await;
        assert_eq!(first["number"], "XS-2027-000042", "{first}");
        let second = raise(&app, &town, dust("新年第二哨")).await;
        assert_eq!(second["number"], "XS-2027-000043", "{second}");
        app.clock.advance(chrono::Duration::days(365));
        let town = app.token_for("town.years", PASSWORD).await;
        let next_year = raise(&app, &town, dust("再一年")).await;
        assert_eq!(next_year["number"], "XS-2028-000001", "{next_year}");
    }
}

on_both! {
    /// A coded column holding a code the program does not know (a manual edit, a
    /// downgrade) is an error when read, never shown as some default state.
    async fn an_unknown_code_in_the_database_is_an_error_not_a_default(app) {
        let town = township(&app, "town.codes").await;
        let lead = raise(&app, &town, dust("代码校验")).await;
        let id = lead["id"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &town).await.status(), 200);
        let target = id.clone();
        app.with_db(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("UPDATE leads SET state = 'lost' WHERE id = '{target}'")).execute(c)?;
            Ok(())
        })
        .await;
        let (status, body) = problem(app.get(&format!("/api/v1/leads/{id}"), &town).await).await;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["type"], "internal");
        assert!(!body.to_string().contains("已分派"), "{body}");
        let mine = crate::mines::create_mine(&app, &crate::mines::officer(&app, "em.codes", "EM").await, crate::mines::mine_body("代码矿", 93)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let target = mine_id.clone();
        app.with_db(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("UPDATE mines SET status = 'vanished' WHERE id = '{target}'")).execute(c)?;
            Ok(())
        })
        .await;
        let em = app.token_for("em.codes", PASSWORD).await;
        assert_eq!(app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.status(), 500);

        // A permit's decision is a coded column too: an unknown one is not taken for "none"
        // (which would show the permit as valid).
        let mine = crate::mines::create_mine(&app, &crate::mines::officer(&app, "em.codes2", "EM").await, crate::mines::mine_body("代码矿二", 94)).await;
        let em2 = app.token_for("em.codes2", PASSWORD).await;
        let p: Value = app.post(&format!("/api/v1/mines/{}/permits", mine["id"].as_str().unwrap()), &em2,
            json!({"permit_type": "safety_production", "number": "S-code", "holder": "代码矿业", "issued_on": "2026-01-10", "expires_on": "2029-01-09"})).await.json().await.unwrap();
        let permit_id = p["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/permits/{permit_id}");
        assert_eq!(app.get(&path, &em2).await.status(), 200);
        let target = permit_id.clone();
        app.with_db(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("UPDATE permits SET status_override = 'frozen' WHERE id = '{target}'")).execute(c)?;
            Ok(())
        })
        .await;
        let (status, body) = problem(app.get(&path, &em2).await).await;
        assert_eq!(status, 500, "{body}");
        assert!(!body.to_string().contains("valid"), "{body}");
    }
}

on_both! {
    /// An officer looking at another department's queue sees the leads its own department
    /// is party to, by the lead–department rows: a code that is part of another code
    /// ("MI" inside "MIIT") matches nothing.
    async fn a_department_code_inside_another_sees_nothing_of_it(app) {
        let r = app.post("/api/v1/departments", &app.admin_token, json!({"code": "MI", "name": "区矿业检查所"})).await;
        assert_eq!(r.status(), 201);
        app.create_user("mi.officer", "officer", Some("MI"), None).await;
        app.create_user("miit.officer", "officer", Some("MIIT"), None).await;
        let town = township(&app, "town.sub").await;
        // DRC handles it, MIIT assists.
        let lead = raise(&app, &town, json!({"title": "落后产能", "category": "industrial_policy", "description": "不符合产业政策。"})).await;
        assert_eq!(lead["assisting_departments"], json!(["MIIT"]));
        let mi = app.token_for("mi.officer", PASSWORD).await;
        let seen: Value = app.get("/api/v1/leads?department=DRC", &mi).await.json().await.unwrap();
        assert_eq!(seen["items"].as_array().unwrap().len(), 0, "{seen}");
        let miit = app.token_for("miit.officer", PASSWORD).await;
        let seen: Value = app.get("/api/v1/leads?department=DRC", &miit).await.json().await.unwrap();
        assert_eq!(seen["items"].as_array().unwrap().len(), 1, "the assisting department sees it");
        assert_eq!(seen["items"][0]["id"], lead["id"]);
    }
}

on_both! {
    /// Paging through leads raised within the same instant, at a clock with nanoseconds,
    /// returns each lead exactly once: stored times keep microseconds on both backends, as
    /// the keyset cursor does (SQLite once kept the nanoseconds and repeated rows).
    async fn paging_returns_each_lead_once_when_many_share_an_instant(app) {
        use chrono::TimeZone;
        app.clock.set(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789));
        let town = township(&app, "town.paging").await;
        app.create_user("coord.paging", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("coord.paging", PASSWORD).await;
        const N: usize = 120;
        for i in 0..N {
            raise(&app, &town, dust(&format!("同一时刻第{i}条"))).await;
        }
        for path in ["/api/v1/leads?limit=7", "/api/v1/leads?limit=7&department=EE", "/api/v1/leads?limit=7&township=BEHT"] {
            let mut seen = std::collections::HashSet::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let url = match &cursor {
                    Some(c) => format!("{path}&cursor={c}"),
                    None => path.to_owned(),
                };
                let page: Value = app.get(&url, &coord).await.json().await.unwrap();
                for item in page["items"].as_array().unwrap() {
                    assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "{path}: {} twice", item["number"]);
                }
                pages += 1;
                assert!(pages <= N, "{path}: paging does not end");
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            assert_eq!(seen.len(), N, "{path}");
        }
    }
}

/// Every id on every page of `path`, in order, following the cursors.
async fn page_all(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page: Value = app.get(&url, token).await.json().await.unwrap();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("{path}: paging does not end");
}

async fn longest_raised_at(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct L {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.with_db(|c| {
        Ok(
            diesel::sql_query("SELECT MAX(length(raised_at)) AS n FROM leads")
                .load::<L>(c)?
                .remove(0)
                .n,
        )
    })
    .await
}

/// SQLite rows written before times were cut to microseconds kept nanoseconds; the
/// migration cuts them, after which paging returns each lead once.
#[tokio::test]
async fn old_nanosecond_times_are_cut_to_microseconds_by_a_migration() {
    use chrono::TimeZone;
    use diesel::RunQueryDsl;
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    app.clock.set(
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456),
    );
    let town = township(&app, "town.nanos").await;
    app.create_user("coord.nanos", "coordinator", Some("NR"), None)
        .await;
    let coord = app.token_for("coord.nanos", PASSWORD).await;
    for i in 0..40 {
        raise(&app, &town, dust(&format!("旧数据第{i}条"))).await;
    }
    // As an older version left them: nine digits after the second.
    app.with_db(|c| {
        for (table, columns) in [
            ("leads", ["raised_at", "updated_at", "next_due_at"]),
            (
                "lead_departments",
                ["raised_at", "next_due_at", "next_due_at"],
            ),
        ] {
            for col in columns {
                diesel::sql_query(format!(
                    "UPDATE {table} SET {col} = {col} || '789' WHERE length({col}) = 26"
                ))
                .execute(c)?;
            }
        }
        diesel::sql_query(
            "DELETE FROM __diesel_schema_migrations WHERE version = '20261201000011'",
        )
        .execute(c)?;
        Ok(())
    })
    .await;
    assert_eq!(longest_raised_at(&app).await, 29);
    app.stop().await;
    let again = app.another_instance(|_| {}).await;
    assert_eq!(
        longest_raised_at(&again).await,
        26,
        "the migration cut them"
    );
    for path in [
        "/api/v1/leads?limit=7",
        "/api/v1/leads?limit=7&department=EE",
    ] {
        let ids = page_all(&again, &coord, path).await;
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (40, 40), "{path}");
    }
}

on_both! {
    /// The other lists ordered by a time page exactly too when many rows share an instant
    /// (a clock with nanoseconds): the register by last change, and the notifications.
    async fn time_ordered_lists_return_each_row_once(app) {
        use chrono::TimeZone;
        app.clock.set(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + chrono::Duration::nanoseconds(987_654_321));
        let em = crate::mines::officer(&app, "em.paging", "EM").await;
        for i in 0..30 {
            crate::mines::create_mine(&app, &em, crate::mines::mine_body(&format!("同刻矿山{i}"), i)).await;
        }
        let ids = page_all(&app, &em, "/api/v1/mines?limit=7&sort=-updated_at").await;
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (30, 30), "mines by last change");

        let town = township(&app, "town.notify").await;
        let ee = crate::mines::officer(&app, "ee.paging", "EE").await;
        for i in 0..30 {
            raise(&app, &town, dust(&format!("同刻通知{i}"))).await;
        }
        let ids = page_all(&app, &ee, "/api/v1/notifications?limit=7").await;
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (30, 30), "notifications");
    }
}

on_both! {
    /// A township user's list holds the leads they raised and those of their township, read
    /// as two index ranges and merged: every page in the list's order, each lead once, and
    /// the total right, open and closed, whichever branch a lead comes from or both.
    async fn a_township_users_list_is_what_they_raised_or_of_their_township(app) {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::{lead_departments, leads};
        let moved = app.create_user("town.moved", "township", None, Some("BEHT")).await;
        let moved_token = app.token_for("town.moved", PASSWORD).await;
        let beht = township(&app, "town.stays").await;
        app.create_user("town.kbjd", "township", None, Some("KBJD")).await;
        let kbjd = app.token_for("town.kbjd", PASSWORD).await;
        // Raised a minute apart, by turns, so the branches interleave in deadline order.
        for i in 0..4 {
            raise(&app, &moved_token, dust(&format!("调走前第{i}条"))).await;
            app.clock.advance(Duration::minutes(1));
            raise(&app, &beht, dust(&format!("本镇第{i}条"))).await;
            app.clock.advance(Duration::minutes(1));
            raise(&app, &kbjd, dust(&format!("新镇第{i}条"))).await;
            app.clock.advance(Duration::minutes(1));
        }
        // The user moves to KBJD: the BEHT leads they raised stay theirs, and KBJD's become
        // theirs to see; the ones they raise there are in both branches.
        let id = moved.clone();
        app.with_db(move |c| {
            use minecoord::platform::db::schema::users;
            diesel::update(users::table.find(id)).set(users::township.eq("KBJD")).execute(c)?;
            Ok(())
        })
        .await;
        let moved_token = app.token_for("town.moved", PASSWORD).await;
        for i in 0..3 {
            raise(&app, &moved_token, dust(&format!("调走后第{i}条"))).await;
            app.clock.advance(Duration::minutes(1));
        }
        // Close every other lead as the lists see a closed one (no deadline left).
        app.with_db(|c| {
            let ids: Vec<String> = leads::table.order(leads::raised_at).select(leads::id).load(c)?;
            let closing: Vec<String> = ids.into_iter().step_by(2).collect();
            diesel::update(leads::table.filter(leads::id.eq_any(&closing)))
                .set((leads::next_due_at.eq(None::<chrono::NaiveDateTime>), leads::state.eq("closed")))
                .execute(c)?;
            diesel::update(lead_departments::table.filter(lead_departments::lead_id.eq_any(&closing)))
                .set(lead_departments::next_due_at.eq(None::<chrono::NaiveDateTime>))
                .execute(c)?;
            Ok(())
        })
        .await;
        // What the one OR condition returns, in the list's order.
        let expected_in = |closed: bool, township: Option<&'static str>| {
            let me = moved.clone();
            app.with_db(move |c| {
                let mut q = leads::table
                    .filter(leads::raised_by.eq(me).or(leads::township.eq("KBJD")))
                    .select(leads::id)
                    .into_boxed();
                if let Some(t) = township {
                    q = q.filter(leads::township.eq(t));
                }
                Ok(if closed {
                    q.filter(leads::next_due_at.is_null())
                        .order((leads::raised_at.desc(), leads::id.desc()))
                        .load::<String>(c)?
                } else {
                    q.filter(leads::next_due_at.is_not_null())
                        .order((leads::next_due_at.asc(), leads::id.asc()))
                        .load::<String>(c)?
                })
            })
        };
        let expected = |closed: bool| expected_in(closed, None);
        let open = expected(false).await;
        let closed = expected(true).await;
        // 4 raised in BEHT, 4 of KBJD's user, 3 raised in KBJD: 11, about half closed.
        assert_eq!(open.len() + closed.len(), 11);
        assert!(open.len() >= 4 && closed.len() >= 4, "{open:?} {closed:?}");
        assert_eq!(page_all(&app, &moved_token, "/api/v1/leads?limit=2").await, open);
        assert_eq!(page_all(&app, &moved_token, "/api/v1/leads?state=closed&limit=2").await, closed);
        // The totals on the pages count each lead once.
        for (path, want) in [("/leads", open.len()), ("/leads?state=closed", closed.len())] {
            let html = app.get(path, &moved_token).await.text().await.unwrap();
            assert!(html.contains(&format!("共 {want} 条")), "{path}: {want} expected");
        }
        // Narrowed by a township: their own is the township's leads; another, what they
        // raised there.
        for t in ["KBJD", "BEHT"] {
            for (state, closed) in [("open", false), ("closed", true)] {
                let want = expected_in(closed, Some(t)).await;
                assert!(!want.is_empty(), "{t} {state}");
                let path = format!("/api/v1/leads?township={t}&state={state}&limit=2");
                assert_eq!(page_all(&app, &moved_token, &path).await, want, "{path}");
            }
        }
        // Only what they raised, with the filter.
        let mine = page_all(&app, &moved_token, "/api/v1/leads?raised=mine&limit=2").await;
        let mine_expected: Vec<String> = {
            let me = moved.clone();
            app.with_db(move |c| {
                Ok(leads::table
                    .filter(leads::raised_by.eq(me))
                    .filter(leads::next_due_at.is_not_null())
                    .order((leads::next_due_at.asc(), leads::id.asc()))
                    .select(leads::id)
                    .load::<String>(c)?)
            })
            .await
        };
        assert_eq!(mine, mine_expected);
    }
}
