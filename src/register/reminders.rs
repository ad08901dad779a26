//! Permit expiry reminders: at each configured lead time (90, 30 and 7 days by default)
//! the issuing department, the mine's daily supervisor and the enterprise hear that a
//! permit is running out, once each (who exactly is decided in `notify`). A permit first seen inside a window gets the one
//! reminder for the nearest lead time, not all the ones it has already passed.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};

use crate::notify::Notice;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::register::store::reminders::{self as store, Expiring};

/// The lead time a permit with `days_left` is due a reminder for: the smallest lead at
/// or above it.
pub fn lead_for(days_left: i64, leads: &[i64]) -> Option<i64> {
    leads.iter().copied().filter(|l| *l >= days_left).min()
}

/// Sends the reminders due on `today` and records them. Returns how many permits were
/// reminded. Call in a transaction: the notices and their record commit together.
pub fn permit_expiry(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    today: NaiveDate,
    leads: &[i64],
) -> AppResult<usize> {
    let Some(max) = leads.iter().copied().max() else {
        return Ok(0);
    };
    // One query for the candidates (an index range on expires_on), one for what was sent.
    let candidates = store::expiring(conn, today, today + chrono::Duration::days(max))?;
    if candidates.is_empty() {
        return Ok(0);
    }
    // The few permit types by name, for the notices.
    let type_names: HashMap<String, String> = crate::reference::permit_types(conn)?
        .into_iter()
        .map(|t| (t.code, t.name))
        .collect();
    let candidates: Vec<Expiring> = candidates
        .into_iter()
        .map(|mut c| {
            if let Some(name) = type_names.get(&c.permit_type) {
                c.permit_type = name.clone();
            }
            c
        })
        .collect();
    let mut sent: HashMap<(String, NaiveDate), i64> = HashMap::new();
    for chunk in candidates.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(|c| c.permit_id.as_str()).collect();
        let rows = store::sent(conn, &ids)?;
        for (id, on, lead) in rows {
            let e = sent.entry((id, on)).or_insert(i64::MAX);
            *e = (*e).min(i64::from(lead));
        }
    }
    let due: Vec<(Expiring, i64, i64)> = candidates
        .into_iter()
        .filter_map(|c| {
            let days_left = (c.expires_on - today).num_days();
            let lead = lead_for(days_left, leads)?;
            // Already reminded at this lead time or a nearer one for this expiry date.
            let nearest = sent
                .get(&(c.permit_id.clone(), c.expires_on))
                .copied()
                .unwrap_or(i64::MAX);
            (lead < nearest).then_some((c, lead, days_left))
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let mine_ids: Vec<String> = due.iter().map(|(c, _, _)| c.mine_id.clone()).collect();
    let audience = crate::accounts::recipients::PermitAudience::load(conn, &mine_ids)?;
    let mut records = Vec::with_capacity(due.len());
    for (
        Expiring {
            permit_id: id,
            mine_id,
            issuing_department: dept,
            number,
            expires_on,
            permit_type: type_name,
            mine_name,
            supervisor,
        },
        lead,
        days_left,
    ) in &due
    {
        let recipients = audience.expiry_reminder(dept, supervisor.as_deref(), mine_id);
        let when = if *days_left == 0 {
            "今天到期".to_owned()
        } else {
            format!("还有 {days_left} 天到期")
        };
        let notice = Notice {
            kind: crate::notify::NoticeKind::PermitExpiry,
            title: format!("{mine_name}的{type_name}{when}（证号 {number}）"),
            body: format!(
                "“{mine_name}”的{type_name}（证号 {number}）有效期至 {expires_on}，{when}。请督促企业按规定及时申请延续，逾期未延续的不得继续生产。"
            ),
            link: format!("/permits/{id}"),
            entity_type: "permit",
            entity_id: id,
        };
        crate::notify::send(conn, now, None, &recipients, &notice)?;
        records.push((id.clone(), *expires_on, *lead as i32));
    }
    for chunk in records.chunks(500) {
        store::record_sent(conn, chunk, now)?;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::lead_for;

    #[test]
    fn the_nearest_lead_time_at_or_above_the_days_left() {
        let leads = [90, 30, 7];
        assert_eq!(lead_for(91, &leads), None);
        assert_eq!(lead_for(90, &leads), Some(90));
        assert_eq!(lead_for(45, &leads), Some(90));
        assert_eq!(lead_for(30, &leads), Some(30));
        assert_eq!(lead_for(8, &leads), Some(30));
        assert_eq!(lead_for(7, &leads), Some(7));
        assert_eq!(lead_for(0, &leads), Some(7));
    }
}
