//! Each lead's part in the kept figures (`lead_stat_parts`), the leads changed since the
//! rollup (`lead_stat_changes`), and what a change adds to the kept figures: the kept
//! figures follow the changes, not the leads of a day.

use super::*;

/// One lead's part in the kept figures: one count of a metric for a unit on a Beijing day,
/// or one duration (to report in, to close) of its department, on its raising day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Count {
        day: NaiveDate,
        metric: &'static str,
        unit: String,
    },
    Hours {
        day: NaiveDate,
        kind: &'static str,
        unit: String,
        ms: i64,
    },
}

/// The metrics a part may count, so that a kept part reads back as the same `&'static str`.
const METRICS: [&str; 10] = [
    "received",
    "acknowledged",
    "acknowledged_on_time",
    "verified_on_time",
    "closed",
    "evaluated",
    "satisfied",
    "whistles",
    RAISED,
    CLOSED_ON,
];

/// A lead as the statistics see it, with its two deadlines of record.
type LeadRow = (
    String,                // id
    String,                // primary department
    bool,                  // raised by a township
    String,                // raising unit
    bool,                  // closed
    NaiveDateTime,         // raised
    Option<NaiveDateTime>, // closed at
    bool,                  // not merged into another
    Option<NaiveDateTime>, // report-in deadline
    Option<NaiveDateTime>, // reported in
    Option<NaiveDateTime>, // verification deadline
    Option<NaiveDateTime>, // verified
);

/// Milliseconds from `from` to `to`, rounded as the database rounds them in [`grouped`].
fn elapsed_ms(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    let d = to - from;
    match d.num_microseconds() {
        Some(us) if us >= 0 => (us + 500) / 1000,
        Some(us) => -((-us + 500) / 1000),
        None => d.num_milliseconds(),
    }
}

/// The Beijing day of a UTC instant.
fn beijing_day(t: NaiveDateTime) -> NaiveDate {
    (t + chrono::Duration::hours(8)).date()
}

/// A lead's parts: what [`grouped`] counts of it, lead by lead. `verdicts` are its
/// evaluations, `(department, verdict)`.
fn parts_of(row: &LeadRow, verdicts: &[(String, String)]) -> Vec<Part> {
    let (_, dept, township, unit, closed, raised, closed_at, kept, a_due, a_met, v_due, v_met) =
        row;
    let day = beijing_day(*raised);
    let mut out = Vec::new();
    let mut count = |day: NaiveDate, metric: &'static str, unit: &str| {
        out.push(Part::Count {
            day,
            metric,
            unit: unit.to_owned(),
        })
    };
    if *township {
        count(day, "whistles", unit);
    }
    for (department, verdict) in verdicts {
        count(day, "evaluated", department);
        if SATISFIED.contains(&verdict.as_str()) {
            count(day, "satisfied", department);
        }
    }
    if !kept {
        return out;
    }
    count(day, RAISED, "");
    if let Some(c) = closed_at {
        count(beijing_day(*c), CLOSED_ON, "");
    }
    if let (Some(a_due), Some(v_due)) = (a_due, v_due) {
        count(day, "received", dept);
        if let Some(met) = a_met {
            count(day, "acknowledged", dept);
            if met <= a_due {
                count(day, "acknowledged_on_time", dept);
            }
        }
        if v_met.is_some_and(|met| met <= *v_due) {
            count(day, "verified_on_time", dept);
        }
        if *closed {
            count(day, "closed", dept);
        }
    }
    if a_due.is_some() {
        let mut hours = |kind: &'static str, end: NaiveDateTime| {
            out.push(Part::Hours {
                day,
                kind,
                unit: dept.clone(),
                ms: elapsed_ms(*raised, end),
            })
        };
        if let Some(met) = a_met {
            hours(ACKNOWLEDGE, *met);
        }
        if let Some(c) = closed_at {
            hours(CLOSE, *c);
        }
    }
    out.sort();
    out
}

