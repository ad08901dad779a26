//! Boundaries: corner points from a licence, the three checks, prohibited zones, the drawing.

use serde_json::{json, Value};

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

/// A square block of `side` metres with its south-west corner at (northing, easting), as a
/// licence prints it: point number, X (northing), Y (easting with the zone number 37).
pub fn square(northing: f64, easting: f64, side: f64) -> String {
    let pts = [
        (northing + side, easting),
        (northing + side, easting + side),
        (northing, easting + side),
        (northing, easting),
    ];
    pts.iter()
        .enumerate()
        .map(|(i, (x, y))| format!("{}, {:.2}, {:.2}", i + 1, x, 37_000_000.0 + y))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn licensed_mine(
    app: &TestApp,
    em: &str,
    nr: &str,
    name: &str,
    serial: u32,
    corners: &str,
) -> String {
    let mine = create_mine(app, em, mine_body(name, serial)).await;
    let id = mine["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/api/v1/mines/{id}/permits"), nr, json!({"permit_type": "mining_licence", "number": format!("C15-{serial}"),
        "holder": format!("{name}有限公司"), "issued_on": "2024-01-01", "expires_on": "2030-12-31"})).await;
    assert_eq!(r.status(), 201);
    let r = app.put(&format!("/api/v1/mines/{id}/boundary"), nr, json!({"corner_points": corners, "elevation_top": 1300.0, "elevation_bottom": 1200.0, "reason": "采矿许可证新立"})).await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 200, "{body}");
    id
}

on_both! {
    /// NR records a boundary from the licence's corner points; overlaps with licensed mines,
    /// neighbours closer than 300 m and prohibited zones are reported with figures.
    async fn boundaries_are_checked_against_neighbours_and_zones(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let a = licensed_mine(&app, &em, &nr, "甲矿", 901, &square(4_503_000.0, 415_000.0, 500.0)).await;
        let m: Value = app.get(&format!("/api/v1/mines/{a}"), &em).await.json().await.unwrap();
        let b = &m["boundary"];
        assert_eq!(b["zone"], 37);
        assert_eq!(b["area_m2"], 250000.0);
        assert_eq!(b["area_km2"], 0.25);
        assert_eq!(b["elevation_top_m"], 1300.0);
        let lonlat = &b["rings_lonlat"][0][0];
        assert!(lonlat[0].as_f64().unwrap() > 109.9 && lonlat[0].as_f64().unwrap() < 110.1, "{lonlat}");
        assert_eq!(m["boundary_checks"]["overlaps"], json!([]));

        // A zone imported as corner points, then a second mine overlapping 甲 by 100 m and
        // reaching into the zone, and a third mine 200 m east of 甲.
        let zone: Value = app.post("/api/v1/prohibited-zones", &nr, json!({"name": "大青山自然保护区（试验区）", "kind": "nature_reserve",
            "corner_points": square(4_502_300.0, 415_300.0, 600.0)})).await.json().await.unwrap();
        assert_eq!(zone["kind_label"], "自然保护区");
        let second = create_mine(&app, &em, mine_body("乙矿", 902)).await;
        let b_id = second["id"].as_str().unwrap();
        let r = app.put(&format!("/api/v1/mines/{b_id}/boundary"), &nr, json!({"corner_points": square(4_502_700.0, 415_100.0, 400.0)})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 200, "{body}");
        let checks = &body["boundary_checks"];
        assert_eq!(checks["overlaps"][0]["mine_id"], a);
        assert_eq!(checks["overlaps"][0]["area_m2"], 100.0 * 400.0, "a 100 m × 400 m strip");
        assert_eq!(checks["prohibited_zones"][0]["zone_name"], "大青山自然保护区（试验区）");
        assert_eq!(checks["prohibited_zones"][0]["area_m2"], 200.0 * 200.0);
        let third = create_mine(&app, &em, mine_body("丙矿", 903)).await;
        let c_id = third["id"].as_str().unwrap();
        let body: Value = app.put(&format!("/api/v1/mines/{c_id}/boundary"), &nr, json!({"corner_points": square(4_503_000.0, 415_700.0, 300.0)})).await.json().await.unwrap();
        let close: Vec<&Value> = body["boundary_checks"]["too_close"].as_array().unwrap().iter().collect();
        assert!(close.iter().any(|c| c["mine_id"] == a && c["distance_m"] == 200.0), "{close:?}");
        assert_eq!(body["boundary_checks"]["min_distance_m"], 300.0);

        // The drawing shows the mine and its neighbours.
        let svg = app.get(&format!("/api/v1/mines/{a}/boundary.svg"), &em).await.text().await.unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("甲矿") && svg.contains("乙矿") && svg.contains("大青山"), "{svg}");
        let history: Value = app.get(&format!("/api/v1/mines/{a}/history"), &em).await.json().await.unwrap();
        assert!(history.to_string().contains("采矿许可证新立"));
    }
}

