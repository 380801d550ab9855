//! Maintaining the organisation in the workbench: stations, deputies, handling units, regions.
//!
//! Every save becomes a one-row [`Dataset`] and goes through `liaison_db::org::load_dataset`,
//! the same audited write path as an Excel import. Each request is checked against the user's
//! scope on the server: what lies outside it is neither shown nor writable.

use crate::AppState;
use crate::auth::{CsrfForm, Staff};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use crate::routes::{cursor, filter};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use liaison_core::dataset::{CongressSeat, Dataset, DeputyRow, RegionRow, StationRow, UnitRow};
use liaison_core::org::{CongressLevel, RegionLevel, StationTier, UnitKind};
use liaison_core::role::Role;
use liaison_core::scope::Scope;
use liaison_core::validate::{self, FieldError};
use liaison_db::directory::{
    self, DeputyFilter, DeputyItem, MemberItem, RegionItem, StationFilter, StationItem, UnitFilter,
    UnitItem,
};
use liaison_db::org::LoadError;
use serde::Deserialize;

/// Organisation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/stations", get(list_stations))
        .route(
            "/work/stations/new",
            get(new_station_form).post(create_station),
        )
        .route("/work/stations/{code}", get(show_station))
        .route(
            "/work/stations/{code}/edit",
            get(edit_station_form).post(update_station),
        )
        .route("/work/stations/{code}/members", post(add_member))
        .route("/work/stations/{code}/members/remove", post(remove_member))
        .route("/work/stations/{code}/grids", post(save_grid))
        .route("/work/deputies", get(list_deputies))
        .route("/work/deputies/{code}", get(show_deputy))
        .route("/work/deputies/{code}/reveal", post(reveal_deputy_phone))
        .route(
            "/work/deputies/{code}/edit",
            get(edit_deputy_form).post(update_deputy),
        )
        .route("/work/units", get(list_units))
        .route("/work/units/new", get(new_unit_form).post(create_unit))
        .route(
            "/work/units/{code}/edit",
            get(edit_unit_form).post(update_unit),
        )
        .route("/work/regions", get(list_regions).post(create_region))
}

const ORG_ROLES: &[Role] = &[
    Role::SystemAdmin,
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
    Role::StationStaff,
];
const ORG_EDITORS: &[Role] = &[
    Role::SystemAdmin,
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
];

/// Whether a region (by path) lies inside the user's scope.
fn region_in_scope(scope: &Scope, path: &str) -> bool {
    match scope {
        Scope::Everything => true,
        Scope::RegionSubtree(p) => path.starts_with(p.as_str()),
        _ => false,
    }
}

fn out_of_scope() -> PageError {
    PageError::Forbidden("该记录不在您的工作范围内。如需处理，请联系其所属地区的工作人员。".into())
}

async fn station_in_scope(state: &AppState, staff: &Staff, code: &str) -> PageResult<StationItem> {
    let page = directory::list_stations(
        &state.db,
        Some(&staff.auth.scope()),
        &StationFilter {
            q: None,
            limit: 1,
            ..Default::default()
        },
    )
    .await;
    drop(page);
    let station = directory::station_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    let region = directory::region(&state.db, station.region_id).await?;
    let ok = match staff.auth.scope() {
        Scope::Station(id) => station.id == id || station.parent_id == Some(id),
        s => region_in_scope(&s, &region.path),
    };
    if ok { Ok(station) } else { Err(out_of_scope()) }
}

/// Saves rows through the one audited write path; row problems come back as field errors to
/// show next to the form.
async fn save_rows(
    state: &AppState,
    staff: &Staff,
    data: &Dataset,
) -> PageResult<Result<(), Vec<FieldError>>> {
    match liaison_db::org::load_dataset(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        data,
        &mut |_, _| {},
    )
    .await
    {
        Ok(_) => Ok(Ok(())),
        Err(e) => Ok(Err(load_error(e)?)),
    }
}

