//! Request extractors: JSON and query bodies that name the bad field, the signed-in user
//! (Bearer token or session cookie), and page forms with their CSRF check.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::platform::authz::Principal;
use crate::platform::error::{AppError, FieldError};
use crate::web::{blocking, AppState};

pub const SESSION_COOKIE: &str = "mc_session";
pub const LOGIN_CSRF_COOKIE: &str = "mc_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Turns a serde error at `path` into a field error people can act on.
fn field_error(path: &str, message: &str) -> FieldError {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // The path already ends at the unknown field.
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            path.to_owned()
        };
        return FieldError::new(field, "不认识的字段，请删除");
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(field, "缺少必填字段");
    }
    let field = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    let expected = message
        .split(", expected ")
        .nth(1)
        .map(|e| e.split(" at line").next().unwrap_or(e));
    let text = match expected {
        Some(e)
            if e.contains("integer")
                || e.starts_with("i32")
                || e.starts_with("i64")
                || e.starts_with("u32") =>
        {
            "应为整数".to_owned()
        }
        Some(e) if e.contains("bool") => "应为 true 或 false".to_owned(),
        Some(e) if e.contains("string") => "应为文本".to_owned(),
        Some(e) if e.contains("sequence") => "应为列表".to_owned(),
        Some(e) => format!("类型不正确（应为 {e}）"),
        None => format!("取值不正确（{message}）"),
    };
    FieldError::new(field, text)
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest(
            "请求体为空：请提交 JSON 对象。".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                AppError::Validation(vec![field_error(&path, &inner.to_string())])
            }
            _ => AppError::BadRequest(format!(
                "JSON 格式有误（第 {} 行第 {} 列），请检查括号、引号和逗号。",
                inner.line(),
                inner.column()
            )),
        }
    })
}

/// A JSON body: `application/json`, within `http.max_body_bytes`, fields named on error.
/// The second field is the SHA-256 of the raw body, which identifies the request for
/// `Idempotency-Key`.
pub struct ApiJson<T>(pub T, pub String);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.http.max_body_bytes)
            .unwrap_or(262_144);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type.is_empty() && !content_type.to_ascii_lowercase().contains("json") {
                return Err(AppError::UnsupportedMediaType(format!(
                    "请以 application/json 提交，而不是 {content_type}。"
                )));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| match e {
                    actix_web::error::PayloadError::Overflow => AppError::PayloadTooLarge(limit),
                    _ => AppError::BadRequest("请求体读取失败。".into()),
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
            parse_json(&body).map(|v| ApiJson(v, digest))
        })
    }
}

/// Query parameters with unknown or malformed ones named in a 422.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = serde_urlencoded::from_str::<T>(req.query_string())
            .map(ApiQuery)
            .map_err(|e| {
                let msg = e.to_string();
                let fe = field_error("", &msg);
                if fe.field == "body" {
                    AppError::Validation(vec![FieldError::new(
                        "query",
                        format!("查询参数有误（{msg}）"),
                    )])
                } else {
                    AppError::Validation(vec![fe])
                }
            });
        std::future::ready(result)
    }
}

/// How the user proved who they are; cookie sessions need CSRF protection.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub via_cookie: bool,
    pub csrf: String,
    /// The password is still the one an administrator set: only `FIRST_PASSWORD_PATHS`
    /// answer until the person sets their own.
    pub must_change_password: bool,
}

/// What a person whose password an administrator set may still reach: their account page
/// (to change it), signing out, and the same through the API.
pub const FIRST_PASSWORD_PATHS: &[&str] = &[
    "/account",
    "/logout",
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/auth/logout",
];

impl Session {
    /// Whether this request must wait until the person has set their own password.
    pub fn held_for_password(&self, req: &HttpRequest) -> bool {
        self.must_change_password && !FIRST_PASSWORD_PATHS.contains(&req.path())
    }
}

/// Refuses an API call or a form of someone who must first change their password.
fn password_first(session: &Session, req: &HttpRequest) -> Result<(), AppError> {
    if session.held_for_password(req) {
        return Err(AppError::Forbidden(
            "请先修改密码：当前密码是管理员设置的初始密码，请到“我的账号”设置自己的密码后再继续。"
                .into(),
        ));
    }
    Ok(())
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn authenticate(req: HttpRequest) -> Result<Session, AppError> {
    if let Some(s) = req.extensions().get::<Session>() {
        return Ok(s.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no state"))?;
    let (token, via_cookie) = match bearer(&req) {
        Some(t) => (t, false),
        None => match req.cookie(SESSION_COOKIE) {
            Some(c) => (c.value().to_owned(), true),
            None => return Err(AppError::Unauthorized("请先登录。".into())),
        },
    };
    let claims = state.keys.verify(&token, state.clock.now())?;
    let user_id = claims.sub.clone();
    let st = state.clone();
    let signed_in = st.directory.signed_in;
    let user = blocking(move || st.db.read(|conn| signed_in(conn, &user_id)))
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::Unauthorized("账号不存在，请重新登录。".into()),
            other => other,
        })?;
    if !user.active {
        return Err(AppError::Unauthorized(
            "账号已停用，请联系系统管理员。".into(),
        ));
    }
    if user.token_version != claims.ver {
        return Err(AppError::Unauthorized("登录已失效，请重新登录。".into()));
    }
    let csrf = state.keys.csrf_for(&claims.jti);
    let session = Session {
        principal: user.principal,
        via_cookie,
        csrf,
        must_change_password: user.must_change_password,
    };
    req.extensions_mut().insert(session.clone());
    Ok(session)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The signed-in user of an API call. A cookie-authenticated call that changes something
/// must also send the page's CSRF token in `X-CSRF-Token`.
pub struct CurrentUser(pub Principal);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = authenticate(req.clone()).await?;
            password_first(&session, &req)?;
            if session.via_cookie && is_unsafe(req.method()) {
                let sent = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
                    return Err(AppError::Forbidden(
                        "缺少或错误的 CSRF 令牌，请刷新页面后重试。".into(),
                    ));
                }
            }
            Ok(CurrentUser(session.principal))
        })
    }
}

