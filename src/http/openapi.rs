//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{api, intake_api, leads_api, mines_api, ops, outbox_api, permits_api};

#[derive(OpenApi)]
#[openapi(
    info(title = "minecoord 非煤矿山行业管理协调平台 API", version = "1", description = "登录后以 `Authorization: Bearer <token>` 调用。错误均为 application/problem+json。"),
    paths(
        api::login, api::logout, api::me, api::change_password,
        api::list_users, api::create_user, api::get_user, api::update_user,
        api::disable_user, api::enable_user, api::unlock_user, api::reset_password,
        api::list_departments, api::get_department, api::create_department, api::update_department,
        api::list_townships, api::get_township, api::create_township, api::update_township,
        api::list_lead_categories, api::get_lead_category, api::create_lead_category, api::update_lead_category,
        api::list_permit_types, api::get_permit_type, api::update_permit_type,
        api::risk_grades, api::working_days, api::list_audit,
        api::list_notifications, api::read_notification, api::read_all_notifications,
        outbox_api::list_outbox, outbox_api::get_outbox_message, outbox_api::retry_outbox_message,
        outbox_api::cancel_outbox_message, outbox_api::get_preferences, outbox_api::put_preferences,
        intake_api::intake_email, intake_api::list_messages, intake_api::get_message, intake_api::raw_message,
        mines_api::list_mines, mines_api::create_mine, mines_api::mine_gaps, mines_api::get_mine,
        mines_api::update_mine, mines_api::change_status, mines_api::set_risk_grade,
        mines_api::set_supervisor, mines_api::mine_history, mines_api::export_mines, mines_api::import_mines,
        mines_api::set_boundary, mines_api::boundary_svg, mines_api::list_zones, mines_api::create_zone,
        mines_api::get_zone, mines_api::update_zone,
        permits_api::export_permits,
        permits_api::mine_permits, permits_api::record_permit, permits_api::list_permits,
        permits_api::get_permit, permits_api::update_permit, permits_api::decide_permit,
        leads_api::raise_lead, leads_api::list_leads, leads_api::get_lead, leads_api::acknowledge_lead,
        leads_api::start_verification, leads_api::verify_lead, leads_api::enforce_lead, leads_api::close_lead,
        leads_api::comment_lead, leads_api::lead_stats, leads_api::export_leads,
        leads_api::lead_duplicates, leads_api::merge_lead, leads_api::upload_attachment, leads_api::get_attachment, leads_api::transfer_lead, leads_api::answer_transfer,
        leads_api::decide_transfer, leads_api::escalate_lead, leads_api::evaluate_lead, leads_api::reopen_lead,
        ops::healthz, ops::readyz, ops::metrics_text,
    ),
    modifiers(&BearerAuth),
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

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
