//! One real browser: headless Chromium driven over WebDriver by Debian's chromedriver.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use crate::on_both;

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

async fn start_driver() -> Option<Driver> {
    let Some(driver) = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]) else {
        skip_or_fail("chromedriver is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    if find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]).is_none() {
        skip_or_fail("chromium is not installed (apt-get install chromium)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    // Wait until the driver accepts connections (bounded).
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(Driver { child, port });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not start");
}

/// Waits (bounded) until the browser has navigated to a URL containing `part`.
async fn wait_for_url(
    c: &fantoccini::Client,
    part: &str,
) -> Result<(), fantoccini::error::CmdError> {
    for _ in 0..100 {
        if c.current_url().await?.as_str().contains(part) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the browser never reached a page with {part}: {}",
        c.current_url().await?
    );
}

async fn browser(driver: &Driver, data_dir: &std::path::Path) -> fantoccini::Client {
    browser_sized(driver, data_dir, "1280,1000").await
}

/// A browser with a window of `size` ("390,844" is a phone).
async fn browser_sized(
    driver: &Driver,
    data_dir: &std::path::Path,
    size: &str,
) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), serde_json::json!({
        "binary": find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]).unwrap(),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", format!("--window-size={size}"), format!("--user-data-dir={}", data_dir.display())]
    }));
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver")
}

on_both! {
    /// An officer of 区应急局 registers a mine in the browser, sets its grade and supervisor,
    /// and the public page and the placard show them.
    async fn an_em_officer_registers_a_mine_and_the_placard_shows_it(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("em.browser", "officer", Some("EM"), None).await;
        let data_dir = tempfile::tempdir().unwrap();
        let c = browser(&driver, data_dir.path()).await;
        let code = crate::mines::credit_code(777);
        let result = async {
            c.goto(&app.url("/mines/new")).await?;
            c.wait().for_element(Locator::Id("username")).await?.send_keys("em.browser").await?;
            c.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            c.find(Locator::Id("login-submit")).await?.click().await?;
            c.wait().for_element(Locator::Id("f-name")).await?.send_keys("浏览器测试砂石矿").await?;
            c.find(Locator::Id("f-enterprise_name")).await?.send_keys("浏览器测试矿业有限公司").await?;
            c.find(Locator::Id("f-credit_code")).await?.send_keys(&code).await?;
            c.find(Locator::Id("f-township")).await?.select_by_value("KBJD").await?;
            // The tailings fields come only with 尾矿库, and go again with another type.
            let height = c.find(Locator::Id("f-tailings_dam_height_m")).await?;
            let before = height.is_displayed().await?;
            c.find(Locator::Id("f-mine_type")).await?.select_by_value("tailings_pond").await?;
            let pond = height.is_displayed().await?;
            c.find(Locator::Id("f-mine_type")).await?.select_by_value("sand_gravel").await?;
            assert!(!before && pond && !height.is_displayed().await?, "tailings fields follow the mine type");
            c.find(Locator::Id("f-mineral")).await?.send_keys("建筑用石料").await?;
            c.find(Locator::Id("f-mining_method")).await?.select_by_value("open_pit").await?;
            c.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&c, "ok=created").await?;
            c.wait().for_element(Locator::XPath("//summary[contains(., '确定风险等级')]")).await?.click().await?;
            c.wait().for_element(Locator::Id("risk-grade-risk_grade")).await?.select_by_value("significant").await?;
            c.find(Locator::Id("risk-grade-reason")).await?.send_keys("首次定级").await?;
            c.find(Locator::Css("form[action$='/risk-grade'] button")).await?.click().await?;
            wait_for_url(&c, "ok=grade").await?;
            c.wait().for_element(Locator::XPath("//summary[contains(., '确定日常安全监管部门')]")).await?.click().await?;
            c.wait().for_element(Locator::Id("supervisor-department")).await?.select_by_value("EM").await?;
            c.find(Locator::Id("supervisor-reason")).await?.send_keys("露天矿山日常监管").await?;
            c.find(Locator::Css("form[action$='/supervisor'] button")).await?.click().await?;
            wait_for_url(&c, "ok=supervisor").await?;
            c.wait().for_element(Locator::LinkText("公示页面")).await?.click().await?;
            let public = c.wait().for_element(Locator::Css("main")).await?.text().await?;
            c.find(Locator::LinkText("打印井口公示牌")).await?.click().await?;
            let grade = c.wait().for_element(Locator::Id("placard-grade")).await?.text().await?;
            let supervisor = c.find(Locator::Id("placard-supervisor")).await?.text().await?;
            let qr = c.find(Locator::Css("#placard-qr svg")).await.is_ok();
            Ok::<_, fantoccini::error::CmdError>((public, grade, supervisor, qr))
        }.await;
        let _ = c.close().await;
        let (public, grade, supervisor, qr) = result.expect("browser flow");
        assert!(public.contains("浏览器测试砂石矿") && public.contains("C级 · 较大风险") && public.contains("区应急局"), "{public}");
        assert_eq!(grade, "C级 · 较大风险（橙）");
        assert_eq!(supervisor, "区应急局");
        assert!(qr, "the placard carries a QR code");
    }
}

on_both! {
    /// A person opens the site in Chromium, signs in through the page and sees the home page.
    async fn a_person_signs_in_with_a_real_browser(app) {
        let Some(driver) = start_driver().await else { return };
        let mut caps = serde_json::Map::new();
        let data_dir = tempfile::tempdir().unwrap();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({
            "binary": find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]).unwrap(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=390,844", format!("--user-data-dir={}", data_dir.path().display())]
        }));
        let client = ClientBuilder::rustls().expect("tls").capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port)).await.expect("connect to chromedriver");
        let result = async {
            client.goto(&app.url("/")).await?;
            client.wait().for_element(Locator::Id("username")).await?.send_keys("admin").await?;
            client.find(Locator::Id("password")).await?.send_keys(ADMIN_PASSWORD).await?;
            client.find(Locator::Id("login-submit")).await?.click().await?;
            let welcome = client.wait().for_element(Locator::Id("welcome")).await?.text().await?;
            let user = client.find(Locator::Id("current-user")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((welcome, user, client.current_url().await?))
        }.await;
        let _ = client.close().await;
        let (welcome, user, url) = result.expect("browser flow");
        assert_eq!(welcome, "您好，系统管理员");
        assert_eq!(user, "系统管理员");
        assert_eq!(url.path(), "/");
    }
}

