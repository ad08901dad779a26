//! Server-rendered pages in Simplified Chinese. They call the same use cases as the API.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use crate::audit::{self, AuditQuery};
use crate::authz::{self, Action};
use crate::domain::role::{Role, ALL_ROLES};
use crate::error::{AppError, FieldError};
use crate::http::api::{self, ChangePassword, UserAction};
use crate::http::extract::{
    constant_time_eq, PageForm, PageSession, Session, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::http::{blocking, local_time, AppState};
use crate::reference::{self, DepartmentInput, LeadCategoryInput, PermitTypeInput, TownshipInput};
use crate::users::{self, NewUser, UserPatch, UserQuery};

const CSS: &str = include_str!("../../static/app.css");

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(css))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login_submit))
        .route("/logout", web::post().to(logout))
        .route("/", web::get().to(home))
        .route("/account", web::get().to(account))
        .route("/account", web::post().to(account_password))
        .route("/users", web::get().to(users_list))
        .route("/users/new", web::get().to(user_new))
        .route("/users/new", web::post().to(user_create))
        .route("/users/{id}", web::get().to(user_edit))
        .route("/users/{id}", web::post().to(user_save))
        .route("/users/{id}/{action}", web::post().to(user_act))
        .route("/departments", web::get().to(departments_list))
        .route("/departments/new", web::get().to(department_new))
        .route("/departments/new", web::post().to(department_create))
        .route("/departments/{code}", web::get().to(department_edit))
        .route("/departments/{code}", web::post().to(department_save))
        .route("/townships", web::get().to(townships_list))
        .route("/townships/new", web::get().to(township_new))
        .route("/townships/new", web::post().to(township_create))
        .route("/townships/{code}", web::get().to(township_edit))
        .route("/townships/{code}", web::post().to(township_save))
        .route("/lead-categories", web::get().to(categories_list))
        .route("/lead-categories/{code}", web::get().to(category_edit))
        .route("/lead-categories/{code}", web::post().to(category_save))
        .route("/permit-types", web::get().to(permit_types_list))
        .route("/permit-types/{code}", web::get().to(permit_type_edit))
        .route("/permit-types/{code}", web::post().to(permit_type_save))
        .route("/audit", web::get().to(audit_list))
        .route("/calendar", web::get().to(calendar));
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

// ---- page building blocks ---------------------------------------------------------------

pub struct NavUser {
    pub display_name: String,
    pub role_label: &'static str,
    pub unit: String,
}

pub struct PageCtx {
    /// Unread notices of the signed-in user, shown in the header.
    pub unread: i64,
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub nav: Vec<(&'static str, &'static str)>,
    pub active: String,
    pub flash: Option<String>,
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// text | password | email | number | date | select | textarea | checkbox | hidden
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub help: String,
    pub error: Option<String>,
    /// The element id; unique on the page even when several forms share a field name.
    pub dom_id: String,
}

impl Field {
    /// Places the field in a secondary form on the page, giving it a distinct element id.
    pub(crate) fn in_form(mut self, form: &str) -> Self {
        self.dom_id = format!("{form}-{}", self.name);
        self
    }

    pub(crate) fn new(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        value: impl Into<String>,
    ) -> Self {
        Self {
            name,
            label,
            kind,
            value: value.into(),
            options: Vec::new(),
            required: false,
            help: String::new(),
            error: None,
            dom_id: format!("f-{name}"),
        }
    }
    pub(crate) fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub(crate) fn help(mut self, h: impl Into<String>) -> Self {
        self.help = h.into();
        self
    }
    pub(crate) fn options(mut self, o: Vec<(String, String)>) -> Self {
        self.options = o;
        self
    }
    /// The value as shown read-only: the option's label for selects.
    pub fn display(&self) -> String {
        match self.kind {
            "select" => self
                .options
                .iter()
                .find(|o| o.0 == self.value)
                .map(|o| o.1.clone())
                .unwrap_or_else(|| self.value.clone()),
            "checkbox" => if self.value == "true" { "是" } else { "否" }.into(),
            _ => self.value.clone(),
        }
    }
}

/// Puts each field error beside its field; the rest are listed at the top.
pub(crate) fn attach_errors(fields: &mut [Field], errors: &[FieldError]) -> Vec<String> {
    let mut general = Vec::new();
    for e in errors {
        match fields.iter_mut().find(|f| f.name == e.field) {
            Some(f) => f.error = Some(e.message.clone()),
            None => general.push(format!("{}：{}", e.field, e.message)),
        }
    }
    general
}

pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: String,
}

pub(crate) fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: None,
        class: String::new(),
    }
}

/// A cell shown as a coloured badge (`badge-on`, `grade-major`, …): statuses in lists.
pub(crate) fn badge(text: impl Into<String>, class: &str) -> Cell {
    Cell {
        text: text.into(),
        href: None,
        class: class.into(),
    }
}

pub(crate) fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: Some(href.into()),
        class: String::new(),
    }
}

fn yes_no(active: bool) -> Cell {
    Cell {
        text: if active { "启用" } else { "停用" }.into(),
        href: None,
        class: if active { "badge-on" } else { "badge-off" }.into(),
    }
}

pub struct ActionButton {
    pub href: String,
    pub label: &'static str,
    pub confirm: String,
    pub style: &'static str,
    pub fields: Vec<Field>,
}

impl ActionButton {
    /// Whether the panel's form carries files (and so is sent as multipart).
    pub fn has_file(&self) -> bool {
        self.fields.iter().any(|f| f.kind == "file")
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    error: Option<String>,
    username: String,
    next: String,
    max_failed: u32,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    name: String,
    role_label: &'static str,
    unit: String,
    tiles: Vec<(&'static str, &'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    heading: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "form.html")]
pub(crate) struct FormPage {
    pub(crate) ctx: PageCtx,
    pub(crate) heading: String,
    pub(crate) intro: Option<String>,
    pub(crate) errors: Vec<String>,
    pub(crate) editable: bool,
    pub(crate) action: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) submit_label: &'static str,
    pub(crate) back_href: Option<String>,
    pub(crate) actions: Vec<ActionButton>,
    pub(crate) history: Vec<(String, String, String, String)>,
    /// Related pages shown under the heading: (href, label).
    pub(crate) links: Vec<(String, String)>,
    /// Tables shown under the form, e.g. a mine's permits.
    pub(crate) tables: Vec<SubTable>,
    /// An SVG drawing built by the service (labels escaped there), e.g. a mine's boundary.
    pub(crate) drawing: Option<String>,
}

impl FormPage {
    /// Whether the main form carries files (and so is sent as multipart).
    pub(crate) fn has_file(&self) -> bool {
        self.fields.iter().any(|f| f.kind == "file")
    }
}

pub(crate) struct SubTable {
    pub(crate) title: String,
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) empty_text: &'static str,
}

