//! 督政议事 pages. In the workbench: deliberation topics and supervision items with
//! participants, views, the outcome and agreed measures tracked to done; 云问政 windows with
//! moderation (hide, restore) and the handling unit's public answers; the sensitive-word list.
//! For the public: the open question windows, their answered questions, and the form to ask
//! (no account, rate limited, CSRF). Public text is escaped by the templates.

use crate::AppState;
use crate::api::activities::{ORGANISER_ROLES, act_error, check_follow_up};
use crate::api::deliberations::{
    DeliberationBody, DeliberationDetail, check_deliberation, check_participant, detail_for,
    load_visible,
};
use crate::auth::{CsrfForm, RequestCtx, Staff};
use crate::error::{ApiError, PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use liaison_core::activity::{self, DeliberationAction, DeliberationKind, ParticipantKind};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError, Phone};
use liaison_db::activities::{self as acts, Source};
use liaison_db::deliberations::{self, NewWindow, QuestionWindow};
use liaison_db::directory::{self, StationFilter, UnitFilter};
use serde::Deserialize;

/// Deliberation and 云问政 routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/deliberations", get(list_page))
        .route("/work/deliberations/new", get(new_form).post(create))
        .route("/work/deliberations/{id}", get(show))
        .route("/work/deliberations/{id}/act", post(act))
        .route("/work/questions", get(windows_page).post(create_window))
        .route("/work/questions/{id}", get(window_page))
        .route("/work/questions/{id}/items/{qid}/moderate", post(moderate))
        .route("/work/questions/{id}/items/{qid}/answer", post(answer))
        .route("/work/sensitive-words", get(words_page).post(change_word))
        .route("/ask", get(public_windows))
        .route("/ask/{id}", get(public_window).post(ask))
}

/// Roles that see 督政议事 in the workbench (deputies and units see the items they take part in).
const VIEW_ROLES: &[Role] = &[
    Role::StationStaff,
    Role::TownshipStaff,
    Role::CountyStaff,
    Role::CityStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
];

/// Roles that edit the sensitive-word list.
const WORD_ROLES: &[Role] = &[Role::SystemAdmin, Role::CityStaff, Role::CountyStaff];

fn page_error(e: ApiError) -> PageError {
    match e.status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden(e.message),
        s if s.is_server_error() => PageError::Internal(e.message),
        _ => PageError::BadRequest(e.message),
    }
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

fn today() -> time::Date {
    activity::china_date(liaison_db::db::now())
}

// ---------------------------------------------------------------------------------------------
// Deliberations

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    tab: String,
    after: String,
}

/// A list row.
struct Row {
    id: i64,
    title: String,
    kind: &'static str,
    state: &'static str,
    station: String,
    held_on: String,
}

#[derive(Template)]
#[template(path = "deliberations/list.html")]
struct ListPage {
    layout: Layout,
    tab: String,
    rows: Vec<Row>,
    total: i64,
    next: Option<String>,
    can_create: bool,
}

/// `GET /work/deliberations` — topics (议题) or supervision items (监督事项) in scope.
async fn list_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(VIEW_ROLES)?;
    let p = &staff.auth.principal;
    let f = deliberations::DeliberationFilter {
        supervision: match q.tab.as_str() {
            "supervision" => Some(true),
            "topics" => Some(false),
            _ => None,
        },
        before_id: q.after.parse().ok(),
        limit: 50,
        ..Default::default()
    };
    let page = deliberations::list(&state.db, &deliberations::list_scope(p), &f).await?;
    render(&ListPage {
        layout: Layout::staff(&staff, "督政议事", "deliberations"),
        rows: page
            .items
            .into_iter()
            .map(|d| Row {
                kind: d.kind().label(),
                state: d.state().label(),
                id: d.id,
                title: d.title,
                station: d.station_name,
                held_on: d.held_on.map(|x| x.to_string()).unwrap_or_default(),
            })
            .collect(),
        total: page.total,
        next: page.next,
        tab: q.tab,
        can_create: ORGANISER_ROLES.contains(&p.role),
    })
}

