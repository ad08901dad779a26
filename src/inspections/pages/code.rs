//! The printable 电子行政检查通知书 with its QR code, and the public page the code opens.

use crate::inspections::rules::InspectionState;
use crate::inspections::{self as inspections};
use crate::platform::error::AppError;
use crate::web::extract::PageSession;
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// What the notice and the public page show of a task.
pub(super) struct NoticeTask {
    number: String,
    mine: String,
    lead: String,
    joint: String,
    window: String,
    state: &'static str,
    basis: &'static str,
    inspectors: Vec<(String, String, String)>,
    items: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "inspection_notice.html")]
pub(super) struct NoticePage {
    title: String,
    heading: String,
    verdict: Option<String>,
    verdict_class: &'static str,
    task: Option<NoticeTask>,
    qr_svg: String,
    phone: String,
    /// What the enterprise can do here about a finished visit.
    rate: RateBox,
}

/// The code page's rating: the form for the mine's own enterprise user, a sign-in link
/// for a visitor, nothing otherwise.
pub(super) enum RateBox {
    None,
    SignIn(String),
    Form {
        task_id: String,
        csrf: String,
        verdicts: Vec<(&'static str, &'static str)>,
    },
}

pub(super) fn notice_task(p: &inspections::PublicTask) -> NoticeTask {
    let t = &p.task;
    NoticeTask {
        number: t.number.clone(),
        mine: p.mine_name.clone(),
        lead: p.departments.first().cloned().unwrap_or_default(),
        joint: p
            .departments
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join("、"),
        window: if t.window_from == t.window_to {
            t.window_from.to_string()
        } else {
            format!("{} 至 {}", t.window_from, t.window_to)
        },
        state: t.state.label(),
        basis: t.basis.label(),
        inspectors: p.inspectors.clone(),
        items: p.items.clone(),
    }
}

/// 电子行政检查通知书: printable, with the QR code that opens the public check page.
pub(super) async fn notice(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (st, who, tid) = (state.clone(), s.principal.clone(), id.into_inner());
    let public = blocking(move || {
        st.db.read(|conn| {
            let task = inspections::load(conn, &who, &tid)?;
            inspections::by_code(conn, &task.code)
        })
    })
    .await
    .page(&s)?
    .ok_or_else(|| AppError::NotFound("没有这个检查任务。".into()))
    .page(&s)?;
    let url = format!(
        "{}/public/inspections/{}",
        state.settings.http.public_base_url.trim_end_matches('/'),
        public.task.code
    );
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(150, 150)
                .build()
        })
        .unwrap_or_default();
    let page = NoticePage {
        title: format!("电子行政检查通知书 {}", public.task.number),
        heading: "电子行政检查通知书".into(),
        verdict: None,
        verdict_class: "",
        task: Some(notice_task(&public)),
        qr_svg,
        phone: state.settings.public.complaint_phone.clone(),
        rate: RateBox::None,
    };
    Ok(render(&page))
}

/// The page an inspection code opens, for anyone: genuine and current, finished,
/// cancelled, or not a code of this system.
pub(super) async fn public_code(
    state: web::Data<AppState>,
    ps: PageSession,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let (st, c, who) = (
        state.clone(),
        code.clone(),
        ps.0.as_ref().map(|s| s.principal.clone()),
    );
    let (found, may_rate) = blocking(move || {
        st.db.read(|conn| {
            let found = inspections::by_code(conn, c.trim())?;
            let may_rate = match (&found, &who) {
                (Some(p), Some(w)) => inspections::may_rate(conn, w, &p.task)?,
                _ => false,
            };
            Ok((found, may_rate))
        })
    })
    .await?;
    let today = state.today();
    let phone = state.settings.public.complaint_phone.clone();
    let Some(p) = found else {
        let page = NoticePage {
            title: "检查码核验".into(),
            heading: String::new(),
            verdict: Some(format!(
                "查无此检查码：这不是本平台发出的检查码，可能是伪造的。请拒绝无码检查，并拨打 {phone} 反映。"
            )),
            verdict_class: "bad",
            task: None,
            qr_svg: String::new(),
            phone,
            rate: RateBox::None,
        };
        let mut resp = render(&page);
        *resp.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
        return Ok(resp);
    };
    let t = &p.task;
    let (verdict, class) = match t.state {
        InspectionState::Cancelled => (
            "该检查任务已取消，检查人员不应再据此入企检查。".to_owned(),
            "bad",
        ),
        InspectionState::Completed | InspectionState::Archived => (
            format!(
                "该检查任务真实有效，已于 {} 完成。",
                t.completed_at
                    .map(|c| crate::platform::clock::shanghai_date(c).to_string())
                    .unwrap_or_default()
            ),
            "ok",
        ),
        _ if today > t.window_to => (
            format!(
                "该检查码已过期：检查时间为 {} 至 {}。",
                t.window_from, t.window_to
            ),
            "bad",
        ),
        _ if today < t.window_from => (
            format!(
                "该检查任务真实有效，但检查时间为 {} 起，尚未开始。",
                t.window_from
            ),
            "ok",
        ),
        _ => ("该检查任务真实有效，正在检查时间内。".to_owned(), "ok"),
    };
    let page = NoticePage {
        title: format!("检查码核验 {}", t.number),
        heading: format!("检查任务 {}", t.number),
        verdict: Some(verdict),
        verdict_class: class,
        task: Some(notice_task(&p)),
        qr_svg: String::new(),
        phone,
        rate: match (&ps.0, may_rate) {
            (Some(s), true) => RateBox::Form {
                task_id: t.id.clone(),
                csrf: s.csrf.clone(),
                verdicts: crate::inspections::rules::Verdict::ALL
                    .iter()
                    .map(|v| (v.code(), v.label()))
                    .collect(),
            },
            (None, _) if t.state.is_finished() => {
                RateBox::SignIn(format!("/login?next=/public/inspections/{}", code.trim()))
            }
            _ => RateBox::None,
        },
    };
    Ok(render(&page))
}
