//! The files behind documents: what an upload is (media kind, size in pixels, EXIF date and
//! place), the EXIF `doc.getExif` answers, and the media URLs answers carry, served here with
//! `Range` and resized for real.
//!
//! URLs name the document, a secret and the label: `/media/{doc_id}.{secret}.{label}.jpg` for a
//! thumbnail, `/media/{doc_id}.{original_secret}.original.{ext}` for the original. As on the
//! service, the secret is what keeps a private document's files from strangers: it is only in
//! answers to those who may see the document (the original's only to those who may download
//! it), 128 bits from the operating system's random source, compared in constant time.
//!
//! Thumbnails of JPEG and PNG uploads are made on first request (decoding bounded in pixels and
//! memory: 16,384 pixels a side and 256 MiB, at most [`MAX_RESIZES`] at once, off the async
//! threads) and kept beside the file under
//! a name with the original's MD5, so a replaced file gets new ones; other media answer every
//! label with the original.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::shared::Shared;
use super::state::{Doc, doc_file};

/// The thumbnail labels the service documents, smallest first.
pub(crate) const THUMB_LABELS: [&str; 11] = [
    "75x", "100", "240", "250x", "500", "560", "640", "800", "1024", "1600", "2048",
];

/// How many thumbnails are made at once; further requests wait their turn.
pub(crate) const MAX_RESIZES: usize = 2;

/// The largest picture the emulator decodes, in pixels per side and bytes of memory.
const MAX_SIDE: u32 = 16_384;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// A label's box: its longest side, and whether it is a square crop (`75x`, `250x`).
fn thumb_box(label: &str) -> Option<(u32, bool)> {
    THUMB_LABELS.contains(&label).then_some(())?;
    match label.strip_suffix('x') {
        Some(side) => side.parse().ok().map(|side| (side, true)),
        None => label.parse().ok().map(|side| (side, false)),
    }
}

/// The size of a document's thumbnail: a square crop, or the picture fitted in the box (never
/// enlarged). A document whose size is unknown answers the box itself.
pub(crate) fn thumb_size(label: &str, width: u32, height: u32) -> (u32, u32) {
    let Some((side, square)) = thumb_box(label) else {
        return (width, height);
    };
    if square {
        return (side, side);
    }
    if width == 0 || height == 0 {
        return (side, side);
    }
    let longest = width.max(height);
    if longest <= side {
        return (width, height);
    }
    let scale = |length: u32| {
        u32::try_from(u64::from(length) * u64::from(side) / u64::from(longest))
            .unwrap_or(side)
            .max(1)
    };
    (scale(width), scale(height))
}

/// What an uploaded file is.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FileFacts {
    pub(crate) media: &'static str,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// `DateTimeOriginal` as the service writes dates (`YYYY-MM-DD HH:MM:SS`).
    pub(crate) created: Option<String>,
    /// The GPS position, in degrees.
    pub(crate) geo: Option<(f64, f64)>,
}

/// The media kind a file name says, if it says one.
fn kind_of_name(filename: &str) -> Option<&'static str> {
    let ext = extension(filename).to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "tif" | "tiff" | "bmp" | "webp" | "heic" => Some("photo"),
        "mp4" | "mov" | "avi" | "mpg" | "mpeg" | "flv" | "mkv" | "webm" | "3gp" | "wmv" | "m4v" => {
            Some("video")
        }
        "mp3" | "wav" | "ogg" | "oga" | "m4a" | "flac" | "aac" | "wma" => Some("audio"),
        _ => None,
    }
}

/// A file name's extension, `bin` when it has none.
pub(crate) fn extension(filename: &str) -> &str {
    match filename.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.len() <= 8 => ext,
        _ => "bin",
    }
}

/// Reads what the file at `path` is: a picture the image library recognises is a photo with its
/// size; otherwise the file name's extension decides (`other` when it says nothing). The EXIF
/// date and place come from the file whatever its name.
pub(crate) fn inspect(path: &Path, filename: &str) -> FileFacts {
    let dimensions = image::ImageReader::open(path)
        .and_then(image::ImageReader::with_guessed_format)
        .ok()
        .filter(|reader| reader.format().is_some())
        .and_then(|reader| reader.into_dimensions().ok());
    let exif = read_exif(path);
    let media = match dimensions {
        Some(_) => "photo",
        None => kind_of_name(filename).unwrap_or("other"),
    };
    let (width, height) = dimensions.unwrap_or((0, 0));
    FileFacts {
        media,
        width,
        height,
        created: exif.as_ref().and_then(exif_created),
        geo: exif.as_ref().and_then(exif_geo),
    }
}

