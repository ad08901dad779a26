//! The outbox pages for admins (发件箱: what was sent, what waits, what failed; retry or
//! cancel), and each user's email choices on the account page.

use crate::web::kit::signed_in;
use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpRequest};

use crate::notify::outbox::{self, OutboxMessage, OutboxQuery};
use crate::platform::authz::{self, Action};
use crate::platform::clock::local_time;
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession};
use crate::web::kit::{
    badge, cell, link, page_ctx, redirect, render, ActionButton, Cell, Field, FormPage, PageResult,
    TablePage, WithSession,
};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/outbox", web::get().to(list))
        .route("/outbox/{id}", web::get().to(detail))
        .route("/outbox/{id}/retry", web::post().to(retry))
        .route("/outbox/{id}/cancel", web::post().to(cancel))
        .route("/account/notifications", web::post().to(save_preferences));
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待发送",
        "sent" => "已发送",
        "dead" => "发送失败（已停止重试）",
        "cancelled" => "已取消",
        _ => "未知",
    }
}

fn status_cell(status: &str) -> Cell {
    let class = match status {
        "dead" => "grade-major",
        "pending" => "grade-significant",
        "sent" => "badge-on",
        _ => "muted",
    };
    badge(status_label(status), class)
}

async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ManageOutbox).page(&s)?;
    let q = web::Query::<OutboxQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, query) = (state.clone(), q.clone());
    let (rows, next, counts) = blocking(move || {
        st.db.read(|conn| {
            let (rows, next) = outbox::list(conn, &query)?;
            Ok((rows, next, outbox::counts(conn)?))
        })
    })
    .await
    .page(&s)?;
    let counts: HashMap<String, i64> = counts.into_iter().collect();
    let table_rows = rows
        .iter()
        .map(|m| {
            vec![
                status_cell(&m.status),
                cell(local_time(m.created_at)),
                cell(&m.recipient),
                link(&m.subject, format!("/outbox/{}", m.id)),
                cell(m.attempts.to_string()),
                cell(m.last_error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/outbox?{}",
            serde_urlencoded::to_string(OutboxQuery {
                cursor: Some(c),
                ..q.clone()
            })
            .unwrap_or_default()
        )
    });
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut intro = format!(
        "待发送 {} 封，已发送 {} 封，发送失败 {} 封，已取消 {} 封。发送失败的邮件按 1、2、4……分钟的间隔自动重试，多次失败后停止重试，可在邮件详情中重新发送或取消。",
        n("pending"),
        n("sent"),
        n("dead"),
        n("cancelled")
    );
    if !state.mailer.configured() {
        intro.push_str(
            "　注意：尚未配置邮件服务器（smtp.url），邮件暂存在发件箱中，配置后自动发送。",
        );
    }
    let ctx = page_ctx(&state, &s, &req, "发件箱", "/outbox").await;
    let mut options = vec![(String::new(), "全部".to_owned())];
    options.extend(
        ["pending", "dead", "sent", "cancelled"]
            .into_iter()
            .map(|k| (k.to_owned(), status_label(k).to_owned())),
    );
    let page = TablePage {
        ctx,
        heading: "发件箱".into(),
        intro: Some(intro),
        new_link: None,
        filters: vec![Field::new(
            "status",
            "状态",
            "select",
            q.status.clone().unwrap_or_default(),
        )
        .options(options)],
        filter_action: "/outbox".into(),
        result: None,
        headers: vec!["状态", "生成时间", "收件人", "主题", "尝试次数", "最近错误"],
        rows: table_rows,
        next_href,
        empty_text: "发件箱中没有邮件。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

fn message_fields(m: &OutboxMessage) -> Vec<Field> {
    let t = |v: Option<chrono::NaiveDateTime>| v.map(local_time).unwrap_or_default();
    vec![
        Field::new("status", "状态", "text", status_label(&m.status)),
        Field::new("recipient", "收件人", "text", &m.recipient),
        Field::new("subject", "主题", "text", &m.subject),
        Field::new("message_id", "Message-ID", "text", &m.message_id),
        Field::new("created_at", "生成时间", "text", local_time(m.created_at)),
        Field::new("attempts", "已尝试次数", "text", m.attempts.to_string()),
        Field::new(
            "next_attempt_at",
            "下次尝试",
            "text",
            if m.status == "pending" {
                local_time(m.next_attempt_at)
            } else {
                String::new()
            },
        ),
        Field::new("sent_at", "发送时间", "text", t(m.sent_at)),
        Field::new(
            "last_error",
            "最近错误",
            "text",
            m.last_error.clone().unwrap_or_default(),
        ),
        Field::new("body_text", "正文", "textarea", &m.body_text),
    ]
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ManageOutbox).page(&s)?;
    let (st, id) = (state.clone(), id.into_inner());
    let m = blocking(move || st.db.read(|conn| outbox::find(conn, &id)))
        .await
        .page(&s)?;
    let mut actions = Vec::new();
    if m.status != "sent" {
        actions.push(ActionButton {
            href: format!("/outbox/{}/retry", m.id),
            label: "重新发送",
            confirm: String::new(),
            style: "primary",
            fields: Vec::new(),
        });
    }
    if m.status == "pending" || m.status == "dead" {
        actions.push(ActionButton {
            href: format!("/outbox/{}/cancel", m.id),
            label: "取消发送",
            confirm: "确定不再发送这封邮件吗？".into(),
            style: "danger",
            fields: Vec::new(),
        });
    }
    let mut ctx = page_ctx(&state, &s, &req, "邮件详情", "/outbox").await;
    if ctx.flash.is_none() {
        ctx.flash = match req.query_string() {
            "ok=retry" => Some("已安排重新发送。".into()),
            "ok=cancel" => Some("已取消发送。".into()),
            _ => None,
        };
    }
    let page = FormPage {
        ctx,
        heading: format!("邮件：{}", m.subject),
        intro: None,
        errors: Vec::new(),
        editable: false,
        action: String::new(),
        fields: message_fields(&m),
        submit_label: "",
        back_href: Some("/outbox".into()),
        actions,
        history: Vec::new(),
        links: vec![("/outbox".into(), "返回发件箱".into())],
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render(&page))
}

#[derive(serde::Deserialize)]
struct Empty {}

async fn retry(
    state: web::Data<AppState>,
    form: PageForm<Empty>,
    id: web::Path<String>,
) -> PageResult {
    act(state, form.session, id.into_inner(), "retry").await
}

async fn cancel(
    state: web::Data<AppState>,
    form: PageForm<Empty>,
    id: web::Path<String>,
) -> PageResult {
    act(state, form.session, id.into_inner(), "cancel").await
}

async fn act(
    state: web::Data<AppState>,
    s: crate::web::extract::Session,
    id: String,
    what: &'static str,
) -> PageResult {
    authz::require(&s.principal, Action::ManageOutbox).page(&s)?;
    let (st, actor, mid, now) = (
        state.clone(),
        s.principal.actor(),
        id.clone(),
        state.clock.now_naive(),
    );
    blocking(move || {
        st.db.transaction(|conn| match what {
            "retry" => outbox::retry(conn, &actor, &mid, now),
            _ => outbox::cancel(conn, &actor, &mid, now),
        })
    })
    .await
    .page(&s)?;
    Ok(redirect(&format!("/outbox/{id}?ok={what}")))
}

/// The email choices as an action panel of the account page.
pub(crate) async fn preferences_panel(
    state: &web::Data<AppState>,
    user_id: &str,
) -> Result<ActionButton, AppError> {
    let (st, uid) = (state.clone(), user_id.to_owned());
    let prefs = blocking(move || st.db.read(|conn| crate::mailbox::api::load(conn, &uid))).await?;
    let mut fields: Vec<Field> = prefs
        .items
        .iter()
        .map(|p| {
            Field::new(
                p.kind,
                p.label,
                "checkbox",
                if p.email { "true" } else { "" },
            )
            .in_form("mail")
        })
        .collect();
    if let Some(first) = fields.first_mut() {
        first.help = match &prefs.address {
            Some(a) => format!("勾选的通知同时发送到 {a}；所有通知都会出现在“通知”中。"),
            None => "您的账号没有登记邮件地址，通知只出现在“通知”中。如需邮件提醒，请联系管理员登记邮件地址。".into(),
        };
    }
    Ok(ActionButton {
        href: "/account/notifications".into(),
        label: "邮件通知设置",
        confirm: String::new(),
        style: "secondary",
        fields,
    })
}

async fn save_preferences(
    state: web::Data<AppState>,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let choices: BTreeMap<String, bool> = crate::notify::NoticeKind::ALL
        .iter()
        .filter(|k| k.choosable())
        .map(|k| {
            (
                k.code().to_owned(),
                form.form.get(k.code()).is_some_and(|v| v == "true"),
            )
        })
        .collect();
    crate::mailbox::api::save(&state, &s.principal, choices)
        .await
        .page(&s)?;
    Ok(redirect("/account?ok=saved"))
}
