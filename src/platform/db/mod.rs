//! Database access: one connection type over SQLite and PostgreSQL, a pool, migrations.
//!
//! The backend is chosen from the URL scheme here rather than by diesel's derived
//! `establish`, which tries every backend in turn and hides PostgreSQL's real error.

pub mod schema;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::platform::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database URL split into its backend and the string the driver wants.
#[derive(Debug, Clone)]
pub struct DbUrl {
    pub backend: Backend,
    target: String,
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!("不支持的数据库地址 {url:?}：应以 sqlite:// 或 postgres:// 开头")
            })?;
        if path.is_empty() {
            return Err("sqlite:// 后缺少数据库文件路径".into());
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }

    /// Where a SQLite database lives; `None` for PostgreSQL or an in-memory database.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite && self.target != ":memory:")
            .then_some(self.target.as_str())
    }
}

/// How long a standby that did not answer is passed over before it is tried again, so that
/// reads do not each wait out the connect timeout while it is down.
const REPLICA_RETRY: Duration = Duration::from_secs(30);

pub struct ConnectionManager {
    url: DbUrl,
    sqlite_busy_timeout_ms: u64,
    /// How many of its connections were found lost ([`Pooled::losses`]).
    losses: Arc<AtomicU64>,
}

/// A pooled connection, with when it was last handed back in use.
pub struct Pooled {
    conn: DbConnection,
    /// Until when the connection is taken to be alive without asking the server: shortly
    /// after it was last handed back, unless its last use found the server gone.
    trusted_until: Option<Instant>,
    /// Its last use failed to reach the server: it is closed rather than handed out again.
    lost: bool,
    /// The pool's count of connections found lost, shared by its connections: one loss
    /// (a server restart, say) makes every connection of the pool be checked again.
    losses: Arc<AtomicU64>,
    /// That count when `trusted_until` was set.
    losses_seen: u64,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl Pooled {
    /// Marks the connection as lost if `outcome` is the server gone away, so the pool closes
    /// it instead of lending it again unchecked.
    fn judge<T>(&mut self, outcome: &Result<T, AppError>) {
        if matches!(outcome, Err(AppError::Unavailable)) {
            self.lost = true;
            self.losses.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// How long after its last use a PostgreSQL connection is lent again without a `SELECT 1`
/// first. Under load every connection comes back within milliseconds, and the check was two
/// of the sixteen round trips of a raise; a connection idle for longer is checked, so one
/// that the server dropped meanwhile is replaced before a request gets it.
const TRUSTED_AFTER_USE: Duration = Duration::from_secs(1);

/// The page cache of each pooled SQLite connection, in KiB.
const SQLITE_READER_CACHE_KIB: u32 = 512;

/// The page cache of SQLite's one writer, in KiB: it keeps the indexes the writes update.
const SQLITE_WRITER_CACHE_KIB: u32 = 16384;

impl ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = match self.url.backend {
            Backend::Postgres => PgConnection::establish(&self.url.target)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError)?,
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // The busy timeout comes first so that the switch to WAL waits for another
                // connection instead of failing; WAL lets readers proceed during a write;
                // foreign keys are off by default in SQLite. The page cache is SQLite's
                // default 2 MiB cut to a quarter (the writer sets its own, larger): under
                // WAL a connection's cache is emptied whenever it starts reading after any
                // commit, so it mostly serves one statement, and the pool's caches
                // together held half the heap at the leads benchmark's peak (BENCHMARKS.md,
                // "twelfth part").
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -{SQLITE_READER_CACHE_KIB};",
                    self.sqlite_busy_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                DbConnection::Sqlite(conn)
            }
        };
        Ok(Pooled {
            conn,
            trusted_until: None,
            lost: false,
            losses: Arc::clone(&self.losses),
            losses_seen: 0,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        match &pooled.conn {
            // A file opened in the process does not go away as a server can: no round trip.
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Pg(_) => {
                let trusted = pooled
                    .trusted_until
                    .is_some_and(|until| Instant::now() < until)
                    && pooled.losses_seen == self.losses.load(Ordering::SeqCst);
                if trusted {
                    return Ok(());
                }
                pooled.conn.ping().map_err(r2d2::Error::QueryError)
            }
        }
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        if pooled.lost || pooled.conn.is_broken() {
            return true;
        }
        pooled.trusted_until = Some(Instant::now() + TRUSTED_AFTER_USE);
        pooled.losses_seen = self.losses.load(Ordering::SeqCst);
        false
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// A connection lent by the pool, used as the [`DbConnection`] it holds.
pub struct PooledConnection(r2d2::PooledConnection<ConnectionManager>);

impl std::ops::Deref for PooledConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

impl PooledConnection {
    /// Runs `f` on the connection, noting whether it found the server gone.
    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let outcome = f(&mut self.0.conn);
        self.0.judge(&outcome);
        outcome
    }
}

/// The application's handle on its database: a pool plus, for SQLite, one writer.
///
/// SQLite allows one writer at a time, and a deferred transaction that reads before it
/// writes fails with SQLITE_BUSY rather than waiting when another writer got there first.
/// Every write transaction of the process therefore runs on one dedicated connection, in
/// turn (a queue on its lock), instead of pooled connections spinning on the busy timeout;
/// readers stay pooled and are never blocked (WAL). Writes queued together share one commit
/// (`writer`). The busy timeout is left for writers of other processes (the command line).
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// A read-only standby (`database.replica_url`) for the reads that tolerate its lag.
    replica: Option<Pool>,
    /// Until when the standby is passed over after it failed to answer.
    replica_down_until: Arc<Mutex<Option<std::time::Instant>>>,
    pub backend: Backend,
    sqlite_writer: Arc<writer::Writer>,
    url: DbUrl,
    sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub pool_size: u32,
    pub connect_timeout: Duration,
    pub sqlite_busy_timeout_ms: u64,
    /// Idle connections kept open in the background. The command line uses 0: a process
    /// that exits while the pool is still opening a PostgreSQL connection in the background
    /// can crash in the TLS library's exit handlers.
    pub min_idle: u32,
}

/// Runs `f` with PostgreSQL planning its statements for their actual parameters.
///
/// diesel prepares every statement, and after a few runs PostgreSQL may keep one generic
/// plan that knows neither the search pattern nor the limit: for a text search it then walks
/// the sort order's index filtering every row (10 ms at 30 000 mines) instead of reading the
/// few rows the trigram index names. Inside `f` (one transaction, `SET LOCAL`) each run is
/// planned with its pattern. SQLite plans each statement as it is, so `f` simply runs.
pub fn with_custom_plans<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if !matches!(conn, DbConnection::Pg(_)) {
        return f(conn);
    }
    conn.transaction(|c| {
        c.batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")?;
        f(c)
    })
}

/// The most matches of a text search for which a SQLite store reads its FTS5 index; a
/// phrase found in more rows is matched along the list's order instead, which finds a
/// page of such rows at once while the index would gather (and position-check) them all.
pub const FTS_MOST: i64 = 1000;

/// How a store matches a text search (`q=`) on this backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPath {
    /// PostgreSQL: `LIKE`/`ILIKE`, which the trigram index answers.
    PgTrigram,
    /// PostgreSQL, fewer than three characters: a scan kept off the index (`strpos`).
    PgScan,
    /// SQLite: the rows the FTS5 table names.
    SqliteFts,
    /// SQLite, fewer than three characters or a phrase in too many rows: `LIKE` along the
    /// list's order.
    SqliteScan,
}

