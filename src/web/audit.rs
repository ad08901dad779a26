//! The audit trail for people: the JSON list and the page (admins and the coordination
//! office).

use crate::web::kit::signed_in;
use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::platform::audit::{self, AuditEntry, AuditQuery};
use crate::platform::authz::{self, Action};
use crate::platform::clock::rfc3339;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::pagination::Page;
use crate::web::extract::{ApiQuery, CurrentUser};
use crate::web::{blocking, AppState};

pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list_audit));
}

pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(audit_list));
}
// ---- audit ---------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    /// The entry's id (the list's order and cursor).
    pub id: i64,
    /// Its place in the hash chain; empty until the entry is sealed (a moment after it is
    /// written, on PostgreSQL).
    pub seq: Option<i64>,
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// Empty until the entry is sealed.
    pub hash: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        let parse = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
            id: e.id,
            seq: e.seq,
            occurred_at: rfc3339(e.occurred_at),
            actor_id: e.actor_id.clone(),
            actor_name: e.actor_name.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            action: e.action.clone(),
            before: parse(&e.before_json),
            after: parse(&e.after_json),
            hash: e.hash.clone(),
        }
    }
}

/// The audit trail, newest first (admins and the coordination office).
#[utoipa::path(get, path = "/api/v1/audit", tag = "操作记录", params(AuditQuery), responses(
    (status = 200, body = Page<AuditEntryView>), (status = 403, body = Problem)))]
pub async fn list_audit(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: ApiQuery<AuditQuery>,
) -> AppResult<HttpResponse> {
    authz::require(&user.0, Action::ViewAudit)?;
    let (rows, next) = blocking(move || state.db.read(|conn| audit::list(conn, &q.0))).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(AuditEntryView::from).collect::<Vec<_>>(),
        next_cursor: next,
    }))
}

// ---- the page ----

use crate::platform::clock::local_time;
use crate::web::extract::PageSession;
use crate::web::kit::*;

// ---- audit and calendar -------------------------------------------------------------------

const ENTITY_TYPES: [(&str, &str); 20] = [
    ("lead", "问题线索"),
    ("mine", "矿山"),
    ("prohibited_zone", "禁止开采区"),
    ("outbox", "邮件"),
    ("notification_preferences", "通知设置"),
    ("permit", "证照"),
    ("user", "用户"),
    ("department", "成员单位"),
    ("township", "街镇"),
    ("lead_category", "线索类别"),
    ("permit_type", "证照类型"),
    ("inspection", "检查任务"),
    ("hazard", "隐患"),
    ("inspection_plan", "年度检查计划"),
    ("consultation", "会商"),
    ("consultation_request", "会商申请"),
    ("decision", "议定事项"),
    ("monthly_report", "月度报送"),
    ("closure", "关闭退出案件"),
    ("closure_task", "关闭退出任务"),
];