fn load_error(e: LoadError) -> Result<Vec<FieldError>, PageError> {
    match e {
        LoadError::Rows(rows) => Ok(rows
            .into_iter()
            .map(|r| FieldError::new(r.column, r.message))
            .collect()),
        LoadError::Db(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Stations

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    tier: Option<String>,
    region: Option<String>,
    level: Option<String>,
    after: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "org/stations.html")]
struct StationsPage {
    layout: Layout,
    q: String,
    tier: String,
    tiers: Vec<(&'static str, &'static str)>,
    stations: Vec<StationItem>,
    total: i64,
    next: Option<String>,
    can_create: bool,
}

/// `GET /work/stations`.
async fn list_stations(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let region_path = match filter(&q.region) {
        Some(code) => directory::region_by_code(&state.db, &code)
            .await?
            .map(|r| r.path),
        None => None,
    };
    let page = directory::list_stations(
        &state.db,
        Some(&staff.auth.scope()),
        &StationFilter {
            q: filter(&q.q),
            tier: filter(&q.tier),
            region_path,
            after_id: cursor(&q.after),
            limit: 50,
        },
    )
    .await?;
    render(&StationsPage {
        layout: Layout::staff(&staff, "联络站", "stations").with_notice(notice_text(&q.notice)),
        q: q.q.clone().unwrap_or_default(),
        tier: q.tier.clone().unwrap_or_default(),
        tiers: StationTier::ALL
            .iter()
            .map(|t| (t.code(), t.label()))
            .collect(),
        stations: page.items,
        total: page.total,
        next: page.next,
        can_create: staff.auth.role().may_edit_organisation(),
    })
}

fn notice_text(n: &Option<String>) -> Option<String> {
    match n.as_deref() {
        Some("saved") => Some("已保存，修改已记入审计日志。".into()),
        Some("created") => Some("已新增，操作已记入审计日志。".into()),
        _ => None,
    }
}

/// A station member as staff see it: phone masked.
struct StaffMember {
    index: usize,
    role: &'static str,
    name: String,
    phone: String,
    deputy_code: Option<String>,
}

#[derive(Template)]
#[template(path = "org/station.html")]
struct StationPage {
    layout: Layout,
    station: StationItem,
    members: Vec<StaffMember>,
    deputies: Vec<DeputyItem>,
    points: Vec<StationItem>,
    grids: Vec<GridView>,
    can_edit: bool,
    roles: Vec<(&'static str, &'static str)>,
    errors: Vec<FieldError>,
}

/// A grid as staff see it.
struct GridView {
    code: String,
    name: String,
    worker: String,
    phone: String,
    deputies: String,
}

impl StationPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// `GET /work/stations/{code}`.
async fn show_station(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let station = station_in_scope(&state, &staff, &code).await?;
    station_page(&state, &staff, station, notice_text(&q.notice), Vec::new()).await
}

async fn station_page(
    state: &AppState,
    staff: &Staff,
    station: StationItem,
    notice: Option<String>,
    errors: Vec<FieldError>,
) -> PageResult {
    let members = directory::station_members(&state.db, station.id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(index, m): (usize, MemberItem)| StaffMember {
            index,
            role: liaison_core::org::StationRole::parse(&m.role).map_or("", |r| r.label()),
            phone: m.masked_phone(&state.keys),
            name: m.name,
            deputy_code: m.deputy_code,
        })
        .collect();
    let deputies = directory::list_deputies(
        &state.db,
        None,
        &DeputyFilter {
            station_id: Some(station.id),
            limit: 500,
            ..Default::default()
        },
    )
    .await?
    .items;
    let points = directory::station_children(&state.db, station.id).await?;
    let grids = station_rows(state, &station.code)
        .await?
        .grids
        .into_iter()
        .filter(|g| g.station_code == station.code)
        .map(|g| GridView {
            code: g.code,
            name: g.name,
            worker: g.worker_name,
            phone: validate::mask_phone(&g.worker_phone),
            deputies: g.deputy_codes.join("、"),
        })
        .collect();
    render(&StationPage {
        layout: Layout::staff(staff, station.name.clone(), "stations").with_notice(notice),
        station,
        members,
        deputies,
        points,
        grids,
        can_edit: true,
        roles: liaison_core::org::StationRole::ALL
            .iter()
            .map(|r| (r.code(), r.label()))
            .collect(),
        errors,
    })
}

/// The station's own rows (members with clear phones, grids) for rewriting them.
async fn station_rows(state: &AppState, code: &str) -> PageResult<Dataset> {
    let s = directory::station_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(liaison_db::org::export_dataset(&state.db, &state.keys, &Scope::Station(s.id)).await?)
}

async fn members_of(
    state: &AppState,
    code: &str,
) -> PageResult<Vec<liaison_core::dataset::StationMemberRow>> {
    Ok(station_rows(state, code)
        .await?
        .station_members
        .into_iter()
        .filter(|m| m.station_code == code)
        .collect())
}

async fn show_with_errors(
    state: &AppState,
    staff: &Staff,
    station: StationItem,
    errors: Vec<FieldError>,
) -> PageResult {
    station_page(state, staff, station, None, errors).await
}

#[derive(Deserialize)]
struct MemberForm {
    role: String,
    name: String,
    phone: String,
    #[serde(default)]
    deputy_code: String,
}

/// `POST /work/stations/{code}/members` — adds a person to the station.
async fn add_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<MemberForm>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let station = station_in_scope(&state, &staff, &code).await?;
    let mut errs = Vec::new();
    let role = liaison_core::org::StationRole::parse(&f.role);
    if role.is_none() {
        errs.push(FieldError::new("member_role", "请选择职务"));
    }
    let name = validate::required_text("member_name", "姓名", &f.name, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = validate::Phone::parse("member_phone", &f.phone)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    if !errs.is_empty() {
        return show_with_errors(&state, &staff, station, errs).await;
    }
    let mut members = members_of(&state, &station.code).await?;
    members.push(liaison_core::dataset::StationMemberRow {
        station_code: station.code.clone(),
        role: role.unwrap_or(liaison_core::org::StationRole::LiaisonOfficer),
        name,
        phone,
        deputy_code: Some(f.deputy_code.trim().to_owned()).filter(|c| !c.is_empty()),
    });
    let data = Dataset {
        station_members: members,
        ..Default::default()
    };
    match save_rows(&state, &staff, &data).await? {
        Ok(()) => Ok(
            Redirect::to(&format!("/work/stations/{}?notice=saved", station.code)).into_response(),
        ),
        Err(errs) => show_with_errors(&state, &staff, station, errs).await,
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    index: usize,
}

/// `POST /work/stations/{code}/members/remove` — removes one person from the station.
async fn remove_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<RemoveForm>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let station = station_in_scope(&state, &staff, &code).await?;
    let mut members = members_of(&state, &station.code).await?;
    if f.index >= members.len() {
        return Err(PageError::BadRequest(
            "该人员已不在名单中，请刷新页面后重试".into(),
        ));
    }
    members.remove(f.index);
    if members.is_empty() {
        return Err(PageError::BadRequest(
            "站点至少保留一名人员；请先添加新的站长或联络员，再删除".into(),
        ));
    }
    let data = Dataset {
        station_members: members,
        ..Default::default()
    };
    liaison_db::org::load_dataset(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &data,
        &mut |_, _| {},
    )
    .await
    .map_err(|e| match e {
        LoadError::Db(e) => PageError::from(e),
        LoadError::Rows(r) => PageError::BadRequest(
            r.iter()
                .map(|x| x.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
    })?;
    Ok(Redirect::to(&format!("/work/stations/{}?notice=saved", station.code)).into_response())
}

#[derive(Deserialize)]
struct GridForm {
    grid_code: String,
    grid_name: String,
    grid_region: String,
    worker_name: String,
    worker_phone: String,
    #[serde(default)]
    grid_deputies: String,
}

/// `POST /work/stations/{code}/grids` — adds or updates a grid of the station.
async fn save_grid(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<GridForm>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let station = station_in_scope(&state, &staff, &code).await?;
    let mut errs = Vec::new();
    let grid_code = validate::code("grid_code", &f.grid_code).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let name =
        validate::required_text("grid_name", "网格名称", &f.grid_name, 50).unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let worker = validate::required_text("worker_name", "网格员姓名", &f.worker_name, 30)
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    let phone = validate::Phone::parse("worker_phone", &f.worker_phone)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|e| {
            errs.push(e);
            String::new()
        });
    match directory::region_by_code(&state.db, f.grid_region.trim()).await? {
        None => errs.push(FieldError::new(
            "grid_region",
            "所在村（社区）区划代码不存在",
        )),
        Some(r) => {
            let station_region = directory::region(&state.db, station.region_id).await?;
            if !r.path.starts_with(&station_region.path) {
                errs.push(FieldError::new("grid_region", "网格须在本站所在区划内"));
            }
        }
    }
    if let Some(existing) = station_rows(&state, &station.code)
        .await?
        .grids
        .iter()
        .find(|g| g.code == grid_code)
        && existing.station_code != station.code
    {
        errs.push(FieldError::new("grid_code", "该网格编码已被其他站点使用"));
    }
    if !errs.is_empty() {
        return show_with_errors(&state, &staff, station, errs).await;
    }
    let deputy_codes = f
        .grid_deputies
        .split(['、', ';', '；', ',', '，', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    let data = Dataset {
        grids: vec![liaison_core::dataset::GridRow {
            code: grid_code,
            name,
            region_code: f.grid_region.trim().to_owned(),
            station_code: station.code.clone(),
            worker_name: worker,
            worker_phone: phone,
            deputy_codes,
        }],
        ..Default::default()
    };
    match save_rows(&state, &staff, &data).await? {
        Ok(()) => Ok(
            Redirect::to(&format!("/work/stations/{}?notice=saved", station.code)).into_response(),
        ),
        Err(errs) => show_with_errors(&state, &staff, station, errs).await,
    }
}

/// The station form as typed (kept on errors).
#[derive(Deserialize, Default, Clone)]
struct StationForm {
    code: String,
    name: String,
    tier: String,
    region_code: String,
    parent_code: String,
    address: String,
    opening_hours: String,
    reception_schedule: String,
    phone: String,
    intro: String,
}

impl StationForm {
    fn from_item(s: &StationItem, parent_code: Option<String>) -> Self {
        StationForm {
            code: s.code.clone(),
            name: s.name.clone(),
            tier: s.tier.clone(),
            region_code: s.region_code.clone(),
            parent_code: parent_code.unwrap_or_default(),
            address: s.address.clone(),
            opening_hours: s.opening_hours.clone(),
            reception_schedule: s.reception_schedule.clone(),
            phone: s.phone.clone(),
            intro: s.intro.clone(),
        }
    }

    fn parse(&self) -> Result<StationRow, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut take = |r: Result<String, FieldError>| match r {
            Ok(v) => v,
            Err(e) => {
                errs.push(e);
                String::new()
            }
        };
        let code = take(validate::code("code", &self.code));
        let name = take(validate::required_text("name", "站点名称", &self.name, 100));
        let region_code = take(validate::required_text(
            "region_code",
            "所属区划代码",
            &self.region_code,
            12,
        ));
        let address = take(validate::required_text(
            "address",
            "地址",
            &self.address,
            200,
        ));
        let opening_hours = take(validate::optional_text(
            "opening_hours",
            "开放时间",
            &self.opening_hours,
            200,
        ));
        let reception_schedule = take(validate::optional_text(
            "reception_schedule",
            "接待安排",
            &self.reception_schedule,
            500,
        ));
        let phone = take(validate::optional_text(
            "phone",
            "联系电话",
            &self.phone,
            30,
        ));
        let intro = take(validate::optional_text("intro", "简介", &self.intro, 2000));
        let tier = StationTier::parse(&self.tier);
        if tier.is_none() {
            errs.push(FieldError::new("tier", "请选择站点层级"));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(StationRow {
            code,
            name,
            tier: tier.unwrap_or(StationTier::TownshipStation),
            region_code,
            parent_code: Some(self.parent_code.trim().to_owned()).filter(|c| !c.is_empty()),
            address,
            opening_hours,
            reception_schedule,
            phone,
            intro,
        })
    }
}

#[derive(Template)]
#[template(path = "org/station_form.html")]
struct StationFormPage {
    layout: Layout,
    form: StationForm,
    errors: Vec<FieldError>,
    is_new: bool,
    locked_place: bool,
    tiers: Vec<(&'static str, &'static str)>,
}

impl StationFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn station_form_page(
    staff: &Staff,
    form: StationForm,
    errors: Vec<FieldError>,
    is_new: bool,
) -> StationFormPage {
    let title = if is_new {
        "新增联络站".to_owned()
    } else {
        format!("编辑：{}", form.name)
    };
    StationFormPage {
        layout: Layout::staff(staff, title, "stations"),
        form,
        errors,
        is_new,
        locked_place: staff.auth.role() == Role::StationStaff,
        tiers: StationTier::ALL
            .iter()
            .map(|t| (t.code(), t.label()))
            .collect(),
    }
}

/// `GET /work/stations/new`.
async fn new_station_form(staff: Staff) -> PageResult {
    staff.require(ORG_EDITORS)?;
    render(&station_form_page(
        &staff,
        StationForm::default(),
        Vec::new(),
        true,
    ))
}

/// `GET /work/stations/{code}/edit`.
async fn edit_station_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let s = station_in_scope(&state, &staff, &code).await?;
    let parent = match s.parent_id {
        Some(p) => Some(directory::station(&state.db, p).await?.code),
        None => None,
    };
    render(&station_form_page(
        &staff,
        StationForm::from_item(&s, parent),
        Vec::new(),
        false,
    ))
}

/// Saves a station row after the scope checks; returns field errors to show.
async fn save_station(
    state: &AppState,
    staff: &Staff,
    row: StationRow,
) -> PageResult<Result<(), Vec<FieldError>>> {
    let region = directory::region_by_code(&state.db, &row.region_code).await?;
    let Some(region) = region else {
        return Ok(Err(vec![FieldError::new(
            "region_code",
            format!("区划代码“{}”不存在，请检查", row.region_code),
        )]));
    };
    if staff.auth.role() != Role::StationStaff
        && !region_in_scope(&staff.auth.scope(), &region.path)
    {
        return Ok(Err(vec![FieldError::new(
            "region_code",
            "所属区划不在您的工作范围内，请选择本辖区的区划",
        )]));
    }
    let data = Dataset {
        stations: vec![row],
        ..Default::default()
    };
    save_rows(state, staff, &data).await
}

/// `POST /work/stations/new`.
async fn create_station(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<StationForm>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let row = match form.parse() {
        Ok(r) => r,
        Err(errs) => return render(&station_form_page(&staff, form, errs, true)),
    };
    if directory::station_by_code(&state.db, &row.code)
        .await?
        .is_some()
    {
        let errs = vec![FieldError::new("code", "该站点编码已被使用，请换一个")];
        return render(&station_form_page(&staff, form, errs, true));
    }
    let code = row.code.clone();
    match save_station(&state, &staff, row).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("/work/stations/{code}?notice=created")).into_response())
        }
        Err(errs) => render(&station_form_page(&staff, form, errs, true)),
    }
}

