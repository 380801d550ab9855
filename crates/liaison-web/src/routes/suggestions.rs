//! 闭会建议 in the workbench: the list with the tabs of each role (a deputy's drafts,
//! invitations to co-sign, suggestions in handling and to rate; the deputy affairs office's
//! registration and assignment queues; a unit's 待签收 / 办理中 / 即将超期), the draft form, the
//! suggestion page with one form per action the user may take now, and the ledger as Excel.
//!
//! The workflow engine decides and `liaison_db::suggestions::act` stores; this module turns
//! forms into the engine's input and its refusals into Chinese messages next to the form,
//! keeping what the user typed. An item the user may not see is a 404.

use crate::AppState;
use crate::api::suggestions::{
    ListParams, SuggestionDetail, detail_for, draft_fields, filter_from, take_action,
};
use crate::auth::{CsrfForm, Staff};
use crate::error::{ApiError, PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::sla::{SlaItem, SlaLight};
use liaison_core::validate::{self, FieldError};
use liaison_core::workflow::{
    Guard, Registration, ResolutionGrade, Satisfaction, SuggestionAction, SuggestionState,
    WorkflowError,
};
use liaison_db::audit::{self, Entry};
use liaison_db::directory::{self, DeputyFilter, UnitFilter};
use liaison_db::suggestions::{
    self, ActError, NewSuggestion, Suggestion, SuggestionFilter, SuggestionInput,
};
use serde::Deserialize;

/// Suggestion workbench routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/suggestions", get(list))
        .route("/work/suggestions/ledger.xlsx", get(ledger))
        .route("/work/suggestions/new", get(new_draft).post(create_draft))
        .route("/work/suggestions/{id}", get(show))
        .route("/work/suggestions/{id}/act", post(act))
        .route("/work/suggestions/{id}/edit", post(edit))
        .route("/work/suggestions/{id}/supplements", post(supplement))
}

/// Roles that work with suggestions.
const WORK_ROLES: &[Role] = &[
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
];

/// Roles that keep the suggestion registry and may export its ledger.
const REGISTRY_ROLES: &[Role] = &[Role::CityStaff, Role::CountyStaff, Role::TownshipStaff];

/// Rows per page.
const PAGE_SIZE: i64 = 50;

/// Most rows in one ledger file.
const LEDGER_CAP: usize = 20_000;

/// Days ahead a deadline counts as 即将超期 for units.
const DUE_SOON_DAYS: i64 = 7;

// ---------------------------------------------------------------------------------------------
// Tabs

const IN_HANDLING: &[&str] = &[
    "submitted",
    "registered",
    "assigned",
    "return_requested",
    "acknowledged",
    "handling",
    "rehandling",
    "evaluated",
    "tracking",
    "second_replied",
];
const CLOCKED: &[&str] = &["assigned", "acknowledged", "handling", "rehandling"];

/// Whose suggestions a tab lists, beyond its states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    /// Everything in the user's list scope.
    Scope,
    /// Proposed by the deputy.
    Mine,
    /// Drafts the deputy is invited to co-sign and has not signed.
    Invited,
    /// Co-signed by the deputy.
    Cosigned,
    /// Held by the user's unit now.
    UnitActive,
}

#[derive(Debug, Clone, Copy)]
struct Tab {
    key: &'static str,
    label: &'static str,
    states: &'static [&'static str],
    whose: Whose,
    overdue: bool,
    due_soon: bool,
}

const fn tab(
    key: &'static str,
    label: &'static str,
    states: &'static [&'static str],
    whose: Whose,
) -> Tab {
    Tab {
        key,
        label,
        states,
        whose,
        overdue: false,
        due_soon: false,
    }
}

fn tabs_for(role: Role) -> Vec<Tab> {
    match role {
        Role::Deputy => vec![
            tab("drafts", "我的草稿", &["draft"], Whose::Mine),
            tab("invited", "邀请我联名", &["draft"], Whose::Invited),
            tab("handling", "办理中", IN_HANDLING, Whose::Mine),
            tab("to_rate", "待我评价", &["replied"], Whose::Mine),
            tab("cosigned", "我联名的", &[], Whose::Cosigned),
            tab("closed", "已办结", &["closed"], Whose::Mine),
        ],
        Role::UnitOfficer | Role::UnitLead => vec![
            tab(
                "sign",
                "待签收",
                &["assigned", "return_requested"],
                Whose::UnitActive,
            ),
            tab(
                "handling",
                "办理中",
                &["acknowledged", "handling", "rehandling", "tracking"],
                Whose::UnitActive,
            ),
            Tab {
                due_soon: true,
                ..tab("due_soon", "即将超期", CLOCKED, Whose::UnitActive)
            },
            Tab {
                overdue: true,
                ..tab("overdue", "已超期", CLOCKED, Whose::UnitActive)
            },
            tab(
                "replied",
                "已答复",
                &["replied", "evaluated", "second_replied", "closed"],
                Whose::Scope,
            ),
            tab("all", "全部", &[], Whose::Scope),
        ],
        _ => vec![
            tab("to_register", "待立案", &["submitted"], Whose::Scope),
            tab(
                "to_assign",
                "待交办",
                &["registered", "return_requested"],
                Whose::Scope,
            ),
            tab(
                "handling",
                "办理中",
                &["assigned", "acknowledged", "handling", "rehandling"],
                Whose::Scope,
            ),
            tab("replied", "待代表评价", &["replied"], Whose::Scope),
            tab(
                "evaluated",
                "待办结",
                &["evaluated", "second_replied"],
                Whose::Scope,
            ),
            tab("tracking", "跟踪督办", &["tracking"], Whose::Scope),
            tab("closed", "已办结", &["closed"], Whose::Scope),
            Tab {
                overdue: true,
                ..tab("overdue", "已超期", CLOCKED, Whose::Scope)
            },
            tab("all", "全部", &[], Whose::Scope),
        ],
    }
}

