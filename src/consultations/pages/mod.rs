//! 会商研判 in the browser: the meetings and requests, the office's convening form, a
//! meeting's page with each invitee's answer, the reader's 报到, the office's change and
//! cancellation, and the request form for member units.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;

use crate::consultations::{self as consultations, policy, MeetingView};
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

mod ledger;
mod minutes;
mod reports;
mod requests;

pub use requests::lead_routes;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consultations", web::get().to(list))
        .route("/consultations", web::post().to(create))
        .route("/consultations/new", web::get().to(new_form))
        .route("/consultations/{id}", web::get().to(detail))
        .route("/consultations/{id}/attendance", web::post().to(attend))
        .route("/consultations/{id}/change", web::post().to(change))
        .route("/consultations/{id}/cancel", web::post().to(cancel))
        .route("/consultations/{id}/remind", web::post().to(remind));
    requests::routes(cfg);
    minutes::routes(cfg);
    ledger::routes(cfg);
    reports::routes(cfg);
}

fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.message.clone()).collect()
}

/// 会商: the meetings the reader is invited to (the office: all), soonest first.
async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<consultations::MeetingQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let query = q.clone();
    let (views, next) = blocking(move || {
        st.db.read(|c| {
            let (rows, next) = consultations::list(c, &who, now, &query)?;
            Ok((consultations::views(c, &rows, now)?, next))
        })
    })
    .await
    .page(&s)?;
    let rows = views
        .iter()
        .map(|m| {
            let own = own_answer(&s, m);
            vec![
                link(&m.number, format!("/consultations/{}", m.id)),
                cell(&m.topic),
                cell(format!(
                    "{} 至 {}",
                    m.starts_at.replace('T', " "),
                    m.ends_at.replace('T', " ")
                )),
                cell(&m.place),
                cell(m.state_label),
                cell(own.unwrap_or_default()),
            ]
        })
        .collect();
    let convene = policy::may_convene(&s.principal);
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "会商研判", "/consultations").await,
        heading: "会商研判".into(),
        intro: Some(
            "区协调办召集的会商：被邀请的单位在会商页面确认参会人员或说明不能参会的原因（报到）。"
                .into(),
        ),
        new_link: convene.then(|| ("/consultations/new".to_owned(), "召集会商".to_owned())),
        filters: vec![Field::new(
            "upcoming",
            "范围",
            "select",
            if q.upcoming == Some(true) { "true" } else { "" },
        )
        .options(vec![
            (String::new(), "全部".into()),
            ("true".into(), "尚未召开".into()),
        ])],
        filter_action: "/consultations".into(),
        result: None,
        headers: vec!["编号", "议题", "时间", "地点", "状态", "本单位报到"],
        rows,
        next_href: next.map(|c| format!("/consultations?cursor={c}")),
        empty_text: "还没有会商。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        // Townships raise whistles rather than requests: no link for them.
        more_links: (convene || policy::may_request(&s.principal))
            .then(|| {
                (
                    "/consultation-requests".to_owned(),
                    if convene {
                        "会商申请"
                    } else {
                        "提请会商"
                    }
                    .to_owned(),
                )
            })
            .into_iter()
            .collect(),
    };
    Ok(render(&page))
}

/// The reader's own invitee's answer, as words.
fn own_answer(s: &Session, m: &MeetingView) -> Option<String> {
    m.invitees
        .iter()
        .find(|i| policy::answers_for(&s.principal, i.kind, &i.unit))
        .map(|i| {
            if i.attendee_name.is_empty() {
                i.answer_label.to_owned()
            } else {
                format!("{}（{}）", i.answer_label, i.attendee_name)
            }
        })
}

#[derive(Default, Clone)]
struct NewForm {
    topic: String,
    starts_at: String,
    ends_at: String,
    place: String,
    online_url: String,
    departments: Vec<String>,
    townships: Vec<String>,
    requests: Vec<String>,
    agenda: String,
    /// People invited by name: their usernames, one a line.
    users: String,
}

#[derive(Template)]
#[template(path = "consultation_new.html")]
struct NewPage {
    ctx: PageCtx,
    form: NewForm,
    errors: Vec<String>,
    departments: Vec<(String, String)>,
    townships: Vec<(String, String)>,
    requests: Vec<(String, String)>,
}

