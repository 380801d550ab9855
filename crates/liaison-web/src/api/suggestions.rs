//! Inter-session suggestions (闭会建议) over the API: lists in the caller's scope, drafts, the
//! item with its timeline and the actions the caller may take, and every transition as
//! `POST …/{id}/actions`, like opinions.

use crate::AppState;
use crate::api::ListPage;
use crate::api::opinions::{act_error, parse_date};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError};
use liaison_core::workflow::{
    Registration, ResolutionGrade, Satisfaction, SuggestionAction, SuggestionState,
};
use liaison_db::directory;
use liaison_db::suggestions::{
    self, Acting, NewSuggestion, Suggestion, SuggestionFilter, SuggestionInput,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 text of a time.
pub fn rfc3339(t: &time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A new draft.
#[derive(Deserialize, ToSchema, Default)]
pub struct NewSuggestionBody {
    /// Title (required, at most 100 characters).
    #[serde(default)]
    pub title: String,
    /// Text (required, at most 10,000 characters).
    #[serde(default)]
    pub body: String,
    /// Category (optional; one of the opinion categories).
    #[serde(default)]
    pub category: String,
}

/// The validated fields of a draft: (title, body, category), or field errors.
pub fn draft_fields(
    title: &str,
    body: &str,
    category: &str,
) -> Result<(String, String, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let title = validate::required_text("title", "建议标题", title, suggestions::TITLE_MAX)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let body = validate::required_text("body", "建议内容", body, suggestions::BODY_MAX)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let category = category.trim();
    if !category.is_empty() && !crate::routes::opinions_work::CATEGORIES.contains(&category) {
        errors.push(FieldError::new(
            "category",
            format!(
                "分类须为以下之一：{}",
                crate::routes::opinions_work::CATEGORIES.join("、")
            ),
        ));
    }
    if errors.is_empty() {
        Ok((title, body, category.to_owned()))
    } else {
        Err(errors)
    }
}

/// A created draft.
#[derive(Serialize, ToSchema)]
pub struct CreatedSuggestion {
    /// Id.
    pub id: i64,
}

/// Drafts a suggestion (deputies only; the caller is the proposing deputy).
#[utoipa::path(post, path = "/api/v1/suggestions", tag = "suggestions", security(("bearer" = [])),
    request_body = NewSuggestionBody,
    responses(
        (status = 201, description = "草稿已保存", body = CreatedSuggestion),
        (status = 403, description = "只有代表可以起草建议（code: forbidden）", body = ErrorBody),
        (status = 422, description = "校验失败（code: validation_failed）", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    body: Result<Json<NewSuggestionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    user.require(&[Role::Deputy])?;
    let p = &user.auth.principal;
    let deputy_id = p
        .deputy_id
        .ok_or_else(|| ApiError::forbidden("该账号未关联代表，不能起草建议"))?;
    let (title, body, category) =
        draft_fields(&b.title, &b.body, &b.category).map_err(ApiError::validation)?;
    let rules = state.rules.read().await;
    let id = suggestions::create_draft(
        &state.db,
        &state.keys,
        &state.opinion_rules(&rules),
        &user.ctx.actor(),
        &NewSuggestion {
            deputy_id,
            title,
            body,
            category,
            source_opinion_id: None,
            created_by: Some(p.user_id),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedSuggestion { id })).into_response())
}

/// Filters of suggestion lists.
#[derive(Deserialize, IntoParams, Default, Clone)]
pub struct ListParams {
    /// State codes, comma-separated.
    pub state: Option<String>,
    /// Region code: suggestions of deputies in its subtree.
    pub region: Option<String>,
    /// Handling unit id: suggestions the unit holds now.
    pub unit: Option<i64>,
    /// Deputy code: suggestions this deputy proposes.
    pub deputy: Option<String>,
    /// Only drafts the caller (a deputy) is invited to co-sign and has not signed.
    pub invited: Option<bool>,
    /// `suggestion`, `motion` or `reference`.
    pub registration: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Only overdue items.
    pub overdue: Option<bool>,
    /// Only items due within this many days.
    pub due_within_days: Option<i64>,
    /// Words in the number, title or text.
    pub q: Option<String>,
    /// Drafted from (YYYY-MM-DD).
    pub from: Option<String>,
    /// Drafted to (YYYY-MM-DD).
    pub to: Option<String>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Builds a list filter from query parameters (shared with the workbench).
pub async fn filter_from(
    state: &AppState,
    p: &Principal,
    q: &ListParams,
) -> Result<SuggestionFilter, ApiError> {
    let mut f = SuggestionFilter {
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        overdue: q.overdue.unwrap_or(false),
        due_within_days: q.due_within_days.map(|d| d.clamp(0, 366)),
        unit_id: q.unit,
        q: q.q.clone().filter(|s| !s.trim().is_empty()),
        category: q.category.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let invalid = |field: &str, m: String| ApiError::validation(vec![FieldError::new(field, m)]);
    if let Some(s) = q.state.as_deref().filter(|s| !s.is_empty()) {
        for code in s.split(',') {
            if SuggestionState::parse(code.trim()).is_none() {
                return Err(invalid("state", format!("未知状态“{code}”")));
            }
            f.states.push(code.trim().to_owned());
        }
    }
    if let Some(code) = q.region.as_deref().filter(|s| !s.is_empty()) {
        f.region_path = Some(
            directory::region_by_code(&state.db, code)
                .await?
                .ok_or_else(|| invalid("region", "区划代码不存在".into()))?
                .path,
        );
    }
    if let Some(code) = q.deputy.as_deref().filter(|s| !s.is_empty()) {
        f.deputy_id = Some(
            directory::deputy_by_code(&state.db, code)
                .await?
                .ok_or_else(|| invalid("deputy", "代表编号不存在".into()))?
                .id,
        );
    }
    if q.invited.unwrap_or(false) {
        f.invited_deputy_id = Some(p.deputy_id.unwrap_or(-1));
    }
    if let Some(r) = q.registration.as_deref().filter(|s| !s.is_empty()) {
        f.registration = Some(
            Registration::parse(r)
                .ok_or_else(|| {
                    invalid(
                        "registration",
                        "立案方式须为 suggestion、motion 或 reference".into(),
                    )
                })?
                .code()
                .to_owned(),
        );
    }
    if let Some(d) = q.from.as_deref().filter(|s| !s.is_empty()) {
        f.created_from = Some(parse_date("from", d).map_err(|e| ApiError::validation(vec![e]))?);
    }
    if let Some(d) = q.to.as_deref().filter(|s| !s.is_empty()) {
        f.created_to = Some(parse_date("to", d).map_err(|e| ApiError::validation(vec![e]))?);
    }
    if let Some(a) = q.after.as_deref().filter(|s| !s.is_empty()) {
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

/// A list row.
#[derive(Serialize, ToSchema)]
pub struct SuggestionItem {
    /// Id.
    pub id: i64,
    /// Number (none while a draft).
    pub number: Option<String>,
    /// Title.
    pub title: String,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Proposing deputy.
    pub deputy: String,
    /// Category.
    pub category: String,
    /// Registration code.
    pub registration: Option<String>,
    /// Lead unit.
    pub lead_unit: Option<String>,
    /// Current deadline (YYYY-MM-DD).
    pub due_on: Option<String>,
    /// `green`, `yellow` or `red`.
    pub light: Option<String>,
    /// Grade of the latest reply.
    pub last_grade: Option<String>,
    /// Latest rating.
    pub last_rating: Option<String>,
    /// Drafted (RFC 3339).
    pub created_at: String,
}

fn item(
    s: Suggestion,
    today: time::Date,
    cal: &liaison_core::workdays::Calendar,
) -> SuggestionItem {
    SuggestionItem {
        light: s
            .due_on
            .map(|d| liaison_core::sla::light(today, d, cal).code().to_owned()),
        id: s.id,
        state_label: s.state().label().to_owned(),
        number: s.number,
        title: s.title,
        state: s.state,
        deputy: s.deputy_name,
        category: s.category,
        registration: s.registration,
        lead_unit: s.lead_unit_name,
        due_on: s.due_on.map(|d| d.to_string()),
        last_grade: s.last_grade,
        last_rating: s.last_rating,
        created_at: rfc3339(&s.created_at),
    }
}

/// Lists suggestions in the caller's scope: a deputy's own and those they are invited to
/// co-sign; submitted suggestions of the region for county and city staff; a unit's assigned.
#[utoipa::path(get, path = "/api/v1/suggestions", tag = "suggestions", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<SuggestionItem>)), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<ListPage<SuggestionItem>>> {
    let p = &user.auth.principal;
    let f = filter_from(&state, p, &q).await?;
    let page = suggestions::list(&state.db, &suggestions::list_scope(p), &f).await?;
    let rules = state.rules.read().await;
    let today = liaison_db::handling::today();
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|s| item(s, today, &rules.calendar))
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// A co-signer.
#[derive(Serialize, ToSchema)]
pub struct CosignerView {
    /// Deputy id.
    pub deputy_id: i64,
    /// Deputy code.
    pub deputy_code: String,
    /// Name.
    pub name: String,
    /// `invited`, `signed` or `withdrawn`.
    pub status: String,
}

/// A unit on the suggestion.
#[derive(Serialize, ToSchema)]
pub struct UnitView {
    /// Unit id.
    pub unit_id: i64,
    /// Name.
    pub name: String,
    /// Lead (主办) or co-unit (协办).
    pub is_lead: bool,
    /// Round.
    pub round: i64,
    /// Current.
    pub active: bool,
    /// Acknowledged (RFC 3339).
    pub acknowledged_at: Option<String>,
    /// Co-unit's opinion deadline.
    pub co_opinion_due_on: Option<String>,
    /// Co-unit's opinion given (RFC 3339).
    pub co_opinion_at: Option<String>,
}

/// A dated text (supplement, consultation, co-unit opinion, reply, rating).
#[derive(Serialize, ToSchema)]
pub struct Entry {
    /// What it is: `supplement`, `consultation`, `co_opinion`, `reply`, `second_reply`, `rating`.
    pub kind: String,
    /// Who (unit or deputy).
    pub by: String,
    /// Round.
    pub round: Option<i64>,
    /// Grade (replies), rating code (ratings), mode (consultations).
    pub code: Option<String>,
    /// Day (consultations: the day held).
    pub on: Option<String>,
    /// Text.
    pub content: String,
    /// Recorded (RFC 3339).
    pub at: String,
}

/// A timeline event.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    /// When (RFC 3339).
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

/// A suggestion with everything about it.
#[derive(Serialize, ToSchema)]
pub struct SuggestionDetail {
    /// Id.
    pub id: i64,
    /// Number (given at submission).
    pub number: Option<String>,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Version for optimistic concurrency (send back as `version`).
    pub version: i64,
    /// Title (as submitted, once submitted).
    pub title: String,
    /// Text (as submitted, once submitted).
    pub body: String,
    /// Category.
    pub category: String,
    /// Proposing deputy's id.
    pub deputy_id: i64,
    /// Proposing deputy's code.
    pub deputy_code: String,
    /// Proposing deputy's name.
    pub deputy: String,
    /// Registration code (`suggestion`, `motion`, `reference`).
    pub registration: Option<String>,
    /// Handling round.
    pub round: i64,
    /// Current deadline.
    pub due_on: Option<String>,
    /// Which deadline.
    pub due_kind: Option<String>,
    /// Reply deadline.
    pub reply_due_on: Option<String>,
    /// Co-units' opinion deadline.
    pub co_opinion_due_on: Option<String>,
    /// Day of assignment.
    pub assigned_on: Option<String>,
    /// Grade of the latest reply.
    pub last_grade: Option<String>,
    /// Latest rating.
    pub last_rating: Option<String>,
    /// The opinion it was converted from.
    pub source_opinion_id: Option<i64>,
    /// The frozen submission `{number, title, body, category, deputy, cosigners, submitted_at}`.
    #[schema(value_type = Option<Object>)]
    pub snapshot: Option<suggestions::Snapshot>,
    /// Co-signers.
    pub cosigners: Vec<CosignerView>,
    /// Units.
    pub units: Vec<UnitView>,
    /// Supplements, consultations, co-unit opinions, replies and ratings, oldest first.
    pub records: Vec<Entry>,
    /// Timeline.
    pub timeline: Vec<EventView>,
    /// Actions the caller may take now.
    pub available_actions: Vec<String>,
    /// Drafted (RFC 3339).
    pub created_at: String,
    /// Submitted (RFC 3339).
    pub submitted_at: Option<String>,
}

/// The view of a suggestion for `p`, checking that `p` may see it (404 otherwise).
pub async fn detail_for(state: &AppState, p: &Principal, id: i64) -> ApiResult<SuggestionDetail> {
    let s = suggestions::get(&state.db, id).await?;
    let cosigners = suggestions::cosigners(&state.db, id).await?;
    let units = suggestions::units(&state.db, id).await?;
    if !suggestions::visible_to(p, &s, &cosigners, &units) {
        return Err(ApiError::not_found());
    }
    let available = {
        let rules = state.rules.read().await;
        suggestions::available(&state.opinion_rules(&rules), p, &s, &cosigners, &units)
    };
    let mut records: Vec<(time::OffsetDateTime, Entry)> = Vec::new();
    for x in suggestions::supplements(&state.db, id).await? {
        records.push((
            x.created_at,
            Entry {
                kind: "supplement".into(),
                by: x.author_name,
                round: None,
                code: None,
                on: None,
                content: x.content,
                at: rfc3339(&x.created_at),
            },
        ));
    }
    for x in suggestions::consultations(&state.db, id).await? {
        records.push((
            x.created_at,
            Entry {
                kind: "consultation".into(),
                by: x.unit_name.unwrap_or_default(),
                round: None,
                code: Some(x.mode),
                on: Some(x.held_on.to_string()),
                content: x.summary,
                at: rfc3339(&x.created_at),
            },
        ));
    }
    for x in suggestions::co_opinions(&state.db, id).await? {
        records.push((
            x.created_at,
            Entry {
                kind: "co_opinion".into(),
                by: x.unit_name,
                round: Some(x.round),
                code: None,
                on: None,
                content: x.content,
                at: rfc3339(&x.created_at),
            },
        ));
    }
    for x in suggestions::replies(&state.db, id).await? {
        records.push((
            x.created_at,
            Entry {
                kind: x.kind,
                by: x.unit_name.unwrap_or_default(),
                round: Some(x.round),
                code: Some(x.resolution_grade),
                on: None,
                content: x.content,
                at: rfc3339(&x.created_at),
            },
        ));
    }
    for x in suggestions::ratings(&state.db, id).await? {
        records.push((
            x.created_at,
            Entry {
                kind: "rating".into(),
                by: s.deputy_name.clone(),
                round: Some(x.round),
                code: Some(x.rating),
                on: None,
                content: x.comment,
                at: rfc3339(&x.created_at),
            },
        ));
    }
    records.sort_by_key(|(at, _)| *at);
    Ok(SuggestionDetail {
        id: s.id,
        number: s.number.clone(),
        state: s.state.clone(),
        state_label: s.state().label().to_owned(),
        version: s.version,
        title: s.title.clone(),
        body: s.body.clone(),
        category: s.category.clone(),
        deputy_id: s.deputy_id,
        deputy_code: s.deputy_code.clone(),
        deputy: s.deputy_name.clone(),
        registration: s.registration.clone(),
        round: s.round,
        due_on: s.due_on.map(|d| d.to_string()),
        due_kind: s.due_kind.clone(),
        reply_due_on: s.reply_due_on.map(|d| d.to_string()),
        co_opinion_due_on: s.co_opinion_due_on.map(|d| d.to_string()),
        assigned_on: s.assigned_on.map(|d| d.to_string()),
        last_grade: s.last_grade.clone(),
        last_rating: s.last_rating.clone(),
        source_opinion_id: s.source_opinion_id,
        snapshot: s.frozen(),
        cosigners: cosigners
            .into_iter()
            .map(|c| CosignerView {
                deputy_id: c.deputy_id,
                deputy_code: c.deputy_code,
                name: c.name,
                status: c.status,
            })
            .collect(),
        units: units
            .into_iter()
            .map(|u| UnitView {
                unit_id: u.unit_id,
                name: u.unit_name,
                is_lead: u.is_lead,
                round: u.round,
                active: u.active,
                acknowledged_at: u.acknowledged_at.as_ref().map(rfc3339),
                co_opinion_due_on: u.co_opinion_due_on.map(|d| d.to_string()),
                co_opinion_at: u.co_opinion_at.as_ref().map(rfc3339),
            })
            .collect(),
        records: records.into_iter().map(|(_, e)| e).collect(),
        timeline: suggestions::timeline(&state.db, id)
            .await?
            .into_iter()
            .map(|e| EventView {
                at: rfc3339(&e.at),
                actor: e.actor_name,
                action: e.action,
                label: e.label,
                from_state: e.from_state,
                to_state: e.to_state,
                note: e.note,
            })
            .collect(),
        available_actions: available.iter().map(|a| a.code().to_owned()).collect(),
        created_at: rfc3339(&s.created_at),
        submitted_at: s.submitted_at.as_ref().map(rfc3339),
    })
}

/// One suggestion with its timeline and the actions the caller may take.
#[utoipa::path(get, path = "/api/v1/suggestions/{id}", tag = "suggestions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "建议编号（内部 id）")),
    responses((status = 200, body = SuggestionDetail), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SuggestionDetail>> {
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// Changes of a draft.
#[derive(Deserialize, ToSchema, Default)]
pub struct DraftBody {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Text.
    #[serde(default)]
    pub body: String,
    /// Category.
    #[serde(default)]
    pub category: String,
    /// The `version` the client saw.
    pub version: Option<i64>,
}

/// Changes a draft (the proposing deputy, before submission only).
#[utoipa::path(patch, path = "/api/v1/suggestions/{id}", tag = "suggestions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "建议编号（内部 id）")), request_body = DraftBody,
    responses((status = 200, body = SuggestionDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "已被他人修改（code: stale）", body = ErrorBody),
        (status = 422, description = "已提交，不能修改（code: validation_failed）", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<DraftBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<SuggestionDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    detail_for(&state, p, id).await?;
    let (title, text, category) =
        draft_fields(&b.title, &b.body, &b.category).map_err(ApiError::validation)?;
    suggestions::update_draft(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        p,
        id,
        &title,
        &text,
        &category,
        b.version,
    )
    .await
    .map_err(act_error)?;
    Ok(Json(detail_for(&state, p, id).await?))
}

/// Material added after submission.
#[derive(Deserialize, ToSchema, Default)]
pub struct SupplementBody {
    /// Text (required, at most 5,000 characters).
    #[serde(default)]
    pub content: String,
}

/// Adds material to a submitted suggestion; the submission itself stays as it was.
#[utoipa::path(post, path = "/api/v1/suggestions/{id}/supplements", tag = "suggestions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "建议编号（内部 id）")), request_body = SupplementBody,
    responses((status = 200, body = SuggestionDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn supplement(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<SupplementBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<SuggestionDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    detail_for(&state, p, id).await?;
    let content = validate::required_text("content", "补充材料", &b.content, suggestions::TEXT_MAX)
        .map_err(|e| ApiError::validation(vec![e]))?;
    suggestions::add_supplement(&state.db, &state.keys, &user.ctx.actor(), p, id, &content)
        .await
        .map_err(act_error)?;
    Ok(Json(detail_for(&state, p, id).await?))
}

/// An action on a suggestion.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct SuggestionActionBody {
    /// `invite_cosigner`, `cosign`, `withdraw_cosign`, `submit`, `register`, `assign`,
    /// `acknowledge`, `request_return`, `approve_return`, `reject_return`,
    /// `record_consultation`, `submit_co_opinion`, `reply`, `rate`, `rehandle`, `second_reply`,
    /// `close`.
    pub action: String,
    /// Deputy code of the deputy to invite (invite_cosigner); or give `cosigner_deputy_id`.
    pub cosigner: Option<String>,
    /// Deputy id of the deputy to invite (invite_cosigner).
    pub cosigner_deputy_id: Option<i64>,
    /// `suggestion`, `motion` or `reference` (register).
    pub registration: Option<String>,
    /// Lead unit (assign).
    pub unit_id: Option<i64>,
    /// Co-units (assign).
    #[serde(default)]
    pub co_unit_ids: Vec<i64>,
    /// Reply deadline YYYY-MM-DD (assign); default 3 months, at most 6.
    pub due_on: Option<String>,
    /// Reason (request_return, reject_return, close).
    pub reason: Option<String>,
    /// Text (reply, second_reply, submit_co_opinion, record_consultation).
    pub content: Option<String>,
    /// A, B, C or D (reply, second_reply).
    pub resolution_grade: Option<String>,
    /// `satisfied`, `basically_satisfied` or `unsatisfied` (rate).
    pub rating: Option<String>,
    /// Comment of the rating.
    pub comment: Option<String>,
    /// Day of the consultation YYYY-MM-DD (record_consultation).
    pub held_on: Option<String>,
    /// `face_to_face`, `site_visit`, `phone` or `meeting` (record_consultation).
    pub mode: Option<String>,
    /// The `version` the client saw; refused as stale if the item changed since.
    pub version: Option<i64>,
}

/// Turns a request body into the storage layer's input, or field errors.
pub async fn action_input(
    state: &AppState,
    b: &SuggestionActionBody,
) -> Result<(SuggestionAction, SuggestionInput), ApiError> {
    let field = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
    let action = SuggestionAction::parse(&b.action)
        .ok_or_else(|| field("action", &format!("未知操作“{}”", b.action)))?;
    let date = |f: &str, v: &Option<String>| -> Result<Option<time::Date>, ApiError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(d) => Ok(Some(
                parse_date(f, d).map_err(|e| ApiError::validation(vec![e]))?,
            )),
            None => Ok(None),
        }
    };
    let text = |f: &str,
                label: &str,
                v: &Option<String>,
                max: usize|
     -> Result<Option<String>, ApiError> {
        match v.as_deref() {
            Some(t) => Ok(Some(
                validate::optional_text(f, label, t, max)
                    .map_err(|e| ApiError::validation(vec![e]))?,
            )
            .filter(|s| !s.is_empty())),
            None => Ok(None),
        }
    };
    let mut cosigner_deputy_id = b.cosigner_deputy_id;
    if let Some(code) = b
        .cosigner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        cosigner_deputy_id = Some(
            directory::deputy_by_code(&state.db, code)
                .await?
                .ok_or_else(|| field("cosigner", &format!("代表编号“{code}”不存在")))?
                .id,
        );
    }
    let registration = match b.registration.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(Registration::parse(r).ok_or_else(|| {
            field(
                "registration",
                "立案方式须为 suggestion（作为建议立案）、motion（转作议案处理）或 reference（转供参考）",
            )
        })?),
        None => None,
    };
    let resolution_grade = match b.resolution_grade.as_deref().filter(|s| !s.is_empty()) {
        Some(g) => Some(ResolutionGrade::parse(g).ok_or_else(|| {
            field("resolution_grade", "解决程度须为 A（已解决或基本解决）、B（正在解决或列入计划）、C（暂时难以解决）或 D（留作参考）")
        })?),
        None => None,
    };
    let rating = match b.rating.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(Satisfaction::parse(r).ok_or_else(|| {
            field(
                "rating",
                "评价须为 satisfied（满意）、basically_satisfied（基本满意）或 unsatisfied（不满意）",
            )
        })?),
        None => None,
    };
    Ok((
        action,
        SuggestionInput {
            cosigner_deputy_id,
            registration,
            unit_id: b.unit_id,
            co_unit_ids: b.co_unit_ids.clone(),
            due_on: date("due_on", &b.due_on)?,
            reason: text("reason", "理由", &b.reason, 1000)?,
            content: text("content", "内容", &b.content, suggestions::TEXT_MAX)?,
            resolution_grade,
            rating,
            comment: text("comment", "评价意见", &b.comment, 500)?,
            held_on: date("held_on", &b.held_on)?,
            mode: b.mode.clone().filter(|m| !m.is_empty()),
            expected_version: b.version,
        },
    ))
}

/// Takes a user's action on a suggestion (shared with the workbench).
pub async fn take_action(
    state: &AppState,
    p: &Principal,
    actor: &liaison_db::audit::Actor,
    id: i64,
    action: SuggestionAction,
    input: &SuggestionInput,
) -> Result<Suggestion, liaison_db::suggestions::ActError> {
    let rules = state.rules.read().await;
    suggestions::act(
        &state.db,
        &state.keys,
        &state.opinion_rules(&rules),
        Acting::User(p),
        actor,
        id,
        action,
        input,
    )
    .await
}

/// Takes an action on a suggestion; returns it with its new state.
///
/// A suggestion the caller may not see is 404, as if it did not exist; one the caller sees but
/// may not act on (a co-signer acting for the lead deputy) gets 403 (code `forbidden`) with the
/// reason; an action the state does not allow 409 (`wrong_state`, e.g. a co-signer withdrawing after
/// submission); a condition not met 422 (`refused`, e.g. a unit's return after the 7-working-day
/// window).
#[utoipa::path(post, path = "/api/v1/suggestions/{id}/actions", tag = "suggestions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "建议编号（内部 id）")), request_body = SuggestionActionBody,
    responses(
        (status = 200, body = SuggestionDetail),
        (status = 403, description = "无办理关系（code: forbidden / not_permitted）", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "当前状态不允许该操作（code: wrong_state），或已被他人处理（code: stale）", body = ErrorBody),
        (status = 422, description = "条件不满足（code: refused）或参数有误（code: validation_failed）", body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<SuggestionActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<SuggestionDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let (action, input) = action_input(&state, &b).await?;
    let p = &user.auth.principal;
    // Existence and visibility first: a refusal would otherwise confirm that the suggestion
    // exists and name its lead deputy to anyone.
    detail_for(&state, p, id).await?;
    take_action(&state, p, &user.ctx.actor(), id, action, &input)
        .await
        .map_err(act_error)?;
    Ok(Json(detail_for(&state, p, id).await?))
}
