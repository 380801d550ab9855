//! Configuration of the opinion loop by the city liaison centre and the system administrator:
//! the working-day calendar (next year's State Council notice, without a release), the deadline
//! table (a form per category × urgency, with the JSON text as an advanced fallback), and the
//! category × region → handling-unit routing table.

use crate::AppState;
use crate::auth::{CsrfForm, Staff};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use liaison_core::role::Role;
use liaison_core::sla::{
    CONSULT_CATEGORY, DEFAULT_CATEGORY, OpinionSla, OpinionSlaByUrgency, SlaError, SlaTable, Span,
    SuggestionSla,
};
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

const CONFIG_ROLES: &[Role] = &[Role::SystemAdmin, Role::CityStaff];

/// The opinion categories (the 7 first-level labels of the classifier and 其他).
pub const CATEGORIES: &[&str] = &[
    "城乡建设",
    "劳动和社会保障",
    "教育文体",
    "商贸旅游",
    "环境保护",
    "卫生计生",
    "交通运输",
    "其他",
];

struct RouteRow {
    category: String,
    region: String,
    unit: String,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    layout: Layout,
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

// ---------------------------------------------------------------------------------------------
// The deadline table as a form: one block per category × urgency, each deadline a number and a
// unit, checked by `SlaTable::check` with the message next to the field it concerns.

/// Units of a deadline: (code in the form, Chinese label).
const UNITS: &[(&str, &str)] = &[
    ("working_days", "工作日"),
    ("calendar_days", "日"),
    ("months", "个月"),
];

/// How many categories a posted form may carry (more are ignored).
const MAX_CATEGORIES: usize = 40;

/// One deadline of the table: key (as in the JSON), Chinese label, whether it is a count.
type FieldSpec = (&'static str, &'static str, bool);

const OPINION_FIELDS: &[FieldSpec] = &[
    ("accept", "受理期限", false),
    ("acknowledge", "签收期限", false),
    ("return_window", "申请退回时限", false),
    ("reply", "答复期限", false),
    ("review", "审核期限", false),
    ("rating_window", "评价期限", false),
    ("rehandle_reply", "重办答复期限", false),
    ("extension_cap", "单次延期上限", false),
    ("extensions_allowed", "可延期次数", true),
    ("supervision_after", "逾期转督办", false),
    ("supervision_reply", "督办答复期限", false),
    ("max_rehandle_rounds", "重办轮次上限", true),
];

const SUGGESTION_FIELDS: &[FieldSpec] = &[
    ("reply", "答复期限", false),
    ("reply_max", "最长答复期限", false),
    ("co_unit_opinion", "协办意见期限", false),
    ("re_reply", "重新答复期限", false),
    ("return_window", "申请退回时限", false),
    ("max_rehandle_rounds", "重办轮次上限", true),
];

/// The deadlines the summary line of a category × urgency names.
const SUMMARY_FIELDS: &[&str] = &["accept", "acknowledge", "reply", "rating_window"];

/// A value of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Span(Span),
    Count(u32),
}

impl Value {
    fn label(self) -> String {
        match self {
            Value::Span(s) => s.label(),
            Value::Count(n) => format!("{n}次"),
        }
    }

    /// (amount, unit code) as the form shows them.
    fn form(self) -> (String, String) {
        match self {
            Value::Span(Span::WorkingDays(n)) => (n.to_string(), "working_days".into()),
            Value::Span(Span::CalendarDays(n)) => (n.to_string(), "calendar_days".into()),
            Value::Span(Span::Months(n)) => (n.to_string(), "months".into()),
            Value::Count(n) => (n.to_string(), String::new()),
        }
    }
}

fn opinion_get(s: &OpinionSla, key: &str) -> Value {
    match key {
        "accept" => Value::Span(s.accept),
        "acknowledge" => Value::Span(s.acknowledge),
        "return_window" => Value::Span(s.return_window),
        "reply" => Value::Span(s.reply),
        "review" => Value::Span(s.review),
        "rating_window" => Value::Span(s.rating_window),
        "rehandle_reply" => Value::Span(s.rehandle_reply),
        "extension_cap" => Value::Span(s.extension_cap),
        "extensions_allowed" => Value::Count(s.extensions_allowed),
        "supervision_after" => Value::Span(s.supervision_after),
        "supervision_reply" => Value::Span(s.supervision_reply),
        _ => Value::Count(s.max_rehandle_rounds),
    }
}

