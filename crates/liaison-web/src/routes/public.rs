//! The public portal: the station directory by region, station and deputy pages, the stable
//! QR short links (`/s/<code>`, `/d/<code>`), the privacy notice, assets and `/healthz`.

use crate::AppState;
use crate::auth::RequestCtx;
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::{cursor, filter};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use liaison_core::org::StationTier;
use liaison_db::directory::{
    self, DeputyFilter, DeputyItem, RegionItem, StationFilter, StationItem,
};
use serde::Deserialize;

/// Public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(directory_home))
        .route("/regions/{code}", get(region_page))
        .route("/stations/{code}", get(station_page))
        .route("/s/{code}", get(station_short_link))
        .route("/deputies", get(deputy_search))
        .route("/deputies/{code}", get(deputy_page))
        .route("/d/{code}", get(deputy_short_link))
        .route("/privacy", get(privacy))
        .route("/assets/{*file}", get(asset))
        .route("/healthz", get(healthz))
}

/// Label of a tier code.
pub fn tier_label(code: &str) -> &'static str {
    StationTier::parse(code).map_or("联络站", StationTier::label)
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage {
    layout: Layout,
    city_level: Vec<StationItem>,
    regions: Vec<RegionItem>,
    q: String,
    results: Option<Vec<StationItem>>,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// `GET /` — where is my station.
async fn directory_home(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(sq): Query<SearchQuery>,
) -> PageResult {
    let db = &state.db;
    let mut city_level = directory::list_stations(
        db,
        None,
        &StationFilter {
            tier: Some("city_center".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await?
    .items;
    city_level.extend(
        directory::list_stations(
            db,
            None,
            &StationFilter {
                tier: Some("county_hub".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await?
        .items,
    );
    // The directory starts at the lowest region that still has more than one child: in a
    // city's installation, the city's counties.
    let mut regions = directory::region_children(db, None).await?;
    while regions.len() == 1 {
        regions = directory::region_children(db, Some(regions[0].id)).await?;
    }
    let q = filter(&sq.q);
    let results = match &q {
        Some(q) => Some(
            directory::list_stations(
                db,
                None,
                &StationFilter {
                    q: Some(q.clone()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?
            .items,
        ),
        None => None,
    };
    render(&HomePage {
        layout: Layout::public(&ctx, "找联络站"),
        city_level,
        regions,
        q: q.unwrap_or_default(),
        results,
    })
}

#[derive(Template)]
#[template(path = "public/region.html")]
struct RegionPage {
    layout: Layout,
    region: RegionItem,
    crumbs: Vec<RegionItem>,
    children: Vec<RegionItem>,
    stations: Vec<StationItem>,
    total: i64,
    next: Option<String>,
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
}

/// `GET /regions/{code}` — stations of a county or township.
async fn region_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
    Query(pq): Query<PageQuery>,
) -> PageResult {
    let db = &state.db;
    let region = directory::region_by_code(db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let crumbs = directory::region_ancestors(db, &region).await?;
    let children = directory::region_children(db, Some(region.id)).await?;
    let page = directory::list_stations(
        db,
        None,
        &StationFilter {
            region_path: Some(region.path.clone()),
            after_id: cursor(&pq.after),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    render(&RegionPage {
        layout: Layout::public(&ctx, region.name.clone()),
        region,
        crumbs,
        children,
        stations: page.items,
        total: page.total,
        next: page.next,
    })
}

/// A station member as the public sees it: role and name only.
pub struct PublicMember {
    /// Role label.
    pub role: &'static str,
    /// Name.
    pub name: String,
}

#[derive(Template)]
#[template(path = "public/station.html")]
struct StationPage {
    layout: Layout,
    station: StationItem,
    crumbs: Vec<RegionItem>,
    members: Vec<PublicMember>,
    deputies: Vec<DeputyItem>,
    points: Vec<StationItem>,
    parent: Option<StationItem>,
    short_url: String,
}

/// `GET /stations/{code}` — the station's public page (the 联络站码 lands here).
async fn station_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
) -> PageResult {
    let db = &state.db;
    let station = directory::station_by_code(db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let region = directory::region(db, station.region_id).await?;
    let crumbs = directory::region_ancestors(db, &region).await?;
    let members = directory::station_members(db, station.id)
        .await?
        .into_iter()
        // Grid workers' names are not published; heads and liaison officers are public contacts.
        .filter(|m| m.role != "grid_worker")
        .map(|m| PublicMember {
            role: liaison_core::org::StationRole::parse(&m.role).map_or("", |r| r.label()),
            name: m.name,
        })
        .collect();
    let deputies = directory::list_deputies(
        db,
        None,
        &DeputyFilter {
            station_id: Some(station.id),
            limit: 200,
            ..Default::default()
        },
    )
    .await?
    .items;
    let points = directory::station_children(db, station.id).await?;
    let parent = match station.parent_id {
        Some(p) => Some(directory::station(db, p).await?),
        None => None,
    };
    let short_url = format!("{}/s/{}", state.config.public_url, station.code);
    render(&StationPage {
        layout: Layout::public(&ctx, station.name.clone()),
        station,
        crumbs,
        members,
        deputies,
        points,
        parent,
        short_url,
    })
}

/// `GET /s/{code}` — the stable short link printed in a station's QR code.
async fn station_short_link(Path(code): Path<String>) -> Redirect {
    Redirect::to(&format!("/stations/{}", crate::auth::urlencode(&code)))
}

/// `GET /d/{code}` — the stable short link printed in a deputy's QR code.
async fn deputy_short_link(Path(code): Path<String>) -> Redirect {
    Redirect::to(&format!("/deputies/{}", crate::auth::urlencode(&code)))
}

#[derive(Template)]
#[template(path = "public/deputies.html")]
struct DeputySearchPage {
    layout: Layout,
    q: String,
    level: String,
    levels: Vec<(&'static str, &'static str)>,
    deputies: Vec<DeputyItem>,
    total: i64,
    next: Option<String>,
    searched: bool,
}

#[derive(Deserialize)]
struct DeputyQuery {
    q: Option<String>,
    level: Option<String>,
    after: Option<String>,
}

/// `GET /deputies` — find a deputy by name.
async fn deputy_search(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(dq): Query<DeputyQuery>,
) -> PageResult {
    let q = filter(&dq.q);
    let level = filter(&dq.level);
    let searched = q.is_some() || level.is_some();
    let page = if searched {
        directory::list_deputies(
            &state.db,
            None,
            &DeputyFilter {
                q: q.clone(),
                level: level.clone(),
                after_id: cursor(&dq.after),
                limit: 50,
                ..Default::default()
            },
        )
        .await?
    } else {
        directory::Page {
            items: Vec::new(),
            total: 0,
            total_capped: false,
            next: None,
        }
    };
    render(&DeputySearchPage {
        layout: Layout::public(&ctx, "找代表"),
        q: q.unwrap_or_default(),
        level: level.unwrap_or_default(),
        levels: liaison_core::org::CongressLevel::ALL
            .iter()
            .map(|l| (l.code(), directory::short_level(*l)))
            .collect(),
        deputies: page.items,
        total: page.total,
        next: page.next,
        searched,
    })
}

#[derive(Template)]
#[template(path = "public/deputy.html")]
struct DeputyPage {
    layout: Layout,
    deputy: DeputyItem,
    short_url: String,
}

/// `GET /deputies/{code}` — the deputy's public page (the 代表码 lands here).
async fn deputy_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(code): Path<String>,
) -> PageResult {
    let deputy = directory::deputy_by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    let short_url = format!("{}/d/{}", state.config.public_url, deputy.code);
    render(&DeputyPage {
        layout: Layout::public(&ctx, format!("{}代表", deputy.name)),
        deputy,
        short_url,
    })
}

#[derive(Template)]
#[template(path = "public/privacy.html")]
struct PrivacyPage {
    layout: Layout,
}

/// `GET /privacy` — what personal data is kept, why, and the holder's rights.
async fn privacy(ctx: RequestCtx) -> PageResult {
    render(&PrivacyPage {
        layout: Layout::public(&ctx, "个人信息保护说明"),
    })
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// `GET /assets/{file}` — the stylesheet and icons, embedded in the binary.
async fn asset(Path(file): Path<String>) -> Response {
    match Assets::get(&file) {
        Some(content) => {
            let mime = match file.rsplit('.').next() {
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("js") => "text/javascript; charset=utf-8",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                content.data.into_owned(),
            )
                .into_response()
        }
        None => PageError::NotFound.into_response(),
    }
}

/// `GET /healthz` — 200 when the database answers.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Label of a congress seat, e.g. 市人大代表.
pub fn seat_label(s: &liaison_core::dataset::CongressSeat) -> String {
    format!("{}人大代表", directory::short_level(s.level))
}
