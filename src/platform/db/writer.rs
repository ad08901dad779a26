//! SQLite's one writer, whose commits are shared by the writes waiting their turn.
//!
//! SQLite allows one writer at a time, so every write transaction of the process runs on
//! one connection, in turn. What bounds them all is the time of each turn, and most of a
//! small write's turn is its commit: every page it changed is written to the log again (a
//! raise changes some 200, the same hot pages of the same indexes as the raise before it).
//! A write that finishes while others are queued for the writer therefore leaves the
//! transaction open: each write runs in a savepoint of its own (its failure undoes only its
//! own changes), and the last of the queue, or the [`MOST_PER_COMMIT`]-th, commits them all
//! at once. A write is answered only once its commit is done, so nothing reported as saved
//! can be lost; if the shared commit fails, every write in it gets an error.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;

use super::DbConnection;
use crate::platform::error::AppError;

/// The most writes one commit takes: bounds how long the first of them waits for its
/// answer (a few milliseconds of others' work).
pub(super) const MOST_PER_COMMIT: usize = 16;

/// How many failed commits are remembered for the writes waiting on them.
const FAILED_KEPT: usize = 1024;

#[derive(Default)]
pub(super) struct Writer {
    turn: Mutex<Turn>,
    /// Threads waiting for the turn: while there are any, a write leaves the commit to them.
    queued: AtomicUsize,
    settled: Mutex<Settled>,
    settled_changed: Condvar,
    writes: AtomicU64,
    commits: AtomicU64,
}

#[derive(Default)]
struct Turn {
    conn: Option<DbConnection>,
    /// The transaction open on `conn`, if a write left it for the next one to commit.
    open: Option<Batch>,
    last_batch: u64,
}

struct Batch {
    id: u64,
    writes: usize,
}

/// Which batches are over: every one up to `upto` (they settle in order), and of those the
/// recent ones that did not commit.
#[derive(Default)]
struct Settled {
    upto: u64,
    failed: BTreeSet<u64>,
}

fn sqlite(conn: &mut Option<DbConnection>) -> Result<&mut SqliteConnection, AppError> {
    match conn {
        Some(DbConnection::Sqlite(c)) => Ok(c),
        _ => Err(AppError::Internal("SQLite 写连接不可用".into())),
    }
}

