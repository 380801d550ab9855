//! 履职档案 in the workbench: a deputy's record (timeline, yearly counts by kind, the form to
//! declare an offline duty), staff review of declarations, and the export as Excel.
//!
//! Entries from the system's own records (suggestions, answered opinions, activities) are
//! written by those modules; this module shows them and handles declarations. Who may read a
//! deputy's record follows `duty_record::read_scope`; a deputy outside it is a 404.

use crate::AppState;
use crate::api::duty_record::{
    DeclarationBody, DutyParams, Summary, declaration, deputy_for, filter_from, review_entry,
    summary,
};
use crate::auth::{CsrfForm, Staff};
use crate::error::{ApiError, PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::suggestions::local_time;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use liaison_core::duty::{DutyKind, DutyStatus};
use liaison_core::role::Role;
use liaison_core::validate::FieldError;
use liaison_db::audit::{self, Entry};
use liaison_db::directory::{self, DeputyFilter};
use liaison_db::duty_record::{self, DutyEntry, DutyFilter};
use serde::Deserialize;

/// Duty-record routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/duty-record", get(index))
        .route("/work/duty-record/{deputy_id}", get(deputy_page))
        .route("/work/duty-record/{deputy_id}/declare", post(declare))
        .route(
            "/work/duty-record/{deputy_id}/entries/{entry_id}/review",
            post(review),
        )
        .route("/work/duty-record/{deputy_id}/export.xlsx", get(export))
}

/// Roles that read duty records.
const ROLES: &[Role] = &[
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
    Role::Deputy,
];

fn page_error(e: ApiError) -> PageError {
    match e.status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden(e.message),
        s if s.is_server_error() => PageError::Internal(e.message),
        _ => PageError::BadRequest(e.message),
    }
}

/// An entry as shown.
struct EntryView {
    id: i64,
    day: String,
    kind: &'static str,
    title: String,
    detail: String,
    link: String,
    status: &'static str,
    pending: bool,
    rejected_note: String,
    deputy: String,
    deputy_id: i64,
}

fn view(e: &DutyEntry) -> EntryView {
    EntryView {
        id: e.id,
        day: e.occurred_on.to_string(),
        kind: e.kind().map_or("其他", DutyKind::label),
        title: e.title.clone(),
        detail: e.detail.clone(),
        link: e.link.clone(),
        status: e.status().label(),
        pending: e.status() == DutyStatus::PendingApproval,
        rejected_note: if e.status() == DutyStatus::Rejected {
            e.review_note.clone()
        } else {
            String::new()
        },
        deputy: e.deputy_name.clone(),
        deputy_id: e.deputy_id,
    }
}

