//! Several instances on one PostgreSQL database, proven with real processes: three
//! `minecoord serve` processes with the deadline scheduler, the outbox worker and the audit
//! sealer on in all three, behind a round-robin client; then one of them killed with
//! SIGKILL in the middle of the load.
//!
//! The processes keep real time, so the test waits for outcomes (every deadline escalated,
//! every message sent, every audit entry sealed) by polling the database within a bound;
//! it asserts counts, never durations.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::serve_process::Instance;
use crate::smtp_sink::SmtpSink;

async fn serve(app: &TestApp, sink: &SmtpSink, log: &std::path::Path) -> Instance {
    let settings = [
        ("MINECOORD_HTTP__WORKERS", "2".to_owned()),
        ("MINECOORD_DATABASE__URL", app.db.url.clone()),
        ("MINECOORD_DATABASE__POOL_SIZE", "6".to_owned()),
        ("MINECOORD_AUTH__KEY_FILE", app.db.key_file.clone()),
        ("MINECOORD_AUDIT__CHECKPOINT_FILE", app.db.checkpoint_file()),
        ("MINECOORD_CALENDAR__DIR", "does-not-exist".to_owned()),
        ("MINECOORD_SMTP__URL", sink.url()),
        ("MINECOORD_OUTBOX__WORKER", "true".to_owned()),
        ("MINECOORD_OUTBOX__POLL_INTERVAL", "200ms".to_owned()),
        // A killed worker's claims are taken over once their lease runs out.
        ("MINECOORD_OUTBOX__LEASE", "3s".to_owned()),
        ("MINECOORD_SCHEDULER__ENABLED", "true".to_owned()),
        ("MINECOORD_SCHEDULER__TICK", "300ms".to_owned()),
        (
            "MINECOORD_LEADS__TIME_LIMITS__NORMAL__ACKNOWLEDGE",
            "2s".to_owned(),
        ),
        ("MINECOORD_LEADS__REMIND_BEFORE__NORMAL", "1s".to_owned()),
        ("MINECOORD_AUDIT__SEALER", "true".to_owned()),
        ("MINECOORD_AUDIT__SEAL_INTERVAL", "100ms".to_owned()),
    ];
    Instance::serve(&settings, log).await
}

/// Polls `sql` (a `SELECT COUNT(*) AS n …`) until it is `want`, within a bound.
async fn until_count(app: &TestApp, what: &str, sql: &'static str, want: i64) {
    let mut last = -1;
    for _ in 0..600 {
        last = app.count(sql).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {last}, waited for {want}");
}

/// What a round of raising came to: the ids answered with 201, and every status seen.
#[derive(Default)]
struct Round {
    created: Vec<String>,
    statuses: BTreeMap<u16, usize>,
    refused: usize,
}

/// Raises `n` leads titled `{prefix}{i}` from `clients` concurrent clients, request `i`
/// going to instance `i % bases.len()`.
async fn raise_round(
    bases: Vec<String>,
    token: String,
    prefix: &'static str,
    n: usize,
    clients: usize,
) -> Round {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (bases, token, next) = (bases.clone(), token.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut round = Round::default();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    return round;
                }
                let base = &bases[i % bases.len()];
                let r = client
                    .post(format!("{base}/api/v1/leads"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("{prefix}{i}"), "category": "dust", "description": "道路扬尘。"}))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        *round.statuses.entry(status).or_default() += 1;
                        if status == 201 {
                            let body: Value = r.json().await.unwrap();
                            round.created.push(body["id"].as_str().unwrap().to_owned());
                        }
                    }
                    Err(_) => round.refused += 1, // a dead instance: no answer at all
                }
            }
        }));
    }
    let mut all = Round::default();
    for t in tasks {
        let r = t.await.unwrap();
        all.created.extend(r.created);
        for (s, k) in r.statuses {
            *all.statuses.entry(s).or_default() += k;
        }
        all.refused += r.refused;
    }
    all
}

