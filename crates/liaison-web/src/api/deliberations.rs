//! 督政议事 over the API: deliberation topics and supervision items — scoped lists, creation,
//! details, and one actions endpoint for participants, views, the outcome and the agreed
//! measures tracked to done. Also the input checks the workbench pages share.

use crate::AppState;
use crate::api::ListPage;
use crate::api::activities::{FollowUpBody, act_error, check_follow_up, rfc3339};
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::activity::{
    DeliberationAction, DeliberationKind, DeliberationState, ParticipantKind,
};
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError};
use liaison_db::activities::{self, ActError, Source};
use liaison_db::deliberations::{
    self, Deliberation, DeliberationFilter, NewDeliberation, NewParticipant,
};
use liaison_db::directory;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A topic as typed.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct DeliberationBody {
    /// Station code.
    #[serde(default)]
    pub station_code: String,
    /// `consultation`, `democratic_forum`, `inspection`, `law_enforcement_check`,
    /// `special_inquiry`.
    #[serde(default)]
    pub kind: String,
    /// Topic.
    #[serde(default)]
    pub title: String,
    /// Background material.
    #[serde(default)]
    pub background: String,
    /// Day of the meeting (YYYY-MM-DD).
    pub held_on: Option<String>,
    /// Activity it was discussed at.
    pub activity_id: Option<i64>,
}

/// Checks a topic as typed (shared with the workbench).
pub async fn check_deliberation(
    state: &AppState,
    p: &Principal,
    b: &DeliberationBody,
) -> Result<Result<NewDeliberation, Vec<FieldError>>, liaison_db::DbError> {
    let mut errs = Vec::new();
    let title = validate::required_text("title", "议题", &b.title, 100).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let background = validate::optional_text("background", "背景材料", &b.background, 10_000)
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let kind = DeliberationKind::parse(&b.kind);
    if kind.is_none() {
        errs.push(FieldError::new("kind", "请选择议事类型"));
    }
    let held_on = match b
        .held_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => crate::api::opinions::parse_date("held_on", d)
            .map_err(|e| errs.push(e))
            .ok(),
        None => None,
    };
    let station = match directory::station_by_code(&state.db, b.station_code.trim()).await? {
        Some(s) if crate::api::activities::organises(state, p, &s).await? => Some(s),
        Some(_) => {
            errs.push(FieldError::new(
                "station_code",
                "该联络站不在您的工作范围内，请从列表中选择",
            ));
            None
        }
        None => {
            errs.push(FieldError::new("station_code", "请选择联络站"));
            None
        }
    };
    if let (Some(aid), Some(st)) = (b.activity_id, &station) {
        match activities::get(&state.db, aid).await {
            Ok(a) if a.station_id == st.id => {}
            Ok(_) | Err(liaison_db::DbError::NotFound) => {
                errs.push(FieldError::new("activity_id", "所选活动不属于该联络站"))
            }
            Err(e) => return Err(e),
        }
    }
    match (errs.is_empty(), station, kind) {
        (true, Some(station), Some(kind)) => Ok(Ok(NewDeliberation {
            station_id: station.id,
            activity_id: b.activity_id,
            kind,
            title,
            background,
            held_on,
        })),
        _ => Ok(Err(errs)),
    }
}

/// A list row.
#[derive(Serialize, ToSchema)]
pub struct DeliberationItem {
    /// Id.
    pub id: i64,
    /// Station.
    pub station: String,
    /// Kind code.
    pub kind: String,
    /// Whether it is a supervision item.
    pub supervision: bool,
    /// State code.
    pub state: String,
    /// Topic.
    pub title: String,
    /// Day of the meeting.
    pub held_on: Option<String>,
}

fn item(d: Deliberation) -> DeliberationItem {
    DeliberationItem {
        supervision: d.kind().is_supervision(),
        id: d.id,
        station: d.station_name,
        kind: d.kind,
        state: d.state,
        title: d.title,
        held_on: d.held_on.map(|x| x.to_string()),
    }
}

/// A participant.
#[derive(Serialize, ToSchema)]
pub struct ParticipantBody {
    /// Id (quote as `participant_id` of a view).
    pub id: i64,
    /// `deputy`, `citizen`, `official`.
    pub kind: String,
    /// Name (a citizen's masked).
    pub name: String,
    /// Post or unit.
    pub post: String,
}

