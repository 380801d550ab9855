//! Printable QR posters: the 联络站码 of a station and the 代表码 of a deputy.
//!
//! - `GET /stations/{code}/poster`, `GET /deputies/{code}/poster` (`?size=a4|a5`): a page that
//!   shows the poster at paper size, for the browser's print dialog. Public: a poster shows only
//!   public information.
//! - `GET /posters/stations/{code}.svg|.png`, `GET /posters/deputies/{code}.svg|.png`: the poster
//!   as a download.
//! - `GET /work/posters` and `GET /work/posters.zip?region=&size=&png=1`: for staff, every
//!   station of a region in their scope and the deputies resident there, in one ZIP.
//!
//! Drawing is CPU work (about 0.05 s per A4 PNG in a release build, 1 s in a debug build), so it
//! runs on the blocking pool.

use crate::AppState;
use crate::auth::{RequestCtx, Staff};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::filter;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use liaison_core::role::Role;
use liaison_core::scope::Scope;
use liaison_db::directory::{
    self, DeputyFilter, DeputyItem, RegionItem, StationFilter, StationItem,
};
use liaison_docs::DocError;
use liaison_docs::poster::{self, PaperSize, PosterInput, PosterKind};
use serde::Deserialize;
use std::collections::HashMap;

/// Poster routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stations/{code}/poster", get(station_print_page))
        .route("/deputies/{code}/poster", get(deputy_print_page))
        .route("/posters/stations/{file}", get(station_download))
        .route("/posters/deputies/{file}", get(deputy_download))
        .route("/work/posters", get(batch_form))
        .route("/work/posters.zip", get(batch_zip))
}

/// Who may download a region's posters: the staff who keep the organisation.
const POSTER_ROLES: &[Role] = &[
    Role::SystemAdmin,
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
];

/// Most posters in one ZIP with PNG files: each PNG takes about 0.05 s to draw (release build),
/// so a full batch is ready in well under a minute.
const MAX_BATCH_WITH_PNG: usize = 300;
/// Most posters in one SVG-only ZIP.
const MAX_BATCH_SVG: usize = 5000;

#[derive(Deserialize, Default)]
struct SizeQuery {
    size: Option<String>,
}

/// The paper size asked for; A4 when none.
fn paper(size: &Option<String>) -> PageResult<PaperSize> {
    match filter(size) {
        None => Ok(PaperSize::A4),
        Some(s) => PaperSize::parse(&s).ok_or_else(|| {
            PageError::BadRequest(format!("纸张规格“{s}”无法识别，请选择 A4 或 A5。"))
        }),
    }
}

fn doc_error(e: DocError) -> PageError {
    PageError::Internal(format!("poster: {e}"))
}

// ---------------------------------------------------------------------------------------------
// What is printed

/// Region names for a subtitle and the issuer for the footer, from the region's ancestors.
struct Place {
    /// County down to the station's own region, e.g. 椒江区海门街道.
    local: String,
    /// 台州市人大常委会 制.
    footer: String,
}

fn place(ancestors: &[RegionItem]) -> Place {
    let local: String = ancestors
        .iter()
        .filter(|r| matches!(r.level.as_str(), "county" | "township" | "community"))
        .map(|r| r.name.as_str())
        .collect();
    let local = if local.is_empty() {
        ancestors.last().map(|r| r.name.clone()).unwrap_or_default()
    } else {
        local
    };
    // Posters are issued by the city's standing committee, the level that runs the system.
    let issuer = ancestors
        .iter()
        .find(|r| r.level == "city")
        .or(ancestors.last())
        .map(|r| format!("{}人大常委会 制", r.name))
        .unwrap_or_else(|| "人大代表联络站".to_owned());
    Place {
        local,
        footer: issuer,
    }
}

/// Looks up and remembers the [`Place`] of each region, so a batch asks once per region.
#[derive(Default)]
struct Places(HashMap<i64, (String, String)>);

impl Places {
    async fn get(&mut self, state: &AppState, region_id: i64) -> PageResult<Place> {
        if let Some((local, footer)) = self.0.get(&region_id) {
            return Ok(Place {
                local: local.clone(),
                footer: footer.clone(),
            });
        }
        let region = directory::region(&state.db, region_id).await?;
        let ancestors = directory::region_ancestors(&state.db, &region).await?;
        let p = place(&ancestors);
        self.0
            .insert(region_id, (p.local.clone(), p.footer.clone()));
        Ok(p)
    }
}

