use serde_json::{json, Value};

use crate::on_both;

on_both! {
    /// An admin creates an officer bound to a department; the record is in the database.
    async fn admin_creates_an_officer_of_a_department(app) {
        let r = app.post("/api/v1/users", &app.admin_token, json!({
            "username": "  Chen.Qi ", "password": PASSWORD, "display_name": "陈七",
            "email": "ChenQi@Example.gov.cn", "role": "officer", "department": "EM"
        })).await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["username"], "chen.qi");
        assert_eq!(body["email"], "chenqi@example.gov.cn");
        assert_eq!(body["department"], "EM");
        assert_eq!(body["role_label"], "部门工作人员");
        assert_eq!(app.count("users").await, 2);
        let token = app.token_for("chen.qi", PASSWORD).await;
        let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["id"], body["id"]);
    }
}

on_both! {
    /// Each role must be bound to its unit, and only to its unit.
    async fn roles_must_be_bound_to_their_unit(app) {
        let base = |role: &str| json!({"username": "u1x", "password": PASSWORD, "display_name": "某人", "role": role});
        let cases: Vec<(Value, &str)> = vec![
            (base("officer"), "department"),
            (base("head"), "department"),
            (base("township"), "township"),
            (base("enterprise"), "mine_id"),
            ({ let mut b = base("coordinator"); b["department"] = json!("EM"); b }, "department"),
            ({ let mut b = base("officer"); b["department"] = json!("NOPE"); b }, "department"),
            ({ let mut b = base("admin"); b["township"] = json!("BEHT"); b }, "township"),
            ({ let mut b = base("township"); b["township"] = json!("ZZZ"); b }, "township"),
            ({ let mut b = base("enterprise"); b["mine_id"] = json!("not-a-uuid"); b }, "mine_id"),
            ({ let mut b = base("ranger"); b["department"] = json!("EM"); b }, "role"),
        ];
        for (body, field) in cases {
            let (status, problem_body) = problem(app.post("/api/v1/users", &app.admin_token, body.clone()).await).await;
            assert_eq!(status, 422, "{body}");
            assert!(fields(&problem_body).contains(&field.to_owned()), "{body} -> {problem_body}");
        }
        assert_eq!(app.count("users").await, 1, "nothing was written");
        // The coordination office's coordinator is accepted.
        app.create_user("xietiao", "coordinator", Some("NR"), None).await;
    }
}

on_both! {
    /// Username, password, name and email are checked together and all errors named.
    async fn account_fields_are_validated(app) {
        let (status, body) = problem(app.post("/api/v1/users", &app.admin_token, json!({
            "username": "a b", "password": "abcdefghijkl", "display_name": " ", "email": "not-an-email", "role": "officer", "department": "EM"
        })).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["username", "password", "display_name", "email"]);
        assert_eq!(body["type"], "validation");
        app.create_user("dup.user", "officer", Some("EM"), None).await;
        let (status, body) = problem(app.post("/api/v1/users", &app.admin_token, json!({
            "username": "DUP.user", "password": PASSWORD, "display_name": "重名", "role": "officer", "department": "EE"
        })).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["username"]);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("已被使用"));
    }
}

on_both! {
    /// Lists filter by role, department and text, and page with a cursor without gaps.
    async fn user_list_filters_and_pages(app) {
        for i in 0..5 {
            app.create_user(&format!("em{i}"), "officer", Some("EM"), None).await;
        }
        app.create_user("ee0", "officer", Some("EE"), None).await;
        app.create_user("town0", "township", None, Some("KBJD")).await;
        let body: Value = app.get("/api/v1/users?department=EM&limit=2", &app.admin_token).await.json().await.unwrap();
        let mut names: Vec<String> = body["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
        let mut cursor = body["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = cursor {
            let page: Value = app.get(&format!("/api/v1/users?department=EM&limit=2&cursor={c}"), &app.admin_token).await.json().await.unwrap();
            names.extend(page["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()));
            cursor = page["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(names, vec!["em0", "em1", "em2", "em3", "em4"]);
        let body: Value = app.get("/api/v1/users?role=township", &app.admin_token).await.json().await.unwrap();
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        let body: Value = app.get("/api/v1/users?q=%E6%B5%8B%E8%AF%95ee", &app.admin_token).await.json().await.unwrap();
        assert_eq!(body["items"][0]["username"], "ee0", "search by display name 测试ee");
        let (status, body) = problem(app.get("/api/v1/users?limit=0", &app.admin_token).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["limit"]);
        let (status, body) = problem(app.get("/api/v1/users?colour=red", &app.admin_token).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["colour"]);
    }
}

on_both! {
    /// Edits need the current version; a stale one is a 409 and changes nothing.
    async fn stale_edits_are_refused(app) {
        let id = app.create_user("sun.ba", "officer", Some("EM"), None).await;
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"display_name": "孙八", "version": 1})).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["version"], 2);
        let (status, body) = problem(app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"display_name": "别人改的", "version": 1})).await).await;
        assert_eq!(status, 409);
        assert_eq!(body["type"], "conflict");
        let now: Value = app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(now["display_name"], "孙八");
    }
}

