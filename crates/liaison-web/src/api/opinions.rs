//! Opinions over the API: public intake, tracking and rating; staff lists, details and actions.

use crate::AppState;
use crate::api::ListPage;
use crate::auth::{ApiUser, RequestCtx};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::intake::{IntakeError, IntakeInput, submit};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use liaison_core::validate::{self, FieldError};
use liaison_core::workflow::{
    OpinionAction, OpinionState, ResolutionGrade, Satisfaction, WorkflowError,
};
use liaison_db::audit::Actor;
use liaison_db::directory;
use liaison_db::opinions::{self, ActError, Acting, ActionInput, OpinionFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A new opinion.
#[derive(Deserialize, ToSchema, Default)]
pub struct NewOpinionBody {
    /// Station code (联络站码); or give `deputy_code`.
    pub station_code: Option<String>,
    /// Deputy code (代表码).
    pub deputy_code: Option<String>,
    /// Title (optional, at most 50 characters).
    #[serde(default)]
    pub title: String,
    /// What happened (required, at most 3,000 characters).
    #[serde(default)]
    pub body: String,
    /// Where (optional).
    #[serde(default)]
    pub place: String,
    /// Name (required unless anonymous).
    #[serde(default)]
    pub name: String,
    /// Mainland mobile number (required unless anonymous).
    #[serde(default)]
    pub phone: String,
    /// Anonymous: no name or phone kept; no tracking.
    #[serde(default)]
    pub anonymous: bool,
    /// Keep the submitter's identity confidential from handling units.
    #[serde(default)]
    pub confidential: bool,
    /// The item and its reply may be published (without personal data).
    #[serde(default)]
    pub public: bool,
}

/// A received opinion.
#[derive(Serialize, ToSchema)]
pub struct CreatedBody {
    /// Id.
    pub id: i64,
    /// Tracking number for the citizen.
    pub tracking_no: String,
}

fn intake_error(e: IntakeError) -> ApiError {
    match e {
        IntakeError::Fields(f) => ApiError::validation(f),
        IntakeError::RateLimited(m) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", m)
        }
        IntakeError::Db(e) => e.into(),
    }
}

/// Submits an opinion (public; rate limited; `Idempotency-Key` makes retries land once).
#[utoipa::path(post, path = "/api/v1/opinions", tag = "opinions", request_body = NewOpinionBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时保持不变，保证只受理一次")),
    responses(
        (status = 201, description = "已受理（同一 Idempotency-Key 的重试返回同一结果）", body = CreatedBody),
        (status = 422, description = "校验失败（code: validation_failed）", body = ErrorBody),
        (status = 429, description = "提交过于频繁（code: rate_limited）", body = ErrorBody)))]
