//! 主题活动 pages. In the workbench: the activity list, the form to create and edit (an edit after
//! the activity happened is kept as a correction), the activity page with its lifecycle,
//! invitations, sign-ups, attendance, minutes, photos, follow-up items and the opinions collected
//! there, deputies' replies, and the annual plans (plan against what happened). For deputies:
//! the station's check-in link (QR on the station's wall). For the public: the calendars of a
//! station and of a county, the activity page with a phone-size sign-up form (no account), the
//! sign-up lookup with cancellation, and a deputy's `.ics` feed.
//!
//! `liaison_db::activities` stores, `liaison_core::activity` decides; the JSON API
//! (`crate::api::activities`) shares the input checks and the detail view.

use crate::AppState;
use crate::api::activities::{
    ActivityDetail, ORGANISER_ROLES, RawActivity, act_error, check_activity, check_follow_up,
    detail_for, load_visible, parse_officials, public_sign_up, signup_message,
};
use crate::api::plans::{NOT_OWN_PLAN, check_plan, check_plan_item, plan_exists};
use crate::auth::{CsrfForm, RequestCtx, Staff, tokens_match};
use crate::error::{ApiError, PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use liaison_core::activity::{
    self, ActivityAction, ActivityKind, ActivityState, InvitationReply, SignupStatus,
};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError};
use liaison_db::activities::{self, ActError, ActInput, Acting, ActivitySummary, Source};
use liaison_db::directory::{self, DeputyFilter, StationFilter, UnitFilter};
use serde::Deserialize;

/// Activity routes (workbench, check-in, public).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/activities", get(list_page))
        .route("/work/activities/new", get(new_form).post(create))
        .route("/work/activities/photos/{pid}", get(staff_photo))
        .route("/work/activities/{id}", get(show))
        .route("/work/activities/{id}/edit", get(edit_form).post(update))
        .route("/work/activities/{id}/act", post(act))
        .route("/work/activities/{id}/attendance", post(attendance))
        .route("/work/activities/{id}/reply", post(reply))
        .route(
            "/work/activities/{id}/signups/{sid}/cancel",
            post(staff_cancel_signup),
        )
        .route("/work/activities/{id}/follow-ups", post(add_follow_up))
        .route(
            "/work/activities/{id}/follow-ups/{item}/done",
            post(complete_follow_up),
        )
        .route("/work/activities/{id}/photos", post(upload_photo))
        .route("/work/activity-plans", get(plans_page).post(create_plan))
        .route("/work/activity-plans/{id}", get(plan_page))
        .route("/work/activity-plans/{id}/items", post(add_plan_item))
        .route(
            "/work/activity-plans/{id}/items/{item}/delete",
            post(remove_plan_item),
        )
        .route("/check-in/{code}", get(check_in_page).post(check_in))
        .route("/check-in/{code}/qr.svg", get(check_in_qr))
        .route("/stations/{code}/activities", get(station_calendar))
        .route("/regions/{code}/activities", get(region_calendar))
        .route("/activities/{id}", get(public_page).post(public_signup))
        .route(
            "/activities/{id}/my-signup",
            get(my_signup).post(cancel_my_signup),
        )
        .route("/activities/photos/{pid}", get(public_photo))
        .route("/deputies/{code}/activities.ics", get(deputy_feed))
}

/// Roles that see the activity workbench.
const VIEW_ROLES: &[Role] = &[
    Role::StationStaff,
    Role::TownshipStaff,
    Role::CountyStaff,
    Role::CityStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
];

fn page_error(e: ApiError) -> PageError {
    match e.status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden(e.message),
        s if s.is_server_error() => PageError::Internal(e.message),
        _ => PageError::BadRequest(e.message),
    }
}

/// `YYYY-MM-DD HH:MM`, China time.
fn when(t: &time::OffsetDateTime) -> String {
    activity::local_minute(*t)
}

/// `HH:MM`, China time.
fn hhmm(t: &time::OffsetDateTime) -> String {
    let l = t.to_offset(activity::CHINA);
    format!("{:02}:{:02}", l.hour(), l.minute())
}

fn kind_label(code: &str) -> &'static str {
    ActivityKind::parse(code).map_or("活动", ActivityKind::label)
}

fn state_label(code: &str) -> &'static str {
    ActivityState::parse(code).map_or("", ActivityState::label)
}

/// A row of a list or calendar.
struct Row {
    id: i64,
    title: String,
    kind: &'static str,
    state: &'static str,
    state_code: String,
    station: String,
    place: String,
    time: String,
    late_notice: bool,
}

fn row(a: ActivitySummary) -> Row {
    Row {
        time: format!("{}—{}", when(&a.starts_at), hhmm(&a.ends_at)),
        id: a.id,
        title: a.title,
        kind: kind_label(&a.kind),
        state: state_label(&a.state),
        state_code: a.state,
        station: a.station_name,
        place: a.place,
        late_notice: a.late_notice,
    }
}

// ---------------------------------------------------------------------------------------------
// List

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    state: String,
    kind: String,
    month: String,
    after: String,
}

#[derive(Template)]
#[template(path = "activities/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    total: i64,
    next: Option<String>,
    query: ListQuery,
    states: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    can_create: bool,
    mine: Vec<MineRow>,
    deputy_code: Option<String>,
}

/// A deputy's own activity, with the reply and attendance.
struct MineRow {
    id: i64,
    title: String,
    kind: &'static str,
    state: &'static str,
    station: String,
    time: String,
    place: String,
    reply: &'static str,
    attended: String,
}

/// `GET /work/activities` — activities in the user's scope; for a deputy, also "my activities".
async fn list_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(VIEW_ROLES)?;
    let p = &staff.auth.principal;
    let mut filter = activities::ActivityFilter {
        limit: 50,
        ..Default::default()
    };
    if let Some(s) = ActivityState::parse(&q.state) {
        filter.states.push(s.code().to_owned());
    }
    if let Some(k) = ActivityKind::parse(&q.kind) {
        filter.kind = Some(k.code().to_owned());
    }
    if let Ok(d) = time::Date::parse(
        &format!("{}-01", q.month.trim()),
        time::macros::format_description!("[year]-[month]-[day]"),
    ) {
        filter.from = Some(d);
        let next = d
            .replace_day(28)
            .ok()
            .and_then(|x| x.checked_add(time::Duration::days(4)))
            .and_then(|x| x.replace_day(1).ok());
        filter.to = next.and_then(|n| n.previous_day());
    }
    filter.before_id = q.after.parse().ok();
    let scope = activities::list_scope(p);
    let page = activities::list(&state.db, &scope, &filter).await?;
    let mine = match p.deputy_id.filter(|_| p.role == Role::Deputy) {
        Some(d) => activities::for_deputy(
            &state.db,
            d,
            activity::china_date(liaison_db::db::now()) - time::Duration::days(30),
            false,
        )
        .await?
        .into_iter()
        .map(|a| MineRow {
            id: a.id,
            kind: kind_label(&a.kind),
            state: state_label(&a.state),
            station: a.station_name,
            time: format!("{}—{}", when(&a.starts_at), hhmm(&a.ends_at)),
            place: a.place,
            reply: a
                .reply
                .as_deref()
                .and_then(InvitationReply::parse)
                .map_or("进站代表（未单独邀请）", InvitationReply::label),
            attended: a.attended_at.as_ref().map(when).unwrap_or_default(),
            title: a.title,
        })
        .collect(),
        None => Vec::new(),
    };
    render(&ListPage {
        layout: Layout::staff(&staff, "主题活动", "activities"),
        rows: page.items.into_iter().map(row).collect(),
        total: page.total,
        next: page.next,
        query: q,
        states: ActivityState::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        kinds: ActivityKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        can_create: ORGANISER_ROLES.contains(&p.role),
        mine,
        deputy_code: (p.role == Role::Deputy)
            .then(|| staff.auth.user.scope_code.clone())
            .flatten(),
    })
}