/// A recorded view.
#[derive(Serialize, ToSchema)]
pub struct ViewBody {
    /// Speaker (masked for citizens).
    pub speaker: Option<String>,
    /// What was said.
    pub content: String,
    /// When recorded (RFC 3339).
    pub at: String,
}

/// A topic for staff.
#[derive(Serialize, ToSchema)]
pub struct DeliberationDetail {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station.
    pub station: String,
    /// Kind code.
    pub kind: String,
    /// Kind in Chinese.
    pub kind_label: String,
    /// Supervision item (from an inspection, law-enforcement check or special inquiry).
    pub supervision: bool,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Topic.
    pub title: String,
    /// Background material.
    pub background: String,
    /// Day of the meeting.
    pub held_on: Option<String>,
    /// Activity it was discussed at.
    pub activity_id: Option<i64>,
    /// Outcome.
    pub outcome: String,
    /// Participants.
    pub participants: Vec<ParticipantBody>,
    /// Views recorded.
    pub views: Vec<ViewBody>,
    /// Agreed measures.
    pub measures: Vec<FollowUpBody>,
    /// Whether the caller works on it as staff.
    pub can_edit: bool,
}

/// The topic if `p` may see it, and whether `p` works on it as staff.
pub async fn load_visible(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<(Deliberation, bool)> {
    let scope = deliberations::list_scope(p);
    if !deliberations::visible(&state.db, &scope, id).await? {
        return Err(ApiError::not_found());
    }
    let d = deliberations::get(&state.db, id).await?;
    let parent = activities::station_parent(&state.db, d.station_id).await?;
    let staff = deliberations::is_staff_for(p, d.station_id, &d.region_path, parent);
    Ok((d, staff))
}

/// The staff view of a topic.
pub async fn detail_for(state: &AppState, p: &Principal, id: i64) -> ApiResult<DeliberationDetail> {
    let (d, staff) = load_visible(state, p, id).await?;
    let db = &state.db;
    Ok(DeliberationDetail {
        id: d.id,
        station_code: d.station_code.clone(),
        station: d.station_name.clone(),
        kind: d.kind.clone(),
        kind_label: d.kind().label().to_owned(),
        supervision: d.kind().is_supervision(),
        state: d.state.clone(),
        state_label: d.state().label().to_owned(),
        title: d.title.clone(),
        background: d.background.clone(),
        held_on: d.held_on.map(|x| x.to_string()),
        activity_id: d.activity_id,
        outcome: d.outcome.clone(),
        participants: deliberations::participants(db, id)
            .await?
            .into_iter()
            .map(|x| ParticipantBody {
                id: x.id,
                kind: x.kind,
                name: x.name,
                post: x.post,
            })
            .collect(),
        views: deliberations::views(db, id)
            .await?
            .into_iter()
            .map(|v| ViewBody {
                speaker: v.speaker,
                content: v.content,
                at: rfc3339(&v.created_at),
            })
            .collect(),
        measures: activities::follow_ups(db, "deliberation", id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        can_edit: staff && d.state() != DeliberationState::Closed,
    })
}

/// Filters of the list.
#[derive(Deserialize, IntoParams, Default)]
pub struct ListParams {
    /// State codes, comma-separated.
    pub state: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// `true`: supervision items only; `false`: deliberation topics only.
    pub supervision: Option<bool>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Builds a list filter (shared with the workbench).
pub fn filter_from(p: &ListParams) -> ApiResult<DeliberationFilter> {
    let mut f = DeliberationFilter {
        limit: p.limit.unwrap_or(50).clamp(1, 200),
        supervision: p.supervision,
        ..Default::default()
    };
    if let Some(s) = p.state.as_deref().filter(|s| !s.is_empty()) {
        for code in s.split(',') {
            if DeliberationState::parse(code.trim()).is_none() {
                return Err(ApiError::validation(vec![FieldError::new(
                    "state",
                    format!("未知状态“{code}”"),
                )]));
            }
            f.states.push(code.trim().to_owned());
        }
    }
    if let Some(k) = p.kind.as_deref().filter(|s| !s.is_empty()) {
        f.kind = Some(
            DeliberationKind::parse(k)
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new("kind", format!("未知类型“{k}”"))])
                })?
                .code()
                .to_owned(),
        );
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

/// Lists topics and supervision items in the caller's scope (token required).
#[utoipa::path(get, path = "/api/v1/deliberations", tag = "deliberations", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<DeliberationItem>)), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<DeliberationItem>>> {
    let f = filter_from(&p)?;
    let scope = deliberations::list_scope(&user.auth.principal);
    let page = deliberations::list(&state.db, &scope, &f).await?;
    Ok(Json(ListPage {
        items: page.items.into_iter().map(item).collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// Opens a topic or supervision item (staff of the station or the region above).
#[utoipa::path(post, path = "/api/v1/deliberations", tag = "deliberations", request_body = DeliberationBody, security(("bearer" = [])),
    responses((status = 201, body = DeliberationDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    body: Result<Json<DeliberationBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    user.require(crate::api::activities::ORGANISER_ROLES)?;
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let new = check_deliberation(&state, p, &b)
        .await?
        .map_err(ApiError::validation)?;
    let id = deliberations::create(&state.db, &state.keys, &user.ctx.actor(), &new).await?;
    Ok((StatusCode::CREATED, Json(detail_for(&state, p, id).await?)).into_response())
}

/// One topic with participants, views and measures (token required).
#[utoipa::path(get, path = "/api/v1/deliberations/{id}", tag = "deliberations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "议题编号")),
    responses((status = 200, body = DeliberationDetail), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeliberationDetail>> {
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// An action on a topic.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct DeliberationActionBody {
    /// `conclude` (with `outcome`), `close`, `reopen`, `add_participant`, `add_view`,
    /// `add_measure`, `complete_measure`.
    pub action: String,
    /// Outcome (conclude).
    pub outcome: Option<String>,
    /// `deputy`, `citizen`, `official` (add_participant).
    pub kind: Option<String>,
    /// Deputy code (add_participant, kind deputy).
    pub deputy_code: Option<String>,
    /// Handling unit (add_participant, kind official).
    pub unit_id: Option<i64>,
    /// Name (add_participant; a citizen's is stored encrypted and shown masked).
    pub name: Option<String>,
    /// Post (add_participant).
    pub post: Option<String>,
    /// Speaker (add_view).
    pub participant_id: Option<i64>,
    /// What was said (add_view) or agreed (add_measure).
    pub content: Option<String>,
    /// Who is responsible (add_measure).
    pub owner: Option<String>,
    /// Responsible unit (add_measure).
    pub owner_unit_id: Option<i64>,
    /// Due date YYYY-MM-DD (add_measure).
    pub due_on: Option<String>,
    /// Measure (complete_measure).
    pub item_id: Option<i64>,
    /// How it was done (complete_measure).
    pub done_note: Option<String>,
}

/// Checks a participant as typed.
pub async fn check_participant(
    state: &AppState,
    kind: &str,
    deputy_code: &str,
    unit_id: Option<i64>,
    name: &str,
    post: &str,
) -> Result<Result<NewParticipant, Vec<FieldError>>, liaison_db::DbError> {
    let mut errs = Vec::new();
    let Some(kind) = ParticipantKind::parse(kind) else {
        return Ok(Err(vec![FieldError::new("kind", "请选择参加人类别")]));
    };
    let post = validate::optional_text("post", "职务（单位）", post, 50).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let (deputy_id, unit_id, name) = match kind {
        ParticipantKind::Deputy => {
            match directory::deputy_by_code(&state.db, deputy_code.trim()).await? {
                Some(d) => (Some(d.id), None, d.name),
                None => {
                    errs.push(FieldError::new("deputy_code", "请填写正确的代表码"));
                    (None, None, String::new())
                }
            }
        }
        ParticipantKind::Official => {
            let unit_name = match unit_id {
                Some(u) => activities::unit_name(&state.db, u).await?,
                None => None,
            };
            if unit_id.is_some() && unit_name.is_none() {
                errs.push(FieldError::new("unit_id", "所选单位不存在"));
            }
            let n = validate::required_text("name", "姓名", name, 30).unwrap_or_else(|e| {
                errs.push(e);
                String::new()
            });
            (None, unit_id.filter(|_| unit_name.is_some()), n)
        }
        ParticipantKind::Citizen => {
            let n = validate::required_text("name", "姓名", name, 30).unwrap_or_else(|e| {
                errs.push(e);
                String::new()
            });
            (None, None, n)
        }
    };
    if !errs.is_empty() {
        return Ok(Err(errs));
    }
    Ok(Ok(NewParticipant {
        kind,
        deputy_id,
        unit_id,
        name,
        post,
    }))
}

/// Takes an action on a topic; returns it afterwards.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/actions", tag = "deliberations", request_body = DeliberationActionBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "议题编号")),
    responses(
        (status = 200, body = DeliberationDetail),
        (status = 403, description = "无权操作（code: not_permitted）", body = ErrorBody),
        (status = 409, description = "当前状态不允许（code: wrong_state）", body = ErrorBody),
        (status = 422, description = "条件不满足（code: refused）或参数有误", body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<DeliberationActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<DeliberationDetail>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let (d, staff) = load_visible(&state, p, id).await?;
    let actor = user.ctx.actor();
    let lifecycle = DeliberationAction::parse(&b.action);
    if lifecycle.is_none() && !staff {
        return Err(act_error(ActError::Forbidden));
    }
    match (b.action.as_str(), lifecycle) {
        (_, Some(action)) => {
            let outcome = match b.outcome.as_deref() {
                Some(o) => Some(
                    validate::optional_text("outcome", "议定结果", o, 5000)
                        .map_err(|e| ApiError::validation(vec![e]))?,
                ),
                None => None,
            };
            deliberations::act(
                &state.db,
                &state.keys,
                &actor,
                p,
                id,
                action,
                outcome.as_deref(),
            )
            .await
            .map_err(act_error)?;
        }
        ("add_participant", None) => {
            let np = check_participant(
                &state,
                b.kind.as_deref().unwrap_or(""),
                b.deputy_code.as_deref().unwrap_or(""),
                b.unit_id,
                b.name.as_deref().unwrap_or(""),
                b.post.as_deref().unwrap_or(""),
            )
            .await?
            .map_err(ApiError::validation)?;
            deliberations::add_participant(&state.db, &state.keys, &actor, id, &np)
                .await
                .map_err(act_error)?;
        }
        ("add_view", None) => {
            let content = validate::required_text(
                "content",
                "发言意见",
                b.content.as_deref().unwrap_or(""),
                5000,
            )
            .map_err(|e| ApiError::validation(vec![e]))?;
            deliberations::add_view(
                &state.db,
                &state.keys,
                &actor,
                id,
                b.participant_id,
                &content,
            )
            .await
            .map_err(act_error)?;
        }
        ("add_measure", None) => {
            if d.state() == DeliberationState::Closed {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "wrong_state",
                    "该事项已办结，不能再增加议定措施",
                ));
            }
            let new = check_follow_up(
                b.content.as_deref().unwrap_or(""),
                b.owner.as_deref().unwrap_or(""),
                b.owner_unit_id,
                b.due_on.as_deref().unwrap_or(""),
            )
            .map_err(ApiError::validation)?;
            activities::add_follow_up(
                &state.db,
                &state.keys,
                &actor,
                Source {
                    kind: "deliberation",
                    id,
                    station_id: d.station_id,
                    region_path: &d.region_path,
                    title: &d.title,
                },
                &new,
            )
            .await?;
        }
        ("complete_measure", None) => {
            let item = b.item_id.ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("item_id", "请指定议定措施")])
            })?;
            let f = activities::follow_up(&state.db, item).await?;
            if f.source_kind != "deliberation" || f.source_id != id {
                return Err(ApiError::not_found());
            }
            activities::complete_follow_up(
                &state.db,
                &state.keys,
                &actor,
                item,
                b.done_note.as_deref().unwrap_or(""),
            )
            .await
            .map_err(act_error)?;
        }
        (other, None) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "action",
                format!("未知操作“{other}”"),
            )]));
        }
    }
    Ok(Json(detail_for(&state, p, id).await?))
}
