//! 督办台账 in the browser: the ledger with its filters, each unit's counts drawn beside
//! it, the Excel export; a decision's page with the unit's progress form (evidence files
//! from the phone or PC), the office's 查账/销账, extension and confirmation.

use actix_web::{web, HttpRequest};
use askama::Template;

use crate::consultations::ledger::{self, DecisionRecord, DecisionView, LedgerQuery};
use crate::consultations::policy;
use crate::consultations::rules::{DecisionKind, DecisionState, Review};
use crate::platform::clock::shanghai_date;
use crate::platform::error::AppError;
use crate::platform::rules::chart;
use crate::web::extract::{PageForm, PageSession, PageUpload, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/decisions", web::get().to(list))
        .route("/decisions/board", web::get().to(board))
        .route("/decisions/{id}", web::get().to(detail))
        .route("/decisions/{id}/progress", web::post().to(progress))
        .route("/decisions/{id}/review", web::post().to(review))
        .route("/decisions/{id}/extend", web::post().to(extend))
        .route("/decisions/{id}/open", web::post().to(open))
        .route("/decisions/{id}/files/{file_id}", web::get().to(file));
}

/// The unit's counts as a bar chart: each unit's live decisions, the overdue ones named.
fn tally_chart(tally: &[ledger::UnitTally]) -> String {
    let max = tally
        .iter()
        .map(|t| (t.open + t.reported) as f64)
        .fold(1.0, f64::max);
    let rows: Vec<chart::Bar> = tally
        .iter()
        .map(|t| chart::Bar {
            label: t.name.clone(),
            value: Some((t.open + t.reported) as f64),
            text: format!(
                "在办 {}（逾期 {}，待查账 {}），已销账 {}",
                t.open + t.reported,
                t.overdue,
                t.reported,
                t.closed
            ),
        })
        .collect();
    chart::bars("各主责单位在办议定事项", &rows, max, None)
}

fn state_cell(d: &DecisionView) -> Cell {
    if d.overdue {
        badge(format!("逾期 · {}", d.state_label), "badge-off")
    } else if d.state == DecisionState::Closed {
        badge(d.state_label, "badge-on")
    } else {
        cell(d.state_label)
    }
}

/// 督办台账: the office's whole ledger, a unit's own.
async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<LedgerQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, who, today) = (
        state.clone(),
        s.principal.clone(),
        shanghai_date(state.clock.now_naive()),
    );
    let query = q.clone();
    let (views, next, tally, units) = blocking(move || {
        st.db.read(|c| {
            let (rows, next) = ledger::list(c, &who, today, &query)?;
            let own = (!policy::reads_all(&who))
                .then(|| who.department.clone())
                .flatten();
            let tally = ledger::tally(c, today, own.as_deref())?;
            let units: Vec<(String, String)> = crate::reference::departments(c)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect();
            Ok((ledger::views(c, &rows, today)?, next, tally, units))
        })
    })
    .await
    .page(&s)?;
    let rows = views
        .iter()
        .map(|d| {
            let text: String = d.text.chars().take(60).collect();
            vec![
                link(&d.number, format!("/decisions/{}", d.id)),
                cell(text),
                cell(d.kind_label),
                cell(&d.responsible_name),
                cell(&d.due_on),
                state_cell(d),
                cell(format!("{}%", d.percent)),
            ]
        })
        .collect();
    let office = policy::reads_all(&s.principal);
    let mut filters = Vec::new();
    if office {
        let mut opts = vec![(String::new(), "全部单位".to_owned())];
        opts.extend(units);
        filters.push(
            Field::new(
                "unit",
                "主责单位",
                "select",
                q.unit.clone().unwrap_or_default(),
            )
            .options(opts),
        );
    }
    let mut states = vec![(String::new(), "全部".to_owned())];
    states.extend(
        [
            DecisionState::Open,
            DecisionState::Reported,
            DecisionState::Closed,
        ]
        .iter()
        .map(|s| (s.code().to_owned(), s.label().to_owned())),
    );
    filters.push(
        Field::new(
            "state",
            "状态",
            "select",
            q.state.clone().unwrap_or_default(),
        )
        .options(states),
    );
    filters.push(
        Field::new(
            "overdue",
            "逾期",
            "select",
            if q.overdue == Some(true) { "true" } else { "" },
        )
        .options(vec![
            (String::new(), "不限".into()),
            ("true".into(), "只看逾期".into()),
        ]),
    );
    let filter_query = serde_urlencoded::to_string(LedgerQuery {
        cursor: None,
        limit: None,
        ..q.clone()
    })
    .unwrap_or_default();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "督办台账", "/decisions").await,
        heading: "督办台账".into(),
        intro: Some(
            "会议纪要审定后，议定事项列入台账（建账）；主责单位报送进展（对账），协调办查账，认可办结报告后销账。逾期事项自动督办一次。"
                .into(),
        ),
        new_link: None,
        filters,
        filter_action: "/decisions".into(),
        result: None,
        headers: vec!["编号", "议定事项", "类别", "主责单位", "完成时限", "状态", "完成比例"],
        rows,
        next_href: next.map(|c| format!("/decisions?{filter_query}&cursor={c}")),
        empty_text: "台账中没有符合条件的议定事项。",
        total: None,
        charts: if tally.is_empty() {
            Vec::new()
        } else {
            vec![tally_chart(&tally)]
        },
        export_href: Some(format!("/api/v1/decisions/export.xlsx?{filter_query}")),
        post_buttons: Vec::new(),
        more_links: vec![
            ("/decisions/board".into(), "会商督办看板".into()),
            ("/monthly-reports".into(), "月度报送".into()),
            ("/consultations".into(), "会商研判".into()),
        ],
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "decision.html")]
struct DecisionPage {
    ctx: PageCtx,
    d: DecisionView,
    r: DecisionRecord,
    errors: Vec<String>,
    may_report: bool,
    may_review: bool,
    pending_done: bool,
    may_extend: bool,
    may_open_lead: bool,
    inspection_href: Option<String>,
}

