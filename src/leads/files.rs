//! Photos and documents on a lead: taken with the raise form, added as evidence with a
//! step, or on their own. Types and sizes are limited; each file's SHA-256 is kept.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::leads::store::files as store;
pub use crate::leads::store::files::Attachment;
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::upload::{self, Upload};

/// At most this many files on one lead.
pub const MAX_PER_LEAD: i64 = 30;

/// Stores the files on the lead (in the caller's transaction), tied to a step if given.
pub fn store(
    conn: &mut DbConnection,
    who: &Principal,
    lead_id: &str,
    event_id: Option<&str>,
    uploads: Vec<Upload>,
    max_bytes: usize,
    now: NaiveDateTime,
) -> AppResult<Vec<Attachment>> {
    if uploads.is_empty() {
        return Ok(Vec::new());
    }
    upload::check(&uploads, max_bytes, "files").map_err(AppError::Validation)?;
    let have = store::count(conn, lead_id)?;
    if have + uploads.len() as i64 > MAX_PER_LEAD {
        return Err(AppError::field(
            "files",
            format!("每条线索最多 {MAX_PER_LEAD} 个附件"),
        ));
    }
    let mut ids = Vec::new();
    for u in uploads {
        let id = uuid::Uuid::now_v7().to_string();
        let kind = upload::kind_of(&u).unwrap_or("application/octet-stream");
        let name = upload::clean_name(&u.file_name);
        store::insert(
            conn,
            &Attachment {
                id: id.clone(),
                lead_id: lead_id.to_owned(),
                event_id: event_id.map(str::to_owned),
                file_name: name,
                content_type: kind.to_owned(),
                size_bytes: u.bytes.len() as i64,
                sha256: hex::encode(Sha256::digest(&u.bytes)),
                uploaded_by: Some(who.id.clone()),
                uploaded_at: now,
            },
            &u.bytes,
        )?;
        ids.push(id);
    }
    store::by_ids(conn, &ids)
}

/// Adds files to a lead on their own (补充材料): by its parties, while it is open.
pub fn add(
    conn: &mut DbConnection,
    who: &Principal,
    lead_id: &str,
    uploads: Vec<Upload>,
    max_bytes: usize,
    now: NaiveDateTime,
) -> AppResult<Vec<Attachment>> {
    let lead = crate::leads::find_visible(conn, who, lead_id)?;
    if !crate::leads::policy::may_add_files(who) {
        return Err(AppError::Forbidden("系统管理员不参与线索办理。".into()));
    }
    if !lead.state().is_open() {
        return Err(AppError::InvalidTransition(
            "线索已办结，不能再添加附件。".into(),
        ));
    }
    let names: Vec<String> = uploads.iter().map(|u| u.file_name.clone()).collect();
    let stored = store(conn, who, lead_id, None, uploads, max_bytes, now)?;
    crate::leads::write_event(
        conn,
        lead_id,
        now,
        &crate::leads::EventActor::of(who),
        "attachment",
        "",
        serde_json::json!({"files": names}),
    )?;
    crate::platform::audit::record(
        conn,
        &who.actor(),
        now,
        crate::platform::audit::Change {
            entity_type: "lead",
            entity_id: lead_id,
            action: "attach",
            before: None,
            after: Some(
                serde_json::json!({"files": stored.iter().map(|a| serde_json::json!({"id": a.id, "name": a.file_name, "sha256": a.sha256})).collect::<Vec<_>>()}),
            ),
        },
    )?;
    Ok(stored)
}

pub fn list(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Attachment>> {
    store::list(conn, lead_id)
}

/// A file with its bytes, for whoever may read the lead.
pub fn open(
    conn: &mut DbConnection,
    who: &Principal,
    lead_id: &str,
    id: &str,
) -> AppResult<(Attachment, Vec<u8>)> {
    crate::leads::find_visible(conn, who, lead_id)?;
    let found = store::with_bytes(conn, lead_id, id)?;
    found.ok_or_else(|| AppError::NotFound("没有这个附件。".into()))
}