pub async fn create_opinion(
    State(state): State<AppState>,
    ctx: RequestCtx,
    headers: HeaderMap,
    body: Result<Json<NewOpinionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let created = submit(
        &state,
        &Actor::public(&ctx.ip),
        &ctx.ip,
        IntakeInput {
            station_code: b.station_code,
            deputy_code: b.deputy_code,
            title: b.title,
            body: b.body,
            place: b.place,
            name: b.name,
            phone: b.phone,
            anonymous: b.anonymous,
            confidential: b.confidential,
            publishable: b.public,
            channel: "api".into(),
            idempotency_key: key,
            ..Default::default()
        },
    )
    .await
    .map_err(intake_error)?;
    let mut resp = (
        StatusCode::CREATED,
        Json(CreatedBody {
            id: created.id,
            tracking_no: created.tracking_no,
        }),
    )
        .into_response();
    if created.replayed {
        resp.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(resp)
}

/// Tracking parameters.
#[derive(Deserialize, IntoParams)]
pub struct TrackParams {
    /// Tracking number from the receipt.
    pub tracking_no: String,
    /// Last four digits of the phone given.
    pub phone_last4: String,
}

/// One step of the timeline as the submitter sees it.
#[derive(Serialize, ToSchema)]
pub struct PublicEvent {
    /// When (RFC 3339).
    pub at: String,
    /// When, in China Standard Time for display (YYYY-MM-DD HH:MM).
    pub at_local: String,
    /// What happened, in Chinese.
    pub label: String,
    /// State after.
    pub state: String,
    /// Note for the submitter (decline advice, rating comment).
    pub note: String,
}

/// An approved reply.
#[derive(Serialize, ToSchema)]
pub struct PublicReply {
    /// Handling round.
    pub round: i64,
    /// Unit (none for an answer on the spot).
    pub unit: Option<String>,
    /// Text.
    pub content: String,
    /// Grade A/B/C/D.
    pub resolution_grade: String,
    /// When.
    pub at: String,
}

/// A follow-up question (追问) of the submitter and the answer published under it.
#[derive(Serialize, ToSchema)]
pub struct PublicFollowUp {
    /// Id.
    pub id: i64,
    /// The question.
    pub content: String,
    /// Asked (RFC 3339).
    pub asked_at: String,
    /// Asked, China Standard Time for display (YYYY-MM-DD HH:MM).
    pub asked_at_local: String,
    /// The answer; null while waiting for one.
    pub answer: Option<String>,
    /// Who answered (the station, the handling unit or the deputy); null while unanswered.
    pub answerer: Option<String>,
    /// Answered (RFC 3339); null while unanswered.
    pub answered_at: Option<String>,
    /// Answered, China Standard Time for display; empty while unanswered.
    pub answered_at_local: String,
}

/// What the submitter sees.
#[derive(Serialize, ToSchema)]
pub struct Tracked {
    /// Tracking number.
    pub tracking_no: String,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Title.
    pub title: String,
    /// Whether a rating is possible now.
    pub can_rate: bool,
    /// Timeline, oldest first.
    pub timeline: Vec<PublicEvent>,
    /// Approved replies.
    pub replies: Vec<PublicReply>,
    /// Follow-up questions (追问) of the submitter, oldest first, each with its answer once given.
    pub follow_ups: Vec<PublicFollowUp>,
    /// Whether a follow-up question may be asked now (the item is still open).
    pub can_follow_up: bool,
    /// Why no follow-up question may be asked now (empty when one may).
    pub follow_up_refusal: String,
}

fn local_minutes(t: &time::OffsetDateTime) -> String {
    crate::routes::admin::beijing_time(t)
        .chars()
        .take(16)
        .collect()
}

fn public_follow_ups(list: Vec<liaison_db::follow_ups::FollowUp>) -> Vec<PublicFollowUp> {
    list.into_iter()
        .map(|f| {
            let answered = f.answered_at;
            PublicFollowUp {
                id: f.id,
                asked_at: rfc3339(&f.asked_at),
                asked_at_local: local_minutes(&f.asked_at),
                content: f.content,
                answer: answered.map(|_| f.answer),
                answerer: answered.map(|_| f.answerer),
                answered_at: answered.as_ref().map(rfc3339),
                answered_at_local: answered.as_ref().map(local_minutes).unwrap_or_default(),
            }
        })
        .collect()
}

fn rfc3339(t: &time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The submitter's view of an opinion. A duplicate merged into a master item shows the master's
/// progress and replies, so every submitter stays informed.
pub async fn tracked_view(
    state: &AppState,
    o: &opinions::Opinion,
) -> Result<Tracked, liaison_db::DbError> {
    tracked_view_with(state, o, None).await
}

/// [`tracked_view`] with the item's record when the lookup brought it
/// ([`opinions::track_with_record`]); a merged item shows its master's record instead.
pub async fn tracked_view_with(
    state: &AppState,
    o: &opinions::Opinion,
    record: Option<opinions::TrackingRecord>,
) -> Result<Tracked, liaison_db::DbError> {
    if let Some(master) = o.master_id {
        // Merging re-points an item's own merged items, so a master has no master; a chain
        // left from before that (or a cycle) is followed a few steps at most.
        let mut m = opinions::get(&state.db, master).await?;
        for _ in 0..8 {
            match m.master_id {
                Some(next) if next != o.id && next != m.id => {
                    m = opinions::get(&state.db, next).await?;
                }
                _ => break,
            }
        }
        m.master_id = None;
        let mut t = Box::pin(tracked_view_with(state, &m, None)).await?;
        t.tracking_no = o.tracking_no.clone();
        t.title = o.title.clone();
        t.state_label = format!("已与相同事项合并办理（{}）", t.state_label);
        // Only the submitter of the master item rates it; follow-ups are each submitter's own
        // (a merged item takes none: liaison_core::follow_up::may_ask).
        t.can_rate = false;
        t.follow_ups = public_follow_ups(liaison_db::follow_ups::list(&state.db, o.id).await?);
        let refusal = liaison_core::follow_up::may_ask(o.state()).err();
        t.can_follow_up = refusal.is_none();
        t.follow_up_refusal = refusal.unwrap_or_default().to_owned();
        return Ok(t);
    }
    let record = match record {
        Some(r) => r,
        None => opinions::tracking_record(&state.db, o.id).await?,
    };
    let timeline = record
        .timeline
        .into_iter()
        .map(|e| PublicEvent {
            at_local: local_minutes(&e.at),
            at: rfc3339(&e.at),
            label: e.label,
            state: e.to_state,
            note: e.public_note,
        })
        .collect();
    let replies = record
        .replies
        .into_iter()
        .filter(|r| r.status == "approved")
        .map(|r| PublicReply {
            round: r.round,
            unit: r.unit_name,
            content: r.content,
            resolution_grade: r.resolution_grade,
            at: rfc3339(&r.created_at),
        })
        .collect();
    let refusal = liaison_core::follow_up::may_ask(o.state()).err();
    Ok(Tracked {
        tracking_no: o.tracking_no.clone(),
        state: o.state.clone(),
        state_label: o.state().label().to_owned(),
        title: o.title.clone(),
        can_rate: o.state() == OpinionState::FeedbackSent,
        timeline,
        replies,
        follow_ups: public_follow_ups(record.follow_ups),
        can_follow_up: refusal.is_none(),
        follow_up_refusal: refusal.unwrap_or_default().to_owned(),
    })
}

fn not_tracked() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "未找到该事项：请核对受理编号和手机号后四位",
    )
}

