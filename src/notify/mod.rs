//! Notices (相互通报): every notice is written in the transaction of the change that
//! causes it, so a change that rolls back tells no one. Who is told of what is decided by
//! the capabilities (the audiences are `accounts::recipients`). Each notice also goes to the email outbox, in the same transaction, for the
//! recipients who want it by email.

pub mod mailer;
pub mod outbox;
pub mod reply_address;
mod store;

pub use store::Notification;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination;
use crate::platform::rules::coded_enum;

coded_enum! {
    /// Every kind of notice, with its name for people. Each user chooses per kind whether
    /// it also comes by email ([`NoticeKind::choosable`]); the inbox always gets it.
    NoticeKind {
        LeadRouted = "lead_routed": "新的问题线索（吹哨）",
        LeadProgress = "lead_progress": "线索办理进展",
        LeadDueSoon = "lead_due_soon": "线索办理时限将到",
        LeadOverdue = "lead_overdue": "线索逾期督办",
        PermitRecorded = "permit_recorded": "证照登记（相互通报）",
        PermitChanged = "permit_changed": "证照变更（相互通报）",
        PermitDecided = "permit_decided": "证照暂扣、吊销、注销（相互通报）",
        PermitExpiry = "permit_expiry": "证照到期提醒",
        RiskGrade = "risk_grade": "矿山安全风险等级调整",
        Supervisor = "supervisor": "矿山日常安全监管部门调整",
        IntakeReceipt = "intake_receipt": "邮件受理回执",
        IntakeRefused = "intake_refused": "邮件未受理说明",
        Inspection = "inspection": "检查任务（综合查一次）",
        Hazard = "hazard": "检查发现的隐患",
        Consultation = "consultation": "会商通知",
        Closure = "closure": "关闭退出",
        RestartSuspected = "restart_suspected": "已关闭矿山疑似复产",
    }
}

crate::platform::db::text_coded!(NoticeKind);

impl NoticeKind {
    /// The kinds a user may turn off by email: all but the answers to their own mail.
    pub fn choosable(self) -> bool {
        !matches!(self, NoticeKind::IntakeReceipt | NoticeKind::IntakeRefused)
    }
}

/// A notice before it is addressed.
pub struct Notice<'a> {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub link: String,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
}

/// Writes the notice to each recipient's inbox once, except the person who caused it.
pub fn send(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor_id: Option<&str>,
    recipients: &[String],
    notice: &Notice<'_>,
) -> AppResult<usize> {
    send_with_calendar(conn, now, actor_id, recipients, notice, None)
}

/// As `send`, the emails carrying `calendar` (a meeting's iCalendar invitation or
/// cancellation) for the recipients' calendars.
pub fn send_with_calendar(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    actor_id: Option<&str>,
    recipients: &[String],
    notice: &Notice<'_>,
    calendar: Option<&str>,
) -> AppResult<usize> {
    let audience = Audience::of(conn, actor_id, recipients, notice.kind)?;
    audience.send(conn, now, notice, calendar)
}

/// Who a notice of one kind goes to, looked up before the change that causes it is
/// written: the inbox of each recipient once (not the person who caused it), and the
/// addresses of those who want this kind by email. A change that must keep its write
/// transaction short (a raise, on SQLite's one writer) reads its audience first and
/// writes the notice in the transaction: whoever was a recipient when it was read is
/// told, as when the change itself had come a moment earlier.
#[derive(Debug, Clone)]
pub struct Audience {
    kind: NoticeKind,
    inboxes: Vec<String>,
    /// `(user id, address)`.
    emails: Vec<(String, String)>,
}

impl Audience {
    pub fn of(
        conn: &mut DbConnection,
        actor_id: Option<&str>,
        recipients: &[String],
        kind: NoticeKind,
    ) -> AppResult<Self> {
        let inboxes = Self::inboxes(actor_id, recipients.iter());
        let emails = outbox::email_recipients(conn, &inboxes, kind)?;
        Ok(Self {
            kind,
            inboxes,
            emails,
        })
    }

