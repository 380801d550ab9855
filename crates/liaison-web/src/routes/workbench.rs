//! The workbench home: what the signed-in user's scope holds, and where to go next.

use crate::AppState;
use crate::auth::Staff;
use crate::error::PageResult;
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use liaison_db::directory::{self, Counts};
use serde::Deserialize;

/// Workbench routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/work", get(home))
}

#[derive(Template)]
#[template(path = "workbench/home.html")]
struct HomePage {
    layout: Layout,
    counts: Counts,
    shows_org: bool,
    role_code: &'static str,
    scope_name: String,
    deputy_code: Option<String>,
    todos: Vec<crate::routes::opinions_work::TodoCount>,
    /// The holiday notice that is missing, for those who may load it.
    missing_notice: Option<i32>,
}

#[derive(Deserialize)]
struct HomeQuery {
    notice: Option<String>,
}

/// `GET /work`.
async fn home(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<HomeQuery>,
) -> PageResult {
    let role = staff.auth.role();
    let scope = staff.auth.scope();
    let counts = directory::counts(&state.db, &scope).await?;
    let notice = match q.notice.as_deref() {
        Some("password") => Some("密码已修改。".to_owned()),
        _ => None,
    };
    let deputy_code = if role == liaison_core::role::Role::Deputy {
        staff.auth.user.scope_code.clone()
    } else {
        None
    };
    let todos = crate::routes::opinions_work::todo_counts(&state, &staff.auth.principal).await?;
    let missing_notice = if crate::routes::settings::CONFIG_ROLES.contains(&role) {
        state
            .rules
            .read()
            .await
            .calendar
            .missing_notice(liaison_db::opinions::today())
    } else {
        None
    };
    render(&HomePage {
        todos,
        missing_notice,
        layout: Layout::staff(&staff, "工作台", "home").with_notice(notice),
        counts,
        shows_org: role.is_business_staff() || role == liaison_core::role::Role::SystemAdmin,
        role_code: role.code(),
        scope_name: staff.auth.user.scope_name.clone().unwrap_or_default(),
        deputy_code,
    })
}
