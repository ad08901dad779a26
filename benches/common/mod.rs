//! Shared pieces of the benchmarks: a load generator over HTTP and process memory.
#![allow(dead_code)] // each benchmark uses a part

use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CONCURRENCY: usize = 8;

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (current RSS, peak RSS) of this process in KiB.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub struct Figures {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Figures {
    /// Throughput and percentiles of calls that took `lat` in all over `elapsed`.
    pub fn of(mut lat: Vec<Duration>, elapsed: Duration) -> Self {
        lat.sort();
        Figures {
            rps: lat.len() as f64 / elapsed.as_secs_f64(),
            p50: lat[lat.len() / 2],
            p99: lat[lat.len() * 99 / 100],
        }
    }
}

/// An active account with an address, written directly (no password hashing); its id.
pub fn insert_user(
    conn: &mut minecoord::platform::db::DbConnection,
    username: &str,
    email: &str,
    role: &str,
    unit: (Option<&str>, Option<&str>),
) -> minecoord::platform::error::AppResult<String> {
    use diesel::prelude::*;
    use minecoord::platform::clock::Clock;
    use minecoord::platform::db::schema::users;
    let now = minecoord::platform::clock::SystemClock.now_naive();
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::username.eq(username),
            users::password_hash.eq("x"),
            users::display_name.eq(format!("压测{username}")),
            users::email.eq(email),
            users::role.eq(role),
            users::department.eq(unit.0),
            users::township.eq(unit.1),
            users::active.eq(1),
            users::token_version.eq(0),
            users::failed_logins.eq(0),
            users::created_at.eq(now),
            users::updated_at.eq(now),
            users::version.eq(1),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Calls the URLs round-robin, `requests` times in all, from CONCURRENCY clients.
pub async fn load(
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    token: &str,
    requests: usize,
) -> Figures {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let client = client.clone();
        let urls = urls.clone();
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = worker;
            while i < requests {
                let url = &urls[i % urls.len()];
                let t = Instant::now();
                let resp = client
                    .get(url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("request");
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                let _ = resp.bytes().await;
                lat.push(t.elapsed());
                i += CONCURRENCY;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    Figures::of(all, started.elapsed())
}

/// Prints a row of figures. With `BENCH_ROW_PEAK=1`, two more columns give the process's
/// peak RSS and SQLite's peak allocation (MiB) since the row before, reset for the next
/// (Linux's `clear_refs`), so a run's peak can be laid at the row that reached it.
pub fn row(name: &str, f: &Figures) {
    let peak = peak_since_last().map_or(String::new(), |(rss, sqlite)| {
        format!(" {rss} | {sqlite} |")
    });
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} |{peak}",
        f.rps,
        f.p50.as_secs_f64() * 1000.0,
        f.p99.as_secs_f64() * 1000.0
    );
}

/// With `BENCH_ROW_PEAK=1`, the process's peak RSS since the last call (or the start) and
/// the most SQLite's allocator held at once in that time, in MiB, both then reset; `None`
/// without it.
pub fn peak_since_last() -> Option<(u64, u64)> {
    std::env::var_os("BENCH_ROW_PEAK")?;
    let (_, peak) = rss_kib();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    // SAFETY: a plain query of SQLite's global memory statistics; resetting the high-water
    // mark is what the argument asks for.
    let sqlite = unsafe { libsqlite3_sys::sqlite3_memory_highwater(1) };
    Some((peak / 1024, sqlite.max(0) as u64 / (1024 * 1024)))
}

/// Makes `requests` requests from `concurrency` clients; `make(i)` builds request `i`.
/// Every response must succeed.
pub async fn load_requests(
    requests: usize,
    concurrency: usize,
    make: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>,
) -> Figures {
    load_expecting(requests, concurrency, make, None).await
}

/// As `load_requests`, every response with status `want` (a success when `None`): a
/// refusal such as 409 is measured like any answer.
pub async fn load_expecting(
    requests: usize,
    concurrency: usize,
    make: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>,
    want: Option<u16>,
) -> Figures {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = worker;
            while i < requests {
                let t = Instant::now();
                let resp = make(i).send().await.expect("request");
                let status = resp.status();
                let body = resp.bytes().await;
                let ok = match want {
                    Some(w) => status.as_u16() == w,
                    None => status.is_success(),
                };
                assert!(ok, "request {i}: {status} {body:?}");
                lat.push(t.elapsed());
                i += concurrency;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    Figures::of(all, started.elapsed())
}

/// `BENCH_REUSE_DB`: the name of a PostgreSQL database an earlier run kept, to run on again
/// (a benchmark that seeds skips its seeding there); it is kept again afterwards. On SQLite,
/// any name with `BENCH_SQLITE_FILE` set to a file an earlier run left.
pub fn reused() -> Option<String> {
    std::env::var("BENCH_REUSE_DB")
        .ok()
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The database a benchmark runs on: a fresh SQLite file (`BENCH_SQLITE_FILE` keeps it at
/// a path for inspection), or with `BENCH_DB=postgres` a fresh database at
/// `MINECOORD_TEST_PG_URL`, dropped again when this goes out of scope (kept, for
/// `EXPLAIN ANALYZE` afterwards, with `BENCH_KEEP_DB=1`; its name is printed).
pub struct BenchDb {
    pub backend: String,
    pub url: String,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl BenchDb {
    /// With `BENCH_REPLICA_URL` (a hot standby of MINECOORD_TEST_PG_URL's cluster, e.g.
    /// `postgres://postgres@127.0.0.1:5433`), this run's database on the standby.
    pub fn replica_url(&self) -> Option<String> {
        let standby = std::env::var("BENCH_REPLICA_URL").ok()?;
        let (_, name) = self.pg.as_ref()?;
        Some(format!("{}/{name}", standby.trim_end_matches('/')))
    }

    /// Waits until the standby has replayed everything written so far; how long it took.
    pub fn await_replica(&self) -> Option<Duration> {
        use diesel::{Connection, QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Lsn {
            #[diesel(sql_type = diesel::sql_types::Text)]
            lsn: String,
        }
        #[derive(QueryableByName)]
        struct Caught {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            caught: bool,
        }
        let replica = self.replica_url()?;
        let started = Instant::now();
        let mut primary = diesel::PgConnection::establish(&self.url).expect("primary");
        let lsn = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
            .get_result::<Lsn>(&mut primary)
            .expect("primary's position")
            .lsn;
        loop {
            if let Ok(mut standby) = diesel::PgConnection::establish(&replica) {
                let caught = diesel::sql_query(format!(
                    "SELECT COALESCE(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false) AS caught"
                ))
                .get_result::<Caught>(&mut standby)
                .map(|c| c.caught)
                .unwrap_or(false);
                if caught {
                    return Some(started.elapsed());
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the standby did not catch up"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The service's key file for this run, in the run's temporary folder.
    pub fn key_file(&self) -> String {
        self._dir.path().join("minecoord.key").display().to_string()
    }

    pub fn from_env() -> Self {
        use diesel::{Connection, RunQueryDsl};
        minecoord::platform::db::init_tls();
        let backend = std::env::var("BENCH_DB").unwrap_or_else(|_| "sqlite".into());
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = if backend == "postgres" {
            let base = std::env::var("MINECOORD_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            if let Some(name) = reused() {
                // A database a run kept (`BENCH_KEEP_DB=1`), used again as it is.
                (format!("{base}/{name}"), Some((base, name)))
            } else {
                let name = format!("mc_bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))
                    .expect("PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                (format!("{base}/{name}"), Some((base, name)))
            }
        } else {
            let kept = std::env::var("BENCH_SQLITE_FILE").ok();
            assert!(
                reused().is_none() || kept.is_some(),
                "BENCH_REUSE_DB on SQLite needs BENCH_SQLITE_FILE, the file to run on again"
            );
            let file = kept.unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
            (format!("sqlite://{file}"), None)
        };
        Self {
            backend,
            url,
            pg,
            _dir: dir,
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Some((base, name)) = &self.pg {
            if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") || reused().is_some() {
                eprintln!("kept the database {base}/{name}");
                return;
            }
            if let Ok(mut admin) = diesel::PgConnection::establish(&format!("{base}/postgres")) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// A valid unified social credit code (统一社会信用代码) for serial `serial`.
pub fn credit_code(serial: u32) -> String {
    const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let body = format!("91150207{serial:09}");
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| CHARSET.find(c).unwrap() as u32 * w)
        .sum();
    format!(
        "{body}{}",
        CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
    )
}

/// The service's settings for a benchmark on `db`: a random port, two workers, 16
/// connections, the admin's password set, no background jobs, logs at `log_level`.
pub fn service_settings(
    db: &BenchDb,
    admin_password: &str,
    log_level: &str,
) -> minecoord::platform::config::Settings {
    let mut settings = minecoord::platform::config::Settings::load(None).unwrap();
    settings.auth.key_file = db.key_file();
    settings.database.url = db.url.clone();
    // With BENCH_REPLICA_URL the reads that tolerate lag (statistics, exports) read the standby.
    settings.database.replica_url = db.replica_url();
    settings.database.pool_size = 16;
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.workers = 2;
    settings.bootstrap.admin_password = Some(admin_password.into());
    settings.auth.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0".into());
    settings.log.level = log_level.into();
    settings.outbox.worker = false;
    settings.scheduler.enabled = false;
    settings
}

/// Inserts rows in chunks through the backend's own connection (multi-row inserts), by
/// value since coded columns are written through `serialize_as`.
#[allow(unused_macros)]
macro_rules! batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(500) {
            match &mut *$conn {
                DbConnection::Pg(p) => diesel::insert_into($table)
                    .values(chunk.to_vec())
                    .execute(p),
                DbConnection::Sqlite(s) => diesel::insert_into($table)
                    .values(chunk.to_vec())
                    .execute(s),
            }
            .expect("batch insert");
        }
    };
}

/// Signs in through the API; the access token.
#[allow(dead_code)]
pub async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().expect("token").to_owned()
}

/// A server running in the benchmark's runtime. `stop` ends it in order (its workers and
/// background tasks finish, its connections close) before the benchmark drops its
/// database and returns: threads still ending while the process exits crashed it now and
/// then after every figure was printed.
pub struct Serving {
    handle: actix_web::dev::ServerHandle,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Serving {
    /// The service, with its background tasks.
    pub fn app(app: minecoord::app::startup::Application) -> Self {
        Self {
            handle: app.server_handle(),
            done: tokio::spawn(app.run_until_stopped()),
        }
    }

    /// Any other actix-web server (the bare endpoint beside the service).
    pub fn server(server: actix_web::dev::Server) -> Self {
        Self {
            handle: server.handle(),
            done: tokio::spawn(server),
        }
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.done.await;
    }
}
