//! 民意办理统计 in the workbench: the KPIs of reference §4.1 for the items received in a period,
//! broken down by region, station, handling unit or category, as a page and as an Excel file.
//! The report itself is `api::opinion_stats::report_for`, shared with the JSON API.

use crate::AppState;
use crate::api::opinion_stats::{STATS_ROLES, StatsParams, StatsView, groupings_for, report_for};
use crate::auth::Staff;
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::opinions_work::{CATEGORIES, Choice, choices, page_error, scoped_stations};
use crate::routes::suggestions::local_time;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use liaison_core::opinion_stats::{KPIS, KpiDef, Ratio, Tally};
use liaison_core::role::Role;
use liaison_core::validate::FieldError;
use liaison_db::audit::{self, Entry};
use serde::Deserialize;

/// Routes of the statistics page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/opinions/stats", get(page))
        .route("/work/opinions/stats.xlsx", get(export))
}

/// The satisfaction floor below which a group is marked (reference §4.1: 85 %).
const SATISFACTION_FLOOR: f64 = 0.85;

/// The page's sections: a heading and the KPI codes shown under it.
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "受理与交办",
        &["real_name_rate", "duplicate_rate", "direct_answer_rate"],
    ),
    (
        "承办单位办理",
        &[
            "response_rate",
            "on_time_acknowledgement",
            "first_contact",
            "reply_rate",
            "completion_rate",
            "on_time_completion",
            "overdue_rate",
            "return_rate",
            "return_rejected_rate",
            "extension_rate",
        ],
    ),
    (
        "群众评价与解决",
        &[
            "follow_up_rate",
            "satisfaction_rate",
            "very_satisfied_rate",
            "unsatisfied_rate",
            "resolution_rate",
            "first_time_resolution",
            "rehandle_rate",
            "no_repeat_rate",
        ],
    ),
];

/// The counts shown before each section's rates.
fn section_counts(section: usize, t: &Tally) -> Vec<(&'static str, String)> {
    match section {
        0 => vec![
            ("收到", t.received.to_string()),
            ("受理", t.accepted.to_string()),
            ("不予受理", t.declined.to_string()),
            ("交办", t.assigned.to_string()),
        ],
        1 => vec![
            ("交办", t.assigned.to_string()),
            ("办结", t.closed_assigned.to_string()),
            ("超期未答复", t.overdue_open.to_string()),
            ("督办", t.supervised.to_string()),
            (
                "平均办理时长（工作日）",
                t.average_handling_days()
                    .map_or("—".to_owned(), |d| format!("{d:.1}")),
            ),
        ],
        _ => vec![
            ("已评价", t.rated.to_string()),
            ("办结", t.closed.to_string()),
        ],
    }
}

/// One cell of a rate.
struct Cell {
    percent: String,
    parts: String,
    /// Below the floor (满意率 under 85 %).
    warn: bool,
}

fn cell(r: Ratio) -> Cell {
    Cell {
        percent: r.percent(),
        parts: format!("{}/{}", r.num, r.den),
        warn: r.code == "satisfaction_rate" && r.rate().is_some_and(|x| x < SATISFACTION_FLOOR),
    }
}

struct RowView {
    name: String,
    counts: Vec<String>,
    cells: Vec<Cell>,
    total: bool,
}

struct SectionView {
    id: String,
    title: &'static str,
    count_headers: Vec<&'static str>,
    kpis: Vec<&'static KpiDef>,
    rows: Vec<RowView>,
}

#[derive(Template)]
#[template(path = "opinions_work/stats.html")]
struct StatsPage {
    layout: Layout,
    form: StatsForm,
    groupings: Vec<Choice>,
    stations: Vec<Choice>,
    categories: Vec<Choice>,
    errors: Vec<FieldError>,
    /// What the report covers, in words.
    described: String,
    group_column: &'static str,
    sections: Vec<SectionView>,
    definitions: &'static [KpiDef],
    export_href: String,
    empty: bool,
    made_at: String,
}

