//! The organisation: regions, stations, deputies, handling units, grids and accounts.
//!
//! Writes go through [`load_dataset`]: an import file, the demo data and a single edit in the
//! web UI all become a [`Dataset`] and land in one transaction, upserted by `code`, with an audit
//! record (before/after) for every row created or changed — one write path to get right, and
//! nothing is ever half-imported.

use crate::audit::{self, Actor, Entry};
use crate::db::{Db, Tx, now};
use crate::error::{DbError, DbResult};
use crate::sql::Sql;
use crate::users::{self, NewUser};
use liaison_core::dataset::*;
use liaison_core::org::{CongressLevel, RegionLevel, StationRole, StationTier, UnitKind};
use liaison_core::protect::{self, Keys};
use liaison_core::role::ScopeKind;
use serde::Serialize;
use sqlx::FromRow;
use std::collections::HashMap;

/// What a load did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// Rows created per sheet code.
    pub created: HashMap<&'static str, usize>,
    /// Rows changed per sheet code.
    pub updated: HashMap<&'static str, usize>,
    /// Rows that were already identical (not written, not audited).
    pub unchanged: usize,
    /// Accounts created with a generated password: (role, username, password, scope).
    pub generated_credentials: Vec<(String, String, String, String)>,
}

impl LoadReport {
    /// A one-line Chinese summary.
    pub fn summary(&self) -> String {
        let c: usize = self.created.values().sum();
        let u: usize = self.updated.values().sum();
        format!("新增{c}条，更新{u}条，未变化{}条", self.unchanged)
    }
}

/// Why a load failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Rows refer to codes that exist neither in the file nor in the database, or break rules.
    #[error("导入数据有{}处错误，未导入任何数据", .0.len())]
    Rows(Vec<RowError>),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn row_err(sheet: SheetKind, idx: usize, column: &str, message: String) -> RowError {
    RowError {
        sheet,
        row: idx + 2,
        column: column.to_owned(),
        message,
    }
}

struct Loader<'a> {
    tx: Tx,
    keys: &'a Keys,
    actor: &'a Actor,
    report: LoadReport,
    errors: Vec<RowError>,
    at: time::OffsetDateTime,
}

impl Loader<'_> {
    async fn ids(&mut self, sql: &'static str) -> DbResult<HashMap<String, i64>> {
        let rows: Vec<(String, i64)> =
            on_tx!(self.tx, t => sqlx::query_as(sql).fetch_all(t).await)?;
        Ok(rows.into_iter().collect())
    }

    /// Counts and audits one upserted row.
    async fn record<T: Serialize>(
        &mut self,
        sheet: SheetKind,
        entity: &'static str,
        code: &str,
        name: &str,
        before: Option<&T>,
        after: &T,
    ) -> DbResult<()> {
        let (action, verb) = if before.is_some() {
            *self.report.updated.entry(sheet.code()).or_default() += 1;
            ("update", "修改")
        } else {
            *self.report.created.entry(sheet.code()).or_default() += 1;
            ("create", "新增")
        };
        audit::append(
            &mut self.tx,
            self.keys,
            self.actor,
            Entry {
                action,
                entity,
                entity_id: code.to_owned(),
                summary: format!("{verb}{}：{name}（{code}）", sheet.label()),
                before: before
                    .and_then(|b| serde_json::to_value(b).ok())
                    .map(redact),
                after: serde_json::to_value(after).ok().map(redact),
            },
        )
        .await?;
        Ok(())
    }

    fn lookup(
        &mut self,
        map: &HashMap<String, i64>,
        code: &str,
        sheet: SheetKind,
        idx: usize,
        column: &str,
        what: &str,
    ) -> Option<i64> {
        let id = map.get(code).copied();
        if id.is_none() {
            self.errors.push(row_err(
                sheet,
                idx,
                column,
                format!("{what}“{code}”不存在，请检查编码，或先导入该{what}"),
            ));
        }
        id
    }
}

/// Private values never go into the audit log in clear: they are replaced by a mark that they
/// were present.
fn redact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(obj) = v.as_object_mut() {
        for key in ["phone", "email", "worker_phone", "password"] {
            if let Some(val) = obj.get_mut(key)
                && val.as_str().is_some_and(|s| !s.is_empty())
            {
                *val = serde_json::Value::String("（已加密）".into());
            }
        }
    }
    v
}