/// Looks up an opinion by tracking number and the last four digits of the phone (public).
#[utoipa::path(get, path = "/api/v1/opinions/track", tag = "opinions", params(TrackParams),
    responses((status = 200, body = Tracked), (status = 404, description = "编号或手机号后四位不符（不透露编号是否存在）", body = ErrorBody)))]
pub async fn track(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(p): Query<TrackParams>,
) -> ApiResult<Json<Tracked>> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    if state.limits.guesses.locked(&p.tracking_no) {
        return Err(ApiError::guesses_locked());
    }
    let found =
        opinions::track_with_record(&state.db, &state.keys, &p.tracking_no, p.phone_last4.trim())
            .await?;
    state.limits.guesses.record(&p.tracking_no, found.is_some());
    let (o, record) = found.ok_or_else(not_tracked)?;
    Ok(Json(tracked_view_with(&state, &o, Some(record)).await?))
}

/// The item a tracking number and the last four digits of its phone name, for the submitter's
/// own actions (rating, follow-up questions); wrong digits count towards the number's lock.
async fn tracked(state: &AppState, no: &str, last4: &str) -> ApiResult<opinions::Opinion> {
    if state.limits.guesses.locked(no) {
        return Err(ApiError::guesses_locked());
    }
    let found = opinions::track(&state.db, &state.keys, no, last4.trim()).await?;
    state.limits.guesses.record(no, found.is_some());
    found.ok_or_else(not_tracked)
}

/// A rating by the submitter.
#[derive(Deserialize, ToSchema)]
pub struct RatingBody {
    /// Tracking number.
    pub tracking_no: String,
    /// Last four digits of the phone.
    pub phone_last4: String,
    /// `satisfied`, `basically_satisfied` or `unsatisfied`.
    pub rating: String,
    /// Comment (optional, at most 500 characters).
    #[serde(default)]
    pub comment: String,
}

/// Rates the answer (public; only while the item waits for a rating).
#[utoipa::path(post, path = "/api/v1/opinions/track/rating", tag = "opinions", request_body = RatingBody,
    responses((status = 200, body = Tracked), (status = 404, body = ErrorBody), (status = 409, description = "当前状态不能评价", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rate(
    State(state): State<AppState>,
    ctx: RequestCtx,
    body: Result<Json<RatingBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Tracked>> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let o = tracked(&state, &b.tracking_no, &b.phone_last4).await?;
    let rating = Satisfaction::parse(&b.rating).ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "rating",
            "评价须为 satisfied（满意）、basically_satisfied（基本满意）或 unsatisfied（不满意）",
        )])
    })?;
    let comment = validate::optional_text("comment", "评价意见", &b.comment, 500)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let rules = state.rules.read().await;
    opinions::act(
        &state.db,
        &state.keys,
        &state.opinion_rules(&rules),
        Acting::Submitter,
        &Actor {
            user_id: None,
            name: "反映人".into(),
            role: "submitter".into(),
            ip: ctx.ip.clone(),
        },
        o.id,
        OpinionAction::Rate,
        &ActionInput {
            rating: Some(rating),
            comment: Some(comment),
            ..Default::default()
        },
    )
    .await
    .map_err(act_error)?;
    let o = opinions::get(&state.db, o.id).await?;
    Ok(Json(tracked_view(&state, &o).await?))
}

/// A follow-up question (追问) by the submitter.
#[derive(Deserialize, ToSchema)]
pub struct OpinionFollowUpBody {
    /// Tracking number.
    pub tracking_no: String,
    /// Last four digits of the phone.
    pub phone_last4: String,
    /// The question (required, at most 500 characters).
    #[serde(default)]
    pub content: String,
}

/// Asks a follow-up question about one's own opinion (public; rate limited; a retry with the
/// same `Idempotency-Key`, or without one the same text while it waits for an answer, is stored
/// once). The question does not change the item's state; a closed item is refused with advice
/// to submit a new opinion.
#[utoipa::path(post, path = "/api/v1/opinions/track/follow_up", tag = "opinions", request_body = OpinionFollowUpBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时保持不变，保证只提交一次")),
    responses(
        (status = 201, description = "已提交追问，返回最新进度（含 follow_ups）", body = Tracked),
        (status = 200, description = "重复提交：该追问此前已收到，返回最新进度", body = Tracked),
        (status = 404, description = "编号或手机号后四位不符（不透露编号是否存在）", body = ErrorBody),
        (status = 409, description = "事项已办结、不予受理、已合并或已转为建议，不能追问（code: wrong_state）", body = ErrorBody),
        (status = 422, description = "内容为空或超长，或尚未答复的追问已达上限", body = ErrorBody),
        (status = 429, description = "提交过于频繁（code: rate_limited）", body = ErrorBody)))]
