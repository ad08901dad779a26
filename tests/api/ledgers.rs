//! Ledgers (台账): the mine and permit registers as Excel, and importing mines from one.

use minecoord::platform::xlsx::read_first_sheet;
use serde_json::json;

use crate::mines::{create_mine, mine_body, officer};
use crate::on_both;

async fn download(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], minecoord::platform::xlsx::XLSX);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''"));
    read_first_sheet(&r.bytes().await.unwrap(), &Default::default()).unwrap()
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

on_both! {
    /// A ledger larger than the chunks it is read in comes out whole, in the list's order
    /// (soonest expiry first, those without expiry last, then by id), each permit beside its
    /// own mine, and with the list's filters.
    async fn a_large_permit_ledger_keeps_its_order_across_chunks(app) {
        use diesel::RunQueryDsl;
        let em = officer(&app, "em.officer", "EM").await;
        let a = create_mine(&app, &em, mine_body("大台账甲矿", 404)).await["id"].as_str().unwrap().to_owned();
        let b = create_mine(&app, &em, mine_body("大台账乙矿", 405)).await["id"].as_str().unwrap().to_owned();
        let n = 2_400;
        let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let mut want: Vec<(bool, Option<chrono::NaiveDate>, String, &str)> = Vec::new();
        let mut values = Vec::new();
        for i in 0..n {
            // Ids out of expiry order, many permits sharing a date, one in ten without one.
            let id = format!("p{:05}", (i * 7919) % 10_000);
            let expires = (i % 10 != 0).then(|| start + chrono::Duration::days((i * 37 % 300) as i64));
            let (mine, name) = if i % 2 == 0 { (&a, "大台账甲矿") } else { (&b, "大台账乙矿") };
            values.push(format!(
                "('{id}', '{mine}', 'safety_production', 'EM', 'N-{i}', '持证人', '2024-01-01', {}, '', '', '', '2026-03-01 00:00:00', '2026-03-01 00:00:00', 1)",
                expires.map_or("NULL".to_owned(), |d| format!("'{d}'"))
            ));
            want.push((expires.is_none(), expires, id, name));
        }
        let sql = format!(
            "INSERT INTO permits (id, mine_id, permit_type, issuing_department, number, holder, issued_on, expires_on, mineral, notes, override_reason, created_at, updated_at, version) VALUES {}",
            values.join(", ")
        );
        app.with_db(move |c| Ok(diesel::sql_query(sql).execute(c)?)).await;
        want.sort();
        let rows = download(&app, "/api/v1/permits/export.xlsx", &em).await;
        assert_eq!(rows.len(), n + 1, "every permit and the header");
        let got: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[15].as_str(), r[0].as_str())).collect();
        let expected: Vec<(&str, &str)> = want.iter().map(|w| (w.2.as_str(), w.3)).collect();
        assert_eq!(got, expected);
        let rows = download(&app, &format!("/api/v1/permits/export.xlsx?mine_id={a}"), &em).await;
        assert_eq!(rows.len(), n / 2 + 1);
        assert!(rows[1..].iter().all(|r| r[0] == "大台账甲矿"));
    }
}

use crate::helpers::*;

