//! Printable QR posters: the 联络站码 hung at a station's door and the 代表码 of a deputy.
//!
//! A poster is an SVG with a physical size (A4 or A5, `viewBox` in millimetres), so it prints at
//! the right size from a browser or any SVG tool; [`poster_png`] rasterises it with `resvg` for
//! print shops and chat groups, and [`posters_zip`] packs a region's posters into one download.
//!
//! The QR code carries the stable short link (`/s/<code>`, `/d/<code>`), never the page address,
//! so printed posters keep working when a station or deputy is renamed or moved.
//!
//! Fonts: the SVG names common Chinese fonts and lets the viewer pick. The PNG is drawn with the
//! fonts installed on the server (`fonts-noto-cjk` on Debian); without a Chinese font the PNG is
//! still produced, with the Chinese text drawn as empty boxes ("tofu"), and
//! [`cjk_font_available`] tells the operator why.

use crate::DocError;
use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, OnceLock};

/// What the poster is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosterKind {
    /// 联络站码: a station's QR code.
    Station,
    /// 代表码: a deputy's QR code.
    Deputy,
}

impl PosterKind {
    /// The heading printed in the red band.
    fn heading(self) -> &'static str {
        match self {
            PosterKind::Station => "人大代表联络站 · 联络站码",
            PosterKind::Deputy => "人大代表 · 代表码",
        }
    }
}

/// Everything printed on one poster. All text is plain text; it is escaped when drawn.
#[derive(Debug, Clone)]
pub struct PosterInput {
    /// Station or deputy.
    pub kind: PosterKind,
    /// Station name, or 「张三 代表」.
    pub title: String,
    /// Where or who, e.g. 椒江区海门街道, or 县（市、区）人大代表 · 海门街道联络站.
    pub subtitle: String,
    /// What scanning does, e.g. 扫码向人大代表反映意见建议、查看联络站信息和活动.
    pub purpose: String,
    /// The short link the QR code carries, printed under it too.
    pub url: String,
    /// For deputies (who have no photos yet): the character drawn in a round avatar.
    pub photo_initial: Option<char>,
    /// Who issued the poster, e.g. 台州市人大常委会 制.
    pub footer: String,
}

/// Paper size of a poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperSize {
    /// 210 × 297 mm: door plates and notice boards.
    #[default]
    A4,
    /// 148 × 210 mm: desks and reception counters.
    A5,
}

impl PaperSize {
    /// Reads `a4`/`a5` (any case); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Some(PaperSize::A4),
            "a5" => Some(PaperSize::A5),
            _ => None,
        }
    }

    /// `a4` or `a5`, as used in links.
    pub fn code(self) -> &'static str {
        match self {
            PaperSize::A4 => "a4",
            PaperSize::A5 => "a5",
        }
    }

    /// Width and height in millimetres.
    pub fn mm(self) -> (f64, f64) {
        match self {
            PaperSize::A4 => (210.0, 297.0),
            PaperSize::A5 => (148.0, 210.0),
        }
    }
}

/// The brand red of the header band.
const RED: &str = "#a4161a";
const FONT_FAMILY: &str =
    r#""Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif"#;
const MONO_FAMILY: &str = r#""Noto Sans Mono CJK SC","DejaVu Sans Mono",Menlo,Consolas,monospace"#;
/// Families looked for by [`cjk_font_available`]: the ones the SVG names plus common Linux ones.
const CJK_FAMILIES: &[&str] = &[
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Serif CJK SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
];

/// Side of the QR code (with its quiet zone) on A4, in mm, when the texts leave room; A5 is
/// scaled by 148/210. Large enough to scan from a couple of metres, the distance at a notice
/// board.
const QR_MM_A4: f64 = 135.0;
/// The smallest QR side on A4 when long texts need the room: 121 mm, so about 85 mm on A5.
const QR_MIN_MM_A4: f64 = 121.0;
/// Least space between two blocks on A4, in mm.
const MIN_GAP_A4: f64 = 3.0;

/// Resolution of [`poster_png`] when the caller has no preference.
pub const DEFAULT_DPI: u32 = 150;
/// Bounds of the PNG resolution: below 72 dpi the QR code blurs, above 600 an A4 page needs more
/// than 100 MB of memory to draw.
pub const DPI_RANGE: std::ops::RangeInclusive<u32> = 72..=600;