#[derive(Template)]
#[template(path = "duty_record/index.html")]
struct IndexPage {
    layout: Layout,
    pending: Vec<EntryView>,
    pending_total: i64,
    deputies: Vec<(i64, String, String)>,
    q: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IndexQuery {
    q: String,
    notice: String,
}

/// `GET /work/duty-record` — a deputy's own record; for staff, declarations waiting for review
/// and the deputies of their scope.
async fn index(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<IndexQuery>,
) -> PageResult<Response> {
    staff.require(ROLES)?;
    let p = &staff.auth.principal;
    if p.role == Role::Deputy {
        let id = p
            .deputy_id
            .ok_or_else(|| PageError::Forbidden("该账号未关联代表".into()))?;
        return Ok(Redirect::to(&format!("/work/duty-record/{id}")).into_response());
    }
    let scope = duty_record::read_scope(p);
    let pending = duty_record::list(
        &state.db,
        &scope,
        &DutyFilter {
            statuses: vec![DutyStatus::PendingApproval],
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    let deputies = directory::list_deputies(
        &state.db,
        Some(&p.scope()),
        &DeputyFilter {
            q: Some(q.q.trim().to_owned()).filter(|s| !s.is_empty()),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    let notice = match q.notice.as_str() {
        "approve" => Some("已审核通过，记入代表履职档案。".to_owned()),
        "reject" => Some("已不予通过，理由将显示在代表的履职档案中。".to_owned()),
        _ => None,
    };
    render(&IndexPage {
        layout: Layout::staff(&staff, "代表履职档案", "duty_record").with_notice(notice),
        pending_total: pending.total,
        pending: pending.items.iter().map(view).collect(),
        deputies: deputies
            .items
            .into_iter()
            .map(|d| (d.id, d.name, d.station_name.unwrap_or(d.region_name)))
            .collect(),
        q: q.q,
    })
    .map(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "duty_record/deputy.html")]
struct DeputyPage {
    layout: Layout,
    deputy_id: i64,
    deputy_name: String,
    year: i32,
    years: Vec<(i32, bool)>,
    summary: Summary,
    entries: Vec<EntryView>,
    total: i64,
    next_href: Option<String>,
    own: bool,
    reviewer: bool,
    kinds: Vec<(String, String, bool)>,
    form: DeclareForm,
    errors: Vec<FieldError>,
    review_error: Option<(i64, String)>,
    today: String,
}

impl DeputyPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeputyQuery {
    year: String,
    after: String,
    notice: String,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
struct DeclareForm {
    kind: String,
    occurred_on: String,
    title: String,
    detail: String,
}

#[derive(Default)]
struct Extra {
    notice: Option<String>,
    form: Option<DeclareForm>,
    errors: Vec<FieldError>,
    review_error: Option<(i64, String)>,
}

/// `GET /work/duty-record/{deputy_id}`.
async fn deputy_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(deputy_id): Path<i64>,
    Query(q): Query<DeputyQuery>,
) -> PageResult {
    staff.require(ROLES)?;
    let notice = match q.notice.as_str() {
        "declared" => Some("已申报，等待工作人员审核。".to_owned()),
        "approve" => Some("已审核通过。".to_owned()),
        "reject" => Some("已不予通过。".to_owned()),
        _ => None,
    };
    page(
        &state,
        &staff,
        deputy_id,
        &q.year,
        &q.after,
        Extra {
            notice,
            ..Default::default()
        },
    )
    .await
}

async fn page(
    state: &AppState,
    staff: &Staff,
    deputy_id: i64,
    year: &str,
    after: &str,
    extra: Extra,
) -> PageResult {
    let p = &staff.auth.principal;
    let (_, _, name) = deputy_for(state, p, deputy_id).await.map_err(page_error)?;
    let params = DutyParams {
        year: Some(year.to_owned()).filter(|y| !y.is_empty()),
        after: Some(after.to_owned()).filter(|a| !a.is_empty()),
        limit: Some(50),
        ..Default::default()
    };
    let (f, year) = filter_from(deputy_id, &params).map_err(page_error)?;
    let list = duty_record::list(&state.db, &duty_record::read_scope(p), &f).await?;
    let this_year = liaison_db::handling::today().year();
    let own = p.role == Role::Deputy && p.deputy_id == Some(deputy_id);
    let form = extra.form.unwrap_or_default();
    render(&DeputyPage {
        layout: Layout::staff(staff, format!("{name}的履职档案"), "duty_record")
            .with_notice(extra.notice),
        deputy_id,
        years: (this_year - 4..=this_year)
            .rev()
            .map(|y| (y, y == year))
            .collect(),
        summary: summary(state, deputy_id, year).await.map_err(page_error)?,
        entries: list.items.iter().map(view).collect(),
        total: list.total,
        next_href: list
            .next
            .map(|n| format!("/work/duty-record/{deputy_id}?year={year}&after={n}")),
        own,
        reviewer: duty_record::may_review(p),
        kinds: DutyKind::DECLARABLE
            .iter()
            .map(|k| {
                (
                    k.code().to_owned(),
                    k.label().to_owned(),
                    form.kind == k.code(),
                )
            })
            .collect(),
        form,
        errors: extra.errors,
        review_error: extra.review_error,
        today: liaison_db::handling::today().to_string(),
        deputy_name: name,
        year,
    })
}

/// `POST /work/duty-record/{deputy_id}/declare` — the deputy declares an offline duty.
async fn declare(
    State(state): State<AppState>,
    staff: Staff,
    Path(deputy_id): Path<i64>,
    CsrfForm(form): CsrfForm<DeclareForm>,
) -> PageResult {
    staff.require(&[Role::Deputy])?;
    let p = &staff.auth.principal;
    if p.deputy_id != Some(deputy_id) {
        return Err(PageError::Forbidden(
            "线下履职由代表本人申报，不能为其他代表申报".into(),
        ));
    }
    let body = DeclarationBody {
        kind: form.kind.clone(),
        occurred_on: form.occurred_on.clone(),
        title: form.title.clone(),
        detail: form.detail.clone(),
    };
    match declaration(&body) {
        Err(errors) => {
            let resp = page(
                &state,
                &staff,
                deputy_id,
                "",
                "",
                Extra {
                    form: Some(form),
                    errors,
                    ..Default::default()
                },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
        Ok(d) => {
            duty_record::declare(
                &state.db,
                &state.keys,
                &staff.ctx.actor(),
                deputy_id,
                Some(p.user_id),
                &d,
            )
            .await?;
            Ok(
                Redirect::to(&format!("/work/duty-record/{deputy_id}?notice=declared"))
                    .into_response(),
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReviewForm {
    action: String,
    reason: String,
    back: String,
}

/// `POST /work/duty-record/{deputy_id}/entries/{entry_id}/review` — staff approve or reject.
async fn review(
    State(state): State<AppState>,
    staff: Staff,
    Path((deputy_id, entry_id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> PageResult {
    staff.require(ROLES)?;
    let p = &staff.auth.principal;
    deputy_for(&state, p, deputy_id).await.map_err(page_error)?;
    if !duty_record::may_review(p) {
        return Err(PageError::Forbidden(
            "只有代表工作人员可以审核履职申报".into(),
        ));
    }
    let entry = duty_record::get(&state.db, &duty_record::read_scope(p), entry_id).await?;
    if entry.deputy_id != deputy_id {
        return Err(PageError::NotFound);
    }
    let approve = form.action == "approve";
    let back_to_index = form.back == "index";
    match review_entry(&state, &staff.ctx.actor(), p, &entry, approve, &form.reason).await {
        Ok(_) => {
            let code = if approve { "approve" } else { "reject" };
            let to = if back_to_index {
                format!("/work/duty-record?notice={code}")
            } else {
                format!("/work/duty-record/{deputy_id}?notice={code}")
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) if e.status.is_server_error() => Err(page_error(e)),
        Err(e) => {
            let resp = page(
                &state,
                &staff,
                deputy_id,
                "",
                "",
                Extra {
                    review_error: Some((entry_id, e.message)),
                    ..Default::default()
                },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, resp).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExportQuery {
    year: String,
}

/// `GET /work/duty-record/{deputy_id}/export.xlsx` — the year's record and summary as Excel.
async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path(deputy_id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> PageResult<Response> {
    staff.require(ROLES)?;
    let p = &staff.auth.principal;
    let (_, code, name) = deputy_for(&state, p, deputy_id).await.map_err(page_error)?;
    let (mut f, year) = filter_from(
        deputy_id,
        &DutyParams {
            year: Some(q.year.clone()).filter(|y| !y.is_empty()),
            limit: Some(200),
            ..Default::default()
        },
    )
    .map_err(page_error)?;
    let scope = duty_record::read_scope(p);
    let mut rows: Vec<Vec<String>> = Vec::new();
    loop {
        let page = duty_record::list(&state.db, &scope, &f).await?;
        for e in &page.items {
            rows.push(vec![
                e.occurred_on.to_string(),
                e.kind().map_or("其他", DutyKind::label).to_owned(),
                e.title.clone(),
                e.detail.clone(),
                match e.source_kind.as_str() {
                    "offline" => "代表申报".to_owned(),
                    "suggestion" => "闭会建议".to_owned(),
                    "opinion" => "民意收集处理".to_owned(),
                    "activity" => "主题活动".to_owned(),
                    other => other.to_owned(),
                },
                e.status().label().to_owned(),
                e.review_note.clone(),
                local_time(e.created_at),
            ]);
        }
        match page.next.and_then(|n| n.parse().ok()) {
            Some(n) => f.before_id = Some(n),
            None => break,
        }
    }
    let s = summary(&state, deputy_id, year).await.map_err(page_error)?;
    let counted: Vec<String> = s
        .kinds
        .iter()
        .filter(|k| k.count > 0)
        .map(|k| format!("{}{}次", k.label, k.count))
        .collect();
    let note = format!(
        "{name}（{code}）{year}年履职记录，共{}条；计入统计{}条（{}）。导出时间：{}；导出人：{}。",
        rows.len(),
        s.total,
        if counted.is_empty() {
            "无".to_owned()
        } else {
            counted.join("，")
        },
        local_time(time::OffsetDateTime::now_utc()),
        staff.auth.user.display_name
    );
    let mut tx = state.db.begin().await?;
    audit::append(
        &mut tx,
        &state.keys,
        &staff.ctx.actor(),
        Entry {
            action: "export",
            entity: "duty_record",
            entity_id: code.clone(),
            summary: format!("导出{name}{year}年履职档案（{}条）", rows.len()),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let title = format!("{name}{year}年履职档案");
    let bytes = tokio::task::spawn_blocking(move || {
        liaison_docs::ledger::table_xlsx(&liaison_docs::ledger::Table {
            sheet: "履职档案",
            title: &title,
            note: &note,
            headers: &[
                "日期",
                "类型",
                "事项",
                "具体情况",
                "来源",
                "状态",
                "审核意见",
                "记录时间",
            ],
            widths: &[12.0, 16.0, 40.0, 30.0, 12.0, 12.0, 20.0, 17.0],
            rows: &rows,
        })
    })
    .await
    .map_err(|e| PageError::Internal(e.to_string()))?
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let filename = format!("履职档案-{name}-{year}.xlsx");
    Ok(crate::routes::xlsx_download(
        bytes,
        "duty-record.xlsx",
        &filename,
    ))
}