/// `POST /work/stations/{code}/edit`.
async fn update_station(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(mut form): CsrfForm<StationForm>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let existing = station_in_scope(&state, &staff, &code).await?;
    // The code is the station's identity in QR codes: it never changes through a form.
    form.code = existing.code.clone();
    if staff.auth.role() == Role::StationStaff {
        // Station staff keep their station's place in the organisation as it is.
        let parent = match existing.parent_id {
            Some(p) => Some(directory::station(&state.db, p).await?.code),
            None => None,
        };
        form.tier = existing.tier.clone();
        form.region_code = existing.region_code.clone();
        form.parent_code = parent.unwrap_or_default();
    }
    let row = match form.parse() {
        Ok(r) => r,
        Err(errs) => return render(&station_form_page(&staff, form, errs, false)),
    };
    match save_station(&state, &staff, row).await? {
        Ok(()) => Ok(Redirect::to(&format!("/work/stations/{code}?notice=saved")).into_response()),
        Err(errs) => render(&station_form_page(&staff, form, errs, false)),
    }
}

// ---------------------------------------------------------------------------------------------
// Deputies

#[derive(Template)]
#[template(path = "org/deputies.html")]
struct DeputiesPage {
    layout: Layout,
    q: String,
    level: String,
    levels: Vec<(&'static str, &'static str)>,
    deputies: Vec<DeputyItem>,
    total: i64,
    next: Option<String>,
}

