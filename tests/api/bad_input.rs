use serde_json::json;

use crate::on_both;

on_both! {
    /// Malformed JSON, wrong types, unknown and missing fields: 4xx naming the field.
    async fn malformed_bodies_name_the_problem(app) {
        let send = |body: &'static str| {
            app.client.post(app.url("/api/v1/townships")).bearer_auth(&app.admin_token)
                .header("content-type", "application/json").body(body).send()
        };
        let (status, body) = problem(send("{\"code\": \"AB\",").await.unwrap()).await;
        assert_eq!(status, 400);
        assert_eq!(body["type"], "bad_request");
        let (status, body) = problem(send("{\"code\": \"AB\", \"name\": 5}").await.unwrap()).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["name"]);
        let (status, body) = problem(send("{\"code\": \"AB\", \"name\": \"x\", \"mayor\": \"y\"}").await.unwrap()).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["mayor"]);
        let (status, body) = problem(send("").await.unwrap()).await;
        assert_eq!(status, 400);
        assert!(body["detail"].as_str().unwrap().contains("请求体为空"));
        let (status, body) = problem(app.post("/api/v1/auth/login", "", json!({"username": "admin"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["password"]);
        let (status, body) = problem(app.post("/api/v1/lead-categories", &app.admin_token, json!({"code": "abc", "name": "x", "primary_department": "EE", "assisting_departments": "EM"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["assisting_departments"]);
        assert_eq!(app.count("townships").await, 2, "nothing half-written");
    }
}

on_both! {
    /// An oversized body is a 413 problem and writes nothing; a non-JSON body is a 415.
    async fn oversized_and_wrong_type_bodies_are_refused(app) {
        let big = format!("{{\"code\": \"BIG\", \"name\": \"{}\"}}", "镇".repeat(200_000));
        let r = app.client.post(app.url("/api/v1/townships")).bearer_auth(&app.admin_token)
            .header("content-type", "application/json").body(big).send().await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 413);
        assert_eq!(body["type"], "payload_too_large");
        let r = app.client.post(app.url("/api/v1/townships")).bearer_auth(&app.admin_token)
            .header("content-type", "text/plain").body("code=AB").send().await.unwrap();
        assert_eq!(problem(r).await.0, 415);
        assert_eq!(app.count("townships").await, 2);
    }
}

on_both! {
    /// Unknown ids are 404 problem documents, whatever their shape.
    async fn unknown_ids_are_404(app) {
        for path in ["/api/v1/users/not-a-uuid", "/api/v1/users/00000000-0000-0000-0000-000000000000", "/api/v1/departments/XX", "/api/v1/townships/%27%3B--"] {
            let (status, body) = problem(app.get(path, &app.admin_token).await).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(body["type"], "not_found");
        }
        let (status, _) = problem(app.patch("/api/v1/users/nobody", &app.admin_token, json!({"display_name": "x"})).await).await;
        assert_eq!(status, 404);
    }
}

use crate::helpers::*;

on_both! {
    /// Extreme and malformed dates are refused with the field named, on every endpoint that
    /// takes a date; nothing is written, and the lists that compute with dates still answer.
    /// (A tailings pond evaluated on +262142-12-31 once made every mine list panic.)
    async fn extreme_dates_are_refused_everywhere(app) {
        use crate::mines::{create_mine, mine_body, officer};
        let em = officer(&app, "em.officer", "EM").await;
        let mut pond = mine_body("边界尾矿库", 91);
        pond["mine_type"] = json!("tailings_pond");
        let mine = create_mine(&app, &em, pond).await;
        let id = mine["id"].as_str().unwrap().to_owned();
        let mines_before = app.count("mines").await;
        let extremes = ["+262142-12-31", "-262143-01-01", "262142-12-31", "0000-01-01", "1949-09-30", "9999-12-31", "2077-01-01", "2026-13-01", "20260301", "2026-03-01T00:00:00"];
        for d in extremes {
            let mut body = mine_body("边界新矿", 92);
            body["last_inspected_on"] = json!(d);
            let (status, b) = problem(app.post("/api/v1/mines", &em, body).await).await;
            assert_eq!((status, fields(&b)), (422, vec!["last_inspected_on".to_owned()]), "{d}: {b}");
            let (status, b) = problem(app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"tailings_evaluated_on": d})).await).await;
            assert_eq!((status, fields(&b)), (422, vec!["tailings_evaluated_on".to_owned()]), "{d}: {b}");
            let (status, b) = problem(app.put(&format!("/api/v1/mines/{id}/risk-grade"), &em, json!({"risk_grade": "major", "reason": "复评", "assessed_on": d})).await).await;
            assert_eq!((status, fields(&b)), (422, vec!["assessed_on".to_owned()]), "{d}: {b}");
            let (status, b) = problem(app.post(&format!("/api/v1/mines/{id}/permits"), &em, json!({"permit_type": "safety_production", "number": "边界-1", "holder": "x", "issued_on": d})).await).await;
            assert_eq!((status, fields(&b)), (422, vec!["issued_on".to_owned()]), "{d}: {b}");
            let (status, b) = problem(app.post(&format!("/api/v1/mines/{id}/permits"), &em, json!({"permit_type": "safety_production", "number": "边界-2", "holder": "x", "issued_on": "2026-01-10", "expires_on": d})).await).await;
            assert_eq!((status, fields(&b)), (422, vec!["expires_on".to_owned()]), "{d}: {b}");
            let q = d.replace('+', "%2B");
            for path in [format!("/api/v1/stats/leads?from={q}"), format!("/api/v1/stats/leads?from=2026-01-01&to={q}"), format!("/api/v1/calendar/working-days?from={q}&days=3")] {
                let (status, b) = problem(app.get(&path, &em).await).await;
                assert_eq!(status, 422, "{path}: {b}");
            }
        }
        assert_eq!(app.count("mines").await, mines_before);
        assert_eq!(app.count("permits").await, 0);
        let r = app.patch(&format!("/api/v1/mines/{id}"), &em, json!({"tailings_evaluated_on": "2026-03-03"})).await;
        assert_eq!(r.status(), 422, "an evaluation is a fact: not in the future");
        let r = app.post(&format!("/api/v1/mines/{id}/permits"), &em, json!({"permit_type": "safety_production", "number": "边界-3", "holder": "x", "issued_on": "2026-01-10", "expires_on": "2029-01-09"})).await;
        assert_eq!(r.status(), 201);
        for path in ["/api/v1/mines", "/api/v1/mines/gaps", &format!("/api/v1/mines/{id}"), "/api/v1/permits?expiring_within_days=3650", "/mines"] {
            assert_eq!(app.get(path, &em).await.status(), 200, "{path}");
        }
    }
}
