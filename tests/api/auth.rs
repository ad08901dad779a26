use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both;

on_both! {
    /// Login returns a Bearer token for /api/v1/me; the user object never has the hash.
    async fn login_issues_a_token_that_identifies_the_user(app) {
        let r = app.login("admin", ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 8 * 3600);
        assert!(body["user"].get("password_hash").is_none() && body["user"].get("password").is_none());
        let me: Value = app.get("/api/v1/me", body["access_token"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!(me["username"], "admin");
        assert_eq!(me["role"], "admin");
        // The bootstrap admin's password is stored as an argon2id hash.
        let hash: String = app.with_db(|c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::users;
            Ok(users::table.filter(users::username.eq("admin")).select(users::password_hash).first(c)?)
        }).await;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
    }
}

on_both! {
    /// Wrong password and unknown user get the same 401; usernames are case-insensitive.
    async fn wrong_credentials_are_refused_alike(app) {
        let (s1, b1) = problem(app.login("admin", "wrong-password-1").await).await;
        let (s2, b2) = problem(app.login("nobody", "wrong-password-1").await).await;
        assert_eq!((s1, s2), (401, 401));
        assert_eq!(b1["detail"], b2["detail"]);
        assert_eq!(app.login("ADMIN", ADMIN_PASSWORD).await.status(), 200);
        let (status, body) = problem(app.login("", "").await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["username", "password"]);
    }
}

on_both! {
    /// Five wrong passwords lock the account (429) even for the right password, admins see
    /// the lock, and it lifts by itself after the lockout or when an admin unlocks it.
    async fn repeated_failures_lock_the_account_for_a_while(app) {
        let id = app.create_user("zhang.san", "officer", Some("EM"), None).await;
        for _ in 0..4 {
            assert_eq!(app.login("zhang.san", "Wrong-pass-123").await.status(), 401);
        }
        let r = app.login("zhang.san", "Wrong-pass-123").await;
        assert_eq!(r.status(), 429);
        assert!(r.headers().get("retry-after").is_some());
        let (status, body) = problem(app.login("zhang.san", PASSWORD).await).await;
        assert_eq!(status, 429);
        assert_eq!(body["type"], "rate_limited");
        let view: Value = app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.json().await.unwrap();
        assert!(view["locked_until"].is_string(), "admins see the lock: {view}");

        app.clock.advance(Duration::minutes(16));
        assert_eq!(app.login("zhang.san", PASSWORD).await.status(), 200);

        for _ in 0..5 {
            app.login("zhang.san", "Wrong-pass-123").await;
        }
        assert_eq!(app.login("zhang.san", PASSWORD).await.status(), 429);
        let r = app.post(&format!("/api/v1/users/{id}/unlock"), &app.admin_token, json!({})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.login("zhang.san", PASSWORD).await.status(), 200);
        // The lock is on the record.
        let audit: Value = app.get(&format!("/api/v1/audit?entity=user&entity_id={id}"), &app.admin_token).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"lock") && actions.contains(&"unlock"), "{actions:?}");
    }
}

/// One source address that keeps failing is refused for the window, whatever the username.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_keeps_failing_is_throttled_sqlite() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| s.auth.source_max_failures = 3).await
    else {
        return;
    };
    for i in 0..3 {
        assert_eq!(
            app.login(&format!("user{i}"), "Wrong-pass-123")
                .await
                .status(),
            401
        );
    }
    let (status, body) = problem(app.login("admin", ADMIN_PASSWORD).await).await;
    assert_eq!(status, 429);
    assert!(body["detail"].as_str().unwrap().contains("地址"));
    app.clock.advance(Duration::minutes(16));
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 200);
}

