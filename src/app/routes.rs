//! The route table: every capability's JSON routes under `/api/v1` and its pages. Order
//! matters where paths overlap (`/users/new` before `/users/{id}`); each capability keeps
//! its own order, and no two capabilities share a path.

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::web::ops::routes(cfg);
    cfg.service(
        web::scope("/api/v1")
            .route(
                "/openapi.json",
                web::get().to(crate::app::openapi::openapi_json),
            )
            .configure(crate::accounts::api::routes)
            .configure(crate::reference::api::routes)
            .configure(crate::web::audit::api_routes)
            .configure(crate::mailbox::api::routes)
            .configure(crate::intake::api::routes)
            .configure(crate::leads::api::routes)
            .configure(crate::register::api::mines::routes)
            .configure(crate::register::api::permits::routes)
            .configure(crate::desk::api::routes)
            .configure(crate::inspections::api::routes)
            .configure(crate::consultations::api::routes)
            .configure(crate::closures::api::routes)
            .default_service(web::to(crate::web::not_found)),
    );
    crate::web::kit::routes(cfg);
    crate::accounts::pages::routes(cfg);
    crate::desk::pages::routes(cfg);
    crate::reference::pages::routes(cfg);
    crate::web::audit::page_routes(cfg);
    crate::register::pages::mines::routes(cfg);
    crate::register::pages::permits::routes(cfg);
    crate::mailbox::pages::inbox::routes(cfg);
    crate::mailbox::pages::outbox::routes(cfg);
    crate::intake::pages::routes(cfg);
    // Before the leads' pages: their `/leads/{id}/{step}` would take 提请会商 otherwise.
    crate::consultations::pages::lead_routes(cfg);
    crate::leads::pages::routes(cfg);
    crate::inspections::pages::routes(cfg);
    crate::consultations::pages::routes(cfg);
    crate::closures::pages::routes(cfg);
}
