//! A case's tasks: completed by the department owning each (a permit task cancels the
//! permit through the register's permit decision, 相互通报 included), waived or added by
//! the coordination office with a reason, and their evidence (documents, photos with the
//! place they were taken).

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::rules::{self, TaskState};
use super::store::{self, Case, FileMeta, Task};
use super::{audit_case, load, policy, refuse_accepted, save, tell};
use crate::platform::authz::Principal;
use crate::platform::clock::shanghai_date;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::upload::{self, Upload};

/// At most this many files a case (its decision, the tasks' evidence, the acceptance).
pub const MAX_FILES: usize = 100;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskNote {
    /// What was done (completing), or why the task is waived.
    pub note: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub name: String,
    /// The owning department (code).
    pub department: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    /// Why the office adds it.
    pub reason: String,
}

/// Where a photo was taken, as the phone gave it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place {
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

impl Place {
    /// A place given as text (a form or a query), checked to be a longitude and latitude.
    pub fn parse(lon: Option<&str>, lat: Option<&str>) -> Result<Place, FieldError> {
        let num = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::parse::<f64>)
        };
        match (num(lon), num(lat)) {
            (None, None) => Ok(Place::default()),
            (Some(Ok(lon)), Some(Ok(lat)))
                if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
            {
                Ok(Place {
                    lon: Some(lon),
                    lat: Some(lat),
                })
            }
            _ => Err(FieldError::new(
                "location",
                "拍摄位置应为经度（-180 到 180）和纬度（-90 到 90）",
            )),
        }
    }
}

fn task_of(conn: &mut DbConnection, case: &Case, task_id: &str) -> AppResult<Task> {
    store::tasks_of(conn, &case.id)?
        .into_iter()
        .find(|t| t.id == task_id)
        .ok_or_else(|| AppError::NotFound("这个案件没有这项任务。".into()))
}

fn refuse_settled(t: &Task) -> AppResult<()> {
    if t.state != TaskState::Open {
        return Err(AppError::InvalidTransition(format!(
            "任务“{}”{}，不能再办理。",
            t.name,
            t.state.label()
        )));
    }
    Ok(())
}

fn note_of(note: &str, what: &str) -> AppResult<String> {
    let n = note.trim();
    if n.is_empty() {
        return Err(AppError::field("note", format!("请填写{what}")));
    }
    if n.chars().count() > 1000 {
        return Err(AppError::field(
            "note",
            format!("{what}不能超过 1000 个字符"),
        ));
    }
    Ok(n.to_owned())
}

/// Writes the task and moves the case to 待验收 once none is open (or back from it).
fn settle(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    case: &Case,
    before: &Task,
    after: &Task,
) -> AppResult<Case> {
    if !store::save_task(conn, before, after)? {
        return Err(AppError::Conflict(
            "这项任务刚被其他人办理过，请刷新后重试。".into(),
        ));
    }
    let open = store::tasks_of(conn, &case.id)?
        .iter()
        .filter(|t| t.state == TaskState::Open)
        .count();
    let state = rules::state_after_tasks(case.state, open);
    if state == case.state {
        return Ok(case.clone());
    }
    let moved = Case {
        state,
        updated_at: now,
        ..case.clone()
    };
    save(conn, case, &moved)?;
    Ok(moved)
}

