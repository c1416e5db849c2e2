//! REST (`protocols/rest.md`; signing in `protocols/signing.md`).
//!
//! Wire rules:
//! - Endpoint `{base}/{method}/{format}`; the format suffix is `json` (the default when absent),
//!   `xml` or `php`. Anything else is 102, answered in JSON.
//! - The method is only in the path. Parameters (`api_key`, `auth_token`, `api_sig` included) go in
//!   the query string for GET and in an `application/x-www-form-urlencoded` body for POST; the
//!   registry's POST flag decides (error 120 otherwise).
//! - Names and values are percent-encoded as UTF-8; everything but `A-Z a-z 0-9 - . _ ~` is escaped.

use super::{
    FileEncoding, HttpMethod, HttpRequest, Protocol, Transport, UploadEnvelope, check_format,
    endpoint_url,
};
#[cfg(feature = "server")]
use super::{FilePart, IncomingRequest, ParsedRequest, RequestError, check_method, suffix_format};
use crate::call::Call;
#[cfg(feature = "server")]
use crate::call::Params;
use crate::error::Error;
#[cfg(feature = "server")]
use crate::error::ErrorCode;
#[cfg(feature = "server")]
use crate::form::form_decode;
use crate::form::form_encode;
use crate::format::Format;

/// The form content type of POST bodies.
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The REST transport.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rest;

impl Transport for Rest {
    fn protocol(&self) -> Protocol {
        Protocol::Rest
    }

    fn default_format(&self) -> Format {
        Format::Json
    }

    fn formats(&self) -> &'static [Format] {
        &[Format::Json, Format::Xml, Format::Php]
    }

    fn encode(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
    ) -> Result<HttpRequest, Error> {
        call.validate()?;
        let format = check_format(format, self)?;
        let url = endpoint_url(base_url, call.method(), format, self);
        let query = form_encode(call.params().iter());
        if call.info().is_some_and(|info| info.post) {
            Ok(HttpRequest {
                method: HttpMethod::Post,
                url,
                headers: vec![("Content-Type".to_owned(), FORM_CONTENT_TYPE.to_owned())],
                body: query.into_bytes(),
            })
        } else {
            let url = if query.is_empty() {
                url
            } else {
                format!("{url}?{query}")
            };
            Ok(HttpRequest {
                method: HttpMethod::Get,
                url,
                headers: Vec::new(),
                body: Vec::new(),
            })
        }
    }

    fn encode_upload(
        &self,
        base_url: &str,
        call: &Call,
        filename: &str,
        format: Option<Format>,
    ) -> Result<UploadEnvelope, Error> {
        // A boundary no file can hold by chance: 128 random bits.
        let boundary = format!(
            "ipernity-{}",
            crate::random::token()
                .map_err(|e| Error::invalid_param("boundary", format!("no randomness: {e}")))?
        );
        self.encode_upload_with_boundary(base_url, call, filename, format, &boundary)
    }

    #[cfg(feature = "server")]
    fn parse(&self, request: &IncomingRequest<'_>) -> Result<ParsedRequest, RequestError> {
        let (method, suffix) = match request.path.split_once('/') {
            Some((method, suffix)) => (method, Some(suffix)),
            None => (request.path, None),
        };
        let format = suffix_format(suffix, self)?;
        if method.is_empty() {
            return Err(RequestError::new(ErrorCode::MethodNotFound, format));
        }
        check_method(method, format)?;
        let mut params = Params::new();
        params.extend(form_decode(request.query.as_bytes()));
        let mut file = None;
        if request.method == HttpMethod::Post {
            match request.content_type.and_then(multipart_boundary) {
                Some(boundary) => {
                    // An unreadable multipart body carries no parameters; the checks that follow
                    // (API key first) answer for it.
                    if let Some((fields, part)) = parse_multipart(request.body, boundary) {
                        params.extend(fields);
                        file = part;
                    }
                }
                None => {
                    let is_form = request.content_type.is_none_or(|ct| {
                        ct.trim()
                            .to_ascii_lowercase()
                            .starts_with(FORM_CONTENT_TYPE)
                    });
                    if is_form {
                        params.extend(form_decode(request.body));
                    }
                }
            }
        }
        Ok(ParsedRequest {
            call: Call::with_params(method, params),
            format,
            http_method: request.method,
            file,
        })
    }
}

