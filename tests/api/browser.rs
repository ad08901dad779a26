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

use crate::helpers::*;
