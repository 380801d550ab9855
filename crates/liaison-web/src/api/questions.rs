//! 云问政 over the API: question windows (the public's open ones without a token, those in the
//! caller's scope with one), a window's public questions and answers, asking (no account, rate
//! limited like the page), and staff moderation and the unit's answer. Every change goes through
//! the storage functions the pages use, so it is audited the same way.

use crate::AppState;
use crate::api::ListPage;
use crate::api::activities::{act_error, rfc3339};
use crate::auth::{ApiUser, MaybeApiUser, RequestCtx};
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::activity;
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError, Phone};
use liaison_db::activities::{self as acts, ActError};
use liaison_db::deliberations::{self, Question, QuestionWindow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn today() -> time::Date {
    activity::china_date(liaison_db::db::now())
}

/// Roles that see 云问政 windows with a token (as on the workbench page).
const VIEW_ROLES: &[Role] = &[
    Role::StationStaff,
    Role::TownshipStaff,
    Role::CountyStaff,
    Role::CityStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
];

/// A question window.
#[derive(Serialize, ToSchema)]
pub struct WindowBody {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station.
    pub station: String,
    /// The handling unit that answers.
    pub unit: String,
    /// Title.
    pub title: String,
    /// What it is about.
    pub description: String,
    /// First day (YYYY-MM-DD).
    pub opens_on: String,
    /// Last day (YYYY-MM-DD).
    pub closes_on: String,
    /// Open for questions today.
    pub open: bool,
    /// Questions asked (including hidden ones).
    pub questions: i64,
    /// Questions answered.
    pub answered: i64,
}

fn window_body(w: QuestionWindow, today: time::Date) -> WindowBody {
    WindowBody {
        open: activity::window_open(w.opens_on, w.closes_on, today),
        id: w.id,
        station_code: w.station_code,
        station: w.station_name,
        unit: w.unit_name,
        title: w.title,
        description: w.description,
        opens_on: w.opens_on.to_string(),
        closes_on: w.closes_on.to_string(),
        questions: w.questions,
        answered: w.answered,
    }
}

/// Paging of the short lists (windows and questions are capped in storage).
#[derive(Deserialize, IntoParams, Default)]
pub struct PageParams {
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A page of an already capped list; the cursor is an offset.
fn page<T: ToSchema, U>(
    all: Vec<U>,
    p: &PageParams,
    cap: usize,
    f: impl FnMut(U) -> T,
) -> ApiResult<ListPage<T>> {
    let limit = p.limit.unwrap_or(50).clamp(1, 200) as usize;
    let offset: usize = match p.after.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => a.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after 参数无效，请使用上一页返回的 next 值",
            )
        })?,
        None => 0,
    };
    let total = all.len();
    Ok(ListPage {
        next: (offset + limit < total).then(|| (offset + limit).to_string()),
        total: total as i64,
        total_capped: total >= cap,
        items: all.into_iter().skip(offset).take(limit).map(f).collect(),
    })
}

/// Lists question windows: without a token those open now or closed within 90 days; with one,
/// those in the caller's scope (staff) or answered by the caller's unit.
#[utoipa::path(get, path = "/api/v1/deliberations/windows", tag = "deliberations", params(PageParams), security((), ("bearer" = [])),
    responses((status = 200, body = inline(ListPage<WindowBody>)), (status = 403, body = ErrorBody)))]
