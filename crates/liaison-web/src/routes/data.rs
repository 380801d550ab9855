//! Import and export of the organisation as Excel (.xlsx) and CSV, from the workbench.
//!
//! An import is checked row by row (file format by `liaison_docs`, references and scope here and
//! in the loader) and lands whole or not at all. Exports are of the user's scope; personal data
//! is masked unless the user states a purpose, which is audited.

use crate::AppState;
use crate::auth::{CsrfForm, Staff, tokens_match};
use crate::error::{PageError, PageResult};
use crate::layout::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::response::Response;
use axum::routing::{get, post};
use liaison_core::dataset::{Dataset, RowError, SheetKind};
use liaison_core::role::Role;
use liaison_core::scope::Scope;
use liaison_db::audit::{self, Entry};
use liaison_db::{directory, org};
use serde::Deserialize;
use std::collections::HashMap;

/// Import/export routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/work/data", get(data_page))
        .route("/work/data/import", post(import))
        .route("/work/data/export", post(export))
        .route("/work/data/template.xlsx", get(template))
}

const DATA_ROLES: &[Role] = &[
    Role::SystemAdmin,
    Role::CityStaff,
    Role::CountyStaff,
    Role::TownshipStaff,
];

#[derive(Template)]
#[template(path = "data/index.html")]
struct DataPage {
    layout: Layout,
    errors: Vec<RowError>,
    file_error: Option<String>,
    summary: Option<String>,
    credentials: Vec<(String, String, String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

fn data_page_with(staff: &Staff) -> DataPage {
    DataPage {
        layout: Layout::staff(staff, "导入导出", "data"),
        errors: Vec::new(),
        file_error: None,
        summary: None,
        credentials: Vec::new(),
        kinds: SheetKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
    }
}

/// `GET /work/data`.
async fn data_page(staff: Staff) -> PageResult {
    staff.require(DATA_ROLES)?;
    render(&data_page_with(&staff))
}

/// `GET /work/data/template.xlsx`.
async fn template(staff: Staff) -> PageResult<Response> {
    staff.require(DATA_ROLES)?;
    let bytes = tokio::task::spawn_blocking(liaison_docs::template_xlsx)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(xlsx_response(bytes, "组织数据导入模板.xlsx"))
}

fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    crate::routes::xlsx_download(bytes, "liaison.xlsx", filename)
}

/// The rows of one sheet as (code, region code), with the name of its code column.
type CodedRows<'a> = (SheetKind, Vec<(&'a str, &'a str)>, &'static str);

