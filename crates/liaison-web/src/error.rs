//! Errors of the web layer: a Chinese page for people, a JSON body with a stable `code` for the
//! API. Internal causes go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_db::DbError;
use serde::Serialize;

/// An error of a page request.
#[derive(Debug)]
pub enum PageError {
    /// 404.
    NotFound,
    /// 403 with the reason.
    Forbidden(String),
    /// 403: the form's CSRF token is missing or wrong.
    Csrf,
    /// 429.
    TooMany,
    /// 400 with a message.
    BadRequest(String),
    /// 500; the cause is logged.
    Internal(String),
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => PageError::NotFound,
            DbError::Invalid(m) => PageError::BadRequest(m),
            DbError::KeyReused => PageError::BadRequest(DbError::KeyReused.to_string()),
            DbError::Stale => PageError::BadRequest(DbError::Stale.to_string()),
            DbError::Conflict { constraint } => {
                PageError::BadRequest(format!("数据冲突（{constraint}），请检查编码是否重复"))
            }
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

/// Result of a page handler.
pub type PageResult<T = Response> = Result<T, PageError>;

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "页面不存在",
                "您要找的页面不存在或已被移除。请检查链接，或返回首页。".to_owned(),
            ),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "无权访问", m),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "表单已失效",
                "页面停留时间过长或表单校验失败。请返回上一页，刷新后重新提交。".to_owned(),
            ),
            PageError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "操作过于频繁",
                "您的操作过于频繁，请稍等一分钟后再试。".to_owned(),
            ),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "请求有误", m),
            PageError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系统出错",
                    "系统暂时无法完成该操作，已记录错误。请稍后重试；如持续出现，请联系系统管理员。"
                        .to_owned(),
                )
            }
        };
        let body = crate::layout::error_page(status.as_u16(), title, &message);
        (status, axum::response::Html(body)).into_response()
    }
}

/// An error of an API request: `{"error": {"code", "message", "fields"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Chinese message.
    pub message: String,
    /// Field errors, if validation failed.
    pub fields: Vec<liaison_core::validate::FieldError>,
}

#[derive(Serialize, utoipa::ToSchema)]
/// The error body of every API error.
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
/// What went wrong.
pub struct ErrorDetail {
    /// Stable code, e.g. `unauthorized`, `forbidden`, `not_found`, `validation_failed`.
    pub code: String,
    /// Chinese message.
    pub message: String,
    /// Field errors: `[{"field","message"}]`.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<liaison_core::validate::FieldError>,
}

impl ApiError {
    /// A request body that is not the JSON the endpoint takes (400), saying why.
    pub fn bad_body(e: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("请求体须为 JSON（{e}）"),
        )
    }

    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }
    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "未登录或令牌已失效，请先调用 POST /api/v1/auth/token 获取令牌",
        )
    }
    /// 403.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", msg)
    }
    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "记录不存在")
    }
    /// 422 with field errors.
    pub fn validation(fields: Vec<liaison_core::validate::FieldError>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message: fields
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
            fields,
        }
    }
    /// 429.
    pub fn too_many() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "请求过于频繁，请稍后再试",
        )
    }

    /// 429: too many wrong last-four-digit guesses for one tracking or sign-up number.
    pub fn guesses_locked() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            crate::auth::GUESSES_LOCKED,
        )
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found(),
            DbError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", m),
            // As the IETF draft on the Idempotency-Key header has it: 422.
            DbError::KeyReused => {
                ApiError::validation(vec![liaison_core::validate::FieldError::new(
                    "Idempotency-Key",
                    DbError::KeyReused.to_string(),
                )])
            }
            DbError::Stale => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            DbError::Conflict { constraint } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("数据冲突：{constraint}"),
            ),
            other => {
                tracing::error!(cause = %other, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "系统内部错误，已记录，请稍后重试",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut resp = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code.to_owned(),
                    message: self.message,
                    fields: self.fields,
                },
            }),
        )
            .into_response();
        // The per-address limits are per minute; the wrong-guess lock lasts an hour, and its
        // message says so.
        if status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        resp
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
