//! What other capabilities ask of the inspections: the tasks opened on their records.

use super::store::links;
use crate::platform::db::DbConnection;
use crate::platform::error::AppResult;

/// `(id, number)` of the tasks whose basis is `basis` (e.g. `consultation`) with this
/// reference (e.g. a decision's number, HS-2026-007-2): at most 100, oldest first.
pub fn with_basis_ref(
    conn: &mut DbConnection,
    basis: &str,
    reference: &str,
) -> AppResult<Vec<(String, String)>> {
    links::with_basis_ref(conn, basis, reference)
}