/// Draws the poster as a print-ready SVG document.
///
/// # Errors
///
/// [`DocError::Qr`] when the URL does not fit in a QR code.
pub fn poster_svg(input: &PosterInput, size: PaperSize) -> Result<String, DocError> {
    let (w, h) = size.mm();
    // Everything is laid out for A4 and scaled, so A5 is the same poster, smaller.
    let k = w / 210.0;
    let cx = w / 2.0;
    let text_width = 180.0 * k;

    let mut svg = String::with_capacity(16 * 1024);
    let _ = write!(
        svg,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}" font-family='{ff}'>"#,
            "\n<title>{title}</title>\n",
            r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##,
            "\n"
        ),
        w = num(w),
        h = num(h),
        ff = FONT_FAMILY,
        title = crate::xml::escape(&input.title),
    );

    // The red band with the kind of code.
    let band = 28.0 * k;
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{}" height="{}" fill="{RED}"/>"#,
        num(w),
        num(band)
    );
    let heading = Fitted::new(input.kind.heading(), 11.0 * k, 6.0 * k, text_width, 1);
    heading.draw(
        &mut svg,
        cx,
        band / 2.0 + heading.size * 0.36,
        r##"fill="#fff" font-weight="bold" letter-spacing="0.5""##,
    );

    // The blocks between the band and the footer rule, top to bottom, with the free height
    // shared out evenly between them.
    let footer_rule = h - 24.0 * k;
    let avatar_r = 14.0 * k;
    let title = Fitted::new(&input.title, 16.0 * k, 10.0 * k, text_width, 2);
    let subtitle = Fitted::new(&input.subtitle, 7.0 * k, 4.5 * k, text_width, 2);
    let purpose = Fitted::new(&input.purpose, 7.0 * k, 4.5 * k, text_width, 3);
    let url_size = url_font_size(&input.url, 5.0 * k, text_width);

    let mut texts = vec![title.height(), subtitle.height(), purpose.height()];
    if input.photo_initial.is_some() {
        texts.push(avatar_r * 2.0);
    }
    let gaps = (texts.len() + 2) as f64;
    let room = footer_rule - band;
    let text_height: f64 = texts.iter().sum();
    // The QR code takes what the texts leave, within its bounds.
    let qr_side = (room - text_height - url_size * 1.8 - gaps * MIN_GAP_A4 * k)
        .clamp(QR_MIN_MM_A4 * k, QR_MM_A4 * k);
    let qr_block = qr_side + url_size * 1.8;
    let gap = ((room - text_height - qr_block) / gaps).max(MIN_GAP_A4 * k);
    let mut y = band + gap;

    if let Some(initial) = input.photo_initial {
        let cy = y + avatar_r;
        let _ = writeln!(
            svg,
            r##"<circle cx="{}" cy="{}" r="{}" fill="#f8e5e5" stroke="{RED}" stroke-width="{}"/>"##,
            num(cx),
            num(cy),
            num(avatar_r),
            num(0.8 * k)
        );
        let size = avatar_r * 1.1;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-size="{}" text-anchor="middle" font-weight="bold" fill="{RED}">{}</text>"#,
            num(cx),
            num(cy + size * 0.36),
            num(size),
            crate::xml::escape(&initial.to_string())
        );
        y += avatar_r * 2.0 + gap;
    }

    title.draw(
        &mut svg,
        cx,
        y + title.size * 0.88,
        r##"fill="#1a1a1a" font-weight="bold""##,
    );
    y += title.height() + gap;
    subtitle.draw(&mut svg, cx, y + subtitle.size * 0.88, r##"fill="#444""##);
    y += subtitle.height() + gap;

    let qr = qr_svg_at(&input.url, cx - qr_side / 2.0, y, qr_side)?;
    svg.push_str(&qr);
    svg.push('\n');
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" font-size="{}" text-anchor="middle" font-family='{MONO_FAMILY}' fill="#333">{}</text>"##,
        num(cx),
        num(y + qr_side + url_size * 1.2),
        num(url_size),
        crate::xml::escape(&input.url)
    );
    y += qr_block + gap;
    purpose.draw(&mut svg, cx, y + purpose.size * 0.88, r##"fill="#1a1a1a""##);

    let _ = writeln!(
        svg,
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{RED}"/>"#,
        num(15.0 * k),
        num(footer_rule),
        num(w - 30.0 * k),
        num(0.6 * k)
    );
    let footer = Fitted::new(&input.footer, 5.0 * k, 3.0 * k, text_width, 1);
    footer.draw(
        &mut svg,
        cx,
        footer_rule + 11.0 * k + footer.size * 0.36,
        r##"fill="#555""##,
    );
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// Draws the poster as a PNG at `dpi` dots per inch ([`DEFAULT_DPI`] is a good default).
///
/// Uses the system's fonts, loaded once per process. Without a Chinese font (see
/// [`cjk_font_available`]) the PNG is still produced, with empty boxes for Chinese text.
///
/// # Errors
///
/// [`DocError::Qr`] as for [`poster_svg`]; [`DocError::Poster`] when `dpi` lies outside
/// [`DPI_RANGE`] or drawing fails.
pub fn poster_png(input: &PosterInput, size: PaperSize, dpi: u32) -> Result<Vec<u8>, DocError> {
    if !DPI_RANGE.contains(&dpi) {
        return Err(DocError::Poster(format!(
            "分辨率 {dpi} dpi 不可用，请选择 {}–{} dpi",
            DPI_RANGE.start(),
            DPI_RANGE.end()
        )));
    }
    let svg = poster_svg(input, size)?;
    render_png(&svg, size, dpi)
}

/// Rasterises a poster SVG of `size` at `dpi`.
fn render_png(svg: &str, size: PaperSize, dpi: u32) -> Result<Vec<u8>, DocError> {
    let options = usvg::Options {
        fontdb: fonts(),
        font_family: "Noto Sans CJK SC".to_owned(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| DocError::Poster(format!("SVG 无法解析（{e}）")))?;
    let (w_mm, h_mm) = size.mm();
    let px = |mm: f64| (mm / 25.4 * f64::from(dpi)).round() as u32;
    let (w_px, h_px) = (px(w_mm), px(h_mm));
    let mut pixmap = tiny_skia::Pixmap::new(w_px, h_px)
        .ok_or_else(|| DocError::Poster(format!("无法分配 {w_px}×{h_px} 像素的画布")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let tree_size = tree.size();
    let transform = tiny_skia::Transform::from_scale(
        w_px as f32 / tree_size.width(),
        h_px as f32 / tree_size.height(),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| DocError::Poster(format!("PNG 编码失败（{e}）")))
}

/// Packs one poster per item into a ZIP: `<stem>.svg`, and `<stem>.png` at [`DEFAULT_DPI`] when
/// `with_png`. Names are UTF-8 (flagged as such in the archive, so Windows' Explorer shows the
/// Chinese correctly); a repeated stem gets `-2`, `-3`… rather than failing the whole download.
///
/// # Errors
///
/// As [`poster_svg`] and [`poster_png`] for any item, or [`DocError::Poster`] when the archive
/// cannot be written.
pub fn posters_zip(
    items: &[(String, PosterInput)],
    size: PaperSize,
    with_png: bool,
) -> Result<Vec<u8>, DocError> {
    use zip::write::SimpleFileOptions;
    let zip_err = |e: zip::result::ZipError| DocError::Poster(format!("压缩包写入失败（{e}）"));
    let io_err = |e: std::io::Error| DocError::Poster(format!("压缩包写入失败（{e}）"));

    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let stamp = zip::DateTime::from_date_and_time(
        u16::try_from(now.year()).unwrap_or(1980),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
    )
    .unwrap_or_default();
    let text = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp);
    // PNG is compressed already; deflating it again only costs time.
    let binary = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(stamp);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut used = std::collections::HashSet::new();
    for (stem, input) in items {
        let stem = unique_stem(&mut used, &safe_stem(stem));
        let svg = poster_svg(input, size)?;
        zip.start_file(format!("{stem}.svg"), text)
            .map_err(zip_err)?;
        zip.write_all(svg.as_bytes()).map_err(io_err)?;
        if with_png {
            let png = render_png(&svg, size, DEFAULT_DPI)?;
            zip.start_file(format!("{stem}.png"), binary)
                .map_err(zip_err)?;
            zip.write_all(&png).map_err(io_err)?;
        }
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

/// A file stem for a poster: `<code>-<name>`, e.g. `JJ-HM-海门街道人大代表联络站`, with
/// characters that file systems refuse replaced.
pub fn file_stem(code: &str, name: &str) -> String {
    safe_stem(&format!("{code}-{name}"))
}

/// Whether a Chinese font is installed for [`poster_png`]; when not, install `fonts-noto-cjk`.
pub fn cjk_font_available() -> bool {
    fonts().faces().any(|face| {
        face.families
            .iter()
            .any(|(name, _)| CJK_FAMILIES.contains(&name.as_str()))
    })
}

/// The system's fonts, loaded on first use. Loading scans the font folders (about 0.1 s), which
/// would dominate drawing one poster if repeated.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            // Generic families resolve to a Chinese font when there is one, so text in a
            // family the server lacks (PingFang, YaHei) still comes out in Chinese.
            let has = |family: &str| {
                db.faces()
                    .any(|f| f.families.iter().any(|(n, _)| n == family))
            };
            let cjk = CJK_FAMILIES
                .iter()
                .find(|f| has(f))
                .map(|f| (*f).to_owned());
            let latin_mono = has("DejaVu Sans Mono");
            if let Some(family) = cjk {
                db.set_sans_serif_family(family.clone());
                if !latin_mono {
                    db.set_monospace_family(family);
                }
            }
            Arc::new(db)
        })
        .clone()
}

/// The QR code of `url` as a nested `<svg>` at (`x`, `y`), `side` mm square, quiet zone included.
fn qr_svg_at(url: &str, x: f64, y: f64, side: f64) -> Result<String, DocError> {
    let qr = crate::qr::qr_svg(url, 1)?;
    // `qr_svg` gives `<svg … viewBox="0 0 N N" …>BODY</svg>`: keep its view box and body, and
    // place it with our own root attributes.
    let open_end = qr
        .find('>')
        .ok_or_else(|| DocError::Poster("二维码图形格式异常".into()))?;
    let view_box = attribute(&qr[..open_end], "viewBox")
        .ok_or_else(|| DocError::Poster("二维码图形缺少 viewBox".into()))?;
    let body_end = qr
        .rfind("</svg>")
        .ok_or_else(|| DocError::Poster("二维码图形格式异常".into()))?;
    let body = &qr[open_end + 1..body_end];
    Ok(format!(
        r#"<svg x="{}" y="{}" width="{}" height="{}" viewBox="{view_box}" shape-rendering="crispEdges">{body}</svg>"#,
        num(x),
        num(y),
        num(side),
        num(side)
    ))
}

/// The value of `name="…"` in an opening tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Text fitted to a width: one line at the largest size up to `max`, or, when that would fall
/// below `min`, broken into up to `max_lines` lines; never wider than `width`.
struct Fitted {
    lines: Vec<String>,
    size: f64,
}

impl Fitted {
    fn new(text: &str, max: f64, min: f64, width: f64, max_lines: usize) -> Self {
        let text = text.trim();
        let total = ems(text);
        let one_line = if total > 0.0 {
            (width / total).min(max)
        } else {
            max
        };
        if one_line >= min || max_lines <= 1 {
            return Fitted {
                lines: vec![text.to_owned()],
                size: one_line,
            };
        }
        let mut best = Fitted {
            lines: vec![text.to_owned()],
            size: one_line,
        };
        for n in 2..=max_lines {
            let lines = wrap(text, total / n as f64);
            let widest = lines.iter().map(|l| ems(l)).fold(0.0_f64, f64::max);
            let size = (width / widest).min(max);
            best = Fitted { lines, size };
            if size >= min {
                break;
            }
        }
        best
    }

    /// Height of the block: line boxes of 1.3 em.
    fn height(&self) -> f64 {
        self.lines.len() as f64 * self.size * 1.3
    }

    /// Writes the lines centred on `cx`, the first baseline at `y`.
    fn draw(&self, svg: &mut String, cx: f64, y: f64, attrs: &str) {
        for (i, line) in self.lines.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" font-size="{}" text-anchor="middle" {attrs}>{}</text>"#,
                num(cx),
                num(y + i as f64 * self.size * 1.3),
                num(self.size),
                crate::xml::escape(line)
            );
        }
    }
}

