//! Files people use with Liaison, outside the browser.
//!
//! - [`org_sheets`]: the organisation (regions, stations, deputies, units, grids, accounts) as
//!   Excel workbooks and CSV files — import with row-by-row checks in Chinese, export with
//!   personal data masked unless the caller decides otherwise, and an empty import template.
//! - [`qr`]: QR codes as SVG for the public station and deputy pages.

pub mod ledger;
pub mod org_sheets;
pub mod photo;
pub mod poster;
pub mod qr;
pub mod xml;

pub use org_sheets::{
    ExportOptions, ImportError, headers, read_csv, read_csv_with_progress, read_xlsx,
    read_xlsx_with_progress, template_xlsx, write_csv, write_xlsx,
};
pub use qr::qr_svg;

/// A file could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The Excel writer failed (for example a value longer than Excel allows in one cell).
    #[error("生成 Excel 文件失败：{0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// The CSV writer failed.
    #[error("生成 CSV 文件失败：{0}")]
    Csv(#[from] csv::Error),
    /// The text does not fit in a QR code.
    #[error("内容太长，无法生成二维码（{0}）；请缩短链接")]
    Qr(String),
    /// A poster could not be drawn or packed (the cause is for the log).
    #[error("生成海报失败：{0}。请稍后重试；如持续出现，请联系系统管理员")]
    Poster(String),
}
