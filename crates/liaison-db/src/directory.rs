//! Read models of the organisation for pages and the API: the region tree, stations, deputies,
//! handling units. Public readers pass no scope and get public fields only; staff pass their
//! [`Scope`] and get the rows inside it.

use crate::audit::{self, Actor, Entry};
use crate::db::Db;
use crate::error::{DbError, DbResult};
use crate::sql::{ScopeColumns, Sql};
use liaison_core::dataset::CongressSeat;
use liaison_core::org::CongressLevel;
use liaison_core::protect::Keys;
use liaison_core::scope::Scope;
use serde::Serialize;
use sqlx::FromRow;
use std::collections::HashMap;

/// A page of results with the total and the keyset cursor of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Matching rows in all pages — or, when `total_capped`, a lower bound.
    pub total: i64,
    /// The count stopped early — at a cap, or (a PostgreSQL search) at the newest ids it had
    /// read — so `total` is a lower bound. Counting every match of a common search word in a
    /// million rows costs seconds and nobody reads past the first pages, so long lists say
    /// “1000+” instead.
    pub total_capped: bool,
    /// Cursor for the next page, if any.
    pub next: Option<String>,
}

fn page<T>(mut items: Vec<T>, total: i64, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|x| id(x).to_string())
    } else {
        None
    };
    Page {
        items,
        total,
        total_capped: false,
        next,
    }
}

/// A node of the region tree.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct RegionItem {
    /// Id.
    pub id: i64,
    /// Administrative-division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level code.
    pub level: String,
    /// Parent id.
    pub parent_id: Option<i64>,
    /// Materialised path.
    pub path: String,
}

const REGION: &str = "SELECT id, code, name, level, parent_id, path FROM region WHERE 1=1";

/// Children of a region (or the roots).
pub async fn region_children(db: &Db, parent_id: Option<i64>) -> DbResult<Vec<RegionItem>> {
    let mut s = Sql::new(REGION);
    match parent_id {
        Some(p) => s.push(" AND parent_id = ").bind(p),
        None => s.push(" AND parent_id IS NULL"),
    };
    s.push(" ORDER BY code");
    s.fetch_all(db).await
}

/// A region by its code.
pub async fn region_by_code(db: &Db, code: &str) -> DbResult<Option<RegionItem>> {
    let mut s = Sql::new(REGION);
    s.push(" AND code = ").bind(code);
    s.fetch_optional(db).await
}

/// A region by id.
pub async fn region(db: &Db, id: i64) -> DbResult<RegionItem> {
    let mut s = Sql::new(REGION);
    s.push(" AND id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// The regions on the path from the root to `region` (breadcrumbs), root first.
pub async fn region_ancestors(db: &Db, region: &RegionItem) -> DbResult<Vec<RegionItem>> {
    let ids: Vec<i64> = region
        .path
        .split('/')
        .filter_map(|x| x.parse().ok())
        .collect();
    let mut out = Vec::new();
    for id in ids {
        out.push(self::region(db, id).await?);
    }
    Ok(out)
}

/// Regions inside a scope, for the API (keyset by id).
pub async fn list_regions(
    db: &Db,
    scope: Option<&Scope>,
    level: Option<&str>,
    q: Option<&str>,
    after_id: Option<i64>,
    limit: i64,
) -> DbResult<Page<RegionItem>> {
    let build = |s: &mut Sql| {
        if let Some(l) = level {
            s.push(" AND level = ").bind(l);
        }
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            let l = like(q);
            s.push(" AND (name LIKE ")
                .bind(l.clone())
                .push(" OR code LIKE ")
                .bind(l)
                .push(")");
        }
        if let Some(sc) = scope {
            s.scope_filter(
                sc,
                ScopeColumns {
                    region_path: Some("path"),
                    ..Default::default()
                },
            );
        }
    };
    let mut c = Sql::new("SELECT COUNT(*) FROM region WHERE 1=1");
    build(&mut c);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(REGION);
    build(&mut s);
    if let Some(a) = after_id {
        s.push(" AND id > ").bind(a);
    }
    s.push(" ORDER BY id LIMIT ").bind(limit + 1);
    Ok(page(s.fetch_all(db).await?, total, limit, |r| r.id))
}

/// A station with its region, for lists and pages.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct StationItem {
    /// Id.
    pub id: i64,
    /// Stable code (QR link).
    pub code: String,
    /// Name.
    pub name: String,
    /// Tier code.
    pub tier: String,
    /// Region id.
    pub region_id: i64,
    /// Region code.
    pub region_code: String,
    /// Region name.
    pub region_name: String,
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
    /// Introduction.
    pub intro: String,
    /// Resident deputies.
    pub deputy_count: i64,
}