/// The signed-in user of a page, or `None` (the page then redirects to the login form).
pub struct PageSession(pub Option<Session>);

impl FromRequest for PageSession {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await {
                Ok(s) => Ok(PageSession(Some(s))),
                Err(AppError::Unauthorized(_)) => Ok(PageSession(None)),
                Err(e) => Err(e),
            }
        })
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    inner: T,
}

/// A submitted page form together with the session it came from; the CSRF field must match.
pub struct PageForm<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form_fut = web::Form::<WithCsrf<T>>::from_request(&req, payload);
        Box::pin(async move {
            let session = authenticate(req.clone()).await?;
            password_first(&session, &req)?;
            let form = form_fut
                .await
                .map_err(|e| AppError::BadRequest(format!("表单内容有误：{e}")))?
                .into_inner();
            if !constant_time_eq(form.csrf.as_bytes(), session.csrf.as_bytes()) {
                return Err(AppError::Forbidden("页面已过期，请刷新后重新提交。".into()));
            }
            Ok(PageForm {
                session,
                form: form.inner,
            })
        })
    }
}

/// A submitted page form that may carry files (`multipart/form-data`), or a plain one:
/// the fields as `T`, the files apart, the CSRF field checked. The whole body is limited
/// to `http.max_upload_bytes` and a few files more.
pub struct PageUpload<T> {
    pub session: Session,
    pub form: T,
    pub files: Vec<crate::platform::upload::Upload>,
}

impl<T: DeserializeOwned + 'static> FromRequest for PageUpload<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !is_multipart {
            let form = PageForm::<T>::from_request(&req, payload);
            return Box::pin(async move {
                let f = form.await?;
                Ok(PageUpload {
                    session: f.session,
                    form: f.form,
                    files: Vec::new(),
                })
            });
        }
        let mut multipart = actix_multipart::Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            let session = authenticate(req.clone()).await?;
            password_first(&session, &req)?;
            let limit = req
                .app_data::<web::Data<AppState>>()
                .map_or(10 * 1024 * 1024, |s| s.settings.http.max_upload_bytes)
                .saturating_mul(4);
            let too_big = || AppError::PayloadTooLarge(limit);
            let mut fields: Vec<(String, String)> = Vec::new();
            let mut files = Vec::new();
            let mut total = 0usize;
            while let Some(field) = multipart.next().await {
                let mut field =
                    field.map_err(|e| AppError::BadRequest(format!("上传内容有误：{e}")))?;
                let name = field.name().unwrap_or_default().to_owned();
                let file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(str::to_owned);
                let content_type = field.content_type().map(|m| m.essence_str().to_owned());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk =
                        chunk.map_err(|e| AppError::BadRequest(format!("上传内容有误：{e}")))?;
                    total += chunk.len();
                    if total > limit {
                        return Err(too_big());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                match file_name {
                    // A file input left empty still sends a part with no name and no bytes.
                    Some(f) if f.is_empty() && bytes.is_empty() => {}
                    Some(f) => files.push(crate::platform::upload::Upload {
                        field: name,
                        file_name: f,
                        content_type: content_type.unwrap_or_default(),
                        bytes,
                    }),
                    None => fields.push((
                        name,
                        String::from_utf8(bytes).map_err(|_| {
                            AppError::BadRequest("表单内容不是有效的 UTF-8 文本。".into())
                        })?,
                    )),
                }
            }
            let encoded = serde_urlencoded::to_string(&fields).map_err(AppError::internal)?;
            let form: WithCsrf<T> = serde_urlencoded::from_str(&encoded)
                .map_err(|e| AppError::BadRequest(format!("表单内容有误：{e}")))?;
            if !constant_time_eq(form.csrf.as_bytes(), session.csrf.as_bytes()) {
                return Err(AppError::Forbidden("页面已过期，请刷新后重新提交。".into()));
            }
            Ok(PageUpload {
                session,
                form: form.inner,
                files,
            })
        })
    }
}
