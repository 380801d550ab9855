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
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use liaison_core::validate::redact_for_publication;
use liaison_core::workflow::OpinionState;
use liaison_db::audit::Actor;
use liaison_db::{directory, opinions};
use serde::Deserialize;
use serde_json::{Map, Value, json};

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

/// Open311 routes (outside `/api/v1`, at the paths clients expect). Every resource answers
/// in XML (`.xml`, the format GeoReport v2 requires) and JSON (`.json`); the format is the
/// file extension, as the specification has it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/{file}", get(discovery))
        .route(
            "/open311/v2/{file}",
            get(list_resource).post(create_request),
        )
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(show_request))
}

/// The two response formats of GeoReport v2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Json,
    Xml,
}

impl Format {
    fn parse(ext: &str) -> Option<Format> {
        match ext {
            "json" => Some(Format::Json),
            "xml" => Some(Format::Xml),
            _ => None,
        }
    }
}

/// Splits `requests.xml` into `requests` and its format; `None` for any other extension.
fn split_file(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    Some((name, Format::parse(ext)?))
}

/// When this interface last changed, for the discovery document.
const CHANGESET: &str = "2026-11-27T00:00:00+08:00";

/// Open311's `closed`: nothing more can happen to the item, by the state machine's own rules.
/// An answer on the spot is still open: feedback and the citizen's rating follow it.
fn is_closed(state: OpinionState) -> bool {
    state.is_final()
}

/// An error list in the client's format (JSON when the format is unknown).
fn error(format: Format, status: StatusCode, description: impl Into<String>) -> Response {
    let mut e = Map::new();
    e.insert("code".into(), json!(status.as_u16()));
    e.insert("description".into(), json!(description.into()));
    respond(format, status, "errors", "error", vec![e])
}

/// The answer to a file name without `.xml` or `.json`.
fn unknown_format() -> Response {
    error(
        Format::Json,
        StatusCode::NOT_FOUND,
        "仅支持 .xml 或 .json 格式",
    )
}

/// A list of records: a JSON array, or `<root><item>…</item></root>` in XML.
fn respond(
    format: Format,
    status: StatusCode,
    root: &str,
    item: &str,
    items: Vec<Map<String, Value>>,
) -> Response {
    match format {
        Format::Json => (
            status,
            Json(Value::Array(items.into_iter().map(Value::Object).collect())),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from(XML_DECLARATION);
            out.push('<');
            out.push_str(root);
            out.push('>');
            for fields in &items {
                xml_element(&mut out, item, &Value::Object(fields.clone()));
            }
            out.push_str("</");
            out.push_str(root);
            out.push('>');
            xml_response(status, out)
        }
    }
}