impl StatsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// The form as typed (kept when it fails).
#[derive(Debug, Clone, Default, Deserialize)]
struct StatsForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    station: String,
    #[serde(default)]
    category: String,
}

impl StatsForm {
    fn params(&self) -> StatsParams {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        StatsParams {
            from: opt(&self.from),
            to: opt(&self.to),
            group: opt(&self.group),
            region: None,
            station: opt(&self.station),
            category: opt(&self.category),
        }
    }

    fn query_string(&self) -> String {
        crate::routes::query_string(&[
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("group", self.group.as_str()),
            ("station", self.station.as_str()),
            ("category", self.category.as_str()),
        ])
    }
}

fn sections(v: &StatsView) -> Vec<SectionView> {
    SECTIONS
        .iter()
        .enumerate()
        .map(|(i, (title, codes))| {
            let kpis: Vec<&'static KpiDef> = codes
                .iter()
                .filter_map(|c| liaison_core::opinion_stats::kpi(c))
                .collect();
            let row = |name: &str, t: &Tally, total: bool| RowView {
                name: name.to_owned(),
                counts: section_counts(i, t).into_iter().map(|(_, v)| v).collect(),
                cells: kpis
                    .iter()
                    .filter_map(|k| t.ratio(k.code))
                    .map(cell)
                    .collect(),
                total,
            };
            let mut rows: Vec<RowView> = v
                .report
                .groups
                .iter()
                .map(|g| row(&g.name, &g.tally, false))
                .collect();
            rows.push(row("合计", &v.report.total, true));
            SectionView {
                id: format!("s{i}"),
                title,
                count_headers: section_counts(i, &Tally::default())
                    .into_iter()
                    .map(|(h, _)| h)
                    .collect(),
                kpis,
                rows,
            }
        })
        .collect()
}

/// `GET /work/opinions/stats`.
async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<StatsForm>,
) -> PageResult {
    staff.require(STATS_ROLES)?;
    let p = &staff.auth.principal;
    let (view, errors) = match report_for(&state, p, &form.params()).await {
        Ok(v) => (Some(v), Vec::new()),
        Err(e) if e.status.is_server_error() => return Err(page_error(e)),
        Err(e) if e.fields.is_empty() => (None, vec![FieldError::new("", e.message)]),
        Err(e) => (None, e.fields),
    };
    let chosen_group = view
        .as_ref()
        .map_or(form.group.trim(), |v| v.grouping.code())
        .to_owned();
    let groupings = choices(
        groupings_for(p.role).iter().map(|g| (g.code(), g.label())),
        &chosen_group,
    );
    let stations = if matches!(p.role, Role::UnitOfficer | Role::UnitLead) {
        Vec::new()
    } else {
        let list = scoped_stations(&state, &staff.auth.scope()).await?;
        choices(
            list.iter().map(|(c, n)| (c.as_str(), n.as_str())),
            form.station.trim(),
        )
    };
    let categories = choices(CATEGORIES.iter().map(|c| (*c, *c)), form.category.trim());
    // The form shows the period the report used (the defaults filled in).
    let mut shown = form.clone();
    if let Some(v) = &view {
        shown.from = v.from.to_string();
        shown.to = v.to.to_string();
        shown.group = v.grouping.code().to_owned();
    }
    let export_href = format!("/work/opinions/stats.xlsx?{}", shown.query_string());
    render(&StatsPage {
        layout: Layout::staff(&staff, "民意办理统计", "opinion_stats"),
        groupings,
        stations,
        categories,
        errors,
        described: view.as_ref().map_or(String::new(), |v| v.described.clone()),
        group_column: view.as_ref().map_or("", |v| v.grouping.column()),
        sections: view.as_ref().map_or(Vec::new(), sections),
        definitions: KPIS,
        export_href,
        empty: view.as_ref().is_some_and(|v| v.report.total.received == 0),
        made_at: local_time(time::OffsetDateTime::now_utc()),
        form: shown,
    })
}