/// `GET /work/deputies`.
async fn list_deputies(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let page = directory::list_deputies(
        &state.db,
        Some(&staff.auth.scope()),
        &DeputyFilter {
            q: filter(&q.q),
            level: filter(&q.level),
            after_id: cursor(&q.after),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    render(&DeputiesPage {
        layout: Layout::staff(&staff, "人大代表", "deputies"),
        q: q.q.clone().unwrap_or_default(),
        level: q.level.clone().unwrap_or_default(),
        levels: CongressLevel::ALL
            .iter()
            .map(|l| (l.code(), directory::short_level(*l)))
            .collect(),
        deputies: page.items,
        total: page.total,
        next: page.next,
    })
}

async fn deputy_in_scope(state: &AppState, staff: &Staff, code: &str) -> PageResult<DeputyItem> {
    let d = directory::deputy_by_code(&state.db, code)
        .await?
        .ok_or(PageError::NotFound)?;
    let page = directory::list_deputies(
        &state.db,
        Some(&staff.auth.scope()),
        &DeputyFilter {
            q: Some(d.code.clone()),
            limit: 5,
            ..Default::default()
        },
    )
    .await?;
    if page.items.iter().any(|x| x.id == d.id) {
        Ok(d)
    } else {
        Err(out_of_scope())
    }
}

#[derive(Template)]
#[template(path = "org/deputy.html")]
struct DeputyPage {
    layout: Layout,
    deputy: DeputyItem,
    phone: String,
    revealed: bool,
    can_edit: bool,
}

/// `GET /work/deputies/{code}`.
async fn show_deputy(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let deputy = deputy_in_scope(&state, &staff, &code).await?;
    let data =
        liaison_db::org::export_dataset(&state.db, &state.keys, &Scope::Deputy(deputy.id)).await?;
    let phone = data
        .deputies
        .first()
        .map(|d| validate::mask_phone(&d.phone))
        .unwrap_or_default();
    render(&DeputyPage {
        layout: Layout::staff(&staff, format!("{}代表", deputy.name), "deputies")
            .with_notice(notice_text(&q.notice)),
        deputy,
        phone,
        revealed: false,
        can_edit: staff.auth.role().may_edit_organisation(),
    })
}

#[derive(Deserialize)]
struct RevealForm {
    purpose: String,
}

/// `POST /work/deputies/{code}/reveal` — shows the full phone once, with the purpose audited.
async fn reveal_deputy_phone(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<RevealForm>,
) -> PageResult {
    staff.require(ORG_ROLES)?;
    let deputy = deputy_in_scope(&state, &staff, &code).await?;
    let purpose = validate::required_text("purpose", "查看事由", &form.purpose, 100)
        .map_err(|e| PageError::BadRequest(format!("{}。请返回上一页填写查看事由。", e.message)))?;
    let phone = directory::reveal_deputy_phone(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        deputy.id,
        &purpose,
    )
    .await?;
    render(&DeputyPage {
        layout: Layout::staff(&staff, format!("{}代表", deputy.name), "deputies")
            .with_notice(Some("已显示完整手机号，本次查看已记入审计日志。".into())),
        deputy,
        phone,
        revealed: true,
        can_edit: staff.auth.role().may_edit_organisation(),
    })
}

/// The deputy form as typed; up to three congress seats.
#[derive(Deserialize, Default, Clone)]
struct DeputyForm {
    name: String,
    gender: String,
    birth_year: String,
    party: String,
    occupation: String,
    region_code: String,
    station_code: String,
    public_profile: String,
    phone: String,
    email: String,
    #[serde(default)]
    seat1_level: String,
    #[serde(default)]
    seat1_term: String,
    #[serde(default)]
    seat1_delegation: String,
    #[serde(default)]
    seat1_constituency: String,
    #[serde(default)]
    seat2_level: String,
    #[serde(default)]
    seat2_term: String,
    #[serde(default)]
    seat2_delegation: String,
    #[serde(default)]
    seat2_constituency: String,
}

#[derive(Template)]
#[template(path = "org/deputy_form.html")]
struct DeputyFormPage {
    layout: Layout,
    code: String,
    form: DeputyForm,
    errors: Vec<FieldError>,
    levels: Vec<(&'static str, &'static str)>,
}

impl DeputyFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn deputy_form_page(
    staff: &Staff,
    code: String,
    form: DeputyForm,
    errors: Vec<FieldError>,
) -> DeputyFormPage {
    DeputyFormPage {
        layout: Layout::staff(staff, format!("编辑代表：{}", form.name), "deputies"),
        code,
        form,
        errors,
        levels: CongressLevel::ALL
            .iter()
            .map(|l| (l.code(), l.label()))
            .collect(),
    }
}

/// `GET /work/deputies/{code}/edit`.
async fn edit_deputy_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let d = deputy_in_scope(&state, &staff, &code).await?;
    let data =
        liaison_db::org::export_dataset(&state.db, &state.keys, &Scope::Deputy(d.id)).await?;
    let row = data
        .deputies
        .into_iter()
        .next()
        .ok_or(PageError::NotFound)?;
    let seat = |i: usize| row.seats.get(i).cloned();
    let s1 = seat(0);
    let s2 = seat(1);
    let form = DeputyForm {
        name: row.name.clone(),
        gender: row.gender.clone(),
        birth_year: row.birth_year.map(|y| y.to_string()).unwrap_or_default(),
        party: row.party.clone(),
        occupation: row.occupation.clone(),
        region_code: row.region_code.clone(),
        station_code: row.station_code.clone().unwrap_or_default(),
        public_profile: row.public_profile.clone(),
        // Private contacts are not put back into the page; empty means "keep as it is".
        phone: String::new(),
        email: String::new(),
        seat1_level: s1
            .as_ref()
            .map(|s| s.level.code().to_owned())
            .unwrap_or_default(),
        seat1_term: s1.as_ref().map(|s| s.term.clone()).unwrap_or_default(),
        seat1_delegation: s1
            .as_ref()
            .map(|s| s.delegation.clone())
            .unwrap_or_default(),
        seat1_constituency: s1
            .as_ref()
            .map(|s| s.constituency.clone())
            .unwrap_or_default(),
        seat2_level: s2
            .as_ref()
            .map(|s| s.level.code().to_owned())
            .unwrap_or_default(),
        seat2_term: s2.as_ref().map(|s| s.term.clone()).unwrap_or_default(),
        seat2_delegation: s2
            .as_ref()
            .map(|s| s.delegation.clone())
            .unwrap_or_default(),
        seat2_constituency: s2
            .as_ref()
            .map(|s| s.constituency.clone())
            .unwrap_or_default(),
    };
    render(&deputy_form_page(&staff, d.code, form, Vec::new()))
}

/// `POST /work/deputies/{code}/edit`.
async fn update_deputy(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<DeputyForm>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let d = deputy_in_scope(&state, &staff, &code).await?;
    let current = liaison_db::org::export_dataset(&state.db, &state.keys, &Scope::Deputy(d.id))
        .await?
        .deputies
        .into_iter()
        .next()
        .ok_or(PageError::NotFound)?;
    let mut errs = Vec::new();
    let name = validate::required_text("name", "姓名", &form.name, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let birth_year = match form.birth_year.trim() {
        "" => None,
        y => match y.parse::<i32>() {
            Ok(v) if (1900..=2010).contains(&v) => Some(v),
            _ => {
                errs.push(FieldError::new(
                    "birth_year",
                    "出生年份须为四位数字，例如 1975",
                ));
                None
            }
        },
    };
    let phone = match form.phone.trim() {
        "" => current.phone.clone(),
        p => match validate::Phone::parse("phone", p) {
            Ok(p) => p.as_str().to_owned(),
            Err(e) => {
                errs.push(e);
                String::new()
            }
        },
    };
    let email = match form.email.trim() {
        "" => current.email.clone(),
        e if e.contains('@') && e.len() <= 100 => e.to_owned(),
        _ => {
            errs.push(FieldError::new(
                "email",
                "电子邮箱格式不正确，例如 name@example.com",
            ));
            String::new()
        }
    };
    let mut seats = Vec::new();
    for (i, (level, term, delegation, constituency)) in [
        (
            &form.seat1_level,
            &form.seat1_term,
            &form.seat1_delegation,
            &form.seat1_constituency,
        ),
        (
            &form.seat2_level,
            &form.seat2_term,
            &form.seat2_delegation,
            &form.seat2_constituency,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        if level.trim().is_empty() {
            continue;
        }
        match CongressLevel::parse(level) {
            Some(l) if seats.iter().all(|s: &CongressSeat| s.level != l) => {
                seats.push(CongressSeat {
                    level: l,
                    term: term.trim().to_owned(),
                    delegation: delegation.trim().to_owned(),
                    constituency: constituency.trim().to_owned(),
                })
            }
            Some(_) => errs.push(FieldError::new(
                format!("seat{}_level", i + 1),
                "同一层级只能填写一次",
            )),
            None => errs.push(FieldError::new(
                format!("seat{}_level", i + 1),
                "请选择代表层级",
            )),
        }
    }
    if seats.is_empty() {
        errs.push(FieldError::new("seat1_level", "请至少填写一个代表层级"));
    }
    let region = directory::region_by_code(&state.db, form.region_code.trim()).await?;
    match &region {
        None => errs.push(FieldError::new("region_code", "区划代码不存在，请检查")),
        Some(r) if !region_in_scope(&staff.auth.scope(), &r.path) => {
            errs.push(FieldError::new("region_code", "所属区划不在您的工作范围内"))
        }
        _ => {}
    }
    if !errs.is_empty() {
        return render(&deputy_form_page(&staff, d.code, form, errs));
    }
    let row = DeputyRow {
        code: d.code.clone(),
        name,
        gender: form.gender.trim().to_owned(),
        birth_year,
        party: form.party.trim().to_owned(),
        occupation: form.occupation.trim().chars().take(100).collect(),
        seats,
        region_code: form.region_code.trim().to_owned(),
        station_code: Some(form.station_code.trim().to_owned()).filter(|c| !c.is_empty()),
        public_profile: form.public_profile.trim().chars().take(1000).collect(),
        phone,
        email,
    };
    let data = Dataset {
        deputies: vec![row],
        ..Default::default()
    };
    match save_rows(&state, &staff, &data).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("/work/deputies/{}?notice=saved", d.code)).into_response())
        }
        Err(errs) => render(&deputy_form_page(&staff, d.code, form, errs)),
    }
}