/// Which way to match `text`, the search's FTS5 table being `fts` on SQLite.
pub fn text_path(conn: &mut DbConnection, fts: &str, text: &str) -> Result<TextPath, AppError> {
    use crate::platform::rules::search;
    let indexed = search::indexed(text);
    if matches!(conn, DbConnection::Pg(_)) {
        return Ok(if indexed {
            TextPath::PgTrigram
        } else {
            TextPath::PgScan
        });
    }
    Ok(
        if indexed && fts_selective(conn, fts, &search::fts_phrase(text))? {
            TextPath::SqliteFts
        } else {
            TextPath::SqliteScan
        },
    )
}

/// Whether the FTS5 table `fts` finds `phrase` in at most [`FTS_MOST`] rows: a probe
/// reading no more than one row past that.
fn fts_selective(conn: &mut DbConnection, fts: &str, phrase: &str) -> Result<bool, AppError> {
    #[derive(diesel::QueryableByName)]
    struct Hits {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let hits = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT {})",
        FTS_MOST + 1
    ))
    .bind::<diesel::sql_types::Text, _>(phrase)
    .get_result::<Hits>(conn)?;
    Ok(hits.n <= FTS_MOST)
}

impl Db {
    /// Builds the pool without requiring the database to answer yet.
    pub fn connect(url: &str, options: &DbOptions) -> Result<Self, String> {
        init_tls();
        let url = DbUrl::parse(url)?;
        if let Some(path) = url.sqlite_path() {
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("无法创建数据库目录 {}: {e}", parent.display()))?;
                }
            }
        }
        let backend = url.backend;
        let manager = ConnectionManager {
            url: url.clone(),
            sqlite_busy_timeout_ms: options.sqlite_busy_timeout_ms,
            losses: Arc::default(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(options.min_idle))
            .connection_timeout(options.connect_timeout)
            .build_unchecked(manager);
        Ok(Self {
            pool,
            replica: None,
            replica_down_until: Arc::new(Mutex::new(None)),
            backend,
            sqlite_writer: Arc::new(writer::Writer::default()),
            url,
            sqlite_busy_timeout_ms: options.sqlite_busy_timeout_ms,
        })
    }

    /// Sends the reads that tolerate lag (statistics, exports, public pages, the register's
    /// lists) to a standby of the same database; the primary keeps every other read and
    /// every write.
    pub fn with_replica(mut self, url: &str, options: &DbOptions) -> Result<Self, String> {
        let url = DbUrl::parse(url)?;
        if url.backend != self.backend {
            return Err("database.replica_url 应与 database.url 是同一种数据库".into());
        }
        let manager = ConnectionManager {
            url,
            sqlite_busy_timeout_ms: options.sqlite_busy_timeout_ms,
            losses: Arc::default(),
        };
        // No idle connections kept: a standby that is down is then not retried in the
        // background (and logged) over and over, only when a read asks for it.
        self.replica = Some(
            r2d2::Pool::builder()
                .max_size(options.pool_size)
                .min_idle(Some(0))
                .connection_timeout(options.connect_timeout)
                .build_unchecked(manager),
        );
        Ok(self)
    }

    /// Whether lag-tolerant reads go to a standby.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// Runs a read that tolerates the standby's lag (seconds behind at most, in normal
    /// operation) on the standby when one is configured, else like [`Db::read`]. A standby
    /// that does not answer sends the read to the primary, so losing it costs speed, not
    /// service.
    pub fn read_lagging<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        if let Some(replica) = &self.replica {
            let now = std::time::Instant::now();
            let mut down = self
                .replica_down_until
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if down.is_none_or(|until| until <= now) {
                *down = None;
                drop(down);
                match replica.get() {
                    Ok(conn) => return PooledConnection(conn).run(f),
                    Err(e) => {
                        tracing::warn!(error = %e, "replica unavailable: reading the primary for {}s", REPLICA_RETRY.as_secs());
                        *self
                            .replica_down_until
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(now + REPLICA_RETRY);
                    }
                }
            }
        }
        self.read(f)
    }

    pub fn get(&self) -> Result<PooledConnection, AppError> {
        self.pool.get().map(PooledConnection).map_err(|e| {
            tracing::warn!(error = %e, "database unavailable");
            AppError::Unavailable
        })
    }

    /// Runs `f` in one transaction: every change, its audit entry and its notices commit
    /// together or not at all.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        if self.backend == Backend::Postgres {
            return self.get()?.run(|conn| conn.transaction(f));
        }
        self.sqlite_writer.run(false, || self.open_writer(), f)
    }

    /// Reads what a write depends on, then writes it in one transaction, for a write that
    /// every client does at once (a raise). On SQLite `prepare` runs on a pooled reader,
    /// outside the one writer's turn, so the turn holds only the writes; on PostgreSQL
    /// both run on one connection, `prepare` before `BEGIN`, which shortens the
    /// transaction without adding a round trip.
    ///
    /// What `prepare` read may have changed by the time `write` runs, as each statement
    /// of a PostgreSQL transaction at READ COMMITTED sees what committed before it: `write`
    /// relies on constraints, not on those reads, for anything that must hold.
    pub fn prepare_then_write<P, T>(
        &self,
        prepare: impl FnOnce(&mut DbConnection) -> Result<P, AppError>,
        write: impl FnOnce(&mut DbConnection, P) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.prepare_then_write_as(false, prepare, write)
    }

    /// [`Db::prepare_then_write`] for a write that is whole on its own: one statement, or
    /// several inside [`atomically`]. On PostgreSQL `write` runs without `BEGIN` and
    /// `COMMIT` (two round trips fewer), so a single statement commits as it ends, and a
    /// failing one leaves nothing; on SQLite it runs in the writer's turn, as
    /// `prepare_then_write` does.
    pub fn prepare_then_write_whole<P, T>(
        &self,
        prepare: impl FnOnce(&mut DbConnection) -> Result<P, AppError>,
        write: impl FnOnce(&mut DbConnection, P) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.prepare_then_write_as(true, prepare, write)
    }

    /// `whole`: `write` is whole on its own, and runs outside a transaction on PostgreSQL.
    fn prepare_then_write_as<P, T>(
        &self,
        whole: bool,
        prepare: impl FnOnce(&mut DbConnection) -> Result<P, AppError>,
        write: impl FnOnce(&mut DbConnection, P) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        if self.backend == Backend::Postgres {
            return self.get()?.run(|conn| {
                let prepared = prepare(conn)?;
                if whole {
                    write(conn, prepared)
                } else {
                    conn.transaction(|c| write(c, prepared))
                }
            });
        }
        let prepared = self.read(prepare)?;
        self.sqlite_writer
            .run(false, || self.open_writer(), |c| write(c, prepared))
    }

    /// [`Db::transaction`] for a long write (the statistics rollup, an import): on SQLite
    /// it shares no commit, so the short writes queued with it are not answered only after
    /// it. The same as `transaction` on PostgreSQL.
    pub fn transaction_alone<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        if self.backend == Backend::Postgres {
            return self.transaction(f);
        }
        self.sqlite_writer.run(true, || self.open_writer(), f)
    }

    /// A new connection for SQLite's writer, set up for its turn.
    fn open_writer(&self) -> Result<DbConnection, AppError> {
        let manager = ConnectionManager {
            url: self.url.clone(),
            sqlite_busy_timeout_ms: self.sqlite_busy_timeout_ms,
            losses: Arc::default(),
        };
        let mut conn = manager.connect().map(|p| p.conn).map_err(|e| {
            tracing::warn!(error = %e, "database unavailable");
            AppError::Unavailable
        })?;
        // Every write of the process passes here, in turn, so its time is what bounds
        // them all. The temporary b-trees a write needs (statement journals, sorts) stay
        // in memory instead of a file opened and unlinked each time (one per raise), and
        // a larger page cache keeps the indexes it updates from being read again.
        // The write-ahead log is copied back into the database file by the service's
        // checkpointer (`Db::checkpoint_wal`, every second) outside this turn; the writer
        // checkpoints itself only when that falls behind by some 40 MiB of log.
        conn.batch_execute(&format!(
            "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}; \
             PRAGMA wal_autocheckpoint = 10000;"
        ))
        .map_err(|e| AppError::Internal(format!("SQLite 写连接设置失败：{e}")))?;
        Ok(conn)
    }

    /// SQLite: how many write transactions the writer ran and in how many commits
    /// (several writes waiting their turn share one). `(0, 0)` on PostgreSQL.
    pub fn writer_counts(&self) -> (u64, u64) {
        self.sqlite_writer.counts()
    }

    /// SQLite: copies what the write-ahead log holds back into the database file (a
    /// passive checkpoint, which waits for no reader and no writer), so that the writer,
    /// whose turn every write waits for, need not. Nothing on PostgreSQL.
    pub fn checkpoint_wal(&self) -> Result<(), AppError> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.get()?;
        conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")?;
        Ok(())
    }

    /// SQLite: whether the library was built with the query planner stability guarantee
    /// (`.cargo/config.toml`), without which every statement with `LIMIT ?` is parsed and
    /// planned again at each run. Always true on PostgreSQL.
    pub fn sqlite_plans_stay_prepared(&self) -> Result<bool, AppError> {
        #[derive(diesel::QueryableByName)]
        struct Used {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            used: i32,
        }
        if self.backend != Backend::Sqlite {
            return Ok(true);
        }
        let mut conn = self.get()?;
        let row = diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
            .get_result::<Used>(&mut *conn)?;
        Ok(row.used == 1)
    }

    /// Runs `f` on a pooled connection without a transaction (reads).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.get()?.run(f)
    }

    pub fn run_migrations(&self) -> Result<usize, String> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| format!("无法连接数据库：{e}"))?;
        let applied = match &mut conn.conn {
            DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        };
        applied.map_err(|e| format!("数据库迁移失败：{e}"))
    }

    pub fn pool_state(&self) -> (u32, u32, u32) {
        let s = self.pool.state();
        (self.pool.max_size(), s.connections, s.idle_connections)
    }

    pub fn ping(&self) -> Result<(), AppError> {
        let mut conn = self.get()?;
        conn.ping().map_err(|_| AppError::Unavailable)
    }
}