#[derive(Template)]
#[template(path = "deliberations/form.html")]
struct FormPage {
    layout: Layout,
    form: DeliberationBody,
    held_on: String,
    activity: String,
    errors: Vec<FieldError>,
    stations: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn stations_of(state: &AppState, p: &Principal) -> PageResult<Vec<(String, String)>> {
    Ok(directory::list_stations(
        &state.db,
        Some(&p.scope()),
        &StationFilter {
            limit: 500,
            ..Default::default()
        },
    )
    .await?
    .items
    .into_iter()
    .map(|s| (s.code, s.name))
    .collect())
}

async fn form_page(
    state: &AppState,
    staff: &Staff,
    form: DeliberationBody,
    errors: Vec<FieldError>,
) -> PageResult {
    render(&FormPage {
        layout: Layout::staff(staff, "新建议题", "deliberations"),
        held_on: form.held_on.clone().unwrap_or_default(),
        activity: form.activity_id.map(|a| a.to_string()).unwrap_or_default(),
        form,
        errors,
        stations: stations_of(state, &staff.auth.principal).await?,
        kinds: DeliberationKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
    })
}

#[derive(Debug, Deserialize, Default)]
struct NewQuery {
    activity: Option<i64>,
    kind: Option<String>,
}

/// `GET /work/deliberations/new` (`?activity=<id>` for a topic discussed at an activity).
async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let mut form = DeliberationBody {
        kind: q.kind.unwrap_or_else(|| "consultation".into()),
        station_code: if staff.auth.role() == Role::StationStaff {
            staff.auth.user.scope_code.clone().unwrap_or_default()
        } else {
            String::new()
        },
        activity_id: q.activity,
        ..Default::default()
    };
    // Only an activity the user sees fills the form (its station and date are not public
    // while it is planned).
    if let Some(aid) = q.activity
        && acts::visible(&state.db, &acts::list_scope(&staff.auth.principal), aid).await?
        && let Ok(a) = acts::get(&state.db, aid).await
    {
        form.station_code = a.station_code;
        form.held_on = Some(a.held_on.to_string());
    }
    form_page(&state, &staff, form, Vec::new()).await
}

/// `POST /work/deliberations/new`.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let form = DeliberationBody {
        station_code: pair(&pairs, "station_code").to_owned(),
        kind: pair(&pairs, "kind").to_owned(),
        title: pair(&pairs, "title").to_owned(),
        background: pair(&pairs, "background").to_owned(),
        held_on: Some(pair(&pairs, "held_on").to_owned()).filter(|s| !s.is_empty()),
        activity_id: pair(&pairs, "activity").parse().ok(),
    };
    match check_deliberation(&state, &staff.auth.principal, &form).await? {
        Ok(new) => {
            let id =
                deliberations::create(&state.db, &state.keys, &staff.ctx.actor(), &new).await?;
            Ok(Redirect::to(&format!("/work/deliberations/{id}?done=created")).into_response())
        }
        Err(errs) => form_page(&state, &staff, form, errs).await,
    }
}