/// Greedy line breaking where every line but the last is at least `target` ems wide, so the text
/// takes at most ⌈total / target⌉ lines.
fn wrap(text: &str, target: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0.0;
    for c in text.chars() {
        line.push(c);
        width += char_ems(c);
        if width >= target {
            lines.push(std::mem::take(&mut line).trim().to_owned());
            width = 0.0;
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim().to_owned());
    }
    lines
}

/// Font size for the URL: monospace digits are 0.6 em wide.
fn url_font_size(url: &str, max: f64, width: f64) -> f64 {
    let n = url.chars().count().max(1) as f64;
    (width / (n * 0.6)).min(max)
}

/// Width of a text in ems: Chinese characters and full-width forms one em, others about half.
fn ems(text: &str) -> f64 {
    text.chars().map(char_ems).sum()
}

fn char_ems(c: char) -> f64 {
    let wide = matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD);
    if wide {
        1.0
    } else if c == ' ' {
        0.3
    } else {
        0.6
    }
}

/// A number with at most two decimals and no trailing zeros: millimetres need no more.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Replaces characters Windows or Unix refuse in file names, and trims dots and spaces.
fn safe_stem(stem: &str) -> String {
    let cleaned: String = stem
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if cleaned.is_empty() {
        "poster".to_owned()
    } else {
        cleaned.to_owned()
    }
}

