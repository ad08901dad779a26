//! A visit's files: the only code naming `inspection_files`. The bytes are read only
//! when a file is opened.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::inspections::rules::FilePurpose;
use crate::platform::db::schema::inspection_files;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = inspection_files)]
pub struct InspectionFile {
    pub id: String,
    #[serde(skip)]
    pub inspection_id: String,
    /// The item whose result it shows.
    pub item_code: Option<String>,
    /// The hazard it shows, or whose re-inspection it proves.
    pub hazard_id: Option<String>,
    pub purpose: FilePurpose,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
    #[schema(value_type = String)]
    pub uploaded_at: NaiveDateTime,
}

pub fn count(conn: &mut DbConnection, inspection_id: &str) -> AppResult<i64> {
    Ok(inspection_files::table
        .filter(inspection_files::inspection_id.eq(inspection_id))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, f: &InspectionFile, data: &[u8]) -> AppResult<()> {
    diesel::insert_into(inspection_files::table)
        .values((
            inspection_files::id.eq(&f.id),
            inspection_files::inspection_id.eq(&f.inspection_id),
            inspection_files::item_code.eq(&f.item_code),
            inspection_files::hazard_id.eq(&f.hazard_id),
            inspection_files::purpose.eq(f.purpose.code()),
            inspection_files::file_name.eq(&f.file_name),
            inspection_files::content_type.eq(&f.content_type),
            inspection_files::size_bytes.eq(f.size_bytes),
            inspection_files::sha256.eq(&f.sha256),
            inspection_files::data.eq(data),
            inspection_files::uploaded_by.eq(&f.uploaded_by),
            inspection_files::uploaded_at.eq(f.uploaded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The task's files, oldest first.
pub fn list(conn: &mut DbConnection, inspection_id: &str) -> AppResult<Vec<InspectionFile>> {
    Ok(inspection_files::table
        .filter(inspection_files::inspection_id.eq(inspection_id))
        .select(InspectionFile::as_select())
        .order((
            inspection_files::uploaded_at.asc(),
            inspection_files::id.asc(),
        ))
        .load(conn)?)
}

/// One file of the task with its bytes.
pub fn with_bytes(
    conn: &mut DbConnection,
    inspection_id: &str,
    id: &str,
) -> AppResult<Option<(InspectionFile, Vec<u8>)>> {
    Ok(inspection_files::table
        .filter(inspection_files::id.eq(id))
        .filter(inspection_files::inspection_id.eq(inspection_id))
        .select((InspectionFile::as_select(), inspection_files::data))
        .first(conn)
        .optional()?)
}
