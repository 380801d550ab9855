//! The deputy's workbench (代表工作台), phone first: items addressed to me, my suggestions by
//! stage, my duty record this year. Each block links to the module that does the work.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use liaison_core::duty::DutyKind;
use liaison_core::role::Role;
use liaison_core::workflow::OpinionState;
use liaison_db::duty_record::{self, DutyFilter};
use liaison_db::opinions::{self, OpinionFilter};

/// Deputy workbench routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/work/me", get(home))
}

/// Opinion states in which an item addressed to a deputy still needs someone's attention.
const OPEN: &[&str] = &[
    "submitted",
    "accepted",
    "assigned",
    "acknowledged",
    "handling",
    "extension_requested",
    "replied",
    "reviewed",
    "feedback_sent",
    "evaluated",
    "rehandling",
    "supervised",
    "return_requested",
];

#[derive(Template)]
#[template(path = "deputy/home.html")]
struct HomePage {
    layout: Layout,
    open_total: i64,
    opinions: Vec<(i64, String, String, &'static str)>,
    suggestion_counts: Vec<(&'static str, &'static str, i64)>,
    deputy_id: i64,
    year: i32,
    duty_total: i64,
    duty_recent: Vec<(String, &'static str, String)>,
}

/// `GET /work/me`.
async fn home(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    let deputy_id = p
        .deputy_id
        .ok_or_else(|| PageError::Forbidden("该账号未关联代表".into()))?;
    let page = opinions::list(
        &state.db,
        &opinions::list_scope(p),
        &OpinionFilter {
            deputy_id: Some(deputy_id),
            states: OPEN.iter().map(|s| (*s).to_owned()).collect(),
            limit: 5,
            ..Default::default()
        },
    )
    .await?;
    let year = liaison_db::handling::today().year();
    let summary = duty_record::summary(&state.db, deputy_id, year).await?;
    let recent = duty_record::list(
        &state.db,
        &duty_record::read_scope(p),
        &DutyFilter {
            deputy_id: Some(deputy_id),
            limit: 5,
            ..Default::default()
        },
    )
    .await?;
    render(&HomePage {
        layout: Layout::staff(&staff, "代表工作台", "me"),
        open_total: page.total,
        opinions: page
            .items
            .into_iter()
            .map(|o| {
                (
                    o.id,
                    o.tracking_no,
                    o.title,
                    OpinionState::parse(&o.state).map_or("", OpinionState::label),
                )
            })
            .collect(),
        suggestion_counts: crate::routes::suggestions::deputy_counts(&state, p).await?,
        deputy_id,
        year,
        duty_total: summary.iter().map(|k| k.count).sum(),
        duty_recent: recent
            .items
            .iter()
            .map(|e| {
                (
                    e.occurred_on.to_string(),
                    e.kind().map_or("其他", DutyKind::label),
                    e.title.clone(),
                )
            })
            .collect(),
    })
}