pub async fn list_windows(
    State(state): State<AppState>,
    MaybeApiUser(user): MaybeApiUser,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<ListPage<WindowBody>>> {
    let t = today();
    let (all, cap) = match &user {
        Some(u) => {
            u.require(VIEW_ROLES)?;
            (
                deliberations::windows(&state.db, &u.auth.principal.scope()).await?,
                200,
            )
        }
        None => (deliberations::public_windows(&state.db, t).await?, 100),
    };
    Ok(Json(page(all, &q, cap, |w| window_body(w, t))?))
}

/// A question as staff and the answering unit see it.
#[derive(Serialize, ToSchema)]
pub struct StaffQuestion {
    /// Id.
    pub id: i64,
    /// The question.
    pub body: String,
    /// The asker (masked name).
    pub asker: String,
    /// Hidden from the public.
    pub hidden: bool,
    /// Why hidden.
    pub hidden_reason: String,
    /// Sensitive words found when it was posted.
    pub flagged_words: String,
    /// The unit's answer (empty: not answered).
    pub answer: String,
    /// When answered (RFC 3339).
    pub answered_at: Option<String>,
    /// When asked (RFC 3339).
    pub asked_at: String,
}

impl From<Question> for StaffQuestion {
    fn from(q: Question) -> Self {
        StaffQuestion {
            id: q.id,
            body: q.body,
            asker: q.asker_display,
            hidden: q.hidden,
            hidden_reason: q.hidden_reason,
            flagged_words: q.flagged_words,
            answer: q.answer,
            answered_at: q.answered_at.as_ref().map(rfc3339),
            asked_at: rfc3339(&q.created_at),
        }
    }
}

/// A window with all its questions, hidden ones included.
#[derive(Serialize, ToSchema)]
pub struct WindowDetail {
    /// The window.
    pub window: WindowBody,
    /// Questions, oldest first.
    pub questions: Vec<StaffQuestion>,
    /// The caller may hide and restore questions (staff of the station or above).
    pub can_moderate: bool,
    /// The caller answers for the unit.
    pub can_answer: bool,
}

/// The window if `p` works on it: (window, moderates as staff, answers as the unit); not found
/// otherwise.
async fn window_for(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<(QuestionWindow, bool, bool)> {
    let w = deliberations::window(&state.db, id).await?;
    let parent = acts::station_parent(&state.db, w.station_id).await?;
    let moderator = deliberations::is_staff_for(p, w.station_id, &w.region_path, parent);
    let answerer =
        matches!(p.role, Role::UnitOfficer | Role::UnitLead) && p.unit_id == Some(w.unit_id);
    if !moderator && !answerer {
        return Err(ApiError::not_found());
    }
    Ok((w, moderator, answerer))
}

async fn detail(state: &AppState, p: &Principal, id: i64) -> ApiResult<WindowDetail> {
    let (w, can_moderate, can_answer) = window_for(state, p, id).await?;
    Ok(WindowDetail {
        questions: deliberations::questions(&state.db, id, true)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        window: window_body(w, today()),
        can_moderate,
        can_answer,
    })
}

/// One window with every question, for its station's staff and the answering unit.
#[utoipa::path(get, path = "/api/v1/deliberations/windows/{id}", tag = "deliberations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "云问政编号")),
    responses((status = 200, body = WindowDetail), (status = 404, body = ErrorBody)))]
pub async fn show_window(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<WindowDetail>> {
    Ok(Json(detail(&state, &user.auth.principal, id).await?))
}

/// A question as the public sees it.
#[derive(Serialize, ToSchema)]
pub struct PublicQuestion {
    /// Id.
    pub id: i64,
    /// The question.
    pub body: String,
    /// The asker (masked name).
    pub asker: String,
    /// The unit's answer (empty: not answered yet).
    pub answer: String,
    /// When answered (RFC 3339).
    pub answered_at: Option<String>,
    /// When asked (RFC 3339).
    pub asked_at: String,
}

/// A window's questions as the public sees them (page and API): hidden ones left out, and
/// phone, identity-card and bank-card numbers and e-mail addresses in the question or the
/// answer masked — citizens often write their own into the text (reference §7.1). Staff see
/// the text as written.
pub async fn published_questions(state: &AppState, window_id: i64) -> ApiResult<Vec<Question>> {
    let mut all = deliberations::questions(&state.db, window_id, false).await?;
    for q in &mut all {
        q.body = validate::redact_for_publication(&q.body);
        q.answer = validate::redact_for_publication(&q.answer);
    }
    Ok(all)
}

/// The public questions and answers of a window that has opened (no token).
#[utoipa::path(get, path = "/api/v1/deliberations/windows/{id}/questions", tag = "deliberations", params(PageParams,
        ("id" = i64, Path, description = "云问政编号")),
    responses((status = 200, body = inline(ListPage<PublicQuestion>)), (status = 404, body = ErrorBody)))]
pub async fn public_questions(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PageParams>,
) -> ApiResult<Json<ListPage<PublicQuestion>>> {
    let w = deliberations::window(&state.db, id).await?;
    if w.opens_on > today() {
        return Err(ApiError::not_found());
    }
    let all = published_questions(&state, id).await?;
    Ok(Json(page(all, &q, 1000, |x| PublicQuestion {
        id: x.id,
        body: x.body,
        asker: x.asker_display,
        answer: x.answer,
        answered_at: x.answered_at.as_ref().map(rfc3339),
        asked_at: rfc3339(&x.created_at),
    })?))
}