fn read_exif(path: &Path) -> Option<exif::Exif> {
    let file = std::fs::File::open(path).ok()?;
    exif::Reader::new()
        .read_from_container(&mut BufReader::new(file))
        .ok()
}

/// `DateTimeOriginal` (else `DateTime`) as `YYYY-MM-DD HH:MM:SS`.
fn exif_created(exif: &exif::Exif) -> Option<String> {
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .or_else(|| exif.get_field(exif::Tag::DateTime, exif::In::PRIMARY))?;
    let exif::Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let date = exif::DateTime::from_ascii(parts.first()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        date.year, date.month, date.day, date.hour, date.minute, date.second
    ))
}

/// The GPS position in degrees, south and west negative.
fn exif_geo(exif: &exif::Exif) -> Option<(f64, f64)> {
    let degrees = |tag, reference, negative: &[u8]| -> Option<f64> {
        let field = exif.get_field(tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(ref parts) = field.value else {
            return None;
        };
        let [d, m, s] = parts.as_slice() else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match exif
            .get_field(reference, exif::In::PRIMARY)
            .map(|f| &f.value)
        {
            Some(exif::Value::Ascii(r)) if r.first().is_some_and(|r| r.as_slice() == negative) => {
                -1.0
            }
            _ => 1.0,
        };
        Some(sign * value).filter(|v| v.is_finite())
    };
    let lat = degrees(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b"S")?;
    let lng = degrees(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b"W")?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)).then_some((lat, lng))
}

/// Every EXIF field of the file, under its tag name, as `doc.getExif` lists them (the primary
/// image's first, the thumbnail's left out); empty when the file has none.
pub(crate) fn exif_fields(path: &Path) -> Vec<(String, String)> {
    let Some(exif) = read_exif(path) else {
        return Vec::new();
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for field in exif.fields().filter(|f| f.ifd_num == exif::In::PRIMARY) {
        let name = field.tag.to_string();
        // Tags without a name print as "Tag(Context, number)": not an attribute name.
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        if fields.iter().any(|(seen, _)| *seen == name) {
            continue;
        }
        let value = field.display_value().with_unit(&exif).to_string();
        fields.push((name, value.trim_matches('"').to_owned()));
    }
    fields
}

/// The URL of a document's thumbnail.
pub(crate) fn thumb_url(origin: &str, doc: &Doc, label: &str) -> String {
    format!("{origin}/media/{}.{}.{label}.jpg", doc.id, doc.secret)
}

/// The URL of a document's original.
pub(crate) fn original_url(origin: &str, doc: &Doc) -> String {
    format!(
        "{origin}/media/{}.{}.original.{}",
        doc.id,
        doc.original_secret,
        extension(&doc.filename)
    )
}

/// Where a thumbnail of the document's current file is kept.
fn thumb_file(data_dir: &Path, doc: &Doc, label: &str) -> PathBuf {
    let md5 = doc.md5.get(..12).unwrap_or(&doc.md5);
    data_dir.join(format!("thumb-{}-{md5}-{label}.jpg", doc.id))
}

/// Removes the thumbnails made of the document's current file.
pub(crate) fn remove_thumbs(data_dir: &Path, doc: &Doc) {
    for label in THUMB_LABELS {
        std::fs::remove_file(thumb_file(data_dir, doc, label)).ok();
    }
}

/// `GET /media/{name}`: a thumbnail or the original, whole or the `Range` asked for.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    // A distant service is as slow to send files as to answer calls.
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let not_found = || (StatusCode::NOT_FOUND, "no such file").into_response();
    let mut parts = name.splitn(4, '.');
    let (Some(id), Some(secret), Some(label)) = (parts.next(), parts.next(), parts.next()) else {
        return not_found();
    };
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    let doc = {
        let state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.docs.get(&id).cloned()
    };
    let Some(doc) = doc else {
        return not_found();
    };
    let original = label == "original";
    let expected = if original {
        &doc.original_secret
    } else {
        &doc.secret
    };
    if expected.is_empty()
        || !crate::sign::constant_time_eq(expected.as_bytes(), secret.as_bytes())
        || (!original && thumb_box(label).is_none())
    {
        return not_found();
    }
    let file = doc_file(&shared.data_dir, doc.id);
    let path = match original || doc.media != "photo" {
        true => file,
        false => match thumbnail(&shared, &doc, label, file.clone()).await {
            Some(path) => path,
            // A picture the image library cannot read: its original stands for every size.
            None => file,
        },
    };
    let content_type = match (original, extension(&doc.filename)) {
        (false, _) if path.extension().is_some_and(|e| e == "jpg") => "image/jpeg",
        (_, ext) => content_type_of(ext),
    };
    send_file(&path, content_type, headers.get(header::RANGE)).await
}