#[derive(Template)]
#[template(path = "table.html")]
pub(crate) struct TablePage {
    pub(crate) ctx: PageCtx,
    pub(crate) heading: String,
    pub(crate) intro: Option<String>,
    pub(crate) new_link: Option<(String, String)>,
    pub(crate) filters: Vec<Field>,
    pub(crate) filter_action: String,
    pub(crate) result: Option<String>,
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) next_href: Option<String>,
    pub(crate) empty_text: &'static str,
    /// The same list as an Excel ledger, with the current filters.
    pub(crate) export_href: Option<String>,
    /// Further actions beside the main one: (href, label).
    pub(crate) more_links: Vec<(String, String)>,
}

pub(crate) fn render(t: &impl Template) -> HttpResponse {
    match t.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => AppError::internal(e).error_response(),
    }
}

pub(crate) fn nav_for(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut nav = vec![("/", "首页")];
    if role != Role::Enterprise {
        nav.push(("/leads", "问题线索"));
    }
    if role != Role::Enterprise {
        nav.push(("/mines", "矿山台账"));
        nav.push(("/mines/gaps", "漏管检查"));
        nav.push(("/permits", "证照与到期提醒"));
        nav.push(("/prohibited-zones", "禁止开采区"));
    }
    if matches!(role, Role::Admin | Role::Coordinator) {
        nav.push(("/users", "用户管理"));
    }
    nav.extend([
        ("/departments", "成员单位"),
        ("/townships", "街镇"),
        ("/lead-categories", "线索类别与分办"),
        ("/permit-types", "证照类型"),
        ("/calendar", "节假日与工作日"),
    ]);
    if matches!(role, Role::Admin | Role::Coordinator) {
        nav.push(("/audit", "操作记录"));
        nav.push(("/intake", "邮件收件记录"));
    }
    if role == Role::Admin {
        nav.push(("/outbox", "发件箱"));
    }
    nav
}

fn flash_text(req: &HttpRequest) -> Option<String> {
    let q = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()?;
    let text = match q.get("ok")?.as_str() {
        "created" => "已创建。",
        "saved" => "已保存。",
        "status" => "状态已变更。",
        "grade" => "安全风险等级已确定。",
        "supervisor" => "日常安全监管部门已确定。",
        "boundary" => "矿区范围已登记，核查结果见下方。",
        "disabled" => "账号已停用，该用户的登录已全部失效。",
        "enabled" => "账号已启用。",
        "unlocked" => "账号已解锁。",
        "password" => "密码已重置，该用户需用新密码重新登录。",
        "own_password" => "密码已修改，请用新密码重新登录其他设备。",
        _ => return None,
    };
    Some(text.into())
}

pub(crate) async fn page_ctx(
    state: &web::Data<AppState>,
    session: &Session,
    req: &HttpRequest,
    title: &str,
    active: &str,
) -> PageCtx {
    let p = &session.principal;
    let unit = unit_name(state, p.department.clone(), p.township.clone()).await;
    let unread = {
        let (st, uid) = (state.clone(), p.id.clone());
        blocking(move || st.db.read(|conn| crate::notify::unread_count(conn, &uid)))
            .await
            .unwrap_or(0)
    };
    PageCtx {
        unread,
        title: title.to_owned(),
        user: Some(NavUser {
            display_name: p.display_name.clone(),
            role_label: p.role.label(),
            unit,
        }),
        csrf: session.csrf.clone(),
        nav: nav_for(p.role),
        active: active.to_owned(),
        flash: flash_text(req),
    }
}

/// The name of the user's department or township, for the header.
async fn unit_name(
    state: &web::Data<AppState>,
    department: Option<String>,
    township: Option<String>,
) -> String {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(match (department, township) {
                (Some(d), _) => reference::department(conn, &d).map(|d| d.name).unwrap_or(d),
                (_, Some(t)) => reference::township(conn, &t).map(|t| t.name).unwrap_or(t),
                _ => String::new(),
            })
        })
    })
    .await
    .unwrap_or_default()
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

pub(crate) fn to_login(req: &HttpRequest) -> HttpResponse {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    redirect(&format!("/login?next={}", url_escape(next)))
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Renders an error for a person. Validation errors on forms are shown on the form instead.
pub fn error_page(err: &AppError, session: Option<&Session>) -> HttpResponse {
    let problem = err.problem();
    let ctx = PageCtx {
        unread: 0,
        title: problem.title.to_owned(),
        user: session.map(|s| NavUser {
            display_name: s.principal.display_name.clone(),
            role_label: s.principal.role.label(),
            unit: String::new(),
        }),
        csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
        nav: session
            .map(|s| nav_for(s.principal.role))
            .unwrap_or_default(),
        active: String::new(),
        flash: None,
    };
    let detail = if problem.errors.is_empty() {
        problem.detail
    } else {
        problem
            .errors
            .iter()
            .map(|e| format!("{}：{}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("；")
    };
    let page = ErrorPage {
        ctx,
        heading: problem.title,
        detail,
    };
    let mut resp = render(&page);
    *resp.status_mut() = err.status_code();
    resp
}

/// What a page handler returns: a response, or an error shown as a page.
pub(crate) type PageResult = Result<HttpResponse, PageError>;

#[derive(Debug)]
pub struct PageError(pub(crate) AppError, pub(crate) Option<Box<Session>>);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0.status_code()
    }
    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = &self.0 {
            tracing::error!(error.cause = %cause, "page failed");
        }
        error_page(&self.0, self.1.as_deref())
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e, None)
    }
}

pub(crate) trait WithSession<T> {
    fn page(self, s: &Session) -> Result<T, PageError>;
}

impl<T> WithSession<T> for Result<T, AppError> {
    fn page(self, s: &Session) -> Result<T, PageError> {
        self.map_err(|e| PageError(e, Some(Box::new(s.clone()))))
    }
}

macro_rules! signed_in {
    ($ps:expr, $req:expr) => {
        match $ps.0 {
            Some(s) => s,
            None => return Ok(to_login(&$req)),
        }
    };
}

// ---- login, home, account -----------------------------------------------------------------

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths: never redirect a person to another site after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

fn anonymous_ctx(csrf: String) -> PageCtx {
    PageCtx {
        unread: 0,
        title: "登录".into(),
        user: None,
        csrf,
        nav: Vec::new(),
        active: String::new(),
        flash: None,
    }
}

fn login_csrf_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.http.cookie_secure)
        .finish()
}