impl Rest {
    /// [`Transport::encode_upload`] with a boundary of the caller's choosing, so an upload's
    /// bytes can be pinned (the conformance fixtures do). The boundary must not occur in the
    /// file; [`Transport::encode_upload`] picks 128 random bits for that reason.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a call that does not validate, a format REST cannot answer
    /// in, a field name holding quotes or line breaks, or a boundary that is empty, longer than
    /// 70 characters or holds other than letters, digits and `'()+_,-./:=?`.
    pub fn encode_upload_with_boundary(
        &self,
        base_url: &str,
        call: &Call,
        filename: &str,
        format: Option<Format>,
        boundary: &str,
    ) -> Result<UploadEnvelope, Error> {
        call.validate()?;
        let format = check_format(format, self)?;
        // RFC 2046 §5.1.1: 1 to 70 characters from this set (a space only inside, left out here).
        let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(c);
        if boundary.is_empty() || boundary.len() > 70 || !boundary.chars().all(allowed) {
            return Err(Error::invalid_param(
                "boundary",
                "1 to 70 letters, digits or '()+_,-./:=?",
            ));
        }
        let mut before = String::new();
        for (name, value) in call.params().iter() {
            if name.contains(['"', '\r', '\n']) {
                return Err(Error::invalid_param(
                    name,
                    "a multipart field name cannot hold quotes or line breaks",
                ));
            }
            before.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        // Quotes and line breaks in the file name are percent-encoded, as browsers do.
        let filename = filename
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        before.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        Ok(UploadEnvelope {
            head: HttpRequest {
                method: HttpMethod::Post,
                url: endpoint_url(base_url, call.method(), format, self),
                headers: vec![(
                    "Content-Type".to_owned(),
                    format!("multipart/form-data; boundary={boundary}"),
                )],
                body: Vec::new(),
            },
            before: before.into_bytes(),
            after: format!("\r\n--{boundary}--\r\n").into_bytes(),
            encoding: FileEncoding::Raw,
        })
    }
}

/// A REST request sent with `method` (GET or POST) instead of the one its encoder chose, its
/// parameters moved between the query string and a form body (the service takes a read either
/// way; a write by GET earns 120). A request already of that method is returned as it is.
#[cfg(all(feature = "server", feature = "client"))]
pub(crate) fn rest_with_method(request: HttpRequest, method: HttpMethod) -> HttpRequest {
    if request.method == method {
        return request;
    }
    match method {
        HttpMethod::Get => {
            let query = String::from_utf8_lossy(&request.body).into_owned();
            let url = match query.is_empty() {
                true => request.url,
                false => format!("{}?{query}", request.url),
            };
            HttpRequest {
                method,
                url,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
        HttpMethod::Post => {
            let (url, query) = match request.url.split_once('?') {
                Some((url, query)) => (url.to_owned(), query.to_owned()),
                None => (request.url.clone(), String::new()),
            };
            HttpRequest {
                method,
                url,
                headers: vec![("Content-Type".to_owned(), FORM_CONTENT_TYPE.to_owned())],
                body: query.into_bytes(),
            }
        }
    }
}

/// The boundary of a `multipart/form-data` content type.
#[cfg(feature = "server")]
pub(crate) fn multipart_boundary(content_type: &str) -> Option<&str> {
    let (kind, parameters) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// The text fields of a multipart body, and its part named `file`.
#[cfg(feature = "server")]
type Multipart = (Vec<(String, String)>, Option<FilePart>);

/// Reads a whole `multipart/form-data` body: text fields, and the part named `file`.
#[cfg(feature = "server")]
fn parse_multipart(body: &[u8], boundary: &str) -> Option<Multipart> {
    let mut reader = MultipartReader::new(boundary);
    let mut fields = Vec::new();
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut events = reader.feed(body).ok()?;
    events.extend(reader.finish().ok()?);
    for event in events {
        match event {
            MultipartEvent::Field { name, value } => fields.push((name, value)),
            MultipartEvent::FileStart { filename } => file = Some((filename, Vec::new())),
            MultipartEvent::FileData(data) => file.as_mut()?.1.extend_from_slice(&data),
            MultipartEvent::FileEnd => {}
        }
    }
    Some((
        fields,
        file.map(|(filename, data)| FilePart::in_memory(filename, data)),
    ))
}

/// The longest part head (its headers) the reader accepts.
#[cfg(feature = "server")]
const MAX_PART_HEAD: usize = 16 * 1024;
#[cfg(feature = "server")]
/// The most bytes all text fields of one body take together (a call's parameters are short; a
/// body of a thousand 1 MiB fields is an attack on memory, not an upload).
pub const MAX_MULTIPART_FIELD_BYTES: usize = 1024 * 1024;
#[cfg(feature = "server")]
/// The most parts one body may have (the file included): no method has that many parameters.
pub const MAX_MULTIPART_PARTS: usize = 256;

/// What a [`MultipartReader`] found.
#[cfg(feature = "server")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartEvent {
    /// A text field, whole.
    Field {
        /// Its name.
        name: String,
        /// Its value (invalid UTF-8 replaced).
        value: String,
    },
    /// The part named `file` begins.
    FileStart {
        /// The file name the client gave.
        filename: Option<String>,
    },
    /// The next bytes of the file.
    FileData(Vec<u8>),
    /// The file part ended.
    FileEnd,
}

/// Why a multipart body cannot be read.
#[cfg(feature = "server")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed multipart body: {0}")]
pub struct MultipartError(&'static str);

#[cfg(feature = "server")]
#[derive(Debug)]
enum PartState {
    Preamble,
    AfterDelimiter,
    Head,
    Field { name: String, value: Vec<u8> },
    File,
    Done,
}

/// A push parser for `multipart/form-data`: feed it the body in chunks of any size and it hands
/// back fields whole and the file in pieces, holding at most one chunk plus a delimiter in
/// memory. The emulator uses it to receive uploads of any size. It refuses more than
/// [`MAX_MULTIPART_PARTS`] parts, text fields above [`MAX_MULTIPART_FIELD_BYTES`] in all, and a
/// second part named `file`; its work is linear in the body (consumed bytes are skipped, and the
/// buffer is compacted once per chunk).
#[cfg(feature = "server")]
#[derive(Debug)]
pub struct MultipartReader {
    delimiter: Vec<u8>,
    buffer: Vec<u8>,
    /// Where the unconsumed bytes of `buffer` start.
    start: usize,
    state: PartState,
    parts: usize,
    field_bytes: usize,
    seen_file: bool,
}

#[cfg(feature = "server")]
impl MultipartReader {
    /// A reader for parts separated by `--boundary`.
    pub fn new(boundary: &str) -> MultipartReader {
        MultipartReader {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            // The first delimiter may open the body without a line break before it.
            buffer: b"\r\n".to_vec(),
            start: 0,
            state: PartState::Preamble,
            parts: 0,
            field_bytes: 0,
            seen_file: false,
        }
    }

    /// The bytes not consumed yet.
    fn pending(&self) -> &[u8] {
        self.buffer.get(self.start..).unwrap_or_default()
    }

    /// Marks the next `n` pending bytes consumed.
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buffer.len());
    }

    /// Takes the next bytes of the body.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<MultipartEvent>, MultipartError> {
        // Consumed bytes go once per chunk, not once per part: draining the front of the
        // buffer at every part would make a body of many small parts quadratic.
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        loop {
            let progressed = match std::mem::replace(&mut self.state, PartState::Done) {
                PartState::Preamble => {
                    match memchr::memmem::find(self.pending(), &self.delimiter) {
                        Some(at) => {
                            self.consume(at + self.delimiter.len());
                            self.state = PartState::AfterDelimiter;
                            true
                        }
                        None => {
                            let pending = self.pending().len();
                            let keep = self.delimiter.len().saturating_sub(1).min(pending);
                            self.consume(pending - keep);
                            self.state = PartState::Preamble;
                            false
                        }
                    }
                }
                PartState::AfterDelimiter => {
                    if self.pending().len() < 2 {
                        self.state = PartState::AfterDelimiter;
                        false
                    } else if self.pending().starts_with(b"--") {
                        self.consume(self.pending().len());
                        self.state = PartState::Done;
                        false
                    } else if self.pending().starts_with(b"\r\n") {
                        self.consume(2);
                        self.parts += 1;
                        if self.parts > MAX_MULTIPART_PARTS {
                            return Err(MultipartError("more than 256 parts"));
                        }
                        self.state = PartState::Head;
                        true
                    } else {
                        return Err(MultipartError("a delimiter not followed by a line break"));
                    }
                }
                PartState::Head => match memchr::memmem::find(self.pending(), b"\r\n\r\n") {
                    Some(end) => {
                        let head =
                            String::from_utf8_lossy(self.pending().get(..end).unwrap_or_default())
                                .into_owned();
                        self.consume(end + 4);
                        let disposition = head
                            .split("\r\n")
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.trim()
                                    .eq_ignore_ascii_case("content-disposition")
                                    .then_some(value)
                            })
                            .ok_or(MultipartError("a part without Content-Disposition"))?;
                        let name = disposition_parameter(disposition, "name")
                            .ok_or(MultipartError("a part without a name"))?;
                        if name == "file" {
                            if std::mem::replace(&mut self.seen_file, true) {
                                return Err(MultipartError("more than one part named file"));
                            }
                            events.push(MultipartEvent::FileStart {
                                filename: disposition_parameter(disposition, "filename"),
                            });
                            self.state = PartState::File;
                        } else {
                            self.state = PartState::Field {
                                name,
                                value: Vec::new(),
                            };
                        }
                        true
                    }
                    None if self.pending().len() > MAX_PART_HEAD => {
                        return Err(MultipartError("a part head longer than 16 KiB"));
                    }
                    None => {
                        self.state = PartState::Head;
                        false
                    }
                },
                PartState::Field { name, mut value } => {
                    let (content, found) = self.take_content();
                    self.field_bytes += content.len();
                    if self.field_bytes > MAX_MULTIPART_FIELD_BYTES {
                        return Err(MultipartError("text fields longer than 1 MiB in all"));
                    }
                    value.extend_from_slice(&content);
                    if found {
                        events.push(MultipartEvent::Field {
                            name,
                            value: String::from_utf8_lossy(&value).into_owned(),
                        });
                        self.state = PartState::AfterDelimiter;
                    } else {
                        self.state = PartState::Field { name, value };
                    }
                    found
                }
                PartState::File => {
                    let (content, found) = self.take_content();
                    if !content.is_empty() {
                        events.push(MultipartEvent::FileData(content));
                    }
                    if found {
                        events.push(MultipartEvent::FileEnd);
                        self.state = PartState::AfterDelimiter;
                    } else {
                        self.state = PartState::File;
                    }
                    found
                }
                PartState::Done => {
                    self.consume(self.pending().len());
                    false
                }
            };
            if !progressed {
                return Ok(events);
            }
        }
    }

    /// The content before the next delimiter (consuming the delimiter), or all that cannot be
    /// the start of one; and whether the delimiter was found.
    fn take_content(&mut self) -> (Vec<u8>, bool) {
        match memchr::memmem::find(self.pending(), &self.delimiter) {
            Some(at) => {
                let content = self.pending().get(..at).unwrap_or_default().to_vec();
                self.consume(at + self.delimiter.len());
                (content, true)
            }
            None => {
                let pending = self.pending();
                let safe = pending.len().saturating_sub(self.delimiter.len() - 1);
                let content = pending.get(..safe).unwrap_or_default().to_vec();
                self.consume(safe);
                (content, false)
            }
        }
    }

    /// Checks that the body ended with the closing delimiter.
    pub fn finish(&mut self) -> Result<Vec<MultipartEvent>, MultipartError> {
        match self.state {
            PartState::Done => Ok(Vec::new()),
            _ => Err(MultipartError("the body ends before the closing delimiter")),
        }
    }
}