// ---------------------------------------------------------------------------------------------
// Create and edit

/// The activity form as typed (kept on errors).
#[derive(Debug, Clone, Default)]
struct ActivityForm {
    station_code: String,
    kind: String,
    title: String,
    description: String,
    place: String,
    organiser: String,
    date: String,
    start_time: String,
    end_time: String,
    capacity: String,
    signup_open: bool,
    deputies: Vec<String>,
    extra_deputies: String,
    units: Vec<String>,
    officials: String,
    plan_item: String,
    reason: String,
    version: String,
}

impl ActivityForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = ActivityForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "station_code" => f.station_code = v,
                "kind" => f.kind = v,
                "title" => f.title = v,
                "description" => f.description = v,
                "place" => f.place = v,
                "organiser" => f.organiser = v,
                "date" => f.date = v,
                "start_time" => f.start_time = v,
                "end_time" => f.end_time = v,
                "capacity" => f.capacity = v,
                "signup_open" => f.signup_open = true,
                "deputy" => f.deputies.push(v),
                "extra_deputies" => f.extra_deputies = v,
                "unit" => f.units.push(v),
                "officials" => f.officials = v,
                "plan_item" => f.plan_item = v,
                "reason" => f.reason = v,
                "version" => f.version = v,
                _ => {}
            }
        }
        f
    }

    fn raw(&self) -> RawActivity {
        let date = crate::api::opinions::parse_date("date", &self.date);
        let at = |field: &'static str, t: &str| match &date {
            Ok(d) => activity::china_instant(*d, t).map_err(|m| FieldError::new(field, m)),
            Err(e) => Err(e.clone()),
        };
        let mut deputy_codes = self.deputies.clone();
        deputy_codes.extend(
            self.extra_deputies
                .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        );
        RawActivity {
            station_code: self.station_code.clone(),
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            place: self.place.clone(),
            organiser: self.organiser.clone(),
            starts_at: at("start_time", &self.start_time),
            // A missing date is reported once, at the date.
            ends_at: at("end_time", &self.end_time).map_err(|e| {
                if e.field == "date" {
                    FieldError::new("", "")
                } else {
                    e
                }
            }),
            capacity: self.capacity.clone(),
            signup_open: self.signup_open,
            deputy_codes,
            unit_ids: self.units.iter().filter_map(|u| u.parse().ok()).collect(),
            officials: parse_officials(&self.officials),
            plan_item_id: self.plan_item.trim().parse().ok(),
        }
    }

    fn from_activity(a: &activities::Activity, d: &ActivityDetail, units: &[i64]) -> Self {
        let l = a.starts_at.to_offset(activity::CHINA);
        ActivityForm {
            station_code: a.station_code.clone(),
            kind: a.kind.clone(),
            title: a.title.clone(),
            description: a.description.clone(),
            place: a.place.clone(),
            organiser: a.organiser.clone(),
            date: l.date().to_string(),
            start_time: hhmm(&a.starts_at),
            end_time: hhmm(&a.ends_at),
            capacity: a.capacity.map(|c| c.to_string()).unwrap_or_default(),
            signup_open: a.signup_open,
            deputies: d.invitees.iter().map(|i| i.deputy_code.clone()).collect(),
            extra_deputies: String::new(),
            units: units.iter().map(|u| u.to_string()).collect(),
            officials: d
                .guests
                .iter()
                .filter(|g| g.unit_id.is_none())
                .map(|g| format!("{} {}", g.name, g.post).trim().to_owned())
                .collect::<Vec<_>>()
                .join("\n"),
            plan_item: a.plan_item_id.map(|i| i.to_string()).unwrap_or_default(),
            reason: String::new(),
            version: a.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "activities/form.html")]
struct FormPage {
    layout: Layout,
    form: ActivityForm,
    errors: Vec<FieldError>,
    /// Editing this activity (None: creating).
    editing: Option<i64>,
    /// The edit is a correction of what happened.
    correction: bool,
    stations: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    deputies: Vec<(String, String)>,
    units: Vec<(String, String)>,
    plan_items: Vec<(String, String)>,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field && !e.message.is_empty())
            .map(|e| e.message.as_str())
    }
    fn general_errors(&self) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|e| !e.message.is_empty())
            .map(|e| e.message.as_str())
            .collect()
    }
}

async fn organiser_stations(
    state: &AppState,
    p: &Principal,
) -> PageResult<Vec<directory::StationItem>> {
    Ok(directory::list_stations(
        &state.db,
        Some(&p.scope()),
        &StationFilter {
            limit: 500,
            ..Default::default()
        },
    )
    .await?
    .items)
}

async fn form_page(
    state: &AppState,
    staff: &Staff,
    form: ActivityForm,
    errors: Vec<FieldError>,
    editing: Option<(i64, bool)>,
) -> PageResult<FormPage> {
    let p = &staff.auth.principal;
    let scope = p.scope();
    let stations = organiser_stations(state, p).await?;
    let station_ids: Vec<i64> = stations.iter().map(|s| s.id).collect();
    let deputies = directory::list_deputies(
        &state.db,
        Some(&scope),
        &DeputyFilter {
            limit: 300,
            ..Default::default()
        },
    )
    .await?
    .items;
    let units = directory::list_units(
        &state.db,
        &scope,
        &UnitFilter {
            limit: 300,
            ..Default::default()
        },
    )
    .await?
    .items;
    let plan_items = activities::plan_item_choices(&state.db, &station_ids)
        .await?
        .into_iter()
        .map(|(id, _, label)| (id.to_string(), label))
        .collect();
    let title = match editing {
        Some((_, true)) => "更正活动记录",
        Some(_) => "修改活动",
        None => "新建活动",
    };
    Ok(FormPage {
        layout: Layout::staff(staff, title, "activities"),
        form,
        errors,
        editing: editing.map(|e| e.0),
        correction: editing.is_some_and(|e| e.1),
        stations: stations.into_iter().map(|s| (s.code, s.name)).collect(),
        kinds: ActivityKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        deputies: deputies
            .into_iter()
            .map(|d| {
                let station = d.station_name.clone().unwrap_or_default();
                (d.code, format!("{}（{}）", d.name, station))
            })
            .collect(),
        units: units
            .into_iter()
            .map(|u| (u.id.to_string(), u.name))
            .collect(),
        plan_items,
    })
}

