//! Open311 GeoReport v2 over the same intake and states, so existing Open311 clients work.
//!
//! Mapping: `service_code` is an opinion category; `jurisdiction_id` names the station (its
//! code) that receives the request; `service_request_id` is the tracking number (not a
//! guessable row id); `status` is `open` until the item is finished, then `closed`. Personal
//! data is never returned; the description only when the submitter allowed publication.

use crate::AppState;
use crate::auth::RequestCtx;
use crate::intake::{IntakeError, IntakeInput, submit};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use liaison_db::audit::Actor;
use liaison_db::opinions;
use serde::Deserialize;
use serde_json::json;

/// The categories offered as services.
pub const SERVICES: &[(&str, &str, &str)] = &[
    (
        "urban_rural_construction",
        "城乡建设",
        "道路、路灯、小区物业、市政设施、拆迁与建设",
    ),
    (
        "labour_social_security",
        "劳动和社会保障",
        "就业、工资、社保、医保、养老",
    ),
    (
        "education_culture_sports",
        "教育文体",
        "学校、招生、文化体育设施",
    ),
    ("commerce_tourism", "商贸旅游", "市场、消费、旅游"),
    ("environment", "环境保护", "噪声、油烟、水体、垃圾、污染"),
    ("health", "卫生计生", "医院、卫生、计生"),
    ("transport", "交通运输", "公交、出租、交通秩序"),
    ("other", "其他", "其他意见建议"),
];

/// Open311 routes (outside `/api/v1`, at the paths clients expect).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/services.json", get(services))
        .route("/open311/v2/requests.json", post(create_request))
        .route("/open311/v2/requests/{id}", get(show_request))
}

fn error(status: StatusCode, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!([{"code": status.as_u16(), "description": description.into()}])),
    )
        .into_response()
}

/// `GET /open311/v2/services.json`.
async fn services() -> Json<serde_json::Value> {
    Json(json!(
        SERVICES
            .iter()
            .map(|(code, name, desc)| json!({
                "service_code": code, "service_name": name, "description": desc,
                "metadata": false, "type": "realtime", "keywords": "", "group": "民意收集处理",
            }))
            .collect::<Vec<_>>()
    ))
}

/// A service request as Open311 clients post it (form-encoded).
#[derive(Deserialize, Default)]
pub struct RequestForm {
    jurisdiction_id: Option<String>,
    service_code: Option<String>,
    description: Option<String>,
    address_string: Option<String>,
    lat: Option<String>,
    long: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    device_id: Option<String>,
}

/// `POST /open311/v2/requests.json`.
async fn create_request(
    State(state): State<AppState>,
    ctx: RequestCtx,
    form: Result<axum::Form<RequestForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(f)) = form else {
        return error(
            StatusCode::BAD_REQUEST,
            "请求须为 application/x-www-form-urlencoded 表单",
        );
    };
    let Some(station) = f.jurisdiction_id.clone().filter(|j| !j.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "jurisdiction_id 必填：填写接收的联络站编码",
        );
    };
    let service = f.service_code.clone().unwrap_or_default();
    if !SERVICES.iter().any(|(c, _, _)| *c == service) {
        return error(
            StatusCode::BAD_REQUEST,
            "service_code 无效，请先查询 /open311/v2/services.json",
        );
    }
    let mut place = f.address_string.clone().unwrap_or_default();
    if let (Some(lat), Some(long)) = (&f.lat, &f.long)
        && let (Ok(la), Ok(lo)) = (lat.parse::<f64>(), long.parse::<f64>())
    {
        if place.is_empty() {
            place = format!("{la:.5},{lo:.5}");
        } else {
            place = format!("{place}（{la:.5},{lo:.5}）");
        }
    }
    let phone = f.phone.clone().unwrap_or_default();
    let name = format!(
        "{}{}",
        f.last_name.clone().unwrap_or_default(),
        f.first_name.clone().unwrap_or_default()
    );
    let anonymous = phone.trim().is_empty();
    let input = IntakeInput {
        station_code: Some(station),
        body: f.description.clone().unwrap_or_default(),
        place: place.chars().take(100).collect(),
        name: if name.is_empty() && !anonymous {
            "Open311用户".into()
        } else {
            name
        },
        phone,
        anonymous,
        channel: "open311".into(),
        idempotency_key: f.device_id.clone().filter(|d| !d.is_empty()).map(|d| {
            format!(
                "open311:{d}:{}",
                state
                    .keys
                    .blind_index(f.description.as_deref().unwrap_or(""))
            )
        }),
        ..Default::default()
    };
    match submit(&state, &Actor::public(&ctx.ip), &ctx.ip, input).await {
        Ok(c) => (
            StatusCode::CREATED,
            Json(json!([{
                "service_request_id": c.tracking_no,
                "service_notice": "已受理。凭受理编号和手机号后四位可在联络站网站查询进度并评价。",
                "account_id": null,
            }])),
        )
            .into_response(),
        Err(IntakeError::Fields(errs)) => error(
            StatusCode::BAD_REQUEST,
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
        Err(IntakeError::RateLimited(m)) => error(StatusCode::TOO_MANY_REQUESTS, m),
        Err(IntakeError::Db(e)) => {
            tracing::error!(error = %e, "open311 intake failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统暂时无法受理，请稍后重试",
            )
        }
    }
}

#[derive(Deserialize)]
struct NoQuery {}

/// `GET /open311/v2/requests/{tracking_no}.json`.
async fn show_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(_): Query<NoQuery>,
) -> Response {
    let Some(no) = id.strip_suffix(".json") else {
        return error(StatusCode::BAD_REQUEST, "仅支持 .json 格式");
    };
    let o = match opinions::by_tracking_no(&state.db, no).await {
        Ok(Some(o)) => o,
        Ok(None) => return error(StatusCode::NOT_FOUND, "未找到该请求"),
        Err(e) => {
            tracing::error!(error = %e, "open311 lookup failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "系统暂时无法查询");
        }
    };
    let finished = matches!(
        o.state.as_str(),
        "closed"
            | "closed_unrated"
            | "declined"
            | "merged"
            | "converted_to_suggestion"
            | "answered_on_spot"
    );
    let category = if o.category.is_empty() {
        &o.category_suggested
    } else {
        &o.category
    };
    let service = SERVICES
        .iter()
        .find(|(_, n, _)| *n == category.as_str())
        .unwrap_or(&SERVICES[7]);
    let fmt = |t: &time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    Json(json!([{
        "service_request_id": o.tracking_no,
        "status": if finished { "closed" } else { "open" },
        "status_notes": o.state().label(),
        "service_name": service.1,
        "service_code": service.0,
        "description": if o.publishable { o.body.clone() } else { String::new() },
        "agency_responsible": o.lead_unit_name.clone().unwrap_or_else(|| o.station_name.clone()),
        "requested_datetime": fmt(&o.created_at),
        "updated_datetime": fmt(&o.updated_at),
        "address": if o.publishable { o.place.clone() } else { String::new() },
    }]))
    .into_response()
}
