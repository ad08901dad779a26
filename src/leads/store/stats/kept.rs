//! The kept figures of a period, read period by period (a whole month or a day, see
//! [`hour_periods`]) and kept decoded by the process under each period's stamp
//! (`lead_stat_stamps`, migration 000041).
//!
//! The rollup gives every period it changes a new random stamp in the transaction that
//! changes it, so a period's stamp always stands for the same content, in any database. A
//! request reads its periods' stamps in its snapshot, takes the periods whose stamp it has
//! kept from the process, and reads only the others (after a rollup: today and this month)
//! from their rows, in the same snapshot. A year is then a dozen stamps and a merge in
//! memory instead of a year of rows and twelve histograms to decode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::platform::db::schema::lead_stat_stamps;

/// A histogram's buckets: `(bucket, count, sum of milliseconds)`, in bucket order.
type Buckets = Vec<(i32, i64, i64)>;

/// What one period holds: its counts, the raised and closed series of its days, and its
/// durations' buckets per department and kind.
#[derive(Debug, Default)]
struct Period {
    counts: Vec<((String, String), i64)>,
    raised: Vec<(NaiveDate, i64)>,
    closed: Vec<(NaiveDate, i64)>,
    /// Per department and kind.
    hours: Vec<((String, String), Buckets)>,
}

impl Period {
    /// About how many bytes the period takes in memory.
    fn weight(&self) -> usize {
        let buckets: usize = self.hours.iter().map(|(_, b)| 64 + b.len() * 24).sum();
        self.counts.len() * 64 + (self.raised.len() + self.closed.len()) * 16 + buckets + 128
    }
}

/// The decoded periods, by period: the stamp they were read at, when last used, and them.
#[derive(Default)]
struct Kept {
    periods: HashMap<String, (String, u64, Arc<Period>)>,
    weight: usize,
    tick: u64,
}

/// What the process keeps at most: some 16 MiB, a few years of a province's months and
/// days. The periods used longest ago go first.
const MAX_WEIGHT: usize = 16 << 20;

/// One cache per process. Databases side by side (the tests) may share a period's name,
/// never its stamp, so they cost each other a read, never a wrong figure.
static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// Held while a request reads the periods it did not find kept.
static READING: Mutex<()> = Mutex::new(());

fn with_kept<T>(f: impl FnOnce(&mut Kept) -> T) -> T {
    let mut guard = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(Kept::default))
}

impl Kept {
    fn get(&mut self, period: &str, stamp: &str) -> Option<Arc<Period>> {
        self.tick += 1;
        let tick = self.tick;
        match self.periods.get_mut(period) {
            Some((s, used, p)) if s == stamp => {
                *used = tick;
                Some(p.clone())
            }
            _ => None,
        }
    }

    fn put(&mut self, period: String, stamp: String, p: Arc<Period>) {
        let w = p.weight();
        if w > MAX_WEIGHT / 4 {
            return;
        }
        self.tick += 1;
        if let Some((_, _, old)) = self.periods.insert(period, (stamp, self.tick, p)) {
            self.weight -= old.weight();
        }
        self.weight += w;
        while self.weight > MAX_WEIGHT {
            let Some(oldest) = self
                .periods
                .iter()
                .min_by_key(|(_, (_, used, _))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, _, p)) = self.periods.remove(&oldest) {
                self.weight -= p.weight();
            }
        }
    }
}

