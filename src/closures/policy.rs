//! Who may do what to a closure case (seed 001: NR executes government-decided closures and
//! bans, EM guides closures for lacking safety conditions and tailings pond closure, DRC
//! and MIIT eliminate backward capacity; the coordination office convenes and accepts).

use crate::closures::rules::ClosureKind;
use crate::platform::authz::Principal;
use crate::platform::rules::role::Role;

fn staff_of(who: &Principal, department: &str) -> bool {
    matches!(who.role, Role::Officer | Role::Head) && who.department.as_deref() == Some(department)
}

/// Opens a case of this kind: the office, or the staff of a unit owning the kind.
pub fn may_open(who: &Principal, kind: ClosureKind) -> bool {
    who.role == Role::Coordinator || kind.owners().iter().any(|d| staff_of(who, d))
}

/// The unit a case is owned by when `who` opens it: the opener's own unit when it owns the
/// kind, else the one asked for (when it owns the kind), else the kind's first owner.
pub fn owner_for(who: &Principal, kind: ClosureKind, asked: Option<&str>) -> Option<String> {
    let owners = kind.owners();
    if let Some(d) = who.department.as_deref().filter(|d| owners.contains(d)) {
        if who.role != Role::Coordinator {
            return Some(d.to_owned());
        }
    }
    match asked {
        Some(a) if owners.contains(&a) => Some(a.to_owned()),
        Some(_) => None,
        None => owners.first().map(|d| (*d).to_owned()),
    }
}

/// Completes a task: only the staff of the department owning it.
pub fn may_complete(who: &Principal, department: &str) -> bool {
    staff_of(who, department)
}

/// Adds or waives a task, records the acceptance: the coordination office.
pub fn may_manage(who: &Principal) -> bool {
    who.role == Role::Coordinator
}

/// Extends a tailings pond's closure: EM (区应急局), which guides 闭库.
pub fn may_extend(who: &Principal) -> bool {
    staff_of(who, "EM")
}

/// Confirms an acceptance for its department: that department's staff.
pub fn may_confirm(who: &Principal, department: &str) -> bool {
    staff_of(who, department)
}

/// The department whose task queue a reader sees by default: an officer's or head's own.
pub fn own_department(who: &Principal) -> Option<String> {
    match who.role {
        Role::Officer | Role::Head => who.department.clone(),
        _ => None,
    }
}