async fn login_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> HttpResponse {
    let q = web::Query::<NextQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(NextQuery { next: None });
    let next = safe_next(q.next.as_deref());
    if ps.0.is_some() {
        return redirect(&next);
    }
    let csrf = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_else(|| crate::auth::random_token(16));
    let page = LoginPage {
        ctx: anonymous_ctx(csrf.clone()),
        error: None,
        username: String::new(),
        next,
        max_failed: state.settings.auth.max_failed_logins,
    };
    let mut resp = render(&page);
    let _ = resp.add_cookie(&login_csrf_cookie(&state, csrf));
    resp
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let cookie_csrf = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let fresh_csrf = crate::auth::random_token(16);
    let fail = |status: actix_web::http::StatusCode, message: String, username: String| {
        let page = LoginPage {
            ctx: anonymous_ctx(fresh_csrf.clone()),
            error: Some(message),
            username,
            next: next.clone(),
            max_failed: state.settings.auth.max_failed_logins,
        };
        let mut resp = render(&page);
        *resp.status_mut() = status;
        let _ = resp.add_cookie(&login_csrf_cookie(&state, fresh_csrf.clone()));
        resp
    };
    if cookie_csrf.is_empty() || !constant_time_eq(cookie_csrf.as_bytes(), form.csrf.as_bytes()) {
        return fail(
            actix_web::http::StatusCode::FORBIDDEN,
            "页面已过期，请重新输入后登录。".into(),
            form.username,
        );
    }
    let ip = api::client_ip(&state, &req);
    match api::sign_in(state.clone(), ip, form.username.clone(), form.password).await {
        Ok((token, _claims, _user)) => {
            let ttl = state.durations.token_ttl.as_secs() as i64;
            let cookie = Cookie::build(SESSION_COOKIE, token)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.settings.http.cookie_secure)
                .max_age(time::Duration::seconds(ttl))
                .finish();
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next.clone()))
                .cookie(cookie)
                .finish()
        }
        Err(e) => {
            let p = e.problem();
            let msg = if p.errors.is_empty() {
                p.detail
            } else {
                p.errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("；")
            };
            fail(e.status_code(), msg, form.username)
        }
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(state: web::Data<AppState>, form: PageForm<Empty>) -> PageResult {
    let who = form.session.principal.clone();
    let now = state.clock.now_naive();
    let st = state.clone();
    blocking(move || {
        st.db
            .transaction(|conn| users::revoke_sessions(conn, &who.actor(), now, &who.id))
    })
    .await
    .page(&form.session)?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(gone)
        .finish())
}

async fn home(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let ctx = page_ctx(&state, &s, &req, "首页", "/").await;
    let mut tiles = Vec::new();
    if authz::allowed(&s.principal, Action::ViewMines) {
        tiles.push((
            "/mines",
            "矿山台账",
            "每座矿山的监管部门、风险等级、状态与证照",
        ));
        tiles.push((
            "/mines/gaps",
            "漏管检查",
            "未定监管部门、未定级、超期未检查的矿山",
        ));
    }
    if authz::allowed(&s.principal, Action::ViewUsers) {
        tiles.push(("/users", "用户管理", "账号、角色、所属单位，停用与解锁"));
    }
    tiles.push(("/departments", "成员单位", "协调机制成员单位及其职责"));
    tiles.push(("/townships", "街镇", "属地管理的街镇（吹哨单位）"));
    tiles.push((
        "/lead-categories",
        "线索类别与分办",
        "问题线索按类别分办到主办、协办部门",
    ));
    tiles.push(("/permit-types", "证照类型", "谁审批、谁监管"));
    tiles.push((
        "/calendar",
        "节假日与工作日",
        "办理时限按工作日计算，含调休",
    ));
    if authz::allowed(&s.principal, Action::ViewAudit) {
        tiles.push(("/audit", "操作记录", "所有变更留痕，可校验是否被篡改"));
    }
    let page = HomePage {
        name: s.principal.display_name.clone(),
        role_label: s.principal.role.label(),
        unit: ctx
            .user
            .as_ref()
            .map(|u| u.unit.clone())
            .unwrap_or_default(),
        ctx,
        tiles,
    };
    Ok(render(&page))
}

fn password_fields() -> Vec<Field> {
    vec![
        Field::new("current_password", "当前密码", "password", "").required(),
        Field::new("new_password", "新密码", "password", "")
            .required()
            .help("至少 10 个字符，包含两类以上字符（字母、数字、符号），不能包含用户名。"),
        Field::new("confirm_password", "再次输入新密码", "password", "").required(),
    ]
}

async fn account_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    errors: &[FieldError],
) -> HttpResponse {
    let mut ctx = page_ctx(state, s, req, "我的账号", "/account").await;
    if ctx.flash.is_none() && req.query_string().contains("ok=own_password") {
        ctx.flash = Some("密码已修改。".into());
    }
    let p = &s.principal;
    let actions = match crate::http::outbox_pages::preferences_panel(state, &p.id).await {
        Ok(panel) => vec![panel],
        Err(e) => {
            tracing::warn!(error = %e, "notification preferences unavailable");
            Vec::new()
        }
    };
    let mut fields = password_fields();
    let general = attach_errors(&mut fields, errors);
    let intro = format!(
        "用户名：{}　姓名：{}　角色：{}{}",
        p.username,
        p.display_name,
        p.role.label(),
        ctx.user
            .as_ref()
            .map(|u| if u.unit.is_empty() {
                String::new()
            } else {
                format!("　单位：{}", u.unit)
            })
            .unwrap_or_default()
    );
    let page = FormPage {
        ctx,
        heading: "我的账号 · 修改密码".into(),
        intro: Some(intro),
        errors: general,
        editable: true,
        action: "/account".into(),
        fields,
        submit_label: "修改密码",
        back_href: Some("/".into()),
        actions,
        history: Vec::new(),
        links: vec![("/notifications".into(), "我的通知".into())],
        tables: Vec::new(),
        drawing: None,
    };
    let mut resp = render(&page);
    if !errors.is_empty() {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

async fn account(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    Ok(account_page(&state, &s, &req, &[]).await)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn account_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<PasswordForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    if f.new_password != f.confirm_password {
        return Ok(account_page(
            &state,
            &s,
            &req,
            &[FieldError::new(
                "confirm_password",
                "两次输入的新密码不一致",
            )],
        )
        .await);
    }
    match api::change_own_password(
        state.clone(),
        s.principal.clone(),
        ChangePassword {
            current_password: f.current_password,
            new_password: f.new_password,
        },
    )
    .await
    {
        // The password change ends every session, this one included: sign in again.
        Ok(()) => Ok(redirect("/login?next=/account%3Fok%3Down_password")),
        Err(AppError::Validation(errors)) => Ok(account_page(&state, &s, &req, &errors).await),
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

// ---- users --------------------------------------------------------------------------------

async fn unit_options(
    state: &web::Data<AppState>,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            let mut deps = vec![(String::new(), "（无）".to_owned())];
            deps.extend(
                reference::departments(conn)?
                    .into_iter()
                    .filter(|d| d.active != 0)
                    .map(|d| (d.code, d.name)),
            );
            let mut towns = vec![(String::new(), "（无）".to_owned())];
            towns.extend(
                reference::townships(conn)?
                    .into_iter()
                    .filter(|t| t.active != 0)
                    .map(|t| (t.code, t.name)),
            );
            Ok((deps, towns))
        })
    })
    .await
}

