//! 主题活动 over the API: scoped lists, creation, details, edits (corrections after the fact),
//! and one actions endpoint for the lifecycle and for sign-up, check-in, attendance,
//! invitation replies and follow-up items. Also the input checks the workbench pages share.

use crate::AppState;
use crate::api::ListPage;
use crate::auth::{ApiUser, MaybeApiUser, RequestCtx};
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::activity::{
    self, ActivityAction, ActivityFacts, ActivityKind, ActivityState, InvitationReply, SignupStatus,
};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError, Phone};
use liaison_core::workflow::Actor as WfActor;
use liaison_db::activities::{
    self, ActError, ActInput, Acting, Activity, ActivityFilter, ActivityInput, NewFollowUp,
    NewGuest, Source,
};
use liaison_db::directory::{self, StationItem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 text of an instant.
pub fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Maps a refused write to an API error with a stable code.
pub fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::Rule(r) => {
            let status = match r.code() {
                "wrong_state" => StatusCode::CONFLICT,
                "not_permitted" => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError::new(status, r.code(), r.message())
        }
        ActError::CheckIn(r) => {
            let status = if r.code() == "wrong_state" {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            ApiError::new(status, r.code(), r.message())
        }
        e @ ActError::AlreadyCheckedIn(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_checked_in", e.to_string())
        }
        ActError::SignupClosed(m) => ApiError::new(StatusCode::CONFLICT, "signup_closed", m),
        e @ ActError::AlreadySignedUp(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_signed_up", e.to_string())
        }
        ActError::Invalid(field, m) => ApiError::validation(vec![FieldError::new(field, m)]),
        ActError::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "not_permitted",
            "您与该活动没有组织关系，无权操作；如需办理，请联系活动所属联络站",
        ),
        ActError::Db(liaison_db::DbError::Stale) => ApiError::new(
            StatusCode::CONFLICT,
            "stale",
            "该活动已被他人修改，请刷新后查看最新内容再操作",
        ),
        ActError::Db(e) => e.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Input shared with the workbench

/// Roles that organise activities.
pub const ORGANISER_ROLES: &[Role] = &[
    Role::StationStaff,
    Role::TownshipStaff,
    Role::CountyStaff,
    Role::CityStaff,
];

/// An activity as typed, before checks (from a form or a JSON body).
#[derive(Debug, Clone)]
pub struct RawActivity {
    /// Station code.
    pub station_code: String,
    /// Kind code.
    pub kind: String,
    /// Theme.
    pub title: String,
    /// Description.
    pub description: String,
    /// Place.
    pub place: String,
    /// Organiser.
    pub organiser: String,
    /// Start (parsed by the caller; `Err` is the field error).
    pub starts_at: Result<OffsetDateTime, FieldError>,
    /// End.
    pub ends_at: Result<OffsetDateTime, FieldError>,
    /// Capacity text ("" = no limit).
    pub capacity: String,
    /// Public sign-up.
    pub signup_open: bool,
    /// Invited deputies' codes.
    pub deputy_codes: Vec<String>,
    /// Invited units' ids.
    pub unit_ids: Vec<i64>,
    /// Invited officials: (name, post).
    pub officials: Vec<(String, String)>,
    /// Planned item.
    pub plan_item_id: Option<i64>,
}

/// Whether `p` organises activities of a station (its staff, or staff of the region above).
pub async fn organises(
    state: &AppState,
    p: &Principal,
    station: &StationItem,
) -> Result<bool, liaison_db::DbError> {
    let region = directory::region(&state.db, station.region_id).await?;
    Ok(liaison_db::deliberations::is_staff_for(
        p,
        station.id,
        &region.path,
        station.parent_id,
    ))
}

/// Checks an activity as typed; on success the station it belongs to and the storage input.
pub async fn check_activity(
    state: &AppState,
    p: &Principal,
    raw: &RawActivity,
) -> Result<Result<(StationItem, ActivityInput), Vec<FieldError>>, liaison_db::DbError> {
    let mut errs = Vec::new();
    let mut text = |field: &str, label: &str, v: &str, max: usize, required: bool| {
        let r = if required {
            validate::required_text(field, label, v, max)
        } else {
            validate::optional_text(field, label, v, max)
        };
        r.unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        })
    };
    let title = text("title", "活动主题", &raw.title, 100, true);
    let description = text("description", "活动内容", &raw.description, 2000, false);
    let place = text("place", "活动地点", &raw.place, 100, true);
    let organiser = text("organiser", "组织单位", &raw.organiser, 100, true);
    let kind = ActivityKind::parse(&raw.kind);
    if kind.is_none() {
        errs.push(FieldError::new("kind", "请选择活动类型"));
    }
    let station = match directory::station_by_code(&state.db, raw.station_code.trim()).await? {
        Some(s) if organises(state, p, &s).await? => Some(s),
        Some(_) => {
            errs.push(FieldError::new(
                "station_code",
                "该联络站不在您的工作范围内，请从列表中选择",
            ));
            None
        }
        None => {
            errs.push(FieldError::new("station_code", "请选择举办活动的联络站"));
            None
        }
    };
    let starts_at = raw.starts_at.clone().map_err(|e| errs.push(e)).ok();
    let ends_at = raw.ends_at.clone().map_err(|e| errs.push(e)).ok();
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        errs.push(FieldError::new("end_time", "结束时间须晚于开始时间"));
    }
    let capacity = match raw.capacity.trim() {
        "" => None,
        c => match c.parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => {
                errs.push(FieldError::new(
                    "capacity",
                    "名额须为1至10000的整数；不限名额请留空",
                ));
                None
            }
        },
    };
    let mut deputy_ids = Vec::new();
    for code in raw
        .deputy_codes
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        match directory::deputy_by_code(&state.db, code).await? {
            Some(d) if !deputy_ids.contains(&d.id) => deputy_ids.push(d.id),
            Some(_) => {}
            None => errs.push(FieldError::new(
                "deputies",
                format!("代表码“{code}”不存在，请核对"),
            )),
        }
    }
    let mut guests = Vec::new();
    for &u in &raw.unit_ids {
        match activities::unit_name(&state.db, u).await? {
            Some(name) => guests.push(NewGuest {
                unit_id: Some(u),
                name,
                post: String::new(),
            }),
            None => errs.push(FieldError::new("units", "所选承办单位不存在")),
        }
    }
    for (name, post) in &raw.officials {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if name.chars().count() > 50 || post.chars().count() > 50 {
            errs.push(FieldError::new(
                "officials",
                "邀请人员的姓名和职务各不超过50字",
            ));
            continue;
        }
        guests.push(NewGuest {
            unit_id: None,
            name: name.to_owned(),
            post: post.trim().to_owned(),
        });
    }
    if let (Some(item), Some(st)) = (raw.plan_item_id, &station)
        && activities::plan_item_station(&state.db, item).await? != Some(st.id)
    {
        errs.push(FieldError::new(
            "plan_item_id",
            "所选计划事项不属于该联络站的年度活动计划",
        ));
    }
    if !errs.is_empty() {
        return Ok(Err(errs));
    }
    let (Some(station), Some(kind), Some(starts_at), Some(ends_at)) =
        (station, kind, starts_at, ends_at)
    else {
        return Ok(Err(vec![FieldError::new("", "活动信息不完整")]));
    };
    Ok(Ok((
        station,
        ActivityInput {
            plan_item_id: raw.plan_item_id,
            kind,
            title,
            description,
            place,
            organiser,
            starts_at,
            ends_at,
            capacity,
            signup_open: raw.signup_open,
            deputy_ids,
            guests,
        },
    )))
}

