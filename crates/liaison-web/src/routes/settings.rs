//! Configuration of the opinion loop by the city liaison centre and the system administrator:
//! the working-day calendar (next year's State Council notice, without a release), the deadline
//! table (a form per category × urgency, with the JSON text as an advanced fallback), and the
//! category × region → handling-unit routing table.
//!
//! The deadline form's parsing, field mapping, validation and change sentences are pure and
//! live in `liaison_core::sla::form`; the handlers here read, save and render.

use crate::AppState;
use crate::auth::{CsrfForm, Staff};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use liaison_core::role::Role;
use liaison_core::sla::SlaTable;
// The form's parsing, field mapping and validation are pure and live beside the table.
use liaison_core::sla::form::{Intent, SlaForm, category_short, changes, read_form};
use liaison_core::workdays::YearNotice;
use liaison_db::directory;
use serde::Deserialize;
use std::collections::HashMap;

/// Settings routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/settings", get(settings_page))
        .route("/work/settings/calendar", post(save_calendar))
        .route("/work/settings/sla", post(save_sla))
        .route("/work/settings/deadlines", post(save_deadlines))
        .route("/work/settings/routes", post(save_route))
}

pub(crate) const CONFIG_ROLES: &[Role] = &[Role::SystemAdmin, Role::CityStaff];

/// The opinion categories (the 7 first-level labels of the classifier and 其他).
pub use liaison_core::sla::form::CATEGORIES;

struct RouteRow {
    category: String,
    region: String,
    unit: String,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    layout: Layout,
    missing_notice: Option<i32>,
    years: Vec<(i32, usize)>,
    next_year: i32,
    calendar_json: String,
    calendar_error: Option<String>,
    sla_json: String,
    sla_error: Option<String>,
    sla: SlaForm,
    routes: Vec<RouteRow>,
    categories: &'static [&'static str],
    route_form: (String, String, String),
    route_error: Option<String>,
}

async fn page(state: &AppState, staff: &Staff, notice: Option<String>) -> PageResult<SettingsPage> {
    let rules = state.rules.read().await;
    let years = rules
        .calendar
        .notices()
        .map(|n| (n.year, n.days.len()))
        .collect::<Vec<_>>();
    let next_year = years.iter().map(|(y, _)| *y).max().unwrap_or(2026) + 1;
    let routes = liaison_db::opinions::list_routes(&state.db)
        .await?
        .into_iter()
        .map(|(category, region, unit)| RouteRow {
            category,
            region,
            unit,
        })
        .collect();
    Ok(SettingsPage {
        layout: Layout::staff(staff, "办理规则设置", "settings").with_notice(notice),
        missing_notice: rules.calendar.missing_notice(liaison_db::opinions::today()),
        years,
        next_year,
        calendar_json: String::new(),
        calendar_error: None,
        sla_json: serde_json::to_string_pretty(&rules.sla).unwrap_or_default(),
        sla_error: None,
        sla: SlaForm::of_table(&rules.sla),
        routes,
        categories: CATEGORIES,
        route_form: Default::default(),
        route_error: None,
    })
}

/// `GET /work/settings`.
async fn settings_page(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.require(CONFIG_ROLES)?;
    render(&page(&state, &staff, None).await?)
}

#[derive(Deserialize)]
struct CalendarForm {
    notice: String,
}

/// `POST /work/settings/calendar` — adds or replaces a year's holiday notice.
async fn save_calendar(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(f): CsrfForm<CalendarForm>,
) -> PageResult {
    staff.require(CONFIG_ROLES)?;
    let parsed = YearNotice::from_json(&f.notice).and_then(|n| n.check().map(|()| n));
    match parsed {
        Ok(n) => {
            liaison_db::opinions::save_calendar_year(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                &n,
            )
            .await?;
            state.reload_rules().await?;
            render(
                &page(
                    &state,
                    &staff,
                    Some(format!(
                        "已保存{}年节假日安排，新的期限计算即刻生效。",
                        n.year
                    )),
                )
                .await?,
            )
        }
        Err(e) => {
            let mut p = page(&state, &staff, None).await?;
            p.calendar_json = f.notice;
            p.calendar_error = Some(e.to_string());
            render(&p)
        }
    }
}

#[derive(Deserialize)]
struct SlaJsonForm {
    table: String,
}