fn opinion_set(s: &mut OpinionSla, key: &str, v: Value) {
    match (key, v) {
        ("accept", Value::Span(x)) => s.accept = x,
        ("acknowledge", Value::Span(x)) => s.acknowledge = x,
        ("return_window", Value::Span(x)) => s.return_window = x,
        ("reply", Value::Span(x)) => s.reply = x,
        ("review", Value::Span(x)) => s.review = x,
        ("rating_window", Value::Span(x)) => s.rating_window = x,
        ("rehandle_reply", Value::Span(x)) => s.rehandle_reply = x,
        ("extension_cap", Value::Span(x)) => s.extension_cap = x,
        ("extensions_allowed", Value::Count(n)) => s.extensions_allowed = n,
        ("supervision_after", Value::Span(x)) => s.supervision_after = x,
        ("supervision_reply", Value::Span(x)) => s.supervision_reply = x,
        ("max_rehandle_rounds", Value::Count(n)) => s.max_rehandle_rounds = n,
        _ => {}
    }
}

fn suggestion_get(s: &SuggestionSla, key: &str) -> Value {
    match key {
        "reply" => Value::Span(s.reply),
        "reply_max" => Value::Span(s.reply_max),
        "co_unit_opinion" => Value::Span(s.co_unit_opinion),
        "re_reply" => Value::Span(s.re_reply),
        "return_window" => Value::Span(s.return_window),
        _ => Value::Count(s.max_rehandle_rounds),
    }
}

fn suggestion_set(s: &mut SuggestionSla, key: &str, v: Value) {
    match (key, v) {
        ("reply", Value::Span(x)) => s.reply = x,
        ("reply_max", Value::Span(x)) => s.reply_max = x,
        ("co_unit_opinion", Value::Span(x)) => s.co_unit_opinion = x,
        ("re_reply", Value::Span(x)) => s.re_reply = x,
        ("return_window", Value::Span(x)) => s.return_window = x,
        ("max_rehandle_rounds", Value::Count(n)) => s.max_rehandle_rounds = n,
        _ => {}
    }
}

/// “交办后15个工作日内答复”, or “交办当日答复” for zero.
fn within(event: &str, span: Span, verb: &str) -> String {
    match span {
        Span::WorkingDays(0) | Span::CalendarDays(0) | Span::Months(0) => {
            format!("{event}当日{verb}")
        }
        s => format!("{event}后{}内{verb}", s.label()),
    }
}

/// What a value of the opinion table means, in a sentence.
fn opinion_meaning(key: &str, v: Value) -> String {
    match (key, v) {
        ("accept", Value::Span(s)) => within("收到", s, "受理或不予受理"),
        ("acknowledge", Value::Span(s)) => within("交办", s, "签收"),
        ("return_window", Value::Span(s)) => within("交办", s, "可申请退回"),
        ("reply", Value::Span(s)) => within("交办", s, "答复"),
        ("review", Value::Span(s)) => within("答复", s, "审核"),
        ("rating_window", Value::Span(s)) => {
            format!("{}，逾期未评价的办结", within("反馈", s, "评价"))
        }
        ("rehandle_reply", Value::Span(s)) => within("重办", s, "重新答复"),
        ("extension_cap", Value::Span(s)) if s.label() == "当日" => "延期不得延长答复期限".into(),
        ("extension_cap", Value::Span(s)) => format!("每次延期最多延长{}", s.label()),
        ("extensions_allowed", Value::Count(0)) => "不允许延期".into(),
        ("extensions_allowed", Value::Count(n)) => format!("最多延期{n}次"),
        ("supervision_after", Value::Span(s)) if s.label() == "当日" => {
            "超过答复期限即列入督办".into()
        }
        ("supervision_after", Value::Span(s)) => {
            format!("超过答复期限{}仍未答复的，列入督办", s.label())
        }
        ("supervision_reply", Value::Span(s)) => within("列入督办", s, "答复"),
        ("max_rehandle_rounds", Value::Count(0)) => "群众不满意时不再重办，转督办".into(),
        ("max_rehandle_rounds", Value::Count(n)) => {
            format!("群众不满意最多重办{n}轮，之后转督办")
        }
        (_, v) => v.label(),
    }
}

