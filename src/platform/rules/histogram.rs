//! Durations kept as histograms, so that the median of any period can be read from a few
//! kept rows instead of every lead of the period.
//!
//! A duration in milliseconds falls into a bucket whose width grows with it: 6 minutes
//! (a tenth of an hour, the precision the statistics show) below a day, an hour below ten
//! days, ten hours below a hundred days, a hundred hours beyond. Each bucket keeps how many
//! durations fell in it and their sum, and a median read from the buckets takes each value
//! as the mean of its bucket: exact where a bucket holds one duration (or equal ones), and
//! never further from the exact median than the bucket's width (a tenth of an hour for
//! anything under a day). The bucket boundaries are the same integers here and in the SQL
//! the store builds from [`STEPS`].

use std::collections::BTreeMap;

/// `(below_ms, width_ms)`: durations below `below_ms` fall into buckets `width_ms` wide,
/// counted on from the previous step's end. Beyond the last step the last width goes on,
/// up to [`LAST_BUCKET`].
pub const STEPS: [(i64, i64); 3] = [
    (86_400_000, 360_000),       // < 24 h: 0.1 h
    (864_000_000, 3_600_000),    // < 240 h: 1 h
    (8_640_000_000, 36_000_000), // < 2 400 h: 10 h
];
/// Beyond the steps: 100 hours a bucket.
pub const TAIL_WIDTH_MS: i64 = 360_000_000;
/// The last bucket holds everything longer (about ten years).
pub const LAST_BUCKET: i32 = 1_500;

/// The first bucket of each step, and of the tail.
pub fn step_starts() -> [i32; 4] {
    let mut starts = [0; 4];
    let mut from_ms = 0;
    for (i, (below, width)) in STEPS.iter().enumerate() {
        starts[i + 1] = starts[i] + ((below - from_ms) / width) as i32;
        from_ms = *below;
    }
    starts
}

/// The bucket of a duration; a negative one (a clock set back) counts as zero.
pub fn bucket_of(ms: i64) -> i32 {
    let starts = step_starts();
    let mut from_ms = 0;
    let ms = ms.max(0);
    for (i, (below, width)) in STEPS.iter().enumerate() {
        if ms < *below {
            return starts[i] + ((ms - from_ms) / width) as i32;
        }
        from_ms = *below;
    }
    let tail = (ms - from_ms) / TAIL_WIDTH_MS;
    (i64::from(starts[3]) + tail).min(i64::from(LAST_BUCKET)) as i32
}

/// The hours a bucket spans: `[low, high)`.
pub fn bounds(bucket: i32) -> (f64, f64) {
    let starts = step_starts();
    let bucket = bucket.clamp(0, LAST_BUCKET);
    let mut from_ms = 0i64;
    for (i, (below, width)) in STEPS.iter().enumerate() {
        if bucket < starts[i + 1] {
            let low = from_ms + i64::from(bucket - starts[i]) * width;
            return (low as f64 / 3.6e6, (low + width) as f64 / 3.6e6);
        }
        from_ms = *below;
    }
    let low = from_ms + i64::from(bucket - starts[3]) * TAIL_WIDTH_MS;
    (low as f64 / 3.6e6, (low + TAIL_WIDTH_MS) as f64 / 3.6e6)
}

/// Per bucket: how many durations, and their sum in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(pub BTreeMap<i32, (i64, i64)>);

impl Histogram {
    /// Adds `n` durations of bucket `bucket` summing `sum_ms`.
    pub fn add(&mut self, bucket: i32, n: i64, sum_ms: i64) {
        let e = self.0.entry(bucket).or_insert((0, 0));
        e.0 += n;
        e.1 = e.1.saturating_add(sum_ms);
        if e.0 == 0 {
            self.0.remove(&bucket);
        }
    }

    /// Adds one duration.
    pub fn add_ms(&mut self, ms: i64) {
        self.add(bucket_of(ms), 1, ms.max(0));
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (b, (n, sum)) in &other.0 {
            self.add(*b, *n, *sum);
        }
    }

    pub fn total(&self) -> i64 {
        self.0.values().map(|(n, _)| n).sum()
    }

    /// The mean of the bucket holding the `k`-th duration (from 0, in order), in hours.
    fn value_at(&self, k: i64) -> Option<f64> {
        let mut seen = 0;
        for (n, sum) in self.0.values() {
            seen += n;
            if k < seen {
                return Some(*sum as f64 / *n as f64 / 3.6e6);
            }
        }
        None
    }

    /// The median, as the exact one is taken (the mean of the two middle values when the
    /// count is even), each value the mean of its bucket.
    pub fn median(&self) -> Option<f64> {
        let n = self.total();
        if n <= 0 {
            return None;
        }
        if n % 2 == 1 {
            self.value_at(n / 2)
        } else {
            Some((self.value_at(n / 2 - 1)? + self.value_at(n / 2)?) / 2.0)
        }
    }

