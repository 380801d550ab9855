//! Annual activity plans (年度活动计划) over the API: a station keeps its own plan; township,
//! county and city staff read the plans in their scope against what happened. Also the input
//! checks the workbench pages share.

use crate::AppState;
use crate::api::ListPage;
use crate::api::activities::ORGANISER_ROLES;
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::activity::ActivityKind;
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError};
use liaison_db::activities::{self, ActError, ActivitySummary, Plan};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Checks a new plan's year and title (shared with the workbench).
pub fn check_plan(year: Option<i64>, title: &str) -> Result<(i64, String), Vec<FieldError>> {
    let mut errs = Vec::new();
    let year = year.filter(|y| (2000..=2100).contains(y));
    if year.is_none() {
        errs.push(FieldError::new("year", "请填写四位年份，例如 2026"));
    }
    let title = validate::required_text("title", "计划名称", title, 100).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    match year {
        Some(y) if errs.is_empty() => Ok((y, title)),
        _ => Err(errs),
    }
}

/// The message when a station's plan for the year exists already.
pub fn plan_exists(year: i64) -> FieldError {
    FieldError::new(
        "year",
        format!("本站{year}年度活动计划已存在，请在原计划中增加事项"),
    )
}

/// A planned item as checked.
pub struct NewPlanItem {
    /// Month 1–12.
    pub month: i64,
    /// Kind.
    pub kind: ActivityKind,
    /// Theme.
    pub theme: String,
    /// Note.
    pub note: String,
}

/// Checks a planned item as typed (shared with the workbench).
pub fn check_plan_item(
    month: Option<i64>,
    kind: &str,
    theme: &str,
    note: &str,
) -> Result<NewPlanItem, Vec<FieldError>> {
    let mut errs = Vec::new();
    let month = month.filter(|m| (1..=12).contains(m));
    if month.is_none() {
        errs.push(FieldError::new("month", "请选择月份"));
    }
    let kind = ActivityKind::parse(kind);
    if kind.is_none() {
        errs.push(FieldError::new("kind", "请选择活动类型"));
    }
    let theme = validate::required_text("theme", "活动主题", theme, 100).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let note = validate::optional_text("note", "备注", note, 200).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    match (month, kind) {
        (Some(month), Some(kind)) if errs.is_empty() => Ok(NewPlanItem {
            month,
            kind,
            theme,
            note,
        }),
        _ => Err(errs),
    }
}

/// The refusal when someone other than the plan's station tries to change it.
pub const NOT_OWN_PLAN: &str =
    "年度活动计划由联络站自行制定；乡镇、县、市工作人员可以查阅，不能修改";

/// A plan in a list.
#[derive(Serialize, ToSchema)]
pub struct PlanItemSummary {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station.
    pub station: String,
    /// Year.
    pub year: i64,
    /// Title.
    pub title: String,
    /// Planned items.
    pub planned: i64,
    /// Planned items carried out by an activity that took place.
    pub carried_out: i64,
}

fn summary(p: Plan) -> PlanItemSummary {
    PlanItemSummary {
        id: p.id,
        station_code: p.station_code,
        station: p.station_name,
        year: p.year,
        title: p.title,
        planned: p.planned,
        carried_out: p.carried_out,
    }
}

/// An activity against the plan.
#[derive(Serialize, ToSchema)]
pub struct PlanActivity {
    /// Activity id.
    pub id: i64,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Title.
    pub title: String,
    /// Day (YYYY-MM-DD).
    pub held_on: String,
}

impl From<ActivitySummary> for PlanActivity {
    fn from(a: ActivitySummary) -> Self {
        PlanActivity {
            id: a.id,
            kind: a.kind,
            state: a.state,
            title: a.title,
            held_on: a.held_on.to_string(),
        }
    }
}

/// A planned item with the activities that carried it out.
#[derive(Serialize, ToSchema)]
pub struct PlannedBody {
    /// Item id.
    pub id: i64,
    /// Kind code.
    pub kind: String,
    /// Kind in Chinese.
    pub kind_label: String,
    /// Theme.
    pub theme: String,
    /// Note.
    pub note: String,
    /// Activities of the station that carry it out (empty: not yet).
    pub activities: Vec<PlanActivity>,
}

