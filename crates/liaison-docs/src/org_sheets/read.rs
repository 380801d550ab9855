//! Reading sheets into a [`Dataset`]: from a workbook or CSV file to a plain table of cell texts,
//! then row by row into records, collecting every problem instead of stopping at the first.

use super::ImportError;
use super::columns::{Column, columns};
use calamine::{Data, Reader, open_workbook_auto_from_rs};
use liaison_core::dataset::{
    AccountRow, CongressSeat, Dataset, DeputyRow, GridRow, RegionRow, RowError, SheetKind,
    StationMemberRow, StationRow, UnitRow,
};
use liaison_core::org::{CongressLevel, RegionLevel, StationRole, StationTier, UnitKind};
use liaison_core::role::{Role, ScopeKind};
use liaison_core::validate::{self, Phone};
use std::collections::HashMap;
use std::io::Cursor;

/// The text of a cell, or why the cell cannot be used (a formula error, a date).
pub(crate) type Cell = Result<String, String>;

/// One sheet as rows of cells.
pub(crate) struct Table {
    /// The row number Excel shows for `rows[0]`.
    pub first_row: usize,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Rows other than the header, for progress reporting.
    pub(crate) fn data_rows(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }
}

/// Every known sheet of a workbook, in workbook order.
pub(crate) fn workbook_tables(bytes: &[u8]) -> Result<Vec<(SheetKind, Table)>, ImportError> {
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| {
        ImportError::File(
            "无法读取该文件：它不是有效的 Excel 工作簿。请在 Excel 或 WPS 中“另存为”\
             Excel 工作簿（*.xlsx）后再导入。"
                .to_owned(),
        )
    })?;
    let mut found: Vec<(SheetKind, String)> = Vec::new();
    for name in book.sheet_names() {
        let Some(kind) = SheetKind::parse(&name) else {
            continue;
        };
        if let Some((_, first)) = found.iter().find(|(k, _)| *k == kind) {
            return Err(ImportError::File(format!(
                "工作簿中有两张{}工作表（“{first}”和“{name}”），请合并为一张后再导入。",
                kind.label()
            )));
        }
        found.push((kind, name));
    }
    if found.is_empty() {
        let names: Vec<&str> = SheetKind::ALL.iter().map(|k| k.label()).collect();
        return Err(ImportError::File(format!(
            "工作簿里没有可识别的工作表。工作表应命名为：{}（也可用英文名）。\
             请下载导入模板，按模板填写后再导入。",
            names.join("、")
        )));
    }
    let mut tables = Vec::with_capacity(found.len());
    for (kind, name) in found {
        let range = book.worksheet_range(&name).map_err(|e| {
            ImportError::File(format!(
                "无法读取工作表“{name}”（{e}）。请确认文件没有损坏，或在 Excel 中另存后再导入。"
            ))
        })?;
        let Some((start_row, _)) = range.start() else {
            // An empty sheet means "nothing of this kind"; the template ships all sheets.
            continue;
        };
        let rows = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        tables.push((
            kind,
            Table {
                first_row: start_row as usize + 1,
                rows,
            },
        ));
    }
    Ok(tables)
}

/// The text a person sees in a cell. Numbers typed into a cell come back as floats; whole ones
/// are written without `.0` or an exponent, because they are codes and phone numbers.
fn cell_text(cell: &Data) -> Cell {
    match cell {
        Data::Empty => Ok(String::new()),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Ok(s.clone()),
        Data::Int(i) => Ok(i.to_string()),
        Data::Float(f) => Ok(number_text(*f)),
        Data::Bool(b) => Ok(if *b { "TRUE" } else { "FALSE" }.to_owned()),
        Data::DateTime(_) => {
            Err("这是日期或时间格式的单元格，请把该列设为“文本”格式后重新填写".to_owned())
        }
        Data::Error(e) => Err(format!("单元格是错误值 {e}，请改为正确的内容")),
    }
}

/// Whole numbers below 10^15 are exact in an f64, which covers 12-digit region codes and 11-digit
/// phone numbers.
fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked whole and below 1e15"
        )]
        let whole = f as i64;
        whole.to_string()
    } else {
        f.to_string()
    }
}

