//! The organisation as Excel workbooks and CSV files: import, export and the import template.
//!
//! A workbook holds one sheet per [`SheetKind`], named by its Chinese label (行政区划, 联络站, …)
//! or English code (`regions`, `stations`, …); a CSV file holds one kind. Row 1 holds the column
//! names — Chinese (区划代码) or English (`code`), in any order; extra columns are ignored.
//! Choice columns take the Chinese label or the English code.
//!
//! Import checks every row and returns every problem at once with sheet, row and column as the
//! clerk sees them in Excel, so one round of corrections is enough. References to codes that may
//! already be in the database (a station's region, say) are checked by the database loader, not
//! here; duplicates inside one sheet are caught here.
//!
//! Special cells:
//! - 代表层级 (`seats`): see [`SEATS_FORMAT`].
//! - 联系代表编码 (`deputy_codes`): codes separated by `；` `;` `、` `，` or `,`; written with `；`.
//!
//! Exports of personal data are a privileged, audited act decided by the caller: unless
//! [`ExportOptions::include_private`] is set, private phones are written as `138****5678` and
//! e-mail as `z***@example.com`. Initial passwords are never written.

mod columns;
mod read;
mod write;

use liaison_core::dataset::{Dataset, RowError, SheetKind};
use read::Progress;

/// The format of a 代表层级 (`seats`) cell, one deputy's congress seats.
///
/// Each seat is `层级|届次|代表团|选区`; seats are separated by `；`, `;` or a line break. The
/// level is a [`CongressLevel`](liaison_core::org::CongressLevel) label or code and the term is
/// required; delegation and constituency may be empty, and empty trailing parts may be left
/// out. The full-width `｜` is accepted for `|`. Exports write `；` between seats and replace any
/// separator found inside a part by `/`, so the cell always reads back as it was written.
pub const SEATS_FORMAT: &str = "层级|届次|代表团|选区；层级|届次|代表团|选区";

/// What an export includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Write private phone numbers and e-mail in full; otherwise they are masked. Setting this
    /// is the caller's privileged, audited decision.
    pub include_private: bool,
    /// Write every sheet, even those without rows (an export with no rows at all always does,
    /// so that the file still shows the headers).
    pub all_sheets: bool,
}

/// Why an import file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file was read, but some rows have problems; nothing should be imported.
    #[error("导入文件有{}处问题，请按提示修改后重新导入：{}", .0.len(), summary(.0))]
    Rows(Vec<RowError>),
    /// The file cannot be used at all; the message says what to do.
    #[error("{0}")]
    File(String),
}

impl ImportError {
    /// The row problems, if that is what this error is.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ImportError::Rows(errors) => errors,
            ImportError::File(_) => &[],
        }
    }
}

/// The first few problems, for a one-line message; callers show the full list from
/// [`ImportError::row_errors`].
fn summary(errors: &[RowError]) -> String {
    const SHOWN: usize = 3;
    let mut text = errors
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("；");
    if errors.len() > SHOWN {
        text.push_str(&format!("；等共{}处", errors.len()));
    }
    text
}

/// The Chinese column headers of a sheet, in the order exports write them.
pub fn headers(kind: SheetKind) -> &'static [&'static str] {
    columns::header_labels(kind)
}

/// Reads every known sheet present in a workbook (sheet named by [`SheetKind::label`] or
/// [`SheetKind::code`]); other sheets are ignored. calamine also reads `.xls`, `.xlsb` and `.ods`.
///
/// # Errors
///
/// [`ImportError::File`] when the file is not a workbook or has no known sheet;
/// [`ImportError::Rows`] with every problem found (row numbers as Excel shows them, header = 1).
pub fn read_xlsx(bytes: &[u8]) -> Result<Dataset, ImportError> {
    read_xlsx_with_progress(bytes, &mut |_, _| {})
}

