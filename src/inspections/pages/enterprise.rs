//! 本企业的检查: the inspected enterprise's record, its rating and its complaints.

use super::{messages, name};
use crate::inspections::rules::InspectionState;
use crate::inspections::{self as inspections};
use crate::platform::error::AppError;
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

pub(super) struct OwnTask {
    id: String,
    number: String,
    state: &'static str,
    window: String,
    departments: String,
    inspectors: String,
    rating: String,
    may_rate: bool,
}

#[derive(Template)]
#[template(path = "my_inspections.html")]
pub(super) struct OwnPage {
    ctx: PageCtx,
    mine_name: String,
    tasks: Vec<OwnTask>,
    errors: Vec<String>,
    verdicts: Vec<(&'static str, &'static str)>,
}

/// 本企业的检查: the enterprise user's own mine's inspections, to rate and complain about.
pub(super) async fn own_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    errors: Vec<String>,
) -> PageResult {
    use crate::inspections::rules::Verdict;
    let (st, who) = (state.clone(), s.principal.clone());
    let (mine_name, rows) = blocking(move || {
        st.db.read(|conn| {
            let tasks = inspections::of_own_mine(conn, &who)?;
            let mine = who.mine_id.clone().unwrap_or_default();
            let mine_name = crate::register::mines::find(conn, &mine)
                .map(|m| m.name)
                .unwrap_or_default();
            // The page's departments and inspectors in two queries, names from one list.
            let ids: Vec<String> = tasks.iter().map(|(t, _)| t.id.clone()).collect();
            let all_departments = crate::inspections::store::departments_of(conn, &ids)?;
            let all_inspectors = crate::inspections::store::inspectors_of(conn, &ids)?;
            let names: HashMap<String, String> = crate::reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect();
            let mut rows = Vec::new();
            for (t, r) in tasks {
                let departments: Vec<String> = all_departments
                    .iter()
                    .filter(|d| d.inspection_id == t.id)
                    .map(|d| name(&names, &d.department))
                    .collect();
                rows.push(OwnTask {
                    id: t.id.clone(),
                    number: t.number.clone(),
                    state: t.state.label(),
                    window: if t.window_from == t.window_to {
                        t.window_from.to_string()
                    } else {
                        format!("{} 至 {}", t.window_from, t.window_to)
                    },
                    departments: departments.join("、"),
                    inspectors: all_inspectors
                        .iter()
                        .filter(|i| i.inspection_id == t.id)
                        .map(|i| format!("{}（执法证号 {}）", i.name, i.certificate_number))
                        .collect::<Vec<_>>()
                        .join("、"),
                    rating: r
                        .as_ref()
                        .and_then(|r| Verdict::parse(&r.verdict))
                        .map(|v| v.label().to_owned())
                        .unwrap_or_default(),
                    may_rate: r.is_none()
                        && matches!(
                            t.state,
                            InspectionState::Completed | InspectionState::Archived
                        ),
                });
            }
            Ok((mine_name, rows))
        })
    })
    .await
    .page(s)?;
    let mut ctx = page_ctx(state, s, req, "本企业的检查", "/my-inspections").await;
    if ctx.flash.is_none() {
        ctx.flash = match req.query_string() {
            q if q.contains("ok=rated") => Some("评价已提交，谢谢！".into()),
            q if q.contains("ok=complaint") => Some("投诉已提交，区协调办将受理并答复。".into()),
            _ => None,
        };
    }
    let page = OwnPage {
        ctx,
        mine_name,
        tasks: rows,
        verdicts: Verdict::ALL.iter().map(|v| (v.code(), v.label())).collect(),
        errors,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

pub(super) async fn own(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    own_page(&state, &s, &req, Vec::new()).await
}

#[derive(serde::Deserialize)]
pub(super) struct RateForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    comment: String,
}

pub(super) async fn own_rate(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<RateForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db.transaction(|conn| {
            inspections::rate(
                conn,
                &who,
                now,
                &id,
                inspections::RatingInput {
                    verdict: f.verdict,
                    comment: f.comment,
                },
            )
            .map(|_| ())
        })
    })
    .await;
    own_after(&state, &req, s, result, "rated").await
}

#[derive(serde::Deserialize)]
pub(super) struct ComplaintForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn own_complaint(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ComplaintForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let text = form.form.text;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::complain(&st, conn, &who, now, &id, &text).map(|_| ()))
    })
    .await;
    own_after(&state, &req, s, result, "complaint").await
}

pub(super) async fn own_after(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    result: Result<(), AppError>,
    ok: &str,
) -> PageResult {
    match result {
        Ok(()) => Ok(redirect(&format!("/my-inspections?ok={ok}"))),
        Err(AppError::Validation(errors)) => own_page(state, &s, req, messages(&errors)).await,
        Err(e @ (AppError::InvalidTransition(_) | AppError::Conflict(_))) => {
            let message = e.problem().detail;
            own_page(state, &s, req, vec![message]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}
