//! Lead statistics (the core report of 街镇吹哨、部门报到) and the lead ledger (台账).
//! Per department: leads received as primary, reported in (响应率) and on time (报到及时率),
//! verified on time, closed (办结率), satisfaction (满意率), overdue now, median hours to
//! report in and to close; per township: whistles raised. Counted in the database with
//! GROUP BY, one query per figure group, whatever the number of leads.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::leads::store::stats as store;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// First day (YYYY-MM-DD, by the date a lead was raised); default: the first of this month.
    pub from: Option<String>,
    /// Last day, inclusive; default: today.
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DepartmentStats {
    pub department: String,
    pub name: String,
    /// Leads raised in the period with this department as primary (主办).
    pub received: i64,
    /// Reported in at all.
    pub acknowledged: i64,
    pub acknowledged_on_time: i64,
    pub verified_on_time: i64,
    pub closed: i64,
    /// 响应率: acknowledged / received, in percent.
    pub response_rate: Option<f64>,
    /// 报到及时率: acknowledged on time / received, in percent.
    pub on_time_rate: Option<f64>,
    /// 办结率: closed / received, in percent.
    pub closure_rate: Option<f64>,
    /// Evaluations by townships of this department's response, for leads of the period.
    pub evaluated: i64,
    /// 满意 or 基本满意.
    pub satisfied: i64,
    /// 满意率, in percent of evaluations.
    pub satisfaction_rate: Option<f64>,
    /// Open leads past a deadline now (whatever their raising date).
    pub overdue_now: i64,
    pub median_hours_to_acknowledge: Option<f64>,
    pub median_hours_to_close: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TownshipStats {
    pub township: String,
    pub name: String,
    /// Whistles blown (leads raised by the township) in the period.
    pub raised: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadStats {
    #[schema(value_type = String)]
    pub from: NaiveDate,
    #[schema(value_type = String)]
    pub to: NaiveDate,
    pub departments: Vec<DepartmentStats>,
    pub townships: Vec<TownshipStats>,
    /// Week by week through the period (weeks from Monday, Beijing time): raised and closed.
    pub weeks: Vec<WeekStats>,
    /// The district's targets for the rates (`leads.targets`), in percent.
    pub targets: crate::platform::config::RateTargets,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeekStats {
    /// The week's Monday.
    #[schema(value_type = String)]
    pub week: NaiveDate,
    pub raised: i64,
    pub closed: i64,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The period as UTC bounds: from the start of `from` to the end of `to` in Shanghai.
pub fn period(q: &StatsQuery, today: NaiveDate) -> AppResult<(NaiveDate, NaiveDate)> {
    let parse = |field: &str, v: &Option<String>, default: NaiveDate| -> AppResult<NaiveDate> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => crate::platform::rules::dates::parse(s, today)
                .map_err(|message| AppError::field(field, message)),
        }
    };
    let from = parse("from", &q.from, today.with_day0(0).unwrap_or(today))?;
    let to = parse("to", &q.to, today)?;
    if to < from {
        return Err(AppError::field("to", "结束日期不能早于开始日期"));
    }
    if (to - from).num_days() > 3660 {
        return Err(AppError::field("from", "统计期间不能超过 10 年"));
    }
    Ok((from, to))
}

/// The period's first instant and the instant after its last, in UTC (Beijing days).
fn bounds(from: NaiveDate, to: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let offset = chrono::Duration::hours(8);
    let start = from.and_hms_opt(0, 0, 0).expect("midnight") - offset;
    let end = to
        .succ_opt()
        .unwrap_or(to)
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        - offset;
    (start, end)
}

/// Changed leads a request adds to the kept figures itself; beyond this many notes (the
/// rollup is far behind, as after a bulk load) it counts the whole period from the leads,
/// as before the kept figures.
const CHANGES_COUNTED: i64 = 20_000;

/// Marked deadline days a request counts from the leads itself; beyond this many it counts
/// every open lead past its deadline.
const MARKED_DAYS_COUNTED: usize = 62;

/// The period's figures: the kept ones, plus what the leads changed since the rollup add to
/// them, so a figure is never behind the leads.
fn figures(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> AppResult<store::Figures> {
    let Some(changed) = store::changed_leads(conn, CHANGES_COUNTED)? else {
        let (start, end) = bounds(from, to);
        return store::grouped(conn, start, end);
    };
    let mut f = store::kept(conn, from, to)?;
    if !changed.is_empty() {
        f.add(&store::since_kept(conn, &changed, (from, to))?);
    }
    Ok(f)
}

/// Open leads past their deadline at `now`, per primary department: the kept counts of the
/// deadline days before today, the marked ones and today's part counted from the leads.
fn overdue_now(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<BTreeMap<String, i64>> {
    let today = crate::platform::clock::shanghai_date(now);
    let marked = store::marked_due_days(conn, today)?;
    if marked.len() > MARKED_DAYS_COUNTED {
        return store::overdue(conn, now);
    }
    let mut out = store::kept_due(conn, today, &marked)?;
    let mut add = |m: BTreeMap<String, i64>| {
        for (u, n) in m {
            *out.entry(u).or_insert(0) += n;
        }
    };
    for (a, b) in runs(&marked) {
        let (start, end) = bounds(a, b);
        add(store::due_between(conn, start, end)?);
    }
    let (today_start, _) = bounds(today, today);
    if now > today_start {
        add(store::due_between(conn, today_start, now)?);
    }
    out.retain(|_, n| *n != 0);
    Ok(out)
}

/// Consecutive days as `(first, last)` runs.
fn runs(days: &std::collections::BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(*d) => *last = *d,
            _ => out.push((*d, *d)),
        }
    }
    out
}

/// The statistics of a period, from the kept figures (a few rows a day, a histogram a
/// month): the same figures as [`recount`], the medians to their bucket's precision.
pub fn stats(
    conn: &mut DbConnection,
    q: &StatsQuery,
    today: NaiveDate,
    now: NaiveDateTime,
    targets: &crate::platform::config::RateTargets,
) -> AppResult<LeadStats> {
    let (from, to) = period(q, today)?;
    // The kept figures, the changes since and the kept parts read as of one instant: a
    // rollup committing halfway through would otherwise be counted twice or not at all.
    store::snapshot(conn, |conn| stats_at(conn, from, to, now, targets))
}

fn stats_at(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    now: NaiveDateTime,
    targets: &crate::platform::config::RateTargets,
) -> AppResult<LeadStats> {
    let f = figures(conn, from, to)?;
    let tenth = |h: Option<f64>| h.map(|h| (h * 10.0).round() / 10.0);
    let median = |dept: &str, kind: &str| {
        tenth(
            f.hours
                .get(&(dept.to_owned(), kind.to_owned()))
                .and_then(|h| h.median()),
        )
    };
    let mut medians = BTreeMap::new();
    for d in crate::reference::departments(conn)? {
        medians.insert(
            d.code.clone(),
            (
                median(&d.code, store::ACKNOWLEDGE),
                median(&d.code, store::CLOSE),
            ),
        );
    }
    let monday =
        |d: &NaiveDate| *d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let mut raised_weeks = BTreeMap::new();
    for (d, n) in &f.raised_by_day {
        *raised_weeks.entry(monday(d)).or_insert(0) += n;
    }
    let mut closed_weeks = BTreeMap::new();
    for (d, n) in &f.closed_by_day {
        *closed_weeks.entry(monday(d)).or_insert(0) += n;
    }
    let counts = |metric: &str, unit: &str| f.count(metric, unit);
    let overdue = overdue_now(conn, now)?;
    assemble(
        conn,
        (from, to),
        &counts,
        &medians,
        (&raised_weeks, &closed_weeks),
        &overdue,
        targets,
    )
}

/// The statistics of a period counted from the leads themselves, with the exact medians:
/// how they were computed before the kept figures, and what those are checked against.
pub fn recount(
    conn: &mut DbConnection,
    q: &StatsQuery,
    today: NaiveDate,
    now: NaiveDateTime,
    targets: &crate::platform::config::RateTargets,
) -> AppResult<LeadStats> {
    let (from, to) = period(q, today)?;
    let (start, end) = bounds(from, to);
    let f = store::grouped(conn, start, end)?;
    let tenth = |h: Option<f64>| h.map(|h| (h * 10.0).round() / 10.0);
    let medians: BTreeMap<String, (Option<f64>, Option<f64>)> =
        match store::hours(conn, start, end)? {
            store::Hours::Medians(m) => m
                .into_iter()
                .map(|(d, (a, c))| (d, (tenth(a), tenth(c))))
                .collect(),
            store::Hours::Each(by) => by
                .into_iter()
                .map(|(d, (a, c))| (d, (tenth(median(a)), tenth(median(c)))))
                .collect(),
        };
    let (raised_weeks, closed_weeks) = store::weeks(conn, start, end)?;
    let by_monday = |m: BTreeMap<String, i64>| -> BTreeMap<NaiveDate, i64> {
        m.into_iter()
            .filter_map(|(k, n)| {
                NaiveDate::parse_from_str(&k, "%Y-%m-%d")
                    .ok()
                    .map(|d| (d, n))
            })
            .collect()
    };
    let counts = |metric: &str, unit: &str| f.count(metric, unit);
    let overdue = store::overdue(conn, now)?;
    assemble(
        conn,
        (from, to),
        &counts,
        &medians,
        (&by_monday(raised_weeks), &by_monday(closed_weeks)),
        &overdue,
        targets,
    )
}

/// Whatever the figures came from: departments with their rates, townships, the weeks.
fn assemble(
    conn: &mut DbConnection,
    (from, to): (NaiveDate, NaiveDate),
    count: &dyn Fn(&str, &str) -> i64,
    medians: &BTreeMap<String, (Option<f64>, Option<f64>)>,
    (raised_weeks, closed_weeks): (&BTreeMap<NaiveDate, i64>, &BTreeMap<NaiveDate, i64>),
    overdue: &BTreeMap<String, i64>,
    targets: &crate::platform::config::RateTargets,
) -> AppResult<LeadStats> {
    let departments: Vec<DepartmentStats> = crate::reference::departments(conn)?
        .into_iter()
        .map(|d| {
            let received = count("received", &d.code);
            let acknowledged = count("acknowledged", &d.code);
            let on_time = count("acknowledged_on_time", &d.code);
            let closed = count("closed", &d.code);
            let ev = count("evaluated", &d.code);
            let sat = count("satisfied", &d.code);
            let (ma, mc) = medians.get(&d.code).copied().unwrap_or((None, None));
            DepartmentStats {
                received,
                acknowledged,
                acknowledged_on_time: on_time,
                verified_on_time: count("verified_on_time", &d.code),
                closed,
                response_rate: rate(acknowledged, received),
                on_time_rate: rate(on_time, received),
                closure_rate: rate(closed, received),
                evaluated: ev,
                satisfied: sat,
                satisfaction_rate: rate(sat, ev),
                overdue_now: overdue.get(&d.code).copied().unwrap_or(0),
                median_hours_to_acknowledge: ma,
                median_hours_to_close: mc,
                department: d.code,
                name: d.name,
            }
        })
        .collect();
    let townships = crate::reference::townships(conn)?
        .into_iter()
        .map(|t| TownshipStats {
            raised: count("whistles", &t.code),
            township: t.code,
            name: t.name,
        })
        .collect();
    let mut weeks = Vec::new();
    let mut monday =
        from - chrono::Duration::days(i64::from(from.weekday().num_days_from_monday()));
    while monday <= to {
        weeks.push(WeekStats {
            week: monday,
            raised: raised_weeks.get(&monday).copied().unwrap_or(0),
            closed: closed_weeks.get(&monday).copied().unwrap_or(0),
        });
        monday += chrono::Duration::days(7);
    }
    Ok(LeadStats {
        from,
        to,
        departments,
        townships,
        weeks,
        targets: targets.clone(),
    })
}

/// What one round of the rollup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rolled {
    /// Notes of changed leads taken.
    pub marks: usize,
    /// Leads whose parts were kept anew.
    pub leads: usize,
    /// Deadline days whose open leads were counted again.
    pub due_days: usize,
}

/// One round of the rollup: takes the notes of up to `max_leads` changed leads and keeps
/// their parts, then counts up to `max_days` marked deadline days again; `None` when
/// another instance is at it. Run in one transaction.
pub fn rollup(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    max_leads: i64,
    max_days: i64,
) -> AppResult<Option<Rolled>> {
    let Some((marks, leads)) = store::take_changes(conn, max_leads)? else {
        return Ok(None);
    };
    store::keep_parts(conn, &leads)?;
    let due_days = store::take_due_marks(conn, max_days)?;
    for day in &due_days {
        let (start, end) = bounds(*day, *day);
        let counts = store::due_between(conn, start, end)?;
        store::keep_due_day(conn, *day, &counts)?;
    }
    if !leads.is_empty() || !due_days.is_empty() {
        store::rolled(conn, now)?;
    }
    Ok(Some(Rolled {
        marks,
        leads: leads.len(),
        due_days: due_days.len(),
    }))
}

/// Every lead matching the query (as the user may see them), one keyset page of the list
/// at a time (so the filters and scope are exactly the list's): at most one page is held
/// however many leads match. A failed page ends the walk and is kept in `failed`.
struct Matching<'a> {
    conn: &'a mut DbConnection,
    who: &'a crate::platform::authz::Principal,
    q: crate::leads::LeadQuery,
    now: NaiveDateTime,
    page: std::vec::IntoIter<crate::leads::Lead>,
    done: bool,
    failed: Option<AppError>,
}

