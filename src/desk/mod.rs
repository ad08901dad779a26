//! The desk (工作台): each person's home page, what waits on them today. It composes the
//! other capabilities (the leads' queues, the outbox, locked accounts, the audit chain)
//! and nothing depends on it.

pub mod api;
pub mod map;
pub mod pages;

use chrono::NaiveDateTime;

use crate::leads::board::Board;
use crate::platform::authz::{self, Action, Principal};
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// What an administrator watches: mail that could not be delivered, accounts locked out,
/// the audit chain.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Dead-lettered emails.
    pub dead_letters: i64,
    /// Emails still waiting to go out.
    pub pending_mail: i64,
    /// `(display name, username, locked until)` of locked accounts.
    pub locked: Vec<(String, String, NaiveDateTime)>,
    /// The audit chain's length.
    pub audit_entries: i64,
}

pub struct Desk {
    pub board: Board,
    /// What inspections put on the desk (tasks to record, hazards to re-inspect).
    pub inspections: Vec<crate::inspections::board::Queue>,
    /// What consultations put there (requests, meetings, minutes, decisions, reports).
    pub consultations: Vec<crate::inspections::board::Queue>,
    /// What closures put there (a department's tasks, the cases awaiting acceptance).
    pub closures: Vec<crate::inspections::board::Queue>,
    pub watch: Option<Watch>,
}

/// The reader's desk.
pub fn desk(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    reports: &crate::consultations::rules::ReportSettings,
) -> AppResult<Desk> {
    let board = if authz::allowed(who, Action::ViewLeads) {
        crate::leads::board::board(conn, who, now)?
    } else {
        Board::default()
    };
    let watch = if authz::allowed(who, Action::ManageOutbox) {
        let counts = crate::notify::outbox::counts(conn)?;
        let of = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        Some(Watch {
            dead_letters: of("dead"),
            pending_mail: of("pending"),
            locked: crate::accounts::locked(conn, now, 20)?
                .into_iter()
                .filter_map(|u| u.locked_until.map(|t| (u.display_name, u.username, t)))
                .collect(),
            audit_entries: crate::platform::audit::head(conn)?.0,
        })
    } else {
        None
    };
    let inspections = if authz::allowed(who, Action::ViewInspections) {
        crate::inspections::board::board(conn, who, now)?
    } else {
        Vec::new()
    };
    let consultations = if authz::allowed(who, Action::ViewDecisions) {
        crate::consultations::board::queues(conn, who, now, reports)?
    } else {
        Vec::new()
    };
    let closures = if authz::allowed(who, Action::ViewClosures) {
        crate::closures::board::queues(conn, who, now)?
    } else {
        Vec::new()
    };
    Ok(Desk {
        board,
        inspections,
        consultations,
        closures,
        watch,
    })
}

/// What the district map shows: the recorded boundaries (coloured by grade; closed mines
/// and illegal sites apart), the prohibited zones, and the open leads with a position that
/// the reader may see.
pub struct MapData {
    pub mines: Vec<crate::register::boundaries::Mapped>,
    pub zones: Vec<crate::register::boundaries::ProhibitedZone>,
    pub leads: Vec<crate::leads::Located>,
    /// Whether there were more boundaries or leads than are drawn.
    pub cut: bool,
}

/// A township filter as typed: trimmed, upper case, empty = none; a code longer than any
/// township's is refused.
pub fn township_filter(raw: Option<String>) -> AppResult<Option<String>> {
    let t = raw
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty());
    if t.as_ref().is_some_and(|t| t.chars().count() > 32) {
        return Err(crate::platform::error::AppError::Validation(vec![
            crate::platform::error::FieldError::new("township", "街镇代码最长 32 个字符"),
        ]));
    }
    Ok(t)
}

/// At most this many boundaries and leads on one map.
pub const MAP_LIMIT: i64 = 3000;

pub fn map(
    conn: &mut DbConnection,
    who: &Principal,
    township: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<MapData> {
    crate::platform::authz::require(who, Action::ViewMines)?;
    let mut mines = crate::register::boundaries::for_map(conn, township, MAP_LIMIT + 1)?;
    let mut leads = crate::leads::board::located(conn, who, now, township, MAP_LIMIT + 1)?;
    let cut = mines.len() as i64 > MAP_LIMIT || leads.len() as i64 > MAP_LIMIT;
    mines.truncate(MAP_LIMIT as usize);
    leads.truncate(MAP_LIMIT as usize);
    let zones = crate::register::boundaries::zones(conn)?
        .into_iter()
        .filter(|z| z.active != 0)
        .collect();
    Ok(MapData {
        mines,
        zones,
        leads,
        cut,
    })
}