    /// As [`Audience::of`], for recipients read with their addresses (`(id, email)` of
    /// active accounts, as `accounts::recipients` gives them): only the email opt-outs are
    /// read, and only when someone has an address.
    pub fn of_addressed(
        conn: &mut DbConnection,
        actor_id: Option<&str>,
        recipients: &[(String, Option<String>)],
        kind: NoticeKind,
    ) -> AppResult<Self> {
        let inboxes = Self::inboxes(actor_id, recipients.iter().map(|(id, _)| id));
        let mut addressed: Vec<(String, String)> = recipients
            .iter()
            .filter(|(id, _)| inboxes.binary_search(id).is_ok())
            .filter_map(|(id, email)| {
                email
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map(|e| (id.clone(), e.to_owned()))
            })
            .collect();
        addressed.sort();
        addressed.dedup_by(|a, b| a.0 == b.0);
        let emails = outbox::without_opted_out(conn, addressed, kind)?;
        Ok(Self {
            kind,
            inboxes,
            emails,
        })
    }

    /// One inbox per person, whatever lists the audience was gathered from, and none for
    /// the person who caused the notice; sorted.
    fn inboxes<'a>(
        actor_id: Option<&str>,
        recipients: impl Iterator<Item = &'a String>,
    ) -> Vec<String> {
        let mut inboxes: Vec<String> = recipients
            .filter(|r| Some(r.as_str()) != actor_id)
            .cloned()
            .collect();
        inboxes.sort();
        inboxes.dedup();
        inboxes
    }

    /// Writes the notice to the inboxes and queues its email form; answers how many
    /// inboxes it reached.
    pub fn send(
        &self,
        conn: &mut DbConnection,
        now: NaiveDateTime,
        notice: &Notice<'_>,
        calendar: Option<&str>,
    ) -> AppResult<usize> {
        let rows = self.notifications(now, notice)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let sent = rows.len();
        store::insert_notifications(conn, rows)?;
        // The email form, for those who have an address and want this kind by email.
        let messages = self.messages(now, notice, calendar)?;
        if !messages.is_empty() {
            store::insert_outbox(conn, messages)?;
        }
        Ok(sent)
    }

    /// What [`Audience::send`] writes, as two statements for PostgreSQL to run as parts
    /// of one (`platform::db::Chained`): the notices in the inboxes and the messages
    /// queued (either may insert no row). `None` when the audience is no one (nothing to
    /// write).
    pub fn inserts(
        &self,
        now: NaiveDateTime,
        notice: &Notice<'_>,
        calendar: Option<&str>,
    ) -> AppResult<Option<(store::NotificationsIn, store::OutboxIn)>> {
        let rows = self.notifications(now, notice)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let messages = self.messages(now, notice, calendar)?;
        match (
            store::NotificationsIn::of(rows),
            store::OutboxIn::of(messages),
        ) {
            (Some(notices), Some(queued)) => Ok(Some((notices, queued))),
            _ => Err(AppError::internal(
                "one notice's rows differ beyond their addressees",
            )),
        }
    }

    /// The notice's email form to each address.
    fn messages(
        &self,
        now: NaiveDateTime,
        notice: &Notice<'_>,
        calendar: Option<&str>,
    ) -> AppResult<Vec<outbox::OutboxMessage>> {
        outbox::messages(
            now,
            &self.emails,
            notice.kind,
            &notice.title,
            &notice.body,
            &notice.link,
            calendar,
        )
    }

    /// The notice's row in each inbox.
    fn notifications(
        &self,
        now: NaiveDateTime,
        notice: &Notice<'_>,
    ) -> AppResult<Vec<Notification>> {
        if self.kind != notice.kind {
            return Err(AppError::internal(
                "notice of another kind than its audience",
            ));
        }
        Ok(self
            .inboxes
            .iter()
            .map(|r| Notification {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: r.clone(),
                kind: notice.kind,
                title: notice.title.clone(),
                body: notice.body.clone(),
                link: notice.link.clone(),
                entity_type: notice.entity_type.to_owned(),
                entity_id: notice.entity_id.to_owned(),
                created_at: now,
                read_at: None,
            })
            .collect())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// true: unread only
    pub unread: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A user's inbox: unread first, newest first within each; keyset-paginated.
pub fn inbox(
    conn: &mut DbConnection,
    user_id: &str,
    q: &InboxQuery,
) -> AppResult<(Vec<Notification>, Option<String>)> {
    let limit = pagination::limit(q.limit)?;
    let unread_only = match q.unread.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::field("unread", "只能是 true 或 false")),
    };
    // Two keyset segments: unread (read_at null) then read; the cursor says where we are.
    let (mut segment_read, mut after): (bool, Option<(NaiveDateTime, String)>) = (false, None);
    if let Some(c) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        let bad = || AppError::field("cursor", "翻页标记无效，请从第一页重新开始");
        let mut parts = c.splitn(3, '_');
        let seg = parts.next().ok_or_else(bad)?;
        let t = parts.next().ok_or_else(bad)?;
        let id = parts.next().ok_or_else(bad)?;
        segment_read = seg == "r";
        let t = NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S%.f").map_err(|_| bad())?;
        after = Some((t, id.to_owned()));
    }
    let mut out: Vec<Notification> = Vec::new();
    for read in [false, true] {
        if (read && unread_only) || (!read && segment_read) {
            continue;
        }
        let after = after.take().filter(|_| read == segment_read);
        let want = limit + 1 - out.len() as i64;
        let rows = store::inbox_segment(conn, user_id, read, after, want)?;
        out.extend(rows);
        if out.len() as i64 > limit {
            break;
        }
    }
    let next = pagination::next_cursor(&mut out, limit, |n| {
        format!(
            "{}_{}_{}",
            if n.read_at.is_some() { "r" } else { "u" },
            n.created_at.format("%Y%m%dT%H%M%S%.6f"),
            n.id
        )
    });
    Ok((out, next))
}

