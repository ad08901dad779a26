//! The page kit: the layout, forms, fields, tables, badges, the error page and the
//! outcome of a submitted form. Server-rendered pages in Simplified Chinese; every
//! capability's `pages.rs` builds on these.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::platform::audit::{self, AuditQuery};
use crate::platform::authz::{self, Action, Principal};
use crate::platform::clock::local_time;
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::Session;
use crate::web::{blocking, AppState};

pub const CSS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.css"));

pub const FAVICON: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/favicon.svg"));

/// Leaflet (vendored, see `static/vendor/leaflet/README.md`) and the page script that
/// starts it on each `.webmap-box`.
const LEAFLET_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/static/vendor/leaflet/leaflet.js"
));
const LEAFLET_CSS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/static/vendor/leaflet/leaflet.css"
));
const MAP_JS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/map.js"));

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/static/leaflet.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", LEAFLET_JS) }),
    )
    .route(
        "/static/leaflet.css",
        web::get().to(|| async { asset("text/css; charset=utf-8", LEAFLET_CSS) }),
    )
    .route(
        "/static/map.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", MAP_JS) }),
    );
    cfg.route("/static/app.css", web::get().to(css))
        .route("/static/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon));
}

/// The service's icon (an SVG; browsers asking for `/favicon.ico` take it too).
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(FAVICON)
}

pub async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