async fn new_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: NewForm,
    errors: Vec<String>,
) -> PageResult {
    if !policy::may_convene(&s.principal) {
        return Err(PageError(
            AppError::Forbidden("会商由区协调办召集。".into()),
            Some(Box::new(s.clone())),
        ));
    }
    let (st, who) = (state.clone(), s.principal.clone());
    let (departments, townships, requests) = blocking(move || {
        st.db.read(|c| {
            let d = crate::reference::departments(c)?
                .into_iter()
                .filter(|d| d.active != 0)
                .map(|d| (d.code, d.name))
                .collect::<Vec<_>>();
            let t = crate::reference::townships(c)?
                .into_iter()
                .filter(|t| t.active != 0)
                .map(|t| (t.code, t.name))
                .collect::<Vec<_>>();
            let r = consultations::requests(c, &who, Some("pending"))?
                .into_iter()
                .map(|r| (r.id, r.topic))
                .collect::<Vec<_>>();
            Ok((d, t, r))
        })
    })
    .await
    .page(s)?;
    let page = NewPage {
        ctx: page_ctx(state, s, req, "召集会商", "/consultations").await,
        form,
        errors,
        departments,
        townships,
        requests,
    };
    Ok(render_form(&page, !page.errors.is_empty()))
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let tomorrow = state.today() + chrono::Duration::days(1);
    // From a request's page (安排会商): that request is on the agenda already.
    let chosen = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("request").cloned())
        .filter(|r| !r.is_empty() && r.len() <= 64);
    let form = NewForm {
        starts_at: format!("{tomorrow}T09:30"),
        ends_at: format!("{tomorrow}T11:00"),
        requests: chosen.into_iter().collect(),
        ..NewForm::default()
    };
    new_page(&state, &s, &req, form, Vec::new()).await
}