/// One CSV file as a table. Excel on Chinese Windows saves "CSV" in GBK (GB18030 is a superset),
/// "CSV UTF-8" with a BOM; both are accepted, as are UTF-16 files with a BOM.
pub(crate) fn csv_table(bytes: &[u8]) -> Result<Table, ImportError> {
    let text = decode_text(bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    // "Unicode text" from Excel is tab-separated; everything else we expect uses commas.
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ImportError::File(format!(
                "CSV 文件第{}行无法读取（{e}）。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再导入。",
                i + 1
            ))
        })?;
        rows.push(record.iter().map(|f| Ok(f.to_owned())).collect());
    }
    if rows.is_empty() {
        return Err(ImportError::File(
            "CSV 文件是空的。请在第1行填写列名，从第2行开始每行填写一条记录，或下载导入模板。"
                .to_owned(),
        ));
    }
    Ok(Table { first_row: 1, rows })
}

fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let unreadable = || {
        ImportError::File(
            "无法识别 CSV 文件的文字编码。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再导入。"
                .to_owned(),
        )
    };
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return if had_errors {
            Err(unreadable())
        } else {
            Ok(text.into_owned())
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        Err(unreadable())
    } else {
        Ok(text.into_owned())
    }
}

/// Counts rows done for the caller's progress display.
pub(crate) struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub report: &'a mut dyn FnMut(usize, usize),
}

impl Progress<'_> {
    fn step(&mut self) {
        self.done = (self.done + 1).min(self.total);
        (self.report)(self.done, self.total);
    }

    /// Title lines above a header are counted in the total, so the last step may fall short.
    pub(crate) fn finish(&mut self) {
        if self.done < self.total {
            self.done = self.total;
            (self.report)(self.done, self.total);
        }
    }
}

/// Where each known column is in the file, and the header as the file spells it.
struct ColumnMap {
    cols: &'static [Column],
    found: Vec<Option<(usize, String)>>,
}

/// Headers may carry a required-marker star, and English names may be in any case.
fn header_matches(col: &Column, cell: &str) -> bool {
    let cell = cell
        .trim()
        .trim_matches(|c: char| c == '*' || c == '＊' || c.is_whitespace());
    cell == col.header || cell.eq_ignore_ascii_case(col.key)
}

/// Spreadsheets often have a title line above the headers; the header row is the first of the
/// first few rows holding at least two known column names.
fn find_header_row(cols: &[Column], table: &Table) -> usize {
    let known = |row: &Vec<Cell>| {
        row.iter()
            .filter(|c| matches!(c, Ok(t) if cols.iter().any(|col| header_matches(col, t))))
            .count()
    };
    table
        .rows
        .iter()
        .take(10)
        .position(|row| known(row) >= 2)
        .unwrap_or(0)
}

