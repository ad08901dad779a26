//! Photos and documents of a visit (现场照片、隐患照片、复查佐证): each tied to an item's
//! result or to a hazard, added by the department that recorded it, kept with its SHA-256
//! and never changed; an archived task takes none.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::policy;
use super::rules::{FilePurpose, InspectionState};
use super::store::{self, files as file_store};
use super::tasks::{audit_task, load, refuse_closed};
use crate::platform::authz::Principal;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult};
use crate::platform::upload::{self, Upload};
pub use file_store::InspectionFile;

/// At most this many files on one task (all departments, results and hazards together).
pub const MAX_PER_TASK: i64 = 100;

/// What a file is attached to.
#[derive(Debug, Clone)]
pub enum FileTarget {
    /// The result of an item of the task (by its code).
    Result(String),
    /// A hazard of the task, as found.
    Hazard(String),
    /// A hazard of the task, as the evidence of its re-inspection.
    Reinspection(String),
}

impl FileTarget {
    /// From the API's `purpose` and its `item` or `hazard_id`.
    pub fn parse(purpose: &str, item: Option<&str>, hazard: Option<&str>) -> AppResult<Self> {
        let given = |v: Option<&str>, field: &str, what: &str| {
            v.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| AppError::field(field, format!("请写明{what}")))
        };
        match FilePurpose::parse(purpose.trim()) {
            Some(FilePurpose::Result) => Ok(Self::Result(
                given(item, "item", "照片所属的检查事项")?.to_uppercase(),
            )),
            Some(FilePurpose::Hazard) => {
                Ok(Self::Hazard(given(hazard, "hazard_id", "照片所属的隐患")?))
            }
            Some(FilePurpose::Reinspection) => Ok(Self::Reinspection(given(
                hazard,
                "hazard_id",
                "复查佐证所属的隐患",
            )?)),
            None => Err(AppError::field(
                "purpose",
                format!("文件用途只能是 {}", FilePurpose::codes()),
            )),
        }
    }
}

/// Attaches files to a result or a hazard of the task, in the caller's transaction.
pub fn attach(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    id: &str,
    target: &FileTarget,
    uploads: Vec<Upload>,
    max_bytes: usize,
) -> AppResult<Vec<InspectionFile>> {
    if uploads.is_empty() {
        return Ok(Vec::new());
    }
    let task = load(conn, who, id)?;
    let (purpose, item_code, hazard_id) = match target {
        FileTarget::Result(code) => {
            refuse_closed(&task)?;
            let parts = store::parts(conn, id)?;
            let item = parts
                .items
                .iter()
                .find(|t| &t.item_code == code)
                .ok_or_else(|| {
                    AppError::field("item", format!("检查事项 {code} 不在本次检查任务中"))
                })?;
            if !policy::may_record(who, &item.department) {
                return Err(AppError::Forbidden(
                    "只能由该事项所属部门的检查人员上传现场照片。".into(),
                ));
            }
            (FilePurpose::Result, Some(code.clone()), None)
        }
        FileTarget::Hazard(hid) | FileTarget::Reinspection(hid) => {
            if matches!(
                task.state,
                InspectionState::Archived | InspectionState::Cancelled
            ) {
                refuse_closed(&task)?;
            }
            let hazard = store::find_hazard(conn, hid)?
                .filter(|h| h.inspection_id == task.id)
                .ok_or_else(|| AppError::field("hazard_id", "本次检查任务中没有这个隐患"))?;
            if !hazard.state.is_open() {
                return Err(AppError::Conflict(format!(
                    "隐患 {} 已销号，其记录不能再修改。",
                    hazard.number
                )));
            }
            let reinspection = matches!(target, FileTarget::Reinspection(_));
            let department = if reinspection {
                hazard.responsible_department.clone()
            } else {
                store::parts(conn, id)?
                    .items
                    .iter()
                    .find(|t| t.item_code == hazard.item_code)
                    .map(|t| t.department.clone())
                    .unwrap_or_default()
            };
            if !policy::may_record(who, &department) {
                return Err(AppError::Forbidden(if reinspection {
                    "复查佐证由负责复查的部门上传。".into()
                } else {
                    "隐患照片由登记隐患的部门上传。".into()
                }));
            }
            let purpose = if reinspection {
                FilePurpose::Reinspection
            } else {
                FilePurpose::Hazard
            };
            (purpose, None, Some(hazard.id))
        }
    };
    upload::check(&uploads, max_bytes, "files").map_err(AppError::Validation)?;
    if file_store::count(conn, id)? + uploads.len() as i64 > MAX_PER_TASK {
        return Err(AppError::field(
            "files",
            format!("每个检查任务最多 {MAX_PER_TASK} 个文件"),
        ));
    }
    let mut stored = Vec::new();
    for u in uploads {
        let f = InspectionFile {
            id: uuid::Uuid::now_v7().to_string(),
            inspection_id: task.id.clone(),
            item_code: item_code.clone(),
            hazard_id: hazard_id.clone(),
            purpose,
            file_name: upload::clean_name(&u.file_name),
            content_type: upload::kind_of(&u)
                .unwrap_or("application/octet-stream")
                .to_owned(),
            size_bytes: u.bytes.len() as i64,
            sha256: hex::encode(Sha256::digest(&u.bytes)),
            uploaded_by: Some(who.id.clone()),
            uploaded_at: now,
        };
        file_store::insert(conn, &f, &u.bytes)?;
        stored.push(f);
    }
    audit_task(
        conn,
        &who.actor(),
        now,
        &task,
        "attach",
        serde_json::json!({
            "purpose": purpose.code(), "item": item_code, "hazard": hazard_id,
            "files": stored.iter().map(|f| serde_json::json!({"id": f.id, "name": f.file_name, "sha256": f.sha256})).collect::<Vec<_>>(),
        }),
    )?;
    Ok(stored)
}

/// The task's files, oldest first (the caller has loaded the task for its reader).
pub fn files_of(conn: &mut DbConnection, id: &str) -> AppResult<Vec<InspectionFile>> {
    file_store::list(conn, id)
}

/// A file with its bytes, for whoever takes part in the task.
pub fn open_file(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    file_id: &str,
) -> AppResult<(InspectionFile, Vec<u8>)> {
    load(conn, who, id)?;
    file_store::with_bytes(conn, id, file_id)?
        .ok_or_else(|| AppError::NotFound("没有这个文件。".into()))
}
