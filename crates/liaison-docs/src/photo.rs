//! Photos citizens attach to an opinion, made safe to keep and show.
//!
//! A phone photo carries EXIF metadata: the GPS position of where it was taken (often the
//! citizen's home), the phone model, the time. Every photo is therefore decoded and encoded again
//! as a plain JPEG, which keeps nothing but the pixels. Before that the EXIF orientation is
//! applied, or photos taken upright would show on their side.
//!
//! Accepted: JPEG, PNG, WebP. HEIC/HEIF (the iPhone default) is refused with advice, because no
//! pure-Rust HEIC decoder is mature enough; iPhones hand out JPEG when set to 兼容格式, and a
//! screenshot is always PNG. Colour profiles (ICC) are not converted: wide-gamut photos may look
//! slightly less saturated, which does not matter for evidence of a broken street lamp.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Photos one opinion may carry.
pub const MAX_PHOTOS_PER_OPINION: usize = 6;
/// Largest upload accepted, in bytes (10 MB).
pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;
/// Largest picture accepted, in pixels (40 megapixels; today's phones take 12–50).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest side of a stored photo; enough to read a sign or a meter on a phone screen.
pub const MAX_SIDE: u32 = 2048;
/// JPEG quality of stored photos: visually clean at about a tenth of the original size.
pub const JPEG_QUALITY: u8 = 82;

/// A photo ready to store: a JPEG without metadata, upright, at most [`MAX_SIDE`] on its long side.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why a photo was refused. The messages are shown to the citizen as they are.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not an image at all (a document, an empty file…).
    #[error("所选文件不是图片。请上传 JPEG、PNG 或 WebP 格式的照片")]
    NotAnImage,
    /// HEIC/HEIF, the iPhone's default format.
    #[error(
        "暂不支持 HEIC 格式的照片。请在手机“设置 › 相机 › 格式”中选择“兼容性最佳”（兼容格式）后重新拍摄，或截图后上传截图"
    )]
    Heic,
    /// An image format other than JPEG, PNG and WebP.
    #[error("暂不支持 {0} 格式的图片。请上传 JPEG、PNG 或 WebP 格式的照片，或截图后上传截图")]
    Unsupported(String),
    /// Larger than [`MAX_INPUT_BYTES`].
    #[error("照片不能超过10MB，请压缩后再上传")]
    TooLarge,
    /// More than [`MAX_PIXELS`].
    #[error("照片尺寸过大（{width}×{height}像素），不能超过4000万像素。请缩小或截图后再上传")]
    TooManyPixels {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// More than [`MAX_PHOTOS_PER_OPINION`] photos.
    #[error("每条意见最多附6张照片，请删去多余的照片")]
    TooMany,
    /// The file claims to be an image but cannot be read; the cause is for the log.
    #[error("照片无法读取，文件可能已损坏。请重新拍摄或换一张照片")]
    Decode(String),
    /// Encoding the result failed; the cause is for the log.
    #[error("照片处理失败，请稍后重试")]
    Encode(String),
}

/// Refuses more than [`MAX_PHOTOS_PER_OPINION`] photos.
///
/// # Errors
///
/// [`PhotoError::TooMany`].
pub fn check_count(n: usize) -> Result<(), PhotoError> {
    if n > MAX_PHOTOS_PER_OPINION {
        Err(PhotoError::TooMany)
    } else {
        Ok(())
    }
}

/// Turns an uploaded file into a [`Photo`]: checks size and format, applies the EXIF orientation,
/// scales the long side down to [`MAX_SIDE`], and encodes a fresh JPEG (quality
/// [`JPEG_QUALITY`]) that carries no metadata.
///
/// CPU-heavy (decoding, rotating and scaling a full phone photo): call it from `spawn_blocking` in
/// async code.
///
/// # Errors
///
/// A [`PhotoError`] whose message tells the citizen what to do.
pub fn sanitize_photo(bytes: &[u8]) -> Result<Photo, PhotoError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let format = detect(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Room for the decoded 40-megapixel RGBA picture plus the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| PhotoError::Decode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    // A damaged EXIF block must not cost the citizen the photo: it is shown as taken.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| PhotoError::Decode(e.to_string()))?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::CatmullRom);
    }
    let rgb = flatten_on_white(&img);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(Photo {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
    })
}

