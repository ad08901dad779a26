//! The pages over plain HTTP: login with the form, CSRF on every form, admin screens.

use crate::on_both;

/// A browser-like client that keeps cookies and does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(app.url("/login?next=/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/users"),
        ])
        .send()
        .await
        .unwrap()
}

on_both! {
    /// Pages need a login; the form signs in with an HttpOnly cookie and returns to the page asked for.
    async fn the_login_form_signs_in_and_returns_to_the_page(app) {
        let client = browser();
        let r = client.get(app.url("/users")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/login?next=/users");

        let r = sign_in(&app, &client, "admin", "wrong-password").await;
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("用户名或密码错误"));

        let r = sign_in(&app, &client, "admin", ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/users");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let html = client.get(app.url("/users")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("用户管理") && html.contains("系统管理员"), "{html}");
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("您好，系统管理员"));
        assert!(!home.contains(r#"<span class="muted">系统管理员"#), "the admin's name is not said twice in the header");
        assert!(home.contains("href=\"/audit\""), "admins see the audit trail in the navigation");
    }
}

on_both! {
    /// The login form refuses a post without its CSRF token and never redirects off-site.
    async fn the_login_form_is_protected(app) {
        let client = browser();
        let r = client.post(app.url("/login")).form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf", "forged")]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&page, "csrf");
        let r = client.post(app.url("/login"))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf", &csrf), ("next", "//evil.example/")])
            .send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/");
    }
}

on_both! {
    /// An admin creates a user through the form; mistakes come back on the form, in Chinese,
    /// with what was typed kept; a form without its CSRF token is refused.
    async fn admin_manages_users_through_the_pages(app) {
        let client = browser();
        sign_in(&app, &client, "admin", ADMIN_PASSWORD).await;
        let form = client.get(app.url("/users/new")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&form, "csrf");

        let r = client.post(app.url("/users/new")).form(&[
            ("csrf", csrf.as_str()), ("username", "qian.yi"), ("password", "short"), ("display_name", "钱一"),
            ("email", ""), ("role", "officer"), ("department", ""), ("township", ""), ("mine_id", ""),
        ]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("密码至少需要 10 个字符"), "{html}");
        assert!(html.contains("部门工作人员必须选择所属部门"), "{html}");
        assert!(html.contains("value=\"qian.yi\""), "what was typed is kept");
        assert_eq!(app.count("users").await, 1);

        let r = client.post(app.url("/users/new")).form(&[
            ("csrf", csrf.as_str()), ("username", "qian.yi"), ("password", PASSWORD), ("display_name", "钱一"),
            ("email", "qianyi@example.gov.cn"), ("role", "officer"), ("department", "EE"), ("township", ""), ("mine_id", ""),
        ]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.ends_with("?ok=created"));
        let detail = client.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
        assert!(detail.contains("已创建") && detail.contains("钱一") && detail.contains("变更记录"), "{detail}");
        assert!(detail.contains(r#"<a href="/users/new">继续新建用户</a>"#), "the next account is a click away");
        assert_eq!(app.login("qian.yi", PASSWORD).await.status(), 200);

        let id = location.trim_start_matches("/users/").trim_end_matches("?ok=created").to_owned();
        let r = client.post(app.url(&format!("/users/{id}/disable"))).form(&[("csrf", "forged")]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(app.login("qian.yi", PASSWORD).await.status(), 200, "the forged form changed nothing");
        let r = client.post(app.url(&format!("/users/{id}/disable"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(app.login("qian.yi", PASSWORD).await.status(), 401);
    }
}

on_both! {
    /// A township user sees reference data read-only and is refused the admin pages.
    async fn non_admins_see_read_only_pages(app) {
        app.create_user("jiezhen", "township", None, Some("KBJD")).await;
        let client = browser();
        sign_in(&app, &client, "jiezhen", PASSWORD).await;
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("昆北街道办事处"), "the header names the user's township");
        assert!(!home.contains("href=\"/users\""));
        let r = client.get(app.url("/users")).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("没有权限"));
        let page = client.get(app.url("/townships/BEHT")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("卜尔汉图镇") && !page.contains("id=\"form-submit\""), "read-only");
        let cal = client.get(app.url("/calendar?from=2026-09-30&days=1")).send().await.unwrap().text().await.unwrap();
        assert!(cal.contains("2026-10-08"), "the working-day calculator answers");
    }
}

on_both! {
    /// Logging out through the page ends the session.
    async fn logging_out_ends_the_page_session(app) {
        let client = browser();
        sign_in(&app, &client, "admin", ADMIN_PASSWORD).await;
        let home = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&home, "csrf");
        let r = client.post(app.url("/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 303);
    }
}

use crate::helpers::*;

on_both! {
    /// After signing in, `next` leads only to a page of this site: a tab, a newline or a
    /// backslash cannot turn it into another site, and nothing answers 500.
    async fn login_never_redirects_off_site(app) {
        for next in ["/\t/evil.example", "//evil.example", "/\\evil.example", "/\n/x", "https://evil.example"] {
            let client = browser();
            let query = serde_urlencoded::to_string([("next", next)]).unwrap();
            let page = client.get(app.url(&format!("/login?{query}"))).send().await.unwrap();
            assert_eq!(page.status(), 200, "{next:?}");
            let csrf = hidden(&page.text().await.unwrap(), "csrf");
            let r = client
                .post(app.url("/login"))
                .form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf", &csrf), ("next", next)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303, "{next:?}");
            assert_eq!(r.headers()["location"], "/", "{next:?}");
        }
    }
}

on_both! {
    /// Every page names the service's icon, and `/favicon.ico` answers with it, not 404.
    async fn the_icon_is_served(app) {
        let login = browser().get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        assert!(login.contains(r#"rel="icon" href="/static/favicon.svg""#));
        for path in ["/favicon.ico", "/static/favicon.svg"] {
            let r = browser().get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.headers()["content-type"], "image/svg+xml");
            assert!(r.text().await.unwrap().starts_with("<svg"));
        }
    }
}

/// The labels of the side menu of a page.
fn menu(page: &str) -> Vec<String> {
    let start = page.find("<nav class=\"side\">").expect("a menu");
    let nav = &page[start..start + page[start..].find("</nav>").unwrap()];
    nav.split("<a href=\"")
        .skip(1)
        .map(|a| {
            a.split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

on_both! {
    /// Each role's menu holds what that role uses: a township seven entries; the reference
    /// data sits behind one 基础数据 entry for the coordination office and admins, and a
    /// township still reads a township's page where a page links to it.
    async fn each_role_has_a_short_menu(app) {
        app.create_user("town.menu", "township", None, Some("BEHT")).await;
        app.create_user("ee.menu", "officer", Some("EE"), None).await;
        app.create_user("coord.menu", "coordinator", Some("NR"), None).await;
        let page = |u: &'static str| { let app = &app; async move {
            let (c, _) = browser_session(app, u, PASSWORD).await;
            (c.get(app.url("/")).send().await.unwrap().text().await.unwrap(), c)
        }};
        let (home, town) = page("town.menu").await;
        assert_eq!(menu(&home), ["首页", "我要吹哨", "问题线索", "矿山台账", "辖区地图", "会商研判", "已关闭矿山巡查"]);
        assert_eq!(town.get(app.url("/townships/BEHT")).send().await.unwrap().status(), 200);
        let (home, _) = page("ee.menu").await;
        assert_eq!(menu(&home), ["首页", "我要吹哨", "问题线索", "矿山台账", "辖区地图", "综合查一次", "会商研判", "督办台账", "关闭退出", "已关闭矿山巡查", "漏管检查", "证照与到期提醒", "禁止开采区", "办理统计"]);
        let (home, coord) = page("coord.menu").await;
        let m = menu(&home);
        assert!(m.contains(&"基础数据".to_owned()) && !m.contains(&"成员单位".to_owned()), "{m:?}");
        let reference = coord.get(app.url("/reference")).send().await.unwrap().text().await.unwrap();
        for href in ["/departments", "/townships", "/lead-categories", "/permit-types", "/calendar"] {
            assert!(reference.contains(&format!("class=\"tile\" href=\"{href}\"")), "{href}");
        }
        let departments = coord.get(app.url("/departments")).send().await.unwrap().text().await.unwrap();
        assert!(departments.contains("href=\"/reference\" class=\"active\""), "the menu marks where one is");
    }
}