/// Parts as kept in `lead_stat_parts`: a line each, `day<TAB>metric<TAB>unit` for a count,
/// `day<TAB>kind<TAB>unit<TAB>ms` for a duration.
fn encode_parts(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        let line = match p {
            Part::Count { day, metric, unit } => format!("{day}\t{metric}\t{unit}\n"),
            Part::Hours {
                day,
                kind,
                unit,
                ms,
            } => format!("{day}\t{kind}\t{unit}\t{ms}\n"),
        };
        out.push_str(&line);
    }
    out
}

fn decode_parts(text: &str) -> AppResult<Vec<Part>> {
    let bad = |line: &str| AppError::Internal(format!("线索统计的留存份额无法读取：{line:?}"));
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let day = fields
            .first()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| bad(line))?;
        out.push(match fields[1..] {
            [metric, unit] => Part::Count {
                day,
                metric: METRICS
                    .into_iter()
                    .find(|m| *m == metric)
                    .ok_or_else(|| bad(line))?,
                unit: unit.to_owned(),
            },
            [kind, unit, ms] => Part::Hours {
                day,
                kind: [ACKNOWLEDGE, CLOSE]
                    .into_iter()
                    .find(|k| *k == kind)
                    .ok_or_else(|| bad(line))?,
                unit: unit.to_owned(),
                ms: ms.parse().map_err(|_| bad(line))?,
            },
            _ => return Err(bad(line)),
        });
    }
    Ok(out)
}

/// Adds `sign` times the parts whose day lies in `from..=to` to `f`.
fn add_parts(f: &mut Figures, parts: &[Part], sign: i64, (from, to): (NaiveDate, NaiveDate)) {
    for p in parts {
        match p {
            Part::Count { day, metric, unit } if (from..=to).contains(day) => {
                let n = match *metric {
                    RAISED => f.raised_by_day.entry(*day).or_insert(0),
                    CLOSED_ON => f.closed_by_day.entry(*day).or_insert(0),
                    _ => f
                        .counts
                        .entry(((*metric).to_owned(), unit.clone()))
                        .or_insert(0),
                };
                *n += sign;
            }
            Part::Hours {
                day,
                kind,
                unit,
                ms,
            } if (from..=to).contains(day) => {
                f.hours
                    .entry((unit.clone(), (*kind).to_owned()))
                    .or_default()
                    .add(histogram::bucket_of(*ms), sign, sign * (*ms).max(0));
            }
            _ => {}
        }
    }
}

/// The parts the leads `ids` have now, by id (a lead not found has none).
fn parts_now(conn: &mut DbConnection, ids: &[String]) -> AppResult<BTreeMap<String, Vec<Part>>> {
    use crate::platform::db::schema::{lead_deadlines, lead_evaluations, leads};
    let (ack, ver) = diesel::alias!(lead_deadlines as ack, lead_deadlines as ver);
    let rows: Vec<LeadRow> = leads::table
        .left_join(
            ack.on(ack
                .field(lead_deadlines::lead_id)
                .eq(leads::id)
                .and(ack.field(lead_deadlines::stage).eq(ACKNOWLEDGE))),
        )
        .left_join(
            ver.on(ver
                .field(lead_deadlines::lead_id)
                .eq(leads::id)
                .and(ver.field(lead_deadlines::stage).eq(VERIFY))),
        )
        .filter(leads::id.eq_any(ids))
        .select((
            leads::id,
            leads::primary_department,
            leads::source.eq(TOWNSHIP),
            leads::raised_unit,
            leads::state.eq(CLOSED),
            leads::raised_at,
            leads::closed_at,
            leads::merged_into.is_null(),
            ack.field(lead_deadlines::due_at).nullable(),
            ack.field(lead_deadlines::met_at).nullable(),
            ver.field(lead_deadlines::due_at).nullable(),
            ver.field(lead_deadlines::met_at).nullable(),
        ))
        .load(conn)?;
    let evaluations: Vec<(String, String, String)> = lead_evaluations::table
        .filter(lead_evaluations::lead_id.eq_any(ids))
        .select((
            lead_evaluations::lead_id,
            lead_evaluations::department,
            lead_evaluations::verdict,
        ))
        .load(conn)?;
    let mut verdicts: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (lead, dept, verdict) in &evaluations {
        verdicts
            .entry(lead.as_str())
            .or_default()
            .push((dept.clone(), verdict.clone()));
    }
    Ok(rows
        .iter()
        .map(|row| {
            let v = verdicts
                .get(row.0.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            (row.0.clone(), parts_of(row, v))
        })
        .collect())
}

/// The parts kept for the leads `ids`, by id (a lead never rolled up has none).
fn parts_kept(conn: &mut DbConnection, ids: &[String]) -> AppResult<BTreeMap<String, Vec<Part>>> {
    let rows: Vec<(String, String)> = lead_stat_parts::table
        .filter(lead_stat_parts::lead_id.eq_any(ids))
        .select((lead_stat_parts::lead_id, lead_stat_parts::parts))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, text)| Ok((id, decode_parts(&text)?)))
        .collect()
}