fn station_input(state: &AppState, station: &StationItem, place: Place) -> PosterInput {
    PosterInput {
        kind: PosterKind::Station,
        title: station.name.clone(),
        subtitle: place.local,
        purpose: "扫码向人大代表反映意见建议、查看联络站信息和活动".into(),
        url: format!("{}/s/{}", state.config.public_url, station.code),
        photo_initial: None,
        footer: place.footer,
    }
}

fn deputy_input(state: &AppState, deputy: &DeputyItem, place: Place) -> PosterInput {
    let mut subtitle = deputy.levels_label();
    if let Some(station) = &deputy.station_name {
        if !subtitle.is_empty() {
            subtitle.push_str(" · ");
        }
        subtitle.push_str(station);
    }
    if subtitle.is_empty() {
        subtitle = place.local;
    }
    PosterInput {
        kind: PosterKind::Deputy,
        title: format!("{} 代表", deputy.name),
        subtitle,
        purpose: "扫码查看代表信息，通过联络站向代表反映意见建议".into(),
        url: format!("{}/d/{}", state.config.public_url, deputy.code),
        photo_initial: deputy.name.chars().next(),
        footer: place.footer,
    }
}

async fn station_poster(state: &AppState, code: &str) -> PageResult<(PosterInput, String)> {
    let station = directory::station_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    let place = Places::default().get(state, station.region_id).await?;
    Ok((
        station_input(state, &station, place),
        poster::file_stem(&station.code, &station.name),
    ))
}

async fn deputy_poster(state: &AppState, code: &str) -> PageResult<(PosterInput, String)> {
    let deputy = directory::deputy_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    let place = Places::default().get(state, deputy.region_id).await?;
    Ok((
        deputy_input(state, &deputy, place),
        poster::file_stem(&deputy.code, &format!("{}代表", deputy.name)),
    ))
}

// ---------------------------------------------------------------------------------------------
// The print page

#[derive(Template)]
#[template(path = "posters/print.html")]
struct PrintPage {
    /// 联络站码 or 代表码.
    kind_label: &'static str,
    /// Station or deputy name.
    name: String,
    /// The link in the QR code.
    url: String,
    size: &'static str,
    svg_href: String,
    png_href: String,
    back_href: String,
}

impl PrintPage {
    fn size_label(&self) -> &'static str {
        if self.size == "a5" { "A5" } else { "A4" }
    }
}

/// `GET /stations/{code}/poster`.
async fn station_print_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SizeQuery>,
) -> PageResult {
    let size = paper(&q.size)?;
    let (input, _) = station_poster(&state, &code).await?;
    let code = crate::auth::urlencode(&code);
    render(&PrintPage {
        kind_label: "联络站码",
        name: input.title,
        url: input.url,
        size: size.code(),
        svg_href: format!("/posters/stations/{code}.svg?size={}", size.code()),
        png_href: format!("/posters/stations/{code}.png?size={}", size.code()),
        back_href: format!("/stations/{code}"),
    })
}