/// Where the stored records of one sheet with these codes are now: code → the region path
/// of the record (for stations, deputies, units and grids) or the region's own path (for
/// regions). An import may only overwrite records inside the importer's scope, so the caller
/// checks these paths as well as the rows' new regions.
pub async fn stored_paths(
    db: &Db,
    sheet: SheetKind,
    codes: &[&str],
) -> DbResult<std::collections::HashMap<String, String>> {
    if codes.is_empty() {
        return Ok(Default::default());
    }
    let mut s = Sql::new(match sheet {
        SheetKind::Regions => "SELECT x.code, x.path FROM region x WHERE x.code IN ",
        SheetKind::Stations => {
            "SELECT x.code, r.path FROM station x JOIN region r ON r.id = x.region_id WHERE x.code IN "
        }
        SheetKind::Deputies => {
            "SELECT x.code, r.path FROM deputy x JOIN region r ON r.id = x.region_id WHERE x.code IN "
        }
        SheetKind::Units => {
            "SELECT x.code, r.path FROM handling_unit x JOIN region r ON r.id = x.region_id WHERE x.code IN "
        }
        SheetKind::Grids => {
            "SELECT x.code, r.path FROM grid x JOIN region r ON r.id = x.region_id WHERE x.code IN "
        }
        SheetKind::StationMembers | SheetKind::Accounts => return Ok(Default::default()),
    });
    s.bind_list(codes.iter().map(|c| (*c).to_owned()));
    let rows: Vec<(String, String)> = s.fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

/// Loads a dataset in one transaction. Row references (parent, region, station, deputy codes)
/// may point at rows of the same dataset or at rows already in the database.
/// `progress(done, total)` is called as rows are written.
pub async fn load_dataset(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    data: &Dataset,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<LoadReport, LoadError> {
    // Hash account passwords before taking the write lock: Argon2 is slow on purpose, and all
    // cores can share the work.
    let hashed = hash_account_passwords(&data.accounts).await?;

    let total = data.regions.len()
        + data.stations.len()
        + data.deputies.len()
        + data.station_members.len()
        + data.units.len()
        + data.grids.len()
        + data.accounts.len();
    let mut done = 0usize;
    let mut tick = |progress: &mut (dyn FnMut(usize, usize) + Send)| {
        done += 1;
        if done.is_multiple_of(250) || done == total {
            progress(done, total);
        }
    };

    let mut l = Loader {
        tx: db.begin().await?,
        keys,
        actor,
        report: LoadReport::default(),
        errors: Vec::new(),
        at: now(),
    };

    // Regions, parents first.
    let mut regions = l.ids("SELECT code, id FROM region").await?;
    for (i, r) in data.regions.iter().enumerate() {
        tick(progress);
        let parent_id = match r.parent_code.as_deref().filter(|c| !c.is_empty()) {
            Some(pc) => match l.lookup(
                &regions,
                pc,
                SheetKind::Regions,
                i,
                "上级区划代码",
                "上级区划",
            ) {
                Some(id) => Some(id),
                None => continue,
            },
            None => None,
        };
        let before = read_region(&mut l.tx, &r.code).await?;
        if before.as_ref() == Some(r) {
            l.report.unchanged += 1;
            continue;
        }
        let id: i64 = on_tx!(l.tx, t => sqlx::query_scalar(
            "INSERT INTO region (code, name, level, parent_id, path, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,'',$5,$5) ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             level = excluded.level, parent_id = excluded.parent_id, updated_at = excluded.updated_at \
             RETURNING id")
            .bind(&r.code).bind(&r.name).bind(r.level.code()).bind(parent_id).bind(l.at)
            .fetch_one(t).await)?;
        regions.insert(r.code.clone(), id);
        l.record(
            SheetKind::Regions,
            "region",
            &r.code,
            &r.name,
            before.as_ref(),
            r,
        )
        .await?;
    }
    rebuild_region_paths(&mut l.tx).await?;

    // Stations, parents first.
    let mut stations = l.ids("SELECT code, id FROM station").await?;
    for (i, s) in data.stations.iter().enumerate() {
        tick(progress);
        let Some(region_id) = l.lookup(
            &regions,
            &s.region_code,
            SheetKind::Stations,
            i,
            "所属区划代码",
            "区划",
        ) else {
            continue;
        };
        let parent_id = match s.parent_code.as_deref().filter(|c| !c.is_empty()) {
            Some(pc) => match l.lookup(
                &stations,
                pc,
                SheetKind::Stations,
                i,
                "上级站点编码",
                "上级站点",
            ) {
                Some(id) => Some(id),
                None => continue,
            },
            None => None,
        };
        let before = read_station(&mut l.tx, &s.code).await?;
        if before.as_ref() == Some(s) {
            l.report.unchanged += 1;
            continue;
        }
        let id: i64 = on_tx!(l.tx, t => sqlx::query_scalar(
            "INSERT INTO station (code, name, tier, region_id, parent_id, address, opening_hours, \
             reception_schedule, phone, intro, active, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,TRUE,$11,$11) ON CONFLICT (code) DO UPDATE SET \
             name = excluded.name, tier = excluded.tier, region_id = excluded.region_id, \
             parent_id = excluded.parent_id, address = excluded.address, \
             opening_hours = excluded.opening_hours, reception_schedule = excluded.reception_schedule, \
             phone = excluded.phone, intro = excluded.intro, updated_at = excluded.updated_at RETURNING id")
            .bind(&s.code).bind(&s.name).bind(s.tier.code()).bind(region_id).bind(parent_id)
            .bind(&s.address).bind(&s.opening_hours).bind(&s.reception_schedule).bind(&s.phone)
            .bind(&s.intro).bind(l.at).fetch_one(t).await)?;
        stations.insert(s.code.clone(), id);
        l.record(
            SheetKind::Stations,
            "station",
            &s.code,
            &s.name,
            before.as_ref(),
            s,
        )
        .await?;
    }

    // Deputies and their seats.
    let mut deputies = l.ids("SELECT code, id FROM deputy").await?;
    for (i, d) in data.deputies.iter().enumerate() {
        tick(progress);
        let Some(region_id) = l.lookup(
            &regions,
            &d.region_code,
            SheetKind::Deputies,
            i,
            "所属区划代码",
            "区划",
        ) else {
            continue;
        };
        let station_id = match d.station_code.as_deref().filter(|c| !c.is_empty()) {
            Some(sc) => match l.lookup(&stations, sc, SheetKind::Deputies, i, "驻站编码", "站点")
            {
                Some(id) => Some(id),
                None => continue,
            },
            None => None,
        };
        let before = read_deputy(&mut l.tx, keys, &d.code).await?;
        if before.as_ref() == Some(d) {
            l.report.unchanged += 1;
            continue;
        }
        let id: i64 = on_tx!(l.tx, t => sqlx::query_scalar(
            "INSERT INTO deputy (code, name, gender, birth_year, party, occupation, region_id, \
             station_id, public_profile, phone_enc, phone_idx, email_enc, active, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,TRUE,$13,$13) ON CONFLICT (code) DO UPDATE SET \
             name = excluded.name, gender = excluded.gender, birth_year = excluded.birth_year, \
             party = excluded.party, occupation = excluded.occupation, region_id = excluded.region_id, \
             station_id = excluded.station_id, public_profile = excluded.public_profile, \
             phone_enc = excluded.phone_enc, phone_idx = excluded.phone_idx, \
             email_enc = excluded.email_enc, updated_at = excluded.updated_at RETURNING id")
            .bind(&d.code).bind(&d.name).bind(&d.gender).bind(d.birth_year).bind(&d.party)
            .bind(&d.occupation).bind(region_id).bind(station_id).bind(&d.public_profile)
            .bind(keys.encrypt(&d.phone)).bind(keys.blind_index(&d.phone))
            .bind(keys.encrypt(&d.email)).bind(l.at).fetch_one(t).await)?;
        on_tx!(l.tx, t => sqlx::query("DELETE FROM deputy_seat WHERE deputy_id = $1")
            .bind(id).execute(t).await.map(|r| r.rows_affected()))?;
        for seat in &d.seats {
            on_tx!(l.tx, t => sqlx::query(
                "INSERT INTO deputy_seat (deputy_id, level, term, delegation, constituency) \
                 VALUES ($1,$2,$3,$4,$5) ON CONFLICT (deputy_id, level) DO NOTHING")
                .bind(id).bind(seat.level.code()).bind(&seat.term).bind(&seat.delegation)
                .bind(&seat.constituency).execute(t).await.map(|r| r.rows_affected()))?;
        }
        deputies.insert(d.code.clone(), id);
        l.record(
            SheetKind::Deputies,
            "deputy",
            &d.code,
            &d.name,
            before.as_ref(),
            d,
        )
        .await?;
    }

    // Station members: the file's list for a station replaces the stored list.
    let mut by_station: Vec<(String, Vec<(usize, &StationMemberRow)>)> = Vec::new();
    for (i, m) in data.station_members.iter().enumerate() {
        match by_station.iter_mut().find(|(c, _)| *c == m.station_code) {
            Some((_, v)) => v.push((i, m)),
            None => by_station.push((m.station_code.clone(), vec![(i, m)])),
        }
    }
    for (code, members) in by_station {
        let Some(station_id) = l.lookup(
            &stations,
            &code,
            SheetKind::StationMembers,
            members[0].0,
            "站点编码",
            "站点",
        ) else {
            continue;
        };
        let before = read_station_members(&mut l.tx, keys, Some(station_id)).await?;
        let after: Vec<StationMemberRow> = members.iter().map(|(_, m)| (*m).clone()).collect();
        for _ in &after {
            tick(progress);
        }
        if before == after {
            l.report.unchanged += after.len();
            continue;
        }
        on_tx!(l.tx, t => sqlx::query("DELETE FROM station_member WHERE station_id = $1")
            .bind(station_id).execute(t).await.map(|r| r.rows_affected()))?;
        for (sort, (i, m)) in members.iter().enumerate() {
            let deputy_id = match m.deputy_code.as_deref().filter(|c| !c.is_empty()) {
                Some(dc) => {
                    match l.lookup(
                        &deputies,
                        dc,
                        SheetKind::StationMembers,
                        *i,
                        "代表编码",
                        "代表",
                    ) {
                        Some(id) => Some(id),
                        None => continue,
                    }
                }
                None => None,
            };
            on_tx!(l.tx, t => sqlx::query(
                "INSERT INTO station_member (station_id, role, name, phone_enc, deputy_id, sort) \
                 VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(station_id).bind(m.role.code()).bind(&m.name).bind(keys.encrypt(&m.phone))
                .bind(deputy_id).bind(sort as i64).execute(t).await.map(|r| r.rows_affected()))?;
        }
        let before_opt = (!before.is_empty()).then_some(&before);
        l.record(
            SheetKind::StationMembers,
            "station_member",
            &code,
            &code,
            before_opt,
            &after,
        )
        .await?;
    }

    // Handling units.
    let mut units = l.ids("SELECT code, id FROM handling_unit").await?;
    for (i, u) in data.units.iter().enumerate() {
        tick(progress);
        let Some(region_id) = l.lookup(
            &regions,
            &u.region_code,
            SheetKind::Units,
            i,
            "所属区划代码",
            "区划",
        ) else {
            continue;
        };
        let before = read_unit(&mut l.tx, &u.code).await?;
        if before.as_ref() == Some(u) {
            l.report.unchanged += 1;
            continue;
        }
        let id: i64 = on_tx!(l.tx, t => sqlx::query_scalar(
            "INSERT INTO handling_unit (code, name, kind, region_id, phone, active, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,TRUE,$6,$6) ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             kind = excluded.kind, region_id = excluded.region_id, phone = excluded.phone, \
             updated_at = excluded.updated_at RETURNING id")
            .bind(&u.code).bind(&u.name).bind(u.kind.code()).bind(region_id).bind(&u.phone)
            .bind(l.at).fetch_one(t).await)?;
        units.insert(u.code.clone(), id);
        l.record(
            SheetKind::Units,
            "handling_unit",
            &u.code,
            &u.name,
            before.as_ref(),
            u,
        )
        .await?;
    }

    // Grids.
    for (i, g) in data.grids.iter().enumerate() {
        tick(progress);
        let region_id = l.lookup(
            &regions,
            &g.region_code,
            SheetKind::Grids,
            i,
            "所属区划代码",
            "区划",
        );
        let station_id = l.lookup(
            &stations,
            &g.station_code,
            SheetKind::Grids,
            i,
            "所属站点编码",
            "站点",
        );
        let mut deputy_ids = Vec::new();
        for dc in &g.deputy_codes {
            if let Some(id) = l.lookup(&deputies, dc, SheetKind::Grids, i, "联系代表编码", "代表")
            {
                deputy_ids.push(id);
            }
        }
        let (Some(region_id), Some(station_id)) = (region_id, station_id) else {
            continue;
        };
        let before = read_grid(&mut l.tx, keys, &g.code).await?;
        if before.as_ref() == Some(g) {
            l.report.unchanged += 1;
            continue;
        }
        let id: i64 = on_tx!(l.tx, t => sqlx::query_scalar(
            "INSERT INTO grid (code, name, region_id, station_id, worker_name, worker_phone_enc, \
             created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7) ON CONFLICT (code) DO UPDATE SET \
             name = excluded.name, region_id = excluded.region_id, station_id = excluded.station_id, \
             worker_name = excluded.worker_name, worker_phone_enc = excluded.worker_phone_enc, \
             updated_at = excluded.updated_at RETURNING id")
            .bind(&g.code).bind(&g.name).bind(region_id).bind(station_id).bind(&g.worker_name)
            .bind(keys.encrypt(&g.worker_phone)).bind(l.at).fetch_one(t).await)?;
        on_tx!(l.tx, t => sqlx::query("DELETE FROM grid_deputy WHERE grid_id = $1")
            .bind(id).execute(t).await.map(|r| r.rows_affected()))?;
        for did in deputy_ids {
            on_tx!(l.tx, t => sqlx::query(
                "INSERT INTO grid_deputy (grid_id, deputy_id) VALUES ($1,$2) ON CONFLICT DO NOTHING")
                .bind(id).bind(did).execute(t).await.map(|r| r.rows_affected()))?;
        }
        l.record(
            SheetKind::Grids,
            "grid",
            &g.code,
            &g.name,
            before.as_ref(),
            g,
        )
        .await?;
    }

    // Accounts: created with their password; an existing account keeps its password and gets
    // the new name, role and scope.
    for ((i, a), (password, hash)) in data.accounts.iter().enumerate().zip(hashed) {
        tick(progress);
        let scope_code = a.scope.as_deref().filter(|c| !c.is_empty());
        let scope_id = match (a.role.scope_kind(), scope_code) {
            (ScopeKind::None, None) => None,
            (ScopeKind::None, Some(c)) => {
                l.errors.push(row_err(
                    SheetKind::Accounts,
                    i,
                    "绑定范围编码",
                    format!("角色“{}”不绑定范围，请清空“{c}”", a.role.label()),
                ));
                continue;
            }
            (kind, None) => {
                l.errors.push(row_err(
                    SheetKind::Accounts,
                    i,
                    "绑定范围编码",
                    format!(
                        "角色“{}”须填写{}编码",
                        a.role.label(),
                        scope_kind_label(kind)
                    ),
                ));
                continue;
            }
            (kind, Some(c)) => {
                let map = match kind {
                    ScopeKind::Region => &regions,
                    ScopeKind::Station => &stations,
                    ScopeKind::Unit => &units,
                    _ => &deputies,
                };
                let map = map.clone();
                match l.lookup(
                    &map,
                    c,
                    SheetKind::Accounts,
                    i,
                    "绑定范围编码",
                    scope_kind_label(kind),
                ) {
                    Some(id) => Some(id),
                    None => continue,
                }
            }
        };
        if let (Some(level), Some(c)) = (a.role.region_level(), scope_code) {
            let actual = data
                .regions
                .iter()
                .find(|r| r.code == c)
                .map(|r| r.level)
                .or(read_region(&mut l.tx, c).await?.map(|r| r.level));
            if actual.is_some_and(|x| x != level) {
                l.errors.push(row_err(
                    SheetKind::Accounts,
                    i,
                    "绑定范围编码",
                    format!("角色“{}”须绑定{}级区划", a.role.label(), level.label()),
                ));
                continue;
            }
        }
        let existing: Option<ExistingAccount> = on_tx!(l.tx, t => sqlx::query_as(
                "SELECT id, display_name, role, region_id, station_id, unit_id, deputy_id \
                 FROM app_user WHERE username = $1")
                .bind(&a.username).fetch_optional(t).await)?;
        let existing = existing.map(|e| {
            (
                e.id,
                e.display_name,
                e.role,
                (e.region_id, e.station_id, e.unit_id, e.deputy_id),
            )
        });
        match existing {
            None => {
                let new = NewUser {
                    username: a.username.clone(),
                    display_name: a.display_name.clone(),
                    password_hash: hash,
                    role: a.role,
                    scope_id,
                    phone: a.phone.clone(),
                    must_change_password: true,
                };
                users::create_tx(&mut l.tx, keys, actor, &new).await?;
                *l.report
                    .created
                    .entry(SheetKind::Accounts.code())
                    .or_default() += 1;
                if a.password.is_empty() {
                    l.report.generated_credentials.push((
                        a.role.code().to_owned(),
                        a.username.clone(),
                        password,
                        scope_code.unwrap_or("").to_owned(),
                    ));
                }
            }
            Some((id, name, role, bound)) => {
                let new_bound = split_scope(a.role.scope_kind(), scope_id);
                if name == a.display_name && role == a.role.code() && bound == new_bound {
                    l.report.unchanged += 1;
                    continue;
                }
                let (r, s, u, d) = new_bound;
                on_tx!(l.tx, t => sqlx::query(
                    "UPDATE app_user SET display_name = $1, role = $2, region_id = $3, station_id = $4, \
                     unit_id = $5, deputy_id = $6, updated_at = $7 WHERE id = $8")
                    .bind(&a.display_name).bind(a.role.code()).bind(r).bind(s).bind(u).bind(d)
                    .bind(l.at).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
                let before = serde_json::json!({"display_name": name, "role": role});
                let after =
                    serde_json::json!({"display_name": a.display_name, "role": a.role.code()});
                l.record(
                    SheetKind::Accounts,
                    "app_user",
                    &a.username,
                    &a.display_name,
                    Some(&before),
                    &after,
                )
                .await?;
            }
        }
    }

    if !l.errors.is_empty() {
        // Dropping the transaction rolls everything back.
        return Err(LoadError::Rows(l.errors));
    }
    let Loader { tx, mut report, .. } = l;
    tx.commit().await?;
    progress(total, total);
    report.generated_credentials.sort();
    Ok(report)
}

#[derive(FromRow)]
struct ExistingAccount {
    id: i64,
    display_name: String,
    role: String,
    region_id: Option<i64>,
    station_id: Option<i64>,
    unit_id: Option<i64>,
    deputy_id: Option<i64>,
}

fn scope_kind_label(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Region => "区划",
        ScopeKind::Station => "站点",
        ScopeKind::Unit => "承办单位",
        ScopeKind::Deputy => "代表",
        ScopeKind::None => "范围",
    }
}

fn split_scope(
    kind: ScopeKind,
    id: Option<i64>,
) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    match kind {
        ScopeKind::Region => (id, None, None, None),
        ScopeKind::Station => (None, id, None, None),
        ScopeKind::Unit => (None, None, id, None),
        ScopeKind::Deputy => (None, None, None, id),
        ScopeKind::None => (None, None, None, None),
    }
}

/// Hashes each account's password (given, or generated when empty) on all cores.
async fn hash_account_passwords(accounts: &[AccountRow]) -> DbResult<Vec<(String, String)>> {
    let passwords: Vec<String> = accounts
        .iter()
        .map(|a| {
            if a.password.is_empty() {
                protect::random_password()
            } else {
                a.password.clone()
            }
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = passwords.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = passwords
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|p| {
                                protect::hash_password(p)
                                    .map(|h| (p.clone(), h))
                                    .map_err(DbError::from)
                            })
                            .collect::<DbResult<Vec<_>>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(passwords.len());
            for h in handles {
                out.extend(h.join().expect("hashing thread panicked")?);
            }
            Ok(out)
        })
    })
    .await
    .expect("hashing task panicked")
}

