//! 民意收集处理 in the staff workbench: the inbox with the tabs of each role, the item page with
//! one form per action the user may take now, proxy entry (代录), the ledger (台账) as Excel and
//! the photos of an item.
//!
//! The workflow engine (`liaison_core::workflow`) decides and `liaison_db::opinions::act` stores;
//! this module turns forms into the engine's input and its refusals into Chinese messages next
//! to the form, keeping what the user typed. Every handler checks the role, and every item page
//! checks `opinions::visible_to`, on the server: an item the user has no relation to is a 404.

use crate::AppState;
use crate::api::opinions::{
    ListParams, OpinionDetail, StaffEvent, act_error, detail_for, filter_from, parse_date,
};
use crate::auth::{CsrfForm, CsrfUpload, Staff};
use crate::error::{ApiError, PageError, PageResult};
use crate::intake::{self, IntakeError, IntakeInput};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::sla::{SlaItem, SlaLight};
use liaison_core::validate::{self, FieldError};
use liaison_core::workdays::Calendar;
use liaison_core::workflow::{
    Actor as WfActor, DueKind, OpinionAction, OpinionState, ResolutionGrade, Satisfaction,
};
use liaison_db::audit::{self, Entry};
use liaison_db::directory::{self, StationFilter, UnitFilter, UnitItem};
use liaison_db::opinions::{
    self, ActError, Acting, ActionInput, Opinion, OpinionFilter, OpinionSummary, UnitAssignment,
};
use serde::Deserialize;

/// Opinion workbench routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/opinions", get(inbox))
        .route("/work/opinions/bulk-accept", post(bulk_accept))
        .route("/work/opinions/ledger.xlsx", get(ledger))
        .route("/work/opinions/new", get(new_entry).post(create_entry))
        .route("/work/opinions/photos/{photo_id}", get(photo))
        .route("/work/opinions/{id}", get(show))
        .route("/work/opinions/{id}/act", post(act))
        .route("/work/opinions/{id}/reveal", post(reveal))
        .route(
            "/work/opinions/{id}/follow-ups/{follow_up_id}/answer",
            post(answer_follow_up),
        )
}

/// Roles that handle opinions. Administrators (三员) and citizens have no business here.
const WORK_ROLES: &[Role] = &[
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
    Role::GridWorker,
];

/// Roles that enter opinions for citizens (代录).
const ENTRY_ROLES: &[Role] = &[
    Role::StationStaff,
    Role::TownshipStaff,
    Role::Deputy,
    Role::GridWorker,
];

/// Roles that accept items (and so may accept several at once).
const ACCEPT_ROLES: &[Role] = &[
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
    Role::Deputy,
];

/// Channels of proxy entry: how the citizen reached the person entering it.
const ENTRY_CHANNELS: &[&str] = &["walk_in", "reception", "phone", "paper", "grid", "deputy"];

/// Level-one categories of the classifier, plus 其他 for what fits none.
pub use liaison_core::sla::form::CATEGORIES;

/// Most rows in one ledger file.
const LEDGER_CAP: usize = 50_000;

/// Most items in one bulk acceptance.
const BULK_MAX: usize = 200;

/// Rows per inbox page.
const PAGE_SIZE: i64 = 50;

// ---------------------------------------------------------------------------------------------
// Tabs

const PENDING: &[&str] = &["submitted"];
const TO_ASSIGN: &[&str] = &["accepted", "return_requested"];
const HANDLING: &[&str] = &[
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "rehandling",
    "supervised",
];
const REVIEW: &[&str] = &["replied"];
// An answer on the spot goes to the citizen at once; one left in that state (recorded before
// that was so) waits here for the station to send it.
const FOLLOW_UP: &[&str] = &["feedback_sent", "evaluated", "answered_on_spot"];
const DONE: &[&str] = &[
    "closed",
    "closed_unrated",
    "declined",
    "merged",
    "converted_to_suggestion",
];
/// Open states whose clock is a handling deadline (the rating window is not one). States
/// without a clock are left out: their stored deadline may be left over from an earlier step.
const OPEN_CLOCKED: &[&str] = &[
    "submitted",
    "accepted",
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "return_requested",
    "replied",
    "evaluated",
    "rehandling",
    "supervised",
];
/// Every state before an end state.
const OPEN_ALL_STATES: &[&str] = &[
    "submitted",
    "accepted",
    "assigned",
    "return_requested",
    "acknowledged",
    "handling",
    "extension_requested",
    "replied",
    "reviewed",
    "feedback_sent",
    "evaluated",
    "rehandling",
    "supervised",
];
const UNIT_SIGN: &[&str] = &["assigned", "return_requested"];
const UNIT_HANDLING: &[&str] = &[
    "acknowledged",
    "handling",
    "extension_requested",
    "rehandling",
    "supervised",
];
const UNIT_CLOCKED: &[&str] = &[
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "rehandling",
    "supervised",
];
const UNIT_REPLIED: &[&str] = &[
    "replied",
    "reviewed",
    "feedback_sent",
    "evaluated",
    "closed",
    "closed_unrated",
];
const SUPERVISED: &[&str] = &["supervised"];
/// States in which a unit holds the item and a supervisor may escalate it when overdue.
const IN_UNIT_HANDS: &[&str] = &[
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "rehandling",
];

/// One tab of the inbox: a fixed filter on top of the user's own filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tab {
    key: &'static str,
    label: &'static str,
    states: &'static [&'static str],
    overdue: bool,
    due_soon: bool,
    /// Only items the user's unit holds now.
    unit_active: bool,
    /// Only items with a follow-up question of the citizen waiting for an answer.
    follow_ups: bool,
}

const fn tab(key: &'static str, label: &'static str, states: &'static [&'static str]) -> Tab {
    Tab {
        key,
        label,
        states,
        overdue: false,
        due_soon: false,
        unit_active: false,
        follow_ups: false,
    }
}

/// Items whose citizen asked a follow-up question (追问) nobody has answered yet, in any state:
/// a question asked before the item closed is still answered. A station-side tab: units hear of
/// a question through their notification feed (a unit's list could not tell the lead unit, who
/// answers, from co-units, who do not).
const QUESTIONS: Tab = Tab {
    follow_ups: true,
    ..tab(QUESTIONS_TAB, "追问待答", &[])
};
const QUESTIONS_TAB: &str = "questions";

const SUPERVISION_TAB: &str = "supervision";

impl Tab {
    /// Whether the tab lists work waiting for the user (shown as a to-do on the workbench).
    fn is_todo(&self) -> bool {
        matches!(
            self.key,
            "pending"
                | "to_assign"
                | "review"
                | "follow_up"
                | "overdue"
                | "sign"
                | "due_soon"
                | "mine"
                | SUPERVISION_TAB
                | QUESTIONS_TAB
        ) || (self.unit_active && self.key == "handling")
    }
}

/// A to-do count of the workbench: an inbox tab with work waiting.
pub struct TodoCount {
    /// Tab name, e.g. 待受理.
    pub label: &'static str,
    /// Items, e.g. `12` or `1000+`.
    pub count: String,
    /// Whether any item waits.
    pub any: bool,
    /// The inbox tab.
    pub href: String,
}

/// The user's to-do counts, from the same tabs and filters as the inbox.
pub async fn todo_counts(state: &AppState, p: &Principal) -> PageResult<Vec<TodoCount>> {
    if !WORK_ROLES.contains(&p.role) {
        return Ok(Vec::new());
    }
    let scope = opinions::list_scope(p);
    let base = OpinionFilter {
        limit: 1,
        ..Default::default()
    };
    let soon = due_soon_days(state).await;
    let mut out = Vec::new();
    for t in tabs_for(p.role).iter().filter(|t| t.is_todo()) {
        let (mut count, mut capped) = (0, false);
        for f in tab_filters(t, &base, p, soon) {
            let page = opinions::list(&state.db, &scope, &f).await?;
            count += page.total;
            capped |= page.total_capped;
        }
        out.push(TodoCount {
            label: t.label,
            count: count_label(count, capped),
            any: count > 0,
            href: format!("/work/opinions?tab={}", t.key),
        });
    }
    Ok(out)
}

/// The tabs of a role, default first.
fn tabs_for(role: Role) -> Vec<Tab> {
    let station = [
        tab("pending", "待受理", PENDING),
        tab("to_assign", "待分办", TO_ASSIGN),
        tab("handling", "办理中", HANDLING),
        tab("review", "待审核", REVIEW),
        tab("follow_up", "待回访", FOLLOW_UP),
        QUESTIONS,
        tab("done", "已办结", DONE),
        Tab {
            overdue: true,
            ..tab("overdue", "已超期", OPEN_CLOCKED)
        },
    ];
    match role {
        Role::UnitOfficer | Role::UnitLead => vec![
            Tab {
                unit_active: true,
                ..tab("sign", "待签收", UNIT_SIGN)
            },
            Tab {
                unit_active: true,
                ..tab("handling", "办理中", UNIT_HANDLING)
            },
            Tab {
                unit_active: true,
                due_soon: true,
                ..tab("due_soon", "即将超期", UNIT_CLOCKED)
            },
            Tab {
                unit_active: true,
                overdue: true,
                ..tab("overdue", "已超期", UNIT_CLOCKED)
            },
            tab("replied", "已答复", UNIT_REPLIED),
            tab("all", "全部", &[]),
        ],
        // A grid worker follows what they recorded for the people of their grid.
        Role::GridWorker => vec![
            tab("entered", "我代录的", &[]),
            tab("open", "办理中", OPEN_ALL_STATES),
            tab("done", "已办结", DONE),
        ],
        Role::Deputy => {
            let mut v = vec![tab("mine", "给我的", &[])];
            v.extend(station);
            v
        }
        Role::CountyStaff | Role::CityStaff => {
            let mut v = station.to_vec();
            v.push(tab(SUPERVISION_TAB, "督办中心", SUPERVISED));
            v.push(tab("all", "全部", &[]));
            v
        }
        _ => {
            let mut v = station.to_vec();
            v.push(tab("all", "全部", &[]));
            v
        }
    }
}