/// Every created lead is stored, numbered once; every missed deadline escalated once with one
/// event; every message of the outbox sent; every audit entry sealed, and the chain verifies.
async fn check_exactly_once(app: &TestApp, created: &BTreeSet<String>) {
    let stored: BTreeSet<String> = app
        .with_db(|c| {
            use diesel::prelude::*;
            use minecoord::platform::db::schema::leads;
            Ok(leads::table.select(leads::id).load::<String>(c)?)
        })
        .await
        .into_iter()
        .collect();
    assert!(
        created.is_subset(&stored),
        "every lead answered with 201 is stored"
    );
    assert_eq!(
        app.count("(SELECT number FROM leads GROUP BY number HAVING COUNT(*) > 1) d")
            .await,
        0,
        "no lead number twice"
    );
    until_count(
        app,
        "acknowledge deadlines missed and not escalated",
        "lead_deadlines WHERE stage = 'acknowledge' AND met_at IS NULL AND escalated_at IS NULL",
        0,
    )
    .await;
    let leads = app.count("leads").await;
    assert_eq!(
        app.count("lead_deadlines WHERE stage = 'acknowledge' AND escalated_at IS NOT NULL")
            .await,
        leads,
        "every lead's missed deadline escalated"
    );
    assert_eq!(
        app.count("(SELECT lead_id FROM lead_events WHERE kind = 'overdue' GROUP BY lead_id HAVING COUNT(*) > 1) d").await,
        0,
        "no lead escalated twice"
    );
    assert_eq!(app.count("lead_events WHERE kind = 'overdue'").await, leads);
    until_count(
        app,
        "messages not yet sent",
        "outbox WHERE status <> 'sent'",
        0,
    )
    .await;
    until_count(
        app,
        "audit entries not yet sealed",
        "audit_log WHERE seq IS NULL",
        0,
    )
    .await;
    let (code, out) = crate::cli::run_minecoord(app, &["audit", "verify"], None, None);
    assert_eq!(code, 0, "{out}");
}

/// The message ids the sink received, each with how many times.
fn arrivals(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for m in sink.messages() {
        *seen
            .entry(m.message_id().trim_matches(['<', '>']).to_owned())
            .or_default() += 1;
    }
    seen
}