/// Recomputes every region's materialised path (`/id/id/…/`) from the parent links.
async fn rebuild_region_paths(tx: &mut Tx) -> DbResult<()> {
    let rows: Vec<(i64, Option<i64>, String)> = on_tx!(tx, t => sqlx::query_as("SELECT id, parent_id, path FROM region").fetch_all(t).await)?;
    let parent: HashMap<i64, Option<i64>> = rows.iter().map(|(id, p, _)| (*id, *p)).collect();
    for (id, _, old) in &rows {
        let mut chain = vec![*id];
        let mut cur = parent.get(id).copied().flatten();
        while let Some(p) = cur {
            if chain.contains(&p) || chain.len() > 16 {
                return Err(DbError::Invalid(format!("区划层级出现循环（区划ID {id}）")));
            }
            chain.push(p);
            cur = parent.get(&p).copied().flatten();
        }
        chain.reverse();
        let path = format!(
            "/{}/",
            chain
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join("/")
        );
        if &path != old {
            on_tx!(tx, t => sqlx::query("UPDATE region SET path = $1 WHERE id = $2")
                .bind(&path).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading rows back in the dataset shape (for before-snapshots and exports).

#[derive(FromRow)]
struct RegionDb {
    code: String,
    name: String,
    level: String,
    parent_code: Option<String>,
}

impl From<RegionDb> for RegionRow {
    fn from(r: RegionDb) -> Self {
        RegionRow {
            code: r.code,
            name: r.name,
            level: RegionLevel::parse(&r.level).unwrap_or(RegionLevel::Community),
            parent_code: r.parent_code,
        }
    }
}

const REGION_ROWS: &str = "SELECT r.code, r.name, r.level, p.code AS parent_code FROM region r \
    LEFT JOIN region p ON p.id = r.parent_id";

async fn read_region(tx: &mut Tx, code: &str) -> DbResult<Option<RegionRow>> {
    let r: Option<RegionDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT r.code, r.name, r.level, p.code AS parent_code FROM region r \
         LEFT JOIN region p ON p.id = r.parent_id WHERE r.code = $1")
        .bind(code).fetch_optional(t).await)?;
    Ok(r.map(Into::into))
}

#[derive(FromRow)]
struct StationDb {
    code: String,
    name: String,
    tier: String,
    region_code: String,
    parent_code: Option<String>,
    address: String,
    opening_hours: String,
    reception_schedule: String,
    phone: String,
    intro: String,
}

impl From<StationDb> for StationRow {
    fn from(s: StationDb) -> Self {
        StationRow {
            code: s.code,
            name: s.name,
            tier: StationTier::parse(&s.tier).unwrap_or(StationTier::LiaisonPoint),
            region_code: s.region_code,
            parent_code: s.parent_code,
            address: s.address,
            opening_hours: s.opening_hours,
            reception_schedule: s.reception_schedule,
            phone: s.phone,
            intro: s.intro,
        }
    }
}

const STATION_ROWS: &str = "SELECT s.code, s.name, s.tier, r.code AS region_code, \
    p.code AS parent_code, s.address, s.opening_hours, s.reception_schedule, s.phone, s.intro \
    FROM station s JOIN region r ON r.id = s.region_id LEFT JOIN station p ON p.id = s.parent_id";

async fn read_station(tx: &mut Tx, code: &str) -> DbResult<Option<StationRow>> {
    let r: Option<StationDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT s.code, s.name, s.tier, r.code AS region_code, \
         p.code AS parent_code, s.address, s.opening_hours, s.reception_schedule, s.phone, s.intro \
         FROM station s JOIN region r ON r.id = s.region_id LEFT JOIN station p ON p.id = s.parent_id \
         WHERE s.code = $1")
        .bind(code).fetch_optional(t).await)?;
    Ok(r.map(Into::into))
}

#[derive(FromRow)]
struct DeputyDb {
    id: i64,
    code: String,
    name: String,
    gender: String,
    birth_year: Option<i32>,
    party: String,
    occupation: String,
    region_code: String,
    station_code: Option<String>,
    public_profile: String,
    phone_enc: String,
    email_enc: String,
}

#[derive(FromRow)]
struct SeatDb {
    deputy_id: i64,
    level: String,
    term: String,
    delegation: String,
    constituency: String,
}

fn level_rank(l: CongressLevel) -> usize {
    CongressLevel::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

fn deputy_row(keys: &Keys, d: DeputyDb, seats: Vec<SeatDb>) -> DbResult<DeputyRow> {
    let mut seats: Vec<CongressSeat> = seats
        .into_iter()
        .filter_map(|s| {
            Some(CongressSeat {
                level: CongressLevel::parse(&s.level)?,
                term: s.term,
                delegation: s.delegation,
                constituency: s.constituency,
            })
        })
        .collect();
    seats.sort_by_key(|s| level_rank(s.level));
    Ok(DeputyRow {
        code: d.code,
        name: d.name,
        gender: d.gender,
        birth_year: d.birth_year,
        party: d.party,
        occupation: d.occupation,
        seats,
        region_code: d.region_code,
        station_code: d.station_code,
        public_profile: d.public_profile,
        phone: keys.decrypt(&d.phone_enc)?,
        email: keys.decrypt(&d.email_enc)?,
    })
}

const DEPUTY_ROWS: &str = "SELECT d.id, d.code, d.name, d.gender, d.birth_year, d.party, \
    d.occupation, r.code AS region_code, s.code AS station_code, d.public_profile, d.phone_enc, \
    d.email_enc FROM deputy d JOIN region r ON r.id = d.region_id \
    LEFT JOIN station s ON s.id = d.station_id";

async fn read_deputy(tx: &mut Tx, keys: &Keys, code: &str) -> DbResult<Option<DeputyRow>> {
    let d: Option<DeputyDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT d.id, d.code, d.name, d.gender, d.birth_year, d.party, \
         d.occupation, r.code AS region_code, s.code AS station_code, d.public_profile, d.phone_enc, \
         d.email_enc FROM deputy d JOIN region r ON r.id = d.region_id \
         LEFT JOIN station s ON s.id = d.station_id WHERE d.code = $1")
        .bind(code).fetch_optional(t).await)?;
    let Some(d) = d else { return Ok(None) };
    let seats: Vec<SeatDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT deputy_id, level, term, delegation, constituency FROM deputy_seat WHERE deputy_id = $1")
        .bind(d.id).fetch_all(t).await)?;
    deputy_row(keys, d, seats).map(Some)
}

#[derive(FromRow)]
struct MemberDb {
    station_code: String,
    role: String,
    name: String,
    phone_enc: String,
    deputy_code: Option<String>,
}

impl MemberDb {
    fn into_row(self, keys: &Keys) -> DbResult<StationMemberRow> {
        Ok(StationMemberRow {
            station_code: self.station_code,
            role: StationRole::parse(&self.role).unwrap_or(StationRole::LiaisonOfficer),
            name: self.name,
            phone: keys.decrypt(&self.phone_enc)?,
            deputy_code: self.deputy_code,
        })
    }
}

async fn read_station_members(
    tx: &mut Tx,
    keys: &Keys,
    station_id: Option<i64>,
) -> DbResult<Vec<StationMemberRow>> {
    let rows: Vec<MemberDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT s.code AS station_code, m.role, m.name, m.phone_enc, d.code AS deputy_code \
         FROM station_member m JOIN station s ON s.id = m.station_id \
         LEFT JOIN deputy d ON d.id = m.deputy_id WHERE ($1 IS NULL OR m.station_id = $1) \
         ORDER BY m.station_id, m.sort, m.id")
        .bind(station_id).fetch_all(t).await)?;
    rows.into_iter().map(|r| r.into_row(keys)).collect()
}