#[derive(Template)]
#[template(path = "deliberations/detail.html")]
struct DetailPage {
    layout: Layout,
    d: DeliberationDetail,
    staff_of: bool,
    failure: Option<(String, String)>,
    typed: Vec<(String, String)>,
    units: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

impl DetailPage {
    fn failed(&self, form: &str) -> Option<&str> {
        self.failure
            .as_ref()
            .filter(|(f, _)| f == form)
            .map(|(_, m)| m.as_str())
    }
    fn typed(&self, form: &str, key: &str) -> &str {
        if self.failure.as_ref().is_some_and(|(f, _)| f == form) {
            pair(&self.typed, key)
        } else {
            ""
        }
    }
}

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    failure: Option<(String, String)>,
    typed: Vec<(String, String)>,
    notice: Option<String>,
) -> PageResult {
    staff.require(VIEW_ROLES)?;
    let p = &staff.auth.principal;
    let (_, staff_of) = load_visible(state, p, id).await.map_err(page_error)?;
    let d = detail_for(state, p, id).await.map_err(page_error)?;
    let units = if staff_of {
        directory::list_units(
            &state.db,
            &p.scope(),
            &UnitFilter {
                limit: 300,
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect()
    } else {
        Vec::new()
    };
    render(&DetailPage {
        layout: Layout::staff(staff, d.title.clone(), "deliberations").with_notice(notice),
        d,
        staff_of,
        failure,
        typed,
        units,
        kinds: ParticipantKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
    })
}

#[derive(Debug, Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// `GET /work/deliberations/{id}`.
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let notice = q.done.map(|d| match d.as_str() {
        "created" => {
            "议题已建立。请登记参加人和发言意见，形成议定结果后登记议定措施并跟踪落实。".to_owned()
        }
        "conclude" => "已形成议定结果。请登记议定措施，全部落实后办结。".to_owned(),
        "close" => "已办结。".to_owned(),
        "reopen" => "已重新议事。".to_owned(),
        _ => "已保存。".to_owned(),
    });
    detail_page(&state, &staff, id, None, Vec::new(), notice).await
}

/// `POST /work/deliberations/{id}/act` — participants, views, outcome, measures, closing.
async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let p = &staff.auth.principal;
    let (d, staff_of) = load_visible(&state, p, id).await.map_err(page_error)?;
    let action = pair(&pairs, "action").to_owned();
    let actor = staff.ctx.actor();
    let result: Result<(), ApiError> = async {
        if !staff_of {
            return Err(act_error(acts::ActError::Forbidden));
        }
        match action.as_str() {
            "add_participant" => {
                let np = check_participant(
                    &state,
                    pair(&pairs, "kind"),
                    pair(&pairs, "deputy_code"),
                    pair(&pairs, "unit_id").parse().ok(),
                    pair(&pairs, "name"),
                    pair(&pairs, "post"),
                )
                .await?
                .map_err(ApiError::validation)?;
                deliberations::add_participant(&state.db, &state.keys, &actor, id, &np)
                    .await
                    .map_err(act_error)?;
            }
            "add_view" => {
                let content =
                    validate::required_text("content", "发言意见", pair(&pairs, "content"), 5000)
                        .map_err(|e| ApiError::validation(vec![e]))?;
                deliberations::add_view(
                    &state.db,
                    &state.keys,
                    &actor,
                    id,
                    pair(&pairs, "participant_id").parse().ok(),
                    &content,
                )
                .await
                .map_err(act_error)?;
            }
            "add_measure" => {
                if d.state() == liaison_core::activity::DeliberationState::Closed {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "wrong_state",
                        "该事项已办结，不能再增加议定措施",
                    ));
                }
                let new = check_follow_up(
                    pair(&pairs, "content"),
                    pair(&pairs, "owner"),
                    pair(&pairs, "owner_unit_id").parse().ok(),
                    pair(&pairs, "due_on"),
                )
                .map_err(ApiError::validation)?;
                acts::add_follow_up(
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
            "complete_measure" => {
                let item: i64 = pair(&pairs, "item_id").parse().map_err(|_| {
                    ApiError::validation(vec![FieldError::new("item_id", "请指定议定措施")])
                })?;
                let f = acts::follow_up(&state.db, item).await?;
                if f.source_kind != "deliberation" || f.source_id != id {
                    return Err(ApiError::not_found());
                }
                acts::complete_follow_up(
                    &state.db,
                    &state.keys,
                    &actor,
                    item,
                    pair(&pairs, "done_note"),
                )
                .await
                .map_err(act_error)?;
            }
            other => {
                let Some(a) = DeliberationAction::parse(other) else {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "action",
                        "未知操作",
                    )]));
                };
                let outcome = Some(pair(&pairs, "outcome")).filter(|o| !o.trim().is_empty());
                deliberations::act(&state.db, &state.keys, &actor, p, id, a, outcome)
                    .await
                    .map_err(act_error)?;
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/work/deliberations/{id}?done={action}")).into_response())
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(PageError::NotFound),
        Err(e) => {
            let form = if action == "complete_measure" {
                format!("complete_measure-{}", pair(&pairs, "item_id"))
            } else {
                action.clone()
            };
            let status = e.status;
            let mut resp =
                detail_page(&state, &staff, id, Some((form, e.message)), pairs, None).await?;
            *resp.status_mut() = status;
            Ok(resp)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 云问政 (workbench)

#[derive(Template)]
#[template(path = "deliberations/windows.html")]
struct WindowsPage {
    layout: Layout,
    windows: Vec<QuestionWindow>,
    can_create: bool,
    stations: Vec<(String, String)>,
    units: Vec<(String, String)>,
    errors: Vec<FieldError>,
    typed: Vec<(String, String)>,
    can_edit_words: bool,
}

impl WindowsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    fn typed(&self, key: &str) -> &str {
        pair(&self.typed, key)
    }
}

