//! The watch on closed mines in the browser: the list with each mine's last check, and
//! the patrol from a phone (a suspected restart raises a lead).

use actix_web::{web, HttpRequest};

use super::case::path_of;
use crate::closures::watch::{self, PatrolInput, WatchQuery};
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::{PageSession, PageUpload, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/closed-mines", web::get().to(watch_page))
        .route("/closed-mines/{mine_id}/patrol", web::get().to(patrol_form))
        .route("/closed-mines/{mine_id}/patrol", web::post().to(patrol))
        .route("/patrols/{id}/photo", web::get().to(patrol_photo));
}

/// 已关闭矿山复产巡查: every closed mine with its last check, those due first by filter.
async fn watch_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let raw = query_without_flash(&req);
    let q = web::Query::<WatchQuery>::from_query(&raw)
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let due = q.due.unwrap_or(false);
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let months = state.settings.closures.check_months;
    let may_patrol = crate::platform::authz::allowed(
        &s.principal,
        crate::platform::authz::Action::PatrolClosedMines,
    );
    let page_rows = blocking(move || st.db.read(|c| watch::list(c, &who, now, &q, months)))
        .await
        .page(&s)?;
    let rows = page_rows
        .items
        .iter()
        .map(|w| {
            vec![
                link(&w.mine_name, format!("/mines/{}", w.mine_id)),
                cell(&w.township),
                link(w.closed_on.to_string(), format!("/closures/{}", w.case_id)),
                cell(match (&w.last_patrol_on, &w.last_patrol_outcome) {
                    (Some(d), Some(o)) => format!(
                        "{d} {}",
                        crate::closures::rules::PatrolOutcome::parse(o)
                            .map(|o| o.label())
                            .unwrap_or("")
                    ),
                    _ => "未巡查".into(),
                }),
                cell(
                    w.last_inspected_on
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell {
                    text: if w.due {
                        "应巡查".into()
                    } else {
                        "正常".into()
                    },
                    href: None,
                    class: if w.due { "badge-off" } else { "badge-on" }.into(),
                },
                if may_patrol {
                    link("记录巡查", format!("/closed-mines/{}/patrol", w.mine_id))
                } else {
                    cell("")
                },
            ]
        })
        .collect();
    let next_href = page_rows
        .next_cursor
        .map(|c| format!("/closed-mines?due={due}&cursor={}", url_escape(&c)));
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "已关闭矿山复产巡查", "/closures").await,
        heading: "已关闭矿山复产巡查".into(),
        intro: Some(format!(
            "验收关闭的矿山和取缔的非法开采点纳入复产监管；{} 个月内没有巡查或检查的列为“应巡查”。新线索位于原矿区范围内或涉及已关闭矿山时，立即提示区自然资源分局和区协调办。",
            page_rows.check_months
        )),
        new_link: None,
        filters: vec![Field::new("due", "范围", "select", if due { "true" } else { "" }).options(vec![
            (String::new(), "全部已关闭矿山".into()),
            ("true".into(), "只看应巡查的".into()),
        ])],
        filter_action: "/closed-mines".into(),
        result: None,
        headers: vec!["矿山", "街镇", "关闭日期", "最近巡查", "最近检查", "状态", ""],
        rows,
        next_href,
        empty_text: "没有符合条件的已关闭矿山。",
        total: Some(page_rows.total),
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/closures".into(), "关闭退出台账".into())],
    };
    Ok(render(&page))
}

#[derive(serde::Deserialize, Default)]
struct PatrolForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

async fn patrol_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    mine_id: &str,
    f: &PatrolForm,
    errors: &[FieldError],
) -> PageResult {
    let (st, who, mid) = (state.clone(), s.principal.clone(), mine_id.to_owned());
    let (mine, history) = blocking(move || {
        st.db.read(|c| {
            let m = crate::register::mines::find(c, &mid)?;
            Ok((m, watch::patrols(c, &who, &mid)?))
        })
    })
    .await
    .page(s)?;
    let mut fields = vec![
        Field::new(
            "outcome",
            "巡查结果",
            "select",
            if f.outcome.is_empty() {
                "nothing_found"
            } else {
                f.outcome.as_str()
            },
        )
        .options(
            crate::closures::rules::PatrolOutcome::ALL
                .iter()
                .map(|o| (o.code().to_owned(), o.label().to_owned()))
                .collect(),
        )
        .required(),
        Field::new("note", "巡查情况", "textarea", &f.note).help(
            "疑似复产请写明看到的情况，提交后立即生成问题线索并通知区自然资源分局和区协调办。",
        ),
        Field::new(
            "location",
            "巡查位置",
            "location",
            format!("{},{}", f.lon, f.lat),
        ),
        Field::new("photo", "现场照片", "file", ""),
    ];
    let general = attach_errors(&mut fields, errors);
    let rows = history
        .iter()
        .map(|p| {
            vec![
                cell(p.patrolled_on.to_string()),
                cell(p.outcome_label),
                cell(&p.note),
                cell(&p.patrolled_by),
                match (&p.lead_id, p.has_photo) {
                    (Some(l), _) => link("相关线索", format!("/leads/{l}")),
                    (None, true) => link("照片", format!("/patrols/{}/photo", p.id)),
                    _ => cell(""),
                },
            ]
        })
        .collect();
    let page = FormPage {
        ctx: page_ctx(state, s, req, "复产巡查", "/closures").await,
        heading: format!("复产巡查：{}", mine.name),
        intro: Some(format!("{} · {}", mine.status().label(), mine.address)),
        errors: general,
        editable: true,
        action: format!("/closed-mines/{}/patrol", mine.id),
        fields,
        submit_label: "提交巡查记录",
        back_href: Some("/closed-mines".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: vec![(format!("/mines/{}", mine.id), "矿山页面".into())],
        tables: vec![SubTable {
            title: "巡查记录".into(),
            headers: vec!["日期", "结果", "情况", "巡查人", ""],
            rows,
            empty_text: "还没有巡查记录。",
        }],
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn patrol_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = path_of(&req, "mine_id");
    patrol_page(&state, &s, &req, &id, &PatrolForm::default(), &[]).await
}

async fn patrol(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<PatrolForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let id = path_of(&req, "mine_id");
    let photo = form.files.into_iter().find(|u| u.field == "photo");
    let num = |v: &str| v.trim().parse::<f64>().ok();
    let input = PatrolInput {
        outcome: f.outcome.clone(),
        note: f.note.clone(),
        lon: num(&f.lon),
        lat: num(&f.lat),
    };
    let (st, who, now, mid) = (
        state.clone(),
        s.principal.clone(),
        state.clock.now_naive(),
        id.clone(),
    );
    let result = blocking(move || {
        let app = st.clone();
        st.db
            .transaction(|c| watch::patrol(&app, c, &who, now, &mid, input, photo))
    })
    .await;
    match result {
        Ok(p) => Ok(redirect(&match p.lead_id {
            Some(l) => format!("/leads/{l}?ok=saved"),
            None => format!("/closed-mines/{id}/patrol?ok=saved"),
        })),
        Err(AppError::Validation(errors)) => patrol_page(&state, &s, &req, &id, &f, &errors).await,
        Err(e @ AppError::InvalidTransition(_)) => {
            let m = e.problem().detail;
            patrol_page(&state, &s, &req, &id, &f, &[FieldError::new("outcome", m)]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn patrol_photo(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = path_of(&req, "id");
    let (st, who) = (state.clone(), s.principal.clone());
    let (name, kind, bytes) = blocking(move || st.db.read(|c| watch::photo(c, &who, &id)))
        .await
        .page(&s)?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}