/// What a value of the suggestion table means, in a sentence.
fn suggestion_meaning(key: &str, v: Value) -> String {
    match (key, v) {
        ("reply", Value::Span(s)) => within("交办", s, "答复"),
        ("reply_max", Value::Span(s)) => format!("复杂建议最长{}", within("交办", s, "答复")),
        ("co_unit_opinion", Value::Span(s)) => within("交办", s, "向主办单位提出协办意见"),
        ("re_reply", Value::Span(s)) => within("评价不满意", s, "重新答复"),
        ("return_window", Value::Span(s)) => within("交办", s, "可申请退回"),
        ("max_rehandle_rounds", Value::Count(n)) => format!("代表不满意最多重新办理{n}轮"),
        (_, v) => v.label(),
    }
}

/// The Chinese name of a category key of the table.
fn category_label(key: &str) -> String {
    match key {
        DEFAULT_CATEGORY => "默认（未单独设置的分类）".to_owned(),
        CONSULT_CATEGORY => "咨询类".to_owned(),
        other => other.to_owned(),
    }
}

/// The short name of a category in sentences (“默认”, “咨询类”, “环境保护”).
fn category_short(key: &str) -> String {
    match key {
        DEFAULT_CATEGORY => "默认".to_owned(),
        other => category_label(other),
    }
}

/// Categories that may get their own entry: 咨询类 and the classifier's categories.
fn known_category(key: &str) -> bool {
    key == DEFAULT_CATEGORY || key == CONSULT_CATEGORY || CATEGORIES.contains(&key)
}

const URGENCIES: &[(&str, &str)] = &[("normal", "一般"), ("urgent", "紧急")];

/// One deadline field of the form.
#[derive(Debug, Clone)]
struct FieldForm {
    /// Name prefix of its inputs (`<name>_n`, `<name>_u`), also their ids.
    name: String,
    key: &'static str,
    label: &'static str,
    count: bool,
    /// Number as typed.
    amount: String,
    /// Unit code as chosen (empty for counts).
    unit: String,
    error: Option<String>,
    /// What the value means (empty when it is not valid).
    meaning: String,
}

#[derive(Debug, Clone)]
struct UrgencyForm {
    code: &'static str,
    label: &'static str,
    fields: Vec<FieldForm>,
    /// The main deadlines in a sentence (empty when a field has an error).
    summary: String,
}

#[derive(Debug, Clone)]
struct CategoryForm {
    /// Name prefix of its inputs.
    prefix: String,
    key: String,
    label: String,
    removable: bool,
    remove: bool,
    urgencies: Vec<UrgencyForm>,
}

/// The deadline table form.
#[derive(Debug, Clone, Default)]
struct SlaForm {
    categories: Vec<CategoryForm>,
    suggestion: Vec<FieldForm>,
    /// Categories that can still get their own entry: (key, label).
    addable: Vec<(String, String)>,
    /// Problems, each with the id of its field: (anchor, message).
    errors: Vec<(String, String)>,
    /// What the change means (preview, or after saving).
    changes: Vec<String>,
    /// Heading of `changes`.
    changes_title: String,
    units: &'static [(&'static str, &'static str)],
}

fn field(name: String, spec: FieldSpec, v: Value, meaning: String) -> FieldForm {
    let (amount, unit) = v.form();
    FieldForm {
        name,
        key: spec.0,
        label: spec.1,
        count: spec.2,
        amount,
        unit,
        error: None,
        meaning,
    }
}

fn summary_of(category: &str, urgency: &str, fields: &[FieldForm]) -> String {
    if fields.iter().any(|f| f.error.is_some()) {
        return String::new();
    }
    let parts: Vec<&str> = SUMMARY_FIELDS
        .iter()
        .filter_map(|k| fields.iter().find(|f| f.key == *k))
        .map(|f| f.meaning.as_str())
        .collect();
    format!(
        "{}·{urgency}：{}。",
        category_short(category),
        parts.join("；")
    )
}

impl SlaForm {
    /// The form showing `t`, default first, then 咨询类, then the other categories.
    fn of_table(t: &SlaTable) -> SlaForm {
        let mut keys: Vec<&String> = t.opinion.keys().collect();
        keys.sort_by_key(|k| match k.as_str() {
            DEFAULT_CATEGORY => 0,
            CONSULT_CATEGORY => 1,
            _ => 2,
        });
        let categories = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| category_form(i, k, &t.opinion[k], false))
            .collect();
        let suggestion = SUGGESTION_FIELDS
            .iter()
            .map(|spec| {
                let v = suggestion_get(&t.suggestion, spec.0);
                field(
                    format!("s_{}", spec.0),
                    *spec,
                    v,
                    suggestion_meaning(spec.0, v),
                )
            })
            .collect();
        let mut f = SlaForm {
            categories,
            suggestion,
            units: UNITS,
            ..Default::default()
        };
        f.fill_addable();
        f
    }

    fn fill_addable(&mut self) {
        let present: Vec<&str> = self.categories.iter().map(|c| c.key.as_str()).collect();
        self.addable = std::iter::once(CONSULT_CATEGORY)
            .chain(CATEGORIES.iter().copied())
            .filter(|k| !present.contains(k))
            .map(|k| (k.to_owned(), category_label(k)))
            .collect();
    }
}

