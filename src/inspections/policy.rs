//! Who may do what to one inspection task or hazard.

use crate::inspections::store::{Inspection, TaskDepartment};
use crate::platform::authz::Principal;
use crate::platform::rules::role::Role;

/// Opens a task as `lead_department`: its own officers and head, or the coordination office.
pub fn may_open(who: &Principal, lead_department: &str) -> bool {
    match who.role {
        Role::Coordinator => true,
        Role::Officer | Role::Head => who.department.as_deref() == Some(lead_department),
        _ => false,
    }
}

/// Whether the reader's department takes part in the task (or the reader is the office).
pub fn takes_part(who: &Principal, departments: &[TaskDepartment]) -> bool {
    who.role == Role::Coordinator
        || who.role == Role::Admin
        || who
            .department
            .as_deref()
            .is_some_and(|d| departments.iter().any(|t| t.department == d))
}

/// The department a list is kept to: an officer's or head's own; none (all) for the office
/// and admins.
pub fn own_department(who: &Principal) -> Option<String> {
    match who.role {
        Role::Officer | Role::Head => who.department.clone(),
        _ => None,
    }
}

/// Records a department's results: that department's officers and head.
pub fn may_record(who: &Principal, department: &str) -> bool {
    matches!(who.role, Role::Officer | Role::Head) && who.department.as_deref() == Some(department)
}

/// Approves annual plans and draws them up after the first quarter: the coordination office.
pub fn may_approve_plans(who: &Principal) -> bool {
    who.role == Role::Coordinator
}

/// Starts, completes or cancels the task: the lead department or the office.
pub fn may_run(who: &Principal, task: &Inspection) -> bool {
    may_open(who, &task.lead_department)
}
