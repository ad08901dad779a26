//! The home page as each person's desk: what waits on them, soonest deadline first, with
//! the time left; it follows the lead as it moves on.

use chrono::Duration;
use serde_json::json;

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

/// The part of the page between a queue's opening tag and the next section.
fn queue<'a>(page: &'a str, key: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"queue-{key}\""))
        .unwrap_or_else(|| panic!("no queue {key} on the page"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

fn count(section: &str) -> i64 {
    let marker = "data-count=\"";
    let i = section.find(marker).unwrap() + marker.len();
    section[i..].split('"').next().unwrap().parse().unwrap()
}

on_both! {
    /// An urgent lead is on EE's desk under 待报到 with the minutes left; past its 30 minutes
    /// it shows as overdue; once reported in it moves to 待核查.
    async fn an_officer_sees_the_urgent_lead_with_its_countdown(app) {
        app.create_user("town.desk", "township", None, Some("BEHT")).await;
        app.create_user("ee.desk", "officer", Some("EE"), None).await;
        let town = app.token_for("town.desk", PASSWORD).await;
        let ee = app.token_for("ee.desk", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "夜间扬尘直排", "category": "dust", "urgency": "urgent", "description": "运输道路扬尘严重。"})).await;
        let number = lead["number"].as_str().unwrap().to_owned();
        let (client, _) = browser_session(&app, "ee.desk", PASSWORD).await;
        let home = || async { client.get(app.url("/")).send().await.unwrap().text().await.unwrap() };
        app.clock.advance(Duration::minutes(4));
        let page = home().await;
        let waiting = queue(&page, "report_in");
        assert_eq!(count(waiting), 1, "{waiting}");
        assert!(waiting.contains(&number) && waiting.contains("夜间扬尘直排"));
        assert!(waiting.contains("剩余 26 分钟"), "{waiting}");
        assert!(waiting.contains("time-left soon") && waiting.contains("data-due="));
        assert!(waiting.contains("紧急") && waiting.contains("生态环境"), "{waiting}");
        assert_eq!(count(queue(&page, "verify")), 0);
        app.clock.advance(Duration::minutes(40));
        let page = home().await;
        assert!(queue(&page, "report_in").contains("已逾期 14 分钟"), "{}", queue(&page, "report_in"));
        let id = lead["id"].as_str().unwrap();
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/acknowledge"), &ee, json!({})).await.status(), 200);
        let page = home().await;
        assert_eq!(count(queue(&page, "report_in")), 0);
        assert_eq!(count(queue(&page, "verify")), 1);
        assert!(queue(&page, "verify").contains(&number));
        // Another department's desk does not hold it.
        app.create_user("em.desk", "officer", Some("EM"), None).await;
        let (em, _) = browser_session(&app, "em.desk", PASSWORD).await;
        let page = em.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains(&number));
        assert_eq!(count(queue(&page, "report_in")), 0);
    }
}