fn content_type_of(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "mp4" | "m4v" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// The thumbnail's file, made now if it was not yet.
async fn thumbnail(shared: &Arc<Shared>, doc: &Doc, label: &str, file: PathBuf) -> Option<PathBuf> {
    let target = thumb_file(&shared.data_dir, doc, label);
    if tokio::fs::metadata(&target).await.is_ok() {
        return Some(target);
    }
    let _turn = shared.resizes.acquire().await.ok()?;
    let (side, square) = thumb_box(label)?;
    let made = target.clone();
    tokio::task::spawn_blocking(move || make_thumbnail(&file, &made, side, square))
        .await
        .ok()?
        .ok()?;
    Some(target)
}

/// Decodes `source` (bounded), resizes it into the box and writes a JPEG to `target` through a
/// temporary name: a thumbnail is never seen half-written.
fn make_thumbnail(source: &Path, target: &Path, side: u32, square: bool) -> Result<(), String> {
    let mut reader = image::ImageReader::open(source)
        .and_then(image::ImageReader::with_guessed_format)
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| e.to_string())?;
    let resized = match square {
        true => picture.resize_to_fill(side, side, image::imageops::FilterType::Triangle),
        false if picture.width().max(picture.height()) <= side => picture,
        false => picture.resize(side, side, image::imageops::FilterType::Triangle),
    };
    let mut encoded = Vec::new();
    resized
        .to_rgb8()
        .write_to(
            &mut std::io::Cursor::new(&mut encoded),
            image::ImageFormat::Jpeg,
        )
        .map_err(|e| e.to_string())?;
    let partial = target.with_extension("part");
    std::fs::write(&partial, &encoded).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, target).map_err(|e| {
        std::fs::remove_file(&partial).ok();
        e.to_string()
    })
}

/// The byte range a `Range` header asks for in a file of `length` bytes: `Ok(None)` for the
/// whole file (no header, or one this server answers whole: several ranges, other units),
/// `Err(())` when it cannot be satisfied.
fn requested_range(range: Option<&str>, length: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        (true, false) => {
            let suffix: u64 = last.parse().map_err(|_| ())?;
            if suffix == 0 || length == 0 {
                return Err(());
            }
            (length.saturating_sub(suffix), length - 1)
        }
        (false, _) => {
            let start: u64 = first.parse().map_err(|_| ())?;
            let end = match last.is_empty() {
                true => length.saturating_sub(1),
                false => last
                    .parse::<u64>()
                    .map_err(|_| ())?
                    .min(length.saturating_sub(1)),
            };
            (start, end)
        }
        (true, true) => return Err(()),
    };
    if start >= length || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// Streams the file, whole or the range asked for, in 64 KiB pieces.
async fn send_file(
    path: &Path,
    content_type: &'static str,
    range: Option<&header::HeaderValue>,
) -> Response {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let Ok(length) = file.metadata().map(|m| m.len()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the file cannot be read").into_response();
    };
    let range = requested_range(range.and_then(|r| r.to_str().ok()), length);
    let (status, start, end) = match range {
        Err(()) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{length}"))],
            )
                .into_response();
        }
        Ok(None) => (StatusCode::OK, 0, length.saturating_sub(1)),
        Ok(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
    };
    let size = match length {
        0 => 0,
        _ => end - start + 1,
    };
    if file.seek(SeekFrom::Start(start)).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the file cannot be read").into_response();
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        let mut left = size;
        while left > 0 {
            let mut piece = vec![0; usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024)];
            match file.read(&mut piece) {
                Ok(0) => break,
                Ok(read) => {
                    piece.truncate(read);
                    left = left.saturating_sub(read as u64);
                    if sender.blocking_send(Ok(piece)).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    sender.blocking_send(Err(error)).ok();
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(size));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{length}"))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    response
}

