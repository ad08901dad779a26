//! Working-day arithmetic on China's official holiday calendar, make-up workdays (调休)
//! included. Each year's calendar is a data file (config/calendar/YEAR.toml).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct YearFile {
    pub year: i32,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub holidays: Vec<HolidayRange>,
    #[serde(default)]
    pub workdays: Vec<MakeUpDay>,
}

#[derive(Debug, Deserialize)]
pub struct HolidayRange {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Deserialize)]
pub struct MakeUpDay {
    pub name: String,
    pub date: NaiveDate,
}

/// What kind of day a date is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    Workday,
    Weekend,
    Holiday(String),
    MakeUpWorkday(String),
}

#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    holidays: BTreeMap<NaiveDate, String>,
    makeup: BTreeMap<NaiveDate, String>,
    years: BTreeSet<i32>,
    sources: BTreeMap<i32, String>,
}

/// Working days are counted forward only; a limit this large is a mistake, not a plan.
pub const MAX_WORKING_DAYS: u32 = 3650;

impl WorkingCalendar {
    /// Adds one year's file; a later file for the same year replaces the earlier one.
    pub fn add_year(&mut self, text: &str) -> Result<i32, String> {
        let file: YearFile =
            toml::from_str(text).map_err(|e| format!("节假日文件格式有误：{e}"))?;
        let year = file.year;
        self.holidays.retain(|d, _| d.year() != year);
        self.makeup.retain(|d, _| d.year() != year);
        for h in &file.holidays {
            if h.to < h.from || h.from.year() != year {
                return Err(format!("{year} 年节假日 {} 的日期范围有误", h.name));
            }
            let mut d = h.from;
            while d <= h.to {
                self.holidays.insert(d, h.name.clone());
                d += Duration::days(1);
            }
        }
        for w in &file.workdays {
            if w.date.year() != year {
                return Err(format!("{year} 年调休上班日 {} 不在该年内", w.date));
            }
            if self.holidays.contains_key(&w.date) {
                return Err(format!("{} 同时被列为节假日和调休上班日", w.date));
            }
            self.makeup.insert(w.date, w.name.clone());
        }
        self.years.insert(year);
        self.sources.insert(year, file.source);
        Ok(year)
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    pub fn source(&self, year: i32) -> Option<&str> {
        self.sources.get(&year).map(String::as_str)
    }

    /// Whether the official calendar for `year` is loaded (otherwise only weekends count).
    pub fn knows_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        if let Some(name) = self.makeup.get(&date) {
            return DayKind::MakeUpWorkday(name.clone());
        }
        if let Some(name) = self.holidays.get(&date) {
            return DayKind::Holiday(name.clone());
        }
        match date.weekday() {
            Weekday::Sat | Weekday::Sun => DayKind::Weekend,
            _ => DayKind::Workday,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        matches!(
            self.day_kind(date),
            DayKind::Workday | DayKind::MakeUpWorkday(_)
        )
    }

    /// The date `days` working days after `from` (`from` itself is not counted).
    /// With `days == 0` the answer is `from` itself.
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> Option<NaiveDate> {
        if days > MAX_WORKING_DAYS {
            return None;
        }
        let mut d = from;
        let mut left = days;
        while left > 0 {
            d = d.succ_opt()?;
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        Some(d)
    }

    /// Holidays and make-up days of one year, in date order, for display.
    pub fn special_days(&self, year: i32) -> Vec<(NaiveDate, DayKind)> {
        let mut days: Vec<(NaiveDate, DayKind)> = self
            .holidays
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, n)| (*d, DayKind::Holiday(n.clone())))
            .chain(
                self.makeup
                    .iter()
                    .filter(|(d, _)| d.year() == year)
                    .map(|(d, n)| (*d, DayKind::MakeUpWorkday(n.clone()))),
            )
            .collect();
        days.sort_by_key(|(d, _)| *d);
        days
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> WorkingCalendar {
        let mut c = WorkingCalendar::default();
        c.add_year(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/calendar/2026.toml"
        )))
        .unwrap();
        c
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ordinary_week_skips_the_weekend() {
        // Fri 2026-03-06 + 1 working day = Mon 2026-03-09
        assert_eq!(
            cal().add_working_days(d("2026-03-06"), 1),
            Some(d("2026-03-09"))
        );
        assert_eq!(
            cal().add_working_days(d("2026-03-09"), 5),
            Some(d("2026-03-16"))
        );
    }

    #[test]
    fn spring_festival_is_skipped_and_make_up_saturday_counts() {
        // Fri 2026-02-13 + 1 → Sat 2026-02-14 is a make-up workday.
        assert_eq!(
            cal().add_working_days(d("2026-02-13"), 1),
            Some(d("2026-02-14"))
        );
        // Sat 2026-02-14 + 1 → holiday 02-15..02-23, next working day Tue 02-24.
        assert_eq!(
            cal().add_working_days(d("2026-02-14"), 1),
            Some(d("2026-02-24"))
        );
        // Fri 2026-02-27 + 1 → Sat 02-28 make-up workday.
        assert_eq!(
            cal().add_working_days(d("2026-02-27"), 1),
            Some(d("2026-02-28"))
        );
    }

    #[test]
    fn national_day_week() {
        // Wed 2026-09-30 + 1 → holiday 10-01..10-07, Thu 10-08.
        assert_eq!(
            cal().add_working_days(d("2026-09-30"), 1),
            Some(d("2026-10-08"))
        );
        // Thu 10-08, Fri 10-09, Sat 10-10 (make-up) → 3 working days after 09-30.
        assert_eq!(
            cal().add_working_days(d("2026-09-30"), 3),
            Some(d("2026-10-10"))
        );
        assert!(cal().is_working_day(d("2026-09-20")));
    }

    #[test]
    fn zero_days_is_the_same_date() {
        assert_eq!(
            cal().add_working_days(d("2026-05-02"), 0),
            Some(d("2026-05-02"))
        );
    }

    #[test]
    fn the_2026_calendar_has_every_official_day() {
        let c = cal();
        let holidays = c
            .special_days(2026)
            .iter()
            .filter(|(_, k)| matches!(k, DayKind::Holiday(_)))
            .count();
        let makeup = c
            .special_days(2026)
            .iter()
            .filter(|(_, k)| matches!(k, DayKind::MakeUpWorkday(_)))
            .count();
        assert_eq!(holidays, 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(makeup, 6);
    }

    #[test]
    fn refuses_a_day_both_off_and_on() {
        let mut c = WorkingCalendar::default();
        let bad = "year = 2027\nholidays = [{ name = \"x\", from = \"2027-01-01\", to = \"2027-01-02\" }]\nworkdays = [{ name = \"y\", date = \"2027-01-02\" }]";
        assert!(c.add_year(bad).is_err());
    }
}
