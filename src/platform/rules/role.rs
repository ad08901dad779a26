//! The roles a user can hold and what each is bound to.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员
    Admin,
    /// 协调机制办公室（区自然资源分局）
    Coordinator,
    /// 部门工作人员
    Officer,
    /// 部门负责人
    Head,
    /// 街镇工作人员
    Township,
    /// 矿山企业
    Enterprise,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Admin,
    Role::Coordinator,
    Role::Officer,
    Role::Head,
    Role::Township,
    Role::Enterprise,
];

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Officer => "officer",
            Role::Head => "head",
            Role::Township => "township",
            Role::Enterprise => "enterprise",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        ALL_ROLES.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Coordinator => "协调办",
            Role::Officer => "部门工作人员",
            Role::Head => "部门负责人",
            Role::Township => "街镇工作人员",
            Role::Enterprise => "矿山企业",
        }
    }

    /// Officers and heads belong to a department; coordinators to the coordination office.
    pub fn needs_department(self) -> bool {
        matches!(self, Role::Officer | Role::Head | Role::Coordinator)
    }

    pub fn needs_township(self) -> bool {
        self == Role::Township
    }

    pub fn needs_mine(self) -> bool {
        self == Role::Enterprise
    }
}
