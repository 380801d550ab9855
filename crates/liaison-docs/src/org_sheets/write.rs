//! Writing a [`Dataset`] as cell texts, and those texts as a workbook, a CSV file or the empty
//! import template.

use super::ExportOptions;
use super::columns::{Column, Privacy, TEMPLATE_RULES, columns};
use crate::DocError;
use liaison_core::dataset::{CongressSeat, Dataset, SheetKind};
use liaison_core::validate::mask_phone;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, FormatAlign, Note, Workbook, Worksheet,
};

/// The last row Excel has (0-based), for drop-downs that cover the whole column.
const LAST_ROW: u32 = 1_048_575;

/// The cells of one sheet, in the column order of [`columns`], with private columns masked or
/// blanked as `opts` says.
pub(crate) fn sheet_rows(
    kind: SheetKind,
    data: &Dataset,
    opts: &ExportOptions,
) -> Vec<Vec<String>> {
    let raw: Vec<Vec<String>> = match kind {
        SheetKind::Regions => data
            .regions
            .iter()
            .map(|r| {
                vec![
                    r.code.clone(),
                    r.name.clone(),
                    r.level.label().to_owned(),
                    r.parent_code.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        SheetKind::Stations => data
            .stations
            .iter()
            .map(|s| {
                vec![
                    s.code.clone(),
                    s.name.clone(),
                    s.tier.label().to_owned(),
                    s.region_code.clone(),
                    s.parent_code.clone().unwrap_or_default(),
                    s.address.clone(),
                    s.opening_hours.clone(),
                    s.reception_schedule.clone(),
                    s.phone.clone(),
                    s.intro.clone(),
                ]
            })
            .collect(),
        SheetKind::StationMembers => data
            .station_members
            .iter()
            .map(|m| {
                vec![
                    m.station_code.clone(),
                    m.role.label().to_owned(),
                    m.name.clone(),
                    m.phone.clone(),
                    m.deputy_code.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        SheetKind::Deputies => data
            .deputies
            .iter()
            .map(|d| {
                vec![
                    d.code.clone(),
                    d.name.clone(),
                    d.gender.clone(),
                    d.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                    d.party.clone(),
                    d.occupation.clone(),
                    seats_text(&d.seats),
                    d.region_code.clone(),
                    d.station_code.clone().unwrap_or_default(),
                    d.public_profile.clone(),
                    d.phone.clone(),
                    d.email.clone(),
                ]
            })
            .collect(),
        SheetKind::Units => data
            .units
            .iter()
            .map(|u| {
                vec![
                    u.code.clone(),
                    u.name.clone(),
                    u.kind.label().to_owned(),
                    u.region_code.clone(),
                    u.phone.clone(),
                ]
            })
            .collect(),
        SheetKind::Grids => data
            .grids
            .iter()
            .map(|g| {
                vec![
                    g.code.clone(),
                    g.name.clone(),
                    g.region_code.clone(),
                    g.station_code.clone(),
                    g.worker_name.clone(),
                    g.worker_phone.clone(),
                    g.deputy_codes.join("；"),
                ]
            })
            .collect(),
        SheetKind::Accounts => data
            .accounts
            .iter()
            .map(|a| {
                vec![
                    a.username.clone(),
                    a.display_name.clone(),
                    a.role.label().to_owned(),
                    a.scope.clone().unwrap_or_default(),
                    a.phone.clone(),
                    a.password.clone(),
                ]
            })
            .collect(),
    };
    let cols = columns(kind);
    raw.into_iter()
        .map(|row| {
            debug_assert_eq!(row.len(), cols.len(), "{kind:?}");
            row.into_iter()
                .zip(cols)
                .map(|(value, col)| protect(value, col, opts))
                .collect()
        })
        .collect()
}

fn protect(value: String, col: &Column, opts: &ExportOptions) -> String {
    match col.privacy {
        Privacy::Public => value,
        Privacy::Secret => String::new(),
        Privacy::Phone if opts.include_private => value,
        Privacy::Email if opts.include_private => value,
        Privacy::Phone => mask_phone(&value),
        Privacy::Email => mask_email(&value),
    }
}

/// `zhangsan@example.com` → `z***@example.com`; anything that is not an address is hidden whole.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        _ if email.is_empty() => String::new(),
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "****".to_owned(),
    }
}

/// Writes seats as `层级|届次|代表团|选区；…`, dropping empty trailing parts. The separators cannot
/// appear inside a part, so any that do are replaced by `/` to keep the cell readable back.
pub(crate) fn seats_text(seats: &[CongressSeat]) -> String {
    let clean = |s: &str| s.trim().replace(['|', '｜', ';', '；', '\n', '\r'], "/");
    seats
        .iter()
        .map(|seat| {
            let mut parts = vec![
                seat.level.label().to_owned(),
                clean(&seat.term),
                clean(&seat.delegation),
                clean(&seat.constituency),
            ];
            while parts.len() > 2 && parts.last().is_some_and(String::is_empty) {
                parts.pop();
            }
            parts.join("|")
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// The kinds an export writes: those with rows, or all when asked (or when there is nothing,
/// so that the file still shows the headers).
fn kinds_to_write(data: &Dataset, opts: &ExportOptions) -> Vec<SheetKind> {
    let with_rows: Vec<SheetKind> = SheetKind::ALL
        .iter()
        .copied()
        .filter(|k| row_count(*k, data) > 0)
        .collect();
    if opts.all_sheets || with_rows.is_empty() {
        SheetKind::ALL.to_vec()
    } else {
        with_rows
    }
}

fn row_count(kind: SheetKind, data: &Dataset) -> usize {
    match kind {
        SheetKind::Regions => data.regions.len(),
        SheetKind::Stations => data.stations.len(),
        SheetKind::StationMembers => data.station_members.len(),
        SheetKind::Deputies => data.deputies.len(),
        SheetKind::Units => data.units.len(),
        SheetKind::Grids => data.grids.len(),
        SheetKind::Accounts => data.accounts.len(),
    }
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00DD_EBF7))
        .set_align(FormatAlign::Center)
}

/// Every data cell is text, so that codes and phone numbers typed later stay as typed.
fn text_format() -> Format {
    Format::new().set_num_format("@")
}

/// Names the sheet, writes the bold frozen header row, sets widths and text format, and adds
/// drop-downs for the columns with fixed choices. With `notes`, each header explains itself.
fn prepare_sheet(ws: &mut Worksheet, kind: SheetKind, notes: bool) -> Result<(), DocError> {
    let header = header_format();
    let text = text_format();
    ws.set_name(kind.label())?;
    for (i, col) in columns(kind).iter().enumerate() {
        let c = u16::try_from(i).expect("a sheet has a handful of columns");
        ws.set_column_width(c, col.width)?;
        ws.set_column_format(c, &text)?;
        ws.write_string_with_format(0, c, col.header, &header)?;
        if notes {
            let required = if col.required {
                "必填。"
            } else {
                "选填。"
            };
            let note = Note::new(format!("{required}{}", col.help))
                .set_author("Liaison")
                .add_author_prefix(false)
                .set_width(260)
                .set_height(110);
            ws.insert_note(0, c, &note)?;
        }
        if let Some(choices) = col.choices {
            let validation = DataValidation::new()
                .allow_list_strings(&choices.labels())?
                .set_error_style(DataValidationErrorStyle::Warning)
                .set_error_title("不在下拉选项中")?
                .set_error_message(format!(
                    "{}请从下拉列表中选择，或填写对应的英文代码。",
                    col.header
                ))?;
            ws.add_data_validation(1, c, LAST_ROW, c, &validation)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The export workbook.
pub(crate) fn workbook(data: &Dataset, opts: &ExportOptions) -> Result<Vec<u8>, DocError> {
    let mut book = Workbook::new();
    let text = text_format();
    for kind in kinds_to_write(data, opts) {
        let ws = book.add_worksheet();
        prepare_sheet(ws, kind, false)?;
        let rows = sheet_rows(kind, data, opts);
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1)
                .map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
            for (c, value) in row.iter().enumerate() {
                if !value.is_empty() {
                    let c = u16::try_from(c).expect("a sheet has a handful of columns");
                    ws.write_string_with_format(r, c, value, &text)?;
                }
            }
        }
        let last_col = u16::try_from(columns(kind).len() - 1).expect("a handful of columns");
        let last_row = u32::try_from(rows.len()).unwrap_or(LAST_ROW).max(1);
        ws.autofilter(0, 0, last_row, last_col)?;
    }
    Ok(book.save_to_buffer()?)
}

/// One sheet as CSV, UTF-8 with a byte-order mark (without it Excel reads UTF-8 as GBK).
pub(crate) fn csv(
    kind: SheetKind,
    data: &Dataset,
    opts: &ExportOptions,
) -> Result<Vec<u8>, DocError> {
    let mut out = "\u{FEFF}".as_bytes().to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(columns(kind).iter().map(|c| c.header))?;
        for row in sheet_rows(kind, data, opts) {
            writer.write_record(&row)?;
        }
        writer.flush().map_err(csv::Error::from)?;
    }
    Ok(out)
}

/// The empty import template: a 说明 sheet first, then every sheet with headers only.
pub(crate) fn template() -> Result<Vec<u8>, DocError> {
    let mut book = Workbook::new();
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold();
    let header = header_format();
    let wrap = Format::new().set_text_wrap().set_num_format("@");

    let guide = book.add_worksheet();
    guide.set_name("说明")?;
    guide.set_active(true);
    for (c, width) in [18.0, 20.0, 8.0, 70.0, 44.0].into_iter().enumerate() {
        let c = u16::try_from(c).expect("five columns");
        guide.set_column_width(c, width)?;
    }
    guide.write_string_with_format(0, 0, "人大代表联络站组织数据导入模板 · 填写说明", &title)?;
    let mut r: u32 = 2;
    for rule in TEMPLATE_RULES {
        guide.write_string(r, 0, *rule)?;
        r += 1;
    }
    for kind in SheetKind::ALL {
        r += 1;
        guide.write_string_with_format(
            r,
            0,
            format!("【{}】工作表（英文名 {}）", kind.label(), kind.code()),
            &bold,
        )?;
        r += 1;
        for (c, h) in ["列名", "英文列名", "必填", "填写说明", "示例"]
            .iter()
            .enumerate()
        {
            let c = u16::try_from(c).expect("five columns");
            guide.write_string_with_format(r, c, *h, &header)?;
        }
        r += 1;
        for col in columns(*kind) {
            guide.write_string(r, 0, col.header)?;
            guide.write_string(r, 1, col.key)?;
            guide.write_string(r, 2, if col.required { "是" } else { "否" })?;
            guide.write_string_with_format(r, 3, col.help, &wrap)?;
            if !col.example.is_empty() {
                guide.write_string_with_format(r, 4, col.example, &wrap)?;
            }
            r += 1;
        }
    }

    for kind in SheetKind::ALL {
        let ws = book.add_worksheet();
        prepare_sheet(ws, *kind, true)?;
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_core::org::CongressLevel;

    #[test]
    fn seats_are_written_level_first_without_empty_tails() {
        let seats = vec![
            CongressSeat {
                level: CongressLevel::City,
                term: "第六届".into(),
                delegation: "椒江代表团".into(),
                constituency: "海门街道第3选区".into(),
            },
            CongressSeat {
                level: CongressLevel::Township,
                term: "第十八届".into(),
                delegation: String::new(),
                constituency: String::new(),
            },
        ];
        assert_eq!(
            seats_text(&seats),
            "市|第六届|椒江代表团|海门街道第3选区；乡镇|第十八届"
        );
    }

    #[test]
    fn e_mail_is_masked_to_its_first_letter_and_domain() {
        assert_eq!(mask_email("zhangsan@example.com"), "z***@example.com");
        assert_eq!(mask_email(""), "");
        assert_eq!(mask_email("nonsense"), "****");
    }
}