/// Reads one table into `data`, adding every problem found to `errors`.
pub(crate) fn parse_table(
    kind: SheetKind,
    table: &Table,
    data: &mut Dataset,
    errors: &mut Vec<RowError>,
    progress: &mut Progress<'_>,
) {
    let cols = columns(kind);
    let header_idx = find_header_row(cols, table);
    let header_row_no = table.first_row + header_idx;
    let header = table.rows.get(header_idx).map(Vec::as_slice).unwrap_or(&[]);

    let mut map = ColumnMap {
        cols,
        found: vec![None; cols.len()],
    };
    let mut header_ok = true;
    for (ci, cell) in header.iter().enumerate() {
        let Ok(text) = cell else { continue };
        let Some(k) = cols.iter().position(|c| header_matches(c, text)) else {
            // Extra columns (备注 and the like) are the clerk's own business.
            continue;
        };
        if let Some((_, first)) = &map.found[k] {
            errors.push(RowError {
                sheet: kind,
                row: header_row_no,
                column: text.trim().to_owned(),
                message: format!(
                    "“{}”列出现了两次（另一列是“{first}”），请删除多余的一列",
                    cols[k].header
                ),
            });
            header_ok = false;
        } else {
            map.found[k] = Some((ci, text.trim().to_owned()));
        }
    }
    for (k, col) in cols.iter().enumerate() {
        if col.required && map.found[k].is_none() {
            errors.push(RowError {
                sheet: kind,
                row: header_row_no,
                column: col.header.to_owned(),
                message: format!(
                    "缺少“{}”列。请在第{header_row_no}行加上这一列名（也可用英文列名 {}），或使用导入模板",
                    col.header, col.key
                ),
            });
            header_ok = false;
        }
    }

    let mut seen = Seen::default();
    for (i, cells) in table.rows.iter().enumerate().skip(header_idx + 1) {
        progress.step();
        if !header_ok
            || cells
                .iter()
                .all(|c| matches!(c, Ok(t) if t.trim().is_empty()))
        {
            continue;
        }
        let mut ctx = RowCtx {
            kind,
            row: table.first_row + i,
            cells,
            map: &map,
            errors,
        };
        match kind {
            SheetKind::Regions => push(&mut data.regions, region_row(&mut ctx, &mut seen)),
            SheetKind::Stations => push(&mut data.stations, station_row(&mut ctx, &mut seen)),
            SheetKind::StationMembers => {
                push(&mut data.station_members, member_row(&mut ctx, &mut seen));
            }
            SheetKind::Deputies => push(&mut data.deputies, deputy_row(&mut ctx, &mut seen)),
            SheetKind::Units => push(&mut data.units, unit_row(&mut ctx, &mut seen)),
            SheetKind::Grids => push(&mut data.grids, grid_row(&mut ctx, &mut seen)),
            SheetKind::Accounts => push(&mut data.accounts, account_row(&mut ctx, &mut seen)),
        }
    }
}

fn push<T>(rows: &mut Vec<T>, row: Option<T>) {
    rows.extend(row);
}

/// Keys already used in this sheet, with the row that used them first.
#[derive(Default)]
struct Seen(HashMap<String, usize>);

/// One row being read; every getter reports its own problems and returns a usable default, so
/// that one pass finds all problems of the row.
struct RowCtx<'a> {
    kind: SheetKind,
    row: usize,
    cells: &'a [Cell],
    map: &'a ColumnMap,
    errors: &'a mut Vec<RowError>,
}

/// Longest accepted texts, in characters.
const NAME_MAX: usize = 100;
const PERSON_MAX: usize = 50;
const SHORT_MAX: usize = 200;
const LONG_MAX: usize = 2000;