/// Rows whose region lies outside the user's scope, and account rows from users who may not
/// manage accounts.
async fn scope_errors(
    state: &AppState,
    staff: &Staff,
    data: &Dataset,
) -> PageResult<Vec<RowError>> {
    let scope = staff.auth.scope();
    let mut errors = Vec::new();
    for (i, a) in data.accounts.iter().enumerate() {
        if a.role.is_separated_admin() {
            errors.push(RowError {
                sheet: SheetKind::Accounts,
                row: i + 2,
                column: "角色".into(),
                message: liaison_core::role::SEPARATED_ADMIN_REFUSAL.into(),
            });
        }
    }
    if !data.accounts.is_empty() && !staff.auth.role().may_manage_accounts() {
        errors.push(RowError {
            sheet: SheetKind::Accounts,
            row: 1,
            column: "用户名".into(),
            message: "账号只能由系统管理员或安全管理员导入，请删除“账号”工作表后再导入".into(),
        });
    }
    let prefix = match &scope {
        Scope::Everything => return Ok(errors),
        Scope::RegionSubtree(p) => p.clone(),
        _ => {
            errors.push(RowError {
                sheet: SheetKind::Regions,
                row: 1,
                column: "区划代码".into(),
                message: "您的角色不能导入组织数据".into(),
            });
            return Ok(errors);
        }
    };
    // A region code is inside the scope if it is stored under the scope, or if the file defines
    // it under a parent that is.
    let file_parents: HashMap<&str, Option<&str>> = data
        .regions
        .iter()
        .map(|r| (r.code.as_str(), r.parent_code.as_deref()))
        .collect();
    let mut cache: HashMap<String, bool> = HashMap::new();
    let mut inside = async |code: &str| -> PageResult<bool> {
        if let Some(v) = cache.get(code) {
            return Ok(*v);
        }
        let mut cur = Some(code.to_owned());
        let mut hops = 0;
        let mut result = false;
        while let Some(c) = cur.take() {
            hops += 1;
            if hops > 10 {
                break;
            }
            if let Some(r) = directory::region_by_code(&state.db, &c).await? {
                result = r.path.starts_with(&prefix);
                break;
            }
            cur = file_parents
                .get(c.as_str())
                .copied()
                .flatten()
                .map(str::to_owned);
        }
        cache.insert(code.to_owned(), result);
        Ok(result)
    };
    let msg = |code: &str| format!("区划“{code}”不在您的工作范围内，不能导入该行");
    // A row whose code is already stored overwrites that record: the stored record must be
    // inside the scope too, or a county could take over another county's records by code.
    let stored = async |sheet: SheetKind, codes: Vec<&str>| {
        org::stored_paths(&state.db, sheet, &codes).await
    };
    let taken = |code: &str| format!("编码“{code}”已被您工作范围以外的记录使用，不能导入该行");
    let regions_now = stored(
        SheetKind::Regions,
        data.regions.iter().map(|r| r.code.as_str()).collect(),
    )
    .await?;
    for (i, r) in data.regions.iter().enumerate() {
        let parent_ok = match r.parent_code.as_deref() {
            Some(p) => inside(p).await?,
            None => false,
        };
        let problem = match regions_now.get(&r.code) {
            Some(path) if !path.starts_with(&prefix) => Some(("区划代码", taken(&r.code))),
            // The root of the scope itself keeps its parent: nobody moves their own region.
            Some(path) if *path == prefix && !same_parent(state, r).await? => Some((
                "上级区划代码",
                format!("不能更改您所辖区划“{}”的上级区划", r.code),
            )),
            Some(path) if *path == prefix => None,
            _ if !parent_ok => Some(("上级区划代码", msg(&r.code))),
            _ => None,
        };
        if let Some((column, message)) = problem {
            errors.push(RowError {
                sheet: SheetKind::Regions,
                row: i + 2,
                column: column.into(),
                message,
            });
        }
    }
    // Each row's new region must be inside the scope, and so must the stored record its code
    // names, if there is one.
    let rows: [CodedRows<'_>; 4] = [
        (
            SheetKind::Stations,
            data.stations
                .iter()
                .map(|x| (x.code.as_str(), x.region_code.as_str()))
                .collect(),
            "站点编码",
        ),
        (
            SheetKind::Deputies,
            data.deputies
                .iter()
                .map(|x| (x.code.as_str(), x.region_code.as_str()))
                .collect(),
            "代表编码",
        ),
        (
            SheetKind::Units,
            data.units
                .iter()
                .map(|x| (x.code.as_str(), x.region_code.as_str()))
                .collect(),
            "单位编码",
        ),
        (
            SheetKind::Grids,
            data.grids
                .iter()
                .map(|x| (x.code.as_str(), x.region_code.as_str()))
                .collect(),
            "网格编码",
        ),
    ];
    for (sheet, rows, code_column) in rows {
        let now = stored(sheet, rows.iter().map(|r| r.0).collect()).await?;
        for (i, (code, region)) in rows.into_iter().enumerate() {
            if !inside(region).await? {
                errors.push(RowError {
                    sheet,
                    row: i + 2,
                    column: "所属区划代码".into(),
                    message: msg(region),
                });
            }
            if now.get(code).is_some_and(|path| !path.starts_with(&prefix)) {
                errors.push(RowError {
                    sheet,
                    row: i + 2,
                    column: code_column.into(),
                    message: taken(code),
                });
            }
        }
    }
    // Stations that rows refer to — a room's parent station, a deputy's station, a grid's
    // station, a member's station — must be inside the scope too, whether the file defines
    // them or they are stored. A station above the scope (a county hub's parent, the city
    // centre) may be named as a parent or a deputy's station: that changes nothing of it. A
    // member is only ever added inside the scope.
    let station_regions: HashMap<&str, &str> = data
        .stations
        .iter()
        .map(|s| (s.code.as_str(), s.region_code.as_str()))
        .collect();
    let mut references: Vec<(SheetKind, usize, &str, &str)> = Vec::new();
    for (i, x) in data.stations.iter().enumerate() {
        if let Some(p) = &x.parent_code {
            references.push((SheetKind::Stations, i, p, "上级站点编码"));
        }
    }
    for (i, x) in data.deputies.iter().enumerate() {
        if let Some(st) = &x.station_code {
            references.push((SheetKind::Deputies, i, st, "进驻站点编码"));
        }
    }
    for (i, x) in data.grids.iter().enumerate() {
        references.push((SheetKind::Grids, i, &x.station_code, "站点编码"));
    }
    for (i, x) in data.station_members.iter().enumerate() {
        references.push((SheetKind::StationMembers, i, &x.station_code, "站点编码"));
    }
    let stored_stations = stored(
        SheetKind::Stations,
        references
            .iter()
            .map(|r| r.2)
            .filter(|c| !c.is_empty() && !station_regions.contains_key(c))
            .collect(),
    )
    .await?;
    for (sheet, i, code, column) in references {
        let ok = match station_regions.get(code) {
            Some(region) => inside(region).await?,
            // An unknown station is reported by the import itself, with its own message.
            None => stored_stations.get(code).is_none_or(|path| {
                path.starts_with(&prefix)
                    || sheet != SheetKind::StationMembers && prefix.starts_with(path.as_str())
            }),
        };
        if !ok {
            errors.push(RowError {
                sheet,
                row: i + 2,
                column: column.into(),
                message: format!("站点“{code}”不在您的工作范围内，不能导入该行"),
            });
        }
    }
    Ok(errors)
}

