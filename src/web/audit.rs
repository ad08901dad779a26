//! The audit trail for people: the JSON list and the page (admins and the coordination
//! office).

use crate::web::kit::signed_in;

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
    pub seq: i64,
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        let parse = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
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

const ENTITY_TYPES: [(&str, &str); 7] = [
    ("mine", "矿山"),
    ("permit", "证照"),
    ("user", "用户"),
    ("department", "成员单位"),
    ("township", "街镇"),
    ("lead_category", "线索类别"),
    ("permit_type", "证照类型"),
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
    let (rows, next) = blocking(move || st.db.read(|conn| audit::list(conn, &query)))
        .await
        .page(&s)?;
    let entity_label = |t: &str| {
        ENTITY_TYPES
            .iter()
            .find(|e| e.0 == t)
            .map(|e| e.1)
            .unwrap_or(t)
            .to_owned()
    };
    let table_rows = rows
        .iter()
        .map(|e| {
            vec![
                cell(e.seq.to_string()),
                cell(local_time(e.occurred_at)),
                cell(&e.actor_name),
                cell(entity_label(&e.entity_type)),
                cell(&e.entity_id),
                cell(action_label(&e.action)),
                Cell {
                    text: e.after_json.clone().unwrap_or_default(),
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
            "所有变更按顺序写入哈希链，任何删改都能被 `minecoord audit verify` 发现。".into(),
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
            "编号",
            "操作",
            "变更后内容",
        ],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的记录。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}