/// The filters of a tab on top of `base`. The supervision centre has two lists: items under
/// supervision, and overdue items still with a unit (candidates for supervision).
/// Calendar days from today to the end of the "即将超期" window: two, or up to the next working
/// day when that is further (on a Friday the window reaches Monday), so that the tab holds every
/// item whose light is yellow (one working day or less left).
async fn due_soon_days(state: &AppState) -> i64 {
    let today = opinions::today();
    let next = state.rules.read().await.calendar.next_working_day(today);
    (next - today).whole_days().max(2)
}

fn tab_filters(
    tab: &Tab,
    base: &OpinionFilter,
    p: &Principal,
    soon_days: i64,
) -> Vec<OpinionFilter> {
    let mut f = base.clone();
    f.states = tab.states.iter().map(|s| (*s).to_owned()).collect();
    if tab.overdue {
        f.overdue = true;
    }
    if tab.due_soon {
        f.due_within_days = Some(soon_days);
    }
    if tab.unit_active {
        f.unit_id = p.unit_id;
        f.unit_active_only = true;
    }
    if tab.follow_ups {
        f.open_follow_ups = true;
    }
    if tab.key == SUPERVISION_TAB {
        let mut late = base.clone();
        late.states = IN_UNIT_HANDS.iter().map(|s| (*s).to_owned()).collect();
        late.overdue = true;
        vec![f, late]
    } else {
        vec![f]
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

use crate::routes::suggestions::local_time;

/// An RFC 3339 time from the API structures, as [`local_time`].
fn local_rfc3339(s: &str) -> String {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(local_time)
        .unwrap_or_else(|_| s.to_owned())
}

/// A traffic light as words and a colour class: colour is never the only cue.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Light {
    class: &'static str,
    text: String,
}

fn light_view(l: SlaLight) -> Light {
    let (class, word) = match l {
        SlaLight::Green => ("light-green", "绿灯"),
        SlaLight::Yellow => ("light-yellow", "黄灯"),
        SlaLight::Red => ("light-red", "红灯"),
    };
    Light {
        class,
        text: format!("{word}·{}", l.label()),
    }
}

fn state_label(code: &str) -> &'static str {
    OpinionState::parse(code).map_or("未知状态", OpinionState::label)
}

/// The deadline an item shows: the one of its state's clock (`OpinionState::clock`). A deadline
/// left over from an earlier step (an accepted item still carries its acceptance deadline) is
/// not shown, so its light cannot mislead.
fn current_due(
    state: &str,
    due_kind: Option<&str>,
    due_on: Option<time::Date>,
) -> Option<(time::Date, DueKind)> {
    let kind = DueKind::parse(due_kind?)?;
    let clock = OpinionState::parse(state)?.clock()?;
    (clock == kind).then_some((due_on?, kind))
}

fn grade_text(code: &str) -> String {
    ResolutionGrade::parse(code).map_or_else(String::new, |g| format!("{} {}", g.code(), g.label()))
}

/// One row of an opinion list.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    tracking_no: String,
    title: String,
    station: String,
    category: String,
    /// The category is the classifier's suggestion, not yet confirmed by a person.
    suggested: bool,
    state: &'static str,
    unit: String,
    due: String,
    due_kind: &'static str,
    light: Option<Light>,
    received: String,
    urgent: bool,
}

fn row(o: &OpinionSummary, today: time::Date, cal: &Calendar) -> Row {
    let suggested = o.category.is_empty();
    let due = current_due(&o.state, o.due_kind.as_deref(), o.due_on);
    Row {
        id: o.id,
        tracking_no: o.tracking_no.clone(),
        title: o.title.clone(),
        station: o.station_name.clone(),
        category: if suggested {
            o.category_suggested.clone()
        } else {
            o.category.clone()
        },
        suggested: suggested && !o.category_suggested.is_empty(),
        state: state_label(&o.state),
        unit: o.lead_unit_name.clone().unwrap_or_default(),
        due: due.map(|(d, _)| d.to_string()).unwrap_or_default(),
        due_kind: due.map_or("", |(_, k)| k.label()),
        light: due.map(|(d, _)| light_view(liaison_core::sla::light(today, d, cal))),
        received: local_time(o.created_at),
        urgent: o.urgency == "urgent",
    }
}

/// An API error of the shared opinion functions as a page error.
pub(crate) fn page_error(e: ApiError) -> PageError {
    match e.status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden(e.message),
        s if s.is_server_error() => PageError::Internal(e.message),
        _ => PageError::BadRequest(e.message),
    }
}

/// An opinion the user may see, with what the permission checks need.
struct Loaded {
    o: Opinion,
    actors: Vec<WfActor>,
}

/// Loads an item and checks the user may see it: not visible and not existing look the same.
async fn load_visible(state: &AppState, p: &Principal, id: i64) -> PageResult<Loaded> {
    let o = opinions::get(&state.db, id).await?;
    let units: Vec<UnitAssignment> = opinions::units(&state.db, id).await?;
    let parent = directory::station(&state.db, o.station_id).await?.parent_id;
    if !opinions::visible_to(p, &o, &units, parent) {
        return Err(PageError::NotFound);
    }
    let actors = opinions::actors_for(p, &o, &units, parent);
    Ok(Loaded { o, actors })
}

fn is_unit_role(role: Role) -> bool {
    matches!(role, Role::UnitOfficer | Role::UnitLead)
}

/// Whether the user may see the submitter's full name and phone: someone working on the item,
/// except a handling unit when the submitter asked for confidentiality.
fn may_reveal(p: &Principal, l: &Loaded) -> bool {
    !opinions::identity_hidden_from(p, &l.o) && !l.actors.is_empty()
}

/// Stations in the user's scope, for selects (code, name).
pub(crate) async fn scoped_stations(
    state: &AppState,
    scope: &Scope,
) -> PageResult<Vec<(String, String)>> {
    let page = directory::list_stations(
        &state.db,
        Some(scope),
        &StationFilter {
            limit: 500,
            ..Default::default()
        },
    )
    .await?;
    Ok(page.items.into_iter().map(|s| (s.code, s.name)).collect())
}