/// The owning department completes its task, saying what was done; evidence files may come
/// with it. A permit task cancels the mine's permit of that type (注销) as its issuer.
#[allow(clippy::too_many_arguments)] // the step, its files and where they were taken
pub fn complete(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    task_id: &str,
    input: TaskNote,
    files: Vec<Upload>,
    place: Place,
    max_bytes: usize,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    refuse_accepted(&case)?;
    let task = task_of(conn, &case, task_id)?;
    if !policy::may_complete(who, &task.department) {
        return Err(AppError::Forbidden(format!(
            "任务“{}”由{}完成，其他部门不能代办。",
            task.name,
            crate::reference::unit_name(conn, &task.department)
        )));
    }
    refuse_settled(&task)?;
    let note = note_of(&input.note, "办理情况")?;
    check_files(conn, &case, &files, max_bytes)?;
    let mut cancelled = Vec::new();
    if let Some(kind) = &task.permit_type {
        for p in crate::register::permits::for_mine(conn, &case.mine_id)? {
            let live = p.status_override.is_none()
                || p.status_override == Some(crate::register::permits::PermitStatus::Suspended);
            if &p.permit_type == kind && live {
                crate::register::permits::decide(
                    conn,
                    who,
                    now,
                    &p.id,
                    crate::register::permits::Decision::Cancel,
                    &format!(
                        "关闭退出 {}（{} {}）",
                        case.number, case.issuing_body, case.decision_number
                    ),
                )?;
                cancelled.push(p.number.clone());
            }
        }
    }
    let after = Task {
        state: TaskState::Done,
        note: note.clone(),
        done_by: Some(who.id.clone()),
        done_at: Some(now),
        ..task.clone()
    };
    let moved = settle(conn, now, &case, &task, &after)?;
    let names = keep_files(
        conn,
        who,
        now,
        &case,
        Some(&task.id),
        "evidence",
        files,
        place,
    )?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "complete_task",
        None,
        serde_json::json!({"task": task.code, "task_id": task.id, "note": note,
            "files": names, "permits_cancelled": cancelled, "state": moved.state}),
    )?;
    let unit = crate::reference::unit_name(conn, &task.department);
    tell_office(
        conn,
        who,
        now,
        &moved,
        format!("任务已完成：{}", task.name),
        format!(
            "{unit}完成了“{}”：{note}{}{}",
            task.name,
            if cancelled.is_empty() {
                String::new()
            } else {
                format!("（已注销证照 {}）", cancelled.join("、"))
            },
            if moved.state == rules::CaseState::Accepting {
                "。全部任务已办结，可以组织联合验收。"
            } else {
                ""
            }
        ),
    )?;
    Ok(moved)
}

/// The office waives a task with its reason.
pub fn waive(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    task_id: &str,
    input: TaskNote,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    if !policy::may_manage(who) {
        return Err(AppError::Forbidden("免除任务由区协调办决定。".into()));
    }
    refuse_accepted(&case)?;
    let task = task_of(conn, &case, task_id)?;
    refuse_settled(&task)?;
    let note = note_of(&input.note, "免除理由")?;
    let after = Task {
        state: TaskState::Waived,
        note: note.clone(),
        done_by: Some(who.id.clone()),
        done_at: Some(now),
        ..task.clone()
    };
    let moved = settle(conn, now, &case, &task, &after)?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "waive_task",
        None,
        serde_json::json!({"task": task.code, "task_id": task.id, "reason": note, "state": moved.state}),
    )?;
    let recipients = crate::accounts::recipients::departments_and_township(
        conn,
        std::slice::from_ref(&task.department),
        None,
    )?;
    tell(
        conn,
        who,
        now,
        &moved,
        &recipients,
        format!("任务已免除：{}", task.name),
        format!("区协调办免除了任务“{}”，理由：{note}", task.name),
    )?;
    Ok(moved)
}

