//! 月度报送 in the browser: the month's status (who filed, late, missing) drawn beside
//! its table, the unit's drafting form with a row per owed decision, a report's page with
//! the head's signature or the explanation, and the one-page summary for the leadership.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

use crate::consultations::policy;
use crate::consultations::reports::{self, MonthSummary, ReportQuery, ReportView};
use crate::consultations::rules::{Month, ReportState};
use crate::platform::clock::shanghai_date;
use crate::platform::error::{AppError, FieldError};
use crate::platform::rules::chart;
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/monthly-reports", web::get().to(list))
        .route("/monthly-reports", web::post().to(save))
        .route("/monthly-reports/new", web::get().to(new_form))
        .route("/monthly-reports/summary", web::get().to(summary))
        .route("/monthly-reports/{id}", web::get().to(detail))
        .route("/monthly-reports/{id}/approve", web::post().to(approve))
        .route("/monthly-reports/{id}/explain", web::post().to(explain));
}

/// The last twelve months that have ended, newest first: (code, label).
fn ended_months(today: chrono::NaiveDate) -> Vec<(String, String)> {
    let mut m = Month::of(today).previous();
    let mut out = Vec::new();
    for _ in 0..12 {
        out.push((m.to_string(), m.label()));
        m = m.previous();
    }
    out
}

fn month_query(req: &HttpRequest) -> Option<String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("month").cloned())
        .filter(|m| !m.is_empty())
}

/// 月度报送: the month's status, every unit's for the office, the reader's unit's otherwise.
async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let month = month_query(&req);
    let (st, who, today) = (
        state.clone(),
        s.principal.clone(),
        shanghai_date(state.clock.now_naive()),
    );
    let m = month.clone();
    let status = blocking(move || {
        st.db
            .read(|c| reports::status(c, &who, today, &st.settings.reports, m.as_deref()))
    })
    .await
    .page(&s)?;
    let rows = status
        .units
        .iter()
        .map(|u| {
            let state = if u.missing {
                badge("未报送", "badge-off")
            } else if u.late {
                badge(format!("逾期报送 · {}", u.state_label), "badge-off")
            } else if u.state == Some(ReportState::Approved) {
                badge(&u.state_label, "badge-on")
            } else {
                cell(&u.state_label)
            };
            vec![
                match &u.report_id {
                    Some(id) => link(&u.name, format!("/monthly-reports/{id}")),
                    None => cell(&u.name),
                },
                cell(u.owed.to_string()),
                state,
                cell(u.filed_at.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let bars: Vec<chart::Bar> = [
        ("按时报送", status.filed - status.late),
        ("逾期报送", status.late),
        ("未报送", status.missing),
        (
            "尚在报送期内",
            status.units.len() - status.filed - status.missing,
        ),
    ]
    .iter()
    .map(|(label, n)| chart::Bar {
        label: (*label).to_owned(),
        value: Some(*n as f64),
        text: format!("{n} 个单位"),
    })
    .collect();
    let drawn = chart::bars(
        &format!("{}进展报送情况", status.month_label),
        &bars,
        status.units.len().max(1) as f64,
        None,
    );
    let may_draft = policy::reporting_unit(&s.principal).is_some();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "月度报送", "/decisions").await,
        heading: format!("月度报送 · {}", status.month_label),
        intro: Some(format!(
            "各主责单位于每月 {} 日前报送上月督办事项进展，经本单位主要负责人审核签发。{}的报送应于 {} 前完成。",
            state.settings.reports.due_day, status.month_label, status.due_on
        )),
        new_link: may_draft.then(|| {
            (
                format!("/monthly-reports/new?month={}", status.month),
                "起草本单位报送".to_owned(),
            )
        }),
        filters: vec![Field::new("month", "月份", "select", &status.month)
            .options(ended_months(today))],
        filter_action: "/monthly-reports".into(),
        result: Some(format!(
            "已报送 {} 个单位（逾期 {}），未报送 {} 个",
            status.filed, status.late, status.missing
        )),
        headers: vec!["单位", "应报事项", "报送情况", "报送时间"],
        rows,
        next_href: None,
        empty_text: "本月没有需要报送的单位。",
        total: None,
        charts: vec![drawn],
        export_href: Some(format!(
            "/api/v1/monthly-reports/export.xlsx?month={}",
            status.month
        )),
        post_buttons: Vec::new(),
        more_links: vec![
            (
                format!("/monthly-reports/summary?month={}", status.month),
                "打印本月督办情况（一页）".to_owned(),
            ),
            ("/decisions".into(), "督办台账".into()),
        ],
    };
    Ok(render(&page))
}

pub(super) struct Row {
    id: String,
    number: String,
    decision: String,
    due_on: String,
    text: String,
    percent: String,
}

#[derive(Template)]
#[template(path = "monthly_report_new.html")]
struct NewPage {
    ctx: PageCtx,
    month: String,
    month_label: String,
    due_on: String,
    months: Vec<(String, String)>,
    rows: Vec<Row>,
    version: String,
    errors: Vec<String>,
}

async fn new_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    month: Option<String>,
    typed: Option<HashMap<String, String>>,
    errors: Vec<String>,
) -> PageResult {
    let (st, who, today) = (
        state.clone(),
        s.principal.clone(),
        shanghai_date(state.clock.now_naive()),
    );
    let (m, owed, draft) = blocking(move || {
        st.db.read(|c| {
            let m = reports::month_of(month.as_deref(), today)?;
            let owed = reports::owed_decisions(c, &who, today, m)?;
            let (_, mine) = reports::list(
                c,
                &who,
                today,
                &ReportQuery {
                    month: Some(m.to_string()),
                    unit: None,
                },
            )?;
            let draft = reports::views(c, &mine, &st.settings.reports)?.pop();
            Ok((m, owed, draft))
        })
    })
    .await
    .page(s)?;
    let get = |k: String| typed.as_ref().and_then(|t| t.get(&k).cloned());
    let rows = owed
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let earlier = draft
                .as_ref()
                .and_then(|r| r.items.iter().find(|i| i.decision_id == d.id));
            Row {
                id: d.id.clone(),
                number: d.number.clone(),
                decision: d.text.clone(),
                due_on: d.due_on.clone(),
                text: get(format!("item.{n}.text"))
                    .or_else(|| earlier.map(|i| i.text.clone()))
                    .unwrap_or_default(),
                percent: get(format!("item.{n}.percent"))
                    .or_else(|| earlier.map(|i| i.percent.to_string()))
                    .unwrap_or_else(|| d.percent.to_string()),
            }
        })
        .collect();
    let page = NewPage {
        ctx: page_ctx(state, s, req, "起草月度报送", "/decisions").await,
        month: m.to_string(),
        month_label: m.label(),
        due_on: m.due_on(state.settings.reports.due_day).to_string(),
        months: ended_months(shanghai_date(state.clock.now_naive())),
        rows,
        version: draft.map(|d| d.version.to_string()).unwrap_or_default(),
        errors,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    new_page(&state, &s, &req, month_query(&req), None, Vec::new()).await
}

