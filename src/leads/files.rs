//! Photos and documents on a lead: taken with the raise form, added as evidence with a
//! step, or on their own. Types and sizes are limited; each file's SHA-256 is kept.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::leads::store::files as store;
pub use crate::leads::store::files::Attachment;
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::Upload;

/// Accepted kinds of file, by content type, with their usual extension.
pub const TYPES: [(&str, &str); 7] = [
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/heic", "heic"),
    ("application/pdf", "pdf"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    ("application/msword", "doc"),
];

/// At most this many files on one lead.
pub const MAX_PER_LEAD: i64 = 30;

/// The content type of an upload: as sent, or from the file name when the sender said
/// only "application/octet-stream" (as some phones do).
fn kind_of(u: &Upload) -> Option<&'static str> {
    let sent = u
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if let Some((t, _)) = TYPES.iter().find(|(t, _)| *t == sent) {
        return Some(t);
    }
    let ext = u
        .file_name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = if ext == "jpeg" { "jpg".to_owned() } else { ext };
    TYPES.iter().find(|(_, e)| *e == ext).map(|(t, _)| *t)
}

/// Checks uploads against the type and size limits; `field` names them in errors.
pub fn check(uploads: &[Upload], max_bytes: usize, field: &str) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = uploads
        .iter()
        .filter_map(|u| {
            if u.bytes.is_empty() {
                Some(FieldError::new(field, format!("文件“{}”是空的", u.file_name)))
            } else if u.bytes.len() > max_bytes {
                Some(FieldError::new(field, format!("文件“{}”超过 {} MB", u.file_name, max_bytes / 1024 / 1024)))
            } else if kind_of(u).is_none() {
                Some(FieldError::new(field, format!("文件“{}”的类型不支持：只能上传照片（jpg、png、webp、heic）、pdf 或 Word 文档", u.file_name)))
            } else {
                None
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

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
    check(&uploads, max_bytes, "files").map_err(AppError::Validation)?;
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
        let kind = kind_of(&u).unwrap_or("application/octet-stream");
        let name: String = u
            .file_name
            .chars()
            .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
            .take(200)
            .collect();
        let name = if name.is_empty() {
            "附件".to_owned()
        } else {
            name
        };
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
    crate::leads::add_event(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, kind: &str, n: usize) -> Upload {
        Upload {
            file_name: name.into(),
            content_type: kind.into(),
            bytes: vec![1; n],
        }
    }

    #[test]
    fn types_and_sizes() {
        assert!(check(&[up("现场.jpg", "image/jpeg", 10)], 100, "files").is_ok());
        assert!(
            check(
                &[up("现场.JPEG", "application/octet-stream", 10)],
                100,
                "files"
            )
            .is_ok(),
            "by extension"
        );
        assert!(check(&[up("a.exe", "application/octet-stream", 10)], 100, "files").is_err());
        assert!(check(&[up("big.png", "image/png", 101)], 100, "files").is_err());
        assert!(check(&[up("empty.png", "image/png", 0)], 100, "files").is_err());
    }
}
