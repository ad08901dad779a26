//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::accounts::api as accounts;
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
        accounts::login, accounts::logout, accounts::me, accounts::change_password,
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
        permits::export_permits,
        permits::mine_permits, permits::record_permit, permits::list_permits,
        permits::get_permit, permits::update_permit, permits::decide_permit,
        leads::raise_lead, leads::list_leads, leads::get_lead, leads::acknowledge_lead,
        leads::start_verification, leads::verify_lead, leads::enforce_lead, leads::close_lead,
        leads::comment_lead, leads::lead_stats, leads::export_leads,
        leads::lead_duplicates, leads::merge_lead, leads::upload_attachment, leads::get_attachment, leads::transfer_lead, leads::answer_transfer,
        leads::decide_transfer, leads::escalate_lead, leads::evaluate_lead, leads::reopen_lead,
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