/// The leads changed since the rollup took their notes, once each, oldest note first;
/// `None` when there are more than `at_most` notes (the rollup is behind).
pub fn changed_leads(conn: &mut DbConnection, at_most: i64) -> AppResult<Option<Vec<String>>> {
    let notes: Vec<String> = lead_stat_changes::table
        .order(lead_stat_changes::id.asc())
        .select(lead_stat_changes::lead_id)
        .limit(at_most.saturating_add(1))
        .load(conn)?;
    if notes.len() as i64 > at_most {
        return Ok(None);
    }
    let mut seen = BTreeSet::new();
    Ok(Some(
        notes
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect(),
    ))
}

/// What the leads `ids` add to the kept figures of the days `from..=to` now: their parts
/// now less the parts kept for them.
pub fn since_kept(
    conn: &mut DbConnection,
    ids: &[String],
    period: (NaiveDate, NaiveDate),
) -> AppResult<Figures> {
    let mut f = Figures::default();
    for chunk in ids.chunks(IDS_AT_ONCE) {
        for parts in parts_now(conn, chunk)?.values() {
            add_parts(&mut f, parts, 1, period);
        }
        for parts in parts_kept(conn, chunk)?.values() {
            add_parts(&mut f, parts, -1, period);
        }
    }
    // Normalised as a sum is.
    let mut out = Figures::default();
    out.add(&f);
    Ok(out)
}