/// Whether a station code lies in the user's scope.
async fn station_in_scope(state: &AppState, scope: &Scope, code: &str) -> PageResult<bool> {
    let page = directory::list_stations(
        &state.db,
        Some(scope),
        &StationFilter {
            q: Some(code.to_owned()),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    Ok(page.items.iter().any(|s| s.code == code))
}

// ---------------------------------------------------------------------------------------------
// Inbox

/// Filters of the inbox and the ledger (GET form).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct InboxQuery {
    tab: String,
    q: String,
    station: String,
    category: String,
    from: String,
    to: String,
    overdue: String,
    after: String,
}

impl InboxQuery {
    fn params(&self, limit: i64) -> ListParams {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ListParams {
            station: opt(&self.station),
            category: opt(&self.category),
            overdue: Some(!self.overdue.is_empty()),
            q: opt(&self.q),
            from: opt(&self.from),
            to: opt(&self.to),
            after: opt(&self.after),
            limit: Some(limit),
            ..Default::default()
        }
    }

    /// The query string of these filters for `tab` (no cursor).
    fn query_string(&self, tab: &str) -> String {
        crate::routes::query_string(&[
            ("tab", tab),
            ("q", self.q.as_str()),
            ("station", self.station.as_str()),
            ("category", self.category.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("overdue", self.overdue.as_str()),
        ])
    }

    fn pick_tab(&self, tabs: &[Tab]) -> Tab {
        tabs.iter()
            .find(|t| t.key == self.tab)
            .copied()
            .unwrap_or(tabs[0])
    }
}

/// A tab as shown.
struct TabView {
    label: &'static str,
    count: String,
    href: String,
    active: bool,
}

/// A count as shown: “1000+” when the count stopped at its cap.
fn count_label(total: i64, capped: bool) -> String {
    if capped {
        format!("{total}+")
    } else {
        total.to_string()
    }
}

/// The outcome of a bulk acceptance.
#[derive(Debug, Default)]
struct BulkResult {
    done: Vec<String>,
    failed: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "opinions_work/inbox.html")]
struct InboxPage {
    layout: Layout,
    tabs: Vec<TabView>,
    tab_key: &'static str,
    tab_label: &'static str,
    rows: Vec<Row>,
    total: String,
    next_href: Option<String>,
    ledger_href: String,
    filter: InboxQuery,
    stations: Vec<Choice>,
    categories: Vec<Choice>,
    filter_errors: Vec<FieldError>,
    bulk: bool,
    bulk_result: Option<BulkResult>,
    late_rows: Vec<Row>,
    late_total: String,
    late_more: bool,
    can_enter: bool,
}

impl InboxPage {
    fn filter_error(&self, field: &str) -> Option<&str> {
        self.filter_errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// `GET /work/opinions`.
async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    inbox_page(&state, &staff, q, None).await
}

async fn inbox_page(
    state: &AppState,
    staff: &Staff,
    q: InboxQuery,
    bulk_result: Option<BulkResult>,
) -> PageResult {
    let p = &staff.auth.principal;
    let scope = opinions::list_scope(p);
    let tabs = tabs_for(p.role);
    let current = q.pick_tab(&tabs);
    let (base, filter_errors) = match filter_from(state, &q.params(PAGE_SIZE)).await {
        Ok(f) => (Some(f), Vec::new()),
        Err(e) if e.status.is_server_error() => return Err(page_error(e)),
        Err(e) if e.fields.is_empty() => (None, vec![FieldError::new("", e.message)]),
        Err(e) => (None, e.fields),
    };
    let soon = due_soon_days(state).await;
    // Counts are of the filtered inbox; with a wrong filter they are of the whole inbox.
    let count_base = base.clone().unwrap_or(OpinionFilter {
        limit: 1,
        ..Default::default()
    });
    let mut views = Vec::new();
    for t in &tabs {
        let (mut count, mut capped) = (0, false);
        for mut f in tab_filters(t, &count_base, p, soon) {
            f.before_id = None;
            f.limit = 1;
            let page = opinions::list(&state.db, &scope, &f).await?;
            count += page.total;
            capped |= page.total_capped;
        }
        views.push(TabView {
            label: t.label,
            count: count_label(count, capped),
            href: format!("/work/opinions?{}", q.query_string(t.key)),
            active: t.key == current.key,
        });
    }
    let mut pages = Vec::new();
    if let Some(base) = &base {
        for (i, mut f) in tab_filters(&current, base, p, soon).into_iter().enumerate() {
            if i > 0 {
                // The second list of the supervision centre shows its newest items only.
                f.before_id = None;
            }
            pages.push(opinions::list(&state.db, &scope, &f).await?);
        }
    }
    let today = opinions::today();
    let (rows, total, next, late_rows, late_total) = {
        let rules = state.rules.read().await;
        let cal = &rules.calendar;
        let mut it = pages.into_iter();
        let (rows, total, next) = match it.next() {
            Some(pg) => (
                pg.items.iter().map(|o| row(o, today, cal)).collect(),
                count_label(pg.total, pg.total_capped),
                pg.next,
            ),
            None => (Vec::new(), "0".to_owned(), None),
        };
        let (late_rows, late_total) = match it.next() {
            Some(pg) => (
                pg.items
                    .iter()
                    .map(|o| row(o, today, cal))
                    .collect::<Vec<_>>(),
                (pg.total, pg.total_capped),
            ),
            None => (Vec::new(), (0, false)),
        };
        (rows, total, next, late_rows, late_total)
    };
    let stations = if is_unit_role(p.role) || p.role == Role::Deputy {
        Vec::new()
    } else {
        let list = scoped_stations(state, &staff.auth.scope()).await?;
        choices(
            list.iter().map(|(c, n)| (c.as_str(), n.as_str())),
            q.station.trim(),
        )
    };
    let categories = choices(CATEGORIES.iter().map(|c| (*c, *c)), q.category.trim());
    render(&InboxPage {
        layout: Layout::staff(staff, "民意收集处理", "opinions"),
        tab_key: current.key,
        tab_label: current.label,
        next_href: next.map(|n| {
            format!(
                "/work/opinions?{}&after={}",
                q.query_string(current.key),
                crate::auth::urlencode(&n)
            )
        }),
        ledger_href: format!("/work/opinions/ledger.xlsx?{}", q.query_string(current.key)),
        tabs: views,
        rows,
        total,
        filter: q,
        stations,
        categories,
        filter_errors,
        bulk: current.key == "pending" && ACCEPT_ROLES.contains(&p.role),
        bulk_result,
        late_more: late_total.1 || late_total.0 > late_rows.len() as i64,
        late_rows,
        late_total: count_label(late_total.0, late_total.1),
        can_enter: ENTRY_ROLES.contains(&p.role),
    })
}

/// `POST /work/opinions/bulk-accept` — accepts each selected item, reporting per item.
async fn bulk_accept(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(ACCEPT_ROLES)?;
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let mut result = BulkResult::default();
    if ids.is_empty() {
        result.failed.push((
            "未选择".into(),
            "请先勾选要受理的事项，再点“批量受理”".into(),
        ));
    }
    if ids.len() > BULK_MAX {
        result.failed.push((
            "数量过多".into(),
            format!(
                "一次最多批量受理{BULK_MAX}件，现在选了{}件，请分批操作",
                ids.len()
            ),
        ));
    } else {
        for id in ids {
            // Items the user cannot see are reported by their id only, revealing nothing.
            let label = match load_visible(&state, &staff.auth.principal, id).await {
                Ok(l) => l.o.tracking_no,
                Err(PageError::NotFound) => {
                    result
                        .failed
                        .push((format!("编号{id}"), "事项不存在或不在您的工作范围内".into()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let outcome = {
                let rules = state.rules.read().await;
                opinions::act(
                    &state.db,
                    &state.keys,
                    &state.opinion_rules(&rules),
                    Acting::User(&staff.auth.principal),
                    &staff.ctx.actor(),
                    id,
                    OpinionAction::Accept,
                    &ActionInput::default(),
                )
                .await
            };
            match outcome {
                Ok(_) => result.done.push(label),
                Err(e) => {
                    let api = act_error(e);
                    if api.status.is_server_error() {
                        return Err(page_error(api));
                    }
                    result.failed.push((label, api.message));
                }
            }
        }
    }
    let q = InboxQuery {
        tab: "pending".into(),
        ..Default::default()
    };
    inbox_page(&state, &staff, q, Some(result)).await
}

// ---------------------------------------------------------------------------------------------
// Ledger

/// `GET /work/opinions/ledger.xlsx` — the filtered list of the current tab as an Excel ledger.
async fn ledger(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<InboxQuery>,
) -> PageResult<Response> {
    staff.require(WORK_ROLES)?;
    let p = &staff.auth.principal;
    let scope = opinions::list_scope(p);
    let tabs = tabs_for(p.role);
    let current = q.pick_tab(&tabs);
    let mut params = q.params(PAGE_SIZE);
    params.after = None;
    let base = filter_from(&state, &params).await.map_err(|e| {
        if e.status.is_server_error() {
            page_error(e)
        } else {
            PageError::BadRequest(format!("{}。请返回列表修改筛选条件后再导出。", e.message))
        }
    })?;
    let calendar = state.rules.read().await.calendar.clone();
    let today = opinions::today();
    let soon = due_soon_days(&state).await;
    let mut rows = Vec::new();
    let mut matching = 0;
    for mut f in tab_filters(&current, &base, p, soon) {
        f.before_id = None;
        f.limit = 1000;
        f.exact_total = true;
        loop {
            let page = opinions::list(&state.db, &scope, &f).await?;
            if f.before_id.is_none() {
                matching += page.total;
            }
            for o in &page.items {
                if rows.len() >= LEDGER_CAP {
                    break;
                }
                rows.push(ledger_row(&state, o, today, &calendar).await?);
            }
            match page.next.and_then(|n| n.parse().ok()) {
                Some(n) if rows.len() < LEDGER_CAP => f.before_id = Some(n),
                _ => break,
            }
        }
    }
    let capped = matching > rows.len() as i64;
    let filters = describe_filters(&q, current.label);
    let mut note = format!(
        "导出时间：{}；导出人：{}；{}；共{}条。反映人姓名、电话等个人信息不在台账中。",
        local_time(time::OffsetDateTime::now_utc()),
        staff.auth.user.display_name,
        filters,
        rows.len()
    );
    if capped {
        note.push_str(&format!(
            "注意：符合条件的共{matching}条，超过单次导出上限{LEDGER_CAP}条，本文件只含最新的{}条；请缩小筛选范围（如按收到日期）分批导出。",
            rows.len()
        ));
    }
    let mut tx = state.db.begin().await?;
    audit::append(
        &mut tx,
        &state.keys,
        &staff.ctx.actor(),
        Entry {
            action: "export",
            entity: "opinion",
            entity_id: staff
                .auth
                .user
                .scope_code
                .clone()
                .unwrap_or_else(|| "all".into()),
            summary: format!(
                "导出民意台账（个人信息已遮蔽）；{filters}；{}条{}",
                rows.len(),
                if capped {
                    "（已达导出上限）"
                } else {
                    ""
                }
            ),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let bytes =
        tokio::task::spawn_blocking(move || liaison_docs::ledger::ledger_xlsx(&rows, &note))
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?
            .map_err(|e| PageError::Internal(e.to_string()))?;
    let filename = format!("民意台账-{}.xlsx", today);
    Ok(crate::routes::xlsx_download(
        bytes,
        "opinions.xlsx",
        &filename,
    ))
}

/// The filters of a ledger in words, for its note line and the audit record.
fn describe_filters(q: &InboxQuery, tab_label: &str) -> String {
    let mut parts = vec![format!("分类页：{tab_label}")];
    for (label, v) in [
        ("关键词", &q.q),
        ("联络站", &q.station),
        ("分类", &q.category),
        ("收到自", &q.from),
        ("收到至", &q.to),
    ] {
        if !v.trim().is_empty() {
            parts.push(format!("{label}：{}", v.trim()));
        }
    }
    if !q.overdue.is_empty() {
        parts.push("仅超期".into());
    }
    parts.join("，")
}

async fn ledger_row(
    state: &AppState,
    o: &OpinionSummary,
    today: time::Date,
    cal: &Calendar,
) -> PageResult<liaison_docs::ledger::LedgerRow> {
    // Grade and rating are not part of the list row; read them per item.
    let full = opinions::get(&state.db, o.id).await?;
    let r = row(o, today, cal);
    Ok(liaison_docs::ledger::LedgerRow {
        tracking_no: o.tracking_no.clone(),
        received: r.received,
        channel: opinions::channel_label(&o.channel).to_owned(),
        station: o.station_name.clone(),
        deputy: o.deputy_name.clone().unwrap_or_default(),
        title: o.title.clone(),
        category: if r.suggested {
            format!("{}（建议）", r.category)
        } else {
            r.category
        },
        state: r.state.to_owned(),
        lead_unit: r.unit,
        due: if r.due.is_empty() {
            String::new()
        } else {
            format!("{}（{}）", r.due, r.due_kind)
        },
        light: r.light.map(|l| l.text).unwrap_or_default(),
        grade: full
            .last_grade
            .as_deref()
            .map(grade_text)
            .unwrap_or_default(),
        rating: full
            .last_rating
            .as_deref()
            .and_then(Satisfaction::parse)
            .map(|s| s.label().to_owned())
            .unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// Photos

/// `GET /work/opinions/photos/{photo_id}` — a photo of an item the user may see.
async fn photo(
    State(state): State<AppState>,
    staff: Staff,
    Path(photo_id): Path<i64>,
) -> PageResult<Response> {
    staff.require(WORK_ROLES)?;
    let (opinion_id, mime, bytes) = opinions::photo(&state.db, photo_id).await?;
    load_visible(&state, &staff.auth.principal, opinion_id).await?;
    // Photos are re-encoded as JPEG on intake; anything else is served as a download.
    let mime = if mime == "image/jpeg" {
        mime
    } else {
        "application/octet-stream".to_owned()
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Item page and actions

/// An action form as the user typed it (kept when it is refused).
#[derive(Debug, Default, Clone)]
struct ActForm {
    action: String,
    version: String,
    category: String,
    reason: String,
    content: String,
    resolution_grade: String,
    unit_id: String,
    co_unit_ids: Vec<String>,
    due_on: String,
    into: String,
    rating: String,
    comment: String,
    deputy_id: String,
}

impl ActForm {
    /// Reads the posted pairs; `co_unit_ids` may repeat.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = ActForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "action" => f.action = v,
                "version" => f.version = v,
                "category" => f.category = v,
                "reason" => f.reason = v,
                "content" => f.content = v,
                "resolution_grade" => f.resolution_grade = v,
                "unit_id" => f.unit_id = v,
                "co_unit_ids" if !v.trim().is_empty() => f.co_unit_ids.push(v),
                "due_on" => f.due_on = v,
                "into" => f.into = v,
                "rating" => f.rating = v,
                "comment" => f.comment = v,
                "deputy_id" => f.deputy_id = v,
                _ => {}
            }
        }
        f
    }

    /// The storage layer's input, or the field and message of the first problem. `merge_into`
    /// is the resolved master item of a merge.
    fn input(
        &self,
        action: OpinionAction,
        suggested: &str,
        merge_into: Option<i64>,
    ) -> Result<ActionInput, (&'static str, String)> {
        let text = |field: &'static str, label: &str, v: &str, max: usize| {
            validate::optional_text(field, label, v, max)
                .map(|s| Some(s).filter(|s| !s.is_empty()))
                .map_err(|e| (field, e.message))
        };
        let due_on = match self.due_on.trim() {
            "" => None,
            d => Some(parse_date("due_on", d).map_err(|e| ("due_on", e.message))?),
        };
        let resolution_grade = match self.resolution_grade.trim() {
            "" => None,
            g => Some(ResolutionGrade::parse(g).ok_or((
                "resolution_grade",
                "请从 A、B、C、D 中选择解决程度".to_owned(),
            ))?),
        };
        let rating = match self.rating.trim() {
            "" => None,
            r => Some(
                Satisfaction::parse(r)
                    .ok_or(("rating", "请选择满意、基本满意或不满意".to_owned()))?,
            ),
        };
        let unit_id = match self.unit_id.trim() {
            "" => None,
            u => Some(
                u.parse::<i64>()
                    .map_err(|_| ("unit_id", "请从列表中选择主办单位".to_owned()))?,
            ),
        };
        let mut co_unit_ids = Vec::new();
        for c in &self.co_unit_ids {
            co_unit_ids.push(
                c.trim()
                    .parse::<i64>()
                    .map_err(|_| ("co_unit_ids", "请从列表中选择协办单位".to_owned()))?,
            );
        }
        let deputy_id = match self.deputy_id.trim() {
            "" => None,
            d => Some(
                d.parse::<i64>()
                    .map_err(|_| ("deputy_id", "请从列表中选择代表".to_owned()))?,
            ),
        };
        let reason = text("reason", "理由", &self.reason, 1000)?;
        let content = text("content", "答复内容", &self.content, 5000)?;
        let comment = text("comment", "回访情况", &self.comment, 500)?;
        let category = match self.category.trim() {
            "" => None,
            c if CATEGORIES.contains(&c) || c == suggested => Some(c.to_owned()),
            _ => return Err(("category", "请从列表中选择分类".to_owned())),
        };
        match action {
            OpinionAction::Assign if unit_id.is_none() => {
                return Err(("unit_id", "请选择主办单位".to_owned()));
            }
            OpinionAction::Reply | OpinionAction::AnswerOnSpot if content.is_none() => {
                return Err(("content", "请填写答复内容".to_owned()));
            }
            OpinionAction::Merge if merge_into.is_none() => {
                return Err(("into", "请填写要合并到的主件的受理编号".to_owned()));
            }
            _ => {}
        }
        Ok(ActionInput {
            unit_id,
            co_unit_ids,
            due_on,
            reason,
            content,
            resolution_grade,
            rating,
            comment,
            into_id: merge_into,
            category,
            expected_version: self.version.trim().parse().ok(),
            deputy_id,
        })
    }
}

/// The date of the latest extension request, from its timeline note.
fn requested_extension(timeline: &[StaffEvent]) -> String {
    timeline
        .iter()
        .rev()
        .find(|e| e.action == OpinionAction::RequestExtension.code())
        .and_then(|e| e.note.strip_prefix(opinions::EXTENSION_NOTE_PREFIX))
        .and_then(|rest| rest.get(..10))
        .filter(|d| parse_date("due_on", d).is_ok())
        .unwrap_or("")
        .to_owned()
}

/// The form field a refusal is about, so the message appears next to it: the API's field,
/// except the merge form's, which takes a tracking number (`into`).
fn error_field(e: &ActError, action: OpinionAction) -> &'static str {
    match crate::api::opinions::action_error_field(e, action) {
        "into_id" => "into",
        f => f,
    }
}

/// A refused action: which form, what went wrong, where.
#[derive(Debug, Clone)]
struct Failure {
    action: String,
    label: &'static str,
    message: String,
    field: &'static str,
}

/// A labelled free-text field of an action form.
#[derive(Debug, Clone)]
struct ReasonField {
    label: &'static str,
    required: bool,
    value: String,
}

/// A date field of an action form.
#[derive(Debug, Clone)]
struct DueField {
    label: &'static str,
    hint: String,
    required: bool,
    value: String,
}

/// A choice of an action form: (value, label, chosen).
pub(crate) type Choice = (String, String, bool);

/// One action form of the item page, with only the fields its action needs.
#[derive(Debug, Clone)]
struct ActionForm {
    code: &'static str,
    label: &'static str,
    hint: &'static str,
    version: i64,
    categories: Option<Vec<Choice>>,
    lead_units: Option<Vec<Choice>>,
    co_units: Vec<Choice>,
    due: Option<DueField>,
    content: Option<String>,
    grades: Option<Vec<Choice>>,
    ratings: Option<Vec<Choice>>,
    comment: Option<String>,
    into: Option<String>,
    /// Deputies to choose from (convert_to_suggestion of an item addressed to no deputy).
    deputies: Option<Vec<Choice>>,
    reason: Option<ReasonField>,
    error: Option<String>,
    error_field: &'static str,
    /// Shown open; the less usual actions start folded.
    open: bool,
}

impl ActionForm {
    /// The error shown next to `field`.
    fn error_at(&self, field: &str) -> Option<&str> {
        match &self.error {
            Some(m) if self.error_field == field => Some(m.as_str()),
            _ => None,
        }
    }

    /// The error shown at the top of the form (not about one field).
    fn form_error(&self) -> Option<&str> {
        self.error_at("")
    }

    fn has_field(&self, field: &str) -> bool {
        match field {
            "category" => self.categories.is_some(),
            "unit_id" | "co_unit_ids" => self.lead_units.is_some(),
            "due_on" => self.due.is_some(),
            "content" => self.content.is_some(),
            "resolution_grade" => self.grades.is_some(),
            "rating" => self.ratings.is_some(),
            "comment" => self.comment.is_some(),
            "into" => self.into.is_some(),
            "deputy_id" => self.deputies.is_some(),
            "reason" => self.reason.is_some(),
            _ => false,
        }
    }
}

/// What the action forms need besides the item.
struct FormData {
    version: i64,
    suggested: String,
    units: Vec<UnitItem>,
    assign_due: time::Date,
    rehandle_due: time::Date,
    requested_extension: String,
    reply_due: String,
    /// The lead unit the routing table suggests, if any.
    suggested_unit: Option<(i64, String)>,
    /// Deputies of the station, when the item is addressed to none (for a conversion).
    station_deputies: Vec<(i64, String)>,
}

pub(crate) fn choices<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
    chosen: &str,
) -> Vec<Choice> {
    items
        .map(|(v, l)| (v.to_owned(), l.to_owned(), v == chosen))
        .collect()
}

fn reason(label: &'static str, required: bool) -> Option<ReasonField> {
    Some(ReasonField {
        label,
        required,
        value: String::new(),
    })
}

/// The form of one action, blank (prefilled with defaults).
fn blank_form(action: OpinionAction, data: &FormData) -> ActionForm {
    use OpinionAction as A;
    let mut f = ActionForm {
        code: action.code(),
        label: action.label(),
        hint: "",
        version: data.version,
        categories: None,
        lead_units: None,
        co_units: Vec::new(),
        due: None,
        content: None,
        grades: None,
        ratings: None,
        comment: None,
        into: None,
        deputies: None,
        reason: None,
        error: None,
        error_field: "",
        open: matches!(
            action,
            A::Accept
                | A::Assign
                | A::Acknowledge
                | A::ContactSubmitter
                | A::Reply
                | A::ApproveReply
                | A::ApproveReturn
                | A::ApproveExtension
                | A::SendFeedback
                | A::Rate
                | A::Rehandle
        ),
    };
    let grades = || {
        Some(
            ResolutionGrade::ALL
                .iter()
                .map(|g| {
                    (
                        g.code().to_owned(),
                        format!("{} {}", g.code(), g.label()),
                        false,
                    )
                })
                .collect(),
        )
    };
    match action {
        A::Accept => {
            let mut cats: Vec<&str> = CATEGORIES.to_vec();
            if !data.suggested.is_empty() && !cats.contains(&data.suggested.as_str()) {
                cats.insert(0, &data.suggested);
            }
            f.categories = Some(choices(cats.iter().map(|c| (*c, *c)), &data.suggested));
            f.hint = "受理后请及时交办承办单位，或当场答复。分类已按内容预选，请核对。";
        }
        A::Decline => {
            f.reason = reason("不予受理理由及引导渠道（如诉讼、复议、仲裁）", true);
            f.hint = "理由和引导渠道会告知反映人。";
        }
        A::AnswerOnSpot => {
            f.content = Some(String::new());
            f.grades = grades();
            f.hint = "代表或工作人员当场已解答清楚的，记录答复内容后反馈反映人。";
        }
        A::Assign => {
            let mut units: Vec<Choice> = data
                .units
                .iter()
                .map(|u| {
                    (
                        u.id.to_string(),
                        format!("{}（{}）", u.name, u.region_name),
                        false,
                    )
                })
                .collect();
            f.co_units = units.clone();
            if let Some((id, name)) = &data.suggested_unit {
                let id = id.to_string();
                match units.iter_mut().find(|(v, _, _)| *v == id) {
                    Some(u) => u.2 = true,
                    None => units.insert(0, (id, name.clone(), true)),
                }
            }
            f.lead_units = Some(units);
            f.due = Some(DueField {
                label: "答复期限",
                hint: format!(
                    "默认 {}（按时限规定自今天起计算，节假日顺延），可按事项情况调整。",
                    data.assign_due
                ),
                required: false,
                value: data.assign_due.to_string(),
            });
            f.hint = if data.suggested_unit.is_some() {
                "主办单位负责答复；协办单位配合办理。主办单位已按分类和地区预选，请核对。"
            } else {
                "主办单位负责答复；协办单位配合办理。"
            };
        }
        A::Acknowledge => {
            f.hint =
                "签收后请在规定时限内联系反映人并办理。不属于本单位职责的，请在签收前申请退回。";
        }
        A::ContactSubmitter => {
            f.reason = reason("联系情况（可选）", false);
            f.hint = "记录已与反映人取得联系。";
        }
        A::RequestReturn => {
            f.reason = reason(
                "退回理由（请写明不属于本单位职责的依据，并建议承办单位）",
                true,
            );
        }
        A::ApproveReturn => {
            f.reason = reason("意见（可选）", false);
            f.hint = "同意后事项回到待分办，请重新交办。";
        }
        A::RejectReturn => {
            f.reason = reason("不同意退回的理由", true);
        }
        A::RequestExtension => {
            f.due = Some(DueField {
                label: "申请延期至",
                hint: format!(
                    "现答复期限 {}。延期只能申请一次，须在期限届满前提出。",
                    data.reply_due
                ),
                required: true,
                value: String::new(),
            });
            f.reason = reason("延期理由", true);
        }
        A::ApproveExtension => {
            f.due = Some(DueField {
                label: "延期后的答复期限",
                hint: if data.requested_extension.is_empty() {
                    "请按承办单位的申请填写（见办理记录）。".to_owned()
                } else {
                    format!("承办单位申请延期至 {}。", data.requested_extension)
                },
                required: true,
                value: data.requested_extension.clone(),
            });
            f.reason = reason("意见（可选）", false);
        }
        A::RejectExtension => {
            f.reason = reason("不同意延期的理由", true);
        }
        A::Reply => {
            f.content = Some(String::new());
            f.grades = grades();
            f.hint = "答复经联络站审核通过后反馈反映人。";
        }
        A::ApproveReply => {
            f.reason = reason("审核意见（可选）", false);
            f.hint = "审核通过后，办理结果当即反馈反映人。";
        }
        A::RejectReply => {
            f.reason = reason("退回答复的理由（请写明需补充或修改的内容）", true);
        }
        A::SendFeedback => {
            f.hint = "将答复结果发送给反映人，并开始评价期。";
        }
        A::Rate => {
            f.ratings = Some(choices(
                Satisfaction::ALL.iter().map(|s| (s.code(), s.label())),
                "",
            ));
            f.comment = Some(String::new());
            f.hint = "回访反映人后，录入其评价。";
        }
        A::Rehandle => {
            f.due = Some(DueField {
                label: "重办答复期限",
                hint: format!("默认 {}，可调整。", data.rehandle_due),
                required: false,
                value: data.rehandle_due.to_string(),
            });
            f.reason = reason("重办要求（可选）", false);
        }
        A::Close => {
            f.reason = reason("结案理由（如受政策或条件限制暂时无法解决）", true);
        }
        A::Merge => {
            f.into = Some(String::new());
            f.hint = "与已有事项重复的，合并到主件一并办理，反映人会收到通知。";
        }
        A::Escalate => {
            f.reason = reason("督办事由", false);
            f.hint = "提请督办后，承办单位须在督办期限内答复。";
        }
        A::ConvertToSuggestion => {
            f.hint = "涉及面广、需通过代表建议推动解决的，转为闭会期间代表建议：为领衔代表生成建议草稿，代表修改后提交。";
            if !data.station_deputies.is_empty() {
                f.deputies = Some(
                    data.station_deputies
                        .iter()
                        .map(|(id, name)| (id.to_string(), name.clone(), false))
                        .collect(),
                );
            }
        }
        A::CloseUnrated => {}
    }
    f
}

/// A blank form filled with what the user typed, and the error.
fn typed_form(mut f: ActionForm, typed: &ActForm, failure: &Failure) -> ActionForm {
    if let Some(c) = &mut f.categories {
        for (v, _, chosen) in c.iter_mut() {
            *chosen = *v == typed.category;
        }
    }
    if let Some(units) = &mut f.lead_units {
        for (v, _, chosen) in units.iter_mut() {
            *chosen = *v == typed.unit_id;
        }
    }
    for (v, _, chosen) in f.co_units.iter_mut() {
        *chosen = typed.co_unit_ids.contains(v);
    }
    if let Some(d) = &mut f.due {
        d.value = typed.due_on.clone();
    }
    if f.content.is_some() {
        f.content = Some(typed.content.clone());
    }
    if let Some(g) = &mut f.grades {
        for (v, _, chosen) in g.iter_mut() {
            *chosen = *v == typed.resolution_grade;
        }
    }
    if let Some(r) = &mut f.ratings {
        for (v, _, chosen) in r.iter_mut() {
            *chosen = *v == typed.rating;
        }
    }
    if f.comment.is_some() {
        f.comment = Some(typed.comment.clone());
    }
    if f.into.is_some() {
        f.into = Some(typed.into.clone());
    }
    if let Some(d) = &mut f.deputies {
        for (v, _, chosen) in d.iter_mut() {
            *chosen = *v == typed.deputy_id;
        }
    }
    if let Some(r) = &mut f.reason {
        r.value = typed.reason.clone();
    }
    f.error = Some(failure.message.clone());
    f.open = true;
    f.error_field = if f.has_field(failure.field) {
        failure.field
    } else {
        ""
    };
    f
}

struct UnitView {
    name: String,
    role: &'static str,
    round: i64,
    current: bool,
    acknowledged: String,
}

struct ReplyView {
    round: i64,
    unit: String,
    content: String,
    grade: String,
    status: &'static str,
    at: String,
}

/// A follow-up question of the submitter as the item page shows it.
struct FollowUpView {
    id: i64,
    content: String,
    asked: String,
    open: bool,
    answer: String,
    answerer: String,
    answered: String,
    /// Why the answer was refused (at this question's form).
    error: Option<String>,
    /// The answer as typed (kept after a refusal).
    typed: String,
}

struct EventView {
    at: String,
    actor: String,
    label: String,
    change: String,
    note: String,
}

/// What the page shows of the submitter.
struct Submitter {
    /// Shown at all (not anonymous, not confidential towards this user).
    shown: bool,
    name: String,
    phone: String,
    /// Why nothing is shown.
    note: &'static str,
}

#[derive(Template)]
#[template(path = "opinions_work/detail.html")]
struct DetailPage {
    layout: Layout,
    d: OpinionDetail,
    channel: &'static str,
    category: String,
    suggested: bool,
    confidence: String,
    urgent: bool,
    received: String,
    due: Option<String>,
    due_kind: &'static str,
    light: Option<Light>,
    submitter: Submitter,
    can_reveal: bool,
    revealed: bool,
    reveal_purpose: String,
    reveal_error: Option<String>,
    photos: Vec<i64>,
    similar: Vec<Row>,
    units: Vec<UnitView>,
    replies: Vec<ReplyView>,
    timeline: Vec<EventView>,
    forms: Vec<ActionForm>,
    failure: Option<Failure>,
    follow_ups: Vec<FollowUpView>,
    open_follow_ups: usize,
    answer_max: usize,
}

/// What a re-rendered item page carries besides the item.
#[derive(Default)]
struct Extra {
    notice: Option<String>,
    failure: Option<(Failure, ActForm)>,
    revealed: Option<(String, String)>,
    reveal_error: Option<String>,
    reveal_purpose: String,
    /// A refused answer to a follow-up: (follow-up id, message, what was typed).
    follow_up_failure: Option<(i64, String, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShowQuery {
    notice: String,
}

/// `GET /work/opinions/{id}`.
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    let loaded = load_visible(&state, &staff.auth.principal, id).await?;
    detail_page(
        &state,
        &staff,
        loaded,
        Extra {
            notice: done_notice(&q.notice),
            ..Default::default()
        },
    )
    .await
}

/// The notice after an action succeeded.
fn done_notice(code: &str) -> Option<String> {
    use OpinionAction as A;
    if code == "answer_follow_up" {
        return Some("已答复追问，答复已在查询页面公开，并将短信告知反映人。".to_owned());
    }
    let a = OpinionAction::parse(code)?;
    Some(match a {
        A::Accept => "已受理。请及时交办承办单位，或当场答复。".to_owned(),
        A::Assign => "已交办，承办单位将收到通知。".to_owned(),
        A::Acknowledge => "已签收。请及时联系反映人并办理。".to_owned(),
        A::Reply => "已答复，等待联络站审核。".to_owned(),
        A::ApproveReply => "答复已审核通过，办理结果已反馈反映人。".to_owned(),
        A::Decline => "已不予受理，理由和引导渠道将告知反映人。".to_owned(),
        A::ConvertToSuggestion => {
            "已转为闭会建议，已为领衔代表生成建议草稿，代表修改后即可提交。".to_owned()
        }
        other => format!("已完成“{}”。", other.label()),
    })
}

async fn detail_page(state: &AppState, staff: &Staff, l: Loaded, extra: Extra) -> PageResult {
    let p = &staff.auth.principal;
    let d = detail_for(state, p, l.o.id).await.map_err(page_error)?;
    let o = &l.o;
    let today = opinions::today();
    let available: Vec<OpinionAction> = d
        .available_actions
        .iter()
        .filter_map(|c| OpinionAction::parse(c))
        .collect();
    let units = if available.contains(&OpinionAction::Assign) {
        assignable_units(state, p, o).await?
    } else {
        Vec::new()
    };
    let due = current_due(&o.state, o.due_kind.as_deref(), o.due_on);
    let (light, assign_due, rehandle_due) = {
        let rules = state.rules.read().await;
        let r = state.opinion_rules(&rules);
        let ctx = opinions::context(&r, Some(o));
        (
            due.map(|(d, _)| light_view(liaison_core::sla::light(today, d, &rules.calendar))),
            ctx.due_after(SlaItem::OpinionReply),
            ctx.due_after(SlaItem::OpinionRehandleReply),
        )
    };
    let data = FormData {
        version: d.version,
        suggested: o.category_suggested.clone(),
        units,
        assign_due,
        rehandle_due,
        requested_extension: requested_extension(&d.timeline),
        suggested_unit: d.suggested_unit.as_ref().map(|u| (u.id, u.name.clone())),
        reply_due: d.reply_due_on.clone().unwrap_or_default(),
        station_deputies: if available.contains(&OpinionAction::ConvertToSuggestion)
            && o.deputy_id.is_none()
        {
            station_deputies(state, o.station_id).await?
        } else {
            Vec::new()
        },
    };
    let failure = extra.failure.as_ref().map(|(f, _)| f.clone());
    let mut forms: Vec<ActionForm> = available
        .iter()
        .map(|a| {
            let blank = blank_form(*a, &data);
            match &extra.failure {
                Some((f, typed)) if f.action == a.code() => typed_form(blank, typed, f),
                _ => blank,
            }
        })
        .collect();
    if forms.len() <= 2 {
        // Nothing to fold away.
        for f in &mut forms {
            f.open = true;
        }
    }
    // Possible duplicates are for the station side only: units and deputies would otherwise
    // see items they have no relation to.
    let similar = if l.actors.contains(&WfActor::StationStaff) && !o.state().is_final() {
        let tokens =
            liaison_text::search_text::segment_for_query(&format!("{} {}", o.title, o.body));
        let found = opinions::similar_open(&state.db, o.station_id, &tokens, o.id, 5).await?;
        let rules = state.rules.read().await;
        found
            .iter()
            .map(|s| row(s, today, &rules.calendar))
            .collect()
    } else {
        Vec::new()
    };
    let photos = opinions::photo_ids(&state.db, o.id).await?;
    let submitter = if o.anonymous {
        Submitter {
            shown: false,
            name: String::new(),
            phone: String::new(),
            note: "匿名反映，未留姓名和联系方式。",
        }
    } else if opinions::identity_hidden_from(p, o) {
        Submitter {
            shown: false,
            name: String::new(),
            phone: String::new(),
            note: "反映人要求对承办单位保密身份。需要联系反映人时，请通过联络站。",
        }
    } else {
        match &extra.revealed {
            Some((name, phone)) => Submitter {
                shown: true,
                name: name.clone(),
                phone: phone.clone(),
                note: "",
            },
            None => Submitter {
                shown: true,
                name: d.submitter_name.clone(),
                phone: d.submitter_phone.clone(),
                note: "",
            },
        }
    };
    let suggested = o.category.is_empty() && !o.category_suggested.is_empty();
    let title = format!("{} {}", o.tracking_no, o.title);
    let follow_ups: Vec<FollowUpView> = d
        .follow_ups
        .iter()
        .map(|f| {
            let failed = extra
                .follow_up_failure
                .as_ref()
                .filter(|(id, _, _)| *id == f.id);
            FollowUpView {
                id: f.id,
                content: f.content.clone(),
                asked: local_rfc3339(&f.asked_at),
                open: f.open,
                answer: f.answer.clone(),
                answerer: f.answerer.clone(),
                answered: f
                    .answered_at
                    .as_deref()
                    .map(local_rfc3339)
                    .unwrap_or_default(),
                error: failed.map(|(_, m, _)| m.clone()),
                typed: failed.map(|(_, _, t)| t.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let open_follow_ups = follow_ups.iter().filter(|f| f.open).count();
    render(&DetailPage {
        layout: Layout::staff(staff, title, "opinions").with_notice(extra.notice),
        channel: opinions::channel_label(&o.channel),
        category: if o.category.is_empty() {
            o.category_suggested.clone()
        } else {
            o.category.clone()
        },
        suggested,
        confidence: format!("{:.0}%", o.category_confidence * 100.0),
        urgent: o.urgency == "urgent",
        received: local_time(o.created_at),
        due: due.map(|(d, _)| d.to_string()),
        due_kind: due.map_or("", |(_, k)| k.label()),
        light,
        submitter,
        can_reveal: may_reveal(p, &l) && extra.revealed.is_none(),
        revealed: extra.revealed.is_some(),
        reveal_purpose: extra.reveal_purpose,
        reveal_error: extra.reveal_error,
        photos,
        similar,
        units: d
            .units
            .iter()
            .map(|u| UnitView {
                name: u.name.clone(),
                role: if u.is_lead { "主办" } else { "协办" },
                round: u.round,
                current: u.active,
                acknowledged: u
                    .acknowledged_at
                    .as_deref()
                    .map(local_rfc3339)
                    .unwrap_or_default(),
            })
            .collect(),
        replies: d
            .replies
            .iter()
            .map(|r| ReplyView {
                round: r.round,
                unit: r.unit.clone().unwrap_or_else(|| "当场答复".into()),
                content: r.content.clone(),
                grade: grade_text(&r.resolution_grade),
                status: match r.status.as_str() {
                    "pending_review" => "待审核",
                    "approved" => "已通过",
                    "rejected" => "已退回",
                    _ => "",
                },
                at: local_rfc3339(&r.at),
            })
            .collect(),
        timeline: d
            .timeline
            .iter()
            .map(|e| EventView {
                at: local_rfc3339(&e.at),
                actor: e.actor.clone(),
                label: e.label.clone(),
                change: match e.from_state.as_deref() {
                    Some(from) if from != e.to_state => {
                        format!("{} → {}", state_label(from), state_label(&e.to_state))
                    }
                    Some(_) => state_label(&e.to_state).to_owned(),
                    None => state_label(&e.to_state).to_owned(),
                },
                note: e.note.clone(),
            })
            .collect(),
        forms,
        failure,
        follow_ups,
        open_follow_ups,
        answer_max: liaison_core::follow_up::ANSWER_MAX,
        d,
    })
}

/// Deputies resident at a station and its rooms/points: (id, name).
async fn station_deputies(state: &AppState, station_id: i64) -> PageResult<Vec<(i64, String)>> {
    let page = directory::list_deputies(
        &state.db,
        Some(&Scope::Station(station_id)),
        &directory::DeputyFilter {
            limit: 200,
            ..Default::default()
        },
    )
    .await?;
    Ok(page.items.into_iter().map(|d| (d.id, d.name)).collect())
}

/// Units an item may be assigned to: those of the item's township, county and city, and for
/// region staff also every unit of their region.
async fn assignable_units(
    state: &AppState,
    p: &Principal,
    o: &Opinion,
) -> PageResult<Vec<UnitItem>> {
    let filter = UnitFilter {
        limit: 500,
        ..Default::default()
    };
    let mut units = directory::list_units(&state.db, &Scope::Station(o.station_id), &filter)
        .await?
        .items;
    if let Scope::RegionSubtree(_) = p.scope() {
        for u in directory::list_units(&state.db, &p.scope(), &filter)
            .await?
            .items
        {
            if !units.iter().any(|x| x.id == u.id) {
                units.push(u);
            }
        }
    }
    Ok(units)
}

/// `POST /work/opinions/{id}/act` — one action; on refusal the page again, with the message
/// next to the form and what was typed kept.
async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    let loaded = load_visible(&state, &staff.auth.principal, id).await?;
    let form = ActForm::from_pairs(pairs);
    let Some(action) = OpinionAction::parse(form.action.trim()) else {
        return Err(PageError::BadRequest(
            "未知的操作。请返回事项页面，刷新后重新操作。".into(),
        ));
    };
    let fail = |field: &'static str, message: String| Failure {
        action: action.code().to_owned(),
        label: action.label(),
        message,
        field,
    };
    let merge_into = if action == OpinionAction::Merge && !form.into.trim().is_empty() {
        match resolve_item(&state, form.into.trim()).await? {
            Some(into) => Some(into),
            None => {
                let f = fail(
                    "into",
                    format!(
                        "找不到受理编号为“{}”的事项，请核对后再提交",
                        form.into.trim()
                    ),
                );
                return refused(&state, &staff, loaded, f, form).await;
            }
        }
    } else {
        None
    };
    let input = match form.input(action, &loaded.o.category_suggested, merge_into) {
        Ok(i) => i,
        Err((field, message)) => {
            let f = fail(field, message);
            return refused(&state, &staff, loaded, f, form).await;
        }
    };
    let outcome = state
        .act_on_opinion(
            &staff.auth.principal,
            &staff.ctx.actor(),
            id,
            action,
            &input,
        )
        .await;
    match outcome {
        Ok(_) => Ok(
            Redirect::to(&format!("/work/opinions/{id}?notice={}", action.code())).into_response(),
        ),
        Err(e) => {
            let field = error_field(&e, action);
            let api = act_error(e);
            if api.status.is_server_error() || api.status == StatusCode::NOT_FOUND {
                return Err(page_error(api));
            }
            // Reload: after a stale version the page shows the item as it is now.
            let loaded = load_visible(&state, &staff.auth.principal, id).await?;
            refused(&state, &staff, loaded, fail(field, api.message), form).await
        }
    }
}

async fn refused(
    state: &AppState,
    staff: &Staff,
    l: Loaded,
    f: Failure,
    typed: ActForm,
) -> PageResult {
    let resp = detail_page(
        state,
        staff,
        l,
        Extra {
            failure: Some((f, typed)),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerForm {
    answer: String,
}

/// `POST /work/opinions/{id}/follow-ups/{follow_up_id}/answer` — answers a follow-up question of
/// the submitter; on refusal the page again with the message at the question and the text kept.
/// Who may answer is checked in `liaison_db::follow_ups::answer` against the item's relations.
async fn answer_follow_up(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, follow_up_id)): Path<(i64, i64)>,
    CsrfForm(f): CsrfForm<AnswerForm>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    // Existence and visibility first: a stranger gets a 404.
    load_visible(&state, &staff.auth.principal, id).await?;
    let message = match liaison_core::follow_up::answer(&f.answer) {
        Err(e) => e.message,
        Ok(answer) => {
            let result = liaison_db::follow_ups::answer(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                &staff.auth.principal,
                id,
                follow_up_id,
                &answer,
            )
            .await;
            match result {
                Ok(_) => {
                    return Ok(Redirect::to(&format!(
                        "/work/opinions/{id}?notice=answer_follow_up#follow-ups-h"
                    ))
                    .into_response());
                }
                Err(e) => {
                    let api = act_error(e);
                    if api.status.is_server_error() || api.status == StatusCode::NOT_FOUND {
                        return Err(page_error(api));
                    }
                    api.message
                }
            }
        }
    };
    // Reloaded: after a refusal for a question answered meanwhile the page shows the answer.
    let loaded = load_visible(&state, &staff.auth.principal, id).await?;
    let resp = detail_page(
        &state,
        &staff,
        loaded,
        Extra {
            follow_up_failure: Some((follow_up_id, message, f.answer)),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
}

/// An item by tracking number or id.
async fn resolve_item(state: &AppState, s: &str) -> PageResult<Option<i64>> {
    if let Ok(id) = s.parse::<i64>() {
        return Ok(Some(id));
    }
    Ok(opinions::by_tracking_no(&state.db, &s.to_uppercase())
        .await?
        .map(|o| o.id))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevealForm {
    purpose: String,
}

/// `POST /work/opinions/{id}/reveal` — the submitter's full name and phone, once, audited.
async fn reveal(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RevealForm>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    let loaded = load_visible(&state, &staff.auth.principal, id).await?;
    if !may_reveal(&staff.auth.principal, &loaded) {
        return Err(PageError::Forbidden(
            "您不能查看该反映人的联系方式：匿名反映没有联系方式；反映人要求保密的，承办单位请通过联络站联系。"
                .into(),
        ));
    }
    match validate::required_text("purpose", "查看事由", &form.purpose, 100) {
        Err(e) => {
            let resp = detail_page(
                &state,
                &staff,
                loaded,
                Extra {
                    reveal_error: Some(e.message),
                    reveal_purpose: form.purpose,
                    ..Default::default()
                },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
        Ok(purpose) => {
            let (name, phone) = opinions::reveal_submitter(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                id,
                &purpose,
            )
            .await?;
            detail_page(
                &state,
                &staff,
                loaded,
                Extra {
                    notice: Some("已显示完整联系方式，本次查看已记入审计日志。".into()),
                    revealed: Some((name, phone)),
                    ..Default::default()
                },
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Proxy entry (代录)

/// The proxy entry form as typed.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct EntryForm {
    station_code: String,
    channel: String,
    name: String,
    phone: String,
    anonymous: String,
    confidential: String,
    public: String,
    urgent: String,
    title: String,
    body: String,
    place: String,
    /// Idempotency key of this form: a double submission stores one item.
    key: String,
    /// The activity (reception…) the opinion is collected at, if any.
    activity: String,
}

#[derive(Template)]
#[template(path = "opinions_work/entry.html")]
struct EntryPage {
    layout: Layout,
    form: EntryForm,
    errors: Vec<FieldError>,
    stations: Vec<(String, String)>,
    channels: Vec<(&'static str, &'static str)>,
    deputy_code: Option<String>,
    /// The activity it is entered at: (id, title).
    activity: Option<(i64, String)>,
}

impl EntryPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[derive(Template)]
#[template(path = "opinions_work/receipt.html")]
struct ReceiptPage {
    layout: Layout,
    id: i64,
    tracking_no: String,
    accept_due: String,
    has_phone: bool,
}

async fn entry_page(
    state: &AppState,
    staff: &Staff,
    form: EntryForm,
    errors: Vec<FieldError>,
) -> PageResult<EntryPage> {
    let deputy = staff.auth.role() == Role::Deputy;
    let form_activity = form.activity.clone();
    Ok(EntryPage {
        layout: Layout::staff(staff, "代录群众意见", "opinions"),
        form,
        errors,
        stations: if deputy {
            Vec::new()
        } else if staff.auth.role() == Role::GridWorker {
            // The station of the grid worker's grid, and no other.
            match staff.auth.principal.station_id {
                Some(id) => {
                    let s = directory::station(&state.db, id).await?;
                    vec![(s.code, s.name)]
                }
                None => Vec::new(),
            }
        } else {
            scoped_stations(state, &staff.auth.scope()).await?
        },
        channels: ENTRY_CHANNELS
            .iter()
            .map(|c| (*c, opinions::channel_label(c)))
            .collect(),
        deputy_code: if deputy {
            staff.auth.user.scope_code.clone()
        } else {
            None
        },
        activity: entry_activity(state, staff, &form_activity)
            .await?
            .map(|a| (a.id, a.title)),
    })
}

/// The activity an opinion is entered at, from the form's `activity` field: it must be one the
/// user sees that has taken place or is taking place (not planned or cancelled).
async fn entry_activity(
    state: &AppState,
    staff: &Staff,
    raw: &str,
) -> PageResult<Option<liaison_db::activities::Activity>> {
    let Some(id) = raw.trim().parse::<i64>().ok() else {
        return Ok(None);
    };
    let scope = liaison_db::activities::list_scope(&staff.auth.principal);
    if !liaison_db::activities::visible(&state.db, &scope, id).await? {
        return Err(PageError::NotFound);
    }
    let a = liaison_db::activities::get(&state.db, id).await?;
    use liaison_core::activity::ActivityState as AS;
    if matches!(a.state(), AS::Planned | AS::Cancelled) {
        return Err(PageError::BadRequest(format!(
            "活动“{}”{}，不能在该活动下录入意见",
            a.title,
            a.state().label()
        )));
    }
    Ok(Some(a))
}

/// Query of the proxy entry form.
#[derive(Debug, Deserialize, Default)]
struct EntryQuery {
    /// Entered at this activity (a reception day…).
    activity: Option<String>,
}

/// `GET /work/opinions/new` (`?activity=<id>`: entered at an activity).
async fn new_entry(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<EntryQuery>,
) -> PageResult {
    staff.require(ENTRY_ROLES)?;
    let mut form = EntryForm {
        channel: match staff.auth.role() {
            Role::Deputy => "deputy",
            Role::GridWorker => "grid",
            _ => "walk_in",
        }
        .into(),
        station_code: if matches!(staff.auth.role(), Role::StationStaff | Role::GridWorker) {
            staff.auth.user.scope_code.clone().unwrap_or_default()
        } else {
            String::new()
        },
        key: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    // Collected at an activity: its station receives it, by the reception channel.
    if let Some(a) = entry_activity(&state, &staff, q.activity.as_deref().unwrap_or("")).await? {
        form.activity = a.id.to_string();
        form.channel = "reception".into();
        if staff.auth.role() != Role::Deputy {
            form.station_code = a.station_code;
        }
    }
    render(&entry_page(&state, &staff, form, Vec::new()).await?)
}

/// `POST /work/opinions/new`.
async fn create_entry(
    State(state): State<AppState>,
    staff: Staff,
    upload: CsrfUpload<EntryForm>,
) -> PageResult {
    let CsrfUpload { form, photos } = upload;
    staff.require(ENTRY_ROLES)?;
    let deputy = staff.auth.role() == Role::Deputy;
    let mut errors = Vec::new();
    if !ENTRY_CHANNELS.contains(&form.channel.as_str()) {
        errors.push(FieldError::new("channel", "请选择反映渠道"));
    }
    let code = form.station_code.trim().to_owned();
    let (station_code, deputy_code) = if deputy {
        (None, staff.auth.user.scope_code.clone())
    } else if staff.auth.role() == Role::GridWorker {
        // A grid worker records for the station of their grid, whatever the form says.
        (staff.auth.user.scope_code.clone(), None)
    } else if code.is_empty() {
        errors.push(FieldError::new("station_code", "请选择受理的联络站"));
        (None, None)
    } else if !station_in_scope(&state, &staff.auth.scope(), &code).await? {
        errors.push(FieldError::new(
            "station_code",
            "该联络站不在您的工作范围内，请从列表中选择",
        ));
        (None, None)
    } else {
        (Some(code), None)
    };
    let activity = entry_activity(&state, &staff, &form.activity).await?;
    if !errors.is_empty() {
        return render(&entry_page(&state, &staff, form, errors).await?);
    }
    let key = Some(form.key.trim().to_owned()).filter(|k| !k.is_empty());
    let input = IntakeInput {
        station_code,
        deputy_code,
        title: form.title.clone(),
        body: form.body.clone(),
        place: form.place.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        anonymous: !form.anonymous.is_empty(),
        confidential: !form.confidential.is_empty(),
        publishable: !form.public.is_empty(),
        channel: form.channel.clone(),
        urgent: !form.urgent.is_empty(),
        idempotency_key: key,
        photos,
        entered_by: Some(staff.auth.user.id),
        activity_id: activity.map(|a| a.id),
        rate_checked: false,
    };
    match intake::submit(&state, &staff.ctx.actor(), &staff.ctx.ip, input).await {
        Ok(created) => {
            let o = opinions::get(&state.db, created.id).await?;
            render(&ReceiptPage {
                layout: Layout::staff(&staff, "已代录", "opinions").with_notice(Some(
                    if created.replayed {
                        "该意见此前已提交，以下是原受理编号。".to_owned()
                    } else {
                        "已代录，意见已进入受理流程。".to_owned()
                    },
                )),
                id: created.id,
                tracking_no: created.tracking_no,
                accept_due: o.due_on.map(|d| d.to_string()).unwrap_or_default(),
                has_phone: !o.anonymous && !form.phone.trim().is_empty(),
            })
        }
        Err(IntakeError::Fields(errs)) => render(&entry_page(&state, &staff, form, errs).await?),
        Err(IntakeError::RateLimited(m)) => {
            render(&entry_page(&state, &staff, form, vec![FieldError::new("", m)]).await?)
        }
        Err(IntakeError::Db(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::workflow::{Guard, WorkflowError};

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "U".into(),
            role,
            region: Some((5, "/1/2/5/".into())),
            station_id: Some(9),
            unit_id: Some(3),
            deputy_id: Some(4),
            must_change_password: false,
        }
    }

    #[test]
    fn station_clerks_see_the_nine_station_tabs_starting_with_pending() {
        let keys: Vec<&str> = tabs_for(Role::StationStaff).iter().map(|t| t.key).collect();
        assert_eq!(
            keys,
            [
                "pending",
                "to_assign",
                "handling",
                "review",
                "follow_up",
                "questions",
                "done",
                "overdue",
                "all"
            ]
        );
    }

    #[test]
    fn county_and_city_staff_also_get_the_supervision_centre() {
        for role in [Role::CountyStaff, Role::CityStaff] {
            assert!(tabs_for(role).iter().any(|t| t.key == SUPERVISION_TAB));
        }
        assert!(
            !tabs_for(Role::TownshipStaff)
                .iter()
                .any(|t| t.key == SUPERVISION_TAB)
        );
    }

    #[test]
    fn unit_tabs_of_open_work_are_limited_to_what_the_unit_holds_now() {
        let p = principal(Role::UnitOfficer);
        let tabs = tabs_for(Role::UnitOfficer);
        assert_eq!(tabs[0].label, "待签收");
        let f = &tab_filters(&tabs[0], &OpinionFilter::default(), &p, 2)[0];
        assert_eq!(f.unit_id, Some(3));
        assert!(f.unit_active_only);
        let soon = tabs.iter().find(|t| t.key == "due_soon").unwrap();
        assert_eq!(
            tab_filters(soon, &OpinionFilter::default(), &p, 3)[0].due_within_days,
            Some(3)
        );
    }

    #[test]
    fn a_deputy_starts_with_the_items_addressed_to_them() {
        let tabs = tabs_for(Role::Deputy);
        assert_eq!(tabs[0].label, "给我的");
        assert!(tabs[0].states.is_empty());
    }

    #[test]
    fn the_supervision_centre_has_a_second_list_of_overdue_items_with_units() {
        let p = principal(Role::CountyStaff);
        let t = tabs_for(Role::CountyStaff)
            .into_iter()
            .find(|t| t.key == SUPERVISION_TAB)
            .unwrap();
        let fs = tab_filters(&t, &OpinionFilter::default(), &p, 2);
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[0].states, ["supervised"]);
        assert!(fs[1].overdue && fs[1].states.contains(&"handling".to_owned()));
    }

    #[test]
    fn overdue_lists_only_hold_states_whose_clock_is_a_handling_deadline() {
        for code in OPEN_CLOCKED.iter().chain(UNIT_CLOCKED).chain(IN_UNIT_HANDS) {
            let clock = OpinionState::parse(code).and_then(OpinionState::clock);
            assert!(clock.is_some(), "{code} has a clock");
            assert_ne!(clock, Some(DueKind::Rating), "{code}");
        }
    }

    #[test]
    fn a_deadline_left_over_from_an_earlier_step_is_not_shown() {
        let d = time::macros::date!(2026 - 05 - 08);
        assert_eq!(current_due("accepted", Some("accept"), Some(d)), None);
        assert_eq!(
            current_due("submitted", Some("accept"), Some(d)),
            Some((d, DueKind::Accept))
        );
        assert_eq!(
            current_due("handling", Some("reply"), Some(d)),
            Some((d, DueKind::Reply))
        );
        assert_eq!(current_due("closed", None, None), None);
    }

    #[test]
    fn lights_carry_words_not_only_colour() {
        assert_eq!(light_view(SlaLight::Red).text, "红灯·逾期");
        assert_eq!(light_view(SlaLight::Green).class, "light-green");
    }

    #[test]
    fn times_are_shown_in_china_time() {
        let t = time::macros::datetime!(2026-05-01 16:30 UTC);
        assert_eq!(local_time(t), "2026-05-02 00:30");
        assert_eq!(local_rfc3339("2026-05-01T01:02:03Z"), "2026-05-01 09:02");
    }

    #[test]
    fn repeated_co_units_are_all_kept() {
        let f = ActForm::from_pairs(vec![
            ("action".into(), "assign".into()),
            ("unit_id".into(), "7".into()),
            ("co_unit_ids".into(), "8".into()),
            ("co_unit_ids".into(), "9".into()),
            ("version".into(), "3".into()),
        ]);
        let input = f.input(OpinionAction::Assign, "", None).unwrap();
        assert_eq!(input.unit_id, Some(7));
        assert_eq!(input.co_unit_ids, [8, 9]);
        assert_eq!(input.expected_version, Some(3));
    }

    #[test]
    fn an_assignment_without_a_lead_unit_is_refused_at_the_unit_field() {
        let f = ActForm {
            action: "assign".into(),
            ..Default::default()
        };
        let (field, msg) = f.input(OpinionAction::Assign, "", None).unwrap_err();
        assert_eq!(field, "unit_id");
        assert!(msg.contains("主办单位"));
    }

    #[test]
    fn a_reply_needs_its_text_and_a_bad_date_is_refused_at_the_date_field() {
        let f = ActForm::default();
        assert_eq!(
            f.input(OpinionAction::Reply, "", None).unwrap_err().0,
            "content"
        );
        let f = ActForm {
            due_on: "明天".into(),
            ..Default::default()
        };
        assert_eq!(
            f.input(OpinionAction::Rehandle, "", None).unwrap_err().0,
            "due_on"
        );
    }

    #[test]
    fn a_category_outside_the_list_is_refused() {
        let f = ActForm {
            category: "乱填".into(),
            ..Default::default()
        };
        assert_eq!(
            f.input(OpinionAction::Accept, "城乡建设", None)
                .unwrap_err()
                .0,
            "category"
        );
        let f = ActForm {
            category: "城乡建设".into(),
            ..Default::default()
        };
        assert_eq!(
            f.input(OpinionAction::Accept, "", None)
                .unwrap()
                .category
                .as_deref(),
            Some("城乡建设")
        );
    }

    #[test]
    fn an_extension_request_records_the_date_and_the_approval_form_reads_it_back() {
        let f = ActForm {
            due_on: "2030-01-15".into(),
            reason: "需要协调多个部门".into(),
            ..Default::default()
        };
        let input = f.input(OpinionAction::RequestExtension, "", None).unwrap();
        assert_eq!(input.reason.as_deref(), Some("需要协调多个部门"));
        assert_eq!(
            input.due_on.map(|d| d.to_string()).as_deref(),
            Some("2030-01-15")
        );
        // The note as storage writes it, whether the request came from this form or the API.
        let note = format!(
            "{}2030-01-15：需要协调多个部门",
            opinions::EXTENSION_NOTE_PREFIX
        );
        let timeline = vec![StaffEvent {
            at: String::new(),
            actor: String::new(),
            action: "request_extension".into(),
            label: String::new(),
            from_state: None,
            to_state: String::new(),
            note,
        }];
        assert_eq!(requested_extension(&timeline), "2030-01-15");
    }

    #[test]
    fn an_empty_reason_is_not_made_non_empty_by_the_extension_date() {
        let f = ActForm {
            due_on: "2030-01-15".into(),
            ..Default::default()
        };
        let input = f.input(OpinionAction::RequestExtension, "", None).unwrap();
        assert_eq!(
            input.reason, None,
            "the workflow must still ask for a reason"
        );
    }

    #[test]
    fn refusals_of_a_guard_point_at_the_field_concerned() {
        let e = ActError::Workflow(WorkflowError::Refused {
            guard: Guard::ReasonGiven,
            message: "x".into(),
        });
        assert_eq!(error_field(&e, OpinionAction::Decline), "reason");
        let e = ActError::Invalid("承办单位不存在".into());
        assert_eq!(error_field(&e, OpinionAction::Assign), "unit_id");
    }

    #[test]
    fn filters_read_as_words_in_the_ledger_note() {
        let q = InboxQuery {
            q: "路灯".into(),
            overdue: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            describe_filters(&q, "全部"),
            "分类页：全部，关键词：路灯，仅超期"
        );
    }

    #[test]
    fn the_query_string_keeps_the_filters_and_encodes_them() {
        let q = InboxQuery {
            q: "路 灯".into(),
            station: "JJ-HM".into(),
            ..Default::default()
        };
        assert_eq!(
            q.query_string("pending"),
            "tab=pending&q=%E8%B7%AF%20%E7%81%AF&station=JJ-HM"
        );
    }
}