    /// The width in hours of the bucket a value falls in: how far a median read from the
    /// buckets may lie from the exact one.
    pub fn precision_at(hours: f64) -> f64 {
        let (low, high) = bounds(bucket_of((hours * 3.6e6) as i64));
        high - low
    }
}

/// Histograms by unit and kind, written as text: a line per unit and kind,
/// `UNIT<TAB>KIND<TAB>bucket:count:sum,bucket:count:sum`.
pub type Histograms = BTreeMap<(String, String), Histogram>;

pub fn encode(h: &Histograms) -> String {
    let mut out = String::new();
    for ((unit, kind), hist) in h {
        if hist.0.is_empty() {
            continue;
        }
        out.push_str(unit);
        out.push('\t');
        out.push_str(kind);
        out.push('\t');
        let pairs: Vec<String> = hist
            .0
            .iter()
            .map(|(b, (n, sum))| format!("{b}:{n}:{sum}"))
            .collect();
        out.push_str(&pairs.join(","));
        out.push('\n');
    }
    out
}

/// Reads what [`encode`] wrote and adds it to `into`; a line that cannot be read is an error
/// naming it.
pub fn decode_into(text: &str, into: &mut Histograms) -> Result<(), String> {
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let bad = || format!("统计直方图第 {} 行无法读取", i + 1);
        let mut parts = line.split('\t');
        let (Some(unit), Some(kind), Some(pairs), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let hist = into.entry((unit.to_owned(), kind.to_owned())).or_default();
        for triple in pairs.split(',').filter(|p| !p.is_empty()) {
            let mut parts = triple.split(':');
            let (Some(b), Some(n), Some(sum), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let b: i32 = b.parse().map_err(|_| bad())?;
            let n: i64 = n.parse().map_err(|_| bad())?;
            let sum: i64 = sum.parse().map_err(|_| bad())?;
            hist.add(b, n, sum);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn buckets_widen_with_the_duration() {
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(HOUR / 10 - 1), 0);
        assert_eq!(bucket_of(HOUR / 10), 1);
        assert_eq!(bucket_of(3 * HOUR), 30);
        assert_eq!(bucket_of(24 * HOUR - 1), 239);
        assert_eq!(bucket_of(24 * HOUR), 240);
        assert_eq!(bucket_of(240 * HOUR - 1), 455);
        assert_eq!(bucket_of(240 * HOUR), 456);
        assert_eq!(bucket_of(2400 * HOUR), 672);
        assert_eq!(bucket_of(2500 * HOUR), 673);
        assert_eq!(bucket_of(i64::MAX), LAST_BUCKET);
        assert_eq!(step_starts(), [0, 240, 456, 672]);
    }

    #[test]
    fn every_bucket_holds_its_own_bounds() {
        for b in 0..LAST_BUCKET {
            let (low, high) = bounds(b);
            assert!(high > low, "{b}");
            assert_eq!(bucket_of((low * 3.6e6).round() as i64), b, "{b} low {low}");
            assert_eq!(
                bucket_of((high * 3.6e6).round() as i64 - 1),
                b,
                "{b} high {high}"
            );
        }
        assert_eq!(bounds(30), (3.0, 3.1));
        assert_eq!(bounds(240), (24.0, 25.0));
    }

    #[test]
    fn the_median_lies_within_its_bucket_of_the_exact_one() {
        let values_h = [0.05, 1.26, 3.0, 5.5, 30.2, 31.7, 300.0];
        let mut h = Histogram::default();
        for v in values_h {
            h.add_ms((v * 3.6e6) as i64);
        }
        // One duration to a bucket: exact.
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(close(h.median(), 5.5), "{:?}", h.median());
        h.add_ms(1000 * HOUR);
        assert!(close(h.median(), (5.5 + 30.2) / 2.0), "{:?}", h.median());
        // Two in one bucket: their mean, within the bucket's width of the exact median.
        h.add_ms((30.9 * 3.6e6) as i64);
        let m = h.median().unwrap();
        assert!((m - 30.2).abs() <= Histogram::precision_at(30.2), "{m}");
        assert_eq!(Histogram::default().median(), None);
    }

    #[test]
    fn histograms_survive_their_text() {
        let mut hs = Histograms::new();
        let mut a = Histogram::default();
        a.add(3, 5, 1_000_000);
        a.add(700, 1, 9_000_000_000);
        hs.insert(("EE".into(), "acknowledge".into()), a);
        hs.insert(("EM".into(), "close".into()), Histogram::default());
        let text = encode(&hs);
        assert_eq!(text, "EE\tacknowledge\t3:5:1000000,700:1:9000000000\n");
        let mut back = Histograms::new();
        decode_into(&text, &mut back).unwrap();
        decode_into(&text, &mut back).unwrap();
        assert_eq!(
            back[&("EE".into(), "acknowledge".into())].0[&3],
            (10, 2_000_000)
        );
        assert!(decode_into("EE\tx\t3:5\n", &mut back).is_err());
        assert!(decode_into("only one field", &mut back).is_err());
    }
}