/// Runs `$body` with `$c` bound to the backend's own connection: for what diesel builds per
/// backend only (multi-row inserts), written once for both.
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::platform::db::DbConnection::Pg($c) => $body,
            $crate::platform::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Inserts `$rows` (anything iterable whose items are insertable into `$table`: a `Vec` of
/// rows, or a slice of rows insertable by reference) in statements kept prepared. Diesel
/// prepares a multi-row insert anew at each run (its text varies with the row count), so:
/// - on PostgreSQL, rows go in chunks of up to [`KEPT_BATCH_ROWS`], each chunk one insert
///   of a fixed-size array, whose statement diesel keeps by type (one per chunk size);
/// - on SQLite (in process, no round trips), one kept single-row insert per row, which
///   costs less than compiling a multi-row one at each run.
///
/// Rows must write every column (NULL, never DEFAULT: `treat_none_as_default_value =
/// false`), or diesel prepares them anew all the same. Evaluates to a `QueryResult<usize>`,
/// the rows inserted.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = $rows;
        (|| -> diesel::QueryResult<usize> {
            let mut done = 0;
            match $conn {
                $crate::platform::db::DbConnection::Pg(c) => {
                    let mut rows = rows.into_iter();
                    loop {
                        let chunk: Vec<_> = rows
                            .by_ref()
                            .take($crate::platform::db::KEPT_BATCH_ROWS)
                            .collect();
                        if chunk.is_empty() {
                            break;
                        }
                        done += $crate::platform::db::insert_rows!(@chunk c, $table, chunk,
                            1 2 3 4 5 6 7 8)?;
                    }
                }
                $crate::platform::db::DbConnection::Sqlite(c) => {
                    for row in rows {
                        done += diesel::RunQueryDsl::execute(
                            diesel::insert_into($table).values(row),
                            c,
                        )?;
                    }
                }
            }
            Ok(done)
        })()
    }};
    (@chunk $c:ident, $table:expr, $chunk:ident, $($n:literal)+) => {
        match $chunk.len() {
            $($n => match <[_; $n]>::try_from($chunk) {
                Ok(rows) => diesel::RunQueryDsl::execute(diesel::insert_into($table).values(rows), $c),
                Err(_) => Err(diesel::result::Error::QueryBuilderError("a chunk of rows changed size".into())),
            },)+
            _ => diesel::RunQueryDsl::execute(diesel::insert_into($table).values($chunk), $c),
        }
    };
}
pub(crate) use insert_rows;

