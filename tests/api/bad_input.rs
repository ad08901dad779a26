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