const STATION: &str = "SELECT s.id, s.code, s.name, s.tier, s.region_id, r.code AS region_code, \
    r.name AS region_name, s.parent_id, s.address, s.opening_hours, s.reception_schedule, s.phone, \
    s.intro, (SELECT COUNT(*) FROM deputy d WHERE d.station_id = s.id) AS deputy_count \
    FROM station s JOIN region r ON r.id = s.region_id WHERE s.active = TRUE";

/// Filters for station lists.
#[derive(Debug, Clone, Default)]
pub struct StationFilter {
    /// Only stations in this region's subtree.
    pub region_path: Option<String>,
    /// Only this tier.
    pub tier: Option<String>,
    /// Name, code or address contains this.
    pub q: Option<String>,
    /// Keyset cursor.
    pub after_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn like(q: &str) -> String {
    format!("%{}%", q.replace(['%', '_'], ""))
}

fn station_where(s: &mut Sql, scope: Option<&Scope>, f: &StationFilter) {
    if let Some(p) = &f.region_path {
        s.push(" AND r.path LIKE ").bind(format!("{p}%"));
    }
    if let Some(t) = &f.tier {
        s.push(" AND s.tier = ").bind(t.clone());
    }
    if let Some(q) = f.q.as_ref().filter(|q| !q.trim().is_empty()) {
        let l = like(q.trim());
        s.push(" AND (s.name LIKE ")
            .bind(l.clone())
            .push(" OR s.code LIKE ")
            .bind(l.clone())
            .push(" OR s.address LIKE ")
            .bind(l)
            .push(")");
    }
    if let Some(sc) = scope {
        s.scope_filter(
            sc,
            ScopeColumns {
                region_path: Some("r.path"),
                station_id: Some("s.id"),
                // A deputy sees the station they are resident at.
                deputy_id: Some("(SELECT MIN(dd.id) FROM deputy dd WHERE dd.station_id = s.id)"),
                entered_by: None,
                unit_id: None,
            },
        );
    }
}

/// Stations, ordered by tier then code (directory order).
pub async fn list_stations(
    db: &Db,
    scope: Option<&Scope>,
    f: &StationFilter,
) -> DbResult<Page<StationItem>> {
    let mut c = Sql::new(
        "SELECT COUNT(*) FROM station s JOIN region r ON r.id = s.region_id WHERE s.active = TRUE",
    );
    station_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(STATION);
    station_where(&mut s, scope, f);
    if let Some(a) = f.after_id {
        s.push(" AND s.id > ").bind(a);
    }
    s.push(" ORDER BY s.id LIMIT ").bind(f.limit + 1);
    Ok(page(s.fetch_all(db).await?, total, f.limit, |x| x.id))
}

/// A station by code.
pub async fn station_by_code(db: &Db, code: &str) -> DbResult<Option<StationItem>> {
    let mut s = Sql::new(STATION);
    s.push(" AND s.code = ").bind(code);
    s.fetch_optional(db).await
}

/// A station by id.
pub async fn station(db: &Db, id: i64) -> DbResult<StationItem> {
    let mut s = Sql::new(STATION);
    s.push(" AND s.id = ").bind(id);
    s.fetch_optional(db).await?.ok_or(DbError::NotFound)
}

/// Rooms/points under a station.
pub async fn station_children(db: &Db, id: i64) -> DbResult<Vec<StationItem>> {
    let mut s = Sql::new(STATION);
    s.push(" AND s.parent_id = ")
        .bind(id)
        .push(" ORDER BY s.code");
    s.fetch_all(db).await
}

/// A person at a station; the phone is masked unless revealed separately.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct MemberItem {
    /// Row id.
    pub id: i64,
    /// Role code.
    pub role: String,
    /// Name.
    pub name: String,
    /// Deputy code, if a deputy.
    pub deputy_code: Option<String>,
    /// Encrypted phone (never sent to a client; see [`MemberItem::masked_phone`]).
    #[serde(skip)]
    pub phone_enc: String,
}

impl MemberItem {
    /// The phone masked for display.
    pub fn masked_phone(&self, keys: &Keys) -> String {
        keys.decrypt(&self.phone_enc)
            .map(|p| liaison_core::validate::mask_phone(&p))
            .unwrap_or_default()
    }
}

/// People at a station, head first.
pub async fn station_members(db: &Db, station_id: i64) -> DbResult<Vec<MemberItem>> {
    let mut s = Sql::new(
        "SELECT m.id, m.role, m.name, d.code AS deputy_code, m.phone_enc FROM station_member m \
         LEFT JOIN deputy d ON d.id = m.deputy_id WHERE m.station_id = ",
    );
    s.bind(station_id).push(" ORDER BY m.sort, m.id");
    s.fetch_all(db).await
}

