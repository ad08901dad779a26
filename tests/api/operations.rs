use crate::helpers::{Backend, TestApp, PASSWORD};
use serde_json::Value;

use crate::on_both;

on_both! {
    /// /healthz and /readyz answer, and readyz says where mail goes.
    async fn health_and_readiness_answer(app) {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["database"], "ok");
        assert!(body["smtp"].as_str().unwrap().contains("outbox"));
    }
}

on_both! {
    /// Every response carries a request id, and /metrics counts requests by route and status.
    async fn metrics_count_requests_by_route_and_status(app) {
        let r = app.get("/api/v1/departments", &app.admin_token).await;
        assert!(r.headers().get("x-request-id").is_some());
        let _ = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
        let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/departments",status="200"}"#), "{text}");
        assert!(text.contains(r#"route="/api/v1/me",status="401""#), "{text}");
        assert!(text.contains("http_request_duration_seconds"), "{text}");
        assert!(text.contains("db_pool_connections"), "{text}");
    }
}

on_both! {
    /// The OpenAPI document is generated from the code and lists every endpoint.
    async fn openapi_lists_every_endpoint(app) {
        let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me", "/api/v1/me/password",
            "/api/v1/users", "/api/v1/users/{id}", "/api/v1/users/{id}/disable", "/api/v1/users/{id}/enable",
            "/api/v1/users/{id}/unlock", "/api/v1/users/{id}/reset-password",
            "/api/v1/departments", "/api/v1/departments/{code}", "/api/v1/townships", "/api/v1/townships/{code}",
            "/api/v1/lead-categories", "/api/v1/lead-categories/{code}", "/api/v1/permit-types",
            "/api/v1/permit-types/{code}", "/api/v1/risk-grades", "/api/v1/calendar/working-days",
            "/api/v1/audit", "/healthz", "/readyz", "/metrics",
            "/api/v1/mines", "/api/v1/mines/{id}", "/api/v1/mines/gaps", "/api/v1/mines/{id}/status",
            "/api/v1/mines/{id}/risk-grade", "/api/v1/mines/{id}/supervisor", "/api/v1/mines/{id}/history",
            "/api/v1/mines/{id}/boundary", "/api/v1/mines/{id}/boundary.svg", "/api/v1/mines/export.xlsx",
            "/api/v1/mines/import", "/api/v1/mines/{id}/permits", "/api/v1/permits", "/api/v1/permits/{id}",
            "/api/v1/permits/{id}/{decision}", "/api/v1/permits/export.xlsx", "/api/v1/prohibited-zones",
            "/api/v1/prohibited-zones/{id}", "/api/v1/notifications", "/api/v1/notifications/{id}/read",
            "/api/v1/notifications/read-all",
        ] {
            assert!(paths.contains_key(p), "openapi lacks {p}");
        }
        assert!(paths["/api/v1/users"].get("post").is_some());
        assert!(paths["/api/v1/users/{id}"].get("patch").is_some());
        assert!(paths["/api/v1/mines/{id}/risk-grade"].get("put").is_some());
        assert!(paths["/api/v1/mines/{id}/boundary"].get("put").is_some());
    }
}

on_both! {
    /// Every operation documents its error answers: 401 wherever signing in is needed, and
    /// every 4xx and 5xx is a problem document, so a generated client can rely on them.
    async fn openapi_documents_the_problem_answers(app) {
        let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        let shared = doc["components"]["responses"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                operations += 1;
                let responses = op["responses"].as_object().unwrap();
                let public = ["/healthz", "/readyz", "/metrics", "/api/v1/me/calendar.ics"].contains(&path.as_str());
                assert_eq!(responses.contains_key("401"), !public, "{method} {path}: 401");
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path}: 404");
                }
                if op.get("requestBody").is_some() {
                    for s in ["400", "422"] {
                        assert!(responses.contains_key(s), "{method} {path}: {s}");
                    }
                }
                for (status, response) in responses {
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    let response = match response["$ref"].as_str() {
                        Some(r) => &shared[r.trim_start_matches("#/components/responses/")],
                        None => response,
                    };
                    let types: Vec<&String> = response["content"].as_object().unwrap().keys().collect();
                    assert_eq!(types, vec!["application/problem+json"], "{method} {path} {status}");
                    assert_eq!(response["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path} {status}");
                }
            }
        }
        assert!(operations > 90, "{operations} operations");
        // And the service answers as documented: an API error is a problem document.
        let r = app.client.get(app.url("/api/v1/mines")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
}

on_both! {
    /// An unknown API address is a 404 problem document; an unknown page is a Chinese page.
    async fn unknown_addresses_are_404(app) {
        let (status, body) = problem(app.get("/api/v1/nothing-here", &app.admin_token).await).await;
        assert_eq!(status, 404);
        assert_eq!(body["type"], "not_found");
        let r = app.client.get(app.url("/no-such-page")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("页面不存在"));
    }
}

/// A signing secret shorter than 32 bytes is refused at start, with the reason.
#[tokio::test]
async fn a_short_signing_secret_is_refused_at_start() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    let mut settings = test_settings(&db);
    settings.auth.jwt_secret = Some("too-short".into());
    let err = minecoord::app::startup::Application::build(
        settings,
        minecoord::platform::clock::ManualClock::new(start_time()),
    )
    .await
    .err()
    .expect("refused");
    assert!(err.contains("至少需要 32 字节"), "{err}");
}

