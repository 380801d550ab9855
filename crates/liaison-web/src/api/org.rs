//! Organisation lists: regions and stations (public), deputies and handling units (staff).

use crate::AppState;
use crate::api::ListPage;
use crate::auth::{ApiUser, MaybeApiUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use liaison_core::role::Role;
use liaison_db::directory::{self, DeputyFilter, StationFilter, UnitFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Paging and filters shared by the lists.
#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Cursor from the previous page's `next`.
    pub after: Option<String>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
    /// Text filter (name or code).
    pub q: Option<String>,
    /// Region code: only items in that region's subtree.
    pub region: Option<String>,
    /// Stations: tier code; regions: level code; deputies: congress level code; units: kind code.
    pub kind: Option<String>,
}

impl ListParams {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 500)
    }
    fn after(&self) -> ApiResult<Option<i64>> {
        match self.after.as_deref() {
            None | Some("") => Ok(None),
            Some(a) => a.parse().map(Some).map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "after 参数无效，请使用上一页返回的 next 值",
                )
            }),
        }
    }
}

/// A region as a reference inside other items.
#[derive(Serialize, ToSchema)]
pub struct RegionRef {
    /// Id.
    pub id: i64,
    /// Administrative-division code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A region.
#[derive(Serialize, ToSchema)]
pub struct RegionDto {
    /// Id.
    pub id: i64,
    /// Administrative-division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `province`, `city`, `county`, `township` or `community`.
    pub level: String,
    /// Parent id.
    pub parent_id: Option<i64>,
}

/// Lists regions (public).
#[utoipa::path(get, path = "/api/v1/regions", tag = "organisation", params(ListParams),
    responses((status = 200, body = inline(ListPage<RegionDto>)), (status = 400, body = ErrorBody)))]
pub async fn list_regions(
    State(state): State<AppState>,
    _user: MaybeApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<RegionDto>>> {
    let within = region_path(&state, p.region.as_deref())
        .await?
        .map(liaison_core::scope::Scope::RegionSubtree);
    let page = directory::list_regions(
        &state.db,
        within.as_ref(),
        p.kind.as_deref(),
        p.q.as_deref(),
        p.after()?,
        p.limit(),
    )
    .await?;
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|r| RegionDto {
                id: r.id,
                code: r.code,
                name: r.name,
                level: r.level,
                parent_id: r.parent_id,
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// A station's public fields.
#[derive(Serialize, ToSchema)]
pub struct StationDto {
    /// Id.
    pub id: i64,
    /// Stable code (QR link `/s/<code>`).
    pub code: String,
    /// Name.
    pub name: String,
    /// `city_center`, `county_hub`, `township_station` or `liaison_point`.
    pub tier: String,
    /// Region.
    pub region: RegionRef,
    /// Parent station id.
    pub parent_id: Option<i64>,
    /// Address.
    pub address: String,
    /// Opening hours.
    pub opening_hours: String,
    /// Reception schedule.
    pub reception_schedule: String,
    /// Public phone.
    pub phone: String,
    /// Resident deputies.
    pub deputy_count: i64,
}

async fn region_path(state: &AppState, code: Option<&str>) -> ApiResult<Option<String>> {
    match code.filter(|c| !c.is_empty()) {
        Some(c) => match directory::region_by_code(&state.db, c).await? {
            Some(r) => Ok(Some(r.path)),
            None => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "unknown_region",
                format!("区划代码“{c}”不存在"),
            )),
        },
        None => Ok(None),
    }
}

/// Lists stations (public fields; no token needed).
#[utoipa::path(get, path = "/api/v1/stations", tag = "organisation", params(ListParams),
    responses((status = 200, body = inline(ListPage<StationDto>)), (status = 400, body = ErrorBody)))]