on_both! {
    /// Bad rings, wrong zones and wrong departments are refused with a clear reason.
    async fn bad_boundaries_are_refused(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let m = create_mine(&app, &em, mine_body("坏范围矿", 910)).await;
        let path = format!("/api/v1/mines/{}/boundary", m["id"].as_str().unwrap());
        let (status, _) = problem(app.put(&path, &em, json!({"corner_points": square(4_503_000.0, 415_000.0, 100.0)})).await).await;
        assert_eq!(status, 403, "EM does not record mining-right boundaries");
        let cases = [
            ("1, 4503000, 38415000\n2, 4503000, 38415500\n3, 4502500, 38415500", "带号是 38"),
            ("1, 4503000, 37415000\n2, 4503000, 37415500", "至少需要 3 个"),
            ("1,4503000,37415000\n2,4503000,37415500\n3,4502500,37415000\n4,4502500,37415500", "自相交"),
            ("1, 415000, 4503000\n2, 415500, 4503000\n3, 415500, 4502500", "写反"),
        ];
        for (text, expected) in cases {
            let (status, body) = problem(app.put(&path, &nr, json!({"corner_points": text})).await).await;
            assert_eq!(status, 422, "{text}");
            assert_eq!(fields(&body), vec!["corner_points"]);
            assert!(body["errors"][0]["message"].as_str().unwrap().contains(expected), "{body}");
        }
        let (status, body) = problem(app.put(&path, &nr, json!({"corner_points": square(4_503_000.0, 415_000.0, 100.0), "elevation_top": 1000.0, "elevation_bottom": 1100.0})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["elevation_bottom"]);
        let (status, _) = problem(app.put(&path, &nr, json!({"geojson": {"type": "Point", "coordinates": [110, 40]}})).await).await;
        assert_eq!(status, 422);
        assert_eq!(app.count("mine_boundaries").await, 0);
        // GeoJSON in longitude / latitude is accepted.
        let r = app.put(&path, &nr, json!({"geojson": {"type": "Polygon", "coordinates": [[[109.84, 40.66], [109.845, 40.66], [109.845, 40.664], [109.84, 40.66]]]}})).await;
        assert_eq!(r.status(), 200);
        let zones: Value = app.get("/api/v1/prohibited-zones", &em).await.json().await.unwrap();
        assert_eq!(zones["items"], json!([]));
    }
}

use crate::helpers::*;

on_both! {
    /// An NR officer pastes the licence's corner points on the mine page and sees the drawing
    /// and the checks; prohibited zones are imported on their page.
    async fn boundaries_through_the_pages(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let _nr = officer(&app, "nr.page", "NR").await;
        let mine = create_mine(&app, &em, mine_body("页面范围矿", 920)).await;
        let id = mine["id"].as_str().unwrap();
        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        client.post(app.url("/login")).form(&[("username", "nr.page"), ("password", PASSWORD), ("csrf", &hidden(&login, "csrf"))]).send().await.unwrap();
        let zones = client.get(app.url("/prohibited-zones")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&zones, "csrf");
        let r = client.post(app.url("/prohibited-zones")).form(&[("csrf", csrf.as_str()), ("name", "红线区"), ("kind", "ecological_redline"), ("corner_points", &square(4_503_200.0, 415_200.0, 1000.0))]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let r = client.post(app.url(&format!("/mines/{id}/boundary"))).form(&[("csrf", csrf.as_str()), ("corner_points", "1, 4503000, 38415000"), ("elevation_top", ""), ("elevation_bottom", ""), ("reason", "")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("带号是 38"));
        let r = client.post(app.url(&format!("/mines/{id}/boundary"))).form(&[("csrf", csrf.as_str()), ("corner_points", &square(4_503_000.0, 415_000.0, 500.0)), ("elevation_top", "1300"), ("elevation_bottom", "1200"), ("reason", "新立")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = client.get(app.url(&format!("/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("<svg") && page.contains("矿区范围核查") && page.contains("0.2500 平方公里"), "{page}");
        assert!(page.contains("位于禁止开采区内") && page.contains("红线区"), "the 300 m × 300 m corner inside the red line: {page}");
        assert!(page.contains("变更矿区范围"));
    }
}

on_both! {
    /// An enterprise sees its own mine's outline and nothing of its neighbours (names,
    /// outlines, overlaps, distances): the neighbour may be an illegal site under
    /// investigation. The register's readers see them.
    async fn an_enterprise_sees_its_own_outline_only(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let nr = officer(&app, "nr.officer", "NR").await;
        let own = licensed_mine(&app, &em, &nr, "自家矿", 941, &square(4_503_000.0, 415_000.0, 500.0)).await;
        licensed_mine(&app, &em, &nr, "隔壁在查矿", 942, &square(4_503_000.0, 415_600.0, 500.0)).await;
        let r = app.post("/api/v1/users", &app.admin_token, json!({"username": "qiye", "password": PASSWORD, "must_change_password": false, "display_name": "企业联络员", "role": "enterprise", "mine_id": own})).await;
        assert_eq!(r.status(), 201);
        let firm = app.token_for("qiye", PASSWORD).await;
        let svg = app.get(&format!("/api/v1/mines/{own}/boundary.svg"), &firm).await.text().await.unwrap();
        assert!(svg.contains("自家矿") && !svg.contains("隔壁在查矿"), "{svg}");
        let m: Value = app.get(&format!("/api/v1/mines/{own}"), &firm).await.json().await.unwrap();
        assert!(m["boundary"].is_object());
        assert_eq!(m["boundary_checks"], Value::Null, "{m}");
        let page = app.client.get(app.url(&format!("/mines/{own}"))).bearer_auth(&firm).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("自家矿") && !page.contains("隔壁在查矿"), "the mine page either");
        let svg = app.get(&format!("/api/v1/mines/{own}/boundary.svg"), &em).await.text().await.unwrap();
        assert!(svg.contains("隔壁在查矿"), "the register's readers see the neighbour");
        let m: Value = app.get(&format!("/api/v1/mines/{own}"), &em).await.json().await.unwrap();
        assert!(m["boundary_checks"]["too_close"].to_string().contains("distance_m"), "{m}");
    }
}