#[derive(Debug, Deserialize, Default)]
struct NewQuery {
    plan_item: Option<i64>,
}

/// `GET /work/activities/new` (`?plan_item=<id>` carries out a planned item).
async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let mut form = ActivityForm {
        kind: ActivityKind::ReceptionDay.code().to_owned(),
        start_time: "09:00".into(),
        end_time: "11:30".into(),
        signup_open: true,
        station_code: if staff.auth.role() == Role::StationStaff {
            staff.auth.user.scope_code.clone().unwrap_or_default()
        } else {
            String::new()
        },
        organiser: staff.auth.user.scope_name.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(item) = q.plan_item {
        form.plan_item = item.to_string();
    }
    render(&form_page(&state, &staff, form, Vec::new(), None).await?)
}

/// `POST /work/activities/new`.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let form = ActivityForm::from_pairs(pairs);
    let p = &staff.auth.principal;
    match check_activity(&state, p, &form.raw()).await? {
        Ok((station, input)) => {
            let id = activities::create(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                station.id,
                &input,
            )
            .await?;
            Ok(Redirect::to(&format!("/work/activities/{id}?done=created")).into_response())
        }
        Err(errs) => render(&form_page(&state, &staff, form, errs, None).await?),
    }
}

async fn organiser_of(
    state: &AppState,
    staff: &Staff,
    id: i64,
) -> PageResult<(activities::Activity, ActivityDetail)> {
    let p = &staff.auth.principal;
    let (a, actors) = load_visible(state, p, id).await.map_err(page_error)?;
    if actors.is_empty() {
        return Err(PageError::Forbidden(
            "只有活动所属联络站及上级人大的工作人员可以修改活动".into(),
        ));
    }
    let d = detail_for(state, p, id).await.map_err(page_error)?;
    Ok((a, d))
}

/// `GET /work/activities/{id}/edit`.
async fn edit_form(State(state): State<AppState>, staff: Staff, Path(id): Path<i64>) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let (a, d) = organiser_of(&state, &staff, id).await?;
    let units: Vec<i64> = d.guests.iter().filter_map(|g| g.unit_id).collect();
    let correction = activity::is_correction(a.state(), a.starts_at, liaison_db::db::now());
    let form = ActivityForm::from_activity(&a, &d, &units);
    render(&form_page(&state, &staff, form, Vec::new(), Some((id, correction))).await?)
}