async fn windows_view(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
    typed: Vec<(String, String)>,
) -> PageResult {
    staff.require(VIEW_ROLES)?;
    let p = &staff.auth.principal;
    let can_create = ORGANISER_ROLES.contains(&p.role);
    let windows = deliberations::windows(&state.db, &p.scope()).await?;
    let (stations, units) = if can_create {
        (
            stations_of(state, p).await?,
            directory::list_units(
                &state.db,
                &p.scope(),
                &UnitFilter {
                    limit: 300,
                    ..Default::default()
                },
            )
            .await?
            .items
            .into_iter()
            .map(|u| (u.id.to_string(), u.name))
            .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut resp = render(&WindowsPage {
        layout: Layout::staff(staff, "云问政", "deliberations"),
        windows,
        can_create,
        stations,
        units,
        errors: errors.clone(),
        typed,
        can_edit_words: WORD_ROLES.contains(&p.role),
    })?;
    if !errors.is_empty() {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// `GET /work/questions` — question windows in scope (staff), or those the unit answers.
async fn windows_page(State(state): State<AppState>, staff: Staff) -> PageResult {
    windows_view(&state, &staff, Vec::new(), Vec::new()).await
}

/// `POST /work/questions` — opens a window with its handling unit and dates.
async fn create_window(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ORGANISER_ROLES)?;
    let p = &staff.auth.principal;
    let mut errs = Vec::new();
    let title = validate::required_text("title", "主题", pair(&pairs, "title"), 100)
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let description =
        validate::optional_text("description", "说明", pair(&pairs, "description"), 2000)
            .unwrap_or_else(|e| {
                errs.push(e);
                String::new()
            });
    let date = |field: &str, errs: &mut Vec<FieldError>| {
        crate::api::opinions::parse_date(field, pair(&pairs, field))
            .map_err(|e| errs.push(e))
            .ok()
    };
    let opens_on = date("opens_on", &mut errs);
    let closes_on = date("closes_on", &mut errs);
    if let (Some(o), Some(c)) = (opens_on, closes_on)
        && c < o
    {
        errs.push(FieldError::new("closes_on", "结束日期不能早于开始日期"));
    }
    let station = match directory::station_by_code(&state.db, pair(&pairs, "station_code")).await? {
        Some(s) if crate::api::activities::organises(&state, p, &s).await? => Some(s),
        _ => {
            errs.push(FieldError::new(
                "station_code",
                "请选择您工作范围内的联络站",
            ));
            None
        }
    };
    let unit_id: Option<i64> = pair(&pairs, "unit_id").parse().ok();
    let unit_ok = match unit_id {
        Some(u) => acts::unit_name(&state.db, u).await?.is_some(),
        None => false,
    };
    if !unit_ok {
        errs.push(FieldError::new("unit_id", "请选择答复单位"));
    }
    match (errs.is_empty(), station, unit_id, opens_on, closes_on) {
        (true, Some(station), Some(unit_id), Some(opens_on), Some(closes_on)) => {
            let id = deliberations::create_window(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                &NewWindow {
                    station_id: station.id,
                    unit_id,
                    title,
                    description,
                    opens_on,
                    closes_on,
                },
            )
            .await?;
            Ok(Redirect::to(&format!("/work/questions/{id}")).into_response())
        }
        _ => windows_view(&state, &staff, errs, pairs).await,
    }
}

#[derive(Template)]
#[template(path = "deliberations/window.html")]
struct WindowPage {
    layout: Layout,
    w: QuestionWindow,
    questions: Vec<deliberations::Question>,
    moderator: bool,
    answerer: bool,
    open: bool,
    failure: Option<(i64, String)>,
}

impl WindowPage {
    fn failed(&self, qid: &i64) -> Option<&str> {
        self.failure
            .as_ref()
            .filter(|(q, _)| q == qid)
            .map(|(_, m)| m.as_str())
    }
}

/// The window if `p` may work on it: (window, moderates as staff, answers as the unit).
async fn window_for(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> PageResult<(QuestionWindow, bool, bool)> {
    let w = deliberations::window(&state.db, id).await?;
    let parent = acts::station_parent(&state.db, w.station_id).await?;
    let moderator = deliberations::is_staff_for(p, w.station_id, &w.region_path, parent);
    let answerer =
        matches!(p.role, Role::UnitOfficer | Role::UnitLead) && p.unit_id == Some(w.unit_id);
    if !moderator && !answerer {
        return Err(PageError::NotFound);
    }
    Ok((w, moderator, answerer))
}

async fn window_view(
    state: &AppState,
    staff: &Staff,
    id: i64,
    failure: Option<(i64, String)>,
) -> PageResult {
    let (w, moderator, answerer) = window_for(state, &staff.auth.principal, id).await?;
    let questions = deliberations::questions(&state.db, id, true).await?;
    let open = activity::window_open(w.opens_on, w.closes_on, today());
    let failed = failure.is_some();
    let mut resp = render(&WindowPage {
        layout: Layout::staff(staff, w.title.clone(), "deliberations"),
        w,
        questions,
        moderator,
        answerer,
        open,
        failure,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// `GET /work/questions/{id}` — all questions, hidden ones included, with moderation and answers.
async fn window_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> PageResult {
    window_view(&state, &staff, id, None).await
}

/// `POST /work/questions/{id}/items/{qid}/moderate` — hide (with a reason) or restore.
async fn moderate(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, qid)): Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let (_, moderator, _) = window_for(&state, &staff.auth.principal, id).await?;
    if !moderator {
        return Err(PageError::Forbidden(
            "只有联络站工作人员可以屏蔽或恢复提问".into(),
        ));
    }
    let q = deliberations::question(&state.db, qid).await?;
    if q.window_id != id {
        return Err(PageError::NotFound);
    }
    let hide = pair(&pairs, "hide") == "1";
    match deliberations::moderate(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        qid,
        hide,
        pair(&pairs, "reason"),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/work/questions/{id}#q-{qid}")).into_response()),
        Err(e) => window_view(&state, &staff, id, Some((qid, act_error(e).message))).await,
    }
}

/// `POST /work/questions/{id}/items/{qid}/answer` — the unit's public answer.
async fn answer(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, qid)): Path<(i64, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    window_for(&state, &staff.auth.principal, id).await?;
    let q = deliberations::question(&state.db, qid).await?;
    if q.window_id != id {
        return Err(PageError::NotFound);
    }
    let text = match validate::required_text("answer", "答复", pair(&pairs, "answer"), 3000) {
        Ok(t) => t,
        Err(e) => return window_view(&state, &staff, id, Some((qid, e.message))).await,
    };
    match deliberations::answer(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &staff.auth.principal,
        qid,
        &text,
        today(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/work/questions/{id}#q-{qid}")).into_response()),
        Err(e) => window_view(&state, &staff, id, Some((qid, act_error(e).message))).await,
    }
}

#[derive(Template)]
#[template(path = "deliberations/words.html")]
struct WordsPage {
    layout: Layout,
    words: Vec<String>,
    error: Option<String>,
    typed: String,
}

async fn words_view(
    state: &AppState,
    staff: &Staff,
    error: Option<String>,
    typed: String,
) -> PageResult {
    staff.require(WORD_ROLES)?;
    let failed = error.is_some();
    let mut resp = render(&WordsPage {
        layout: Layout::staff(staff, "敏感词库", "deliberations"),
        words: deliberations::sensitive_words(&state.db).await?,
        error,
        typed,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// `GET /work/sensitive-words` — the list 云问政 questions are checked against.
async fn words_page(State(state): State<AppState>, staff: Staff) -> PageResult {
    words_view(&state, &staff, None, String::new()).await
}

/// `POST /work/sensitive-words` — add or remove a word (audited).
async fn change_word(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(WORD_ROLES)?;
    let word = pair(&pairs, "word").trim().to_owned();
    let add = pair(&pairs, "op") != "remove";
    if word.is_empty() || word.chars().count() > 20 || word.chars().any(char::is_control) {
        return words_view(&state, &staff, Some("敏感词须为1至20个字".into()), word).await;
    }
    deliberations::set_sensitive_word(&state.db, &state.keys, &staff.ctx.actor(), &word, add)
        .await?;
    Ok(Redirect::to("/work/sensitive-words").into_response())
}

// ---------------------------------------------------------------------------------------------
// 云问政 (public)

#[derive(Template)]
#[template(path = "deliberations/public_windows.html")]
struct PublicWindowsPage {
    layout: Layout,
    windows: Vec<(QuestionWindow, bool)>,
}

/// `GET /ask` — question windows open now or recently closed.
async fn public_windows(State(state): State<AppState>, ctx: RequestCtx) -> PageResult {
    let t = today();
    let windows = deliberations::public_windows(&state.db, t)
        .await?
        .into_iter()
        .map(|w| {
            let open = activity::window_open(w.opens_on, w.closes_on, t);
            (w, open)
        })
        .collect();
    render(&PublicWindowsPage {
        layout: Layout::public(&ctx, "云问政"),
        windows,
    })
}

#[derive(Template)]
#[template(path = "deliberations/public_window.html")]
struct PublicWindowPage {
    layout: Layout,
    w: QuestionWindow,
    questions: Vec<deliberations::Question>,
    open: bool,
    errors: Vec<FieldError>,
    typed: (String, String, String),
    posted: Option<bool>,
}

impl PublicWindowPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn public_window_view(
    state: &AppState,
    ctx: &RequestCtx,
    id: i64,
    errors: Vec<FieldError>,
    typed: (String, String, String),
    posted: Option<bool>,
) -> PageResult {
    let w = deliberations::window(&state.db, id).await?;
    let t = today();
    if w.opens_on > t {
        return Err(PageError::NotFound);
    }
    let failed = !errors.is_empty();
    let mut resp = render(&PublicWindowPage {
        layout: Layout::public(ctx, w.title.clone()),
        questions: crate::api::questions::published_questions(state, id)
            .await
            .map_err(page_error)?,
        open: activity::window_open(w.opens_on, w.closes_on, t),
        w,
        errors,
        typed,
        posted,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

/// `GET /ask/{id}` — a window's public questions and answers, and the form to ask.
async fn public_window(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
) -> PageResult {
    public_window_view(&state, &ctx, id, Vec::new(), Default::default(), None).await
}

/// `POST /ask/{id}` — a citizen asks (no account; rate limited per address and phone).
async fn ask(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    let typed = (
        pair(&pairs, "body").to_owned(),
        pair(&pairs, "name").to_owned(),
        pair(&pairs, "phone").to_owned(),
    );
    let mut errs = Vec::new();
    let body = validate::required_text("body", "提问内容", &typed.0, 1000).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let name = validate::required_text("name", "姓名", &typed.1, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = Phone::parse("phone", &typed.2)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    if !errs.is_empty() {
        return public_window_view(&state, &ctx, id, errs, typed, None).await;
    }
    let key = format!("phone:{}", state.keys.blind_index(&phone));
    if state.limits.phone_blocked(&key) {
        return Err(PageError::TooMany);
    }
    match deliberations::post_question(
        &state.db,
        &state.keys,
        &ctx.actor(),
        id,
        &body,
        &name,
        &phone,
        today(),
    )
    .await
    {
        Ok(posted) => {
            public_window_view(
                &state,
                &ctx,
                id,
                Vec::new(),
                Default::default(),
                Some(posted.held),
            )
            .await
        }
        Err(e) => {
            let errs = vec![FieldError::new("form", act_error(e).message)];
            public_window_view(&state, &ctx, id, errs, typed, None).await
        }
    }
}
