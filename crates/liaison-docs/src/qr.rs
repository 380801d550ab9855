//! QR codes for the public pages of stations (`/s/<code>`) and deputies (`/d/<code>`), printed on
//! door plates and posters.
//!
//! Error-correction level M survives the scuffs and glare of a printed plate while keeping the
//! code small; the quiet zone (white border) is kept because phone cameras need it to find the
//! code on a busy poster.

use crate::DocError;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Renders `url` as an SVG QR code, each module `module_px` pixels square (at least 1).
///
/// The result starts with `<svg` (no XML declaration), so it can be embedded in an HTML page as
/// it is or served as an `image/svg+xml` file.
///
/// # Errors
///
/// [`DocError::Qr`] when the text is longer than a QR code can hold (about 2,300 bytes at level
/// M); links to Liaison pages are far shorter.
pub fn qr_svg(url: &str, module_px: u32) -> Result<String, DocError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| DocError::Qr(e.to_string()))?;
    let px = module_px.max(1);
    let image = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(px, px)
        .build();
    // The renderer prepends an XML declaration, which has no place inside an HTML page.
    let start = image.find("<svg").unwrap_or(0);
    Ok(image[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_link_becomes_an_svg_document() {
        let svg = qr_svg("https://liaison.example.cn/s/JJ-HM01", 4).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<path"));
    }

    #[test]
    fn module_size_scales_the_picture() {
        let small = qr_svg("https://liaison.example.cn/d/D0001", 2).unwrap();
        let large = qr_svg("https://liaison.example.cn/d/D0001", 4).unwrap();
        let width = |s: &str| -> u32 {
            let rest = &s[s.find("width=\"").unwrap() + 7..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        };
        assert_eq!(width(&large), 2 * width(&small));
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_an_error_not_a_panic() {
        let err = qr_svg(&"x".repeat(5000), 4).unwrap_err();
        assert!(err.to_string().contains("无法生成二维码"));
    }
}