/// The most rows [`insert_rows!`] puts in one statement on PostgreSQL; the chunk sizes it
/// keeps prepared are 1 to this.
pub const KEPT_BATCH_ROWS: usize = 8;

/// Initialises the OpenSSL that libpq uses without the handler that cleans it up at exit.
/// That handler freed what the pool's threads, still ending, use in their thread-local
/// destructors, and the process crashed as it exited (SIGSEGV under
/// `__nptl_deallocate_tsd` in libcrypto, from a benchmark's core). Only the first
/// initialisation of the process decides, so this runs before its first PostgreSQL
/// connection: in `main`, in `Db::connect`, and in the tests' and benchmarks' set-up.
pub fn init_tls() {
    openssl_sys::init();
}

/// Runs `f` as one unit of work: inside the transaction the connection is in, or in a
/// transaction of its own when it is in none (a write run by
/// [`Db::prepare_then_write_whole`] that cannot be one statement).
pub fn atomically<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = match conn {
        DbConnection::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
    }?;
    match depth {
        Some(_) => f(conn),
        None => conn.transaction(f),
    }
}

/// Statements sent to PostgreSQL as one, to save round trips: every part but the last is
/// a data-modifying common table expression of the last
/// (`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`). The parts see one snapshot and
/// their foreign keys are checked at the end of the statement, so a part may insert rows
/// that reference what an earlier part inserts (a lead's deadlines, the lead). Parts are
/// statements without `RETURNING`; the chain is kept prepared when every part is.
#[derive(Debug, Clone, Copy)]
pub struct Chained<T>(pub T);