on_both! {
    /// Logging out revokes every token of that user at once.
    async fn logout_revokes_tokens_at_once(app) {
        app.create_user("li.si", "officer", Some("EE"), None).await;
        let t1 = app.token_for("li.si", PASSWORD).await;
        let t2 = app.token_for("li.si", PASSWORD).await;
        assert_eq!(app.get("/api/v1/me", &t2).await.status(), 200);
        assert_eq!(app.post("/api/v1/auth/logout", &t1, json!({})).await.status(), 204);
        assert_eq!(app.get("/api/v1/me", &t1).await.status(), 401);
        assert_eq!(app.get("/api/v1/me", &t2).await.status(), 401);
        assert_eq!(app.get("/api/v1/me", &app.token_for("li.si", PASSWORD).await).await.status(), 200);
    }
}

on_both! {
    /// Disabling a user ends their sessions and stops new logins; enabling restores login.
    async fn disabling_a_user_revokes_and_blocks_login(app) {
        let id = app.create_user("wang.wu", "township", None, Some("BEHT")).await;
        let token = app.token_for("wang.wu", PASSWORD).await;
        assert_eq!(app.post(&format!("/api/v1/users/{id}/disable"), &app.admin_token, json!({})).await.status(), 200);
        assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
        let (status, body) = problem(app.login("wang.wu", PASSWORD).await).await;
        assert_eq!(status, 401);
        assert!(body["detail"].as_str().unwrap().contains("停用"));
        assert_eq!(app.post(&format!("/api/v1/users/{id}/enable"), &app.admin_token, json!({})).await.status(), 200);
        assert_eq!(app.login("wang.wu", PASSWORD).await.status(), 200);
    }
}

on_both! {
    /// Tokens expire by the service's clock; a forged or garbled token is refused.
    async fn expired_and_forged_tokens_are_refused(app) {
        let token = app.token_for("admin", ADMIN_PASSWORD).await;
        app.clock.advance(Duration::hours(8) + Duration::seconds(1));
        let (status, body) = problem(app.get("/api/v1/me", &token).await).await;
        assert_eq!(status, 401);
        assert!(body["detail"].as_str().unwrap().contains("过期"));
        let fresh = app.token_for("admin", ADMIN_PASSWORD).await;
        let mut forged = fresh.clone();
        forged.pop();
        forged.push(if fresh.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(app.get("/api/v1/me", &forged).await.status(), 401);
        assert_eq!(app.get("/api/v1/me", "not-a-token").await.status(), 401);
    }
}

on_both! {
    /// A cookie session may read the API, but a write without the CSRF header is refused.
    async fn cookie_sessions_need_the_csrf_header_to_write(app) {
        let token = app.token_for("admin", ADMIN_PASSWORD).await;
        let cookie = format!("mc_session={token}");
        let r = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.client.post(app.url("/api/v1/townships")).header("cookie", &cookie)
            .json(&json!({"code": "XJZ", "name": "新街镇"})).send().await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 403);
        assert!(body["detail"].as_str().unwrap().contains("CSRF"));
        assert_eq!(app.count("townships").await, 2, "nothing was written");
    }
}

