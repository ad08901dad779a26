use diesel::RunQueryDsl;
use minecoord::platform::audit::{verify, Verdict};
use serde_json::{json, Value};

use crate::on_both;

on_both! {
    /// Every change through the API writes an entry with actor, action, before and after.
    async fn changes_write_audit_entries(app) {
        let before = app.count("audit_log").await;
        let id = app.create_user("he.yi", "officer", Some("EM"), None).await;
        app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, json!({"email": "heyi@example.gov.cn"})).await;
        assert_eq!(app.count("audit_log").await, before + 2);
        let page: Value = app.get(&format!("/api/v1/audit?entity=user&entity_id={id}"), &app.admin_token).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["action"], "update");
        assert_eq!(items[0]["before"]["email"], Value::Null);
        assert_eq!(items[0]["after"]["email"], "heyi@example.gov.cn");
        assert!(items[0]["actor_name"].as_str().unwrap().contains("admin"));
        assert_eq!(items[1]["action"], "create");
        assert!(!items[1]["after"].to_string().contains("argon2"), "no password hash in the record");
        // A refused change writes nothing.
        let n = app.count("audit_log").await;
        app.post("/api/v1/users", &app.admin_token, json!({"username": "x"})).await;
        assert_eq!(app.count("audit_log").await, n);
    }
}

on_both! {
    /// The chain verifies; altering an entry or removing one is found and named.
    async fn the_chain_detects_alteration_and_removal(app) {
        app.create_user("a.b", "officer", Some("EM"), None).await;
        app.create_user("c.d", "officer", Some("EE"), None).await;
        app.seal().await;
        let verdict = app.with_db(verify).await;
        let total = match verdict { Verdict::Intact { entries } => entries, other => panic!("{other:?}") };
        assert!(total >= 3);

        app.with_db(|c| Ok(diesel::sql_query("UPDATE audit_log SET actor_name = '别人' WHERE seq = 2").execute(c)?)).await;
        assert_eq!(app.with_db(verify).await, Verdict::Broken { seq: 2, reason: "第 2 条记录的内容已被修改".into() });

        // Removing the last entry is found too, through the head of the chain.
        app.with_db(|c| Ok(diesel::sql_query("UPDATE audit_log SET actor_name = '基础数据初始化' WHERE seq = 2").execute(c)?)).await;
        assert!(matches!(app.with_db(verify).await, Verdict::Intact { .. }));
        app.with_db(move |c| Ok(diesel::sql_query(format!("DELETE FROM audit_log WHERE seq = {total}")).execute(c)?)).await;
        assert!(matches!(app.with_db(verify).await, Verdict::Broken { seq, .. } if seq == total));

        app.with_db(|c| Ok(diesel::sql_query("DELETE FROM audit_log WHERE seq = 3").execute(c)?)).await;
        assert!(matches!(app.with_db(verify).await, Verdict::Broken { seq: 3, .. }));
    }
}

on_both! {
    /// Concurrent changes keep one unbroken chain.
    async fn concurrent_writers_keep_the_chain_whole(app) {
        let mut tasks = Vec::new();
        for i in 0..12 {
            let client = app.client.clone();
            let url = app.url("/api/v1/townships");
            let token = app.admin_token.clone();
            tasks.push(tokio::spawn(async move {
                client.post(url).bearer_auth(token).json(&json!({"code": format!("T{i:02}"), "name": format!("镇{i}")})).send().await.unwrap().status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        app.seal().await;
        assert!(matches!(app.with_db(verify).await, Verdict::Intact { .. }));
    }
}

on_both! {
    /// The audit list pages newest first.
    async fn audit_list_pages_newest_first(app) {
        let page: Value = app.get("/api/v1/audit?limit=5", &app.admin_token).await.json().await.unwrap();
        let ids: Vec<i64> = page["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 5);
        assert!(ids.windows(2).all(|w| w[0] == w[1] + 1));
        let cursor = page["next_cursor"].as_str().unwrap();
        let next: Value = app.get(&format!("/api/v1/audit?limit=5&cursor={cursor}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(next["items"][0]["id"].as_i64().unwrap(), ids[4] - 1);
    }
}

use crate::helpers::*;

on_both! {
    /// Writers append entries without touching the chain's head; on PostgreSQL they wait
    /// unsealed (listed, without a place in the chain) until a sealer links them. Two
    /// instances sealing at once never link an entry twice or leave a gap: whoever holds
    /// the head seals, the other skips the round.
    async fn entries_join_the_chain_once_when_sealed(app) {
        let before_seal = app.count("audit_log").await;
        app.seal().await;
        assert_eq!(app.count("audit_log WHERE seq IS NULL").await, 0);
        let mut tasks = Vec::new();
        for i in 0..20 {
            let client = app.client.clone();
            let url = app.url("/api/v1/townships");
            let token = app.admin_token.clone();
            tasks.push(tokio::spawn(async move {
                client.post(url).bearer_auth(token).json(&json!({"code": format!("S{i:02}"), "name": format!("封存镇{i}")})).send().await.unwrap().status()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        // A second instance, to seal beside the first at once, in small batches.
        let other = app.another_instance(|s| s.audit.seal_batch = 3).await;
        let total = app.count("audit_log").await;
        assert!(total >= before_seal + 20);
        let waiting = app.count("audit_log WHERE seq IS NULL").await;
        let pg = app.db.url.starts_with("postgres");
        if pg {
            assert!(waiting >= 20, "PostgreSQL's writers leave sealing to the sealer");
        } else {
            assert_eq!(waiting, 0, "SQLite's writer seals as it writes");
        }
        // Waiting entries are listed all the same, without a place in the chain yet.
        let page: Value = app.get("/api/v1/audit?entity=township&limit=1", &app.admin_token).await.json().await.unwrap();
        assert_eq!(page["items"][0]["seq"].is_null(), pg, "{page}");
        assert_eq!(page["items"][0]["hash"].is_null(), pg, "{page}");

        let a = app.state.clone();
        let b = other.state.clone();
        let (ra, rb) = tokio::join!(
            async move { let mut n = 0; for _ in 0..30 { if let minecoord::platform::audit::Sealed::Entries(k) = minecoord::app::jobs::seal_audit(&a).await.unwrap() { n += k } } n },
            async move { let mut n = 0; for _ in 0..30 { if let minecoord::platform::audit::Sealed::Entries(k) = minecoord::app::jobs::seal_audit(&b).await.unwrap() { n += k } } n },
        );
        assert_eq!((ra + rb) as i64, waiting, "each waiting entry sealed once");
        assert_eq!(app.count("audit_log WHERE seq IS NULL").await, 0);
        assert_eq!(app.with_db(verify).await, Verdict::Intact { entries: total });
        let page: Value = app.get("/api/v1/audit?entity=township&limit=1", &app.admin_token).await.json().await.unwrap();
        assert!(page["items"][0]["seq"].as_i64().unwrap() <= total, "{page}");
        assert_eq!(page["items"][0]["hash"].as_str().unwrap().len(), 64, "{page}");
    }
}
