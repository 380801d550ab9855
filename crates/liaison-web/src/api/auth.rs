//! `POST /api/v1/auth/token`: a bearer token for a user name and password.

use crate::AppState;
use crate::auth::{LoginFailure, RequestCtx, check_password};
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use liaison_db::sessions::{self, SessionKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A token to send as `Authorization: Bearer <token>`.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Exchanges a user name and password for a bearer token.
#[utoipa::path(
    post, path = "/api/v1/auth/token", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "令牌", body = TokenResponse),
        (status = 401, description = "用户名或密码错误（code: invalid_credentials）", body = ErrorBody),
        (status = 403, description = "账号被锁定（code: account_locked / account_temporarily_locked）", body = ErrorBody),
        (status = 429, description = "请求过于频繁（code: rate_limited）", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    ctx: RequestCtx,
    body: Result<Json<TokenRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<TokenResponse>> {
    if state.limits.login_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    let Json(req) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("请求体须为 JSON：{{\"username\":\"…\",\"password\":\"…\"}}（{e}）"),
        )
    })?;
    match check_password(&state, &req.username, &req.password, &ctx.ip).await {
        Ok(user) => {
            let (token, _) =
                sessions::create(&state.db, &state.keys, user.id, SessionKind::Api).await?;
            Ok(Json(TokenResponse {
                token,
                expires_in: sessions::API_TOKEN_HOURS * 3600,
            }))
        }
        Err(LoginFailure::Internal(e)) => {
            tracing::error!(cause = %e, "token sign-in failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "系统暂时无法登录，请稍后重试",
            ))
        }
        Err(f) => {
            let status = match f {
                LoginFailure::Wrong => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            Err(ApiError::new(status, f.code(), f.message()))
        }
    }
}
