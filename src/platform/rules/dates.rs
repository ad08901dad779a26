//! Dates people type. Every date the service accepts lies between 1949-10-01 and fifty
//! years after today: a year such as `+262142` is a typing mistake (or an attack) and
//! would overflow the date arithmetic of grades, reminders and statistics.

use chrono::{Datelike, Months, NaiveDate};

/// How far ahead a planned date (a deadline, an expiry) may lie.
pub const HORIZON_YEARS: u32 = 50;

/// The earliest date any record can carry.
pub fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(1949, 10, 1).expect("a valid date")
}

/// The latest date accepted on `today`.
pub fn latest(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_months(Months::new(12 * HORIZON_YEARS))
        .unwrap_or(NaiveDate::MAX)
}

/// Parses `YYYY-MM-DD` and keeps it within [1949-10-01, today + 50 years]. The error is
/// the message for the field, in Chinese.
pub fn parse(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let text = text.trim();
    // chrono accepts a sign and more than four digits for the year; people never mean that.
    let shaped = text.len() == 10
        && text
            .char_indices()
            .all(|(i, c)| matches!(i, 4 | 7) == (c == '-') && (c == '-' || c.is_ascii_digit()));
    let date = shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| "日期格式应为 YYYY-MM-DD，例如 2026-05-06".to_owned())?;
    if date < earliest() {
        return Err("日期不能早于 1949-10-01".into());
    }
    if date > latest(today) {
        return Err(format!(
            "日期不能晚于 {}（今天起 {HORIZON_YEARS} 年内）",
            latest(today)
        ));
    }
    Ok(date)
}

/// `date` plus `months`, or `None` past the calendar's end (never a panic).
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// The months from `from`'s to `to`'s, as "2026-03", at most 121 (ten years and a month).
pub fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let (mut y, mut m) = (from.year(), from.month());
    let mut out = Vec::new();
    while (y, m) <= (to.year(), to.month()) && out.len() < 121 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn ordinary_dates_pass() {
        assert_eq!(
            parse(" 2026-05-06 ", today()),
            Ok(NaiveDate::from_ymd_opt(2026, 5, 6).unwrap())
        );
        assert!(parse("1949-10-01", today()).is_ok());
        assert!(parse("2076-12-01", today()).is_ok());
    }

    #[test]
    fn extreme_and_malformed_dates_are_refused() {
        for bad in [
            "+262142-12-31",
            "-0001-01-01",
            "262142-12-31",
            "1949-09-30",
            "2076-12-02",
            "9999-12-31",
            "2026-02-30",
            "2026-5-6",
            "2026/05/06",
            "",
            "２０２６-05-06",
        ] {
            assert!(parse(bad, today()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn months_between_spans_the_turn_of_a_year() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            months_between(d("2025-11-30"), d("2026-02-01")),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(
            months_between(d("2026-03-05"), d("2026-03-06")),
            ["2026-03"]
        );
        assert!(months_between(d("2026-03-05"), d("2026-02-06")).is_empty());
    }

    #[test]
    fn month_arithmetic_at_the_end_of_the_calendar_is_none() {
        assert_eq!(add_months(NaiveDate::MAX, 36), None);
        assert_eq!(
            add_months(today(), 36),
            NaiveDate::from_ymd_opt(2029, 12, 1)
        );
    }
}