on_both! {
    /// A township starts with 我要吹哨; its whistles are cards; a closed lead waits under
    /// 待评价 until the township has evaluated the department.
    async fn a_township_desk_starts_with_the_whistle(app) {
        app.create_user("town.home", "township", None, Some("BEHT")).await;
        app.create_user("drc.home", "officer", Some("DRC"), None).await;
        let town = app.token_for("town.home", PASSWORD).await;
        let drc = app.token_for("drc.home", PASSWORD).await;
        let (client, _) = browser_session(&app, "town.home", PASSWORD).await;
        let home = || async { client.get(app.url("/")).send().await.unwrap().text().await.unwrap() };
        let page = home().await;
        assert!(page.contains(r#"id="raise-lead" href="/leads/new""#), "the big button");
        assert_eq!(count(queue(&page, "raised")), 0);
        let lead = raise(&app, &town, json!({"title": "选址紧邻水源地", "category": "industrial_policy", "description": "选址紧邻水源地。"})).await;
        let id = lead["id"].as_str().unwrap();
        let number = lead["number"].as_str().unwrap().to_owned();
        let page = home().await;
        assert!(queue(&page, "raised").contains(&number));
        assert_eq!(count(queue(&page, "evaluate")), 0);
        for (step, body) in [("acknowledge", json!({})), ("verify", json!({"substantiated": false, "note": "不属实"})), ("close", json!({"note": "已告知"}))] {
            assert_eq!(app.post(&format!("/api/v1/leads/{id}/{step}"), &drc, body).await.status(), 200, "{step}");
        }
        let page = home().await;
        assert!(queue(&page, "evaluate").contains(&number), "{}", queue(&page, "evaluate"));
        assert_eq!(count(queue(&page, "raised")), 0, "no longer open");
        assert_eq!(app.post(&format!("/api/v1/leads/{id}/evaluate"), &town, json!({"verdict": "satisfied"})).await.status(), 200);
        assert_eq!(count(queue(&home().await, "evaluate")), 0);
    }
}

on_both! {
    /// The coordination office sees what waits for it to divide and the day's figures; the
    /// administrator sees the mail that could not be delivered and locked accounts.
    async fn the_office_and_the_admin_have_their_own_desks(app) {
        app.create_user("town.co", "township", None, Some("BEHT")).await;
        app.create_user("coord.home", "coordinator", Some("NR"), None).await;
        let town = app.token_for("town.co", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "说不清归谁管", "category": "other", "description": "山坡上有人在挖。"})).await;
        raise(&app, &town, json!({"title": "扬尘", "category": "dust", "description": "扬尘。"})).await;
        let (client, _) = browser_session(&app, "coord.home", PASSWORD).await;
        let page = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let dispatch = queue(&page, "dispatch");
        assert_eq!(count(dispatch), 1, "{dispatch}");
        assert!(dispatch.contains(lead["number"].as_str().unwrap()));
        assert!(page.contains("今日吹哨"));
        let figures = &page[page.find("id=\"figures\"").unwrap()..];
        assert!(figures.contains("<strong>2</strong><span>今日吹哨</span>"), "{figures}");
        assert!(!page.contains("id=\"watch\""), "the office does not run the system");

        // Five wrong passwords lock an account; the admin's desk lists it.
        for _ in 0..5 {
            app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "town.co", "password": "wrong password 1"})).send().await.unwrap();
        }
        let (admin, _) = browser_session(&app, "admin", ADMIN_PASSWORD).await;
        let page = admin.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"watch\"") && page.contains("id=\"dead-letters\">0<"), "{page}");
        assert!(page.contains("id=\"locked-accounts\"") && page.contains("town.co"), "{page}");
        assert!(!page.contains("id=\"raise-lead\""), "admins do not blow whistles");
    }
}

on_both! {
    /// A head gives a lead to one of the department's officers, who finds it under 我的待办
    /// and is told; only the head may, and only to the department's own staff.
    async fn a_head_assigns_a_lead_to_an_officer(app) {
        app.create_user("town.as", "township", None, Some("BEHT")).await;
        app.create_user("ee.head", "head", Some("EE"), None).await;
        app.create_user("ee.wang", "officer", Some("EE"), None).await;
        app.create_user("em.li", "officer", Some("EM"), None).await;
        let town = app.token_for("town.as", PASSWORD).await;
        let head = app.token_for("ee.head", PASSWORD).await;
        let wang = app.token_for("ee.wang", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "洗砂废水外排", "category": "dust", "description": "扬尘。"})).await;
        let id = lead["id"].as_str().unwrap();
        let url = format!("/api/v1/leads/{id}/assign");
        assert_eq!(app.post(&url, &wang, json!({"assignee": "ee.wang"})).await.status(), 403, "an officer does not assign");
        let (status, body) = problem(app.post(&url, &head, json!({"assignee": "em.li"})).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), ["assignee"]);
        let (status, body) = problem(app.post(&url, &head, json!({"assignee": "nobody.here"})).await).await;
        assert_eq!(status, 422, "{body}");
        let before = app.count("notifications").await;
        let (status, v) = problem(app.post(&url, &head, json!({"assignee": "ee.wang", "note": "请今天到现场"})).await).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["assignee_id"].is_string());
        assert!(v["assignee_name"].as_str().unwrap().contains("ee.wang"), "{v}");
        assert!(v["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "assigned"));
        assert_eq!(app.count("notifications").await, before + 1, "the officer is told");
        let mine: serde_json::Value = app.get("/api/v1/leads?assigned=me", &wang).await.json().await.unwrap();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        let theirs: serde_json::Value = app.get("/api/v1/leads?assigned=me", &head).await.json().await.unwrap();
        assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
        let (client, _) = browser_session(&app, "ee.wang", PASSWORD).await;
        let page = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(queue(&page, "mine").contains("洗砂废水外排"));
        // The head's page offers the assignment with the department's staff only.
        let (client, _) = browser_session(&app, "ee.head", PASSWORD).await;
        let page = client.get(app.url(&format!("/leads/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("action=\"/leads/{id}/assign\"")), "{page}");
        assert!(!page.contains("em.li"));
        // Taken back: nobody's in particular.
        let v: serde_json::Value = app.post(&url, &head, json!({"assignee": ""})).await.json().await.unwrap();
        assert!(v["assignee_id"].is_null());
    }
}