impl RowCtx<'_> {
    fn column(&self, key: &str) -> (usize, &'static Column) {
        let k = self
            .map
            .cols
            .iter()
            .position(|c| c.key == key)
            .expect("every key used by the readers is in the column table");
        (k, &self.map.cols[k])
    }

    fn fail(&mut self, key: &str, message: impl Into<String>) {
        let (k, col) = self.column(key);
        let column = match &self.map.found[k] {
            Some((_, as_in_file)) => as_in_file.clone(),
            None => col.header.to_owned(),
        };
        self.errors.push(RowError {
            sheet: self.kind,
            row: self.row,
            column,
            message: message.into(),
        });
    }

    /// The trimmed text, or `None` when the cell itself is unusable (already reported).
    fn raw(&mut self, key: &str) -> Option<String> {
        let (k, _) = self.column(key);
        let Some((ci, _)) = self.map.found[k] else {
            return Some(String::new());
        };
        match self.cells.get(ci) {
            None => Some(String::new()),
            Some(Ok(text)) => Some(text.trim().to_owned()),
            Some(Err(message)) => {
                let message = message.clone();
                self.fail(key, message);
                None
            }
        }
    }

    /// The value, or `None` when it is empty (reported if required) or unusable.
    fn filled(&mut self, key: &str) -> Option<String> {
        let value = self.raw(key)?;
        if value.is_empty() {
            let col = self.column(key).1;
            if col.required {
                self.fail(key, format!("请填写{}", col.header));
            }
            return None;
        }
        Some(value)
    }

    fn text(&mut self, key: &str, max_chars: usize) -> String {
        let Some(value) = self.raw(key) else {
            return String::new();
        };
        let col = self.column(key).1;
        let checked = if col.required {
            validate::required_text(key, col.header, &value, max_chars)
        } else {
            validate::optional_text(key, col.header, &value, max_chars)
        };
        checked.unwrap_or_else(|e| {
            self.fail(key, e.message);
            String::new()
        })
    }

    /// A stable code of a station, deputy, unit or grid.
    fn code(&mut self, key: &str) -> Option<String> {
        let value = self.filled(key)?;
        self.code_value(key, &value)
    }

    fn code_value(&mut self, key: &str, value: &str) -> Option<String> {
        if let Some(message) = excel_damage(value) {
            self.fail(key, message);
            return None;
        }
        validate::code(key, value)
            .map_err(|e| self.fail(key, format!("“{value}”不是有效的编码：{}", e.message)))
            .ok()
    }

    fn region(&mut self, key: &str) -> Option<String> {
        let value = self.filled(key)?;
        self.region_value(key, &value)
    }

    fn region_value(&mut self, key: &str, value: &str) -> Option<String> {
        if let Some(message) = excel_damage(value) {
            self.fail(key, message);
            return None;
        }
        if (6..=12).contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit()) {
            Some(value.to_owned())
        } else {
            self.fail(
                key,
                format!(
                    "“{value}”不是有效的区划代码：应为6至12位数字，例如 331002（县级）或 331002001（乡镇级）"
                ),
            );
            None
        }
    }

    fn choice<T>(&mut self, key: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
        let value = self.filled(key)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            let col = self.column(key).1;
            let labels = col
                .choices
                .map(|c| c.labels().join("、"))
                .unwrap_or_default();
            self.fail(
                key,
                format!("{}“{value}”无法识别，可填：{labels}", col.header),
            );
        }
        parsed
    }

    /// A private mobile number, normalised to 11 digits.
    fn mobile(&mut self, key: &str) -> String {
        let Some(value) = self.filled(key) else {
            return String::new();
        };
        if value.contains('*') {
            self.fail(
                key,
                format!("“{value}”是脱敏后的号码，不能导入；请填写完整的手机号码"),
            );
            return String::new();
        }
        if let Some(message) = excel_damage(&value) {
            self.fail(key, message);
            return String::new();
        }
        match Phone::parse(key, &value) {
            Ok(phone) => phone.as_str().to_owned(),
            Err(e) => {
                self.fail(key, format!("“{value}”不是有效的手机号码：{}", e.message));
                String::new()
            }
        }
    }

    /// A public contact number: a landline with area code, a hotline or a mobile.
    fn public_phone(&mut self, key: &str) -> String {
        let Some(value) = self.filled(key) else {
            return String::new();
        };
        if let Some(message) = excel_damage(&value) {
            self.fail(key, message);
            return String::new();
        }
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let allowed = value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')' | '（' | '）'));
        if allowed && (3..=20).contains(&digits) && value.chars().count() <= 30 {
            value
        } else {
            self.fail(
                key,
                format!(
                    "“{value}”不是有效的电话号码：只能包含数字、“-”、空格和括号，例如 0576-88123456 或 13812345678"
                ),
            );
            String::new()
        }
    }

    /// Reports `key_value` if an earlier row of this sheet already used it.
    fn unique(&mut self, seen: &mut Seen, column: &str, key_value: String, what: &str) {
        match seen.0.get(&key_value) {
            Some(first) => {
                let first = *first;
                self.fail(
                    column,
                    format!(
                        "{what}与第{first}行重复，同一工作表中只能出现一次，请删除或修改重复的行"
                    ),
                );
            }
            None => {
                seen.0.insert(key_value, self.row);
            }
        }
    }
}

/// Recognises numbers that Excel has already damaged before we see them: a long number shown
/// in scientific notation and saved that way (CSV), which has lost its last digits.
fn excel_damage(value: &str) -> Option<String> {
    let (mantissa, exponent) = value.split_once(['E', 'e'])?;
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => numeric(int) && numeric(frac),
        None => numeric(mantissa),
    };
    (mantissa_ok && numeric(exponent)).then(|| {
        format!(
            "“{value}”是被 Excel 转成科学计数法的数字，原来的数字已经丢失；\
             请把该列设为“文本”格式后重新填写完整的数字"
        )
    })
}

