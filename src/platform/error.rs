//! One error type for the whole service, rendered as RFC 9457 problem documents.
//!
//! Each variant has a stable `type` code for programs and Chinese text for people.
//! Internal causes are logged once here and never sent to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid transition: {0}")]
    InvalidTransition(String),
    #[error("rate limited: {detail}")]
    RateLimited {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("payload too large")]
    PayloadTooLarge(usize),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("database unavailable")]
    Unavailable,
    /// Too much work queued (e.g. password checks): try again shortly (503, Retry-After).
    #[error("busy: {detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    /// A rule of the domain stands against the request (409 with its own type, e.g.
    /// `repeat_inspection`, `inspection_cap`): the detail says which and what to do.
    #[error("refused by {kind}: {detail}")]
    Refused { kind: &'static str, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem document (RFC 9457) every error response carries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable machine-readable code: validation, unauthorized, forbidden, not_found, conflict,
    /// invalid_transition, rate_limited, bad_request, payload_too_large, unavailable, internal.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", "请求格式有误"),
            Self::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "填写的内容有误",
            ),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "请先登录"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "没有权限"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "未找到"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "数据冲突"),
            Self::InvalidTransition(_) => (
                StatusCode::CONFLICT,
                "invalid_transition",
                "当前状态下不能进行此操作",
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "操作过于频繁",
            ),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "提交的内容过大",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "提交的内容类型不受支持",
            ),
            Self::Unavailable | Self::Busy { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "服务暂时不可用",
            ),
            Self::Refused { kind, .. } => (StatusCode::CONFLICT, kind, "不符合办理规定"),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "系统内部错误",
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        let (detail, errors) = match self {
            Self::BadRequest(d)
            | Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::Conflict(d)
            | Self::InvalidTransition(d)
            | Self::UnsupportedMediaType(d) => (d.clone(), Vec::new()),
            Self::RateLimited { detail, .. }
            | Self::Busy { detail, .. }
            | Self::Refused { detail, .. } => (detail.clone(), Vec::new()),
            Self::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                (
                    format!("请检查以下字段：{}", fields.join("、")),
                    errors.clone(),
                )
            }
            Self::PayloadTooLarge(limit) => (
                format!("提交的内容不能超过 {} KB。", limit / 1024),
                Vec::new(),
            ),
            Self::Unavailable => ("数据库暂时无法连接，请稍后再试。".into(), Vec::new()),
            Self::Internal(_) => (
                "请稍后再试；如果问题持续存在，请联系系统管理员。".into(),
                Vec::new(),
            ),
        };
        Problem {
            kind,
            title,
            detail,
            status: status.as_u16(),
            errors,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error.cause = %cause, "request failed");
        }
        let problem = self.problem();
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Self::RateLimited {
            retry_after_secs, ..
        }
        | Self::Busy {
            retry_after_secs, ..
        } = self
        {
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound("记录不存在。".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("已存在相同的记录。".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Self::Conflict("引用的记录不存在或仍被使用。".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Self::Unavailable,
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => Self::Unavailable,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