pub fn unread_count(conn: &mut DbConnection, user_id: &str) -> AppResult<i64> {
    store::unread_count(conn, user_id)
}

/// Marks one notice (or, with `None`, all) of the user as read. Reading is not a change
/// to the record, so it writes no audit entry.
pub fn mark_read(
    conn: &mut DbConnection,
    user_id: &str,
    id: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<usize> {
    if let Some(id) = id {
        if store::link_of(conn, user_id, id)?.is_none() {
            return Err(AppError::NotFound("没有这条通知。".into()));
        }
    }
    store::set_read(conn, user_id, id, now)
}

/// Marks read the user's notices about a record the user has just acted on: whoever
/// handles a lead has seen what its notices said.
pub fn read_about(
    conn: &mut DbConnection,
    user_id: &str,
    entity_type: &str,
    entity_id: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    store::set_read_about(conn, user_id, entity_type, entity_id, now)
}

/// Opens one of the user's notices: marks it read and gives the page it links to.
pub fn open(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<String> {
    let link = store::link_of(conn, user_id, id)?
        .ok_or_else(|| AppError::NotFound("没有这条通知。".into()))?;
    store::set_read(conn, user_id, Some(id), now)?;
    Ok(link)
}

static ORGANIZER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The address calendar invitations name as their organizer: the service's sender
/// (`smtp.from`), set once at start.
pub fn set_organizer(from: &str) {
    let address = crate::notify::mailer::parse_from(from)
        .map(|m| m.email.to_string())
        .unwrap_or_else(|_| "noreply@minecoord.local".into());
    let _ = ORGANIZER.set(address);
}

pub fn organizer_address() -> String {
    ORGANIZER
        .get()
        .cloned()
        .unwrap_or_else(|| "noreply@minecoord.local".into())
}