/// `POST /work/activities/{id}/edit`.
async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let (a, _) = organiser_of(&state, &staff, id).await?;
    let mut form = ActivityForm::from_pairs(pairs);
    form.station_code = a.station_code.clone();
    let correction = activity::is_correction(a.state(), a.starts_at, liaison_db::db::now());
    let p = &staff.auth.principal;
    let input = match check_activity(&state, p, &form.raw()).await? {
        Ok((_, input)) => input,
        Err(errs) => {
            return render(&form_page(&state, &staff, form, errs, Some((id, correction))).await?);
        }
    };
    let reason = Some(form.reason.clone()).filter(|r| !r.trim().is_empty());
    match activities::update(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        id,
        &input,
        reason.as_deref(),
        form.version.parse().ok(),
    )
    .await
    {
        Ok(true) => {
            Ok(Redirect::to(&format!("/work/activities/{id}?done=corrected")).into_response())
        }
        Ok(false) => {
            Ok(Redirect::to(&format!("/work/activities/{id}?done=updated")).into_response())
        }
        Err(e) => {
            let e = act_error(e);
            let field = e
                .fields
                .first()
                .map(|f| f.field.clone())
                .unwrap_or_default();
            let errs = vec![FieldError::new(field, e.message)];
            render(&form_page(&state, &staff, form, errs, Some((id, correction))).await?)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The activity page

/// What a refused form on the page was and what the user typed.
#[derive(Debug, Default, Clone)]
struct Typed {
    form: String,
    message: String,
    minutes: String,
    reason: String,
    content: String,
    owner: String,
    due_on: String,
    done_note: String,
    item: String,
    deputy_code: String,
    reply_note: String,
    substitute_code: String,
}

#[derive(Template)]
#[template(path = "activities/detail.html")]
struct DetailPage {
    layout: Layout,
    d: ActivityDetail,
    starts: String,
    ends: String,
    announced: String,
    actions: Vec<(&'static str, &'static str)>,
    organiser: bool,
    typed: Typed,
    photos: Vec<(i64, String)>,
    can_follow_up: bool,
    can_mark: bool,
    can_enter_opinion: bool,
    my_invitation: Option<String>,
    can_reply: bool,
    opinion_states: Vec<(i64, String, String, &'static str)>,
    corrections: Vec<CorrectionRow>,
    history: Vec<(String, String, String, String)>,
    follow_ups: Vec<FollowUpRow>,
    signups: Vec<(i64, String, String, String, &'static str)>,
}

/// A correction for the page: when, who, why, and the fields changed (label, before, after).
type CorrectionRow = (String, String, String, Vec<(String, String, String)>);

/// A follow-up item for the page.
struct FollowUpRow {
    id: i64,
    content: String,
    owner: String,
    due_on: String,
    done: bool,
    done_note: String,
}

impl DetailPage {
    fn failed(&self, form: &str) -> Option<&str> {
        (self.typed.form == form).then_some(self.typed.message.as_str())
    }
}

fn done_notice(code: &str) -> Option<String> {
    Some(match code {
        "created" => {
            "活动已创建（计划中）。确定时间、地点和受邀代表后，请至少提前2至3天发布预告。".into()
        }
        "updated" => "已保存修改。".into(),
        "corrected" => "已保存更正，修改前后的内容已留痕。".into(),
        "attendance" => "已登记出席。".into(),
        "unmarked" => "已撤销出席登记。".into(),
        "reply" => "已回复邀请，联络站将收到通知。".into(),
        "signup_cancelled" => "已取消该报名；如有候补，已按顺序递补。".into(),
        "follow_up" => "已登记议定事项。".into(),
        "follow_up_done" => "议定事项已标记为落实。".into(),
        "photo" => "照片已上传（已去除拍摄地点等信息）。".into(),
        "announce" => "已发布预告，活动已在公开日历中显示，受邀代表将收到通知。".into(),
        other => match ActivityAction::parse(other) {
            Some(a) => format!("已{}。", a.label()),
            None => return None,
        },
    })
}

fn diff(before: &serde_json::Value, after: &serde_json::Value) -> Vec<(String, String, String)> {
    let label = |k: &str| {
        match k {
            "kind" => "类型",
            "title" => "主题",
            "description" => "内容",
            "place" => "地点",
            "organiser" => "组织单位",
            "starts_at" => "开始时间",
            "ends_at" => "结束时间",
            "capacity" => "名额",
            "signup_open" => "接受报名",
            "plan_item_id" => "计划事项",
            "deputy_ids" => "受邀代表",
            "guests" => "邀请单位和人员",
            other => other,
        }
        .to_owned()
    };
    let mut out = Vec::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            let bv = b.get(k).cloned().unwrap_or_default();
            if &bv != av {
                let show = |v: &serde_json::Value| match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "（无）".into(),
                    other => other.to_string(),
                };
                out.push((label(k), show(&bv), show(av)));
            }
        }
    }
    out
}

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    typed: Typed,
    notice: Option<String>,
) -> PageResult {
    staff.require(VIEW_ROLES)?;
    let p = &staff.auth.principal;
    let (a, actors) = load_visible(state, p, id).await.map_err(page_error)?;
    let d = detail_for(state, p, id).await.map_err(page_error)?;
    let organiser = !actors.is_empty();
    let st = a.state();
    let my_invitation = match p.deputy_id.filter(|_| p.role == Role::Deputy) {
        Some(dep) => activities::invitees(&state.db, id)
            .await?
            .into_iter()
            .find(|i| i.deputy_id == dep)
            .map(|i| i.reply),
        None => None,
    };
    let now = liaison_db::db::now();
    let can_reply = my_invitation.is_some()
        && matches!(st, ActivityState::Planned | ActivityState::Announced)
        && now < a.starts_at;
    let actions = d
        .available_actions
        .iter()
        .filter_map(|c| ActivityAction::parse(c))
        .map(|x| (x.code(), x.label()))
        .collect();
    let opinion_states = d
        .opinions
        .iter()
        .map(|o| {
            (
                o.id,
                o.tracking_no.clone(),
                o.title.clone(),
                liaison_core::workflow::OpinionState::parse(&o.state)
                    .map_or("", liaison_core::workflow::OpinionState::label),
            )
        })
        .collect();
    let corrections = d
        .corrections
        .iter()
        .map(|c| {
            (
                crate::routes::admin::beijing_time(
                    &time::OffsetDateTime::parse(
                        &c.at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap_or(now),
                )
                .chars()
                .take(16)
                .collect(),
                c.actor.clone(),
                c.reason.clone(),
                diff(&c.before, &c.after),
            )
        })
        .collect();
    let history = activities::history(&state.db, id)
        .await?
        .into_iter()
        .map(|e| (when(&e.at), e.actor_name, e.label, e.note))
        .collect();
    let follow_ups = d
        .follow_ups
        .iter()
        .map(|f| FollowUpRow {
            id: f.id,
            content: f.content.clone(),
            owner: f.owner.clone(),
            due_on: f.due_on.clone(),
            done: f.state == "done",
            done_note: f.done_note.clone(),
        })
        .collect();
    let signups = d
        .signups
        .iter()
        .map(|s| {
            (
                s.id,
                s.signup_no.clone(),
                s.name.clone(),
                s.phone.clone(),
                SignupStatus::parse(&s.status).map_or("", SignupStatus::label),
            )
        })
        .collect();
    let entry_role = matches!(
        p.role,
        Role::StationStaff | Role::TownshipStaff | Role::Deputy
    );
    render(&DetailPage {
        layout: Layout::staff(staff, a.title.clone(), "activities").with_notice(notice),
        starts: when(&a.starts_at),
        ends: when(&a.ends_at),
        announced: a.announced_at.as_ref().map(when).unwrap_or_default(),
        actions,
        organiser,
        typed,
        photos: activities::photos(&state.db, id).await?,
        can_follow_up: organiser && st.has_happened(),
        can_mark: organiser
            && (st.has_happened() || (st == ActivityState::Announced && now >= a.starts_at)),
        can_enter_opinion: entry_role
            && !matches!(st, ActivityState::Planned | ActivityState::Cancelled),
        my_invitation,
        can_reply,
        opinion_states,
        corrections,
        history,
        follow_ups,
        signups,
        d,
    })
}

#[derive(Debug, Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// `GET /work/activities/{id}`.
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let mut notice = q.done.as_deref().and_then(done_notice);
    if q.done.as_deref() == Some("announce") {
        let a = activities::get(&state.db, id).await?;
        if let Some(w) = a
            .announced_at
            .and_then(|t| activity::notice_warning(t, a.starts_at))
        {
            notice = Some(format!("已发布预告。注意：{w}"));
        }
    }
    detail_page(&state, &staff, id, Typed::default(), notice).await
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// Re-renders the page with the refusal next to the form, keeping what was typed.
async fn refused(
    state: &AppState,
    staff: &Staff,
    id: i64,
    form: &str,
    pairs: &[(String, String)],
    e: ApiError,
) -> PageResult {
    if e.status == StatusCode::NOT_FOUND {
        return Err(PageError::NotFound);
    }
    let typed = Typed {
        form: form.to_owned(),
        message: e.message,
        minutes: pair(pairs, "minutes").to_owned(),
        reason: pair(pairs, "reason").to_owned(),
        content: pair(pairs, "content").to_owned(),
        owner: pair(pairs, "owner").to_owned(),
        due_on: pair(pairs, "due_on").to_owned(),
        done_note: pair(pairs, "done_note").to_owned(),
        item: pair(pairs, "item").to_owned(),
        deputy_code: pair(pairs, "deputy_code").to_owned(),
        reply_note: pair(pairs, "note").to_owned(),
        substitute_code: pair(pairs, "substitute_code").to_owned(),
    };
    let mut resp = detail_page(state, staff, id, typed, None).await?;
    *resp.status_mut() = e.status;
    Ok(resp)
}

/// `POST /work/activities/{id}/act` — a lifecycle step.
async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let code = pair(&pairs, "action").to_owned();
    let Some(action) = ActivityAction::parse(&code) else {
        return Err(PageError::BadRequest("未知操作".into()));
    };
    let text = |k: &str| Some(pair(&pairs, k).to_owned()).filter(|s| !s.trim().is_empty());
    let result = activities::act(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        Acting::User(&staff.auth.principal),
        id,
        action,
        &ActInput {
            minutes: text("minutes"),
            reason: text("reason"),
            expected_version: pair(&pairs, "version").parse().ok(),
        },
    )
    .await;
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/work/activities/{id}?done={}", action.code())).into_response(),
        ),
        Err(e) => refused(&state, &staff, id, action.code(), &pairs, act_error(e)).await,
    }
}

/// `POST /work/activities/{id}/attendance` — staff mark a deputy present or not.
async fn attendance(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let code = pair(&pairs, "deputy_code").trim().to_owned();
    let present = pair(&pairs, "present") != "0";
    let Some(d) = directory::deputy_by_code(&state.db, &code).await? else {
        let e = ApiError::validation(vec![FieldError::new(
            "deputy_code",
            "代表码不存在，请核对（代表码印在代表证和代表码海报上）",
        )]);
        return refused(&state, &staff, id, "attendance", &pairs, e).await;
    };
    match activities::mark_attendance(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &staff.auth.principal,
        id,
        d.id,
        present,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/work/activities/{id}?done={}",
            if present { "attendance" } else { "unmarked" }
        ))
        .into_response()),
        Err(e) => refused(&state, &staff, id, "attendance", &pairs, act_error(e)).await,
    }
}

