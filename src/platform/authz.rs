//! The one authorization gate. Every handler, page and command asks here, so who may do
//! what is written down once, keyed by role and by the unit the user belongs to.

use serde::Serialize;

use crate::platform::audit::Actor;
use crate::platform::error::{AppError, AppResult};
use crate::platform::rules::role::Role;

/// The signed-in user as the gate sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<String>,
    pub township: Option<String>,
    pub mine_id: Option<String>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.id.clone()),
            name: format!("{}（{}）", self.display_name, self.username),
        }
    }
}

/// Everything a person can ask to do. Capabilities add their own actions here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the list of accounts (admins and the coordination office).
    ViewUsers,
    /// Create, edit, disable, unlock accounts and reset their passwords.
    ManageUsers,
    /// Read departments, townships, lead categories, permit types, calendar.
    ViewReferenceData,
    /// Edit departments, townships, lead categories and permit types.
    EditReferenceData,
    /// Read the audit trail.
    ViewAudit,
    /// Read the mine register (every signed-in user but enterprises, who see their own mine).
    ViewMines,
    /// Create and edit mines and change their status: NR and EM, the coordination office, admins.
    EditMines,
    /// Set a mine's risk grade and daily safety supervisor: EM, the coordination office, admins.
    GradeMines,
    /// Record mining-right boundaries and prohibited zones: NR, the coordination office, admins.
    EditBoundaries,
    /// See the email outbox and retry or cancel a message: admins.
    ManageOutbox,
    /// Raise a problem lead (吹哨): townships, department staff, the coordination office.
    RaiseLeads,
    /// Read the lead statistics (部门报到 figures): everyone but enterprises.
    ViewLeadStats,
    /// Read the mail taken in by the intake (收件记录): admins and the coordination office.
    ViewIntake,
    /// Read problem leads (each one as `leads::policy::may_view` allows): everyone but
    /// enterprises.
    ViewLeads,
    /// The supervision ledgers in the menu (漏管检查, permits and their expiry, prohibited
    /// zones): department staff, the coordination office, admins.
    ViewSupervision,
    /// Keep the reference data from the 基础数据 menu: admins and the coordination office
    /// (everyone may still read a department or township where a page links to it).
    ReferenceMenu,
    /// Read inspection tasks, results and hazards (综合查一次): department staff, the
    /// coordination office, admins.
    ViewInspections,
    /// Keep the inspection item catalogue (事项清单): admins and the coordination office.
    ManageInspectionItems,
    /// Open an inspection task as its lead department, record results and hazards:
    /// department staff and the coordination office (for their own departments, as
    /// `inspections::policy` decides).
    OpenInspections,
    /// See one's own mine's inspections, rate a finished visit and complain (企业扫码评价):
    /// enterprise users.
    RateInspections,
    /// Read the consultations one is invited to (the office: all), answer invitations:
    /// everyone but enterprises (who is invited is `consultations::policy`'s).
    ViewConsultations,
    /// Read the decisions ledger (督办台账): the coordination office, admins and the member
    /// units' staff (each its own decisions).
    ViewDecisions,
    /// Read closure cases (关闭退出) and the watch on closed mines: department staff, the
    /// coordination office, admins (who opens, completes and accepts is
    /// `closures::policy`'s).
    ViewClosures,
    /// Record a patrol of a closed mine (巡查): townships, department staff, the office.
    PatrolClosedMines,
}

pub const ALL_ACTIONS: [Action; 24] = [
    Action::ViewUsers,
    Action::ManageUsers,
    Action::ViewReferenceData,
    Action::EditReferenceData,
    Action::ViewAudit,
    Action::ViewMines,
    Action::EditMines,
    Action::GradeMines,
    Action::EditBoundaries,
    Action::ManageOutbox,
    Action::RaiseLeads,
    Action::ViewLeadStats,
    Action::ViewIntake,
    Action::ViewLeads,
    Action::ViewSupervision,
    Action::ReferenceMenu,
    Action::ViewInspections,
    Action::ManageInspectionItems,
    Action::OpenInspections,
    Action::RateInspections,
    Action::ViewConsultations,
    Action::ViewDecisions,
    Action::ViewClosures,
    Action::PatrolClosedMines,
];

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::ViewUsers => "查看用户",
            Action::ManageUsers => "管理用户",
            Action::ViewReferenceData => "查看基础数据",
            Action::EditReferenceData => "修改基础数据",
            Action::ViewAudit => "查看操作记录",
            Action::ViewMines => "查看矿山台账",
            Action::EditMines => "登记或修改矿山",
            Action::GradeMines => "确定风险等级和日常安全监管部门",
            Action::EditBoundaries => "登记矿区范围和禁止开采区",
            Action::ManageOutbox => "管理发件箱",
            Action::RaiseLeads => "提交问题线索",
            Action::ViewLeadStats => "查看线索办理统计",
            Action::ViewIntake => "查看邮件收件记录",
            Action::ViewLeads => "查看问题线索",
            Action::ViewSupervision => "查看监管台账",
            Action::ReferenceMenu => "维护基础数据",
            Action::ViewInspections => "查看检查任务和隐患",
            Action::ManageInspectionItems => "维护检查事项清单",
            Action::OpenInspections => "发起检查任务或录入检查结果",
            Action::RateInspections => "评价检查或投诉",
            Action::ViewConsultations => "查看会商",
            Action::ViewDecisions => "查看督办台账",
            Action::ViewClosures => "查看关闭退出案件",
            Action::PatrolClosedMines => "巡查已关闭矿山",
        }
    }
}

pub fn allowed(who: &Principal, action: Action) -> bool {
    use Role::*;
    match action {
        Action::ViewReferenceData => true,
        Action::ViewUsers | Action::ViewAudit | Action::ViewIntake | Action::ReferenceMenu => {
            matches!(who.role, Admin | Coordinator)
        }
        Action::ViewSupervision
        | Action::ViewInspections
        | Action::ViewDecisions
        | Action::ViewClosures => {
            matches!(who.role, Admin | Coordinator | Officer | Head)
        }
        Action::ManageInspectionItems => matches!(who.role, Admin | Coordinator),
        Action::OpenInspections => matches!(who.role, Coordinator | Officer | Head),
        Action::RateInspections => who.role == Enterprise && who.mine_id.is_some(),
        Action::ManageUsers | Action::EditReferenceData | Action::ManageOutbox => who.role == Admin,
        Action::ViewMines => who.role != Enterprise,
        Action::EditMines => match who.role {
            Admin | Coordinator => true,
            Officer | Head => matches!(who.department.as_deref(), Some("NR" | "EM")),
            Township | Enterprise => false,
        },
        Action::GradeMines => match who.role {
            Admin | Coordinator => true,
            Officer | Head => who.department.as_deref() == Some("EM"),
            Township | Enterprise => false,
        },
        Action::RaiseLeads | Action::PatrolClosedMines => {
            matches!(who.role, Township | Officer | Head | Coordinator)
        }
        Action::ViewLeadStats | Action::ViewLeads | Action::ViewConsultations => {
            who.role != Enterprise
        }
        Action::EditBoundaries => match who.role {
            Admin | Coordinator => true,
            Officer | Head => who.department.as_deref() == Some("NR"),
            Township | Enterprise => false,
        },
    }
}

pub fn require(who: &Principal, action: Action) -> AppResult<()> {
    if allowed(who, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "您的角色（{}）不能{}。",
            who.role.label(),
            action.label()
        )))
    }
}