fn role_options() -> Vec<(String, String)> {
    ALL_ROLES
        .iter()
        .map(|r| (r.code().to_owned(), r.label().to_owned()))
        .collect()
}

#[derive(Deserialize, Default)]
struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    mine_id: String,
    #[serde(default)]
    version: String,
}

fn user_fields(
    f: &UserForm,
    is_new: bool,
    deps: Vec<(String, String)>,
    towns: Vec<(String, String)>,
) -> Vec<Field> {
    let mut fields = Vec::new();
    if is_new {
        fields.push(
            Field::new("username", "用户名", "text", &f.username)
                .required()
                .help("3 到 32 位英文字母、数字、下划线、点或连字符，用于登录，创建后不能修改。"),
        );
        fields.push(
            Field::new("password", "初始密码", "password", "")
                .required()
                .help("至少 10 个字符，包含两类以上字符。请通过安全渠道告知本人。"),
        );
    }
    fields.push(Field::new("display_name", "姓名", "text", &f.display_name).required());
    fields.push(
        Field::new("email", "电子邮箱", "email", &f.email)
            .help("用于接收待办和通知邮件，也用于邮件吹哨时识别发件人。"),
    );
    fields.push(
        Field::new("role", "角色", "select", &f.role)
            .options(role_options())
            .required(),
    );
    fields.push(
        Field::new("department", "所属部门", "select", &f.department)
            .options(deps)
            .help("协调办、部门工作人员、部门负责人必选；协调办须属于区自然资源分局。"),
    );
    fields.push(
        Field::new("township", "所属街镇", "select", &f.township)
            .options(towns)
            .help("街镇工作人员必选。"),
    );
    fields.push(
        Field::new("mine_id", "关联矿山编号", "text", &f.mine_id).help("仅矿山企业用户填写。"),
    );
    if !is_new {
        fields.push(Field::new("version", "", "hidden", &f.version));
    }
    fields
}