pub async fn follow_up(
    State(state): State<AppState>,
    ctx: RequestCtx,
    headers: HeaderMap,
    body: Result<Json<OpinionFollowUpBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let o = tracked(&state, &b.tracking_no, &b.phone_last4).await?;
    let content =
        liaison_core::follow_up::question(&b.content).map_err(|e| ApiError::validation(vec![e]))?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let asked = liaison_db::follow_ups::ask(
        &state.db,
        &state.keys,
        &submitter_actor(&ctx),
        o.id,
        &content,
        key,
    )
    .await
    .map_err(act_error)?;
    let o = opinions::get(&state.db, o.id).await?;
    let status = if asked.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(tracked_view(&state, &o).await?)).into_response())
}

/// The submitter as the actor of timeline events and audit records.
pub fn submitter_actor(ctx: &RequestCtx) -> Actor {
    Actor {
        user_id: None,
        name: "反映人".into(),
        role: "submitter".into(),
        ip: ctx.ip.clone(),
    }
}

/// Maps an action failure to an API error.
pub fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::Workflow(w) => {
            let status = match &w {
                WorkflowError::WrongState { .. } => StatusCode::CONFLICT,
                WorkflowError::NotPermitted { .. } => StatusCode::FORBIDDEN,
                WorkflowError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError::new(status, w.code(), w.message())
        }
        ActError::Invalid(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m)
        }
        ActError::Forbidden => ApiError::forbidden("您与该事项无处理关系，无权操作"),
        ActError::ForbiddenBecause(m) => ApiError::forbidden(m),
        ActError::Db(liaison_db::DbError::Stale) => ApiError::new(
            StatusCode::CONFLICT,
            "stale",
            "该事项已被他人处理，请刷新后查看最新状态再操作",
        ),
        ActError::Db(e) => e.into(),
    }
}

/// The request field a refused action is about (`""`: the action as a whole), so that a client
/// or a form can show the message next to it.
pub fn action_error_field(e: &ActError, action: OpinionAction) -> &'static str {
    use liaison_core::workflow::Guard;
    match e {
        ActError::Workflow(WorkflowError::Refused { guard, .. }) => match guard {
            Guard::ReasonGiven | Guard::ReasonIfUnsatisfied => "reason",
            Guard::GradeGiven => "resolution_grade",
            Guard::RatingGiven => "rating",
            Guard::DueDateValid | Guard::ExtensionWithinCap => "due_on",
            _ => "",
        },
        ActError::Invalid(_) => match action {
            OpinionAction::Accept => "category",
            OpinionAction::Assign => "unit_id",
            OpinionAction::Merge => "into_id",
            OpinionAction::Reply | OpinionAction::AnswerOnSpot => "content",
            OpinionAction::ConvertToSuggestion => "deputy_id",
            _ => "",
        },
        _ => "",
    }
}

/// [`act_error`] with the field the refusal is about.
fn act_error_at(e: ActError, action: OpinionAction) -> ApiError {
    let field = action_error_field(&e, action);
    let mut err = act_error(e);
    if !field.is_empty() {
        err.fields = vec![FieldError::new(field, err.message.clone())];
    }
    err
}

/// Filters of the staff list.
#[derive(Deserialize, IntoParams, Default)]
pub struct ListParams {
    /// State codes, comma-separated.
    pub state: Option<String>,
    /// Station code.
    pub station: Option<String>,
    /// Region code.
    pub region: Option<String>,
    /// Handling unit id: items the unit holds now.
    pub unit: Option<i64>,
    /// Category.
    pub category: Option<String>,
    /// Only overdue items.
    pub overdue: Option<bool>,
    /// Full-text search.
    pub q: Option<String>,
    /// Received from (YYYY-MM-DD).
    pub from: Option<String>,
    /// Received to (YYYY-MM-DD).
    pub to: Option<String>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A list row.
#[derive(Serialize, ToSchema)]
pub struct OpinionItem {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Title.
    pub title: String,
    /// State code.
    pub state: String,
    /// Station name.
    pub station: String,
    /// Category (confirmed, else suggested).
    pub category: String,
    /// Urgency.
    pub urgency: String,
    /// Current deadline (YYYY-MM-DD).
    pub due_on: Option<String>,
    /// `green`, `yellow` or `red`.
    pub light: Option<String>,
    /// Lead unit.
    pub lead_unit: Option<String>,
    /// Received (RFC 3339).
    pub created_at: String,
}

/// Parses YYYY-MM-DD.
pub fn parse_date(field: &str, s: &str) -> Result<time::Date, FieldError> {
    time::Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| FieldError::new(field, "日期格式须为 YYYY-MM-DD，例如 2026-12-01"))
}

