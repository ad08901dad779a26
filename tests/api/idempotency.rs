use serde_json::{json, Value};

use crate::on_both;

async fn create_township(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/townships"))
        .bearer_auth(&app.admin_token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

on_both! {
    /// A retried create with the same Idempotency-Key returns the first response and creates nothing new.
    async fn a_retry_with_the_same_key_creates_nothing_new(app) {
        let audit_before = app.count("audit_log").await;
        let first = create_township(&app, "k-1", json!({"code": "HXZ", "name": "红星镇"})).await;
        assert_eq!(first.status(), 201);
        let first_body: Value = first.json().await.unwrap();
        let again = create_township(&app, "k-1", json!({"code": "HXZ", "name": "红星镇"})).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first_body);
        assert_eq!(app.count("townships").await, 3);
        assert_eq!(app.count("audit_log").await, audit_before + 1);

        let (status, body) = problem(create_township(&app, "k-1", json!({"code": "QTZ", "name": "其他镇"})).await).await;
        assert_eq!(status, 409, "the same key for another request is refused");
        assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
        // Without a key a repeat is simply a duplicate.
        let (status, _) = problem(app.post("/api/v1/townships", &app.admin_token, json!({"code": "HXZ", "name": "红星镇"})).await).await;
        assert_eq!(status, 422);

        let r = app.client.post(app.url("/api/v1/users")).bearer_auth(&app.admin_token).header("Idempotency-Key", "u-1")
            .json(&json!({"username": "idem.user", "password": PASSWORD, "must_change_password": false, "display_name": "幂等", "role": "township", "township": "HXZ"})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let r2 = app.client.post(app.url("/api/v1/users")).bearer_auth(&app.admin_token).header("Idempotency-Key", "u-1")
            .json(&json!({"username": "idem.user", "password": PASSWORD, "must_change_password": false, "display_name": "幂等", "role": "township", "township": "HXZ"})).send().await.unwrap();
        assert_eq!(r2.status(), 201);
        assert_eq!(app.count("users").await, 2);
    }
}

on_both! {
    /// Retries racing each other still create one record, and all get the same answer.
    async fn racing_retries_create_one_record(app) {
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let client = app.client.clone();
            let url = app.url("/api/v1/lead-categories");
            let token = app.admin_token.clone();
            tasks.push(tokio::spawn(async move {
                let r = client.post(url).bearer_auth(token).header("Idempotency-Key", "race-1")
                    .json(&json!({"code": "blasting", "name": "违规爆破", "primary_department": "EM"})).send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }));
        }
        let mut bodies = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 201, "{body}");
            bodies.push(body);
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(app.count("lead_categories WHERE code = 'blasting'").await, 1);
    }
}

on_both! {
    /// A malformed key is a field error.
    async fn a_malformed_key_is_refused(app) {
        let (status, body) = problem(create_township(&app, "", json!({"code": "ABC", "name": "某镇"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["Idempotency-Key"]);
    }
}

use crate::helpers::*;