macro_rules! chained {
    ($first:ident $fidx:tt $(, $part:ident $idx:tt)* ; $last:ident $lidx:tt) => {
        impl<$first, $($part,)* $last> diesel::query_builder::QueryId
            for Chained<($first, $($part,)* $last,)>
        where
            $first: diesel::query_builder::QueryId,
            $($part: diesel::query_builder::QueryId,)*
            $last: diesel::query_builder::QueryId,
        {
            type QueryId = Chained<($first::QueryId, $($part::QueryId,)* $last::QueryId,)>;
            const HAS_STATIC_QUERY_ID: bool = $first::HAS_STATIC_QUERY_ID
                $(&& $part::HAS_STATIC_QUERY_ID)*
                && $last::HAS_STATIC_QUERY_ID;
        }

        impl<$first, $($part,)* $last> diesel::query_builder::QueryFragment<diesel::pg::Pg>
            for Chained<($first, $($part,)* $last,)>
        where
            $first: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
            $($part: diesel::query_builder::QueryFragment<diesel::pg::Pg>,)*
            $last: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
        {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                out.push_sql(concat!("WITH w", stringify!($fidx), " AS ("));
                self.0.$fidx.walk_ast(out.reborrow())?;
                $(
                    out.push_sql(concat!("), w", stringify!($idx), " AS ("));
                    self.0.$idx.walk_ast(out.reborrow())?;
                )*
                out.push_sql(") ");
                self.0.$lidx.walk_ast(out.reborrow())
            }
        }
    };
}
chained!(A 0; B 1);
chained!(A 0, B 1; C 2);
chained!(A 0, B 1, C 2; D 3);
chained!(A 0, B 1, C 2, D 3; E 4);
chained!(A 0, B 1, C 2, D 3, E 4; F 5);
chained!(A 0, B 1, C 2, D 3, E 4, F 5; G 6);
chained!(A 0, B 1, C 2, D 3, E 4, F 5, G 6; H 7);

