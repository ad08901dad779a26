//! 会商申请 in the browser: the requests, one request's page with the office's answer
//! (安排会商 or 不予会商), the request form, and 提请会商 from a lead's page.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};

use crate::consultations::{self as consultations, policy};
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

use super::messages;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultation-requests", web::get().to(requests))
        .route("/consultation-requests", web::post().to(create_request))
        .route("/consultation-requests/new", web::get().to(new_request))
        .route("/consultation-requests/{id}", web::get().to(detail))
        .route(
            "/consultation-requests/{id}/decline",
            web::post().to(decline),
        );
}

/// 提请会商 from a lead's page (registered before the leads' own pages).
pub fn lead_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/leads/{id}/escalate", web::post().to(escalate));
}

#[derive(serde::Deserialize)]
struct StateQuery {
    state: Option<String>,
}

fn state_filter(chosen: &str) -> Field {
    let mut opts = vec![(String::new(), "全部".to_owned())];
    opts.extend(
        consultations::rules::RequestState::ALL
            .iter()
            .map(|s| (s.code().to_owned(), s.label().to_owned())),
    );
    Field::new("state", "状态", "select", chosen).options(opts)
}

/// 会商申请: the office sees every request, a unit its own.
async fn requests(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<StateQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let chosen = q.state.clone().unwrap_or_default();
    let (st, who) = (state.clone(), s.principal.clone());
    let rows = blocking(move || {
        st.db
            .read(|c| consultations::requests(c, &who, q.state.as_deref()))
    })
    .await
    .page(&s)?;
    let names: HashMap<String, String> = {
        let st = state.clone();
        blocking(move || {
            st.db.read(|c| {
                Ok(crate::reference::departments(c)?
                    .into_iter()
                    .map(|d| (d.code, d.name))
                    .collect())
            })
        })
        .await
        .page(&s)?
    };
    let table = rows
        .iter()
        .map(|r| {
            vec![
                link(&r.topic, format!("/consultation-requests/{}", r.id)),
                cell(
                    r.department
                        .as_ref()
                        .and_then(|d| names.get(d).cloned())
                        .unwrap_or_else(|| "区协调办".into()),
                ),
                cell(&r.reason),
                cell(crate::platform::clock::local_time(r.created_at)),
                match &r.consultation_id {
                    Some(id) => link(r.state.label(), format!("/consultations/{id}")),
                    None => cell(r.state.label()),
                },
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "会商申请", "/consultations").await,
        heading: "会商申请".into(),
        intro: Some("成员单位对重大问题、联合执法等提请会商，由区协调办安排。".into()),
        new_link: policy::may_request(&s.principal).then(|| {
            (
                "/consultation-requests/new".to_owned(),
                "提请会商".to_owned(),
            )
        }),
        filters: vec![state_filter(&chosen)],
        filter_action: "/consultation-requests".into(),
        result: None,
        headers: vec!["议题", "提请单位", "理由", "提请时间", "状态"],
        total: Some(rows.len() as i64),
        rows: table,
        next_href: None,
        empty_text: "没有符合条件的会商申请。",
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/consultations".into(), "会商".into())],
    };
    Ok(render(&page))
}

fn request_page_of(ctx: PageCtx, topic: &str, reason: &str, errors: Vec<String>) -> FormPage {
    FormPage {
        ctx,
        heading: "提请会商".into(),
        intro: Some("写明需要会商的问题和理由，区协调办收到后安排会商。".into()),
        errors,
        editable: true,
        action: "/consultation-requests".into(),
        fields: vec![
            Field::new("topic", "会商议题", "text", topic).required(),
            Field::new("reason", "提请理由", "textarea", reason).required(),
        ],
        submit_label: "提交",
        back_href: Some("/consultation-requests".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    }
}

async fn new_request(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let ctx = page_ctx(&state, &s, &req, "提请会商", "/consultations").await;
    Ok(render(&request_page_of(ctx, "", "", Vec::new())))
}

#[derive(serde::Deserialize)]
struct RequestForm {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    reason: String,
}

async fn create_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<RequestForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = consultations::NewRequest {
        topic: f.topic.clone(),
        reason: f.reason.clone(),
        lead_ids: Vec::new(),
        mine_ids: Vec::new(),
        hazard_ids: Vec::new(),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|c| consultations::request(c, &who, now, input).map(|_| ()))
    })
    .await;
    match result {
        Ok(()) => Ok(redirect("/consultation-requests?ok=saved")),
        Err(AppError::Validation(errors)) => {
            let ctx = page_ctx(&state, &s, &req, "提请会商", "/consultations").await;
            Ok(render_form(
                &request_page_of(ctx, &f.topic, &f.reason, messages(&errors)),
                true,
            ))
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

/// One request: what was asked, by whom, and the office's answer — 安排会商 (the convening
/// form with the request on its agenda) or 不予会商 with a reason.
async fn detail(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    request_page(&state, &s, &req, &id, &[]).await
}

async fn request_page(
    state: &web::Data<AppState>,
    s: &crate::web::extract::Session,
    req: &HttpRequest,
    id: &str,
    errors: &[crate::platform::error::FieldError],
) -> PageResult {
    let (st, who, rid) = (state.clone(), s.principal.clone(), id.to_owned());
    let (r, unit, declined_by, leads) = blocking(move || {
        st.db.read(|c| {
            let r = consultations::find_request(c, &who, &rid)?;
            let unit = r
                .department
                .as_deref()
                .map(|d| crate::reference::unit_name(c, d))
                .unwrap_or_else(|| "区协调办".into());
            let by = match &r.declined_by {
                Some(u) => crate::accounts::find(c, u)?.display_name,
                None => String::new(),
            };
            let mut leads = Vec::new();
            for l in r.view().lead_ids {
                if let Ok(lead) = crate::leads::find(c, &l) {
                    leads.push((
                        format!("/leads/{}", lead.id),
                        format!("{} {}", lead.number, lead.title),
                    ));
                }
            }
            Ok((r, unit, by, leads))
        })
    })
    .await
    .page(s)?;
    let mut fields = vec![
        Field::new("topic", "会商议题", "text", &r.topic),
        Field::new("unit", "提请单位", "text", unit),
        Field::new("reason", "提请理由", "textarea", &r.reason),
        Field::new(
            "created_at",
            "提请时间",
            "text",
            crate::platform::clock::local_time(r.created_at),
        ),
        Field::new("state", "状态", "text", r.state.label()),
    ];
    if let Some(at) = r.declined_at {
        fields.push(Field::new(
            "declined",
            "不予会商",
            "text",
            format!("{declined_by}，{}", crate::platform::clock::local_time(at)),
        ));
        fields.push(Field::new(
            "decline_reason",
            "不予会商的理由",
            "textarea",
            &r.decline_reason,
        ));
    }
    let pending = r.state == consultations::rules::RequestState::Pending;
    let mut links = leads;
    if let Some(m) = &r.consultation_id {
        links.push((format!("/consultations/{m}"), "所安排的会商".into()));
    }
    if pending && policy::may_convene(&s.principal) {
        links.push((
            format!("/consultations/new?request={}", r.id),
            "安排会商（列入议程）".into(),
        ));
    }
    let mut actions = Vec::new();
    let mut general = messages(errors);
    if pending && policy::may_convene(&s.principal) {
        let mut decline = vec![Field::new("reason", "不予会商的理由", "textarea", "")
            .required()
            .help("提请单位和提请人会收到这个理由。")
            .in_form("decline")];
        general = attach_errors(&mut decline, errors);
        actions.push(ActionButton {
            href: format!("/consultation-requests/{}/decline", r.id),
            label: "不予会商",
            confirm: String::new(),
            style: "secondary",
            fields: decline,
        });
    }
    let page = FormPage {
        ctx: page_ctx(state, s, req, "会商申请", "/consultations").await,
        heading: format!("会商申请：{}", r.topic),
        intro: None,
        errors: general,
        editable: false,
        action: String::new(),
        fields,
        submit_label: "",
        back_href: Some("/consultation-requests".into()),
        open_next: !errors.is_empty(),
        actions,
        history: entity_history(state, "consultation_request", &r.id)
            .await
            .page(s)?,
        links,
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
    };
    Ok(render_form(&page, !errors.is_empty()))
}

#[derive(serde::Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// 不予会商 from the request's page.
async fn decline(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReasonForm>,
) -> PageResult {
    let s = form.session;
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    let input = consultations::DeclineInput {
        reason: Some(form.form.reason),
    };
    let (st, who, now, rid) = (
        state.clone(),
        s.principal.clone(),
        state.clock.now_naive(),
        id.clone(),
    );
    let result = blocking(move || {
        st.db
            .transaction(|c| consultations::decline(c, &who, now, &rid, input).map(|_| ()))
    })
    .await;
    submitted!(result, s, Ok(_) => &format!("/consultation-requests/{id}?ok=saved"),
        Invalid(errors) => request_page(&state, &s, &req, &id, &errors).await)
}

/// 提请会商 from a lead's page: the lead is marked and a request waits for the office.
async fn escalate(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReasonForm>,
) -> PageResult {
    let s = form.session;
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    let reason = Some(form.form.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let result = crate::leads::side_step_now(
        state.clone(),
        s.principal.clone(),
        id.clone(),
        move |_, c, w, i, n| {
            consultations::request_from_lead(
                c,
                w,
                i,
                crate::leads::actions::ReasonInput { reason },
                n,
            )
            .map(|_| ())
        },
    )
    .await;
    submitted!(result, s, Ok(_) => &format!("/leads/{id}?ok=step"),
        Invalid(errors) => crate::leads::pages::detail_page(&state, &s, &req, &id, &errors).await)
}
