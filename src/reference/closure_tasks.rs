//! 关闭退出任务清单: the tasks a closure case gets for its kind, kept as reference data
//! (seeded from `config/reference.toml`, kept by admins on the 基础数据 pages).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::store::{ClosureTask, Stored};
use super::{active_department, apply_common, split_codes, Editable, Seeded};
use crate::closures::rules::ClosureKind;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};

/// The `department` of a task the unit owning the case carries out.
pub const OWNER_DEPARTMENT: &str = "OWNER";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClosureTaskView {
    pub code: String,
    pub name: String,
    /// The owning department's code, or `OWNER` (the unit that owns the case).
    pub department: String,
    /// The case kinds the task belongs to.
    pub kinds: Vec<String>,
    /// Days from the decision (a tailings pond: from its planned stop) to the deadline;
    /// negative: the closure design, 12 months before the stop.
    pub due_days: i32,
    /// The permit cancelled when the task is completed.
    pub permit_type: Option<String>,
    /// Who is told besides the owning department (供电单位 …).
    pub notified: String,
    pub notes: String,
    pub sort_order: i32,
    pub active: bool,
}

impl From<&ClosureTask> for ClosureTaskView {
    fn from(t: &ClosureTask) -> Self {
        Self {
            code: t.code.clone(),
            name: t.name.clone(),
            department: t.department.clone(),
            kinds: split_codes(&t.kinds),
            due_days: t.due_days,
            permit_type: t.permit_type.clone(),
            notified: t.notified.clone(),
            notes: t.notes.clone(),
            sort_order: t.sort_order,
            active: t.active != 0,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SeedClosureTask {
    code: String,
    name: String,
    department: String,
    kinds: Vec<String>,
    due_days: i32,
    #[serde(default)]
    permit_type: Option<String>,
    #[serde(default)]
    notified: String,
    #[serde(default)]
    notes: String,
}

impl Seeded for SeedClosureTask {
    type Row = ClosureTask;
    fn code(&self) -> &str {
        &self.code
    }
    fn into_row(self, sort_order: i32, now: NaiveDateTime) -> ClosureTask {
        ClosureTask {
            code: self.code,
            name: self.name,
            department: self.department,
            kinds: self.kinds.join(","),
            due_days: self.due_days,
            permit_type: self.permit_type,
            notified: self.notified,
            notes: self.notes,
            sort_order,
            active: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Every task of the checklists, in their order.
pub fn closure_tasks(conn: &mut DbConnection) -> AppResult<Vec<ClosureTask>> {
    ClosureTask::all(conn)
}

pub fn closure_task(conn: &mut DbConnection, code: &str) -> AppResult<ClosureTask> {
    ClosureTask::find(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("关闭退出任务 {code} 不存在。")))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureTaskInput {
    pub name: Option<String>,
    /// A department code, or `OWNER`.
    pub department: Option<String>,
    pub kinds: Option<Vec<String>>,
    pub due_days: Option<i32>,
    pub notified: Option<String>,
    pub notes: Option<String>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

impl Editable for ClosureTask {
    type Input = ClosureTaskInput;
    type View = ClosureTaskView;
    const ENTITY: &'static str = "closure_task";
    const NOUN: &'static str = "关闭退出任务";

    fn code(&self) -> &str {
        &self.code
    }
    fn get(conn: &mut DbConnection, code: &str) -> AppResult<Self> {
        closure_task(conn, code)
    }
    fn exists(conn: &mut DbConnection, code: &str) -> AppResult<bool> {
        Ok(ClosureTask::find(conn, code)?.is_some())
    }
    fn input_code(_: &ClosureTaskInput) -> Option<&str> {
        None
    }
    /// The list follows the seed file; a case's own extra task is added on the case.
    fn blank(_: &str, _: NaiveDateTime) -> Option<Self> {
        None
    }
    fn required(_: &ClosureTaskInput, _: &mut Vec<FieldError>) {}
    fn apply(
        conn: &mut DbConnection,
        row: &mut Self,
        input: ClosureTaskInput,
        errors: &mut Vec<FieldError>,
    ) -> AppResult<()> {
        apply_common(
            input.name,
            input.sort_order,
            &mut row.name,
            &mut row.sort_order,
            errors,
        );
        if let Some(d) = input.department {
            let d = d.trim().to_uppercase();
            if d != OWNER_DEPARTMENT {
                active_department(conn, "department", &d, errors)?;
            }
            row.department = d;
        }
        if let Some(kinds) = input.kinds {
            let mut codes: Vec<String> = Vec::new();
            for k in kinds.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
                match ClosureKind::parse(k) {
                    Some(k) if !codes.iter().any(|c| c == k.code()) => {
                        codes.push(k.code().to_owned())
                    }
                    Some(_) => {}
                    None => errors.push(FieldError::new(
                        "kinds",
                        format!("案件类型只能是 {}", ClosureKind::codes()),
                    )),
                }
            }
            if codes.is_empty() {
                errors.push(FieldError::new("kinds", "请至少选择一种案件类型"));
            }
            row.kinds = codes.join(",");
        }
        if let Some(days) = input.due_days {
            if !(-730..=1095).contains(&days) {
                errors.push(FieldError::new(
                    "due_days",
                    "期限天数应在 -730 到 1095 之间",
                ));
            }
            row.due_days = days;
        }
        if let Some(n) = input.notified {
            if n.chars().count() > 200 {
                errors.push(FieldError::new("notified", "告知单位不超过 200 个字符"));
            }
            row.notified = n.trim().to_owned();
        }
        if let Some(n) = input.notes {
            row.notes = n.trim().to_owned();
        }
        if let Some(a) = input.active {
            row.active = i32::from(a);
        }
        Ok(())
    }
}