/// Builds a list filter from query parameters (shared with the workbench).
pub async fn filter_from(state: &AppState, p: &ListParams) -> Result<OpinionFilter, ApiError> {
    let mut f = OpinionFilter {
        limit: p.limit.unwrap_or(50).clamp(1, 200),
        overdue: p.overdue.unwrap_or(false),
        ..Default::default()
    };
    if let Some(s) = p.state.as_deref().filter(|s| !s.is_empty()) {
        for code in s.split(',') {
            // A code or its Chinese label; the filter compares codes.
            let Some(state) = OpinionState::parse(code.trim()) else {
                return Err(ApiError::validation(vec![FieldError::new(
                    "state",
                    format!("未知状态“{code}”"),
                )]));
            };
            f.states.push(state.code().to_owned());
        }
    }
    if let Some(code) = p.station.as_deref().filter(|s| !s.is_empty()) {
        f.station_id = Some(
            directory::station_by_code(&state.db, code)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new("station", "联络站编码不存在")])
                })?
                .id,
        );
    }
    if let Some(code) = p.region.as_deref().filter(|s| !s.is_empty()) {
        f.region_path = Some(
            directory::region_by_code(&state.db, code)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new("region", "区划代码不存在")])
                })?
                .path,
        );
    }
    if let Some(u) = p.unit {
        f.unit_id = Some(u);
        f.unit_active_only = true;
    }
    f.category = p.category.clone().filter(|c| !c.is_empty());
    if let Some(q) = p.q.as_deref().filter(|q| !q.trim().is_empty()) {
        f.q = liaison_text::search_text::segment_for_query(q);
        if f.q.is_empty() {
            f.q.push(q.trim().to_owned());
        }
    }
    if let Some(d) = p.from.as_deref().filter(|s| !s.is_empty()) {
        f.created_from = Some(parse_date("from", d).map_err(|e| ApiError::validation(vec![e]))?);
    }
    if let Some(d) = p.to.as_deref().filter(|s| !s.is_empty()) {
        f.created_to = Some(parse_date("to", d).map_err(|e| ApiError::validation(vec![e]))?);
    }
    if let Some(a) = p.after.as_deref().filter(|s| !s.is_empty()) {
        f.before_id = Some(a.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after 参数无效，请使用上一页返回的 next 值",
            )
        })?);
    }
    Ok(f)
}