impl<T, Conn> diesel::RunQueryDsl<Conn> for Chained<T> {}

/// A statement written as SQL text whose values are bound, kept prepared (unlike
/// `diesel::sql_query`, which is prepared anew at each run): for what diesel's query builder
/// prepares anew (every `UPDATE`, statements with `unnest`). One type per text: the type is
/// what the connection keeps the statement by. Each `{}` in the text is the next field,
/// bound as its SQL type; the statement is run with `diesel::RunQueryDsl::execute`.
///
/// ```text
/// kept_sql! {
///     /// Moves the chain's head.
///     struct MoveHead { seq: i64 as BigInt, hash: String as Text }
///     "UPDATE audit_head SET last_seq = {}, last_hash = {} WHERE id = 1"
/// }
/// ```
macro_rules! kept_sql {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($field:ident: $ty:ty as $st:ty),* $(,)?
    } $sql:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            $(pub $field: $ty,)*
        }

        impl $name {
            /// The statement's text, with `{}` where each field goes.
            #[allow(dead_code)]
            pub const SQL: &'static str = $sql;
        }

        impl diesel::query_builder::QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<DB> diesel::query_builder::QueryFragment<DB> for $name
        where
            DB: diesel::backend::Backend,
            $(DB: diesel::sql_types::HasSqlType<$st>, $ty: diesel::serialize::ToSql<$st, DB>,)*
        {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> diesel::QueryResult<()> {
                let mut text = $sql.split("{}");
                out.push_sql(text.next().unwrap_or_default());
                $(
                    out.push_bind_param::<$st, $ty>(&self.$field)?;
                    out.push_sql(text.next().unwrap_or_default());
                )*
                Ok(())
            }
        }

        impl<Conn> diesel::RunQueryDsl<Conn> for $name {}
    };
}
pub(crate) use kept_sql;

/// A condition on one table written into the SQL as it is, never bound: the form a partial
/// index's own condition must be met in. SQLite is built with the query planner stability
/// guarantee (`.cargo/config.toml`), so it no longer looks at a bound value to see that
/// `state <> ?` means the index's `state <> 'closed'`; PostgreSQL's generic plans never did.
/// The statement stays cacheable (unlike `diesel::dsl::sql`). `$column` names the table the
/// condition may appear on.
macro_rules! literal_condition {
    ($(#[$meta:meta])* $name:ident on $column:path = $sql:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub struct $name;

        impl diesel::expression::Expression for $name {
            type SqlType = diesel::sql_types::Bool;
        }

        impl<QS> diesel::expression::AppearsOnTable<QS> for $name where
            $column: diesel::expression::AppearsOnTable<QS>
        {
        }

        impl<QS> diesel::expression::SelectableExpression<QS> for $name where
            $column: diesel::expression::SelectableExpression<QS>
        {
        }

        impl<GB> diesel::expression::ValidGrouping<GB> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }

        impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}
pub(crate) use literal_condition;

/// Coded columns: a `coded_enum!` type stored as its text code. Reading back a code the
/// program does not know (a manual edit, a downgrade) is a database error naming the
/// column's type and the code, never a silent default; writing stores `code()`.
macro_rules! text_coded {
    ($($t:ty),+ $(,)?) => {$(
        impl<DB> diesel::deserialize::Queryable<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            type Row = String;

            fn build(code: String) -> diesel::deserialize::Result<Self> {
                <$t>::parse(&code).ok_or_else(|| {
                    format!("{} 中出现程序不认识的代码 {code:?}", stringify!($t)).into()
                })
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.code().to_owned()
            }
        }
    )+};
}