// ---------------------------------------------------------------------------------------------
// Handling units

#[derive(Template)]
#[template(path = "org/units.html")]
struct UnitsPage {
    layout: Layout,
    q: String,
    units: Vec<UnitItem>,
    total: i64,
    next: Option<String>,
    can_create: bool,
}

/// `GET /work/units`.
async fn list_units(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let mut roles = ORG_ROLES.to_vec();
    roles.extend([Role::UnitOfficer, Role::UnitLead]);
    staff.require(&roles)?;
    let page = directory::list_units(
        &state.db,
        &staff.auth.scope(),
        &UnitFilter {
            q: filter(&q.q),
            after_id: cursor(&q.after),
            limit: 50,
            ..Default::default()
        },
    )
    .await?;
    render(&UnitsPage {
        layout: Layout::staff(&staff, "承办单位", "units").with_notice(notice_text(&q.notice)),
        q: q.q.clone().unwrap_or_default(),
        units: page.items,
        total: page.total,
        next: page.next,
        can_create: staff.auth.role().may_edit_organisation(),
    })
}

#[derive(Deserialize, Default, Clone)]
struct UnitForm {
    code: String,
    name: String,
    kind: String,
    region_code: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "org/unit_form.html")]
struct UnitFormPage {
    layout: Layout,
    form: UnitForm,
    errors: Vec<FieldError>,
    is_new: bool,
    kinds: Vec<(&'static str, &'static str)>,
}

