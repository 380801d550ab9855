//! `GET /api/v1/opinions/stats`: the KPIs of the opinion loop (reference §4.1) for the items
//! received in a period, within the caller's scope, broken down by region, station, unit or
//! category. The workbench page `/work/opinions/stats` and its Excel file read the same report
//! through [`report_for`].

use crate::AppState;
use crate::api::opinions::parse_date;
use crate::auth::ApiUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use liaison_core::opinion_stats::{GroupTally, KPIS, StatsContext, Tally};
use liaison_core::role::Role;
use liaison_core::scope::{Principal, Scope};
use liaison_core::validate::FieldError;
use liaison_db::directory;
use liaison_db::opinion_stats::{self, Grouping, Report, StatsFilter};
use liaison_db::opinions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Who may read the statistics: the congress staff of every level for their region or station,
/// and handling units for the items they led.
pub const STATS_ROLES: &[Role] = &[
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
    Role::UnitOfficer,
    Role::UnitLead,
];

/// The longest period one report covers (a year, leap day included): a city's year is the
/// largest report anyone needs, and the cost of a report grows with its items.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Query parameters of a report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Received from (YYYY-MM-DD); default 1 January of this year.
    pub from: Option<String>,
    /// Received to (YYYY-MM-DD); default today.
    pub to: Option<String>,
    /// Breakdown: `region` (the regions one level below), `station`, `unit` (the unit leading
    /// the item; a closed item: its last lead unit), `category`. Default: `region` for city and
    /// county staff, `station` for township and station staff, `unit` for units.
    pub group: Option<String>,
    /// Only this region (code) and below.
    pub region: Option<String>,
    /// Only this station (code) and its rooms and points.
    pub station: Option<String>,
    /// Only this category.
    pub category: Option<String>,
}

/// The breakdowns a role may ask for: units see only their own items, so only by unit and
/// category; a township or a station has no regions below it that hold stations of their own.
pub fn groupings_for(role: Role) -> &'static [Grouping] {
    match role {
        Role::CityStaff | Role::CountyStaff => Grouping::ALL,
        Role::TownshipStaff | Role::StationStaff => {
            &[Grouping::Station, Grouping::Unit, Grouping::Category]
        }
        _ => &[Grouping::Unit, Grouping::Category],
    }
}

/// A report with what it was asked for.
pub struct StatsView {
    /// First day.
    pub from: time::Date,
    /// Last day.
    pub to: time::Date,
    /// The breakdown.
    pub grouping: Grouping,
    /// The report.
    pub report: Report,
    /// The filters in words (for the page, the file's note and the audit record).
    pub described: String,
}

