//! The watch on closed mines (关闭退出, DOMAIN.md §7): a new lead that names a closed mine,
//! or whose place falls inside a closed mine's former boundary, is flagged
//! “已关闭矿山疑似复产” on its timeline and told to NR and the coordination office at once.

use crate::leads::{write_event, Event, EventActor, Lead, RaiseContext};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;
use crate::register::mines::Mine;
use crate::register::rules::mine::MineStatus;

/// The closed mines a new lead is about: the one it names (`mine_id`; `named` when the
/// raiser's own mine was read already), and those whose former boundary holds its point
/// (the box index over closed boundaries, then the polygon). `(id, name)` of each; read
/// before the lead is written.
pub(crate) fn closed_mines(
    conn: &mut DbConnection,
    mine_id: Option<&str>,
    named: Option<&Mine>,
    location: Option<(f64, f64)>,
    ctx: &RaiseContext<'_>,
) -> AppResult<Vec<(String, String)>> {
    let mut found = Vec::new();
    if let Some(m) = mine_id {
        let read;
        let mine = match named.filter(|n| n.id == m) {
            Some(n) => n,
            None => {
                read = crate::register::mines::find(conn, m)?;
                &read
            }
        };
        if mine.status() == MineStatus::Closed {
            found.push((mine.id.clone(), mine.name.clone()));
        }
    }
    if let Some((lon, lat)) = location {
        for (id, name) in crate::register::boundaries::closed_at(conn, lon, lat, ctx.geo)? {
            if found.iter().all(|(f, _)| *f != id) {
                found.push((id, name));
            }
        }
    }
    Ok(found)
}

/// Flags the new lead about closed `mines` (found by [`closed_mines`]) on its timeline and
/// tells NR and the coordination office; nothing when there are none.
pub(crate) fn flag(
    conn: &mut DbConnection,
    lead: &Lead,
    mines: &[(String, String)],
    ctx: &RaiseContext<'_>,
) -> AppResult<Option<Event>> {
    if mines.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = mines.iter().map(|(_, n)| n.as_str()).collect();
    let what = format!("已关闭矿山疑似复产：{}", names.join("、"));
    let event = write_event(
        conn,
        &lead.id,
        ctx.now,
        &EventActor::system(),
        "restart_suspected",
        &what,
        serde_json::json!({"mines": mines.iter().map(|(id, _)| id).collect::<Vec<_>>()}),
    )?;
    let mut recipients =
        crate::accounts::recipients::departments_and_township(conn, &["NR".to_owned()], None)?;
    recipients.extend(crate::accounts::recipients::coordinators(conn)?);
    crate::notify::send(
        conn,
        ctx.now,
        None,
        &recipients,
        &crate::notify::Notice {
            kind: crate::notify::NoticeKind::RestartSuspected,
            title: format!("{what}（{}）", lead.number),
            body: format!(
                "新线索 {}“{}”{}，请区自然资源分局立即核查，防止非法复产。",
                lead.number,
                lead.title,
                if lead.mine_id.is_some() {
                    "涉及已关闭矿山"
                } else {
                    "的位置在已关闭矿山原矿区范围内"
                }
            ),
            link: format!("/leads/{}", lead.id),
            entity_type: "lead",
            entity_id: &lead.id,
        },
    )?;
    Ok(Some(event))
}