impl Writer {
    /// Runs `f` as one write: its changes commit (with those of the writes queued behind
    /// it) or none of them stays. `open` makes the connection when there is none yet, or
    /// the last one broke.
    ///
    /// A long write (`alone`: a rollup, an import) first commits the writes waiting on the
    /// open transaction, so they are not answered only after it, and commits its own at once.
    pub(super) fn run<T>(
        &self,
        alone: bool,
        open: impl Fn() -> Result<DbConnection, AppError>,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let turn = self.turn.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut turn = turn.unwrap_or_else(|poisoned| {
            // Only this module's own code runs under the lock outside `catch_unwind`; if it
            // ever panicked, what it left open is given up.
            let mut turn = poisoned.into_inner();
            self.abandon(&mut turn);
            turn
        });
        // diesel calls a connection with a transaction open "broken": that is what a batch
        // left for this write is, so only a connection between batches is judged.
        let t = &mut *turn;
        let unusable = match (&t.open, t.conn.as_mut()) {
            (_, None) => true,
            (None, Some(c)) => c.is_broken(),
            (Some(_), Some(_)) => false,
        };
        if unusable {
            self.abandon(&mut turn);
            turn.conn = Some(open()?);
        }
        if alone && turn.open.is_some() {
            // Its failure is told to the writes waiting on it; this one starts afresh.
            let _ = self.commit(&mut turn);
            if turn.conn.is_none() {
                turn.conn = Some(open()?);
            }
        }
        if turn.open.is_none() {
            // BEGIN IMMEDIATE takes SQLite's write lock at the start, so a writer in another
            // process (the command line) waits for the busy timeout instead of failing when
            // a read lock cannot be upgraded.
            AnsiTransactionManager::begin_transaction_sql(
                sqlite(&mut turn.conn)?,
                "BEGIN IMMEDIATE",
            )?;
            turn.last_batch += 1;
            turn.open = Some(Batch {
                id: turn.last_batch,
                writes: 0,
            });
        }
        // The write's own savepoint (diesel counts it, so the write's nested transactions
        // are savepoints within it).
        if let Err(e) = AnsiTransactionManager::begin_transaction(sqlite(&mut turn.conn)?) {
            self.abandon(&mut turn);
            return Err(e.into());
        }
        let ran = catch_unwind(AssertUnwindSafe(|| match turn.conn.as_mut() {
            Some(conn) => f(conn),
            None => Err(AppError::Internal("SQLite 写连接不可用".into())),
        }));
        let outcome = match ran {
            Ok(outcome) => outcome,
            Err(panic) => {
                // Closing the connection undoes the open transaction, the others' writes
                // included: they are told it failed.
                self.abandon(&mut turn);
                drop(turn);
                resume_unwind(panic)
            }
        };
        let c = sqlite(&mut turn.conn)?;
        let ended = match &outcome {
            Ok(_) => AnsiTransactionManager::commit_transaction(c),
            Err(_) => AnsiTransactionManager::rollback_transaction(c),
        };
        if let Err(e) = ended {
            tracing::error!(error = %e, ok = outcome.is_ok(), "SQLite savepoint could not end");
            // The savepoint is gone (SQLite undid the whole transaction on an I/O error,
            // say): so is every write of the batch.
            self.abandon(&mut turn);
            return Err(outcome.err().unwrap_or_else(|| e.into()));
        }
        let Some(batch) = turn.open.as_mut() else {
            return Err(AppError::Internal("SQLite 写事务已不在".into()));
        };
        if outcome.is_ok() {
            batch.writes += 1;
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let id = batch.id;
        if alone || self.queued.load(Ordering::SeqCst) == 0 || batch.writes >= MOST_PER_COMMIT {
            let committed = self.commit(&mut turn);
            drop(turn);
            let value = outcome?;
            committed?;
            return Ok(value);
        }
        drop(turn);
        // A refused write changed nothing and waits for no commit; a done one is answered
        // once the write queued behind it has committed the batch.
        let value = outcome?;
        self.wait_for(id)?;
        Ok(value)
    }

    /// How many writes ran and in how many commits.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.writes.load(Ordering::Relaxed),
            self.commits.load(Ordering::Relaxed),
        )
    }

    fn commit(&self, turn: &mut Turn) -> Result<(), AppError> {
        let Some(batch) = turn.open.take() else {
            return Ok(());
        };
        let c = sqlite(&mut turn.conn)?;
        match AnsiTransactionManager::commit_transaction(c) {
            Ok(()) => {
                if batch.writes > 0 {
                    self.commits.fetch_add(1, Ordering::Relaxed);
                }
                self.settle(batch.id, true);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, writes = batch.writes, "SQLite commit failed");
                if AnsiTransactionManager::rollback_transaction(c).is_err() {
                    turn.conn = None;
                }
                self.settle(batch.id, false);
                Err(e.into())
            }
        }
    }

    /// Gives up the connection and whatever it holds open: closing it undoes the
    /// transaction, and the writes waiting on it are told it failed.
    fn abandon(&self, turn: &mut Turn) {
        turn.conn = None;
        if let Some(batch) = turn.open.take() {
            tracing::error!(writes = batch.writes, "SQLite write transaction given up");
            self.settle(batch.id, false);
        }
    }

    fn settle(&self, id: u64, committed: bool) {
        let mut settled = self.lock_settled();
        settled.upto = settled.upto.max(id);
        if !committed {
            settled.failed.insert(id);
            if settled.failed.len() > FAILED_KEPT {
                settled.failed.pop_first();
            }
        }
        drop(settled);
        self.settled_changed.notify_all();
    }

    fn wait_for(&self, id: u64) -> Result<(), AppError> {
        let mut settled = self.lock_settled();
        while settled.upto < id {
            settled = self
                .settled_changed
                .wait(settled)
                .unwrap_or_else(|p| p.into_inner());
        }
        if settled.failed.contains(&id) {
            return Err(AppError::Unavailable);
        }
        Ok(())
    }

    fn lock_settled(&self) -> MutexGuard<'_, Settled> {
        self.settled.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::{mpsc, Arc};
    use std::thread;
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;

    use crate::platform::db::{Db, DbOptions};
    use crate::platform::error::AppError;

    const WRITES: usize = 8;

    fn database() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let options = DbOptions {
            pool_size: 2,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout_ms: 5000,
            min_idle: 0,
        };
        let db = Db::connect(&url, &options).expect("the database");
        db.transaction(|c| Ok(c.batch_execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .expect("the table");
        (dir, db)
    }

    fn insert(c: &mut super::DbConnection, n: usize) -> Result<(), AppError> {
        diesel::sql_query(format!("INSERT INTO t (n) VALUES ({n})")).execute(c)?;
        Ok(())
    }

    fn stored(db: &Db) -> Vec<i64> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        db.read(|c| Ok(diesel::sql_query("SELECT n FROM t ORDER BY n").load::<Row>(c)?))
            .expect("the rows")
            .into_iter()
            .map(|r| r.n)
            .collect()
    }

    /// Runs write 0 first; inside its turn it waits until the other writes are all queued
    /// for the writer, so that they run behind it in whatever order the lock gives. `job`
    /// is each other write's body. Answers every write's outcome, by its number.
    fn queued_behind_one(
        db: &Db,
        alone: Option<usize>,
        job: impl Fn(usize, &mut super::DbConnection) -> Result<(), AppError> + Send + Sync + 'static,
    ) -> Vec<thread::Result<Result<(), AppError>>> {
        let job = Arc::new(job);
        let (inside, is_inside) = mpsc::channel();
        let first = {
            let db = db.clone();
            thread::spawn(move || {
                db.transaction(|c| {
                    insert(c, 0)?;
                    inside.send(()).expect("the test waits");
                    while db.sqlite_writer.queued.load(Ordering::SeqCst) < WRITES - 1 {
                        thread::yield_now();
                    }
                    Ok(())
                })
            })
        };
        is_inside.recv().expect("write 0 is in its turn");
        let others: Vec<_> = (1..WRITES)
            .map(|n| {
                let db = db.clone();
                let job = Arc::clone(&job);
                thread::spawn(move || {
                    if alone == Some(n) {
                        db.transaction_alone(|c| job(n, c))
                    } else {
                        db.transaction(|c| job(n, c))
                    }
                })
            })
            .collect();
        std::iter::once(first)
            .chain(others)
            .map(|t| t.join())
            .collect()
    }

    #[test]
    fn sqlite_is_built_so_that_statements_stay_prepared() {
        let (_dir, db) = database();
        assert!(
            db.sqlite_plans_stay_prepared().expect("the option is read"),
            "SQLite lacks SQLITE_ENABLE_QPSG: see LIBSQLITE3_FLAGS in .cargo/config.toml"
        );
    }

    /// A pooled connection reads with a small page cache, the writer writes with its large
    /// one: the pool's caches are the bulk of SQLite's memory (BENCHMARKS.md, "twelfth
    /// part"), the writer's keeps the indexes a write updates.
    #[test]
    fn readers_keep_a_small_page_cache_and_the_writer_a_large_one() {
        #[derive(diesel::QueryableByName)]
        struct Cache {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            cache_size: i64,
        }
        let cache = |c: &mut super::DbConnection| -> Result<i64, AppError> {
            Ok(diesel::sql_query("PRAGMA cache_size")
                .get_result::<Cache>(c)?
                .cache_size)
        };
        let (_dir, db) = database();
        let (reader, writer) = (
            i64::from(super::super::SQLITE_READER_CACHE_KIB),
            i64::from(super::super::SQLITE_WRITER_CACHE_KIB),
        );
        assert!(reader < writer);
        assert_eq!(db.read(cache).expect("a reader"), -reader);
        assert_eq!(db.transaction(cache).expect("the writer"), -writer);
    }

    #[test]
    fn writes_queued_together_share_one_commit_and_a_refused_one_changes_nothing() {
        let (_dir, db) = database();
        let before = db.writer_counts();
        let outcomes = queued_behind_one(&db, None, |n, c| {
            insert(c, n)?;
            if n == 3 {
                return Err(AppError::BadRequest("refused".into()));
            }
            Ok(())
        });
        for (n, outcome) in outcomes.iter().enumerate() {
            let outcome = outcome.as_ref().expect("no write panicked");
            assert_eq!(outcome.is_err(), n == 3, "write {n}: {outcome:?}");
        }
        let expected: Vec<i64> = (0..WRITES as i64).filter(|&n| n != 3).collect();
        assert_eq!(stored(&db), expected);
        let after = db.writer_counts();
        assert_eq!(after.0 - before.0, WRITES as u64 - 1, "writes done");
        assert_eq!(after.1 - before.1, 1, "one commit for the queued writes");
    }

    #[test]
    fn a_write_that_panics_takes_only_its_own_commit_down_and_the_writer_goes_on() {
        let (_dir, db) = database();
        let outcomes = queued_behind_one(&db, None, |n, c| {
            insert(c, n)?;
            if n == 5 {
                panic!("write 5 panics");
            }
            Ok(())
        });
        let rows = stored(&db);
        for (n, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Err(_) => assert_eq!(n, 5, "only write 5 panics"),
                Ok(Ok(())) => assert!(rows.contains(&(n as i64)), "write {n} answered done"),
                Ok(Err(e)) => {
                    assert!(matches!(e, AppError::Unavailable), "write {n}: {e:?}");
                    assert!(!rows.contains(&(n as i64)), "write {n} answered failed");
                }
            }
        }
        // Write 0 was in the batch the panic undid.
        assert!(matches!(outcomes[0], Ok(Err(AppError::Unavailable))));
        assert!(!rows.contains(&5));
        db.transaction(|c| insert(c, 100))
            .expect("the writer goes on");
        assert!(stored(&db).contains(&100));
    }

    #[test]
    fn a_long_write_runs_after_the_commit_of_those_before_it_and_commits_alone() {
        let (_dir, db) = database();
        let reader = db.clone();
        let before = db.writer_counts();
        let outcomes = queued_behind_one(&db, Some(4), move |n, c| {
            if n == 4 {
                // What the writer sees (its own uncommitted writes included) is what every
                // other connection sees: nothing before the long write waits on it.
                let mine = count(c)?;
                let committed = reader.read(count)?;
                assert_eq!(
                    mine, committed,
                    "writes left uncommitted before the long one"
                );
            }
            insert(c, n)
        });
        for (n, outcome) in outcomes.iter().enumerate() {
            assert!(matches!(outcome, Ok(Ok(()))), "write {n}: {outcome:?}");
        }
        assert_eq!(stored(&db), (0..WRITES as i64).collect::<Vec<_>>());
        let after = db.writer_counts();
        assert_eq!(after.0 - before.0, WRITES as u64);
        assert!(
            after.1 - before.1 >= 2,
            "the long write committed on its own"
        );
    }

    fn count(c: &mut super::DbConnection) -> Result<i64, AppError> {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<N>(c)?
            .n)
    }
}