impl UnitFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn unit_form_page(
    staff: &Staff,
    form: UnitForm,
    errors: Vec<FieldError>,
    is_new: bool,
) -> UnitFormPage {
    UnitFormPage {
        layout: Layout::staff(
            staff,
            if is_new {
                "新增承办单位"
            } else {
                "编辑承办单位"
            },
            "units",
        ),
        form,
        errors,
        is_new,
        kinds: UnitKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
    }
}

/// `GET /work/units/new`.
async fn new_unit_form(staff: Staff) -> PageResult {
    staff.require(ORG_EDITORS)?;
    render(&unit_form_page(
        &staff,
        UnitForm::default(),
        Vec::new(),
        true,
    ))
}

async fn unit_in_scope(state: &AppState, staff: &Staff, code: &str) -> PageResult<UnitItem> {
    let page = directory::list_units(
        &state.db,
        &staff.auth.scope(),
        &UnitFilter {
            q: Some(code.to_owned()),
            limit: 20,
            ..Default::default()
        },
    )
    .await?;
    page.items
        .into_iter()
        .find(|u| u.code == code)
        .ok_or_else(out_of_scope)
}

/// `GET /work/units/{code}/edit`.
async fn edit_unit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let u = unit_in_scope(&state, &staff, &code).await?;
    let region = directory::region(&state.db, u.region_id).await?;
    let form = UnitForm {
        code: u.code,
        name: u.name,
        kind: u.kind,
        region_code: region.code,
        phone: u.phone,
    };
    render(&unit_form_page(&staff, form, Vec::new(), false))
}

