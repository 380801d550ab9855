//! A deputy's duty record (履职档案) over the API: the entries with a yearly summary, a deputy's
//! declaration of an offline duty, and staff approval or rejection of declarations.

use crate::AppState;
use crate::api::opinions::parse_date;
use crate::api::suggestions::rfc3339;
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use liaison_core::duty::{DutyKind, DutyStatus};
use liaison_core::role::Role;
use liaison_core::scope::Principal;
use liaison_core::validate::{self, FieldError};
use liaison_db::duty_record::{self, Declaration, DutyEntry, DutyFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An entry.
#[derive(Serialize, ToSchema)]
pub struct DutyEntryView {
    /// Id.
    pub id: i64,
    /// Kind code (see `summary` for every kind).
    pub kind: String,
    /// Kind in Chinese.
    pub kind_label: String,
    /// Day (YYYY-MM-DD).
    pub occurred_on: String,
    /// Title.
    pub title: String,
    /// Detail.
    pub detail: String,
    /// Source kind: `suggestion`, `opinion`, `activity`, `offline`….
    pub source_kind: String,
    /// Source id.
    pub source_id: Option<i64>,
    /// Workbench link to the source.
    pub link: String,
    /// `recorded`, `pending_approval`, `approved` or `rejected`.
    pub status: String,
    /// Status in Chinese.
    pub status_label: String,
    /// Reason of a rejection.
    pub review_note: String,
    /// Recorded (RFC 3339).
    pub created_at: String,
}

impl From<DutyEntry> for DutyEntryView {
    fn from(e: DutyEntry) -> Self {
        DutyEntryView {
            kind_label: e.kind().map_or("", DutyKind::label).to_owned(),
            status_label: e.status().label().to_owned(),
            id: e.id,
            kind: e.kind,
            occurred_on: e.occurred_on.to_string(),
            title: e.title,
            detail: e.detail,
            source_kind: e.source_kind,
            source_id: e.source_id,
            link: e.link,
            status: e.status,
            review_note: e.review_note,
            created_at: rfc3339(&e.created_at),
        }
    }
}

/// The count of one kind in the year.
#[derive(Serialize, ToSchema)]
pub struct KindCountView {
    /// Kind code.
    pub kind: String,
    /// Kind in Chinese.
    pub label: String,
    /// Entries that count (recorded or approved).
    pub count: i64,
    /// Declarations waiting for review.
    pub pending: i64,
}

/// A deputy's year in numbers.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    /// Year.
    pub year: i32,
    /// Entries that count, all kinds.
    pub total: i64,
    /// Every kind, in order, zeros included.
    pub kinds: Vec<KindCountView>,
}

/// The entries of a page and the year's summary.
#[derive(Serialize, ToSchema)]
pub struct DutyRecordPage {
    /// Entries of this page, newest first.
    pub items: Vec<DutyEntryView>,
    /// Matching entries in all pages.
    pub total: i64,
    /// Cursor to pass as `after`; null on the last page.
    pub next: Option<String>,
    /// The year's counts by kind.
    pub summary: Summary,
}

/// Filters of a duty record.
#[derive(Deserialize, IntoParams, Default)]
pub struct DutyParams {
    /// Year (default this year; `all` for every year in the list, the summary stays per year).
    pub year: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Cursor from `next`.
    pub after: Option<String>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
}

