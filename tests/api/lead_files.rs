//! Photos and documents on leads: through the API and the pages (multipart), with type
//! and size limits, readable by the lead's parties only.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::leads::raise;
use crate::on_both;

/// A multipart/form-data body: text fields, then files (field, name, type, bytes).
pub(crate) fn multipart(
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "----minecoord-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (k, name, kind, bytes) in files {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n").as_bytes());
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9,
];

on_both! {
    settings = |s| { s.http.max_upload_bytes = 4096; };
    async fn files_through_the_api(app) {
        app.create_user("town.f", "township", None, Some("BEHT")).await;
        app.create_user("ee.f", "officer", Some("EE"), None).await;
        app.create_user("em.f", "officer", Some("EM"), None).await;
        let town = app.token_for("town.f", PASSWORD).await;
        let em = app.token_for("em.f", PASSWORD).await;
        let lead = raise(&app, &town, json!({"title": "带照片", "category": "dust", "description": "扬尘。"})).await;
        let id = lead["id"].as_str().unwrap();
        let upload = |token: &str, name: &str, kind: &str, bytes: Vec<u8>| {
            app.client.post(app.url(&format!("/api/v1/leads/{id}/attachments?name={name}"))).bearer_auth(token).header("content-type", kind).body(bytes).send()
        };
        let r = upload(&town, "现场.jpg", "image/jpeg", JPEG.to_vec()).await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 201, "{body}");
        let file_id = body[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(body[0]["size_bytes"], JPEG.len());
        let r = upload(&town, "tool.exe", "application/octet-stream", vec![1, 2, 3]).await.unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, 422);
        assert!(body.to_string().contains("类型不支持"), "{body}");
        let r = upload(&town, "big.jpg", "image/jpeg", vec![0; 5000]).await.unwrap();
        assert_eq!(problem(r).await.0, 413);
        assert_eq!(upload(&em, "x.jpg", "image/jpeg", JPEG.to_vec()).await.unwrap().status(), 404, "not a party");
        assert_eq!(app.count("lead_attachments").await, 1, "refused files leave nothing");

        let ee = app.token_for("ee.f", PASSWORD).await;
        let r = app.get(&format!("/api/v1/leads/{id}/attachments/{file_id}"), &ee).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
        assert_eq!(r.bytes().await.unwrap().as_ref(), JPEG);
        assert_eq!(app.get(&format!("/api/v1/leads/{id}/attachments/{file_id}"), &em).await.status(), 404);
        let v: Value = app.get(&format!("/api/v1/leads/{id}"), &ee).await.json().await.unwrap();
        assert_eq!(v["attachments"][0]["file_name"], "现场.jpg");
        assert_eq!(v["attachments"][0]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(v["timeline"].as_array().unwrap().last().unwrap()["kind"], "attachment");
    }
}

on_both! {
    /// Photos with the raise form, evidence with a verification step, through the pages.
    async fn photos_and_evidence_through_the_pages(app) {
        app.create_user("town.fp", "township", None, Some("BEHT")).await;
        app.create_user("ee.fp", "officer", Some("EE"), None).await;
        let (town, csrf) = browser_session(&app, "town.fp", PASSWORD).await;
        let form = town.get(app.url("/leads/new")).send().await.unwrap().text().await.unwrap();
        assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("type=\"file\""), "{form}");
        let (ct, body) = multipart(
            &[("csrf", &csrf), ("title", "拍照吹哨"), ("category", "dust"), ("urgency", "normal"), ("description", "见照片。"), ("mine_id", ""), ("lon", ""), ("lat", "")],
            &[("photos", "现场1.jpg", "image/jpeg", JPEG), ("photos", "现场2.png", "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), ("photos", "", "application/octet-stream", &[])],
        );
        let r = town.post(app.url("/leads/new")).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let path = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
        assert_eq!(app.count("lead_attachments").await, 2, "the empty file input adds nothing");
        let (ct, body) = multipart(&[("csrf", &csrf), ("title", "坏文件"), ("category", "dust"), ("description", "x")], &[("photos", "a.exe", "application/x-msdownload", b"MZ")]);
        let r = town.post(app.url("/leads/new")).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("类型不支持"));
        let (ct, body) = multipart(&[("csrf", "wrong"), ("title", "x"), ("category", "dust"), ("description", "x")], &[]);
        assert_eq!(town.post(app.url("/leads/new")).header("content-type", ct).body(body).send().await.unwrap().status(), 403);

        let (ee, ee_csrf) = browser_session(&app, "ee.fp", PASSWORD).await;
        ee.post(app.url(&format!("{path}/acknowledge"))).form(&[("csrf", ee_csrf.as_str())]).send().await.unwrap();
        let (ct, body) = multipart(&[("csrf", &ee_csrf), ("substantiated", "true"), ("note", "属实，见笔录")], &[("evidence", "笔录.pdf", "application/pdf", b"%PDF-1.4 test")]);
        let r = ee.post(app.url(&format!("{path}/verify"))).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let page = ee.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("现场1.jpg") && page.contains("笔录.pdf") && page.contains("已核查"), "{page}");
        let tied: i64 = app.count("lead_attachments WHERE event_id IS NOT NULL").await;
        assert_eq!(tied, 1, "the evidence belongs to the verification step");
        let link_start = page.find("/attachments/").unwrap();
        let href = &page[page[..link_start].rfind('"').unwrap() + 1..link_start + page[link_start..].find('"').unwrap()];
        let r = town.get(app.url(href)).send().await.unwrap();
        assert_eq!(r.status(), 200, "the township opens the photo from the page");
    }
}
