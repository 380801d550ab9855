//! The citizen's side of 民意收集处理: the form behind a QR code (phone first, no account, no
//! JavaScript needed, a large-text mode for elders), the receipt, and tracking with rating.

use crate::AppState;
use crate::auth::{CsrfForm, RequestCtx, tokens_match};
use crate::error::{PageError, PageResult};
use crate::intake::{BODY_MAX, IntakeError, IntakeInput, PHOTOS_MAX, TITLE_MAX, submit};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::routing::get;
use liaison_core::validate::FieldError;
use liaison_core::workflow::{OpinionAction, Satisfaction};
use liaison_db::audit::Actor;
use liaison_db::directory;
use liaison_db::opinions::{self, Acting, ActionInput};
use serde::Deserialize;

/// Public opinion routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/stations/{code}/opinion",
            get(station_form).post(submit_to_station),
        )
        .route(
            "/deputies/{code}/opinion",
            get(deputy_form).post(submit_to_deputy),
        )
        .route("/track", get(track_page).post(rate_page))
        .route("/track/follow-up", axum::routing::post(follow_up_page))
}

/// What the form holds (kept on errors).
#[derive(Debug, Clone, Default)]
struct OpinionForm {
    title: String,
    body: String,
    place: String,
    name: String,
    phone: String,
    anonymous: bool,
    confidential: bool,
    publishable: bool,
    key: String,
}

/// Where the form sends the opinion.
struct Target {
    kind: &'static str,
    code: String,
    name: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "opinions_public/form.html")]
struct FormPage {
    layout: Layout,
    target: Target,
    form: OpinionForm,
    errors: Vec<FieldError>,
    elder: bool,
    body_max: usize,
    title_max: usize,
    photos_max: usize,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[derive(Deserialize, Default)]
struct FormQuery {
    elder: Option<String>,
}

async fn station_target(state: &AppState, code: &str) -> PageResult<Target> {
    let s = directory::station_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(Target {
        kind: "stations",
        code: s.code,
        name: s.name,
        detail: s.address,
    })
}

async fn deputy_target(state: &AppState, code: &str) -> PageResult<Target> {
    let d = directory::deputy_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(Target {
        kind: "deputies",
        code: d.code.clone(),
        name: format!("{}代表", d.name),
        detail: d.levels_label(),
    })
}

fn form_page(
    ctx: &RequestCtx,
    target: Target,
    form: OpinionForm,
    errors: Vec<FieldError>,
    elder: bool,
) -> FormPage {
    FormPage {
        layout: Layout::public(ctx, format!("向{}反映", target.name)),
        target,
        form,
        errors,
        elder,
        body_max: BODY_MAX,
        title_max: TITLE_MAX,
        photos_max: PHOTOS_MAX,
    }
}

fn fresh_form() -> OpinionForm {
    OpinionForm {
        key: liaison_core::protect::random_token(),
        ..Default::default()
    }
}

/// `GET /stations/{code}/opinion`.
async fn station_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
    Query(q): Query<FormQuery>,
) -> PageResult {
    let target = station_target(&state, &code).await?;
    render(&form_page(
        &ctx,
        target,
        fresh_form(),
        Vec::new(),
        q.elder.is_some(),
    ))
}

/// `GET /deputies/{code}/opinion`.
async fn deputy_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
    Query(q): Query<FormQuery>,
) -> PageResult {
    let target = deputy_target(&state, &code).await?;
    render(&form_page(
        &ctx,
        target,
        fresh_form(),
        Vec::new(),
        q.elder.is_some(),
    ))
}

/// Reads the multipart form: fields, photos (unless `keep_photos` is false: then they are read
/// past chunk by chunk) and the CSRF token.
async fn read_form(
    mut mp: Multipart,
    keep_photos: bool,
) -> PageResult<(OpinionForm, Vec<Vec<u8>>, String, bool)> {
    let mut f = OpinionForm::default();
    let mut photos = Vec::new();
    let mut csrf = String::new();
    let mut elder = false;
    while let Some(field) = mp.next_field().await.map_err(|e| {
        PageError::BadRequest(format!(
            "提交内容无法读取，可能是照片过大（总计不超过20MB）：{e}"
        ))
    })? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photos" && !keep_photos {
            let mut field = field;
            while field
                .chunk()
                .await
                .map_err(|e| PageError::BadRequest(format!("照片上传失败，请重试：{e}")))?
                .is_some()
            {}
            continue;
        }
        if name == "photos" {
            let has_name = field.file_name().is_some_and(|n| !n.is_empty());
            let bytes = field
                .bytes()
                .await
                .map_err(|e| PageError::BadRequest(format!("照片上传失败，请重试：{e}")))?;
            if has_name && !bytes.is_empty() {
                photos.push(bytes.to_vec());
            }
            continue;
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "_csrf" => csrf = value,
            "title" => f.title = value,
            "body" => f.body = value,
            "place" => f.place = value,
            "name" => f.name = value,
            "phone" => f.phone = value,
            "anonymous" => f.anonymous = true,
            "confidential" => f.confidential = true,
            "publishable" => f.publishable = true,
            "key" => f.key = value,
            "elder" => elder = true,
            _ => {}
        }
    }
    Ok((f, photos, csrf, elder))
}