pub(crate) use text_coded;

/// A coded enum of the pure rules as a text column that may be empty (`Option<T>` in a
/// row): read back, an unknown code is a database error, never "none". The derives go on
/// a one-field proxy (`foreign_derive`), so the rules keep no diesel.
macro_rules! nullable_coded {
    ($proxy:ident: $t:ty) => {
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(foreign_derive, sql_type = diesel::sql_types::Text)]
        #[allow(dead_code)]
        struct $proxy($t);

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let code = <String as diesel::deserialize::FromSql<
                                                                            diesel::sql_types::Text,
                                                                            DB,
                                                                        >>::from_sql(bytes)?;
                <$t>::parse(&code).ok_or_else(|| {
                    format!("{} 中出现程序不认识的代码 {code:?}", stringify!($t)).into()
                })
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.code(),
                    out,
                )
            }
        }
    };
}

nullable_coded!(RiskGradeColumn: crate::register::rules::risk_grade::RiskGrade);
nullable_coded!(TailingsSafetyColumn: crate::register::rules::mine::TailingsSafety);

text_coded!(
    crate::leads::rules::LeadState,
    crate::leads::rules::Urgency,
    crate::leads::rules::LeadSource,
    crate::leads::rules::Stage,
    crate::register::rules::mine::MineStatus,
    crate::register::rules::mine::MineType,
    crate::register::rules::mine::MiningMethod,
    crate::platform::rules::role::Role,
    crate::inspections::rules::InspectionState,
    crate::inspections::rules::Basis,
    crate::inspections::rules::Outcome,
    crate::inspections::rules::HazardGrade,
    crate::inspections::rules::HazardState,
    crate::inspections::rules::FilePurpose,
    crate::consultations::rules::RequestState,
    crate::consultations::rules::MeetingState,
    crate::consultations::rules::InviteeKind,
    crate::consultations::rules::Answer,
    crate::consultations::rules::MinutesState,
    crate::consultations::rules::DecisionKind,
    crate::closures::rules::ClosureKind,
    crate::closures::rules::CaseState,
    crate::closures::rules::TaskState,
    crate::closures::rules::Basis,
    crate::closures::rules::PatrolOutcome,
    crate::consultations::rules::DecisionState,
    crate::consultations::rules::Review,
    crate::consultations::rules::ReportState,
);

