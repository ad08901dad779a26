//! Who may ask for, convene and answer a consultation.

use crate::consultations::rules::InviteeKind;
use crate::leads::rules::COORDINATION_OFFICE;
use crate::platform::authz::Principal;
use crate::platform::rules::role::Role;

/// Any member unit's head or officer, and the coordination office, may ask for one.
pub fn may_request(who: &Principal) -> bool {
    match who.role {
        Role::Coordinator => true,
        Role::Officer | Role::Head => who.department.is_some(),
        _ => false,
    }
}

/// The coordination office convenes, changes and cancels meetings.
pub fn may_convene(who: &Principal) -> bool {
    who.role == Role::Coordinator
}

/// Whether the reader answers for this invitee: a department's head or officer, a
/// township's staff, or the person invited by name.
pub fn answers_for(who: &Principal, kind: InviteeKind, unit: &str) -> bool {
    match kind {
        InviteeKind::Department => {
            matches!(who.role, Role::Officer | Role::Head)
                && who.department.as_deref() == Some(unit)
        }
        InviteeKind::Township => {
            who.role == Role::Township && who.township.as_deref() == Some(unit)
        }
        InviteeKind::User => who.id == unit,
    }
}

/// The invitees the reader answers for or reads as theirs: `(kind, unit)` pairs.
pub fn own_units(who: &Principal) -> Vec<(String, String)> {
    let mut units = vec![(InviteeKind::User.code().to_owned(), who.id.clone())];
    if matches!(who.role, Role::Officer | Role::Head) {
        if let Some(d) = &who.department {
            units.push((InviteeKind::Department.code().to_owned(), d.clone()));
        }
    }
    if who.role == Role::Township {
        if let Some(t) = &who.township {
            units.push((InviteeKind::Township.code().to_owned(), t.clone()));
        }
    }
    units
}

/// The office (its staff and its head) and admins read every meeting and decision;
/// others the ones inviting them or theirs.
pub fn reads_all(who: &Principal) -> bool {
    matches!(who.role, Role::Coordinator | Role::Admin) || is_office_head(who)
}

/// A department's officer or head: who reports for it as a responsible unit.
pub fn is_unit_staff(who: &Principal, unit: &str) -> bool {
    matches!(who.role, Role::Officer | Role::Head) && who.department.as_deref() == Some(unit)
}

/// The head of the coordination office (区自然资源分局) approves the minutes.
pub fn is_office_head(who: &Principal) -> bool {
    who.role == Role::Head && who.department.as_deref() == Some(COORDINATION_OFFICE)
}

/// A unit's head signs its monthly report off.
pub fn may_sign_report(who: &Principal, unit: &str) -> bool {
    who.role == Role::Head && who.department.as_deref() == Some(unit)
}

/// The reader's own unit, when they draft its monthly reports (its officers and head).
pub fn reporting_unit(who: &Principal) -> Option<&str> {
    who.department.as_deref().filter(|d| is_unit_staff(who, d))
}
