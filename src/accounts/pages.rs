//! Pages of accounts: signing in and out, one's own account and the
//! administrators' user management.

use crate::web::kit::submitted;
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use crate::accounts::api::{self, ChangePassword, UserAction};
use crate::accounts::{self, NewUser, UserPatch, UserQuery};
use crate::platform::authz::{self, Action};
use crate::platform::clock::local_time;
use crate::platform::error::{AppError, FieldError};
use crate::platform::rules::role::ALL_ROLES;
use crate::reference::{self};
use crate::web::extract::{
    constant_time_eq, PageForm, PageSession, Session, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::web::{blocking, AppState};

use crate::web::kit::signed_in;
use crate::web::kit::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login_submit))
        .route("/logout", web::post().to(logout))
        .route("/account", web::get().to(account))
        .route("/account", web::post().to(account_password))
        .route("/account/email", web::post().to(account_email))
        .route("/users", web::get().to(users_list))
        .route("/users/new", web::get().to(user_new))
        .route("/users/new", web::post().to(user_create))
        .route("/users/{id}", web::get().to(user_edit))
        .route("/users/{id}", web::post().to(user_save))
        .route("/users/{id}/{action}", web::post().to(user_act));
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

// ---- login, home, account -----------------------------------------------------------------

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths: never redirect a person to another site after login.
/// Browsers drop tabs and newlines from a URL and read `\` as `/`, so `/\t/evil.example`
/// would leave the site: only a path of visible characters is accepted (non-ASCII is
/// percent-encoded, as a browser would), starting with one `/`; anything else is `/`.
fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".into();
    };
    if !n.starts_with('/')
        || n.starts_with("//")
        || n.chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return "/".into();
    }
    let mut out = String::with_capacity(n.len());
    for c in n.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
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
        .unwrap_or_else(|| crate::platform::auth::random_token(16));
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
    let fresh_csrf = crate::platform::auth::random_token(16);
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
            .transaction(|conn| accounts::revoke_sessions(conn, &who.actor(), now, &who.id))
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
    if ctx.flash.is_none() && req.query_string().contains("ok=email") {
        ctx.flash = Some("邮箱已修改，通知邮件将发到新地址。".into());
    }
    let p = &s.principal;
    let (st, id) = (state.clone(), p.id.clone());
    let email = match blocking(move || st.db.read(|conn| accounts::find(conn, &id))).await {
        Ok(u) => u.email.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "own account unavailable for the email field");
            String::new()
        }
    };
    let mut actions = vec![ActionButton {
        href: "/account/email".into(),
        label: "修改邮箱",
        confirm: String::new(),
        style: "secondary",
        fields: vec![Field::new("email", "邮箱", "email", email)
            .help("通知邮件发到这里；从这个邮箱发来的邮件可以吹哨或回复线索。留空则不收邮件。")
            .in_form("own-email")],
    }];
    match crate::mailbox::pages::outbox::preferences_panel(state, &p.id).await {
        Ok(panel) => actions.push(panel),
        Err(e) => tracing::warn!(error = %e, "notification preferences unavailable"),
    };
    let first = s.must_change_password;
    if first {
        // Nothing else answers until the password is the person's own.
        actions.clear();
        ctx.flash = Some("欢迎使用。您的密码是管理员设置的初始密码，请先设置自己的密码：修改后请用新密码重新登录。".into());
    }
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
        back_href: (!first).then(|| "/".into()),
        actions,
        history: Vec::new(),
        links: vec![("/notifications".into(), "我的通知".into())],
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    let mut resp = render(&page);
    if !errors.is_empty() {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn account_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<EmailForm>,
) -> PageResult {
    let s = form.session;
    let result = api::set_own_email(state.clone(), s.principal.clone(), form.form.email).await;
    submitted!(result, s, Ok(_) => "/account?ok=email", Invalid(errors) => Ok(account_page(&state, &s, &req, &errors).await))
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
    let result = api::change_own_password(
        state.clone(),
        api::client_ip(&state, &req),
        s.principal.clone(),
        ChangePassword {
            current_password: f.current_password,
            new_password: f.new_password,
        },
    )
    .await;
    // The password change ends every session, this one included: sign in again.
    submitted!(result, s, Ok(()) => "/login?next=/account%3Fok%3Down_password", Invalid(errors) => Ok(account_page(&state, &s, &req, &errors).await))
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
    certificate_number: String,
    /// 首次登录须修改密码 (a checkbox: absent when unticked).
    #[serde(default)]
    must_change_password: Option<String>,
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
        fields.push(Field::new(
            "must_change_password",
            "首次登录须修改密码",
            "checkbox",
            if f.must_change_password.is_some() {
                "true"
            } else {
                ""
            },
        ));
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
    fields.push(
        Field::new(
            "certificate_number",
            "执法证号",
            "text",
            &f.certificate_number,
        )
        .help("参加检查的执法人员填写，印在电子行政检查通知书上。"),
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
    let (rows, next) = blocking(move || st.db.read(|conn| accounts::list(conn, &query)))
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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
            let user = blocking(move || st.db.read(|conn| accounts::find(conn, &uid)))
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
                    fields: vec![
                        Field::new("password", "新密码", "password", "")
                            .help("重置后该用户的登录全部失效。"),
                        Field::new(
                            "must_change_password",
                            "本人登录后须先修改密码",
                            "checkbox",
                            "true",
                        ),
                    ],
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
        // After creating an account, the next one is a click away.
        links: if editable && req.query_string().contains("ok=created") {
            vec![("/users/new".into(), "继续新建用户".into())]
        } else {
            Vec::new()
        },
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn user_new(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ManageUsers).page(&s)?;
    let form = UserForm {
        role: "officer".into(),
        must_change_password: Some("true".into()),
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
        must_change_password: Some(f.must_change_password.is_some()),
        certificate_number: Some(f.certificate_number.clone()),
    };
    submitted!(api::create_user_as(state.clone(), s.principal.clone(), input).await, s, Ok(u) => &format!("/users/{}?ok=created", u.id), Invalid(errors) => {
        user_form_page(&state, &s, &req, &f, &errors, None).await
    })
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
    let u = blocking(move || st.db.read(|conn| accounts::find(conn, &uid)))
        .await
        .page(&s)?;
    let form = UserForm {
        username: u.username.clone(),
        password: String::new(),
        display_name: u.display_name.clone(),
        email: u.email.clone().unwrap_or_default(),
        role: u.role.code().to_owned(),
        department: u.department.clone().unwrap_or_default(),
        township: u.township.clone().unwrap_or_default(),
        mine_id: u.mine_id.clone().unwrap_or_default(),
        certificate_number: u.certificate_number.clone(),
        must_change_password: (u.must_change_password != 0).then(|| "true".into()),
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
        certificate_number: Some(f.certificate_number.clone()),
        version: f.version.parse().ok(),
    };
    submitted!(api::update_user_as(state.clone(), s.principal.clone(), id.clone(), patch).await, s, Ok(u) => &format!("/users/{}?ok=saved", u.id), Invalid(errors) => {
        user_form_page(&state, &s, &req, &f, &errors, Some(&id)).await
    })
}

#[derive(Deserialize)]
struct OptionalPassword {
    password: Option<String>,
    /// The 首次登录须修改密码 checkbox of the reset form.
    must_change_password: Option<String>,
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
            form.form.must_change_password.is_some(),
        )
        .await
        .map(|_| "password"),
        _ => Err(AppError::NotFound("没有这个操作。".into())),
    }
    .page(&s)?;
    Ok(redirect(&format!("/users/{id}?ok={ok}")))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_path_on_this_site_or_home() {
        assert_eq!(
            safe_next(Some("/leads?state=routed")),
            "/leads?state=routed"
        );
        assert_eq!(
            safe_next(Some("/leads?township=卜尔")),
            "/leads?township=%E5%8D%9C%E5%B0%94"
        );
        for off_site in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "\\\\evil",
            "https://evil.example",
            "/\n/x",
            "/ /evil",
            "evil",
            "",
        ] {
            assert_eq!(safe_next(Some(off_site)), "/", "{off_site:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