#[cfg(test)]
mod kept_tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;

    use super::{DbConnection, KEPT_BATCH_ROWS};

    diesel::table! {
        kept_rows (id) {
            id -> BigInt,
            n -> BigInt,
            note -> Nullable<Text>,
        }
    }

    #[derive(Insertable)]
    #[diesel(table_name = kept_rows, treat_none_as_default_value = false)]
    struct Row {
        id: i64,
        n: i64,
        note: Option<String>,
    }

    kept_sql! {
        struct Bump { by: i64 as diesel::sql_types::BigInt, id: i64 as diesel::sql_types::BigInt }
        "UPDATE kept_rows SET n = n + {} WHERE id = {}"
    }

    /// Records the statements the connection newly keeps prepared, as diesel reports them.
    fn recorder() -> (Arc<Mutex<Vec<String>>>, impl Instrumentation) {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&kept);
        let instrumentation = move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                sink.lock().expect("the recorder").push(sql.to_owned());
            }
        };
        (kept, instrumentation)
    }

    /// How many statements starting with `starts` were newly kept since the last call.
    fn newly_kept(kept: &Mutex<Vec<String>>, starts: &str) -> usize {
        let mut kept = kept.lock().expect("the recorder");
        let n = kept.iter().filter(|s| s.starts_with(starts)).count();
        kept.clear();
        n
    }

    fn rows(from: i64, count: usize) -> Vec<Row> {
        (from..from + count as i64)
            .map(|id| Row {
                id,
                n: 0,
                note: None,
            })
            .collect()
    }

    fn check(conn: &mut DbConnection, kept: &Mutex<Vec<String>>, pg: bool) {
        conn.batch_execute(
            "CREATE TEMPORARY TABLE kept_rows (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)",
        )
        .expect("the table");
        let mut next = 1;
        let mut insert = |conn: &mut DbConnection, count: usize| {
            let n =
                insert_rows!(&mut *conn, kept_rows::table, rows(next, count)).expect("inserted");
            assert_eq!(n, count);
            next += count as i64;
        };
        insert(conn, 3);
        newly_kept(kept, "");

        // Diesel alone prepares an update anew each time: nothing is kept.
        for _ in 0..2 {
            diesel::update(kept_rows::table.find(1))
                .set(kept_rows::n.eq(kept_rows::n + 1))
                .execute(conn)
                .expect("updated");
        }
        assert_eq!(
            newly_kept(kept, "UPDATE"),
            0,
            "diesel keeps updates itself now"
        );

        // Written as kept SQL: kept once.
        for _ in 0..3 {
            Bump { by: 1, id: 1 }.execute(conn).expect("updated");
        }
        assert_eq!(newly_kept(kept, "UPDATE"), 1);

        // Rows: the 3-row chunk (PostgreSQL) or the one-row insert (SQLite) is kept already;
        // PostgreSQL keeps one statement per chunk size, so 2 rows and the bound are new,
        // and twice the bound plus 3 rows reuse them.
        for count in [3, 2, KEPT_BATCH_ROWS, 2 * KEPT_BATCH_ROWS + 3, 2] {
            insert(conn, count);
        }
        assert_eq!(newly_kept(kept, "INSERT"), if pg { 2 } else { 0 });

        let stored: Vec<(i64, i64)> = kept_rows::table
            .select((kept_rows::id, kept_rows::n))
            .order(kept_rows::id)
            .load(conn)
            .expect("the rows");
        let ids: Vec<i64> = stored.iter().map(|r| r.0).collect();
        assert_eq!(
            ids,
            (1..next).collect::<Vec<_>>(),
            "every row is stored once"
        );
        assert_eq!(stored[0], (1, 5), "every update ran");
    }

    #[test]
    fn updates_and_batches_are_kept_prepared_sqlite() {
        let mut c = SqliteConnection::establish(":memory:").expect("SQLite in memory");
        let (kept, instrumentation) = recorder();
        c.set_instrumentation(instrumentation);
        check(&mut DbConnection::Sqlite(c), &kept, false);
    }

    /// The test server's `postgres` database, or `None` (skipped) outside CI without one.
    fn postgres() -> Option<PgConnection> {
        let base = std::env::var("MINECOORD_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        match PgConnection::establish(&format!("{base}/postgres")) {
            Ok(c) => Some(c),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
                panic!("CI=true but PostgreSQL is not reachable at {base}: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL is not reachable at {base}: {e}");
                None
            }
        }
    }

    #[test]
    fn updates_and_batches_are_kept_prepared_postgres() {
        let Some(mut c) = postgres() else { return };
        let (kept, instrumentation) = recorder();
        c.set_instrumentation(instrumentation);
        check(&mut DbConnection::Pg(c), &kept, true);
    }

    diesel::table! {
        kept_children (id) {
            id -> BigInt,
            parent -> BigInt,
        }
    }

    #[test]
    fn chained_inserts_are_one_kept_statement_that_commits_whole() {
        use super::Chained;
        let Some(mut c) = postgres() else { return };
        let (kept, instrumentation) = recorder();
        c.set_instrumentation(instrumentation);
        c.batch_execute(
            "CREATE TEMPORARY TABLE kept_rows (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, note TEXT); \
             CREATE TEMPORARY TABLE kept_children (id BIGINT PRIMARY KEY, \
                 parent BIGINT NOT NULL REFERENCES kept_rows (id))",
        )
        .expect("the tables");
        let family = |parent: i64, children: [i64; 2], of: i64| {
            Chained((
                diesel::insert_into(kept_rows::table).values([Row {
                    id: parent,
                    n: 0,
                    note: None,
                }]),
                diesel::insert_into(kept_children::table).values(
                    children.map(|id| (kept_children::id.eq(id), kept_children::parent.eq(of))),
                ),
            ))
        };
        // A child may reference the parent inserted by the same statement.
        family(1, [10, 11], 1).execute(&mut c).expect("one family");
        family(2, [20, 21], 2).execute(&mut c).expect("another");
        assert_eq!(newly_kept(&kept, "WITH"), 1, "kept once, reused");
        // A child of a parent that exists nowhere fails the statement: its parent is not
        // stored either.
        assert!(family(3, [30, 31], 99).execute(&mut c).is_err());
        let parents: Vec<i64> = kept_rows::table
            .select(kept_rows::id)
            .order(kept_rows::id)
            .load(&mut c)
            .expect("the parents");
        assert_eq!(parents, [1, 2]);
        let children: Vec<(i64, i64)> = kept_children::table
            .order(kept_children::id)
            .load(&mut c)
            .expect("the children");
        assert_eq!(children, [(10, 1), (11, 1), (20, 2), (21, 2)]);
    }
}