fn tab_filter(tab: &Tab, base: &SuggestionFilter, p: &Principal) -> SuggestionFilter {
    let mut f = base.clone();
    f.states = tab.states.iter().map(|s| (*s).to_owned()).collect();
    let me = p.deputy_id.unwrap_or(-1);
    match tab.whose {
        Whose::Scope => {}
        Whose::Mine => f.deputy_id = Some(me),
        Whose::Invited => f.invited_deputy_id = Some(me),
        Whose::Cosigned => f.cosigned_by = Some(me),
        Whose::UnitActive => f.unit_id = Some(p.unit_id.unwrap_or(-1)),
    }
    if tab.overdue {
        f.overdue = true;
    }
    if tab.due_soon {
        f.due_within_days = Some(DUE_SOON_DAYS);
    }
    f
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// `YYYY-MM-DD HH:MM` in China Standard Time.
pub fn local_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+8));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn local_rfc3339(s: &str) -> String {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(local_time)
        .unwrap_or_else(|_| s.to_owned())
}

/// A traffic light as words and a colour class: colour is never the only cue.
#[derive(Debug, Clone)]
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
    SuggestionState::parse(code).map_or("未知状态", SuggestionState::label)
}

fn grade_text(code: &str) -> String {
    ResolutionGrade::parse(code).map_or_else(String::new, |g| format!("{} {}", g.code(), g.label()))
}

fn page_error(e: ApiError) -> PageError {
    match e.status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden(e.message),
        s if s.is_server_error() => PageError::Internal(e.message),
        _ => PageError::BadRequest(e.message),
    }
}

/// One row of a list.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    number: String,
    title: String,
    deputy: String,
    state: &'static str,
    registration: &'static str,
    unit: String,
    due: String,
    light: Option<Light>,
    created: String,
}

fn row(s: &Suggestion, today: time::Date, cal: &liaison_core::workdays::Calendar) -> Row {
    Row {
        id: s.id,
        number: s.number_or_draft(),
        title: s.title.clone(),
        deputy: s.deputy_name.clone(),
        state: state_label(&s.state),
        registration: s.registration().map_or("", Registration::label),
        unit: s.lead_unit_name.clone().unwrap_or_default(),
        due: s.due_on.map(|d| d.to_string()).unwrap_or_default(),
        light: s
            .due_on
            .map(|d| light_view(liaison_core::sla::light(today, d, cal))),
        created: local_time(s.created_at),
    }
}

/// A choice of a select or radio group: (value, label, chosen).
type Choice = (String, String, bool);

// ---------------------------------------------------------------------------------------------
// List

/// Filters of the list and the ledger (GET form).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct ListQuery {
    tab: String,
    q: String,
    category: String,
    registration: String,
    overdue: String,
    after: String,
}

impl ListQuery {
    fn params(&self, limit: i64) -> ListParams {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ListParams {
            category: opt(&self.category),
            registration: opt(&self.registration),
            overdue: Some(!self.overdue.is_empty()),
            q: opt(&self.q),
            after: opt(&self.after),
            limit: Some(limit),
            ..Default::default()
        }
    }

    fn query_string(&self, tab: &str) -> String {
        crate::routes::query_string(&[
            ("tab", tab),
            ("q", self.q.as_str()),
            ("category", self.category.as_str()),
            ("registration", self.registration.as_str()),
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

struct TabView {
    label: &'static str,
    count: i64,
    href: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "suggestions/list.html")]
struct ListPage {
    layout: Layout,
    tabs: Vec<TabView>,
    tab_key: &'static str,
    tab_label: &'static str,
    rows: Vec<Row>,
    total: i64,
    next_href: Option<String>,
    ledger_href: Option<String>,
    filter: ListQuery,
    categories: Vec<Choice>,
    registrations: Vec<Choice>,
    filter_error: Option<String>,
    can_draft: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    notice: String,
}

/// `GET /work/suggestions`.
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    let p = &staff.auth.principal;
    let scope = suggestions::list_scope(p);
    let tabs = tabs_for(p.role);
    let current = q.pick_tab(&tabs);
    let (base, filter_error) = match filter_from(&state, p, &q.params(PAGE_SIZE)).await {
        Ok(f) => (f, None),
        Err(e) if !e.status.is_server_error() => (
            filter_from(&state, p, &ListQuery::default().params(PAGE_SIZE))
                .await
                .map_err(page_error)?,
            Some(e.message),
        ),
        Err(e) => return Err(page_error(e)),
    };
    let mut views = Vec::new();
    for t in &tabs {
        let mut f = tab_filter(t, &base, p);
        f.before_id = None;
        views.push(TabView {
            label: t.label,
            count: suggestions::count(&state.db, &scope, &f).await?,
            href: format!("/work/suggestions?{}", q.query_string(t.key)),
            active: t.key == current.key,
        });
    }
    let page = suggestions::list(&state.db, &scope, &tab_filter(&current, &base, p)).await?;
    let today = liaison_db::handling::today();
    let rows = {
        let rules = state.rules.read().await;
        page.items
            .iter()
            .map(|s| row(s, today, &rules.calendar))
            .collect()
    };
    let next_href = page.next.map(|n| {
        format!(
            "/work/suggestions?{}&after={}",
            q.query_string(current.key),
            n
        )
    });
    let categories = crate::routes::opinions_work::CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), (*c).to_owned(), q.category == *c))
        .collect();
    let registrations = Registration::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_owned(),
                r.label().to_owned(),
                q.registration == r.code(),
            )
        })
        .collect();
    render(&ListPage {
        layout: Layout::staff(&staff, "闭会建议", "suggestions"),
        tabs: views,
        tab_key: current.key,
        tab_label: current.label,
        rows,
        total: page.total,
        next_href,
        ledger_href: REGISTRY_ROLES.contains(&p.role).then(|| {
            format!(
                "/work/suggestions/ledger.xlsx?{}",
                q.query_string(current.key)
            )
        }),
        filter: q,
        categories,
        registrations,
        filter_error,
        can_draft: p.role == Role::Deputy,
    })
}