/// With the database gone, requests get 503 problem documents; when it returns, the
/// service recovers by itself. PostgreSQL only: a SQLite file cannot go away like that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_503_and_recovers_postgres() {
    use diesel::{Connection, RunQueryDsl};
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    let moved = format!("{name}_away");
    let admin_url = format!("{}/postgres", pg_base_url());
    let run = |sql: String| {
        let admin_url = admin_url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = diesel::PgConnection::establish(&admin_url).unwrap();
                diesel::sql_query(sql).execute(&mut c).unwrap();
            })
            .await
            .unwrap()
        }
    };
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    run(format!("ALTER DATABASE {name} RENAME TO {moved}")).await;

    let (status, body) = problem(app.get("/api/v1/departments", &app.admin_token).await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "unavailable");
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );

    run(format!("ALTER DATABASE {moved} RENAME TO {name}")).await;
    let r = app.get("/api/v1/departments", &app.admin_token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A PostgreSQL connection used within the last second is lent again without a `SELECT 1`
/// first. When the server drops the connections, at most one request finds out (503); that
/// loss makes the pool check every other connection before lending it, so the requests after
/// it succeed on new connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_dropped_cost_at_most_one_request_postgres() {
    use diesel::{Connection, RunQueryDsl};
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    // Several connections in use at once, so that the pool holds several just used.
    let warm = (0..8).map(|_| app.get("/api/v1/departments", &app.admin_token));
    for r in futures_util::future::join_all(warm).await {
        assert_eq!(r.status(), 200);
    }
    let name = app.db.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = format!("{}/postgres", pg_base_url());
    let dropped = tokio::task::spawn_blocking(move || {
        let mut c = diesel::PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut c)
        .unwrap()
    })
    .await
    .unwrap();
    assert!(dropped > 0, "the service's connections were open");

    let first = app
        .get("/api/v1/departments", &app.admin_token)
        .await
        .status();
    // (the requests after it are sequential: each takes the connection the last handed back,
    // or one that has not been checked since the loss)
    assert!(first == 200 || first == 503, "{first}");
    for n in 0..5 {
        let status = app
            .get("/api/v1/departments", &app.admin_token)
            .await
            .status();
        assert_eq!(status, 200, "request {n} after the first");
    }
}

use crate::helpers::*;

on_both! {
    /// The sign-in secret lives in the key file, not in the database: an old secret left in
    /// the database by an earlier version is removed at start, and a token signed with it
    /// no longer works; a restart with the same key file keeps everyone signed in.
    async fn the_signing_secret_is_not_in_the_database(app) {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::system_settings;
        let key = std::fs::read_to_string(&app.db.key_file).expect("key file written at start");
        assert_eq!(key.trim().len(), 64, "32 random bytes in hex");
        let stored: i64 = app
            .with_db(|c| Ok(system_settings::table.filter(system_settings::key.eq("jwt_secret")).count().get_result(c)?))
            .await;
        assert_eq!(stored, 0);
        // An earlier version's secret in the database, and a token it signed.
        let old = "an-old-secret-kept-in-the-database-0123";
        app.with_db(move |c| {
            diesel::insert_into(system_settings::table)
                .values((system_settings::key.eq("jwt_secret"), system_settings::value.eq(old)))
                .execute(c)?;
            Ok(())
        })
        .await;
        let forged = minecoord::platform::auth::TokenKeys::new(old.as_bytes());
        let (admin_id, version): (String, i32) = app
            .with_db(|c| {
                use minecoord::platform::db::schema::users;
                Ok(users::table
                    .filter(users::username.eq("admin"))
                    .select((users::id, users::token_version))
                    .first(c)?)
            })
            .await;
        let (token, _) = forged
            .issue(&admin_id, "admin", version, minecoord::platform::clock::Clock::now(app.clock.as_ref()), std::time::Duration::from_secs(3600))
            .unwrap();
        app.stop().await;
        let again = app.another_instance(|_| {}).await;
        let stored: i64 = again
            .with_db(|c| Ok(system_settings::table.filter(system_settings::key.eq("jwt_secret")).count().get_result(c)?))
            .await;
        assert_eq!(stored, 0, "the old secret is removed at start");
        assert_eq!(again.get("/api/v1/me", &token).await.status(), 401);
        // Tokens signed with the key file's secret survive the restart.
        assert_eq!(again.get("/api/v1/me", &app.admin_token).await.status(), 200);
    }
}