impl Iterator for Matching<'_> {
    type Item = crate::leads::Lead;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(l) = self.page.next() {
                return Some(l);
            }
            if self.done {
                return None;
            }
            match crate::leads::list(self.conn, self.who, &self.q, self.now) {
                Ok((rows, next)) => {
                    self.page = rows.into_iter();
                    self.done = next.is_none();
                    self.q.cursor = next;
                }
                Err(e) => {
                    self.failed = Some(e);
                    self.done = true;
                }
            }
        }
    }
}

/// The lead ledger (问题线索台账) as an .xlsx workbook.
/// The statistics as a workbook: departments, townships, weeks.
pub fn workbook(s: &LeadStats) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::{Sheet, Value};
    let n = |v: i64| Value::Number(v as f64);
    // Rates are percentages already (66.7).
    let share = |v: Option<f64>| v.map_or(Value::Empty, Value::Number);
    let hours = |v: Option<f64>| v.map_or(Value::Empty, Value::Number);
    let period = format!("{} 至 {}", s.from, s.to);
    crate::platform::xlsx::workbook_of(vec![
        Sheet {
            name: "部门办理统计",
            headers: vec![
                ("统计期间", 24.0),
                ("部门", 20.0),
                ("受理", 8.0),
                ("已报到", 8.0),
                ("响应率（%）", 10.0),
                ("按时报到", 8.0),
                ("报到及时率（%）", 12.0),
                ("按时核查", 8.0),
                ("已办结", 8.0),
                ("办结率（%）", 10.0),
                ("已评价", 8.0),
                ("满意", 8.0),
                ("满意率（%）", 10.0),
                ("当前逾期", 8.0),
                ("报到用时中位数（小时）", 14.0),
                ("办结用时中位数（小时）", 14.0),
            ],
            rows: s
                .departments
                .iter()
                .map(|d| {
                    vec![
                        Value::Text(period.clone()),
                        Value::Text(d.name.clone()),
                        n(d.received),
                        n(d.acknowledged),
                        share(d.response_rate),
                        n(d.acknowledged_on_time),
                        share(d.on_time_rate),
                        n(d.verified_on_time),
                        n(d.closed),
                        share(d.closure_rate),
                        n(d.evaluated),
                        n(d.satisfied),
                        share(d.satisfaction_rate),
                        n(d.overdue_now),
                        hours(d.median_hours_to_acknowledge),
                        hours(d.median_hours_to_close),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "街镇吹哨",
            headers: vec![("统计期间", 24.0), ("街镇", 20.0), ("吹哨数", 10.0)],
            rows: s
                .townships
                .iter()
                .map(|t| {
                    vec![
                        Value::Text(period.clone()),
                        Value::Text(t.name.clone()),
                        n(t.raised),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "每周吹哨与办结",
            headers: vec![("周（自周一）", 14.0), ("吹哨", 10.0), ("办结", 10.0)],
            rows: s
                .weeks
                .iter()
                .map(|w| vec![Value::Text(w.week.to_string()), n(w.raised), n(w.closed)])
                .collect(),
        },
    ])
}

pub fn ledger(
    conn: &mut DbConnection,
    who: &crate::platform::authz::Principal,
    q: &crate::leads::LeadQuery,
    now: NaiveDateTime,
) -> AppResult<Vec<u8>> {
    use crate::platform::xlsx::Value;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for d in crate::reference::departments(conn)? {
        names.insert(d.code, d.name);
    }
    for t in crate::reference::townships(conn)? {
        names.insert(t.code, t.name);
    }
    let cats: BTreeMap<String, String> = crate::reference::lead_categories(conn)?
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect();
    let name = |c: &str| names.get(c).cloned().unwrap_or_else(|| c.to_owned());
    let text = |s: String| Value::Text(s);
    let t = |v: Option<NaiveDateTime>| {
        v.map(crate::platform::clock::local_time)
            .map_or(Value::Empty, Value::Text)
    };
    let mut q = q.clone();
    // `limit` sizes the pages read (the largest unless asked), never the ledger.
    q.limit = Some(q.limit.unwrap_or(crate::platform::pagination::MAX_LIMIT));
    q.cursor = None;
    let mut leads = Matching {
        conn,
        who,
        q,
        now,
        page: Vec::new().into_iter(),
        done: false,
        failed: None,
    };
    let rows = leads.by_ref().map(|l| {
        vec![
            text(l.number.clone()),
            text(l.title.clone()),
            text(
                cats.get(&l.category)
                    .cloned()
                    .unwrap_or_else(|| l.category.clone()),
            ),
            text(l.urgency.label().into()),
            text(l.source.label().into()),
            l.township
                .as_deref()
                .map(|x| text(name(x)))
                .unwrap_or(Value::Empty),
            text(name(&l.primary_department)),
            text(
                l.assisting()
                    .iter()
                    .map(|d| name(d))
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
            text(l.state().label().into()),
            match l.substantiated {
                Some(1) => text("属实".into()),
                Some(_) => text("不属实".into()),
                None => Value::Empty,
            },
            text(if l.is_overdue(now) {
                "是".into()
            } else {
                "否".into()
            }),
            text(format!("{}（{}）", l.raised_by_name, name(&l.raised_unit))),
            t(Some(l.raised_at)),
            t(l.next_due_at),
            t(l.closed_at),
            text(l.description.clone()),
        ]
    });
    let bytes = crate::platform::xlsx::workbook_streamed(
        "问题线索台账",
        &[
            ("编号", 16.0),
            ("标题", 30.0),
            ("类别", 14.0),
            ("紧急程度", 8.0),
            ("来源", 8.0),
            ("街镇", 12.0),
            ("主办部门", 16.0),
            ("协办部门", 20.0),
            ("状态", 8.0),
            ("核查结论", 8.0),
            ("是否逾期", 8.0),
            ("提出人", 12.0),
            ("提出时间", 17.0),
            ("下一时限", 17.0),
            ("办结时间", 17.0),
            ("问题描述", 40.0),
        ],
        rows,
    )?;
    match leads.failed {
        Some(e) => Err(e),
        None => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_rates() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(rate(1, 3), Some(33.3));
        assert_eq!(rate(0, 0), None);
    }
}
