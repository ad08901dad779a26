//! JSON adapters of reference data: member units, townships, lead categories, permit
//! types, risk grades and the working-day calendar.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::platform::authz::{self, Action, Principal};
use crate::platform::error::{AppError, AppResult, FieldError, Problem};
use crate::platform::pagination::Page;
use crate::platform::rules::calendar::{DayKind, MAX_WORKING_DAYS};
use crate::reference::{
    self, DepartmentInput, DepartmentView, LeadCategoryInput, LeadCategoryView, PermitTypeInput,
    PermitTypeView, TownshipInput, TownshipView,
};
use crate::register::rules::risk_grade::{RiskGrade, ALL_GRADES};
use crate::web::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::web::{blocking, create_once, AppState};

use crate::web::IdempotencyKey;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/departments", web::get().to(list_departments))
        .route("/departments", web::post().to(create_department))
        .route("/departments/{code}", web::get().to(get_department))
        .route("/departments/{code}", web::patch().to(update_department))
        .route("/townships", web::get().to(list_townships))
        .route("/townships", web::post().to(create_township))
        .route("/townships/{code}", web::get().to(get_township))
        .route("/townships/{code}", web::patch().to(update_township))
        .route("/lead-categories", web::get().to(list_lead_categories))
        .route("/lead-categories", web::post().to(create_lead_category))
        .route("/lead-categories/{code}", web::get().to(get_lead_category))
        .route(
            "/lead-categories/{code}",
            web::patch().to(update_lead_category),
        )
        .route("/permit-types", web::get().to(list_permit_types))
        .route("/permit-types/{code}", web::get().to(get_permit_type))
        .route("/permit-types/{code}", web::patch().to(update_permit_type))
        .route("/closure-tasks", web::get().to(list_closure_tasks))
        .route("/closure-tasks/{code}", web::get().to(get_closure_task))
        .route(
            "/closure-tasks/{code}",
            web::patch().to(update_closure_task),
        )
        .route("/risk-grades", web::get().to(risk_grades))
        .route("/calendar/working-days", web::get().to(working_days));
}
// ---- reference data ------------------------------------------------------------------

macro_rules! reference_reads {
    ($list:ident, $get:ident, $path:literal, $tag:literal, $view:ty, $all:path, $one:path) => {
        #[utoipa::path(get, path = $path, tag = $tag, responses((status = 200, body = Page<$view>), (status = 401, body = Problem)))]
        pub async fn $list(state: web::Data<AppState>, user: CurrentUser) -> AppResult<HttpResponse> {
            authz::require(&user.0, Action::ViewReferenceData)?;
            let rows = blocking(move || state.db.read(|conn| $all(conn))).await?;
            Ok(HttpResponse::Ok().json(Page { items: rows.iter().map(<$view>::from).collect::<Vec<_>>(), next_cursor: None }))
        }

        #[utoipa::path(get, path = concat!($path, "/{code}"), tag = $tag, responses((status = 200, body = $view), (status = 404, body = Problem)))]
        pub async fn $get(state: web::Data<AppState>, user: CurrentUser, code: web::Path<String>) -> AppResult<HttpResponse> {
            authz::require(&user.0, Action::ViewReferenceData)?;
            let row = blocking(move || state.db.read(|conn| $one(conn, &code))).await?;
            Ok(HttpResponse::Ok().json(<$view>::from(&row)))
        }
    };
}

reference_reads!(
    list_departments,
    get_department,
    "/api/v1/departments",
    "基础数据",
    DepartmentView,
    reference::departments,
    reference::department
);
reference_reads!(
    list_townships,
    get_township,
    "/api/v1/townships",
    "基础数据",
    TownshipView,
    reference::townships,
    reference::township
);
reference_reads!(
    list_lead_categories,
    get_lead_category,
    "/api/v1/lead-categories",
    "基础数据",
    LeadCategoryView,
    reference::lead_categories,
    reference::lead_category
);
reference_reads!(
    list_permit_types,
    get_permit_type,
    "/api/v1/permit-types",
    "基础数据",
    PermitTypeView,
    reference::permit_types,
    reference::permit_type
);