fn region_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<RegionRow> {
    let code = ctx.region("code");
    let name = ctx.text("name", NAME_MAX);
    let level = ctx.choice("level", RegionLevel::parse);
    let parent_code = ctx.region("parent_code");
    if let Some(code) = &code {
        ctx.unique(seen, "code", code.clone(), &format!("区划代码“{code}”"));
        if parent_code.as_ref() == Some(code) {
            ctx.fail("parent_code", "上级区划代码不能与本区划代码相同");
        }
    }
    Some(RegionRow {
        code: code?,
        name,
        level: level?,
        parent_code,
    })
}

fn station_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<StationRow> {
    let code = ctx.code("code");
    let name = ctx.text("name", NAME_MAX);
    let tier = ctx.choice("tier", StationTier::parse);
    let region_code = ctx.region("region_code");
    let parent_code = ctx.code("parent_code");
    let address = ctx.text("address", SHORT_MAX);
    let opening_hours = ctx.text("opening_hours", SHORT_MAX);
    let reception_schedule = ctx.text("reception_schedule", SHORT_MAX);
    let phone = ctx.public_phone("phone");
    let intro = ctx.text("intro", LONG_MAX);
    if let Some(code) = &code {
        ctx.unique(seen, "code", code.clone(), &format!("站点编码“{code}”"));
        if parent_code.as_ref() == Some(code) {
            ctx.fail("parent_code", "上级站点编码不能与本站点编码相同");
        }
    }
    Some(StationRow {
        code: code?,
        name,
        tier: tier?,
        region_code: region_code?,
        parent_code,
        address,
        opening_hours,
        reception_schedule,
        phone,
        intro,
    })
}

fn member_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<StationMemberRow> {
    let station_code = ctx.code("station_code");
    let role = ctx.choice("role", StationRole::parse);
    let name = ctx.text("name", PERSON_MAX);
    let phone = ctx.mobile("phone");
    let deputy_code = ctx.code("deputy_code");
    if let (Some(station), Some(role)) = (&station_code, role)
        && !name.is_empty()
    {
        ctx.unique(
            seen,
            "name",
            format!("{station}\u{0}{}\u{0}{name}", role.code()),
            &format!("站点“{station}”的{}“{name}”", role.label()),
        );
    }
    Some(StationMemberRow {
        station_code: station_code?,
        role: role?,
        name,
        phone,
        deputy_code,
    })
}

fn deputy_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<DeputyRow> {
    let code = ctx.code("code");
    let name = ctx.text("name", PERSON_MAX);
    let gender = gender(ctx);
    let birth_year = birth_year(ctx);
    let party = ctx.text("party", PERSON_MAX);
    let occupation = ctx.text("occupation", NAME_MAX);
    let seats = seats(ctx);
    let region_code = ctx.region("region_code");
    let station_code = ctx.code("station_code");
    let public_profile = ctx.text("public_profile", LONG_MAX);
    let phone = ctx.mobile("phone");
    let email = email(ctx);
    if let Some(code) = &code {
        ctx.unique(seen, "code", code.clone(), &format!("代表编码“{code}”"));
    }
    Some(DeputyRow {
        code: code?,
        name,
        gender,
        birth_year,
        party,
        occupation,
        seats,
        region_code: region_code?,
        station_code,
        public_profile,
        phone,
        email,
    })
}

fn gender(ctx: &mut RowCtx<'_>) -> String {
    let Some(value) = ctx.filled("gender") else {
        return String::new();
    };
    match value.to_ascii_lowercase().as_str() {
        "男" | "male" | "m" => "男".to_owned(),
        "女" | "female" | "f" => "女".to_owned(),
        _ => {
            ctx.fail("gender", format!("性别“{value}”无法识别，请填写“男”或“女”"));
            String::new()
        }
    }
}

/// Deputies are at least 18 (the age to stand for election), so later years are typos.
fn birth_year(ctx: &mut RowCtx<'_>) -> Option<i32> {
    let value = ctx.filled("birth_year")?;
    let latest = time::OffsetDateTime::now_utc().year() - 18;
    match value.parse::<i32>() {
        Ok(year) if (1900..=latest).contains(&year) => Some(year),
        _ => {
            ctx.fail(
                "birth_year",
                format!(
                    "出生年份“{value}”不正确：请填写1900年至{latest}年之间的四位年份，例如 1975"
                ),
            );
            None
        }
    }
}

