//! The inbox page (通知): unread first, open a notice to go to its item.

use crate::web::kit::signed_in;
use actix_web::{web, HttpRequest};
use serde::Deserialize;

use crate::notify::{self, InboxQuery};
use crate::platform::clock::local_time;
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession};
use crate::web::kit::{link, page_ctx, redirect, render, Cell, PageResult, TablePage, WithSession};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(inbox))
        .route("/notifications/read-all", web::post().to(read_all))
        .route("/notifications/{id}/open", web::get().to(open));
}

async fn inbox(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<InboxQuery>::from_query(&crate::web::kit::query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, uid, query) = (state.clone(), s.principal.id.clone(), q.clone());
    let (rows, next) = blocking(move || st.db.read(|conn| notify::inbox(conn, &uid, &query)))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|n| {
            let unread = n.read_at.is_none();
            vec![
                Cell {
                    text: if unread { "未读" } else { "已读" }.into(),
                    href: None,
                    class: if unread { "grade-significant" } else { "muted" }.into(),
                },
                cell_time(n.created_at),
                link(&n.title, format!("/notifications/{}/open", n.id)),
                Cell {
                    text: n.body.clone(),
                    href: None,
                    class: "small".into(),
                },
            ]
        })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/notifications?{}",
            serde_urlencoded::to_string(InboxQuery {
                cursor: Some(c),
                ..q.clone()
            })
            .unwrap_or_default()
        )
    });
    let ctx = page_ctx(&state, &s, &req, "通知", "/notifications").await;
    let intro = format!(
        "未读 {} 条。证照登记变更、风险等级和监管部门调整等事项会通知相关部门（相互通报）。",
        ctx.unread
    );
    let unread = ctx.unread;
    let page = TablePage {
        ctx,
        heading: "通知".into(),
        intro: Some(intro),
        new_link: None,
        filters: vec![crate::web::kit::Field::new(
            "unread",
            "范围",
            "select",
            q.unread.clone().unwrap_or_default(),
        )
        .options(vec![
            (String::new(), "全部".into()),
            ("true".into(), "只看未读".into()),
        ])],
        filter_action: "/notifications".into(),
        result: None,
        headers: vec!["状态", "时间", "事项", "内容"],
        rows: table_rows,
        next_href,
        empty_text: "没有通知。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: if unread > 0 {
            vec![("/notifications/read-all".into(), "全部标为已读".into())]
        } else {
            Vec::new()
        },
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

fn cell_time(t: chrono::NaiveDateTime) -> Cell {
    Cell {
        text: local_time(t),
        href: None,
        class: String::new(),
    }
}

/// Opens a notice: marks it read and goes to its item.
async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (st, uid, nid, now) = (
        state.clone(),
        s.principal.id.clone(),
        id.into_inner(),
        state.clock.now_naive(),
    );
    let target = blocking(move || {
        st.db
            .transaction(|conn| notify::open(conn, &uid, &nid, now))
    })
    .await
    .page(&s)?;
    // Only same-site paths are followed.
    let target = if target.starts_with('/') && !target.starts_with("//") {
        target
    } else {
        "/notifications".into()
    };
    Ok(redirect(&target))
}

#[derive(Deserialize)]
struct Empty {}

async fn read_all(state: web::Data<AppState>, form: PageForm<Empty>) -> PageResult {
    let s = form.session;
    let (st, uid, now) = (
        state.clone(),
        s.principal.id.clone(),
        state.clock.now_naive(),
    );
    blocking(move || {
        st.db
            .transaction(|conn| notify::mark_read(conn, &uid, None, now))
    })
    .await
    .page(&s)?;
    Ok(redirect("/notifications?ok=read_all"))
}
