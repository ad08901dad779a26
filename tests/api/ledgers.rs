//! Ledgers (台账): the mine and permit registers as Excel, and importing mines from one.

use minecoord::ledger::read_first_sheet;
use serde_json::json;

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

async fn download(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], minecoord::ledger::XLSX);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''"));
    read_first_sheet(&r.bytes().await.unwrap()).unwrap()
}

on_both! {
    /// The mine register exports with Chinese headers and the list's filters.
    async fn the_mine_register_exports_to_excel(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let a = create_mine(&app, &em, mine_body("导出1号矿", 401)).await;
        app.put(&format!("/api/v1/mines/{}/risk-grade", a["id"].as_str().unwrap()), &em, json!({"risk_grade": "general", "reason": "定级"})).await;
        let mut b = mine_body("导出2号矿", 402);
        b["township"] = json!("KBJD");
        create_mine(&app, &em, b).await;
        let rows = download(&app, "/api/v1/mines/export.xlsx", &em).await;
        assert_eq!(rows[0][0], "矿山名称");
        assert_eq!(rows[0][2], "统一社会信用代码");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1][0], "导出1号矿");
        assert_eq!(rows[1][3], "卜尔汉图镇");
        assert_eq!(rows[1][9], "B级 · 一般风险");
        assert_eq!(rows[1][21], a["id"].as_str().unwrap());
        let rows = download(&app, "/api/v1/mines/export.xlsx?township=KBJD", &em).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][0], "导出2号矿");
    }
}

on_both! {
    /// The permit ledger lists permits soonest expiry first with their status.
    async fn the_permit_ledger_exports_to_excel(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let m = create_mine(&app, &em, mine_body("证照导出矿", 403)).await;
        let path = format!("/api/v1/mines/{}/permits", m["id"].as_str().unwrap());
        for (n, issued, expires) in [("S-B", "2025-06-01", "2028-05-31"), ("S-A", "2023-05-20", "2026-05-19")] {
            let r = app.post(&path, &em, json!({"permit_type": "safety_production", "number": n, "holder": "证照导出矿有限公司", "issued_on": issued, "expires_on": expires})).await;
            assert_eq!(r.status(), 201);
        }
        let rows = download(&app, "/api/v1/permits/export.xlsx", &em).await;
        assert_eq!(rows[0][2], "证号");
        assert_eq!((rows[1][2].as_str(), rows[1][7].as_str()), ("S-A", "即将到期"));
        assert_eq!((rows[2][2].as_str(), rows[2][7].as_str()), ("S-B", "有效"));
        assert_eq!(rows[1][0], "证照导出矿");
    }
}

use crate::helpers::*;