on_both! {
    /// Changing one's own password needs the current one and meets the policy.
    async fn changing_ones_own_password(app) {
        app.create_user("zhao.liu", "head", Some("AGRI"), None).await;
        let token = app.token_for("zhao.liu", PASSWORD).await;
        let (status, body) = problem(app.post("/api/v1/me/password", &token, json!({"current_password": "nope", "new_password": "Another-pass-2026"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["current_password"]);
        let (status, body) = problem(app.post("/api/v1/me/password", &token, json!({"current_password": PASSWORD, "new_password": "short"})).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["new_password"]);
        let r = app.post("/api/v1/me/password", &token, json!({"current_password": PASSWORD, "new_password": "Another-pass-2026"})).await;
        assert_eq!(r.status(), 204);
        assert_eq!(app.login("zhao.liu", PASSWORD).await.status(), 401);
        assert_eq!(app.login("zhao.liu", "Another-pass-2026").await.status(), 200);
    }
}

use crate::helpers::*;

on_both! {
    settings = |s| { s.auth.source_max_failures = 1000; };
    /// Twenty wrong passwords at once: each is counted (the counter is incremented in the
    /// database, not read and written back), so no more than four are answered as a plain
    /// failure before the account locks, and the right password is then refused too.
    async fn parallel_failures_are_each_counted(app) {
        app.create_user("li.si", "officer", Some("EM"), None).await;
        let attempts = (0..20).map(|_| app.login("li.si", "Wrong-pass-123"));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.status().as_u16())
            .collect();
        let plain = statuses.iter().filter(|s| **s == 401).count();
        assert!(plain <= 4, "{plain} guesses answered before the lock: {statuses:?}");
        assert!(statuses.iter().all(|s| matches!(s, 401 | 429)), "{statuses:?}");
        assert_eq!(app.login("li.si", PASSWORD).await.status(), 429);
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 3; s.http.behind_proxy = true; };
    /// Behind a trusted proxy the source is the last X-Forwarded-For entry, which the proxy
    /// writes; rotating `Forwarded` or the entries before the last does not evade the limit,
    /// and one office's failures do not lock out another address.
    async fn the_source_is_the_proxys_last_hop_not_what_the_client_claims(app) {
    let login = |user: &str, password: &str, forwarded: String, xff: String| {
        let (url, body) = (app.url("/api/v1/auth/login"), json!({"username": user, "password": password}));
        let client = app.client.clone();
        async move {
            client.post(url).header("Forwarded", forwarded).header("X-Forwarded-For", xff).json(&body).send().await.unwrap()
        }
    };
    for i in 0..3 {
        let r = login(&format!("nobody{i}"), "Wrong-pass-123", format!("for=192.0.2.{i}"), format!("198.51.100.{i}, 10.0.0.7")).await;
        assert_eq!(r.status(), 401);
    }
    let (status, body) = problem(login("admin", ADMIN_PASSWORD, "for=192.0.2.99".into(), "203.0.113.5, 10.0.0.7".into()).await).await;
    assert_eq!(status, 429, "the same last hop is the same source: {body}");
    assert!(body["detail"].as_str().unwrap().contains("地址"));
    let r = login("admin", ADMIN_PASSWORD, "for=10.0.0.7".into(), "10.0.0.8".into()).await;
    assert_eq!(r.status(), 200, "another office is not locked out by a spoofed Forwarded");
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 3; };
    /// Without a proxy configured, X-Forwarded-For is the client's word and is ignored.
    async fn without_a_proxy_forwarded_headers_are_ignored(app) {
    for i in 0..3 {
        let r = app.client.post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .header("Forwarded", format!("for=192.0.2.{i}"))
            .json(&json!({"username": format!("nobody{i}"), "password": "Wrong-pass-123"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 429);
    }
}

on_both! {
    /// Guessing the current password on the change-password form counts towards the same
    /// lock as the login form: five wrong guesses lock the account.
    async fn wrong_current_passwords_lock_the_account_too(app) {
        app.create_user("wang.wu", "officer", Some("EM"), None).await;
        let token = app.token_for("wang.wu", PASSWORD).await;
        let guess = || app.post("/api/v1/me/password", &token, json!({"current_password": "Wrong-pass-123", "new_password": "Another-pass-2026"}));
        for _ in 0..4 {
            let (status, body) = problem(guess().await).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(fields(&body), vec!["current_password"]);
        }
        assert_eq!(guess().await.status(), 429, "the fifth guess locks");
        assert_eq!(guess().await.status(), 429, "and stays locked");
        assert_eq!(app.login("wang.wu", PASSWORD).await.status(), 429, "the login form too");
        app.clock.advance(Duration::minutes(16));
        assert_eq!(app.login("wang.wu", PASSWORD).await.status(), 200);
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 1000; };
    /// A username that does not exist answers exactly like a real one: four plain failures,
    /// then the lock, so nobody learns which usernames exist by guessing.
    async fn unknown_usernames_answer_like_real_ones(app) {
        app.create_user("zhao.liu", "officer", Some("EM"), None).await;
        let mut answers = Vec::new();
        for name in ["zhao.liu", "nobody.here"] {
            let mut seen = Vec::new();
            for _ in 0..6 {
                let (status, body) = problem(app.login(name, "Wrong-pass-123").await).await;
                seen.push((status, body["type"].as_str().unwrap_or("").to_owned(), body["detail"].as_str().unwrap_or("").to_owned()));
            }
            answers.push(seen);
        }
        let shape = |s: &Vec<(u16, String, String)>| s.iter().map(|(st, ty, d)| (*st, ty.clone(), d.chars().take(8).collect::<String>())).collect::<Vec<_>>();
        assert_eq!(shape(&answers[0]), shape(&answers[1]), "{answers:?}");
        assert_eq!(answers[1][3].0, 401);
        assert_eq!(answers[1][4].0, 429);
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 1000; s.http.behind_proxy = true; };
    /// A stranger's guesses lock the account, but the owner signing in with the right
    /// password from an address that has not failed lifts the lock; the stranger's own
    /// address stays refused.
    async fn the_owner_lifts_a_lock_a_stranger_caused(app) {
        app.create_user("sun.qi", "officer", Some("EM"), None).await;
        let from = |xff: &'static str, password: &'static str| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
            async move {
                client.post(url).header("X-Forwarded-For", xff)
                    .json(&json!({"username": "sun.qi", "password": password}))
                    .send().await.unwrap().status().as_u16()
            }
        };
        for _ in 0..5 {
            from("10.9.9.9", "Wrong-pass-123").await;
        }
        assert_eq!(from("10.9.9.9", PASSWORD).await, 429, "the stranger's address meets the lock");
        assert_eq!(from("10.1.1.1", PASSWORD).await, 200, "the owner's clean address lifts it");
        assert_eq!(from("10.9.9.9", PASSWORD).await, 200, "and the account is open again");
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 20; };
    /// 150 wrong passwords at once from one address: attempts in flight count towards the
    /// address's limit before any hashing, so no more than 20 are checked at all; the rest
    /// are refused at once (429, or 503 when the password queue is full).
    async fn a_parallel_burst_from_one_address_is_mostly_refused_before_hashing(app) {
        let attempts = (0..150).map(|i| app.login_owned(format!("nobody{i}"), "Wrong-pass-123"));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts).await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert!(checked <= 20, "{checked} passwords checked: {statuses:?}");
        assert!(statuses.iter().all(|s| matches!(s, 401 | 429 | 503)), "{statuses:?}");
    }
}

on_both! {
    settings = |s| { s.auth.source_max_failures = 1000; s.http.behind_proxy = true; };
    /// Guesses at one username spread over many addresses meet the same bound before any
    /// hashing: no more than the account's failure limit are checked at once, the rest are
    /// refused at once with 429; once the burst is over the owner signs in as before.
    async fn a_burst_at_one_username_from_many_addresses_is_bounded(app) {
        app.create_user("zhou.ba", "officer", Some("EM"), None).await;
        let attempts = (0..40).map(|i| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
            async move {
                let r = client.post(url).header("X-Forwarded-For", format!("10.8.0.{i}"))
                    .json(&json!({"username": "Zhou.Ba", "password": "Wrong-pass-123"}))
                    .send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.text().await.unwrap())
            }
        });
        let answers = futures_util::future::join_all(attempts).await;
        assert!(answers.iter().all(|(s, _)| matches!(s, 401 | 429 | 503)), "{answers:?}");
        let refused = answers.iter().filter(|(s, b)| *s == 429 && b.contains("登录尝试过多")).count();
        assert!(refused > 0, "attempts beyond the bound are refused before hashing: {answers:?}");
        // The burst locked the account (five failures); the owner's clean address lifts it.
        let r = app.client.post(app.url("/api/v1/auth/login")).header("X-Forwarded-For", "10.1.1.1")
            .json(&json!({"username": "zhou.ba", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
}
