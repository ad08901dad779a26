//! 群众反映: anyone, without signing in, reports a problem about a mine from its public page
//! or the placard's QR code. The report becomes a lead of the coordination office (其他,
//! to be divided), source 群众反映. Bounded per address and in all per hour, before any
//! work is done.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::leads::PublicReport;
use crate::platform::error::{AppError, FieldError};
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/public/mines/{id}/report", web::get().to(report_form))
        .route("/public/mines/{id}/report", web::post().to(report));
}

fn fields(r: &PublicReport) -> Vec<Field> {
    vec![
        Field::new("description", "反映的问题", "textarea", &r.description)
            .required()
            .help("请写明看到的情况、时间和具体位置，如：夜间开采、越界开采、扬尘、尾矿库渗漏。"),
        Field::new("name", "您的称呼（可不填）", "text", &r.name),
        Field::new("phone", "联系电话（可不填）", "tel", &r.phone)
            .help("留下电话便于工作人员向您核实情况，不对外公开。"),
    ]
}

#[derive(serde::Deserialize)]
struct Shown {
    /// The number of the lead just made, shown back to the person.
    ok: Option<String>,
}

/// A lead number as the service writes them (XS-2026-000123), nothing else echoed back.
fn is_lead_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 14
        && s.starts_with("XS-")
        && b[7] == b'-'
        && b[3..7].iter().chain(&b[8..]).all(u8::is_ascii_digit)
}

async fn page(
    state: &web::Data<AppState>,
    mine_id: String,
    report: &PublicReport,
    errors: &[FieldError],
    done: Option<String>,
) -> Result<HttpResponse, PageError> {
    let st = state.clone();
    let mine = blocking(move || {
        st.db
            .read(|conn| crate::register::mines::find(conn, &mine_id))
    })
    .await?;
    if mine.status() == crate::register::rules::mine::MineStatus::IllegalSite {
        return Err(AppError::NotFound("没有这座矿山的公示信息。".into()).into());
    }
    let mut fields = fields(report);
    let general = attach_errors(&mut fields, errors);
    let phone = &state.settings.public.complaint_phone;
    let mut ctx = public_ctx("反映问题");
    let intro = match &done {
        Some(number) => {
            ctx.flash = Some(format!(
                "已收到您反映的问题，编号 {number}。区协调办将分派给负责的部门核查处理；如需查询，请拨打 {phone} 并告知编号。"
            ));
            "感谢您的监督。如还有其他情况，可以继续反映。".to_owned()
        }
        None => format!(
            "向区非煤矿山协调机制办公室反映“{}”的问题，无需登录。紧急情况请直接拨打 {phone}。",
            mine.name
        ),
    };
    let page = FormPage {
        ctx,
        heading: format!("反映问题：{}", mine.name),
        intro: Some(intro),
        errors: general,
        editable: true,
        action: format!("/public/mines/{}/report", mine.id),
        fields,
        submit_label: "提交",
        back_href: Some(format!("/public/mines/{}", mine.id)),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn report_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let shown = web::Query::<Shown>::from_query(req.query_string())
        .map(|q| q.into_inner().ok)
        .unwrap_or_default()
        .filter(|n| is_lead_number(n));
    page(
        &state,
        id.into_inner(),
        &PublicReport::default(),
        &[],
        shown,
    )
    .await
}

async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<PublicReport>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let ip = crate::web::client_ip(&state, &req);
    let (per_address, all) = &state.public_reports;
    if per_address.blocked_until(&ip, now).is_some() || all.blocked_until(&(), now).is_some() {
        return Err(AppError::RateLimited {
            detail: format!(
                "提交太频繁，请一小时后再试；紧急情况请拨打投诉举报电话 {}。",
                state.settings.public.complaint_phone
            ),
            retry_after_secs: 3600,
        }
        .into());
    }
    let report = form.into_inner();
    let (st, mine_id, input, at) = (
        state.clone(),
        id.clone(),
        report.clone(),
        state.clock.now_naive(),
    );
    let made = blocking(move || {
        st.db
            .transaction(|conn| crate::leads::report_from_public(&st, conn, &mine_id, input, at))
    })
    .await;
    match made {
        Ok(lead) => {
            per_address.record_failure(ip, now);
            all.record_failure((), now);
            Ok(redirect(&format!(
                "/public/mines/{}/report?ok={}",
                id.as_str(),
                lead.number
            )))
        }
        Err(AppError::Validation(errors)) => {
            page(&state, id.into_inner(), &report, &errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_lead_numbers_are_shown_back() {
        assert!(super::is_lead_number("XS-2026-000123"));
        for bad in [
            "XS-2026-00012",
            "<script>",
            "XS-2026-00012a",
            "YS-2026-000123",
            "",
        ] {
            assert!(!super::is_lead_number(bad), "{bad}");
        }
    }
}