on_both! {
    /// The district map draws a graded mine in its grade's colour and a lead at its place,
    /// each a link to its page; the legend counts them; another township's map leaves them
    /// out.
    async fn the_map_shows_a_mine_coloured_by_grade_and_a_lead(app) {
        use crate::boundaries::{licensed_mine, square};
        use crate::mines::officer;
        let em = officer(&app, "em.map", "EM").await;
        let nr = officer(&app, "nr.map", "NR").await;
        let mine_id = licensed_mine(&app, &em, &nr, "地图矿", 961, &square(4_502_300.0, 415_300.0, 600.0)).await;
        let grade = json!({"risk_grade": "major", "reason": "年度评估", "assessment": "2026年安全风险评估报告"});
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/risk-grade"), &em, grade).await.status(), 200);
        let m: serde_json::Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        let ring = m["boundary"]["rings_lonlat"][0].as_array().unwrap();
        let (lon, lat) = ring.iter().take(4).fold((0.0, 0.0), |(a, b), p| (a + p[0].as_f64().unwrap() / 4.0, b + p[1].as_f64().unwrap() / 4.0));
        app.create_user("town.map", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.map", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "夜间偷采", "category": "safety_violation", "description": "夜间作业。", "location": {"lon": lon, "lat": lat}})).await;
        let (client, _) = browser_session(&app, "town.map", PASSWORD).await;
        let page = client.get(app.url("/map")).send().await.unwrap().text().await.unwrap();
        let map = &page[page.find("id=\"map\"").expect("a map")..];
        assert!(map.contains(&format!(r#"<a href="/mines/{mine_id}"><path"#)), "{map}");
        assert!(map.contains(r##"fill="#c62828" fill-opacity"##), "major is red: {map}");
        assert!(map.contains(&format!(r#"<a href="/leads/{}"><circle"#, lead["id"].as_str().unwrap())));
        assert!(map.contains("地图矿（D级 · 重大风险）"));
        let legend = &page[page.find("id=\"legend\"").unwrap()..];
        assert!(legend.contains("D级 · 重大风险") && legend.contains("线索：已分派"), "{legend}");
        assert!(!page.contains("stroke-dasharray"), "nothing closed yet");
        // The lead's own page draws where it is, on the mine's boundary.
        let page = client.get(app.url(&format!("/leads/{}", lead["id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("问题地点示意图") && page.contains("<circle"), "{page}");
                // Another township's map leaves out what is not its own.
        let other = client.get(app.url("/map?township=KBJD")).send().await.unwrap().text().await.unwrap();
        assert!(!other.contains("地图矿") && other.contains("id=\"map-empty\""), "{other}");
    }
}

on_both! {
    /// The map is served as GeoJSON in longitude / latitude: the graded mine's boundary in
    /// its grade's colour around the place it was recorded, the lead as a point, each with
    /// its page; a township filter narrows it, and a filter no township can have is refused.
    async fn the_map_is_geojson_in_longitude_and_latitude(app) {
        use crate::boundaries::{licensed_mine, square};
        use crate::mines::officer;
        let em = officer(&app, "em.gj", "EM").await;
        let nr = officer(&app, "nr.gj", "NR").await;
        let mine_id = licensed_mine(&app, &em, &nr, "坐标矿", 962, &square(4_502_300.0, 415_300.0, 600.0)).await;
        let grade = json!({"risk_grade": "major", "reason": "年度评估", "assessment": "2026年安全风险评估报告"});
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/risk-grade"), &em, grade).await.status(), 200);
        let m: serde_json::Value = app.get(&format!("/api/v1/mines/{mine_id}"), &em).await.json().await.unwrap();
        let corner = m["boundary"]["rings_lonlat"][0][0].clone();
        app.create_user("town.gj", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.gj", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "越界开采", "category": "safety_violation", "description": "越界。", "location": {"lon": corner[0], "lat": corner[1]}})).await;

        let res = app.get("/api/v1/map", &em).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/geo+json");
        assert_eq!(res.headers()["x-map-cut"], "false");
        let map: serde_json::Value = res.json().await.unwrap();
        assert_eq!(map["type"], "FeatureCollection");
        let features = map["features"].as_array().unwrap();
        let mine = features.iter().find(|f| f["properties"]["href"] == format!("/mines/{mine_id}")).expect("the mine");
        assert_eq!(mine["geometry"]["type"], "MultiPolygon");
        assert_eq!(mine["properties"]["colour"], "#c62828", "major is red");
        assert_eq!(mine["properties"]["label"], "坐标矿（D级 · 重大风险）");
        let first = &mine["geometry"]["coordinates"][0][0][0];
        let near = |a: &serde_json::Value, b: &serde_json::Value| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6;
        assert!(mine["geometry"]["coordinates"][0][0].as_array().unwrap().iter().any(|p| near(&p[0], &corner[0]) && near(&p[1], &corner[1])), "the recorded corner {corner} is on the outline starting {first}");
        let point = features.iter().find(|f| f["properties"]["href"] == format!("/leads/{}", lead["id"].as_str().unwrap())).expect("the lead");
        assert_eq!(point["geometry"]["type"], "Point");
        assert!(near(&point["geometry"]["coordinates"][0], &corner[0]) && near(&point["geometry"]["coordinates"][1], &corner[1]), "{point}");

        let other: serde_json::Value = app.get("/api/v1/map?township=kbjd", &em).await.json().await.unwrap();
        assert!(other["features"].as_array().unwrap().is_empty(), "{other}");
        let long = app.get(&format!("/api/v1/map?township={}", "X".repeat(40)), &em).await;
        assert_eq!(long.status(), 422);
        assert_eq!(fields(&long.json().await.unwrap()), ["township"]);
        let unknown = app.get("/api/v1/map?colour=red", &em).await;
        assert_eq!(unknown.status(), 422);

        // The page carries the same features for the web map, beside its SVG.
        let (client, _) = browser_session(&app, "town.gj", PASSWORD).await;
        let page = client.get(app.url("/map")).send().await.unwrap().text().await.unwrap();
        let data = &page[page.find("class=\"webmap-data\">").expect("map data") + 20..];
        let data: serde_json::Value = serde_json::from_str(&data[..data.find("</script>").unwrap()]).unwrap();
        assert!(data["features"].as_array().unwrap().iter().any(|f| f["properties"]["href"] == format!("/mines/{mine_id}")), "{data}");
        assert!(page.contains(r#"<script src="/static/leaflet.js" defer>"#));
        let js = client.get(app.url("/static/leaflet.js")).send().await.unwrap();
        assert_eq!(js.status(), 200);
        assert!(js.text().await.unwrap().contains("Leaflet 1.9.4"));

        // The township's raise form draws its area to pick the place on: the mine's outline
        // and the open lead (drawn with the reads, through one projection).
        let form = client.get(app.url("/leads/new")).send().await.unwrap().text().await.unwrap();
        let pick = &form[form.find("<svg").expect("the area map")..];
        let pick = &pick[..pick.find("</svg>").unwrap()];
        assert!(pick.contains("坐标矿") && pick.contains("<path") && pick.contains("<circle"), "{pick}");
    }
}
