//! The caller's in-app notifications over the API: the same feed as `/work/notifications`.

use crate::AppState;
use crate::api::suggestions::rfc3339;
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::routes::notifications::Entry;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use liaison_db::notification_feed;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The count of all notifications stops here (`total_capped`).
const TOTAL_CAP: i64 = 1000;

/// Paging of the feed.
#[derive(Deserialize, IntoParams, Default)]
pub struct FeedParams {
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A notification addressed to the caller.
#[derive(Serialize, ToSchema)]
pub struct NotificationItem {
    /// Id.
    pub id: i64,
    /// Template key, e.g. `opinion.assigned`, `suggestion.due_soon`, `activity.invited`.
    pub template: String,
    /// What it is about in Chinese: 群众意见, 闭会建议, 主题活动 or 通知.
    pub kind: String,
    /// The text in Chinese.
    pub text: String,
    /// Opinion it is about.
    pub opinion_id: Option<i64>,
    /// Suggestion it is about.
    pub suggestion_id: Option<i64>,
    /// Activity it is about.
    pub activity_id: Option<i64>,
    /// Workbench page of the item (relative URL).
    pub link: Option<String>,
    /// Read by the caller.
    pub read: bool,
    /// Queued (RFC 3339).
    pub created_at: String,
}

/// A page of the caller's notifications.
#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    /// Notifications of this page, newest first.
    pub items: Vec<NotificationItem>,
    /// Notifications addressed to the caller in all pages; a lower bound when `total_capped`.
    pub total: i64,
    /// The count stopped at its cap (1000).
    pub total_capped: bool,
    /// Cursor to pass as `after` for the next (older) page; null on the last page.
    pub next: Option<String>,
    /// Unread notifications of the caller.
    pub unread: i64,
}

/// The notifications addressed to the caller (their station, region, unit or deputy record),
/// newest first, with read state. Administrators and grid workers get an empty list.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(FeedParams),
    security(("bearer" = [])),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<FeedParams>,
) -> ApiResult<Json<NotificationPage>> {
    let before_id = match q.after.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after 参数无效，请使用上一页返回的 next 值",
            )
        })?),
        None => None,
    };
    let p = &user.auth.principal;
    let page =
        notification_feed::list(&state.db, p, before_id, q.limit.unwrap_or(50).clamp(1, 200))
            .await?;
    let counted = notification_feed::total(&state.db, p, TOTAL_CAP + 1).await?;
    let unread = notification_feed::unread_count(&state.db, p, i64::MAX).await?;
    Ok(Json(NotificationPage {
        items: page
            .items
            .into_iter()
            .map(|i| {
                let e = Entry::from_item(i, &state.config.public_url);
                NotificationItem {
                    created_at: rfc3339(&e.created_at),
                    id: e.id,
                    template: e.template,
                    kind: e.kind.to_owned(),
                    text: e.text,
                    opinion_id: e.opinion_id,
                    suggestion_id: e.suggestion_id,
                    activity_id: e.activity_id,
                    link: e.link,
                    read: e.read,
                }
            })
            .collect(),
        total: counted.min(TOTAL_CAP),
        total_capped: counted > TOTAL_CAP,
        next: page.next.map(|n| n.to_string()),
        unread,
    }))
}