async fn save_unit(
    state: &AppState,
    staff: &Staff,
    form: &UnitForm,
) -> PageResult<Result<(), Vec<FieldError>>> {
    let mut errs = Vec::new();
    let code = validate::code("code", &form.code).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let name = validate::required_text("name", "单位名称", &form.name, 100).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let phone = validate::optional_text("phone", "联系电话", &form.phone, 30).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let kind = UnitKind::parse(&form.kind);
    if kind.is_none() {
        errs.push(FieldError::new("kind", "请选择单位类别"));
    }
    match directory::region_by_code(&state.db, form.region_code.trim()).await? {
        None => errs.push(FieldError::new("region_code", "区划代码不存在，请检查")),
        Some(r) if !region_in_scope(&staff.auth.scope(), &r.path) => {
            errs.push(FieldError::new("region_code", "所属区划不在您的工作范围内"))
        }
        _ => {}
    }
    if !errs.is_empty() {
        return Ok(Err(errs));
    }
    let data = Dataset {
        units: vec![UnitRow {
            code,
            name,
            kind: kind.unwrap_or(UnitKind::GovernmentDepartment),
            region_code: form.region_code.trim().to_owned(),
            phone,
        }],
        ..Default::default()
    };
    save_rows(state, staff, &data).await
}

/// `POST /work/units/new`.
async fn create_unit(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<UnitForm>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let exists = directory::list_units(
        &state.db,
        &Scope::Everything,
        &UnitFilter {
            q: Some(form.code.trim().to_owned()),
            limit: 50,
            ..Default::default()
        },
    )
    .await?
    .items
    .iter()
    .any(|u| u.code == form.code.trim());
    if exists {
        let errs = vec![FieldError::new("code", "该单位编码已被使用，请换一个")];
        return render(&unit_form_page(&staff, form, errs, true));
    }
    match save_unit(&state, &staff, &form).await? {
        Ok(()) => Ok(Redirect::to("/work/units?notice=created").into_response()),
        Err(errs) => render(&unit_form_page(&staff, form, errs, true)),
    }
}