/// Splits the officials text area: one person a line, name then post, separated by a space or a
/// comma.
pub fn parse_officials(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            match l.split_once(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、')) {
                Some((n, p)) => (n.trim().to_owned(), p.trim().to_owned()),
                None => (l.to_owned(), String::new()),
            }
        })
        .collect()
}

/// Parses an RFC 3339 instant for `field`.
pub fn parse_instant(field: &str, s: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).map_err(|_| {
        FieldError::new(
            field,
            "时间格式须为 RFC 3339，例如 2026-05-15T09:00:00+08:00",
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Views

/// A list row.
#[derive(Serialize, ToSchema)]
pub struct ActivityItem {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station: String,
    /// Kind code.
    pub kind: String,
    /// State code.
    pub state: String,
    /// Theme.
    pub title: String,
    /// Place.
    pub place: String,
    /// Start (RFC 3339).
    pub starts_at: String,
    /// End (RFC 3339).
    pub ends_at: String,
    /// Announced with less notice than required.
    pub late_notice: bool,
}

/// An invited deputy.
#[derive(Serialize, ToSchema)]
pub struct InviteeBody {
    /// Deputy code.
    pub deputy_code: String,
    /// Name.
    pub name: String,
    /// `pending`, `accepted`, `declined`.
    pub reply: String,
    /// Note with the reply.
    pub reply_note: String,
    /// Name of the deputy this one substitutes for.
    pub substitute_for: Option<String>,
    /// Checked in or marked present (RFC 3339).
    pub attended_at: Option<String>,
}

/// A deputy present.
#[derive(Serialize, ToSchema)]
pub struct AttendeeBody {
    /// Deputy code.
    pub deputy_code: String,
    /// Name.
    pub name: String,
    /// `check_in` or `staff_marked`.
    pub method: String,
    /// When (RFC 3339).
    pub at: String,
}

/// An invited official or unit.
#[derive(Serialize, ToSchema)]
pub struct GuestBody {
    /// Unit id, if a handling unit.
    pub unit_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Post.
    pub post: String,
}

/// A sign-up as staff see it.
#[derive(Serialize, ToSchema)]
pub struct SignupBody {
    /// Id.
    pub id: i64,
    /// Number.
    pub signup_no: String,
    /// Name, masked.
    pub name: String,
    /// Phone, masked.
    pub phone: String,
    /// `confirmed`, `waitlisted`, `cancelled`.
    pub status: String,
}

/// A follow-up item or measure.
#[derive(Serialize, ToSchema)]
pub struct FollowUpBody {
    /// Id.
    pub id: i64,
    /// What.
    pub content: String,
    /// Who.
    pub owner: String,
    /// By when (YYYY-MM-DD).
    pub due_on: String,
    /// `open` or `done`.
    pub state: String,
    /// How it was done.
    pub done_note: String,
}

impl From<activities::FollowUp> for FollowUpBody {
    fn from(f: activities::FollowUp) -> Self {
        FollowUpBody {
            id: f.id,
            content: f.content,
            owner: f.owner,
            due_on: f.due_on.to_string(),
            state: f.state,
            done_note: f.done_note,
        }
    }
}

/// An opinion collected at the activity.
#[derive(Serialize, ToSchema)]
pub struct LinkedOpinionBody {
    /// Id.
    pub id: i64,
    /// Tracking number.
    pub tracking_no: String,
    /// Title.
    pub title: String,
    /// State code.
    pub state: String,
}

/// A correction made after the fact.
#[derive(Serialize, ToSchema)]
pub struct CorrectionBody {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// Before.
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    /// After.
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

/// A history entry.
#[derive(Serialize, ToSchema)]
pub struct HistoryBody {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// Action code.
    pub action: String,
    /// Chinese label.
    pub label: String,
    /// State after.
    pub to_state: String,
    /// Note (warning, reason).
    pub note: String,
}

/// An activity for staff.
#[derive(Serialize, ToSchema)]
pub struct ActivityDetail {
    /// Id.
    pub id: i64,
    /// Station code.
    pub station_code: String,
    /// Station name.
    pub station: String,
    /// Kind code.
    pub kind: String,
    /// Kind in Chinese.
    pub kind_label: String,
    /// State code.
    pub state: String,
    /// State in Chinese.
    pub state_label: String,
    /// Version (send back as `version`).
    pub version: i64,
    /// Theme.
    pub title: String,
    /// Description.
    pub description: String,
    /// Place.
    pub place: String,
    /// Organiser.
    pub organiser: String,
    /// Start (RFC 3339).
    pub starts_at: String,
    /// End (RFC 3339).
    pub ends_at: String,
    /// Planned item carried out.
    pub plan_item_id: Option<i64>,
    /// Places (null: no limit).
    pub capacity: Option<i64>,
    /// Public sign-up.
    pub signup_open: bool,
    /// Confirmed sign-ups.
    pub confirmed: i64,
    /// Sign-ups on the waiting list.
    pub waitlisted: i64,
    /// Announced at (RFC 3339).
    pub announced_at: Option<String>,
    /// Hours of notice given.
    pub notice_hours: Option<i64>,
    /// Announced later than the notice period asks.
    pub late_notice: bool,
    /// Minutes.
    pub minutes: String,
    /// Why cancelled.
    pub cancel_reason: String,
    /// Invited deputies.
    pub invitees: Vec<InviteeBody>,
    /// Deputies present.
    pub attendees: Vec<AttendeeBody>,
    /// Invited officials and units.
    pub guests: Vec<GuestBody>,
    /// Sign-ups (organisers only; names and phones masked).
    pub signups: Vec<SignupBody>,
    /// Agreed follow-up items.
    pub follow_ups: Vec<FollowUpBody>,
    /// Opinions collected at the activity.
    pub opinions: Vec<LinkedOpinionBody>,
    /// Corrections after the fact.
    pub corrections: Vec<CorrectionBody>,
    /// History.
    pub history: Vec<HistoryBody>,
    /// Lifecycle actions the caller may take now.
    pub available_actions: Vec<String>,
    /// The station's check-in link for deputies.
    pub check_in_url: String,
    /// Public page.
    pub public_url: String,
}

/// The activity if `p` may see it (not found otherwise, so strangers learn nothing), with the
/// caller's organiser relations.
pub async fn load_visible(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<(Activity, Vec<WfActor>)> {
    let scope = activities::list_scope(p);
    if !activities::visible(&state.db, &scope, id).await? {
        return Err(ApiError::not_found());
    }
    let a = activities::get(&state.db, id).await?;
    let parent = activities::station_parent(&state.db, a.station_id).await?;
    let actors = activities::actors_for(p, &a, parent);
    Ok((a, actors))
}

/// The staff view of an activity.
pub async fn detail_for(state: &AppState, p: &Principal, id: i64) -> ApiResult<ActivityDetail> {
    let (a, actors) = load_visible(state, p, id).await?;
    let db = &state.db;
    let (confirmed, waitlisted) = activities::signup_counts(db, id).await?;
    let organiser = !actors.is_empty();
    let facts = ActivityFacts {
        now: liaison_db::db::now(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        has_minutes: !a.minutes.is_empty(),
        open_items: activities::follow_ups(db, "activity", id)
            .await?
            .iter()
            .filter(|f| f.state == "open")
            .count() as i64,
        reason: None,
    };
    Ok(ActivityDetail {
        id: a.id,
        station_code: a.station_code.clone(),
        station: a.station_name.clone(),
        kind: a.kind.clone(),
        kind_label: a.kind().label().to_owned(),
        state: a.state.clone(),
        state_label: a.state().label().to_owned(),
        version: a.version,
        title: a.title.clone(),
        description: a.description.clone(),
        place: a.place.clone(),
        organiser: a.organiser.clone(),
        starts_at: rfc3339(&a.starts_at),
        ends_at: rfc3339(&a.ends_at),
        plan_item_id: a.plan_item_id,
        capacity: a.capacity,
        signup_open: a.signup_open,
        confirmed,
        waitlisted,
        announced_at: a.announced_at.as_ref().map(rfc3339),
        notice_hours: a.notice_hours,
        late_notice: a.late_notice,
        minutes: a.minutes.clone(),
        cancel_reason: a.cancel_reason.clone(),
        invitees: activities::invitees(db, id)
            .await?
            .into_iter()
            .map(|i| InviteeBody {
                deputy_code: i.code,
                name: i.name,
                reply: i.reply,
                reply_note: i.reply_note,
                substitute_for: i.substitute_for_name,
                attended_at: i.attended_at.as_ref().map(rfc3339),
            })
            .collect(),
        attendees: activities::attendees(db, id)
            .await?
            .into_iter()
            .map(|x| AttendeeBody {
                deputy_code: x.code,
                name: x.name,
                method: x.method,
                at: rfc3339(&x.at),
            })
            .collect(),
        guests: activities::guests(db, id)
            .await?
            .into_iter()
            .map(|g| GuestBody {
                unit_id: g.unit_id,
                name: g.name,
                post: g.post,
            })
            .collect(),
        signups: if organiser {
            activities::signups(db, &state.keys, id)
                .await?
                .into_iter()
                .map(|s| SignupBody {
                    id: s.id,
                    signup_no: s.signup_no,
                    name: s.name,
                    phone: s.phone,
                    status: s.status,
                })
                .collect()
        } else {
            Vec::new()
        },
        follow_ups: activities::follow_ups(db, "activity", id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        opinions: activities::opinions(db, id)
            .await?
            .into_iter()
            .map(|o| LinkedOpinionBody {
                id: o.id,
                tracking_no: o.tracking_no,
                title: o.title,
                state: o.state,
            })
            .collect(),
        corrections: activities::corrections(db, id)
            .await?
            .into_iter()
            .map(|c| CorrectionBody {
                at: rfc3339(&c.at),
                actor: c.actor_name,
                reason: c.reason,
                before: serde_json::from_str(&c.before_json).unwrap_or_default(),
                after: serde_json::from_str(&c.after_json).unwrap_or_default(),
            })
            .collect(),
        history: activities::history(db, id)
            .await?
            .into_iter()
            .map(|e| HistoryBody {
                at: rfc3339(&e.at),
                actor: e.actor_name,
                action: e.action,
                label: e.label,
                to_state: e.to_state,
                note: e.note,
            })
            .collect(),
        available_actions: activity::available_activity_actions(a.state(), &actors, &facts)
            .iter()
            .map(|x| x.code().to_owned())
            .collect(),
        check_in_url: format!("{}/check-in/{}", state.config.public_url, a.station_code),
        public_url: format!("{}/activities/{}", state.config.public_url, a.id),
    })
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/// Filters of the list.
#[derive(Deserialize, IntoParams, Default)]
pub struct ListParams {
    /// State codes, comma-separated.
    pub state: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Station code (with its points).
    pub station: Option<String>,
    /// Held from (YYYY-MM-DD).
    pub from: Option<String>,
    /// Held to (YYYY-MM-DD).
    pub to: Option<String>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// Builds a list filter (shared with the workbench).
pub async fn filter_from(state: &AppState, p: &ListParams) -> ApiResult<ActivityFilter> {
    let mut f = ActivityFilter {
        limit: p.limit.unwrap_or(50).clamp(1, 200),
        ..Default::default()
    };
    if let Some(s) = p.state.as_deref().filter(|s| !s.is_empty()) {
        for code in s.split(',') {
            if ActivityState::parse(code.trim()).is_none() {
                return Err(ApiError::validation(vec![FieldError::new(
                    "state",
                    format!("未知状态“{code}”"),
                )]));
            }
            f.states.push(code.trim().to_owned());
        }
    }
    if let Some(k) = p.kind.as_deref().filter(|s| !s.is_empty()) {
        let kind = ActivityKind::parse(k).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("kind", format!("未知活动类型“{k}”"))])
        })?;
        f.kind = Some(kind.code().to_owned());
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
    let date = |field: &str, v: &Option<String>| -> ApiResult<Option<time::Date>> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => crate::api::opinions::parse_date(field, d)
                .map(Some)
                .map_err(|e| ApiError::validation(vec![e])),
            None => Ok(None),
        }
    };
    f.from = date("from", &p.from)?;
    f.to = date("to", &p.to)?;
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

/// Lists activities in the caller's scope (token required).
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<ActivityItem>)), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<ActivityItem>>> {
    let f = filter_from(&state, &p).await?;
    let scope = activities::list_scope(&user.auth.principal);
    let page = activities::list(&state.db, &scope, &f).await?;
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|a| ActivityItem {
                id: a.id,
                station_code: a.station_code,
                station: a.station_name,
                kind: a.kind,
                state: a.state,
                title: a.title,
                place: a.place,
                starts_at: rfc3339(&a.starts_at),
                ends_at: rfc3339(&a.ends_at),
                late_notice: a.late_notice,
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// An invited official.
#[derive(Deserialize, ToSchema, Clone, Default)]
pub struct OfficialBody {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Post.
    #[serde(default)]
    pub post: String,
}

/// A new activity, or its new content.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct ActivityBody {
    /// Station code.
    #[serde(default)]
    pub station_code: String,
    /// Kind code (e.g. `reception_day`).
    #[serde(default)]
    pub kind: String,
    /// Theme.
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Place.
    #[serde(default)]
    pub place: String,
    /// Organiser.
    #[serde(default)]
    pub organiser: String,
    /// Start, RFC 3339 (e.g. `2026-05-15T09:00:00+08:00`).
    #[serde(default)]
    pub starts_at: String,
    /// End, RFC 3339.
    #[serde(default)]
    pub ends_at: String,
    /// Places for the public (null: no limit).
    pub capacity: Option<i64>,
    /// Whether the public may sign up.
    #[serde(default)]
    pub signup_open: bool,
    /// Invited deputies' codes.
    #[serde(default)]
    pub deputy_codes: Vec<String>,
    /// Invited handling units.
    #[serde(default)]
    pub unit_ids: Vec<i64>,
    /// Invited officials.
    #[serde(default)]
    pub officials: Vec<OfficialBody>,
    /// Planned item carried out.
    pub plan_item_id: Option<i64>,
    /// Edits after the activity happened: the reason of the correction (required then).
    pub reason: Option<String>,
    /// Edits: the `version` the client saw.
    pub version: Option<i64>,
}

impl ActivityBody {
    fn raw(&self) -> RawActivity {
        RawActivity {
            station_code: self.station_code.clone(),
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            place: self.place.clone(),
            organiser: self.organiser.clone(),
            starts_at: parse_instant("starts_at", &self.starts_at),
            ends_at: parse_instant("ends_at", &self.ends_at),
            capacity: self.capacity.map(|c| c.to_string()).unwrap_or_default(),
            signup_open: self.signup_open,
            deputy_codes: self.deputy_codes.clone(),
            unit_ids: self.unit_ids.clone(),
            officials: self
                .officials
                .iter()
                .map(|o| (o.name.clone(), o.post.clone()))
                .collect(),
            plan_item_id: self.plan_item_id,
        }
    }
}

/// Creates an activity in the planned state (organisers only).
#[utoipa::path(post, path = "/api/v1/activities", tag = "activities", request_body = ActivityBody, security(("bearer" = [])),
    responses((status = 201, body = ActivityDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    body: Result<Json<ActivityBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    user.require(ORGANISER_ROLES)?;
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let (station, input) = check_activity(&state, p, &b.raw())
        .await?
        .map_err(ApiError::validation)?;
    let id = activities::create(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        station.id,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(detail_for(&state, p, id).await?)).into_response())
}

/// One activity (token required).
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "活动编号")),
    responses((status = 200, body = ActivityDetail), (status = 404, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ActivityDetail>> {
    Ok(Json(detail_for(&state, &user.auth.principal, id).await?))
}

/// The outcome of an edit.
#[derive(Serialize, ToSchema)]
pub struct EditResult {
    /// Whether it was kept as a correction (the activity had happened).
    pub correction: bool,
    /// The activity afterwards.
    pub activity: ActivityDetail,
}

/// Changes an activity (organisers). After it has happened the change is a correction: `reason`
/// is required and the before and after are kept.
#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "activities", request_body = ActivityBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "活动编号")),
    responses((status = 200, body = EditResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "已被他人修改（code: stale）", body = ErrorBody),
        (status = 422, description = "校验失败，或已举行的活动未说明更正原因（field: reason）", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<ActivityBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<EditResult>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    let (a, actors) = load_visible(&state, p, id).await?;
    if actors.is_empty() {
        return Err(act_error(ActError::Forbidden));
    }
    let mut raw = b.raw();
    if raw.station_code.trim().is_empty() {
        raw.station_code = a.station_code.clone();
    }
    let (station, input) = check_activity(&state, p, &raw)
        .await?
        .map_err(ApiError::validation)?;
    if station.id != a.station_id {
        return Err(ApiError::validation(vec![FieldError::new(
            "station_code",
            "不能把活动改到其他联络站；请在该联络站新建活动",
        )]));
    }
    let correction = activities::update(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        id,
        &input,
        b.reason.as_deref(),
        b.version,
    )
    .await
    .map_err(act_error)?;
    Ok(Json(EditResult {
        correction,
        activity: detail_for(&state, p, id).await?,
    }))
}

/// An action on an activity.
#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct ActivityActionBody {
    /// Lifecycle: `announce`, `start`, `record`, `track_follow_up`, `report`, `cancel`.
    /// Public (no token): `signup`, `cancel_signup`. Deputies: `check_in`, `reply_invitation`.
    /// Organisers: `mark_attendance`, `add_follow_up`, `complete_follow_up`, `cancel_signup`
    /// (with `signup_id`).
    pub action: String,
    /// Minutes (record).
    pub minutes: Option<String>,
    /// Reason (cancel).
    pub reason: Option<String>,
    /// The `version` the client saw (lifecycle actions).
    pub version: Option<i64>,
    /// Name (signup).
    pub name: Option<String>,
    /// Mainland mobile number (signup).
    pub phone: Option<String>,
    /// Sign-up number (cancel_signup by the citizen).
    pub signup_no: Option<String>,
    /// Last four digits of the phone (cancel_signup by the citizen).
    pub phone_last4: Option<String>,
    /// Sign-up id (cancel_signup by organisers).
    pub signup_id: Option<i64>,
    /// Deputy code (mark_attendance).
    pub deputy_code: Option<String>,
    /// Present or not (mark_attendance; default true).
    pub present: Option<bool>,
    /// `accepted` or `declined` (reply_invitation).
    pub reply: Option<String>,
    /// Note with the reply.
    pub note: Option<String>,
    /// Substitute deputy's code (reply_invitation, when declining).
    pub substitute_code: Option<String>,
    /// What is agreed (add_follow_up).
    pub content: Option<String>,
    /// Who is responsible (add_follow_up).
    pub owner: Option<String>,
    /// Responsible handling unit (add_follow_up).
    pub owner_unit_id: Option<i64>,
    /// Due date YYYY-MM-DD (add_follow_up).
    pub due_on: Option<String>,
    /// Follow-up item (complete_follow_up).
    pub item_id: Option<i64>,
    /// How it was done (complete_follow_up).
    pub done_note: Option<String>,
}

/// The public outcome of a sign-up.
#[derive(Serialize, ToSchema)]
pub struct SignupResult {
    /// Number to quote when cancelling or looking up.
    pub signup_no: String,
    /// `confirmed` or `waitlisted`.
    pub status: String,
    /// Place on the waiting list.
    pub position: Option<i64>,
    /// Chinese message.
    pub message: String,
}

/// The outcome of an action.
#[derive(Serialize, ToSchema)]
pub struct ActionResult {
    /// `full` when a sign-up went on the waiting list; otherwise null.
    pub code: Option<String>,
    /// Chinese message.
    pub message: String,
    /// A warning the action gave (an announcement with too little notice).
    pub warning: Option<String>,
    /// Sign-up outcome (signup).
    pub signup: Option<SignupResult>,
    /// Sign-up numbers moved up from the waiting list (cancel_signup).
    pub promoted: Vec<String>,
    /// The activity afterwards (actions of signed-in users).
    pub activity: Option<ActivityDetail>,
}

impl ActionResult {
    fn message(message: impl Into<String>) -> Self {
        ActionResult {
            code: None,
            message: message.into(),
            warning: None,
            signup: None,
            promoted: Vec::new(),
            activity: None,
        }
    }
}

/// The message of a sign-up outcome.
pub fn signup_message(o: &activities::SignupOutcome) -> String {
    match o.status {
        SignupStatus::Waitlisted => format!(
            "名额已满，您已进入候补名单第{}位（报名号 {}）；有人取消时按顺序递补，可凭报名号和手机号后四位查询",
            o.position.unwrap_or(0),
            o.signup_no
        ),
        _ => format!(
            "报名成功，报名号 {}。请按时参加；如不能参加，请凭报名号和手机号后四位取消，把名额留给其他群众",
            o.signup_no
        ),
    }
}

/// Checks and stores a public sign-up (rate limited per address and per phone).
pub async fn public_sign_up(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    name: &str,
    phone: &str,
) -> Result<activities::SignupOutcome, ApiError> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(ApiError::too_many());
    }
    let mut errs = Vec::new();
    let name = validate::required_text("name", "姓名", name, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = Phone::parse("phone", phone)
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
    activities::sign_up(&state.db, &state.keys, &ctx.actor(), id, &name, &phone)
        .await
        .map_err(act_error)
}

/// A public activity (announced or later), or not found.
pub async fn public_activity(state: &AppState, id: i64) -> ApiResult<Activity> {
    let a = activities::get(&state.db, id).await?;
    if !a.state().is_public() {
        return Err(ApiError::not_found());
    }
    Ok(a)
}

/// Takes an action on an activity. Sign-up and its cancellation need no token; every other
/// action does.
#[utoipa::path(post, path = "/api/v1/activities/{id}/actions", tag = "activities", request_body = ActivityActionBody,
    params(("id" = i64, Path, description = "活动编号")),
    responses(
        (status = 200, body = ActionResult),
        (status = 201, description = "报名成功", body = ActionResult),
        (status = 202, description = "名额已满，进入候补（code: full）", body = ActionResult),
        (status = 403, description = "无组织关系（code: not_permitted）", body = ErrorBody),
        (status = 409, description = "状态不允许（code: wrong_state）、已签到（already_checked_in）、报名已截止（signup_closed）、重复报名（already_signed_up）、已被他人修改（stale）", body = ErrorBody),
        (status = 422, description = "条件不满足（code: refused）、不在签到时间内（outside_window）或参数有误（validation_failed）", body = ErrorBody),
        (status = 429, description = "提交过于频繁（code: rate_limited）", body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    ctx: RequestCtx,
    MaybeApiUser(user): MaybeApiUser,
    Path(id): Path<i64>,
    body: Result<Json<ActivityActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    // The public steps first: they need no account.
    match (b.action.as_str(), &user) {
        ("signup", _) => {
            public_activity(&state, id).await?;
            let o = public_sign_up(
                &state,
                &ctx,
                id,
                b.name.as_deref().unwrap_or(""),
                b.phone.as_deref().unwrap_or(""),
            )
            .await?;
            let full = o.status == SignupStatus::Waitlisted;
            let mut r = ActionResult::message(signup_message(&o));
            r.code = full.then(|| "full".to_owned());
            r.signup = Some(SignupResult {
                signup_no: o.signup_no.clone(),
                status: o.status.code().to_owned(),
                position: o.position,
                message: signup_message(&o),
            });
            let status = if full {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CREATED
            };
            return Ok((status, Json(r)).into_response());
        }
        ("cancel_signup", None) => {
            public_activity(&state, id).await?;
            if state.limits.public_blocked(&ctx.ip) {
                return Err(ApiError::too_many());
            }
            let no = b.signup_no.as_deref().unwrap_or("");
            let guess_key = format!("signup:{no}");
            if state.limits.guesses.locked(&guess_key) {
                return Err(ApiError::guesses_locked());
            }
            let result = activities::cancel_signup(
                &state.db,
                &state.keys,
                &ctx.actor(),
                id,
                no,
                b.phone_last4.as_deref().unwrap_or(""),
            )
            .await;
            let wrong = matches!(&result, Err(activities::ActError::Invalid("signup_no", _)));
            state.limits.guesses.record(&guess_key, !wrong);
            let promoted = result.map_err(act_error)?;
            let mut r = ActionResult::message("已取消报名");
            r.promoted = promoted;
            return Ok(Json(r).into_response());
        }
        (_, None) => return Err(ApiError::unauthorized()),
        _ => {}
    }
    let user = user.ok_or_else(ApiError::unauthorized)?;
    let p = &user.auth.principal;
    let actor = user.ctx.actor();
    let (a, actors) = load_visible(&state, p, id).await?;
    let organiser = !actors.is_empty();
    let mut result = ActionResult::message("已完成");
    match b.action.as_str() {
        "check_in" => {
            let Some(deputy) = p.deputy_id.filter(|_| p.role == Role::Deputy) else {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "not_permitted",
                    "只有代表本人登录后才能签到；工作人员请使用“登记出席”",
                ));
            };
            activities::check_in(&state.db, &state.keys, &actor, id, deputy)
                .await
                .map_err(act_error)?;
            result.message = "签到成功".into();
        }
        "reply_invitation" => {
            let Some(deputy) = p.deputy_id.filter(|_| p.role == Role::Deputy) else {
                return Err(act_error(ActError::Forbidden));
            };
            let reply = b
                .reply
                .as_deref()
                .and_then(InvitationReply::parse)
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new(
                        "reply",
                        "回复须为 accepted（参加）或 declined（请假）",
                    )])
                })?;
            let note =
                validate::optional_text("note", "说明", b.note.as_deref().unwrap_or(""), 200)
                    .map_err(|e| ApiError::validation(vec![e]))?;
            let substitute = match b.substitute_code.as_deref().map(str::trim) {
                Some(code) if !code.is_empty() => Some(
                    directory::deputy_by_code(&state.db, code)
                        .await?
                        .ok_or_else(|| {
                            ApiError::validation(vec![FieldError::new(
                                "substitute_code",
                                "代替参加的代表码不存在",
                            )])
                        })?
                        .id,
                ),
                _ => None,
            };
            activities::reply_invitation(
                &state.db,
                &state.keys,
                &actor,
                id,
                deputy,
                reply,
                &note,
                substitute,
            )
            .await
            .map_err(act_error)?;
            result.message = format!("已回复：{}", reply.label());
        }
        _ if !organiser => return Err(act_error(ActError::Forbidden)),
        "mark_attendance" => {
            let code = b.deputy_code.as_deref().unwrap_or("").trim();
            let d = directory::deputy_by_code(&state.db, code)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(vec![FieldError::new("deputy_code", "代表码不存在")])
                })?;
            activities::mark_attendance(
                &state.db,
                &state.keys,
                &actor,
                p,
                id,
                d.id,
                b.present.unwrap_or(true),
            )
            .await
            .map_err(act_error)?;
        }
        "cancel_signup" => {
            let sid = b.signup_id.ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("signup_id", "请指定要取消的报名")])
            })?;
            result.promoted =
                activities::cancel_signup_by_staff(&state.db, &state.keys, &actor, id, sid)
                    .await
                    .map_err(act_error)?;
        }
        "add_follow_up" => {
            let new = check_follow_up(
                b.content.as_deref().unwrap_or(""),
                b.owner.as_deref().unwrap_or(""),
                b.owner_unit_id,
                b.due_on.as_deref().unwrap_or(""),
            )
            .map_err(ApiError::validation)?;
            if !a.state().has_happened() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "wrong_state",
                    "活动举行后才能登记议定事项",
                ));
            }
            activities::add_follow_up(
                &state.db,
                &state.keys,
                &actor,
                Source {
                    kind: "activity",
                    id,
                    station_id: a.station_id,
                    region_path: &a.region_path,
                    title: &a.title,
                },
                &new,
            )
            .await?;
        }
        "complete_follow_up" => {
            let item = b.item_id.ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("item_id", "请指定议定事项")])
            })?;
            let f = activities::follow_up(&state.db, item).await?;
            if f.source_kind != "activity" || f.source_id != id {
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
        other => {
            let action = ActivityAction::parse(other).ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "action",
                    format!("未知操作“{other}”"),
                )])
            })?;
            let minutes = match b.minutes.as_deref() {
                Some(m) => Some(
                    validate::optional_text("minutes", "活动记录", m, 10_000)
                        .map_err(|e| ApiError::validation(vec![e]))?,
                ),
                None => None,
            };
            let reason = match b.reason.as_deref() {
                Some(r) => Some(
                    validate::optional_text("reason", "原因", r, 500)
                        .map_err(|e| ApiError::validation(vec![e]))?,
                ),
                None => None,
            };
            let acted = activities::act(
                &state.db,
                &state.keys,
                &actor,
                Acting::User(p),
                id,
                action,
                &ActInput {
                    minutes,
                    reason,
                    expected_version: b.version,
                },
            )
            .await
            .map_err(act_error)?;
            result.message = format!("已{}", action.label());
            result.warning = acted.warning;
        }
    }
    result.activity = Some(detail_for(&state, p, id).await?);
    Ok(Json(result).into_response())
}