/// [`read_xlsx`], calling `progress(rows_done, rows_total)` after each row for a progress bar.
///
/// # Errors
///
/// As [`read_xlsx`].
pub fn read_xlsx_with_progress(
    bytes: &[u8],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Dataset, ImportError> {
    let tables = read::workbook_tables(bytes)?;
    let total = tables.iter().map(|(_, t)| t.data_rows()).sum();
    let mut progress = Progress {
        done: 0,
        total,
        report: progress,
    };
    let mut data = Dataset::default();
    let mut errors = Vec::new();
    for (kind, table) in &tables {
        read::parse_table(*kind, table, &mut data, &mut errors, &mut progress);
    }
    progress.finish();
    finish(data, errors)
}

/// Reads one CSV file of `kind` into the matching field of a [`Dataset`]. UTF-8 (with or
/// without BOM), UTF-16 with BOM, and GBK/GB18030 — what Excel on Chinese Windows saves as
/// "CSV" — are all accepted; tab-separated text is accepted too.
///
/// # Errors
///
/// As [`read_xlsx`].
pub fn read_csv(kind: SheetKind, bytes: &[u8]) -> Result<Dataset, ImportError> {
    read_csv_with_progress(kind, bytes, &mut |_, _| {})
}

/// [`read_csv`], calling `progress(rows_done, rows_total)` after each row.
///
/// # Errors
///
/// As [`read_xlsx`].
pub fn read_csv_with_progress(
    kind: SheetKind,
    bytes: &[u8],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Dataset, ImportError> {
    let table = read::csv_table(bytes)?;
    let mut progress = Progress {
        done: 0,
        total: table.data_rows(),
        report: progress,
    };
    let mut data = Dataset::default();
    let mut errors = Vec::new();
    read::parse_table(kind, &table, &mut data, &mut errors, &mut progress);
    progress.finish();
    finish(data, errors)
}

fn finish(data: Dataset, errors: Vec<RowError>) -> Result<Dataset, ImportError> {
    if errors.is_empty() {
        Ok(data)
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// Writes the dataset as a workbook: one sheet per kind that has rows (all sheets with
/// [`ExportOptions::all_sheets`]), Chinese headers in a bold frozen row, every cell as text so
/// codes and phone numbers keep their digits, drop-downs on choice columns.
///
/// # Errors
///
/// [`DocError::Xlsx`](crate::DocError::Xlsx) if the writer fails (a value longer than an Excel
/// cell allows).
pub fn write_xlsx(data: &Dataset, opts: &ExportOptions) -> Result<Vec<u8>, crate::DocError> {
    write::workbook(data, opts)
}

/// Writes one kind as CSV, UTF-8 with BOM so that Excel shows the Chinese correctly.
///
/// # Errors
///
/// [`DocError::Csv`](crate::DocError::Csv) if the writer fails.
pub fn write_csv(
    kind: SheetKind,
    data: &Dataset,
    opts: &ExportOptions,
) -> Result<Vec<u8>, crate::DocError> {
    write::csv(kind, data, opts)
}

/// The empty import template: a 说明 sheet explaining every column with an example, then every
/// sheet with its headers (each with a note), text-formatted cells and drop-downs.
///
/// # Errors
///
/// [`DocError::Xlsx`](crate::DocError::Xlsx) if the writer fails.
pub fn template_xlsx() -> Result<Vec<u8>, crate::DocError> {
    write::template()
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::dataset::{
        AccountRow, CongressSeat, DeputyRow, GridRow, RegionRow, StationMemberRow, StationRow,
        UnitRow,
    };
    use liaison_core::org::{CongressLevel, RegionLevel, StationRole, StationTier, UnitKind};
    use liaison_core::role::Role;
    use rust_xlsxwriter::Workbook;

    const PRIVATE: ExportOptions = ExportOptions {
        include_private: true,
        all_sheets: false,
    };

    fn sample() -> Dataset {
        Dataset {
            regions: vec![
                RegionRow {
                    code: "331000".into(),
                    name: "台州市".into(),
                    level: RegionLevel::City,
                    parent_code: None,
                },
                RegionRow {
                    code: "331002".into(),
                    name: "椒江区".into(),
                    level: RegionLevel::County,
                    parent_code: Some("331000".into()),
                },
                RegionRow {
                    code: "331002001".into(),
                    name: "海门街道".into(),
                    level: RegionLevel::Township,
                    parent_code: Some("331002".into()),
                },
            ],
            stations: vec![
                StationRow {
                    code: "JJ-ZZ".into(),
                    name: "椒江区人大代表联络总站".into(),
                    tier: StationTier::CountyHub,
                    region_code: "331002".into(),
                    parent_code: None,
                    address: "椒江区市府大道1号".into(),
                    opening_hours: "周一至周五 8:30-17:00".into(),
                    reception_schedule: "每月15日代表接待日".into(),
                    phone: "0576-88123456".into(),
                    intro: "第一行\n第二行，含“引号”和逗号,".into(),
                },
                StationRow {
                    code: "JJ-HM01".into(),
                    name: "椒江区海门街道人大代表联络站".into(),
                    tier: StationTier::TownshipStation,
                    region_code: "331002001".into(),
                    parent_code: Some("JJ-ZZ".into()),
                    address: String::new(),
                    opening_hours: String::new(),
                    reception_schedule: String::new(),
                    phone: String::new(),
                    intro: String::new(),
                },
            ],
            station_members: vec![StationMemberRow {
                station_code: "JJ-HM01".into(),
                role: StationRole::Head,
                name: "王小红".into(),
                phone: "13812345678".into(),
                deputy_code: Some("D0001".into()),
            }],
            deputies: vec![
                DeputyRow {
                    code: "D0001".into(),
                    name: "张三".into(),
                    gender: "男".into(),
                    birth_year: Some(1975),
                    party: "中共党员".into(),
                    occupation: "台州市某某有限公司总经理".into(),
                    seats: vec![
                        CongressSeat {
                            level: CongressLevel::City,
                            term: "第六届".into(),
                            delegation: "椒江代表团".into(),
                            constituency: "海门街道第3选区".into(),
                        },
                        CongressSeat {
                            level: CongressLevel::County,
                            term: "第十八届".into(),
                            delegation: String::new(),
                            constituency: "海门街道第3选区".into(),
                        },
                    ],
                    region_code: "331002".into(),
                    station_code: Some("JJ-HM01".into()),
                    public_profile: "每月15日在海门街道联络站接待群众".into(),
                    phone: "13912345678".into(),
                    email: "zhangsan@example.com".into(),
                },
                DeputyRow {
                    code: "D0002".into(),
                    name: "李四".into(),
                    gender: String::new(),
                    birth_year: None,
                    party: String::new(),
                    occupation: String::new(),
                    seats: vec![CongressSeat {
                        level: CongressLevel::Township,
                        term: "第十八届".into(),
                        delegation: String::new(),
                        constituency: String::new(),
                    }],
                    region_code: "331002001".into(),
                    station_code: None,
                    public_profile: String::new(),
                    phone: String::new(),
                    email: String::new(),
                },
            ],
            units: vec![UnitRow {
                code: "TZ-ZJJ".into(),
                name: "台州市住房和城乡建设局".into(),
                kind: UnitKind::GovernmentDepartment,
                region_code: "331000".into(),
                phone: "0576-88223344".into(),
            }],
            grids: vec![GridRow {
                code: "JJ-HM-DS01".into(),
                name: "海门街道东山社区第1网格".into(),
                region_code: "331002001001".into(),
                station_code: "JJ-HM01".into(),
                worker_name: "赵六".into(),
                worker_phone: "13712345678".into(),
                deputy_codes: vec!["D0001".into(), "D0002".into()],
            }],
            accounts: vec![
                AccountRow {
                    username: "hm.wangxh".into(),
                    display_name: "王小红".into(),
                    role: Role::StationStaff,
                    scope: Some("JJ-HM01".into()),
                    phone: "13812345678".into(),
                    password: String::new(),
                },
                AccountRow {
                    username: "admin".into(),
                    display_name: "系统管理员".into(),
                    role: Role::SystemAdmin,
                    scope: None,
                    phone: String::new(),
                    password: String::new(),
                },
            ],
        }
    }

    /// A workbook with one sheet of string cells, for feeding the reader what clerks type.
    fn workbook_with(sheet: &str, rows: &[&[&str]]) -> Vec<u8> {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name(sheet).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if !value.is_empty() {
                    ws.write_string(r as u32, c as u16, *value).unwrap();
                }
            }
        }
        book.save_to_buffer().unwrap()
    }

    fn csv_bytes(text: &str) -> Vec<u8> {
        text.as_bytes().to_vec()
    }

    #[test]
    fn a_dataset_survives_a_round_trip_through_xlsx() {
        let data = sample();
        let bytes = write_xlsx(&data, &PRIVATE).unwrap();
        assert_eq!(read_xlsx(&bytes).unwrap(), data);
    }

    #[test]
    fn every_kind_survives_a_round_trip_through_csv() {
        let data = sample();
        for kind in SheetKind::ALL {
            let bytes = write_csv(*kind, &data, &PRIVATE).unwrap();
            assert!(
                bytes.starts_with("\u{FEFF}".as_bytes()),
                "{kind:?} has a BOM"
            );
            let back = read_csv(*kind, &bytes).unwrap();
            let mut expected = Dataset::default();
            match kind {
                SheetKind::Regions => expected.regions = data.regions.clone(),
                SheetKind::Stations => expected.stations = data.stations.clone(),
                SheetKind::StationMembers => {
                    expected.station_members = data.station_members.clone();
                }
                SheetKind::Deputies => expected.deputies = data.deputies.clone(),
                SheetKind::Units => expected.units = data.units.clone(),
                SheetKind::Grids => expected.grids = data.grids.clone(),
                SheetKind::Accounts => expected.accounts = data.accounts.clone(),
            }
            assert_eq!(back, expected, "{kind:?}");
        }
    }

    #[test]
    fn an_export_without_private_data_masks_phones_and_email_and_never_has_passwords() {
        let mut data = sample();
        data.accounts[0].password = "Secret-Pass-2026".into();
        let open = String::from_utf8(
            write_csv(SheetKind::Deputies, &data, &ExportOptions::default()).unwrap(),
        )
        .unwrap();
        assert!(open.contains("139****5678"), "{open}");
        assert!(open.contains("z***@example.com"));
        assert!(!open.contains("13912345678"));

        let accounts =
            String::from_utf8(write_csv(SheetKind::Accounts, &data, &PRIVATE).unwrap()).unwrap();
        assert!(!accounts.contains("Secret-Pass-2026"));

        let stations = String::from_utf8(
            write_csv(SheetKind::Stations, &data, &ExportOptions::default()).unwrap(),
        )
        .unwrap();
        assert!(
            stations.contains("0576-88123456"),
            "public phones stay readable"
        );
    }

    #[test]
    fn an_export_has_only_the_sheets_with_rows_unless_all_are_asked_for() {
        let data = Dataset {
            regions: sample().regions,
            ..Dataset::default()
        };
        let some = write_xlsx(&data, &PRIVATE).unwrap();
        let names = sheet_names(&some);
        assert_eq!(names, vec!["行政区划"]);
        let all = write_xlsx(
            &data,
            &ExportOptions {
                all_sheets: true,
                ..PRIVATE
            },
        )
        .unwrap();
        assert_eq!(sheet_names(&all).len(), SheetKind::ALL.len());
        assert_eq!(read_xlsx(&all).unwrap(), data);
    }

    fn sheet_names(bytes: &[u8]) -> Vec<String> {
        use calamine::Reader;
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .unwrap()
            .sheet_names()
    }

    #[test]
    fn bad_rows_are_all_reported_with_sheet_row_column_and_chinese_message() {
        let bytes = workbook_with(
            "行政区划",
            &[
                &["区划代码", "名称", "层级", "上级区划代码"],
                &["331002", "椒江区", "县（市、区）", "331000"],
                &["33100", "", "乡", ""],
                &["331002", "椒江区二", "county", ""],
            ],
        );
        let err = read_xlsx(&bytes).unwrap_err();
        let errors = err.row_errors();
        let find = |row: usize, column: &str| {
            errors
                .iter()
                .find(|e| e.row == row && e.column == column)
                .unwrap_or_else(|| panic!("no error at row {row} column {column}: {errors:?}"))
        };
        assert!(find(3, "区划代码").message.contains("6至12位数字"));
        assert_eq!(find(3, "名称").message, "请填写名称");
        assert_eq!(
            find(3, "层级").message,
            "层级“乡”无法识别，可填：省、市、县（市、区）、乡镇（街道）、村（社区）"
        );
        assert!(find(4, "区划代码").message.contains("与第2行重复"));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().all(|e| e.sheet == SheetKind::Regions));
        assert!(err.to_string().starts_with("导入文件有4处问题"));
    }

    #[test]
    fn problems_in_every_kind_of_field_are_found() {
        let bytes = workbook_with(
            "代表",
            &[
                &[
                    "代表编码",
                    "姓名",
                    "性别",
                    "出生年份",
                    "代表层级",
                    "所属区划代码",
                    "手机号",
                    "电子邮箱",
                ],
                &[
                    "D 1",
                    "张三",
                    "未知",
                    "1850",
                    "县|第一届",
                    "331002",
                    "139****5678",
                    "zhangsan",
                ],
                &["D0002", "李四", "女", "1980", "市", "331002", "12345", ""],
                &[
                    "D0003",
                    "王五",
                    "男",
                    "1970",
                    "",
                    "331002",
                    "1.39123E+10",
                    "",
                ],
            ],
        );
        let errors = read_xlsx(&bytes).unwrap_err().row_errors().to_vec();
        let messages = |row: usize| -> Vec<String> {
            errors
                .iter()
                .filter(|e| e.row == row)
                .map(|e| format!("{}:{}", e.column, e.message))
                .collect()
        };
        let row2 = messages(2);
        assert!(
            row2.iter()
                .any(|m| m.starts_with("代表编码:") && m.contains("不是有效的编码")),
            "{row2:?}"
        );
        assert!(row2.iter().any(|m| m.starts_with("性别:")));
        assert!(
            row2.iter()
                .any(|m| m.starts_with("出生年份:") && m.contains("1900年"))
        );
        assert!(
            row2.iter()
                .any(|m| m.starts_with("代表层级:") && m.contains("层级“县”无法识别"))
        );
        assert!(
            row2.iter()
                .any(|m| m.starts_with("手机号:") && m.contains("脱敏"))
        );
        assert!(row2.iter().any(|m| m.starts_with("电子邮箱:")));
        let row3 = messages(3);
        assert!(
            row3.iter()
                .any(|m| m.starts_with("代表层级:") && m.contains("缺少届次")),
            "{row3:?}"
        );
        assert!(
            row3.iter()
                .any(|m| m.starts_with("手机号:") && m.contains("11位"))
        );
        let row4 = messages(4);
        assert!(
            row4.iter()
                .any(|m| m.starts_with("代表层级:") && m.contains("请填写代表层级")),
            "{row4:?}"
        );
        assert!(
            row4.iter()
                .any(|m| m.starts_with("手机号:") && m.contains("科学计数法"))
        );
    }

    #[test]
    fn a_missing_required_column_is_reported_once_on_the_header_row() {
        let bytes = workbook_with(
            "联络站",
            &[
                &["站点编码", "名称"],
                &["JJ-HM01", "海门站"],
                &["JJ-HM02", "东山站"],
            ],
        );
        let errors = read_xlsx(&bytes).unwrap_err().row_errors().to_vec();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.row == 1));
        assert_eq!(errors[0].column, "层级");
        assert!(errors[0].message.contains("缺少“层级”列"));
        assert_eq!(errors[1].column, "所属区划代码");
    }

    #[test]
    fn account_scope_must_match_the_role() {
        let bytes = workbook_with(
            "账号",
            &[
                &["用户名", "姓名", "角色", "绑定范围编码", "初始密码"],
                &["Admin", "管理员", "系统管理员", "331002", ""],
                &["jj.staff", "椒江", "county_staff", "", "short"],
                &["jj.staff", "椒江二", "县级工作人员", "JJ-ZZ", ""],
            ],
        );
        let errors = read_xlsx(&bytes).unwrap_err().row_errors().to_vec();
        let at =
            |row: usize, column: &str| errors.iter().any(|e| e.row == row && e.column == column);
        assert!(at(2, "用户名"), "upper case is not allowed: {errors:?}");
        assert!(at(2, "绑定范围编码"), "administrators are not bound");
        assert!(at(3, "绑定范围编码"), "county staff need a region");
        assert!(at(3, "初始密码"));
        assert!(at(4, "用户名"), "duplicate user name");
        assert!(at(4, "绑定范围编码"), "a station code is not a region code");
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn numeric_cells_read_back_as_integer_text() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("网格").unwrap();
        let headers = [
            "网格编码",
            "名称",
            "所属区划代码",
            "所属站点编码",
            "网格员",
            "网格员手机号",
            "联系代表编码",
        ];
        for (c, h) in headers.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_number(1, 0, 1001).unwrap();
        ws.write_string(1, 1, "东山社区第1网格").unwrap();
        ws.write_number(1, 2, 331002001001.0).unwrap();
        ws.write_string(1, 3, "JJ-HM01").unwrap();
        ws.write_string(1, 4, "赵六").unwrap();
        ws.write_number(1, 5, 13712345678.0).unwrap();
        ws.write_string(1, 6, "D0001、D0002;D0003").unwrap();
        let data = read_xlsx(&book.save_to_buffer().unwrap()).unwrap();
        let grid = &data.grids[0];
        assert_eq!(grid.code, "1001");
        assert_eq!(grid.region_code, "331002001001");
        assert_eq!(grid.worker_phone, "13712345678");
        assert_eq!(grid.deputy_codes, ["D0001", "D0002", "D0003"]);
    }

    #[test]
    fn english_headers_in_any_order_and_extra_columns_are_accepted() {
        let text = "Name,remark,CODE,level,parent_code\n椒江区,随便写,331002,county,331000\n";
        let data = read_csv(SheetKind::Regions, &csv_bytes(text)).unwrap();
        assert_eq!(
            data.regions,
            vec![RegionRow {
                code: "331002".into(),
                name: "椒江区".into(),
                level: RegionLevel::County,
                parent_code: Some("331000".into()),
            }]
        );
    }

    #[test]
    fn a_gbk_csv_from_chinese_excel_is_read() {
        let text = "单位编码,名称,类别,所属区划代码,联系电话\r\nTZ-ZJJ,台州市住房和城乡建设局,政府部门,331000,0576-88223344\r\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the test input really is not UTF-8"
        );
        let data = read_csv(SheetKind::Units, &gbk).unwrap();
        assert_eq!(data.units[0].name, "台州市住房和城乡建设局");
        assert_eq!(data.units[0].kind, UnitKind::GovernmentDepartment);
    }

    #[test]
    fn csv_row_numbers_count_the_header_as_row_one_and_skip_blank_rows() {
        let text = "区划代码,名称,层级\n331002,椒江区,县（市、区）\n,,\n331003,黄岩区,乡\n";
        let errors = read_csv(SheetKind::Regions, &csv_bytes(text))
            .unwrap_err()
            .row_errors()
            .to_vec();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].column.as_str()), (4, "层级"));
    }

    #[test]
    fn the_template_has_a_guide_and_every_sheet_and_reads_back_empty() {
        let bytes = template_xlsx().unwrap();
        let names = sheet_names(&bytes);
        assert_eq!(names[0], "说明");
        for kind in SheetKind::ALL {
            assert!(names.iter().any(|n| n == kind.label()), "{kind:?}");
        }
        assert_eq!(read_xlsx(&bytes).unwrap(), Dataset::default());
    }

    #[test]
    fn files_that_are_not_workbooks_get_a_chinese_explanation() {
        let err = read_xlsx(b"code,name\n").unwrap_err();
        assert!(
            matches!(&err, ImportError::File(m) if m.contains("另存为")),
            "{err}"
        );

        let err = read_xlsx(&workbook_with("Sheet1", &[&["a", "b"]])).unwrap_err();
        assert!(
            matches!(&err, ImportError::File(m) if m.contains("没有可识别的工作表")),
            "{err}"
        );
    }

    #[test]
    fn progress_is_reported_up_to_the_total() {
        let bytes = write_xlsx(&sample(), &PRIVATE).unwrap();
        let mut calls = Vec::new();
        read_xlsx_with_progress(&bytes, &mut |done, total| calls.push((done, total))).unwrap();
        let total = 3 + 2 + 1 + 2 + 1 + 1 + 2;
        assert_eq!(calls.len(), total);
        assert_eq!(calls.last(), Some(&(total, total)));
    }

    #[test]
    fn a_title_row_above_the_headers_keeps_row_numbers_as_excel_shows_them() {
        let bytes = workbook_with(
            "handling_units",
            &[
                &["", ""],
                &["椒江区承办单位名单"],
                &["*单位编码", "名称", "类别", "所属区划代码"],
                &["TZ-ZJJ", "台州市住房和城乡建设局", "政府部门", "331000"],
                &["TZ-JTJ", "台州市交通运输局", "部门", "331000"],
            ],
        );
        let errors = read_xlsx(&bytes).unwrap_err().row_errors().to_vec();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].column.as_str()), (5, "类别"));
        assert_eq!(errors[0].sheet, SheetKind::Units);
    }

    #[test]
    fn headers_are_the_chinese_column_names() {
        assert_eq!(
            headers(SheetKind::Regions),
            ["区划代码", "名称", "层级", "上级区划代码"]
        );
        assert_eq!(headers(SheetKind::Accounts).last(), Some(&"初始密码"));
    }
}