/// A map for a page: the server's SVG drawing (shown without JavaScript and when
/// printed) and, beside it, the same features as GeoJSON for the web map, which takes the
/// SVG's place once Leaflet has started (pan, zoom, base tiles when `map.tile_url` is set).
/// Empty when `svg` is.
pub fn webmap(
    svg: &str,
    geojson: &str,
    settings: &crate::platform::config::MapSettings,
    tall: bool,
) -> String {
    use crate::platform::rules::chart::escape;
    if svg.is_empty() {
        return String::new();
    }
    format!(
        r#"<div class="webmap-box"><div class="map-svg">{svg}</div><div class="webmap{}" hidden data-tiles="{}" data-attribution="{}"></div><script type="application/json" class="webmap-data">{}</script></div><link rel="stylesheet" href="/static/leaflet.css"><script src="/static/leaflet.js" defer></script><script src="/static/map.js" defer></script>"#,
        if tall { " tall" } else { "" },
        escape(settings.tile_url.trim()),
        escape(settings.tile_attribution.trim()),
        crate::platform::rules::map::embeddable(geojson)
    )
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
    /// Shown only while another field of the form has a value: `(name, value)`, e.g. the
    /// tailings fields while 矿山类型 is 尾矿库 (the page script follows changes).
    pub when: Option<(&'static str, &'static str)>,
    /// Whether `when` does not hold for the value the page starts with.
    pub hidden_now: bool,
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
            when: None,
            hidden_now: false,
        }
    }
    /// Shows the field only while the form's field `name` is `value` (its current value
    /// being `current`); left out of read-only pages while it does not hold.
    pub(crate) fn only_when(
        mut self,
        name: &'static str,
        value: &'static str,
        current: &str,
    ) -> Self {
        self.when = Some((name, value));
        self.hidden_now = current != value;
        self
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

pub fn yes_no(active: bool) -> Cell {
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
#[template(path = "error.html")]
pub struct ErrorPage {
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
    /// An SVG drawing built by the service (labels escaped there) with its heading, e.g. a
    /// mine's boundary or where a lead is.
    pub(crate) drawing: Option<(String, String)>,
    /// A progress line above the facts: (label, `done` | `current` | `todo`).
    pub(crate) steps: Vec<(&'static str, &'static str)>,
    /// Whether the first action opens by itself (when it is the reader's next step).
    pub(crate) open_next: bool,
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
    /// How many rows the list holds in all (its pages together), when known.
    pub(crate) total: Option<i64>,
    /// Charts above the table, as SVG built by `platform::rules::chart` (escaped there).
    pub(crate) charts: Vec<String>,
    /// The same list as an Excel ledger, with the current filters.
    pub(crate) export_href: Option<String>,
    /// Further actions beside the main one: (href, label).
    /// Buttons that post at once (with the page's CSRF token): (action, label).
    pub(crate) post_buttons: Vec<(String, String)>,
    pub(crate) more_links: Vec<(String, String)>,
}

/// What a refused form comes to on its page: the fields' messages, or a refused step's
/// explanation; `None` for anything else, which is the error page's.
pub(crate) fn shown_again(e: &AppError) -> Option<Vec<String>> {
    match e {
        AppError::Validation(errors) => Some(errors.iter().map(|f| f.message.clone()).collect()),
        AppError::InvalidTransition(_) | AppError::Conflict(_) => Some(vec![e.problem().detail]),
        _ => None,
    }
}

/// A form page, answered 422 when it is shown again with what was wrong.
pub(crate) fn render_form(t: &impl Template, invalid: bool) -> HttpResponse {
    let mut resp = render(t);
    if invalid {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

pub(crate) fn render(t: &impl Template) -> HttpResponse {
    match t.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => AppError::internal(e).error_response(),
    }
}

/// The menu: each page with the action it needs; a user sees what the gate lets them do.
const NAV: &[(&str, &str, Action)] = &[
    ("/leads/new", "我要吹哨", Action::RaiseLeads),
    ("/leads", "问题线索", Action::ViewLeads),
    ("/mines", "矿山台账", Action::ViewMines),
    ("/map", "辖区地图", Action::ViewMines),
    ("/inspections", "综合查一次", Action::ViewInspections),
    ("/my-inspections", "本企业的检查", Action::RateInspections),
    ("/consultations", "会商研判", Action::ViewConsultations),
    ("/decisions", "督办台账", Action::ViewDecisions),
    ("/closures", "关闭退出", Action::ViewClosures),
    ("/closed-mines", "已关闭矿山巡查", Action::PatrolClosedMines),
    ("/mines/gaps", "漏管检查", Action::ViewSupervision),
    ("/permits", "证照与到期提醒", Action::ViewSupervision),
    ("/prohibited-zones", "禁止开采区", Action::ViewSupervision),
    ("/leads/stats", "办理统计", Action::ViewSupervision),
    ("/users", "用户管理", Action::ViewUsers),
    ("/reference", "基础数据", Action::ReferenceMenu),
    ("/audit", "操作记录", Action::ViewAudit),
    ("/intake", "邮件收件记录", Action::ViewIntake),
    ("/outbox", "发件箱", Action::ManageOutbox),
];

/// The kinds of reference data behind the 基础数据 menu: (href, name, what it is).
pub const REFERENCE_PAGES: &[(&str, &str, &str)] = &[
    ("/departments", "成员单位", "协调机制成员单位及其职责"),
    ("/townships", "街镇", "属地管理的街镇（吹哨单位）"),
    (
        "/lead-categories",
        "线索类别与分办",
        "问题线索按类别分办到主办、协办部门",
    ),
    ("/permit-types", "证照类型", "谁审批、谁监管"),
    (
        "/closure-tasks",
        "关闭退出任务清单",
        "各类关闭退出案件的任务、责任部门和期限",
    ),
    (
        "/calendar",
        "节假日与工作日",
        "办理时限按工作日计算，含调休",
    ),
];

pub(crate) fn nav_for(who: &Principal) -> Vec<(&'static str, &'static str)> {
    std::iter::once(("/", "首页"))
        .chain(
            NAV.iter()
                .filter(|(_, _, action)| authz::allowed(who, *action))
                .map(|(href, label, _)| (*href, *label)),
        )
        .collect()
}

/// The query string without the flash's `ok=…` and without the filters left empty (a
/// filter form sends `overdue=` for "不限"), for pages whose filters refuse unknown fields
/// or read a number or yes/no.
pub fn query_without_flash(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .filter(|p| !p.is_empty() && *p != "ok" && !p.starts_with("ok=") && !p.ends_with('='))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn flash_text(req: &HttpRequest) -> Option<String> {
    let q = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()?;
    let text = match q.get("ok")?.as_str() {
        "created" => "已创建。",
        "saved" => "已保存。",
        "status" => "状态已变更。",
        "grade" => "安全风险等级已确定。",
        "supervisor" => "日常安全监管部门已确定。",
        "boundary" => "矿区范围已登记，核查结果见下方。",
        "permit" => "证照已保存，见下方“证照”。",
        "read_all" => "通知已全部标为已读。",
        "disabled" => "账号已停用，该用户的登录已全部失效。",
        "enabled" => "账号已启用。",
        "unlocked" => "账号已解锁。",
        "password" => "密码已重置，该用户需用新密码重新登录。",
        "own_password" => "密码已修改，请用新密码重新登录其他设备。",
        _ => return None,
    };
    Some(text.into())
}

/// The layout of a page for anyone, signed in or not (the public mine pages).
pub(crate) fn public_ctx(title: &str) -> PageCtx {
    PageCtx {
        unread: 0,
        title: title.to_owned(),
        user: None,
        csrf: String::new(),
        nav: Vec::new(),
        active: String::new(),
        flash: None,
    }
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
        nav: if session.must_change_password {
            Vec::new()
        } else {
            nav_for(p)
        },
        active: active.to_owned(),
        flash: flash_text(req),
    }
}

/// The name of the user's department or township, for the header.
pub async fn unit_name(
    state: &web::Data<AppState>,
    department: Option<String>,
    township: Option<String>,
) -> String {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(match department.or(township) {
                Some(code) => (st.directory.unit_name)(conn, &code),
                None => String::new(),
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

pub fn url_escape(s: &str) -> String {
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
        nav: session.map(|s| nav_for(&s.principal)).unwrap_or_default(),
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
            Some(s) if s.held_for_password(&$req) => {
                return Ok($crate::web::kit::redirect("/account?first=1"))
            }
            Some(s) => s,
            None => return Ok($crate::web::kit::to_login(&$req)),
        }
    };
}
pub(crate) use signed_in;

/// What a submitted form comes to: the record's page after it is saved, the form again
/// with its field errors (`Invalid(errors) => …`, any page the handler renders), or the
/// error page for anything else (keeping the session for the layout).
macro_rules! submitted {
    ($result:expr, $session:expr, Ok($v:pat) => $to:expr, Invalid($errors:ident) => $again:expr $(,)?) => {
        match $result {
            Ok($v) => Ok($crate::web::kit::redirect($to)),
            Err($crate::platform::error::AppError::Validation($errors)) => $again,
            Err(e) => Err($crate::web::kit::PageError(e, Some(Box::new($session)))),
        }
    };
}
pub(crate) use submitted;

/// The latest changes to one record, for the history table under its form.
pub async fn entity_history(
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

pub fn action_label(action: &str) -> &str {
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