/// Checks a follow-up item as typed.
pub fn check_follow_up(
    content: &str,
    owner: &str,
    owner_unit_id: Option<i64>,
    due_on: &str,
) -> Result<NewFollowUp, Vec<FieldError>> {
    let mut errs = Vec::new();
    let content =
        validate::required_text("content", "议定事项", content, 500).unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let owner =
        validate::required_text("owner", "责任人（单位）", owner, 100).unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let due = if due_on.trim().is_empty() {
        errs.push(FieldError::new("due_on", "请填写完成期限"));
        None
    } else {
        crate::api::opinions::parse_date("due_on", due_on)
            .map_err(|e| errs.push(e))
            .ok()
    };
    match (errs.is_empty(), due) {
        (true, Some(due_on)) => Ok(NewFollowUp {
            content,
            owner,
            owner_unit_id,
            due_on,
        }),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officials_are_read_one_a_line_with_name_then_post() {
        assert_eq!(
            parse_officials("王局长 区住建局局长\n李四，科长\n\n赵五"),
            vec![
                ("王局长".to_owned(), "区住建局局长".to_owned()),
                ("李四".to_owned(), "科长".to_owned()),
                ("赵五".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn a_follow_up_needs_content_owner_and_date() {
        let e = check_follow_up("", "", None, "明天").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["content", "owner", "due_on"]);
        assert!(check_follow_up("修路灯", "街道城建办", None, "2026-06-01").is_ok());
    }
}