fn category_form(index: usize, key: &str, e: &OpinionSlaByUrgency, remove: bool) -> CategoryForm {
    let prefix = format!("o{index}");
    let urgencies = URGENCIES
        .iter()
        .map(|&(code, label)| {
            let sla = if code == "urgent" {
                &e.urgent
            } else {
                &e.normal
            };
            let fields: Vec<FieldForm> = OPINION_FIELDS
                .iter()
                .map(|spec| {
                    let v = opinion_get(sla, spec.0);
                    field(
                        format!("{prefix}_{code}_{}", spec.0),
                        *spec,
                        v,
                        opinion_meaning(spec.0, v),
                    )
                })
                .collect();
            UrgencyForm {
                code,
                label,
                summary: summary_of(key, label, &fields),
                fields,
            }
        })
        .collect();
    CategoryForm {
        prefix,
        key: key.to_owned(),
        label: category_label(key),
        removable: key != DEFAULT_CATEGORY,
        remove,
        urgencies,
    }
}

/// Reads one field as typed: the value, or the Chinese message.
fn read_value(form: &HashMap<String, String>, f: &mut FieldForm) -> Option<Value> {
    f.amount = form
        .get(&format!("{}_n", f.name))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if !f.count {
        f.unit = form
            .get(&format!("{}_u", f.name))
            .cloned()
            .unwrap_or_default();
    }
    let n = if f.amount.is_empty() {
        f.error = Some("请填写数字".into());
        None
    } else {
        match f.amount.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                f.error = Some(format!(
                    "“{}”不是有效的数字，请填写 0 或正整数（不带小数点和单位）",
                    f.amount
                ));
                None
            }
        }
    };
    if f.count {
        return n.map(Value::Count);
    }
    let span = match f.unit.as_str() {
        "working_days" => n.map(Span::WorkingDays),
        "calendar_days" => n.map(Span::CalendarDays),
        "months" => n.map(Span::Months),
        _ => {
            if f.error.is_none() {
                f.error = Some("请选择单位（工作日、日或个月）".into());
            }
            None
        }
    };
    span.map(Value::Span)
}

/// What the posted form asks for.
enum Intent {
    Save,
    Preview,
    Add(String),
}