/// Builds an .xlsx ledger with the export's headers (a subset is enough).
fn workbook(headers: &[&str], rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn import(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/mines/import"))
        .bearer_auth(token)
        .header("content-type", minecoord::platform::xlsx::XLSX)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

const HEADERS: [&str; 13] = [
    "矿山名称",
    "企业名称",
    "统一社会信用代码",
    "所在街镇",
    "矿山类型",
    "开采矿种",
    "开采方式",
    "状态",
    "日常安全监管部门",
    "安全风险等级",
    "尾矿库全库容（万立方米）",
    "尾矿库坝高（米）",
    "头顶库",
];

on_both! {
    /// A ledger with Chinese names or codes imports in one go, grades and supervisors included.
    async fn a_valid_ledger_imports_every_row(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let (c1, c2) = (crate::mines::credit_code(451), crate::mines::credit_code(452));
        let bytes = workbook(&HEADERS, &[
            vec!["导入甲砂石矿", "导入甲有限公司", &c1, "卜尔汉图镇", "建筑用砂石", "建筑用石料", "露天", "生产", "区应急局", "C级 · 较大风险", "", "", ""],
            vec!["导入乙尾矿库", "导入乙有限公司", &c2, "KBJD", "tailings_pond", "铁尾矿", "open_pit", "停产停建", "EM", "D", "1500", "45", "是"],
        ]);
        let r = import(&app, &em, bytes).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["imported"], 2);
        let list: serde_json::Value = app.get("/api/v1/mines", &em).await.json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let pond = items.iter().find(|m| m["name"] == "导入乙尾矿库").unwrap();
        assert_eq!(pond["status"], "suspended");
        assert_eq!(pond["risk_grade"], "major");
        assert_eq!(pond["supervisor_department"], "EM");
        assert_eq!(pond["tailings"]["grade"], 3);
        assert_eq!(pond["tailings"]["overhead"], true);
        let history: serde_json::Value = app.get(&format!("/api/v1/mines/{}/history", pond["id"].as_str().unwrap()), &em).await.json().await.unwrap();
        assert!(history.to_string().contains("台账导入"));
    }
}

on_both! {
    /// One bad row stops the whole import, and every bad row and column is named.
    async fn a_ledger_with_mistakes_imports_nothing(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let good = crate::mines::credit_code(461);
        let bytes = workbook(&HEADERS, &[
            vec!["好矿", "好矿有限公司", &good, "BEHT", "gold", "金矿", "地下", "生产", "", "", "", "", ""],
            vec!["坏代码矿", "坏代码有限公司", "91150207000000461X", "BEHT", "gold", "金矿", "地下", "生产", "", "", "", "", ""],
            vec!["", "", "", "", "", "", "", "", "", "", "", "", ""],
            vec!["坏街镇矿", "坏街镇有限公司", &crate::mines::credit_code(462), "火星镇", "gold", "金矿", "地下", "已关闭", "", "E级", "", "", ""],
        ]);
        let (status, body) = problem(import(&app, &em, bytes).await).await;
        assert_eq!(status, 422, "{body}");
        let f = fields(&body);
        assert!(f.contains(&"rows[3].credit_code".to_owned()), "{f:?}");
        assert!(f.contains(&"rows[5].township".to_owned()) && f.contains(&"rows[5].risk_grade".to_owned()), "{f:?}");
        assert!(!f.iter().any(|x| x.starts_with("rows[2]") || x.starts_with("rows[4]")), "good and empty rows are fine: {f:?}");
        assert!(body["errors"].to_string().contains("第 3 行“统一社会信用代码”"), "{body}");
        assert_eq!(app.count("mines").await, 0, "nothing imported");
        assert_eq!(app.count("audit_log WHERE entity_type = 'mine'").await, 0);
    }
}

on_both! {
    /// Re-importing an export is refused row by row; wrong files and users are refused.
    async fn re_imports_wrong_files_and_wrong_users_are_refused(app) {
        let em = officer(&app, "em.officer", "EM").await;
        create_mine(&app, &em, mine_body("已有矿", 471)).await;
        let export = app.get("/api/v1/mines/export.xlsx", &em).await.bytes().await.unwrap().to_vec();
        let (status, body) = problem(import(&app, &em, export.clone()).await).await;
        assert_eq!(status, 422);
        assert!(body["errors"].to_string().contains("已在台账中"), "{body}");
        let (status, body) = problem(import(&app, &em, b"not a spreadsheet".to_vec()).await).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = problem(import(&app, &em, workbook(&["名称"], &[vec!["x"]])).await).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&body), vec!["file"]);
        let ee = officer(&app, "ee.officer", "EE").await;
        assert_eq!(problem(import(&app, &ee, export.clone()).await).await.0, 403);
        let nr = officer(&app, "nr.officer", "NR").await;
        let bytes = workbook(&HEADERS, &[vec!["国土导入矿", "国土导入有限公司", &crate::mines::credit_code(472), "BEHT", "gold", "金矿", "地下", "生产", "区应急局", "", "", "", ""]]);
        let (status, body) = problem(import(&app, &nr, bytes).await).await;
        assert_eq!(status, 422, "NR may not import supervisors");
        assert!(body["errors"].to_string().contains("只有区应急局或协调办"), "{body}");
        assert_eq!(app.count("mines").await, 1);
    }
}

/// A workbook whose sheet names its last possible cell: a few kilobytes that once made the
/// reader allocate 16 384 × 1 048 576 cells and abort the service.
fn far_corner_workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "矿山名称").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    book.save_to_buffer().unwrap()
}

/// A valid ledger with one more part that inflates to `padding` bytes of zeros (a few
/// kilobytes compressed): the shape of a zip bomb.
fn padded_workbook(padding: usize) -> Vec<u8> {
    use std::io::{Cursor, Write};
    let plain = workbook(
        &HEADERS,
        &[vec![
            "填充矿",
            "填充有限公司",
            &crate::mines::credit_code(481),
            "BEHT",
            "sand_gravel",
            "建筑用石料",
            "露天",
            "生产",
            "",
            "",
            "",
            "",
            "",
        ]],
    );
    let mut source = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..source.len() {
        out.raw_copy_file(source.by_index(i).unwrap()).unwrap();
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    out.start_file("xl/media/padding.bin", options).unwrap();
    out.write_all(&vec![0u8; padding]).unwrap();
    out.finish().unwrap().into_inner()
}

on_both! {
    /// A sheet that claims or holds cells past the row and column caps is refused before it
    /// is read: 422 naming the limit, nothing written, and the service still answers.
    async fn a_workbook_past_the_row_and_column_caps_is_refused(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let bytes = far_corner_workbook();
        assert!(bytes.len() < 16 * 1024, "the crafted file is small: {} bytes", bytes.len());
        let (status, body) = problem(import(&app, &em, bytes).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["file"]);
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("20000 行、60 列"), "{message}");
        assert!(message.contains("第 1048576 行、第 16384 列"), "{message}");
        assert_eq!(app.count("mines").await, 0);
        assert_eq!(app.get("/api/v1/me", &em).await.status(), 200, "the service is still up");
    }
}

on_both! {
    settings = |s| { s.import.max_unzipped_bytes = 1024 * 1024; };
    /// A workbook whose parts inflate past `import.max_unzipped_bytes` is refused whatever
    /// sizes the archive declares; the same ledger without the padding imports.
    async fn a_workbook_that_inflates_past_the_limit_is_refused(app) {
        let em = officer(&app, "em.officer", "EM").await;
        let bomb = padded_workbook(2 * 1024 * 1024);
        assert!(bomb.len() < 64 * 1024, "compressed it is small: {} bytes", bomb.len());
        let (status, body) = problem(import(&app, &em, bomb).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&body), vec!["file"]);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("解压后超过 1 MB"), "{body}");
        assert_eq!(app.count("mines").await, 0);
        let (status, body) = problem(import(&app, &em, padded_workbook(100 * 1024)).await).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(app.count("mines").await, 1);
    }
}
