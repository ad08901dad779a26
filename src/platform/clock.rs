//! Time comes from here, never from `Utc::now()` in business code, so tests can move it.
//! "Today" is the calendar date in Asia/Shanghai (`today`), never the UTC date: between
//! 00:00 and 08:00 Beijing time the two differ.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The UTC wall time as stored in the database (`Timestamp` columns hold UTC), to the
    /// microsecond: PostgreSQL keeps no more, and SQLite would keep the nanoseconds as
    /// text, so a keyset cursor (which carries microseconds) would no longer compare
    /// exactly with the row it came from and a page could repeat it.
    fn now_naive(&self) -> NaiveDateTime {
        let t = self.now().naive_utc();
        t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
            .unwrap_or(t)
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests and benchmarks.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(start)))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Display times are in Asia/Shanghai (UTC+8, no daylight saving).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The Asia/Shanghai calendar date of a stored UTC time.
pub fn shanghai_date(t: NaiveDateTime) -> chrono::NaiveDate {
    t.and_utc().with_timezone(&shanghai()).date_naive()
}

pub fn local_time(t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().with_timezone(&shanghai()).to_rfc3339()
}

/// Today's date in Asia/Shanghai by `clock`: the one definition of "today".
pub fn today(clock: &dyn Clock) -> NaiveDate {
    clock.now().with_timezone(&shanghai()).date_naive()
}