/// The office adds a task to a case with its reason.
pub fn add(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    input: NewTask,
) -> AppResult<Case> {
    let case = load(conn, who, case_id)?;
    if !policy::may_manage(who) {
        return Err(AppError::Forbidden("增加任务由区协调办决定。".into()));
    }
    refuse_accepted(&case)?;
    let today = shanghai_date(now);
    let mut errors = Vec::new();
    let name = super::text_field(&mut errors, "name", "任务名称", &input.name, 60);
    let reason = super::text_field(&mut errors, "reason", "增加理由", &input.reason, 500);
    let department = input.department.trim().to_uppercase();
    match crate::reference::find_department(conn, &department)? {
        Some(d) if d.active != 0 => {}
        _ => errors.push(FieldError::new("department", "请选择在用的部门")),
    }
    let due_on: Option<NaiveDate> = super::date_field(&mut errors, "due_on", &input.due_on, today);
    if input.due_on.trim().is_empty() {
        errors.push(FieldError::new("due_on", "请填写完成期限"));
    }
    if due_on.is_some_and(|d| d > case.target_on) {
        errors.push(FieldError::new(
            "due_on",
            format!("完成期限不能晚于案件的目标日期 {}", case.target_on),
        ));
    }
    let tasks = store::tasks_of(conn, &case.id)?;
    if tasks.len() >= super::MAX_TASKS {
        errors.push(FieldError::new(
            "name",
            format!("每个案件的任务不超过 {} 项", super::MAX_TASKS),
        ));
    }
    let (Some(due_on), true) = (due_on, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let task = Task {
        id: uuid::Uuid::now_v7().to_string(),
        case_id: case.id.clone(),
        position: tasks.iter().map(|t| t.position).max().unwrap_or(0) + 1,
        code: "added".into(),
        name: name.clone(),
        department: department.clone(),
        due_on,
        state: TaskState::Open,
        permit_type: None,
        notified: String::new(),
        added_reason: reason.clone(),
        note: String::new(),
        done_by: None,
        done_at: None,
        reminded_at: None,
        escalated_at: None,
        version: 1,
    };
    store::insert_task(conn, &task)?;
    let open = tasks.iter().filter(|t| t.state == TaskState::Open).count() + 1;
    let state = rules::state_after_tasks(case.state, open);
    let moved = if state == case.state {
        case.clone()
    } else {
        let moved = Case {
            state,
            updated_at: now,
            ..case.clone()
        };
        save(conn, &case, &moved)?;
        moved
    };
    audit_case(
        conn,
        who,
        now,
        &case,
        "add_task",
        None,
        serde_json::json!({"task_id": task.id, "name": name, "department": department,
            "due_on": due_on, "reason": reason}),
    )?;
    let recipients =
        crate::accounts::recipients::departments_and_township(conn, &[department], None)?;
    tell(
        conn,
        who,
        now,
        &moved,
        &recipients,
        format!("新增任务：{name}"),
        format!("区协调办为本案增加任务“{name}”，{due_on} 前完成。理由：{reason}"),
    )?;
    Ok(moved)
}

/// More evidence for a task, by its department, while the case is not accepted.
#[allow(clippy::too_many_arguments)] // the step, its files and where they were taken
pub fn add_evidence(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case_id: &str,
    task_id: &str,
    files: Vec<Upload>,
    place: Place,
    max_bytes: usize,
) -> AppResult<Vec<FileMeta>> {
    let case = load(conn, who, case_id)?;
    refuse_accepted(&case)?;
    let task = task_of(conn, &case, task_id)?;
    if !policy::may_complete(who, &task.department) {
        return Err(AppError::Forbidden(format!(
            "任务“{}”的佐证材料由{}上传。",
            task.name,
            crate::reference::unit_name(conn, &task.department)
        )));
    }
    if files.is_empty() {
        return Err(AppError::field("evidence", "请选择要上传的佐证材料"));
    }
    check_files(conn, &case, &files, max_bytes)?;
    let names = keep_files(
        conn,
        who,
        now,
        &case,
        Some(&task.id),
        "evidence",
        files,
        place,
    )?;
    audit_case(
        conn,
        who,
        now,
        &case,
        "evidence",
        None,
        serde_json::json!({"task_id": task.id, "files": names}),
    )?;
    Ok(store::files_of(conn, &case.id)?
        .into_iter()
        .filter(|f| f.task_id.as_deref() == Some(task.id.as_str()))
        .collect())
}

/// The files' kind, content and size, and the case's limit on them.
pub(super) fn check_files(
    conn: &mut DbConnection,
    case: &Case,
    files: &[Upload],
    max_bytes: usize,
) -> AppResult<()> {
    let mut errors = upload::check(files, max_bytes, "evidence")
        .err()
        .unwrap_or_default();
    if !files.is_empty() && store::files_of(conn, &case.id)?.len() + files.len() > MAX_FILES {
        errors.push(FieldError::new(
            "evidence",
            format!("每个案件的材料不超过 {MAX_FILES} 个"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Stores files of a case; their cleaned names, in order.
#[allow(clippy::too_many_arguments)] // what the file belongs to, and where it was taken
pub(super) fn keep_files(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case: &Case,
    task_id: Option<&str>,
    purpose: &str,
    files: Vec<Upload>,
    place: Place,
) -> AppResult<Vec<String>> {
    let mut names = Vec::new();
    for f in files {
        let name = upload::clean_name(&f.file_name);
        let content_type = upload::kind_of(&f).unwrap_or("application/octet-stream");
        store::insert_file(
            conn,
            store::NewFile {
                id: uuid::Uuid::now_v7().to_string(),
                case_id: case.id.clone(),
                task_id: task_id.map(str::to_owned),
                purpose: purpose.to_owned(),
                file_name: name.clone(),
                content_type: content_type.to_owned(),
                size_bytes: f.bytes.len() as i64,
                sha256: format!("{:x}", Sha256::digest(&f.bytes)),
                data: f.bytes,
                lon: place.lon,
                lat: place.lat,
                uploaded_by: Some(who.id.clone()),
                uploaded_at: now,
            },
        )?;
        names.push(name);
    }
    Ok(names)
}

/// Tells the coordination office and the owning unit.
fn tell_office(
    conn: &mut DbConnection,
    who: &Principal,
    now: NaiveDateTime,
    case: &Case,
    title: String,
    body: String,
) -> AppResult<()> {
    let mut recipients = crate::accounts::recipients::coordinators(conn)?;
    recipients.extend(crate::accounts::recipients::heads_of(
        conn,
        &case.owner_department,
    )?);
    tell(conn, who, now, case, &recipients, title, body)
}