reference_reads!(
    list_closure_tasks,
    get_closure_task,
    "/api/v1/closure-tasks",
    "基础数据",
    reference::ClosureTaskView,
    reference::closure_tasks,
    reference::closure_task
);

/// Runs a reference-data edit for an admin in one transaction.
pub async fn edit_reference<T: Send + 'static>(
    state: web::Data<AppState>,
    who: Principal,
    f: impl FnOnce(
            &mut crate::platform::db::DbConnection,
            &crate::platform::audit::Actor,
            chrono::NaiveDateTime,
        ) -> AppResult<T>
        + Send
        + 'static,
) -> AppResult<T> {
    authz::require(&who, Action::EditReferenceData)?;
    let now = state.clock.now_naive();
    blocking(move || state.db.transaction(|conn| f(conn, &who.actor(), now))).await
}

/// Adds a row of reference data (admins), once per `Idempotency-Key`.
async fn create_row<T>(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<T::Input>,
) -> AppResult<HttpResponse>
where
    T: reference::Editable + Send + 'static,
    T::Input: Send + 'static,
{
    authz::require(&user.0, Action::EditReferenceData)?;
    let ApiJson(input, digest) = body;
    create_once(
        state,
        user.0,
        &req,
        digest,
        move |c, a, n| reference::save::<T>(c, a, n, None, input),
        |row| Ok(T::View::from(row)),
    )
    .await
}

