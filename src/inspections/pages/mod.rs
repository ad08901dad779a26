//! 综合查一次 pages: the tasks, opening one, the task page where each department records
//! its results on the phone and hazards are re-inspected, the printable notice with its
//! inspection code, the public page the code opens, the hazards and the catalogue.

use std::collections::HashMap;

use actix_web::web;

use crate::platform::error::{AppError, FieldError};
use crate::web::{blocking, AppState};

mod catalogue;
mod code;
mod enterprise;
mod plans;
mod stats;
mod tasks;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/inspections", web::get().to(tasks::list))
        .route("/inspections/new", web::get().to(tasks::new_form))
        .route("/inspections/new", web::post().to(tasks::create))
        .route("/inspections/stats", web::get().to(stats::stats_page))
        .route(
            "/inspections/hazard-standard",
            web::get().to(catalogue::hazard_standard),
        )
        .route("/inspections/{id}", web::get().to(tasks::detail))
        .route("/inspections/{id}/notice", web::get().to(code::notice))
        .route("/inspections/{id}/files/{file}", web::get().to(tasks::file))
        .route("/inspections/{id}/results", web::post().to(tasks::results))
        .route("/inspections/{id}/hazards", web::post().to(tasks::hazard))
        .route("/inspections/{id}/{step}", web::post().to(tasks::step))
        .route("/hazards", web::get().to(tasks::hazards))
        .route("/hazards/{id}/reinspect", web::post().to(tasks::reinspect))
        .route("/inspection-items", web::get().to(catalogue::catalogue))
        .route("/inspection-items/new", web::get().to(catalogue::new_item))
        .route("/inspection-items", web::post().to(catalogue::add_item))
        .route("/my-inspections", web::get().to(enterprise::own))
        .route(
            "/my-inspections/{id}/rating",
            web::post().to(enterprise::own_rate),
        )
        .route(
            "/my-inspections/{id}/complaint",
            web::post().to(enterprise::own_complaint),
        )
        .route(
            "/public/inspections/{code}",
            web::get().to(code::public_code),
        )
        .route("/inspection-plans", web::get().to(plans::plans_page))
        .route("/inspection-plans", web::post().to(plans::create_plan))
        .route("/inspection-plans/new", web::get().to(plans::new_plan))
        .route(
            "/inspection-plans/{id}/approve",
            web::post().to(plans::approve),
        )
        .route(
            "/public/inspection-plans",
            web::get().to(plans::public_plans),
        );
}

/// Department names by code.
pub(super) async fn names(
    state: &web::Data<AppState>,
) -> Result<HashMap<String, String>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(crate::reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

pub(super) fn name(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

pub(super) fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.message.clone()).collect()
}
