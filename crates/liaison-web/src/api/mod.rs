//! The JSON API under `/api/v1`, described by the OpenAPI 3.1 document at
//! `/api/v1/openapi.json`.
//!
//! Conventions: a bearer token from `POST /api/v1/auth/token`; lists return
//! `{"items": [...], "total": N, "next": cursor|null}` and take `after` (the cursor) and `limit`;
//! errors return `{"error": {"code", "message", "fields"}}` with a stable `code`.

pub mod activities;
pub mod auth;
pub mod deliberations;
pub mod open311;
pub mod opinion_stats;
pub mod opinions;
pub mod org;
// 年度活动计划 and 云问政 (issue 4).
pub mod plans;
pub mod questions;
// 闭会建议 and 履职档案 (issue 4).
pub mod duty_record;
pub mod suggestions;
// The caller's in-app notification feed.
pub mod notifications;

use crate::AppState;
use axum::Json;
use axum::Router;
use axum::routing::{delete, get, post};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// API routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(auth::create_token))
        .route("/regions", get(org::list_regions))
        .route("/stations", get(org::list_stations))
        .route("/deputies", get(org::list_deputies))
        .route("/handling-units", get(org::list_units))
        .route(
            "/opinions",
            get(opinions::list).post(opinions::create_opinion),
        )
        .route("/opinions/track", get(opinions::track))
        .route("/opinions/hot-topics", get(opinions::hot_topics))
        .route("/opinions/stats", get(opinion_stats::stats))
        .route("/opinions/track/rating", post(opinions::rate))
        .route("/opinions/track/follow_up", post(opinions::follow_up))
        .route("/opinions/{id}", get(opinions::show))
        .route("/opinions/{id}/actions", post(opinions::act))
        .route(
            "/opinions/{id}/follow_ups/{follow_up_id}/answer",
            post(opinions::answer_follow_up),
        )
        // 闭会建议 and 履职档案 (issue 4).
        .route(
            "/suggestions",
            get(suggestions::list).post(suggestions::create),
        )
        .route(
            "/suggestions/{id}",
            get(suggestions::show).patch(suggestions::update),
        )
        .route("/suggestions/{id}/actions", post(suggestions::act))
        .route(
            "/suggestions/{id}/supplements",
            post(suggestions::supplement),
        )
        .route(
            "/deputies/{id}/duty-record",
            get(duty_record::list).post(duty_record::declare),
        )
        .route(
            "/deputies/{id}/duty-record/{entry_id}/actions",
            post(duty_record::review),
        )
        // 主题活动 and 督政议事
        .route(
            "/activities",
            get(activities::list).post(activities::create),
        )
        // Static segments win over `{id}` in the router.
        .route("/activities/plans", get(plans::list).post(plans::create))
        .route("/activities/plans/{id}", get(plans::show))
        .route("/activities/plans/{id}/items", post(plans::add_item))
        .route(
            "/activities/plans/{id}/items/{item_id}",
            delete(plans::remove_item),
        )
        .route(
            "/activities/{id}",
            get(activities::show).patch(activities::update),
        )
        .route("/activities/{id}/actions", post(activities::act))
        .route(
            "/deliberations",
            get(deliberations::list).post(deliberations::create),
        )
        .route("/deliberations/windows", get(questions::list_windows))
        .route("/deliberations/windows/{id}", get(questions::show_window))
        .route(
            "/deliberations/windows/{id}/questions",
            get(questions::public_questions).post(questions::ask),
        )
        .route(
            "/deliberations/windows/{id}/questions/{question_id}/actions",
            post(questions::act),
        )
        .route("/deliberations/{id}", get(deliberations::show))
        .route("/deliberations/{id}/actions", post(deliberations::act))
        .route("/notifications", get(notifications::list))
        .route("/openapi.json", get(openapi_json))
        .fallback(api_not_found)
        .layer(axum::middleware::map_response(json_errors))
}

/// Every error under `/api/v1` is the JSON error body, in Chinese: axum's own refusals (a query
/// parameter that does not parse, a wrong path parameter, a method the path does not take) come
/// as plain English text otherwise.
async fn json_errors(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let detail = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "该地址不支持此请求方法，请查阅接口文档（/api/v1/openapi.json）".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "记录不存在".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "请求内容过大（不超过20MB）".to_owned()),
        s if s.is_server_error() => ("internal", "系统内部错误，已记录，请稍后重试".to_owned()),
        _ => (
            "bad_request",
            if detail.is_empty() {
                "请求有误，请查阅接口文档（/api/v1/openapi.json）".to_owned()
            } else {
                format!("请求参数有误：{detail}")
            },
        ),
    };
    crate::error::ApiError::new(status, code, message).into_response()
}

async fn api_not_found() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "接口不存在，请查阅 /api/v1/openapi.json",
    )
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct ListPage<T: ToSchema> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Matching items in all pages; a lower bound when `total_capped`.
    pub total: i64,
    /// The count stopped early (at 1000 for opinions; a PostgreSQL text search counts the newest
    /// ids it read): there are at least `total` matches, likely more.
    pub total_capped: bool,
    /// Cursor to pass as `after` for the next page; null on the last page.
    pub next: Option<String>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Liaison 人大代表联络站 API",
        version = "1",
        description = "联络站平台的数据接口：组织机构（行政区划、联络站、代表、承办单位）、群众意见（提交、查询评价、办理动作）、闭会建议、履职档案、主题活动、督政议事与云问政、站内通知。列表统一返回 {items, total, next}，分页以 after=next 继续；错误统一返回 {error: {code, message, fields}}，过于频繁时为 429 并带 Retry-After。群众意见的 Open311（GeoReport v2）接口见 /open311/discovery.json。"
    ),
    paths(
        auth::create_token,
        org::list_regions,
        org::list_stations,
        org::list_deputies,
        org::list_units,
        opinions::create_opinion,
        opinions::track,
        opinions::rate,
        opinions::follow_up,
        opinions::list,
        opinions::show,
        opinions::act,
        opinions::answer_follow_up,
        opinions::hot_topics,
        opinion_stats::stats,
        // 闭会建议 and 履职档案 (issue 4).
        suggestions::list,
        suggestions::create,
        suggestions::show,
        suggestions::update,
        suggestions::supplement,
        suggestions::act,
        duty_record::list,
        duty_record::declare,
        duty_record::review,
        // 主题活动 and 督政议事
        activities::list,
        activities::create,
        activities::show,
        activities::update,
        activities::act,
        deliberations::list,
        deliberations::create,
        deliberations::show,
        deliberations::act,
        plans::list,
        plans::show,
        plans::create,
        plans::add_item,
        plans::remove_item,
        questions::list_windows,
        questions::show_window,
        questions::public_questions,
        questions::ask,
        questions::act,
        notifications::list,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "auth", description = "令牌"), (name = "organisation", description = "组织机构"), (name = "opinions", description = "民意收集处理"), (name = "suggestions", description = "闭会建议"), (name = "duty_record", description = "代表履职档案"), (name = "activities", description = "主题活动"), (name = "deliberations", description = "督政议事"), (name = "notifications", description = "站内通知"))
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