#[derive(Template)]
#[template(path = "opinions_public/receipt.html")]
struct ReceiptPage {
    layout: Layout,
    tracking_no: String,
    target_name: String,
    accept_by: String,
    anonymous: bool,
    elder: bool,
}

async fn handle_submit(
    state: AppState,
    ctx: RequestCtx,
    target: Target,
    mp: Multipart,
) -> PageResult {
    // The limit is counted before the body (with up to 20 MB of photos) is read: over it, the
    // photos are read past without being kept, so a flood from one address costs no memory,
    // and the form comes back with what was typed and the reason.
    let limited = state.limits.public_blocked(&ctx.ip);
    let (form, photos, csrf, elder) = read_form(mp, !limited).await?;
    if !tokens_match(&csrf, ctx.csrf()) {
        return Err(PageError::Csrf);
    }
    if limited {
        let msg = "您提交得太频繁了，请一分钟后再试。如有紧急情况，请直接拨打联络站电话。";
        return render(&form_page(
            &ctx,
            target,
            form,
            vec![FieldError::new("form", msg)],
            elder,
        ));
    }
    let input = IntakeInput {
        station_code: (target.kind == "stations").then(|| target.code.clone()),
        deputy_code: (target.kind == "deputies").then(|| target.code.clone()),
        title: form.title.clone(),
        body: form.body.clone(),
        place: form.place.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        anonymous: form.anonymous,
        confidential: form.confidential,
        publishable: form.publishable,
        channel: if target.kind == "deputies" {
            "qr_deputy".into()
        } else {
            "qr_station".into()
        },
        idempotency_key: Some(form.key.clone()).filter(|k| !k.is_empty()),
        photos,
        rate_checked: true,
        ..Default::default()
    };
    match submit(&state, &Actor::public(&ctx.ip), &ctx.ip, input).await {
        Ok(created) => {
            let o = opinions::get(&state.db, created.id).await?;
            let accept_by = o
                .due_on
                .map(|d| format!("{}年{}月{}日", d.year(), d.month() as u8, d.day()))
                .unwrap_or_default();
            render(&ReceiptPage {
                layout: Layout::public(&ctx, "已收到您的意见"),
                tracking_no: created.tracking_no,
                target_name: target.name,
                accept_by,
                anonymous: o.anonymous,
                elder,
            })
        }
        Err(IntakeError::Fields(errs)) => render(&form_page(&ctx, target, form, errs, elder)),
        Err(IntakeError::RateLimited(msg)) => render(&form_page(
            &ctx,
            target,
            form,
            vec![FieldError::new("form", msg)],
            elder,
        )),
        Err(IntakeError::Db(e)) => Err(e.into()),
    }
}

/// `POST /stations/{code}/opinion` (multipart, with photos).
async fn submit_to_station(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
    mp: Multipart,
) -> PageResult {
    let target = station_target(&state, &code).await?;
    handle_submit(state, ctx, target, mp).await
}

/// `POST /deputies/{code}/opinion` (multipart, with photos).
async fn submit_to_deputy(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
    mp: Multipart,
) -> PageResult {
    let target = deputy_target(&state, &code).await?;
    handle_submit(state, ctx, target, mp).await
}

#[derive(Deserialize, Default)]
struct TrackQuery {
    tracking_no: Option<String>,
    phone_last4: Option<String>,
}

#[derive(Template)]
#[template(path = "opinions_public/track.html")]
struct TrackPage {
    layout: Layout,
    tracking_no: String,
    phone_last4: String,
    error: Option<String>,
    found: Option<crate::api::opinions::Tracked>,
    rating_error: Option<String>,
    comment: String,
    /// Why the follow-up question was not taken (shown at its form).
    follow_up_error: Option<String>,
    /// The question as typed (kept after an error).
    follow_up_text: String,
    /// Idempotency key of the follow-up form: a double submit stores one question.
    follow_up_key: String,
    question_max: usize,
}

fn track_page_with(ctx: &RequestCtx, no: &str, last4: &str) -> TrackPage {
    TrackPage {
        layout: Layout::public(ctx, "查询办理进度"),
        tracking_no: no.to_owned(),
        phone_last4: last4.to_owned(),
        error: None,
        found: None,
        rating_error: None,
        comment: String::new(),
        follow_up_error: None,
        follow_up_text: String::new(),
        follow_up_key: liaison_core::protect::random_token(),
        question_max: liaison_core::follow_up::QUESTION_MAX,
    }
}