/// One document: a JSON object, or the element `root` in XML.
fn respond_document(format: Format, root: &str, doc: &Value) -> Response {
    match format {
        Format::Json => Json(doc).into_response(),
        Format::Xml => {
            let mut out = String::from(XML_DECLARATION);
            xml_element(&mut out, root, doc);
            xml_response(StatusCode::OK, out)
        }
    }
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Writes `value` as the element `name`. Objects become child elements; an array becomes one
/// child per entry, named by the singular of `name` (`formats` → `format`); null is empty.
fn xml_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Object(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in fields {
                xml_element(out, k, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Array(entries) => {
            let one = name.strip_suffix('s').unwrap_or(name);
            out.push('<');
            out.push_str(name);
            out.push('>');
            for v in entries {
                xml_element(out, one, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::String(text) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&liaison_docs::xml::escape(text));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        other => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&other.to_string());
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// Public reads share the per-address limit of the other public endpoints.
fn limited(state: &AppState, ctx: &RequestCtx, format: Format) -> Option<Response> {
    state.limits.public_blocked(&ctx.ip).then(|| {
        error(
            format,
            StatusCode::TOO_MANY_REQUESTS,
            "请求过于频繁，请稍后再试",
        )
    })
}

/// `GET /open311/discovery.{xml,json}`: where the GeoReport v2 endpoint is and what it speaks.
async fn discovery(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let format = match split_file(&file) {
        Some(("discovery", format)) => format,
        Some((_, format)) => return error(format, StatusCode::NOT_FOUND, "没有这项资源"),
        None => return unknown_format(),
    };
    let base = state.config.public_url.trim_end_matches('/');
    let endpoint = json!({
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": format!("{base}/open311/v2"),
        "changeset": CHANGESET,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    });
    let doc = json!({
        "changeset": CHANGESET,
        "contact": "请联系所在联络站；受理编号可在联络站网站查询办理进度",
        "key_service": "无需密钥；提交与查询按来源地址限制频率",
        "endpoints": [endpoint],
    });
    respond_document(format, "discovery", &doc)
}

/// `GET /open311/v2/services.{xml,json}` and `GET /open311/v2/requests.{xml,json}`.
async fn list_resource(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(file): Path<String>,
    Query(q): Query<ListParams>,
) -> Response {
    match split_file(&file) {
        Some(("services", format)) => services(format),
        Some(("requests", format)) => {
            if let Some(r) = limited(&state, &ctx, format) {
                return r;
            }
            list_requests(&state, format, q).await
        }
        Some((_, format)) => error(format, StatusCode::NOT_FOUND, "没有这项资源"),
        None => unknown_format(),
    }
}

fn services(format: Format) -> Response {
    let items = SERVICES
        .iter()
        .map(|(code, name, desc)| {
            let mut m = Map::new();
            m.insert("service_code".into(), json!(code));
            m.insert("service_name".into(), json!(name));
            m.insert("description".into(), json!(desc));
            m.insert("metadata".into(), json!(false));
            m.insert("type".into(), json!("realtime"));
            m.insert("keywords".into(), json!(""));
            m.insert("group".into(), json!("民意收集处理"));
            m
        })
        .collect();
    respond(format, StatusCode::OK, "services", "service", items)
}

/// `GET /open311/v2/services/{code}.{xml,json}`: no service asks for extra attributes.
async fn service_definition(Path(file): Path<String>) -> Response {
    let Some((code, format)) = split_file(&file) else {
        return unknown_format();
    };
    if !SERVICES.iter().any(|(c, _, _)| *c == code) {
        return error(
            format,
            StatusCode::NOT_FOUND,
            "service_code 无效，请先查询 /open311/v2/services.xml",
        );
    }
    let doc = json!({"service_code": code, "attributes": []});
    respond_document(format, "service_definition", &doc)
}

/// The query of `GET requests` (GeoReport v2).
#[derive(Deserialize, Default)]
pub struct ListParams {
    jurisdiction_id: Option<String>,
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

/// Most requests in one answer, as the specification suggests.
const LIST_MAX: i64 = 1000;
/// Most ids asked for at once.
const IDS_MAX: usize = 100;

/// A date-time as GeoReport v2 writes it (W3C, with an offset); a bare date is taken as that
/// day in China.
fn parse_when(text: &str, end_of_day: bool) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let at = if end_of_day {
        time::macros::time!(23:59:59)
    } else {
        time::Time::MIDNIGHT
    };
    Some(day.with_time(at).assume_offset(time::macros::offset!(+8)))
}

/// `GET /open311/v2/requests.{xml,json}`: the published items, newest first. Only items whose
/// submitters allowed publication and did not ask for confidentiality are listed; without ids
/// or dates, those of the last 90 days.
async fn list_requests(state: &AppState, format: Format, q: ListParams) -> Response {
    let mut f = opinions::PublishedFilter {
        limit: LIST_MAX,
        ..Default::default()
    };
    if let Some(code) = q
        .jurisdiction_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        match directory::station_by_code(&state.db, code).await {
            Ok(Some(s)) => f.station_id = Some(s.id),
            Ok(None) => {
                return error(
                    format,
                    StatusCode::NOT_FOUND,
                    "jurisdiction_id 无效：应为联络站编码",
                );
            }
            Err(e) => return failed(format, &e),
        }
    }
    if let Some(ids) = q
        .service_request_id
        .as_deref()
        .filter(|i| !i.trim().is_empty())
    {
        f.tracking_nos = ids
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        if f.tracking_nos.len() > IDS_MAX {
            return error(
                format,
                StatusCode::BAD_REQUEST,
                format!("service_request_id 一次最多{IDS_MAX}个"),
            );
        }
    } else {
        // As the specification has it: with ids, every other parameter is ignored.
        if let Some(code) = q.service_code.as_deref().filter(|c| !c.is_empty()) {
            let Some((_, name, _)) = SERVICES.iter().find(|(c, _, _)| *c == code) else {
                return error(
                    format,
                    StatusCode::BAD_REQUEST,
                    "service_code 无效，请先查询 /open311/v2/services.xml",
                );
            };
            f.category = Some((*name).to_owned());
        }
        for (text, end, slot, field) in [
            (&q.start_date, false, &mut f.from, "start_date"),
            (&q.end_date, true, &mut f.to, "end_date"),
        ] {
            if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                let Some(at) = parse_when(text, end) else {
                    return error(
                        format,
                        StatusCode::BAD_REQUEST,
                        format!("{field} 格式应为 2026-01-31T08:00:00+08:00 或 2026-01-31"),
                    );
                };
                *slot = Some(at);
            }
        }
        if f.from.is_none() && f.to.is_none() {
            f.from = Some(time::OffsetDateTime::now_utc() - time::Duration::days(90));
        }
        if let Some(status) = q.status.as_deref().filter(|s| !s.trim().is_empty()) {
            let (mut open, mut closed) = (false, false);
            for s in status.split(',').map(str::trim) {
                match s {
                    "open" => open = true,
                    "closed" => closed = true,
                    _ => {
                        return error(
                            format,
                            StatusCode::BAD_REQUEST,
                            "status 应为 open 或 closed（可用逗号同时指定）",
                        );
                    }
                }
            }
            if open != closed {
                f.states = OpinionState::ALL
                    .iter()
                    .filter(|&&s| is_closed(s) == closed)
                    .map(|s| s.code().to_owned())
                    .collect();
            }
        }
    }
    match opinions::published(&state.db, &f).await {
        Ok(items) => respond(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            items.iter().map(request_record).collect(),
        ),
        Err(e) => failed(format, &e),
    }
}

fn failed(format: Format, e: &liaison_db::DbError) -> Response {
    tracing::error!(error = %e, "open311 read failed");
    error(
        format,
        StatusCode::INTERNAL_SERVER_ERROR,
        "系统暂时无法查询，请稍后重试",
    )
}

/// One item as a GeoReport v2 service request. Personal data never; the description and the
/// address only when the submitter allowed publication and did not ask for confidentiality,
/// and then with phone, identity-card and bank-card numbers and e-mail addresses masked.
fn request_record(o: &opinions::Opinion) -> Map<String, Value> {
    let state = o.state();
    let category = if o.category.is_empty() {
        &o.category_suggested
    } else {
        &o.category
    };
    let service = SERVICES
        .iter()
        .find(|(_, n, _)| *n == category.as_str())
        .unwrap_or(&SERVICES[SERVICES.len() - 1]);
    let fmt = |t: &time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let public = o.publishable && !o.confidential;
    let mut m = Map::new();
    m.insert("service_request_id".into(), json!(o.tracking_no));
    m.insert(
        "status".into(),
        json!(if is_closed(state) { "closed" } else { "open" }),
    );
    m.insert("status_notes".into(), json!(state.label()));
    m.insert("service_name".into(), json!(service.1));
    m.insert("service_code".into(), json!(service.0));
    m.insert(
        "description".into(),
        json!(if public {
            redact_for_publication(&o.body)
        } else {
            String::new()
        }),
    );
    m.insert(
        "agency_responsible".into(),
        json!(
            o.lead_unit_name
                .clone()
                .unwrap_or_else(|| o.station_name.clone())
        ),
    );
    m.insert("service_notice".into(), json!(""));
    m.insert("requested_datetime".into(), json!(fmt(&o.created_at)));
    m.insert("updated_datetime".into(), json!(fmt(&o.updated_at)));
    // The reply's deadline, the end of that working day in China.
    let expected = o.reply_due_on.filter(|_| !is_closed(state)).map(|d| {
        fmt(&d
            .with_time(time::macros::time!(23:59:59))
            .assume_offset(time::macros::offset!(+8)))
    });
    m.insert("expected_datetime".into(), json!(expected));
    m.insert(
        "address".into(),
        json!(if public {
            redact_for_publication(&o.place)
        } else {
            String::new()
        }),
    );
    m
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

/// `POST /open311/v2/requests.{xml,json}`.
async fn create_request(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(file): Path<String>,
    form: Result<axum::Form<RequestForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let format = match split_file(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => return error(format, StatusCode::NOT_FOUND, "只能向 requests 提交"),
        None => return unknown_format(),
    };
    let Ok(axum::Form(f)) = form else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "请求须为 application/x-www-form-urlencoded 表单",
        );
    };
    let Some(station) = f.jurisdiction_id.clone().filter(|j| !j.trim().is_empty()) else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "jurisdiction_id 必填：填写接收的联络站编码",
        );
    };
    let service = f.service_code.clone().unwrap_or_default();
    if !SERVICES.iter().any(|(c, _, _)| *c == service) {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "service_code 无效，请先查询 /open311/v2/services.xml",
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
        Ok(c) => {
            let mut m = Map::new();
            m.insert("service_request_id".into(), json!(c.tracking_no));
            m.insert(
                "service_notice".into(),
                json!(if anonymous {
                    "已受理。未留手机号的反映无法查询进度和评价；办理情况可凭受理编号向联络站了解。"
                } else {
                    "已受理。凭受理编号和手机号后四位可在联络站网站查询进度并评价。"
                }),
            );
            m.insert("account_id".into(), Value::Null);
            respond(
                format,
                StatusCode::CREATED,
                "service_requests",
                "request",
                vec![m],
            )
        }
        Err(IntakeError::Fields(errs)) => error(
            format,
            StatusCode::BAD_REQUEST,
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
        Err(IntakeError::RateLimited(m)) => error(format, StatusCode::TOO_MANY_REQUESTS, m),
        Err(IntakeError::Db(e)) => {
            tracing::error!(error = %e, "open311 intake failed");
            error(
                format,
                StatusCode::INTERNAL_SERVER_ERROR,
                "系统暂时无法受理，请稍后重试",
            )
        }
    }
}

/// `GET /open311/v2/requests/{tracking_no}.{xml,json}`: any item by its tracking number, with
/// its text only when published.
async fn show_request(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(file): Path<String>,
) -> Response {
    let Some((no, format)) = split_file(&file) else {
        return unknown_format();
    };
    if let Some(r) = limited(&state, &ctx, format) {
        return r;
    }
    match opinions::by_tracking_no(&state.db, no).await {
        Ok(Some(o)) => respond(
            format,
            StatusCode::OK,
            "service_requests",
            "request",
            vec![request_record(&o)],
        ),
        Ok(None) => error(format, StatusCode::NOT_FOUND, "未找到该请求"),
        Err(e) => failed(format, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_become_children_named_in_the_singular_and_null_is_empty() {
        let mut out = String::new();
        xml_element(
            &mut out,
            "endpoint",
            &json!({"formats": ["text/xml"], "account_id": null, "n": 3}),
        );
        assert_eq!(
            out,
            "<endpoint><account_id/><formats><format>text/xml</format></formats><n>3</n></endpoint>"
        );
    }

    #[test]
    fn the_format_is_the_file_extension() {
        assert_eq!(split_file("requests.xml"), Some(("requests", Format::Xml)));
        assert_eq!(split_file("LZ1.json"), Some(("LZ1", Format::Json)));
        assert_eq!(split_file("requests.csv"), None);
        assert_eq!(split_file("requests"), None);
    }
}
