//! The record of mail taken in (收件记录) for the coordination office and admins: every
//! message from a known sender, what became of it (lead raised, comment added, refused and
//! why), the text as read, and the message as it arrived.

use crate::web::kit::signed_in;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::intake::{self, InboundMessage, InboundQuery};
use crate::platform::authz::{self, Action};
use crate::platform::clock::local_time;
use crate::platform::error::AppError;
use crate::web::extract::PageSession;
use crate::web::kit::{
    badge, cell, link, page_ctx, render, Cell, Field, FormPage, PageResult, TablePage, WithSession,
};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/intake", web::get().to(list))
        .route("/intake/export.xlsx", web::get().to(export))
        .route("/intake/{id}", web::get().to(detail))
        .route("/intake/{id}/raw", web::get().to(raw));
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "received" => "待处理",
        "processed" => "已受理",
        "refused" => "未受理",
        _ => "未知",
    }
}

fn outcome_label(m: &InboundMessage) -> &'static str {
    match (m.status.as_str(), m.outcome.as_deref()) {
        ("processed", Some("raised")) => "登记为新线索",
        ("processed", Some("commented")) => "记入线索办理意见",
        ("processed", Some("attendance")) => "会商报到",
        _ => "",
    }
}

fn status_cell(status: &str) -> Cell {
    let class = match status {
        "refused" => "grade-major",
        "received" => "grade-significant",
        _ => "badge-on",
    };
    badge(status_label(status), class)
}

fn query_of(req: &HttpRequest) -> Result<InboundQuery, AppError> {
    web::Query::<InboundQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
}