async fn sent_ids(app: &TestApp) -> BTreeSet<String> {
    app.with_db(|c| {
        use diesel::prelude::*;
        use minecoord::platform::db::schema::outbox;
        Ok(outbox::table.select(outbox::message_id).load::<String>(c)?)
    })
    .await
    .into_iter()
    .map(|id| id.trim_matches(['<', '>']).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_act_exactly_once_and_survive_a_kill() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let mail = |u: &str| format!("{u}@example.gov.cn");
    for (username, role, dept, town) in [
        ("town.a", "township", None, Some("BEHT")),
        ("ee.a", "officer", Some("EE"), None),
        ("ee.head", "head", Some("EE"), None),
        ("coord.a", "coordinator", Some("NR"), None),
    ] {
        let id = app.create_user(username, role, dept, town).await;
        let r = app
            .patch(
                &format!("/api/v1/users/{id}"),
                &app.admin_token,
                json!({"email": mail(username)}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    app.stop().await;

    let sink = SmtpSink::start().await;
    let logs = tempfile::tempdir().unwrap();
    let mut instances = Vec::new();
    for i in 0..3 {
        instances.push(serve(&app, &sink, &logs.path().join(format!("instance-{i}.log"))).await);
    }
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    // Signed in through the processes, which keep real time (the test app's clock does not).
    let login = |username: &'static str, password: &'static str| {
        let base = bases[0].clone();
        async move {
            let r = reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let token = login("town.a", PASSWORD).await;
    let admin_token = login("admin", ADMIN_PASSWORD).await;

    // Three instances under load: everything happens exactly once.
    let first = raise_round(bases.clone(), token.clone(), "甲", 90, 9).await;
    assert_eq!(first.refused, 0);
    assert_eq!(
        first.statuses,
        BTreeMap::from([(201, 90)]),
        "no 5xx, no refusal"
    );
    let mut created: BTreeSet<String> = first.created.into_iter().collect();
    check_exactly_once(&app, &created).await;
    assert_eq!(
        app.count("leads WHERE CAST(substr(number, 9) AS INTEGER) BETWEEN 1 AND 90")
            .await,
        90,
        "numbers 1 to 90 of the year, none skipped"
    );
    let sent = sent_ids(&app).await;
    let arrived = sink.wait_for(sent.len(), Duration::from_secs(30)).await;
    let seen = arrivals(&sink);
    assert!(!sent.is_empty());
    assert_eq!(arrived.len(), sent.len(), "each message delivered once");
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), sent);

    // Reference data changed through one instance is seen by the others at their next
    // request: each keeps it under the stamp the database changes with every write.
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, base: &str, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(&admin_token)
            .json(&body)
            .send()
    };
    let raise_at = |base: &str, title: &str| {
        http.post(format!("{base}/api/v1/leads"))
            .bearer_auth(&token)
            .json(&json!({"title": title, "category": "dust", "description": "道路扬尘。"}))
            .send()
    };
    for base in &bases {
        assert_eq!(
            raise_at(base, "丙").await.unwrap().status(),
            201,
            "each instance has read the tables"
        );
    }
    let r = admin(
        reqwest::Method::PATCH,
        &bases[0],
        "/api/v1/departments/EE",
        json!({"name": "区生态环境分局（更名）"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    for base in &bases[1..] {
        let lead: Value = raise_at(base, "丁").await.unwrap().json().await.unwrap();
        assert_eq!(
            lead["primary_department_name"], "区生态环境分局（更名）",
            "{base}"
        );
        created.insert(lead["id"].as_str().unwrap().to_owned());
    }
    let r = admin(
        reqwest::Method::PATCH,
        &bases[2],
        "/api/v1/lead-categories/dust",
        json!({"active": false}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    for base in &bases[..2] {
        let (status, body) = problem(raise_at(base, "戊").await.unwrap()).await;
        assert_eq!(
            (status, fields(&body)),
            (422, vec!["category".to_owned()]),
            "{base}: {body}"
        );
    }
    let r = admin(
        reqwest::Method::PATCH,
        &bases[1],
        "/api/v1/lead-categories/dust",
        json!({"active": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(raise_at(&bases[0], "己").await.unwrap().status(), 201);

    // One instance killed with SIGKILL in the middle of the next round.
    let round = tokio::spawn(raise_round(bases.clone(), token.clone(), "乙", 150, 9));
    while app.count("leads WHERE title LIKE '乙%'").await < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut killed = instances.remove(1);
    killed.kill();
    let second = round.await.unwrap();
    let live: usize = second.statuses.values().sum();
    assert_eq!(live + second.refused, 150);
    assert!(second.refused > 0, "the killed instance refused its share");
    assert!(
        second.statuses.keys().all(|s| *s == 201),
        "no 5xx from the live instances: {:?}",
        second.statuses
    );
    created.extend(second.created);
    check_exactly_once(&app, &created).await;
    // A message the killed worker handed to the mail server but had not yet marked sent is
    // sent again after its lease: it arrives twice under one Message-ID (readers' mail
    // programs show it once). None is lost, and nothing else repeats.
    let sent = sent_ids(&app).await;
    sink.wait_for(sent.len(), Duration::from_secs(30)).await;
    let seen = arrivals(&sink);
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        sent,
        "every message arrived"
    );
    let repeated: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "three instances: {} leads stored, {} answered 201, {} refused by the killed instance, \
         {} messages sent, {} arrived twice",
        app.count("leads").await,
        created.len(),
        second.refused,
        sent.len(),
        repeated
    );
    assert!(
        repeated <= 20,
        "at most the killed worker's batch repeats: {repeated}"
    );
    drop(killed);
}