/// `POST /work/settings/sla` — replaces the deadline table (validated).
async fn save_sla(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(f): CsrfForm<SlaJsonForm>,
) -> PageResult {
    staff.require(CONFIG_ROLES)?;
    match SlaTable::from_json(&f.table) {
        Ok(t) => {
            liaison_db::opinions::save_sla(&state.db, &state.keys, &staff.ctx.actor(), &t).await?;
            state.reload_rules().await?;
            render(
                &page(
                    &state,
                    &staff,
                    Some("已保存办理期限表，对此后的操作生效。".into()),
                )
                .await?,
            )
        }
        Err(e) => {
            let mut p = page(&state, &staff, None).await?;
            p.sla_json = f.table;
            p.sla_error = Some(e.to_string());
            render(&p)
        }
    }
}

#[derive(Deserialize)]
struct RouteForm {
    category: String,
    region_code: String,
    unit_code: String,
}

/// `POST /work/settings/routes` — sets the default lead unit of a category in a region.
async fn save_route(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(f): CsrfForm<RouteForm>,
) -> PageResult {
    staff.require(CONFIG_ROLES)?;
    let region = directory::region_by_code(&state.db, f.region_code.trim()).await?;
    let unit = directory::list_units(
        &state.db,
        &liaison_core::scope::Scope::Everything,
        &directory::UnitFilter {
            q: Some(f.unit_code.trim().to_owned()),
            limit: 20,
            ..Default::default()
        },
    )
    .await?
    .items
    .into_iter()
    .find(|u| u.code == f.unit_code.trim());
    let error = if !CATEGORIES.contains(&f.category.as_str()) {
        Some("请选择分类".to_owned())
    } else if region.is_none() {
        Some(format!("区划代码“{}”不存在", f.region_code.trim()))
    } else if unit.is_none() {
        Some(format!("承办单位编码“{}”不存在", f.unit_code.trim()))
    } else {
        None
    };
    if let Some(e) = error {
        let mut p = page(&state, &staff, None).await?;
        p.route_form = (f.category, f.region_code, f.unit_code);
        p.route_error = Some(e);
        return render(&p);
    }
    let (Some(region), Some(unit)) = (region, unit) else {
        return Err(PageError::NotFound);
    };
    liaison_db::opinions::set_route(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &f.category,
        region.id,
        unit.id,
    )
    .await?;
    render(&page(&state, &staff, Some("已保存默认承办单位。".into())).await?)
}

/// `POST /work/settings/deadlines` — the deadline table from the form: “保存”, “预览修改” (what
/// the change means, nothing saved) or “添加分类” (a new row to fill in, nothing saved).
async fn save_deadlines(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    staff.require(CONFIG_ROLES)?;
    let current = state.rules.read().await.sla.clone();
    let (mut sla, table, intent) = read_form(&form, &current);
    let notice = match (intent, table) {
        (Intent::Save, Some(t)) if sla.errors.is_empty() => {
            let changed = changes(&current, &t);
            if changed.is_empty() {
                Some("期限表没有变化，未保存。".to_owned())
            } else {
                liaison_db::opinions::save_sla(&state.db, &state.keys, &staff.ctx.actor(), &t)
                    .await?;
                state.reload_rules().await?;
                let mut p = page(
                    &state,
                    &staff,
                    Some("已保存办理期限表，对此后交办、答复等操作生效。".into()),
                )
                .await?;
                p.sla.changes = changed;
                p.sla.changes_title = "本次修改：".into();
                return render(&p);
            }
        }
        (Intent::Preview, Some(t)) if sla.errors.is_empty() => {
            let changed = changes(&current, &t);
            sla.changes_title = if changed.is_empty() {
                "与现行期限表相比没有变化。".into()
            } else {
                "预览（尚未保存，确认无误后请点“保存期限表”）：".into()
            };
            sla.changes = changed;
            None
        }
        (Intent::Add(key), _) if sla.errors.iter().all(|(a, _)| a != "add_category") => {
            Some(format!(
                "已添加“{}”一行（与默认期限相同），请修改后保存。",
                category_short(&key)
            ))
        }
        _ => None,
    };
    let mut p = page(&state, &staff, notice).await?;
    p.sla = sla;
    render(&p)
}