/// The deputy `id` if `p` may read their record; 404 otherwise (not revealing others).
pub async fn deputy_for(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> ApiResult<(i64, String, String)> {
    duty_record::deputy_in_scope(&state.db, &duty_record::read_scope(p), id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The year's summary.
pub async fn summary(state: &AppState, deputy_id: i64, year: i32) -> ApiResult<Summary> {
    let kinds = duty_record::summary(&state.db, deputy_id, year).await?;
    Ok(Summary {
        year,
        total: kinds.iter().map(|k| k.count).sum(),
        kinds: kinds
            .into_iter()
            .map(|k| KindCountView {
                kind: k.kind.code().to_owned(),
                label: k.kind.label().to_owned(),
                count: k.count,
                pending: k.pending,
            })
            .collect(),
    })
}

/// The filter of a request: (filter, summary year).
pub fn filter_from(deputy_id: i64, q: &DutyParams) -> Result<(DutyFilter, i32), ApiError> {
    let this_year = liaison_db::handling::today().year();
    let invalid = |f: &str, m: &str| ApiError::validation(vec![FieldError::new(f, m)]);
    let (year, summary_year) = match q.year.as_deref().map(str::trim) {
        None | Some("") => (Some(this_year), this_year),
        Some("all") => (None, this_year),
        Some(y) => {
            let y: i32 = y
                .parse()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| invalid("year", "年份须为 2000—2100 之间的四位数字，或 all"))?;
            (Some(y), y)
        }
    };
    let kind = match q.kind.as_deref().filter(|s| !s.is_empty()) {
        Some(k) => Some(DutyKind::parse(k).ok_or_else(|| invalid("kind", "未知的履职类型"))?),
        None => None,
    };
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => vec![DutyStatus::parse(s).ok_or_else(|| invalid("status", "未知的状态"))?],
        None => Vec::new(),
    };
    let before_id = match q.after.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => Some(a.parse().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after 参数无效，请使用上一页返回的 next 值",
            )
        })?),
        None => None,
    };
    Ok((
        DutyFilter {
            deputy_id: Some(deputy_id),
            year,
            kind,
            statuses,
            before_id,
            limit: q.limit.unwrap_or(50).clamp(1, 200),
        },
        summary_year,
    ))
}