/// Changes a row of reference data (admins).
async fn update_row<T>(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<T::Input>,
) -> AppResult<HttpResponse>
where
    T: reference::Editable + Send + 'static,
    T::Input: Send + 'static,
{
    let row = edit_reference(state, user.0, move |c, a, n| {
        reference::save::<T>(c, a, n, Some(&code), body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(T::View::from(&row)))
}

/// Add a member unit (admins).
#[utoipa::path(post, path = "/api/v1/departments", tag = "基础数据", request_body = DepartmentInput, params(IdempotencyKey), responses(
    (status = 201, body = DepartmentView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_department(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<DepartmentInput>,
) -> AppResult<HttpResponse> {
    create_row::<reference::Department>(state, req, user, body).await
}

/// Edit a member unit (admins).
#[utoipa::path(patch, path = "/api/v1/departments/{code}", tag = "基础数据", request_body = DepartmentInput, responses(
    (status = 200, body = DepartmentView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_department(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<DepartmentInput>,
) -> AppResult<HttpResponse> {
    update_row::<reference::Department>(state, user, code, body).await
}

/// Add a township (admins).
#[utoipa::path(post, path = "/api/v1/townships", tag = "基础数据", request_body = TownshipInput, params(IdempotencyKey), responses(
    (status = 201, body = TownshipView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_township(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<TownshipInput>,
) -> AppResult<HttpResponse> {
    create_row::<reference::Township>(state, req, user, body).await
}

#[utoipa::path(patch, path = "/api/v1/townships/{code}", tag = "基础数据", request_body = TownshipInput, responses(
    (status = 200, body = TownshipView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_township(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<TownshipInput>,
) -> AppResult<HttpResponse> {
    update_row::<reference::Township>(state, user, code, body).await
}

#[utoipa::path(post, path = "/api/v1/lead-categories", tag = "基础数据", request_body = LeadCategoryInput, params(IdempotencyKey), responses(
    (status = 201, body = LeadCategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_lead_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: ApiJson<LeadCategoryInput>,
) -> AppResult<HttpResponse> {
    create_row::<reference::LeadCategory>(state, req, user, body).await
}

/// Change a category's routing (primary and assisting departments) or its name.
#[utoipa::path(patch, path = "/api/v1/lead-categories/{code}", tag = "基础数据", request_body = LeadCategoryInput, responses(
    (status = 200, body = LeadCategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_lead_category(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<LeadCategoryInput>,
) -> AppResult<HttpResponse> {
    update_row::<reference::LeadCategory>(state, user, code, body).await
}

#[utoipa::path(patch, path = "/api/v1/permit-types/{code}", tag = "基础数据", request_body = PermitTypeInput, responses(
    (status = 200, body = PermitTypeView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_permit_type(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<PermitTypeInput>,
) -> AppResult<HttpResponse> {
    update_row::<reference::PermitType>(state, user, code, body).await
}

/// 关闭退出任务清单: an admin changes a task's name, department, kinds, deadline or use.
#[utoipa::path(patch, path = "/api/v1/closure-tasks/{code}", tag = "基础数据", request_body = reference::ClosureTaskInput, responses(
    (status = 200, body = reference::ClosureTaskView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_closure_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    code: web::Path<String>,
    body: ApiJson<reference::ClosureTaskInput>,
) -> AppResult<HttpResponse> {
    update_row::<reference::ClosureTask>(state, user, code, body).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RiskGradeView {
    pub code: RiskGrade,
    /// A / B / C / D
    pub letter: &'static str,
    pub name: &'static str,
    /// e.g. "D级 · 重大风险"
    pub display: String,
    pub colour: &'static str,
    pub colour_hex: &'static str,
    pub inspection_interval_months: u32,
}

/// The four safety risk grades (矿安〔2023〕1号).
#[utoipa::path(get, path = "/api/v1/risk-grades", tag = "基础数据", responses((status = 200, body = Page<RiskGradeView>)))]
pub async fn risk_grades(_user: CurrentUser) -> HttpResponse {
    let items: Vec<RiskGradeView> = ALL_GRADES
        .iter()
        .map(|g| RiskGradeView {
            code: *g,
            letter: g.letter(),
            name: g.level_name(),
            display: g.display(),
            colour: g.colour_name(),
            colour_hex: g.colour_hex(),
            inspection_interval_months: g.default_inspection_interval_months(),
        })
        .collect();
    HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkingDaysQuery {
    /// Start date, YYYY-MM-DD (not counted).
    pub from: Option<String>,
    /// Number of working days to add, 0 to 3650.
    pub days: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkingDaysAnswer {
    /// The date `days` working days after `from`.
    pub date: String,
    pub from: String,
    pub days: u32,
    /// False when a year crossed has no official calendar loaded (only weekends were skipped).
    pub calendar_complete: bool,
}

/// The date N working days after a date, on the holiday calendar with make-up workdays.
#[utoipa::path(get, path = "/api/v1/calendar/working-days", tag = "基础数据", params(WorkingDaysQuery), responses(
    (status = 200, body = WorkingDaysAnswer), (status = 422, body = Problem)))]
pub async fn working_days(
    state: web::Data<AppState>,
    _user: CurrentUser,
    q: ApiQuery<WorkingDaysQuery>,
) -> AppResult<HttpResponse> {
    let mut errors = Vec::new();
    let from = match q.0.from.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("from", "请提供起始日期，格式为 YYYY-MM-DD"));
            None
        }
        Some(s) => match crate::platform::rules::dates::parse(s, state.today()) {
            Ok(d) => Some(d),
            Err(message) => {
                errors.push(FieldError::new("from", format!("日期 {s:?}：{message}")));
                None
            }
        },
    };
    let days = match q.0.days.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("days", "请提供工作日天数"));
            None
        }
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n <= MAX_WORKING_DAYS => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "days",
                    format!("工作日天数应为 0 到 {MAX_WORKING_DAYS} 之间的整数"),
                ));
                None
            }
        },
    };
    let (Some(from), Some(days)) = (from, days) else {
        return Err(AppError::Validation(errors));
    };
    let date = state
        .calendar
        .add_working_days(from, days)
        .ok_or_else(|| AppError::field("days", "计算结果超出日期范围"))?;
    use chrono::Datelike;
    let complete = (from.year()..=date.year()).all(|y| state.calendar.knows_year(y));
    Ok(HttpResponse::Ok().json(WorkingDaysAnswer {
        date: date.format("%Y-%m-%d").to_string(),
        from: from.format("%Y-%m-%d").to_string(),
        days,
        calendar_complete: complete,
    }))
}

pub fn day_kind_label(kind: &DayKind) -> String {
    match kind {
        DayKind::Workday => "工作日".into(),
        DayKind::Weekend => "周末".into(),
        DayKind::Holiday(n) => format!("{n}（放假）"),
        DayKind::MakeUpWorkday(n) => n.clone(),
    }
}