/// `GET /work/suggestions/ledger.xlsx` — the current tab as the registry's ledger.
async fn ledger(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    staff.require(REGISTRY_ROLES)?;
    let p = &staff.auth.principal;
    let scope = suggestions::list_scope(p);
    let tabs = tabs_for(p.role);
    let current = q.pick_tab(&tabs);
    let mut params = q.params(1000);
    params.after = None;
    let base = filter_from(&state, p, &params).await.map_err(|e| {
        if e.status.is_server_error() {
            page_error(e)
        } else {
            PageError::BadRequest(format!("{}。请返回列表修改筛选条件后再导出。", e.message))
        }
    })?;
    let mut f = tab_filter(&current, &base, p);
    let today = liaison_db::handling::today();
    let calendar = state.rules.read().await.calendar.clone();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut matching = None;
    loop {
        let page = suggestions::list(&state.db, &scope, &f).await?;
        matching.get_or_insert(page.total);
        for s in &page.items {
            if rows.len() >= LEDGER_CAP {
                break;
            }
            let cos = suggestions::cosigners(&state.db, s.id).await?;
            let r = row(s, today, &calendar);
            rows.push(vec![
                r.number,
                s.submitted_at.map(local_time).unwrap_or_default(),
                s.deputy_name.clone(),
                cos.iter()
                    .filter(|c| c.status == "signed")
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                s.title.clone(),
                s.category.clone(),
                r.registration.to_owned(),
                r.state.to_owned(),
                r.unit,
                s.reply_due_on.map(|d| d.to_string()).unwrap_or_default(),
                r.light.map(|l| l.text).unwrap_or_default(),
                s.last_grade.as_deref().map(grade_text).unwrap_or_default(),
                s.last_rating
                    .as_deref()
                    .and_then(Satisfaction::parse)
                    .map(|r| r.label().to_owned())
                    .unwrap_or_default(),
            ]);
        }
        match page.next.and_then(|n| n.parse().ok()) {
            Some(n) if rows.len() < LEDGER_CAP => f.before_id = Some(n),
            _ => break,
        }
    }
    let matching = matching.unwrap_or(0);
    let mut note = format!(
        "导出时间：{}；导出人：{}；分类页：{}；共{}条。",
        local_time(time::OffsetDateTime::now_utc()),
        staff.auth.user.display_name,
        current.label,
        rows.len()
    );
    if matching > rows.len() as i64 {
        note.push_str(&format!(
            "注意：符合条件的共{matching}条，超过单次导出上限，本文件只含最新的{}条。",
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
            entity: "suggestion",
            entity_id: staff
                .auth
                .user
                .scope_code
                .clone()
                .unwrap_or_else(|| "all".into()),
            summary: format!(
                "导出闭会建议台账；分类页：{}；{}条",
                current.label,
                rows.len()
            ),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let bytes = tokio::task::spawn_blocking(move || {
        liaison_docs::ledger::table_xlsx(&liaison_docs::ledger::Table {
            sheet: "建议台账",
            title: "闭会期间代表建议办理台账",
            note: &note,
            headers: &[
                "建议编号",
                "提交时间",
                "领衔代表",
                "联名代表",
                "标题",
                "分类",
                "立案方式",
                "状态",
                "主办单位",
                "答复期限",
                "红黄绿灯",
                "答复等级",
                "代表评价",
            ],
            widths: &[
                14.0, 17.0, 10.0, 18.0, 36.0, 12.0, 14.0, 14.0, 24.0, 12.0, 12.0, 20.0, 10.0,
            ],
            rows: &rows,
        })
    })
    .await
    .map_err(|e| PageError::Internal(e.to_string()))?
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let filename = format!("闭会建议台账-{today}.xlsx");
    Ok(crate::routes::xlsx_download(
        bytes,
        "suggestions.xlsx",
        &filename,
    ))
}

// ---------------------------------------------------------------------------------------------
// Drafts

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct DraftForm {
    title: String,
    body: String,
    category: String,
    version: String,
}

#[derive(Template)]
#[template(path = "suggestions/new.html")]
struct NewPage {
    layout: Layout,
    form: DraftForm,
    categories: Vec<Choice>,
    errors: Vec<FieldError>,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn category_choices(chosen: &str) -> Vec<Choice> {
    crate::routes::opinions_work::CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), (*c).to_owned(), chosen == *c))
        .collect()
}

/// `GET /work/suggestions/new`.
async fn new_draft(staff: Staff) -> PageResult {
    staff.require(&[Role::Deputy])?;
    render(&NewPage {
        layout: Layout::staff(&staff, "起草闭会建议", "suggestions"),
        form: DraftForm::default(),
        categories: category_choices(""),
        errors: Vec::new(),
    })
}

/// `POST /work/suggestions/new`.
async fn create_draft(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<DraftForm>,
) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    let Some(deputy_id) = p.deputy_id else {
        return Err(PageError::Forbidden(
            "该账号未关联代表，不能起草建议".into(),
        ));
    };
    match draft_fields(&form.title, &form.body, &form.category) {
        Err(errors) => {
            let resp = render(&NewPage {
                layout: Layout::staff(&staff, "起草闭会建议", "suggestions"),
                categories: category_choices(&form.category),
                form,
                errors,
            })?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
        Ok((title, body, category)) => {
            let rules = state.rules.read().await;
            let id = suggestions::create_draft(
                &state.db,
                &state.keys,
                &state.opinion_rules(&rules),
                &staff.ctx.actor(),
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
            Ok(Redirect::to(&format!("/work/suggestions/{id}?notice=drafted")).into_response())
        }
    }
}

/// `POST /work/suggestions/{id}/edit` — saves a draft.
async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DraftForm>,
) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    detail_for(&state, p, id).await.map_err(page_error)?;
    let failure = match draft_fields(&form.title, &form.body, &form.category) {
        Err(errors) => errors
            .into_iter()
            .next()
            .map(|e| (e.field, e.message))
            .unwrap_or_default(),
        Ok((title, body, category)) => {
            match suggestions::update_draft(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                p,
                id,
                &title,
                &body,
                &category,
                form.version.trim().parse().ok(),
            )
            .await
            {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/work/suggestions/{id}?notice=saved"))
                            .into_response(),
                    );
                }
                Err(e) => {
                    let api = crate::api::opinions::act_error(e);
                    if api.status.is_server_error() {
                        return Err(page_error(api));
                    }
                    (String::new(), api.message)
                }
            }
        }
    };
    let resp = detail_page(
        &state,
        &staff,
        id,
        Extra {
            draft: Some((form, failure.0, failure.1)),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct SupplementForm {
    content: String,
}

/// `POST /work/suggestions/{id}/supplements`.
async fn supplement(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SupplementForm>,
) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    detail_for(&state, p, id).await.map_err(page_error)?;
    let message =
        match validate::required_text("content", "补充材料", &form.content, suggestions::TEXT_MAX)
        {
            Err(e) => e.message,
            Ok(content) => {
                match suggestions::add_supplement(
                    &state.db,
                    &state.keys,
                    &staff.ctx.actor(),
                    p,
                    id,
                    &content,
                )
                .await
                {
                    Ok(_) => {
                        return Ok(Redirect::to(&format!(
                            "/work/suggestions/{id}?notice=supplemented"
                        ))
                        .into_response());
                    }
                    Err(e) => {
                        let api = crate::api::opinions::act_error(e);
                        if api.status.is_server_error() {
                            return Err(page_error(api));
                        }
                        api.message
                    }
                }
            }
        };
    let resp = detail_page(
        &state,
        &staff,
        id,
        Extra {
            supplement: Some((form.content, message)),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
}

// ---------------------------------------------------------------------------------------------
// Item page and actions

/// An action form as the user typed it (kept when it is refused).
#[derive(Debug, Default, Clone)]
struct ActForm {
    action: String,
    version: String,
    cosigner: String,
    registration: String,
    unit_id: String,
    co_unit_ids: Vec<String>,
    due_on: String,
    reason: String,
    content: String,
    resolution_grade: String,
    rating: String,
    comment: String,
    held_on: String,
    mode: String,
}

impl ActForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = ActForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "action" => f.action = v,
                "version" => f.version = v,
                "cosigner" => f.cosigner = v,
                "registration" => f.registration = v,
                "unit_id" => f.unit_id = v,
                "co_unit_ids" if !v.trim().is_empty() => f.co_unit_ids.push(v),
                "due_on" => f.due_on = v,
                "reason" => f.reason = v,
                "content" => f.content = v,
                "resolution_grade" => f.resolution_grade = v,
                "rating" => f.rating = v,
                "comment" => f.comment = v,
                "held_on" => f.held_on = v,
                "mode" => f.mode = v,
                _ => {}
            }
        }
        f
    }

    /// The storage layer's input, or the field and message of the first problem.
    fn input(&self, action: SuggestionAction) -> Result<SuggestionInput, (&'static str, String)> {
        use SuggestionAction as A;
        let text = |field: &'static str, label: &str, v: &str, max: usize| {
            validate::optional_text(field, label, v, max)
                .map(|s| Some(s).filter(|s| !s.is_empty()))
                .map_err(|e| (field, e.message))
        };
        let date = |field: &'static str, v: &str| match v.trim() {
            "" => Ok(None),
            d => crate::api::opinions::parse_date(field, d)
                .map(Some)
                .map_err(|e| (field, e.message)),
        };
        let id = |field: &'static str, v: &str, msg: &str| match v.trim() {
            "" => Ok(None),
            x => x
                .parse::<i64>()
                .map(Some)
                .map_err(|_| (field, msg.to_owned())),
        };
        let mut co_unit_ids = Vec::new();
        for c in &self.co_unit_ids {
            co_unit_ids.push(
                c.trim()
                    .parse::<i64>()
                    .map_err(|_| ("co_unit_ids", "请从列表中选择协办单位".to_owned()))?,
            );
        }
        let input = SuggestionInput {
            cosigner_deputy_id: id("cosigner", &self.cosigner, "请从列表中选择代表")?,
            registration: match self.registration.trim() {
                "" => None,
                r => Some(
                    Registration::parse(r).ok_or(("registration", "请选择立案方式".to_owned()))?,
                ),
            },
            unit_id: id("unit_id", &self.unit_id, "请从列表中选择主办单位")?,
            co_unit_ids,
            due_on: date("due_on", &self.due_on)?,
            reason: text("reason", "理由", &self.reason, 1000)?,
            content: text("content", "内容", &self.content, suggestions::TEXT_MAX)?,
            resolution_grade: match self.resolution_grade.trim() {
                "" => None,
                g => Some(ResolutionGrade::parse(g).ok_or((
                    "resolution_grade",
                    "请从 A、B、C、D 中选择解决程度".to_owned(),
                ))?),
            },
            rating: match self.rating.trim() {
                "" => None,
                r => Some(
                    Satisfaction::parse(r)
                        .ok_or(("rating", "请选择满意、基本满意或不满意".to_owned()))?,
                ),
            },
            comment: text("comment", "评价意见", &self.comment, 500)?,
            held_on: date("held_on", &self.held_on)?,
            mode: Some(self.mode.trim().to_owned()).filter(|m| !m.is_empty()),
            expected_version: self.version.trim().parse().ok(),
        };
        match action {
            A::InviteCosigner if input.cosigner_deputy_id.is_none() => {
                Err(("cosigner", "请选择要邀请联名的代表".to_owned()))
            }
            A::Assign if input.unit_id.is_none() => Err(("unit_id", "请选择主办单位".to_owned())),
            A::Reply | A::SecondReply | A::SubmitCoOpinion | A::RecordConsultation
                if input.content.is_none() =>
            {
                Err(("content", "请填写内容".to_owned()))
            }
            A::RecordConsultation if input.held_on.is_none() => {
                Err(("held_on", "请填写面商日期".to_owned()))
            }
            _ => Ok(input),
        }
    }
}

