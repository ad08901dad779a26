//! Who may see what of one mine, and who decides about a permit. The register's coarse
//! actions (edit, grade, boundaries) are in `platform::authz`; the object-level rules
//! live here and the use cases and pages ask them.

use crate::platform::authz::{allowed, Action, Principal};
use crate::platform::rules::role::Role;

/// Whether the user may read this one mine: the register's readers, and an enterprise
/// user for its own mine.
pub fn may_view_mine(who: &Principal, mine_id: &str) -> bool {
    allowed(who, Action::ViewMines)
        || (who.role == Role::Enterprise && who.mine_id.as_deref() == Some(mine_id))
}

/// Whether the user sees other mines around this one (neighbours' names and outlines on
/// the drawing, overlaps and distances to them): the register's readers. An enterprise
/// sees its own mine only; the neighbour may be an illegal site under investigation.
pub fn may_see_neighbours(who: &Principal) -> bool {
    allowed(who, Action::ViewMines)
}

/// Whether the user records or changes permits issued by this department (谁审批、谁监管):
/// that department's staff, and admins.
pub fn may_issue(who: &Principal, issuing_department: &str) -> bool {
    match who.role {
        Role::Admin => true,
        Role::Officer | Role::Head => who.department.as_deref() == Some(issuing_department),
        _ => false,
    }
}