/// Lists opinions in the caller's scope (token required).
#[utoipa::path(get, path = "/api/v1/opinions", tag = "opinions", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<OpinionItem>)), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<OpinionItem>>> {
    let f = filter_from(&state, &p).await?;
    let scope = opinions::list_scope(&user.auth.principal);
    let page = opinions::list(&state.db, &scope, &f).await?;
    let rules = state.rules.read().await;
    let today = opinions::today();
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|o| OpinionItem {
                light: o.due_on.map(|d| {
                    liaison_core::sla::light(today, d, &rules.calendar)
                        .code()
                        .to_owned()
                }),
                id: o.id,
                tracking_no: o.tracking_no,
                title: o.title,
                state: o.state,
                station: o.station_name,
                category: if o.category.is_empty() {
                    o.category_suggested
                } else {
                    o.category
                },
                urgency: o.urgency,
                due_on: o.due_on.map(|d| d.to_string()),
                lead_unit: o.lead_unit_name,
                created_at: rfc3339(&o.created_at),
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// A unit on an item.
#[derive(Serialize, ToSchema)]
pub struct UnitOnItem {
    /// Unit id.
    pub unit_id: i64,
    /// Name.
    pub name: String,
    /// Lead (主办) or co-unit.
    pub is_lead: bool,
    /// Round.
    pub round: i64,
    /// Current.
    pub active: bool,
    /// Acknowledged (RFC 3339).
    pub acknowledged_at: Option<String>,
}

/// A timeline event for staff.
#[derive(Serialize, ToSchema)]
pub struct StaffEvent {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Action code.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Note.
    pub note: String,
}

/// A reply for staff.
#[derive(Serialize, ToSchema)]
pub struct StaffReply {
    /// Round.
    pub round: i64,
    /// Unit.
    pub unit: Option<String>,
    /// Text.
    pub content: String,
    /// Grade.
    pub resolution_grade: String,
    /// `pending_review`, `approved`, `rejected`.
    pub status: String,
    /// When.
    pub at: String,
}

/// A follow-up question (追问) of the submitter for staff.
#[derive(Serialize, ToSchema)]
pub struct StaffFollowUp {
    /// Id (for `POST /api/v1/opinions/{id}/follow_ups/{follow_up_id}/answer`).
    pub id: i64,
    /// Handling round it was asked in.
    pub round: i64,
    /// The question.
    pub content: String,
    /// Asked (RFC 3339).
    pub asked_at: String,
    /// Waiting for an answer.
    pub open: bool,
    /// The answer (empty while open).
    pub answer: String,
    /// Who answered, as published (station, unit or deputy).
    pub answerer: String,
    /// Answered (RFC 3339).
    pub answered_at: Option<String>,
}

/// An opinion for staff, personal data masked.
#[derive(Serialize, ToSchema)]
pub struct OpinionDetail {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Version for optimistic concurrency (send back as `version`).
    pub version: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Place.
    pub place: String,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station: String,
    /// Addressed deputy.
    pub deputy: Option<String>,
    /// Channel code.
    pub channel: String,
    /// Confirmed category.
    pub category: String,
    /// Suggested category and confidence.
    pub category_suggested: String,
    /// Confidence of the suggestion.
    pub category_confidence: f64,
    /// Urgency.
    pub urgency: String,
    /// Submitter's name, masked (empty when anonymous).
    pub submitter_name: String,
    /// Submitter's phone, masked.
    pub submitter_phone: String,
    /// Anonymous.
    pub anonymous: bool,
    /// Confidential.
    pub confidential: bool,
    /// Handling round.
    pub round: i64,
    /// Current deadline.
    pub due_on: Option<String>,
    /// Which deadline.
    pub due_kind: Option<String>,
    /// Reply deadline.
    pub reply_due_on: Option<String>,
    /// Units.
    pub units: Vec<UnitOnItem>,
    /// Timeline.
    pub timeline: Vec<StaffEvent>,
    /// Replies.
    pub replies: Vec<StaffReply>,
    /// Actions the caller may take now.
    pub available_actions: Vec<String>,
    /// Suggested lead unit for the category and area: `{id, code, name}` or null.
    #[schema(value_type = Option<Object>)]
    pub suggested_unit: Option<liaison_db::opinions::UnitSuggestion>,
    /// Received.
    pub created_at: String,
    /// The inter-session suggestion the item was converted into (`/api/v1/suggestions/{id}`).
    pub suggestion_id: Option<i64>,
    /// Follow-up questions of the submitter, oldest first.
    pub follow_ups: Vec<StaffFollowUp>,
    /// Whether the caller may answer follow-up questions (station side, the deputy addressed,
    /// the lead unit holding the item).
    pub may_answer_follow_ups: bool,
}

/// The staff view of an opinion, checking that `p` may see it.
pub async fn detail_for(
    state: &AppState,
    p: &liaison_core::scope::Principal,
    id: i64,
) -> ApiResult<OpinionDetail> {
    let o = opinions::get(&state.db, id).await?;
    let units = opinions::units(&state.db, id).await?;
    let parent = directory::station(&state.db, o.station_id).await?.parent_id;
    if !opinions::visible_to(p, &o, &units, parent) {
        // Not revealing that the item exists outside the caller's scope.
        return Err(ApiError::not_found());
    }
    let actors = opinions::actors_for(p, &o, &units, parent);
    let rules = state.rules.read().await;
    let r = state.opinion_rules(&rules);
    let ctx = opinions::context(&r, Some(&o));
    let available = liaison_core::workflow::available_actions(
        &liaison_core::workflow::OPINION_RULES,
        o.state(),
        &actors,
        &ctx,
    );
    // Masked values still narrow a person down in a small place: none at all where the
    // identity is hidden from the caller.
    let (name, phone) = if opinions::identity_hidden_from(p, &o) {
        (String::new(), String::new())
    } else {
        (
            validate::mask_name(
                &state
                    .keys
                    .decrypt(&o.submitter_name_enc)
                    .unwrap_or_default(),
            ),
            validate::mask_phone(
                &state
                    .keys
                    .decrypt(&o.submitter_phone_enc)
                    .unwrap_or_default(),
            ),
        )
    };
    Ok(OpinionDetail {
        id: o.id,
        tracking_no: o.tracking_no.clone(),
        state: o.state.clone(),
        state_label: o.state().label().to_owned(),
        version: o.version,
        title: o.title.clone(),
        body: o.body.clone(),
        place: o.place.clone(),
        station_code: o.station_code.clone(),
        station: o.station_name.clone(),
        deputy: o.deputy_name.clone(),
        channel: o.channel.clone(),
        category: o.category.clone(),
        category_suggested: o.category_suggested.clone(),
        category_confidence: o.category_confidence,
        urgency: o.urgency.clone(),
        submitter_name: name,
        submitter_phone: phone,
        anonymous: o.anonymous,
        confidential: o.confidential,
        round: o.round,
        due_on: o.due_on.map(|d| d.to_string()),
        due_kind: o.due_kind.clone(),
        reply_due_on: o.reply_due_on.map(|d| d.to_string()),
        units: units
            .into_iter()
            .map(|u| UnitOnItem {
                unit_id: u.unit_id,
                name: u.unit_name,
                is_lead: u.is_lead,
                round: u.round,
                active: u.active,
                acknowledged_at: u.acknowledged_at.as_ref().map(rfc3339),
            })
            .collect(),
        timeline: opinions::timeline(&state.db, id)
            .await?
            .into_iter()
            .map(|e| StaffEvent {
                at: rfc3339(&e.at),
                actor: e.actor_name,
                action: e.action,
                label: e.label,
                from_state: e.from_state,
                to_state: e.to_state,
                note: e.note,
            })
            .collect(),
        replies: opinions::replies(&state.db, id)
            .await?
            .into_iter()
            .map(|r| StaffReply {
                round: r.round,
                unit: r.unit_name,
                content: r.content,
                resolution_grade: r.resolution_grade,
                status: r.status,
                at: rfc3339(&r.created_at),
            })
            .collect(),
        available_actions: available.iter().map(|a| a.code().to_owned()).collect(),
        suggested_unit: {
            let category = if o.category.is_empty() {
                &o.category_suggested
            } else {
                &o.category
            };
            opinions::suggest_unit(&state.db, category, &o.region_path).await?
        },
        created_at: rfc3339(&o.created_at),
        suggestion_id: liaison_db::suggestions::by_source_opinion(&state.db, o.id)
            .await?
            .map(|(id, _)| id),
        follow_ups: liaison_db::follow_ups::list(&state.db, o.id)
            .await?
            .into_iter()
            .map(|f| StaffFollowUp {
                id: f.id,
                round: f.round,
                open: f.open(),
                asked_at: rfc3339(&f.asked_at),
                answered_at: f.answered_at.as_ref().map(rfc3339),
                content: f.content,
                answer: f.answer,
                answerer: f.answerer,
            })
            .collect(),
        may_answer_follow_ups: liaison_core::follow_up::may_answer(&actors),
    })
}

/// One opinion with its timeline (token required; personal data masked).
#[utoipa::path(get, path = "/api/v1/opinions/{id}", tag = "opinions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "事项编号")),
    responses((status = 200, body = OpinionDetail), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<OpinionDetail>> {
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// An action on an opinion.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct OpinionActionBody {
    /// `accept`, `decline`, `answer_on_spot`, `assign`, `acknowledge`, `contact_submitter`,
    /// `request_return`, `approve_return`, `reject_return`, `request_extension`,
    /// `approve_extension`, `reject_extension`, `reply`, `approve_reply`, `reject_reply`,
    /// `rehandle`, `close`, `merge`, `escalate`, `convert_to_suggestion`, `send_feedback`, and
    /// `rate` (the station records the rating a citizen gave in a follow-up call, 回访).
    pub action: String,
    /// Lead unit (assign).
    pub unit_id: Option<i64>,
    /// Co-units (assign).
    #[serde(default)]
    pub co_unit_ids: Vec<i64>,
    /// Deadline YYYY-MM-DD: assign and rehandle (default from the deadline table),
    /// request_extension (required: the date asked for), approve_extension (default: the date
    /// the unit asked for).
    pub due_on: Option<String>,
    /// Reason (decline, return, extension, reject, close).
    pub reason: Option<String>,
    /// Text (reply, answer_on_spot).
    pub content: Option<String>,
    /// A, B, C or D (reply, answer_on_spot).
    pub resolution_grade: Option<String>,
    /// Master item (merge).
    pub into_id: Option<i64>,
    /// Confirmed category (accept).
    pub category: Option<String>,
    /// The `version` the client saw; refused as stale if the item changed since.
    pub version: Option<i64>,
    /// The deputy who takes the item up as a suggestion (convert_to_suggestion); defaults to the
    /// deputy the item is addressed to.
    pub deputy_id: Option<i64>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied` (rate).
    pub rating: Option<String>,
    /// What the citizen said (rate; at most 500 characters).
    pub comment: Option<String>,
}

/// Turns a request body into the storage layer's input, or field errors.
pub fn action_input(b: &OpinionActionBody) -> Result<(OpinionAction, ActionInput), ApiError> {
    let action = OpinionAction::parse(&b.action).ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "action",
            format!("未知操作“{}”", b.action),
        )])
    })?;
    let due_on = match b.due_on.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => Some(parse_date("due_on", d).map_err(|e| ApiError::validation(vec![e]))?),
        None => None,
    };
    let grade = match b.resolution_grade.as_deref().filter(|s| !s.is_empty()) {
        Some(g) => Some(ResolutionGrade::parse(g).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("resolution_grade", "解决程度须为 A（已解决或基本解决）、B（正在解决）、C（暂不能解决）或 D（留作参考）")])
        })?),
        None => None,
    };
    let reason = match b.reason.as_deref() {
        Some(r) => Some(
            validate::optional_text("reason", "理由", r, 1000)
                .map_err(|e| ApiError::validation(vec![e]))?,
        ),
        None => None,
    };
    let rating = match b.rating.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(Satisfaction::parse(r).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "rating",
                "评价须为 satisfied（满意）、basically_satisfied（基本满意）或 unsatisfied（不满意）",
            )])
        })?),
        None => None,
    };
    let comment = match b.comment.as_deref() {
        Some(c) => Some(
            validate::optional_text("comment", "评价意见", c, 500)
                .map_err(|e| ApiError::validation(vec![e]))?,
        ),
        None => None,
    };
    Ok((
        action,
        ActionInput {
            unit_id: b.unit_id,
            co_unit_ids: b.co_unit_ids.clone(),
            due_on,
            reason,
            content: b.content.clone(),
            resolution_grade: grade,
            rating,
            comment,
            into_id: b.into_id,
            category: b.category.clone(),
            expected_version: b.version,
            deputy_id: b.deputy_id,
        },
    ))
}

/// Takes an action on an opinion; returns the item with its new state.
#[utoipa::path(post, path = "/api/v1/opinions/{id}/actions", tag = "opinions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "事项编号")), request_body = OpinionActionBody,
    responses(
        (status = 200, body = OpinionDetail),
        (status = 403, description = "无处理关系（code: forbidden / not_permitted）", body = ErrorBody),
        (status = 409, description = "当前状态不允许该操作（code: wrong_state），或已被他人处理（code: stale）", body = ErrorBody),
        (status = 422, description = "条件不满足或参数有误", body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<OpinionActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<OpinionDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let (action, input) = action_input(&b)?;
    // Existence and visibility first, so a stranger learns nothing.
    detail_for(&state, &user.auth.principal, id).await?;
    state
        .act_on_opinion(&user.auth.principal, &user.ctx.actor(), id, action, &input)
        .await
        .map_err(|e| act_error_at(e, action))?;
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// The answer to a follow-up question.
#[derive(Deserialize, ToSchema)]
pub struct FollowUpAnswerBody {
    /// The answer (required, at most 2,000 characters); published to the submitter.
    #[serde(default)]
    pub answer: String,
}

/// Answers a follow-up question (追问) of the submitter; the answer is published on the
/// tracking page under the question and the submitter gets an SMS. For the station side, the
/// deputy the item is addressed to and the lead unit holding it.
#[utoipa::path(post, path = "/api/v1/opinions/{id}/follow_ups/{follow_up_id}/answer", tag = "opinions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "事项编号"), ("follow_up_id" = i64, Path, description = "追问编号")),
    request_body = FollowUpAnswerBody,
    responses(
        (status = 200, body = OpinionDetail),
        (status = 403, description = "无权答复（协办单位、督办人员等）", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "该追问已答复（code: wrong_state）", body = ErrorBody),
        (status = 422, description = "答复内容为空或超长", body = ErrorBody)))]
pub async fn answer_follow_up(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, follow_up_id)): Path<(i64, i64)>,
    body: Result<Json<FollowUpAnswerBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<OpinionDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    // Existence and visibility first, so a stranger learns nothing.
    detail_for(&state, &user.auth.principal, id).await?;
    let answer =
        liaison_core::follow_up::answer(&b.answer).map_err(|e| ApiError::validation(vec![e]))?;
    liaison_db::follow_ups::answer(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        &user.auth.principal,
        id,
        follow_up_id,
        &answer,
    )
    .await
    .map_err(act_error)?;
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// Hot-topic parameters.
#[derive(Deserialize, IntoParams)]
pub struct HotParams {
    /// Window length in days (default 30, 1–365); the trend compares with the window before.
    pub days: Option<i64>,
    /// How many topics (default 10, at most 50).
    pub limit: Option<usize>,
}

/// A hot topic.
#[derive(Serialize, ToSchema)]
pub struct HotTopic {
    /// The word.
    pub keyword: String,
    /// Items in the window mentioning it.
    pub count: usize,
    /// Items in the window before.
    pub previous: usize,
    /// Change against the window before.
    pub trend: i64,
    /// Example titles.
    pub examples: Vec<String>,
}

/// Hot topics of the caller's scope (民意热词), from the most recent items (at most 5,000 per
/// window).
#[utoipa::path(get, path = "/api/v1/opinions/hot-topics", tag = "opinions", params(HotParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<HotTopic>), (status = 401, body = ErrorBody)))]
pub async fn hot_topics(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<HotParams>,
) -> ApiResult<Json<Vec<HotTopic>>> {
    let days = p.days.unwrap_or(30).clamp(1, 365);
    let limit = p.limit.unwrap_or(10).clamp(1, 50);
    let today = opinions::today();
    let current_from = today - time::Duration::days(days - 1);
    let previous_from = current_from - time::Duration::days(days);
    let scope = opinions::list_scope(&user.auth.principal);
    let rows = opinions::recent_texts(&state.db, &scope, previous_from, 10_000).await?;
    let cut = current_from
        .with_hms(0, 0, 0)
        .expect("midnight")
        .assume_offset(time::macros::offset!(+8));
    let topics = tokio::task::spawn_blocking(move || {
        let docs: Vec<liaison_text::hot_topics::Doc<'_>> = rows
            .iter()
            .map(|(at, title, words)| liaison_text::hot_topics::Doc {
                current: *at >= cut,
                title,
                words,
            })
            .collect();
        liaison_text::hot_topics::hot_topics(&docs, limit, 0.3)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(Json(
        topics
            .into_iter()
            .map(|t| HotTopic {
                trend: t.trend(),
                keyword: t.keyword,
                count: t.count,
                previous: t.previous,
                examples: t.examples,
            })
            .collect(),
    ))
}