/// `GET /track` — tracking without an account.
async fn track_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<TrackQuery>,
) -> PageResult {
    let no = q.tracking_no.unwrap_or_default();
    let last4 = q.phone_last4.unwrap_or_default();
    let mut page = track_page_with(&ctx, &no, &last4);
    if !no.is_empty() || !last4.is_empty() {
        if state.limits.public_blocked(&ctx.ip) {
            return Err(PageError::TooMany);
        }
        if state.limits.guesses.locked(&no) {
            page.error = Some(crate::auth::GUESSES_LOCKED.into());
            return render(&page);
        }
        let found = opinions::track_with_record(&state.db, &state.keys, &no, last4.trim()).await?;
        state.limits.guesses.record(&no, found.is_some());
        match found {
            Some((o, record)) => {
                page.found =
                    Some(crate::api::opinions::tracked_view_with(&state, &o, Some(record)).await?)
            }
            None => {
                page.error = Some(
                    "未找到该事项：请核对受理编号和您留的手机号后四位。匿名反映的事项无法查询。"
                        .into(),
                )
            }
        }
    }
    render(&page)
}

/// What the tracking page's forms (rating, follow-up question) do first: the rate limit, the
/// page with what was typed, and the item when the number and the digits match — else the page
/// already says so.
async fn tracked_for_form(
    state: &AppState,
    ctx: &RequestCtx,
    no: &str,
    last4: &str,
) -> Result<(TrackPage, Option<opinions::Opinion>), PageError> {
    if state.limits.public_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    let mut page = track_page_with(ctx, no, last4);
    if state.limits.guesses.locked(no) {
        page.error = Some(crate::auth::GUESSES_LOCKED.into());
        return Ok((page, None));
    }
    let found = opinions::track(&state.db, &state.keys, no, last4.trim()).await?;
    state.limits.guesses.record(no, found.is_some());
    if found.is_none() {
        page.error = Some("未找到该事项：请核对受理编号和手机号后四位。".into());
    }
    Ok((page, found))
}

#[derive(Deserialize)]
struct RateForm {
    tracking_no: String,
    phone_last4: String,
    rating: Option<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /track` — the submitter's rating.
async fn rate_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    CsrfForm(f): CsrfForm<RateForm>,
) -> PageResult {
    let (mut page, found) = tracked_for_form(&state, &ctx, &f.tracking_no, &f.phone_last4).await?;
    let Some(o) = found else {
        return render(&page);
    };
    let rating = f.rating.as_deref().and_then(Satisfaction::parse);
    let comment = liaison_core::validate::optional_text("comment", "评价意见", &f.comment, 500);
    match (rating, comment) {
        (None, _) => page.rating_error = Some("请选择“满意”“基本满意”或“不满意”".into()),
        (_, Err(e)) => page.rating_error = Some(e.message),
        (Some(r), Ok(c)) => {
            let rules = state.rules.read().await;
            let result = opinions::act(
                &state.db,
                &state.keys,
                &state.opinion_rules(&rules),
                Acting::Submitter,
                &crate::api::opinions::submitter_actor(&ctx),
                o.id,
                OpinionAction::Rate,
                &ActionInput {
                    rating: Some(r),
                    comment: Some(c),
                    ..Default::default()
                },
            )
            .await;
            match result {
                Ok(_) => page.layout.notice = Some("感谢您的评价！".into()),
                Err(e) => page.rating_error = Some(e.to_string()),
            }
        }
    }
    if page.rating_error.is_some() {
        page.comment = f.comment.clone();
    }
    let o = opinions::get(&state.db, o.id).await?;
    page.found = Some(crate::api::opinions::tracked_view(&state, &o).await?);
    render(&page)
}

#[derive(Deserialize)]
struct FollowUpForm {
    tracking_no: String,
    phone_last4: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    key: String,
}

/// `POST /track/follow-up` — the submitter's follow-up question (追问). Works without
/// JavaScript; the page comes back with the question listed, or with the message at the form
/// and what was typed kept. The form's key makes a double submit store one question.
async fn follow_up_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    CsrfForm(f): CsrfForm<FollowUpForm>,
) -> PageResult {
    let (mut page, found) = tracked_for_form(&state, &ctx, &f.tracking_no, &f.phone_last4).await?;
    let Some(o) = found else {
        return render(&page);
    };
    match liaison_core::follow_up::question(&f.content) {
        Err(e) => page.follow_up_error = Some(e.message),
        Ok(content) => {
            let asked = liaison_db::follow_ups::ask(
                &state.db,
                &state.keys,
                &crate::api::opinions::submitter_actor(&ctx),
                o.id,
                &content,
                Some(f.key.as_str()),
            )
            .await;
            match asked {
                Ok(_) => {
                    page.layout.notice = Some(
                        "已收到您的追问，我们将尽快答复，答复后会短信告知您，并显示在本页。".into(),
                    )
                }
                Err(opinions::ActError::Db(e)) => return Err(e.into()),
                Err(e) => page.follow_up_error = Some(e.to_string()),
            }
        }
    }
    if page.follow_up_error.is_some() {
        page.follow_up_text = f.content.clone();
        // The same attempt keeps its key: submitting the corrected text again is still one.
        page.follow_up_key = f.key.clone();
    }
    let o = opinions::get(&state.db, o.id).await?;
    page.found = Some(crate::api::opinions::tracked_view(&state, &o).await?);
    render(&page)
}
