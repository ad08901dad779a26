//! Who may see what of one mine. The register's coarse actions (edit, grade, boundaries)
//! are in `platform::authz`; the object-level rules live here and the pages ask them.

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