/// The format of an upload, from its first bytes (the file name and the browser's claimed type
/// are not trusted).
fn detect(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    if is_heif(bytes) {
        return Err(PhotoError::Heic);
    }
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        Ok(ImageFormat::Avif) => Err(PhotoError::Unsupported("AVIF".into())),
        Ok(other) => Err(PhotoError::Unsupported(
            other
                .extensions_str()
                .first()
                .map_or_else(|| format!("{other:?}"), |e| e.to_ascii_uppercase()),
        )),
        Err(_) => Err(PhotoError::NotAnImage),
    }
}

/// HEIC/HEIF: an ISO media file (`ftyp` box at byte 4) with a HEIF brand.
fn is_heif(bytes: &[u8]) -> bool {
    const BRANDS: &[&[u8; 4]] = &[
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
    ];
    bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && BRANDS.iter().any(|b| &bytes[8..12] == *b)
}

/// RGB pixels, with transparent parts (screenshots, PNG stickers) laid on white rather than on
/// the black that dropping the alpha channel would show.
fn flatten_on_white(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            let v = (u16::from(src[c]) * a + 255 * (255 - a) + 127) / 255;
            dst[c] = u8::try_from(v).unwrap_or(255);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbaImage::from_fn(width, height, |x, y| {
            Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                128,
                if x < 4 { 0 } else { 255 },
            ])
        });
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgb([200, 30, 30])
            } else {
                Rgb([30, 30, 200])
            }
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// A big-endian TIFF/EXIF block: IFD0 with the orientation and a pointer to a GPS IFD that
    /// holds a latitude (N 28° 40′ 30″, near Taizhou).
    fn exif_block(orientation: u16) -> Vec<u8> {
        let mut t: Vec<u8> = Vec::new();
        t.extend_from_slice(b"MM\0\x2a");
        t.extend_from_slice(&8u32.to_be_bytes()); // IFD0 at 8
        let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
            t.extend_from_slice(&tag.to_be_bytes());
            t.extend_from_slice(&kind.to_be_bytes());
            t.extend_from_slice(&count.to_be_bytes());
            t.extend_from_slice(&value);
        };
        // IFD0: 2 entries (8 + 2 + 24 + 4 = 38 bytes), then the GPS IFD at 38.
        t.extend_from_slice(&2u16.to_be_bytes());
        let o = orientation.to_be_bytes();
        entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]);
        entry(&mut t, 0x8825, 4, 1, 38u32.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        // GPS IFD: 2 entries (38 + 2 + 24 + 4 = 68), the three rationals at 68.
        t.extend_from_slice(&2u16.to_be_bytes());
        entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
        entry(&mut t, 0x0002, 5, 3, 68u32.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        for (num, den) in [(28u32, 1u32), (40, 1), (30, 1)] {
            t.extend_from_slice(&num.to_be_bytes());
            t.extend_from_slice(&den.to_be_bytes());
        }
        t
    }

    /// `jpeg` with an APP1 "Exif" segment inserted right after the start-of-image marker.
    fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&exif_block(orientation));
        let len = u16::try_from(payload.len() + 2).unwrap();
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_png_comes_out_as_a_jpeg_of_the_same_size() {
        let photo = sanitize_photo(&png(64, 48)).unwrap();
        assert_eq!(&photo.jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!((photo.width, photo.height), (64, 48));
        let back = image::load_from_memory(&photo.jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
    }

    #[test]
    fn transparent_parts_become_white_not_black() {
        let photo = sanitize_photo(&png(64, 48)).unwrap();
        let back = image::load_from_memory(&photo.jpeg).unwrap().to_rgb8();
        let p = back.get_pixel(0, 10);
        assert!(p.0.iter().all(|&c| c > 230), "{p:?}");
    }

    #[test]
    fn exif_with_gps_is_stripped() {
        let input = with_exif(&jpeg(40, 20), 1);
        assert!(contains(&input, b"Exif\0\0"));
        // The test input really carries the block the decoder reads.
        let mut decoder = ImageReader::with_format(Cursor::new(&input), ImageFormat::Jpeg)
            .into_decoder()
            .unwrap();
        assert!(decoder.exif_metadata().unwrap().is_some());

        let photo = sanitize_photo(&input).unwrap();
        assert!(!contains(&photo.jpeg, b"Exif"));
        assert!(
            !contains(&photo.jpeg, &[0xFF, 0xE1]),
            "no APP1 segment at all"
        );
        assert!(
            !contains(&photo.jpeg, b"MM\0\x2a"),
            "no TIFF header of an EXIF block"
        );
        assert_eq!((photo.width, photo.height), (40, 20));
    }

    #[test]
    fn orientation_6_turns_the_photo_upright() {
        let photo = sanitize_photo(&with_exif(&jpeg(40, 20), 6)).unwrap();
        assert_eq!((photo.width, photo.height), (20, 40));
        // Rotated 90° clockwise: the red left half is now the top half.
        let back = image::load_from_memory(&photo.jpeg).unwrap().to_rgb8();
        let top = back.get_pixel(10, 5);
        let bottom = back.get_pixel(10, 35);
        assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
    }

    #[test]
    fn a_large_photo_is_scaled_to_2048_on_the_long_side() {
        let photo = sanitize_photo(&jpeg(3000, 1500)).unwrap();
        assert_eq!((photo.width, photo.height), (2048, 1024));
    }

    #[test]
    fn a_text_file_is_refused_in_chinese() {
        let err = sanitize_photo("这不是照片，是一段文字。".as_bytes()).unwrap_err();
        assert!(matches!(err, PhotoError::NotAnImage));
        assert!(err.to_string().contains("不是图片"));
        assert!(matches!(sanitize_photo(b""), Err(PhotoError::NotAnImage)));
    }

    #[test]
    fn an_input_over_10_mb_is_refused() {
        let mut big = jpeg(16, 16);
        big.resize(MAX_INPUT_BYTES + 1, 0);
        let err = sanitize_photo(&big).unwrap_err();
        assert_eq!(err.to_string(), "照片不能超过10MB，请压缩后再上传");
    }

    #[test]
    fn a_picture_over_40_megapixels_is_refused_before_decoding() {
        // A PNG header claiming 10000 × 5000 pixels; the pixel data is never reached.
        let mut header = png(1, 1);
        header[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        header[20..24].copy_from_slice(&5_000u32.to_be_bytes());
        // The header checksum now fails, which the decoder may or may not check first; so
        // compute it again over "IHDR" + data.
        let crc = crc32(&header[12..29]);
        header[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = sanitize_photo(&header).unwrap_err();
        assert!(
            matches!(
                err,
                PhotoError::TooManyPixels {
                    width: 10_000,
                    height: 5_000
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("4000万像素"));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn heic_is_refused_with_advice() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        let err = sanitize_photo(&heic).unwrap_err();
        assert!(matches!(err, PhotoError::Heic));
        assert!(err.to_string().contains("兼容"));
    }

    #[test]
    fn other_image_formats_are_named_in_the_refusal() {
        let err = sanitize_photo(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap_err();
        assert!(matches!(err, PhotoError::Unsupported(_)));
        assert!(err.to_string().contains("GIF"), "{err}");
    }

    #[test]
    fn a_truncated_jpeg_is_a_decode_error() {
        let j = jpeg(64, 64);
        let err = sanitize_photo(&j[..j.len() / 3]).unwrap_err();
        assert!(matches!(err, PhotoError::Decode(_)), "{err:?}");
        assert!(err.to_string().contains("无法读取"));
    }

    #[test]
    fn up_to_six_photos_are_allowed() {
        assert!(check_count(6).is_ok());
        assert!(matches!(check_count(7), Err(PhotoError::TooMany)));
    }
}