/// A month of the plan.
#[derive(Serialize, ToSchema)]
pub struct PlanMonth {
    /// Month 1–12.
    pub month: i64,
    /// Planned items.
    pub items: Vec<PlannedBody>,
    /// Activities held that month that carry out no planned item.
    pub unplanned: Vec<PlanActivity>,
}

/// A plan by month against what happened.
#[derive(Serialize, ToSchema)]
pub struct PlanDetail {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station.
    pub station: String,
    /// Year.
    pub year: i64,
    /// Title.
    pub title: String,
    /// Note.
    pub note: String,
    /// Planned items.
    pub planned: i64,
    /// Planned items carried out.
    pub carried_out: i64,
    /// Twelve months, January first.
    pub months: Vec<PlanMonth>,
    /// Whether the caller may add and remove items (staff of the plan's station).
    pub can_edit: bool,
}

fn own_station(p: &Principal, plan: &Plan) -> bool {
    p.role == Role::StationStaff && p.station_id == Some(plan.station_id)
}

/// The plan if `p` may read it (not found outside the scope).
async fn visible_plan(state: &AppState, user: &ApiUser, id: i64) -> ApiResult<Plan> {
    user.require(ORGANISER_ROLES)?;
    let p = &user.auth.principal;
    if !activities::plan_visible(&state.db, &activities::list_scope(p), id).await? {
        return Err(ApiError::not_found());
    }
    Ok(activities::plan(&state.db, id).await?)
}

/// The plan if `p` keeps it.
async fn own_plan(state: &AppState, user: &ApiUser, id: i64) -> ApiResult<Plan> {
    let plan = visible_plan(state, user, id).await?;
    if !own_station(&user.auth.principal, &plan) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_permitted",
            NOT_OWN_PLAN,
        ));
    }
    Ok(plan)
}

async fn detail(state: &AppState, p: &Principal, plan: Plan) -> ApiResult<PlanDetail> {
    let items = activities::plan_items(&state.db, plan.id).await?;
    let acts = activities::station_year_activities(&state.db, plan.station_id, plan.year).await?;
    let mut months: Vec<PlanMonth> = (1..=12)
        .map(|m| PlanMonth {
            month: m,
            items: Vec::new(),
            unplanned: Vec::new(),
        })
        .collect();
    for i in items {
        let m = (i.month - 1).clamp(0, 11) as usize;
        months[m].items.push(PlannedBody {
            id: i.id,
            kind_label: ActivityKind::parse(&i.kind)
                .map_or("", ActivityKind::label)
                .to_owned(),
            kind: i.kind,
            theme: i.theme,
            note: i.note,
            activities: Vec::new(),
        });
    }
    for a in acts {
        let month = a.held_on.month() as usize - 1;
        let planned = a.plan_item_id.and_then(|pid| {
            months
                .iter_mut()
                .flat_map(|m| m.items.iter_mut())
                .find(|i| i.id == pid)
        });
        match planned {
            Some(item) => item.activities.push(a.into()),
            None => months[month].unplanned.push(a.into()),
        }
    }
    Ok(PlanDetail {
        can_edit: own_station(p, &plan),
        id: plan.id,
        station_code: plan.station_code,
        station: plan.station_name,
        year: plan.year,
        title: plan.title,
        note: plan.note,
        planned: plan.planned,
        carried_out: plan.carried_out,
        months,
    })
}

/// Filters of the plan list.
#[derive(Deserialize, IntoParams, Default)]
pub struct PlanListParams {
    /// Year (all years when absent).
    pub year: Option<i64>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Lists plans in the caller's scope: a station its own, township, county and city those of
/// their stations (token required).
#[utoipa::path(get, path = "/api/v1/activities/plans", tag = "activities", params(PlanListParams), security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<PlanItemSummary>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<PlanListParams>,
) -> ApiResult<Json<ListPage<PlanItemSummary>>> {
    user.require(ORGANISER_ROLES)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200) as usize;
    // Plans are few (one a station and year, at most 500 read): the cursor is an offset.
    let offset: usize = match q.after.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => a.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after 参数无效，请使用上一页返回的 next 值",
            )
        })?,
        None => 0,
    };
    let all = activities::plans(
        &state.db,
        &activities::list_scope(&user.auth.principal),
        q.year,
    )
    .await?;
    let total = all.len();
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    Ok(Json(ListPage {
        items: all
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(summary)
            .collect(),
        total: total as i64,
        total_capped: total >= 500,
        next,
    }))
}