/// A citizen's question.
#[derive(Deserialize, ToSchema, Default)]
pub struct AskBody {
    /// The question (up to 1000 characters).
    #[serde(default)]
    pub body: String,
    /// Name (stored encrypted, shown masked).
    #[serde(default)]
    pub name: String,
    /// Mobile number (stored encrypted, never shown).
    #[serde(default)]
    pub phone: String,
}

/// The result of asking.
#[derive(Serialize, ToSchema)]
pub struct Asked {
    /// Question id.
    pub id: i64,
    /// Held for moderation (it contained a listed word); shown after staff review.
    pub held: bool,
    /// What happens next, in Chinese.
    pub message: String,
}

/// Asks a question in an open window (no account; rate limited per address and phone).
#[utoipa::path(post, path = "/api/v1/deliberations/windows/{id}/questions", tag = "deliberations", request_body = AskBody,
    params(("id" = i64, Path, description = "云问政编号")),
    responses((status = 201, body = Asked), (status = 404, body = ErrorBody),
        (status = 409, description = "不在提问时间内（code: window_closed）", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "提交过于频繁（code: rate_limited）", body = ErrorBody)))]
pub async fn ask(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    body: Result<Json<AskBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let w = deliberations::window(&state.db, id).await?;
    if w.opens_on > today() {
        return Err(ApiError::not_found());
    }
    let mut errs = Vec::new();
    let text = validate::required_text("body", "提问内容", &b.body, 1000).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let name = validate::required_text("name", "姓名", &b.name, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = Phone::parse("phone", &b.phone)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let key = format!("phone:{}", state.keys.blind_index(&phone));
    if state.limits.phone_blocked(&key) {
        return Err(ApiError::too_many());
    }
    let posted = deliberations::post_question(
        &state.db,
        &state.keys,
        &ctx.actor(),
        id,
        &text,
        &name,
        &phone,
        today(),
    )
    .await
    .map_err(|e| match e {
        ActError::SignupClosed(m) => ApiError::new(StatusCode::CONFLICT, "window_closed", m),
        e => act_error(e),
    })?;
    let message = if posted.held {
        "提问已收到。内容需经工作人员审核后公开，请耐心等待。"
    } else {
        "提问已发布，答复单位将在问政期间内公开答复。"
    };
    Ok((
        StatusCode::CREATED,
        Json(Asked {
            id: posted.id,
            held: posted.held,
            message: message.to_owned(),
        }),
    )
        .into_response())
}

/// A moderation step or the unit's answer.
#[derive(Deserialize, ToSchema, Default)]
pub struct QuestionActionBody {
    /// `hide` (with `reason`), `restore` (staff of the station or above), `answer` (with
    /// `answer`; the answering unit, while the window is open).
    pub action: String,
    /// Why it is hidden.
    pub reason: Option<String>,
    /// The public answer (up to 3000 characters).
    pub answer: Option<String>,
}

/// Hides, restores or answers a question; returns the window afterwards.
#[utoipa::path(post, path = "/api/v1/deliberations/windows/{id}/questions/{question_id}/actions", tag = "deliberations",
    request_body = QuestionActionBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "云问政编号"), ("question_id" = i64, Path, description = "提问编号")),
    responses((status = 200, body = WindowDetail),
        (status = 403, description = "无权操作（code: forbidden, not_permitted）", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "状态不允许（code: wrong_state）", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, qid)): Path<(i64, i64)>,
    body: Result<Json<QuestionActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<WindowDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let (_, moderator, _) = window_for(&state, p, id).await?;
    let q = deliberations::question(&state.db, qid).await?;
    if q.window_id != id {
        return Err(ApiError::not_found());
    }
    let actor = user.ctx.actor();
    match b.action.as_str() {
        "hide" | "restore" => {
            if !moderator {
                return Err(ApiError::forbidden("只有联络站工作人员可以屏蔽或恢复提问"));
            }
            deliberations::moderate(
                &state.db,
                &state.keys,
                &actor,
                qid,
                b.action == "hide",
                b.reason.as_deref().unwrap_or(""),
            )
            .await
            .map_err(act_error)?;
        }
        "answer" => {
            let text =
                validate::required_text("answer", "答复", b.answer.as_deref().unwrap_or(""), 3000)
                    .map_err(|e| ApiError::validation(vec![e]))?;
            deliberations::answer(&state.db, &state.keys, &actor, p, qid, &text, today())
                .await
                .map_err(act_error)?;
        }
        other => {
            return Err(ApiError::validation(vec![FieldError::new(
                "action",
                format!("未知操作“{other}”"),
            )]));
        }
    }
    Ok(Json(detail(&state, p, id).await?))
}