/// `POST /work/activities/{id}/reply` — the deputy answers the invitation.
async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    let Some(deputy) = p.deputy_id else {
        return Err(PageError::Forbidden("账号未绑定代表".into()));
    };
    load_visible(&state, p, id).await.map_err(page_error)?;
    let Some(answer) = InvitationReply::parse(pair(&pairs, "reply")) else {
        let e = ApiError::validation(vec![FieldError::new("reply", "请选择参加或请假")]);
        return refused(&state, &staff, id, "reply", &pairs, e).await;
    };
    let note = match validate::optional_text("note", "说明", pair(&pairs, "note"), 200) {
        Ok(n) => n,
        Err(e) => {
            return refused(
                &state,
                &staff,
                id,
                "reply",
                &pairs,
                ApiError::validation(vec![e]),
            )
            .await;
        }
    };
    let sub_code = pair(&pairs, "substitute_code").trim().to_owned();
    let substitute = if sub_code.is_empty() {
        None
    } else {
        match directory::deputy_by_code(&state.db, &sub_code).await? {
            Some(d) => Some(d.id),
            None => {
                let e = ApiError::validation(vec![FieldError::new(
                    "substitute_code",
                    "代替参加的代表码不存在，请核对",
                )]);
                return refused(&state, &staff, id, "reply", &pairs, e).await;
            }
        }
    };
    match activities::reply_invitation(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        id,
        deputy,
        answer,
        &note,
        substitute,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/work/activities/{id}?done=reply")).into_response()),
        Err(e) => refused(&state, &staff, id, "reply", &pairs, act_error(e)).await,
    }
}

/// `POST /work/activities/{id}/signups/{sid}/cancel` — staff cancel a sign-up.
async fn staff_cancel_signup(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, sid)): Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    organiser_of(&state, &staff, id).await?;
    match activities::cancel_signup_by_staff(&state.db, &state.keys, &staff.ctx.actor(), id, sid)
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/work/activities/{id}?done=signup_cancelled")).into_response(),
        ),
        Err(e) => refused(&state, &staff, id, "signups", &pairs, act_error(e)).await,
    }
}

/// `POST /work/activities/{id}/follow-ups` — an agreed item with owner and due date.
async fn add_follow_up(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let (a, _) = organiser_of(&state, &staff, id).await?;
    if !a.state().has_happened() {
        let e = ApiError::new(
            StatusCode::CONFLICT,
            "wrong_state",
            "活动举行后才能登记议定事项",
        );
        return refused(&state, &staff, id, "follow_up", &pairs, e).await;
    }
    let new = match check_follow_up(
        pair(&pairs, "content"),
        pair(&pairs, "owner"),
        None,
        pair(&pairs, "due_on"),
    ) {
        Ok(n) => n,
        Err(errs) => {
            return refused(
                &state,
                &staff,
                id,
                "follow_up",
                &pairs,
                ApiError::validation(errs),
            )
            .await;
        }
    };
    activities::add_follow_up(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
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
    Ok(Redirect::to(&format!("/work/activities/{id}?done=follow_up")).into_response())
}

/// `POST /work/activities/{id}/follow-ups/{item}/done`.
async fn complete_follow_up(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, item)): Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    organiser_of(&state, &staff, id).await?;
    let f = activities::follow_up(&state.db, item).await?;
    if f.source_kind != "activity" || f.source_id != id {
        return Err(PageError::NotFound);
    }
    match activities::complete_follow_up(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        item,
        pair(&pairs, "done_note"),
    )
    .await
    {
        Ok(_) => {
            Ok(Redirect::to(&format!("/work/activities/{id}?done=follow_up_done")).into_response())
        }
        Err(e) => {
            let mut pairs = pairs;
            pairs.push(("item".into(), item.to_string()));
            refused(&state, &staff, id, "follow_up_done", &pairs, act_error(e)).await
        }
    }
}

/// `POST /work/activities/{id}/photos` (multipart) — photos of the activity, re-encoded without
/// EXIF/GPS like citizens' photos.
async fn upload_photo(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    organiser_of(&state, &staff, id).await?;
    let mut csrf = String::new();
    let mut caption = String::new();
    let mut files = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| PageError::BadRequest(format!("上传内容无法读取，可能是照片过大：{e}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photos" {
            let has_name = field.file_name().is_some_and(|n| !n.is_empty());
            let bytes = field
                .bytes()
                .await
                .map_err(|e| PageError::BadRequest(format!("照片上传失败，请重试：{e}")))?;
            if has_name && !bytes.is_empty() {
                files.push(bytes.to_vec());
            }
            continue;
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "_csrf" => csrf = value,
            "caption" => caption = value,
            _ => {}
        }
    }
    if !tokens_match(&csrf, staff.ctx.csrf()) {
        return Err(PageError::Csrf);
    }
    let pairs = vec![("caption".to_owned(), caption.clone())];
    let caption = match validate::optional_text("caption", "照片说明", &caption, 100) {
        Ok(c) => c,
        Err(e) => {
            return refused(
                &state,
                &staff,
                id,
                "photos",
                &pairs,
                ApiError::validation(vec![e]),
            )
            .await;
        }
    };
    if files.is_empty() || files.len() > crate::intake::PHOTOS_MAX {
        let e = ApiError::validation(vec![FieldError::new(
            "photos",
            format!("请选择1至{}张照片", crate::intake::PHOTOS_MAX),
        )]);
        return refused(&state, &staff, id, "photos", &pairs, e).await;
    }
    let results = tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|raw| liaison_docs::photo::sanitize_photo(raw))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let mut photos = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(p) => photos.push(p),
            Err(e) => {
                let e = ApiError::validation(vec![FieldError::new(
                    "photos",
                    format!("第{}张照片：{e}", i + 1),
                )]);
                return refused(&state, &staff, id, "photos", &pairs, e).await;
            }
        }
    }
    for p in photos {
        activities::add_photo(
            &state.db,
            &state.keys,
            &staff.ctx.actor(),
            id,
            (
                "image/jpeg",
                i64::from(p.width),
                i64::from(p.height),
                &p.jpeg,
            ),
            &caption,
        )
        .await?;
    }
    Ok(Redirect::to(&format!("/work/activities/{id}?done=photo")).into_response())
}