pub async fn list_stations(
    State(state): State<AppState>,
    _user: MaybeApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<StationDto>>> {
    let page = directory::list_stations(
        &state.db,
        None,
        &StationFilter {
            region_path: region_path(&state, p.region.as_deref()).await?,
            tier: p.kind.clone().filter(|k| !k.is_empty()),
            q: p.q.clone(),
            after_id: p.after()?,
            limit: p.limit(),
        },
    )
    .await?;
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|s| StationDto {
                id: s.id,
                code: s.code,
                name: s.name,
                tier: s.tier,
                region: RegionRef {
                    id: s.region_id,
                    code: s.region_code,
                    name: s.region_name,
                },
                parent_id: s.parent_id,
                address: s.address,
                opening_hours: s.opening_hours,
                reception_schedule: s.reception_schedule,
                phone: s.phone,
                deputy_count: s.deputy_count,
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// A congress seat.
#[derive(Serialize, ToSchema)]
pub struct SeatDto {
    /// `national`, `provincial`, `city`, `county` or `township`.
    pub level: String,
    /// Term.
    pub term: String,
    /// Delegation.
    pub delegation: String,
    /// Constituency.
    pub constituency: String,
}

/// A deputy (staff view; private contacts are not in the API).
#[derive(Serialize, ToSchema)]
pub struct DeputyDto {
    /// Id.
    pub id: i64,
    /// Stable code (QR link `/d/<code>`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: String,
    /// Party.
    pub party: String,
    /// Occupation.
    pub occupation: String,
    /// Region.
    pub region: RegionRef,
    /// Resident station code.
    pub station_code: Option<String>,
    /// Seats.
    pub seats: Vec<SeatDto>,
}

const STAFF: &[Role] = &[
    Role::SystemAdmin,
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
    Role::Deputy,
    Role::UnitOfficer,
    Role::UnitLead,
];

/// Lists deputies inside the caller's scope (token required).
#[utoipa::path(get, path = "/api/v1/deputies", tag = "organisation", params(ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<DeputyDto>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_deputies(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<DeputyDto>>> {
    user.require(STAFF)?;
    let page = directory::list_deputies(
        &state.db,
        Some(&user.auth.scope()),
        &DeputyFilter {
            region_path: region_path(&state, p.region.as_deref()).await?,
            level: p.kind.clone().filter(|k| !k.is_empty()),
            q: p.q.clone(),
            after_id: p.after()?,
            limit: p.limit(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|d| DeputyDto {
                id: d.id,
                code: d.code,
                name: d.name,
                gender: d.gender,
                party: d.party,
                occupation: d.occupation,
                region: RegionRef {
                    id: d.region_id,
                    code: d.region_code,
                    name: d.region_name,
                },
                station_code: d.station_code,
                seats: d
                    .seats
                    .into_iter()
                    .map(|s| SeatDto {
                        level: s.level.code().to_owned(),
                        term: s.term,
                        delegation: s.delegation,
                        constituency: s.constituency,
                    })
                    .collect(),
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}

/// A handling unit.
#[derive(Serialize, ToSchema)]
pub struct UnitDto {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind code.
    pub kind: String,
    /// Region.
    pub region: RegionRef,
    /// Public phone.
    pub phone: String,
}

/// Lists handling units inside the caller's scope (token required).
#[utoipa::path(get, path = "/api/v1/handling-units", tag = "organisation", params(ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = inline(ListPage<UnitDto>)), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_units(
    State(state): State<AppState>,
    user: ApiUser,
    Query(p): Query<ListParams>,
) -> ApiResult<Json<ListPage<UnitDto>>> {
    user.require(STAFF)?;
    let page = directory::list_units(
        &state.db,
        &user.auth.scope(),
        &UnitFilter {
            q: p.q.clone(),
            region_path: region_path(&state, p.region.as_deref()).await?,
            kind: p.kind.clone().filter(|k| !k.is_empty()),
            after_id: p.after()?,
            limit: p.limit(),
        },
    )
    .await?;
    Ok(Json(ListPage {
        items: page
            .items
            .into_iter()
            .map(|u| UnitDto {
                id: u.id,
                code: u.code,
                name: u.name,
                kind: u.kind,
                region: RegionRef {
                    id: u.region_id,
                    code: u.region_code,
                    name: u.region_name,
                },
                phone: u.phone,
            })
            .collect(),
        total: page.total,
        total_capped: page.total_capped,
        next: page.next,
    }))
}