/// Whether an import row for the region at the root of the importer's scope names the parent
/// it already has.
async fn same_parent(state: &AppState, row: &liaison_core::dataset::RegionRow) -> PageResult<bool> {
    let Some(stored) = directory::region_by_code(&state.db, &row.code).await? else {
        return Ok(true);
    };
    let parent = match stored.parent_id {
        Some(id) => Some(directory::region(&state.db, id).await?.code),
        None => None,
    };
    Ok(parent.as_deref() == row.parent_code.as_deref())
}

/// `POST /work/data/import` (multipart: `_csrf`, `kind` for CSV, `file`).
async fn import(State(state): State<AppState>, staff: Staff, mut mp: Multipart) -> PageResult {
    staff.require(DATA_ROLES)?;
    let mut csrf = String::new();
    let mut kind = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| PageError::BadRequest(format!("上传内容无法读取：{e}")))?
    {
        match field.name() {
            Some("_csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("kind") => kind = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| PageError::BadRequest(format!("文件上传失败：{e}")))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    if !tokens_match(&csrf, staff.ctx.csrf()) {
        return Err(PageError::Csrf);
    }
    let mut page = data_page_with(&staff);
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        page.file_error = Some("请选择要导入的 Excel（.xlsx）或 CSV 文件".into());
        return render(&page);
    };
    let lower = name.to_lowercase();
    let parsed = if lower.ends_with(".csv") {
        let Some(k) = SheetKind::parse(&kind) else {
            page.file_error = Some("导入 CSV 文件时请选择数据类别（如“联络站”“代表”）".into());
            return render(&page);
        };
        tokio::task::spawn_blocking(move || liaison_docs::read_csv(k, &bytes)).await
    } else {
        tokio::task::spawn_blocking(move || liaison_docs::read_xlsx(&bytes)).await
    }
    .map_err(|e| PageError::Internal(e.to_string()))?;
    let data = match parsed {
        Ok(d) => d,
        Err(liaison_docs::ImportError::Rows(rows)) => {
            page.errors = rows;
            return render(&page);
        }
        Err(liaison_docs::ImportError::File(msg)) => {
            page.file_error = Some(msg);
            return render(&page);
        }
    };
    let errs = scope_errors(&state, &staff, &data).await?;
    if !errs.is_empty() {
        page.errors = errs;
        return render(&page);
    }
    match liaison_db::org::load_dataset(
        &state.db,
        &state.keys,
        &staff.ctx.actor(),
        &data,
        &mut |_, _| {},
    )
    .await
    {
        Ok(report) => {
            page.summary = Some(format!(
                "导入成功：{}。所有变更已记入审计日志。",
                report.summary()
            ));
            page.credentials = report.generated_credentials;
        }
        Err(liaison_db::org::LoadError::Rows(rows)) => page.errors = rows,
        Err(liaison_db::org::LoadError::Db(e)) => return Err(e.into()),
    }
    render(&page)
}

#[derive(Deserialize)]
struct ExportForm {
    #[serde(default)]
    include_private: Option<String>,
    #[serde(default)]
    purpose: String,
}

/// `POST /work/data/export` — the scope's organisation as .xlsx.
async fn export(
    State(state): State<AppState>,
    staff: Staff,
    CsrfForm(form): CsrfForm<ExportForm>,
) -> PageResult<Response> {
    staff.require(DATA_ROLES)?;
    let include_private = form.include_private.is_some();
    if include_private && form.purpose.trim().is_empty() {
        let mut page = data_page_with(&staff);
        page.file_error = Some("导出含个人联系方式的数据时，请填写导出事由".into());
        return render(&page);
    }
    let scope = staff.auth.scope();
    let mut data = liaison_db::org::export_dataset(&state.db, &state.keys, &scope).await?;
    if !staff.auth.role().may_manage_accounts() {
        data.accounts.clear();
    }
    let counts = format!(
        "区划{}、站点{}、代表{}、承办单位{}、网格{}",
        data.regions.len(),
        data.stations.len(),
        data.deputies.len(),
        data.units.len(),
        data.grids.len()
    );
    let mut tx = state.db.begin().await?;
    audit::append(
        &mut tx,
        &state.keys,
        &staff.ctx.actor(),
        Entry {
            action: if include_private {
                "export_private"
            } else {
                "export"
            },
            entity: "dataset",
            entity_id: staff
                .auth
                .user
                .scope_code
                .clone()
                .unwrap_or_else(|| "all".into()),
            summary: if include_private {
                format!(
                    "导出组织数据（含个人联系方式），事由：{}；{counts}",
                    form.purpose.trim()
                )
            } else {
                format!("导出组织数据（个人信息已遮蔽）；{counts}")
            },
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    let opts = liaison_docs::ExportOptions {
        include_private,
        all_sheets: true,
    };
    let bytes = tokio::task::spawn_blocking(move || liaison_docs::write_xlsx(&data, &opts))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(xlsx_response(bytes, "组织数据导出.xlsx"))
}