/// Takes the notes of up to `max_leads` changed leads, the oldest noted first, and returns
/// how many notes and which leads; `None` when another rollup holds `lead_stat_rollup`'s
/// row (it takes them). Run in the transaction that keeps those leads' parts: every note
/// taken belongs to a committed change, which the reading then sees, and notes written
/// after the take stay for the next round.
pub fn take_changes(
    conn: &mut DbConnection,
    max_leads: i64,
) -> AppResult<Option<(usize, Vec<String>)>> {
    let held = match conn {
        DbConnection::Pg(_) => diesel::sql_query(
            "SELECT CAST('held' AS TEXT) AS held FROM lead_stat_rollup WHERE id = 1 FOR UPDATE SKIP LOCKED",
        )
        .load::<Held>(conn)?,
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT CAST('held' AS TEXT) AS held FROM lead_stat_rollup WHERE id = 1",
        )
        .load::<Held>(conn)?,
    };
    if !held.iter().any(|h| h.held == "held") {
        return Ok(None);
    }
    let notes: Vec<String> = lead_stat_changes::table
        .order(lead_stat_changes::id.asc())
        .select(lead_stat_changes::lead_id)
        .limit(max_leads.saturating_mul(4))
        .load(conn)?;
    let mut seen = BTreeSet::new();
    let ids: Vec<String> = notes
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .take(usize::try_from(max_leads).unwrap_or(0))
        .collect();
    let mut taken = 0;
    for chunk in ids.chunks(IDS_AT_ONCE) {
        taken += diesel::delete(
            lead_stat_changes::table.filter(lead_stat_changes::lead_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(Some((taken, ids)))
}

/// Keeps the leads' parts as they are now, and adds what changed since the kept ones to
/// the kept figures: each day's rows and its month's (`YYYY-MM`, but for the raised and
/// closed series), and the histograms of both.
pub fn keep_parts(conn: &mut DbConnection, ids: &[String]) -> AppResult<()> {
    let mut counts: BTreeMap<(String, &'static str, String), i64> = BTreeMap::new();
    let mut hours: BTreeMap<String, Histograms> = BTreeMap::new();
    let month = |day: &NaiveDate| day.format("%Y-%m").to_string();
    let mut add = |parts: &[Part], sign: i64| {
        for p in parts {
            match p {
                Part::Count { day, metric, unit } => {
                    let mut keys = vec![day.to_string()];
                    if ![RAISED, CLOSED_ON].contains(metric) {
                        keys.push(month(day));
                    }
                    for key in keys {
                        *counts.entry((key, *metric, unit.clone())).or_insert(0) += sign;
                    }
                }
                Part::Hours {
                    day,
                    kind,
                    unit,
                    ms,
                } => {
                    for key in [day.to_string(), month(day)] {
                        hours
                            .entry(key)
                            .or_default()
                            .entry((unit.clone(), (*kind).to_owned()))
                            .or_default()
                            .add(histogram::bucket_of(*ms), sign, sign * (*ms).max(0));
                    }
                }
            }
        }
    };
    for chunk in ids.chunks(IDS_AT_ONCE) {
        let now = parts_now(conn, chunk)?;
        let before = parts_kept(conn, chunk)?;
        let mut changed: Vec<String> = Vec::new();
        let none = Vec::new();
        for id in chunk {
            let (new, old) = (
                now.get(id).unwrap_or(&none),
                before.get(id).unwrap_or(&none),
            );
            if new != old {
                add(new, 1);
                add(old, -1);
                changed.push(id.clone());
            }
        }
        if changed.is_empty() {
            continue;
        }
        diesel::delete(lead_stat_parts::table.filter(lead_stat_parts::lead_id.eq_any(&changed)))
            .execute(conn)?;
        let rows: Vec<_> = changed
            .iter()
            .filter_map(|id| now.get(id).filter(|p| !p.is_empty()).map(|p| (id, p)))
            .map(|(id, p)| {
                (
                    lead_stat_parts::lead_id.eq(id.clone()),
                    lead_stat_parts::parts.eq(encode_parts(p)),
                )
            })
            .collect();
        if !rows.is_empty() {
            per_backend!(conn, c => diesel::insert_into(lead_stat_parts::table).values(&rows).execute(c)?);
        }
    }
    counts.retain(|_, n| *n != 0);
    let rows: Vec<_> = counts
        .iter()
        .map(|((day, metric, unit), n)| {
            (
                lead_stat_days::day.eq(day.clone()),
                lead_stat_days::metric.eq(*metric),
                lead_stat_days::unit.eq(unit.clone()),
                lead_stat_days::n.eq(*n),
            )
        })
        .collect();
    for chunk in rows.chunks(IDS_AT_ONCE) {
        use diesel::upsert::excluded;
        per_backend!(conn, c => diesel::insert_into(lead_stat_days::table)
            .values(chunk)
            .on_conflict((lead_stat_days::day, lead_stat_days::metric, lead_stat_days::unit))
            .do_update()
            .set(lead_stat_days::n.eq(lead_stat_days::n + excluded(lead_stat_days::n)))
            .execute(c)?);
    }
    let touched: BTreeSet<&String> = counts.keys().map(|(day, _, _)| day).collect();
    let touched: Vec<&String> = touched.into_iter().collect();
    for chunk in touched.chunks(IDS_AT_ONCE) {
        diesel::delete(
            lead_stat_days::table
                .filter(lead_stat_days::day.eq_any(chunk))
                .filter(lead_stat_days::n.eq(0)),
        )
        .execute(conn)?;
    }
    let mut stamped: BTreeSet<String> = touched.iter().map(|d| (*d).clone()).collect();
    stamped.extend(hours.keys().cloned());
    for (period, delta) in hours {
        let kept: Option<String> = lead_stat_hours::table
            .find(&period)
            .select(lead_stat_hours::buckets)
            .first(conn)
            .optional()?;
        let mut h = Histograms::new();
        if let Some(text) = kept {
            histogram::decode_into(&text, &mut h).map_err(AppError::Internal)?;
        }
        for (k, d) in &delta {
            h.entry(k.clone()).or_default().merge(d);
        }
        h.retain(|_, x| !x.0.is_empty());
        keep_hours(conn, &period, &h)?;
    }
    kept::restamp(conn, &stamped)
}

fn keep_hours(conn: &mut DbConnection, period: &str, hours: &Histograms) -> AppResult<()> {
    diesel::delete(lead_stat_hours::table.find(period)).execute(conn)?;
    let text = histogram::encode(hours);
    if !text.is_empty() {
        diesel::insert_into(lead_stat_hours::table)
            .values((
                lead_stat_hours::period.eq(period),
                lead_stat_hours::buckets.eq(text),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    fn row(merged: bool, township: bool, closed_at: Option<&str>) -> LeadRow {
        (
            "l1".into(),
            "EE".into(),
            township,
            "BEHT".into(),
            closed_at.is_some(),
            // 2026-03-01 23:30 in Beijing.
            at("2026-03-01 15:30:00"),
            closed_at.map(at),
            !merged,
            Some(at("2026-03-02 15:30:00")),
            Some(at("2026-03-01 16:00:00.0005")),
            Some(at("2026-03-08 15:30:00")),
            None,
        )
    }

    #[test]
    fn a_leads_parts_are_what_the_grouped_queries_count_of_it() {
        let verdicts = [("EE".to_owned(), "basically_satisfied".to_owned())];
        let parts = parts_of(&row(false, true, Some("2026-03-03 17:00:00")), &verdicts);
        let counts: Vec<(String, &str, &str)> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Count { day, metric, unit } => {
                    Some((day.to_string(), *metric, unit.as_str()))
                }
                Part::Hours { .. } => None,
            })
            .collect();
        for expected in [
            ("2026-03-01".to_owned(), "whistles", "BEHT"),
            ("2026-03-01".to_owned(), "received", "EE"),
            ("2026-03-01".to_owned(), "acknowledged", "EE"),
            ("2026-03-01".to_owned(), "acknowledged_on_time", "EE"),
            ("2026-03-01".to_owned(), "closed", "EE"),
            ("2026-03-01".to_owned(), "evaluated", "EE"),
            ("2026-03-01".to_owned(), "satisfied", "EE"),
            ("2026-03-01".to_owned(), RAISED, ""),
            // Closed at 01:00 Beijing time on 4 March.
            ("2026-03-04".to_owned(), CLOSED_ON, ""),
        ] {
            assert!(counts.contains(&expected), "{expected:?} in {counts:?}");
        }
        assert!(!counts.iter().any(|c| c.1 == "verified_on_time"));
        // Half a millisecond rounds up, as PostgreSQL's cast does.
        assert!(parts.contains(&Part::Hours {
            day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            kind: ACKNOWLEDGE,
            unit: "EE".into(),
            ms: 1_800_001,
        }));
        // A duplicate merged away keeps its whistle and its evaluations, nothing else.
        let merged = parts_of(&row(true, true, None), &verdicts);
        assert_eq!(merged.len(), 3, "{merged:?}");
        assert!(parts_of(&row(true, false, None), &[]).is_empty());
    }

    #[test]
    fn kept_parts_read_back_the_same_and_a_damaged_line_is_an_error() {
        let parts = parts_of(&row(false, true, Some("2026-03-03 17:00:00")), &[]);
        let text = encode_parts(&parts);
        assert_eq!(decode_parts(&text).unwrap(), parts);
        for bad in [
            "2026-03-01\tnot_a_metric\tEE\n",
            "2026-13-01\treceived\tEE\n",
            "2026-03-01\tacknowledge\tEE\tmany\n",
            "2026-03-01\n",
        ] {
            assert!(decode_parts(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn whole_months_read_their_own_rows() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = hour_periods(d("2026-02-27"), d("2026-04-02"));
        assert_eq!(
            p,
            [
                "2026-02-27",
                "2026-02-28",
                "2026-03",
                "2026-04-01",
                "2026-04-02"
            ]
        );
    }
}