/// `POST /work/units/{code}/edit`.
async fn update_unit(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    CsrfForm(mut form): CsrfForm<UnitForm>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let u = unit_in_scope(&state, &staff, &code).await?;
    form.code = u.code;
    match save_unit(&state, &staff, &form).await? {
        Ok(()) => Ok(Redirect::to("/work/units?notice=saved").into_response()),
        Err(errs) => render(&unit_form_page(&staff, form, errs, false)),
    }
}

// ---------------------------------------------------------------------------------------------
// Regions

#[derive(Template)]
#[template(path = "org/regions.html")]
struct RegionsPage {
    layout: Layout,
    current: Option<RegionItem>,
    crumbs: Vec<RegionItem>,
    children: Vec<RegionItem>,
    can_add: bool,
    child_level: &'static str,
    form_code: String,
    form_name: String,
    errors: Vec<FieldError>,
}

impl RegionsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn regions_page(
    state: &AppState,
    staff: &Staff,
    parent_code: Option<String>,
    form_code: String,
    form_name: String,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> PageResult {
    let scope = staff.auth.scope();
    let current = match &parent_code {
        Some(c) => Some(
            directory::region_by_code(&state.db, c)
                .await?
                .ok_or(PageError::NotFound)?,
        ),
        // Region staff start at their own region.
        None => match &staff.auth.principal.region {
            Some((id, _)) => Some(directory::region(&state.db, *id).await?),
            None => None,
        },
    };
    if let Some(c) = &current
        && !region_in_scope(&scope, &c.path)
    {
        return Err(out_of_scope());
    }
    let crumbs = match &current {
        Some(c) => directory::region_ancestors(&state.db, c).await?,
        None => Vec::new(),
    };
    let children = directory::region_children(&state.db, current.as_ref().map(|c| c.id)).await?;
    let child_level = current
        .as_ref()
        .and_then(|c| RegionLevel::parse(&c.level))
        .and_then(RegionLevel::child);
    render(&RegionsPage {
        layout: Layout::staff(staff, "行政区划", "regions").with_notice(notice),
        can_add: current.is_some() && child_level.is_some(),
        child_level: child_level.map_or("", RegionLevel::label),
        current,
        crumbs,
        children,
        form_code,
        form_name,
        errors,
    })
}

/// `GET /work/regions?parent=<code>`.
async fn list_regions(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let notice = notice_text(&q.notice);
    regions_page(
        &state,
        &staff,
        filter(&q.region),
        String::new(),
        String::new(),
        Vec::new(),
        notice,
    )
    .await
}

#[derive(Deserialize)]
struct RegionForm {
    parent_code: String,
    code: String,
    name: String,
}

/// `POST /work/regions` — adds a child region.
async fn create_region(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<RegionForm>,
) -> PageResult {
    staff.require(ORG_EDITORS)?;
    let parent = directory::region_by_code(&state.db, &form.parent_code)
        .await?
        .ok_or(PageError::NotFound)?;
    if !region_in_scope(&staff.auth.scope(), &parent.path) {
        return Err(out_of_scope());
    }
    let mut errs = Vec::new();
    let code = form.code.trim().to_owned();
    if !(6..=12).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        errs.push(FieldError::new(
            "code",
            "区划代码须为6至12位数字，例如 331002001",
        ));
    } else if !code.starts_with(parent.code.trim_end_matches('0')) && parent.code.len() >= 6 {
        errs.push(FieldError::new(
            "code",
            format!(
                "下级区划代码应以上级代码“{}”开头",
                parent.code.trim_end_matches('0')
            ),
        ));
    } else if directory::region_by_code(&state.db, &code).await?.is_some() {
        errs.push(FieldError::new("code", "该区划代码已存在"));
    }
    let name = validate::required_text("name", "名称", &form.name, 50).unwrap_or_else(|e| {
        errs.push(e);
        String::new()
    });
    let Some(level) = RegionLevel::parse(&parent.level).and_then(RegionLevel::child) else {
        return Err(PageError::BadRequest("该层级下不能再增加区划".into()));
    };
    if !errs.is_empty() {
        return regions_page(
            &state,
            &staff,
            Some(parent.code),
            form.code,
            form.name,
            errs,
            None,
        )
        .await;
    }
    let data = Dataset {
        regions: vec![RegionRow {
            code,
            name,
            level,
            parent_code: Some(parent.code.clone()),
        }],
        ..Default::default()
    };
    match save_rows(&state, &staff, &data).await? {
        Ok(()) => Ok(Redirect::to(&format!(
            "/work/regions?region={}&notice=created",
            parent.code
        ))
        .into_response()),
        Err(errs) => {
            regions_page(
                &state,
                &staff,
                Some(parent.code),
                form.code,
                form.name,
                errs,
                None,
            )
            .await
        }
    }
}

/// Label of a unit kind code.
pub fn unit_kind_label(code: &str) -> &'static str {
    UnitKind::parse(code).map_or("", UnitKind::label)
}