/// The kept figures of the days from `from` to `to`, without what changed since the
/// rollup. Whole months read their own rows (a year: 12 periods instead of 365 days).
pub fn kept(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> AppResult<Figures> {
    let periods = hour_periods(from, to);
    let mut stamps: HashMap<String, String> = HashMap::new();
    for chunk in periods.chunks(IDS_AT_ONCE) {
        let rows: Vec<(String, String)> = lead_stat_stamps::table
            .filter(lead_stat_stamps::period.eq_any(chunk))
            .select((lead_stat_stamps::period, lead_stat_stamps::stamp))
            .load(conn)?;
        stamps.extend(rows);
    }
    let mut found: Vec<Arc<Period>> = Vec::with_capacity(periods.len());
    let mut missing: Vec<String> = Vec::new();
    with_kept(|k| {
        for p in &periods {
            match stamps.get(p).and_then(|s| k.get(p, s)) {
                Some(kept) => found.push(kept),
                None => missing.push(p.clone()),
            }
        }
    });
    if !missing.is_empty() {
        // One request reads at a time: requests that arrive together after a rollup (or
        // at start) wait for the first to read the periods, then take them as kept,
        // rather than each decoding the same year at once.
        let _reading = READING.lock().unwrap_or_else(|p| p.into_inner());
        with_kept(|k| {
            missing.retain(|p| match stamps.get(p).and_then(|s| k.get(p, s)) {
                Some(kept) => {
                    found.push(kept);
                    false
                }
                None => true,
            })
        });
        let read = read_periods(conn, &missing)?;
        with_kept(|k| {
            for (period, p) in read {
                let p = Arc::new(p);
                // A period with no stamp has no rows written since migration 000041
                // backfilled the stamps: nothing to keep.
                if let Some(stamp) = stamps.remove(&period) {
                    k.put(period, stamp, p.clone());
                }
                found.push(p);
            }
        });
    }
    merge(&found)
}

/// The periods as their rows hold them now, by period: three reads, whatever their number.
fn read_periods(conn: &mut DbConnection, periods: &[String]) -> AppResult<Vec<(String, Period)>> {
    let mut out: BTreeMap<String, Period> = periods
        .iter()
        .map(|p| (p.clone(), Period::default()))
        .collect();
    for chunk in periods.chunks(IDS_AT_ONCE) {
        let rows: Vec<(String, String, String, i64)> = lead_stat_days::table
            .filter(lead_stat_days::day.eq_any(chunk))
            .filter(lead_stat_days::metric.ne_all([RAISED, CLOSED_ON]))
            .select((
                lead_stat_days::day,
                lead_stat_days::metric,
                lead_stat_days::unit,
                lead_stat_days::n,
            ))
            .load(conn)?;
        for (period, metric, unit, n) in rows {
            if let Some(p) = out.get_mut(&period) {
                p.counts.push(((metric, unit), n));
            }
        }
        let blobs: Vec<(String, String)> = lead_stat_hours::table
            .filter(lead_stat_hours::period.eq_any(chunk))
            .select((lead_stat_hours::period, lead_stat_hours::buckets))
            .load(conn)?;
        for (period, text) in blobs {
            let mut h = Histograms::new();
            histogram::decode_into(&text, &mut h).map_err(AppError::Internal)?;
            if let Some(p) = out.get_mut(&period) {
                p.hours = h
                    .into_iter()
                    .map(|(k, h)| (k, h.0.into_iter().map(|(b, (n, s))| (b, n, s)).collect()))
                    .collect();
            }
        }
    }
    // The series are kept by day: a month's are those of its days.
    let mut day_of: Vec<(String, String)> = Vec::new();
    for p in periods {
        match NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d") {
            Ok(first) if p.len() == 7 => {
                let mut d = first;
                while d.format("%Y-%m").to_string() == *p {
                    day_of.push((d.to_string(), p.clone()));
                    let Some(next) = d.succ_opt() else { break };
                    d = next;
                }
            }
            _ => day_of.push((p.clone(), p.clone())),
        }
    }
    let period_of: HashMap<&str, &str> = day_of
        .iter()
        .map(|(d, p)| (d.as_str(), p.as_str()))
        .collect();
    let days: Vec<&str> = day_of.iter().map(|(d, _)| d.as_str()).collect();
    for chunk in days.chunks(IDS_AT_ONCE) {
        let rows: Vec<(String, String, i64)> = lead_stat_days::table
            .filter(lead_stat_days::day.eq_any(chunk))
            .filter(lead_stat_days::metric.eq_any([RAISED, CLOSED_ON]))
            .select((
                lead_stat_days::day,
                lead_stat_days::metric,
                lead_stat_days::n,
            ))
            .load(conn)?;
        for (day, metric, n) in rows {
            let Some(p) = period_of.get(day.as_str()).and_then(|p| out.get_mut(*p)) else {
                continue;
            };
            let day = parse_day(&day)?;
            if metric == RAISED {
                p.raised.push((day, n));
            } else {
                p.closed.push((day, n));
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The periods' figures added up. The buckets are added in arrays (a bucket is at most
/// [`histogram::LAST_BUCKET`]), not map by map: a year is some 70 000 buckets.
fn merge(periods: &[Arc<Period>]) -> AppResult<Figures> {
    let mut f = Figures::default();
    let slots = usize::try_from(histogram::LAST_BUCKET).unwrap_or(0) + 1;
    let mut dense: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for p in periods {
        for (k, n) in &p.counts {
            *f.counts.entry(k.clone()).or_insert(0) += n;
        }
        for (d, n) in &p.raised {
            *f.raised_by_day.entry(*d).or_insert(0) += n;
        }
        for (d, n) in &p.closed {
            *f.closed_by_day.entry(*d).or_insert(0) += n;
        }
        for (k, buckets) in &p.hours {
            let into = dense
                .entry(k.clone())
                .or_insert_with(|| vec![(0, 0); slots]);
            for (b, n, sum) in buckets {
                let slot = usize::try_from(*b)
                    .ok()
                    .and_then(|b| into.get_mut(b))
                    .ok_or_else(|| AppError::Internal(format!("统计直方图的桶号 {b} 超出范围")))?;
                slot.0 += n;
                slot.1 = slot.1.saturating_add(*sum);
            }
        }
    }
    for (k, slots) in dense {
        let h = histogram::Histogram(
            slots
                .into_iter()
                .enumerate()
                .filter(|(_, (n, _))| *n != 0)
                .map(|(b, v)| (b as i32, v))
                .collect(),
        );
        if !h.0.is_empty() {
            f.hours.insert(k, h);
        }
    }
    f.counts.retain(|_, n| *n != 0);
    f.raised_by_day.retain(|_, n| *n != 0);
    f.closed_by_day.retain(|_, n| *n != 0);
    Ok(f)
}

/// Gives the periods a new stamp: the rollup changed what they hold. A day's month is
/// stamped with it, as the month holds the day's series.
pub(super) fn restamp<'a>(
    conn: &mut DbConnection,
    periods: impl IntoIterator<Item = &'a String>,
) -> AppResult<()> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for p in periods {
        all.insert(p.clone());
        if let Some(month) = p.get(..7) {
            all.insert(month.to_owned());
        }
    }
    let stamp = uuid::Uuid::new_v4().to_string();
    let rows: Vec<_> = all
        .into_iter()
        .map(|p| {
            (
                lead_stat_stamps::period.eq(p),
                lead_stat_stamps::stamp.eq(stamp.clone()),
            )
        })
        .collect();
    for chunk in rows.chunks(IDS_AT_ONCE) {
        use diesel::upsert::excluded;
        per_backend!(conn, c => diesel::insert_into(lead_stat_stamps::table)
            .values(chunk)
            .on_conflict(lead_stat_stamps::period)
            .do_update()
            .set(lead_stat_stamps::stamp.eq(excluded(lead_stat_stamps::stamp)))
            .execute(c)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(hours: &[(i32, i64, i64)], counts: &[(&str, i64)]) -> Arc<Period> {
        Arc::new(Period {
            counts: counts
                .iter()
                .map(|(m, n)| (((*m).to_owned(), "EE".to_owned()), *n))
                .collect(),
            hours: vec![(("EE".into(), ACKNOWLEDGE.into()), hours.to_vec())],
            ..Period::default()
        })
    }

    #[test]
    fn merging_periods_adds_as_the_histograms_do() {
        let a = period(&[(0, 1, 100), (30, 2, 21_600_000)], &[("received", 3)]);
        let b = period(&[(30, 1, 10_800_000), (1_500, 1, 9)], &[("received", 2)]);
        let f = merge(&[a, b]).unwrap();
        let mut want = histogram::Histogram::default();
        want.add(0, 1, 100);
        want.add(30, 3, 32_400_000);
        want.add(1_500, 1, 9);
        assert_eq!(f.hours[&("EE".into(), ACKNOWLEDGE.into())], want);
        assert_eq!(f.count("received", "EE"), 5);
    }

    #[test]
    fn a_bucket_out_of_range_is_an_error_not_a_panic() {
        let bad = period(&[(histogram::LAST_BUCKET + 1, 1, 1)], &[]);
        assert!(merge(&[bad]).is_err());
        let negative = period(&[(-1, 1, 1)], &[]);
        assert!(merge(&[negative]).is_err());
    }

    #[test]
    fn the_oldest_periods_go_first_beyond_the_weight() {
        let mut k = Kept::default();
        let big = || {
            Arc::new(Period {
                hours: vec![(
                    ("EE".into(), CLOSE.into()),
                    (0..1_500).map(|b| (b, 1, 1)).collect(),
                )],
                ..Period::default()
            })
        };
        let each = big().weight();
        let fit = MAX_WEIGHT / each;
        for i in 0..fit + 3 {
            k.put(format!("p{i}"), "s".into(), big());
            // The first stays in use, so it is never the oldest.
            assert!(k.get("p0", "s").is_some());
        }
        assert!(k.weight <= MAX_WEIGHT);
        assert!(k.get("p1", "s").is_none());
        assert!(k.get(&format!("p{}", fit + 2), "s").is_some());
        assert!(k.get("p0", "other stamp").is_none());
    }
}