async fn users_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewUsers).page(&s)?;
    let q = web::Query::<UserQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (deps, towns) = unit_options(&state).await.page(&s)?;
    let st = state.clone();
    let query = q.clone();
    let (rows, next) = blocking(move || st.db.read(|conn| users::list(conn, &query)))
        .await
        .page(&s)?;
    let now = state.clock.now_naive();
    let dep_name = |c: &Option<String>| {
        c.as_ref().map(|c| {
            deps.iter()
                .find(|d| &d.0 == c)
                .map(|d| d.1.clone())
                .unwrap_or(c.clone())
        })
    };
    let town_name = |c: &Option<String>| {
        c.as_ref().map(|c| {
            towns
                .iter()
                .find(|t| &t.0 == c)
                .map(|t| t.1.clone())
                .unwrap_or(c.clone())
        })
    };
    let table_rows = rows
        .iter()
        .map(|u| {
            vec![
                link(&u.username, format!("/users/{}", u.id)),
                cell(&u.display_name),
                cell(u.role().label()),
                cell(
                    dep_name(&u.department)
                        .or(town_name(&u.township))
                        .unwrap_or_default(),
                ),
                cell(u.email.clone().unwrap_or_default()),
                yes_no(u.active != 0),
                cell(if u.is_locked(now) {
                    format!("锁定至 {}", local_time(u.locked_until.unwrap_or(now)))
                } else {
                    String::new()
                }),
                cell(u.last_login_at.map(local_time).unwrap_or_default()),
            ]
        })
        .collect();
    let mut role_opts = vec![(String::new(), "全部角色".to_owned())];
    role_opts.extend(role_options());
    let mut dep_opts = deps.clone();
    dep_opts[0].1 = "全部部门".into();
    let filters = vec![
        Field::new("q", "用户名或姓名", "text", q.q.clone().unwrap_or_default()),
        Field::new("role", "角色", "select", q.role.clone().unwrap_or_default()).options(role_opts),
        Field::new(
            "department",
            "部门",
            "select",
            q.department.clone().unwrap_or_default(),
        )
        .options(dep_opts),
        Field::new(
            "active",
            "状态",
            "select",
            q.active.clone().unwrap_or_default(),
        )
        .options(vec![
            (String::new(), "全部".into()),
            ("true".into(), "启用".into()),
            ("false".into(), "停用".into()),
        ]),
    ];
    let next_href = next.map(|c| {
        let mut q2 = q.clone();
        q2.cursor = Some(c);
        format!(
            "/users?{}",
            serde_urlencoded::to_string(UserQueryOut::from(&q2)).unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "用户管理", "/users").await,
        heading: "用户管理".into(),
        intro: Some("停用账号不会删除其任何记录；停用后该用户的登录立即失效。".into()),
        new_link: authz::allowed(&s.principal, Action::ManageUsers)
            .then(|| ("/users/new".to_owned(), "新建用户".to_owned())),
        filters,
        filter_action: "/users".into(),
        result: None,
        headers: vec![
            "用户名",
            "姓名",
            "角色",
            "所属单位",
            "电子邮箱",
            "状态",
            "锁定",
            "最近登录",
        ],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的用户。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(serde::Serialize)]
struct UserQueryOut {
    q: Option<String>,
    role: Option<String>,
    department: Option<String>,
    active: Option<String>,
    cursor: Option<String>,
}

impl From<&UserQuery> for UserQueryOut {
    fn from(q: &UserQuery) -> Self {
        Self {
            q: q.q.clone(),
            role: q.role.clone(),
            department: q.department.clone(),
            active: q.active.clone(),
            cursor: q.cursor.clone(),
        }
    }
}

async fn user_form_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: &UserForm,
    errors: &[FieldError],
    user_id: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let (deps, towns) = unit_options(state).await.page(s)?;
    let mut fields = user_fields(form, user_id.is_none(), deps, towns);
    let general = attach_errors(&mut fields, errors);
    let editable = authz::allowed(&s.principal, Action::ManageUsers);
    let (heading, action, actions, history) = match user_id {
        None => (
            "新建用户".to_owned(),
            "/users/new".to_owned(),
            Vec::new(),
            Vec::new(),
        ),
        Some(id) => {
            let st = state.clone();
            let uid = id.to_owned();
            let user = blocking(move || st.db.read(|conn| users::find(conn, &uid)))
                .await
                .page(s)?;
            let mut actions = Vec::new();
            if editable {
                if user.active != 0 {
                    actions.push(ActionButton {
                        href: format!("/users/{id}/disable"),
                        label: "停用账号",
                        confirm: "停用后该用户将无法登录，确定停用吗？".into(),
                        style: "danger",
                        fields: Vec::new(),
                    });
                } else {
                    actions.push(ActionButton {
                        href: format!("/users/{id}/enable"),
                        label: "启用账号",
                        confirm: String::new(),
                        style: "secondary",
                        fields: Vec::new(),
                    });
                }
                if user.is_locked(state.clock.now_naive()) || user.failed_logins > 0 {
                    actions.push(ActionButton {
                        href: format!("/users/{id}/unlock"),
                        label: "解除锁定",
                        confirm: String::new(),
                        style: "secondary",
                        fields: Vec::new(),
                    });
                }
                actions.push(ActionButton {
                    href: format!("/users/{id}/reset-password"),
                    label: "重置密码",
                    confirm: String::new(),
                    style: "secondary",
                    fields: vec![Field::new("password", "新密码", "password", "")
                        .help("重置后该用户的登录全部失效。")],
                });
            }
            let history = entity_history(state, "user", id).await.page(s)?;
            let status = if user.active != 0 {
                "启用"
            } else {
                "已停用"
            };
            (
                format!(
                    "用户 {}（{}）· {}",
                    user.display_name, user.username, status
                ),
                format!("/users/{id}"),
                actions,
                history,
            )
        }
    };
    let page = FormPage {
        ctx: page_ctx(state, s, req, &heading, "/users").await,
        heading,
        intro: None,
        errors: general,
        editable,
        action,
        fields,
        submit_label: "保存",
        back_href: Some("/users".into()),
        actions,
        history,
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
    };
    let mut resp = render(&page);
    if !errors.is_empty() {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// The latest changes to one record, for the history table under its form.
pub(crate) async fn entity_history(
    state: &web::Data<AppState>,
    entity: &'static str,
    id: &str,
) -> Result<Vec<(String, String, String, String)>, AppError> {
    let st = state.clone();
    let q = AuditQuery {
        entity: Some(entity.into()),
        entity_id: Some(id.into()),
        limit: Some(20),
        ..Default::default()
    };
    let (rows, _) = blocking(move || st.db.read(|conn| audit::list(conn, &q))).await?;
    Ok(rows
        .into_iter()
        .map(|e| {
            (
                local_time(e.occurred_at),
                e.actor_name,
                action_label(&e.action).to_owned(),
                e.after_json.unwrap_or_default(),
            )
        })
        .collect())
}

fn action_label(action: &str) -> &str {
    match action {
        "create" => "创建",
        "update" => "修改",
        "disable" => "停用",
        "enable" => "启用",
        "unlock" => "解锁",
        "lock" => "锁定",
        "reset_password" => "重置密码",
        "logout" => "退出登录",
        "suspend" => "暂扣",
        "revoke" => "吊销",
        "cancel" => "注销",
        "reinstate" => "恢复",
        "status" => "变更状态",
        "risk_grade" => "确定风险等级",
        "supervisor" => "确定监管部门",
        other => other,
    }
}

async fn user_new(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ManageUsers).page(&s)?;
    let form = UserForm {
        role: "officer".into(),
        ..Default::default()
    };
    user_form_page(&state, &s, &req, &form, &[], None).await
}

async fn user_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<UserForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = NewUser {
        username: f.username.clone(),
        password: f.password.clone(),
        display_name: f.display_name.clone(),
        email: Some(f.email.clone()),
        role: f.role.clone(),
        department: Some(f.department.clone()),
        township: Some(f.township.clone()),
        mine_id: Some(f.mine_id.clone()),
    };
    match api::create_user_as(state.clone(), s.principal.clone(), input).await {
        Ok(u) => Ok(redirect(&format!("/users/{}?ok=created", u.id))),
        Err(AppError::Validation(errors)) => {
            user_form_page(&state, &s, &req, &f, &errors, None).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn user_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewUsers).page(&s)?;
    let st = state.clone();
    let uid = id.clone();
    let u = blocking(move || st.db.read(|conn| users::find(conn, &uid)))
        .await
        .page(&s)?;
    let form = UserForm {
        username: u.username.clone(),
        password: String::new(),
        display_name: u.display_name.clone(),
        email: u.email.clone().unwrap_or_default(),
        role: u.role.clone(),
        department: u.department.clone().unwrap_or_default(),
        township: u.township.clone().unwrap_or_default(),
        mine_id: u.mine_id.clone().unwrap_or_default(),
        version: u.version.to_string(),
    };
    user_form_page(&state, &s, &req, &form, &[], Some(&id)).await
}

async fn user_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<UserForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let patch = UserPatch {
        display_name: Some(f.display_name.clone()),
        email: Some(f.email.clone()),
        role: Some(f.role.clone()),
        department: Some(f.department.clone()),
        township: Some(f.township.clone()),
        mine_id: Some(f.mine_id.clone()),
        version: f.version.parse().ok(),
    };
    match api::update_user_as(state.clone(), s.principal.clone(), id.clone(), patch).await {
        Ok(u) => Ok(redirect(&format!("/users/{}?ok=saved", u.id))),
        Err(AppError::Validation(errors)) => {
            user_form_page(&state, &s, &req, &f, &errors, Some(&id)).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

#[derive(Deserialize)]
struct OptionalPassword {
    password: Option<String>,
}

async fn user_act(
    state: web::Data<AppState>,
    form: PageForm<OptionalPassword>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = form.session;
    let (id, action) = path.into_inner();
    let ok = match action.as_str() {
        "disable" => api::user_action_as(
            state.clone(),
            s.principal.clone(),
            id.clone(),
            UserAction::Disable,
        )
        .await
        .map(|_| "disabled"),
        "enable" => api::user_action_as(
            state.clone(),
            s.principal.clone(),
            id.clone(),
            UserAction::Enable,
        )
        .await
        .map(|_| "enabled"),
        "unlock" => api::user_action_as(
            state.clone(),
            s.principal.clone(),
            id.clone(),
            UserAction::Unlock,
        )
        .await
        .map(|_| "unlocked"),
        "reset-password" => api::reset_password_as(
            state.clone(),
            s.principal.clone(),
            id.clone(),
            form.form.password.unwrap_or_default(),
        )
        .await
        .map(|_| "password"),
        _ => Err(AppError::NotFound("没有这个操作。".into())),
    }
    .page(&s)?;
    Ok(redirect(&format!("/users/{id}?ok={ok}")))
}

// ---- reference data -----------------------------------------------------------------------

pub(crate) fn parse_int(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<i32> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(field, "应为整数"));
            None
        }
    }
}