async fn detail_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: Vec<String>,
) -> PageResult {
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_owned(),
        state.clock.now_naive(),
    );
    let r = blocking(move || st.db.read(|c| ledger::record(c, &who, now, &tid)))
        .await
        .page(s)?;
    let d = r.decision.clone();
    let live = d.state != DecisionState::Closed;
    let office = policy::may_convene(&s.principal);
    let pending = r.reports.iter().rev().find(|p| p.review == Review::Pending);
    let responsible = policy::is_unit_staff(&s.principal, &d.responsible_unit);
    let inspection_href = (live
        && matches!(d.kind, DecisionKind::Inspection | DecisionKind::Enforcement)
        && (responsible || office))
        .then(|| {
            let joint: String = d
                .cooperating_units
                .iter()
                .map(|c| format!("&joint.{}=true", url_escape(c)))
                .collect();
            format!(
                "/inspections/new?basis=consultation&basis_ref={}&mine_id={}&lead_department={}{joint}",
                url_escape(&d.number),
                url_escape(d.mine_id.as_deref().unwrap_or_default()),
                url_escape(&d.responsible_unit),
            )
        });
    let mut ctx = page_ctx(state, s, req, &d.number, "/decisions").await;
    let said: Option<&str> = match req.query_string() {
        q if q.contains("ok=reported") => Some("进展已报送，待协调办查账。"),
        q if q.contains("ok=reviewed") => Some("查账意见已提交，已通知主责单位。"),
        q if q.contains("ok=extended") => Some("完成时限已调整，已通知主责单位。"),
        q if q.contains("ok=opened") => Some("已转办线索，主责单位收到通知。"),
        _ => None,
    };
    if let Some(said) = said {
        ctx.flash = Some(said.into());
    }
    let page = DecisionPage {
        ctx,
        may_report: live && responsible && pending.is_none(),
        may_review: live && office && pending.is_some(),
        pending_done: pending.is_some_and(|p| p.done),
        may_extend: live && office,
        may_open_lead: live && office && d.kind == DecisionKind::Lead && d.opened_id.is_none(),
        inspection_href,
        errors,
        d,
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

/// A step from the decision's page, in one transaction: back to the page, or the page
/// again with what was wrong.
async fn act(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    id: &str,
    ok: &str,
    step: impl FnOnce(
            &AppState,
            &mut crate::platform::db::DbConnection,
            &crate::platform::authz::Principal,
            chrono::NaiveDateTime,
            &str,
        ) -> Result<(), AppError>
        + Send
        + 'static,
) -> PageResult {
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_owned(),
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        let app = st.clone();
        st.db.transaction(|c| step(&app, c, &who, now, &tid))
    })
    .await;
    match result {
        Ok(()) => Ok(redirect(&format!("/decisions/{id}?ok={ok}"))),
        Err(e) => match shown_again(&e) {
            Some(messages) => detail_page(state, &s, req, id, messages).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

#[derive(serde::Deserialize)]
struct ProgressForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    done: String,
}

async fn progress(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<ProgressForm>,
    id: web::Path<String>,
) -> PageResult {
    let f = form.form;
    let done = f.done == "true";
    let percent = match f.percent.trim() {
        "" if done => 100,
        "" => 0,
        // Out of range on purpose, so the rule names the field.
        p => p.parse::<i32>().unwrap_or(-1),
    };
    let input = ledger::ProgressInput {
        text: f.text,
        percent,
        done,
    };
    let files = form.files;
    let max = state.settings.http.max_upload_bytes;
    act(
        &state,
        &req,
        form.session,
        &id,
        "reported",
        move |_, c, who, now, tid| {
            ledger::progress(c, who, now, tid, input, files, max).map(|_| ())
        },
    )
    .await
}

#[derive(serde::Deserialize)]
struct ReviewForm {
    #[serde(default)]
    accept: String,
    #[serde(default)]
    reason: String,
}

async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReviewForm>,
    id: web::Path<String>,
) -> PageResult {
    let input = ledger::ReviewInput {
        accept: form.form.accept != "no",
        reason: Some(form.form.reason),
    };
    act(
        &state,
        &req,
        form.session,
        &id,
        "reviewed",
        move |_, c, who, now, tid| ledger::review(c, who, now, tid, input).map(|_| ()),
    )
    .await
}