/// `GET /deputies/{code}/poster`.
async fn deputy_print_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SizeQuery>,
) -> PageResult {
    let size = paper(&q.size)?;
    let (input, _) = deputy_poster(&state, &code).await?;
    let code = crate::auth::urlencode(&code);
    render(&PrintPage {
        kind_label: "代表码",
        name: input.title,
        url: input.url,
        size: size.code(),
        svg_href: format!("/posters/deputies/{code}.svg?size={}", size.code()),
        png_href: format!("/posters/deputies/{code}.png?size={}", size.code()),
        back_href: format!("/deputies/{code}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Single downloads

#[derive(Clone, Copy, PartialEq)]
enum FileType {
    Svg,
    Png,
}

/// `JJ-HM.svg` → (`JJ-HM`, SVG); other extensions are not found.
fn split_file(file: &str) -> PageResult<(&str, FileType)> {
    match file.rsplit_once('.') {
        Some((code, "svg")) if !code.is_empty() => Ok((code, FileType::Svg)),
        Some((code, "png")) if !code.is_empty() => Ok((code, FileType::Png)),
        _ => Err(PageError::NotFound),
    }
}

/// `GET /posters/stations/{code}.svg|.png`.
async fn station_download(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(file): Path<String>,
    Query(q): Query<SizeQuery>,
) -> PageResult {
    let size = paper(&q.size)?;
    let (code, kind) = split_file(&file)?;
    limit_rendering(&state, &ctx, kind)?;
    let (input, stem) = station_poster(&state, code).await?;
    download(input, stem, kind, size).await
}

/// `GET /posters/deputies/{code}.svg|.png`.
async fn deputy_download(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(file): Path<String>,
    Query(q): Query<SizeQuery>,
) -> PageResult {
    let size = paper(&q.size)?;
    let (code, kind) = split_file(&file)?;
    limit_rendering(&state, &ctx, kind)?;
    let (input, stem) = deputy_poster(&state, code).await?;
    download(input, stem, kind, size).await
}

/// A PNG poster takes about 50 ms of CPU to render: visitors who are not signed in share the
/// public per-address limit, so a loop of requests cannot keep the server busy. Staff printing
/// a county's posters are not limited (and use the batch download).
fn limit_rendering(state: &AppState, ctx: &RequestCtx, kind: FileType) -> PageResult<()> {
    if kind == FileType::Png && ctx.auth.is_none() && state.limits.public_blocked(&ctx.ip) {
        return Err(PageError::TooMany);
    }
    Ok(())
}

async fn download(input: PosterInput, stem: String, kind: FileType, size: PaperSize) -> PageResult {
    let (bytes, mime, ext) = tokio::task::spawn_blocking(move || match kind {
        FileType::Svg => poster::poster_svg(&input, size)
            .map(|s| (s.into_bytes(), "image/svg+xml; charset=utf-8", "svg")),
        FileType::Png => {
            poster::poster_png(&input, size, poster::DEFAULT_DPI).map(|b| (b, "image/png", "png"))
        }
    })
    .await
    .map_err(|e| PageError::Internal(format!("poster task: {e}")))?
    .map_err(doc_error)?;
    let name = format!("{stem}-{}.{ext}", size.code().to_ascii_uppercase());
    Ok(attachment(bytes, mime, &name))
}

/// A file download: `Content-Disposition: attachment` with an ASCII fallback name and the UTF-8
/// name in `filename*` (RFC 6266), which every current browser uses.
fn attachment(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Batch download for staff

#[derive(Template)]
#[template(path = "posters/batch.html")]
struct BatchPage {
    layout: Layout,
    regions: Vec<RegionItem>,
    /// Station staff have no region to choose: their station is the batch.
    station_only: bool,
}

/// `GET /work/posters` — the form of the batch download.
async fn batch_form(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.require(POSTER_ROLES)?;
    let scope = staff.auth.scope();
    let station_only = matches!(scope, Scope::Station(_));
    let regions = if station_only {
        Vec::new()
    } else {
        directory::list_regions(&state.db, Some(&scope), None, None, None, 2000)
            .await?
            .items
            .into_iter()
            // Posters are gathered by county or township; a community has a point at most.
            .filter(|r| r.level != "community")
            .collect()
    };
    render(&BatchPage {
        layout: Layout::staff(&staff, "打印二维码海报", "posters"),
        regions,
        station_only,
    })
}

#[derive(Deserialize, Default)]
struct BatchQuery {
    region: Option<String>,
    size: Option<String>,
    png: Option<String>,
}

/// Whether the staff member may take the posters of `region`: it lies in their region, or (for
/// station staff) holds their station.
async fn region_allowed(state: &AppState, scope: &Scope, region: &RegionItem) -> PageResult<bool> {
    Ok(match scope {
        Scope::Everything => true,
        Scope::RegionSubtree(path) => region.path.starts_with(path.as_str()),
        Scope::Station(id) => {
            let station = directory::station(&state.db, *id).await?;
            let own = directory::region(&state.db, station.region_id).await?;
            own.path.starts_with(region.path.as_str())
        }
        Scope::Unit(_) | Scope::Deputy(_) | Scope::EnteredBy(_) | Scope::Nothing => false,
    })
}

/// `GET /work/posters.zip` — the posters of every station in a region (within the caller's
/// scope) and of the deputies resident at them.
async fn batch_zip(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<BatchQuery>,
) -> PageResult {
    staff.require(POSTER_ROLES)?;
    let size = paper(&q.size)?;
    let with_png = matches!(q.png.as_deref(), Some("1" | "on" | "true" | "yes"));
    let scope = staff.auth.scope();
    let region = match filter(&q.region) {
        Some(code) => {
            let region = directory::region_by_code(&state.db, &code)
                .await?
                .ok_or_else(|| {
                    PageError::BadRequest(format!(
                        "找不到行政区划代码“{code}”。请从列表中选择地区后再下载。"
                    ))
                })?;
            if !region_allowed(&state, &scope, &region).await? {
                return Err(PageError::Forbidden(format!(
                    "{}不在您的工作范围内，不能下载该地区的二维码海报。请选择您负责的地区。",
                    region.name
                )));
            }
            Some(region)
        }
        None => None,
    };

    let mut stations = Vec::new();
    let mut after_id = None;
    loop {
        let page = directory::list_stations(
            &state.db,
            Some(&scope),
            &StationFilter {
                region_path: region.as_ref().map(|r| r.path.clone()),
                after_id,
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
        stations.extend(page.items);
        match page.next.and_then(|n| n.parse().ok()) {
            Some(next) => after_id = Some(next),
            None => break,
        }
    }
    if stations.is_empty() {
        return Err(PageError::BadRequest(
            "所选地区在您的工作范围内没有联络站，没有可生成的海报。请选择其他地区。".into(),
        ));
    }
    let deputies_total: i64 = stations.iter().map(|s| s.deputy_count).sum();
    let total = stations.len() + usize::try_from(deputies_total).unwrap_or(usize::MAX);
    let limit = if with_png {
        MAX_BATCH_WITH_PNG
    } else {
        MAX_BATCH_SVG
    };
    if total > limit {
        return Err(PageError::BadRequest(format!(
            "所选地区共有 {total} 张海报，超过一次可打包的上限（{limit} 张{}）。请选择下级地区分批下载{}。",
            if with_png { "，含 PNG" } else { "" },
            if with_png {
                "，或只下载 SVG（不勾选 PNG）"
            } else {
                ""
            }
        )));
    }

    let mut places = Places::default();
    let mut items = Vec::with_capacity(total);
    let mut deputies = Vec::new();
    for station in &stations {
        let place = places.get(&state, station.region_id).await?;
        items.push((
            poster::file_stem(&station.code, &station.name),
            station_input(&state, station, place),
        ));
        if station.deputy_count > 0 {
            let page = directory::list_deputies(
                &state.db,
                None,
                &DeputyFilter {
                    station_id: Some(station.id),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await?;
            deputies.extend(page.items);
        }
    }
    for deputy in &deputies {
        let place = places.get(&state, deputy.region_id).await?;
        items.push((
            poster::file_stem(&deputy.code, &format!("{}代表", deputy.name)),
            deputy_input(&state, deputy, place),
        ));
    }

    let bytes = tokio::task::spawn_blocking(move || poster::posters_zip(&items, size, with_png))
        .await
        .map_err(|e| PageError::Internal(format!("poster task: {e}")))?
        .map_err(doc_error)?;
    let what = region.as_ref().map_or_else(
        || match &scope {
            Scope::Station(_) => stations[0].name.clone(),
            _ => "全部".to_owned(),
        },
        |r| format!("{}-{}", r.code, r.name),
    );
    let name = format!("二维码海报-{what}-{}.zip", size.code().to_ascii_uppercase());
    Ok(attachment(bytes, "application/zip", &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str, name: &str, level: &str) -> RegionItem {
        RegionItem {
            id: 0,
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent_id: None,
            path: String::new(),
        }
    }

    #[test]
    fn a_township_station_is_placed_by_county_and_township_and_issued_by_the_city() {
        let p = place(&[
            region("330000", "浙江省", "province"),
            region("331000", "台州市", "city"),
            region("331002", "椒江区", "county"),
            region("331002001", "海门街道", "township"),
        ]);
        assert_eq!(p.local, "椒江区海门街道");
        assert_eq!(p.footer, "台州市人大常委会 制");
    }

    #[test]
    fn the_city_centre_is_placed_by_the_city() {
        let p = place(&[
            region("330000", "浙江省", "province"),
            region("331000", "台州市", "city"),
        ]);
        assert_eq!(p.local, "台州市");
        assert_eq!(p.footer, "台州市人大常委会 制");
    }

    #[test]
    fn only_svg_and_png_files_exist() {
        assert!(matches!(
            split_file("JJ-HM.svg"),
            Ok(("JJ-HM", FileType::Svg))
        ));
        assert!(matches!(
            split_file("JJ-HM.png"),
            Ok(("JJ-HM", FileType::Png))
        ));
        assert!(split_file("JJ-HM.pdf").is_err());
        assert!(split_file(".svg").is_err());
        assert!(split_file("JJ-HM").is_err());
    }

    #[test]
    fn the_download_name_is_ascii_with_the_chinese_name_in_filename_star() {
        let r = attachment(Vec::new(), "image/png", "JJ-HM-海门.png");
        let cd = r.headers()[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert_eq!(
            cd,
            "attachment; filename=\"JJ-HM-__.png\"; filename*=UTF-8''JJ-HM-%E6%B5%B7%E9%97%A8.png"
        );
    }

    #[test]
    fn paper_size_defaults_to_a4_and_refuses_others_in_chinese() {
        assert_eq!(paper(&None).unwrap(), PaperSize::A4);
        assert_eq!(paper(&Some("A5".into())).unwrap(), PaperSize::A5);
        match paper(&Some("B5".into())) {
            Err(PageError::BadRequest(m)) => assert!(m.contains("A4 或 A5")),
            _ => panic!("B5 should be refused"),
        }
    }
}