#[allow(clippy::too_many_arguments)] // one call per reference page; a struct would only rename them
fn ref_page(
    ctx: PageCtx,
    heading: String,
    editable: bool,
    action: String,
    mut fields: Vec<Field>,
    errors: &[FieldError],
    back: &str,
    history: Vec<(String, String, String, String)>,
) -> HttpResponse {
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx,
        heading,
        intro: None,
        errors: general,
        editable,
        action,
        fields,
        submit_label: "保存",
        back_href: Some(back.into()),
        actions: Vec::new(),
        history,
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
    };
    let mut resp = render(&page);
    if !errors.is_empty() {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

async fn departments_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::departments))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|d| {
            vec![
                cell(&d.code),
                link(&d.name, format!("/departments/{}", d.code)),
                cell(if d.is_coordination_office != 0 {
                    "协调机制办公室"
                } else {
                    ""
                }),
                Cell {
                    text: d.duties.clone(),
                    href: None,
                    class: "small".into(),
                },
                yes_no(d.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "成员单位", "/departments").await,
        heading: "协调机制成员单位".into(),
        intro: Some("谁审批、谁监管，谁主管、谁监管。".into()),
        new_link: authz::allowed(&s.principal, Action::EditReferenceData)
            .then(|| ("/departments/new".to_owned(), "新增成员单位".to_owned())),
        filters: Vec::new(),
        filter_action: "/departments".into(),
        result: None,
        headers: vec!["代码", "名称", "", "职责", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有成员单位。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct DepartmentForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn department_fields(f: &DepartmentForm, is_new: bool) -> Vec<Field> {
    let mut fields = Vec::new();
    if is_new {
        fields.push(
            Field::new("code", "代码", "text", &f.code)
                .required()
                .help("英文字母与数字，如 FOREST，创建后不能修改。"),
        );
    }
    fields.push(Field::new("name", "名称", "text", &f.name).required());
    fields.push(Field::new("duties", "职责", "textarea", &f.duties));
    fields.push(
        Field::new("email", "部门邮箱", "email", &f.email).help("部门公共邮箱，用于接收通报。"),
    );
    fields.push(Field::new("sort_order", "排序", "number", &f.sort_order));
    fields.push(Field::new(
        "active",
        "启用",
        "checkbox",
        if f.active.is_some() { "true" } else { "" },
    ));
    fields
}

fn department_input(f: &DepartmentForm, is_new: bool) -> Result<DepartmentInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DepartmentInput {
        code: is_new.then(|| f.code.clone()),
        name: Some(f.name.clone()),
        duties: Some(f.duties.clone()),
        email: Some(f.email.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    })
}

async fn department_new(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditReferenceData).page(&s)?;
    let f = DepartmentForm {
        active: Some("true".into()),
        sort_order: "100".into(),
        ..Default::default()
    };
    let ctx = page_ctx(&state, &s, &req, "新增成员单位", "/departments").await;
    Ok(ref_page(
        ctx,
        "新增成员单位".into(),
        true,
        "/departments/new".into(),
        department_fields(&f, true),
        &[],
        "/departments",
        Vec::new(),
    ))
}

async fn department_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<DepartmentForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let result = match department_input(&f, true) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |c, a, n| {
                reference::save_department(c, a, n, None, input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(d) => Ok(redirect(&format!("/departments/{}?ok=created", d.code))),
        Err(AppError::Validation(errors)) => {
            let ctx = page_ctx(&state, &s, &req, "新增成员单位", "/departments").await;
            Ok(ref_page(
                ctx,
                "新增成员单位".into(),
                true,
                "/departments/new".into(),
                department_fields(&f, true),
                &errors,
                "/departments",
                Vec::new(),
            ))
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn department_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&DepartmentForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let d = blocking(move || st.db.read(|conn| reference::department(conn, &c)))
        .await
        .page(s)?;
    let loaded = DepartmentForm {
        code: d.code.clone(),
        name: d.name.clone(),
        duties: d.duties.clone(),
        email: d.email.clone().unwrap_or_default(),
        sort_order: d.sort_order.to_string(),
        active: (d.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let history = entity_history(state, "department", code).await.page(s)?;
    let heading = format!("{}（{}）", d.name, d.code);
    let ctx = page_ctx(state, s, req, &heading, "/departments").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/departments/{code}"),
        department_fields(f, false),
        errors,
        "/departments",
        history,
    ))
}

async fn department_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    department_form(&state, &s, &req, &code, None, &[]).await
}

async fn department_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<DepartmentForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let c = code.clone();
    let result = match department_input(&f, false) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
                reference::save_department(cn, a, n, Some(&c), input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(d) => Ok(redirect(&format!("/departments/{}?ok=saved", d.code))),
        Err(AppError::Validation(errors)) => {
            department_form(&state, &s, &req, &code, Some(&f), &errors).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn townships_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::townships))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|t| {
            vec![
                cell(&t.code),
                link(&t.name, format!("/townships/{}", t.code)),
                cell(t.email.clone().unwrap_or_default()),
                yes_no(t.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "街镇", "/townships").await,
        heading: "街镇".into(),
        intro: Some("街镇负责属地管理，发现问题线索即“吹哨”，相关部门限时“报到”。".into()),
        new_link: authz::allowed(&s.principal, Action::EditReferenceData)
            .then(|| ("/townships/new".to_owned(), "新增街镇".to_owned())),
        filters: Vec::new(),
        filter_action: "/townships".into(),
        result: None,
        headers: vec!["代码", "名称", "邮箱", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有街镇。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct TownshipForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn township_fields(f: &TownshipForm, is_new: bool) -> Vec<Field> {
    let mut fields = Vec::new();
    if is_new {
        fields.push(
            Field::new("code", "代码", "text", &f.code)
                .required()
                .help("英文字母与数字，如 ABC，创建后不能修改。"),
        );
    }
    fields.push(Field::new("name", "名称", "text", &f.name).required());
    fields.push(Field::new("email", "街镇邮箱", "email", &f.email));
    fields.push(Field::new("sort_order", "排序", "number", &f.sort_order));
    fields.push(Field::new(
        "active",
        "启用",
        "checkbox",
        if f.active.is_some() { "true" } else { "" },
    ));
    fields
}

fn township_input(f: &TownshipForm, is_new: bool) -> Result<TownshipInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TownshipInput {
        code: is_new.then(|| f.code.clone()),
        name: Some(f.name.clone()),
        email: Some(f.email.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    })
}

async fn township_new(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditReferenceData).page(&s)?;
    let f = TownshipForm {
        active: Some("true".into()),
        sort_order: "100".into(),
        ..Default::default()
    };
    let ctx = page_ctx(&state, &s, &req, "新增街镇", "/townships").await;
    Ok(ref_page(
        ctx,
        "新增街镇".into(),
        true,
        "/townships/new".into(),
        township_fields(&f, true),
        &[],
        "/townships",
        Vec::new(),
    ))
}

async fn township_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<TownshipForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let result = match township_input(&f, true) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |c, a, n| {
                reference::save_township(c, a, n, None, input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(t) => Ok(redirect(&format!("/townships/{}?ok=created", t.code))),
        Err(AppError::Validation(errors)) => {
            let ctx = page_ctx(&state, &s, &req, "新增街镇", "/townships").await;
            Ok(ref_page(
                ctx,
                "新增街镇".into(),
                true,
                "/townships/new".into(),
                township_fields(&f, true),
                &errors,
                "/townships",
                Vec::new(),
            ))
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn township_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&TownshipForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let t = blocking(move || st.db.read(|conn| reference::township(conn, &c)))
        .await
        .page(s)?;
    let loaded = TownshipForm {
        code: t.code.clone(),
        name: t.name.clone(),
        email: t.email.clone().unwrap_or_default(),
        sort_order: t.sort_order.to_string(),
        active: (t.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let history = entity_history(state, "township", code).await.page(s)?;
    let heading = format!("{}（{}）", t.name, t.code);
    let ctx = page_ctx(state, s, req, &heading, "/townships").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/townships/{code}"),
        township_fields(f, false),
        errors,
        "/townships",
        history,
    ))
}

async fn township_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    township_form(&state, &s, &req, &code, None, &[]).await
}

async fn township_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<TownshipForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let c = code.clone();
    let result = match township_input(&f, false) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
                reference::save_township(cn, a, n, Some(&c), input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(t) => Ok(redirect(&format!("/townships/{}?ok=saved", t.code))),
        Err(AppError::Validation(errors)) => {
            township_form(&state, &s, &req, &code, Some(&f), &errors).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

pub(crate) async fn department_options(
    state: &web::Data<AppState>,
) -> Result<Vec<(String, String)>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

async fn categories_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let deps = department_options(&state).await.page(&s)?;
    let name = |c: &str| {
        deps.iter()
            .find(|d| d.0 == c)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::lead_categories))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|c| {
            vec![
                link(&c.name, format!("/lead-categories/{}", c.code)),
                cell(name(&c.primary_department)),
                cell(
                    reference::split_codes(&c.assisting_departments)
                        .iter()
                        .map(|d| name(d))
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                cell(&c.basis),
                cell(if c.mining_related != 0 { "是" } else { "" }),
                yes_no(c.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "线索类别与分办", "/lead-categories").await,
        heading: "线索类别与分办规则".into(),
        intro: Some("问题线索按类别分办：主办部门牵头核查处置，协办部门配合。“涉矿”类别的线索若位置不在任何持证矿区内，按疑似无证采矿转区自然资源分局。".into()),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/lead-categories".into(),
        result: None,
        headers: vec!["类别", "主办部门", "协办部门", "制度依据", "涉矿", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有线索类别。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    primary_department: String,
    #[serde(default)]
    assisting_departments: String,
    #[serde(default)]
    basis: String,
    mining_related: Option<String>,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn category_fields(f: &CategoryForm, deps: Vec<(String, String)>) -> Vec<Field> {
    vec![
        Field::new("name", "类别名称", "text", &f.name).required(),
        Field::new(
            "primary_department",
            "主办部门",
            "select",
            &f.primary_department,
        )
        .options(deps)
        .required(),
        Field::new(
            "assisting_departments",
            "协办部门代码",
            "text",
            &f.assisting_departments,
        )
        .help("多个部门用逗号分隔，如 DRC,MIIT；留空表示无协办部门。"),
        Field::new("basis", "制度依据", "text", &f.basis),
        Field::new(
            "mining_related",
            "涉矿类别（位置不在持证矿区内时按疑似无证采矿处理）",
            "checkbox",
            if f.mining_related.is_some() {
                "true"
            } else {
                ""
            },
        ),
        Field::new("sort_order", "排序", "number", &f.sort_order),
        Field::new(
            "active",
            "启用",
            "checkbox",
            if f.active.is_some() { "true" } else { "" },
        ),
    ]
}

async fn category_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&CategoryForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let row = blocking(move || st.db.read(|conn| reference::lead_category(conn, &c)))
        .await
        .page(s)?;
    let loaded = CategoryForm {
        name: row.name.clone(),
        primary_department: row.primary_department.clone(),
        assisting_departments: row.assisting_departments.clone(),
        basis: row.basis.clone(),
        mining_related: (row.mining_related != 0).then(|| "true".into()),
        sort_order: row.sort_order.to_string(),
        active: (row.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let deps = department_options(state).await.page(s)?;
    let history = entity_history(state, "lead_category", code).await.page(s)?;
    let heading = format!("线索类别：{}", row.name);
    let ctx = page_ctx(state, s, req, &heading, "/lead-categories").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/lead-categories/{code}"),
        category_fields(f, deps),
        errors,
        "/lead-categories",
        history,
    ))
}

async fn category_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    category_form(&state, &s, &req, &code, None, &[]).await
}

async fn category_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<CategoryForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    let input = LeadCategoryInput {
        code: None,
        name: Some(f.name.clone()),
        primary_department: Some(f.primary_department.clone()),
        assisting_departments: Some(reference::split_codes(
            &f.assisting_departments.replace('，', ","),
        )),
        basis: Some(f.basis.clone()),
        mining_related: Some(f.mining_related.is_some()),
        sort_order,
        active: Some(f.active.is_some()),
    };
    let c = code.clone();
    let result = if errors.is_empty() {
        api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
            reference::save_lead_category(cn, a, n, Some(&c), input)
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(row) => Ok(redirect(&format!("/lead-categories/{}?ok=saved", row.code))),
        Err(AppError::Validation(errors)) => {
            category_form(&state, &s, &req, &code, Some(&f), &errors).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

async fn permit_types_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let deps = department_options(&state).await.page(&s)?;
    let name = |c: &str| {
        deps.iter()
            .find(|d| d.0 == c)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::permit_types))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|p| {
            vec![
                link(&p.name, format!("/permit-types/{}", p.code)),
                cell(name(&p.issuing_department)),
                cell(format!("{} 天", p.expiry_warning_days)),
                Cell {
                    text: p.notes.clone(),
                    href: None,
                    class: "small".into(),
                },
                yes_no(p.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "证照类型", "/permit-types").await,
        heading: "证照类型（谁审批、谁监管）".into(),
        intro: Some("只有发证部门可以登记、变更、暂扣、吊销或注销本类证照；到期前按提醒天数显示为“即将到期”。".into()),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/permit-types".into(),
        result: None,
        headers: vec!["证照", "审批与监管部门", "到期提醒", "说明", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有证照类型。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct PermitTypeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuing_department: String,
    #[serde(default)]
    expiry_warning_days: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn permit_type_fields(f: &PermitTypeForm, deps: Vec<(String, String)>) -> Vec<Field> {
    vec![
        Field::new("name", "名称", "text", &f.name).required(),
        Field::new(
            "issuing_department",
            "审批与监管部门",
            "select",
            &f.issuing_department,
        )
        .options(deps)
        .required(),
        Field::new(
            "expiry_warning_days",
            "到期提醒天数",
            "number",
            &f.expiry_warning_days,
        )
        .required()
        .help("到期前多少天起显示为“即将到期”，1 到 730。"),
        Field::new("notes", "说明", "textarea", &f.notes),
        Field::new("sort_order", "排序", "number", &f.sort_order),
        Field::new(
            "active",
            "启用",
            "checkbox",
            if f.active.is_some() { "true" } else { "" },
        ),
    ]
}

async fn permit_type_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&PermitTypeForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let row = blocking(move || st.db.read(|conn| reference::permit_type(conn, &c)))
        .await
        .page(s)?;
    let loaded = PermitTypeForm {
        name: row.name.clone(),
        issuing_department: row.issuing_department.clone(),
        expiry_warning_days: row.expiry_warning_days.to_string(),
        notes: row.notes.clone(),
        sort_order: row.sort_order.to_string(),
        active: (row.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let deps = department_options(state).await.page(s)?;
    let history = entity_history(state, "permit_type", code).await.page(s)?;
    let heading = format!("证照类型：{}", row.name);
    let ctx = page_ctx(state, s, req, &heading, "/permit-types").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/permit-types/{code}"),
        permit_type_fields(f, deps),
        errors,
        "/permit-types",
        history,
    ))
}

async fn permit_type_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    permit_type_form(&state, &s, &req, &code, None, &[]).await
}

async fn permit_type_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<PermitTypeForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    let days = parse_int(&mut errors, "expiry_warning_days", &f.expiry_warning_days);
    let input = PermitTypeInput {
        name: Some(f.name.clone()),
        issuing_department: Some(f.issuing_department.clone()),
        expiry_warning_days: days,
        notes: Some(f.notes.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    };
    let c = code.clone();
    let result = if errors.is_empty() {
        api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
            reference::update_permit_type(cn, a, n, &c, input)
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(row) => Ok(redirect(&format!("/permit-types/{}?ok=saved", row.code))),
        Err(AppError::Validation(errors)) => {
            permit_type_form(&state, &s, &req, &code, Some(&f), &errors).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

// ---- audit and calendar -------------------------------------------------------------------

const ENTITY_TYPES: [(&str, &str); 7] = [
    ("mine", "矿山"),
    ("permit", "证照"),
    ("user", "用户"),
    ("department", "成员单位"),
    ("township", "街镇"),
    ("lead_category", "线索类别"),
    ("permit_type", "证照类型"),
];

async fn audit_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewAudit).page(&s)?;
    let q = web::Query::<AuditQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let st = state.clone();
    let query = q.clone();
    let (rows, next) = blocking(move || st.db.read(|conn| audit::list(conn, &query)))
        .await
        .page(&s)?;
    let entity_label = |t: &str| {
        ENTITY_TYPES
            .iter()
            .find(|e| e.0 == t)
            .map(|e| e.1)
            .unwrap_or(t)
            .to_owned()
    };
    let table_rows = rows
        .iter()
        .map(|e| {
            vec![
                cell(e.seq.to_string()),
                cell(local_time(e.occurred_at)),
                cell(&e.actor_name),
                cell(entity_label(&e.entity_type)),
                cell(&e.entity_id),
                cell(action_label(&e.action)),
                Cell {
                    text: e.after_json.clone().unwrap_or_default(),
                    href: None,
                    class: "small".into(),
                },
            ]
        })
        .collect();
    let mut entity_opts = vec![(String::new(), "全部".to_owned())];
    entity_opts.extend(
        ENTITY_TYPES
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string())),
    );
    let filters = vec![
        Field::new(
            "entity",
            "对象类型",
            "select",
            q.entity.clone().unwrap_or_default(),
        )
        .options(entity_opts),
        Field::new(
            "entity_id",
            "对象编号",
            "text",
            q.entity_id.clone().unwrap_or_default(),
        ),
    ];
    let next_href = next.map(|c| {
        format!(
            "/audit?{}",
            serde_urlencoded::to_string([
                ("entity", q.entity.clone().unwrap_or_default()),
                ("entity_id", q.entity_id.clone().unwrap_or_default()),
                ("cursor", c)
            ])
            .unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "操作记录", "/audit").await,
        heading: "操作记录".into(),
        intro: Some(
            "所有变更按顺序写入哈希链，任何删改都能被 `minecoord audit verify` 发现。".into(),
        ),
        new_link: None,
        filters,
        filter_action: "/audit".into(),
        result: None,
        headers: vec![
            "序号",
            "时间",
            "操作人",
            "对象",
            "编号",
            "操作",
            "变更后内容",
        ],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的记录。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct CalendarQuery {
    from: Option<String>,
    days: Option<String>,
}

async fn calendar(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<CalendarQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(CalendarQuery {
            from: None,
            days: None,
        });
    let result = match (
        q.from.as_deref().filter(|v| !v.is_empty()),
        q.days.as_deref().filter(|v| !v.is_empty()),
    ) {
        (Some(from), Some(days)) => Some(
            match (
                chrono::NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d"),
                days.trim().parse::<u32>(),
            ) {
                (Ok(f), Ok(n)) if n <= crate::domain::calendar::MAX_WORKING_DAYS => match state
                    .calendar
                    .add_working_days(f, n)
                {
                    Some(d) => format!("{} 之后第 {} 个工作日是 {}（{}）", f, n, d, weekday_cn(d)),
                    None => "计算结果超出日期范围".into(),
                },
                (Err(_), _) => "起始日期格式不正确，应为 YYYY-MM-DD，例如 2026-05-06".into(),
                _ => "工作日天数应为 0 到 3650 之间的整数".into(),
            },
        ),
        _ => None,
    };
    let mut rows = Vec::new();
    for year in state.calendar.years() {
        for (date, kind) in state.calendar.special_days(year) {
            rows.push(vec![
                cell(date.to_string()),
                cell(weekday_cn(date)),
                cell(api::day_kind_label(&kind)),
            ]);
        }
    }
    let years: Vec<String> = state.calendar.years().map(|y| y.to_string()).collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "节假日与工作日", "/calendar").await,
        heading: "节假日与工作日".into(),
        intro: Some(format!(
            "办理时限中的“工作日”按国务院办公厅公布的节假日安排计算（含调休上班日）。已载入年份：{}。",
            if years.is_empty() { "无".into() } else { years.join("、") }
        )),
        new_link: None,
        filters: vec![
            Field::new("from", "起始日期", "date", q.from.clone().unwrap_or_default()),
            Field::new("days", "工作日天数", "number", q.days.clone().unwrap_or_default()),
        ],
        filter_action: "/calendar".into(),
        result,
        headers: vec!["日期", "星期", "安排"],
        rows,
        next_href: None,
        empty_text: "尚未载入节假日安排。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

fn weekday_cn(d: chrono::NaiveDate) -> &'static str {
    use chrono::Datelike;
    [
        "星期一",
        "星期二",
        "星期三",
        "星期四",
        "星期五",
        "星期六",
        "星期日",
    ][d.weekday().num_days_from_monday() as usize]
}