#[derive(FromRow)]
struct UnitDb {
    code: String,
    name: String,
    kind: String,
    region_code: String,
    phone: String,
}

impl From<UnitDb> for UnitRow {
    fn from(u: UnitDb) -> Self {
        UnitRow {
            code: u.code,
            name: u.name,
            kind: UnitKind::parse(&u.kind).unwrap_or(UnitKind::GovernmentDepartment),
            region_code: u.region_code,
            phone: u.phone,
        }
    }
}

const UNIT_ROWS: &str = "SELECT u.code, u.name, u.kind, r.code AS region_code, u.phone \
    FROM handling_unit u JOIN region r ON r.id = u.region_id";

async fn read_unit(tx: &mut Tx, code: &str) -> DbResult<Option<UnitRow>> {
    let r: Option<UnitDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT u.code, u.name, u.kind, r.code AS region_code, u.phone \
         FROM handling_unit u JOIN region r ON r.id = u.region_id WHERE u.code = $1")
        .bind(code).fetch_optional(t).await)?;
    Ok(r.map(Into::into))
}

#[derive(FromRow)]
struct GridDb {
    id: i64,
    code: String,
    name: String,
    region_code: String,
    station_code: String,
    worker_name: String,
    worker_phone_enc: String,
}

async fn read_grid(tx: &mut Tx, keys: &Keys, code: &str) -> DbResult<Option<GridRow>> {
    let g: Option<GridDb> = on_tx!(tx, t => sqlx::query_as(
        "SELECT g.id, g.code, g.name, r.code AS region_code, s.code AS station_code, g.worker_name, \
         g.worker_phone_enc FROM grid g JOIN region r ON r.id = g.region_id \
         JOIN station s ON s.id = g.station_id WHERE g.code = $1")
        .bind(code).fetch_optional(t).await)?;
    let Some(g) = g else { return Ok(None) };
    let codes: Vec<String> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT d.code FROM grid_deputy gd JOIN deputy d ON d.id = gd.deputy_id WHERE gd.grid_id = $1 ORDER BY d.code")
        .bind(g.id).fetch_all(t).await)?;
    Ok(Some(GridRow {
        code: g.code,
        name: g.name,
        region_code: g.region_code,
        station_code: g.station_code,
        worker_name: g.worker_name,
        worker_phone: keys.decrypt(&g.worker_phone_enc)?,
        deputy_codes: codes,
    }))
}

