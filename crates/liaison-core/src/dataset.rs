//! The organisation as rows that refer to each other by code.
//!
//! This is the one shape that import files, exports and the demo generator share: a sheet per
//! kind of record, each row naming its region, station or unit by its stable `code`. Loading a
//! `Dataset` into the database is one transaction (see `liaison_db::org::load_dataset`), so an
//! import either lands whole or not at all.

use crate::org::{CongressLevel, RegionLevel, StationRole, StationTier, UnitKind};
use crate::role::Role;
use serde::{Deserialize, Serialize};

/// A node of the administrative region tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionRow {
    /// Administrative-division code (行政区划代码), e.g. `331002` or `331002001`.
    pub code: String,
    /// Name, e.g. 椒江区.
    pub name: String,
    /// Level in the tree.
    pub level: RegionLevel,
    /// Code of the parent region; empty for the root.
    pub parent_code: Option<String>,
}

/// A liaison station of any tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationRow {
    /// Stable short code used in QR links (`/s/<code>`), e.g. `JJ-HJ01`.
    pub code: String,
    /// Name, e.g. 椒江区海门街道人大代表联络站.
    pub name: String,
    /// Tier.
    pub tier: StationTier,
    /// Code of the region the station serves.
    pub region_code: String,
    /// Code of the station above it (a room/point's township station); empty for the city centre.
    pub parent_code: Option<String>,
    /// Street address.
    pub address: String,
    /// Opening hours, free text, e.g. 周一至周五 8:30-17:00.
    pub opening_hours: String,
    /// Reception schedule, free text, e.g. 每月15日 代表接待日.
    pub reception_schedule: String,
    /// Public phone of the station.
    pub phone: String,
    /// Short introduction shown on the public page.
    pub intro: String,
}

/// A person working at a station (head, deputy head, liaison officer, grid worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationMemberRow {
    /// Station code.
    pub station_code: String,
    /// Role at the station.
    pub role: StationRole,
    /// Name.
    pub name: String,
    /// Mobile phone (private; encrypted at rest).
    pub phone: String,
    /// If the person is a deputy, the deputy's code.
    pub deputy_code: Option<String>,
}

/// One congress a deputy sits in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CongressSeat {
    /// Which congress.
    pub level: CongressLevel,
    /// Term, e.g. 第六届.
    pub term: String,
    /// Delegation (代表团), e.g. 椒江代表团.
    pub delegation: String,
    /// Constituency (选区).
    pub constituency: String,
}

/// A People's Congress deputy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeputyRow {
    /// Stable short code used in QR links (`/d/<code>`).
    pub code: String,
    /// Name (public).
    pub name: String,
    /// 男 or 女.
    pub gender: String,
    /// Year of birth.
    pub birth_year: Option<i32>,
    /// Party affiliation, e.g. 中共党员, 群众.
    pub party: String,
    /// Occupation and post, e.g. 某某公司总经理.
    pub occupation: String,
    /// The congresses the deputy sits in (at least one).
    pub seats: Vec<CongressSeat>,
    /// Code of the region the deputy belongs to (for scoping).
    pub region_code: String,
    /// Code of the station the deputy is resident at, if any.
    pub station_code: Option<String>,
    /// Public profile text (亮身份): pledge, duty days.
    pub public_profile: String,
    /// Private mobile phone (encrypted at rest, never public).
    pub phone: String,
    /// Private e-mail.
    pub email: String,
}

/// A handling unit (承办单位).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    /// Stable code, e.g. `TZ-ZJJ` for the city housing bureau.
    pub code: String,
    /// Name, e.g. 台州市住房和城乡建设局.
    pub name: String,
    /// Kind of body.
    pub kind: UnitKind,
    /// Code of the region whose government the unit belongs to.
    pub region_code: String,
    /// Public contact phone.
    pub phone: String,
}

/// A grid (网格) with its worker and the deputies linked to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRow {
    /// Stable code.
    pub code: String,
    /// Name, e.g. 海门街道东山社区第1网格.
    pub name: String,
    /// Code of the community region the grid lies in.
    pub region_code: String,
    /// Code of the station the grid reports to.
    pub station_code: String,
    /// Grid worker's name.
    pub worker_name: String,
    /// Grid worker's mobile (private).
    pub worker_phone: String,
    /// Codes of deputies linked to the grid (代表进网格).
    pub deputy_codes: Vec<String>,
}

/// A login account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRow {
    /// Login name.
    pub username: String,
    /// Name shown on screen.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Region, station, unit or deputy code the account is bound to, as the role requires.
    pub scope: Option<String>,
    /// Mobile phone (private).
    pub phone: String,
    /// Initial password; empty means "generate one". The holder must change it at first login.
    pub password: String,
}

/// The whole organisation, as rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Regions, parents before children.
    pub regions: Vec<RegionRow>,
    /// Stations, parents before children.
    pub stations: Vec<StationRow>,
    /// People at stations.
    pub station_members: Vec<StationMemberRow>,
    /// Deputies.
    pub deputies: Vec<DeputyRow>,
    /// Handling units.
    pub units: Vec<UnitRow>,
    /// Grids.
    pub grids: Vec<GridRow>,
    /// Accounts.
    pub accounts: Vec<AccountRow>,
}

/// The kinds of sheet an import or export file can hold; each kind is one sheet (xlsx) or one
/// file (CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetKind {
    /// Regions.
    Regions,
    /// Stations.
    Stations,
    /// Station members.
    StationMembers,
    /// Deputies.
    Deputies,
    /// Handling units.
    Units,
    /// Grids.
    Grids,
    /// Accounts.
    Accounts,
}

impl SheetKind {
    /// All kinds, in load order (parents first).
    pub const ALL: &'static [SheetKind] = &[
        SheetKind::Regions,
        SheetKind::Stations,
        SheetKind::Deputies,
        SheetKind::StationMembers,
        SheetKind::Units,
        SheetKind::Grids,
        SheetKind::Accounts,
    ];

    /// English code, used as the CSV file stem and the CLI argument.
    pub fn code(self) -> &'static str {
        match self {
            SheetKind::Regions => "regions",
            SheetKind::Stations => "stations",
            SheetKind::StationMembers => "station_members",
            SheetKind::Deputies => "deputies",
            SheetKind::Units => "handling_units",
            SheetKind::Grids => "grids",
            SheetKind::Accounts => "accounts",
        }
    }

    /// Chinese sheet name in .xlsx files.
    pub fn label(self) -> &'static str {
        match self {
            SheetKind::Regions => "行政区划",
            SheetKind::Stations => "联络站",
            SheetKind::StationMembers => "站点人员",
            SheetKind::Deputies => "代表",
            SheetKind::Units => "承办单位",
            SheetKind::Grids => "网格",
            SheetKind::Accounts => "账号",
        }
    }

    /// Reads the code or the Chinese sheet name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.code() == s.trim() || k.label() == s.trim())
    }
}

/// One problem in one row of an import file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// Sheet (or CSV file) kind.
    pub sheet: SheetKind,
    /// Row number as the user sees it in Excel (the header is row 1).
    pub row: usize,
    /// Column header as in the file.
    pub column: String,
    /// What is wrong, in Chinese, saying what to do.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "【{}】第{}行 “{}”列：{}",
            self.sheet.label(),
            self.row,
            self.column,
            self.message
        )
    }
}