on_both! {
    /// A new role ends the sessions issued under the old one; the binding is re-checked.
    async fn changing_the_role_ends_old_sessions(app) {
        let id = app.create_user("zhou.jiu", "officer", Some("EE"), None).await;
        let token = app.token_for("zhou.jiu", PASSWORD).await;
        let (status, body) = problem(app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"role": "township"})).await).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"township".to_owned()));
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"role": "township", "department": "", "township": "BEHT"})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
        let me: Value = app.get("/api/v1/me", &app.token_for("zhou.jiu", PASSWORD).await).await.json().await.unwrap();
        assert_eq!(me["role"], "township");
        assert_eq!(me["department"], Value::Null);
    }
}

on_both! {
    /// An admin resets a password: old sessions end, the new password works.
    async fn admin_resets_a_password(app) {
        let id = app.create_user("wu.shi", "officer", Some("MIIT"), None).await;
        let token = app.token_for("wu.shi", PASSWORD).await;
        let (status, body) = problem(app.post(&format!("/api/v1/users/{id}/reset-password"), &app.admin_token, json!({"password": "wu.shi-2026-x"})).await).await;
        assert_eq!(status, 422, "a password holding the username is refused");
        assert_eq!(fields(&body), vec!["password"]);
        assert_eq!(app.post(&format!("/api/v1/users/{id}/reset-password"), &app.admin_token, json!({"password": "Fresh-pass-2026"})).await.status(), 200);
        assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
        assert_eq!(app.login("wu.shi", "Fresh-pass-2026").await.status(), 200);
    }
}

on_both! {
    /// An account an admin created answers nothing but its own account page until the
    /// person has set a password of their own; the pages lead there; an admin's reset asks
    /// again (unless the admin says it need not).
    async fn a_person_sets_their_own_password_before_anything_else(app) {
        let body = json!({"username": "qian.new", "password": PASSWORD, "display_name": "钱新", "role": "officer", "department": "EE"});
        let created: Value = app.post("/api/v1/users", &app.admin_token, body).await.json().await.unwrap();
        assert_eq!(created["must_change_password"], true, "an admin's password is the admin's: {created}");
        let id = created["id"].as_str().unwrap().to_owned();
        let r = app.login("qian.new", PASSWORD).await;
        let signed: Value = r.json().await.unwrap();
        assert_eq!(signed["user"]["must_change_password"], true);
        let token = signed["access_token"].as_str().unwrap().to_owned();
        let (status, held) = problem(app.get("/api/v1/leads", &token).await).await;
        assert_eq!(status, 403);
        assert!(held["detail"].as_str().unwrap().contains("请先修改密码"), "{held}");
        assert_eq!(app.get("/api/v1/me", &token).await.status(), 200, "one's own account still answers");

        // In the browser every page leads to the account page, which says why.
        let (client, csrf) = browser_session(&app, "qian.new", PASSWORD).await;
        for path in ["/", "/leads", "/mines"] {
            let r = client.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 303, "{path}");
            assert_eq!(r.headers()["location"], "/account?first=1", "{path}");
        }
        let page = client.get(app.url("/account?first=1")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("管理员设置的初始密码") && page.contains("修改密码"), "{page}");
        assert!(!page.contains("href=\"/leads\""), "no menu to pages that are not open yet");
        let r = client.post(app.url("/account/email")).form(&[("csrf", csrf.as_str()), ("email", "qian@qs.gov.cn")]).send().await.unwrap();
        assert_eq!(r.status(), 403, "no other form either");
        let r = client.post(app.url("/account")).form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD), ("new_password", "Qian-own-2026"), ("confirm_password", "Qian-own-2026")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let token = app.token_for("qian.new", "Qian-own-2026").await;
        assert_eq!(app.get("/api/v1/leads", &token).await.status(), 200, "open once the password is the person's own");
        let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["must_change_password"], false);

        // A reset by the admin asks again; the admin may say it need not.
        assert_eq!(app.post(&format!("/api/v1/users/{id}/reset-password"), &app.admin_token, json!({"password": "Reset-pass-2026"})).await.status(), 200);
        let token = app.token_for("qian.new", "Reset-pass-2026").await;
        assert_eq!(app.get("/api/v1/leads", &token).await.status(), 403);
        let r = app.post(&format!("/api/v1/users/{id}/reset-password"), &app.admin_token, json!({"password": "Reset-pass-2027", "must_change_password": false})).await;
        assert_eq!(r.status(), 200);
        let token = app.token_for("qian.new", "Reset-pass-2027").await;
        assert_eq!(app.get("/api/v1/leads", &token).await.status(), 200);
        let changed: i64 = app.count("audit_log WHERE entity_type = 'user' AND action = 'reset_password'").await;
        assert_eq!(changed, 3, "the person's change and both resets are in the audit trail");
    }
}

