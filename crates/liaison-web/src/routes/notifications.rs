//! The in-app notification feed of staff (消息通知): the outbox's `inapp` notifications
//! addressed to the signed-in user (their station, region, unit or deputy record; see
//! `liaison_db::notification_feed`), newest first, with read state and “mark all read”.

use crate::AppState;
use crate::auth::{CsrfForm, Staff};
use crate::error::PageResult;
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use liaison_db::notification_feed::{self, Addressee, FeedItem};
use serde::Deserialize;

/// Notification feed routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/notifications", get(feed_page))
        .route("/work/notifications/read-all", post(read_all))
        .route("/work/notifications/{id}/read", post(read_one))
}

/// Notifications per page.
const PAGE_SIZE: i64 = 30;

/// One notification as pages and the API show it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Id (the cursor).
    pub id: i64,
    /// Template key.
    pub template: String,
    /// What it is about: 群众意见, 闭会建议, 主题活动 or 通知.
    pub kind: &'static str,
    /// The Chinese text.
    pub text: String,
    /// Workbench page of the item it is about.
    pub link: Option<String>,
    /// Read by the user.
    pub read: bool,
    /// Queued.
    pub created_at: time::OffsetDateTime,
    /// Opinion it is about.
    pub opinion_id: Option<i64>,
    /// Suggestion it is about.
    pub suggestion_id: Option<i64>,
    /// Activity it is about.
    pub activity_id: Option<i64>,
}

impl Entry {
    /// The entry of a feed row; the text is the one the outbox sends (without the SMS
    /// signature).
    pub fn from_item(i: FeedItem, public_url: &str) -> Entry {
        let payload: serde_json::Value = serde_json::from_str(&i.payload).unwrap_or_default();
        let activity_id = payload["activity_id"].as_i64();
        let read = i.read();
        let outbox = liaison_db::notifications::Notification {
            id: i.id,
            channel: "inapp".into(),
            recipient: String::new(),
            template: i.template.clone(),
            payload: i.payload,
            opinion_id: i.opinion_id,
            status: String::new(),
            attempts: 0,
            last_error: String::new(),
            created_at: i.created_at,
        };
        let text = crate::notify::render(&outbox, public_url);
        let text = text
            .strip_prefix("【联络站】")
            .map(str::to_owned)
            .unwrap_or(text);
        let (kind, link) = match (i.opinion_id, i.suggestion_id, activity_id) {
            (Some(o), _, _) => ("群众意见", Some(format!("/work/opinions/{o}"))),
            (_, Some(s), _) => ("闭会建议", Some(format!("/work/suggestions/{s}"))),
            (_, _, Some(a)) => ("主题活动", Some(format!("/work/activities/{a}"))),
            _ => ("通知", None),
        };
        Entry {
            id: i.id,
            template: i.template,
            kind,
            text,
            link,
            read,
            created_at: i.created_at,
            opinion_id: i.opinion_id,
            suggestion_id: i.suggestion_id,
            activity_id,
        }
    }

    /// `YYYY-MM-DD HH:MM`, China time.
    pub fn when(&self) -> String {
        crate::routes::suggestions::local_time(self.created_at)
    }

    /// RFC 3339.
    pub fn iso(&self) -> String {
        crate::api::suggestions::rfc3339(&self.created_at)
    }
}

#[derive(Template)]
#[template(path = "notifications/index.html")]
struct FeedPage {
    layout: Layout,
    receives: bool,
    entries: Vec<Entry>,
    unread: i64,
    /// The cursor of this page (empty on the first page).
    after: String,
    /// The cursor of the next (older) page.
    next: Option<i64>,
    /// The newest notification the user has been shown: "mark all read" goes up to it and no
    /// further, so one that arrives meanwhile stays unread.
    shown_through: i64,
}

#[derive(Deserialize)]
struct FeedQuery {
    after: Option<String>,
    done: Option<String>,
}

/// `GET /work/notifications`.
async fn feed_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<FeedQuery>,
) -> PageResult {
    let p = &staff.auth.principal;
    let after = crate::routes::cursor(&q.after);
    let page = notification_feed::list(&state.db, p, after, PAGE_SIZE).await?;
    // The first page shows the newest; an older page was reached from it.
    let shown_through = match (after, page.items.first()) {
        (None, Some(first)) => first.id,
        (None, None) => 0,
        (Some(_), _) => notification_feed::newest_id(&state.db, p).await?,
    };
    let unread = notification_feed::unread_count(&state.db, p, i64::MAX).await?;
    let notice = match q.done.as_deref() {
        Some("all") => Some("已将全部通知标为已读。".to_owned()),
        Some("one") => Some("已标为已读。".to_owned()),
        _ => None,
    };
    render(&FeedPage {
        layout: Layout::staff(&staff, "消息通知", "notifications").with_notice(notice),
        receives: Addressee::of(p).receives(),
        entries: page
            .items
            .into_iter()
            .map(|i| Entry::from_item(i, &state.config.public_url))
            .collect(),
        unread,
        after: after.map(|a| a.to_string()).unwrap_or_default(),
        next: page.next,
        shown_through,
    })
}

#[derive(Deserialize)]
struct BackForm {
    /// The page cursor to come back to.
    #[serde(default)]
    after: String,
}

#[derive(Deserialize)]
struct ReadAllForm {
    /// The page cursor to come back to.
    #[serde(default)]
    after: String,
    /// The newest notification the page showed.
    #[serde(default)]
    through: String,
}

fn back(done: &str, after: &str) -> Redirect {
    match after.trim().parse::<i64>() {
        Ok(a) => Redirect::to(&format!("/work/notifications?done={done}&after={a}")),
        Err(_) => Redirect::to(&format!("/work/notifications?done={done}")),
    }
}

/// `POST /work/notifications/read-all` — everything the page showed read (up to the newest
/// notification on it; one that arrived since stays unread).
async fn read_all(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(f): CsrfForm<ReadAllForm>,
) -> PageResult {
    let Ok(through) = f.through.trim().parse::<i64>() else {
        return Err(crate::error::PageError::BadRequest(
            "页面已过期，请刷新消息通知页面后再点“全部标为已读”。".into(),
        ));
    };
    notification_feed::mark_all_read(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &staff.auth.principal,
        through,
    )
    .await?;
    Ok(back("all", &f.after).into_response())
}

/// `POST /work/notifications/{id}/read` — one notification read (404 unless addressed to the
/// user).
async fn read_one(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackForm>,
) -> PageResult {
    notification_feed::mark_read(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &staff.auth.principal,
        id,
    )
    .await?;
    Ok(back("one", &f.after).into_response())
}
