//! Who may do what to one lead: the object-level rules of "街镇吹哨、部门报到". The use
//! cases enforce them and the lead page asks them which actions to offer, so the page
//! never shows a button the service would refuse, and no page compares roles itself.

use crate::leads::Lead;
use crate::platform::authz::Principal;
use crate::platform::rules::role::Role;

/// Whether the user may read the lead: the coordination office (and admins) all; a
/// department the leads it is primary or assisting on; a township those it raised or in
/// its area; enterprises none.
pub fn may_view(who: &Principal, lead: &Lead) -> bool {
    match who.role {
        Role::Admin | Role::Coordinator => true,
        Role::Officer | Role::Head => who.department.as_deref().is_some_and(|d| {
            lead.primary_department == d || lead.assisting().iter().any(|a| a == d)
        }),
        Role::Township => {
            lead.raised_by.as_deref() == Some(who.id.as_str())
                || (who.township.is_some() && lead.township.as_deref() == who.township.as_deref())
        }
        Role::Enterprise => false,
    }
}

/// Which leads a user's list holds (the same rule as [`may_view`], for many leads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    /// The whole district, any department may be picked: the coordination office, admins.
    District,
    /// The department's own queue (primary or assisting), or another department's leads
    /// it is also party to.
    Department,
    /// What the township raised or what lies in its area.
    Township,
    /// No leads (enterprises).
    None,
}

pub fn list_scope(who: &Principal) -> ListScope {
    match who.role {
        Role::Admin | Role::Coordinator => ListScope::District,
        Role::Officer | Role::Head => ListScope::Department,
        Role::Township => ListScope::Township,
        Role::Enterprise => ListScope::None,
    }
}

/// Whether the user moves the main line of a lead whose primary department is this one:
/// its officers and heads only (also: answers a transfer to that department).
pub fn may_handle(who: &Principal, primary_department: &str) -> bool {
    matches!(who.role, Role::Officer | Role::Head)
        && who.department.as_deref() == Some(primary_department)
}

/// Whether the user speaks for the township that raised the lead (evaluates, reopens).
pub fn is_raising_township(who: &Principal, lead: &Lead) -> bool {
    who.role == Role::Township
        && (lead.raised_by.as_deref() == Some(who.id.as_str())
            || who.township.as_deref() == Some(lead.raised_unit.as_str()))
}

/// The staff of the coordination office (协调机制办公室).
pub fn is_coordination_office(who: &Principal) -> bool {
    who.role == Role::Coordinator
}

/// Disputed transfers are decided by the coordination office.
pub fn may_decide_disputes(who: &Principal) -> bool {
    is_coordination_office(who)
}

/// A lead waiting for the coordination office to give it its departments (分办): of the
/// category 其他, still with the office, not yet reported in, no transfer open.
pub fn awaits_dispatch(lead: &Lead) -> bool {
    lead.category == crate::leads::rules::UNDECIDED_CATEGORY
        && lead.primary_department == crate::leads::rules::COORDINATION_OFFICE
        && lead.state() == crate::leads::rules::LeadState::Routed
        && lead.transfer_state.is_none()
}

/// 分办 is the coordination office's.
pub fn may_dispatch(who: &Principal, lead: &Lead) -> bool {
    is_coordination_office(who) && awaits_dispatch(lead)
}

/// 指派: the head of the primary department gives an open lead to one of its officers.
pub fn may_assign(who: &Principal, lead: &Lead) -> bool {
    who.role == Role::Head
        && who.department.as_deref() == Some(lead.primary_department.as_str())
        && lead.state().is_open()
}

/// Whom a lead may be given to: an active officer or head of its primary department.
pub fn may_be_assigned(role: Role, active: bool, department: Option<&str>, lead: &Lead) -> bool {
    active
        && matches!(role, Role::Officer | Role::Head)
        && department == Some(lead.primary_department.as_str())
}

/// The primary department or the coordination office puts a lead to a consultation.
pub fn may_escalate(who: &Principal, lead: &Lead) -> bool {
    may_handle(who, &lead.primary_department) || who.role == Role::Coordinator
}

/// Whether the page offers to merge this lead into another: the coordination office, or
/// the primary department of this lead.
pub fn may_offer_merge(who: &Principal, duplicate: &Lead) -> bool {
    who.role == Role::Coordinator || may_handle(who, &duplicate.primary_department)
}

/// Merging closes the duplicate, so it takes the right to handle both leads (or the
/// coordination office): an assisting department cannot close the primary's lead by
/// merging it into its own.
pub fn may_merge(who: &Principal, duplicate: &Lead, original: &Lead) -> bool {
    who.role == Role::Coordinator
        || (may_handle(who, &duplicate.primary_department)
            && may_handle(who, &original.primary_department))
}

/// Everyone on a lead writes comments on it but the administrators, who only run the
/// system.
pub fn may_comment(who: &Principal) -> bool {
    who.role != Role::Admin
}

/// Files (photos, documents) come from the parties of a lead; not from administrators.
pub fn may_add_files(who: &Principal) -> bool {
    !matches!(who.role, Role::Admin | Role::Enterprise)
}