fn email(ctx: &mut RowCtx<'_>) -> String {
    let Some(value) = ctx.filled("email") else {
        return String::new();
    };
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.chars().any(char::is_whitespace)
                && value.chars().count() <= 100
        }
        None => false,
    };
    if ok {
        value
    } else {
        let message = if value.contains('*') {
            format!("“{value}”是脱敏后的邮箱，不能导入；请填写完整的电子邮箱")
        } else {
            format!("电子邮箱“{value}”格式不正确，例如 zhangsan@example.com")
        };
        ctx.fail("email", message);
        String::new()
    }
}

/// Splits a seats cell (`层级|届次|代表团|选区；…`) — see [`super::SEATS_FORMAT`].
fn seats(ctx: &mut RowCtx<'_>) -> Vec<CongressSeat> {
    let Some(value) = ctx.filled("seats") else {
        return Vec::new();
    };
    let pieces: Vec<&str> = value
        .split([';', '；', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let levels: Vec<&str> = CongressLevel::ALL.iter().map(|l| l.label()).collect();
    let mut seats = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let which = if pieces.len() == 1 {
            String::new()
        } else {
            format!("第{}个任职", i + 1)
        };
        let fields: Vec<&str> = piece.split(['|', '｜']).map(str::trim).collect();
        if fields.len() > 4 {
            ctx.fail(
                "seats",
                format!(
                    "{which}“{piece}”分成了{}段，最多4段：层级|届次|代表团|选区",
                    fields.len()
                ),
            );
            continue;
        }
        let level = CongressLevel::parse(fields[0]);
        if level.is_none() {
            ctx.fail(
                "seats",
                format!(
                    "{which}的层级“{}”无法识别，可填：{}；格式为“层级|届次|代表团|选区”",
                    fields[0],
                    levels.join("、")
                ),
            );
        }
        let term = fields.get(1).copied().unwrap_or("");
        if term.is_empty() {
            ctx.fail(
                "seats",
                format!(
                    "{which}“{piece}”缺少届次；格式为“层级|届次|代表团|选区”，例如 市|第六届|椒江代表团|海门街道第3选区"
                ),
            );
        }
        let delegation = fields.get(2).copied().unwrap_or("");
        let constituency = fields.get(3).copied().unwrap_or("");
        for (part, label) in [
            (term, "届次"),
            (delegation, "代表团"),
            (constituency, "选区"),
        ] {
            if part.chars().count() > PERSON_MAX {
                ctx.fail("seats", format!("{which}的{label}最多{PERSON_MAX}个字"));
            }
        }
        if let Some(level) = level
            && !term.is_empty()
        {
            seats.push(CongressSeat {
                level,
                term: term.to_owned(),
                delegation: delegation.to_owned(),
                constituency: constituency.to_owned(),
            });
        }
    }
    if pieces.is_empty() {
        ctx.fail(
            "seats",
            "请填写代表层级，格式为“层级|届次|代表团|选区”，例如 市|第六届|椒江代表团|海门街道第3选区",
        );
    }
    seats
}

fn unit_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<UnitRow> {
    let code = ctx.code("code");
    let name = ctx.text("name", NAME_MAX);
    let kind = ctx.choice("kind", UnitKind::parse);
    let region_code = ctx.region("region_code");
    let phone = ctx.public_phone("phone");
    if let Some(code) = &code {
        ctx.unique(seen, "code", code.clone(), &format!("单位编码“{code}”"));
    }
    Some(UnitRow {
        code: code?,
        name,
        kind: kind?,
        region_code: region_code?,
        phone,
    })
}

fn grid_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<GridRow> {
    let code = ctx.code("code");
    let name = ctx.text("name", NAME_MAX);
    let region_code = ctx.region("region_code");
    let station_code = ctx.code("station_code");
    let worker_name = ctx.text("worker_name", PERSON_MAX);
    let worker_phone = ctx.mobile("worker_phone");
    let deputy_codes = code_list(ctx, "deputy_codes");
    if let Some(code) = &code {
        ctx.unique(seen, "code", code.clone(), &format!("网格编码“{code}”"));
    }
    Some(GridRow {
        code: code?,
        name,
        region_code: region_code?,
        station_code: station_code?,
        worker_name,
        worker_phone,
        deputy_codes,
    })
}

/// A list of codes separated the ways people separate them in Chinese text.
fn code_list(ctx: &mut RowCtx<'_>, key: &str) -> Vec<String> {
    let Some(value) = ctx.filled(key) else {
        return Vec::new();
    };
    let mut codes: Vec<String> = Vec::new();
    for item in value
        .split([';', '；', '、', ',', '，', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let Some(code) = ctx.code_value(key, item) else {
            continue;
        };
        if codes.contains(&code) {
            ctx.fail(key, format!("编码“{code}”重复填写了，请删除重复的一个"));
        } else {
            codes.push(code);
        }
    }
    codes
}

fn account_row(ctx: &mut RowCtx<'_>, seen: &mut Seen) -> Option<AccountRow> {
    let username = ctx.filled("username").and_then(|value| {
        validate::username("username", &value)
            .map_err(|e| {
                ctx.fail(
                    "username",
                    format!("用户名“{value}”不符合要求：{}", e.message),
                )
            })
            .ok()
    });
    let display_name = ctx.text("display_name", PERSON_MAX);
    let role = ctx.choice("role", Role::parse);
    let scope = role.and_then(|role| account_scope(ctx, role));
    let phone = ctx.mobile("phone");
    let password = ctx.filled("password").and_then(|value| {
        validate::new_password("password", &value)
            .map_err(|e| ctx.fail("password", format!("初始密码不符合要求：{}", e.message)))
            .ok()
    });
    if let Some(name) = &username {
        ctx.unique(seen, "username", name.clone(), &format!("用户名“{name}”"));
    }
    Some(AccountRow {
        username: username?,
        display_name,
        role: role?,
        scope,
        phone,
        password: password.unwrap_or_default(),
    })
}

/// The scope an account is bound to must be of the kind its role needs.
fn account_scope(ctx: &mut RowCtx<'_>, role: Role) -> Option<String> {
    let value = ctx.raw("scope")?;
    let needs = match role.scope_kind() {
        ScopeKind::None => {
            if !value.is_empty() {
                ctx.fail(
                    "scope",
                    format!("角色“{}”不绑定范围，请清空绑定范围编码", role.label()),
                );
            }
            return None;
        }
        ScopeKind::Region => "区划代码",
        ScopeKind::Station => "站点编码",
        ScopeKind::Unit => "承办单位编码",
        ScopeKind::Deputy => "代表编码",
    };
    if value.is_empty() {
        ctx.fail(
            "scope",
            format!("角色“{}”须在绑定范围编码中填写{needs}", role.label()),
        );
        return None;
    }
    if role.scope_kind() == ScopeKind::Region {
        ctx.region_value("scope", &value)
    } else {
        ctx.code_value("scope", &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_read_as_integer_text() {
        assert_eq!(number_text(331002.0), "331002");
        assert_eq!(number_text(13812345678.0), "13812345678");
        assert_eq!(number_text(331002001001.0), "331002001001");
        assert_eq!(number_text(1.5), "1.5");
    }

    #[test]
    fn scientific_notation_from_excel_is_recognised_as_damage() {
        assert!(excel_damage("1.38123E+10").is_some());
        assert!(excel_damage("3.31E+11").is_some());
        assert!(excel_damage("JJ-E1").is_none());
        assert!(excel_damage("13812345678").is_none());
    }

    #[test]
    fn gbk_bytes_decode_as_chinese() {
        let (bytes, _, _) = encoding_rs::GBK.encode("区划代码,名称\n");
        assert_eq!(decode_text(&bytes).unwrap(), "区划代码,名称\n");
    }

    #[test]
    fn a_title_line_above_the_headers_is_skipped() {
        let table = Table {
            first_row: 1,
            rows: vec![
                vec![Ok("椒江区行政区划".to_owned())],
                vec![Ok("区划代码".to_owned()), Ok("名称".to_owned())],
            ],
        };
        assert_eq!(find_header_row(columns(SheetKind::Regions), &table), 1);
    }
}