/// A deputy's public record.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct DeputyItem {
    /// Id.
    pub id: i64,
    /// Stable code (QR link).
    pub code: String,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: String,
    /// Party.
    pub party: String,
    /// Occupation and post.
    pub occupation: String,
    /// Region id.
    pub region_id: i64,
    /// Region code.
    pub region_code: String,
    /// Region name.
    pub region_name: String,
    /// Resident station id.
    pub station_id: Option<i64>,
    /// Resident station code.
    pub station_code: Option<String>,
    /// Resident station name.
    pub station_name: Option<String>,
    /// Public profile.
    pub public_profile: String,
    /// Congress seats, highest level first (filled after the query).
    #[sqlx(skip)]
    pub seats: Vec<CongressSeat>,
}

impl DeputyItem {
    /// The congress levels as Chinese labels, e.g. 市、县（市、区）.
    pub fn levels_label(&self) -> String {
        self.seats
            .iter()
            .map(|s| format!("{}人大代表", short_level(s.level)))
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// Short Chinese name of a congress level for "X人大代表".
pub fn short_level(l: CongressLevel) -> &'static str {
    match l {
        CongressLevel::National => "全国",
        CongressLevel::Provincial => "省",
        CongressLevel::City => "市",
        CongressLevel::County => "县（市、区）",
        CongressLevel::Township => "乡镇",
    }
}

const DEPUTY: &str = "SELECT d.id, d.code, d.name, d.gender, d.party, d.occupation, d.region_id, \
    r.code AS region_code, r.name AS region_name, d.station_id, s.code AS station_code, s.name AS station_name, \
    d.public_profile FROM deputy d JOIN region r ON r.id = d.region_id \
    LEFT JOIN station s ON s.id = d.station_id WHERE d.active = TRUE";

/// Filters for deputy lists.
#[derive(Debug, Clone, Default)]
pub struct DeputyFilter {
    /// Only deputies in this region's subtree.
    pub region_path: Option<String>,
    /// Only deputies resident at this station.
    pub station_id: Option<i64>,
    /// Only deputies with a seat at this level (code).
    pub level: Option<String>,
    /// Name or code contains this.
    pub q: Option<String>,
    /// Keyset cursor.
    pub after_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn deputy_where(s: &mut Sql, scope: Option<&Scope>, f: &DeputyFilter) {
    if let Some(p) = &f.region_path {
        s.push(" AND r.path LIKE ").bind(format!("{p}%"));
    }
    if let Some(st) = f.station_id {
        s.push(" AND d.station_id = ").bind(st);
    }
    if let Some(l) = &f.level {
        s.push(" AND EXISTS (SELECT 1 FROM deputy_seat x WHERE x.deputy_id = d.id AND x.level = ")
            .bind(l.clone())
            .push(")");
    }
    if let Some(q) = f.q.as_ref().filter(|q| !q.trim().is_empty()) {
        let l = like(q.trim());
        s.push(" AND (d.name LIKE ")
            .bind(l.clone())
            .push(" OR d.code LIKE ")
            .bind(l)
            .push(")");
    }
    if let Some(sc) = scope {
        s.scope_filter(
            sc,
            ScopeColumns {
                region_path: Some("r.path"),
                station_id: Some("d.station_id"),
                deputy_id: Some("d.id"),
                entered_by: None,
                unit_id: None,
            },
        );
    }
}

async fn fill_seats(db: &Db, items: &mut [DeputyItem]) -> DbResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut s = Sql::new(
        "SELECT deputy_id, level, term, delegation, constituency FROM deputy_seat WHERE deputy_id IN ",
    );
    s.bind_list(items.iter().map(|d| d.id));
    let rows: Vec<(i64, String, String, String, String)> = s.fetch_all(db).await?;
    let mut by: HashMap<i64, Vec<CongressSeat>> = HashMap::new();
    for (id, level, term, delegation, constituency) in rows {
        if let Some(level) = CongressLevel::parse(&level) {
            by.entry(id).or_default().push(CongressSeat {
                level,
                term,
                delegation,
                constituency,
            });
        }
    }
    for d in items {
        let mut seats = by.remove(&d.id).unwrap_or_default();
        seats.sort_by_key(|s| CongressLevel::ALL.iter().position(|x| *x == s.level));
        d.seats = seats;
    }
    Ok(())
}

/// Deputies, by id.
pub async fn list_deputies(
    db: &Db,
    scope: Option<&Scope>,
    f: &DeputyFilter,
) -> DbResult<Page<DeputyItem>> {
    let mut c = Sql::new(
        "SELECT COUNT(*) FROM deputy d JOIN region r ON r.id = d.region_id WHERE d.active = TRUE",
    );
    deputy_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(DEPUTY);
    deputy_where(&mut s, scope, f);
    if let Some(a) = f.after_id {
        s.push(" AND d.id > ").bind(a);
    }
    s.push(" ORDER BY d.id LIMIT ").bind(f.limit + 1);
    let mut p = page(s.fetch_all(db).await?, total, f.limit, |x: &DeputyItem| {
        x.id
    });
    fill_seats(db, &mut p.items).await?;
    Ok(p)
}

/// A deputy by code, with seats.
pub async fn deputy_by_code(db: &Db, code: &str) -> DbResult<Option<DeputyItem>> {
    let mut s = Sql::new(DEPUTY);
    s.push(" AND d.code = ").bind(code);
    let mut found: Vec<DeputyItem> = s.fetch_all(db).await?;
    fill_seats(db, &mut found).await?;
    Ok(found.pop())
}

/// Reveals a deputy's private phone to staff, auditing the reveal.
pub async fn reveal_deputy_phone(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    deputy_id: i64,
    purpose: &str,
) -> DbResult<String> {
    let mut s = Sql::new("SELECT phone_enc FROM deputy WHERE id = ");
    s.bind(deputy_id);
    let enc: Option<(String,)> = s.fetch_optional(db).await?;
    let phone = keys.decrypt(&enc.ok_or(DbError::NotFound)?.0)?;
    let mut tx = db.begin().await?;
    audit::append(
        &mut tx,
        keys,
        actor,
        Entry {
            action: "reveal_phone",
            entity: "deputy",
            entity_id: deputy_id.to_string(),
            summary: format!("查看代表手机号，事由：{purpose}"),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(phone)
}

/// A handling unit.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct UnitItem {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind code.
    pub kind: String,
    /// Region id.
    pub region_id: i64,
    /// Region code.
    pub region_code: String,
    /// Region name.
    pub region_name: String,
    /// Public phone.
    pub phone: String,
}

const UNIT: &str = "SELECT u.id, u.code, u.name, u.kind, u.region_id, r.code AS region_code, \
    r.name AS region_name, u.phone FROM handling_unit u JOIN region r ON r.id = u.region_id WHERE u.active = TRUE";

/// Filters for unit lists.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Name or code contains this.
    pub q: Option<String>,
    /// Only units of this region's subtree (its materialised path).
    pub region_path: Option<String>,
    /// Kind code.
    pub kind: Option<String>,
    /// Keyset cursor.
    pub after_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

fn unit_where(s: &mut Sql, scope: &Scope, f: &UnitFilter) {
    if let Some(p) = &f.region_path {
        s.push(" AND r.path LIKE ").bind(format!("{p}%"));
    }
    if let Some(k) = &f.kind {
        s.push(" AND u.kind = ").bind(k.clone());
    }
    if let Some(q) = f.q.as_ref().filter(|q| !q.trim().is_empty()) {
        let l = like(q.trim());
        s.push(" AND (u.name LIKE ")
            .bind(l.clone())
            .push(" OR u.code LIKE ")
            .bind(l)
            .push(")");
    }
    match scope {
        // Station staff work with the units of their township, county and city: the units
        // whose region lies on the path from the root to the station's region.
        Scope::Station(id) => {
            s.push(
                " AND EXISTS (SELECT 1 FROM station st JOIN region sr ON sr.id = st.region_id \
                 WHERE st.id = ",
            )
            .bind(*id)
            .push(" AND sr.path LIKE r.path || '%')");
        }
        other => {
            s.scope_filter(
                other,
                ScopeColumns {
                    region_path: Some("r.path"),
                    unit_id: Some("u.id"),
                    ..Default::default()
                },
            );
        }
    }
}

/// Handling units inside a scope.
pub async fn list_units(db: &Db, scope: &Scope, f: &UnitFilter) -> DbResult<Page<UnitItem>> {
    let mut c = Sql::new(
        "SELECT COUNT(*) FROM handling_unit u JOIN region r ON r.id = u.region_id WHERE u.active = TRUE",
    );
    unit_where(&mut c, scope, f);
    let total = c.fetch_count(db).await?;
    let mut s = Sql::new(UNIT);
    unit_where(&mut s, scope, f);
    if let Some(a) = f.after_id {
        s.push(" AND u.id > ").bind(a);
    }
    s.push(" ORDER BY u.id LIMIT ").bind(f.limit + 1);
    Ok(page(s.fetch_all(db).await?, total, f.limit, |x| x.id))
}

/// Counts shown on the workbench home, inside a scope.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Stations.
    pub stations: i64,
    /// Deputies.
    pub deputies: i64,
    /// Handling units.
    pub units: i64,
}

/// Counts of the organisation inside a scope.
pub async fn counts(db: &Db, scope: &Scope) -> DbResult<Counts> {
    Ok(Counts {
        stations: list_stations(
            db,
            Some(scope),
            &StationFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await?
        .total,
        deputies: list_deputies(
            db,
            Some(scope),
            &DeputyFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await?
        .total,
        units: list_units(
            db,
            scope,
            &UnitFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await?
        .total,
    })
}