fn unique_stem(used: &mut std::collections::HashSet<String>, stem: &str) -> String {
    let mut candidate = stem.to_owned();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{stem}-{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::usvg::roxmltree;

    fn station() -> PosterInput {
        PosterInput {
            kind: PosterKind::Station,
            title: "海门街道人大代表联络站".into(),
            subtitle: "椒江区海门街道".into(),
            purpose: "扫码向人大代表反映意见建议、查看联络站信息和活动".into(),
            url: "https://lz.example.gov.cn/s/JJ-HM".into(),
            photo_initial: None,
            footer: "台州市人大常委会 制".into(),
        }
    }

    fn deputy() -> PosterInput {
        PosterInput {
            kind: PosterKind::Deputy,
            title: "张海门 代表".into(),
            subtitle: "县（市、区）人大代表 · 海门街道人大代表联络站".into(),
            purpose: "扫码查看代表履职信息，向代表反映意见建议".into(),
            url: "https://lz.example.gov.cn/d/JJ-D1".into(),
            photo_initial: Some('张'),
            footer: "台州市人大常委会 制".into(),
        }
    }

    /// Texts of all `<text>` elements, in order.
    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn an_a4_station_poster_is_well_formed_svg_of_the_physical_size() {
        let svg = poster_svg(&station(), PaperSize::A4).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("width"), Some("210mm"));
        assert_eq!(root.attribute("height"), Some("297mm"));
        assert_eq!(root.attribute("viewBox"), Some("0 0 210 297"));
        let texts = texts(&doc);
        assert!(
            texts.contains(&"海门街道人大代表联络站".to_owned()),
            "{texts:?}"
        );
        assert!(texts.contains(&"https://lz.example.gov.cn/s/JJ-HM".to_owned()));
        assert!(texts.contains(&"台州市人大常委会 制".to_owned()));
        assert!(svg.contains(RED));
    }

    #[test]
    fn an_a5_poster_is_a5_and_its_qr_code_stays_large() {
        let svg = poster_svg(&deputy(), PaperSize::A5).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("width"), Some("148mm"));
        assert_eq!(root.attribute("height"), Some("210mm"));
        let qr = root
            .children()
            .find(|n| n.has_tag_name("svg"))
            .expect("nested QR svg");
        let side: f64 = qr.attribute("width").unwrap().parse().unwrap();
        assert!(side >= 85.0, "QR side {side} mm");
        let bottom: f64 = qr.attribute("y").unwrap().parse::<f64>().unwrap() + side;
        assert!(bottom < 210.0 - 20.0, "QR ends at {bottom} mm");
    }

    #[test]
    fn the_qr_code_on_a4_is_at_least_120_mm() {
        let svg = poster_svg(&station(), PaperSize::A4).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let qr = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("svg"))
            .unwrap();
        assert!(qr.attribute("width").unwrap().parse::<f64>().unwrap() >= 120.0);
        assert!(qr.attribute("viewBox").is_some());
    }

    #[test]
    fn a_deputy_poster_has_a_round_avatar_with_the_initial() {
        let svg = poster_svg(&deputy(), PaperSize::A4).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert!(doc.descendants().any(|n| n.has_tag_name("circle")));
        assert!(texts(&doc).contains(&"张".to_owned()));
        assert!(texts(&doc).contains(&"人大代表 · 代表码".to_owned()));
    }

    #[test]
    fn text_is_escaped() {
        let mut input = station();
        input.title = "<script>&\"'联络站".into();
        let svg = poster_svg(&input, PaperSize::A4).unwrap();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;联络站"));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert!(texts(&doc).contains(&"<script>&\"'联络站".to_owned()));
    }

    #[test]
    fn a_long_title_shrinks_or_wraps_and_never_overflows() {
        for n in [5, 12, 20, 30, 60] {
            let mut input = station();
            input.title = "囍".repeat(n);
            let svg = poster_svg(&input, PaperSize::A4).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let mut chars = 0;
            for t in doc
                .descendants()
                .filter(|t| t.has_tag_name("text") && t.text().is_some_and(|s| s.contains('囍')))
            {
                let size: f64 = t.attribute("font-size").unwrap().parse().unwrap();
                let len = t.text().unwrap().chars().count();
                chars += len;
                assert!(
                    size * len as f64 <= 180.01,
                    "{n} chars: line of {len} at {size} mm"
                );
            }
            assert_eq!(chars, n, "no character lost");
        }
        let short = Fitted::new("海门街道人大代表联络站", 16.0, 10.0, 180.0, 2);
        assert_eq!(short.lines.len(), 1);
        assert!((short.size - 16.0).abs() < 1e-9);
        let long = Fitted::new(&"联".repeat(30), 16.0, 10.0, 180.0, 2);
        assert_eq!(long.lines.len(), 2);
        assert!((long.size - 12.0).abs() < 1e-9);
    }

    #[test]
    fn the_longest_texts_still_end_above_the_footer() {
        for size in [PaperSize::A4, PaperSize::A5] {
            let mut input = deputy();
            input.title = "欧阳".repeat(20);
            input.subtitle = "县（市、区）人大代表".repeat(6);
            input.purpose = "扫码向人大代表反映意见建议".repeat(8);
            let svg = poster_svg(&input, size).unwrap();
            let doc = roxmltree::Document::parse(&svg).unwrap();
            let (w, h) = size.mm();
            let k = w / 210.0;
            let footer_rule = h - 24.0 * k;
            let qr = doc
                .root_element()
                .children()
                .find(|n| n.has_tag_name("svg"))
                .unwrap();
            let side: f64 = qr.attribute("width").unwrap().parse().unwrap();
            let least = if size == PaperSize::A4 { 120.0 } else { 85.0 };
            assert!(side >= least, "{size:?}: QR {side} mm");
            let mut last_baseline = 0.0_f64;
            for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
                let y: f64 = t.attribute("y").unwrap().parse().unwrap();
                let text = t.text().unwrap();
                if text != input.footer {
                    last_baseline = last_baseline.max(y);
                }
            }
            assert!(
                last_baseline < footer_rule,
                "{size:?}: text at {last_baseline} crosses the footer rule at {footer_rule}"
            );
        }
    }

    #[test]
    fn latin_text_counts_as_half_width() {
        assert!((ems("联络站") - 3.0).abs() < 1e-9);
        assert!((ems("JJ") - 1.2).abs() < 1e-9);
        assert!((ems("（市、区）") - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_url_too_long_for_a_qr_code_is_an_error() {
        let mut input = station();
        input.url = "x".repeat(5000);
        assert!(matches!(
            poster_svg(&input, PaperSize::A4),
            Err(DocError::Qr(_))
        ));
    }

    #[test]
    fn paper_sizes_parse_from_links() {
        assert_eq!(PaperSize::parse("A5"), Some(PaperSize::A5));
        assert_eq!(PaperSize::parse("a4"), Some(PaperSize::A4));
        assert_eq!(PaperSize::parse("letter"), None);
        assert_eq!(PaperSize::A5.code(), "a5");
    }

    #[test]
    fn the_png_is_a_png_of_the_page_size_at_the_resolution() {
        let png = poster_png(&station(), PaperSize::A5, 100).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), (583, 827), "148 × 210 mm at 100 dpi");
    }

    #[test]
    fn a_resolution_outside_the_range_is_refused() {
        let err = poster_png(&station(), PaperSize::A4, 5000).unwrap_err();
        assert!(err.to_string().contains("dpi"), "{err}");
    }

    #[test]
    fn the_printed_qr_code_decodes_back_to_the_url() {
        let input = deputy();
        let png = render_png(
            &poster_svg(&input, PaperSize::A4).unwrap(),
            PaperSize::A4,
            72,
        )
        .unwrap();
        let img = decode_png_grey(&png);
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(img.0, img.1, |x, y| img.2[y * img.0 + x]);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the poster");
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, input.url);
    }

    /// Decodes an RGBA PNG to greyscale with the `image` crate (a dependency of `photo`).
    fn decode_png_grey(png: &[u8]) -> (usize, usize, Vec<u8>) {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_luma8();
        (img.width() as usize, img.height() as usize, img.into_raw())
    }

    #[test]
    fn the_zip_holds_one_svg_and_png_per_item_under_utf8_names() {
        let items = vec![
            (file_stem("JJ-HM", "海门街道人大代表联络站"), station()),
            (file_stem("JJ-D1", "张海门"), deputy()),
            (file_stem("JJ-D1", "张海门"), deputy()),
        ];
        let bytes = posters_zip(&items, PaperSize::A5, true).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let mut names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "JJ-D1-张海门-2.png",
                "JJ-D1-张海门-2.svg",
                "JJ-D1-张海门.png",
                "JJ-D1-张海门.svg",
                "JJ-HM-海门街道人大代表联络站.png",
                "JJ-HM-海门街道人大代表联络站.svg",
            ]
        );
        let flags = central_directory_flags(&bytes);
        assert_eq!(flags.len(), 6);
        // Bit 11 of the general-purpose flags marks the names as UTF-8.
        assert!(flags.iter().all(|f| f & 0x0800 != 0), "{flags:?}");
        let mut svg = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("JJ-HM-海门街道人大代表联络站.svg").unwrap(),
            &mut svg,
        )
        .unwrap();
        assert!(svg.contains("/s/JJ-HM"));
    }

    /// The general-purpose flags of every entry, read from the archive's central directory.
    fn central_directory_flags(zip: &[u8]) -> Vec<u16> {
        let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(zip[i..i + 4].try_into().unwrap()) as usize;
        let eocd = zip
            .windows(4)
            .rposition(|w| w == b"PK\x05\x06")
            .expect("end of central directory");
        let count = usize::from(u16_at(eocd + 10));
        let mut at = u32_at(eocd + 16);
        let mut flags = Vec::new();
        for _ in 0..count {
            assert_eq!(&zip[at..at + 4], b"PK\x01\x02");
            flags.push(u16_at(at + 8));
            at += 46
                + usize::from(u16_at(at + 28))
                + usize::from(u16_at(at + 30))
                + usize::from(u16_at(at + 32));
        }
        flags
    }

    #[test]
    fn a_zip_without_png_holds_svg_only() {
        let items = vec![(file_stem("JJ-HM", "海门街道人大代表联络站"), station())];
        let bytes = posters_zip(&items, PaperSize::A4, false).unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(names, ["JJ-HM-海门街道人大代表联络站.svg"]);
    }

    #[test]
    fn file_stems_drop_characters_file_systems_refuse() {
        assert_eq!(file_stem("A/B", "名:称?"), "A_B-名_称_");
        assert_eq!(safe_stem(" .. "), "poster");
    }
}
