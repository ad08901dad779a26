//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::accounts::api as accounts;
use crate::closures::api as closures;
use crate::consultations::api as consultations;
use crate::desk::api as desk;
use crate::inspections::api as inspections;
use crate::intake::api as intake;
use crate::leads::api as leads;
use crate::mailbox::api as mailbox;
use crate::reference::api as reference;
use crate::register::api::{mines, permits};
use crate::web::{audit, ops};

#[derive(OpenApi)]
#[openapi(
    info(title = "minecoord 非煤矿山行业管理协调平台 API", version = "1", description = "登录后以 `Authorization: Bearer <token>` 调用。错误均为 application/problem+json。"),
    paths(
        accounts::login, accounts::logout, accounts::me, accounts::change_password, accounts::change_email,
        accounts::list_users, accounts::create_user, accounts::get_user, accounts::update_user,
        accounts::disable_user, accounts::enable_user, accounts::unlock_user, accounts::reset_password,
        reference::list_departments, reference::get_department, reference::create_department, reference::update_department,
        reference::list_townships, reference::get_township, reference::create_township, reference::update_township,
        reference::list_lead_categories, reference::get_lead_category, reference::create_lead_category, reference::update_lead_category,
        reference::list_permit_types, reference::get_permit_type, reference::update_permit_type,
        reference::risk_grades, reference::working_days, audit::list_audit,
        mailbox::list_notifications, mailbox::read_notification, mailbox::read_all_notifications,
        mailbox::list_outbox, mailbox::get_outbox_message, mailbox::retry_outbox_message,
        mailbox::cancel_outbox_message, mailbox::get_preferences, mailbox::put_preferences,
        intake::intake_email, intake::list_messages, intake::get_message, intake::raw_message,
        mines::list_mines, mines::create_mine, mines::mine_gaps, mines::get_mine,
        mines::update_mine, mines::change_status, mines::set_risk_grade,
        mines::set_supervisor, mines::mine_history, mines::export_mines, mines::import_mines,
        mines::set_boundary, mines::boundary_svg, mines::list_zones, mines::create_zone,
        mines::get_zone, mines::update_zone,
        desk::district_map,
        inspections::list_items, inspections::create_item, inspections::open_inspection,
        inspections::list_inspections, inspections::get_inspection, inspections::run_inspection,
        inspections::record_results, inspections::complete_inspection, inspections::add_hazard,
        inspections::mine_inspections, inspections::list_hazards, inspections::reinspect_hazard, inspections::hazard_standard, inspections::upload_inspection_file, inspections::get_inspection_file,
        inspections::rate_inspection, inspections::complain_about_inspection,
        inspections::list_plans, inspections::create_plan, inspections::approve_plan,
        inspections::inspection_stats, inspections::export_inspection_stats,
        consultations::list_consultation_requests, consultations::request_consultation,
        consultations::get_consultation_request, consultations::decline_consultation_request, consultations::escalate_lead,
        consultations::list_consultations, consultations::convene_consultation,
        consultations::get_consultation, consultations::change_consultation,
        consultations::cancel_consultation, consultations::attend_consultation, consultations::remind_consultation,
        consultations::rotate_calendar_feed, consultations::revoke_calendar_feed,
        consultations::calendar_feed,
        consultations::get_minutes, consultations::put_minutes, consultations::approve_minutes,
        consultations::supplement_minutes, consultations::list_decisions, consultations::decisions_board, consultations::export_decisions, consultations::get_decision, consultations::add_decision_evidence,
        consultations::report_progress, consultations::review_decision, consultations::close_decision,
        consultations::extend_decision, consultations::open_decision, consultations::decision_file,
        consultations::list_monthly_reports, consultations::draft_monthly_report, consultations::monthly_report_status, consultations::export_monthly_reports,
        consultations::get_monthly_report, consultations::approve_monthly_report, consultations::explain_monthly_report,
        permits::export_permits,
        permits::mine_permits, permits::record_permit, permits::list_permits,
        permits::get_permit, permits::update_permit, permits::decide_permit,
        leads::raise_lead, leads::list_leads, leads::get_lead, leads::acknowledge_lead,
        leads::start_verification, leads::verify_lead, leads::enforce_lead, leads::close_lead,
        leads::comment_lead, leads::lead_stats, leads::export_lead_stats, leads::export_leads,
        leads::lead_duplicates, leads::merge_lead, leads::upload_attachment, leads::get_attachment, leads::transfer_lead, leads::answer_transfer,
        leads::decide_transfer, leads::dispatch_lead, leads::assign_lead, leads::evaluate_lead, leads::reopen_lead,
        reference::list_closure_tasks, reference::get_closure_task, reference::update_closure_task,
        closures::list_closures, closures::open_closure, closures::get_closure, closures::task_step,
        closures::add_closure_task, closures::add_task_evidence, closures::add_decision_file, closures::closure_file,
        closures::record_acceptance, closures::confirm_acceptance, closures::extend_closure, closures::closures_board,
        closures::closure_task_queue, closures::export_closures, closures::watch_list, closures::list_patrols,
        closures::record_patrol,
        ops::healthz, ops::readyz, ops::metrics_text,
    ),
    modifiers(&BearerAuth, &ProblemAnswers),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// Paths answered without signing in (and so never 401 or 403).
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/metrics", "/api/v1/me/calendar.ics"];