async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewIntake).page(&s)?;
    let q = query_of(&req).page(&s)?;
    let (st, query) = (state.clone(), q.clone());
    let (rows, next) = blocking(move || st.db.read(|conn| intake::list(conn, &query)))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|m| {
            vec![
                status_cell(&m.status),
                cell(local_time(m.received_at)),
                cell(&m.sender),
                link(
                    if m.subject.is_empty() {
                        "（无主题）"
                    } else {
                        &m.subject
                    },
                    format!("/intake/{}", m.id),
                ),
                match (&m.lead_id, &m.consultation_id) {
                    (Some(l), _) => link(outcome_label(m), format!("/leads/{l}")),
                    (None, Some(c)) => link(outcome_label(m), format!("/consultations/{c}")),
                    (None, None) => cell(m.reason.clone().unwrap_or_default()),
                },
            ]
        })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/intake?{}",
            serde_urlencoded::to_string(InboundQuery {
                cursor: Some(c),
                ..q.clone()
            })
            .unwrap_or_default()
        )
    });
    let settings = &state.settings.intake;
    let intro = if settings.enabled() {
        format!(
            "发往 {} 的邮件（@{} 的任一地址均可）。只受理在平台登记了邮箱的街镇和部门工作人员的来信：主题写“[类别] 矿山名称 问题摘要”登记为新线索，回复通知邮件记入该线索的办理意见。{}陌生发件人、格式错误或超过大小限制的邮件直接拒收，不在此列出。",
            settings.address(),
            settings.domain,
            if settings.require_authenticated_sender {
                "每封邮件都要证明确由发件人发出：回复须发往通知邮件各自的回复地址，新线索须通过发件域名签名（DKIM）或可信邮件服务器的认证。"
            } else {
                "注意：发件人认证已关闭（intake.require_authenticated_sender = false），平台只凭发件地址认人，登记的邮箱可能被冒用。"
            }
        )
    } else {
        "邮件收件未开启（需配置 intake.smtp_addr 或 intake.token 以及 intake.domain）。".into()
    };
    let ctx = page_ctx(&state, &s, &req, "收件记录", "/intake").await;
    let mut options = vec![(String::new(), "全部".to_owned())];
    options.extend(
        ["processed", "refused", "received"]
            .into_iter()
            .map(|k| (k.to_owned(), status_label(k).to_owned())),
    );
    let export = serde_urlencoded::to_string(InboundQuery {
        cursor: None,
        limit: None,
        ..q.clone()
    })
    .unwrap_or_default();
    let page = TablePage {
        ctx,
        heading: "邮件收件记录".into(),
        intro: Some(intro),
        new_link: None,
        filters: vec![
            Field::new(
                "status",
                "处理结果",
                "select",
                q.status.clone().unwrap_or_default(),
            )
            .options(options),
            Field::new(
                "sender",
                "发件地址",
                "text",
                q.sender.clone().unwrap_or_default(),
            ),
        ],
        filter_action: "/intake".into(),
        result: None,
        headers: vec![
            "处理结果",
            "收到时间",
            "发件地址",
            "主题",
            "线索 / 未受理原因",
        ],
        rows: table_rows,
        next_href,
        empty_text: "还没有收到邮件。",
        total: None,
        charts: Vec::new(),
        export_href: Some(format!("/intake/export.xlsx?{export}")),
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewIntake).page(&s)?;
    let (st, id) = (state.clone(), id.into_inner());
    let (m, raw) = blocking(move || {
        st.db
            .read(|conn| Ok((intake::find(conn, &id)?, intake::raw(conn, &id)?)))
    })
    .await
    .page(&s)?;
    // The text and files as the intake read them.
    let (text, files) = match intake::parse::parse(&raw) {
        Ok(p) => (
            p.text,
            p.attachments
                .iter()
                .map(|a| {
                    format!(
                        "{}（{}，{} KB）",
                        a.file_name,
                        a.content_type,
                        a.bytes.len().div_ceil(1024)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Err(u) => (u.reason().to_owned(), String::new()),
    };
    let t = |v: Option<chrono::NaiveDateTime>| v.map(local_time).unwrap_or_default();
    let fields = vec![
        Field::new("status", "处理结果", "text", status_label(&m.status)),
        Field::new("outcome", "结果", "text", outcome_label(&m)),
        Field::new(
            "reason",
            "未受理原因",
            "text",
            m.reason.clone().unwrap_or_default(),
        ),
        Field::new("notes", "处理说明", "textarea", &m.notes),
        Field::new("sender", "发件地址", "text", &m.sender),
        Field::new("origin", "发件人认证", "text", origin_label(&m.origin)),
        Field::new(
            "mail_from",
            "信封发件人",
            "text",
            m.mail_from.clone().unwrap_or_default(),
        ),
        Field::new(
            "channel",
            "收件方式",
            "text",
            match m.channel.as_str() {
                "smtp" => "SMTP 收件服务",
                "pipe" => "邮件服务器转交（命令行）",
                _ => "邮件服务器转交（HTTP）",
            },
        ),
        Field::new(
            "message_id",
            "Message-ID",
            "text",
            m.message_id.clone().unwrap_or_default(),
        ),
        Field::new("received_at", "收到时间", "text", local_time(m.received_at)),
        Field::new("processed_at", "处理时间", "text", t(m.processed_at)),
        Field::new(
            "size",
            "大小",
            "text",
            format!("{} KB", (m.size_bytes as usize).div_ceil(1024)),
        ),
        Field::new("subject", "主题", "text", &m.subject),
        Field::new("text", "正文", "textarea", text),
        Field::new("files", "附件", "textarea", files),
    ];
    let mut links = vec![
        (
            format!("/intake/{}/raw", m.id),
            "下载原始邮件（.eml）".into(),
        ),
        ("/intake".into(), "返回收件记录".into()),
    ];
    if let Some(l) = &m.lead_id {
        links.insert(0, (format!("/leads/{l}"), "查看线索".into()));
    }
    if let Some(c) = &m.consultation_id {
        links.insert(0, (format!("/consultations/{c}"), "查看会商".into()));
    }
    let ctx = page_ctx(&state, &s, &req, "收到的邮件", "/intake").await;
    let page = FormPage {
        ctx,
        heading: format!("收到的邮件：{}", m.subject),
        intro: None,
        errors: Vec::new(),
        editable: false,
        action: String::new(),
        fields,
        submit_label: "",
        back_href: Some("/intake".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links,
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render(&page))
}

async fn raw(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewIntake).page(&s)?;
    let id = id.into_inner();
    let name = id.clone();
    let bytes = blocking(move || state.db.read(|conn| intake::raw(conn, &id)))
        .await
        .page(&s)?;
    Ok(crate::intake::api::eml_response(&name, bytes))
}

/// The filtered record as a spreadsheet (every page of it).
async fn export(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewIntake).page(&s)?;
    let q = query_of(&req).page(&s)?;
    let bytes = blocking(move || {
        let mut rows = Vec::new();
        let mut query = InboundQuery {
            limit: Some(crate::platform::pagination::MAX_LIMIT),
            cursor: None,
            ..q
        };
        loop {
            let (page, next) = state.db.read(|conn| intake::list(conn, &query))?;
            rows.extend(page.into_iter().map(|m| {
                use crate::platform::xlsx::Value::Text;
                vec![
                    Text(local_time(m.received_at)),
                    Text(status_label(&m.status).into()),
                    Text(outcome_label(&m).into()),
                    Text(m.sender.clone()),
                    Text(m.subject.clone()),
                    Text(m.reason.clone().unwrap_or_default()),
                    Text(m.notes.replace('\n', "；")),
                    Text(m.message_id.clone().unwrap_or_default()),
                    Text(m.lead_id.clone().unwrap_or_default()),
                ]
            }));
            match next {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        crate::platform::xlsx::workbook(crate::platform::xlsx::Sheet {
            name: "收件记录",
            headers: vec![
                ("收到时间", 18.0),
                ("处理结果", 10.0),
                ("结果", 16.0),
                ("发件地址", 28.0),
                ("主题", 40.0),
                ("未受理原因", 40.0),
                ("处理说明", 40.0),
                ("Message-ID", 30.0),
                ("线索 ID", 38.0),
            ],
            rows,
        })
    })
    .await
    .page(&s)?;
    Ok(HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            crate::platform::xlsx::attachment("intake.xlsx", "邮件收件记录.xlsx"),
        ))
        .body(bytes))
}

/// How the sender was proved, in words.
fn origin_label(origin: &str) -> String {
    match origin.split(':').collect::<Vec<_>>().as_slice() {
        ["reply_address"] => "回复通知邮件的专属回复地址".into(),
        ["dkim", domain] => format!("发件域名 {domain} 的 DKIM 签名"),
        ["relay", id, method] => format!("可信邮件服务器 {id} 的认证（{method}）"),
        _ => "未认证（发件人认证关闭时收下）".into(),
    }
}