/// A JPEG of `width` × `height` pixels (a gradient) whose EXIF says when it was taken
/// (`YYYY-MM-DD HH:MM:SS`) and where (degrees), as cameras write them. The emulator's seeds
/// upload such files; tests can too.
pub fn sample_jpeg(
    width: u32,
    height: u32,
    taken: Option<&str>,
    place: Option<(f64, f64)>,
) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width.max(1), height.max(1), |x, y| {
        let shade = |v: u32, of: u32| u8::try_from(v * 255 / of.max(1)).unwrap_or(u8::MAX);
        image::Rgb([shade(x, width), shade(y, height), 128])
    });
    let mut jpeg = Vec::new();
    if image::DynamicImage::ImageRgb8(picture)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .is_err()
    {
        return jpeg;
    }
    let exif = exif_segment(taken, place);
    // The EXIF segment goes right after the start-of-image marker, where readers look first.
    match jpeg.get(..2) {
        Some([0xFF, 0xD8]) => {
            let mut with_exif = Vec::with_capacity(jpeg.len() + exif.len());
            with_exif.extend_from_slice(&[0xFF, 0xD8]);
            with_exif.extend_from_slice(&exif);
            with_exif.extend_from_slice(jpeg.get(2..).unwrap_or_default());
            with_exif
        }
        _ => jpeg,
    }
}

/// The EXIF segment [`sample_jpeg`] writes, for seeds that put it before a shared picture.
pub(crate) fn exif_segment_for(taken: Option<&str>, place: Option<(f64, f64)>) -> Vec<u8> {
    exif_segment(taken, place)
}