/// Reads that tolerate lag go to `database.replica_url` and everything else to the primary:
/// with a standby frozen at a snapshot, the register's list, the public list and the
/// statistics show the snapshot while a mine's own page and every write use the primary;
/// with a standby that does not answer, the same reads fall back to the primary.
async fn lag_tolerant_reads_go_to_the_replica(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let em = crate::mines::officer(&app, "em.officer", "EM").await;
    let coord = {
        app.create_user("coord", "coordinator", Some("NR"), None)
            .await;
        app.token_for("coord", PASSWORD).await
    };
    app.create_user("town", "township", None, Some("BEHT"))
        .await;
    let dust = serde_json::json!({"title": "扬尘", "category": "dust", "description": "扬尘。"});
    let town = app.token_for("town", PASSWORD).await;
    crate::leads::raise(&app, &town, dust.clone()).await;
    let before =
        crate::mines::create_mine(&app, &em, crate::mines::mine_body("快照前矿", 41)).await;
    let stats_url = "/api/v1/stats/leads?from=2026-03-01&to=2026-03-31";
    let stats_before: Value = app.get(stats_url, &coord).await.json().await.unwrap();
    let received = |v: &Value| {
        v["departments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["received"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(received(&stats_before), 1);
    app.stop().await;
    let replica = app.db.snapshot();
    let url = replica.url.clone();
    let b = app
        .another_instance(move |s| s.database.replica_url = Some(url))
        .await;
    assert!(b.state.db.has_replica());
    let (em, coord) = (
        b.token_for("em.officer", PASSWORD).await,
        b.token_for("coord", PASSWORD).await,
    );

    let after = crate::mines::create_mine(&b, &em, crate::mines::mine_body("快照后矿", 42)).await;
    let names = |v: Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let list: Value = b.get("/api/v1/mines", &em).await.json().await.unwrap();
    assert_eq!(names(list), vec!["快照前矿"], "the list reads the standby");
    let r = b
        .get(
            &format!("/api/v1/mines/{}", after["id"].as_str().unwrap()),
            &em,
        )
        .await;
    assert_eq!(r.status(), 200, "one mine is read from the primary");
    let r = b
        .get(
            &format!("/api/v1/mines/{}", before["id"].as_str().unwrap()),
            &em,
        )
        .await;
    assert_eq!(r.status(), 200);
    let public = b
        .client
        .get(b.url("/public/mines"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        public.contains("快照前矿") && !public.contains("快照后矿"),
        "the public list reads the standby"
    );
    let town = b.token_for("town", PASSWORD).await;
    crate::leads::raise(&b, &town, dust).await;
    let stats: Value = b.get(stats_url, &coord).await.json().await.unwrap();
    assert_eq!(received(&stats), 1, "the statistics read the standby");
    assert_eq!(stats["departments"], stats_before["departments"]);
    let r = b.get("/api/v1/mines/export.xlsx", &em).await;
    assert_eq!(r.status(), 200);

    // A standby that does not answer: the same reads come from the primary.
    b.stop().await;
    let gone = match backend {
        Backend::Sqlite => "sqlite:///nonexistent-minecoord-dir/replica.db".to_owned(),
        Backend::Postgres => "postgres://postgres@127.0.0.1:1/minecoord".to_owned(),
    };
    let c = b
        .another_instance(move |s| s.database.replica_url = Some(gone))
        .await;
    let (em, coord) = (
        c.token_for("em.officer", PASSWORD).await,
        c.token_for("coord", PASSWORD).await,
    );
    let stats: Value = c.get(stats_url, &coord).await.json().await.unwrap();
    assert_eq!(
        received(&stats),
        2,
        "the primary answers for a missing standby"
    );
    for _ in 0..2 {
        let mut list = names(c.get("/api/v1/mines", &em).await.json().await.unwrap());
        list.sort();
        assert_eq!(
            list,
            vec!["快照前矿", "快照后矿"],
            "the primary answers for a missing standby"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_tolerant_reads_go_to_the_replica_sqlite() {
    lag_tolerant_reads_go_to_the_replica(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_tolerant_reads_go_to_the_replica_postgres() {
    lag_tolerant_reads_go_to_the_replica(Backend::Postgres).await
}
