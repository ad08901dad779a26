//! Permit pages: recording from the mine page, what is due, decisions.

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

on_both! {
    /// An EM officer records a safety permit from the mine page, sees it due on the list,
    /// and suspends it with a reason; an EE officer sees no recording form for EM's permits.
    async fn permits_through_the_pages(app) {
        let em_api = officer(&app, "em.perm", "EM").await;
        let mine = create_mine(&app, &em_api, mine_body("证照页面矿", 301)).await;
        let id = mine["id"].as_str().unwrap().to_owned();
        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        client.post(app.url("/login")).form(&[("username", "em.perm"), ("password", PASSWORD), ("csrf", &hidden(&login, "csrf"))]).send().await.unwrap();
        let page = client.get(app.url(&format!("/mines/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("登记证照") && page.contains("尚未登记证照"), "{page}");
        assert!(page.contains("安全生产许可证") && !page.contains(">采矿许可证<"), "EM may only record its own permit types");
        let csrf = hidden(&page, "csrf");
        let r = client.post(app.url(&format!("/mines/{id}/permits"))).form(&[
            ("csrf", csrf.as_str()), ("permit_type", "safety_production"), ("number", "（蒙）FM安许证字〔2023〕088"),
            ("holder", "证照页面矿有限公司"), ("issued_on", "2023-04-01"), ("expires_on", "2026-03-31"), ("area_km2", "abc"),
        ]).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("应为数字"));
        let r = client.post(app.url(&format!("/mines/{id}/permits"))).form(&[
            ("csrf", csrf.as_str()), ("permit_type", "safety_production"), ("number", "（蒙）FM安许证字〔2023〕088"),
            ("holder", "证照页面矿有限公司"), ("issued_on", "2023-04-01"), ("expires_on", "2026-03-31"),
        ]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], format!("/mines/{id}?ok=permit").as_str(), "saving a permit returns to the mine");
        let due = client.get(app.url("/permits?expiring_within_days=30")).send().await.unwrap().text().await.unwrap();
        assert!(due.contains("（蒙）FM安许证字〔2023〕088") && due.contains("即将到期") && due.contains("29 天"), "{due}");
        let mine_page = client.get(app.url(&format!("/mines/{id}?ok=permit"))).send().await.unwrap().text().await.unwrap();
        assert!(mine_page.contains("（蒙）FM安许证字〔2023〕088") && mine_page.contains("证照已保存"), "{mine_page}");
        let start = mine_page.find("href=\"/permits/").expect("the permit is linked from the mine") + 6;
        let permit_url = mine_page[start..].split('"').next().unwrap().to_owned();
        let r = client.post(app.url(&format!("{permit_url}/suspend"))).form(&[("csrf", csrf.as_str()), ("reason", "应急罚〔2026〕5号")]).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let p = client.get(app.url(&permit_url)).send().await.unwrap().text().await.unwrap();
        assert!(p.contains("暂扣") && p.contains("应急罚〔2026〕5号") && p.contains("恢复（解除暂扣）"), "{p}");

        officer(&app, "ee.perm", "EE").await;
        let ee = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = ee.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        ee.post(app.url("/login")).form(&[("username", "ee.perm"), ("password", PASSWORD), ("csrf", &hidden(&login, "csrf"))]).send().await.unwrap();
        let p = ee.get(app.url(&permit_url)).send().await.unwrap().text().await.unwrap();
        assert!(!p.contains("id=\"form-submit\"") && !p.contains("恢复（解除暂扣）"), "read-only for other departments");
    }
}

use crate::helpers::*;