/// An APP1 segment holding a big-endian TIFF structure: IFD0 pointing at an EXIF IFD
/// (`DateTimeOriginal`) and a GPS IFD (latitude and longitude with their references).
fn exif_segment(taken: Option<&str>, place: Option<(f64, f64)>) -> Vec<u8> {
    /// One IFD entry: tag, type (2 ASCII, 4 LONG, 5 RATIONAL), count, and its value bytes
    /// (inline when 4 bytes or fewer, else written after the IFDs).
    struct Entry {
        tag: u16,
        kind: u16,
        count: u32,
        value: Vec<u8>,
    }
    fn ascii(tag: u16, text: &str) -> Entry {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        Entry {
            tag,
            kind: 2,
            count: u32::try_from(value.len()).unwrap_or(0),
            value,
        }
    }
    fn degrees(tag: u16, value: f64) -> Entry {
        let value = value.abs();
        let whole = value.trunc();
        let minutes = ((value - whole) * 60.0).trunc();
        let seconds = ((value - whole) * 60.0 - minutes) * 60.0;
        let mut bytes = Vec::with_capacity(24);
        for (numerator, denominator) in [
            (whole as u32, 1u32),
            (minutes as u32, 1),
            ((seconds * 1000.0).round() as u32, 1000),
        ] {
            bytes.extend_from_slice(&numerator.to_be_bytes());
            bytes.extend_from_slice(&denominator.to_be_bytes());
        }
        Entry {
            tag,
            kind: 5,
            count: 3,
            value: bytes,
        }
    }
    fn ifd_size(entries: &[Entry]) -> u32 {
        let data: usize = entries
            .iter()
            .filter(|e| e.value.len() > 4)
            .map(|e| e.value.len())
            .sum();
        u32::try_from(2 + entries.len() * 12 + 4 + data).unwrap_or(0)
    }
    /// Writes an IFD at `start` (an offset in the TIFF structure), its long values after it.
    fn write_ifd(out: &mut Vec<u8>, start: u32, entries: &[Entry]) {
        let mut data_at = start + u32::try_from(2 + entries.len() * 12 + 4).unwrap_or(0);
        let mut data = Vec::new();
        out.extend_from_slice(&u16::try_from(entries.len()).unwrap_or(0).to_be_bytes());
        for entry in entries {
            out.extend_from_slice(&entry.tag.to_be_bytes());
            out.extend_from_slice(&entry.kind.to_be_bytes());
            out.extend_from_slice(&entry.count.to_be_bytes());
            if entry.value.len() <= 4 {
                let mut inline = entry.value.clone();
                inline.resize(4, 0);
                out.extend_from_slice(&inline);
            } else {
                out.extend_from_slice(&data_at.to_be_bytes());
                data_at += u32::try_from(entry.value.len()).unwrap_or(0);
                data.extend_from_slice(&entry.value);
            }
        }
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&data);
    }
    let exif_entries: Vec<Entry> = taken
        .map(|taken| ascii(0x9003, &taken.replacen('-', ":", 2)))
        .into_iter()
        .collect();
    let gps_entries: Vec<Entry> = match place {
        Some((lat, lng)) => vec![
            ascii(0x0001, if lat < 0.0 { "S" } else { "N" }),
            degrees(0x0002, lat),
            ascii(0x0003, if lng < 0.0 { "W" } else { "E" }),
            degrees(0x0004, lng),
        ],
        None => Vec::new(),
    };
    let make = ascii(0x010F, "ipernity emulator");
    let ifd0_len = 2 + 3 * 12 + 4 + make.value.len() as u32;
    let exif_at = 8 + ifd0_len;
    let gps_at = exif_at + ifd_size(&exif_entries);
    let long = |tag: u16, value: u32| Entry {
        tag,
        kind: 4,
        count: 1,
        value: value.to_be_bytes().to_vec(),
    };
    let ifd0 = [make, long(0x8769, exif_at), long(0x8825, gps_at)];
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    write_ifd(&mut tiff, 8, &ifd0);
    write_ifd(&mut tiff, exif_at, &exif_entries);
    write_ifd(&mut tiff, gps_at, &gps_entries);
    let mut segment = vec![0xFF, 0xE1];
    let length = u16::try_from(2 + 6 + tiff.len()).unwrap_or(u16::MAX);
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_photo_reads_back_its_size_date_and_place() {
        let dir = std::env::temp_dir().join(format!("ipernity-sample-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sample.jpg");
        let jpeg = sample_jpeg(
            64,
            48,
            Some("2011-11-14 11:56:49"),
            Some((43.588333, -7.040278)),
        );
        std::fs::write(&path, &jpeg).unwrap();
        let facts = inspect(&path, "");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!((facts.media, facts.width, facts.height), ("photo", 64, 48));
        assert_eq!(facts.created.as_deref(), Some("2011-11-14 11:56:49"));
        let (lat, lng) = facts.geo.unwrap();
        assert!(
            (lat - 43.588333).abs() < 1e-5 && (lng + 7.040278).abs() < 1e-5,
            "{lat} {lng}"
        );
    }

    #[test]
    fn thumbnails_fit_their_box_and_squares_are_crops() {
        assert_eq!(thumb_size("75x", 4000, 3000), (75, 75));
        assert_eq!(thumb_size("500", 4000, 3000), (500, 375));
        assert_eq!(thumb_size("500", 3000, 4000), (375, 500));
        assert_eq!(thumb_size("2048", 800, 600), (800, 600), "never enlarged");
        assert_eq!(thumb_size("240", 0, 0), (240, 240));
        assert!(thumb_box("77").is_none() && thumb_box("original").is_none());
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(requested_range(None, 10), Ok(None));
        assert_eq!(requested_range(Some("bytes=0-3"), 10), Ok(Some((0, 3))));
        assert_eq!(requested_range(Some("bytes=4-"), 10), Ok(Some((4, 9))));
        assert_eq!(requested_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(requested_range(Some("bytes=-30"), 10), Ok(Some((0, 9))));
        assert_eq!(requested_range(Some("bytes=5-100"), 10), Ok(Some((5, 9))));
        assert_eq!(requested_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(requested_range(Some("bytes=5-2"), 10), Err(()));
        assert_eq!(requested_range(Some("bytes=x-2"), 10), Err(()));
        assert_eq!(requested_range(Some("bytes=0-1,4-5"), 10), Ok(None));
        assert_eq!(requested_range(Some("items=0-1"), 10), Ok(None));
    }

    #[test]
    fn file_names_say_the_media_kind_when_the_file_is_no_picture() {
        assert_eq!(kind_of_name("clip.MP4"), Some("video"));
        assert_eq!(kind_of_name("song.flac"), Some("audio"));
        assert_eq!(kind_of_name("notes.txt"), None);
        assert_eq!(extension("noext"), "bin");
        assert_eq!(extension("a.b.JPG"), "JPG");
    }
}