on_both! {
    /// A township user raises a lead on a phone-sized window; the EE officer finds it in the
    /// queue, reports in and verifies; the township sees the progress.
    async fn a_whistle_from_a_phone_reaches_the_department(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("town.phone", "township", None, Some("BEHT")).await;
        app.create_user("ee.desk", "officer", Some("EE"), None).await;
        let (phone_dir, desk_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let phone = browser_sized(&driver, phone_dir.path(), "390,844").await;
        let raised = async {
            phone.goto(&app.url("/leads/new")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("town.phone").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("f-title")).await?.send_keys("砂石场夜间扬尘").await?;
            phone.find(Locator::Id("f-category")).await?.select_by_value("dust").await?;
            phone.find(Locator::Id("f-urgency")).await?.select_by_value("urgent").await?;
            phone.find(Locator::Id("f-description")).await?.send_keys("运输车辆未苫盖，沿路扬尘。").await?;
            let width = phone.find(Locator::Id("form-submit")).await?.rectangle().await?.2;
            phone.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&phone, "ok=created").await?;
            let heading = phone.wait().for_element(Locator::Css("h1")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((heading, width, phone.current_url().await?))
        }.await;
        let (heading, button_width, lead_url) = raised.expect("raise on the phone");
        assert!(heading.starts_with("XS-2026-000001") && heading.contains("砂石场夜间扬尘"), "{heading}");
        assert!(button_width > 300.0, "the submit button fills the phone's width: {button_width}");

        let desk = browser(&driver, desk_dir.path()).await;
        let handled = async {
            desk.goto(&app.url("/leads")).await?;
            desk.wait().for_element(Locator::Id("username")).await?.send_keys("ee.desk").await?;
            desk.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            desk.find(Locator::Id("login-submit")).await?.click().await?;
            desk.wait().for_element(Locator::LinkText("砂石场夜间扬尘")).await?.click().await?;
            // The next step (报到) is open by itself.
            desk.wait().for_element(Locator::XPath("//details[@open]/summary[normalize-space(.)='报到']")).await?;
            desk.find(Locator::Id("acknowledge-note")).await?.send_keys("已派员赶赴现场").await?;
            desk.find(Locator::Css("form[action$='/acknowledge'] button")).await?.click().await?;
            wait_for_url(&desk, "ok=step").await?;
            let flash = desk.find(Locator::Css(".flash")).await?.text().await?;
            assert!(flash.starts_with("报到已办理") && flash.contains("下一时限：核查"), "{flash}");
            let current = desk.find(Locator::Css("#steps li.current")).await?.text().await?;
            assert_eq!(current, "已报到");
            // Back to the plain address, so that the next "ok=step" is the verification's.
            let plain = desk.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();
            desk.goto(&plain).await?;
            desk.wait().for_element(Locator::XPath("//summary[contains(., '填写核查结论')]")).await?.click().await?;
            desk.find(Locator::Id("verify-substantiated")).await?.select_by_value("true").await?;
            desk.find(Locator::Id("verify-note")).await?.send_keys("现场核实属实").await?;
            desk.find(Locator::Css("form[action$='/verify'] button")).await?.click().await?;
            wait_for_url(&desk, "ok=step").await?;
            Ok::<_, fantoccini::error::CmdError>(())
        }.await;
        let _ = desk.close().await;
        handled.expect("report in and verify at the desk");

        let seen = async {
            phone.goto(lead_url.as_str()).await?;
            phone.wait().for_element(Locator::Css("main")).await?.text().await
        }.await;
        let _ = phone.close().await;
        let page = seen.expect("the township looks again");
        assert!(page.contains("已核查") && page.contains("已派员赶赴现场") && page.contains("结论：属实"), "{page}");
    }
}

on_both! {
    /// On a phone (390 × 844) the township's desk, the lead list, the notices and the public
    /// mine list fit the screen (no page wider than the window), lists are cards; on a
    /// desktop the login page uses the width instead of a 150 px column.
    async fn pages_fit_a_phone_and_the_login_uses_the_desktop(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("town.fit", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.fit", PASSWORD).await;
        for i in 0..3 {
            crate::leads::raise(&app, &town, serde_json::json!({"title": format!("第{i}条很长很长的线索标题，用来检查在手机上是否会把页面撑宽"), "category": "dust", "description": "扬尘。"})).await;
        }
        let (phone_dir, desk_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let phone = browser_sized(&driver, phone_dir.path(), "390,844").await;
        let widths = async {
            phone.goto(&app.url("/login")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("town.fit").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("raise-lead")).await?;
            let mut out = Vec::new();
            for path in ["/", "/leads?raised=mine", "/notifications", "/public/mines", "/map"] {
                phone.goto(&app.url(path)).await?;
                phone.wait().for_element(Locator::Css("main")).await?;
                let w = phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
                out.push((path, w));
            }
            phone.goto(&app.url("/leads?raised=mine")).await?;
            let display = phone.execute("return getComputedStyle(document.querySelector('table.list tr')).display;", vec![]).await?;
            Ok::<_, fantoccini::error::CmdError>((out, display))
        }.await;
        let _ = phone.close().await;
        let (widths, display) = widths.expect("pages on the phone");
        // A coordinator's pages too: the desk, the lists, a lead, a mine, the figures.
        app.create_user("coord.fit", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("coord.fit", PASSWORD).await;
        let em = crate::mines::officer(&app, "em.fit", "EM").await;
        let mine = crate::mines::create_mine(&app, &em, crate::mines::mine_body("手机上看的很长名字的砂石场", 881)).await;
        let first: serde_json::Value = app.get("/api/v1/leads", &coord).await.json().await.unwrap();
        let coord_dir = tempfile::tempdir().unwrap();
        let phone = browser_sized(&driver, coord_dir.path(), "390,844").await;
        let more = async {
            phone.goto(&app.url("/login")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("coord.fit").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("welcome")).await?;
            let mut out = Vec::new();
            for path in [
                "/".to_owned(), "/leads".into(), format!("/leads/{}", first["items"][0]["id"].as_str().unwrap_or_default()),
                "/mines".into(), format!("/mines/{}", mine["id"].as_str().unwrap()), "/leads/stats".into(), "/map".into(), "/reference".into(),
            ] {
                phone.goto(&app.url(&path)).await?;
                phone.wait().for_element(Locator::Css("main")).await?;
                let w = phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
                out.push((path, w));
            }
            Ok::<_, fantoccini::error::CmdError>(out)
        }.await;
        let _ = phone.close().await;
        for (path, w) in more.expect("the coordinator's pages on the phone") {
            let (scroll, inner) = (w[0].as_f64().unwrap(), w[1].as_f64().unwrap());
            assert!(scroll <= inner, "{path} is {scroll} px wide on a {inner} px screen (coordinator)");
        }
        for (path, w) in widths {
            let (scroll, inner) = (w[0].as_f64().unwrap(), w[1].as_f64().unwrap());
            assert!(scroll <= inner, "{path} is {scroll} px wide on a {inner} px screen");
        }
        assert_eq!(display, "block", "a list row is a card on the phone");

        let desk = browser(&driver, desk_dir.path()).await;
        let seen = async {
            desk.goto(&app.url("/login")).await?;
            let width = desk.wait().for_element(Locator::Css("main")).await?.rectangle().await?.2;
            desk.find(Locator::Id("username")).await?.send_keys("town.fit").await?;
            desk.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            desk.find(Locator::Id("login-submit")).await?.click().await?;
            desk.wait().for_element(Locator::Id("raise-lead")).await?;
            desk.goto(&app.url("/leads?raised=mine")).await?;
            let first = |c: &fantoccini::Client| {
                let c = c.clone();
                async move { c.find(Locator::Css("table.list tbody tr td")).await?.text().await }
            };
            let header = desk.wait().for_element(Locator::XPath("//table[contains(@class,'list')]//th[normalize-space(.)='编号']")).await?;
            header.click().await?;
            let ascending = first(&desk).await?;
            header.click().await?;
            let descending = first(&desk).await?;
            Ok::<_, fantoccini::error::CmdError>((width, ascending, descending))
        }.await;
        let _ = desk.close().await;
        let (width, ascending, descending) = seen.expect("the desktop");
        assert!(width > 800.0, "main spans the page without the menu: {width}");
        assert_eq!((ascending.as_str(), descending.as_str()), ("XS-2026-000001", "XS-2026-000003"), "a click on a heading sorts the rows");
    }
}

on_both! {
    /// A township on a phone starts from its desk's 我要吹哨, taps the map of its area where
    /// the problem is, and the lead is placed there and tied to the mine under the tap.
    async fn a_township_places_a_whistle_by_tapping_the_map(app) {
        let Some(driver) = start_driver().await else { return };
        let em = crate::mines::officer(&app, "em.tap", "EM").await;
        let nr = crate::mines::officer(&app, "nr.tap", "NR").await;
        let mine_id = crate::boundaries::licensed_mine(&app, &em, &nr, "点选矿", 991, &crate::boundaries::square(4_502_300.0, 415_300.0, 600.0)).await;
        app.create_user("town.tap", "township", None, Some("BEHT")).await;
        let dir = tempfile::tempdir().unwrap();
        let phone = browser_sized(&driver, dir.path(), "390,844").await;
        let raised = async {
            phone.goto(&app.url("/login")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("town.tap").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("raise-lead")).await?.click().await?;
            phone.wait().for_element(Locator::Id("f-title")).await?.send_keys("矿区内夜间爆破").await?;
            phone.find(Locator::Id("f-category")).await?.select_by_value("safety_violation").await?;
            phone.find(Locator::Id("f-description")).await?.send_keys("夜间爆破震动明显。").await?;
            let map = phone.find(Locator::Css(".pick-map svg")).await?;
            phone.execute("arguments[0].scrollIntoView({block: 'center'});", vec![serde_json::to_value(&map)?]).await?;
            map.click().await?;
            let status = phone.find(Locator::Id("pick-status")).await?.text().await?;
            let picked = phone.find(Locator::Id("pick_e")).await?.prop("value").await?.unwrap_or_default();
            phone.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&phone, "ok=created").await?;
            Ok::<_, fantoccini::error::CmdError>((status, picked, phone.current_url().await?))
        }.await;
        let _ = phone.close().await;
        let (status, picked, url) = raised.expect("raise by tapping the map");
        assert_eq!(status, "已选定问题地点。");
        assert!(!picked.is_empty());
        let id = url.path().trim_start_matches("/leads/").to_owned();
        let town = app.token_for("town.tap", PASSWORD).await;
        let lead: serde_json::Value = app.get(&format!("/api/v1/leads/{id}"), &town).await.json().await.unwrap();
        assert!(lead["lon"].is_number() && lead["lat"].is_number(), "{lead}");
        assert_eq!(lead["mine_id"], mine_id, "the tap was inside the mine: {lead}");
    }
}

on_both! {
    /// Choosing the category and the mine on the 吹哨 form shows the open lead already there
    /// before submitting; the person ticks that theirs is new, and the photo chosen before
    /// is sent with it.
    async fn possible_duplicates_show_before_submitting_and_the_photo_stays(app) {
        let Some(driver) = start_driver().await else { return };
        let em = crate::mines::officer(&app, "em.dup", "EM").await;
        let nr = crate::mines::officer(&app, "nr.dup", "NR").await;
        let mine_id = crate::boundaries::licensed_mine(&app, &em, &nr, "重复矿", 993, &crate::boundaries::square(4_502_300.0, 415_300.0, 600.0)).await;
        app.create_user("town.dup", "township", None, Some("BEHT")).await;
        let town = app.token_for("town.dup", PASSWORD).await;
        let first = crate::leads::raise(&app, &town, serde_json::json!({"title": "第一次反映", "category": "safety_violation", "description": "隐患。", "mine_id": mine_id})).await;
        let photo_dir = tempfile::tempdir().unwrap();
        let photo = photo_dir.path().join("现场.jpg");
        std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let phone = browser_sized(&driver, dir.path(), "390,844").await;
        let raised = async {
            phone.goto(&app.url("/login?next=/leads/new")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("town.dup").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("f-title")).await?.send_keys("又发现隐患").await?;
            phone.find(Locator::Id("f-description")).await?.send_keys("同一处，情况加重。").await?;
            phone.find(Locator::Id("f-photos")).await?.send_keys(&photo.display().to_string()).await?;
            phone.find(Locator::Id("f-category")).await?.select_by_value("safety_violation").await?;
            phone.find(Locator::Id("f-mine_id")).await?.select_by_value(&mine_id).await?;
            let warning = phone.wait().for_element(Locator::Css("#dup-live:not([hidden])")).await?.text().await?;
            phone.find(Locator::Id("dup-confirm")).await?.click().await?;
            phone.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&phone, "ok=created").await?;
            Ok::<_, fantoccini::error::CmdError>((warning, phone.current_url().await?))
        }.await;
        let _ = phone.close().await;
        let (warning, url) = raised.expect("raise past the warning");
        assert!(warning.contains(first["number"].as_str().unwrap()) && warning.contains("第一次反映"), "{warning}");
        let id = url.path().trim_start_matches("/leads/").to_owned();
        let lead: serde_json::Value = app.get(&format!("/api/v1/leads/{id}"), &town).await.json().await.unwrap();
        assert_eq!(lead["attachments"].as_array().unwrap().len(), 1, "the photo came along: {lead}");
    }
}

on_both! {
    /// In Chromium: the coordination office opens a 其他 lead from 待分办 on its desk and
    /// divides it to EE (the 分办 form is open as the next step); EE's head then gives it to
    /// an officer, who finds it under 我的待办.
    async fn the_office_divides_and_a_head_assigns_in_the_browser(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("town.flow", "township", None, Some("BEHT")).await;
        app.create_user("coord.flow", "coordinator", Some("NR"), None).await;
        app.create_user("ee.head.flow", "head", Some("EE"), None).await;
        app.create_user("ee.wang.flow", "officer", Some("EE"), None).await;
        let town = app.token_for("town.flow", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, serde_json::json!({"title": "说不清归谁管的坑", "category": "other", "description": "山坡上有人在挖。"})).await;
        let dir = tempfile::tempdir().unwrap();
        let c = browser(&driver, dir.path()).await;
        let sign_in = |user: &'static str| {
            let c = c.clone();
            let url = app.url("/login");
            async move {
                c.goto(&url).await?;
                c.wait().for_element(Locator::Id("username")).await?.send_keys(user).await?;
                c.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
                c.find(Locator::Id("login-submit")).await?.click().await?;
                c.wait().for_element(Locator::Id("welcome")).await?;
                Ok::<_, fantoccini::error::CmdError>(())
            }
        };
        let sign_out = || {
            let c = c.clone();
            async move { c.find(Locator::Css("form[action='/logout'] button")).await?.click().await?; c.wait().for_element(Locator::Id("username")).await.map(|_| ()) }
        };
        let flow = async {
            sign_in("coord.flow").await?;
            c.find(Locator::Css("#queue-dispatch .lead-card a")).await?.click().await?;
            c.wait().for_element(Locator::XPath("//details[@open]/summary[normalize-space(.)='分办']")).await?;
            c.find(Locator::Id("dispatch-department")).await?.select_by_value("EE").await?;
            c.find(Locator::Id("dispatch-note")).await?.send_keys("现场为扬尘问题").await?;
            c.find(Locator::Css("form[action$='/dispatch'] button")).await?.click().await?;
            wait_for_url(&c, "ok=step").await?;
            let flash = c.find(Locator::Css(".flash")).await?.text().await?;
            sign_out().await?;
            sign_in("ee.head.flow").await?;
            c.goto(&app.url(&format!("/leads/{}", lead["id"].as_str().unwrap()))).await?;
            c.wait().for_element(Locator::XPath("//summary[normalize-space(.)='指派']")).await?.click().await?;
            let option = c.find(Locator::XPath("//select[@id='assign-assignee']/option[contains(., 'ee.wang.flow')]")).await?;
            option.click().await?;
            c.find(Locator::Css("form[action$='/assign'] button")).await?.click().await?;
            wait_for_url(&c, "ok=step").await?;
            sign_out().await?;
            sign_in("ee.wang.flow").await?;
            let mine = c.find(Locator::Id("queue-mine")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((flash, mine))
        }.await;
        let _ = c.close().await;
        let (flash, mine) = flow.expect("divide and assign in the browser");
        assert!(flash.starts_with("协调办分办已办理"), "{flash}");
        assert!(mine.contains("说不清归谁管的坑"), "{mine}");
    }
}

use crate::helpers::*;

on_both! {
    /// The district map in the browser is a web map (Leaflet, served by the service itself):
    /// the graded mine is drawn in its grade's colour on a plain background with a scale
    /// bar in Chinese, and clicking it opens the mine's page; on a phone it fits the screen.
    async fn the_web_map_shows_a_mine_coloured_by_grade(app) {
        let Some(driver) = start_driver().await else { return };
        let em = crate::mines::officer(&app, "em.web", "EM").await;
        let nr = crate::mines::officer(&app, "nr.web", "NR").await;
        let mine_id = crate::boundaries::licensed_mine(&app, &em, &nr, "网图矿", 993, &crate::boundaries::square(4_502_300.0, 415_300.0, 600.0)).await;
        let grade = serde_json::json!({"risk_grade": "major", "reason": "年度评估", "assessment": "2026年安全风险评估报告"});
        assert_eq!(app.put(&format!("/api/v1/mines/{mine_id}/risk-grade"), &em, grade).await.status(), 200);
        app.create_user("coord.web", "coordinator", Some("NR"), None).await;
        let dir = tempfile::tempdir().unwrap();
        let phone = browser_sized(&driver, dir.path(), "390,844").await;
        let seen = async {
            phone.goto(&app.url("/login")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("coord.web").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Id("welcome")).await?;
            phone.goto(&app.url("/map")).await?;
            let ready = phone.wait().for_element(Locator::Css(".webmap[data-ready]")).await?;
            let features = ready.attr("data-ready").await?.unwrap_or_default();
            let svg_shown = phone.execute("return getComputedStyle(document.querySelector('.map-svg')).display;", vec![]).await?;
            let scale = phone.find(Locator::Css(".webmap-scale")).await?.text().await?;
            let w = phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
            let shape = phone.find(Locator::Css(".leaflet-overlay-pane path.leaflet-interactive")).await?;
            let fill = shape.attr("fill").await?.unwrap_or_default();
            shape.click().await?;
            wait_for_url(&phone, &format!("/mines/{mine_id}")).await?;
            let heading = phone.wait().for_element(Locator::Css("h1")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((features, svg_shown, scale, w, fill, heading))
        }.await;
        let _ = phone.close().await;
        let (features, svg_shown, scale, w, fill, heading) = seen.expect("the web map");
        assert_eq!(features, "1", "one mine, nothing else");
        assert_eq!(svg_shown, "none", "the web map took the drawing's place");
        assert!(scale.ends_with(" 米") || scale.ends_with(" 公里"), "{scale}");
        assert!(w[0].as_f64().unwrap() <= w[1].as_f64().unwrap(), "no horizontal scroll: {w:?}");
        assert_eq!(fill, "#c62828", "a major-risk mine is red");
        assert!(heading.contains("网图矿"), "{heading}");
    }
}

on_both! {
    /// An officer on a phone finds an urgent lead first thing on the home page with the time
    /// left to report in counting down from the server's clock, and reports in with one tap.
    async fn an_officer_reports_in_from_the_desk_with_one_tap(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("town.tap1", "township", None, Some("BEHT")).await;
        app.create_user("ee.tap1", "officer", Some("EE"), None).await;
        let town = app.token_for("town.tap1", PASSWORD).await;
        let lead = crate::leads::raise(&app, &town, serde_json::json!({"title": "尾矿库渗漏", "category": "dust", "urgency": "urgent", "description": "坝体下游有渗水。"})).await;
        let id = lead["id"].as_str().unwrap().to_owned();
        app.clock.advance(chrono::Duration::minutes(4));
        let dir = tempfile::tempdir().unwrap();
        let phone = browser_sized(&driver, dir.path(), "390,844").await;
        let done = async {
            phone.goto(&app.url("/login")).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("ee.tap1").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            let card = phone.wait().for_element(Locator::Css("#queue-report_in li.lead-card")).await?;
            let shown = card.text().await?;
            // The countdown runs again on the page, from the server's time written into it.
            let live = phone.execute("minecoordTimeLeft(); return document.querySelector('#queue-report_in .time-left').textContent;", vec![]).await?;
            let w = phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
            card.find(Locator::Css("form.quick button")).await?.click().await?;
            wait_for_url(&phone, "ok=step").await?;
            let flash = phone.find(Locator::Css(".flash")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((shown, live, w, flash))
        }.await;
        let _ = phone.close().await;
        let (shown, live, w, flash) = done.expect("report in from the desk");
        assert!(shown.contains("尾矿库渗漏") && shown.contains("紧急") && shown.contains("剩余 26 分钟"), "{shown}");
        let live = live.as_str().unwrap_or_default().to_owned();
        assert!(live == "剩余 26 分钟" || live == "剩余 25 分钟", "counted from the server's clock, not the browser's: {live}");
        assert!(w[0].as_f64().unwrap() <= w[1].as_f64().unwrap(), "no horizontal scroll: {w:?}");
        assert!(flash.starts_with("报到已办理"), "{flash}");
        let ee = app.token_for("ee.tap1", PASSWORD).await;
        let after: serde_json::Value = app.get(&format!("/api/v1/leads/{id}"), &ee).await.json().await.unwrap();
        assert_eq!(after["state"], "acknowledged", "{after}");
    }
}

on_both! {
    /// 综合查一次 in the browser: EM opens a joint task with EE by ticking on the form; on a
    /// phone EE's inspector records, reloads half-way (nothing typed is lost) and submits;
    /// EM records a finding and a major hazard; the code's public page proves the task;
    /// after completing, the re-inspection closes the hazard and the task is archived.
    async fn a_joint_inspection_from_task_to_archive(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("coord.bi", "coordinator", Some("NR"), None).await;
        let coord = app.token_for("coord.bi", PASSWORD).await;
        for (code, dept, name) in [("YJ-01", "EM", "安全出口"), ("HB-01", "EE", "扬尘治理")] {
            assert_eq!(app.post("/api/v1/inspection-items", &coord, serde_json::json!({"code": code, "department": dept, "name": name, "legal_basis": "《安全生产法》"})).await.status(), 201);
        }
        let em_plain = crate::mines::officer(&app, "em.bplain", "EM").await;
        let mine = crate::mines::create_mine(&app, &em_plain, crate::mines::mine_body("浏览器联检矿", 990)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let mut ids = Vec::new();
        for (u, d, c) in [("em.bi", "EM", "15029001"), ("ee.bi", "EE", "15029002")] {
            let body = serde_json::json!({"username": u, "password": PASSWORD, "must_change_password": false, "display_name": format!("检查员{d}"), "role": "officer", "department": d, "certificate_number": c});
            let r: serde_json::Value = app.post("/api/v1/users", &app.admin_token, body).await.json().await.unwrap();
            ids.push(r["id"].as_str().unwrap().to_owned());
        }
        let (desk_dir, phone_dir, public_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let desk = browser(&driver, desk_dir.path()).await;
        let opened = async {
            desk.goto(&app.url(&format!("/inspections/new?mine_id={mine_id}"))).await?;
            desk.wait().for_element(Locator::Id("username")).await?.send_keys("em.bi").await?;
            desk.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            desk.find(Locator::Id("login-submit")).await?.click().await?;
            desk.wait().for_element(Locator::Css("input[name='joint.EE']")).await?.click().await?;
            for id in &ids {
                desk.find(Locator::Css(&format!("input[name='inspector.{id}']"))).await?.click().await?;
            }
            desk.find(Locator::Css("input[name='item.YJ-01']")).await?.click().await?;
            desk.find(Locator::Css("input[name='item.HB-01']")).await?.click().await?;
            desk.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&desk, "ok=created").await?;
            let url = desk.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();
            Ok::<_, fantoccini::error::CmdError>(url)
        }.await;
        let task_url = opened.expect("open the task");

        let phone = browser_sized(&driver, phone_dir.path(), "390,844").await;
        let recorded = async {
            phone.goto(&task_url).await?;
            phone.wait().for_element(Locator::Id("username")).await?.send_keys("ee.bi").await?;
            phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            phone.find(Locator::Id("login-submit")).await?.click().await?;
            phone.wait().for_element(Locator::Css("input[name='outcome.HB-01'][value='compliant']")).await?.click().await?;
            phone.find(Locator::Id("note-HB-01")).await?.send_keys("洒水降尘到位").await?;
            // The connection drops; the page is opened again.
            phone.refresh().await?;
            phone.wait().for_element(Locator::Id("note-HB-01")).await?;
            let kept = phone.execute("return [document.getElementById('note-HB-01').value, document.querySelector(\"input[name='outcome.HB-01'][value='compliant']\").checked, document.getElementById('draft-status').textContent];", vec![]).await?;
            let w = phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
            phone.find(Locator::Id("results-submit")).await?.click().await?;
            wait_for_url(&phone, "ok=results").await?;
            let flash = phone.find(Locator::Css(".flash")).await?.text().await?;
            let left = phone.execute("return Object.keys(localStorage).filter(function (k) { return k.indexOf('draft:') === 0; }).length;", vec![]).await?;
            Ok::<_, fantoccini::error::CmdError>((kept, w, flash, left))
        }.await;
        let _ = phone.close().await;
        let (kept, w, flash, left) = recorded.expect("record on the phone");
        assert_eq!(kept[0], "洒水降尘到位", "the note survived the reload");
        assert_eq!(kept[1], true, "so did the choice");
        assert!(kept[2].as_str().unwrap().contains("已恢复"), "{kept:?}");
        assert!(w[0].as_f64().unwrap() <= w[1].as_f64().unwrap(), "the task page fits the phone: {w:?}");
        assert_eq!(flash, "本部门检查结果已提交。");
        assert_eq!(left, 0, "the draft is forgotten once the server has it");

        // EM's inspector, on a phone, records the finding with a photo and the major hazard
        // with another, choosing its clause of the 2022 standard.
        let (em_phone_dir, photo_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let photo = photo_dir.path().join("边坡.jpg");
        std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9]).unwrap();
        let photo = photo.display().to_string();
        let em_phone = browser_sized(&driver, em_phone_dir.path(), "390,844").await;
        let found = async {
            em_phone.goto(&task_url).await?;
            em_phone.wait().for_element(Locator::Id("username")).await?.send_keys("em.bi").await?;
            em_phone.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            em_phone.find(Locator::Id("login-submit")).await?.click().await?;
            em_phone.wait().for_element(Locator::Css("input[name='outcome.YJ-01'][value='finding']")).await?.click().await?;
            em_phone.find(Locator::Id("note-YJ-01")).await?.send_keys("采场边坡未进行在线监测").await?;
            em_phone.find(Locator::Id("photo-YJ-01")).await?.send_keys(&photo).await?;
            em_phone.find(Locator::Id("results-submit")).await?.click().await?;
            wait_for_url(&em_phone, "ok=results").await?;
            em_phone.find(Locator::Id("h-grade")).await?.select_by_value("major").await?;
            em_phone.find(Locator::Id("h-standard")).await?.select_by_value("O7-1").await?;
            em_phone.find(Locator::Id("h-description")).await?.send_keys("高度 220 米的采场边坡未进行在线监测").await?;
            em_phone.execute("document.getElementById('h-rectify').value = '2026-03-20';", vec![]).await?;
            em_phone.find(Locator::Id("h-photos")).await?.send_keys(&photo).await?;
            em_phone.find(Locator::Id("hazard-submit")).await?.click().await?;
            wait_for_url(&em_phone, "ok=hazard").await?;
            let hazards = em_phone.find(Locator::Id("hazards")).await?.text().await?;
            let items = em_phone.find(Locator::Id("items")).await?.text().await?;
            let w = em_phone.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
            Ok::<_, fantoccini::error::CmdError>((hazards, items, w))
        }.await;
        let _ = em_phone.close().await;
        let (hazards, items, w) = found.expect("the finding and its hazard on the phone");
        assert!(hazards.contains("YH-2026-000001") && hazards.contains("重大事故隐患") && hazards.contains("二（七）1"), "{hazards}");
        assert!(hazards.contains("边坡.jpg") && items.contains("边坡.jpg"), "the photos are on the page: {hazards} / {items}");
        assert!(w[0].as_f64().unwrap() <= w[1].as_f64().unwrap(), "the hazard form fits the phone: {w:?}");

        let completed = async {
            desk.goto(&task_url).await?;
            desk.wait().for_element(Locator::Id("complete")).await?.click().await?;
            wait_for_url(&desk, "ok=step").await
        }.await;
        completed.expect("complete the visit");

        // The enterprise scans the code, signs in from its page and rates the visit there.
        let em = app.token_for("em.bi", PASSWORD).await;
        let v: serde_json::Value = app.get(&format!("/api/v1{}", task_url.trim_start_matches(&app.url(""))), &em).await.json().await.unwrap();
        let code = v["code"].as_str().unwrap().to_owned();
        let body = serde_json::json!({"username": "qy.bi", "password": PASSWORD, "must_change_password": false, "display_name": "企业安全员", "role": "enterprise", "mine_id": mine_id});
        assert_eq!(app.post("/api/v1/users", &app.admin_token, body).await.status(), 201);
        let public = browser_sized(&driver, public_dir.path(), "390,844").await;
        let rated = async {
            public.goto(&app.url(&format!("/public/inspections/{code}"))).await?;
            let verdict = public.wait().for_element(Locator::Id("verdict")).await?.text().await?;
            public.find(Locator::Id("rate-sign-in")).await?.click().await?;
            public.wait().for_element(Locator::Id("username")).await?.send_keys("qy.bi").await?;
            public.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
            public.find(Locator::Id("login-submit")).await?.click().await?;
            public.wait().for_element(Locator::Css("#rate-form input[name='verdict'][value='satisfied']")).await?.click().await?;
            public.find(Locator::Id("rate-comment")).await?.send_keys("检查一次完成，没有重复打扰").await?;
            public.find(Locator::Id("rate-submit")).await?.click().await?;
            wait_for_url(&public, "ok=rated").await?;
            let flash = public.find(Locator::Css(".flash")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((verdict, flash))
        }.await;
        let _ = public.close().await;
        let (verdict, flash) = rated.expect("the enterprise rates from the code's page");
        assert!(verdict.contains("真实有效"), "{verdict}");
        assert!(flash.contains("评价已提交"), "{flash}");
        assert_eq!(app.count("inspection_ratings WHERE verdict = 'satisfied'").await, 1);

        // The re-inspection, with its evidence, closes the hazard and archives the task.
        let closed = async {
            desk.goto(&task_url).await?;
            desk.wait().for_element(Locator::Css("form.reinspect input[name='abated']")).await?.click().await?;
            desk.find(Locator::Css("form.reinspect textarea[name='note']")).await?.send_keys("在线监测系统已安装运行").await?;
            desk.find(Locator::Css("form.reinspect input[name='evidence']")).await?.send_keys(&photo).await?;
            desk.find(Locator::Css("form.reinspect button")).await?.click().await?;
            wait_for_url(&desk, "ok=reinspect").await?;
            let heading = desk.find(Locator::Css("main .muted")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>(heading)
        }.await;
        let _ = desk.close().await;
        let heading = closed.expect("the re-inspection");
        assert!(heading.starts_with("已归档"), "the last hazard closed archives the task: {heading}");
        for purpose in ["inspection_files WHERE purpose = 'result' AND item_code = 'YJ-01'", "inspection_files WHERE purpose = 'hazard'", "inspection_files WHERE purpose = 'reinspection'"] {
            assert_eq!(app.count(purpose).await, 1, "{purpose}");
        }
    }
}

/// Opens `path` in `c`, signing in as `user` on the way.
async fn signed_in_at(
    c: &fantoccini::Client,
    url: &str,
    user: &str,
) -> Result<(), fantoccini::error::CmdError> {
    c.goto(url).await?;
    c.wait()
        .for_element(Locator::Id("username"))
        .await?
        .send_keys(user)
        .await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(crate::helpers::PASSWORD)
        .await?;
    c.find(Locator::Id("login-submit")).await?.click().await?;
    Ok(())
}

on_both! {
    /// 会商研判 from request to 销账 in the browser: EE asks, the office convenes with the
    /// request on the agenda, EE confirms attendance, the office records a decision that EM
    /// inspects the mine jointly with EE, the office's head approves, EM opens the joint
    /// inspection from the decision, reports completion, and the office closes the decision.
    async fn a_consultation_from_request_to_closed_decision(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("coord.bc", "coordinator", Some("NR"), None).await;
        app.create_user("nr.head.bc", "head", Some("NR"), None).await;
        let coord = app.token_for("coord.bc", PASSWORD).await;
        for (code, dept, name) in [("YJ-01", "EM", "安全出口"), ("HB-01", "EE", "扬尘治理")] {
            assert_eq!(app.post("/api/v1/inspection-items", &coord, serde_json::json!({"code": code, "department": dept, "name": name, "legal_basis": "《安全生产法》"})).await.status(), 201);
        }
        let em_plain = crate::mines::officer(&app, "em.bcplain", "EM").await;
        let mine = crate::mines::create_mine(&app, &em_plain, crate::mines::mine_body("会商联检矿", 991)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        let mut inspectors = Vec::new();
        for (u, d, c) in [("em.bc", "EM", "15029101"), ("ee.bc", "EE", "15029102")] {
            let body = serde_json::json!({"username": u, "password": PASSWORD, "must_change_password": false, "display_name": format!("办事员{d}"), "role": "officer", "department": d, "certificate_number": c});
            let r: serde_json::Value = app.post("/api/v1/users", &app.admin_token, body).await.json().await.unwrap();
            inspectors.push(r["id"].as_str().unwrap().to_owned());
        }
        let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let (ee, office, head, em) = (browser(&driver, dirs[0].path()).await, browser(&driver, dirs[1].path()).await,
            browser(&driver, dirs[2].path()).await, browser(&driver, dirs[3].path()).await);

        // EE asks; the office convenes this afternoon with EE and EM, the request on the agenda.
        let asked = async {
            signed_in_at(&ee, &app.url("/consultation-requests/new"), "ee.bc").await?;
            ee.wait().for_element(Locator::Css("input[name='topic']")).await?.send_keys("会商联检矿扬尘与边坡问题").await?;
            ee.find(Locator::Css("textarea[name='reason']")).await?.send_keys("扬尘与边坡安全交织，需联合检查").await?;
            ee.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&ee, "ok=saved").await?;
            signed_in_at(&office, &app.url("/consultations/new"), "coord.bc").await?;
            office.wait().for_element(Locator::Id("f-topic")).await?.send_keys("会商联检矿专题会商").await?;
            office.execute("document.getElementById('f-starts_at').value = '2026-03-02T14:00'; document.getElementById('f-ends_at').value = '2026-03-02T15:00';", vec![]).await?;
            office.find(Locator::Id("f-place")).await?.send_keys("区自然资源分局 3 楼会议室").await?;
            office.find(Locator::Css("input[name='dept.EE']")).await?.click().await?;
            office.find(Locator::Css("input[name='dept.EM']")).await?.click().await?;
            office.find(Locator::Css("input[name^='request.']")).await?.click().await?;
            office.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&office, "ok=created").await?;
            let url = office.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();
            Ok::<_, fantoccini::error::CmdError>(url)
        }.await;
        let meeting_url = asked.expect("ask and convene");

        let attended = async {
            ee.goto(&meeting_url).await?;
            ee.wait().for_element(Locator::Id("a-name")).await?.send_keys("李科长").await?;
            ee.find(Locator::Id("attend-submit")).await?.click().await?;
            wait_for_url(&ee, "ok=attended").await?;
            ee.find(Locator::Id("invitees")).await?.text().await
        }.await;
        assert!(attended.expect("attend").contains("李科长"));

        // After the meeting: the minutes with the decision to inspect jointly.
        app.clock.advance(chrono::Duration::hours(7));
        let minuted = async {
            office.goto(&meeting_url).await?;
            office.wait().for_element(Locator::Id("m-discussion")).await?.send_keys("一致同意由区应急局牵头联合检查。").await?;
            office.find(Locator::Id("d-0-text")).await?.send_keys("对会商联检矿开展联合检查").await?;
            office.find(Locator::Id("d-0-kind")).await?.select_by_value("inspection").await?;
            office.find(Locator::Id("d-0-unit")).await?.select_by_value("EM").await?;
            office.find(Locator::Css("input[name='d.0.coop.EE']")).await?.click().await?;
            office.execute("document.getElementById('d-0-due').value = '2026-03-31';", vec![]).await?;
            office.find(Locator::Id("d-0-mine")).await?.select_by_value(&mine_id).await?;
            office.find(Locator::Id("save-minutes")).await?.click().await?;
            wait_for_url(&office, "ok=minuted").await?;
            signed_in_at(&head, &meeting_url, "nr.head.bc").await?;
            head.wait().for_element(Locator::Id("approve-minutes")).await?.click().await?;
            wait_for_url(&head, "ok=approved").await?;
            head.find(Locator::Id("decisions")).await?.text().await
        }.await;
        let table = minuted.expect("minutes approved");
        assert!(table.contains("HS-2026-001-1") && table.contains("办理中"), "{table}");

        // EM opens the joint inspection from the decision, then reports completion.
        let token = app.token_for("em.bc", PASSWORD).await;
        let ledger: serde_json::Value = app.get("/api/v1/decisions", &token).await.json().await.unwrap();
        let decision_url = app.url(&format!("/decisions/{}", ledger["items"][0]["id"].as_str().unwrap()));
        let inspected = async {
            signed_in_at(&em, &decision_url, "em.bc").await?;
            em.wait().for_element(Locator::Id("open-inspection")).await?.click().await?;
            em.wait().for_element(Locator::Css("input[name='joint.EE']")).await?;
            let prefilled = em.execute("return [document.querySelector(\"input[name='joint.EE']\").checked, document.querySelector(\"input[name='basis_ref']\").value];", vec![]).await?;
            for id in &inspectors {
                em.find(Locator::Css(&format!("input[name='inspector.{id}']"))).await?.click().await?;
            }
            em.find(Locator::Css("input[name='item.YJ-01']")).await?.click().await?;
            em.find(Locator::Css("input[name='item.HB-01']")).await?.click().await?;
            em.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&em, "ok=created").await?;
            em.goto(&decision_url).await?;
            let facts = em.wait().for_element(Locator::Id("facts")).await?.text().await?;
            em.find(Locator::Id("p-text")).await?.send_keys("联合检查已完成，隐患已整改").await?;
            em.find(Locator::Id("p-percent")).await?.clear().await?;
            em.find(Locator::Id("p-percent")).await?.send_keys("100").await?;
            em.find(Locator::Id("p-done")).await?.click().await?;
            em.find(Locator::Id("report-progress")).await?.click().await?;
            wait_for_url(&em, "ok=reported").await?;
            Ok::<_, fantoccini::error::CmdError>((prefilled, facts))
        }.await;
        let (prefilled, facts) = inspected.expect("inspect and report");
        assert_eq!(prefilled[0], true, "EE joins, as decided");
        assert_eq!(prefilled[1], "HS-2026-001-1", "the decision is the task's basis");
        assert!(facts.contains("JC-2026-000001"), "the decision lists its inspection: {facts}");

        let closed = async {
            office.goto(&decision_url).await?;
            office.wait().for_element(Locator::Id("review")).await?.click().await?;
            wait_for_url(&office, "ok=reviewed").await?;
            office.find(Locator::Id("state")).await?.text().await
        }.await;
        for c in [ee, office, head, em] {
            let _ = c.close().await;
        }
        assert!(closed.expect("close").contains("已销账"));
    }
}

on_both! {
    /// 关闭退出 in the browser: NR opens a government-decided closure from the mine's page,
    /// EM cancels the safety permit on the case's page, NR completes the licence task, the
    /// office records the joint acceptance, and the mine shows as closed on its public page.
    async fn a_government_decided_closure_from_opening_to_the_closed_public_page(app) {
        let Some(driver) = start_driver().await else { return };
        app.create_user("nr.bz", "officer", Some("NR"), None).await;
        app.create_user("em.bz", "officer", Some("EM"), None).await;
        app.create_user("coord.bz", "coordinator", Some("NR"), None).await;
        let em_token = app.token_for("em.bz", PASSWORD).await;
        let nr_token = app.token_for("nr.bz", PASSWORD).await;
        let mine = crate::mines::create_mine(&app, &em_token, crate::mines::mine_body("浏览器关闭矿", 1606)).await;
        let mine_id = mine["id"].as_str().unwrap().to_owned();
        for (t, kind, n) in [(&nr_token, "mining_licence", "C15-1606"), (&em_token, "safety_production", "A-1606")] {
            let r = app.post(&format!("/api/v1/mines/{mine_id}/permits"), t, serde_json::json!({"permit_type": kind, "number": n,
                "holder": "浏览器关闭矿有限公司", "issued_on": "2025-01-01", "expires_on": "2027-12-31"})).await;
            assert_eq!(r.status(), 201);
        }
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let (nr, em, office) = (browser(&driver, dirs[0].path()).await, browser(&driver, dirs[1].path()).await,
            browser(&driver, dirs[2].path()).await);

        let opened = async {
            signed_in_at(&nr, &app.url(&format!("/mines/{mine_id}")), "nr.bz").await?;
            nr.wait().for_element(Locator::LinkText("立案关闭退出")).await?.click().await?;
            nr.wait().for_element(Locator::Id("f-kind")).await?.select_by_value("government_decision").await?;
            nr.find(Locator::Id("f-decision_number")).await?.send_keys("昆政发〔2026〕30号").await?;
            nr.find(Locator::Id("f-issuing_body")).await?.send_keys("昆都仑区人民政府").await?;
            nr.execute("document.getElementById('f-decided_on').value = '2026-03-01'; document.getElementById('f-target_on').value = '2026-12-31';", vec![]).await?;
            nr.find(Locator::Id("form-submit")).await?.click().await?;
            wait_for_url(&nr, "ok=saved").await?;
            let url = nr.current_url().await?.as_str().split('?').next().unwrap_or_default().to_owned();
            let state = nr.find(Locator::Id("state")).await?.text().await?;
            Ok::<_, fantoccini::error::CmdError>((url, state))
        }.await;
        let (case_url, state) = opened.expect("NR opens the case");
        assert!(state.contains("办理中"), "{state}");

        let cancelled = async {
            signed_in_at(&em, &case_url, "em.bz").await?;
            em.wait().for_element(Locator::Css("#task-cancel_safety_permit textarea[name='note']")).await?
                .send_keys("已依法注销安全生产许可证").await?;
            em.find(Locator::Id("complete-cancel_safety_permit")).await?.click().await?;
            wait_for_url(&em, "ok=saved").await?;
            em.find(Locator::Id("task-cancel_safety_permit")).await?.text().await
        }.await;
        assert!(cancelled.expect("EM cancels the permit").contains("已完成"));
        let licence = async {
            nr.goto(&case_url).await?;
            nr.wait().for_element(Locator::Css("#task-cancel_mining_licence textarea[name='note']")).await?
                .send_keys("已报请发证机关注销采矿许可证").await?;
            nr.find(Locator::Id("complete-cancel_mining_licence")).await?.click().await?;
            wait_for_url(&nr, "ok=saved").await?;
            nr.find(Locator::Id("task-cancel_mining_licence")).await?.text().await
        }.await;
        assert!(licence.expect("NR completes the licence task").contains("已完成"));
        let permits: serde_json::Value = app.get(&format!("/api/v1/mines/{mine_id}/permits"), &em_token).await.json().await.unwrap();
        assert!(permits["items"].as_array().unwrap().iter().all(|p| p["status"] == "cancelled"), "{permits}");

        // The other tasks are the office's to waive here; then the acceptance from the page.
        let coord = app.token_for("coord.bz", PASSWORD).await;
        let case_id = case_url.rsplit('/').next().unwrap().to_owned();
        let case: serde_json::Value = app.get(&format!("/api/v1/closures/{case_id}"), &coord).await.json().await.unwrap();
        for t in case["tasks"].as_array().unwrap().iter().filter(|t| t["state"] == "open") {
            let path = format!("/api/v1/closures/{case_id}/tasks/{}/waive", t["id"].as_str().unwrap());
            assert_eq!(app.post(&path, &coord, serde_json::json!({"note": "已由其他程序完成"})).await.status(), 200);
        }
        let accepted = async {
            signed_in_at(&office, &case_url, "coord.bz").await?;
            office.wait().for_element(Locator::Id("a-conclusion")).await?.send_keys("各项任务完成，同意关闭").await?;
            office.find(Locator::Id("record-acceptance")).await?.click().await?;
            wait_for_url(&office, "ok=saved").await?;
            office.find(Locator::Id("state")).await?.text().await
        }.await;
        assert!(accepted.expect("the office accepts").contains("验收通过"));
        let public = async {
            office.goto(&app.url(&format!("/public/mines/{mine_id}"))).await?;
            office.wait().for_element(Locator::Css("main")).await?.text().await
        }.await;
        for c in [nr, em, office] {
            let _ = c.close().await;
        }
        assert!(public.expect("the public page").contains("已关闭（2026-03-02 关闭）"));
    }
}