async fn audit_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewAudit).page(&s)?;
    let q = web::Query::<AuditQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let st = state.clone();
    let query = q.clone();
    let (rows, next, names, titles) = blocking(move || {
        st.db.read(|conn| {
            let (rows, next) = audit::list(conn, &query)?;
            let names = (st.directory.names)(conn)?;
            let mut titles = HashMap::new();
            for kind in ["mine", "lead", "user"] {
                let ids: Vec<String> = rows
                    .iter()
                    .filter(|e| e.entity_type == kind)
                    .map(|e| e.entity_id.clone())
                    .collect();
                if !ids.is_empty() {
                    for (id, t) in (st.directory.titles)(conn, kind, &ids)? {
                        titles.insert((kind, id), t);
                    }
                }
            }
            Ok((rows, next, names, titles))
        })
    })
    .await
    .page(&s)?;
    let entity_label = |t: &str| {
        ENTITY_TYPES
            .iter()
            .find(|e| e.0 == t)
            .map(|e| e.1)
            .unwrap_or("其他")
            .to_owned()
    };
    let table_rows = rows
        .iter()
        .map(|e| {
            let kind = ENTITY_TYPES
                .iter()
                .find(|k| k.0 == e.entity_type)
                .map(|k| k.0);
            let title = kind.and_then(|k| titles.get(&(k, e.entity_id.clone())));
            let record = match (e.entity_type.as_str(), title) {
                ("mine", Some(t)) => link(t, format!("/mines/{}", e.entity_id)),
                ("lead", Some(t)) => link(t, format!("/leads/{}", e.entity_id)),
                ("user", Some(t)) => link(t, format!("/users/{}", e.entity_id)),
                ("lead_category", _) => cell(value_words(&e.entity_id, &names)),
                ("closure_task", _) => cell(
                    names
                        .get(&format!("ct:{}", e.entity_id))
                        .cloned()
                        .unwrap_or_else(|| "（关闭退出任务）".into()),
                ),
                ("permit_type", _) => cell(
                    names
                        .get(&format!("pt:{}", e.entity_id))
                        .cloned()
                        .unwrap_or_else(|| "（证照类型）".into()),
                ),
                (_, _) => cell(names.get(&e.entity_id).cloned().unwrap_or_else(|| {
                    let short: String = e.entity_id.chars().take(8).collect();
                    format!("编号 {short}…")
                })),
            };
            let after = e
                .after_json
                .as_deref()
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .map(|v| describe(&v, &names))
                .unwrap_or_default();
            vec![
                cell(e.seq.map_or_else(|| "待封存".to_owned(), |s| s.to_string())),
                cell(local_time(e.occurred_at)),
                cell(&e.actor_name),
                cell(entity_label(&e.entity_type)),
                record,
                cell(action_words(&e.action)),
                Cell {
                    text: after,
                    href: None,
                    class: "small".into(),
                },
            ]
        })
        .collect();
    let mut entity_opts = vec![(String::new(), "全部".to_owned())];
    entity_opts.extend(
        ENTITY_TYPES
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string())),
    );
    let filters = vec![
        Field::new(
            "entity",
            "对象类型",
            "select",
            q.entity.clone().unwrap_or_default(),
        )
        .options(entity_opts),
        Field::new(
            "entity_id",
            "对象编号",
            "text",
            q.entity_id.clone().unwrap_or_default(),
        ),
    ];
    let next_href = next.map(|c| {
        format!(
            "/audit?{}",
            serde_urlencoded::to_string([
                ("entity", q.entity.clone().unwrap_or_default()),
                ("entity_id", q.entity_id.clone().unwrap_or_default()),
                ("cursor", c)
            ])
            .unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "操作记录", "/audit").await,
        heading: "操作记录".into(),
        intro: Some(
            "所有变更按顺序写入哈希链，任何删改都能被校验发现（运维人员可在服务器上运行校验命令）。".into(),
        ),
        new_link: None,
        filters,
        filter_action: "/audit".into(),
        result: None,
        headers: vec![
            "序号",
            "时间",
            "操作人",
            "对象",
            "记录",
            "操作",
            "变更后内容",
        ],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的记录。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

/// An action of the audit trail in words.
fn action_words(action: &str) -> String {
    let known = action_label(action);
    if known != action {
        return known.to_owned();
    }
    let words = match action {
        "raise" => "吹哨",
        "assign" => "指派",
        "attach" => "添加附件",
        "boundary" => "登记矿区范围",
        "comment" => "填写办理意见",
        "dispatch" => "协调办分办",
        "escalate" => "提请会商",
        "consultation_declined" => "不予会商",
        "decline" => "不予会商",
        "evaluate" => "街镇评价",
        "merge" => "合并重复线索",
        "overdue" => "逾期督办",
        "reopen" => "重新打开",
        "retry" => "重新发送",
        "transfer" => "转办",
        "transfer_accept" => "接收转办",
        "transfer_dispute" => "对转办提出异议",
        "transfer_decided" => "协调办裁定转办",
        "acknowledge" => "报到",
        "start_verifying" => "开始核查",
        "verify" => "核查",
        "enforce" => "查处",
        "close" => "办结",
        "attend" => "会商报到",
        "remind" => "提醒报到",
        "minutes" => "起草会议纪要",
        "approve_minutes" => "审定印发会议纪要",
        "supplement" => "追加补充纪要",
        "progress" => "报送进展（对账）",
        "evidence" => "补充佐证材料",
        "accept" => "查账认可",
        "return" => "退回进展",
        "extend" => "调整完成时限",
        "open" => "确认转办",
        "explain" => "附情况说明报送",
        "approve" => "审核同意（签发）",
        _ => "其他操作",
    };
    words.to_owned()
}

/// A field of a record in words.
fn field_words(key: &str) -> &'static str {
    match key {
        "name" => "名称",
        "title" => "标题",
        "number" => "编号",
        "description" => "描述",
        "note" => "说明",
        "reason" => "理由",
        "comment" => "评价意见",
        "verdict" => "评价",
        "username" => "用户名",
        "display_name" => "姓名",
        "email" => "邮箱",
        "role" => "角色",
        "department" => "部门",
        "township" => "街镇",
        "mine_id" => "矿山",
        "active" => "在用",
        "must_change_password" => "登录后须修改密码",
        "certificate_number" => "执法证号",
        "enterprise_name" => "企业名称",
        "credit_code" => "统一社会信用代码",
        "mine_type" => "矿山类型",
        "mineral" => "开采矿种",
        "mining_method" => "开采方式",
        "status" => "状态",
        "state" => "状态",
        "supervisor_department" => "日常安全监管部门",
        "risk_grade" => "安全风险等级",
        "last_inspected_on" => "最近检查日期",
        "address" => "地址",
        "contact_name" => "联系人",
        "contact_phone" => "联系电话",
        "licence_number" => "采矿许可证号",
        "tailings_capacity_10k_m3" => "全库容（万立方米）",
        "tailings_dam_height_m" => "坝高（米）",
        "tailings_grade" => "尾矿库等别",
        "tailings_safety" => "尾矿库安全度",
        "tailings_evaluated_on" => "安全现状评价日期",
        "tailings_overhead" => "头顶库",
        "permit_type" => "证照类型",
        "holder" => "持证人",
        "issued_on" => "发证日期",
        "expires_on" => "有效期至",
        "issuing_department" => "发证部门",
        "category" => "类别",
        "urgency" => "紧急程度",
        "primary_department" | "primary" => "主办部门",
        "assisting_departments" | "assisting" => "协办部门",
        "to" => "转给",
        "into" => "合并到",
        "assignee" => "承办人",
        "substantiated" => "核查结论",
        "duties" => "职责",
        "sort_order" => "排序",
        "basis" => "依据",
        "mining_related" => "涉矿",
        "expiry_warning_days" => "到期提醒天数",
        "notes" => "备注",
        "area_m2" => "面积（平方米）",
        "rings" => "范围坐标",
        "elevation_top_m" => "开采标高上限（米）",
        "elevation_bottom_m" => "开采标高下限（米）",
        "locked_until" => "锁定至",
        "files" => "附件",
        "recipient" => "收件人",
        "subject" => "主题",
        "attempts" => "发送次数",
        "stage" => "环节",
        "due_at" => "时限",
        "kind" => "类型",
        "topic" => "议题",
        "starts_at" => "开始时间",
        "ends_at" => "结束时间",
        "place" => "地点",
        "online_url" => "线上会议链接",
        "departments" => "邀请成员单位",
        "townships" => "邀请街镇",
        "users" => "邀请人员",
        "requests" => "会商申请",
        "sequence" => "通知次序",
        "unit" => "单位",
        "answer" => "报到",
        "attendee_name" => "参会人员",
        "leads" => "问题线索",
        "mines" => "矿山",
        "hazards" => "隐患",
        "attendees" => "出席人员",
        "discussion" => "讨论情况",
        "agenda_notes" => "议程讨论情况",
        "decisions" => "议定事项",
        "text" => "内容",
        "responsible_unit" => "主责单位",
        "cooperating_units" => "配合单位",
        "due_on" => "完成时限",
        "percent" => "完成比例",
        "done" => "办结",
        "minutes" => "会议纪要",
        "position" => "序号",
        "opened_type" => "转办类型",
        "lead_number" => "线索编号",
        "escalated_at" => "督办时间",
        "month" => "月份",
        "items" => "报送事项",
        "explanation" => "情况说明",
        "late" => "逾期报送",
        _ => "其他",
    }
}

/// A stored code in words: units and categories by their names, states and kinds by their
/// labels; anything else as it is.
fn value_words(v: &str, names: &HashMap<String, String>) -> String {
    use crate::leads::rules::{LeadState, Stage, Urgency};
    use crate::platform::rules::role::Role;
    use crate::register::rules::mine::{MineStatus, MineType, MiningMethod, TailingsSafety};
    use crate::register::rules::risk_grade::RiskGrade;
    if let Some(n) = names
        .get(v)
        .or_else(|| names.get(&format!("cat:{v}")))
        .or_else(|| names.get(&format!("pt:{v}")))
        .or_else(|| names.get(&format!("ct:{v}")))
    {
        return n.clone();
    }
    let label = LeadState::parse(v)
        .map(|s| s.label())
        .or_else(|| Urgency::parse(v).map(|s| s.label()))
        .or_else(|| Stage::parse(v).map(|s| s.label()))
        .or_else(|| MineStatus::parse(v).map(|s| s.label()))
        .or_else(|| MineType::parse(v).map(|s| s.label()))
        .or_else(|| MiningMethod::parse(v).map(|s| s.label()))
        .or_else(|| TailingsSafety::parse(v).map(|s| s.label()))
        .or_else(|| Role::parse(v).map(|r| r.label()))
        .or_else(|| crate::consultations::rules::Answer::parse(v).map(|a| a.label()))
        .or_else(|| crate::consultations::rules::MeetingState::parse(v).map(|a| a.label()))
        .or_else(|| crate::consultations::rules::MinutesState::parse(v).map(|a| a.label()))
        .or_else(|| crate::consultations::rules::DecisionState::parse(v).map(|a| a.label()))
        .or_else(|| crate::consultations::rules::DecisionKind::parse(v).map(|a| a.label()))
        .or_else(|| crate::consultations::rules::ReportState::parse(v).map(|a| a.label()))
        .or_else(|| crate::closures::rules::ClosureKind::parse(v).map(|a| a.label()))
        .or_else(|| crate::closures::rules::CaseState::parse(v).map(|a| a.label()))
        .or_else(|| crate::closures::rules::TaskState::parse(v).map(|a| a.label()))
        .or_else(|| crate::closures::rules::Basis::parse(v).map(|a| a.label()))
        .or_else(|| crate::closures::rules::PatrolOutcome::parse(v).map(|a| a.label()));
    if let Some(l) = label {
        return l.to_owned();
    }
    if let Some(g) = RiskGrade::parse(v) {
        return g.display();
    }
    match v {
        "satisfied" => "满意".into(),
        "basically_satisfied" => "基本满意".into(),
        "dissatisfied" => "不满意".into(),
        _ if v.contains('_') && v.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
            "（代码）".into()
        }
        _ => v.to_owned(),
    }
}

/// A record as the audit trail keeps it, in words: "名称：青山砂石矿；状态：生产".
fn describe(v: &serde_json::Value, names: &HashMap<String, String>) -> String {
    use serde_json::Value;
    let one = |v: &Value| -> String {
        match v {
            Value::Null => "空".into(),
            Value::Bool(true) => "是".into(),
            Value::Bool(false) => "否".into(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => {
                let words = value_words(s, names);
                if words.chars().count() > 80 {
                    words.chars().take(80).collect::<String>() + "…"
                } else {
                    words
                }
            }
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => value_words(s, names),
                    Value::Object(_) | Value::Array(_) => "…".into(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("、"),
            Value::Object(_) => "…".into(),
        }
    };
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("rings", _) => "范围坐标：（见矿山页面）".to_owned(),
                (_, Value::Object(inner)) => format!(
                    "{}：{}",
                    field_words(k),
                    describe(&Value::Object(inner.clone()), names)
                ),
                _ => format!("{}：{}", field_words(k), one(v)),
            })
            .collect::<Vec<_>>()
            .join("；"),
        other => one(other),
    }
}