/// Reads the posted form against the saved table `current`: the form to show again (with the
/// Chinese message next to each field that is wrong) and, when every field is right, the table.
fn read_form(
    form: &HashMap<String, String>,
    current: &SlaTable,
) -> (SlaForm, Option<SlaTable>, Intent) {
    let intent = match form.get("intent").map(String::as_str) {
        Some("preview") => Intent::Preview,
        Some("add") => Intent::Add(
            form.get("add_category")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
        ),
        _ => Intent::Save,
    };
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut categories: Vec<CategoryForm> = Vec::new();
    let mut table = SlaTable {
        opinion: Default::default(),
        suggestion: current.suggestion.clone(),
    };
    let mut valid = true;
    for i in 0..MAX_CATEGORIES {
        let Some(key) = form.get(&format!("o{i}_key")).map(|k| k.trim().to_owned()) else {
            break;
        };
        if categories.iter().any(|c| c.key == key)
            || !(known_category(&key) || current.opinion.contains_key(&key))
        {
            continue;
        }
        let remove = key != DEFAULT_CATEGORY && form.contains_key(&format!("o{i}_remove"));
        // Start from the saved entry (or the default one) and overwrite with what was typed.
        let base = current
            .opinion
            .get(&key)
            .or_else(|| current.opinion.get(DEFAULT_CATEGORY))
            .cloned()
            .unwrap_or(OpinionSlaByUrgency {
                normal: OpinionSla::NORMAL,
                urgent: OpinionSla::URGENT,
            });
        let mut c = category_form(categories.len(), &key, &base, remove);
        // Inputs keep the index they were posted under.
        let posted = format!("o{i}");
        let mut entry = base;
        for u in &mut c.urgencies {
            let sla = if u.code == "urgent" {
                &mut entry.urgent
            } else {
                &mut entry.normal
            };
            for f in &mut u.fields {
                let mut typed = f.clone();
                typed.name = format!("{posted}_{}_{}", u.code, f.key);
                let v = read_value(form, &mut typed);
                f.amount = typed.amount;
                f.unit = typed.unit;
                f.error = typed.error;
                match v {
                    Some(v) => {
                        opinion_set(sla, f.key, v);
                        f.meaning = opinion_meaning(f.key, v);
                    }
                    // A row being deleted need not be filled in correctly.
                    None if remove => f.error = None,
                    None => {
                        valid = false;
                        f.meaning = String::new();
                    }
                }
            }
        }
        if !remove {
            table.opinion.insert(key.clone(), entry);
        }
        categories.push(c);
    }
    // The default entry cannot be dropped from the form.
    if !categories.iter().any(|c| c.key == DEFAULT_CATEGORY) {
        let base = current
            .opinion
            .get(DEFAULT_CATEGORY)
            .cloned()
            .unwrap_or(OpinionSlaByUrgency {
                normal: OpinionSla::NORMAL,
                urgent: OpinionSla::URGENT,
            });
        categories.insert(0, category_form(0, DEFAULT_CATEGORY, &base, false));
        table.opinion.insert(DEFAULT_CATEGORY.to_owned(), base);
    }
    let mut suggestion = Vec::new();
    for spec in SUGGESTION_FIELDS {
        let v0 = suggestion_get(&current.suggestion, spec.0);
        let mut f = field(format!("s_{}", spec.0), *spec, v0, String::new());
        match read_value(form, &mut f) {
            Some(v) => {
                suggestion_set(&mut table.suggestion, spec.0, v);
                f.meaning = suggestion_meaning(spec.0, v);
            }
            None => valid = false,
        }
        suggestion.push(f);
    }
    let mut out = SlaForm {
        categories,
        suggestion,
        units: UNITS,
        ..Default::default()
    };
    // Ranges: the table's own check, one field at a time; a field it refuses gets the message
    // and the default value in its place, and the check runs again for the next one.
    let mut flagged: Vec<String> = Vec::new();
    loop {
        match table.check() {
            Ok(()) => break,
            Err(SlaError::OutOfRange { field, hint, .. }) => {
                if flagged.contains(&field) {
                    break;
                }
                valid = false;
                out.flag(&field, hint);
                use_fallback(&mut table, &field);
                flagged.push(field);
            }
            Err(e) => {
                valid = false;
                errors.push((String::new(), e.to_string()));
                break;
            }
        }
    }
    // Renumber the inputs in the order shown, then list the problems with links to them.
    let renumbered: Vec<CategoryForm> = out
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| renumber(c, i))
        .collect();
    out.categories = renumbered;
    for c in &mut out.categories {
        for u in &mut c.urgencies {
            u.summary = summary_of(&c.key, u.label, &u.fields);
            for f in &u.fields {
                if let Some(e) = &f.error {
                    errors.push((
                        format!("{}_n", f.name),
                        format!("{}·{}·{}：{e}", category_short(&c.key), u.label, f.label),
                    ));
                }
            }
        }
    }
    for f in &out.suggestion {
        if let Some(e) = &f.error {
            errors.push((
                format!("{}_n", f.name),
                format!("闭会建议·{}：{e}", f.label),
            ));
        }
    }
    out.errors = errors;
    if let Intent::Add(key) = &intent {
        if key.is_empty() {
            out.errors.push((
                "add_category".into(),
                "请先在“添加分类”中选择要单独设置期限的分类".into(),
            ));
        } else if !known_category(key) {
            out.errors
                .push(("add_category".into(), "请选择列表中的分类".into()));
        } else if !out.categories.iter().any(|c| &c.key == key) {
            // A new category starts as a copy of the default row as typed.
            let base =
                table
                    .opinion
                    .get(DEFAULT_CATEGORY)
                    .cloned()
                    .unwrap_or(OpinionSlaByUrgency {
                        normal: OpinionSla::NORMAL,
                        urgent: OpinionSla::URGENT,
                    });
            let i = out.categories.len();
            out.categories.push(category_form(i, key, &base, false));
            table.opinion.insert(key.clone(), base);
        }
    }
    out.fill_addable();
    (out, valid.then_some(table), intent)
}