/// One plan by month: planned items with the activities that carried them out, and unplanned
/// activities (token required).
#[utoipa::path(get, path = "/api/v1/activities/plans/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "计划编号")),
    responses((status = 200, body = PlanDetail), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<PlanDetail>> {
    let plan = visible_plan(&state, &user, id).await?;
    Ok(Json(detail(&state, &user.auth.principal, plan).await?))
}

/// A new plan.
#[derive(Deserialize, ToSchema, Default)]
pub struct NewPlanBody {
    /// Year (2000–2100).
    pub year: Option<i64>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Makes the caller's station's plan for a year (station staff).
#[utoipa::path(post, path = "/api/v1/activities/plans", tag = "activities", request_body = NewPlanBody, security(("bearer" = [])),
    responses((status = 201, body = PlanDetail), (status = 403, body = ErrorBody),
        (status = 409, description = "该年度计划已存在（code: plan_exists）", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    body: Result<Json<NewPlanBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    user.require(&[Role::StationStaff])?;
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let Some(station_id) = p.station_id else {
        return Err(ApiError::forbidden("账号未绑定联络站"));
    };
    let checked = check_plan(b.year, &b.title);
    let note = validate::optional_text("note", "备注", &b.note, 200);
    let (year, title, note) = match (checked, note) {
        (Ok((year, title)), Ok(note)) => (year, title, note),
        (checked, note) => {
            let mut errs = checked.err().unwrap_or_default();
            errs.extend(note.err());
            return Err(ApiError::validation(errs));
        }
    };
    let id = match activities::create_plan(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        station_id,
        year,
        &title,
        &note,
    )
    .await
    {
        Ok(id) => id,
        Err(liaison_db::DbError::Conflict { .. }) => {
            let e = plan_exists(year);
            return Err(ApiError {
                status: StatusCode::CONFLICT,
                code: "plan_exists",
                message: e.message.clone(),
                fields: vec![e],
            });
        }
        Err(e) => return Err(e.into()),
    };
    let plan = activities::plan(&state.db, id).await?;
    Ok((StatusCode::CREATED, Json(detail(&state, p, plan).await?)).into_response())
}

/// A planned item.
#[derive(Deserialize, ToSchema, Default)]
pub struct NewItemBody {
    /// Month 1–12.
    pub month: Option<i64>,
    /// Activity kind code.
    #[serde(default)]
    pub kind: String,
    /// Theme.
    #[serde(default)]
    pub theme: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Adds a planned item (staff of the plan's station); returns the plan.
#[utoipa::path(post, path = "/api/v1/activities/plans/{id}/items", tag = "activities", request_body = NewItemBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "计划编号")),
    responses((status = 201, body = PlanDetail), (status = 403, description = "不是本站计划（code: not_permitted）", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_item(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<NewItemBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    own_plan(&state, &user, id).await?;
    let item =
        check_plan_item(b.month, &b.kind, &b.theme, &b.note).map_err(ApiError::validation)?;
    activities::add_plan_item(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        id,
        item.month,
        item.kind,
        &item.theme,
        &item.note,
    )
    .await?;
    let plan = activities::plan(&state.db, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(&state, &user.auth.principal, plan).await?),
    )
        .into_response())
}

/// Removes a planned item no activity carries out (staff of the plan's station); returns the
/// plan.
#[utoipa::path(delete, path = "/api/v1/activities/plans/{id}/items/{item_id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "计划编号"), ("item_id" = i64, Path, description = "计划事项编号")),
    responses((status = 200, body = PlanDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "已有活动落实该事项（code: item_in_use）", body = ErrorBody)))]
pub async fn remove_item(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, item_id)): Path<(i64, i64)>,
) -> ApiResult<Json<PlanDetail>> {
    own_plan(&state, &user, id).await?;
    match activities::remove_plan_item(&state.db, &state.keys, &user.ctx.actor(), id, item_id).await
    {
        Ok(()) => {}
        Err(ActError::Invalid(_, m)) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "item_in_use", m));
        }
        Err(e) => return Err(crate::api::activities::act_error(e)),
    }
    let plan = activities::plan(&state.db, id).await?;
    Ok(Json(detail(&state, &user.auth.principal, plan).await?))
}