/// Reads the organisation inside `scope` back as a dataset (for export). Accounts carry no
/// password. Private fields are decrypted: the caller decides whether to mask them.
pub async fn export_dataset(
    db: &Db,
    keys: &Keys,
    scope: &liaison_core::scope::Scope,
) -> DbResult<Dataset> {
    use crate::sql::ScopeColumns;
    let region_cols = |path: &'static str| ScopeColumns {
        region_path: Some(path),
        ..Default::default()
    };

    let mut s = Sql::new(REGION_ROWS);
    s.push(" WHERE 1=1")
        .scope_filter(scope, region_cols("r.path"))
        .push(" ORDER BY r.path, r.code");
    let regions: Vec<RegionDb> = s.fetch_all(db).await?;

    let mut s = Sql::new(STATION_ROWS);
    s.push(" WHERE 1=1")
        .scope_filter(
            scope,
            ScopeColumns {
                region_path: Some("r.path"),
                station_id: Some("s.id"),
                ..Default::default()
            },
        )
        .push(" ORDER BY s.parent_id IS NOT NULL, s.parent_id, s.id");
    let stations: Vec<StationDb> = s.fetch_all(db).await?;

    let mut s = Sql::new(DEPUTY_ROWS);
    s.push(" WHERE 1=1")
        .scope_filter(
            scope,
            ScopeColumns {
                region_path: Some("r.path"),
                station_id: Some("d.station_id"),
                deputy_id: Some("d.id"),
                ..Default::default()
            },
        )
        .push(" ORDER BY d.code");
    let deputies_db: Vec<DeputyDb> = s.fetch_all(db).await?;
    let seats: Vec<SeatDb> = on_db!(db, p => sqlx::query_as(
        "SELECT deputy_id, level, term, delegation, constituency FROM deputy_seat ORDER BY deputy_id")
        .fetch_all(p).await)?;
    let mut seats_by: HashMap<i64, Vec<SeatDb>> = HashMap::new();
    for s in seats {
        seats_by.entry(s.deputy_id).or_default().push(s);
    }
    let mut deputies = Vec::with_capacity(deputies_db.len());
    for d in deputies_db {
        let seats = seats_by.remove(&d.id).unwrap_or_default();
        deputies.push(deputy_row(keys, d, seats)?);
    }

    let station_codes: std::collections::HashSet<&str> =
        stations.iter().map(|s| s.code.as_str()).collect();
    let mut tx = db.begin().await?;
    let members: Vec<StationMemberRow> = read_station_members(&mut tx, keys, None)
        .await?
        .into_iter()
        .filter(|m| station_codes.contains(m.station_code.as_str()))
        .collect();
    let grid_codes: Vec<String> = on_tx!(tx, t => sqlx::query_scalar(
        "SELECT g.code FROM grid g JOIN station s ON s.id = g.station_id ORDER BY g.code")
        .fetch_all(t).await)?;
    let mut grids = Vec::new();
    for code in grid_codes {
        if let Some(g) = read_grid(&mut tx, keys, &code).await?
            && station_codes.contains(g.station_code.as_str())
        {
            grids.push(g);
        }
    }
    drop(tx);

    let mut s = Sql::new(UNIT_ROWS);
    s.push(" WHERE 1=1")
        .scope_filter(
            scope,
            ScopeColumns {
                region_path: Some("r.path"),
                unit_id: Some("u.id"),
                ..Default::default()
            },
        )
        .push(" ORDER BY u.code");
    let units: Vec<UnitDb> = s.fetch_all(db).await?;

    let mut users = Vec::new();
    loop {
        let page = users::list(
            db,
            scope,
            &users::UserQuery {
                limit: 1000,
                after_id: users.last().map(|u: &users::User| u.id),
                ..Default::default()
            },
        )
        .await?;
        let last_page = page.len() < 1000;
        users.extend(page);
        if last_page {
            break;
        }
    }
    let accounts = users
        .into_iter()
        .map(|u| AccountRow {
            role: u.role(),
            username: u.username,
            display_name: u.display_name,
            scope: u.scope_code,
            phone: String::new(),
            password: String::new(),
        })
        .collect();

    Ok(Dataset {
        regions: regions.into_iter().map(Into::into).collect(),
        stations: stations.into_iter().map(Into::into).collect(),
        station_members: members,
        deputies,
        units: units.into_iter().map(Into::into).collect(),
        grids,
        accounts,
    })
}

impl From<sqlx::Error> for LoadError {
    fn from(e: sqlx::Error) -> Self {
        LoadError::Db(e.into())
    }
}