/// A deputy's duty record with the year's counts by kind (the deputy, and staff of the deputy's
/// region or station).
#[utoipa::path(get, path = "/api/v1/deputies/{id}/duty-record", tag = "duty_record", params(("id" = i64, Path, description = "代表 id"), DutyParams),
    security(("bearer" = [])),
    responses((status = 200, body = DutyRecordPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<DutyParams>,
) -> ApiResult<Json<DutyRecordPage>> {
    let p = &user.auth.principal;
    deputy_for(&state, p, id).await?;
    let (f, year) = filter_from(id, &q)?;
    let page = duty_record::list(&state.db, &duty_record::read_scope(p), &f).await?;
    Ok(Json(DutyRecordPage {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
        next: page.next,
        summary: summary(&state, id, year).await?,
    }))
}

/// An offline duty declared by the deputy.
#[derive(Deserialize, ToSchema, Default)]
pub struct DeclarationBody {
    /// Kind code (a declarable kind: not the ones the system records itself).
    #[serde(default)]
    pub kind: String,
    /// Day YYYY-MM-DD (not in the future).
    #[serde(default)]
    pub occurred_on: String,
    /// What it was (required, at most 100 characters).
    #[serde(default)]
    pub title: String,
    /// Place, people, outcome (optional, at most 2,000 characters).
    #[serde(default)]
    pub detail: String,
}

/// Validates a declaration, or returns the field errors.
pub fn declaration(b: &DeclarationBody) -> Result<Declaration, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = match DutyKind::parse(&b.kind) {
        Some(k) if k.is_declarable() => Some(k),
        Some(k) => {
            errors.push(FieldError::new(
                "kind",
                format!("“{}”由系统根据办理记录自动记入，不需要申报", k.label()),
            ));
            None
        }
        None => {
            errors.push(FieldError::new("kind", "请选择履职类型"));
            None
        }
    };
    let day = match parse_date("occurred_on", &b.occurred_on) {
        Ok(d) if d > liaison_db::handling::today() => {
            errors.push(FieldError::new("occurred_on", "履职日期不能晚于今天"));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let title = validate::required_text("title", "履职事项", &b.title, 100)
        .map_err(|e| errors.push(e))
        .ok();
    let detail = validate::optional_text("detail", "具体情况", &b.detail, 2000)
        .map_err(|e| errors.push(e))
        .ok();
    match (kind, day, title, detail) {
        (Some(kind), Some(occurred_on), Some(title), Some(detail)) if errors.is_empty() => {
            Ok(Declaration {
                kind,
                occurred_on,
                title,
                detail,
            })
        }
        _ => Err(errors),
    }
}

/// Declares an offline duty for staff approval (the deputy alone, for their own record).
#[utoipa::path(post, path = "/api/v1/deputies/{id}/duty-record", tag = "duty_record", params(("id" = i64, Path, description = "代表 id")),
    security(("bearer" = [])), request_body = DeclarationBody,
    responses((status = 201, description = "已申报，待审核", body = DutyEntryView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn declare(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<DeclarationBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    deputy_for(&state, p, id).await?;
    if p.role != Role::Deputy || p.deputy_id != Some(id) {
        return Err(ApiError::forbidden(
            "线下履职由代表本人申报；工作人员请审核代表的申报",
        ));
    }
    let d = declaration(&b).map_err(ApiError::validation)?;
    let entry_id = duty_record::declare(
        &state.db,
        &state.keys,
        &user.ctx.actor(),
        id,
        Some(p.user_id),
        &d,
    )
    .await?;
    let e = duty_record::get(&state.db, &duty_record::read_scope(p), entry_id).await?;
    Ok((StatusCode::CREATED, Json(DutyEntryView::from(e))).into_response())
}

/// A review of a declaration.
#[derive(Deserialize, ToSchema, Default)]
pub struct ReviewBody {
    /// `approve` or `reject`.
    #[serde(default)]
    pub action: String,
    /// Reason (required to reject).
    #[serde(default)]
    pub reason: String,
}

/// Approves or rejects a declared duty (township, county or city staff, station staff for
/// their station's deputies); audited.
#[utoipa::path(post, path = "/api/v1/deputies/{id}/duty-record/{entry_id}/actions", tag = "duty_record",
    params(("id" = i64, Path, description = "代表 id"), ("entry_id" = i64, Path, description = "履职记录 id")),
    security(("bearer" = [])), request_body = ReviewBody,
    responses((status = 200, body = DutyEntryView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "已审核（code: wrong_state / stale）", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, entry_id)): Path<(i64, i64)>,
    body: Result<Json<ReviewBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<DutyEntryView>> {
    let Json(b) = body.map_err(ApiError::bad_body)?;
    let p = &user.auth.principal;
    deputy_for(&state, p, id).await?;
    let entry = duty_record::get(&state.db, &duty_record::read_scope(p), entry_id).await?;
    if entry.deputy_id != id {
        return Err(ApiError::not_found());
    }
    if !duty_record::may_review(p) {
        return Err(ApiError::forbidden(
            "只有代表工作人员可以审核履职申报，代表本人不能审核",
        ));
    }
    let approve = match b.action.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::validation(vec![FieldError::new(
                "action",
                format!("未知操作“{other}”，须为 approve 或 reject"),
            )]));
        }
    };
    let reason = validate::optional_text("reason", "理由", &b.reason, 500)
        .map_err(|e| ApiError::validation(vec![e]))?;
    review_entry(&state, &user.ctx.actor(), p, &entry, approve, &reason)
        .await
        .map(|e| Json(e.into()))
}

/// Reviews an entry (shared with the workbench), mapping storage refusals to API errors.
pub async fn review_entry(
    state: &AppState,
    actor: &liaison_db::audit::Actor,
    p: &Principal,
    entry: &DutyEntry,
    approve: bool,
    reason: &str,
) -> ApiResult<DutyEntry> {
    if entry.status() != DutyStatus::PendingApproval {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "wrong_state",
            format!(
                "该履职记录状态为“{}”，只有待审核的申报可以审核",
                entry.status().label()
            ),
        ));
    }
    if !approve && reason.trim().is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "reason",
            "不予通过须说明理由，请填写理由后再提交",
        )]));
    }
    match duty_record::review(&state.db, &state.keys, actor, p, entry.id, approve, reason).await {
        Ok(e) => Ok(e),
        Err(liaison_db::DbError::Stale) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale",
            "该申报已被他人审核，请刷新后查看",
        )),
        Err(e) => Err(e.into()),
    }
}