/// The error answers every operation can give, declared once as shared responses and
/// referenced from each operation they apply to; every 4xx and 5xx an operation declares
/// itself is a problem document (`application/problem+json`), as the service sends it.
///
/// Which apply: 401 and 403 to every operation that needs a signed-in user (403 also for a
/// missing CSRF token on cookie sessions), 503 to those that use the database; 400, 413
/// and 422 to those with a body (malformed, too large, invalid); 422 to those with query
/// parameters; 404 to those with a path parameter.
struct ProblemAnswers;

impl ProblemAnswers {
    const SHARED: &'static [(&'static str, &'static str, &'static str)] = &[
        (
            "400",
            "BadRequest",
            "请求格式有误（如 JSON 不完整、请求体为空）",
        ),
        ("401", "Unauthorized", "未登录、登录已失效或账号已停用"),
        (
            "403",
            "Forbidden",
            "无权进行此操作（角色或单位不符，或缺少 CSRF 令牌）",
        ),
        ("404", "NotFound", "记录或地址不存在"),
        ("413", "PayloadTooLarge", "请求体或文件超过大小上限"),
        (
            "422",
            "Unprocessable",
            "输入有误：errors 中逐项列出字段与原因",
        ),
        ("503", "Unavailable", "数据库暂不可用，请稍后重试"),
    ];
    const PROBLEM: &'static str = "application/problem+json";

    fn problem_content() -> utoipa::openapi::RefOr<utoipa::openapi::content::Content> {
        utoipa::openapi::RefOr::T(utoipa::openapi::content::Content::new(Some(
            utoipa::openapi::Ref::from_schema_name("Problem"),
        )))
    }
}

impl Modify for ProblemAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr, Response};
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in Self::SHARED {
            let mut response = Response::new(*description);
            response
                .content
                .insert(Self::PROBLEM.into(), Self::problem_content());
            components
                .responses
                .insert((*name).into(), RefOr::T(response));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            let path_params = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                // What the operation declares itself stays (its own wording), as a problem.
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (true, RefOr::T(r)) = (status.starts_with(['4', '5']), response) {
                        r.content.clear();
                        r.content
                            .insert(Self::PROBLEM.into(), Self::problem_content());
                    }
                }
                let body = op.request_body.is_some();
                let query = op.parameters.iter().flatten().any(|p| match p {
                    RefOr::T(p) => {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    }
                    RefOr::Ref(_) => false,
                });
                for (status, name, _) in Self::SHARED {
                    let applies = match *status {
                        "401" | "403" | "503" => !public,
                        "400" | "413" => body,
                        "422" => body || query,
                        "404" => path_params,
                        _ => false,
                    };
                    if applies && !op.responses.responses.contains_key(*status) {
                        op.responses
                            .responses
                            .insert((*status).into(), RefOr::Ref(Ref::from_response_name(*name)));
                    }
                }
                if public {
                    op.security = Some(Vec::new());
                }
            }
        }
    }
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
