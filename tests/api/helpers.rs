//! The test harness: the real service on a random port, on a fresh SQLite file or a
//! fresh PostgreSQL database, with a clock the test moves.

use std::sync::Arc;

use actix_web::web;
use chrono::{TimeZone, Utc};
use diesel::{Connection, RunQueryDsl};
use minecoord::app::startup::Application;
use minecoord::platform::clock::ManualClock;
use minecoord::platform::config::Settings;
use minecoord::platform::error::AppResult;
use minecoord::web::AppState;
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "Qiye-Anquan-2026";
pub const PASSWORD: &str = "Jiancha-2026-ok";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one body: `mod name { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! on_both {
    ($(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block) => {
        $crate::on_both! { settings = |_s| {}; $(#[doc = $doc])* async fn $name($app) $body }
    };
    (settings = $adjust:expr; $(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::helpers::*;

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::spawn_with(Backend::Sqlite, $adjust).await {
                    run(app).await
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn_with(Backend::Postgres, $adjust).await {
                    run(app).await
                }
            }
        }
    };
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Under CI a missing prerequisite fails the run; elsewhere the test is skipped, loudly.
pub fn skip_or_fail(what: &str) {
    if in_ci() {
        panic!("CI=true but {what}");
    }
    eprintln!("SKIPPED: {what} (set CI=true to make this a failure)");
}

pub fn pg_base_url() -> String {
    std::env::var("MINECOORD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub struct TestDb {
    pub url: String,
    /// The service's key file (created by the service on first start).
    pub key_file: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new(backend: Backend) -> Option<Self> {
        minecoord::platform::db::init_tls();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("minecoord.db").display());
                Some(Self {
                    url,
                    key_file: key_file_in(&dir),
                    pg_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let base = pg_base_url();
                let mut admin = match diesel::PgConnection::establish(&format!("{base}/postgres")) {
                    Ok(c) => c,
                    Err(e) => {
                        skip_or_fail(&format!("PostgreSQL is not reachable at {base}: {e}"));
                        return None;
                    }
                };
                let name = format!("mc_test_{}", uuid::Uuid::new_v4().simple());
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let dir = tempfile::tempdir().expect("temp dir");
                Some(Self {
                    url: format!("{base}/{name}"),
                    key_file: key_file_in(&dir),
                    pg_name: Some(name),
                    _dir: Some(dir),
                })
            }
        }
    }
}

impl TestDb {
    /// The audit checkpoint file, beside the key file.
    pub fn checkpoint_file(&self) -> String {
        std::path::Path::new(&self.key_file)
            .with_file_name("audit-checkpoints.jsonl")
            .display()
            .to_string()
    }
}

impl TestDb {
    /// A copy of this database as it is now, dropped with the returned value: a standby
    /// that stopped replaying at this moment. On PostgreSQL the copy is a template copy,
    /// which needs every other session of this database gone: stop its instances first.
    pub fn snapshot(&self) -> TestDb {
        match &self.pg_name {
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                let dir = tempfile::tempdir().expect("temp dir");
                let copy = dir.path().join("replica.db");
                let mut conn =
                    diesel::SqliteConnection::establish(path).expect("open the database");
                diesel::sql_query(format!("VACUUM INTO '{}'", copy.display()))
                    .execute(&mut conn)
                    .expect("copy the database");
                TestDb {
                    url: format!("sqlite://{}", copy.display()),
                    key_file: self.key_file.clone(),
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Some(name) => {
                let base = pg_base_url();
                let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))
                    .expect("PostgreSQL answers");
                let copy = format!("{name}_replica");
                diesel::sql_query(format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .execute(&mut admin)
                .expect("end the sessions");
                diesel::sql_query(format!("CREATE DATABASE {copy} TEMPLATE {name}"))
                    .execute(&mut admin)
                    .expect("copy the database");
                TestDb {
                    url: format!("{base}/{copy}"),
                    key_file: self.key_file.clone(),
                    pg_name: Some(copy),
                    _dir: None,
                }
            }
        }
    }
}

fn key_file_in(dir: &tempfile::TempDir) -> String {
    dir.path().join("minecoord.key").display().to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) =
                diesel::PgConnection::establish(&format!("{}/postgres", pg_base_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: web::Data<AppState>,
    pub admin_token: String,
    /// The port of the SMTP intake listener, when `intake.smtp_addr` is set.
    pub intake_port: Option<u16>,
    server: actix_web::dev::ServerHandle,
    background: Vec<tokio::task::AbortHandle>,
    // Dropped last: the database outlives the server that uses it.
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only waits for it.
        drop(self.server.stop(false));
        for task in &self.background {
            task.abort();
        }
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    let mut s = Settings::load(None).expect("default settings load");
    s.database.url = db.url.clone();
    s.auth.key_file = db.key_file.clone();
    s.audit.checkpoint_file = db.checkpoint_file();
    s.database.pool_size = 4;
    s.database.connect_timeout = "2s".into();
    s.http.addr = "127.0.0.1:0".into();
    s.http.workers = 1;
    s.http.public_base_url = "http://minecoord.test".into();
    s.bootstrap.admin_password = Some(ADMIN_PASSWORD.into());
    s.calendar.dir = "does-not-exist".into();
    // Tests deliver the outbox and send reminders by calling them, at the moment they choose.
    s.outbox.worker = false;
    s.outbox.poll_interval = "1s".into();
    s.scheduler.enabled = false;
    // Tests seal the audit entries PostgreSQL's writers append by calling `seal`.
    s.audit.sealer = false;
    s
}

/// 2026-03-02 09:00 in Shanghai, a Monday.
pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let db = TestDb::new(backend)?;
        let mut settings = test_settings(&db);
        adjust(&mut settings);
        Some(Self::start(db, settings, ManualClock::new(start_time())).await)
    }

    pub async fn start(db: TestDb, settings: Settings, clock: Arc<ManualClock>) -> TestApp {
        let app = Application::build(settings, clock.clone())
            .await
            .expect("service builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let intake_port = app.intake_port();
        let state = app.state.clone();
        let server = app.server_handle();
        let background = app.background_handles();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut test_app = TestApp {
            address,
            client,
            clock,
            state,
            admin_token: String::new(),
            intake_port,
            server,
            background,
            db,
        };
        test_app.admin_token = test_app.token_for("admin", ADMIN_PASSWORD).await;
        test_app
    }

    /// Stops this instance (server and worker); its database stays.
    pub async fn stop(&self) {
        for task in &self.background {
            task.abort();
        }
        self.server.stop(true).await;
    }

    /// Another instance of the service on the same database and clock, as after a restart
    /// (stop this one first) or beside it (several instances on one PostgreSQL database).
    pub async fn another_instance(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDb {
            url: self.db.url.clone(),
            key_file: self.db.key_file.clone(),
            pg_name: None,
            _dir: None,
        };
        let mut settings = test_settings(&db);
        adjust(&mut settings);
        Self::start(db, settings, self.clock.clone()).await
    }

    /// One round of outbox delivery, as the worker does it.
    pub async fn deliver(&self, worker: &str) -> minecoord::app::jobs::DeliveryReport {
        minecoord::app::jobs::deliver_due(&self.state, worker)
            .await
            .expect("outbox delivery")
    }

    /// Seals every audit entry waiting to join the chain, as the sealer does (on SQLite
    /// each entry is sealed as it is written, and this finds none).
    pub async fn seal(&self) -> usize {
        let mut total = 0;
        loop {
            match minecoord::app::jobs::seal_audit(&self.state)
                .await
                .expect("sealing")
            {
                minecoord::platform::audit::Sealed::Entries(0) => return total,
                minecoord::platform::audit::Sealed::Entries(n) => total += n,
                minecoord::platform::audit::Sealed::Busy => panic!("another sealer holds the head"),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// A login whose future owns its arguments (for many at once); answers the status.
    pub async fn login_owned(&self, username: String, password: &str) -> u16 {
        self.login(&username, password).await.status().as_u16()
    }

    pub async fn token_for(&self, username: &str, password: &str) -> String {
        let resp = self.login(username, password).await;
        assert_eq!(resp.status(), 200, "login of {username} failed");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Creates an account as admin and returns its id.
    pub async fn create_user(
        &self,
        username: &str,
        role: &str,
        department: Option<&str>,
        township: Option<&str>,
    ) -> String {
        // Tests sign in as the person straight away; the first-password rule has its own test.
        let mut body = json!({ "username": username, "password": PASSWORD, "display_name": format!("测试{username}"), "role": role, "must_change_password": false });
        if let Some(d) = department {
            body["department"] = json!(d);
        }
        if let Some(t) = township {
            body["township"] = json!(t);
        }
        if role == "enterprise" {
            body["mine_id"] = json!(uuid::Uuid::new_v4().to_string());
        }
        let resp = self.post("/api/v1/users", &self.admin_token, body).await;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "create {username}: {body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Runs a closure on a database connection of the service, for asserting effects.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut minecoord::platform::db::DbConnection) -> AppResult<T> + Send + 'static,
    ) -> T {
        let db = self.state.db.clone();
        tokio::task::spawn_blocking(move || db.read(f))
            .await
            .unwrap()
            .expect("database query")
    }

    pub async fn count(&self, table_sql: &'static str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.with_db(move |c| {
            Ok(
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table_sql}"))
                    .get_result::<N>(c)?
                    .n,
            )
        })
        .await
    }
}

pub async fn problem(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = resp.json().await.expect("json body");
    if status >= 400 {
        assert_eq!(
            ct, "application/problem+json",
            "errors are problem documents: {body}"
        );
        assert!(
            body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
            "{body}"
        );
    }
    (status, body)
}

pub fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The value of a hidden form field in a page (e.g. the CSRF token).
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A cookie-keeping client signed in through the login form, and the page CSRF token.
pub async fn browser_session(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf");
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {username} through the form");
    let home = client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&home, "csrf");
    (client, csrf)
}