impl SlaForm {
    /// The field of the form a path of `SlaTable::check` names gets `hint`.
    fn flag(&mut self, path: &str, hint: &str) {
        let mut parts = path.split('.');
        match parts.next() {
            Some("opinion") => {
                let rest: Vec<&str> = parts.collect();
                if let [category @ .., urgency, key] = rest.as_slice() {
                    let category = category.join(".");
                    if let Some(f) = self
                        .categories
                        .iter_mut()
                        .filter(|c| c.key == category)
                        .flat_map(|c| c.urgencies.iter_mut())
                        .filter(|u| u.code == *urgency)
                        .flat_map(|u| u.fields.iter_mut())
                        .find(|f| f.key == *key)
                    {
                        f.error = Some(hint.to_owned());
                        f.meaning = String::new();
                    }
                }
            }
            Some("suggestion") => {
                let key = parts.next().unwrap_or_default();
                if let Some(f) = self.suggestion.iter_mut().find(|f| f.key == key) {
                    f.error = Some(hint.to_owned());
                    f.meaning = String::new();
                }
            }
            _ => {}
        }
    }
}

/// Puts a sound value where the check refused one, so that it can go on to the next field.
fn use_fallback(t: &mut SlaTable, path: &str) {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["opinion", category @ .., urgency, key] => {
            let category = category.join(".");
            let (fallback, sla) = match t.opinion.get_mut(&category) {
                Some(e) if *urgency == "urgent" => (&OpinionSla::URGENT, &mut e.urgent),
                Some(e) => (&OpinionSla::NORMAL, &mut e.normal),
                None => return,
            };
            opinion_set(sla, key, opinion_get(fallback, key));
        }
        ["suggestion", key] => {
            suggestion_set(
                &mut t.suggestion,
                key,
                suggestion_get(&SuggestionSla::DEFAULT, key),
            );
        }
        _ => {}
    }
}

/// The category's inputs named after its position `i` on the page.
fn renumber(c: &CategoryForm, i: usize) -> CategoryForm {
    let prefix = format!("o{i}");
    let mut c = c.clone();
    for u in &mut c.urgencies {
        for f in &mut u.fields {
            f.name = format!("{prefix}_{}_{}", u.code, f.key);
        }
    }
    c.prefix = prefix;
    c
}

/// The differences between two tables in sentences.
fn changes(before: &SlaTable, after: &SlaTable) -> Vec<String> {
    let mut out = Vec::new();
    let mut keys: Vec<&String> = before.opinion.keys().chain(after.opinion.keys()).collect();
    keys.sort_by_key(|k| {
        (
            match k.as_str() {
                DEFAULT_CATEGORY => 0,
                CONSULT_CATEGORY => 1,
                _ => 2,
            },
            k.to_string(),
        )
    });
    keys.dedup();
    let fallback = OpinionSlaByUrgency {
        normal: OpinionSla::NORMAL,
        urgent: OpinionSla::URGENT,
    };
    for k in keys {
        let name = category_short(k);
        let (old, new) = match (before.opinion.get(k), after.opinion.get(k)) {
            (Some(_), None) => {
                out.push(format!("删除“{name}”的单独期限，今后按默认期限计算"));
                continue;
            }
            (None, Some(n)) => {
                out.push(format!("新增“{name}”的单独期限"));
                (before.opinion.get(DEFAULT_CATEGORY).unwrap_or(&fallback), n)
            }
            (Some(o), Some(n)) => (o, n),
            (None, None) => continue,
        };
        for (code, label) in URGENCIES {
            let (o, n) = if *code == "urgent" {
                (&old.urgent, &new.urgent)
            } else {
                (&old.normal, &new.normal)
            };
            for (key, flabel, _) in OPINION_FIELDS {
                let (a, b) = (opinion_get(o, key), opinion_get(n, key));
                if a != b {
                    out.push(format!(
                        "{name}·{label}·{flabel}：{} → {}（{}）",
                        a.label(),
                        b.label(),
                        opinion_meaning(key, b)
                    ));
                }
            }
        }
    }
    for (key, flabel, _) in SUGGESTION_FIELDS {
        let (a, b) = (
            suggestion_get(&before.suggestion, key),
            suggestion_get(&after.suggestion, key),
        );
        if a != b {
            out.push(format!(
                "闭会建议·{flabel}：{} → {}（{}）",
                a.label(),
                b.label(),
                suggestion_meaning(key, b)
            ));
        }
    }
    out
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