fn jpeg(bytes: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /work/activities/photos/{pid}`.
async fn staff_photo(
    State(state): State<AppState>,
    staff: Staff,
    Path(pid): Path<i64>,
) -> PageResult<Response> {
    staff.require(VIEW_ROLES)?;
    let (aid, _, bytes) = activities::photo(&state.db, pid).await?;
    load_visible(&state, &staff.auth.principal, aid)
        .await
        .map_err(page_error)?;
    Ok(jpeg(bytes, "private, max-age=3600"))
}

/// `GET /activities/photos/{pid}` — photos of activities that have taken place are public (活动纪实).
async fn public_photo(State(state): State<AppState>, Path(pid): Path<i64>) -> PageResult<Response> {
    let (aid, _, bytes) = activities::photo(&state.db, pid).await?;
    let a = activities::get(&state.db, aid).await?;
    if !a.state().has_happened() {
        return Err(PageError::NotFound);
    }
    Ok(jpeg(bytes, "public, max-age=3600"))
}

// ---------------------------------------------------------------------------------------------
// Annual plans

#[derive(Debug, Deserialize, Default)]
struct YearQuery {
    year: Option<i64>,
}

#[derive(Template)]
#[template(path = "activities/plans.html")]
struct PlansPage {
    layout: Layout,
    year: i64,
    plans: Vec<activities::Plan>,
    can_create: bool,
    errors: Vec<FieldError>,
    title: String,
}

impl PlansPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn this_year() -> i64 {
    i64::from(activity::china_date(liaison_db::db::now()).year())
}

async fn plans_view(
    state: &AppState,
    staff: &Staff,
    year: i64,
    errors: Vec<FieldError>,
    title: String,
) -> PageResult<PlansPage> {
    let p = &staff.auth.principal;
    let plans = activities::plans(&state.db, &activities::list_scope(p), Some(year)).await?;
    let can_create =
        p.role == Role::StationStaff && !plans.iter().any(|x| Some(x.station_id) == p.station_id);
    Ok(PlansPage {
        layout: Layout::staff(staff, "年度活动计划", "activities"),
        year,
        plans,
        can_create,
        errors,
        title,
    })
}

/// `GET /work/activity-plans` — plans of the year in scope: station staff edit their own,
/// township, county and city read them (plan against what happened).
async fn plans_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<YearQuery>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let year = q.year.unwrap_or_else(this_year);
    let title = format!(
        "{}{year}年度活动计划",
        staff.auth.user.scope_name.clone().unwrap_or_default()
    );
    render(&plans_view(&state, &staff, year, Vec::new(), title).await?)
}

/// `POST /work/activity-plans` — a station's plan for a year (station staff).
async fn create_plan(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(&[Role::StationStaff])?;
    let Some(station_id) = staff.auth.principal.station_id else {
        return Err(PageError::Forbidden("账号未绑定联络站".into()));
    };
    let typed_year = pair(&pairs, "year").trim().parse().ok();
    let (year, title) = match check_plan(typed_year, pair(&pairs, "title")) {
        Ok(ok) => ok,
        Err(errs) => {
            let year = typed_year
                .filter(|y| (2000..=2100).contains(y))
                .unwrap_or_else(this_year);
            return render(
                &plans_view(&state, &staff, year, errs, pair(&pairs, "title").to_owned()).await?,
            );
        }
    };
    match activities::create_plan(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        station_id,
        year,
        &title,
        "",
    )
    .await
    {
        Ok(id) => Ok(Redirect::to(&format!("/work/activity-plans/{id}")).into_response()),
        Err(liaison_db::DbError::Conflict { .. }) => {
            let errs = vec![plan_exists(year)];
            render(&plans_view(&state, &staff, year, errs, title).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A month of a plan: planned items with what carried them out, and unplanned activities.
struct Month {
    month: i64,
    items: Vec<PlannedRow>,
    unplanned: Vec<Row>,
}

struct PlannedRow {
    id: i64,
    kind: &'static str,
    theme: String,
    note: String,
    done: Vec<Row>,
}

#[derive(Template)]
#[template(path = "activities/plan.html")]
struct PlanPage {
    layout: Layout,
    plan: activities::Plan,
    months: Vec<Month>,
    editable: bool,
    kinds: Vec<(&'static str, &'static str)>,
    errors: Vec<FieldError>,
    typed: (String, String, String, String),
}

impl PlanPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn plan_view(
    state: &AppState,
    staff: &Staff,
    id: i64,
    errors: Vec<FieldError>,
    typed: (String, String, String, String),
) -> PageResult<PlanPage> {
    staff.require(ORGANISER_ROLES)?;
    let p = &staff.auth.principal;
    if !activities::plan_visible(&state.db, &activities::list_scope(p), id).await? {
        return Err(PageError::NotFound);
    }
    let plan = activities::plan(&state.db, id).await?;
    let items = activities::plan_items(&state.db, id).await?;
    let acts = activities::station_year_activities(&state.db, plan.station_id, plan.year).await?;
    let mut months: Vec<Month> = (1..=12)
        .map(|m| Month {
            month: m,
            items: Vec::new(),
            unplanned: Vec::new(),
        })
        .collect();
    for i in &items {
        if let Some(m) = months.get_mut((i.month - 1).clamp(0, 11) as usize) {
            m.items.push(PlannedRow {
                id: i.id,
                kind: kind_label(&i.kind),
                theme: i.theme.clone(),
                note: i.note.clone(),
                done: Vec::new(),
            });
        }
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
            Some(item) => item.done.push(row(a)),
            None => months[month].unplanned.push(row(a)),
        }
    }
    Ok(PlanPage {
        layout: Layout::staff(staff, plan.title.clone(), "activities"),
        editable: p.role == Role::StationStaff && p.station_id == Some(plan.station_id),
        plan,
        months,
        kinds: ActivityKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        errors,
        typed,
    })
}

/// `GET /work/activity-plans/{id}` — the plan by month against what happened.
async fn plan_page(State(state): State<AppState>, staff: Staff, Path(id): Path<i64>) -> PageResult {
    render(&plan_view(&state, &staff, id, Vec::new(), Default::default()).await?)
}

async fn own_plan(state: &AppState, staff: &Staff, id: i64) -> PageResult<activities::Plan> {
    staff.require(&[Role::StationStaff])?;
    let plan = activities::plan(&state.db, id).await?;
    if staff.auth.principal.station_id != Some(plan.station_id) {
        return Err(PageError::Forbidden(NOT_OWN_PLAN.into()));
    }
    Ok(plan)
}

/// `POST /work/activity-plans/{id}/items` — a planned item (station staff of the plan's station).
async fn add_plan_item(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    own_plan(&state, &staff, id).await?;
    let checked = check_plan_item(
        pair(&pairs, "month").parse().ok(),
        pair(&pairs, "kind"),
        pair(&pairs, "theme"),
        pair(&pairs, "note"),
    );
    let item = match checked {
        Ok(item) => item,
        Err(errs) => {
            let typed = (
                pair(&pairs, "month").to_owned(),
                pair(&pairs, "kind").to_owned(),
                pair(&pairs, "theme").to_owned(),
                pair(&pairs, "note").to_owned(),
            );
            let mut resp = render(&plan_view(&state, &staff, id, errs, typed).await?)?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(resp);
        }
    };
    activities::add_plan_item(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        id,
        item.month,
        item.kind,
        &item.theme,
        &item.note,
    )
    .await?;
    Ok(Redirect::to(&format!("/work/activity-plans/{id}")).into_response())
}

/// `POST /work/activity-plans/{id}/items/{item}/delete`.
async fn remove_plan_item(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, item)): Path<(i64, i64)>,
    CsrfForm(_pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    own_plan(&state, &staff, id).await?;
    match activities::remove_plan_item(&state.db, &state.keys, &staff.ctx.actor(), id, item).await {
        Ok(()) => Ok(Redirect::to(&format!("/work/activity-plans/{id}")).into_response()),
        Err(ActError::Invalid(f, m)) => render(
            &plan_view(
                &state,
                &staff,
                id,
                vec![FieldError::new(f, m)],
                Default::default(),
            )
            .await?,
        ),
        Err(e) => Err(page_error(act_error(e))),
    }
}

// ---------------------------------------------------------------------------------------------
// Check-in (the QR on the station's wall)

#[derive(Template)]
#[template(path = "activities/check_in.html")]
struct CheckInPage {
    layout: Layout,
    station: directory::StationItem,
    open: Vec<(i64, String, String, bool)>,
    result: Option<(bool, String)>,
    deputy: bool,
}

async fn check_in_view(
    state: &AppState,
    staff: &Staff,
    code: &str,
    result: Option<(bool, String)>,
) -> PageResult<Response> {
    let station = directory::station_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    let p = &staff.auth.principal;
    let now = liaison_db::db::now();
    let mut open = Vec::new();
    for a in activities::check_in_candidates(&state.db, station.id, now).await? {
        if activity::check_in_window(now, a.starts_at, a.ends_at).is_ok() {
            let checked = match p.deputy_id {
                Some(d) => activities::attendees(&state.db, a.id)
                    .await?
                    .iter()
                    .any(|x| x.deputy_id == d),
                None => false,
            };
            open.push((
                a.id,
                a.title.clone(),
                format!("{}—{} {}", when(&a.starts_at), hhmm(&a.ends_at), a.place),
                checked,
            ));
        }
    }
    let status = match &result {
        Some((false, _)) => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    };
    let mut resp = render(&CheckInPage {
        layout: Layout::staff(staff, format!("{} 代表签到", station.name), "activities"),
        station,
        open,
        result,
        deputy: p.role == Role::Deputy,
    })?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `GET /check-in/{code}` — where the station's check-in QR leads; sign-in first.
async fn check_in_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> PageResult<Response> {
    check_in_view(&state, &staff, &code, None).await
}

/// `POST /check-in/{code}` — the deputy checks in to one activity.
async fn check_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let p = &staff.auth.principal;
    let Some(deputy) = p.deputy_id.filter(|_| p.role == Role::Deputy) else {
        let msg = "只有代表本人登录后才能签到；工作人员请在活动页面“登记出席”".to_owned();
        return check_in_view(&state, &staff, &code, Some((false, msg))).await;
    };
    let Ok(id) = pair(&pairs, "activity").parse::<i64>() else {
        return Err(PageError::BadRequest("请选择要签到的活动".into()));
    };
    let station = directory::station_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let a = activities::get(&state.db, id).await?;
    if a.station_id != station.id
        && station_parent_of(&state, a.station_id).await? != Some(station.id)
    {
        return Err(PageError::NotFound);
    }
    let result =
        match activities::check_in(&state.db, &state.keys, &staff.ctx.actor(), id, deputy).await {
            Ok(a) => (
                true,
                format!("签到成功：{}（{}）", a.title, when(&liaison_db::db::now())),
            ),
            Err(e) => (false, e.to_string()),
        };
    check_in_view(&state, &staff, &code, Some(result)).await
}

async fn station_parent_of(state: &AppState, station_id: i64) -> PageResult<Option<i64>> {
    Ok(activities::station_parent(&state.db, station_id).await?)
}

/// `GET /check-in/{code}/qr.svg` — the QR to print for the station's wall.
async fn check_in_qr(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let station = directory::station_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let url = format!("{}/check-in/{}", state.config.public_url, station.code);
    let svg = liaison_docs::qr_svg(&url, 6).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Public calendar, page, sign-up, feed

#[derive(Template)]
#[template(path = "activities/public_calendar.html")]
struct CalendarPage {
    layout: Layout,
    heading: String,
    back: (String, String),
    days: Vec<(String, Vec<Row>)>,
    from: String,
    to: String,
}

fn calendar_days(rows: Vec<ActivitySummary>) -> Vec<(String, Vec<Row>)> {
    let mut days: Vec<(String, Vec<Row>)> = Vec::new();
    for a in rows {
        let d = a.held_on;
        let label = format!(
            "{}年{}月{}日 {}",
            d.year(),
            d.month() as u8,
            d.day(),
            ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
                [d.weekday().number_days_from_monday() as usize]
        );
        match days.last_mut() {
            Some((l, v)) if *l == label => v.push(row(a)),
            _ => days.push((label, vec![row(a)])),
        }
    }
    days
}

fn calendar_range() -> (time::Date, time::Date) {
    let today = activity::china_date(liaison_db::db::now());
    (
        today - time::Duration::days(30),
        today + time::Duration::days(90),
    )
}

/// `GET /stations/{code}/activities` — the station's public calendar.
async fn station_calendar(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
) -> PageResult {
    let station = directory::station_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let (from, to) = calendar_range();
    let rows = activities::public_calendar(&state.db, Some(station.id), None, from, to).await?;
    render(&CalendarPage {
        layout: Layout::public(&ctx, format!("{}活动预告", station.name)),
        heading: format!("{}活动预告", station.name),
        back: (format!("/stations/{}", station.code), station.name.clone()),
        days: calendar_days(rows),
        from: from.to_string(),
        to: to.to_string(),
    })
}

/// `GET /regions/{code}/activities` — the calendar of every station in a county (or township).
async fn region_calendar(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
) -> PageResult {
    let region = directory::region_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let (from, to) = calendar_range();
    let rows = activities::public_calendar(&state.db, None, Some(&region.path), from, to).await?;
    render(&CalendarPage {
        layout: Layout::public(&ctx, format!("{}联络站活动预告", region.name)),
        heading: format!("{}联络站活动预告", region.name),
        back: (format!("/regions/{}", region.code), region.name.clone()),
        days: calendar_days(rows),
        from: from.to_string(),
        to: to.to_string(),
    })
}

/// The public sign-up form as typed.
#[derive(Debug, Clone, Default)]
struct SignupForm {
    name: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "activities/public_detail.html")]
struct PublicPage {
    layout: Layout,
    a: activities::Activity,
    kind: &'static str,
    state: &'static str,
    starts: String,
    ends: String,
    deputies: Vec<(String, String)>,
    guests: Vec<String>,
    photos: Vec<(i64, String)>,
    signup_open: Option<String>,
    places_left: Option<i64>,
    waitlisted: i64,
    form: SignupForm,
    errors: Vec<FieldError>,
    outcome: Option<(bool, String)>,
}

impl PublicPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn public_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    form: SignupForm,
    errors: Vec<FieldError>,
    outcome: Option<(bool, String)>,
) -> PageResult<PublicPage> {
    let a = crate::api::activities::public_activity(state, id)
        .await
        .map_err(page_error)?;
    let (confirmed, waitlisted) = activities::signup_counts(&state.db, id).await?;
    let now = liaison_db::db::now();
    let signup_open = activity::signup_allowed(a.state(), a.signup_open, a.starts_at, now).err();
    let deputies = activities::invitees(&state.db, id)
        .await?
        .into_iter()
        .filter(|i| i.reply != "declined")
        .map(|i| (i.code, i.name))
        .collect();
    let guests = activities::guests(&state.db, id)
        .await?
        .into_iter()
        .map(|g| {
            if g.post.is_empty() {
                g.name
            } else {
                format!("{}（{}）", g.name, g.post)
            }
        })
        .collect();
    let photos = if a.state().has_happened() {
        activities::photos(&state.db, id).await?
    } else {
        Vec::new()
    };
    Ok(PublicPage {
        layout: Layout::public(ctx, a.title.clone()),
        kind: a.kind().label(),
        state: a.state().label(),
        starts: when(&a.starts_at),
        ends: hhmm(&a.ends_at),
        places_left: a.capacity.map(|c| (c - confirmed).max(0)),
        waitlisted,
        deputies,
        guests,
        photos,
        signup_open,
        form,
        errors,
        outcome,
        a,
    })
}

/// `GET /activities/{id}` — the public page with the sign-up form (phone first, no account).
async fn public_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> PageResult {
    render(&public_view(&state, &ctx, id, SignupForm::default(), Vec::new(), None).await?)
}

/// `POST /activities/{id}` — a citizen signs up.
async fn public_signup(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let form = SignupForm {
        name: pair(&pairs, "name").to_owned(),
        phone: pair(&pairs, "phone").to_owned(),
    };
    crate::api::activities::public_activity(&state, id)
        .await
        .map_err(page_error)?;
    match public_sign_up(&state, &ctx, id, &form.name, &form.phone).await {
        Ok(o) => {
            let ok = o.status == SignupStatus::Confirmed;
            let msg = signup_message(&o);
            render(
                &public_view(
                    &state,
                    &ctx,
                    id,
                    SignupForm::default(),
                    Vec::new(),
                    Some((ok, msg)),
                )
                .await?,
            )
        }
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => Err(PageError::TooMany),
        Err(e) => {
            let errs = if e.fields.is_empty() {
                vec![FieldError::new("form", e.message)]
            } else {
                e.fields
            };
            let mut resp = render(&public_view(&state, &ctx, id, form, errs, None).await?)?;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

#[derive(Template)]
#[template(path = "activities/my_signup.html")]
struct MySignupPage {
    layout: Layout,
    a: activities::Activity,
    signup_no: String,
    last4: String,
    found: Option<(String, String)>,
    message: Option<(bool, String)>,
    searched: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct MySignupQuery {
    signup_no: String,
    phone_last4: String,
}

/// `GET /activities/{id}/my-signup` — look a sign-up up by number and last four digits.
async fn my_signup(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<MySignupQuery>,
) -> PageResult {
    let a = crate::api::activities::public_activity(&state, id)
        .await
        .map_err(page_error)?;
    let searched = !q.signup_no.trim().is_empty();
    if searched && state.limits.public_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    let guess_key = format!("signup:{}", q.signup_no);
    if searched && state.limits.guesses.locked(&guess_key) {
        return render(&MySignupPage {
            layout: Layout::public(&ctx, "查询我的报名"),
            a,
            signup_no: q.signup_no,
            last4: q.phone_last4,
            found: None,
            message: Some((false, crate::auth::GUESSES_LOCKED.to_owned())),
            searched: false,
        });
    }
    let found = if searched {
        let status =
            activities::signup_status(&state.db, &state.keys, id, &q.signup_no, &q.phone_last4)
                .await?;
        state.limits.guesses.record(&guess_key, status.is_some());
        status.map(|o| {
            let text = match o.status {
                SignupStatus::Waitlisted => {
                    format!("候补第{}位", o.position.unwrap_or(0))
                }
                other => other.label().to_owned(),
            };
            (o.signup_no, text)
        })
    } else {
        None
    };
    render(&MySignupPage {
        layout: Layout::public(&ctx, "查询我的报名"),
        a,
        signup_no: q.signup_no,
        last4: q.phone_last4,
        found,
        message: None,
        searched,
    })
}

/// `POST /activities/{id}/my-signup` — the citizen cancels (places go to the waiting list).
async fn cancel_my_signup(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let a = crate::api::activities::public_activity(&state, id)
        .await
        .map_err(page_error)?;
    if state.limits.public_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    let no = pair(&pairs, "signup_no").to_owned();
    let last4 = pair(&pairs, "phone_last4").to_owned();
    let guess_key = format!("signup:{no}");
    let result = if state.limits.guesses.locked(&guess_key) {
        Err(activities::ActError::Invalid(
            "signup_no",
            crate::auth::GUESSES_LOCKED.to_owned(),
        ))
    } else {
        let r =
            activities::cancel_signup(&state.db, &state.keys, &ctx.actor(), id, &no, &last4).await;
        let wrong = matches!(&r, Err(activities::ActError::Invalid("signup_no", _)));
        state.limits.guesses.record(&guess_key, !wrong);
        r
    };
    let message = match result {
        Ok(_) => (
            true,
            "已取消报名，感谢您告知，名额将留给其他群众。".to_owned(),
        ),
        Err(e) => (false, e.to_string()),
    };
    render(&MySignupPage {
        layout: Layout::public(&ctx, "查询我的报名"),
        a,
        signup_no: no,
        last4,
        found: None,
        message: Some(message),
        searched: false,
    })
}

/// `GET /deputies/{code}/activities.ics` — a deputy's public activities as an iCalendar feed
/// (RFC 5545) for phone calendars: announced and later, from 90 days back.
async fn deputy_feed(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let code = code.strip_suffix(".ics").unwrap_or(&code).to_owned();
    let deputy = directory::deputy_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = liaison_db::db::now();
    let from = activity::china_date(now) - time::Duration::days(90);
    let host = state
        .config
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or("liaison")
        .to_owned();
    let events: Vec<activity::IcsEvent> = activities::for_deputy(&state.db, deputy.id, from, true)
        .await?
        .into_iter()
        .filter(|a| a.reply.as_deref() != Some("declined"))
        .map(|a| activity::IcsEvent {
            uid: format!("activity-{}@{host}", a.id),
            stamp: now,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            summary: format!("{}：{}", kind_label(&a.kind), a.title),
            location: format!("{} {}", a.station_name, a.place),
            description: a.description,
            url: format!("{}/activities/{}", state.config.public_url, a.id),
            cancelled: a.state == "cancelled",
        })
        .collect();
    let body = activity::ics_calendar(&format!("{}代表的履职活动", deputy.name), &events);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=600"),
        ],
        body,
    )
        .into_response())
}
