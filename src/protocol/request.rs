//! The emulator's side of the protocols: a request as it arrives ([`IncomingRequest`]), what
//! parsing makes of it ([`ParsedRequest`], with the uploaded [`FilePart`]) or the error it earns
//! ([`RequestError`]), and the checks every parser makes in the service's order (format 102,
//! method 103). Public with the feature `server` only: a client never parses requests.

use std::fmt;

use super::{HttpMethod, HttpRequest, Transport};
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::format::Format;
use crate::http::split_url;

/// A request as the emulator receives it.
#[derive(Debug, Clone, Copy)]
pub struct IncomingRequest<'a> {
    /// GET or POST.
    pub method: HttpMethod,
    /// The path below the API base, without leading slash: `test.echo/json`, `soap`, `xmlrpc/php`.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> IncomingRequest<'a> {
    /// The incoming form of an encoded request, with `base_path` (such as `/api`) stripped from
    /// its path.
    pub fn from_http(request: &'a HttpRequest, base_path: &str) -> IncomingRequest<'a> {
        let (_, target) = split_url(&request.url);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = path
            .strip_prefix(base_path.trim_end_matches('/'))
            .unwrap_or(path)
            .trim_start_matches('/');
        IncomingRequest {
            method: request.method,
            path,
            query,
            content_type: request.header("content-type"),
            body: &request.body,
        }
    }
}

/// A request the emulator understood: the call and the format to answer in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// The call, with every parameter that was sent (`api_sig` included).
    pub call: Call,
    /// The response format the request asked for.
    pub format: Format,
    /// The HTTP method the request came with.
    pub http_method: HttpMethod,
    /// The uploaded file (`upload.file`, `upload.replace`): never part of the call's parameters,
    /// so never signed.
    pub file: Option<FilePart>,
}

/// A file received with a request: a multipart part named `file`, a SOAP `<file>` element or an
/// XML-RPC `file` member of type base64.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The file name the client gave, if any (never used as a path).
    pub filename: Option<String>,
    /// Where the bytes are.
    pub content: FileContent,
}

/// Where a received file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// In memory.
    Memory(Vec<u8>),
    /// Written to a file while it arrived (large uploads).
    Spooled {
        /// The file holding the bytes.
        path: std::path::PathBuf,
        /// How many bytes arrived.
        length: u64,
        /// The lowercase hex MD5 of the bytes, computed as they arrived.
        md5: String,
    },
}

impl FilePart {
    /// A file held in memory.
    pub fn in_memory(filename: Option<String>, data: Vec<u8>) -> FilePart {
        FilePart {
            filename,
            content: FileContent::Memory(data),
        }
    }

    /// How many bytes the file has.
    pub fn len(&self) -> u64 {
        match &self.content {
            FileContent::Memory(data) => u64::try_from(data.len()).unwrap_or(u64::MAX),
            FileContent::Spooled { length, .. } => *length,
        }
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("filename", &self.filename)
            .field("len", &self.len())
            .finish()
    }
}

/// A request the emulator refuses: the API error and the format to answer it in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} (answered in {format})")]
pub struct RequestError {
    /// The error to answer.
    pub error: ApiError,
    /// The format of the answer.
    pub format: Format,
}

impl RequestError {
    pub(crate) fn new(code: ErrorCode, format: Format) -> RequestError {
        RequestError {
            error: ApiError::global(code),
            format,
        }
    }
}

/// Picks the response format from an endpoint's suffix: `None` means no suffix.
pub(crate) fn suffix_format(
    suffix: Option<&str>,
    transport: &dyn Transport,
) -> Result<Format, RequestError> {
    match suffix {
        None | Some("") => Ok(transport.default_format()),
        Some(name) => name
            .parse::<Format>()
            .ok()
            .filter(|format| transport.formats().contains(format))
            .ok_or_else(|| RequestError::new(ErrorCode::InvalidFormat, transport.default_format())),
    }
}

/// Checks that the method exists: 103 otherwise.
pub(crate) fn check_method(method: &str, format: Format) -> Result<(), RequestError> {
    if crate::methods::lookup(method).is_some() {
        Ok(())
    } else {
        Err(RequestError::new(ErrorCode::MethodNotFound, format))
    }
}

/// An XML request body as text: UTF-8 holding no control character XML forbids; `None`
/// otherwise (the envelope is invalid).
pub(crate) fn xml_text(body: &[u8]) -> Option<&str> {
    // A byte order mark may open the document (XML 1.0 §4.3.3); it is not content.
    let body = body
        .strip_prefix(crate::format::xml_text::UTF8_BOM)
        .unwrap_or(body);
    let text = std::str::from_utf8(body).ok()?;
    crate::format::xml_text::forbidden_control(body)
        .is_none()
        .then_some(text)
}