on_both! {
    /// An admin cannot disable or demote their own account, so the system keeps an admin.
    async fn admins_cannot_lock_themselves_out(app) {
        let me: Value = app.get("/api/v1/me", &app.admin_token).await.json().await.unwrap();
        let id = me["id"].as_str().unwrap();
        let (status, _) = problem(app.post(&format!("/api/v1/users/{id}/disable"), &app.admin_token, json!({})).await).await;
        assert_eq!(status, 409);
        let (status, body) = problem(app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"role": "officer", "department": "EM"})).await).await;
        assert_eq!(status, 422);
        assert!(fields(&body).contains(&"role".to_owned()));
    }
}

use crate::helpers::*;

on_both! {
    /// Anyone changes their own email on the account page or through the API; a bad
    /// address is named and nothing changes; the change is on the audit trail.
    async fn one_changes_ones_own_email(app) {
        app.create_user("ee.mail", "officer", Some("EE"), None).await;
        let (client, csrf) = browser_session(&app, "ee.mail", PASSWORD).await;
        let page = client.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"action="/account/email""#), "{page}");
        let r = client.post(app.url("/account/email")).form(&[("csrf", csrf.as_str()), ("email", "不是邮箱")]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let r = client.post(app.url("/account/email")).form(&[("csrf", csrf.as_str()), ("email", "Wang@EE.qs.gov.cn")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/account?ok=email");
        let token = app.token_for("ee.mail", PASSWORD).await;
        let me: serde_json::Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
        assert_eq!(me["email"], "wang@ee.qs.gov.cn");
        let r = app.put("/api/v1/me/email", &token, serde_json::json!({"email": "x@"})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), ["email"]);
        let r = app.put("/api/v1/me/email", &token, serde_json::json!({"email": ""})).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["email"].is_null());
        let audit: serde_json::Value = app.get(&format!("/api/v1/audit?entity=user&entity_id={}", me["id"].as_str().unwrap()), &app.admin_token).await.json().await.unwrap();
        assert!(audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "update").count() >= 2);
    }
}

on_both! {
    /// Account search finds username and name substrings, case aside, from the trigram index
    /// (three characters or more) and by scan (fewer), and follows a changed name.
    async fn user_search_finds_substrings_by_index_and_by_scan(app) {
        let id = app.create_user("Zhang.San", "officer", Some("EM"), None).await;
        app.create_user("li.si", "officer", Some("EE"), None).await;
        let search = |q: &'static str| {
            let app = &app;
            async move {
                let body: Value = app.get(&format!("/api/v1/users?q={q}"), &app.admin_token).await.json().await.unwrap();
                let mut n: Vec<String> = body["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
                n.sort();
                n
            }
        };
        assert_eq!(search("zhang").await, vec!["zhang.san"], "username (stored in lower case)");
        assert_eq!(search("ZH").await, vec!["zhang.san"], "two characters");
        assert_eq!(search("%E6%B5%8B%E8%AF%95li").await, vec!["li.si"], "name 测试li.si");
        assert_eq!(search("%E6%B5%8B%E8%AF%95").await, vec!["li.si", "zhang.san"], "two Chinese characters");
        let r = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"display_name": "张三丰"})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(search("%E5%BC%A0%E4%B8%89%E4%B8%B0").await, vec!["zhang.san"], "new name 张三丰");
        assert_eq!(search("%E6%B5%8B%E8%AF%95Zhang").await, Vec::<String>::new(), "old name gone");
        let (status, body) = problem(app.get(&format!("/api/v1/users?q={}", "a".repeat(101)), &app.admin_token).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["q"]);
    }
}