/// The form field a refusal is about, so the message appears next to it.
fn error_field(e: &ActError, action: SuggestionAction) -> &'static str {
    use SuggestionAction as A;
    match e {
        ActError::Workflow(WorkflowError::Refused { guard, .. }) => match guard {
            Guard::ReasonGiven | Guard::ReasonIfUnsatisfied => "reason",
            Guard::GradeGiven => "resolution_grade",
            Guard::RatingGiven => "rating",
            Guard::RegistrationGiven => "registration",
            Guard::DueDateValid => "due_on",
            _ => "",
        },
        ActError::Invalid(m) => match action {
            A::InviteCosigner => "cosigner",
            A::Assign => "unit_id",
            A::RecordConsultation if m.contains("日期") => "held_on",
            A::RecordConsultation if m.contains("方式") => "mode",
            A::Reply | A::SecondReply | A::SubmitCoOpinion | A::RecordConsultation => "content",
            A::Rate => "comment",
            _ => "",
        },
        _ => "",
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

/// A free-text field of an action form.
#[derive(Debug, Clone)]
struct TextField {
    label: &'static str,
    hint: &'static str,
    required: bool,
    value: String,
}

/// One action form of the item page, with only the fields its action needs.
#[derive(Debug, Clone)]
struct ActionForm {
    code: &'static str,
    label: &'static str,
    hint: String,
    version: i64,
    deputies: Option<Vec<Choice>>,
    registrations: Option<Vec<Choice>>,
    lead_units: Option<Vec<Choice>>,
    co_units: Vec<Choice>,
    due: Option<(String, String)>,
    held_on: Option<String>,
    modes: Option<Vec<Choice>>,
    content: Option<TextField>,
    grades: Option<Vec<Choice>>,
    ratings: Option<Vec<Choice>>,
    comment: Option<String>,
    reason: Option<TextField>,
    error: Option<String>,
    error_field: &'static str,
    open: bool,
}

impl ActionForm {
    fn error_at(&self, field: &str) -> Option<&str> {
        match &self.error {
            Some(m) if self.error_field == field => Some(m.as_str()),
            _ => None,
        }
    }

    fn form_error(&self) -> Option<&str> {
        self.error_at("")
    }

    fn has_field(&self, field: &str) -> bool {
        match field {
            "cosigner" => self.deputies.is_some(),
            "registration" => self.registrations.is_some(),
            "unit_id" | "co_unit_ids" => self.lead_units.is_some(),
            "due_on" => self.due.is_some(),
            "held_on" => self.held_on.is_some(),
            "mode" => self.modes.is_some(),
            "content" => self.content.is_some(),
            "resolution_grade" => self.grades.is_some(),
            "rating" => self.ratings.is_some(),
            "comment" => self.comment.is_some(),
            "reason" => self.reason.is_some(),
            _ => false,
        }
    }
}

/// What the action forms need besides the item.
struct FormData {
    version: i64,
    deputies: Vec<(i64, String)>,
    units: Vec<(i64, String)>,
    assign_due: time::Date,
    latest_due: time::Date,
    today: time::Date,
    unsatisfied: bool,
}

fn text_field(label: &'static str, hint: &'static str, required: bool) -> Option<TextField> {
    Some(TextField {
        label,
        hint,
        required,
        value: String::new(),
    })
}

fn blank_form(action: SuggestionAction, data: &FormData) -> ActionForm {
    use SuggestionAction as A;
    let mut f = ActionForm {
        code: action.code(),
        label: action.label(),
        hint: String::new(),
        version: data.version,
        deputies: None,
        registrations: None,
        lead_units: None,
        co_units: Vec::new(),
        due: None,
        held_on: None,
        modes: None,
        content: None,
        grades: None,
        ratings: None,
        comment: None,
        reason: None,
        error: None,
        error_field: "",
        open: !matches!(
            action,
            A::InviteCosigner | A::WithdrawCosign | A::RequestReturn | A::Close
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
        A::InviteCosigner => {
            f.hint = "联名代表签署后随建议一并提交；提交前可以撤回。".into();
            f.deputies = Some(
                data.deputies
                    .iter()
                    .map(|(id, name)| (id.to_string(), name.clone(), false))
                    .collect(),
            );
        }
        A::Cosign => f.hint = "同意联名后，您的名字随建议一并提交；提交前可以撤回。".into(),
        A::WithdrawCosign => f.hint = "建议提交前可以撤回联名；提交后不能撤回。".into(),
        A::Submit => {
            f.hint = "提交后建议内容即固定，不能再修改；之后的新情况可作为补充材料添加。尚未答复的联名邀请将失效。".into();
        }
        A::Register => {
            f.hint = "作为建议立案的，随后交办承办单位；转作议案或转供参考的，立案后办结。".into();
            f.registrations = Some(
                Registration::ALL
                    .iter()
                    .map(|r| (r.code().to_owned(), r.label().to_owned(), false))
                    .collect(),
            );
        }
        A::Assign => {
            f.hint = "主办单位应在3个月内答复，复杂问题最长6个月；协办单位应在1个月内向主办单位提出协办意见。".into();
            f.lead_units = Some(
                data.units
                    .iter()
                    .map(|(id, n)| (id.to_string(), n.clone(), false))
                    .collect(),
            );
            f.co_units = data
                .units
                .iter()
                .map(|(id, n)| (id.to_string(), n.clone(), false))
                .collect();
            f.due = Some((
                data.assign_due.to_string(),
                format!(
                    "默认交办后3个月（{}）；最晚 {}（6个月）。",
                    data.assign_due, data.latest_due
                ),
            ));
        }
        A::Acknowledge => f.hint = "签收后请及时与代表面商，办理并答复。".into(),
        A::RequestReturn => {
            f.hint =
                "不属于本单位职责的，可在交办后7个工作日内申请退回，写明理由和建议的承办单位。"
                    .into();
            f.reason = text_field("退回理由", "", true);
        }
        A::ApproveReturn => f.hint = "同意后建议回到待交办，可改派其他单位。".into(),
        A::RejectReturn => f.reason = text_field("不同意退回的理由", "", true),
        A::RecordConsultation => {
            f.hint = "记录与代表当面座谈、实地走访或电话沟通的情况；首次面商后进入办理中。".into();
            f.held_on = Some(data.today.to_string());
            f.modes = Some(
                suggestions::CONSULTATION_MODES
                    .iter()
                    .map(|(c, l)| ((*c).to_owned(), (*l).to_owned(), *c == "face_to_face"))
                    .collect(),
            );
            f.content = text_field("面商情况", "代表的意见、单位的说明、商定的办理措施。", true);
        }
        A::SubmitCoOpinion => {
            f.hint = "协办单位应在交办后1个月内向主办单位提出协办意见。".into();
            f.content = text_field("协办意见", "", true);
        }
        A::Reply | A::SecondReply => {
            f.hint = if action == A::Reply {
                "答复代表并选择解决程度；B、C 类在办结后继续跟踪，解决后再次答复。".into()
            } else {
                "问题解决后再次答复代表。".into()
            };
            f.content = text_field("答复内容", "写明办理过程、结果和依据，最多5000字。", true);
            f.grades = grades();
        }
        A::Rate => {
            f.hint = "对办理结果不满意的，代表工作机构将安排重新办理，1个月内再次答复。".into();
            f.ratings = Some(
                Satisfaction::ALL
                    .iter()
                    .map(|r| (r.code().to_owned(), r.label().to_owned(), false))
                    .collect(),
            );
            f.comment = Some(String::new());
        }
        A::Rehandle => f.hint = "代表不满意的，交承办单位重新办理，1个月内再次答复。".into(),
        A::Close => {
            f.reason = text_field(
                if data.unsatisfied {
                    "办结理由（代表不满意，须填写）"
                } else {
                    "办结说明（可不填）"
                },
                "",
                data.unsatisfied,
            );
            f.hint = "答复为 B、C 类的，办结后进入跟踪督办，直至再次答复。".into();
        }
    }
    f
}

fn typed_form(mut f: ActionForm, typed: &ActForm, failure: &Failure) -> ActionForm {
    let pick = |list: &mut Option<Vec<Choice>>, v: &str| {
        if let Some(l) = list {
            for (value, _, chosen) in l.iter_mut() {
                *chosen = value == v;
            }
        }
    };
    pick(&mut f.deputies, &typed.cosigner);
    pick(&mut f.registrations, &typed.registration);
    pick(&mut f.lead_units, &typed.unit_id);
    pick(&mut f.grades, &typed.resolution_grade);
    pick(&mut f.ratings, &typed.rating);
    pick(&mut f.modes, &typed.mode);
    for (v, _, chosen) in f.co_units.iter_mut() {
        *chosen = typed.co_unit_ids.contains(v);
    }
    if let Some((value, _)) = &mut f.due {
        *value = typed.due_on.clone();
    }
    if f.held_on.is_some() {
        f.held_on = Some(typed.held_on.clone());
    }
    if let Some(c) = &mut f.content {
        c.value = typed.content.clone();
    }
    if f.comment.is_some() {
        f.comment = Some(typed.comment.clone());
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

struct RecordView {
    kind: &'static str,
    by: String,
    meta: String,
    content: String,
    at: String,
}

struct EventView {
    at: String,
    actor: String,
    label: String,
    change: String,
    note: String,
}

#[derive(Template)]
#[template(path = "suggestions/detail.html")]
struct DetailPage {
    layout: Layout,
    d: SuggestionDetail,
    registration: &'static str,
    due: Option<String>,
    light: Option<Light>,
    cosigners: Vec<(String, &'static str)>,
    units: Vec<(String, &'static str, String, String)>,
    records: Vec<RecordView>,
    timeline: Vec<EventView>,
    forms: Vec<ActionForm>,
    failure: Option<Failure>,
    /// The draft's edit form (the proposing deputy, while a draft): (form, field, error).
    draft: Option<(DraftForm, String, String)>,
    categories: Vec<Choice>,
    /// The supplement form (the proposing deputy, after submission): (typed, error).
    supplement: Option<(String, String)>,
    submitted_at: String,
    snapshot_cosigners: String,
}

impl DetailPage {
    fn draft_error(&self, field: &str) -> Option<&str> {
        match &self.draft {
            Some((_, f, m)) if f == field && !m.is_empty() => Some(m.as_str()),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Extra {
    notice: Option<String>,
    failure: Option<(Failure, ActForm)>,
    draft: Option<(DraftForm, String, String)>,
    supplement: Option<(String, String)>,
}

/// `GET /work/suggestions/{id}`.
async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    detail_page(
        &state,
        &staff,
        id,
        Extra {
            notice: done_notice(&q.notice),
            ..Default::default()
        },
    )
    .await
}

fn done_notice(code: &str) -> Option<String> {
    use SuggestionAction as A;
    Some(match code {
        "" => return None,
        "drafted" => "草稿已保存。可以邀请其他代表联名，修改完成后提交。".to_owned(),
        "saved" => "草稿已保存。".to_owned(),
        "supplemented" => "补充材料已添加，代表工作机构和承办单位将收到通知。".to_owned(),
        other => match SuggestionAction::parse(other)? {
            A::Submit => "建议已提交，内容已固定；代表工作机构将审核立案。".to_owned(),
            A::Register => "已立案。".to_owned(),
            A::Assign => "已交办，承办单位将收到通知。".to_owned(),
            A::Acknowledge => "已签收。请及时与代表面商并办理。".to_owned(),
            A::Reply => "已答复，等待代表评价。".to_owned(),
            A::Rate => "评价已提交，感谢您的评价。".to_owned(),
            A::InviteCosigner => "已邀请联名，被邀请的代表将收到通知。".to_owned(),
            A::Cosign => "您已联名这件建议。".to_owned(),
            A::WithdrawCosign => "您已撤回联名。".to_owned(),
            a => format!("已完成“{}”。", a.label()),
        },
    })
}

async fn detail_page(state: &AppState, staff: &Staff, id: i64, extra: Extra) -> PageResult {
    let p = &staff.auth.principal;
    let d = detail_for(state, p, id).await.map_err(page_error)?;
    let s = suggestions::get(&state.db, id).await?;
    let available: Vec<SuggestionAction> = d
        .available_actions
        .iter()
        .filter_map(|c| SuggestionAction::parse(c))
        .collect();
    let today = liaison_db::handling::today();
    let (light, assign_due, latest_due) = {
        let rules = state.rules.read().await;
        let ctx = liaison_core::workflow::Context::new(today, &rules.calendar, &rules.sla);
        (
            s.due_on
                .map(|d| light_view(liaison_core::sla::light(today, d, &rules.calendar))),
            ctx.due_after(SlaItem::SuggestionReply),
            rules
                .sla
                .suggestion
                .reply_max
                .due_from(today, &rules.calendar),
        )
    };
    let deputies = if available.contains(&SuggestionAction::InviteCosigner) {
        invitable_deputies(state, &s, &d).await?
    } else {
        Vec::new()
    };
    let units = if available.contains(&SuggestionAction::Assign) {
        let page = directory::list_units(
            &state.db,
            &p.scope(),
            &UnitFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
        page.items.into_iter().map(|u| (u.id, u.name)).collect()
    } else {
        Vec::new()
    };
    let data = FormData {
        version: d.version,
        deputies,
        units,
        assign_due,
        latest_due,
        today,
        unsatisfied: s.last_rating.as_deref() == Some("unsatisfied"),
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
        for f in &mut forms {
            f.open = true;
        }
    }
    let is_lead_deputy = p.role == Role::Deputy && p.deputy_id == Some(s.deputy_id);
    let draft = (is_lead_deputy && s.state() == SuggestionState::Draft).then(|| {
        extra.draft.clone().unwrap_or_else(|| {
            (
                DraftForm {
                    title: s.title.clone(),
                    body: s.body.clone(),
                    category: s.category.clone(),
                    version: s.version.to_string(),
                },
                String::new(),
                String::new(),
            )
        })
    });
    let supplement = (is_lead_deputy
        && !matches!(s.state(), SuggestionState::Draft | SuggestionState::Closed))
    .then(|| extra.supplement.clone().unwrap_or_default());
    let categories = category_choices(
        draft
            .as_ref()
            .map_or(s.category.as_str(), |(f, _, _)| f.category.as_str()),
    );
    let records = d
        .records
        .iter()
        .map(|r| {
            let (kind, meta) = match r.kind.as_str() {
                "supplement" => ("补充材料", String::new()),
                "consultation" => (
                    "面商记录",
                    format!(
                        "{} · {}",
                        r.on.clone().unwrap_or_default(),
                        suggestions::mode_label(r.code.as_deref().unwrap_or(""))
                    ),
                ),
                "co_opinion" => ("协办意见", String::new()),
                "reply" => (
                    "答复",
                    format!("解决程度：{}", grade_text(r.code.as_deref().unwrap_or(""))),
                ),
                "second_reply" => (
                    "再次答复",
                    format!("解决程度：{}", grade_text(r.code.as_deref().unwrap_or(""))),
                ),
                "rating" => (
                    "代表评价",
                    r.code
                        .as_deref()
                        .and_then(Satisfaction::parse)
                        .map(|x| x.label().to_owned())
                        .unwrap_or_default(),
                ),
                _ => ("记录", String::new()),
            };
            RecordView {
                kind,
                by: r.by.clone(),
                meta,
                content: r.content.clone(),
                at: local_rfc3339(&r.at),
            }
        })
        .collect();
    let snapshot_cosigners = d
        .snapshot
        .as_ref()
        .map(|x| x.cosigners.join("、"))
        .unwrap_or_default();
    render(&DetailPage {
        layout: Layout::staff(
            staff,
            format!(
                "{} {}",
                d.number.clone().unwrap_or_else(|| "建议草稿".into()),
                d.title
            ),
            "suggestions",
        )
        .with_notice(extra.notice),
        registration: s.registration().map_or("", Registration::label),
        due: s.due_on.map(|x| {
            format!(
                "{x}（{}）",
                s.due_kind
                    .as_deref()
                    .and_then(liaison_core::workflow::DueKind::parse)
                    .map_or("", |k| k.label())
            )
        }),
        light,
        cosigners: d
            .cosigners
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    suggestions::cosigner_status_label(&c.status),
                )
            })
            .collect(),
        units: d
            .units
            .iter()
            .map(|u| {
                (
                    u.name.clone(),
                    if u.is_lead { "主办" } else { "协办" },
                    if !u.active {
                        "已结束".to_owned()
                    } else if u.is_lead {
                        u.acknowledged_at
                            .as_deref()
                            .map(|a| format!("已签收 {}", local_rfc3339(a)))
                            .unwrap_or_else(|| "未签收".into())
                    } else {
                        match (&u.co_opinion_at, &u.co_opinion_due_on) {
                            (Some(a), _) => format!("已提出协办意见 {}", local_rfc3339(a)),
                            (None, Some(due)) => format!("协办意见期限 {due}"),
                            (None, None) => String::new(),
                        }
                    },
                    format!("第{}轮", u.round),
                )
            })
            .collect(),
        records,
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
                    _ => state_label(&e.to_state).to_owned(),
                },
                note: e.note.clone(),
            })
            .collect(),
        forms,
        failure,
        draft,
        categories,
        supplement,
        submitted_at: d
            .submitted_at
            .as_deref()
            .map(local_rfc3339)
            .unwrap_or_default(),
        snapshot_cosigners,
        d,
    })
}

/// Deputies a proposing deputy may invite: those of the same county (or of the deputy's own
/// region when it is above county level), not the deputy and not already invited.
async fn invitable_deputies(
    state: &AppState,
    s: &Suggestion,
    d: &SuggestionDetail,
) -> PageResult<Vec<(i64, String)>> {
    let path = suggestions::cosigner_region(&s.region_path);
    let page = directory::list_deputies(
        &state.db,
        None,
        &DeputyFilter {
            region_path: Some(path),
            limit: 500,
            ..Default::default()
        },
    )
    .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|x| {
            x.id != s.deputy_id
                && !d
                    .cosigners
                    .iter()
                    .any(|c| c.deputy_id == x.id && c.status != "withdrawn")
        })
        .map(|x| (x.id, format!("{}（{}）", x.name, x.code)))
        .collect())
}

/// `POST /work/suggestions/{id}/act` — one action; on refusal the page again, with the message
/// next to the form and what was typed kept.
async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    staff.require(WORK_ROLES)?;
    let p = &staff.auth.principal;
    detail_for(&state, p, id).await.map_err(page_error)?;
    let form = ActForm::from_pairs(pairs);
    let Some(action) = SuggestionAction::parse(form.action.trim()) else {
        return Err(PageError::BadRequest(
            "未知的操作。请返回建议页面，刷新后重新操作。".into(),
        ));
    };
    let fail = |field: &'static str, message: String| Failure {
        action: action.code().to_owned(),
        label: action.label(),
        message,
        field,
    };
    let input = match form.input(action) {
        Ok(i) => i,
        Err((field, message)) => {
            return refused(&state, &staff, id, fail(field, message), form).await;
        }
    };
    match take_action(&state, p, &staff.ctx.actor(), id, action, &input).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/work/suggestions/{id}?notice={}", action.code()))
                .into_response(),
        ),
        Err(e) => {
            let field = error_field(&e, action);
            let api = crate::api::opinions::act_error(e);
            if api.status.is_server_error() || api.status == StatusCode::NOT_FOUND {
                return Err(page_error(api));
            }
            refused(&state, &staff, id, fail(field, api.message), form).await
        }
    }
}

async fn refused(
    state: &AppState,
    staff: &Staff,
    id: i64,
    f: Failure,
    typed: ActForm,
) -> PageResult {
    let resp = detail_page(
        state,
        staff,
        id,
        Extra {
            failure: Some((f, typed)),
            ..Default::default()
        },
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
}

/// Counts for the deputy workbench: (drafts, invitations, in handling, to rate).
pub async fn deputy_counts(
    state: &AppState,
    p: &Principal,
) -> PageResult<Vec<(&'static str, &'static str, i64)>> {
    let scope = suggestions::list_scope(p);
    let mut out = Vec::new();
    for t in tabs_for(Role::Deputy) {
        if t.key == "closed" || t.key == "cosigned" {
            continue;
        }
        let f = tab_filter(
            &t,
            &SuggestionFilter {
                limit: 1,
                ..Default::default()
            },
            p,
        );
        out.push((
            t.key,
            t.label,
            suggestions::count(&state.db, &scope, &f).await?,
        ));
    }
    Ok(out)
}
