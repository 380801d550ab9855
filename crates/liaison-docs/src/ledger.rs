//! The ledger (台账) of citizen opinions as an Excel workbook: one row per item, with a title
//! line and a note above the header (what the file covers, that personal data is left out,
//! and whether the list was cut short). The caller decides which rows go in and fills the
//! cells; this module only lays them out.

use crate::DocError;
use rust_xlsxwriter::{Format, FormatAlign, Workbook};

/// Column headers, in order.
pub const LEDGER_HEADERS: [&str; 13] = [
    "受理编号",
    "收到时间",
    "渠道",
    "联络站",
    "代表",
    "标题",
    "分类",
    "状态",
    "主办单位",
    "期限",
    "红黄绿灯",
    "答复等级",
    "评价",
];

/// Row (0-based) of the header line; data start on the next row.
pub const LEDGER_HEADER_ROW: u32 = 2;

/// One item of the ledger, already as the texts people read. Personal data of the submitter
/// (name, phone) has no column: the ledger circulates among offices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerRow {
    /// Tracking number.
    pub tracking_no: String,
    /// Received, `YYYY-MM-DD HH:MM` China time.
    pub received: String,
    /// Channel label.
    pub channel: String,
    /// Station name.
    pub station: String,
    /// Addressed deputy's name.
    pub deputy: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// State label.
    pub state: String,
    /// Lead unit.
    pub lead_unit: String,
    /// Current deadline with its kind, e.g. `2026-05-08（答复期限）`.
    pub due: String,
    /// 绿灯 / 黄灯 / 红灯, or empty when no clock runs.
    pub light: String,
    /// Grade of the latest reply, e.g. `A 已解决或基本解决`.
    pub grade: String,
    /// Latest rating, e.g. `满意`.
    pub rating: String,
}

impl LedgerRow {
    fn cells(&self) -> [&str; 13] {
        [
            &self.tracking_no,
            &self.received,
            &self.channel,
            &self.station,
            &self.deputy,
            &self.title,
            &self.category,
            &self.state,
            &self.lead_unit,
            &self.due,
            &self.light,
            &self.grade,
            &self.rating,
        ]
    }
}

/// Column widths in characters, sized for Chinese text.
const WIDTHS: [f64; 13] = [
    18.0, 17.0, 11.0, 24.0, 9.0, 36.0, 13.0, 13.0, 24.0, 22.0, 9.0, 20.0, 10.0,
];

/// Writes the ledger. `note` goes on the second line (scope, filters, export time; say there
/// when the list was cut short).
pub fn ledger_xlsx(rows: &[LedgerRow], note: &str) -> Result<Vec<u8>, DocError> {
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.cells().to_vec()).collect();
    table_xlsx(&Table {
        sheet: "民意台账",
        title: "民意收集处理台账",
        note,
        headers: &LEDGER_HEADERS,
        widths: &WIDTHS,
        rows: &cells,
    })
}

/// A one-sheet table file: a title line, a note line, the header row (row
/// [`LEDGER_HEADER_ROW`]), then the rows — the layout of every ledger and export people file.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a, S: AsRef<str>> {
    /// Sheet name (at most 31 characters).
    pub sheet: &'a str,
    /// Title, first line.
    pub title: &'a str,
    /// Note, second line (what the file covers, when it was made).
    pub note: &'a str,
    /// Column headers.
    pub headers: &'a [&'a str],
    /// Column widths in characters (missing ones get 14).
    pub widths: &'a [f64],
    /// Cells, one vector per row; empty cells stay empty.
    pub rows: &'a [Vec<S>],
}

/// Writes a [`Table`] as an .xlsx workbook with a filter on the header and frozen panes.
pub fn table_xlsx<S: AsRef<str>>(t: &Table<'_, S>) -> Result<Vec<u8>, DocError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(t.sheet)?;
    let title = Format::new().set_bold().set_font_size(14);
    let header = Format::new()
        .set_bold()
        .set_background_color("#EEF1F4")
        .set_align(FormatAlign::Center);
    ws.write_string_with_format(0, 0, t.title, &title)?;
    ws.write_string(1, 0, t.note)?;
    for (c, h) in t.headers.iter().enumerate() {
        let col = c as u16;
        ws.write_string_with_format(LEDGER_HEADER_ROW, col, *h, &header)?;
        ws.set_column_width(col, t.widths.get(c).copied().unwrap_or(14.0))?;
    }
    for (i, row) in t.rows.iter().enumerate() {
        let r = LEDGER_HEADER_ROW + 1 + i as u32;
        for (c, value) in row.iter().enumerate() {
            let value = value.as_ref();
            if !value.is_empty() {
                ws.write_string(r, c as u16, value)?;
            }
        }
    }
    let last = LEDGER_HEADER_ROW + t.rows.len() as u32;
    ws.autofilter(
        LEDGER_HEADER_ROW,
        0,
        last,
        (t.headers.len().max(1) - 1) as u16,
    )?;
    ws.set_freeze_panes(LEDGER_HEADER_ROW + 1, 1)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    fn cell(range: &calamine::Range<Data>, r: u32, c: u32) -> String {
        range
            .get_value((r, c))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    fn sample(n: usize) -> LedgerRow {
        LedgerRow {
            tracking_no: format!("LZ260501{n:06}"),
            received: "2026-05-01 09:30".into(),
            channel: "来站反映".into(),
            station: "海门街道人大代表联络站".into(),
            deputy: String::new(),
            title: "路灯不亮".into(),
            category: "城乡建设".into(),
            state: "办理中".into(),
            lead_unit: "椒江区住房和城乡建设局".into(),
            due: "2026-05-15（答复期限）".into(),
            light: "绿灯".into(),
            grade: String::new(),
            rating: String::new(),
        }
    }

    #[test]
    fn the_ledger_reads_back_with_title_note_headers_and_rows() {
        let rows = vec![sample(1), sample(2)];
        let bytes = ledger_xlsx(&rows, "共2条；个人信息已遮蔽").unwrap();
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("民意台账").unwrap();
        assert_eq!(cell(&range, 0, 0), "民意收集处理台账");
        assert_eq!(cell(&range, 1, 0), "共2条；个人信息已遮蔽");
        for (c, h) in LEDGER_HEADERS.iter().enumerate() {
            assert_eq!(cell(&range, LEDGER_HEADER_ROW, c as u32), *h);
        }
        assert_eq!(cell(&range, 3, 0), "LZ260501000001");
        assert_eq!(cell(&range, 4, 0), "LZ260501000002");
        assert_eq!(cell(&range, 4, 8), "椒江区住房和城乡建设局");
        assert_eq!(cell(&range, 4, 10), "绿灯");
    }

    #[test]
    fn an_empty_ledger_still_has_its_headers() {
        let bytes = ledger_xlsx(&[], "共0条").unwrap();
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("民意台账").unwrap();
        assert_eq!(cell(&range, LEDGER_HEADER_ROW, 12), "评价");
    }
}