/// `GET /work/opinions/stats.xlsx`: the same report, one row per group and the total, every
/// KPI as a percentage with its numerator and denominator in the columns after it.
async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<StatsForm>,
) -> PageResult<Response> {
    staff.require(STATS_ROLES)?;
    let view = report_for(&state, &staff.auth.principal, &form.params())
        .await
        .map_err(|e| {
            if e.status.is_server_error() {
                page_error(e)
            } else {
                let detail = if e.fields.is_empty() {
                    e.message
                } else {
                    e.fields
                        .iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join("；")
                };
                PageError::BadRequest(format!("{detail}。请返回统计页修改条件后再导出。"))
            }
        })?;
    let mut headers: Vec<String> = vec![
        view.grouping.column().to_owned(),
        "收到".into(),
        "受理".into(),
        "不予受理".into(),
        "交办".into(),
        "办结".into(),
        "已评价".into(),
        "超期未答复".into(),
        "督办".into(),
        "平均办理时长（工作日）".into(),
    ];
    for k in KPIS {
        headers.push(k.label.to_owned());
        headers.push(format!("{}分子", k.label));
        headers.push(format!("{}分母", k.label));
    }
    let line = |name: &str, t: &Tally| -> Vec<String> {
        let mut v = vec![
            name.to_owned(),
            t.received.to_string(),
            t.accepted.to_string(),
            t.declined.to_string(),
            t.assigned.to_string(),
            t.closed.to_string(),
            t.rated.to_string(),
            t.overdue_open.to_string(),
            t.supervised.to_string(),
            t.average_handling_days()
                .map_or(String::new(), |d| format!("{d:.1}")),
        ];
        for r in t.ratios() {
            v.push(if r.den == 0 {
                String::new()
            } else {
                r.percent()
            });
            v.push(r.num.to_string());
            v.push(r.den.to_string());
        }
        v
    };
    let mut rows: Vec<Vec<String>> = view
        .report
        .groups
        .iter()
        .map(|g| line(&g.name, &g.tally))
        .collect();
    rows.push(line("合计", &view.report.total));
    let note = format!(
        "统计范围：{}（{}）；{}；导出时间：{}；导出人：{}。按收到日期统计，办理中的事项会继续变化；各项指标口径见统计页“指标口径”。",
        staff.auth.user.scope_name.clone().unwrap_or_default(),
        staff.auth.role().label(),
        view.described,
        local_time(time::OffsetDateTime::now_utc()),
        staff.auth.user.display_name,
    );
    let mut tx = state.db.begin().await?;
    audit::append(
        &mut tx,
        &state.keys,
        &staff.ctx.actor(),
        Entry {
            action: "export",
            entity: "opinion_stats",
            entity_id: staff
                .auth
                .user
                .scope_code
                .clone()
                .unwrap_or_else(|| "all".into()),
            summary: format!("导出民意办理统计；{}", view.described),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let bytes = tokio::task::spawn_blocking(move || {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut widths = vec![24.0, 8.0, 8.0, 9.0, 8.0, 8.0, 8.0, 11.0, 8.0, 12.0];
        widths.extend(std::iter::repeat_n(10.0, KPIS.len() * 3));
        liaison_docs::ledger::table_xlsx(&liaison_docs::ledger::Table {
            sheet: "民意办理统计",
            title: "民意办理统计",
            note: &note,
            headers: &headers,
            widths: &widths,
            rows: &rows,
        })
    })
    .await
    .map_err(|e| PageError::Internal(e.to_string()))?
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let filename = format!("民意办理统计-{}至{}.xlsx", view.from, view.to);
    Ok(crate::routes::xlsx_download(
        bytes,
        "opinion-stats.xlsx",
        &filename,
    ))
}
