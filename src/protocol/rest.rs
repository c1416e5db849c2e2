//! REST (spec §1.2, §4.2).
//!
//! Wire rules:
//! - Endpoint `{base}/{method}/{format}`; the format suffix is `json` (the default when absent),
//!   `xml` or `php`. Anything else is 102, answered in JSON.
//! - The method is only in the path. Parameters (`api_key`, `auth_token`, `api_sig` included) go in
//!   the query string for GET and in an `application/x-www-form-urlencoded` body for POST; the
//!   registry's POST flag decides (error 120 otherwise).
//! - Names and values are percent-encoded as UTF-8; everything but `A-Z a-z 0-9 - . _ ~` is escaped.

use super::{
    FileEncoding, FilePart, HttpMethod, HttpRequest, IncomingRequest, ParsedRequest, Protocol,
    RequestError, Transport, UploadEnvelope, check_format, check_method, endpoint_url, form_decode,
    form_encode, random_token, suffix_format,
};
use crate::call::{Call, Params};
use crate::error::{Error, ErrorCode};
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
        let query = form_encode(call);
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
        call.validate()?;
        let format = check_format(format, self)?;
        let boundary = format!("ipernity-{}", random_token());
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

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<&str> {
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
type Multipart = (Vec<(String, String)>, Option<FilePart>);

/// Reads a `multipart/form-data` body: text fields, and the part named `file`.
fn parse_multipart(body: &[u8], boundary: &str) -> Option<Multipart> {
    let delimiter = format!("--{boundary}");
    let separator = format!("\r\n--{boundary}");
    let start = memchr::memmem::find(body, delimiter.as_bytes())?;
    let mut rest = body.get(start + delimiter.len()..)?;
    let mut fields = Vec::new();
    let mut file = None;
    loop {
        if rest.starts_with(b"--") {
            return Some((fields, file));
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = memchr::memmem::find(rest, separator.as_bytes())?;
        let part = rest.get(..end)?;
        rest = rest.get(end + separator.len()..)?;
        let header_end = memchr::memmem::find(part, b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(part.get(..header_end)?);
        let content = part.get(header_end + 4..)?;
        let disposition = headers.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })?;
        let name = disposition_parameter(disposition, "name")?;
        if name == "file" {
            file = Some(FilePart {
                filename: disposition_parameter(disposition, "filename"),
                data: content.to_vec(),
            });
        } else {
            fields.push((name, String::from_utf8_lossy(content).into_owned()));
        }
    }
}

/// A parameter of a `Content-Disposition` value (`name="…"`, `filename="…"`).
fn disposition_parameter(disposition: &str, wanted: &str) -> Option<String> {
    disposition.split(';').find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        (name.trim() == wanted).then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(file.data, b"\x00\xff\r\n--");
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