/// A parameter of a `Content-Disposition` value (`name="…"`, `filename="…"`).
#[cfg(feature = "server")]
fn disposition_parameter(disposition: &str, wanted: &str) -> Option<String> {
    disposition.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        (name.trim() == wanted).then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(feature = "server", feature = "client"))]
    fn a_request_moves_between_query_and_form_with_its_method() {
        let get = HttpRequest {
            method: HttpMethod::Get,
            url: "http://h/api/doc.get/json?doc_id=1&auth_token=t".to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let post = rest_with_method(get.clone(), HttpMethod::Post);
        assert_eq!(post.url, "http://h/api/doc.get/json");
        assert_eq!(post.body, b"doc_id=1&auth_token=t");
        assert_eq!(post.header("content-type"), Some(FORM_CONTENT_TYPE));
        assert_eq!(rest_with_method(post.clone(), HttpMethod::Post), post);
        assert_eq!(rest_with_method(post, HttpMethod::Get), get);
    }
    use crate::call::Credentials;

    fn incoming<'a>(
        method: HttpMethod,
        path: &'a str,
        query: &'a str,
        body: &'a [u8],
    ) -> IncomingRequest<'a> {
        IncomingRequest {
            method,
            path,
            query,
            content_type: None,
            body,
        }
    }

    #[test]
    fn reads_use_get_and_writes_use_post() {
        let credentials = Credentials::new("k", "s");
        let get = Rest
            .encode(
                "http://h/api",
                &Call::new("doc.get").param("doc_id", 1).signed(&credentials),
                Some(Format::Xml),
            )
            .unwrap();
        assert_eq!(get.method, HttpMethod::Get);
        assert!(
            get.url
                .starts_with("http://h/api/doc.get/xml?api_key=k&api_sig="),
            "{}",
            get.url
        );
        let post = Rest
            .encode(
                "http://h/api/",
                &Call::new("doc.delete")
                    .param("doc_id", 1)
                    .signed(&credentials),
                None,
            )
            .unwrap();
        assert_eq!(post.method, HttpMethod::Post);
        assert_eq!(post.url, "http://h/api/doc.delete/json");
        assert!(String::from_utf8(post.body).unwrap().contains("doc_id=1"));
        assert!(
            Rest.encode("http://h/api", &Call::new("test.echo"), Some(Format::Soap))
                .is_err()
        );
    }

    #[test]
    fn parses_format_then_method_then_params() {
        let parsed = Rest
            .parse(&incoming(
                HttpMethod::Get,
                "test.echo/xml",
                "echo=a%20b&x=1",
                b"",
            ))
            .unwrap();
        assert_eq!(parsed.format, Format::Xml);
        assert_eq!(parsed.call.params().get("echo"), Some("a b"));
        let posted = Rest
            .parse(&incoming(HttpMethod::Post, "doc.delete", "", b"doc_id=5"))
            .unwrap();
        assert_eq!(posted.format, Format::Json);
        assert_eq!(posted.call.params().get("doc_id"), Some("5"));
        let bad_format = Rest
            .parse(&incoming(HttpMethod::Get, "test.echo/yaml", "", b""))
            .unwrap_err();
        assert_eq!(
            (bad_format.error.code, bad_format.format),
            (ErrorCode::InvalidFormat, Format::Json)
        );
        let soap_suffix = Rest
            .parse(&incoming(HttpMethod::Get, "test.echo/soap", "", b""))
            .unwrap_err();
        assert_eq!(soap_suffix.error.code, ErrorCode::InvalidFormat);
        let unknown = Rest
            .parse(&incoming(HttpMethod::Get, "doc.fly/xml", "", b""))
            .unwrap_err();
        assert_eq!(
            (unknown.error.code, unknown.format),
            (ErrorCode::MethodNotFound, Format::Xml)
        );
    }

    #[test]
    fn the_push_reader_gives_the_same_parts_whatever_the_chunk_size() {
        let mut body = b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue one\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n".to_vec();
        let file: Vec<u8> = (0..5000u32)
            .map(|i| if i % 97 == 0 { b'\r' } else { (i % 251) as u8 })
            .chain(*b"\r\n--")
            .collect();
        body.extend_from_slice(&file);
        body.extend_from_slice(b"\r\n--B--\r\nepilogue");
        for chunk in [1, 2, 3, 7, 64, 4096, body.len()] {
            let mut reader = MultipartReader::new("B");
            let mut events = Vec::new();
            for piece in body.chunks(chunk) {
                events.extend(reader.feed(piece).unwrap());
            }
            events.extend(reader.finish().unwrap());
            let mut data = Vec::new();
            let mut fields = Vec::new();
            for event in events {
                match event {
                    MultipartEvent::Field { name, value } => fields.push((name, value)),
                    MultipartEvent::FileData(bytes) => data.extend(bytes),
                    MultipartEvent::FileStart { filename } => {
                        assert_eq!(filename.as_deref(), Some("f.bin"))
                    }
                    MultipartEvent::FileEnd => {}
                }
            }
            assert_eq!(
                fields,
                [("a".to_owned(), "value one".to_owned())],
                "chunk {chunk}"
            );
            assert_eq!(data, file, "chunk {chunk}");
        }
        let mut truncated = MultipartReader::new("B");
        truncated.feed(&body[..body.len() / 2]).unwrap();
        assert!(truncated.finish().is_err());
        let mut flood = MultipartReader::new("B");
        assert!(
            flood
                .feed(&[b"--B\r\n".as_slice(), &[b'x'; 20_000]].concat())
                .is_err()
        );
    }

    #[test]
    fn reads_multipart_uploads_with_the_file_apart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nNice car\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/x.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\x00\xff\r\n--\r\n--XyZ--\r\n";
        let upload = Rest
            .parse(&IncomingRequest {
                method: HttpMethod::Post,
                path: "upload.file",
                query: "api_key=k",
                content_type: Some("multipart/form-data; boundary=\"XyZ\""),
                body,
            })
            .unwrap();
        assert_eq!(upload.call.params().get("title"), Some("Nice car"));
        assert_eq!(upload.call.params().get("api_key"), Some("k"));
        assert!(!upload.call.params().contains("file"));
        let file = upload.file.unwrap();
        assert_eq!(
            file.content,
            super::super::FileContent::Memory(b"\x00\xff\r\n--".to_vec())
        );
        assert_eq!(file.filename.as_deref(), Some("../../etc/x.jpg"));
        for broken in [
            &b"--XyZ\r\nno headers end"[..],
            b"",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
        ] {
            let parsed = Rest
                .parse(&IncomingRequest {
                    method: HttpMethod::Post,
                    path: "upload.file",
                    query: "",
                    content_type: Some("multipart/form-data; boundary=XyZ"),
                    body: broken,
                })
                .unwrap();
            assert!(parsed.file.is_none() && parsed.call.params().is_empty());
        }
    }
}
