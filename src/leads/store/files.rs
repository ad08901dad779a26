//! Attachments' storage: the only code naming `lead_attachments`. The bytes are read only
//! when a file is opened.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::platform::db::schema::lead_attachments;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = lead_attachments)]
pub struct Attachment {
    pub id: String,
    #[serde(skip)]
    pub lead_id: String,
    /// The step the file is evidence of, if any.
    pub event_id: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<String>,
    #[schema(value_type = String)]
    pub uploaded_at: NaiveDateTime,
}

pub fn count(conn: &mut DbConnection, lead_id: &str) -> AppResult<i64> {
    Ok(lead_attachments::table
        .filter(lead_attachments::lead_id.eq(lead_id))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, a: &Attachment, data: &[u8]) -> AppResult<()> {
    diesel::insert_into(lead_attachments::table)
        .values((
            lead_attachments::id.eq(&a.id),
            lead_attachments::lead_id.eq(&a.lead_id),
            lead_attachments::event_id.eq(&a.event_id),
            lead_attachments::file_name.eq(&a.file_name),
            lead_attachments::content_type.eq(&a.content_type),
            lead_attachments::size_bytes.eq(a.size_bytes),
            lead_attachments::sha256.eq(&a.sha256),
            lead_attachments::data.eq(data),
            lead_attachments::uploaded_by.eq(&a.uploaded_by),
            lead_attachments::uploaded_at.eq(a.uploaded_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> AppResult<Vec<Attachment>> {
    Ok(lead_attachments::table
        .filter(lead_attachments::id.eq_any(ids))
        .select(Attachment::as_select())
        .order(lead_attachments::id.asc())
        .load(conn)?)
}

/// The lead's files, oldest first.
pub fn list(conn: &mut DbConnection, lead_id: &str) -> AppResult<Vec<Attachment>> {
    Ok(lead_attachments::table
        .filter(lead_attachments::lead_id.eq(lead_id))
        .select(Attachment::as_select())
        .order((
            lead_attachments::uploaded_at.asc(),
            lead_attachments::id.asc(),
        ))
        .load(conn)?)
}

/// One file of the lead with its bytes.
pub fn with_bytes(
    conn: &mut DbConnection,
    lead_id: &str,
    id: &str,
) -> AppResult<Option<(Attachment, Vec<u8>)>> {
    Ok(lead_attachments::table
        .filter(lead_attachments::id.eq(id))
        .filter(lead_attachments::lead_id.eq(lead_id))
        .select((Attachment::as_select(), lead_attachments::data))
        .first(conn)
        .optional()?)
}
