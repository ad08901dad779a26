//! Tasks as other records find them: by the reference of their basis.

use diesel::prelude::*;

use crate::platform::db::schema::inspections;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// `(id, number)` of the tasks opened on `basis` with this reference, oldest first.
pub fn with_basis_ref(
    conn: &mut DbConnection,
    basis: &str,
    reference: &str,
) -> AppResult<Vec<(String, String)>> {
    Ok(inspections::table
        .filter(inspections::basis_ref.eq(reference))
        .filter(inspections::basis.eq(basis))
        .order((inspections::created_at, inspections::id))
        .select((inspections::id, inspections::number))
        .limit(100)
        .load(conn)?)
}