/// An item's field named for a person: "第 2 项：…".
fn message(e: &FieldError) -> String {
    e.field
        .strip_prefix("items[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, _)| n.parse::<usize>().ok())
        .map(|n| format!("第 {} 项：{}", n + 1, e.message))
        .unwrap_or_else(|| e.message.clone())
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let mut items = Vec::new();
    for n in 0..reports::MAX_ITEMS {
        let Some(id) = f.get(&format!("item.{n}.decision_id")) else {
            break;
        };
        items.push(reports::NewItem {
            decision_id: id.clone(),
            text: get(&format!("item.{n}.text")),
            percent: get(&format!("item.{n}.percent"))
                .trim()
                .parse()
                .unwrap_or(-1),
        });
    }
    let input = reports::NewReport {
        month: get("month"),
        unit: None,
        items,
        version: get("version").parse().ok(),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|c| reports::draft(c, &who, now, &st.settings.reports, input))
    })
    .await;
    let month = Some(get("month"));
    match result {
        Ok(r) => Ok(redirect(&format!("/monthly-reports/{}?ok=saved", r.id))),
        Err(AppError::Validation(errors)) => {
            let shown = errors.iter().map(message).collect();
            new_page(&state, &s, &req, month, Some(f), shown).await
        }
        Err(e) => match shown_again(&e) {
            Some(m) => new_page(&state, &s, &req, month, Some(f), m).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

#[derive(Template)]
#[template(path = "monthly_report.html")]
struct DetailPage {
    ctx: PageCtx,
    r: ReportView,
    month_label: String,
    errors: Vec<String>,
    may_approve: bool,
    may_explain: bool,
    may_edit: bool,
}

async fn detail_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: Vec<String>,
) -> PageResult {
    let (st, who, tid) = (state.clone(), s.principal.clone(), id.to_owned());
    let mut v = blocking(move || {
        st.db.read(|c| {
            let r = reports::load(c, &who, &tid)?;
            reports::views(c, std::slice::from_ref(&r), &st.settings.reports)
        })
    })
    .await
    .page(s)?;
    let r = v
        .pop()
        .ok_or_else(|| AppError::internal("a report without its view"))
        .page(s)?;
    let staff = policy::is_unit_staff(&s.principal, &r.unit);
    let head = policy::may_sign_report(&s.principal, &r.unit);
    let mut ctx = page_ctx(state, s, req, "月度报送", "/decisions").await;
    let said = match req.query_string() {
        q if q.contains("ok=saved") => Some("已保存，已通知本单位负责人审核签发。"),
        q if q.contains("ok=approved") => Some("已签发报送，协调办已收到。"),
        q if q.contains("ok=explained") => Some("已附情况说明报送，协调办已收到。"),
        _ => None,
    };
    if let Some(said) = said {
        ctx.flash = Some(said.into());
    }
    let page = DetailPage {
        ctx,
        month_label: Month::parse(&r.month).map(Month::label).unwrap_or_default(),
        may_approve: head
            && r.state != ReportState::Approved
            && r.drafted_by_id.as_deref() != Some(s.principal.id.as_str()),
        may_explain: staff && r.state == ReportState::Draft,
        may_edit: staff && r.state == ReportState::Draft,
        errors,
        r,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    detail_page(&state, &s, &req, &id, Vec::new()).await
}

async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Session,
    id: String,
    ok: &'static str,
    run: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::authz::Principal,
            chrono::NaiveDateTime,
            &crate::consultations::rules::ReportSettings,
        ) -> Result<ReportView, AppError>
        + Send
        + 'static,
) -> PageResult {
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|c| run(c, &who, now, &st.settings.reports))
    })
    .await;
    match result {
        Ok(_) => Ok(redirect(&format!("/monthly-reports/{id}?ok={ok}"))),
        Err(e) => match shown_again(&e) {
            Some(m) => detail_page(&state, &s, &req, &id, m).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

#[derive(serde::Deserialize)]
struct NoFields {}

async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<NoFields>,
    id: web::Path<String>,
) -> PageResult {
    let tid = id.to_string();
    step(
        state,
        req,
        form.session,
        id.into_inner(),
        "approved",
        move |c, who, now, set| reports::approve(c, who, now, set, &tid),
    )
    .await
}

#[derive(serde::Deserialize)]
struct ExplainForm {
    #[serde(default)]
    explanation: String,
}

async fn explain(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ExplainForm>,
    id: web::Path<String>,
) -> PageResult {
    let (tid, text) = (id.to_string(), form.form.explanation);
    step(
        state,
        req,
        form.session,
        id.into_inner(),
        "explained",
        move |c, who, now, set| reports::explain(c, who, now, set, &tid, &text),
    )
    .await
}

#[derive(Template)]
#[template(path = "monthly_summary.html")]
struct SummaryPage {
    s: MonthSummary,
    chart: String,
    on_time: usize,
    printed_on: String,
}

/// The month on one printable page for the district's leadership.
async fn summary(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let month = month_query(&req);
    let (st, who, today) = (
        state.clone(),
        s.principal.clone(),
        shanghai_date(state.clock.now_naive()),
    );
    let sum = blocking(move || {
        st.db
            .read(|c| reports::summary(c, &who, today, &st.settings.reports, month.as_deref()))
    })
    .await
    .page(&s)?;
    let max = sum
        .units
        .iter()
        .map(|u| (u.open + u.reported) as f64)
        .fold(1.0, f64::max);
    let bars: Vec<chart::Bar> = sum
        .units
        .iter()
        .map(|u| chart::Bar {
            label: u.name.clone(),
            value: Some((u.open + u.reported) as f64),
            text: format!("在办 {}，逾期 {}", u.open + u.reported, u.overdue),
        })
        .collect();
    let page = SummaryPage {
        chart: chart::bars("各单位在办议定事项", &bars, max, None),
        on_time: sum.status.filed - sum.status.late,
        printed_on: today.to_string(),
        s: sum,
    };
    Ok(render(&page))
}