#[derive(serde::Deserialize)]
struct ExtendForm {
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    reason: String,
}

async fn extend(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ExtendForm>,
    id: web::Path<String>,
) -> PageResult {
    let input = ledger::ExtendInput {
        due_on: form.form.due_on,
        reason: form.form.reason,
    };
    act(
        &state,
        &req,
        form.session,
        &id,
        "extended",
        move |_, c, who, now, tid| ledger::extend(c, who, now, tid, input).map(|_| ()),
    )
    .await
}

#[derive(serde::Deserialize)]
struct NoFields {}

async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<NoFields>,
    id: web::Path<String>,
) -> PageResult {
    act(
        &state,
        &req,
        form.session,
        &id,
        "opened",
        move |app, c, who, now, tid| ledger::open_lead(app, c, who, now, tid).map(|_| ()),
    )
    .await
}

async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (id, file_id) = path.into_inner();
    let (st, who) = (state.clone(), s.principal.clone());
    let (name, kind, bytes) =
        blocking(move || st.db.read(|c| ledger::open_file(c, &who, &id, &file_id)))
            .await
            .page(&s)?;
    Ok(crate::web::file_download(&kind, &name, bytes))
}

/// 会商督办看板: what waits (each queue and its count), the ledger by unit drawn and
/// tabled, last month's reporting status drawn.
async fn board(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    crate::platform::authz::require(&s.principal, crate::platform::authz::Action::ViewDecisions)
        .page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let (b, queues) = blocking(move || {
        st.db
            .read(|c| crate::consultations::board::board(c, &who, now, &st.settings.reports))
    })
    .await
    .page(&s)?;
    let rows = b
        .units
        .iter()
        .map(|t| {
            vec![
                link(&t.name, format!("/decisions?unit={}", t.unit)),
                cell(t.open.to_string()),
                cell(t.reported.to_string()),
                if t.overdue > 0 {
                    badge(t.overdue.to_string(), "badge-off")
                } else {
                    cell("0")
                },
                cell(t.closed.to_string()),
            ]
        })
        .collect();
    let st = &b.status;
    let status_bars: Vec<chart::Bar> = [
        ("按时报送", st.filed - st.late),
        ("逾期报送", st.late),
        ("未报送", st.missing),
    ]
    .iter()
    .map(|(l, n)| chart::Bar {
        label: (*l).to_owned(),
        value: Some(*n as f64),
        text: format!("{n} 个单位"),
    })
    .collect();
    let mut charts = Vec::new();
    if !b.units.is_empty() {
        charts.push(tally_chart(&b.units));
    }
    charts.push(chart::bars(
        &format!("{}进展报送（应于 {} 前）", st.month_label, st.due_on),
        &status_bars,
        st.units.len().max(1) as f64,
        None,
    ));
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "会商督办看板", "/decisions").await,
        heading: "会商督办看板".into(),
        intro: Some("会商申请、会议、纪要、议定事项和月度报送，一页看清。".into()),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/decisions/board".into(),
        result: Some(
            b.queues
                .iter()
                .map(|(t, n)| format!("{t} {n} 项"))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        headers: vec!["主责单位", "办理中", "待查账", "逾期", "已销账"],
        rows,
        next_href: None,
        empty_text: "督办台账中还没有议定事项。",
        total: None,
        charts,
        export_href: Some("/api/v1/decisions/export.xlsx".into()),
        post_buttons: Vec::new(),
        more_links: queues
            .iter()
            .map(|q| (q.href.clone(), q.title.to_owned()))
            .chain([(
                format!("/monthly-reports?month={}", b.status.month),
                "月度报送".to_owned(),
            )])
            .collect(),
    };
    Ok(render(&page))
}