fn checked(m: &HashMap<String, String>, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = m
        .keys()
        .filter_map(|k| k.strip_prefix(prefix).map(str::to_owned))
        .collect();
    v.sort();
    v
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let m = form.form;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let f = NewForm {
        topic: get("topic"),
        starts_at: get("starts_at"),
        ends_at: get("ends_at"),
        place: get("place"),
        online_url: get("online_url"),
        departments: checked(&m, "dept."),
        townships: checked(&m, "town."),
        requests: checked(&m, "request."),
        agenda: get("agenda"),
        users: get("users"),
    };
    // The agenda: one item a line; each request chosen becomes an item of its own.
    let mut agenda: Vec<consultations::NewAgendaItem> = f
        .agenda
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| consultations::NewAgendaItem {
            title: l.to_owned(),
            lead_id: None,
            mine_id: None,
            hazard_id: None,
            request_id: None,
        })
        .collect();
    let (st, who) = (state.clone(), s.principal.clone());
    let chosen = f.requests.clone();
    let usernames: Vec<String> = f
        .users
        .lines()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .take(crate::consultations::rules::MAX_INVITEES + 1)
        .collect();
    let (topics, people, unknown) = blocking(move || {
        st.db.read(|c| {
            let all = consultations::requests(c, &who, Some("pending"))?;
            let topics = chosen
                .iter()
                .filter_map(|id| all.iter().find(|r| &r.id == id))
                .map(|r| (r.id.clone(), r.topic.clone()))
                .collect::<Vec<_>>();
            let (mut people, mut unknown) = (Vec::new(), Vec::new());
            for u in &usernames {
                match crate::accounts::find_by_username(c, u)? {
                    Some(user) if user.active != 0 => people.push(user.id),
                    _ => unknown.push(u.clone()),
                }
            }
            Ok((topics, people, unknown))
        })
    })
    .await
    .page(&s)?;
    if !unknown.is_empty() {
        let message = format!("没有这些在用的用户：{}", unknown.join("、"));
        return new_page(&state, &s, &req, f, vec![message]).await;
    }
    agenda.extend(
        topics
            .into_iter()
            .map(|(id, topic)| consultations::NewAgendaItem {
                title: format!("会商申请：{topic}"),
                lead_id: None,
                mine_id: None,
                hazard_id: None,
                request_id: Some(id),
            }),
    );
    let input = consultations::NewMeeting {
        topic: f.topic.clone(),
        starts_at: f.starts_at.clone(),
        ends_at: f.ends_at.clone(),
        place: f.place.clone(),
        online_url: Some(f.online_url.clone()),
        invited_departments: f.departments.clone(),
        invited_townships: f.townships.clone(),
        invited_users: people,
        agenda,
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|c| consultations::convene(c, &who, now, input).map(|m| m.id))
    })
    .await;
    match result {
        Ok(id) => Ok(redirect(&format!("/consultations/{id}?ok=created"))),
        Err(AppError::Validation(errors)) => new_page(&state, &s, &req, f, messages(&errors)).await,
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

#[derive(Template)]
#[template(path = "consultation.html")]
struct DetailPage {
    ctx: PageCtx,
    v: MeetingView,
    /// "2026-03-10 09:30 至 11:00"
    when: String,
    errors: Vec<String>,
    /// The reader answers for one of the invitees and may still answer.
    answer_for: Option<(String, String)>,
    may_change: bool,
    minutes: Option<crate::consultations::minutes::MinutesView>,
    may_approve: bool,
    may_supplement: bool,
    minutes_form: Option<minutes::MinutesForm>,
    departments: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    mines: Vec<(String, String)>,
    /// The office's view of invitations that could not be delivered: (address, why).
    undelivered: Vec<(String, String)>,
}

async fn detail_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: Vec<String>,
    typed: Option<minutes::MinutesForm>,
) -> PageResult {
    let (st, who, tid, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_owned(),
        state.clock.now_naive(),
    );
    let (v, section, undelivered) = blocking(move || {
        st.db.read(|c| {
            let m = consultations::load(c, &who, &tid)?;
            let v = consultations::view(c, &m, now)?;
            let section = minutes::section(c, &who, now, &v, now >= m.starts_at, typed)?;
            let undelivered = if policy::reads_all(&who) {
                crate::notify::outbox::undelivered(c, &format!("/consultations/{}", m.id))?
            } else {
                Vec::new()
            };
            Ok((v, section, undelivered))
        })
    })
    .await
    .page(s)?;
    let open = v.state.is_open();
    let answer_for = open
        .then(|| {
            v.invitees
                .iter()
                .find(|i| policy::answers_for(&s.principal, i.kind, &i.unit))
                .map(|i| (i.unit.clone(), i.name.clone()))
        })
        .flatten();
    let mut ctx = page_ctx(state, s, req, &v.number, "/consultations").await;
    let said: Option<&str> = match req.query_string() {
        q if q.contains("ok=created") => Some("会商已召集，邀请已发出（含日历邀请）。"),
        q if q.contains("ok=attended") => Some("报到情况已提交。"),
        q if q.contains("ok=changed") => Some("会商时间或地点已变更，已重新发出邀请。"),
        q if q.contains("ok=cancelled") => Some("会商已取消，已通知各被邀请单位。"),
        q if q.contains("ok=reminded") => Some("已提醒未答复的单位。"),
        q if q.contains("ok=minuted") => Some("纪要草稿已保存，待协调办负责人审定。"),
        q if q.contains("ok=approved") => {
            Some("纪要已审定印发，议定事项已列入督办台账并通知各单位。")
        }
        q if q.contains("ok=supplemented") => Some("补充纪要已追加并通知各单位。"),
        _ => None,
    };
    if let Some(said) = said {
        ctx.flash = Some(said.into());
    }
    let page = DetailPage {
        ctx,
        when: format!(
            "{} 至 {}",
            v.starts_at.replace('T', " "),
            v.ends_at.replace('T', " ")
        ),
        may_change: open && policy::may_convene(&s.principal),
        answer_for,
        errors,
        v,
        minutes: section.minutes,
        may_approve: section.may_approve,
        may_supplement: section.may_supplement,
        minutes_form: section.form,
        departments: section.departments,
        kinds: minutes::kinds(),
        mines: section.mines,
        undelivered,
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
    detail_page(&state, &s, &req, &id, Vec::new(), None).await
}

/// A step from a form on the meeting's page, in one transaction: back to the page, or the
/// page again with what was wrong.
pub(super) async fn act(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: Session,
    id: &str,
    ok: &str,
    step: impl FnOnce(
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
    let result = blocking(move || st.db.transaction(|c| step(c, &who, now, &tid))).await;
    match result {
        Ok(()) => Ok(redirect(&format!("/consultations/{id}?ok={ok}"))),
        Err(e) => match shown_again(&e) {
            Some(messages) => detail_page(state, &s, req, id, messages, None).await,
            None => Err(PageError(e, Some(Box::new(s)))),
        },
    }
}

#[derive(serde::Deserialize)]
struct AttendForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    attending: String,
    #[serde(default)]
    attendee_name: String,
    #[serde(default)]
    reason: String,
}

async fn attend(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<AttendForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = consultations::Attendance {
        unit: Some(f.unit),
        attending: f.attending == "yes",
        attendee_name: f.attendee_name,
        reason: f.reason,
    };
    act(&state, &req, s, &id, "attended", move |c, who, now, tid| {
        consultations::attend(c, who, now, tid, input).map(|_| ())
    })
    .await
}

#[derive(serde::Deserialize)]
struct ChangeForm {
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    online_url: String,
    #[serde(default)]
    version: String,
}

async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ChangeForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = consultations::MeetingChange {
        starts_at: Some(f.starts_at),
        ends_at: Some(f.ends_at),
        place: Some(f.place),
        online_url: Some(f.online_url),
        version: f.version.parse().ok(),
    };
    act(&state, &req, s, &id, "changed", move |c, who, now, tid| {
        consultations::change(c, who, now, tid, input).map(|_| ())
    })
    .await
}

#[derive(serde::Deserialize)]
struct NoFields {}

async fn remind(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<NoFields>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    act(&state, &req, s, &id, "reminded", move |c, who, now, tid| {
        consultations::remind(c, who, now, tid).map(|_| ())
    })
    .await
}

#[derive(serde::Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<CancelForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let reason = form.form.reason;
    act(
        &state,
        &req,
        s,
        &id,
        "cancelled",
        move |c, who, now, tid| consultations::cancel(c, who, now, tid, &reason).map(|_| ()),
    )
    .await
}