/// Parses `p` for `principal` and computes the report. A parameter that is not understood is a
/// validation error naming its field, with a Chinese message that says what to send.
pub async fn report_for(
    state: &AppState,
    principal: &Principal,
    p: &StatsParams,
) -> Result<StatsView, ApiError> {
    let today = opinions::today();
    let mut errors = Vec::new();
    let date = |field: &str, v: &Option<String>, errors: &mut Vec<FieldError>| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => parse_date(field, s).map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    let from = date("from", &p.from, &mut errors).unwrap_or_else(|| {
        time::Date::from_calendar_date(today.year(), time::Month::January, 1).unwrap_or(today)
    });
    let to = date("to", &p.to, &mut errors).unwrap_or(today);
    if errors.is_empty() {
        if from > to {
            errors.push(FieldError::new("to", "截止日期不能早于起始日期"));
        } else if (to - from).whole_days() + 1 > MAX_PERIOD_DAYS {
            errors.push(FieldError::new(
                "from",
                format!("统计区间最长{MAX_PERIOD_DAYS}天（一年），请缩短区间或分年统计"),
            ));
        }
    }
    let allowed = groupings_for(principal.role);
    let grouping = match p.group.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => allowed[0],
        Some(code) => match Grouping::parse(code).filter(|g| allowed.contains(g)) {
            Some(g) => g,
            None => {
                let offered: Vec<String> = allowed
                    .iter()
                    .map(|g| format!("{}（{}）", g.code(), g.label()))
                    .collect();
                errors.push(FieldError::new(
                    "group",
                    format!("统计方式只能是：{}", offered.join("、")),
                ));
                allowed[0]
            }
        },
    };
    let mut filter = StatsFilter {
        from,
        to,
        region_path: None,
        station_id: None,
        category: p
            .category
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        lead_unit_id: match principal.role {
            Role::UnitOfficer | Role::UnitLead => principal.unit_id,
            _ => None,
        },
    };
    let mut described = vec![format!("收到日期{from}至{to}"), grouping.label().to_owned()];
    if let Some(code) = p.region.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        match directory::region_by_code(&state.db, code).await? {
            Some(r) => {
                described.push(format!("地区：{}", r.name));
                filter.region_path = Some(r.path);
            }
            None => errors.push(FieldError::new("region", "区划代码不存在，请从列表中选择")),
        }
    }
    if let Some(code) = p
        .station
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match directory::station_by_code(&state.db, code).await? {
            Some(s) => {
                described.push(format!("联络站：{}", s.name));
                filter.station_id = Some(s.id);
            }
            None => errors.push(FieldError::new(
                "station",
                "联络站编码不存在，请从列表中选择",
            )),
        }
    }
    if let Some(c) = &filter.category {
        described.push(format!("分类：{c}"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let scope = opinions::list_scope(principal);
    // Regions are broken down below the region asked for, else below the viewer's own.
    let base = filter.region_path.clone().or_else(|| match &scope {
        Scope::RegionSubtree(path) => Some(path.clone()),
        _ => None,
    });
    let rules = state.rules.read().await.clone();
    let cx = StatsContext {
        calendar: &rules.calendar,
        sla: &rules.sla,
        today,
    };
    let report =
        opinion_stats::report(&state.db, &scope, &filter, grouping, base.as_deref(), &cx).await?;
    Ok(StatsView {
        from,
        to,
        grouping,
        report,
        described: described.join("，"),
    })
}

/// One KPI of a group.
#[derive(Serialize, ToSchema)]
pub struct KpiValue {
    /// Numerator.
    pub num: u64,
    /// Denominator.
    pub den: u64,
    /// `num ÷ den`, null over an empty base.
    pub rate: Option<f64>,
}

/// A group's counts and KPIs.
#[derive(Serialize, ToSchema)]
pub struct StatsRow {
    /// Region path, station id, unit id or category; empty for the total.
    pub key: String,
    /// Name.
    pub name: String,
    /// The counts the KPIs are made of (field names as in the KPI formulas).
    #[schema(value_type = Object)]
    pub counts: Tally,
    /// Mean working days from acknowledging to closing, null if nothing closed was measured.
    pub average_handling_days: Option<f64>,
    /// Every KPI by code (see `definitions`).
    #[schema(value_type = Object)]
    pub kpis: std::collections::BTreeMap<&'static str, KpiValue>,
}

impl StatsRow {
    fn new(key: &str, name: &str, t: &Tally) -> Self {
        StatsRow {
            key: key.to_owned(),
            name: name.to_owned(),
            counts: t.clone(),
            average_handling_days: t.average_handling_days(),
            kpis: t
                .ratios()
                .into_iter()
                .map(|r| {
                    (
                        r.code,
                        KpiValue {
                            num: r.num,
                            den: r.den,
                            rate: r.rate(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn of(g: &GroupTally) -> Self {
        Self::new(&g.key, &g.name, &g.tally)
    }
}

/// What a KPI means.
#[derive(Serialize, ToSchema)]
pub struct KpiDefinition {
    /// Code.
    pub code: &'static str,
    /// Chinese name.
    pub label: &'static str,
    /// Formula in words.
    pub formula: &'static str,
    /// A higher value is worse.
    pub lower_is_better: bool,
}

/// A report.
#[derive(Serialize, ToSchema)]
pub struct StatsReport {
    /// First day of the period (items received from).
    pub from: String,
    /// Last day.
    pub to: String,
    /// The breakdown.
    pub group: &'static str,
    /// One row per group, largest first.
    pub groups: Vec<StatsRow>,
    /// All items of the report.
    pub total: StatsRow,
    /// The KPIs, their names and formulas.
    pub definitions: Vec<KpiDefinition>,
}

impl From<&StatsView> for StatsReport {
    fn from(v: &StatsView) -> Self {
        StatsReport {
            from: v.from.to_string(),
            to: v.to.to_string(),
            group: v.grouping.code(),
            groups: v.report.groups.iter().map(StatsRow::of).collect(),
            total: StatsRow::new("", "合计", &v.report.total),
            definitions: KPIS
                .iter()
                .map(|k| KpiDefinition {
                    code: k.code,
                    label: k.label,
                    formula: k.formula,
                    lower_is_better: k.lower_is_better,
                })
                .collect(),
        }
    }
}

/// The KPIs of the opinion loop (民意办理统计) for the items received in a period, within the
/// caller's scope: response, on-time acknowledgement, reply, completion, overdue, follow-up,
/// satisfaction, resolution, re-handling, return, extension, direct-answer, no-repeat,
/// real-name and duplicate rates, each with its numerator and denominator.
#[utoipa::path(get, path = "/api/v1/opinions/stats", tag = "opinions", params(StatsParams), security(("bearer" = [])),
    responses((status = 200, body = StatsReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<StatsParams>,
) -> ApiResult<Json<StatsReport>> {
    user.require(STATS_ROLES)?;
    let view = report_for(&state, &user.auth.principal, &p).await?;
    Ok(Json(StatsReport::from(&view)))
}
